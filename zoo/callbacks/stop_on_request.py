from typing import Callable

from .._backend import keras


class StopOnRequest(keras.callbacks.Callback):
    """End training after the current step when `should_stop()` turns true (Ctrl-C, a Stop button, SIGTERM).

    Args:
        should_stop: a cheap, thread-safe callable polled after every training step,
            such as `threading.Event().is_set`.

    Example:
        >>> stop = threading.Event()
        >>> model.fit(x, y, callbacks=[StopOnRequest(stop.is_set)])   # stop.set() from elsewhere
    """

    async_safe = True

    def __init__(self, should_stop: Callable[[], bool]):
        super().__init__()
        if not callable(should_stop):
            raise TypeError(f"should_stop must be callable, received {type(should_stop).__name__}")
        self.should_stop = should_stop

    def on_train_begin(self, logs=None):
        self.stopped = False
        # Held here: on JAX, reading `self.model` copies the live training state back into the model, and
        # this hook runs on Keras' worker thread while the next step runs (it donates that state).
        self._trainer = self.model

    def on_train_batch_end(self, batch, logs=None):
        if self.should_stop():
            self.stopped = True
            self._trainer.stop_training = True
