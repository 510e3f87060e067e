"""pypet's module-level ``load_trajectory``."""

from __future__ import annotations

from typing import Any


def load_trajectory(name: str | None = None, index: int | None = None, as_new: bool = False,
                    load_parameters: int = 2, load_derived_parameters: int = 1,
                    load_results: int = 1, load_other_data: int = 1, recursive: bool = True,
                    load_data: int | None = None, max_depth: Any = None, force: bool = False,
                    dynamic_imports: Any = None, new_name: str = "my_trajectory",
                    add_time: bool = True, wildcard_functions: Any = None,
                    with_run_information: bool = True, storage_service: Any = None,
                    *, filename: str, **kwargs: Any) -> Any:
    """A new trajectory loaded from ``filename`` (pypet's ``load_trajectory``; its
    defaults: parameters with data, derived parameters and results as skeletons); see
    :func:`pypetx.env.loading.reading.load_into`."""
    from pypetx.compat.trajectory import Trajectory
    from pypetx.env.loading.reading import load_into

    if (name is None) == (index is None):
        raise ValueError("give either a trajectory name or an index")
    return load_into(Trajectory(new_name, filename=filename), filename, name, index=index,
                     as_new=as_new, load_parameters=load_parameters,
                     load_derived_parameters=load_derived_parameters,
                     load_results=load_results,
                     load_data=0 if recursive is None else load_data,
                     allow_pickle=kwargs.pop("allow_pickle", False))
