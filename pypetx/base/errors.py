"""Exception hierarchy of pypetx.

Every error pypetx raises on purpose derives from :class:`PypetxError`. The pypet names
(``NoSuchParameterError``, ``NotUniqueNodeError``, ...) are aliases exported by
:mod:`pypetx.compat`.
"""

from __future__ import annotations


class PypetxError(Exception):
    """Base class of all pypetx errors."""


class NodeNotFoundError(PypetxError, AttributeError, KeyError):
    """No node of that name exists (also an ``AttributeError`` so ``hasattr`` works)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class AmbiguousNameError(PypetxError, AttributeError, KeyError):
    """A shortcut name matches several nodes; the message lists them."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidNameError(PypetxError, ValueError):
    """A node name is not allowed (not an identifier, reserved, contains ``/``...)."""


class NodeExistsError(PypetxError, ValueError):
    """A node is added where one of that name already exists."""


class ParameterLockedError(PypetxError, TypeError):
    """A parameter is assigned after runs have started (or after it was locked)."""


class ExplorationError(PypetxError, ValueError):
    """The exploration given to ``explore``/``expand`` is invalid."""


class LinkError(PypetxError, ValueError):
    """A link would create a cycle or points at nothing."""


class PickleNotAllowedError(PypetxError):
    """A pickled value would be loaded without ``allow_pickle=True``."""


class StorageError(PypetxError):
    """A results file cannot be written or read (the message names path and group)."""


class NotStoredError(StorageError, OSError):
    """The file has no such trajectory or item (pypet's ``DataNotInStorageError``)."""


class FormatVersionError(StorageError):
    """A results file was written by an incompatible pypetx format version."""


class SweepFailed(PypetxError):
    """Some runs of a sweep raised; ``summary`` and ``failed`` tell which."""

    def __init__(self, message: str, *, summary=None, failed=None):
        super().__init__(message)
        self.summary = summary
        self.failed = failed
