"""The training doctor: reads a run folder and names what is wrong with the training, most serious first, each
finding with its evidence (the numbers and the steps they come from), an explanation a learner understands and
the fix to try. The rules and their thresholds are documented in docs/doctor.md; `zoo doctor RUN_DIR` prints them,
`DoctorWatch` (zoo.callbacks) says each when it first holds during a training, the app shows them beside its
Gradients view, and `fixed_spec` turns a finding's fix into a spec that `zoo doctor --try` trains."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import RunError
from .records import RunRecords, read_activations, read_details, read_input_gradients
from .runs import (ACTIVATIONS, GRADIENT_DETAILS, GRADIENTS, INPUT_GRADIENTS, read_history, read_run_spec, read_status,
                   spec_path)
from .spec import _printable

# -- thresholds (docs/doctor.md) ------------------------------------------------------------------------
VANISHING_RATIO = 1e-3  # first hidden layer's gradient norm over the last hidden layer's: 3 orders of magnitude
TIME_VANISHING_RATIO = 1e-3  # the input's first time step's gradient over its last one's, at the last record
EXPLODING_GROWTH = 1e3  # the largest gradient norm (all layers) over its median in the first steps, unclipped
DEAD_SHARE = 0.9  # a ReLU layer with nearly all its units never active on the probe batch (Adam leaves many dead)
SATURATED_SHARE = 0.5  # a sigmoid or tanh layer with more than half its outputs pinned at a limit
RATIO_HIGH = 1e-1  # update / weight norm, median over the hidden layers and detail steps: 100x the rule of thumb
RATIO_LOW = 1e-5  # ... and 100x below it
LOSS_STILL = 0.02  # "barely moving": the training loss changed by less than 2% from the first epoch to the last
NOT_LEARNING = 0.05  # the loss within 5% of a guess's (ln K for K balanced classes; the targets' variance)
OVERFIT_RISE = 0.1  # the validation loss 10% above its minimum, for 2 epochs or more, the training loss lower
EARLY_STEPS = 100  # "the first steps": the first tenth of the recorded steps, at most this many

SEVERITIES = ("critical", "warning")


@dataclass(frozen=True)
class Finding:
    """What is wrong: a stable `code`, how serious (`critical`: the training is broken; `warning`: it is
    hampered), the `layers` concerned, the `evidence` in numbers and the step range it comes from (`steps`,
    inclusive; None when the evidence is per epoch), a one-sentence `explanation` and the `fix` to try."""

    code: str
    severity: str
    layers: list[str]
    evidence: str
    explanation: str
    fix: str
    steps: tuple[int, int] | None = None
    epochs: tuple[int, int] | None = None

    def __str__(self) -> str:
        """One line: `critical vanishing_gradients: <evidence>`."""
        return f"{self.severity} {self.code}: {self.evidence}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["steps"] = list(self.steps) if self.steps else None
        data["epochs"] = list(self.epochs) if self.epochs else None
        return data


@dataclass
class _Run:
    """What the rules read of a run folder; every part may be missing (None)."""

    path: Path
    status: object
    history: dict
    spec: object | None  # a ModelSpec
    records: RunRecords | None = None
    activations: dict | None = None
    details: dict | None = None
    time: tuple | None = None
    notes: list[str] = field(default_factory=list)


def _typed_spec(path: Path, notes: list[str]):
    """The run's spec.toml as a validated `ModelSpec`, or None (missing, or not a spec this zoo reads: said in
    `notes`)."""
    from .errors import ZooError
    from .spec import parse_spec

    data = read_run_spec(path)
    if data is None:
        if os.path.lexists(spec_path(path)):
            notes.append(f"{spec_path(path)} is not a spec zoo can read")
        return None
    try:
        return parse_spec(data, name=path.name, source=str(path))
    except (ZooError, RecursionError) as e:
        notes.append(f"{spec_path(path)} is not a spec zoo can read ({str(e).splitlines()[0][:120]})")
        return None


def _load(run_dir: str | Path) -> _Run:
    path = Path(run_dir)
    if not path.is_dir():
        raise RunError(f"{path} is not a run folder")
    notes: list[str] = []
    try:
        history = read_history(path, strict=True) or {}
    except RunError as e:  # the rules on the losses say nothing; those on the records still look
        history = {}
        notes.append(str(e))
    run = _Run(path, read_status(path), history, _typed_spec(path, notes), notes=notes)
    for name, file, load in (("records", GRADIENTS, lambda: RunRecords(path, strict_history=False)),
                             ("activations", ACTIVATIONS, lambda: read_activations(path / ACTIVATIONS)),
                             ("details", GRADIENT_DETAILS, lambda: read_details(path / GRADIENT_DETAILS)),
                             ("time", INPUT_GRADIENTS, lambda: read_input_gradients(path))):
        if not os.path.lexists(path / file):  # not recorded: no news
            continue
        try:
            setattr(run, name, load())
        except RunError as e:  # a broken record: the rules that need it say nothing, and the notes say why
            if "no records yet" not in str(e):
                run.notes.append(str(e))
    return run


def _layer_list(layers: list[str], records) -> str:
    """Layer names for a sentence: all of them, or "all 11 layers", or the first three and how many more."""
    if len(layers) <= 3:
        return ", ".join(layers)
    if records is not None and len(layers) == len(records.layers):
        return f"all {len(layers)} layers"
    return f"{', '.join(layers[:3])} and {len(layers) - 3} more layers"


def diagnose(run_dir: str | Path) -> list[Finding]:
    """The findings of a run folder, most serious first (critical, then warnings; in each, in the order of
    `RULES`). An empty list: nothing found. `RunError` when the folder is no run."""
    return examine(run_dir)[0]


def examine(run_dir: str | Path) -> tuple[list[Finding], list[str]]:
    """`diagnose`'s findings, and why some rules could not look: the record files that are there but could not be
    read (one line each; a missing file is no news: the run did not record it)."""
    run = _load(run_dir)
    return _findings(run), run.notes


def _findings(run: _Run) -> list[Finding]:
    with np.errstate(all="ignore"):  # hostile numbers (1e308, inf) make NaN evidence, not warnings on stderr
        findings = [finding for rule in RULES for finding in rule(run)]
    codes = {f.code for f in findings}
    if codes & {"vanishing_gradients", "exploding_gradients", "dead_units"}:  # no gradient, no update: not the rate
        findings = [f for f in findings if f.code != "learning_rate_too_low"]
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


# -- helpers -------------------------------------------------------------------------------------------
def _window(count: int) -> int:
    """How many of `count` recorded steps are "the first steps"."""
    return max(1, min(EARLY_STEPS, count // 10))


def _orders(ratio: float) -> str:
    return f"{-math.log10(ratio):.1f} orders of magnitude" if ratio > 0 else "all the way to exactly 0"


def _series(run: _Run, key: str) -> np.ndarray:
    values = run.history.get(key) or []
    return np.array([np.nan if v is None else v for v in values], float)


# -- the rules -----------------------------------------------------------------------------------------
def _vanishing(run: _Run) -> list[Finding]:
    out = []
    records = run.records
    if records is not None and len(records.weighted) >= 2:
        hidden = records.weighted
        norms = records.grad("grad_norm")[:, hidden]
        finite = np.all(np.isfinite(norms), axis=1)
        rows = np.flatnonzero(finite)[:_window(int(finite.sum()))]
        if len(rows):
            first, last = norms[rows, 0], norms[rows, -1]
            if np.median(last) > 0:
                ratio = float(np.median(first / np.where(last > 0, last, np.nan)))
                if ratio < VANISHING_RATIO:
                    names = [records.layers[hidden[0]], records.layers[hidden[-1]]]
                    steps = (int(records.steps[rows[0]]), int(records.steps[rows[-1]]))
                    a, b = float(np.median(first)), float(np.median(last))
                    out.append(Finding(
                        "vanishing_gradients", "critical", names,
                        f"the gradient norm of {names[0]} is {a:.2g}, of {names[1]} {b:.2g}: "
                        + (f"a ratio of {ratio:.2g} ({_orders(ratio)})" if ratio > 0 else "none reaches the first")
                        + f"; medians over steps {steps[0]}-{steps[1]}",
                        "Each layer multiplies the gradient on its way back by its weights and its activation's "
                        "slope; with slopes below 1 (a sigmoid's is at most 0.25) it shrinks at every layer, so "
                        "the first layers barely learn.",
                        "Use ReLU with He initialisation, add BatchNormalization, or residual connections.",
                        steps=steps))
    if run.time is not None:
        steps, norms = run.time
        last = norms[-1]
        if len(last) >= 2 and np.isfinite(last).all() and last[-1] > 0:
            ratio = float(last[0] / last[-1])
            if ratio < TIME_VANISHING_RATIO:
                layer = records.layers[records.hidden[0]] if records is not None and records.hidden else "the input"
                gated = any(word in layer.lower() for word in ("lstm", "gru"))
                out.append(Finding(
                    "vanishing_gradients", "critical", [layer],
                    f"through time: the gradient of the loss with respect to the input's first time step is "
                    f"{ratio:.2g} of the last one's ({_orders(ratio)}; at step {int(steps[-1])})",
                    "A recurrent layer multiplies the gradient by its recurrent weights and its activation's slope "
                    "at every time step it goes back, so what happened long ago cannot be learnt"
                    + (" until a gated cell learns to keep it." if gated else "."),
                    "Train longer: an LSTM or GRU cell can carry the gradient through time, once it has learnt to "
                    "keep its memory (rnn-lstm does after about 12 epochs)." if gated else
                    "Use an LSTM or GRU layer, whose cell carries the gradient through time.",
                    steps=(int(steps[-1]), int(steps[-1]))))
    return out


def _exploding(run: _Run) -> list[Finding]:
    state = getattr(run.status.state, "value", run.status.state)
    loss = _series(run, "loss")
    bad_epochs = np.flatnonzero(~np.isfinite(loss)) + 1 if len(loss) else []
    records = run.records
    if state == "diverged" or len(bad_epochs):
        step = run.status.step if isinstance(run.status.step, int) and run.status.step > 0 else None
        where = (f"at step {step}" if step else f"in epoch {int(bad_epochs[0])}" if len(bad_epochs) else
                 "(the run says it diverged, without the step)")
        layers = []
        if records is not None:
            bad = np.flatnonzero(~np.all(np.isfinite(records.grad("grad_norm")), axis=1))
            if len(bad):
                row = records.grad("grad_norm")[bad[0]]
                layers = [records.layers[j] for j in np.flatnonzero(~np.isfinite(row))]
        return [Finding(
            "exploding_gradients", "critical", layers,
            f"the loss became {'NaN or inf'} {where}" + (f"; the gradient norms of {_layer_list(layers, records)} were "
                                                           "no longer numbers" if layers else ""),
            "The gradient grew at every layer on its way back until a step was so large that the weights, then "
            "the loss, overflowed.",
            "Clip the gradients (global_clipnorm = 1), lower the learning rate, or use a smaller initialisation.",
            steps=(step, step) if step else None)]
    if records is None:
        return []
    before = records.grad("grad_norm")
    if np.isfinite(records.grad("grad_norm_clipped")).any():  # clipping is on: large norms are bounded steps
        return []
    total = np.sqrt(np.nansum(before.astype(np.float64) ** 2, axis=1))
    early = np.median(total[:_window(len(total))])
    if early > 0 and total.max() / early > EXPLODING_GROWTH:
        at = int(np.argmax(total))
        return [Finding(
            "exploding_gradients", "warning", [records.layers[int(np.nanargmax(before[at]))]],
            f"the gradient norm (all layers) grew {total.max() / early:.3g}x, from {early:.3g} in the first steps "
            f"to {total.max():.3g} at step {int(records.steps[at])}",
            "The gradient is growing without bound: the next steps may overflow.",
            "Clip the gradients (global_clipnorm = 1) or lower the learning rate.",
            steps=(int(records.steps[0]), int(records.steps[at])))]
    return []


def _unit_findings(run: _Run, code: str, kinds: tuple[str, ...], column: str, threshold: float) -> list[Finding]:
    activations = run.activations
    if activations is None or not len(activations["steps"]):
        return []
    last = activations[column][-1]
    step = int(activations["steps"][-1])
    layers = [(name, float(share)) for name, kind, share in zip(activations["layers"], activations["activation"], last)
              if kind in kinds and np.isfinite(share) and share > threshold]
    if not layers:
        return []
    names = [name for name, _ in layers]
    shares = ", ".join(f"{name} {share:.0%}" for name, share in layers[:4]) + (" ..." if len(layers) > 4 else "")
    if code == "dead_units":
        return [Finding(
            code, "warning", names, f"units never active on the probe batch at step {step}: {shares}",
            "A ReLU unit whose input is negative for every example outputs 0 and gets no gradient: it stays dead "
            "and the layer learns with fewer units.",
            "Use He initialisation, a lower learning rate, or leaky ReLU.", steps=(step, step))]
    return [Finding(
        code, "warning", names, f"outputs pinned at a limit of the activation at step {step}: {shares}",
        "Where a sigmoid or tanh is flat its slope is nearly 0, so the gradient through those units vanishes.",
        "Use ReLU with He initialisation, or add BatchNormalization before the activation.", steps=(step, step))]


def _dead(run: _Run) -> list[Finding]:
    return _unit_findings(run, "dead_units", ("relu",), "dead", DEAD_SHARE)


def _saturated(run: _Run) -> list[Finding]:
    return _unit_findings(run, "saturated_units", ("sigmoid", "tanh"), "saturated", SATURATED_SHARE)


def _update_ratios(run: _Run) -> tuple[np.ndarray, np.ndarray] | None:
    """Per detail step, the median update-to-weight ratio over the hidden layers; and the detail steps."""
    details = run.details
    if details is None or not len(details["steps"]):
        return None
    layers = details["layers"]
    outputs = set(run.status.output_layers) if run.status.output_layers else {layers[-1]}
    columns = [j for j, name in enumerate(layers) if name not in outputs] or list(range(len(layers)))
    ratios = details["update_ratio"][:, columns]
    keep = np.isfinite(ratios).any(axis=1)
    if not keep.any():
        return None
    return np.nanmedian(ratios[keep], axis=1), details["steps"][keep]


def _loss_change(run: _Run) -> float | None:
    """The training loss's relative change from the first epoch to the last (negative: it fell)."""
    loss = _series(run, "loss")
    if len(loss) < 2 or not np.isfinite(loss[[0, -1]]).all() or loss[0] == 0:
        return None
    return float((loss[-1] - loss[0]) / abs(loss[0]))


