"""Scores from raw criterion values: normalisation, weighted sum, rank, sensitivity."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ProjectError
from .settings import NORMALISATIONS

#: scores are compared rounded to this many decimals, so float noise cannot break a tie
SCORE_DECIMALS = 9


def _normalise_values(x: np.ndarray, normalisation: str, direction: str, scale_max: float | None,
                      horizon_years: float) -> np.ndarray:
    """Numpy core of :func:`normalise` (NaN in, 0 out)."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    z = np.zeros_like(x)
    if normalisation == "max":
        xc = np.clip(x, 0.0, None)
        m = np.nanmax(xc) if ok.any() else np.nan
        n = xc / m if (np.isfinite(m) and m > 0) else z
    elif normalisation == "minmax":
        lo = np.nanmin(x) if ok.any() else np.nan
        hi = np.nanmax(x) if ok.any() else np.nan
        n = (x - lo) / (hi - lo) if (np.isfinite(hi) and hi > lo) else z
    elif normalisation == "fixed":
        if not scale_max or not (scale_max > 0):
            raise ProjectError("normalisation 'fixed' needs scale_max > 0")
        n = x / float(scale_max)
    elif normalisation == "horizon":
        n = x / max(float(horizon_years), 1.0)
    elif normalisation == "none":
        n = x
    else:
        raise ProjectError(f"unknown normalisation '{normalisation}' - use one of {', '.join(NORMALISATIONS)}")
    n = np.clip(n, 0.0, 1.0)
    s = n if direction == "higher" else 1.0 - n
    return np.where(ok, s, 0.0)


def normalise(raw: pd.Series, *, normalisation: str, direction: str, scale_max: float | None = None,
              horizon_years: float = 1.0) -> pd.Series:
    """Normalise raw criterion values to scores in 0..1 (1 = most priority).

    Examples
    --------
    >>> normalise(pd.Series([0.0, 5.0, np.nan]), normalisation="horizon", direction="lower",
    ...           horizon_years=10).tolist()
    [1.0, 0.5, 0.0]
    """
    x = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
    return pd.Series(_normalise_values(x, normalisation, direction, scale_max, horizon_years), index=raw.index)


def _check_weights(criteria: pd.DataFrame) -> np.ndarray:
    w = criteria["weight"].astype(float).to_numpy()
    if (w < 0).any() or not np.isfinite(w).all():
        bad = criteria["criterion"].to_numpy()[(w < 0) | ~np.isfinite(w)][0]
        raise ProjectError(f"[ranking.weights] {bad}: weights must be finite numbers >= 0")
    if float(w.sum()) <= 0:
        raise ProjectError("[ranking.weights]: every weight is 0 - give at least one criterion a weight > 0")
    return w


