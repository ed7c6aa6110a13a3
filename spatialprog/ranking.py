"""The weighing framework (afwegingskader): traceable scores, ranking, sensitivity.

Criteria live as data in ``data/ranking_criteria.csv``: each names its
direction (``higher`` or ``lower`` raw values mean more priority), its
normalisation to 0..1, a default weight, a unit and a source. A project file
changes weights and, per variant, weights again::

    [ranking]
    weights = { shortfall_offtake_mw = 0.3, conflicts = 0 }
    land_reserved = ["OS10"]            # land for the new station / extension is reserved
    provincial_programme = ["OS08"]     # already in the pMIEK
    top_n = 10                          # size of the top list in the sensitivity report
    sensitivity_pct = 25                # each weight varied by +-25 %

    [ranking.criteria.conflicts]        # declared direction / normalisation may be changed too
    direction = "lower"

    [ranking.variants.hoog.weights]     # a development variant weighs differently
    urgency_years = 0.4

    [ranking.higher_level.nodes]        # capacities of the HV stations / TenneT nodes (spatialprog.scales)
    TN-Zuid = { capacity_mva = 250, name = "TenneT Zuid 150 kV" }

The score of an item is ``sum_i w_i * s_i / sum_i w_i`` where ``s_i`` is the
normalised criterion score (0..1); each ``w_i s_i / sum w`` is written out as
the criterion's contribution, so the contributions add up to the score and a
planner can say why A comes before B. Ranks follow the score (rounded to
1e-9), ties broken by id, so the ranking does not depend on row order.

Normalisations
--------------
``max``      raw / the largest raw value among the items ranked (0 when all are 0)
``minmax``   (raw - min) / (max - min) (0 when all are equal)
``fixed``    raw / ``scale_max`` of the criterion
``horizon``  raw / the horizon length in years
``none``     the raw value is already 0..1

Each is clipped to 0..1; direction ``lower`` takes ``1 - value``. A missing
raw value (no shortfall, no category, no conflict summary) scores 0.

Examples
--------
>>> crit = load_criteria()
>>> raw = pd.DataFrame({"id": ["A", "B"], "shortfall_offtake_mw": [10.0, 5.0]})
>>> c = crit[crit["criterion"] == "shortfall_offtake_mw"].assign(weight=1.0)
>>> score_table(raw, c, horizon_years=15)[["id", "rank", "score"]].values.tolist()
[['A', 1, 1.0], ['B', 2, 0.5]]
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import fields as F
from .config import BASE_VARIANT, Project
from .errors import LayerValidationError, NoticeLog, Problem, ProjectError
from .params import data_dir, read_reference_table

__all__ = [
    "CRITERIA",
    "NORMALISATIONS",
    "RankingSettings",
    "RankingResult",
    "load_criteria",
    "load_priority_categories",
    "category_scores",
    "ranking_settings",
    "normalise",
    "score_table",
    "sensitivity",
    "substation_criteria",
    "site_criteria",
    "conflict_severity",
    "rank_run",
    "write_ranking",
    "read_ranking_tables",
    "RANKING_FILES",
]

NORMALISATIONS = ("max", "minmax", "fixed", "horizon", "none")
DIRECTIONS = ("higher", "lower")
#: the criteria the code computes raw values for (rows of data/ranking_criteria.csv)
CRITERIA = (
    "shortfall_offtake_mw",
    "shortfall_feedin_mw",
    "urgency_years",
    "dwellings_per_mw",
    "jobs_per_mw",
    "priority_category",
    "conflicts",
    "land_reserved",
    "provincial_programme",
)
SEVERITY_RANK = {"laag": 1, "middel": 2, "hoog": 3, "low": 1, "medium": 2, "high": 3}
_ROUND = 9

#: files written by :func:`write_ranking`
RANKING_FILES = (
    "programme.csv",
    "programme.xlsx",
    "ranking_substations.csv",
    "ranking_sites.csv",
    "sensitivity.csv",
    "variants_comparison.csv",
    "no_regret.csv",
    "scale_sums.csv",
    "higher_level_check.csv",
    "ranking_criteria_used.csv",
)


# --------------------------------------------------------------------------------------
# reference tables


def load_criteria(path: str | Path | None = None) -> pd.DataFrame:
    """Read the criteria of the weighing framework.

    Parameters
    ----------
    path : path, optional
        Defaults to ``data/ranking_criteria.csv``.

    Returns
    -------
    DataFrame
        ``criterion, applies_to, direction, normalisation, scale_max,
        default_weight, unit, description, source`` in file order.

    Raises
    ------
    ProjectError
        For a direction or normalisation not declared, a negative weight, or
        a criterion the code does not know.
    """
    p = Path(path) if path else data_dir() / "ranking_criteria.csv"
    df = read_reference_table(p, ["criterion", "applies_to", "direction", "normalisation", "scale_max",
                                  "default_weight", "unit", "description", "source"], "ranking criteria")
    df["scale_max"] = pd.to_numeric(df["scale_max"], errors="coerce").astype(float)
    df["default_weight"] = pd.to_numeric(df["default_weight"], errors="coerce").astype(float)
    for _, r in df.iterrows():
        row = f"{p.name}: criterion '{r['criterion']}'"
        if r["criterion"] not in CRITERIA:
            raise ProjectError(f"{row}: unknown criterion - the code computes {', '.join(CRITERIA)}")
        if r["direction"] not in DIRECTIONS:
            raise ProjectError(f"{row}: direction '{r['direction']}' - use higher or lower")
        if r["normalisation"] not in NORMALISATIONS:
            raise ProjectError(f"{row}: normalisation '{r['normalisation']}' - use one of {', '.join(NORMALISATIONS)}")
        if r["normalisation"] == "fixed" and not (r["scale_max"] > 0):
            raise ProjectError(f"{row}: normalisation 'fixed' needs scale_max > 0")
        if not (r["default_weight"] >= 0):
            raise ProjectError(f"{row}: default_weight must be a number >= 0, got {r['default_weight']!r}")
    return df.reset_index(drop=True)


def load_priority_categories(path: str | Path | None = None) -> pd.DataFrame:
    """Read the ACM societal-priority categories (a dated table).

    Returns
    -------
    DataFrame
        ``category, order, name_nl, name_en, score, aliases, examples_nl,
        valid_from, valid_to, confirmed, source``.

    Examples
    --------
    >>> load_priority_categories()["category"].tolist()[:3]
    ['congestieverzachters', 'veiligheid', 'basisbehoeften']
    """
    p = Path(path) if path else data_dir() / "priority_categories.csv"
    df = read_reference_table(p, ["category", "name_nl", "score", "valid_from", "source"], "priority categories",
                              dtype={"aliases": object, "valid_to": object})
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    if df["score"].isna().any() or ((df["score"] < 0) | (df["score"] > 1)).any():
        raise ProjectError(f"{p.name}: score must be a number between 0 and 1 for every category")
    return df


def _norm_key(v: Any) -> str:
    return " ".join(str(v).strip().lower().replace("_", " ").replace("-", " ").split())


def category_scores(values: pd.Series, categories: pd.DataFrame, *, layer: str, ids: pd.Series) -> pd.Series:
    """Score (0..1) of each feature's societal-priority category.

    A value matches a category by its code, Dutch or English name or an alias
    (case and ``_``/``-``/spaces ignored). Empty values score 0.

    Raises
    ------
    LayerValidationError
        Naming every feature whose category is not in the table.

    Examples
    --------
    >>> cats = load_priority_categories()
    >>> category_scores(pd.Series(["Basisbehoeften", None]), cats, layer="housing_sites",
    ...                 ids=pd.Series(["A", "B"])).tolist()
    [0.6, 0.0]
    """
    lookup: dict[str, float] = {}
    for r in categories.itertuples(index=False):
        names = [r.category, getattr(r, "name_nl", None), getattr(r, "name_en", None)]
        al = getattr(r, "aliases", None)
        if isinstance(al, str):
            names += al.split(";")
        for n in names:
            if isinstance(n, str) and n.strip():
                lookup[_norm_key(n)] = float(r.score)
    out = []
    probs = []
    for v, fid in zip(values.tolist(), ids.tolist(), strict=True):
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "" or v is pd.NA:
            out.append(0.0)
            continue
        k = _norm_key(v)
        if k not in lookup:
            probs.append(Problem(layer, f"unknown priority category '{v}'", str(fid), "priority_category",
                                 fix=f"use one of: {', '.join(categories['category'])} "
                                     f"(data/priority_categories.csv), or leave it empty"))
            out.append(0.0)
        else:
            out.append(lookup[k])
    if probs:
        raise LayerValidationError(probs)
    return pd.Series(out, index=values.index, dtype=float)


# --------------------------------------------------------------------------------------
# the [ranking] section of the project file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionSettings(_Strict):
    direction: Literal["higher", "lower"] | None = None
    normalisation: Literal["max", "minmax", "fixed", "horizon", "none"] | None = None
    scale_max: float | None = Field(None, gt=0)


class VariantRankingConfig(_Strict):
    weights: dict[str, Any] = Field(default_factory=dict)


class HigherLevelNodeConfig(_Strict):
    capacity_mva: float = Field(ge=0)
    capacity_feedin_mva: float | None = Field(None, ge=0)
    name: str = ""
    operator: str = ""
    source: str = ""


class HigherLevelConfig(_Strict):
    path: str | None = None
    nodes: dict[str, HigherLevelNodeConfig] = Field(default_factory=dict)


class BoundarySourceConfig(_Strict):
    path: str
    layer: str | None = None
    level: Literal["municipality", "province", "region"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    crs: str | None = None


class RankingConfig(_Strict):
    weights: dict[str, Any] = Field(default_factory=dict)
    criteria: dict[str, CriterionSettings] = Field(default_factory=dict)
    variants: dict[str, VariantRankingConfig] = Field(default_factory=dict)
    land_reserved: list[str] = Field(default_factory=list)
    provincial_programme: list[str] = Field(default_factory=list)
    top_n: int = Field(10, ge=1)
    sensitivity_pct: float = Field(25.0, gt=0, lt=100)
    higher_level: HigherLevelConfig = Field(default_factory=HigherLevelConfig)
    boundaries: list[BoundarySourceConfig] = Field(default_factory=list)


def _where(loc: Sequence[Any]) -> str:
    """``("higher_level", "nodes", "TN-Zuid", "capacity_mva")`` -> ``[ranking.higher_level.nodes.TN-Zuid] capacity_mva``."""
    parts = ["ranking", *[str(x) for x in loc]]
    if len(parts) == 1:
        return "[ranking]"
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"


def _config_error(e: ValidationError, fname: str) -> ProjectError:
    err = e.errors()[0]
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key - the [ranking] keys are described in the README (weighing framework)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        if "input" in err:
            msg += f" (got {err['input']!r})"
    more = len(e.errors()) - 1
    return ProjectError(f"{fname}{_where(loc)}: {msg}" + (f" (and {more} more)" if more else ""))


def _parse_weights(raw: Mapping[str, Any], where: str, fname: str) -> dict[str, float]:
    out = {}
    for k, v in raw.items():
        if k not in CRITERIA:
            close = difflib.get_close_matches(k, CRITERIA, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ProjectError(f"{fname}{where} {k}: unknown criterion{hint} - use one of {', '.join(CRITERIA)} "
                               f"(data/ranking_criteria.csv)")
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ProjectError(f"{fname}{where} {k}: the weight must be a number, got {v!r} - write e.g. {k} = 0.25")
        if not math.isfinite(v):
            raise ProjectError(f"{fname}{where} {k}: the weight must be a finite number, got {v!r}")
        if v < 0:
            raise ProjectError(f"{fname}{where} {k}: negative weight {v:g} - weights must be >= 0; to rank the "
                               f"other way, set [ranking.criteria.{k}] direction instead")
        out[k] = float(v)
    return out


@dataclass(frozen=True)
class RankingSettings:
    """The weighing framework in force for a project.

    Attributes
    ----------
    criteria : DataFrame
        The criteria table after the project's direction / normalisation changes.
    weights : dict of str -> dict of str -> float
        Per variant, the weight of every criterion.
    land_reserved, provincial_programme : tuple of str
        Substation ids.
    top_n : int
    sensitivity_pct : float
    higher_level : DataFrame
        ``node_id, name, operator, capacity_mva, source`` (may be empty).
    boundaries : list of BoundarySourceConfig
        Extra boundary layers (e.g. a province) for the scale sums.
    """

    criteria: pd.DataFrame
    weights: dict[str, dict[str, float]]
    land_reserved: tuple[str, ...] = ()
    provincial_programme: tuple[str, ...] = ()
    top_n: int = 10
    sensitivity_pct: float = 25.0
    higher_level: pd.DataFrame = field(default_factory=pd.DataFrame)
    boundaries: tuple[BoundarySourceConfig, ...] = ()

    def criteria_for(self, variant: str) -> pd.DataFrame:
        """The criteria with a ``weight`` column for ``variant``."""
        w = self.weights.get(variant, self.weights[BASE_VARIANT])
        c = self.criteria.copy()
        c["weight"] = c["criterion"].map(w).astype(float)
        return c


def ranking_settings(project: Project, *, criteria: pd.DataFrame | None = None) -> RankingSettings:
    """Validate the project's ``[ranking]`` section against the criteria table.

    Parameters
    ----------
    project : Project
    criteria : DataFrame, optional
        Default: :func:`load_criteria`.

    Raises
    ------
    ProjectError
        One line naming the key, e.g. ``[ranking.weights] urgency: unknown criterion``.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> s = ranking_settings(load_project("layers/example_region.toml"))
    >>> round(sum(s.weights["basis"].values()), 6)
    1.0
    """
    from .scales import read_higher_level_nodes

    fname = f"{project.path.name}: " if project.path else ""
    raw = project.model.ranking or {}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{fname}[ranking]: must be a table")
    try:
        cfg = RankingConfig.model_validate(raw)
    except ValidationError as e:
        raise _config_error(e, fname) from None
    crit = (load_criteria() if criteria is None else criteria).copy()
    for name, cs in cfg.criteria.items():
        if name not in set(crit["criterion"]):
            close = difflib.get_close_matches(name, CRITERIA, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ProjectError(f"{fname}[ranking.criteria.{name}]: unknown criterion{hint} - use one of "
                               f"{', '.join(crit['criterion'])}")
        i = crit.index[crit["criterion"] == name][0]
        for key in ("direction", "normalisation", "scale_max"):
            v = getattr(cs, key)
            if v is not None:
                crit.at[i, key] = v
        if crit.at[i, "normalisation"] == "fixed" and not (crit.at[i, "scale_max"] > 0):
            raise ProjectError(f"{fname}[ranking.criteria.{name}] normalisation: 'fixed' needs scale_max > 0 - add "
                               f"scale_max = ...")
    base = dict(zip(crit["criterion"], crit["default_weight"].astype(float), strict=True))
    base |= _parse_weights(cfg.weights, "[ranking.weights]", fname)
    if sum(base.values()) <= 0:
        raise ProjectError(f"{fname}[ranking.weights]: every weight is 0 - give at least one criterion a weight > 0")
    weights = {BASE_VARIANT: base}
    for v in project.variants:
        if v != BASE_VARIANT:
            weights[v] = dict(base)
    for vname, vc in cfg.variants.items():
        if vname not in project.variants:
            raise ProjectError(f"{fname}[ranking.variants.{vname}]: '{vname}' is not a variant of the project - "
                               f"known: {', '.join(project.variants)}")
        w = dict(base) | _parse_weights(vc.weights, f"[ranking.variants.{vname}.weights]", fname)
        if sum(w.values()) <= 0:
            raise ProjectError(f"{fname}[ranking.variants.{vname}.weights]: every weight is 0 - give at least one "
                               f"criterion a weight > 0")
        weights[vname] = w
    nodes = read_higher_level_nodes(cfg.higher_level, root=project.root, fname=fname)
    return RankingSettings(
        criteria=crit,
        weights=weights,
        land_reserved=tuple(cfg.land_reserved),
        provincial_programme=tuple(cfg.provincial_programme),
        top_n=cfg.top_n,
        sensitivity_pct=cfg.sensitivity_pct,
        higher_level=nodes,
        boundaries=tuple(cfg.boundaries),
    )


# --------------------------------------------------------------------------------------
# scoring


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


def _order(score: np.ndarray, ids: pd.DataFrame) -> np.ndarray:
    """Row order by score (descending, rounded) then id(s) ascending."""
    keys = [ids[c].astype(str).to_numpy(dtype=str) for c in reversed(list(ids.columns))]
    return np.lexsort([*keys, -np.round(score, _ROUND)])


def _fmt(v: float, unit: str) -> str:
    if pd.isna(v):
        return "n/a"
    u = "" if unit in ("0/1",) or unit.startswith("score") else f" {unit}"
    return f"{v:.3g}{u}"


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
        contributions sum to ``score``), then ``explanation``; sorted by rank.
    """
    id_cols = list(id_cols)
    w = _check_weights(criteria)
    names = criteria["criterion"].tolist()
    units = criteria["unit"].astype(str).tolist() if "unit" in criteria else [""] * len(names)
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
        expl = []
        for i in range(len(out)):
            idx = sorted(range(len(names)), key=lambda j, i=i: (-mat[i, j], j))[:explain]
            parts = [f"{names[j]} {_fmt(rawm[order[i], j], units[j])} (+{mat[i, j]:.3f})" for j in idx if mat[i, j] > 0]
            expl.append("; ".join(parts) if parts else "no criterion scores")
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
    key = ids.astype(str).agg("|".join, axis=1).to_numpy() if len(id_cols) > 1 else ids[id_cols[0]].astype(str).to_numpy()
    n = len(key)
    base_order = _order(_weighted(sm, w0)[1], ids)
    base_rank = np.empty(n, dtype=int)
    base_rank[base_order] = np.arange(1, n + 1)
    top = base_order[:top_n]
    rows = []
    for i, c in enumerate(criteria["criterion"]):
        for sign in (-1, 1):
            w1 = w0.copy()
            w1[i] = w0[i] * (1 + sign * pct / 100.0)
            if float(w1.sum()) <= 0:
                continue
            order = _order(_weighted(sm, w1)[1], ids)
            rank = np.empty(n, dtype=int)
            rank[order] = np.arange(1, n + 1)
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


