from __future__ import annotations

import numpy as np

from .._backend import keras, tf

GRAD_STATS = ("grad_norm", "grad_norm_clipped")  # every `every` steps
DETAIL_STATS = ("grad_mean_abs", "grad_max_abs", "weight_norm", "update_ratio")  # every `detail_every` steps
HIST_EDGES = np.linspace(-12.0, 2.0, 29)  # log10|g| bins: 1e-12 .. 1e2, half a decade wide


class GradientRecorder(keras.callbacks.Callback):
    """Record per-layer statistics of the real training gradients, step by step.

    It wraps the optimiser's `apply_gradients` inside the traced train step, so it sees exactly the
    gradients the optimiser receives, before clipping; with clipping configured it also records the
    norm after clipping (as the optimiser computes it). Norms go to a device-side ring buffer that is
    copied out every `flush_every` records: recording adds no per-step synchronisation and no per-step
    Python work after the step, so Keras keeps dispatching batch callbacks asynchronously.

    Per trainable layer, in depth order (1 = nearest the input):
    - every `every` steps, `GRAD_STATS`: `grad_norm` (L2 over all the layer's variables) and
      `grad_norm_clipped` (NaN without clipping): one pass over the gradients;
    - at step 1 and every `detail_every` steps, `DETAIL_STATS` and a histogram of log10|g| over
      `HIST_EDGES`: `grad_mean_abs`, `grad_max_abs`, the weight norm after the update and the
      update-to-weight ratio ||w_after - w_before|| / ||w_before||. These cost several passes over
      the gradients and a copy of the weights (`detail_every=1` records them every step, at about
      10-15% of a small model's throughput).

    Args:
        every: record the norms every k-th step (1 = every step).
        detail_every: interval in steps of the details and histograms (0 = never).
        flush_every: how many records the device buffer holds before they are copied out.
        on_flush: optional `fn(recorder, (steps, epochs, stats))` called after each copy (e.g. to append to a CSV).

    Example:
        >>> recorder = GradientRecorder()
        >>> model = zoo.build("deep-sigmoid")
        >>> model.fit(x, y, epochs=1, callbacks=[recorder])
        >>> recorder.table()["grad_norm"][:, 0]     # first hidden layer, every step
        >>> recorder.details()["grad_max_abs"]     # (detail steps, layers)
    """

    def __init__(self, every: int = 1, detail_every: int = 100, flush_every: int = 256, on_flush=None):
        super().__init__()
        for name, value in (("every", every), ("flush_every", flush_every)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, received {value!r}")
        if not isinstance(detail_every, int) or isinstance(detail_every, bool) or detail_every < 0:
            raise ValueError(f"detail_every must be a non-negative integer, received {detail_every!r}")
        self.every, self.detail_every, self.flush_every, self.on_flush = every, detail_every, flush_every, on_flush

    # ------------------------------------------------------------------------------------ set-up
    def on_train_begin(self, logs=None):
        model = self.model
        self.layer_names, self._groups = [], []
        position = {id(v): i for i, v in enumerate(model.trainable_weights)}
        for layer in model.layers if hasattr(model, "layers") else [model]:
            indices = [position[id(v)] for v in layer.trainable_weights if id(v) in position]
            if indices:
                self.layer_names.append(layer.name)
                self._groups.append(indices)
        n = len(self.layer_names)
        self.steps: list[np.ndarray] = []
        self.epochs: list[np.ndarray] = []
        self.stats: list[np.ndarray] = []  # each (rows, n_layers, len(GRAD_STATS)) float32
        self.detail_steps: list[int] = []
        self.detail_epochs: list[int] = []
        self.histograms: list[np.ndarray] = []  # each (n_layers, bins)
        self._details: list[np.ndarray] = []  # each (n_layers, len(DETAIL_STATS))
        self._pending = 0
        self._epoch = 0
        self._step = int(model.optimizer.iterations.numpy())  # counted in Python from here: no per-step read
        self._first_step = self._step + 1
        self._weights_before = None
        with tf.init_scope():
            self._buffer = tf.Variable(tf.zeros((self.flush_every, n, len(GRAD_STATS))), trainable=False)
            self._buffer_steps = tf.Variable(tf.zeros((self.flush_every,), tf.int64), trainable=False)
            self._hist = tf.Variable(tf.zeros((n, len(HIST_EDGES) - 1)), trainable=False)
            self._abs_stats = tf.Variable(tf.zeros((n, 2)), trainable=False)
            self._count = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._install()

    def _install(self):
        optimizer = self.model.optimizer
        self._original = optimizer.apply_gradients
        recorder = self

        def apply_gradients(grads_and_vars):
            grads_and_vars = list(grads_and_vars)
            step = tf.cast(optimizer.iterations, tf.int64) + 1  # the step this update makes (1-based)
            grads = [tf.convert_to_tensor(g) for g, _ in grads_and_vars]
            if recorder.every == 1:  # statistics first, so they can run alongside the update
                row = recorder._row(grads, optimizer)
                result = recorder._original(grads_and_vars)
                recorder._store(step, row)
            else:
                result = recorder._original(grads_and_vars)
                tf.cond(step % recorder.every == 0, lambda: recorder._store(step, recorder._row(grads, optimizer)),
                        lambda: tf.constant(False))
            if recorder.detail_every:
                tf.cond(recorder._is_detail_step(step), lambda: recorder._detail(grads), lambda: tf.constant(False))
            return result

        optimizer.apply_gradients = apply_gradients
        self.model.make_train_function(force=True)  # retrace the step with the hook in it

    def on_train_end(self, logs=None):
        self._collect_details()
        self._flush()
        self.model.optimizer.apply_gradients = self._original
        self.model.make_train_function(force=True)

    # ----------------------------------------------------------------------------- in the graph
    def _is_detail_step(self, step):
        return tf.logical_or(step == 1, step % self.detail_every == 0)

    def _per_layer(self, values):
        return tf.stack([tf.add_n([values[i] for i in group]) for group in self._groups])

    def _row(self, grads, optimizer):
        """(n_layers, len(GRAD_STATS)): a single fused pass (l2_loss) per gradient tensor."""
        norms = tf.sqrt(2.0 * self._per_layer([tf.nn.l2_loss(g) for g in grads]))
        if optimizer.clipnorm or optimizer.clipvalue or optimizer.global_clipnorm:
            clipped = optimizer._clip_gradients(grads)  # the optimiser's own clipping, as it applies it
            clipped_norms = tf.sqrt(2.0 * self._per_layer([tf.nn.l2_loss(g) for g in clipped]))
        else:
            clipped_norms = tf.constant(np.full(len(self._groups), np.nan, np.float32))
        return tf.cast(tf.stack([norms, clipped_norms], axis=1), tf.float32)

    def _store(self, step, row):
        slot = tf.reshape(self._count % self.flush_every, [1, 1])
        self._buffer.scatter_nd_update(slot, row[None])
        self._buffer_steps.scatter_nd_update(slot, step[None])
        self._count.assign_add(1)
        return tf.constant(True)

    def _detail(self, grads):
        """Mean and max |g| and the log10|g| histogram of each layer, into variables read after the step."""
        width = HIST_EDGES[1] - HIST_EDGES[0]
        bins = len(HIST_EDGES) - 1
        hists, abs_stats = [], []
        for group in self._groups:
            magnitudes = tf.concat([tf.reshape(tf.abs(tf.cast(grads[i], tf.float32)), [-1]) for i in group], 0)
            abs_stats.append(tf.stack([tf.reduce_mean(magnitudes), tf.reduce_max(magnitudes)]))
            logs = tf.clip_by_value(tf.math.log(magnitudes + 1e-30) / np.log(10.0), HIST_EDGES[0], HIST_EDGES[-1] - 1e-6)
            ids = tf.cast(tf.floor((logs - HIST_EDGES[0]) / width), tf.int32)
            hists.append(tf.math.unsorted_segment_sum(tf.ones_like(logs), ids, bins))  # XLA-friendly
        self._hist.assign(tf.stack(hists))
        self._abs_stats.assign(tf.stack(abs_stats))
        return tf.constant(True)

    # ------------------------------------------------------------------------------ in Python
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step, not after it: Keras only runs batch-end hooks asynchronously when no callback needs them.
        self._collect_details()
        done = self._step
        if done >= self._first_step and done % self.every == 0:
            self._pending += 1
            if self._pending >= self.flush_every:
                self._flush()
        self._step += 1
        if self.detail_every and (self._step == 1 or self._step % self.detail_every == 0):
            self._weights_before = self._layer_weights()

    def on_epoch_end(self, epoch, logs=None):
        self._collect_details()
        self._flush()

    def _layer_weights(self) -> list[np.ndarray]:
        weights = [np.asarray(v) for v in self.model.trainable_weights]
        return [np.concatenate([weights[i].ravel() for i in group]) for group in self._groups]

    def _collect_details(self):
        """After a detail step: its histogram, mean and max |g|, the weight norms and the update ratios."""
        if self._weights_before is None:
            return
        before, self._weights_before = self._weights_before, None
        after = self._layer_weights()
        weight_norms = [np.linalg.norm(a) for a in after]
        ratios = [np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-30) for a, b in zip(after, before)]
        self.detail_steps.append(self._step)
        self.detail_epochs.append(self._epoch + 1)
        self.histograms.append(self._hist.numpy().astype(np.int32))
        self._details.append(np.column_stack([self._abs_stats.numpy(), weight_norms, ratios]).astype(np.float32))

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

    def details(self) -> dict[str, np.ndarray]:
        """The detail records: `step`, `epoch` (k,), each of DETAIL_STATS (k, n_layers), `histogram` (k, n_layers, bins)."""
        n = len(self.layer_names)
        stats = np.stack(self._details) if self._details else np.zeros((0, n, len(DETAIL_STATS)), np.float32)
        out = {"step": np.array(self.detail_steps, np.int64), "epoch": np.array(self.detail_epochs, np.int32)}
        out.update({name: stats[:, :, i] for i, name in enumerate(DETAIL_STATS)})
        out["histogram"] = np.stack(self.histograms) if self.histograms else np.zeros((0, n, len(HIST_EDGES) - 1), np.int32)
        return out

    def nbytes(self) -> int:
        arrays = self.steps + self.epochs + self.stats + self.histograms + self._details
        return int(sum(a.nbytes for a in arrays))
