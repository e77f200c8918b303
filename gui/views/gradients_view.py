"""Gradients: per-layer gradient norms (live), the norm-by-depth profile, a layer x step heatmap,
gradient histograms over time, saturated or dead units, and (for sequence models) the gradient reaching each input
time step; runs side by side with a shared y axis.

One row of plots per tab, so that each stays readable in a 640x420 window. The y axes are computed,
not linked: every plot of a tab gets the union of all runs' finite data (in whatever order the runs were
opened), set again on every data update; each run's x axis covers its own steps (a run that diverged at
step 5 beside one that trained for 600 would otherwise be 3 pixels wide). Panning or zooming one plot
moves the others' y (and x, where their runs cover about the same steps); the "A" button of any plot
fits all of them again. Smoothed, the raw norms are drawn faint behind the smoothed lines (as TensorBoard
does). A diverged run is drawn up to its last finite norms, ringed at their true (raw) values, on the raw lines
(faint when smoothed), with a marker line and crosses at the top edge where they became inf/NaN: in a band kept
free above the data, so that they never hide a ring. Legends, the layers' colour key and colour bars sit right
of the row (a colour bar as tall as the data); more runs than fit side by side scroll sideways. Notes sit below
in boxes of a few lines that scroll; the status shows every run's one-line headline first. A line of gradients.csv
that GradientTail left out is a one-line note at the foot of its run's plot.

The Doctor panel (doctor_panel.py) sits beside the plots (folded away in a narrow view; the Doctor button brings it
back): what `zoo.doctor` finds in each run shown, live; a finding selected stands out on the Norms (its layers'
curves, its steps shaded); Try the fix trains the fixed spec in the training process and shows both runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QTextDocument
from PySide6.QtWidgets import (QApplication, QComboBox, QDoubleSpinBox, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMessageBox, QProxyStyle, QPushButton, QScrollArea, QSizePolicy, QSlider, QSplitter,
                               QStackedWidget, QStyle, QStyleFactory, QTabWidget, QVBoxLayout, QWidget)

from zoo.activations import SIGMOID_SATURATED, TANH_SATURATED
from zoo.demos import DEMOS
from zoo.errors import ZooError
from zoo.records import GradientTail, read_activations, read_histograms, read_input_gradients, smooth
from zoo.runs import (ACTIVATIONS, GRADIENTS, HISTOGRAMS, INPUT_GRADIENTS, distinct_names, hidden_columns, list_runs,
                      read_run, read_run_spec)

from ..history_plots import LegendSample
from ..plotting import BoxLabel, DepthKey, TextBox, depth_colors, readable_axes, save_figure
from ..training_process import TrainingOptions, TrainingProcess
from .doctor_panel import PANEL_WIDTH, SEVERITY_COLOURS, DoctorPanel, plan_fix, remove_plan

LIVE_REFRESH_MS = 1000
# The experiments of zoo.demos.DEMOS, a button each: (its label, what it shows). Short labels: five buttons and Save
# figure fit a 640 px window; the tooltip names the models.
PRESETS = {"vanishing": ("Vanishing", "Vanishing gradients"), "exploding": ("Exploding", "Exploding gradients"),
           "init": ("Initialisation", "Initialisation: one 30-layer ReLU net, four initialisations"),
           "fixes": ("Fixes", "Fixes for vanishing gradients: batch normalisation, ReLU, residual connections"),
           "rnn": ("RNN", "Through time: a simple RNN and an LSTM on the adding problem")}
TABS = (("norms", "Norms"), ("heatmap", "Heatmap"), ("histograms", "Histograms"), ("units", "Units"),
        ("profile", "Profile"), ("time", "Through time"))
COLOUR_SCALES = (("auto", "auto"), ("shared", "shared"), ("each run's own", "own"))
OWN_SCALE_DECADES = 4.0  # the runs' largest norms further apart than this: each heatmap gets its own colour scale
MAX_CHOICE_WIDTH = 280  # px: a choice beside the tabs no wider (a long layer name is cut; its list shows it whole)
TAB_SPACE_SAVED = 8  # px: each tab this much narrower than the style's (six tabs and their controls fit 640 px)
SHORT_VIEW = 560  # px: a view shorter than this gives its texts fewer lines (a 640x420 window)
STATUS_LINES = (2, 5)  # (short view, otherwise): at least; more where the runs' headlines need them
MAX_HEADLINE_LINES = 5  # a short view gives the status this many lines at most, to show one headline per run
MIN_PANEL_WIDTH = 170  # px: a run's plot (axis included) no narrower; more runs than fit: the row scrolls
RAW_ALPHA = 70  # of 255: the raw norms drawn faint behind the smoothed ones
KEY_LIST_MAX = 6  # layers: at most this many are each named in the colour key, else a depth-coloured column
UNITS_NOTE_LINES = (2, 6)
CROSS_BAND_PX = 26  # px kept free above the highest finite norm when a run diverged: the inf/NaN crosses' band
CROSS_PX = 9  # px: the crosses' centres sit this far below the top edge (clear of the rings below the band)
UNLAID_HEIGHT = 250  # px: a plot's height assumed before it was ever laid out (a figure saved unseen)
FINISHED = ("completed", "diverged")  # a preset run that ran to its end (the exploding one is meant to diverge)
DIVERGED_COLOUR = "#d62728"
FIRST_COLOUR, SHOWN_COLOUR = "#8c8c8c", "#1f5fa8"  # Through time: the record at initialisation, the slider's record
OTHERS_COLOUR = (31, 95, 168, 90)  # Through time: the other epochs' records, faint behind
VANISHED_THROUGH_TIME = 1e-2  # ||dL/dx_0|| below this share of ||dL/dx_T-1||: "vanishing through time"
PADDING = 0.04  # of a shared range, on each side
CLIPPING_ACTIVE = 1e-3  # after/before below 1 - this: the step was clipped
TITLE_MIN_WIDTH = 120  # px: a plot title longer than the plot's share of the page wraps, down to this width
HOLLOW = pg.mkBrush(0, 0, 0, 0)
DETAIL_EVERY = 100  # GradientRecorder's detail_every (zoo train and RunRecorder): histograms at step 1, 100, 200...
TIME_NOTE = ("<b>Through time</b>: ||dL/dx<sub>t</sub>||, how strongly the loss responds to the input at time step t "
             "(on a fixed probe batch), at initialisation and at each epoch's end. Small at the early steps: the "
             "gradient vanishes on its way back through time, and what the first inputs say is not learned.")
DOCTOR_AUTO_WIDTH = 900  # px: a view at least this wide opens the Doctor panel beside the plots (unless the user chose)
DOCTOR_SHARE = 0.28  # of the view's width, for the Doctor panel (within PANEL_WIDTH)
HIGHLIGHT_WIDTH = 4.0  # px: a selected finding's layers' curves
FADED_ALPHA = 45  # of 255: the other layers' curves while a finding is selected
EVIDENCE_BRUSH = (214, 39, 40, 38)  # the shaded step range of a selected finding
EVIDENCE_PEN = (214, 39, 40, 200)
EXACT_ZEROS = ("Bottom bin, <i>exact 0</i>: |g| = 0 exactly (or below 10<sup>-11.5</sup>): weights whose input is always 0 "
               "(blank pixels, dead ReLUs below) or whose unit is dead.")


# -- records -------------------------------------------------------------------------------------
@dataclass
class RunData:
    path: Path
    name: str = ""
    state: str = ""
    message: str = ""
    output_layers: list = field(default_factory=lambda: ["output"])
    tail: GradientTail = None
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    layers: list = field(default_factory=list)
    norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    clipped: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    activations: dict = field(default_factory=dict)
    histograms: dict | None = None
    time_steps: np.ndarray | None = None  # input_gradients.csv: the recorded steps (0: initialisation), or None
    time_norms: np.ndarray | None = None  # ||d loss / d x_t|| (records, time steps)
    time_problem: str = ""  # why the file cannot be read
    _time_stamp: tuple | None = None  # (mtime, size) of the file last read: re-read only when it changed
    recorded_layers: int = 0  # how many layers its records name (more than MAX_DRAWN_LAYERS: a spread is drawn)

    def load(self) -> None:
        info = read_run(self.path)
        self.name, self.state, self.message = info.model, info.state, info.message or info.problem
        self.output_layers = info.output_layers
        self.tail = self.tail or GradientTail(self.path / GRADIENTS)
        self.steps, layers, norms, clipped = self.tail.read()
        self.recorded_layers = len(layers)
        keep = _spread(len(layers))
        self.layers, self.norms, self.clipped = [layers[i] for i in keep], norms[:, keep], clipped[:, keep]
        try:
            self.activations = _thinned(read_activations(self.path / ACTIVATIONS), ("layers", "activation"))
            self.histograms = _thinned(read_histograms(self.path / HISTOGRAMS), ("layers",))
        except ZooError as e:  # a broken file shows as a message; the rest of the run still shows
            self.message = str(e)
        self._load_time()

    def _load_time(self) -> None:
        """input_gradients.csv (a sequence model's runs), read again only when it changed (every second while live)."""
        try:
            stat = (self.path / INPUT_GRADIENTS).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp == self._time_stamp and (stamp is not None or self.time_steps is None):
            return
        self._time_stamp = stamp
        try:
            found = read_input_gradients(self.path) if stamp is not None else None
            self.time_problem = ""
        except ZooError as e:
            found, self.time_problem = None, str(e)
        self.time_steps, self.time_norms = found if found is not None else (None, None)

    def time_record(self, step: int) -> int | None:
        """The index of the last input-gradient record at or before `step` (the first one before it), or None."""
        if self.time_steps is None or not len(self.time_steps):
            return None
        return max(int(np.searchsorted(self.time_steps, step, side="right")) - 1, 0)

    @property
    def clipping(self) -> bool:
        """Whether the run clipped its gradients (it records the norms after clipping too)."""
        return bool(self.clipped.size and np.isfinite(self.clipped).any())

    @property
    def first_bad(self) -> int | None:
        """Index of the first step with a non-finite gradient norm, or None."""
        bad = np.flatnonzero(~np.isfinite(self.norms).all(axis=1)) if self.norms.size else []
        return int(bad[0]) if len(bad) else None

    @property
    def nonfinite_step(self) -> int | None:
        """The step where the gradient norms became inf or NaN, or None."""
        first = self.first_bad
        return None if first is None else int(self.steps[first])

    @property
    def diverged(self) -> bool:
        return self.state == "diverged" or self.first_bad is not None

    @property
    def nonfinite_steps(self) -> np.ndarray:
        """The steps with an inf or NaN gradient norm."""
        if not self.norms.size:
            return np.zeros(0, np.int64)
        return self.steps[~np.isfinite(self.norms).all(axis=1)]

    def last_finite_points(self, table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each layer's last finite, positive norm before the divergence: (steps, norms). `table`: the norms as
        drawn (smoothed), by default the raw ones."""
        table = self.norms if table is None else table
        rows = table[:self.first_bad] if self.first_bad is not None else table
        xs, ys = [], []
        for depth in range(rows.shape[1] if rows.ndim == 2 else 0):
            ok = np.flatnonzero(np.isfinite(rows[:, depth]) & (rows[:, depth] > 0))
            if len(ok):
                xs.append(float(self.steps[ok[-1]]))
                ys.append(float(rows[ok[-1], depth]))
        return np.array(xs), np.array(ys)

    def step_spacing(self) -> float:
        return float(np.min(np.diff(self.steps))) if len(self.steps) > 1 else 1.0


def _positive_log_range(arrays) -> tuple[float, float] | None:
    """log10 of the smallest and largest finite positive value among the arrays, or None."""
    lo, hi = np.inf, -np.inf
    for values in arrays:
        values = np.asarray(values, float)
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    return (float(np.log10(lo)), float(np.log10(hi))) if np.isfinite(lo) else None


def _union(spans) -> tuple[float, float] | None:
    spans = [s for s in spans if s is not None]
    if not spans:
        return None
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)


def _nonfinite_kinds(values: np.ndarray) -> str:
    """"inf", "NaN" or "inf, then NaN", in the order they first appear in the rows."""
    kinds = []
    for row in values:
        for kind, present in (("inf", np.isinf(row).any()), ("NaN", np.isnan(row).any())):
            if present and kind not in kinds:
                kinds.append(kind)
    return ", then ".join(kinds) or "NaN"


MAX_DRAWN_LAYERS = 256  # beyond this a run's layers are drawn as an even spread (a deep ResNet has about 110)


def _spread(count: int) -> np.ndarray:
    """The indices of the layers drawn: all, or MAX_DRAWN_LAYERS spread evenly from the first to the last (a
    curve, a legend entry and a heatmap row each: thousands would stall the window for minutes)."""
    if count <= MAX_DRAWN_LAYERS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_DRAWN_LAYERS).round().astype(int))


def _thinned(record: dict | None, names: tuple) -> dict | None:
    """A per-layer record (activations, histograms) with the layers `_spread` keeps."""
    if not record or len(record.get("layers", [])) <= MAX_DRAWN_LAYERS:
        return record
    keep = _spread(len(record["layers"]))
    out = dict(record)
    for key in names:
        out[key] = [record[key][i] for i in keep]
    for key, value in record.items():
        if key not in names and isinstance(value, np.ndarray) and value.ndim >= 2 and (
                value.shape[1] == len(record["layers"])):
            out[key] = value[:, keep]
    return out


def _describe(run: RunData) -> tuple[str, str]:
    """What this run's gradients did (the story the pair is meant to show): (its headline, short enough for one
    line of a 640 px window; the details, or "")."""
    name = f"<b>{run.name}</b>"
    state = "" if run.state in FINISHED else f" ({run.state})"
    details = []
    if not len(run.steps):
        return f"{name}: {run.state} · no gradient records yet", ""
    first_bad = run.first_bad
    hidden = hidden_columns(run.layers, run.output_layers)
    headline = f"{name}: {run.state}"
    if run.diverged:
        good = run.norms[:first_bad] if first_bad is not None else run.norms
        finite = np.where(np.isfinite(good) & (good > 0), good, np.nan)
        peak = np.nanmax(finite) if np.isfinite(finite).any() else None
        row_peaks = np.where(np.isfinite(finite), finite, -np.inf).max(axis=1) if finite.size else finite
        peak_step = int(run.steps[int(np.argmax(row_peaks))]) if peak is not None else None
        if first_bad is None:
            headline = f"{name}: diverged: the loss became NaN/inf" + (
                f" (gradient norms up to {peak:.3g} at step {peak_step})" if peak is not None else "")
        else:
            after = run.norms[first_bad:]
            kinds = _nonfinite_kinds(after)
            nan_rows = np.flatnonzero(np.isnan(after).any(axis=1))
            if kinds == "inf, then NaN" and len(nan_rows):
                kinds = f"inf, NaN from step {int(run.steps[first_bad + nan_rows[0]])}"
            if peak is None:
                headline = f"{name}: diverged at step {run.nonfinite_step}: gradient norms {kinds} from the start"
            else:
                headline = (f"{name}: diverged at step {run.nonfinite_step}: norms reached {peak:.3g} "
                            f"(step {peak_step}), then {kinds}")
    elif run.clipping:
        ok = np.isfinite(run.norms).all(axis=1) & np.isfinite(run.clipped).all(axis=1)
        before = np.sqrt(np.sum(run.norms[ok] ** 2, axis=1))
        after = np.sqrt(np.sum(run.clipped[ok] ** 2, axis=1))
        active = after < before * (1 - CLIPPING_ACTIVE)
        if active.any():
            factor = before[active] / np.maximum(after[active], 1e-300)
            headline = f"{name}{state}: clipping was active at {int(active.sum())} of {int(ok.sum())} steps " \
                       f"({active.mean():.0%})"
            details.append(f"{name}: clipping cut the global gradient norm {np.median(factor):.3g}x (median; up to "
                           f"{factor.max():.3g}x), to {np.median(after[active]):.3g}")
        else:
            headline = f"{name}{state}: clipping never triggered (global gradient norm at most {before.max():.3g})"
    elif len(hidden) >= 2 and np.isfinite(run.norms[0, list(_ends_of_a_kind(run.layers, hidden))]).all():
        ends = _ends_of_a_kind(run.layers, hidden)
        first, last = run.norms[0, ends[0]], run.norms[0, ends[1]]
        gradient = "first hidden layer's gradient"
        if first > 0 and last / first >= 10:
            headline = f"{name}{state}: vanishing: {gradient} {last / first:.3g}x smaller than the last's"
            story = "it vanishes on its way back to the input"
        elif last > 0 and first / last >= 10:
            headline = f"{name}{state}: growing: {gradient} {first / last:.3g}x larger than the last's"
            story = "it grows on its way back to the input"
        elif first > 0 and last > 0:
            headline = f"{name}{state}: no vanishing: {gradient} within {max(first / last, last / first):.3g}x " \
                       "of the last's"
            story = "it keeps its size on its way back to the input"
        elif last > 0:  # the first is exactly 0: smaller than float32 holds (or the layer's input is all 0)
            zeros = int(np.sum(run.norms[0, hidden] == 0))
            headline = f"{name}{state}: vanishing: {zeros} of {len(hidden)} hidden layers' gradients exactly 0 " \
                       f"(the first's too), the last's {last:.3g}"
            story = "it vanishes to exactly 0 on its way back to the input"
        elif first == 0 and last == 0 and not np.any(run.norms[0, hidden]):
            headline = f"{name}{state}: no gradient: every hidden layer's is exactly 0"
            story = "nothing flows back into the hidden layers (their outputs, or the weights after them, are all 0)"
        else:
            story = ""
        if story:
            details.append(f"{name}: at step {int(run.steps[0])} ({run.layers[ends[0]]} vs "
                           f"{run.layers[ends[1]]}): {story}")
    if run.recorded_layers > len(run.layers):
        details.append(f"{name}: {run.recorded_layers:,} layers recorded; {len(run.layers)} drawn, evenly spread "
                       "from the first to the last")
    through_time = _time_story(run)
    if through_time:
        if headline == f"{name}: {run.state}":  # nothing to say by depth (one recurrent layer): the story is in time
            headline = f"{name}{state}: {through_time}"
        else:
            details.append(f"{name}: {through_time}")
    if run.message and (run.diverged or run.state in ("failed", "broken")):
        details.append(f"{name}: <span style='color:{DIVERGED_COLOUR}'>{run.message}</span>")
    return headline, "<br>".join(details)


def _layer_kind(name: str) -> str:
    """A layer's kind by its name: "hidden" of hidden_3 and block_2/hidden_1, "batch_normalization" of
    batch_normalization_10."""
    return re.sub(r"_\d+$", "", name.rsplit("/", 1)[-1])


def _ends_of_a_kind(layers: list[str], hidden: list[int]) -> tuple[int, int]:
    """The first hidden layer and the last hidden layer of its kind: the layers whose gradients the headline
    compares (a Dense kernel's norm against a Dense kernel's, not against a BatchNormalization's scale and shift)."""
    kind = _layer_kind(layers[hidden[0]])
    same = [i for i in hidden if _layer_kind(layers[i]) == kind]
    return hidden[0], same[-1] if len(same) > 1 else hidden[-1]


def _time_ratio(norms: np.ndarray) -> float | None:
    """||dL/dx_0|| / ||dL/dx_T-1|| of one record (how much of the gradient reaches the first time step), or None."""
    if len(norms) < 2:
        return None
    first, last = float(norms[0]), float(norms[-1])
    return first / last if np.isfinite(first) and np.isfinite(last) and last > 0 else None


def _time_story(run: RunData) -> str:
    """What reached the first input time step, at initialisation and at the latest record: "" without records."""
    if run.time_steps is None or not len(run.time_steps) or run.time_norms.shape[1] < 2:
        return ""
    last_t = run.time_norms.shape[1] - 1
    ratios = [(int(run.time_steps[i]), _time_ratio(run.time_norms[i])) for i in sorted({0, len(run.time_steps) - 1})]
    parts = [f"{ratio:.2g} at {'initialisation' if step == 0 else f'step {step}'}" for step, ratio in ratios
             if ratio is not None]
    if not parts:
        return ""
    latest = ratios[-1][1]
    verdict = "vanishing through time: " if latest is not None and latest < VANISHED_THROUGH_TIME else ""
    return f"{verdict}||dL/dx<sub>0</sub>|| / ||dL/dx<sub>{last_t}</sub>|| = {', '.join(parts)}"


def _time_note(runs: list[RunData]) -> str:
    """Below the Through time plots: what they show, and per run what reached the first time step (or why none)."""
    lines, without = [TIME_NOTE], []
    for run in runs:
        if run.time_problem:
            lines.append(f"<b>{run.name}</b>: <span style='color:{DIVERGED_COLOUR}'>{run.time_problem}</span>")
        elif run.time_steps is None:
            without.append(run.name)
        elif _time_story(run):
            lines.append(f"<b>{run.name}</b>: {_time_story(run)}.")
    if without:
        lines.append(f"<b>{_listed(without)}</b>: no {INPUT_GRADIENTS} (zoo train records it for sequence inputs "
                     "only).")
    return "<br>".join(lines)


def _units_note(runs: list[RunData]) -> str:
    """What the Units tab measures, and why a 0% there is a finding, not missing data."""
    low, high = SIGMOID_SATURATED
    lines = [f"<b>Saturated</b>: a sigmoid output below {low:g} or above {high:g} (tanh: |a| &gt; {TANH_SATURATED:g}), "
             "where the derivative is nearly 0; <b>dead</b>: a ReLU unit that outputs 0 for every example. "
             "Measured on a fixed probe batch at the start and after each epoch."]
    nothing: dict[str, list[str]] = {}
    for run in runs:
        acts = run.activations
        kinds = acts.get("activation", [])
        for kind, label, derivative in (("sigmoid", "σ′ = σ(1−σ) ≤ 0.25", "at most 0.25"),
                                        ("tanh", "tanh′ ≤ 1", "at most 1")):
            columns = [d for d, k in enumerate(kinds) if k == kind]
            if not columns:
                continue
            values = acts["saturated"][:, columns]
            if np.isfinite(values).any() and np.nanmax(values) == 0:
                layers = (f"anyway: {label}, so each of its {len(columns)} {kind} layers multiplies it"
                          if len(columns) > 1 else f"all the same: {label}, so its one {kind} layer multiplies it")
                lines.append(f"<b>{run.name}</b>: 0% saturated is a measurement: its {kind} units sit in their "
                             f"linear range (outputs near {'0.5' if kind == 'sigmoid' else '0'}). The gradient "
                             f"{'vanishes' if len(columns) > 1 else 'shrinks'} {layers} by {derivative} "
                             "(times the weights).")
        others = sorted({k for k in kinds if k not in ("sigmoid", "tanh", "relu")})
        if others and len(others) == len(set(kinds)):
            nothing.setdefault(", ".join(others), []).append(run.name)
        dead = [d for d, k in enumerate(kinds) if k == "relu"]
        if dead and np.isfinite(acts["dead"][:, dead]).any():
            worst = float(np.nanmax(acts["dead"][:, dead]))
            lines.append(f"<b>{run.name}</b>: up to {worst:.0%} of a layer's ReLU units dead; their gradient is exactly 0.")
        if run.diverged and "act_mean" in acts and np.isnan(acts["act_mean"]).any():
            lines.append(f"<b>{run.name}</b>: after it diverged its activations are NaN (not drawn).")
    for kinds, names in nothing.items():
        lines.append(f"<b>{' and '.join(names)}</b>: {kinds} units neither saturate nor die (their slope is never 0): "
                     "nothing to count.")
    return "<br>".join(lines)


# -- reusing the last preset runs -------------------------------------------------------------------
def _overrides(options: TrainingOptions) -> dict:
    """The dotted-key overrides `zoo train` applies for these options (as `zoo.cli.cmd_train` does)."""
    flags = {"dataset": options.dataset, "training.epochs": options.epochs, "training.batch_size": options.batch_size,
             "optimizer.learning_rate": options.learning_rate, "training.seed": options.seed,
             "optimizer.name": options.optimizer, "optimizer.global_clipnorm": options.clipnorm}
    return {key: value for key, value in flags.items() if value is not None}


def _comparable(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key != "description"}


def last_set(key: str, **options) -> list[Path] | None:
    """The newest finished runs of the preset's models trained with exactly these settings (the same resolved
    spec, so a spec edited since does not count), in the preset's order; None unless every model has one."""
    from zoo.catalogue import load_spec

    wanted = {}
    for name in DEMOS[key]:
        try:
            spec = load_spec(name)
            changes = _overrides(TrainingOptions(name, **options))
            wanted[name] = _comparable((spec.with_overrides(**changes) if changes else spec).to_dict())
        except (ZooError, TypeError):
            return None
    found: dict[str, Path] = {}
    for info in list_runs():  # newest first
        if info.model in wanted and info.model not in found and info.state in FINISHED:
            spec = read_run_spec(info.path)
            if spec is not None and _comparable(spec) == wanted[info.model]:
                found[info.model] = info.path
    return [found[name] for name in DEMOS[key]] if len(found) == len(wanted) else None


def _set_word(key: str) -> str:
    """What a preset's runs are called: "pair" (two models), "set" (more)."""
    return "pair" if len(DEMOS[key]) == 2 else "set"


def _listed(names) -> str:
    """"a and b", "a, b, c and d"."""
    names = list(names)
    return " and ".join(names) if len(names) <= 2 else f"{', '.join(names[:-1])} and {names[-1]}"


def _ask_reuse(parent, text: str) -> str | None:
    """"show" (the last runs of the preset), "train" (new ones) or None (cancel)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Gradients", text, parent=parent)
    show = box.addButton("Show the last runs", QMessageBox.ButtonRole.AcceptRole)
    train = box.addButton("Train new runs", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(show)
    box.exec()
    clicked = box.clickedButton()
    return "show" if clicked is show else "train" if clicked is train else None


# -- plot pieces ---------------------------------------------------------------------------------
def _faint(colour) -> QColor:
    """A depth colour, semi-transparent: the raw norms behind the smoothed ones."""
    faint = QColor(colour)
    faint.setAlpha(RAW_ALPHA)
    return faint


def _sample(pen=None, **symbol) -> pg.PlotDataItem:
    """A legend sample (not drawn in any plot; one point, so that its symbol's pen and brush reach the legend)."""
    return pg.PlotDataItem([0.0], [0.0], pen=pen, **symbol)


def _set_title(plot: pg.PlotItem, text: str, width: float = TITLE_MIN_WIDTH) -> None:
    """A small title that wraps at `width` rather than forcing its plot (and the window) wider."""
    label = plot.titleLabel
    if getattr(label, "_wrapped", None) == (text, round(width)) and label.isVisible():
        return  # unchanged: no relayout (the view redraws every second while a run trains)
    label._wrapped = (text, round(width))
    plot.setTitle(text, size="9pt")
    label.item.setTextWidth(-1)
    if label.item.boundingRect().width() > width:
        label.item.setTextWidth(max(width, TITLE_MIN_WIDTH))
        option = label.item.document().defaultTextOption()
        option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        label.item.document().setDefaultTextOption(option)
    label.resizeEvent(None)


def _align_titles(plots) -> None:
    """Every title row of a row of plots as tall as the tallest title: their data areas line up. And every plot as
    wide as the others (a long, wrapped title would make its plot wider than its neighbours)."""
    height = max((max(20.0, p.titleLabel.item.boundingRect().height()) for p in plots), default=20.0)
    for plot in plots:  # pyqtgraph's setTitle fixes the row at 30 px each time: set again
        if plot.layout.rowMaximumHeight(0) != height or plot.layout.rowMinimumHeight(0) != height:
            plot.titleLabel.setMaximumHeight(height)
            plot.layout.setRowFixedHeight(0, height)
    width = max((p.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize).width() for p in plots), default=0.0)
    for plot in plots:
        if abs(plot.preferredWidth() - width) > 0.5:
            plot.setPreferredWidth(width)


def _divergence_line(labelled: bool = False) -> pg.InfiniteLine:
    """The dashed red line at the step a run's gradient norms became inf or NaN; on the Norms it says so in the
    crosses' band (`_label_in_band`), elsewhere a legend entry or the crosses do."""
    pen = pg.mkPen(DIVERGED_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
    options = {"label": "", "labelOpts": {"position": 0.95, "color": DIVERGED_COLOUR, "anchors": [(1, 0.5)] * 2}}
    line = pg.InfiniteLine(angle=90, movable=False, pen=pen, **(options if labelled else {}))
    line.hide()
    return line


def _place_divergence(line: pg.InfiniteLine, run: RunData) -> None:
    """Show the marker line at the step the run's gradient norms became non-finite (hide it if they never did)."""
    step = run.nonfinite_step
    if step is None:
        line.hide()
        return
    line.show()  # a hidden label does not update its text
    line.setValue(step)
    if getattr(line, "label", None) is not None:
        line.label.setFormat(f"inf/NaN from step {step}")


def _label_in_band(line: pg.InfiniteLine, box: pg.ViewBox, height: float) -> None:
    """The line's label in the band at the top edge, above all the data: left of the line (the crosses are at and
    right of it), unless the plot's left edge would cut it off."""
    if getattr(line, "label", None) is None or not line.isVisible():
        return
    (x0, x1), _ = box.viewRange()
    left = (line.value() - x0) / max(x1 - x0, 1e-12) * box.width()
    gap = "\u2002"  # an en space between the text and the line (and the cross on it)
    text = f"inf/NaN from step {line.value():g}"
    line.label.setFormat(text + gap)
    width = line.label.boundingRect().width()
    if left <= width + 4 and box.width() - left <= width + 4:  # a narrow plot: the short text, where it fits
        text = "inf/NaN"
        line.label.setFormat(text + gap)
    side = 1 if left > line.label.boundingRect().width() + 4 else 0
    line.label.setFormat(text + gap if side else gap + text)
    line.label.anchors = [(side, 0.5)] * 2
    line.label.setPosition(1 - CROSS_PX / height)
    line.label.updatePosition()


class CompactTabStyle(QProxyStyle):
    """The app's style, with tabs a little narrower (less space either side of their titles)."""

    def __init__(self):
        super().__init__(QStyleFactory.create(QApplication.style().name()))

    def pixelMetric(self, metric, option=None, widget=None):
        value = super().pixelMetric(metric, option, widget)
        return max(value - TAB_SPACE_SAVED, 8) if metric == QStyle.PixelMetric.PM_TabBarTabHSpace else value


class FittingComboBox(QComboBox):
    """A combo box as wide as its entries now (QComboBox keeps the minimum size of the longest entries it ever had:
    runs with long layer names shown before), up to MAX_CHOICE_WIDTH (the tabs beside it keep some room); its list
    shows every entry whole."""

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(min(hint.width(), MAX_CHOICE_WIDTH))
        return hint

    def minimumSizeHint(self):
        return self.sizeHint()

    def showPopup(self) -> None:
        self.view().setMinimumWidth(self.view().sizeHintForColumn(0) + 24)
        super().showPopup()


class GradientsView(QWidget):
    """Shows one or more runs' gradient records; follows running ones; trains the textbook presets (DEMOS)."""

    needs_tensorflow = False
    run_finished = Signal(object)

    def __init__(self, parent=None, ask_reuse=None):
        super().__init__(parent)
        self.ask_reuse = ask_reuse or _ask_reuse  # tests answer "show", "train" or None instead of the dialog
        self.runs: list[RunData] = []
        self.process = TrainingProcess(self)
        self.process.begun.connect(self._begun)
        self.process.finished.connect(self._preset_step_done)
        self._queue: list[TrainingOptions] = []
        self._preset: tuple[str, dict] | None = None  # the preset whose last runs are shown (for "Train again")

        self.preset_buttons = {}
        toolbar = QHBoxLayout()
        for key, (label, what) in PRESETS.items():
            button = QPushButton(label)
            button.setToolTip(f"{what}: trains {' vs '.join(DEMOS[key])} one after the other (same data, same seed), "
                              "or shows the last ones trained with the same settings")
            button.clicked.connect(lambda _=False, k=key: self.run_preset(k))
            self.preset_buttons[key] = button
            toolbar.addWidget(button)
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.1, value=0.0, decimals=2)
        self.smoothing.setToolTip("Smoothing of the norm curves (TensorBoard's): 0 = none. Smoothed, the raw norms "
                                  "are drawn faint behind the lines; the rings of a diverged run mark its raw last "
                                  "finite norms, on the faint lines.")
        self.smoothing.valueChanged.connect(self.redraw)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.slider.setMinimumWidth(60)
        self.slider.valueChanged.connect(self._draw_profile)
        self.step_label = QLabel("step —")
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance("step 0000000"))
        self.time_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)  # Through time: which record
        self.time_slider.setMinimumWidth(60)
        self.time_slider.setToolTip("The record drawn solid: at initialisation (step 0) or at an epoch's end; at its "
                                    "right end it follows a training run's newest record")
        self.time_slider.valueChanged.connect(self._draw_time)
        self.time_label = QLabel("step —")
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance("step 0000000"))
        self.layer = FittingComboBox()  # by position (first hidden layer, ..., output): runs with other layer names compare
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer.setToolTip("The layer whose gradient histograms are shown, by its position in each model (counted "
                              "from the input): each run shows its own layer at that position")
        self.layer.currentIndexChanged.connect(self._draw_histograms)
        self.colour_scale = FittingComboBox()
        self.colour_scale.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "auto: each run's own"
        for text, mode in COLOUR_SCALES:
            self.colour_scale.addItem(text, mode)
        self.colour_scale.setToolTip("The heatmap's colours: one scale for every run (comparable colours), or each "
                                     f"run its own (automatic when the runs' largest norms differ by over "
                                     f"{OWN_SCALE_DECADES:g} decades: one run would be a single colour)")
        self.colour_scale.currentIndexChanged.connect(self.redraw)
        save = QPushButton("Save figure…")
        save.clicked.connect(self._save_dialog)
        self.saved = QLabel()  # "Saved fig.png": in the toolbar's free space, never a line that moves the tabs down
        self.saved.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.saved.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        toolbar.addWidget(self.saved, 1)
        toolbar.addWidget(save)
        self.doctor_button = QPushButton("Doctor")
        self.doctor_button.setCheckable(True)
        self.doctor_button.setToolTip("Show or hide the Doctor: what zoo doctor finds in the runs shown (opens by "
                                      f"itself in a view at least {DOCTOR_AUTO_WIDTH} px wide)")
        self.doctor_button.clicked.connect(self._doctor_clicked)
        toolbar.addWidget(self.doctor_button)
        self.status = BoxLabel("Open runs from the Runs tab (Gradients button), or click a preset.")
        self.status_box = TextBox(self.status, STATUS_LINES[1])
        self.train_again = QPushButton("Train again")
        self.train_again.setToolTip("Train the preset's models again with the same settings")
        self.train_again.clicked.connect(self._train_again)
        self.train_again.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_box, 1)
        status_row.addWidget(self.train_again, 0, Qt.AlignmentFlag.AlignTop)
        self.units_note = BoxLabel()
        self.histogram_note = BoxLabel(EXACT_ZEROS)
        self.time_note = BoxLabel(TIME_NOTE)
        self.notes = {"units": TextBox(self.units_note, UNITS_NOTE_LINES[1]),
                      "histograms": TextBox(self.histogram_note, 2), "time": TextBox(self.time_note, 2)}

        self.tabs = QTabWidget()
        self._tab_style = CompactTabStyle()  # six tabs and a tab's control beside them in a 640 px window
        self.tabs.tabBar().setStyle(self._tab_style)
        self.tabs.setUsesScrollButtons(False)  # narrower still: every tab stays in view, its title shortened ("…")
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.corner = QStackedWidget()  # the visible tab's own control, right of the tab bar: no row of its own
        self.corner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.corner_pages = {}
        self.pages = {}
        self.scrolls = {}
        for key, title in TABS:
            page = pg.GraphicsLayoutWidget()
            page.setMinimumSize(200, 120)
            page.ci.setContentsMargins(2, 2, 2, 2)
            page.installEventFilter(self)  # titles re-wrap to the space each plot gets
            self.pages[key] = page
            holder = QWidget()
            layout = QVBoxLayout(holder)
            layout.setContentsMargins(2, 2, 2, 2)
            layout.setSpacing(2)
            scroll = QScrollArea()  # more runs than fit the window side by side: the row scrolls sideways
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.scrolls[key] = scroll
            layout.addWidget(scroll, 1)
            if key in self.notes:
                layout.addWidget(self.notes[key])
            self.tabs.addTab(holder, title)
            control = QWidget()
            row = QHBoxLayout(control)
            row.setContentsMargins(6, 0, 2, 0)
            if key in ("norms", "heatmap", "histograms"):
                row.addStretch(1)  # the control at the right end of its space, not spread over it
            if key == "norms":
                row.addWidget(QLabel("Smoothing"))
                row.addWidget(self.smoothing)
            elif key == "profile":
                row.addWidget(QLabel("at"))
                row.addWidget(self.slider, 1)
                row.addWidget(self.step_label)
            elif key == "time":
                row.addWidget(QLabel("at"))
                row.addWidget(self.time_slider, 1)
                row.addWidget(self.time_label)
            elif key == "histograms":
                row.addWidget(QLabel("Layer"))
                row.addWidget(self.layer)
            elif key == "heatmap":
                row.addWidget(QLabel("Colours"))
                row.addWidget(self.colour_scale)
            self.corner_pages[key] = control
            self.corner.addWidget(control)
        self.tabs.setCornerWidget(self.corner, Qt.Corner.TopRightCorner)
        self._show_corner(TABS[0][0])
        plots = QWidget()  # the status and the tabs; the Doctor panel beside them, below the toolbar
        layout = QVBoxLayout(plots)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(status_row)
        layout.addWidget(self.tabs, 1)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.doctor = DoctorPanel()
        self.doctor.hide()
        self.doctor.selected.connect(self._finding_selected)
        self.doctor.try_fix.connect(self.try_fix)
        self.doctor.stop_trial.connect(self.stop)
        self.doctor.show_pair.connect(lambda pair: self.show_runs(list(pair)))
        self.doctor.diagnoser.done.connect(lambda *_: self._doctor_label())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(plots)
        self.splitter.addWidget(self.doctor)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.splitterMoved.connect(self._doctor_dragged)
        self._doctor_width: int | None = None  # the width the user dragged the Doctor to (None: a share of the view)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        outer.addLayout(toolbar)
        outer.addWidget(self.splitter, 1)
        self._doctor_choice: bool | None = None  # the user's show/hide; None: by the view's width
        self._selected = None  # (run path, Finding) highlighted on the Norms
        self._trial = None  # (FixPlan, Trial) of the fix being trained

        self._shape: list | None = None  # the runs and layers the plots were built for
        self._stale = False  # data arrived while hidden: redraw when shown
        self._timer = QTimer(self, interval=LIVE_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.plots: dict[str, list] = {key: [] for key in self.pages}  # per run: its PlotItem (and image)
        self.extras: dict[str, list] = {key: [] for key in self.pages}  # per run: markers, lines, labels
        self.legends: dict[str, list] = {key: [] for key in self.pages}  # side legends and colour bars
        self.keys: dict[str, list] = {key: [] for key in self.pages}  # the layers' colour key (DepthKey), if any
        self._headlines = ""
        self._curves: list[list] = []
        self._heat_scale: str | None = None  # "shared" or "own": how the heatmap page was built
        self._rewrap: set[str] = set()  # tabs whose titles wrap again at the next turn of the event loop
        self._fit_lines()

    # -- which runs ----------------------------------------------------------------------------
    def show_runs(self, paths) -> None:
        self.runs = [RunData(Path(p)) for p in paths]
        self._preset = None
        self.train_again.hide()
        self.refresh()

    def _begun(self, path: str) -> None:
        """A training of this view began: its run joins the runs shown; a fix's run only beside its original (the
        learner may have moved on to other runs: the verdict comes in the finding's card, Show both runs shows it)."""
        if self._trial is not None and self._trial[0].original not in [r.path for r in self.runs]:
            return
        self.add_run(path)

    def add_run(self, path: str) -> None:
        if path and Path(path) not in [r.path for r in self.runs]:
            self.runs.append(RunData(Path(path)))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the runs' records (only what was appended, for gradients.csv) and update the plots."""
        for run in self.runs:
            run.load()
        for run, name in zip(self.runs, distinct_names([r.name for r in self.runs], [r.path for r in self.runs])):
            run.name = name
        self.doctor.show_runs(self.runs)  # diagnosed again, off this thread, where a run's records changed
        self._doctor_label()
        if any(run.state == "running" for run in self.runs):
            self._timer.start()
        else:
            self._timer.stop()
        shape = [(str(r.path), tuple(r.layers), r.clipping, r.diverged) for r in self.runs]
        if shape != self._shape:  # new runs or layers: new plots; else only new data
            self._shape = shape
            self._rebuild()
        else:
            self._update_controls()
            self.redraw()

    # -- presets -------------------------------------------------------------------------------
    def run_preset(self, key: str, reuse: bool | None = None, **options) -> None:
        """Train the preset's models (zoo.demos.DEMOS[key]: same data and seed), one after the other in the
        training process, showing each as it trains.

        When finished runs of all of them with the same settings exist, asks first (`ask_reuse`) whether
        to show them or train new ones; `reuse=True` shows them without asking, False always trains.
        """
        if self.process.running:
            return
        if reuse is not False:
            paths = last_set(key, **options)
            if paths:
                when = read_run(paths[-1]).started.replace("T", " ")[:16]
                word = _set_word(key)
                choice = "show" if reuse else self.ask_reuse(
                    self, f"{_listed(DEMOS[key])} were already trained with these settings ({when}).\n\n"
                          f"Show that {word}, or train a new one (same data and seed: the same curves again)?")
                if choice is None:
                    return
                if choice == "show":
                    self.show_runs(paths)
                    self._preset = (key, dict(options))
                    self.train_again.show()
                    self._set_status(f"The last {word} of the <i>{PRESETS[key][0]}</i> preset ({when}); "
                                     "<i>Train again</i> trains a new one.")
                    return
        self._preset = None
        self.train_again.hide()
        self.runs = []
        self._queue = [TrainingOptions(name, **options) for name in DEMOS[key]]
        for button in self.preset_buttons.values():
            button.setEnabled(False)
        self._next_preset()

    def _train_again(self) -> None:
        if self._preset is not None:
            key, options = self._preset
            self.run_preset(key, reuse=False, **options)

    def _next_preset(self) -> None:
        if not self._queue:
            for button in self.preset_buttons.values():
                button.setEnabled(True)
            self.doctor.set_busy("")
            self._set_status()
            return
        options = self._queue.pop(0)
        self._set_status(f"Training {options.model}…")
        self.doctor.set_busy("A preset is training: a fix can be tried once it is done")
        self.process.start(options)

    def _preset_step_done(self, end: dict) -> None:
        self.refresh()
        self.run_finished.emit(end)
        if self._trial is not None:  # a fix was being tried: its run ended; the doctor says whether the finding went
            plan, trial = self._trial
            self._trial = None
            remove_plan(plan)
            self.doctor.end_trial(trial, end)
        self._next_preset()

    # -- the doctor ------------------------------------------------------------------------------
    def try_fix(self, selection) -> None:
        """Train the run's spec with the finding's fix (`zoo.doctor.fixed_spec`) from the same seed, in the training
        process, into RUN-fixed beside it; show the two runs side by side; the Doctor says whether it is gone."""
        path, finding = selection
        if self.process.running or self._queue:
            return
        try:
            plan = plan_fix(Path(path), finding)
        except ZooError as e:  # no spec.toml, a spec zoo cannot change for it, a spec that no longer reads
            self.doctor.cannot_try(Path(path), finding, f"Cannot try the fix: {e}")
            return
        self._preset = None
        self.train_again.hide()
        self.show_runs([path])  # the fixed run joins it as soon as its folder exists (begun)
        trial = self.doctor.start_trial(plan)
        self._trial = (plan, trial)
        for button in self.preset_buttons.values():
            button.setEnabled(False)
        self.doctor.set_busy("A fix is being tried: one training at a time")
        self._set_status(f"Trying the fix for {finding.code}: training {plan.out.name} ({plan.change}), from the "
                         "same seed…")
        self.process.start(plan.options)

    def _doctor_clicked(self, checked: bool) -> None:
        self._doctor_choice = checked
        self._show_doctor(checked)

    def _show_doctor(self, show: bool) -> None:
        """The Doctor panel beside the plots (a share of the view's width), or hidden: the plots take the room."""
        self.doctor_button.setChecked(show)
        if show == self.doctor.isVisible():
            return
        if show:
            self.doctor.show()
            self._fit_doctor()
        else:
            self.doctor.hide()

    def _fit_doctor(self) -> None:
        """The Doctor's share of the view's width (PANEL_WIDTH), or the width the user dragged it to."""
        width = self._doctor_width or int(min(max(self.width() * DOCTOR_SHARE, PANEL_WIDTH[0]), PANEL_WIDTH[1]))
        self.splitter.setSizes([max(self.splitter.width() - width, 100), width])

    def _doctor_dragged(self, *_) -> None:
        self._doctor_width = self.splitter.sizes()[1]

    def _doctor_label(self) -> None:
        """The toggle says how many findings there are (red when one is critical): seen even while it is closed."""
        critical, warnings = self.doctor.finding_count()
        total = critical + warnings
        self.doctor_button.setText(f"Doctor ({total})" if total else "Doctor")
        self.doctor_button.setStyleSheet(f"color: {SEVERITY_COLOURS['critical']}; font-weight: bold" if critical
                                         else "")

    def _finding_selected(self, selection) -> None:
        """A finding chosen in the Doctor: its layers' curves stand out on the Norms plot of its run (the others
        faint), its step range shaded."""
        self._selected = selection
        if selection is not None and (selection[1].layers or selection[1].steps) and self._current_key() != "norms":
            self.tabs.setCurrentIndex(list(self.pages).index("norms"))  # where the evidence is drawn
        self._highlight()

    def _highlight(self) -> None:
        if not self.plots["norms"]:
            return
        for run, curves, extra in zip(self.runs, self._curves, self.extras["norms"]):
            finding = self._selected[1] if self._selected and Path(self._selected[0]) == run.path else None
            chosen = set(finding.layers) & set(run.layers) if finding is not None else set()
            colours = depth_colors(len(run.layers))
            for depth, (name, item) in enumerate(zip(run.layers, curves)):
                colour = QColor(colours[depth])
                width = 1.5
                if chosen and name in chosen:
                    width = HIGHLIGHT_WIDTH
                elif chosen:
                    colour.setAlpha(FADED_ALPHA)
                item.setPen(pg.mkPen(colour, width=width))
                item.setSymbolBrush(colour)
                item.setZValue(10 if name in chosen else 0)
            region, line = extra["evidence"], extra["evidence_line"]
            steps = finding.steps if finding is not None else None
            region.setVisible(bool(steps) and steps[0] != steps[1])
            line.setVisible(bool(steps) and steps[0] == steps[1])
            # the label to the right of its line, or to its left where the right is out of the plot
            side = [(1, 0), (1, 0)] if steps and len(run.steps) and steps[0] > (run.steps[0] + run.steps[-1]) / 2 \
                else [(0, 0), (0, 0)]
            if steps and steps[0] != steps[1]:
                region.setRegion(steps)
                region.label.anchors = side
                region.label.setFormat(f"{finding.code}: steps {steps[0]}–{steps[1]}")
                region.label.updatePosition()
            elif steps:
                line.setValue(steps[0])
                line.label.anchors = side
                line.label.setFormat(f"{finding.code}: step {steps[0]}")
                line.label.updatePosition()

    @property
    def busy(self) -> bool:
        return self.process.running or bool(self._queue)

    def stop(self) -> None:
        self._queue = []
        self.process.stop()

    # -- building the plots --------------------------------------------------------------------
    def _summary(self, note: str = "") -> str:
        """Each run's headline, one line each, first; then the details and the note."""
        stories = [_describe(run) for run in self.runs]
        self._headlines = "<br>".join(headline for headline, _ in stories)
        lines = [headline for headline, _ in stories] + [details for _, details in stories if details]
        return "<br>".join(lines + ([note] if note else [])) or "No runs shown."

    def _set_status(self, note: str = "") -> None:
        """The runs' summary (and a note), in a box tall enough to show every run's headline."""
        self.status.setText(self._summary(note) if self.runs or not note else note)
        self._fit_lines()

    def _headline_lines(self) -> int:
        """How many lines the runs' headlines take in the status box at its width."""
        if not self._headlines:
            return 0
        document = QTextDocument()
        document.setDefaultFont(self.status.font())
        document.setDocumentMargin(0)
        document.setHtml(self._headlines)
        width = self.status_box.width() - self.status_box.verticalScrollBar().sizeHint().width()
        document.setTextWidth(max(width, 100))
        return int(np.ceil(document.size().height() / self.status.fontMetrics().lineSpacing() - 0.25))

    def _caption(self, key: str) -> str:
        """What a saved figure says under it: every run's headline, and the smoothing of the Norms."""
        self._summary()
        caption = self._headlines
        weight = self.smoothing.value()
        if key == "norms" and weight > 0:
            caption += f"<br><i>smoothed {weight:.2f}; faint: raw</i> (TensorBoard-style exponential moving average)"
        return caption

    def _rebuild(self) -> None:
        """Forget the plots; each tab builds its own when it is next shown (building all at once stalls the window)."""
        for key in self.pages:
            self._forget(key)
        self._update_controls()
        self.redraw()

    def _forget(self, key: str) -> None:
        self.pages[key].clear()
        self.pages[key].setMinimumWidth(200)
        self.plots[key], self.extras[key], self.legends[key], self.keys[key] = [], [], [], []
        if key == "norms":
            self._curves = []
        if key == "heatmap":
            self._heat_scale = None

    def _update_controls(self) -> None:
        self._set_status()
        self.units_note.setText(_units_note(self.runs))
        first = min((int(r.steps[0]) for r in self.runs if len(r.steps)), default=0)
        last = max((int(r.steps[-1]) for r in self.runs if len(r.steps)), default=0)
        self.slider.blockSignals(True)
        at_end = self.slider.value() >= self.slider.maximum()
        self.slider.setRange(first, last)  # its left end is the first recorded step, as the plots say
        if at_end:
            self.slider.setValue(last)
        self.slider.blockSignals(False)
        self._label_step()
        recorded = [r.time_steps for r in self.runs if r.time_record(0) is not None]
        self.time_slider.blockSignals(True)
        at_end = self.time_slider.value() >= self.time_slider.maximum()
        self.time_slider.setRange(min((int(s[0]) for s in recorded), default=0),
                                  max((int(s[-1]) for s in recorded), default=0))
        if at_end:  # at its right end: the newest record, as a run trains
            self.time_slider.setValue(self.time_slider.maximum())
        self.time_slider.blockSignals(False)
        self.time_slider.setEnabled(self.time_slider.maximum() > self.time_slider.minimum())
        self.time_note.setText(_time_note(self.runs))
        shown_step = self._time_step()
        self.time_label.setText("step —" if shown_step is None else f"step {shown_step}")
        slots = _layer_slots(self.runs)
        if [(self.layer.itemData(i), self.layer.itemText(i)) for i in range(self.layer.count())] != slots:
            current = self.layer.currentData()
            self.layer.blockSignals(True)
            self.layer.clear()
            for slot, text in slots:
                self.layer.addItem(text, slot)
            index = next((i for i, (slot, _) in enumerate(slots) if slot == current), 0)
            self.layer.setCurrentIndex(index)
            self.layer.blockSignals(False)

    def _title(self, run: RunData) -> str:
        """The run's name, and its state unless it simply completed (a short title keeps the plots tall)."""
        return run.name if run.state == "completed" else f"{run.name} ({run.state})"

    def _new_plot(self, page, row: int, col: int, title: str, integer_x: bool = True,
                  integer_y: bool = False) -> pg.PlotItem:
        plot = page.addPlot(row=row, col=col, axisItems=readable_axes(integer_x, integer_y))
        _set_title(plot, title)
        plot.getViewBox().disableAutoRange()
        axis = plot.getAxis("left")  # its width is known once its labels are painted: the titles' share follows it
        axis.geometryChanged.connect(lambda a=axis, k=self._building: self._axis_resized(k, a))
        return plot

    def _axis_resized(self, key: str, axis) -> None:
        """A left axis got wider or narrower (its tick labels changed): the titles wrap again to their plots' share
        of the row, once the events of the moment are done (else a row of long titles outgrows the page)."""
        if key in self._rewrap or not any(axis is plot.getAxis("left") for plot in self._row_plots(key)):
            return  # already due, or the axis of a plot being taken down
        if abs(axis.width() - getattr(axis, "_wrapped_width", -1.0)) < 0.5:
            return
        axis._wrapped_width = axis.width()
        self._rewrap.add(key)

        def rewrap():
            self._rewrap.discard(key)
            if self.plots[key]:
                self._wrap_titles(key)

        QTimer.singleShot(0, self, rewrap)

    def _side_legend(self, page, row: int, col: int, entries, keys=()) -> pg.LegendItem:
        """A legend in its own layout cell, right of the row's plots: never on top of the data. Its samples
        are long enough to show a dashed line (LegendSample). `keys`: (title, names) of the layers coloured by
        depth, a colour key (DepthKey) each below it: one for all the runs when they have the same layers, else
        one per run (its own names, its own colours)."""
        holder = pg.GraphicsWidget()
        legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-4, sampleType=LegendSample)
        legend.setParentItem(holder)
        for sample, name in entries:
            legend.addItem(sample, name)
        legend.updateSize()
        if not entries:
            legend.hide()
        for title, layers in keys:
            key = DepthKey(layers, list_max=KEY_LIST_MAX, title=title)
            key.setParentItem(holder)
            self.keys[self._building].append(key)
        page.addItem(holder, row=row, col=col)
        self.legends[self._building].append(legend)
        self._place_keys(self._building, legend)
        return legend

    def _place_keys(self, key: str, legend: pg.LegendItem) -> None:
        """The colour keys below the legend, one under the other; where they would run past the bottom of the row,
        in further columns side by side (a key taller than the row on its own shrinks to it). The legend's cell as
        wide as what it holds."""
        holder = legend.parentItem()
        top = legend.height() + 2 if legend.items else 4.0
        plots = self._row_plots(key)
        room = max(holder.height(), plots[0].height() if plots else 0.0)
        room = room if room > 2 * CROSS_BAND_PX else UNLAID_HEIGHT + 40  # not laid out yet
        x, y, column_width = 4.0, top, 0.0
        for depth_key in self.keys[key]:
            depth_key.fit(room - top - 2)  # a deep net's column of colours no taller than the row
            if y > top and y + depth_key.height() > room:  # a new column, from the top of the keys
                x, y, column_width = x + column_width + 8, top, 0.0
            depth_key.setPos(x, y)
            y += depth_key.height() + 6
            column_width = max(column_width, depth_key.width())
        width = legend.width() + 8 if legend.items else 0.0
        width = max(width, x + column_width + 4 if self.keys[key] else 0.0)
        if abs(holder.minimumWidth() - width) > 0.5 or abs(holder.maximumWidth() - width) > 0.5:
            holder.setMinimumWidth(width)
            holder.setMaximumWidth(width)

    def _colour_bar(self, page, col: int, colormap: str, label: str) -> pg.ColorBarItem:
        bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(colormap), label=label, interactive=False,
                              width=12, pen="#555", rounding=1e-6)
        bar.setMenuEnabled(False)
        bar.axis.setStyle(tickFont=None)
        page.addItem(bar, row=0, col=col)
        self.legends[self._building].append(bar)
        return bar

    def _build(self, key: str) -> None:
        """The tab's plots, one per run side by side, and its legend or colour bar on their right."""
        self._building = key
        if key == "heatmap":
            self._heat_scale = self._heat_mode()
        builders = {"norms": self._norms_plot, "profile": self._profile_plot, "heatmap": self._image_plot,
                    "histograms": self._image_plot, "units": self._units_plot, "time": self._time_plot}
        for column, run in enumerate(self.runs):
            items, extra = builders[key](self.pages[key], column, run)
            self.plots[key].append(items)
            self.extras[key].append(extra)
        if not self.runs:
            return
        self._side_items(key, self.pages[key], len(self.runs))
        self._fit_page_width(key)
        for plot in self._row_plots(key):
            plot.getViewBox().sigRangeChangedManually.connect(
                lambda *_, k=key, vb=plot.getViewBox(): self._follow(k, vb))
            try:
                plot.autoBtn.clicked.disconnect()
            except (RuntimeError, TypeError):
                pass
            plot.autoBtn.clicked.connect(lambda *_, k=key: self._fit(k))
        QTimer.singleShot(0, self, lambda k=key: self._wrap_titles(k) if self.plots[k] else None)  # once laid out

    def _norms_plot(self, page, column: int, run: RunData) -> tuple[tuple, dict]:
        """A run's norms by step (log y): a line per layer, dashed after clipping; rings on the last finite norms,
        crosses at the top edge where they were inf/NaN, a line at the step they became so."""
        curves = self._new_plot(page, 0, column, self._title(run))
        curves.setLogMode(y=True)
        curves.setDownsampling(auto=True, mode="peak")  # a long MNIST run has tens of thousands of steps
        curves.setClipToView(True)
        curves.setLabel("bottom", "step")
        curves.setLabel("left", "gradient L2 norm")
        colours = depth_colors(len(run.layers))
        self._curves.append([curves.plot(pen=pg.mkPen(colours[d], width=1.5), name=name, symbolSize=6,
                                         symbolBrush=colours[d], symbolPen=None) for d, name in enumerate(run.layers)])
        extra = {"clipped": [], "line": _divergence_line(labelled=True)}
        extra["raw"] = [curves.plot(pen=pg.mkPen(_faint(colours[d]), width=1), name=f"{name} (raw)")
                        for d, name in enumerate(run.layers)]  # drawn when smoothed: faint, behind the lines
        for item in extra["raw"]:
            item.setZValue(-5)
            item.hide()
        if run.clipping:
            extra["clipped"] = [curves.plot(pen=pg.mkPen(colours[d], width=1.2, style=Qt.PenStyle.DashLine),
                                            name=f"{name} after clipping") for d, name in enumerate(run.layers)]
        extra["last"] = curves.plot(pen=None, symbol="o", symbolSize=11, symbolPen=pg.mkPen("#222", width=2),
                                    symbolBrush=HOLLOW, name="last finite norm")
        extra["last"].setZValue(20)  # on top of the lines it ends
        extra["bad"] = curves.plot(pen=None, symbol="x", symbolSize=12, symbolBrush=DIVERGED_COLOUR,
                                   symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2), name="became inf/NaN")
        extra["bad"].setZValue(15)  # above the lines, below the rings
        curves.getViewBox().sigRangeChanged.connect(lambda *_: self._place_crosses())
        curves.addItem(extra["line"], ignoreBounds=True)
        region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(EVIDENCE_BRUSH), pen=pg.mkPen(EVIDENCE_PEN))
        region.setZValue(-20)  # behind every curve
        region.label = pg.InfLineLabel(region.lines[0], "", position=0.96, anchors=[(0, 0), (0, 0)],
                                       color=SEVERITY_COLOURS["critical"])
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(EVIDENCE_PEN, width=2),
                               label="", labelOpts={"position": 0.96, "color": SEVERITY_COLOURS["critical"],
                                                    "anchors": [(0, 0), (0, 0)]})
        for item in (region, line):
            item.hide()
            curves.addItem(item, ignoreBounds=True)
        extra["evidence"], extra["evidence_line"] = region, line
        extra.update(_problem_note(curves))
        return (curves,), extra

    def _profile_plot(self, page, column: int, run: RunData) -> tuple[tuple, dict]:
        profile = self._new_plot(page, 0, column, "norm by depth")
        profile.setLogMode(y=True)
        profile.setLabel("bottom", "depth (1 = input side)")
        profile.setLabel("left", "gradient L2 norm")
        return (profile,), _problem_note(profile)

    def _image_plot(self, page, column: int, run: RunData) -> tuple[tuple, dict]:
        """A heatmap (layer x step) or a histogram over time (log10|g| x recorded step), crosses on inf/NaN cells;
        a heatmap with its own colour scale has its colour bar beside it."""
        key = self._building
        own_scale = key == "heatmap" and self._heat_scale == "own"
        plot = self._new_plot(page, 0, 2 * column if own_scale else column, self._title(run),
                              integer_y=key == "heatmap")
        plot.setLabel("bottom", "step" if key == "heatmap" else "recorded step")
        plot.setLabel("left", "depth (1 = input side)" if key == "heatmap" else "log10 |g|")
        image = pg.ImageItem()
        plot.addItem(image)
        crosses = plot.plot(pen=None, symbol="x", symbolSize=10, symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2),
                            name="inf/NaN")
        extra = {"bad": crosses, "line": _divergence_line()}
        if key == "heatmap":
            plot.addItem(extra["line"], ignoreBounds=True)
            extra.update(_problem_note(plot))
        if own_scale:
            extra["bar"] = self._colour_bar(page, 2 * column + 1, "viridis", "log10 gradient norm")
        if column == 0:  # its title row changed height, or the window its size: the colour bars follow
            plot.getViewBox().sigResized.connect(lambda *_: QTimer.singleShot(0, self, lambda: self._fit_bars(key)))
        return (plot, image), extra

    def _units_plot(self, page, column: int, run: RunData) -> tuple[tuple, dict]:
        units = self._new_plot(page, 0, column, self._title(run))
        units.setLabel("bottom", "step")
        units.setLabel("left", "fraction of units")
        return (units,), {"line": _divergence_line()}

    def _time_plot(self, page, column: int, run: RunData) -> tuple[tuple, dict]:
        """A run's ||dL/dx_t|| by input time step t (log y): at initialisation (dashed) and at the slider's record,
        the other epochs' records faint behind them; a run without such records says so in its panel (no axes:
        there is nothing to measure on them)."""
        plot = self._new_plot(page, 0, column, self._title(run))
        plot.setLogMode(y=True)
        plot.setLabel("bottom", "input time step t")
        plot.setLabel("left", "||dL/dx<sub>t</sub>||")
        first = plot.plot(pen=pg.mkPen(FIRST_COLOUR, width=2, style=Qt.PenStyle.DashLine), name="initialisation",
                          symbolBrush=FIRST_COLOUR, symbolPen=None, symbolSize=6)
        shown = plot.plot(pen=pg.mkPen(SHOWN_COLOUR, width=2), name="slider's step", symbolBrush=SHOWN_COLOUR,
                          symbolPen=None, symbolSize=6)
        shown.setZValue(5)  # over the initialisation's line where they meet
        others = plot.plot(pen=pg.mkPen(OTHERS_COLOUR, width=1), name="other epochs", connect="finite")
        others.setZValue(-5)
        box = plot.getViewBox()
        note = pg.TextItem(color="#555", anchor=(0.5, 0.5))  # in the box's own pixels: centred whatever its range
        note.setParentItem(box)
        note.hide()

        def centre(*_, note=note, box=box):
            note.setTextWidth(max(box.width() - 12, 60))
            note.setPos(box.width() / 2, box.height() / 2)

        box.sigResized.connect(centre)
        return (plot,), {"first": first, "shown": shown, "others": others, "note": note, "centre": centre}

    def _side_items(self, key: str, page, column: int) -> None:
        """Right of the row: the legend (the first and last layer's colours, the line styles, the markers) or the
        colour bar shared by the runs."""
        clipping = any(r.clipping for r in self.runs)
        diverged = any(r.diverged for r in self.runs)
        if key == "heatmap":
            if self._heat_scale != "own":
                self._colour_bar(page, column, "viridis", "log10 gradient norm")
            return
        if key == "histograms":
            self._colour_bar(page, column, "magma", "share of |g| in bin")
            return
        if key == "profile":
            self._side_legend(page, 0, column, [(_sample(pen, **symbol), label)
                                                for pen, symbol, label in _profile_styles(clipping, diverged)])
            return
        if key == "time":
            self._side_legend(page, 0, column, [
                (_sample(pg.mkPen(FIRST_COLOUR, width=2, style=Qt.PenStyle.DashLine)), "initialisation"),
                (_sample(pg.mkPen(SHOWN_COLOUR, width=2)), "slider's step")])  # "other epochs" once there are some
            return
        entries = []
        if key == "norms" and clipping:
            entries += [(_sample(pg.mkPen("#555", width=1.5)), "before clipping"),
                        (_sample(pg.mkPen("#555", width=1.5, style=Qt.PenStyle.DashLine)), "after clipping")]
        if key == "norms" and diverged:
            entries += [(_sample(None, symbol="o", symbolSize=10, symbolPen=pg.mkPen("#222", width=2),
                                 symbolBrush=HOLLOW), "last finite"),
                        (_sample(None, symbol="x", symbolSize=10, symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2),
                                 symbolBrush=DIVERGED_COLOUR), "inf/NaN (top)")]
        if key == "units" and diverged:
            entries.append((_sample(pg.mkPen(DIVERGED_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)),
                            "inf/NaN from here"))
        self._side_legend(page, 0, column, entries, self._key_groups(key))

    def _smoothing_legend(self, weight: float) -> None:
        """The Norms legend says "smoothed 0.90" and "faint: raw" while the lines are smoothed (entries added or
        removed in place: the plots, and what a user zoomed, stay); the colour key moves below it."""
        grey = QColor("#444")
        wanted = [(_sample(pg.mkPen(grey, width=1.5)), f"smoothed {weight:.2f}"),
                  (_sample(pg.mkPen(_faint(grey), width=1)), "faint: raw")] if weight > 0 else []
        for legend in self.legends["norms"]:
            if not isinstance(legend, pg.LegendItem):
                continue
            old = [label.text for _, label in legend.items if label.text.startswith("smoothed ")
                   or label.text == "faint: raw"]
            if old == [name for _, name in wanted]:
                continue
            for text in old:
                legend.removeItem(text)
            for sample, name in wanted:
                legend.addItem(sample, name)
            legend.updateSize()
            legend.setVisible(bool(legend.items))
            self._place_keys("norms", legend)
        self._fit_page_width("norms")

    def _key_groups(self, key: str) -> list[tuple[str, list[str]]]:
        """The colour keys of the tab: (title, the layers whose colours it explains; on the Units, the hidden layers
        whose units can be counted). Each run colours its own layers by depth: runs with the same layers share one
        key ("layer colours"); otherwise each run (or each set of runs with the same layers) gets its own, titled
        with its name."""
        if key == "units":
            counted = [r for r in self.runs if {"sigmoid", "tanh", "relu"} & set(r.activations.get("activation", []))]
            layers = [(r, list(r.activations.get("layers", []))) for r in counted]
        else:
            layers = [(r, list(r.layers)) for r in self.runs]
        groups: dict[tuple, list[str]] = {}
        for run, names in layers:
            if names:
                groups.setdefault(tuple(names), []).append(run.name)
        if len(groups) == 1:
            return [("layer colours", list(next(iter(groups))))]
        return [(f"layers of {', '.join(runs)}", list(names)) for names, runs in groups.items()]

    # -- ranges: y shared by all runs, x each run's own ------------------------------------------
    def _row_plots(self, key: str) -> list[pg.PlotItem]:
        return [items[0] for items in self.plots[key]]

    def _follow(self, key: str, source: pg.ViewBox) -> None:
        """The user panned or zoomed one plot: the others show the same y range (and the same x range, where
        their runs cover about the same steps)."""
        (x0, x1), (y0, y1) = source.viewRange()
        plots = self._row_plots(key)
        fitted = self._ranges(key)
        boxes = [p.getViewBox() for p in plots]
        if source not in boxes or len(fitted) != len(boxes):
            return
        mine = fitted[boxes.index(source)][0]
        for box, (x, _) in zip(boxes, fitted):
            if box is not source:
                box.setRange(xRange=(x0, x1) if _similar(mine, x) else None, yRange=(y0, y1), padding=0)

    def _fit(self, key: str) -> None:
        self._apply_ranges(key)
        for plot in self._row_plots(key):
            plot.autoBtn.hide()

    def _ranges(self, key: str) -> list[tuple]:
        """Per run (in the order shown): the (x, y) range, in view coordinates, its plot shows.

        y is shared: the union of every run's finite data, whatever order the runs came in (the vanishing
        comparison needs one scale); x covers each run's own steps (a run that diverged at step 5 is not
        squeezed into a few pixels by one that trained for 600)."""
        runs = self.runs
        if key in ("norms", "profile"):
            # smoothed values are weighted means of the raw ones: the raw range holds them too
            y = _positive_log_range([r.norms for r in runs] + [r.clipped for r in runs])
            if key == "profile":
                depth = max((len(r.layers) for r in runs), default=1)
                return [((0.5, depth + 0.5), y) for _ in runs]
            return [(_union([(float(r.steps[0]), float(r.steps[-1]))]) if len(r.steps) else None, y) for r in runs]
        if key == "heatmap":
            depth = max((len(r.layers) for r in runs), default=1)
            return [((r.steps[0] - r.step_spacing() / 2, r.steps[-1] + r.step_spacing() / 2) if len(r.steps) else None,
                     (0.5, depth + 0.5)) for r in runs]
        if key == "time":  # y: every record's (the slider moves the line, not the axis); x: the run's time steps
            y = _positive_log_range([r.time_norms for r in runs if r.time_norms is not None])
            return [(_union([(0.0, float(r.time_norms.shape[1] - 1))]) if r.time_record(0) is not None else None, y)
                    for r in runs]
        if key == "histograms":
            hs = [r.histograms if r.histograms and len(r.histograms["steps"]) else None for r in runs]
            y = _union([(float(h["edges"][0]), float(h["edges"][-1])) for h in hs if h is not None])
            return [((-0.5, len(h["steps"]) - 0.5) if h is not None else None, y) for h in hs]
        ranges = []
        for r in runs:
            steps = r.activations.get("steps", np.zeros(0))
            spans = [(float(steps[0]), float(steps[-1]))] if len(steps) else []
            if r.nonfinite_step is not None:
                spans.append((float(r.nonfinite_step), float(r.nonfinite_step)))
            ranges.append((_union(spans), (0.0, 1.0)))
        return ranges

    def _apply_ranges(self, key: str) -> None:
        """Set each plot's range explicitly: the same y for all, whatever order the runs came in; on the Norms,
        a band above the data for the inf/NaN crosses when a run has some."""
        padding = 0 if key in ("heatmap", "histograms") else PADDING
        band = key == "norms" and any(len(r.nonfinite_steps) for r in self.runs)
        for plot, extra, (x, y) in zip(self._row_plots(key), self.extras[key], self._ranges(key)):
            box = plot.getViewBox()
            box.disableAutoRange()
            if x is None and y is None:  # no data yet (a training that just began): leave it
                continue
            height = box.height() if box.height() > 2 * CROSS_BAND_PX else UNLAID_HEIGHT
            y = _with_band(y, padding, CROSS_BAND_PX / height) if band and y is not None else _padded(y, padding)
            box.setRange(xRange=_padded(x, padding), yRange=y, padding=0, update=True)

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self, *_) -> None:
        """Draw the visible tab's data (the others, and this view when hidden, are drawn when shown)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._draw_page(self._current_key())

    def _current_key(self) -> str:
        return list(self.pages)[self.tabs.currentIndex()]

    def _tab_changed(self, index: int) -> None:
        self._show_corner(list(self.pages)[index])
        self.redraw()

    def _show_corner(self, key: str) -> None:
        """The visible tab's control right of the tab bar, as wide as it needs (not as the widest of all the tabs':
        the Histograms' layer choice can be long), so that the tabs keep their room."""
        for name, control in self.corner_pages.items():
            policy = QSizePolicy.Policy.Preferred if name == key else QSizePolicy.Policy.Ignored
            control.setSizePolicy(policy, QSizePolicy.Policy.Preferred)
        self.corner.setCurrentWidget(self.corner_pages[key])
        self.corner.updateGeometry()

    def _draw_page(self, page: str) -> None:
        if page == "heatmap" and self.plots[page] and self._heat_scale != self._heat_mode():
            self._forget(page)  # the colour scale changed (shared <-> each run's own): other colour bars
        if self.runs and not self.plots[page]:
            self._build(page)
        for run, items, extra in zip(self.runs, self.plots[page], self.extras[page]):  # its state changes as it trains
            if page not in ("profile", "time"):
                _set_title(items[0], self._page_title(page, run), self._title_width(page))
            if "problem" in extra:  # a line of gradients.csv left out: said in one line at the foot of its plot
                _show_problem(extra, run.tail.problem if run.tail is not None else "", run.path)
        getattr(self, f"_draw_{page}")()
        _align_titles(self._row_plots(page))
        self._apply_ranges(page)
        if page == "norms":
            self._place_crosses()

    def _page_title(self, key: str, run: RunData) -> str:
        if key == "histograms":
            return _histogram_title(run, self.layer.currentData())
        return self._title(run)

    def _fit_lines(self) -> None:
        """Fewer lines of text in a short window: the plots keep their height; but every run's headline shows."""
        short = self.height() < SHORT_VIEW
        lines = STATUS_LINES[0] if short else STATUS_LINES[1]
        lines = max(lines, min(self._headline_lines(), MAX_HEADLINE_LINES))
        if lines != self.status_box.lines:
            self.status_box.set_lines(lines)
        self.notes["units"].set_lines(UNITS_NOTE_LINES[0] if short else UNITS_NOTE_LINES[1])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._doctor_choice is None:  # wide enough: the Doctor beside the plots; else they keep the room
            self._show_doctor(self.width() >= DOCTOR_AUTO_WIDTH)
        if self.doctor.isVisible():
            self._fit_doctor()
        self._fit_lines()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            for key, page in self.pages.items():
                if watched is page and self.plots[key]:
                    QTimer.singleShot(0, self, lambda k=key: self._wrap_titles(k) if self.plots[k] else None)
        return super().eventFilter(watched, event)

    def _side_width(self, key: str) -> float:
        """The width of the row's legends and colour bars, and of the gaps between its cells and its margins."""
        page, plots = self.pages[key], self._row_plots(key)
        side = 0.0
        for item in self.legends[key]:
            holder = item.parentItem() if isinstance(item, pg.LegendItem) else item
            side += max(holder.width(), holder.minimumWidth()) if holder is not None else 160.0
        cells = len(plots) + len(self.legends[key])
        return side + page.ci.layout.horizontalSpacing() * max(cells - 1, 0) + 4  # and the page's margins

    def _fit_page_width(self, key: str) -> None:
        """The page no narrower than its plots at MIN_PANEL_WIDTH each (or their own minimum) and its legends:
        more runs than fit the window side by side, and the row scrolls sideways (nothing cut off at the edge)."""
        page, plots = self.pages[key], self._row_plots(key)
        panels = sum(max(MIN_PANEL_WIDTH, p.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()) for p in plots)
        need = int(np.ceil(panels + self._side_width(key))) if plots else 200
        if page.minimumWidth() != need:
            page.setMinimumWidth(need)

    def _title_width(self, key: str) -> float:
        """A plot's share of the page's width, less its axis and the gaps between cells: where its title wraps."""
        page, plots = self.pages[key], self._row_plots(key)
        side = self._side_width(key)
        axis = max((max(p.getAxis("left").width(), p.getAxis("left").minimumWidth()) for p in plots), default=0.0)
        return (page.viewport().width() - side) / max(len(self.runs), 1) - (axis or 60.0) - 6

    def _wrap_titles(self, key: str) -> None:
        """Each title gets its plot's share of the page's width (long ones wrap, short ones stay on one line);
        the ranges are set again for the plots' new sizes."""
        width = self._title_width(key)
        for plot in self._row_plots(key):
            _set_title(plot, plot.titleLabel.text, width)
        _align_titles(self._row_plots(key))
        for legend in self.legends[key]:
            if self.keys[key] and isinstance(legend, pg.LegendItem):
                self._place_keys(key, legend)
        page = self.pages[key]
        self._fit_page_width(key)
        if page.centralWidget is not None:  # lay the figure out again in the page: narrower titles, narrower plots
            page.centralWidget.setGeometry(page.range)
        self._apply_ranges(key)
        self._fit_bars(key)
        if key == "norms":
            self._place_crosses()

    def _fit_bars(self, key: str) -> None:
        """Each colour bar as tall as the data beside it (the plots' view boxes), not as its whole layout cell."""
        plots = self._row_plots(key)
        bars = [item for item in self.legends[key] if isinstance(item, pg.ColorBarItem)]
        if not plots or not bars:
            return
        self.pages[key].ci.layout.activate()
        data = plots[0].getViewBox().sceneBoundingRect()
        for bar in bars:  # its layout cell is the row's height: margins take off the title and the x axis
            cell = bar.sceneBoundingRect()
            left, old_top, right, old_bottom = bar.layout.getContentsMargins()
            top, bottom = max(data.top() - cell.top(), 0.0), max(cell.bottom() - data.bottom(), 0.0)
            if max(abs(top - old_top), abs(bottom - old_bottom)) > 0.5:
                bar.layout.setContentsMargins(left, top, right, bottom)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.redraw()

    def _draw_norms(self) -> None:
        weight = self.smoothing.value()
        self._smoothing_legend(weight)
        for run, items, extra in zip(self.runs, self._curves, self.extras["norms"]):
            shown = {}
            for key, table, curves in (("norms", run.norms, items), ("clipped", run.clipped, extra["clipped"])):
                shown[key] = smooth(table, weight) if table.size else table
                for depth, item in enumerate(curves):
                    values = shown[key][:, depth] if shown[key].size else np.zeros(0)
                    ok = np.isfinite(values) & (values > 0)
                    item.setData(run.steps[ok], values[ok])
                    item.setSymbol("o" if 0 < ok.sum() <= 3 else None)  # one or two points draw no line
            for depth, item in enumerate(extra["raw"]):
                values = run.norms[:, depth] if weight > 0 and run.norms.size else np.zeros(0)
                ok = np.isfinite(values) & (values > 0)
                item.setData(run.steps[ok], values[ok])
                item.setVisible(weight > 0)
            if run.nonfinite_step is not None:
                xs, ys = run.last_finite_points()  # the true values: on the raw lines (drawn faint when smoothed)
                extra["last"].setData(xs, ys)
            else:
                extra["last"].setData([], [])
            _place_divergence(extra["line"], run)
        self._highlight()

    def _place_crosses(self) -> None:
        """Crosses at the top edge of each diverged run's plot, at the steps its norms were inf or NaN: in the band
        kept free above the data, clear of the rings on its last finite values (again whenever the range moves)."""
        for run, (plot,), extra in zip(self.runs, self.plots["norms"], self.extras["norms"]):
            bad = run.nonfinite_steps
            if not len(bad):
                extra["bad"].setData([], [])
                continue
            box = plot.getViewBox()
            _, (y0, y1) = box.viewRange()
            height = box.height() if box.height() > 2 * CROSS_BAND_PX else UNLAID_HEIGHT
            top = y1 - (y1 - y0) * CROSS_PX / height
            extra["bad"].setData(bad.astype(float), np.full(len(bad), 10.0 ** top))
            _label_in_band(extra["line"], box, height)

    def _heat_mode(self) -> str:
        """"shared" (one colour scale: comparable colours) or "own" (each run its own)."""
        chosen = self.colour_scale.currentData()
        if chosen in ("shared", "own"):
            return chosen
        tops = [span[1] for span in (_positive_log_range([r.norms]) for r in self.runs) if span is not None]
        return "own" if len(tops) > 1 and max(tops) - min(tops) > OWN_SCALE_DECADES else "shared"

    def _draw_heatmap(self) -> None:
        automatic = "auto: each run's own" if self._heat_mode() == "own" else "auto: shared"
        self.colour_scale.setItemText(0, automatic)  # what "auto" chose, where the choice is made
        shared = _levels(_positive_log_range([r.norms for r in self.runs]))
        for run, (heat, image), extra in zip(self.runs, self.plots["heatmap"], self.extras["heatmap"]):
            if not run.norms.size:
                image.clear()
                continue
            levels = _levels(_positive_log_range([run.norms])) if "bar" in extra else shared
            with np.errstate(divide="ignore", invalid="ignore"):
                data = np.log10(run.norms.T)
            data[~np.isfinite(data)] = np.nan  # transparent; marked with crosses below
            image.setImage(data, levels=levels, autoLevels=False)
            image.setColorMap(pg.colormap.get("viridis"))
            spacing = run.step_spacing()
            image.setRect(float(run.steps[0]) - spacing / 2, 0.5, float(run.steps[-1] - run.steps[0]) + spacing,
                          len(run.layers))
            rows, layers = np.nonzero(~np.isfinite(run.norms))
            extra["bad"].setData(run.steps[rows].astype(float), layers + 1.0)
            _place_divergence(extra["line"], run)
            if "bar" in extra:
                extra["bar"].setLevels(values=levels)
        for bar in self.legends["heatmap"]:
            if not any(bar is extra.get("bar") for extra in self.extras["heatmap"]):
                bar.setLevels(values=shared)

    def _draw_units(self) -> None:
        for run, (units,), extra in zip(self.runs, self.plots["units"], self.extras["units"]):
            units.clear()
            acts = run.activations
            colours = depth_colors(len(acts.get("layers", [])))
            columns = set()
            for depth, (name, kind) in enumerate(zip(acts.get("layers", []), acts.get("activation", []))):
                column = "dead" if kind == "relu" else "saturated" if kind in ("sigmoid", "tanh") else None
                if column is None:
                    continue
                columns.add(column)
                values = acts[column][:, depth]
                ok = np.isfinite(values)
                units.plot(acts["steps"][ok], values[ok], pen=pg.mkPen(colours[depth], width=1.5), symbol="o",
                           symbolSize=4, symbolBrush=colours[depth], symbolPen=None, name=f"{name} ({column})")
            units.setLabel("left", f"fraction {' or '.join(sorted(columns))}" if columns else "fraction of units")
            if not columns and acts.get("layers"):  # said in the empty plot, not in a title that takes its height
                kinds = ", ".join(sorted(set(acts.get("activation", []))))
                note = pg.TextItem(html=f"<div style='text-align:center'>{kinds}:<br>nothing to count</div>",
                                   color="#555", anchor=(0.5, 0.5))
                note.setPos(float(np.mean(acts["steps"][[0, -1]])) if len(acts["steps"]) else 0.0, 0.5)
                units.addItem(note, ignoreBounds=True)
            units.addItem(extra["line"], ignoreBounds=True)
            _place_divergence(extra["line"], run)

    def _recorded_step(self, step: int) -> int | None:
        """The last step at or before `step` that a run recorded (what the Profile draws for the slider's value)."""
        steps = np.unique(np.concatenate([r.steps for r in self.runs] or [np.zeros(0, np.int64)]))
        at = int(np.searchsorted(steps, step, side="right")) - 1
        return int(steps[max(at, 0)]) if len(steps) else None

    def _label_step(self) -> None:
        shown = self._recorded_step(self.slider.value())
        self.step_label.setText("step —" if shown is None else f"step {shown}")

    def _draw_profile(self, *_) -> None:
        self._label_step()
        styles = {label: (pen, symbol) for pen, symbol, label in _profile_styles(True, True)}
        for run, (profile,) in zip(self.runs, self.plots.get("profile", [])):
            profile.clear()
            if not len(run.steps):
                continue
            title, lines = _profile_lines(run, self.slider.value())
            depths = np.arange(1, len(run.layers) + 1)
            for style, values, label in lines:
                pen, symbol = styles[style]
                ok = np.isfinite(values) & (values > 0)
                profile.plot(depths[ok], values[ok], pen=pen, name=label, **symbol)
            _set_title(profile, title, self._title_width("profile"))
        _align_titles(self._row_plots("profile"))
        self._apply_ranges("profile")

    def _time_step(self) -> int | None:
        """The last step at or before the Through time slider's value that a run recorded input gradients at."""
        recorded = [r.time_steps for r in self.runs if r.time_record(0) is not None]
        steps = np.unique(np.concatenate(recorded)) if recorded else np.zeros(0, np.int64)
        at = int(np.searchsorted(steps, self.time_slider.value(), side="right")) - 1
        return int(steps[max(at, 0)]) if len(steps) else None

    def _draw_time(self, *_) -> None:
        shown_step = self._time_step()
        self.time_label.setText("step —" if shown_step is None else f"step {shown_step}")
        width = self._title_width("time")
        for run, (plot,), extra in zip(self.runs, self.plots.get("time", []), self.extras.get("time", [])):
            at = run.time_record(self.time_slider.value())
            for side in ("left", "bottom"):
                plot.showAxis(side, at is not None)
            if at is None:
                for item in (extra["first"], extra["shown"], extra["others"]):
                    item.setData([], [])
                _set_title(plot, self._title(run), width)
                _say(extra, _no_time_text(run))
                continue
            t = np.arange(run.time_norms.shape[1])
            drawn = 0
            for item, row in ((extra["first"], run.time_norms[0]), (extra["shown"], run.time_norms[at])):
                ok = np.isfinite(row) & (row > 0)
                item.setData(t[ok], row[ok])
                item.setSymbol("o" if 0 < ok.sum() <= 3 else None)  # one or two points draw no line
                drawn += int(ok.sum())
            rows = [i for i in range(1, len(run.time_steps)) if i != at]  # one line each, NaN between them
            xs = np.concatenate([np.r_[t, np.nan] for _ in rows]) if rows else np.zeros(0)
            ys = np.concatenate([np.r_[np.where(run.time_norms[i] > 0, run.time_norms[i], np.nan), np.nan]
                                 for i in rows]) if rows else np.zeros(0)
            extra["others"].setData(xs, ys)
            step, first = int(run.time_steps[at]), int(run.time_steps[0])
            title = f"{run.name}: step {step}" + ("" if run.state in FINISHED else f" ({run.state})")
            if first != 0:  # a run whose records do not start at its initialisation (dashed: its first record)
                title += f"<br><span style='color:#555'>dashed: step {first}, its first record</span>"
            _set_title(plot, title, width)
            row = run.time_norms[at]
            if drawn:
                _say(extra, "")
            elif np.isfinite(row).any():
                _say(extra, f"step {step}: every value is exactly 0:<br>nothing to draw on a log scale")
            else:
                _say(extra, f"<span style='color:{DIVERGED_COLOUR}'>step {step}: inf/NaN</span>")
        self._others_legend(any(extra["others"].xData is not None and len(extra["others"].xData)
                                for extra in self.extras["time"]))
        _align_titles(self._row_plots("time"))
        self._apply_ranges("time")

    def _others_legend(self, drawn: bool) -> None:
        """The Through time legend names the faint lines ("other epochs") while there are some (a run that trains
        gets them as its epochs end)."""
        for legend in self.legends["time"]:
            present = any(label.text == "other epochs" for _, label in legend.items)
            if present == drawn:
                continue
            if drawn:
                legend.addItem(_sample(pg.mkPen(OTHERS_COLOUR, width=1)), "other epochs")
            else:
                legend.removeItem("other epochs")
            legend.updateSize()
            self._place_keys("time", legend)

    def _draw_histograms(self, *_) -> None:
        slot = self.layer.currentData()
        names = [_slot_layer(run, slot) for run in self.runs]
        shown = [_layer_histogram(run, name) for run, name in zip(self.runs, names)]
        top = max((float(np.nanmax(h[1])) for h in shown if h is not None and np.isfinite(h[1]).any()),
                  default=1.0) or 1.0  # one colour scale: the largest share in any run's bins
        zeros, broken = [], []
        same = len({name for name in names if name is not None}) <= 1  # every run's layer has one name: say it once
        for run, name, histogram, (plot, image), extra in zip(self.runs, names, shown, self.plots.get("histograms", []),
                                                             self.extras["histograms"]):
            if histogram is None:
                image.clear()
                extra["bad"].setData([], [])
                _set_title(plot, self._page_title("histograms", run), self._title_width("histograms"))
                continue
            steps, fractions, edges = histogram
            _show_histogram(plot, image, steps, fractions, edges, top)
            bad = np.flatnonzero(~np.isfinite(fractions).all(axis=1))  # no finite gradient at that step
            extra["bad"].setData(bad.astype(float), np.full(len(bad), float(np.mean(edges[[0, -1]]))))
            if np.isfinite(fractions[:, 0]).any() and np.nanmax(fractions[:, 0]) > 0:
                zeros.append(f"{run.name}{'' if same else f' ({name})'} up to {np.nanmax(fractions[:, 0]):.0%}")
            if len(bad):
                broken.append(f"{run.name} at step {', '.join(str(steps[i]) for i in bad[:3])}"
                              + ("…" if len(bad) > 3 else ""))
            _set_title(plot, self._page_title("histograms", run), self._title_width("histograms"))
        _align_titles(self._row_plots("histograms"))
        for bar in self.legends["histograms"]:
            bar.setLevels(values=(0, top))
        shown_names = [name for name in names if name is not None]
        layer = shown_names[0] if same and shown_names else f"the {_slot_role(slot)} layer" if slot else "this layer"
        self.histogram_note.setText(_histogram_note(layer, zeros, broken))

    # -- saving ----------------------------------------------------------------------------------
    def save(self, path: str) -> Path:
        """Save the current tab's figure (PNG or SVG, by suffix), drawing it first if it was never shown."""
        key = self._current_key()
        if self.runs:
            self._draw_page(key)
        page = self.pages[key]
        return save_figure(page, path, caption=self._caption(key))

    def _save_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Save figure", "gradients.png",
                                                   "PNG image (*.png);;SVG image (*.svg)")
        if path:
            if Path(path).suffix.lower() not in (".png", ".svg"):
                path += ".svg" if "SVG" in chosen else ".png"
            self._save_to(path)

    def _save_to(self, path: str) -> None:
        """Save, and say so in the toolbar's fixed line (the tabs stay where they were)."""
        try:
            out = self.save(path)
            self.saved.setText(f"Saved {out.name}")
            self.saved.setToolTip(str(out))
            self.saved.setStyleSheet("")
        except (ValueError, OSError) as e:
            self.saved.setText("Cannot save")
            self.saved.setToolTip(str(e))
            self.saved.setStyleSheet(f"color: {DIVERGED_COLOUR}")
            QMessageBox.warning(self, "Save figure", f"Cannot save: {e}")


