import math
import time
from pathlib import Path

from .._backend import keras
from ..runs import HISTORY, now_iso, write_json_atomic, write_status
from .whole_epochs import EpochSteps


class RunLogger(keras.callbacks.Callback):
    """Write a run's `history.json` (per-epoch metrics, validation included, and wall-clock `seconds`) and keep `status.json` current.

    Both files are rewritten atomically after every epoch, so a reader (the app, `zoo runs`)
    never sees half a file and a killed run keeps every completed epoch. An epoch cut short by a
    stop is not recorded: the history holds whole epochs only, and `epochs_completed` counts them. The
    one exception is the epoch a run diverged in (a non-finite loss): it is the run's last word.

    Args:
        run_dir: an existing run folder.
        status: the run's status record; this callback updates `epochs_completed` and `updated`.
        previous: the history of the epochs before this fit (a resumed run), continued rather than replaced.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[RunLogger("runs/mine", {"state": "running"})])
    """

    async_safe = True  # its batch hook only counts

    def __init__(self, run_dir, status: dict, previous: dict | None = None):
        super().__init__()
        self._steps = EpochSteps()
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise ValueError(f"run_dir {self.run_dir} is not a folder")
        self.status = status
        self.previous = previous

    def on_train_begin(self, logs=None):
        self.history: dict[str, list] = {"epoch": [], "seconds": []}
        if self.previous:  # a resumed run goes on from its history: same lists, wall clock continued
            self.history = {key: list(values) for key, values in self.previous.items()}
        seconds = self.history.get("seconds") or [0.0]
        self._started = time.perf_counter() - float(seconds[-1] or 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)

    def on_epoch_end(self, epoch, logs=None):
        whole = self._steps.whole(self.params)
        if not whole and all(math.isfinite(float(v)) for v in (logs or {}).values()):
            return
        self.history["epoch"].append(epoch + 1)
        self.history["seconds"].append(round(time.perf_counter() - self._started, 4))  # wall clock, validation included
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        write_json_atomic(self.run_dir / HISTORY, self.history)
        self.status.update(epochs_completed=epoch + 1 if whole else epoch, updated=now_iso())
        write_status(self.run_dir, self.status)
