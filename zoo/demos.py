"""The textbook experiments: pairs of runs for vanishing and exploding gradients, and the gradient-descent variants."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .registry import load_spec
from .spec import ModelSpec

PAIRS = {"vanishing": ("deep-sigmoid", "deep-relu"), "exploding": ("exploding", "exploding-clipped")}


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