def _problem_note(plot: pg.PlotItem) -> dict:
    """A one-line note at the foot of a run's plot (what GradientTail left out of gradients.csv): in the plot box's
    own pixels, cut to its width (the whole line in its tooltip)."""
    box = plot.getViewBox()
    note = pg.TextItem(color=DIVERGED_COLOUR, anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 225))
    note.setParentItem(box)
    note.setZValue(30)
    note.full = ""
    note.hide()

    def place(*_, note=note, box=box):
        metrics = QFontMetrics(note.textItem.font())
        note.setText(metrics.elidedText(note.full, Qt.TextElideMode.ElideRight, int(max(box.width() - 12, 40))))
        note.setPos(2, box.height() - 2)

    box.sigResized.connect(place)
    return {"problem": note, "place_problem": place}


def _show_problem(extra: dict, problem: str, path: Path) -> None:
    note = extra["problem"]
    text = f"⚠ left out: {problem.replace(str(path / GRADIENTS), GRADIENTS)}" if problem else ""
    if text != note.full:
        note.full = text
        note.setToolTip(text)
        extra["place_problem"]()
    note.setVisible(bool(text))


def _no_time_text(run: RunData) -> str:
    """What an empty Through time panel says: why the run has no gradient by input time step."""
    if run.time_problem:
        return f"<div style='text-align:center; color:{DIVERGED_COLOUR}'>cannot read {INPUT_GRADIENTS}</div>"
    if run.time_steps is None:
        return ("<div style='text-align:center'>no gradient by time step:<br>zoo train records it "
                "(input_gradients.csv) for sequence inputs only</div>")
    return "<div style='text-align:center'>no record yet:<br>the first is taken before the first step</div>"


