"""The programme for the other carriers' nodes: a larger connection or a new heat source.

Where a hydrogen or gas station, or a heat network, runs short within the
horizon (the carriers' shortfall table, :mod:`spatialprog.carriers`), the
programme proposes, in the node's own unit (``MW_H2``, ``MW_gas``, ``MWth``):

``advance_planned``
    Capacity already planned at the node comes after its first shortfall (a
    station not yet in service, a heat source that starts after the network's
    first dwellings), and once it is there the node fits again: bring it
    forward.
``larger_connection``
    Hydrogen and gas: raise the station's connection capacity by the largest
    shortfall of the horizon, rounded up to ``programme.node_step_mw.<carrier>``.
``new_source``
    Heat: a new source (or a larger one) of the largest shortfall, rounded up
    to ``programme.node_step_mw.heat``.

The start year is the first shortfall year minus
``programme.node_lead_time_years.<carrier>``, in the same words as the
substations' programme (:func:`spatialprog.programme.start_by_text`); what
waits on it comes from :func:`spatialprog.waiting.waiting_demand`, the same
queue as at a substation. The rows have the programme's columns
(:data:`spatialprog.programme.PROGRAMME_COLUMNS`, ``carrier`` and ``unit``
included); the transformer and land columns stay empty, ``added_capacity_mw``
is in the row's unit; the codes' Dutch names are in
:data:`spatialprog.programme.INTERVENTIONS_NL`. Pure: reads the run's tables, opens no files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fields as F
from .carriers import NODE_LAYERS, OTHER_CARRIERS, UNITS
from .headroom import is_short
from .params import ParameterSet
from .programme import PROGRAMME_COLUMNS, shortfall_by_substation, start_by_text, waiting_cells
from .waiting import waiting_demand, waiting_summary

__all__ = ["NODE_RANK_NOTE", "node_step_text", "node_interventions", "node_programme"]



#: how the nodes' rows are ordered (the weighing framework's criteria are the substations')
NODE_RANK_NOTE = ("gerangschikt op het jaar waarin de ingreep moet starten, dan het eerste tekortjaar en wat erop "
                  "wacht (de wegingscriteria gelden voor de onderstations)")


def _num(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def node_step_text(intervention: str, carrier: str, *, mw: float = 0.0, planned_year: int = 0,
                   first_shortfall_year: int = 0) -> str:
    """The node's intervention in Dutch words (the ``transformer_step`` cell of its row).

    Examples
    --------
    >>> node_step_text("larger_connection", "hydrogen", mw=10.0)
    'aansluitcapaciteit vergroten met 10 MW_H2'
    >>> node_step_text("new_source", "heat", mw=5.0)
    'nieuwe warmtebron van 5 MWth'
    >>> node_step_text("advance_planned", "heat", mw=15.0, planned_year=2029, first_shortfall_year=2027)
    'geplande capaciteit van 15 MWth vervroegen van 2029 naar 2027'
    """
    unit = UNITS[carrier]
    if intervention == "larger_connection":
        return f"aansluitcapaciteit vergroten met {_num(mw)} {unit}"
    if intervention == "new_source":
        return f"nieuwe warmtebron van {_num(mw)} {unit}"
    return f"geplande capaciteit van {_num(mw)} {unit} vervroegen van {planned_year} naar {first_shortfall_year}"


def _advance(h: pd.DataFrame, first: int) -> tuple[int, float] | None:
    """Capacity planned after ``first`` that ends the shortfall: ``(year it comes, MW it adds)``.

    ``h`` is one node's headroom rows (its offtake capacity by year; feed-in where it has no offtake rows).
    """
    years = h[F.YEAR].to_numpy(dtype=int)
    off = h[F.DIRECTION].to_numpy() == F.OFFTAKE
    use = off if off.any() else np.ones(len(h), dtype=bool)
    order = np.argsort(years[use], kind="stable")
    yy, cc = years[use][order], h[F.CAPACITY_MW].to_numpy(dtype=float)[use][order]
    later = yy > first
    before = float(cc[~later][-1]) if (~later).any() else 0.0
    ly, lc = yy[later], cc[later]
    if not (lc > before + 1e-9).any():
        return None
    # the last year capacity rises; from then on no year may be short
    steps = np.diff(lc, prepend=before)
    last = int(ly[steps > 1e-9].max())
    rest = years >= last
    if rest.any() and not is_short(h[F.HEADROOM_MW].to_numpy(dtype=float)[rest]).any():
        return last, float(cc[yy == last][0] - before)
    return None


def _with_heat_dwellings(alloc: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Heat rows carrying the dwellings on the network (held by the site's electricity rows), times the share.

    The demand table counts a dwelling once, on its electricity row; what waits
    on a heat network are the dwellings that take their heat from it.
    """
    keys = [F.VARIANT, F.LAYER, F.SITE_ID, F.YEAR]
    if F.VARIANT not in demand:
        return alloc
    # only the rows of the sites on a network (a few of a national plan's): the filter first, the grouping after
    el = demand[demand[F.SITE_ID].isin(alloc[F.SITE_ID].unique()).to_numpy()]
    el = el[(el[F.CARRIER] == F.ELECTRICITY).to_numpy() & el[F.VARIANT].isin(alloc[F.VARIANT].unique()).to_numpy()]
    on = el.groupby(keys, sort=False)[F.DWELLINGS_ON_HEAT_NETWORK].sum().rename("_on")
    out = alloc.join(on, on=keys)
    out[F.DWELLINGS_DELIVERED] = out["_on"].fillna(0.0) * out[F.SHARE]
    return out.drop(columns="_on")