# --------------------------------------------------------------------------------------
# raw criterion values from a run


def conflict_severity(summary: pd.DataFrame | Mapping[str, pd.DataFrame] | None, layer: str,
                      ids: Sequence[str]) -> pd.Series:
    """Worst conflict severity rank (0-3) per feature of ``layer``; NaN without a summary.

    Parameters
    ----------
    summary : DataFrame or dict of str -> DataFrame, optional
        A per-feature conflict summary: ``layer, id, n_conflicts,
        worst_severity`` (or the dict per layer of
        ``spatialprog.conflicts.ConflictResult.summary``). ``worst_severity``
        may be a label (laag/middel/hoog) or a rank; ``worst_severity_rank``
        is used when present.

    Examples
    --------
    >>> s = pd.DataFrame({"layer": ["housing_sites"], "id": ["A"], "n_conflicts": [2], "worst_severity": ["hoog"]})
    >>> conflict_severity(s, "housing_sites", ["A", "B"]).tolist()
    [3.0, 0.0]
    """
    idx = pd.Index([str(i) for i in ids])
    if summary is None:
        return pd.Series(np.nan, index=idx)
    if isinstance(summary, Mapping):
        parts = [df.assign(layer=k) for k, df in summary.items() if df is not None and len(df)]
        summary = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["layer", "id"])
    s = summary[summary["layer"] == layer] if "layer" in summary else summary.iloc[0:0]
    if "worst_severity_rank" in s:
        rank = pd.to_numeric(s["worst_severity_rank"], errors="coerce")
    elif "worst_severity" in s:
        ws = s["worst_severity"]
        rank = ws.map(lambda v: SEVERITY_RANK.get(str(v).strip().lower(), np.nan) if isinstance(v, str) else v)
        rank = pd.to_numeric(rank, errors="coerce")
    else:
        rank = pd.Series(np.nan, index=s.index)
    if "n_conflicts" in s:
        rank = rank.where(pd.to_numeric(s["n_conflicts"], errors="coerce").fillna(0) > 0, 0.0)
    by_id = pd.Series(rank.to_numpy(dtype=float), index=s["id"].astype(str).to_numpy() if len(s) else [])
    by_id = by_id.groupby(level=0).max()
    return by_id.reindex(idx).fillna(0.0).astype(float)


