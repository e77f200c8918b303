"""Issue 16: the run folder as a public format, written by `zoo train` and by RunRecorder in a user's own fit.

docs/run-format.md is checked against the folders zoo writes; a plain Keras model (not from zoo), trained by
tests/own_fit.py in its own process, is recorded on each installed backend, one of them killed mid-run, and
zoo's tools read the folders.
"""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.backends import installed_backends
from zoo.cli import main
from zoo.records import ACTIVATION_COLUMNS, DETAIL_COLUMNS, GRADIENT_COLUMNS
from zoo.runs import CHECKPOINT_SIDECAR, RUN_FILES, read_run

ROOT = Path(__file__).parents[1]
OWN_FIT = Path(__file__).with_name("own_fit.py")
DOC = ROOT / "docs" / "run-format.md"
LAYERS = ["hidden", "second", "out"]
STEPS_PER_EPOCH = 8  # 240 training examples (320 less a quarter for validation), batch 32


def own_fit(run: Path, backend: str, epochs: int = 2, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.Popen([sys.executable, str(OWN_FIT), str(run), str(epochs), str(pause)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> None:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0 and "done" in out, err[-2000:]


def documented() -> set[str]:
    return set(re.findall(r"`([^`]+)`", DOC.read_text()))


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_no_module_but_zoo_runs_spells_a_run_file_name():
    names = "|".join(re.escape(n) for n in (*RUN_FILES, CHECKPOINT_SIDECAR))
    spelled = re.compile(rf"""["']({names})["']""")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted([*ROOT.joinpath("zoo").rglob("*.py"), *ROOT.joinpath("gui").rglob("*.py")])
             if path != ROOT / "zoo" / "runs.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if spelled.search(line)]
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def own_runs(tmp_path_factory):
    """runs/<backend> for each installed backend (2 epochs each), and runs/killed: JAX, killed -9 mid-run."""
    runs = tmp_path_factory.mktemp("runs")
    killed = own_fit(runs / "killed", "jax", epochs=40, pause=0.4)
    history = runs / "killed" / "history.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (history.exists() and len(json.loads(history.read_text())["epoch"]) >= 2):
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    for backend in installed_backends():
        finished(own_fit(runs / backend, backend))
    return runs


def test_the_format_document_names_every_file_key_and_column_zoo_writes(own_runs, small_data, tmp_path):
    zoo.train("mlp", epochs=1, data=small_data("digits", 128), out=tmp_path / "trained", progress=False)
    words = documented()
    for run in (tmp_path / "trained", own_runs / "tensorflow"):
        names = {p.name + ("/" if p.is_dir() else "") for p in run.iterdir()}
        assert names - words == set(), f"files of {run.name} not in docs/run-format.md"
        assert set(json.loads((run / "status.json").read_text())) - words == set()
        assert {"epoch", "seconds"} <= set(json.loads((run / "history.json").read_text())) and "val_" in words
        for file, columns in (("gradients.csv", GRADIENT_COLUMNS), ("gradient_details.csv", DETAIL_COLUMNS),
                              ("activations.csv", ACTIVATION_COLUMNS)):
            header = (run / file).read_text().splitlines()[0].split(",")
            assert header == list(columns) and set(header) - words == set(), file
        with np.load(run / "histograms.npz") as archive:
            assert set(archive.files) - words == set()
        assert set(json.loads((run / "checkpoint" / "checkpoint.json").read_text())) - words == set()


@pytest.mark.parametrize("backend", installed_backends())
def test_run_recorder_writes_a_whole_run_of_a_plain_keras_model(own_runs, backend):
    from zoo._backend import keras

    run = own_runs / backend
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "completed" and status["source"] == "RunRecorder" and status["backend"] == backend
    assert status["model"] == "my_net" and status["dataset"] == "toy sums" and status["epochs_completed"] == 2
    assert status["output_layers"] == ["out"]  # whatever the user named it: not a hidden layer
    assert not (run / "spec.toml").exists() and not (run / ".lock.held").exists()
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2] and {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history)
    gradients = rows(run / "gradients.csv")
    assert [int(r["step"]) for r in gradients] == [s for s in range(1, 2 * STEPS_PER_EPOCH + 1) for _ in LAYERS]
    assert [r["layer"] for r in gradients[:3]] == LAYERS and all(float(r["grad_norm"]) > 0 for r in gradients)
    assert {r["layer"] for r in rows(run / "activations.csv")} == {"hidden", "second"}  # the hidden layers
    checkpoint = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    assert checkpoint["epoch"] == 2 and checkpoint["step"] == 2 * STEPS_PER_EPOCH
    model = keras.models.load_model(run / "model.keras")  # a plain Keras file: no zoo object in it
    assert model.name == "my_net" and type(model.optimizer).__name__ == "Adam"


def test_a_run_recorder_run_killed_mid_run_keeps_its_whole_epochs_and_reads_as_interrupted(own_runs):
    run = own_runs / "killed"
    info = read_run(run)
    assert info.state == "interrupted" and info.source == "RunRecorder"
    history = json.loads((run / "history.json").read_text())
    checkpoint = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    epochs = len(history["epoch"])  # killed at an epoch's end: history, status, checkpoint are written in turn
    assert history["epoch"] == list(range(1, epochs + 1)) and epochs >= 2
    assert epochs - 1 <= info.epochs_completed <= epochs and epochs - 1 <= checkpoint["epoch"] <= info.epochs_completed
    steps = [int(r["step"]) for r in rows(run / "gradients.csv")]
    assert steps == sorted(steps) and steps[-1] >= checkpoint["step"]
    assert not (run / "model.keras").exists()


def test_zoo_runs_compare_and_resume_on_run_recorder_folders(own_runs, capsys, tmp_path):
    assert main(["runs", str(own_runs)]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    listed = {line.split()[0]: line.split()[1] for line in lines}
    assert listed == {**{b: "completed" for b in installed_backends()}, "killed": "interrupted"}
    assert all("no test set" in line for line in lines)  # zoo does not know the user's test data
    assert main(["export", str(own_runs / "tensorflow"), "--format", "keras", "--out", str(tmp_path / "m.keras")]) == 0
    assert "largest output difference 0 on 64 random inputs" in capsys.readouterr().out
    assert main(["compare", str(own_runs / "tensorflow"), str(own_runs / "killed"), "--out",
                 str(tmp_path / "compare.png")]) == 0
    table = capsys.readouterr().out
    assert "my_net (tensorflow)" in table and "my_net (killed)" in table and (tmp_path / "compare.png").stat().st_size
    step_1 = {r["layer"]: float(r["grad_norm"]) for r in rows(own_runs / "tensorflow" / "gradients.csv")[:3]}
    first, last = map(float, next(line for line in table.splitlines() if "(tensorflow)" in line and "start @1" in
                                  line).split()[-3:-1])
    assert np.isclose(first, step_1["hidden"], rtol=1e-3) and np.isclose(last, step_1["second"], rtol=1e-3)
    assert main(["runs", str(own_runs / "killed")]) == 0  # a run given where a folder of runs is expected
    assert [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]] == [["killed", "interrupted"]]
    assert main(["runs", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder of runs" in capsys.readouterr().err
    assert main(["resume", str(own_runs / "killed")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "recorded by RunRecorder from your own script" in error
    assert read_run(own_runs / "killed").state == "interrupted"  # refused before anything was touched


def test_the_apps_runs_and_gradients_views_show_every_run_recorder_folder(own_runs, qtbot, monkeypatch):
    """The folders of each backend and the killed one, in the app's views, as drawn."""
    pytest.importorskip("pytestqt")
    from gui.runs_model import RunsModel
    from gui.views.gradients_view import GradientsView
    from gui.views.runs_view import RunsView
    from picture import assert_all_visible, curves, drawn_points

    monkeypatch.setenv("ZOO_RUNS_DIR", str(own_runs))
    view = RunsView(model=RunsModel())
    qtbot.addWidget(view)
    assert {r.path.name: r.state for r in view.runs} == {**{b: "completed" for b in installed_backends()},
                                                          "killed": "interrupted"}
    folders = [own_runs / b for b in installed_backends()] + [own_runs / "killed"]
    gradients = GradientsView()
    qtbot.addWidget(gradients)
    gradients.resize(1000, 650)
    gradients.show()
    gradients.show_runs(folders)
    assert [r.name for r in gradients.runs] == [f"my_net ({f.name})" for f in folders]  # one model: by folder
    for folder, (plot,) in zip(folders, gradients.plots["norms"]):
        [second] = [c for c in curves(plot) if c.name() == "second"]
        recorded = [int(r["step"]) for r in rows(folder / "gradients.csv") if r["layer"] == "second"]
        assert list(drawn_points(second)[0]) == recorded  # every recorded step drawn
        assert_all_visible(plot)


def test_run_recorder_refuses_a_folder_that_holds_a_run(own_runs):
    from zoo._backend import keras
    from zoo.callbacks import RunRecorder

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(zoo.RunError, match="is not empty; give RunRecorder a new folder"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0, callbacks=[RunRecorder(own_runs / "tensorflow")])
    with pytest.raises(ValueError, match="record_every must be a non-negative integer"):
        RunRecorder(own_runs / "x", record_every=-1)


def _small_model():
    from zoo._backend import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)],
                             name="tiny")
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


class _Boom:
    """A callback that raises at the end of epoch 2, as a bug in a user's own callback would."""

    @staticmethod
    def make():
        from zoo._backend import keras

        def boom(epoch, logs):
            if epoch == 1:
                raise RuntimeError("my callback broke\nsecond line")

        return keras.callbacks.LambdaCallback(on_epoch_end=boom)


def test_a_fit_that_raises_ends_the_run_as_failed_when_the_recorder_is_a_context_manager(tmp_path):
    from zoo.callbacks import RunRecorder

    x, y = np.ones((32, 3), np.float32), np.ones((32, 1), np.float32)
    model = _small_model()
    with pytest.raises(RuntimeError, match="my callback broke"):
        with RunRecorder(tmp_path / "run", probe=x[:8]) as recorder:
            model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[recorder, _Boom.make()])
    info = read_run(tmp_path / "run")  # the lock is free: not "running", and not "interrupted" either
    assert info.state == "failed" and info.message == "RuntimeError: my callback broke"
    assert "my callback broke" in (tmp_path / "run" / "error.log").read_text()
    assert type(model.optimizer).__name__ == "Adam"  # the model has its own optimiser back
    assert len(rows(tmp_path / "run" / "gradients.csv")) == 2 * 4 * 2  # both epochs' steps, 2 layers, flushed
    with pytest.raises(ValueError, match=r"probe has shape \(8, 5\); the model takes inputs of shape \(batch, 3\)"):
        model.fit(x, y, verbose=0, callbacks=[RunRecorder(tmp_path / "other", probe=np.ones((8, 5)))])
    assert not (tmp_path / "other").exists()  # refused before the folder was made


def test_a_recorder_whose_fit_raised_ends_that_run_and_refuses_to_record_over_it(tmp_path):
    from zoo.callbacks import RunRecorder

    x, y = np.ones((32, 3), np.float32), np.ones((32, 1), np.float32)
    model, recorder = _small_model(), RunRecorder(tmp_path / "run")
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[recorder, _Boom.make()])
    history = (tmp_path / "run" / "history.json").read_text()
    with pytest.raises(zoo.RunError, match="is not empty"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[recorder])
    assert read_run(tmp_path / "run").state == "failed" and (tmp_path / "run" / "history.json").read_text() == history


def _hand_made_run(folder: Path, status: dict, history: dict | None = None) -> Path:
    """A run folder written by hand: `status`, a history and a two-layer gradients.csv."""
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps(status))
    (folder / "history.json").write_text(json.dumps(history or {"epoch": [1], "seconds": [1.0], "loss": [0.5]}))
    (folder / "gradients.csv").write_text(",".join(GRADIENT_COLUMNS) + "\n1,1,hidden,1,0.5,nan\n1,1,output,2,0.25,nan\n")
    return folder


