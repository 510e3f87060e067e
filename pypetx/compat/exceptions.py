"""pypet's exception names over pypetx's errors.

A script's ``except NotUniqueNodeError`` must catch what pypetx raises, so every name is
either the pypetx class itself or a subclass of the pypetx error it corresponds to (and of
pypet's builtin base, so ``except TypeError`` in old code keeps working too).
"""

from __future__ import annotations

from pypetx.base.errors import (
    AmbiguousNameError,
    FormatVersionError,
    NodeNotFoundError,
    NotStoredError,
    ParameterLockedError,
    PypetxError,
    StorageError,
)

#: A shortcut matches several nodes (pypet: an ``AttributeError``, as here).
NotUniqueNodeError = AmbiguousNameError
#: No node of that name (an ``AttributeError`` and a ``KeyError``).
NoSuchParameterError = NodeNotFoundError
#: A locked parameter was assigned (pypet: a ``TypeError``, as here).
ParameterLockedException = ParameterLockedError
#: The file was written by an incompatible version.
VersionMismatchError = FormatVersionError


#: The file has no such trajectory or item (pypet: an ``IOError``, as here).
DataNotInStorageError = NotStoredError


class PresettingError(PypetxError, ValueError):
    """A parameter was preset after it had been added (presetting must come first)."""


class NoSuchServiceError(PypetxError, TypeError):
    """pypet's storage services do not exist in pypetx (never raised by pypetx itself)."""


class TooManyGroupsError(PypetxError, TypeError):
    """pypet's limit on groups per node; pypetx has none (never raised)."""


class GitDiffError(PypetxError, RuntimeError):
    """pypet refused to run with uncommitted changes; pypetx records, never commits."""


__all__ = [
    "DataNotInStorageError",
    "GitDiffError",
    "NoSuchParameterError",
    "NoSuchServiceError",
    "NotUniqueNodeError",
    "ParameterLockedException",
    "PresettingError",
    "TooManyGroupsError",
    "VersionMismatchError",
]