def _say(extra: dict, html: str) -> None:
    """The centred note of a Through time panel: shown with this text, or hidden ("")."""
    note = extra["note"]
    if html:
        note.setHtml(html)
        extra["centre"]()
    note.setVisible(bool(html))


def _histogram_layers(run: RunData) -> tuple[list[str], list[str]]:
    """The run's layers that have histograms, in depth order: (hidden ones, output ones)."""
    if not run.histograms:
        return [], []
    names = list(run.histograms["layers"])
    hidden = [names[i] for i in hidden_columns(names, run.output_layers)]
    return hidden, [name for name in names if name not in hidden]


def _slot_layer(run: RunData, slot: tuple | None) -> str | None:
    """The run's layer at a position of the Histograms' layer choice: ("hidden", i) the i-th hidden layer from the
    input, ("last hidden", -1), ("output", i); None where the run has no such layer."""
    if not slot:
        return None
    hidden, outputs = _histogram_layers(run)
    kind, index = slot
    layers = outputs if kind == "output" else hidden
    return layers[index] if -len(layers) <= index < len(layers) else None


def _slot_role(slot: tuple, outputs: int = 1) -> str:
    """A position's name in the layer choice: "hidden 1", "last hidden", "output"."""
    kind, index = slot
    if kind == "hidden":
        return f"hidden {index + 1}"
    return kind if kind == "last hidden" or outputs <= 1 else f"output {index + 1}"


