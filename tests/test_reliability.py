"""Runs that survive kills and stops, resume without duplicates or gaps, and `zoo runs` with a broken run."""
import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.cli import main
from zoo.errors import RunError
from zoo.runs import read_run
from zoo.training import resume

from conftest import dead_pid

EPOCHS = 3


def _readable(run: Path) -> None:
    """Every file a reader may open at any moment is whole: JSON parses, every CSV row is complete."""
    for name in ("status.json", "history.json", "checkpoint/checkpoint.json"):
        if (run / name).exists():
            json.loads((run / name).read_text())
    for name, columns in (("gradients.csv", 6), ("activations.csv", 9), ("gradient_details.csv", 8)):
        if (run / name).exists():
            text = (run / name).read_text()
            assert text.endswith("\n")
            assert all(len(row) == columns for row in csv.reader(text.splitlines()))


def _train_until(run: Path, epoch: int, batch: int, sig=signal.SIGKILL) -> subprocess.Popen:
    """Start `zoo train mlp` and send `sig` once it reaches (epoch, batch); check the files all along."""
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", "mlp", "--epochs", str(EPOCHS), "--batch-size", "8",
                                "--set", "training.augment=0", "--json", "--out", str(run)], stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        event = json.loads(line)
        _readable(run)
        if event["event"] == "batch" and (event["epoch"], event["batch"]) >= (epoch, batch):
            os.kill(process.pid, sig)
            break
    process.stdout.read()
    process.wait(timeout=300)
    return process


def _steps(run: Path) -> list[int]:
    with open(run / "gradients.csv", newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f) if r["layer"] == "output"]


def test_a_killed_training_is_interrupted_keeps_its_epochs_and_resumes_without_duplicates_or_gaps(tmp_path):
    run = tmp_path / "run"
    _train_until(run, epoch=2, batch=60)
    info = read_run(run)
    assert info.state == "interrupted" and info.epochs_completed == 1
    history = json.loads((run / "history.json").read_text())
    checkpoint = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    assert history["epoch"] == [1] and checkpoint["epoch"] == 1 and (run / "checkpoint" / checkpoint["file"]).is_file()
    steps_per_epoch = checkpoint["step"]
    assert steps_per_epoch == 158  # ceil(1257 digits / 8)
    killed_steps = _steps(run)
    assert killed_steps[:steps_per_epoch] == list(range(1, steps_per_epoch + 1))  # the records up to the kill are kept

    result = resume(run, progress=False)
    assert result.state == "completed"
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3] and all(len(v) == 3 for v in history.values())
    assert history["seconds"] == sorted(history["seconds"])
    assert _steps(run) == list(range(1, EPOCHS * steps_per_epoch + 1))  # no duplicates, no gaps
    with open(run / "activations.csv", newline="") as f:
        marks = sorted({(int(r["step"]), int(r["epoch"])) for r in csv.DictReader(f)})
    assert marks == [(e * steps_per_epoch, e) for e in range(EPOCHS + 1)]
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "completed" and status["resumed"][0]["from_epoch"] == 1 and status["epochs_completed"] == 3
    _readable(run)


def test_ctrl_c_stops_after_the_step_with_the_model_saved_and_the_run_resumes(tmp_path, capsys):
    run = tmp_path / "run"
    process = _train_until(run, epoch=2, batch=20, sig=signal.SIGINT)
    assert process.returncode == 130
    info = read_run(run)
    assert info.state == "stopped" and info.finished_ok and "model was saved" in info.message
    assert main(["resume", str(run)]) == 0
    assert read_run(run).state == "completed"
    with pytest.raises(RunError, match="it has completed"):
        resume(run, progress=False)


def test_a_stop_mid_epoch_keeps_whole_epochs_and_resume_redoes_the_cut_one(tmp_path, small_data):
    from zoo._backend import keras

    stop = threading.Event()

    class StopInEpochTwo(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 40:  # 25 steps an epoch: step 15 of epoch 2
                stop.set()

    data, run = small_data("digits", 200), tmp_path / "run"
    stopped = zoo.train("mlp", epochs=3, batch_size=8, data=data, out=run, stop=stop, callbacks=[StopInEpochTwo()],
                        progress=False, overrides={"training.augment": 0})
    assert stopped.state == "stopped"
    status, history = json.loads((run / "status.json").read_text()), json.loads((run / "history.json").read_text())
    checkpoint = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    assert status["epochs_completed"] == 1 and history["epoch"] == [1] and checkpoint == {**checkpoint, "epoch": 1,
                                                                                             "step": 25}
    result = resume(run, progress=False, data=data)
    assert result.state == "completed"
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3] and all(len(v) == 3 for v in history.values())
    assert _steps(run) == list(range(1, 3 * 25 + 1))  # epoch 2 redone whole: no gap, no duplicate, no cut epoch
    assert json.loads((run / "status.json").read_text())["epochs_completed"] == 3


