"""check-site = run with the site added: the site's demand, assignment, headroom and conflicts.

Every number of a check comes from the functions the run uses:

* demand: the site's kind's own demand function from the registry
  (:attr:`spatialprog.kinds.LayerKind.demand`, the same one
  :func:`spatialprog.demand.site_demand` calls), with the plan's layers (heat
  networks shape a housing site's demand);
* assignment and split: :func:`spatialprog.network.assign_sites` and
  :func:`spatialprog.network.allocate`, summed per substation by
  :func:`spatialprog.headroom.new_load`;
* headroom: the run's :class:`~spatialprog.headroom.GridState` with the site
  added (:meth:`~spatialprog.headroom.GridState.with_new`), shortness by
  :func:`spatialprog.headroom.is_short`, status by
  :func:`spatialprog.headroom.classify_status`;
* land-claim conflicts: :func:`spatialprog.pipeline.land_claim_conflicts` on
  the plan's claims and constraint layers near the site plus the site, with
  the project's rules and overrides (``plan.reference.conflict_rules``).

tests/test_sitecheck_engine.py checks, for random sites, that the answer
equals a full run with the site added to its layer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import fields as F
from ..carriers import OTHER_CARRIERS, UNITS, carrier_assignment
from ..config import BASE_VARIANT
from ..conflicts import SEVERITY_RANK, constraint_margin_m
from ..demand import demand_points, non_firm
from ..errors import NoticeLog
from ..headroom import is_short, new_load
from ..kinds import LAYER_KINDS, claim_kinds, kinds_with_role
from ..network import allocate, assign_sites
from ..params import ParameterSet
from ..pipeline import Plan, land_claim_conflicts
from .baseline import Baseline
from .judge import N_ALTERNATIVES, connections, horizon_alternatives, judge, primary_direction
from .near import grow_box
from .result import SiteCheck, Verdict, project_info, round_json
from .wording import summaries

__all__ = ["SiteEntry", "make_entry", "evaluate", "site_conflicts", "N_ALTERNATIVES", "N_CANDIDATES"]

N_CANDIDATES = 10  # nearest non-serving substations considered as alternatives
TOUCH_M2 = 0.01

_r = round_json


@dataclass
class SiteEntry:
    """One site in a session: its demand split over substations, per variant."""

    sid: str
    kind: str
    frame: gpd.GeoDataFrame  # 1 row, validated
    order: int
    rid: int
    assignment: pd.DataFrame
    sub_idx: np.ndarray  # serving substations (positions in the baseline)
    alloc: dict[str, dict[str, np.ndarray]]  # variant -> direction -> (len(sub_idx), n_years) MW
    total: dict[str, dict[str, np.ndarray]]  # variant -> direction -> (n_years,) MW of the whole site
    footprint: tuple[float, float, float, float]
    notices: list[str]
    #: per other carrier, each keyed by variant then direction: ``ids`` (the serving nodes), ``share``,
    #: ``alloc`` ((n_nodes, n_years) MW) and ``total`` ((n_years,) MW of the whole site)
    carriers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def geometry(self):
        return self.frame.geometry.iloc[0]


def make_entry(base: Baseline, kind: str, frame: gpd.GeoDataFrame, order: int, rid: int) -> SiteEntry:
    """The site's demand per variant, assigned and split over its substations by the run's own functions."""
    log = NoticeLog()
    lk = LAYER_KINDS[kind]
    years = base.years
    sid = str(frame["id"].iloc[0])
    points = demand_points({kind: frame}, kinds={kind: lk}, notices=log)
    if len(base.substations):
        head = BASE_VARIANT if BASE_VARIANT in base.project.variants else base.variants[0]
        asg = assign_sites(points, base.substations, base.service_areas, method=base.method,
                           max_distance_m=float(base.params(head)["assignment.max_distance_m"]),
                           outside=base.project.assignment.outside, notices=log)
    else:
        asg = pd.DataFrame({F.LAYER: [kind], F.SITE_ID: [sid], F.SUBSTATION_ID: [None], F.SHARE: [1.0],
                            F.METHOD: ["unassigned"], F.DIST_M: [np.nan]})
    served_ids = serving_table(asg)[F.SUBSTATION_ID].tolist()
    sub_idx = np.array([base.pos[s] for s in served_ids], dtype=int)
    alloc: dict[str, dict[str, np.ndarray]] = {}
    total: dict[str, dict[str, np.ndarray]] = {}
    others: dict[str, dict[str, Any]] = {}
    for v in base.variants:
        every = non_firm(lk.demand(frame, base.params(v), list(years), layers=base.layers), frame)
        d = every[every[F.CARRIER] == F.ELECTRICITY]  # the substations' carrier (the run's own split, pipeline.compute)
        alloc[v] = new_load(allocate(d, asg), served_ids, years)
        total[v] = _totals(d, years)
        for carrier in OTHER_CARRIERS:  # the other carriers go to their own nodes (carriers.carrier_results)
            dc = every[every[F.CARRIER] == carrier]
            if not len(dc) or not (dc[[F.OFFTAKE_MW, F.FEEDIN_MW]].to_numpy() != 0).any():
                continue
            part = others.setdefault(carrier, {"ids": {}, "share": {}, "alloc": {}, "total": {}})
            part["total"][v] = _totals(dc, years)
            part["alloc"][v], part["ids"][v], part["share"][v] = {}, {}, {}
            held = base.carriers.get(carrier)
            for direction, other in ((F.OFFTAKE, F.FEEDIN_MW), (F.FEEDIN, F.OFFTAKE_MW)):
                if held is None or not part["total"][v][direction].any():
                    part["ids"][v][direction], part["share"][v][direction] = [], []
                    part["alloc"][v][direction] = np.zeros((0, len(years)))
                    continue
                nodes = held[0].serving(direction)
                a = carrier_assignment(points, nodes, base.layers, base.params(v), notices=log)
                got = serving_table(a)
                part["ids"][v][direction] = ids = got[F.SUBSTATION_ID].tolist()
                part["share"][v][direction] = got[F.SHARE].tolist()
                part["alloc"][v][direction] = new_load(allocate(dc.assign(**{other: 0.0}), a), ids, years)[direction]
    geom = frame.geometry.iloc[0]
    b = shapely.bounds(geom)
    if len(sub_idx):
        xy = base.sub_xy[sub_idx]
        b = (min(b[0], xy[:, 0].min()), min(b[1], xy[:, 1].min()), max(b[2], xy[:, 0].max()), max(b[3], xy[:, 1].max()))
    msgs = [f"{n.message}" + (f" - {n.fix}" if n.fix else "") for n in log if n.level == "warning"]
    return SiteEntry(sid=sid, kind=kind, frame=frame, order=order, rid=rid, assignment=asg, sub_idx=sub_idx,
                     alloc=alloc, total=total, footprint=tuple(float(x) for x in b), notices=msgs, carriers=others)


def _totals(d: pd.DataFrame, years: np.ndarray) -> dict[str, np.ndarray]:
    """The whole site's MW per direction and year (any carrier)."""
    by_year = d.groupby(F.YEAR)[[F.OFFTAKE_MW, F.FEEDIN_MW]].sum().reindex(years, fill_value=0.0)
    return {F.OFFTAKE: by_year[F.OFFTAKE_MW].to_numpy(dtype=float),
            F.FEEDIN: by_year[F.FEEDIN_MW].to_numpy(dtype=float)}


