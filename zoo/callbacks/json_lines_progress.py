import json
import math
import sys
import time

from .._backend import keras
from .whole_epochs import EpochSteps


class JsonLinesProgress(keras.callbacks.Callback):
    """Report training progress as JSON lines, one object per line, for another process to read (the app).

    Events: `{"event": "begin", "run", "epochs", "steps"}`, then `{"event": "batch", "epoch", "batch",
    "steps", "step", "loss", ...metrics, "elapsed"}` at most once per `interval` seconds, and
    `{"event": "epoch", "epoch", "logs", "elapsed"}` after each epoch (validation included), the numbers
    history.json keeps: an epoch cut short by a stop is not reported, unless its loss stopped being a number.
    Epochs and batches count from 1; `step` counts batches across epochs. A batch's numbers are Keras'
    running means over its epoch so far (at the epoch's last batch: the epoch's value, as in history.json).
    Non-finite numbers are null, and `non_finite` names them with their value: `{"loss": "nan"}` (or "inf",
    "-inf"). A batch with a non-finite number is always reported, however soon after the previous one.

    Args:
        run_dir: the run folder, reported in the "begin" event (or None).
        stream: where to write (default: standard output); flushed after every line.
        interval: the least time in seconds between two "batch" events.

    Example:
        >>> model.fit(x, y, epochs=3, verbose=0, callbacks=[JsonLinesProgress(interval=0.1)])
        {"event": "begin", "run": null, "epochs": 3, "steps": 40}
        {"event": "batch", "epoch": 1, "batch": 1, "steps": 40, "step": 1, "loss": 2.31, "elapsed": 0.41}
    """

    def __init__(self, run_dir=None, stream=None, interval: float = 0.1):
        super().__init__()
        if interval < 0:
            raise ValueError(f"interval must be >= 0, received {interval}")
        self.run_dir = None if run_dir is None else str(run_dir)
        self.stream = stream or sys.stdout
        self.interval = interval
        self._gone = False

    def _emit(self, **event):
        if self._gone:
            return
        try:
            self.stream.write(json.dumps(event, allow_nan=False) + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader has gone (`| head`), or closed the stream: train on, quietly
            self._gone = True
            _silence(self.stream)

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self._last = -math.inf
        self._epoch = 0
        self._steps = EpochSteps()
        self._emit(event="begin", run=self.run_dir, epochs=self.params.get("epochs"), steps=self.params.get("steps"))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)
        now = time.perf_counter()
        steps = self.params.get("steps") or 0
        due = now - self._last >= self.interval or batch + 1 == steps
        if not due and _all_finite(logs):
            return
        self._last = now
        numbers, non_finite = _numbers(logs)
        self._emit(event="batch", epoch=self._epoch + 1, batch=batch + 1, steps=steps,
                   step=self._epoch * steps + batch + 1, elapsed=round(now - self._started, 3), **numbers,
                   **({"non_finite": non_finite} if non_finite else {}))

    def on_epoch_end(self, epoch, logs=None):
        numbers, non_finite = _numbers(logs)
        if not self._steps.whole(self.params) and not non_finite:
            return  # cut short by a stop: like history.json, the reader gets whole epochs (and the one that diverged)
        self._emit(event="epoch", epoch=epoch + 1, logs=numbers, elapsed=round(time.perf_counter() - self._started, 3),
                   **({"non_finite": non_finite} if non_finite else {}))


def _silence(stream) -> None:
    """After a broken pipe on standard output or error, send what is still written there (and Python's own flush at
    exit) to the null device, as Python's documentation advises: the training goes on and ends as it would."""
    import os

    for std in (sys.stdout, sys.stderr):
        if stream is std:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), std.fileno())
            except (OSError, ValueError):
                pass


def _all_finite(logs) -> bool:
    return not _numbers(logs)[1]


def _numbers(logs) -> tuple[dict, dict]:
    """(the numbers of `logs`, non-finite ones as None; {key: "nan" | "inf" | "-inf"} for those)."""
    out, non_finite = {}, {}
    for key, value in (logs or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            out[key] = value
        else:
            out[key] = None
            non_finite[key] = str(value)  # 'nan', 'inf', '-inf'
    return out, non_finite
