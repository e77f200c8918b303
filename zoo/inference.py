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

How far to trust the answer (`NoveltyCheck`): the ten probabilities come from a softmax, which always
shares 100% among the ten digits and is overconfident on inputs unlike its training data (an "L" can
be "99% sure this is a 6"). So each prediction also says how unlike real digits the image is,
measured without the model: its distance to the nearest of 10,000 MNIST training digits by stroke
directions and by pixels, and its amount of ink, each in units of a threshold that held-out real digits
stay under (99.5% of them in all). Above 1, `Prediction.unfamiliar` is True and the sentence says
"Not sure this is a digit". It needs MNIST on this computer; without it `Prediction.novelty` is None.

Two engines, chosen once per model: stacks of Dense layers (with Dropout and Flatten, and an
activation NumPy knows) run in NumPy from the extracted weights, about 0.05 ms for `mlp`; anything
else (the `cnn`) runs as a `tf.function` with a fixed (1, ...) float32 signature, traced and warmed
up in the constructor, about 1 ms. Dropout is inactive in both (inference mode).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .digit_image import stroke_directions, to_mnist
from .errors import DataError, RunError
from .model_files import run_dataset, load_model
from .runs import MODEL

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
    novelty: float | None = None  # how unlike real digits (NoveltyCheck): above 1 is unfamiliar; None: unchecked

    @property
    def unfamiliar(self) -> bool | None:
        """True when the image looks unlike the digits the model learnt (None when that was not checked)."""
        return None if self.novelty is None else bool(self.novelty > 1.0)

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable digits as (digit, probability), most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(i), float(self.probabilities[i])) for i in order]


def _percent(p: float) -> str:
    """One decimal, rounded down like `sentence`: 99.97% is "99.9%", not a "100.0%" the model does not claim."""
    return f"{np.floor(float(p) * 1000 + 1e-9) / 10:.1f}%"


def sentence(label: int, confidence: float, unfamiliar: bool | None = False) -> str:
    """ "98% sure this is a 7" (rounded down: never "100%" unless it is; "an 8").

    For an image unlike the training digits (`unfamiliar`), the softmax's confidence means little, and
    the sentence says so: "Not sure this is a digit: it looks unlike the digits this model learnt (best
    guess 6, 99%: a softmax is overconfident on drawings unlike its training data)".
    """
    percent = int(np.floor(float(confidence) * 100 + 1e-9))
    if unfamiliar:
        return (f"{UNFAMILIAR}: it looks unlike the digits this model learnt (best guess {label}, {percent}%: "
                "a softmax is overconfident on drawings unlike its training data)")
    return f"{percent}% sure this is {'an' if label == 8 else 'a'} {label}"


