"""Train a spec on a dataset and record the run in a folder: the one code path of `zoo train` and the app."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import RunError, ZooError
from .catalogue import load_spec
from .factory import check_with_keras
from .runs import (CHECKPOINTS, CONFUSION, ERROR_LOG, HISTORY, STATUS, RunLock, create_run_dir, has_checkpoint,
                   new_status, now_iso, process_start_time, remove_leftovers, save_model, spec_path, write_json_atomic,
                   write_status, write_text_atomic)
from .spec import ModelSpec


@dataclass
class RunResult:
    """What a training left behind: its folder, final state and numbers (and the model, in-process)."""

    path: Path
    state: str
    history: dict[str, list] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    message: str = ""
    step: int | None = None
    model: Any = None
    converged_epoch: int | None = None  # the perceptron's: first epoch with every training example right

    @property
    def ok(self) -> bool:
        return self.state in ("completed", "stopped")


def resolve_spec(spec: "str | Path | ModelSpec", dataset=None, epochs=None, batch_size=None, learning_rate=None,
                 seed=None, overrides: dict | None = None) -> ModelSpec:
    """The spec with the command-line style overrides applied (and validated like the file)."""
    spec = load_spec(spec)
    changes = dict(overrides or {})
    for key, value in (("dataset", dataset), ("training.epochs", epochs), ("training.batch_size", batch_size),
                       ("optimizer.learning_rate", learning_rate), ("training.seed", seed)):
        if value is not None:
            changes[key] = value
    return spec.with_overrides(**changes) if changes else spec


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event):
    """First Ctrl-C (or SIGTERM) asks for a clean stop after the current step; a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _batch_size(spec: ModelSpec, n_train: int) -> int:
    size = spec.training.batch_size
    return n_train if size == "full" else min(int(size), n_train)


def train(spec: "str | Path | ModelSpec", *, dataset: str | None = None, epochs: int | None = None,
          batch_size: int | str | None = None, learning_rate: float | None = None, seed: int | None = None,
          overrides: dict | None = None, out: str | Path | None = None, callbacks: list | None = None,
          stop: threading.Event | None = None, progress: bool | Callable = True, data=None,
          record_every: int = 1, tensorboard: bool = False) -> RunResult:
    """Train the model a spec declares and record the run.

    The run folder gets `spec.toml` (the resolved spec), `status.json` (kept current), `history.json`
    (per epoch), `model.keras` and the final test metrics. Ctrl-C or `stop.set()` ends the run after
    the current step with state "stopped"; a non-finite loss ends it with state "diverged".

    Args:
        spec: a model name, a spec file or a `ModelSpec`.
        dataset, epochs, batch_size, learning_rate, seed: overrides of the spec's values.
        overrides: further dotted-key overrides, e.g. `{"optimizer.global_clipnorm": 1.0}`.
        out: the run folder to create (refused if it exists); default: a new folder in `zoo.runs.runs_dir()`.
        callbacks: extra Keras callbacks.
        stop: an event that, once set, stops the run after the current step.
        progress: print per-epoch progress to stderr (True), nothing (False), JSON lines on stdout ("json",
            see `JsonLinesProgress`; the app reads them), or a Keras callback to use.
        data: a `Dataset` to use instead of loading `spec.dataset` (tests pass small ones).
        record_every: record gradient statistics every k steps into `gradients.csv` (0: do not record);
            mean/max |g|, weight norms and update ratios every 100 steps to `gradient_details.csv`,
            log10|g| histograms to `histograms.npz`, activation statistics to `activations.csv`.
        tensorboard: also write TensorBoard summaries (gradient norms and histograms) to `tensorboard/`.

    Returns:
        A `RunResult`. Raises `ZooError` for bad input (the run is recorded as "failed" when its folder exists).
    """
    from .datasets import load_dataset

    _check_record_every(record_every)  # bad arguments: refused before any run folder
    spec = resolve_spec(spec, dataset, epochs, batch_size, learning_rate, seed, overrides)
    data = data if data is not None else load_dataset(spec.dataset)  # missing data: refused before any run folder
    status = _initial_status(spec)  # imports TensorFlow (seconds): before the folder exists, not while it is empty
    check_with_keras(spec)  # a Keras layer's bad argument: refused before any run folder
    run_dir = create_run_dir(spec.name, out)
    lock = RunLock(run_dir)
    try:
        lock.acquire()
        write_text_atomic(spec_path(run_dir), spec.to_toml())
        write_status(run_dir, status)
    except BaseException as e:  # a full or read-only disk, Ctrl-C: a folder without its status is worth nothing
        lock.release()
        shutil.rmtree(run_dir, ignore_errors=True)
        if isinstance(e, OSError):
            raise RunError(f"Cannot write the run folder {run_dir}: {e.strerror or e}") from None
        raise
    stop = stop or threading.Event()
    return _run(spec, run_dir, status, callbacks or [], stop, progress, data, record_every, tensorboard, lock=lock)


