from __future__ import annotations

from pathlib import Path

import numpy as np

from .._backend import keras, tf
from ..records import GradientCsv, records_up_to, write_activations, write_details
from ..runs import ACTIVATIONS, GRADIENTS, GRADIENT_DETAILS, HISTOGRAMS, TENSORBOARD, replace_durably
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
        keep_until_step: when resuming, keep the records already in `run_dir` up to this step (and drop
            any after it); None starts the files afresh.
        previous: when resuming, the records to keep as `zoo.records.records_up_to` read them (before the
            run was touched); instead of `keep_until_step`.

    Example:
        >>> g, a = GradientRecorder(), ActivationRecorder(x[:256])
        >>> model.fit(x, y, callbacks=[g, a, RecordWriter("runs/mine", g, a)])
    """

    def __init__(self, run_dir, gradients: GradientRecorder, activations: ActivationRecorder | None = None,
                 tensorboard: bool = False, keep_until_step: int | None = None, previous: dict | None = None):
        super().__init__()
        if keep_until_step is not None and keep_until_step < 0:
            raise ValueError(f"keep_until_step must be >= 0, received {keep_until_step}")
        if not isinstance(gradients, GradientRecorder):
            raise TypeError(f"gradients must be a GradientRecorder, received {type(gradients).__name__}")
        self.run_dir, self.gradients, self.activations, self.tensorboard = Path(run_dir), gradients, activations, tensorboard
        self.keep_until_step, self.previous = keep_until_step, previous

    def on_train_begin(self, logs=None):
        keep = self.keep_until_step
        previous = self.previous if self.previous is not None else records_up_to(self.run_dir, keep) if keep else {}
        self._previous = {name: previous.get(name, "") for name in (GRADIENTS, GRADIENT_DETAILS, ACTIVATIONS)}
        self._previous_histograms = previous.get("histograms")
        self._csv = GradientCsv(self.run_dir / GRADIENTS, self.gradients.layer_names, self._previous[GRADIENTS])
        self._writer = tf.summary.create_file_writer(str(self.run_dir / TENSORBOARD)) if self.tensorboard else None
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
            write_activations(self.run_dir / ACTIVATIONS, self.activations.records, self._previous[ACTIVATIONS])
        details = g.details()
        if len(details["step"]):
            write_details(self.run_dir / GRADIENT_DETAILS, details, g.layer_names, self._previous[GRADIENT_DETAILS])
            steps, counts = details["step"], details["histogram"]
            if self._previous_histograms is not None and len(self._previous_histograms["steps"]):
                steps = np.concatenate([self._previous_histograms["steps"], steps])
                counts = np.concatenate([self._previous_histograms["counts"], counts])
            partial = self.run_dir / "histograms.partial.npz"
            try:
                np.savez_compressed(partial, steps=steps, layers=np.array(g.layer_names), edges=HIST_EDGES, counts=counts)
                replace_durably(partial, self.run_dir / HISTOGRAMS)
            finally:
                partial.unlink(missing_ok=True)
        if self._writer is not None:
            with self._writer.as_default():
                for step, counts in list(zip(details["step"], details["histogram"]))[self._histograms_written:]:
                    for name, row in zip(g.layer_names, counts):
                        _histogram(f"log10_abs_grad/{name}", row, int(step))
            self._histograms_written = len(details["step"])
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
