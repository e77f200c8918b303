"""zoo.digit_image: MNIST's preprocessing of drawn digits, and reading digit images from any file."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from zoo.digit_image import image_to_mnist, load_digit_image, to_mnist
from zoo.errors import DataError

from conftest import fails_if_blocked


def ink_extent(a: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    """Height and width of the bounding box of pixels above threshold."""
    rows, cols = np.flatnonzero((a > threshold).any(axis=1)), np.flatnonzero((a > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def scaled(x: np.ndarray, k: int = 10) -> np.ndarray:
    return np.kron(x, np.ones((k, k), np.float32))


def variant(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "scaled":
        return scaled(x)
    if kind == "shifted":  # far off-centre on a large, non-square sheet
        sheet = np.zeros((420, 600), np.float32)
        sheet[130:410, 300:580] = scaled(x)
        return sheet
    if kind == "wide":
        return np.clip(ndimage.zoom(x, (3, 11), order=1), 0, 1)
    if kind == "tall":
        return np.clip(ndimage.zoom(x, (12, 3), order=1), 0, 1)
    if kind == "bytes":  # 0..255
        return scaled(x) * 255.0
    raise AssertionError(kind)


@pytest.fixture
def digits(small_data):
    return small_data("digits", 64).x_test[:12]


@pytest.mark.parametrize("kind", ["scaled", "shifted", "wide", "tall", "bytes"])
def test_to_mnist_centres_the_mass_and_fits_a_20_box(digits, kind):
    for x in digits:
        m = to_mnist(variant(x, kind))
        assert m.shape == (28, 28) and m.dtype == np.float32
        assert m.min() >= 0.0 and m.max() <= 1.0 and m.max() > 0.5
        cy, cx = ndimage.center_of_mass(m)
        assert abs(cy - 14.0) <= 0.5 + 1e-6 and abs(cx - 14.0) <= 0.5 + 1e-6, (cy, cx)
        h, w = ink_extent(m)
        assert h <= 20 and w <= 20
        assert max(h, w) >= 19  # scaled up to the box, not merely inside it


def test_to_mnist_keeps_the_aspect_ratio(digits):
    for x in digits:
        h0, w0 = ink_extent(x, 0.1)
        for kind, (fy, fx) in (("wide", (3, 11)), ("tall", (12, 3))):
            h, w = ink_extent(to_mnist(variant(x, kind)), 0.1)
            expected = (h0 * fy) / (w0 * fx)
            assert h / w == pytest.approx(expected, rel=0.25), (kind, h, w, expected)


def test_to_mnist_of_a_scaled_up_digit_is_the_digit(digits):
    for x in digits:
        small, big = to_mnist(x), to_mnist(scaled(x))
        assert np.corrcoef(small.ravel(), big.ravel())[0, 1] > 0.95
        assert np.allclose(to_mnist(scaled(x) * 255.0), big, atol=1e-6)


def test_to_mnist_box_centring_frames_like_the_digits_set(digits):
    for x in digits:
        m = to_mnist(variant(x, "shifted"), centre="box")
        rows, cols = np.flatnonzero((m > 0).any(axis=1)), np.flatnonzero((m > 0).any(axis=0))
        assert (rows[0] + rows[-1]) / 2 == pytest.approx(13.5, abs=0.5)
        assert (cols[0] + cols[-1]) / 2 == pytest.approx(13.5, abs=0.5)
    with pytest.raises(ValueError):
        to_mnist(digits[0], centre="middle")


def test_to_mnist_of_no_ink_is_none():
    assert to_mnist(np.zeros((280, 280), np.float32)) is None
    noise = np.random.default_rng(0).uniform(0.0, 0.05, (280, 280)).astype(np.float32)
    assert to_mnist(noise) is None
    assert to_mnist(np.zeros((0, 0))) is None


# ----------------------------------------------------------------------------------- image files
@pytest.fixture
def ink(digits):
    """A digit as a 280x280 ink-is-high array reaching 1, exactly representable in 8 bits."""
    return full_ink(digits[3])


def full_ink(x: np.ndarray) -> np.ndarray:
    return np.round(scaled(x / x.max()) * 255.0) / 255.0


def paper(ink: np.ndarray) -> np.ndarray:
    """Dark ink on white paper, 8-bit."""
    return np.round(255.0 * (1.0 - ink)).astype(np.uint8)


def test_dark_on_light_and_light_on_dark_give_the_same_ink(tmp_path, ink):
    dark, light = tmp_path / "dark.png", tmp_path / "light.png"
    Image.fromarray(paper(ink)).save(dark)
    Image.fromarray(255 - paper(ink)).save(light)
    a, b = load_digit_image(dark), load_digit_image(light)
    assert a.dtype == np.float32 and a.shape == ink.shape
    assert np.allclose(a, ink, atol=1e-6) and np.allclose(b, ink, atol=1e-6)
    assert np.allclose(image_to_mnist(dark), to_mnist(ink), atol=1e-6)


def test_faint_ink_is_stretched(tmp_path, ink):
    Image.fromarray(paper(ink * 0.5)).save(tmp_path / "faint.png")
    assert np.allclose(load_digit_image(tmp_path / "faint.png"), ink, atol=0.01)


def test_grey_paper_and_colour(tmp_path, ink):
    grey = (200 - 160 * ink).round().astype(np.uint8)  # grey paper, dark grey pencil
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert np.allclose(load_digit_image(tmp_path / "grey.png"), ink, atol=0.01)
    rgb = np.stack([paper(ink), paper(ink), np.full(ink.shape, 255, np.uint8)], axis=-1)  # blue ink
    Image.fromarray(rgb).save(tmp_path / "blue.bmp")
    assert np.corrcoef(load_digit_image(tmp_path / "blue.bmp").ravel(), ink.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("colour", [0, 255])
def test_transparent_background(tmp_path, ink, colour):
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = colour  # black or white strokes
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)  # drawn where opaque, transparent elsewhere
    Image.fromarray(rgba).save(tmp_path / "strokes.png")
    assert np.allclose(load_digit_image(tmp_path / "strokes.png"), ink, atol=0.01)


def test_16_bit_grayscale(tmp_path, ink):
    deep = np.round(65535.0 * (1.0 - ink)).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as image:
        assert image.mode in ("I;16", "I")
    assert np.allclose(load_digit_image(tmp_path / "deep.png"), ink, atol=1e-3)


def test_animated_gif_gives_its_first_frame(tmp_path, ink, digits):
    other = full_ink(digits[5])
    first, second = Image.fromarray(paper(ink)), Image.fromarray(paper(other))
    first.save(tmp_path / "anim.gif", save_all=True, append_images=[second], duration=100, loop=0)
    with Image.open(tmp_path / "anim.gif") as image:
        assert image.n_frames == 2
    loaded = load_digit_image(tmp_path / "anim.gif")
    assert np.allclose(loaded, ink, atol=0.01)
    assert not np.allclose(loaded, other, atol=0.1)


@pytest.mark.parametrize("suffix", ["jpg", "tiff", "bmp"])
def test_other_formats(tmp_path, ink, suffix):
    Image.fromarray(paper(ink)).save(tmp_path / f"digit.{suffix}")
    m = image_to_mnist(tmp_path / f"digit.{suffix}")
    assert np.abs(m - to_mnist(ink)).mean() < 0.02


def png_header_only(path, width: int, height: int) -> None:
    """A PNG that declares width x height but holds almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))