def _check_record_every(record_every) -> None:
    if isinstance(record_every, bool) or not isinstance(record_every, int) or record_every < 0:
        raise ZooError(f"record_every must be a whole number >= 0 (0: no records), received {record_every!r}")


RESUMABLE = ("interrupted", "stopped", "failed")  # with a checkpoint


def resume(run_dir: str | Path, *, stop: threading.Event | None = None, progress: bool | str | Callable = True,
           data=None, record_every: int = 1, tensorboard: bool = False) -> RunResult:
    """Continue an interrupted, stopped or failed run from its last epoch checkpoint, in the same folder.

    The history and the gradient and activation records are cut back to that checkpoint and go on
    from it, so they have neither duplicates nor gaps. A run whose checkpoint is of its last epoch (it
    was killed while saving or testing its model) is finished: saved, tested, completed. Everything is
    checked before anything is written: an error before training starts again (missing data, a damaged
    checkpoint, history or record file, a checkpoint too large to load) leaves the run as it was.
    Refused (`RunError`) for a run that another process trains (its lock is held), that has completed or
    diverged, or that has no checkpoint.
    """
    from .runs import STATUS_FORMAT, newer_format_note, read_run

    _check_record_every(record_every)
    run_dir = Path(run_dir)
    info = read_run(run_dir)
    if info.format > STATUS_FORMAT:  # its status may say what this zoo cannot read: left as that zoo wrote it
        raise RunError(f"Cannot resume {run_dir}: it was {newer_format_note(info.format)}; resume it with that zoo")
    if info.state in ("running", "broken"):  # refused before the lock file is made in a folder that is not ours
        raise RunError(_why_not(run_dir, info))
    if info.source != "zoo train" and not spec_path(run_dir).exists():
        raise RunError(f"Cannot resume {run_dir}: it was recorded by {info.source} from your own script and has no "
                       f"spec.toml to train it again from; run your script again into a new folder")
    lock = RunLock(run_dir).acquire("resume")
    try:
        spec, status, resume_from, data = _prepare_resume(run_dir, lock, data, record_every)
    except BaseException:
        lock.release()
        raise
    stop = stop or threading.Event()
    return _run(spec, run_dir, status, [], stop, progress, data, record_every, tensorboard, resume_from, lock=lock)


def _why_not(run_dir: Path, info) -> str:
    from .runs import LOCK, read_json, read_run_bytes

    if info.state == "running":
        try:  # the pid its trainer wrote in the lock, else the one in its status (a run from before locks)
            pid = read_run_bytes(run_dir / LOCK, 64).decode("ascii").strip()
        except (OSError, RunError, UnicodeDecodeError):
            pid = ""
        if not pid.isdigit():
            try:
                pid = read_json(run_dir / STATUS).get("pid")
            except (RunError, AttributeError):
                pid = None
        return f"Cannot resume {run_dir}: it is already being trained by " + (f"pid {pid}" if pid else "another process")
    why = {"completed": "it has completed; train a new run",
           "diverged": "it diverged, and would again from its checkpoint; train it again with gradient "
                       "clipping or a lower learning rate",
           "broken": f"its folder is broken ({info.problem})"}.get(info.state, f"it {info.state}; train it again")
    return f"Cannot resume {run_dir}: {why}"


