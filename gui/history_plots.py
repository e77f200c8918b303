"""A run's per-epoch curves, drawn alike by the Train and Runs views.

`history_plot`, `plot_series` (non-finite values left out, the line broken there), `mark_non_finite`
(a red line with "loss = NaN" where the loss stopped being a number), `frame` (one x range covering
every finite point of linked plots) and `PlotPanel` (plots side by side when there is room, in tabs when not).
"""
from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QWidget

NON_FINITE_COLOUR = "#c00000"
METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error", "mse": "Mean squared error"}
NOT_METRICS = {"epoch", "seconds", "loss", "learning_rate", "lr"}


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
