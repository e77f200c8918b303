"""Run folders: where they live, how they are named, and atomic writes of their files."""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import RunError

try:
    import fcntl
except ImportError:  # no flock (Windows): runs are not locked, and liveness falls back to the pid
    fcntl = None

STATES = ("running", "completed", "stopped", "diverged", "failed")
STATUS_FORMAT = 1  # status.json's "format"; folders written before it have none and read as format 1
MAX_JSON_BYTES = 16 * 2**20  # status.json, history.json, checkpoint.json, confusion.json: a long run's history is ~100 KB
MAX_RECORD_BYTES = 128 * 2**20  # gradients.csv and the other records: a 50-epoch MNIST run's is ~20 MB
# The files of a run folder: the one place their names are spelled (docs/run-format.md describes each).
STATUS = "status.json"  # the typed status (`RunStatus`), rewritten atomically
HISTORY = "history.json"  # per-epoch metrics, whole epochs only
SPEC_FILE = "spec.toml"  # the resolved spec the run was trained with (`spec_path`, `read_run_spec`); absent: not a spec
MODEL = "model.keras"  # the trained model, once training ended (completed or stopped)
CHECKPOINTS = "checkpoint"  # folder: the last whole epoch's model and optimiser, for `zoo resume`
CHECKPOINT_SIDECAR = "checkpoint.json"  # in CHECKPOINTS: which file is the last whole epoch's (`read_checkpoint`)
CONFUSION = "confusion.json"  # the test set's confusion matrix
GRADIENTS = "gradients.csv"  # per-layer gradient norms, every recorded step
GRADIENT_DETAILS = "gradient_details.csv"  # mean/max |g|, weight norms, update ratios, every `detail_every` steps
HISTOGRAMS = "histograms.npz"  # log10|g| histograms per layer at the detail steps
ACTIVATIONS = "activations.csv"  # activation statistics of the hidden layers on a probe batch
INPUT_GRADIENTS = "input_gradients.csv"  # ||d loss / d x_t|| per input time step on a probe batch (InputGradientRecorder)
TENSORBOARD = "tensorboard"  # folder: TensorBoard summaries, when asked for
ERROR_LOG = "error.log"  # the traceback of an unexpected failure
LOCK = ".lock"  # held (flock) by the process that trains the run; the OS releases it when that process ends
RUN_FILES = (STATUS, HISTORY, SPEC_FILE, MODEL, CHECKPOINTS, CONFUSION, GRADIENTS, GRADIENT_DETAILS, HISTOGRAMS,
             ACTIVATIONS, INPUT_GRADIENTS, TENSORBOARD, ERROR_LOG, LOCK)


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
    source: str = "zoo train"  # "RunRecorder": recorded from a user's own `fit`, without a spec.toml
    output_layers: list[str] = Field(default_factory=lambda: ["output"])  # zoo's specs name theirs "output"

    @field_validator("message", "started", "updated", "model", "dataset", mode="before")
    @classmethod
    def _text(cls, value):
        return "" if value is None else value


def write_status(run_dir: str | Path, status: dict) -> None:
    """Write the run's `status.json` (atomically), checked against `RunStatus` first: a writer's mistake fails here,
    in the writer, not later in every reader."""
    RunStatus.model_validate(status)
    write_json_atomic(Path(run_dir) / STATUS, status)


def newer_format_note(format: int) -> str:
    """What `zoo runs` and the app say of a run whose `status.json` a newer zoo wrote."""
    return f"written by a newer zoo (status format {format}); this zoo reads format {STATUS_FORMAT}"


def read_status(run_dir: str | Path) -> RunStatus:
    """A run folder's `status.json` as a `RunStatus`; `RunError` (one line naming the field) when it is not one.

    A status of a newer format (`format` above `STATUS_FORMAT`) is read when its known keys still have their types
    (its `format` tells; `zoo resume` refuses it), and refused as written by a newer zoo when they do not."""
    path = Path(run_dir) / STATUS
    data = read_json(path)
    if not isinstance(data, dict):
        raise RunError(f"{path} is not a JSON object")
    try:
        return RunStatus.model_validate(data)
    except ValidationError as e:
        if type(data.get("format")) is int and data["format"] > STATUS_FORMAT:
            raise RunError(f"{path}: {newer_format_note(data['format'])}") from None
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
    """ZOO_RUNS_DIR, else ZOO_HOME/runs: where runs are made and listed (the app follows it live)."""
    if folder := os.environ.get("ZOO_RUNS_DIR"):
        return Path(folder).expanduser()
    return zoo_home() / "runs"


