"""The built-in model builders: `mlp`, `cnn` and `perceptron`.

This module imports no TensorFlow at import time, so specs can be validated without it;
Keras is imported inside the builders.
"""
from __future__ import annotations

import difflib
import inspect
import math
import re

import numpy as np

from .errors import SpecError
from .layer_kinds import LAYER_PREFIX
from .registry import register_builder

BASE_ARGUMENTS = ("dtype", "trainable")
MAX_OUTPUT_VALUES = 50_000_000  # values a layer may output per example (200 MB of float32 each)  # what every Keras layer takes besides its own (zoo names the layers)
from .spec import SHORT_KINDS, Initializer, Layer, ModelSpec


def _only_kinds(*kinds: str):
    """Of the short forms, only `kinds`; any Keras layer and residual blocks too (Keras checks them when building)."""
    def check(spec: ModelSpec) -> None:
        for key, layer in _entries(spec):
            if layer.kind in SHORT_KINDS and layer.kind not in kinds:
                raise SpecError(
                    f"Invalid value for `{key}.kind` in {spec.source}: received {layer.kind!r}; the {spec.builder} "
                    f"builder takes {', '.join(map(repr, kinds))} layers, any Keras layer and residual blocks"
                )
    return check


def _entries(spec: ModelSpec):
    """(dotted key, layer) of every layer entry, those inside residual blocks too."""
    for i, layer in enumerate(spec.layers):
        yield f"layers[{i}]", layer
        for j, inner in enumerate(layer.layers or []):
            yield f"layers[{i}].layers[{j}]", inner


def _check_cnn(spec: ModelSpec) -> None:
    _only_kinds("conv2d", "maxpool2d", "flatten", "dense", "dropout")(spec)
    if len(spec.input_shape) != 3:
        raise SpecError(f"Invalid value for `input_shape` in {spec.source}: received {spec.input_shape}; "
                        "a cnn takes images as [height, width, channels], e.g. [28, 28, 1]")


def _check_perceptron(spec: ModelSpec) -> None:
    if spec.layers:
        raise SpecError(f"Invalid value for `layers` in {spec.source}: a perceptron has no hidden layers; "
                        "remove them, or use the mlp builder")
    if spec.output.units != 1 or spec.output.activation != "step":
        raise SpecError(f"Invalid value for `output` in {spec.source}: a perceptron has one step output unit; "
                        "set units = 1 and activation = \"step\"")
    if len(spec.input_shape) != 1:
        raise SpecError(f"Invalid value for `input_shape` in {spec.source}: received {spec.input_shape}; "
                        "a perceptron takes a flat vector, e.g. [2]")


def _initializer(init: Initializer | None, default: str = "glorot_uniform"):
    import keras

    if init is None:
        return keras.initializers.get(default)
    base = keras.initializers.get(init.name)
    args = init.model_dump(exclude={"name"}, exclude_none=True)
    return type(base)(**{**base.get_config(), **args}) if args else base


def _activation(name: str | None):
    return "linear" if name is None else name


def _keras_layer(layer: Layer, name: str):
    import keras

    layers = keras.layers
    if layer.kind == "dense":
        return layers.Dense(layer.units, activation=_activation(layer.activation),
                            kernel_initializer=_initializer(layer.initializer), name=name)
    if layer.kind == "conv2d":
        return layers.Conv2D(layer.filters, layer.kernel_size or 3, activation=_activation(layer.activation),
                             kernel_initializer=_initializer(layer.initializer), name=name)
    if layer.kind == "maxpool2d":
        return layers.MaxPooling2D(layer.pool_size or 2, name=name)
    if layer.kind == "flatten":
        return layers.Flatten(name=name)
    return layers.Dropout(layer.rate, name=name)


def _sequential(spec: ModelSpec):
    import keras

    layers = [keras.Input(shape=tuple(spec.input_shape), name="input")]
    if len(spec.input_shape) > 1 and spec.builder == "mlp":
        layers.append(keras.layers.Flatten(name="flatten"))
    name = spec.name.replace("-", "_") or "model"

    def output():  # made after the hidden layers: an initialiser draws its seed when made, so the order is the seed's
        return keras.layers.Dense(spec.output.units, activation=spec.output.activation,
                                  kernel_initializer=_initializer(spec.output.initializer), name="output")

    if not spec.plain:  # Keras layers and blocks: made and called one by one (a refusal names its entry), Functional
        x = layers[0]
        for layer in layers[1:]:
            x = layer(x)
        x = _checked_layers(spec, x)
        if len(x.shape) != 2:
            raise SpecError(f"Invalid value for `layers` in {spec.source}: the output layer gets a tensor of shape "
                            f"{_shape(x.shape[1:])} per example, not a flat vector; end the layers with a flatten (or "
                            f"a recurrent layer with return_sequences = false)")
        return keras.Model(layers[0], _call(spec, output(), spec.output, "output", x), name=name)
    counts: dict[str, int] = {}
    for layer in spec.expanded_layers():  # hidden_1, hidden_2, ..., conv_1, pool_1, ...: depth order within a kind
        layers.append(_keras_layer(layer, _layer_name(layer, counts)))
    layers.append(output())
    # all layers at once: Sequential.add() rebuilds the whole model after every layer, quadratic in the depth
    return keras.Sequential(layers, name=name)


