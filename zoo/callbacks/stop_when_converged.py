import numpy as np

from .._backend import keras


class StopWhenConverged(keras.callbacks.Callback):
    """Stop at the end of the first epoch after which every training example is classified correctly.

    This is the perceptron's notion of convergence: the rule stops changing the weights once no
    example is misclassified. On data no straight line separates (XOR), it never happens, and
    `converged_epoch` stays None after the epoch budget.

    Args:
        x: the training inputs.
        y: their class labels (0/1 for one output unit, class indices or one-hot for several).

    Example:
        >>> converged = StopWhenConverged(x, y)
        >>> model.fit(x, y, batch_size=1, epochs=20, callbacks=[converged])
        >>> converged.converged_epoch     # 1-based, or None
    """

    def __init__(self, x, y):
        super().__init__()
        x, y = np.asarray(x), np.asarray(y)
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(f"x and y must be non-empty and of the same length, received {len(x)} and {len(y)}")
        self.x = x
        self.labels = np.argmax(y, axis=-1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y)).astype(int)

    def on_train_begin(self, logs=None):
        self.converged_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if np.array_equal(predicted_classes(self.model, self.x), self.labels):
            self.converged_epoch = epoch + 1
            self.model.stop_training = True


def predicted_classes(model, x) -> np.ndarray:
    """Class indices: argmax over several outputs, output > 0.5 for one (a step output is exactly 0 or 1)."""
    out = np.asarray(model(x, training=False))
    return np.argmax(out, axis=-1) if out.ndim == 2 and out.shape[1] > 1 else (out.reshape(len(x)) > 0.5).astype(int)
