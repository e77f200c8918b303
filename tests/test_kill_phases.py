"""kill -9 at every phase of a training, then `zoo runs` and `zoo resume`: whole epochs, the uninterrupted history.

Each training runs in a subprocess whose code is wrapped to SIGKILL itself at one chosen moment; nothing
in zoo knows about it.
"""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from zoo.cli import main
from zoo.runs import read_run

EPOCHS = 3
COMMAND = ["train", "mlp", "--epochs", str(EPOCHS), "--batch-size", "64", "--set", "training.augment=0",
           "--record-every", "1"]

DRIVER = r"""
import os, signal, sys
phase, out = sys.argv[1], sys.argv[2]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

import zoo.training as training
from zoo.callbacks import epoch_checkpoint, run_logger

if phase == "before_status":
    training.write_status = lambda run_dir, status: die()
elif phase in ("first_step", "mid_epoch"):
    step = run_logger.RunLogger.on_train_batch_end
    def on_batch(self, batch, logs=None):
        step(self, batch, logs)
        epoch = len(self.history["epoch"])
        if (phase == "first_step" and batch == 0) or (phase == "mid_epoch" and epoch == 1 and batch == 9):
            die()
    run_logger.RunLogger.on_train_batch_end = on_batch
elif phase == "checkpoint_write":
    replace = epoch_checkpoint.replace_durably
    epoch_checkpoint.replace_durably = lambda written, path: die() if path.name == "epoch-0002.keras" else replace(written, path)
elif phase == "final_save":
    import zoo.runs as runs
    replace = runs.replace_durably
    runs.replace_durably = lambda written, path: die() if path.name == "model.keras" else replace(written, path)
elif phase == "test_evaluation":  # the test set's, after training (fit's own validation also calls evaluate)
    import keras
    evaluate = keras.Model.evaluate
    keras.Model.evaluate = lambda *a, **k: evaluate(*a, **k) if k.get("_use_cached_eval_dataset") else die()
from zoo.cli import main
sys.exit(main([*sys.argv[3:], "--out", out]))
"""


def run_killed(phase: str, out) -> int:
    process = subprocess.run([sys.executable, "-c", DRIVER, phase, str(out), *COMMAND], capture_output=True, text=True,
                             timeout=600)
    return process.returncode


def steps(run) -> list[int]:
    with open(run / "gradients.csv", newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f) if r["layer"] == "output"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of the same command."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert run_killed("none", out) == 0
    return json.loads((out / "history.json").read_text())


@pytest.mark.parametrize("phase", ["mid_epoch", "checkpoint_write", "final_save", "test_evaluation"])
def test_killed_at_any_phase_after_an_epoch_resumes_to_the_uninterrupted_run(phase, tmp_path, reference, capsys):
    run = tmp_path / "run"
    assert run_killed(phase, run) == -9
    info = read_run(run)
    assert info.state == "interrupted" and info.accuracy is None
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == list(range(1, info.epochs_completed + 1))  # whole epochs only
    assert main(["resume", str(run)]) == 0
    info = read_run(run)
    assert info.state == "completed" and info.accuracy is not None and info.epochs_completed == EPOCHS
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history[key], reference[key], rtol=1e-5, err_msg=key)
    per_epoch = len(steps(run)) // EPOCHS
    assert steps(run) == list(range(1, EPOCHS * per_epoch + 1))  # no gap, no duplicate
    assert (run / "model.keras").is_file() and (run / "confusion.json").is_file()
    leftovers = [p.name for p in run.rglob("*") if p.name.endswith((".tmp", ".partial.keras", ".partial.npz"))
                 or p.name.startswith("partial-")]
    assert leftovers == []
    modes = {p.stat().st_mode & 0o777 for p in run.rglob("*") if p.is_file() and "tensorboard" not in p.parts}
    assert len(modes) == 1, modes  # every run file gets the same permissions


@pytest.mark.parametrize("phase, why", [("before_status", "status.json is missing"),
                                        ("first_step", "no checkpoint")])
def test_killed_before_a_first_epoch_is_listed_and_refused_in_one_line(phase, why, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_killed(phase, run) == -9
    capsys.readouterr()
    assert main(["resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0]
    assert read_run(run).state in ("broken", "interrupted")
