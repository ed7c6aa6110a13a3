"""Raw criterion values of a run: per substation, per site; priority categories, conflicts.

The tables these need (priority categories, the ``[ranking]`` settings) come
from the plan, ``result.plan.reference``; nothing here opens a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import fields as F
from ..errors import LayerValidationError, Problem
from ..headroom import is_short
from ..programme import shortfall_by_substation, zone_jobs
from ..published import added_mva
from ..waiting import waiting_demand
from .settings import CRITERIA, RankingSettings

SEVERITY_RANK = {"laag": 1, "middel": 2, "hoog": 3, "low": 1, "medium": 2, "high": 3}


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
    >>> from spatialprog.reference import load_priority_categories
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


def substation_criteria(result, variant: str, programme: pd.DataFrame, *, settings: RankingSettings,
                        conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
                        categories: pd.DataFrame | None = None, waiting: pd.DataFrame | None = None) -> pd.DataFrame:
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
        Priority categories (default: ``result.plan.reference.priority_categories``).
    waiting : DataFrame, optional
        :func:`spatialprog.waiting.waiting_demand` of this variant, when computed already.

    Returns
    -------
    DataFrame
        ``id, name`` and one column per criterion, one row per substation.
    """
    subs = result.plan.layers["substations"]
    ids = subs["id"].astype(str).tolist()
    years = result.project.years
    params = result.project.variants[variant]
    pf = float(params["grid.power_factor"]) or 1.0
    fs = shortfall_by_substation(result.shortfall, variant).reindex(ids)
    first = fs[["first_shortfall_offtake_year", "first_shortfall_feedin_year"]].min(axis=1)
    prog = programme.set_index(F.SUBSTATION_ID) if len(programme) else pd.DataFrame()
    firm_mw = (prog["added_firm_mva"] * pf).reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    # an advanced planned reinforcement adds its planned MVA at the earlier date
    if len(prog):
        adv = prog["intervention"].reindex(ids) == "advance_planned"
        planned = added_mva(result.reinforcements).reindex(ids) * pf
        firm_mw = firm_mw.where(~adv, planned)
    dw = prog["dwellings_waiting"].reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    jb = prog["jobs_waiting"].reindex(ids) if len(prog) else pd.Series(np.nan, index=ids)
    per_mw = lambda x: (x / firm_mw).where(firm_mw > 0)  # noqa: E731

    # highest category among the sites that wait on the substation
    cats = result.plan.reference.priority_categories if categories is None else categories
    site_cat = _site_category_scores(result, cats)
    wait = waiting_demand(result.headroom, result.allocated, variant, jobs=zone_jobs(result.plan.layers)) \
        if waiting is None else waiting
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
    first year the site has demand while a substation serving it is short
    (:func:`spatialprog.headroom.is_short`: 0 MW headroom counts);
    dwellings and jobs per MW use the site's own peak offtake.

    Returns
    -------
    DataFrame
        ``layer, site_id, name, substation_id`` (the main one) and one column per
        criterion.
    """
    years = result.project.years
    d = result.demand[result.demand[F.VARIANT] == variant]
    if "existing" in d:  # sites already connected are not developments to rank
        d = d[~d["existing"].astype(bool)]
    if F.CARRIER in d:  # ranked on their electricity (the other carriers are in their own units)
        d = d[d[F.CARRIER] == F.ELECTRICITY]
    keys = [F.LAYER, F.SITE_ID]
    g = d.groupby(keys, sort=True)
    peak_off = g[F.OFFTAKE_MW].max()
    peak_feed = g[F.FEEDIN_MW].max()
    dwell = g[F.DWELLINGS_DELIVERED].max()
    sites = peak_off.index[(peak_off > 0) | (peak_feed > 0)]
    if not len(sites):
        return pd.DataFrame(columns=[*keys, "name", F.SUBSTATION_ID, *CRITERIA])
    fs = shortfall_by_substation(result.shortfall, variant)
    asg = result.assignment[result.assignment[F.SUBSTATION_ID].notna()]
    asg = asg.set_index(keys)
    sub_short_off = asg[F.SUBSTATION_ID].map(fs["shortfall_offtake_mw"]).fillna(0.0) * asg[F.SHARE]
    sub_short_feed = asg[F.SUBSTATION_ID].map(fs["shortfall_feedin_mw"]).fillna(0.0) * asg[F.SHARE]
    land = asg[F.SUBSTATION_ID].isin(settings.land_reserved).astype(float) * asg[F.SHARE]
    prog = asg[F.SUBSTATION_ID].isin(settings.provincial_programme).astype(float) * asg[F.SHARE]
    by_site = lambda s: s.groupby(level=[0, 1]).sum().reindex(sites)  # noqa: E731

    # urgency: first year with demand at the site while one of its substations is short (per direction)
    h = result.headroom[(result.headroom[F.VARIANT] == variant) & is_short(result.headroom[F.HEADROOM_MW])]
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
    jz = zone_jobs(result.plan.layers)
    if jz is not None:
        jz = jz.astype(float)
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

