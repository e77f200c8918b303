"""pyqtgraph set-up shared by the views: light theme, colours by depth, axes whose tick labels never overlap,
text boxes that stay a few lines tall, saving figures as PNG or SVG."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QTextDocument
from PySide6.QtWidgets import QFrame, QGraphicsScene, QLabel, QScrollArea, QSizePolicy

pg.setConfigOptions(background="w", foreground="#222", antialias=True, imageAxisOrder="row-major")

# Tableau 10: the palette matplotlib (and zoo's static figures) use, so the app and `zoo compare` agree
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

FIGURE_SCALE = 2  # PNG pixels per screen pixel: sharp on a slide or a high-DPI screen
DEFAULT_FIGURE_SIZE = (1000, 650)  # the layout size of a figure that was never shown (no size of its own yet)
MIN_FIGURE_SIZE = (200, 150)
CAPTION_MARGIN = 8  # px around a saved figure's caption  # smaller than this on screen: laid out at DEFAULT_FIGURE_SIZE for the file


def depth_colors(n: int) -> list:
    """n colours from near the input (dark blue) to near the output (yellow), viridis-like."""
    cmap = pg.colormap.get("viridis")
    return [cmap.map(0.9 * i / max(n - 1, 1), mode="qcolor") for i in range(n)]


class ReadableAxis(pg.AxisItem):
    """An axis whose tick labels never overlap, whatever the plot's size.

    Major ticks are at least one label apart on screen (a label's height plus half of it on a vertical
    axis, its width plus a gap on a horizontal one): a short axis gets fewer, not overlapping, labels.
    Only the major ticks are labelled. `integer`: ticks at whole numbers only (steps, depths, epochs).
    `fixed`: [(value, text)] ticks always labelled (e.g. "exact 0"); regular ticks keep clear of them.
    `names`: {value: text} for an index axis (e.g. histogram column -> its recorded step). On a log axis
    the labels are whole decades, with 2s and 5s (or every digit) labelled too when fewer than three decades
    show, all in one style (0.2, 1, 5 or 10⁻⁵, 10⁰); the other 2..9 minor ticks show where a decade is tall.
    Nor is an end of a log axis left bare: where more than a factor of 3 lies beyond the last label (norms of 1 to
    5 above a "1", 10⁰ to 10^0.9 above labels every other decade), a decade, 5, 2 (or other digit) there is
    labelled too, where it keeps clear of the others.
    """

    def __init__(self, orientation: str, integer: bool = False, **kwargs):
        super().__init__(orientation, **kwargs)
        self.integer = integer
        self.fixed: list[tuple[float, str]] = []
        self.names: dict[int, str] | None = None
        self.enableAutoSIPrefix(False)  # "epoch", never "epoch (x0.001)"
        self.setStyle(maxTextLevel=0)

    def set_fixed(self, fixed) -> None:
        self.fixed = [(float(v), str(t)) for v, t in fixed]
        self.picture = None
        self.update()

    def set_names(self, names: dict | None) -> None:
        self.names = None if names is None else {int(k): str(v) for k, v in names.items()}
        self.picture = None
        self.update()

    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style["tickFont"] or self.font())

    def label_gap(self, lo: float, hi: float) -> float:
        """The pixels two neighbouring major ticks need between them for their labels not to touch."""
        metrics = self._metrics()
        if self.orientation in ("left", "right"):
            return metrics.height() * 1.5
        if self.names:
            texts = list(self.names.values())
        elif self.logMode:
            texts = ["10⁻¹⁰", "5·10⁻¹⁰", "0.005"]
        elif self.integer:  # labelled as whole numbers: "208", not "207.96"
            texts = [f"{round(v)}" for v in (lo, hi, (lo + hi) / 2, lo + (hi - lo) / 3)]
        else:
            texts = [f"{v:g}" for v in (lo, hi, (lo + hi) / 2, lo + (hi - lo) / 3)]
        return max(metrics.horizontalAdvance(t) for t in texts) + 2 * metrics.averageCharWidth() + 4

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        if self._tickSpacing is not None:
            return self._tickSpacing
        span = abs(maxVal - minVal)
        if span == 0 or size <= 0 or not np.isfinite(span):
            return super().tickSpacing(minVal, maxVal, size)
        pixels = size / span  # per unit
        need = self.label_gap(min(minVal, maxVal), max(minVal, maxVal)) / pixels  # units between labels, at least
        need = max(need, span / 8)  # never more than ~8 labels: a scale, not a ruler
        whole = self.integer or self.logMode or self.names is not None
        major = _nice(max(need, 1.0) if whole else need)
        levels = [(major, 0)]
        for divisor in (5, 2):  # unlabelled minor ticks, at least 4 px apart (whole ones on a whole-number axis)
            minor = major / divisor
            if minor * pixels >= 4 and (not whole or (minor >= 1 and abs(minor - round(minor)) < 1e-9)):
                levels.append((minor, 0))
                break
        return levels

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = super().tickValues(minVal, maxVal, size)
        if self.names is not None:
            levels = [(spacing, [v for v in values if round(v) in self.names]) for spacing, values in levels]
        if not self.fixed:
            return levels
        lo, hi = sorted((minVal, maxVal))
        fixed = [v for v, _ in self.fixed if lo <= v <= hi]
        clear = self.label_gap(lo, hi) * (hi - lo) / max(size, 1)  # no regular label this close to a fixed one
        kept = []
        for index, (spacing, values) in enumerate(levels):
            if index == 0:
                values = fixed + [v for v in values if all(abs(v - f) >= clear for f in fixed)]
            kept.append((spacing, values))
        return kept or [(None, fixed)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        """Whole decades; where fewer than three of them show (a short range: 0.2 to 5), the 2s and 5s of each
        decade (then every digit) are labelled too, as long as their labels keep apart: never a lone label."""
        lo, hi = sorted((minVal, maxVal))
        ticks = [(spacing, values) for spacing, values in stdTicks if spacing is not None and spacing >= 1.0]
        decades = [v for v in (ticks[0][1] if ticks else []) if lo <= v <= hi]
        if len(decades) < 3 and size > 0 and hi > lo:
            gap = self.label_gap(lo, hi) * (hi - lo) / size  # decades between two labels, at least
            labelled = decades
            for factors in ((1, 2, 5), tuple(range(1, 10))):
                candidates = [d + math.log10(k) for d in range(int(math.floor(lo)), int(math.ceil(hi)) + 1)
                              for k in factors]
                candidates = sorted((c for c in candidates if lo - 1e-9 <= c <= hi + 1e-9), key=_log_priority)
                kept: list[float] = []
                for value in candidates:  # whole decades first, then 5s, then 2s, then the other digits
                    if all(abs(value - k) >= gap for k in kept):
                        kept.append(value)
                if len(kept) > len(labelled):
                    labelled = kept
                if len(labelled) >= 3:
                    break
            if len(labelled) > len(decades):
                ticks = [(None, sorted(labelled))]
        if ticks and ticks[0][1] and size > 0 and hi > lo:
            ends = self._end_labels([v for v in ticks[0][1] if lo <= v <= hi], lo, hi, size)
            if ends:
                ticks[0] = (None, sorted(set(ticks[0][1]) | set(ends)))
        if size / max(hi - lo, 1e-9) >= 30:  # a tall decade: the other digits as unlabelled minor ticks
            labelled = set(round(v, 9) for v in (ticks[0][1] if ticks else []))
            minor = [v + math.log10(k) for v in range(int(math.floor(lo)), int(math.ceil(hi))) for k in range(2, 10)]
            ticks.append((None, [x for x in minor if lo < x < hi and round(x, 9) not in labelled]))
        return ticks

    def _end_labels(self, labelled: list[float], lo: float, hi: float, size: float) -> list[float]:
        """Log ticks to label at the ends of the axis, beyond its outermost labels, so that no more than a factor of
        MAX_BARE_END is left without a label at either end: a whole decade first, then a 5, a 2, another digit;
        the one nearest the end of each kind, at least a label's height from the other labels and inside the axis
        (a label that would stick out of it is not drawn)."""
        if not labelled:
            return []
        per_decade = size / (hi - lo)
        height = self._metrics().height()
        apart, margin = height / per_decade, 0.45 * height / per_decade  # in decades: labels are 0.8 of a line tall
        kept = sorted(labelled)
        added: list[float] = []
        for direction in (1, -1):  # the top end, then the bottom one
            for _ in range(4):
                outer = kept[-1] if direction > 0 else kept[0]
                end = hi if direction > 0 else lo
                if abs(end - outer) <= math.log10(MAX_BARE_END):
                    break
                candidates = [d + math.log10(k) for d in range(int(math.floor(lo)) - 1, int(math.ceil(hi)) + 1)
                              for k in range(1, 10)]
                candidates = [c for c in candidates if lo + margin <= c <= hi - margin and (c - outer) * direction > 0
                              and all(abs(c - k) >= apart for k in kept)]
                if not candidates:
                    break
                best = min(_log_priority(c)[0] for c in candidates)  # the simplest kind there: decade, 5, 2, other
                value = max((c for c in candidates if _log_priority(c)[0] == best), key=lambda c: c * direction)
                kept = sorted(kept + [value])
                added.append(value)
        return added

    def log_labels(self, values) -> list[str]:
        """Labels of log-axis ticks in one style for the whole axis: plain numbers (0.001 to 5000) when every
        label fits that, else powers of ten (10⁻⁵, 2·10⁻⁵, 10⁰) for all of them."""
        parts = []
        for value in values:
            exponent = int(math.floor(value + 1e-9))
            mantissa = int(round(10 ** (value - exponent)))
            if mantissa == 10:
                exponent, mantissa = exponent + 1, 1
            parts.append((mantissa, exponent))
        if all(-3 <= e <= 3 for _, e in parts):
            return [f"{m * 10.0 ** e:.{max(0, -e)}f}" for m, e in parts]
        return [("" if m == 1 else f"{m}·") + "10" + _superscript(e) for m, e in parts]

    def tickStrings(self, values, scale, spacing):
        texts = []
        for value in values:
            fixed = [text for v, text in self.fixed if abs(v - value) <= 1e-9 * max(1.0, abs(v))]
            if fixed:
                texts.append(fixed[0])
            elif self.names is not None:
                texts.append(self.names.get(int(round(value)), ""))
            elif self.integer and not self.logMode:
                texts.append(f"{int(round(value))}")
            elif self.logMode:
                texts.append(None)  # below: in one style with the axis' other log labels
            else:
                texts.append(super().tickStrings([value], scale, spacing or 1.0)[0])
        logs = iter(self.log_labels([v for v, t in zip(values, texts) if t is None]))
        return [next(logs) if t is None else t for t in texts]


MAX_BARE_END = 3.0  # a log axis' end: at most this factor beyond its outermost label without a label of its own


def _log_priority(value: float) -> tuple:
    """Which log ticks to label first: whole decades, then 5s, then 2s, then the other digits (low to high)."""
    digit = int(round(10 ** (value - math.floor(value + 1e-9))))
    return ({1: 0, 10: 0, 5: 1, 2: 2}.get(digit, 3), value)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(exponent: int) -> str:
    return str(exponent).translate(_SUPERSCRIPTS)


def _nice(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value * (1 - 1e-9):
            return factor * power
    return 10 * power


def readable_axes(integer_x: bool = False, integer_y: bool = False) -> dict:
    """axisItems for a PlotItem: ReadableAxis on the left and at the bottom."""
    return {"left": ReadableAxis("left", integer=integer_y), "bottom": ReadableAxis("bottom", integer=integer_x)}


class DepthKey(pg.GraphicsWidget):
    """The colour key of the layers drawn by depth (depth_colors): every layer named, a swatch each, when there
    are at most `list_max` of them; else a column of the N depth colours (input on top) beside depth numbers,
    with the first and the last layer named. Sized to its text: it goes under a legend, beside the plots. A deep
    net's column shrinks to the height it is given (`fit`), its depth numbers thinned out to stay apart."""

    MIN_SWATCH = 2.0  # px: a depth's band in the column no thinner than this (a 31-layer key is 62 px at least)

    def __init__(self, names, list_max: int = 6, title: str = "layer colours", point_size: float = 8.0):
        super().__init__()
        self.names, self.title = list(names), title
        self.colours = depth_colors(len(self.names))
        self.font = QFont()
        self.font.setPointSizeF(point_size)
        self.metrics = QFontMetricsF(self.font)
        self.line = self.metrics.height()
        self.listed = len(self.names) <= list_max
        self.full = self.line if self.listed else max(4.0, min(self.line * 0.75, 9.0))  # a swatch's height, unfitted
        self._lay_out(self.full)

    def _lay_out(self, swatch_height: float) -> None:
        n, metrics = len(self.names), self.metrics
        self.swatch = QSizeF(18, self.line) if self.listed else QSizeF(10, swatch_height)
        self.rows: list[tuple[QRectF, QColor]] = []  # the coloured swatches, in item coordinates
        self.labels: list[tuple[QRectF, str]] = []  # the texts, in item coordinates
        top = self.line + 2 if self.title else 0.0
        if self.title:
            self.labels.append((QRectF(0, 0, metrics.horizontalAdvance(self.title) + 2, self.line), self.title))
        x_text = self.swatch.width() + 4
        for depth, colour in enumerate(self.colours):
            self.rows.append((QRectF(0, top + depth * self.swatch.height(), self.swatch.width(),
                                     self.swatch.height()), colour))
        if self.listed:
            texts = {d: f"{d + 1} {name}" for d, name in enumerate(self.names)}
        else:  # first and last named; depth numbers between them where a label keeps clear of its neighbours
            texts = {0: f"1 {self.names[0]} (input)", n - 1: f"{n} {self.names[-1]}"}
            step = max(1, int(math.ceil(self.line / self.swatch.height())))
            for depth in range(step, n - 1, step):
                if n - 1 - depth >= step:
                    texts[depth] = str(depth + 1)
        for depth, text in sorted(texts.items()):
            centre = top + (depth + 0.5) * self.swatch.height()
            rect = QRectF(x_text, centre - self.line / 2, metrics.horizontalAdvance(text) + 2, self.line)
            self.labels.append((rect, text))
        bounds = QRectF()
        for rect, _ in self.rows + self.labels:
            bounds = bounds.united(rect)
        self._size = QSizeF(bounds.right() + 2, bounds.bottom() + 1)
        self.prepareGeometryChange()
        self.setMinimumSize(self._size)
        self.setMaximumSize(self._size)
        self.resize(self._size)
        self.update()

    def fit(self, height: float) -> None:
        """At most `height` px tall where it can be (a column of colours, down to MIN_SWATCH a depth); back to its
        full size where there is room again. A list of names keeps its size."""
        if self.listed:
            return
        top = self.line + 2 if self.title else 0.0
        room = (height - top - self.line / 2 - 1) / max(len(self.names), 1)  # the last label's half line below
        swatch = min(self.full, max(self.MIN_SWATCH, room))
        if abs(swatch - self.swatch.height()) > 0.01:
            self._lay_out(swatch)

    def texts(self) -> list[str]:
        return [text for _, text in self.labels]

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._size.width(), self._size.height())

    def paint(self, painter, *args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for rect, colour in self.rows:
            painter.fillRect(rect.adjusted(0, 2, 0, -2) if self.listed else rect, colour)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.setFont(self.font)
        painter.setPen(QColor("#222"))
        for rect, text in self.labels:
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


class BoxLabel(QLabel):
    """A QLabel whose scrolling box (TextBox) takes the height of its new text."""

    def setText(self, text: str) -> None:
        super().setText(text)
        box = self.parentWidget().parentWidget() if self.parentWidget() else None
        if isinstance(box, TextBox):
            box.updateGeometry()


class TextBox(QScrollArea):
    """A word-wrapped label at most `lines` lines tall; longer text scrolls (a small window keeps room for the plots).

    `set_lines` changes the limit (a view gives its texts fewer lines in a small window)."""

    def __init__(self, label: QLabel, lines: int):
        super().__init__()
        self.label, self.lines = label, lines
        label.setWordWrap(True)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.set_lines(lines)

    def set_lines(self, lines: int) -> None:
        self.lines = lines
        self.setMaximumHeight(self._height(lines))  # whole lines: never half of the next one showing
        self.updateGeometry()

    def _height(self, lines: int) -> int:
        return int(math.ceil(self.label.fontMetrics().lineSpacing() * lines))

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
        hint.setHeight(min(self._height(2), self.maximumHeight()))
        return hint


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


def _caption(html: str | None, width: int) -> QTextDocument | None:
    """The caption under a saved figure, laid out at the figure's width less its margins (None: no caption)."""
    if not html:
        return None
    document = QTextDocument()
    font = QFont()
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    document.setDefaultStyleSheet("body { color: #222; }")
    document.setHtml(html)
    document.setTextWidth(max(width - 2 * CAPTION_MARGIN, 50))
    return document


def _draw_caption(painter: QPainter, document: QTextDocument | None, top: float) -> None:
    if document is not None:
        painter.save()
        painter.translate(CAPTION_MARGIN, top)
        document.drawContents(painter)
        painter.restore()


def save_figure(item, path: str | Path, caption: str | None = None) -> Path:
    """Save a figure as PNG or SVG, chosen by the suffix; returns the path written.

    `item`: a GraphicsLayoutWidget or PlotWidget (the whole figure), a PlotItem (one plot) or a
    QGraphicsScene. The scene is rendered by Qt itself (QImage / QSvgGenerator), so the file holds
    what is on screen, legends and colour bars included; raises OSError when nothing could be written.
    `caption`: rich text written under the figure (what the figure's window says beside it: run summaries,
    the smoothing), as wide as the figure; the file is that much taller.
    """
    from PySide6.QtSvg import QSvgGenerator

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"Cannot save a figure as {path.name}: use a .png or .svg file name")
    scene, source, background = _source(item)
    width, figure_height = max(int(round(source.width())), 1), max(int(round(source.height())), 1)
    document = _caption(caption, width)
    height = figure_height + (int(math.ceil(document.size().height())) + CAPTION_MARGIN if document else 0)
    if suffix == ".png":
        # FIGURE_SCALE as a device pixel ratio, not a painter scale: items drawn at a fixed size on screen
        # (legends, labels) are scaled like the rest
        image = QImage(width * FIGURE_SCALE, height * FIGURE_SCALE, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(FIGURE_SCALE)
        image.fill(background)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                               | QPainter.RenderHint.SmoothPixmapTransform)
        _render(scene, painter, QRectF(0, 0, width, figure_height), source, background)
        _draw_caption(painter, document, figure_height)
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
        _render(scene, painter, QRectF(0, 0, width, figure_height), source, background)
        _draw_caption(painter, document, figure_height)
        painter.end()
        if not path.is_file() or path.stat().st_size == 0:
            raise OSError(f"Cannot write {path}: check that its folder exists and is writable")
        _bake_transforms(path)
    return path
