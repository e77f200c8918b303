"""Train: pick a model and its settings, Start and Stop, watch the progress and live loss and accuracy."""
from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

import zoo
from zoo.datasets import MNIST_DOWNLOAD_BYTES, mnist_download_path, mnist_is_local
from zoo.errors import ZooError

from ..plotting import PALETTE
from ..training_process import TrainingOptions, TrainingProcess

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
REDRAW_MS = 100  # curves redraw at most ten times a second, however fast the events come


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
        self.dataset.addItems(zoo.list_datasets())
        self.epochs = QSpinBox(minimum=1, maximum=10_000)
        self.batch_size = QComboBox(editable=True)
        self.batch_size.addItems(["1", "16", "32", "64", "128", "256", "full"])
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.learning_rate = QLineEdit()
        self.clip = QCheckBox("Clip the gradient norm at")
        self.clipnorm = QDoubleSpinBox(minimum=0.01, maximum=1000.0, value=1.0, singleStep=0.5)
        self.clip.toggled.connect(self.clipnorm.setEnabled)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.clicked.connect(self.stop)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Dataset", self.dataset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip)
        clip_row.addWidget(self.clipnorm)
        form.addRow(clip_row)
        form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)
        self.message = QLabel(wordWrap=True)
        form.addRow(self.message)
        self.mnist_text = QLabel(MNIST_OFFER, wordWrap=True)
        self.mnist_button = QPushButton("Download MNIST (11 MB)")
        self.mnist_button.clicked.connect(self.fetch_mnist)
        self.mnist_offer = QWidget()
        offer = QVBoxLayout(self.mnist_offer)
        offer.setContentsMargins(0, 6, 0, 0)
        offer.addWidget(self.mnist_text)
        offer.addWidget(self.mnist_button)
        self.mnist_offer.setVisible(not mnist_is_local())
        form.addRow(self.mnist_offer)
        self._fetch: QProcess | None = None
        self.fetch_arguments = ["-m", "zoo", "fetch", "mnist"]  # of sys.executable
        self._fetch_timer = QTimer(self, interval=250)
        self._fetch_timer.timeout.connect(self._show_fetch_progress)

        self.banner = QLabel(wordWrap=True, visible=False)
        self.banner.setStyleSheet("background:#fde2e1; color:#8a1c1c; border:1px solid #e0a0a0; padding:8px; font-weight:bold")
        self.progress = QProgressBar(format="")
        self.progress_text = QLabel("Not running")
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.accuracy_plot = pg.PlotWidget(title="Accuracy")
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", "epoch")
            plot.addLegend(offset=(-10, 10))
            plot.showGrid(x=True, y=True, alpha=0.2)
        self.accuracy_plot.setXLink(self.loss_plot)
        pen = lambda i, style=Qt.PenStyle.SolidLine: pg.mkPen(PALETTE[i], width=2, style=style)  # noqa: E731
        self.curves = {
            "loss": self.loss_plot.plot(name="train", pen=pen(0)),
            "val_loss": self.loss_plot.plot(name="validation", pen=pen(1), symbol="o", symbolSize=6, symbolBrush=PALETTE[1]),
            "accuracy": self.accuracy_plot.plot(name="train", pen=pen(0)),
            "val_accuracy": self.accuracy_plot.plot(name="validation", pen=pen(1), symbol="o", symbolSize=6,
                                                    symbolBrush=PALETTE[1]),
        }

        right = QVBoxLayout()
        right.addWidget(self.banner)
        right.addWidget(self.progress_text)
        right.addWidget(self.progress)
        plots = QGridLayout()
        plots.addWidget(self.loss_plot, 0, 0)
        plots.addWidget(self.accuracy_plot, 0, 1)
        right.addLayout(plots, 1)
        layout = QHBoxLayout(self)
        left = QWidget()
        left.setLayout(form)
        left.setMaximumWidth(330)
        layout.addWidget(left)
        layout.addLayout(right, 1)

        self._redraw = QTimer(self, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw)
        self._dirty = False
        self.run_dir: str | None = None
        self.last_end: dict | None = None
        self._load_defaults(self.model.currentText())

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
        if self._fetch is None:
            self.mnist_text.setText(MNIST_OFFER)  # a failed download's reason belongs to that attempt only
        self.start_button.setEnabled(not self.process.running)
        self.dataset.setCurrentText(self._default_dataset(spec.dataset))
        self.epochs.setValue(spec.training.epochs)
        self.batch_size.setCurrentText(str(spec.training.batch_size))
        self.optimizer.setCurrentText(spec.optimizer.name)
        self.learning_rate.setText(f"{spec.optimizer.learning_rate:g}")
        clip = spec.optimizer.global_clipnorm
        self.clip.setChecked(clip is not None)
        self.clipnorm.setEnabled(clip is not None)
        if clip is not None:
            self.clipnorm.setValue(clip)
        self.seed.setValue(spec.training.seed)

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
        return TrainingOptions(self.model.currentText(), dataset=self.dataset.currentText(), epochs=self.epochs.value(),
                               batch_size=batch, optimizer=self.optimizer.currentText(), learning_rate=lr,
                               clipnorm=self.clipnorm.value() if self.clip.isChecked() else None, seed=self.seed.value())

    # -- running -------------------------------------------------------------------------------
    def start(self, options: TrainingOptions | None = None) -> bool:
        if self.process.running:
            return False
        try:
            options = options or self.options()
        except ValueError as e:
            self.message.setText(f"<span style='color:#b00020'>{e}</span>")
            return False
        self._reset()
        self.message.setText(f"Starting {options.model} (importing TensorFlow in the training process)…")
        self.progress_text.setText(f"{options.model}: starting…")
        self._set_running(True)
        self.process.start(options)
        self._redraw.start()
        return True

    def resume(self, run_dir: str) -> bool:
        """Continue an interrupted or stopped run (its own settings, from its last epoch checkpoint)."""
        from zoo.runs import read_run

        info = read_run(run_dir)
        if info.epochs:
            self.epochs.setValue(info.epochs)
        self.model.blockSignals(True)
        self.model.setCurrentText(info.model)
        self.model.blockSignals(False)
        return self.start(TrainingOptions(info.model, resume=str(run_dir)))

    def stop(self) -> None:
        if self.process.running:
            self.stop_button.setEnabled(False)
            self.progress_text.setText(self.progress_text.text() + " · stopping after this step…")
            self.process.stop()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.model, self.dataset, self.epochs, self.batch_size, self.optimizer, self.learning_rate,
                       self.clip, self.clipnorm, self.seed):
            widget.setEnabled(not running and (widget is not self.clipnorm or self.clip.isChecked()))

    def _reset(self) -> None:
        self.banner.hide()
        self.run_dir, self.last_end = None, None
        self._data = {key: ([], []) for key in self.curves}
        self._dirty = True
        self._draw()
        self.progress.setValue(0)

    def _on_begun(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.message.setText(f"Run folder: {run_dir}")
        self.run_started.emit(run_dir)

    def _on_batch(self, event: dict) -> None:
        epoch, batch, steps = event["epoch"], event["batch"], max(event["steps"] or 1, 1)
        x = epoch - 1 + batch / steps
        for key in ("loss", "accuracy"):
            if event.get(key) is not None:
                xs, ys = self._data[key]
                xs.append(x)
                ys.append(event[key])
        self._dirty = True
        epochs = self.epochs.value()
        done = (epoch - 1 + batch / steps) / epochs
        self.progress.setMaximum(1000)
        self.progress.setValue(int(1000 * done))
        elapsed = event.get("elapsed") or 0.0
        left = elapsed * (1 - done) / done if done > 0 else float("nan")
        self.progress_text.setText(f"epoch {epoch}/{epochs} · step {batch}/{steps} · "
                                   f"loss {_fmt(event.get('loss'))} · {_duration(left)} left")

    def _on_epoch(self, event: dict) -> None:
        for key in ("val_loss", "val_accuracy"):
            value = event["logs"].get(key)
            if value is not None:
                xs, ys = self._data[key]
                xs.append(float(event["epoch"]))
                ys.append(value)
        self._dirty = True

    def _draw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for key, curve in self.curves.items():
            curve.setData(*self._data.get(key, ([], [])))

    def _on_finished(self, end: dict) -> None:
        self._redraw.stop()
        self._draw()
        self._set_running(False)
        self.last_end = end
        state, message = end.get("state"), end.get("message") or ""
        test = end.get("test") or {}
        summary = {"completed": "Completed", "stopped": "Stopped; the model was saved", "diverged": "Diverged",
                   "failed": "Failed", "crashed": "Crashed"}.get(state, state)
        if "accuracy" in test:
            summary += f" · test accuracy {test['accuracy']:.1%}"
        self.progress_text.setText(summary)
        if state == "completed":
            self.progress.setValue(self.progress.maximum())
        if state in ("diverged", "failed", "crashed"):
            self.banner.setText(message or summary)
            self.banner.show()
        elif message:
            self.message.setText(message)
        self.run_finished.emit(end)


MNIST_OFFER = ("MNIST, the real 70,000 handwritten digits, is not on this computer. A model trained on the "
               "offline 8x8 digits reads drawings much less well.")


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
