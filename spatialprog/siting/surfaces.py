"""The siting surfaces: demand density, exclusion, distances and the weighted suitability.

Each function takes a :class:`~spatialprog.siting.grid.Grid` and in-memory
layers and returns an array of the grid's shape (pure: no files).

``demand_density_kw_ha``
    The new developments' electricity offtake per hectare in one year: a
    site's kW spread evenly over its area, summed where sites overlap.
``exclusion``
    Where a new substation may not go, from the land-claim rules
    (``data/conflict_rules.csv`` with the project's overrides): a substation
    reserve (or a substation, for the zone rules keyed by its MVA) would
    conflict there at ``siting.exclude_min_severity`` or worse. The features
    and zones come from the plan's layers, which the constraint layers and
    zone sources were read for with the conflicts stage's margin around the
    region, so a zone reaching in from across the border excludes too.
    Constraint layers without a rule for substations exclude as a whole.
``distance_m``
    Euclidean distance (m) from every cell to the nearest cell of a mask
    (:func:`scipy.ndimage.distance_transform_edt`).
``suitability``
    ``sum_i w_i s_i / sum_i w_i`` over the factor surfaces present, each
    scaled to 0..1 (1 = best); excluded cells are NaN.

Examples
--------
>>> import numpy as np
>>> suitability({"distance_to_short_demand": np.array([[0.0, 2500.0, 5000.0, 9000.0]])},
...             {"distance_to_short_demand": 1.0}, np.zeros((1, 4), bool),
...             scales={"distance_to_short_demand": 5000.0}).tolist()
[[1.0, 0.5, 0.0, 0.0]]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from .. import fields as F
from ..conflicts.rules import SEVERITY_RANK, Rule, RuleSet
from ..errors import NoticeLog
from .grid import Grid

__all__ = ["ROLES", "FACTORS", "demand_density_kw_ha", "SiteCells", "site_cells", "site_mask", "exclusion",
           "exclusion_zones", "ExclusionZones", "distance_m", "distances_m", "distance_masks", "new_offtake_mw",
           "scale_tops", "smoothed", "suitability", "role_rules", "near_grid"]

#: the layer names a candidate site takes in the conflict rules: a land reserve, and a substation for the
#: distance zones keyed by its capacity (VNG)
ROLES = ("substation_reserves", "substations")

#: the factor surfaces of the suitability and how each scales to 0..1: by distance (1 at 0 m, 0 at the
#: parameter's distance) or by the largest value on the grid
FACTORS = {
    "demand_density": ("max", None),
    "distance_to_short_demand": ("distance", "siting.distance_scale_short_demand_m"),
    "distance_to_hv_lines": ("distance", "siting.distance_scale_hv_lines_m"),
}


def _polygons_and_points(geoms: np.ndarray, cell_area_m2: float) -> tuple[np.ndarray, np.ndarray]:
    """Which geometries burn as areas, and which as the cell they are in (points, lines, areas under a cell)."""
    area = shapely.area(geoms)
    big = area >= cell_area_m2
    return big, ~big


def demand_density_kw_ha(grid: Grid, geoms: np.ndarray, offtake_mw: np.ndarray) -> np.ndarray:
    """Offtake of the new developments per hectare (kW/ha), float32.

    A polygon site of ``P`` MW over ``A`` m2 puts ``1000 P / (A / 10000)`` kW/ha
    on every cell whose centre it covers; a point site (or one smaller than a
    cell) puts its kW on the cell it is in, per that cell's hectares. Overlapping
    sites add up.

    Examples
    --------
    >>> g = Grid(x0=0.0, y0=200.0, cell_m=100.0, width=2, height=2)
    >>> site = shapely.box(0, 100, 200, 200)          # 2 ha, 1 MW
    >>> demand_density_kw_ha(g, np.array([site]), np.array([1.0])).tolist()
    [[500.0, 500.0], [0.0, 0.0]]
    """
    return site_cells(grid, geoms).density_kw_ha(offtake_mw)


@dataclass(frozen=True)
class SiteCells:
    """The cells of a set of sites on a grid, found once (:func:`site_cells`): the demand density of any
    offtake of those sites is then burnt on them without testing a cell again (:meth:`density_kw_ha`)."""

    grid: Grid
    big: np.ndarray  # the sites burnt as areas (by the cells whose centre they cover)
    small: np.ndarray  # the sites burnt on the cell their point on surface lies in
    kw_ha_per_mw_big: np.ndarray  # 1000 / hectares of each area site
    cells: list  # Grid.centre_cells of the area sites
    points: np.ndarray  # the small sites' points on surface

    def density_kw_ha(self, offtake_mw: np.ndarray) -> np.ndarray:
        """:func:`demand_density_kw_ha` of ``offtake_mw`` (one value per site; 0 or less: not burnt), float32.

        A site without offtake adds nothing (its cells get ``+ 0.0``), so the sums are those of burning the
        sites with offtake alone, in the same order."""
        mw = np.asarray(offtake_mw, dtype="float64")
        mw = np.where(mw > 0, mw, 0.0)
        out = np.zeros(self.grid.shape, dtype="float64")
        if self.big.any() and mw[self.big].any():
            out += self.grid.burn_cells(self.cells, mw[self.big] * self.kw_ha_per_mw_big, add=True, dtype="float64")
        if self.small.any() and mw[self.small].any():
            out += self.grid.rasterize(self.points, mw[self.small] * 1000.0 / (self.grid.cell_area_m2 / 1e4),
                                       add=True, dtype="float64")
        return out.astype("float32")


def site_cells(grid: Grid, geoms: np.ndarray) -> SiteCells:
    """The cells of ``geoms`` on ``grid`` for :meth:`SiteCells.density_kw_ha` (missing and empty ones: none).

    Examples
    --------
    >>> g = Grid(x0=0.0, y0=200.0, cell_m=100.0, width=2, height=2)
    >>> cells = site_cells(g, np.array([shapely.box(0, 100, 200, 200), shapely.Point(150, 50)]))
    >>> cells.density_kw_ha(np.array([1.0, 0.0])).tolist(), cells.density_kw_ha(np.array([0.0, 0.1])).tolist()
    ([[500.0, 500.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 100.0]])
    """
    geoms = np.asarray(geoms, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, bool)
    big, small = _polygons_and_points(np.where(present, geoms, None), grid.cell_area_m2)
    big &= present
    small &= present
    areas = geoms[big]
    cells = grid.centre_cells(areas) if len(areas) else []
    return SiteCells(grid=grid, big=big, small=small,
                     kw_ha_per_mw_big=1000.0 / (shapely.area(areas) / 1e4), cells=cells,
                     points=shapely.point_on_surface(geoms[small]))


def site_mask(grid: Grid, geoms: np.ndarray) -> np.ndarray:
    """Cells a set of sites covers (every cell a site touches; a point's cell)."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.zeros(grid.shape, dtype=bool)
    return grid.rasterize(geoms, all_touched=True).astype(bool)


def role_rules(rules: RuleSet) -> list[tuple[Rule, str, str]]:
    """The enabled rules between a candidate site and another layer: ``(rule, role, other layer)``.

    A rule between two of :data:`ROLES` (a reserve beside a substation) says
    nothing about where a new one may go and is left out.
    """
    out = []
    for r in rules.enabled:
        a, b = r.layer_a in ROLES, r.layer_b in ROLES
        if a != b:
            out.append((r, r.layer_a if a else r.layer_b, r.layer_b if a else r.layer_a))
    return out


def _zone_m(rule: Rule, rules: RuleSet, other: gpd.GeoDataFrame, other_side: str, capacity_mva: float,
            notices: NoticeLog) -> np.ndarray:
    """The zone distance per feature of ``other`` for a within_distance rule (0 for overlap / inside).

    The conflicts stage's own lookup (:func:`spatialprog.conflicts.engine.zone_distances`): from the other
    layer's attribute (an HV line's voltage), or from the candidate's (a new station's MVA).
    """
    from ..conflicts.engine import zone_distances
    from ..conflicts.prepare import prepare_layer

    n = len(other)
    if rule.kind != "within_distance":
        return np.zeros(n)
    if other_side == "layer_b" or rule.distance_lookup is None:
        return zone_distances(rule, rules, prepare_layer(getattr(rule, other_side), other, other.crs, notices), notices)
    me = gpd.GeoDataFrame({"id": ["candidate"], rule.lookup_attribute: [float(capacity_mva)]},
                          geometry=[shapely.Point(0, 0)], crs=other.crs)
    return np.full(n, float(zone_distances(rule, rules, prepare_layer(rule.layer_b, me, me.crs, notices),
                                            notices)[0]))


@dataclass
class ExclusionZones:
    """The features that exclude a new station, with their zone distances (see :func:`exclusion_zones`).

    Attributes
    ----------
    geoms : ndarray of shapely geometries
    dist_m : ndarray of float
        The zone around each feature (0: the feature itself).
    grown : ndarray of object
        Each feature grown by its zone, filled in as windows need them (None until then).
    """

    geoms: np.ndarray
    dist_m: np.ndarray
    grown: np.ndarray


def exclusion_zones(layers: Mapping[str, gpd.GeoDataFrame], rules: RuleSet, *, capacity_mva: float,
                    min_severity: int, constraints: tuple[str, ...] = (),
                    notices: NoticeLog | None = None) -> list[ExclusionZones]:
    """What :func:`exclusion` burns, independent of the grid: per rule (and per no-go constraint layer) the
    features and their zones, so that the windows of a national run look them up once."""
    notices = notices if notices is not None else NoticeLog()
    worst: dict[str, int] = {}
    out: list[ExclusionZones] = []
    for rule, _role, other in role_rules(rules):
        worst[other] = max(worst.get(other, 0), SEVERITY_RANK[rule.severity])
        df = layers.get(other)
        if df is None or not len(df) or SEVERITY_RANK[rule.severity] < min_severity:
            continue
        geoms = np.asarray(df.geometry.values, dtype=object)
        side = "layer_b" if rule.layer_b == other else "layer_a"
        d = _zone_m(rule, rules, df, side, capacity_mva, notices)
        if rule.kind != "within_distance":  # overlap / inside: only area claims take land
            poly = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
            geoms, d = geoms[poly], d[poly]
        out.append(ExclusionZones(geoms, np.asarray(d, dtype="float64"), np.full(len(geoms), None, dtype=object)))
    for name in constraints:  # a constraint no rule pairs with a substation: no-go as a whole
        df = layers.get(name)
        if name not in worst and df is not None and len(df):
            geoms = np.asarray(df.geometry.values, dtype=object)
            out.append(ExclusionZones(geoms, np.zeros(len(geoms)), np.full(len(geoms), None, dtype=object)))
    return out


def exclusion(grid: Grid, layers: Mapping[str, gpd.GeoDataFrame], rules: RuleSet, *, capacity_mva: float,
              min_severity: int, constraints: tuple[str, ...] = (), notices: NoticeLog | None = None,
              zones: list[ExclusionZones] | None = None) -> np.ndarray:
    """Cells where a new substation of ``capacity_mva`` may not go (True = excluded).

    Parameters
    ----------
    grid : Grid
    layers : mapping of str -> GeoDataFrame
        The plan's layers and constraint layers, by the names the rules use.
    rules : RuleSet
        ``plan.reference.conflict_rules``.
    capacity_mva : float
        Installed MVA of the new station (keys the VNG zone of rules on
        ``substations``).
    min_severity : int
        1 = laag ... 3 = hoog: rules at least this severe exclude.
    constraints : tuple of str
        The constraint layers; those no rule pairs with a candidate exclude
        wherever they lie.
    notices : NoticeLog, optional
        Receives the conflicts stage's remarks (a zone source without its attribute).
    zones : list of ExclusionZones, optional
        :func:`exclusion_zones` of the same arguments, made once for many grids (its features are
        grown by their zones only once, as the grids need them).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> from spatialprog.conflicts import Rule, RuleSet
    >>> g = Grid(x0=0.0, y0=100.0, cell_m=25.0, width=4, height=4)
    >>> house = gpd.GeoDataFrame({"id": ["H"]}, geometry=[shapely.box(0, 75, 25, 100)], crs="EPSG:28992")
    >>> r = RuleSet((Rule("X", "housing_sites", "substation_reserves", "overlap", "hoog", "x"),))
    >>> exclusion(g, {"housing_sites": house}, r, capacity_mva=80, min_severity=2).astype(int).tolist()[0]
    [1, 0, 0, 0]
    """
    if zones is None:
        zones = exclusion_zones(layers, rules, capacity_mva=capacity_mva, min_severity=min_severity,
                                constraints=constraints, notices=notices)
    mask = np.zeros(grid.shape, dtype=bool)
    for z in zones:
        near = np.flatnonzero(near_grid(grid, z.geoms, z.dist_m))
        if not len(near):
            continue
        if (z.dist_m[near] > 0).any():  # grown (each feature by its own zone: the same alone or in a batch)
            todo = near[shapely.is_missing(z.grown[near])]
            if len(todo):
                z.grown[todo] = shapely.buffer(z.geoms[todo], z.dist_m[todo])
            geoms = z.grown[near]
        else:
            geoms = z.geoms[near]
        mask |= grid.rasterize(geoms, all_touched=True).astype(bool)
    return mask


def near_grid(grid: Grid, geoms: np.ndarray, reach_m: np.ndarray | float = 0.0) -> np.ndarray:
    """Which geometries (grown by ``reach_m``) can touch the grid: a bounding-box test, vectorised.

    A window of a national region burns only what is near it (a 1e5-feature layer
    is not buffered and rasterized for every window).

    Examples
    --------
    >>> g = Grid(x0=0.0, y0=100.0, cell_m=25.0, width=4, height=4)
    >>> near_grid(g, np.array([shapely.Point(50, 50), shapely.Point(300, 50)]), 250.0).tolist()
    [True, True]
    >>> near_grid(g, np.array([shapely.Point(50, 50), shapely.Point(300, 50)])).tolist()
    [True, False]
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    b = shapely.bounds(geoms)
    r = np.broadcast_to(np.asarray(reach_m, dtype="float64"), len(geoms))
    x0, y0, x1, y1 = grid.bounds
    with np.errstate(invalid="ignore"):  # missing geometries have NaN bounds: never near
        return (b[:, 0] - r <= x1) & (b[:, 2] + r >= x0) & (b[:, 1] - r <= y1) & (b[:, 3] + r >= y0)


def distance_m(grid: Grid, mask: np.ndarray) -> np.ndarray | None:
    """Distance (m) from each cell centre to the nearest cell centre of ``mask``; None when it is empty.

    Examples
    --------
    >>> g = Grid(x0=0.0, y0=25.0, cell_m=25.0, width=4, height=1)
    >>> distance_m(g, np.array([[True, False, False, False]])).tolist()
    [[0.0, 25.0, 50.0, 75.0]]
    """
    if not mask.any():
        return None
    return ndimage.distance_transform_edt(~mask, sampling=grid.cell_m).astype("float32")


def distances_m(g: Grid, masks: Mapping) -> dict:
    """:func:`distance_m` of every mask, +inf everywhere for an empty one (0 after scaling).

    The transforms run on every core, one mask each (scipy's Euclidean transform lets go of the GIL; the
    national overview grid at 100 m is 7 million cells, about a second each): the same arrays as one
    after the other.
    """

    def one(mask: np.ndarray) -> np.ndarray:
        dist = distance_m(g, mask)
        return dist if dist is not None else np.full(g.shape, np.inf, dtype="float32")

    workers = min(len(masks), os.cpu_count() or 1)
    if workers <= 1:
        return {k: one(m) for k, m in masks.items()}
    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(masks, pool.map(one, masks.values()), strict=True))


def distance_masks(g: Grid, short_of: dict[str, tuple[pd.DataFrame, np.ndarray]], hv_geoms: np.ndarray
                   ) -> tuple[dict[str, frozenset | None], dict[object, np.ndarray]]:
    """The masks whose distances the suitability weighs (:func:`distances_m`): per variant the key
    of the mask of the sites its short substations serve (None when there are none), and the masks by key,
    with ``"hv_lines"`` the HV lines' (when there are any).

    The sites all variants share are burnt once, and each variant adds its own: burning a set of
    features is burning each (:func:`site_mask` burns every cell a feature touches), so the mask is
    the same as burning the variant's sites at once. Variants with the same sites share one mask.
    """
    keys: dict[str, list[tuple]] = {}
    geom_of: dict[tuple, shapely.Geometry] = {}
    for v, (a, geoms) in short_of.items():
        known = pd.notna(geoms)
        keys[v] = list(zip(a[F.LAYER].to_numpy()[known].tolist(), a[F.SITE_ID].to_numpy()[known].tolist(),
                           strict=True))
        geom_of.update(zip(keys[v], geoms[known], strict=True))
    sets = {v: frozenset(k) for v, k in keys.items()}
    common = frozenset.intersection(*sets.values()) if sets else frozenset()
    first = next(iter(keys.values()), [])
    shared = site_mask(g, np.array([geom_of[k] for k in dict.fromkeys(first) if k in common], dtype=object))
    masks: dict[object, np.ndarray] = {}
    for v, k in keys.items():
        if k and sets[v] not in masks:
            own = np.array([geom_of[x] for x in dict.fromkeys(k) if x not in common], dtype=object)
            masks[sets[v]] = shared | site_mask(g, own)
    if len(hv_geoms):
        masks["hv_lines"] = site_mask(g, hv_geoms)
    return {v: sets[v] if k else None for v, k in keys.items()}, masks


def new_offtake_mw(demand: pd.DataFrame, variants: list[str], years: list[int]) -> dict:
    """The electricity offtake (MW) of each new site (not ``existing``) per variant and milestone year, as
    ``(variant, year) -> frame of layer, site_id, offtake_mw`` sorted by layer and site; ``None`` -> an
    empty frame (a variant or year without any).

    One filter and one grouping of the national demand table (millions of rows) for all of them: the sums
    of a group add its rows in the table's order, as a grouping per variant and year does.
    """
    keys = [F.VARIANT, F.YEAR, F.LAYER, F.SITE_ID]
    m = (demand[F.CARRIER] == F.ELECTRICITY) & demand[F.VARIANT].isin(variants) & demand[F.YEAR].isin(years)
    if "existing" in demand:
        m &= ~demand["existing"].astype(bool)
    sums = demand.loc[m.to_numpy(), [*keys, F.OFFTAKE_MW]].groupby(keys, sort=True)[F.OFFTAKE_MW].sum().reset_index()
    out: dict = {None: sums.iloc[:0, 2:].reset_index(drop=True)}
    for (v, y), g in sums.groupby([F.VARIANT, F.YEAR], sort=False):
        out[(v, int(y))] = g.iloc[:, 2:].reset_index(drop=True)
    return out


def scale_tops(factors: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The value each ``"max"`` factor of :data:`FACTORS` is scaled by in :func:`suitability`: its largest on
    these surfaces. Passed as ``tops`` with a window of them, the window gets the cells of the whole.

    Examples
    --------
    >>> scale_tops({"demand_density": np.array([[1.0, 4.0], [np.nan, 2.0]]), "distance_to_hv_lines": np.ones((2, 2))})
    {'demand_density': 4.0}
    """
    return {k: float(np.nanmax(np.asarray(a, dtype="float32"))) if np.size(a) else 0.0
            for k, a in factors.items() if FACTORS[k][0] != "distance"}


def suitability(factors: Mapping[str, np.ndarray], weights: Mapping[str, float], excluded: np.ndarray, *,
                scales: Mapping[str, float], tops: Mapping[str, float] | None = None) -> np.ndarray:
    """The weighted suitability (0..1, NaN where excluded).

    Parameters
    ----------
    factors : mapping of str -> ndarray
        The factor surfaces present, keyed as in :data:`FACTORS` (a distance
        in m, or a density).
    weights : mapping of str -> float
        ``siting.weight.<factor>``; factors without a surface are left out
        and the rest re-weighted.
    excluded : ndarray of bool
    scales : mapping of str -> float
        The distance at which a distance factor reaches 0 (m).
    tops : mapping of str -> float, optional
        The value a ``"max"`` factor is scaled by (default: its largest value
        on this grid, :func:`scale_tops`; a window of a larger grid passes
        the larger grid's, so every window is scaled alike).

    Returns
    -------
    ndarray of float32
    """
    num = np.zeros(excluded.shape, dtype="float32")  # float32 throughout: a few full-size arrays at most
    total = 0.0
    tops = scale_tops(factors) if tops is None else tops
    for name, arr in factors.items():
        w = float(weights.get(name, 0.0))
        if w <= 0:
            continue
        how, _ = FACTORS[name]
        a = np.asarray(arr, dtype="float32")
        if how == "distance":
            s = 1.0 - np.clip(a / np.float32(scales[name]), 0.0, 1.0)
        else:
            top = float(tops[name]) if name in tops else scale_tops({name: a})[name]
            s = a / np.float32(top) if top > 0 else np.zeros_like(a)
        num += np.float32(w) * s
        total += w
    if total > 0:
        num /= np.float32(total)
    num[excluded] = np.nan
    return num


def smoothed(density: np.ndarray, grid: Grid, sigma_m: float) -> np.ndarray:
    """The density averaged over about ``sigma_m`` around each cell, for the suitability.

    Two passes of a box average ``2 sigma`` wide (close to a Gaussian, and its cost does not
    grow with the distance: :func:`scipy.ndimage.uniform_filter` keeps running sums).

    Examples
    --------
    >>> g = Grid(x0=0.0, y0=150.0, cell_m=25.0, width=6, height=6)
    >>> d = np.zeros((6, 6)); d[2, 2] = 9.0          # 9 kW/ha in one cell, spread over 5 x 5 cells
    >>> s = smoothed(d, g, 25.0)
    >>> round(float(s.sum()), 9), round(float(s[2, 2]), 9), round(float(s[0, 0]), 9)
    (9.0, 1.0, 0.111111111)
    """
    size = 2 * int(round(sigma_m / grid.cell_m)) + 1
    if size <= 1:
        return density
    once = ndimage.uniform_filter(density.astype("float64"), size=size, mode="constant")
    return np.maximum(ndimage.uniform_filter(once, size=size, mode="constant"), 0.0)  # running sums round below 0
