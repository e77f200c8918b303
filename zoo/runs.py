"""Run folders: where they live, how they are named, and atomic writes of their files."""
from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import RunError

STATES = ("running", "completed", "stopped", "diverged", "failed")


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


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
