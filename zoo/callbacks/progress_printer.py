import math
import sys
import time

from .._backend import keras
from .whole_epochs import EpochSteps


class ProgressPrinter(keras.callbacks.Callback):
    """A quiet progress display: one line per epoch, plus a live step counter on a terminal.

    Args:
        stream: where to write (default: standard error).
        interval: the least time in seconds between two live updates.

    Example:
        >>> model.fit(x, y, epochs=3, verbose=0, callbacks=[ProgressPrinter()])
        epoch 1/3  loss 0.4121  accuracy 0.8850  val_loss 0.2013  val_accuracy 0.9400  (1.2 s)
    """

    async_safe = True

    def __init__(self, stream=None, interval: float = 0.1):
        super().__init__()
        if interval < 0:
            raise ValueError(f"interval must be >= 0, received {interval}")
        self.stream = stream or sys.stderr
        self.interval = interval
        self._steps = EpochSteps()

    def on_train_begin(self, logs=None):
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._gone = False

    def _write(self, text: str) -> None:
        if getattr(self, "_gone", False):
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader has gone (`2>&1 | head`): train on, quietly
            from .json_lines_progress import _silence

            self._gone = True
            _silence(self.stream)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._start = epoch, time.perf_counter()
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)
        now = time.perf_counter()
        if not self._live or now - self._last < self.interval:
            return
        self._last = now
        steps = self.params.get("steps") or "?"
        loss = (logs or {}).get("loss")
        loss_text = f"  loss {float(loss):.4f}" if loss is not None else ""
        self._write(f"\repoch {self._epoch + 1}/{self.params.get('epochs')}  step {batch + 1}/{steps}{loss_text}   ")

    def on_epoch_end(self, epoch, logs=None):
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
        prefix = "\r" if self._live else ""
        seconds = time.perf_counter() - self._start
        steps = self.params.get("steps")
        loss = (logs or {}).get("loss")
        last = self._steps.last_batch
        if loss is not None and not math.isfinite(float(loss)):  # TerminateOnNaN cut it: say so, not "stopped"
            step = f" at step {last + 1}/{steps}" if steps and last is not None else ""
            self._write(f"{prefix}epoch {epoch + 1}/{self.params.get('epochs')}  diverged{step}: loss {loss}  "
                              f"({seconds:.1f} s)\n")
        elif not self._steps.whole(self.params):  # cut short by a stop: not an epoch
            last = -1 if last is None else last
            self._write(f"{prefix}epoch {epoch + 1}/{self.params.get('epochs')}  stopped after step "
                              f"{last + 1}/{steps}: not recorded, a resume redoes it  ({seconds:.1f} s)\n")
        else:
            self._write(f"{prefix}epoch {epoch + 1}/{self.params.get('epochs')}  {metrics}  ({seconds:.1f} s)\n")
