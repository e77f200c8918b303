"""`zoo doctor --try`: a run's first treatable finding, its fix applied to the run's spec, the fixed spec trained
from the same seed on the same data, and both runs diagnosed, side by side."""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from .doctor import Finding, diagnose, examine, fixed_spec
from .errors import RunError, ZooError
from .runs import read_status, spec_path


@dataclass
class Remedy:
    """What `try_fix` did: the `finding` it treated, the `change` to the spec, the runs `before` and `after` (their
    folders) and their findings."""

    finding: Finding
    change: str
    before: Path
    after: Path
    found_before: list[Finding]
    found_after: list[Finding]
    skipped: list[Finding]  # findings before it with no fix zoo can apply to this spec
    state: str = "completed"  # the fixed run's: "stopped" (Ctrl-C) or "diverged" give no verdict on the fix

    @property
    def finished(self) -> bool:
        """Whether the fixed run trained all its epochs (or diverged, which is a result): a verdict can be given."""
        return self.state in ("completed", "diverged")

    @property
    def gone(self) -> bool:
        """Whether the treated finding no longer holds in the fixed run."""
        return self.finding.code not in {f.code for f in self.found_after}


def fixed_run_dir(run_dir: str | Path) -> Path:
    """Where the fix of a run trains: RUN-fixed beside it (RUN-fixed-2, ... when taken)."""
    run_dir = Path(run_dir)
    return next(path for i in itertools.count(1) if not os.path.lexists(  # a dangling link is taken too
        path := run_dir.parent / f"{run_dir.name}-fixed{'' if i == 1 else f'-{i}'}"))


def run_spec(run_dir: str | Path):
    """The run's resolved spec (its spec.toml) named after the run's model, so that the fixed one is MODEL-fixed;
    `RunError` saying why there is none to train again (a run recorded by RunRecorder has no spec.toml)."""
    from .catalogue import load_spec

    run_dir = Path(run_dir)
    try:
        status = read_status(run_dir)
    except ZooError:
        status = None
    if os.path.lexists(spec_path(run_dir)) and not spec_path(run_dir).is_file():
        raise RunError(f"its {spec_path(run_dir).name} is not a regular file")
    if not spec_path(run_dir).is_file():
        source = status.source if status is not None else "something other than zoo train"
        raise RunError(f"it has no spec.toml (recorded by {source}) for zoo to train again")
    try:
        spec = load_spec(spec_path(run_dir))
    except ZooError as e:
        raise RunError(f"its spec.toml cannot be read ({e})") from None
    model = status.model if status is not None else "?"
    return spec.model_copy(update={"name": model}) if model and model != "?" else spec


def try_fix(run_dir: str | Path, code: str | None = None, out: str | Path | None = None, data=None,
            progress=False) -> Remedy | None:
    """Treat the run's first finding that zoo can fix (or the one with `code`): train the fixed spec from the same
    seed (a new run folder: `out`, or one beside the run's), and diagnose it. None when nothing was found.
    `RunError` for a run zoo cannot train again (no spec.toml: recorded by RunRecorder) or with no fix to try."""
    from .training import train

    from .doctor import CODES
    from .runs import read_run

    run_dir = Path(run_dir).resolve()  # `zoo doctor . --try`: the fixed run goes beside the run, named after it
    if code is not None and code not in CODES:
        raise RunError(f"Unknown finding code {code!r}; the codes are {', '.join(CODES)}")
    if read_run(run_dir).state == "running":
        raise RunError(f"Cannot try a fix on {run_dir}: it is still training; try when it has ended (compared now, "
                       f"a part of its epochs would face the fixed run's all)")
    found, unread = examine(run_dir)
    if unread:  # the rules that would have seen the rest said nothing: the advice may be the wrong one
        raise RunError(f"Cannot try a fix on {run_dir}: the doctor could not read all of it ({unread[0]}); "
                       "mend or remove that file first")
    if not found:
        return None
    try:
        spec = run_spec(run_dir)
    except RunError as e:
        raise RunError(f"Cannot try a fix on {run_dir}: {e}; apply the fix to your own script: {found[0].fix}") from None
    # not learning is what the others cause: its own fix (a higher rate) is tried last
    candidates = sorted((f for f in found if code is None or f.code == code), key=lambda f: f.code == "not_learning")
    if not candidates:
        raise RunError(f"{run_dir} has no `{code}` finding; it has {', '.join(f.code for f in found)}")
    skipped = []
    for finding in candidates:
        fixed = fixed_spec(spec, finding)
        if fixed is not None:
            break
        skipped.append(finding)
    else:
        raise RunError(f"zoo has no fix it can apply to this spec for {', '.join(f.code for f in candidates)}; try "
                       f"by hand: {candidates[0].fix}")
    fixed_spec_, change = fixed
    target = out or fixed_run_dir(run_dir)
    try:
        result = train(fixed_spec_, out=target, data=data, progress=progress)
    except RunError as e:
        if out is None and os.path.lexists(target) and "already exists" in str(e):  # taken since it was chosen
            raise RunError(f"Cannot try a fix on {run_dir}: {target.name} was made meanwhile (another `zoo doctor "
                           "--try` of it?); run it again for the next free name") from None
        raise
    return Remedy(finding, change, run_dir, result.path, found, diagnose(result.path), skipped, result.state)
