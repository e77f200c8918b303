"""The perceptron playground: what it shows is the unit's arithmetic and the rule's result, checked independently."""
import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel

from gui.views.perceptron_view import PerceptronView
from zoo.perceptron_rule import learn
from picture import in_app_window


@pytest.fixture
def view(shown):
    return shown(PerceptronView(), 1100, 700)


def click(qtbot, box):
    """Click a check box on its indicator, as a user would."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def shown_sum(view) -> float:
    """The value after the last '=' of 'w1·x1 + w2·x2 + b = ... = z  (...)'."""
    return float(re.findall(r"= (-?[0-9.e+-]+)\s+\(", view.sum_label.text())[-1])


def test_toggling_the_inputs_updates_the_weighted_sum_and_the_answer(view, qtbot):
    w1, w2, b = -1.3, 0.8, 0.6
    view.set_weights(w1, w2, b)
    assert view.weights() == pytest.approx((w1, w2, b))
    assert view.raining_box.text() == "Raining?" and view.free_box.text() == "Ticket free?"
    seen = set()
    for raining, free in [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]:
        if view.raining_box.isChecked() != bool(raining):
            click(qtbot, view.raining_box)
        if view.free_box.isChecked() != bool(free):
            click(qtbot, view.free_box)
        assert (view.raining_box.isChecked(), view.free_box.isChecked()) == (bool(raining), bool(free))
        z = w1 * raining + w2 * free + b  # independent of zoo
        assert shown_sum(view) == pytest.approx(z, abs=1e-4)
        assert f"{w1:g}·{raining} + {w2:g}·{free} + {b:g}" in view.sum_label.text()
        assert view.output_label.text() == f"Go to the concert: {'yes' if z > 0 else 'no'}"
        seen.add(view.output_label.text())
    assert seen == {"Go to the concert: yes", "Go to the concert: no"}  # both answers occurred
    # z = 0 exactly is "no": the step fires only for w.x + b > 0
    view.set_weights(1.0, 0.0, -1.0)
    view.set_inputs(True, False)
    assert shown_sum(view) == 0 and view.output_label.text() == "Go to the concert: no"


def test_sliders_and_spin_boxes_move_the_weights(view):
    view.sliders[0].setValue(15)  # a slider tick is 0.1
    assert view.spins[0].value() == pytest.approx(1.5) and view.weights()[0] == pytest.approx(1.5)
    view.spins[2].setValue(-2.3)
    assert view.sliders[2].value() == -23 and view.weights()[2] == pytest.approx(-2.3)


def test_a_separating_line_for_and_marks_every_point_right(view):
    view.load_preset("AND")
    assert view.table_targets() == [0, 0, 0, 1]
    view.set_weights(0.0, 0.0, 0.0)  # never fires: right on the three 0s, wrong on (1, 1)
    assert view.point_marks() == [True, True, True, False]
    assert view.table.item(3, 3).text() == "0 ✗"
    w1, w2, b = 1.0, 1.0, -1.5
    view.set_weights(w1, w2, b)
    assert view.point_marks() == [True] * 4
    assert [view.table.item(r, 3).text() for r in range(4)] == ["0 ✓", "0 ✓", "0 ✓", "1 ✓"]
    xs, ys = view.line.getData()  # the drawn line is w.x + b = 0
    assert len(xs) == 2 and np.allclose(w1 * xs + w2 * ys + b, 0)
    polygon = view.region.polygon()  # the shaded half-plane is where it fires
    corners = np.array([[polygon[i].x(), polygon[i].y()] for i in range(polygon.size())])
    assert len(corners) >= 3 and (w1 * corners[:, 0] + w2 * corners[:, 1] + b >= -1e-9).all()
    assert view.output_label.text().startswith("x1 AND x2 = ")


def test_step_shows_one_rule_update(view):
    view.load_preset("Concert")
    view.reset()
    update = view.step_once()  # (0, 0), target 1; zero weights answer 0: only the bias moves
    assert (update.output, update.error) == (0, 1)
    assert view.weights() == (0.0, 0.0, 1.0)
    assert "x=(0,0) target 1, output 0 → w += 1·(+1)·x" in view.log.item(view.log.count() - 1).text()
    for _ in range(3):
        view.step_once()
    assert view.weights() == (0.0, 1.0, 1.0)  # by hand: (1,0) -> w=(-1,0), b=0; (1,1) -> w=(0,1), b=1
    assert view.inputs() == (1, 1)  # the toggles show the example just learned
    assert view.status_label.text().startswith("Epoch 1 done: 3 mistakes")  # (0,0), (1,0) and (1,1)


def test_xor_trains_to_the_end_without_a_line(view):
    view.load_preset("XOR")
    view.reset()
    message = view.train_to_end()
    assert message == view.status_label.text()
    assert message.startswith("No line separates these points: XOR needs a hidden layer (see xor-mlp)")
    expected = learn("xor", max_epochs=view.max_epochs)
    assert expected.converged_epoch is None and view.weights() == (*expected.w, expected.b)
    assert not all(view.point_marks())


def test_concert_trains_to_the_numpy_rules_weights(view):
    view.load_preset("Concert")
    view.set_weights(2.0, -1.0, 0.5)  # Reset must bring them back to 0
    view.reset()
    assert view.weights() == (0.0, 0.0, 0.0)
    message = view.train_to_end()
    expected = learn("concert")
    assert view.weights() == (*expected.w, expected.b) == (-1.0, 2.0, 1.0)
    # Table order, lr 1, from zero (by hand, and the Keras Perceptron with shuffle=False in test_perceptron_rule):
    # epoch ends at w,b = (0,1),1; (0,2),1; (-1,2),0; (-1,2),1 -> converged in epoch 4. `zoo perceptron --table
    # concert` says epoch 3 with w = [-1, 1], b = 1 because Keras' fit shuffles each epoch (a different order).
    assert message.startswith("Converged in epoch 4")
    assert view.point_marks() == [True] * 4
    assert view.log.count() == 1 + 16 + 1  # the start line, 4 epochs of 4 examples, the outcome


def test_the_train_button_runs_the_rule_on_a_timer(view, qtbot):
    view.load_preset("OR")
    view.reset()
    view.timer.setInterval(1)
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    assert view.is_training() and view.train_button.text() == "Stop"
    qtbot.waitUntil(lambda: not view.is_training(), timeout=5000)
    expected = learn("or", max_epochs=view.max_epochs)
    assert view.weights() == (*expected.w, expected.b)
    assert view.status_label.text().startswith(f"Converged in epoch {expected.converged_epoch}")
    assert view.train_button.text() == "Train" and not view.train_button.isChecked()


def test_editing_the_targets(view):
    view.load_preset("AND")
    view.set_target(1, 1)
    view.set_target(2, 1)  # AND with (0,1) and (1,0) turned on is OR
    assert view.table_targets() == [0, 1, 1, 1] and view._preset == "or"
    view.table.item(0, 2).setText("7")  # not a bit: refused
    assert view.table.item(0, 2).text() == "0" and view.table_targets() == [0, 1, 1, 1]
    view.set_target(3, 0)  # [0, 1, 1, 0]: XOR again
    view.reset()
    assert view.train_to_end().startswith("No line separates")
    view.set_target(0, 1)  # [1, 1, 1, 0]: NAND, separable
    view.reset()
    assert view.train_to_end().startswith("Converged in epoch")
    assert view.point_marks() == [True] * 4


# ------------------------------------------------------------------- user study (issue 13) findings
def test_switching_presets_starts_afresh(view, qtbot):
    view.load_preset("Concert")
    view.reset()
    assert view.train_to_end().startswith("Converged in epoch 4")
    assert view.weights() == (-1.0, 2.0, 1.0) and view.log.count() > 0
    view.preset_combo.setCurrentText("XOR")  # as the user does
    assert view.table_targets() == [0, 1, 1, 0]
    assert view.weights() == (0.0, 0.0, 0.0)  # the rule's start, not the concert's weights
    assert [s.value() for s in view.spins] == [0.0, 0.0, 0.0] and [s.value() for s in view.sliders] == [0, 0, 0]
    assert view.log.count() == 0
    assert "Converged" not in view.status_label.text() and "weights back to 0" in view.status_label.text()
    # zero weights never fire: right on XOR's two 0s, wrong on its two 1s, and the table and legend agree
    assert [view.table.item(r, 3).text() for r in range(4)] == ["0 ✓", "0 ✗", "0 ✗", "0 ✓"]
    assert "(2 of 4)" in view.legend_label.text()

    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)  # a running training stops on a switch
    assert view.is_training()
    view.preset_combo.setCurrentText("AND")
    assert not view.is_training() and not view.train_button.isChecked() and view.train_button.text() == "Train"
    assert view.weights() == (0.0, 0.0, 0.0) and view.log.count() == 0


def bold_rows(view) -> list[int]:
    return [r for r in range(4) if view.table.item(r, 0).font().bold()]


def test_step_shows_the_table_row_it_uses(view, qtbot):
    view.load_preset("Concert")
    click(qtbot, view.raining_box)
    click(qtbot, view.free_box)  # the user ticks (1, 1)...
    assert view.inputs() == (1, 1)
    assert view.step_note.text().startswith("Step uses the table's next example: row 1 (x = 0, 0; target 1)")
    assert view.step_note.isVisible() and bold_rows(view) == []
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)  # ...but Step learns from the table, and says so
    assert view.inputs() == (0, 0) and view.weights() == (0.0, 0.0, 1.0)
    assert bold_rows(view) == [0]
    assert view.step_note.text().startswith("Step used row 1 (x = 0, 0; target 1) and set the inputs to it. "
                                            "Next: row 2")
    assert "Step uses the table's next example" in view.step_button.toolTip()
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)
    assert bold_rows(view) == [1] and view.inputs() == (0, 1) and "Next: row 3" in view.step_note.text()
    view.reset()
    assert bold_rows(view) == [] and "next example: row 1" in view.step_note.text()


def test_train_on_xor_stops_as_soon_as_the_weights_repeat(view, qtbot):
    assert view.timer.interval() == PerceptronView.interval_ms  # the animation as the user sees it
    view.load_preset("XOR")
    ticks = []
    view.timer.timeout.connect(lambda: ticks.append(view.weights()))
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.is_training(), timeout=30_000)
    assert len(ticks) <= 16, len(ticks)  # 3 epochs of 4 examples: under 5 s at 300 ms a step (it was 80, 24 s)
    message = view.status_label.text()
    assert message.startswith("No line separates these points: XOR needs a hidden layer (see xor-mlp)")
    assert message.endswith("Stopped: epoch 3 ended with the weights of epoch 2, so the rule would repeat forever")
    assert view.log.item(view.log.count() - 1).text() == message
    assert view.weights() == (-1.0, 0.0, 1.0) and view.train_button.text() == "Train"


def test_the_view_fits_a_640_by_420_window(qtbot):
    view = PerceptronView()
    window, tabs = in_app_window(qtbot, view, "Perceptron", before=[(QLabel("another view"), "Draw")])
    hint = view.minimumSizeHint()
    assert hint.width() <= 640 and hint.height() <= 420 - 60, hint  # room left for the tab bar and status bar
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    tabs.setCurrentWidget(view)
    qtbot.wait(50)
    assert (window.width(), window.height()) == (640, 420)  # opening the view did not grow the window
    view.load_preset("Concert")
    view.step_once()
    important = [view.preset_combo, view.table, view.raining_box, view.free_box, *view.sliders, *view.spins,
                 view.lr_spin, view.sum_label, view.output_label, view.step_button, view.train_button,
                 view.reset_button, view.step_note, view.status_label, view.plot, view.legend_label, view.log]
    area = view.rect()
    for widget in important:
        box = widget.geometry().translated(widget.parentWidget().mapTo(view, QPoint(0, 0)))
        assert widget.isVisible() and area.contains(box), (widget, box, area)
        assert box.width() >= widget.minimumSizeHint().width() - 1, widget
        if isinstance(widget, QLabel) and widget.wordWrap():  # every line of a label is shown
            assert box.height() >= widget.heightForWidth(box.width()), (widget.text(), box)
        elif isinstance(widget, QLabel):
            assert box.width() >= widget.sizeHint().width(), (widget.text(), box)
    rows = sum(view.table.rowHeight(r) for r in range(4))
    assert view.table.viewport().height() >= rows  # all four rows of the truth table
    assert view.plot.width() >= 120 and view.plot.height() >= 120


# ------------------------------------------------------------------- user walkthrough (issue 14) findings
def test_the_headline_gives_the_tables_answer_and_the_units_output_apart(view, qtbot):
    view.load_preset("XOR")  # no line gets XOR right: the unit's output is never put as XOR's value
    seen = {}
    for (x1, x2), xor in {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}.items():
        view.set_inputs(bool(x1), bool(x2))
        z = 0.0  # the weights are 0: the unit never fires
        seen[(x1, x2)] = view.output_label.text()
        assert view.output_label.text() == f"x1 XOR x2 = {xor}; unit: {int(z > 0)} {'✓' if xor == 0 else '✗'}"
    view.set_weights(1.0, 1.0, -0.5)  # OR's line: right on three rows, wrong on (1, 1)
    view.set_inputs(True, True)
    assert view.output_label.text() == "x1 XOR x2 = 0; unit: 1 ✗"
    assert "= 1" not in view.output_label.text().split(";")[0]  # not "x1 XOR x2 = 1", the unit's answer
    view.set_target(0, 1)  # [1, 1, 1, 0]: NAND, no preset: the headline names the target, not XOR
    assert view.output_label.text().startswith("target = 0; unit: 1 ✗")
    view.load_preset("AND")
    view.set_target(1, 1)
    view.set_target(2, 1)  # AND edited into OR: the OR table, with its own question
    view.set_inputs(False, True)
    assert view.output_label.text() == "x1 OR x2 = 1; unit: 0 ✗" and view.description_label.text().startswith("Logical OR")


def test_plot_axes_read_x1_and_x2_with_whole_ticks_and_the_legend_draws_the_dotted_ring(view, qtbot):
    view.load_preset("XOR")
    qtbot.wait(20)
    view.plot.grab()
    item = view.plot.getPlotItem()
    assert item.getAxis("bottom").labelText == "x1" and item.getAxis("left").labelText == "x2"  # not "x1: x1"
    for name in ("bottom", "left"):
        axis = item.getAxis(name)
        (x0, x1), (y0, y1) = item.getViewBox().viewRange()
        lo, hi = (x0, x1) if name == "bottom" else (y0, y1)
        length = axis.width() if name == "left" else axis.geometry().width()
        values = [v for _, vs in axis.tickValues(lo, hi, view.plot.width() if name == "bottom" else view.plot.height())
                  for v in vs]
        assert {0.0, 1.0} <= set(values) and all(float(v).is_integer() for v in values), (name, values, length)
        assert all("." not in t for t in axis.tickStrings(values, 1, 1))
        assert axis.label.toPlainText().strip() in ("x1", "x2")  # no SI prefix either
    view.load_preset("Concert")
    assert item.getAxis("bottom").labelText == "x1: raining" and item.getAxis("left").labelText == "x2: ticket_free"
    legend = view.legend_label.text()
    assert "◌ the inputs" in legend  # the ring on the inputs is dotted: so is its sign
    assert "<b>—</b> w·x + b = 0" in legend  # the line is solid
    assert view.current.opts["pen"].style() == Qt.PenStyle.DotLine and view.line.opts["pen"].style() == Qt.PenStyle.SolidLine


def test_train_after_step_says_it_continues_the_steps_run(view, qtbot):
    view.load_preset("XOR")
    view.timer.setInterval(1)
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)  # rows 1 and 2: w=(0, 1), b=1
    assert view.weights() == (0.0, 1.0, 1.0)
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    notice = "Train continues the Steps' run: epoch 1, row 3, from the weights they left, w=(0, 1), b=1."
    assert view.step_note.text() == notice and notice in [view.log.item(i).text() for i in range(view.log.count())]
    qtbot.waitUntil(lambda: not view.is_training(), timeout=5000)
    assert "Train continues" not in view.step_note.text()  # the run is over: it continues nothing now
    assert notice in [view.log.item(i).text() for i in range(view.log.count())]  # the log keeps what it did
    assert view.status_label.text().startswith("No line separates")
    # a finished run: Train starts a new one at row 1, from the weights it ended with (not from 0)
    w1, w2, b = view.weights()
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    assert view.step_note.text() == (f"Train starts a new run at row 1 of epoch 1 from the current weights, "
                                     f"w=({w1:g}, {w2:g}), b={b:g} (Reset sets them to 0).")
    qtbot.waitUntil(lambda: not view.is_training(), timeout=5000)
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)  # a Step by hand: the note is the Step's again
    assert view.step_note.text().startswith("Step used row 1")


def test_zero_weights_say_why_there_is_no_line(view, qtbot):
    view.load_preset("AND")
    view.set_weights(0, 0, 0.5)
    view.plot.grab()
    assert len(view.line.getData()[0] if view.line.getData()[0] is not None else []) == 0
    assert view.no_line_note.isVisible()
    assert view.no_line_note.toPlainText() == "w = (0, 0): no line, the unit outputs the same for every input"
    (x0, x1), (y0, y1) = view.plot.getPlotItem().getViewBox().viewRange()
    pos = view.no_line_note.pos()
    assert x0 <= pos.x() <= x1 and y0 <= pos.y() <= y1  # inside the plot
    view.set_weights(1, 1, -1.5)
    view.plot.grab()
    assert not view.no_line_note.isVisible()


def test_the_train_hint_goes_once_training_has_converged(view, qtbot):
    view.load_preset("AND")
    view.timer.setInterval(1)
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    assert view.step_note.text().startswith("Train continues the Steps' run")
    qtbot.waitUntil(lambda: not view.is_training(), timeout=5000)
    assert view._trainer.converged_epoch is not None
    assert "Train continues" not in view.step_note.text()
