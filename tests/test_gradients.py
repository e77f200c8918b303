"""Gradient recording: the recorded numbers are the real ones, and the textbook experiments show what they should."""
import csv
import json
import shutil

import numpy as np
import pytest

import zoo
from zoo.cli import main
from zoo.datasets import load_dataset, prepare
from zoo.plots import gradient_summary
from zoo.records import RunRecords
from zoo.training import train


@pytest.fixture(scope="module")
def tf_keras():
    from zoo._backend import keras, tf

    return tf, keras


def batch_for(name, n=64):
    spec = zoo.load_spec(name)
    x, y = prepare(load_dataset(spec.dataset), spec.input_shape, spec.training.loss)["train"]
    return x[:n], y[:n]


def tape_gradients(tf, model, x, y):
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    return tape.gradient(loss, model.trainable_weights)


def per_layer(model, grads):
    """Group the tape's gradients by layer, in depth order (an independent grouping from the recorder's)."""
    out, i = [], 0
    for layer in model.layers:
        n = len(layer.trainable_weights)
        if n:
            out.append([np.asarray(g) for g in grads[i:i + n]])
            i += n
    return out


@pytest.mark.parametrize("name", ["deep-sigmoid", "regression"])  # no dropout: the same forward pass twice
def test_recorded_statistics_match_gradient_tape(name, tf_keras):
    tf, keras = tf_keras
    from zoo.callbacks import GradientRecorder
    from zoo.callbacks.gradient_recorder import HIST_EDGES

    x, y = batch_for(name)
    model = zoo.build(name)
    expected = per_layer(model, tape_gradients(tf, model, x, y))  # the same batch at the same weights
    weights_before = [np.asarray(w) for w in model.trainable_weights]
    recorder = GradientRecorder()
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    table = recorder.table()
    assert table["step"].tolist() == [1]
    norms = [np.sqrt(sum((g ** 2).sum() for g in layer)) for layer in expected]
    mean_abs = [np.concatenate([np.abs(g).ravel() for g in layer]).mean() for layer in expected]
    max_abs = [max(np.abs(g).max() for g in layer) for layer in expected]
    np.testing.assert_allclose(table["grad_norm"][0], norms, rtol=1e-4)
    details = recorder.details()
    assert details["step"].tolist() == [1]
    np.testing.assert_allclose(details["grad_mean_abs"][0], mean_abs, rtol=1e-4)
    np.testing.assert_allclose(details["grad_max_abs"][0], max_abs, rtol=1e-4)
    assert np.isnan(table["grad_norm_clipped"][0]).all()  # no clipping configured
    after = [np.asarray(w) for w in model.trainable_weights]
    weight_norms = [np.sqrt(sum((w ** 2).sum() for w in layer)) for layer in per_layer(model, after)]
    np.testing.assert_allclose(details["weight_norm"][0], weight_norms, rtol=1e-5)
    deltas = per_layer(model, [a - b for a, b in zip(after, weights_before)])
    befores = per_layer(model, weights_before)
    ratio = [np.sqrt(sum((d ** 2).sum() for d in dl)) / np.sqrt(sum((b ** 2).sum() for b in bl))
             for dl, bl in zip(deltas, befores)]
    np.testing.assert_allclose(details["update_ratio"][0], ratio, rtol=1e-3)
    # the histogram counts every gradient value once, each in the bin of its log10|g|
    flat = [np.concatenate([g.ravel() for g in layer]) for layer in expected]
    independent = [np.histogram(np.clip(np.log10(np.abs(g) + 1e-30), -12, 2 - 1e-6), bins=HIST_EDGES)[0] for g in flat]
    assert details["histogram"][0].sum(axis=1).tolist() == [g.size for g in flat]
    np.testing.assert_allclose(details["histogram"][0], independent, atol=2)  # float32 log at the bin edges


