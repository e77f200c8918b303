"""Hostile and damaged run folders, concurrent trainings and odd endings: one line, the run as it was, no hang."""
import errno
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import zoo
from zoo.cli import _report, main
from zoo.errors import RunError, ZooError
from zoo.runs import RunLock, read_run
from zoo.training import resume

from conftest import dead_pid, fails_if_blocked


@pytest.fixture(autouse=True)
def no_hang():
    """A read that blocks (a FIFO) fails the test instead of hanging the suite."""
    with fails_if_blocked(120):
        yield


def _stopped(tmp_path, data, record_every=1, name="run"):
    """A two-epoch mlp run stopped in epoch 2: its checkpoint is of epoch 1 (25 steps), records on."""
    from zoo._backend import keras

    stop = threading.Event()

    class StopInEpochTwo(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 30:
                stop.set()

    result = zoo.train("mlp", epochs=2, batch_size=8, data=data, out=tmp_path / name, stop=stop, progress=False,
                       callbacks=[StopInEpochTwo()], record_every=record_every, overrides={"training.augment": 0})
    assert result.state == "stopped"
    return tmp_path / name


def _interrupted(run: Path) -> None:
    """Make a stopped run look like one killed mid-run (status running, its process gone)."""
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "state": "running", "pid": dead_pid()}, indent=2) + "\n")
    assert read_run(run).state == "interrupted"


def _snapshot(run: Path) -> dict:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.name != ".lock"}


