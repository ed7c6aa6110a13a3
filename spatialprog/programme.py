"""The programme of interventions: what each short substation needs, by when.

For every substation that runs short of capacity within the horizon (per
variant) :func:`interventions` proposes one realistic measure:

``advance_planned``
    A reinforcement is already planned but comes after the first shortfall,
    and once it is in service the station fits again: bring it forward.
``extension``
    Add transformers of a standard size (``data/transformer_steps.csv``) at
    the existing site, up to ``programme.max_transformers_per_station`` units.
    The firm capacity gained follows the same N-1 / N-0 rule as the headroom
    table, so adding a second unit at a 150 kV station with one transformer
    gains nothing under N-1 and a larger step is chosen.
``new_substation``
    Where the shortfall exceeds what the existing site can take: a new
    station (a split) of ``programme.new_station_transformers`` equal units
    of a standard size, with the land it needs (``data/substation_land.csv``).

The year an intervention is needed by is the first shortfall year minus its
realisation lead time (site search + build for a new station, unless the land
is already reserved; preparation + build for an extension). What waits on it
(:func:`waiting_demand`) is the new demand that arrives at the substation from
its first shortfall year on: dwellings, jobs and MW.

The transformer steps and the land table come from the plan
(``result.plan.reference``, read once by :mod:`spatialprog.reference`);
nothing here opens a file. A substation is short where
:func:`spatialprog.headroom.is_short` says so, 0 MW headroom included (the
first shortfall comes from ``result.shortfall``; an advanced reinforcement
must leave no year short).

Examples
--------
>>> from spatialprog.reference import load_transformer_steps
>>> steps = load_transformer_steps()
>>> sorted(steps.loc[steps["hv_kv_min"] >= 100, "mva"].unique().tolist())
[40.0, 50.0, 63.0, 80.0, 90.0]
>>> size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=20.0, need_feedin_mva=0.0,
...                steps=[40.0, 50.0, 63.0, 80.0], max_units=4, n1_min_kv=110.0, feedin_n1=False)
(1, 40.0, 40.0, 40.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import fields as F
from .headroom import is_short, max_kv, transformer_units
from .params import ParameterSet

__all__ = [
    "PROGRAMME_COLUMNS",
    "land_for",
    "size_extension",
    "size_new_substation",
    "shortfall_by_substation",
    "zone_jobs",
    "waiting_demand",
    "interventions",
]

#: columns of the intervention table (before the score and rank are added)
PROGRAMME_COLUMNS = [
    F.VARIANT,
    F.SUBSTATION_ID,
    "name",
    "intervention",
    "transformer_step",
    "short_directions",
    F.FIRST_SHORTFALL_YEAR,
    "shortfall_offtake_mw",
    "shortfall_feedin_mw",
    "need_mva",
    "added_installed_mva",
    "added_firm_mva",
    "n_new_stations",
    "land_m2",
    "land_reserved",
    "lead_time_years",
    "needed_by_year",
    "late_years",
    "dwellings_waiting",
    "jobs_waiting",
    "offtake_mw_waiting",
    "feedin_mw_waiting",
    "n_sites_waiting",
    "higher_level_id",
    "note",
]

_EPS = 1e-9


def land_for(installed_mva: float, land: pd.DataFrame) -> float:
    """Land (m2) for a new station of ``installed_mva``: the first class that holds it.

    Parameters
    ----------
    installed_mva : float
    land : DataFrame
        ``max_installed_mva, land_m2`` ascending (``plan.reference.substation_land``).

    Examples
    --------
    >>> land = pd.DataFrame({"max_installed_mva": [80.0, 160.0, float("inf")], "land_m2": [2000.0, 8000.0, 15000.0]})
    >>> land_for(160.0, land), land_for(500.0, land)
    (8000.0, 15000.0)
    """
    row = land[land["max_installed_mva"] >= installed_mva - _EPS]
    return float(row["land_m2"].iat[0]) if len(row) else float(land["land_m2"].iat[-1])


def _firm(units: Sequence[float], n1: bool) -> float:
    """Firm capacity of a set of transformer units: sum, minus the largest under N-1."""
    if not units:
        return 0.0
    s = float(sum(units))
    return s - float(max(units)) if n1 and len(units) >= 2 else s


def _steps_for(steps: pd.DataFrame, hv_kv: float) -> list[float]:
    kv = 150.0 if not np.isfinite(hv_kv) else hv_kv
    sel = steps[(steps["hv_kv_min"] <= kv) & (steps["hv_kv_max"] >= kv)]
    if not len(sel):  # outside every range: the nearest range
        d = np.minimum((steps["hv_kv_min"] - kv).abs(), (steps["hv_kv_max"] - kv).abs())
        sel = steps[d == d.min()]
    return sorted(set(sel["mva"].astype(float).tolist()))


def size_extension(*, units: Sequence[float] | None, hv_kv: float, need_offtake_mva: float, need_feedin_mva: float,
                   steps: Sequence[float], max_units: int, n1_min_kv: float, feedin_n1: bool,
                   n_units_assumed: int = 2) -> tuple[int, float, float, float] | None:
    """The smallest extension of an existing station that covers the need.

    Adds ``k`` transformers of one standard size ``S``; the firm capacity
    gained is computed with the station's N-1 / N-0 rule.

    Parameters
    ----------
    units : sequence of float or None
        The ratings of the existing transformers; ``None`` when unknown (then
        each added unit adds its full rating, an assumption).
    hv_kv : float
        Highest voltage of the station (NaN when unknown: N-1 applies).
    need_offtake_mva, need_feedin_mva : float
        Firm capacity to add in each direction.
    steps : sequence of float
        Standard sizes (MVA) for this voltage.
    max_units : int
        Most transformers the site can hold.
    n1_min_kv : float
    feedin_n1 : bool
    n_units_assumed : int
        Existing units assumed where ``units`` is None (for the room left).

    Returns
    -------
    tuple or None
        ``(k, S, firm offtake gain, firm feed-in gain)`` of the option with
        the least added installed MVA (then fewer units, then the smaller
        size); None when no option fits on the site.
    """
    n1_off = (not np.isfinite(hv_kv)) or hv_kv >= n1_min_kv
    n_have = len(units) if units is not None else n_units_assumed
    best = None
    for s in sorted(steps):
        for k in range(1, max(max_units - n_have, 0) + 1):
            if units is None:
                g_off = g_feed = k * s
            else:
                new = [*units, *([s] * k)]
                g_off = _firm(new, n1_off) - _firm(units, n1_off)
                g_feed = _firm(new, n1_off and feedin_n1) - _firm(units, n1_off and feedin_n1)
            if g_off + _EPS >= need_offtake_mva and g_feed + _EPS >= need_feedin_mva:
                key = (k * s, k, s)
                if best is None or key < best[0]:
                    best = (key, (k, float(s), float(g_off), float(g_feed)))
                break  # more units of this size only add more
    return best[1] if best else None


def size_new_substation(*, hv_kv: float, need_offtake_mva: float, need_feedin_mva: float, steps: Sequence[float],
                        n_units: int, max_units: int, n1_min_kv: float,
                        feedin_n1: bool) -> tuple[int, int, float, float, float]:
    """The smallest new station (or stations) that covers the need.

    Returns
    -------
    tuple
        ``(n_stations, units_per_station, unit_mva, firm offtake per station,
        firm feed-in per station)``.

    Examples
    --------
    >>> size_new_substation(hv_kv=150.0, need_offtake_mva=70.0, need_feedin_mva=0.0, steps=[40.0, 63.0, 80.0],
    ...                     n_units=2, max_units=4, n1_min_kv=110.0, feedin_n1=False)
    (1, 2, 80.0, 80.0, 160.0)
    """
    n1_off = (not np.isfinite(hv_kv)) or hv_kv >= n1_min_kv
    options = []
    for n in range(max(n_units, 1), max(max_units, n_units) + 1):
        for s in sorted(steps):
            off = _firm([s] * n, n1_off)
            feed = _firm([s] * n, n1_off and feedin_n1)
            if off + _EPS >= need_offtake_mva and feed + _EPS >= need_feedin_mva:
                options.append(((n * s, n, s), (1, n, float(s), float(off), float(feed))))
        if options:
            break
    if options:
        return min(options)[1]
    # even the largest station falls short: several of the largest
    n = max(max_units, n_units)
    s = max(steps)
    off = _firm([s] * n, n1_off)
    feed = _firm([s] * n, n1_off and feedin_n1)
    count = max(math.ceil(need_offtake_mva / off - _EPS) if off > 0 else 1,
                math.ceil(need_feedin_mva / feed - _EPS) if feed > 0 else 1, 1)
    return count, n, float(s), float(off), float(feed)


def shortfall_by_substation(shortfall: pd.DataFrame, variant: str) -> pd.DataFrame:
    """The shortfall table of one variant, one row per substation that runs short.

    Parameters
    ----------
    shortfall : DataFrame
        :func:`spatialprog.headroom.first_shortfall` (``result.shortfall``).
    variant : str

    Returns
    -------
    DataFrame
        Indexed by ``substation_id``: ``first_shortfall_<direction>_year``
        (NaN where that direction never runs short) and
        ``shortfall_<direction>_mw`` (the largest shortfall) per direction.
    """
    s = shortfall[shortfall[F.VARIANT] == variant]
    g = s.groupby([F.SUBSTATION_ID, F.DIRECTION], sort=True)
    fs = g[F.FIRST_SHORTFALL_YEAR].min().astype(float).unstack(F.DIRECTION)
    mx = g["max_shortfall_mw"].max().astype(float).unstack(F.DIRECTION)
    out = pd.DataFrame(index=pd.Index(sorted(set(s[F.SUBSTATION_ID])), name=F.SUBSTATION_ID))
    for d in F.DIRECTIONS:
        out[f"first_shortfall_{d}_year"] = fs[d].reindex(out.index).astype(float) if d in fs else np.nan
        out[f"shortfall_{d}_mw"] = mx[d].reindex(out.index).astype(float).fillna(0.0) if d in mx else 0.0
    return out


def zone_jobs(layers: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Jobs per industrial-zone id (the ``jobs`` column of ``industrial_zones``); None without it."""
    zones = layers.get("industrial_zones")
    return zones.set_index("id")["jobs"] if zones is not None and "jobs" in zones else None