def test_clipping_shows_in_the_after_clipping_norms(tf_keras):
    tf, keras = tf_keras
    from zoo.callbacks import GradientRecorder

    x, y = batch_for("exploding-clipped")
    model = zoo.build("exploding-clipped")
    expected = per_layer(model, tape_gradients(tf, model, x, y))
    recorder = GradientRecorder()
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, callbacks=[recorder])
    table = recorder.table()
    before = table["grad_norm"][0]
    clipped = table["grad_norm_clipped"][0]
    global_norm = np.sqrt((before.astype(np.float64) ** 2).sum())
    assert global_norm > 1.0  # the exploding net's gradient is far above the clip
    np.testing.assert_allclose(np.sqrt((clipped.astype(np.float64) ** 2).sum()), 1.0, rtol=1e-4)  # global_clipnorm = 1
    np.testing.assert_allclose(clipped, before / global_norm, rtol=1e-4)  # rescaled, direction kept
    np.testing.assert_allclose(before, [np.sqrt(sum((g ** 2).sum() for g in l)) for l in expected], rtol=1e-4)


def test_record_every_k_steps(tf_keras):
    from zoo.callbacks import GradientRecorder

    x, y = batch_for("binary", 160)
    model = zoo.build("binary")
    recorder = GradientRecorder(every=3, flush_every=2, detail_every=4)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[recorder])  # 20 steps
    table = recorder.table()
    assert table["step"].tolist() == [3, 6, 9, 12, 15, 18]
    assert table["epoch"].tolist() == [1, 1, 1, 2, 2, 2]
    assert recorder.details()["step"].tolist() == [1, 4, 8, 12, 16, 20]
    assert recorder.details()["epoch"].tolist() == [1, 1, 1, 2, 2, 2]


def test_recorder_refuses_bad_arguments():
    from zoo.callbacks import GradientRecorder

    for kwargs in ({"every": 0}, {"flush_every": -1}, {"detail_every": -2}, {"every": True}, {"every": 1.5}):
        with pytest.raises(ValueError):
            GradientRecorder(**kwargs)


def test_recorder_leaves_no_wrapper_behind_and_refuses_what_it_cannot_record(tf_keras):
    from zoo.callbacks import GradientRecorder, GradientStatisticsOptimizer

    _, keras = tf_keras
    x, y = batch_for("binary", 64)
    model = zoo.build("binary")
    original = model.optimizer

    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[GradientRecorder(), Boom()])
    assert isinstance(model.optimizer, GradientStatisticsOptimizer)  # Keras says nothing of the end of a failed fit
    recorder = GradientRecorder()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[recorder])
    assert model.optimizer is original and recorder.table()["step"].tolist() == [2, 3, 4, 5]
    for kwargs in ({"every": 2**31}, {"detail_every": 10**10}):
        with pytest.raises(ValueError, match="from"):
            GradientStatisticsOptimizer(keras.optimizers.SGD(), **kwargs)
    assert GradientStatisticsOptimizer(keras.optimizers.SGD(), every=10**6, capacity=256).detail_capacity == 258
    model.compile(optimizer=keras.optimizers.Adam(gradient_accumulation_steps=2), loss="binary_crossentropy")
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientRecorder()])
    frozen = zoo.build("binary")
    frozen.trainable = False
    frozen.compile(optimizer="sgd", loss="binary_crossentropy")
    recorder = GradientRecorder()
    frozen.fit(x, y, epochs=1, verbose=0, callbacks=[recorder])
    assert recorder.table()["grad_norm"].shape == (0, 0)


def test_vanishing_at_initialisation_sigmoid_vs_relu(tmp_path):
    """At step 1: deep-sigmoid's first hidden layer gets >= 100x less gradient than its last; deep-relu within 10x."""
    summaries = {}
    for name in ("deep-sigmoid", "deep-relu"):
        result = train(name, epochs=1, out=tmp_path / name, progress=False)
        summaries[name] = (gradient_summary(RunRecords(result.path)), result.history["loss"][0])
    sig, relu = summaries["deep-sigmoid"][0]["start"], summaries["deep-relu"][0]["start"]
    assert sig["ratio"] < 1 / 100
    assert 1 / 10 < relu["ratio"] < 10
    # and after one epoch deep-relu has learnt clearly more
    assert summaries["deep-relu"][1] < summaries["deep-sigmoid"][1] - 0.1


