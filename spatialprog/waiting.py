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
    a = allocated[(allocated[F.VARIANT] == variant) & allocated[F.SUBSTATION_ID].notna()]
    if not len(h) or not len(a):
        return _empty()
    years = np.array(sorted(set(a[F.YEAR].astype(int))), dtype=int)
    keys = [F.SUBSTATION_ID, F.LAYER, F.SITE_ID]
    a = a[a[F.SUBSTATION_ID].isin(set(h[F.SUBSTATION_ID]))]
    share = a.groupby(keys, sort=True)[F.SHARE].first()
    lay_jobs = None
    if jobs is not None and len(jobs):
        ids = share.index.get_level_values(F.SITE_ID)
        is_zone = share.index.get_level_values(F.LAYER) == "industrial_zones"
        lay_jobs = np.where(is_zone, jobs.reindex(ids).astype(float).fillna(0.0).to_numpy(), 0.0) * share.to_numpy()
    dwell = a.pivot_table(index=keys, columns=F.YEAR, values=F.DWELLINGS_DELIVERED, aggfunc="sum", fill_value=0.0)
    dwell = dwell.reindex(index=share.index, columns=years, fill_value=0.0).to_numpy(dtype=float)
    parts = []
    for d, g in h.groupby(F.DIRECTION, sort=True):
        val = a.pivot_table(index=keys, columns=F.YEAR, values=_VALUE[d], aggfunc="sum", fill_value=0.0)
        val = val.reindex(index=share.index, columns=years, fill_value=0.0).to_numpy(dtype=float)
        has = val > _EPS
        arrival = np.where(has.any(axis=1), years[np.argmax(has, axis=1)], 0)
        subs = share.index.get_level_values(F.SUBSTATION_ID).to_numpy()
        for sid, gs in g.groupby(F.SUBSTATION_ID, sort=True):
            rows = np.flatnonzero(subs == sid)
            w = pd.Series(gs["_w"].to_numpy(), index=gs[F.YEAR].astype(int)).reindex(years, fill_value=0.0)
            frac = _fractions(val[rows], arrival[rows], w.to_numpy())
            wait = frac * val[rows]
            for i, j in zip(*np.nonzero(wait > _EPS), strict=True):
                r = rows[i]
                peak = val[r].max()
                parts.append({
                    F.SUBSTATION_ID: sid, F.DIRECTION: d, F.YEAR: int(years[j]),
                    F.LAYER: share.index[r][1], F.SITE_ID: share.index[r][2], F.SHARE: float(share.iat[r]),
                    "arrival_year": int(arrival[r]), "waiting_mw": float(wait[i, j]),
                    "dwellings_waiting": float(frac[i, j] * dwell[r, j]) if d == F.OFFTAKE else 0.0,
                    "jobs_waiting": (float(frac[i, j] * lay_jobs[r] * val[r, j] / peak)
                                     if d == F.OFFTAKE and lay_jobs is not None and peak > _EPS else 0.0),
                })
    if not parts:
        return _empty()
    out = pd.DataFrame(parts, columns=WAITING_COLUMNS)
    dir_order = {d: i for i, d in enumerate(F.DIRECTIONS)}
    out = out.assign(_d=out[F.DIRECTION].map(dir_order), _a=-out["arrival_year"])
    out = out.sort_values([F.SUBSTATION_ID, "_d", F.YEAR, "_a", F.LAYER, F.SITE_ID], kind="stable")
    return out.drop(columns=["_d", "_a"]).reset_index(drop=True)


def _fractions(val: np.ndarray, arrival: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per site and year, the share of its demand that waits: the latest arrivals first, one arrival year at a time.

    ``val`` (sites x years) is the demand, ``arrival`` the arrival year per
    site, ``w`` the MW that wait per year. Sites of one arrival year wait for
    the same fraction.
    """
    groups = np.unique(arrival)[::-1]                      # latest arrival first
    gsum = np.vstack([val[arrival == g].sum(axis=0) for g in groups])
    before = np.cumsum(gsum, axis=0) - gsum                 # what the later arrivals already cover
    gfrac = np.divide(w[None, :] - before, gsum, out=np.zeros_like(gsum), where=gsum > _EPS)
    gfrac = np.clip(gfrac, 0.0, 1.0)
    pos = {g: i for i, g in enumerate(groups)}
    return gfrac[[pos[g] for g in arrival]]


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
    for sid, g in waiting.groupby(F.SUBSTATION_ID, sort=True):
        peak = {}
        for d, gd in g.groupby(F.DIRECTION, sort=True):
            tot = gd.groupby(F.YEAR, sort=True)["waiting_mw"].sum()
            year = int(tot.index[np.argmax(tot.to_numpy() >= tot.max() - 1e-9)])  # the earliest peak
            peak[d] = gd[gd[F.YEAR] == year]
        off = peak.get(F.OFFTAKE)
        feed = peak.get(F.FEEDIN)
        first = off if off is not None else feed
        sites = set()
        for p in (off, feed):
            if p is not None:
                sites |= set(zip(p[F.LAYER], p[F.SITE_ID], strict=True))
        rows[sid] = {
            "waiting_year": int(first[F.YEAR].iat[0]),
            "dwellings_waiting": float(off["dwellings_waiting"].sum()) if off is not None else 0.0,
            "jobs_waiting": float(off["jobs_waiting"].sum()) if off is not None else 0.0,
            "offtake_mw_waiting": float(off["waiting_mw"].sum()) if off is not None else 0.0,
            "feedin_mw_waiting": float(feed["waiting_mw"].sum()) if feed is not None else 0.0,
            "n_sites_waiting": len(sites),
        }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=SUMMARY_COLUMNS)
    out.index.name = F.SUBSTATION_ID
    return out.astype({"waiting_year": int, "n_sites_waiting": int}) if len(out) else out
