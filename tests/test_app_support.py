"""The zoo-side pieces the app stands on: JSON-lines progress, run listing, following gradients.csv, smoothing."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo.records import GradientTail, smooth
from zoo.runs import list_runs, process_start_time, read_run, write_json_atomic

from conftest import dead_pid


def test_json_lines_progress_reports_every_epoch_and_the_last_batch(small_data):
    from zoo._backend import keras
    from zoo.callbacks import JsonLinesProgress

    stream = io.StringIO()
    model = zoo.build("mlp")
    data = small_data("digits", 128)
    x, y = data.x_train.reshape(-1, 784), keras.utils.to_categorical(data.y_train, 10)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_data=(x[:32], y[:32]),
                        callbacks=[JsonLinesProgress("runs/x", stream, interval=3600)])
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0] == {"event": "begin", "run": "runs/x", "epochs": 2, "steps": 4}
    batches = [e for e in events if e["event"] == "batch"]
    assert [(e["epoch"], e["batch"], e["step"]) for e in batches] == [(1, 1, 1), (1, 4, 4), (2, 4, 8)]  # first, then each epoch's last
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["logs"]["val_loss"] for e in epochs] == pytest.approx(history.history["val_loss"])
    assert batches[-1]["loss"] == pytest.approx(history.history["loss"][-1])


def test_zoo_train_json_ends_with_an_end_event(tmp_path):
    out = subprocess.run([sys.executable, "-m", "zoo", "train", "perceptron", "--json", "--epochs", "3",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and events[0]["event"] == "begin" and events[0]["run"] == str(tmp_path / "run")
    assert events[-1]["event"] == "end" and events[-1]["state"] == "completed"
    assert events[-1]["test"]["accuracy"] == json.loads((tmp_path / "run" / "status.json").read_text())["test"]["accuracy"]



def test_list_runs_detects_interrupted_runs_and_lists_broken_ones(tmp_path):
    parent = tmp_path / "runs"
    for name, status in (("killed", {"state": "running", "pid": dead_pid(), "model": "mlp", "started": "2026-01-02"}),
                         ("live", {"state": "running", "pid": os.getpid(), "pid_started": process_start_time(os.getpid()),
                                   "model": "cnn", "started": "2026-01-03"}),
                         ("reused", {"state": "running", "pid": os.getpid(), "model": "cnn", "started": "2026-01-04"}),
                         ("done", {"state": "completed", "model": "mlp", "test": {"accuracy": 0.9}, "started": "2026-01-01"})):
        (parent / name).mkdir(parents=True)
        write_json_atomic(parent / name / "status.json", status)
    (parent / "empty").mkdir()
    (parent / "garbage").mkdir()
    (parent / "garbage" / "status.json").write_text("[1, 2")
    runs = {r.path.name: r for r in list_runs(parent)}
    # "reused": a live pid without its start time is not trusted (the pid may be another process's now)
    assert {k: r.state for k, r in runs.items()} == {"killed": "interrupted", "live": "running", "done": "completed",
                                                       "reused": "interrupted", "empty": "broken", "garbage": "broken"}
    assert "missing" in runs["empty"].problem and "unreadable" in runs["garbage"].problem
    assert runs["done"].accuracy == 0.9 and not runs["done"].finished_ok  # no model.keras
    assert [r.path.name for r in list_runs(parent)][:4] == ["reused", "live", "killed", "done"]  # newest first
    assert list_runs(tmp_path / "nowhere") == []


def test_gradient_tail_reads_only_complete_new_lines(tmp_path):
    path = tmp_path / "gradients.csv"
    path.write_text("step,epoch,layer,depth,grad_norm,grad_norm_clipped\n1,1,hidden_1,1,0.5,\n1,1,output,2,2.0,\n2,1,hid")
    tail = GradientTail(path)
    steps, layers, norms, clipped = tail.read()
    assert list(steps) == [1] and layers == ["hidden_1", "output"] and norms.tolist() == [[0.5, 2.0]]
    assert np.isnan(clipped).all()  # no clipping recorded
    with open(path, "a") as f:
        f.write("den_1,1,0.25,0.125\n2,1,output,2,4.0,2.0\n")
    steps, layers, norms, clipped = tail.read()
    assert list(steps) == [1, 2] and norms.tolist() == [[0.5, 2.0], [0.25, 4.0]] and clipped[1].tolist() == [0.125, 2.0]
    path.write_text("step,epoch,layer,depth,grad_norm,grad_norm_clipped\n1,1,hidden_1,1,0.75,\n")  # cut back by a resume
    steps, layers, norms, clipped = tail.read()
    assert list(steps) == [1] and norms.tolist() == [[0.75]] and layers == ["hidden_1"]


def test_smooth_is_tensorboards_debiased_moving_average():
    values = np.array([[1.0], [3.0], [np.nan], [5.0]])
    out = smooth(values, 0.5)
    expected_2 = (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25)
    expected_4 = (0.5 * (0.5 * 0.5 * 1 + 0.5 * 3) + 0.5 * 5) / (1 - 0.125)
    assert out[0, 0] == 1.0 and out[1, 0] == pytest.approx(expected_2) and np.isnan(out[2, 0])
    assert out[3, 0] == pytest.approx(expected_4)
    assert np.array_equal(smooth(values, 0.0), values, equal_nan=True)
    with pytest.raises(ValueError):
        smooth(values, 1.0)


def test_read_run_of_a_trained_run_matches_its_status(tmp_path, small_data):
    result = zoo.train("mlp", epochs=1, data=small_data("digits", 128), out=tmp_path / "r", progress=False, record_every=0)
    info = read_run(result.path)
    assert info.state == "completed" and info.finished_ok and info.accuracy == pytest.approx(result.test["accuracy"])
    assert info.model == "mlp" and info.epochs_completed == 1