def test_batch_hooks_that_finish_out_of_order_still_make_a_whole_epoch(tmp_path):
    """Keras runs async-safe batch hooks on a thread pool (JAX, PyTorch): the last to finish may not be the last step."""
    import io

    from zoo.callbacks import EpochCheckpoint, JsonLinesProgress, ProgressPrinter, RunLogger

    status, stream, printed = {"state": "running"}, io.StringIO(), io.StringIO()
    callbacks = [RunLogger(tmp_path, status), EpochCheckpoint(tmp_path / "checkpoint"), JsonLinesProgress(stream=stream),
                 ProgressPrinter(printed)]
    model = zoo.build("xor-mlp")
    for callback in callbacks:
        callback.set_model(model)
        callback.set_params({"epochs": 1, "steps": 4})
        callback.on_train_begin()
        callback.on_epoch_begin(0)
        for batch in (0, 1, 3, 2):  # the hook of step 4 finished before the hook of step 3
            callback.on_train_batch_end(batch, {"loss": 0.5})
        callback.on_epoch_end(0, {"loss": 0.5})
    assert status["epochs_completed"] == 1 and json.loads((tmp_path / "history.json").read_text())["epoch"] == [1]
    assert json.loads((tmp_path / "checkpoint" / "checkpoint.json").read_text())["epoch"] == 1
    assert '"event": "epoch"' in stream.getvalue() and "stopped" not in printed.getvalue()


def test_resume_refuses_running_and_checkpointless_runs(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    (live / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid(), "model": "mlp"}))
    with zoo.runs.RunLock(live):  # its training holds the run's lock
        with pytest.raises(RunError, match=f"already being trained by pid {os.getpid()}"):
            resume(live)
    early = tmp_path / "early"
    early.mkdir()
    (early / "status.json").write_text(json.dumps({"state": "stopped", "model": "mlp"}))
    with pytest.raises(RunError, match="no checkpoint"):
        resume(early)
    assert main(["resume", str(tmp_path / "nowhere")]) == 2


def test_zoo_runs_lists_every_run_and_a_broken_one_says_what_is_wrong(tmp_path, small_data, capsys):
    runs = zoo.runs.runs_dir()
    good = zoo.train("mlp", epochs=1, data=small_data("digits", 128), out=runs / "good", progress=False, record_every=0)
    (runs / "broken").mkdir()
    (runs / "broken" / "status.json").write_text('{"state": "comp')
    (runs / "empty").mkdir()
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(rows) == {"good", "broken", "empty"}
    assert "completed" in rows["good"] and f"{good.test['accuracy']:.2%}" in rows["good"]
    assert "broken" in rows["broken"] and "unreadable" in rows["broken"] and "missing" in rows["empty"]


