"""Land for new substations and MV/LV stations: suitability surfaces, candidate sites, station counts.

:func:`compute_siting` takes a computed run and its programme and returns a
:class:`SitingResult` (pure: it rasterizes in memory and opens no files):

1. **Surfaces** on a grid over the region (``siting.cell_size_m``, aligned to
   round coordinates in the working CRS; :mod:`.grid`): the new
   developments' demand density (kW/ha) per milestone year, the exclusion
   mask (the land-claim rules for a substation reserve, with the conflicts
   stage's margin across the region's border), the distance to the demand
   that falls short (sites whose substation is short in a milestone year),
   the distance to HV lines (when the plan has an ``hv_lines`` layer) and the
   weighted suitability (``siting.weight.*``; :mod:`.surfaces`).
2. **Candidate sites** for every substation the programme answers with a new
   station: within its service area and ``siting.search_margin_m``, the
   best footprint of the needed land in each 8-connected group of suitable
   cells, ranked by score (:mod:`.candidates`), with the distance to the
   demand it would serve and the conflicts it would still have (the
   conflicts engine, run on the candidates as substation reserves).
3. **MV/LV stations** per housing site and business park and per
   substation (:mod:`.mvlv`).

The surfaces are those of the base variant (the first run); the candidates of
each variant use that variant's demand and shortfall. Writing is
:func:`spatialprog.siting.write.write_siting` (the output edge).

Examples
--------
>>> from spatialprog.pipeline import read_plan, compute
>>> from spatialprog.workflow import ranking_of
>>> r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
>>> s = compute_siting(r, ranking_of(r).programme)
>>> s.candidates.loc[0, ["candidate_id", "substation_id"]].tolist()
['K-basis-OS10-1', 'OS10']
>>> bool((s.candidates["area_m2"] >= s.candidates["land_m2"] - 1e-6).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from .. import fields as F
from ..errors import NoticeLog, ProjectError
from ..processes import beside, can_fork
from .candidates import best_footprints
from .grid import Grid
from .mvlv import mvlv_per_substation, mvlv_stations
from .surfaces import (
    FACTORS,
    ROLES,
    distance_masks,
    distances_m,
    exclusion,
    exclusion_zones,
    new_offtake_mw,
    role_rules,
    scale_tops,
    site_cells,
    smoothed,
    suitability,
)

__all__ = ["SitingResult", "compute_siting", "CANDIDATE_COLUMNS", "Grid", "enabled"]

#: a grid of at least this many cells has the candidate sites of its variants other than the base searched in a
#: process of their own, beside the base's (a smaller one costs less than the fork)
BESIDE_CELLS = 1_000_000

#: columns of the candidate-site table (besides the geometry)
CANDIDATE_COLUMNS = [F.VARIANT, "candidate_id", F.SUBSTATION_ID, "candidate_rank", "score", "land_m2", "area_m2",
                     "angle_deg", "group_area_m2", "capacity_mva", "distance_to_demand_m", "distance_to_hv_line_m",
                     "n_conflicts", "worst_severity", "conflict_rules"]


@dataclass
class SitingResult:
    """What :func:`compute_siting` found.

    Attributes
    ----------
    grid : Grid
    surfaces : dict of str -> ndarray
        The base variant's surfaces, by file stem: ``demand_density_kw_ha_<year>``,
        ``exclusion`` (1 = excluded), ``distance_to_short_demand_m``,
        ``distance_to_hv_lines_m`` (when there are HV lines), ``suitability``
        (0..1, NaN where excluded).
    candidates : GeoDataFrame
        :data:`CANDIDATE_COLUMNS` with the footprint polygons, per variant,
        substation and rank.
    mvlv : GeoDataFrame
        MV/LV stations per housing site and business park (per variant).
    mvlv_substations : DataFrame
        Summed per substation.
    notices : NoticeLog
    """

    grid: Grid
    surfaces: dict[str, np.ndarray]
    candidates: gpd.GeoDataFrame
    mvlv: gpd.GeoDataFrame
    mvlv_substations: pd.DataFrame
    notices: NoticeLog = field(default_factory=NoticeLog)

    @property
    def transform(self) -> Affine:
        return self.grid.transform

    def best(self) -> pd.Series:
        """The best candidate id per ``(variant, substation_id)``."""
        c = self.candidates
        if not len(c):
            return pd.Series(dtype=object)
        top = c[c["candidate_rank"] == 1]
        return pd.Series(top["candidate_id"].to_numpy(), index=pd.MultiIndex.from_frame(top[[F.VARIANT,
                                                                                             F.SUBSTATION_ID]]))

    def with_candidates(self, programme: pd.DataFrame) -> pd.DataFrame:
        """The programme with ``candidate_site_id``: the best candidate of each new-station row (else empty)."""
        out = programme.copy()
        if not len(out):
            out["candidate_site_id"] = pd.Series(dtype=object)
            return out
        key = pd.MultiIndex.from_frame(out[[F.VARIANT, F.SUBSTATION_ID]])
        best = self.best()
        ids = best.reindex(key).to_numpy() if len(best) else np.full(len(out), None, dtype=object)
        out["candidate_site_id"] = np.where(_new_stations(out), ids, None)
        out["candidate_site_id"] = out["candidate_site_id"].astype(object).where(out["candidate_site_id"].notna(), None)
        return out

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The vector results by layer name: ``candidate_sites`` and ``mvlv_stations``."""
        return {"candidate_sites": self.candidates, "mvlv_stations": self.mvlv}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem: ``candidate_sites``, ``mvlv_stations``, ``mvlv_substations``."""
        return {"candidate_sites": pd.DataFrame(self.candidates.drop(columns="geometry")),
                "mvlv_stations": pd.DataFrame(self.mvlv.drop(columns="geometry")),
                "mvlv_substations": self.mvlv_substations}


def _new_stations(programme: pd.DataFrame) -> np.ndarray:
    """The programme's rows that propose a new electricity substation (other carriers' nodes take no land here)."""
    new = programme["intervention"].to_numpy() == "new_substation"
    if F.CARRIER in programme:
        new &= programme[F.CARRIER].fillna(F.ELECTRICITY).to_numpy() == F.ELECTRICITY
    return new


def enabled(result) -> bool:
    """Whether a run computes the siting part (``siting.enabled`` of the base variant)."""
    from ..config import BASE_VARIANT

    return bool(result.project.variants[BASE_VARIANT]["siting.enabled"])


def _short_substations(headroom: pd.DataFrame, variant: str, years: list[int]) -> set[str]:
    from ..headroom import is_short

    h = headroom[(headroom[F.VARIANT] == variant) & headroom[F.YEAR].isin(years)]
    return set(h.loc[is_short(h[F.HEADROOM_MW]).to_numpy(), F.SUBSTATION_ID])


def _site_geoms(layers: dict[str, gpd.GeoDataFrame], keys: pd.DataFrame) -> np.ndarray:
    """The geometry of each ``(layer, site_id)`` row of ``keys`` (None where the layer lacks it)."""
    out = np.full(len(keys), None, dtype=object)
    for kind, idx in keys.groupby(F.LAYER).groups.items():
        g = layers.get(kind)
        if g is None:
            continue
        geo = pd.Series(np.asarray(g.geometry.values, dtype=object), index=g["id"].to_numpy())
        geo = geo[~geo.index.duplicated()]
        out[keys.index.get_indexer(idx)] = geo.reindex(keys.loc[idx, F.SITE_ID].to_numpy()).to_numpy()
    return out


def _remaining_conflicts(cands: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame], rules,
                         crs) -> pd.DataFrame:
    """Per candidate: the conflicts it would still have, by the conflicts engine (``n, worst, rule ids``)."""
    from ..conflicts import RuleSet, compute_conflicts
    from ..conflicts.rules import SEVERITY_RANK

    mine = role_rules(rules)
    out = pd.DataFrame({"n_conflicts": 0, "worst_severity": None, "conflict_rules": ""}, index=cands.index)
    if not mine or not len(cands):
        return out
    subset = RuleSet(tuple(r for r, _, _ in mine), lookups=rules.lookups)
    base = gpd.GeoDataFrame({"id": cands["candidate_id"].to_numpy(),
                             "capacity_mva": cands["capacity_mva"].to_numpy()}, geometry=cands.geometry.to_numpy(),
                            crs=crs)
    feed = {name: layers[name] for _, _, name in mine if name in layers}
    feed.update({role: base for role in ROLES})
    found = compute_conflicts(feed, subset, crs=crs)  # its remarks on the layers repeat the conflicts stage's
    rank_of = {v: k for k, v in SEVERITY_RANK.items()}
    n = np.zeros(len(cands), dtype=int)
    worst = np.zeros(len(cands), dtype=int)
    ids = [set() for _ in range(len(cands))]
    for role in ROLES:
        s = found.summary.get(role)
        if s is None:
            continue
        s = s.reset_index(drop=True)
        n += s["n_conflicts"].to_numpy(dtype=int)
        worst = np.maximum(worst, s["worst_severity_rank"].to_numpy(dtype=int))
        for i, r in enumerate(s["rule_ids"].fillna("").astype(str)):
            ids[i] |= {x for x in r.split(",") if x}
    out["n_conflicts"] = n
    out["worst_severity"] = [rank_of.get(int(w)) for w in worst]
    out["conflict_rules"] = [",".join(sorted(x)) for x in ids]
    return out


def compute_siting(result, programme: pd.DataFrame | None, *, notices: NoticeLog | None = None) -> SitingResult:
    """Surfaces, candidate sites for the programme's new substations, and MV/LV stations (pure).

    Parameters
    ----------
    result : RunResult
        The computed run (layers, demand, assignment, headroom, service areas).
    programme : DataFrame or None
        The programme of interventions (``RankingResult.programme``): rows
        with ``intervention == "new_substation"`` get candidate sites of
        ``land_m2 / n_new_stations`` each.
    notices : NoticeLog, optional
        Receives what was left out and why.

    Returns
    -------
    SitingResult

    Raises
    ------
    ProjectError
        When the cell size gives more cells than ``siting.max_cells``, or all
        suitability weights are 0.
    """
    from ..config import BASE_VARIANT
    from ..outputs import milestone_years

    notices = notices if notices is not None else NoticeLog()
    plan = result.plan
    project = plan.project
    base_v = BASE_VARIANT if BASE_VARIANT in set(result.headroom[F.VARIANT]) else result.headroom[F.VARIANT].iat[0]
    params = project.variants[base_v]
    region = plan.region
    margin = float(params["siting.search_margin_m"])
    bounds = region.bounds if not region.is_empty else (0, 0, 1, 1)
    cell_m = float(params["siting.cell_size_m"])
    max_cells = float(params["siting.max_cells"])
    grid = Grid.covering(bounds, cell_m=cell_m, margin_m=margin)
    windowed = grid.width * grid.height > max_cells
    if windowed:  # the whole country at 25 m: overview surfaces, candidates searched in windows at cell_m
        fine = grid
        ov_m = max(float(params["siting.overview_cell_size_m"]), cell_m)
        grid = Grid.covering(bounds, cell_m=ov_m, margin_m=margin, max_cells=max_cells)
        notices.add("siting", f"the region at siting.cell_size_m = {cell_m:g} m would be {fine.width * fine.height:,} "
                    f"cells, more than siting.max_cells = {max_cells:,.0f}: the surfaces are written at {ov_m:g} m "
                    f"(siting.overview_cell_size_m); candidate sites are still fitted at {cell_m:g} m cells, in a "
                    f"window around each search area, against the exclusion at {cell_m:g} m and the other factors "
                    f"(density, distances) of the {ov_m:g} m cell they lie in", level="info")
    weights = {k: float(v) for k, v in params.group("siting.weight").items()}
    if sum(weights.values()) <= 0:
        raise ProjectError("siting.weight.*: every weight is 0 - give at least one surface a weight > 0")
    scales = {k: float(params[p]) for k, (how, p) in FACTORS.items() if how == "distance"}
    smoothing_m = float(params["siting.density_smoothing_m"])
    layers = {**plan.layers, **plan.constraints}
    rules = plan.reference.conflict_rules
    years = milestone_years(project.years)
    crs = plan.layers["substations"].crs

    hv = plan.layers.get("hv_lines")
    hv_geoms = np.asarray(hv.geometry.values, dtype=object) if hv is not None and len(hv) else np.zeros(0, object)
    if not len(hv_geoms):
        notices.add("hv_lines", "no HV lines in the plan: the distance to HV lines is left out of the suitability",
                    level="info", fix="add an hv_lines layer to weigh the distance to a connection")
    hv_union = shapely.union_all(hv_geoms) if len(hv_geoms) else None

    prog = programme if programme is not None else pd.DataFrame(columns=[F.VARIANT, "intervention"])
    new = prog[_new_stations(prog)] if len(prog) else prog
    max_searches = int(params["siting.max_searches"])
    if len(new) > max_searches:  # the first by programme rank, each variant's first in turn
        by = ["programme_rank"] if "programme_rank" in new else []
        order = new.assign(_v=new[F.VARIANT].map({v: i for i, v in enumerate(dict.fromkeys(new[F.VARIANT]))}))
        order = order.sort_values([*by, "_v"], kind="stable")
        left = order.iloc[max_searches:]
        new = new[new.index.isin(order.index[:max_searches])]
        notices.add("siting", f"{len(left):,} of the programme's {len(left) + len(new):,} new substations get no "
                    f"candidate site in this run (siting.max_searches = {max_searches}: the first by programme "
                    f"rank are searched), e.g. {', '.join(map(str, left[F.SUBSTATION_ID].head(5)))}",
                    level="warning", fix="raise siting.max_searches in [parameters] to search them too")
    variants = list(dict.fromkeys([base_v, *new[F.VARIANT].tolist()])) if len(new) else [base_v]
    min_sev = int(params["siting.exclude_min_severity"])
    excl_cache: dict[tuple, np.ndarray] = {}
    zones_of: dict[float, list] = {}  # per station MVA: the features that exclude it and their zones

    def excluded_for(g: Grid, mva: float) -> np.ndarray:
        if mva not in zones_of:
            zones_of[mva] = exclusion_zones(layers, rules, capacity_mva=mva, min_severity=min_sev,
                                            constraints=tuple(plan.constraints))  # remarks: as the conflicts stage's
        if (g, mva) not in excl_cache:
            excl_cache[(g, mva)] = exclusion(g, layers, rules, capacity_mva=mva, min_severity=min_sev,
                                             constraints=tuple(plan.constraints), zones=zones_of[mva])
        return excl_cache[(g, mva)]

    # the sites each variant's short substations serve; the distance to them from one burn of the sites every
    # variant shares and each variant's own (an all-touched burn of a set is the union of its members' burns)
    short_of: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    for v in variants:
        short = _short_substations(result.headroom, v, years)
        a = result.assignment[result.assignment[F.SUBSTATION_ID].isin(short) & (result.assignment[F.SHARE] > 0)]
        a = a.drop_duplicates([F.LAYER, F.SITE_ID, F.SUBSTATION_ID]).reset_index(drop=True)
        short_of[v] = (a, _site_geoms(plan.layers, a))
    # the distances to them: the base variant's and the HV lines' here, the other variants' where they are
    # searched (beside the base's search, on a large grid)
    set_of, masks = distance_masks(grid, short_of, hv_geoms)
    dists = distances_m(grid, {k: masks[k] for k in dict.fromkeys([set_of[base_v], "hv_lines"]) if k in masks})
    hv_dist = dists.get("hv_lines")

    def short_distance(v: str) -> np.ndarray | None:
        return None if set_of[v] is None else dists[set_of[v]]
    search_of: dict[str, tuple] = {}  # per substation: its search area, the grid searched, the window and its cells
    served_of: dict[tuple, shapely.Geometry | None] = {}  # per set of short sites served: their union

    # the density of the new sites' offtake: the base variant's at every milestone year, the others' at the last;
    # the cells of all their sites found once, each density burnt on them
    offtake = new_offtake_mw(result.demand, variants, years)
    wanted = [(base_v, y) for y in years] + [(v, years[-1]) for v in variants[1:]]
    sets = [offtake.get(k, offtake[None]) for k in wanted]
    keys = pd.concat([f[[F.LAYER, F.SITE_ID]] for f in sets], ignore_index=True).drop_duplicates()
    keys = keys.sort_values([F.LAYER, F.SITE_ID], kind="stable").reset_index(drop=True)  # as each set is sorted
    at = pd.MultiIndex.from_frame(keys)
    mw = np.zeros((len(keys), len(wanted)))
    for j, f in enumerate(sets):
        mw[at.get_indexer(pd.MultiIndex.from_frame(f[[F.LAYER, F.SITE_ID]])), j] = f[F.OFFTAKE_MW].to_numpy()
    cells = site_cells(grid, _site_geoms(plan.layers, keys))
    density_of = {k: mw[:, j] for j, k in enumerate(wanted)}

    def search_variant(v: str, log: NoticeLog) -> tuple[dict[str, np.ndarray], list[dict]]:
        """One variant's candidate sites (and the base variant's surfaces), its notices into ``log``."""
        own: dict[str, np.ndarray] = {}
        rows_v: list[dict] = []
        vp = project.variants[v]
        a, short_geoms = short_of[v]
        if short_distance(v) is None and v == base_v:
            log.add("siting", f"variant {v}: no substation is short in a milestone year: no distance to short "
                    "demand and no candidate sites", level="info")
        rows = new[new[F.VARIANT] == v] if len(new) else new
        mvas = [float(r["added_installed_mva"]) / max(int(r["n_new_stations"]), 1) for _, r in rows.iterrows()]
        dens = {y: cells.density_kw_ha(density_of[(v, y)]) for y in (years if v == base_v else years[-1:])}
        factors = (_factors_on(grid, dens[years[-1]], short_distance=short_distance(v), hv_distance=hv_dist,
                               smoothing_m=smoothing_m) if v == base_v or len(rows) else {})
        if v == base_v:
            mva0 = max(mvas) if mvas else 0.0
            ex = excluded_for(grid, mva0)
            for y in years:
                own[f"demand_density_kw_ha_{y}"] = dens[y]
            own["exclusion"] = ex.astype("uint8")
            if "distance_to_short_demand" in factors:
                own["distance_to_short_demand_m"] = factors["distance_to_short_demand"]
            if "distance_to_hv_lines" in factors:
                own["distance_to_hv_lines_m"] = factors["distance_to_hv_lines"]
            own["suitability"] = suitability(factors, weights, ex, scales=scales)
        searches = []  # per row: (row, mva, the grid searched, the search area on it)
        # the suitability is worked out in each search window only (cell by cell, but for the scale of a "max"
        # factor): scaled as the region's suitability surface is (in float32 the largest of the fine cells
        # resampled from the overview is the overview's)
        tops = scale_tops(factors)
        for (_, r), mva in zip(rows.iterrows(), mvas, strict=True):
            sid = r[F.SUBSTATION_ID]
            if sid not in search_of:  # the same for every variant
                area = result.service_areas[result.service_areas[F.SUBSTATION_ID] == sid]
                search = shapely.union_all(np.asarray(area.geometry.values)).buffer(margin) if len(area) else None
                search_of[sid] = None if search is None or search.is_empty else _search_window(
                    Grid.covering(search.bounds, cell_m=cell_m) if windowed else grid, search)
            if search_of[sid] is None:
                log.add("siting", f"{sid}: no service area to search a new substation site in", feature=sid)
                continue
            searches.append((r, mva, search_of[sid]))
        for r, mva, (searched, rs, cs, sub, inside) in searches:
            sid = r[F.SUBSTATION_ID]
            # windowed: the factors of the overview cell each fine cell lies in; the exclusion at the fine cells
            fac = {k: (grid.resample(arr, searched) if windowed else arr)[rs, cs] for k, arr in factors.items()}
            land = float(r["land_m2"]) / max(int(r["n_new_stations"]), 1)
            win = suitability(fac, {k: float(x) for k, x in vp.group("siting.weight").items()},
                              excluded_for(searched, mva)[rs, cs], scales=scales, tops=tops)
            found = best_footprints(sub, inside & np.isfinite(win), win, land_m2=land,
                                    aspect=float(vp["siting.footprint_aspect"]),
                                    angle_step_deg=float(vp["siting.angle_step_deg"]))
            found = found[: int(vp["siting.max_candidates_per_substation"])]
            if not found:
                log.add("siting", f"variant {v}, {sid}: no site of {land:,.0f} m2 fits in its service area and "
                        f"{margin:g} m around it", feature=sid, level="warning",
                        fix="lower siting.exclude_min_severity, widen siting.search_margin_m or reserve land")
            served = a[a[F.SUBSTATION_ID] == sid]
            known = served.index.to_numpy()[pd.notna(short_geoms[served.index.to_numpy()])]
            key = tuple(zip(a[F.LAYER].to_numpy()[known].tolist(), a[F.SITE_ID].to_numpy()[known].tolist(),
                            strict=True))
            if len(served) and key not in served_of:  # the same sites in the same order: the same union
                served_of[key] = shapely.union_all(short_geoms[known])
            served_geom = served_of[key] if len(served) else None
            for k, c in enumerate(found, start=1):
                g = c["geometry"]
                rows_v.append({
                    F.VARIANT: v, "candidate_id": f"K-{v}-{sid}-{k}", F.SUBSTATION_ID: sid, "candidate_rank": k,
                    "score": c["score"], "land_m2": land, "area_m2": float(g.area), "angle_deg": c["angle_deg"],
                    "group_area_m2": c["group_area_m2"], "capacity_mva": mva,
                    "distance_to_demand_m": float(shapely.distance(g, served_geom))
                    if served_geom is not None and not served_geom.is_empty else np.nan,
                    "distance_to_hv_line_m": float(shapely.distance(g, hv_union)) if hv_union is not None else np.nan,
                    "geometry": g,
                })
        return own, rows_v

    def later(log: NoticeLog) -> tuple[list[dict], NoticeLog, list[pd.DataFrame]]:
        """The other variants' candidate sites and every variant's MV/LV stations (nothing the base variant's
        search needs or changes, so it may run beside it)."""
        dists.update(distances_m(grid, {k: masks[k] for k in dict.fromkeys(set_of[v] for v in variants[1:])
                                        if k is not None and k not in dists}))
        rows_l = [row for v in variants[1:] for row in search_variant(v, log)[1]]
        mv_l = [mvlv_stations(plan.layers, result.demand, project.variants[v], variant=v, year=project.years[-1])
                for v in dict.fromkeys(result.headroom[F.VARIANT])]
        return rows_l, log, mv_l

    # the base variant here, the others in a process of their own meanwhile (spatialprog.processes) when the
    # grid is large enough to pay for the fork; the notices as one after the other would give them
    if can_fork() and len(variants) > 1 and grid.width * grid.height >= BESIDE_CELLS:
        with beside(later, NoticeLog()) as job:
            surfaces, cand_rows = search_variant(base_v, notices)
        rows_l, log, mv_parts = job.result()
    else:
        surfaces, cand_rows = search_variant(base_v, notices)
        rows_l, log, mv_parts = later(NoticeLog())
    cand_rows += rows_l
    notices.extend(log)
    cands = gpd.GeoDataFrame(cand_rows, columns=[*CANDIDATE_COLUMNS[:-3], "geometry"], geometry="geometry", crs=crs)
    if len(new) == 0:
        notices.add("siting", "the programme proposes no new substation: no candidate sites searched", level="info")
    conf = _remaining_conflicts(cands, layers, rules, crs)
    for c in ("n_conflicts", "worst_severity", "conflict_rules"):
        cands[c] = conf[c].to_numpy() if len(cands) else pd.Series(dtype=object)
    cands = cands[[*CANDIDATE_COLUMNS, "geometry"]]

    mv = gpd.GeoDataFrame(pd.concat(mv_parts, ignore_index=True), geometry="geometry", crs=crs)
    return SitingResult(grid=grid, surfaces=surfaces, candidates=cands, mvlv=mv,
                        mvlv_substations=mvlv_per_substation(mv, result.assignment), notices=notices)


def _factors_on(g: Grid, density_kw_ha: np.ndarray, *, short_distance: np.ndarray | None,
                hv_distance: np.ndarray | None, smoothing_m: float) -> dict[str, np.ndarray]:
    """The suitability's factor surfaces on the region's grid, from the last milestone year's density.

    A distance factor without features (None) is left out (the suitability re-weighs the rest).
    """
    out = {"demand_density": smoothed(density_kw_ha, g, smoothing_m)}
    for name, dist in (("distance_to_short_demand", short_distance), ("distance_to_hv_lines", hv_distance)):
        if dist is not None:
            out[name] = dist
    return out


def _search_window(searched: Grid, search: shapely.Geometry) -> tuple[Grid, slice, slice, Grid, np.ndarray]:
    """The grid searched, the window of the search area on it, that window's grid and its cells in the area."""
    rs, cs = searched.window(search)
    sub = searched.sub(rs, cs)
    return searched, rs, cs, sub, sub.rasterize([search]).astype(bool)
