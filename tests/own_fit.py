"""A user's own training script, not zoo's: a plain Keras Functional model recorded with RunRecorder.

    KERAS_BACKEND=jax python tests/own_fit.py RUN_DIR EPOCHS [SECONDS_PER_EPOCH]

Run as a subprocess by the tests (a Keras backend is chosen once per process); a pause at each epoch end
makes the run last long enough to be watched or killed mid-run.
"""
import sys
import time

import keras
import numpy as np

from zoo.callbacks import RunRecorder

run_dir, epochs = sys.argv[1], int(sys.argv[2])
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
rng = np.random.default_rng(0)
x = rng.normal(size=(320, 12)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("int32")
inputs = keras.Input((12,))
hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
hidden = keras.layers.Dense(8, activation="tanh", name="second")(hidden)
outputs = keras.layers.Dense(2, activation="softmax", name="out")(hidden)
model = keras.Model(inputs, outputs, name="my_net")
model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(pause))
model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.25, verbose=0,
          callbacks=[RunRecorder(run_dir, probe=x[:64], dataset="toy sums"), slow])
print("done", flush=True)
