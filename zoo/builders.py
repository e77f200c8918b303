"""The built-in model builders: `mlp`, `cnn` and `perceptron`.

This module imports no TensorFlow at import time, so specs can be validated without it;
Keras is imported inside the builders.
"""
from __future__ import annotations

import numpy as np

from .errors import SpecError
from .layer_kinds import LAYER_PREFIX
from .registry import register_builder
from .spec import Initializer, Layer, ModelSpec


def _only_kinds(*kinds: str):
    def check(spec: ModelSpec) -> None:
        for i, layer in enumerate(spec.layers):
            if layer.kind not in kinds:
                raise SpecError(
                    f"Invalid value for `layers[{i}].kind` in {spec.source}: received {layer.kind!r}; "
                    f"the {spec.builder} builder takes {', '.join(map(repr, kinds))} layers"
                )
    return check


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
    counts: dict[str, int] = {}
    for layer in spec.expanded_layers():  # hidden_1, hidden_2, ..., conv_1, pool_1, ...: depth order within a kind
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        layers.append(_keras_layer(layer, f"{LAYER_PREFIX[layer.kind]}_{counts[layer.kind]}"))
    layers.append(keras.layers.Dense(spec.output.units, activation=spec.output.activation,
                                     kernel_initializer=_initializer(spec.output.initializer), name="output"))
    # all layers at once: Sequential.add() rebuilds the whole model after every layer, quadratic in the depth
    return keras.Sequential(layers, name=spec.name.replace("-", "_") or "model")


@register_builder("mlp", check=_only_kinds("dense", "dropout"))
def build_mlp(spec: ModelSpec):
    """A multi-layer perceptron: dense hidden layers (input images are flattened first)."""
    return _sequential(spec)


@register_builder("cnn", check=_check_cnn)
def build_cnn(spec: ModelSpec):
    """A convolutional network: conv/pool blocks, then flatten and dense layers."""
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
