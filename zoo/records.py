"""A run's gradient and activation records on disk: written by `zoo train`, read by `zoo compare` and the app."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .errors import RunError
from .runs import (ACTIVATIONS, GRADIENT_DETAILS, GRADIENTS, HISTOGRAMS, HISTORY, INPUT_GRADIENTS, MAX_RECORD_BYTES,
                   hidden_columns, open_run_file, read_json, read_run_bytes, write_text_atomic)

GRADIENT_COLUMNS = ("step", "epoch", "layer", "depth", "grad_norm", "grad_norm_clipped")
DETAIL_COLUMNS = ("step", "epoch", "layer", "depth", "grad_mean_abs", "grad_max_abs", "weight_norm", "update_ratio")
ACTIVATION_COLUMNS = ("step", "epoch", "layer", "depth", "activation", "act_mean", "act_std", "saturated", "dead")
INPUT_GRADIENT_COLUMNS = ("step", "epoch", "t", "grad_norm")


class GradientCsv:
    """`gradients.csv` (one row per step and layer), rewritten atomically each time rows are added.

    Rewriting the whole file (a few MB for a long MNIST run, every `flush_every` steps) keeps the rule
    that a reader never sees half a file. `previous` is the text of rows kept from before a resume.
    """

    def __init__(self, path: Path, layer_names: list[str], previous: str = ""):
        self.path, self.layer_names = Path(path), list(layer_names)
        self._text = io.StringIO()
        csv.writer(self._text, lineterminator="\n").writerow(GRADIENT_COLUMNS)
        self._text.write(previous)
        write_text_atomic(self.path, self._text.getvalue())

    def append(self, steps, epochs, stats) -> None:
        writer = csv.writer(self._text, lineterminator="\n")
        for step, epoch, row in zip(steps, epochs, stats):
            for depth, (name, values) in enumerate(zip(self.layer_names, row), start=1):
                writer.writerow([int(step), int(epoch), name, depth, *(f"{v:.7g}" for v in values)])
        write_text_atomic(self.path, self._text.getvalue())


def write_details(path: Path, details: dict, layer_names: list[str], previous: str = "") -> None:
    """`gradient_details.csv`: one row per detail step and layer (see GradientRecorder.details)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DETAIL_COLUMNS)
    out.write(previous)
    for k, (step, epoch) in enumerate(zip(details["step"], details["epoch"])):
        for depth, name in enumerate(layer_names, start=1):
            writer.writerow([int(step), int(epoch), name, depth, *(f"{details[c][k, depth - 1]:.7g}" for c in DETAIL_COLUMNS[4:])])
    write_text_atomic(path, out.getvalue())


def write_activations(path: Path, records: list[dict], previous: str = "") -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, ACTIVATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    out.write(previous)
    writer.writerows(records)
    write_text_atomic(path, out.getvalue())


