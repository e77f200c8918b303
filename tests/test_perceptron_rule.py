"""The NumPy perceptron rule (zoo.perceptron_rule): by hand, against the Keras Perceptron, and its geometry."""
import subprocess
import sys

import numpy as np
import pytest

from zoo.perceptron_rule import (TRUTH_TABLES, RuleTrainer, converged, decision_line, fires_region, learn,
                                 outcome_message, predict, rule_update, separable, step, train_steps,
                                 weighted_sum)

SEPARABLE = ["concert", "and", "or"]


def test_importing_the_rule_does_not_import_tensorflow():
    code = ("import sys, zoo.perceptron_rule as r; r.learn('xor', max_epochs=3); r.decision_line([1, 1], -1); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'PySide6')); "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_truth_tables_agree_with_the_datasets():
    from zoo.datasets import load_dataset

    assert list(TRUTH_TABLES) == ["concert", "and", "or", "xor"]
    for name, table in TRUTH_TABLES.items():
        data = load_dataset(name)
        assert np.array_equal(table.x, data.x_train) and np.array_equal(table.target, data.y_train)
        assert table.feature_names == data.info.feature_names and table.class_names == data.info.class_names
    concert = TRUTH_TABLES["concert"]
    assert concert.questions == ("Raining?", "Ticket free?")
    # go unless it rains and the ticket costs: (raining, free) -> go
    assert {tuple(int(v) for v in x): int(t) for x, t in zip(concert.x, concert.target)} == {
        (0, 0): 1, (0, 1): 1, (1, 0): 0, (1, 1): 1}


def test_step_and_weighted_sum():
    assert step(0.0) == 0 and step(1e-9) == 1 and step(-2) == 0  # step(0) = 0, as in the Keras Perceptron
    assert step(np.array([-1.0, 0.0, 0.5])).tolist() == [0, 0, 1]
    assert weighted_sum([2.0, -1.0], 0.5, [1, 1]) == pytest.approx(1.5)
    assert weighted_sum([2.0, -1.0], 0.5, np.eye(2)).tolist() == [2.5, -0.5]
    assert predict([2.0, -1.0], 0.5, [[0, 0], [0, 1], [1, 0]]).tolist() == [1, 0, 1]


def test_first_concert_updates_by_hand():
    concert = TRUTH_TABLES["concert"]
    # zero weights: w.x + b = 0, step(0) = 0, but the target of (0, 0) is 1 -> only the bias moves (x = 0)
    u = rule_update([0, 0], 0, concert.x[0], concert.target[0], lr=1.0)
    assert (u.output, u.error, u.weighted_sum) == (0, 1, 0.0)
    assert u.delta_w.tolist() == [0, 0] and u.delta_b == 1 and u.new_w.tolist() == [0, 0] and u.new_b == 1
    # (0, 1) -> 1: w.x + b = 1 > 0, right, nothing moves
    u = rule_update(u.new_w, u.new_b, concert.x[1], concert.target[1])
    assert (u.output, u.error, u.changed) == (1, 0, False) and u.new_w.tolist() == [0, 0] and u.new_b == 1
    # (1, 0) -> 0 (raining, ticket costs): fires wrongly, w -= x, b -= 1
    u = rule_update(u.new_w, u.new_b, concert.x[2], concert.target[2])
    assert (u.output, u.error) == (1, -1) and u.new_w.tolist() == [-1, 0] and u.new_b == 0
    assert "x=(1,0) target 0, output 1 → w += 1·(-1)·x = (-1, 0), b += -1" in u.describe()
    # (1, 1) -> 1: w.x + b = -1, silent wrongly, w += x, b += 1
    u = rule_update(u.new_w, u.new_b, concert.x[3], concert.target[3])
    assert (u.output, u.error) == (0, 1) and u.new_w.tolist() == [0, 1] and u.new_b == 1
    # a fractional learning rate scales the step
    u = rule_update([0.5, -0.5], 0.2, [1, 1], 0, lr=0.1)
    assert u.output == 1 and u.delta_w == pytest.approx([-0.1, -0.1]) and u.new_b == pytest.approx(0.1)
    assert u.new_w == pytest.approx([0.4, -0.6])


def test_train_steps_follows_table_order_epoch_by_epoch():
    updates = list(train_steps("concert"))
    assert [u.index for u in updates] == [0, 1, 2, 3] * 4
    assert [u.epoch for u in updates] == [e for e in (1, 2, 3, 4) for _ in range(4)]
    assert [u.epoch_end for u in updates] == [False, False, False, True] * 4
    # by hand (table order, lr 1, from zero): errors at (1,0) and (1,1) in epochs 1-2, at (1,0) in epoch 3,
    # at (0,0) in epoch 4, after which every example is right
    assert [u.error for u in updates] == [1, 0, -1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 1, 0, 0, 0]
    end_of_epoch = [(u.new_w.tolist(), u.new_b) for u in updates if u.epoch_end]
    assert end_of_epoch == [([0, 1], 1), ([0, 2], 1), ([-1, 2], 0), ([-1, 2], 1)]
    result = learn("concert")
    assert result.converged_epoch == result.epochs == 4
    assert result.w.tolist() == [-1, 2] and result.b == 1 and converged(result.w, result.b, *_xy("concert"))
    # a start that is already right: one epoch without a change
    again = learn("concert", w0=result.w, b0=result.b)
    assert again.converged_epoch == 1 and not any(u.changed for u in again.updates)


@pytest.mark.parametrize("name", SEPARABLE)
def test_separable_tables_converge(name):
    result = learn(name, max_epochs=100)
    assert result.converged_epoch is not None and result.converged_epoch <= 10
    x, y = _xy(name)
    assert [int(result.w @ row + result.b > 0) for row in x] == y.tolist()
    assert separable(x, y)
    # the last epoch ends with every example right and the rule stopped there
    assert result.updates[-1].epoch == result.converged_epoch and result.updates[-1].epoch_end


def test_xor_never_converges():
    result = learn("xor", max_epochs=100)
    assert result.converged_epoch is None and result.epochs == 100 and len(result.updates) == 400
    x, y = _xy("xor")
    for epoch in range(1, 101):  # every epoch makes at least one mistake
        assert any(u.changed for u in result.updates if u.epoch == epoch)
    assert not converged(result.w, result.b, x, y)
    assert not separable(x, y) and not separable(x, 1 - y)  # XNOR neither
    assert "XOR needs a hidden layer" in outcome_message(None, 100, False, "xor")
    assert outcome_message(3, 3).startswith("Converged in epoch 3")


def test_trainer_stops_and_refuses_more_steps():
    trainer = RuleTrainer("xor", max_epochs=2)
    updates = list(trainer)
    assert len(updates) == 8 and trainer.finished and trainer.epochs_done == 2 and trainer.converged_epoch is None
    assert trainer.errors_by_epoch == [sum(u.changed for u in updates if u.epoch == e) for e in (1, 2)]
    with pytest.raises(RuntimeError):
        trainer.step()
    with pytest.raises(ValueError):
        rule_update([0, 0], 0, [1, 1], 1, lr=0)


@pytest.mark.parametrize("name, lr, epochs", [("concert", 1.0, 20), ("and", 1.0, 20), ("or", 0.5, 20),
                                              ("xor", 1.0, 8)])
def test_numpy_rule_matches_the_keras_perceptron_epoch_by_epoch(name, lr, epochs):
    """zoo.perceptron.Perceptron fed one example at a time in table order (shuffle=False) reaches the same weights.

    (`learn_truth_table` and `zoo perceptron` run the same table order with Keras: the same epochs.)
    """
    import keras

    import zoo
    from zoo.callbacks import StopWhenConverged

    x, y = _xy(name)
    model = zoo.build("perceptron", dataset=name, optimizer__learning_rate=lr)
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.weights_and_bias()))
    stop = StopWhenConverged(x.astype(np.float32), y)
    model.fit(x.astype(np.float32), y.astype(np.float32), batch_size=1, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[record, stop])
    result = learn(name, lr=lr, max_epochs=epochs)
    mine = [(u.new_w.tolist(), u.new_b) for u in result.updates if u.epoch_end]
    assert len(seen) == len(mine) == result.epochs
    for (kw, kb), (nw, nb) in zip(seen, mine):
        assert kw == pytest.approx(nw, abs=1e-6) and kb == pytest.approx(nb, abs=1e-6)
    assert stop.converged_epoch == result.converged_epoch
    keras_answers = np.asarray(model(x.astype(np.float32))).reshape(-1).astype(int)
    assert keras_answers.tolist() == predict(result.w, result.b, x).tolist()