def test_history_series_that_are_not_numbers_per_epoch_are_left_out_by_every_reader(tmp_path, capsys):
    from zoo.records import RunRecords
    from zoo.runs import read_history, well_formed_history

    bad = {"epoch": [1, 2], "loss": "abc", "accuracy": [None, "x"], "val_loss": [0.5], "seconds": [1, 2.5],
           "lr": [True, 10**400], "val_accuracy": [[1], {"a": 1}]}
    run = _hand_made_run(tmp_path / "run", {"state": "completed", "model": "mine"}, bad)
    expected = {"epoch": [1, 2], "accuracy": [None, None], "seconds": [1.0, 2.5], "lr": [None, None],
                "val_accuracy": [None, None]}
    assert read_history(run) == expected and RunRecords(run).history == expected  # `zoo compare` and the app alike
    assert main(["compare", str(run), "--out", str(tmp_path / "f.png")]) == 0  # a traceback in plots.py before
    assert (tmp_path / "f.png").stat().st_size > 0
    for epochs in ("1", [1, "2"], [1.5], [-1], [True], None):  # no epochs to draw against: nothing is
        assert well_formed_history({"epoch": epochs, "loss": [0.5]}) == {}
    assert well_formed_history({"loss": [0.5]}) == {}
    assert np.isnan(well_formed_history({"epoch": [1], "loss": [float("nan")]})["loss"][0])  # JSON's NaN: a float
    (run / "history.json").write_text("[1, 2]")
    assert read_history(run) is None  # the app shows no curves
    with pytest.raises(zoo.RunError, match="history.json is not a JSON object"):
        RunRecords(run)  # zoo compare says what is wrong
    (run / "history.json").unlink()
    assert read_history(run) is None and RunRecords(run).history == {}
    assert "history.json" in documented() and "read_history" in DOC.read_text()


