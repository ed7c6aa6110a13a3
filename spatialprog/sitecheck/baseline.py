"""The baseline of a check: the run without the site, arranged for fast repeated checks.

A :class:`Baseline` is a computed :class:`~spatialprog.pipeline.RunResult`
(of the whole plan, or of the part near the sites) kept as the run's own
:class:`~spatialprog.headroom.GridState` per variant. A check adds the site's
allocated demand to that state and asks the same headroom functions as the
run; nothing is recomputed and nothing is computed differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import fields as F
from ..carriers import OTHER_CARRIERS, Nodes, carrier_nodes, node_state
from ..config import Project, load_project
from ..distributed import Engine
from ..errors import NoticeLog, ProjectError
from ..headroom import GridState
from ..params import ParameterSet
from ..pipeline import Plan, RunResult, compute
from .near import needed_carriers, read_plan_near

__all__ = ["Baseline", "as_baseline", "carrier_states"]


@dataclass
class Baseline:
    """The computed run, arranged for fast repeated checks.

    Attributes
    ----------
    plan : Plan
        The plan the baseline was computed from (its layers, constraint
        layers and reference tables serve the site's demand and conflicts).
    years : ndarray of int
    variants : list of str
    substations : GeoDataFrame
        Every substation read (``id``, ``name``, geometry), RangeIndex.
    service_areas : GeoDataFrame
    method : str
        The assignment method of the run.
    checkable : ndarray of bool
        Per substation: its baseline load is complete (always true for a
        full plan).
    grid : dict of str -> GridState
        Per variant, the run's capacity and load arrays, rows in the order of
        ``substations``.
    reinforcements : DataFrame
    notices : NoticeLog
    read_bbox : tuple of float or None
    """

    plan: Plan
    years: np.ndarray
    variants: list[str]
    substations: gpd.GeoDataFrame
    service_areas: gpd.GeoDataFrame
    method: str
    checkable: np.ndarray
    grid: dict[str, GridState]
    reinforcements: pd.DataFrame
    notices: NoticeLog = field(default_factory=NoticeLog)
    #: the operators' own forecast beside our projection (RunResult.operator_comparison; empty where none)
    operator_forecast: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the other carriers' nodes and, per variant, their GridState as the run computed it (carriers.node_state)
    carriers: dict[str, tuple[Nodes, dict[str, GridState]]] = field(default_factory=dict)
    read_bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        self.pos = {s: i for i, s in enumerate(self.substations["id"])}
        pts = np.asarray(self.substations.geometry.values)
        self.sub_xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]) if len(pts) else np.zeros((0, 2))
        self.names = (self.substations["name"].fillna("").astype(str).to_numpy() if "name" in self.substations
                      else np.full(len(self.substations), "", dtype=object))
        self.area_geom = {}
        if len(self.service_areas):
            for sid, grp in self.service_areas.groupby(F.SUBSTATION_ID, sort=False):
                self.area_geom[sid] = shapely.union_all(np.asarray(grp.geometry.values))
        self._trees: dict[str, shapely.STRtree] = {}

    @property
    def project(self) -> Project:
        return self.plan.project

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        return self.plan.layers

    @property
    def classes(self) -> pd.DataFrame:
        return self.plan.reference.status_classes

    @classmethod
    def from_result(cls, result: RunResult, *, variants: Sequence[str] | None = None) -> Baseline:
        """Arrange a :class:`~spatialprog.pipeline.RunResult` for checks (its grid states, as computed)."""
        plan = result.plan
        project = plan.project
        names = list(variants or result.variants)
        unknown = [v for v in names if v not in project.variants]
        if unknown:
            raise ProjectError(f"variant '{unknown[0]}' is not in the project - known: {', '.join(project.variants)}")
        not_run = [v for v in names if v not in result.grid]
        if not_run:
            raise ProjectError(f"variant '{not_run[0]}' was not computed in this run - compute it, or leave it out")
        subs = plan.layers["substations"].reset_index(drop=True)
        complete = getattr(plan, "complete_substations", None)
        checkable = (np.ones(len(subs), dtype=bool) if complete is None
                     else subs["id"].isin(complete).to_numpy())
        return cls(plan=plan, years=np.asarray(project.years, dtype=int), variants=names, substations=subs,
                   service_areas=result.service_areas.reset_index(drop=True), method=result.assignment_method,
                   checkable=checkable, grid={v: result.grid[v] for v in names}, reinforcements=result.reinforcements,
                   notices=result.notices, read_bbox=getattr(plan, "read_bbox", None),
                   operator_forecast=result.operator_comparison, carriers=carrier_states(result, names))

    @classmethod
    def without_substations(cls, plan: Plan, *, variants: Sequence[str] | None = None) -> Baseline:
        """A baseline without substations near the sites: every site is outside the region.

        The plan's land claims and constraints are kept: a site outside every
        service area still has its land-claim conflicts.
        """
        project = plan.project
        names = list(variants or project.variants)
        years = np.asarray(project.years, dtype=int)
        none = np.zeros((0, len(years)))
        empty_state = GridState(np.array([], dtype=object), years, *({d: none for d in F.DIRECTIONS} for _ in range(4)),
                                {d: np.array([], dtype=object) for d in F.DIRECTIONS},
                                *({d: none for d in F.DIRECTIONS} for _ in range(2)))
        subs = plan.layers["substations"].iloc[0:0].reset_index(drop=True)
        areas = gpd.GeoDataFrame({"id": [], F.SUBSTATION_ID: []}, geometry=[], crs=project.crs)
        return cls(plan=plan, years=years, variants=names, substations=subs, service_areas=areas,
                   method="service_areas", checkable=np.zeros(0, dtype=bool), grid={v: empty_state for v in names},
                   reinforcements=pd.DataFrame(columns=[F.SUBSTATION_ID, F.DIRECTION, F.YEAR, F.REINFORCEMENT_MVA,
                                                        "counted_from_year", "source"]),
                   notices=plan.notices, read_bbox=getattr(plan, "read_bbox", None))

    def params(self, variant: str) -> ParameterSet:
        return self.project.variants[variant]

    def tree(self, kind: str) -> shapely.STRtree | None:
        """An STRtree over a layer of the plan (built once)."""
        df = self.layers.get(kind)
        if df is None or len(df) == 0:
            return None
        if kind not in self._trees:
            self._trees[kind] = shapely.STRtree(np.asarray(df.geometry.values))
        return self._trees[kind]


def carrier_states(result: RunResult, variants: Sequence[str]) -> dict[str, tuple[Nodes, dict[str, GridState]]]:
    """The other carriers' nodes and their state per variant: the run's own :func:`~spatialprog.carriers.node_state`.

    The state is made from the run's allocated demand on the nodes
    (``result.carrier_allocated``), as :func:`~spatialprog.carriers.carrier_results` made the headroom table.
    """
    out: dict[str, tuple[Nodes, dict[str, GridState]]] = {}
    alloc = result.carrier_allocated
    for carrier in OTHER_CARRIERS:
        nodes = carrier_nodes(result.plan.layers, carrier, result.project.years)
        if nodes is None or not len(nodes):
            continue
        mine = alloc[alloc[F.CARRIER] == carrier] if len(alloc) else alloc
        states = {}
        for v in variants:
            a = mine[mine[F.VARIANT] == v] if len(mine) else pd.DataFrame(
                columns=[F.SUBSTATION_ID, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW])
            states[v] = node_state(nodes, a, result.project.years)
        out[carrier] = (nodes, states)
    return out


def as_baseline(obj: Any, *, variants: Sequence[str] | None, near: gpd.GeoDataFrame | None = None,
                search_radius_m: float | None = None, sites: Sequence[tuple[str, gpd.GeoDataFrame]] | None = None,
                cache: bool = False, engine: Engine | None = None) -> Baseline:
    """The baseline of a run, a plan, a project (read near ``near``) or a baseline (for other variants).

    A plan is computed here without its land-claim conflicts (the check asks
    the conflicts engine for the site's own, with the same rules). With
    ``sites`` (``(kind, frame)`` pairs) a project is read only as far as the
    carriers those sites use need (:func:`~spatialprog.sitecheck.near.needed_carriers`).

    With ``cache`` and a project path, the baseline computed near the sites is
    looked up in, or else kept in, the baseline cache (:mod:`spatialprog.cache`):
    the same object this function computes, keyed on the checksums of every
    input and on the read request (the sites' box, search radius, carriers and
    variants). A project with a layer in a database is computed, not cached.

    A plan is computed on ``engine`` (default: the project's ``[compute]``
    engine); a project read near the sites always on this machine, as its cut
    is small.
    """
    if isinstance(obj, Baseline):
        if variants:
            missing = [v for v in variants if v not in obj.variants]
            if missing:
                raise ProjectError(f"variant '{missing[0]}' is not in this baseline - known: {', '.join(obj.variants)}")
            if list(variants) != obj.variants:
                return replace(obj, variants=list(variants), grid={v: obj.grid[v] for v in variants})
        return obj
    if isinstance(obj, RunResult):
        return Baseline.from_result(obj, variants=variants)
    if isinstance(obj, Plan):
        if "substations" in obj.layers and len(obj.layers["substations"]) == 0:
            return Baseline.without_substations(obj, variants=variants)
        result = compute(obj, variants=list(variants) if variants else None, conflicts=False, engine=engine)
        return Baseline.from_result(result, variants=variants)
    if isinstance(obj, Project | str | Path):
        if near is None:
            raise ProjectError("a project path needs the site to read near it")
        project = obj if isinstance(obj, Project) else load_project(obj)
        carriers = needed_carriers(project, sites) if sites is not None else None
        bounds = tuple(float(v) for v in near.total_bounds)
        key = None
        if cache and not isinstance(obj, Project):  # a Project object may have been changed since it was read
            from .. import cache as disk

            key = disk.make_key(project, {"near": bounds, "search_radius_m": search_radius_m,
                                          "carriers": sorted(carriers) if carriers is not None else None,
                                          "variants": list(variants) if variants else None})
            hit = disk.load(key)
            if isinstance(hit, Baseline):
                return hit
        plan = read_plan_near(project, bounds, search_radius_m=search_radius_m, carriers=carriers)
        # on this machine whatever [compute] says: the plan is the cut near the site (a few thousand features),
        # which a cluster would only slow down; both engines give the same answer (tests/test_dask_engine.py)
        base = as_baseline(plan, variants=variants, engine=Engine())
        if key is not None:
            disk.store(key, base)
        return base
    raise TypeError(f"expected a RunResult, Plan, Baseline or project path, got {type(obj).__name__}")
