"""Issue 16 in the app: a run that another process records (a user's own fit with RunRecorder) appears in the
open Runs view and its curves grow, in the Runs and the Gradients views, as the files say; killed, it reads
as interrupted. The views are read as drawn (tests/picture.py), not only as given."""
import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo

pytest.importorskip("pytestqt")

from gui.views.gradients_view import GradientsView  # noqa: E402
from gui.views.runs_view import RunsView  # noqa: E402

from picture import curves, drawn_points  # noqa: E402

OWN_FIT = Path(__file__).with_name("own_fit.py")


def named(plot, name: str):
    [item] = [c for c in curves(plot) if c.name() == name]
    return item


def points(plot, name: str) -> int:
    try:
        return len(drawn_points(named(plot, name))[0])
    except ValueError:  # not drawn yet
        return 0


def test_a_run_recorded_by_another_process_appears_and_its_curves_grow(qtbot, shown):
    run = zoo.runs.runs_dir() / "live"
    run.parent.mkdir(parents=True)
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    process = subprocess.Popen([sys.executable, str(OWN_FIT), str(run), "40", "0.4"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        view = shown(RunsView(), 1000, 650)
        qtbot.waitUntil(lambda: any(r.path == run for r in view.runs), timeout=90_000)  # it appears, by itself
        view.select(run)
        qtbot.waitUntil(lambda: points(view.loss_plot, "train") >= 2, timeout=60_000)
        seen = points(view.loss_plot, "train")
        qtbot.waitUntil(lambda: points(view.loss_plot, "train") > seen, timeout=30_000)  # it grows, unasked
        xs, ys = drawn_points(named(view.loss_plot, "train"))
        history = json.loads((run / "history.json").read_text())
        assert list(xs) == history["epoch"][:len(xs)] and np.allclose(ys, history["loss"][:len(xs)])

        gradients = shown(GradientsView(), 1000, 650)
        gradients.show_runs([run])
        qtbot.waitUntil(lambda: points(gradients.plots["norms"][0][0], "hidden") > 0, timeout=30_000)
        seen = points(gradients.plots["norms"][0][0], "hidden")
        qtbot.waitUntil(lambda: points(gradients.plots["norms"][0][0], "hidden") > seen, timeout=30_000)
        xs, ys = drawn_points(named(gradients.plots["norms"][0][0], "hidden"))
        recorded = {int(r["step"]): float(r["grad_norm"]) for r in csv.DictReader(io.StringIO(
            (run / "gradients.csv").read_text())) if r["layer"] == "hidden"}
        assert np.allclose(ys, np.log10([recorded[int(x)] for x in xs]), rtol=1e-5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    qtbot.waitUntil(lambda: [r.state for r in view.runs if r.path == run] == ["interrupted"], timeout=30_000)



def test_empty_runs_plots_say_why_and_a_selected_run_stays_in_view(qtbot, shown):
    from gui.history_plots import empty_note

    parent = zoo.runs.runs_dir()
    view = shown(RunsView(), 900, 500)
    assert empty_note(view.loss_plot) == "No runs in this folder yet"
    for i in range(40):
        run = parent / f"run-{i:02d}"
        run.mkdir(parents=True)
        zoo.runs.write_status(run, zoo.runs.new_status(model="mlp", state="stopped", started=f"2026-01-01T00:{i:02d}:00"))
    view.refresh()
    assert empty_note(view.loss_plot) == empty_note(view.accuracy_plot) == "Select a run to see its curves"
    view.select(parent / "run-00")  # no history: the plots say so instead of staying blank
    assert empty_note(view.loss_plot) == "No epoch finished yet"
    row = next(i for i, r in enumerate(view.runs) if r.path.name == "run-00")
    assert row > 20  # the list is newest first: the run is far down

    def in_view() -> bool:
        rect = view.table.visualItemRect(view.table.item(row, 0))
        return rect.isValid() and view.table.viewport().rect().contains(rect)

    assert in_view()
    view.table.scrollToTop()
    for i in range(40, 45):  # newer runs arrive while it is selected
        run = parent / f"run-{i:02d}"
        run.mkdir()
        zoo.runs.write_status(run, zoo.runs.new_status(model="mlp", state="stopped", started=f"2026-01-01T00:{i:02d}:00"))
    view.refresh()
    row = next(i for i, r in enumerate(view.runs) if r.path.name == "run-00")
    assert [r.path.name for r in view.selected()] == ["run-00"] and in_view()
    view.select(parent / "run-03", parent / "run-04")
    drawn = [c for c in view.loss_plot.listDataItems() if c.getData()[0] is not None and len(c.getData()[0])]
    assert not drawn and empty_note(view.loss_plot) == "No epoch finished yet in these runs"


def test_a_run_killed_without_a_write_reads_interrupted_at_the_next_poll(qtbot, tmp_path):
    """A kill -9 leaves status.json as it was ("running"): the model notices its lock is gone, unasked."""
    from gui.runs_model import RunsModel

    run = zoo.runs.runs_dir() / "killed"
    run.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, zoo.runs as r; p = sys.argv[1]; lock = r.RunLock(p).acquire(); "
        "r.write_status(p, r.new_status(model='mine')); print('ready', flush=True); time.sleep(600)"), str(run)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        model = RunsModel(interval_ms=60_000)  # polled by hand below
        assert [r.state for r in model.runs] == ["running"]
        signatures = model._seen
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert zoo.runs.runs_dir().joinpath("killed", "status.json").exists() and model._seen == signatures
    with qtbot.waitSignal(model.changed, timeout=5000):
        model.poll()
    assert [r.state for r in model.runs] == ["interrupted"]
