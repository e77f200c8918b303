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
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (raw or gzipped), checking its header against its size."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"Cannot read {path}: {e}; replace the file with a fresh copy") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number); replace it with a fresh copy")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (incomplete header); replace it with a fresh copy")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{path} is truncated or corrupt: {len(data)} bytes, its header promises {expected}; "
            "replace it with a fresh copy"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _mnist_from_folder(folder: Path) -> dict[str, np.ndarray] | None:
    npz = folder / "mnist.npz"
    if npz.is_file():
        try:
            with np.load(npz, allow_pickle=False) as f:
                return {key: f[key] for key in MNIST_FILES}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            why = str(e).split(". ")[0] if "allow_pickle" in str(e) else str(e)  # never suggest loading it unsafely
            raise DataError(f"Cannot read {npz} ({type(e).__name__}: {why}); it is damaged (an interrupted download?): "
                            "delete it and run `zoo fetch mnist`, or replace it with a fresh copy") from None
    paths = {}
    for key, stem in MNIST_FILES.items():
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()]
        if not found:
            return None
        paths[key] = found[0]
    return {key: read_idx(path) for key, path in paths.items()}


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
    """The raw uint8 MNIST arrays, from the first folder of `mnist_search_path()` that has them, else downloaded."""
    folders = mnist_search_path()
    for folder in folders:
        if (arrays := _mnist_from_folder(folder)) is not None:
            return arrays
    try:
        return _download_mnist()
    except Exception as e:  # no network, proxy, disk full: all mean "not reachable"
        looked = ", ".join(str(f) for f in folders)
        raise DataError(
            f"MNIST not found (looked in {looked}; download failed: {_download_failure(e)}); set ZOO_DATA_DIR to "
            "a folder with the IDX or mnist.npz files, or train on the offline digits (--dataset digits)"
        ) from None


def _split_off_validation(x, y, n_val: int, seed: int = SPLIT_SEED):
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


IMAGE_SHAPE = (28, 28)


@register_dataset(DatasetInfo("mnist", "MNIST handwritten digits, 28x28 (60,000 train incl. 5,000 validation; 10,000 test)",
                              "classification", IMAGE_SHAPE, 10, DIGIT_NAMES))
def _mnist(info: DatasetInfo) -> Dataset:
    a = load_mnist_arrays()
    if a["x_train"].shape[1:] != IMAGE_SHAPE or len(a["x_train"]) != len(a["y_train"]) or len(a["x_test"]) != len(a["y_test"]):
        raise DataError("MNIST files found but their shapes do not match (28x28 images, one label each); replace them")
    x_train, y_train, x_val, y_val = _split_off_validation(a["x_train"], a["y_train"], 5000)
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