def _layer_name(layer: Layer, counts: dict[str, int]) -> str:
    """hidden_1, conv_2, batch_normalization_1, lstm_1, block_3: numbered in depth order within their kind."""
    prefix = LAYER_PREFIX.get(layer.kind) or ("block" if layer.is_block else _snake(layer.kind))
    counts[prefix] = counts.get(prefix, 0) + 1
    return f"{prefix}_{counts[prefix]}"


def _snake(name: str) -> str:
    """A class name as Keras names its layers: BatchNormalization -> batch_normalization, LSTM -> lstm."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _checked_layers(spec: ModelSpec, x):
    """The spec's hidden layers called on `x`, each made and called on the output of the one before, so that a
    layer Keras refuses (its arguments, or the shape it gets) is reported as the spec's entry, in one line."""
    counts = {}
    for i, entry in enumerate(spec.layers):
        key = f"layers[{i}]"
        if entry.is_block and not entry.residual:  # a group repeated: its layers, in the stack as if declared so
            parts = [(f"{key}.layers[{j}]", inner) for _ in range(entry.repeat) for j, layer in enumerate(entry.layers)
                     for inner in layer.expanded()]
        else:
            parts = [(key, entry)] * entry.repeat
        for part_key, part in parts:
            name = _layer_name(part, counts)
            layer = (_residual_block(spec, part, part_key, name, tuple(x.shape[1:])) if part.is_block else
                     _make_layer(spec, part, part_key, name))
            x = _call(spec, layer, part, part_key, x)
    return x


def _make_layer(spec: ModelSpec, layer: Layer, key: str, name: str):
    return _keras_class_layer(spec, layer, key, name) if layer.is_keras else _keras_layer(layer, name)


def _call(spec: ModelSpec, layer, entry, key: str, x):
    try:
        y = layer(x)
    except SpecError:
        raise
    except Exception as e:
        hint = ""
        if (found := re.search(r"expected ndim=(\d+), found ndim=(\d+)", str(e))) is not None:
            wants, gets = (int(n) - 1 for n in found.groups())  # less the batch axis
            hint = (f"it takes {'a sequence [steps, features]' if wants == 2 else f'a {wants}-dimensional input'} "
                    f"and gets {'a flat vector' if gets == 1 else f'{gets} dimensions'}; ")
        kind = getattr(entry, "kind", "Dense")
        raise SpecError(f"Invalid layer `{key}` ({kind}) in {spec.source}: it cannot take its input of shape "
                        f"{_shape(x.shape[1:])}: {hint}Keras says: {_first_line(e)}") from None
    size = math.prod(d or 1 for d in y.shape[1:])
    if size > MAX_OUTPUT_VALUES:  # the weights are counted elsewhere; a layer's output is memory too, per example
        raise SpecError(f"Invalid layer `{key}` in {spec.source}: its output has {size:,} values per example "
                        f"(shape {_shape(y.shape[1:])}), more than the {MAX_OUTPUT_VALUES:,} a layer may give")
    return y


