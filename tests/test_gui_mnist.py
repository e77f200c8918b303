"""MNIST out of the box: the Train view offers to fetch it and then trains on it; the Draw view says what a
model trained on the offline digits can't do."""
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

import zoo  # noqa: E402
from gui.views import train_view  # noqa: E402
from gui.views.draw_view import DrawView  # noqa: E402
from gui.views.train_view import TrainView  # noqa: E402
from zoo.cli import main  # noqa: E402
from zoo.datasets import MNIST_DOWNLOAD_BYTES, mnist_download_path  # noqa: E402
from zoo.runs import runs_dir  # noqa: E402

# stands in for `zoo fetch mnist` (tests never download): writes Keras' mnist.npz in growing pieces, or fails
FAKE_DOWNLOAD = """
import os, sys, time
from pathlib import Path
import numpy as np
target = Path(os.environ["KERAS_HOME"]) / "datasets" / "mnist.npz"
target.parent.mkdir(parents=True, exist_ok=True)
with open(target, "wb") as f:
    for _ in range(4):
        f.write(b"x" * 1_000_000)
        f.flush()
        time.sleep(0.3)
arrays = {k: np.zeros(s, np.uint8) for k, s in
          (("x_train", (3, 28, 28)), ("y_train", (3,)), ("x_test", (2, 28, 28)), ("y_test", (2,)))}
np.savez(target, **arrays)
"""
FAKE_OFFLINE = ("import sys; print('zoo: error: Cannot download MNIST (URLError: no network); are you offline?',"
                " file=sys.stderr); sys.exit(2)")


@pytest.fixture
def view(shown, monkeypatch):
    monkeypatch.setattr(train_view, "mnist_is_local", zoo.datasets.mnist_is_local)
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    return shown(TrainView(), 1000, 650)


def test_mnist_is_offered_when_missing_and_used_once_fetched(qtbot, view):
    view.select_model("mlp")
    assert view.mnist_offer.isVisible() and view.dataset.currentText() == "digits"
    view.fetch_arguments = ["-c", FAKE_DOWNLOAD]
    seen = []
    view._fetch_timer.timeout.connect(lambda: seen.append(view.mnist_text.text()))
    qtbot.mouseClick(view.mnist_button, Qt.MouseButton.LeftButton)
    assert not view.mnist_button.isEnabled()
    qtbot.waitUntil(lambda: not view.mnist_offer.isVisible(), timeout=60_000)
    progress = [text for text in seen if "MB" in text]
    assert progress and progress[-1].endswith(f"of {MNIST_DOWNLOAD_BYTES / 1e6:.1f} MB")
    assert any(f" {mb:.1f} of" in text for text in progress for mb in (1.0, 2.0, 3.0, 4.0))  # it grew
    assert view.dataset.currentText() == "mnist" and "MNIST is here" in view.message.text()
    view.select_model("cnn")  # every digit model now defaults to the real MNIST
    assert view.dataset.currentText() == "mnist"


def test_offline_fetch_says_so_in_one_line(qtbot, view):
    view.select_model("mlp")
    view.fetch_arguments = ["-c", FAKE_OFFLINE]
    qtbot.mouseClick(view.mnist_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.mnist_button.isEnabled(), timeout=60_000)
    text = view.mnist_text.text()
    assert "Cannot download MNIST (URLError: no network); are you offline?" in text and "zoo: error" not in text
    assert view.mnist_offer.isVisible() and view.dataset.currentText() == "digits"


def test_zoo_fetch_mnist_offline_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)  # CI's MNIST folder would make the fetch unnecessary
    assert main(["fetch", "mnist"]) == 2  # conftest: downloads fail as offline ones do
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("zoo: error: Cannot download MNIST (OSError: tests never download); are you offline?")


def test_zoo_fetch_mnist_puts_it_where_keras_and_zoo_look(monkeypatch, capsys):
    def fake_download():
        path = mnist_download_path()
        path.parent.mkdir(parents=True)
        np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
                 x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))

    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setattr(zoo.datasets, "_download_mnist", fake_download)
    assert not zoo.datasets.mnist_is_local()
    assert main(["fetch", "mnist"]) == 0
    assert zoo.datasets.mnist_is_local() and str(mnist_download_path().parent) in capsys.readouterr().out
    assert zoo.datasets.load_mnist_arrays()["x_test"].shape == (2, 28, 28)


@pytest.mark.parametrize("dataset, note, mnist_here", [("digits", True, True), ("digits", True, False), ("mnist", False, True)])
def test_the_draw_view_says_when_its_model_learnt_from_the_offline_digits(dataset, note, mnist_here, shown, tmp_path,
                                                                          small_data, monkeypatch):
    monkeypatch.setattr(zoo.datasets, "mnist_is_local", lambda: mnist_here)
    run = runs_dir() / f"20260101-120000-mlp-{dataset}"
    result = zoo.train("mlp", data=small_data("digits", 64), epochs=1, out=tmp_path / "r", progress=False, record_every=0)
    shutil.copytree(result.path, run)
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "dataset": dataset}))
    view = shown(DrawView(), 900, 600)
    view.on_tensorflow_ready()
    assert view.predictor is not None and view.data_note.isVisible() == note
    if note:
        text = view.data_note.text()
        assert "offline digits" in text
        if mnist_here:  # MNIST is on this computer (the Train tab offers no download): say to train on it
            assert "Download" not in text
            assert "rain mlp or cnn on MNIST (Train tab, dataset mnist) for a model that reads drawings far better" in text
        else:
            assert "Download MNIST in the Train tab" in text
        assert "mlp recipe trained on them reads about 79% of drawn digits right, against 98.5% trained on MNIST" in text
