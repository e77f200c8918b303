import math

from .._backend import keras


class CosineLearningRate(keras.callbacks.Callback):
    """Decay the optimiser's learning rate along half a cosine, epoch by epoch, from `initial` towards 0.

    Epoch e (0-based) of E trains at `initial * (1 + cos(pi * e / E)) / 2`: the first at `initial`, the last at
    a small fraction of it. The rate depends on the epoch alone, so a resumed run trains as an uninterrupted one.

    Args:
        initial: the learning rate of the first epoch (positive).
        epochs: the number of epochs the decay spans (positive), normally those of the whole training.

    Example:
        >>> model.fit(x, y, epochs=20, callbacks=[CosineLearningRate(1e-3, epochs=20)])
    """

    def __init__(self, initial: float, epochs: int):
        super().__init__()
        if not initial > 0:
            raise ValueError(f"initial must be positive, received {initial}")
        if int(epochs) < 1:
            raise ValueError(f"epochs must be at least 1, received {epochs}")
        self.initial, self.epochs = float(initial), int(epochs)

    def rate(self, epoch: int) -> float:
        return self.initial * (1 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs)) / 2

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.rate(epoch)
