"""Import Keras quietly, on the backend KERAS_BACKEND names (TensorFlow by default), and TensorFlow itself
(TensorBoard summaries, the export formats; on the other backends Keras seeds it anyway, loudly). Imported
lazily: `import zoo` stays fast."""
import contextlib
import os
import sys

from .backends import BACKENDS

if not os.environ.get("KERAS_BACKEND"):  # unset or empty
    os.environ["KERAS_BACKEND"] = "tensorflow"
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


from .errors import ZooError  # noqa: E402

if os.environ["KERAS_BACKEND"] not in BACKENDS:
    raise ZooError(f"KERAS_BACKEND is {os.environ['KERAS_BACKEND']!r}; zoo runs on {', '.join(BACKENDS)}")

with _quiet_stderr():
    import keras  # noqa: E402

    import tensorflow as tf  # noqa: E402

    tf.config.list_physical_devices()  # device discovery (the CUDA probe) happens here, silenced


def backend_fields() -> dict:
    """What a run's status says about the backend it trains on: its name and the versions of zoo, Keras and it."""
    from importlib.metadata import version

    from ._version import __version__

    backend = keras.backend.backend()
    return {"backend": backend, "versions": {"zoo": __version__, "keras": keras.__version__, backend: version(backend)}}
