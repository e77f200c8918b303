"""Rosenblatt's perceptron as a Keras model, trained by the perceptron learning rule."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._backend import keras
from keras import ops


def step(z):
    """The Heaviside step: 1 where z > 0, else 0 (the threshold is folded into the bias)."""
    return ops.cast(ops.greater(z, 0), z.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class Perceptron(keras.Model):
    """One unit: y = step(w . x + b), trained by the perceptron rule w += lr * (target - y) * x.

    No gradient is involved: `train_step` applies the rule directly (summed over the batch,
    so batch_size = 1 is Rosenblatt's online rule). Weights start at zero, as in the textbook.

    Args:
        learning_rate: the rule's step size (positive).

    Example:
        >>> model = zoo.build("perceptron")
        >>> model.fit(x, y, batch_size=1, epochs=10)
        >>> model.weights_and_bias()
    """

    def __init__(self, learning_rate: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, received {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.unit = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros", name="unit")
        # The rule computes no loss; what fit reports as "loss" is the error rate: the fraction of examples the
        # unit answered wrong (before each update, as the rule saw them). On 0/1 answers it equals their MSE.
        self.error_rate = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        # the error rate stands in for the compiled loss tracker, which nothing here updates
        return [self.error_rate, *(m for m in super().metrics if m.name != "loss")]

    def build(self, input_shape):
        self.unit.build(input_shape)
        self.built = True

    def call(self, x):
        return step(self.unit(x))

    def train_step(self, data):
        x, y = data[0], data[1]
        y = ops.cast(ops.reshape(y, (-1, 1)), x.dtype)
        y_pred = self(x)
        error = y - y_pred  # +1: should have fired, -1: should not have, 0: right
        self.unit.kernel.assign_add(self.learning_rate * ops.matmul(ops.transpose(x), error))
        self.unit.bias.assign_add(self.learning_rate * ops.sum(error, axis=0))
        self.error_rate.update_state(ops.abs(error))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)

    def test_step(self, data):
        x, y = data[0], data[1]
        y = ops.cast(ops.reshape(y, (-1, 1)), x.dtype)
        y_pred = self(x)
        self.error_rate.update_state(ops.abs(y - y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)

    def weights_and_bias(self) -> tuple[list[float], float]:
        kernel, bias = (w.numpy() for w in (self.unit.kernel, self.unit.bias))
        return [float(v) for v in kernel[:, 0]], float(bias[0])

    def get_config(self):
        return {**super().get_config(), "learning_rate": self.learning_rate}


from .perceptron_rule import TRUTH_TABLES  # noqa: E402  (name -> TruthTable; kept here for existing imports)


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
    from .registry import build

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