@pytest.mark.parametrize("w, b", [([-1, 2], 1), ([1, 1], -1.5), ([1, 0], -0.5), ([0, 1], -0.25), ([2, -3], 0.3),
                                  ([1, 1], -1.0), ([1, -1], 0.0)])
def test_decision_line_endpoints_lie_on_the_line_and_the_box(w, b):
    box = (-0.5, 1.5, -0.5, 1.5)
    seg = decision_line(w, b, box)
    assert seg is not None and seg.shape == (2, 2)
    assert np.abs(seg @ np.asarray(w, float) + b) == pytest.approx([0, 0], abs=1e-12)
    assert ((seg >= -0.5 - 1e-12) & (seg <= 1.5 + 1e-12)).all()
    on_edge = lambda p: np.isclose(p, -0.5).any() or np.isclose(p, 1.5).any()  # noqa: E731
    assert on_edge(seg[0]) and on_edge(seg[1]) and not np.allclose(seg[0], seg[1])
    region = fires_region(w, b, box)  # the shaded half: every vertex on the firing side or on the line
    assert len(region) >= 3 and (region @ np.asarray(w, float) + b >= -1e-12).all()
    assert weighted_sum(w, b, region.mean(axis=0)) > 0


def test_decision_line_without_a_line():
    assert decision_line([0, 0], 1.0) is None  # w = 0: the output is the same everywhere
    assert decision_line([1, 1], 10.0) is None  # the line misses the view box
    assert len(fires_region([1, 1], 10.0)) == 4 and len(fires_region([1, 1], -10.0)) == 0
    rng = np.random.default_rng(0)
    for _ in range(200):
        w, b = rng.normal(size=2), rng.normal()
        seg = decision_line(w, b)
        if seg is not None:
            assert np.abs(seg @ w + b).max() < 1e-9


