"""Keras callbacks: plain `keras.callbacks.Callback`s, usable in any `model.fit`."""
from .activation_recorder import ActivationRecorder
from .cosine_learning_rate import CosineLearningRate
from .doctor_watch import DoctorWatch
from .epoch_checkpoint import EpochCheckpoint, read_checkpoint
from .epoch_seeds import EpochSeeds
from .gradient_recorder import GRAD_STATS, HIST_EDGES, GradientRecorder
from .gradient_statistics_optimizer import GradientStatisticsOptimizer
from .input_gradient_recorder import InputGradientRecorder
from .json_lines_progress import JsonLinesProgress
from .progress_printer import ProgressPrinter
from .record_writer import RecordWriter
from .run_logger import RunLogger
from .run_recorder import RunRecorder
from .stop_on_non_finite import StopOnNonFinite
from .stop_on_request import StopOnRequest
from .stop_when_converged import StopWhenConverged

__all__ = ["ActivationRecorder", "CosineLearningRate", "DoctorWatch", "EpochCheckpoint", "EpochSeeds", "GRAD_STATS", "HIST_EDGES", "GradientRecorder", "GradientStatisticsOptimizer", "InputGradientRecorder", "JsonLinesProgress", "ProgressPrinter", "RecordWriter", "RunLogger", "RunRecorder", "StopOnNonFinite", "StopOnRequest", "StopWhenConverged", "read_checkpoint"]
