"""Run in a fresh process with KERAS_BACKEND set: InputGradientRecorder's norms against finite differences.

`python tests/input_gradient_checks.py [checks...]` prints one line `RESULTS {json}` (checks: "exact", the
finite differences, and "vanishing"; both by default); tests/test_input_gradients.py runs it on each installed
backend and compares. The reference owes nothing to Keras but the weights: the model's forward
pass written again in NumPy, in float64, and differentiated by central differences. (A float64 Keras model is no
reference: on JAX and PyTorch, Keras computes its matmuls in float32.) Not a test module.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from zoo._backend import keras
from zoo.callbacks import InputGradientRecorder

RNG = np.random.default_rng(0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def simple_rnn_forward(weights, x):
    """SimpleRNN (tanh) -> Dense: the prediction from the last step's state."""
    kernel, recurrent, bias, dense, dense_bias = weights
    h = np.zeros((len(x), len(recurrent)))
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
    return h @ dense + dense_bias


def lstm_sequence_forward(weights, x):
    """LSTM (return_sequences; Keras' gate order i, f, c, o) -> Dense: a prediction at every step."""
    kernel, recurrent, bias, dense, dense_bias = weights
    units = len(recurrent)
    h = c = np.zeros((len(x), units))
    states = []
    for t in range(x.shape[1]):
        i, f, g, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        states.append(h)
    return np.stack(states, axis=1) @ dense + dense_bias


def mse(y, prediction):
    return np.mean((prediction - y) ** 2, axis=-1)


def crossentropy_from_logits(y, logits):
    """Per example: the mean over time steps of -log softmax(logits)[y]."""
    top = logits.max(axis=-1, keepdims=True)
    log_sum = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]
    return np.mean(log_sum - np.take_along_axis(logits, y[..., None], axis=-1)[..., 0], axis=-1)


def finite_difference_norms(forward, weights, x, y, per_example_loss, eps=1e-6):
    """||d mean_b loss_b / d x_t|| by central differences in float64: every entry of x moved by +-eps, in one batch."""
    weights, x = [np.asarray(w, np.float64) for w in weights], np.asarray(x, np.float64)
    b, t, f = x.shape
    moved = np.repeat(x[:, None], t * f, axis=1)  # moved[i, k] is x[i] with entry k moved
    k = np.arange(t * f)
    plus, minus = moved.copy(), moved.copy()
    plus[:, k, k // f, k % f] += eps
    minus[:, k, k // f, k % f] -= eps
    prediction = forward(weights, np.concatenate([plus, minus], axis=1).reshape(2 * b * t * f, t, f))
    losses = per_example_loss(y[:, None], prediction.reshape(b, 2 * t * f, *prediction.shape[1:]))  # (b, 2 t f)
    gradient = (losses[:, :t * f] - losses[:, t * f:]) / (2 * eps) / b
    return np.sqrt((gradient.reshape(b, t, f) ** 2).sum(axis=(0, 2)))


class WeightsByStep(keras.callbacks.Callback):
    """The model's weights after every step of a fit of `steps` steps an epoch (read as the recorder reads them)."""

    def __init__(self, steps):
        super().__init__()
        self.steps, self.at = steps, {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.at[self.epoch * self.steps + batch] = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        self.at[(epoch + 1) * self.steps] = self.model.get_weights()


def simple_rnn_through_training():
    """SimpleRNN -> Dense, mse: every record of 2 epochs of SGD, 4 steps each, against the weights of its step."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = RNG.normal(size=(8, 5, 2)).astype("float32"), RNG.normal(size=(8, 1)).astype("float32")
    probe = x[:3], y[:3]
    recorder, weights = InputGradientRecorder(probe, every=3), WeightsByStep(4)
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[recorder, weights])
    expected = [finite_difference_norms(simple_rnn_forward, weights.at[step], *probe, mse).tolist()
                for step in recorder.steps]
    return {"steps": recorder.steps, "epochs": recorder.epochs, "recorded": recorder.norms.tolist(),
            "expected": expected}


def lstm_sequence_to_sequence():
    """LSTM(return_sequences) -> Dense logits, a Loss instance (sparse crossentropy from logits): the start's record."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.LSTM(3, return_sequences=True), keras.layers.Dense(5)])
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = RNG.normal(size=(2, 4, 3)).astype("float32"), RNG.integers(0, 5, size=(2, 4))
    expected = finite_difference_norms(lstm_sequence_forward, model.get_weights(), x, y, crossentropy_from_logits)
    recorder = InputGradientRecorder((x, y))
    model.fit(x, y, epochs=0, verbose=0, callbacks=[recorder])  # records at its start; no step to compile
    return {"recorded": recorder.norms[0].tolist(), "expected": expected.tolist()}


def at_initialisation(layer, length=30):
    """The record at step 0 of a one-layer recurrent net (8 units) on a sequence of `length` steps, in float32."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((length, 4)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x, y = RNG.normal(size=(16, length, 4)).astype("float32"), RNG.normal(size=(16, 1)).astype("float32")
    recorder = InputGradientRecorder((x, y))
    model.fit(x, y, epochs=0, verbose=0, callbacks=[recorder])  # records at its start; no step to compile
    return recorder.norms[0].tolist()


def main(checks):
    results = {"backend": keras.backend.backend()}
    if "exact" in checks:
        results.update(simple_rnn=simple_rnn_through_training(), lstm=lstm_sequence_to_sequence())
    if "vanishing" in checks:
        small = keras.initializers.Orthogonal(gain=0.5)
        results["vanishing"] = {"simple_rnn": at_initialisation(keras.layers.SimpleRNN(8, recurrent_initializer=small)),
                                "lstm": at_initialisation(keras.layers.LSTM(8))}  # unit_forget_bias: forget bias 1
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:] or ["exact", "vanishing"])
