"""Activations, derivatives and losses in zoo match Keras and tf.GradientTape; the figures are written."""
import numpy as np
import pytest

from zoo import activations as A
from zoo import losses as L
from zoo.cli import main

GRID = np.concatenate([np.linspace(-30, 30, 241), [-1e-3, 1e-3, 0.5, -0.5]]).astype(np.float32)
ELEMENTWISE = ["relu", "sigmoid", "tanh", "leaky_relu", "gelu"]


@pytest.fixture(scope="module")
def tf_keras():
    from zoo._backend import keras, tf

    return tf, keras


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_matches_keras_and_derivative_matches_gradient_tape(name, tf_keras):
    tf, keras = tf_keras
    act = A.ACTIVATIONS[name]
    x = tf.constant(GRID[GRID != 0])  # ReLU's kink: TensorFlow and we agree on 0 there, but keep it out
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = getattr(keras.activations, name)(x)
    np.testing.assert_allclose(act.fn(x.numpy()), y.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act.derivative(x.numpy()), tape.gradient(y, x).numpy(), rtol=1e-4, atol=1e-6)


def test_softmax_and_its_jacobian_match_keras(tf_keras):
    tf, keras = tf_keras
    z = tf.constant(np.random.default_rng(0).normal(0, 5, (4, 6)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(z)
        s = keras.activations.softmax(z)
    np.testing.assert_allclose(A.softmax(z.numpy()), s.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(A.softmax_jacobian(z.numpy()), tape.batch_jacobian(s, z).numpy(), atol=1e-6)
    np.testing.assert_allclose(A.softmax_derivative(z.numpy()), np.diagonal(A.softmax_jacobian(z.numpy()), axis1=1, axis2=2))
    assert np.allclose(A.softmax(np.array([1000.0, 0.0])), [1.0, 0.0])  # no overflow


def test_the_derivative_bounds_behind_vanishing_gradients():
    x = np.linspace(-50, 50, 100001)
    assert A.sigmoid_derivative(x).max() == pytest.approx(0.25)
    assert A.tanh_derivative(x).max() == pytest.approx(1.0)
    assert A.relu_derivative(x[x > 0]).min() == 1.0
    assert A.leaky_relu_derivative(-1.0) == A.LEAKY_SLOPE


def test_losses_match_keras(tf_keras):
    tf, keras = tf_keras
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (16, 1)).astype(np.float32)
    p = rng.uniform(0, 1, (16, 1)).astype(np.float32)
    p[:2] = [[0.0], [1.0]]  # the clipping edges
    assert L.mean_squared_error(y, p) == pytest.approx(float(keras.losses.MeanSquaredError()(y, p)), rel=1e-5)
    assert L.binary_crossentropy(y, p) == pytest.approx(float(keras.losses.BinaryCrossentropy()(y, p)), rel=1e-4)
    onehot = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]
    probs = A.softmax(rng.normal(0, 3, (16, 5))).astype(np.float32)
    assert L.categorical_crossentropy(onehot, probs) == pytest.approx(
        float(keras.losses.CategoricalCrossentropy()(onehot, probs)), rel=1e-4)


def test_cross_entropy_punishes_confident_wrong_answers_and_mse_does_not():
    p = np.linspace(0.01, 0.99, 99)
    curves = L.loss_of_prediction(p)
    assert curves["binary_crossentropy"][0] > 4 and curves["mse"][0] < 1
    for values in curves.values():
        assert np.all(np.diff(values) < 0)  # the closer to the right answer, the cheaper


@pytest.mark.parametrize("what", ["activations", "losses"])
def test_plot_commands_write_figures(what, tmp_path, capsys):
    png, svg = tmp_path / f"{what}.png", tmp_path / f"{what}.svg"
    assert main(["plot", what, "--out", str(png)]) == 0
    assert main(["plot", what, "--out", str(svg)]) == 0
    from PIL import Image

    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 600
    assert "<svg" in svg.read_text()
    with pytest.raises(SystemExit):
        main(["plot", what, "--out", str(tmp_path / "x.txt")])  # not a figure format
