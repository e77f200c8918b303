"""The drawing-pad view: draw with the mouse, see the model's probabilities, clear and undo; which model; no digit."""
import json
import shutil
import tomllib

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

import zoo  # noqa: E402
from conftest import mnist_dir  # noqa: E402
from drawings import NOT_DIGITS  # noqa: E402
from picture import in_app_window  # noqa: E402
from gui.views.draw_view import MODEL_TIP, NO_INK, NO_MODEL, SEEN_SCALE, DrawView  # noqa: E402
from zoo.inference import NoveltyCheck, Predictor  # noqa: E402
from zoo.runs import runs_dir  # noqa: E402

SEVEN = [(60, 50), (140, 50), (215, 50), (170, 150), (125, 250)]  # pad pixels
BAR = [(140, 40), (140, 250)]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, small_data):
    path = tmp_path_factory.mktemp("draw_runs") / "mlp"
    result = zoo.train("mlp", data=small_data("digits", 256), epochs=1, out=path, progress=False, record_every=0)
    assert result.state == "completed"
    return path


@pytest.fixture
def run(trained_run):
    """The trained mlp as a completed run in this test's ZOO_HOME."""
    path = runs_dir() / "20260101-120000-mlp"
    shutil.copytree(trained_run, path)
    return path


@pytest.fixture
def view(shown):
    return shown(DrawView(), 900, 600)


def draw(qtbot, pad, points):
    positions = [pad.widget_pos(x, y) for x, y in points]
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=positions[0])
    for pos in positions[1:]:
        qtbot.mouseMove(pad, pos=pos)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=positions[-1])


def bar_heights(view) -> np.ndarray:
    return np.asarray(view.bars.opts["height"], dtype=np.float64)


def ready(qtbot, view):
    """TensorFlow is ready, and the drawings' comparison with real digits too when MNIST is here (seconds, once)."""
    view.on_tensorflow_ready()
    qtbot.waitUntil(lambda: not view.novelty_pending(), timeout=120_000)


@pytest.fixture
def with_mnist(monkeypatch):
    """MNIST on this computer (CI's copy): drawings are compared with its digits."""
    if mnist_dir() is None:
        pytest.skip("needs MNIST (ZOO_DATA_DIR): without it drawings are not compared with real digits")
    monkeypatch.setenv("ZOO_DATA_DIR", mnist_dir())


def test_a_stroke_is_predicted(qtbot, view, run):
    assert not view.isEnabled()  # until TensorFlow is ready
    ready(qtbot, view)
    assert view.isEnabled()
    assert view.run_combo.count() == 1
    assert view.run_combo.currentText().startswith("mlp · digits · ")
    assert view.sentence.text() == NO_INK

    with qtbot.waitSignal(view.pad.stroke_finished, timeout=2000):
        draw(qtbot, view.pad, SEVEN)
    ink = view.pad.ink()
    assert len(view.pad.strokes) == 1
    assert ink.shape == (280, 280) and ink.dtype == np.float32
    assert ink[50, 140] > 0.9 and ink[150, 170] > 0.9  # the path went through the moves, not just press to release
    assert ink[250, 30] == 0.0

    expected = Predictor.from_run(run).predict_ink(ink)
    np.testing.assert_allclose(bar_heights(view), expected.probabilities, atol=1e-6)
    assert view.prediction.novelty == pytest.approx(expected.novelty)
    assert view.sentence.text() == expected.sentence
    brushes = view.bars.opts["brushes"]
    if not expected.unfamiliar:
        assert view.sentence.text().endswith(f"sure this is {'an' if expected.label == 8 else 'a'} {expected.label}")
        assert brushes[expected.label] is view._top_brush
        assert sum(b is view._top_brush for b in brushes) == 1
        assert view.trust.text().startswith("Looks like a digit" if expected.novelty is not None else "The bars are a")
    seen = view.seen.pixmap().toImage()
    assert (seen.width(), seen.height()) == (28 * SEEN_SCALE, 28 * SEEN_SCALE)
    assert len(view._layer_items) == 2  # hidden_1, hidden_2
    first = view._layer_items[0].image
    assert first is not None and first.shape == (16, 32)
    np.testing.assert_allclose(first.reshape(-1), expected.hidden[0][1], atol=1e-5)
    # each hidden layer's map has its colour scale: 0 to its largest activation, with labelled ticks
    assert len(view._layer_bars) == 2
    for bar, item in zip(view._layer_bars, view._layer_items):
        assert bar.scene() is view.layers_view.scene() and bar.isVisible()
        assert bar.levels() == pytest.approx((0.0, float(np.nanmax(item.image)) or 1.0))


