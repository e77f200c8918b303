"""Model files: what kind a file is, loading it (a `.keras` checked before Keras reads it), running an export
in its own runtime, and the model card beside it. Export and predict both go through here.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import RunError, ZooError
from .runs import MODEL, STATUS


FORMATS = {"keras": ".keras", "saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}


EXTRA = "pip install 'zoo[export]'"


NEEDS = {"onnx": ("tf2onnx", "onnx", "onnxruntime"), "tflite": ("ai_edge_litert",)}


class ExportError(ZooError):
    """An export cannot be written, or what was written does not match the model."""


def card_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".card.json")


# -- writing -----------------------------------------------------------------------------------------
def check_dependencies(format: str) -> None:
    missing = [m for m in NEEDS.get(format, ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"{format} export needs {', '.join(missing)}, which is not installed: {EXTRA}")


# -- runtimes ------------------------------------------------------------------------------------------
def detect_format(path: str | Path) -> str:
    """The format of an exported model (or run folder: "run") from its name and contents."""
    path = Path(path)
    if path.is_dir():
        if (path / MODEL).is_file():
            return "run"
        if (path / "saved_model.pb").is_file():
            return "saved_model"
        if (path / STATUS).is_file():
            raise RunError(_why_no_model(path))
        raise RunError(f"{path} is neither a run folder (no model.keras) nor a SavedModel (no saved_model.pb)")
    if not path.exists():
        raise RunError(f"{path} does not exist")
    if not path.is_file():
        raise RunError(f"{path} is not a regular file (a FIFO or a device?); a model is a file or a folder")
    for format, suffix in FORMATS.items():
        if suffix and path.suffix.lower() == suffix:
            return format
    raise RunError(f"{path.name}: unknown model file type; expected a run folder, a .keras, .tflite or .onnx file, "
                   "or a SavedModel folder")


def _why_no_model(run_dir: Path) -> str:
    """Why a run folder has no model.keras, and where its last whole epoch's model is (its checkpoint), if anywhere."""
    from .runs import checkpoint_file, read_run

    info = read_run(run_dir)
    why = {"interrupted": "was interrupted before its model was saved",
           "running": "is still training (its model is saved when it ends)",
           "diverged": "diverged (its loss stopped being a number), and no model was saved",
           "failed": "failed, and no model was saved",
           "broken": f"has no model.keras and its status is unreadable ({info.problem[:120]})"
           }.get(info.state, "has no model.keras (it was moved or deleted)")
    checkpoint = checkpoint_file(run_dir)
    where = (f"; its last whole epoch's model is {checkpoint}, which zoo predict and zoo export take"
             if checkpoint is not None else "; it has no checkpoint either (it ended before its first epoch did)")
    return f"Run {run_dir} {why}{where}"


