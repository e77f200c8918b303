from __future__ import annotations

from pathlib import Path

from .._backend import keras
from ..doctor import diagnose
from ..errors import RunError


class DoctorWatch(keras.callbacks.Callback):
    """The training doctor during a training: at each epoch end it reads the run folder (after the recorders have
    written it) and reports each finding when it first holds, as `zoo doctor` would state it then.

    Args:
        run_dir: the run folder the recorders write (`zoo train`'s, or RunRecorder's).
        report: `fn(finding)` called once per finding code, the epoch it first holds (e.g. print it: a finding
            prints as one line).
        resolved: `fn(code, epoch)` called when a reported finding no longer holds (a net that had not learnt
            after its first epoch has by its second): at `settle` epoch ends in a row, or at the last one; it is
            reported again if it comes back after that.
        settle: epoch ends in a row a reported finding must be absent before it is said to no longer hold (a loss
            hovering at a threshold would otherwise be said, withdrawn and said again, epoch after epoch).

    Attributes:
        findings: the first report of each code, in the order they came.

    Example:
        >>> watch = DoctorWatch("runs/mine", report=lambda f: print(f.code, f.evidence))
        >>> model.fit(x, y, epochs=5, callbacks=[RunRecorder("runs/mine"), watch])
    """

    def __init__(self, run_dir, report=None, resolved=None, settle: int = 2):
        super().__init__()
        if not isinstance(run_dir, (str, Path)):
            raise ValueError(f"run_dir must be a folder path, received {type(run_dir).__name__}")
        for name, fn in (("report", report), ("resolved", resolved)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be a function, or None")
        if isinstance(settle, bool) or not isinstance(settle, int) or settle < 1:
            raise ValueError(f"settle must be a whole number of epochs >= 1, received {settle!r}")
        self.run_dir, self.report, self.resolved, self.settle = Path(run_dir), report, resolved, settle

    def on_train_begin(self, logs=None):
        self.findings = []
        self._absent: dict[str, int] = {}  # each reported code still standing: epoch ends in a row it was absent
        self._epoch = None

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        try:
            found = diagnose(self.run_dir)
        except RunError:  # the folder is not readable as a run yet: nothing to say
            return
        for finding in found:
            if finding.code not in self._absent:
                self.findings.append(finding)
                if self.report is not None:
                    self.report(finding)
            self._absent[finding.code] = 0
        gone = {f.code for f in found}
        for code in sorted(set(self._absent) - gone):
            self._absent[code] += 1
        self._withdraw(self.settle)

    def on_train_end(self, logs=None):
        self._withdraw(1)  # the last epoch's diagnosis stands, as `zoo doctor` will state it

    def _withdraw(self, after: int) -> None:
        for code in sorted(code for code, absent in self._absent.items() if absent >= after):
            del self._absent[code]
            if self.resolved is not None:
                self.resolved(code, self._epoch)
