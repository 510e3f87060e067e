"""Uncompressed ``.npz`` files written and read fast (the journal's batch files).

``np.savez`` copies every array into the zip stream in pieces and ``np.load`` parses the
zip directory and each ``.npy`` header with ``ast``; for the many small batch files of a
sweep both dominate. :func:`write_npz` writes the same file with one ``crc32`` pass and no
copy of contiguous arrays; :class:`FastNpz` reads members with one ``pread`` each (large
ones memory-mapped). Anything unusual falls back to numpy's own functions.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FastNpz", "write_npz"]

#: Members at least this large are memory-mapped rather than read into a buffer.
_MAP_BYTES = 1 << 20


#: Local file header, central directory entry and end record of a stored (uncompressed)
#: zip member, as ``zipfile`` writes them (version 2.0, no flags, DOS date 1980-01-01).
_ZIP_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_ZIP_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_ZIP_END = struct.Struct("<4sHHHHIIH")
_DOS_DATE = (1 << 5) | 1


def _npy_header(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(arr))
    return buf.getvalue()


def write_npz(f: Any, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` (what ``np.savez`` writes), faster.

    ``np.savez`` copies every array into the zip stream in pieces; this writes each
    member's header and the array's own buffer (one ``crc32`` pass, no copy of contiguous
    arrays). Files that would need zip64 (>= 4 GiB) or arrays numpy cannot describe with a
    version 1.0 header go through ``np.savez``.
    """
    members = []
    offset = 0
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject:
            return np.savez(f, **arrays)
        try:
            header = _npy_header(arr)
        except ValueError:  # header too long for format 1.0
            return np.savez(f, **arrays)
        data = arr.reshape(-1).view(np.uint8) if arr.size else b""
        size = len(header) + (data.nbytes if arr.size else 0)
        members.append((f"{name}.npy".encode(), header, data, size, offset))
        offset += _ZIP_LOCAL.size + len(members[-1][0]) + size
    central = sum(_ZIP_CENTRAL.size + len(m[0]) for m in members)
    if offset + central >= 0xFFFFFFFF or len(members) >= 0xFFFF:
        return np.savez(f, **arrays)
    entries = []
    for fname, header, data, size, off in members:
        crc = zlib.crc32(data, zlib.crc32(header)) & 0xFFFFFFFF
        f.write(_ZIP_LOCAL.pack(b"PK\x03\x04", 20, 0, 0, 0, _DOS_DATE, crc, size, size,
                                len(fname), 0))
        f.write(fname)
        f.write(header)
        if len(data):
            f.write(data)
        entries.append(_ZIP_CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, _DOS_DATE, crc,
                                         size, size, len(fname), 0, 0, 0, 0, 0, off) + fname)
    directory = b"".join(entries)
    f.write(directory)
    f.write(_ZIP_END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory),
                          offset, 0))


_NPY_HEADER = re.compile(
    r"^\{'descr': '([<>|=][A-Za-z]\d*)', 'fortran_order': (True|False), "
    r"'shape': \(((?:\d+, ?)*\d*)\), \}\s*$"
)


class FastNpz:
    """Read members of an uncompressed ``.npz`` (what ``np.savez`` writes) cheaply.

    ``np.load`` parses the zip directory and every ``.npy`` header with ``ast``; for the
    many small batch files of a sweep that dominates consolidation. This reads the central
    directory once and each member with one ``pread``; anything unusual (compression,
    zip64, an exotic dtype) raises ``ValueError`` and the caller falls back to ``np.load``.
    """

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            tail = min(size, 22 + 65535)
            f.seek(size - tail)
            buf = f.read(tail)
            end = buf.rfind(b"PK\x05\x06")
            if end < 0 or len(buf) - end < 22:
                raise ValueError("no zip directory")
            n, cd_size, cd_off = struct.unpack_from("<HII", buf, end + 10)
            if cd_off == 0xFFFFFFFF or n == 0xFFFF:
                raise ValueError("zip64")
            f.seek(cd_off)
            cd = f.read(cd_size)
        self.members: dict[str, tuple[int, int]] = {}
        pos = 0
        for _ in range(n):
            if cd[pos:pos + 4] != b"PK\x01\x02":
                raise ValueError("bad zip directory")
            method, csize, usize, nlen, elen, clen, off = struct.unpack_from(
                "<H8xII HHH8xI".replace(" ", ""), cd, pos + 10)
            name = cd[pos + 46 : pos + 46 + nlen].decode()
            if method != 0 or csize != usize or csize == 0xFFFFFFFF or off == 0xFFFFFFFF:
                raise ValueError("compressed or zip64 member")
            if name.endswith(".npy"):
                self.members[name[:-4]] = (off, usize)
            pos += 46 + nlen + elen + clen

    @staticmethod
    def _parse(buf: Any) -> np.ndarray:
        mv = memoryview(buf)
        if bytes(mv[:6]) != b"\x93NUMPY":
            raise ValueError("not an npy member")
        if mv[6] == 1:
            hlen, start = struct.unpack_from("<H", mv, 8)[0], 10
        else:
            hlen, start = struct.unpack_from("<I", mv, 8)[0], 12
        m = _NPY_HEADER.match(bytes(mv[start : start + hlen]).decode("latin1"))
        if m is None:
            raise ValueError("unusual npy header")
        dtype = np.dtype(m.group(1))
        if dtype.hasobject:
            raise ValueError("object dtype")
        shape = tuple(int(x) for x in m.group(3).replace(" ", "").split(",") if x)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        arr = np.frombuffer(mv, dtype=dtype, count=count, offset=start + hlen)
        return arr.reshape(shape, order="F" if m.group(2) == "True" else "C")

    def read(self, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Members by name (all by default). Large members named explicitly are read-only
        views of the memory-mapped file (no copy of what may be most of the data)."""
        out = {}
        with open(self.path, "rb", buffering=0) as f:
            if names is None:  # everything: one read of the whole file
                data = bytearray(os.fstat(f.fileno()).st_size)
                view, got = memoryview(data), 0
                while got < len(data):
                    k = f.readinto(view[got:])
                    if not k:
                        raise ValueError("short read")
                    got += k
                for name, (off, size) in self.members.items():
                    nlen, elen = struct.unpack_from("<HH", data, off + 26)
                    start = off + 30 + nlen + elen
                    out[name] = self._parse(view[start : start + size])
                return out
            fd = f.fileno()
            for name in names:
                off, size = self.members[name]
                nlen, elen = struct.unpack_from("<HH", os.pread(fd, 30, off), 26)
                start = off + 30 + nlen + elen
                if size >= _MAP_BYTES:
                    out[name] = self._parse(self._mapped(fd)[start : start + size])
                    continue
                data = bytearray(os.pread(fd, size, start))
                if len(data) != size:
                    raise ValueError("short read")
                out[name] = self._parse(data)
        return out

    def _mapped(self, fd: int) -> memoryview:
        """The whole file, memory-mapped read-only (mapped once; batch files are never
        modified, only replaced or deleted, which leaves a mapping valid)."""
        if getattr(self, "_map", None) is None:
            self._map = memoryview(mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
        return self._map
