"""Gradients: per-layer gradient norms (live), the norm-by-depth profile, a layer x step heatmap,
gradient histograms over time, saturated or dead units; runs side by side with shared axes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QTabWidget, QVBoxLayout, QWidget)

from zoo.demos import PAIRS
from zoo.errors import ZooError
from zoo.records import GradientTail, read_activations, read_histograms, smooth
from zoo.runs import read_run

from ..plotting import depth_colors, save_figure
from ..training_process import TrainingOptions, TrainingProcess

LIVE_REFRESH_MS = 1000
PRESETS = {"vanishing": "Vanishing gradients", "exploding": "Exploding gradients"}


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
    activations: dict = field(default_factory=dict)
    histograms: dict | None = None

    def load(self) -> None:
        info = read_run(self.path)
        self.name, self.state, self.message = info.model, info.state, info.message or info.problem
        self.tail = self.tail or GradientTail(self.path / "gradients.csv")
        self.steps, self.layers, self.norms = self.tail.read()
        try:
            self.activations = read_activations(self.path / "activations.csv")
            self.histograms = read_histograms(self.path / "histograms.npz")
        except ZooError as e:  # a broken file shows as a message; the rest of the run still shows
            self.message = str(e)


class GradientsView(QWidget):
    """Shows one or more runs' gradient records; follows running ones; trains the two textbook presets."""

    needs_tensorflow = False
    run_finished = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: list[RunData] = []
        self.process = TrainingProcess(self)
        self.process.begun.connect(lambda path: self.add_run(path))
        self.process.finished.connect(self._preset_step_done)
        self._queue: list[TrainingOptions] = []

        self.preset_buttons = {}
        toolbar = QHBoxLayout()
        for key, label in PRESETS.items():
            button = QPushButton(label)
            button.setToolTip(" vs ".join(PAIRS[key]) + ": same data, same seed")
            button.clicked.connect(lambda _=False, k=key: self.run_preset(k))
            self.preset_buttons[key] = button
            toolbar.addWidget(button)
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.1, value=0.0, decimals=2)
        self.smoothing.valueChanged.connect(self.redraw)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.slider.valueChanged.connect(self._draw_profile)
        self.step_label = QLabel("step —")
        self.layer = QComboBox()
        self.layer.currentIndexChanged.connect(self._draw_histograms)
        save = QPushButton("Save figure…")
        save.clicked.connect(self._save_dialog)
        toolbar.addWidget(QLabel("Smoothing"))
        toolbar.addWidget(self.smoothing)
        toolbar.addWidget(QLabel("Profile at"))
        toolbar.addWidget(self.slider, 1)
        toolbar.addWidget(self.step_label)
        toolbar.addWidget(save)
        self.status = QLabel("Open runs from the Runs tab (Gradients button), or click a preset.", wordWrap=True)

        self.tabs = QTabWidget()
        self.pages = {}
        for key, title in (("norms", "Norms"), ("heatmap", "Heatmap"), ("histograms", "Histograms"), ("units", "Units")):
            page = pg.GraphicsLayoutWidget()
            self.pages[key] = page
            if key == "histograms":
                holder = QWidget()
                layout = QVBoxLayout(holder)
                row = QHBoxLayout()
                row.addWidget(QLabel("Layer"))
                row.addWidget(self.layer)
                row.addStretch(1)
                layout.addLayout(row)
                layout.addWidget(page, 1)
                self.tabs.addTab(holder, title)
            else:
                self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.addLayout(toolbar)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        self.tabs.currentChanged.connect(self.redraw)

        self._shape: list | None = None  # the runs and layers the plots were built for
        self._stale = False  # data arrived while hidden: redraw when shown
        self._timer = QTimer(self, interval=LIVE_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.plots: dict[str, list] = {key: [] for key in self.pages}
        self._curves: list[list] = []

    # -- which runs ----------------------------------------------------------------------------
    def show_runs(self, paths) -> None:
        self.runs = [RunData(Path(p)) for p in paths]
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
        shape = [(str(r.path), tuple(r.layers)) for r in self.runs]
        if shape != self._shape:  # new runs or layers: new plots; else only new data
            self._shape = shape
            self._rebuild()
        else:
            self._update_controls()
            self.redraw()

    # -- presets -------------------------------------------------------------------------------
    def run_preset(self, key: str, **options) -> None:
        """Train the pair (same data and seed), one after the other, showing each as it trains."""
        if self.process.running:
            return
        self.runs = []
        self._queue = [TrainingOptions(name, **options) for name in PAIRS[key]]
        for button in self.preset_buttons.values():
            button.setEnabled(False)
        self._next_preset()

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

    # -- drawing -------------------------------------------------------------------------------
    def _summary(self) -> str:
        parts = []
        for run in self.runs:
            text = f"<b>{run.name}</b>: {run.state}"
            hidden = [i for i, name in enumerate(run.layers) if name != "output"]
            if len(run.steps) and len(hidden) >= 2:
                first, last = run.norms[0, hidden[0]], run.norms[0, hidden[-1]]
                text += f" · at step 1 the first hidden layer's gradient is {last / first:.3g}x smaller than the last's" \
                    if first < last else f" · at step 1 the first hidden layer's gradient is {first / last:.3g}x the last's"
            if run.state in ("diverged", "failed", "broken") and run.message:
                text += f"<br><span style='color:#b00020'>{run.message}</span>"
            parts.append(text)
        return "<br>".join(parts) or "No runs shown."

    def _rebuild(self) -> None:
        """Forget the plots; each tab builds its own when it is next shown (building all at once stalls the window)."""
        for page in self.pages.values():
            page.clear()
        self.plots = {key: [] for key in self.pages}
        self._curves: list[list] = []
        self._update_controls()
        self.redraw()

    def _update_controls(self) -> None:
        self.status.setText(self._summary())
        max_step = max((int(r.steps[-1]) for r in self.runs if len(r.steps)), default=0)
        self.slider.blockSignals(True)
        at_end = self.slider.value() >= self.slider.maximum()
        self.slider.setMaximum(max_step)
        if at_end:
            self.slider.setValue(max_step)
        self.slider.blockSignals(False)
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

    def _build(self, key: str) -> None:
        page = self.pages[key]
        for column, run in enumerate(self.runs):
            title = self._title(run)
            if key == "norms":
                curves = page.addPlot(row=0, col=column, title=f"{title}: colour = depth, dark near the input")
                curves.setLogMode(y=True)
                curves.setDownsampling(auto=True, mode="peak")  # a long MNIST run has tens of thousands of steps
                curves.setClipToView(True)
                colours = depth_colors(len(run.layers))
                self._curves.append([curves.plot(pen=pg.mkPen(colours[d], width=1.5), name=name)
                                     for d, name in enumerate(run.layers)])
                curves.setLabel("bottom", "step")
                curves.setLabel("left", "gradient L2 norm")
                profile = page.addPlot(row=1, col=column, title="norm by depth")
                profile.setLogMode(y=True)
                profile.setLabel("bottom", "depth (1 = nearest the input)")
                profile.addLegend(offset=(-5, 5))
                self.plots[key].append((curves, profile))
            elif key in ("heatmap", "histograms"):
                plot = page.addPlot(row=0, col=column, title=f"{title}: log10 gradient norm" if key == "heatmap" else title)
                plot.setLabel("bottom", "step" if key == "heatmap" else "recorded step")
                plot.setLabel("left", "depth" if key == "heatmap" else "log10 |g|")
                image = pg.ImageItem()
                plot.addItem(image)
                self.plots[key].append((plot, image))
            else:
                units = page.addPlot(row=0, col=column, title=f"{title}: saturated (sigmoid/tanh) or dead (ReLU) units")
                units.setLabel("bottom", "step")
                units.setLabel("left", "fraction of units")
                units.setYRange(0, 1)
                units.addLegend(offset=(-5, 5), labelTextSize="7pt")
                self.plots[key].append((units,))
        self._link_axes(key)

    def _link_axes(self, key: str) -> None:
        items = self.plots[key]
        for row in range(len(items[0]) if items else 0):
            first = items[0][row]
            if not isinstance(first, pg.PlotItem):
                continue
            for other in items[1:]:
                other[row].setXLink(first)
                other[row].setYLink(first)

    def redraw(self, *_) -> None:
        """Draw the visible tab's data (the others, and this view when hidden, are drawn when shown)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        page = list(self.pages)[self.tabs.currentIndex()]
        if self.runs and not self.plots[page]:
            self._build(page)
        suffix = {"norms": ": colour = depth, dark near the input", "heatmap": ": log10 gradient norm",
                  "histograms": "", "units": ": saturated (sigmoid/tanh) or dead (ReLU) units"}[page]
        for run, items in zip(self.runs, self.plots[page]):  # a run's state changes as it trains
            if page != "histograms":
                items[0].setTitle(self._title(run) + suffix)
        if page == "norms":
            self._draw_norms()
            self._draw_profile()
        elif page == "heatmap":
            self._draw_heatmap()
        elif page == "histograms":
            self._draw_histograms()
        else:
            self._draw_units()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.redraw()

    def _draw_norms(self) -> None:
        weight = self.smoothing.value()
        for run, items in zip(self.runs, self._curves):
            shown = smooth(run.norms, weight) if run.norms.size else run.norms
            for depth, item in enumerate(items):
                values = shown[:, depth] if shown.size else np.zeros(0)
                ok = np.isfinite(values) & (values > 0)
                item.setData(run.steps[ok], values[ok])

    def _draw_heatmap(self) -> None:
        norms_all = [r.norms for r in self.runs if r.norms.size]
        finite = np.concatenate([n[np.isfinite(n) & (n > 0)] for n in norms_all]) if norms_all else np.zeros(0)
        levels = (np.log10(finite.min()), np.log10(finite.max())) if finite.size else (0, 1)  # shared: comparable colours
        for run, (heat, image) in zip(self.runs, self.plots["heatmap"]):
            if not run.norms.size:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                image.setImage(np.log10(run.norms.T), levels=levels)
            image.setColorMap(pg.colormap.get("viridis"))
            image.setRect(float(run.steps[0]), 0.5, float(max(run.steps[-1] - run.steps[0], 1)), len(run.layers))
            heat.autoRange()  # a hidden tab's view box does not follow its items by itself

    def _draw_units(self) -> None:
        for run, (units,) in zip(self.runs, self.plots["units"]):
            units.clear()
            acts = run.activations
            colours = depth_colors(len(acts.get("layers", [])))
            for depth, (name, kind) in enumerate(zip(acts.get("layers", []), acts.get("activation", []))):
                column = "dead" if kind == "relu" else "saturated" if kind in ("sigmoid", "tanh") else None
                if column is None:
                    continue
                units.plot(acts["steps"], acts[column][:, depth], pen=pg.mkPen(colours[depth], width=1.5),
                           symbol="o", symbolSize=4, symbolBrush=colours[depth], name=f"{name} ({column})")

    def _draw_profile(self, *_) -> None:
        step = self.slider.value()
        self.step_label.setText(f"step {step}")
        for run, (_, profile) in zip(self.runs, self.plots.get("norms", [])):
            profile.clear()
            if not len(run.steps):
                continue
            at = int(np.searchsorted(run.steps, step, side="right")) - 1
            depths = np.arange(1, len(run.layers) + 1)
            for index, label, style in ((0, f"step {run.steps[0]}", Qt.PenStyle.DashLine),
                                        (max(at, 0), f"step {run.steps[max(at, 0)]}", Qt.PenStyle.SolidLine)):
                values = run.norms[index]
                ok = np.isfinite(values) & (values > 0)
                profile.plot(depths[ok], values[ok], pen=pg.mkPen("#333", width=2, style=style), symbol="o",
                             symbolSize=6, name=label)

    def _draw_histograms(self, *_) -> None:
        name = self.layer.currentText()
        for run, (hist, image) in zip(self.runs, self.plots.get("histograms", [])):
            h = run.histograms
            if not h or name not in h["layers"]:
                image.clear()
                continue
            counts = h["counts"][:, h["layers"].index(name), :].astype(float)
            fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
            image.setImage(fractions.T, levels=(0, max(float(fractions.max()), 1e-9)))
            image.setColorMap(pg.colormap.get("magma"))
            edges = h["edges"]
            image.setRect(-0.5, float(edges[0]), len(h["steps"]), float(edges[-1] - edges[0]))
            hist.getAxis("bottom").setTicks([[(i, str(s)) for i, s in enumerate(h["steps"])]])
            hist.autoRange()
            hist.setTitle(f"{run.name}: {name}, share of |g| per log10 bin")

    def save(self, path: str) -> Path:
        page = self.pages[list(self.pages)[self.tabs.currentIndex()]]
        return save_figure(page, path)

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save figure", "gradients.png", "PNG image (*.png);;SVG image (*.svg)")
        if path:
            try:
                self.save(path)
            except (ValueError, OSError) as e:
                self.status.setText(f"<span style='color:#b00020'>Cannot save: {e}</span>")
