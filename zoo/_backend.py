"""Import Keras quietly, on the backend KERAS_BACKEND names (TensorFlow by default), and TensorFlow itself
(TensorBoard summaries, the export formats; on the other backends Keras seeds it anyway, loudly). Imported
lazily: `import zoo` stays fast."""
import contextlib
import importlib.util
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

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


COMPILE_CACHE_BYTES = 1 << 30  # the least recently used compiled steps go beyond this
COMPILE_CACHE_MIN_SECONDS = 0.2  # a compile quicker than this is not worth a file


def compile_cache_dir() -> Path | None:
    """Where zoo's trainings keep JAX's compiled steps: ZOO_JAX_CACHE (a folder; "off" for none), else the user's
    cache folder (~/.cache/zoo/jax on Linux)."""
    from platformdirs import user_cache_dir

    setting = os.environ.get("ZOO_JAX_CACHE")
    if setting is not None:
        return None if setting.strip().lower() in ("", "off", "0", "no", "false") else Path(setting).expanduser()
    return Path(user_cache_dir("zoo", appauthor=False)) / "jax"


def use_compile_cache() -> Path | None:
    """On the JAX backend, keep compiled training steps on disk (JAX's persistent compilation cache), so training
    the same network again skips its compile: seconds of a short run (bench/train_throughput.py). The folder in use,
    or None: another backend, cache turned off, a folder that cannot be written (the training just compiles), or a
    cache the user's own JAX settings chose (left as it is)."""
    if keras.backend.backend() != "jax":
        return None
    import jax

    if jax.config.jax_compilation_cache_dir:  # the user's own (JAX_COMPILATION_CACHE_DIR or jax.config)
        return Path(jax.config.jax_compilation_cache_dir)
    folder = compile_cache_dir()
    if folder is None or importlib.util.find_spec("filelock") is None:  # JAX needs it to bound the cache's size
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-")  # writable (a read-only disk: no cache)
        probe.close()
    except OSError:
        return None
    _drop_unfinished_entries(folder)
    # a damaged entry costs a compile, nothing more: no warning on every training for it
    warnings.filterwarnings("ignore", message="Error (reading|writing) persistent compilation cache entry")
    jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_BYTES)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", COMPILE_CACHE_MIN_SECONDS)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    return folder


def _drop_unfinished_entries(folder: Path, age: float = 60.0) -> None:
    """JAX writes an entry, then its -atime file: an entry without one was cut short (a training killed while
    writing it). Left there it would be read, fail, and never be replaced, and JAX's size bound would fail on
    every later write; older than `age` seconds (not another training's write in progress), it goes."""
    now = time.time()
    for entry in folder.glob("*-cache"):
        try:
            if not entry.with_name(entry.name[:-len("-cache")] + "-atime").exists() \
                    and now - entry.stat().st_mtime > age:
                entry.unlink()
        except OSError:
            pass
