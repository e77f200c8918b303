"""A keras.applications model's per-layer gradient norms, recorded by zoo's GradientRecorder in a plain fit.

ResNet50 (weights=None) on MNIST digits padded to 32x32 and repeated over 3 channels, Adam, batch 32, on the
backend KERAS_BACKEND names (default: JAX, the fastest here). Writes the figure the README shows.

    KERAS_BACKEND=jax python bench/applications_gradients.py [--steps 60] [--out assets/applications_gradients.png]
"""
import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from zoo.datasets import load_dataset  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", default="assets/applications_gradients.png")
    args = parser.parse_args()
    import keras

    from zoo.callbacks import GradientRecorder

    try:
        data = load_dataset("mnist")
    except zoo.DataError:
        data = load_dataset("digits")
    x, y = data.x_train[: 32 * args.steps], data.y_train[: 32 * args.steps]
    side = x.shape[1]
    x = np.pad(x.reshape(len(x), side, side, 1).astype("float32") / max(float(x.max()), 1.0),
               [(0, 0), ((32 - side) // 2, (33 - side) // 2), ((32 - side) // 2, (33 - side) // 2), (0, 0)])
    x = np.repeat(x, 3, axis=-1)
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None, classes=10)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    recorder = GradientRecorder(detail_every=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[recorder])
    seconds = time.perf_counter() - start
    table = recorder.table("variable")
    names = recorder.variable_names
    kernels = [i for i, n in enumerate(names) if n.endswith("/kernel")]
    gammas = [i for i, n in enumerate(names) if n.endswith("/gamma")]
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=110)
    for row, colour, label in ((0, "#1f77b4", "step 1"), (len(table["step"]) - 1, "#d62728", f"step {table['step'][-1]}")):
        norms = table["grad_norm"][row]
        ax.semilogy(range(1, len(kernels) + 1), norms[kernels], color=colour, label=f"kernels, {label}")
        ax.semilogy(np.searchsorted(kernels, gammas) + 1, norms[gammas], ".", color=colour, alpha=0.5,
                    label=f"BN gammas, {label}")
    ax.set_xlabel(f"convolution / dense layer, input to output (ResNet50: {len(kernels)} kernels)")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title(f"keras.applications.ResNet50 on {data.info.name}, {keras.backend.backend()} backend: per-layer gradient norms")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(args.out)
    first = table["grad_norm"][0][kernels]
    print(f"{len(table['step'])} steps in {seconds:.1f} s on {keras.backend.backend()}; {len(names)} variables recorded")
    print(f"step 1 kernel gradient norm: first conv {first[0]:.3g}, last dense {first[-1]:.3g}, "
          f"median {np.median(first):.3g}; wrote {args.out}")


if __name__ == "__main__":
    main()
