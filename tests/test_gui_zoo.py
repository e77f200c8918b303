"""The Zoo view before TensorFlow has loaded: the layer table and parameter counts are already there."""
import pytest

pytest.importorskip("pytestqt")

import zoo  # noqa: E402
from gui.views.zoo_view import ZooView  # noqa: E402


def test_layers_and_parameters_show_before_tensorflow_loads(qtbot, monkeypatch):
    monkeypatch.setattr(zoo, "build", lambda *a, **k: pytest.fail("the table must not need a built model"))
    view = ZooView()
    qtbot.addWidget(view)
    view.select("cnn")
    rows = [[view.layers.item(r, c).text() for c in range(6)] for r in range(view.layers.rowCount())]
    assert [r[0] for r in rows] == ["conv_1", "pool_1", "conv_2", "pool_2", "flatten_1", "hidden_1", "dropout_1", "output"]
    by_hand = (3 * 3 * 1 + 1) * 32 + (3 * 3 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 128 + (128 + 1) * 10
    assert view.total.text() == f"Total parameters: {by_hand:,}"
    assert rows[3][4] == "5 × 5 × 64" and rows[2][5] == f"{(3 * 3 * 32 + 1) * 64:,}"


def test_the_spec_text_reads_like_the_spec_file(qtbot):
    view = ZooView()
    qtbot.addWidget(view)
    view.select("cnn")
    text = view.spec_text.toPlainText()
    assert "input_shape = [28, 28, 1]\n" in text and 'initializer = { name = "he_normal" }' in text
    assert "[layers.initializer]" not in text
