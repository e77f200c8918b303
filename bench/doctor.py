"""The training doctor on several seeds with each spec's own settings and data (tests/test_doctor.py does the
same on small data, on fewer seeds): every pathological built-in should get its finding and every healthy one
none. Prints one row per model and seed, and the count of right answers.

    ZOO_DATA_DIR=../shared/data python bench/doctor.py [SEEDS]
"""
import sys
import tempfile
import time
from pathlib import Path

import zoo
from zoo.doctor import diagnose

EXPECTED = {"deep-sigmoid": "vanishing_gradients", "exploding": "exploding_gradients", "init-zeros": "not_learning",
            "init-small": "vanishing_gradients", "init-glorot": "vanishing_gradients",
            "rnn-simple": "vanishing_gradients",
            "mlp": None, "cnn": None, "deep-relu": None, "exploding-clipped": None, "deep-residual": None,
            "deep-sigmoid-bn": None, "init-he": None, "rnn-lstm": None}


def main(seeds: int = 3) -> None:
    right = total = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, expected in EXPECTED.items():
            for seed in range(seeds):
                started = time.perf_counter()
                run = zoo.train(name, seed=seed, out=Path(folder) / f"{name}-{seed}", progress=False)
                codes = [f.code for f in diagnose(run.path)]
                ok = expected in codes if expected else not codes
                right, total = right + ok, total + 1
                print(f"{name:18s} seed {seed}  expected {expected or 'nothing':22s} found {', '.join(codes) or '-':60s}"
                      f" {'ok' if ok else 'WRONG'}  ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{right}/{total} right")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
