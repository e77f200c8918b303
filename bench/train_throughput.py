"""Samples per second of `zoo train mlp` against a hand-written `keras.Model.fit` of the same network and batch.

Both run in this one process, interleaved, --repeats times each; the ratio of the medians zoo/plain is the result (goal: at least 1.0). Uses MNIST when it can be found (ZOO_DATA_DIR, Keras' cache), else digits.

    python bench/train_throughput.py [--epochs 2] [--repeats 2] [--dataset mnist|digits]
"""
import argparse
import statistics
import tempfile
import time

import zoo
from zoo.datasets import load_dataset, prepare


def plain_keras_mlp(keras):
    """The `mlp` spec written by hand, as a tutorial would."""
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(512, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(512, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default=None)
    args = parser.parse_args()
    try:
        name = args.dataset or "mnist"
        data = load_dataset(name)
    except zoo.DataError:
        name, data = "digits", load_dataset("digits")
    spec = zoo.load_spec("mlp").with_overrides(dataset=name, **{"training.epochs": args.epochs})
    arrays = prepare(data, spec.input_shape, spec.training.loss)
    (x, y), val = arrays["train"], arrays["val"]
    batch = spec.training.batch_size
    samples = len(x) * args.epochs
    from zoo._backend import keras

    plain, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        def run_plain():
            keras.utils.set_random_seed(0)
            model = plain_keras_mlp(keras)
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=args.epochs, validation_data=val, verbose=0)
            plain.append(samples / (time.perf_counter() - start))

        def run_zoo(i):
            result = zoo.train(spec, out=f"{tmp}/run{i}", data=data, progress=False)
            status = zoo.runs.read_json(result.path / "status.json")
            ours.append(samples / status["train_seconds"])  # the same span: model.fit, with zoo's callbacks

        for i in range(args.repeats):  # alternate who goes first, so neither always gets a warmer machine
            if i % 2:
                run_zoo(i)
                run_plain()
            else:
                run_plain()
                run_zoo(i)
    med_plain, med_ours = statistics.median(plain), statistics.median(ours)
    print(f"dataset {name}, {len(x)} training samples, batch {batch}, {args.epochs} epoch(s), median of {args.repeats}")
    print(f"plain keras fit : {med_plain:9.0f} samples/s   (runs: {', '.join(f'{v:.0f}' for v in plain)})")
    print(f"zoo train mlp   : {med_ours:9.0f} samples/s   (runs: {', '.join(f'{v:.0f}' for v in ours)})")
    print(f"ratio zoo/plain : {med_ours / med_plain:.3f}   (goal >= 1.0)")


if __name__ == "__main__":
    main()
