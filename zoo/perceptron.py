"""Rosenblatt's perceptron as a Keras model, trained by the perceptron learning rule."""
from __future__ import annotations

from ._backend import keras
from keras import ops


def step(z):
    """The Heaviside step: 1 where z > 0, else 0 (the threshold is folded into the bias)."""
    return ops.cast(ops.greater(z, 0), z.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class Perceptron(keras.Model):
    """One unit: y = step(w . x + b), trained by the perceptron rule w += lr * (target - y) * x.

    No gradient is involved: `train_step` applies the rule directly (summed over the batch,
    so batch_size = 1 is Rosenblatt's online rule). Weights start at zero, as in the textbook.

    Args:
        learning_rate: the rule's step size (positive).

    Example:
        >>> model = zoo.build("perceptron")
        >>> model.fit(x, y, batch_size=1, epochs=10)
        >>> model.weights_and_bias()
    """

    def __init__(self, learning_rate: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, received {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.unit = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros", name="unit")
        # The rule computes no loss; what fit reports as "loss" is the error rate: the fraction of examples the
        # unit answered wrong (before each update, as the rule saw them). On 0/1 answers it equals their MSE.
        self.error_rate = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        # the error rate stands in for the compiled loss tracker, which nothing here updates
        return [self.error_rate, *(m for m in super().metrics if m.name != "loss")]

    def build(self, input_shape):
        self.unit.build(input_shape)
        self.built = True

    def call(self, x):
        return step(self.unit(x))

    def train_step(self, data):
        x, y = data[0], data[1]
        y = ops.cast(ops.reshape(y, (-1, 1)), x.dtype)
        y_pred = self(x)
        error = y - y_pred  # +1: should have fired, -1: should not have, 0: right
        self.unit.kernel.assign_add(self.learning_rate * ops.matmul(ops.transpose(x), error))
        self.unit.bias.assign_add(self.learning_rate * ops.sum(error, axis=0))
        self.error_rate.update_state(ops.abs(error))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)

    def test_step(self, data):
        x, y = data[0], data[1]
        y = ops.cast(ops.reshape(y, (-1, 1)), x.dtype)
        y_pred = self(x)
        self.error_rate.update_state(ops.abs(y - y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)

    def weights_and_bias(self) -> tuple[list[float], float]:
        kernel, bias = (w.numpy() for w in (self.unit.kernel, self.unit.bias))
        return [float(v) for v in kernel[:, 0]], float(bias[0])

    def get_config(self):
        return {**super().get_config(), "learning_rate": self.learning_rate}
