"""The classic curriculum as numbers: the perceptron rule, the three losses, the gradient-descent variants."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.cli import main
from zoo.demos import OPTIMIZER_VARIANTS, compare_optimizers, format_optimizer_table, optimizer_specs
from zoo.demos import learn_truth_table
from zoo.perceptron_rule import learn
from zoo.training import train


# ------------------------------------------------------------------------------------------ perceptron
def test_perceptron_rule_is_applied_literally():
    """From zero weights, one wrong answer moves w by lr * (target - output) * x and b by lr * (target - output)."""
    model = zoo.build("perceptron", optimizer__learning_rate=0.5)
    x = np.array([[1.0, 2.0]], np.float32)
    model.fit(x, np.array([1.0], np.float32), batch_size=1, epochs=1, verbose=0)  # output 0, target 1
    assert model.weights_and_bias() == ([0.5, 1.0], 0.5)
    model.fit(x, np.array([0.0], np.float32), batch_size=1, epochs=1, verbose=0)  # now it fires: output 1, target 0
    assert model.weights_and_bias() == ([0.0, 0.0], 0.0)
    model.fit(x, np.array([0.0], np.float32), batch_size=1, epochs=1, verbose=0)  # right (step(0) = 0): no change
    assert model.weights_and_bias() == ([0.0, 0.0], 0.0)


@pytest.mark.parametrize("table", ["concert", "and", "or"])
def test_perceptron_converges_on_separable_tables(table):
    result = learn_truth_table(table, epochs=20)
    assert result.converged_epoch is not None and 1 <= result.converged_epoch <= 20
    assert result.output.tolist() == result.target.tolist()
    (w1, w2), b = result.weights, result.bias
    # the readable weights really are the model: recompute the answers by hand
    assert [int(w1 * x1 + w2 * x2 + b > 0) for x1, x2 in result.x] == result.target.tolist()


def test_perceptron_cannot_learn_xor_but_xor_mlp_can(tmp_path):
    result = learn_truth_table("xor", epochs=30)
    assert result.converged_epoch is None
    assert (result.output != result.target).sum() >= 1
    # stops where the app's playground stops: epoch 3 repeats epoch 2's weights, with the same weights as the rule
    rule = learn("xor", max_epochs=30, stop_on_cycle=True)
    assert result.cycle == rule.cycle == (3, 2) and result.epochs == 3
    assert result.weights == list(rule.w) and result.bias == rule.b
    assert "Stopped: epoch 3 ended with the weights of epoch 2" in result.format()
    run = train("perceptron", dataset="xor", epochs=30, out=tmp_path / "p", progress=False)
    status = json.loads((tmp_path / "p" / "status.json").read_text())
    assert status["converged_epoch"] is None and status["message"].startswith("No line separates these points: XOR needs a hidden layer")
    assert run.test["accuracy"] < 1.0  # xor-mlp does solve it: tests/test_training.py::test_xor_mlp_solves_xor


def test_train_reports_the_convergence_epoch(tmp_path):
    run = train("perceptron", epochs=20, out=tmp_path / "r", progress=False)
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    assert run.converged_epoch == status["converged_epoch"] == len(run.history["loss"]) < 20  # stopped there
    assert run.test["accuracy"] == 1.0 and "Converged in epoch" in status["message"]


def test_cli_prints_the_truth_table(capsys):
    assert main(["perceptron", "--table", "concert"]) == 0
    out = capsys.readouterr().out
    result = learn_truth_table("concert")
    assert "raining" in out and "ticket_free" in out
    assert f"Converged in epoch {result.converged_epoch}" in out
    (w1, w2), b = result.weights, result.bias
    assert f"{w1:g}*raining {'+' if w2 >= 0 else '-'} {abs(w2):g}*ticket_free" in out  # the decision line
    rows = [line for line in out.splitlines() if "|" in line][1:]
    assert [line.split("|")[1].split()[:2] for line in rows] == [["1", "1"], ["1", "1"], ["0", "0"], ["1", "1"]]
    assert main(["perceptron", "--table", "xor"]) == 0
    assert ("No line separates these points: XOR needs a hidden layer (see xor-mlp). Stopped: epoch 3 ended with the "
            "weights of epoch 2, so the rule would repeat forever") in capsys.readouterr().out


def test_a_separable_table_out_of_epochs_is_told_to_train_on_not_that_no_line_exists(tmp_path, capsys):
    assert main(["perceptron", "--table", "concert", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Not converged after 1 epoch (a line does separate these points: train on)" in out
    line = out.split("decision line:")[1].splitlines()[0]
    assert not re.search(r"-0(?![.\d])", line), line  # a zero weight prints as 0, never -0
    assert main(["train", "perceptron", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    assert status["message"] == "Not converged after 1 epoch (a line does separate these points: train on)"
    assert status["message"] in capsys.readouterr().out  # printed, not only in status.json


# ---------------------------------------------------------------------------------------------- losses
@pytest.mark.parametrize("name, loss, epochs", [("regression", "mse", 12), ("binary", "binary_crossentropy", 4),
                                                ("mlp", "categorical_crossentropy", 4)])
def test_each_loss_has_a_spec_and_training_lowers_it(name, loss, epochs, small_data, tmp_path):
    spec = zoo.load_spec(name)
    assert spec.training.loss == loss
    run = train(spec, epochs=epochs, data=small_data(spec.dataset, 512), out=tmp_path / "r", progress=False,
                record_every=0)
    losses = run.history["loss"]
    assert losses[-1] < 0.8 * losses[0]


# ------------------------------------------------------------------------------- gradient-descent variants
def test_variants_share_initial_weights_and_differ_in_batch_and_optimizer():
    specs = optimizer_specs("mlp", dataset="digits", epochs=1)
    first = [w.numpy() for w in zoo.build(specs[0][1]).weights]
    for variant, spec in specs:
        model = zoo.build(spec)
        for a, b in zip(first, [w.numpy() for w in model.weights]):
            np.testing.assert_array_equal(a, b)
        assert spec.training.batch_size == variant.batch_size and spec.optimizer.name == variant.optimizer
        assert float(getattr(model.optimizer, "momentum", 0.0)) == pytest.approx(variant.momentum)
    assert {v.batch_size for v in OPTIMIZER_VARIANTS} >= {"full", 1, 32}


def test_demo_optimizers_updates_per_epoch_and_table(small_data, tmp_path):
    data = small_data("digits", 96)
    results = compare_optimizers("mlp", epochs=2, data=data)
    updates = {r.variant.label: r.updates_per_epoch for r in results}
    assert updates["batch GD (full batch)"] == 1 and updates["SGD (batch 1)"] == 96 and updates["Adam (32)"] == 3
    from zoo._backend import keras

    for r in results:
        saved = keras.models.load_model(r.path / "model.keras")
        assert int(saved.optimizer.iterations.numpy()) == 2 * r.updates_per_epoch  # the updates really made
        assert r.state == "completed" and len(r.history["seconds"]) == 2 and r.history["seconds"][1] > 0
    table = format_optimizer_table(results)
    assert len(table.splitlines()) == 2 + len(OPTIMIZER_VARIANTS) and "updates/epoch" in table


def test_demo_optimizers_cli_writes_figure_and_runs(small_data, tmp_path, monkeypatch, capsys):
    from zoo import datasets

    digits = small_data("digits", 64)
    monkeypatch.setattr(datasets, "load_dataset", lambda name: digits)
    out = tmp_path / "opt.png"
    assert main(["demo", "optimizers", "--model", "mlp", "--dataset", "digits", "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for variant in OPTIMIZER_VARIANTS:
        assert variant.label in printed
    run_dirs = [line.split(": ", 1)[1] for line in printed.splitlines() if line.startswith(tuple(v.label + ":" for v in OPTIMIZER_VARIANTS))]
    assert len(run_dirs) == len(OPTIMIZER_VARIANTS)
    assert all(json.loads((Path(d) / "status.json").read_text())["state"] == "completed" for d in run_dirs)


@pytest.mark.parametrize("table", ["concert", "xor"])
def test_perceptron_reports_its_real_error_rate(table, tmp_path):
    """The reported loss is the fraction of examples answered wrong in each epoch, counted independently:
    with one example per step, a step that moved the weights was a mistake."""
    from zoo._backend import keras

    class CountMistakes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.mistakes.append(0)
            self.before = [w.numpy().copy() for w in self.model.weights]

        def on_train_batch_end(self, batch, logs=None):
            after = [w.numpy().copy() for w in self.model.weights]
            self.mistakes[-1] += any(not np.array_equal(a, b) for a, b in zip(after, self.before))
            self.before = after

    counter = CountMistakes()
    counter.mistakes = []
    run = train("perceptron", dataset=table, epochs=8, out=tmp_path / "r", progress=False, callbacks=[counter])
    losses = run.history["loss"]
    np.testing.assert_allclose(losses, np.array(counter.mistakes) / 4)
    assert losses[0] > 0
    if table == "concert":
        assert run.converged_epoch is not None and run.test["loss"] == 0.0  # the mistakes of its last epoch fixed them
    else:
        assert min(losses) > 0 and run.test["loss"] == pytest.approx(1 - run.test["accuracy"])
