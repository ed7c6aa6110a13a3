"""Raw criterion values of a run: per substation, per site; priority categories, conflicts.

The tables these need (priority categories, the ``[ranking]`` settings) come
from the plan, ``result.plan.reference``; nothing here opens a file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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


def _is_empty(v: Any) -> bool:
    """No category given: None, NaN, NA or blank text."""
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or str(v).strip() == ""


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
    # each distinct value looked up once (a national layer has 1e5 features and a handful of categories)
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    score_u = np.zeros(len(uniq))
    bad_u = np.zeros(len(uniq), dtype=bool)
    for k, v in enumerate(uniq.tolist()):
        if _is_empty(v):
            continue
        key = _norm_key(v)
        if key in lookup:
            score_u[k] = lookup[key]
        else:
            bad_u[k] = True
    out = np.where(codes >= 0, score_u[np.maximum(codes, 0)], 0.0) if len(uniq) else np.zeros(len(values))
    bad = np.flatnonzero((codes >= 0) & bad_u[np.maximum(codes, 0)]) if len(uniq) else np.zeros(0, dtype=int)
    if len(bad):
        raw, fids = values.tolist(), ids.tolist()
        raise LayerValidationError([
            Problem(layer, f"unknown priority category '{raw[i]}'", str(fids[i]), "priority_category",
                    fix=f"use one of: {', '.join(categories['category'])} "
                        f"(data/priority_categories.csv), or leave it empty") for i in bad.tolist()])
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
    return _severity_by_id(_layer_rows(summary, layer)).reindex(idx).fillna(0.0).astype(float)


def _layer_rows(summary: pd.DataFrame | Mapping[str, pd.DataFrame], layer: str) -> pd.DataFrame:
    """The summary rows of one layer; from a dict per layer with the columns of all its tables, as if concatenated."""
    if not isinstance(summary, Mapping):
        return summary[summary["layer"] == layer] if "layer" in summary else summary.iloc[0:0]
    frames = {k: df for k, df in summary.items() if df is not None and len(df)}
    if not frames:
        return pd.DataFrame(columns=["layer", "id"])
    cols = list(dict.fromkeys(c for df in frames.values() for c in df.columns))
    if layer not in frames:
        return pd.DataFrame(columns=[*cols, "layer"])
    df = frames[layer]
    return df.assign(layer=layer, **{c: np.nan for c in cols if c not in df})


def _severity_by_id(s: pd.DataFrame) -> pd.Series:
    """Worst severity rank per feature id (text) of one layer's summary rows (0 without conflicts)."""
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
    if not by_id.index.is_unique:
        by_id = by_id.groupby(level=0).max()
    return by_id


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
    if len(wait) and site_cat:
        cat = np.nan_to_num(_pair_values(wait[F.LAYER], wait[F.SITE_ID], site_cat.get), nan=0.0)
        sub, subs_u = pd.factorize(wait[F.SUBSTATION_ID])  # one row per waiting site and year: grouped by codes
        ok = sub >= 0
        prio = pd.Series(cat[ok]).groupby(sub[ok]).max()
        prio = pd.Series(prio.to_numpy(), index=subs_u.take(prio.index.to_numpy())).reindex(ids).fillna(0.0)
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


def _site_category_scores(result, categories: pd.DataFrame) -> dict[str, pd.Series]:
    """Category score per site id (text), per layer that carries priority_category."""
    out = {}
    for kind, df in result.plan.layers.items():
        if "priority_category" not in df:
            continue
        s = category_scores(df["priority_category"], categories, layer=kind, ids=df["id"])
        out[kind] = pd.Series(s.to_numpy(), index=df["id"].astype(str).to_numpy())
    return out


def _pair_values(layer: pd.Series, ids: pd.Series, of_layer: Callable[[str], pd.Series | None]) -> np.ndarray:
    """The value of each (layer, id) row from ``of_layer(layer)`` (a Series indexed by id); NaN where absent.

    Both columns are factorized first, so each distinct id is looked up once
    per layer (a waiting table has millions of rows over 1e5 sites).
    """
    out = np.full(len(layer), np.nan)
    lay, lay_u = pd.factorize(layer)
    idc, ids_u = pd.factorize(ids)
    for k, kind in enumerate(lay_u.tolist()):
        series = of_layer(kind)
        if series is None or not len(series):
            continue
        rows = np.flatnonzero((lay == k) & (idc >= 0))
        used = np.unique(idc[rows])  # the ids of this layer, each looked up once
        vals = np.full(len(ids_u), np.nan)
        vals[used] = series.reindex(ids_u.take(used)).to_numpy(dtype=float)
        out[rows] = vals[idc[rows]]
    return out


