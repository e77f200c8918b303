"""A run's per-epoch curves, drawn alike by the Train and Runs views.

`history_plot`, `plot_series` (non-finite values left out, the line broken there; the values measured after
the loss stopped being a number drawn grey, apart), `mark_non_finite` (a red line with "loss = NaN" where
the loss stopped being a number), `add_key` (a legend entry for a style, not a curve: the Runs view's
"train" and "validation" when several runs share a plot), `frame` (one x range covering every finite point
of linked plots) and `PlotPanel` (plots side by side when there is room, in tabs when not).

The axes are `ReadableAxis`: whole epochs on x ("epoch", never "epoch (x0.001)"), tick labels that never overlap.
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

from .plotting import readable_axes

NON_FINITE_COLOUR = "#c00000"
STALE_COLOUR = "#a0a0a0"  # values measured after the loss stopped being a number: not the model's
KEY_COLOUR = "#444444"  # the style key's samples (train, validation) when the colours are the runs'
LEGEND_SLACK = 4  # pixels a legend row keeps free on its right: a label is never cut at the plot's edge
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


class HistorySample(LegendSample):
    """A history plot's legend sample: long enough for two dashes either side of the marker, short enough for
    three entries in a row of a 280-pixel plot."""

    WIDTH = 32


class HistoryPlot(pg.PlotWidget):
    """A plot of per-epoch values, with its legend below the axis (never on the data), in as many columns as fit.

    Its axes are `ReadableAxis`es: whole-epoch ticks on x, labels that never overlap, no SI prefix."""

    def __init__(self, title: str):
        super().__init__(axisItems=readable_axes(integer_x=True))  # the title is the y axis' label: no title row
        self.__dict__.pop("clear", None)  # PlotWidget binds its PlotItem's clear() to the instance: ours clears the keys too
        self.setLabel("left", title)
        self.setLabel("bottom", "epoch")
        self.getViewBox().setDefaultPadding(0.06)  # markers at the extremes stay whole
        self.showGrid(x=True, y=True, alpha=0.2)
        item = self.getPlotItem()
        item.layout.setContentsMargins(2, 2, 10, 2)  # room on the right for the last tick label ("3", not "3.(")
        self.history_legend = pg.LegendItem(colCount=2, sampleType=HistorySample, labelTextSize="8pt", horSpacing=4,
                                            frame=False)
        self.history_legend.layout.setContentsMargins(2, 0, 2, 0)
        item.layout.addItem(self.history_legend, 4, 1)
        item.legend = self.history_legend  # plot(name=...) adds its entry, clear() removes it
        self.key_items: list = []  # the items behind `add_key` entries (a legend sample keeps a reference too)

    def clear(self) -> None:
        """Every curve, mark and legend entry (style keys included) gone."""
        self.getPlotItem().clear()
        self.history_legend.clear()
        self.key_items = []

    def legend_texts(self) -> list[str]:
        """The legend's entries, in order (what a person reads under the plot)."""
        return [label.text for _, label in self.history_legend.items]

    def legend_width(self, columns: int) -> float:
        """The width the legend's layout needs in `columns` columns (entries fill the rows left to right): each
        column its widest sample and label, the spacing between all of them, the margins."""
        legend = self.history_legend
        spacing = legend.layout.horizontalSpacing()
        widths = [(sample.boundingRect().width(), label.minimumWidth()) for sample, label in legend.items]
        used = [widths[column::columns] for column in range(columns) if widths[column::columns]]
        total = sum(max(w for w, _ in entries) + max(w for _, w in entries) for entries in used)
        left, _, right, _ = legend.layout.getContentsMargins()
        return total + (2 * len(used) - 1) * spacing + left + right

    def legend_room(self, width: int | None = None) -> float:
        """The width the legend has: the plot's, less its left axis and margins (the legend sits under the data)."""
        item = self.getPlotItem()
        left, _, right, _ = item.layout.getContentsMargins()
        axis = item.getAxis("left")
        axis_width = axis.width() if axis.isVisible() else 0
        return (width or self.width()) - axis_width - left - right - LEGEND_SLACK - 2 * self.frameWidth()

    def fit_legend(self, width: int | None = None) -> None:
        """As many legend columns as the plot's width holds (a legend wider than the plot would widen it past its
        edge and cut its last label: "validatior")."""
        legend = self.__dict__.get("history_legend")  # resize events come before __init__ has made it
        entries = legend.items if legend is not None else []
        if not entries:
            return
        room = self.legend_room(width)
        columns = 1
        for n in range(len(entries), 1, -1):
            if self.legend_width(n) <= room:
                columns = n
                break
        if columns != legend.columnCount:
            legend.setColumnCount(columns)
            if width is None and self.centralWidget is not None:  # the plot's own size again, under the new minimum
                self.centralWidget.setGeometry(self.range)

    def resizeEvent(self, event) -> None:
        self.fit_legend(event.size().width() if event is not None else None)  # first: the plot then fits the width
        super().resizeEvent(event)


