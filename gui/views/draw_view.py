"""Draw a digit and see what a trained model says: "98% sure this is a 7".

The pad's ink goes through `Predictor.predict_ink` (MNIST's own preprocessing, `zoo.digit_image.to_mnist`,
then the forward pass: about a millisecond), after every stroke, in the GUI thread. Shown: the ten
probabilities as bars, the sentence, the 28x28 image the model saw, and each hidden layer's activations.

The bars are a softmax's: they always add up to 100%, even for a drawing that is no digit, and a
softmax is overconfident on inputs unlike its training data. So each drawing is also compared with
real digits (`zoo.inference.NoveltyCheck`, fitted once per dataset on a background thread, then
cached); one unlike them gets "Not sure this is a digit: ... (best guess 6, 99%: ...)" and grey bars.

Which model: the user's choice, else `zoo.inference.best_digit_run` (the most accurate run trained on
MNIST, else the most accurate run), re-chosen when runs appear until the user picks one. The runs of the
folder the pad cannot use (recorded by RunRecorder, not a digit model, unfinished) are counted in the status,
with why: never left out silently.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from zoo.errors import ZooError
from zoo.inference import (BEST_RUN_RULE, NoveltyCheck, Prediction, Predictor, activation_image, best_digit_run,
                           is_digit_run)

from ..plotting import PALETTE
from zoo.runs import MODEL, list_runs

PAD_SIZE = 280  # the pad's image: 10x MNIST's 28
PEN_WIDTH = 22  # about 2 px once the digit is scaled into MNIST's 20x20 box, like MNIST's strokes
SEEN_SCALE = 4  # the 28x28 the model saw, shown 112 px wide (84 px in a short window)
COMPACT_HEIGHT = 520  # below this height the view drops the hidden layers and shows the 28x28 smaller
NO_INK = "draw a digit"
NO_MODEL = "Train mlp or cnn on digits or mnist first (Train tab)"
WAITING = "Loading TensorFlow…"
DIGITS_NOTE = ("This model learnt from the offline digits: 1,797 small 8x8 scans by 13 writers, not MNIST's 70,000 "
               "digits by about 500. It reads drawings less well{figures}. {better}")
BETTER_WITH_MNIST = "Train mlp or cnn on MNIST (Train tab, dataset mnist) for a model that reads drawings far better."
BETTER_WITHOUT_MNIST = "Download MNIST in the Train tab and train mlp or cnn on it for a model that reads drawings far better."
# bench/pad_accuracy.py: 1,000 MNIST test digits drawn pad-style, read by the built-in recipe trained on each dataset
PAD_ACCURACY = {"mlp": {"digits": "79%", "mnist": "98.5%"}, "cnn": {"digits": "88%", "mnist": "99%"}}
MODEL_TIP = ("A finished run of a digit model (784 inputs or 28x28, 10 outputs). Unless you pick one, the Draw tab "
             f"uses {BEST_RUN_RULE}. Your choice stays until you pick another.")
SOFTMAX_NOTE = ("The bars are a softmax: they add up to 100% even for a drawing that is no digit, and it is "
                "overconfident on drawings unlike its training data.")


def digits_note(model: str, mnist_here: bool | None = None) -> str:
    """Why a model trained on the offline digits reads drawings less well, with its measured figures when known,
    and what to do: train on MNIST when it is on this computer, else download it first (the Train tab offers it)."""
    if mnist_here is None:
        from zoo.datasets import mnist_is_local

        mnist_here = mnist_is_local()
    figures = PAD_ACCURACY.get(model)
    return DIGITS_NOTE.format(figures=f" (the built-in {model} recipe trained on them reads about {figures['digits']} "
                                      f"of drawn digits right, against {figures['mnist']} trained on MNIST)"
                              if figures else "", better=BETTER_WITH_MNIST if mnist_here else BETTER_WITHOUT_MNIST)


class DrawPad(QWidget):
    """A white square to draw on with the mouse or a tablet pen: thick round black strokes.

    `ink()` is the drawing as a float32 array, ink high (0 paper, 1 ink), PAD_SIZE x PAD_SIZE.
    `stroke_finished` is emitted after each stroke, `changed` after every change (strokes, undo, clear).
    """

    stroke_finished = Signal()
    changed = Signal()

    def __init__(self, parent=None, size: int = PAD_SIZE, pen_width: float = PEN_WIDTH):
        super().__init__(parent)
        self.pen_width = pen_width
        self.strokes: list[list[QPointF]] = []  # finished strokes, in pad-image pixels
        self._current: list[QPointF] | None = None
        self._base = QImage(size, size, QImage.Format.Format_Grayscale8)  # every finished stroke
        self._base.fill(255)
        self.image = QImage(self._base)  # what is shown: the finished strokes plus the one being drawn
        self.setMinimumSize(size // 2, size // 2)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setToolTip("Draw a digit with the mouse or a pen")

    def sizeHint(self):
        return QSize(self._base.width(), self._base.height())

    # ---------------------------------------------------------------------------------- the drawing
    def ink(self) -> np.ndarray:
        """The drawing as float32 in [0, 1], ink high (the pad's image inverted)."""
        image = self.image
        h, w, stride = image.height(), image.width(), image.bytesPerLine()
        gray = np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)[:, :w]
        return 1.0 - gray.astype(np.float32) / 255.0

    def is_empty(self) -> bool:
        return not self.strokes and self._current is None

    def clear(self) -> None:
        self.strokes.clear()
        self._current = None
        self._render()
        self.changed.emit()

    def undo(self) -> None:
        """Remove the last stroke."""
        if self.strokes:
            self.strokes.pop()
            self._render()
            self.changed.emit()

    def add_stroke(self, points) -> None:
        """Draw a whole stroke given in pad-image pixels (for scripts and tests), as if drawn by hand."""
        self.strokes.append([QPointF(*p) if not isinstance(p, QPointF) else QPointF(p) for p in points])
        self._render()
        self.changed.emit()
        self.stroke_finished.emit()

    def _pen(self) -> QPen:
        pen = QPen(QColor(0, 0, 0), self.pen_width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _draw_stroke(self, image: QImage, points: list[QPointF]) -> None:
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen())
        if len(points) == 1:
            painter.drawPoint(points[0])  # a dot: a round cap on its own
        else:
            painter.drawPolyline(points)
        painter.end()

    def _render(self) -> None:
        """Redraw from the stroke list: the same strokes always give the same pixels (undo is exact)."""
        self._base.fill(255)
        for stroke in self.strokes:
            self._draw_stroke(self._base, stroke)
        self.image = QImage(self._base)
        if self._current:
            self._draw_stroke(self.image, self._current)
        self.update()

    # ------------------------------------------------------------------------------- pointer input
    def _target(self) -> QRectF:
        """Where the pad's image is shown: the largest centred square."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_image(self, pos: QPointF) -> QPointF:
        target = self._target()
        scale = self._base.width() / max(target.width(), 1.0)
        return QPointF((pos.x() - target.x()) * scale, (pos.y() - target.y()) * scale)

    def widget_pos(self, x: float, y: float) -> QPoint:
        """Where the pad-image pixel (x, y) is on the widget (for scripted mouse input)."""
        target = self._target()
        scale = target.width() / self._base.width()
        return QPoint(round(target.x() + x * scale), round(target.y() + y * scale))

    def _begin(self, pos: QPointF) -> None:
        self._current = [self._to_image(pos)]
        self._render()

    def _extend(self, pos: QPointF) -> None:
        if self._current is None:
            return
        point = self._to_image(pos)
        if point != self._current[-1]:
            self._current.append(point)
            self.image = QImage(self._base)
            self._draw_stroke(self.image, self._current)
            self.update()

    def _end(self, pos: QPointF | None = None) -> None:
        if self._current is None:
            return
        if pos is not None:
            self._extend(pos)
        self.strokes.append(self._current)
        self._current = None
        self._render()
        self.changed.emit()
        self.stroke_finished.emit()

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._current is not None:  # not event.buttons(): synthetic moves may not carry the button
            self._extend(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._end(event.position())
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event):
        kind = event.type()
        if kind == event.Type.TabletPress:
            self._begin(event.position())
        elif kind == event.Type.TabletMove:
            self._extend(event.position())
        elif kind == event.Type.TabletRelease:
            self._end(event.position())
        event.accept()  # no synthesised mouse events on top

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        target = self._target()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self.image)
        painter.setPen(QPen(QColor("#999"), 1))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.end()


def run_label(run) -> str:
    """ "mlp · mnist · 98.3% · 2026-11-24 14:12" for a `zoo.runs.RunInfo`."""
    parts = [run.model, run.dataset]
    if run.accuracy is not None:
        parts.append(f"{run.accuracy * 100:.1f}%")
    if run.started:
        parts.append(run.started[:16].replace("T", " "))
    return " · ".join(parts)


def left_out(runs: list, usable: list) -> str:
    """Which runs of the folder the pad cannot use, and why, in a few words ("2 recorded by RunRecorder (a model of
    your own), 1 trained on iris"); "" when it can use them all. `runs`: every `zoo.runs.RunInfo` of the folder;
    `usable`: those it offers."""
    offered = {run.path for run in usable}
    reasons: dict[str, int] = {}
    for run in runs:
        if run.path in offered:
            continue
        if run.source == "RunRecorder":  # a user's own model: no spec.toml says it takes 28x28 digits
            why = "recorded by RunRecorder (a model of your own)"
        elif not run.finished_ok:
            why = "running" if run.state == "running" else "unfinished or failed (no saved model)"
        elif run.dataset not in ("digits", "mnist"):
            why = f"trained on {run.dataset}"
        else:
            why = "not a digit model (28x28 in, 10 classes out)"
        reasons[why] = reasons.get(why, 0) + 1
    return ", ".join(f"{count} {why}" for why, count in sorted(reasons.items(), key=lambda item: -item[1]))


def _run_info(path: Path | None):
    """The run folder's `RunInfo` (None for a bare .keras file)."""
    from zoo.runs import read_run

    return read_run(path) if path is not None and path.is_dir() else None


