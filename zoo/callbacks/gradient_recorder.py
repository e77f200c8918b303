from __future__ import annotations

import math

import numpy as np

from .._backend import keras
from ..layer_paths import trainable_layers, variable_name
from .gradient_statistics_optimizer import DETAIL_FIELDS, HIST_EDGES, NORM_FIELDS, GradientStatisticsOptimizer

GRAD_STATS = ("grad_norm", "grad_norm_clipped")  # every `every` steps
DETAIL_STATS = ("grad_mean_abs", "grad_max_abs", "weight_norm", "update_ratio")  # every `detail_every` steps


class GradientRecorder(keras.callbacks.Callback):
    """Record per-layer and per-variable statistics of the real training gradients, step by step.

    For the length of a `fit` it wraps the model's optimiser in a `GradientStatisticsOptimizer`, which
    measures the gradients inside the compiled train step, as the optimiser receives them, on the
    TensorFlow, JAX and PyTorch backends, one device or several. The measurements wait in a device-side
    ring buffer that is read every `flush_every` records: no per-step synchronisation, no per-step work in
    Python. When `fit` ends the model gets its own optimiser back.

    Layers are named by their path in the model (`block_1/conv`), in depth order from the input (1 =
    nearest); variables by the layer path and their name (`block_1/conv/kernel`). Recorded:
    - every `every` steps, `GRAD_STATS`: `grad_norm` (L2) and `grad_norm_clipped` (after the optimiser's
      clipping; NaN without clipping);
    - at step 1 and every `detail_every` steps, `DETAIL_STATS` and a histogram of log10|g| over
      `HIST_EDGES`: mean and max |g|, the weight norm after the update and the update-to-weight ratio
      ||w_after - w_before|| / ||w_before||.

    Args:
        every: record the norms every k-th step (1 = every step).
        detail_every: interval in steps of the details and histograms (0 = never).
        flush_every: how many records the device buffer holds before they are copied out.
        on_flush: optional `fn(recorder, (steps, epochs, stats))` called after each copy (e.g. to append to a CSV).

    Example:
        >>> recorder = GradientRecorder()
        >>> model.fit(x, y, epochs=1, callbacks=[recorder])
        >>> recorder.table()["grad_norm"][:, 0]              # first layer, every step
        >>> recorder.table(per="variable")["grad_norm"]      # (steps, variables): kernels and biases apart
        >>> recorder.details()["grad_max_abs"]               # (detail steps, layers)
    """

    def __init__(self, every: int = 1, detail_every: int = 100, flush_every: int = 256, on_flush=None):
        super().__init__()
        for name, value in (("every", every), ("flush_every", flush_every)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, received {value!r}")
        if not isinstance(detail_every, int) or isinstance(detail_every, bool) or detail_every < 0:
            raise ValueError(f"detail_every must be a non-negative integer, received {detail_every!r}")
        self.every, self.detail_every, self.flush_every, self.on_flush = every, detail_every, flush_every, on_flush
        self.layer_names: list[str] = []
        self.variable_names: list[str] = []
        self._original = self._optimizer = None

    # ------------------------------------------------------------------------------------ set-up
    def on_train_begin(self, logs=None):
        model = self.model
        while isinstance(model.optimizer, GradientStatisticsOptimizer):  # left by a fit that raised (no on_train_end)
            model.optimizer = model.optimizer.inner_optimizer
        if getattr(model.optimizer, "gradient_accumulation_steps", None):
            raise ValueError("GradientRecorder does not record optimisers with gradient_accumulation_steps (each "
                             "micro-batch's gradient would be recorded as a step)")
        self._original = model.optimizer
        variables = list(model.trainable_variables)
        position = {id(v): i for i, v in enumerate(variables)}
        self.layer_names, self.variable_names, self._groups = [], [], []
        for path, layer_variables in trainable_layers(model):
            indices = [position[id(v)] for v in layer_variables if id(v) in position]
            if indices:
                self.layer_names.append(path)
                self._groups.append(indices)
                self.variable_names.extend(variable_name(path, v) for v in layer_variables if id(v) in position)
        self._order = [i for group in self._groups for i in group]  # variables in depth order
        self._sizes = np.array([math.prod(v.shape) for v in variables], np.float64)
        execution = max(1, int(getattr(model, "steps_per_execution", 1) or 1))
        capacity = max(self.flush_every, -(-execution // self.every) + 1)
        self._execution = execution
        self.steps, self.epochs, self.stats = [], [], []  # stats: each (rows, n_variables, len(NORM_FIELDS))
        self.detail_steps, self.detail_epochs, self._details = [], [], []
        self.histograms_per_variable: list[np.ndarray] = []
        if not variables:  # nothing trains: nothing to record (and JAX's step has no gradients to measure)
            self._original = self._optimizer = None
            return
        self._optimizer = GradientStatisticsOptimizer(self._original, every=self.every, detail_every=self.detail_every,
                                                      capacity=capacity)
        strategy = getattr(model, "distribute_strategy", None)  # TensorFlow: variables live on every replica
        if strategy is not None:
            with strategy.scope():
                self._optimizer.build(variables)
        else:
            self._optimizer.build(variables)
        model.optimizer = self._optimizer
        model.make_train_function(force=True)  # retrace the step with the measuring optimiser in it
        self._norms_read = self._details_read = 0
        self._epoch = 0
        self._epoch_first_step = self._flushed_at = int(keras.ops.convert_to_numpy(self._original.iterations))

    def on_train_end(self, logs=None):
        self._flush()
        if self._original is not None:
            self.model.optimizer = self._original
            self.model.make_train_function(force=True)
            self._original = None

    # ------------------------------------------------------------------------------ in Python
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step, not after it: Keras only runs batch-end hooks asynchronously when no callback needs them.
        if self._optimizer is None:
            return
        done = self._epoch_first_step + batch
        window = done + self._execution - self._flushed_at  # the steps the buffers must hold after this execution
        opt = self._optimizer
        if window // self.every + 1 > opt.capacity or (self.detail_every and window // self.detail_every + 2 > opt.detail_capacity):
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._flush()
        if self._original is not None:
            self._epoch_first_step = int(keras.ops.convert_to_numpy(self._original.iterations))

    def _read(self, variable) -> np.ndarray:
        return keras.ops.convert_to_numpy(variable.value)

    def _flush(self):
        """Copy the new records out of the device buffers."""
        opt = self._optimizer
        if opt is None or not opt.built:
            return
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()  # JAX keeps the live state outside the variables during an epoch
        self._flushed_at = int(keras.ops.convert_to_numpy(opt.iterations))
        count = int(self._read(opt.norm_count))
        new = count - self._norms_read
        if new > 0:
            slots = np.arange(self._norms_read, count) % opt.norm_slots
            steps = self._read(opt.norm_steps)[slots].astype(np.int64)
            rows = self._read(opt.norm_buffer)[slots]
            self.steps.append(steps)
            self.epochs.append(np.full(len(steps), self._epoch + 1, np.int32))
            self.stats.append(rows)
            self._norms_read = count
            if self.on_flush is not None:
                self.on_flush(self, (steps, self.epochs[-1], self._per_layer_norms(rows)))
        count = int(self._read(opt.detail_count)) if self.detail_every else 0
        if count > self._details_read:
            slots = np.arange(self._details_read, count) % opt.detail_slots
            self.detail_steps.extend(self._read(opt.detail_steps)[slots].astype(int).tolist())
            self.detail_epochs.extend([self._epoch + 1] * len(slots))
            self._details.extend(self._read(opt.detail_buffer)[slots])
            self.histograms_per_variable.extend(self._read(opt.detail_histograms)[slots].astype(np.int32))
            self._details_read = count

    # ------------------------------------------------------------------------------- results
    def _per_layer_norms(self, rows: np.ndarray) -> np.ndarray:
        """(k, n_variables, NORM_FIELDS) squared sums -> (k, n_layers, GRAD_STATS) norms."""
        sq = np.stack([rows[:, group, :].sum(axis=1) for group in self._groups], axis=1)
        return np.sqrt(sq).astype(np.float32)

    def table(self, per: str = "layer") -> dict[str, np.ndarray]:
        """All records: `step` and `epoch` (rows,), and each of GRAD_STATS as (rows, n_layers) or, with
        `per="variable"`, (rows, n_variables) in the order of `variable_names`."""
        if per not in ("layer", "variable"):
            raise ValueError(f"per must be 'layer' or 'variable', received {per!r}")
        width = len(self.layer_names) if per == "layer" else len(self.variable_names)
        if not self.stats:
            empty = np.zeros((0, width), np.float32)
            return {"step": np.zeros(0, np.int64), "epoch": np.zeros(0, np.int32), **{k: empty for k in GRAD_STATS}}
        rows = np.concatenate(self.stats)
        norms = self._per_layer_norms(rows) if per == "layer" else np.sqrt(rows[:, self._order, :]).astype(np.float32)
        out = {"step": np.concatenate(self.steps), "epoch": np.concatenate(self.epochs)}
        out.update({name: norms[:, :, NORM_FIELDS.index(field)] for name, field in zip(GRAD_STATS, NORM_FIELDS)})
        return out

    def details(self, per: str = "layer") -> dict[str, np.ndarray]:
        """The detail records: `step`, `epoch` (k,), each of DETAIL_STATS (k, n) and `histogram` (k, n, bins),
        n layers or, with `per="variable"`, n variables."""
        if per not in ("layer", "variable"):
            raise ValueError(f"per must be 'layer' or 'variable', received {per!r}")
        groups = self._groups if per == "layer" else [[i] for i in self._order]
        k, bins = len(self._details), len(HIST_EDGES) - 1
        raw = np.stack(self._details).astype(np.float64) if k else np.zeros((0, len(self._sizes), len(DETAIL_FIELDS)))
        field = {name: raw[:, :, i] for i, name in enumerate(DETAIL_FIELDS)}
        hist = np.stack(self.histograms_per_variable) if k else np.zeros((0, len(self._sizes), bins), np.int32)
        sizes = self._sizes

        def over(values, reduce):
            return np.stack([reduce(values[:, g], axis=1) for g in groups], axis=1) if k else np.zeros((0, len(groups)))

        stats = {
            "grad_mean_abs": over(field["abs_sum"], np.sum) / np.array([sizes[g].sum() for g in groups]),
            "grad_max_abs": over(field["abs_max"], np.max),
            "weight_norm": np.sqrt(over(field["weight_sq"], np.sum)),
            "update_ratio": _ratio(np.sqrt(over(field["update_sq"], np.sum)), np.sqrt(over(field["before_sq"], np.sum))),
        }
        out = {"step": np.array(self.detail_steps, np.int64), "epoch": np.array(self.detail_epochs, np.int32)}
        out.update({name: stats[name].astype(np.float32) for name in DETAIL_STATS})
        out["histogram"] = (np.stack([hist[:, g, :].sum(axis=1) for g in groups], axis=1).astype(np.int32) if k
                            else np.zeros((0, len(groups), bins), np.int32))
        return out

    @property
    def histograms(self) -> list[np.ndarray]:
        """One (n_layers, bins) log10|g| histogram per detail step."""
        return list(self.details()["histogram"])

    def nbytes(self) -> int:
        arrays = self.steps + self.epochs + self.stats + self._details + self.histograms_per_variable
        return int(sum(a.nbytes for a in arrays))


def _ratio(update: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """||update|| / ||weight||; NaN where the weights were all zero (a bias at its first step)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weight > 0, update / np.where(weight > 0, weight, 1.0), np.nan)
