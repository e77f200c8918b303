"""Run in a fresh process with KERAS_BACKEND set: the recorder's numbers against the backend's own autodiff.

`python tests/backend_checks.py [checks...]` prints one JSON object {check: {"recorded": [...], "expected":
[...], ...}}; tests/test_backends.py runs it on each installed backend and compares. Not a test module.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

if os.environ.get("ZOO_CHECK_DEVICES"):  # two logical CPU devices, before any framework starts
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={os.environ['ZOO_CHECK_DEVICES']}"

import keras  # noqa: E402

from zoo.callbacks import GradientRecorder  # noqa: E402

BACKEND = keras.backend.backend()
RNG = np.random.default_rng(0)


def autodiff(model, loss_fn, x, y):
    """The gradient of the mean batch loss with respect to model.trainable_variables, by the backend itself."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=model.jit_compile)  # compiled as the train step is: ResNet's BN is sensitive to it
        def gradients():
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            return tape.gradient(loss, model.trainable_variables)

        return [g.numpy() for g in gradients()]
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss_of(values):
            pred, _ = model.stateless_call(values, frozen, x, training=True)
            return loss_fn(y, pred)

        return [np.asarray(g) for g in jax.jit(jax.grad(loss_of))(trainable)]
    import torch

    for v in model.trainable_variables:
        v.value.grad = None
    loss = loss_fn(torch.as_tensor(y), model(torch.as_tensor(x), training=True))
    loss.backward()
    return [v.value.grad.detach().cpu().numpy() for v in model.trainable_variables]


def first_step(model, x, y, loss="mse", optimizer=None, **fit):
    """Record one full-batch step; return the recorder and the independent gradients of that step."""
    optimizer = optimizer or keras.optimizers.SGD(0.01)
    model.compile(optimizer=optimizer, loss=loss, **fit.pop("compile", {}))
    loss_fn = keras.losses.get(loss)
    expected = autodiff(model, lambda t, p: keras.ops.mean(loss_fn(t, p)), x, y)
    recorder = GradientRecorder(detail_every=1)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[recorder], **fit)
    return recorder, expected


def by_variable(recorder, model, grads):
    """Independent per-variable norms in the recorder's variable order."""
    names = {id(v): i for i, v in enumerate(model.trainable_variables)}
    order = [names[id(v)] for v in ordered_variables(recorder, model)]
    return [float(np.linalg.norm(grads[i])) for i in order]


def ordered_variables(recorder, model):
    from zoo.layer_paths import trainable_layers

    return [v for _, vs in trainable_layers(model) for v in vs]


def mlp(depth=3, width=16, activation="sigmoid"):
    layers = [keras.Input((12,))] + [keras.layers.Dense(width, activation=activation) for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(3)])


def data(n=32, shape=(12,), classes=3):
    x = RNG.normal(size=(n, *shape)).astype("float32")
    return x, RNG.normal(size=(n, classes)).astype("float32")


def check_plain():
    keras.utils.set_random_seed(1)
    model, (x, y) = mlp(), data()
    weights_before = [np.array(v) for v in model.trainable_variables]
    recorder, grads = first_step(model, x, y)
    after = [np.array(v) for v in model.trainable_variables]
    details = recorder.details(per="variable")
    flat = [np.abs(g).ravel() for g in grads]
    edges = np.linspace(-12.0, 2.0, 29)
    return {
        "norms": {"recorded": recorder.table("variable")["grad_norm"][0].tolist(), "expected": by_variable(recorder, model, grads)},
        "layer_norms": {"recorded": recorder.table()["grad_norm"][0].tolist(),
                        "expected": [float(np.sqrt(np.sum(grads[i] ** 2) + np.sum(grads[i + 1] ** 2))) for i in range(0, len(grads), 2)]},
        "mean_abs": {"recorded": details["grad_mean_abs"][0].tolist(), "expected": [float(f.mean()) for f in flat]},
        "max_abs": {"recorded": details["grad_max_abs"][0].tolist(), "expected": [float(f.max()) for f in flat]},
        "histogram": {"recorded": details["histogram"][0].tolist(),
                      "expected": [np.histogram(np.clip(np.log10(f + 1e-30), -12, 2 - 1e-6), bins=edges)[0].tolist() for f in flat]},
        "update_ratio": {"recorded": details["update_ratio"][0].tolist(),
                         "expected": [float(np.linalg.norm(a - b) / np.linalg.norm(b)) if np.linalg.norm(b) else float("nan")
                                      for a, b in zip(after, weights_before)]},
        "names": {"recorded": recorder.layer_names, "expected": [l.name for l in model.layers]},
        "optimizer_restored": {"recorded": type(model.optimizer).__name__, "expected": "SGD"},
    }


def check_clipping():
    out = {}
    for kind, value in (("clipnorm", 0.05), ("global_clipnorm", 0.1), ("clipvalue", 0.002)):
        keras.utils.set_random_seed(2)
        model, (x, y) = mlp(), data()
        recorder, grads = first_step(model, x, y, optimizer=keras.optimizers.SGD(0.01, **{kind: value}))
        grads = [grads[i] for i in [list(map(id, model.trainable_variables)).index(id(v)) for v in ordered_variables(recorder, model)]]
        if kind == "clipnorm":
            clipped = [g * min(1.0, value / np.linalg.norm(g)) for g in grads]
        elif kind == "global_clipnorm":
            total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            clipped = [g * min(1.0, value / total) for g in grads]
        else:
            clipped = [np.clip(g, -value, value) for g in grads]
        out[kind] = {"recorded": recorder.table("variable")["grad_norm_clipped"][0].tolist(),
                     "expected": [float(np.linalg.norm(c)) for c in clipped],
                     "unclipped_recorded": recorder.table("variable")["grad_norm"][0].tolist(),
                     "unclipped_expected": [float(np.linalg.norm(g)) for g in grads]}
    return out


