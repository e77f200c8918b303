"""zoo.inference: fast single-image prediction with trained digit models, checked against Keras."""
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import zoo
from conftest import mnist_dir
from drawings import NOT_DIGITS, ONE, SEVEN, random_scribbles, render
from zoo import inference
from zoo.digit_image import load_digit_image, stroke_directions, to_mnist
from zoo.errors import RunError, ZooError
from zoo.inference import (NoveltyCheck, Predictor, activation_image, best_digit_run, digit_runs, is_digit_run,
                           novelty_cache_path, predict_file, sentence)
from zoo.runs import RunInfo


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
    lines = list(predict_file(runs["cnn"], paths))
    assert len(lines) == 3
    for line, path in zip(lines, paths):
        match = re.fullmatch(rf"{re.escape(str(path))}: (\d) \((\d+\.\d)%\)", line)
        assert match, line
        expected = predictor.predict_ink(load_digit_image(path))
        assert int(match.group(1)) == expected.label
        shown = float(match.group(2))  # one decimal, rounded down
        assert shown <= expected.confidence * 100 + 1e-6 and expected.confidence * 100 - shown < 0.1 + 1e-6
    top3 = list(predict_file(runs["cnn"] / "model.keras", paths[:1], top=3))
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


# ------------------------------------------------------------------------- is it a digit at all?
REFERENCES = ["digits"] + (["mnist"] if mnist_dir() else [])  # MNIST: when CI's copy is here (ZOO_DATA_DIR)


@pytest.fixture(scope="module")
def checks():
    """reference -> its NoveltyCheck, framed as models trained on it frame drawings (fitted once: seconds)."""
    return {}


def check_on(reference, checks, monkeypatch):
    if reference == "mnist":
        monkeypatch.setenv("ZOO_DATA_DIR", mnist_dir())
    if reference not in checks:
        checks[reference] = NoveltyCheck.fit(reference, inference.centre_for_dataset(reference))
    return checks[reference]


@pytest.mark.parametrize("reference", REFERENCES)
def test_real_digits_pass_and_drawings_of_no_digit_are_flagged(reference, checks, monkeypatch):
    check = check_on(reference, checks, monkeypatch)
    centre = check.centre
    test = zoo.load_dataset(reference).x_test[:2000]  # never seen by the check (its threshold comes from validation)
    novelty = check.novelties(np.stack([to_mnist(x, centre) for x in test]))
    assert novelty.shape == (len(test),) and (novelty <= 1.0).mean() >= 0.97, (novelty <= 1.0).mean()
    for name, strokes in NOT_DIGITS.items():  # drawn with the pad's pen on its 280x280 pad
        assert check.novelty(to_mnist(render(strokes), centre)) > 1.0, name
    scribbles = check.novelties(np.stack([to_mnist(render(s), centre) for s in random_scribbles(40)]))
    assert (scribbles > 1.0).mean() >= 0.6, scribbles  # most random scribbles; a few look like a digit's strokes
    if reference == "mnist":  # drawn digits pass (the 8x8 offline digits are too unlike drawings for that)
        for strokes in (SEVEN, ONE):
            assert check.novelty(to_mnist(render(strokes), centre)) < 0.7


def test_an_l_is_not_sure_and_says_why(runs, checks, monkeypatch):
    reference = REFERENCES[-1]
    check = check_on(reference, checks, monkeypatch)
    predictor = Predictor.from_run(runs["mlp"], novelty=False)
    assert predictor.novelty_check is None and predictor.dataset == "digits"
    ell = render(NOT_DIGITS["an L"])
    plain = predictor.predict_ink(ell)
    assert plain.novelty is None and plain.unfamiliar is None
    assert plain.sentence == sentence(plain.label, plain.confidence)
    predictor.novelty_check = check
    p = predictor.predict_ink(ell)
    assert p.unfamiliar and p.novelty > 1.0 and p.novelty == pytest.approx(check.novelty(p.image))
    np.testing.assert_array_equal(p.probabilities, plain.probabilities)  # the model's answer is the same
    percent = int(np.floor(p.confidence * 100 + 1e-9))
    assert p.sentence == (f"Not sure this is a digit: it looks unlike the digits this model learnt (best guess "
                          f"{p.label}, {percent}%: a softmax is overconfident on drawings unlike its training data)")
    if reference == "mnist":
        seven = predictor.predict_ink(render(SEVEN))
        assert seven.unfamiliar is False and seven.sentence == sentence(seven.label, seven.confidence)