def history_plot(title: str) -> HistoryPlot:
    return HistoryPlot(title)


def frame(plots, empty_x: tuple[float, float] | None = None, span_x: tuple[float, float] | None = None) -> None:
    """Show every finite point and every mark of plots that share their x axis (one x range spans them all: a
    linked auto-range would show only the last plot's); each y range fits its own points (`y_range`).
    `empty_x`: the x range to show while there is no point at all (a new run's planned epochs, not the last run's;
    a run without a finite value: its planned epochs, so its NaN mark sits at its epoch, not in the middle);
    `span_x`: x values always in view (a running training's planned epochs)."""
    xs, empty = [], {}
    for plot in plots:
        for item in plot.listDataItems():
            x = item.getData()[0]
            if x is not None:
                xs.extend(np.asarray(x, float)[np.isfinite(x)])
    has_x = bool(xs)
    for plot in plots:
        xs.extend(line.value() for line in markers(plot))
    for plot in plots:
        box = plot.getViewBox()
        has_points = any(len(item.getData()[0] if item.getData()[0] is not None else []) for item in plot.listDataItems())
        box.enableAutoRange(y=False)
        lo, hi = y_range(plot)
        box.setYRange(lo, hi, padding=0)
        empty[plot] = not has_points and bool(markers(plot))
    if not has_x and empty_x is not None:
        xs = list(xs) + list(empty_x)
    if span_x is not None:
        xs = list(xs) + list(span_x)
    if xs:
        lo, hi = min(xs), max(xs)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        plots[0].getViewBox().setXRange(lo, hi, padding=0.05)
    for plot, show in empty.items():
        _note_no_finite_value(plot, show)


def y_range(plot) -> tuple[float, float]:
    """The y range a history plot shows: its finite points with a margin (markers at the extremes stay whole).

    A plot whose `unit_interval` is set (accuracy) stays within about 0..1 and never reads negative; with no
    point, or only grey values measured after the loss stopped being a number (they do not decide the range
    alone: two meaningless values 0.094 and 0.099 would fill the plot), it shows 0..1. A single value (or values
    all alike) gets a sensible range around it: 0.1 either side for an accuracy, a fifth of it for a loss."""
    unit = getattr(plot, "unit_interval", False)
    model, stale = [], []
    for item in plot.listDataItems():
        x, y = item.getData()
        if x is None or y is None or not len(y):
            continue
        y = np.asarray(y, float)
        (stale if getattr(item, "stale", False) else model).extend(y[np.isfinite(y)])
    if not model:
        return (-0.03, 1.03) if unit or not stale else _around(stale, unit)
    return _around(model + stale, unit)


def _around(values, unit: bool) -> tuple[float, float]:
    lo, hi = float(min(values)), float(max(values))
    if hi - lo < (0.05 if unit else 1e-9 + 0.02 * max(abs(lo), abs(hi))):
        middle = (lo + hi) / 2
        half = 0.1 if unit else max(0.2 * abs(middle), 0.05)
        lo, hi = min(lo, middle - half), max(hi, middle + half)
    pad = 0.06 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if unit:
        lo, hi = max(lo, -0.03), min(hi, 1.03) if hi - pad <= 1 else hi
        if hi - lo < 0.2:  # a point at 0 or 1: the range stays on the side that exists
            lo, hi = (lo, lo + 0.2) if lo < 0.5 else (hi - 0.2, hi)
    elif lo < 0 <= min(values):  # a loss is not negative: no axis below 0 for values near it
        lo = -0.03 * (hi - lo)
    return lo, hi


