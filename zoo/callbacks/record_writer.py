from __future__ import annotations

from pathlib import Path

import numpy as np

from .._backend import keras, tf
from ..records import GradientCsv, write_activations, write_details
from .activation_recorder import ActivationRecorder
from .gradient_recorder import GRAD_STATS, HIST_EDGES, GradientRecorder


class RecordWriter(keras.callbacks.Callback):
    """Write a GradientRecorder's and an ActivationRecorder's records into a run folder as training goes.

    `gradients.csv` grows at every flush of the recorder (so a stopped or diverged run keeps its records
    up to the last step); `gradient_details.csv`, `histograms.npz` and `activations.csv` are rewritten at each epoch end.
    With `tensorboard=True`, per-layer gradient norms and log10|g| histograms also go to `tensorboard/`.

    Args:
        run_dir: the run folder.
        gradients: the GradientRecorder of this fit (place this callback after it).
        activations: the ActivationRecorder of this fit, or None.
        tensorboard: write TensorBoard summaries too.

    Example:
        >>> g, a = GradientRecorder(), ActivationRecorder(x[:256])
        >>> model.fit(x, y, callbacks=[g, a, RecordWriter("runs/mine", g, a)])
    """

    def __init__(self, run_dir, gradients: GradientRecorder, activations: ActivationRecorder | None = None,
                 tensorboard: bool = False):
        super().__init__()
        if not isinstance(gradients, GradientRecorder):
            raise TypeError(f"gradients must be a GradientRecorder, received {type(gradients).__name__}")
        self.run_dir, self.gradients, self.activations, self.tensorboard = Path(run_dir), gradients, activations, tensorboard

    def on_train_begin(self, logs=None):
        self._csv = GradientCsv(self.run_dir / "gradients.csv", self.gradients.layer_names)
        self._writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard")) if self.tensorboard else None
        self._histograms_written = 0
        self.gradients.on_flush = self._on_flush

    def _on_flush(self, recorder, rows):
        self._csv.append(*rows)
        if self._writer is not None:
            steps, _, stats = rows
            with self._writer.as_default():
                for step, row in zip(steps, stats):
                    for depth, name in enumerate(recorder.layer_names):
                        _scalar(f"grad_norm/{depth + 1:02d}_{name}", row[depth][GRAD_STATS.index("grad_norm")], int(step))
            self._writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._write_rest()

    def on_train_end(self, logs=None):
        self.gradients._flush()  # the recorder's own on_train_end may come after ours
        self._write_rest()
        if self._writer is not None:
            self._writer.close()

    def _write_rest(self):
        g = self.gradients
        if self.activations is not None:
            write_activations(self.run_dir / "activations.csv", self.activations.records)
        if g.histograms:
            details = g.details()
            write_details(self.run_dir / "gradient_details.csv", details, g.layer_names)
            partial = self.run_dir / "histograms.partial.npz"
            np.savez_compressed(partial, steps=details["step"], layers=np.array(g.layer_names), edges=HIST_EDGES,
                                counts=details["histogram"])
            partial.replace(self.run_dir / "histograms.npz")
        if self._writer is not None:
            with self._writer.as_default():
                for step, counts in list(zip(g.detail_steps, g.histograms))[self._histograms_written:]:
                    for name, row in zip(g.layer_names, counts):
                        _histogram(f"log10_abs_grad/{name}", row, step)
            self._histograms_written = len(g.histograms)
            self._writer.flush()


def _scalar(tag: str, value, step: int) -> None:
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=metadata)


def _histogram(tag: str, counts, step: int) -> None:
    """TensorBoard's histogram format: a (bins, 3) tensor of left edge, right edge, count."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "histograms"
    data = np.stack([HIST_EDGES[:-1], HIST_EDGES[1:], np.asarray(counts, np.float64)], axis=1)
    tf.summary.write(tag, tf.constant(data), step=step, metadata=metadata)
