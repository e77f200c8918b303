"""Datasets: the real MNIST, scikit-learn's bundled digits as an offline MNIST, and small curriculum sets.

Every loader returns a `Dataset` of float32 features and integer labels (float targets for
regression), already split into train, validation and test with a fixed seed. `prepare`
is the one place that shapes them for a spec's input layer and its loss.
"""
from __future__ import annotations

import gzip
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import DataError, SpecError

SPLIT_SEED = 1234  # fixed: the same train/validation/test split on every machine


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    task: str  # "classification" (softmax over classes), "binary" or "regression"
    feature_shape: tuple[int, ...]
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def num_features(self) -> int:
        return int(np.prod(self.feature_shape))


@dataclass
class Dataset:
    info: DatasetInfo
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        sizes = f"train={len(self.x_train)}, val={0 if self.x_val is None else len(self.x_val)}, test={len(self.x_test)}"
        return f"Dataset({self.info.name!r}, {sizes})"


_LOADERS: dict[str, tuple[DatasetInfo, Callable[[], Dataset]]] = {}
DIGIT_NAMES = tuple(str(d) for d in range(10))


def register_dataset(info: DatasetInfo):
    """Register a loader under `info.name`; duplicate names are refused."""

    def decorate(loader: Callable[[DatasetInfo], Dataset]):
        if info.name in _LOADERS:
            raise ValueError(f"dataset {info.name!r} is already registered")
        _LOADERS[info.name] = (info, lambda: loader(info))
        return loader

    return decorate


def list_datasets() -> list[str]:
    return sorted(_LOADERS)


def dataset_info(name: str) -> DatasetInfo:
    try:
        return _LOADERS[name][0]
    except KeyError:
        raise DataError(f"Unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}") from None


def load_dataset(name: str) -> Dataset:
    """Load a dataset by name (see `list_datasets()`)."""
    dataset_info(name)
    return _LOADERS[name][1]()


# ---------------------------------------------------------------------------------------------- MNIST
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGE_SHAPE = (28, 28)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


MAX_ITEMS = 1_000_000  # examples in one MNIST-like file (MNIST has 60,000; EMNIST's largest split 697,932)
MAX_DATA_BYTES = 1 << 30  # bytes of one IDX or .npy array, whatever it declares: 1 GiB


@dataclass(frozen=True)
class _Expected:
    """What one MNIST file holds: unsigned bytes, `item` shaped, at least one of them."""

    what: str  # "images" or "labels"
    item: tuple[int, ...]  # the shape of one example: (28, 28) or ()


MNIST_EXPECTED = {"x_train": _Expected("images", IMAGE_SHAPE), "y_train": _Expected("labels", ()),
                  "x_test": _Expected("images", IMAGE_SHAPE), "y_test": _Expected("labels", ())}


def _check_declared(where: str, dtype: np.dtype, shape: tuple[int, ...], expected: _Expected | None) -> int:
    """Refuse a declared array (from an IDX or .npy header) before reading it; the number of bytes it declares."""
    if expected is not None:
        if dtype != np.uint8:
            raise DataError(f"{where} holds {dtype.name} values; MNIST's {expected.what} are unsigned bytes (uint8): "
                            "it is not MNIST or is corrupt")
        if len(shape) != 1 + len(expected.item) or tuple(shape[1:]) != expected.item:
            shown = "x".join(map(str, shape)) if len(shape) <= 8 else f"{len(shape)} dimensions"
            want = f"N x {'x'.join(map(str, expected.item))} images" if expected.item else "N labels (one dimension)"
            raise DataError(f"{where} holds an array of {shown}; MNIST's {expected.what} file holds {want}: "
                            "it is not MNIST or is corrupt")
    values = math.prod(shape)  # Python ints: a shape of 65536^4 does not overflow
    if (shape and shape[0] > MAX_ITEMS) or values * dtype.itemsize > MAX_DATA_BYTES:
        shown = "x".join(map(str, shape)) if len(shape) <= 8 else f"{len(shape)} dimensions"
        raise DataError(f"{where} declares an array of {shown} ({values * dtype.itemsize:,} bytes), more than zoo reads "
                        f"(at most {MAX_ITEMS:,} examples and {MAX_DATA_BYTES:,} bytes): it is corrupt or not MNIST")
    return values * dtype.itemsize


