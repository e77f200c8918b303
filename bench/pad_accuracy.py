"""How well a model reads digits drawn on the app's pad: real MNIST test digits rendered pad-style.

Each MNIST test digit is drawn as a person draws on the 280x280 pad: solid dark strokes on white, the
digit scaled to a random height (100-230 px) and placed off-centre at random. The pad's ink then
goes through exactly the Draw view's path (`Predictor.predict_ink`). Prints how many are read right.

The models are the runs given, else `mlp` and `cnn` trained on the offline `digits` (the default dataset,
augmented as the specs say) and on MNIST, with the specs' defaults, in a temporary folder. The goal for a
digits-trained model is 85% (the Draw view quotes these figures: gui/views/draw_view.py, PAD_ACCURACY).

    python bench/pad_accuracy.py [RUN_DIR ...] [--n 1000] [--seed 0]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import zoo
from zoo.datasets import load_mnist_arrays, mnist_is_local
from zoo.digit_image import ink_bounding_box
from zoo.inference import Predictor

PAD = 280


def pad_style(image28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit (uint8, white on black) as the pad's ink: solid strokes, scaled, off-centre."""
    ink = image28.astype(np.float32) / 255.0
    top, bottom, left, right = ink_bounding_box(ink)
    crop = ink[top:bottom, left:right]
    height = int(rng.integers(100, 231))
    scale = height / crop.shape[0]
    width = max(1, min(PAD - 10, round(crop.shape[1] * scale)))
    big = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR), np.float32)
    strokes = (big > 0.4).astype(np.float32)  # the pad's pen draws solid black, not MNIST's grey edges
    pad = np.zeros((PAD, PAD), np.float32)
    y = int(rng.integers(0, PAD - height + 1))
    x = int(rng.integers(0, PAD - width + 1))
    pad[y:y + height, x:x + width] = strokes
    return pad


def pad_digits(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    arrays = load_mnist_arrays()
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(arrays["x_test"]), n, replace=False)
    return [pad_style(arrays["x_test"][i], rng) for i in picked], arrays["y_test"][picked].astype(int)


def accuracy(run_dir: Path, pads: list[np.ndarray], labels: np.ndarray) -> int:
    predictor = Predictor.from_run(run_dir)
    return sum(predictor.predict_ink(pad).label == label for pad, label in zip(pads, labels))


def _between(low: int, high: int):
    def parse(text: str) -> int:
        if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, received {text[:20]!r}")
        return int(text)
    return parse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--n", type=_between(1, 10_000), default=1000, help="how many MNIST test digits to draw "
                        "(1-10,000; default 1000)")
    parser.add_argument("--seed", type=_between(0, 2**32 - 1), default=0, help="which digits and how they are drawn")
    args = parser.parse_args(argv)
    try:  # the runs given must be digit models, checked before the digits are drawn
        for run in args.runs:
            Predictor.from_run(run)
    except zoo.ZooError as e:
        raise SystemExit(f"pad_accuracy.py: {e}") from None
    if not mnist_is_local():
        raise SystemExit("MNIST not found: set ZOO_DATA_DIR to the folder holding mnist/ (the test digits are drawn from it)")
    pads, labels = pad_digits(args.n, args.seed)
    runs = list(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        if not runs:
            for model, dataset in (("mlp", "digits"), ("cnn", "digits"), ("mlp", "mnist"), ("cnn", "mnist")):
                result = zoo.train(model, dataset=dataset, out=Path(tmp) / f"{model}-{dataset}", progress=False)
                runs.append(result.path)
        print(f"{'run':<40} {'test acc':>8}  pad-style digits read right")
        for run in runs:
            test = zoo.runs.read_run(run).accuracy
            right = accuracy(run, pads, labels)
            print(f"{run.name:<40} {test * 100:7.2f}%  {right}/{len(labels)} = {right / len(labels) * 100:.1f}%")


if __name__ == "__main__":
    main()