def use_runs_dir(folder: str | Path) -> Path:
    """Make `folder` (an existing folder; for a run, the folder it is in) the runs folder of this process and of
    the trainings it starts."""
    try:
        path = Path(folder).expanduser()
        is_dir = path.is_dir()
    except (OSError, ValueError, TypeError, RuntimeError):  # not a path at all; ~user unknown
        raise RunError(f"Runs folder {str(folder)[:200]!r} is not a folder") from None
    if not is_dir:
        raise RunError(f"Runs folder {str(path)[:200]!r} is not a folder")
    if (path / STATUS).is_file():  # a run, not a folder of runs: the folder it is in
        path = path.parent
    os.environ["ZOO_RUNS_DIR"] = str(path.resolve())
    return path.resolve()


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
        raise RunError(f"Cannot create a run folder under {parent}: {e.strerror}; set ZOO_RUNS_DIR (or ZOO_HOME) to a writable folder") from None
    raise RunError(f"Too many runs named {stem} in {parent}")


def _file_mode() -> int:
    """The mode a plain `open()` gives a new file here (0o666 less the umask): every run file gets the same."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def new_status(**fields) -> dict:
    """A starting run's status: running in this process, nothing done yet; `fields` add to it or override."""
    pid = os.getpid()
    return {"format": STATUS_FORMAT, "state": RunState.RUNNING.value, "model": "?", "dataset": "?", "seed": None,
            "epochs": None, "epochs_completed": 0, "started": now_iso(), "updated": now_iso(), "finished": None,
            "message": "", "step": None, "test": {}, "pid": pid, "pid_started": process_start_time(pid), **fields}