def _prepare_resume(run_dir: Path, lock: RunLock, data, record_every: int):
    """Everything a resume needs, read and checked while the run is still as it was; then its status, written."""
    import json

    from .callbacks import read_checkpoint
    from .datasets import load_dataset
    from .model_files import check_keras_file
    from .records import records_up_to
    from .runs import read_run, read_run_bytes
    from .spec import read_spec_file

    info = read_run(run_dir, own=lock)  # again, now that no other process can start training it
    if info.state not in RESUMABLE:
        raise RunError(_why_not(run_dir, info))
    raw_status = read_run_bytes(run_dir / STATUS)  # restored byte for byte if the resume fails before training
    status = json.loads(raw_status)
    checkpoint = read_checkpoint(run_dir / CHECKPOINTS)
    if checkpoint is None:
        raise RunError(f"Cannot resume {run_dir}: it has no checkpoint (it ended before its first epoch did); "
                       "train it again")
    try:
        check_keras_file(checkpoint["path"])  # sizes and parameters from the zip, before Keras allocates
    except RunError as e:
        raise RunError(f"Cannot resume {run_dir}: {e}") from None
    spec = read_spec_file(spec_path(run_dir))
    if checkpoint["epoch"] > spec.training.epochs:
        raise RunError(f"Cannot resume {run_dir}: its checkpoint is of epoch {checkpoint['epoch']}, beyond the "
                       f"{spec.training.epochs} its spec.toml trains")
    history = _history_up_to(run_dir, checkpoint["epoch"])
    try:
        records = records_up_to(run_dir, checkpoint["step"]) if record_every else None
    except RunError as e:
        raise RunError(f"Cannot resume {run_dir}: {e}; move it away to resume without the records before "
                       "the checkpoint") from None
    data = data if data is not None else load_dataset(spec.dataset)  # missing data: the run stays as it was
    remove_leftovers(run_dir)  # half-written files of the run that was cut short
    status.update(state="running", pid=os.getpid(), pid_started=process_start_time(os.getpid()),
                  epochs_completed=checkpoint["epoch"], finished=None, message="",
                  step=None, test={}, updated=now_iso())
    status.setdefault("resumed", []).append({"at": now_iso(), "from_epoch": checkpoint["epoch"]})
    try:
        write_status(run_dir, status)
    except OSError as e:  # read-only or full: nothing was written, the run is as it was
        raise RunError(f"Cannot resume {run_dir}: cannot write to it ({e.strerror or e})") from None
    resume_from = {**checkpoint, "history": history, "records": records, "status_before": raw_status}
    return spec, status, resume_from, data


def _history_up_to(run_dir: Path, epoch: int) -> dict:
    """history.json cut back to the checkpoint's `epoch`; `RunError` unless it holds epochs 1 to `epoch` whole."""
    from .runs import read_json

    path = run_dir / HISTORY
    history = read_json(path)  # missing: refused (a resume would leave a gap where the epochs were)

    def refuse(why: str):
        return RunError(f"Cannot resume {run_dir}: its history.json does not hold the {epoch} epoch"
                        f"{'s' if epoch != 1 else ''} of its checkpoint ({why}); the run is as it was")

    if not isinstance(history, dict):
        raise refuse("it is not a JSON object")
    for key in ("epoch", "seconds", "loss"):
        if key not in history:
            raise refuse(f"it has no `{key}`")
    epochs = history["epoch"]
    if not isinstance(epochs, list) or epochs[:epoch] != list(range(1, epoch + 1)):
        raise refuse(f"`epoch` is {repr(epochs)[:60]}")
    for key, values in history.items():
        if not isinstance(values, list) or len(values) < epoch:
            raise refuse(f"`{key}` has {len(values) if isinstance(values, list) else 'no list of'} values")
        if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values[:epoch]):
            raise refuse(f"`{key}` holds something other than numbers")
    return {key: values[:epoch] for key, values in history.items()}