def _image_pixmap(image28: np.ndarray, scale: int) -> QPixmap:
    """A [0, 1] grayscale array as a pixmap scaled up by `scale` with nearest neighbours."""
    gray = np.ascontiguousarray(np.clip(image28 * 255.0 + 0.5, 0, 255).astype(np.uint8))
    h, w = gray.shape
    image = QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image.scaled(w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class NoveltyLoader(QObject):
    """Gets a `NoveltyCheck` on a daemon thread (fitting one takes seconds); `ready(key, check)` comes in the GUI thread.

    A daemon thread rather than a QThread: closing the app while a check is being fitted just ends it.
    """

    ready = Signal(object, object)  # (dataset, centre), NoveltyCheck or None

    def start(self, dataset: str | None, centre: str) -> None:
        threading.Thread(target=self._run, args=(dataset, centre), daemon=True, name="novelty-check").start()

    def _run(self, dataset, centre) -> None:
        try:
            check = NoveltyCheck.for_dataset(dataset, centre)
        except Exception:  # damaged data, no memory: predictions just stay unchecked
            check = None
        try:
            self.ready.emit((dataset, centre), check)
        except RuntimeError:  # the view was closed meanwhile
            pass


class DrawView(QWidget):
    """The drawing-pad tab: a pad, a model chooser, and what the chosen model makes of the drawing."""

    needs_tensorflow = True
    title = "Draw"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor: Predictor | None = None
        self.prediction: Prediction | None = None
        self.run_path: Path | None = None
        self.user_choice: Path | None = None  # a run the user picked (combo or set_run): kept over the automatic one
        self.auto_reason = ""  # why the automatic choice, when it is one
        self.left_out = ""  # which runs of the folder the pad cannot use, and why ("" when none)
        self._tf_ready = False
        self._novelty_key = None  # the (dataset, centre) whose check is wanted, None when none
        self.novelty_loader = NoveltyLoader(self)
        self.novelty_loader.ready.connect(self._on_novelty_ready)

        # model chooser
        self.run_combo = QComboBox()
        self.run_combo.setToolTip(MODEL_TIP)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Look for new runs")
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Model:"))
        chooser.addWidget(self.run_combo, 1)
        chooser.addWidget(self.refresh_button)
        self.data_note = QLabel(wordWrap=True, visible=False)
        self.data_note.setStyleSheet("background:#fff4d6; color:#5c4400; border:1px solid #e6cf8a; padding:6px")

        # pad and its buttons
        self.pad = DrawPad()
        self.clear_button = QPushButton("Clear")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.pad, 1)
        left.addLayout(buttons)

        # the answer
        self.sentence = QLabel(WAITING)
        self._sure_font = QFont(self.sentence.font())
        self._sure_font.setPointSizeF(max(self._sure_font.pointSizeF(), 9.0) * 2.2)
        self._sure_font.setBold(True)
        self._unsure_font = QFont(self._sure_font)  # the longer "Not sure..." sentence: smaller, still bold
        self._unsure_font.setPointSizeF(self._sure_font.pointSizeF() / 2.2 * 1.1)
        self.sentence.setFont(self._sure_font)
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust = QLabel("")  # how unlike real digits the drawing is, and what the bars are
        self.trust.setWordWrap(True)
        self.trust.setToolTip(SOFTMAX_NOTE)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #666")

        self.bar_plot = pg.PlotWidget()
        self.bar_plot.setMinimumHeight(100)
        self.bar_plot.setToolTip(SOFTMAX_NOTE)
        plot = self.bar_plot.getPlotItem()
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setXRange(-0.6, 9.6, padding=0)
        plot.setYRange(0.0, 1.0, padding=0.02)
        plot.setLabel("left", "probability")
        plot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        self._plain_brush, self._top_brush = pg.mkBrush("#b8c7d9"), pg.mkBrush(PALETTE[0])
        self._unsure_brush = pg.mkBrush("#d4d4d4")  # every bar when the drawing is unlike the digits learnt
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=[self._plain_brush] * 10)
        plot.addItem(self.bars)

        self.seen = QLabel()
        self.seen.setFixedSize(28 * SEEN_SCALE, 28 * SEEN_SCALE)
        self.seen.setFrameShape(QFrame.Shape.Box)
        self.seen.setToolTip("The 28x28 image the model saw: the drawing cropped, scaled into 20x20 and centred by mass")
        seen_box = QVBoxLayout()
        seen_box.addWidget(QLabel("What the model sees (28x28)"))
        seen_box.addWidget(self.seen)
        seen_box.addStretch(1)

        self.layers_view = pg.GraphicsLayoutWidget()
        self.layers_view.setMinimumHeight(50)
        self.layers_view.setToolTip("Each hidden layer's activations for this drawing (brighter: larger)")
        self._layer_items: list[pg.ImageItem] = []
        self._layer_names: list[str] = []
        self._layer_bars: list[pg.ColorBarItem] = []  # each hidden layer's colour scale

        top_right = QHBoxLayout()
        top_right.addLayout(seen_box)
        top_right.addWidget(self.bar_plot, 1)
        right = QVBoxLayout()
        right.setSpacing(3)
        right.addWidget(self.sentence)
        right.addWidget(self.trust)
        right.addWidget(self.status)
        right.addLayout(top_right, 2)
        self.layers_label = QLabel("Hidden layers")
        right.addWidget(self.layers_label)
        right.addWidget(self.layers_view, 2)
        self.compact = False  # a short window: no hidden layers, a smaller 28x28 (resizeEvent)

        body = QGridLayout()
        body.addLayout(left, 0, 0)
        body.addLayout(right, 0, 1)
        body.setColumnStretch(0, 2)
        body.setColumnStretch(1, 3)
        outer = QVBoxLayout(self)
        outer.addLayout(chooser)
        outer.addWidget(self.data_note)
        outer.addLayout(body, 1)

        self.pad.changed.connect(self.update_prediction)
        self.clear_button.clicked.connect(self.pad.clear)
        self.undo_button.clicked.connect(self.pad.undo)
        self.refresh_button.clicked.connect(self.refresh)
        self.run_combo.activated.connect(self._on_run_chosen)
        undo = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.pad.undo)
        self._show_prediction(None)
        self.sentence.setText(WAITING)
        self.setEnabled(False)  # until TensorFlow is imported (on_tensorflow_ready)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        compact = self.height() < COMPACT_HEIGHT
        if compact != self.compact:  # the answer keeps its room; the hidden layers wait for a taller window
            self.compact = compact
            self.layers_label.setVisible(not compact)
            self.layers_view.setVisible(not compact)
            side = 28 * self._seen_scale()
            self.seen.setFixedSize(side, side)
            self._show_prediction(self.prediction)

    def _seen_scale(self) -> int:
        return SEEN_SCALE - 1 if self.compact else SEEN_SCALE

    # ------------------------------------------------------------------------------------- runs
    def on_tensorflow_ready(self) -> None:
        """Called by the main window once TensorFlow has been imported: enable the view, list the runs."""
        self._tf_ready = True
        self.setEnabled(True)
        self.refresh()

    def showEvent(self, event):
        super().showEvent(event)
        if self._tf_ready:
            self.refresh()  # runs trained meanwhile in the Train tab

    def forget_runs(self) -> None:
        """Another runs folder is followed: neither the chosen run nor the loaded one belongs to it any more."""
        self.user_choice = None
        self._set_predictor(None, None)

    def refresh(self) -> None:
        """Re-list the finished runs of digit models; keep the user's choice, else take the best (`best_digit_run`).

        Does nothing until TensorFlow is ready (loading a model needs it, and the view is disabled).
        """
        if not self._tf_ready:
            return
        every = list_runs()
        runs = [run for run in every if run.finished_ok and is_digit_run(run.path)]  # zoo.inference.digit_runs
        others = len(every) - len(runs)
        skipped = left_out(every, runs)
        self.left_out = (f"{others} other run{'s' if others > 1 else ''} can't read drawings: {skipped}." if runs else
                         f"{'The' if others > 1 else 'This'} folder's {others} run{'s' if others > 1 else ''} can't "
                         f"read drawings: {skipped}.") if others else ""
        chosen = self.user_choice
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for run in runs:
            self.run_combo.addItem(run_label(run), str(run.path))
        if chosen is not None and self.run_combo.findData(str(chosen)) < 0 and chosen.joinpath(MODEL).is_file():
            self.run_combo.addItem(chosen.name, str(chosen))  # chosen with set_run from elsewhere
        if self.run_path is not None and self.run_combo.findData(str(self.run_path)) < 0 \
                and self.run_path.joinpath(MODEL).is_file():
            self.run_combo.addItem(self.run_path.name, str(self.run_path))
        self.run_combo.blockSignals(False)
        if self.run_combo.count() == 0:
            self._set_predictor(None, None)
            self.status.setText(self.left_out)  # the heading says what to do: not twice; only why no run is offered
            self.update_prediction()
            return
        if chosen is not None and self.run_combo.findData(str(chosen)) >= 0:
            target, self.auto_reason = chosen, ""
        else:
            self.user_choice = None  # the chosen run is gone: back to the automatic choice
            best, self.auto_reason = best_digit_run(runs)
            if len(runs) == 1 and others:  # "the only run" while the folder holds more
                self.auto_reason = self.auto_reason.replace("the only run", "the only run the pad can use", 1)
            target = best.path if best is not None else Path(self.run_combo.itemData(0))
        self.run_combo.setCurrentIndex(self.run_combo.findData(str(target)))
        if target != self.run_path or self.predictor is None:
            self._load_run(target)
        else:
            self._show_source()

    def _on_run_chosen(self, index: int) -> None:
        path = self.run_combo.itemData(index)
        if path:
            self.user_choice = Path(path)
            if Path(path) != self.run_path or self.predictor is None:
                self._load_run(path)
            else:
                self.auto_reason = ""
                self._show_source()

    def set_run(self, path) -> None:
        """Predict with the model of this run folder (or `.keras` file) from now on: the user's choice, kept."""
        path = Path(path)
        self.user_choice = path
        self.auto_reason = ""
        self._load_run(path)

    def _load_run(self, path) -> None:
        path = Path(path)
        index = self.run_combo.findData(str(path))
        if index < 0:
            self.run_combo.addItem(path.name, str(path))
            index = self.run_combo.count() - 1
        self.run_combo.setCurrentIndex(index)
        if not self._tf_ready:  # loaded by on_tensorflow_ready
            self._set_predictor(None, path)
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            predictor = Predictor.from_run(path, novelty=False)  # the check comes from the NoveltyLoader
        except ZooError as e:
            self._set_predictor(None, path)
            self.status.setText(str(e))
        else:
            self._set_predictor(predictor, path)
            self._show_source()
        finally:
            QApplication.restoreOverrideCursor()
        self.update_prediction()

    def _show_source(self) -> None:
        predictor = self.predictor
        if predictor is None:
            return
        auto = bool(self.auto_reason) and self.user_choice is None
        self.status.setText((f"Chosen automatically: {self.auto_reason}" if auto else
                             f"Your choice ({predictor.engine} forward pass)")
                            + (f". {self.left_out}" if auto and self.left_out else ""))
        self.status.setToolTip(f"{predictor.source} ({predictor.engine} forward pass). {MODEL_TIP}")

    def _set_predictor(self, predictor: Predictor | None, path: Path | None) -> None:
        self.predictor, self.run_path = predictor, path
        info = _run_info(path)
        if predictor is not None and info is not None and info.dataset == "digits":
            self.data_note.setText(digits_note(info.model))
            self.data_note.show()
        else:
            self.data_note.hide()
        names = predictor.hidden_names if predictor is not None else []
        if names != self._layer_names:
            self.layers_view.clear()
            self._layer_items = []
            self._layer_bars = []
            for row, name in enumerate(names):
                self.layers_view.addLabel(name, row=row, col=0, angle=0)
                box = self.layers_view.addViewBox(row=row, col=1, lockAspect=True, enableMouse=False)
                box.invertY(True)
                item = pg.ImageItem(colorMap=pg.colormap.get("viridis"))
                box.addItem(item)
                self._layer_items.append(item)
                bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), interactive=False,
                                      width=8, pen=None)  # each layer's own scale: 0 to its largest activation
                bar.axis.setWidth(34)
                bar.setImageItem(item)
                self.layers_view.addItem(bar, row=row, col=2)
                self._layer_bars.append(bar)
            self._layer_names = list(names)
        self._attach_novelty_check()

    # ---------------------------------------------------------------------------------- novelty
    def _attach_novelty_check(self) -> None:
        """Give the predictor the check of its training set: at once when in memory, else from a background thread."""
        predictor = self.predictor
        if predictor is None or predictor.dataset is None or NoveltyCheck.reference_for(predictor.dataset) is None:
            self._novelty_key = None
            return
        key = (predictor.dataset, predictor.centre)
        self._novelty_key = key
        check = NoveltyCheck.cached(*key)
        if check is not None:
            predictor.novelty_check = check
        else:
            self.novelty_loader.start(*key)

    def _on_novelty_ready(self, key, check) -> None:
        predictor = self.predictor
        if predictor is not None and key == self._novelty_key and (predictor.dataset, predictor.centre) == key:
            predictor.novelty_check = check
            self._novelty_key = None if check is None else key
            self.update_prediction()

    def novelty_pending(self) -> bool:
        """Whether the drawing's comparison with real digits is still being prepared (for tests and the status)."""
        predictor = self.predictor
        return predictor is not None and self._novelty_key is not None and predictor.novelty_check is None

    # ------------------------------------------------------------------------------- prediction
    def update_prediction(self) -> None:
        """Predict the pad's drawing with the chosen model and show it (about a millisecond)."""
        if not self._tf_ready:
            return
        if self.predictor is None:
            self._show_prediction(None)
            self.sentence.setText(NO_MODEL if self.run_combo.count() == 0 else "no model loaded")
            return
        try:
            prediction = None if self.pad.is_empty() else self.predictor.predict_ink(self.pad.ink())
        except ZooError as e:  # a model answering NaN: say so where the answer would be, not a traceback
            self._show_prediction(None)
            self.sentence.setText("no answer from this model")
            self.status.setText(str(e))
            return
        self._show_prediction(prediction)

    def _trust_text(self, prediction: Prediction | None) -> str:
        predictor = self.predictor
        check = predictor.novelty_check if predictor is not None else None
        if prediction is None or prediction.novelty is None:
            if self.novelty_pending():
                return "Preparing to compare drawings with real digits (a few seconds, once)…"
            if predictor is not None and check is None:
                dataset = predictor.dataset
                why = ("MNIST is not on this computer (Train tab: download it)" if dataset in ("mnist", "digits") else
                       "what this model learnt from is unknown" if dataset is None else
                       f"it learnt from {dataset}, not digits")
                return f"{SOFTMAX_NOTE} Drawings are not compared with real digits: {why}."
            return SOFTMAX_NOTE if predictor is not None else ""
        against = f"vs {check.describe().split(' by ')[0]}" if check is not None else "vs real digits"
        scale = "on a scale where 99.5% of real digits score under 1"
        if prediction.unfamiliar:
            return (f"None of these: unlike real digits, {prediction.novelty:.1f} {scale} ({against}); "
                    "the bars are the softmax's guess anyway.")
        return f"Looks like a digit: {prediction.novelty:.2f} {scale} ({against})."

    def _show_prediction(self, prediction: Prediction | None) -> None:
        self.prediction = prediction
        self.trust.setText(self._trust_text(prediction))
        check = self.predictor.novelty_check if self.predictor is not None else None
        self.trust.setToolTip(SOFTMAX_NOTE + (f" Each drawing is compared with {check.describe()}: a drawing farther "
                                              "from them than 99.5% of real digits is flagged." if check else ""))
        if prediction is None:
            self.sentence.setFont(self._sure_font)
            self.sentence.setText(NO_INK)
            self.bars.setOpts(height=np.zeros(10), brushes=[self._plain_brush] * 10)
            self.seen.setPixmap(_image_pixmap(np.zeros((28, 28), np.float32), self._seen_scale()))
            for item in self._layer_items:
                item.clear()
            return
        self.sentence.setFont(self._unsure_font if prediction.unfamiliar else self._sure_font)
        self.sentence.setText(prediction.sentence)
        if prediction.unfamiliar:  # no digit stands out: the answer is "none of these"
            brushes = [self._unsure_brush] * 10
        else:
            brushes = [self._top_brush if d == prediction.label else self._plain_brush for d in range(10)]
        self.bars.setOpts(height=np.asarray(prediction.probabilities, np.float64), brushes=brushes)
        self.seen.setPixmap(_image_pixmap(prediction.image, self._seen_scale()))
        for row, (item, (name, values), shape) in enumerate(zip(self._layer_items, prediction.hidden,
                                                                 prediction.hidden_shapes)):
            picture = activation_image(values, shape)
            top = float(np.nanmax(picture)) if np.isfinite(picture).any() else 0.0
            levels = (0.0, top if top > 0 else 1.0)
            item.setImage(picture, levels=levels, autoLevels=False)
            if row < len(self._layer_bars):
                self._layer_bars[row].setLevels(levels)  # the scale, and the image's levels with it
