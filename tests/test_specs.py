"""Spec loading and validation: every refusal is one line naming the file, the key, the value and what is allowed."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo.cli import main
from zoo.catalogue import builtin_models_dir
from zoo.registry import register_builder

from conftest import fails_if_blocked

BUILTIN = ["binary", "cnn", "deep-plain", "deep-relu", "deep-residual", "deep-sigmoid", "deep-sigmoid-bn", "deep-tanh",
           "exploding", "exploding-clipped", "init-glorot", "init-he", "init-small", "init-zeros", "mlp", "nielsen-ch5",
           "perceptron", "regression", "rnn-lstm", "rnn-simple", "xor-mlp"]
MLP_TOML = (Path(__file__).parent.parent / "models" / "mlp.toml").read_text()


def test_builtin_models_are_exactly_the_promised_ones():
    assert zoo.list_models() == BUILTIN


def test_list_models_takes_fnmatch_filters():
    assert zoo.list_models("deep-*") == ["deep-plain", "deep-relu", "deep-residual", "deep-sigmoid", "deep-sigmoid-bn",
                                         "deep-tanh"]
    assert zoo.list_models(["exploding*", "cnn"]) == ["cnn", "exploding", "exploding-clipped"]
    assert zoo.list_models("*", exclude="deep-*") == [m for m in BUILTIN if not m.startswith("deep-")]


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_spec_loads_with_its_name_and_a_description(name):
    spec = zoo.load_spec(name)
    assert spec.name == name and len(spec.description) > 20


def test_declared_architectures_match_the_curriculum():
    sig, relu = zoo.load_spec("deep-sigmoid"), zoo.load_spec("deep-relu")
    assert len(sig.expanded_layers()) >= 8 and {l.activation for l in sig.expanded_layers()} == {"sigmoid"}
    assert [l.units for l in relu.expanded_layers()] == [l.units for l in sig.expanded_layers()]
    assert {l.initializer.name for l in relu.expanded_layers()} == {"he_normal"}
    mlp = zoo.load_spec("mlp")
    assert mlp.input_shape == [784] and mlp.output.units == 10 and mlp.output.activation == "softmax"
    assert {l.activation for l in mlp.expanded_layers() if l.kind == "dense"} == {"relu"}
    assert zoo.load_spec("exploding-clipped").optimizer.clipping and not zoo.load_spec("exploding").optimizer.clipping
    assert zoo.load_spec("regression").training.loss == "mse"
    assert zoo.load_spec("binary").training.loss == "binary_crossentropy"


def test_unknown_model_lists_known_ones_and_suggests():
    with pytest.raises(zoo.SpecError) as e:
        zoo.load_spec("mpl")
    assert "Did you mean 'mlp'?" in str(e.value) and "deep-sigmoid" in str(e.value)


def write(tmp_path, text, name="x.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_SPECS = [
    # (replace this, with this), expected fragments of the one-line error
    (('name = "adam"', 'name = "adamm"'), ["`optimizer.name`", "'adamm'", "'sgd'", "'adam'"]),
    (("learning_rate = 0.001", "learning_rat = 0.001"), ["Unknown key `optimizer.learning_rat`", "did you mean `learning_rate`", "allowed keys"]),
    (('loss = "categorical_crossentropy"', 'loss = "binary_crossentropy"'), ["`training.loss`", "'binary_crossentropy'", "one sigmoid output unit"]),
    (("batch_size = 128", 'batch_size = "128"'), ["`training.batch_size`", "'128'", '"full"']),
    (("epochs = 20", "epochs = 0"), ["`training.epochs`", "received 0", "greater than 0"]),
    (("epochs = 20", "epochs = 2.5"), ["`training.epochs`", "2.5", "integer"]),
    (('activation = "relu"', 'activation = "rellu"'), ["`layers[0].activation`", "'rellu'", "'sigmoid'"]),
    (("units = 512", "units = -4"), ["`layers[0].units`", "-4"]),
    (("rate = 0.2", "units = 3"), ["`layers[1]`", "dropout layer needs `rate`"]),
    (('dataset = "digits"', 'dataset = "cifar"'), ["`dataset`", "'cifar'", "'mnist'", "'digits'"]),
    (('dataset = "digits"', 'dataset = "concert"'), ["'concert'", "`input_shape` [784]"]),
    (('builder = "mlp"', 'builder = "resnet"'), ["`builder`", "'resnet'", "'cnn'"]),
    (("units = 10", "units = 7"), ["`output.units`", "7", "10 classes"]),
    (('description = "Digit', 'descriptio = "Digit'), ["Unknown key `descriptio`", "did you mean `description`"]),
    (("input_shape = [784]", "input_shape = []"), ["`input_shape`"]),
    (('name = "adam"', 'name = "adam"\nmomentum = 0.9'), ["`optimizer.momentum`", "'sgd'"]),
    (('name = "adam"', 'name = "sgd"\nclipnorm = 1.0\nclipvalue = 1.0'), ["`optimizer`", "one of clipnorm"]),
    (('activation = "softmax"', 'activation = "step"'), ["step", "perceptron"]),
    (("input_shape = [784]", "input_shape = 784"), ["`input_shape`", "received 784", "list"]),
    (("description = ", 'name = "mine"\ndescription = '), ["Unknown key `name`"]),
    (("units = 512", 'units = 512\nfilters = 3'), ["`filters` does not apply to a dense layer"]),
]


@pytest.mark.parametrize("change,fragments", BAD_SPECS, ids=[c[1][:24] for c, _ in BAD_SPECS])
def test_malformed_spec_gets_one_line_naming_key_value_and_allowed(tmp_path, change, fragments):
    old, new = change
    assert old in MLP_TOML
    assert_refused(write(tmp_path, MLP_TOML.replace(old, new, 1)), fragments)


def assert_refused(path, fragments) -> None:
    """Loading the spec at `path` fails with one line that names the file and holds every fragment."""
    with pytest.raises(zoo.SpecError) as e:
        zoo.load_spec(path)
    message = str(e.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'description = "x"\nbuilder = = 3\ndataset = "digits"\n')
    with pytest.raises(zoo.SpecError, match=r"Invalid TOML in .*x\.toml: .*line"):
        zoo.load_spec(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(zoo.SpecError, match="does not exist"):
        zoo.load_spec(tmp_path / "nope.toml")
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(zoo.SpecError, match="bin.toml"):
        zoo.load_spec(path)


def test_cli_refuses_bad_spec_with_exit_2_and_no_traceback(tmp_path, capsys):
    path = write(tmp_path, MLP_TOML.replace('name = "adam"', 'name = "adamm"'))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: Invalid value for `optimizer.name`") and "Traceback" not in err
    assert err.count("\n") == 1


def test_cli_as_subprocess_exit_status(tmp_path):
    path = write(tmp_path, MLP_TOML.replace("epochs = 20", "epochs = -1"))
    proc = subprocess.run([sys.executable, "-m", "zoo.cli", "show", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "`training.epochs`" in proc.stderr


def test_cli_list_prints_every_model_with_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == BUILTIN
    assert "sigmoid" in next(line for line in lines if line.startswith("deep-sigmoid"))


def test_cli_show_prints_spec_and_summary(capsys):
    assert main(["show", "deep-relu"]) == 0
    out = capsys.readouterr().out
    assert 'builder = "mlp"' in out and "hidden_10" in out and "Total params: 88,330" in out


def test_user_models_dir_adds_specs_and_keeps_builtins_first(tmp_path, monkeypatch):
    write(tmp_path, MLP_TOML.replace("units = 512", "units = 16"), "tiny.toml")
    write(tmp_path, MLP_TOML, "mlp.toml")  # clashes with the built-in: ignored with a warning
    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path))
    with pytest.warns(UserWarning, match="already taken"):
        assert "tiny" in zoo.list_models()
    with pytest.warns(UserWarning):
        assert zoo.load_spec("tiny").expanded_layers()[0].units == 16
        assert zoo.load_spec("mlp").source == str(builtin_models_dir() / "mlp.toml")


def test_overrides_are_validated_like_the_file():
    spec = zoo.load_spec("mlp").with_overrides(**{"optimizer.learning_rate": 0.5, "training.batch_size": "full"})
    assert spec.optimizer.learning_rate == 0.5 and spec.training.batch_size == "full"
    with pytest.raises(zoo.SpecError, match="`optimizer.learning_rate`.*received -1"):
        zoo.load_spec("mlp").with_overrides(**{"optimizer.learning_rate": -1})
    with pytest.raises(zoo.SpecError, match="Unknown key `nope.x`"):
        zoo.load_spec("mlp").with_overrides(**{"nope.x": 1})


def test_resolved_spec_round_trips_through_toml(tmp_path):
    for name in BUILTIN:
        spec = zoo.load_spec(name)
        again = zoo.load_spec(write(tmp_path, spec.to_toml(), f"{name}.toml"))
        assert again.to_dict() == spec.to_dict()


def test_duplicate_builder_is_refused():
    with pytest.raises(zoo.ZooError, match="already registered"):
        register_builder("mlp")(lambda spec: None)


def test_import_zoo_does_not_import_tensorflow():
    code = "import sys, zoo; zoo.load_spec('mlp'); zoo.list_models(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


SIZE_LIMITS = [
    # (replace this, with this), fragments of the one-line refusal
    (("seed = 0", "seed = 4294967296"), ["`training.seed`", "4294967296", "4294967295"]),
    (("units = 512", "units = 1000000000"), ["parameters", "more than the limit of 100,000,000",
                                             "layers[0] (dense, 1,000,000,000 units", "ZOO_MAX_PARAMS="]),
    (("units = 512", "units = 8\nrepeat = 20000"), ["20,003 hidden layers (repeats counted)", "more than the 100 "]),
    (("units = 512", "units = 8\nrepeat = 98"), ["101 hidden layers (repeats counted)", "more than the 100 "]),
]


@pytest.mark.parametrize("change,fragments", SIZE_LIMITS, ids=["seed", "units", "depth", "depth101"])
def test_specs_too_big_to_build_are_refused_before_keras(tmp_path, change, fragments):
    text = MLP_TOML.replace("epochs = 20", "epochs = 20\nseed = 0")
    old, new = change
    assert old in text
    assert_refused(write(tmp_path, text.replace(old, new, 1)), fragments)


def test_the_parameter_limit_can_be_raised(tmp_path, monkeypatch):
    path = write(tmp_path, MLP_TOML.replace("units = 512", "units = 100000", 1))
    params = 785 * 100000 + 100001 * 512 + 513 * 10  # Dense: (inputs + 1) x units
    with pytest.raises(zoo.SpecError, match=f"would have {params:,} parameters.*ZOO_MAX_PARAMS={params}$"):
        zoo.load_spec(path)
    monkeypatch.setenv("ZOO_MAX_PARAMS", "200_000_000")
    assert zoo.load_spec(path).layers[0].units == 100000
    monkeypatch.setenv("ZOO_MAX_PARAMS", "lots")
    with pytest.raises(zoo.SpecError, match="ZOO_MAX_PARAMS must be a positive whole number.*'lots'"):
        zoo.load_spec(path)


def test_a_kernel_larger_than_its_input_is_named(tmp_path):
    text = zoo.load_spec("cnn").to_toml().replace("kernel_size = 3", "kernel_size = 40", 1)
    path = write(tmp_path, text, "big.toml")
    with pytest.raises(zoo.SpecError, match=r"`layers\[0\]\.kernel_size`.* too small for a 40x40 window"):
        zoo.load_spec(path)


def test_spec_files_that_are_not_regular_files_are_refused_without_reading(tmp_path):
    with fails_if_blocked(20):
        refused_without_reading(tmp_path)


def refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # nothing writes to it: opening it for reading would wait forever
    with pytest.raises(zoo.SpecError, match="named pipe"):
        zoo.load_spec(fifo)
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(zoo.SpecError, match="character device.*links to /dev/zero"):
        zoo.load_spec(link)
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as f:
        f.truncate(50_000_000)  # sparse: takes no disk
    with pytest.raises(zoo.SpecError, match="50,000,000 bytes, more than the 1,000,000"):
        zoo.load_spec(huge)


CNN_LAYER_ORDERS = [
    # (the cnn's layer kinds in order, the key named, fragments of the one line)
    (["flatten", "conv2d"], "layers[1].kind", ["a conv2d needs an image input HxWxC", "flat vector after layers[0] (flatten)"]),
    (["flatten", "maxpool2d"], "layers[1].kind", ["a maxpool2d needs an image input", "after layers[0] (flatten)"]),
    (["conv2d", "dense"], "layers", ["the output layer gets an image", "add a [[layers]] entry with kind = \"flatten\""]),
    (["conv2d"], "layers", ["the output layer gets an image", "after layers[0] (conv2d)"]),
]
LAYER_TOML = {"flatten": 'kind = "flatten"', "conv2d": 'kind = "conv2d"\nfilters = 4', "maxpool2d": 'kind = "maxpool2d"',
              "dense": "units = 8"}


def _cnn_toml(kinds):
    toml = zoo.load_spec("cnn").to_toml()
    layers = "".join(f"[[layers]]\n{LAYER_TOML[k]}\n\n" for k in kinds)
    return toml.split("[[layers]]")[0] + layers + "[output]" + toml.split("[output]")[1]


@pytest.mark.parametrize("kinds,key,fragments", CNN_LAYER_ORDERS, ids=["-".join(k) for k, _, _ in CNN_LAYER_ORDERS])
def test_cnn_layers_in_an_order_keras_cannot_take_are_refused_naming_the_key(tmp_path, kinds, key, fragments):
    path = write(tmp_path, _cnn_toml(kinds), "bad.toml")
    with pytest.raises(zoo.SpecError) as e:
        zoo.load_spec(path)
    message = str(e.value)
    assert "\n" not in message and f"`{key}` in {path}" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert zoo.load_spec(write(tmp_path, _cnn_toml(["conv2d", "flatten", "dense"]), "good.toml")).builder == "cnn"


def test_one_bad_user_spec_is_listed_as_invalid_and_spoils_nothing_else(tmp_path, monkeypatch, capsys):
    write(tmp_path, _cnn_toml(["flatten", "conv2d"]), "bad.toml")
    write(tmp_path, MLP_TOML.replace("units = 512", "units = 16"), "tiny.toml")
    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^bad +\(invalid: Invalid value for `layers\[1\]\.kind`", out, re.M) and "tiny " in out and "deep-relu " in out
    assert main(["show", "bad"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`layers[1].kind`" in err and "Traceback" not in err
    assert main(["show", "tiny"]) == 0


def test_a_spec_as_deep_as_allowed_builds_its_layers_at_once(tmp_path, monkeypatch):
    """keras.Sequential.add() rebuilds the model after each layer (quadratic: 500 layers took ~50 s); zoo gives
    Sequential all its layers at once: at most two rebuilds for the deepest spec allowed (`MAX_DEPTH`)."""
    import keras

    from zoo.spec import MAX_DEPTH

    others = len(zoo.load_spec("mlp").expanded_layers()) - 1
    path = write(tmp_path, MLP_TOML.replace("units = 512", f"units = 2\nrepeat = {MAX_DEPTH - others}", 1), "deep.toml")
    spec = zoo.load_spec(path)
    assert len(spec.expanded_layers()) == MAX_DEPTH
    rebuilds = []
    real = keras.Sequential._maybe_rebuild
    monkeypatch.setattr(keras.Sequential, "_maybe_rebuild", lambda self: rebuilds.append(1) or real(self))
    model = zoo.build(spec)
    assert len(rebuilds) <= 2 and len(model.layers) == MAX_DEPTH + 1
