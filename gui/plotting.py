"""pyqtgraph set-up shared by the views: light theme, colours by depth, saving figures as PNG or SVG."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

pg.setConfigOptions(background="w", foreground="#222", antialias=True, imageAxisOrder="row-major")

# Tableau 10: the palette matplotlib (and zoo's static figures) use, so the app and `zoo compare` agree
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

FIGURE_SCALE = 2  # PNG pixels per screen pixel: sharp on a slide or a high-DPI screen
DEFAULT_FIGURE_SIZE = (1000, 650)  # the layout size of a figure that was never shown (no size of its own yet)
MIN_FIGURE_SIZE = (200, 150)  # smaller than this on screen: laid out at DEFAULT_FIGURE_SIZE for the file


def depth_colors(n: int) -> list:
    """n colours from near the input (dark blue) to near the output (yellow), viridis-like."""
    cmap = pg.colormap.get("viridis")
    return [cmap.map(0.9 * i / max(n - 1, 1), mode="qcolor") for i in range(n)]


def _source(item) -> tuple[QGraphicsScene, QRectF, QColor]:
    """The scene to render, the part of it that is the figure, and the background to paint under it.

    A figure that was never shown (a hidden tab, a view not yet on screen) has no size of its own:
    its layout is given DEFAULT_FIGURE_SIZE first, so the file is never empty (a zero-sized image
    is what made Qt say "QPainter::begin: Paint device returned engine == 0" and write nothing).
    """
    background = QColor(pg.mkColor(pg.getConfigOption("background")))
    if isinstance(item, QGraphicsScene):
        return item, item.itemsBoundingRect(), background
    if isinstance(item, pg.GraphicsView):  # a GraphicsLayoutWidget or a PlotWidget
        brush = item.backgroundBrush()
        if brush.style() != Qt.BrushStyle.NoBrush:
            background = brush.color()
        central = item.centralWidget
        rect = central.sceneBoundingRect() if central is not None else item.scene().itemsBoundingRect()
        if central is not None and (rect.width() < MIN_FIGURE_SIZE[0] or rect.height() < MIN_FIGURE_SIZE[1]):
            width, height = item.width(), item.height()
            if width < MIN_FIGURE_SIZE[0] or height < MIN_FIGURE_SIZE[1]:
                width, height = DEFAULT_FIGURE_SIZE
            central.setGeometry(QRectF(0, 0, width, height))
            layout = getattr(central, "layout", None)
            if layout is not None and hasattr(layout, "activate"):
                layout.activate()
            rect = central.sceneBoundingRect()
        return item.scene(), rect, background
    scene = item.scene() if hasattr(item, "scene") else None
    if scene is None:
        raise ValueError("Cannot save a figure that is not in a plot window")
    return scene, item.sceneBoundingRect(), background


SVG = "http://www.w3.org/2000/svg"
_MATRIX = re.compile(r"matrix\(([^)]*)\)")
_POINT = re.compile(r"([A-Za-z]?)(-?[0-9.]+(?:e[-+]?[0-9]+)?),(-?[0-9.]+(?:e[-+]?[0-9]+)?)")


def _bake_transforms(path: Path) -> None:
    """Map the coordinates of thin-line shapes into the figure's own coordinates and drop their group's transform.

    Qt draws a plot's curves in data coordinates under a large scaling transform, with
    `vector-effect="non-scaling-stroke"` to keep the lines thin. Viewers without that SVG Tiny 1.2
    feature (ImageMagick, older editors) would scale the stroke too: a 1-pixel line becomes a band.
    Groups holding anything else (text, images, strokes that should scale) are left as they are.
    """
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = ET.parse(path)
    shapes = {f"{{{SVG}}}{tag}" for tag in ("path", "polyline", "polygon")}
    for group in tree.getroot().iter(f"{{{SVG}}}g"):
        match = _MATRIX.fullmatch(group.get("transform", "").strip())
        children = list(group)
        if match is None or not children or any(c.tag not in shapes or c.get("vector-effect") != "non-scaling-stroke"
                                                for c in children):
            continue
        a, b, c_, d, e, f = (float(v) for v in match.group(1).split(","))

        def point(m: re.Match) -> str:
            x, y = float(m.group(2)), float(m.group(3))
            return f"{m.group(1)}{a * x + c_ * y + e:.6g},{b * x + d * y + f:.6g}"

        for child in children:
            attribute = "d" if child.tag.endswith("path") else "points"
            child.set(attribute, _POINT.sub(point, child.get(attribute, "")))
        del group.attrib["transform"]
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _screen_dpi() -> int:
    """The DPI QPicture records at (Qt's default: the primary screen's logical DPI, else 96)."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    return int(round(screen.logicalDotsPerInchX())) if screen is not None else 96


def _render(scene: QGraphicsScene, painter: QPainter, target: QRectF, source: QRectF, background: QColor) -> None:
    """Render in pyqtgraph's export mode (what its exporters do): symbols drawn as shapes, not cached pixmaps."""
    items = [i for i in scene.items() if hasattr(i, "setExportMode")]
    options = {"antialias": True, "background": background, "painter": painter, "resolutionScale": 1.0}
    for i in items:
        i.setExportMode(True, options)
    try:
        scene.render(painter, target, source)
    finally:
        for i in items:
            i.setExportMode(False)


def save_figure(item, path: str | Path) -> Path:
    """Save a figure as PNG or SVG, chosen by the suffix; returns the path written.

    `item`: a GraphicsLayoutWidget or PlotWidget (the whole figure), a PlotItem (one plot) or a
    QGraphicsScene. The scene is rendered by Qt itself (QImage / QSvgGenerator), so the file holds
    what is on screen, legends and colour bars included; raises OSError when nothing could be written.
    """
    from PySide6.QtSvg import QSvgGenerator

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"Cannot save a figure as {path.name}: use a .png or .svg file name")
    scene, source, background = _source(item)
    width, height = max(int(round(source.width())), 1), max(int(round(source.height())), 1)
    if suffix == ".png":
        # FIGURE_SCALE as a device pixel ratio, not a painter scale: items drawn at a fixed size on screen
        # (legends, labels) are scaled like the rest
        image = QImage(width * FIGURE_SCALE, height * FIGURE_SCALE, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(FIGURE_SCALE)
        image.fill(background)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                               | QPainter.RenderHint.SmoothPixmapTransform)
        _render(scene, painter, QRectF(0, 0, width, height), source, background)
        painter.end()
        if not image.save(str(path), "PNG"):
            raise OSError(f"Cannot write {path}: check that its folder exists and is writable")
    else:
        path.unlink(missing_ok=True)
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(width, height))
        generator.setViewBox(QRectF(0, 0, width, height))
        generator.setTitle(path.stem)
        generator.setResolution(_screen_dpi())  # pyqtgraph's axes are QPictures: replayed at another DPI, they shrink
        painter = QPainter()
        if not painter.begin(generator):
            raise OSError(f"Cannot write {path}: check that its folder exists and is writable")
        painter.fillRect(QRectF(0, 0, width, height), background)
        _render(scene, painter, QRectF(0, 0, width, height), source, background)
        painter.end()
        if not path.is_file() or path.stat().st_size == 0:
            raise OSError(f"Cannot write {path}: check that its folder exists and is writable")
        _bake_transforms(path)
    return path
