"""Tables as a reader sees them, while the CSV beside them keeps every digit.

``format_value`` writes one cell for a reader: integers with thousands
separators, four significant figures, scientific notation only where the
magnitude is the point (below 1e-4, e.g. a collapsed weight of 4.5e-44, or
from 1e9 on, e.g. a weight ratio that grows without bound),
``yes``/``no`` for flags and ``n/a`` for an undefined value (NaN). ``Shown``
is the ``DataFrame`` that ``Section.table`` returns: its values are untouched
(anything computed from it is a plain ``DataFrame``), only its display in a
notebook, in HTML and as text, goes through ``reader_frame``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from pandas.io.formats.format import get_dataframe_repr_params

from .stats import NA

SIGNIFICANT = 4     # significant figures of a displayed float
SMALL = 1e-4        # below this (and above 0) a number is written in scientific notation
LARGE = 1e4         # from this on a float is written as a whole number with separators
HUGE = 1e9          # from this on (a weight ratio growing without bound) the magnitude is the point: scientific


def format_value(v) -> str:
    """One cell for a reader (see the module docstring); strings are returned unchanged."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return NA
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral) and abs(int(v)) < HUGE:
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        v = float(v)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0:
            return "0"
        if abs(v) < SMALL or abs(v) >= HUGE:
            return f"{v:.{SIGNIFICANT - 2}e}"
        if abs(v) >= LARGE or (v.is_integer() and abs(v) >= 1000):
            return f"{v:,.0f}"
        if v.is_integer():
            return f"{int(v)}"
        return f"{v:.{SIGNIFICANT}g}"
    return str(v)


def _index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([lv.map(format_value) if lv.dtype.kind in "fiu" else lv for lv in index.levels],
                                verify_integrity=False)
    return index.map(format_value) if index.dtype.kind == "f" else index


def reader_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``df`` (and a numeric index) formatted with ``format_value``: a frame of strings."""
    out = df.map(format_value) if len(df.columns) else df.copy()
    out.index = _index(df.index)
    return out


class Shown(pd.DataFrame):
    """A table as readers see it (``reader_frame``), in HTML and as text; its values stay as they are."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self) -> str:
        return reader_frame(self).to_html(notebook=True, index=self.attrs.get("show_index", True),
                                          max_rows=pd.get_option("display.max_rows"),
                                          max_cols=pd.get_option("display.max_columns"),
                                          show_dimensions=pd.get_option("display.show_dimensions"))

    def __repr__(self) -> str:
        return reader_frame(self).to_string(**{**get_dataframe_repr_params(),
                                               "index": self.attrs.get("show_index", True)})
