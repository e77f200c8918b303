"""Training batches in an order that is a function of (seed, epoch) alone.

Keras' own `fit(shuffle=True)` on arrays draws the same permutation every epoch once a global seed is
set (TensorFlow restarts the shuffle op's random stream with each epoch's iterator), and a resumed
run could not draw the order the uninterrupted one would have. `EpochBatches` permutes the examples
with NumPy from `[seed, epoch]`; `zoo.callbacks.EpochSeeds` tells it the epoch as each one begins.
"""
from __future__ import annotations

import math

import numpy as np

from ._backend import keras


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of `n` examples in `epoch` (0-based) of a run seeded with `seed`."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class EpochBatches(keras.utils.PyDataset):
    """(x, y) in batches of `batch_size`, shuffled anew each epoch: give it to `fit` with `shuffle=False`.

    Args:
        x, y: the training arrays (any leading length, the same for both).
        batch_size: examples per batch (the last batch may be smaller).
        seed: the run's seed.
        epoch: the epoch the next batches belong to (`set_epoch` changes it; `EpochSeeds` calls it).
    """

    def __init__(self, x, y, batch_size: int, seed: int, epoch: int = 0):
        super().__init__()
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"x and y must be non-empty and of the same length, received {len(x)} and {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, received {batch_size}")
        self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), int(seed)
        self.epoch, self._order_epoch, self._order = int(epoch), None, None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int):
        if self._order_epoch != self.epoch:
            self._order, self._order_epoch = epoch_order(len(self.x), self.seed, self.epoch), self.epoch
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]
