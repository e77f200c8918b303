"""Issue 13, the Train and Runs views as a person sees them: what is drawn, where, and what is cut off.

Each test asserts on the picture (tests/picture.py): after a view is drawn, every finite point of every
curve lies inside the visible range, a non-finite loss is marked where it happened, a plot with data is
not empty, and at 640x420 nothing is cut off by the window. Trainings are tiny and run in the real
training process, as the app runs them.
"""
import json
import threading
import warnings
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QLabel, QStackedWidget

import zoo

pytest.importorskip("pytestqt")

from gui.training_process import TrainingOptions  # noqa: E402
from gui.views.runs_view import RunsView  # noqa: E402
from gui.views.train_view import TrainView  # noqa: E402

from picture import assert_all_visible, curves, drawn_points, point_count, visible_range  # noqa: E402

TRAINING_TIMEOUT_MS = 120_000
SMALL = (640, 420)  # the user study's small window
SMALL_TAB = (640, 360)  # what a view gets of it under the main window's tab bar and status bar
no_runtime_warnings = pytest.mark.filterwarnings("error::RuntimeWarning")  # e.g. numpy's "All-NaN slice encountered"


# -- what is on screen -------------------------------------------------------------------------------
def draw(qtbot, widget) -> None:
    """Let Qt lay out and paint (RuntimeWarnings raised while painting are errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        qtbot.wait(60)
        widget.window().grab()


def bring_to_front(widget) -> None:
    """Show the tab (or stacked page) that holds `widget`, as a click on its tab would."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QStackedWidget):
            parent.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()


def cut_off(widget) -> list[str]:
    """Why `widget` is not wholly on screen ([] when it is): hidden, or cut by the edge of a widget around it."""
    if not widget.isVisible():
        return ["hidden"]
    top = widget.window()
    rect = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
    problems = []
    parent = widget.parentWidget()
    while parent is not None:
        outer = QRect(parent.mapTo(top, QPoint(0, 0)), parent.size()) if parent is not top else top.rect()
        if not outer.contains(rect):
            problems.append(f"{type(widget).__name__} {rect.getRect()} cut by {type(parent).__name__} {outer.getRect()}")
        parent = parent.parentWidget()
    return problems


def data_area(plot) -> QRect:
    """The plot's data area (its ViewBox) in the plot widget's pixels."""
    return plot.mapFromScene(plot.getViewBox().sceneBoundingRect()).boundingRect()


def readable(plot, width: int = 120, height: int = 60) -> None:
    """The plot is wholly on screen and its data area is big enough to read."""
    assert not cut_off(plot), cut_off(plot)
    area = data_area(plot)
    assert area.width() >= width and area.height() >= height, f"data area {area.getRect()} too small"
    inside = plot.rect().adjusted(-2, -2, 2, 2).contains(area)  # 2 px for rounding
    assert inside, f"data area {area.getRect()} outside the plot {plot.rect().getRect()}"


def marks(plot) -> list[tuple[str, float]]:
    """(text, x) of each label drawn in the data area (e.g. 'loss = NaN' on its line), asserting it is wholly visible."""
    box = plot.getViewBox()
    (x0, x1), _ = visible_range(plot)
    found = []
    for item in box.allChildren():
        if isinstance(item, pg.TextItem) and item.isVisible() and item.toPlainText().strip():
            line = item.parentItem()
            x = line.value() if isinstance(line, pg.InfiniteLine) else item.pos().x()
            assert x0 <= x <= x1, f"{item.toPlainText()!r} at x={x} outside the visible x range {(x0, x1)}"
            assert box.sceneBoundingRect().contains(item.sceneBoundingRect()), f"{item.toPlainText()!r} is cut off"
            found.append((item.toPlainText(), x))
    return found


def named(plot, name: str):
    [item] = [c for c in curves(plot) if c.name() == name]
    return item


def legend_gaps(plot, name: str) -> int:
    """How many background pixels break the line of a legend entry's sample, away from its marker (0: a solid line)."""
    legend = plot.getPlotItem().legend
    [sample] = [sample for sample, label in legend.items if label.text == name]
    image = plot.viewport().grab().toImage()
    width = sample.boundingRect().width()
    symbol = sample.item.opts.get("symbolSize") or 0
    gaps = 0
    for x in np.arange(1.5, width - 1.5):
        if abs(x - width / 2) <= symbol / 2 + 3:
            continue  # the marker
        ys = [plot.mapFromScene(sample.mapToScene(QPointF(x, y))) for y in (10.5, 11.0, 11.5)]
        colours = [image.pixelColor(p) for p in ys]
        gaps += all(c.red() > 200 and c.green() > 200 and c.blue() > 200 for c in colours)
    return gaps


def assert_legend_off_the_data(plot) -> None:
    legend = plot.getPlotItem().legend
    assert legend is not None and legend.items
    assert not legend.sceneBoundingRect().intersects(plot.getViewBox().sceneBoundingRect()), "the legend sits on the data"
    assert plot.sceneRect().contains(legend.sceneBoundingRect()) or plot.rect().contains(
        plot.mapFromScene(legend.sceneBoundingRect()).boundingRect()), "the legend is cut off"