def refused(path, *words) -> str:
    with pytest.raises(DataError) as caught:
        load_digit_image(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    for word in words:
        assert word in message, message
    return message


def test_bad_files_are_refused_with_one_line_naming_them(tmp_path, ink):
    (tmp_path / "notes.txt").write_text("this is a seven, honest\n")
    refused(tmp_path / "notes.txt", "not an image file zoo reads", "PNG, JPEG, BMP, GIF, TIFF, WebP")
    (tmp_path / "blank.png").write_bytes(b"")
    refused(tmp_path / "blank.png", "empty")
    refused(tmp_path / "missing.png", "does not exist")
    (tmp_path / "folder.png").mkdir()
    refused(tmp_path / "folder.png", "folder")
    png_header_only(tmp_path / "big.png", 8000, 7000)  # 56 MP: Pillow alone would decode it
    refused(tmp_path / "big.png", "too large", "8000 x 7000", "50 megapixels")
    png_header_only(tmp_path / "bomb.png", 100_000, 100_000)  # a decompression bomb
    refused(tmp_path / "bomb.png", "too large")
    Image.fromarray(paper(ink)).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "cut.png")


def test_a_blank_image_has_no_ink(tmp_path):
    Image.new("L", (200, 200), 255).save(tmp_path / "white.png")
    assert load_digit_image(tmp_path / "white.png").max() == 0.0
    with pytest.raises(DataError, match="white.png: no ink"):
        image_to_mnist(tmp_path / "white.png")
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    with pytest.raises(DataError, match="no ink"):
        image_to_mnist(tmp_path / "clear.png")


