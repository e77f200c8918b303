import math
import threading

from .._backend import keras


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop training at the first step whose loss is NaN or infinite, and remember that step.

    Unlike `keras.callbacks.TerminateOnNaN` it keeps what a diagnosis needs: the global step
    (1-based, counted across epochs), the epoch and the loss value, and a one-line message.
    It is safe for Keras' asynchronous batch dispatch, so it adds no per-step synchronisation.

    Args:
        hint: advice appended to the message.

    Example:
        >>> monitor = StopOnNonFinite()
        >>> model.fit(x, y, callbacks=[monitor])
        >>> monitor.diverged, monitor.step, monitor.message
    """

    async_safe = True

    def __init__(self, hint: str = "try gradient clipping (e.g. optimizer.global_clipnorm = 1.0) or a lower learning rate"):
        super().__init__()
        if not isinstance(hint, str):
            raise TypeError(f"hint must be a string, received {type(hint).__name__}")
        self.hint = hint
        self._lock = threading.Lock()

    def on_train_begin(self, logs=None):
        # Held here: on JAX, reading `self.model` syncs the live training state into the model, and the batch hook
        # runs on Keras' worker thread while the next step runs (it donates that state): the flag would never be set.
        self._trainer = self.model
        self.step = None
        self.epoch = None
        self.loss = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch  # batch callbacks of an epoch are flushed before the next begins

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        step = self._epoch * (self.params.get("steps") or 0) + batch + 1
        with self._lock:
            if self.step is None or step < self.step:
                self.step, self.epoch, self.loss = step, self._epoch + 1, float(loss)
        self._trainer.stop_training = True

    @property
    def diverged(self) -> bool:
        return self.step is not None

    @property
    def message(self) -> str:
        if not self.diverged:
            return ""
        return f"Training diverged at step {self.step} (epoch {self.epoch}): the loss became {self.loss}; {self.hint}"
