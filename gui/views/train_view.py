"""Train: pick a model and its settings, Start and Stop, watch the progress and live loss and accuracy.

The curves show what history.json keeps (and the Runs view draws): one point per epoch, train solid
with filled circles, validation dashed with hollow squares. The epoch in progress is a separate, thin
dotted curve ("this epoch": Keras' running mean over the epoch's batches) that starts afresh
with each epoch, is never joined to the per-epoch line, and goes when its epoch's (finite) point arrives. A
loss that stops being a number is marked where it happened (a red line, "loss = NaN") instead of
leaving an empty plot, and the accuracies measured from there on are grey ("after NaN"): not the model's.

Start clears the last run's curves, marks and range (the new run's epochs are the x range until its first
point); the line above the progress bar names the model whose curves are shown. A spec that adds distorted
copies of the training images (training.augment) gets a note: the train curves are measured on them.
"""
from __future__ import annotations

import html
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

import zoo
from zoo.backends import installed_backends
from zoo.datasets import MNIST_DOWNLOAD_BYTES, mnist_download_path, mnist_is_local
from zoo.errors import SpecError, ZooError
from zoo.runs import CHECKPOINTS, read_history
from zoo.spec import OPTIMIZER_BACKENDS, OPTIMIZER_NAMES

from ..plotting import PALETTE, BoxLabel, TextBox
from ..training_process import TrainingOptions, TrainingProcess
from ..history_plots import (METRIC_TITLES, STALE_COLOUR, PlotPanel, add_key, frame, free_position, history_plot,
                             mark_non_finite, markers, metric_key, plot_series, set_series, stale_name,
                             stale_style, augmented_copies, augment_note, augment_why)  # noqa: F401 (augmented_copies: tests)

REDRAW_MS = 100  # curves redraw at most ten times a second, however fast the events come
CURRENT_COLOUR = "#7f7f7f"
EVENT_KEYS = {"event", "epoch", "batch", "steps", "step", "elapsed", "non_finite"}
LEFT_WIDTH = 330
EMPTY_HINT = "Start a training to see its curves"
SPAN_EPOCHS = 50  # a run of up to this many epochs shows them all from its start (its x axis does not grow)
ESTIMATE_AFTER_S = 3.0  # no time-left estimate before this many seconds and steps: the first steps are slow
ESTIMATE_AFTER_STEPS = 5


