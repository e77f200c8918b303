"""Name a model's trainable variables by their path in it, layers in depth order from the input."""
from __future__ import annotations


def _children(layer) -> list:
    from ._backend import keras

    if isinstance(layer, keras.Model):
        return list(layer.layers)
    return list(getattr(layer, "_layers", []))  # a custom layer's sub-layers: Keras keeps no public list


def trainable_layers(model) -> list[tuple[str, list]]:
    """[(layer path, [trainable variables])] in depth order: `block_1/conv` for a layer inside a nested block.

    Functional and Sequential models list their layers from the input; a subclassed model lists them in
    the order it assigned them. A layer shared in several places counts once, where it first appears;
    variables that no layer owns (set on the model itself) come last, named by their own path.
    """
    seen: set[int] = set()
    groups: list[tuple[str, list]] = []

    def visit(layer, prefix: str):
        children = _children(layer)
        own = [v for v in layer.trainable_weights if id(v) not in seen]
        if children:
            for child in children:
                visit(child, f"{prefix}{child.name}/")
            own = [v for v in own if id(v) not in seen]  # what the children did not claim
        if own:
            seen.update(id(v) for v in own)
            groups.append((prefix.rstrip("/") or layer.name, own))

    for child in _children(model):
        visit(child, f"{child.name}/")
    rest = [v for v in model.trainable_weights if id(v) not in seen]
    for v in rest:
        seen.add(id(v))
        groups.append((v.path.rsplit("/", 1)[0] if "/" in v.path else model.name, [v]))
    return groups


def variable_name(layer_path: str, variable) -> str:
    return f"{layer_path}/{variable.name}"


def output_layer_paths(model) -> list[str]:
    """The paths of the layers that make the model's outputs ([] where the model keeps no graph: subclassed)."""
    from ._backend import keras

    try:
        outputs = list(model.outputs or [])
    except (AttributeError, ValueError):
        return []
    paths = []
    for layer in _children(model):
        try:
            produced = layer.output
        except (AttributeError, ValueError):  # called more than once: no single output
            continue
        if any(produced is output for output in outputs):
            nested = output_layer_paths(layer) if isinstance(layer, keras.Model) else []
            paths += [f"{layer.name}/{path}" for path in nested] or [layer.name]
    return paths