def load_runtime(path: str | Path, format: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """`fn(x) -> outputs` that runs an exported model in its own runtime (a batch of float32 inputs)."""
    path = Path(path)
    format = format or detect_format(path)
    if format == "run":
        path, format = path / MODEL, "keras"
    if format in NEEDS:
        check_dependencies(format)
    with _one_line(path, format, "load"):
        run = _RUNTIME_LOADERS[format](path)

    def checked(x):
        with _one_line(path, format, "run"):
            return run(x)

    return checked


@contextlib.contextmanager
def _one_line(path: Path, format: str, doing: str):
    """Whatever a runtime raises on a damaged or foreign model, as one `RunError` naming the file."""
    try:
        yield
    except ZooError:
        raise
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise RunError(f"Cannot {doing} {path} as {format} ({reason}); it is damaged, not a {format} model, or needs "
                       "what this runtime lacks") from None


def _keras_runtime(path: Path):
    model = load_model(path)
    return lambda x: np.asarray(model(np.asarray(x, np.float32), training=False))


def _saved_model_runtime(path: Path):
    from ._backend import tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures.get("serving_default") if hasattr(loaded, "signatures") else None
    if hasattr(loaded, "serve"):
        return lambda x: np.asarray(loaded.serve(np.asarray(x, np.float32)))
    if serve is None:
        raise RunError(f"{path} has no serving signature")
    return lambda x: np.asarray(next(iter(serve(tf.constant(x, tf.float32)).values())))


def _tflite_runtime(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    state = {"batch": None}

    def run(x):
        x = np.ascontiguousarray(x, np.float32)
        if state["batch"] != len(x):
            interpreter.resize_tensor_input(inp["index"], x.shape)
            interpreter.allocate_tensors()
            state["batch"] = len(x)
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(out["index"]))

    return run


def _onnx_runtime(path: Path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: np.asarray(session.run(None, {name: np.asarray(x, np.float32)})[0])


_RUNTIME_LOADERS: dict[str, Callable[[Path], Callable]] = {
    "keras": _keras_runtime, "saved_model": _saved_model_runtime, "tflite": _tflite_runtime, "onnx": _onnx_runtime}


def input_shape_of(path: str | Path) -> tuple[int, ...] | None:
    """The input shape (without the batch) an exported model expects, from its model card or the file.

    None when unknown; `RunError` (one line) when the file cannot be read as its format.
    """
    card = read_card(path)
    shape = card.get("input", {}).get("shape") if card and isinstance(card.get("input"), dict) else None
    if _dims(shape) is not None:
        return _dims(shape)
    format = detect_format(path)
    if format in ("run", "keras"):
        model = load_model(Path(path) / MODEL if format == "run" else path)
        return _dims(model.inputs[0].shape[1:])
    if format in NEEDS:
        check_dependencies(format)
    with _one_line(Path(path), format, "load"):
        if format == "onnx":
            import onnxruntime

            shape = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()[0].shape
            return _dims(shape[1:])
        if format == "tflite":
            from ai_edge_litert.interpreter import Interpreter

            return _dims(Interpreter(model_path=str(path)).get_input_details()[0]["shape"][1:])
    return None


def _dims(shape) -> tuple[int, ...] | None:
    """A shape of positive ints (a card's or a runtime's), or None (symbolic, missing or nonsense dimensions)."""
    try:
        dims = tuple(shape)
    except TypeError:
        return None
    if len(dims) > 8 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims):
        return None
    return tuple(int(d) for d in dims)


MAX_CARD_BYTES = 2**20  # a model card is a few kB; a larger one is not read


def read_card(path: str | Path) -> dict | None:
    """The model card next to an export, or None when there is none (or it is not a small regular JSON file)."""
    target = card_path(path)
    try:
        if not target.is_file() or target.stat().st_size > MAX_CARD_BYTES:
            return None
        with open(target, "rb") as f:
            card = json.loads(f.read(MAX_CARD_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return card if isinstance(card, dict) else None


def keras_file_classes(path: str | Path) -> set[str]:
    """The modules of every object a `.keras` file's config names (what loading it would need)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise RunError(f"{path}: its config.json is over {MAX_CONFIG_BYTES // 2**20} MB uncompressed; refused")
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile) as e:
        raise RunError(f"{path} is not a readable .keras file ({type(e).__name__})") from None
    modules: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "class_name" in node and "module" in node and node["module"]:
                modules.add(str(node["module"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return modules


# -- loading a .keras, checked first ------------------------------------------------------------------
def run_dataset(model_file: Path) -> str | None:
    """The dataset of the run a `model.keras` belongs to (from its folder's status.json), if any."""
    from .runs import read_run

    if not (model_file.parent / STATUS).is_file():
        return None
    dataset = read_run(model_file.parent).dataset
    return None if dataset == "?" else dataset


def load_model(model_file: str | Path):
    """`keras.models.load_model(model_file, safe_mode=True)` (uncompiled), or `RunError` in one line.

    The file is checked first (`check_keras_file`): sizes inside the archive and the number of
    parameters its config declares, so that a crafted file is refused before Keras allocates anything.
    """
    from ._backend import keras
    from . import perceptron  # noqa: F401  (registers zoo's own model class, so its runs load)

    model_file = Path(model_file)
    if not model_file.exists():
        folder = model_file.parent
        if model_file.name == MODEL and folder.is_dir():
            raise RunError(f"{folder} has no model.keras (the run did not finish, or this is not a run folder)")
        raise RunError(f"{model_file} does not exist")
    check_keras_file(model_file)
    try:
        return keras.models.load_model(model_file, compile=False, safe_mode=True)
    except Exception as e:  # a corrupt zip, a foreign or unsafe file: Keras raises many kinds
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        if "Could not locate class" in reason:  # a class of the user's own, not registered in this process
            raise RunError(f"Cannot load {model_file}: it holds a class this Python does not know ({reason[:160]}); "
                           "import the module that defines it, registered with "
                           "keras.saving.register_keras_serializable") from None
        reason = f"{type(e).__name__}: {reason}" if reason else type(e).__name__
        raise RunError(f"Cannot load {model_file} ({reason[:200]}); it is damaged or not a Keras model file") from None


# ------------------------------------------------------------------------- checking a .keras first
MAX_PARAMS = 100_000_000  # parameters a model may declare (ZOO_MAX_PARAMS overrides): 400 MB of float32


MAX_CONFIG_BYTES = 8 * 2**20  # config.json, uncompressed (a large Keras model's config is a few hundred kB)


MAX_METADATA_BYTES = 2**20  # metadata.json


MAX_ASSETS_BYTES = 64 * 2**20  # everything else in the archive but the weights, together


MAX_MEMBERS = 10_000  # files in the archive


MAX_LAYERS = 110  # layers in the config: zoo.spec.MAX_DEPTH hidden ones, input, flatten, output and a few more; Keras
# rebuilds a Sequential model in time growing with the square of its depth (100 layers: 2 s, 500: over a minute)


# rebuilds a Sequential model in time growing with the square of its depth (100 layers: 2 s, 500: over a minute)
OPTIMIZER_SLOTS = 4  # a checkpoint's weights file may hold the model's values this many times (Adam: 3)


WEIGHTS_OVERHEAD = 16 * 2**20  # the weights file beyond the bytes its datasets declare (HDF5 headers)


_WEIGHTS_H5, _WEIGHTS_NPZ = "model.weights.h5", "model.weights.npz"


def max_params() -> int:
    """The largest parameter count zoo loads: `ZOO_MAX_PARAMS` when set (a positive integer), else `MAX_PARAMS`."""
    text = os.environ.get("ZOO_MAX_PARAMS", "").strip()
    if not text:
        return MAX_PARAMS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise RunError(f"ZOO_MAX_PARAMS must be a positive integer (parameters), received {text[:40]!r}")
    return value


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def check_keras_file(path: str | Path) -> int:
    """Refuse (`RunError`, one line) a `.keras` file that would take too much memory to load; else its parameter count.

    Read from the archive's directory and headers only, before Keras allocates anything:

    - the file is a regular file and a zip archive of at most `MAX_MEMBERS` files;
    - uncompressed sizes (as the archive declares them, which Python's zipfile never reads past):
      config.json at most `MAX_CONFIG_BYTES`, metadata.json `MAX_METADATA_BYTES`, other files but the
      weights `MAX_ASSETS_BYTES` together;
    - the parameters the model declares, counted from config.json (each layer's variables as Keras
      would create them, without allocating them; a per-layer estimate, Dense units x input size and
      so on, where that cannot be done), at most `max_params()` (100 M; `ZOO_MAX_PARAMS`);
    - the weights file (HDF5 or npz): the values its datasets declare, at most `max_params()` for the
      model and `OPTIMIZER_SLOTS` times that in all (a checkpoint's optimizer state), numbers only, and
      its size at most what they need plus `WEIGHTS_OVERHEAD`.
    """
    import json
    import stat
    import zipfile

    path = Path(path)
    limit = max_params()
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise RunError(f"Cannot read {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        raise RunError(f"{path} is not a regular file; a .keras model is a file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise RunError(f"Cannot read {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise RunError(f"{path} is not a regular file; a .keras model is a file")
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise RunError(f"Cannot load {path} ({type(e).__name__}: {str(e)[:100]}); it is damaged or not a Keras "
                           "model file") from None
        with archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise RunError(f"{path} holds {len(members):,} files (at most {MAX_MEMBERS:,}); not a Keras model file")
            sizes = {m.filename: m for m in members}
            config_info = sizes.get("config.json")
            if config_info is None:
                raise RunError(f"Cannot load {path} (no config.json); it is damaged or not a Keras model file")
            for name, most in (("config.json", MAX_CONFIG_BYTES), ("metadata.json", MAX_METADATA_BYTES)):
                if name in sizes and sizes[name].file_size > most:
                    raise RunError(f"{path}: its {name} would take {_mb(sizes[name].file_size)} uncompressed "
                                   f"(at most {_mb(most)}); refused before loading")
            assets = sum(m.file_size for m in members if m.filename not in (_WEIGHTS_H5, _WEIGHTS_NPZ))
            if assets > MAX_ASSETS_BYTES + MAX_CONFIG_BYTES + MAX_METADATA_BYTES:
                raise RunError(f"{path}: its files other than the weights would take {_mb(assets)} uncompressed "
                               f"(at most {_mb(MAX_ASSETS_BYTES)}); refused before loading")
            try:
                config = json.loads(archive.read("config.json"))
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RecursionError, UnicodeDecodeError) as e:
                raise RunError(f"Cannot load {path} (config.json: {type(e).__name__}); it is damaged or not a Keras "
                               "model file") from None
            estimate, biggest = _estimate_parameters(config, path)
            if estimate > limit:
                raise _too_many(path, estimate, biggest, limit)
            weights = sizes.get(_WEIGHTS_H5) or sizes.get(_WEIGHTS_NPZ)
            if weights is not None:
                _check_weights(path, file, archive, weights, limit)
    counted = _count_parameters(config)
    if counted is not None and counted > limit:
        raise _too_many(path, counted, None, limit)
    return counted if counted is not None else estimate


def _too_many(path: Path, count: int, biggest: tuple[str, int] | None, limit: int) -> RunError:
    alone = f" (layer {biggest[0]!r}: {biggest[1]:,})" if biggest and biggest[1] > limit // 2 else ""
    return RunError(f"{path}: the model declares {count:,} parameters{alone}, more than zoo loads ({limit:,}; "
                    "set ZOO_MAX_PARAMS to allow more); refused before loading")


def _config_dims(shape) -> list[int] | None:
    """A shape from a config as ints (None and -1 for unknown dimensions), or None when it is not a shape."""
    if not isinstance(shape, (list, tuple)) or len(shape) > 16:
        return None
    out = []
    for d in shape:
        if d is None:
            out.append(-1)
        elif isinstance(d, int) and not isinstance(d, bool):
            out.append(d)
        else:
            return None
    return out


def _layer_parameters(kind: str, config: dict, input_shape: list[int] | None) -> int | None:
    """Parameters of one layer from its config and input shape (a close estimate), or None when unknown."""
    def number(key, default=None):
        value = config.get(key, default)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def product(values) -> int | None:
        values = values if isinstance(values, (list, tuple)) else [values]
        out = 1
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                return None
            out *= v
        return out

    channels_first = config.get("data_format") == "channels_first"
    last = None
    if input_shape:
        last = input_shape[1] if channels_first and len(input_shape) > 2 else input_shape[-1]
        last = last if last is not None and last >= 0 else None
    if kind == "Dense":
        units = number("units")
        return None if units is None or last is None else units * last + units
    if kind == "Embedding":
        a, b = number("input_dim"), number("output_dim")
        return None if a is None or b is None else a * b
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
        filters, size = number("filters"), product(config.get("kernel_size"))
        groups = number("groups", 1) or 1
        return None if None in (filters, size, last) else size * (last // groups) * filters + filters
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        multiplier, size = number("depth_multiplier", 1), product(config.get("kernel_size"))
        return None if None in (multiplier, size, last) else size * last * multiplier + last * multiplier
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        multiplier, size, filters = number("depth_multiplier", 1), product(config.get("kernel_size")), number("filters")
        return None if None in (multiplier, size, filters, last) else (size * last * multiplier + last * multiplier
                                                                       * filters + filters)
    if kind in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        return None if last is None else 4 * last
    if kind in ("SimpleRNN", "GRU", "LSTM"):
        units = number("units")
        gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[kind]
        return None if units is None or last is None else gates * (units * (last + units) + 2 * units)
    return 0 if kind in _NO_WEIGHTS else None


_NO_WEIGHTS = {"InputLayer", "Dropout", "Flatten", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Reshape",
               "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
               "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
               "GlobalAveragePooling2D", "Add", "Concatenate", "Multiply", "Permute", "Rescaling", "ZeroPadding2D",
               "Cropping2D", "UpSampling2D", "GaussianNoise", "GaussianDropout", "SpatialDropout2D", "Identity"}


def _estimate_parameters(config, path: Path) -> tuple[int, tuple[str, int] | None]:
    """(parameters, (the largest layer's name, its parameters)) estimated from a .keras config, without Keras.

    Each layer's input shape comes from its `build_config` (Keras writes one for every built layer) or,
    in a Sequential model, from the layer before (Dense gives its units, Flatten the product); layers
    of unknown size count 0 here (`_count_parameters` and the weights file bound those).
    """
    total, biggest, layers = 0, None, 0
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        inner = node.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("layers"), list):  # a model: walk its layers in order
            shape, sequential = None, node.get("class_name") == "Sequential"
            for layer in inner["layers"]:
                if not isinstance(layer, dict):
                    continue
                layers += 1
                if layers > MAX_LAYERS:
                    raise RunError(f"{path}: its config declares more than {MAX_LAYERS:,} layers (zoo's models have at "
                                   "most 100 hidden layers; Keras would take minutes to rebuild it); refused before loading")
                kind, lc = layer.get("class_name"), layer.get("config")
                if not isinstance(kind, str) or not isinstance(lc, dict):
                    shape = None
                    continue
                built = layer.get("build_config")
                given = _config_dims(built.get("input_shape")) if isinstance(built, dict) else None
                shape = given or (shape if sequential else None)
                if kind == "InputLayer":
                    shape = _config_dims(lc.get("batch_shape") or lc.get("batch_input_shape"))
                    continue
                n = _layer_parameters(kind, lc, shape)
                if n:
                    total += n
                    if biggest is None or n > biggest[1]:
                        biggest = (str(lc.get("name", kind))[:60], n)
                shape = _output_shape(kind, lc, shape)
                if isinstance(lc.get("layers"), list) or isinstance(lc.get("layer"), dict):
                    stack.append(layer)  # a nested model or a wrapper: its own layers are counted too
            continue
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return total, biggest


def _output_shape(kind: str, config: dict, shape: list[int] | None) -> list[int] | None:
    """The output shape of simple layers (for the next layer of a Sequential model without build configs)."""
    if shape is None:
        return None
    if kind == "Dense" and isinstance(config.get("units"), int):
        return shape[:-1] + [config["units"]]
    if kind == "Flatten":
        rest = shape[1:]
        return [shape[0], -1 if any(d < 0 for d in rest) else int(np.prod(rest, dtype=np.int64))]
    if kind == "Reshape":
        target = _config_dims(config.get("target_shape"))
        return None if target is None else [shape[0], *target]
    if kind in ("Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "BatchNormalization",
                "LayerNormalization", "Rescaling", "GaussianNoise", "GaussianDropout", "Identity"):
        return shape
    return None


def _count_parameters(config) -> int | None:
    """The exact parameter count of a .keras config, from Keras without allocating a variable; None if it cannot.

    The model is rebuilt from its config (safe mode, uncompiled) inside a `keras.StatelessScope` that
    leaves every variable uninitialised: shapes only, no values.
    """
    if not isinstance(config, dict):
        return None
    from ._backend import keras
    from . import perceptron  # noqa: F401
    from keras.src.backend.common import global_state

    config = {k: v for k, v in config.items() if k != "compile_config"}
    key = "uninitialized_variables"
    before = list(global_state.get_global_attribute(key, None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
            return int(sum(int(np.prod(v.shape, dtype=np.int64)) for v in model.weights))
    except Exception:  # Keras' load will say what is wrong; the estimate and the weights file still bound it
        return None
    finally:
        global_state.set_global_attribute(key, before)  # forget the uninitialised variables: never initialised


def _check_weights(path: Path, file, archive, info, limit: int) -> None:
    """The weights member of a .keras: declared values and size within limits (see `check_keras_file`)."""
    import io
    import zipfile

    most = OPTIMIZER_SLOTS * limit * 8 + WEIGHTS_OVERHEAD
    if info.file_size > most:
        raise RunError(f"{path}: its {info.filename} would take {_mb(info.file_size)} uncompressed, more than "
                       f"{_mb(most)} for {limit:,} parameters; refused before loading")
    if info.compress_type == zipfile.ZIP_STORED:
        source = _member_window(path, file, info)
    elif info.file_size <= 256 * 2**20:
        try:
            source = io.BytesIO(archive.read(info.filename))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise RunError(f"Cannot load {path} ({info.filename}: {type(e).__name__}); it is damaged") from None
    else:
        raise RunError(f"{path}: its {info.filename} is compressed and over 256 MB; save the model again with Keras "
                       "(which stores it uncompressed)")
    if info.filename.endswith(".h5"):
        model_values, all_values, declared = _h5_values(path, source)
    else:
        model_values, all_values, declared = _npz_values(path, source)
    if model_values > limit:
        raise RunError(f"{path}: its weights file declares {model_values:,} values for the model, more than zoo loads "
                       f"({limit:,}; set ZOO_MAX_PARAMS to allow more); refused before loading")
    if all_values > OPTIMIZER_SLOTS * limit:
        raise RunError(f"{path}: its weights file declares {all_values:,} values (at most {OPTIMIZER_SLOTS} x "
                       f"{limit:,}); refused before loading")
    if info.file_size > declared + declared // 100 + WEIGHTS_OVERHEAD:
        raise RunError(f"{path}: its {info.filename} takes {_mb(info.file_size)}, far more than the {_mb(declared)} "
                       "its datasets declare; refused before loading")


class _Window:
    """A read-only file object over `size` bytes of `file` from `start` (a stored zip member, for h5py)."""

    def __init__(self, file, start: int, size: int):
        self.file, self.start, self.size, self.position = file, start, size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.position if n is None or n < 0 else min(n, max(0, self.size - self.position))
        self.file.seek(self.start + self.position)
        data = self.file.read(n)
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def close(self) -> None:
        pass


def _member_window(path: Path, file, info) -> _Window:
    import struct

    file.seek(info.header_offset)
    header = file.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise RunError(f"Cannot load {path} ({info.filename}: bad zip header); it is damaged or not a Keras model file")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    if start + info.file_size > os.fstat(file.fileno()).st_size:
        raise RunError(f"Cannot load {path} ({info.filename} is cut short); it is truncated")
    return _Window(file, start, info.file_size)


def _numeric_size(path: Path, name: str, shape, dtype) -> int:
    if dtype.kind not in "biufc" or dtype.itemsize > 16:
        raise RunError(f"{path}: its weights file holds {name!r} of type {dtype}; a Keras weights file holds numbers")
    return int(np.prod(shape, dtype=object)) if shape else 1


def _h5_values(path: Path, source) -> tuple[int, int, int]:
    """(values of the model's datasets, of all datasets, bytes they declare) of an HDF5 weights file, headers only."""
    import h5py

    counts = {"model": 0, "all": 0, "bytes": 0, "objects": 0}

    def visit(name, obj):
        counts["objects"] += 1
        if counts["objects"] > 100_000:
            raise RunError(f"{path}: its weights file holds more than 100,000 entries; refused before loading")
        if isinstance(obj, h5py.Dataset):
            n = _numeric_size(path, name, obj.shape, obj.dtype)
            counts["all"] += n
            counts["bytes"] += n * obj.dtype.itemsize
            if not name.startswith("optimizer/"):
                counts["model"] += n
        return None

    try:
        with h5py.File(source, "r") as f:
            f.visititems(visit)
    except RunError:
        raise
    except Exception as e:  # h5py and HDF5 raise OSError, KeyError, ValueError... on a damaged file
        raise RunError(f"Cannot load {path} (its weights file: {type(e).__name__}: {str(e)[:100]}); it is damaged or "
                       "not a Keras model file") from None
    return counts["model"], counts["all"], counts["bytes"]


def _npz_values(path: Path, source) -> tuple[int, int, int]:
    """The same as `_h5_values` for an .npz weights file, from each array's .npy header."""
    import zipfile

    model = total = declared = 0
    try:
        with zipfile.ZipFile(source) as inner:
            members = inner.infolist()
            if len(members) > 100_000:
                raise RunError(f"{path}: its weights file holds more than 100,000 arrays; refused before loading")
            for member in members:
                with inner.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(f)
                n = _numeric_size(path, member.filename, shape, dtype)
                total += n
                declared += n * dtype.itemsize
                if not member.filename.startswith("optimizer"):
                    model += n
    except RunError:
        raise
    except Exception as e:
        raise RunError(f"Cannot load {path} (its weights file: {type(e).__name__}); it is damaged or not a Keras "
                       "model file") from None
    return model, total, declared
