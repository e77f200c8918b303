"""A drawn or photographed digit as MNIST's 28x28: the drawing pad's and `zoo predict`'s preprocessing.

MNIST's own recipe (LeCun, Cortes and Burges): the digit is size-normalised to fit a 20x20 box
keeping its aspect ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of mass
is at the centre. White digit on black, values in [0, 1].

NumPy, Pillow and scipy.ndimage only: no TensorFlow here, so the app can preprocess before it loads.

    >>> image28 = to_mnist(ink)                  # ink: any-size grayscale array, ink high
    >>> image28 = image_to_mnist("digit.png")    # any image file, dark-on-light or light-on-dark
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from .errors import DataError

SIZE = 28          # MNIST's field
BOX = 20           # the digit is scaled to fit a BOX x BOX square
CENTRE = (14.0, 14.0)  # where the centre of mass goes (row, column)
NOISE = 0.1        # ink below this (on a 0..1 scale) is paper noise, not part of the digit
MAX_PIXELS = 50_000_000  # refuse larger images before decoding them


# ---------------------------------------------------------------------------------------- to_mnist
def _as_unit_ink(ink: np.ndarray) -> np.ndarray:
    """A 2-D float32 array in [0, 1]: 0..255 input is rescaled, NaNs are paper."""
    a = np.asarray(ink, dtype=np.float32)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"to_mnist takes a 2-D grayscale image, received an array of shape {a.shape}")
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    if a.size and a.max() > 1.0:
        a = a / 255.0
    return np.clip(a, 0.0, 1.0)


def ink_bounding_box(ink: np.ndarray, threshold: float = NOISE) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), end-exclusive, of the pixels above `threshold`; None when there are none."""
    mask = ink > threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def to_mnist(ink: np.ndarray, centre: str = "mass") -> np.ndarray | None:
    """MNIST's preprocessing of a grayscale image where ink is high (0..1 or 0..255, any size).

    Crops to the ink's bounding box (ink below 0.1 is noise), scales it into a 20x20 box keeping the
    aspect ratio (Lanczos, i.e. anti-aliased), pastes it in 28x28 and shifts it by whole pixels so
    that its centre of mass is at (14, 14) (within half a pixel). Returns float32 in [0, 1], white digit
    on black, or None when the image has no ink.

    `centre="box"` centres the 20x20 box itself instead (rows and columns 4 to 23 for a full box):
    the framing of the offline `digits` set (see `zoo.datasets.digits_as_mnist`), whose models
    recognise drawings framed that way better than centred by mass.
    """
    if centre not in ("mass", "box"):
        raise ValueError(f"centre must be 'mass' or 'box', received {centre!r}")
    a = _as_unit_ink(ink)
    box = ink_bounding_box(a)
    if box is None:
        return None
    top, bottom, left, right = box
    crop = np.where(a[top:bottom, left:right] > NOISE, a[top:bottom, left:right], 0.0).astype(np.float32)
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, min(BOX, round(h * scale))), max(1, min(BOX, round(w * scale)))
    if (new_h, new_w) != (h, w):
        small = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.LANCZOS)
        crop = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)  # Lanczos rings slightly: clip
    if float(crop.sum()) <= 0.0:
        return None
    if centre == "box":
        oy, ox = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    else:
        cy, cx = ndimage.center_of_mass(crop)
        # place the patch so its centre of mass lands on CENTRE; whole pixels keep the 20x20 box crisp,
        # and the patch is kept inside the field rather than losing ink off an edge
        oy = int(np.clip(np.floor(CENTRE[0] - cy + 0.5), 0, SIZE - new_h))
        ox = int(np.clip(np.floor(CENTRE[1] - cx + 0.5), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[oy:oy + new_h, ox:ox + new_w] = crop
    return out


# ------------------------------------------------------------------------------- stroke directions
DIRECTIONS = 8     # stroke orientations, 0 to 180 degrees in steps of 22.5
CELLS = 7          # a 7x7 grid of overlapping cells, one every 4 pixels
_SMOOTH = 1.5      # blur before the gradient (pixels): strokes 1 to 3 pixels wide look alike
_CELL_WIDTH = 2.5  # the Gaussian width of a cell (pixels)


def _gaussian_rows(n_out: int, sigma: float, step: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """(n_out, SIZE): row i is a Gaussian centred on pixel offset + i * step, summing to 1 (zero beyond the edges)."""
    centres = offset + step * np.arange(n_out)
    weights = np.exp(-0.5 * ((np.arange(SIZE)[None, :] - centres[:, None]) / sigma) ** 2)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


_BLUR = _gaussian_rows(SIZE, _SMOOTH)
_POOL = _gaussian_rows(CELLS, _CELL_WIDTH, step=SIZE / CELLS, offset=(SIZE / CELLS - 1) / 2)


def stroke_directions(images: np.ndarray) -> np.ndarray:
    """Which way the strokes run, where: a histogram of edge orientations per cell (like HOG), for 28x28 images.

    `images` (n, 28, 28) or one (28, 28), ink high. Returns (n, 392) float32: for each of 7x7 overlapping
    cells, the edge strength in each of 8 orientations (0-180 degrees: a stroke's two edges count alike),
    square-rooted and scaled to unit length per image. The image is blurred first, so a thin pen stroke
    and MNIST's thicker ones give nearly the same features; what differs is the shape: an "L" has a
    vertical edge on the left and a horizontal one at the bottom, which no digit has there. NumPy only,
    about 0.1 ms for one image.
    """
    x = np.asarray(images, np.float32).reshape(-1, SIZE, SIZE)
    x = _BLUR @ x @ _BLUR.T
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    gx = padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]
    gy = padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]
    strength = np.hypot(gx, gy)
    position = np.mod(np.arctan2(gy, gx), np.pi) * (DIRECTIONS / np.pi)  # [0, DIRECTIONS)
    channels = np.empty((len(x), DIRECTIONS, SIZE, SIZE), np.float32)
    for k in range(DIRECTIONS):  # each edge is shared between its two nearest orientations
        distance = np.abs(position - k)
        distance = np.minimum(distance, DIRECTIONS - distance)
        channels[:, k] = strength * np.maximum(0.0, 1.0 - distance)
    cells = _POOL @ channels @ _POOL.T
    features = np.sqrt(np.maximum(cells.reshape(len(x), -1), 0.0))
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-6)


