"""The Zoo view before TensorFlow has loaded: the layer table and parameter counts are already there."""
import pytest

pytest.importorskip("pytestqt")

import zoo  # noqa: E402
from gui.views.zoo_view import ZooView  # noqa: E402
from picture import in_app_window  # noqa: E402


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


def test_at_640x420_the_parameters_column_is_whole_and_the_description_is_elided(qtbot):
    """Issue 14: the Parameters column was cut at the window's right edge; the description took the table's rows."""
    view = ZooView()
    window, tabs = in_app_window(qtbot, view, "Zoo")
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    for name in ("cnn", "mlp", "exploding", "binary", "deep-sigmoid"):
        view.select(name)
        qtbot.wait(20)
        window.grab()
        assert (window.width(), window.height()) == (640, 420)
        table, header = view.layers, view.layers.horizontalHeader()
        last = header.count() - 1
        assert header.model().headerData(last, header.orientation()) == "Parameters"
        shown = [header.sectionSize(c) for c in range(header.count())]
        needed = [max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(header.count())]
        assert shown[last] >= needed[last], f"{name}: Parameters {shown[last]} px of {needed[last]}"
        right = header.sectionViewportPosition(last) + shown[last]
        assert 0 <= header.sectionViewportPosition(last) and right <= table.viewport().width() + 1, (name, right)
        assert not table.horizontalScrollBar().isVisible()  # nothing to scroll to: every column is in view
        rows = [table.item(r, last).text() for r in range(table.rowCount())]
        widest = max(table.fontMetrics().horizontalAdvance(t) for t in rows)
        assert widest <= shown[last], (name, rows)  # every count whole, not "50,2…"
        assert table.viewport().height() >= 4 * table.rowHeight(0), "the table shows under four layers"
        spec = zoo.load_spec(name)
        description = view.description
        assert description.toolTip() == spec.description
        assert description.fontMetrics().horizontalAdvance(description.text()) <= description.width()
        assert description.text() == spec.description or description.text().endswith("…")
        assert description.height() <= description.fontMetrics().height() + 4  # one line
        top = view.rect()
        box = description.geometry().translated(description.parentWidget().mapTo(view, description.pos()) - description.pos())
        assert top.contains(box), (box, top)
    from PySide6.QtWidgets import QSplitter

    view.findChild(QSplitter).setSizes([300, 320])  # the user widens the list: the table is narrower still
    view.select("cnn")
    qtbot.wait(20)
    window.grab()
    table, header = view.layers, view.layers.horizontalHeader()
    last = header.count() - 1
    right = header.sectionViewportPosition(last) + header.sectionSize(last)
    assert header.sectionSize(last) >= max(table.sizeHintForColumn(last), header.sectionSizeHint(last))
    assert right <= table.viewport().width() + 1 and not table.horizontalScrollBar().isVisible(), right
    view.select("exploding")  # its description is longer than the view is wide: elided, whole in the tooltip
    assert view.description.text().endswith("…") and view.description.toolTip().endswith("within a few steps")
