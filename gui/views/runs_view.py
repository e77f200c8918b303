"""Runs: every run folder with its state; reopen its curves and confusion matrix, compare, delete, export.

Also the curve helpers the Train view shares, so both views draw a run's per-epoch numbers alike:
`history_plot`, `plot_series` (non-finite values left out, the line broken there), `mark_non_finite`
(a red line with "loss = NaN" where the loss stopped being a number), and `PlotPanel` (plots side by
side when there is room, in tabs when not).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from zoo.errors import ZooError
from zoo.runs import RunInfo, list_runs, read_json

from ..plotting import PALETTE

COLUMNS = ("State", "Model", "Dataset", "Test accuracy", "Epochs", "Started", "Folder")
STATE_COLOURS = {"completed": "#1b7f3b", "stopped": "#8a6d00", "diverged": "#b00020", "failed": "#b00020",
                 "interrupted": "#8a6d00", "broken": "#b00020", "running": "#1f5fbf"}
NON_FINITE_COLOUR = "#c00000"
METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error", "mse": "Mean squared error"}
NOT_METRICS = {"epoch", "seconds", "loss", "learning_rate", "lr"}


# -- curves shared with the Train view -------------------------------------------------------------
class LegendSample(ItemSample):
    """A legend sample long enough to show a dashed line on both sides of its marker (pyqtgraph's is 20 px)."""

    WIDTH = 40

    def __init__(self, item):
        super().__init__(item)
        self.setFixedWidth(self.WIDTH)

    def boundingRect(self):
        return QRectF(0, 0, self.WIDTH, 20)

    def paint(self, p, *args):
        if not self.item.isVisible():
            return super().paint(p, *args)
        opts = self.item.opts  # the curve's own settings (its scatter's are set only once it has data)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(pg.mkPen(opts["pen"]))
        p.drawLine(0, 11, self.WIDTH, 11)
        if opts.get("symbol") is not None:
            p.translate(self.WIDTH / 2, 11)
            drawSymbol(p, opts["symbol"], opts["symbolSize"], pg.mkPen(opts["symbolPen"]), pg.mkBrush(opts["symbolBrush"]))


class HistoryPlot(pg.PlotWidget):
    """A plot of per-epoch values, with its legend below the axis (never on the data), in as many columns as fit."""

    def __init__(self, title: str):
        super().__init__()  # the title is the y axis' label: a title row would take height small windows lack
        self.setLabel("left", title)
        self.setLabel("bottom", "epoch")
        self.getAxis("left").enableAutoSIPrefix(False)  # accuracies read 0.123, not 123 (x0.001)
        self.getViewBox().setDefaultPadding(0.06)  # markers at the extremes stay whole
        self.showGrid(x=True, y=True, alpha=0.2)
        item = self.getPlotItem()
        self.history_legend = pg.LegendItem(colCount=2, sampleType=LegendSample, labelTextSize="8pt", horSpacing=4, frame=False)
        item.layout.addItem(self.history_legend, 4, 1)
        item.legend = self.history_legend  # plot(name=...) adds its entry, clear() removes it

    def fit_legend(self, width: int | None = None) -> None:
        """As many legend columns as the plot's width holds (a legend wider than the plot would widen it past its edge)."""
        legend = self.__dict__.get("history_legend")  # resize events come before __init__ has made it
        entries = legend.items if legend is not None else []
        if not entries:
            return
        widest = max(sample.width() + label.item.boundingRect().width() for sample, label in entries) + 12
        columns = max(1, min(len(entries), int(((width or self.width()) - 50) // widest)))
        if columns != legend.columnCount:
            legend.setColumnCount(columns)
            if width is None and self.centralWidget is not None:  # the plot's own size again, under the new minimum
                self.centralWidget.setGeometry(self.range)

    def resizeEvent(self, event) -> None:
        self.fit_legend(event.size().width() if event is not None else None)  # first: the plot then fits the width
        super().resizeEvent(event)


def history_plot(title: str) -> HistoryPlot:
    return HistoryPlot(title)


def frame(plots) -> None:
    """Show every finite point and every mark of plots that share their x axis (one x range spans them all: a
    linked auto-range would show only the last plot's); each y range fits its own points, 0-1 when it has none."""
    xs = []
    for plot in plots:
        for item in plot.listDataItems():
            x = item.getData()[0]
            if x is not None:
                xs.extend(np.asarray(x, float)[np.isfinite(x)])
        xs.extend(line.value() for line in markers(plot))
    for plot in plots:
        box = plot.getViewBox()
        if any(len(item.getData()[0] if item.getData()[0] is not None else []) for item in plot.listDataItems()):
            box.enableAutoRange(y=True)
        else:
            box.enableAutoRange(y=False)
            box.setYRange(0, 1, padding=0.05)
    if xs:
        lo, hi = min(xs), max(xs)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        plots[0].getViewBox().setXRange(lo, hi, padding=0.05)


def series_pen(colour, validation: bool = False, width: float = 2.0):
    """Train: a solid line; validation: a dashed one (a dash pattern that shows in a legend sample too)."""
    pen = pg.mkPen(colour, width=width)
    if validation:
        pen.setStyle(Qt.PenStyle.CustomDashLine)
        pen.setDashPattern([2.5, 2.0])
    return pen


def finite_points(xs, ys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The finite (x, y) pairs, and pyqtgraph's `connect` array: no line across a left-out value.

    None counts as non-finite (JSON's NaN). Nothing non-finite reaches pyqtgraph, which warns about
    all-NaN data and draws nothing for it.
    """
    xs = np.asarray([np.nan if v is None else v for v in xs], float)
    ys = np.asarray([np.nan if v is None else v for v in ys], float)
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    kept = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    connect = np.append(np.diff(kept) == 1, False) if len(kept) else np.zeros(0, bool)
    return xs[kept], ys[kept], connect


def set_series(curve: pg.PlotDataItem, xs, ys) -> None:
    x, y, connect = finite_points(xs, ys)
    curve.setData(x, y, connect=connect if len(x) else "all")


def plot_series(plot, xs, ys, colour, *, validation: bool = False, name: str | None = None) -> pg.PlotDataItem:
    """Per-epoch values: train solid with filled circles, validation dashed with hollow squares."""
    curve = plot.plot(name=name, pen=series_pen(colour, validation), symbol="s" if validation else "o",
                      symbolSize=7 if validation else 6, symbolPen=pg.mkPen(colour, width=1.5),
                      symbolBrush=pg.mkBrush("w" if validation else colour))
    set_series(curve, xs, ys)
    return curve


def mark_non_finite(plot, x: float, text: str) -> pg.InfiniteLine:
    """A red vertical line at `x` labelled with `text` (e.g. "loss = NaN"), kept inside the view."""
    line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pg.mkPen(NON_FINITE_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                           label=text, labelOpts={"position": 0.9, "color": NON_FINITE_COLOUR,
                                                  "fill": pg.mkBrush(255, 255, 255, 230)})
    line.setZValue(-5)  # behind the curves: it marks a place, it does not hide points
    line.marker_text = text
    plot.addItem(line)
    return line


def markers(plot) -> list[pg.InfiniteLine]:
    """The non-finite markers of a plot (for tests and the range)."""
    return [item for item in plot.getPlotItem().items if hasattr(item, "marker_text")]


def first_non_finite(xs, *series) -> float | None:
    """The first x at which any of the series has a non-finite value (None: JSON's NaN or infinity)."""
    bad = [x for values in series if values for x, v in zip(xs, values) if v is None or not np.isfinite(v)]
    return min(bad) if bad else None


def non_finite_word(text: str | None) -> str:
    """How zoo's divergence message names the value: "NaN", "inf" or "-inf" (NaN when it does not say)."""
    found = re.search(r"became (-?inf|nan)\b", text or "", re.IGNORECASE)
    return {"nan": "NaN"}.get(found.group(1).lower(), found.group(1).lower()) if found else "NaN"


def metric_key(keys) -> str:
    """The metric a view plots beside the loss: accuracy when there is one, else the first other metric."""
    names = [k for k in keys if not k.startswith("val_") and k not in NOT_METRICS]
    return "accuracy" if "accuracy" in names or not names else names[0]


class PlotPanel(QTabWidget):
    """Plots side by side while each gets `min_width` pixels, else as many per tab as fit (the tab bar hides for one)."""

    def __init__(self, plots: list[tuple[str, QWidget]], min_width: int = 280, parent=None):
        super().__init__(parent)
        self.setDocumentMode(True)
        self.tabBar().setAutoHide(True)
        self.plots = list(plots)
        self.min_width = min_width
        self.per_page = 0
        self._arrange(len(self.plots))

    def set_title(self, plot: QWidget, title: str) -> None:
        self.plots = [(title if p is plot else t, p) for t, p in self.plots]
        self._name_tabs()

    def show_plot(self, plot: QWidget) -> None:
        """Bring the tab that holds `plot` to the front."""
        for i in range(self.count()):
            if plot in self.widget(i).plots:
                self.setCurrentIndex(i)

    def resizeEvent(self, event) -> None:
        per_page = max(1, min(len(self.plots), event.size().width() // self.min_width))
        if per_page != self.per_page:
            self._arrange(per_page)
        super().resizeEvent(event)

    def _arrange(self, per_page: int) -> None:
        current = self.currentWidget().plots[0] if self.count() else None
        self.per_page = per_page
        while self.count():
            page = self.widget(0)
            self.removeTab(0)
            for _, plot in self.plots:
                if plot.parent() is page:
                    plot.setParent(None)
            page.deleteLater()
        for start in range(0, len(self.plots), per_page):
            page = QWidget()
            page.plots = [plot for _, plot in self.plots[start:start + per_page]]
            row = QHBoxLayout(page)
            row.setContentsMargins(0, 0, 0, 0)
            for plot in page.plots:
                row.addWidget(plot, 1)
                plot.show()
            self.addTab(page, "")
        self._name_tabs()
        if current is not None:
            self.show_plot(current)

    def _name_tabs(self) -> None:
        titles = dict((id(p), t) for t, p in self.plots)
        for i in range(self.count()):
            self.setTabText(i, " · ".join(titles[id(p)] for p in self.widget(i).plots))


# -- the view --------------------------------------------------------------------------------------
class RunsView(QWidget):
    """Lists `zoo.runs.list_runs()`. Selecting one run shows its curves and confusion matrix; several, overlaid."""

    needs_tensorflow = False
    show_gradients = Signal(object)  # run folders to open in the Gradients view
    export_requested = Signal(str)
    resume_requested = Signal(str)

    def __init__(self, parent=None, confirm=None):
        super().__init__(parent)
        self.confirm = confirm or _ask  # tests replace the confirmation dialog
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)  # a narrow column elides its text ("…") instead of cutting a second line
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.gradients_button = QPushButton("Gradients")
        self.gradients_button.clicked.connect(lambda: self.show_gradients.emit([str(r.path) for r in self.selected()]))
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(lambda: self.selected() and self.export_requested.emit(str(self.selected()[0].path)))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue an interrupted or stopped run from its last epoch checkpoint")
        self.resume_button.clicked.connect(lambda: self.selected() and self.resume_requested.emit(str(self.selected()[0].path)))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        for b in (self.refresh_button, self.gradients_button, self.export_button, self.resume_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.details = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loss_plot = history_plot("Loss")
        self.accuracy_plot = history_plot("Accuracy")
        self.accuracy_plot.setXLink(self.loss_plot)
        self.confusion_plot = pg.PlotWidget(title="Confusion matrix, test set (log colour)")
        self.confusion_plot.invertY(True)
        self.confusion_plot.setAspectLocked(True)
        self.confusion_image = pg.ImageItem()
        self.confusion_image.setColorMap(pg.colormap.get("viridis"))
        self.confusion_plot.addItem(self.confusion_image)
        self._confusion_labels: list = []
        self.confusion: np.ndarray | None = None
        self.plots = PlotPanel([("Loss", self.loss_plot), ("Accuracy", self.accuracy_plot),
                                ("Confusion matrix", self.confusion_plot)])
        self.confusion_plot.installEventFilter(self)  # every cell in view whenever it is shown or resized

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.table)
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        splitter.addWidget(top)
        details_and_plots = QWidget()
        dp = QVBoxLayout(details_and_plots)
        dp.setContentsMargins(0, 0, 0, 0)
        dp.addWidget(self.details)
        dp.addWidget(self.plots, 1)
        splitter.addWidget(details_and_plots)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([250, 450])
        self._split_by_user = False
        splitter.splitterMoved.connect(lambda *_: setattr(self, "_split_by_user", True))
        QVBoxLayout(self).addWidget(splitter)
        self.runs: list[RunInfo] = []
        self.refresh()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._split_by_user:  # the table under a third of the height (90-250 px), the plots the rest
            total = event.size().height() - 2 * self.splitter.handleWidth() - 18  # less the margins
            top = max(min(int(total * 0.3), 250), 90)
            self.splitter.setSizes([top, total - top])

    def eventFilter(self, watched, event) -> bool:
        if watched is self.confusion_plot and event.type() in (QEvent.Type.Show, QEvent.Type.Resize):
            self._frame_confusion()
        return super().eventFilter(watched, event)

    def _frame_confusion(self) -> None:
        """Every cell of the matrix in view (its aspect kept square), whatever the plot's size."""
        if self.confusion is not None and self.confusion_plot.isVisible():
            n = len(self.confusion)
            self.confusion_plot.getViewBox().setRange(QRectF(-0.5, -0.5, n, n), padding=0.02)

    def refresh(self) -> None:
        selected = {str(r.path) for r in self.selected()}
        self.runs = list_runs()
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            accuracy = "" if run.accuracy is None else f"{run.accuracy:.1%}"
            epochs = f"{run.epochs_completed}/{run.epochs}" if run.epochs else ""
            values = (run.state, run.model, run.dataset, accuracy, epochs, run.started.replace("T", " ")[:16], run.path.name)
            for j, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if j == 0:
                    cell.setForeground(QColor(STATE_COLOURS.get(run.state, "#222")))
                cell.setToolTip(run.problem or run.message or str(run.path))
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        self.table.clearSelection()
        for i, run in enumerate(self.runs):
            if str(run.path) in selected:
                self.table.selectRow(i)
        self.table.blockSignals(False)
        self._show_selected()

    def selected(self) -> list[RunInfo]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select(self, *paths) -> None:
        wanted = {str(Path(p)) for p in paths}
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for i, run in enumerate(self.runs):
            if str(run.path) in wanted:
                self.table.selectRow(i)
        self.table.setSelectionMode(mode)

    def _show_selected(self) -> None:
        runs = self.selected()
        self.loss_plot.clear()
        self.accuracy_plot.clear()
        self.confusion_image.clear()
        self.confusion = None
        self._show_confusion_axes(False)
        self.gradients_button.setEnabled(bool(runs))
        self.export_button.setEnabled(len(runs) == 1 and runs[0].finished_ok)
        self.delete_button.setEnabled(bool(runs))
        self.resume_button.setEnabled(len(runs) == 1 and runs[0].state in ("interrupted", "stopped")
                                      and (runs[0].path / "checkpoint" / "checkpoint.json").is_file())
        if not runs:
            self.details.setText("Select a run to see its curves; select several to compare them.")
            return
        lines, metrics = [], []
        for i, run in enumerate(runs):
            colour = PALETTE[i % len(PALETTE)]
            lines.append(f"<b style='color:{colour}'>{run.model}</b> · {run.dataset} · {run.state}"
                         + (f" · test accuracy {run.accuracy:.2%}" if run.accuracy is not None else "")
                         + (f"<br><span style='color:#b00020'>{run.problem}</span>" if run.problem else "")
                         + (f"<br>{run.message}" if run.message else ""))
            metrics.append(self._plot_history(run, colour, label=run.model if len(runs) > 1 else None))
        self.details.setText("<br>".join(lines))
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.fit_legend()
        frame((self.loss_plot, self.accuracy_plot))
        metric = next((m for m in metrics if m), "accuracy")
        title = METRIC_TITLES.get(metric, metric)
        self.accuracy_plot.setLabel("left", title)
        self.plots.set_title(self.accuracy_plot, title)
        if len(runs) == 1:
            self._show_confusion(runs[0])

    def _plot_history(self, run: RunInfo, colour: str, label: str | None) -> str | None:
        """Draw one run's history.json; returns the metric drawn beside the loss."""
        try:
            history = read_json(run.path / "history.json")
        except ZooError:
            return None
        if not isinstance(history, dict):
            return None
        epochs = history.get("epoch", [])
        metric = metric_key(history)
        for plot, key in ((self.loss_plot, "loss"), (self.accuracy_plot, metric)):
            for validation in (False, True):
                values = history.get(("val_" if validation else "") + key)
                if values and len(values) == len(epochs):
                    name = (f"{label} " if label else "") + ("validation" if validation else "train")
                    plot_series(plot, epochs, values, colour, validation=validation, name=name)
        loss, val_loss = (history.get(k) if len(history.get(k) or []) == len(epochs) else None for k in ("loss", "val_loss"))
        x = first_non_finite(epochs, loss, val_loss)
        if x is not None:
            which = "loss" if first_non_finite(epochs, loss) == x else "validation loss"
            text = (f"{label}: " if label else "") + f"{which} = {non_finite_word(run.message)}"
            for plot in (self.loss_plot, self.accuracy_plot):
                mark_non_finite(plot, x, text)
        return metric

    def _show_confusion(self, run: RunInfo) -> None:
        try:
            confusion = read_json(run.path / "confusion.json")
            matrix = np.asarray(confusion["matrix"], float)
            labels = confusion["labels"]
        except (ZooError, KeyError, TypeError, ValueError):
            return
        self.confusion = matrix
        self.confusion_image.setImage(np.log1p(matrix))  # log: the off-diagonal mistakes stay visible
        self.confusion_image.setRect(-0.5, -0.5, len(labels), len(labels))
        ticks = [[(i, str(label)) for i, label in enumerate(labels)]]
        self.confusion_plot.getAxis("bottom").setTicks(ticks)
        self.confusion_plot.getAxis("left").setTicks(ticks)
        self.confusion_plot.setLabel("bottom", "predicted")
        self.confusion_plot.setLabel("left", "true")
        self._show_confusion_axes(True)
        self._frame_confusion()

    def _show_confusion_axes(self, shown: bool) -> None:
        """Axes for a matrix; without one (several runs, or a run never tested), a title that says so."""
        for axis in ("left", "bottom"):
            self.confusion_plot.showAxis(axis, shown)
        runs = self.selected()
        why = "one run at a time" if len(runs) > 1 else "none (not tested)" if runs else "select a run"
        self.confusion_plot.setTitle("Confusion matrix, test set (log colour)" if shown else f"Confusion matrix: {why}")

    def delete_selected(self) -> None:
        runs = self.selected()
        if not runs:
            return
        running = [r for r in runs if r.state == "running"]
        if running:
            QMessageBox.information(self, "zoo", f"{running[0].path.name} is still running; stop it first.")
            return
        names = "\n".join(r.path.name for r in runs)
        if not self.confirm(self, f"Delete {len(runs)} run folder(s)? This cannot be undone.\n\n{names}"):
            return
        for run in runs:
            shutil.rmtree(run.path, ignore_errors=True)
        self.refresh()


def _ask(parent, text: str) -> bool:
    answer = QMessageBox.question(parent, "Delete runs", text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
