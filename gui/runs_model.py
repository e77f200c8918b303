"""The app's model of its runs folder, which the views observe (as napari's Qt views observe its layers).

It holds the runs in `zoo.runs.runs_dir()` and keeps them current by polling: every `interval_ms` it compares
the folder's run names and their `status.json` times (`folder_signature`, a stat per run: 1 ms for 100 runs,
13 ms for 1,000, `bench/runs_polling.py`) and re-lists only when they changed, a run appeared, went, ended an epoch or
changed state; and re-reads the runs it lists as running, which a kill ends without a write. Polling rather than `QFileSystemWatcher`: it follows a folder on any file system (network
folders included) and never runs out of watches. The views only display what it says.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from zoo.runs import STATUS, RunInfo, list_runs, read_run, runs_dir, use_runs_dir

POLL_MS = 2000


def folder_signature(folder: Path | None = None) -> tuple:
    """The runs folder's run names with their status.json times: changes when a run starts, ends an epoch or goes."""
    try:
        folder = runs_dir() if folder is None else folder
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return ()
    signature = []
    for entry in entries:
        try:
            signature.append((entry.name, (entry / STATUS).stat().st_mtime_ns))
        except OSError:
            signature.append((entry.name, None))
    return tuple(signature)


class RunsModel(QObject):
    """The runs of the runs folder, newest first (`runs`); `changed` says they changed, `folder_changed` that
    another folder is followed."""

    changed = Signal()
    folder_changed = Signal(str)

    def __init__(self, parent=None, interval_ms: int = POLL_MS):
        super().__init__(parent)
        self.runs: list[RunInfo] = []
        self._seen: tuple | None = None
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.poll)
        self.reload()
        self.timer.start()

    @property
    def folder(self) -> Path:
        return runs_dir()

    def poll(self) -> None:
        """Re-list the runs if the folder changed since the last look, or a run listed as running is no longer
        trained (killed: its process wrote nothing more, only its lock went)."""
        if folder_signature() != self._seen or any(
                run.state == "running" and read_run(run.path).state != "running" for run in self.runs):
            self.reload()

    def reload(self) -> None:
        self._seen = folder_signature()
        self.runs = list_runs()
        self.changed.emit()

    def open_folder(self, folder: str | Path) -> None:
        """Follow the runs in `folder` (for a run: the folder it is in); `ZooError` when it is not a folder."""
        use_runs_dir(folder)
        self.reload()
        self.folder_changed.emit(str(self.folder))
