"""Per-image latency of each runtime on the same trained model: Keras, SavedModel, LiteRT, ONNX Runtime.

Exports the run (default: trains `mlp` and `cnn` for one epoch on digits) in every format with
`zoo.export`, then times one 28x28 image at a time through each runtime (and zoo's pad path and
`model.predict` for scale), after a warm-up, in one process. Prints a table in ms.

    python bench/predict_formats.py [RUN_DIR ...] [--calls 300]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import zoo
from zoo.export import export
from zoo.inference import Predictor
from zoo.model_files import FORMATS, load_model, load_runtime

NAMES = {"keras": "m.keras", "saved_model": "m_savedmodel", "tflite": "m.tflite", "onnx": "m.onnx"}


def time_calls(fn, x, calls: int) -> list[float]:
    for _ in range(10):
        fn(x)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zoo-formats-"))
    runs = [Path(r) for r in args.runs] or [
        zoo.train(name, epochs=1, out=tmp / name, progress=False, record_every=0).path for name in ("mlp", "cnn")]
    print(f"one image per call, {args.calls} calls, ms (p50 / p95)")
    print(f"{'model':<6} {'runtime':<34} {'p50':>7} {'p95':>7}")
    for run in runs:
        model = load_model(run / "model.keras")
        x = np.random.default_rng(0).random((1, *model.inputs[0].shape[1:]), dtype=np.float32)
        rows = [("keras model.predict", lambda v: model.predict(v, verbose=0)),
                ("keras model(x) (eager call)", lambda v: model(v, training=False))]
        for format in FORMATS:
            result = export(run, format, tmp / f"{run.name}-{NAMES[format]}")
            rows.append((f"{format} ({result.runtime.split('.')[0]})", load_runtime(result.path, format)))
        predictor = Predictor(model)
        rows.append((f"zoo Predictor ({predictor.engine})", lambda v: predictor.predict(v.reshape(28, 28))))
        for label, fn in rows:
            times = time_calls(fn, x, args.calls)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{run.name:<6} {label:<34} {statistics.median(times):7.3f} {p95:7.3f}")


if __name__ == "__main__":
    main()