def test_one_bad_field_in_one_status_leaves_every_other_run_listed(tmp_path, capsys):
    runs = zoo.runs.runs_dir()
    cases = {"good": {"state": "completed", "model": "mlp", "test": {"accuracy": 0.9}},
             "abc": {"state": "completed", "model": "mlp", "epochs_completed": "abc"},
             "list": [1, 2], "weird": {"state": "exploded"}, "tests": {"state": "completed", "test": [0.5]}}
    for name, status in cases.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "status.json").write_text(json.dumps(status))
    assert main(["runs"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == set(cases) and "completed" in rows["good"] and "90.00%" in rows["good"]
    assert "`epochs_completed` is 'abc'" in rows["abc"] and "broken" in rows["abc"]
    assert "not a JSON object" in rows["list"] and "`state` is 'exploded'" in rows["weird"] and "`test`" in rows["tests"]


def test_a_reused_pid_does_not_keep_a_dead_run_running(tmp_path):
    from zoo.runs import process_start_time

    run = tmp_path / "run"
    run.mkdir()
    me = os.getpid()
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": me, "pid_started": process_start_time(me)}))
    assert read_run(run).state == "running"  # its own process
    if process_start_time(me) is None:
        pytest.skip("no process start times here (/proc)")
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": me, "pid_started": process_start_time(me) - 1}))
    assert read_run(run).state == "interrupted"  # the pid lives, but it is another process now


def test_each_epoch_has_its_own_order_a_function_of_seed_and_epoch():
    from zoo.batches import EpochBatches, epoch_order

    x = np.arange(40, dtype=np.float32)[:, None]
    batches = EpochBatches(x, x, 8, seed=3)
    orders = []
    for epoch in range(3):
        batches.set_epoch(epoch)
        orders.append(np.concatenate([batches[i][0][:, 0] for i in range(len(batches))]).astype(int).tolist())
    assert len({tuple(o) for o in orders}) == 3 and all(sorted(o) == list(range(40)) for o in orders)
    assert orders[2] == epoch_order(40, 3, 2).tolist()  # a resumed run at epoch 2 draws the same
    assert epoch_order(40, 2**32 - 1, 2**31).tolist() != epoch_order(40, 0, 0).tolist()  # no overflow at the edges


def test_a_resumed_run_with_dropout_repeats_the_uninterrupted_run(tmp_path, small_data):
    """mlp has dropout: the batch order and the dropout masks of every epoch are set from (seed, epoch)."""
    from zoo._backend import keras

    data, options = small_data("digits", 200), dict(epochs=3, batch_size=8, overrides={"training.augment": 0},
                                                    progress=False, record_every=0)
    whole = zoo.train("mlp", data=data, out=tmp_path / "whole", **options).history
    stop = threading.Event()

    class StopInEpochTwo(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 33:
                stop.set()

    zoo.train("mlp", data=data, out=tmp_path / "cut", stop=stop, callbacks=[StopInEpochTwo()], **options)
    resumed = resume(tmp_path / "cut", progress=False, data=data, record_every=0).history
    assert resumed["epoch"] == whole["epoch"] == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(resumed[key], whole[key], rtol=1e-5, err_msg=key)


def _stopped_after_one_epoch(tmp_path, data, **options):
    from zoo._backend import keras

    stop = threading.Event()

    class StopInEpochTwo(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 30:
                stop.set()

    result = zoo.train("mlp", epochs=2, batch_size=8, data=data, out=tmp_path / "run", stop=stop, progress=False,
                       callbacks=[StopInEpochTwo()], record_every=0, overrides={"training.augment": 0}, **options)
    assert result.state == "stopped"
    return tmp_path / "run"


def test_an_error_before_resuming_leaves_the_run_as_it_was_and_failed_runs_resume(tmp_path, small_data, monkeypatch,
                                                                                capsys):
    data = small_data("digits", 200)
    run = _stopped_after_one_epoch(tmp_path, data, dataset="mnist")  # its spec says MNIST
    before = (run / "status.json").read_text()
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "no-mnist-here"))
    assert main(["resume", str(run)]) == 2  # MNIST is missing: one line, and nothing of the run changes
    assert "MNIST not found" in capsys.readouterr().err
    assert (run / "status.json").read_text() == before and read_run(run).state == "stopped"
    sidecar = run / "checkpoint" / "checkpoint.json"
    good = sidecar.read_text()
    for bad, words in (({"epoch": "1", "step": 25, "file": "epoch-0001.keras"}, "`epoch` is '1'"),
                       ({"epoch": 1, "step": 25, "file": "../../status.json"}, "`file`"), ([1], "not a JSON object")):
        sidecar.write_text(json.dumps(bad))
        with pytest.raises(RunError, match=words):
            resume(run, progress=False, data=data)
        assert (run / "status.json").read_text() == before
    sidecar.write_text(good)
    status = json.loads(before)
    (run / "status.json").write_text(json.dumps({**status, "state": "failed", "message": "disk full"}))
    result = resume(run, progress=False, data=data)  # a failed run with a checkpoint is not dead
    assert result.state == "completed" and read_run(run).epochs_completed == 2


def test_resume_finishes_a_run_killed_after_its_last_checkpoint(tmp_path, small_data):
    data = small_data("digits", 200)
    run = tmp_path / "run"
    zoo.train("mlp", epochs=1, batch_size=8, data=data, out=run, progress=False, record_every=0,
              overrides={"training.augment": 0})
    status = json.loads((run / "status.json").read_text())  # as a kill during the final save leaves it:
    (run / "status.json").write_text(json.dumps({**status, "state": "running", "pid": dead_pid(), "test": {}}))
    (run / "model.keras").replace(run / "model.partial.keras")
    assert read_run(run).state == "interrupted"
    result = resume(run, progress=False, data=data)
    assert result.state == "completed" and result.test["accuracy"] > 0.5
    assert (run / "model.keras").is_file() and not (run / "model.partial.keras").exists()
    assert json.loads((run / "history.json").read_text())["epoch"] == [1]


def test_a_full_disk_stops_training_in_one_line_and_the_run_resumes_once_there_is_room(tmp_path, small_data,
                                                                                        monkeypatch):
    import errno

    from zoo.callbacks import epoch_checkpoint

    data = small_data("digits", 200)
    full = OSError(errno.ENOSPC, "No space left on device")
    saved = epoch_checkpoint.replace_durably
    calls = []

    def fill_up(written, path):
        calls.append(path.name)
        if len(calls) == 2:  # the second epoch's checkpoint does not fit
            raise full
        saved(written, path)

    monkeypatch.setattr(epoch_checkpoint, "replace_durably", fill_up)
    with pytest.raises(RunError, match=r"cannot write to .*No space left on device.*resumed from its last epoch"):
        zoo.train("mlp", epochs=3, batch_size=8, data=data, out=tmp_path / "run", progress=False, record_every=0,
                  overrides={"training.augment": 0})
    run = tmp_path / "run"
    assert read_run(run).state == "failed" and json.loads((run / "checkpoint" / "checkpoint.json").read_text())["epoch"] == 1
    assert not list(run.rglob("partial-*")) and not list(run.rglob(".*.tmp"))
    monkeypatch.setattr(epoch_checkpoint, "replace_durably", saved)  # room again
    assert resume(run, progress=False, data=data, record_every=0).state == "completed"  # epoch 2 redone from 1
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2, 3]

    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(full))  # nothing can be written at all
    with pytest.raises(RunError, match="Cannot write the run folder") as e:
        zoo.train("binary", epochs=1, out=tmp_path / "nothing", progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "nothing").exists()


