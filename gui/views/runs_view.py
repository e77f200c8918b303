"""Runs: every run folder with its state; reopen its curves and confusion matrix, compare, delete, export.

Several runs share the plots: each run has its colour, shown in the details box above the plots (a few lines
that scroll), and the plots' legends name only the styles (train solid, validation dashed, grey after a NaN),
so a legend stays one row however many runs are compared. A diverged run says where and what is left:
"diverged at step 5: no finite epoch loss"; its accuracy after the NaN is grey, not the model's.
"""
from __future__ import annotations

import html
import math
import shutil
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QMessageBox, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from zoo.errors import ZooError
from zoo.runs import RunInfo, distinct_names, read_confusion, read_history, read_status
from zoo.runs import has_checkpoint as run_has_checkpoint

from ..history_plots import (METRIC_TITLES, NON_FINITE_COLOUR, PlotPanel, add_key, add_stale_key, augment_note, augment_why,
                             augmented_copies, first_non_finite, frame, free_position, history_plot, mark_non_finite,
                             metric_key, non_finite_word, note_if_empty, plot_series)
from ..plotting import PALETTE, BoxLabel, TextBox
from ..runs_model import RunsModel

COLUMNS = ("State", "Model", "Dataset", "Test accuracy", "Epochs", "Started", "Folder")
STATE_COLOURS = {"completed": "#1b7f3b", "stopped": "#8a6d00", "diverged": "#b00020", "failed": "#b00020",
                 "interrupted": "#8a6d00", "broken": "#b00020", "running": "#1f5fbf"}
DETAILS_LINES = (3, 6)  # the details box in a short view (under SHORT_VIEW pixels), otherwise; longer text scrolls
SHORT_VIEW = 520
SUMMARY_WIDTH = 300  # a compared run's summary: as many side by side as this many pixels each allow
NO_RUNS = "No runs yet: train one in the Train tab"
NOTHING_TO_RESUME = "no epoch finished: nothing to resume from; train it again"
RESUME_TIP = "Continue an interrupted or stopped run from its last epoch checkpoint"


