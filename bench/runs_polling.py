"""What following a runs folder costs the app: `folder_signature` (what `gui.runs_model.RunsModel` does every
2 s: a stat per run) and `list_runs` (what it does when something changed: every status.json read and
validated), for folders of 10, 100 and 1,000 runs, as milliseconds per call and as a share of the polling
interval.

    python bench/runs_polling.py
"""
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui.runs_model import POLL_MS, folder_signature  # noqa: E402
from zoo.runs import list_runs  # noqa: E402


def timed(fn, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    print(f"{'runs':>6} {'signature ms':>13} {'share of 2 s':>13} {'list_runs ms':>13}")
    for count in (10, 100, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for i in range(count):
                run = folder / f"run-{i:04d}"
                run.mkdir()
                (run / "status.json").write_text(json.dumps({"state": "completed", "model": "mlp", "epochs": 5,
                                                             "epochs_completed": 5, "started": f"2026-12-02T{i % 24:02d}:00:00"}))
            signature = timed(lambda: folder_signature(folder))
            listing = timed(lambda: list_runs(folder), repeats=5)
            print(f"{count:>6} {signature:13.2f} {signature / POLL_MS:13.2%} {listing:13.1f}")


if __name__ == "__main__":
    main()
