"""pypet's ``v_annotations`` object: a node's annotations by attribute and ``f_`` methods.

Used by the node mixins of :mod:`pypetx.compat.nodes`.
"""

from __future__ import annotations

from typing import Any


class AnnotationsView:
    """pypet's ``node.v_annotations``: ``v_annotations.source``, ``f_set``, ``f_get``..."""

    def __init__(self, node: Any) -> None:
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._node.annotations[name]
        except KeyError:
            raise AttributeError(f"no annotation {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._node.annotations[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._node.annotations

    def __getitem__(self, name: Any) -> Any:
        return self._node.get_annotations(self._key(name))

    def __setitem__(self, name: Any, value: Any) -> None:
        self._node.set_annotations({self._key(name): value})

    def __delitem__(self, name: Any) -> None:
        self.f_remove(name)

    def __delattr__(self, name: str) -> None:
        self.f_remove(name)

    def __iter__(self) -> Any:
        return iter(self._node.annotations)

    def __len__(self) -> int:
        return len(self._node.annotations)

    def f_ann_to_str(self) -> str:
        """The annotations sorted by name as ``key=value; key=value`` (pypet's format)."""
        items = self._node.annotations
        return "; ".join(f"{key}={items[key]!s}" for key in sorted(items))

    def __str__(self) -> str:
        return self.f_ann_to_str()

    @staticmethod
    def _key(name: Any) -> str:
        # pypet: positional annotations are named annotation, annotation_1, annotation_2...
        if isinstance(name, int):
            return "annotation" if name == 0 else f"annotation_{name}"
        return name

    def f_set(self, *args: Any, **kwargs: Any) -> None:
        self._node.set_annotations({self._key(i): v for i, v in enumerate(args)}, **kwargs)

    def f_set_single(self, name: str, value: Any) -> None:
        self._node.set_annotations({name: value})

    def f_get(self, *names: Any) -> Any:
        if not names:  # pypet: the single annotation, else an error naming them
            annotations = self._node.annotations
            if not annotations:
                raise AttributeError(f"{self._node.full_name or 'trajectory'!s} has no "
                                     f"annotations")
            if len(annotations) != 1:
                raise ValueError(
                    f"{self._node.full_name or 'trajectory'!s} has annotations "
                    f"{sorted(annotations)}; say which one to get"
                )
            return next(iter(annotations.values()))
        return self._node.get_annotations(*map(self._key, names))

    def f_remove(self, name: str) -> None:
        del self._node.annotations[self._key(name)]

    def f_to_dict(self, copy: bool = True) -> dict:
        return dict(self._node.annotations) if copy else self._node.annotations

    def f_is_empty(self) -> bool:
        return not self._node.annotations

    def __repr__(self) -> str:
        return f"Annotations({self._node.annotations!r})"
