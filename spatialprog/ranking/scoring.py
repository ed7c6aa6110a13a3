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
    rawm = np.full((n, k), np.nan)
    sm = np.zeros((n, k))
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
        contrib[:, j] = (float(w[j]) / total) * sm[:, j]
        score = score + contrib[:, j]
    return contrib, score


def _order(score: np.ndarray, ids: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Row order by score (descending, rounded) then id(s) ascending.

    ``ids`` may be given as :func:`_tie_ranks` of the id columns, so that
    ranking again (the sensitivity) sorts no text.
    """
    tie = ids if isinstance(ids, np.ndarray) else _tie_ranks(ids)
    return np.lexsort([tie, -np.round(score, SCORE_DECIMALS)])


def _tie_ranks(ids: pd.DataFrame) -> np.ndarray:
    """Each row's place in the order of its id(s) (ascending as text; equal ids in row order)."""
    keys = [ids[c].astype(str).to_numpy(dtype=str) for c in reversed(list(ids.columns))]
    return _ranks(np.lexsort(keys)) if keys else np.zeros(len(ids), dtype=int)


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
    id_cols = list(id_cols)
    w = _check_weights(criteria)
    names = criteria["criterion"].tolist()
    units = criteria["unit"].astype(str).tolist() if "unit" in criteria else [""] * len(names)
    words = (criteria["label_nl"].where(criteria["label_nl"].notna(), criteria["criterion"]).astype(str).tolist()
             if "label_nl" in criteria else names)  # the explanation names each criterion in Dutch
    rawm, sm = _score_matrix(raw, criteria, horizon_years)
    contrib, score = _weighted(sm, w)
    order = _order(score, raw[id_cols].reset_index(drop=True))
    out = raw[id_cols].reset_index(drop=True).iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["score"] = score[order]
    for j, c in enumerate(names):
        out[f"raw_{c}"] = rawm[order, j]
        out[f"score_{c}"] = sm[order, j]
        out[f"contrib_{c}"] = contrib[order, j]
    if explain:
        mat = contrib[order]
        # per row the criteria by contribution, largest first (equal ones in criterion order)
        best = np.argsort(-mat, axis=1, kind="stable")[:, :explain] if len(names) else np.zeros((len(out), 0), int)
        expl = []
        for i in range(len(out)):
            idx = best[i]
            parts = [f"{words[j]} {_fmt(rawm[order[i], j], units[j])} (+{mat[i, j]:.3f})".replace(".", ",")
                     for j in idx if mat[i, j] > 0]
            expl.append("; ".join(parts) if parts else "geen criterium telt mee")
        out["explanation"] = expl
    return out


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
    id_cols = list(id_cols)
    w0 = _check_weights(criteria)
    _, sm = _score_matrix(raw, criteria, horizon_years)
    ids = raw[id_cols].reset_index(drop=True)
    key = ids[id_cols[0]].astype(str).to_numpy(dtype=object)
    for c in id_cols[1:]:  # the ids '|'-joined, column by column (a row-wise join cost seconds at 1e5 sites)
        key = key + "|" + ids[c].astype(str).to_numpy(dtype=object)
    n = len(key)
    tie = _tie_ranks(ids)  # the ids sorted once; every re-ranking below sorts numbers only
    base_order = _order(_weighted(sm, w0)[1], tie)
    base_rank = _ranks(base_order)
    top = base_order[:top_n]
    rows = []
    for i, c in enumerate(criteria["criterion"]):
        for sign in (-1, 1):
            w1 = w0.copy()
            w1[i] = w0[i] * (1 + sign * pct / 100.0)
            if float(w1.sum()) <= 0:
                continue
            order = _order(_weighted(sm, w1)[1], tie)
            rank = _ranks(order)
            new_top = order[:top_n]
            rows.append({
                "criterion": c,
                "weight": float(w0[i]),
                "change_pct": sign * pct,
                "weight_varied": float(w1[i]),
                "n_top_changed": int((rank[top] != base_rank[top]).sum()),
                "n_entered_top": len(set(new_top.tolist()) - set(top.tolist())),
                "max_rank_shift": int(np.abs(rank - base_rank).max()) if n else 0,
                "top_after": ";".join(key[new_top]),
            })
    return pd.DataFrame(rows, columns=["criterion", "weight", "change_pct", "weight_varied", "n_top_changed",
                                       "n_entered_top", "max_rank_shift", "top_after"])

