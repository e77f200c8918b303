"""Build the Keras model a spec declares: the catalogue's spec, the registry's builder, compiled."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .builders import compile_model
from .catalogue import load_spec
from .registry import get_builder

if TYPE_CHECKING:
    import keras

    from .spec import ModelSpec


def build(name_or_path: "str | Path | ModelSpec", compile: bool = True, **overrides) -> "keras.Model":
    """Build the Keras model a spec declares, compiled with its loss, optimiser and metrics.

    Overrides use the spec's dotted keys with dots written as double underscores or given in a dict:
    `zoo.build("mlp", **{"optimizer.learning_rate": 0.01})`.

    Example:
        >>> model = zoo.build("deep-sigmoid", optimizer__learning_rate=0.5)
        >>> model.fit(x, y, epochs=1)
    """
    spec = load_spec(name_or_path)
    if overrides:
        spec = spec.with_overrides(**{k.replace("__", "."): v for k, v in overrides.items()})
    from ._backend import keras

    keras.utils.set_random_seed(spec.training.seed)  # same spec, same seed: same initial weights
    model = get_builder(spec.builder)(spec)
    return compile_model(model, spec) if compile else model
