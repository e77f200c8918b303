from __future__ import annotations

import types

import numpy as np

from .._backend import keras

ops = keras.ops

# Per variable, as sums (so layers and the whole model are sums of their variables):
NORM_FIELDS = ("grad_sq", "clipped_sq")  # every `every` steps
DETAIL_FIELDS = ("abs_sum", "abs_max", "weight_sq", "update_sq", "before_sq")  # at detail steps
HIST_EDGES = np.linspace(-12.0, 2.0, 29)
MAX_STEPS = 2**31 - 1  # steps are int32 on the device  # log10|g| bins: 1e-12 .. 1e2, half a decade wide


@keras.saving.register_keras_serializable(package="zoo")
class GradientStatisticsOptimizer(keras.optimizers.Optimizer):
    """Wrap an optimiser and measure, inside its `apply`, the gradients it is given.

    As Keras' `LossScaleOptimizer` wraps another optimiser, this one passes every update to the one it
    wraps and keeps its statistics in its own variables. The statistics are therefore computed inside the
    compiled train step on every backend: in place on TensorFlow and PyTorch, and through JAX's stateless
    step like any optimiser state. Gradients are measured before clipping (and unscaled, when the wrapped
    optimiser is a `LossScaleOptimizer`); with clipping configured, the norms after clipping are derived
    from them exactly as Keras clips (`clipvalue`, then `clipnorm` per variable, or `global_clipnorm`).

    Under `tf.distribute` the statistics are those of the global batch (the replicas' gradients summed,
    as the optimiser sums them); under `keras.distribution` JAX computes them on the global arrays.

    Saving a model while it trains with this optimiser writes the wrapped optimiser's state only, where a
    plain optimiser writes it: checkpoints load into the model compiled without it.

    Args:
        inner_optimizer: the `keras.optimizers.Optimizer` to wrap.
        every: measure the norms every k-th step.
        detail_every: measure mean and max |g|, the log10|g| histogram, the weight norms and the update
            norms at step 1 and every k-th step (0 = never).
        capacity: how many norm records the ring buffer holds before they must be read.

    Example:
        >>> opt = GradientStatisticsOptimizer(keras.optimizers.Adam())
        >>> model.compile(optimizer=opt, loss="mse"); model.fit(x, y)
        >>> opt.norm_buffer, opt.norm_steps, opt.norm_count   # GradientRecorder reads and decodes them for you
    """

    def __init__(self, inner_optimizer, every: int = 1, detail_every: int = 100, capacity: int = 256, name=None, **kwargs):
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise ValueError(f"inner_optimizer must be a keras.optimizers.Optimizer, received {inner_optimizer!r}")
        for arg, value, least in (("every", every, 1), ("detail_every", detail_every, 0), ("capacity", capacity, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= MAX_STEPS:
                raise ValueError(f"{arg} must be an integer from {least} to {MAX_STEPS}, received {value!r}")
        super().__init__(learning_rate=0.0, name=name or f"recording_{inner_optimizer.name}", **kwargs)
        # Held outside Keras' attribute tracking: saving walks this optimiser's attributes, and the wrapped
        # one must be saved in its place (see save_own_variables), not beneath it.
        self._wrapped = types.SimpleNamespace(optimizer=inner_optimizer)
        self.every, self.detail_every, self.capacity = every, detail_every, capacity
        # At most this many detail steps fall in the steps one full norm buffer spans (plus step 1).
        self.detail_capacity = min(capacity, (capacity * every) // detail_every) + 2 if detail_every else 1
        # Each step writes into the slot after the last record and only a recorded step keeps it: one slot
        # more than the records held, so that scratch write never lands on a record not yet read.
        self.norm_slots, self.detail_slots = capacity + 1, self.detail_capacity + 1

    @property
    def inner_optimizer(self):
        return self._wrapped.optimizer

    # ----------------------------------------------------------------------------------- state
    def build(self, var_list):
        if self.built:
            return
        inner = self.inner_optimizer
        if not inner.built:
            inner.build(var_list)
        n, bins = len(var_list), len(HIST_EDGES) - 1

        def add(shape, dtype="float32", name=""):
            return self.add_variable(shape=shape, dtype=dtype, initializer="zeros", aggregation="only_first_replica",
                                     name=name)

        self.norm_buffer = add((self.norm_slots, n, len(NORM_FIELDS)), name="norm_buffer")
        self.norm_steps = add((self.norm_slots,), "int32", "norm_steps")
        self.norm_count = add((), "int32", "norm_count")
        slots = self.detail_slots
        self.detail_buffer = add((slots, n, len(DETAIL_FIELDS)), name="detail_buffer")
        self.detail_histograms = add((slots, n, bins), name="detail_histograms")
        self.detail_steps = add((slots,), "int32", "detail_steps")
        self.detail_count = add((), "int32", "detail_count")
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def save_own_variables(self, store):
        self.inner_optimizer.save_own_variables(store)

    def load_own_variables(self, store):
        self.inner_optimizer.load_own_variables(store)

    # ------------------------------------------------------------------- the wrapped optimiser
    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {"name": self.name, "inner_optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
                "every": self.every, "detail_every": self.detail_every, "capacity": self.capacity}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        inner = keras.saving.deserialize_keras_object(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)

    # ------------------------------------------------------------------------------ the step
    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
        grads = list(grads)
        if keras.backend.backend() == "torch":
            return self._apply_eagerly(grads, trainable_variables)
        # Read before the update: the step it makes (1-based), the loss scale it unscales by, the weights.
        step = ops.copy(ops.cast(self.iterations, "int32")) + 1
        scale = self._loss_scale()
        before = [self._snapshot(v) for v in trainable_variables] if self.detail_every else None
        result = self.inner_optimizer.apply(grads, trainable_variables)
        self._record(step, scale, grads, before, [v.value for v in trainable_variables])
        return result

    def _apply_eagerly(self, grads, trainable_variables):
        """`apply` where the step runs eagerly (PyTorch): Python decides what this step records and only that is
        computed and written, in place, in plain PyTorch (the graph form's branches, scratch writes and Keras' op
        dispatch cost more than the norms themselves)."""
        import torch

        if not self.built:
            raise ValueError("GradientStatisticsOptimizer must be built on the model's variables before apply()")
        step = int(self.inner_optimizer.iterations.value) + 1
        scale = self._loss_scale()
        scale = None if scale is None else float(scale)
        detail = bool(self.detail_every) and self._is_detail_step(step)
        before = [v.value.detach().clone() for v in trainable_variables] if detail else None
        result = self.inner_optimizer.apply(grads, trainable_variables)
        with torch.no_grad():
            measured = [None if g is None else g.detach().float() / scale if scale is not None else g.detach().float()
                        for g in grads]
            if step % self.every == 0:
                slot = int(self.norm_count.value) % self.norm_slots
                self.norm_buffer.value[slot] = self._norms(measured)
                self.norm_steps.value[slot] = step
                self.norm_count.value.add_(1)
            if detail:
                details, histograms = _torch_details(measured, before, [v.value for v in trainable_variables])
                slot = int(self.detail_count.value) % self.detail_slots
                self.detail_buffer.value[slot] = details
                self.detail_histograms.value[slot] = histograms
                self.detail_steps.value[slot] = step
                self.detail_count.value.add_(1)
        return result

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """JAX's step: the wrapped optimiser's own stateless update, then the statistics, also stateless."""
        own = len(self._variables)
        mine, theirs = list(optimizer_variables[:own]), list(optimizer_variables[own:])
        inner = self.inner_optimizer
        step = ops.cast(theirs[[id(v) for v in inner.variables].index(id(inner.iterations))], "int32") + 1
        new_trainable, new_theirs = inner.stateless_apply(theirs, grads, trainable_variables)
        mapping = list(zip(self._variables, mine)) + list(zip(inner.variables, theirs))  # theirs as before the step
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self._record(step, self._loss_scale(), list(grads), list(trainable_variables), list(new_trainable))
        updated = [scope.get_current_value(v) for v in self._variables]
        new_mine = [value if value is not None else old for value, old in zip(updated, mine)]
        return new_trainable, new_mine + list(new_theirs)

    def _record(self, step, scale, grads, before, after):
        if not self.built:
            raise ValueError("GradientStatisticsOptimizer must be built on the model's variables before apply()")
        measured = self._global_gradients(self._unscaled(grads, scale))
        measured, before, after = _unfused((measured, before, after))
        n = len(measured)
        is_norm_step = ops.equal(step % self.every, 0)
        if self.every == 1:  # every step: no branch needed
            row = self._norms(measured)
        else:
            row = ops.cond(is_norm_step, lambda: self._norms(measured), lambda: ops.zeros((n, len(NORM_FIELDS))))
        # Written every step into the slot at `norm_count`; only a norm step moves past it.
        slot = ops.reshape(self.norm_count % self.norm_slots, (1, 1))
        self.norm_buffer.assign(ops.scatter_update(self.norm_buffer, slot, row[None]))
        self.norm_steps.assign(ops.scatter_update(self.norm_steps, slot, ops.reshape(step, (1,))))
        self.norm_count.assign(self.norm_count + ops.cast(is_norm_step, "int32"))
        if not self.detail_every:
            return
        is_detail = ops.logical_or(ops.equal(step, 1), ops.equal(step % self.detail_every, 0))
        bins = len(HIST_EDGES) - 1
        details, histograms = ops.cond(
            is_detail, lambda: self._details(measured, before, after),
            lambda: (ops.zeros((n, len(DETAIL_FIELDS))), ops.zeros((n, bins))))
        slot = ops.reshape(self.detail_count % self.detail_slots, (1, 1))
        self.detail_buffer.assign(ops.scatter_update(self.detail_buffer, slot, details[None]))
        self.detail_histograms.assign(ops.scatter_update(self.detail_histograms, slot, histograms[None]))
        self.detail_steps.assign(ops.scatter_update(self.detail_steps, slot, ops.reshape(step, (1,))))
        self.detail_count.assign(self.detail_count + ops.cast(is_detail, "int32"))

    def _is_detail_step(self, step) -> bool:
        step = int(step)
        return step == 1 or step % self.detail_every == 0

    def _loss_scale(self):
        """The factor the loss was multiplied by for this step (None: none)."""
        inner = self.inner_optimizer
        if isinstance(inner, keras.optimizers.LossScaleOptimizer):
            return ops.copy(ops.cast(inner.dynamic_scale, "float32"))  # a copy: PyTorch updates it in place
        if inner.loss_scale_factor is not None:
            return float(inner.loss_scale_factor)
        return None

    @staticmethod
    def _unscaled(grads, scale):
        """float32 gradients as the wrapped optimiser will apply them, before its clipping."""
        out = []
        for g in grads:
            g = None if g is None else ops.cast(ops.convert_to_tensor(g), "float32")
            out.append(g if g is None or scale is None else g / scale)
        return out

    @staticmethod
    def _global_gradients(grads):
        """Under tf.distribute each replica holds its share of the batch gradient: sum them, as the optimiser does."""
        if keras.backend.backend() != "tensorflow":
            return grads
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return grads
        present = [i for i, g in enumerate(grads) if g is not None]
        summed = context.all_reduce("sum", [grads[i] for i in present])
        out = list(grads)
        for i, g in zip(present, summed):
            out[i] = g
        return out

    def _snapshot(self, variable):
        # The value before the update: a copy (TensorFlow and PyTorch update their variables in place).
        return ops.copy(variable.value)

    def _norms(self, grads):
        """(n_variables, NORM_FIELDS): the squared norm of each gradient, and after the optimiser's clipping."""
        inner = self.inner_optimizer
        nan = ops.convert_to_tensor(float("nan"))
        if keras.backend.backend() == "torch":  # eager: Keras' op dispatch would cost more than the sums
            import torch

            squares = [nan if g is None else _torch_dot(g) for g in grads]
            if not (inner.clipvalue or inner.clipnorm or inner.global_clipnorm):
                squares = torch.stack(squares)
                return torch.stack([squares, torch.full_like(squares, float("nan"))], dim=1)
        else:
            squares = [nan if g is None else ops.sum(ops.square(g)) for g in grads]
        if not (inner.clipvalue or inner.clipnorm or inner.global_clipnorm):
            clipped = [nan for _ in grads]
        else:
            clipped = list(squares)
            if inner.clipvalue:
                clipped = [nan if g is None else ops.sum(ops.square(ops.clip(g, -inner.clipvalue, inner.clipvalue)))
                           for g in grads]
            if inner.clipnorm:  # each variable's gradient scaled to norm at most clipnorm
                clipped = [ops.minimum(c, float(inner.clipnorm) ** 2) for c in clipped]
            elif inner.global_clipnorm:  # all gradients scaled by one factor
                total = sum(c for c, g in zip(clipped, grads) if g is not None)
                limit = float(inner.global_clipnorm) ** 2
                factor = ops.where(total > limit, limit / ops.maximum(total, 1e-30), 1.0)
                clipped = [c * factor for c in clipped]
        return ops.stack([ops.stack(squares), ops.stack(clipped)], axis=1)

    def _details(self, grads, before, after):
        rows, hists = [], []
        width = float(HIST_EDGES[1] - HIST_EDGES[0])
        bins = len(HIST_EDGES) - 1
        nan = ops.convert_to_tensor(float("nan"))
        for g, b, a in zip(grads, before, after):
            b, a = ops.cast(b, "float32"), ops.cast(a, "float32")
            weights = [ops.sum(ops.square(a)), ops.sum(ops.square(a - b)), ops.sum(ops.square(b))]
            if g is None:
                rows.append(ops.stack([nan, nan, *weights]))
                hists.append(ops.zeros((bins,)))
                continue
            magnitude = ops.reshape(ops.abs(g), (-1,))
            rows.append(ops.stack([ops.sum(magnitude), ops.max(magnitude), *weights]))
            logs = ops.clip(ops.log10(magnitude + 1e-30), HIST_EDGES[0], HIST_EDGES[-1] - 1e-6)
            ids = ops.cast(ops.floor((logs - HIST_EDGES[0]) / width), "int32")
            ids = ops.where(ops.isfinite(magnitude), ids, bins)  # NaN and inf: an extra bin, dropped
            hists.append(ops.segment_sum(ops.ones_like(logs), ids, num_segments=bins + 1)[:bins])
        return ops.stack(rows), ops.stack(hists)


def _torch_details(grads, before, after):
    """`_details` in plain PyTorch (eager: Keras' op dispatch per statistic costs more than the statistics)."""
    import torch

    bins, low, high = len(HIST_EDGES) - 1, float(HIST_EDGES[0]), float(HIST_EDGES[-1])
    width = float(HIST_EDGES[1] - HIST_EDGES[0])
    rows, hists = [], []
    for g, b, a in zip(grads, before, after):
        b, a = b.float(), a.float()
        change = a - b
        weights = [_torch_dot(a), _torch_dot(change), _torch_dot(b)]
        if g is None or g.numel() == 0:
            nan = torch.full((), float("nan"), device=a.device)  # on the weights' device (CUDA, ...), as the rest
            rows.append(torch.stack([nan, nan, *weights]))
            hists.append(torch.zeros(bins, device=a.device))
            continue
        magnitude = g.abs().reshape(-1)
        rows.append(torch.stack([magnitude.sum(), magnitude.max(), *weights]))
        logs = torch.log10(magnitude + 1e-30).clamp_(low, high - 1e-6)
        ids = torch.floor_((logs - low) / width).long()
        ids[~torch.isfinite(magnitude)] = bins  # NaN and inf: an extra bin, dropped
        hists.append(torch.bincount(ids, minlength=bins + 1)[:bins].float())
    return torch.stack(rows), torch.stack(hists)


def _torch_dot(g):
    """sum(g**2) of a PyTorch tensor as one BLAS call, with no temporary the size of g."""
    flat = g.reshape(-1)
    return flat.dot(flat)


def _unfused(values):
    """On JAX, keep XLA from fusing the statistics' reductions into the update's elementwise loops (likely: a
    loop holding a reduction runs on one core). Measured on an mlp step: the norms cost 17 % fused, 8-9 % apart."""
    if keras.backend.backend() != "jax":
        return values
    import jax

    return jax.lax.optimization_barrier(values)
