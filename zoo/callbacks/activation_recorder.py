from __future__ import annotations

import numpy as np

from .._backend import keras
from ..activations import saturated
from ..layer_paths import output_layer_paths

ACTIVATION_STATS = ("act_mean", "act_std", "saturated", "dead")


class ActivationRecorder(keras.callbacks.Callback):
    """Activation statistics of every hidden layer on a fixed probe batch: at the start and after each epoch.

    Per layer: mean and standard deviation of its outputs, the fraction of saturated outputs for sigmoid
    (below 0.02 or above 0.98) and tanh (|a| > 0.98), where the derivative is nearly zero, and the
    fraction of dead ReLU units (zero for every probe example). Non-applicable fractions are NaN.

    Args:
        probe: a fixed batch of inputs (kept the same for the whole run, so records compare).
        every: also record every k training steps (0 = only at the start and at epoch ends).

    Example:
        >>> rec = ActivationRecorder(x_train[:256])
        >>> model.fit(x, y, callbacks=[rec]); rec.records[-1]
    """

    def __init__(self, probe, every: int = 0):
        super().__init__()
        probe = np.asarray(probe, dtype=np.float32)
        if probe.ndim < 2 or len(probe) == 0:
            raise ValueError(f"probe must be a non-empty batch of inputs, received shape {probe.shape}")
        if not isinstance(every, int) or every < 0:
            raise ValueError(f"every must be a non-negative integer, received {every!r}")
        self.probe, self.every = probe, every

    def on_train_begin(self, logs=None):
        try:
            symbolic = bool(self.model.inputs)
        except AttributeError:  # a subclassed model (the perceptron) has no graph to tap
            symbolic = False
        outputs = set(output_layer_paths(self.model)) if symbolic else set()  # top-level layers: path = name
        layers = [l for l in self.model.layers if getattr(l, "activation", None) is not None and l.name not in outputs] \
            if symbolic else []
        self.layer_names = [l.name for l in layers]
        self._kinds = [keras.activations.serialize(l.activation) for l in layers]
        self._kinds = [k if isinstance(k, str) else k.get("config", k) for k in self._kinds]
        self._features = keras.Model(self.model.inputs[0], [l.output for l in layers]) if layers else None
        self.records: list[dict] = []  # one per (step, layer)
        self._step = int(self.model.optimizer.iterations.numpy())
        self._epoch = self._step // (self.params.get("steps") or 1 if self.params else 1)  # > 0 when a fit resumes
        self._recorded_step = None
        self._record()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # The previous step's hook, run before this step: a batch-end hook would stop Keras' asynchronous dispatch.
        if self.every and self._step % self.every == 0:
            self._record()
        self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._record()

    def _record(self):
        if self._features is None or self._step == self._recorded_step:
            return
        self._recorded_step = self._step
        if keras.backend.backend() == "jax" and hasattr(self.model, "jax_state_sync"):
            self.model.jax_state_sync()  # mid-epoch, JAX keeps the live weights outside the variables
        outputs = self._features(self.probe, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for depth, (name, kind, out) in enumerate(zip(self.layer_names, self._kinds, outputs), start=1):
            a = keras.ops.convert_to_numpy(out).reshape(len(self.probe), -1)
            pinned = saturated(kind, a)
            saturated_share = float(np.mean(pinned)) if pinned is not None else float("nan")
            dead = float(np.mean(np.all(a <= 0, axis=0))) if kind == "relu" else float("nan")
            self.records.append({"step": self._step, "epoch": self._epoch, "layer": name, "depth": depth,
                                 "activation": kind, "act_mean": float(a.mean()), "act_std": float(a.std()),
                                 "saturated": saturated_share, "dead": dead})

