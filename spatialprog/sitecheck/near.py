"""Reading only the part of a plan that a check of some sites needs (check-site's fast path).

A check of one site needs the substations that could serve it (with every site
they already serve, so their baseline load is complete) and the features
whose land-claim rules could reach it. :func:`read_plan_near` reads just those
through each layer's spatial index, into a :class:`NearPlan`, which the same
:func:`~spatialprog.pipeline.compute` turns into the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..config import Project, load_project
from ..conflicts import constraint_margin_m
from ..errors import NoticeLog
from ..kinds import CONSTRAINT, LAYER_KINDS
from ..layers import read_layer
from ..pipeline import Plan, read_plan
from ..reference import read_reference

__all__ = ["NearPlan", "read_plan_near", "needed_carriers", "grow_box", "union_box"]


@dataclass
class NearPlan(Plan):
    """A :class:`~spatialprog.pipeline.Plan` read only near some sites.

    Attributes
    ----------
    complete_substations : frozenset of str or None
        Substations whose whole service area (and so every site assigned to
        them) was read; only these can be checked or offered as an
        alternative. ``None`` means the whole plan was read.
    read_bbox : tuple of float or None
        The box the site layers were read with (working CRS).
    claims_bbox : tuple of float or None
        The box within which every land claim and constraint was read: the
        sites' box grown by the largest distance of any conflict rule.
    """

    complete_substations: frozenset[str] | None = None
    read_bbox: tuple[float, float, float, float] | None = None
    partial: ClassVar[bool] = True  # its variants' changes apply to the features it read
    claims_bbox: tuple[float, float, float, float] | None = None


def grow_box(b: Sequence[float], d: float) -> tuple[float, float, float, float]:
    """A box grown by ``d`` on every side."""
    return (float(b[0]) - d, float(b[1]) - d, float(b[2]) + d, float(b[3]) + d)


def union_box(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    """The smallest box holding both boxes."""
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _nodes_whole(project: Project, notices: NoticeLog) -> dict:
    """The other carriers' node layers (hydrogen and gas stations, heat sources), read whole: few and far apart."""
    from ..carriers import NODE_LAYERS

    out = {}
    # heat_sources: what a heat network can supply (a source may lie outside its network)
    for kind in [*(k for c, k in NODE_LAYERS.items() if c != "heat"), "heat_sources"]:
        src = project.layers.get(kind)
        if src is not None:
            out[kind] = read_layer(src, LAYER_KINDS[kind], working_crs=project.crs, bbox=None, notices=notices)
    return out


def needed_carriers(project: Project, sites: Sequence[tuple[str, object]]) -> set[str]:
    """The other carriers the sites draw on or deliver to, in any variant (whose nodes' loads must be complete).

    The sites' demand by their kind's own demand function, with the heat
    networks at the sites; a business park's process heat may be asked on
    hydrogen or gas (check-site's options), so both count for it.
    """
    from ..carriers import OTHER_CARRIERS
    from ..fields import CARRIER, FEEDIN_MW, OFFTAKE_MW

    frames = [f for _, f in sites]
    if not frames:
        return set()
    bounds = (min(f.total_bounds[0] for f in frames), min(f.total_bounds[1] for f in frames),
              max(f.total_bounds[2] for f in frames), max(f.total_bounds[3] for f in frames))
    src = project.layers.get("heat_networks")
    nets = {"heat_networks": read_layer(src, LAYER_KINDS["heat_networks"], working_crs=project.crs, bbox=bounds,
                                        notices=NoticeLog())} if src is not None else {}
    out: set[str] = set()
    for kind, frame in sites:
        lk = LAYER_KINDS[kind]
        if "process_heat_carrier" in lk.column_names:
            out |= {"hydrogen", "gas"}
        for ps in project.variants.values():
            d = lk.demand(frame, ps, list(project.years), layers=nets)
            d = d[(d[[OFFTAKE_MW, FEEDIN_MW]] != 0).any(axis=1)]
            out |= set(d[CARRIER]) & set(OTHER_CARRIERS)
    return out


def _with_node_reach(project: Project, layers: dict, bounds: Sequence[float],
                     box: tuple[float, float, float, float], carriers: set[str] | None = None
                     ) -> tuple[float, float, float, float]:
    """``box`` grown so that every node that could serve the sites has its whole load read.

    A site connects to a hydrogen or gas station within the carrier's reach
    (``assignment.node_max_distance_m.<carrier>``, the largest over the
    variants), so every site a station near the sites serves lies within that
    reach of the station; a dwelling is on a heat network it lies in, so the
    networks at the sites are read with all of their area. ``carriers``
    limits this to the carriers the sites use (:func:`needed_carriers`;
    default every carrier).
    """
    from ..carriers import NODE_LAYERS

    for carrier, kind in NODE_LAYERS.items():
        src = project.layers.get(kind)
        if src is None or (carriers is not None and carrier not in carriers):
            continue
        if carrier == "heat":
            nets = read_layer(src, LAYER_KINDS[kind], working_crs=project.crs, bbox=tuple(bounds), notices=NoticeLog())
            if len(nets):
                box = union_box(box, tuple(nets.total_bounds))
            continue
        nodes = layers.get(kind)
        if nodes is None or not len(nodes):
            continue
        reach = max(float(ps[f"assignment.node_max_distance_m.{carrier}"]) for ps in project.variants.values())
        near = nodes.cx[bounds[0] - reach:bounds[2] + reach, bounds[1] - reach:bounds[3] + reach]
        if len(near):
            box = union_box(box, grow_box(tuple(near.total_bounds), reach))
    return box