# ------------------------------------------------------------------------------- reading image files
def _name(path: Path) -> str:
    return str(path)


def _open(path: Path) -> Image.Image:
    """Open lazily (header only) and check the size before any pixel is decoded."""
    if not path.exists():
        raise DataError(f"{_name(path)} does not exist")
    if path.is_dir():
        raise DataError(f"{_name(path)} is a folder, not an image file")
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{_name(path)} is empty (0 bytes), not an image file")
    except OSError as e:
        raise DataError(f"Cannot read {_name(path)}: {e.strerror or e}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size ourselves
            image = Image.open(path)
    except Image.DecompressionBombError as e:
        match = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
        raise DataError(f"{_name(path)} is too large ({pixels}; at most {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise DataError(f"{_name(path)} is not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as e:  # unreadable, or a header Pillow rejects
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{_name(path)} is not an image file Pillow can read ({reason})") from None
    w, h = image.size
    if w <= 0 or h <= 0:
        image.close()
        raise DataError(f"{_name(path)} is empty ({w} x {h})")
    if w * h > MAX_PIXELS:
        image.close()
        raise DataError(f"{_name(path)} is too large ({w} x {h} pixels; at most {MAX_PIXELS // 1_000_000} megapixels)")
    return image


def _luminance_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance in [0, 1] (high = light) and alpha in [0, 1] (None when the image is opaque)."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(image, dtype=np.float64)
        top = 65535.0 if (mode.startswith("I;16") or a.max(initial=0) > 255) else 255.0
        return np.clip(a / top, 0.0, 1.0).astype(np.float32), None
    if mode == "F":
        a = np.nan_to_num(np.asarray(image, dtype=np.float32))
        top = float(a.max(initial=0.0))
        return np.clip(a / (top if top > 1.0 else 1.0), 0.0, 1.0), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        return lum, rgba[..., 3]
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0, None


def _composite(lum: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten transparency onto the background it stands for.

    Mostly transparent (a digit on a transparent sheet): the background contrasts with the drawn
    pixels (white under dark strokes, black under light ones). Mostly opaque (a scanned sheet with
    transparent margins): the background is the sheet's own colour.
    """
    weight = float(alpha.sum())
    if weight <= 0.0:
        return np.zeros_like(lum)  # nothing drawn at all: "no ink" downstream
    opaque = alpha > 0.5
    if opaque.mean() < 0.5:
        background = 1.0 if float((lum * alpha).sum()) / weight < 0.5 else 0.0
    else:
        background = float(np.median(lum[opaque]))
    return lum * alpha + background * (1.0 - alpha)


def _border(a: np.ndarray) -> np.ndarray:
    width = max(1, min(a.shape) // 50)
    return np.concatenate([a[:width].ravel(), a[-width:].ravel(), a[:, :width].ravel(), a[:, -width:].ravel()])


def grayscale_to_ink(lum: np.ndarray) -> np.ndarray:
    """Luminance (high = light) as ink (high = ink, in [0, 1]), whatever the polarity.

    The background is what dominates the border: a light border means dark ink on light paper
    (inverted); a dark one means light ink on a dark background. The background level becomes 0 and
    the ink is stretched to reach 1, so grey paper and faint pencil look like MNIST.
    """
    background = float(np.median(_border(lum)))
    ink = (1.0 - lum) if background >= 0.5 else lum
    level = (1.0 - background) if background >= 0.5 else background
    ink = np.clip((ink - level) / max(1.0 - level, 1e-6), 0.0, 1.0)
    top = float(ink.max(initial=0.0))
    if top >= 2 * NOISE:  # real ink: stretch its darkest stroke to 1 (noise alone is left below NOISE)
        ink = ink / top
    return ink.astype(np.float32)


def load_digit_image(path: str | Path) -> np.ndarray:
    """Any common image file (PNG, JPEG, BMP, GIF, TIFF, WebP...) as a float32 ink-is-high array in [0, 1].

    16-bit images are scaled, transparency is composited over the background, palettes are resolved
    and animations give their first frame. Dark-on-light and light-on-dark give the same result.
    Raises `DataError` (one line naming the file) for a missing, empty, unreadable or too large file.
    """
    path = Path(path)
    image = _open(path)
    try:
        with image:
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            image.load()
            lum, alpha = _luminance_and_alpha(image)
    except DataError:
        raise
    except Image.DecompressionBombError:
        raise DataError(f"{_name(path)} is too large (at most {MAX_PIXELS // 1_000_000} megapixels)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{_name(path)} is damaged or truncated; Pillow cannot decode it ({reason})") from None
    if alpha is not None:
        lum = _composite(lum, alpha)
    return grayscale_to_ink(lum)


def image_to_mnist(path: str | Path, centre: str = "mass") -> np.ndarray:
    """`to_mnist(load_digit_image(path))`; raises `DataError` when the image holds no ink."""
    image28 = to_mnist(load_digit_image(path), centre)
    if image28 is None:
        raise DataError(f"{_name(Path(path))}: no ink found (a blank image); draw or photograph a digit")
    return image28
