"""zoo.inference: fast single-image prediction with trained digit models, checked against Keras."""
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.digit_image import load_digit_image
from zoo.errors import RunError, ZooError
from zoo.inference import Predictor, activation_image, digit_runs, is_digit_run, predict_file, sentence


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_data):
    """mlp and cnn trained for one epoch on 256 digits, and a regression run (not a digit model)."""
    root = tmp_path_factory.mktemp("inference_runs")
    out = {}
    for name, dataset in (("mlp", "digits"), ("cnn", "digits"), ("regression", "sine")):
        result = zoo.train(name, data=small_data(dataset, 256), epochs=1, out=root / name, progress=False,
                           record_every=0)
        assert result.state == "completed"
        out[name] = result.path
    return out


@pytest.fixture(scope="module")
def images(small_data):
    return small_data("digits", 256).x_test[:8]


def keras_hidden(model, names, x):
    """Each named layer's output for x, computed by Keras on its own."""
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in names])
    outputs = probe.predict(x, verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]


@pytest.mark.parametrize("name, engine, expected_engine", [
    ("mlp", "auto", "numpy"), ("mlp", "tensorflow", "tensorflow"), ("cnn", "auto", "tensorflow"),
])
def test_probabilities_equal_model_predict(runs, images, name, engine, expected_engine):
    predictor = Predictor.from_run(runs[name], engine=engine)
    assert predictor.engine == expected_engine
    batch = images.reshape((len(images), *predictor.input_shape))
    reference = predictor.model.predict(batch, verbose=0)
    for image, expected in zip(images, reference):
        p = predictor.predict(image)
        assert p.probabilities.shape == (10,)
        np.testing.assert_allclose(p.probabilities, expected, atol=1e-5)
        assert p.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert p.label == int(np.argmax(expected))
        assert p.confidence == pytest.approx(float(expected.max()), abs=1e-5)
        assert p.sentence == sentence(p.label, p.confidence)
        np.testing.assert_array_equal(p.image, image)
        again = predictor.predict(image)  # dropout inactive: the same answer every time
        np.testing.assert_array_equal(again.probabilities, p.probabilities)


@pytest.mark.parametrize("name, names, shapes", [
    ("mlp", ["hidden_1", "hidden_2"], [(512,), (512,)]),
    ("cnn", ["conv_1", "conv_2", "hidden_1"], [(26, 26, 32), (11, 11, 64), (128,)]),
])
def test_hidden_activations_equal_an_independent_computation(runs, images, name, names, shapes):
    predictor = Predictor.from_run(runs[name])
    image = images[2]
    p = predictor.predict(image)
    assert [layer for layer, _ in p.hidden] == names
    assert p.hidden_shapes == shapes
    reference = keras_hidden(predictor.model, names, image.reshape((1, *predictor.input_shape)))
    for (layer, values), shape, expected in zip(p.hidden, shapes, reference):
        assert values.shape == (int(np.prod(shape)),)
        np.testing.assert_allclose(values, expected.reshape(-1), atol=1e-5, err_msg=layer)
    if name == "mlp":  # and from the weights, by hand
        (w1, b1), (w2, b2) = [(predictor.model.get_layer(n).kernel.numpy(), predictor.model.get_layer(n).bias.numpy())
                              for n in names]
        h1 = np.maximum(image.reshape(-1) @ w1 + b1, 0.0)
        np.testing.assert_allclose(p.hidden[0][1], h1, atol=1e-5)
        np.testing.assert_allclose(p.hidden[1][1], np.maximum(h1 @ w2 + b2, 0.0), atol=1e-5)


def test_numpy_and_tensorflow_engines_agree(runs, images):
    fast, graph = Predictor.from_run(runs["mlp"]), Predictor.from_run(runs["mlp"], engine="tensorflow")
    for image in images:
        a, b = fast.predict(image), graph.predict(image)
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
        for (_, x), (_, y) in zip(a.hidden, b.hidden):
            np.testing.assert_allclose(x, y, atol=1e-5)


def test_sentence():
    assert sentence(7, 0.987) == "98% sure this is a 7"
    assert sentence(8, 0.5) == "50% sure this is an 8"
    assert sentence(1, 0.9999) == "99% sure this is a 1"  # never rounded up to a certainty it lacks
    assert sentence(0, 1.0) == "100% sure this is a 0"


