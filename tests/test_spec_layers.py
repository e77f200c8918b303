"""Issue 17's spec language: any Keras layer by class name (checked by Keras), blocks, residual blocks, the
format version. Every refusal is one line naming the file and the entry."""
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.cli import main

MLP_TOML = (Path(__file__).parent.parent / "models" / "mlp.toml").read_text()
FIRST_LAYERS = MLP_TOML[MLP_TOML.index("[[layers]]"):MLP_TOML.index("[output]")]


def spec_with(tmp_path, layers: str, name="x.toml", head="") -> Path:
    path = tmp_path / name
    path.write_text(head + MLP_TOML.replace(FIRST_LAYERS, layers + "\n"))
    return path


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_keras_layer_by_class_name_builds_with_its_arguments(tmp_path):
    path = spec_with(tmp_path, '[[layers]]\nunits = 32\n\n[[layers]]\nkind = "BatchNormalization"\nmomentum = 0.9\n'
                               'epsilon = 0.01\nrepeat = 2\n\n[[layers]]\nkind = "Activation"\nactivation = "tanh"\n')
    spec = zoo.load_spec(path)
    model = zoo.build(spec)
    names = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert names == ["hidden_1", "batch_normalization_1", "batch_normalization_2", "activation_1", "output"]
    batch_norm = model.get_layer("batch_normalization_2")
    assert batch_norm.momentum == 0.9 and batch_norm.epsilon == 0.01
    from zoo._backend import keras

    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    inside = keras.Model(model.inputs, [model.get_layer(n).output for n in ("batch_normalization_2", "activation_1")])
    before, after = (np.asarray(a) for a in inside(x))
    np.testing.assert_allclose(after, np.tanh(before), rtol=1e-5, atol=1e-6)  # the Activation layer is tanh
    assert zoo.load_spec(path).to_toml().count('kind = "BatchNormalization"') == 1  # written back as read
    again = tmp_path / "again.toml"
    again.write_text(spec.to_toml())
    assert zoo.load_spec(again).to_dict() == spec.to_dict() and spec.to_dict()["format"] == 2


@pytest.mark.parametrize("layer, fragments", [
    ('kind = "BatchNormalisation"', ["`layers[0].kind`", "keras.layers has no such layer",
                                     "did you mean 'BatchNormalization'"]),
    ('kind = "BatchNormalization"\nmomentun = 0.9', ["`layers[0].momentun`", "takes no argument `momentun`",
                                                    "did you mean `momentum`", "epsilon"]),
    ('kind = "Dense"\nunits = -3', ["`layers[0]`", "Keras refuses Dense(units=-3)", "positive integer"]),
    ('kind = "Dense"', ["`layers[0]`", "Keras refuses Dense()", "units"]),
    ('kind = "Reshape"\ntarget_shape = [28, 28]', ["`layers`", "output layer gets a tensor of shape 28x28",
                                                   "not a flat vector"]),
    ('kind = "RepeatVector"\nn = 1000000', ["`layers[0]`", "784,000,000 values per example"]),
    ('kind = "LSTM"\nunits = 4', ["`layers[0]` (LSTM)", "input of shape 784",
                                  "it takes a sequence [steps, features] and gets a flat vector", "ndim=3"]),
])
def test_keras_refusals_are_one_line_naming_the_entry(tmp_path, layer, fragments):
    path = spec_with(tmp_path, f"[[layers]]\n{layer}\n")
    with pytest.raises(zoo.SpecError) as error:
        zoo.build(path)
    text = one_line(error)
    assert str(path) in text and all(f in text for f in fragments), text


