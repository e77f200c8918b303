from __future__ import annotations

from pathlib import Path

import numpy as np

from .._backend import keras
from ..records import INPUT_GRADIENT_COLUMNS, rows_up_to, write_input_gradients
from ..runs import INPUT_GRADIENTS


class InputGradientRecorder(keras.callbacks.Callback):
    """How much each time step of the input moves the loss: ||d loss / d x_t|| on a fixed probe batch.

    For a recurrent model whose input is a sequence (batch, T, features): the gradient of the mean loss of
    the probe batch (the model's compiled loss, the model in inference mode) with respect to the input `x`,
    and its L2 norm over the batch and the features at each time step t. A recurrent net whose gradients
    vanish through time has norms at early t orders of magnitude below those at the last one. Recorded at
    the start of `fit` (step 0 for a new model), every `every` training steps and at each epoch end, with
    the backend's own autodiff (TensorFlow, JAX or PyTorch).

    Models with an integer input (an `Embedding` of token ids) have no gradient with respect to their input
    and are refused when `fit` starts, as are models with several inputs or several losses.

    Args:
        probe: `(x, y)`, a fixed batch: `x` of shape (batch, T, features), floating point; `y` its targets
            as the model's loss takes them.
        every: also record every k training steps (0 = only at the start and at epoch ends); with
            `steps_per_execution`, at the first step Keras stops at from each multiple of k on.
        run_dir: a folder (a run's, e.g. RunRecorder's) to write `input_gradients.csv` into at each epoch end and
            when `fit` ends; None writes nothing. Rows of the steps before this `fit` starts, already in the
            file, are kept (a fit that goes on); the rest are rewritten.

    Attributes:
        steps: the optimiser steps recorded (list of ints; 0 = before training).
        epochs: the epoch each record belongs to (0 = before training).
        norms: (len(steps), T) array of ||d loss / d x_t||.

    Example:
        >>> recorder = InputGradientRecorder((x_train[:64], y_train[:64]), every=50)
        >>> model.fit(x_train, y_train, epochs=3, callbacks=[recorder])
        >>> recorder.norms[0, 0] / recorder.norms[0, -1]   # first step's gradient against the last's, at the start
    """

    def __init__(self, probe, every: int = 0, run_dir=None):
        super().__init__()
        try:
            x, y = probe
        except (TypeError, ValueError):
            raise ValueError("probe must be a pair (x, y): a batch of input sequences and their targets") from None
        x, y = np.asarray(x), np.asarray(y)
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"probe x must be floating point, received dtype {x.dtype}: there is no gradient with "
                             "respect to integer inputs (token ids)")
        if x.ndim != 3 or 0 in x.shape:
            raise ValueError(f"probe x must have shape (batch, T, features), received {x.shape}")
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"probe y must have one target per example of x ({len(x)}), received shape {y.shape}")
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise ValueError(f"every must be a non-negative integer, received {every!r}")
        self.x, self.y, self.every = x, y, every
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self._norms: list[np.ndarray] = []

    @property
    def norms(self) -> np.ndarray:
        return np.array(self._norms, np.float64).reshape(len(self._norms), self.x.shape[1])

    def on_train_begin(self, logs=None):
        model = self.model
        _check_model(model, self.x)
        self._gradient = input_gradient_function(model, _single_loss(model))
        self.steps, self.epochs, self._norms = [], [], []
        self._step = self._epoch_first_step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        self._epoch = self._step // (self.params.get("steps") or 1 if self.params else 1)  # > 0 when a fit goes on
        self._epoch_in_progress = self._epoch  # counted here: a fit that goes on may not pass `initial_epoch`
        self._previous = ""
        if self.run_dir is not None and self._step > 0:  # a fit that goes on: keep the rows before it
            self._previous = rows_up_to(self.run_dir / INPUT_GRADIENTS, self._step - 1, INPUT_GRADIENT_COLUMNS)
        self._record()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_in_progress += 1

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step, not after it: Keras only runs batch-end hooks asynchronously when no callback needs them.
        step = self._epoch_first_step + batch  # steps done so far (`batch` counts steps, steps_per_execution too)
        if self.every and step // self.every > self.steps[-1] // self.every:  # a multiple of `every` was reached
            self._step, self._epoch = step, self._epoch_in_progress
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._step = self._epoch_first_step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self._epoch = self._epoch_in_progress
        if self._step != self.steps[-1]:
            self._record()
        self._write()

    def on_train_end(self, logs=None):
        self._write()

    def _record(self):
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()  # JAX keeps the live weights outside the variables during an epoch
        gradient = self._gradient(self.x, self.y)
        self.steps.append(self._step)
        self.epochs.append(self._epoch)
        self._norms.append(np.sqrt(np.sum(np.square(gradient.astype(np.float64)), axis=(0, 2))))

    def _write(self):
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_input_gradients(self.run_dir / INPUT_GRADIENTS, self.steps, self.epochs, self.norms, self._previous)


