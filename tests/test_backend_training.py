"""`zoo train --backend`: every backend writes the same run folder, which the TensorFlow side reads and exports."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zoo.backends import BACKENDS, installed_backends, training_backend
from zoo.errors import ZooError

INSTALLED = [pytest.param(b, marks=pytest.mark.skipif(importlib.util.find_spec(b) is None, reason=f"{b} not installed"))
             for b in BACKENDS]


def zoo_cli(*args, env=None):
    env = {**os.environ, **(env or {})}
    env.pop("KERAS_BACKEND", None)  # as a user's shell has it: the choice is zoo's
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("backend", INSTALLED)
def test_train_on_each_backend_writes_one_run_format(backend, tmp_path):
    run = tmp_path / backend
    (tmp_path / "file").write_text("")  # JAX's compile cache in a folder that cannot be made: no cache, no error
    done = zoo_cli("train", "mlp", "--backend", backend, "--epochs", "1", "--out", str(run),
                   env={"ZOO_JAX_CACHE": str(tmp_path / "file" / "cache")})
    assert done.returncode == 0, done.stderr[-2000:]
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "completed" and status["backend"] == backend and backend in status["versions"]
    with open(run / "gradients.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["layer"] for r in rows[:3]] == ["hidden_1", "hidden_2", "output"]
    assert all(np.isfinite(float(r["grad_norm"])) and float(r["grad_norm"]) > 0 for r in rows)
    steps = sorted({int(r["step"]) for r in rows})
    assert steps == list(range(1, len(steps) + 1))  # every step, once
    # This process runs Keras on TensorFlow: the model trained elsewhere loads and answers the same
    from zoo._backend import keras

    model = keras.saving.load_model(run / "model.keras")
    x = np.random.default_rng(0).random((4, *model.input_shape[1:]), np.float32)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (4, 10) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert status["test"]["accuracy"] > 0.8


def test_default_is_the_fastest_installed(monkeypatch):
    for name in ("ZOO_BACKEND", "KERAS_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "keras", None)  # as in a fresh `zoo train`, before Keras loads
    monkeypatch.delitem(sys.modules, "keras")
    assert training_backend() == installed_backends()[0] == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert training_backend() == "tensorflow"
    monkeypatch.setenv("ZOO_BACKEND", "jax")
    assert training_backend() == "jax" and training_backend("tensorflow") == "tensorflow"
    with pytest.raises(ZooError, match="trains on the tensorflow backend only"):
        training_backend(None, bound="tensorflow")  # ZOO_BACKEND=jax asked for the perceptron rule


@pytest.mark.parametrize("args, message", [
    (["train", "mlp", "--backend", "theano"], "invalid choice: 'theano'"),
    (["train", "perceptron", "--backend", "jax"], "this model trains on the tensorflow backend only (asked for jax)"),
])
def test_backend_refusals_are_one_line(args, message):
    done = zoo_cli(*args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) <= 2


def test_torch_missing_is_one_line(monkeypatch):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed")
    done = zoo_cli("train", "mlp", "--backend", "torch")
    assert done.returncode == 2 and "the torch backend is not installed (pip install 'zoo[torch]')" in done.stderr


def test_checkpoint_saved_while_recording_loads_into_a_plain_model(tmp_path):
    """The measuring optimiser saves the wrapped one's state where a plain optimiser saves it."""
    from zoo._backend import keras
    from zoo.callbacks import GradientRecorder

    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    y = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    path = tmp_path / "mid.keras"
    save = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: model.save(path))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[GradientRecorder(), save])
    loaded = keras.saving.load_model(path)  # no zoo object needed
    assert type(loaded.optimizer).__name__ == "Adam"
    assert int(loaded.optimizer.iterations) == 8
    for mine, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def _train_until_epoch(run, backend, epochs=4):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", "mlp", "--backend", backend, "--epochs", str(epochs),
                                "--out", str(run)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    for line in process.stderr:  # "epoch 1/4 ..." is printed when the first epoch ends
        if line.startswith("epoch 1/"):
            break
    return process


def test_ctrl_c_mid_epoch_on_jax_stops_with_the_model_saved_and_resume_keeps_the_backend(tmp_path):
    import signal
    import time

    run = tmp_path / "run"
    process = _train_until_epoch(run, "jax")
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    status = json.loads((run / "status.json").read_text())
    assert process.returncode == 130 and status["state"] == "stopped", err[-1500:]
    assert "Buffer has been deleted" not in err and (run / "model.keras").exists()
    done = zoo_cli("resume", str(run))  # no --backend: the run's own
    assert done.returncode == 0, done.stderr[-1500:]
    assert json.loads((run / "status.json").read_text())["backend"] == "jax"
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]


def test_resume_on_another_backend_says_so_in_the_status(tmp_path):
    run = tmp_path / "run"
    done = zoo_cli("train", "xor-mlp", "--backend", "tensorflow", "--epochs", "2", "--out", str(run))
    assert done.returncode == 0
    status = json.loads((run / "status.json").read_text())
    status["state"], status["epochs"] = "stopped", 4  # as if stopped after epoch 2 of 4
    (run / "status.json").write_text(json.dumps(status))
    done = zoo_cli("resume", str(run), "--backend", "jax")
    assert done.returncode == 0, done.stderr[-1500:]
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "completed" and status["backend"] == "jax" and "jax" in status["versions"]


@pytest.mark.skipif("jax" not in installed_backends(), reason="JAX is not installed")
def test_activation_records_mid_epoch_on_jax_use_the_live_weights():
    """JAX keeps the weights outside the Keras variables during an epoch: a record every k steps reads them."""
    code = """
import numpy as np, keras
from zoo.callbacks import ActivationRecorder
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="relu", name="h"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
recorder = ActivationRecorder(x[:16], every=2)
model.fit(x, x[:, :1], epochs=1, batch_size=16, verbose=0, callbacks=[recorder])
steps = [r["step"] for r in recorder.records]
hidden = keras.ops.convert_to_numpy(model.layers[0](x[:16]))
assert steps == [0, 2, 4], steps
assert np.isclose(recorder.records[-1]["act_mean"], hidden.mean(), rtol=1e-5)
print("ok")
"""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_a_network_trained_again_on_jax_reuses_its_compiled_steps_and_trains_the_same(tmp_path):
    cache = tmp_path / "cache"

    def train(name, cache_setting):
        done = zoo_cli("train", "mlp", "--backend", "jax", "--dataset", "digits", "--epochs", "1", "--set",
                       "training.augment=0", "--out", str(tmp_path / name), env={"ZOO_JAX_CACHE": cache_setting})
        assert done.returncode == 0, done.stderr[-2000:]
        history = json.loads((tmp_path / name / "history.json").read_text())
        history.pop("seconds")  # the one thing a cache should change
        return (tmp_path / name / "gradients.csv").read_text(), history

    def steps():  # the compiled training steps in the cache, and when each was last read
        return {p.name: (p.with_name(p.name.replace("-cache", "-atime"))).read_bytes()
                for p in cache.glob("jit_train_step-*-cache")}

    first = train("first", str(cache))
    compiled = steps()
    assert compiled  # the training step was kept
    again = train("again", str(cache))
    assert set(steps()) == set(compiled)  # nothing compiled anew ...
    assert all(steps()[name] != read for name, read in compiled.items())  # ... each step read from the cache
    assert again == first  # (no cache at all, an unwritable one: test_train_on_each_backend_writes_one_run_format)
