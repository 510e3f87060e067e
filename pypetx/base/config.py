"""pypetx settings, kept in :mod:`dask.config` under the ``pypetx`` namespace.

The defaults ship in ``pypetx/base/pypetx.yaml`` and are merged into dask's configuration on
import, the way dask-jobqueue and distributed do it, so users override them with the
tools they already know::

    dask.config.set({"pypetx.cluster": "synchronous"})      # in code
    # ~/.config/dask/pypetx.yaml                            # a YAML file of their own
    # DASK_PYPETX__CLUSTER=synchronous                      # environment variable
"""

from __future__ import annotations

import os
from typing import Any

import dask.config
import yaml

__all__ = ["DEFAULTS_FILE", "get"]

DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "pypetx.yaml")

with open(DEFAULTS_FILE, encoding="utf-8") as _f:
    _defaults = yaml.safe_load(_f)

# update_defaults keeps values the user already set (their YAML, env vars): it only fills
# in what is missing.
dask.config.update_defaults(_defaults)

_MISSING = object()


def get(key: str, default: Any = _MISSING) -> Any:
    """Return the pypetx setting ``key`` (without the ``pypetx.`` prefix).

    Parameters
    ----------
    key : str
        Dotted key below ``pypetx``, e.g. ``"batching.target_task_seconds"``.
    default : optional
        Returned when the key is not set; without it a missing key raises ``KeyError``.

    Returns
    -------
    object
        The current value, honouring ``dask.config.set`` contexts.
    """
    if default is _MISSING:
        return dask.config.get(f"pypetx.{key}")
    return dask.config.get(f"pypetx.{key}", default)
