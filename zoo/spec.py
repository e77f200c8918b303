"""Model specs: TOML files validated once, at load, into typed objects.

A spec names a builder, an input shape, hidden layers, an output layer, a loss, an optimiser
and the training defaults. Everything wrong with a spec is reported as one `SpecError` line that
names the file, the dotted key, the received value and what is allowed.
"""
from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from .errors import SpecError

Activation = Literal["relu", "sigmoid", "tanh", "softmax", "linear", "leaky_relu", "gelu", "elu", "selu", "softplus", "step"]
Loss = Literal["mse", "mae", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop", "adagrad", "perceptron")  # the spec, CLI and app offer these
OptimizerName = Literal[OPTIMIZER_NAMES]
# The perceptron rule is a TensorFlow train step (no gradient): the one optimiser bound to a backend.
OPTIMIZER_BACKENDS = {"perceptron": "tensorflow"}
InitializerName = Literal[
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "random_normal", "random_uniform", "truncated_normal", "orthogonal", "zeros", "ones",
]
Metric = Literal["accuracy", "mae", "mse"]
Schedule = Literal["constant", "cosine"]  # the learning rate over the epochs: fixed, or half a cosine down to ~0
SHORT_KINDS = ("dense", "conv2d", "maxpool2d", "flatten", "dropout")  # format 1's layer kinds, kept as short forms
BLOCK = "block"  # a group of layers (`layers`), repeated as one; `residual = true`: with a skip connection around it
# Keras layers a spec may not name: they run code from outside the spec (a Python function, a saved graph, a
# module of another framework) or are not layers of a stack.
REFUSED_LAYERS = {"Lambda": "it runs a Python function", "TFSMLayer": "it runs a saved TensorFlow graph",
                  "JaxLayer": "it runs a JAX function", "FlaxLayer": "it runs a Flax module",
                  "TorchModuleWrapper": "it runs a PyTorch module", "InputLayer": "`input_shape` declares the input"}
BLOCK_KEYS = ("layers", "residual", "projection")
SPEC_FORMAT = 2  # 2: any Keras layer by class name, blocks; 1 (no `format` key) was short forms only: read alike
# TOML integers are 64-bit; tomllib reads larger ones (e.g. 0xfff...), which would overflow (or not even print) later.
MAX_INT = 2**63 - 1
Int = Annotated[int, Field(le=MAX_INT)]
MAX_SEED = 2**32 - 1  # Keras' set_random_seed takes 0 .. 2**32 - 1
MAX_SPEC_BYTES = 1_000_000  # a spec is a short text file; anything larger is refused before it is read
MAX_DEPTH = 100  # hidden layers in all (repeats counted): Keras builds and reloads a Sequential model in time growing
# with the square of its depth (100: about 2 s each; 500: a minute to reload) and cannot build ~1,000 at all (recursion)
MAX_RANK = 8  # dimensions of `input_shape`
DEFAULT_MAX_PARAMS = 100_000_000  # raise with the environment variable ZOO_MAX_PARAMS
TRAINING_BYTES_PER_PARAM = 16  # float32 weights, their gradients and Adam's two moments

# Which keys each layer kind takes besides `kind` and `repeat`; the first tuple is required.
LAYER_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dense": (("units",), ("activation", "initializer")),
    "conv2d": (("filters",), ("kernel_size", "activation", "initializer")),
    "maxpool2d": ((), ("pool_size",)),
    "flatten": ((), ()),
    "dropout": (("rate",), ()),
}


