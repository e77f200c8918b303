from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .._backend import backend_fields, keras
from ..errors import RunError
from ..layer_paths import output_layer_paths
from ..runs import CHECKPOINTS, STATUS, RunLock, new_status, now_iso, save_model, write_json_atomic
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
    Keras calls no callback when `fit` raises: the folder then reads "running" until this process ends (or
    `close()` is called), and "interrupted" after.

    Args:
        run_dir: the run folder: created, or an existing empty one (a folder that holds a run is refused).
        probe: a fixed batch of inputs for the activation statistics (e.g. `x_train[:256]`), or None.
        record_every: record the gradient norms every k steps (0: no gradient records).
        dataset: the dataset's name, for `zoo runs` and the app.

    Example:
        >>> model.fit(x, y, epochs=5, validation_data=(xv, yv),
        ...           callbacks=[zoo.callbacks.RunRecorder("runs/my-experiment", probe=x[:256])])
        >>> # then: zoo runs runs/ ; zoo compare runs/my-experiment runs/other ; zoo gui --runs runs/
    """

    async_safe = True  # every batch-end hook below only counts or flags

    def __init__(self, run_dir, probe=None, record_every: int = 1, dataset: str = "?"):
        super().__init__()
        if not isinstance(record_every, int) or isinstance(record_every, bool) or record_every < 0:
            raise ValueError(f"record_every must be a non-negative integer, received {record_every!r}")
        if not isinstance(dataset, str):
            raise TypeError(f"dataset must be a string, received {type(dataset).__name__}")
        self.run_dir = Path(run_dir)
        self.probe = None if probe is None else np.asarray(probe, np.float32)
        self.record_every, self.dataset = record_every, dataset
        self._lock: RunLock | None = None
        self._parts: list[keras.callbacks.Callback] = []

    # --------------------------------------------------------------------------- set-up and end
    def on_train_begin(self, logs=None):
        self._claim_folder()
        self.status = new_status(source=SOURCE, model=self.model.name, dataset=self.dataset,
                                 epochs=self.params.get("epochs"), output_layers=output_layer_paths(self.model),
                                 **backend_fields())
        write_json_atomic(self.run_dir / STATUS, self.status)
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
        if self._lock is None or not self._lock.held:
            if any(self.run_dir.iterdir()):
                raise RunError(f"Run folder {self.run_dir} is not empty; give RunRecorder a new folder for each run")
            self._lock = RunLock(self.run_dir).acquire("record into")

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
            self.status.update(state=state, message=message, finished=now_iso(), updated=now_iso(),
                               train_seconds=round(time.perf_counter() - self._started, 3))
            write_json_atomic(self.run_dir / STATUS, self.status)
        finally:
            self.close()

    def close(self) -> None:
        """Release the run after a `fit` that raised (Keras calls no hook then): it reads "interrupted"."""
        if self._lock is not None:
            self._lock.release()

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
        self._forward("on_train_batch_end", batch, logs)