UNFAMILIAR = "Not sure this is a digit"
UNFAMILIAR_LINE = "not sure this is a digit: it looks unlike the digits this model learnt"  # zoo predict's flag


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
        with np.errstate(all="ignore"):  # a model of inf/NaN weights is refused by its answer, in one line
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
        novelty_check: a `NoveltyCheck` of the model's training set: each prediction then says how
            unlike those digits the image is (`Prediction.novelty`); it can be set later too
            (`predictor.novelty_check = ...`, e.g. once fitted off the GUI thread).
    """

    def __init__(self, model, engine: str = "auto", centre: str = "mass", novelty_check: "NoveltyCheck | None" = None):
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
        self.dataset: str | None = None  # what the model learnt from, when known (from_run)
        self.novelty_check = novelty_check
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
    def from_run(cls, run_dir: str | Path, engine: str = "auto", novelty: bool = True) -> "Predictor":
        """Load `run_dir/model.keras` (or a `.keras` file given directly); `RunError` (one line) when it cannot.

        With `novelty` (the default), the `NoveltyCheck` of the run's training set is attached: read from
        the cache, else fitted (a few seconds, once per dataset; see `NoveltyCheck.for_dataset`). Without
        a known training set (a bare .keras file), or for MNIST when it is not on this computer, there is
        none and `Prediction.novelty` stays None.
        """
        path = Path(run_dir)
        model_file = path if path.suffix == ".keras" and not path.is_dir() else path / MODEL
        model = load_model(model_file)
        if not cls.is_digit_model(model):
            where = path if model_file.parent == path else model_file
            raise RunError(f"The model in {where} does not take 28x28 digit images (input {list(_input_shape(model) or ['?'])}, "
                           f"{_output_units(model)} outputs); pick a run of mlp or cnn trained on digits or mnist")
        from .model_files import read_card

        card = read_card(model_file) or {}  # an exported .keras says how it was trained to see
        dataset = card.get("dataset") if isinstance(card.get("dataset"), str) else run_dataset(model_file)
        centre = _card_centre(card) or centre_for_dataset(dataset)
        predictor = cls(model, engine=engine, centre=centre)
        predictor.source = model_file
        predictor.dataset = dataset
        if novelty and dataset is not None:
            predictor.novelty_check = NoveltyCheck.for_dataset(dataset, centre)
        return predictor

    def preprocess(self, ink: np.ndarray) -> np.ndarray | None:
        """A drawing (any size, ink high) as the 28x28 this model expects; None when there is no ink."""
        return to_mnist(ink, self.centre)

    def predict_ink(self, ink: np.ndarray) -> Prediction | None:
        """`predict(preprocess(ink))`: the drawing pad's whole path; None for an empty drawing."""
        image28 = self.preprocess(ink)
        return None if image28 is None else self.predict(image28)

    def predict(self, image28: np.ndarray) -> Prediction:
        """Probabilities, label, sentence, hidden activations and novelty for one 28x28 image (784 values in [0, 1])."""
        image = np.asarray(image28, dtype=np.float32)
        if image.size != 784:
            raise ValueError(f"predict takes a 28x28 image (784 values), received an array of shape {image.shape}")
        image = np.ascontiguousarray(image.reshape(28, 28))
        outputs = self._forward(image.reshape((1, *self.input_shape)))
        probabilities = np.asarray(outputs[-1], np.float32).reshape(-1)
        _refuse_non_finite(probabilities, f"The model {getattr(self.model, 'name', '')!r}")
        label = int(np.argmax(probabilities))
        confidence = float(probabilities[label])
        hidden = [(name, np.asarray(a).reshape(-1)) for name, a in zip(self.hidden_names, outputs[:-1])]
        shapes = [tuple(int(d) for d in np.shape(a)[1:]) for a in outputs[:-1]]
        check = self.novelty_check
        novelty = check.novelty(image) if check is not None else None
        unfamiliar = novelty is not None and novelty > 1.0
        return Prediction(probabilities, label, confidence, sentence(label, confidence, unfamiliar), hidden, image,
                          shapes, novelty)


# ---------------------------------------------------------------------------------------- novelty
NOVELTY_VERSION = 2     # bump when the features or the fit change: cached checks are then refitted
FALSE_ALARMS = 0.005    # the share of held-out real digits flagged, split evenly among a check's feature spaces
COMPONENTS = 60         # principal components kept per feature space
REFERENCE_SIZE = 10_000  # training digits to compare with (MNIST: a random subset)
DIGITS_COPIES = 8       # the offline digits: distorted copies of each added to the reference, as the recipes train
FEATURE_SPACES = {      # reference set -> (features, neighbours) compared in; an image far in any one is unfamiliar
    "mnist": (("strokes", 1), ("pixels", 3), ("ink", 0)),
    # the offline digits are 8x8 scans scaled up: blurred squares that no drawing matches pixel by pixel
    # (every drawn digit would be flagged), so their pixels are not compared, only strokes and ink
    "digits": (("strokes", 1), ("ink", 0)),
}
DIGIT_DATASETS = ("mnist", "digits")  # training sets a NoveltyCheck can stand for
_FIT_ROWS = 3_000       # images the principal components are computed from
_CHUNK = 1_000          # images compared with the reference at a time (a 1,000 x 10,000 distance matrix: 40 MB)


def _features(kind: str, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)
    return stroke_directions(images) if kind == "strokes" else images.reshape(len(images), -1)  # pixels, ink


