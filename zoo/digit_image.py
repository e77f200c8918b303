"""A drawn or photographed digit as MNIST's 28x28: the drawing pad's and `zoo predict`'s preprocessing.

MNIST's own recipe (LeCun, Cortes and Burges): the digit is size-normalised to fit a 20x20 box
keeping its aspect ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of mass
is at the centre. White digit on black, values in [0, 1].

NumPy, Pillow and scipy.ndimage only: no TensorFlow here, so the app can preprocess before it loads.

    >>> image28 = to_mnist(ink)                  # ink: any-size grayscale array, ink high
    >>> image28 = image_to_mnist("digit.png")    # any image file, dark-on-light or light-on-dark
"""
from __future__ import annotations

import os
import re
import stat
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
    if a.size and float(a.min()) >= 0.0 and float(a.max()) <= 1.0:
        return a  # already ink in [0, 1] (load_digit_image's): no copy of a large image (NaN fails both tests)
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
# Formats read by Pillow's own decoders, with no external program: never EPS/PostScript (Pillow runs
# Ghostscript on it, an interpreter that untrusted PostScript can keep busy forever), nor the rarer plugins.
FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "WEBP", "PPM")  # JPEG includes MPO (phone photos); PPM: PBM/PGM/PPM too
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, TIFF, WebP, PBM/PGM/PPM"


