"""Datasets: the real MNIST loaders (IDX, .npz, Keras cache), the offline digits, curriculum sets, shaping."""
import gzip
import struct

import numpy as np
import pytest

import zoo
from zoo import datasets
from zoo.datasets import MNIST_FILES, prepare, read_idx

from conftest import mnist_dir

DOWNLOAD_MNIST = datasets._download_mnist  # before conftest's autouse fixture replaces it


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_mnist(rng, n_train=5100, n_test=30):
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_idx_folder(folder, arrays, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in MNIST_FILES.items():
        data = idx_bytes(arrays[key])
        if gz:
            with gzip.open(folder / f"{stem}.gz", "wb") as f:
                f.write(data)
        else:
            (folder / stem).write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    np.testing.assert_array_equal(read_idx(path), array)


def test_truncated_and_corrupt_idx_name_the_file(tmp_path):
    good = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(good[:-10])
    with pytest.raises(zoo.DataError, match=r"short is truncated or corrupt"):
        read_idx(tmp_path / "short")
    (tmp_path / "magic").write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(zoo.DataError, match=r"magic is not an IDX file"):
        read_idx(tmp_path / "magic")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(zoo.DataError, match=r"Cannot read .*bad\.gz"):
        read_idx(tmp_path / "bad.gz")


def test_mnist_from_zoo_data_dir_idx(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(0))
    write_idx_folder(tmp_path / "data" / "mnist", arrays)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "data"))
    ds = datasets.load_dataset("mnist")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (100, 5000, 30)
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    np.testing.assert_allclose(ds.x_test * 255, arrays["x_test"], atol=1e-3)
    # train + validation together are exactly the original training set
    together = np.concatenate([ds.y_train, ds.y_val])
    assert sorted(together.tolist()) == sorted(arrays["y_train"].tolist())


def test_mnist_from_npz_and_from_keras_cache(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(1))
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", **arrays)
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    ds = datasets.load_dataset("mnist")
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])


def test_mnist_unreachable_says_where_it_looked_and_suggests_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(zoo.DataError) as e:
        datasets.load_dataset("mnist")
    assert str(tmp_path / "empty") in str(e.value) and "--dataset digits" in str(e.value)


def test_offline_mnist_gives_the_network_reason_and_makes_no_run_folder(tmp_path, monkeypatch, capsys):
    from zoo._backend import keras
    from zoo.cli import main

    def offline():
        print("Downloading data from https://storage.googleapis.com/mnist.npz")  # as Keras does, on stdout
        raise Exception("URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- "
                        "[Errno -2] Name or service not known")

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(datasets, "_download_mnist", DOWNLOAD_MNIST)  # the real one, with Keras offline
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    assert main(["train", "mlp", "--dataset", "mnist", "--json", "--out", str(tmp_path / "run")]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # stdout is the app's JSON-lines channel: Keras' chatter goes to stderr
    error = err.splitlines()[-1]
    assert error.startswith("zoo: error: MNIST not found") and "Exception: [Errno -2] Name or service not known)" in error
    assert not (tmp_path / "run").exists() and zoo.runs.list_runs() == []  # nothing half-made to list in `zoo runs`


def test_corrupt_mnist_in_data_dir_names_the_file(tmp_path, monkeypatch):
    write_idx_folder(tmp_path / "mnist", fake_mnist(np.random.default_rng(2)))
    victim = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:50])
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(zoo.DataError, match="t10k-images-idx3-ubyte.gz"):
        datasets.load_dataset("mnist")


@pytest.mark.skipif(mnist_dir() is None, reason="the real MNIST (../shared/data) is not here")
def test_real_mnist_matches_its_published_counts(monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", mnist_dir())
    ds = datasets.load_dataset("mnist")
    assert ds.x_test.shape == (10000, 28, 28) and len(ds.x_train) + len(ds.x_val) == 60000
    assert np.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    train_counts = np.bincount(np.concatenate([ds.y_train, ds.y_val])).tolist()
    assert train_counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_digits_look_like_mnist_and_split_is_fixed():
    a, b = datasets.load_dataset("digits"), datasets.load_dataset("digits")
    assert a.x_train.shape[1:] == (28, 28) and len(a.x_train) + len(a.x_val) + len(a.x_test) == 1797
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_train.max() == pytest.approx(1.0) and a.x_train[:, :4, :].max() == 0.0  # 4-pixel empty border
    assert set(np.unique(a.y_train)) == set(range(10))


@pytest.mark.parametrize("name,outputs", [("concert", [1, 1, 0, 1]), ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]),
                                          ("xor", [0, 1, 1, 0])])