def save_model(model, run_dir: str | Path) -> None:
    """The run's `model.keras`, written whole or not at all."""
    run_dir = Path(run_dir)
    partial = run_dir / "model.partial.keras"  # Keras wants the .keras suffix; the rename makes it atomic
    try:
        model.save(partial)
        replace_durably(partial, run_dir / MODEL)
    finally:
        partial.unlink(missing_ok=True)


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
    for pattern in (".*.tmp", "*.partial.keras", "*.partial.npz", f"{CHECKPOINTS}/.*.tmp", f"{CHECKPOINTS}/partial-*.keras"):
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


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@contextlib.contextmanager
def open_run_file(path: str | Path, limit: int = MAX_JSON_BYTES):
    """A run file opened for reading (binary) if it is a regular file of at most `limit` bytes, else `RunError` (one line).

    The one way zoo opens the files of a run folder. A FIFO, a device (`/dev/zero`, also behind a symlink) or a
    socket is refused from its `stat` before it is opened, so a read can neither hang nor go on without end; the
    open is non-blocking (in case the file was swapped since) and checked again. `FileNotFoundError` passes
    through: a missing file means something different to each reader.
    """
    path = Path(path)

    def check(info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a regular file")
            target = f" (it links to {os.path.realpath(path)})" if path.is_symlink() else ""
            raise RunError(f"{path} is {kind}{target}, not a regular file; a run's files are regular files")
        if info.st_size > limit:
            raise RunError(f"{path} is {info.st_size:,} bytes, more than the {limit:,} zoo reads of a run's file")

    try:
        check(os.stat(path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (RunError, FileNotFoundError):
        raise
    except (OSError, ValueError) as e:  # permissions, a loop of links, a NUL in the name
        raise RunError(f"Cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    with open(fd, "rb") as f:
        check(os.fstat(f.fileno()))
        yield f


def read_run_bytes(path: str | Path, limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a run file (see `open_run_file`); never more than `limit`."""
    with open_run_file(path, limit) as f:
        try:  # one byte more than its size, to see a file that grew (or one whose size stat does not tell)
            size = min(os.fstat(f.fileno()).st_size, limit)
            raw = f.read(size + 1)  # not `limit + 1`: the buffer read allocates is what it is asked for
            if len(raw) > size:
                raw += f.read(limit + 1 - len(raw))
        except OSError as e:
            raise RunError(f"Cannot read {path}: {e.strerror or e}") from None
    if len(raw) > limit:
        raise RunError(f"{path} is over the {limit:,} bytes zoo reads of a run's file")
    return raw


def spec_path(run_dir: str | Path) -> Path:
    """The run's resolved spec (TOML), as `zoo train` wrote it."""
    return Path(run_dir) / SPEC_FILE


def read_run_spec(run_dir: str | Path) -> dict | None:
    """The run's spec as a plain TOML table, or None when it is missing, not a regular file or not TOML (for
    views and model cards that do without; `zoo resume` validates it with `zoo.spec.read_spec_file`)."""
    import tomllib

    try:
        return tomllib.loads(read_run_bytes(spec_path(run_dir), MAX_JSON_BYTES).decode("utf-8"))
    except (OSError, RunError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None  # ValueError: an integer of more than 4,300 digits


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """A run's JSON file; `RunError` (one line) when it is missing, not a regular file, too large or not JSON
    (integers of thousands of digits and nesting thousands deep included)."""
    try:
        raw = read_run_bytes(path, limit)
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise RunError(f"{path} is unreadable ({type(e).__name__}: {_one_line(e)})") from None


def _one_line(error: BaseException, limit: int = 120) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text if len(text) <= limit else text[:limit] + "…"


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
    source: str = "zoo train"  # what wrote the run: `zoo train` (and the app), or RunRecorder in a user's own fit
    output_layers: list[str] = field(default_factory=lambda: ["output"])  # the model's output layers, by path
    format: int = STATUS_FORMAT  # status.json's format: above STATUS_FORMAT, a newer zoo wrote it (`problem` says so)

    @property
    def finished_ok(self) -> bool:
        """Completed or stopped, with a saved model: something to predict with or export."""
        return self.state in ("completed", "stopped") and (self.path / MODEL).is_file()


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
    except PermissionError:  # alive, someone else's
        pass
    except (OSError, OverflowError, ValueError):  # gone, or no pid at all (2**70)
        return False
    if started is not None and (now := process_start_time(pid)) is not None:
        return now == started
    return True


def lock_held(run_dir: str | Path) -> bool | None:
    """Whether a process holds the run's lock (it is training the run); None where the run has no lock file
    (written by a zoo before locks) or this system has no flock."""
    if fcntl is None:
        return None
    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class RunLock:
    """The run folder's lock: held by the process that trains (or resumes) a run, released when it ends.

    An exclusive `flock` on `RUN/.lock`: the operating system drops it when the process dies, however it
    dies, so a held lock means a live training and a free one a run nobody trains. `acquire` refuses
    (`RunError`, one line) a folder another process trains.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.created = False  # whether this lock made the lock file (a run from before locks has none)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, doing: str = "train") -> "RunLock":
        if fcntl is None or self._fd is not None:
            return self
        existed = os.path.lexists(self.path)
        flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, _file_mode())
        except OSError as e:
            raise RunError(f"Cannot {doing} {self.run_dir}: cannot write its lock file {LOCK} "
                           f"({e.strerror or e})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise RunError(f"Cannot {doing} {self.run_dir}: its {LOCK} is not a regular file; remove it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _lock_owner(fd)
                raise RunError(f"Cannot {doing} {self.run_dir}: it is already being trained by "
                               + (f"pid {owner}" if owner else "another process")) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.created = fd, not existed
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the file releases the flock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _lock_owner(fd: int) -> int | None:
    """The pid the lock's holder wrote in it, if it is one."""
    try:
        text = os.pread(fd, 24, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and len(text) < 12 else None


def still_running(run_dir: str | Path, status: RunStatus, own: RunLock | None = None) -> bool:
    """Whether a run whose status says "running" is being trained now.

    A run with a lock file is running exactly while its lock is held (`own`: a lock this process holds on it,
    as `zoo resume` does before it looks: then the last trainer is gone). A run from before locks is running
    while its pid lives and started when the run did; a pid alone, without its start time, may be another
    program's now, and is not trusted.
    """
    if own is not None and own.held:
        if not own.created:
            return False
    elif (held := lock_held(run_dir)) is not None:
        return held
    return status.pid_started is not None and _process_alive(status.pid, status.pid_started)


def read_run(path: str | Path, own: RunLock | None = None) -> RunInfo:
    """A run folder's summary; never raises for a broken folder (its `state` is "broken" and `problem` says why).

    A run whose status still says "running" but that nobody trains (killed, power loss) is "interrupted"
    (see `still_running`; `own`: this process's lock on the run).
    """
    path = Path(path)
    try:
        status = read_status(path)
    except RunError as e:
        return RunInfo(path, "broken", problem=str(e))
    state = status.state.value
    if state == "running" and not still_running(path, status, own):
        state = "interrupted"
    problem = newer_format_note(status.format) if status.format > STATUS_FORMAT else ""
    return RunInfo(path, state, status.model, status.dataset, status.started, status.epochs, status.epochs_completed,
                   status.test.get("accuracy"), status.message, problem, source=status.source,
                   output_layers=status.output_layers, format=status.format)


MAX_EPOCH = 2**53  # an epoch number beyond this is no run's


def read_history(run_dir: str | Path, strict: bool = False) -> dict | None:
    """The run's `history.json` as well-formed series (`well_formed_history`), or None when it has none; the one
    way zoo reads a run's history to show it. A file that is there but unreadable or not a JSON object reads as
    None too, or, `strict` (`zoo compare`), is refused (`RunError`, one line)."""
    path = Path(run_dir) / HISTORY
    try:
        history = read_json(path)
        if not isinstance(history, dict):
            raise RunError(f"{path} is not a JSON object")
    except RunError:
        if strict and os.path.lexists(path):
            raise
        return None
    return well_formed_history(history)


def well_formed_history(history: dict) -> dict:
    """The series of a history object that a reader can draw against its epochs (docs/run-format.md, history.json).

    `epoch` must be a list of whole numbers (0 to 2**53); without one, no series is kept ({}). Every other
    series must be a list of as many entries as `epoch`, or it is left out; an entry that is not a number
    (a string, a bool, a list, null) reads None, and every number reads as a float.
    """
    epochs = history.get("epoch")
    if not isinstance(epochs, list) or not all(type(e) is int and 0 <= e <= MAX_EPOCH for e in epochs):
        return {}
    out = {"epoch": list(epochs)}
    for key, values in history.items():
        if key != "epoch" and isinstance(values, list) and len(values) == len(epochs):
            out[key] = [_number_or_none(value) for value in values]
    return out


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None


def read_confusion(run_dir: str | Path) -> tuple[list[str], "list[list[int]]"] | None:
    """The run's test confusion matrix as (labels, matrix), or None when it has none or it is not one."""
    try:
        confusion = read_json(Path(run_dir) / CONFUSION)
        labels, matrix = [str(label) for label in confusion["labels"]], confusion["matrix"]
    except (RunError, KeyError, TypeError):
        return None
    if not isinstance(matrix, list) or len(matrix) != len(labels) or not all(
            isinstance(row, list) and len(row) == len(labels) for row in matrix):
        return None
    return labels, matrix


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether the run has a checkpoint sidecar (what `zoo resume` goes on from)."""
    return (Path(run_dir) / CHECKPOINTS / CHECKPOINT_SIDECAR).is_file()


def checkpoint_file(run_dir: str | Path) -> Path | None:
    """The model file of the run's last whole epoch (`checkpoint/epoch-NNNN.keras`, as its sidecar names it), or
    None when there is none; never raises (`zoo.callbacks.read_checkpoint` is the checked read, for a resume)."""
    folder = Path(run_dir) / CHECKPOINTS
    try:
        name = read_json(folder / CHECKPOINT_SIDECAR).get("file")
    except (RunError, AttributeError):
        return None
    if not isinstance(name, str) or not re.fullmatch(r"epoch-\d{4,}\.keras", name) or not (folder / name).is_file():
        return None
    return folder / name


def hidden_columns(layers: list[str], output_layers: list[str]) -> list[int]:
    """The indices of the hidden layers among a run's recorded `layers` (depth order): all but its output layers;
    where those are unknown ([]), all but the last."""
    if not output_layers:
        return list(range(len(layers) - 1))
    return [i for i, name in enumerate(layers) if name not in output_layers]


def distinct_names(names: list[str], paths: list[Path]) -> list[str]:
    """The runs' names for a side-by-side view: a name two runs share (two `mlp` runs, two of a user's `my_net`)
    gets the run's folder name after it."""
    return [f"{name} ({Path(path).name})" if names.count(name) > 1 else name for name, path in zip(names, paths)]


def list_runs(parent: str | Path | None = None) -> list[RunInfo]:
    """Every run folder under `parent` (default: `runs_dir()`), newest first; broken ones included. A run folder
    given as `parent` is listed alone."""
    parent = Path(parent) if parent is not None else runs_dir()
    if (parent / STATUS).is_file():
        return [read_run(parent)]
    if not parent.is_dir():
        return []
    folders = [p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs = [read_run(p) for p in folders]
    return sorted(runs, key=lambda r: (r.started, r.path.name), reverse=True)