class RunsView(QWidget):
    """Lists the runs its `RunsModel` holds, as they change. Selecting one run shows its curves and confusion
    matrix; several, overlaid."""

    needs_tensorflow = False
    show_gradients = Signal(object)  # run folders to open in the Gradients view
    export_requested = Signal(str)
    resume_requested = Signal(str)

    def __init__(self, parent=None, confirm=None, model: RunsModel | None = None):
        super().__init__(parent)
        self.model = model or RunsModel(self)
        self.confirm = confirm or _ask  # tests replace the confirmation dialog
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)  # a narrow column elides its text ("…") instead of cutting a second line
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.gradients_button = QPushButton("Gradients")
        self.gradients_button.clicked.connect(lambda: self.show_gradients.emit([str(r.path) for r in self.selected()]))
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(lambda: self.selected() and self.export_requested.emit(str(self.selected()[0].path)))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip(RESUME_TIP)
        self.resume_button.clicked.connect(lambda: self.selected() and self.resume_requested.emit(str(self.selected()[0].path)))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        for b in (self.refresh_button, self.gradients_button, self.export_button, self.resume_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.details = BoxLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_box = TextBox(self.details, DETAILS_LINES[1])
        self._summaries: list[tuple[str, str]] = []  # (first line, more) of each selected run, for the details
        self.loss_plot = history_plot("Loss")
        self.accuracy_plot = history_plot("Accuracy")
        self.accuracy_plot.setXLink(self.loss_plot)
        self.confusion_plot = pg.PlotWidget(title="Confusion matrix, test set (counts)")
        self.confusion_plot.invertY(True)
        self.confusion_plot.setAspectLocked(True)
        self.confusion_image = pg.ImageItem()
        self.confusion_image.setColorMap(pg.colormap.get("viridis"))
        self.confusion_plot.addItem(self.confusion_image)
        self.colour_bar = None  # made with the first matrix
        self.count_items: list = []
        self._confusion_labels: list = []
        self.confusion: np.ndarray | None = None
        self.plots = PlotPanel([("Loss", self.loss_plot), ("Accuracy", self.accuracy_plot),
                                ("Confusion matrix", self.confusion_plot)])
        self.confusion_plot.installEventFilter(self)  # every cell in view whenever it is shown or resized

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.table)
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        splitter.addWidget(top)
        details_and_plots = QWidget()
        dp = QVBoxLayout(details_and_plots)
        dp.setContentsMargins(0, 0, 0, 0)
        dp.addWidget(self.details_box)
        dp.addWidget(self.plots, 1)
        splitter.addWidget(details_and_plots)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([250, 450])
        self._split_by_user = False
        splitter.splitterMoved.connect(lambda *_: setattr(self, "_split_by_user", True))
        QVBoxLayout(self).addWidget(splitter)
        self.runs: list[RunInfo] = []
        self.model.changed.connect(self._show_runs)
        self._show_runs()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.details_box.set_lines(DETAILS_LINES[0] if event.size().height() < SHORT_VIEW else DETAILS_LINES[1])
        if event.oldSize().width() != event.size().width():
            self._show_details()
        if not self._split_by_user:  # the table under a third of the height (90-250 px), the plots the rest
            total = event.size().height() - 2 * self.splitter.handleWidth() - 18  # less the margins
            top = max(min(int(total * 0.3), 250), 90)
            self.splitter.setSizes([top, total - top])

    def eventFilter(self, watched, event) -> bool:
        if watched is self.confusion_plot and event.type() in (QEvent.Type.Show, QEvent.Type.Resize):
            self._frame_confusion()
        return super().eventFilter(watched, event)

    def _frame_confusion(self) -> None:
        """Every cell of the matrix in view (its aspect kept square), whatever the plot's size."""
        if self.confusion is not None and self.confusion_plot.isVisible():
            n = len(self.confusion)
            self.confusion_plot.getViewBox().setRange(QRectF(-0.5, -0.5, n, n), padding=0.02)
            self._fit_counts()

    def _show_colour_bar(self, matrix: np.ndarray) -> None:
        """A colour bar beside the matrix whose ticks are counts (the colour is the log of the count)."""
        if self.colour_bar is None:
            self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=10,
                                              label="count")
            self.colour_bar.setImageItem(self.confusion_image, insert_in=self.confusion_plot.getPlotItem())
        top = int(matrix.max()) if matrix.size else 1
        self.colour_bar.setLevels((0.0, float(np.log1p(max(top, 1)))))
        near = 0.85 * np.log1p(max(top, 1))  # a tick this close under the top one would overlap its label ("30" on "44")
        counts = [0] + [c for c in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000) if c < top and np.log1p(c) < near] + [top]
        self.colour_bar.axis.setTicks([[(float(np.log1p(c)), str(c)) for c in counts]])
        self.colour_bar.show()

    def _add_counts(self, matrix: np.ndarray) -> None:
        """Each cell's count in it (shown when the cells are wide enough to hold the numbers: `_fit_counts`)."""
        for item in self.count_items:
            self.confusion_plot.removeItem(item)
        self.count_items = []
        top = matrix.max() if matrix.size else 0
        for (row, column), value in np.ndenumerate(matrix):
            light = np.log1p(value) < 0.6 * np.log1p(top)  # viridis: dark at the bottom, light at the top
            item = pg.TextItem(f"{int(value)}", color="w" if light else "k", anchor=(0.5, 0.5))
            item.setPos(column, row)
            self.confusion_plot.addItem(item, ignoreBounds=True)
            self.count_items.append(item)
        self._fit_counts()

    def _fit_counts(self) -> None:
        """The counts show when a cell is wide and tall enough for the longest of them, at a font of 7-9 pt."""
        if not self.count_items or self.confusion is None:
            return
        box = self.confusion_plot.getViewBox()
        cell = min(box.width(), box.height()) / max(len(self.confusion), 1) if box.width() else 0
        digits = len(str(int(self.confusion.max()))) if self.confusion.size else 1
        size = min(9.0, cell / (0.75 * digits + 0.6))
        show = size >= 6.5
        font = self.count_items[0].textItem.font()
        font.setPointSizeF(max(size, 6.5))
        for item in self.count_items:
            item.setFont(font)
            item.setVisible(show)

    def counts_shown(self) -> bool:
        """Whether the confusion matrix shows its counts in its cells (for tests)."""
        return bool(self.count_items) and all(item.isVisible() for item in self.count_items)

    def refresh(self) -> None:
        """List the runs again (the model re-reads the folder; this view shows them)."""
        self.model.reload()

    def _show_runs(self) -> None:
        """Show the model's runs, keeping the selection."""
        selected = {str(r.path) for r in self.selected()}
        self.runs = list(self.model.runs)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            accuracy = ("—" if run.state == "diverged" else f"{run.accuracy:.1%}" if run.accuracy is not None else
                        NO_TEST_SET if run.source == "RunRecorder" and run.state != "running" else "")
            epochs = f"{run.epochs_completed}/{run.epochs}" if run.epochs else ""
            values = (run.state, run.model, run.dataset, accuracy, epochs, run.started.replace("T", " ")[:16], run.path.name)
            for j, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if j == 0:
                    cell.setForeground(QColor(STATE_COLOURS.get(run.state, "#222")))
                cell.setToolTip(run.problem or run.message or str(run.path))
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # resizing to contents leaves the last column narrow: stretch it again
        header.setStretchLastSection(True)
        self.table.clearSelection()
        for i, run in enumerate(self.runs):
            if str(run.path) in selected:
                self.table.selectRow(i)
        self._scroll_to_selection()
        self.table.blockSignals(False)
        self._show_selected()

    def selected(self) -> list[RunInfo]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select(self, *paths) -> None:
        wanted = {str(Path(p)) for p in paths}
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for i, run in enumerate(self.runs):
            if str(run.path) in wanted:
                self.table.selectRow(i)
        self.table.setSelectionMode(mode)
        self._scroll_to_selection()

    def _scroll_to_selection(self) -> None:
        """The first selected run stays in view when new runs push it down the list."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        if rows:
            self.table.scrollTo(self.table.model().index(rows[0], 0))

    def _show_selected(self) -> None:
        runs = self.selected()
        self.loss_plot.clear()
        self.accuracy_plot.clear()
        self.confusion_image.clear()
        self.confusion = None
        for item in self.count_items:
            self.confusion_plot.removeItem(item)
        self.count_items = []
        if self.colour_bar is not None:
            self.colour_bar.hide()
        self._show_confusion_axes(False)
        self.gradients_button.setEnabled(bool(runs))
        self.export_button.setEnabled(len(runs) == 1 and runs[0].finished_ok)
        self.delete_button.setEnabled(bool(runs))
        resumable, why = resume_state(runs)
        self.resume_button.setEnabled(resumable)
        self.resume_button.setToolTip(RESUME_TIP if resumable or not why else f"Resume: {why}")
        self._summaries = []
        if not runs:
            self._show_details()
            frame((self.loss_plot, self.accuracy_plot), empty_x=(1, 10))
            for plot in (self.loss_plot, self.accuracy_plot):
                note_if_empty(plot, "Select a run to see its curves" if self.runs else "No runs in this folder yet")
            return
        several = len(runs) > 1
        histories = [self._history(run) for run in runs]
        labels = run_labels(runs)
        metrics, marks = [], {}
        for i, (run, history) in enumerate(zip(runs, histories)):
            colour = PALETTE[i % len(PALETTE)]
            self._summaries.append(summary(run, history, labels[i], colour, several,
                                           dataset=not several or len({r.dataset for r in runs}) > 1))
            if history is not None:
                metrics.append(self._plot_history(run, history, colour, labels[i] if several else None, marks))
        self._show_details()
        self._mark(marks, several)
        for plot in (self.loss_plot, self.accuracy_plot):
            if several:  # the colours are the runs' (named in the details): the legend names the styles drawn
                drawn = [c for c in plot.listDataItems()
                         if not getattr(c, "stale", False) and c.getData()[0] is not None and len(c.getData()[0])]
                for style, validation in (("train", False), ("validation", True)):
                    if any((c.name() or "").endswith(" " + style) for c in drawn):
                        add_key(plot, style, validation=validation)
            add_stale_key(plot)
            plot.fit_legend()
        metric = next((m for m in metrics if m), "accuracy")
        self.accuracy_plot.unit_interval = metric == "accuracy"
        planned = max([r.epochs or r.epochs_completed or 1 for r in runs] + [1])
        frame((self.loss_plot, self.accuracy_plot), empty_x=(1, planned))
        title = METRIC_TITLES.get(metric, metric)
        self.accuracy_plot.setLabel("left", title)
        self.plots.set_title(self.accuracy_plot, title)
        for plot in (self.loss_plot, self.accuracy_plot):
            note_if_empty(plot, "No epoch finished yet" if len(runs) == 1 else "No epoch finished yet in these runs")
        if len(runs) == 1:
            self._show_confusion(runs[0])

    def _mark(self, marks: dict, several: bool = False) -> None:
        """A dashed line where each run's loss stopped being a number, its label where it covers the fewest points:
        red for one run; in the run's own colour, named, when several are compared (a red line would read as the
        run drawn red), one line per run ("exploding: NaN")."""
        if not marks:
            return
        first = min(key[0] for key in marks)
        for plot in (self.loss_plot, self.accuracy_plot):
            position = free_position(plot, first)
            for i, ((x, what, label, colour), _) in enumerate(sorted(marks.items())):
                if several:
                    text = f"{label}: {what.rsplit(' = ', 1)[-1]}"
                    mark_non_finite(plot, x, text, position=position, row=i % 4, colour=colour)
                else:
                    mark_non_finite(plot, x, what, position=position, row=i % 4, colour=NON_FINITE_COLOUR)

    def _show_details(self) -> None:
        """The selected runs' summaries: one run with its message; several side by side, as many as the width allows."""
        if not self._summaries:
            self.details.setText(NO_RUNS if not self.runs else
                                 "Select a run to see its curves; select several to compare them.")
            return
        if len(self._summaries) == 1:
            first, more = self._summaries[0]
            self.details.setText(first + (f"<br>{more}" if more else ""))
            return
        columns = max(1, min(len(self._summaries), self.details_box.width() // SUMMARY_WIDTH))
        rows = []
        for start in range(0, len(self._summaries), columns):
            cells = "".join(f"<td width='{100 // columns}%'>{first}</td>"
                            for first, _ in self._summaries[start:start + columns])
            rows.append(f"<tr>{cells}</tr>")
        self.details.setText(f"<table width='100%' cellspacing='0' cellpadding='0'>{''.join(rows)}</table>")

    def details_columns(self) -> int:
        """How many compared runs the details show side by side (1 for one run)."""
        text = self.details.text()
        return text.split("</tr>")[0].count("<td") if text.startswith("<table") else 1

    @staticmethod
    def _history(run: RunInfo) -> dict | None:
        return read_history(run.path)

    def _plot_history(self, run: RunInfo, history: dict, colour: str, label: str | None, marks: dict) -> str | None:
        """Draw one run's history.json; returns the metric drawn beside the loss.

        `label`: the run's name when several runs share the plots (their curves are then named, not in the legend).
        The metric's values from the first non-finite loss on are grey: the weights were no longer numbers."""
        epochs = history.get("epoch", [])
        metric = metric_key(history)
        loss, val_loss = (history.get(k) if len(history.get(k) or []) == len(epochs) else None for k in ("loss", "val_loss"))
        x = first_non_finite(epochs, loss, val_loss)
        word = non_finite_word(run.message)
        for plot, key in ((self.loss_plot, "loss"), (self.accuracy_plot, metric)):
            for validation in (False, True):
                values = history.get(("val_" if validation else "") + key)
                if values and len(values) == len(epochs):
                    name = (f"{label} " if label else "") + ("validation" if validation else "train")
                    plot_series(plot, epochs, values, colour, validation=validation, name=name, legend=label is None,
                                stale_from=x if plot is self.accuracy_plot else None, word=word,
                                empty_in_legend=False)
        if x is not None:
            which = "loss" if first_non_finite(epochs, loss) == x else "validation loss"
            marks[(x, f"{which} = {word}", label or "", colour)] = run
        return metric

    def _show_confusion(self, run: RunInfo) -> None:
        confusion = read_confusion(run.path)
        if confusion is None:
            return
        labels, matrix = confusion
        try:
            matrix = np.asarray(matrix, float)
        except (TypeError, ValueError):
            return
        self.confusion = matrix
        top = float(np.log1p(matrix.max())) if matrix.size else 1.0
        self.confusion_image.setImage(np.log1p(matrix), levels=(0.0, top or 1.0))  # log: the mistakes stay visible
        self.confusion_image.setRect(-0.5, -0.5, len(labels), len(labels))
        self._show_colour_bar(matrix)
        self._add_counts(matrix)
        ticks = [[(i, str(label)) for i, label in enumerate(labels)]]
        self.confusion_plot.getAxis("bottom").setTicks(ticks)
        self.confusion_plot.getAxis("left").setTicks(ticks)
        self.confusion_plot.setLabel("bottom", "predicted")
        self.confusion_plot.setLabel("left", "true")
        self._show_confusion_axes(True)
        self._frame_confusion()

    def _show_confusion_axes(self, shown: bool) -> None:
        """Axes for a matrix; without one (several runs, or a run never tested), a title that says so."""
        for axis in ("left", "bottom"):
            self.confusion_plot.showAxis(axis, shown)
        runs = self.selected()
        why = "one run at a time" if len(runs) > 1 else "none (not tested)" if runs else "select a run"
        self.confusion_plot.setTitle("Confusion matrix, test set (counts)" if shown else f"Confusion matrix: {why}")

    def delete_selected(self) -> None:
        runs = self.selected()
        if not runs:
            return
        running = [r for r in runs if r.state == "running"]
        if running:
            QMessageBox.information(self, "zoo", f"{running[0].path.name} is still running; stop it first.")
            return
        names = "\n".join(r.path.name for r in runs)
        if not self.confirm(self, f"Delete {len(runs)} run folder(s)? This cannot be undone.\n\n{names}"):
            return
        for run in runs:
            shutil.rmtree(run.path, ignore_errors=True)
        self.refresh()


NO_TEST_SET = "no test set"  # a RunRecorder run: zoo does not know the user's test data


def run_labels(runs: list[RunInfo]) -> list[str]:
    """What each run is called in the plots and details: its model, with its folder's name (the table's last column)
    when models repeat, as the Gradients view names them."""
    return distinct_names([run.model for run in runs], [run.path for run in runs])


def state_text(run: RunInfo, history: dict | None) -> str:
    """The run's state in words: a diverged run says at which step, and what is left of its epoch losses."""
    if run.state != "diverged":
        text = run.state
        return text + (f" · test accuracy {run.accuracy:.2%}" if run.accuracy is not None else "")
    try:
        step = read_status(run.path).step
    except ZooError:
        step = None
    text = "diverged" + (f" at step {step}" if step is not None else "")
    epochs = (history or {}).get("epoch") or []
    losses = (history or {}).get("loss") or []
    finite = [(e, v) for e, v in zip(epochs, losses) if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return f"{text}: no finite epoch loss"
    epoch, value = finite[-1]
    return f"{text}: last finite epoch loss {value:.4g} (epoch {epoch})"


def summary(run: RunInfo, history: dict | None, label: str, colour: str, several: bool,
            dataset: bool = True) -> tuple[str, str]:
    """(first line, more) of the details: the run in its colour, dataset (unless every compared run has the same)
    and state; its message for one run alone."""
    state = state_text(run, history)
    if several:  # side by side: short
        state = state.replace("completed · test accuracy ", "test ")
    data = f" · {_phrase(run.dataset)}" if dataset else ""
    parts = state.split(": ", 1)  # "diverged at step 5: no finite epoch loss": each phrase whole on its line
    state_html = ": ".join(_phrase(part) for part in parts)
    first = f"<b style='color:{colour}'>■&nbsp;{_phrase(label)}</b>{data} · {state_html}"
    more = []
    copies = run_augmented_copies(run)
    if copies and not several:
        more.append(f"<span style='color:#555' title='{html.escape(augment_why(copies))}'>"
                    f"{html.escape(augment_note(copies))}</span>")
    if not several and run.state in ("interrupted", "stopped") and not has_checkpoint(run):
        more.append(f"<span style='color:#8a6d00'>Resume: {NOTHING_TO_RESUME}</span>")
    if run.problem:
        more.append(f"<span style='color:#b00020'>{html.escape(run.problem)}</span>")
    if run.message and not several:
        more.append(html.escape(run.message))
    if several and run.problem:  # broken, or written by a newer zoo: a word, the details say the rest
        word = "broken" if run.state == "broken" else "newer zoo" if "newer zoo" in run.problem else "see note"
        first += f" <span style='color:#b00020'>({word})</span>"
    return first, "<br>".join(more)


def _phrase(text: str) -> str:
    """Escaped text that a line never breaks inside ("no finite epoch / loss" read as two things)."""
    return html.escape(text).replace(" ", "&nbsp;")


def has_checkpoint(run: RunInfo) -> bool:
    return run_has_checkpoint(run.path)


def resume_state(runs: list[RunInfo]) -> tuple[bool, str]:
    """(whether Resume applies to the selection, why not in words: "" when it plainly does not apply)."""
    if len(runs) != 1:
        return False, "select one stopped or interrupted run" if runs else ""
    run = runs[0]
    if run.state not in ("interrupted", "stopped"):
        return False, f"only a stopped or interrupted run can be resumed; this one is {run.state}"
    if run.source != "zoo train":
        return False, (f"recorded by {run.source} from your own script: zoo has no spec to train it again from; "
                       "run your script again")
    if not has_checkpoint(run):
        return False, NOTHING_TO_RESUME
    return True, ""


def run_augmented_copies(run: RunInfo) -> int:
    """The distorted copies per training image the run was trained with (its spec.toml's training.augment)."""
    try:
        from zoo.runs import spec_path
        from zoo.spec import read_spec_file

        spec = read_spec_file(spec_path(run.path))
    except Exception:  # no spec (an old or broken run): nothing to say
        return 0
    return augmented_copies(spec, run.dataset)


def _ask(parent, text: str) -> bool:
    answer = QMessageBox.question(parent, "Delete runs", text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
