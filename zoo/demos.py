"""The textbook experiments: the perceptron rule on a truth table, pairs of runs for vanishing and exploding
gradients, and the gradient-descent variants."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalogue import load_spec
from .spec import ModelSpec

# The experiments `zoo demo NAME` runs and the app's Gradients view offers as presets: the models each trains, side
# by side, on the same data with the same seed.
DEMOS = {
    "vanishing": ("deep-sigmoid", "deep-relu"),
    "exploding": ("exploding", "exploding-clipped"),
    "init": ("init-zeros", "init-small", "init-glorot", "init-he"),
    "fixes": ("deep-sigmoid", "deep-relu", "deep-sigmoid-bn", "deep-residual"),
    "rnn": ("rnn-simple", "rnn-lstm"),
}
DEMO_TABLES = {"init": "activations", "fixes": "activations", "rnn": "time"}  # what each prints besides the gradients


@dataclass(frozen=True)
class Variant:
    """One way of descending the gradient: which optimiser, how many examples per update."""

    label: str
    batch_size: int | str
    optimizer: str
    learning_rate: float
    momentum: float = 0.0

    def overrides(self) -> dict:
        changes = {"training.batch_size": self.batch_size, "optimizer.name": self.optimizer,
                   "optimizer.learning_rate": self.learning_rate}
        if self.optimizer == "sgd":
            changes["optimizer.momentum"] = self.momentum
        return changes


# Learning rates: the plain SGD family shares 0.05 except batch-1 SGD, whose single-example steps are so
# noisy that it needs a smaller one; momentum 0.9 multiplies the effective step by 10, so it gets 0.005.
OPTIMIZER_VARIANTS = (
    Variant("batch GD (full batch)", "full", "sgd", 0.05),
    Variant("SGD (batch 1)", 1, "sgd", 0.005),
    Variant("mini-batch SGD (32)", 32, "sgd", 0.05),
    Variant("SGD + momentum 0.9 (32)", 32, "sgd", 0.005, momentum=0.9),
    Variant("Adam (32)", 32, "adam", 0.001),
)


@dataclass
class VariantResult:
    variant: Variant
    path: Path
    state: str
    history: dict
    test: dict
    updates_per_epoch: int

    @property
    def seconds(self) -> float:
        return float(self.history.get("seconds", [float("nan")])[-1])


def optimizer_specs(model: "str | Path | ModelSpec" = "mlp", dataset: str | None = None,
                    epochs: int | None = None, seed: int | None = None) -> list[tuple[Variant, ModelSpec]]:
    """Each variant's spec: the same network, data, seed (hence the same initial weights) and epochs.

    Without the spec's augmentation: each variant sees the dataset's own examples, so updates per epoch are its size.
    """
    base = load_spec(model).with_overrides(**{"training.augment": 0})
    common = {k: v for k, v in (("dataset", dataset), ("training.epochs", epochs), ("training.seed", seed)) if v is not None}
    return [(v, base.with_overrides(**common, **v.overrides())) for v in OPTIMIZER_VARIANTS]


def compare_optimizers(model="mlp", dataset=None, epochs=None, seed=None, data=None, progress=False,
                       log=None) -> list[VariantResult]:
    """Train every variant (each a run folder, like `zoo train`) and return their histories and test metrics."""
    from .datasets import load_dataset
    from .training import _batch_size, train

    results = []
    for variant, spec in optimizer_specs(model, dataset, epochs, seed):
        if log:
            log(f"== {variant.label}")
        data = data if data is not None else load_dataset(spec.dataset)
        batch = _batch_size(spec, len(data.x_train))
        result = train(spec, data=data, progress=progress)
        results.append(VariantResult(variant, result.path, result.state, result.history, result.test,
                                     -(-len(data.x_train) // batch)))
    return results


def format_optimizer_table(results: list[VariantResult]) -> str:
    header = f"{'variant':26s} {'final loss':>10s} {'val acc':>8s} {'test acc':>8s} {'seconds':>8s} {'updates/epoch':>13s}"
    lines = [header, "-" * len(header)]
    for r in results:
        loss = r.history.get("loss", [float("nan")])[-1]
        val = (r.history.get("val_accuracy") or [float("nan")])[-1]
        loss = float("nan") if loss is None else loss
        val = float("nan") if val is None else val
        lines.append(f"{r.variant.label:26s} {loss:10.4f} {val:8.3f} {r.test.get('accuracy', float('nan')):8.3f} "
                     f"{r.seconds:8.1f} {r.updates_per_epoch:13d}")
    return "\n".join(lines)


# -- the perceptron rule on a truth table ------------------------------------------------------------
@dataclass
class TruthTableResult:
    """The perceptron rule run on a truth table: its answers, weights, bias and convergence."""

    dataset: str
    feature_names: tuple[str, ...]
    x: np.ndarray
    target: np.ndarray
    output: np.ndarray
    weights: list[float]
    bias: float
    converged_epoch: int | None
    epochs: int
    cycle: tuple[int, int] | None = None  # (epoch, earlier epoch): stopped when the weights repeated (see RuleTrainer)

    def decision_line(self) -> str:
        """The line w1*x1 + w2*x2 + b = 0 where the output flips (it is 1 on the positive side)."""
        (w1, w2), b = self.weights, self.bias
        a, c = self.feature_names
        if w1 == 0 and w2 == 0:
            return f"none (w = 0): the output is {int(b > 0)} everywhere"
        line = f"{w1:g}*{a} {_signed(w2)}*{c} {_signed(b)} = 0"
        if w2 != 0:
            return f"{line}, i.e. {c} = {-w1 / w2 + 0.0:g}*{a} {_signed(-b / w2)}"
        return f"{line}, i.e. {a} = {-b / w1 + 0.0:g}"

    def format(self) -> str:
        names = list(self.feature_names)
        widths = [max(len(n), 1) for n in names]
        header = "  ".join(f"{n:>{w}}" for n, w in zip(names, widths)) + "  | target  output"
        lines = [header, "-" * len(header)]
        for row, t, o in zip(self.x, self.target, self.output):
            cells = "  ".join(f"{int(v):>{w}}" for v, w in zip(row, widths))
            lines.append(f"{cells}  | {int(t):>6}  {int(o):>6}" + ("" if t == o else "   <- wrong"))
        lines.append(f"weights {[round(w, 4) for w in self.weights]}, bias {self.bias:g}")
        lines.append(f"decision line: {self.decision_line()}")
        from .perceptron_rule import outcome_message, separable

        lines.append(outcome_message(self.converged_epoch, self.epochs,
                                     None if self.converged_epoch else separable(self.x, self.target), self.dataset,
                                     self.cycle))
        return "\n".join(lines)


def learn_truth_table(dataset: str = "concert", epochs: int = 20, learning_rate: float = 1.0,
                      seed: int = 0) -> TruthTableResult:
    """Train the perceptron by its rule, one example at a time in table order (as by hand, and as the app's
    playground does), on a two-input truth table.

    Example:
        >>> print(learn_truth_table("concert").format())
    """
    from .callbacks import StopWhenConverged
    from .datasets import load_dataset
    from .errors import SpecError
    from .factory import build
    from .perceptron_rule import TRUTH_TABLES

    if dataset not in TRUTH_TABLES:
        raise SpecError(f"Invalid truth table: received {dataset!r}; expected one of {', '.join(TRUTH_TABLES)}")
    data = load_dataset(dataset)
    model = build("perceptron", dataset=dataset, training__epochs=epochs, optimizer__learning_rate=learning_rate,
                  training__seed=seed)
    # The rule in table order is deterministic: once an epoch ends with weights an earlier one ended with, it
    # repeats forever (the app's playground stops there too). Find that epoch by hand, then let Keras run as many.
    from .perceptron_rule import RuleTrainer

    w0, b0 = model.weights_and_bias()
    rule = RuleTrainer((data.x_train, data.y_train), w0, b0, learning_rate, epochs, stop_on_cycle=True)
    for _ in rule:
        pass
    run_epochs = rule.epochs_done if rule.cycle else epochs
    converged = StopWhenConverged(data.x_train, data.y_train)
    model.fit(data.x_train, data.y_train.astype(np.float32), batch_size=1, epochs=run_epochs, shuffle=False, verbose=0,
              callbacks=[converged])
    weights, bias = model.weights_and_bias()
    output = np.asarray(model(data.x_train)).reshape(-1).astype(int)
    return TruthTableResult(dataset, data.info.feature_names or ("x1", "x2"), data.x_train, data.y_train, output,
                            weights, bias, converged.converged_epoch, run_epochs, rule.cycle)


def _signed(value: float) -> str:
    return f"- {-value:g}" if value < 0 else f"+ {value + 0.0:g}"  # + 0.0: never "-0"
