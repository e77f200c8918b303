"""Drawings for tests, as strokes in the Draw view's 280x280 pad pixels, and their rendering without Qt.

`render(strokes)` draws like the pad does (black round-capped strokes PEN_WIDTH wide on white), as ink
(0 paper, 1 ink), so the core's tests see what the app's pad would give.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

PAD = 280
PEN_WIDTH = 22  # gui.views.draw_view.PEN_WIDTH

SEVEN = [[(60, 50), (140, 50), (215, 50), (170, 150), (125, 250)]]
ONE = [[(150, 40), (140, 250)]]
# not digits
L_SHAPE = [[(80, 40), (80, 240), (220, 240)]]
FILLED_SQUARE = [[(x, 60), (x, 220)] for x in range(60, 221, 8)]
DIAGONAL = [[(30, 80), (250, 200)]]  # a shallow one: a steep line is a 1
SCRIBBLE = [[(40 + (200 if i % 2 else 0), 40 + 25 * i) for i in range(9)]]  # back and forth, top to bottom
DOT = [[(140, 140)]]
NOT_DIGITS = {"an L": L_SHAPE, "a filled square": FILLED_SQUARE, "a diagonal line": DIAGONAL,
              "a scribble": SCRIBBLE, "a dot": DOT}


def random_scribbles(n: int, seed: int = 0, points: int = 16) -> list[list[list[tuple[float, float]]]]:
    """n scribbles: one stroke through `points` random points of the pad each."""
    rng = np.random.default_rng(seed)
    return [[[tuple(p) for p in rng.uniform(30, PAD - 30, (points, 2))]] for _ in range(n)]


def render(strokes, size: int = PAD, width: int = PEN_WIDTH) -> np.ndarray:
    """The strokes as the pad's ink: float32 (size, size), 1 where the pen went."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps (a lone point is a dot)
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    return np.asarray(image, np.float32) / 255.0
