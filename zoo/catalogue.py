"""The spec files of the zoo: the built-in `models/` folder and the folders (or files) named in
`ZOO_MODELS_DIR` (separated by the OS path separator), by model name."""
from __future__ import annotations

import difflib
import fnmatch
import os
import warnings
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .errors import SpecError

if TYPE_CHECKING:
    from .spec import ModelSpec


def builtin_models_dir() -> Path:
    return Path(str(resources.files("zoo.models")))


def user_model_paths() -> list[Path]:
    """Spec files named by ZOO_MODELS_DIR: folders (their *.toml) or single files."""
    paths: list[Path] = []
    for entry in filter(None, os.environ.get("ZOO_MODELS_DIR", "").split(os.pathsep)):
        entry_path = Path(entry).expanduser()
        # a file that is not a regular one (a FIFO, /dev/zero) is listed too: reading it is refused with why
        paths += sorted(entry_path.glob("*.toml")) if _stat_ok(entry_path.is_dir) else [entry_path]
    return paths


def _stat_ok(test: Callable[[], bool]) -> bool:
    """`path.is_dir()` and the like, False where the path cannot even be looked up (a name too long, a NUL byte)."""
    try:
        return test()
    except (OSError, ValueError):
        return False


def spec_paths() -> dict[str, Path]:
    """Model name -> spec file, built-ins first; a user file may not take a built-in's name."""
    found = {p.stem: p for p in sorted(builtin_models_dir().glob("*.toml"))}
    for path in user_model_paths():
        if path.stem in found:
            warnings.warn(f"Ignoring {path}: the model name {path.stem!r} is already taken by {found[path.stem]}; rename the file",
                          stacklevel=2)
            continue
        found[path.stem] = path
    return found


def list_models(filter: str | list[str] = "*", exclude: str | list[str] = ()) -> list[str]:
    """Sorted model names matching any fnmatch pattern in `filter` and none in `exclude`."""
    include = [filter] if isinstance(filter, str) else list(filter)
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    return [
        name for name in sorted(spec_paths())
        if any(fnmatch.fnmatch(name, p) for p in include) and not any(fnmatch.fnmatch(name, p) for p in exclude)
    ]


def load_spec(name_or_path: "str | Path | ModelSpec") -> "ModelSpec":
    """A validated spec from a model name (see `list_models()`) or a path to a TOML file."""
    from .spec import ModelSpec, read_spec_file

    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = str(name_or_path)
    paths = spec_paths()
    if text in paths:
        return read_spec_file(paths[text])
    exists = _stat_ok(Path(text).exists)
    if text.endswith(".toml") or os.sep in text or (exists and not _stat_ok(Path(text).is_dir)):
        if not exists:
            raise SpecError(f"Spec file {_short(text)} does not exist")
        return read_spec_file(text)  # reads regular files only: a FIFO or a device is refused, not read
    close = difflib.get_close_matches(text[:200], list(paths), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SpecError(f"Unknown model {_short(text)}.{hint} Known models: {', '.join(sorted(paths))}")


def _short(text: str, limit: int = 100) -> str:
    """A name or path for a one-line message: quoted and escaped as repr() does, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
