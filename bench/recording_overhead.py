"""Throughput of `mlp` training with gradient recording every step against plain `fit`, per Keras backend.

Per round, each variant trains a fresh model for --epochs (order rotating between rounds); the ratios
plain/recorded time are taken within a round and their median printed, which keeps this noisy machine's
slow and fast spells out of the comparison (the spread of the rounds' ratios is printed beside it). Two ratios: steady-state (median step time, the cost of
recording itself) and whole fit (including the one-time tracing of the larger train step).
Each installed backend (TensorFlow, JAX, PyTorch) runs in its own process, one after the other.
Uses MNIST when it can be found (ZOO_DATA_DIR, Keras' cache), else digits. Goal: at least 0.95 on each.

    python bench/recording_overhead.py [--epochs 1] [--rounds 5] [--backend jax]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import zoo
from zoo.datasets import load_dataset, prepare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", help="one backend (default: each installed one, in turn)")
    args = parser.parse_args()
    if not args.backend:
        from zoo.backends import installed_backends

        for backend in installed_backends():
            env = {**os.environ, "KERAS_BACKEND": backend}
            print(f"--- {backend}", flush=True)
            subprocess.run([sys.executable, __file__, "--backend", backend, "--epochs", str(args.epochs),
                            "--rounds", str(args.rounds)], env=env, check=True)
        return
    os.environ["KERAS_BACKEND"] = args.backend
    try:
        name, data = "mnist", load_dataset("mnist")
    except zoo.DataError:
        name, data = "digits", load_dataset("digits")
    from zoo._backend import keras
    from zoo.callbacks import ActivationRecorder, GradientRecorder

    class StepClock(keras.callbacks.Callback):
        async_safe = True  # only a batch-begin hook: keeps Keras' asynchronous dispatch, like plain fit

        def on_train_begin(self, logs=None):
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.times.append(time.perf_counter())

    spec = zoo.load_spec("mlp").with_overrides(dataset=name)
    (x, y) = prepare(data, spec.input_shape, spec.training.loss)["train"]
    batch = spec.training.batch_size
    variants = {
        "plain fit": lambda: [],
        "recording (default)": lambda: [GradientRecorder(), ActivationRecorder(x[:256])],
        "recording, all stats every step": lambda: [GradientRecorder(detail_every=1), ActivationRecorder(x[:256])],
    }
    step_time = {label: [] for label in variants}
    fit_time = {label: [] for label in variants}
    for round_ in range(args.rounds):
        labels = list(variants)
        labels = labels[round_ % len(labels):] + labels[:round_ % len(labels)]
        for label in labels:
            model = zoo.build(spec)
            clock = StepClock()
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=args.epochs, verbose=0, callbacks=variants[label]() + [clock])
            fit_time[label].append(time.perf_counter() - start)
            step_time[label].append(float(np.median(np.diff(clock.times[1:]))))  # from step 2: tracing excluded

    print(f"{keras.backend.backend()}: dataset {name}, {len(x)} samples, batch {batch}, {args.epochs} epoch(s), {args.rounds} rounds")
    print(f"{'':34s} {'step ms':>8s} {'steady ratio':>13s} {'rounds: min-max':>16s} {'fit s':>7s} {'fit ratio':>10s}")
    for label in variants:
        steady = [p / r for p, r in zip(step_time["plain fit"], step_time[label])]
        whole = statistics.median(p / r for p, r in zip(fit_time["plain fit"], fit_time[label]))
        print(f"{label:34s} {statistics.median(step_time[label]) * 1e3:8.3f} {statistics.median(steady):13.3f} "
              f"{f'{min(steady):.3f}-{max(steady):.3f}':>16s} {statistics.median(fit_time[label]):7.2f} {whole:10.3f}")
    print("goal: recording (default) steady ratio >= 0.95")


if __name__ == "__main__":
    main()
