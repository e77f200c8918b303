"""Latency of the drawing pad's stroke-to-probabilities path: `to_mnist` of a 280x280 drawing + `Predictor.predict`.

That is `Predictor.predict_ink`; the predict() column is the forward pass alone.

Timed --repeats times after a warm-up, with `model.predict` on the same image beside it for comparison
(goal: p95 at most 5 ms). Uses the run folders given, else trains `mlp` (and `cnn`, unless --no-cnn)
for one epoch on the offline digits in a temporary folder.

    python bench/predict_latency.py [RUN_DIR ...] [--repeats 500] [--no-cnn]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import zoo
from zoo.inference import Predictor

# a few digits as pen strokes on a 280x280 pad, in pad pixels
STROKES = {
    1: [[(150, 40), (140, 250)]],
    4: [[(170, 40), (80, 170), (210, 170)], [(170, 40), (165, 250)]],
    7: [[(70, 50), (210, 50), (120, 250)]],
    0: [[(140, 40), (80, 90), (75, 190), (140, 245), (200, 190), (205, 90), (140, 40)]],
}


def drawings() -> list[np.ndarray]:
    """The pad's ink (float, ink high) for each digit in STROKES, as the app's pad gives it."""
    out = []
    for strokes in STROKES.values():
        image = Image.new("L", (280, 280), 0)
        pen = ImageDraw.Draw(image)
        for stroke in strokes:
            pen.line(stroke, fill=255, width=22, joint="curve")
        out.append(np.asarray(image, np.float32) / 255.0)
    return out


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.array(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def bench(run_dir: Path, repeats: int) -> None:
    predictor = Predictor.from_run(run_dir)
    pads = drawings()
    for pad in pads:  # warm-up
        predictor.predict_ink(pad)
    seconds = []
    for i in range(repeats):
        pad = pads[i % len(pads)]
        start = time.perf_counter()
        prediction = predictor.predict_ink(pad)
        seconds.append(time.perf_counter() - start)
    assert abs(float(prediction.probabilities.sum()) - 1.0) < 1e-4
    model = predictor.model
    image = predictor.preprocess(pads[0]).reshape((1, *predictor.input_shape))
    model.predict(image, verbose=0)  # warm-up
    predict_seconds = []
    for _ in range(max(20, repeats // 10)):
        start = time.perf_counter()
        model.predict(image, verbose=0)
        predict_seconds.append(time.perf_counter() - start)
    only = []
    image28 = predictor.preprocess(pads[0])
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict(image28)
        only.append(time.perf_counter() - start)
    p50, p95, worst = percentiles(seconds)
    predict_ms = statistics.median(predict_seconds) * 1e3
    print(f"{model.name:<6} {predictor.engine:<10} {p50:8.3f} {p95:8.3f} {worst:8.3f} {percentiles(only)[0]:12.3f}"
          f" {predict_ms:16.1f} {predict_ms / p50:8.0f}x  {'ok' if p95 <= 5.0 else 'SLOW (goal p95 <= 5 ms)'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run folders (default: train mlp and cnn for 1 epoch)")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--no-cnn", action="store_true", help="without run folders: train and time mlp only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = list(args.runs)
        if not runs:
            for name in ["mlp"] + ([] if args.no_cnn else ["cnn"]):
                print(f"training {name} for 1 epoch on digits...", flush=True)
                runs.append(zoo.train(name, dataset="digits", epochs=1, out=Path(tmp) / name, progress=False,
                                      record_every=0).path)
        print(f"\nstroke -> probabilities (Predictor.predict_ink: to_mnist of a 280x280 pad + predict), {args.repeats} calls, ms")
        print(f"{'model':<6} {'engine':<10} {'p50':>8} {'p95':>8} {'max':>8} {'predict()':>12}"
              f" {'model.predict':>16} {'ratio':>9}")
        for run in runs:
            bench(Path(run), args.repeats)


if __name__ == "__main__":
    main()
