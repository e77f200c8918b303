"""A training in its own process: `python -m zoo train ... --json`, read as JSON lines.

The app never trains in its own process: a TensorFlow crash or hang cannot take the window down,
Stop is a signal the training handles after the current step, and the memory TensorFlow keeps
after building models goes away with the process.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

STOP_GRACE_MS = 15_000  # after Stop, a training that has not ended by then is killed
TRAINING_NICENESS = 10


@dataclass
class TrainingOptions:
    """What the Train form sets; None keeps the spec's value."""

    model: str
    dataset: str | None = None
    epochs: int | None = None
    batch_size: int | str | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    clipnorm: float | None = None
    seed: int | None = None
    out: str | None = None
    extra: list[str] = field(default_factory=list)
    resume: str | None = None  # a run folder to continue (`zoo resume`) instead of a new training
    backend: str | None = None  # the Keras backend (default: zoo.backends.training_backend's choice)

    def arguments(self) -> list[str]:
        if self.resume:
            return ["-m", "zoo", "resume", self.resume, "--json", *self.extra]
        args = ["-m", "zoo", "train", self.model, "--json"]
        for flag, value in (("--dataset", self.dataset), ("--epochs", self.epochs), ("--batch-size", self.batch_size),
                            ("--optimizer", self.optimizer), ("--lr", self.learning_rate),
                            ("--clipnorm", self.clipnorm), ("--seed", self.seed), ("--out", self.out),
                            ("--backend", self.backend)):
            if value is not None:
                args += [flag, str(value)]
        return args + list(self.extra)


class TrainingProcess(QObject):
    """Runs one training at a time and reports it through signals (received in the GUI thread).

    Signals:
        begun(run_dir): the run folder exists and the first step is about to run.
        batch(event), epoch(event): the JSON events of `zoo.callbacks.JsonLinesProgress`.
        finished(end): {"state", "message", "run", "model", "test", "step"}; state is "completed", "stopped",
            "diverged", "failed" (a one-line message) or "crashed" (the process died). "run" is None when
            the training ended before its run folder existed (a refused setting); "model" is always there.
    """

    begun = Signal(str)
    batch = Signal(object)
    epoch = Signal(object)
    finished = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._process: QProcess | None = None
        self._kill_timer = QTimer(self, singleShot=True, interval=STOP_GRACE_MS)
        self._kill_timer.timeout.connect(self.kill)

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, options: TrainingOptions) -> None:
        if self.running:
            raise RuntimeError("a training is already running")
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("TF_CPP_MIN_LOG_LEVEL", "2")
        env.remove("KERAS_BACKEND")  # the app's; the training picks its own (ZOO_BACKEND, else the fastest installed)
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process, self._buffer, self._end, self._run = process, b"", None, None
        self._model = options.model
        self._stopping = False
        process.start(sys.executable, options.arguments())
        _lower_priority(process.processId())


    def stop(self) -> None:
        """Ask the training to end after its current step (it saves the model, state "stopped")."""
        if self._process is not None and not self._stopping:
            self._stopping = True
            self._process.terminate()  # SIGTERM: zoo.training turns it into a clean stop
            self._kill_timer.start()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._process is None or self._process.waitForFinished(msecs)

    def _read_output(self) -> None:
        self._buffer += bytes(self._process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing to stdout)
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "begin":
                self._run = event.get("run")
                self.begun.emit(self._run or "")
            elif kind == "batch":
                self.batch.emit(event)
            elif kind == "epoch":
                self.epoch.emit(event)
            elif kind == "end":
                self._end = event

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish({"state": "failed", "message": f"Cannot start {sys.executable}: {self._process.errorString()}",
                          "run": self._run})

    def _on_finished(self, exit_code: int, exit_status) -> None:
        self._read_output()
        stderr = bytes(self._process.readAllStandardError()).decode("utf-8", "replace")
        if self._end is not None:
            self._finish(self._end)
            return
        error = [line for line in stderr.splitlines() if line.startswith("zoo: error:")]
        if error:
            message, state = error[-1].removeprefix("zoo: error:").strip(), "failed"
        elif self._stopping:
            message, state = "Stopped before the first step", "stopped"
        else:
            last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            how = "was killed" if exit_status == QProcess.ExitStatus.CrashExit else f"exited with code {exit_code}"
            message, state = f"The training process {how}" + (f": {last}" if last else ""), "crashed"
        self._finish({"state": state, "message": message, "run": self._run})

    def _finish(self, end: dict) -> None:
        if self._process is None:
            return
        self._kill_timer.stop()
        process, self._process = self._process, None
        process.deleteLater()
        self.finished.emit({"run": self._run, **end, "model": end.get("model") or self._model})


def _lower_priority(pid: int) -> None:
    """Training yields the CPU to the window (on two cores it would otherwise starve it for 50-100 ms at a time).

    Set before the training starts its threads, which inherit it; an idle machine trains as fast as before.
    """
    if pid and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, pid, min(os.getpriority(os.PRIO_PROCESS, pid) + TRAINING_NICENESS, 19))
        except OSError:
            pass
