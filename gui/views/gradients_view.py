"""Gradients: per-layer gradient norms (live), the norm-by-depth profile, a layer x step heatmap,
gradient histograms over time, saturated or dead units; runs side by side with shared axes.

Shared axes are computed, not linked: every plot of a row gets the union of all runs' finite data
(in whatever order the runs were opened), set again on every data update; panning or zooming one
plot moves the others of its row, and the "A" button of any plot fits all of them again. A diverged
run is drawn up to its last finite norms, with a marker line and crosses where they became inf/NaN.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QScrollArea, QSizePolicy, QSlider, QTabWidget, QVBoxLayout, QWidget)

from zoo.activations import SIGMOID_SATURATED, TANH_SATURATED
from zoo.demos import PAIRS
from zoo.errors import ZooError
from zoo.records import GradientTail, read_activations, read_histograms, smooth
from zoo.runs import list_runs, read_run

from ..plotting import depth_colors, save_figure
from ..training_process import TrainingOptions, TrainingProcess

LIVE_REFRESH_MS = 1000
PRESETS = {"vanishing": "Vanishing gradients", "exploding": "Exploding gradients"}
TABS = (("norms", "Norms"), ("heatmap", "Heatmap"), ("histograms", "Histograms"), ("units", "Units"))
FINISHED = ("completed", "diverged")  # a preset run that ran to its end (the exploding one is meant to diverge)
DIVERGED_COLOUR = "#d62728"
PADDING = 0.04  # of a shared range, on each side
CLIPPING_ACTIVE = 1e-3  # after/before below 1 - this: the step was clipped
TITLE_MIN_WIDTH = 140  # px: a plot title longer than the plot's share of the page wraps, down to this width
HOLLOW = pg.mkBrush(0, 0, 0, 0)
EXACT_ZEROS = ("Bottom bin, <i>exact 0</i>: |g| = 0 exactly (or below 10<sup>-11.5</sup>): weights whose input is always 0 "
               "(blank pixels, dead ReLUs below) or whose unit is dead.")


# -- records -------------------------------------------------------------------------------------
@dataclass
class RunData:
    path: Path
    name: str = ""
    state: str = ""
    message: str = ""
    tail: GradientTail = None
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    layers: list = field(default_factory=list)
    norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    clipped: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    activations: dict = field(default_factory=dict)
    histograms: dict | None = None

    def load(self) -> None:
        info = read_run(self.path)
        self.name, self.state, self.message = info.model, info.state, info.message or info.problem
        self.tail = self.tail or GradientTail(self.path / "gradients.csv")
        self.steps, self.layers, self.norms, self.clipped = self.tail.read()
        try:
            self.activations = read_activations(self.path / "activations.csv")
            self.histograms = read_histograms(self.path / "histograms.npz")
        except ZooError as e:  # a broken file shows as a message; the rest of the run still shows
            self.message = str(e)

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

    def last_finite_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Each layer's last finite, positive norm before the divergence: (steps, norms)."""
        rows = self.norms[:self.first_bad] if self.first_bad is not None else self.norms
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