def _read_exactly(f, size: int, path, header: int) -> bytes:
    """`size` bytes from `f`, refusing a file shorter or longer than that (no more than one byte past it is read)."""
    data = f.read(size)
    if len(data) < size:
        raise DataError(f"{path} is truncated or corrupt: {header + len(data):,} bytes, its header promises "
                        f"{header + size:,}; replace it with a fresh copy")
    if f.read(1):
        raise DataError(f"{path} is corrupt: it goes on past the {header + size:,} bytes its header declares; "
                        "replace it with a fresh copy")
    return data


def read_idx(path: Path, expected: _Expected | None = None) -> np.ndarray:
    """Read one IDX file (raw or gzipped), streaming: the header first, then exactly the bytes it declares.

    A shape beyond `MAX_ITEMS` examples or `MAX_DATA_BYTES`, a file shorter or longer than its header says
    and, with `expected`, an array other than MNIST's (uint8, 28x28 images or one label each) are refused
    (`DataError`, one line naming the file) before their data is read.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
                raise DataError(f"{path} is not an IDX file (bad magic number); replace it with a fresh copy")
            dtype, ndim = np.dtype(_IDX_DTYPES[magic[2]]), magic[3]
            dims = f.read(4 * ndim)
            if ndim == 0 or len(dims) < 4 * ndim:
                why = "no dimensions" if ndim == 0 else "an incomplete header"
                raise DataError(f"{path} is truncated or corrupt ({why}); replace it with a fresh copy")
            shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
            size = _check_declared(str(path), dtype, shape, expected)
            data = _read_exactly(f, size, path, 4 + 4 * ndim)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; a bad deflate stream a zlib.error
        if isinstance(e, DataError):
            raise
        raise DataError(f"Cannot read {path}: {e}; replace it with a fresh copy") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _read_npz(npz: Path) -> dict[str, np.ndarray]:
    """MNIST's four arrays from an .npz (Keras' mnist.npz): each .npy header checked before its data is read."""
    arrays = {}
    with zipfile.ZipFile(npz) as archive:
        names = set(archive.namelist())
        for key, expected in MNIST_EXPECTED.items():
            where = f"{npz} ({key})"
            if f"{key}.npy" not in names:
                raise DataError(f"{npz} has no {key} array (it has {', '.join(sorted(names)) or 'none'}); it is not "
                                "Keras' mnist.npz: delete it and run `zoo fetch mnist`, or replace it with a fresh copy")
            with archive.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise DataError(f"{where} is a .npy of version {version[0]}.{version[1]}, which zoo does not read; "
                                    "delete it and run `zoo fetch mnist`")
                if dtype.hasobject:
                    raise DataError(f"{where} holds Python objects, not numbers; delete it and run `zoo fetch mnist`")
                size = _check_declared(where, dtype, tuple(shape), expected)
                data = _read_exactly(member, size, where, 0)
            array = np.frombuffer(data, dtype=dtype)
            arrays[key] = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    return arrays


def _mnist_from_folder(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, str]] | None:
    """MNIST's arrays and, for each, the file it came from; None when the folder has neither form."""
    npz = folder / "mnist.npz"
    if npz.is_file():
        try:
            return _read_npz(npz), {key: f"{npz} ({key})" for key in MNIST_FILES}
        except DataError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            why = str(e).split(". ")[0] if "allow_pickle" in str(e) else str(e)  # never suggest loading it unsafely
            raise DataError(f"Cannot read {npz} ({type(e).__name__}: {why}); it is damaged (an interrupted download?): "
                            "delete it and run `zoo fetch mnist`, or replace it with a fresh copy") from None
    paths = {}
    for key, stem in MNIST_FILES.items():
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()]
        if not found:
            return None
        paths[key] = found[0]
    return ({key: read_idx(path, MNIST_EXPECTED[key]) for key, path in paths.items()},
            {key: str(path) for key, path in paths.items()})


