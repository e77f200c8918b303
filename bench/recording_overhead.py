"""Throughput of `mlp` training with gradient recording every step against plain `fit`, in one run.

Interleaved, alternating order, --repeats each; prints the ratio of the medians (goal: at least 0.95).
Uses MNIST when it can be found (ZOO_DATA_DIR, Keras' cache), else digits.

    python bench/recording_overhead.py [--epochs 1] [--repeats 4]
"""
import argparse
import statistics
import time

import zoo
from zoo.datasets import load_dataset, prepare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    try:
        name, data = "mnist", load_dataset("mnist")
    except zoo.DataError:
        name, data = "digits", load_dataset("digits")
    from zoo.callbacks import ActivationRecorder, GradientRecorder

    spec = zoo.load_spec("mlp").with_overrides(dataset=name)
    (x, y) = prepare(data, spec.input_shape, spec.training.loss)["train"]
    batch = spec.training.batch_size
    results = {"plain": [], "recorded": []}

    def run(label):
        model = zoo.build(spec)
        callbacks = [GradientRecorder(every=1), ActivationRecorder(x[:256])] if label == "recorded" else []
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=args.epochs, verbose=0, callbacks=callbacks)
        results[label].append(len(x) * args.epochs / (time.perf_counter() - start))

    for i in range(args.repeats):
        for label in (("plain", "recorded") if i % 2 == 0 else ("recorded", "plain")):
            run(label)
    plain, recorded = statistics.median(results["plain"]), statistics.median(results["recorded"])
    print(f"dataset {name}, {len(x)} samples, batch {batch}, {args.epochs} epoch(s), median of {args.repeats}")
    print(f"plain fit          : {plain:9.0f} samples/s  ({', '.join(f'{v:.0f}' for v in results['plain'])})")
    print(f"recording each step: {recorded:9.0f} samples/s  ({', '.join(f'{v:.0f}' for v in results['recorded'])})")
    print(f"ratio              : {recorded / plain:.3f}   (goal >= 0.95)")


if __name__ == "__main__":
    main()
