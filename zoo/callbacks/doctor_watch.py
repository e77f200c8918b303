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
        report: `fn(finding)` called once per finding code, the epoch it first holds (e.g. print it).

    Attributes:
        findings: the first report of each code, in the order they came.

    Example:
        >>> watch = DoctorWatch("runs/mine", report=lambda f: print(f.code, f.evidence))
        >>> model.fit(x, y, epochs=5, callbacks=[RunRecorder("runs/mine"), watch])
    """

    def __init__(self, run_dir, report=None):
        super().__init__()
        if not isinstance(run_dir, (str, Path)):
            raise ValueError(f"run_dir must be a folder path, received {type(run_dir).__name__}")
        if report is not None and not callable(report):
            raise ValueError("report must be a function taking a finding, or None")
        self.run_dir, self.report = Path(run_dir), report

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