def test_non_digit_and_broken_runs_are_refused(runs, tmp_path):
    with pytest.raises(ZooError) as caught:
        Predictor.from_run(runs["regression"])
    message = str(caught.value)
    assert "does not take 28x28 digit images" in message and "\n" not in message
    assert Predictor.is_digit_model(Predictor.from_run(runs["mlp"]).model)
    assert not is_digit_run(runs["regression"]) and is_digit_run(runs["cnn"])

    with pytest.raises(RunError, match="has no model.keras"):
        Predictor.from_run(tmp_path)
    with pytest.raises(RunError, match="does not exist"):
        Predictor.from_run(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(runs["mlp"], broken)
    (broken / "model.keras").write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(RunError) as caught:
        Predictor.from_run(broken)
    assert "Cannot load" in str(caught.value) and "\n" not in str(caught.value)


def test_centring_follows_the_training_set(runs, tmp_path):
    assert Predictor.from_run(runs["mlp"]).centre == "box"  # trained on digits
    assert Predictor.from_run(runs["mlp"] / "model.keras").centre == "box"
    alone = tmp_path / "elsewhere.keras"
    shutil.copy(runs["mlp"] / "model.keras", alone)
    assert Predictor.from_run(alone).centre == "mass"  # no run folder: MNIST's centre of mass


def test_predict_file_lines(runs, images, tmp_path):
    paths = []
    for k, image in enumerate(images[:3]):
        big = np.kron(image / image.max(), np.ones((10, 10), np.float32))
        path = tmp_path / f"digit{k}.png"
        Image.fromarray(np.round(255 * (1 - big)).astype(np.uint8)).save(path)
        paths.append(path)
    predictor = Predictor.from_run(runs["cnn"])
    lines = predict_file(runs["cnn"], paths)
    assert len(lines) == 3
    for line, path in zip(lines, paths):
        match = re.fullmatch(rf"{re.escape(str(path))}: (\d) \((\d+\.\d)%\)", line)
        assert match, line
        expected = predictor.predict_ink(load_digit_image(path))
        assert int(match.group(1)) == expected.label
        shown = float(match.group(2))  # one decimal, rounded down
        assert shown <= expected.confidence * 100 + 1e-6 and expected.confidence * 100 - shown < 0.1 + 1e-6
    top3 = predict_file(runs["cnn"] / "model.keras", paths[:1], top=3)
    assert len(top3) == 1
    found = re.findall(r"(\d) \((\d+\.\d)%\)", top3[0])
    assert len(found) == 3 and len({d for d, _ in found}) == 3
    assert [float(p) for _, p in found] == sorted((float(p) for _, p in found), reverse=True)
    (tmp_path / "blank.png").write_bytes(b"")
    with pytest.raises(zoo.DataError, match="blank.png"):
        predict_file(runs["cnn"], [paths[0], tmp_path / "blank.png"])


def test_drawn_digits_are_recognised_at_about_the_test_accuracy(tmp_path):
    """Digits test examples rendered like drawings (10x larger, anywhere on a big sheet)."""
    result = zoo.train("mlp", dataset="digits", epochs=5, batch_size=64, out=tmp_path / "mlp", progress=False,
                       record_every=0)
    accuracy = result.test["accuracy"]
    assert accuracy > 0.85
    data = zoo.load_dataset("digits")
    predictor = Predictor.from_run(result.path)
    rng = np.random.default_rng(0)
    hits = []
    for x, y in zip(data.x_test[:200], data.y_test[:200]):
        sheet = np.zeros((400, 460), np.float32)
        top, left = rng.integers(0, 120), rng.integers(0, 180)
        sheet[top:top + 280, left:left + 280] = np.kron(x, np.ones((10, 10), np.float32))
        hits.append(predictor.predict_ink(sheet).label == y)
    assert np.mean(hits) >= accuracy - 0.06, (np.mean(hits), accuracy)


def test_digit_runs_lists_finished_digit_models(runs, monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("ZOO_HOME", str(home))
    for name in runs:
        shutil.copytree(runs[name], home / "runs" / name)
    assert sorted(run.path.name for run in digit_runs()) == ["cnn", "mlp"]
    (home / "runs" / "cnn" / "model.keras").unlink()
    assert [run.path.name for run in digit_runs()] == ["mlp"]


def test_activation_image():
    grid = activation_image(np.arange(512, dtype=np.float32))
    assert grid.shape == (16, 32) and grid[0, 1] == 1 and grid[15, 31] == 511
    grid = activation_image(np.arange(10, dtype=np.float32))
    assert np.isnan(grid).sum() == grid.size - 10
    maps = np.random.default_rng(0).random((26, 26, 32)).astype(np.float32)
    tiled = activation_image(maps.reshape(-1), (26, 26, 32))
    assert tiled.shape == (4 * 27 - 1, 8 * 27 - 1)
    np.testing.assert_array_equal(tiled[:26, 27:53], maps[:, :, 1])
    np.testing.assert_array_equal(tiled[27:53, :26], maps[:, :, 8])