# ------------------------------------------------------------------ untrusted files (issue 14)
TINY_EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 28 28
%%EndComments
{ } loop
%%EOF
"""  # PostScript that never ends: given to Ghostscript, it runs at 100% CPU forever


@pytest.fixture
def no_interpreter(monkeypatch):
    """Record (and stop) any attempt to run a program or Pillow's Ghostscript bridge: the list of attempts."""
    import subprocess

    from PIL import EpsImagePlugin

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:1])
        raise OSError("no external program may run in this test")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse)
    real_open = EpsImagePlugin.EpsImageFile._open

    def eps_open(self):
        attempts.append(("EpsImageFile._open",))
        return real_open(self)

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", eps_open)
    return attempts


def test_postscript_never_reaches_an_interpreter(tmp_path, ink, no_interpreter):
    for name in ("loop.eps", "loop.ps", "disguised.png"):  # checked by content, whatever the name
        (tmp_path / name).write_bytes(TINY_EPS)
        message = refused(tmp_path / name, "not an image file zoo reads", "PNG, JPEG, BMP, GIF, TIFF, WebP")
        assert "PBM/PGM/PPM" in message
    assert no_interpreter == []
    Image.fromarray(paper(ink)).save(tmp_path / "real.png")
    (tmp_path / "named.eps").write_bytes((tmp_path / "real.png").read_bytes())  # a PNG named .eps is read as a PNG
    assert np.allclose(load_digit_image(tmp_path / "named.eps"), ink, atol=0.01)


@pytest.mark.parametrize("suffix, mode", [("png", "L"), ("jpg", "L"), ("bmp", "RGB"), ("gif", "P"), ("tiff", "L"),
                                          ("webp", "RGB"), ("pgm", "L"), ("ppm", "RGB"), ("pbm", "1")])
def test_every_accepted_format_reads(tmp_path, ink, suffix, mode):
    image = Image.fromarray(paper(ink)).convert(mode, dither=Image.Dither.NONE)
    path = tmp_path / f"digit.{suffix}"
    image.save(path, **({"lossless": True} if suffix == "webp" else {}))
    m = image_to_mnist(path)
    expected = to_mnist((ink > 0.5).astype(np.float32) if mode == "1" else ink)  # 1 bit: black or white
    assert np.corrcoef(m.ravel(), expected.ravel())[0, 1] > 0.95, suffix


def test_every_other_pillow_format_is_refused(tmp_path, ink, no_interpreter):
    from zoo.digit_image import FORMATS

    Image.init()
    assert set(FORMATS) <= set(Image.OPEN)  # every name is a Pillow format
    for fmt, suffix in (("PCX", "pcx"), ("TGA", "tga"), ("ICO", "ico"), ("SGI", "sgi"), ("IM", "im")):
        path = tmp_path / f"digit.{suffix}"
        Image.fromarray(paper(ink)[:64, :64]).save(path, format=fmt)
        refused(path, "not an image file zoo reads")
    assert no_interpreter == []


@pytest.fixture
def alarm():
    with fails_if_blocked(10):
        yield


