"""One error family for everything zoo refuses; the CLI prints these as one line, exit status 2."""


class ZooError(Exception):
    """Base class of every error zoo raises on purpose."""


class SpecError(ZooError, ValueError):
    """A model spec (file, name or override) is malformed or inconsistent."""


class DataError(ZooError, OSError):
    """A dataset cannot be found or read."""


class RunError(ZooError):
    """A run folder cannot be created, read or written."""
