"""Issue 18: the training doctor is right on both sides: every pathological built-in gets its finding and every
healthy one none, on two seeds (small data, short trainings: the rules read the first steps and the last epochs);
a handful of deliberately broken specs get the right code; the CLI, the JSON, the live report and --try."""
import json
from pathlib import Path

import pytest

import zoo
from zoo.cli import main
from zoo.datasets import load_dataset
from zoo.doctor import CODES, diagnose, format_findings

from conftest import shrink

SEEDS = (0, 1)
HEAVY = {"deep-residual", "init-small", "init-zeros", "init-glorot"}  # 30+ layers: one seed here, three in bench/doctor.py
PATHOLOGICAL = {"deep-sigmoid": "vanishing_gradients", "exploding": "exploding_gradients", "init-zeros": "not_learning",
                "init-small": "vanishing_gradients", "init-glorot": "vanishing_gradients",
                "rnn-simple": "vanishing_gradients"}
HEALTHY = ("mlp", "cnn", "deep-relu", "exploding-clipped", "deep-residual", "deep-sigmoid-bn")
MLP = (Path(__file__).parent.parent / "models" / "mlp.toml").read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name, seed -> a run folder of that model trained for 3 epochs on 512 examples (cached for the module)."""
    runs = {}

    def get(name: str, seed: int, epochs: int = 3, examples: int = 512, **overrides) -> Path:
        key = (name, seed, epochs, examples)
        if key not in runs:
            spec = zoo.load_spec(name)
            out = tmp_path_factory.mktemp("doctor") / f"{Path(str(name)).stem}-{seed}"
            zoo.train(spec, data=shrink(load_dataset(spec.dataset), examples), epochs=epochs, seed=seed, out=out,
                      progress=False, overrides={"training.augment": 0, **overrides})
            runs[key] = out
        return runs[key]

    return get


def seeded(names):
    return [(name, seed) for name in names for seed in SEEDS if seed == 0 or name not in HEAVY]


@pytest.mark.parametrize("name, seed", seeded(sorted(PATHOLOGICAL)))
def test_every_pathological_model_gets_its_finding(trained, name, seed):
    found = diagnose(trained(name, seed))
    assert PATHOLOGICAL[name] in [f.code for f in found], format_findings(found, name)
    assert all(f.evidence and f.explanation and f.fix and f.severity in ("critical", "warning") for f in found)


@pytest.mark.parametrize("name, seed", seeded(HEALTHY))
def test_no_false_alarm_on_healthy_models(trained, name, seed):
    found = diagnose(trained(name, seed))
    assert found == [], format_findings(found, name)


def broken(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, edit, code, settings", [
    ("negative-bias", lambda t: t.replace('[[layers]]\nunits = 512\nactivation = "relu"\ninitializer = "he_normal"',
                                          '[[layers]]\nkind = "Dense"\nunits = 512\nactivation = "relu"\n'
                                          'bias_initializer = { class_name = "Constant", config = { value = -5.0 } }', 1),
     "dead_units", {}),
    ("adam-at-1", lambda t: t.replace("learning_rate = 0.001", "learning_rate = 1.0"), "learning_rate_too_high", {}),
    ("sgd-at-1e-6", lambda t: t.replace('name = "adam"', 'name = "sgd"').replace("learning_rate = 0.001",
                                                                               "learning_rate = 1e-6"),
     "learning_rate_too_low", {}),
    ("by-heart", lambda t: t.replace('kind = "dropout"\nrate = 0.2', 'kind = "dropout"\nrate = 0.0')
     .replace("learning_rate = 0.001", "learning_rate = 0.003").replace('schedule = "cosine"', 'schedule = "constant"'),
     "overfitting", {"epochs": 30, "examples": 24, "training.batch_size": 8}),
])
def test_broken_specs_get_the_right_code(trained, tmp_path, name, edit, code, settings):
    text = edit(MLP)
    assert text != MLP
    settings = dict(settings)
    run = trained(broken(tmp_path, name, text), 0, settings.pop("epochs", 3), settings.pop("examples", 512), **settings)
    found = diagnose(run)
    assert code in [f.code for f in found], format_findings(found, name)


def test_the_cli_prints_findings_most_serious_first_and_json_has_the_fields(trained, capsys):
    run = trained("deep-sigmoid", 0)
    assert main(["doctor", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.index("CRITICAL vanishing_gradients") < out.index("CRITICAL not_learning")
    assert "evidence: the gradient norm of hidden_1 is" in out and "fix: Use ReLU with He initialisation" in out
    assert main(["doctor", str(run), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in findings] == ["vanishing_gradients", "not_learning"]
    assert set(findings[0]) >= {"code", "severity", "layers", "evidence", "explanation", "fix"}
    assert findings[0]["layers"] == ["hidden_1", "hidden_10"] and findings[0]["steps"][0] == 1
    assert {f["code"] for f in findings} <= set(CODES)


def test_the_evidence_is_the_records_numbers(trained):
    """The vanishing finding quotes the medians of gradients.csv over the steps it names."""
    import numpy as np

    from zoo.records import RunRecords

    run = trained("deep-sigmoid", 0)
    [finding] = [f for f in diagnose(run) if f.code == "vanishing_gradients"]
    records = RunRecords(run)
    rows = (records.steps >= finding.steps[0]) & (records.steps <= finding.steps[1])
    first = np.median(records.grad()[rows, records.layers.index("hidden_1")])
    last = np.median(records.grad()[rows, records.layers.index("hidden_10")])
    assert f"hidden_1 is {first:.2g}, of hidden_10 {last:.2g}" in finding.evidence
    assert finding.steps[1] - finding.steps[0] + 1 == max(1, min(100, len(records.steps) // 10))


def test_a_healthy_run_says_nothing_was_found(trained, capsys):
    assert main(["doctor", str(trained("deep-relu", 0))]) == 0
    assert "nothing found" in capsys.readouterr().out


def test_bad_folders_are_one_line(tmp_path, capsys):
    assert main(["doctor", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a run folder" in err


def test_zoo_train_reports_a_finding_when_it_first_holds(tmp_path, capsys):
    zoo.train("deep-sigmoid", data=shrink(load_dataset("digits"), 256), epochs=2, out=tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    lines = err.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("doctor: critical vanishing_gradients"))
    assert lines[first - 1].startswith("epoch 1/2")  # at the end of the first epoch, not only at the end
    assert sum(line.startswith("doctor: critical vanishing_gradients") for line in lines) == 1  # once


def test_try_trains_the_fixed_spec_and_the_finding_is_gone(trained, tmp_path, capsys):
    from zoo.remedy import try_fix

    run = trained("deep-sigmoid", 0)
    remedy = try_fix(run, out=tmp_path / "fixed", data=shrink(load_dataset("digits"), 512))
    assert remedy.finding.code == "vanishing_gradients" and "ReLU with He initialisation" in remedy.change
    fixed = zoo.load_spec(remedy.after / "spec.toml")
    assert all(layer.activation == "relu" and layer.initializer.name == "he_normal" for layer in fixed.layers)
    before = zoo.load_spec(run / "spec.toml")
    assert (fixed.training.seed, fixed.training.epochs, fixed.dataset) == (before.training.seed, before.training.epochs,
                                                                           before.dataset)
    assert remedy.gone and "vanishing_gradients" not in [f.code for f in remedy.found_after]


def test_try_on_a_run_recorder_run_says_what_to_do_by_hand(tmp_path, capsys):
    import numpy as np

    from zoo._backend import keras
    from zoo.callbacks import RunRecorder

    x = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    layers = [keras.Input((8,))] + [keras.layers.Dense(8, activation="sigmoid") for _ in range(12)]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[RunRecorder(tmp_path / "mine")])
    assert main(["doctor", str(tmp_path / "mine"), "--try"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no spec.toml (recorded by RunRecorder)" in err and "ReLU" in err


@pytest.mark.parametrize("holds, expected", [
    # learnt by its second epoch: taken back once it stayed away two epoch ends
    ([1, 0, 0, 0], ["said @1", "not_learning gone @3"]),
    # a loss hovering at the threshold: said once, not withdrawn and said again each epoch
    ([1, 0, 1, 0, 1, 0, 1], ["said @1"]),
    # away at the last epoch end only: the end of training stands, as `zoo doctor` will say
    ([1, 1, 0], ["said @1", "not_learning gone @3"]),
    ([0, 1, 0, 0, 1], ["said @2", "not_learning gone @4", "said @5"]),
])
def test_doctor_watch_says_when_a_finding_no_longer_holds(monkeypatch, tmp_path, holds, expected):
    from zoo.callbacks import DoctorWatch
    from zoo.callbacks import doctor_watch
    from zoo.doctor import Finding

    stuck = Finding("not_learning", "critical", [], "the loss is 2.3", "why", "fix", epochs=(1, 1))
    answers = iter([[stuck] if held else [] for held in holds])
    monkeypatch.setattr(doctor_watch, "diagnose", lambda run_dir: next(answers))
    said, epoch = [], [0]
    watch = DoctorWatch(tmp_path, report=lambda f: said.append(f"said @{epoch[0]}"),
                        resolved=lambda c, e: said.append(f"{c} gone @{e}"))
    watch.on_train_begin()
    for epoch[0] in range(1, len(holds) + 1):
        watch.on_epoch_end(epoch[0] - 1)
    watch.on_train_end()
    assert said == expected
    with pytest.raises(ValueError, match="settle"):
        DoctorWatch(tmp_path, settle=0)


@pytest.mark.parametrize("status_edit, history, expected", [
    ({"state": "diverged", "step": None}, {"epoch": [1], "loss": [2.0]}, "without the step"),
    ({"state": "diverged", "step": 0}, None, "without the step"),
])
def test_a_run_that_says_it_diverged_without_a_step_gets_one_finding(tmp_path, status_edit, history, expected):
    from zoo.runs import new_status, write_json_atomic, write_status

    run = tmp_path / "run"
    run.mkdir()
    write_status(run, new_status(model="x", **{**status_edit, "finished": "2026-01-01T00:00:00+00:00"}))
    if history is not None:
        write_json_atomic(run / "history.json", history)
    [finding] = diagnose(run)
    assert finding.code == "exploding_gradients" and expected in finding.evidence


def test_impossible_record_values_are_not_evidence(tmp_path):
    """Negative norms and ratios, shares above 1, escape sequences in names: no finding quotes them."""
    from zoo.runs import new_status, write_json_atomic, write_status

    run = tmp_path / "run"
    run.mkdir()
    write_status(run, new_status(model="x", state="completed", output_layers=["out"]))
    write_json_atomic(run / "history.json", {"epoch": [1, 2], "loss": [1.0, 0.5]})
    rows = ["step,epoch,layer,depth,grad_norm,grad_norm_clipped"]
    rows += [f"{s},1,{name},{d},{v},nan" for s in range(1, 11) for d, (name, v) in
             enumerate([("a\x1b[2J", -1.0), ("b", 1.0), ("out", 1.0)], start=1)]
    (run / "gradients.csv").write_text("\n".join(rows) + "\n")
    (run / "activations.csv").write_text("step,epoch,layer,depth,activation,act_mean,act_std,saturated,dead\n"
                                         "10,2,b,1,relu,0.1,0.1,nan,1e308\n")
    found = diagnose(run)
    assert found == [], format_findings(found, run)
    assert "\x1b" not in format_findings([zoo.doctor.Finding("x", "warning", ["a\x1b[2J"], "e", "w", "f")], run)


def test_try_refuses_a_run_still_training(trained, tmp_path, monkeypatch, capsys):
    from zoo import remedy

    run = trained("deep-sigmoid", 0)
    import zoo.runs

    monkeypatch.setattr(zoo.runs, "read_run", lambda path: type("Info", (), {"state": "running"})())
    with pytest.raises(zoo.RunError, match="still training"):
        remedy.try_fix(run)


def test_a_damaged_record_is_named_not_passed_over(trained, tmp_path, capsys):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(trained("deep-sigmoid", 0), run)
    lines = (run / "gradients.csv").read_text().splitlines()
    lines[4] = "5,1,hidden_1,1,abc,nan"
    (run / "gradients.csv").write_text("\n".join(lines) + "\n")
    assert main(["doctor", str(run)]) == 0
    out = capsys.readouterr().out
    assert "vanishing_gradients" not in out and "(not read, so not checked:" in out and "line 5" in out


@pytest.fixture
def vanishing_run(trained, tmp_path):
    import shutil

    return Path(shutil.copytree(trained("deep-sigmoid", 0), tmp_path / "runs" / "deep-sigmoid"))


@pytest.mark.parametrize("history", ["", "[" * 100_000 + "]" * 100_000, '{"epoch": [1], "loss": "x"'])
def test_a_broken_history_silences_the_loss_rules_only(vanishing_run, history, capsys):
    from zoo.doctor import examine

    (vanishing_run / "history.json").write_text(history)
    found, unread = examine(vanishing_run)
    assert "vanishing_gradients" in [f.code for f in found] and "not_learning" not in [f.code for f in found]
    assert len(unread) == 1 and "history.json" in unread[0]
    assert main(["doctor", str(vanishing_run)]) == 0
    out = capsys.readouterr().out
    assert "vanishing_gradients" in out and "not read, so not checked" in out and "look healthy" not in out


def test_a_record_the_doctor_cannot_read_is_said_and_no_fix_is_tried_on_the_rest(vanishing_run, capsys):
    (vanishing_run / "activations.csv").write_text("step,epoch,layer,depth,norm\n1,1,a,1,0.5\n")  # a foreign file
    assert any("activations.csv" in note for note in __import__("zoo.doctor").doctor.examine(vanishing_run)[1])
    (vanishing_run / "gradients.csv").write_bytes(bytes(range(256)) * 64)  # not a record: vanishing can't be seen
    assert main(["doctor", str(vanishing_run), "--try"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not read all of it" in err and "gradients.csv" in err
    assert not (vanishing_run.parent / "deep-sigmoid-fixed").exists()  # no training on wrong advice


def test_a_figure_that_cannot_be_written_is_refused_before_the_fix_trains(vanishing_run, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["doctor", str(vanishing_run), "--try", "--out", str(tmp_path / "file" / "f.png")]) == 2
    assert "Cannot write the figure" in capsys.readouterr().err
    assert not (vanishing_run.parent / "deep-sigmoid-fixed").exists()


def test_the_fixed_run_takes_the_next_free_name_even_past_a_dangling_link(tmp_path):
    from zoo.remedy import fixed_run_dir

    run = tmp_path / "run"
    run.mkdir()
    assert fixed_run_dir(run) == tmp_path / "run-fixed"
    (tmp_path / "run-fixed").mkdir()
    (tmp_path / "run-fixed-2").symlink_to(tmp_path / "nowhere")  # dangling: taken all the same
    assert fixed_run_dir(run) == tmp_path / "run-fixed-3"


@pytest.mark.parametrize("accuracy, expected", [
    ([0.65, 0.80, 0.90, 0.95, 0.950, 0.956, 0.961], []),  # still getting better on unseen data: more confident
    ([0.65, 0.80, 0.90, 0.95, 0.949, 0.948, 0.947], ["overfitting"]),  # no better: learning by heart
    (None, ["overfitting"]),  # no accuracy recorded: the losses decide
])
def test_overfitting_needs_the_validation_accuracy_to_stop_improving(tmp_path, accuracy, expected):
    """exploding-clipped on seed 2: validation loss +12 % over its last 3 epochs, validation accuracy still rising."""
    from zoo.runs import new_status, write_json_atomic, write_status

    run = tmp_path / "run"
    run.mkdir()
    write_status(run, new_status(model="x", state="completed"))
    history = {"epoch": list(range(1, 8)), "loss": [1.6, 0.7, 0.3, 0.1, 0.05, 0.03, 0.02],
               "val_loss": [0.9, 0.5, 0.3, 0.122, 0.13, 0.134, 0.137]}
    if accuracy is not None:
        history["val_accuracy"] = accuracy
    write_json_atomic(run / "history.json", history)
    assert [f.code for f in diagnose(run)] == expected