def waiting_demand(allocated: pd.DataFrame, shortfall: pd.DataFrame, variant: str, years: Sequence[int], *,
                   jobs: pd.Series | None = None) -> pd.DataFrame:
    """The new demand that waits on each short substation, per site.

    What waits is what arrives from the substation's first shortfall year on
    (per direction): the growth of each site's allocated offtake, feed-in and
    delivered dwellings between the year before the first shortfall and the
    last horizon year. Jobs of a business park wait in proportion to the
    share of its offtake that arrives after the shortfall.

    Parameters
    ----------
    allocated : DataFrame
        Demand split over substations (all variants).
    shortfall : DataFrame
        First shortfall per substation, variant, direction.
    variant : str
    years : sequence of int
    jobs : Series, optional
        Jobs per industrial-zone id.

    Returns
    -------
    DataFrame
        ``substation_id, layer, site_id, share, dwellings_waiting,
        jobs_waiting, offtake_mw_waiting, feedin_mw_waiting``; one row per
        site and short substation with something waiting.
    """
    cols = [F.SUBSTATION_ID, F.LAYER, F.SITE_ID, F.SHARE, "dwellings_waiting", "jobs_waiting", "offtake_mw_waiting",
            "feedin_mw_waiting"]
    fs = shortfall_by_substation(shortfall, variant)
    a = allocated[(allocated[F.VARIANT] == variant) & allocated[F.SUBSTATION_ID].notna()]
    a = a[a[F.SUBSTATION_ID].isin(fs.index)]
    if not len(a) or not len(fs):
        return pd.DataFrame({c: pd.Series(dtype=object if c in cols[:3] else float) for c in cols})
    last = int(years[-1])
    first = int(years[0])
    keys = [F.SUBSTATION_ID, F.LAYER, F.SITE_ID]
    vals = [F.OFFTAKE_MW, F.FEEDIN_MW, F.DWELLINGS_DELIVERED]
    wide = a.pivot_table(index=keys, columns=F.YEAR, values=vals, aggfunc="sum").sort_index()
    share = a.groupby(keys, sort=True)[F.SHARE].first().reindex(wide.index)

    def at(val: str, yr: pd.Series) -> np.ndarray:
        """Value of ``val`` at year ``yr`` per row (0 before the horizon)."""
        block = wide[val]
        cols_y = np.asarray(block.columns, dtype=int)
        arr = block.to_numpy(dtype=float)
        arr = np.nan_to_num(arr)
        idx = np.searchsorted(cols_y, yr.to_numpy(dtype=float), side="right") - 1
        out = np.where(idx >= 0, arr[np.arange(len(arr)), np.clip(idx, 0, None)], 0.0)
        return out

    sub = wide.index.get_level_values(F.SUBSTATION_ID)
    fs_off = pd.Series(fs["first_shortfall_offtake_year"].reindex(sub).to_numpy(), index=wide.index)
    fs_feed = pd.Series(fs["first_shortfall_feedin_year"].reindex(sub).to_numpy(), index=wide.index)
    end = pd.Series(float(last), index=wide.index)

    def grow(val: str, fsy: pd.Series) -> np.ndarray:
        has = fsy.notna().to_numpy()
        before = at(val, (fsy.fillna(first) - 1))
        g = at(val, end) - before
        return np.where(has, np.clip(g, 0.0, None), 0.0)

    off_w = grow(F.OFFTAKE_MW, fs_off)
    feed_w = grow(F.FEEDIN_MW, fs_feed)
    dw_w = grow(F.DWELLINGS_DELIVERED, fs_off)
    off_end = at(F.OFFTAKE_MW, end)
    job_w = np.zeros(len(wide))
    if jobs is not None and len(jobs):
        lay = wide.index.get_level_values(F.LAYER)
        sid = wide.index.get_level_values(F.SITE_ID)
        j = np.where(lay == "industrial_zones", jobs.reindex(sid).astype(float).fillna(0.0).to_numpy(), 0.0)
        frac = np.divide(off_w, off_end, out=np.zeros_like(off_w), where=off_end > _EPS)
        job_w = j * share.to_numpy(dtype=float) * np.clip(frac, 0.0, 1.0)
    out = pd.DataFrame({
        F.SHARE: share.to_numpy(dtype=float),
        "dwellings_waiting": dw_w,
        "jobs_waiting": job_w,
        "offtake_mw_waiting": off_w,
        "feedin_mw_waiting": feed_w,
    }, index=wide.index).reset_index()
    keep = (out[["dwellings_waiting", "jobs_waiting", "offtake_mw_waiting", "feedin_mw_waiting"]] > _EPS).any(axis=1)
    return out[keep][cols].reset_index(drop=True)