def _layer_slots(runs: list[RunData]) -> list[tuple[tuple, str]]:
    """The Histograms' layer choice: (position, text) by position from the input, so that runs whose layers have
    other names (zoo's hidden_1, a user's own h1) show the same position side by side. Runs with the same layers:
    the layers' names; otherwise the position and each run's name for it ("hidden 1: hidden_1 / h1"), with a
    "last hidden" entry where the runs have more or fewer hidden layers."""
    parts = [_histogram_layers(run) for run in runs if run.histograms]
    if not parts:
        return []
    most_hidden, most_outputs = max(len(h) for h, _ in parts), max(len(o) for _, o in parts)
    slots = [("hidden", i) for i in range(most_hidden)]
    if len({len(h) for h, _ in parts}) > 1 and most_hidden > 1:
        slots.append(("last hidden", -1))
    slots += [("output", i) for i in range(most_outputs)]
    alike = all(h + o == parts[0][0] + parts[0][1] for h, o in parts)
    entries = []
    for slot in slots:
        names = list(dict.fromkeys(name for name in (_slot_layer(r, slot) for r in runs if r.histograms) if name))
        entries.append((slot, names[0] if alike else f"{_slot_role(slot, most_outputs)}: {' / '.join(names)}"))
    return entries


def _histogram_title(run: RunData, slot: tuple | None) -> str:
    """A histogram plot's title: the run and its own layer at the chosen position, or why it shows none; and, where
    the run has a single recorded step (fewer than DETAIL_EVERY steps), when histograms are recorded."""
    if not run.histograms or not len(run.histograms["steps"]):
        return f"{run.name}: no histograms"
    name = _slot_layer(run, slot)
    if name is None:
        hidden, _ = _histogram_layers(run)
        if slot is None:
            return f"{run.name}: no layer"
        if slot[0] == "output":
            return f"{run.name}: no output layer {slot[1] + 1}" if slot[1] else f"{run.name}: no output layer"
        if not hidden:
            return f"{run.name}: no hidden layer"
        return f"{run.name}: no hidden layer {slot[1] + 1} (it has {len(hidden)})"
    title = f"{run.name}: {name}"
    steps = run.histograms["steps"]
    if len(steps) == 1:
        last = int(run.steps[-1]) if len(run.steps) else None
        ran = "" if last is None else f"; this run has {last} step{'s' if last != 1 else ''}"
        title += (f"<br><span style='color:#555'>one histogram (step {int(steps[0])}): they are recorded at step 1 "
                  f"and every {DETAIL_EVERY}th step{ran}</span>")
    return title


