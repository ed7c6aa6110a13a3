"""The one-way pipeline: read layers -> validate -> working CRS -> compute -> (write).

:func:`read_plan` is the input edge (it opens files); :func:`compute` is pure:
it takes the validated :class:`Plan` and returns a :class:`RunResult` holding
the assignment (computed once, for every variant), demand per variant and the
long headroom table. Writing lives in :mod:`spatialprog.outputs`.

Examples
--------
>>> from spatialprog.pipeline import read_plan, compute
>>> plan = read_plan("layers/example_region.toml")
>>> result = compute(plan)
>>> sorted(result.headroom["direction"].unique())
['feedin', 'offtake']
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .carriers import carrier_results, with_carrier
from .choices import Change, apply_changes, check_changes
from .config import BASE_VARIANT, Project, load_project
from .conversion import check_batteries
from .demand import demand_points, heat_network_share, site_demand
from .distributed import Engine, open_engine
from .errors import LayerValidationError, NoticeLog, ProjectError
from .headroom import (
    GridState,
    firm_capacity,
    first_shortfall,
    grid_state,
    headroom_frame,
)
from .kinds import CONSTRAINT, LAYER_KINDS, claim_kinds
from .layers import read_layer
from .neighbourhoods import modelled_base
from .network import allocate, assign_sites, derive_service_areas
from .operator_comparison import operator_comparison
from .processes import beside, can_fork
from .published import (
    StationBasis,
    in_published_figures,
    investment_table,
    reference_years,
    station_basis,
)
from .reference import Reference, read_reference

if TYPE_CHECKING:
    from .conflicts import ConflictResult

__all__ = ["Plan", "RunResult", "read_plan", "compute", "region_of"]


def read_order() -> list[str]:
    """The layers read first, in order: the network (others are checked against it), then the rest.

    Kinds read with a margin around the region (their zones reach across its
    border) come after, once the region is known.
    """
    kinds = [k for k in LAYER_KINDS.values() if not k.read_with_margin]
    return [k.name for k in sorted(kinds, key=lambda k: k.role != "network")]

Progress = Callable[[str], None]


@dataclass
class Plan:
    """A project with its validated layers, ready to compute.

    Attributes
    ----------
    project : Project
    layers : dict of str -> GeoDataFrame
        Validated, in the working CRS, keyed by layer kind.
    notices : NoticeLog
        Repairs and remarks from reading.
    constraints : dict of str -> GeoDataFrame
        The ``[constraints.NAME]`` layers, read with a margin around the region.
    reference : Reference
        The reference tables (read when the plan is built, unless given).
    choices : dict of str -> list of Change
        Per variant, the features it changes (:mod:`spatialprog.choices`),
        checked against the layers when the plan is built.
    """

    project: Project
    layers: dict[str, gpd.GeoDataFrame]
    notices: NoticeLog = field(default_factory=NoticeLog)
    constraints: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    reference: Reference | None = None
    choices: dict[str, list[Change]] | None = None
    #: True for a plan read only near a site (check-site's fast path)
    partial: ClassVar[bool] = False

    def __post_init__(self) -> None:
        # building a plan is the input edge: the reference tables are read here, never in compute
        if self.reference is None:
            self.reference = read_reference(self.project, self.layers, notices=self.notices)
        if self.choices is None:
            self.choices = check_changes(_read_changes(self.project), self.layers, LAYER_KINDS,
                                         complete=not self.partial)

    @property
    def region(self) -> shapely.Geometry:
        """The study region: union of the boundaries, or a hull around all layers."""
        return region_of(self.layers)


def region_of(layers: dict[str, gpd.GeoDataFrame], *, margin_m: float = 2000.0) -> shapely.Geometry:
    """The study region of a set of layers.

    The union of the ``boundaries`` layer where there is one; else the convex
    hull of every feature, buffered by ``margin_m``.
    """
    b = layers.get("boundaries")
    if b is not None and len(b):
        return shapely.union_all(np.asarray(b.geometry.values))
    geoms = [np.asarray(df.geometry.values) for df in layers.values() if df is not None and len(df)]
    if not geoms:
        return shapely.Polygon()
    return shapely.convex_hull(shapely.union_all(np.concatenate(geoms))).buffer(margin_m)


def read_plan(project: Project | str | Path, *, progress: Progress | None = None) -> Plan:
    """Read and validate every layer of a project.

    Parameters
    ----------
    project : Project or path
        A loaded project or the path to its TOML file.
    progress : callable, optional
        Called with a short text before each layer is read.

    Returns
    -------
    Plan

    Raises
    ------
    SpatialprogError
        With every problem of the first failing layer.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    notices = NoticeLog()
    layers: dict[str, gpd.GeoDataFrame] = {}
    for kind in read_order():
        src = project.layers.get(kind)
        if src is None:
            continue
        if progress:
            progress(f"reading {kind}")
        layers[kind] = read_layer(src, LAYER_KINDS[kind], working_crs=project.crs, notices=notices)
    _check_references(project, layers)
    reference = read_reference(project, layers, notices=notices)
    constraints: dict[str, gpd.GeoDataFrame] = {}
    margin_kinds = [k.name for k in LAYER_KINDS.values() if k.read_with_margin and k.name in project.layers]
    if margin_kinds or project.constraints:
        # constraint features outside the region whose zone reaches into it still count:
        # read them with the largest rule distance as margin around the region
        from .conflicts import constraint_read_bbox

        rules = reference.conflict_rules
        region = region_of(layers)
        bbox = constraint_read_bbox(region.bounds, rules) if not region.is_empty else None
        for kind in margin_kinds:
            if progress:
                progress(f"reading {kind}")
            layers[kind] = read_layer(project.layers[kind], LAYER_KINDS[kind], working_crs=project.crs, bbox=bbox,
                                      notices=notices)
        for name, src in project.constraints.items():
            if progress:
                progress(f"reading constraint {name}")
            constraints[name] = read_layer(src, CONSTRAINT, working_crs=project.crs, bbox=bbox,
                                           notices=notices)
    return Plan(project=project, layers=layers, notices=notices, constraints=constraints, reference=reference)