def _advance_planned(headroom: pd.DataFrame, reinforcements: pd.DataFrame, sid: str, variant: str,
                     first_short: int) -> tuple[int, float] | None:
    """A planned reinforcement after the first shortfall that ends the shortfall once in service."""
    if reinforcements is None or not len(reinforcements):
        return None
    r = reinforcements[(reinforcements[F.SUBSTATION_ID] == sid) & (reinforcements[F.YEAR] > first_short)]
    if not len(r):
        return None
    last_year = int(r[F.YEAR].max())
    h = headroom[(headroom[F.SUBSTATION_ID] == sid) & (headroom[F.VARIANT] == variant) & (headroom[F.YEAR] >= last_year)]
    if len(h) and not is_short(h[F.HEADROOM_MW]).any():
        return last_year, float(r[F.REINFORCEMENT_MVA].sum())
    return None


def interventions(result, variant: str, *, land_reserved: Iterable[str] = (), steps: pd.DataFrame | None = None,
                  land: pd.DataFrame | None = None) -> pd.DataFrame:
    """One intervention per substation that runs short within the horizon.

    Parameters
    ----------
    result : RunResult
    variant : str
    land_reserved : iterable of str
        Substations whose land (for a new station or the extension) is reserved:
        no site search in the lead time.
    steps, land : DataFrame, optional
        Transformer steps and land table (default: ``result.plan.reference``'s
        ``transformer_steps`` and ``substation_land``).

    Returns
    -------
    DataFrame
        Columns :data:`PROGRAMME_COLUMNS`, sorted by substation id.

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
    >>> p = interventions(r, "basis")
    >>> p.set_index("substation_id").loc["OS07", "intervention"]
    'advance_planned'
    """
    project = result.project
    params: ParameterSet = project.variants[variant]
    ref = result.plan.reference
    steps = ref.transformer_steps if steps is None else steps
    land = ref.substation_land if land is None else land
    reserved = set(land_reserved)
    years = project.years
    pf = float(params["grid.power_factor"]) or 1.0
    n1_min = float(params["grid.n1_min_kv"])
    feedin_n1 = bool(params["grid.feedin_n1"])
    max_units = int(params["programme.max_transformers_per_station"])
    new_units = int(params["programme.new_station_transformers"])
    ext_lead = float(params["programme.extension_lead_time_years"])
    search = float(params["programme.site_search_years"])
    build = float(params["programme.build_years"])

    subs = result.plan.layers["substations"].set_index("id")
    fs = shortfall_by_substation(result.shortfall, variant)
    short = fs[fs["first_shortfall_offtake_year"].notna() | fs["first_shortfall_feedin_year"].notna()]
    wait = waiting_demand(result.allocated, result.shortfall, variant, years, jobs=zone_jobs(result.plan.layers))
    wsum = wait.groupby(F.SUBSTATION_ID, sort=True)[["dwellings_waiting", "jobs_waiting", "offtake_mw_waiting",
                                                       "feedin_mw_waiting"]].sum()
    wn = wait.groupby(F.SUBSTATION_ID, sort=True).size()

    rows = []
    for sid, r in short.iterrows():
        s = subs.loc[sid]
        kv = max_kv(s.get("voltage_kv"))
        n = s.get("n_transformers")
        u = s.get("transformer_mva")
        published = pd.notna(s.get("firm_offtake_mva"))
        listed = list(transformer_units(s.get("transformer_units_mva"))) if "transformer_units_mva" in s else []
        if published:
            units = None
        elif listed:  # units of different sizes, as the layer lists them ('40;63')
            units = listed
        else:
            units = [float(u)] * int(n) if (pd.notna(n) and pd.notna(u)) else None
        fyears = [y for y in (r["first_shortfall_offtake_year"], r["first_shortfall_feedin_year"]) if pd.notna(y)]
        first = int(min(fyears))
        dirs = [d for d in F.DIRECTIONS if pd.notna(r[f"first_shortfall_{d}_year"])]
        need_off = r["shortfall_offtake_mw"] / pf
        need_feed = r["shortfall_feedin_mw"] / pf
        step_sizes = _steps_for(steps, kv)
        is_reserved = sid in reserved
        note = ""
        adv = _advance_planned(result.headroom, result.reinforcements, sid, variant, first)
        n_new = 0
        land_m2 = 0.0
        if adv is not None:
            kind = "advance_planned"
            step = f"advance planned +{adv[1]:g} MVA ({adv[0]})"
            added_inst, added_firm = 0.0, 0.0
            lead = ext_lead
            note = "the planned reinforcement ends the shortfall once in service"
        else:
            ext = size_extension(units=units, hv_kv=kv, need_offtake_mva=need_off, need_feedin_mva=need_feed,
                                 steps=step_sizes, max_units=max_units, n1_min_kv=n1_min, feedin_n1=feedin_n1)
            if ext is not None:
                k, size, g_off, g_feed = ext
                kind = "extension"
                step = f"+{k} x {size:g} MVA"
                added_inst = k * size
                added_firm = g_off if need_off > 0 or need_feed <= 0 else g_feed
                lead = ext_lead
                if units is None:
                    note = "transformer make-up unknown: each added unit counted at its full rating (assumption)"
            else:
                cnt, nu, size, f_off, f_feed = size_new_substation(
                    hv_kv=kv, need_offtake_mva=need_off, need_feedin_mva=need_feed, steps=step_sizes, n_units=new_units,
                    max_units=max_units, n1_min_kv=n1_min, feedin_n1=feedin_n1)
                kind = "new_substation"
                step = f"{cnt} x new station {nu} x {size:g} MVA" if cnt > 1 else f"new station {nu} x {size:g} MVA"
                n_new = cnt
                added_inst = cnt * nu * size
                added_firm = cnt * (f_off if need_off > 0 or need_feed <= 0 else f_feed)
                land_m2 = cnt * land_for(nu * size, land)
                lead = build + (0.0 if is_reserved else search)
                note = (f"the existing site holds at most {max_units} transformers; a split takes the load"
                        + ("; land reserved: no site search" if is_reserved else ""))
        lead_y = int(math.ceil(lead - _EPS))
        needed_by = first - lead_y
        rows.append({
            F.VARIANT: variant,
            F.SUBSTATION_ID: sid,
            "name": s.get("name") if isinstance(s.get("name"), str) else "",
            "intervention": kind,
            "transformer_step": step,
            "short_directions": "+".join(dirs),
            F.FIRST_SHORTFALL_YEAR: first,
            "shortfall_offtake_mw": float(r["shortfall_offtake_mw"]),
            "shortfall_feedin_mw": float(r["shortfall_feedin_mw"]),
            "need_mva": float(max(need_off, need_feed)),
            "added_installed_mva": float(added_inst),
            "added_firm_mva": float(added_firm),
            "n_new_stations": int(n_new),
            "land_m2": float(land_m2),
            "land_reserved": bool(is_reserved),
            "lead_time_years": lead_y,
            "needed_by_year": int(needed_by),
            "late_years": int(max(0, years[0] - needed_by)),
            "dwellings_waiting": float(wsum["dwellings_waiting"].get(sid, 0.0)),
            "jobs_waiting": float(wsum["jobs_waiting"].get(sid, 0.0)),
            "offtake_mw_waiting": float(wsum["offtake_mw_waiting"].get(sid, 0.0)),
            "feedin_mw_waiting": float(wsum["feedin_mw_waiting"].get(sid, 0.0)),
            "n_sites_waiting": int(wn.get(sid, 0)),
            "higher_level_id": s.get("higher_level_id") if isinstance(s.get("higher_level_id"), str) else None,
            "note": note,
        })
    out = pd.DataFrame(rows, columns=PROGRAMME_COLUMNS)
    return out.sort_values(F.SUBSTATION_ID, kind="stable").reset_index(drop=True)