def test_clear_and_undo(qtbot, view, run):
    view.on_tensorflow_ready()
    draw(qtbot, view.pad, BAR)
    one_stroke = view.pad.ink().copy()
    after_one = bar_heights(view).copy()
    assert after_one.sum() == pytest.approx(1.0, abs=1e-5)

    draw(qtbot, view.pad, SEVEN)
    assert len(view.pad.strokes) == 2
    assert not np.array_equal(view.pad.ink(), one_stroke)

    view.undo_button.click()
    assert len(view.pad.strokes) == 1
    np.testing.assert_array_equal(view.pad.ink(), one_stroke)
    np.testing.assert_allclose(bar_heights(view), after_one, atol=1e-6)

    view.clear_button.click()
    assert view.pad.strokes == []
    assert view.pad.ink().max() == 0.0
    assert view.sentence.text() == NO_INK
    assert bar_heights(view).max() == 0.0
    view.undo_button.click()  # nothing left to undo: harmless
    assert view.sentence.text() == NO_INK


def test_without_a_digit_model_it_says_what_to_do(qtbot, view, trained_run):
    not_digits = runs_dir() / "20260101-130000-regression-like"
    shutil.copytree(trained_run, not_digits)
    spec = not_digits / "spec.toml"
    spec.write_text(spec.read_text().replace("input_shape = [\n    784,\n]", "input_shape = [\n    1,\n]")
                    .replace("input_shape = [784]", "input_shape = [1]"))
    assert tomllib.loads(spec.read_text())["input_shape"] == [1]
    view.on_tensorflow_ready()
    assert view.run_combo.count() == 0
    assert NO_MODEL in view.sentence.text()
    shown_texts = [w.text() for w in (view.sentence, view.trust, view.status) if w.text()]
    assert sum(NO_MODEL in t for t in shown_texts) == 1, shown_texts  # said once, not in the heading and again below
    draw(qtbot, view.pad, SEVEN)
    assert view.prediction is None and NO_MODEL in view.sentence.text()

    shutil.copytree(trained_run, runs_dir() / "20260101-140000-mlp")
    view.refresh_button.click()
    assert view.run_combo.count() == 1 and view.predictor is not None
    assert view.prediction is not None  # the drawing already on the pad is predicted at once
    assert view.sentence.text() == view.prediction.sentence and "sure this is a" in view.sentence.text()


def test_set_run_switches_models(qtbot, view, run, tmp_path):
    view.on_tensorflow_ready()
    draw(qtbot, view.pad, SEVEN)
    other = tmp_path / "elsewhere"
    shutil.copytree(run, other)
    model = Predictor.from_run(other).model
    for layer in model.layers:  # a different model: shuffled output weights
        if layer.name == "output":
            kernel = layer.kernel.numpy()
            layer.kernel.assign(kernel[:, ::-1].copy())
    model.save(other / "model.keras")
    view.set_run(other)
    assert view.run_path == other and view.run_combo.currentData() == str(other)
    expected = Predictor.from_run(other).predict_ink(view.pad.ink())
    np.testing.assert_allclose(bar_heights(view), expected.probabilities, atol=1e-6)
    view.set_run(tmp_path / "missing")
    assert view.predictor is None and "missing" in view.status.text()


def test_nothing_loads_before_tensorflow_is_ready(qtbot, view, run, tmp_path):
    other = tmp_path / "chosen"
    shutil.copytree(run, other)
    view.refresh()  # e.g. a run finished while TensorFlow was still loading
    view.set_run(other)
    assert view.predictor is None and view.sentence.text() != NO_INK
    view.on_tensorflow_ready()
    assert view.predictor is not None and view.run_path == other
    assert view.run_combo.count() == 2  # the run in ZOO_HOME and the one chosen from elsewhere
    assert view.sentence.text() == NO_INK


def status_of(path, **changes):
    status = json.loads((path / "status.json").read_text())
    status.update(changes)
    (path / "status.json").write_text(json.dumps(status))