def _read_changes(project: Project) -> dict[str, list[dict]]:
    """Each variant's changes, a CSV read here (the input edge)."""
    out = {}
    for v, rows in getattr(project, "variant_changes", {}).items():
        if isinstance(rows, Path):
            try:
                table = pd.read_csv(rows, dtype=str, keep_default_na=False, sep=None, engine="python",
                                    encoding="utf-8-sig")
            except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
                raise ProjectError(f"variants.{v}.changes: cannot read '{rows.name}': {e} - give a CSV with the "
                                   "columns layer, id, field, value") from None
            missing = [c for c in ("layer", "id", "field", "value") if c not in table]
            if missing:
                raise ProjectError(f"variants.{v}.changes: '{rows.name}' has no column {missing[0]} - give the "
                                   "columns layer, id, field, value")
            rows = table.to_dict("records")
        out[v] = rows
    return out


def _check_references(project: Project, layers: dict[str, gpd.GeoDataFrame]) -> None:
    subs = set(layers["substations"]["id"])
    for i, r in enumerate(project.reinforcements):
        if r["substation"] not in subs:
            raise ProjectError(
                f"{project.path.name if project.path else 'project'}: reinforcements[{i}].substation: "
                f"'{r['substation']}' is not a substation id - use an id of the substations layer"
            )
    if "service_areas" in layers:
        from .errors import Problem

        sa = layers["service_areas"]
        probs = [
            Problem("service_areas", f"substation_id '{s}' is not a substation id", fid, "substation_id",
                    fix="use an id of the substations layer")
            for fid, s in zip(sa["id"], sa["substation_id"], strict=True) if s not in subs
        ]
        if probs:
            raise LayerValidationError(probs)