def test_a_run_written_by_a_newer_zoo_is_listed_with_a_note_and_not_resumed(tmp_path, capsys):
    from zoo.runs import STATUS_FORMAT

    note = f"written by a newer zoo (status format 99); this zoo reads format {STATUS_FORMAT}"
    run = _hand_made_run(tmp_path / "runs" / "future", {"format": 99, "state": "stopped", "model": "mine",
                                                         "epochs": 4, "epochs_completed": 2, "flux": {"new": 1}})
    (run / "checkpoint").mkdir()
    (run / "checkpoint" / "checkpoint.json").write_text(json.dumps({"epoch": 2, "step": 8, "file": "epoch-0002.keras"}))
    (run / "checkpoint" / "epoch-0002.keras").write_bytes(b"not read")
    (run / "spec.toml").write_text('name = "mine"\n')
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    info = read_run(run)
    assert (info.state, info.format, info.problem, info.epochs_completed) == ("stopped", 99, note, 2)
    assert main(["runs", str(tmp_path / "runs")]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.split()[:2] == ["future", "stopped"] and line.endswith(note)  # the NOTE column
    assert main(["resume", str(run)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.endswith(f"Cannot resume {run}: it was {note}; resume it with that zoo")
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # no .lock either

    (run / "status.json").write_text(json.dumps({"format": 99, "state": "paused", "model": "mine"}))  # a new state
    info = read_run(run)
    assert info.state == "broken" and info.problem == f"{run / 'status.json'}: {note}"
    assert main(["resume", str(run)]) == 2 and note in capsys.readouterr().err


def _subclassed_model():
    from zoo._backend import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden, self.out = keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    model = Net()
    model.compile("sgd", "mse")
    return model


def test_run_recorder_says_when_it_cannot_record_activations_and_refuses_a_probe_the_model_cannot_take(tmp_path):
    import warnings

    from zoo.callbacks import RunRecorder

    x, y = np.ones((16, 8), np.float32), np.ones((16, 1), np.float32)
    with pytest.raises(ValueError, match=r"^probe has shape \(4, 5\); the model takes inputs of shape \(batch, 8\)$"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (it warns too: the probe would not be used)
        _subclassed_model().fit(x, y, epochs=1, verbose=0, callbacks=[RunRecorder(tmp_path / "wrong", probe=np.zeros((4, 5)))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _subclassed_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[RunRecorder(tmp_path / "sub", probe=x[:4])])
    said = [str(w.message) for w in caught if "RunRecorder" in str(w.message)]
    assert len(said) == 1 and "net is a subclassed model" in said[0] and "activations are not recorded" in said[0]
    assert (tmp_path / "sub" / "activations.csv").read_text() == ",".join(ACTIVATION_COLUMNS) + "\n"
    assert read_run(tmp_path / "sub").state == "completed"
    with warnings.catch_warnings(record=True) as caught:  # a Functional model: recorded, nothing said
        warnings.simplefilter("always")
        model = _small_model()
        model.fit(x[:, :3], y, epochs=1, batch_size=8, verbose=0, callbacks=[RunRecorder(tmp_path / "func", probe=x[:4, :3])])
    assert not [w for w in caught if "RunRecorder" in str(w.message)]
    assert {r["layer"] for r in rows(tmp_path / "func" / "activations.csv")} == {model.layers[0].name}
    assert "subclassed model has none to tap" in DOC.read_text()


def test_run_recorder_takes_any_integer_and_says_what_a_run_dir_is(tmp_path):
    from zoo.callbacks import RunRecorder

    for wrong in (None, 3, ["runs"]):
        with pytest.raises(TypeError, match=r"^run_dir must be a folder path \(a str or a Path\), received "):
            RunRecorder(wrong)
    for wrong in (True, np.int64(-1), 1.0, "2"):
        with pytest.raises(ValueError, match="record_every must be a non-negative integer"):
            RunRecorder(tmp_path / "x", record_every=wrong)
    recorder = RunRecorder(tmp_path / "run", record_every=np.int64(2))
    assert recorder.record_every == 2 and type(recorder.record_every) is int
    model = _small_model()
    model.fit(np.ones((32, 3), np.float32), np.ones((32, 1), np.float32), epochs=1, batch_size=8, verbose=0,
              callbacks=[recorder])
    assert sorted({int(r["step"]) for r in rows(tmp_path / "run" / "gradients.csv")}) == [2, 4]


def test_the_format_document_says_what_a_kill_leaves_and_that_its_leftovers_may_be_deleted(tmp_path):
    """What may be ahead of what after a kill, and which files are the kill's leftovers: those `remove_leftovers`
    (what `zoo resume` runs) deletes, and nothing else."""
    from zoo.runs import remove_leftovers

    text = DOC.read_text()
    section = text[text.index("## After a kill"):]
    assert "`history.json` at most one epoch ahead of `status.json`'s `epochs_completed`" in section
    assert "at most one\n  epoch ahead of `checkpoint.json`'s `epoch`" in section and "safe to delete" in section
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    leftovers = [".history.json.x1y2.tmp", "model.partial.keras", "histograms.partial.npz",
                 "checkpoint/partial-epoch-0002.keras", "checkpoint/.checkpoint.json.abc.tmp"]
    kept = ["status.json", "history.json", "checkpoint/epoch-0001.keras", "checkpoint/checkpoint.json", "model.keras"]
    for name in leftovers + kept:
        (run / name).write_text("x")
    for name in ("`.NAME.*.tmp`", "`model.partial.keras`", "`*.partial.npz`", "`checkpoint/partial-epoch-NNNN.keras`",
                 "`checkpoint/.*.tmp`"):
        assert name in section
    remove_leftovers(run)
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()) == sorted(kept)
