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