def test_the_default_model_is_the_best_for_drawings_and_a_choice_stays(qtbot, view, trained_run, monkeypatch):
    monkeypatch.setattr(NoveltyCheck, "for_dataset", classmethod(lambda cls, *a, **k: None))  # not what this tests
    folders = {}
    for name, dataset, accuracy, day in [("old-digits", "digits", 0.95, 1), ("mnist-good", "mnist", 0.97, 2),
                                         ("mnist-best", "mnist", 0.99, 3), ("new-digits", "digits", 0.99, 5)]:
        folders[name] = runs_dir() / f"2026010{day}-120000-mlp-{name}"
        shutil.copytree(trained_run, folders[name])
        status_of(folders[name], dataset=dataset, test={"accuracy": accuracy}, started=f"2026-01-0{day}T12:00:00+00:00")
    view.on_tensorflow_ready()
    assert view.run_combo.count() == 4
    # the most accurate MNIST run, not the newest (a digits run) nor the oldest
    assert view.run_path == folders["mnist-best"] and view.run_combo.currentData() == str(folders["mnist-best"])
    assert view.run_combo.currentText().startswith("mlp · mnist · 99.0% · 2026-01-03")
    assert view.status.text() == "Chosen automatically: the most accurate run trained on MNIST"
    assert "most accurate run trained on MNIST" in view.run_combo.toolTip() and MODEL_TIP == view.run_combo.toolTip()

    newer = runs_dir() / "20260106-120000-mlp-mnist-better"  # trained meanwhile: better, so it becomes the default
    shutil.copytree(trained_run, newer)
    status_of(newer, dataset="mnist", test={"accuracy": 0.995}, started="2026-01-06T12:00:00+00:00")
    view.refresh_button.click()
    assert view.run_path == newer

    index = view.run_combo.findData(str(folders["old-digits"]))  # the user picks one: it stays
    view.run_combo.setCurrentIndex(index)
    view.run_combo.activated.emit(index)
    assert view.run_path == folders["old-digits"] and "Chosen automatically" not in view.status.text()
    best = runs_dir() / "20260107-120000-mlp-mnist-best-yet"
    shutil.copytree(trained_run, best)
    status_of(best, dataset="mnist", test={"accuracy": 0.999}, started="2026-01-07T12:00:00+00:00")
    view.refresh_button.click()
    assert view.run_path == folders["old-digits"] and view.run_combo.currentData() == str(folders["old-digits"])
    shutil.rmtree(folders["old-digits"])  # the chosen run deleted: back to the best
    view.refresh_button.click()
    assert view.run_path == best and "Chosen automatically" in view.status.text()


def test_only_digits_runs_the_most_accurate_is_chosen(qtbot, view, trained_run):
    for day, accuracy in ((1, 0.93), (2, 0.95), (3, 0.069)):  # the newest learnt nothing
        path = runs_dir() / f"2026010{day}-120000-mlp"
        shutil.copytree(trained_run, path)
        status_of(path, started=f"2026-01-0{day}T12:00:00+00:00", test={"accuracy": accuracy})
    ready(qtbot, view)
    assert view.run_path.name == "20260102-120000-mlp"
    assert view.status.text() == "Chosen automatically: the most accurate run (none was trained on MNIST)"


@pytest.mark.parametrize("shape", list(NOT_DIGITS))
def test_a_drawing_of_no_digit_gets_not_sure_and_grey_bars(qtbot, view, run, shape, with_mnist):
    ready(qtbot, view)
    assert view.predictor.novelty_check is not None
    for stroke in NOT_DIGITS[shape]:  # drawn with the mouse, stroke by stroke
        draw(qtbot, view.pad, stroke) if len(stroke) > 1 else draw(qtbot, view.pad, stroke * 2)
    p = view.prediction
    assert p is not None and p.unfamiliar and p.novelty > 1.0
    percent = int(np.floor(p.confidence * 100 + 1e-9))
    assert view.sentence.text() == (
        f"Not sure this is a digit: it looks unlike the digits this model learnt (best guess {p.label}, {percent}%: "
        "a softmax is overconfident on drawings unlike its training data)")
    assert view.trust.text().startswith("None of these: unlike real digits, ")
    assert "training digits" in view.trust.text() and "training digits by" in view.trust.toolTip()  # compared with
    assert all(b is view._unsure_brush for b in view.bars.opts["brushes"])  # no bar stands out
    np.testing.assert_allclose(bar_heights(view), p.probabilities, atol=1e-6)  # the softmax is still shown
    assert "softmax" in view.bar_plot.toolTip() and "overconfident" in view.bar_plot.toolTip()
    view.clear_button.click()
    assert view.sentence.text() == NO_INK and not view.trust.text().startswith("None of these")