def _layer_histogram(run: RunData, name: str | None) -> tuple[list, np.ndarray, np.ndarray] | None:
    """One layer's log10|g| histograms: (recorded steps, share of the weights in each bin (steps, bins), NaN at a
    step with no finite gradient; the bin edges), or None if the run has none of that layer."""
    h = run.histograms
    if not h or name is None or name not in h["layers"] or not len(h["steps"]):
        return None
    counts = h["counts"][:, h["layers"].index(name), :].astype(float)
    totals = counts.sum(axis=1)
    fractions = counts / np.maximum(totals[:, None], 1)
    fractions[totals == 0] = np.nan
    return list(h["steps"]), fractions, np.asarray(h["edges"], float)


def _show_histogram(plot: pg.PlotItem, image: pg.ImageItem, steps: list, fractions: np.ndarray, edges: np.ndarray,
                    top: float) -> None:
    """The histograms as an image, a column per recorded step (named by its step), the bottom bin "exact 0"."""
    image.setImage(fractions.T, levels=(0, top), autoLevels=False)
    image.setColorMap(pg.colormap.get("magma"))
    width = float(edges[1] - edges[0])
    image.setRect(-0.5, float(edges[0]), len(steps), float(edges[-1] - edges[0]))
    plot.getAxis("bottom").set_names({i: str(step) for i, step in enumerate(steps)})
    plot.getAxis("left").set_fixed([(float(edges[0]) + width / 2, "exact 0"),
                                    (float(edges[-1]) - width / 2, f"≥{edges[-1] - width:g}")])


