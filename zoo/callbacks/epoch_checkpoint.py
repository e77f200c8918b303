import math
import os
import re
from pathlib import Path

from .._backend import keras
from ..runs import CHECKPOINT_SIDECAR as SIDECAR
from ..runs import now_iso, read_json, replace_durably, write_json_atomic
from .whole_epochs import EpochSteps


class EpochCheckpoint(keras.callbacks.Callback):
    """Save the whole model (weights and optimizer state) after every epoch, for `zoo resume`.

    Kept as Keras' `BackupAndRestore` keeps its state, a model file plus a JSON sidecar, but crash-safe:
    the model goes to `epoch-NNNN.keras` (written under a temporary name, then renamed), then the
    sidecar `checkpoint.json` ({"epoch", "step", "file"}) is replaced atomically to point at it, and
    only then is the previous file removed. A kill at any moment leaves a sidecar naming a whole file.
    An epoch cut short by a stop is not saved: the checkpoint is always at the end of a whole epoch.

    Args:
        folder: where to keep the checkpoint (created if needed), e.g. `RUN_DIR/checkpoint`.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[EpochCheckpoint("runs/mine/checkpoint")])
        >>> read_checkpoint("runs/mine/checkpoint")
        {'epoch': 10, 'step': 400, 'file': 'epoch-0010.keras', ...}
    """

    async_safe = True  # its batch hook only counts

    def __init__(self, folder):
        super().__init__()
        self._steps = EpochSteps()
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"folder {self.folder} exists and is not a folder")

    def on_train_begin(self, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)

    def on_epoch_end(self, epoch, logs=None):
        if not self._steps.whole(self.params) or not _finite(logs):  # a diverged epoch's weights are no checkpoint
            return
        name = f"epoch-{epoch + 1:04d}.keras"
        partial = self.folder / f"partial-{name}"  # Keras wants the .keras suffix
        try:
            self.model.save(partial)
            replace_durably(partial, self.folder / name)
        finally:
            partial.unlink(missing_ok=True)
        step = int(self.model.optimizer.iterations.numpy())
        write_json_atomic(self.folder / SIDECAR, {"epoch": epoch + 1, "step": step, "file": name, "saved": now_iso()})
        for old in self.folder.glob("*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)


def _finite(logs) -> bool:
    try:
        return all(math.isfinite(float(value)) for value in (logs or {}).values())
    except (TypeError, ValueError):
        return True


def read_checkpoint(folder) -> dict | None:
    """The sidecar of the newest whole checkpoint in `folder` with `path` added, or None if there is none.

    Raises `RunError` (one line) for a sidecar that is not one: its epoch and step must be whole numbers
    and its file a checkpoint's own name in the folder.
    """
    from ..errors import RunError

    folder = Path(folder)
    if not os.path.lexists(folder / SIDECAR):  # anything else there (a FIFO, a device) is refused by read_json
        return None
    sidecar = read_json(folder / SIDECAR)
    if not isinstance(sidecar, dict):
        raise RunError(f"{folder / SIDECAR} is not a JSON object")
    epoch, step, name = sidecar.get("epoch"), sidecar.get("step"), sidecar.get("file")
    for key, value, least in (("epoch", epoch, 1), ("step", step, 0)):
        if type(value) is not int or not least <= value < 2**53:
            raise RunError(f"{folder / SIDECAR}: `{key}` is {repr(value)[:40]}; expected a whole number >= {least}")
    if not isinstance(name, str) or not re.fullmatch(r"epoch-\d{4,}\.keras", name):
        raise RunError(f"{folder / SIDECAR}: `file` is {name!r}; expected a checkpoint's name such as 'epoch-0003.keras'")
    if not (folder / name).is_file():
        return None
    return {**sidecar, "path": folder / name}
