from __future__ import annotations

import numbers
import os
import time
import warnings
from pathlib import Path

import numpy as np

from .._backend import backend_fields, keras
from ..errors import RunError
from ..layer_paths import output_layer_paths
from ..runs import CHECKPOINTS, ERROR_LOG, RunLock, new_status, now_iso, save_model, write_status, write_text_atomic
from .activation_recorder import ActivationRecorder
from .epoch_checkpoint import EpochCheckpoint
from .gradient_recorder import GradientRecorder
from .record_writer import RecordWriter
from .run_logger import RunLogger
from .stop_on_non_finite import StopOnNonFinite

SOURCE = "RunRecorder"  # status.json's "source" for a run recorded from a user's own `fit` (no spec.toml)


class RunRecorder(keras.callbacks.Callback):
    """Record any Keras model's training into a run folder, as `zoo train` does, for zoo's tools to read.

    The folder gets `status.json` (kept current, ended as completed, stopped, or diverged at the first
    non-finite loss), `history.json` (whole epochs), the gradient records (`gradients.csv`,
    `gradient_details.csv`, `histograms.npz`), `activations.csv` when a probe batch is given, a checkpoint
    after every epoch and `model.keras` when `fit` ends. The run's lock is held while it trains, so a run
    killed in any way reads as "interrupted" with its whole epochs kept. The folder has no `spec.toml`:
    its status names the source (`"source": "RunRecorder"`), and `zoo resume` says to run the script again.
    Keras calls no callback when `fit` raises (an error, Ctrl-C in a notebook). Used as a context manager,
    the recorder then ends the run itself: "failed" with the error (its traceback in `error.log`), or
    "stopped" with the model saved after Ctrl-C, and gives the model its own optimiser back. Otherwise the
    run reads "running" until the process ends ("interrupted" after), and the recorder's next `fit` ends
    it as failed and is refused: one recorder, one run.

    Args:
        run_dir: the run folder: created, or an existing empty one (a folder that holds a run is refused).
        probe: a fixed batch of inputs for the activation statistics (e.g. `x_train[:256]`), or None. They are
            recorded for a model with one symbolic input (Functional, or Sequential): a subclassed model has
            none to tap, so its `activations.csv` holds no records and the recorder warns (`UserWarning`) when
            fit starts. A probe whose shape the model cannot take is refused (`ValueError`) when fit starts
            (for a subclassed model not yet built, which TensorFlow builds in the first step: after that step).
        record_every: record the gradient norms every k steps (0: no gradient records, nor activations).
        dataset: the dataset's name, for `zoo runs` and the app.

    Example:
        >>> with zoo.callbacks.RunRecorder("runs/my-experiment", probe=x[:256]) as recorder:
        ...     model.fit(x, y, epochs=5, validation_data=(xv, yv), callbacks=[recorder])
        >>> # then: zoo runs runs/ ; zoo compare runs/my-experiment runs/other ; zoo gui --runs runs/
    """

    async_safe = True  # every batch-end hook below only counts or flags

    def __init__(self, run_dir, probe=None, record_every: int = 1, dataset: str = "?"):
        super().__init__()
        if not isinstance(run_dir, (str, os.PathLike)):
            raise TypeError(f"run_dir must be a folder path (a str or a Path), received {type(run_dir).__name__}")
        if not isinstance(record_every, numbers.Integral) or isinstance(record_every, bool) or record_every < 0:
            raise ValueError(f"record_every must be a non-negative integer, received {record_every!r}")
        if not isinstance(dataset, str):
            raise TypeError(f"dataset must be a string, received {type(dataset).__name__}")
        self.run_dir = Path(run_dir).expanduser()
        try:
            self.probe = None if probe is None else np.asarray(probe, np.float32)
        except (TypeError, ValueError):
            raise ValueError("probe must be one array of inputs (a batch for the model's one input)") from None
        if self.probe is not None and (self.probe.ndim < 2 or not len(self.probe)):
            raise ValueError(f"probe must be a non-empty batch of inputs, received shape {self.probe.shape}")
        self.record_every, self.dataset = int(record_every), dataset
        self._lock: RunLock | None = None
        self._probe_unchecked = False  # a subclassed model TensorFlow builds in its first step: checked after it
        self._parts: list[keras.callbacks.Callback] = []

    # --------------------------------------------------------------------------- set-up and end
    def on_train_begin(self, logs=None):
        if self._lock is not None and self._lock.held:  # this recorder's last fit raised: that run is over
            self._end_unfinished(None)
        self._check_probe()
        self._claim_folder()
        self.status = new_status(source=SOURCE, model=self.model.name, dataset=self.dataset,
                                 epochs=self.params.get("epochs"), output_layers=output_layer_paths(self.model),
                                 **backend_fields())
        write_status(self.run_dir, self.status)
        self._started = time.perf_counter()
        self.divergence = StopOnNonFinite()
        self._parts = [self.divergence, RunLogger(self.run_dir, self.status)]
        if self.record_every:
            gradients = GradientRecorder(every=self.record_every)
            activations = ActivationRecorder(self.probe) if self.probe is not None else None
            self._parts += [gradients, *([activations] if activations else []),
                            RecordWriter(self.run_dir, gradients, activations)]
        self._parts.append(EpochCheckpoint(self.run_dir / CHECKPOINTS))
        for part in self._parts:
            part.set_model(self.model)
            part.set_params(self.params)
        self._forward("on_train_begin", logs)

    def _claim_folder(self):
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"Cannot create run folder {self.run_dir}: {e.strerror or e}") from None
        if any(self.run_dir.iterdir()):
            raise RunError(f"Run folder {self.run_dir} is not empty; give RunRecorder a new folder for each run")
        self._lock = RunLock(self.run_dir).acquire("record into")

    def _check_probe(self):
        """Before the folder is claimed: a probe the model cannot take would fail the first record."""
        if self.probe is None:
            return
        try:
            inputs = self.model.inputs
        except (AttributeError, ValueError):  # a subclassed model: no symbolic inputs
            inputs = None
        if inputs is None:
            self._probe_unchecked = not self._check_probe_shape(_built_input_shape(self.model))
            warnings.warn(f"RunRecorder: {self.model.name} is a subclassed model, which has no symbolic inputs to "
                          "tap: its activations are not recorded (activations.csv holds no records); build it with "
                          "keras.Input (a Functional or Sequential model) to record them", UserWarning, stacklevel=2)
            return
        if not inputs or len(inputs) != 1:
            raise ValueError("probe: activations are recorded for a model with one input; pass probe=None")
        self._check_probe_shape(tuple(inputs[0].shape))

    def _check_probe_shape(self, shape: tuple | None) -> bool:
        """`ValueError` (one line) unless the probe fits the model's input `shape` (batch first); False if unknown."""
        if shape is None:
            return False
        expected, got = tuple(shape[1:]), self.probe.shape[1:]
        if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected, got)):
            raise ValueError(f"probe has shape {self.probe.shape}; the model takes inputs of shape (batch, "
                             f"{', '.join('?' if e is None else str(e) for e in expected)})")
        return True

    def on_train_end(self, logs=None):
        try:
            self._forward("on_train_end", logs)
            if self.divergence.diverged:
                state, message = "diverged", self.divergence.message
                self.status["step"] = self.divergence.step
            else:
                save_model(self.model, self.run_dir)
                whole = self.status.get("epochs_completed") == self.params.get("epochs")
                state, message = ("completed", "") if whole else ("stopped", "Stopped before its last epoch; "
                                                                                "the model was saved")
            self._finish(state, message, train_seconds=round(time.perf_counter() - self._started, 3))
        finally:
            self.close()

    def _finish(self, state: str, message: str, **fields) -> None:
        self.status.update(state=state, message=message, finished=now_iso(), updated=now_iso(), **fields)
        write_status(self.run_dir, self.status)

    def close(self) -> None:
        """Release the run's lock (once it has ended)."""
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> "RunRecorder":
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if self._lock is not None and self._lock.held:  # fit raised: Keras called no end hook
            self._end_unfinished(error)
        return False

    def _end_unfinished(self, error: BaseException | None) -> None:
        """End a run whose `fit` raised: records flushed, the optimiser given back, the status final, the lock freed."""
        import traceback

        try:
            try:
                self._forward("on_train_end", None)
            except Exception:  # a part that cannot finish (the error's own cause) must not hide the error
                pass
            if isinstance(error, KeyboardInterrupt):
                try:
                    save_model(self.model, self.run_dir)
                    state, message = "stopped", "Interrupted (Ctrl-C); the model was saved"
                except Exception:
                    state, message = "stopped", "Interrupted (Ctrl-C); the model could not be saved"
            else:
                state = "failed"
                message = (f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
                           if error is not None else "Its fit raised before it ended")
                if error is not None:
                    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                    write_text_atomic(self.run_dir / ERROR_LOG, text)
            self._finish(state, message)
        finally:
            self.close()

    # ------------------------------------------------------------------------------- forwarding
    def _forward(self, hook, *args):
        for part in self._parts:
            getattr(part, hook)(*args)

    def on_epoch_begin(self, epoch, logs=None):
        self._forward("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._forward("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._forward("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self._probe_unchecked:  # built by now: the shape it was built for tells
            self._probe_unchecked = False
            self._check_probe_shape(_built_input_shape(self.model))
        self._forward("on_train_batch_end", batch, logs)


def _built_input_shape(model) -> tuple | None:
    """The input shape a built subclassed model was built for (batch first), or None where Keras does not say."""
    shapes = getattr(model, "_build_shapes_dict", None) if getattr(model, "built", False) else None
    if not isinstance(shapes, dict) or len(shapes) != 1:
        return None
    shape = next(iter(shapes.values()))
    if not isinstance(shape, (tuple, list)) or not all(d is None or isinstance(d, int) for d in shape):
        return None
    return tuple(shape)