def _name(path: Path) -> str:
    return str(path)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_regular(path: Path):
    """A binary file object for `path`, refused unless it is a non-empty regular file (never blocks on a FIFO)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"{_name(path)} does not exist") from None
    except OSError as e:
        raise DataError(f"Cannot read {_name(path)}: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        what = _kind(mode)
        if what == "a folder":
            raise DataError(f"{_name(path)} is a folder, not an image file")
        raise DataError(f"{_name(path)} is {what}, not an image file; zoo reads images from regular files only")
    try:  # O_NONBLOCK: should it have become a FIFO since, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise DataError(f"Cannot read {_name(path)}: {e.strerror or e}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise DataError(f"{_name(path)} is {_kind(st.st_mode)}, not an image file; zoo reads images from regular files only")
    if st.st_size == 0:
        os.close(fd)
        raise DataError(f"{_name(path)} is empty (0 bytes), not an image file")
    return os.fdopen(fd, "rb")


def _open(path: Path, file) -> Image.Image:
    """Identify the image in `file` by its content (FORMATS only) and check its size before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size ourselves
            image = Image.open(file, formats=FORMATS)
    except Image.DecompressionBombError as e:
        match = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
        raise DataError(f"{_name(path)} is too large ({pixels}; at most {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise DataError(f"{_name(path)} is not an image file zoo reads (by its content): it reads {FORMAT_NAMES}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # unreadable, or a header Pillow rejects
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{_name(path)} is not an image file Pillow can read ({reason})") from None
    w, h = image.size
    if w <= 0 or h <= 0:
        image.close()
        raise DataError(f"{_name(path)} is empty ({w} x {h})")
    if w * h > MAX_PIXELS:
        image.close()
        raise DataError(f"{_name(path)} is too large ({w} x {h} pixels; at most {MAX_PIXELS // 1_000_000} megapixels)")
    tile = _largest_tile(image)
    if tile is not None and tile[0] * tile[1] > MAX_PIXELS:
        image.close()
        raise DataError(f"{_name(path)} declares a tile of {tile[0]} x {tile[1]} pixels for a {w} x {h} image (at most "
                        f"{MAX_PIXELS // 1_000_000} megapixels are decoded at once); refused before decoding")
    return image


def _largest_tile(image: Image.Image) -> tuple[int, int] | None:
    """The largest block the decoder would fill at once: a TIFF's TileWidth x TileLength (tags 322, 323; libtiff
    decodes a whole tile, however small the image) or RowsPerStrip x width (278), else Pillow's tile extents."""
    sizes = []
    tags = getattr(image, "tag_v2", None)
    if tags is not None:
        def tag(number):
            value = tags.get(number)
            value = value[0] if isinstance(value, tuple) and value else value
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        width, length, rows = tag(322), tag(323), tag(278)
        if width or length:
            sizes.append((width or 1, length or 1))
        if rows:
            sizes.append((image.size[0], min(rows, image.size[1])))
    for entry in getattr(image, "tile", None) or ():
        try:
            x0, y0, x1, y1 = entry[1]
            sizes.append((int(x1) - int(x0), int(y1) - int(y0)))
        except (TypeError, ValueError, IndexError):
            continue
    return max(sizes, key=lambda s: s[0] * s[1], default=None)


def check_image_file(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file zoo can read, from its header only (nothing decoded); else `DataError`.

    The same checks as `load_digit_image` before it decodes: a non-empty regular file (not a folder,
    FIFO or device), one of `FORMATS` by content, at most `MAX_PIXELS` pixels.
    """
    path = Path(path)
    with _open_regular(path) as file, _open(path, file) as image:
        return image.size


def _unit_float(image: Image.Image) -> np.ndarray:
    """An 8-bit single-band image as float32 in [0, 1], scaled in place (one float array, no temporaries)."""
    a = np.asarray(image, dtype=np.float32)
    if not a.flags.writeable:
        a = a.copy()
    a *= np.float32(1 / 255)
    return a


def _luminance_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance (high = light) and alpha (None when the image is opaque).

    Opaque: float32 luminance in [0, 1]. Transparent: both uint8 (0..255), for `_composite`, so that
    a large image never has more than one float copy.
    """
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        raw = np.asarray(image)  # uint16 (or int32 for "I"), then one float32 array scaled in place: no float64
        top = 65535.0 if (mode.startswith("I;16") or raw.max(initial=0) > 255) else 255.0
        a = raw.astype(np.float32)
        del raw
        a *= np.float32(1 / top)
        np.clip(a, 0.0, 1.0, out=a)
        return a, None
    if mode == "F":
        a = np.nan_to_num(np.asarray(image, dtype=np.float32))
        top = float(a.max(initial=0.0))
        return np.clip(a / (top if top > 1.0 else 1.0), 0.0, 1.0), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        with rgba.convert("L") as grey, rgba.getchannel("A") as alpha:  # luminance by ITU-R 601
            lum8, alpha8 = np.asarray(grey, np.uint8), np.asarray(alpha, np.uint8)
        if rgba is not image:
            rgba.close()
        return lum8, alpha8
    if mode == "L":
        return _unit_float(image), None
    with image.convert("L") as grey:
        return _unit_float(grey), None


def _composite(lum8: np.ndarray, alpha8: np.ndarray) -> np.ndarray:
    """Flatten transparency onto the background it stands for: float32 luminance in [0, 1].

    Mostly transparent (a digit on a transparent sheet): the background contrasts with the drawn
    pixels (white under dark strokes, black under light ones). Mostly opaque (a scanned sheet with
    transparent margins): the background is the sheet's own colour. Takes 8-bit luminance and alpha
    and works row block by row block or in place: no temporary as large as the image in float.
    """
    weight = float(alpha8.sum(dtype=np.uint64))
    if weight <= 0.0:
        return np.zeros(lum8.shape, np.float32)  # nothing drawn at all: "no ink" downstream
    opaque = alpha8 > 127  # alpha above one half
    if opaque.mean() < 0.5:
        rows = max(1, 4_000_000 // max(1, lum8.shape[1]))
        weighted = sum(float(np.einsum("ij,ij->", lum8[i:i + rows], alpha8[i:i + rows], dtype=np.float64))
                       for i in range(0, lum8.shape[0], rows))
        background = 1.0 if weighted / (255.0 * weight) < 0.5 else 0.0
    else:
        background = _median8(np.bincount(lum8[opaque], minlength=256)) / 255.0
    del opaque
    lum = _unit_float(lum8)
    lum -= np.float32(background)  # lum * alpha + background * (1 - alpha) = background + alpha * (lum - background)
    np.multiply(lum, alpha8, out=lum)
    lum *= np.float32(1 / 255)
    lum += np.float32(background)
    return lum


def _median8(counts: np.ndarray) -> float:
    """The median (as np.median gives it: the mean of the middle two for an even count) of 8-bit levels from their counts."""
    n = int(counts.sum())
    cumulative = np.cumsum(counts)
    lower = int(np.searchsorted(cumulative, (n - 1) // 2, side="right"))  # the value at sorted index (n - 1) // 2
    upper = int(np.searchsorted(cumulative, n // 2, side="right"))  # ... and at n // 2
    return (lower + upper) / 2


def _border(a: np.ndarray) -> np.ndarray:
    width = max(1, min(a.shape) // 50)
    return np.concatenate([a[:width].ravel(), a[-width:].ravel(), a[:, :width].ravel(), a[:, -width:].ravel()])


def grayscale_to_ink(lum: np.ndarray) -> np.ndarray:
    """Luminance (high = light) as ink (high = ink, in [0, 1]), whatever the polarity.

    The background is what dominates the border: a light border means dark ink on light paper
    (inverted); a dark one means light ink on a dark background. The background level becomes 0 and
    the ink is stretched to reach 1, so grey paper and faint pencil look like MNIST.
    """
    return _to_ink(np.array(lum, dtype=np.float32))


def _to_ink(lum: np.ndarray) -> np.ndarray:
    """`grayscale_to_ink` in place on a float32 array of ours (no temporaries the size of the image)."""
    background = float(np.median(_border(lum)))
    if background >= 0.5:
        np.subtract(1.0, lum, out=lum)
    level = (1.0 - background) if background >= 0.5 else background
    lum -= np.float32(level)
    lum *= np.float32(1.0 / max(1.0 - level, 1e-6))
    np.clip(lum, 0.0, 1.0, out=lum)
    top = float(lum.max(initial=0.0))
    if top >= 2 * NOISE:  # real ink: stretch its darkest stroke to 1 (noise alone is left below NOISE)
        lum *= np.float32(1.0 / top)
        np.minimum(lum, 1.0, out=lum)
    return lum


def load_digit_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, BMP, GIF, TIFF, WebP, PBM/PGM/PPM) as a float32 ink-is-high array in [0, 1].

    16-bit images are scaled, transparency is composited over the background, palettes are resolved
    and animations give their first frame. Dark-on-light and light-on-dark give the same result.
    Raises `DataError` (one line naming the file) for a missing, empty, unreadable or too large file,
    one that is not a regular file, or one in another format (by content, whatever its name: no
    PostScript, so no Ghostscript ever runs).
    """
    path = Path(path)
    try:
        with _open_regular(path) as file, _open(path, file) as image:  # at its first frame
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
        del alpha
    return _to_ink(lum)


def image_to_mnist(path: str | Path, centre: str = "mass") -> np.ndarray:
    """`to_mnist(load_digit_image(path))`; raises `DataError` when the image holds no ink."""
    image28 = to_mnist(load_digit_image(path), centre)
    if image28 is None:
        raise DataError(f"{_name(Path(path))}: no ink found (a blank image); draw or photograph a digit")
    return image28