def serving_table(assignment: pd.DataFrame) -> pd.DataFrame:
    """The substations serving a site, one row each, from its assignment rows.

    A substation can serve a site twice: by its service area and, for the part
    outside every area, as the nearest substation. The run sums both in the
    headroom; the check shows the substation once, with the summed share.
    """
    a = assignment[assignment[F.SUBSTATION_ID].notna()]
    return (a.groupby(F.SUBSTATION_ID, sort=False)
            .agg(**{F.SHARE: (F.SHARE, "sum"), F.METHOD: (F.METHOD, lambda m: "+".join(dict.fromkeys(m))),
                    F.DIST_M: (F.DIST_M, "min")})
            .reset_index())


def assumptions(kind: str, frame: gpd.GeoDataFrame, params: ParameterSet) -> list[dict[str, Any]]:
    """The parameters that made the site's demand (its kind says which), with unit and source."""
    opts = LAYER_KINDS[kind].check
    keys = list(opts.assumptions(frame.iloc[0])) if opts is not None and opts.assumptions is not None else []
    keys += ["growth.offtake_pct_per_year", "grid.power_factor"]
    out = []
    for k in keys:
        try:
            p = params.describe(k)
        except KeyError:
            continue
        out.append({"key": k, "value": p.value, "unit": p.unit, "source": p.source, "origin": p.origin})
    return out