def test_truth_tables(name, outputs):
    ds = datasets.load_dataset(name)
    assert ds.x_train.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and ds.y_train.tolist() == outputs


def test_regression_and_binary_sets_are_generated_and_fixed():
    sine = datasets.load_dataset("sine")
    residual = sine.y_train - np.sin(2 * np.pi * sine.x_train)
    assert abs(residual.std() - 0.1) < 0.01  # the promised noise level
    moons = datasets.load_dataset("moons")
    assert set(np.unique(moons.y_train)) == {0, 1} and moons.x_train.shape[1] == 2
    np.testing.assert_array_equal(moons.x_test, datasets.load_dataset("moons").x_test)


def test_prepare_shapes_for_flat_and_image_inputs_and_encodes_targets():
    ds = datasets.load_dataset("digits")
    flat = prepare(ds, [784], "categorical_crossentropy")
    x, y = flat["train"]
    assert x.shape == (len(ds.x_train), 784) and y.shape == (len(ds.x_train), 10)
    np.testing.assert_array_equal(y.argmax(1), ds.y_train)
    image = prepare(ds, [28, 28, 1], "sparse_categorical_crossentropy")["test"]
    assert image[0].shape == (len(ds.x_test), 28, 28, 1) and image[1].ndim == 1
    np.testing.assert_array_equal(image[0][..., 0], ds.x_test)
    binary = prepare(datasets.load_dataset("and"), [2], "binary_crossentropy")
    assert binary["val"] is None and binary["train"][1].tolist() == [[0.0], [0.0], [0.0], [1.0]]
    with pytest.raises(zoo.SpecError, match="784"):
        prepare(datasets.load_dataset("xor"), [784], "mse")


def test_unknown_dataset_lists_known():
    with pytest.raises(zoo.DataError, match="known datasets: .*digits.*mnist"):
        datasets.load_dataset("cifar")


def test_idx_headers_are_checked_before_any_data_is_read(tmp_path):
    # a header declaring 2^32-1 images of 28x28 (a gzip bomb's worth): refused from the header alone
    huge = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 2**32 - 1, 28, 28) + b"\0" * 100
    (tmp_path / "huge.gz").write_bytes(gzip.compress(huge))
    with pytest.raises(zoo.DataError, match=r"huge\.gz declares an array of 4294967295x28x28 .*more than zoo reads"):
        read_idx(tmp_path / "huge.gz")
    # a file that goes on past what its header declares
    (tmp_path / "long").write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)) + b"\0" * 5)
    with pytest.raises(zoo.DataError, match="long is corrupt: it goes on past the 1,584 bytes"):
        read_idx(tmp_path / "long")
    # no dimensions
    (tmp_path / "flat").write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 0))
    with pytest.raises(zoo.DataError, match=r"flat is truncated or corrupt \(no dimensions\)"):
        read_idx(tmp_path / "flat")


BAD_MNIST = [
    ("x_train", lambda a: a[:, :20, :20], "train-images-idx3-ubyte.gz holds an array of 5100x20x20"),
    ("y_train", lambda a: np.where(np.arange(len(a)) == 7, 12, a), "train-labels-idx1-ubyte.gz holds the label 12 "
     r"\(at index 7\)"),
    ("y_test", lambda a: a[:-3], "t10k-images-idx3-ubyte.gz holds 30 images but .*t10k-labels-idx1-ubyte.gz holds 27"),
    ("x_test", lambda a: a[:0], "t10k-images-idx3-ubyte.gz holds no images"),
    ("x_train", lambda a: a[:4000], "holds 4,000 training images; zoo sets 5,000 of them aside"),
]


@pytest.mark.parametrize("key,damage,message", BAD_MNIST, ids=["shape", "label", "count", "empty", "few"])
def test_files_that_are_not_mnist_are_named_with_what_is_wrong(tmp_path, monkeypatch, key, damage, message):
    arrays = fake_mnist(np.random.default_rng(3))
    arrays[key] = damage(arrays[key])
    if key == "x_train" and len(arrays[key]) == 4000:
        arrays["y_train"] = arrays["y_train"][:4000]
    write_idx_folder(tmp_path / "mnist", arrays)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(zoo.DataError, match=message) as e:
        datasets.load_dataset("mnist")
    assert "\n" not in str(e.value)