def _note_no_finite_value(plot, show: bool) -> None:
    """A plot whose every value is NaN or inf says so, beside its marks' lines (never struck through by one)."""
    note = getattr(plot, "no_finite_note", None)
    if note is None or note.scene() is None:  # clear() removed it with the other items
        note = plot.no_finite_note = pg.TextItem("no finite value\nto plot", color=NON_FINITE_COLOUR, anchor=(0.5, 0.5),
                                                      fill=pg.mkBrush(255, 255, 255, 230))  # two lines: fits beside a mark
        note.setZValue(5)
        plot.addItem(note, ignoreBounds=True)
    note.setVisible(show)
    if show:
        (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
        lines = [line.value() for line in markers(plot)]
        x = (x0 + x1) / 2
        anchor = (0.5, 0.5)
        if lines:
            first, last = min(lines), max(lines)
            if first - x0 > x1 - last:  # more room left of the lines: the note ends just left of the first
                x, anchor = first - 0.02 * (x1 - x0), (1, 0.5)
            else:
                x, anchor = last + 0.02 * (x1 - x0), (0, 0.5)
        note.setAnchor(anchor)
        note.setPos(x, y0 + 0.5 * (y1 - y0))


def note_if_empty(plot, text: str) -> None:
    """A plot with nothing drawn says why in its middle ("select a run"); `frame` has set its range."""
    drawn = any(len(item.getData()[0] if item.getData()[0] is not None else []) for item in plot.listDataItems())
    if drawn or markers(plot):
        return
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    note = pg.TextItem(text, color="#666", anchor=(0.5, 0.5))
    note.empty_note = True
    plot.addItem(note, ignoreBounds=True)
    note.setPos((x0 + x1) / 2, (y0 + y1) / 2)


def empty_note(plot) -> str | None:
    """The text of the note `note_if_empty` left on a plot, or None."""
    notes = [item for item in plot.getPlotItem().items if getattr(item, "empty_note", False)]
    return notes[0].toPlainText() if notes else None


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


def series_style(colour, validation: bool = False) -> dict:
    """How a series is drawn: train solid with filled circles, validation dashed with hollow squares."""
    return dict(pen=series_pen(colour, validation), symbol="s" if validation else "o", symbolSize=7 if validation else 6,
                symbolPen=pg.mkPen(colour, width=1.5), symbolBrush=pg.mkBrush("w" if validation else colour))


def stale_style(validation: bool = False) -> dict:
    """Values measured after the loss stopped being a number: grey, thin, hollow (the series' own marker shape)."""
    pen = series_pen(STALE_COLOUR, validation, width=1.2)
    return dict(pen=pen, symbol="s" if validation else "o", symbolSize=6, symbolPen=pg.mkPen(STALE_COLOUR, width=1.2),
                symbolBrush=pg.mkBrush("w"))


def stale_name(word: str = "NaN") -> str:
    """The legend entry of the grey values: what they come after."""
    return f"after {word}"


def plot_series(plot, xs, ys, colour, *, validation: bool = False, name: str | None = None, legend: bool = True,
                stale_from: float | None = None, word: str = "NaN", empty_in_legend: bool = True) -> pg.PlotDataItem:
    """Per-epoch values: train solid with filled circles, validation dashed with hollow squares.

    `legend`: whether `name` gets a legend entry (the curve keeps its name either way); `empty_in_legend`: whether
    a curve without a finite point gets one (the Train view's curves fill later; a finished run's never will).
    `stale_from`: the x where the loss stopped being a number; the values from there on (measured with weights
    that are no longer numbers) are a separate grey curve, `stale`, named "<name>, after NaN" (`add_stale_key`
    gives the plot one grey legend entry for them all), so they never read as the model's."""
    xs = list(xs)
    ys = list(ys)[:len(xs)]
    keep = [i for i, x in enumerate(xs) if stale_from is None or (x is not None and x < stale_from)]
    kept = set(keep)
    later = [i for i in range(len(xs)) if i not in kept]
    if not empty_in_legend and not len(finite_points([xs[i] for i in keep], [ys[i] for i in keep])[0]):
        legend = False
    curve = plot.plot(name=name if legend else None, **series_style(colour, validation))
    curve.opts["name"] = name  # named either way (tests and the Runs view find curves by name)
    set_series(curve, [xs[i] for i in keep], [ys[i] for i in keep])
    if stale_from is not None and len(finite_points([xs[i] for i in later], [ys[i] for i in later])[0]):
        stale = plot.plot(**stale_style(validation))
        stale.opts["name"] = f"{name or ('validation' if validation else 'train')}, {stale_name(word)}"
        stale.stale = True
        stale.word = word
        set_series(stale, [xs[i] for i in later], [ys[i] for i in later])
    return curve


def add_stale_key(plot) -> None:
    """The grey values' legend entry ("after NaN"), last, once the plot's series are drawn (none without them)."""
    for curve in stale_curves(plot):
        add_key(plot, stale_name(getattr(curve, "word", "NaN")), STALE_COLOUR, stale=True)
        return


def add_key(plot, name: str, colour=KEY_COLOUR, *, validation: bool = False, stale: bool = False) -> None:
    """A legend entry for a style rather than a curve (once per name): its sample is drawn as such a curve is."""
    legend = plot.getPlotItem().legend
    if legend is None or name in [label.text for _, label in legend.items]:
        return
    item = pg.PlotDataItem(**(stale_style(validation) if stale else series_style(colour, validation)))
    keys = plot.__dict__.setdefault("key_items", [])
    keys.append(item)
    legend.addItem(item, name)


def stale_curves(plot) -> list:
    """The grey curves of values measured after the loss stopped being a number."""
    return [item for item in plot.listDataItems() if getattr(item, "stale", False)]


def mark_non_finite(plot, x: float, text: str, position: float = 0.9, row: int = 0,
                    colour: str = NON_FINITE_COLOUR) -> pg.InfiniteLine:
    """A red vertical line at `x` labelled with `text` (e.g. "loss = NaN"), the label wholly inside the view
    however short the plot: hanging from its top edge (`position` over 0.5) or standing on its bottom edge;
    `row`: how many labels of other marks are above it (below it, at the bottom), when several runs are compared."""
    top = position > 0.5
    height = -row if top else 1 + row  # in the label's own height: rows stack without overlapping
    anchors = [(0, height), (1, height)]  # right of the line, or left of it past the view's middle (pyqtgraph picks)
    line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                           label=text, labelOpts={"position": 0.99 if top else 0.01, "color": colour,
                                                  "fill": pg.mkBrush(255, 255, 255, 200), "anchors": anchors})
    line.setZValue(-5)  # behind the curves: it marks a place, it does not hide points
    line.marker_text = text
    plot.addItem(line)
    return line


