"""The main window: a tab per view, TensorFlow loaded in the background, views wired through signals."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget

from zoo.errors import ZooError
from zoo.export import export
from zoo.model_files import FORMATS
from zoo.runs import runs_dir

from .backend import Job, TensorFlowLoader
from .runs_model import RunsModel
from .views.activations_view import ActivationsView
from .views.draw_view import DrawView
from .views.gradients_view import GradientsView
from .views.perceptron_view import PerceptronView
from .views.runs_view import RunsView
from .views.train_view import TrainView
from .views.zoo_view import ZooView


class MainWindow(QMainWindow):
    export_finished = Signal(object)  # an ExportResult, or None when it failed

    def __init__(self):
        super().__init__()
        self.setWindowTitle("zoo: see what the textbook says")
        screen = self.screen().availableGeometry()  # never taller or wider than the screen: the status bar shows
        self.resize(min(1280, screen.width()), min(820, screen.height() - 40))
        self.tabs = QTabWidget(documentMode=True)
        self.zoo = ZooView()
        self.train = TrainView()
        self.runs_model = RunsModel(self)  # the runs folder, observed by the views
        self.runs = RunsView(model=self.runs_model)
        self.gradients = GradientsView()
        self.draw = DrawView()
        self.perceptron = PerceptronView()
        self.activations = ActivationsView()
        self.views = [(self.zoo, "Zoo"), (self.train, "Train"), (self.runs, "Runs"), (self.gradients, "Gradients"),
                      (self.draw, "Draw"), (self.perceptron, "Perceptron"), (self.activations, "Activations")]
        for view, title in self.views:
            self.tabs.addTab(view, title)
            if view.needs_tensorflow:
                view.setEnabled(False)
                self.tabs.setTabToolTip(self.tabs.indexOf(view), "Available once TensorFlow has loaded")
        self.setCentralWidget(self.tabs)
        file_menu = self.menuBar().addMenu("&File")
        self.open_runs_action = file_menu.addAction("Open runs folder…", self.choose_runs_folder)
        self.open_runs_action.setToolTip("Show and follow the runs in another folder (your own fits' RunRecorder folders)")
        file_menu.addAction("Quit", self.close)
        self._show_runs_folder()

        self.tf_label = QLabel("Loading TensorFlow…")
        self.tf_busy = QProgressBar(maximum=0, maximumWidth=120)  # an indeterminate "busy" bar
        self.statusBar().addPermanentWidget(self.tf_label)
        self.statusBar().addPermanentWidget(self.tf_busy)
        self.tensorflow_ready = False

        self.zoo.train_requested.connect(self._train_model)
        self.train.run_started.connect(lambda path: self.gradients.show_runs([path]))
        self.train.run_finished.connect(self._run_finished)
        self.gradients.run_finished.connect(self._run_finished)
        self.runs.show_gradients.connect(self._open_gradients)
        self.runs.export_requested.connect(self.export_run)
        self.runs.resume_requested.connect(self._resume)
        self.runs_model.changed.connect(self.draw.refresh)  # a new or finished digit run is offered at once
        self.runs_model.folder_changed.connect(self._show_runs_folder)

    # -- TensorFlow in the background ------------------------------------------------------------
    def load_tensorflow(self) -> None:
        self._loader = TensorFlowLoader(self)
        self._loader.ready.connect(self._on_tensorflow_ready)
        self._loader.failed.connect(self._on_tensorflow_failed)
        self._loader.start()

    def _on_tensorflow_ready(self, versions: str) -> None:
        self.tensorflow_ready = True
        self.tf_label.setText(versions)
        self.tf_busy.hide()
        for view, _ in self.views:
            if view.needs_tensorflow:
                view.setEnabled(True)
                self.tabs.setTabToolTip(self.tabs.indexOf(view), "")
            if hasattr(view, "on_tensorflow_ready"):
                view.on_tensorflow_ready()

    def _on_tensorflow_failed(self, message: str) -> None:
        self.tf_busy.hide()
        self.tf_label.setText("TensorFlow unavailable")
        self.statusBar().showMessage(message)

    # -- the runs folder --------------------------------------------------------------------------
    def choose_runs_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of runs", str(runs_dir()))
        if folder:
            self.open_runs_folder(folder)

    def open_runs_folder(self, folder: str) -> None:
        """Show (and follow) the runs in `folder`; the app's own trainings go there too."""
        previous = runs_dir()
        try:
            self.runs_model.open_folder(folder)
        except ZooError as e:
            self.statusBar().showMessage(str(e), 30_000)
            return
        if runs_dir() != previous:
            self.draw.forget_runs()
            self.draw.refresh()
        self.gradients.show_runs([])
        self.statusBar().showMessage(f"Runs from {runs_dir()}", 10_000)

    def _show_runs_folder(self, *_) -> None:
        self.setWindowTitle(f"zoo: see what the textbook says  ({runs_dir()})")

    # -- wiring ----------------------------------------------------------------------------------
    def _train_model(self, name: str) -> None:
        self.train.select_model(name)
        self.tabs.setCurrentWidget(self.train)

    def _resume(self, run_dir: str) -> None:
        if self.train.resume(run_dir):
            self.tabs.setCurrentWidget(self.train)

    def _open_gradients(self, paths: list) -> None:
        self.gradients.show_runs(paths)
        self.tabs.setCurrentWidget(self.gradients)

    def _run_finished(self, end: dict) -> None:
        self.runs_model.reload()  # the views observing it follow
        if end.get("run") and self.gradients.runs and not self.gradients.busy:
            self.gradients.refresh()
        state, message = end.get("state"), end.get("message") or ""
        name = Path(end["run"]).name if end.get("run") else end.get("model") or "training"
        text = f"{name}: {state}" + (f": {message}" if state in ("failed", "crashed", "diverged") and message else "")
        self.statusBar().showMessage(text, 10_000 if state in ("completed", "stopped") else 30_000)

    def export_run(self, run_dir: str, path: str | None = None, format: str | None = None) -> None:
        """Export a run's model (`zoo.export`: written, reloaded by its runtime and compared) off the GUI thread."""
        if path is None:
            filters = {"Keras model (*.keras)": "keras", "TensorFlow SavedModel (folder)": "saved_model",
                       "TFLite / LiteRT (*.tflite)": "tflite", "ONNX (*.onnx)": "onnx"}
            path, chosen = QFileDialog.getSaveFileName(self, "Export the model", str(Path.home() / Path(run_dir).name),
                                                       ";;".join(filters))
            if not path:
                return
            format = filters.get(chosen, "keras")
            suffix = FORMATS[format]
            if suffix and not path.endswith(suffix):
                path += suffix
        format = format or "keras"
        self.statusBar().showMessage(f"Exporting {Path(path).name} and checking it in its runtime…")
        self._export_job = Job(lambda: export(run_dir, format, path, overwrite=True), self)
        self._export_job.done.connect(self._exported)
        self._export_job.failed.connect(lambda message: self._export_failed(message))
        self._export_job.start()

    def _exported(self, result) -> None:
        self.last_export = result
        self.statusBar().showMessage(f"Exported {result.path} ({result.format}); reloaded with {result.runtime}, "
                                     f"largest output difference {result.max_abs_diff:.2g}", 30_000)
        self.export_finished.emit(result)

    def _export_failed(self, message: str) -> None:
        self.last_export = None
        self.statusBar().showMessage(f"Export failed: {message}", 30_000)
        self.export_finished.emit(None)
        if not getattr(self, "quiet", False):
            QMessageBox.warning(self, "Export failed", message)

    def closeEvent(self, event) -> None:
        if getattr(self, "_export_job", None) is not None:
            self._export_job.wait(60_000)
        for process in (self.train.process, self.gradients.process):
            if process.running:
                process.stop()
                process.wait(20_000)
        if getattr(self, "_loader", None) is not None:
            self._loader.wait(30_000)
        super().closeEvent(event)
