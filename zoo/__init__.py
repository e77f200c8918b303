"""zoo: a declarative Keras 3 model zoo for seeing what the deep-learning textbook says.

    >>> import zoo
    >>> zoo.list_models("deep-*")
    ['deep-relu', 'deep-sigmoid', 'deep-tanh']
    >>> model = zoo.build("deep-sigmoid")          # a compiled keras.Model

Importing zoo does not import TensorFlow; building or training a model does.
"""
from . import builders, runs  # noqa: F401  (builders: zoo's own register, as timm's models do)
from ._version import __version__
from .catalogue import list_models, load_spec
from .datasets import list_datasets, load_dataset, prepare
from .errors import DataError, RunError, SpecError, ZooError
from .factory import build
from .registry import list_builders, register_builder
from .spec import ModelSpec


def export(*args, **kwargs):
    """Export a run or model as keras, saved_model, tflite or onnx, verified in its runtime; see `zoo.export.export`."""
    from .export import export as _export

    return _export(*args, **kwargs)


def train(*args, **kwargs):
    """Train a model and record the run; see `zoo.training.train`."""
    from .training import train as _train

    return _train(*args, **kwargs)


__all__ = [
    "DataError", "ModelSpec", "RunError", "SpecError", "ZooError", "build", "export", "list_builders", "list_datasets",
    "list_models", "load_dataset", "load_spec", "prepare", "register_builder", "train", "__version__",
]