def read_plan_near(
    project: Project | str | Path,
    bounds: Sequence[float],
    *,
    search_radius_m: float | None = None,
    carriers: set[str] | None = None,
) -> NearPlan:
    """Read only the part of a plan that a check of sites within ``bounds`` needs.

    Uses each layer's spatial index through a bbox filter at read time
    (:func:`spatialprog.layers.read_layer` with ``bbox=``):

    1. service areas within ``search_radius_m`` of the sites' box: their
       substations are the ones that can serve the sites or be an alternative;
    2. the box around those service areas and the sites' box grown by the
       largest conflict-rule distance (B): every site assigned to those
       substations, and every land claim or constraint whose rule could reach
       the sites, lies in it;
    3. service areas, substations and every other layer within B, except the
       kinds whose demand enters the grid away from their own geometry (heat
       networks at their source), which are read whole;
    4. the hydrogen and gas stations whole, and B grown by each carrier's
       reach around the stations within reach of the sites (and by the heat
       networks at the sites), so the load of every node that could serve a
       site is complete.

    The reference tables are read without the ranking's extra boundary
    layers (``[[ranking.boundaries]]``, for scale sums a check has none of);
    the project's ``boundaries`` layer is not read either. Projects without a
    service-areas layer (Voronoi assignment needs every substation) are read
    in full.

    Parameters
    ----------
    project : Project or path
    bounds : (minx, miny, maxx, maxy)
        Box around the site(s), in the working CRS.
    search_radius_m : float, optional
        How far from the site substations are looked at (alternatives);
        default the project's ``assignment.max_distance_m``.
    carriers : set of str, optional
        The other carriers whose nodes near the sites need their whole load
        (:func:`needed_carriers`); default all of them.

    Returns
    -------
    NearPlan

    Notes
    -----
    Exact for sites inside service areas: the property test in
    tests/test_sitecheck_engine.py compares it with a full run. A site of the
    plan that lies outside every service area (assigned to its nearest
    substation) counts only when it lies within B.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    if "service_areas" not in project.layers:
        plan = read_plan(project)
        return NearPlan(project=plan.project, layers=plan.layers, notices=plan.notices, constraints=plan.constraints,
                        reference=plan.reference)
    notices = NoticeLog()
    reference = read_reference(project, notices=notices, boundaries=False)  # no scale sums: no boundaries read
    wcrs = project.crs
    radius = float(search_radius_m if search_radius_m is not None else project.parameters["assignment.max_distance_m"])
    claims_box = grow_box(bounds, constraint_margin_m(reference.conflict_rules))
    box1 = grow_box(bounds, radius)
    sa_src = project.layers["service_areas"]
    near = read_layer(sa_src, LAYER_KINDS["service_areas"], working_crs=wcrs, bbox=box1, notices=NoticeLog())
    if len(near) == 0:  # no substation can serve the sites: only their land claims can be checked
        subs = read_layer(project.layers["substations"], LAYER_KINDS["substations"], working_crs=wcrs, bbox=box1,
                          notices=notices)
        layers = {"substations": subs.iloc[0:0], "service_areas": near}
        box2, complete = claims_box, frozenset()
    else:
        serving = set(near["substation_id"])
        box2 = union_box(union_box(box1, tuple(near.total_bounds)), claims_box)
        areas = read_layer(sa_src, LAYER_KINDS["service_areas"], working_crs=wcrs, bbox=box2, notices=notices)
        box3 = union_box(box2, tuple(areas.total_bounds))
        subs = read_layer(project.layers["substations"], LAYER_KINDS["substations"], working_crs=wcrs, bbox=box3,
                          notices=notices)
        known = set(subs["id"])
        missing = ~areas["substation_id"].isin(known)
        if missing.any():  # an area whose substation point lies outside the box: drop it (never one of `serving`)
            areas = areas[~missing].reset_index(drop=True)
        layers = {"substations": subs, "service_areas": areas}
        complete = frozenset(s for s in serving if s in known)
    layers.update(_nodes_whole(project, notices))
    box2 = _with_node_reach(project, layers, bounds, box2, carriers)
    for kind in LAYER_KINDS.values():  # boundaries are not needed: the region only matters for Voronoi areas
        src = project.layers.get(kind.name)
        if src is None or kind.name in layers or kind.role not in ("site", "claim"):
            continue
        whole = kind.demand_point is not None and len(complete)
        layers[kind.name] = read_layer(src, kind, working_crs=wcrs, bbox=None if whole else box2, notices=notices)
    constraints = {name: read_layer(src, CONSTRAINT, working_crs=wcrs, bbox=claims_box, notices=notices)
                   for name, src in project.constraints.items()}
    return NearPlan(project=project, layers=layers, notices=notices, constraints=constraints, reference=reference,
                    complete_substations=complete, read_bbox=box2, claims_bbox=claims_box)