def test_run_folder_records_csv_activations_histograms(tmp_path):
    result = train("deep-relu", epochs=1, out=tmp_path / "r", progress=False)
    with open(tmp_path / "r" / "gradients.csv") as f:
        rows = list(csv.DictReader(f))
    steps = {int(r["step"]) for r in rows}
    assert steps == set(range(1, 41))  # 1,257 digits / batch 32 = 40 steps, every one recorded
    assert {r["layer"] for r in rows} == {f"hidden_{i}" for i in range(1, 11)} | {"output"}
    assert {int(r["depth"]) for r in rows if r["layer"] == "hidden_1"} == {1}
    with open(tmp_path / "r" / "activations.csv") as f:
        acts = list(csv.DictReader(f))
    assert {int(a["step"]) for a in acts} == {0, 40} and all(a["activation"] == "relu" for a in acts)
    assert all(0.0 <= float(a["dead"]) <= 1.0 for a in acts)
    hist = np.load(tmp_path / "r" / "histograms.npz")
    assert hist["counts"].shape == (1, 11, 28) and hist["steps"].tolist() == [1]
    with open(tmp_path / "r" / "gradient_details.csv") as f:
        details = list(csv.DictReader(f))
    assert len(details) == 11 and {int(d["step"]) for d in details} == {1}
    assert all(0 < float(d["grad_mean_abs"]) <= float(d["grad_max_abs"]) and float(d["weight_norm"]) > 0 for d in details)


def test_sigmoid_saturation_and_relu_dead_fractions_are_true(tf_keras):
    from zoo.callbacks import ActivationRecorder

    tf, keras = tf_keras
    x, y = batch_for("deep-sigmoid", 128)
    model = zoo.build("deep-relu")
    recorder = ActivationRecorder(x)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[recorder])
    first = [r for r in recorder.records if r["step"] == 0]
    model_before = zoo.build("deep-relu")  # same seed: the initial weights the step-0 record saw
    features = keras.Model(model_before.inputs[0], [model_before.get_layer(f"hidden_{i}").output for i in range(1, 11)])
    outs = [np.asarray(o) for o in features(x)]
    assert [r["dead"] for r in first] == pytest.approx([float(np.mean(np.all(o <= 0, axis=0))) for o in outs])
    assert [r["act_mean"] for r in first] == pytest.approx([float(o.mean()) for o in outs], rel=1e-5)


def test_exploding_keeps_records_up_to_divergence(tmp_path, capsys):
    train("exploding", epochs=2, out=tmp_path / "r", progress=True)
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    records = RunRecords(tmp_path / "r")
    assert status["state"] == "diverged" and records.steps[-1] >= status["step"] - 1
    norms = records.grad("grad_norm")
    finite = [row.max() for row in norms if np.isfinite(row).all()]
    assert len(finite) >= 2 and finite[-1] > 1e3 * finite[0]  # the norms explode step after step, then turn NaN
    assert not np.isfinite(norms[-1]).all()  # the step that diverged is recorded too
    printed = capsys.readouterr().err  # the progress line says it diverged, not that it was stopped
    assert f"epoch 1/2  diverged at step {status['step']}/" in printed and "stopped" not in printed


def test_memory_of_records_is_bounded(tf_keras):
    """10 epochs of MNIST at batch 32, every step: 17,190 steps; the records must stay well under 50 MB."""
    from zoo.callbacks import GradientRecorder

    x, y = batch_for("mlp", 320)
    model = zoo.build("mlp")
    recorder = GradientRecorder(flush_every=16)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[recorder])  # 10 steps
    per_step = recorder.nbytes() / 10
    assert per_step * 17190 < 5e6  # bytes: ~100 per step for 3 layers


def test_compare_cli_writes_figure_and_table(tmp_path, capsys):
    a = train("deep-sigmoid", epochs=1, out=tmp_path / "a", progress=False).path
    b = train("deep-relu", epochs=1, out=tmp_path / "b", progress=False).path
    for ext in ("png", "svg"):
        assert main(["compare", str(a), str(b), "--out", str(tmp_path / f"fig.{ext}")]) == 0
        assert (tmp_path / f"fig.{ext}").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "deep-sigmoid" in out and "first/last" in out
    assert main(["compare", str(tmp_path)]) == 2  # not a run folder: one-line error


