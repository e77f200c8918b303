"""The drawing-pad view: draw with the mouse, see the model's probabilities, clear and undo."""
import shutil
import tomllib

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

import zoo  # noqa: E402
from gui.views.draw_view import NO_INK, NO_MODEL, DrawView  # noqa: E402
from zoo.inference import Predictor  # noqa: E402
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


def test_a_stroke_is_predicted(qtbot, view, run):
    assert not view.isEnabled()  # until TensorFlow is ready
    view.on_tensorflow_ready()
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
    assert view.sentence.text() == expected.sentence
    assert view.sentence.text().endswith(f"sure this is {'an' if expected.label == 8 else 'a'} {expected.label}")
    brushes = view.bars.opts["brushes"]
    assert brushes[expected.label] is view._top_brush
    assert sum(b is view._top_brush for b in brushes) == 1
    seen = view.seen.pixmap().toImage()
    assert (seen.width(), seen.height()) == (140, 140)
    assert len(view._layer_items) == 2  # hidden_1, hidden_2
    first = view._layer_items[0].image
    assert first is not None and first.shape == (16, 32)
    np.testing.assert_allclose(first.reshape(-1), expected.hidden[0][1], atol=1e-5)


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
    draw(qtbot, view.pad, SEVEN)
    assert view.prediction is None and NO_MODEL in view.sentence.text()

    shutil.copytree(trained_run, runs_dir() / "20260101-140000-mlp")
    view.refresh_button.click()
    assert view.run_combo.count() == 1 and view.predictor is not None
    assert view.prediction is not None  # the drawing already on the pad is predicted at once
    assert "% sure this is a" in view.sentence.text()


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
