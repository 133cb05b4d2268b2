"""Sort-based set operations on 1-D integer arrays.

``np.unique`` without ``return_*`` takes a hash-table path that is many times slower than sorting on the
millions of pair and key codes that blocking and clustering produce; these helpers sort instead.
"""

from __future__ import annotations

import numpy as np


def unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted."""
    s = np.sort(np.asarray(values), kind="stable" if values.dtype.itemsize <= 2 else "quicksort")
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (sorted) and, for each input value, the index of its distinct value."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    s = values[order]
    new = np.empty(len(s), dtype=bool)
    if len(s):
        new[0] = True
        np.not_equal(s[1:], s[:-1], out=new[1:])
    rank = np.cumsum(new, dtype=np.int64) - 1
    inverse = np.empty(len(s), dtype=np.int64)
    inverse[order] = rank
    return s[new], inverse