def _one_line(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def stopped_once(tmp_path_factory, small_data):
    return _stopped(tmp_path_factory.mktemp("stopped"), small_data("digits", 200))


@pytest.fixture
def stopped_run(stopped_once, tmp_path, small_data):
    """A copy of one stopped run (trained once for the module)."""
    import shutil

    shutil.copytree(stopped_once, tmp_path / "run", symlinks=True)
    return tmp_path / "run", small_data("digits", 200)


# 1 -------------------------------------------------------------------------------------------------------------------
def test_resume_checks_the_checkpoint_before_keras_loads_it(stopped_run, monkeypatch, capsys):
    import keras

    run, data = stopped_run
    checkpoint = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    path = run / "checkpoint" / checkpoint["file"]

    def widen(node):
        if isinstance(node, dict):
            return {k: (700_000 if k == "units" else widen(v)) for k, v in node.items()}
        return [widen(v) for v in node] if isinstance(node, list) else node

    original = path.with_suffix(".orig")
    path.replace(original)
    with zipfile.ZipFile(original) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            content = old.read(info.filename)
            if info.filename == "config.json":
                content = json.dumps(widen(json.loads(content))).encode()
            new.writestr(info.filename, content)
    original.unlink()
    before = _snapshot(run)
    asked = []
    monkeypatch.setattr(keras.models, "load_model", lambda *a, **k: asked.append(a) or pytest.fail("Keras loaded it"))
    with pytest.raises(RunError, match="parameters") as e:
        resume(run, progress=False, data=data)
    assert "\n" not in str(e.value) and asked == []
    assert _snapshot(run) == before and read_run(run).state == "stopped"
    assert "parameters" in _one_line(capsys, "resume", run)


# 4 -------------------------------------------------------------------------------------------------------------------
def test_hostile_numbers_and_nesting_in_run_json_are_one_line_and_zoo_runs_lists_the_rest(tmp_path, capsys):
    runs = zoo.runs.runs_dir()
    texts = {"digits": '{"state": "completed", "epochs": ' + "9" * 5000 + "}",
             "nested": "[" * 200000 + "]" * 200000,
             "pid": json.dumps({"state": "running", "model": "mlp", "pid": 2**70}),
             "good": json.dumps({"state": "completed", "model": "mlp", "test": {"accuracy": 0.9}})}
    for name, text in texts.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "status.json").write_text(text)
    assert main(["runs"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == set(texts) and "90.00%" in rows["good"]
    assert "broken" in rows["digits"] and "broken" in rows["nested"] and "interrupted" in rows["pid"]
    for name in ("digits", "nested"):
        assert "unreadable" in _one_line(capsys, "resume", runs / name)
        assert "unreadable" in _one_line(capsys, "compare", runs / name)


def test_a_hostile_checkpoint_sidecar_is_one_line(stopped_run, capsys):
    run, data = stopped_run
    sidecar = run / "checkpoint" / "checkpoint.json"
    for text in ('{"epoch": ' + "1" * 5000 + ', "step": 25, "file": "epoch-0001.keras"}', "[" * 200000):
        sidecar.write_text(text)
        before = _snapshot(run)
        assert "checkpoint.json is unreadable" in _one_line(capsys, "resume", run)
        assert _snapshot(run) == before


# 5 -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["status.json", "history.json", "checkpoint/checkpoint.json", "gradients.csv"])
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_dev_zero_as_a_run_file_is_refused_without_hanging(stopped_run, name, kind, capsys):
    run, data = stopped_run
    (run / name).unlink()
    if kind == "fifo":
        os.mkfifo(run / name)
    else:
        (run / name).symlink_to("/dev/zero")
    words = "a FIFO" if kind == "fifo" else "a character device"
    assert main(["runs", str(run.parent)]) == 0
    listed = capsys.readouterr().out
    if name == "status.json":
        assert "broken" in listed and words in listed
    assert words in _one_line(capsys, "resume", run)
    if name != "checkpoint/checkpoint.json":  # compare reads the others
        assert words in _one_line(capsys, "compare", run)


def test_record_readers_refuse_what_is_not_a_regular_file(tmp_path):
    from zoo.records import GradientTail, read_activations, read_histograms, rows_up_to

    os.mkfifo(tmp_path / "fifo")
    for read in (read_activations, read_histograms, lambda p: rows_up_to(p, 10)):
        with pytest.raises(RunError, match="FIFO"):
            read(tmp_path / "fifo")
        with pytest.raises(RunError, match="character device"):
            read("/dev/zero")
    assert len(GradientTail(tmp_path / "fifo").read()[0]) == 0


# 8, 22 ---------------------------------------------------------------------------------------------------------------
def test_a_run_being_trained_is_locked_and_a_second_resume_refuses_in_one_line(stopped_run, capsys):
    run, data = stopped_run
    _interrupted(run)
    before = _snapshot(run)
    with RunLock(run):  # another process resuming it (flock: another open file, as another process has)
        assert read_run(run).state == "running"
        with pytest.raises(RunError, match=f"already being trained by pid {os.getpid()}"):
            resume(run, progress=False, data=data)
        assert f"already being trained by pid {os.getpid()}" in _one_line(capsys, "resume", run)
        assert _snapshot(run) == before
    assert read_run(run).state == "interrupted"  # the lock went with its process
    assert resume(run, progress=False, data=data).state == "completed"


def test_a_second_resume_in_another_process_refuses_while_the_first_trains(stopped_run, tmp_path):
    run, data = stopped_run
    holder = subprocess.Popen([sys.executable, "-c", "import sys, zoo.runs, time; zoo.runs.RunLock(sys.argv[1]).acquire();"
                               "print('locked', flush=True); time.sleep(60)", str(run)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=f"already being trained by pid {holder.pid}"):
            resume(run, progress=False, data=data)
    finally:
        holder.kill()
        holder.wait()
    assert read_run(run).state == "stopped"


def test_a_live_pid_without_its_start_time_does_not_keep_a_run_running(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for status in ({"state": "running", "pid": 1}, {"state": "running", "pid": 1, "pid_started": None}):
        (run / "status.json").write_text(json.dumps(status))
        assert read_run(run).state == "interrupted"
    (run / ".lock").write_text("1\n")  # a lock file nobody holds: whatever the pid, nobody trains it
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid(),
                                                 "pid_started": zoo.runs.process_start_time(os.getpid())}))
    assert read_run(run).state == "interrupted"


# 11, 24 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content", [
    ("gradients.csv", os.urandom(4000)),
    ("histograms.npz", os.urandom(4000)),
    ("activations.csv", b"id,a,b,c\n1,2,3,4\n5,6,7,8\n999,1,1,1\n"),
    ("gradients.csv", b"step,epoch,layer,depth,grad_norm,grad_norm_clipped\n1,1,x\n"),
    ("gradients.csv", b"step,epoch,layer,depth,grad_norm,grad_norm_clipped\n1,1,hidden_1,1,x,nan\n"),
    ("gradient_details.csv", b"step,epoch,layer,depth,grad_mean_abs,grad_max_abs,weight_norm,update_ratio\n"
                             b"1,one,hidden_1,1,0.1,0.2,0.3,0.4\n")])
def test_damaged_records_refuse_a_resume_and_leave_the_run_exactly_as_it_was(stopped_run, name, content, capsys):
    run, data = stopped_run
    _interrupted(run)
    (run / name).write_bytes(content)
    before = _snapshot(run)
    assert name in _one_line(capsys, "resume", run)
    assert _snapshot(run) == before and read_run(run).state == "interrupted"


# 12 -----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("history", ['{"epoch": [], "loss": []}', None, '{"epoch": [1], "seconds": [1.0], "loss": ["x"]}',
                                     '{"epoch": [2], "seconds": [1.0], "loss": [0.5]}'])
