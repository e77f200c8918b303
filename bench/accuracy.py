"""Test accuracy of the built-in digit recipes on the real MNIST, seed by seed.

Trains each model with its spec's recipe (epochs, batch size, schedule) for each seed, exactly as
`zoo train MODEL --dataset mnist --seed S` does, and prints one table. The README quotes it; the goals
are mlp >= 98.0% and cnn >= 99.0% on every seed.

    ZOO_DATA_DIR=../shared/data python bench/accuracy.py [--models mlp cnn] [--seeds 0 1 2] [--set KEY=VALUE ...]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import zoo
from zoo.cli import parse_setting
from zoo.datasets import mnist_is_local

GOALS = {"mlp": 0.980, "cnn": 0.990}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(GOALS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", nargs="*", type=parse_setting, default=[], metavar="KEY=VALUE",
                        help="spec overrides to try (TOML values, as `zoo train --set`), e.g. training.epochs=15")
    args = parser.parse_args(argv)
    if not mnist_is_local():
        raise SystemExit("MNIST not found: set ZOO_DATA_DIR to the folder holding mnist/")
    overrides = dict(args.set)
    try:  # every spec checked before hours of training, not after
        for model in args.models:
            for seed in args.seeds:
                zoo.load_spec(model).with_overrides(**overrides, dataset="mnist", **{"training.seed": seed})
    except zoo.ZooError as e:
        raise SystemExit(f"accuracy.py: {e}") from None
    rows, missed = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for seed in args.seeds:
                started = time.perf_counter()
                result = zoo.train(model, dataset="mnist", seed=seed, overrides=overrides, progress=False,
                                   out=Path(tmp) / f"{model}-{seed}")
                accuracy = result.test["accuracy"]
                goal = GOALS.get(model)
                ok = goal is None or accuracy >= goal
                missed += not ok
                rows.append((model, seed, accuracy, goal, time.perf_counter() - started, ok))
                print(f"  {model} seed {seed}: {accuracy * 100:.2f}%", flush=True)
    print(f"\n| model | seed | test accuracy | goal | seconds |\n| --- | --- | --- | --- | --- |")
    for model, seed, accuracy, goal, seconds, ok in rows:
        goal_text = f">= {goal * 100:.1f}%" if goal else ""
        print(f"| {model} | {seed} | {accuracy * 100:.2f}%{'' if ok else ' (below goal)'} | {goal_text} | {seconds:.0f} |")
    if overrides:
        print(f"\noverrides: {overrides}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