def _learning_rate(run: _Run) -> list[Finding]:
    found = _update_ratios(run)
    change = _loss_change(run)
    if found is None or change is None:
        return []
    ratios, steps = found
    loss = _series(run, "loss")
    rises = int(np.sum(np.diff(loss) > 0))
    epochs = (1, len(loss))
    now = f" (now {run.spec.optimizer.learning_rate:g})" if run.spec is not None else ""
    top = int(np.argmax(ratios))
    guess = _guess_loss(run)
    stuck = guess is not None and np.isfinite(loss[-1]) and loss[-1] >= guess[0] * (1 - NOT_LEARNING)
    if ratios[top] > RATIO_HIGH and (change > -LOSS_STILL or rises >= max(2, len(loss) // 3) or stuck):
        how = ("rose" if change > 0 else "barely fell" if change > -LOSS_STILL else
               f"went up in {rises} epochs" if not stuck else f"ended no better than a guess ({loss[-1]:.3g})")
        return [Finding(
            "learning_rate_too_high", "warning", [],
            f"an update moved the weights by {ratios[top]:.2g} of their norm at step {int(steps[top])} (median over "
            f"the hidden layers; about 1e-3 is typical), and the loss {how} ({change:+.1%} from epoch 1 to "
            f"{len(loss)})",
            "Steps this large overshoot the valley the loss lies in: it jumps about instead of going down.",
            f"Lower the learning rate 10x{now}.", steps=(int(steps[top]), int(steps[top])), epochs=epochs)]
    later = ratios[1:] if len(ratios) > 1 else ratios  # the first step's is an optimiser's own start (Adam's)
    typical = float(np.median(later))
    span = (int(steps[1 if len(ratios) > 1 else 0]), int(steps[-1]))
    if typical < RATIO_LOW and abs(change) < LOSS_STILL:
        return [Finding(
            "learning_rate_too_low", "warning", [],
            f"each update moves the weights by {typical:.2g} of their norm (median over steps {span[0]}-{span[1]} "
            f"and the hidden layers; about 1e-3 is typical), and the loss changed by {change:+.2%} from epoch 1 to "
            f"{len(loss)}",
            "Steps this small would take thousands of epochs to get anywhere.",
            f"Raise the learning rate 10-100x{now}.", steps=span, epochs=epochs)]
    return []


def _overfitting(run: _Run) -> list[Finding]:
    val, loss = _series(run, "val_loss"), _series(run, "loss")
    if len(val) < 4 or not np.isfinite(val).all() or len(loss) != len(val):
        return []
    best = int(np.argmin(val))
    after = len(val) - 1 - best
    # With an accuracy on the validation set, it must be no better than at the loss's minimum (Nielsen, ch. 3: a
    # model whose validation accuracy still rises grows more confident on its mistakes, it does not get worse)
    accuracy = _series(run, "val_accuracy")
    better = len(accuracy) == len(val) and np.isfinite(accuracy[[best, -1]]).all() and accuracy[-1] > accuracy[best]
    if after >= 2 and val[-1] > val[best] * (1 + OVERFIT_RISE) and loss[-1] < loss[best] and not better:
        return [Finding(
            "overfitting", "warning", [],
            f"the validation loss was lowest in epoch {best + 1} ({val[best]:.3g}) and rose to {val[-1]:.3g} by "
            f"epoch {len(val)} (+{val[-1] / val[best] - 1:.0%}), while the training loss fell from {loss[best]:.3g} "
            f"to {loss[-1]:.3g}",
            "The model is learning its training examples by heart rather than what they have in common, so it does "
            "worse on examples it has not seen.",
            f"Stop at epoch {best + 1} (early stopping), add dropout, or train on more data.",
            epochs=(best + 1, len(val)))]
    return []


def _guess_loss(run: _Run) -> tuple[float, str] | None:
    """The loss of a model that has learnt nothing (predicts the class frequencies, or the targets' mean)."""
    spec = run.spec
    if spec is None:
        return None
    loss, units = spec.training.loss, spec.output.units
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") and units > 1:
        return math.log(units), f"ln {units} = {math.log(units):.3g}, a uniform guess over {units} classes"
    if loss == "binary_crossentropy":
        return math.log(2), "ln 2 = 0.693, a coin toss"
    if loss in ("mse", "mae"):
        from .datasets import load_dataset

        try:
            y = np.asarray(load_dataset(spec.dataset).y_train, float).reshape(-1)
        except Exception:  # the data is not here: no guess to compare with
            return None
        guess = float(np.var(y)) if loss == "mse" else float(np.mean(np.abs(y - np.median(y))))
        return guess, f"{guess:.3g}, what predicting the targets' {'mean' if loss == 'mse' else 'median'} scores"
    return None


def _not_learning(run: _Run) -> list[Finding]:
    loss, val = _series(run, "loss"), _series(run, "val_loss")
    guess = _guess_loss(run)
    if not len(loss) or guess is None or not np.isfinite(loss[-1]):
        return []
    value, what = guess
    # an epoch's mean training loss carries its first steps' (high) losses: the validation loss, measured after
    # the epoch, must be no better either
    if loss[-1] >= value * (1 - NOT_LEARNING) and (len(val) != len(loss) or not np.isfinite(val[-1])
                                                     or val[-1] >= value * (1 - NOT_LEARNING)):
        return [Finding(
            "not_learning", "critical", [],
            f"after {len(loss)} epoch{'s' if len(loss) != 1 else ''} the training loss is {loss[-1]:.3g}"
            + (f" and the validation loss {val[-1]:.3g}" if len(val) == len(loss) else "") + f", no better than {what}",
            "The model predicts as if it had not seen the data: its gradient does not reach, or does not move, the "
            "weights that matter.",
            "Look at the other findings; else check the initialisation (not all zeros) and raise the learning rate.",
            epochs=(1, len(loss)))]
    return []


# In this order within a severity: causes before what they cause (`zoo doctor --try` treats the first it can).
RULES = (_exploding, _vanishing, _not_learning, _dead, _saturated, _learning_rate, _overfitting)
CODES = ("vanishing_gradients", "exploding_gradients", "dead_units", "saturated_units", "learning_rate_too_high",
         "learning_rate_too_low", "overfitting", "not_learning")


def format_findings(findings: list[Finding], run_dir: str | Path) -> str:
    """The findings as `zoo doctor` prints them."""
    if not findings:
        return f"{run_dir}: nothing found: the gradients, activations, updates and losses look healthy"
    lines = [f"{run_dir}: {len(findings)} finding{'s' if len(findings) != 1 else ''}"]
    for f in findings:
        where = f" [{', '.join(f.layers[:4])}{' ...' if len(f.layers) > 4 else ''}]" if f.layers else ""
        lines += ["", f"{f.severity.upper()} {f.code}{where}", f"  evidence: {f.evidence}", f"  why: {f.explanation}",
                  f"  fix: {f.fix}"]
    return "\n".join(_printable(line) for line in lines)  # layer names come from files: no terminal escapes


# -- the fixes, applied to a spec ----------------------------------------------------------------------
SATURATING = ("sigmoid", "tanh")


def fixed_spec(spec, finding: Finding):
    """`(spec with the finding's fix applied, the change in words)`, or None where zoo has no fix to apply for it
    to this spec. `spec`: the run's `ModelSpec` (its resolved spec.toml); the same seed, data and epochs."""
    from .spec import parse_spec

    data = spec.to_dict()
    change = _FIXES[finding.code](data, finding)
    if change is None:
        return None
    return parse_spec(data, name=f"{spec.name}-fixed", source=f"{spec.source} ({change})"), change


def _layer_entries(data: dict):
    """Every layer entry of a spec dict, those inside blocks too."""
    for layer in data.get("layers") or []:
        yield layer
        yield from layer.get("layers") or []


def _relu_he(data: dict, finding: Finding) -> str | None:
    """Saturating dense layers to ReLU with He initialisation; a ReLU net's initialisation to He's."""
    changed = []
    for layer in _layer_entries(data):
        if layer.get("kind", "dense") == "dense" and (layer.get("activation") in SATURATING or (
                layer.get("activation") == "relu" and _initializer_name(layer.get("initializer")) != "he_normal")):
            layer["activation"], layer["initializer"] = "relu", "he_normal"
            changed.append(layer)
        elif layer.get("kind") == "Dense" and (layer.get("activation") in SATURATING or layer.get("activation") == "relu"):
            layer["activation"], layer["kernel_initializer"] = "relu", "he_normal"
            layer.pop("bias_initializer", None)
            changed.append(layer)
    return "ReLU with He initialisation in the hidden layers" if changed else None


def _initializer_name(value) -> str | None:
    return value.get("name") if isinstance(value, dict) else value


def _vanishing_fix(data: dict, finding: Finding) -> str | None:
    if finding.evidence.startswith("through time"):
        for layer in _layer_entries(data):
            if layer.get("kind") == "SimpleRNN":
                layer["kind"] = "LSTM"
                return "an LSTM instead of the SimpleRNN"
        return None
    return _relu_he(data, finding)


def _clip(data: dict, finding: Finding) -> str:
    optimizer = data["optimizer"]
    for key in ("clipnorm", "clipvalue"):
        optimizer.pop(key, None)
    optimizer["global_clipnorm"] = 1.0
    return "gradients clipped to global norm 1"


def _learning_rate_times(factor: float):
    def fix(data: dict, finding: Finding) -> str:
        optimizer = data["optimizer"]
        old = optimizer["learning_rate"]
        optimizer["learning_rate"] = float(f"{old * factor:.3g}")
        return f"learning rate {old:g} -> {optimizer['learning_rate']:g}"
    return fix


def _dead_fix(data: dict, finding: Finding) -> str | None:
    biased = [layer for layer in _layer_entries(data) if layer.get("kind") == "Dense" and "bias_initializer" in layer]
    if biased:
        for layer in biased:
            layer.pop("bias_initializer")
        return "biases initialised to 0 (He initialisation for the kernels)" if _relu_he(data, finding) else \
            "biases initialised to 0"
    return _relu_he(data, finding) or _learning_rate_times(0.1)(data, finding)


def _early_stopping(data: dict, finding: Finding) -> str | None:
    if not finding.epochs:
        return None
    data["training"]["epochs"] = finding.epochs[0]
    return f"training stopped at epoch {finding.epochs[0]}, where the validation loss was lowest (early stopping)"


def _not_learning_fix(data: dict, finding: Finding) -> str | None:
    zeros = [layer for layer in _layer_entries(data) if _initializer_name(layer.get("initializer")) == "zeros"]
    if zeros:
        return _relu_he(data, finding) or None
    return _learning_rate_times(10)(data, finding)


_FIXES = {
    "vanishing_gradients": _vanishing_fix,
    "exploding_gradients": _clip,
    "dead_units": _dead_fix,
    "saturated_units": _relu_he,
    "learning_rate_too_high": _learning_rate_times(0.1),
    "learning_rate_too_low": _learning_rate_times(100),
    "overfitting": _early_stopping,
    "not_learning": _not_learning_fix,
}
