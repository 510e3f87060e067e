"""A pypet HDF5 file as plain records: its trajectories, each one's tree, exploration and
runs.

The layout (pypet 0.1 to 0.7 write it alike), below one group per trajectory:

* ``overview/info`` (a one-row table: name, comment, timestamp, pypet and Python
  version), ``overview/explorations`` (the explored parameters in order) and
  ``overview/runs`` (one row per run: completed flag, start/finish timestamps);
* ``config``, ``parameters``, ``derived_parameters``, ``results``: groups mirroring the
  tree; a leaf is a group with attribute ``SRVC_LEAF`` and ``SRVC_INIT_CLASS_NAME`` (its
  pypet class), ``SRVC_INIT_COMMENT``, ``SRVC_AN_<name>`` (annotations), whose children
  are its items (see :mod:`~pypetx.compat.pypetfile.nodes`);
* what a run added sits below a group named after the run (``run_00000003``), itself
  below ``runs`` and/or a ``run_set_00000`` bucket.

Leaves are indexed by :meth:`PypetFile.index` without reading their data; their items
are read on demand (:meth:`PypetFile.items`), so a large file is converted run batch by
run batch.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pypetx.compat.pypetfile.nodes import (
    UnreadableItem,
    attr,
    holds_pickles,
    plain_pickle,
    read_items,
    text,
)
from pypetx.base.errors import PypetxError

__all__ = ["GroupRef", "LeafRef", "PypetFile", "PypetFileError", "TrajectoryIndex"]

TOPS = ("config", "parameters", "derived_parameters", "results")
#: Top groups where runs put nodes.
RUN_TOPS = ("derived_parameters", "results")
RUN = re.compile(r"run_(\d{8})")
RUN_SET = re.compile(r"run_set_(\d{5})")
ANNOTATION = "SRVC_AN_"
INSTALL = "pip install 'pypetx[tables]' (or: conda install pytables)"


class PypetFileError(PypetxError):
    """The pypet file cannot be read or imported (the message says why)."""


def require_tables() -> None:
    """Fail in one line, saying how to install it, when PyTables is missing."""
    import importlib.util

    if importlib.util.find_spec("tables") is None:
        raise PypetFileError(f"reading pypet files needs PyTables: {INSTALL}")


@dataclass
class GroupRef:
    """A group of the tree outside the runs."""

    path: str
    comment: str = ""
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass
class LeafRef:
    """A parameter or result, its data not read yet."""

    path: str  # dotted, below the trajectory ("parameters.model.tau")
    cls: str  # pypet class name ("Parameter", "PickleResult", ...)
    comment: str
    annotations: dict[str, Any]
    node: str  # HDF5 path of the leaf group


@dataclass
class TrajectoryIndex:
    """What a pypet trajectory holds, without its data.

    Attributes
    ----------
    run_leaves : list of (int, str, LeafRef)
        Nodes added inside runs: run index, the pypetx variable the leaf belongs to
        (run path components dropped: ``results.runs.run_00000003.z`` -> ``z``), leaf.
    completed, duration : numpy.ndarray
        Per run, from pypet's run table (``duration`` NaN where pypet recorded none).
    """

    name: str
    comment: str
    timestamp: float | None
    pypet_version: str
    python_version: str
    n_runs: int
    explored: list[str]
    groups: list[GroupRef]
    leaves: list[LeafRef]
    links: list[tuple[str, str]]
    run_leaves: list[tuple[int, str, LeafRef]]
    completed: np.ndarray
    duration: np.ndarray
    has_run_table: bool


def _h5py_file(path: Path) -> Any:
    import h5py

    if not path.exists():
        raise PypetFileError(f"no file {path}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise PypetFileError(f"{path} is not an HDF5 file ({exc})") from None


def _annotations(node: Any, allow_pickle: bool) -> dict[str, Any]:
    """A node's ``SRVC_AN_*`` attributes. PyTables pickled values HDF5 cannot hold:
    plain pickles (numbers, strings, containers) are loaded, others only when allowed."""
    out = {}
    for key in node.attrs:
        if not key.startswith(ANNOTATION):
            continue
        name, raw = key[len(ANNOTATION):], node.attrs[key]
        if isinstance(raw, (bytes, np.bytes_)):
            dump = bytes(raw)
            out[name] = text(dump)
            if plain_pickle(dump) or (allow_pickle and dump.endswith(b".")):
                import pickle

                try:
                    out[name] = pickle.loads(dump)  # plain (builds no objects), or allowed
                except Exception:  # noqa: BLE001 - text that only looked like a pickle
                    out[name] = text(dump)
        else:
            out[name] = raw.item() if isinstance(raw, np.generic) else raw
    return out


class PypetFile:
    """A pypet HDF5 file opened for reading (a context manager).

    Parameters
    ----------
    path : path-like
        The file pypet wrote.
    allow_pickle : bool
        Load annotations and pandas items that contain pickles (unpickling can run code).
    """

    def __init__(self, path: str | Path, *, allow_pickle: bool = False) -> None:
        self.path = Path(path)
        self.allow_pickle = allow_pickle
        self._file = _h5py_file(self.path)
        self._pandas: Any = None  # pandas.HDFStore and tables.File, opened when needed
        self._tables: Any = None

    # -- context --------------------------------------------------------------------------
    def close(self) -> None:
        for handle in (self._pandas, self._tables):
            if handle is not None:
                handle.close()
        self._pandas = self._tables = None
        self._file.close()

    def __enter__(self) -> PypetFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- trajectories ---------------------------------------------------------------------
    def _info(self, name: str) -> dict[str, Any]:
        group = self._file[name]
        if "overview" not in group or "info" not in group["overview"]:
            return {}
        rows = self.data(group["overview"]["info"])
        if not len(rows):
            return {}
        row = rows[0]
        return {k: text(row[k]) if isinstance(row[k], (bytes, np.bytes_)) else row[k].item()
                for k in row.dtype.names}

    def trajectories(self) -> list[str]:
        """Names of the trajectories in the file, oldest first (by pypet's timestamp)."""
        import h5py

        names = [n for n, g in self._file.items()
                 if isinstance(g, h5py.Group) and ("overview" in g or any(t in g for t in TOPS))]
        return sorted(names, key=lambda n: (float(self._info(n).get("timestamp", 0.0)), n))

    def pick(self, name: str | None) -> str:
        """The trajectory to import: ``name``, or the only (else the newest) one."""
        names = self.trajectories()
        if not names:
            raise PypetFileError(f"{self.path} holds no pypet trajectory")
        if name is None:
            return names[-1]
        if name not in names:
            raise PypetFileError(f"{self.path} has no trajectory {name!r}; it holds: "
                                 f"{', '.join(names)}")
        return name

    # -- the tree -------------------------------------------------------------------------
    def index(self, name: str) -> TrajectoryIndex:
        """The tree, exploration and runs of trajectory ``name`` (no data read)."""
        group = self._file[name]
        info = self._info(name)
        index = TrajectoryIndex(
            name=name,
            comment=attr(group, "SRVC_INIT_COMMENT", "") or str(info.get("comment", "")),
            timestamp=float(info["timestamp"]) if "timestamp" in info else None,
            pypet_version=str(info.get("version", "")),
            python_version=str(info.get("python", "")),
            n_runs=0, explored=[], groups=[], leaves=[], links=[], run_leaves=[],
            completed=np.zeros(0, bool), duration=np.zeros(0), has_run_table=False,
        )
        for top in TOPS:
            if top in group:
                self._walk(group[top], top, None, index)
        index.explored = self._explored(group, index.leaves)
        index.completed, index.duration, index.has_run_table = self._runs(
            group, int(info.get("length") or 0), index.run_leaves)
        index.n_runs = len(index.completed)
        return index

    def _walk(self, group: Any, path: str, run: int | None, index: TrajectoryIndex) -> None:
        """Add the nodes below ``group`` (at ``path``; inside run ``run``) to ``index``."""
        import h5py

        from pypetx.engine.runview import result_variable

        where = f"{self.path} trajectory {index.name!r}"
        top = path.partition(".")[0]
        for child in group:
            link = group.get(child, getlink=True)
            child_path = f"{path}.{child}"
            if isinstance(link, h5py.SoftLink):
                target = link.path.strip("/").split("/")
                if target[0] == index.name and run is None:
                    index.links.append((child_path, ".".join(target[1:])))
                else:
                    warnings.warn(f"{where}: link {child_path!r} to {link.path!r} skipped "
                                  "(inside a run or outside the trajectory)", stacklevel=3)
                continue
            if isinstance(link, h5py.ExternalLink):
                warnings.warn(f"{where}: external link {child_path!r} skipped", stacklevel=3)
                continue
            node = group[child]
            if not isinstance(node, h5py.Group):
                continue  # pypet puts no data directly in tree groups
            child_run = run
            match = RUN.fullmatch(child)
            if match and top in RUN_TOPS:
                child_run = int(match.group(1))
            comment = attr(node, "SRVC_INIT_COMMENT", "") or ""
            # annotations of a run's nodes have no place in a variable over all runs
            annotations = _annotations(node, self.allow_pickle) if child_run is None else {}
            if attr(node, "SRVC_LEAF"):
                leaf = LeafRef(child_path, attr(node, "SRVC_INIT_CLASS_NAME", "Result"),
                               comment, annotations, node.name)
                if child_run is None:
                    index.leaves.append(leaf)
                else:
                    index.run_leaves.append((child_run, result_variable(child_path), leaf))
                continue
            # run containers (runs, run_set_00000, run_00000003) are not groups in pypetx
            if child_run is None and not (top in RUN_TOPS and (
                    child == "runs" or RUN_SET.fullmatch(child))):
                index.groups.append(GroupRef(child_path, comment, annotations))
            self._walk(node, child_path, child_run, index)

    def _explored(self, group: Any, leaves: list[LeafRef]) -> list[str]:
        """Explored parameters in pypet's order (``overview/explorations``; older files
        without that table: the parameters that have an explored range, in tree order)."""
        overview = group.get("overview")
        if overview is not None and "explorations" in overview:
            return [text(r[0]) for r in self.data(overview["explorations"])]
        return [leaf.path for leaf in leaves if leaf.path.startswith("parameters.")
                and any(k.startswith("explored_data") for k in group.file[leaf.node])]

    def _runs(self, group: Any, n_runs: int, run_leaves: list
              ) -> tuple[np.ndarray, np.ndarray, bool]:
        """``completed`` and ``duration`` per run from ``overview/runs``. Without that
        table a run counts as completed when it stored something."""
        overview = group.get("overview")
        if overview is not None and "runs" in overview and len(overview["runs"]):
            rows = self.data(overview["runs"])
            n = max(n_runs, int(rows["idx"].max()) + 1)
            completed = np.zeros(n, bool)
            duration = np.full(n, np.nan)
            done = rows["completed"].astype(bool)
            completed[rows["idx"]] = done
            names = rows.dtype.names
            if "timestamp" in names and "finish_timestamp" in names:
                spent = rows["finish_timestamp"] - rows["timestamp"]
                duration[rows["idx"][done]] = spent[done]
            return completed, duration, True
        n = max([n_runs, *(i + 1 for i, _, _ in run_leaves)])
        completed = np.zeros(n, bool)
        completed[[i for i, _, _ in run_leaves]] = True
        return completed, np.full(n, np.nan), False

    # -- data (nodes.Source) ---------------------------------------------------------------
    def items(self, leaf: LeafRef) -> dict[str, Any]:
        """The stored items of ``leaf``: name -> value (pickles still as bytes)."""
        return read_items(self._file[leaf.node], self, f"{self.path} {leaf.path}")

    def data(self, node: Any) -> Any:
        """A dataset's numpy data; through PyTables when h5py lacks its compression
        filter (pypet's ``complib`` may be blosc, lzo or bzip2)."""
        import h5py

        try:
            if node.dtype.kind == "S" and node.shape is not None:
                # h5py cuts C strings at the first NUL; pickle dumps hold NULs: read the
                # bytes as stored (numpy only drops trailing NULs, as PyTables does)
                data = np.empty(node.shape, node.dtype)
                node.id.read(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=node.id.get_type())
                data = data[()] if data.ndim == 0 else data
            else:
                data = node[()]
        except OSError as exc:  # typically a compression filter h5py lacks
            try:
                data = self._tables_node(node).read()
            except UnreadableItem:
                raise
            except Exception:  # noqa: BLE001 - PyTables cannot either: h5py's reason
                raise PypetFileError(f"{self.path}: cannot read {node.name}: {exc}") from None
        return None if isinstance(data, h5py.Empty) else data

    def pandas(self, node: Any) -> Any:
        """A pandas object, read by pandas (with PyTables) once checked for pickles."""
        self._check_pickles(node, "a pandas object")
        if self._pandas is None:
            import pandas as pd

            self._pandas = pd.HDFStore(str(self.path), mode="r")
        return self._pandas.get(node.name)

    def _check_pickles(self, node: Any, what: str) -> None:
        if not self.allow_pickle and holds_pickles(node):
            raise UnreadableItem(f"{what} holding pickled Python objects (PyTables would "
                                 "unpickle them: import with allow_pickle to read it)")

    def _tables_node(self, node: Any) -> Any:
        self._check_pickles(node, "an array")
        if self._tables is None:
            import tables

            self._tables = tables.open_file(str(self.path), mode="r")
        return self._tables.get_node(node.name)
