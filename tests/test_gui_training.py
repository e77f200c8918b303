"""The Train, Runs, Zoo and Gradients views, driven as a user would (offscreen, trainings in real subprocesses)."""
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import zoo
from zoo.runs import list_runs

pytest.importorskip("pytestqt")

from gui.views.gradients_view import GradientsView  # noqa: E402
from gui.views.runs_view import RunsView  # noqa: E402
from gui.views.train_view import TrainView  # noqa: E402
from gui.views.zoo_view import ZooView  # noqa: E402
from picture import assert_all_visible  # noqa: E402

TRAINING_TIMEOUT_MS = 120_000


def _train_and_wait(qtbot, view: TrainView, **settings):
    for name, value in settings.items():
        widget = getattr(view, name)
        widget.setValue(value) if hasattr(widget, "setValue") else widget.setCurrentText(str(value))
    with qtbot.waitSignal(view.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


def test_a_short_training_finishes_and_its_curves_are_its_history(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    view.select_model("mlp")
    assert view.optimizer.currentText() == "adam" and view.learning_rate.text() == "0.001"  # the spec's defaults
    end = _train_and_wait(qtbot, view, epochs=2)
    assert end["state"] == "completed", end
    run = Path(end["run"])
    history = json.loads((run / "history.json").read_text())
    xs, ys = view.curves["val_loss"].getData()
    assert list(xs) == [1.0, 2.0] and np.allclose(ys, history["val_loss"])
    xs, ys = view.curves["loss"].getData()
    assert xs[-1] == pytest.approx(2.0) and ys[-1] == pytest.approx(history["loss"][-1], rel=1e-6)
    assert view.progress.value() == view.progress.maximum() and "test accuracy" in view.progress_text.text()
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()
    [info] = list_runs()
    status = json.loads((run / "status.json").read_text())
    assert info.path == run and info.state == "completed" and info.accuracy == status["test"]["accuracy"]
    assert status["backend"] == view.backend.currentText() == "jax"  # the fastest installed, as shown


def test_the_backend_choice_reaches_the_training_and_the_perceptron_stays_on_tensorflow(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    view.select_model("mlp")
    shown = [view.backend.itemText(i) for i in range(view.backend.count())]
    assert shown[:2] == ["jax", "tensorflow"] and view.backend.isEnabled()
    view.backend.setCurrentText("tensorflow")
    assert view.options().arguments()[-2:] == ["--backend", "tensorflow"]
    view.select_model("perceptron")
    assert view.backend.currentText() == "tensorflow" and not view.backend.isEnabled()
    view._set_running(False)
    assert not view.backend.isEnabled()  # still bound after a run ends
    view.select_model("exploding")  # its spec asks for TensorFlow, where the explosion shows as NaN
    assert view.backend.isEnabled() and view.backend.currentText() == "tensorflow"
    view.select_model("xor-mlp")
    assert view.backend.isEnabled() and view.backend.currentText() == "jax"


def test_stop_ends_the_run_at_the_next_step_with_the_model_saved(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    view.select_model("mlp")
    view.epochs.setValue(500)
    view.batch_size.setCurrentText("1")  # slow epochs: Stop lands mid-epoch
    with qtbot.waitSignal(view.process.batch, timeout=TRAINING_TIMEOUT_MS):
        view.start()
    with qtbot.waitSignal(view.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    end = finished.args[0]
    assert end["state"] == "stopped"
    status = json.loads((Path(end["run"]) / "status.json").read_text())
    assert status["state"] == "stopped" and status["epochs_completed"] < 5
    assert (Path(end["run"]) / "model.keras").is_file()


def test_a_diverging_run_shows_a_banner_not_a_crash(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    view.select_model("exploding")
    end = _train_and_wait(qtbot, view, epochs=1)
    assert end["state"] == "diverged"
    text = view.banner.text()
    assert view.banner.isVisibleTo(view) and f"step {end['step']}" in text and "gradient clipping" in text
    assert "nan" in text or "inf" in text


def test_bad_form_values_are_refused_without_starting(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    view.learning_rate.setText("fast")
    assert view.start() is False and not view.process.running
    assert "Learning rate must be a positive number" in view.message.text()


def test_runs_view_reopens_curves_and_confusion_matrix_and_deletes_after_confirming(qtbot, tmp_path, small_data):
    runs_dir = zoo.runs.runs_dir()
    result = zoo.train("mlp", epochs=2, data=small_data("digits", 256), out=runs_dir / "a", progress=False, record_every=0)
    broken = runs_dir / "broken"
    broken.mkdir()
    (broken / "status.json").write_text("{not json")
    answers = []
    view = RunsView(confirm=lambda parent, text: answers.pop(0))
    qtbot.addWidget(view)
    states = {r.path.name: r.state for r in view.runs}
    assert states == {"a": "completed", "broken": "broken"}
    broken_row = [r.path.name for r in view.runs].index("broken")
    assert "unreadable" in view.table.item(broken_row, 0).toolTip()
    view.select(result.path)
    [(xs, ys)] = [c.getData() for c in view.loss_plot.listDataItems() if c.name() == "train"]
    assert list(xs) == [1, 2] and np.allclose(ys, result.history["loss"])
    confusion = json.loads((result.path / "confusion.json").read_text())
    assert np.array_equal(view.confusion, confusion["matrix"])
    assert np.trace(view.confusion) / view.confusion.sum() == pytest.approx(result.test["accuracy"], abs=1e-6)
    answers[:] = [False]
    view.delete_selected()
    assert result.path.is_dir()
    answers[:] = [True]
    view.delete_selected()
    assert not result.path.exists() and [r.path.name for r in view.runs] == ["broken"]


def test_runs_view_overlays_several_runs(qtbot, small_data):
    runs_dir = zoo.runs.runs_dir()
    paths = [zoo.train(name, epochs=1, data=small_data("digits", 128), out=runs_dir / name, progress=False,
                       record_every=0).path for name in ("mlp", "deep-relu")]
    view = RunsView()
    qtbot.addWidget(view)
    view.select(*paths)
    names = sorted(c.name() for c in view.loss_plot.listDataItems())
    assert names == ["deep-relu train", "deep-relu validation", "mlp train", "mlp validation"]
    assert view.confusion is None  # one matrix at a time


def test_zoo_view_lists_every_model_and_an_invalid_user_spec_with_its_error(qtbot, tmp_path, monkeypatch):
    user = tmp_path / "my_models"
    user.mkdir()
    (user / "broken.toml").write_text('description = "x"\nbuilder = "mlp"\ndataset = "digits"\ninput_shape = [784]\n'
                                      '[output]\nunits = 10\nactivation = "softmax"\n[training]\nloss = "categorical_crossentropy"\n'
                                      '[optimizer]\nname = "adamm"\nlearning_rate = 0.001\n')
    monkeypatch.setenv("ZOO_MODELS_DIR", str(user))
    view = ZooView()
    qtbot.addWidget(view)
    names = [view.models.item(i).text() for i in range(view.models.count())]
    assert "broken  (invalid)" in names and set(zoo.list_models()) - {"broken"} <= set(names)
    view.select("broken")
    assert "adamm" in view.title.text() and "optimizer.name" in view.title.text()
    assert 'name = "adamm"' in view.spec_text.toPlainText() and not view.train_button.isEnabled()
    view.on_tensorflow_ready()
    view.select("mlp")
    expected = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10  # counted by hand
    assert view.total.text() == f"Total parameters: {expected:,}"
    assert [view.layers.item(r, 0).text() for r in range(view.layers.rowCount())] == [
        "hidden_1", "dropout_1", "hidden_2", "dropout_2", "output"]
    assert view.layers.item(0, 5).text() == f"{784 * 512 + 512:,}" and view.layers.item(4, 3).text() == "softmax"


def _csv_norms(run: Path) -> dict:
    with open(run / "gradients.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {(int(r["step"]), r["layer"]): float(r["grad_norm"]) for r in rows}


def test_gradients_view_shows_the_recorded_norms_and_heatmap(qtbot, tmp_path, small_data):
    run = zoo.train("deep-sigmoid", epochs=1, data=small_data("digits", 256), out=tmp_path / "ds", progress=False).path
    view = GradientsView()
    qtbot.addWidget(view)
    view.show()  # a hidden view draws nothing until shown
    view.show_runs([run])
    norms = _csv_norms(run)
    (curves,) = view.plots["norms"][0]
    first = curves.listDataItems()[0]
    xs, ys = first.getOriginalDataset()
    assert np.allclose(ys, [norms[(int(s), "hidden_1")] for s in xs], rtol=1e-6)
    view.tabs.setCurrentIndex(list(view.pages).index("heatmap"))  # each tab is drawn when shown
    _, image = view.plots["heatmap"][0]
    assert image.image.shape == (11, 8)  # layers x steps
    assert image.image[0, 0] == pytest.approx(np.log10(norms[(1, "hidden_1")]), rel=1e-6)
    view.tabs.setCurrentIndex(0)
    view.smoothing.setValue(0.5)
    _, smoothed = curves.listDataItems()[0].getOriginalDataset()
    assert smoothed[0] == pytest.approx(ys[0]) and smoothed[1] == pytest.approx((0.5 * 0.5 * ys[0] + 0.5 * ys[1]) / 0.75)
    assert "smaller than the last" in view.status.text()
    out = view.save(str(tmp_path / "fig.png"))
    assert out.stat().st_size > 1000


def test_vanishing_preset_trains_both_models_side_by_side(qtbot, monkeypatch):
    view = GradientsView()
    qtbot.addWidget(view)
    view.show()  # a hidden view draws nothing until shown
    finished = []
    view.run_finished.connect(finished.append)
    view.run_preset("vanishing", epochs=1)
    qtbot.waitUntil(lambda: len(finished) == 2 and not view.busy, timeout=2 * TRAINING_TIMEOUT_MS)
    assert [e["state"] for e in finished] == ["completed", "completed"]
    assert [r.name for r in view.runs] == ["deep-sigmoid", "deep-relu"] and len(view.plots["norms"]) == 2
    sigmoid, relu = view.runs
    ratio = lambda r: r.norms[0, 9] / r.norms[0, 0]  # noqa: E731  last hidden / first hidden, at step 1
    assert ratio(sigmoid) > 100 and ratio(relu) < 10
    (first,), (second,) = view.plots["norms"]
    (_, y), (_, other_y) = first.getViewBox().viewRange(), second.getViewBox().viewRange()
    assert np.allclose(y, other_y)  # one y scale: both runs' data
    for run, plot in zip(view.runs, (first, second)):  # each run's x axis covers its own steps, every point shows
        (x0, x1), _ = plot.getViewBox().viewRange()
        assert x0 <= run.steps[0] and x1 >= run.steps[-1]
        assert_all_visible(plot)


def test_an_interrupted_run_is_resumed_from_the_runs_view(qtbot):
    import signal
    import subprocess
    import sys

    run = zoo.runs.runs_dir() / "killed"
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", "mlp", "--epochs", "2", "--batch-size", "8",
                                "--set", "training.augment=0", "--json", "--out", str(run)], stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "batch" and event["epoch"] == 2:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    runs = RunsView()
    train = TrainView()
    qtbot.addWidget(runs)
    qtbot.addWidget(train)
    runs.resume_requested.connect(train.resume)
    runs.select(run)
    assert runs.selected()[0].state == "interrupted" and runs.resume_button.isEnabled()
    with qtbot.waitSignal(train.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(runs.resume_button, Qt.MouseButton.LeftButton)
    assert finished.args[0]["state"] == "completed" and finished.args[0]["run"] == str(run)
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    xs, ys = train.curves["val_loss"].getData()
    assert list(xs) == [1.0, 2.0] and np.allclose(ys, history["val_loss"])  # the kept epoch, then the resumed one
    runs.refresh()
    assert runs.runs[0].state == "completed" and not runs.resume_button.isEnabled()
