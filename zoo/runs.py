"""Run folders: where they live, how they are named, and atomic writes of their files."""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import RunError

STATES = ("running", "completed", "stopped", "diverged", "failed")
STATUS_FORMAT = 1  # status.json's "format"; folders written before it have none and read as format 1


class RunState(str, Enum):
    """What `status.json` says a run is doing or how it ended."""

    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"


class RunStatus(BaseModel):
    """`status.json`, typed: read through `read_status`, which names the field that is wrong.

    Unknown keys are kept (a newer zoo may write more); known ones must have their type.
    """

    model_config = ConfigDict(extra="allow")

    format: int = Field(STATUS_FORMAT, ge=1)
    state: RunState
    model: str = "?"
    dataset: str = "?"
    seed: int | None = None
    epochs: int | None = Field(None, ge=0)
    epochs_completed: int = Field(0, ge=0)
    started: str = ""
    updated: str = ""
    finished: str | None = None
    message: str = ""
    step: int | None = None
    test: dict[str, float | None] = Field(default_factory=dict)
    pid: int | None = None
    pid_started: int | None = None  # the process's start time (clock ticks after boot): a reused pid is not it
    train_seconds: float | None = None
    converged_epoch: int | None = None
    resumed: list[dict] = Field(default_factory=list)

    @field_validator("message", "started", "updated", "model", "dataset", mode="before")
    @classmethod
    def _text(cls, value):
        return "" if value is None else value


def read_status(run_dir: str | Path) -> RunStatus:
    """A run folder's `status.json` as a `RunStatus`; `RunError` (one line naming the field) when it is not one."""
    path = Path(run_dir) / "status.json"
    data = read_json(path)
    if not isinstance(data, dict):
        raise RunError(f"{path} is not a JSON object")
    try:
        return RunStatus.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "?"
        value = repr(error.get("input"))[:60]
        raise RunError(f"{path}: `{key}` is {value}; {error['msg'][0].lower()}{error['msg'][1:]}") from None


def zoo_home() -> Path:
    """ZOO_HOME, else the user data folder (e.g. ~/.local/share/zoo)."""
    if home := os.environ.get("ZOO_HOME"):
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("zoo", appauthor=False))


def runs_dir() -> Path:
    return zoo_home() / "runs"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def create_run_dir(model_name: str, out: str | Path | None = None) -> Path:
    """A new, empty run folder: `out` if given (refused if it exists), else a fresh one under `runs_dir()`."""
    if out is not None:
        path = Path(out)
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise RunError(f"Run folder {path} already exists; choose another --out or remove it first") from None
        except OSError as e:
            raise RunError(f"Cannot create run folder {path}: {e.strerror}") from None
        return path
    parent = runs_dir()
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{model_name}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            path = parent / (stem if attempt == 1 else f"{stem}-{attempt}")
            try:
                path.mkdir()  # atomic: two runs never get the same folder
                return path
            except FileExistsError:
                continue
    except OSError as e:
        raise RunError(f"Cannot create a run folder under {parent}: {e.strerror}; set ZOO_HOME to a writable folder") from None
    raise RunError(f"Too many runs named {stem} in {parent}")


def _file_mode() -> int:
    """The mode a plain `open()` gives a new file here (0o666 less the umask): every run file gets the same."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some systems cannot open a folder: the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_durably(written: str | Path, path: str | Path) -> None:
    """Put the finished file `written` at `path` so that a power loss leaves the old file or the new one, whole.

    The file's data is flushed to disk before the rename and the folder's entry after it.
    """
    written, path = Path(written), Path(path)
    os.chmod(written, _file_mode())
    with open(written, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(written, path)
    _fsync_folder(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        replace_durably(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_leftovers(run_dir: str | Path) -> None:
    """Delete what an interrupted write leaves behind in a run folder: temporary and partial files."""
    run_dir = Path(run_dir)
    for pattern in (".*.tmp", "*.partial.keras", "*.partial.npz", "checkpoint/.*.tmp", "checkpoint/partial-*.keras"):
        for leftover in run_dir.glob(pattern):
            leftover.unlink(missing_ok=True)


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null (a diverged run's last loss, for instance)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(_finite_or_none(data), indent=2, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path} is unreadable ({e})") from None


@dataclass
class RunInfo:
    """One run folder as `zoo runs` and the app list it. `problem` says what is wrong with a broken folder."""

    path: Path
    state: str
    model: str = "?"
    dataset: str = "?"
    started: str = ""
    epochs: int | None = None
    epochs_completed: int = 0
    accuracy: float | None = None  # test accuracy, when the run has one
    message: str = ""
    problem: str = ""

    @property
    def finished_ok(self) -> bool:
        """Completed or stopped, with a saved model: something to predict with or export."""
        return self.state in ("completed", "stopped") and (self.path / "model.keras").is_file()


def process_start_time(pid: int) -> int | None:
    """When process `pid` started, in clock ticks after boot (Linux's /proc/PID/stat); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the name before ")" may hold spaces
    except (OSError, ValueError, IndexError):
        return None


def _process_alive(pid, started: int | None = None) -> bool:
    """Whether the run's own process still runs: its pid exists and, where known, started when the run's did
    (after a reboot or many processes, another program may have its pid)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    if started is not None and (now := process_start_time(pid)) is not None:
        return now == started
    return True


def read_run(path: str | Path) -> RunInfo:
    """A run folder's summary; never raises for a broken folder (its `state` is "broken" and `problem` says why).

    A run whose status still says "running" but whose process is gone (killed, power loss) is "interrupted".
    """
    path = Path(path)
    try:
        status = read_status(path)
    except RunError as e:
        return RunInfo(path, "broken", problem=str(e))
    state = status.state.value
    if state == "running" and not _process_alive(status.pid, status.pid_started):
        state = "interrupted"
    return RunInfo(path, state, status.model, status.dataset, status.started, status.epochs, status.epochs_completed,
                   status.test.get("accuracy"), status.message)


def list_runs(parent: str | Path | None = None) -> list[RunInfo]:
    """Every run folder under `parent` (default: `runs_dir()`), newest first; broken ones included."""
    parent = Path(parent) if parent is not None else runs_dir()
    if not parent.is_dir():
        return []
    folders = [p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs = [read_run(p) for p in folders]
    return sorted(runs, key=lambda r: (r.started, r.path.name), reverse=True)