def test_a_history_without_the_checkpoints_epochs_refuses_a_resume(stopped_run, history, capsys):
    run, data = stopped_run
    if history is None:
        (run / "history.json").unlink()
    else:
        (run / "history.json").write_text(history)
    before = _snapshot(run)
    assert "history.json" in _one_line(capsys, "resume", run)
    assert _snapshot(run) == before and read_run(run).state == "stopped"


# 13 -----------------------------------------------------------------------------------------------------------------
def test_a_second_ctrl_c_mid_epoch_says_no_model_was_saved_and_how_many_epochs_are_kept(tmp_path, small_data, capsys):
    from zoo._backend import keras

    class SecondCtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 30:
                raise KeyboardInterrupt

    result = zoo.train("mlp", epochs=2, batch_size=8, data=small_data("digits", 200), out=tmp_path / "run",
                       progress=False, callbacks=[SecondCtrlC()], record_every=0, overrides={"training.augment": 0})
    assert result.state == "stopped" and not (tmp_path / "run" / "model.keras").exists()
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["epochs_completed"] == 1 and "after 1 whole epoch" in status["message"]
    assert "no model was saved" in status["message"]
    capsys.readouterr()
    assert _report(result, False) == 130
    err = capsys.readouterr().err
    assert "the model was saved" not in err and "no model was saved" in err


# 14 -----------------------------------------------------------------------------------------------------------------
def test_ctrl_c_before_the_status_is_written_leaves_no_folder(tmp_path, small_data, monkeypatch):
    import zoo.training as training

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    for target in ("_initial_status", "write_status"):
        with monkeypatch.context() as m:
            m.setattr(training, target, interrupted)
            with pytest.raises(KeyboardInterrupt):
                zoo.train("mlp", epochs=1, data=small_data("digits", 64), out=tmp_path / "run", progress=False)
        assert not (tmp_path / "run").exists()


# 15 -----------------------------------------------------------------------------------------------------------------
def test_a_closed_stdout_pipe_does_not_fail_the_run(tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", "binary", "--epochs", "2", "--json", "--out", str(run)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()  # `| head -1`
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=300)
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "completed", (status, err)
    assert "Broken pipe" not in err and "Traceback" not in err and "room" not in err


# 16 -----------------------------------------------------------------------------------------------------------------
def test_a_full_disk_before_the_first_checkpoint_says_train_it_again(tmp_path, small_data, monkeypatch, capsys):
    from zoo.callbacks import epoch_checkpoint

    def full(written, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(epoch_checkpoint, "replace_durably", full)
    with pytest.raises(RunError, match="trained again") as e:
        zoo.train("mlp", epochs=2, batch_size=8, data=small_data("digits", 200), out=tmp_path / "run", progress=False,
                  record_every=0, overrides={"training.augment": 0})
    assert "resumed" not in str(e.value)
    assert "train it again" in read_run(tmp_path / "run").message
    assert "no checkpoint" in _one_line(capsys, "resume", tmp_path / "run")


# 20 -----------------------------------------------------------------------------------------------------------------
def test_a_negative_record_every_is_refused_before_a_folder_is_made(tmp_path, small_data, capsys):
    for command in ("train", "resume"):
        with pytest.raises(SystemExit) as e:
            main([command, "mlp" if command == "train" else str(tmp_path), "--record-every", "-1",
                  "--out", str(tmp_path / "run")][: 6 if command == "train" else 4])
        err = capsys.readouterr().err
        assert e.value.code == 2 and len(err.strip().splitlines()) == 1 and "--record-every" in err
        assert not (tmp_path / "run").exists()
    with pytest.raises(ZooError, match="record_every"):
        zoo.train("mlp", data=small_data("digits", 64), out=tmp_path / "run", record_every=-1, progress=False)
    assert not (tmp_path / "run").exists()


# 23 -----------------------------------------------------------------------------------------------------------------
def test_zoo_runs_escapes_control_characters(tmp_path, capsys):
    runs = zoo.runs.runs_dir()
    (runs / "odd").mkdir(parents=True)
    (runs / "odd" / "status.json").write_text(json.dumps({"state": "failed", "model": "mlp\x1b[2J",
                                                          "started": "2026\nx", "message": "line 1\nline 2\x1b[31mred"}))
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and len(out.strip().splitlines()) == 2
    assert "line 1\\nline 2\\x1b[31mred" in out


def test_views_and_cards_read_a_run_spec_that_is_a_fifo_without_waiting(tmp_path):  # no_hang: a wait fails it
    from zoo.inference import is_digit_run
    from zoo.runs import read_run_spec, spec_path

    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(spec_path(run))  # nothing writes to it: a plain read would wait forever
    assert read_run_spec(run) is None and is_digit_run(run) is False