def _xy(name):
    return TRUTH_TABLES[name].x, TRUTH_TABLES[name].target


def test_a_repeating_epoch_proves_the_rule_will_never_converge():
    # XOR from zero, table order, lr 1: epoch ends at w,b = (-1,0),0; (-1,0),1; (-1,0),1 -> epoch 3 repeats epoch 2
    trainer = RuleTrainer("xor", max_epochs=100, stop_on_cycle=True)
    updates = list(trainer)
    assert trainer.finished and trainer.converged_epoch is None and trainer.cycle == (3, 2)
    assert len(updates) == 12 and trainer.epochs_done == 3
    result = learn("xor", max_epochs=100, stop_on_cycle=True)
    assert result.epochs == 3 and result.cycle == (3, 2) and (result.w.tolist(), result.b) == ([-1, 0], 1)
    plain = learn("xor", max_epochs=100)  # without it, the rule just runs out of epochs
    assert plain.epochs == 100 and plain.cycle is None
    message = outcome_message(None, 3, False, "xor", cycle=(3, 2))
    assert message == ("No line separates these points: XOR needs a hidden layer (see xor-mlp). Stopped: epoch 3 "
                       "ended with the weights of epoch 2, so the rule would repeat forever")
    assert outcome_message(None, 2, None, cycle=(2, 0)) == ("Stopped: epoch 2 ended with the weights of the start, so "
                                                            "the rule would repeat forever")
    for name in SEPARABLE:  # a table a line separates never repeats: the rule converges as before
        a, b = learn(name, stop_on_cycle=True), learn(name)
        assert a.cycle is None and a.converged_epoch == b.converged_epoch and a.w.tolist() == b.w.tolist()
    # a fractional learning rate: the repeat is found despite rounding
    assert learn("xor", lr=0.1, max_epochs=100, stop_on_cycle=True).cycle is not None