@dataclass
class RunResult:
    """Everything a run computes; the input of outputs, maps, export and ranking.

    Attributes
    ----------
    plan : Plan
    service_areas : GeoDataFrame
        The areas used (given, or Voronoi-derived), with ``substation_id``.
    assignment_method : str
        ``service_areas``, ``voronoi`` or ``nearest``.
    points : GeoDataFrame
        Where each site's demand enters the grid.
    assignment : DataFrame
        ``layer, site_id, substation_id, share, method, dist_m``.
    capacity : DataFrame
        Installed and firm capacity per substation (base parameters).
    reinforcements : DataFrame
    demand : DataFrame
        Per variant, site and year (``variant`` column); ``existing`` marks
        the sites already in the operators' figures.
    allocated : DataFrame
        New demand split over substations, per variant (existing demand left
        out: it is in the published load).
    headroom : DataFrame
        The long headroom table, all variants.
    shortfall : DataFrame
        First shortfall year per substation, variant, direction.
    notices : NoticeLog
    conflicts : ConflictResult or None
        Land-claim conflicts (None when disabled or no rule applies).
    grid : dict of str -> GridState
        Per variant, the capacity and load arrays behind the headroom table.
    carrier_headroom, carrier_allocated, carrier_shortfall : DataFrame
        The same tables for the hydrogen, heat and gas nodes (with ``carrier``
        and ``unit``; empty when the plan has none): :mod:`spatialprog.carriers`.
        ``headroom``, ``allocated`` and ``shortfall`` are the electricity grid's.
    operator_comparison : DataFrame
        The operators' own forecast beside our projection without new sites
        (:func:`spatialprog.operator_comparison.operator_comparison`); empty
        when the substations carry no forecast.
    """

    plan: Plan
    service_areas: gpd.GeoDataFrame
    assignment_method: str
    points: gpd.GeoDataFrame
    assignment: pd.DataFrame
    capacity: pd.DataFrame
    reinforcements: pd.DataFrame
    demand: pd.DataFrame
    allocated: pd.DataFrame
    headroom: pd.DataFrame
    shortfall: pd.DataFrame
    notices: NoticeLog
    conflicts: ConflictResult | None = None
    grid: dict[str, GridState] = field(default_factory=dict)
    operator_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    carrier_headroom: pd.DataFrame = field(default_factory=pd.DataFrame)
    carrier_allocated: pd.DataFrame = field(default_factory=pd.DataFrame)
    carrier_shortfall: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def project(self) -> Project:
        return self.plan.project

    @property
    def variants(self) -> list[str]:
        return list(self.project.variants)


def _assignment_method(project: Project, layers: dict[str, gpd.GeoDataFrame]) -> str:
    m = project.assignment.method
    if m == "auto":
        if "service_areas" in layers and len(layers["service_areas"]):
            return "service_areas"
        return "voronoi"
    if m == "service_areas" and "service_areas" not in layers:
        raise ProjectError("assignment.method: 'service_areas' needs a service_areas layer - add one under [layers]")
    return m


