"""What waits on a short substation: the planned demand that cannot connect, per year and per site.

The definition (the one a planner uses to say "so many dwellings wait on this
station"):

1. **The shortfall of a year.** In year ``y`` a substation has ``headroom_mw``
   and ``new_load_mw`` (the headroom table, :mod:`spatialprog.headroom`: the
   planned sites' allocated demand). The existing load, with its autonomous
   growth, is connected already and is served first; what is left for the
   planned sites is ``capacity - existing load``. The planned demand that does
   not fit is::

       waiting_mw(y) = min(max(0, -headroom_mw(y)), new_load_mw(y))

   so it is the shortfall in MW, but never more than the planned demand
   itself. At exactly 0 MW headroom the substation is short
   (:func:`spatialprog.headroom.is_short`) but nothing waits yet: everything
   planned so far fits, nothing more can connect.
2. **Who waits: the last to arrive.** The planned sites at the substation
   queue in delivery order, first come first served (ACM: outside the
   societal-priority categories, "wie het eerst komt, het eerst maalt"): a
   site's place in the queue is its arrival year, the first horizon year with
   demand at that substation (the start of delivery). The sites that arrived
   last wait: walking the queue from the latest arrival year back, whole
   arrival years wait until ``waiting_mw(y)`` is covered; the arrival year at
   the boundary waits in part, every site of that year for the same fraction
   of its demand (so the answer does not depend on the order of rows). The
   sites that cause the shortfall are thus counted, also when they were
   delivered before the first shortfall year and the shortfall appears only
   later (autonomous growth).
3. **What they bring.** A site that waits for a fraction ``f`` of its
   demand in year ``y`` holds ``f`` x its demand (MW) at the substation,
   ``f`` x its dwellings delivered by ``y`` (its share at this substation),
   and ``f`` x the jobs of a business park present in ``y`` (its jobs x its
   share x its demand in ``y`` / its largest demand in the horizon).

Offtake and feed-in queue separately (dwellings and jobs only with offtake).
:func:`waiting_demand` gives the rows per substation, direction, year and
site; :func:`waiting_summary` the figures of the programme: per substation the
year in which the most offtake demand waits (the peak: what the intervention
must unlock; the earliest such year on ties) with the MW, dwellings, jobs and
sites waiting then, and the feed-in waiting in its own peak year.

Pure: takes the headroom table and the allocated demand of a run and opens no
files (both come from the same engine as every other figure of the run).

Examples
--------
>>> import pandas as pd
>>> h = pd.DataFrame({"substation_id": "A", "variant": "basis", "year": [2026, 2027], "direction": "offtake",
...                   "headroom_mw": [0.5, -1.5], "new_load_mw": [1.0, 3.0]})
>>> a = pd.DataFrame({"variant": "basis", "layer": "housing_sites", "site_id": ["S1", "S1", "S2", "S2"],
...                   "substation_id": "A", "share": 1.0, "year": [2026, 2027, 2026, 2027],
...                   "offtake_mw": [1.0, 1.0, 0.0, 2.0], "feedin_mw": 0.0,
...                   "dwellings_delivered": [100.0, 100.0, 0.0, 200.0]})
>>> w = waiting_demand(h, a, "basis")
>>> w[["year", "site_id", "waiting_mw", "dwellings_waiting"]].values.tolist()
[[2027, 'S2', 1.5, 150.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import fields as F
from .grouping import Groups

__all__ = ["WAITING_COLUMNS", "SUMMARY_COLUMNS", "waiting_mw", "waiting_demand", "waiting_summary"]

#: columns of :func:`waiting_demand`
WAITING_COLUMNS = [F.SUBSTATION_ID, F.DIRECTION, F.YEAR, F.LAYER, F.SITE_ID, F.SHARE, "arrival_year", "waiting_mw",
                   "dwellings_waiting", "jobs_waiting"]
#: columns of :func:`waiting_summary` (indexed by substation id)
SUMMARY_COLUMNS = ["waiting_year", "dwellings_waiting", "jobs_waiting", "offtake_mw_waiting", "feedin_mw_waiting",
                   "n_sites_waiting"]

_EPS = 1e-9
_VALUE = {F.OFFTAKE: F.OFFTAKE_MW, F.FEEDIN: F.FEEDIN_MW}


def waiting_mw(headroom_mw, new_load_mw):
    """The planned demand (MW) that does not fit: the shortfall, at most the planned demand itself.

    Examples
    --------
    >>> waiting_mw(np.array([2.0, 0.0, -1.5, -9.0]), np.array([1.0, 1.0, 3.0, 4.0])).tolist()
    [0.0, 0.0, 1.5, 4.0]
    """
    return np.minimum(np.clip(-np.asarray(headroom_mw, dtype=float), 0.0, None), np.asarray(new_load_mw, dtype=float))


def _empty() -> pd.DataFrame:
    text = {F.SUBSTATION_ID, F.DIRECTION, F.LAYER, F.SITE_ID}
    return pd.DataFrame({c: pd.Series(dtype=object if c in text else (int if "year" in c else float))
                         for c in WAITING_COLUMNS})


def waiting_demand(headroom: pd.DataFrame, allocated: pd.DataFrame, variant: str, *,
                   jobs: pd.Series | None = None) -> pd.DataFrame:
    """The planned demand that waits, per substation, direction, year and site (see the module docstring).

    Parameters
    ----------
    headroom : DataFrame
        The long headroom table (``result.headroom``, any variants).
    allocated : DataFrame
        The demand split over substations (``result.allocated``).
    variant : str
    jobs : Series, optional
        Jobs per industrial-zone id (:func:`spatialprog.programme.zone_jobs`).

    Returns
    -------
    DataFrame
        :data:`WAITING_COLUMNS`, one row per site and year with something
        waiting; sorted by substation, direction, year, arrival (latest
        first), layer and site.
    """
    h = headroom[headroom[F.VARIANT] == variant]
    h = h.assign(_w=waiting_mw(h[F.HEADROOM_MW].to_numpy(), h[F.NEW_LOAD_MW].to_numpy()))
    h = h[h["_w"] > _EPS]
    keys = [F.SUBSTATION_ID, F.LAYER, F.SITE_ID]
    if not len(h) or not len(allocated):
        return _empty()
    # one filter, of the columns used only (a national allocation has millions of rows)
    rows = ((allocated[F.VARIANT] == variant).to_numpy() & allocated[F.SUBSTATION_ID].notna().to_numpy()
            & allocated[F.SUBSTATION_ID].isin(set(h[F.SUBSTATION_ID])).to_numpy())
    a = allocated.loc[rows, [*keys, F.YEAR, F.SHARE, F.DWELLINGS_DELIVERED, *_VALUE.values()]]
    if not len(a):
        return _empty()
    years, year_of = np.unique(a[F.YEAR].to_numpy(dtype=int), return_inverse=True)
    groups = Groups(a, keys)  # per (substation, layer, site), in key order; sums as (sites x years) arrays
    share_v = groups.take(F.SHARE).astype(float)
    layer_v, site_v = groups.take(F.LAYER), groups.take(F.SITE_ID)
    lay_jobs = None
    if jobs is not None and len(jobs):
        is_zone = layer_v == "industrial_zones"
        lay_jobs = np.where(is_zone, jobs.reindex(site_v).astype(float).fillna(0.0).to_numpy(), 0.0) * share_v
    dwell = groups.sum(a[F.DWELLINGS_DELIVERED], by=year_of, n_by=len(years))
    subs = groups.take(F.SUBSTATION_ID)
    sub_code, sub_table = pd.factorize(subs, sort=True)
    sub_table = pd.Index(sub_table)
    year_at = {int(y): i for i, y in enumerate(years)}
    dir_order = {d: i for i, d in enumerate(F.DIRECTIONS)}
    parts = []
    for d, g in h.groupby(F.DIRECTION, sort=True):
        val = groups.sum(a[_VALUE[d]], by=year_of, n_by=len(years))
        has = val > _EPS
        arrival = np.where(has.any(axis=1), years[np.argmax(has, axis=1)], 0)
        # the MW waiting per substation and year (0 where the substation has nothing waiting in this direction)
        w = np.zeros((len(sub_table), len(years)))
        gy = g[F.YEAR].astype(int).map(year_at)
        ok = gy.notna().to_numpy()
        w[sub_table.get_indexer(g[F.SUBSTATION_ID])[ok], gy[ok].astype(int).to_numpy()] = g["_w"].to_numpy()[ok]
        frac = _fractions(val, arrival, w, sub_code)
        wait = frac * val
        r, j = np.nonzero(wait > _EPS)
        if not len(r):
            continue
        f = frac[r, j]
        off = d == F.OFFTAKE
        if off and lay_jobs is not None:
            peak = val.max(axis=1)[r]
            jobs_w = np.where(peak > _EPS, f * lay_jobs[r] * val[r, j] / np.where(peak > _EPS, peak, 1.0), 0.0)
        else:
            jobs_w = np.zeros(len(r))
        parts.append({
            "_r": r, "_d": np.full(len(r), dir_order[d]), F.DIRECTION: d, F.YEAR: years[j].astype(int),
            "arrival_year": arrival[r].astype(int), "waiting_mw": wait[r, j],
            "dwellings_waiting": f * dwell[r, j] if off else np.zeros(len(r)), "jobs_waiting": jobs_w,
        })
    if not parts:
        return _empty()
    cat = {k: np.concatenate([np.broadcast_to(np.asarray(p[k], dtype=object if k == F.DIRECTION else None),
                                              len(p["_r"])) for p in parts]) for k in parts[0]}
    r = cat["_r"]
    # substation, direction, year, latest arrival first, then layer and site: the groups are in (substation,
    # layer, site) order, so the group number stands for the last two
    order = np.lexsort([r, -cat["arrival_year"], cat[F.YEAR], cat["_d"], sub_code[r]])
    r = r[order]
    return pd.DataFrame({
        F.SUBSTATION_ID: pd.Series(subs[r], dtype=object), F.DIRECTION: pd.Series(cat[F.DIRECTION][order],
                                                                                  dtype=object),
        F.YEAR: cat[F.YEAR][order], F.LAYER: pd.Series(layer_v[r], dtype=object),
        F.SITE_ID: pd.Series(site_v[r], dtype=object), F.SHARE: share_v[r],
        **{c: cat[c][order] for c in ("arrival_year", "waiting_mw", "dwellings_waiting", "jobs_waiting")},
    }, columns=WAITING_COLUMNS)


def _fractions(val: np.ndarray, arrival: np.ndarray, w: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per site and year, the share of its demand that waits: the latest arrivals first, one arrival year at a time.

    ``val`` (sites x years) is the demand, ``arrival`` the arrival year per
    site, ``group`` its substation (a code; ``w`` has one row per code: the MW
    that wait there per year). Sites of one substation and arrival year wait
    for the same fraction. Grouped array operations: the work grows with the
    sites, and each substation's arithmetic is the one of its own queue.
    """
    # one queue group per substation and arrival year, the latest arrival first within each substation
    # (substation, latest arrival first) as one integer, in the order of the pairs
    arrival = np.asarray(arrival, dtype=np.int64)
    lo, hi = (int(arrival.min()), int(arrival.max())) if len(arrival) else (0, 0)
    gkey, ginv = np.unique(np.asarray(group, dtype=np.int64) * (hi - lo + 1) + (hi - arrival), return_inverse=True)
    ginv = ginv.reshape(-1)
    gsum = np.zeros((len(gkey), val.shape[1]))
    np.add.at(gsum, ginv, val)  # in row order, as a sum over the rows of each group
    gsub = gkey // (hi - lo + 1)
    rank = np.arange(len(gkey)) - np.searchsorted(gsub, gsub, side="left")
    # what the later arrivals at the same substation already cover (a running sum per substation)
    run = np.zeros_like(gsum)
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        at = np.flatnonzero(rank == k)
        run[at] = gsum[at] if k == 0 else run[at - 1] + gsum[at]
    before = run - gsum
    gfrac = np.divide(w[gsub] - before, gsum, out=np.zeros_like(gsum), where=gsum > _EPS)
    gfrac = np.clip(gfrac, 0.0, 1.0)
    return gfrac[ginv]