class TrainView(QWidget):
    """The Train tab. Training runs in a `TrainingProcess`; this widget only shows what it reports."""

    needs_tensorflow = False  # training happens in its own process
    run_started = Signal(str)
    run_finished = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.process = TrainingProcess(self)
        self.process.begun.connect(self._on_begun)
        self.process.batch.connect(self._on_batch)
        self.process.epoch.connect(self._on_epoch)
        self.process.finished.connect(self._on_finished)

        self.model = QComboBox()
        self.model.addItems(zoo.list_models())
        self.model.currentTextChanged.connect(self._load_defaults)
        self.dataset = QComboBox()
        self.dataset.setToolTip("The datasets this model's input and output fit")
        self.dataset.currentTextChanged.connect(lambda _: self._show_augment_note())
        self.epochs = QSpinBox(minimum=1, maximum=10_000)
        self.batch_size = QComboBox(editable=True)
        self.batch_size.addItems(["1", "16", "32", "64", "128", "256", "full"])
        self.optimizer = QComboBox()
        self.learning_rate = QLineEdit()
        self.learning_rate.setMinimumWidth(50)
        self.clip = QCheckBox("Clip the gradient norm at")
        self.clipnorm = QDoubleSpinBox(minimum=0.01, maximum=1000.0, value=1.0, singleStep=0.5)
        self.clip.toggled.connect(self.clipnorm.setEnabled)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setMinimumWidth(64)  # room for 6 digits; larger seeds scroll within it
        self.backend = QComboBox()
        self.backend.addItems(installed_backends())  # fastest first: the default
        self.backend.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.backend.setMinimumContentsLength(6)  # "tensorflow" elides a little in a narrow window; the list shows it whole
        self.backend.setToolTip("The Keras backend that trains the model; the run folder is the same for all")
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.clicked.connect(self.stop)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Dataset", self.dataset)
        form.addRow("Epochs", _pair(self.epochs, "Batch size", self.batch_size))
        form.addRow("Optimizer", _pair(self.optimizer, "Learning rate", self.learning_rate))
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip)
        clip_row.addWidget(self.clipnorm)
        form.addRow(clip_row)
        form.addRow("Seed", _pair(self.seed, "Backend", self.backend))
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)
        self.message = QLabel(wordWrap=True)
        form.addRow(self.message)
        self.mnist_text = QLabel(MNIST_OFFER, wordWrap=True)
        self.mnist_text.setToolTip(MNIST_WHY)
        self.mnist_button = QPushButton("Download MNIST (11 MB)")
        self.mnist_button.setToolTip(MNIST_WHY)
        self.mnist_button.clicked.connect(self.fetch_mnist)
        self.mnist_offer = QWidget()
        offer = QVBoxLayout(self.mnist_offer)
        offer.setContentsMargins(0, 2, 0, 0)
        offer.addWidget(self.mnist_text)
        offer.addWidget(self.mnist_button)
        self.mnist_offer.setVisible(not mnist_is_local())
        form.addRow(self.mnist_offer)
        self._fetch: QProcess | None = None
        self.fetch_arguments = ["-m", "zoo", "fetch", "mnist"]  # of sys.executable
        self._fetch_timer = QTimer(self, interval=250)
        self._fetch_timer.timeout.connect(self._show_fetch_progress)

        self.banner = QLabel(wordWrap=True, visible=False)
        self.banner.setStyleSheet("background:#fde2e1; color:#8a1c1c; border:1px solid #e0a0a0; padding:4px; font-weight:bold")
        self.progress = QProgressBar(format="")
        self.progress_text = QLabel("Not running", wordWrap=True)
        self.augment_note = BoxLabel()
        self.augment_note.setStyleSheet("color:#555")
        self.augment_box = TextBox(self.augment_note, 3)
        self.augment_box.hide()
        self._spec = None
        self._model_name = ""
        self.loss_plot = history_plot("Loss")
        self.accuracy_plot = history_plot("Accuracy")
        self.accuracy_plot.setXLink(self.loss_plot)
        colour = PALETTE[0]  # as the Runs view draws one run
        self.curves = {
            "loss": plot_series(self.loss_plot, [], [], colour, name="train"),
            "val_loss": plot_series(self.loss_plot, [], [], colour, validation=True, name="validation"),
            "accuracy": plot_series(self.accuracy_plot, [], [], colour, name="train"),
            "val_accuracy": plot_series(self.accuracy_plot, [], [], colour, validation=True, name="validation"),
        }
        self.stale_curves = {}  # accuracies measured after the loss stopped being a number: grey, apart
        for role, validation in (("accuracy", False), ("val_accuracy", True)):
            curve = self.accuracy_plot.plot(**stale_style(validation))
            curve.opts["name"] = f"{'validation' if validation else 'train'}, after NaN"
            curve.stale = True
            self.stale_curves[role] = curve
        current_pen = pg.mkPen(CURRENT_COLOUR, width=1.5, style=Qt.PenStyle.DotLine)
        self.current_curves = {  # the epoch in progress: its own curve, never joined to the per-epoch one
            "loss": self.loss_plot.plot(name="this epoch", pen=current_pen, symbol=None, symbolPen=None,
                                        symbolBrush=CURRENT_COLOUR, symbolSize=5),
            "accuracy": self.accuracy_plot.plot(name="this epoch", pen=current_pen, symbol=None, symbolPen=None,
                                                symbolBrush=CURRENT_COLOUR, symbolSize=5),
        }
        self.plots = PlotPanel([("Loss", self.loss_plot), ("Accuracy", self.accuracy_plot)], min_width=260)
        self.accuracy_plot.unit_interval = True  # accuracy: 0..1, never a negative axis
        self.empty_notes = {}
        for plot in (self.loss_plot, self.accuracy_plot):  # before the first run: what the plots are for
            note = pg.TextItem(EMPTY_HINT, color="#666", anchor=(0.5, 0.5))
            plot.addItem(note, ignoreBounds=True)
            self.empty_notes[plot] = note
        self._started = False
        self._stopping = False

        right = QVBoxLayout()
        right.addWidget(self.banner)
        right.addWidget(self.progress_text)
        right.addWidget(self.progress)
        right.addWidget(self.augment_box)
        right.addWidget(self.plots, 1)
        left = QWidget()
        left.setLayout(form)
        self.left = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.left.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.left.setWidget(left)
        self.left.setMaximumWidth(LEFT_WIDTH)
        self.left.setMinimumWidth(240)
        self.left.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QHBoxLayout(self)
        layout.addWidget(self.left)
        layout.addLayout(right, 1)

        self._redraw = QTimer(self, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw)
        self._dirty = False
        self.run_dir: str | None = None
        self.last_end: dict | None = None
        self.shown_metric = "accuracy"
        self._data = {key: ([], []) for key in self.curves}
        self._current = {key: ([], []) for key in self.current_curves}
        self._current_epoch: int | None = None
        self._non_finite: tuple[float, str] | None = None
        self._planned_epochs = 1
        self._first_epoch, self._start_done = None, None  # where this run's steps began (the time-left estimate)
        self.epochs.valueChanged.connect(self._show_planned_epochs)
        self._load_defaults(self.model.currentText())
        self._show_planned_epochs()

    def _show_planned_epochs(self, *_) -> None:
        """Before the first run: epochs 1..the planned number on x, and a hint in each plot."""
        if self._started:
            return
        self._planned_epochs = self.epochs.value()
        self._dirty = True
        self._draw()

    # -- the form ------------------------------------------------------------------------------
    def select_model(self, name: str) -> None:
        self.model.setCurrentText(name)

    def _load_defaults(self, name: str) -> None:
        try:
            spec = zoo.load_spec(name)
        except ZooError as e:
            self.message.setText(f"<span style='color:#b00020'>{e}</span>")
            self.start_button.setEnabled(False)
            return
        self.message.setText(spec.description)
        self._spec = spec
        if self._fetch is None:
            self.mnist_text.setText(MNIST_OFFER)  # a failed download's reason belongs to that attempt only
        self.start_button.setEnabled(not self.process.running)
        self._fill_form(spec, self._default_dataset(spec.dataset))

    def _fill_form(self, spec, dataset: str) -> None:
        """Show `spec`'s settings, offering only the datasets and optimizers it accepts."""
        self._offer(self.dataset, self.compatible(spec, "dataset", zoo.list_datasets()), dataset)
        self._offer(self.optimizer, self.compatible(spec, "optimizer.name", OPTIMIZER_NAMES), spec.optimizer.name)
        self.mnist_offer.setVisible(not mnist_is_local() and self.dataset.findText("mnist") >= 0)
        self.epochs.setValue(spec.training.epochs)
        self.batch_size.setCurrentText(str(spec.training.batch_size))
        self.learning_rate.setText(f"{spec.optimizer.learning_rate:g}")
        clip = spec.optimizer.global_clipnorm
        self.clip.setChecked(clip is not None)
        self.clipnorm.setEnabled(clip is not None and not self.process.running)
        if clip is not None:
            self.clipnorm.setValue(clip)
        self.seed.setValue(spec.training.seed)
        bound = OPTIMIZER_BACKENDS.get(spec.optimizer.name)  # the perceptron rule is a TensorFlow step
        preferred = spec.training.backend if spec.training.backend in installed_backends() else None
        self.backend.setCurrentText(bound or preferred or installed_backends()[0])
        self.backend.setEnabled(bound is None and not self.process.running)
        self._spec = spec
        self._show_augment_note()

    def _show_augment_note(self) -> None:
        """Say that the train curves are measured on distorted copies, when the spec adds them to this dataset."""
        copies = augmented_copies(self._spec, self.dataset.currentText()) if self._spec is not None else 0
        if copies:
            self.augment_note.setText(augment_note(copies))
            self.augment_note.setToolTip(augment_why(copies))
        self.augment_box.setVisible(bool(copies))

    @staticmethod
    def compatible(spec, key: str, values) -> list[str]:
        """The values of `key` the spec's own consistency check accepts (what `zoo train` would refuse is not offered)."""
        accepted = []
        for value in values:
            try:
                spec.with_overrides(**{key: value})
            except SpecError:
                continue
            accepted.append(value)
        return accepted

    @staticmethod
    def _offer(combo: QComboBox, values: list[str], current: str) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(values if current in values else [*values, current])
        combo.setCurrentText(current)
        combo.blockSignals(False)

    @staticmethod
    def _default_dataset(dataset: str) -> str:
        """The real MNIST instead of its small offline stand-in whenever MNIST is on this computer."""
        return "mnist" if dataset == "digits" and mnist_is_local() else dataset

    # -- fetching MNIST --------------------------------------------------------------------------
    def fetch_mnist(self) -> None:
        """Download MNIST in a `zoo fetch mnist` process (Keras' own mnist.load_data), showing its progress."""
        if self._fetch is not None:
            return
        self._fetch = QProcess(self)
        self._fetch.setProgram(sys.executable)
        self._fetch.setArguments(self.fetch_arguments)
        self._fetch.finished.connect(self._on_fetched)
        self._fetch.errorOccurred.connect(lambda error: error == QProcess.ProcessError.FailedToStart and self._on_fetched(-1))
        self.mnist_button.setEnabled(False)
        self.mnist_text.setText("Downloading MNIST…")
        self._fetch.start()
        self._fetch_timer.start()

    def _show_fetch_progress(self) -> None:
        path = mnist_download_path()
        done = path.stat().st_size if path.is_file() else 0
        self.mnist_text.setText(f"Downloading MNIST… {done / 1e6:.1f} of {MNIST_DOWNLOAD_BYTES / 1e6:.1f} MB")

    def _on_fetched(self, exit_code: int, *_) -> None:
        if self._fetch is None:
            return
        process, self._fetch = self._fetch, None
        self._fetch_timer.stop()
        errors = bytes(process.readAllStandardError()).decode(errors="replace").splitlines()
        process.deleteLater()
        self.mnist_button.setEnabled(True)
        if exit_code == 0 and mnist_is_local():
            self.mnist_offer.hide()
            if self.dataset.currentText() == "digits":
                self.dataset.setCurrentText("mnist")
            self.message.setText("MNIST is here: models that read digits now train on it by default.")
            return
        reason = next((line.removeprefix("zoo: error: ") for line in reversed(errors) if line.strip()),
                      "the download process failed")
        self.mnist_text.setText(f"<span style='color:#b00020'>{reason}</span>")

    def options(self) -> TrainingOptions:
        """The form as training options; raises ValueError with a one-line message for a bad field."""
        batch = self.batch_size.currentText().strip()
        if batch != "full" and not (batch.isdigit() and int(batch) > 0):
            raise ValueError(f"Batch size must be a positive integer or 'full', not {batch!r}")
        try:
            lr = float(self.learning_rate.text())
        except ValueError:
            lr = -1.0
        if not lr > 0:
            raise ValueError(f"Learning rate must be a positive number, not {self.learning_rate.text()!r}")
        optimizer = self.optimizer.currentText()
        return TrainingOptions(self.model.currentText(), dataset=self.dataset.currentText(), epochs=self.epochs.value(),
                               batch_size=batch, optimizer=None if optimizer == "perceptron" else optimizer,
                               learning_rate=lr, clipnorm=self.clipnorm.value() if self.clip.isChecked() else None,
                               seed=self.seed.value(), backend=self.backend.currentText())

    # -- running -------------------------------------------------------------------------------
    def start(self, options: TrainingOptions | None = None) -> bool:
        if self.process.running:
            return False
        try:
            options = options or self.options()
        except ValueError as e:
            self.message.setText(f"<span style='color:#b00020'>{e}</span>")
            return False
        self._model_name = options.model
        self._planned_epochs = self.epochs.value()  # the x range until the first point
        self._started = True
        self._stopping = False
        for note in self.empty_notes.values():
            note.hide()
        self._reset()
        self.message.setText(f"Starting {options.model} (importing TensorFlow in the training process)…")
        self.progress_text.setText(f"{options.model}: starting…")
        self._set_running(True)
        self.process.start(options)
        self._redraw.start()
        return True

    def resume(self, run_dir: str) -> bool:
        """Continue an interrupted or stopped run (its own settings, from its last epoch checkpoint).

        The form shows the run's settings (from its spec.toml) and the curves start with its epochs so far.
        """
        from zoo.runs import read_run, spec_path
        from zoo.spec import read_spec_file

        if self.process.running:
            return False
        info = read_run(run_dir)
        try:
            spec = read_spec_file(spec_path(run_dir))
        except ZooError:
            spec = None
        self.model.blockSignals(True)
        if self.model.findText(info.model) < 0:
            self.model.addItem(info.model)
        self.model.setCurrentText(info.model)
        self.model.blockSignals(False)
        if spec is not None:
            self.message.setText(spec.description)
            self._fill_form(spec, spec.dataset)
        elif info.epochs:
            self.epochs.setValue(info.epochs)
        if not self.start(TrainingOptions(info.model, resume=str(run_dir))):
            return False
        self._preload(Path(run_dir))
        return True

    def _preload(self, run_dir: Path) -> None:
        """A resumed run's epochs up to its checkpoint (what `zoo resume` keeps of history.json)."""
        from zoo.callbacks import read_checkpoint
        try:
            kept = int(read_checkpoint(run_dir / CHECKPOINTS)["epoch"])
            history = read_history(run_dir)
        except (ZooError, KeyError, TypeError, ValueError):
            return
        if not isinstance(history, dict):
            return
        self.shown_metric = metric_key(history)
        epochs = list(history.get("epoch", []))[:kept]
        for role, key in self._roles().items():
            values = history.get(key)
            if isinstance(values, list) and len(values) >= len(epochs):
                self._data[role] = ([float(e) for e in epochs], list(values[:len(epochs)]))
        self._dirty = True
        self._draw()

    def stop(self) -> None:
        if self.process.running:
            self.stop_button.setEnabled(False)
            self._stopping = True  # no time left to estimate: it ends after this step
            text = self.progress_text.text().split(" · ")
            self.progress_text.setText(" · ".join(t for t in text if not t.endswith(" left")) + " · stopping after this step…")
            self.process.stop()

    def _backend_free(self) -> bool:
        spec = getattr(self, "_spec", None)
        return spec is None or spec.optimizer.name not in OPTIMIZER_BACKENDS

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.model, self.dataset, self.epochs, self.batch_size, self.optimizer, self.learning_rate,
                       self.clip, self.clipnorm, self.seed, self.backend):
            widget.setEnabled(not running and (widget is not self.clipnorm or self.clip.isChecked())
                              and (widget is not self.backend or self._backend_free()))

    def _reset(self) -> None:
        """A new run: the last run's curves, marks, grey values and x range go (the plots are this run's only)."""
        self.banner.hide()
        self.run_dir, self.last_end = None, None
        self.shown_metric = "accuracy"
        self._data = {key: ([], []) for key in self.curves}
        self._current = {key: ([], []) for key in self.current_curves}
        self._current_epoch, self._non_finite = None, None
        self._first_epoch, self._start_done = None, None
        self._name_current("this epoch")
        for plot in (self.loss_plot, self.accuracy_plot):
            for line in markers(plot):
                plot.removeItem(line)
            for text in plot.legend_texts():
                if text.startswith("after "):
                    plot.history_legend.removeItem(text)
            plot.fit_legend()
        self._dirty = True
        self._draw()
        self.progress.setValue(0)

    def _name_current(self, name: str) -> None:
        """The in-progress curve's legend entry: which epoch it is ("epoch 1 so far", as the header counts)."""
        for curve, plot in zip(self.current_curves.values(), (self.loss_plot, self.accuracy_plot)):
            curve.opts["name"] = name
            for sample, label in plot.history_legend.items:
                if sample.item is curve and label.text != name:
                    label.setText(name)
            plot.fit_legend()

    def _roles(self) -> dict[str, str]:
        """Curve -> the key it plots (the metric plot shows accuracy, or the model's first metric)."""
        return {"loss": "loss", "val_loss": "val_loss", "accuracy": self.shown_metric, "val_accuracy": "val_" + self.shown_metric}

    def _see_metric(self, keys) -> None:
        if self._current_epoch is None and not self._data["loss"][0]:  # the first numbers of this run decide
            self.shown_metric = metric_key([k for k in keys if k not in EVENT_KEYS])

    def _on_begun(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.message.setText(f"Run folder: {run_dir}")
        self.run_started.emit(run_dir)

    def _on_batch(self, event: dict) -> None:
        epoch, batch, steps = event["epoch"], event["batch"], max(event["steps"] or 1, 1)
        self._see_metric(event)
        x = epoch - 1 + batch / steps
        if self._start_done is None:  # a resumed run starts part-way: the estimate counts from here
            self._start_done = (epoch - 1 + (batch - 1) / steps) / max(self.epochs.value(), 1)
        if epoch != self._current_epoch:  # a new epoch: its running mean starts afresh
            self._current_epoch = epoch
            self._current = {key: ([], []) for key in self.current_curves}
            self._name_current(f"epoch {epoch} so far")
        for role, key in (("loss", "loss"), ("accuracy", self.shown_metric)):
            if key in event:
                xs, ys = self._current[role]
                xs.append(x)
                ys.append(event[key])
        non_finite = event.get("non_finite") or {}
        if "loss" in non_finite or ("loss" in event and event["loss"] is None):  # at its epoch, as the Runs view marks it
            self._mark(float(epoch), f"loss = {_word(non_finite.get('loss'))}")
        self._dirty = True
        epochs = self.epochs.value()
        done = (epoch - 1 + batch / steps) / epochs
        self.progress.setMaximum(1000)
        self.progress.setValue(int(1000 * done))
        elapsed = event.get("elapsed") or 0.0
        steps_done = (epoch - 1 - self._first_epoch) * steps + batch if self._first_epoch is not None else batch
        if self._first_epoch is None:
            self._first_epoch = epoch - 1
            steps_done = batch
        left = estimate_left(elapsed, done, steps_done, self._start_done) if not self._stopping else float("nan")
        loss = _word(non_finite["loss"]) if "loss" in non_finite else _fmt(event.get("loss"))
        remaining = _remaining(left)
        self.progress_text.setText(f"epoch {epoch}/{epochs} · step {batch}/{steps} · loss {loss}"
                                   + (f" · {remaining}" if remaining else "")
                                   + (" · stopping after this step…" if self._stopping else ""))

    def _on_epoch(self, event: dict) -> None:
        logs = event.get("logs") or {}
        self._see_metric(logs)
        x = float(event["epoch"])
        for role, key in self._roles().items():
            if key in logs:
                xs, ys = self._data[role]
                xs.append(x)
                ys.append(logs[key])
        for role, key in (("loss", "loss"), ("accuracy", self.shown_metric)):
            if logs.get(key) is not None:  # the epoch's point takes over; a NaN epoch keeps its finite steps in view
                self._current[role] = ([], [])
        non_finite = event.get("non_finite") or {}
        for key, what in (("loss", "loss"), ("val_loss", "validation loss")):
            if key in logs and logs[key] is None:
                self._mark(x, f"{what} = {_word(non_finite.get(key))}")
        self._dirty = True

    def _mark(self, x: float, text: str) -> None:
        """Remember where the loss first stopped being a number (one mark per run: training stops there)."""
        if self._non_finite is None:
            self._non_finite = (x, text)
            self._dirty = True

    def _draw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        stale_from = self._non_finite[0] if self._non_finite is not None else None
        for key, curve in self.curves.items():
            xs, ys = self._data.get(key, ([], []))
            if key not in self.stale_curves:
                set_series(curve, xs, ys)
                continue
            cut = len(xs) if stale_from is None else sum(x < stale_from for x in xs)  # epochs are in order
            set_series(curve, xs[:cut], ys[:cut])
            set_series(self.stale_curves[key], xs[cut:], ys[cut:])
            if len(self.stale_curves[key].getData()[0] if self.stale_curves[key].getData()[0] is not None else []):
                add_key(self.accuracy_plot, stale_name(self._non_finite[1].rsplit("= ", 1)[-1]), STALE_COLOUR, stale=True)
                self.accuracy_plot.fit_legend()
        for (key, curve), plot in zip(self.current_curves.items(), (self.loss_plot, self.accuracy_plot)):
            xs, ys = self._current.get(key, ([], []))
            set_series(curve, xs, ys)
            symbol = "o" if 0 < len(xs) < 3 else None  # a lone point still shows
            if curve.opts["symbol"] != symbol:
                curve.setSymbol(symbol)
                for sample, _ in plot.history_legend.items:
                    sample.update()  # the legend shows the curve as it is now
        title = METRIC_TITLES.get(self.shown_metric, self.shown_metric)
        self.accuracy_plot.unit_interval = self.shown_metric == "accuracy"
        self.accuracy_plot.setLabel("left", title)
        self.plots.set_title(self.accuracy_plot, title)
        if self._non_finite is not None and not markers(self.loss_plot):
            for plot in (self.loss_plot, self.accuracy_plot):
                mark_non_finite(plot, *self._non_finite, position=free_position(plot, self._non_finite[0]))
        planned = max(getattr(self, "_planned_epochs", 1), 1)
        running = self.process.running or self._current_epoch is not None
        frame((self.loss_plot, self.accuracy_plot), empty_x=(1, planned),
              span_x=(0 if self._current_epoch == 1 else 1, planned) if running and planned <= SPAN_EPOCHS else None)
        for plot, note in self.empty_notes.items():
            if note.isVisible():
                (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
                note.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _on_finished(self, end: dict) -> None:
        self._redraw.stop()
        if not any(xs for xs, _ in self._current.values()):  # no part-epoch left to show: no "epoch N so far"
            self._name_current("this epoch")
        self._dirty = True
        self._draw()
        self._set_running(False)
        self.last_end = end
        state, message = end.get("state"), end.get("message") or ""
        test = end.get("test") or {}
        summary = {"completed": "Completed", "stopped": "Stopped; the model was saved", "diverged": "Diverged",
                   "failed": "Failed", "crashed": "Crashed"}.get(state, state) or "Ended"
        if "accuracy" in test:
            summary += f" · test accuracy {test['accuracy']:.1%}"
        if self.run_dir is None:  # it never began: say why where "Starting…" was
            short = {"stopped": "stopped before the first step", "failed": "could not start",
                     "crashed": "the training process crashed"}.get(state, summary.lower())
            self.progress_text.setText(f"{end.get('model') or self.model.currentText()}: {short}")
            text = f"Could not start: {message}" if state == "failed" and message else message or summary
            colour = "#b00020" if state in ("failed", "crashed", "diverged") else "#222"
            self.message.setText(f"<span style='color:{colour}'>{html.escape(text)}</span>")
        else:  # the model whose curves these are
            model = self._model_name or end.get("model") or self.model.currentText()
            self.progress_text.setText(f"{model}: {summary[:1].lower()}{summary[1:]}")
        if state == "completed":
            self.progress.setValue(self.progress.maximum())
        if state in ("diverged", "failed", "crashed"):
            self.banner.setText(message or summary)
            self.banner.show()
        elif message and self.run_dir is not None:
            self.message.setText(message)
        self.run_finished.emit(end)


def _pair(first: QWidget, label: str, second: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(first, 1)
    row.addWidget(QLabel(label))
    row.addWidget(second, 1)
    return row


MNIST_OFFER = ("The real MNIST (70,000 handwritten digits) is not here; models trained on the offline 8x8 digits "
               "read drawings less well.")
MNIST_WHY = ("Without it, digit models train on the offline 8x8 digits (1,797 scans), and read drawings much less "
             "well. Once downloaded, they train on MNIST by default.")


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def _word(value) -> str:
    """A non-finite value as the plots label it: NaN, inf or -inf (None: JSON's null, which was one of them)."""
    return {"nan": "NaN", "inf": "inf", "-inf": "-inf"}.get(str(value).lower(), "NaN")


def estimate_left(elapsed: float, done: float, steps_done: int, start_done: float | None = None) -> float:
    """Seconds left, from the share `done` of the run reached in `elapsed` seconds (a resumed run from
    `start_done`); NaN (no estimate) before ESTIMATE_AFTER_S seconds and ESTIMATE_AFTER_STEPS steps: the first
    step includes building the model and one step of a minute's run would read "266:15 left"."""
    start_done = start_done or 0.0
    progress = done - start_done
    if elapsed < ESTIMATE_AFTER_S or steps_done < ESTIMATE_AFTER_STEPS or progress <= 0:
        return float("nan")
    return elapsed * (1 - done) / progress


def _remaining(seconds: float) -> str:
    """'12 s left', or nothing: when it cannot be estimated yet, or when no whole second is left ("0 s left")."""
    if seconds != seconds or seconds == float("inf") or round(seconds) <= 0:
        return ""
    return f"{_duration(seconds)} left"


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