def _sublayers(layer):
    for sub in getattr(layer, "layers", None) or []:
        yield sub
        yield from _sublayers(sub)


def _check_model(model, x) -> None:
    """ValueError (one line) for a model whose input the gradient cannot be taken with respect to."""
    name = type(model).__name__
    if any(isinstance(layer, keras.layers.Embedding) for layer in _sublayers(model)):
        raise ValueError(f"InputGradientRecorder: {name} {model.name!r} has an Embedding: its input is token ids, "
                         "which have no gradient; record a model whose input is (batch, T, features) floats")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model: its first call tells
        return
    if not inputs:
        return
    if len(inputs) != 1:
        raise ValueError(f"InputGradientRecorder records a model with one input; {model.name!r} has {len(inputs)}")
    if not keras.backend.is_float_dtype(inputs[0].dtype):
        raise ValueError(f"InputGradientRecorder: {model.name!r} takes {inputs[0].dtype} inputs, which have no "
                         "gradient; record a model whose input is (batch, T, features) floats")
    expected = tuple(inputs[0].shape[1:])
    if len(expected) != 2 or any(e is not None and e != g for e, g in zip(expected, x.shape[1:])):
        raise ValueError(f"probe x has shape {x.shape}; the model takes inputs of shape (batch, "
                         f"{', '.join('?' if e is None else str(e) for e in expected)})")


def _single_loss(model):
    """The model's compiled loss as a function of (y_true, y_pred)."""
    loss = getattr(model, "loss", None)
    if loss is None:
        raise ValueError("InputGradientRecorder needs the model compiled with a loss")
    if isinstance(loss, (list, tuple, dict)):
        raise ValueError(f"InputGradientRecorder records a model with one loss; {model.name!r} has {len(loss)}")
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ValueError(f"InputGradientRecorder: cannot resolve the model's loss {loss!r} with keras.losses.get") from None


def input_gradient_function(model, loss):
    """`gradient(x, y)`: d mean(loss(y, model(x, training=False))) / d x as a NumPy array, by the backend's autodiff."""
    return {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[keras.backend.backend()](model, loss)


def _mean_loss(loss, y, prediction):
    return keras.ops.mean(loss(y, prediction))


def _tensorflow(model, loss):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def gradient(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = _mean_loss(loss, y, model(x, training=False))
        return tape.gradient(value, x)

    return lambda x, y: gradient(tf.constant(x), tf.constant(y)).numpy()


def _jax(model, loss):
    import jax

    def mean_loss(x, trainable, non_trainable, y):
        prediction, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return _mean_loss(loss, y, prediction)

    gradient = jax.jit(jax.grad(mean_loss))
    return lambda x, y: np.asarray(gradient(x, [v.value for v in model.trainable_variables],
                                            [v.value for v in model.non_trainable_variables], y))


def _torch(model, loss):
    import torch

    def gradient(x, y):
        with torch.enable_grad():
            x = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
            (g,) = torch.autograd.grad(_mean_loss(loss, keras.ops.convert_to_tensor(y), model(x, training=False)), x)
        return g.detach().cpu().numpy()

    return gradient