def check_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(3)
        model, (x, y) = mlp(activation="tanh"), data()
        recorder, grads = first_step(model, x, y)
        # The loss scale doubles every 2 steps; with a zero learning rate every step's gradient is the same
        keras.utils.set_random_seed(3)
        growing = mlp(activation="tanh")
        growing.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.0), initial_scale=4.0,
                                                                      dynamic_growth_steps=2), loss="mse")
        constant = GradientRecorder(detail_every=0)
        growing.fit(np.tile(x, (6, 1)), np.tile(y, (6, 1)), batch_size=len(x), epochs=1, shuffle=False, verbose=0,
                    callbacks=[constant])
        return {"mixed_float16": {"recorded": recorder.table("variable")["grad_norm"][0].tolist(),
                                  "expected": by_variable(recorder, model, grads),
                                  "optimizer": type(model.optimizer).__name__,
                                  "growing_scale": constant.table()["grad_norm"][:, 0].tolist()}}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def check_steps_per_execution():
    if BACKEND == "torch":
        return {}
    keras.utils.set_random_seed(4)
    model, (x, y) = mlp(), data(n=40)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", steps_per_execution=3)
    loss_fn = keras.losses.get("mse")
    expected = autodiff(model, lambda t, p: keras.ops.mean(loss_fn(t, p)), x[:4], y[:4])
    recorder = GradientRecorder(flush_every=4, detail_every=5)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    table = recorder.table()
    return {"steps_per_execution": {"recorded": table["step"].tolist(), "expected": list(range(1, 21)),
                                    "first_recorded": recorder.table("variable")["grad_norm"][0].tolist(),
                                    "first_expected": by_variable(recorder, model, expected),
                                    "epochs": table["epoch"].tolist(),
                                    "detail_steps": recorder.details()["step"].tolist()}}


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.encoder = keras.layers.Dense(8, activation="relu", name="encoder")
        self.norm = keras.layers.BatchNormalization(name="norm")
        self.head = keras.layers.Dense(3, name="head")

    def call(self, x, training=False):
        return self.head(self.norm(self.encoder(x), training=training))


def nested_shared():
    inp = keras.Input((12,))
    shared = keras.layers.Dense(12, activation="tanh", name="shared")
    block = keras.Sequential([keras.Input((12,)), keras.layers.Dense(10, activation="relu", name="conv"),
                              keras.layers.BatchNormalization(name="bn")], name="block_1")
    h = shared(shared(inp))
    return keras.Model(inp, keras.layers.Dense(3, name="out")(block(h)))


APPLICATIONS = ("mobilenet_v2", "resnet50")


def applications(name):
    if name == "mobilenet_v2":
        return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=3)
    return keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None, classes=3)


def check_models():
    out = {}
    cases = {"subclassed": (Subclassed, (12,)), "nested_shared": (nested_shared, (12,)),
             "mobilenet_v2": (lambda: applications("mobilenet_v2"), (32, 32, 3)),
             "resnet50": (lambda: applications("resnet50"), (32, 32, 3))}
    for name, (make, shape) in cases.items():
        if name in APPLICATIONS and name != os.environ.get("ZOO_CHECK_APPLICATION", name):
            continue
        keras.utils.set_random_seed(5)
        model = make()
        x, y = data(n=4, shape=shape)
        if name == "subclassed":
            model(x[:1])
        y = keras.ops.convert_to_numpy(keras.ops.softmax(y)) if name in ("mobilenet_v2", "resnet50") else y
        loss = "categorical_crossentropy" if name in ("mobilenet_v2", "resnet50") else "mse"
        recorder, grads = first_step(model, x, y, loss=loss)
        out[name] = {"recorded": recorder.table("variable")["grad_norm"][0].tolist(),
                     "expected": by_variable(recorder, model, grads), "layers": recorder.layer_names,
                     "variables": recorder.variable_names,
                     "trainable": len(model.trainable_variables)}
    return out


def check_distributed():
    """The global batch's gradient on two devices equals a one-device computation of it."""
    devices = int(os.environ["ZOO_CHECK_DEVICES"])
    keras.utils.set_random_seed(6)
    x, y = data(n=16)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
        with strategy.scope():
            model = mlp()
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        replicas = strategy.num_replicas_in_sync
    else:
        distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices("cpu")[:devices])
        keras.distribution.set_distribution(distribution)
        model = mlp()
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        replicas = len(distribution.device_mesh.devices.ravel())
    loss_fn = keras.losses.get("mse")
    expected = autodiff(model, lambda t, p: keras.ops.mean(loss_fn(t, p)), x, y)
    recorder = GradientRecorder(detail_every=0)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    return {"distributed": {"recorded": recorder.table("variable")["grad_norm"][0].tolist(),
                            "expected": by_variable(recorder, model, expected), "replicas": replicas}}


CHECKS = {"plain": check_plain, "clipping": check_clipping, "mixed_precision": check_mixed_precision,
          "steps_per_execution": check_steps_per_execution, "models": check_models, "distributed": check_distributed}

if __name__ == "__main__":
    if BACKEND == "tensorflow" and os.environ.get("ZOO_CHECK_DEVICES"):
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(os.environ["ZOO_CHECK_DEVICES"]))
    results = {}
    for name in sys.argv[1:] or [n for n in CHECKS if n != "distributed"]:
        results.update(CHECKS[name]())
    print("RESULTS " + json.dumps(results))
