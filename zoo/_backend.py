"""Import Keras with the TensorFlow backend, quietly. Imported lazily: `import zoo` stays fast."""
import contextlib
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _quiet_stderr():
    """TensorFlow's C++ start-up prints to fd 2 before any log level applies; hide just that."""
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. a GUI process): nothing to hide
        yield
        return
    sys.stderr.flush()
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


with _quiet_stderr():
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402

    tf.config.list_physical_devices()  # device discovery (the CUDA probe) happens here, silenced

from .errors import ZooError  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ZooError(
        f"zoo needs Keras' TensorFlow backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
        "unset it or set KERAS_BACKEND=tensorflow"
    )