def compute(plan: Plan, *, variants: list[str] | None = None, conflicts: bool | None = None,
            progress: Progress | None = None, engine: Engine | None = None) -> RunResult:
    """Assignment, demand and headroom for every variant, and the land-claim conflicts (pure: no I/O).

    Parameters
    ----------
    plan : Plan
    variants : list of str, optional
        Subset of the project's variants (default: all, base first).
    conflicts : bool, optional
        Compute the land-claim conflicts (default: the project's
        ``[conflicts] enabled``). check-site's baseline leaves them out: it
        asks the same engine for the site's own conflicts only.
    progress : callable, optional
    engine : Engine, optional
        Where the heavy steps run (:mod:`spatialprog.distributed`); default:
        the project's ``[compute]`` engine, open for this call.

    Returns
    -------
    RunResult
    """
    if engine is None:
        with open_engine(getattr(plan.project, "compute", None)) as engine:
            return compute(plan, variants=variants, conflicts=conflicts, progress=progress, engine=engine)
    project = plan.project
    layers = plan.layers
    notices = NoticeLog()
    notices.extend(plan.notices)
    names = variants or list(project.variants)
    unknown = [v for v in names if v not in project.variants]
    if unknown:
        raise ProjectError(f"variant '{unknown[0]}' is not in the project - known: {', '.join(project.variants)}")
    base = project.variants[BASE_VARIANT]
    subs = layers["substations"]

    if progress:
        progress("assigning sites to substations")
    method = _assignment_method(project, layers)
    if method == "service_areas":
        areas = layers["service_areas"]
    else:
        areas = derive_service_areas(subs, plan.region)
        if method == "voronoi" and "boundaries" not in layers:
            notices.add("service_areas", "no service areas and no boundaries: service areas are Voronoi cells of the "
                        "substations, clipped to a hull around all layers (+2 km)", level="info",
                        fix="add a boundaries or service_areas layer for a better region")
    points = demand_points(layers, kinds=LAYER_KINDS, notices=notices)
    assignment = engine.map_sites(assign_sites, points, subs, areas, method=method,
                                  max_distance_m=float(base["assignment.max_distance_m"]),
                                  outside=project.assignment.outside, notices=notices,
                                  sorted_by=[F.LAYER, F.SITE_ID])

    sids = subs["id"].to_numpy()
    ref_dates, ref_years = reference_years(subs, base_year=project.base_year, notices=notices)
    date_of = dict(zip(sids, ref_dates, strict=True))
    reinf = investment_table(subs, project.reinforcements, reference_year=dict(zip(sids, ref_years, strict=True)),
                             base_year=project.base_year, notices=notices)
    capacity = firm_capacity(subs, base)
    # the land-claim conflicts need nothing of the demand: a large plan's are found in a process of their own
    # meanwhile (spatialprog.processes), when they run on this machine
    with_conflicts = project.conflicts.enabled if conflicts is None else conflicts
    conflicts_job = None
    claims = set(claim_kinds())  # what the conflicts stage pairs: the claim and constraint layers' features
    n_claims = sum(len(v) for k, v in layers.items() if k in claims) + sum(map(len, plan.constraints.values()))
    if with_conflicts and engine.name == "local" and can_fork() and n_claims >= CONFLICTS_BESIDE_FEATURES:
        if progress:
            progress("land-claim conflicts, beside the demand")
        conflicts_job = beside(partial(land_claim_conflicts, capacity=capacity, engine=engine), plan)
    with conflicts_job or nullcontext():
        demand_parts, alloc_parts, head_parts = [], [], []
        grid: dict[str, GridState] = {}
        bases: dict[str, StationBasis] = {}
        shares: list = []  # the housing sites' heat-network shares as a variant has them (reused when unchanged)
        for v in names:
            if progress:
                progress(f"demand and headroom, variant {v}")
            params = project.variants[v]
            chosen = apply_changes(layers, plan.choices.get(v, ()))  # the features as this variant has them
            d = site_demand(chosen, params, project.years, kinds=LAYER_KINDS,
                            extra=_heat_shares(engine, chosen, project.years, shares))
            d.insert(0, F.VARIANT, v)
            # the substations carry electricity; the other carriers go to their own nodes (carriers.carrier_results)
            a = allocate(d[d[F.CARRIER] == F.ELECTRICITY], assignment)
            # demand already in the operators' figures is shown and counted, never added to the load again
            existing = in_published_figures(a, layers, project.layers, date_of, notices=notices if v == names[0] else None)
            if existing.any():
                site_existing = a.assign(existing=existing).groupby([F.LAYER, F.SITE_ID])["existing"].all()
                d["existing"] = pd.MultiIndex.from_frame(d[[F.LAYER, F.SITE_ID]]).map(site_existing).fillna(False)
                a = a[~existing].reset_index(drop=True)
            else:
                d["existing"] = False
            basis = station_basis(subs, firm_capacity(subs, params), params, reinf, base_year=project.base_year,
                                  notices=notices if v == names[0] else None)
            state = grid_state(subs, a, params, project.years, base_year=project.base_year, reinforcements=reinf,
                               basis=basis, modelled_mw=modelled_base(chosen, assignment, params, sids))
            grid[v], bases[v] = state, basis
            demand_parts.append(d)
            alloc_parts.append(a)
            head_parts.append(headroom_frame(state, variant=v, classes=plan.reference.status_classes,
                                             forecast=basis.forecast))
        headroom = with_carrier(pd.concat(head_parts, ignore_index=True))
        carrier_head, carrier_alloc = carrier_results(
            layers, points, {v: d for v, d in zip(names, demand_parts, strict=True)},
            {v: project.variants[v] for v in names}, project.years, classes=plan.reference.status_classes,
            notices=notices)
        check_batteries(layers.get("conversion_assets"), assignment, capacity, notices)
        first = names[0]
        basis = bases[first]
        capacity = capacity.merge(basis.table(), on=F.SUBSTATION_ID, how="left")
        comparison = operator_comparison(subs, project.variants[first], reinf, basis, base_year=project.base_year,
                                         headroom=headroom, variant=first)
        if with_conflicts:
            if progress:
                progress("land-claim conflicts")
            found = conflicts_job.result() if conflicts_job is not None else \
                land_claim_conflicts(plan, capacity=capacity, engine=engine)
            notices.extend(found.notices)
        else:
            found = None
    return RunResult(
        plan=plan,
        service_areas=areas,
        assignment_method=method,
        points=points,
        assignment=assignment,
        capacity=capacity,
        reinforcements=reinf,
        demand=pd.concat(demand_parts, ignore_index=True),
        allocated=pd.concat(alloc_parts, ignore_index=True),
        headroom=headroom,
        shortfall=first_shortfall(headroom),
        notices=notices,
        conflicts=found,
        grid=grid,
        operator_comparison=comparison,
        carrier_headroom=carrier_head,
        carrier_allocated=carrier_alloc,
        carrier_shortfall=first_shortfall(carrier_head, keys=(F.CARRIER,)) if len(carrier_head) else pd.DataFrame(),
    )