@pytest.mark.parametrize("layer, fragments", [
    ('kind = "Lambda"\nfunction = "x"', ["Lambda cannot be used in a spec", "runs a Python function"]),
    ('kind = "TorchModuleWrapper"', ["runs a PyTorch module"]),
    ('kind = "BatchNormalization"\nbeta_initializer = { module = "os", class_name = "system", config = {} }',
     ["names module 'os'", "Keras' own classes only"]),
    ('kind = "batchnorm"', ["unknown layer kind 'batchnorm'", "a Keras layer's class name"]),
    ('kind = "block"', ["a block needs `layers`"]),
    ('kind = "block"\nlayers = [{ kind = "block", layers = [{ units = 3 }] }]', ["a block holds plain layers"]),
    ('kind = "block"\nprojection = true\nlayers = [{ units = 3 }]', ["`projection` applies to a residual block"]),
    ('units = 3\nresidual = true', ["`residual` does not apply to a dense layer"]),
    ('kind = "IntegerLookup"\nvocabulary = "/etc/passwd"', ["`vocabulary` is a path", "may not make zoo read files"]),
    ('kind = "TextVectorization"\nvocabulary = "~/words.txt"', ["`vocabulary` is a path"]),
])
def test_refused_at_load_without_keras(tmp_path, layer, fragments):
    path = spec_with(tmp_path, f"[[layers]]\n{layer}\n")
    with pytest.raises(zoo.SpecError) as error:
        zoo.load_spec(path)
    text = one_line(error)
    assert "`layers[0]`" in text and all(f in text for f in fragments), text


def test_a_residual_block_adds_its_input_and_names_its_layers_by_path(tmp_path):
    path = spec_with(tmp_path, '[[layers]]\nunits = 16\nactivation = "relu"\n\n[[layers]]\nkind = "block"\n'
                               'residual = true\nrepeat = 2\nlayers = [{ units = 16, activation = "relu" }, '
                               '{ kind = "LayerNormalization" }]\n')
    model = zoo.build(path)
    block = model.get_layer("block_2")
    assert [layer.name for layer in model.layers] == ["input", "hidden_1", "block_1", "block_2", "output"]
    assert [layer.name for layer in block.layers][1:] == ["hidden_1", "layer_normalization_1", "add"]
    x = np.random.default_rng(0).random((3, 16), dtype=np.float32)
    inner = block.get_layer("layer_normalization_1")(block.get_layer("hidden_1")(x))
    np.testing.assert_allclose(block(x), x + np.asarray(inner), rtol=1e-5, atol=1e-6)  # x + f(x)
    from zoo.layer_paths import trainable_layers

    paths = [name for name, _ in trainable_layers(model)]
    assert paths[:3] == ["hidden_1", "block_1/hidden_1", "block_1/layer_normalization_1"] and paths[-1] == "output"


def test_a_residual_block_that_changes_the_width_needs_a_projection(tmp_path):
    block = '[[layers]]\nunits = 32\n\n[[layers]]\nkind = "block"\nresidual = true\nlayers = [{ units = 16 }]\n'
    with pytest.raises(zoo.SpecError) as error:
        zoo.build(spec_with(tmp_path, block))
    assert "turns its input of shape 32 into 16" in one_line(error) and "projection = true" in str(error.value)
    model = zoo.build(spec_with(tmp_path, block.replace("residual = true", "residual = true\nprojection = true"),
                                "p.toml"))
    block_1 = model.get_layer("block_1")
    x = np.random.default_rng(0).random((2, 32), dtype=np.float32)
    expected = block_1.get_layer("projection")(x) + block_1.get_layer("hidden_1")(x)
    np.testing.assert_allclose(block_1(x), expected, rtol=1e-5, atol=1e-6)


def test_a_spec_from_a_newer_zoo_is_refused_and_old_ones_load(tmp_path):
    with pytest.raises(zoo.SpecError) as error:
        zoo.load_spec(spec_with(tmp_path, FIRST_LAYERS, head="format = 3\n"))
    assert "received 3" in one_line(error) and "newer zoo" in str(error.value)
    assert "format" not in MLP_TOML and zoo.load_spec("mlp").to_dict()["format"] == 2  # format 1 still loads


def test_the_size_limit_holds_for_keras_layers_without_making_a_weight(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_PARAMS", "1000000")
    path = spec_with(tmp_path, '[[layers]]\nkind = "Dense"\nunits = 4000000\n')  # 3.1e9 weights: 12 GB if made
    with pytest.raises(zoo.SpecError) as error:
        zoo.build(path)
    text = one_line(error)
    assert "more than the limit of 1,000,000" in text and "ZOO_MAX_PARAMS=3180000010" in text  # (784 + 1 + 10) x 4e6 + 10
    import resource

    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 8_000_000  # KiB: nothing near 20 GB was made


def test_zoo_train_refuses_a_bad_keras_layer_before_making_a_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_RUNS_DIR", str(tmp_path / "runs"))
    path = spec_with(tmp_path, '[[layers]]\nkind = "BatchNormalization"\nmomentun = 0.9\n')
    assert main(["train", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "takes no argument `momentun`" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