class _Strict(BaseModel):
    """Unknown keys are refused, with the allowed ones and a guess at what was meant."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)
    SET_BY_LOADER: ClassVar[tuple[str, ...]] = ()  # fields a file may not set
    UNLISTED: ClassVar[tuple[str, ...]] = ()  # fields a file does not write as such (not offered in messages)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [f for f in cls.model_fields if f not in cls.SET_BY_LOADER]
            for key in data:
                if key not in allowed:
                    guess = difflib.get_close_matches(str(key), allowed, n=1)
                    listed = [f for f in allowed if f not in cls.UNLISTED]
                    guess = difflib.get_close_matches(str(key), listed, n=1)
                    hint = f" (did you mean `{guess[0]}`?)" if guess else ""
                    raise PydanticCustomError(
                        "unknown_key", "unknown key `{key}`{hint}; allowed keys: {allowed}",
                        {"key": _printable(str(key)), "hint": hint, "allowed": ", ".join(listed)},
                    )
        return data


def _printable(text: str) -> str:
    """`text` as is, or escaped as repr() does when it holds a newline or another control character."""
    return text if text.isprintable() else repr(text)[1:-1]


def _check_plain(value: Any, key: str) -> None:
    """A Keras layer's argument from a spec is data: a table naming a class of another module (which Keras would
    import and call) is refused, and so is a path (a lookup layer's `vocabulary` file would be read, and copied
    into the saved model)."""
    if isinstance(value, str) and (os.sep in value or "/" in value or "\\" in value or value.startswith("~")):
        raise PydanticCustomError("refused_path", "`{key}` is a path ('{value}'); a spec may not make zoo read files: "
                                  "give the values themselves (a vocabulary as a list)",
                                  {"key": key, "value": _printable(value[:60])})
    if isinstance(value, dict):
        module = value.get("module")
        if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
            raise PydanticCustomError("refused_module", "`{key}` names module '{module}'; a spec may use Keras' own "
                                      "classes only", {"key": key, "module": _printable(str(module))})
        for inner_key, inner in value.items():
            _check_plain(inner, key)
    elif isinstance(value, list):
        for inner in value:
            _check_plain(inner, key)


class Initializer(_Strict):
    """A Keras initialiser by name, with the few arguments the zoo's specs use."""

    name: InitializerName
    stddev: float | None = Field(None, gt=0)
    mean: float | None = None
    minval: float | None = None
    maxval: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class Layer(_Strict):
    """One `[[layers]]` entry: a short form (`dense`, `conv2d`, ...), any Keras layer by its class name with its
    keyword arguments (`kind = "BatchNormalization"`, `momentum = 0.9`: kept in `args`, checked by Keras when the
    model is built), or a residual block (`kind = "residual"`, its layers in `block`)."""

    UNLISTED: ClassVar[tuple[str, ...]] = ("args",)

    kind: str = "dense"
    units: Int | None = Field(None, gt=0)
    activation: Activation | None = None
    initializer: Initializer | None = None
    filters: Int | None = Field(None, gt=0)
    kernel_size: Int | None = Field(None, gt=0)
    pool_size: Int | None = Field(None, gt=0)
    rate: float | None = Field(None, ge=0, lt=1)
    repeat: Int = Field(1, gt=0, le=1000, description="how many identical layers this entry stands for")
    args: dict[str, Any] = Field(default_factory=dict, description="a Keras layer's keyword arguments")
    layers: list["Layer"] | None = Field(None, min_length=1, description="a block's layers")
    residual: bool = Field(False, description="a block with a skip connection: x + block(x)")
    projection: bool = Field(False, description="a residual block's skip: a linear projection (else the identity)")

    @model_validator(mode="before")
    @classmethod
    def _keras_arguments(cls, data: Any) -> Any:
        """A Keras layer's keys besides `kind` and `repeat` are its arguments: gathered into `args`."""
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            return data
        kind = data["kind"]
        if kind in SHORT_KINDS or kind == BLOCK:
            return data
        if kind in REFUSED_LAYERS:
            raise PydanticCustomError("refused_layer", "{kind} cannot be used in a spec: {why}",
                                      {"kind": kind, "why": REFUSED_LAYERS[kind]})
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", kind):
            guess = difflib.get_close_matches(kind, [*SHORT_KINDS, BLOCK], n=1)
            raise PydanticCustomError(
                "layer_kind", "unknown layer kind '{kind}'{hint}; expected one of {short}, or a Keras layer's class "
                "name such as 'BatchNormalization' or 'LSTM'",
                {"kind": _printable(kind), "hint": f" (did you mean {guess[0]!r}?)" if guess else "",
                 "short": ", ".join(map(repr, [*SHORT_KINDS, BLOCK]))})
        args = {k: v for k, v in data.items() if k not in ("kind", "repeat")}
        for key, value in args.items():
            _check_plain(value, key)
        return {"kind": kind, **({"repeat": data["repeat"]} if "repeat" in data else {}), "args": args}

    @model_serializer(mode="wrap")
    def _flat(self, handler):
        """Written back as read: a Keras layer's arguments beside its `kind`; a block's own fields only."""
        data = handler(self)
        args = data.pop("args", None) or {}
        if not self.is_block:
            for key in BLOCK_KEYS:
                data.pop(key, None)
        elif not self.residual:
            data.pop("projection", None)
        return {**data, **args}

    @property
    def is_keras(self) -> bool:
        """Whether this entry names a Keras layer class (not a short form, not a residual block)."""
        return self.kind not in SHORT_KINDS and self.kind != BLOCK

    @property
    def is_block(self) -> bool:
        return self.kind == BLOCK

    def expanded(self) -> list["Layer"]:
        """This entry with `repeat` unrolled; a block without a skip connection as its layers, unrolled too."""
        if self.is_block and not self.residual:
            return [inner for _ in range(self.repeat) for layer in self.layers for inner in layer.expanded()]
        return [self] * self.repeat

    @model_validator(mode="after")
    def _keys_fit_kind(self) -> "Layer":
        given = {k for k in self.model_fields_set if k not in ("kind", "repeat")}
        if self.is_keras:
            return self
        if self.is_block:
            extra = sorted(given - set(BLOCK_KEYS))
            if extra:
                raise PydanticCustomError("not_for_kind", "`{key}` does not apply to a block; a block takes kind, repeat, "
                                          "layers, residual, projection", {"key": extra[0]})
            if self.layers is None:
                raise PydanticCustomError("missing_for_kind", "a block needs `layers`, the list of its layers", {})
            nested = [i for i, layer in enumerate(self.layers) if layer.is_block]
            if nested:
                raise PydanticCustomError("not_for_kind", "layers[{i}] is a block: a block holds plain layers (repeat "
                                          "the block instead)", {"i": nested[0]})
            if self.projection and not self.residual:
                raise PydanticCustomError("not_for_kind", "`projection` applies to a residual block: set residual = true",
                                          {})
            return self
        required, optional = LAYER_KEYS[self.kind]
        given = {k for k in self.model_fields_set if k not in ("kind", "repeat")}
        for key in required:
            if key not in given:
                raise PydanticCustomError("missing_for_kind", "a {kind} layer needs `{key}`", {"kind": self.kind, "key": key})
        extra = sorted(given - set(required) - set(optional))
        if set(BLOCK_KEYS) & given:
            extra = sorted(set(BLOCK_KEYS) & given)
        if extra:
            allowed = ", ".join(("kind", "repeat") + required + optional)
            raise PydanticCustomError(
                "not_for_kind", "`{key}` does not apply to a {kind} layer; a {kind} layer takes {allowed}",
                {"key": extra[0], "kind": self.kind, "allowed": allowed},
            )
        return self


