"""The longest gap between GUI event-loop ticks while a training runs in the app.

Opens the main window, waits for TensorFlow to load, starts a training from the Train tab (its
live curves and the Gradients tab following it), and meanwhile a 5 ms timer timestamps every
event-loop tick. A gap is the time between two ticks minus the timer's interval: how long the
window could not answer. Prints the longest gap and percentiles. Goal: at most 50 ms.

    python bench/gui_responsiveness.py [--model mlp] [--dataset digits] [--epochs 5] [--view train|gradients]
"""
import argparse
import os
import sys
import time

TICK_MS = 5
GOAL_MS = 50.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--view", choices=["train", "gradients"], default="train", help="the tab on screen while it trains")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from gui.window import MainWindow

    app = QApplication([])
    window = MainWindow()
    window.show()
    ticks: list[float] = []
    timer = QTimer(interval=TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    end: dict = {}

    def start_training():
        window.train.select_model(args.model)
        window.train.dataset.setCurrentText(args.dataset)
        window.train.epochs.setValue(args.epochs)
        window.tabs.setCurrentWidget(window.train if args.view == "train" else window.gradients)
        timer.start()
        window.train.start()

    window._loader_done = False
    window.load_tensorflow()
    window._loader.ready.connect(lambda _: QTimer.singleShot(500, start_training))
    window.train.run_finished.connect(lambda e: (end.update(e), timer.stop(), app.quit()))
    app.exec()
    gaps = np.diff(np.array(ticks)) * 1000 - TICK_MS
    gaps = np.maximum(gaps, 0)
    print(f"{args.model} on {args.dataset}, {args.epochs} epochs, {args.view} tab shown: {end.get('state')} "
          f"({len(ticks)} ticks over {ticks[-1] - ticks[0]:.1f} s)")
    print(f"event-loop gap: median {np.median(gaps):.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, "
          f"longest {gaps.max():.1f} ms; goal <= {GOAL_MS:.0f} ms: {'met' if gaps.max() <= GOAL_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
