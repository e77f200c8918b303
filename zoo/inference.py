"""Fast single-image prediction with a trained digit model: the drawing pad's "98% sure this is a 7".

`model.predict` costs tens of milliseconds per call (it builds a data pipeline every time). A
`Predictor` instead runs the forward pass directly, about a millisecond or less, and returns the
hidden layers' activations too:

    >>> predictor = Predictor.from_run("runs/20261124-141200-mlp")
    >>> p = predictor.predict_ink(zoo.digit_image.load_digit_image("digit.png"))   # or predict(image28)
    >>> p.sentence, p.probabilities, [name for name, _ in p.hidden]
    ('98% sure this is a 7', array([...]), ['hidden_1', 'hidden_2'])

A drawing is framed like the model's training data (`Predictor.preprocess`): MNIST's centre of
mass, or for models trained on the offline `digits` their centred 20x20 box.

Two engines, chosen once per model: stacks of Dense layers (with Dropout and Flatten, and an
activation NumPy knows) run in NumPy from the extracted weights, about 0.05 ms for `mlp`; anything
else (the `cnn`) runs as a `tf.function` with a fixed (1, ...) float32 signature, traced and warmed
up in the constructor, about 1 ms. Dropout is inactive in both (inference mode).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .digit_image import to_mnist
from .errors import DataError, RunError

DIGIT_INPUT_SHAPES = ((784,), (28, 28), (28, 28, 1))
NUM_CLASSES = 10


@dataclass
class Prediction:
    """What the model says about one 28x28 image."""

    probabilities: np.ndarray  # (10,) float32, sums to 1
    label: int  # the argmax
    confidence: float  # probabilities[label]
    sentence: str  # "98% sure this is a 7"
    hidden: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (layer name, 1-D activations), depth order
    image: np.ndarray | None = None  # the 28x28 the model saw
    hidden_shapes: list[tuple[int, ...]] = field(default_factory=list)  # each hidden layer's own shape, e.g. (26, 26, 32)

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable digits as (digit, probability), most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(i), float(self.probabilities[i])) for i in order]


def _percent(p: float) -> str:
    """One decimal, rounded down like `sentence`: 99.97% is "99.9%", not a "100.0%" the model does not claim."""
    return f"{np.floor(float(p) * 1000 + 1e-9) / 10:.1f}%"


def sentence(label: int, confidence: float) -> str:
    """ "98% sure this is a 7" (rounded down: never "100%" unless it is; "an 8")."""
    percent = int(np.floor(float(confidence) * 100 + 1e-9))
    return f"{percent}% sure this is {'an' if label == 8 else 'a'} {label}"


# ------------------------------------------------------------------------------------ NumPy engine
def _numpy_activation(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    from scipy.special import erf, expit

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    table = {
        "linear": lambda z: z,
        "relu": lambda z: np.maximum(z, 0.0),
        "sigmoid": expit,
        "tanh": np.tanh,
        "softmax": softmax,
        "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),  # keras' default negative_slope
        "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
        "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0.0))),
        "softplus": lambda z: np.logaddexp(z, 0.0),
        "gelu": lambda z: 0.5 * z * (1.0 + erf(z / np.sqrt(2.0))),
    }
    fn = table.get(name)
    return None if fn is None else (lambda z: np.asarray(fn(z), dtype=np.float32))


def _numpy_forward(model, hidden_layers) -> Callable | None:
    """A NumPy forward pass for a plain chain of Dense/Dropout/Flatten layers, else None."""
    import keras

    if not isinstance(model, keras.Sequential):
        return None
    steps = []  # (kernel, bias, activation, is_hidden, name)
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dropout, keras.layers.Flatten, keras.layers.InputLayer)):
            continue  # dropout is the identity at inference; inputs are flattened below
        if type(layer) is not keras.layers.Dense:
            return None
        config = layer.get_config()
        activation = _numpy_activation(config.get("activation")) if isinstance(config.get("activation"), str) else None
        if activation is None or layer.dtype_policy.compute_dtype != "float32":
            return None
        kernel = np.asarray(layer.kernel.numpy(), np.float32)
        bias = np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias else np.zeros(kernel.shape[1], np.float32)
        steps.append((kernel, bias, activation, any(layer is h for h in hidden_layers)))
    if not steps:
        return None

    def forward(x: np.ndarray) -> list[np.ndarray]:
        h = x.reshape(1, -1)
        outputs = []
        for kernel, bias, activation, is_hidden in steps:
            h = activation(h @ kernel + bias)
            if is_hidden:
                outputs.append(h)
        outputs.append(h)
        return outputs

    return forward


# ------------------------------------------------------------------------------- TensorFlow engine
def _tf_forward(model, hidden_layers, input_shape) -> Callable:
    import keras
    import tensorflow as tf

    probe = keras.Model(model.inputs, [layer.output for layer in hidden_layers] + [model.outputs[0]])

    @tf.function(input_signature=[tf.TensorSpec((1, *input_shape), tf.float32)])
    def run(x):
        return probe([x], training=False)

    def forward(x: np.ndarray) -> list[np.ndarray]:
        return [t.numpy() for t in run(tf.constant(x))]

    return forward


# ---------------------------------------------------------------------------------------- Predictor
class Predictor:
    """Single-image prediction with a trained digit model (784 inputs or 28x28(x1), 10 outputs).

    Args:
        model: a Keras model (e.g. from a run's `model.keras`).
        engine: "auto" (NumPy for plain Dense stacks, else TensorFlow), "numpy" or "tensorflow".
        centre: how `preprocess` frames a drawing (see `zoo.digit_image.to_mnist`): "mass" (MNIST's
            centre of mass) or "box" (the offline digits' framing); `from_run` picks the one of the
            run's training set.
    """

    def __init__(self, model, engine: str = "auto", centre: str = "mass"):
        from . import _backend  # noqa: F401  (Keras with the TensorFlow backend, quietly)

        if not self.is_digit_model(model):
            raise RunError(f"The model {getattr(model, 'name', '')!r} does not take 28x28 digit images "
                           f"(input {_input_shape(model)}, {_output_units(model)} outputs)")
        if engine not in ("auto", "numpy", "tensorflow"):
            raise ValueError(f"engine must be 'auto', 'numpy' or 'tensorflow', received {engine!r}")
        self.model = model
        self.input_shape: tuple[int, ...] = _input_shape(model)
        self.hidden_layers = _hidden_layers(model)
        self.hidden_names = [layer.name for layer in self.hidden_layers]
        self.source: Path | None = None
        if centre not in ("mass", "box"):
            raise ValueError(f"centre must be 'mass' or 'box', received {centre!r}")
        self.centre = centre
        forward = _numpy_forward(model, self.hidden_layers) if engine in ("auto", "numpy") else None
        if forward is None and engine == "numpy":
            raise ValueError(f"The model {model.name!r} is not a plain stack of Dense layers; use engine='tensorflow'")
        self.engine = "numpy" if forward is not None else "tensorflow"
        self._forward = forward or _tf_forward(model, self.hidden_layers, self.input_shape)
        self.predict(np.zeros((28, 28), np.float32))  # trace and warm up now, not on the first stroke

    @staticmethod
    def is_digit_model(model) -> bool:
        """True for a model with one input of 784 values or 28x28(x1) and 10 outputs."""
        return _input_shape(model) in DIGIT_INPUT_SHAPES and _output_units(model) == NUM_CLASSES

    @classmethod
    def from_run(cls, run_dir: str | Path, engine: str = "auto") -> "Predictor":
        """Load `run_dir/model.keras` (or a `.keras` file given directly); `RunError` (one line) when it cannot."""
        path = Path(run_dir)
        model_file = path if path.suffix == ".keras" and not path.is_dir() else path / "model.keras"
        model = load_model(model_file)
        if not cls.is_digit_model(model):
            where = path if model_file.parent == path else model_file
            raise RunError(f"The model in {where} does not take 28x28 digit images (input {list(_input_shape(model) or ['?'])}, "
                           f"{_output_units(model)} outputs); pick a run of mlp or cnn trained on digits or mnist")
        from .export import read_card

        card = read_card(model_file) or {}  # an exported .keras says how it was trained to see
        centre = card.get("preprocessing", {}).get("centre") or centre_for_dataset(_run_dataset(model_file))
        predictor = cls(model, engine=engine, centre=centre)
        predictor.source = model_file
        return predictor

    def preprocess(self, ink: np.ndarray) -> np.ndarray | None:
        """A drawing (any size, ink high) as the 28x28 this model expects; None when there is no ink."""
        return to_mnist(ink, self.centre)

    def predict_ink(self, ink: np.ndarray) -> Prediction | None:
        """`predict(preprocess(ink))`: the drawing pad's whole path; None for an empty drawing."""
        image28 = self.preprocess(ink)
        return None if image28 is None else self.predict(image28)

    def predict(self, image28: np.ndarray) -> Prediction:
        """Probabilities, label, sentence and hidden activations for one 28x28 image (784 values in [0, 1])."""
        image = np.asarray(image28, dtype=np.float32)
        if image.size != 784:
            raise ValueError(f"predict takes a 28x28 image (784 values), received an array of shape {image.shape}")
        image = np.ascontiguousarray(image.reshape(28, 28))
        outputs = self._forward(image.reshape((1, *self.input_shape)))
        probabilities = np.asarray(outputs[-1], np.float32).reshape(-1)
        label = int(np.argmax(probabilities))
        confidence = float(probabilities[label])
        hidden = [(name, np.asarray(a).reshape(-1)) for name, a in zip(self.hidden_names, outputs[:-1])]
        shapes = [tuple(int(d) for d in np.shape(a)[1:]) for a in outputs[:-1]]
        return Prediction(probabilities, label, confidence, sentence(label, confidence), hidden, image, shapes)


def centre_for_dataset(dataset: str | None) -> str:
    """How to frame drawings for a model trained on `dataset`: like the data it learnt from.

    The offline `digits` are 8x8 frames scaled into a centred 20x20 box ("box"); MNIST and anything
    else are centred by mass ("mass"). On `digits`, framing drawings by mass costs an mlp about 10
    points of accuracy.
    """
    return "box" if dataset == "digits" else "mass"


def _run_dataset(model_file: Path) -> str | None:
    """The dataset of the run a `model.keras` belongs to (from its folder's status.json), if any."""
    from .runs import read_run

    if not (model_file.parent / "status.json").is_file():
        return None
    dataset = read_run(model_file.parent).dataset
    return None if dataset == "?" else dataset


def _input_shape(model) -> tuple[int, ...] | None:
    try:
        inputs = model.inputs
        if not inputs or len(inputs) != 1:
            return None
        return tuple(int(d) if d is not None else -1 for d in inputs[0].shape[1:])
    except (AttributeError, ValueError, TypeError):
        return None


def _output_units(model) -> int | None:
    try:
        outputs = model.outputs
        if not outputs or len(outputs) != 1 or len(outputs[0].shape) != 2:
            return None
        return int(outputs[0].shape[-1])
    except (AttributeError, ValueError, TypeError):
        return None


def _hidden_layers(model) -> list:
    """Dense and convolution layers before the output layer, in depth order."""
    import keras

    kinds = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
             keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    output_layer = model.layers[-1] if model.layers else None
    return [layer for layer in model.layers if isinstance(layer, kinds) and layer is not output_layer]


def load_model(model_file: str | Path):
    """`keras.models.load_model(model_file, safe_mode=True)` (uncompiled), or `RunError` in one line."""
    from ._backend import keras
    from . import perceptron  # noqa: F401  (registers zoo's own model class, so its runs load)

    model_file = Path(model_file)
    if not model_file.is_file():
        folder = model_file.parent
        if model_file.name == "model.keras" and folder.is_dir():
            raise RunError(f"{folder} has no model.keras (the run did not finish, or this is not a run folder)")
        raise RunError(f"{model_file} does not exist")
    try:
        return keras.models.load_model(model_file, compile=False, safe_mode=True)
    except Exception as e:  # a corrupt zip, a foreign or unsafe file: Keras raises many kinds
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        reason = f"{type(e).__name__}: {reason}" if reason else type(e).__name__
        raise RunError(f"Cannot load {model_file} ({reason[:200]}); it is damaged or not a Keras model file") from None


def predict_file(model_dir_or_file: str | Path, image_paths: Iterable[str | Path], top: int = 1) -> list[str]:
    """One line per image, e.g. "digit.png: 7 (98.1%)", or with `top=3` "digit.png: 7 (98.1%), 1 (1.2%), 9 (0.3%)".

    `model_dir_or_file` is a run folder, a `.keras`, `.tflite` or `.onnx` file or a SavedModel folder
    (exports run in their own runtime). Every image is read first, so a bad image is refused
    (`DataError`) before the model loads.
    """
    from .digit_image import load_digit_image
    from .export import detect_format

    top = int(top)
    if not 1 <= top <= NUM_CLASSES:
        raise ValueError(f"top must be between 1 and {NUM_CLASSES}, received {top}")
    given = [str(p) for p in image_paths]
    paths = [Path(p) for p in given]
    if not paths:
        raise DataError("No image files given")
    inks = [load_digit_image(p) for p in paths]
    for path, ink in zip(paths, inks):
        if to_mnist(ink) is None:
            raise DataError(f"{path}: no ink found (a blank image); draw or photograph a digit")
    if detect_format(model_dir_or_file) in ("run", "keras"):
        predictor = Predictor.from_run(model_dir_or_file)
        probabilities = lambda ink: predictor.predict_ink(ink).probabilities  # noqa: E731
    else:
        probabilities = _exported_digit_model(Path(model_dir_or_file))
    lines = []
    for name, ink in zip(given, inks):
        p = np.asarray(probabilities(ink), np.float64).reshape(-1)
        ranked = [(int(d), float(p[d])) for d in np.argsort(-p, kind="stable")[:top]]
        lines.append(f"{name}: " + ", ".join(f"{digit} ({_percent(q)})" for digit, q in ranked))
    return lines


def _exported_digit_model(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """ink -> ten probabilities with an exported model, framed as its model card says (by mass otherwise)."""
    from .export import input_shape_of, load_runtime, read_card

    shape = input_shape_of(path)
    if shape is None or tuple(shape) not in DIGIT_INPUT_SHAPES:
        raise RunError(f"{path} does not take 28x28 digit images (its input is {shape}); "
                       "use a model trained on digits or mnist")
    card = read_card(path) or {}
    centre = card.get("preprocessing", {}).get("centre", "mass")
    run = load_runtime(path)

    def probabilities(ink):
        out = run(to_mnist(ink, centre=centre).reshape((1, *shape)).astype(np.float32))
        if out.shape[-1] != NUM_CLASSES:
            raise RunError(f"{path} has {out.shape[-1]} outputs, not 10 digit classes")
        return out[0]

    return probabilities


# ------------------------------------------------------------------------------- for the app's views
def is_digit_run(run_dir: str | Path) -> bool:
    """Whether a run folder's `spec.toml` declares a digit model (784 inputs or 28x28(x1), 10 outputs); no Keras needed."""
    import tomllib

    try:
        spec = tomllib.loads((Path(run_dir) / "spec.toml").read_text(encoding="utf-8"))
        shape = tuple(int(d) for d in spec.get("input_shape", ()))
        units = int(spec.get("output", {}).get("units", 0))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, ValueError, AttributeError):
        return False
    return shape in DIGIT_INPUT_SHAPES and units == NUM_CLASSES


def digit_runs(parent: str | Path | None = None) -> list:
    """The runs (`zoo.runs.RunInfo`, newest first) that finished with a saved digit model: what the pad can use."""
    from .runs import list_runs

    return [run for run in list_runs(parent) if run.finished_ok and is_digit_run(run.path)]


def activation_image(activations: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
    """One hidden layer's activations as a 2-D float32 picture; NaN marks cells that hold no unit.

    Dense units fill a grid about twice as wide as tall (512 units: 16 x 32). Convolution maps
    (shape H x W x C) are tiled side by side, C of them in such a grid, one NaN pixel between maps.
    """
    a = np.asarray(activations, np.float32).reshape(-1)
    if len(shape) == 3:
        h, w, c = shape
        maps = a.reshape(h, w, c)
        cols = int(np.ceil(np.sqrt(2 * c)))
        rows = int(np.ceil(c / cols))
        out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, np.float32)
        for k in range(c):
            r, q = divmod(k, cols)
            out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = maps[:, :, k]
        return out
    n = a.size
    cols = max(1, int(np.ceil(np.sqrt(2 * n))))
    rows = int(np.ceil(n / cols))
    out = np.full(rows * cols, np.nan, np.float32)
    out[:n] = a
    return out.reshape(rows, cols)