def test_the_view_fits_a_640_by_420_window(qtbot, run, with_mnist):
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QLabel

    view = DrawView()
    window, tabs = in_app_window(qtbot, view, "Draw")
    hint = view.minimumSizeHint()
    assert hint.width() <= 640 and hint.height() <= 420 - 60, hint  # room left for the tab bar and status bar
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    ready(qtbot, view)
    for strokes in ([], NOT_DIGITS["an L"]):  # an empty pad, and the longest sentence
        for stroke in strokes:
            draw(qtbot, view.pad, stroke)
        qtbot.wait(50)
        assert (window.width(), window.height()) == (640, 420)
        assert view.compact and not view.layers_view.isVisible()  # a short window: the hidden layers wait
        important = [view.run_combo, view.data_note, view.pad, view.undo_button, view.clear_button, view.sentence,
                     view.trust, view.status, view.seen, view.bar_plot]
        boxes = []
        for widget in important:
            box = widget.geometry().translated(widget.parentWidget().mapTo(view, QPoint(0, 0)))
            assert widget.isVisible() and view.rect().contains(box), (widget, box)
            if isinstance(widget, QLabel) and widget.wordWrap():  # every line of the text is shown
                assert box.height() >= widget.heightForWidth(box.width()), (widget.text(), box)
            boxes.append((widget, box))
        for i, (a, box_a) in enumerate(boxes):  # nothing drawn over anything else
            for b, box_b in boxes[i + 1:]:
                assert not box_a.intersects(box_b), (a, box_a, b, box_b)
        assert view.bar_plot.height() >= 100 and view.pad.height() >= 140
    window.resize(1000, 700)  # taller: the hidden layers are back
    qtbot.waitUntil(lambda: not view.compact and view.layers_view.isVisible())
    assert view.seen.pixmap().width() == 28 * SEEN_SCALE


@pytest.mark.parametrize("dataset", ["mnist", "digits"])
def test_without_mnist_drawings_are_not_checked_and_it_says_so(qtbot, view, trained_run, monkeypatch, dataset):
    monkeypatch.setattr(zoo.datasets, "mnist_is_local", lambda: False)
    path = runs_dir() / f"20260101-120000-mlp-{dataset}"
    shutil.copytree(trained_run, path)
    status_of(path, dataset=dataset)
    view.on_tensorflow_ready()
    assert not view.novelty_pending() and view.predictor.novelty_check is None
    draw(qtbot, view.pad, SEVEN)
    p = view.prediction
    assert p.novelty is None and view.sentence.text() == p.sentence and p.sentence.endswith(f"sure this is a {p.label}"
                                                                                            if p.label != 8 else "an 8")
    assert view.trust.text().endswith("Drawings are not compared with real digits: MNIST is not on this computer "
                                      "(Train tab: download it).")


def test_a_model_answering_nan_says_so_instead_of_an_answer(qtbot, view, run, monkeypatch):
    ready(qtbot, view)
    broken = view.predictor
    monkeypatch.setattr(type(broken), "predict_ink", lambda self, ink: (_ for _ in ()).throw(
        zoo.RunError("the model gives non-finite probabilities (NaN)")))
    with qtbot.waitSignal(view.pad.stroke_finished, timeout=2000):
        draw(qtbot, view.pad, SEVEN)
    assert view.sentence.text() == "no answer from this model"
    assert "non-finite probabilities" in view.status.text()
    assert not np.any(bar_heights(view))  # no bars that read as an answer


def test_the_runs_the_pad_cannot_use_are_counted_with_why(qtbot, view, trained_run, monkeypatch):
    """A folder of 4 runs, one of them a digit model trained by zoo: not "the only run" without a word on the
    other 3 (two recorded by RunRecorder in a user's own fit, one on another dataset)."""
    monkeypatch.setattr(NoveltyCheck, "for_dataset", classmethod(lambda cls, *a, **k: None))  # not what this tests
    for name in ("own-a", "own-b"):  # RunRecorder: no spec.toml, the user's model name
        path = runs_dir() / f"20260102-120000-{name}"
        shutil.copytree(trained_run, path)
        (path / "spec.toml").unlink()
        status_of(path, source="RunRecorder", model="my_net", dataset="toy sums")
    view.on_tensorflow_ready()
    assert view.run_combo.count() == 0
    assert view.status.text() == ("The folder's 2 runs can't read drawings: 2 recorded by RunRecorder "
                                  "(a model of your own)."), view.status.text()
    iris = runs_dir() / "20260103-120000-iris-net"
    shutil.copytree(trained_run, iris)
    spec = iris / "spec.toml"
    spec.write_text(spec.read_text().replace("input_shape = [\n    784,\n]", "input_shape = [\n    4,\n]")
                    .replace("input_shape = [784]", "input_shape = [4]"))
    status_of(iris, dataset="iris")
    shutil.copytree(trained_run, runs_dir() / "20260101-120000-mlp")
    view.refresh_button.click()
    assert view.run_combo.count() == 1 and view.run_combo.currentText().startswith("mlp · digits")
    text = view.status.text()
    assert text.startswith("Chosen automatically: the only run the pad can use (not trained on MNIST). "), text
    assert text.endswith("3 other runs can't read drawings: 2 recorded by RunRecorder (a model of your own), "
                         "1 trained on iris."), text
    assert view.status.isVisible()