#: a plan with at least this many features in its claim and constraint layers has its land-claim conflicts found
#: beside the demand (a fork costs more than a small plan's conflicts)
CONFLICTS_BESIDE_FEATURES = 20_000


def _heat_shares(engine: Engine, layers: dict[str, gpd.GeoDataFrame], years: list[int],
                 done: list) -> dict[str, dict[str, np.ndarray]]:
    """The housing sites' heat-network shares, through the engine, as extra arguments of their demand function.

    ``done`` keeps the last answer: a variant that changes neither the housing
    sites nor the heat networks reuses it.
    """
    sites, nets = layers.get("housing_sites"), layers.get("heat_networks")
    if sites is None or not len(sites) or nets is None or not len(nets):
        return {}  # no heat network: housing_demand's own shares are zeros
    if not (done and done[0] is sites and done[1] is nets):
        done[:] = [sites, nets, engine.map_sites(heat_network_share, sites[[sites.geometry.name]], nets, years)]
    return {"housing_sites": {"heat_share": done[2]}}


def land_claim_conflicts(plan: Plan, *, capacity: pd.DataFrame | None = None,
                         engine: Engine | None = None) -> ConflictResult:
    """Land-claim conflicts between the plan's claim layers and its constraint layers (pure).

    Substations take their installed MVA as ``capacity_mva`` (the VNG
    distance depends on it). The pair kernels run on ``engine`` (default: this
    machine).
    """
    from .conflicts import compute_conflicts

    project = plan.project
    claims = set(claim_kinds())
    layers = {k: v for k, v in plan.layers.items() if k in claims}
    if "substations" in layers:
        cap = capacity if capacity is not None else firm_capacity(layers["substations"], project.parameters)
        subs = layers["substations"].copy()
        subs["capacity_mva"] = cap[F.INSTALLED_MVA].to_numpy()
        layers["substations"] = subs
    layers.update(plan.constraints)
    # the rules' layer names were checked when the reference tables were read
    return compute_conflicts(layers, plan.reference.conflict_rules, crs=project.crs,
                             pairs=(engine or Engine()).pairs)
