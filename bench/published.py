"""The published results of issue 17 on the real MNIST (tests/test_published.py checks them on the offline digits):

- Nielsen, Neural Networks and Deep Learning, ch. 5: the bias-gradient norms of the four hidden layers of
  `nielsen-ch5` at initialisation, on one batch of 1,000 training images, as zoo's GradientRecorder records them
  (per variable), over several seeds, next to Nielsen's 0.003, 0.017, 0.070, 0.285;
- He et al. 2015 and Glorot & Bengio 2010: E[a²] of the 30 hidden layers of `init-he` and `init-glorot` at
  initialisation, as ActivationRecorder records it, first and last layer and their ratio.

    ZOO_DATA_DIR=../shared/data python bench/published.py
"""
import numpy as np

import zoo
from zoo.callbacks import ActivationRecorder, GradientRecorder
from zoo.datasets import load_dataset, mnist_is_local, prepare

NIELSEN = [0.003, 0.017, 0.070, 0.285]
SEEDS = 5


def nielsen(x, y) -> np.ndarray:
    rows = []
    for seed in range(SEEDS):
        model = zoo.build("nielsen-ch5", training__seed=seed)
        recorder = GradientRecorder()
        model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
        table = recorder.table(per="variable")
        hidden = [layer.name for layer in model.layers if layer.name.startswith("dense_")]
        rows.append([float(table["grad_norm"][0, recorder.variable_names.index(f"{name}/bias")]) for name in hidden])
    return np.array(rows)


def mean_square(name: str, x, y) -> np.ndarray:
    rows = []
    for seed in range(SEEDS):
        model = zoo.build(name, training__seed=seed)
        recorder = ActivationRecorder(x[:256])
        model.fit(x[:64], y[:64], batch_size=64, epochs=1, verbose=0, callbacks=[recorder])
        first = [r for r in recorder.records if r["step"] == 0]
        rows.append([r["act_mean"] ** 2 + r["act_std"] ** 2 for r in first])
    return np.array(rows)


def main() -> None:
    dataset = "mnist" if mnist_is_local() else "digits"
    spec = zoo.load_spec("nielsen-ch5")
    x, y = prepare(load_dataset(dataset), spec.input_shape, spec.training.loss)["train"]
    x, y = x[:1000], y[:1000]
    norms = nielsen(x, y)
    print(f"Nielsen ch. 5 on {dataset}, 1,000 training images, {SEEDS} seeds: ||dC/db|| of hidden layers 1-4")
    print(f"  zoo (softmax output), mean: {[float(f'{v:.3g}') for v in norms.mean(0)]}")
    print(f"  Nielsen (10 sigmoids, summed cross-entropy): {NIELSEN}")
    ratios = (norms[:, :-1] / norms[:, 1:]).mean(0)
    print(f"  ratios layer k / layer k+1: zoo {[float(f'{v:.3g}') for v in ratios]}, "
          f"Nielsen {np.round(np.array(NIELSEN[:-1]) / NIELSEN[1:], 3).tolist()}")
    for name in ("init-he", "init-glorot"):
        square = mean_square(name, x, y).mean(0)
        print(f"{name}: E[a²] first hidden {square[0]:.3e}, last (30th) {square[-1]:.3e}, "
              f"last/first = 2^{np.log2(square[-1] / square[0]):.1f}  (mean of {SEEDS} initialisations)")


if __name__ == "__main__":
    main()
