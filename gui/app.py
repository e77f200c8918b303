"""`zoo gui` / `python -m gui`: the window shows at once; TensorFlow loads behind it."""
from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    from .platform_check import problem

    if (why := problem(argv)) is not None:  # before Qt aborts with "could not load the Qt platform plugin"
        print(why, file=sys.stderr)
        return 2
    if os.environ.get("KERAS_BACKEND") and not os.environ.get("ZOO_BACKEND"):
        os.environ["ZOO_BACKEND"] = os.environ["KERAS_BACKEND"]  # the user's backend: their trainings use it too
    os.environ["KERAS_BACKEND"] = "tensorflow"  # the app's own inference (trainings choose theirs: zoo.backends)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .window import MainWindow

    app = QApplication.instance() or QApplication(["zoo", *(argv or [])])  # argv[0]: the window class, "zoo"
    app.setApplicationName("zoo")
    window = MainWindow()
    window.show()
    if os.environ.get("ZOO_GUI_REPORT_SHOWN"):  # bench/startup.py: say when the window is on screen, then quit
        QTimer.singleShot(0, lambda: (print(f"shown {time.perf_counter() - STARTED:.3f}", flush=True), app.quit()))
    else:
        QTimer.singleShot(0, window.load_tensorflow)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