def waiting_summary(waiting: pd.DataFrame) -> pd.DataFrame:
    """Per substation, what waits in its peak year: the figures of the programme.

    Parameters
    ----------
    waiting : DataFrame
        :func:`waiting_demand`.

    Returns
    -------
    DataFrame
        Indexed by ``substation_id``: :data:`SUMMARY_COLUMNS`.
        ``waiting_year`` is the year in which the most offtake MW waits
        (the feed-in year where only feed-in waits), the earliest on ties;
        ``dwellings_waiting``, ``jobs_waiting``, ``offtake_mw_waiting`` are
        the offtake figures of that year, ``feedin_mw_waiting`` the feed-in
        MW of the feed-in peak year, ``n_sites_waiting`` the sites waiting in
        either peak year.

    Examples
    --------
    >>> w = pd.DataFrame({"substation_id": "A", "direction": "offtake", "year": [2027, 2028, 2028],
    ...                   "layer": "housing_sites", "site_id": ["S2", "S2", "S1"], "share": 1.0,
    ...                   "arrival_year": [2027, 2027, 2026], "waiting_mw": [1.0, 2.0, 0.5],
    ...                   "dwellings_waiting": [100.0, 200.0, 50.0], "jobs_waiting": 0.0})
    >>> s = waiting_summary(w)
    >>> int(s.at["A", "waiting_year"]), float(s.at["A", "dwellings_waiting"]), int(s.at["A", "n_sites_waiting"])
    (2028, 250.0, 2)
    """
    rows = {}
    if len(waiting):
        # per substation, direction and year the MW waiting; the earliest year of each peak
        tot = waiting.groupby([F.SUBSTATION_ID, F.DIRECTION, F.YEAR], sort=True)["waiting_mw"].sum()
        top = tot.groupby(level=[0, 1], sort=True).transform("max")
        at_peak = tot[tot.to_numpy() >= top.to_numpy() - 1e-9]
        peak_year = at_peak.reset_index().groupby([F.SUBSTATION_ID, F.DIRECTION], sort=True)[F.YEAR].first()
        # the rows of each (substation, direction, year) in their order in ``waiting``, as slices
        gid = waiting.groupby([F.SUBSTATION_ID, F.DIRECTION, F.YEAR], sort=True).ngroup().to_numpy()
        order = np.argsort(gid, kind="stable")
        bounds = np.searchsorted(gid[order], np.arange(len(tot) + 1))
        pos = {k: i for i, k in enumerate(tot.index)}
        cols = {c: waiting[c].to_numpy()[order] for c in ("dwellings_waiting", "jobs_waiting", "waiting_mw")}
        lay, site = waiting[F.LAYER].to_numpy()[order], waiting[F.SITE_ID].to_numpy()[order]
        for sid in peak_year.index.get_level_values(0).unique():
            peak = {}
            for d in (F.FEEDIN, F.OFFTAKE):
                if (sid, d) in peak_year.index:
                    y = peak_year.at[(sid, d)]
                    i = pos[(sid, d, y)]
                    peak[d] = (int(y), slice(bounds[i], bounds[i + 1]))
            off, feed = peak.get(F.OFFTAKE), peak.get(F.FEEDIN)
            first = off if off is not None else feed
            sites = set()
            for p in (off, feed):
                if p is not None:
                    sites |= set(zip(lay[p[1]], site[p[1]], strict=True))
            rows[sid] = {
                "waiting_year": first[0],
                "dwellings_waiting": float(cols["dwellings_waiting"][off[1]].sum()) if off is not None else 0.0,
                "jobs_waiting": float(cols["jobs_waiting"][off[1]].sum()) if off is not None else 0.0,
                "offtake_mw_waiting": float(cols["waiting_mw"][off[1]].sum()) if off is not None else 0.0,
                "feedin_mw_waiting": float(cols["waiting_mw"][feed[1]].sum()) if feed is not None else 0.0,
                "n_sites_waiting": len(sites),
            }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=SUMMARY_COLUMNS)
    out.index.name = F.SUBSTATION_ID
    return out.astype({"waiting_year": int, "n_sites_waiting": int}) if len(out) else out