def test_resume_in_a_folder_that_cannot_be_written_says_so_and_changes_nothing(tmp_path, small_data, monkeypatch):
    data = small_data("digits", 200)
    run = _stopped_after_one_epoch(tmp_path, data)
    before = (run / "status.json").read_text()
    monkeypatch.setattr("zoo.training.write_status",
                        lambda *a: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(RunError, match="cannot write to it") as e:
        resume(run, progress=False, data=data)
    assert "\n" not in str(e.value) and (run / "status.json").read_text() == before


# Record files written to hurt the readers -------------------------------------------------------------------------
GRADIENT_HEADER = "step,epoch,layer,depth,grad_norm,grad_norm_clipped\n"


def _recorded_run(folder: Path, gradients: str, history: dict | None = None) -> Path:
    """A run folder as `zoo compare` reads it: a status, a history and `gradients` (the text of gradients.csv)."""
    folder.mkdir()
    (folder / "status.json").write_text(json.dumps({"format": 1, "state": "completed", "model": "mine"}))
    (folder / "history.json").write_text(json.dumps(history or {"epoch": [1], "seconds": [1.0], "loss": [0.5]}))
    (folder / "gradients.csv").write_text(gradients)
    return folder


def _one_line_refusal(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _peak_bytes(read) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        read()
    except RunError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_small_record_file_naming_a_new_layer_on_every_row_is_refused_without_a_huge_table(tmp_path, capsys):
    """12,000 rows of 290 KB, each a new step and layer, asked for a 12,000 x 12,000 table (3.5 GB) before."""
    from zoo.records import MAX_LAYERS, GradientTail, RunRecords, read_activations

    rows = "".join(f"{i},1,layer_{i},{i},0.5,nan\n" for i in range(1, 12_001))
    run = _recorded_run(tmp_path / "wide", GRADIENT_HEADER + rows)
    with pytest.raises(RunError, match=f"names more than {MAX_LAYERS:,} layers; not a run's record"):
        RunRecords(run)
    assert f"names more than {MAX_LAYERS:,} layers" in _one_line_refusal(capsys, "compare", run)
    assert _peak_bytes(lambda: RunRecords(run)) < 30 * 2**20
    tail = GradientTail(run / "gradients.csv")
    steps, layers, norms, _ = tail.read()
    assert (len(steps), layers, norms.shape) == (0, [], (0, 0)) and "names more than 10,000 layers" in tail.problem
    (run / "activations.csv").write_text("step,epoch,layer,depth,activation,act_mean,act_std,saturated,dead\n" + "".join(
        f"{i},1,layer_{i},{i},relu,0.5,0.1,nan,0\n" for i in range(1, 12_001)))
    with pytest.raises(RunError, match="names more than 10,000 layers"):
        read_activations(run / "activations.csv")

    # 5,000 of them: under the layer limit, but 25 million cells for 5,000 rows
    sparse = _recorded_run(tmp_path / "sparse", GRADIENT_HEADER + "".join(
        f"{i},1,layer_{i},{i},0.5,nan\n" for i in range(1, 5_001)))
    error = _one_line_refusal(capsys, "compare", sparse)
    assert "is not a run's record: its 5,000 rows name 5,000 layers at 5,000 steps, a table of 25,000,000 cells" in error
    assert _peak_bytes(lambda: RunRecords(sparse)) < 30 * 2**20
    tail = GradientTail(sparse / "gradients.csv")
    assert len(tail.read()[0]) == 0 and "a table of 25,000,000 cells" in tail.problem


def test_a_step_too_large_for_any_run_is_refused_in_one_line_naming_the_file_and_line(tmp_path, capsys):
    from zoo.records import GradientTail, read_activations

    huge = "99999999999999999999999"
    run = _recorded_run(tmp_path / "run", GRADIENT_HEADER + f"1,1,hidden,1,0.5,nan\n1,1,out,2,0.25,nan\n{huge},1,out,2,0.5,nan\n")
    error = _one_line_refusal(capsys, "compare", run)
    assert f"gradients.csv, line 4: not a gradient record (`step` is '{huge}', not a whole number" in error
    tail = GradientTail(run / "gradients.csv")  # the app's view follows the file: the row is left out, and said
    steps, layers, norms, _ = tail.read()
    assert steps.tolist() == [1] and layers == ["hidden", "out"] and norms.tolist() == [[0.5, 0.25]]
    assert "gradients.csv, line 4: not a gradient record (`step` is '99999" in tail.problem
    (run / "activations.csv").write_text("step,epoch,layer,depth,activation,act_mean,act_std,saturated,dead\n"
                                          f"0,0,hidden,1,relu,0.5,0.1,,0\n{huge},1,hidden,1,relu,0.5,0.1,,0\n")
    with pytest.raises(RunError, match=r"activations.csv, line 3: not an activation record \(`step` is '9999") as e:
        read_activations(run / "activations.csv")
    assert "\n" not in str(e.value)
    (run / "input_gradients.csv").write_text(f"step,epoch,t,grad_norm\n0,0,0,1\n{huge},1,0,1\n")
    with pytest.raises(RunError, match=r"input_gradients.csv, line 3: not an input gradient record \(`step`"):
        zoo.records.read_input_gradients(run)


def test_compare_names_the_column_and_value_of_a_bad_cell_anywhere_in_the_row(tmp_path, capsys):
    run = _recorded_run(tmp_path / "run", GRADIENT_HEADER + "1,1,hidden,1,0.5,nan\n2,1,hidden,1,0.5,clipped?\n")
    error = _one_line_refusal(capsys, "compare", run)
    assert "gradients.csv, line 3: not a gradient record (`grad_norm_clipped` is 'clipped?', not a number)" in error
    (run / "gradients.csv").write_text(GRADIENT_HEADER + "1,1,hidden,1,0.5\n")
    assert "line 2: not a gradient record (5 fields, not the 6 of its header)" in _one_line_refusal(capsys, "compare", run)


def _gradient_rows(steps: int, layers: list[str], clipped: bool = False) -> str:
    rng = np.random.default_rng(0)
    return "".join(f"{s},{s // 50 + 1},{name},{d},{rng.random():.7g},{f'{rng.random():.7g}' if clipped else 'nan'}\n"
                   for s in range(1, steps + 1) for d, name in enumerate(layers, start=1))


def test_the_fast_reader_and_the_csv_modules_agree_and_a_followed_file_reads_as_a_whole_one(tmp_path):
    """Plain pieces of a record file are parsed by NumPy; a quoted field sends the file to the csv module. Both
    give the same tables, and a file followed as it grows (the app) the same as read at once."""
    from zoo.records import GradientTail, RunRecords

    plain = _gradient_rows(3000, ["hidden", "block_1/conv", "out"], clipped=True)
    quoted = plain.replace("block_1/conv", '"block,1"')  # a comma in a layer's name: written quoted, as csv does
    a = RunRecords(_recorded_run(tmp_path / "plain", GRADIENT_HEADER + plain))
    b = RunRecords(_recorded_run(tmp_path / "quoted", GRADIENT_HEADER + quoted))
    assert a.layers == ["hidden", "block_1/conv", "out"] and b.layers == ["hidden", "block,1", "out"]
    assert a.steps.tolist() == b.steps.tolist() == list(range(1, 3001))
    for stat in ("grad_norm", "grad_norm_clipped"):
        np.testing.assert_array_equal(a.grad(stat), b.grad(stat))
    first = [float(x) for x in plain.splitlines()[1].split(",")[4:]]  # step 1, block_1/conv
    assert [a.grad("grad_norm")[0, 1], a.grad("grad_norm_clipped")[0, 1]] == first

    growing = tmp_path / "growing.csv"
    tail = GradientTail(growing)
    lines = (GRADIENT_HEADER + plain).splitlines(keepends=True)
    for cut in (0, 1, 2, 500, 4000, len(lines)):  # half a line too: only whole lines are read
        growing.write_text("".join(lines[:cut]) + ("3001,61,hid" if cut < len(lines) else ""))
        steps, layers, norms, clipped = tail.read()
        assert len(steps) == (max(cut - 1, 0) + 2) // 3
    assert steps.tolist() == a.steps.tolist() and layers == a.layers and tail.problem == ""
    np.testing.assert_array_equal(norms, a.grad("grad_norm"))
    np.testing.assert_array_equal(clipped, a.grad("grad_norm_clipped"))


def test_reading_a_gradient_record_takes_memory_in_proportion_to_the_file(tmp_path):
    """A DictReader row per line took 15 times the file's size; NumPy columns take 8 bytes a row and field."""
    from zoo.records import GradientTail, RunRecords

    run = _recorded_run(tmp_path / "run", GRADIENT_HEADER + _gradient_rows(100_000, ["hidden", "output"]))
    size = (run / "gradients.csv").stat().st_size
    assert _peak_bytes(lambda: RunRecords(run)) < 9 * size
    assert _peak_bytes(lambda: GradientTail(run / "gradients.csv").read()) < 9 * size
    assert RunRecords(run).grad().shape == (100_000, 2)


def test_predict_on_an_interrupted_run_says_so_and_points_to_its_checkpoint(tmp_path, small_data, capsys):
    from PIL import Image

    data = small_data("digits", 64)
    run = zoo.train("mlp", epochs=1, data=data, out=tmp_path / "run", progress=False, record_every=0,
                    overrides={"training.augment": 0}).path
    image = tmp_path / "digit.png"
    Image.fromarray((255 * (1 - data.x_test[0].reshape(28, 28))).astype(np.uint8)).save(image)
    (run / "model.keras").unlink()  # killed while saving its model: status still says running, the lock is free
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "state": "running", "finished": None}))
    assert read_run(run).state == "interrupted"
    checkpoint = run / "checkpoint" / "epoch-0001.keras"
    error = _one_line_refusal(capsys, "predict", run, image)
    assert f"Run {run} was interrupted before its model was saved; its last whole epoch's model is {checkpoint}" in error
    assert main(["predict", str(checkpoint), str(image)]) == 0  # where it points is a model zoo predict takes
    assert capsys.readouterr().out.startswith(f"{image}: ")
    (run / "checkpoint" / "checkpoint.json").unlink()
    assert "it has no checkpoint either" in _one_line_refusal(capsys, "predict", run, image)
    (run / "status.json").unlink()  # no status: not a run folder at all
    assert "is neither a run folder (no model.keras) nor a SavedModel" in _one_line_refusal(capsys, "predict", run, image)
