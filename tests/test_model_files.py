""".keras files from elsewhere: refused in one line before Keras allocates anything (issue 14).

Each crafted file is checked with Keras' own `load_model` replaced by a spy: the refusal must come
before Keras is asked, so these tests never allocate what the files declare.
"""
import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cli import main
from zoo.errors import RunError
from zoo.inference import Predictor
from zoo.model_files import MAX_PARAMS, check_keras_file, keras_file_classes, load_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Untrained mlp (669,706 parameters) and a small Functional model, saved as .keras."""
    import keras

    root = tmp_path_factory.mktemp("model_files")
    zoo.build("mlp").save(root / "mlp.keras")
    inputs = keras.Input((600,))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Dense(600, activation="relu")(inputs))
    keras.Model(inputs, outputs).save(root / "functional.keras")
    return root


GENUINE = {"mlp.keras", "functional.keras"}  # files Keras itself wrote, left as they are


@pytest.fixture
def keras_never_asked(monkeypatch):
    """Replace Keras' load_model with a spy: the list of files it was asked to load.

    It loads the genuine files; asked for any other (a crafted one), it raises instead of allocating
    what that file declares (which is what happened before zoo checked them first).
    """
    import keras

    asked = []
    real = keras.models.load_model

    def spy(path, *args, **kwargs):
        asked.append(str(path))
        if str(path).rsplit("/", 1)[-1] not in GENUINE:
            raise AssertionError(f"Keras was asked to load the crafted {path}")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(keras.models, "load_model", spy)
    return asked


def rewrite(source, target, config=None, weights=None, compression=zipfile.ZIP_STORED):
    """A copy of a .keras archive with its config.json text and/or weights bytes changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "config.json" and config is not None:
                data = config(data.decode()).encode()
            if info.filename == "model.weights.h5" and weights is not None:
                data = weights(data)
            new.writestr(info.filename, data)
    return target


