"""Export a trained model as `.keras`, TF SavedModel, TFLite/LiteRT or ONNX, each checked in its own runtime.

    >>> zoo.export("runs/20261124-mlp", "onnx", "mlp.onnx")
    ExportResult(path=PosixPath('mlp.onnx'), format='onnx', max_abs_diff=1.8e-07, ...)

Every export is reloaded by the runtime its users would use (Keras; `tf.saved_model.load`; the
LiteRT interpreter; onnxruntime) and its outputs compared with the Keras model's on a batch of the
run's test data: a difference above `tolerance` (1e-4) fails the export and removes what was written.
Next to each export, `<name>.card.json` says what the model expects and how well it did.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ZooError
from .model_files import (FORMATS, ExportError, card_path, check_dependencies, load_model, load_runtime,
                          read_card)
from .runs import MODEL, STATUS

RUNTIMES = {"keras": "keras.saving.load_model", "saved_model": "tf.saved_model.load",
            "tflite": "ai_edge_litert.interpreter.Interpreter", "onnx": "onnxruntime.InferenceSession"}
TOLERANCE = 1e-4
CHECK_BATCH = 64


@dataclass
class ExportResult:
    path: Path
    format: str
    max_abs_diff: float
    card: Path
    runtime: str
    checked_on: str = "the given inputs"  # what the export was compared with the model on, in words


def export(run_or_model, format: str, path: str | Path, *, overwrite: bool = False, x_check: np.ndarray | None = None,
           tolerance: float = TOLERANCE) -> ExportResult:
    """Write `run_or_model` (a run folder, a `.keras` file or a `keras.Model`) in `format` to `path` and verify it.

    Args:
        run_or_model: what to export.
        format: one of "keras", "saved_model" (a folder), "tflite", "onnx".
        path: where to write; refused if it exists, unless `overwrite`.
        x_check: inputs to compare on (default: the first 64 test examples of the run's dataset).
        tolerance: the largest absolute output difference accepted.
    """
    if format not in FORMATS:
        raise ExportError(f"Invalid export format: received {format!r}; expected one of {', '.join(FORMATS)}")
    check_dependencies(format)
    path = Path(path)
    _check_target(run_or_model, path, overwrite)
    if not path.parent.is_dir():
        raise ExportError(f"Cannot write {path}: folder {path.parent} does not exist")
    model, run_dir = _model_and_run(run_or_model)
    _refuse_custom(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(f"zoo exports models with one input and one output; this one has {len(model.inputs)} "
                          f"input(s) and {len(model.outputs)} output(s)")
    x, checked_on = (_check_inputs(model, run_dir) if x_check is None else
                     (np.asarray(x_check, np.float32), "the given inputs"))
    expected = model(x, training=False)
    if isinstance(expected, (dict, list, tuple)):
        raise ExportError("zoo exports models whose output is one array; this one returns a "
                          f"{type(expected).__name__}")
    expected = np.asarray(expected)
    try:
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    except OSError as e:
        raise ExportError(f"Cannot write {path}: {_reason(e)}") from None
    try:  # the model and its card are written and checked here, then moved into place together
        (staging / "new").mkdir()
        staged = staging / "new" / (path.name if format != "keras" else MODEL)
        _write(model, format, staged)
        outputs = load_runtime(staged, format)(x)
        diff = float(np.max(np.abs(outputs - expected))) if outputs.shape == expected.shape else float("inf")
        if not diff <= tolerance:
            raise ExportError(f"The {format} export does not match the model: largest output difference {diff:.3g} "
                              f"(tolerance {tolerance:g}); nothing was written")
        try:
            staged_card = write_card(path, format, model, run_dir, diff, to=staging / "new" / card_path(path).name,
                                     checked_on=checked_on)
        except OSError as e:
            raise ExportError(f"Cannot write the model card {card_path(path)}: {_reason(e)}; nothing was written") from None
        _install([(staged, path), (staged_card, card_path(path))], staging)
    except ExportError as e:
        if not getattr(e, "keep_staging", False):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(path, format, diff, card_path(path), RUNTIMES[format], checked_on)


def _real(path: Path) -> Path:
    """`path` with its folders' links resolved, but not its last part (a link there is replaced, not followed)."""
    return Path(os.path.realpath(path.parent)) / path.name


def _is_export(path: Path) -> bool:
    """Whether `path` is what an export wrote: it has zoo's model card next to it naming it, or it is a
    SavedModel folder (saved_model.pb) that is not a run folder. A run folder or any other folder is not."""
    if path.is_dir() and not path.is_symlink():
        if (path / MODEL).exists() or (path / STATUS).exists():
            return False
        return (path / "saved_model.pb").is_file() or (read_card(path) or {}).get("file") == path.name
    return (read_card(path) or {}).get("file") == path.name


def _check_target(source, path: Path, overwrite: bool) -> None:
    """Refuse a target that is, holds or lies in the run being exported, and (with `overwrite`) anything
    but a previous export (one with its model card): `--force` never deletes a run, a link or a user's file."""
    exists = path.exists() or path.is_symlink()
    if exists and not overwrite:
        raise ExportError(f"{path} already exists; choose another name or pass --force to replace it")
    run_dir = None
    if isinstance(source, (str, Path)):
        source = Path(source)
        run_dir = source if source.is_dir() else (source.parent if (source.parent / STATUS).is_file() else None)
        if not source.is_dir() and exists and source.exists() and os.path.realpath(path) == os.path.realpath(source):
            raise ExportError(f"Cannot export to {path}: it is the model being exported; choose another --out")
    target = _real(path)
    if run_dir is not None:
        run = Path(os.path.realpath(run_dir))
        if target == run or (run in target.parents and exists and not _is_export(path)):
            raise ExportError(f"Cannot export to {path}: it is {'the run folder' if target == run else 'part of the run'} "
                              f"{run_dir} being exported; choose a new name outside it (or a new file inside it)")
        if target in run.parents:
            raise ExportError(f"Cannot export to {path}: it holds the run {run_dir} being exported; choose another --out")
    if exists and (path.is_symlink() or not _is_export(path)):
        what = ("a link" if path.is_symlink() else "a folder" if path.is_dir() else "a file")
        raise ExportError(f"Cannot replace {path}: it is {what} that is not a previous export (no model card "
                          f"{card_path(path).name} next to it naming it{'' if what == 'a file' else ', no saved_model.pb in it'}); "
                          "--force replaces only an export; choose another --out")


def _reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def _install(moves: list[tuple[Path, Path]], staging: Path) -> None:
    """Move each staged file or folder onto its target, all or nothing.

    What the targets held before (an export being replaced) is first moved aside into `staging`,
    and put back should any move fail, so a failure leaves the folder as it was; renames within one
    folder need no space, so a full disk fails earlier, while staging.
    """
    aside: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        (staging / "old").mkdir()
        for i, (_, target) in enumerate(moves):
            if target.exists() or target.is_symlink():
                keep = staging / "old" / str(i)
                os.replace(target, keep)
                aside.append((keep, target))
        for source, target in moves:
            os.replace(source, target)
            placed.append(target)
    except BaseException as e:  # an error, or Ctrl-C between two renames: undo them all
        for target in placed:
            try:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
            except OSError:
                pass
        stranded = []
        for keep, target in aside:
            try:
                os.replace(keep, target)
            except OSError:
                stranded.append(target.name)
        if stranded:  # never delete what the user had: it stays in the staging folder, which is then kept
            error = ExportError(f"Cannot write {moves[0][1]}: {_reason(e) if isinstance(e, OSError) else type(e).__name__}"
                                f"; the previous {' and '.join(stranded)} could not be put back: they are in {staging}")
            error.keep_staging = True
            raise error from None
        if isinstance(e, OSError):
            raise ExportError(f"Cannot write {moves[0][1]}: {_reason(e)}; nothing was changed") from None
        raise


def _model_and_run(run_or_model):

    if isinstance(run_or_model, (str, Path)):
        source = Path(run_or_model)
        if source.is_dir():
            return load_model(source / MODEL), source
        return load_model(source), (source.parent if (source.parent / STATUS).is_file() else None)
    return run_or_model, None


def _refuse_custom(model) -> None:
    """Exports are for people without zoo: only Keras' own layers may be in them."""
    if type(model).__module__.split(".")[0] not in ("keras",):
        raise ExportError(f"{type(model).__name__} is zoo's own model class (not plain Keras layers); "
                          "exports need a model built from Keras layers, such as mlp or cnn")


def _write(model, format: str, target: Path) -> None:
    try:
        if format == "keras":
            model.save(target)
        elif format == "saved_model":
            model.export(str(target), format="tf_saved_model", verbose=False)
        elif format == "tflite":
            model.export(str(target), format="litert", verbose=False)
        else:
            model.export(str(target), format="onnx", verbose=False)
    except OSError as e:  # a full disk, a folder made read-only meanwhile
        raise ExportError(f"Cannot write the {format} export: {_reason(e)}; nothing was written") from None
    except Exception as e:  # a converter failing says many things; one line of it is enough
        raise ExportError(f"The {format} converter failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None


# -- model cards ---------------------------------------------------------------------------------------
def _check_inputs(model, run_dir: Path | None) -> tuple[np.ndarray, str]:
    """The first test examples of the run's dataset, shaped for the model (random inputs without a run or where
    zoo does not know the run's data), and those inputs in words."""
    shape = tuple(model.inputs[0].shape[1:])
    status = _status(run_dir)
    if status.get("dataset") and status.get("source", "zoo train") == "zoo train":  # RunRecorder's is only a label
        from .datasets import load_dataset, mnist_is_local

        name = status["dataset"]
        if name == "mnist" and not mnist_is_local():
            name = "digits"  # MNIST-shaped, offline: an export never waits for a download
        try:
            data = load_dataset(name)
            x = np.ascontiguousarray(data.x_test[:CHECK_BATCH], np.float32).reshape((-1, *shape))
            return x, f"the first {len(x)} test examples of {name}"
        except (ZooError, ValueError):  # no such data here, or not this model's shape
            pass
    return np.random.default_rng(0).random((CHECK_BATCH, *shape), dtype=np.float32), f"{CHECK_BATCH} random inputs"


def _status(run_dir: Path | None) -> dict:
    from .runs import read_json

    if run_dir is None:
        return {}
    try:
        status = read_json(run_dir / STATUS)
    except ZooError as e:  # a broken run (as `zoo runs` lists it): its model card could not say what it is
        raise ExportError(f"Cannot export {run_dir}: {e}") from None
    if not isinstance(status, dict):
        raise ExportError(f"Cannot export {run_dir}: its status.json is not a JSON object")
    return status


def preprocessing_for(dataset: str | None, input_shape: tuple) -> dict:
    from .inference import DIGIT_INPUT_SHAPES, centre_for_dataset

    if tuple(input_shape) in DIGIT_INPUT_SHAPES:
        centre = centre_for_dataset(dataset)
        how = "centre of mass at the centre" if centre == "mass" else "the 20x20 box centred"
        return {"kind": "mnist", "centre": centre,
                "text": "28x28 grayscale, white digit on black, float32 in [0, 1]: crop to the ink, scale into a "
                        f"20x20 box keeping the aspect ratio, paste into 28x28 with {how} "
                        f"(zoo.digit_image.to_mnist(ink, centre={centre!r})); reshape to {list(input_shape)}"}
    return {"kind": "features", "text": f"float32 features shaped {list(input_shape)}, as the dataset gives them"}


def write_card(path: Path, format: str, model, run_dir: Path | None, diff: float, to: Path | None = None,
               checked_on: str = "") -> Path:
    """Write the model card of the export at `path` (to `card_path(path)`, or to `to`); its path."""
    from ._version import __version__
    from ._backend import keras
    from .datasets import dataset_info
    from .runs import now_iso, read_run_spec, write_json_atomic

    status = _status(run_dir)
    dataset = status.get("dataset")
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    labels = None
    if dataset:
        try:
            info = dataset_info(dataset)
            labels = list(info.class_names) if info.class_names else None
        except ZooError:
            pass
    spec = read_run_spec(run_dir) if run_dir is not None else None  # unreadable: the card goes without it
    card = {
        "model": status.get("model", model.name), "format": format, "file": path.name,
        "input": {"shape": list(shape), "dtype": "float32", "batch": "first axis, any size"},
        "output": {"shape": [int(d) for d in model.outputs[0].shape[1:]], "labels": labels},
        "preprocessing": preprocessing_for(dataset, shape),
        "dataset": dataset, "test": status.get("test") or None, "spec": spec,
        "verified": {"runtime": RUNTIMES[format], "max_abs_diff": diff, "tolerance": TOLERANCE, "inputs": checked_on},
        "versions": {"zoo": __version__, "keras": keras.__version__}, "date": now_iso(),
        "run": str(run_dir) if run_dir is not None else None,
    }
    target = card_path(path) if to is None else Path(to)
    write_json_atomic(target, card)
    return target


