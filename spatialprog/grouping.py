"""Grouping long tables by their key columns with integer codes (pure, numpy).

The long tables of a national run (demand, allocation, headroom: millions of
rows keyed by text columns such as ``layer``, ``site_id``, ``substation_id``)
are grouped and summed many times. pandas groups text keys by hashing every
string on every call; here each key column is factorized once, the codes are
combined into one integer per row, and sums are :func:`numpy.bincount` over
those integers. Groups come in ascending order of their keys, as
``DataFrame.groupby(keys, sort=True)`` gives them, so the results are the
same rows in the same order.

Examples
--------
>>> df = pd.DataFrame({"sub": ["B", "A", "B", "A"], "site": ["x", "y", "x", "z"], "mw": [1.0, 2.0, 3.0, 4.0]})
>>> g = Groups(df, ["sub", "site"])
>>> g.keys().to_dict("list")
{'sub': ['A', 'A', 'B'], 'site': ['y', 'z', 'x']}
>>> g.sum(df["mw"]).tolist()
[2.0, 4.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["Groups"]


class Groups:
    """The groups of a table's rows by key columns (rows with a missing key in no group, as in pandas).

    Parameters
    ----------
    frame : DataFrame
    keys : sequence of str
        The key columns.

    Attributes
    ----------
    inverse : ndarray of int64
        Per row its group (0 .. n - 1), -1 where a key is missing.
    first : ndarray of int64
        Per group the position of its first row.
    n : int
        The number of groups.
    """

    def __init__(self, frame: pd.DataFrame, keys: Sequence[str]):
        self.frame = frame
        self.key_names = list(keys)
        combined = np.zeros(len(frame), dtype=np.int64)
        missing = np.zeros(len(frame), dtype=bool)
        span = 1
        codes = []
        for k in self.key_names:
            c, u = pd.factorize(frame[k], sort=True)
            missing |= c < 0
            codes.append(c)
            if span * max(len(u), 1) >= 2**62:  # too many combinations for one int64: unique over the rows
                combined = None
                break
            combined = combined * max(len(u), 1) + np.maximum(c, 0)
            span *= max(len(u), 1)
        if combined is None:
            stacked = np.column_stack(codes)
            _, first, inv = np.unique(stacked[~missing], axis=0, return_index=True, return_inverse=True)
        else:  # hashed, then the distinct keys sorted (sorting every row cost more at millions of rows)
            inv, _ = pd.factorize(combined[~missing], sort=True)
            first = np.full(inv.max() + 1 if len(inv) else 0, len(inv), dtype=np.int64)
            np.minimum.at(first, inv, np.arange(len(inv), dtype=np.int64))
        rows = np.flatnonzero(~missing)
        self.inverse = np.full(len(frame), -1, dtype=np.int64)
        self.inverse[rows] = inv.reshape(-1)
        self.first = rows[first]
        self.n = len(first)

    def keys(self) -> pd.DataFrame:
        """One row per group: its key values, in group order."""
        return self.frame[self.key_names].iloc[self.first].reset_index(drop=True)

    def take(self, column: str) -> np.ndarray:
        """Per group the value of ``column`` in its first row."""
        return self.frame[column].iloc[self.first].to_numpy()  # the first rows only to numpy (text: to objects)

    def sum(self, values, *, by: np.ndarray | None = None, n_by: int = 1) -> np.ndarray:
        """Per group (and per ``by`` code 0 .. ``n_by`` - 1, as columns) the sum of ``values``; missing values count 0.

        Returns an array of ``n`` values, or ``n x n_by`` with ``by``.
        """
        v = np.nan_to_num(np.asarray(values, dtype="float64"), nan=0.0)
        ok = self.inverse >= 0
        if by is None:
            return np.bincount(self.inverse[ok], weights=v[ok], minlength=self.n)
        flat = self.inverse[ok] * n_by + np.asarray(by)[ok]
        return np.bincount(flat, weights=v[ok], minlength=self.n * n_by).reshape(self.n, n_by)