def test_the_check_is_cached_shared_and_never_downloads(runs, checks, monkeypatch):
    check = check_on("digits", checks, monkeypatch)  # fitted in seconds: stands in for MNIST's here
    monkeypatch.setattr(inference, "_CHECKS", {})
    monkeypatch.setattr(zoo.datasets, "mnist_is_local", lambda: True)
    path = novelty_cache_path("mnist", "box")  # what a model trained on the offline digits is checked against
    assert check.save(path) and path.is_file() and path.stat().st_size < 3_000_000
    images = np.stack([to_mnist(x, "box") for x in zoo.load_dataset("digits").x_test[:50]])

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted again instead of reading the cache")

    monkeypatch.setattr(NoveltyCheck, "fit", no_fit)
    loaded = NoveltyCheck.for_dataset("digits")
    np.testing.assert_allclose(loaded.novelties(images), check.novelties(images), rtol=1e-2)  # float16 reference
    assert NoveltyCheck.for_dataset("digits") is loaded and NoveltyCheck.cached("digits") is loaded
    assert Predictor.from_run(runs["mlp"]).novelty_check is loaded  # from_run attaches it
    assert NoveltyCheck.for_dataset("sine") is None and NoveltyCheck.reference_for(None) is None
    path.write_bytes(b"PK not a zip")  # a damaged cache is fitted again, not trusted
    assert NoveltyCheck.load(path) is None

    monkeypatch.undo()
    monkeypatch.setattr(inference, "_CHECKS", {})
    monkeypatch.setattr(zoo.datasets, "mnist_is_local", lambda: False)  # no MNIST here: no check, no download
    assert NoveltyCheck.for_dataset("digits") is None and NoveltyCheck.for_dataset("mnist") is None
    assert Predictor.from_run(runs["mlp"]).novelty_check is None
    with pytest.raises(zoo.DataError, match="MNIST is not on this computer"):
        NoveltyCheck.fit("mnist")


def test_stroke_directions_see_shape_not_stroke_width():
    thin, thick = (to_mnist(render(SEVEN, width=w)) for w in (14, 30))
    ell = to_mnist(render(NOT_DIGITS["an L"]))
    f = stroke_directions(np.stack([thin, thick, ell]))
    assert f.shape == (3, 392) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(f[0] - f[1]) < 0.5 * np.linalg.norm(f[0] - f[2])
    np.testing.assert_array_equal(stroke_directions(thin), f[:1])


def test_zoo_predict_says_when_an_image_is_no_digit(runs, checks, monkeypatch, tmp_path):
    check = check_on("digits", checks, monkeypatch)
    monkeypatch.setattr(inference, "_CHECKS", {("mnist", "box"): check})  # as if fitted on MNIST
    monkeypatch.setattr(zoo.datasets, "mnist_is_local", lambda: True)
    ell = tmp_path / "ell.png"
    Image.fromarray(np.round(255 * (1 - render(NOT_DIGITS["an L"]))).astype(np.uint8)).save(ell)
    (line,) = predict_file(runs["mlp"], [ell])
    assert re.fullmatch(rf"{re.escape(str(ell))}: \d \(\d+\.\d%\) - not sure this is a digit: "
                        "it looks unlike the digits this model learnt", line), line


def test_the_draw_view_default_is_the_best_run_for_drawings(tmp_path):
    def run(name, dataset, accuracy, started):
        return RunInfo(tmp_path / name, "completed", "mlp", dataset, started, accuracy=accuracy)

    old_digits = run("a", "digits", 0.97, "2026-01-01T10:00:00+00:00")
    mnist_good = run("b", "mnist", 0.981, "2026-01-02T10:00:00+00:00")
    mnist_best = run("c", "mnist", 0.992, "2026-01-03T10:00:00+00:00")
    new_digits = run("d", "digits", 0.99, "2026-01-05T10:00:00+00:00")
    stopped = run("e", "mnist", None, "2026-01-06T10:00:00+00:00")
    best, why = best_digit_run([new_digits, stopped, mnist_best, mnist_good, old_digits])
    assert best is mnist_best and why == "the most accurate run trained on MNIST"
    twin = run("f", "mnist", 0.992, "2026-01-04T10:00:00+00:00")  # as accurate, newer
    assert best_digit_run([mnist_best, twin])[0] is twin
    assert best_digit_run([stopped])[0] is stopped
    best, why = best_digit_run([old_digits, new_digits])  # no MNIST run: the most accurate
    assert best is new_digits and why == "the most accurate run (none was trained on MNIST)"
    weak = run("g", "digits", 0.069, "2026-01-07T10:00:00+00:00")  # the newest, but it learnt nothing
    assert best_digit_run([old_digits, weak])[0] is old_digits
    assert best_digit_run([]) == (None, "")


