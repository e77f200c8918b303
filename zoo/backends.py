"""The Keras backends zoo trains on, and which one `zoo train` picks. A leaf: it imports no Keras."""
from __future__ import annotations

import importlib.util
import os

from .errors import ZooError

# Fastest first, as measured by bench/train_throughput.py on a 2-core CPU (JAX's compiled step is 2-3x TensorFlow's).
BACKENDS = ("jax", "tensorflow", "torch")  # each also the name of the package that provides it


def installed_backends() -> list[str]:
    return [name for name in BACKENDS if importlib.util.find_spec(name) is not None]


def check_backend(name: str, source: str = "--backend") -> str:
    if name not in BACKENDS:
        raise ZooError(f"{source}: unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name not in installed_backends():
        hint = " (pip install 'zoo[torch]')" if name == "torch" else ""
        raise ZooError(f"{source}: the {name} backend is not installed{hint}")
    return name


def training_backend(requested: str | None = None, bound: str | None = None, default: str | None = None) -> str:
    """The backend to train on: the one asked for, else ZOO_BACKEND, else KERAS_BACKEND, else the one Keras
    already runs on in this process, else the fastest installed. `bound`: the one backend the model trains on (the perceptron
    rule is a TensorFlow step); asking for another is an error. `default`: used before the fastest installed
    (a resumed run's own backend), when it is installed."""
    import sys

    if bound:
        chosen = requested or os.environ.get("ZOO_BACKEND") or bound
        if chosen != bound:
            raise ZooError(f"this model trains on the {bound} backend only (asked for {chosen})")
        return check_backend(bound)
    if requested:
        return check_backend(requested)
    if os.environ.get("ZOO_BACKEND"):
        return check_backend(os.environ["ZOO_BACKEND"], "ZOO_BACKEND")
    if os.environ.get("KERAS_BACKEND"):  # Keras' own setting, when the user made it
        return check_backend(os.environ["KERAS_BACKEND"], "KERAS_BACKEND")
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if default in installed_backends():
        return default
    return installed_backends()[0]


def use_backend(name: str) -> None:
    """Make Keras load `name`. Keras picks its backend once, at import: afterwards only the same one will do."""
    import sys

    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise ZooError(f"Keras is already running on {current}; start a new process for the {name} backend")
        return
    os.environ["KERAS_BACKEND"] = name

