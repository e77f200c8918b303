"""The three classic losses as NumPy functions of target and prediction (as Keras computes them, mean over the batch).

MSE's cost for a prediction is bounded (at most 1 for probabilities), while cross-entropy's, -log p for
the probability p given to the right answer, grows without bound: a confident wrong answer costs a lot.
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] before taking logs


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return float(np.mean(np.mean((y_true - y_pred) ** 2, axis=-1)))


def binary_crossentropy(y_true, y_pred):
    y_true = np.asarray(y_true, np.float64)
    p = np.clip(np.asarray(y_pred, np.float64), EPSILON, 1 - EPSILON)
    return float(np.mean(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)), axis=-1)))


def categorical_crossentropy(y_true, y_pred):
    """y_true one-hot (batch, classes); y_pred probabilities, renormalised to sum to 1 as Keras does."""
    y_true = np.asarray(y_true, np.float64)
    p = np.asarray(y_pred, np.float64)
    p = np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    return float(np.mean(-np.sum(y_true * np.log(p), axis=-1)))


def loss_of_prediction(p):
    """For a right answer of 1, each loss as a function of the predicted value p (array) -> {name: array}.

    For categorical cross-entropy p is the probability given to the true class.
    """
    p = np.asarray(p, np.float64)
    clipped = np.clip(p, EPSILON, 1 - EPSILON)
    return {"mse": (1.0 - p) ** 2, "binary_crossentropy": -np.log(clipped), "categorical_crossentropy": -np.log(clipped)}
