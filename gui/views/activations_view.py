"""Activation functions and their derivatives: pick one, drag x, read f(x) and f'(x).

Only display: the functions, derivatives, formulas and notes are `zoo.activations.ACTIVATIONS`.
Softmax is drawn as in `zoo.plots.activations_figure`: the first of two scores [x, 0], with the
Jacobian's diagonal entry d s_0 / d z_0 = s_0 (1 - s_0) as its derivative.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QListWidget, QSlider, QVBoxLayout, QWidget)

from zoo.activations import ACTIVATIONS, Activation

from ..plotting import PALETTE

X_MIN, X_MAX = -5.0, 5.0
SLIDER_SCALE = 100  # slider ticks per unit of x: steps of 0.01
DEPTH = 10  # "through 10 such layers" in the readout


def evaluate(act: Activation, x):
    """f(x) and f'(x) on an array of x; softmax as softmax([x, 0])[0] and its diagonal Jacobian entry."""
    x = np.asarray(x, np.float64)
    if act.name == "softmax":
        scores = np.stack([x, np.zeros_like(x)], axis=-1)
        return act.fn(scores)[..., 0], act.derivative(scores)[..., 0]
    return np.asarray(act.fn(x), np.float64), np.asarray(act.derivative(x), np.float64)


def curve_title(act: Activation) -> str:
    return "softmax([x, 0])[0]" if act.name == "softmax" else act.name


def _num(v: float) -> str:
    return f"{float(v):.4g}"


