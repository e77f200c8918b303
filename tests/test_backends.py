"""The gradient recorder on each Keras backend, against that backend's own autodiff (tests/backend_checks.py).

Each backend runs in its own process (Keras picks its backend once, at import). PyTorch is an extra:
its cases skip when it is not installed (`make test-torch` installs it and runs them).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

CHECKS = Path(__file__).with_name("backend_checks.py")
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(importlib.util.find_spec(b) is None, reason=f"{b} not installed"))
            for b in ("tensorflow", "jax", "torch")]


@lru_cache(maxsize=None)
def results(backend: str, checks: tuple = (), devices: int = 0) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(CHECKS.parent.parent)}
    if devices:
        env["ZOO_CHECK_DEVICES"] = str(devices)
    # One keras.applications net per backend (they are the slowest cases): ResNet50 on TensorFlow, MobileNetV2 elsewhere
    env["ZOO_CHECK_APPLICATION"] = "resnet50" if backend == "tensorflow" else "mobilenet_v2"
    if backend == "jax" and not devices:  # XLA's cheapest compile: MobileNetV2's steps compile in a third less time
        env["XLA_FLAGS"] = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    done = subprocess.run([sys.executable, str(CHECKS), *checks], env=env, capture_output=True, text=True, timeout=600)
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULTS ")]
    if done.returncode or not lines:  # kept, so the other cases of this backend fail at once with the same reason
        return {"error": done.stderr[-3000:]}
    return json.loads(lines[-1][len("RESULTS "):])


def checked(backend: str, *args) -> dict:
    r = results(backend, *args)
    assert "error" not in r, r.get("error")
    return r


def close(case, rtol=1e-4, atol=1e-7):
    np.testing.assert_allclose(np.array(case["recorded"], float), np.array(case["expected"], float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_norms_details_and_names_match_autodiff(backend):
    r = checked(backend)
    for key in ("norms", "layer_norms", "mean_abs", "max_abs", "update_ratio"):
        close(r[key])
    assert r["names"]["recorded"] == r["names"]["expected"]
    assert r["optimizer_restored"]["recorded"] == "SGD"  # the model has its own optimiser back after fit
    recorded, expected = np.array(r["histogram"]["recorded"]), np.array(r["histogram"]["expected"])
    assert (recorded.sum(axis=1) == expected.sum(axis=1)).all()  # every gradient entry counted once
    assert np.abs(recorded - expected).sum() <= 2  # a value on a bin edge may fall either side in float32


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["clipnorm", "global_clipnorm", "clipvalue"])
def test_clipped_norms_are_the_optimisers(backend, kind):
    case = checked(backend)[kind]
    close(case)
    close({"recorded": case["unclipped_recorded"], "expected": case["unclipped_expected"]})
    assert np.array(case["recorded"]).sum() < np.array(case["unclipped_recorded"]).sum()  # clipping did bite


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_float16_records_unscaled_gradients(backend):
    case = checked(backend)["mixed_float16"]
    assert case["optimizer"] == "LossScaleOptimizer"
    close(case, rtol=2e-2, atol=1e-4)  # float16 activations: the backends' own rounding differs
    growing = np.array(case["growing_scale"])  # the same batch, the scale doubling every 2 steps: one norm
    assert len(growing) == 6 and np.allclose(growing, growing[0], rtol=1e-3), growing


@pytest.mark.parametrize("backend", BACKENDS)
def test_steps_per_execution_records_every_step(backend):
    if backend == "torch":
        pytest.skip("Keras runs one step per execution on PyTorch")
    case = checked(backend)["steps_per_execution"]
    assert case["recorded"] == case["expected"]
    assert case["epochs"] == [1] * 10 + [2] * 10
    assert case["detail_steps"] == [1, 5, 10, 15, 20]
    close({"recorded": case["first_recorded"], "expected": case["first_expected"]})


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["subclassed", "nested_shared", "mobilenet_v2", "resnet50"])
def test_any_model_by_variable_in_depth_order(backend, model):
    r = checked(backend)
    if model not in r:
        pytest.skip(f"{model} runs on another backend (one keras.applications net per backend)")
    case = r[model]
    # Deep convolutional nets sum in float32 in another order: near-zero gradients (a BN beta before a residual
    # sum) are rounding noise, so they are compared against the largest gradient's scale.
    close(case, rtol=2e-3, atol=1e-4 * max(case["expected"]))
    assert len(case["recorded"]) == case["trainable"]  # every trainable variable, none of BN's moving statistics
    if model == "subclassed":
        assert case["layers"] == ["encoder", "norm", "head"]
        assert case["variables"][:2] == ["encoder/kernel", "encoder/bias"]
    if model == "nested_shared":  # the shared layer once, the nested block's layers by their path
        assert case["layers"] == ["shared", "block_1/conv", "block_1/bn", "out"]
    if model in ("mobilenet_v2", "resnet50"):
        assert case["layers"][0] in ("Conv1", "conv1_conv") and case["layers"][-1] == "predictions"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b.values[0] != "torch"])
def test_distributed_norms_are_the_global_batchs(backend):
    case = checked(backend, ("distributed",), 2)["distributed"]
    assert case["replicas"] == 2
    close(case, rtol=1e-4)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_torch_details_stay_on_the_weights_device():
    """A variable without a gradient gets NaN on the weights' own device (the meta device stands in for CUDA)."""
    import torch

    from zoo.callbacks.gradient_statistics_optimizer import HIST_EDGES, _torch_details

    weights = torch.zeros(3, device="meta")
    rows, histograms = _torch_details([None, torch.ones(0, device="meta")], [weights, weights], [weights, weights])
    assert rows.device.type == histograms.device.type == "meta"
    assert tuple(rows.shape) == (2, 5) and tuple(histograms.shape) == (2, len(HIST_EDGES) - 1)