def _sub_shortfall(result, variant: str) -> pd.DataFrame:
    from .programme import _first_shortfall

    return _first_shortfall(result.shortfall, variant)


def substation_criteria(result, variant: str, programme: pd.DataFrame, *, settings: RankingSettings,
                        conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
                        categories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Raw criterion values per substation for one variant.

    Parameters
    ----------
    result : RunResult
    variant : str
    programme : DataFrame
        :func:`spatialprog.programme.interventions` of this variant.
    settings : RankingSettings
    conflicts : DataFrame or dict, optional
        Per-feature conflict summary; the conflicts criterion scores 0 without it.
    categories : DataFrame, optional
        Priority categories (default: the table in data/).

    Returns
    -------
    DataFrame
        ``id, name`` and one column per criterion, one row per substation.
    """
    from .programme import waiting_demand

    subs = result.plan.layers["substations"]
    ids = subs["id"].astype(str).tolist()
    years = result.project.years
    params = result.project.variants[variant]
    pf = float(params["grid.power_factor"]) or 1.0
    fs = _sub_shortfall(result, variant).reindex(ids)
    first = fs[["first_shortfall_offtake_year", "first_shortfall_feedin_year"]].min(axis=1)
    prog = programme.set_index(F.SUBSTATION_ID) if len(programme) else pd.DataFrame()
    firm_mw = (prog["added_firm_mva"] * pf).reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    # an advanced planned reinforcement adds its planned MVA at the earlier date
    if len(prog):
        adv = prog["intervention"].reindex(ids) == "advance_planned"
        planned = result.reinforcements.groupby(F.SUBSTATION_ID)[F.REINFORCEMENT_MVA].sum().reindex(ids) * pf
        firm_mw = firm_mw.where(~adv, planned)
    dw = prog["dwellings_waiting"].reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    jb = prog["jobs_waiting"].reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    per_mw = lambda x: (x / firm_mw).where(firm_mw > 0)  # noqa: E731

    # highest category among the sites that wait on the substation
    cats = result.plan.reference.priority_categories if categories is None else categories
    site_cat = _site_category_scores(result, cats)
    zones = result.plan.layers.get("industrial_zones")
    jobs = zones.set_index("id")["jobs"] if zones is not None and "jobs" in zones else None
    wait = waiting_demand(result.allocated, result.shortfall, variant, years, jobs=jobs)
    if len(wait) and len(site_cat):
        wk = pd.MultiIndex.from_frame(wait[[F.LAYER, F.SITE_ID]])
        wait = wait.assign(_cat=site_cat.reindex(wk).fillna(0.0).to_numpy())
        prio = wait.groupby(F.SUBSTATION_ID)["_cat"].max().reindex(ids).fillna(0.0)
    else:
        prio = pd.Series(0.0, index=ids)

    out = pd.DataFrame({
        "id": ids,
        "name": subs["name"].to_numpy() if "name" in subs else "",
        "shortfall_offtake_mw": fs["shortfall_offtake_mw"].fillna(0.0).to_numpy(),
        "shortfall_feedin_mw": fs["shortfall_feedin_mw"].fillna(0.0).to_numpy(),
        "urgency_years": (first - years[0]).clip(lower=0).to_numpy(),
        "dwellings_per_mw": per_mw(dw).to_numpy(),
        "jobs_per_mw": per_mw(jb).to_numpy(),
        "priority_category": prio.to_numpy(),
        "conflicts": conflict_severity(conflicts, "substations", ids).to_numpy() if conflicts is not None else np.nan,
        "land_reserved": [1.0 if i in settings.land_reserved else 0.0 for i in ids],
        "provincial_programme": [1.0 if i in settings.provincial_programme else 0.0 for i in ids],
    })
    return out


def _site_category_scores(result, categories: pd.DataFrame) -> pd.Series:
    """Category score per (layer, site_id) for the site layers that carry priority_category."""
    parts = []
    for kind, df in result.plan.layers.items():
        if "priority_category" not in df:
            continue
        s = category_scores(df["priority_category"], categories, layer=kind, ids=df["id"])
        parts.append(pd.Series(s.to_numpy(), index=pd.MultiIndex.from_arrays([[kind] * len(df), df["id"].astype(str)])))
    if not parts:
        return pd.Series(dtype=float)
    return pd.concat(parts)


def site_criteria(result, variant: str, *, settings: RankingSettings,
                  conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
                  categories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Raw criterion values per site (with demand or feed-in) for one variant.

    Substation-level criteria (shortfall, land, programme) are share-weighted
    over the substations serving the site; urgency is the years until the
    first year the site has demand while a substation serving it is short;
    dwellings and jobs per MW use the site's own peak offtake.

    Returns
    -------
    DataFrame
        ``layer, site_id, name, substation_id`` (the main one) and one column per
        criterion.
    """
    years = result.project.years
    d = result.demand[result.demand[F.VARIANT] == variant]
    keys = [F.LAYER, F.SITE_ID]
    g = d.groupby(keys, sort=True)
    peak_off = g[F.OFFTAKE_MW].max()
    peak_feed = g[F.FEEDIN_MW].max()
    dwell = g[F.DWELLINGS_DELIVERED].max()
    sites = peak_off.index[(peak_off > 0) | (peak_feed > 0)]
    if not len(sites):
        return pd.DataFrame(columns=[*keys, "name", F.SUBSTATION_ID, *CRITERIA])
    fs = _sub_shortfall(result, variant)
    asg = result.assignment[result.assignment[F.SUBSTATION_ID].notna()]
    asg = asg.set_index(keys)
    sub_short_off = asg[F.SUBSTATION_ID].map(fs["shortfall_offtake_mw"]).fillna(0.0) * asg[F.SHARE]
    sub_short_feed = asg[F.SUBSTATION_ID].map(fs["shortfall_feedin_mw"]).fillna(0.0) * asg[F.SHARE]
    land = asg[F.SUBSTATION_ID].isin(settings.land_reserved).astype(float) * asg[F.SHARE]
    prog = asg[F.SUBSTATION_ID].isin(settings.provincial_programme).astype(float) * asg[F.SHARE]
    by_site = lambda s: s.groupby(level=[0, 1]).sum().reindex(sites)  # noqa: E731

    # urgency: first year with demand at the site while one of its substations is short (per direction)
    h = result.headroom[(result.headroom[F.VARIANT] == variant) & (result.headroom[F.HEADROOM_MW] < 0)]
    short = h[[F.SUBSTATION_ID, F.DIRECTION, F.YEAR]].drop_duplicates()
    dem = pd.concat([d.loc[d[col] > 0, [*keys, F.YEAR]].assign(**{F.DIRECTION: direction})
                     for direction, col in ((F.OFFTAKE, F.OFFTAKE_MW), (F.FEEDIN, F.FEEDIN_MW))], ignore_index=True)
    hits = (dem.merge(asg.reset_index()[[*keys, F.SUBSTATION_ID]], on=keys)
               .merge(short, on=[F.SUBSTATION_ID, F.DIRECTION, F.YEAR]))
    first_hit = hits.groupby(keys, sort=True)[F.YEAR].min()
    urg = first_hit.reindex(sites).astype(float) - years[0]

    cats = result.plan.reference.priority_categories if categories is None else categories
    site_cat = _site_category_scores(result, cats)
    jobs = pd.Series(0.0, index=sites)
    zones = result.plan.layers.get("industrial_zones")
    if zones is not None and "jobs" in zones:
        jz = zones.set_index("id")["jobs"].astype(float)
        jobs = pd.Series([jz.get(s, np.nan) if lay == "industrial_zones" else 0.0 for lay, s in sites],
                         index=sites).fillna(0.0)
    names = {}
    for kind, df in result.plan.layers.items():
        if "name" in df and kind != "substations":
            for i, n in zip(df["id"], df["name"], strict=True):
                names[(kind, str(i))] = n if isinstance(n, str) else ""
    primary = (result.assignment.assign(_o=result.assignment[F.SUBSTATION_ID].fillna("~"))
               .sort_values([*keys, F.SHARE, "_o"], ascending=[True, True, False, True], kind="stable")
               .drop_duplicates(keys).set_index(keys)[F.SUBSTATION_ID])
    po = peak_off.reindex(sites)
    conf = pd.Series(np.nan, index=sites)
    if conflicts is not None:
        lays = sites.get_level_values(0).to_numpy()
        vals = np.full(len(sites), np.nan)
        for lay in sorted(set(lays)):
            m = lays == lay
            vals[m] = conflict_severity(conflicts, lay, sites.get_level_values(1)[m].tolist()).to_numpy()
        conf = pd.Series(vals, index=sites)
    out = pd.DataFrame({
        F.LAYER: sites.get_level_values(0),
        F.SITE_ID: sites.get_level_values(1),
        "name": [names.get(k, "") for k in sites],
        F.SUBSTATION_ID: primary.reindex(sites).to_numpy(),
        "shortfall_offtake_mw": by_site(sub_short_off).fillna(0.0).to_numpy(),
        "shortfall_feedin_mw": by_site(sub_short_feed).fillna(0.0).to_numpy(),
        "urgency_years": urg.clip(lower=0).to_numpy(),
        "dwellings_per_mw": (dwell.reindex(sites) / po).where(po > 0).to_numpy(),
        "jobs_per_mw": (jobs / po).where(po > 0).to_numpy(),
        "priority_category": site_cat.reindex(sites).fillna(0.0).to_numpy() if len(site_cat) else 0.0,
        "conflicts": conf.to_numpy(dtype=float),
        "land_reserved": by_site(land).fillna(0.0).to_numpy(),
        "provincial_programme": by_site(prog).fillna(0.0).to_numpy(),
    })
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# the whole ranking of a run


@dataclass
class RankingResult:
    """Everything :func:`rank_run` computes; every table also goes into ``RunOutputs.tables``.

    Attributes
    ----------
    programme : DataFrame
        The ranked programme of interventions, all variants (base first).
    substations, sites : DataFrame
        Scores with their breakdown, per variant.
    sensitivity : DataFrame
    variants_comparison, no_regret : DataFrame
    scale_sums, higher_level_check : DataFrame
    criteria : DataFrame
        The criteria and weights in force, per variant.
    notices : NoticeLog
    """

    programme: pd.DataFrame
    substations: pd.DataFrame
    sites: pd.DataFrame
    sensitivity: pd.DataFrame
    variants_comparison: pd.DataFrame
    no_regret: pd.DataFrame
    scale_sums: pd.DataFrame
    higher_level_check: pd.DataFrame
    criteria: pd.DataFrame
    notices: NoticeLog = field(default_factory=NoticeLog)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed as in ``RunOutputs.tables`` (file stem = key)."""
        return {
            "programme": self.programme,
            "ranking_substations": self.substations,
            "ranking_sites": self.sites,
            "sensitivity": self.sensitivity,
            "variants_comparison": self.variants_comparison,
            "no_regret": self.no_regret,
            "scale_sums": self.scale_sums,
            "higher_level_check": self.higher_level_check,
            "ranking_criteria_used": self.criteria,
        }

    def attach(self, outputs) -> None:
        """Put the tables into a :class:`~spatialprog.outputs.RunOutputs` (``outputs.tables["programme"]`` ...)."""
        outputs.tables.update(self.tables())


def _check_ids(ids: Sequence[str], known: set[str], key: str, fname: str) -> None:
    for i in ids:
        if i not in known:
            raise ProjectError(f"{fname}[ranking] {key}: '{i}' is not a substation id - use an id of the substations "
                               f"layer")


def rank_run(result, *, conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
             settings: RankingSettings | None = None, boundaries=None) -> RankingResult:
    """Rank substations and sites, build the programme, compare variants and scale levels.

    Parameters
    ----------
    result : RunResult
    conflicts : DataFrame or dict, optional
        Per-feature conflict summary (``layer, id, n_conflicts,
        worst_severity``); without it the conflicts criterion scores 0.
    settings : RankingSettings, optional
        Default: :func:`ranking_settings` of the result's project.
    boundaries : GeoDataFrame, optional
        Boundaries for the scale sums (default: the project's boundaries layer
        plus the extra ones under ``[ranking] boundaries``).

    Returns
    -------
    RankingResult

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> rr = rank_run(compute(read_plan("layers/example_region.toml")))
    >>> rr.programme.loc[rr.programme["variant"] == "basis", "substation_id"].iloc[0]
    'OS08'
    """
    from .compare import compare_variants, no_regret
    from .programme import PROGRAMME_COLUMNS, interventions
    from .scales import higher_level_check, scale_sums

    project = result.project
    ref = result.plan.reference
    settings = ref.ranking if settings is None else settings
    fname = f"{project.path.name}: " if project.path else ""
    known = set(result.plan.layers["substations"]["id"].astype(str))
    _check_ids(settings.land_reserved, known, "land_reserved", fname)
    _check_ids(settings.provincial_programme, known, "provincial_programme", fname)
    notices = NoticeLog()
    years = project.years
    horizon = max(len(years) - 1, 1)
    variants = list(dict.fromkeys(result.headroom[F.VARIANT]))
    cats = ref.priority_categories

    progs, subs_r, sites_r, sens = [], [], [], []
    crit_used = []
    for v in variants:
        crit = settings.criteria_for(v)
        crit_used.append(crit.assign(variant=v)[["variant", "criterion", "weight", "direction", "normalisation",
                                                 "scale_max", "unit", "description", "source"]])
        prog = interventions(result, v, land_reserved=settings.land_reserved)
        raw_s = substation_criteria(result, v, prog, settings=settings, conflicts=conflicts, categories=cats)
        subs_crit = crit[crit["applies_to"].isin(["substation", "both"])]
        sc = score_table(raw_s, subs_crit, horizon_years=horizon, id_cols=["id"])
        sc = sc.merge(raw_s[["id", "name"]], on="id", how="left")
        sc.insert(0, F.VARIANT, v)
        sc = sc.rename(columns={"id": F.SUBSTATION_ID})
        sc.insert(4, "in_programme", sc[F.SUBSTATION_ID].isin(prog[F.SUBSTATION_ID]))
        subs_r.append(sc)
        s = sensitivity(raw_s, subs_crit, horizon_years=horizon, id_cols=["id"], top_n=settings.top_n,
                        pct=settings.sensitivity_pct)
        s.insert(0, "items", "substations")
        s.insert(0, F.VARIANT, v)
        sens.append(s)

        raw_t = site_criteria(result, v, settings=settings, conflicts=conflicts, categories=cats)
        site_crit = crit[crit["applies_to"].isin(["site", "both"])]
        if len(raw_t):
            st = score_table(raw_t, site_crit, horizon_years=horizon, id_cols=[F.LAYER, F.SITE_ID])
            st = st.merge(raw_t[[F.LAYER, F.SITE_ID, "name", F.SUBSTATION_ID]], on=[F.LAYER, F.SITE_ID], how="left")
            st.insert(0, F.VARIANT, v)
            sites_r.append(st)
            s2 = sensitivity(raw_t, site_crit, horizon_years=horizon, id_cols=[F.LAYER, F.SITE_ID],
                             top_n=settings.top_n, pct=settings.sensitivity_pct)
            s2.insert(0, "items", "sites")
            s2.insert(0, F.VARIANT, v)
            sens.append(s2)

        # the programme: interventions ranked by their substation's score
        if len(prog):
            p = prog.merge(sc[[F.SUBSTATION_ID, "score", "explanation"]], on=F.SUBSTATION_ID, how="left")
            p = p.assign(_s=-p["score"].round(_ROUND)).sort_values(["_s", F.SUBSTATION_ID], kind="stable")
            p = p.drop(columns="_s").reset_index(drop=True)
            p.insert(1, "programme_rank", np.arange(1, len(p) + 1))
            progs.append(p)

    cols = [PROGRAMME_COLUMNS[0], "programme_rank", *PROGRAMME_COLUMNS[1:], "score", "explanation"]
    programme = pd.concat(progs, ignore_index=True) if progs else pd.DataFrame(columns=cols)
    nr = no_regret(programme, variants)
    cls = nr.set_index(F.SUBSTATION_ID)["regret_class"] if len(nr) else pd.Series(dtype=object)
    programme["regret_class"] = programme[F.SUBSTATION_ID].map(cls) if len(programme) else pd.Series(dtype=object)
    comp = compare_variants(result.headroom)

    b = boundaries if boundaries is not None else ref.boundaries
    sums = scale_sums(result, boundaries=b)
    hl = higher_level_check(result.headroom, result.plan.layers["substations"], settings.higher_level,
                            params=project.variants, notices=notices)
    return RankingResult(
        programme=programme,
        substations=pd.concat(subs_r, ignore_index=True),
        sites=pd.concat(sites_r, ignore_index=True) if sites_r else pd.DataFrame(),
        sensitivity=pd.concat(sens, ignore_index=True),
        variants_comparison=comp,
        no_regret=nr,
        scale_sums=sums,
        higher_level_check=hl,
        criteria=pd.concat(crit_used, ignore_index=True),
        notices=notices,
    )


# --------------------------------------------------------------------------------------
# writing and reading back


def _to_excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype) in ("string", "str"):
            out[c] = out[c].astype(object)
    return out


def write_ranking(ranking: RankingResult, out_dir: str | Path) -> list[Path]:
    """Write the ranking tables into ``out_dir`` atomically (temp file + ``os.replace``).

    Files: programme.csv + programme.xlsx (a sheet per variant, no-regret,
    criteria, sensitivity), ranking_substations.csv, ranking_sites.csv,
    sensitivity.csv, variants_comparison.csv, no_regret.csv, scale_sums.csv,
    higher_level_check.csv, ranking_criteria_used.csv.

    Returns
    -------
    list of Path
    """
    from .outputs import atomic_output_dir

    out = Path(out_dir)
    files = []
    with atomic_output_dir(out) as stage:
        for name, df in ranking.tables().items():
            df.to_csv(stage / f"{name}.csv", index=False, float_format="%.6g")
            files.append(f"{name}.csv")
        tmp = stage / "programme.xlsx"
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            p = ranking.programme
            _to_excel_safe(p).to_excel(xw, sheet_name="programme", index=False)
            if len(p):
                for v in dict.fromkeys(p[F.VARIANT]):
                    _to_excel_safe(p[p[F.VARIANT] == v]).to_excel(xw, sheet_name=f"programme_{v}"[:31], index=False)
            _to_excel_safe(ranking.no_regret).to_excel(xw, sheet_name="no_regret", index=False)
            _to_excel_safe(ranking.criteria).to_excel(xw, sheet_name="criteria", index=False)
            _to_excel_safe(ranking.sensitivity).to_excel(xw, sheet_name="sensitivity", index=False)
            _to_excel_safe(ranking.higher_level_check).to_excel(xw, sheet_name="higher_level_check", index=False)
        files.append("programme.xlsx")
    # atomic_output_dir renames each staged file into place with os.replace
    assert all((out / f).is_file() for f in files)
    return [out / f for f in files]


def read_ranking_tables(out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the ranking tables of a finished run (those present) from ``out_dir``.

    Use ``outputs.tables.update(read_ranking_tables(outputs.out_dir))`` to add
    them to a :class:`~spatialprog.outputs.RunOutputs` read back from disk.
    """
    out = {}
    d = Path(out_dir)
    for name in ("programme", "ranking_substations", "ranking_sites", "sensitivity", "variants_comparison",
                 "no_regret", "scale_sums", "higher_level_check", "ranking_criteria_used"):
        p = d / f"{name}.csv"
        if p.is_file() and os.path.getsize(p) > 0:
            out[name] = pd.read_csv(p, dtype={F.SUBSTATION_ID: object, F.SITE_ID: object, "boundary_id": object,
                                              "node_id": object})
    return out