class ActivationsView(QWidget):
    """Each activation of `zoo.activations` with its derivative, and a movable x.

    For tests and the app: `select(name)`, `set_x(x)`, `names()`, `current`, `x`, `values()`
    (f(x), f'(x)); the curves' data `xs`, `ys`, `dys` (also on the plot items `f_curve`, `df_curve`);
    the labels `formula_label`, `note_label`, `value_label`.
    """

    title = "Activations"
    needs_tensorflow = False

    def __init__(self, parent=None):
        super().__init__(parent)
        self.xs = np.linspace(X_MIN, X_MAX, 401)
        self.ys = np.zeros_like(self.xs)
        self.dys = np.zeros_like(self.xs)
        self.current: str = ""
        self.x = 0.0
        self._moving = False
        self._build()
        self.select(next(iter(ACTIVATIONS)))
        self.set_x(0.0)

    def _build(self):
        self.list = QListWidget()
        self.list.addItems(list(ACTIVATIONS))
        self.list.setMaximumWidth(160)
        self.list.currentTextChanged.connect(lambda name: self.select(name) if name else None)

        self.formula_label = QLabel()
        font = self.formula_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.formula_label.setFont(font)
        self.formula_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)

        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        item.addLegend(offset=(10, 10))
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "x")
        item.setXRange(X_MIN, X_MAX, padding=0.02)
        item.addLine(y=0, pen=pg.mkPen("#999", width=1))
        item.addLine(x=0, pen=pg.mkPen("#999", width=1))
        self.f_curve = item.plot([], [], pen=pg.mkPen(PALETTE[0], width=2.5), name="f(x)")
        self.df_curve = item.plot([], [], pen=pg.mkPen(PALETTE[1], width=2.5, style=Qt.PenStyle.DashLine),
                                  name="f'(x)")
        self.markers = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#222"))
        item.addItem(self.markers)
        self.cursor = pg.InfiniteLine(pos=0.0, angle=90, movable=True, pen=pg.mkPen("#222", width=1.5),
                                      hoverPen=pg.mkPen(PALETTE[3], width=2), bounds=(X_MIN, X_MAX))
        self.cursor.setToolTip("Drag to move x")
        self.cursor.sigPositionChanged.connect(lambda line: self.set_x(line.value()))
        item.addItem(self.cursor)

        self.x_slider = QSlider(Qt.Orientation.Horizontal)
        self.x_slider.setRange(round(X_MIN * SLIDER_SCALE), round(X_MAX * SLIDER_SCALE))
        self.x_slider.valueChanged.connect(lambda v: self.set_x(v / SLIDER_SCALE))
        self.x_spin = QDoubleSpinBox()
        self.x_spin.setRange(X_MIN, X_MAX)
        self.x_spin.setDecimals(2)
        self.x_spin.setSingleStep(0.1)
        self.x_spin.valueChanged.connect(self.set_x)
        x_row = QHBoxLayout()
        x_row.addWidget(QLabel("x"))
        x_row.addWidget(self.x_slider, 1)
        x_row.addWidget(self.x_spin)

        self.value_label = QLabel()
        self.value_label.setWordWrap(True)
        self.value_label.setTextFormat(Qt.TextFormat.RichText)
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QVBoxLayout()
        right.addWidget(self.formula_label)
        right.addWidget(self.note_label)
        right.addWidget(self.plot, 1)
        right.addLayout(x_row)
        right.addWidget(self.value_label)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(right, 1)

    # ------------------------------------------------------------------------------------ public API
    def names(self) -> list[str]:
        return list(ACTIVATIONS)

    def select(self, name: str):
        """Show one activation (a name of `zoo.activations.ACTIVATIONS`)."""
        if name not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
        act = ACTIVATIONS[name]
        self.current = name
        if self.list.currentItem() is None or self.list.currentItem().text() != name:
            self.list.blockSignals(True)
            self.list.setCurrentRow(list(ACTIVATIONS).index(name))
            self.list.blockSignals(False)
        self.ys, self.dys = evaluate(act, self.xs)
        self.f_curve.setData(self.xs, self.ys)
        self.df_curve.setData(self.xs, self.dys)
        title = curve_title(act)
        self.plot.getPlotItem().setTitle(f"{title} (solid) and its derivative (dashed)")
        formula = act.formula if name != "softmax" else f"{act.formula};  drawn: {title} = 1 / (1 + e^-x)"
        self.formula_label.setText(f"{name}(x) = {formula}" if name != "softmax" else f"softmax(z)_i = {formula}")
        self.note_label.setText(f"{act.note}. Largest derivative on [-5, 5]: {_num(np.max(self.dys))}.")
        self._show_x()

    def set_x(self, x: float):
        """Move the x cursor (clipped to [-5, 5]) and read f(x) and f'(x)."""
        x = float(np.clip(float(x), X_MIN, X_MAX))
        if self._moving:
            return
        self._moving = True
        try:
            self.x = x
            self.cursor.setValue(x)
            self.x_slider.setValue(round(x * SLIDER_SCALE))
            self.x_spin.setValue(x)
        finally:
            self._moving = False
        self._show_x()

    def values(self) -> tuple[float, float]:
        """f(x) and f'(x) at the cursor, for the selected function."""
        fx, dfx = evaluate(ACTIVATIONS[self.current], np.array([self.x]))
        return float(fx[0]), float(dfx[0])

    def curve_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, f(x), f'(x) as drawn."""
        return self.xs, self.ys, self.dys

    # --------------------------------------------------------------------------------------- display
    def _show_x(self):
        if not self.current:
            return
        fx, dfx = self.values()
        self.markers.setData([self.x, self.x], [fx, dfx], brush=[pg.mkBrush(PALETTE[0]), pg.mkBrush(PALETTE[1])])
        name = curve_title(ACTIVATIONS[self.current]) if self.current == "softmax" else self.current
        xs = _num(self.x)
        if self.current == "softmax":
            text = f"s = {name} at x = {xs}: {_num(fx)};   ∂s₀/∂z₀ = s(1 − s) = {_num(dfx)}"
        else:
            text = f"{name}({xs}) = {_num(fx)};   {name}'({xs}) = {_num(dfx)}"
        if self.current == "softmax":
            text += "<br>an output layer: the probabilities sum to 1, and its gradient feeds the layers below"
        elif dfx == 1:
            text += f"<br>the gradient passes through such a unit unchanged in size ({DEPTH} layers: ×1)"
        elif dfx == 0:
            text += "<br>no gradient passes through such a unit here: it is stuck (0 from every layer above)"
        else:
            change = f"shrinks {1 / abs(dfx):.3g}x" if abs(dfx) < 1 else f"grows {abs(dfx):.3g}x"
            text += (f"<br>the gradient through one such unit {change}; "
                     f"through {DEPTH} layers at this x it is multiplied by {dfx ** DEPTH:.2g}")
        self.value_label.setText(text)
