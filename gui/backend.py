"""TensorFlow, imported on a background thread so the window is on screen at once."""
from __future__ import annotations

import time

from PySide6.QtCore import QThread, Signal


class TensorFlowLoader(QThread):
    """Imports Keras and TensorFlow (about 3 s), then says `ready(versions)` or `failed(message)`."""

    ready = Signal(str)
    failed = Signal(str)

    def run(self) -> None:
        started = time.perf_counter()
        try:
            from zoo._backend import keras, tf
        except Exception as e:  # a broken install: say so in the window, keep the rest usable
            self.failed.emit(f"TensorFlow could not be imported ({type(e).__name__}: {e}); reinstall with `make app`")
            return
        self.seconds = time.perf_counter() - started
        from zoo.backends import installed_backends

        self.ready.emit(f"TensorFlow {tf.__version__}, Keras {keras.__version__} · trainings on "
                        f"{', '.join(installed_backends())} (see Train)")


class Job(QThread):
    """Runs `fn()` off the GUI thread; `done(result)` or `failed(one-line message)` arrive in the GUI thread."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn, parent=None):
        super().__init__(parent)
        self.fn = fn

    def run(self) -> None:
        from zoo.errors import ZooError

        try:
            result = self.fn()
        except ZooError as e:
            self.failed.emit(str(e))
        except Exception as e:  # an unexpected failure still gets one line, never a crash
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(result)