def test_the_exploding_figure_shows_the_divergence_and_the_clipping(tmp_path):
    from zoo.plots import compare_figure

    exploding = train("exploding", out=tmp_path / "e", progress=False)
    clipped = train("exploding-clipped", epochs=2, out=tmp_path / "c", progress=False)
    fig = compare_figure([RunRecords(exploding.path), RunRecords(clipped.path)])
    top_e, top_c = fig.axes[0], fig.axes[1]
    texts = " ".join(t.get_text() for t in top_e.texts)
    assert f"diverged at step {exploding.step}" in texts and "last finite norms" in texts
    assert any(line.get_label() == "NaN or inf" and len(line.get_xdata()) for line in top_e.lines)
    after = next(line for line in top_c.lines if line.get_label() == "all layers, after clipping")
    np.testing.assert_allclose(np.asarray(after.get_ydata(), float), 1.0, rtol=1e-3)  # global_clipnorm = 1, every step
    loss_e = fig.axes[4]
    assert any("no finite loss" in t.get_text() for t in loss_e.texts)  # said, not an empty frame
    for ax in fig.axes:  # every finite point drawn lies in the visible range
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        for line in ax.lines:
            if line.get_transform() is not ax.transData:
                continue
            xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            ok = np.isfinite(xs) & np.isfinite(ys)
            assert np.all((xs[ok] >= x0) & (xs[ok] <= x1) & (ys[ok] >= y0) & (ys[ok] <= y1)), line.get_label()


def test_tensorboard_summaries_are_written(tmp_path):
    assert main(["train", "binary", "--epochs", "1", "--tensorboard", "--out", str(tmp_path / "r")]) == 0
    events = list((tmp_path / "r" / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 1000
    from zoo._backend import tf

    tags = set()
    for record in tf.data.TFRecordDataset(str(events[0])):
        event = tf.compat.v1.Event.FromString(record.numpy())
        tags |= {v.tag for v in event.summary.value}
    assert "grad_norm/01_hidden_1" in tags and "log10_abs_grad/output" in tags


def test_recorder_works_under_xla(tf_keras):
    """On a GPU Keras compiles the train step with XLA by default; the recorder's ops must compile too."""
    tf, keras = tf_keras
    from zoo.callbacks import GradientRecorder

    x, y = batch_for("regression")
    model = zoo.build("regression")
    expected = per_layer(model, tape_gradients(tf, model, x, y))
    model.jit_compile = True
    model.make_train_function(force=True)
    recorder = GradientRecorder(detail_every=2)
    model.fit(x, y, batch_size=len(x), epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    norms = [np.sqrt(sum((g ** 2).sum() for g in layer)) for layer in expected]
    np.testing.assert_allclose(recorder.table()["grad_norm"][0], norms, rtol=1e-4)
    assert recorder.details()["step"].tolist() == [1, 2]


def test_compare_says_in_one_line_what_is_wrong_with_a_run(tmp_path, capsys):
    good = train("binary", epochs=1, out=tmp_path / "good", progress=False).path
    header = "step,epoch,layer,depth,grad_norm,grad_norm_clipped\n"
    cases = {
        "killed-early": (header, "has no records yet"),
        "no-depth": ("step,epoch,layer,grad_norm,grad_norm_clipped\n1,1,output,0.5,\n", "no `depth` column"),
        "bad-depth": (header + "1,1,output,deep,0.5,\n", "line 2: not a gradient record"),
        "status-list": (header + "1,1,output,1,0.5,\n", "not a JSON object"),
    }
    for name, (text, words) in cases.items():
        run = tmp_path / name
        shutil.copytree(good, run)
        (run / "gradients.csv").write_text(text)
        if name == "status-list":
            (run / "status.json").write_text("[1, 2]")
        capsys.readouterr()
        assert main(["compare", str(good), str(run)]) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and "Traceback" not in err[0], (name, err)
    gapped = tmp_path / "gapped-depths"  # depths 1 and 3 (a layer missing): still a figure, no IndexError
    shutil.copytree(good, gapped)
    (gapped / "gradients.csv").write_text(header + "1,1,hidden_1,1,0.5,\n1,1,output,3,0.25,\n")
    assert main(["compare", str(gapped), "--out", str(tmp_path / "fig.png")]) == 0
