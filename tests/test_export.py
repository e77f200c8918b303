"""Export in four formats, each checked by its own runtime; zoo predict on exports; safe loading of model files."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cli import main
from zoo.errors import RunError
from zoo.export import export
from zoo.model_files import FORMATS, ExportError, card_path, keras_file_classes, load_model, load_runtime

FILE_NAMES = {"keras": "m.keras", "saved_model": "m_savedmodel", "tflite": "m.tflite", "onnx": "m.onnx"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_data):
    """mlp and cnn trained a few epochs on 512 digits (the dataset recorded in their status: digits)."""
    root = tmp_path_factory.mktemp("export_runs")
    return {name: zoo.train(name, data=small_data("digits", 512), epochs=3, out=root / name, progress=False,
                            record_every=0).path for name in ("mlp", "cnn")}


def _test_batch(model, small_data):
    x = small_data("digits", 512).x_test[:32]
    return np.ascontiguousarray(x, np.float32).reshape((-1, *model.inputs[0].shape[1:]))


def _independent_runtime(format, path):
    """The runtime loaded here directly, not through zoo.export, for an independent check."""
    if format == "keras":
        import keras

        model = keras.models.load_model(path)
        return lambda x: np.asarray(model(x))
    if format == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        return lambda x: loaded.serve(x).numpy()
    if format == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        def run(x):
            interpreter = Interpreter(model_path=str(path))
            inp = interpreter.get_input_details()[0]
            interpreter.resize_tensor_input(inp["index"], x.shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
            return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

        return run
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("name", ["mlp", "cnn"])
@pytest.mark.parametrize("format", list(FORMATS))
def test_each_format_round_trips_with_matching_predictions(runs, small_data, tmp_path, name, format):
    path = tmp_path / FILE_NAMES[format]
    result = export(runs[name], format, path)
    assert result.path == path and path.exists() and result.max_abs_diff <= 1e-4
    model = load_model(runs[name] / "model.keras")
    x = _test_batch(model, small_data)
    expected = model.predict(x, verbose=0)
    got = _independent_runtime(format, path)(x)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    card = json.loads(card_path(path).read_text())
    status = json.loads((runs[name] / "status.json").read_text())
    assert card["model"] == name and card["format"] == format and card["input"]["dtype"] == "float32"
    assert card["input"]["shape"] == list(model.inputs[0].shape[1:]) and card["output"]["labels"] == [str(d) for d in range(10)]
    assert card["test"]["accuracy"] == status["test"]["accuracy"] and card["spec"]["builder"] == name
    assert card["preprocessing"]["kind"] == "mnist" and card["preprocessing"]["centre"] == "box"  # trained on digits
    assert card["versions"]["keras"] and card["verified"]["max_abs_diff"] == result.max_abs_diff
    assert card["verified"]["inputs"] == result.checked_on == "the first 64 test examples of digits"


def test_keras_export_loads_in_a_python_that_never_imported_zoo(runs, small_data, tmp_path):
    path = tmp_path / "plain.keras"
    export(runs["cnn"], "keras", path)
    assert all(module.startswith("keras") for module in keras_file_classes(path))
    x = _test_batch(load_model(path), small_data)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, keras\n"
            f"m = keras.models.load_model({str(path)!r})\n"
            f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n"
            "print('zoo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
    expected = load_model(runs["cnn"] / "model.keras").predict(x, verbose=0)
    assert np.abs(np.load(tmp_path / "y.npy") - expected).max() <= 1e-5


def test_export_refuses_to_overwrite_and_a_missing_extra_names_it(runs, tmp_path, monkeypatch):
    taken = tmp_path / "taken.onnx"
    taken.write_text("precious")
    with pytest.raises(ExportError, match="already exists"):
        export(runs["mlp"], "onnx", taken)
    assert taken.read_text() == "precious"
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(ExportError, match=r"needs onnxruntime.*pip install 'zoo\[export\]'"):
        export(runs["mlp"], "onnx", tmp_path / "new.onnx")
    assert not (tmp_path / "new.onnx").exists()


def test_a_mismatching_export_fails_and_leaves_nothing(runs, tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="does not match the model"):
        export(runs["mlp"], "onnx", path, tolerance=-1.0)  # no difference can pass
    assert not path.exists() and not card_path(path).exists() and list(tmp_path.iterdir()) == []


def test_the_perceptron_is_refused_for_export(tmp_path):
    run = zoo.train("perceptron", epochs=2, out=tmp_path / "p", progress=False).path
    with pytest.raises(ExportError, match="zoo's own model class"):
        export(run, "keras", tmp_path / "p.keras")


def test_cli_export_then_predict_with_every_format(runs, small_data, tmp_path, capsys):
    data = small_data("digits", 512)
    images = []
    for i in range(12):  # rendered from test digits: scaled up 8x, shifted off-centre, every other one inverted
        digit = data.x_test[i].reshape(28, 28)
        canvas = np.zeros((300, 300))
        big = np.kron(digit, np.ones((8, 8)))
        canvas[20 + 3 * i:20 + 3 * i + 224, 40:264] = big
        pixels = canvas if i % 2 else 1 - canvas  # light on dark, or dark on light
        path = tmp_path / f"digit{i}.png"
        Image.fromarray((255 * pixels).astype(np.uint8)).save(path)
        images.append(str(path))
    lines = {}
    for format in ["run", *FORMATS]:
        target = runs["cnn"] if format == "run" else tmp_path / FILE_NAMES[format]
        if format != "run":
            assert main(["export", str(runs["cnn"]), "--format", format, "--out", str(target)]) == 0
            assert "largest output difference" in capsys.readouterr().out
        assert main(["predict", str(target), *images]) == 0
        lines[format] = capsys.readouterr().out.splitlines()
    labels = {f: [int(line.split(": ")[1].split()[0]) for line in lines[f]] for f in lines}
    assert all(labels[f] == labels["run"] for f in labels)  # every runtime reads them alike
    accuracy = np.mean(np.array(labels["run"]) == data.y_test[:12])
    status = json.loads((runs["cnn"] / "status.json").read_text())
    assert accuracy >= status["test"]["accuracy"] - 0.25  # about the model's test accuracy, on 12 images


def _lambda_model_file(path):
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(path)


def test_safe_loading_refuses_code_truncated_and_foreign_files(tmp_path, capsys):
    unsafe = tmp_path / "unsafe.keras"
    _lambda_model_file(unsafe)
    with pytest.raises(RunError, match="unsafe.keras"):
        load_model(unsafe)
    good = tmp_path / "good.keras"
    zoo.build("mlp").save(good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    foreign = tmp_path / "notes.keras"
    foreign.write_text("not a model")
    emptied = tmp_path / "emptied.keras"
    with zipfile.ZipFile(emptied, "w") as z:
        z.writestr("hello.txt", "hi")
    for path in (truncated, foreign, emptied):
        with pytest.raises(RunError, match=path.name):
            load_model(path)
    image = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(image)
    for path in (unsafe, truncated, foreign, tmp_path / "missing.keras", tmp_path / "model.bin"):
        assert main(["predict", str(path), str(image)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("zoo: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_safe_mode_is_what_refuses_the_lambda(tmp_path):
    """The refusal comes from Keras' safe_mode (the file is otherwise loadable), not from a broken file."""
    import keras

    path = tmp_path / "lambda.keras"
    _lambda_model_file(path)
    assert keras.models.load_model(path, safe_mode=False).count_params() == 0
    with pytest.raises(RunError, match="safe"):
        load_model(path)