def _run(spec, run_dir, status, callbacks, stop, progress, data, record_every, tensorboard, resume_from=None,
         lock: RunLock | None = None):
    try:
        return _run_locked(spec, run_dir, status, callbacks, stop, progress, data, record_every, tensorboard,
                           resume_from)
    finally:
        if lock is not None:
            lock.release()


def _run_locked(spec, run_dir, status, callbacks, stop, progress, data, record_every, tensorboard, resume_from):
    began = threading.Event()  # set once training (or finishing a resumed run) has really started
    try:
        with _stop_on_signals(stop):
            return _fit(spec, run_dir, status, callbacks, stop, progress, data, record_every, tensorboard, resume_from,
                        began)
    except KeyboardInterrupt:
        if resume_from is not None and not began.is_set():
            _restore(run_dir, resume_from)
            return RunResult(run_dir, _state_of(resume_from["status_before"]),
                             message="Interrupted before resuming; the run is as it was")
        _finish(run_dir, status, "stopped", _interrupted_message(status))
        return RunResult(run_dir, "stopped", message=status["message"])
    except Exception as e:
        if resume_from is not None and not began.is_set():  # nothing of the run changed: leave it as it was
            _try(_restore, run_dir, resume_from)
            if isinstance(e, ZooError):
                raise
            raise RunError(f"Cannot resume {run_dir} ({type(e).__name__}: {_first_line(e)}); the run is as it was") from e
        if isinstance(e, ZooError):
            _try(_finish, run_dir, status, "failed", str(e))
            raise
        if isinstance(e, OSError) and e.errno is not None and not isinstance(e, BrokenPipeError):  # the disk
            resumable = has_checkpoint(run_dir)
            recorded = _try(_finish, run_dir, status, "failed", f"Cannot write: {e.strerror}"
                            + ("" if resumable else "; it has no checkpoint: train it again"))
            raise RunError(f"Training stopped: cannot write to {run_dir} ({e.strerror}); "
                           + (("it can be resumed from its last epoch once there is room" if resumable else
                               "it ended before its first checkpoint, so it must be trained again once there is room")
                              if recorded else
                              "its status could not be updated either: it will be listed as interrupted")) from None
        # an unexpected failure: keep the details on disk, say one line
        logged = _try(write_text_atomic, run_dir / ERROR_LOG, traceback.format_exc())
        _try(_finish, run_dir, status, "failed", f"{type(e).__name__}: {e}")
        raise RunError(f"Training failed ({type(e).__name__}: {_first_line(e)})"
                       + (f"; details in {run_dir / ERROR_LOG}" if logged else "")) from e


def _restore(run_dir: Path, resume_from: dict) -> None:
    """Put back the status a resume found (byte for byte): the run is as it was."""
    write_text_atomic(run_dir / STATUS, resume_from["status_before"].decode("utf-8"))


def _state_of(raw_status: bytes) -> str:
    import json

    state = json.loads(raw_status).get("state", "stopped")
    return "interrupted" if state == "running" else state


def _interrupted_message(status: dict) -> str:
    """What a second Ctrl-C (an interrupt inside a step) leaves: whole epochs and a checkpoint, no saved model."""
    done = status.get("epochs_completed") or 0
    if not done:
        return "Interrupted before the first epoch ended; no model was saved: train it again"
    return (f"Interrupted after {done} whole epoch{'s' if done != 1 else ''}; no model was saved: `zoo resume` "
            f"continues from the checkpoint of epoch {done}")


def _try(write, *args) -> bool:
    """A write while handling an error: one failure (a full disk) must not hide the first."""
    try:
        write(*args)
        return True
    except OSError:
        return False


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else ""


