"""The zoo: every model (built-in and the user's), its description, layer table, parameters and spec text.

In a small window (640x420) the layer table keeps every column's header and its Parameters whole: the other
columns give up width first (their text elided, "…", the full text in a tooltip); the description and the
builder line are one line each, elided, with the whole text in their tooltips (and in the spec text below).
"""
from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

import zoo
from zoo.errors import ZooError

COLUMNS = ("Layer", "Kind", "Units", "Activation", "Output shape", "Parameters")
PARAMETERS = COLUMNS.index("Parameters")
SHRINK_ORDER = (COLUMNS.index("Output shape"), COLUMNS.index("Kind"), COLUMNS.index("Activation"),
                COLUMNS.index("Layer"), COLUMNS.index("Units"))  # who gives up width first when the table is narrow


class ElidedLabel(QLabel):
    """One line of plain text, elided ("…") to the label's width; the whole text is its tooltip."""

    def __init__(self, text: str = ""):
        super().__init__()
        self.full_text = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens the window
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self.setVisible(bool(text))  # no empty line kept
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 10)))


class ZooView(QWidget):
    """Lists `zoo.list_models()`; an invalid user spec is listed in red with its error, never hidden."""

    needs_tensorflow = False  # the list and the spec text need none; the layer table fills in once it is loaded
    train_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._tf_ready = False
        self.models = QListWidget()
        self.models.currentItemChanged.connect(lambda item, _: self._show(item))
        self.title = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)  # the name; an invalid spec's error too
        self.description = ElidedLabel()
        self.info = ElidedLabel()
        self.info.setStyleSheet("color:#555")
        self.layers = QTableWidget(0, len(COLUMNS))
        self.layers.setHorizontalHeaderLabels(COLUMNS)
        self.layers.verticalHeader().hide()
        self.layers.verticalHeader().setDefaultSectionSize(self.layers.fontMetrics().height() + 6)  # more rows in view
        self.layers.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.layers.setWordWrap(False)  # a narrowed column elides its text
        self.layers.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.layers.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.layers.horizontalHeader().setStretchLastSection(False)
        self.layers.viewport().installEventFilter(self)  # the columns refit whenever the table's width changes
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
        details.addWidget(self.description)
        details.addWidget(self.info)
        details.addWidget(self.layers, 2)
        row = QHBoxLayout()
        row.addWidget(self.total, 1)
        row.addWidget(self.train_button)
        details.addLayout(row)
        details.addWidget(self.spec_text, 2)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([150, 700])  # the names are short: the table gets the width
        self.models.setMinimumWidth(90)
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
        self.title.setText(f"<span style='font-size:x-large; font-weight:bold'>{html.escape(name)}</span>")
        if spec is None:  # the error whole (wrapped): it says what to fix
            self.title.setText(self.title.text() + f"<p style='color:#b00020; margin:0'>This spec is invalid: "
                                                   f"{html.escape(error)}</p>")
            self.description.set_full_text("")
            self.info.set_full_text("")
            self.total.setText("")
            self.spec_text.setPlainText(_read(name))
            return
        self.description.set_full_text(spec.description)
        self.info.set_full_text(f"builder {spec.builder} · dataset {spec.dataset} · loss {spec.training.loss} · "
                                f"{spec.optimizer.name} lr {spec.optimizer.learning_rate:g}"
                                f"{' · clipped' if spec.optimizer.clipping else ''} · from {spec.source}")
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
                cell.setToolTip(value)
                self.layers.setItem(i, j, cell)
        self.total.setText(f"Total parameters: {sum(r.params for r in rows):,}")
        self.fit_columns()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.layers.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def fit_columns(self) -> None:
        """Every column as wide as its contents when the table is wide enough; when not, the others shrink (their
        text elided, never under their header's width where it can be helped), Parameters never: its numbers stay
        whole and in view, whatever the window's size."""
        table, header = self.layers, self.layers.horizontalHeader()
        table.resizeColumnsToContents()
        wanted = [header.sectionSize(c) for c in range(len(COLUMNS))]
        room = table.viewport().width()
        if room <= 0:
            return
        widths = list(wanted)
        metrics = header.fontMetrics()
        floors = [min(w, metrics.horizontalAdvance(COLUMNS[c]) + 12) for c, w in enumerate(wanted)]
        for floor_scale in (1.0, 0.0):  # first down to each header's width, then further (elided headers)
            for c in SHRINK_ORDER:
                excess = sum(widths) - room
                if excess <= 0:
                    break
                floor = max(int(floors[c] * floor_scale), header.minimumSectionSize())
                widths[c] = max(floor, widths[c] - excess)
        if sum(widths) < room:  # room to spare: the last column takes it (numbers stay right-aligned)
            widths[PARAMETERS] += room - sum(widths)
        for c, width in enumerate(widths):
            header.resizeSection(c, width)

    def column_widths(self) -> tuple[list[int], list[int]]:
        """(shown, needed) width of each column: for tests and for deciding what is cut."""
        header = self.layers.horizontalHeader()
        shown = [header.sectionSize(c) for c in range(len(COLUMNS))]
        needed = [max([self.layers.sizeHintForColumn(c), header.sectionSizeHint(c)]) for c in range(len(COLUMNS))]
        return shown, needed


def _read(name: str) -> str:
    """The raw text of an invalid spec, so the user sees what to fix."""
    from zoo.catalogue import spec_paths

    try:
        return spec_paths()[name].read_text(encoding="utf-8", errors="replace")
    except Exception:
        return ""
