"""A run's gradient and activation records on disk: written by `zoo train`, read by `zoo compare` and the app."""
from __future__ import annotations

import csv
import io
import os
import warnings
from itertools import islice
from pathlib import Path

import numpy as np

from .errors import RunError
from .runs import (ACTIVATIONS, GRADIENT_DETAILS, GRADIENTS, HISTOGRAMS, INPUT_GRADIENTS, MAX_RECORD_BYTES,
                   hidden_columns, open_run_file, read_history, read_run_bytes, write_text_atomic)

GRADIENT_COLUMNS = ("step", "epoch", "layer", "depth", "grad_norm", "grad_norm_clipped")
DETAIL_COLUMNS = ("step", "epoch", "layer", "depth", "grad_mean_abs", "grad_max_abs", "weight_norm", "update_ratio")
ACTIVATION_COLUMNS = ("step", "epoch", "layer", "depth", "activation", "act_mean", "act_std", "saturated", "dead")
INPUT_GRADIENT_COLUMNS = ("step", "epoch", "t", "grad_norm")
TEXT_COLUMNS = ("layer", "activation")  # every other column of a record file is a number
WHOLE_COLUMNS = ("step", "epoch", "depth", "t")
MAX_WHOLE = 2**53  # a step, epoch, depth or time step beyond this is no run's
MAX_LAYERS = 10_000  # distinct layers a record file may name (a deep ResNet has a few hundred)
MAX_CELLS = 50_000_000  # steps x layers of the table a record file is read into (400 MB of float64 per statistic)
CELLS_PER_ROW = 16  # ... and at most this many cells per row of the file, less SPARE_CELLS: a run's records fill
SPARE_CELLS = 65_536  # their table (every recorded step has every layer), so a table far larger is no run's
_CHUNK = 65_536  # rows parsed at a time by the csv module
_PIECE = 4 * 2**20  # bytes parsed at a time by NumPy


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


def _record_bytes(path: Path, missing: bytes | None = None) -> bytes | None:
    """A record file's bytes (at most MAX_RECORD_BYTES); `missing` when there is no such file; `RunError` (one line)
    when it cannot be read."""
    try:
        return read_run_bytes(path, MAX_RECORD_BYTES)
    except FileNotFoundError:
        return missing
    except OSError as e:
        raise RunError(f"{path} is unreadable ({type(e).__name__}: {str(e)[:80]})") from None