def _score_matrix(raw: pd.DataFrame, criteria: pd.DataFrame, horizon_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw values and normalised scores, one column per criterion (in the criteria's order)."""
    n, k = len(raw), len(criteria)
    rawm = np.full((n, k), np.nan, order="F")  # column by column: each criterion's values side by side
    sm = np.zeros((n, k), order="F")
    for j, r in enumerate(criteria.itertuples(index=False)):
        if r.criterion in raw:
            rawm[:, j] = pd.to_numeric(raw[r.criterion], errors="coerce").astype(float).to_numpy()
        sm[:, j] = _normalise_values(rawm[:, j], r.normalisation, r.direction,
                                     r.scale_max if pd.notna(r.scale_max) else None, horizon_years)
    return rawm, sm


def _weighted(sm: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contributions and score: column by column, so each row's sum is independent of row order."""
    total = float(w.sum())
    contrib = np.zeros_like(sm)
    score = np.zeros(sm.shape[0])
    for j in range(sm.shape[1]):
        np.multiply(float(w[j]) / total, sm[:, j], out=contrib[:, j])
        score += contrib[:, j]
    return contrib, score


def _score_of(sm: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The score of :func:`_weighted` alone (the same sums, in the same order)."""
    total = float(w.sum())
    score = np.zeros(sm.shape[0])
    for j in range(sm.shape[1]):
        score += (float(w[j]) / total) * sm[:, j]
    return score


def _order(score: np.ndarray, ids: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Row order by score (descending, rounded) then id(s) ascending.

    ``ids`` may be given as :func:`_tie_ranks` of the id columns, so that
    ranking again (the sensitivity) sorts no text. Both keys go into one
    integer per row, ``-rint(score * 10**SCORE_DECIMALS) * n + tie``, sorted
    once: the order :func:`numpy.lexsort` gives on the rounded score and the
    tie (``numpy.round`` rounds ``score * 10**d`` to an integer, then divides,
    which keeps the order; the integers are distinct, so any sort gives it).
    """
    tie = ids if isinstance(ids, np.ndarray) else _tie_ranks(ids)
    n = len(score)
    q = np.rint(np.asarray(score, dtype=float) * 10.0**SCORE_DECIMALS)
    if n and np.isfinite(q).all() and (float(np.abs(q).max()) + 1.0) * n < 2.0**62:
        return np.argsort(-q.astype(np.int64) * n + tie)
    return np.lexsort([tie, -np.round(score, SCORE_DECIMALS)])


def _tie_ranks(ids: pd.DataFrame) -> np.ndarray:
    """Each row's place in the order of its id(s) (ascending as text; equal ids in row order).

    Each id column is factorized (codes in the order of the text) and the
    integer codes are sorted; with a missing id the text itself is sorted
    (``'nan'`` among the others, as ``astype(str)`` writes it).
    """
    text = [ids[c].astype(str) for c in reversed(list(ids.columns))]
    if not text:
        return np.zeros(len(ids), dtype=int)
    codes = [pd.factorize(t, sort=True)[0] for t in text]
    if any((c < 0).any() for c in codes):
        codes = [t.to_numpy(dtype=str) for t in text]
    return _ranks(np.lexsort(codes))


def _ranks(order: np.ndarray) -> np.ndarray:
    """Rank (1 = first) of each row, given the row order."""
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def _fmt(v: float, unit: str) -> str:
    """A raw value in the explanation, Dutch style: ``39,5 MW``, ``4 jaar``; a 0-1 or 0-3 scale without a unit.

    Examples
    --------
    >>> _fmt(39.48, "MW"), _fmt(0.6, "score 0-1"), _fmt(2.0, "ernst 0-3"), _fmt(float("nan"), "MW")
    ('39,5 MW', '0,6', '2', 'onbekend')
    """
    if v != v:  # NaN (pd.isna, without its cost: this runs for every site and criterion)
        return "onbekend"
    return f"{v:.3g}".replace(".", ",") + _unit_suffix(unit)


@functools.lru_cache(maxsize=256)
def _unit_suffix(unit: str) -> str:
    """`` MW`` after a raw value; nothing for a scale (``score 0-1``, ``ernst 0-3``)."""
    return "" if re.search(r"\d\s*[-/]\s*\d", unit) or unit.startswith("score") else f" {unit}"


def _explanations(raw: np.ndarray, contrib: np.ndarray, words: Sequence[str], units: Sequence[str],
                  explain: int) -> np.ndarray:
    """The explanation of each row: its ``explain`` largest contributions, named with their raw value.

    Per row the criteria by contribution, largest first (equal ones in
    criterion order), each > 0 as ``<word> <raw> (+<contribution>)`` with
    Dutch decimals, ``; ``-joined; ``geen criterium telt mee`` without any.
    Each part is written once per criterion and distinct (raw value,
    contribution) and placed in every row that names it.
    """
    n, k = contrib.shape
    out = np.full(n, "geen criterium telt mee", dtype=object)
    if not (n and k and explain):
        return out
    best = np.argsort(-contrib, axis=1, kind="stable")[:, :explain]
    c_best = np.take_along_axis(contrib, best, axis=1)
    on = c_best > 0
    parts = np.empty(best.shape, dtype=object)
    for j in np.unique(best[on]).tolist():
        sel = on & (best == j)
        r = np.ascontiguousarray(raw[np.nonzero(sel)[0], j])
        c = np.ascontiguousarray(c_best[sel])
        # distinct raw values by their bits (-0.0 is not 0.0); the contribution follows from the raw value
        inv, _ = pd.factorize(r.view(np.int64))
        first = np.flatnonzero(inv > np.maximum.accumulate(np.concatenate([[-1], inv[:-1]])))
        if not (c.view(np.int64) == c.view(np.int64)[first][inv]).all():  # it does not: every row its own text
            inv, first = np.arange(len(r)), np.arange(len(r))
        text = [f"{words[j]} {_fmt(v, units[j])} (+{w:.3f})".replace(".", ",")
                for v, w in zip(r[first].tolist(), c[first].tolist(), strict=True)]
        parts[sel] = np.array(text, dtype=object)[inv]
    has = np.zeros(n, dtype=bool)
    for p in range(best.shape[1]):
        m = on[:, p]
        new, more = m & ~has, m & has
        out[new] = parts[new, p]
        out[more] = out[more] + "; " + parts[more, p]
        has |= m
    return out


class Scores:
    """The normalised scores of a table of items, once for its score table and its sensitivity.

    Parameters
    ----------
    raw : DataFrame
        The id column(s) and one column of raw values per criterion.
    criteria : DataFrame
        As for :func:`score_table`.
    horizon_years : float
    id_cols : sequence of str

    Examples
    --------
    >>> from spatialprog.reference import load_criteria
    >>> crit = load_criteria()
    >>> c = crit[crit["criterion"] == "shortfall_offtake_mw"].assign(weight=1.0)
    >>> sc = Scores(pd.DataFrame({"id": ["A", "B"], "shortfall_offtake_mw": [5.0, 10.0]}), c, 15, ["id"])
    >>> sc.table(c)[0]["id"].tolist(), sc.sensitivity(c, top_n=1, pct=25)["n_top_changed"].tolist()
    (['B', 'A'], [0, 0])
    """

    def __init__(self, raw: pd.DataFrame, criteria: pd.DataFrame, horizon_years: float, id_cols: Sequence[str]):
        self.id_cols = list(id_cols)
        self.w = _check_weights(criteria)
        self.rawm, self.sm = _score_matrix(raw, criteria, horizon_years)
        self.ids = raw[self.id_cols].reset_index(drop=True)
        self.tie = _tie_ranks(self.ids)  # the ids sorted once; every ranking sorts numbers only

    def table(self, criteria: pd.DataFrame, *, explain: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
        """:func:`score_table`, and the row order (positions in ``raw``) of its rows."""
        return _table(self, criteria, explain=explain)

    def sensitivity(self, criteria: pd.DataFrame, *, top_n: int = 10, pct: float = 25.0) -> pd.DataFrame:
        """:func:`sensitivity`: each re-ranking is a weighted sum of the score columns and one sort."""
        return _sensitivity(self, criteria, top_n=top_n, pct=pct)


def score_table(raw: pd.DataFrame, criteria: pd.DataFrame, *, horizon_years: float,
                id_cols: Sequence[str] = ("id",), explain: int = 3) -> pd.DataFrame:
    """Score and rank items: each criterion's raw value, score and contribution.

    Parameters
    ----------
    raw : DataFrame
        The id column(s) and one column of raw values per criterion (a
        criterion without a column scores 0).
    criteria : DataFrame
        Criteria with ``criterion, direction, normalisation, scale_max,
        weight`` (:meth:`RankingSettings.criteria_for`).
    horizon_years : float
        For the ``horizon`` normalisation.
    id_cols : sequence of str
        Columns that identify an item; ties in score are broken by them.
    explain : int
        How many of the largest contributions to name in ``explanation``.

    Returns
    -------
    DataFrame
        The id columns, ``rank`` (1 = first), ``score`` (0..1), and per
        criterion ``raw_<c>``, ``score_<c>`` and ``contrib_<c>`` (the
        contributions sum to ``score``), then ``explanation`` (Dutch: the
        largest contributions with the criterion's ``label_nl``, its raw value
        and its share of the score, e.g. ``tekort afname 39,5 MW (+0,134)``);
        sorted by rank.
    """
    return Scores(raw, criteria, horizon_years, id_cols).table(criteria, explain=explain)[0]


def _table(sc: Scores, criteria: pd.DataFrame, *, explain: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`score_table` of prepared scores, and the row order (positions in ``raw``) of its rows."""
    names = criteria["criterion"].tolist()
    units = criteria["unit"].astype(str).tolist() if "unit" in criteria else [""] * len(names)
    words = (criteria["label_nl"].where(criteria["label_nl"].notna(), criteria["criterion"]).astype(str).tolist()
             if "label_nl" in criteria else names)  # the explanation names each criterion in Dutch
    rawm, sm = sc.rawm, sc.sm
    contrib, score = _weighted(sm, sc.w)
    order = _order(score, sc.tie)
    out = sc.ids.iloc[order].reset_index(drop=True)
    cols = {"rank": np.arange(1, len(out) + 1), "score": score[order]}
    for j, c in enumerate(names):
        cols[f"raw_{c}"] = rawm[order, j]
        cols[f"score_{c}"] = sm[order, j]
        cols[f"contrib_{c}"] = contrib[order, j]
    for c, v in cols.items():
        out[c] = v
    if explain:
        out["explanation"] = _explanations(rawm[order], contrib[order], words, units, explain)
    return out, order


def sensitivity(raw: pd.DataFrame, criteria: pd.DataFrame, *, horizon_years: float, id_cols: Sequence[str] = ("id",),
                top_n: int = 10, pct: float = 25.0) -> pd.DataFrame:
    """How the top of the ranking reacts to each weight varied by +-``pct`` %.

    For every criterion and both directions of change, the ranking is
    recomputed with only that weight changed; ``n_top_changed`` counts the
    items of the original top ``top_n`` whose rank changed (including those
    that left the top).

    Returns
    -------
    DataFrame
        ``criterion, weight, change_pct, weight_varied, n_top_changed,
        n_entered_top, max_rank_shift, top_after`` (ids ``;``-joined).
    """
    return Scores(raw, criteria, horizon_years, id_cols).sensitivity(criteria, top_n=top_n, pct=pct)


def _sensitivity(sc: Scores, criteria: pd.DataFrame, *, top_n: int, pct: float) -> pd.DataFrame:
    """:func:`sensitivity` of prepared scores: each re-ranking is a weighted sum of the score columns and one sort."""
    w0, sm, ids = sc.w, sc.sm, sc.ids
    n = len(ids)
    base_order = _order(_score_of(sm, w0), sc.tie)
    base_rank = _ranks(base_order)
    top = base_order[:top_n]
    rows, tops = [], []
    for i, c in enumerate(criteria["criterion"]):
        for sign in (-1, 1):
            w1 = w0.copy()
            w1[i] = w0[i] * (1 + sign * pct / 100.0)
            if float(w1.sum()) <= 0:
                continue
            order = _order(_score_of(sm, w1), sc.tie)
            rank = _ranks(order)
            new_top = order[:top_n]
            tops.append(new_top)
            rows.append({
                "criterion": c,
                "weight": float(w0[i]),
                "change_pct": sign * pct,
                "weight_varied": float(w1[i]),
                "n_top_changed": int((rank[top] != base_rank[top]).sum()),
                "n_entered_top": len(set(new_top.tolist()) - set(top.tolist())),
                "max_rank_shift": int(np.abs(rank - base_rank).max()) if n else 0,
            })
    # the ids '|'-joined, column by column, of the rows in some top only
    need = np.unique(np.concatenate(tops)) if tops else np.zeros(0, dtype=int)
    key = ids[sc.id_cols[0]].iloc[need].astype(str).to_numpy(dtype=object)
    for c in sc.id_cols[1:]:
        key = key + "|" + ids[c].iloc[need].astype(str).to_numpy(dtype=object)
    for row, new_top in zip(rows, tops, strict=True):
        row["top_after"] = ";".join(key[np.searchsorted(need, new_top)])
    return pd.DataFrame(rows, columns=["criterion", "weight", "change_pct", "weight_varied", "n_top_changed",
                                       "n_entered_top", "max_rank_shift", "top_after"])