def _initial_status(spec: ModelSpec) -> dict:
    from ._backend import backend_fields

    return new_status(model=spec.name, dataset=spec.dataset, seed=spec.training.seed, epochs=spec.training.epochs,
                      **backend_fields())


def _finish(run_dir: Path, status: dict, state: str, message: str = "", **extra) -> None:
    status.update(state=state, message=message, finished=now_iso(), updated=now_iso(), **extra)
    write_status(run_dir, status)


def _fit(spec, run_dir, status, extra_callbacks, stop, progress, data, record_every, tensorboard,
         resume: dict | None = None, began: threading.Event | None = None) -> RunResult:
    from .batches import EpochBatches
    from .callbacks import (CosineLearningRate, DoctorWatch, EpochCheckpoint, EpochSeeds, JsonLinesProgress,
                            ProgressPrinter, RunLogger, StopOnNonFinite, StopOnRequest, StopWhenConverged)
    from ._backend import use_compile_cache
    from .datasets import prepare
    from .factory import build

    use_compile_cache()  # JAX: the same network trained again skips its compile
    dataset = with_augmented_training(data, spec)
    arrays = prepare(dataset, spec.input_shape, spec.training.loss)
    (x, y), val = arrays["train"], arrays["val"]
    if resume is None:
        model, initial_epoch, keep, previous = build(spec), 0, None, None  # build seeds Keras, Python and NumPy
    else:
        from . import perceptron  # noqa: F401  (registers zoo's Perceptron class for loading)
        from ._backend import keras
        from ._backend import backend_fields

        # compiled as saved: the optimizer comes back with its state (moments, iterations)
        model = keras.models.load_model(resume["path"], safe_mode=True)
        # Compiled again with its own optimiser (state kept), so the step is compiled as this backend compiles
        # it: the saved config holds the trainer's backend's resolved choice (TensorFlow saves jit_compile=False,
        # which would run JAX eagerly).
        model.compile(optimizer=model.optimizer, loss=spec.training.loss, metrics=list(spec.training.metrics))
        initial_epoch, keep, previous = resume["epoch"], resume["records"], resume["history"]
        status.update(backend_fields())  # the backend this part of the run trains on
        keras.utils.set_random_seed(spec.training.seed)
    batches = EpochBatches(x, y, _batch_size(spec, len(x)), spec.training.seed, initial_epoch)
    divergence, stopper = StopOnNonFinite(), StopOnRequest(stop.is_set)
    logger = RunLogger(run_dir, status, previous)
    # EpochSeeds first: the epoch's batch order and dropout draws are set before anything else sees the epoch
    callbacks = [EpochSeeds(spec.training.seed, batches), stopper, divergence, logger,
                 *_recorders(run_dir, x, y, record_every, tensorboard, keep),
                 EpochCheckpoint(run_dir / CHECKPOINTS), *extra_callbacks]
    if spec.optimizer.schedule == "cosine":
        callbacks.insert(1, CosineLearningRate(spec.optimizer.learning_rate, spec.training.epochs))
    converged = StopWhenConverged(x, y) if spec.builder == "perceptron" else None
    if converged is not None:
        callbacks.insert(1, converged)
    if progress is True:
        callbacks.append(ProgressPrinter())
        if record_every:  # after the recorders and the logger: it reads what they wrote at the epoch's end
            callbacks.append(DoctorWatch(run_dir, report=lambda f: _say(f"{f} (zoo doctor {run_dir} for the fix)"),
                                         resolved=lambda code, epoch: _say(f"{code} no longer holds (epoch {epoch})")))
    elif progress == "json":
        callbacks.append(JsonLinesProgress(run_dir))
    elif callable(progress) and progress is not False:
        callbacks.append(progress)
    batch = batches.batch_size
    started = time.perf_counter()
    if began is not None:
        began.set()
    model.fit(batches, epochs=spec.training.epochs, initial_epoch=initial_epoch, validation_data=val,
              validation_batch_size=batch,
              shuffle=False, verbose=0, callbacks=callbacks)
    seconds = time.perf_counter() - started
    history = logger.history

    if divergence.diverged:
        _finish(run_dir, status, "diverged", divergence.message, step=divergence.step, train_seconds=seconds)
        return RunResult(run_dir, "diverged", history, message=divergence.message, step=divergence.step, model=model)

    save_model(model, run_dir)
    x_test, y_test = arrays["test"]
    test = model.evaluate(x_test, y_test, batch_size=max(batch, 256), verbose=0, return_dict=True)
    test = {k: float(v) for k, v in test.items()}
    _write_confusion(model, spec, dataset, x_test, run_dir)
    state = "stopped" if stopper.stopped else "completed"
    message = "Stopped on request; the model was saved" if state == "stopped" else ""
    extra = {}
    if converged is not None and state == "completed":
        extra["converged_epoch"] = converged.converged_epoch
        message = _perceptron_outcome(converged, spec, dataset, x, y)
    _finish(run_dir, status, state, message, test=test, train_seconds=seconds, **extra)
    return RunResult(run_dir, state, history, test, message, model=model, converged_epoch=extra.get("converged_epoch"))


