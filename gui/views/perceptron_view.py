"""The perceptron playground: the concert example, sliders for the weights, the decision line, the rule step by step.

Only display: the unit, the rule, the line and the separability test come from `zoo.perceptron_rule`.

Step applies the rule to the table's next example, in table order (the textbook's epoch), never to the
ticked inputs: it makes that row bold, sets the inputs to it and says so under the buttons (the ticked
inputs are for trying the unit by hand). A preset starts afresh (weights 0, log cleared, training
stopped). Train stops as soon as an epoch ends with weights an earlier epoch ended with: from there the
rule would repeat itself forever (XOR: after 3 epochs, about 4 s of animation). Train says where it starts:
it continues the run the Steps began (same epoch, next row, their weights), or starts a new run at row 1
from the current weights; the note under the buttons and the log say which.

The headline never passes the unit's output off as the table's answer: "x1 XOR x2 = 1; unit: 0 ✗" (the
concert, where the unit is the one deciding, reads "Go to the concert: yes").
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPen, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QGraphicsPolygonItem,
                               QGridLayout, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton, QSlider,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from zoo.perceptron_rule import (TRUTH_TABLES, VIEW_BOX, RuleTrainer, TruthTable, Update, decision_line,
                                 fires_region, outcome_message, predict, separable, step, weighted_sum)

from ..plotting import PALETTE, readable_axes

PRESETS = {"Concert": "concert", "AND": "and", "OR": "or", "XOR": "xor"}  # label -> zoo table name
CLASS_COLORS = (PALETTE[0], PALETTE[1])  # target 0, target 1
WRONG_COLOR = PALETTE[3]
SLIDER_SCALE = 10  # slider ticks per unit: steps of 0.1
ROW_HEIGHT = 22  # the truth table's rows


def _num(v: float) -> str:
    return f"{round(float(v), 4) + 0.0:g}"


def axis_label(symbol: str, name: str) -> str:
    """"x1" for a feature called x1 (not "x1: x1"), "x1: raining" for a named one."""
    return symbol if name in ("", symbol) else f"{symbol}: {name}"


class PerceptronView(QWidget):
    """One perceptron, two inputs: move the weights by hand or let the perceptron rule move them.

    For tests and the app: `set_inputs(raining, free)`, `set_weights(w1, w2, b)`, `weights()`,
    `load_preset(name)`, `step_once()`, `next_row()`, `train_to_end()`, `reset()`; the labels `sum_label`,
    `output_label`, `status_label`, `step_note`; the widgets `raining_box`, `free_box`, `table`, `log`,
    `points`. Its minimum size fits a 640x420 window.
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
        self._stepped_row: int | None = None  # the row the last Step learned from (bold in the table)
        self._train_notice = ""  # where the last Train started (continued or afresh), under the buttons
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
        """Two columns that fit a 640x420 window: the unit and its controls on the left, the picture and the log
        on the right."""
        left = QVBoxLayout()
        left.setSpacing(4)

        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Truth table:"))
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setToolTip("A preset starts afresh: weights back to 0, log cleared")
        self.preset_combo.currentTextChanged.connect(lambda text: self.load_preset(text) if text else None)
        preset_row.addWidget(self.preset_combo)
        preset_row.addStretch(1)
        left.addLayout(preset_row)

        self.table = QTableWidget(4, 4)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setToolTip("Double-click a target to change it (0 or 1). Bold: the row the last Step learned from")
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.itemChanged.connect(self._on_target_edited)
        for r in range(4):
            self.table.setRowHeight(r, ROW_HEIGHT)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 4 * ROW_HEIGHT
                                  + 2 * self.table.frameWidth())
        left.addWidget(self.table)

        inputs = QHBoxLayout()
        inputs.addWidget(QLabel("Inputs:"))
        self.raining_box = QCheckBox("Raining?")
        self.free_box = QCheckBox("Ticket free?")
        for box in (self.raining_box, self.free_box):
            box.toggled.connect(lambda _checked: self._refresh())
            inputs.addWidget(box)
        inputs.addStretch(1)
        left.addLayout(inputs)

        grid = QGridLayout()
        grid.setVerticalSpacing(2)
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
        left.addLayout(grid)

        self.sum_label = QLabel()
        self.sum_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sum_label.setWordWrap(True)
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
        self.step_button.setToolTip("Step uses the table's next example (rows 1 to 4, then again), not the ticked "
                                    "inputs: it applies the perceptron rule to that row, makes the row bold and "
                                    "sets the inputs to it. Tick the inputs to try the unit by hand.")
        self.step_button.clicked.connect(self._step_clicked)
        self.train_button = QPushButton("Train")
        self.train_button.setCheckable(True)
        self.train_button.setToolTip("Step after step until every example is right, or until an epoch ends with "
                                     "weights an earlier one ended with (the rule would repeat itself forever: no "
                                     f"line exists), or {self.max_epochs} epochs")
        self.train_button.toggled.connect(self._on_train_toggled)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Weights and bias back to 0, log cleared")
        self.reset_button.clicked.connect(self.reset)
        for b in (self.step_button, self.train_button, self.reset_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        rate = QLabel("rate")
        rate.setToolTip("The learning rate of the rule")
        buttons.addWidget(rate)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setRange(0.05, 3.0)
        self.lr_spin.setSingleStep(0.05)
        self.lr_spin.setValue(self._lr)
        self.lr_spin.setToolTip("The learning rate of the rule: w += rate·(target − output)·x")
        self.lr_spin.valueChanged.connect(self._on_lr_edited)
        buttons.addWidget(self.lr_spin)
        left.addLayout(buttons)
        self.step_note = QLabel()
        self.step_note.setTextFormat(Qt.TextFormat.PlainText)
        self.step_note.setWordWrap(True)
        self.step_note.setStyleSheet("color: #555")
        left.addWidget(self.step_note)
        left.addStretch(1)

        self.description_label = QLabel()
        self.description_label.setWordWrap(True)
        self.plot = pg.PlotWidget(axisItems=readable_axes(integer_x=True, integer_y=True))  # inputs are 0 or 1
        self.plot.setMinimumSize(120, 120)
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
        self.no_line_note = pg.TextItem("", color="#222", anchor=(0.5, 0), fill=pg.mkBrush(255, 255, 255, 220))
        self.no_line_note.setZValue(20)
        item.addItem(self.no_line_note, ignoreBounds=True)
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
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        self.log = QListWidget()
        self.log.setWordWrap(True)
        self.log.setMinimumHeight(40)
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.log.setToolTip("Each application of the rule: "
                            "w += lr·(target − output)·x, b += lr·(target − output)")

        box = item.getViewBox()
        box.sigRangeChanged.connect(lambda *_: self._draw_geometry())
        box.sigResized.connect(lambda *_: self._draw_points())

        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.description_label)
        right.addWidget(self.plot, 4)
        right.addWidget(self.legend_label)
        right.addWidget(self.status_label)
        right.addWidget(self.log, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

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
        self._trainer = None
        self._stepped_row = None
        self._train_notice = ""
        self._show_weights(np.array([w1, w2], np.float64), float(b))

    def weights(self) -> tuple[float, float, float]:
        """(w1, w2, b) exactly as the unit uses them (the spin boxes show them rounded)."""
        return float(self._w[0]), float(self._w[1]), float(self._b)

    def load_preset(self, name: str):
        """Load a preset truth table: 'Concert', 'AND', 'OR' or 'XOR' (any case), and start afresh.

        Training stops, the weights and bias go back to 0 (the rule's textbook start), the log is cleared.
        """
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
        self.set_weights(0.0, 0.0, 0.0)
        self.set_inputs(False, False)
        self.log.clear()
        self.status_label.setText(f"{label} loaded: weights back to 0, log cleared. Step or Train applies the rule "
                                  "from there.")

    def table_targets(self) -> list[int]:
        return [int(t) for t in self._table.target]

    def set_target(self, row: int, value: int):
        """Edit one target of the table (as double-clicking its cell does)."""
        self.table.item(row, 2).setText(str(int(value)))

    def next_row(self) -> int:
        """The table row (0-based) the next Step applies the rule to."""
        trainer = self._trainer
        return 0 if trainer is None or trainer.finished else trainer.index

    def step_once(self) -> Update | None:
        """Apply the rule to the table's next example (table order); a finished or fresh run starts at epoch 1.

        Not to the ticked inputs: the row is made bold, the inputs are set to it and the note says so.
        """
        if self._trainer is None or self._trainer.finished:
            self._trainer = RuleTrainer(self._table, self._w, self._b, self._lr, self.max_epochs, stop_on_cycle=True)
            self.log.addItem(f"start: w=({_num(self._w[0])}, {_num(self._w[1])}), b={_num(self._b)}, "
                             f"learning rate {_num(self._lr)}")
        trainer = self._trainer
        u = trainer.step()
        self._show_weights(u.new_w, u.new_b)
        self._filling = True  # show the example being learned on the input toggles
        self.set_inputs(bool(u.x[0]), bool(u.x[1]))
        self._filling = False
        self._stepped_row = u.index
        self._refresh()
        self.log.addItem(u.describe())
        if self.log.count() > 2000:
            self.log.takeItem(0)
        self.log.scrollToBottom()
        if trainer.finished:
            self._train_notice = ""  # the run is over: what Train would continue is no longer so
            self.step_note.setText(self._step_note())
            if trainer.converged_epoch is None and self._separable is None:
                self._separable = separable(self._table.x, self._table.target)
            message = outcome_message(trainer.converged_epoch, trainer.epochs_done,
                                      None if trainer.converged_epoch else self._separable, self._preset,
                                      trainer.cycle)
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

    def _step_clicked(self):
        self._train_notice = ""  # a Step by hand: the note says what it used
        self.step_once()

    def train_to_end(self) -> str:
        """What Train does, without the timer: the rule until it converges, repeats itself or runs out of epochs."""
        self._stop_timer()
        self.step_once()
        while not self._trainer.finished:
            self.step_once()
        return self.status_label.text()

    def reset(self):
        """Weights and bias back to 0, the log cleared."""
        self._stop_timer()
        self.set_weights(0.0, 0.0, 0.0)
        self._stepped_row = None
        self._refresh()
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
        self._stepped_row = None
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
        same = [name for name, t in TRUTH_TABLES.items()
                if np.array_equal(t.target, target) and t.feature_names == self._table.feature_names]
        self._preset = same[0] if same else "custom"
        if same:  # that table, with its own question ("x1 OR x2"), not the edited one's
            self._load_table(TRUTH_TABLES[same[0]])
        else:
            edited = self._table.with_target(target, self._preset)
            self._load_table(replace(edited, output_question="target") if self._table.name != "concert" else edited)
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
        self._stepped_row = None
        self._train_notice = ""
        self._refresh()

    def _on_lr_edited(self, value: float):
        self._lr = float(value)
        self._trainer = None
        self._stepped_row = None
        self._refresh()

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
            self._train_notice = self._where_training_starts()
            self.status_label.setText(self._train_notice)
            self.log.addItem(self._train_notice)
            self.log.scrollToBottom()
            self._refresh()
            self.timer.start()
        else:
            self.train_button.setText("Train")
            self.timer.stop()

    def _where_training_starts(self) -> str:
        """What Train is about to do: continue the run the Steps began, or start a new one at row 1."""
        w = f"w=({_num(self._w[0])}, {_num(self._w[1])}), b={_num(self._b)}"
        trainer = self._trainer
        if trainer is None or trainer.finished:
            fresh = "" if (self._w == 0).all() and self._b == 0 else " (Reset sets them to 0)"
            return f"Train starts a new run at row 1 of epoch 1 from the current weights, {w}{fresh}."
        return (f"Train continues the Steps' run: epoch {trainer.epoch}, row {trainer.index + 1}, "
                f"from the weights they left, {w}.")

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
        self.output_label.setText(self.headline(fires))

        outputs = predict(w, b, table.x)
        right = outputs == table.target
        self._filling = True
        stepped = self._stepped_row
        for r in range(len(table.x)):
            item = self.table.item(r, 3)
            if item is not None:
                item.setText(f"{outputs[r]} {'✓' if right[r] else '✗'}")
                item.setBackground(QBrush(QColor(255, 255, 255, 0) if right[r] else QColor(214, 39, 40, 60)))
            for c in range(4):  # the row the last Step learned from: bold, on yellow
                cell = self.table.item(r, c)
                if cell is not None:
                    font = cell.font()
                    font.setBold(r == stepped)
                    cell.setFont(font)
                    if c < 3:
                        cell.setBackground(QBrush(QColor(255, 230, 140, 140) if r == stepped else QColor(0, 0, 0, 0)))
        self._filling = False
        self.step_note.setText(self._step_note())

        self._right = right
        self._draw_points()
        self._draw_geometry()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", axis_label("x1", table.feature_names[0]))
        item.setLabel("left", axis_label("x2", table.feature_names[1]))
        wrong = int((~right).sum())
        named = table.class_names != ("0", "1")
        one, zero = (f" ({table.class_names[1]})", f" ({table.class_names[0]})") if named else ("", "")
        self.legend_label.setText(
            f"<span style='color:{CLASS_COLORS[1]}'>●</span> target 1{one}, "
            f"<span style='color:{CLASS_COLORS[0]}'>●</span> target 0{zero}; "
            f"<span style='color:{WRONG_COLOR}'>✗</span> wrong ({wrong} of {len(right)}); "
            "<span style='color:#2ca02c'>▇</span> fires (w·x + b > 0); <b>—</b> w·x + b = 0; "
            "◌ the inputs")

    def headline(self, fires: int) -> str:
        """The answer in bold: the table's value for the inputs first, then the unit's output, right or wrong.

        The unit's output is never put as the table's answer ("x1 XOR x2 = 1" when the unit says 1 but the table 0):
        "x1 XOR x2 = 0; unit: 1 ✗". The concert, where the unit is the one deciding, reads "Go to the concert: yes"."""
        table = self._table
        if table.name == "concert" or table.output_question == "Go to the concert":
            return f"{table.output_question}: {'yes' if fires else 'no'}"
        x = np.array(self.inputs(), np.float64)
        rows = [r for r in range(len(table.x)) if np.array_equal(table.x[r], x)]
        if not rows:
            return f"unit: {fires}"
        target = int(table.target[rows[0]])
        question = table.output_question if table.output_question not in ("output", "") else "target"
        return f"{question} = {target}; unit: {fires} {'✓' if fires == target else '✗'}"

    def _draw_points(self):
        """The four examples (✗ when wrong) and the ring on the inputs, smaller in a small plot."""
        table, right = self._table, getattr(self, "_right", None)
        if right is None:
            return
        scale = float(np.clip(min(self.plot.width(), self.plot.height()) / 300.0, 0.55, 1.0))
        spots = []
        for r, (p, t) in enumerate(zip(table.x, table.target)):
            spots.append({"pos": (float(p[0]), float(p[1])), "symbol": "o" if right[r] else "x",
                          "size": (20 if right[r] else 30) * scale, "brush": pg.mkBrush(CLASS_COLORS[int(t)]),
                          "pen": pg.mkPen("#222" if right[r] else WRONG_COLOR, width=1.5), "data": r})
            named = table.class_names != ("0", "1")
            self.point_labels[r].setText(table.class_names[int(t)] if named else f"target {int(t)}")
            self.point_labels[r].setPos(float(p[0]), float(p[1]))
        self.points.setData(spots)
        x = self.inputs()
        self.current.setData([{"pos": (float(x[0]), float(x[1])), "size": 34 * scale}])

    def _plot_box(self) -> tuple[float, float, float, float]:
        """What the plot shows (wider than VIEW_BOX in a wide plot: its aspect ratio is locked)."""
        (x0, x1), (y0, y1) = self.plot.getPlotItem().getViewBox().viewRange()
        box = (min(x0, VIEW_BOX[0]), max(x1, VIEW_BOX[1]), min(y0, VIEW_BOX[2]), max(y1, VIEW_BOX[3]))
        return box if all(np.isfinite(box)) else VIEW_BOX

    def _draw_geometry(self):
        """The line w·x + b = 0 and the green half-plane where the unit fires, across the whole visible plot."""
        box = self._plot_box()
        segment = decision_line(self._w, self._b, box)
        if segment is None:
            self.line.setData([], [])
        else:
            self.line.setData(segment[:, 0], segment[:, 1])
        self.no_line_note.setText(self.no_line_text(segment))
        self.no_line_note.setVisible(bool(self.no_line_note.toPlainText()))
        (x0, x1), (y0, y1) = self.plot.getPlotItem().getViewBox().viewRange()
        self.no_line_note.setPos((x0 + x1) / 2, y1 - 0.03 * (y1 - y0))
        region = fires_region(self._w, self._b, box)
        self.region.setPolygon(QPolygonF([QPointF(float(px), float(py)) for px, py in region]))

    def no_line_text(self, segment) -> str:
        """Why no decision line is drawn ("" when one is)."""
        if segment is not None:
            return ""
        if (self._w == 0).all():
            return "w = (0, 0): no line, the unit outputs the same for every input"
        return "the line w·x + b = 0 lies outside the plot"

    def _row_text(self, r: int) -> str:
        x, t = self._table.x[r], int(self._table.target[r])
        return f"row {r + 1} (x = {_num(x[0])}, {_num(x[1])}; target {t})"

    def _step_note(self) -> str:
        stepped = self._stepped_row
        trainer = self._trainer
        if self._train_notice:
            return self._train_notice
        if stepped is None or trainer is None:
            return (f"Step uses the table's next example: {self._row_text(self.next_row())}, not the ticked inputs; "
                    "it sets the inputs to that row.")
        following = "a fresh run from row 1" if trainer.finished else f"row {self.next_row() + 1}"
        return f"Step used {self._row_text(stepped)} and set the inputs to it. Next: {following}."