class Output(_Strict):
    units: Int = Field(gt=0)
    activation: Activation
    initializer: Initializer | None = None


class Optimizer(_Strict):
    name: OptimizerName
    learning_rate: float = Field(gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    nesterov: bool = False
    clipnorm: float | None = Field(None, gt=0)
    clipvalue: float | None = Field(None, gt=0)
    global_clipnorm: float | None = Field(None, gt=0)
    schedule: Schedule = "constant"

    @property
    def clipping(self) -> dict[str, float]:
        return {k: v for k in ("clipnorm", "clipvalue", "global_clipnorm") if (v := getattr(self, k)) is not None}


class Training(_Strict):
    loss: Loss
    metrics: list[Metric] = Field(default=None, validate_default=False,
                                  description='default: ["accuracy"], or ["mae"] for a regression loss (mse, mae)')
    batch_size: int | Literal["full"] = 32
    epochs: Int = Field(10, gt=0)
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Keras' random seed: 0 .. 2**32 - 1")
    augment: int = Field(0, ge=0, le=50, description="distorted copies of each training image, for image training "
                         "sets under 10,000 examples (the offline digits); larger ones are used as they are")
    backend: Literal["jax", "tensorflow", "torch"] | None = Field(
        None, description="the Keras backend `zoo train` uses unless told otherwise (default: the fastest installed)")

    @model_validator(mode="after")
    def _default_metrics(self) -> "Training":
        if self.metrics is None:  # frozen: set once, here
            object.__setattr__(self, "metrics", ["mae"] if self.loss in ("mse", "mae") else ["accuracy"])
        return self

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, value: Any) -> Any:
        if value == "full" or (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INT):
            return value
        raise PydanticCustomError("batch_size", "expected a positive integer, or \"full\" for batch gradient descent")


