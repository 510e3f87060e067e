"""pypet's ``ObjectTable``: a pandas DataFrame whose columns keep their Python objects."""

from __future__ import annotations

from typing import Any

import pandas as pd


class ObjectTable(pd.DataFrame):
    """A :class:`pandas.DataFrame` created with ``dtype=object``.

    Values keep their own type (a Python int stays an int, arrays stay arrays) instead of
    being converted to one numpy dtype per column. pypetx stores it like any data frame.
    """

    def __init__(self, data: Any = None, index: Any = None, columns: Any = None,
                 copy: bool = False) -> None:
        super().__init__(data=data, index=index, columns=columns, dtype=object, copy=copy)

    @property
    def _constructor(self) -> type:
        return ObjectTable