def site_name(frame: gpd.GeoDataFrame) -> str | None:
    """The site's name, if it has one."""
    if "name" in frame and pd.notna(frame["name"].iloc[0]):
        return str(frame["name"].iloc[0])
    return None


def overlaps_existing(base: Baseline, e: SiteEntry) -> list[dict[str, Any]]:
    """Plans of the baseline (polygonal site layers) that share area with the site."""
    g = e.geometry
    if shapely.area(g) <= 0:
        return []
    out = []
    for lk in kinds_with_role("site"):
        tree = base.tree(lk.name) if lk.is_polygonal else None
        if tree is None:
            continue
        df = base.layers[lk.name]
        idx = tree.query(g, predicate="intersects")
        if not len(idx):
            continue
        a = shapely.area(shapely.intersection(g, np.asarray(df.geometry.values)[idx]))
        for i, ai in zip(idx, a, strict=True):
            if ai > TOUCH_M2:
                out.append({"layer": lk.name, "id": str(df["id"].iloc[i]),
                            "name": str(df["name"].iloc[i]) if "name" in df and pd.notna(df["name"].iloc[i]) else None,
                            "area_m2": _r(ai, 1), "share_of_site": _r(ai / shapely.area(g), 4)})
    return out


def _near(df: gpd.GeoDataFrame, box: shapely.Geometry) -> gpd.GeoDataFrame:
    return df.iloc[np.sort(df.sindex.query(box, predicate="intersects"))] if len(df) else df


def site_conflicts(base: Baseline, e: SiteEntry) -> dict[str, Any]:
    """The land-claim conflicts of the site: the run's conflicts engine on the plan with the site added.

    Only features within the largest rule distance of the site can be in a
    conflict with it, so the plan's claims and constraint layers are cut to
    that box first; the rules, overrides and substation capacities are the
    run's (:func:`spatialprog.pipeline.land_claim_conflicts`).
    """
    if not base.project.conflicts.enabled:
        return {"available": False, "message": "land-claim conflicts are switched off in this project "
                "([conflicts] enabled = false)", "items": []}
    rules = base.plan.reference.conflict_rules
    box = shapely.box(*grow_box(shapely.bounds(e.geometry), constraint_margin_m(rules)))
    claims = set(claim_kinds())
    layers = {k: _near(df, box) for k, df in base.layers.items() if k in claims}
    constraints = {k: _near(df, box) for k, df in base.plan.constraints.items()}
    new_id = e.sid
    mine = e.frame.copy()
    existing = layers.get(e.kind)
    if existing is not None and (existing["id"].astype(str) == new_id).any():
        new_id = f"{e.sid} (nieuw)"
        mine["id"] = new_id
    layers[e.kind] = (pd.concat([existing, mine], ignore_index=True) if existing is not None and len(existing)
                      else mine.reset_index(drop=True))
    plan = Plan(project=base.project, layers=layers, constraints=constraints, reference=base.plan.reference,
                choices=base.plan.choices)
    c = land_claim_conflicts(plan).conflicts
    mine_a = (c["layer_a"] == e.kind) & (c["id_a"].astype(str) == new_id)
    mine_b = (c["layer_b"] == e.kind) & (c["id_b"].astype(str) == new_id)
    items = []
    for r in c[mine_a | mine_b].itertuples(index=False):
        other_is_b = r.layer_a == e.kind and str(r.id_a) == new_id
        items.append({
            "rule_id": r.rule_id, "kind": r.kind, "severity": r.severity, "description_nl": r.description_nl,
            "other_layer": r.layer_b if other_is_b else r.layer_a,
            "other_id": str(r.id_b if other_is_b else r.id_a),
            "area_m2": _r(r.area_m2, 1), "dist_m": _r(r.dist_m, 1),
        })
    items.sort(key=lambda d: (-SEVERITY_RANK.get(d["severity"], 0), d["rule_id"], d["other_id"]))
    n = len(items)
    return {"available": True, "message": f"{n} conflict{'s' if n != 1 else ''} with the land-claim rules",
            "items": items}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return int(v) if float(v).is_integer() else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v if isinstance(v, int | str | bool) else str(v)


