"""pyqtgraph set-up shared by the views: light theme, colours by depth, saving figures as PNG or SVG."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg

pg.setConfigOptions(background="w", foreground="#222", antialias=True, imageAxisOrder="row-major")

# Tableau 10: the palette matplotlib (and zoo's static figures) use, so the app and `zoo compare` agree
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def depth_colors(n: int) -> list:
    """n colours from near the input (dark blue) to near the output (yellow), viridis-like."""
    cmap = pg.colormap.get("viridis")
    return [cmap.map(0.9 * i / max(n - 1, 1), mode="qcolor") for i in range(n)]


def save_figure(item, path: str | Path) -> Path:
    """Save a plot (a PlotItem, or a GraphicsLayoutWidget's scene) as PNG or SVG, chosen by the suffix."""
    from pyqtgraph import exporters

    path = Path(path)
    suffix = path.suffix.lower()
    target = item.scene() if hasattr(item, "scene") and not isinstance(item, pg.PlotItem) else item
    if suffix == ".svg":
        exporter = exporters.SVGExporter(target)
    elif suffix == ".png":
        exporter = exporters.ImageExporter(target)
        exporter.parameters()["width"] = max(int(target.sceneRect().width() if hasattr(target, "sceneRect") else 800) * 2, 800)
    else:
        raise ValueError(f"Cannot save a figure as {path.name}: use a .png or .svg file name")
    exporter.export(str(path))
    return path
