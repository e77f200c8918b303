"""Samples per second of `zoo train mlp` (recording on, default backend) against plain Keras-TensorFlow `fit`
and a plain PyTorch eager loop (when torch is installed) of the same network, batch and data, in one run.

Each variant runs in its own process (a Keras backend is chosen once per process), --repeats times, the order
rotating; the ratios of the medians are the result. `zoo train` on JAX keeps its compiled steps on disk
(`zoo._backend.use_compile_cache`): "zoo" is training the network again (the cache warmed by one run before the
measurements), "zoo, first time" each time with an empty cache. Plain Keras-JAX `fit` is printed too. Goals: zoo
>= 1.5x plain Keras-TensorFlow, >= 1.0x PyTorch eager. Uses MNIST when it can be found (ZOO_DATA_DIR, Keras'
cache), else digits.

    python bench/train_throughput.py [--epochs 2] [--repeats 3]
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def data(epochs):
    import zoo
    from zoo.datasets import load_dataset, prepare

    try:
        name, raw = "mnist", load_dataset("mnist")
    except zoo.DataError:
        name, raw = "digits", load_dataset("digits")
    spec = zoo.load_spec("mlp").with_overrides(dataset=name, **{"training.epochs": epochs})
    arrays = prepare(raw, spec.input_shape, spec.training.loss)
    return name, spec, arrays["train"], arrays["val"]


def plain_keras(epochs):
    """The `mlp` spec written by hand, as a tutorial would, on the process's Keras backend (TensorFlow or JAX)."""
    name, spec, (x, y), val = data(epochs)
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(512, activation="relu", kernel_initializer="he_normal"), keras.layers.Dropout(0.2),
        keras.layers.Dense(512, activation="relu", kernel_initializer="he_normal"), keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=spec.training.batch_size, epochs=epochs, validation_data=val, verbose=0)
    return len(x) * epochs / (time.perf_counter() - start)


def plain_torch(epochs):
    """The same network as a plain PyTorch eager loop: shuffled batches, Adam, a validation pass per epoch."""
    name, spec, (x, y), (vx, vy) = data(epochs)
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(512, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    x, labels = torch.as_tensor(x), torch.as_tensor(y.argmax(1))
    vx, vlabels = torch.as_tensor(vx), torch.as_tensor(vy.argmax(1))
    batch = spec.training.batch_size
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x)).split(batch):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[index]), labels[index])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            (model(vx).argmax(1) == vlabels).float().mean().item()
    return len(x) * epochs / (time.perf_counter() - start)


def zoo_train(epochs):
    """`zoo train mlp` as a user runs it: the default backend, gradients recorded every step."""
    from zoo.cli import main as zoo_main
    from zoo.runs import read_json

    with tempfile.TemporaryDirectory() as tmp:
        for dataset in ("mnist", "digits"):
            if zoo_main(["train", "mlp", "--dataset", dataset, "--epochs", str(epochs), "--out", f"{tmp}/{dataset}"]) == 0:
                status = read_json(f"{tmp}/{dataset}/status.json")
                break
        else:
            raise SystemExit("zoo train mlp failed")
    _, _, (x, _), _ = data(epochs)
    return len(x) * epochs / status["train_seconds"], status["backend"]


def child(variant, epochs):
    if variant == "zoo-cold":
        os.environ["ZOO_JAX_CACHE"] = tempfile.mkdtemp(prefix="zoo-cold-cache-")  # nothing compiled yet
    if variant.startswith("zoo"):
        rate, backend = zoo_train(epochs)
        return {"rate": rate, "backend": backend}
    return {"rate": plain_torch(epochs) if variant == "torch" else plain_keras(epochs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print("RESULT " + json.dumps(child(args.variant, args.epochs)))
        return
    # plain Keras-JAX: the ceiling for zoo on JAX, which adds its recording to that same step
    cache = tempfile.mkdtemp(prefix="zoo-bench-cache-")  # a user's cache, warmed by one training before measuring
    variants = {"zoo": {"ZOO_JAX_CACHE": cache}, "zoo-cold": {}, "keras": {"KERAS_BACKEND": "tensorflow"},
                "keras-jax": {"KERAS_BACKEND": "jax"}}
    if importlib.util.find_spec("torch"):
        variants["torch"] = {}
    rates = {v: [] for v in variants}
    backend = "?"

    def measure(variant):
        env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "ZOO_BACKEND", "ZOO_JAX_CACHE")}
        env.update(variants[variant])
        done = subprocess.run([sys.executable, __file__, "--variant", variant, "--epochs", str(args.epochs)],
                              env=env, capture_output=True, text=True)
        line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
        if not line:
            sys.exit(f"{variant} failed:\n{done.stderr[-2000:]}")
        return json.loads(line[-1][7:])

    measure("zoo")  # the warm-up: what a user's first `zoo train mlp` leaves in the cache
    for i in range(args.repeats):
        order = list(variants)[i % len(variants):] + list(variants)[:i % len(variants)]
        for variant in order:
            result = measure(variant)
            rates[variant].append(result["rate"])
            backend = result.get("backend", backend)
    median = {v: statistics.median(r) for v, r in rates.items()}
    name = data(1)[0]
    print(f"dataset {name}, mlp 784-512-512-10, batch 128, {args.epochs} epoch(s), median of {args.repeats}")
    print(f"zoo train mlp ({backend}, recording) : {median['zoo']:8.0f} samples/s   ({', '.join(f'{r:.0f}' for r in rates['zoo'])})")
    print(f"plain Keras-TensorFlow fit        : {median['keras']:8.0f} samples/s   ({', '.join(f'{r:.0f}' for r in rates['keras'])})")
    print(f"ratio zoo / Keras-TensorFlow      : {median['zoo'] / median['keras']:.2f}   (goal >= 1.5)")
    print(f"zoo train mlp, first time (empty compile cache): {median['zoo-cold']:8.0f} samples/s   "
          f"({', '.join(f'{r:.0f}' for r in rates['zoo-cold'])}), {median['zoo-cold'] / median['keras']:.2f}x Keras-TensorFlow")
    print(f"plain Keras-JAX fit (no recording): {median['keras-jax']:8.0f} samples/s   "
          f"({', '.join(f'{r:.0f}' for r in rates['keras-jax'])}), {median['keras-jax'] / median['keras']:.2f}x Keras-TensorFlow")
    if "torch" in median:
        print(f"plain PyTorch eager loop          : {median['torch']:8.0f} samples/s   ({', '.join(f'{r:.0f}' for r in rates['torch'])})")
        print(f"ratio zoo / PyTorch eager         : {median['zoo'] / median['torch']:.2f}   (goal >= 1.0)")
    else:
        print("PyTorch not installed: no PyTorch comparison (pip install 'zoo[torch]')")


if __name__ == "__main__":
    main()
