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
            after its first epoch has by its second); it is reported again if it comes back.

    Attributes:
        findings: the first report of each code, in the order they came.

    Example:
        >>> watch = DoctorWatch("runs/mine", report=lambda f: print(f.code, f.evidence))
        >>> model.fit(x, y, epochs=5, callbacks=[RunRecorder("runs/mine"), watch])
    """

    def __init__(self, run_dir, report=None, resolved=None):
        super().__init__()
        if not isinstance(run_dir, (str, Path)):
            raise ValueError(f"run_dir must be a folder path, received {type(run_dir).__name__}")
        for name, fn in (("report", report), ("resolved", resolved)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be a function, or None")
        self.run_dir, self.report, self.resolved = Path(run_dir), report, resolved

    def on_train_begin(self, logs=None):
        self.findings = []
        self._seen: set[str] = set()

    def on_epoch_end(self, epoch, logs=None):
        try:
            found = diagnose(self.run_dir)
        except RunError:  # the folder is not readable as a run yet: nothing to say
            return
        for finding in found:
            if finding.code not in self._seen:
                self._seen.add(finding.code)
                self.findings.append(finding)
                if self.report is not None:
                    self.report(finding)
        for code in sorted(self._seen - {f.code for f in found}):
            self._seen.discard(code)
            if self.resolved is not None:
                self.resolved(code, epoch + 1)