def _histogram_note(name: str, zeros: list[str], broken: list[str]) -> str:
    """Beside the figure rather than on its data: the share of exact zeros, and the steps with no finite gradient."""
    text = EXACT_ZEROS
    if zeros:
        text = f"<b>Exact zeros</b> in {name}: {'; '.join(zeros)}. " + text
    if broken:
        text += (f" <span style='color:{DIVERGED_COLOUR}'>✕</span>: a recorded step with no finite gradient "
                 f"(inf/NaN): {'; '.join(broken)}.")
    return text


def _similar(a, b) -> bool:
    """Whether two x ranges cover about the same steps (the shorter at least half the longer, overlapping)."""
    if a is None or b is None:
        return False
    (a0, a1), (b0, b1) = a, b
    overlap = min(a1, b1) - max(a0, b0)
    return overlap > 0 and overlap >= 0.5 * max(a1 - a0, b1 - b0)


def _padded(span, fraction: float):
    """The span widened by `fraction` of its length on each side (None stays None)."""
    if span is None:
        return None
    lo, hi = span
    return lo - fraction * (hi - lo), hi + fraction * (hi - lo)


def _with_band(span, fraction: float, band: float) -> tuple[float, float]:
    """The span padded below, and above with `band` (a fraction of the final range) free for markers."""
    lo, hi = _padded(span, fraction)
    band = min(max(band, fraction), 0.3)
    top = (span[1] - band * lo) / (1 - band)  # (top - data max) is `band` of (top - lo)
    return lo, max(top, hi)


