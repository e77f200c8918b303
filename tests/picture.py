"""What a person sees in a pyqtgraph plot, for GUI tests: visible ranges, drawn points, markers.

Picture tests assert on what is on screen, not on the data handed to the plot: after a view is drawn,
every finite point of every curve lies inside the visible range, and a plot with data is not empty.
Coordinates are the view's own: log10 of the value on a log axis (pyqtgraph draws log10 there).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def plot_item(plot) -> pg.PlotItem:
    """The PlotItem of a PlotWidget (or the item itself)."""
    return plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot


def visible_range(plot) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x0, x1), (y0, y1)) the view shows, in view coordinates (log10 on a log axis)."""
    (x0, x1), (y0, y1) = plot_item(plot).getViewBox().viewRange()
    return (x0, x1), (y0, y1)


def drawn_points(item) -> tuple[np.ndarray, np.ndarray]:
    """The finite points a PlotDataItem or ScatterPlotItem draws, in view coordinates."""
    if isinstance(item, pg.ScatterPlotItem):
        xs, ys = item.getData()
    else:
        xs, ys = item.getData()  # PlotDataItem: after its log transform, as drawn
    xs = np.asarray(xs if xs is not None else [], float)
    ys = np.asarray(ys if ys is not None else [], float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    return xs[ok], ys[ok]


def curves(plot) -> list:
    """The data items (curves and scatters) of a plot, legend names included via `.name()`."""
    return [item for item in plot_item(plot).listDataItems()]


def outside(plot, tolerance: float = 1e-9) -> list[tuple[str, float, float]]:
    """(curve name, x, y) of every finite drawn point that lies outside the visible range."""
    (x0, x1), (y0, y1) = visible_range(plot)
    dx, dy = tolerance * max(abs(x1 - x0), 1.0), tolerance * max(abs(y1 - y0), 1.0)
    missing = []
    for item in curves(plot):
        if hasattr(item, "isVisible") and not item.isVisible():
            continue
        xs, ys = drawn_points(item)
        off = (xs < x0 - dx) | (xs > x1 + dx) | (ys < y0 - dy) | (ys > y1 + dy)
        missing += [(str(item.name()), float(x), float(y)) for x, y in zip(xs[off], ys[off])]
    return missing


def assert_all_visible(plot) -> None:
    """Every finite point of every curve is inside the visible range."""
    missing = outside(plot)
    assert not missing, f"{len(missing)} points outside the view {visible_range(plot)}, e.g. {missing[:3]}"


def point_count(plot) -> int:
    """How many finite points the plot's curves draw (0: an empty plot)."""
    return sum(len(drawn_points(item)[0]) for item in curves(plot))


def axis_labels(axis) -> list[tuple]:
    """The tick labels an AxisItem draws, as it lays them out: [(rect in the axis' coordinates, text)]."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [(rect, text) for rect, _, text in specs[2]]


def overlapping_labels(axis) -> list[tuple[str, str]]:
    """Pairs of tick labels of the axis that touch each other on screen."""
    labels = axis_labels(axis)
    return [(a, b) for i, (ra, a) in enumerate(labels) for rb, b in labels[i + 1:] if ra.intersects(rb)]


def cut_labels(axis) -> list[str]:
    """Tick labels that stick out of the axis (drawn cut off by the plot beside it or the window's edge)."""
    bounds = axis.boundingRect()
    return [text for rect, text in axis_labels(axis) if not bounds.contains(rect)]


def scene_point(plot, x: float, y: float):
    """Where a point in view coordinates is on screen (scene pixels)."""
    from PySide6.QtCore import QPointF

    return plot_item(plot).getViewBox().mapViewToScene(QPointF(x, y))


def label_styles(texts) -> set[str]:
    """The styles of a log axis' tick labels: "power" (10⁻⁵, 2·10⁻⁵) and/or "plain" (0.001, 0.2, 5)."""
    return {"power" if "10" in t and any(c in t for c in "⁰¹²³⁴⁵⁶⁷⁸⁹") else "plain" for t in texts}


def unreachable(graphics_view, item) -> bool:
    """Whether a graphics item of a GraphicsView (a plot, a legend, a colour bar) is cut off where a person
    cannot see it: not inside the part of the view on screen, and not inside a view that a visible scroll bar
    scrolls (a row of plots wider than the window, in a QScrollArea, is reachable)."""
    from PySide6.QtWidgets import QScrollArea

    viewport = graphics_view.viewport()
    rect = graphics_view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    rect = rect.translated(viewport.mapTo(graphics_view, viewport.rect().topLeft())).adjusted(1, 1, -1, -1)
    if graphics_view.visibleRegion().boundingRect().contains(rect):
        return False
    parent = graphics_view.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is None or not graphics_view.rect().contains(rect):
        return True
    bars = [parent.horizontalScrollBar(), parent.verticalScrollBar()]
    room = graphics_view.width() - parent.viewport().width(), graphics_view.height() - parent.viewport().height()
    return any(extra > 0 and not (bar.isVisible() and bar.maximum() >= extra) for bar, extra in zip(bars, room))


def svg_texts(path) -> str:
    """All the text an SVG file draws, joined by spaces."""
    import xml.etree.ElementTree as ET

    return " ".join("".join(e.itertext()) for e in ET.parse(path).getroot().iter() if e.tag.split("}")[-1] == "text")


def region_colours(image, rect) -> np.ndarray:
    """The RGB pixels of a QImage (or a QPixmap) inside a QRect(F), as an (n, 3) int array."""
    from PySide6.QtGui import QImage

    image = image.toImage() if hasattr(image, "toImage") else image
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    r = rect.toRect() if hasattr(rect, "toRect") else rect
    ratio = image.devicePixelRatio()
    x0, y0 = max(int(r.left() * ratio), 0), max(int(r.top() * ratio), 0)
    x1, y1 = min(int(r.right() * ratio) + 1, image.width()), min(int(r.bottom() * ratio) + 1, image.height())
    bytes_per_line = image.bytesPerLine()
    data = np.frombuffer(image.constBits(), np.uint8, count=bytes_per_line * image.height())
    rows = data.reshape(image.height(), bytes_per_line)[:, :image.width() * 3].reshape(image.height(), image.width(), 3)
    return rows[y0:y1, x0:x1].reshape(-1, 3).astype(int)


def in_app_window(qtbot, view, title: str, before=()):
    """`view` as the app holds it: a tab (after the `before` (widget, title) tabs) of a main window with a status
    bar, not yet shown. Returns (window, tabs)."""
    from PySide6.QtWidgets import QMainWindow, QTabWidget

    window = QMainWindow()
    tabs = QTabWidget(documentMode=True)
    for widget, name in before:
        tabs.addTab(widget, name)
    tabs.addTab(view, title)
    window.setCentralWidget(tabs)
    window.statusBar().showMessage("ready")
    qtbot.addWidget(window)
    return window, tabs
