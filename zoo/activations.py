"""Activation functions and their derivatives as plain NumPy (the plots and the app use them without TensorFlow).

They match `keras.activations` (tests check the functions against Keras and the derivatives against
`tf.GradientTape`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import erf, expit

LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope
# Where a unit counts as saturated (its derivative nearly zero): the activation recorder and the app use these
SIGMOID_SATURATED = (0.02, 0.98)  # a sigmoid output below the first or above the second: derivative < 0.02
TANH_SATURATED = 0.98  # |tanh| above it: derivative < 0.04


def saturated(kind: str, outputs) -> np.ndarray | None:
    """Which outputs of a sigmoid or tanh layer are saturated (None for other activations)."""
    a = np.asarray(outputs)
    if kind == "sigmoid":
        return (a < SIGMOID_SATURATED[0]) | (a > SIGMOID_SATURATED[1])
    if kind == "tanh":
        return np.abs(a) > TANH_SATURATED
    return None


def relu(x):
    return np.maximum(x, 0.0)


def relu_derivative(x):
    return (np.asarray(x) > 0).astype(np.float64)  # 0 at x = 0, as TensorFlow takes it


def sigmoid(x):
    return expit(x)  # stable for large |x|


def sigmoid_derivative(x):
    s = expit(x)
    return s * (1.0 - s)  # at most 0.25: each sigmoid layer shrinks the gradient at least 4x


def tanh(x):
    return np.tanh(x)


def tanh_derivative(x):
    return 1.0 - np.tanh(x) ** 2


def leaky_relu(x, slope: float = LEAKY_SLOPE):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, slope * x)


def leaky_relu_derivative(x, slope: float = LEAKY_SLOPE):
    return np.where(np.asarray(x) > 0, 1.0, slope)


def gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def gelu_derivative(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + erf(x / np.sqrt(2.0))) + x * np.exp(-0.5 * x ** 2) / np.sqrt(2.0 * np.pi)


def softmax(z, axis: int = -1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_derivative(z, axis: int = -1):
    """The Jacobian's diagonal, d s_i / d z_i = s_i (1 - s_i) (the full Jacobian: `softmax_jacobian`)."""
    s = softmax(z, axis)
    return s * (1.0 - s)


def softmax_jacobian(z):
    """d s_i / d z_j = s_i (delta_ij - s_j), for a vector z (n,) -> (n, n), or a batch (b, n) -> (b, n, n)."""
    s = softmax(z)
    return s[..., :, None] * (np.eye(s.shape[-1]) - s[..., None, :])


@dataclass(frozen=True)
class Activation:
    name: str
    fn: Callable
    derivative: Callable
    formula: str
    note: str


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", relu, relu_derivative, "max(0, x)",
               "derivative 1 for x > 0: gradients pass through deep stacks undiminished; 0 for x < 0 (dead units)"),
    Activation("sigmoid", sigmoid, sigmoid_derivative, "1 / (1 + e^-x)",
               "derivative at most 0.25 and ~0 when saturated: gradients vanish through deep sigmoid stacks"),
    Activation("tanh", tanh, tanh_derivative, "(e^x - e^-x) / (e^x + e^-x)",
               "zero-centred, derivative at most 1, but it saturates like the sigmoid"),
    Activation("softmax", softmax, softmax_derivative, "e^z_i / sum_j e^z_j",
               "turns scores into probabilities that sum to 1: the output of a classifier"),
    Activation("leaky_relu", leaky_relu, leaky_relu_derivative, f"x if x > 0 else {LEAKY_SLOPE}x",
               "a small slope for x < 0 keeps units from dying"),
    Activation("gelu", gelu, gelu_derivative, "x * Phi(x)",
               "a smooth ReLU (Phi: the standard normal CDF), used in transformers"),
)}