def read_input_gradients(path: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """`input_gradients.csv` (the file, or the run folder that holds it) as `(steps (n,), norms (n, T))`, NaN where
    a value is missing; None when there is no such file, `RunError` (one line) when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / INPUT_GRADIENTS
    raw = _record_bytes(path)
    if raw is None:
        return None
    columns = _RecordParser(path, "input gradient", ("step", "t", "grad_norm")).parse(raw)
    rows = len(columns["step"])
    steps, row = np.unique(columns["step"], return_inverse=True)
    length = int(columns["t"].max()) + 1 if rows else 0
    if len(steps) * length > 4 * rows + 1024:  # a damaged or foreign file, not a few missing values
        raise RunError(f"{path} is not an input gradient record: {rows} rows for {len(steps)} steps of "
                       f"{length} time steps")
    norms = np.full((len(steps), length), np.nan)
    norms[row, columns["t"]] = possible("grad_norm", columns["grad_norm"])
    return steps.astype(np.int64), norms


class _RecordParser:
    """The rows of a record file (CSV with a header) as NumPy columns, read a piece at a time.

    Memory goes with the file: each column is kept as one array (8 bytes a row; a text column as the index of
    its value among the distinct ones). `columns` must be in the header, `optional` ones may be (missing: NaN).
    A whole-number column holds whole numbers from 0 to 2**53; another numeric one numbers (empty: NaN; `nan`
    and `inf` as written); every row has as many fields as the header. A row that breaks this is refused with
    `RunError` naming the file, its line, the column and the value; with `lenient` (a view following a file as
    it grows) the row is left out instead and the first such line is kept in `problem`.

    Plain pieces of the file (no quotes, every line with the header's fields) are parsed by NumPy (`_plain`);
    anything else by the csv module, row by row where a row is wrong (`_csv`), which is the rule both follow.
    """

    def __init__(self, path: Path, kind: str, columns: tuple[str, ...], optional: tuple[str, ...] = (),
                 lenient: bool = False):
        self.path, self.required, self.optional, self.lenient = path, columns, optional, lenient
        self.kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} record"  # "a gradient record", for messages
        self.problem = ""
        self.positions: dict[str, int] | None = None  # column -> field, from the header
        self.width = 0
        self.names: dict[str, dict[str, int]] = {}  # text column -> {value: index}
        self._parts: dict[str, list[np.ndarray]] = {}
        self.lines = 0  # lines read so far
        self.dead = False  # (lenient) the file is no record: nothing more is read

    # -- reading
    def parse(self, raw: bytes) -> dict[str, np.ndarray]:
        """The whole file's columns (`RunError` for a file that is not one). Pass the bytes, not a name for them:
        they are let go before the columns are joined."""
        self.feed(raw)
        del raw
        if self.positions is None:  # an empty file
            raise RunError(f"{self.path} has no `{self.required[0]}` column; expected {', '.join(self.required)}")
        return self.columns()

    def feed(self, data: bytes) -> None:
        """Parse `data`, whole lines of the file (its header first), after those fed before."""
        if self.dead:
            return
        start = 0
        if self.positions is None:
            start = data.find(b"\n") + 1 or len(data)
            try:
                header = next(csv.reader([data[:start].decode("utf-8")]), [])
            except (csv.Error, UnicodeDecodeError) as e:
                return self._refuse_file(f"{self.path} is unreadable (line 1: {type(e).__name__}: {str(e)[:80]})")
            self.lines += 1 if start else 0
            if not self._header(header):
                return
        if b'"' in data[start:start + 1] or data.find(b'"', start) >= 0:  # quoted fields: the csv module's
            return self._csv(memoryview(data)[start:])
        while start < len(data):
            end = len(data) if start + _PIECE >= len(data) else data.rfind(b"\n", start, start + _PIECE) + 1 or len(data)
            piece = data[start:end]
            start = end
            if not self._plain(piece):
                self._csv(piece)
            if self.dead or self._too_many_layers():
                return

    def _too_many_layers(self) -> bool:
        if len(self.names.get("layer", ())) <= MAX_LAYERS:
            return False
        self._refuse_file(f"{self.path} names more than {MAX_LAYERS:,} layers; not a run's record")
        return True

    def _plain(self, piece: bytes) -> bool:
        """Parse a piece of whole lines with NumPy if every line is plain and right; False (nothing kept) if not."""
        if b"\r" in piece or b"\0" in piece or not piece.endswith(b"\n"):
            return False
        buf = np.frombuffer(piece, np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        comma = buf == 44
        if not (np.add.reduceat(comma, starts, dtype=np.int32) == self.width - 1).all():  # blank lines too
            return False
        commas = np.flatnonzero(comma).reshape(len(ends), self.width - 1)
        numeric = [(c, k) for c, k in self.positions.items() if c not in TEXT_COLUMNS]
        dtype = np.dtype([(c, np.int64 if c in WHOLE_COLUMNS else np.float64) for c, _ in numeric])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = np.loadtxt(io.BytesIO(piece), delimiter=",", usecols=[k for _, k in numeric], dtype=dtype,
                                   comments=None, quotechar=None, encoding="latin-1", ndmin=1)
        except (ValueError, OverflowError):  # loadtxt takes a subset of what int() and float() take: no more
            return False
        if len(table) != len(ends):
            return False
        parsed = {c: np.ascontiguousarray(table[c]) for c, _ in numeric}
        if any((parsed[c].min() < 0) | (parsed[c].max() > MAX_WHOLE) for c in parsed if c in WHOLE_COLUMNS):
            return False
        texts = {}
        for column in self.names:
            k = self.positions[column]
            first = starts if k == 0 else commas[:, k - 1] + 1
            length = (ends if k == self.width - 1 else commas[:, k]) - first
            width = max(int(length.max()), 1)
            if width > 64:  # long names: the csv module's
                return False
            letters = np.zeros((len(ends), width), np.uint8)
            for j in range(width):
                has = length > j
                letters[has, j] = buf[first[has] + j]
            values, seen, index = np.unique(letters.view(f"S{width}").ravel(), return_index=True, return_inverse=True)
            order = np.argsort(seen)  # in order of appearance
            try:
                texts[column] = ([bytes(values[i]).decode("utf-8") for i in order], order, index)
            except UnicodeDecodeError:
                return False
        for column, (found, order, index) in texts.items():
            names = self.names[column]
            code = np.empty(len(found), np.int64)
            code[order] = [names.setdefault(value, len(names)) for value in found]
            parsed[column] = code[index.ravel()]
        self._keep(parsed)
        self.lines += len(ends)
        return True

    def _csv(self, data) -> None:
        """Parse whole lines with the csv module, a chunk of rows at a time."""
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""))
        try:
            while True:
                before = reader.line_num
                rows = list(islice(reader, _CHUNK))
                if not rows:
                    break
                self._chunk(rows, self.lines + before + 1)
                if self._too_many_layers():
                    return
        except (csv.Error, UnicodeDecodeError) as e:
            self._refuse_file(f"{self.path} is unreadable (line {self.lines + reader.line_num + 1}: "
                              f"{type(e).__name__}: {str(e)[:80]})")
        finally:
            self.lines += reader.line_num

    def _header(self, header: list[str]) -> bool:
        missing = [c for c in self.required if c not in header]
        if missing:
            self._refuse_file(f"{self.path} has no `{missing[0]}` column; expected {', '.join(self.required)}")
            return False
        wanted = [*self.required, *(c for c in self.optional if c in header)]
        self.positions = {c: header.index(c) for c in wanted}
        self.width = len(header)
        self.names = {c: {} for c in wanted if c in TEXT_COLUMNS}
        self._parts = {c: [] for c in wanted}
        return True

    def _chunk(self, rows: list[list[str]], first_line: int) -> None:
        """Rows by columns, at C speed where every row is well formed; else row by row (`_rows`)."""
        n = len(rows)
        if not all(len(row) == self.width for row in rows):
            return self._rows(rows, first_line)
        fields = list(zip(*rows))
        parsed = {}
        try:
            for column, position in self.positions.items():
                if column in TEXT_COLUMNS:
                    continue
                values = fields[position]
                if column in WHOLE_COLUMNS:
                    array = np.fromiter(map(int, values), np.int64, n)
                    if array.min() < 0 or array.max() > MAX_WHOLE:
                        raise ValueError
                else:
                    try:
                        array = np.fromiter(map(float, values), np.float64, n)
                    except ValueError:  # empty fields (a missing value)
                        array = np.fromiter(map(_real, values), np.float64, n)
                parsed[column] = array
        except (ValueError, OverflowError):
            return self._rows(rows, first_line)
        for column, names in self.names.items():
            parsed[column] = np.fromiter([names.setdefault(v, len(names)) for v in fields[self.positions[column]]],
                                         np.int64, n)
        self._keep(parsed)

    def _rows(self, rows: list[list[str]], first_line: int) -> None:
        """Row by row: each bad row refused (or left out, `lenient`) with its line."""
        kept: dict[str, list] = {column: [] for column in self.positions}
        line = first_line
        for row in rows:
            here, line = line, line + 1 + sum(field.count("\n") for field in row)
            if not row:
                continue  # a blank line
            try:
                if len(row) != self.width:
                    raise _Bad(f"{len(row)} fields, not the {self.width} of its header")
                values = {column: _convert(column, row[position]) for column, position in self.positions.items()}
            except _Bad as e:
                self._refuse_row(here, str(e))
                continue
            for column, value in values.items():
                if column in self.names:
                    value = self.names[column].setdefault(value, len(self.names[column]))
                kept[column].append(value)
        self._keep({column: np.array(values, np.int64 if column in WHOLE_COLUMNS or column in TEXT_COLUMNS
                                     else np.float64) for column, values in kept.items()})

    def _keep(self, parsed: dict[str, np.ndarray]) -> None:
        for column, array in parsed.items():
            self._parts[column].append(array)

    def _refuse_row(self, line: int, why: str) -> None:
        message = f"{self.path}, line {line}: not {self.kind} ({why})"[:300]
        if not self.lenient:
            raise RunError(message)
        self.problem = self.problem or message

    def _refuse_file(self, message: str) -> None:
        if not self.lenient:
            raise RunError(message)
        self.problem = self.problem or message
        self.positions = self.positions or {}
        self._parts = {column: [] for column in self._parts}
        self.dead = True

    # -- results
    def columns(self) -> dict[str, np.ndarray]:
        """Every column read so far as one array (text columns: indices into `names[column]`'s order)."""
        out = {}
        for column in self._parts:
            parts = self._parts[column]
            dtype = np.float64 if column not in WHOLE_COLUMNS and column not in TEXT_COLUMNS else np.int64
            out[column] = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype)
            self._parts[column] = [out[column]]  # joined once: a view that reads again joins only what is new
        return out

    def text(self, column: str) -> list[str]:
        """The distinct values of a text column, in the order their indices count."""
        return list(self.names.get(column, {}))


class _Bad(Exception):
    """One field or row of a record file that is not what its header says."""


def _real(field: str) -> float:
    return float(field) if field else np.nan


def _convert(column: str, field: str):
    if column in TEXT_COLUMNS:
        return field
    if column in WHOLE_COLUMNS:
        try:
            value = int(field) if len(field) < 40 else None
        except ValueError:
            value = None
        if value is None or not 0 <= value <= MAX_WHOLE:
            raise _Bad(f"`{column}` is {field[:40]!r}, not a whole number from 0 to 2**53")
        return value
    try:
        return _real(field)
    except ValueError:
        raise _Bad(f"`{column}` is {field[:40]!r}, not a number") from None


def _table_layout(path: Path, steps: np.ndarray, layers: np.ndarray, depths: np.ndarray, names: list[str]):
    """Where each row of a record file goes in its (steps x layers) table: `(steps, layer names, cell)`.

    Layers are ordered by depth (the last depth a layer's rows give; ties in order of appearance). `cell` is each
    row's index in the flattened table. `RunError` (one line) for a file whose table would be more than
    `MAX_LAYERS` layers or `MAX_CELLS` cells, or far more cells than the file has rows: no run's record.
    """
    rows = len(steps)
    last = np.full(len(names), -1, np.int64)
    np.maximum.at(last, layers, np.arange(rows))
    order = np.argsort(depths[last] if rows else np.zeros(0, np.int64), kind="stable")
    column = np.empty(len(names), np.int64)
    column[order] = np.arange(len(names))
    distinct, row = np.unique(steps, return_inverse=True)
    cells = len(distinct) * len(names)
    if len(names) > MAX_LAYERS or cells > MAX_CELLS or cells > CELLS_PER_ROW * rows + SPARE_CELLS:
        raise RunError(f"{path} is not a run's record: its {rows:,} rows name {len(names):,} layers at {len(distinct):,} "
                       f"steps, a table of {cells:,} cells (a run's has about as many cells as rows; zoo reads at "
                       f"most {MAX_LAYERS:,} layers and {MAX_CELLS:,} cells)")
    return distinct.astype(np.int64), [names[k] for k in order], row * len(names) + column[layers]


# What a training can write in a numeric column: a norm, ratio or |g| is >= 0, a share of units in 0..1 (a mean of
# activations may be anything). A value outside (a damaged or hand-edited file) reads as missing (NaN).
POSSIBLE = {"act_mean": (-np.inf, np.inf), "saturated": (0.0, 1.0), "dead": (0.0, 1.0)}


def possible(column: str, values: np.ndarray) -> np.ndarray:
    """`values` of a record `column` as floats, NaN where no training could have written them."""
    low, high = POSSIBLE.get(column, (0.0, np.inf))
    values = np.array(values, float)
    values[(values < low) | (values > high)] = np.nan
    return values


def _table(cells: np.ndarray, shape: tuple[int, int], values: np.ndarray, column: str) -> np.ndarray:
    table = np.full(shape[0] * shape[1], np.nan)
    table[cells] = possible(column, values)
    return table.reshape(shape)


class RunRecords:
    """A run folder's records as arrays: `steps` (n,), `layers` (names, depth order), `grad(stat)` (n, layers)."""

    def __init__(self, run_dir: str | Path, strict_history: bool = True):
        from .runs import read_status

        self.path = Path(run_dir)
        if not self.path.is_dir():
            raise RunError(f"{self.path} is not a run folder")
        self.status = read_status(self.path)
        # well-formed series (`runs.well_formed_history`); an unreadable file raises, or (not strict) reads as none
        self.history = read_history(self.path, strict=strict_history) or {}
        self.name = self.status.model if self.status.model != "?" else self.path.name
        self._load_gradients()

    def _load_gradients(self) -> None:
        path = self.path / GRADIENTS
        if not path.exists():
            how = ("record it with RunRecorder(..., record_every=1)" if self.status.source == "RunRecorder" else
                   "train it with `zoo train` (recording is on by default)")
            raise RunError(f"{self.path} has no gradients.csv; {how}")
        parser = _RecordParser(path, "gradient", ("step", "layer", "depth", *GRADIENT_COLUMNS[4:]))
        try:
            columns = parser.parse(read_run_bytes(path, MAX_RECORD_BYTES))
        except OSError as e:
            raise RunError(f"{path} is unreadable ({e})") from None
        if not len(columns["step"]):
            raise RunError(f"{path} has no records yet (the run ended before its first steps were written)")
        steps, self.layers, cells = _table_layout(path, columns["step"], columns["layer"], columns["depth"],
                                                  parser.text("layer"))
        self.steps = steps
        shape = (len(steps), len(self.layers))
        self._stats: dict[str, np.ndarray] = {stat: _table(cells, shape, columns[stat], stat) for stat in GRADIENT_COLUMNS[4:]}

    def grad(self, stat: str = "grad_norm") -> np.ndarray:
        return self._stats[stat]

    @property
    def hidden(self) -> list[int]:
        """Column indices of the hidden layers (everything but the output layers)."""
        return hidden_columns(self.layers, self.status.output_layers)

    @property
    def weighted(self) -> list[int]:
        """The hidden layers whose gradients compare along the depth: all but normalisation layers (their scale
        and shift get gradients of another size than a Dense layer's kernel: a Dense/BatchNorm stack zig-zags)."""
        return [j for j in self.hidden if "normalization" not in self.layers[j].rsplit("/", 1)[-1]] or self.hidden


class GradientTail:
    """`gradients.csv` as it grows (the app follows a running training): only new complete lines are parsed.

    `read()` returns `(steps (n,), layers, norms (n, layers), clipped (n, layers))`, NaN where a value is missing
    (and everywhere in `clipped` for a run without clipping). A file that was rewritten rather than grown
    (a resumed run cut back to its checkpoint) is read again from its start. It never raises: a line that is
    not a gradient record is left out, a file that is not one reads as no records, and `problem` says so in
    one line naming the file and the line ('' while all is well).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._start()

    def _start(self) -> None:
        self._offset, self._seen = 0, b""  # how far it has read, and the last bytes before that
        self._parser = _RecordParser(self.path, "gradient", ("step", "layer", "depth", "grad_norm"),
                                     optional=("grad_norm_clipped",), lenient=True)
        self._result = (np.zeros(0, np.int64), [], np.zeros((0, 0)), np.zeros((0, 0)))
        self._layout_problem = ""

    @property
    def problem(self) -> str:
        return self._layout_problem or self._parser.problem

    def read(self) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        try:
            with open_run_file(self.path, MAX_RECORD_BYTES) as f:
                f.seek(max(self._offset - len(self._seen), 0))
                if f.read(len(self._seen)) != self._seen:  # rewritten, not grown (a resume cut it back): start over
                    self._start()
                f.seek(self._offset)
                chunk = f.read(max(min(os.fstat(f.fileno()).st_size - self._offset, MAX_RECORD_BYTES), 0))
        except (OSError, RunError):  # not there yet, or not a run's file (a FIFO, a device): nothing to show
            chunk = b""
        end = chunk.rfind(b"\n") + 1
        if not end or self._parser.dead:
            return self._result
        self._offset += end
        self._seen = (self._seen + chunk[:end])[-64:]
        self._parser.feed(chunk[:end])
        if self._parser.dead:
            self._result = (np.zeros(0, np.int64), [], np.zeros((0, 0)), np.zeros((0, 0)))
            return self._result
        columns = self._parser.columns()
        if not columns or not len(columns["step"]):
            return self._result
        try:
            steps, layers, cells = _table_layout(self.path, columns["step"], columns["layer"], columns["depth"],
                                                 self._parser.text("layer"))
        except RunError as e:  # a file that is no run's: nothing to show, and why
            self._layout_problem = str(e)
            self._result = (np.zeros(0, np.int64), [], np.zeros((0, 0)), np.zeros((0, 0)))
            return self._result
        self._layout_problem = ""
        shape = (len(steps), len(layers))
        clipped = (_table(cells, shape, columns["grad_norm_clipped"], "grad_norm_clipped") if "grad_norm_clipped" in columns
                   else np.full(shape, np.nan))
        self._result = (steps, layers, _table(cells, shape, columns["grad_norm"], "grad_norm"), clipped)
        return self._result


def read_activations(path: str | Path) -> dict:
    """`activations.csv` as arrays: steps (n,), layers, activation per layer, act_mean/act_std/saturated/dead (n, layers).

    No file reads as no records; `RunError` (one line naming the file and, for a bad row, its line) for a file
    that is not an activation record."""
    path = Path(path)
    raw = _record_bytes(path, missing=",".join(ACTIVATION_COLUMNS).encode())
    parser = _RecordParser(path, "activation", ("step", "layer", "depth", "activation"), optional=ACTIVATION_COLUMNS[5:])
    columns = parser.parse(raw)
    names = parser.text("layer")
    steps, layers, cells = _table_layout(path, columns["step"], columns["layer"], columns["depth"], names)
    kinds = parser.text("activation")
    last = np.full(len(names), -1, np.int64)
    np.maximum.at(last, columns["layer"], np.arange(len(columns["layer"])))
    kind_of = {names[k]: kinds[columns["activation"][last[k]]] for k in range(len(names))}
    out = {"steps": steps, "layers": layers, "activation": [kind_of[name] for name in layers]}
    shape = (len(steps), len(layers))
    for column in ACTIVATION_COLUMNS[5:]:
        out[column] = _table(cells, shape, columns[column], column) if column in columns else np.full(shape, np.nan)
    return out


def read_details(path: str | Path) -> dict | None:
    """`gradient_details.csv` as arrays: steps (n,), layers (depth order), and each of grad_mean_abs, grad_max_abs,
    weight_norm, update_ratio as (n, layers); None when there is no such file; `RunError` (one line) for a file
    that is no detail record."""
    path = Path(path)
    raw = _record_bytes(path)
    if raw is None:
        return None
    parser = _RecordParser(path, "gradient detail", ("step", "layer", "depth", *DETAIL_COLUMNS[4:]))
    columns = parser.parse(raw)
    steps, layers, cells = _table_layout(path, columns["step"], columns["layer"], columns["depth"], parser.text("layer"))
    shape = (len(steps), len(layers))
    return {"steps": steps, "layers": layers, **{c: _table(cells, shape, columns[c], c) for c in DETAIL_COLUMNS[4:]}}


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


def _check_numbers(path: Path, number: int, columns: tuple[str, ...], fields: list[str]) -> None:
    """`RunError` naming the line unless every field but the text ones is a number, as the readers take them
    (whole from 0 to 2**53 where it must be; another may be empty, inf or nan: a diverging step is recorded as
    it was)."""
    for column, field in zip(columns, fields):
        try:
            _convert(column, field)
        except _Bad as e:
            raise RunError(f"{path}, line {number}: {e}") from None


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