def free_position(plot, x: float | None = None) -> float:
    """Where on a mark's line at `x` its label covers the fewest points: near the top (0.9) unless fewer of the
    plot's finite points lie in the bottom band, right of the line where the label goes (accuracies: near 1)."""
    xs, ys = [], []
    for item in plot.listDataItems():
        dx, dy = item.getData()
        if dx is not None and dy is not None and len(dx):
            ok = np.isfinite(dx) & np.isfinite(dy)
            xs.extend(np.asarray(dx, float)[ok])
            ys.extend(np.asarray(dy, float)[ok])
    if len(ys) < 2 or max(ys) - min(ys) < 1e-12:
        return 0.9
    xs, ys = np.asarray(xs), np.asarray(ys)
    lo, hi = ys.min(), ys.max()
    x = xs.min() if x is None else x
    span = max(xs.max() - xs.min(), 1.0)
    near = (xs >= x - 0.1 * span) & (xs <= x + 0.5 * span)  # under the label: it starts at the line, goes right
    top = np.sum(near & (ys >= hi - 0.35 * (hi - lo)))
    bottom = np.sum(near & (ys <= lo + 0.35 * (hi - lo)))
    return 0.1 if bottom < top else 0.9


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


def augmented_copies(spec, dataset: str) -> int:
    """The distorted copies of each training image zoo adds for this spec and dataset (as
    zoo.training.with_augmented_training does): the spec's training.augment for a small image dataset, none for
    data that are not images or for MNIST, whose 60,000 images are over zoo.augment.LIMIT."""
    from zoo.datasets import dataset_info

    copies = getattr(getattr(spec, "training", None), "augment", 0) or 0
    try:
        images = len(dataset_info(dataset).feature_shape) == 2
    except Exception:  # an unknown dataset: zoo refuses it at start
        return 0
    return int(copies) if images and dataset != "mnist" else 0


def augment_note(copies: int) -> str:
    """What the Train and Runs views say of a run trained on distorted copies (its train curve under validation)."""
    return f"Train curves: on {copies} distorted copies of each image; below validation is expected."


def augment_why(copies: int) -> str:
    return (f"The spec adds {copies} distorted copies (rotated, scaled, shifted) of each training image to the "
            "training set. The train loss and accuracy are measured on all of them during the epoch; they are "
            "harder to read than the undistorted validation images, so the train curve lies under the validation "
            "curve without anything being wrong.")


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