#: the process-heat choices a business park can ask about, and the carrier each one draws
PROCESS_HEAT_OPTIONS = {"electric": F.ELECTRICITY, "hydrogen": "hydrogen", "gas": "gas"}
_BADNESS = {"outside": 4, "does_not_fit": 3, "fits_from": 2, "fits": 1, "after_horizon": 0}


def _combined(parts: Sequence[dict[str, Any]], variant: str) -> dict[str, Any]:
    """The verdict of an option that needs all of ``parts`` (verdict dicts): the worst, the latest year."""
    judged = [p for p in parts if p["key"] != "after_horizon"] or list(parts)
    worst = max(judged, key=lambda p: _BADNESS[p["key"]])
    if worst["key"] == "fits_from":
        return Verdict.make("fits_from", max(p["year"] for p in judged if p["key"] == "fits_from"), variant).to_dict()
    return worst


def process_heat_options(session: Any, e: SiteEntry, variant: str) -> list[dict[str, Any]]:
    """For a business park with process heat: does it fit with electric, hydrogen or gas process heat, from when?

    Each option is the same site with its ``process_heat_carrier`` set, made
    and judged by the same functions as the site itself (:func:`make_entry`,
    :func:`judge`, :func:`connections`): its electricity offtake at its
    substations and the option's carrier at that carrier's nodes. An option
    fits from the year both fit. Empty for other kinds, or where the choice
    changes nothing (no process heat).
    """
    frame = e.frame
    if "process_heat_carrier" not in LAYER_KINDS[e.kind].column_names:
        return []
    base: Baseline = session.baseline
    out, seen = [], set()
    for option, carrier in PROCESS_HEAT_OPTIONS.items():
        f = frame.copy()
        f["process_heat_carrier"] = option
        f.attrs = dict(frame.attrs)
        alt = make_entry(base, e.kind, f, e.order, -1)
        fingerprint = tuple(np.round(np.concatenate(
            [alt.total[variant][d] for d in F.DIRECTIONS]
            + [p["total"][variant][d] for c in sorted(alt.carriers) for p in [alt.carriers[c]] if variant in p["total"]
               for d in F.DIRECTIONS]), 9))
        seen.add(fingerprint)
        prior, _ = session.prior_load(alt, alt.sub_idx)
        before = base.grid[variant].rows(alt.sub_idx).with_new(prior[variant])
        j = judge(before, alt.alloc[variant][F.OFFTAKE], alt.total[variant][F.OFFTAKE], F.OFFTAKE, base.classes,
                  base.years)
        el = {"carrier": F.ELECTRICITY, "unit": UNITS[F.ELECTRICITY], "direction": F.OFFTAKE,
              "verdict": Verdict.make(j.key, j.year, variant).to_dict(), "first_fit_year": j.first_fit,
              "max_short_mw": _r(j.max_short), "site_mw_end": _r(alt.total[variant][F.OFFTAKE][-1])}
        own = [c for c in connections(session, alt, variant, skip=(F.ELECTRICITY, F.OFFTAKE), prior=prior[variant])
               if c["carrier"] == carrier and carrier != F.ELECTRICITY and c["direction"] == F.OFFTAKE]
        parts = [el["verdict"]] + [c["verdict"] for c in own]
        out.append({"process_heat_carrier": option, "carrier": carrier, "verdict": _combined(parts, variant),
                    "electricity": el, "carrier_connection": own[0] if own else None})
    return out if len(seen) > 1 else []


