import numpy as np

from .._backend import keras

STATE_SUFFIX = "seed_generator_state"  # keras.random.SeedGenerator's variable (dropout and other random layers)


class EpochSeeds(keras.callbacks.Callback):
    """Make each epoch's randomness a function of (seed, epoch): the batch order and every random layer's draws.

    At the start of each epoch it tells an `EpochBatches` which epoch it is, and sets the state of each
    `keras.random.SeedGenerator` of the model (dropout's) from [seed, epoch, its index]. Keras does not
    save those states in a `.keras` file; this way a run resumed at epoch k draws what the uninterrupted
    run drew, and the same seed gives the same run.

    Args:
        seed: the run's seed (any integer >= 0).
        batches: the `zoo.batches.EpochBatches` the model trains on, or None.

    Example:
        >>> batches = EpochBatches(x, y, 32, seed=0)
        >>> model.fit(batches, epochs=5, shuffle=False, callbacks=[EpochSeeds(0, batches)])
    """

    async_safe = True

    def __init__(self, seed: int, batches=None):
        super().__init__()
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, received {seed}")
        if batches is not None and not hasattr(batches, "set_epoch"):
            raise TypeError(f"batches must have set_epoch(epoch), received {type(batches).__name__}")
        self.seed, self.batches = int(seed), batches

    def on_train_begin(self, logs=None):
        self._states = [v for v in self.model.non_trainable_variables if v.path.endswith(STATE_SUFFIX)]

    def on_epoch_begin(self, epoch, logs=None):
        if self.batches is not None:
            self.batches.set_epoch(epoch)
        for index, state in enumerate(self._states):
            seed = np.random.SeedSequence([self.seed, epoch, index]).generate_state(1, dtype=np.uint32)[0]
            seed = int(seed) % (int(np.iinfo(np.dtype(state.dtype)).max) + 1)  # PyTorch keeps the state as int32
            state.assign(np.array([seed, 0], dtype=state.dtype))