def refused(path, keras_never_asked, *words):
    with pytest.raises(RunError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message, message
    for word in words:
        assert word in message, message
    assert keras_never_asked == [], "Keras was asked to load the file"
    return message


def one_line_from_cli(capsys, *args):
    assert main(list(map(str, args))) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_real_models_pass_and_are_counted_exactly(saved, keras_never_asked):
    for name in ("mlp", "functional"):
        model = load_model(saved / f"{name}.keras")
        assert check_keras_file(saved / f"{name}.keras") == model.count_params()
    assert len(keras_never_asked) == 2


def test_a_config_that_inflates_is_refused_before_it_is_read(saved, tmp_path, keras_never_asked, capsys):
    # valid JSON padded with 64 MB of spaces: 64 KB deflated; Keras alone would read and parse it all
    bomb = rewrite(saved / "mlp.keras", tmp_path / "inflating.keras", config=lambda text: text + " " * (64 * 2**20),
                   compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("config.json").compress_size < 2**20  # 64 MB in under 1 MB
    refused(bomb, keras_never_asked, "config.json", "64.0 MB", "at most 8.0 MB")
    with pytest.raises(RunError, match="config.json"):
        keras_file_classes(bomb)
    image = tmp_path / "digit.png"
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(image)
    assert "config.json" in one_line_from_cli(capsys, "predict", bomb, image)
    assert keras_never_asked == []


def widen(text: str, old: int, new: int, strip_build_configs: bool = False) -> str:
    """A config with every Dense `units` and every shape dimension `old` made `new` (optionally without build configs)."""
    def walk(node):
        if isinstance(node, dict):
            if strip_build_configs:
                node.pop("build_config", None)
            return {k: (new if k == "units" and v == old else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            if node and node[0] is None and old in node:  # a shape such as [null, 600]
                return [new if d == old else d for d in node]
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(json.loads(text)))


def test_a_huge_dense_layer_is_refused_before_keras_allocates(saved, tmp_path, keras_never_asked):
    # Dense(60000) on 60000 inputs: 3.6 G parameters (14 GB of float32) declared in a small file
    import keras

    keras.Sequential([keras.Input((20,)), keras.layers.Dense(20), keras.layers.Dense(10)]).save(tmp_path / "s.keras")
    big = rewrite(tmp_path / "s.keras", tmp_path / "dense.keras", config=lambda text: widen(text, 20, 60_000))
    assert big.stat().st_size < 100_000
    message = refused(big, keras_never_asked, "3,600,660,010 parameters", "100,000,000", "ZOO_MAX_PARAMS")
    assert "dense" in message  # the layer that is too large is named
    # no input sizes written (no build configs) in a Functional model: only Keras' own shape inference knows them
    hidden = rewrite(saved / "functional.keras", tmp_path / "hidden.keras",
                     config=lambda text: widen(text, 600, 60_000, strip_build_configs=True))
    refused(hidden, keras_never_asked, "3,600,660,010 parameters")


def _h5_with(data: bytes, name: str, shape, **options) -> bytes:
    """The weights file `data` with dataset `name` replaced by an empty one of `shape` (declared, never written)."""
    out = io.BytesIO()
    with h5py.File(io.BytesIO(data), "r") as old, h5py.File(out, "w") as new:
        for key, value in old.attrs.items():
            new.attrs[key] = value

        def copy(path, obj):
            if isinstance(obj, h5py.Dataset) and path != name:
                new.create_dataset(path, data=obj[()])
            elif isinstance(obj, h5py.Group):
                group = new.require_group(path)
                for key, value in obj.attrs.items():
                    group.attrs[key] = value

        old.visititems(copy)
        new.create_dataset(name, shape=shape, **options)
    return out.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_weights_file_declaring_huge_arrays_is_refused(saved, tmp_path, keras_never_asked, compression):
    with zipfile.ZipFile(saved / "mlp.keras") as archive:
        names = []
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
            f.visititems(lambda path, obj: names.append(path) if isinstance(obj, h5py.Dataset) else None)
    kernel = next(n for n in names if n.endswith("vars/0"))
    # 400 M float32 values (1.6 GB when read) declared in chunks that were never written: a few kB on disk
    bomb = rewrite(saved / "mlp.keras", tmp_path / "weights.keras", compression=compression,
                   weights=lambda data: _h5_with(data, kernel, (20_000, 20_000), dtype="float32", chunks=(100, 100)))
    assert bomb.stat().st_size < 4 * 2**20
    refused(bomb, keras_never_asked, "weights file declares", "values", "ZOO_MAX_PARAMS")
    strings = rewrite(saved / "mlp.keras", tmp_path / "strings.keras", compression=compression,
                      weights=lambda data: _h5_with(data, kernel, (10,), dtype="S100000"))
    refused(strings, keras_never_asked, "holds numbers")
    padded = rewrite(saved / "mlp.keras", tmp_path / "padded.keras", compression=compression,
                     weights=lambda data: data + b"\0" * (24 * 2**20))  # more bytes than its arrays need
    refused(padded, keras_never_asked, "more than the")


def test_the_parameter_limit_is_documented_and_overridable(saved, monkeypatch, keras_never_asked, tmp_path, capsys):
    assert MAX_PARAMS == 100_000_000
    monkeypatch.setenv("ZOO_MAX_PARAMS", "100000")
    message = refused(saved / "mlp.keras", keras_never_asked, "669,706 parameters", "100,000")
    assert "hidden_1" in message
    with pytest.raises(RunError, match="669,706"):
        Predictor.from_run(saved / "mlp.keras")
    monkeypatch.setenv("ZOO_MAX_PARAMS", "a lot")
    with pytest.raises(RunError, match="ZOO_MAX_PARAMS must be a positive integer"):
        load_model(saved / "mlp.keras")
    assert keras_never_asked == []
    monkeypatch.setenv("ZOO_MAX_PARAMS", "1_000_000")
    assert load_model(saved / "mlp.keras").count_params() == 669_706


def test_broken_archives_are_one_line(saved, tmp_path, keras_never_asked):
    no_config = tmp_path / "noconfig.keras"
    with zipfile.ZipFile(no_config, "w") as z:
        z.writestr("model.weights.h5", b"")
    refused(no_config, keras_never_asked, "no config.json")
    deep = rewrite(saved / "mlp.keras", tmp_path / "deep.keras", config=lambda text: "[" * 100_000 + "]" * 100_000)
    refused(deep, keras_never_asked, "config.json")
    many = tmp_path / "many.keras"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(10_001):
            z.writestr(f"assets/{i}", b"")
    refused(many, keras_never_asked, "10,001 files")
    cut = tmp_path / "cut.keras"
    data = (saved / "mlp.keras").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError, match="cut.keras"):
        load_model(cut)


def test_a_config_of_hundreds_of_layers_is_refused_before_keras_rebuilds_it(saved, tmp_path, keras_never_asked, monkeypatch):
    """Keras rebuilds a Sequential model layer by layer, in time growing with the square of its depth: 500 tiny
    Dense layers took over a minute in the parameter count alone; more than `MAX_LAYERS` is refused at once."""
    from zoo.model_files import MAX_LAYERS

    def deepen(text):
        config = json.loads(text)
        layers = config["config"]["layers"]
        dense = next(layer for layer in layers if layer["class_name"] == "Dense")
        extra = []
        for k in range(500):
            copy = json.loads(json.dumps(dense))
            copy["config"]["name"] = f"deep_{k}"
            copy["config"]["units"] = 1
            copy.pop("build_config", None)
            extra.append(copy)
        config["config"]["layers"] = layers[:1] + extra + layers[1:]
        return json.dumps(config)

    path = rewrite(saved / "mlp.keras", tmp_path / "deep.keras", config=deepen)
    counted = []  # refused from the layer count in the zip's config, before the (slow) rebuild that counts parameters
    monkeypatch.setattr(zoo.model_files, "_count_parameters", lambda config: counted.append(1))
    refused(path, keras_never_asked, f"more than {MAX_LAYERS} layers")
    assert counted == []
    assert MAX_LAYERS <= 128