def evaluate(session: Any, e: SiteEntry, input_notices: Sequence[str]) -> SiteCheck:
    """Check one site of a :class:`~spatialprog.sitecheck.whatif.WhatIf` session, seeing the sites before it."""
    base: Baseline = session.baseline
    years = base.years
    ny = len(years)
    serving = e.sub_idx
    ns = len(serving)
    geom = e.geometry
    # candidates for alternatives: the nearest checkable substations not serving the site
    if len(base.substations):
        dist = shapely.distance(geom, np.asarray(base.substations.geometry.values))
        cand_mask = base.checkable.copy()
        cand_mask[serving] = False
        cand = np.flatnonzero(cand_mask)
        cand = cand[np.lexsort((base.substations["id"].to_numpy()[cand], dist[cand]))][:N_CANDIDATES]
    else:
        dist = np.zeros(0)
        cand = np.zeros(0, dtype=int)
    involved = np.concatenate([serving, cand]).astype(int)
    prior, sees = session.prior_load(e, involved)
    direction = primary_direction(e)  # offtake, or feed-in for a site that only delivers

    notices = list(input_notices) + list(e.notices)
    served = serving_table(e.assignment)
    unassigned = float(1.0 - served[F.SHARE].sum()) if len(served) else 1.0
    unassigned = 0.0 if abs(unassigned) < 1e-9 else unassigned
    incomplete = [base.substations["id"].iat[s] for s in serving if not base.checkable[s]]
    if incomplete:
        notices.append(f"the baseline load of {', '.join(incomplete)} may be incomplete (only part of its service "
                       "area was read) - widen --search-radius")
    serving_info = []
    fc = base.operator_forecast
    for k, row in enumerate(served.itertuples(index=False)):
        s = serving[k]
        info = {"substation_id": row.substation_id, "name": base.names[s] or None,
                "share": _r(row.share, 6), "method": row.method, "dist_m": _r(float(dist[s]), 1)}
        if len(fc):
            # the operator's own forecast beside ours (no new sites), in the calendar years it gives
            mine = fc[(fc["substation_id"] == row.substation_id) & (fc["direction"] == direction)]
            info["operator_forecast"] = [
                {"year": int(r.year), "operator_available_mva": _r(float(r.operator_available_mva)),
                 "ours_available_mva": _r(float(r.ours_available_mva)), "explained_by": str(r.explained_by)}
                for r in mine.itertuples(index=False)]
        serving_info.append(info)

    variants: dict[str, dict[str, Any]] = {}
    for v in base.variants:
        state = base.grid[v]
        before = state.rows(serving).with_new({d: p[:ns] for d, p in prior[v].items()})
        j = judge(before, e.alloc[v][direction], e.total[v][direction], direction, base.classes, years)
        site_total = e.total[v][direction]
        # alternatives: the nearest other substations with room for the whole site, per year and over the horizon
        alt_head = (state.rows(cand).with_new({d: p[ns:] for d, p in prior[v].items()}).headroom_mw(direction)
                    if len(cand) else np.zeros((0, ny)))
        room = alt_head - site_total[None, :]
        rows = []
        for k_y, y in enumerate(years):
            alts = []
            if j.demand_years[k_y] and len(cand):
                for c_k in np.flatnonzero(~is_short(room[:, k_y]))[:N_ALTERNATIVES]:
                    s_ = cand[c_k]
                    alts.append({"substation_id": str(base.substations["id"].iat[s_]), "name": base.names[s_] or None,
                                 "distance_m": _r(float(dist[s_]), 0), "headroom_mw": _r(alt_head[c_k, k_y]),
                                 "headroom_after_mw": _r(room[c_k, k_y])})
            rows.append({
                "year": int(y),
                "site_mw": _r(site_total[k_y]),
                "fits": bool(j.fits[k_y]),
                "short_mw": _r(j.short[k_y] if j.demand_years[k_y] else 0.0),
                "site_short_mw": _r(j.site_short[k_y]),
                "substations": [
                    {"substation_id": serving_info[k]["substation_id"], "share": serving_info[k]["share"],
                     "site_mw": _r(e.alloc[v][direction][k, k_y]), "capacity_mw": _r(j.capacity[k, k_y]),
                     "load_before_mw": _r(before.load_mw(direction)[k, k_y]),
                     "earlier_sites_mw": _r(prior[v][direction][k, k_y]),
                     "headroom_before_mw": _r(j.head_before[k, k_y]), "headroom_after_mw": _r(j.head_after[k, k_y]),
                     "status_before": str(j.status_before[k, k_y]), "status_after": str(j.status_after[k, k_y])}
                    for k in range(ns)
                ],
                "alternatives": alts,
            })
        variants[v] = {
            "direction": direction,
            "verdict": Verdict.make(j.key, j.year, v).to_dict(),
            "first_fit_year": j.first_fit,
            "short_years": j.short_years(years) if ns else [],
            "max_short_mw": _r(j.max_short),
            "site_mw_end": _r(site_total[-1]),
            "min_headroom_after_mw": _r(float(j.head_after[:, j.demand_years].min()) if ns and j.demand_years.any()
                                        else np.nan),
            "years": rows,
            "alternatives": horizon_alternatives(base, cand, dist, room, j.demand_years),
            "connections": connections(session, e, v, skip=(F.ELECTRICITY, direction),
                                       prior={d: p[:ns] for d, p in prior[v].items()}),
        }
    head_v = base.variants[0]
    hv = variants[head_v]["verdict"]
    verdict = Verdict(hv["key"], hv["year"], hv["nl"], hv["en"], head_v)

    reinf = []
    sids = {si["substation_id"] for si in serving_info}
    for r in base.reinforcements.itertuples(index=False):
        if r.substation_id in sids:
            reinf.append({"substation_id": r.substation_id, "year": int(r.year),
                          "added_mva": _r(r.reinforcement_mva, 3), "source": str(r.source)})
    reinf.sort(key=lambda d: (d["year"], d["substation_id"]))

    frame = e.frame
    prog = {c: _jsonable(frame[c].iloc[0]) for c in frame.columns if c not in ("geometry", "id", "name")
            and pd.notna(frame[c].iloc[0])}
    priority = frame.attrs.get("priority_category") or prog.get("priority_category")
    c = shapely.centroid(geom)
    site = {
        "id": e.sid, "name": site_name(frame), "layer": e.kind, "title_nl": LAYER_KINDS[e.kind].title_nl,
        "programme": prog, "priority_category": priority,
        "area_ha": _r(shapely.area(geom) / 1e4, 3), "centroid": [_r(c.x, 1), _r(c.y, 1)],
        "bounds": [_r(x, 1) for x in shapely.bounds(geom)], "crs": base.project.crs,
        "order": session.order_of(e),
        "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 0.01))),
    }
    overlaps = overlaps_existing(base, e) + session.overlapping(e)
    for o in overlaps:
        if o["layer"] == e.kind:
            notices.append(f"the site overlaps existing plan {o['id']} ({o['share_of_site']:.0%} of the site): its "
                           "demand may already be in the baseline")
    check = SiteCheck(site=site, serving=serving_info, unassigned_share=_r(unassigned, 6), verdict=verdict,
                      options=process_heat_options(session, e, head_v),
                      variants=variants, reinforcements=reinf, conflicts=site_conflicts(base, e), overlaps=overlaps,
                      sees=sees, notices=notices, assumptions=assumptions(e.kind, frame, base.params(head_v)),
                      summary_nl="", summary_en="", geometry=geom, project=project_info(base.project, base))
    check.summary_nl, check.summary_en = summaries(check, base)
    shown = set(serving.tolist()) | {base.pos[a["substation_id"]] for d in variants.values() for y in d["years"]
                                     for a in y["alternatives"]}
    check.map_layers = {
        "areas": {sid: base.area_geom[sid] for sid in sids if sid in base.area_geom},
        "substations": [(str(base.substations["id"].iat[i]), base.names[i], base.substations.geometry.iat[i])
                        for i in sorted(shown)],
    }
    return check
