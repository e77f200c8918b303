"""The main window: on screen before TensorFlow, views that need it disabled until it has loaded, export."""
import subprocess
import sys

import pytest

import zoo

pytest.importorskip("pytestqt")

from gui.window import MainWindow  # noqa: E402


def test_the_app_module_does_not_import_tensorflow_before_the_window_shows():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6.QtWidgets import QApplication\napp = QApplication([])\n"
            "from gui.window import MainWindow\nw = MainWindow(); w.show(); app.processEvents()\n"
            "print('tensorflow' in sys.modules, w.draw.isEnabled(), w.tf_label.text())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False", "Loading", "TensorFlow…"], out.stderr[-2000:]


@pytest.mark.parametrize("module, view", [("gui.views.activations_view", "ActivationsView"),
                                          ("gui.views.perceptron_view", "PerceptronView")])
def test_views_that_say_they_need_no_tensorflow_import_none(module, view):
    code = (f"import sys; from {module} import {view}; assert {view}.needs_tensorflow is False; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


def test_views_that_need_tensorflow_wait_for_it_then_export_a_run(qtbot, tmp_path, small_data):
    window = MainWindow()
    qtbot.addWidget(window)
    needing = [view for view, _ in window.views if view.needs_tensorflow]
    assert needing and not any(view.isEnabled() for view in needing)
    window.load_tensorflow()
    qtbot.waitUntil(lambda: window.tensorflow_ready, timeout=120_000)
    assert all(view.isEnabled() for view in needing) and window.tf_label.text().startswith("TensorFlow ")
    run = zoo.train("mlp", epochs=1, data=small_data("digits", 128), out=zoo.runs.runs_dir() / "r", progress=False,
                    record_every=0).path
    window.runs.refresh()
    window.quiet = True
    for format, name in (("onnx", "exported.onnx"), ("keras", "exported.keras")):
        with qtbot.waitSignal(window.export_finished, timeout=120_000) as exported:
            window.export_run(str(run), str(tmp_path / name), format)
        result = exported.args[0]
        assert result is not None and result.path == tmp_path / name and result.max_abs_diff <= 1e-4
        assert "Exported" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.export_finished, timeout=120_000) as failed:
        window.export_run(str(run), str(tmp_path / "no_such_folder" / "x.onnx"), "onnx")
    assert failed.args[0] is None and "does not exist" in window.statusBar().currentMessage()
