"""Issue 17: vanishing gradients through time. InputGradientRecorder's ||d loss / d x_t|| per input time step.

On each installed backend (tests/input_gradient_checks.py in its own process: Keras picks its backend once, at
import) against central differences of a NumPy forward pass in float64, and the SimpleRNN-against-LSTM picture
at initialisation; here, in this process, the arguments, the refusals and `input_gradients.csv`.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo import RunError
from zoo.records import INPUT_GRADIENT_COLUMNS, read_input_gradients
from zoo.runs import INPUT_GRADIENTS

CHECKS = Path(__file__).with_name("input_gradient_checks.py")
DOC = Path(__file__).parents[1] / "docs" / "run-format.md"
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(importlib.util.find_spec(b) is None, reason=f"{b} not installed"))
            for b in ("tensorflow", "jax", "torch")]


def checked(backend: str, check: str) -> dict:
    """One check of tests/input_gradient_checks.py, run in its own process on `backend`."""
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(CHECKS.parent.parent)}
    done = subprocess.run([sys.executable, str(CHECKS), check], env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    r = json.loads(lines[-1][len("RESULTS "):])
    assert r["backend"] == backend
    return r


@pytest.mark.parametrize("backend", BACKENDS)
def test_norms_are_finite_differences_of_the_loss_at_every_recorded_step(backend):
    r = checked(backend, "exact")
    rnn, lstm = r["simple_rnn"], r["lstm"]
    assert rnn["steps"] == [0, 3, 4, 6, 8]  # the start, every 3 steps, each epoch's end (4 steps an epoch)
    assert rnn["epochs"] == [0, 1, 1, 2, 2]
    recorded = np.array(rnn["recorded"])
    assert recorded.shape == (5, 5)  # (records, T)
    np.testing.assert_allclose(recorded, rnn["expected"], rtol=1e-4)  # float32 against float64, each at its step
    assert not np.allclose(recorded[0], recorded[-1], rtol=1e-2)  # training moved them
    np.testing.assert_allclose(lstm["recorded"], lstm["expected"], rtol=1e-4)  # a Loss instance, outputs per step


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_simple_rnns_gradient_vanishes_through_time_where_an_lstms_does_much_less(backend):
    vanishing = checked(backend, "vanishing")["vanishing"]
    rnn, lstm = np.array(vanishing["simple_rnn"]), np.array(vanishing["lstm"])
    assert rnn.shape == lstm.shape == (30,) and (rnn > 0).all() and (lstm > 0).all()
    rnn_ratio, lstm_ratio = rnn[0] / rnn[-1], lstm[0] / lstm[-1]
    assert rnn_ratio < 1e-8, rnn_ratio  # tanh, recurrent gain 0.5: ~10x down every 2-3 steps back
    assert lstm_ratio > 1e-5 and lstm_ratio > 1e4 * rnn_ratio, (lstm_ratio, rnn_ratio)  # forget gate ~ sigmoid(1)
    assert rnn[:10].max() < rnn[-10:].min()


def _model(length=4, features=2):
    from zoo._backend import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((length, features)), keras.layers.SimpleRNN(2), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _data(n=8, length=4, features=2):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, length, features)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_the_run_file_holds_every_record_and_a_fit_that_goes_on_keeps_the_rows_before_it(tmp_path):
    from zoo.callbacks import InputGradientRecorder

    model, (x, y) = _model(), _data()
    recorder = InputGradientRecorder((x[:4], y[:4]), every=1, run_dir=tmp_path)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    assert recorder.steps == [0, 1, 2, 3, 4] and recorder.epochs == [0, 1, 1, 2, 2]
    lines = (tmp_path / INPUT_GRADIENTS).read_text().splitlines()
    assert lines[0] == ",".join(INPUT_GRADIENT_COLUMNS) and len(lines) == 1 + 5 * 4
    assert [line.split(",")[:3] for line in lines[1:5]] == [["0", "0", str(t)] for t in range(4)]
    steps, norms = read_input_gradients(tmp_path)  # the run folder or the file itself
    assert steps.tolist() == recorder.steps and norms.shape == (5, 4) and (norms > 0).all()
    np.testing.assert_allclose(norms, recorder.norms, rtol=1e-6)  # 7 significant digits
    first = norms

    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    assert recorder.steps == [4, 5, 6] and recorder.epochs == [2, 3, 3]  # reset at each fit's start; epochs go on
    steps, norms = read_input_gradients(tmp_path / INPUT_GRADIENTS)
    assert steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(norms[:5], first, rtol=1e-6)  # step 4 recorded again, from the same weights


def test_it_writes_into_a_run_recorder_folder_which_reads_as_a_whole_run(tmp_path):
    from zoo.callbacks import InputGradientRecorder, RunRecorder
    from zoo.runs import read_run

    model, (x, y) = _model(), _data()
    run = tmp_path / "run"  # given first, it writes nothing before RunRecorder claims the (empty) folder
    callbacks = [InputGradientRecorder((x[:4], y[:4]), run_dir=run), RunRecorder(run, probe=x[:4])]
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=callbacks)
    assert read_run(run).state == "completed"
    steps, norms = read_input_gradients(run)
    assert steps.tolist() == [0, 2] and norms.shape == (2, 4)


def test_the_arguments_are_checked_when_the_recorder_is_made():
    from zoo.callbacks import InputGradientRecorder

    x, y = _data()
    for probe, message in [(x, "probe must be a pair"), ((x.astype(int), y), "floating point, received dtype int"),
                           ((x[:, :, 0], y), r"shape \(batch, T, features\), received \(8, 4\)"),
                           ((x, y[:3]), "one target per example of x \\(8\\)")]:
        with pytest.raises(ValueError, match=message):
            InputGradientRecorder(probe)
    for every in (-1, 1.5, True):
        with pytest.raises(ValueError, match="every must be a non-negative integer"):
            InputGradientRecorder((x, y), every=every)


def test_a_model_without_a_float_sequence_input_is_refused_when_fit_starts():
    from zoo._backend import keras
    from zoo.callbacks import InputGradientRecorder

    ids = np.zeros((4, 5), "int32")
    tokens = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(10, 3),
                               keras.layers.SimpleRNN(2), keras.layers.Dense(1)])
    tokens.compile("sgd", "mse")
    with pytest.raises(ValueError, match="has an Embedding: its input is token ids") as refused:
        tokens.fit(ids, np.zeros((4, 1)), verbose=0, callbacks=[InputGradientRecorder(_data(4, 5, 1))])
    assert "\n" not in str(refused.value)
    x, y = _data(4, length=6)
    with pytest.raises(ValueError, match=r"probe x has shape \(4, 6, 2\); the model takes inputs of shape \(batch, 4, 2\)"):
        _model().fit(*_data(4), verbose=0, callbacks=[InputGradientRecorder((x, y))])


@pytest.mark.parametrize("text, message", [
    ("step,epoch,layer,grad_norm\n0,0,a,1\n", "has no `t` column"),
    ("step,epoch,t,grad_norm\n0,0,zero,1\n", "line 2: not an input gradient record"),
    ("step,epoch,t,grad_norm\n0,0,-1,1\n", "line 2: not an input gradient record (`t` is '-1', not a whole number"),
    ("step,epoch,t,grad_norm\n0,0,99999999,1\n", "is not an input gradient record: 1 rows for 1 steps of 100000000"),
    ("", "has no `step` column"),
])
def test_the_reader_refuses_a_damaged_file_in_one_line(tmp_path, text, message):
    path = tmp_path / INPUT_GRADIENTS
    path.write_text(text)
    with pytest.raises(RunError, match=re.escape(message)) as refused:
        read_input_gradients(path)
    assert "\n" not in str(refused.value)


def test_the_reader_is_tolerant_of_a_missing_file_and_missing_values(tmp_path):
    assert read_input_gradients(tmp_path) is None and read_input_gradients(tmp_path / INPUT_GRADIENTS) is None
    (tmp_path / INPUT_GRADIENTS).write_bytes(b"\xff\xfe")
    with pytest.raises(RunError, match="is unreadable"):
        read_input_gradients(tmp_path)
    (tmp_path / INPUT_GRADIENTS).write_text("step,epoch,t,grad_norm\n")
    steps, norms = read_input_gradients(tmp_path)
    assert steps.shape == (0,) and norms.shape == (0, 0)
    (tmp_path / INPUT_GRADIENTS).write_text("step,epoch,t,grad_norm\n5,1,1,2.5\n0,0,0,1\n0,0,1,\n5,1,0,nan\n")
    steps, norms = read_input_gradients(tmp_path)
    assert steps.tolist() == [0, 5]
    np.testing.assert_array_equal(norms, [[1, np.nan], [np.nan, 2.5]])


def test_the_run_format_document_names_the_file_and_its_columns():
    documented = set(re.findall(r"`([^`]+)`", DOC.read_text()))
    assert INPUT_GRADIENTS in documented
    assert set(INPUT_GRADIENT_COLUMNS) <= documented | {"step", "epoch"} and {"t", "grad_norm"} <= documented