# ------------------------------------------------------------------ untrusted inputs (issue 14)
def test_predict_streams_one_image_at_a_time(runs, images, tmp_path, monkeypatch):
    """Decode, predict, give the line, release: never two decoded images at once (12 large ones took 3.4 GB)."""
    import weakref

    from zoo import digit_image

    paths = []
    for k, image in enumerate(images[:3]):
        path = tmp_path / f"digit{k}.png"
        Image.fromarray(np.round(255 * (1 - np.kron(image / image.max(), np.ones((10, 10))))).astype(np.uint8)).save(path)
        paths.append(path)
    decoded = []  # weak references to each decoded image
    real = digit_image.load_digit_image

    def spy(path):
        ink = real(path)
        decoded.append(weakref.ref(ink))
        return ink

    monkeypatch.setattr(digit_image, "load_digit_image", spy)
    lines = predict_file(runs["mlp"], paths)
    assert decoded == []  # the images were checked from their headers, none decoded yet
    for k, line in enumerate(lines, start=1):
        assert line.startswith(f"{paths[k - 1]}: ") and len(decoded) == k
        assert all(ref() is None for ref in decoded)  # the pixels are already gone
    assert len(decoded) == 3


def test_predict_refuses_what_is_not_an_image_file_before_loading_the_model(runs, tmp_path, capsys, monkeypatch):
    """A folder, a FIFO, a device, PostScript: one line each, without waiting and without loading the model."""
    import os
    import signal

    from PIL import EpsImagePlugin

    from zoo.cli import main

    monkeypatch.setattr(Predictor, "from_run", classmethod(lambda *a, **k: pytest.fail("the model was loaded")))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: pytest.fail("Ghostscript was started"))
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "page.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n{ } loop\n")
    cases = [(tmp_path / "pipe.png", "FIFO"), (tmp_path, "folder"), (tmp_path / "page.eps", "PNG, JPEG")]
    if os.path.exists("/dev/zero"):
        cases.append(("/dev/zero", "device"))

    def ring(*_):
        raise TimeoutError("zoo predict blocked")

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        for path, word in cases:
            signal.alarm(10)
            assert main(["predict", str(runs["mlp"]), str(path)]) == 2
            signal.alarm(0)
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and err.startswith("zoo: error:") and word in err, err
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _digit_files(images, folder):
    ok = folder / "ok.png"
    Image.fromarray(np.round(255 * (1 - images[0].reshape(28, 28) / images[0].max())).astype(np.uint8)).save(ok)
    bmp = folder / "ok.bmp"
    Image.open(ok).save(bmp)
    blank = folder / "blank.png"
    Image.new("L", (28, 28), 255).save(blank)
    return ok, blank, bmp


def test_predict_answers_every_image_and_fails_at_the_end(runs, images, tmp_path, capsys):
    from zoo.cli import main

    ok, blank, bmp = _digit_files(images, tmp_path)
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    assert main(["predict", str(runs["mlp"]), str(ok), str(blank), str(notes), str(bmp)]) == 2
    captured = capsys.readouterr()
    out, err = captured.out.strip().splitlines(), captured.err.strip().splitlines()
    assert [line.split(": ")[0] for line in out] == [str(ok), str(bmp)], out
    assert len(err) == 2 and all(line.startswith("zoo: error: ") for line in err), err
    assert "blank.png" in err[0] and "no ink" in err[0] and "notes.png" in err[1]
    assert main(["predict", str(runs["mlp"]), str(ok), str(bmp)]) == 0
    # every image bad: the model is not even loaded
    assert main(["predict", str(tmp_path / "no-model"), str(notes)]) == 2
    assert "notes.png" in capsys.readouterr().err


@pytest.mark.parametrize("top", ["0", "-1", "11", "3.5", "x"])
def test_predict_top_out_of_range_is_one_argparse_line(runs, images, tmp_path, capsys, top):
    from zoo.cli import main

    ok, _, _ = _digit_files(images, tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["predict", str(runs["mlp"]), str(ok), "--top", top])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "from 1 to 10" in err and "Traceback" not in err, err
    with pytest.raises(zoo.DataError, match="from 1 to 10"):
        predict_file(runs["mlp"], [ok], top=11)


def test_a_model_answering_nan_is_refused_in_one_line(images, tmp_path, capsys):
    import keras

    from zoo.cli import main

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    kernel, bias = model.get_weights()
    model.set_weights([np.full_like(kernel, np.nan), bias])
    model.save(tmp_path / "nan.keras")
    ok, _, _ = _digit_files(images, tmp_path)
    assert main(["predict", str(tmp_path / "nan.keras"), str(ok)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "non-finite probabilities (NaN)" in err and "nan%" not in err, err
