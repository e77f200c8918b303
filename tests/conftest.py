import contextlib
import os
import signal
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# JAX trainings (subprocesses too) share one compile cache for the session's tests, never the user's own
os.environ.setdefault("ZOO_JAX_CACHE", os.path.join(tempfile.gettempdir(), f"zoo-tests-jax-cache-{os.getuid()}"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from zoo import datasets  # noqa: E402


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request):
    """Every test gets its own ZOO_HOME and Keras cache, no user models, and no network."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "zoo_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("ZOO_MODELS_DIR", raising=False)
    monkeypatch.delenv("ZOO_RUNS_DIR", raising=False)  # zoo.runs.use_runs_dir sets it in os.environ: undone after each test
    if request.module.__name__.startswith("test_gui"):  # the app's views train on the offline digits in tests
        monkeypatch.setattr("gui.views.train_view.mnist_is_local", lambda: False)

    def no_download():
        raise OSError("tests never download")

    monkeypatch.setattr(datasets, "_download_mnist", no_download)


def shrink(ds: datasets.Dataset, n: int) -> datasets.Dataset:
    """The first n examples of each split: small data for fast tests."""
    cut = lambda a: None if a is None else a[:n]  # noqa: E731
    return datasets.Dataset(ds.info, cut(ds.x_train), cut(ds.y_train), cut(ds.x_val), cut(ds.y_val),
                            cut(ds.x_test), cut(ds.y_test))


@pytest.fixture(scope="session")
def small_data():
    """name -> a small version of that dataset (MNIST-shaped sets come from the offline digits)."""
    cache = {}

    def get(name: str, n: int = 256) -> datasets.Dataset:
        if (name, n) not in cache:
            source = "digits" if name == "mnist" else name
            cache[(name, n)] = shrink(datasets.load_dataset(source), n)
        return cache[(name, n)]

    return get


def mnist_dir():
    """The real MNIST folder CI provides (../shared/data), or None."""
    candidates = [os.environ.get("ZOO_DATA_DIR"), os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")]
    for c in filter(None, candidates):
        if os.path.exists(os.path.join(c, "mnist", "train-images-idx3-ubyte.gz")):
            return os.path.abspath(c)
    return None


@contextlib.contextmanager
def fails_if_blocked(seconds: int):
    """Fail a test that blocks (opening a FIFO waits for a writer forever) instead of hanging the suite."""
    def ring(*_):
        raise TimeoutError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def dead_pid() -> int:
    """The pid of a process that has ended (for run folders whose training was killed)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def all_finite(model) -> bool:
    return all(np.isfinite(w.numpy()).all() for w in model.weights)


@pytest.fixture
def shown(qtbot):
    """`shown(widget, width, height)`: the widget on (offscreen) screen, as a user would see it."""

    def show(widget, width: int = 1000, height: int = 650):
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return show
