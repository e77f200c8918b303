"""The registry of Keras model builders: a leaf of plain dicts and a decorator, as timm's `_registry.py`.

Builders are registered by name and duplicates are refused. zoo's own register when `zoo` is imported
(`zoo.builders`); the spec files are catalogued in `zoo.catalogue` and built by `zoo.factory`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .errors import SpecError, ZooError

if TYPE_CHECKING:
    import keras

    from .spec import ModelSpec

Builder = Callable[["ModelSpec"], "keras.Model"]
SpecCheck = Callable[["ModelSpec"], None]

_BUILDERS: dict[str, tuple[Builder, SpecCheck]] = {}


def register_builder(name: str, check: SpecCheck | None = None) -> Callable[[Builder], Builder]:
    """Register `fn(spec) -> keras.Model` (uncompiled) under `name`.

    Args:
        name: the value of `builder` in spec files.
        check: optional `check(spec)` that raises `SpecError` for specs this builder cannot build;
            it runs at load time, so a bad spec is refused before TensorFlow is even imported.
    """

    def decorate(fn: Builder) -> Builder:
        if name in _BUILDERS:
            raise ZooError(f"A model builder named {name!r} is already registered")
        _BUILDERS[name] = (fn, check or (lambda spec: None))
        return fn

    return decorate


def list_builders() -> list[str]:
    return sorted(_BUILDERS)


def get_builder(name: str) -> Builder:
    if name not in _BUILDERS:
        raise SpecError(f"Unknown builder {name!r}; known builders: {', '.join(sorted(_BUILDERS))}")
    return _BUILDERS[name][0]


def builder_check(name: str) -> SpecCheck:
    return _BUILDERS[name][1]