def _keras_class_layer(spec: ModelSpec, layer: Layer, key: str, name: str):
    """A Keras layer by class name, checked by Keras itself: its signature, its constructor, its `from_config`."""
    import keras

    kind, args = layer.kind, layer.args
    cls = getattr(keras.layers, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        known = [n for n in dir(keras.layers) if isinstance(getattr(keras.layers, n), type)
                 and issubclass(getattr(keras.layers, n), keras.layers.Layer)]
        guess = difflib.get_close_matches(kind, known, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        raise SpecError(f"Invalid value for `{key}.kind` in {spec.source}: received {kind!r}; keras.layers has no such "
                        f"layer{hint}")
    parameters = inspect.signature(cls.__init__).parameters
    allowed = [p for p, v in parameters.items() if p not in ("self", "name")
               and v.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    allowed += [p for p in BASE_ARGUMENTS if p not in allowed]
    for arg in args:
        if arg not in allowed:
            guess = difflib.get_close_matches(arg, allowed, n=1)
            hint = f" (did you mean `{guess[0]}`?)" if guess else ""
            raise SpecError(f"Unknown key `{key}.{arg}` in {spec.source}: {kind} takes no argument `{arg}`{hint}; it "
                            f"takes {', '.join(allowed)}")
    try:
        made = cls(name=name, **args)
        cls.from_config(made.get_config())  # as a saved model is loaded again
    except Exception as e:
        raise SpecError(f"Invalid layer `{key}` in {spec.source}: Keras refuses {kind}("
                        f"{', '.join(f'{k}={_short_repr(v)}' for k, v in args.items())[:200]}): {_first_line(e)}") from None
    return made


def _residual_block(spec: ModelSpec, entry: Layer, key: str, name: str, shape: tuple):
    """x + f(x), f the block's layers, as a model of its own (its layers named `block_2/hidden_1`); the skip is the
    identity, or a linear projection when `projection = true`."""
    import keras

    x = inputs = keras.Input(shape=shape, name=f"{name}_input")
    counts: dict[str, int] = {}
    for j, inner in enumerate(entry.layers):
        inner_key = f"{key}.layers[{j}]"
        for _ in range(inner.repeat):
            x = _call(spec, _make_layer(spec, inner, inner_key, _layer_name(inner, counts)), inner, inner_key, x)
    out_shape = tuple(x.shape[1:])
    if entry.projection:
        if len(out_shape) != len(shape):
            raise SpecError(f"Invalid layer `{key}` in {spec.source}: the block turns its input of shape {_shape(shape)} "
                            f"into {_shape(out_shape)}; a projection maps only the last dimension")
        skip = keras.layers.Dense(out_shape[-1], use_bias=False, name="projection")(inputs)
    elif out_shape != shape:
        raise SpecError(f"Invalid layer `{key}` in {spec.source}: the block turns its input of shape {_shape(shape)} "
                        f"into {_shape(out_shape)}, so x + block(x) cannot be added; make its last layer give "
                        f"{_shape(shape)}, or set projection = true")
    else:
        skip = inputs
    return keras.Model(inputs, keras.layers.Add(name="add")([skip, x]), name=name)


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer of thousands of digits
        return "<a huge number>"
    return text if len(text) <= 60 else text[:60] + "…"


def _shape(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def _first_line(error: BaseException, limit: int = 240) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "…"


@register_builder("mlp", check=_only_kinds("dense", "dropout"))
def build_mlp(spec: ModelSpec):
    """A multi-layer perceptron: dense hidden layers (input images are flattened first)."""
    return _sequential(spec)


@register_builder("cnn", check=_check_cnn)
def build_cnn(spec: ModelSpec):
    """A convolutional network: conv/pool blocks, then flatten and dense layers."""
    return _sequential(spec)


@register_builder("sequential", check=_only_kinds(*SHORT_KINDS))
def build_sequential(spec: ModelSpec):
    """The layers as declared, in order, then the output layer: nothing added (recurrent nets take their sequence
    as it is)."""
    return _sequential(spec)


@register_builder("perceptron", check=_check_perceptron)
def build_perceptron(spec: ModelSpec):
    """Rosenblatt's perceptron: weighted sum plus bias through a step function, trained by the perceptron rule."""
    from .perceptron import Perceptron

    model = Perceptron(learning_rate=spec.optimizer.learning_rate, name=spec.name or "perceptron")
    model.build((None, *spec.input_shape))
    return model


def make_optimizer(spec: ModelSpec):
    import keras

    opt = spec.optimizer
    clip = opt.clipping
    if opt.name == "sgd":
        return keras.optimizers.SGD(opt.learning_rate, momentum=opt.momentum, nesterov=opt.nesterov, **clip)
    if opt.name == "rmsprop":
        return keras.optimizers.RMSprop(opt.learning_rate, momentum=opt.momentum, **clip)
    if opt.name == "adagrad":
        return keras.optimizers.Adagrad(opt.learning_rate, **clip)
    if opt.name == "adam":
        return keras.optimizers.Adam(opt.learning_rate, **clip)
    # The perceptron applies its own rule; a plain SGD keeps the compiled model conventional.
    return keras.optimizers.SGD(opt.learning_rate)


def compile_model(model, spec: ModelSpec):
    """Compile `model` with the spec's loss, optimiser and metrics."""
    model.compile(optimizer=make_optimizer(spec), loss=spec.training.loss, metrics=list(spec.training.metrics))
    return model


def count_params(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