@dataclass(eq=False)
class _Space:
    """One feature space of a NoveltyCheck: the reference digits' principal components and their projections."""

    kind: str  # "strokes" (zoo.digit_image.stroke_directions), "pixels", or "ink" (the total ink: no neighbours)
    neighbours: int  # the distance to the k-th nearest reference digit (k > 1 ignores a lone look-alike); 0 for ink
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (COMPONENTS, d), orthonormal rows
    reference: np.ndarray  # (n, COMPONENTS): the reference digits' coordinates
    threshold: float = float("inf")

    @classmethod
    def fit(cls, kind: str, neighbours: int, features: np.ndarray, rng: np.random.Generator) -> "_Space":
        if kind == "ink":  # a blob (a dot, a filled square) has more ink than any digit: the statistic is the sum
            return cls(kind, 0, np.zeros(0, np.float32), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
        mean = features.mean(axis=0)
        rows = features[rng.permutation(len(features))[:_FIT_ROWS]] - mean
        _, _, vt = np.linalg.svd(rows, full_matrices=False)
        components = np.ascontiguousarray(vt[:COMPONENTS], np.float32)
        space = cls(kind, neighbours, mean.astype(np.float32), components, np.zeros((0, len(components)), np.float32))
        space.reference = np.concatenate([space._project(features[i:i + _CHUNK])[0]
                                          for i in range(0, len(features), _CHUNK)])
        return space

    def _project(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centred = features - self.mean
        z = centred @ self.components.T
        residual = np.maximum((centred * centred).sum(axis=1) - (z * z).sum(axis=1), 0.0)
        return z, residual

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared distance to the k-th nearest reference digit: in the principal subspace, plus what it leaves out.

        For "ink": the image's total ink (the sum of its pixels).
        """
        if self.kind == "ink":
            return features.sum(axis=1, dtype=np.float64)
        if getattr(self, "_columns", None) is None or self._columns.shape[1] != len(self.reference):
            self._columns = np.ascontiguousarray(self.reference.T)  # (COMPONENTS, n): z @ columns is one fast product
            self._norms = (self.reference * self.reference).sum(axis=1)
        out = []
        k = min(self.neighbours, len(self.reference)) - 1
        for i in range(0, len(features), _CHUNK):
            z, residual = self._project(features[i:i + _CHUNK])
            d2 = (z * z).sum(axis=1)[:, None] - 2.0 * (z @ self._columns) + self._norms[None, :]
            nearest = d2.min(axis=1) if k == 0 else np.partition(d2, k, axis=1)[:, k]
            out.append(np.maximum(nearest, 0.0) + residual)
        return np.concatenate(out) if out else np.zeros(0, np.float32)


class NoveltyCheck:
    """How unlike handwritten digits an image is: a check of the input, not of the model.

    A softmax shares 100% among its ten digits whatever it is shown and is overconfident off its
    training data, so its probability cannot say "this is no digit". This check does, without the model.
    It keeps a reference set of real digits framed as drawings are (`zoo.digit_image.to_mnist`),
    described by their strokes' directions (`zoo.digit_image.stroke_directions`) and, for MNIST, by
    their pixels, each reduced to 60 principal components. An image's distance to its nearest
    reference digits in each description, and its total ink (a blob has more than any digit), are
    each divided by a threshold: the percentile 100 - 0.5/k of the same statistic for held-out
    real digits (the validation split), k the number of statistics, so that 99.5% of real digits
    score at most 1 in all. `novelty(image)` is the largest ratio; above 1 the image is unfamiliar.
    NumPy only, well under a millisecond per image with one BLAS thread.

    The reference (`for_dataset`): 10,000 of MNIST's training digits, for models trained on MNIST and
    on the offline digits alike (a drawing unlike MNIST's handwriting by some 500 writers is unlike the
    offline set's 13 writers too). Without MNIST on this computer there is no check: the offline digits
    (1,257 8x8 scans, even with 8 distorted copies each as the recipes train; `fit("digits")`) are so
    unlike drawings that a check on them flags about one well-drawn digit in four and scores a drawn
    7 as far off as an L.

    What it catches: an "L", straight lines other than steep ones (those are 1s), a dot, a filled
    square, most scribbles. What it misses: doodles that happen to look like a digit's strokes.
    """

    def __init__(self, reference: str, centre: str, spaces: list[_Space], reference_size: int, calibration_size: int):
        self.reference, self.centre, self.spaces = reference, centre, spaces
        self.reference_size, self.calibration_size = int(reference_size), int(calibration_size)

    def novelties(self, images28: np.ndarray) -> np.ndarray:
        """`novelty` of each of (n, 28, 28) images, as float64 (n,)."""
        images = np.asarray(images28, np.float32).reshape(-1, 28, 28)
        ratios = [space.distances(_features(space.kind, images)) / space.threshold for space in self.spaces]
        return np.max(ratios, axis=0).astype(np.float64)

    def novelty(self, image28: np.ndarray) -> float:
        """How unlike the training digits one 28x28 image is: at most 1 for 99.5% of real digits."""
        return float(self.novelties(image28)[0])

    def describe(self) -> str:
        """ "10,000 MNIST training digits by stroke directions, pixels and amount of ink" """
        names = {"strokes": "stroke directions", "pixels": "pixels", "ink": "amount of ink"}
        ways = [names[space.kind] for space in self.spaces]
        how = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + " and " + ways[-1]
        name = "MNIST" if self.reference == "mnist" else "offline" if self.reference == "digits" else self.reference
        return f"{self.reference_size:,} {name} training digits by {how}"

    # ----------------------------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, reference: str, centre: str = "mass", seed: int = 0) -> "NoveltyCheck":
        """Fit a check on a reference set ("mnist" or "digits") framed by `centre`: several seconds, NumPy only.

        `DataError` when the data is missing. Never downloads: MNIST must be on this computer already
        (`zoo.datasets.mnist_is_local`).
        """
        from . import datasets

        if reference not in FEATURE_SPACES:
            raise DataError(f"No novelty check on {reference!r}; only on {', '.join(FEATURE_SPACES)}")
        rng = np.random.default_rng(seed)
        if reference == "mnist":
            if not datasets.mnist_is_local():
                raise DataError("MNIST is not on this computer (zoo fetch mnist): drawings cannot be compared with it")
            data = datasets.load_dataset("mnist")
            images = data.x_train[np.sort(rng.permutation(len(data.x_train))[:REFERENCE_SIZE])]
            calibration = data.x_val  # held out from training: 5,000 digits
        else:
            from .augment import augment_images

            data = datasets.load_dataset(reference)
            images = np.concatenate([data.x_train, augment_images(data.x_train, DIGITS_COPIES, seed=seed)])
            # held out: the 180 validation digits, distorted alike (real drawings vary more than 180 scans)
            calibration = np.concatenate([data.x_val, augment_images(data.x_val, 10, seed=seed + 1)])
        images, calibration = _framed(images, centre), _framed(calibration, centre)
        spaces = []
        for kind, neighbours in FEATURE_SPACES[reference]:
            space = _Space.fit(kind, neighbours, _features(kind, images), rng)
            distances = space.distances(_features(kind, calibration))
            space.threshold = float(np.quantile(distances, 1.0 - FALSE_ALARMS / len(FEATURE_SPACES[reference])))
            spaces.append(space)
        return cls(reference, centre, spaces, len(images), len(calibration))

    @staticmethod
    def reference_for(dataset: str | None) -> str | None:
        """The reference set for a model trained on `dataset` ("mnist" or "digits"): "mnist" when MNIST is on
        this computer, else None (no check; see the class docstring)."""
        from .datasets import mnist_is_local

        return "mnist" if dataset in DIGIT_DATASETS and mnist_is_local() else None

    @classmethod
    def for_dataset(cls, dataset: str | None, centre: str | None = None, cache: bool = True) -> "NoveltyCheck | None":
        """The check for a model trained on `dataset` (framing drawings by `centre`), once per process.

        From memory, else the cache file `zoo_home()/cache/novelty-REFERENCE-CENTRE-vN.npz` (about 2 MB,
        shared by every run), else fitted (several seconds) and cached. None for a training set that is
        not digits, or when MNIST is not on this computer. Thread-safe: the app fits it on a background
        thread.
        """
        reference = cls.reference_for(dataset)
        if reference is None:
            return None
        centre = centre or centre_for_dataset(dataset)
        key = (reference, centre)
        with _CHECKS_LOCK:
            if key in _CHECKS:
                return _CHECKS[key]
            path = novelty_cache_path(reference, centre)
            check = cls.load(path) if cache else None
            if check is None:
                try:
                    check = cls.fit(reference, centre)
                except DataError:
                    return None
                if cache:
                    check.save(path)
            _CHECKS[key] = check
            return check

    @classmethod
    def cached(cls, dataset: str | None, centre: str | None = None) -> "NoveltyCheck | None":
        """The check `for_dataset` would give if it is already in memory (never fits, never reads a file)."""
        reference = cls.reference_for(dataset)
        with _CHECKS_LOCK:
            return _CHECKS.get((reference, centre or centre_for_dataset(dataset)))

    # ----------------------------------------------------------------------------------- storage
    def save(self, path: str | Path) -> bool:
        """Write the check to an .npz (atomically); False when the folder cannot be written."""
        path = Path(path)
        arrays = {"version": np.array(NOVELTY_VERSION), "reference": np.array(self.reference),
                  "centre": np.array(self.centre), "sizes": np.array([self.reference_size, self.calibration_size])}
        for i, space in enumerate(self.spaces):
            arrays.update({f"kind_{i}": np.array(space.kind), f"neighbours_{i}": np.array(space.neighbours),
                           f"mean_{i}": space.mean, f"components_{i}": space.components,
                           f"reference_{i}": space.reference.astype(np.float16),
                           f"threshold_{i}": np.array(space.threshold)})
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as f:
                np.savez(f, **arrays)
            os.replace(temporary, path)
            return True
        except OSError:
            temporary.unlink(missing_ok=True)
            return False

    @classmethod
    def load(cls, path: str | Path) -> "NoveltyCheck | None":
        """A check saved by `save`; None when the file is missing, damaged or of another version."""
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as f:
                if int(f["version"]) != NOVELTY_VERSION:
                    return None
                spaces = []
                i = 0
                while f"kind_{i}" in f.files:
                    spaces.append(_Space(str(f[f"kind_{i}"]), int(f[f"neighbours_{i}"]),
                                         f[f"mean_{i}"].astype(np.float32), f[f"components_{i}"].astype(np.float32),
                                         f[f"reference_{i}"].astype(np.float32), float(f[f"threshold_{i}"])))
                    i += 1
                sizes = f["sizes"]
                check = cls(str(f["reference"]), str(f["centre"]), spaces, int(sizes[0]), int(sizes[1]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        expected = FEATURE_SPACES.get(check.reference)
        if not spaces or expected is None or [(s.kind, s.neighbours) for s in spaces] != list(expected):
            return None
        return check


_CHECKS: dict[tuple[str, str], NoveltyCheck] = {}
_CHECKS_LOCK = threading.Lock()


def novelty_cache_path(reference: str, centre: str = "mass") -> Path:
    """Where `NoveltyCheck.for_dataset` keeps a fitted check (shared by every run it stands for)."""
    from .runs import zoo_home

    return zoo_home() / "cache" / f"novelty-{reference}-{centre}-v{NOVELTY_VERSION}.npz"


def _framed(images: np.ndarray, centre: str) -> np.ndarray:
    """Images framed as the drawing pad frames a drawing (`to_mnist`), blank ones left out."""
    framed = (to_mnist(image, centre) for image in images)
    return np.stack([image for image in framed if image is not None])


def centre_for_dataset(dataset: str | None) -> str:
    """How to frame drawings for a model trained on `dataset`: like the data it learnt from.

    The offline `digits` are 8x8 frames scaled into a centred 20x20 box ("box"); MNIST and anything
    else are centred by mass ("mass"). On `digits`, framing drawings by mass costs an mlp about 10
    points of accuracy.
    """
    return "box" if dataset == "digits" else "mass"


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


def predict_file(model_dir_or_file: str | Path, image_paths: Iterable[str | Path], top: int = 1) -> Iterator[str]:
    """One line per image, e.g. "digit.png: 7 (98.1%)", or with `top=3` "digit.png: 7 (98.1%), 1 (1.2%), 9 (0.3%)".

    An image unlike the digits the model learnt (`NoveltyCheck`, when its training set is known) gets
    " - not sure this is a digit: it looks unlike the digits this model learnt" after its numbers.

    `model_dir_or_file` is a run folder, a `.keras`, `.tflite` or `.onnx` file or a SavedModel folder
    (exports run in their own runtime). Returns an iterator: every image is checked first from its
    header (a regular file, a format `zoo.digit_image.FORMATS` lists, at most `MAX_PIXELS` pixels;
    `DataError` before the model loads), then the model is loaded, then each image is decoded,
    predicted and released in turn as its line is taken, so memory holds one image at a time
    whatever their number (an image that fails to decode, or holds no ink, raises `DataError` then).
    """
    from .digit_image import check_image_file
    from .model_files import detect_format

    top = _checked_top(top)
    given = [str(p) for p in image_paths]
    if not given:
        raise DataError("No image files given")
    for name in given:
        check_image_file(name)
    return _predicted_lines(_reader(model_dir_or_file, detect_format), given, top)


def predict_each(model_dir_or_file: str | Path, image_paths: Iterable[str | Path],
                 top: int = 1) -> Iterator[tuple[str, str | None, str | None]]:
    """`(image, line, None)` for each image read, `(image, None, why)` for each that cannot be (not an image, too
    large, blank: one line), in the order given: one bad image does not stop the others.

    As `predict_file`: every image is checked from its header first, the model is loaded only when one passes,
    and images are decoded one at a time. A model that cannot be loaded, or gives non-finite outputs, raises.
    """
    from .digit_image import check_image_file
    from .model_files import detect_format

    top = _checked_top(top)
    given = [str(p) for p in image_paths]
    if not given:
        raise DataError("No image files given")
    problems: dict[int, str] = {}
    for k, name in enumerate(given):
        try:
            check_image_file(name)
        except DataError as e:
            problems[k] = str(e)
    read = _reader(model_dir_or_file, detect_format) if len(problems) < len(given) else None
    for k, name in enumerate(given):
        if k in problems:
            yield name, None, problems[k]
            continue
        try:
            yield name, _predicted_line(read, name, top), None
        except DataError as e:
            yield name, None, str(e)


def _checked_top(top: int) -> int:
    top = int(top)
    if not 1 <= top <= NUM_CLASSES:
        raise DataError(f"--top must be a whole number from 1 to {NUM_CLASSES} (there are {NUM_CLASSES} digits), "
                        f"received {top}")
    return top


def _reader(model_dir_or_file, detect_format):
    if detect_format(model_dir_or_file) in ("run", "keras"):
        predictor = Predictor.from_run(model_dir_or_file)

        def read(ink):
            image28 = predictor.preprocess(ink)
            if image28 is None:
                return None
            p = predictor.predict(image28)
            return p.probabilities, p.unfamiliar

        return read
    return _exported_digit_model(Path(model_dir_or_file))


def _predicted_lines(read, given: list[str], top: int) -> Iterator[str]:
    for name in given:
        yield _predicted_line(read, name, top)


def _predicted_line(read, name: str, top: int) -> str:
    """Decode, predict and describe one image; its pixels are released when this returns."""
    from .digit_image import load_digit_image

    answer = read(load_digit_image(name))
    if answer is None:
        raise DataError(f"{name}: no ink found (a blank image); draw or photograph a digit")
    probabilities, unfamiliar = answer
    p = np.asarray(probabilities, np.float64).reshape(-1)
    _refuse_non_finite(p, f"{name}: the model")
    ranked = [(int(d), float(p[d])) for d in np.argsort(-p, kind="stable")[:top]]
    line = f"{name}: " + ", ".join(f"{digit} ({_percent(q)})" for digit, q in ranked)
    return line + (f" - {UNFAMILIAR_LINE}" if unfamiliar else "")


def _refuse_non_finite(probabilities: np.ndarray, who: str) -> None:
    if not np.all(np.isfinite(probabilities)):
        kind = "NaN" if np.isnan(probabilities).any() else "infinity"
        raise RunError(f"{who} gives non-finite probabilities ({kind}); it is damaged or its training diverged; "
                       "use another model")


def _card_centre(card: dict) -> str | None:
    """The framing a model card records ("mass" or "box"), or None when it records none (or nonsense)."""
    preprocessing = card.get("preprocessing")
    centre = preprocessing.get("centre") if isinstance(preprocessing, dict) else None
    return centre if centre in ("mass", "box") else None


def _exported_digit_model(path: Path) -> Callable[[np.ndarray], tuple[np.ndarray, bool | None] | None]:
    """ink -> (ten probabilities, unfamiliar) with an exported model, framed as its card says (by mass otherwise);
    None for an image without ink."""
    from .model_files import input_shape_of, load_runtime, read_card

    shape = input_shape_of(path)
    if shape is None or tuple(shape) not in DIGIT_INPUT_SHAPES:
        raise RunError(f"{path} does not take 28x28 digit images (its input is {list(shape) if shape else '?'}); "
                       "use a model trained on digits or mnist")
    card = read_card(path) or {}
    centre = _card_centre(card) or "mass"
    run = load_runtime(path)
    check = NoveltyCheck.for_dataset(card.get("dataset") if isinstance(card.get("dataset"), str) else None, centre)

    def read(ink):
        image28 = to_mnist(ink, centre=centre)
        if image28 is None:
            return None
        out = np.asarray(run(image28.reshape((1, *shape)).astype(np.float32)))
        if out.ndim != 2 or out.shape[0] != 1 or out.shape[-1] != NUM_CLASSES:
            raise RunError(f"{path} gives outputs of shape {list(out.shape)}, not 10 digit classes")
        return out[0], (None if check is None else check.novelty(image28) > 1.0)

    return read


# ------------------------------------------------------------------------------- for the app's views
def is_digit_run(run_dir: str | Path) -> bool:
    """Whether a run folder's `spec.toml` declares a digit model (784 inputs or 28x28(x1), 10 outputs); no Keras needed."""
    from .runs import read_run_spec

    spec = read_run_spec(run_dir)
    try:
        shape = tuple(int(d) for d in spec.get("input_shape", ()))
        units = int(spec.get("output", {}).get("units", 0))
    except (TypeError, ValueError, AttributeError):  # no spec (None), or one that is not a digit model's
        return False
    return shape in DIGIT_INPUT_SHAPES and units == NUM_CLASSES


def digit_runs(parent: str | Path | None = None) -> list:
    """The runs (`zoo.runs.RunInfo`, newest first) that finished with a saved digit model: what the pad can use."""
    from .runs import list_runs

    return [run for run in list_runs(parent) if run.finished_ok and is_digit_run(run.path)]


BEST_RUN_RULE = ("the most accurate run trained on MNIST (test accuracy; the newest of equals), else the most "
                 "accurate run: MNIST's 60,000 digits teach a model to read drawings far better than the 1,797 "
                 "offline ones")


def best_digit_run(runs: list) -> tuple[object | None, str]:
    """The run the drawing pad should use unless told otherwise, and why, in a few words (`BEST_RUN_RULE`).

    `runs`: `zoo.runs.RunInfo`s (e.g. `digit_runs()`). Among those trained on MNIST, the highest test
    accuracy (runs without one after those with one; ties: the newest); without any, the same among all.
    """
    runs = list(runs)
    if not runs:
        return None, ""
    def most_accurate(candidates: list) -> object:
        return max(candidates, key=lambda r: (r.accuracy is not None, r.accuracy or 0.0, r.started, r.path.name))

    mnist = [r for r in runs if r.dataset == "mnist"]
    if mnist:
        why = "the most accurate run trained on MNIST" if len(mnist) > 1 else "the run trained on MNIST"
        return most_accurate(mnist), why
    why = "the most accurate run (none was trained on MNIST)" if len(runs) > 1 else "the only run (not trained on MNIST)"
    return most_accurate(runs), why


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