class ModelSpec(_Strict):
    """A validated model declaration. `name` and `source` come from where it was loaded."""

    SET_BY_LOADER: ClassVar[tuple[str, ...]] = ("name", "source")

    name: str = ""
    source: str = ""
    description: str
    builder: str
    dataset: str
    input_shape: list[Int] = Field(min_length=1, max_length=MAX_RANK)
    layers: list[Layer] = []
    output: Output
    training: Training
    optimizer: Optimizer

    @field_validator("input_shape")
    @classmethod
    def _positive_dims(cls, shape: list[int]) -> list[int]:
        if any(d <= 0 for d in shape):
            raise PydanticCustomError("input_shape", "every dimension must be a positive integer")
        return shape

    def expanded_layers(self) -> list[Layer]:
        """Hidden layers with `repeat` unrolled, in depth order: a plain block as its layers, a residual one as one."""
        return [part for layer in self.layers for part in layer.expanded()]

    @property
    def plain(self) -> bool:
        """Whether every layer is a short form (format 1): its table and size are known without Keras."""
        return all(not layer.is_keras and not layer.is_block for layer in self.layers)

    def depth(self) -> int:
        """Hidden layers in all: repeats and the layers of residual blocks counted."""
        return sum(layer.repeat * (sum(inner.repeat for inner in layer.layers) if layer.is_block else 1)
                   for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """The spec as it would be written to a file (no name or source; defaults filled in)."""
        data = self.model_dump(mode="json", exclude={"name", "source"}, exclude_none=True)
        return {"format": SPEC_FORMAT, **data}  # written in this zoo's spec language (it reads every older one)

    def to_toml(self) -> str:
        """The spec as TOML laid out as the built-in files are: short arrays and tables inline, one [[layers]] each."""
        return _toml_document(self.to_dict())

    def with_overrides(self, **overrides: Any) -> "ModelSpec":
        """A new spec with dotted keys replaced, e.g. `{"optimizer.learning_rate": 0.1, "dataset": "mnist"}`.

        Overrides are validated like the file itself; errors name "overrides" as the source.
        """
        data = self.to_dict()
        for dotted, value in overrides.items():
            *parents, leaf = dotted.split(".")
            node = data
            for key in parents:
                if not isinstance(node.get(key), dict):
                    raise SpecError(f"Unknown key `{_printable(dotted)}` in overrides; use a key of the spec such as `optimizer.learning_rate`")
                node = node[key]
            node[leaf] = value
        return parse_spec(data, name=self.name, source=f"{self.source} (with overrides)")


def _format_loc(loc: tuple) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _format_error(error: dict, source: str) -> str:
    key, kind, ctx = _format_loc(error["loc"]), error["type"], error.get("ctx") or {}
    if kind == "unknown_key":
        full = f"{key}.{ctx['key']}" if key else ctx["key"]
        guess = ctx["hint"]
        return f"Unknown key `{full}` in {source}{guess}; allowed keys: {ctx['allowed']}"
    if kind == "missing":
        return f"Missing key `{key}` in {source}"
    where = f"`{key}`" if key else "the spec"
    received = error.get("input")
    try:
        repr(received)
    except ValueError:  # an integer of more than 4300 digits (or a list holding one): str() refuses it
        received = type(received).__name__
    if kind in ("missing_for_kind", "not_for_kind", "refused_layer", "layer_kind", "refused_module",
                "refused_path"):
        return f"Invalid layer `{key}` in {source}: {error['msg']}"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return f"Invalid value for {where} in {source}: received {received!r}; expected one of {expected}"
    message = error["msg"].replace("Input should be", "expected")
    message = message[0].lower() + message[1:] if message else message
    if isinstance(received, (dict, list)) and len(repr(received)) > 60:
        received = type(received).__name__
    return f"Invalid value for {where} in {source}: received {received!r}; {message}"


def parse_spec(data: dict[str, Any], name: str = "", source: str = "<spec>") -> ModelSpec:
    """Validate a spec given as a dict (as read from TOML) into a `ModelSpec`."""
    if not isinstance(data, dict):
        raise SpecError(f"Invalid spec in {source}: expected a table of keys, received {type(data).__name__}")
    data = dict(data)
    version = data.pop("format", 1)  # the spec language's version; a file without one is format 1
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SPEC_FORMAT:
        try:
            shown = repr(version)[:60]
        except ValueError:  # an integer of thousands of digits
            shown = "a huge number"
        newer = isinstance(version, int) and not isinstance(version, bool) and version > SPEC_FORMAT
        raise SpecError(f"Invalid value for `format` in {source}: received {shown}; " + (
            f"this spec is written for a newer zoo, which reads formats 1 to {SPEC_FORMAT}: upgrade zoo" if newer else
            f"expected a whole number from 1 to {SPEC_FORMAT}"))
    try:
        spec = ModelSpec.model_validate(data).model_copy(update={"name": name, "source": source})
    except ValidationError as e:
        raise SpecError(_format_error(e.errors()[0], source)) from None
    check_consistency(spec)
    return spec


def read_spec_file(path: Path | str) -> ModelSpec:
    """Read and validate one TOML spec file; its name is the file's stem."""
    path = Path(path)
    raw = read_spec_bytes(path)
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # newlines as read_text() reads them
    except UnicodeDecodeError as e:
        line = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n", 0, e.start) + 1
        raise SpecError(f"Invalid TOML in {path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at line {line})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # tomllib says "(at end of document)" for an error in the last line: say which
        message = str(e).replace("(at end of document)", f"(at end of document, line {text.count(chr(10)) + 1})")
        raise SpecError(f"Invalid TOML in {path}: {message}") from None
    except RecursionError:
        raise SpecError(f"Invalid TOML in {path}: arrays or inline tables nested too deeply "
                        f"(at line {_deepest_line(text)})") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() (4300) digits
        digits = re.search(r"[0-9A-Fa-f_]{4301,}", text)
        line = f" (at line {text.count(chr(10), 0, digits.start()) + 1})" if digits else ""
        raise SpecError(f"Invalid TOML in {path}: an integer with too many digits{line}") from None
    return parse_spec(data, name=path.stem, source=str(path))


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_spec_bytes(path: Path | str) -> bytes:
    """The bytes of a spec file: a regular file of at most `MAX_SPEC_BYTES`, else one-line `SpecError`.

    A FIFO, a device (`/dev/zero`, also behind a symlink) or a socket is refused from its `stat`, before it is
    opened, so reading can neither hang nor go on without end; the file is opened non-blocking (in case it was
    swapped since) and checked again, and no more than the limit (plus one byte, to see it is over) is read.
    """
    path = Path(path)

    def refuse_kind(mode: int) -> None:
        if stat.S_ISREG(mode):
            return
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        target = f" (it links to {os.path.realpath(path)})" if path.is_symlink() else ""
        raise SpecError(f"Cannot read spec file {path}: it is {kind}{target}, not a regular file; a spec is a TOML text file")

    def too_large(size: str) -> SpecError:
        return SpecError(f"Cannot read spec file {path}: it is {size} bytes, more than the {MAX_SPEC_BYTES:,} a spec "
                         "may have; a spec is a short TOML text file")

    try:
        info = os.stat(path)
        refuse_kind(info.st_mode)
        if info.st_size > MAX_SPEC_BYTES:
            raise too_large(f"{info.st_size:,}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            refuse_kind(os.fstat(f.fileno()).st_mode)
            raw = f.read(MAX_SPEC_BYTES + 1)  # a file that grew, or one whose size stat does not tell (/proc)
    except SpecError:
        raise
    except OSError as e:
        raise SpecError(f"Cannot read spec file {path}: {e.strerror or e}") from None
    except ValueError as e:  # a path with a NUL byte
        raise SpecError(f"Cannot read spec file {_printable(str(path))}: {e}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise too_large("over " + f"{MAX_SPEC_BYTES:,}")
    return raw


def _deepest_line(text: str) -> int:
    """The line where `[` and `{` first nest deepest (a hint: brackets inside strings are counted too)."""
    depth = deepest = 0
    line = where = 1
    for char in text:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
        elif char in "]}":
            depth -= 1
        elif char == "\n":
            line += 1
    return where


# ------------------------------------------------------------------------------- cross-field checks
def _fail(spec: ModelSpec, key: str, received: Any, why: str) -> None:
    raise SpecError(f"Invalid value for `{key}` in {spec.source}: received {received!r}; {why}")


def check_consistency(spec: ModelSpec) -> None:
    """Checks that span several keys: builder, dataset, loss against output, layer kinds, optimiser."""
    from . import registry
    from .datasets import check_fits, dataset_info, list_datasets

    builders = registry.list_builders()
    if spec.builder not in builders:
        _fail(spec, "builder", spec.builder, f"expected one of {', '.join(map(repr, builders))}")
    if spec.dataset not in list_datasets():
        _fail(spec, "dataset", spec.dataset, f"expected one of {', '.join(map(repr, list_datasets()))}")
    info = dataset_info(spec.dataset)
    check_fits(info, spec.input_shape, spec.source)
    registry.builder_check(spec.builder)(spec)

    loss, out = spec.training.loss, spec.output
    if spec.builder != "perceptron":
        activations = {f"layers[{i}].activation": layer.activation for i, layer in enumerate(spec.layers)}
        for key, activation in {**activations, "output.activation": out.activation}.items():
            if activation == "step":
                _fail(spec, key, "step", "the step function has no gradient; only the perceptron builder uses it")
    if (spec.optimizer.name == "perceptron") != (spec.builder == "perceptron"):
        _fail(spec, "optimizer.name", spec.optimizer.name, "the perceptron rule and the perceptron builder go together")
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if out.activation != "softmax" or out.units < 2:
            _fail(spec, "training.loss", loss, f"it needs a softmax output over the classes, but `output` has "
                  f"{out.units} {out.activation} unit(s); use binary_crossentropy for one sigmoid unit")
    if loss == "binary_crossentropy" and (out.activation != "sigmoid" or out.units != 1):
        _fail(spec, "training.loss", loss, f"it needs one sigmoid output unit, but `output` has {out.units} "
              f"{out.activation} unit(s); use categorical_crossentropy for a softmax output")
    if info.task == "classification" and out.units != info.num_classes:
        _fail(spec, "output.units", out.units, f"dataset {info.name!r} has {info.num_classes} classes")
    if info.task in ("binary", "regression") and out.units != 1:
        _fail(spec, "output.units", out.units, f"dataset {info.name!r} has one {info.task} target: use 1")
    if info.task == "regression" and loss not in ("mse", "mae"):
        _fail(spec, "training.loss", loss, f"dataset {info.name!r} is a regression: use 'mse' or 'mae'")
    if info.task == "regression" and "accuracy" in spec.training.metrics:
        _fail(spec, "training.metrics", spec.training.metrics, "accuracy means nothing for a regression; use 'mae' or 'mse'")
    if spec.optimizer.momentum and spec.optimizer.name not in ("sgd", "rmsprop"):
        _fail(spec, "optimizer.momentum", spec.optimizer.momentum, "only 'sgd' and 'rmsprop' take a momentum")
    if spec.training.augment and len(info.feature_shape) != 2:
        _fail(spec, "training.augment", spec.training.augment, f"dataset {info.name!r} is not of images; use 0")
    if spec.optimizer.name == "perceptron" and spec.optimizer.schedule != "constant":
        _fail(spec, "optimizer.schedule", spec.optimizer.schedule, "the perceptron rule takes a constant learning rate")
    if len(spec.optimizer.clipping) > 1:
        _fail(spec, "optimizer", spec.optimizer.clipping, "choose one of clipnorm, clipvalue, global_clipnorm")
    check_size(spec)


# ------------------------------------------------------------------------------------ size limits
def max_params(source: str = "the spec") -> int:
    """The most parameters a spec may declare: `ZOO_MAX_PARAMS` if set (a positive integer), else 100 million."""
    text = os.environ.get("ZOO_MAX_PARAMS", "").strip()
    if not text:
        return DEFAULT_MAX_PARAMS
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:  # not a number (or thousands of digits)
        value = 0
    if value <= 0:
        shown = _printable(text if len(text) <= 40 else text[:40] + "…")
        raise SpecError(f"Cannot check the size of {source}: ZOO_MAX_PARAMS must be a positive whole number of "
                        f"parameters, e.g. 200000000; received {shown!r}")
    return value


def check_size(spec: ModelSpec) -> None:
    """Refuse, from the spec alone, a model that cannot be built or would not fit in memory.

    Every layer's output must have a positive size (a kernel or pool window larger than its input cannot be
    built), there may be at most `MAX_DEPTH` hidden layers, and at most `max_params()` parameters (their
    memory to train: 4 bytes each, x4 for the gradients and Adam's two moments). Parameters are counted by
    `zoo.summary.spec_layer_table`, the exact table of the built model; a builder it does not know is not
    checked (its size is known only once built).
    """
    from .summary import spec_layer_table

    depth = spec.depth()
    if depth > MAX_DEPTH:
        _fail_plain(spec, "layers", f"{depth:,} hidden layers (repeats counted), more than the {MAX_DEPTH:,} a model may "
                    "have")
    if not spec.plain:  # Keras works out its shapes and size when it builds it (`zoo.builders.check_with_keras`)
        return
    if spec.builder in ("mlp", "cnn"):
        _check_ranks(spec)
    try:
        rows = spec_layer_table(spec)
    except ValueError:
        return
    owners = [i for i, layer in enumerate(spec.layers) for _ in range(layer.repeat)]
    # rows: [the mlp's own flatten], one per expanded hidden layer, then the output
    owners = [None] * (len(rows) - 1 - len(owners)) + owners + ["output"]
    for at, (row, owner) in enumerate(zip(rows, owners)):
        if isinstance(owner, int) and any(d <= 0 for d in row.output_shape):
            layer = spec.layers[owner]
            key = "kernel_size" if layer.kind == "conv2d" else "pool_size"
            window = (layer.kernel_size if layer.kind == "conv2d" else layer.pool_size) or (3 if layer.kind == "conv2d" else 2)
            before = rows[at - 1].output_shape if at else tuple(spec.input_shape)
            _fail(spec, f"layers[{owner}].{key}", window, f"{row.name} gets an input of {_shape(before)}, too small for a "
                  f"{window}x{window} window (its output would be {_shape(row.output_shape)}); use a smaller "
                  f"{key} or fewer conv and pool layers before it")
    total, limit = sum(row.params for row in rows), max_params(spec.source)
    if total <= limit:
        return
    parts: dict = {}
    for row, owner in zip(rows, owners):
        parts[owner] = parts.get(owner, 0) + row.params
    owner, most = max(parts.items(), key=lambda item: item[1])
    if owner == "output":
        largest = f"the output layer ({most:,})"
    else:
        layer = spec.layers[owner]
        size = f"{layer.units:,} units" if layer.kind == "dense" else f"{layer.filters:,} filters"
        times = f" x{layer.repeat:,}" if layer.repeat > 1 else ""
        largest = f"layers[{owner}] ({layer.kind}, {size}{times}: {most:,})"
    gigabytes = total * TRAINING_BYTES_PER_PARAM / 1e9
    _fail_plain(spec, "layers", f"the model would have {total:,} parameters (about {gigabytes:,.1f} GB of memory to "
                f"train with Adam), more than the limit of {limit:,}; the largest part is {largest}. Make it smaller, "
                f"or raise the limit: ZOO_MAX_PARAMS={total}")


def _check_ranks(spec: ModelSpec) -> None:
    """conv2d and maxpool2d layers need an image (height x width x channels); the output layer needs a flat vector.

    Walks the layer entries once (a repeated entry keeps the rank it gets), before any shape is worked out.
    """
    rank = 1 if spec.builder == "mlp" else len(spec.input_shape)  # the mlp builder flattens its input itself
    after = f"`input_shape` {spec.input_shape}"
    for i, layer in enumerate(spec.layers):
        if layer.kind in ("conv2d", "maxpool2d") and rank != 3:
            got = "a flat vector" if rank == 1 else f"a tensor of rank {rank}"
            _fail_plain(spec, f"layers[{i}].kind", f"received {layer.kind!r}; a {layer.kind} needs an image input "
                        f"HxWxC, it gets {got} after {after}; put conv2d and maxpool2d layers before the flatten")
        if layer.kind == "flatten":
            rank = 1
        if layer.kind != "dropout":
            after = f"layers[{i}] ({layer.kind})"
    if rank != 1:
        _fail_plain(spec, "layers", f"the output layer gets an image (HxWxC) after {after}, not a flat vector; add a "
                    "[[layers]] entry with kind = \"flatten\" after the last conv2d or maxpool2d layer")


def _fail_plain(spec: ModelSpec, key: str, why: str) -> None:
    raise SpecError(f"Invalid value for `{key}` in {spec.source}: {why}")


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape)



def _toml_document(data: dict) -> str:
    """`data` as TOML with top-level scalars first, then one section per table or array of tables; anything
    below that level inline (`input_shape = [28, 28, 1]`, `initializer = { name = "he_normal" }`)."""
    def is_tables(value):
        return isinstance(value, list) and value and all(isinstance(v, dict) for v in value)

    lines = [f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in data.items() if not isinstance(v, dict) and not is_tables(v)]
    for key, value in data.items():
        if is_tables(value):
            for table in value:
                lines += ["", f"[[{_toml_key(key)}]]", *(f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in table.items())]
        elif isinstance(value, dict):
            lines += ["", f"[{_toml_key(key)}]", *(f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in value.items())]
    return "\n".join(lines) + "\n"


def _toml_inline(value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split(" = ", 1)[1].strip()  # tomli_w quotes and escapes scalars


def _toml_key(key: str) -> str:
    import tomli_w

    return tomli_w.dumps({key: 0}).rsplit(" = ", 1)[0]
