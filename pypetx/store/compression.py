"""Whether zlib compression pays for a variable, judged on a sample of its values.

zlib compresses at 50-350 MB/s, far slower than writing raw bytes, and gains little on
noisy floats (pseudo-random float64 shrink to ~85 % with shuffle, and compress at ~60
MB/s): by default (``complevel=None``) the HDF5 backend compresses a variable only when a
sample of it shrinks to at most :data:`MAX_RATIO` with zlib level :data:`AUTO_LEVEL`, with
the shuffle filter or without, whichever the sample prefers. An explicit ``complevel`` is
always obeyed (with shuffle).
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["AUTO_LEVEL", "MAX_RATIO", "SAMPLE_BYTES", "auto_filters", "compressed_ratio",
           "sample_of"]

#: zlib level of automatic compression: level 1 is 1.5-3x faster than 4, and on data that
#: compress well (grids, counts, flags) nearly as small.
AUTO_LEVEL = 1
#: Compress only when a sample shrinks at least this much (compressed / raw bytes).
MAX_RATIO = 0.7
#: Bytes of a sample, taken from a few places of the variable.
SAMPLE_BYTES = 3 * 2**17


def sample_of(values: np.ndarray, nbytes: int = SAMPLE_BYTES, parts: int = 3) -> np.ndarray:
    """Up to ``nbytes`` of ``values`` (flattened) from its start, middle and end."""
    flat = np.asarray(values).reshape(-1)
    per = max(1, nbytes // (parts * max(flat.itemsize, 1)))
    if len(flat) <= per * parts:
        return flat
    starts = np.linspace(0, len(flat) - per, parts).astype(np.int64)
    return np.concatenate([flat[s : s + per] for s in starts])


def compressed_ratio(sample: np.ndarray, level: int = AUTO_LEVEL, shuffle: bool = True
                     ) -> float:
    """Compressed / raw size of ``sample`` with zlib ``level``, after HDF5's shuffle filter
    (byte ``k`` of every value together) when ``shuffle``."""
    sample = np.ascontiguousarray(sample)
    if not sample.size:
        return 0.0
    raw = sample.reshape(-1).view(np.uint8).reshape(-1, sample.dtype.itemsize)
    data = np.ascontiguousarray(raw.T) if shuffle else raw
    return len(zlib.compress(data, level)) / data.nbytes


def auto_filters(sample: np.ndarray | None) -> tuple[int, bool]:
    """``(zlib level, shuffle)`` for a variable judged on ``sample``: level
    :data:`AUTO_LEVEL` with or without shuffle, whichever compresses the sample more, if
    that reaches :data:`MAX_RATIO`; else ``(0, False)``: store raw. Without a sample to
    judge: compress, with shuffle."""
    if sample is None or np.asarray(sample).dtype.kind not in "biufcmM":
        return AUTO_LEVEL, True
    sample = np.asarray(sample)
    # shuffle groups the bytes of a kind (exponents, high mantissa bytes): it helps smooth
    # floats, but repeated values (counts, per-batch durations) compress better whole
    options = [(compressed_ratio(sample, shuffle=False), False)]
    if sample.dtype.itemsize > 1:
        options.append((compressed_ratio(sample, shuffle=True), True))
    ratio, shuffle = min(options)
    return (AUTO_LEVEL, shuffle) if ratio <= MAX_RATIO else (0, False)