def with_augmented_training(dataset, spec: ModelSpec):
    """The dataset with `spec.training.augment` distorted copies of each training image added (small sets only)."""
    from dataclasses import replace

    from .augment import LIMIT, augment_images

    copies = spec.training.augment
    if not copies or len(dataset.x_train) >= LIMIT or len(dataset.info.feature_shape) != 2:
        return dataset
    extra = augment_images(dataset.x_train, copies, seed=spec.training.seed)
    return replace(dataset, x_train=np.concatenate([dataset.x_train, extra]),
                   y_train=np.concatenate([dataset.y_train] * (copies + 1)))


def _perceptron_outcome(converged, spec: ModelSpec, dataset, x, y) -> str:
    """The perceptron's one line: converged, or why not (no line separates the classes, or too few epochs)."""
    from .perceptron_rule import outcome_message, separable

    if converged.converged_epoch is not None or (y.ndim == 2 and y.shape[1] > 1):
        return outcome_message(converged.converged_epoch, spec.training.epochs)
    return outcome_message(None, spec.training.epochs, separable(x, y.reshape(-1)), dataset.info.name)


def _say(text: str) -> None:
    """What the doctor says during `zoo train` (a finding as it first holds, one that no longer does): a line on
    stderr."""
    import sys

    print(f"doctor: {text}", file=sys.stderr, flush=True)


def _recorders(run_dir: Path, x, y, record_every: int, tensorboard: bool, previous: dict | None = None) -> list:
    if not record_every:
        return []
    from .callbacks import ActivationRecorder, GradientRecorder, InputGradientRecorder, RecordWriter

    gradients = GradientRecorder(every=record_every)
    activations = ActivationRecorder(x[:256])
    recorders = [gradients, activations, RecordWriter(run_dir, gradients, activations, tensorboard, previous=previous)]
    if x.ndim == 3:  # a sequence (batch, T, features): how much each time step moves the loss, through time
        recorders.append(InputGradientRecorder((x[:256], y[:256]), run_dir=run_dir))
    return recorders


def confusion_matrix(y_true, y_pred, num_classes: int):
    """counts[i, j]: test examples of class i the model called j."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return counts


def _write_confusion(model, spec: ModelSpec, dataset, x_test, run_dir: Path) -> None:
    """`confusion.json` for classifiers: the test set's confusion matrix with the class labels."""
    info = dataset.info
    if info.task not in ("classification", "binary"):
        return
    scores = model.predict(x_test, batch_size=1024, verbose=0)
    predicted = (scores[:, 0] > 0.5).astype(int) if scores.shape[-1] == 1 else scores.argmax(-1)
    labels = list(info.class_names or range(info.num_classes or 2))
    counts = confusion_matrix(dataset.y_test.reshape(-1).astype(int), predicted, len(labels))
    write_json_atomic(run_dir / CONFUSION, {"labels": [str(c) for c in labels], "matrix": counts.tolist()})