def node_interventions(result, variant: str, carrier: str, *, waiting: pd.DataFrame | None = None) -> pd.DataFrame:
    """One intervention per node of ``carrier`` that runs short within the horizon.

    Parameters
    ----------
    result : RunResult
    variant : str
    carrier : str
        ``hydrogen``, ``heat`` or ``gas``.
    waiting : DataFrame, optional
        :func:`spatialprog.waiting.waiting_demand` of this carrier and variant.

    Returns
    -------
    DataFrame
        :data:`~spatialprog.programme.PROGRAMME_COLUMNS` (``added_capacity_mw``
        in ``unit``; the transformer columns NaN), sorted by node id.

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
    >>> p = node_interventions(r, "basis", "heat").set_index("substation_id")
    >>> p.loc["WN02", ["intervention", "transformer_step", "start_by"]].tolist()
    ['advance_planned', 'geplande capaciteit van 15 MWth vervroegen van 2029 naar 2027', 'te laat: had in 2023 moeten starten']
    """
    cols = PROGRAMME_COLUMNS
    head = result.carrier_headroom
    short_tab = result.carrier_shortfall
    if not len(head) or not len(short_tab):
        return pd.DataFrame(columns=cols)
    head = head[(head[F.CARRIER] == carrier) & (head[F.VARIANT] == variant)]
    short_tab = short_tab[short_tab[F.CARRIER] == carrier]
    fs = shortfall_by_substation(short_tab, variant)
    if not len(fs):
        return pd.DataFrame(columns=cols)
    project = result.project
    params: ParameterSet = project.variants[variant]
    step_mw = float(params[f"programme.node_step_mw.{carrier}"])
    lead = int(math.ceil(float(params[f"programme.node_lead_time_years.{carrier}"]) - 1e-9))
    nodes = result.plan.layers.get(NODE_LAYERS[carrier])
    names = (dict(zip(nodes["id"].astype(str), nodes["name"], strict=True))
             if nodes is not None and "name" in nodes else {})
    if waiting is None:
        alloc = result.carrier_allocated
        alloc = alloc[(alloc[F.CARRIER] == carrier) & (alloc[F.VARIANT] == variant)] if len(alloc) else alloc
        if carrier == "heat" and len(alloc):
            alloc = _with_heat_dwellings(alloc, result.demand)
        waiting = waiting_demand(head, alloc, variant) if len(alloc) else None
    wait = waiting_summary(waiting) if waiting is not None and len(waiting) else pd.DataFrame()
    per_node = dict(tuple(head.groupby(F.SUBSTATION_ID, sort=False)))  # once, not a filter per node
    rows = []
    for nid, r in fs.iterrows():
        fyears = [y for y in (r["first_shortfall_offtake_year"], r["first_shortfall_feedin_year"]) if pd.notna(y)]
        if not fyears:
            continue
        first = int(min(fyears))
        dirs = [d for d in F.DIRECTIONS if pd.notna(r[f"first_shortfall_{d}_year"])]
        need = float(max(r["shortfall_offtake_mw"], r["shortfall_feedin_mw"]))
        adv = _advance(per_node.get(nid, head.iloc[:0]), first)
        if adv is not None:
            kind = "advance_planned"
            added = adv[1]
            step = node_step_text(kind, carrier, mw=added, planned_year=adv[0], first_shortfall_year=first)
            note = "de geplande capaciteit heft het tekort op zodra ze er is"
        else:
            kind = "new_source" if carrier == "heat" else "larger_connection"
            added = math.ceil(need / step_mw - 1e-9) * step_mw if step_mw > 0 else need
            step = node_step_text(kind, carrier, mw=added)
            note = (f"het grootste tekort van de horizon ({_num(round(need, 1))} {UNITS[carrier]}), naar boven "
                    f"afgerond op stappen van {_num(step_mw)} {UNITS[carrier]}")
        needed_by = first - lead
        name = names.get(nid)
        rows.append({
            F.VARIANT: variant, F.SUBSTATION_ID: nid, "name": name if isinstance(name, str) else "",
            "intervention": kind, "transformer_step": step, "short_directions": "+".join(dirs),
            F.FIRST_SHORTFALL_YEAR: first,
            "shortfall_offtake_mw": float(r["shortfall_offtake_mw"]),
            "shortfall_feedin_mw": float(r["shortfall_feedin_mw"]),
            "need_mva": np.nan, "added_installed_mva": np.nan, "added_firm_mva": np.nan,
            "n_new_stations": 0, "land_m2": 0.0, "land_reserved": False,
            "lead_time_years": lead, "needed_by_year": int(needed_by),
            "late_years": int(max(0, project.base_year - needed_by)),
            "start_by": start_by_text(needed_by, project.base_year),
            **waiting_cells(wait, nid, first),
            "higher_level_id": None, "note": note,
            F.CARRIER: carrier, F.UNIT: UNITS[carrier], "added_capacity_mw": float(added),
        })
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(F.SUBSTATION_ID, kind="stable").reset_index(drop=True)


def node_programme(result, variant: str) -> list[pd.DataFrame]:
    """The ranked programme of every other carrier of ``variant``, one frame per carrier that has one.

    Within a carrier the rows are ranked by the year the intervention must
    start, then the first shortfall year, then the demand waiting (most
    first), then the id (``programme_rank`` from 1); ``score`` is empty and
    ``explanation`` says how they were ordered (:data:`NODE_RANK_NOTE`).
    """
    out = []
    for carrier in OTHER_CARRIERS:
        p = node_interventions(result, variant, carrier)
        if not len(p):
            continue
        p = p.assign(_w=-p["offtake_mw_waiting"] - p["feedin_mw_waiting"]).sort_values(
            ["needed_by_year", F.FIRST_SHORTFALL_YEAR, "_w", F.SUBSTATION_ID], kind="stable").drop(columns="_w")
        p = p.reset_index(drop=True)
        p.insert(1, "programme_rank", np.arange(1, len(p) + 1))
        out.append(p.assign(score=np.nan, explanation=NODE_RANK_NOTE))
    return out
