"""Build the Keras model a spec declares: the catalogue's spec, the registry's builder, compiled."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from .builders import compile_model
from .catalogue import load_spec
from .errors import SpecError
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
    check_with_keras(spec)
    from ._backend import keras

    keras.utils.set_random_seed(spec.training.seed)  # same spec, same seed: same initial weights
    model = get_builder(spec.builder)(spec)
    return compile_model(model, spec) if compile else model


def check_with_keras(spec: "ModelSpec") -> None:
    """What only Keras can say about a spec with Keras layers or residual blocks: each layer's arguments, the shape
    each gets, the model's size (`ZOO_MAX_PARAMS`). Built symbolically, in a stateless scope: no weight is made,
    whatever its size. A spec of short forms only was checked in full when it was loaded."""
    if spec.plain:
        return
    from .spec import TRAINING_BYTES_PER_PARAM, max_params

    total = keras_param_count(spec)
    limit = max_params(spec.source)
    if total > limit:
        raise SpecError(f"Invalid value for `layers` in {spec.source}: the model would have {total:,} parameters (about "
                        f"{total * TRAINING_BYTES_PER_PARAM / 1e9:,.1f} GB of memory to train with Adam), more than the "
                        f"limit of {limit:,}. Make it smaller, or raise the limit: ZOO_MAX_PARAMS={total}")


def keras_param_count(spec: "ModelSpec") -> int:
    """The number of weights (trainable or not) of the model a spec declares, from a symbolic build in a
    stateless scope: no weight is made."""
    from ._backend import keras

    # A stateless scope defers each variable's initial value; leaving it would make them all (12 GB for a Dense of
    # 4 million units), unless told not to, and the next scope to close (a JAX train step's) would make the ones
    # left over: they are taken off Keras' list of variables to initialise. That list has no public name.
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without it: no count (the build then makes the weights, as for any Keras model)
        return 0
    pending = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = get_builder(spec.builder)(spec)
            return int(sum(math.prod(v.shape) for v in model.weights))
    finally:
        global_state.set_global_attribute("uninitialized_variables", pending)
