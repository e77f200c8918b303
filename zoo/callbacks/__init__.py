"""Keras callbacks: plain `keras.callbacks.Callback`s, usable in any `model.fit`."""
from .progress_printer import ProgressPrinter
from .run_logger import RunLogger
from .stop_on_non_finite import StopOnNonFinite
from .stop_on_request import StopOnRequest

__all__ = ["ProgressPrinter", "RunLogger", "StopOnNonFinite", "StopOnRequest"]
