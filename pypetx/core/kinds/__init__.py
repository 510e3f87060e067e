"""Value kinds of parameters and results: detection, type checks, and storage encoding.

Every value pypetx stores has one *kind* (see :data:`KINDS`). :func:`encode` turns a value
into plain numpy arrays (numbers or strings) that netCDF4/HDF5 and Zarr can hold, plus
string attributes; :func:`decode` rebuilds a value of exactly the same type from them.

Storage conventions (the store names one variable per array, or per component of a dict):

* every ``attrs`` dict holds ``pypetx_kind``; all attribute values are strings, so any
  backend keeps them (structure goes in a JSON string, ``pypetx_meta``);
* complex numbers are stored as real/imaginary pairs along a trailing axis of length 2
  (plain netCDF has no complex type); booleans as ``int8``; ``datetime64``/``timedelta64``
  as ``int64``; ``bytes`` as ``uint8``; ``float16`` as ``float32`` -- the original dtype is
  kept in ``pypetx_dtype``;
* ``pickle`` values are ``uint8`` arrays of cloudpickle bytes; :func:`decode` refuses them
  unless ``allow_pickle=True``, so opening a file cannot run code by accident.

pandas and scipy are imported only when a value needs them.
"""

from __future__ import annotations

from pypetx.core.kinds.codecs import decode, encode
from pypetx.core.kinds.detect import (
    KINDS,
    SPARSE_FORMATS,
    KindCodec,
    check_compatible,
    coord_values,
    kind_of,
    register_kind,
    registered_kind,
)

__all__ = [
    "KINDS",
    "SPARSE_FORMATS",
    "KindCodec",
    "check_compatible",
    "coord_values",
    "decode",
    "encode",
    "kind_of",
    "register_kind",
    "registered_kind",
]
