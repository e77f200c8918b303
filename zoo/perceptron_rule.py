"""The perceptron rule in plain NumPy, one example at a time: what the app's playground animates.

The same unit as `zoo.perceptron.Perceptron` (Keras), without TensorFlow: importing this module
imports NumPy only (`separable` imports SciPy's linear programming when it is called).

    output = step(w . x + b)          step(z) = 1 if z > 0 else 0
    w += lr * (target - output) * x
    b += lr * (target - output)

Example:
    >>> for u in train_steps("concert"):
    ...     print(u.describe(TRUTH_TABLES["concert"].feature_names))
    >>> result = learn("xor", max_epochs=100)
    >>> result.converged_epoch is None      # no line separates XOR
    True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence, Union

import numpy as np

VIEW_BOX = (-0.5, 1.5, -0.5, 1.5)  # x1 min, x1 max, x2 min, x2 max: the unit square with a margin
_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)  # the same rows, in the same order, as zoo.datasets


@dataclass(frozen=True, eq=False)
class TruthTable:
    """A two-input truth table: the four inputs (0,0), (0,1), (1,0), (1,1) in that order and their targets."""

    name: str
    description: str
    target: np.ndarray  # (4,) of 0/1
    feature_names: tuple[str, str] = ("x1", "x2")  # as in zoo.datasets
    class_names: tuple[str, str] = ("0", "1")
    questions: tuple[str, str] = ("x1", "x2")  # how the app labels the input toggles
    output_question: str = "output"  # how the app labels the output ("Go to the concert")
    x: np.ndarray = field(default_factory=lambda: _INPUTS.copy())

    def __post_init__(self):
        target = np.asarray(self.target, np.int64).reshape(-1)
        if target.shape != (len(self.x),) or not np.isin(target, (0, 1)).all():
            raise ValueError(f"a truth table's targets are {len(self.x)} values of 0 or 1, received {self.target!r}")
        object.__setattr__(self, "target", target)

    @property
    def y(self) -> np.ndarray:
        return self.target

    def with_target(self, target, name: str = "custom") -> "TruthTable":
        """The same inputs and labels with other targets (the app's editable target column)."""
        return TruthTable(name, "edited truth table", np.asarray(target), self.feature_names, self.class_names,
                          self.questions, self.output_question, self.x.copy())


TRUTH_TABLES: dict[str, TruthTable] = {t.name: t for t in (
    TruthTable("concert", "Go to the concert unless it rains and the ticket costs (go = free OR NOT raining)",
               np.array([1, 1, 0, 1]), ("raining", "ticket_free"), ("stay home", "go"),
               ("Raining?", "Ticket free?"), "Go to the concert"),
    TruthTable("and", "Logical AND of two bits (linearly separable)", np.array([0, 0, 0, 1]),
               output_question="x1 AND x2"),
    TruthTable("or", "Logical OR of two bits (linearly separable)", np.array([0, 1, 1, 1]),
               output_question="x1 OR x2"),
    TruthTable("xor", "Logical XOR of two bits (not linearly separable: no single line splits it)",
               np.array([0, 1, 1, 0]), output_question="x1 XOR x2"),
)}
"""name -> TruthTable, in the order concert, and, or, xor (iterating gives the names)."""

TableLike = Union[str, TruthTable, "tuple[np.ndarray, np.ndarray]"]


def truth_table(name: str) -> TruthTable:
    try:
        return TRUTH_TABLES[name]
    except KeyError:
        raise ValueError(f"Unknown truth table {name!r}; expected one of {', '.join(TRUTH_TABLES)}") from None


def as_arrays(table_or_arrays: TableLike) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as float64 (n, d) and int64 (n,) from a table name, a TruthTable or an (x, y) pair."""
    if isinstance(table_or_arrays, str):
        table_or_arrays = truth_table(table_or_arrays)
    if isinstance(table_or_arrays, TruthTable):
        x, y = table_or_arrays.x, table_or_arrays.target
    else:
        x, y = table_or_arrays
    x = np.asarray(x, np.float64)
    x = x.reshape(len(x), -1)
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"x and y must be non-empty and of the same length, received {len(x)} and {len(y)}")
    return x, y


# ------------------------------------------------------------------------------------------- the unit
def step(z):
    """The Heaviside step: 1 where z > 0, else 0 (an int for a scalar, an int array for an array)."""
    out = (np.asarray(z) > 0).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def weighted_sum(w, b, x):
    """w . x + b: a float for one input x (d,), an array (n,) for a batch (n, d)."""
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64) + float(b)
    return float(z) if np.ndim(z) == 0 else z


def predict(w, b, x):
    """The perceptron's answer(s): step(w . x + b)."""
    return step(weighted_sum(w, b, x))


def converged(w, b, x, y) -> bool:
    """True when the weights classify every example correctly (the rule would change nothing)."""
    x, y = as_arrays((x, y))
    return bool(np.array_equal(predict(w, b, x), y))


# -------------------------------------------------------------------------------------------- the rule
@dataclass(frozen=True, eq=False)
class Update:
    """One application of the rule to one example: what the unit answered and how the weights moved."""

    x: np.ndarray
    target: int
    output: int
    error: int  # target - output: +1 should have fired, -1 should not have, 0 right (no change)
    new_w: np.ndarray
    new_b: float
    delta_w: np.ndarray
    delta_b: float
    old_w: np.ndarray
    old_b: float
    weighted_sum: float  # w . x + b with the old weights
    learning_rate: float
    epoch: int = 0  # 1-based when it comes from train_steps / RuleTrainer (0: a lone rule_update)
    index: int = 0  # the example's row in the table
    epoch_end: bool = False  # the last example of its epoch

    @property
    def changed(self) -> bool:
        return self.error != 0

    def describe(self, feature_names: Sequence[str] | None = None) -> str:
        """One line, e.g. 'x=(1,0) target 0, output 1 -> w += 1·(-1)·x = (-1, 0), b += -1: w=(-1, 0), b=0'."""
        x = "(" + ",".join(_num(v) for v in self.x) + ")"
        head = f"epoch {self.epoch}, " if self.epoch else ""
        head += f"x={x} target {self.target}, output {self.output}"
        if not self.changed:
            return f"{head}: right, no change (w·x + b = {_num(self.weighted_sum)})"
        return (f"{head} → w += {_num(self.learning_rate)}·({self.error:+d})·x = {_vec(self.delta_w)}, "
                f"b += {_num(self.delta_b)}: w={_vec(self.new_w)}, b={_num(self.new_b)}")


def rule_update(w, b, x, target, lr: float = 1.0) -> Update:
    """Apply the perceptron rule to one example: w += lr (target - output) x, b += lr (target - output)."""
    if lr <= 0:
        raise ValueError(f"the learning rate must be positive, received {lr}")
    w = np.asarray(w, np.float64).reshape(-1).copy()
    x = np.asarray(x, np.float64).reshape(-1).copy()
    if w.shape != x.shape:
        raise ValueError(f"w and x must have the same length, received {len(w)} and {len(x)}")
    target = int(target)
    z = weighted_sum(w, b, x)
    output = step(z)
    error = target - output
    delta_w = lr * error * x
    delta_b = float(lr * error)
    return Update(x, target, output, error, w + delta_w, float(b) + delta_b, delta_w, delta_b, w, float(b), z,
                  float(lr))


class RuleTrainer:
    """The rule as a cursor over the table: `step()` applies it to the next example, in table order.

    After the last example of an epoch it checks the weights: when they classify every example
    correctly it stops with `converged_epoch` set (the convention of zoo's `StopWhenConverged`, so
    the same order gives the Keras `Perceptron` the same epoch); after `max_epochs` it stops with
    `converged_epoch = None`. Both `train_steps` and the app's Step/Train buttons drive one of these.

    With `stop_on_cycle`, it also stops when the weights at the end of an epoch equal those at the end
    of an earlier one (or the start): an epoch is fully determined by the weights it starts from and
    the fixed table order, so from there the rule repeats the same epochs forever and can never
    converge (`cycle = (epoch, earlier epoch)`, 0 for the start). That proves there is no line for this
    table before `max_epochs` runs out: XOR from zero repeats after 3 epochs. (A table a line separates
    never repeats: the perceptron convergence theorem.) Weights are compared rounded to 9 decimals.
    """

    def __init__(self, table_or_arrays: TableLike, w0=None, b0: float = 0.0, lr: float = 1.0,
                 max_epochs: int = 100, stop_on_cycle: bool = False):
        self.x, self.y = as_arrays(table_or_arrays)
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be at least 1, received {max_epochs}")
        self.w = np.zeros(self.x.shape[1]) if w0 is None else np.asarray(w0, np.float64).reshape(-1).copy()
        self.b = float(b0)
        self.lr = float(lr)
        self.max_epochs = int(max_epochs)
        self.epoch = 1  # the epoch the next step belongs to
        self.index = 0  # the next example
        self.errors_this_epoch = 0
        self.errors_by_epoch: list[int] = []  # mistakes (updates that moved the weights) in each finished epoch
        self.converged_epoch: int | None = None
        self.stop_on_cycle = bool(stop_on_cycle)
        self.cycle: tuple[int, int] | None = None  # (epoch, the earlier epoch whose end weights it repeats; 0: start)
        self._epoch_ends: dict[tuple, int] = {self._key(): 0}
        self.finished = False

    def _key(self) -> tuple:
        return tuple(np.round(np.append(self.w, self.b), 9).tolist())

    @property
    def epochs_done(self) -> int:
        return self.epoch if self.finished else self.epoch - 1

    def step(self) -> Update:
        if self.finished:
            raise RuntimeError("the rule has finished (converged or out of epochs): start a new RuleTrainer")
        u = rule_update(self.w, self.b, self.x[self.index], self.y[self.index], self.lr)
        self.w, self.b = u.new_w, u.new_b
        self.errors_this_epoch += int(u.error != 0)
        last = self.index == len(self.x) - 1
        u = _with(u, epoch=self.epoch, index=self.index, epoch_end=last)
        if not last:
            self.index += 1
            return u
        self.errors_by_epoch.append(self.errors_this_epoch)
        key = self._key()
        if converged(self.w, self.b, self.x, self.y):
            self.converged_epoch, self.finished = self.epoch, True
        elif self.stop_on_cycle and key in self._epoch_ends:
            self.cycle, self.finished = (self.epoch, self._epoch_ends[key]), True
        elif self.epoch >= self.max_epochs:
            self.finished = True
        else:
            self._epoch_ends.setdefault(key, self.epoch)
            self.epoch, self.index, self.errors_this_epoch = self.epoch + 1, 0, 0
        return u

    def __iter__(self) -> Iterator[Update]:
        while not self.finished:
            yield self.step()


def train_steps(table_or_arrays: TableLike, w0=None, b0: float = 0.0, lr: float = 1.0,
                max_epochs: int = 100, stop_on_cycle: bool = False) -> Iterator[Update]:
    """Every update of the rule, example by example in table order, epoch after epoch.

    Stops after the first epoch at whose end every example is classified correctly (the epoch
    after it would change nothing), or after `max_epochs`, or (`stop_on_cycle`) when an epoch ends
    with weights an earlier one ended with (see `RuleTrainer`). w0 defaults to zeros, as in the textbook.
    """
    return iter(RuleTrainer(table_or_arrays, w0, b0, lr, max_epochs, stop_on_cycle))


@dataclass
class RuleResult:
    updates: list[Update]
    w: np.ndarray
    b: float
    converged_epoch: int | None  # the epoch after which every example is right, or None
    epochs: int  # epochs run
    cycle: tuple[int, int] | None = None  # (epoch, earlier epoch) when stopped on a repeat (stop_on_cycle)


def learn(table_or_arrays: TableLike, w0=None, b0: float = 0.0, lr: float = 1.0, max_epochs: int = 100,
          stop_on_cycle: bool = False) -> RuleResult:
    """Run the rule to the end (see `train_steps`) and return every update and the final weights."""
    trainer = RuleTrainer(table_or_arrays, w0, b0, lr, max_epochs, stop_on_cycle)
    updates = list(trainer)
    return RuleResult(updates, trainer.w, trainer.b, trainer.converged_epoch, trainer.epochs_done, trainer.cycle)


def outcome_message(converged_epoch: int | None, epochs: int, is_separable: bool | None = None,
                    table_name: str | None = None, cycle: tuple[int, int] | None = None) -> str:
    """What the rule's run means, in one line (`cycle`: `RuleTrainer.cycle`, when it stopped on a repeat)."""
    if converged_epoch is not None:
        return f"Converged in epoch {converged_epoch}: every example is classified correctly"
    after = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    stopped = f"Stopped after {after}"
    if cycle is not None:
        epoch, earlier = cycle
        before = "the start" if earlier == 0 else f"epoch {earlier}"
        stopped = f"Stopped: epoch {epoch} ended with the weights of {before}, so the rule would repeat forever"
    if is_separable is False:
        who = "XOR" if table_name == "xor" else "these points"
        return f"No line separates these points: {who} needs a hidden layer (see xor-mlp). {stopped}"
    if cycle is not None:
        return stopped
    if is_separable is True:
        return f"Not converged after {after} (a line does separate these points: train on)"
    return f"Not converged after {after}"


# ------------------------------------------------------------------------------------------ geometry
def decision_line(w, b, box: Sequence[float] = VIEW_BOX) -> np.ndarray | None:
    """The segment of w1 x1 + w2 x2 + b = 0 inside box = (x1min, x1max, x2min, x2max), as [[x1, x2], [x1, x2]].

    None when w = 0 (no line: the output is the same everywhere) or when the line misses the box.
    """
    w1, w2 = (float(v) for v in np.asarray(w, np.float64).reshape(2))
    b = float(b)
    x1min, x1max, x2min, x2max = (float(v) for v in box)
    if w1 == 0 and w2 == 0:
        return None
    points = []
    if w2 != 0:  # crossings of the left and right edges
        for x1 in (x1min, x1max):
            x2 = -(w1 * x1 + b) / w2
            if x2min <= x2 <= x2max:
                points.append((x1, x2))
    if w1 != 0:  # crossings of the bottom and top edges
        for x2 in (x2min, x2max):
            x1 = -(w2 * x2 + b) / w1
            if x1min <= x1 <= x1max:
                points.append((x1, x2))
    unique = []
    for p in points:  # a line through a corner crosses two edges there
        if not any(abs(p[0] - q[0]) < 1e-12 and abs(p[1] - q[1]) < 1e-12 for q in unique):
            unique.append(p)
    if len(unique) < 2:
        return None
    pts = np.array(unique)
    direction = np.array([-w2, w1])  # along the line: keep its two extreme points
    proj = pts @ direction
    return np.array([pts[np.argmin(proj)], pts[np.argmax(proj)]])


def fires_region(w, b, box: Sequence[float] = VIEW_BOX) -> np.ndarray:
    """The polygon (k, 2) of the box where w . x + b > 0 (the unit fires); (0, 2) when it fires nowhere."""
    x1min, x1max, x2min, x2max = (float(v) for v in box)
    poly = [(x1min, x2min), (x1max, x2min), (x1max, x2max), (x1min, x2max)]
    w = np.asarray(w, np.float64).reshape(2)
    value = lambda p: w[0] * p[0] + w[1] * p[1] + float(b)  # noqa: E731
    out = []
    for i, p in enumerate(poly):  # Sutherland-Hodgman against the one half-plane value > 0
        q = poly[(i + 1) % len(poly)]
        vp, vq = value(p), value(q)
        if vp > 0:
            out.append(p)
        if (vp > 0) != (vq > 0) and vp != vq:
            t = vp / (vp - vq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return np.array(out, np.float64).reshape(-1, 2)


def separable(x, y) -> bool:
    """Whether some line (hyperplane) puts every 1 strictly on its positive side and every 0 on the other.

    A linear-programming feasibility test: is there (w, b) with s_i (w . x_i + b) >= 1, s_i = +-1?
    XOR is not separable; AND, OR and the concert are.
    """
    from scipy.optimize import linprog

    x, y = as_arrays((x, y))
    s = np.where(y == 1, 1.0, -1.0)
    a_ub = -s[:, None] * np.hstack([x, np.ones((len(x), 1))])  # -s_i (w . x_i + b) <= -1
    res = linprog(np.zeros(x.shape[1] + 1), A_ub=a_ub, b_ub=-np.ones(len(x)),
                  bounds=[(None, None)] * (x.shape[1] + 1), method="highs")
    return res.status == 0


# ------------------------------------------------------------------------------------------- helpers
def _with(u: Update, **changes) -> Update:
    from dataclasses import replace

    return replace(u, **changes)


def _num(v: float) -> str:
    v = float(v)
    return f"{round(v, 6) + 0.0:g}"


def _vec(v) -> str:
    return "(" + ", ".join(_num(a) for a in np.asarray(v).reshape(-1)) + ")"
