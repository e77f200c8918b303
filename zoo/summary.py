"""A model's layers as a table (kind, units, activation, output shape, parameters), as the app shows it."""
from __future__ import annotations

from dataclasses import dataclass


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
        config = layer.get_config()
        units = config.get("units", config.get("filters"))
        activation = config.get("activation", "")
        if isinstance(activation, dict):  # a serialised activation object
            activation = activation.get("config", {}).get("name", activation.get("class_name", ""))
        shape = tuple(getattr(layer, "output", None).shape[1:]) if getattr(layer, "output", None) is not None else ()
        if hasattr(model, "weights_and_bias"):  # zoo.perceptron.Perceptron: a step, not its Dense unit's linear
            activation = "step"
        rows.append(LayerRow(layer.name, type(layer).__name__, units, activation or "", shape, int(layer.count_params())))
    return rows