def test_predict_errors_are_one_line_with_exit_2(runs, tmp_path, capsys, small_data):
    regression = zoo.train("regression", epochs=1, data=small_data("sine", 64), out=tmp_path / "reg", progress=False,
                           record_every=0).path
    image = tmp_path / "digit.png"
    Image.fromarray((255 * (1 - small_data("digits", 8).x_test[0].reshape(28, 28))).astype(np.uint8)).save(image)
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    cases = [([str(runs["mlp"]), str(not_image)], "notes.png"), ([str(runs["mlp"]), str(tmp_path / "nope.png")], "nope.png"),
             ([str(regression), str(image)], "digit"), ([str(tmp_path / "nothing"), str(image)], "nothing")]
    for args, mention in cases:
        assert main(["predict", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("zoo: error:") and mention in err, err
    with pytest.raises(RunError, match="unknown model file type"):
        load_runtime(tmp_path / "digit.png")


# ------------------------------------------------------------------ untrusted files, full disks (issue 14)
def _one_line(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo: error:") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def digit_png(tmp_path, small_data):
    path = tmp_path / "digit.png"
    Image.fromarray((255 * (1 - small_data("digits", 8).x_test[0].reshape(28, 28))).astype(np.uint8)).save(path)
    return path


def _onnx_file(path, opset=None, domain=None):
    """A one-node ONNX model (Identity on 1x784) importing `opset` of the default domain, or a node of `domain`."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 784])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 784])
    node = helper.make_node("Identity" if domain is None else "Mystery", ["x"], ["y"], domain=domain or "")
    imports = [helper.make_opsetid("", opset or 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=imports)
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_predict_on_foreign_exports_is_one_line(tmp_path, digit_png, capsys):
    rng = np.random.default_rng(0)
    for name in ("random.onnx", "random.tflite"):  # no model card: the file itself is asked for its input
        (tmp_path / name).write_bytes(rng.bytes(4096))
        assert name in _one_line(capsys, "predict", tmp_path / name, digit_png)
    assert "unknown.onnx" in _one_line(capsys, "predict", _onnx_file(tmp_path / "unknown.onnx", opset=999), digit_png)
    assert "mystery.onnx" in _one_line(capsys, "predict", _onnx_file(tmp_path / "mystery.onnx", domain="com.example"),
                                       digit_png)
    weird = _onnx_file(tmp_path / "weird.onnx")  # runs, but answers 784 numbers, not 10
    assert "10 digit classes" in _one_line(capsys, "predict", weird, digit_png)
    (tmp_path / "random.onnx.card.json").write_text(json.dumps({"input": {"shape": [784]}, "preprocessing": [1, 2]}))
    assert "random.onnx" in _one_line(capsys, "predict", tmp_path / "random.onnx", digit_png)  # a card of nonsense


def test_predict_with_a_fifo_for_a_model_does_not_wait(tmp_path, digit_png, capsys):
    import os
    import signal

    os.mkfifo(tmp_path / "pipe.onnx")

    def ring(*_):
        raise TimeoutError("zoo predict blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(10)
    try:
        assert "not a regular file" in _one_line(capsys, "predict", tmp_path / "pipe.onnx", digit_png)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_into_a_folder_it_cannot_write_is_one_line(runs, tmp_path, monkeypatch, capsys):
    import errno
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir") or (args[2] if len(args) > 2 else None))

    out = tmp_path / "shelf"
    out.mkdir()
    monkeypatch.setattr(tempfile, "mkdtemp", denied)  # as a read-only folder answers (root ignores chmod)
    err = _one_line(capsys, "export", runs["mlp"], "--format", "keras", "--out", out / "m.keras")
    assert "Permission denied" in err and "m.keras" in err
    assert _leftovers(out) == []


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_export_into_a_read_only_folder_is_one_line(runs, tmp_path, capsys):
    out = tmp_path / "shelf"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert "Permission denied" in _one_line(capsys, "export", runs["mlp"], "--format", "keras", "--out",
                                                out / "m.keras")
        assert _leftovers(out) == []
    finally:
        out.chmod(0o755)


def _disk_full_at_card(monkeypatch):
    import errno

    import zoo.runs

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(zoo.runs, "write_json_atomic", full)


@pytest.mark.parametrize("format", ["keras", "onnx"])
def test_a_full_disk_while_writing_the_card_leaves_nothing(runs, tmp_path, monkeypatch, capsys, format):
    out = tmp_path / "shelf"
    out.mkdir()
    _disk_full_at_card(monkeypatch)
    err = _one_line(capsys, "export", runs["mlp"], "--format", format, "--out", out / FILE_NAMES[format])
    assert "No space left on device" in err
    assert _leftovers(out) == []  # neither the model without its card, nor a temporary folder


def test_a_failed_replacement_keeps_the_export_that_was_there(runs, tmp_path, monkeypatch, capsys):
    import os

    out = tmp_path / "shelf"
    out.mkdir()
    path = out / "m.keras"
    export(runs["mlp"], "keras", path)
    before = {name: (out / name).read_bytes() for name in _leftovers(out)}
    assert sorted(before) == ["m.keras", "m.keras.card.json"]
    with monkeypatch.context() as m:  # the disk fills while the new card is written
        _disk_full_at_card(m)
        assert "No space left" in _one_line(capsys, "export", runs["cnn"], "--format", "keras", "--out", path, "--force")
    assert {name: (out / name).read_bytes() for name in _leftovers(out)} == before
    real = os.replace

    def fail_on_card(source, target):  # the model is in place, then its card cannot be: both undone
        if str(target).endswith(".card.json") and "new" in Path(source).parts:
            raise OSError(5, "Input/output error")
        return real(source, target)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", fail_on_card)
        assert "Input/output error" in _one_line(capsys, "export", runs["cnn"], "--format", "keras", "--out", path,
                                                 "--force")
    assert {name: (out / name).read_bytes() for name in _leftovers(out)} == before
    assert keras_file_classes(path) and load_model(path).count_params() == load_model(runs["mlp"] / "model.keras").count_params()


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def test_force_never_replaces_the_run_or_a_folder_that_is_not_an_export(runs, tmp_path, capsys):
    run = runs["mlp"]
    kept = _tree(run)
    assert "the run folder" in _one_line(capsys, "export", run, "--format", "keras", "--out", run, "--force")
    for inside in ("history.json", "model.keras", "checkpoint"):
        assert "part of the run" in _one_line(capsys, "export", run, "--format", "onnx", "--out", run / inside, "--force")
    assert "holds the run" in _one_line(capsys, "export", run, "--format", "keras", "--out", run.parent, "--force")
    assert "it is the model being exported" in _one_line(capsys, "export", run / "model.keras", "--format", "onnx",
                                                          "--out", run / "model.keras", "--force")
    assert _tree(run) == kept
    important = tmp_path / "important"
    (important / "deep").mkdir(parents=True)
    (important / "deep" / "thesis.tex").write_text("years of work")
    err = _one_line(capsys, "export", run, "--format", "keras", "--out", important, "--force")
    assert "not a previous export" in err and (important / "deep" / "thesis.tex").read_text() == "years of work"


def test_force_replaces_a_previous_export_even_inside_the_run(runs, tmp_path, capsys):
    run = runs["mlp"]
    inside = run / "copy.keras"
    try:
        assert main(["export", str(run), "--format", "keras", "--out", str(inside)]) == 0  # a new name inside: fine
        assert main(["export", str(run), "--format", "keras", "--out", str(inside), "--force"]) == 0  # its own export
    finally:
        inside.unlink(missing_ok=True)
        card_path(inside).unlink(missing_ok=True)
    folder = tmp_path / "old_export"  # an export folder (a SavedModel) is known by the card next to it
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"old")
    assert main(["export", str(run), "--format", "keras", "--out", str(folder), "--force"]) == 0
    assert folder.is_file() and zipfile.is_zipfile(folder)
    capsys.readouterr()
    plain = tmp_path / "notes.txt"  # a user's file, no card: --force does not replace it, nor a link
    plain.write_text("keep me")
    assert "a file that is not a previous export" in _one_line(capsys, "export", run, "--format", "keras", "--out", plain,
                                                              "--force")
    link = tmp_path / "link"
    link.symlink_to(run)
    assert "a link that is not a previous export" in _one_line(capsys, "export", run, "--format", "keras", "--out", link,
                                                              "--force")
    assert plain.read_text() == "keep me" and link.is_symlink()


def test_a_run_whose_status_is_broken_is_not_exported(runs, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(runs["mlp"], copy)
    (copy / "status.json").write_text("[" * 100000 + "]" * 100000)  # as `zoo runs` lists it: broken
    err = _one_line(capsys, "export", copy, "--format", "keras", "--out", tmp_path / "out.keras")
    assert f"Cannot export {copy}" in err and "status.json" in err and not (tmp_path / "out.keras").exists()
