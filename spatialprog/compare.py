"""Development variants side by side: headroom per variant and carrier, deltas, what each variant does, no-regret.

:func:`compare_variants` turns the long headroom table (all variants) into one
row per substation, year and direction with the headroom of every variant and
its difference from the base variant. :func:`no_regret` reads the programme of
every variant: an intervention needed in every variant is *no-regret* (start
it now, at least at the size all variants need); one needed in only some
depends on which future unfolds. A substation is short where
:func:`spatialprog.headroom.is_short` says so (0 MW headroom included).

Examples
--------
>>> h = pd.DataFrame({"substation_id": ["A"] * 2, "year": [2030] * 2, "direction": ["offtake"] * 2,
...                   "variant": ["basis", "hoog"], "headroom_mw": [5.0, -2.0], "status": ["ruimte", "congestie"]})
>>> compare_variants(h)[["headroom_mw_basis", "headroom_mw_hoog", "delta_mw_hoog"]].values.tolist()
[[5.0, -2.0, -7.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import fields as F
from .carriers import CARRIERS, UNITS
from .config import BASE_VARIANT
from .headroom import is_short

__all__ = ["compare_variants", "no_regret", "variant_summary"]

_KEYS = [F.SUBSTATION_ID, F.YEAR, F.DIRECTION]


def compare_variants(headroom: pd.DataFrame, *, base: str = BASE_VARIANT) -> pd.DataFrame:
    """Headroom per variant per substation, year and direction, with deltas to the base.

    Parameters
    ----------
    headroom : DataFrame
        The long headroom table of all variants; with a ``carrier`` column
        (every carrier's rows) each carrier's stations are compared apart.
    base : str
        The variant the deltas are taken against (default ``basis``; the first
        variant present when the base is absent).

    Returns
    -------
    DataFrame
        ``[carrier, unit,] substation_id, year, direction``, ``headroom_mw_<v>`` and
        ``status_<v>`` per variant, ``delta_mw_<v>`` per non-base variant
        (variant minus base), ``min_headroom_mw``, ``spread_mw`` (max - min
        over the variants), ``n_variants_short`` and ``variants_differ``.
    """
    variants = list(dict.fromkeys(headroom[F.VARIANT]))
    if base not in variants and variants:
        base = variants[0]
    keys = [F.CARRIER, *_KEYS] if F.CARRIER in headroom else _KEYS
    hw = headroom.pivot_table(index=keys, columns=F.VARIANT, values=F.HEADROOM_MW, aggfunc="first")
    out = pd.DataFrame(index=hw.index)
    for v in variants:
        out[f"headroom_mw_{v}"] = hw[v]
    if F.STATUS in headroom:
        sw = headroom.pivot_table(index=keys, columns=F.VARIANT, values=F.STATUS, aggfunc="first")
        for v in variants:
            out[f"status_{v}"] = sw[v].reindex(out.index)
    for v in variants:
        if v != base:
            out[f"delta_mw_{v}"] = hw[v] - hw[base]
    vals = hw[variants]
    out["min_headroom_mw"] = vals.min(axis=1)
    out["spread_mw"] = vals.max(axis=1) - vals.min(axis=1)
    out["n_variants_short"] = is_short(vals).sum(axis=1).astype(int)
    out["variants_differ"] = out["spread_mw"] > 1e-6
    order = {F.DIRECTION: {d: i for i, d in enumerate(F.DIRECTIONS)}, F.CARRIER: {c: i for i, c in enumerate(CARRIERS)}}
    out = out.reset_index()
    if F.CARRIER in out:
        units = headroom.groupby(F.CARRIER)[F.UNIT].first() if F.UNIT in headroom else pd.Series(UNITS)
        out.insert(1, F.UNIT, out[F.CARRIER].map(units))
    out = out.sort_values(keys, key=lambda s: s.map(order[s.name]) if s.name in order else s, kind="stable")
    return out.reset_index(drop=True)


def _start_by(g: pd.DataFrame) -> list[str]:
    """The programme's start-by words (``start_by``), or the needed-by year in the same words."""
    if "start_by" in g:
        return g["start_by"].astype(str).tolist()
    return [f"start uiterlijk {int(y)}" for y in g["needed_by_year"]]


def no_regret(programme: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """Which interventions appear in every variant (no-regret) and which in only some.

    Parameters
    ----------
    programme : DataFrame
        Interventions of all variants (``variant, substation_id,
        intervention, transformer_step, added_firm_mva, needed_by_year``).
    variants : sequence of str
        All variants that were run (an intervention absent from one of them is
        not no-regret).

    Returns
    -------
    DataFrame
        Per carrier and station (substation, or another carrier's node:
        ``carrier``, ``unit``; electricity where the programme has no
        ``carrier``): ``regret_class`` (``no_regret`` / ``variant_dependent``),
        ``n_variants``, ``variants`` (``;``-joined), ``same_intervention``
        (same kind and step in every variant that has it),
        ``no_regret_firm_mva`` (the size every variant needs: the minimum,
        0 where not no-regret), ``max_firm_mva``, ``no_regret_capacity_mw``
        (the same in the row's unit, from ``added_capacity_mw``),
        ``earliest_needed_by_year``,
        ``latest_needed_by_year`` and ``per_variant`` (Dutch text: the step
        and the start-by words of every variant).

    Examples
    --------
    >>> p = pd.DataFrame({"variant": ["basis", "hoog", "hoog"], "substation_id": ["A", "A", "B"],
    ...                   "intervention": ["extension"] * 3, "transformer_step": ["+1 x 40 MVA"] * 3,
    ...                   "added_firm_mva": [40.0, 40.0, 40.0], "needed_by_year": [2027, 2026, 2033]})
    >>> no_regret(p, ["basis", "hoog"])[["substation_id", "regret_class"]].values.tolist()
    [['A', 'no_regret'], ['B', 'variant_dependent']]
    """
    cols = [F.CARRIER, F.UNIT, F.SUBSTATION_ID, "regret_class", "n_variants", "n_variants_run", "variants",
            "same_intervention", "no_regret_firm_mva", "max_firm_mva", "no_regret_capacity_mw",
            "earliest_needed_by_year", "latest_needed_by_year", "per_variant"]
    if programme is None or not len(programme):
        return pd.DataFrame(columns=cols)
    order = {v: i for i, v in enumerate(variants)}
    cap = "added_capacity_mw" if "added_capacity_mw" in programme else "added_firm_mva"
    rows = []
    if F.CARRIER not in programme:
        programme = programme.assign(**{F.CARRIER: F.ELECTRICITY})
    carrier_order = {c: i for i, c in enumerate(CARRIERS)}
    # per carrier and station (carriers in their order, then station, as groupby's sorted keys), the variants in
    # the order run: one sort, then plain lists per station (a national programme has a thousand stations)
    p = programme[programme[F.CARRIER].notna().to_numpy() & programme[F.SUBSTATION_ID].notna().to_numpy()]
    p = p.assign(_c=p[F.CARRIER].map(carrier_order).fillna(99), _o=p[F.VARIANT].map(order))
    p = p.sort_values(["_c", F.SUBSTATION_ID, F.CARRIER, "_o"], kind="stable")
    car, sub, var = p[F.CARRIER].tolist(), p[F.SUBSTATION_ID].tolist(), p[F.VARIANT].tolist()
    kind, step = p["intervention"].tolist(), p["transformer_step"].tolist()
    unit = p[F.UNIT].tolist() if F.UNIT in p else None
    firm, capv = p["added_firm_mva"].to_numpy(dtype=float), p[cap].to_numpy(dtype=float)
    need, start_by = p["needed_by_year"].to_numpy(), _start_by(p)
    bounds = [i for i in range(1, len(p)) if car[i] != car[i - 1] or sub[i] != sub[i - 1]]
    for a, b in zip([0, *bounds], [*bounds, len(p)], strict=True):
        vs = var[a:b]
        every = set(variants) <= set(vs)
        rows.append({
            F.CARRIER: car[a],
            F.UNIT: unit[a] if unit is not None else UNITS.get(car[a], ""),
            F.SUBSTATION_ID: sub[a],
            "regret_class": "no_regret" if every else "variant_dependent",
            "n_variants": len(vs),
            "n_variants_run": len(variants),
            "variants": ";".join(vs),
            "same_intervention": len(set(zip(kind[a:b], step[a:b], strict=True))) == 1,
            "no_regret_firm_mva": float(np.fmin.reduce(firm[a:b])) if every else 0.0,
            "max_firm_mva": float(np.fmax.reduce(firm[a:b])),
            "no_regret_capacity_mw": float(np.fmin.reduce(capv[a:b])) if every else 0.0,
            "earliest_needed_by_year": int(np.fmin.reduce(need[a:b])),
            "latest_needed_by_year": int(np.fmax.reduce(need[a:b])),
            "per_variant": "; ".join(f"{v}: {s}, {st}" for v, s, st in
                                     zip(vs, step[a:b], start_by[a:b], strict=True)),
        })
    out = pd.DataFrame(rows, columns=cols)
    cls_order = {"no_regret": 0, "variant_dependent": 1}
    return out.sort_values(["regret_class", F.CARRIER, "earliest_needed_by_year", F.SUBSTATION_ID],
                           key=lambda s: s.map(cls_order) if s.name == "regret_class" else
                           s.map(carrier_order) if s.name == F.CARRIER else s,
                           kind="stable").reset_index(drop=True)


def variant_summary(comparison: pd.DataFrame, programme: pd.DataFrame | None = None, *,
                    base: str = BASE_VARIANT) -> pd.DataFrame:
    """What each variant does, per carrier and direction: stations short, first shortfall, programme.

    Parameters
    ----------
    comparison : DataFrame
        :func:`compare_variants` (with ``carrier`` for every carrier, or the
        electricity grid's alone).
    programme : DataFrame, optional
        The ranked programme of all variants: adds the interventions that
        answer a shortfall in that direction.
    base : str
        The variant the deltas are taken against.

    Returns
    -------
    DataFrame
        Per ``variant, carrier, unit, direction``: ``n_stations``,
        ``n_station_years_short``, ``n_stations_short``,
        ``first_shortfall_year`` (the earliest of any station; empty when
        none is short), ``min_headroom_mw`` (in ``unit``),
        ``delta_n_stations_short`` and ``delta_min_headroom_mw`` (variant
        minus base); with a programme ``n_interventions``,
        ``added_capacity_mw`` and ``land_m2``. Figures of different carriers
        are in different rows, never summed.

    Examples
    --------
    >>> h = pd.DataFrame({"carrier": "electricity", "unit": "MWe", "substation_id": ["A"] * 4,
    ...                   "year": [2030, 2031] * 2, "direction": "offtake",
    ...                   "variant": ["basis", "basis", "hoog", "hoog"], "headroom_mw": [5.0, 1.0, -2.0, -3.0]})
    >>> s = variant_summary(compare_variants(h))
    >>> s[["variant", "n_stations_short", "first_shortfall_year", "delta_min_headroom_mw"]].values.tolist()
    [['basis', 0, nan, 0.0], ['hoog', 1, 2030.0, -4.0]]
    """
    comp = comparison if F.CARRIER in comparison else comparison.assign(**{F.CARRIER: F.ELECTRICITY, F.UNIT: "MWe"})
    if F.UNIT not in comp:
        comp = comp.assign(**{F.UNIT: comp[F.CARRIER].map(UNITS)})
    variants = [c.removeprefix("headroom_mw_") for c in comp.columns if c.startswith("headroom_mw_")]
    if base not in variants and variants:
        base = variants[0]
    rows = []
    for (carrier, d), g in comp.groupby([F.CARRIER, F.DIRECTION], sort=False):
        for v in variants:
            col = g[f"headroom_mw_{v}"]
            short = is_short(col).to_numpy()
            years = g.loc[short, F.YEAR]
            row = {F.VARIANT: v, F.CARRIER: carrier, F.UNIT: g[F.UNIT].iat[0], F.DIRECTION: d,
                   "n_stations": int(g.loc[col.notna(), F.SUBSTATION_ID].nunique()),
                   "n_station_years_short": int(short.sum()),
                   "n_stations_short": int(g.loc[short, F.SUBSTATION_ID].nunique()),
                   F.FIRST_SHORTFALL_YEAR: float(years.min()) if len(years) else np.nan,
                   "min_headroom_mw": float(np.nanmin(col)) if col.notna().any() else np.nan}
            if programme is not None:
                p = programme[(programme[F.VARIANT] == v)
                              & ((programme[F.CARRIER] if F.CARRIER in programme else F.ELECTRICITY) == carrier)]
                p = p.loc[p["short_directions"].astype(str).str.split("+").map(lambda ds, d=d: d in ds).astype(bool)]
                cap = "added_capacity_mw" if "added_capacity_mw" in p else "added_firm_mva"
                row.update({"n_interventions": len(p), "added_capacity_mw": float(p[cap].fillna(0.0).sum()),
                            "land_m2": float(p["land_m2"].fillna(0.0).sum()) if "land_m2" in p else 0.0})
            rows.append(row)
    out = pd.DataFrame(rows)
    if not len(out):
        return out
    at_base = out[out[F.VARIANT] == base].set_index([F.CARRIER, F.DIRECTION])
    key = pd.MultiIndex.from_frame(out[[F.CARRIER, F.DIRECTION]])
    out.insert(out.columns.get_loc("min_headroom_mw") + 1, "delta_n_stations_short",
               out["n_stations_short"].to_numpy() - at_base["n_stations_short"].reindex(key).to_numpy())
    out.insert(out.columns.get_loc("delta_n_stations_short") + 1, "delta_min_headroom_mw",
               out["min_headroom_mw"].to_numpy() - at_base["min_headroom_mw"].reindex(key).to_numpy())
    order = {F.VARIANT: {v: i for i, v in enumerate(variants)}, F.CARRIER: {c: i for i, c in enumerate(CARRIERS)},
             F.DIRECTION: {d: i for i, d in enumerate(F.DIRECTIONS)}}
    out = out.sort_values([F.VARIANT, F.CARRIER, F.DIRECTION], key=lambda s: s.map(order[s.name]), kind="stable")
    return out.reset_index(drop=True)
