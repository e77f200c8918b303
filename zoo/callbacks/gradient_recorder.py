from __future__ import annotations

import numpy as np

from .._backend import keras, tf

GRAD_STATS = ("grad_norm", "grad_mean_abs", "grad_max_abs", "grad_norm_clipped", "weight_norm")
HIST_EDGES = np.linspace(-12.0, 2.0, 29)  # log10|g| bins: 1e-12 .. 1e2, half a decade wide


def _sum_sq(tensors):
    return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors])


class GradientRecorder(keras.callbacks.Callback):
    """Record per-layer statistics of the real training gradients, step by step.

    It wraps the optimiser's `apply_gradients` inside the traced train step, so it sees exactly the
    gradients the optimiser receives, before clipping; with clipping configured it also records the
    norm after clipping (as the optimiser computes it). Statistics are kept in a device-side ring
    buffer and copied out every `flush_every` records, so recording adds no per-step synchronisation.

    Per trainable layer, in depth order (1 = nearest the input), every `every` steps: `grad_norm`
    (L2 over all the layer's variables), `grad_mean_abs`, `grad_max_abs`, `grad_norm_clipped` (NaN
    without clipping) and `weight_norm` (after the update). Every `histogram_every` steps: a histogram
    of log10|g| (`HIST_EDGES`) and the update-to-weight ratio ||w_after - w_before|| / ||w_before||.

    Args:
        every: record every k-th step (1 = every step).
        histogram_every: histogram and update ratio interval in steps (0 = never).
        flush_every: how many records the device buffer holds before they are copied out.
        on_flush: optional `fn(recorder, new_rows)` called after each copy (e.g. to append to a CSV).

    Example:
        >>> recorder = GradientRecorder()
        >>> model = zoo.build("deep-sigmoid")
        >>> model.fit(x, y, epochs=1, callbacks=[recorder])
        >>> recorder.table()["grad_norm"][:, 0]     # first hidden layer, every step
    """

    def __init__(self, every: int = 1, histogram_every: int = 100, flush_every: int = 256, on_flush=None):
        super().__init__()
        for name, value in (("every", every), ("flush_every", flush_every)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, received {value!r}")
        if not isinstance(histogram_every, int) or histogram_every < 0:
            raise ValueError(f"histogram_every must be a non-negative integer, received {histogram_every!r}")
        self.every, self.histogram_every, self.flush_every, self.on_flush = every, histogram_every, flush_every, on_flush

    # ------------------------------------------------------------------------------------ set-up
    def on_train_begin(self, logs=None):
        model = self.model
        self.layer_names, self._layer_of = [], []
        position = {id(v): i for i, v in enumerate(model.trainable_weights)}
        self._groups: list[list[int]] = []
        for layer in model.layers if hasattr(model, "layers") else [model]:
            indices = [position[id(v)] for v in layer.trainable_weights if id(v) in position]
            if indices:
                self.layer_names.append(layer.name)
                self._groups.append(indices)
        n = len(self.layer_names)
        self.steps: list[np.ndarray] = []
        self.epochs: list[np.ndarray] = []
        self.stats: list[np.ndarray] = []  # each (rows, n_layers, len(GRAD_STATS)) float32
        self.histogram_steps: list[int] = []
        self.histograms: list[np.ndarray] = []  # each (n_layers, bins)
        self.update_ratios: list[np.ndarray] = []  # each (n_layers,)
        self._pending = 0
        self._epoch = 0
        self._step = int(model.optimizer.iterations.numpy())  # counted in Python from here: no per-step read
        with tf.init_scope():
            self._buffer = tf.Variable(tf.zeros((self.flush_every, n, len(GRAD_STATS))), trainable=False)
            self._buffer_steps = tf.Variable(tf.zeros((self.flush_every,), tf.int64), trainable=False)
            self._hist = tf.Variable(tf.zeros((n, len(HIST_EDGES) - 1)), trainable=False)
            self._ratio = tf.Variable(tf.zeros((n,)), trainable=False)
            self._count = tf.Variable(0, dtype=tf.int64, trainable=False)
            self._snapshot = [tf.Variable(tf.zeros_like(v), trainable=False) for v in model.trainable_weights] \
                if self.histogram_every else []
        self._install()

    def _install(self):
        optimizer = self.model.optimizer
        self._original = optimizer.apply_gradients
        recorder = self

        def apply_gradients(grads_and_vars):
            grads_and_vars = list(grads_and_vars)
            step = tf.cast(optimizer.iterations, tf.int64) + 1  # the step this update makes (1-based)
            grads = [tf.convert_to_tensor(g) for g, _ in grads_and_vars]
            variables = [v for _, v in grads_and_vars]
            coarse = recorder._is_coarse(step)
            recorder._snapshot_weights(coarse, variables)
            result = recorder._original(grads_and_vars)
            tf.cond(step % recorder.every == 0, lambda: recorder._record(step, grads, variables, optimizer), tf.no_op)
            recorder._coarse_after(coarse, grads, variables)
            return result

        optimizer.apply_gradients = apply_gradients
        self.model.make_train_function(force=True)  # retrace the step with the hook in it

    def on_train_end(self, logs=None):
        self._flush()
        self.model.optimizer.apply_gradients = self._original
        self.model.make_train_function(force=True)

    # ----------------------------------------------------------------------------- in the graph
    def _is_coarse(self, step):
        if not self.histogram_every:
            return tf.constant(False)
        return tf.logical_or(step == 1, step % self.histogram_every == 0)

    def _snapshot_weights(self, coarse, variables):
        if not self._snapshot:
            return

        def copy():
            for snap, v in zip(self._snapshot, variables):
                snap.assign(v)
            return tf.constant(True)

        tf.cond(coarse, copy, lambda: tf.constant(False))

    def _layer_reduce(self, tensors, fn):
        return tf.stack([fn([tensors[i] for i in group]) for group in self._groups])

    def _record(self, step, grads, variables, optimizer):
        sq = _sum_sq
        norms = tf.sqrt(self._layer_reduce(grads, sq))
        sizes = tf.constant([sum(int(np.prod(grads[i].shape)) for i in g) for g in self._groups], tf.float32)
        mean_abs = self._layer_reduce(grads, lambda ts: tf.add_n([tf.reduce_sum(tf.abs(t)) for t in ts])) / sizes
        max_abs = self._layer_reduce(grads, lambda ts: tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(t)) for t in ts])))
        if optimizer.clipnorm or optimizer.clipvalue or optimizer.global_clipnorm:
            clipped = optimizer._clip_gradients(grads)  # the optimiser's own clipping, as it applies it
            clipped_norms = tf.sqrt(self._layer_reduce(clipped, sq))
        else:
            clipped_norms = tf.fill(tf.shape(norms), float("nan"))
        weight_norms = tf.sqrt(self._layer_reduce([tf.convert_to_tensor(v) for v in variables], sq))
        row = tf.stack([norms, mean_abs, max_abs, clipped_norms, weight_norms], axis=1)
        slot = self._count % self.flush_every
        self._buffer[slot].assign(tf.cast(row, tf.float32))
        self._buffer_steps[slot].assign(step)
        self._count.assign_add(1)
        return tf.no_op()

    def _coarse_after(self, coarse, grads, variables):
        if not self.histogram_every:
            return

        def histogram_and_ratio():
            tiny = 1e-30
            hists = []
            for group in self._groups:
                logs = tf.concat([tf.reshape(tf.math.log(tf.abs(grads[i]) + tiny) / np.log(10.0), [-1]) for i in group], 0)
                clipped = tf.clip_by_value(logs, HIST_EDGES[0], HIST_EDGES[-1] - 1e-6)
                hists.append(tf.histogram_fixed_width(clipped, [HIST_EDGES[0], HIST_EDGES[-1]], len(HIST_EDGES) - 1))
            self._hist.assign(tf.cast(tf.stack(hists), tf.float32))
            sq = _sum_sq
            deltas = [tf.convert_to_tensor(v) - s.read_value() for v, s in zip(variables, self._snapshot)]
            before = [s.read_value() for s in self._snapshot]
            self._ratio.assign(tf.sqrt(self._layer_reduce(deltas, sq)) / (tf.sqrt(self._layer_reduce(before, sq)) + 1e-30))
            return tf.constant(True)

        tf.cond(coarse, histogram_and_ratio, lambda: tf.constant(False))

    # ------------------------------------------------------------------------------ in Python
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        step = self._step
        if self.histogram_every and (step == 1 or step % self.histogram_every == 0):
            self.histogram_steps.append(step)
            self.histograms.append(self._hist.numpy().astype(np.int32))
            self.update_ratios.append(self._ratio.numpy())
        self._pending += 1
        if self._pending >= self.flush_every * self.every:
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._flush()

    def _flush(self):
        count = int(self._count.numpy())
        done = sum(len(s) for s in self.steps)
        new = count - done
        self._pending = 0
        if new <= 0:
            return
        slots = np.arange(done, count) % self.flush_every
        rows = self._buffer.numpy()[slots]
        steps = self._buffer_steps.numpy()[slots]
        self.steps.append(steps)
        self.epochs.append(np.full(len(steps), self._epoch + 1, np.int32))
        self.stats.append(rows)
        if self.on_flush is not None:
            self.on_flush(self, (steps, self.epochs[-1], rows))

    # ------------------------------------------------------------------------------- results
    def table(self) -> dict[str, np.ndarray]:
        """All records: `step` and `epoch` (rows,), and each of GRAD_STATS as (rows, n_layers)."""
        if not self.stats:
            empty = np.zeros((0, len(self.layer_names)), np.float32)
            return {"step": np.zeros(0, np.int64), "epoch": np.zeros(0, np.int32), **{k: empty for k in GRAD_STATS}}
        stats = np.concatenate(self.stats)
        out = {"step": np.concatenate(self.steps), "epoch": np.concatenate(self.epochs)}
        out.update({name: stats[:, :, i] for i, name in enumerate(GRAD_STATS)})
        return out

    def nbytes(self) -> int:
        arrays = self.steps + self.epochs + self.stats + self.histograms + self.update_ratios
        return int(sum(a.nbytes for a in arrays))