def check_mnist_arrays(arrays: dict[str, np.ndarray], sources: dict[str, str]) -> None:
    """Refuse arrays that are not MNIST: uint8 28x28 images, uint8 labels 0-9, as many labels as images, at least
    one of each; `DataError` naming the file (`sources[key]`) and what is wrong."""
    for key, expected in MNIST_EXPECTED.items():
        array, where = np.asarray(arrays[key]), sources[key]
        _check_declared(where, array.dtype, array.shape, expected)
        if len(array) == 0:
            raise DataError(f"{where} holds no {expected.what}; MNIST's has {'60,000' if 'train' in key else '10,000'}: "
                            "replace it with a fresh copy")
        if expected.what == "labels" and array.max() > 9:
            at = int(np.argmax(array > 9))
            raise DataError(f"{where} holds the label {int(array[at])} (at index {at:,}); MNIST's labels are the digits "
                            "0-9: replace it with a fresh copy")
    for split in ("train", "test"):
        images, labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if images != labels:
            raise DataError(f"{sources[f'x_{split}']} holds {images:,} images but {sources[f'y_{split}']} holds "
                            f"{labels:,} labels; MNIST has one label per image: replace them with fresh copies")


def mnist_search_path() -> list[Path]:
    """Where MNIST is looked for, in order: ZOO_DATA_DIR (and its mnist/), then Keras' cache."""
    folders = []
    if data_dir := os.environ.get("ZOO_DATA_DIR"):
        folders += [Path(data_dir), Path(data_dir) / "mnist"]
    folders.append(mnist_download_path().parent)
    return folders


def _download_mnist() -> dict[str, np.ndarray]:
    import contextlib
    import sys

    from ._backend import keras

    with contextlib.redirect_stdout(sys.stderr):  # Keras prints "Downloading data from"; stdout may be JSON lines
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _download_failure(error: Exception) -> str:
    """Why a download failed, short: Keras' "URL fetch failure on URL: None -- [Errno -2] Name or service not known"
    becomes its last part."""
    text = str(error).splitlines()[0].rsplit(" -- ", 1)[-1].strip() if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


MNIST_DOWNLOAD_BYTES = 11_490_434  # Keras' mnist.npz


def mnist_download_path() -> Path:
    """Where Keras' `mnist.load_data` keeps its download (`fetch_mnist` puts it there)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets" / "mnist.npz"


def fetch_mnist() -> Path:
    """Download MNIST with Keras' own `mnist.load_data` unless it is already found; the folder that holds it.

    Raises `DataError` (one line) when it cannot be downloaded, e.g. offline.
    """
    for folder in mnist_search_path():
        if _mnist_files_in(folder):
            return folder
    try:
        _download_mnist()
    except Exception as e:  # no network, proxy, disk full, a bad download: all one line
        raise DataError(f"Cannot download MNIST ({_download_failure(e)}); are you offline? Put its four IDX files or "
                        "mnist.npz in a folder and set ZOO_DATA_DIR to it, or train on the offline digits") from None
    return mnist_download_path().parent


def _mnist_files_in(folder: Path) -> bool:
    """Whether `folder` holds a whole MNIST: a complete mnist.npz (an interrupted download is not), or all four IDX files.

    Cheap enough for the app's start: the zip's directory (at its end) is read, not the arrays.
    """
    npz = folder / "mnist.npz"
    if npz.is_file():
        try:
            with zipfile.ZipFile(npz) as archive:
                return {f"{key}.npy" for key in MNIST_FILES} <= set(archive.namelist())
        except (OSError, zipfile.BadZipFile):
            return False
    return all((folder / stem).is_file() or (folder / f"{stem}.gz").is_file() for stem in MNIST_FILES.values())


def mnist_is_local() -> bool:
    """Whether MNIST can be read without downloading it."""
    return any(_mnist_files_in(folder) for folder in mnist_search_path())


def load_mnist_arrays() -> dict[str, np.ndarray]:
    """The raw uint8 MNIST arrays, from the first folder of `mnist_search_path()` that has them, else downloaded.

    Checked (`check_mnist_arrays`): a file that is not MNIST is refused in one line naming it.
    """
    return _load_mnist_checked()[0]


def _load_mnist_checked() -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """MNIST's arrays, checked, and the file each came from."""
    folders = mnist_search_path()
    for folder in folders:
        if (found := _mnist_from_folder(folder)) is not None:
            check_mnist_arrays(*found)
            return found
    try:
        arrays = _download_mnist()
    except Exception as e:  # no network, proxy, disk full: all mean "not reachable"
        looked = ", ".join(str(f) for f in folders)
        raise DataError(
            f"MNIST not found (looked in {looked}; download failed: {_download_failure(e)}); set ZOO_DATA_DIR to "
            "a folder with the IDX or mnist.npz files, or train on the offline digits (--dataset digits)"
        ) from None
    sources = {key: f"{mnist_download_path()} ({key})" for key in MNIST_FILES}
    check_mnist_arrays(arrays, sources)
    return arrays, sources