# -- runs ---------------------------------------------------------------------------------------------
def _train_in_view(qtbot, view: TrainView, model: str, watch=None, **settings) -> dict:
    """Train with the form as a user would; `watch()` looks at the view every 40 ms while it trains."""
    view.select_model(model)
    for name, value in settings.items():
        widget = getattr(view, name)
        widget.setValue(value) if hasattr(widget, "setValue") else widget.setCurrentText(str(value))
    timer = QTimer(interval=40)
    if watch is not None:
        timer.timeout.connect(watch)
    with qtbot.waitSignal(view.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
        timer.start()
    timer.stop()
    return finished.args[0]


def write_run(folder: Path, history: dict, state: str = "completed", message: str = "", classes: int = 10,
              model: str = "mlp", step: int | None = None, started: str = "2026-01-01T10:00:00+00:00") -> Path:
    """A run folder written by hand (no training): status, history (None for NaN) and a confusion matrix."""
    folder.mkdir(parents=True)
    epochs = len(history["epoch"])
    status = {"state": state, "model": model, "dataset": "digits", "epochs": epochs, "epochs_completed": epochs,
              "started": started, "message": message, "test": {} if state == "diverged" else {"accuracy": 0.9}}
    if step is not None:
        status["step"] = step
    (folder / "status.json").write_text(json.dumps(status))
    (folder / "history.json").write_text(json.dumps(history))
    matrix = (np.eye(classes) * 40 + np.arange(classes * classes).reshape(classes, classes) % 3).astype(int)
    (folder / "confusion.json").write_text(json.dumps({"labels": list(range(classes)), "matrix": matrix.tolist()}))
    return folder


# -- 1. the live curves are the history: epochs as epochs, the epoch in progress on its own -----------
@no_runtime_warnings
def test_train_view_draws_the_epochs_of_history_json_and_the_runs_view_draws_the_same_points(qtbot, shown):
    view = shown(TrainView(), 1000, 650)
    seen = {"epochs": set(), "in_epoch": set(), "problems": []}

    def watch():  # what is on screen while it trains
        for plot in (view.loss_plot, view.accuracy_plot):
            for curve in curves(plot):
                xs, _ = drawn_points(curve)
                if curve.name() in ("train", "validation"):
                    seen["epochs"].add(len(xs))
                    if not np.array_equal(xs, np.round(xs)):
                        seen["problems"].append(f"{curve.name()} drawn between epochs at {list(xs)}")
                elif len(xs):  # the epoch in progress: a curve of its own, within one epoch
                    epochs = set(np.ceil(xs - 1e-9))
                    seen["in_epoch"] |= epochs
                    if len(epochs) > 1:
                        seen["problems"].append(f"{curve.name()} joins epochs {sorted(epochs)}: {list(xs)}")

    # TensorFlow: JAX runs these epochs in well under a second, between two looks at the screen
    end = _train_in_view(qtbot, view, "deep-sigmoid", watch=watch, epochs=3, batch_size=16, backend="tensorflow")
    assert end["state"] == "completed", end
    assert not seen["problems"], seen["problems"][:3]
    assert len(seen["in_epoch"]) >= 2 and seen["epochs"] >= {1, 2}  # it was watched in several epochs
    draw(qtbot, view)
    history = json.loads((Path(end["run"]) / "history.json").read_text())
    for plot, key in ((view.loss_plot, "loss"), (view.accuracy_plot, "accuracy")):
        assert_all_visible(plot)
        for name, values in (("train", history[key]), ("validation", history["val_" + key])):
            xs, ys = drawn_points(named(plot, name))
            assert list(xs) == [1.0, 2.0, 3.0], f"{name} {key} is drawn at {list(xs)}, not at the epochs"
            assert np.allclose(ys, values, rtol=1e-6), f"{name} {key} {list(ys)} is not history.json's {values}"
        for curve in curves(plot):
            if curve.name() not in ("train", "validation") and not getattr(curve, "stale", False):
                assert curve.opts["pen"].style() != named(plot, "train").opts["pen"].style()  # styled apart

    runs = shown(RunsView(), 1000, 650)
    runs.select(end["run"])
    draw(qtbot, runs)
    for mine, theirs in ((view.loss_plot, runs.loss_plot), (view.accuracy_plot, runs.accuracy_plot)):
        assert_all_visible(theirs)
        for name in ("train", "validation"):
            train_xs, train_ys = drawn_points(named(mine, name))
            runs_xs, runs_ys = drawn_points(named(theirs, name))
            assert np.array_equal(train_xs, runs_xs) and np.allclose(train_ys, runs_ys, rtol=1e-9), name


@no_runtime_warnings
def test_a_run_stopped_mid_epoch_shows_the_same_epochs_in_train_and_runs(qtbot, shown):
    view = shown(TrainView(), 1000, 650)
    view.select_model("deep-sigmoid")
    view.epochs.setValue(50)
    view.batch_size.setCurrentText("4")  # long epochs: Stop lands in the second one
    with qtbot.waitSignal(view.process.batch, timeout=TRAINING_TIMEOUT_MS, check_params_cb=lambda e: e["epoch"] == 2):
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    end = finished.args[0]
    assert end["state"] == "stopped", end
    draw(qtbot, view)
    history = json.loads((Path(end["run"]) / "history.json").read_text())
    runs = shown(RunsView(), 1000, 650)
    runs.select(end["run"])
    draw(qtbot, runs)
    for plot, theirs, key in ((view.loss_plot, runs.loss_plot, "loss"), (view.accuracy_plot, runs.accuracy_plot, "accuracy")):
        assert_all_visible(plot)
        xs, ys = drawn_points(named(plot, "train"))
        assert list(xs) == history["epoch"] and np.allclose(ys, history[key], rtol=1e-6), (list(xs), history["epoch"])
        runs_xs, runs_ys = drawn_points(named(theirs, "train"))
        assert np.array_equal(xs, runs_xs) and np.allclose(ys, runs_ys, rtol=1e-9)


# -- 2. a diverged run: finite values visible, the NaN marked, no warnings -----------------------------
@no_runtime_warnings
def test_a_diverged_run_keeps_its_finite_values_and_marks_the_nan_in_train_and_runs(qtbot, shown):
    view = shown(TrainView(), 1000, 650)
    end = _train_in_view(qtbot, view, "exploding", epochs=2)
    assert end["state"] == "diverged", end
    draw(qtbot, view)
    for plot in (view.loss_plot, view.accuracy_plot):
        assert_all_visible(plot)
    assert point_count(view.loss_plot) >= 1  # the finite losses before the NaN (here: the first step's)
    assert point_count(view.accuracy_plot) >= 2  # train and validation accuracy of the epoch
    [(text, x)] = marks(view.loss_plot)
    assert text == "loss = NaN" and 0 < x <= 1  # where it happened: in the first epoch, at its step
    assert view.banner.isVisible() and "nan" in view.banner.text()

    runs = shown(RunsView(), 1000, 650)
    runs.select(end["run"])
    draw(qtbot, runs)
    for plot in (runs.loss_plot, runs.accuracy_plot):
        assert_all_visible(plot)
        assert ("loss = NaN", 1.0) in marks(plot)  # history.json: epoch 1's loss is null
    assert point_count(runs.accuracy_plot) == 2


@no_runtime_warnings
def test_runs_view_draws_the_finite_epochs_of_a_history_with_nulls_and_marks_the_first_null(qtbot, shown):
    run = write_run(zoo.runs.runs_dir() / "nulls", {
        "epoch": [1, 2, 3, 4], "loss": [2.0, 1.5, 1.2, None], "val_loss": [2.2, 1.7, None, None],
        "accuracy": [0.3, 0.5, 0.6, 0.6], "val_accuracy": [0.25, 0.45, 0.5, 0.5]},
        state="diverged", message="Training diverged at step 90 (epoch 4): the loss became inf; try gradient clipping")
    view = shown(RunsView(), 1000, 650)
    view.select(run)
    draw(qtbot, view)
    assert_all_visible(view.loss_plot)
    assert list(drawn_points(named(view.loss_plot, "train"))[0]) == [1, 2, 3]
    assert list(drawn_points(named(view.loss_plot, "validation"))[0]) == [1, 2]
    assert marks(view.loss_plot) == [("validation loss = inf", 3.0)]  # the first non-finite value, as zoo named it
    assert point_count(view.accuracy_plot) == 8


# -- 3. layout: nothing cut off at 640x420, the legend off the data and readable -----------------------
def test_runs_view_at_640x420_shows_every_plot_whole_and_every_confusion_cell(qtbot, shown):
    run = write_run(zoo.runs.runs_dir() / "small", {"epoch": [1, 2], "loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
                                                    "accuracy": [0.6, 0.8], "val_accuracy": [0.55, 0.75]})
    view = shown(RunsView(), *SMALL)
    view.select(run)
    draw(qtbot, view)
    assert (view.width(), view.height()) == SMALL  # nothing forces the window bigger
    for plot in (view.loss_plot, view.accuracy_plot, view.confusion_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        readable(plot)
    (x0, x1), (y0, y1) = visible_range(view.confusion_plot)
    assert x0 <= -0.5 and x1 >= 9.5 and y0 <= -0.5 and y1 >= 9.5, "a row or column of the confusion matrix is cut off"
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        assert_all_visible(plot)
        assert point_count(plot) == 4
        assert_legend_off_the_data(plot)


def test_runs_view_legend_tells_train_from_validation(qtbot, shown):
    run = write_run(zoo.runs.runs_dir() / "legend", {"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.4],
                                                     "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.6, 0.8, 0.85],
                                                     "val_accuracy": [0.55, 0.75, 0.8]})
    view = shown(RunsView(), 1000, 650)
    view.select(run)
    draw(qtbot, view)
    train, validation = named(view.loss_plot, "train"), named(view.loss_plot, "validation")
    assert train.opts["symbol"] != validation.opts["symbol"]
    assert legend_gaps(view.loss_plot, "train") == 0
    assert legend_gaps(view.loss_plot, "validation") >= 2, "the validation sample shows no dashes"
    assert_legend_off_the_data(view.loss_plot)


def test_train_view_at_640x420_fits_its_texts_and_plots(qtbot, shown):
    view = shown(TrainView(), *SMALL_TAB)
    view.select_model("mlp")  # its dataset is the offline digits: the MNIST offer is shown (tests: no MNIST here)
    draw(qtbot, view)
    assert (view.width(), view.height()) == SMALL_TAB
    assert view.mnist_offer.isVisible()
    texts = [w for w in view.findChildren(QLabel) + view.findChildren(QAbstractButton) if w.isVisible() and w.text()]
    assert view.mnist_text in texts and view.message in texts
    for widget in texts:
        assert not cut_off(widget), cut_off(widget)
        if isinstance(widget, QLabel) and widget.wordWrap():
            assert widget.height() >= widget.heightForWidth(widget.width()), f"{widget.text()[:40]!r} is cut off"
        else:
            hint = widget.sizeHint()
            assert widget.width() >= hint.width() and widget.height() >= hint.height() - 2, f"{widget.text()!r} is cut off"
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        readable(plot)
        assert_legend_off_the_data(plot)


# -- 4. the form ---------------------------------------------------------------------------------------
def test_train_view_offers_only_the_datasets_and_optimizers_the_model_accepts(qtbot):
    view = TrainView()
    qtbot.addWidget(view)
    for model in ("mlp", "perceptron", "regression", "cnn"):
        view.select_model(model)
        spec = zoo.load_spec(model)
        offered = [view.dataset.itemText(i) for i in range(view.dataset.count())]
        assert spec.dataset in offered
        for dataset in zoo.list_datasets():
            try:
                spec.with_overrides(dataset=dataset)
                fits = True
            except zoo.errors.SpecError:
                fits = False
            assert (dataset in offered) == fits, (model, dataset, offered)
        assert view.optimizer.currentText() == spec.optimizer.name  # the spec's own, shown as it is
    view.select_model("mlp")
    assert "concert" not in [view.dataset.itemText(i) for i in range(view.dataset.count())]


def test_a_refused_start_says_why_where_it_said_starting(qtbot, shown):
    view = shown(TrainView(), 1000, 650)
    view.select_model("mlp")
    with qtbot.waitSignal(view.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        assert view.start(TrainingOptions("mlp", dataset="concert"))  # a setting zoo refuses
        assert "Starting mlp" in view.message.text()
    end = finished.args[0]
    assert "Starting" not in view.message.text() and "starting" not in view.progress_text.text()
    assert "does not fit" in view.message.text() and view.message.isVisible()  # where the user was looking
    assert view.banner.isVisible() and "does not fit" in view.banner.text()
    assert view.start_button.isEnabled()
    assert end["state"] == "failed" and end["run"] is None and end["model"] == "mlp"  # the window names the model


def test_resume_fills_the_form_with_the_runs_settings_and_draws_all_its_epochs(qtbot, shown, small_data):
    from zoo._backend import keras

    stop = threading.Event()

    class StopAfterTheFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            stop.set()

    run = zoo.train("deep-sigmoid", data=small_data("digits", 256), epochs=3, batch_size=16, learning_rate=0.003,
                    seed=7, overrides={"optimizer.name": "adam"}, out=zoo.runs.runs_dir() / "stopped", progress=False,
                    record_every=0, stop=stop, callbacks=[StopAfterTheFirstEpoch()]).path
    runs = shown(RunsView(), 1000, 650)
    train = shown(TrainView(), 1000, 650)
    runs.resume_requested.connect(train.resume)
    train.select_model("binary")  # a form showing another model, dataset and settings
    runs.select(run)
    assert runs.selected()[0].state == "stopped" and runs.resume_button.isEnabled()
    with qtbot.waitSignal(train.run_finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        qtbot.mouseClick(runs.resume_button, Qt.MouseButton.LeftButton)
        form = (train.model.currentText(), train.dataset.currentText(), train.epochs.value(),
                train.batch_size.currentText(), train.optimizer.currentText(), train.learning_rate.text(), train.seed.value())
        assert form == ("deep-sigmoid", "digits", 3, "16", "adam", "0.003", 7)
    assert finished.args[0]["state"] == "completed"
    options = train.options()  # what Start would now train: the same settings
    assert (options.model, options.dataset, options.epochs, options.batch_size, options.optimizer, options.learning_rate,
            options.seed) == ("deep-sigmoid", "digits", 3, "16", "adam", 0.003, 7)
    history = json.loads((run / "history.json").read_text())
    draw(qtbot, train)
    xs, ys = drawn_points(named(train.loss_plot, "train"))
    assert list(xs) == [1, 2, 3] and np.allclose(ys, history["loss"], rtol=1e-6)  # the epochs before the resume too
    runs.refresh()
    runs.select(run)
    draw(qtbot, runs)
    assert np.allclose(drawn_points(named(runs.loss_plot, "train"))[1], ys, rtol=1e-9)


# -- 5. the user walkthrough at 640x420 (issue 14): several runs, a diverged run, the Train view's texts -----
def legend_cut(plot) -> list[str]:
    """The legend entries whose text is not wholly inside the plot widget ('validatior'), or cut by their own cell."""
    legend = plot.getPlotItem().legend
    problems = []
    for sample, label in legend.items:
        text = label.item
        shown = plot.mapFromScene(text.sceneBoundingRect()).boundingRect()
        if not plot.rect().contains(shown):
            problems.append(f"{label.text!r} at {shown.getRect()} outside the plot {plot.rect().getRect()}")
        if label.geometry().width() + 0.5 < text.boundingRect().width():
            problems.append(f"{label.text!r} is {text.boundingRect().width()} px wide in a {label.geometry().width()} px cell")
    return problems


def legend_rows(plot) -> int:
    legend = plot.getPlotItem().legend
    return -(-len(legend.items) // legend.columnCount)


def six_runs() -> list[Path]:
    """Five finished runs and one diverged (its loss a NaN from epoch 2), written by hand: two of the same model."""
    runs = []
    for i, model in enumerate(("mlp", "cnn", "deep-relu", "deep-sigmoid", "mlp")):
        loss = [2.0 - 0.3 * e - 0.1 * i for e in range(3)]
        runs.append(write_run(zoo.runs.runs_dir() / f"run{i}", {
            "epoch": [1, 2, 3], "loss": loss, "val_loss": [v + 0.1 for v in loss],
            "accuracy": [0.5 + 0.1 * e + 0.02 * i for e in range(3)],
            "val_accuracy": [0.55 + 0.1 * e + 0.02 * i for e in range(3)]}, model=model,
            started=f"2026-01-01T10:0{i}:00+00:00"))
    runs.append(write_run(zoo.runs.runs_dir() / "diverged", {
        "epoch": [1, 2, 3], "loss": [1.9, None, None], "val_loss": [2.0, None, None],
        "accuracy": [0.4, 0.1, 0.1], "val_accuracy": [0.45, 0.1, 0.1]}, state="diverged", model="exploding",
        step=37, message="Training diverged at step 37 (epoch 2): the loss became nan; try gradient clipping"))
    return runs


def test_runs_view_compares_six_runs_readably_at_640x420(qtbot, shown):
    runs = six_runs()
    view = shown(RunsView(), *SMALL_TAB)
    view.select(*runs)
    draw(qtbot, view)
    assert len(view.selected()) == 6 and (view.width(), view.height()) == SMALL_TAB
    # the details: a few lines that scroll, each run in its colour, side by side
    box, label = view.details_box, view.details
    assert not cut_off(box), cut_off(box)
    assert box.height() <= 3 * label.fontMetrics().lineSpacing() + 8, f"the details take {box.height()} px"
    assert view.details_columns() == 2
    text = label.text().replace("&nbsp;", " ")
    for name in ("mlp (run0)", "mlp (run4)", "cnn", "deep-relu", "deep-sigmoid", "exploding"):  # as the table's folders
        assert f"■ {name}</b>" in text, name
    assert "diverged at step 37: last finite epoch loss 1.9 (epoch 1)" in text
    # the plots: legends of styles, one row, off the data, nothing cut; the data area big enough to read
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        readable(plot, height=60)
        assert_all_visible(plot)
        assert plot.legend_texts()[:2] == ["train", "validation"]
        assert legend_rows(plot) <= 2 and not legend_cut(plot), (plot.legend_texts(), legend_cut(plot))
        assert_legend_off_the_data(plot)
    assert legend_rows(view.loss_plot) == 1
    assert view.accuracy_plot.legend_texts() == ["train", "validation", "after NaN"]
    # every run's curves are drawn (named, though not in the legend), in their own colours
    assert {c.name() for c in curves(view.loss_plot)} >= {"cnn train", "mlp (run4) validation", "exploding train"}
    assert point_count(view.loss_plot) == 5 * 6 + 2


def test_a_diverged_run_says_where_and_its_accuracy_after_the_nan_is_grey(qtbot, shown):
    run = six_runs()[-1]
    never = write_run(zoo.runs.runs_dir() / "never", {"epoch": [1], "loss": [None], "val_loss": [None],
                                                      "accuracy": [0.1], "val_accuracy": [0.12]},
                      state="diverged", model="exploding", step=5, message="Training diverged at step 5 (epoch 1)")
    view = shown(RunsView(), *SMALL_TAB)
    row = [r.path for r in view.runs].index(run)
    assert view.table.item(row, 3).text() == "—"  # no test accuracy, and no empty cell that reads as one
    view.select(run)
    draw(qtbot, view)
    assert view.details.text().replace("&nbsp;", " ").splitlines()[0].count("diverged at step 37: last finite epoch loss 1.9 (epoch 1)") == 1
    plot = view.accuracy_plot
    bring_to_front(plot)
    draw(qtbot, view)
    assert marks(plot) == [("loss = NaN", 2.0)]
    xs, ys = drawn_points(named(plot, "train"))
    assert list(xs) == [1.0] and list(ys) == [0.4]  # in the run's colour: only what came before the NaN
    grey = [c for c in curves(plot) if getattr(c, "stale", False)]
    assert sorted(c.name() for c in grey) == ["train, after NaN", "validation, after NaN"]
    for curve in grey:
        assert list(drawn_points(curve)[0]) == [2.0, 3.0]
        assert curve.opts["pen"].color().name() == "#a0a0a0" and curve.opts["symbolBrush"].color().name() == "#ffffff"
    assert plot.legend_texts() == ["train", "validation", "after NaN"] and not legend_cut(plot)
    assert_all_visible(plot)

    view.select(never)
    draw(qtbot, view)
    assert "exploding</b> · digits · diverged at step 5: no finite epoch loss" in view.details.text().replace("&nbsp;", " ")
    assert view.loss_plot.legend_texts() == []  # no entry for a loss that has no point
    assert view.accuracy_plot.legend_texts() == ["after NaN"]
    assert point_count(view.accuracy_plot) == 2 and marks(view.accuracy_plot) == [("loss = NaN", 1.0)]
    note = view.loss_plot.no_finite_note  # the empty loss plot says why it is empty, inside what is shown
    (x0, x1), (y0, y1) = view.loss_plot.getViewBox().viewRange()
    assert note.isVisible() and " ".join(note.toPlainText().split()) == "no finite value to plot"
    assert x0 < note.pos().x() < x1 and y0 < note.pos().y() < y1
    assert not getattr(view.accuracy_plot, "no_finite_note", None) or not view.accuracy_plot.no_finite_note.isVisible()
    view.select(run)  # a run with finite losses afterwards: the note is gone
    draw(qtbot, view)
    assert not view.loss_plot.no_finite_note.isVisible()


def test_history_legends_are_never_cut_whatever_the_width(qtbot):
    from gui.history_plots import add_key, history_plot, plot_series

    plot = history_plot("Accuracy")
    qtbot.addWidget(plot)
    plot_series(plot, [1, 2, 3], [0.5, 0.7, float("nan")], "#1f77b4", name="train", stale_from=3)
    plot_series(plot, [1, 2, 3], [0.55, 0.75, 0.1], "#1f77b4", validation=True, name="validation", stale_from=3)
    plot.plot([1], [0.6], name="this epoch")
    add_key(plot, "after NaN", stale=True)
    plot.show()
    columns = set()
    for width in range(200, 720, 20):
        plot.resize(width, 260)
        qtbot.wait(10)
        plot.grab()
        assert not legend_cut(plot), (width, legend_cut(plot))
        assert plot.legend_texts() == ["train", "validation", "this epoch", "after NaN"]
        columns.add(plot.getPlotItem().legend.columnCount)
    assert min(columns) <= 2 and max(columns) == 4  # narrow: rows; wide: one row


def test_train_view_x_axis_reads_epoch_with_whole_ticks_and_no_zero_seconds_left(qtbot, shown):
    view = shown(TrainView(), *SMALL_TAB)
    view.epochs.setValue(2)
    axis = view.loss_plot.getAxis("bottom")
    for batch in (1, 2, 3):  # the first steps: x = 0.001..0.003, where an SI prefix would say "epoch (x0.001)"
        view._on_batch({"event": "batch", "epoch": 1, "batch": batch, "steps": 1000, "loss": 2.0 - batch / 100,
                        "accuracy": 0.1, "elapsed": 0.5 * batch})
        view._dirty = True
        view._draw()
        draw(qtbot, view)
        assert axis.label.toPlainText().strip() == "epoch", axis.label.toPlainText()
        assert "left" not in view.progress_text.text()  # the first steps of a second: no estimate yet
    bring_to_front(view.loss_plot)
    view._on_epoch({"event": "epoch", "epoch": 1, "logs": {"loss": 1.5, "val_loss": 1.6, "accuracy": 0.5,
                                                          "val_accuracy": 0.6}})
    view._on_batch({"event": "batch", "epoch": 2, "batch": 500, "steps": 1000, "loss": 1.0, "accuracy": 0.7,
                    "elapsed": 10.0})
    view._dirty = True
    view._draw()
    draw(qtbot, view)
    assert "3 s left" in view.progress_text.text(), view.progress_text.text()  # 10 s for 3/4 of the run
    (x0, x1), _ = visible_range(view.loss_plot)
    labelled = [v for _, values in axis.tickValues(x0, x1, axis.width())[:1] for v in values]
    assert labelled and all(float(v).is_integer() for v in labelled), labelled
    assert all("." not in t for t in axis.tickStrings(labelled, 1, 1))
    assert axis.label.toPlainText().strip() == "epoch"
    view._on_batch({"event": "batch", "epoch": 2, "batch": 1000, "steps": 1000, "loss": 0.9, "accuracy": 0.75,
                    "elapsed": 20.0})  # the last step: nothing is left to estimate
    text = view.progress_text.text()
    assert "0 s" not in text and "left" not in text and text.startswith("epoch 2/2 · step 1000/1000"), text


def test_a_new_training_clears_the_last_runs_curves_and_names_its_model(qtbot, shown, monkeypatch):
    view = shown(TrainView(), *SMALL_TAB)
    view.select_model("deep-relu")
    view.epochs.setValue(3)
    started = []
    monkeypatch.setattr(view.process, "start", started.append)  # no training process: the events are given by hand
    assert view.start()
    for epoch, loss in ((1, 1.0), (2, None)):
        view._on_epoch({"event": "epoch", "epoch": epoch, "logs": {"loss": loss, "val_loss": loss, "accuracy": 0.5,
                                                                  "val_accuracy": 0.6}})
    view._draw()
    view._on_finished({"state": "diverged", "model": "deep-relu", "message": "Training diverged: the loss became nan"})
    draw(qtbot, view)
    assert point_count(view.loss_plot) == 2 and marks(view.loss_plot) and "after NaN" in view.accuracy_plot.legend_texts()
    assert view.progress_text.text() == "deep-relu: diverged"

    view.select_model("mlp")
    view.epochs.setValue(7)
    assert view.start() and len(started) == 2
    draw(qtbot, view)
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        assert point_count(plot) == 0 and not marks(plot), "the last run's curves are still drawn"
        assert "after NaN" not in plot.legend_texts()
        (x0, x1), _ = visible_range(plot)
        assert x0 <= 1 and x1 >= 7 and x1 < 8, (x0, x1)  # the new run's epochs, not the last run's
    assert not view.banner.isVisible() and view.progress_text.text() == "mlp: starting…"
    view._on_epoch({"event": "epoch", "epoch": 1, "logs": {"loss": 0.5, "val_loss": 0.6, "accuracy": 0.9,
                                                          "val_accuracy": 0.92}})
    view._on_finished({"state": "completed", "model": "mlp", "test": {"accuracy": 0.93}, "run": "x"})
    view.run_dir = "x"
    view._on_finished({"state": "completed", "model": "mlp", "test": {"accuracy": 0.93}, "run": "x"})
    assert view.progress_text.text() == "mlp: completed · test accuracy 93.0%"


def test_train_view_says_train_curves_are_on_distorted_copies(qtbot, shown):
    view = shown(TrainView(), *SMALL_TAB)
    view.select_model("mlp")  # training.augment = 20 on the small offline digits
    assert zoo.load_spec("mlp").training.augment == 20
    draw(qtbot, view)
    box = view.augment_box
    assert box.isVisible() and not cut_off(box)
    assert "20 distorted copies" in view.augment_note.text() and "below validation is expected" in view.augment_note.text()
    assert view.augment_note.heightForWidth(box.viewport().width()) <= box.viewport().height() + 1, "the note scrolls"
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        readable(plot)
    view.select_model("deep-relu")  # no augmentation
    assert zoo.load_spec("deep-relu").training.augment == 0 and not box.isVisible()
    view.select_model("mlp")
    if view.dataset.findText("mnist") >= 0:  # MNIST is too big to be augmented: no note
        view.dataset.setCurrentText("mnist")
        assert not box.isVisible()


# -- the walkthrough's findings ------------------------------------------------------------------------
def texts_in(plot) -> list[str]:
    """Every text item drawn in the plot's data area (marks' labels and notes), visible ones only."""
    return [item.toPlainText() for item in plot.getViewBox().allChildren()
            if isinstance(item, pg.TextItem) and item.isVisible() and item.toPlainText().strip()]


def test_runs_view_says_an_augmented_runs_train_curves_are_below_validation(qtbot, shown):
    from gui.history_plots import augment_note

    history = {"epoch": [1, 2], "loss": [1.0, 0.8], "val_loss": [0.5, 0.4], "accuracy": [0.6, 0.7],
               "val_accuracy": [0.9, 0.95]}
    digits = write_run(zoo.runs.runs_dir() / "augmented", history)
    (digits / "spec.toml").write_text(zoo.load_spec("mlp").to_toml())  # training.augment = 20
    mnist = write_run(zoo.runs.runs_dir() / "on-mnist", history)
    (mnist / "spec.toml").write_text(zoo.load_spec("mlp").with_overrides(dataset="mnist").to_toml())
    status = json.loads((mnist / "status.json").read_text())
    (mnist / "status.json").write_text(json.dumps({**status, "dataset": "mnist"}))
    plain = write_run(zoo.runs.runs_dir() / "plain", history)
    (plain / "spec.toml").write_text(zoo.load_spec("deep-relu").to_toml())
    view = shown(RunsView(), 1000, 650)
    note = augment_note(20)
    view.select(digits)
    draw(qtbot, view)
    assert note in view.details.text().replace("&nbsp;", " ")
    for run in (mnist, plain):
        view.select(run)
        draw(qtbot, view)
        assert "distorted" not in view.details.text().replace("&nbsp;", " "), run.name
    train = shown(TrainView(), 1000, 650)
    train.select_model("mlp")
    assert train.augment_note.text() == note  # the one sentence, said alike in both views


def test_a_run_stopped_before_its_first_epoch_says_why_it_cannot_resume(qtbot, shown):
    full = write_run(zoo.runs.runs_dir() / "full", {"epoch": [1, 2, 3, 4], "loss": [1.0, 0.8, 0.7, 0.6],
                                                    "val_loss": [1.1, 0.9, 0.8, 0.7], "accuracy": [0.5, 0.6, 0.7, 0.8],
                                                    "val_accuracy": [0.5, 0.6, 0.7, 0.8]})
    early = write_run(zoo.runs.runs_dir() / "early", {"epoch": []}, state="stopped")
    status = json.loads((early / "status.json").read_text())
    (early / "status.json").write_text(json.dumps({**status, "epochs": 10, "epochs_completed": 0, "step": 1}))
    view = shown(RunsView(), 1000, 650)
    view.select(full)
    draw(qtbot, view)
    view.select(early)
    draw(qtbot, view)
    why = "no epoch finished: nothing to resume from; train it again"
    assert not view.resume_button.isEnabled()
    assert why in view.resume_button.toolTip() and why in view.details.text().replace("&nbsp;", " ")
    for plot in (view.loss_plot, view.accuracy_plot):
        (x0, x1), _ = visible_range(plot)
        assert x0 <= 1 and 10 <= x1 < 11, (x0, x1)  # its planned epochs, not the last run's 1-4


def started_view(shown, monkeypatch, epochs: int) -> TrainView:
    """A Train view that has started deep-relu for `epochs` epochs, with no process behind it: events come by hand."""
    view = shown(TrainView(), 1000, 650)
    view.select_model("deep-relu")
    view.epochs.setValue(epochs)
    monkeypatch.setattr(view.process, "start", lambda options: None)
    assert view.start()
    return view


def stopped_at_step_one(qtbot, shown, monkeypatch, elapsed=2.5):
    view = started_view(shown, monkeypatch, 10)
    view._on_batch({"event": "batch", "epoch": 1, "batch": 1, "steps": 100, "loss": 2.3, "accuracy": 0.1,
                    "elapsed": elapsed})
    view._draw()
    return view


def test_train_view_right_after_step_one_has_a_sane_picture(qtbot, shown, monkeypatch):
    view = stopped_at_step_one(qtbot, shown, monkeypatch)
    draw(qtbot, view)
    assert "left" not in view.progress_text.text(), view.progress_text.text()  # one step: no estimate
    assert view.progress_text.text().startswith("epoch 1/10 · step 1/100")
    (_, _), (y0, y1) = visible_range(view.accuracy_plot)
    assert y0 >= -0.05 and y1 <= 1.05 and y0 <= 0.1 <= y1, (y0, y1)  # an accuracy: within 0..1
    (_, _), (l0, l1) = visible_range(view.loss_plot)
    assert 1.5 < l0 < 2.3 < l1 < 3.2, (l0, l1)  # a loss: around its value
    # the in-progress point says which epoch it belongs to, as the header does
    assert "epoch 1 so far" in view.loss_plot.legend_texts()
    (x0, x1), _ = visible_range(view.loss_plot)
    assert x0 <= 0 and x1 >= 10, (x0, x1)  # the run's 10 epochs from its start
    # a later estimate is sane (a minute's run reads about a minute), and none once Stop is pressed
    view._on_batch({"event": "batch", "epoch": 1, "batch": 50, "steps": 100, "loss": 2.0, "accuracy": 0.3,
                    "elapsed": 3.0})
    assert "0:57 left" in view.progress_text.text() or "57 s left" in view.progress_text.text(), view.progress_text.text()
    view.stop_button.setEnabled(True)
    monkeypatch.setattr(type(view.process), "running", property(lambda self: True))
    monkeypatch.setattr(view.process, "stop", lambda: None)
    view.stop()
    assert "left" not in view.progress_text.text()
    view._on_batch({"event": "batch", "epoch": 1, "batch": 51, "steps": 100, "loss": 2.0, "accuracy": 0.3,
                    "elapsed": 3.1})
    assert "left" not in view.progress_text.text(), view.progress_text.text()


def test_the_in_progress_curve_never_spans_an_epoch_boundary(qtbot, shown, monkeypatch):
    view = stopped_at_step_one(qtbot, shown, monkeypatch)
    for batch in range(2, 101):
        view._on_batch({"event": "batch", "epoch": 1, "batch": batch, "steps": 100, "loss": 2.0, "accuracy": 0.3,
                        "elapsed": 5.0})
    view._on_epoch({"event": "epoch", "epoch": 1, "logs": {"loss": 1.9, "val_loss": 1.8, "accuracy": 0.35,
                                                          "val_accuracy": 0.4}})
    for batch in (1, 2, 3):
        view._on_batch({"event": "batch", "epoch": 2, "batch": batch, "steps": 100, "loss": 0.5, "accuracy": 0.8,
                        "elapsed": 6.0})
    view._draw()
    xs, _ = drawn_points(named(view.loss_plot, "epoch 2 so far"))
    assert len(xs) == 3 and all(1 < x < 2 for x in xs), list(xs)
    view._on_epoch({"event": "epoch", "epoch": 2, "logs": {"loss": 0.5, "val_loss": 0.6, "accuracy": 0.8,
                                                          "val_accuracy": 0.7}})
    view._on_finished({"state": "completed"})
    assert not any("so far" in text for text in view.loss_plot.legend_texts()), view.loss_plot.legend_texts()


def test_a_diverged_train_view_marks_the_nan_at_its_epoch_and_keeps_the_accuracy_range_whole(qtbot, shown, monkeypatch):
    view = started_view(shown, monkeypatch, 2)
    view._on_batch({"event": "batch", "epoch": 1, "batch": 1, "steps": 1875, "loss": 15.77, "accuracy": 0.1,
                    "elapsed": 0.5})
    view._on_batch({"event": "batch", "epoch": 1, "batch": 2, "steps": 1875, "loss": None, "accuracy": 0.09,
                    "non_finite": {"loss": "nan"}, "elapsed": 0.6})
    view._on_epoch({"event": "epoch", "epoch": 1, "logs": {"loss": None, "val_loss": None, "accuracy": 0.094,
                                                          "val_accuracy": 0.099}, "non_finite": {"loss": "nan"}})
    view._draw()
    draw(qtbot, view)
    [(text, x)] = marks(view.loss_plot)
    assert text == "loss = NaN" and x == 1.0  # the epoch it happened in, as the Runs view marks it
    (x0, x1), (y0, y1) = visible_range(view.loss_plot)
    px, py = drawn_points(named(view.loss_plot, "epoch 1 so far"))
    assert list(py) == [15.77]
    # the finite point is not under the line: at least 10 pixels apart on screen
    box = view.loss_plot.getViewBox()
    point = box.mapViewToScene(QPointF(px[0], py[0])).x()
    line = box.mapViewToScene(QPointF(1.0, py[0])).x()
    assert abs(point - line) >= 10, (point, line)
    (_, _), (a0, a1) = visible_range(view.accuracy_plot)
    assert a0 <= 0.0 and a1 >= 1.0, (a0, a1)  # the grey after-NaN values do not zoom in on 0.094..0.099


def test_runs_view_diverged_without_a_finite_value_keeps_its_note_off_the_nan_line(qtbot, shown):
    run = write_run(zoo.runs.runs_dir() / "exploding", {"epoch": [1], "loss": [None], "val_loss": [None],
                                                        "accuracy": [0.094], "val_accuracy": [0.099]},
                    state="diverged", model="exploding", message="Training diverged at step 2 (epoch 1): the loss became nan")
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "epochs": 2}))
    view = shown(RunsView(), *SMALL_TAB)
    view.select(run)
    bring_to_front(view.loss_plot)
    draw(qtbot, view)
    plot = view.loss_plot
    note = plot.no_finite_note
    assert note.isVisible() and "no finite value to plot" in [" ".join(t.split()) for t in texts_in(plot)]
    [line] = [item for item in plot.getPlotItem().items if hasattr(item, "marker_text")]
    assert line.value() == 1.0
    x = plot.getViewBox().mapViewToScene(QPointF(1.0, 0)).x()
    rect = note.sceneBoundingRect()
    assert not (rect.left() <= x <= rect.right()), (rect.getRect(), x)  # not struck through by the line
    assert plot.getViewBox().sceneBoundingRect().contains(rect), "the note is cut off"
    bring_to_front(view.accuracy_plot)
    draw(qtbot, view)
    (_, _), (a0, a1) = visible_range(view.accuracy_plot)
    assert a0 <= 0.0 and a1 >= 1.0, (a0, a1)


def test_compared_runs_mark_their_nan_in_their_own_colour_and_name(qtbot, shown):
    runs = six_runs()
    view = shown(RunsView(), 1000, 650)
    view.select(*runs)
    draw(qtbot, view)
    [line] = [item for item in view.loss_plot.getPlotItem().items if hasattr(item, "marker_text")]
    colour = [c for c in curves(view.loss_plot) if c.name() == "exploding train"][0].opts["pen"].color().name()
    assert line.pen.color().name() == colour
    assert line.marker_text.startswith("exploding")
    # each run's state is whole on its line: never "no finite epoch / loss"
    assert "last&nbsp;finite&nbsp;epoch&nbsp;loss" in view.details.text()


def test_confusion_matrix_shows_counts(qtbot, shown):
    run = write_run(zoo.runs.runs_dir() / "counts", {"epoch": [1], "loss": [1.0], "val_loss": [1.0],
                                                     "accuracy": [0.5], "val_accuracy": [0.5]})
    view = shown(RunsView(), 1000, 650)
    view.select(run)
    bring_to_front(view.confusion_plot)
    draw(qtbot, view)
    matrix = json.loads((run / "confusion.json").read_text())["matrix"]
    assert view.colour_bar is not None and view.colour_bar.isVisible()
    ticks = [text for text in (t for level in view.colour_bar.axis._tickLevels for _, t in level)]
    assert "0" in ticks and str(max(max(r) for r in matrix)) in ticks  # counts, not log values
    levels = sorted(v for level in view.colour_bar.axis._tickLevels for v, _ in level)
    top = levels[-1]
    assert all(top - v > 0.1 * top for v in levels[:-1]), levels  # no tick label on top of the highest one
    assert view.counts_shown()
    shown_counts = sorted(int(item.toPlainText()) for item in view.count_items)
    assert shown_counts == sorted(v for row in matrix for v in row)
    view.resize(*SMALL_TAB)
    bring_to_front(view.confusion_plot)
    draw(qtbot, view)
    readable(view.confusion_plot)
    if view.counts_shown():  # when they fit: readable, not under 6.5 pt
        assert view.count_items[0].textItem.font().pointSizeF() >= 6.5


def test_runs_list_refreshes_while_shown_and_says_when_there_is_none(qtbot, shown):
    view = shown(RunsView(), 1000, 650)
    assert view.table.rowCount() == 0 and view.details.text().replace("&nbsp;", " ") == "No runs yet: train one in the Train tab"
    first = write_run(zoo.runs.runs_dir() / "first", {"epoch": [1], "loss": [1.0], "val_loss": [1.0],
                                                      "accuracy": [0.5], "val_accuracy": [0.5]})
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=5000)  # no tab switch, no Refresh click
    view.select(first)
    write_run(zoo.runs.runs_dir() / "second", {"epoch": [1], "loss": [1.0], "val_loss": [1.0],
                                              "accuracy": [0.5], "val_accuracy": [0.5]})
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=5000)
    assert [r.path for r in view.selected()] == [first]  # the selection is kept


def test_empty_train_plots_before_the_first_run_say_what_they_are_for(qtbot, shown):
    view = shown(TrainView(), 1000, 650)
    view.epochs.setValue(6)
    draw(qtbot, view)
    for plot in (view.loss_plot, view.accuracy_plot):
        bring_to_front(plot)
        draw(qtbot, view)
        assert "Start a training to see its curves" in texts_in(plot)
        (x0, x1), _ = visible_range(plot)
        assert x0 <= 1 and 6 <= x1 < 7, (x0, x1)
        axis = plot.getPlotItem().getAxis("bottom")
        values = [v for _, vs in axis.tickValues(x0, x1, plot.width()) for v in vs]
        assert values and min(values) >= 1 and max(values) <= 6, values