def test_only_regular_files_are_read(tmp_path, alarm):
    import os

    from zoo.digit_image import check_image_file

    os.mkfifo(tmp_path / "pipe.png")
    for path, word in ((tmp_path / "pipe.png", "FIFO"), (tmp_path, "folder")):
        refused(path, word)
        with pytest.raises(DataError, match=word):
            check_image_file(path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError, match="device") as caught:
            load_digit_image("/dev/zero")
        assert "\n" not in str(caught.value) and "/dev/zero" in str(caught.value)


@pytest.mark.parametrize("channels, most", [(4, 3.5), (3, 2.0)])
def test_a_large_image_is_decoded_with_few_copies(tmp_path, channels, most):
    """A 3000 x 3000 photo: NumPy holds at most `most` float32 copies of its pixels at once (before: 8.3 and 4)."""
    import tracemalloc

    pixels = 3000 * 3000
    sheet = np.full((3000, 3000, 4), 255, np.uint8)
    sheet[1000:2000, 1400:1600, :3] = 0  # a dark stroke
    sheet[:, :100, 3] = 0  # a transparent margin (RGBA)
    Image.fromarray(sheet[..., :channels]).save(tmp_path / "big.png", compress_level=1)
    del sheet
    tracemalloc.start()
    try:
        ink = load_digit_image(tmp_path / "big.png")
        m = to_mnist(ink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert m is not None and ink.shape == (3000, 3000) and ink.dtype == np.float32
    assert peak < most * 4 * pixels, f"{peak / (4 * pixels):.2f} copies"


def _tiled_tiff(path, width, height, tile):
    """A `width` x `height` 8-bit grey TIFF stored as one deflate-compressed `tile` x `tile` tile (white)."""
    packer = zlib.compressobj(9)
    row_block = b"\xff" * (tile * 256)
    data = b"".join(packer.compress(row_block) for _ in range(tile // 256)) + packer.flush()
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (277, 3, 1, 1), (284, 3, 1, 1), (322, 4, 1, tile), (323, 4, 1, tile), (324, 4, 1, 0), (325, 4, 1, len(data))]
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    entries = [(t, k, n, data_at if t == 324 else v) for t, k, n, v in entries]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", t, k, n) + (struct.pack("<HH", v, 0) if k == 3 else struct.pack("<I", v))
        for t, k, n, v in entries) + struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + ifd + data)
    return path


def test_a_tiff_tile_larger_than_the_pixel_limit_is_refused_before_decoding(tmp_path):
    """A 100 x 100 TIFF whose one tile is 8192 x 8192 (67 megapixels): libtiff would decode the whole tile."""
    import tracemalloc

    from zoo.digit_image import check_image_file

    path = _tiled_tiff(tmp_path / "bomb.tif", 100, 100, 8192)
    assert path.stat().st_size < 200_000
    with pytest.raises(DataError, match=r"bomb.tif declares a tile of 8192 x 8192 pixels for a 100 x 100 image"):
        check_image_file(path)
    tracemalloc.start()
    with pytest.raises(DataError, match="tile of 8192 x 8192"):
        load_digit_image(path)
    assert tracemalloc.get_traced_memory()[1] < 10_000_000
    tracemalloc.stop()
    small = _tiled_tiff(tmp_path / "fine.tif", 100, 100, 256)  # an ordinary tile larger than the image: read
    with pytest.raises(DataError, match="no ink"):
        image_to_mnist(small)


def test_a_16_bit_image_is_read_without_float64_copies(tmp_path):
    """A 16-bit PNG went through three float64 arrays (26 bytes a pixel at the peak, 1.3 GB for 7000 x 7000);
    it is now one uint16 copy and one float32 array scaled in place."""
    import tracemalloc

    a = np.full((2000, 2000), 65535, np.uint16)
    a[500:1500, 900:1100] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(a).save(path)
    tracemalloc.start()
    ink = load_digit_image(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ink.dtype == np.float32 and ink.max() == 1.0 and ink[0, 0] == 0.0
    assert peak < 12 * a.size, peak / a.size