def _levels(span) -> tuple[float, float]:
    levels = span or (0.0, 1.0)
    return (levels[0] - 0.5, levels[1] + 0.5) if levels[1] <= levels[0] else levels


def _profile_lines(run: RunData, step: int) -> tuple[str, list[tuple[str, np.ndarray, str]]]:
    """The Profile of a run at the slider's step: its title and (style, norms by depth, legend name) of each line:
    the first step, the slider's step (or, once the run's norms were inf/NaN, its last finite step), and that
    step's norms after clipping."""
    at = max(int(np.searchsorted(run.steps, step, side="right")) - 1, 0)
    shown, kind, title = at, "slider step", f"{run.name}: step {run.steps[at]}"
    if run.first_bad is not None and at >= run.first_bad:
        shown, kind = run.first_bad - 1, "last finite step"
        title = f"{run.name}: step {run.steps[at]} inf/NaN"
        if shown >= 0:
            title = f"{run.name}: step {run.steps[shown]}, last finite"
    lines = [("first step", run.norms[0], f"step {run.steps[0]}")]
    if shown >= 0:
        lines.append((kind, run.norms[shown], f"step {run.steps[shown]}"))
        if run.clipping:
            lines.append(("after clipping", run.clipped[shown], f"step {run.steps[shown]} after clipping"))
    return title, lines


def _profile_styles(clipping: bool, diverged: bool) -> list[tuple]:
    """(pen, symbol options, label) of the profile's lines: dashes and markers tell them apart."""
    dark = "#333"
    styles = [(pg.mkPen(dark, width=2, style=Qt.PenStyle.DashLine),
               {"symbol": "o", "symbolSize": 7, "symbolPen": pg.mkPen(dark, width=1.5), "symbolBrush": HOLLOW},
               "first step"),
              (pg.mkPen(dark, width=2), {"symbol": "o", "symbolSize": 6, "symbolPen": None, "symbolBrush": dark},
               "slider step")]
    if clipping:
        styles.append((pg.mkPen(dark, width=2, style=Qt.PenStyle.DotLine),
                       {"symbol": "s", "symbolSize": 5, "symbolPen": None, "symbolBrush": dark}, "after clipping"))
    if diverged:
        styles.append((pg.mkPen(DIVERGED_COLOUR, width=2),
                       {"symbol": "t", "symbolSize": 7, "symbolPen": None, "symbolBrush": DIVERGED_COLOUR},
                       "last finite step"))
    return styles
