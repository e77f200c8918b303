"""The zoo: every model (built-in and the user's), its description, layer table, parameters and spec text."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

import zoo
from zoo.errors import ZooError

COLUMNS = ("Layer", "Kind", "Units", "Activation", "Output shape", "Parameters")


class ZooView(QWidget):
    """Lists `zoo.list_models()`; an invalid user spec is listed in red with its error, never hidden."""

    needs_tensorflow = False  # the list and the spec text need none; the layer table fills in once it is loaded
    train_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._tf_ready = False
        self.models = QListWidget()
        self.models.currentItemChanged.connect(lambda item, _: self._show(item))
        self.title = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.layers = QTableWidget(0, len(COLUMNS))
        self.layers.setHorizontalHeaderLabels(COLUMNS)
        self.layers.verticalHeader().hide()
        self.layers.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.layers.horizontalHeader().setStretchLastSection(True)
        self.total = QLabel()
        self.spec_text = QPlainTextEdit(readOnly=True)
        self.spec_text.setFont(QFont("monospace"))
        self.train_button = QPushButton("Train this model…")
        self.train_button.clicked.connect(lambda: self.current and self.train_requested.emit(self.current))
        refresh = QPushButton("Reload specs")
        refresh.clicked.connect(self.reload)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.models)
        column.addWidget(refresh)
        right = QWidget()
        details = QVBoxLayout(right)
        details.setContentsMargins(0, 0, 0, 0)
        details.addWidget(self.title)
        details.addWidget(self.layers, 2)
        row = QHBoxLayout()
        row.addWidget(self.total, 1)
        row.addWidget(self.train_button)
        details.addLayout(row)
        details.addWidget(self.spec_text, 2)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([220, 700])
        QVBoxLayout(self).addWidget(splitter)
        self.current: str | None = None
        self.reload()

    def reload(self) -> None:
        self.models.clear()
        for name in zoo.list_models():
            item = QListWidgetItem(name)
            try:
                spec = zoo.load_spec(name)
                item.setData(Qt.ItemDataRole.UserRole, (spec, None))
                item.setToolTip(spec.description)
            except ZooError as e:
                item.setData(Qt.ItemDataRole.UserRole, (None, str(e)))
                item.setText(f"{name}  (invalid)")
                item.setForeground(QColor("#b00020"))
                item.setToolTip(str(e))
            self.models.addItem(item)
        if self.models.count():
            self.models.setCurrentRow(0)

    def select(self, name: str) -> None:
        for row in range(self.models.count()):
            if self.models.item(row).text().split()[0] == name:
                self.models.setCurrentRow(row)
                return

    def on_tensorflow_ready(self) -> None:
        self._tf_ready = True
        self._show(self.models.currentItem())

    def _show(self, item) -> None:
        if item is None:
            return
        spec, error = item.data(Qt.ItemDataRole.UserRole)
        name = item.text().split()[0]
        self.current = name if spec is not None else None
        self.train_button.setEnabled(spec is not None)
        self.layers.setRowCount(0)
        if spec is None:
            self.title.setText(f"<h2>{name}</h2><p style='color:#b00020'>This spec is invalid: {_escape(error)}</p>")
            self.total.setText("")
            self.spec_text.setPlainText(_read(name))
            return
        self.title.setText(f"<h2>{name}</h2><p>{_escape(spec.description)}</p>"
                           f"<p style='color:#555'>builder {spec.builder} · dataset {spec.dataset} · "
                           f"loss {spec.training.loss} · {spec.optimizer.name} lr {spec.optimizer.learning_rate:g}"
                           f"{' · clipped' if spec.optimizer.clipping else ''} · from {_escape(spec.source)}</p>")
        self.spec_text.setPlainText(spec.to_toml())
        self._fill_layers(spec)

    def _fill_layers(self, spec) -> None:
        """The layer table from the spec (instant, no TensorFlow); built with Keras only for builders it can't read."""
        from zoo.summary import layer_table, spec_layer_table

        try:
            rows = spec_layer_table(spec)
        except ValueError:
            if not self._tf_ready:
                self.total.setText("Parameters: counted once TensorFlow has loaded…")
                return
            try:
                rows = layer_table(zoo.build(spec))
            except ZooError as e:
                self.total.setText(f"Cannot build: {e}")
                return
        self.layers.setRowCount(len(rows))
        for i, r in enumerate(rows):
            values = (r.name, r.kind, "" if r.units is None else str(r.units), r.activation,
                      " × ".join(map(str, r.output_shape)), f"{r.params:,}")
            for j, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if j in (2, 5):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.layers.setItem(i, j, cell)
        self.layers.resizeColumnsToContents()
        self.total.setText(f"Total parameters: {sum(r.params for r in rows):,}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _read(name: str) -> str:
    """The raw text of an invalid spec, so the user sees what to fix."""
    from zoo.registry import spec_paths

    try:
        return spec_paths()[name].read_text(encoding="utf-8", errors="replace")
    except Exception:
        return ""
