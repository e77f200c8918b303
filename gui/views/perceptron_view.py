"""The perceptron playground: the concert example, sliders for the weights, the decision line, the rule step by step.

Only display: the unit, the rule, the line and the separability test come from `zoo.perceptron_rule`.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPen, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QGraphicsPolygonItem,
                               QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton,
                               QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from zoo.perceptron_rule import (TRUTH_TABLES, VIEW_BOX, RuleTrainer, TruthTable, Update, decision_line,
                                 fires_region, outcome_message, predict, separable, step, weighted_sum)

from ..plotting import PALETTE

PRESETS = {"Concert": "concert", "AND": "and", "OR": "or", "XOR": "xor"}  # label -> zoo table name
CLASS_COLORS = (PALETTE[0], PALETTE[1])  # target 0, target 1
WRONG_COLOR = PALETTE[3]
SLIDER_SCALE = 10  # slider ticks per unit: steps of 0.1


def _num(v: float) -> str:
    return f"{round(float(v), 4) + 0.0:g}"


class PerceptronView(QWidget):
    """One perceptron, two inputs: move the weights by hand or let the perceptron rule move them.

    For tests and the app: `set_inputs(raining, free)`, `set_weights(w1, w2, b)`, `weights()`,
    `load_preset(name)`, `step_once()`, `train_to_end()`, `reset()`; the labels `sum_label`,
    `output_label`, `status_label`; the widgets `raining_box`, `free_box`, `table`, `log`, `points`.
    """

    title = "Perceptron"
    needs_tensorflow = False
    max_epochs = 20
    interval_ms = 300
    weight_range = 3.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table: TruthTable = TRUTH_TABLES["concert"]
        self._preset = "concert"
        self._w = np.zeros(2)
        self._b = 0.0
        self._lr = 1.0
        self._trainer: RuleTrainer | None = None
        self._separable: bool | None = None
        self._filling = False
        self.timer = QTimer(self)
        self.timer.setInterval(self.interval_ms)
        self.timer.timeout.connect(self._tick)
        self._build()
        self._load_table(self._table)
        self._refresh()

    # ---------------------------------------------------------------------------------------- layout
    def _build(self):
        left = QVBoxLayout()

        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Truth table:"))
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.currentTextChanged.connect(lambda text: self.load_preset(text) if text else None)
        preset_row.addWidget(self.preset_combo)
        preset_row.addStretch(1)
        left.addLayout(preset_row)
        self.description_label = QLabel()
        self.description_label.setWordWrap(True)
        left.addWidget(self.description_label)

        self.table = QTableWidget(4, 4)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setToolTip("Double-click a target to change it (0 or 1)")
        self.table.itemChanged.connect(self._on_target_edited)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 4 * 26 + 6)
        for r in range(4):
            self.table.setRowHeight(r, 26)
        left.addWidget(self.table)

        inputs = QGroupBox("Inputs")
        row = QHBoxLayout(inputs)
        self.raining_box = QCheckBox("Raining?")
        self.free_box = QCheckBox("Ticket free?")
        for box in (self.raining_box, self.free_box):
            box.toggled.connect(lambda _checked: self._refresh())
            row.addWidget(box)
        left.addWidget(inputs)

        weights = QGroupBox("Weights")
        grid = QGridLayout(weights)
        self.sliders: list[QSlider] = []
        self.spins: list[QDoubleSpinBox] = []
        for i, name in enumerate(("w1", "w2", "b")):
            slider = QSlider(Qt.Orientation.Horizontal)
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            self._set_range(slider, spin, self.weight_range)
            slider.valueChanged.connect(lambda v, spin=spin: spin.setValue(v / SLIDER_SCALE))
            spin.valueChanged.connect(lambda v, i=i: self._on_weight_edited(i, v))
            grid.addWidget(QLabel(name), i, 0)
            grid.addWidget(slider, i, 1)
            grid.addWidget(spin, i, 2)
            self.sliders.append(slider)
            self.spins.append(spin)
        grid.addWidget(QLabel("learning rate"), 3, 0)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setRange(0.05, 3.0)
        self.lr_spin.setSingleStep(0.05)
        self.lr_spin.setValue(self._lr)
        self.lr_spin.valueChanged.connect(self._on_lr_edited)
        grid.addWidget(self.lr_spin, 3, 2)
        left.addWidget(weights)

        self.sum_label = QLabel()
        self.sum_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sum_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_label = QLabel()
        self.output_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.output_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.output_label.setFont(font)
        left.addWidget(self.sum_label)
        left.addWidget(self.output_label)

        buttons = QHBoxLayout()
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Apply the perceptron rule to the next example of the table")
        self.step_button.clicked.connect(self.step_once)
        self.train_button = QPushButton("Train")
        self.train_button.setCheckable(True)
        self.train_button.setToolTip("Apply the rule example after example until it converges "
                                     f"or {self.max_epochs} epochs have passed")
        self.train_button.toggled.connect(self._on_train_toggled)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Weights and bias back to 0")
        self.reset_button.clicked.connect(self.reset)
        for b in (self.step_button, self.train_button, self.reset_button):
            buttons.addWidget(b)
        left.addLayout(buttons)
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        left.addWidget(self.status_label)
        self.log = QListWidget()
        self.log.setWordWrap(True)
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.log.setToolTip("Each application of the rule: "
                            "w += lr·(target − output)·x, b += lr·(target − output)")
        left.addWidget(self.log, 1)

        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        x1min, x1max, x2min, x2max = VIEW_BOX
        item.setXRange(x1min, x1max, padding=0)
        item.setYRange(x2min, x2max, padding=0)
        item.setAspectLocked(True)
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.2)
        self.region = QGraphicsPolygonItem()
        self.region.setBrush(QBrush(QColor(44, 160, 44, 40)))
        self.region.setPen(QPen(Qt.PenStyle.NoPen))
        self.region.setZValue(-10)
        item.addItem(self.region)
        self.line = pg.PlotDataItem(pen=pg.mkPen("#222", width=2))
        item.addItem(self.line)
        self.current = pg.ScatterPlotItem(size=34, pen=pg.mkPen("#222", width=2, style=Qt.PenStyle.DotLine),
                                          brush=None, symbol="o")
        item.addItem(self.current)
        self.points = pg.ScatterPlotItem(size=20)
        item.addItem(self.points)
        self.point_labels = [pg.TextItem(anchor=(0.5, -0.6), color="#222") for _ in range(4)]
        for t in self.point_labels:
            item.addItem(t)
        self.legend_label = QLabel()
        self.legend_label.setWordWrap(True)
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)

        right = QVBoxLayout()
        right.addWidget(self.plot, 1)
        right.addWidget(self.legend_label)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    @staticmethod
    def _set_range(slider: QSlider, spin: QDoubleSpinBox, limit: float):
        slider.blockSignals(True)
        spin.blockSignals(True)
        slider.setRange(-round(limit * SLIDER_SCALE), round(limit * SLIDER_SCALE))
        spin.setRange(-limit, limit)
        slider.blockSignals(False)
        spin.blockSignals(False)

    # ------------------------------------------------------------------------------------ public API
    def set_inputs(self, raining: bool, free: bool):
        """Set the two input toggles (x1 = raining?, x2 = ticket free? in the concert)."""
        self.raining_box.setChecked(bool(raining))
        self.free_box.setChecked(bool(free))

    def inputs(self) -> tuple[int, int]:
        return int(self.raining_box.isChecked()), int(self.free_box.isChecked())

    def set_weights(self, w1: float, w2: float, b: float):
        """Set the weights and bias by hand (the rule then starts again from them)."""
        self._show_weights(np.array([w1, w2], np.float64), float(b))
        self._trainer = None

    def weights(self) -> tuple[float, float, float]:
        """(w1, w2, b) exactly as the unit uses them (the spin boxes show them rounded)."""
        return float(self._w[0]), float(self._w[1]), float(self._b)

    def load_preset(self, name: str):
        """Load a preset truth table: 'Concert', 'AND', 'OR' or 'XOR' (any case). The weights stay."""
        key = {k.lower(): v for k, v in PRESETS.items()}.get(name.lower())
        if key is None:
            raise ValueError(f"Unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
        self._stop_timer()
        self._preset = key
        label = next(k for k, v in PRESETS.items() if v == key)
        if self.preset_combo.currentText() != label:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentText(label)
            self.preset_combo.blockSignals(False)
        self._load_table(TRUTH_TABLES[key])
        self.status_label.setText(f"{label}: {TRUTH_TABLES[key].description}")

    def table_targets(self) -> list[int]:
        return [int(t) for t in self._table.target]

    def set_target(self, row: int, value: int):
        """Edit one target of the table (as double-clicking its cell does)."""
        self.table.item(row, 2).setText(str(int(value)))

    def step_once(self) -> Update | None:
        """Apply the rule to the next example (table order); a finished or fresh run starts at epoch 1."""
        if self._trainer is None or self._trainer.finished:
            self._trainer = RuleTrainer(self._table, self._w, self._b, self._lr, self.max_epochs)
            self.log.addItem(f"start: w=({_num(self._w[0])}, {_num(self._w[1])}), b={_num(self._b)}, "
                             f"learning rate {_num(self._lr)}")
        trainer = self._trainer
        u = trainer.step()
        self._show_weights(u.new_w, u.new_b)
        self._filling = True  # show the example being learned on the input toggles
        self.set_inputs(bool(u.x[0]), bool(u.x[1]))
        self._filling = False
        self._refresh()
        self.log.addItem(u.describe())
        if self.log.count() > 2000:
            self.log.takeItem(0)
        self.log.scrollToBottom()
        if trainer.finished:
            if trainer.converged_epoch is None and self._separable is None:
                self._separable = separable(self._table.x, self._table.target)
            message = outcome_message(trainer.converged_epoch, trainer.epochs_done,
                                      None if trainer.converged_epoch else self._separable, self._preset)
            self.status_label.setText(message)
            self.log.addItem(message)
            self.log.scrollToBottom()
        elif u.epoch_end:
            mistakes = trainer.errors_by_epoch[-1]
            self.status_label.setText(f"Epoch {u.epoch} done: {mistakes} mistake{'s' * (mistakes != 1)}, "
                                      "not every example is right yet")
        else:
            self.status_label.setText(f"Epoch {u.epoch}, example {u.index + 1} of {len(self._table.x)}")
        return u

    def train_to_end(self) -> str:
        """What Train does, without the timer: the rule until it converges or runs out of epochs."""
        self._stop_timer()
        self.step_once()
        while not self._trainer.finished:
            self.step_once()
        return self.status_label.text()

    def reset(self):
        """Weights and bias back to 0, the log cleared."""
        self._stop_timer()
        self.set_weights(0.0, 0.0, 0.0)
        self.log.clear()
        self.status_label.setText("Weights reset to 0: the unit never fires (0 > 0 is false)")

    def is_training(self) -> bool:
        return self.timer.isActive()

    def point_marks(self) -> list[bool]:
        """Whether each drawn point is marked as classified correctly (read back from the plot)."""
        return [spot.symbol() == "o" for spot in self.points.points()]

    # ------------------------------------------------------------------------------------- behaviour
    def _load_table(self, table: TruthTable):
        self._table = table
        self._trainer = None
        self._separable = None
        self.description_label.setText(table.description)
        q1, q2 = table.questions
        self.raining_box.setText(q1 if q1.endswith("?") else f"{q1} = 1")
        self.free_box.setText(q2 if q2.endswith("?") else f"{q2} = 1")
        self._filling = True
        self.table.setHorizontalHeaderLabels([*table.feature_names, "target", "output"])
        for r, (x, t) in enumerate(zip(table.x, table.target)):
            for c, v in enumerate(x):
                item = QTableWidgetItem(_num(v))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
            target = QTableWidgetItem(str(int(t)))
            target.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsEditable)
            target.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            target.setToolTip(table.class_names[int(t)])
            self.table.setItem(r, 2, target)
            out = QTableWidgetItem()
            out.setFlags(Qt.ItemFlag.ItemIsEnabled)
            out.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(r, 3, out)
        self._filling = False
        self._refresh()

    def _on_target_edited(self, item: QTableWidgetItem):
        if self._filling or item.column() != 2:
            return
        text = item.text().strip()
        row = item.row()
        if text not in ("0", "1"):
            self._filling = True
            item.setText(str(int(self._table.target[row])))
            self._filling = False
            self.status_label.setText("A target is 0 or 1")
            return
        target = self._table.target.copy()
        target[row] = int(text)
        if target[row] == self._table.target[row]:
            return
        self._stop_timer()
        same = [name for name, t in TRUTH_TABLES.items() if np.array_equal(t.target, target)]
        self._preset = same[0] if same else "custom"
        self._load_table(self._table.with_target(target, self._preset))
        self.status_label.setText("Targets edited: the rule starts again from the current weights")

    def _on_weight_edited(self, i: int, value: float):
        slider = self.sliders[i]
        slider.blockSignals(True)
        slider.setValue(round(value * SLIDER_SCALE))
        slider.blockSignals(False)
        if i < 2:
            self._w[i] = value
        else:
            self._b = float(value)
        self._trainer = None  # a hand-made change: the rule starts again from here
        self._refresh()

    def _on_lr_edited(self, value: float):
        self._lr = float(value)
        self._trainer = None

    def _show_weights(self, w: np.ndarray, b: float):
        self._w = np.asarray(w, np.float64).copy()
        self._b = float(b)
        for value, slider, spin in zip((*self._w, self._b), self.sliders, self.spins):
            limit = max(self.weight_range, math.ceil(abs(value)))
            if limit > spin.maximum():
                self._set_range(slider, spin, limit)
            spin.blockSignals(True)
            slider.blockSignals(True)
            spin.setValue(value)
            slider.setValue(round(value * SLIDER_SCALE))
            spin.blockSignals(False)
            slider.blockSignals(False)
        self._refresh()

    def _on_train_toggled(self, checked: bool):
        if checked:
            self.train_button.setText("Stop")
            self.timer.start()
        else:
            self.train_button.setText("Train")
            self.timer.stop()

    def _stop_timer(self):
        if self.train_button.isChecked():
            self.train_button.setChecked(False)  # stops the timer
        self.timer.stop()

    def _tick(self):
        self.step_once()
        if self._trainer is not None and self._trainer.finished:
            self._stop_timer()

    # --------------------------------------------------------------------------------------- display
    def _refresh(self):
        if self._filling:
            return
        w, b, table = self._w, self._b, self._table
        x = np.array(self.inputs(), np.float64)
        z = weighted_sum(w, b, x)
        fires = step(z)
        self.sum_label.setText(
            f"w1·x1 + w2·x2 + b = {_num(w[0])}·{int(x[0])} + {_num(w[1])}·{int(x[1])} + {_num(b)} = {_num(z)}"
            f"  ({'> 0: fires' if fires else '≤ 0: silent'})")
        if table.name == "concert" or table.output_question == "Go to the concert":
            self.output_label.setText(f"{table.output_question}: {'yes' if fires else 'no'}")
        else:
            self.output_label.setText(f"{table.output_question} = {fires}")

        outputs = predict(w, b, table.x)
        right = outputs == table.target
        self._filling = True
        for r in range(len(table.x)):
            item = self.table.item(r, 3)
            if item is not None:
                item.setText(f"{outputs[r]} {'✓' if right[r] else '✗'}")
                item.setBackground(QBrush(QColor(255, 255, 255, 0) if right[r] else QColor(214, 39, 40, 60)))
        self._filling = False

        spots = []
        for r, (p, t) in enumerate(zip(table.x, table.target)):
            spots.append({"pos": (float(p[0]), float(p[1])), "symbol": "o" if right[r] else "x",
                          "size": 20 if right[r] else 30, "brush": pg.mkBrush(CLASS_COLORS[int(t)]),
                          "pen": pg.mkPen("#222" if right[r] else WRONG_COLOR, width=1.5), "data": r})
            named = table.class_names != ("0", "1")
            self.point_labels[r].setText(table.class_names[int(t)] if named else f"target {int(t)}")
            self.point_labels[r].setPos(float(p[0]), float(p[1]))
        self.points.setData(spots)
        self.current.setData([{"pos": (float(x[0]), float(x[1]))}])

        segment = decision_line(w, b, VIEW_BOX)
        if segment is None:
            self.line.setData([], [])
        else:
            self.line.setData(segment[:, 0], segment[:, 1])
        region = fires_region(w, b, VIEW_BOX)
        self.region.setPolygon(QPolygonF([QPointF(float(px), float(py)) for px, py in region]))
        item = self.plot.getPlotItem()
        item.setLabel("bottom", f"x1: {table.feature_names[0]}")
        item.setLabel("left", f"x2: {table.feature_names[1]}")
        wrong = int((~right).sum())
        self.legend_label.setText(
            f"<span style='color:{CLASS_COLORS[1]}'>●</span> target 1 ({table.class_names[1]}), "
            f"<span style='color:{CLASS_COLORS[0]}'>●</span> target 0 ({table.class_names[0]}); "
            f"✗ = wrongly classified ({wrong} of {len(right)}); green: where the unit fires (w·x + b > 0); "
            "the line: w·x + b = 0; dotted ring: the current input")
