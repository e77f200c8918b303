"""A model's layers as a table (kind, units, activation, output shape, parameters), as the app shows it."""
from __future__ import annotations

from dataclasses import dataclass

from .layer_kinds import KERAS_CLASS, LAYER_PREFIX


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    units: int | None
    activation: str
    output_shape: tuple
    params: int


def layer_table(model) -> list[LayerRow]:
    """One row per layer of a built Keras model (e.g. `zoo.build(name)`), input to output."""
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":  # a Functional model lists its input; a Sequential does not
            continue
        config = layer.get_config()
        units = config.get("units", config.get("filters"))
        activation = config.get("activation", "")
        if isinstance(activation, dict):  # a serialised activation object
            activation = activation.get("config", {}).get("name", activation.get("class_name", ""))
        shape = tuple(getattr(layer, "output", None).shape[1:]) if getattr(layer, "output", None) is not None else ()
        if hasattr(model, "weights_and_bias"):  # zoo.perceptron.Perceptron: a step, not its Dense unit's linear
            activation, shape = "step", shape or (units,)  # a subclassed model's layer keeps no output tensor
        rows.append(LayerRow(layer.name, type(layer).__name__, units, activation or "", shape, int(layer.count_params())))
    return rows


def spec_layer_table(spec) -> list[LayerRow]:
    """The same table as `layer_table(zoo.build(spec))`, worked out from the spec alone (no TensorFlow, instant).

    Shapes follow Keras' defaults as the built-in builders use them: "valid" convolutions of stride 1,
    pooling windows of stride equal to their size. Raises ValueError for a builder it does not know.
    """
    if spec.builder == "perceptron":
        return [LayerRow("unit", "Dense", 1, "step", (1,), spec.input_shape[-1] + 1)]
    if spec.builder not in ("mlp", "cnn"):
        raise ValueError(f"no parameter count without building for the {spec.builder!r} builder")
    if not spec.plain:
        raise ValueError("no parameter count without building for Keras layers and residual blocks")
    shape, rows, counts = tuple(spec.input_shape), [], {}

    def add(name, kind, units, activation, new_shape, params):
        nonlocal shape
        shape = tuple(new_shape)
        rows.append(LayerRow(name, kind, units, activation, shape, int(params)))

    if len(shape) > 1 and spec.builder == "mlp":
        add("flatten", "Flatten", None, "", (_product(shape),), 0)
    for layer in spec.expanded_layers():
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        name, kind = f"{LAYER_PREFIX[layer.kind]}_{counts[layer.kind]}", KERAS_CLASS[layer.kind]
        if layer.kind == "dense":
            add(name, kind, layer.units, layer.activation or "linear", (*shape[:-1], layer.units),
                (shape[-1] + 1) * layer.units)
        elif layer.kind == "conv2d":
            k = layer.kernel_size or 3
            add(name, kind, layer.filters, layer.activation or "linear",
                (shape[0] - k + 1, shape[1] - k + 1, layer.filters), (k * k * shape[2] + 1) * layer.filters)
        elif layer.kind == "maxpool2d":
            p = layer.pool_size or 2
            add(name, kind, None, "", ((shape[0] - p) // p + 1, (shape[1] - p) // p + 1, shape[2]), 0)
        elif layer.kind == "flatten":
            add(name, kind, None, "", (_product(shape),), 0)
        else:
            add(name, kind, None, "", shape, 0)
    add("output", "Dense", spec.output.units, spec.output.activation, (*shape[:-1], spec.output.units),
        (shape[-1] + 1) * spec.output.units)
    return rows


def _product(shape) -> int:
    total = 1
    for d in shape:
        total *= int(d)
    return total