def _split_off_validation(x, y, n_val: int, seed: int = SPLIT_SEED):
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


MNIST_VALIDATION = 5000  # training images set aside for validation


@register_dataset(DatasetInfo("mnist", "MNIST handwritten digits, 28x28 (60,000 train incl. 5,000 validation; 10,000 test)",
                              "classification", IMAGE_SHAPE, 10, DIGIT_NAMES))
def _mnist(info: DatasetInfo) -> Dataset:
    a, sources = _load_mnist_checked()
    if len(a["x_train"]) <= MNIST_VALIDATION:
        raise DataError(f"{sources['x_train']} holds {len(a['x_train']):,} training images; zoo sets {MNIST_VALIDATION:,} "
                        "of them aside for validation and trains on the rest, so it needs more (MNIST's has 60,000): "
                        "replace it with a fresh copy")
    x_train, y_train, x_val, y_val = _split_off_validation(a["x_train"], a["y_train"], MNIST_VALIDATION)
    scale = np.float32(1 / 255)
    return Dataset(info, x_train * scale, y_train.astype(np.int64), x_val * scale, y_val.astype(np.int64),
                   a["x_test"] * scale, a["y_test"].astype(np.int64))


def digits_as_mnist(images: np.ndarray) -> np.ndarray:
    """scikit-learn's 8x8 digits (0..16) as MNIST-like 28x28 images in [0, 1]: a 20x20 digit in a 4-pixel border."""
    from scipy.ndimage import zoom

    big = zoom(images.astype(np.float32) / 16.0, (1, 2.5, 2.5), order=1)
    out = np.zeros((len(images), 28, 28), np.float32)
    out[:, 4:24, 4:24] = np.clip(big, 0.0, 1.0)
    return out


@register_dataset(DatasetInfo("digits", "scikit-learn's bundled 8x8 digits upscaled to 28x28 like MNIST (offline; 1,797 images)",
                              "classification", IMAGE_SHAPE, 10, DIGIT_NAMES))
def _digits(info: DatasetInfo) -> Dataset:
    from sklearn.datasets import load_digits

    raw = load_digits()
    x, y = digits_as_mnist(raw.images), raw.target.astype(np.int64)
    x_rest, y_rest, x_test, y_test = _split_off_validation(x, y, 360)
    x_train, y_train, x_val, y_val = _split_off_validation(x_rest, y_rest, 180, seed=SPLIT_SEED + 1)
    return Dataset(info, x_train, y_train, x_val, y_val, x_test, y_test)


# ---------------------------------------------------------------------------------- curriculum sets
def _truth_table(info: DatasetInfo, outputs: list[int]) -> Dataset:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array(outputs, np.int64)
    return Dataset(info, x, y, None, None, x.copy(), y.copy())


def _register_truth_table(name: str, description: str, outputs: list[int], features=("x1", "x2"), classes=("0", "1")):
    info = DatasetInfo(name, description, "binary", (2,), 2, classes, features)
    register_dataset(info)(lambda info: _truth_table(info, outputs))


_register_truth_table("concert", "The perceptron's concert: inputs is it raining?, is the ticket free?; "
                      "go unless it rains and the ticket costs (go = free OR NOT raining)", [1, 1, 0, 1],
                      features=("raining", "ticket_free"), classes=("stay home", "go"))
_register_truth_table("and", "Logical AND of two bits (linearly separable)", [0, 0, 0, 1])
_register_truth_table("or", "Logical OR of two bits (linearly separable)", [0, 1, 1, 1])
_register_truth_table("xor", "Logical XOR of two bits (not linearly separable: no single line splits it)", [0, 1, 1, 0])