def write_input_gradients(path: Path, steps, epochs, norms, previous: str = "") -> None:
    """`input_gradients.csv`: one row per record and input time step t (see InputGradientRecorder); `previous`:
    rows (text, without the header) kept from before."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INPUT_GRADIENT_COLUMNS)
    out.write(previous)
    for step, epoch, row in zip(steps, epochs, norms):
        writer.writerows([int(step), int(epoch), t, f"{value:.7g}"] for t, value in enumerate(row))
    write_text_atomic(path, out.getvalue())


def read_input_gradients(path: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """`input_gradients.csv` (the file, or the run folder that holds it) as `(steps (n,), norms (n, T))`, NaN where
    a value is missing; None when there is no such file, `RunError` (one line) when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / INPUT_GRADIENTS
    try:
        reader = csv.DictReader(io.StringIO(read_run_bytes(path, MAX_RECORD_BYTES).decode("utf-8"), newline=""))
        missing = [c for c in INPUT_GRADIENT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RunError(f"{path} has no `{missing[0]}` column; expected {', '.join(INPUT_GRADIENT_COLUMNS)}")
        rows = []
        for row in reader:
            try:
                step, t = int(row["step"]), int(row["t"])
                norm = float(row["grad_norm"]) if row["grad_norm"] else np.nan
            except (TypeError, ValueError):
                raise RunError(f"{path}, line {reader.line_num}: not an input gradient record (step={row.get('step')!r}, "
                               f"t={row.get('t')!r}, grad_norm={row.get('grad_norm')!r})"[:300]) from None
            if step < 0 or t < 0:
                raise RunError(f"{path}, line {reader.line_num}: a negative step or t ({step}, {t})")
            rows.append((step, t, norm))
    except FileNotFoundError:
        return None
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise RunError(f"{path} is unreadable ({type(e).__name__}: {str(e)[:80]})") from None
    steps = sorted({step for step, _, _ in rows})
    length = max((t for _, t, _ in rows), default=-1) + 1
    if len(steps) * length > 4 * len(rows) + 1024:  # a damaged or foreign file, not a few missing values
        raise RunError(f"{path} is not an input gradient record: {len(rows)} rows for {len(steps)} steps of "
                       f"{length} time steps")
    index = {step: i for i, step in enumerate(steps)}
    norms = np.full((len(steps), length), np.nan)
    for step, t, norm in rows:
        norms[index[step], t] = norm
    return np.array(steps, np.int64), norms


class RunRecords:
    """A run folder's records as arrays: `steps` (n,), `layers` (names, depth order), `grad(stat)` (n, layers)."""

    def __init__(self, run_dir: str | Path):
        from .runs import read_status

        self.path = Path(run_dir)
        if not self.path.is_dir():
            raise RunError(f"{self.path} is not a run folder")
        self.status = read_status(self.path)
        history = read_json(self.path / HISTORY) if (self.path / HISTORY).exists() else {}
        if not isinstance(history, dict):
            raise RunError(f"{self.path / HISTORY} is not a JSON object")
        self.history = history
        self.name = self.status.model if self.status.model != "?" else self.path.name
        self._load_gradients()

    def _load_gradients(self) -> None:
        path = self.path / GRADIENTS
        if not path.exists():
            how = ("record it with RunRecorder(..., record_every=1)" if self.status.source == "RunRecorder" else
                   "train it with `zoo train` (recording is on by default)")
            raise RunError(f"{self.path} has no gradients.csv; {how}")
        try:
            reader = csv.DictReader(io.StringIO(read_run_bytes(path, MAX_RECORD_BYTES).decode("utf-8"), newline=""))
            missing = [c for c in GRADIENT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise RunError(f"{path} has no `{missing[0]}` column; expected {', '.join(GRADIENT_COLUMNS)}")
            rows = [_gradient_row(path, reader.line_num, r) for r in reader]
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise RunError(f"{path} is unreadable ({e})") from None
        if not rows:
            raise RunError(f"{path} has no records yet (the run ended before its first steps were written)")
        depth = {layer: d for _, layer, d, _ in rows}
        self.layers = sorted(depth, key=depth.get)
        column = {layer: i for i, layer in enumerate(self.layers)}
        steps = sorted({step for step, *_ in rows})
        self.steps = np.array(steps, np.int64)
        index = {s: i for i, s in enumerate(steps)}
        self._stats: dict[str, np.ndarray] = {}
        for k, stat in enumerate(GRADIENT_COLUMNS[4:]):
            table = np.full((len(steps), len(self.layers)), np.nan)
            for step, layer, _, values in rows:
                table[index[step], column[layer]] = values[k]
            self._stats[stat] = table

    def grad(self, stat: str = "grad_norm") -> np.ndarray:
        return self._stats[stat]

    @property
    def hidden(self) -> list[int]:
        """Column indices of the hidden layers (everything but the output layers)."""
        return hidden_columns(self.layers, self.status.output_layers)


def _gradient_row(path: Path, line: int, row: dict) -> tuple[int, str, int, tuple[float, float]]:
    """(step, layer, depth, (grad_norm, grad_norm_clipped)) of one `gradients.csv` row; RunError naming the line."""
    try:
        values = tuple(float(row[c]) if row[c] else np.nan for c in GRADIENT_COLUMNS[4:])
        return int(row["step"]), str(row["layer"]), int(row["depth"]), values
    except (TypeError, ValueError):
        raise RunError(f"{path}, line {line}: not a gradient record ({', '.join(f'{c}={row.get(c)!r}' for c in GRADIENT_COLUMNS[:5])})"[:300]) from None


class GradientTail:
    """`gradients.csv` as it grows (the app follows a running training): only new complete lines are parsed.

    `read()` returns `(steps (n,), layers, norms (n, layers), clipped (n, layers))`, NaN where a value is missing
    (and everywhere in `clipped` for a run without clipping). A file that was rewritten rather than grown
    (a resumed run cut back to its checkpoint) is read again from its start.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset, self._seen = 0, b""  # how far it has read, and the last bytes before that
        self._depth: dict[str, int] = {}
        self._rows: dict[int, dict[int, tuple[float, float]]] = {}

    def read(self) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        try:
            with open_run_file(self.path, MAX_RECORD_BYTES) as f:
                f.seek(max(self._offset - len(self._seen), 0))
                if f.read(len(self._seen)) != self._seen:  # rewritten, not grown (a resume cut it back): start over
                    self._offset, self._seen, self._depth, self._rows = 0, b"", {}, {}
                f.seek(self._offset)
                chunk = f.read(MAX_RECORD_BYTES)
        except (OSError, RunError):  # not there yet, or not a run's file (a FIFO, a device): nothing to show
            chunk = b""
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        self._seen = (self._seen + chunk[:end])[-64:]
        for line in chunk[:end].decode("utf-8", "replace").splitlines():
            parts = line.split(",")
            if len(parts) < 5 or parts[0] == "step":
                continue
            try:
                step, depth = int(parts[0]), int(parts[3])
                norm = float(parts[4]) if parts[4] else np.nan
                clipped = float(parts[5]) if len(parts) > 5 and parts[5] else np.nan
            except ValueError:
                continue
            self._depth[parts[2]] = depth
            self._rows.setdefault(step, {})[depth] = (norm, clipped)
        layers = sorted(self._depth, key=self._depth.get)
        steps = np.array(sorted(self._rows), np.int64)
        norms = np.full((len(steps), len(layers)), np.nan)
        clipped = np.full((len(steps), len(layers)), np.nan)
        for i, step in enumerate(steps):
            for depth, (norm, after) in self._rows[int(step)].items():
                if 1 <= depth <= len(layers):
                    norms[i, depth - 1], clipped[i, depth - 1] = norm, after
        return steps, layers, norms, clipped


def read_activations(path: str | Path) -> dict:
    """`activations.csv` as arrays: steps (n,), layers, activation per layer, act_mean/act_std/saturated/dead (n, layers)."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(io.StringIO(read_run_bytes(path, MAX_RECORD_BYTES).decode("utf-8"), newline="")))
    except FileNotFoundError:
        rows = []
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise RunError(f"{path} is unreadable ({e})") from None
    try:
        depth = {r["layer"]: int(r["depth"]) for r in rows}
        layers = sorted(depth, key=depth.get)
        position = {name: i for i, name in enumerate(layers)}
        kinds = {r["layer"]: r["activation"] for r in rows}
        steps = sorted({int(r["step"]) for r in rows})
        index = {s: i for i, s in enumerate(steps)}
        out = {"steps": np.array(steps, np.int64), "layers": layers, "activation": [kinds[name] for name in layers]}
        for column in ACTIVATION_COLUMNS[5:]:
            table = np.full((len(steps), len(layers)), np.nan)
            for r in rows:
                if r.get(column) not in (None, ""):
                    table[index[int(r["step"])], position[r["layer"]]] = float(r[column])
            out[column] = table
    except (KeyError, TypeError, ValueError) as e:
        raise RunError(f"{path} is not an activation record ({type(e).__name__}: {str(e)[:80]}); expected the columns "
                       f"{', '.join(ACTIVATION_COLUMNS)}") from None
    return out


def read_histograms(path: str | Path) -> dict | None:
    """`histograms.npz`: steps (n,), layers, edges (bins+1,) of log10|g|, counts (n, layers, bins); None if absent."""
    import zipfile

    try:
        with open_run_file(path, MAX_RECORD_BYTES) as f:
            with zipfile.ZipFile(f) as archive:  # what each array unpacks to, as the archive declares it
                declared = sum(member.file_size for member in archive.infolist())
            if declared > 4 * MAX_RECORD_BYTES:
                raise RunError(f"{path} would unpack to {declared:,} bytes; not a run's histograms")
            f.seek(0)
            with np.load(f, allow_pickle=False) as data:
                out = {"steps": data["steps"], "layers": [str(x) for x in data["layers"]], "edges": data["edges"],
                       "counts": data["counts"]}
    except FileNotFoundError:
        return None
    except RunError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError) as e:
        raise RunError(f"{path} is unreadable ({type(e).__name__}: {str(e)[:100]})") from None
    steps, counts = out["steps"], out["counts"]
    if steps.ndim != 1 or counts.ndim != 3 or len(counts) != len(steps) or counts.shape[1] != len(out["layers"]) \
            or not np.issubdtype(steps.dtype, np.integer):
        raise RunError(f"{path} is not a run's histograms (steps {steps.shape}, counts {counts.shape})")
    return out


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing along axis 0: a debiased exponential moving average (weight 0: none). NaNs are skipped."""
    values = np.asarray(values, float)
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), received {weight}")
    if weight == 0 or len(values) == 0:
        return values.copy()
    out = np.empty_like(values)
    average = np.zeros(values.shape[1:])
    count = np.zeros(values.shape[1:])
    for i, row in enumerate(values):
        ok = np.isfinite(row)
        average = np.where(ok, average * weight + (1 - weight) * np.where(ok, row, 0), average)
        count = count + ok
        out[i] = np.where(ok, average / (1 - weight ** np.maximum(count, 1)), np.nan)
    return out


def rows_up_to(path: Path, last_step: int, columns: tuple[str, ...] | None = None) -> str:
    """The data rows of a run's CSV record file (without its header) whose `step` is at most `last_step`.

    What a resumed run keeps of its records: everything up to its checkpoint, nothing after it. With
    `columns`, the file must start with that header and every row kept must have as many fields
    (`RunError`, one line, otherwise): a foreign file is refused rather than continued.
    """
    try:
        text = read_run_bytes(path, MAX_RECORD_BYTES).decode("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is unreadable ({type(e).__name__}: {str(e)[:80]})") from None
    lines = text.splitlines()
    if columns is not None and (not lines or lines[0] != ",".join(columns)):
        first = repr(lines[0][:40]) if lines else "nothing"
        raise RunError(f"{path} starts with {first}, not the header {','.join(columns)}")
    kept = []
    for number, line in enumerate(lines[1:], start=2):
        step = line.split(",", 1)[0]
        if step.isdigit() and len(step) < 19 and int(step) <= last_step:
            if columns is not None:
                try:
                    fields = next(csv.reader([line]))
                except csv.Error as e:
                    raise RunError(f"{path}, line {number}: {e}") from None
                if len(fields) != len(columns):
                    raise RunError(f"{path}, line {number}: {len(fields)} fields, not the {len(columns)} of its header")
                _check_numbers(path, number, columns, fields)
            kept.append(line + "\n")
    return "".join(kept)


TEXT_COLUMNS = ("layer", "activation")  # every other column of a record file is a number
WHOLE_COLUMNS = ("step", "epoch", "depth")


def _check_numbers(path: Path, number: int, columns: tuple[str, ...], fields: list[str]) -> None:
    """`RunError` naming the line unless every field but the text ones is a number (whole where it must be; a
    float may be empty, inf or nan: a diverging step is recorded as it was)."""
    for column, field in zip(columns, fields):
        if column in TEXT_COLUMNS or (field == "" and column not in WHOLE_COLUMNS):
            continue
        try:
            int(field) if column in WHOLE_COLUMNS else float(field)
        except ValueError:
            raise RunError(f"{path}, line {number}: `{column}` is {field[:40]!r}, not a number") from None


def histograms_up_to(path: Path, last_step: int) -> dict | None:
    """`histograms.npz` restricted to steps up to `last_step` (for a resume), or None."""
    h = read_histograms(path)
    if h is None:
        return None
    keep = h["steps"] <= last_step
    return {"steps": h["steps"][keep], "counts": h["counts"][keep]}


def records_up_to(run_dir: Path, last_step: int) -> dict:
    """What a resume keeps of a run's records (all read and checked before anything is written): the CSV rows up
    to `last_step` (`activations.csv`'s before it: the recorder records again at the step it starts from) and the
    histograms up to it. `RunError` (one line) for a record file that is damaged or foreign."""
    run_dir = Path(run_dir)
    return {GRADIENTS: rows_up_to(run_dir / GRADIENTS, last_step, GRADIENT_COLUMNS),
            GRADIENT_DETAILS: rows_up_to(run_dir / GRADIENT_DETAILS, last_step, DETAIL_COLUMNS),
            ACTIVATIONS: rows_up_to(run_dir / ACTIVATIONS, last_step - 1, ACTIVATION_COLUMNS),
            "histograms": histograms_up_to(run_dir / HISTOGRAMS, last_step)}