def _site_names(layers: Mapping[str, pd.DataFrame], kind: str) -> pd.Series | None:
    """The name (text, else ``''``) per feature id (text) of a layer; the last one for an id given twice."""
    df = layers.get(kind)
    if df is None or "name" not in df or kind == "substations":
        return None
    col = df["name"]
    if isinstance(col.dtype, pd.StringDtype):  # text or missing only
        text = col.fillna("").to_numpy(dtype=object)
    else:
        text = np.array([n if isinstance(n, str) else "" for n in col.tolist()], dtype=object)
    out = pd.Series(text, index=df["id"].astype(str).to_numpy(), dtype=object)
    return out[~out.index.duplicated(keep="last")]


def _group_max(group: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Per group 0 .. n-1 the largest value, missing values skipped (NaN where a group has none), as pandas' max."""
    out = np.full(n, -np.inf)
    np.fmax.at(out, group, values)
    seen = np.zeros(n, dtype=bool)
    seen[group[~np.isnan(values)]] = True
    return np.where(seen, out, np.nan)


def _first_per_group(group: np.ndarray, n: int, *sort_keys: np.ndarray) -> np.ndarray:
    """Per group 0 .. n-1 the row that sorts first by ``sort_keys`` (most significant first); -1 for none."""
    order = np.lexsort([*reversed(sort_keys), group])
    g = group[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    out = np.full(n, -1, dtype=np.int64)
    out[g[first]] = order[first]
    return out


class SiteKeys:
    """The sites of a run as integer keys, made once for every variant's :func:`site_criteria`.

    Each (layer, site_id) of the demand rows that are ranked (planned sites,
    electricity) is a key 0 .. K-1, in the order of layer then site_id (the
    order of ``groupby([layer, site_id], sort=True)``). What does not depend on
    the variant is looked up once per key: the name, the priority category,
    the conflict severity, the jobs of a business park, the main substation,
    and the key of each assignment row. A variant's groups are then the keys
    of its rows, and every per-site figure an array over the keys.
    """

    def __init__(self, result, *, conflicts=None, categories: pd.DataFrame | None = None):
        dem = result.demand
        base = np.ones(len(dem), dtype=bool)
        if "existing" in dem:  # sites already connected are not developments to rank
            base &= ~dem["existing"].astype(bool).to_numpy()
        if F.CARRIER in dem:  # ranked on their electricity (the other carriers are in their own units)
            base &= (dem[F.CARRIER] == F.ELECTRICITY).to_numpy(dtype=bool)
        lay_c, lay_u = pd.factorize(dem[F.LAYER], sort=True)
        id_c, id_u = pd.factorize(dem[F.SITE_ID], sort=True)
        n_id = max(len(id_u), 1)
        base &= (lay_c >= 0) & (id_c >= 0)  # a row without a key is in no group, as in pandas
        code = lay_c[base].astype(np.int64) * n_id + id_c[base]
        present = np.zeros(max(len(lay_u), 1) * n_id, dtype=bool)
        present[code] = True
        key_of_code = np.cumsum(present) - 1
        self.row_key = np.full(len(dem), -1, dtype=np.int64)
        self.row_key[base] = key_of_code[code]
        codes = np.flatnonzero(present)
        self.n = len(codes)
        self.layer = pd.Series(lay_u.take(codes // n_id))
        self.site_id = pd.Series(id_u.take(codes % n_id))
        self.result = result

        def keys_of(frame: pd.DataFrame) -> np.ndarray:
            """The key of each row of a table with layer and site_id; -1 where it is no key."""
            lc = pd.Index(lay_u).get_indexer(frame[F.LAYER])
            ic = pd.Index(id_u).get_indexer(frame[F.SITE_ID])
            c = np.where((lc >= 0) & (ic >= 0), lc.astype(np.int64) * n_id + ic, 0)
            return np.where((lc >= 0) & (ic >= 0) & present[c], key_of_code[c], -1)

        # the main substation: the largest share, on a tie the first id (an unassigned part last)
        a = result.assignment
        a_key = keys_of(a)
        self.asg = a[F.SUBSTATION_ID].notna().to_numpy()  # the assignment rows with a substation ...
        self.asg_key = a_key[self.asg]  # ... and their keys
        o_code, _ = pd.factorize(a[F.SUBSTATION_ID].fillna("~"), sort=True)
        keep = np.flatnonzero(a_key >= 0)
        best = _first_per_group(a_key[keep], self.n, -a[F.SHARE].to_numpy(dtype=float)[keep], o_code[keep])
        self.primary = np.full(self.n, np.nan, dtype=object)
        self.primary[best >= 0] = a[F.SUBSTATION_ID].to_numpy(dtype=object)[keep[best[best >= 0]]]

        layers = result.plan.layers
        cats = result.plan.reference.priority_categories if categories is None else categories
        site_cat = _site_category_scores(result, cats)
        self.category = (np.nan_to_num(_pair_values(self.layer, self.site_id, site_cat.get), nan=0.0)
                         if site_cat else None)
        self.jobs = np.zeros(self.n)
        jz = zone_jobs(layers)
        if jz is not None:
            self.jobs = np.nan_to_num(_pair_values(self.layer, self.site_id, {"industrial_zones": jz.astype(float)}.get),
                                      nan=0.0)
        self.names = _pair_names(layers, self.layer, self.site_id)
        self.conflicts = np.full(self.n, np.nan)
        if conflicts is not None:
            self.conflicts = np.nan_to_num(
                _pair_values(self.layer, self.site_id, lambda kind: _severity_by_id(_layer_rows(conflicts, kind))),
                nan=0.0)

    def criteria(self, variant: str, *, settings: RankingSettings) -> pd.DataFrame:
        """:func:`site_criteria` of one variant."""
        return _site_criteria(self, variant, settings=settings)


def site_criteria(result, variant: str, *, settings: RankingSettings,
                  conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
                  categories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Raw criterion values per site (with demand or feed-in) for one variant.

    Substation-level criteria (shortfall, land, programme) are share-weighted
    over the substations serving the site; urgency is the years until the
    first year the site has demand while a substation serving it is short
    (:func:`spatialprog.headroom.is_short`: 0 MW headroom counts);
    dwellings and jobs per MW use the site's own peak offtake.

    The long demand table (a million rows and more at national scale) is
    grouped by integer keys of its sites, the urgency is a table of years per
    site and substation instead of a join, and every lookup by text is made
    once per site.

    Returns
    -------
    DataFrame
        ``layer, site_id, name, substation_id`` (the main one) and one column per
        criterion, one row per site in the order of ``layer, site_id``.
    """
    return SiteKeys(result, conflicts=conflicts, categories=categories).criteria(variant, settings=settings)


def _site_criteria(keys: SiteKeys, variant: str, *, settings: RankingSettings) -> pd.DataFrame:
    """:meth:`SiteKeys.criteria`."""
    result = keys.result
    years = result.project.years
    dem = result.demand
    rows = (dem[F.VARIANT] == variant).to_numpy(dtype=bool) & (keys.row_key >= 0)
    rk = keys.row_key[rows]
    col = {c: dem[c].to_numpy(dtype=float)[rows] for c in (F.OFFTAKE_MW, F.FEEDIN_MW, F.DWELLINGS_DELIVERED)}
    peak_off, peak_feed, dwell = (_group_max(rk, keys.n, col[c]) for c in (F.OFFTAKE_MW, F.FEEDIN_MW,
                                                                         F.DWELLINGS_DELIVERED))
    is_site = (peak_off > 0) | (peak_feed > 0)  # NaN for a key without rows in this variant: no site
    if not is_site.any():
        return pd.DataFrame(columns=[F.LAYER, F.SITE_ID, "name", F.SUBSTATION_ID, *CRITERIA])
    site_keys = np.flatnonzero(is_site)
    n = len(site_keys)
    pos_of_key = np.full(keys.n, -1, dtype=np.int64)
    pos_of_key[site_keys] = np.arange(n)

    # share-weighted substation figures per site (summed per site in the assignment's row order, as pandas sums)
    fs = shortfall_by_substation(result.shortfall, variant)
    asg = result.assignment[keys.asg]
    apos = np.where(keys.asg_key >= 0, pos_of_key[np.maximum(keys.asg_key, 0)], -1)
    sub = asg[F.SUBSTATION_ID]
    share = asg[F.SHARE].to_numpy(dtype=float)
    weighted = pd.DataFrame({
        "off": sub.map(fs["shortfall_offtake_mw"]).fillna(0.0).to_numpy(dtype=float) * share,
        "feed": sub.map(fs["shortfall_feedin_mw"]).fillna(0.0).to_numpy(dtype=float) * share,
        "land": sub.isin(settings.land_reserved).to_numpy(dtype=float) * share,
        "prog": sub.isin(settings.provincial_programme).to_numpy(dtype=float) * share,
    })
    on = apos >= 0
    by_site = weighted[on].groupby(apos[on], sort=True).sum().reindex(np.arange(n)).fillna(0.0)

    # urgency: first year with demand at the site while one of its substations is short (per direction)
    year = dem[F.YEAR].to_numpy(dtype=np.int64)[rows]
    year_v = np.sort(pd.unique(year))
    gyear = np.searchsorted(year_v, year)
    drow = is_site[rk]
    dsite = pos_of_key[rk[drow]]
    sub_c, subs_u = pd.factorize(sub)
    h = result.headroom[(result.headroom[F.VARIANT] == variant) & is_short(result.headroom[F.HEADROOM_MW])]
    hsub = pd.Index(subs_u).get_indexer(h[F.SUBSTATION_ID])
    hyear = np.searchsorted(year_v, h[F.YEAR].to_numpy(dtype=np.int64))
    hok = (hsub >= 0) & (hyear < len(year_v))
    hok &= year_v[np.minimum(hyear, len(year_v) - 1)] == h[F.YEAR].to_numpy(dtype=np.int64)
    hit = np.zeros((on.sum(), len(year_v)), dtype=bool)  # per assignment row of a site: the years it is hit
    for direction, c in ((F.OFFTAKE, F.OFFTAKE_MW), (F.FEEDIN, F.FEEDIN_MW)):
        has = np.zeros((n, len(year_v)), dtype=bool)  # the site has demand in that direction and year
        m = col[c][drow] > 0
        has[dsite[m], gyear[drow][m]] = True
        short = np.zeros((len(subs_u), len(year_v)), dtype=bool)
        hd = hok & (h[F.DIRECTION] == direction).to_numpy(dtype=bool)
        short[hsub[hd], hyear[hd]] = True
        hit |= has[apos[on]] & short[sub_c[on]]
    first_year = np.where(hit.any(axis=1), year_v[hit.argmax(axis=1)].astype(float), np.inf)
    urg = np.full(n, np.inf)
    np.minimum.at(urg, apos[on], first_year)
    urg = np.where(np.isinf(urg), np.nan, urg) - years[0]

    po = peak_off[site_keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame({
            F.LAYER: keys.layer.iloc[site_keys].reset_index(drop=True),
            F.SITE_ID: keys.site_id.iloc[site_keys].reset_index(drop=True),
            "name": keys.names[site_keys],
            F.SUBSTATION_ID: keys.primary[site_keys],
            "shortfall_offtake_mw": by_site["off"].to_numpy(),
            "shortfall_feedin_mw": by_site["feed"].to_numpy(),
            "urgency_years": np.clip(urg, 0, None),
            "dwellings_per_mw": np.where(po > 0, dwell[site_keys] / po, np.nan),
            "jobs_per_mw": np.where(po > 0, keys.jobs[site_keys] / po, np.nan),
            "priority_category": keys.category[site_keys] if keys.category is not None else 0.0,
            "conflicts": keys.conflicts[site_keys],
            "land_reserved": by_site["land"].to_numpy(),
            "provincial_programme": by_site["prog"].to_numpy(),
        })


def _pair_names(layers: Mapping[str, pd.DataFrame], site_lay: pd.Series, site_id: pd.Series) -> np.ndarray:
    """The name of each site (``''`` where its layer has none)."""
    lay, lay_u = pd.factorize(site_lay)
    out = np.full(len(site_lay), "", dtype=object)
    for k, kind in enumerate(lay_u.tolist()):
        names = _site_names(layers, kind)
        if names is None:
            continue
        rows = np.flatnonzero(lay == k)
        v = names.reindex(site_id.iloc[rows].to_numpy()).to_numpy(dtype=object)
        out[rows] = np.where(pd.isna(v), "", v)
    return out