def _describe(run: RunData) -> str:
    """One line for the status: what this run's gradients did (the story the pair is meant to show)."""
    text = f"<b>{run.name}</b>" + ("" if run.diverged and len(run.steps) else f": {run.state}")
    if not len(run.steps):
        return text + " · no gradient records yet"
    first_bad = run.first_bad
    hidden = [i for i, name in enumerate(run.layers) if name != "output"]
    if run.diverged:
        good = run.norms[:first_bad] if first_bad is not None else run.norms
        finite = np.where(np.isfinite(good) & (good > 0), good, np.nan)
        peak = np.nanmax(finite) if np.isfinite(finite).any() else None
        row_peaks = np.where(np.isfinite(finite), finite, -np.inf).max(axis=1) if finite.size else finite
        peak_step = int(run.steps[int(np.argmax(row_peaks))]) if peak is not None else None
        if first_bad is None:
            text += f": diverged: the loss became NaN/inf (gradient norms up to {peak:.3g} at step {peak_step})" \
                if peak is not None else ": diverged: the loss became NaN/inf"
        else:
            after = run.norms[first_bad:]
            kinds = _nonfinite_kinds(after)
            nan_rows = np.flatnonzero(np.isnan(after).any(axis=1))
            then = f" (NaN from step {int(run.steps[first_bad + nan_rows[0]])})" \
                if "inf, then NaN" == kinds and len(nan_rows) else ""
            if peak is None:
                text += f": diverged at step {run.nonfinite_step}: the gradient norms were {kinds} from the start"
            else:
                text += (f": diverged at step {run.nonfinite_step}: gradient norms reached {peak:.3g} "
                         f"(step {peak_step}) before becoming {kinds}{then}")
    elif run.clipping:
        ok = np.isfinite(run.norms).all(axis=1) & np.isfinite(run.clipped).all(axis=1)
        before = np.sqrt(np.sum(run.norms[ok] ** 2, axis=1))
        after = np.sqrt(np.sum(run.clipped[ok] ** 2, axis=1))
        active = after < before * (1 - CLIPPING_ACTIVE)
        if active.any():
            factor = before[active] / np.maximum(after[active], 1e-300)
            text += (f" · clipping was active at {int(active.sum())} of {int(ok.sum())} steps ({active.mean():.0%}): "
                     f"it cut the global gradient norm {np.median(factor):.3g}x (median; up to {factor.max():.3g}x), "
                     f"to {np.median(after[active]):.3g}")
        else:
            text += f" · clipping never triggered: the global gradient norm stayed at most {before.max():.3g}"
    elif len(hidden) >= 2 and np.isfinite(run.norms[0, [hidden[0], hidden[-1]]]).all():
        first, last = run.norms[0, hidden[0]], run.norms[0, hidden[-1]]
        step = int(run.steps[0])
        at = f" · at step {step} the first hidden layer's gradient is"
        if first > 0 and last / first >= 10:
            text += f"{at} {last / first:.3g}x smaller than the last's: it vanishes on its way back"
        elif last > 0 and first / last >= 10:
            text += f"{at} {first / last:.3g}x larger than the last's: it grows on its way back"
        elif first > 0 and last > 0:
            ratio = max(first / last, last / first)
            text += f"{at} within {ratio:.3g}x of the last's: no vanishing"
    if run.message and (run.diverged or run.state in ("failed", "broken")):
        text += f"<br><span style='color:{DIVERGED_COLOUR}'>{run.message}</span>"
    return text


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
                lines.append(f"<b>{run.name}</b>: 0% saturated is a measurement: its {kind} units sit in their "
                             f"linear range (outputs near {'0.5' if kind == 'sigmoid' else '0'}). The gradient vanishes "
                             f"anyway: {label}, so each of its {len(columns)} layers multiplies it by {derivative} "
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


# -- reusing the last preset pair -------------------------------------------------------------------
def _overrides(options: TrainingOptions) -> dict:
    """The dotted-key overrides `zoo train` applies for these options (as `zoo.cli.cmd_train` does)."""
    flags = {"dataset": options.dataset, "training.epochs": options.epochs, "training.batch_size": options.batch_size,
             "optimizer.learning_rate": options.learning_rate, "training.seed": options.seed,
             "optimizer.name": options.optimizer, "optimizer.global_clipnorm": options.clipnorm}
    return {key: value for key, value in flags.items() if value is not None}


def _comparable(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key != "description"}


def last_pair(key: str, **options) -> list[Path] | None:
    """The newest finished runs of the preset pair trained with exactly these settings (the same resolved
    spec, so a spec edited since does not count), in the pair's order; None unless both exist."""
    from zoo.registry import load_spec

    wanted = {}
    for name in PAIRS[key]:
        try:
            spec = load_spec(name)
            changes = _overrides(TrainingOptions(name, **options))
            wanted[name] = _comparable((spec.with_overrides(**changes) if changes else spec).to_dict())
        except (ZooError, TypeError):
            return None
    found: dict[str, Path] = {}
    for info in list_runs():  # newest first
        if info.model in wanted and info.model not in found and info.state in FINISHED:
            try:
                spec = tomllib.loads((info.path / "spec.toml").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if _comparable(spec) == wanted[info.model]:
                found[info.model] = info.path
    return [found[name] for name in PAIRS[key]] if len(found) == len(wanted) else None


def _ask_reuse(parent, text: str) -> str | None:
    """"show" (the last pair), "train" (a new pair) or None (cancel)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Gradients", text, parent=parent)
    show = box.addButton("Show the last pair", QMessageBox.ButtonRole.AcceptRole)
    train = box.addButton("Train a new pair", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(show)
    box.exec()
    clicked = box.clickedButton()
    return "show" if clicked is show else "train" if clicked is train else None


# -- plot pieces ---------------------------------------------------------------------------------
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
    height = max(30.0, label.item.boundingRect().height())
    label.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)
    label.resizeEvent(None)


def _divergence_line() -> pg.InfiniteLine:
    pen = pg.mkPen(DIVERGED_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
    line = pg.InfiniteLine(angle=90, movable=False, pen=pen, label="",
                           labelOpts={"position": 0.9, "color": DIVERGED_COLOUR, "anchors": [(0, 0), (0, 0)],
                                      "fill": pg.mkBrush(255, 255, 255, 210)})
    line.hide()
    return line


def _place_divergence(line: pg.InfiniteLine, run: RunData, y_range, y_values=()) -> None:
    """Show the marker line at the step the run's gradients became non-finite, its label away from the data."""
    step = run.nonfinite_step
    if step is None:
        line.hide()
        return
    line.show()  # a hidden label does not update its text
    line.setValue(step)
    line.label.setFormat(f"inf/NaN from step {step}")
    values = np.asarray(y_values, float)
    values = values[np.isfinite(values)]
    high = y_range is not None and values.size and np.median(values) > (y_range[0] + y_range[1]) / 2
    line.label.anchors = [(0, 1), (0, 1)] if high else [(0, 0), (0, 0)]
    line.label.setPosition(0.08 if high else 0.92)


class _Label(QLabel):
    """A QLabel whose scrolling box (_TextBox) takes the height of its new text."""

    def setText(self, text: str) -> None:
        super().setText(text)
        box = self.parentWidget().parentWidget() if self.parentWidget() else None
        if isinstance(box, _TextBox):
            box.updateGeometry()


class _TextBox(QScrollArea):
    """A word-wrapped label at most `lines` lines tall; longer text scrolls (a small window keeps room for the plots)."""

    def __init__(self, label: QLabel, lines: int):
        super().__init__()
        self.label, self.lines = label, lines
        label.setWordWrap(True)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setMaximumHeight(label.fontMetrics().lineSpacing() * lines + 6)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():  # the text wraps differently: another height
            self.updateGeometry()

    def sizeHint(self):
        hint = super().sizeHint()
        width = max(self.viewport().width(), 200)
        hint.setHeight(min(self.label.heightForWidth(width) + 4, self.maximumHeight()))
        return hint

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setHeight(min(self.label.fontMetrics().lineSpacing() * 2 + 6, self.maximumHeight()))
        return hint


class GradientsView(QWidget):
    """Shows one or more runs' gradient records; follows running ones; trains the two textbook presets."""

    needs_tensorflow = False
    run_finished = Signal(object)

    def __init__(self, parent=None, ask_reuse=None):
        super().__init__(parent)
        self.ask_reuse = ask_reuse or _ask_reuse  # tests answer "show", "train" or None instead of the dialog
        self.runs: list[RunData] = []
        self.process = TrainingProcess(self)
        self.process.begun.connect(lambda path: self.add_run(path))
        self.process.finished.connect(self._preset_step_done)
        self._queue: list[TrainingOptions] = []
        self._preset: tuple[str, dict] | None = None  # the preset whose last pair is shown (for "Train again")

        self.preset_buttons = {}
        toolbar = QHBoxLayout()
        for key, label in PRESETS.items():
            button = QPushButton(label)
            button.setToolTip(" vs ".join(PAIRS[key]) + ": same data, same seed")
            button.clicked.connect(lambda _=False, k=key: self.run_preset(k))
            self.preset_buttons[key] = button
            toolbar.addWidget(button)
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.1, value=0.0, decimals=2)
        self.smoothing.setToolTip("Smoothing of the norm curves (TensorBoard's): 0 = none")
        self.smoothing.valueChanged.connect(self.redraw)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.slider.valueChanged.connect(self._draw_profile)
        self.step_label = QLabel("step —")
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance("step 0000000"))
        self.layer = QComboBox()
        self.layer.currentIndexChanged.connect(self._draw_histograms)
        save = QPushButton("Save figure…")
        save.clicked.connect(self._save_dialog)
        toolbar.addStretch(1)
        toolbar.addWidget(QLabel("Smoothing"))
        toolbar.addWidget(self.smoothing)
        toolbar.addWidget(save)
        self.status = _Label("Open runs from the Runs tab (Gradients button), or click a preset.")
        self.train_again = QPushButton("Train again")
        self.train_again.setToolTip("Train a new pair with the same settings")
        self.train_again.clicked.connect(self._train_again)
        self.train_again.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(_TextBox(self.status, 5), 1)
        status_row.addWidget(self.train_again, 0, Qt.AlignmentFlag.AlignTop)
        self.units_note = _Label()
        self.histogram_note = _Label(EXACT_ZEROS)

        self.tabs = QTabWidget()
        self.pages = {}
        for key, title in TABS:
            page = pg.GraphicsLayoutWidget()
            page.setMinimumSize(200, 120)
            page.installEventFilter(self)  # titles re-wrap to the space each plot gets
            self.pages[key] = page
            holder = QWidget()
            layout = QVBoxLayout(holder)
            layout.setContentsMargins(2, 2, 2, 2)
            if key in ("norms", "histograms"):
                row = QHBoxLayout()
                if key == "norms":
                    row.addWidget(QLabel("Profile at"))
                    row.addWidget(self.slider, 1)
                    row.addWidget(self.step_label)
                else:
                    row.addWidget(QLabel("Layer"))
                    row.addWidget(self.layer)
                    row.addStretch(1)
                layout.addLayout(row)
            layout.addWidget(page, 1)
            if key == "units":
                layout.addWidget(_TextBox(self.units_note, 6))
            elif key == "histograms":
                layout.addWidget(_TextBox(self.histogram_note, 2))
            self.tabs.addTab(holder, title)
        layout = QVBoxLayout(self)
        layout.addLayout(toolbar)
        layout.addLayout(status_row)
        layout.addWidget(self.tabs, 1)
        self.tabs.currentChanged.connect(self.redraw)

        self._shape: list | None = None  # the runs and layers the plots were built for
        self._stale = False  # data arrived while hidden: redraw when shown
        self._timer = QTimer(self, interval=LIVE_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.plots: dict[str, list] = {key: [] for key in self.pages}  # per run: its PlotItems (and image)
        self.extras: dict[str, list] = {key: [] for key in self.pages}  # per run: markers, lines, labels
        self.legends: dict[str, list] = {key: [] for key in self.pages}  # side legends and colour bars
        self._curves: list[list] = []

    # -- which runs ----------------------------------------------------------------------------
    def show_runs(self, paths) -> None:
        self.runs = [RunData(Path(p)) for p in paths]
        self._preset = None
        self.train_again.hide()
        self.refresh()

    def add_run(self, path: str) -> None:
        if path and Path(path) not in [r.path for r in self.runs]:
            self.runs.append(RunData(Path(path)))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the runs' records (only what was appended, for gradients.csv) and update the plots."""
        for run in self.runs:
            run.load()
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
        """Train the pair (same data and seed), one after the other, showing each as it trains.

        When finished runs of this pair with the same settings exist, asks first (`ask_reuse`) whether
        to show them or train a new pair; `reuse=True` shows them without asking, False always trains.
        """
        if self.process.running:
            return
        if reuse is not False:
            paths = last_pair(key, **options)
            if paths:
                when = read_run(paths[-1]).started.replace("T", " ")[:16]
                choice = "show" if reuse else self.ask_reuse(
                    self, f"{' and '.join(PAIRS[key])} were already trained with these settings ({when}).\n\n"
                          "Show that pair, or train a new one (same data and seed: the same curves again)?")
                if choice is None:
                    return
                if choice == "show":
                    self.show_runs(paths)
                    self._preset = (key, dict(options))
                    self.train_again.show()
                    self.status.setText(self._summary() + f"<br>The last {PRESETS[key].lower()} pair ({when}); "
                                        "<i>Train again</i> trains a new one.")
                    return
        self._preset = None
        self.train_again.hide()
        self.runs = []
        self._queue = [TrainingOptions(name, **options) for name in PAIRS[key]]
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
            self.status.setText(self._summary())
            return
        options = self._queue.pop(0)
        self.status.setText(f"Training {options.model}…")
        self.process.start(options)

    def _preset_step_done(self, end: dict) -> None:
        self.refresh()
        self.run_finished.emit(end)
        self._next_preset()

    @property
    def busy(self) -> bool:
        return self.process.running or bool(self._queue)

    def stop(self) -> None:
        self._queue = []
        self.process.stop()

    # -- building the plots --------------------------------------------------------------------
    def _summary(self) -> str:
        return "<br>".join(_describe(run) for run in self.runs) or "No runs shown."

    def _rebuild(self) -> None:
        """Forget the plots; each tab builds its own when it is next shown (building all at once stalls the window)."""
        for page in self.pages.values():
            page.clear()
        self.plots = {key: [] for key in self.pages}
        self.extras = {key: [] for key in self.pages}
        self.legends = {key: [] for key in self.pages}
        self._curves: list[list] = []
        self._update_controls()
        self.redraw()

    def _update_controls(self) -> None:
        self.status.setText(self._summary())
        self.units_note.setText(_units_note(self.runs))
        max_step = max((int(r.steps[-1]) for r in self.runs if len(r.steps)), default=0)
        self.slider.blockSignals(True)
        at_end = self.slider.value() >= self.slider.maximum()
        self.slider.setMaximum(max_step)
        if at_end:
            self.slider.setValue(max_step)
        self.slider.blockSignals(False)
        self.step_label.setText(f"step {self.slider.value()}")
        layers = self.runs[0].layers if self.runs else []
        if [self.layer.itemText(i) for i in range(self.layer.count())] != layers:
            current = self.layer.currentText()
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(layers)
            if current in layers:
                self.layer.setCurrentText(current)
            self.layer.blockSignals(False)

    def _title(self, run: RunData) -> str:
        return f"{run.name} ({run.state})"

    def _new_plot(self, page, row: int, col: int, title: str) -> pg.PlotItem:
        plot = page.addPlot(row=row, col=col)
        _set_title(plot, title)
        plot.getViewBox().disableAutoRange()
        return plot

    def _side_legend(self, page, row: int, col: int, entries) -> pg.LegendItem:
        """A legend in its own layout cell, right of the row's plots: never on top of the data."""
        holder = pg.GraphicsWidget()
        legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-4)
        legend.setParentItem(holder)
        for sample, name in entries:
            legend.addItem(sample, name)
        legend.updateSize()
        width = legend.width() + 8
        holder.setMinimumWidth(width)
        holder.setMaximumWidth(width)
        page.addItem(holder, row=row, col=col)
        self.legends[self._building].append(legend)
        return legend

    def _colour_bar(self, page, col: int, colormap: str, label: str) -> pg.ColorBarItem:
        bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(colormap), label=label, interactive=False,
                              width=14, pen="#555", rounding=1e-6)
        bar.setMenuEnabled(False)
        page.addItem(bar, row=0, col=col)
        self.legends[self._building].append(bar)
        return bar

    def _build(self, key: str) -> None:
        page = self.pages[key]
        self._building = key
        n = len(self.runs)
        clipping = any(r.clipping for r in self.runs)
        diverged = any(r.diverged for r in self.runs)
        for column, run in enumerate(self.runs):
            title = self._title(run)
            colours = depth_colors(len(run.layers))
            if key == "norms":
                curves = self._new_plot(page, 0, column, title)
                curves.setLogMode(y=True)
                curves.setDownsampling(auto=True, mode="peak")  # a long MNIST run has tens of thousands of steps
                curves.setClipToView(True)
                self._curves.append([curves.plot(pen=pg.mkPen(colours[d], width=1.5), name=name, symbolSize=6,
                                                 symbolBrush=colours[d], symbolPen=None)
                                     for d, name in enumerate(run.layers)])
                extra = {"clipped": [], "line": _divergence_line()}
                if run.clipping:
                    extra["clipped"] = [curves.plot(pen=pg.mkPen(colours[d], width=1.2, style=Qt.PenStyle.DashLine),
                                                    name=f"{name} after clipping") for d, name in enumerate(run.layers)]
                extra["last"] = curves.plot(pen=None, symbol="o", symbolSize=9, symbolPen=pg.mkPen("#222", width=1.5),
                                            symbolBrush=HOLLOW, name="last finite norm")
                extra["bad"] = curves.plot(pen=None, symbol="x", symbolSize=12, symbolBrush=DIVERGED_COLOUR,
                                           symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2), name="became inf/NaN")
                curves.addItem(extra["line"], ignoreBounds=True)
                curves.setLabel("bottom", "step")
                curves.setLabel("left", "gradient L2 norm")
                curves.getAxis("left").enableAutoSIPrefix(False)
                profile = self._new_plot(page, 1, column, "norm by depth")
                profile.setLogMode(y=True)
                profile.setLabel("bottom", "depth (1 = input side)")
                profile.setLabel("left", "norm")
                profile.getAxis("left").enableAutoSIPrefix(False)
                self.plots[key].append((curves, profile))
                self.extras[key].append(extra)
            elif key in ("heatmap", "histograms"):
                plot = self._new_plot(page, 0, column, title)
                plot.setLabel("bottom", "step" if key == "heatmap" else "recorded step")
                plot.setLabel("left", "depth (1 = input side)" if key == "heatmap" else "log10 |g|")
                image = pg.ImageItem()
                plot.addItem(image)
                crosses = plot.plot(pen=None, symbol="x", symbolSize=10, symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2),
                                    name="inf/NaN")
                extra = {"bad": crosses, "line": _divergence_line(), "notes": []}
                if key == "heatmap":
                    plot.addItem(extra["line"], ignoreBounds=True)
                    plot.getAxis("left").setTickSpacing(major=max(1, len(run.layers) // 6), minor=1)
                self.plots[key].append((plot, image))
                self.extras[key].append(extra)
            else:
                units = self._new_plot(page, 0, column, title)
                units.setLabel("bottom", "step")
                units.setLabel("left", "fraction of units")
                self.plots[key].append((units,))
                self.extras[key].append({"line": _divergence_line()})
        if not self.runs:
            return
        layers = max((r.layers for r in self.runs), key=len)
        colours = depth_colors(len(layers))
        if key == "units":  # hidden layers only: those the activation records cover, if any can be counted
            counted = [r for r in self.runs if {"sigmoid", "tanh", "relu"} & set(r.activations.get("activation", []))]
            layers = max((r.activations.get("layers", []) for r in counted), key=len, default=[])
            colours = depth_colors(len(layers))
        ends = [(_sample(pg.mkPen(colours[0], width=2)), f"{layers[0]} (input)"),
                (_sample(pg.mkPen(colours[-1], width=2)), layers[-1])] if layers else []
        if key == "norms":
            entries = list(ends)
            if clipping:
                entries += [(_sample(pg.mkPen("#555", width=1.5)), "before clipping"),
                            (_sample(pg.mkPen("#555", width=1.5, style=Qt.PenStyle.DashLine)), "after clipping")]
            if diverged:
                entries += [(_sample(None, symbol="o", symbolPen=pg.mkPen("#222", width=1.5), symbolBrush=HOLLOW),
                             "last finite"),
                            (_sample(None, symbol="x", symbolPen=pg.mkPen(DIVERGED_COLOUR, width=2),
                                     symbolBrush=DIVERGED_COLOUR), "became inf/NaN")]
            self._side_legend(page, 0, n, entries)
            dot = {"symbol": "o", "symbolSize": 5, "symbolPen": None}
            entries = [(_sample(pg.mkPen("#333", width=2, style=Qt.PenStyle.DashLine), symbolBrush="#333", **dot),
                        "first step"),
                       (_sample(pg.mkPen("#333", width=2), symbolBrush="#333", **dot), "slider step")]
            if clipping:
                entries.append((_sample(pg.mkPen("#333", width=2, style=Qt.PenStyle.DotLine)), "after clipping"))
            if diverged:
                entries.append((_sample(pg.mkPen(DIVERGED_COLOUR, width=2), symbolBrush=DIVERGED_COLOUR, **dot),
                                "last finite step"))
            self._side_legend(page, 1, n, entries)
        elif key == "heatmap":
            self._colour_bar(page, n, "viridis", "log10 gradient norm")
        elif key == "histograms":
            self._colour_bar(page, n, "magma", "share of |g| in bin")
        else:
            entries = list(ends)
            if diverged:
                entries.append((_sample(pg.mkPen(DIVERGED_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)),
                                "inf/NaN from here"))
            self._side_legend(page, 0, n, entries)
        for row in range(len(self.plots[key][0]) if self.plots[key] else 0):
            for items in self.plots[key]:
                plot = items[row]
                if isinstance(plot, pg.PlotItem):
                    plot.getViewBox().sigRangeChangedManually.connect(
                        lambda *_, k=key, r=row, vb=plot.getViewBox(): self._follow(k, r, vb))
                    try:
                        plot.autoBtn.clicked.disconnect()
                    except (RuntimeError, TypeError):
                        pass
                    plot.autoBtn.clicked.connect(lambda *_, k=key: self._fit(k))

    # -- shared ranges ---------------------------------------------------------------------------
    def _row_plots(self, key: str, row: int) -> list[pg.PlotItem]:
        return [items[row] for items in self.plots[key] if isinstance(items[row], pg.PlotItem)]

    def _follow(self, key: str, row: int, source: pg.ViewBox) -> None:
        """The user panned or zoomed one plot: the others of its row show the same range."""
        (x0, x1), (y0, y1) = source.viewRange()
        for plot in self._row_plots(key, row):
            if plot.getViewBox() is not source:
                plot.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _fit(self, key: str) -> None:
        self._apply_ranges(key)
        for plot in (p for items in self.plots[key] for p in items if isinstance(p, pg.PlotItem)):
            plot.autoBtn.hide()

    def _ranges(self, key: str) -> list[tuple]:
        """Per row of the page: the (x, y) range, in view coordinates, that holds every run's finite data."""
        runs = self.runs
        if key == "norms":
            # smoothed values are weighted means of the raw ones: the raw range holds them too
            y = _positive_log_range([r.norms for r in runs] + [r.clipped for r in runs])
            x = _union([(float(r.steps[0]), float(r.steps[-1])) for r in runs if len(r.steps)])
            depth = max((len(r.layers) for r in runs), default=1)
            return [(x, y), ((0.5, depth + 0.5), y)]
        if key == "heatmap":
            x = _union([(r.steps[0] - r.step_spacing() / 2, r.steps[-1] + r.step_spacing() / 2)
                        for r in runs if len(r.steps)])
            depth = max((len(r.layers) for r in runs), default=1)
            return [(x, (0.5, depth + 0.5))]
        if key == "histograms":
            hs = [r.histograms for r in runs if r.histograms and len(r.histograms["steps"])]
            x = (-0.5, max(len(h["steps"]) for h in hs) - 0.5) if hs else None
            y = _union([(float(h["edges"][0]), float(h["edges"][-1])) for h in hs])
            return [(x, y)]
        spans = []
        for r in runs:
            steps = r.activations.get("steps", np.zeros(0))
            if len(steps):
                spans.append((float(steps[0]), float(steps[-1])))
            if r.nonfinite_step is not None:
                spans.append((float(r.nonfinite_step), float(r.nonfinite_step)))
        return [(_union(spans), (0.0, 1.0))]

    def _apply_ranges(self, key: str) -> None:
        """Set each row's shared range on all its plots, explicitly: the same whatever order the runs came in."""
        padding = 0 if key in ("heatmap", "histograms") else PADDING
        for row, (x, y) in enumerate(self._ranges(key)):
            for plot in self._row_plots(key, row):
                box = plot.getViewBox()
                box.disableAutoRange()
                if x is not None or y is not None:  # no data yet (a training that just began): leave it
                    box.setRange(xRange=x, yRange=y, padding=padding, update=True)

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self, *_) -> None:
        """Draw the visible tab's data (the others, and this view when hidden, are drawn when shown)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._draw_page(list(self.pages)[self.tabs.currentIndex()])

    def _draw_page(self, page: str) -> None:
        if self.runs and not self.plots[page]:
            self._build(page)
        for run, items in zip(self.runs, self.plots[page]):  # a run's state changes as it trains
            _set_title(items[0], self._title(run), self._title_width(page))
        if page == "norms":
            self._draw_norms()
            self._draw_profile()
        elif page == "heatmap":
            self._draw_heatmap()
        elif page == "histograms":
            self._draw_histograms()
        else:
            self._draw_units()
        self._apply_ranges(page)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            for key, page in self.pages.items():
                if watched is page and self.plots[key]:
                    QTimer.singleShot(0, lambda k=key: self._wrap_titles(k))
        return super().eventFilter(watched, event)

    def _title_width(self, key: str) -> float:
        """A plot's share of the page's width, less its axis: where its title wraps."""
        side = 160 if self.legends[key] else 0
        return (self.pages[key].viewport().width() - side) / max(len(self.runs), 1) - 70

    def _wrap_titles(self, key: str) -> None:
        """Each title gets its plot's share of the page's width (long ones wrap, short ones stay on one line)."""
        width = self._title_width(key)
        for plot in (p for items in self.plots[key] for p in items if isinstance(p, pg.PlotItem)):
            _set_title(plot, plot.titleLabel.text, width)
        page = self.pages[key]
        if page.centralWidget is not None:  # lay the figure out again in the page: narrower titles, narrower plots
            page.centralWidget.setGeometry(page.range)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.redraw()

    def _draw_norms(self) -> None:
        weight = self.smoothing.value()
        y_range = (self._ranges("norms")[0][1]) if self.runs else None
        for run, items, extra in zip(self.runs, self._curves, self.extras["norms"]):
            for table, curves in ((run.norms, items), (run.clipped, extra["clipped"])):
                shown = smooth(table, weight) if table.size else table
                for depth, item in enumerate(curves):
                    values = shown[:, depth] if shown.size else np.zeros(0)
                    ok = np.isfinite(values) & (values > 0)
                    item.setData(run.steps[ok], values[ok])
                    item.setSymbol("o" if 0 < ok.sum() <= 3 else None)  # one or two points draw no line
            if run.nonfinite_step is not None:
                xs, ys = run.last_finite_points()
                extra["last"].setData(xs, ys)
                extra["bad"].setData(np.full(len(ys), float(run.nonfinite_step)), ys)
                _place_divergence(extra["line"], run, y_range, np.log10(ys) if len(ys) else ())
            else:
                extra["last"].setData([], [])
                extra["bad"].setData([], [])
                extra["line"].hide()

    def _draw_heatmap(self) -> None:
        levels = _positive_log_range([r.norms for r in self.runs]) or (0.0, 1.0)  # shared: comparable colours
        if levels[1] <= levels[0]:
            levels = (levels[0] - 0.5, levels[1] + 0.5)
        for run, (heat, image), extra in zip(self.runs, self.plots["heatmap"], self.extras["heatmap"]):
            if not run.norms.size:
                image.clear()
                continue
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
            _place_divergence(extra["line"], run, None)
        for bar in self.legends["heatmap"]:
            bar.setLevels(values=levels)

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
            if not columns and acts.get("layers"):
                kinds = ", ".join(sorted(set(acts.get("activation", []))))
                _set_title(units, f"{self._title(run)}: {kinds}, nothing to count", self._title_width("units"))
            units.addItem(extra["line"], ignoreBounds=True)
            _place_divergence(extra["line"], run, None)

    def _draw_profile(self, *_) -> None:
        step = self.slider.value()
        self.step_label.setText(f"step {step}")
        for run, (_, profile) in zip(self.runs, self.plots.get("norms", [])):
            profile.clear()
            if not len(run.steps):
                continue
            at = max(int(np.searchsorted(run.steps, step, side="right")) - 1, 0)
            depths = np.arange(1, len(run.layers) + 1)
            first_bad = run.first_bad
            shown, colour, title = at, "#333", f"norm by depth, step {run.steps[at]}"
            if first_bad is not None and at >= first_bad:
                shown, colour = first_bad - 1, DIVERGED_COLOUR
                title = f"step {run.steps[at]}: inf/NaN"
                if shown >= 0:
                    title += f"; step {run.steps[shown]}: last finite"
            lines = [(0, Qt.PenStyle.DashLine, "#333", run.norms, f"step {run.steps[0]}")]
            if shown >= 0:
                lines.append((shown, Qt.PenStyle.SolidLine, colour, run.norms, f"step {run.steps[shown]}"))
                if run.clipping:
                    lines.append((shown, Qt.PenStyle.DotLine, colour, run.clipped,
                                  f"step {run.steps[shown]} after clipping"))
            for index, style, pen_colour, table, label in lines:
                values = table[index]
                ok = np.isfinite(values) & (values > 0)
                profile.plot(depths[ok], values[ok], pen=pg.mkPen(pen_colour, width=2, style=style), symbol="o",
                             symbolSize=5, symbolBrush=pen_colour, symbolPen=None, name=label)
            _set_title(profile, title, self._title_width("norms"))

    def _draw_histograms(self, *_) -> None:
        name = self.layer.currentText()
        shares = []
        for run in self.runs:
            h = run.histograms
            if h and name in h["layers"]:
                counts = h["counts"][:, h["layers"].index(name), :].astype(float)
                shares.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1))
        top = max((float(s.max()) for s in shares if s.size), default=1.0) or 1.0
        for run, (hist, image), extra in zip(self.runs, self.plots.get("histograms", []), self.extras["histograms"]):
            for note in extra["notes"]:
                hist.removeItem(note)
            extra["notes"] = []
            h = run.histograms
            if not h or name not in h["layers"]:
                image.clear()
                extra["bad"].setData([], [])
                _set_title(hist, f"{run.name}: no histograms of {name or 'this layer'}", self._title_width("histograms"))
                continue
            counts = h["counts"][:, h["layers"].index(name), :].astype(float)
            totals = counts.sum(axis=1)
            fractions = counts / np.maximum(totals[:, None], 1)
            fractions[totals == 0] = np.nan  # no finite gradient at that step (it diverged): marked below
            image.setImage(fractions.T, levels=(0, top), autoLevels=False)
            image.setColorMap(pg.colormap.get("magma"))
            edges = np.asarray(h["edges"], float)
            width = float(edges[1] - edges[0])
            image.setRect(-0.5, float(edges[0]), len(h["steps"]), float(edges[-1] - edges[0]))
            hist.getAxis("bottom").setTicks([[(i, str(s)) for i, s in enumerate(h["steps"])]])
            zero_bin = float(edges[0]) + width / 2
            majors = [(v, f"{v:g}") for v in np.arange(np.ceil(edges[0] / 2) * 2 + 2, edges[-1] - width, 2.0)]
            hist.getAxis("left").setTicks([[(zero_bin, "exact 0"), *majors,
                                            (float(edges[-1]) - width / 2, f"≥{edges[-1] - width:g}")], []])
            bad = np.flatnonzero(totals == 0)
            extra["bad"].setData(bad.astype(float), np.full(len(bad), float(np.mean(edges[[0, -1]]))))
            share = fractions[:, 0]
            if np.isfinite(share).any() and np.nanmax(share) > 0:
                note = pg.TextItem(f"exact zeros: {np.nanmax(share):.0%}", color="#222", anchor=(0, 1),
                                   fill=pg.mkBrush(255, 255, 255, 200))
                note.setToolTip(EXACT_ZEROS)
                note.setPos(-0.45, float(edges[1]) + width * 0.2)
                hist.addItem(note, ignoreBounds=True)
                extra["notes"].append(note)
            if len(bad):
                note = pg.TextItem("inf/NaN: no finite gradient", color=DIVERGED_COLOUR, anchor=(0.5, 1))
                note.setPos(float(bad[0]), float(np.mean(edges[[0, -1]])) - width)
                hist.addItem(note, ignoreBounds=True)
                extra["notes"].append(note)
            _set_title(hist, f"{run.name}: {name}", self._title_width("histograms"))
        for bar in self.legends["histograms"]:
            bar.setLevels(values=(0, top))

    # -- saving ----------------------------------------------------------------------------------
    def save(self, path: str) -> Path:
        """Save the current tab's figure (PNG or SVG, by suffix), drawing it first if it was never shown."""
        key = list(self.pages)[self.tabs.currentIndex()]
        if self.runs:
            self._draw_page(key)
        page = self.pages[key]
        return save_figure(page, path)

    def _save_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Save figure", "gradients.png",
                                                   "PNG image (*.png);;SVG image (*.svg)")
        if path:
            if Path(path).suffix.lower() not in (".png", ".svg"):
                path += ".svg" if "SVG" in chosen else ".png"
            try:
                out = self.save(path)
                self.status.setText(self._summary() + f"<br>Saved {out}")
            except (ValueError, OSError) as e:
                self.status.setText(f"<span style='color:{DIVERGED_COLOUR}'>Cannot save: {e}</span>")
