"""The activations view draws zoo.activations' functions and derivatives; checked against the textbook formulas."""
import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.views.activations_view import ActivationsView
from zoo.activations import ACTIVATIONS


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def _phi(x):  # the standard normal CDF
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# the formulas written out independently of zoo: name -> (f, f')
TEXTBOOK = {
    "relu": (lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else 0.0),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    # softmax([x, 0])[0] = e^x / (e^x + 1), and its diagonal Jacobian entry s (1 - s)
    "softmax": (lambda x: math.exp(x) / (math.exp(x) + 1.0), lambda x: _sig(x) * (1 - _sig(x))),
    "leaky_relu": (lambda x: x if x > 0 else 0.2 * x, lambda x: 1.0 if x > 0 else 0.2),
    "gelu": (lambda x: x * _phi(x), lambda x: _phi(x) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
}
SAMPLES = [-5.0, -2.5, -1.0, -0.25, 0.25, 1.0, 2.5, 5.0]


@pytest.fixture
def view(shown):
    return shown(ActivationsView(), 900, 600)


def test_every_activation_is_listed(view):
    assert view.names() == list(ACTIVATIONS) and set(TEXTBOOK) == set(ACTIVATIONS)
    assert [view.list.item(i).text() for i in range(view.list.count())] == list(ACTIVATIONS)


@pytest.mark.parametrize("name", list(TEXTBOOK))
def test_curves_are_the_functions_and_their_derivatives(view, name):
    view.select(name)
    xs, ys, dys = view.curve_data()
    assert xs[0] == -5 and xs[-1] == 5
    f, df = TEXTBOOK[name]
    for x in SAMPLES:
        i = int(np.argmin(np.abs(xs - x)))
        assert xs[i] == pytest.approx(x)
        assert ys[i] == pytest.approx(f(x), abs=1e-9) and dys[i] == pytest.approx(df(x), abs=1e-9)
    # what is drawn is that data
    px, py = view.f_curve.getData()
    dx, dy = view.df_curve.getData()
    assert np.array_equal(px, xs) and np.array_equal(py, ys) and np.array_equal(dx, xs) and np.array_equal(dy, dys)
    act = ACTIVATIONS[name]
    assert act.formula in view.formula_label.text() and act.note in view.note_label.text()
    view.set_x(1.0)
    assert view.values() == pytest.approx((f(1.0), df(1.0)), abs=1e-9)


def test_sigmoid_at_zero(view):
    view.select("sigmoid")
    view.set_x(0)
    assert view.values() == pytest.approx((0.5, 0.25))
    text = view.value_label.text()
    assert "sigmoid(0) = 0.5" in text and "sigmoid'(0) = 0.25" in text
    assert "shrinks 4x" in text  # 1 / 0.25
    assert "Largest derivative on [-5, 5]: 0.25" in view.note_label.text()


def test_the_cursor_slider_and_spin_box_move_x_together(view):
    view.select("relu")
    view.cursor.setValue(2.0)  # dragging the line
    assert view.x == 2.0 and view.x_slider.value() == 200 and view.x_spin.value() == pytest.approx(2.0)
    assert view.values() == (2.0, 1.0) and "relu'(2) = 1" in view.value_label.text()
    view.x_slider.setValue(-150)  # a slider tick is 0.01
    assert view.x == -1.5 and view.cursor.value() == -1.5
    assert view.values() == (0.0, 0.0) and "relu'(-1.5) = 0" in view.value_label.text()
    view.set_x(12.0)  # clipped to the plotted range
    assert view.x == 5.0 and view.cursor.value() == 5.0
    mx, my = view.markers.getData()
    assert mx.tolist() == [5.0, 5.0] and my.tolist() == [5.0, 1.0]


def test_clicking_a_name_selects_it(view, qtbot):
    row = list(ACTIVATIONS).index("tanh")
    rect = view.list.visualItemRect(view.list.item(row))
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.current == "tanh"
    view.set_x(0.0)
    assert view.values() == pytest.approx((0.0, 1.0))
    view.select("softmax")
    assert view.list.currentItem().text() == "softmax"
    assert "softmax([x, 0])[0]" in view.formula_label.text()
    view.set_x(0.0)
    assert view.values() == pytest.approx((0.5, 0.25))  # two equal scores: probability 1/2
    with pytest.raises(ValueError):
        view.select("swish")