def _three_way_split(x, y, n_val: int, n_test: int):
    x_rest, y_rest, x_test, y_test = _split_off_validation(x, y, n_test)
    x_train, y_train, x_val, y_val = _split_off_validation(x_rest, y_rest, n_val, seed=SPLIT_SEED + 1)
    return x_train, y_train, x_val, y_val, x_test, y_test


@register_dataset(DatasetInfo("sine", "Regression: y = sin(2*pi*x) + noise for x in [0, 1] (generated, 1,400 points)",
                              "regression", (1,), feature_names=("x",)))
def _sine(info: DatasetInfo) -> Dataset:
    rng = np.random.default_rng(SPLIT_SEED)
    x = rng.uniform(0.0, 1.0, (1400, 1)).astype(np.float32)
    y = (np.sin(2 * np.pi * x) + rng.normal(0.0, 0.1, x.shape)).astype(np.float32)
    return Dataset(info, *_three_way_split(x, y, 200, 200))


@register_dataset(DatasetInfo("moons", "Binary classification: two interleaving half-moons with noise (generated, 1,400 points)",
                              "binary", (2,), 2, ("upper moon", "lower moon"), ("x1", "x2")))
def _moons(info: DatasetInfo) -> Dataset:
    from sklearn.datasets import make_moons

    x, y = make_moons(1400, noise=0.2, random_state=SPLIT_SEED)
    return Dataset(info, *_three_way_split(x.astype(np.float32), y.astype(np.int64), 200, 200))


ADDING_STEPS = 100


@register_dataset(DatasetInfo("adding", f"The adding problem (Hochreiter & Schmidhuber 1997): {ADDING_STEPS} steps of (value, "
                              "marker); the target is the sum of the two marked values, one in each half (generated, "
                              "8,000 sequences)", "regression", (ADDING_STEPS, 2), feature_names=("value", "marker")))
def _adding(info: DatasetInfo) -> Dataset:
    """A long-range dependency: the first marked value is 50 to 100 steps before the end, where the answer is read."""
    rng = np.random.default_rng(SPLIT_SEED)
    n, steps, rows = 8000, ADDING_STEPS, np.arange(8000)
    values = rng.uniform(0.0, 1.0, (n, steps))
    first, second = rng.integers(0, steps // 2, n), rng.integers(steps // 2, steps, n)
    markers = np.zeros((n, steps))
    markers[rows, first] = markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32).reshape(n, 1)
    return Dataset(info, *_three_way_split(x, y, 1000, 1000))


# ------------------------------------------------------------------------------ shaping for a spec
def check_fits(info: DatasetInfo, input_shape, where: str) -> None:
    """Refuse a dataset whose features cannot fill `input_shape` (flat or image)."""
    size = math.prod(int(d) for d in input_shape)  # Python ints: no silent overflow for absurd shapes
    if size != info.num_features:
        raise SpecError(
            f"Dataset {info.name!r} does not fit `input_shape` {list(input_shape)} in {where}: its samples have "
            f"shape {list(info.feature_shape)} ({info.num_features} values); pick a dataset with {size} features"
        )


def encode_targets(y: np.ndarray, loss: str, num_classes: int | None) -> np.ndarray:
    """Labels as the loss wants them: one-hot for categorical cross-entropy, a float column for binary/regression."""
    if loss in ("categorical_crossentropy", "mse", "mae") and num_classes and num_classes > 2:
        return np.eye(num_classes, dtype=np.float32)[y]
    if loss == "sparse_categorical_crossentropy":
        return y.astype(np.int64)
    return y.astype(np.float32).reshape(len(y), -1)


def prepare(dataset: Dataset, input_shape, loss: str) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """Arrays shaped for a model: x reshaped to (n, *input_shape), y encoded for `loss`.

    Returns a dict with "train", "val" (None when the dataset has no validation split) and "test".
    """
    info = dataset.info
    check_fits(info, input_shape, "the spec")
    shape = tuple(input_shape)

    def pair(x, y):
        if x is None:
            return None
        return (np.ascontiguousarray(x, dtype=np.float32).reshape((len(x), *shape)), encode_targets(y, loss, info.num_classes))

    return {
        "train": pair(dataset.x_train, dataset.y_train),
        "val": pair(dataset.x_val, dataset.y_val),
        "test": pair(dataset.x_test, dataset.y_test),
    }
