"""Site -> substation assignment: service areas, Voronoi, nearest.

The assignment is computed once and passed to headroom, ranking, maps and
the site check (tobler's precomputed source-to-target table). It is a table of
``(layer, site_id, substation_id, share, method, dist_m)``: a polygon site that
straddles two service areas gets one row per area, with ``share`` its area
fraction in each, so totals (MW, dwellings) are split and the shares of a site
always sum to 1 (or the site is reported as unassigned). The part of a site
outside every service area goes to the substation nearest to that part (not
to the whole site), within ``assignment.max_distance_m``.

Service areas of different substations must not overlap (a site there would
be split by a share that means nothing): :func:`area_overlaps` finds the
overlaps, which reading the layer refuses beyond a sliver tolerance.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .errors import AssignmentError, LayerValidationError, NoticeLog, Problem

__all__ = ["derive_service_areas", "area_overlaps", "assign_sites", "allocate", "ASSIGNMENT_COLUMNS"]

ASSIGNMENT_COLUMNS = [F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE, F.METHOD, F.DIST_M]
_EPS = 1e-9
#: an overlap of two areas smaller than this (m2) is floating-point noise along a shared border, not an overlap
_NOISE_M2 = 0.01


def area_overlaps(areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Overlaps between service areas of different substations.

    Parameters
    ----------
    areas : GeoDataFrame
        ``id``, ``substation_id``, polygons (valid).

    Returns
    -------
    DataFrame
        One row per overlapping pair: ``area, substation, other,
        other_substation, overlap_m2, share`` (of the smaller area), largest
        overlap first. Areas that only touch are not listed.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> a = gpd.GeoDataFrame({"id": ["SA", "SB"], "substation_id": ["A", "B"]},
    ...                      geometry=[box(0, 0, 100, 100), box(90, 0, 200, 100)], crs=28992)
    >>> area_overlaps(a)[["area", "other", "overlap_m2"]].values.tolist()
    [['SA', 'SB', 1000.0]]
    """
    cols = ["area", "substation", "other", "other_substation", "overlap_m2", "share"]
    geoms = np.asarray(areas.geometry.values)
    if len(geoms) < 2:
        return pd.DataFrame(columns=cols)
    ids = areas["id"].astype(str).to_numpy()
    subs = areas["substation_id"].astype(str).to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (a < b) & (subs[a] != subs[b])
    a, b = a[keep], b[keep]
    inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    smaller = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    share = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    m = inter > _NOISE_M2
    out = pd.DataFrame({"area": ids[a[m]], "substation": subs[a[m]], "other": ids[b[m]],
                        "other_substation": subs[b[m]], "overlap_m2": inter[m], "share": share[m]}, columns=cols)
    return out.sort_values(["overlap_m2", "area", "other"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)


def derive_service_areas(substations: gpd.GeoDataFrame, region: shapely.Geometry) -> gpd.GeoDataFrame:
    """Voronoi service areas of the substations, clipped to the region.

    Parameters
    ----------
    substations : GeoDataFrame
        Points with ``id``.
    region : shapely geometry
        The study region (e.g. the union of the municipality boundaries).

    Returns
    -------
    GeoDataFrame
        ``id``, ``substation_id``, geometry; one area per substation (those
        whose cell misses the region are left out).

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> s = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[Point(0, 0), Point(10, 0)], crs=28992)
    >>> a = derive_service_areas(s, box(-5, -5, 15, 5))
    >>> a.area.round(1).tolist()
    [100.0, 100.0]
    """
    pts = np.asarray(substations.geometry.values)
    ids = substations["id"].to_numpy()
    if len(pts) == 0:
        raise AssignmentError("substations: the layer is empty - cannot derive service areas")
    if len(pts) == 1:
        cells = np.array([region])
    else:
        env = shapely.envelope(shapely.union_all([region, *pts])).buffer(1000.0)
        vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=env))
        # match cells back to their generating point
        tree = shapely.STRtree(vor)
        pi, ci = tree.query(pts, predicate="intersects")
        order = np.argsort(pi, kind="stable")
        cell_of = {}
        for p, c in zip(pi[order], ci[order], strict=True):
            cell_of.setdefault(p, c)
        cells = np.array([vor[cell_of[i]] if i in cell_of else shapely.Point() for i in range(len(pts))], dtype=object)
    clipped = shapely.intersection(cells, region)
    keep = ~shapely.is_empty(clipped) & (shapely.area(clipped) > 0)
    return gpd.GeoDataFrame(
        {F.ID: [f"VA-{i}" for i in ids[keep]], F.SUBSTATION_ID: ids[keep]},
        geometry=clipped[keep],
        crs=substations.crs,
    )


def _check_areas(areas: gpd.GeoDataFrame, substations: gpd.GeoDataFrame) -> None:
    known = set(substations["id"])
    probs = [
        Problem("service_areas", f"substation_id '{s}' is not a substation id", fid, "substation_id",
                fix="use an id of the substations layer")
        for fid, s in zip(areas["id"], areas["substation_id"], strict=True)
        if s not in known
    ]
    if probs:
        raise LayerValidationError(probs)


def assign_sites(
    points: gpd.GeoDataFrame,
    substations: gpd.GeoDataFrame,
    service_areas: gpd.GeoDataFrame,
    *,
    method: str,
    max_distance_m: float,
    outside: str = "nearest",
    notices: NoticeLog | None = None,
) -> pd.DataFrame:
    """Assign every site (or its demand point) to the substation(s) serving it.

    Parameters
    ----------
    points : GeoDataFrame
        ``layer``, ``site_id`` and the geometry where the demand enters the
        grid (see :func:`spatialprog.demand.demand_points`).
    substations : GeoDataFrame
    service_areas : GeoDataFrame
        Given or derived areas with ``substation_id``.
    method : {"service_areas", "voronoi", "nearest"}
        How the areas came about (recorded per row); with ``"nearest"`` every
        site goes to its nearest substation within ``max_distance_m``.
    max_distance_m : float
        Largest distance for the nearest-substation fallback.
    outside : {"nearest", "unassigned"}
        What to do with (the part of) a site outside every area: ``nearest``
        sends it to the substation nearest to that part (the site minus the
        areas it touches), within ``max_distance_m``.
    notices : NoticeLog, optional
        Receives a notice per site not (fully) inside an area.

    Returns
    -------
    DataFrame
        ``layer, site_id, substation_id, share, method, dist_m``; shares of a
        site sum to 1; ``substation_id`` is empty and method ``unassigned``
        for what could not be assigned. Sorted by layer, site, substation.
    """
    notices = notices if notices is not None else NoticeLog()
    if len(substations) == 0:
        raise AssignmentError("substations: the layer is empty - there is nothing to assign sites to")
    if len(points) == 0:
        return pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    geoms = np.asarray(points.geometry.values)
    n = len(geoms)
    rows_site: list[np.ndarray] = []
    rows_sub: list[np.ndarray] = []
    rows_share: list[np.ndarray] = []
    rows_method: list[np.ndarray] = []
    rows_dist: list[np.ndarray] = []
    covered = np.zeros(n)
    #: site index -> its part outside every service area (where it differs from the whole site)
    outside_part: dict[int, shapely.Geometry] = {}

    if method != "nearest":
        _check_areas(service_areas, substations)
        agem = np.asarray(service_areas.geometry.values)
        asub = service_areas["substation_id"].to_numpy()
        tree = shapely.STRtree(agem)
        si, ai = tree.query(geoms, predicate="intersects")
        area_site = shapely.area(geoms)
        is_poly = area_site > 0
        # polygons: share = intersection area / site area
        pm = is_poly[si]
        if pm.any():
            inter = shapely.area(shapely.intersection(geoms[si[pm]], agem[ai[pm]]))
            share = inter / area_site[si[pm]]
            df = pd.DataFrame({"s": si[pm], "sub": asub[ai[pm]], "share": share})
            df = df[df["share"] > _EPS].groupby(["s", "sub"], as_index=False, sort=True)["share"].sum()
            np.add.at(covered, df["s"].to_numpy(), df["share"].to_numpy())
            # sites not covered exactly once (partly outside, or in a sliver overlap): the part outside
            # every area, and the inside shares scaled to what is inside
            inside = _outside_parts(geoms, area_site, covered, si[pm], ai[pm], agem, outside_part)
            scale = np.divide(inside, covered, out=np.ones_like(covered), where=covered > 0)
            df["share"] = df["share"].to_numpy() * scale[df["s"].to_numpy()]
            covered = np.where(covered > 0, inside, covered)
            rows_site.append(df["s"].to_numpy())
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(df["share"].to_numpy())
        # points (and degenerate polygons): the first area by substation id
        qm = ~pm
        if qm.any():
            df = pd.DataFrame({"s": si[qm], "sub": asub[ai[qm]]}).sort_values(["s", "sub"], kind="stable")
            df = df.drop_duplicates("s")
            rows_site.append(df["s"].to_numpy())
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(np.ones(len(df)))
            covered[df["s"].to_numpy()] = 1.0
        k = sum(len(r) for r in rows_site)
        rows_method.append(np.full(k, "service_area" if method == "service_areas" else method, dtype=object))
        rows_dist.append(np.zeros(k))
        # shares a hair above 1 from floating point: renormalise those sites
        covered = np.minimum(covered, 1.0)

    rest = 1.0 - covered
    todo = np.flatnonzero(rest > 1e-6)
    if len(todo) and (method == "nearest" or outside == "nearest"):
        sgeom = np.asarray(substations.geometry.values)
        sids = substations["id"].to_numpy()
        stree = shapely.STRtree(sgeom)
        # the part outside every area goes to the substation nearest to that part
        query = np.array([outside_part.get(int(i), geoms[i]) for i in todo], dtype=object)
        with np.errstate(all="ignore"):  # GEOS on parts with subnormal coordinates (1e-311) warns; the result holds
            qi, ti = stree.query_nearest(query, max_distance=max_distance_m, all_matches=True)
            dist = shapely.distance(query[qi], sgeom[ti]) if len(qi) else np.array([])
        if len(qi):
            df = pd.DataFrame({"q": qi, "sub": sids[ti], "d": dist}).sort_values(["q", "d", "sub"], kind="stable")
            df = df.drop_duplicates("q")
            s_idx = todo[df["q"].to_numpy()]
            rows_site.append(s_idx)
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(rest[s_idx])
            rows_method.append(np.full(len(df), "nearest", dtype=object))
            rows_dist.append(df["d"].to_numpy())
            if method != "nearest":
                for i in s_idx:
                    notices.add(points[F.LAYER].iat[i],
                                f"{rest[i]:.0%} of the site lies outside every service area; that part is assigned "
                                f"to the substation nearest to it", feature=points[F.SITE_ID].iat[i], level="warning",
                                fix="extend the service areas to cover it")
            rest[s_idx] = 0.0
    left = np.flatnonzero(rest > 1e-6)
    if len(left):
        rows_site.append(left)
        rows_sub.append(np.full(len(left), None, dtype=object))
        rows_share.append(rest[left])
        rows_method.append(np.full(len(left), "unassigned", dtype=object))
        rows_dist.append(np.full(len(left), np.nan))
        why = (f"no substation within {max_distance_m:g} m" if (method == "nearest" or outside == "nearest")
               else "outside every service area")
        for i in left:
            notices.add(points[F.LAYER].iat[i],
                        f"{rest[i]:.0%} of the site is not assigned to any substation ({why}); its demand is "
                        f"listed as unassigned, not in any headroom", feature=points[F.SITE_ID].iat[i],
                        level="warning", fix="check the site's location or add a service area covering it")

    site_idx = np.concatenate(rows_site) if rows_site else np.array([], dtype=int)
    out = pd.DataFrame(
        {
            F.LAYER: points[F.LAYER].to_numpy()[site_idx],
            F.SITE_ID: points[F.SITE_ID].to_numpy()[site_idx],
            F.SUBSTATION_ID: np.concatenate(rows_sub) if rows_sub else [],
            F.SHARE: np.concatenate(rows_share) if rows_share else [],
            F.METHOD: np.concatenate(rows_method) if rows_method else [],
            F.DIST_M: np.concatenate(rows_dist) if rows_dist else [],
        }
    )
    # normalise per site so shares sum to exactly 1
    tot = out.groupby([F.LAYER, F.SITE_ID])[F.SHARE].transform("sum")
    out[F.SHARE] = out[F.SHARE] / tot
    out["_o"] = out[F.SUBSTATION_ID].fillna("~")
    out = out.sort_values([F.LAYER, F.SITE_ID, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out[ASSIGNMENT_COLUMNS]


def _outside_parts(geoms: np.ndarray, area_site: np.ndarray, covered: np.ndarray, si: np.ndarray, ai: np.ndarray,
                   agem: np.ndarray, outside_part: dict[int, shapely.Geometry]) -> np.ndarray:
    """The share of each polygon site inside the service areas, exactly; fills ``outside_part``.

    Only sites whose summed shares are not 1 (partly outside, or in an overlap) are
    computed: the site minus the union of the areas it touches.
    """
    inside = covered.copy()
    need = np.flatnonzero((covered > 0) & (np.abs(covered - 1.0) > 1e-9))
    if not len(need):
        return inside
    order = np.argsort(si, kind="stable")
    s_sorted, a_sorted = si[order], ai[order]
    lo = np.searchsorted(s_sorted, need, "left")
    hi = np.searchsorted(s_sorted, need, "right")
    for s, a0, a1 in zip(need, lo, hi, strict=True):
        part = shapely.difference(geoms[s], shapely.union_all(agem[a_sorted[a0:a1]]))
        out_share = min(max(float(shapely.area(part)) / area_site[s], 0.0), 1.0)
        inside[s] = 1.0 - out_share
        if out_share > 1e-6:
            outside_part[int(s)] = part
    return inside


def allocate(demand: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """Split each site's demand over its substations by share.

    Parameters
    ----------
    demand : DataFrame
        From :func:`spatialprog.demand.site_demand`.
    assignment : DataFrame
        From :func:`assign_sites`.

    Returns
    -------
    DataFrame
        The demand rows times the assignment rows of their site, with
        ``offtake_mw``, ``feedin_mw`` and dwellings multiplied by ``share``
        (extensive quantities), plus ``substation_id`` and ``method``. Totals
        are conserved: summed over substations (unassigned included) they
        equal the input.
    """
    m = demand.merge(assignment[[F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE, F.METHOD]], on=[F.LAYER, F.SITE_ID],
                     how="left", validate="many_to_many")
    missing = m[F.SHARE].isna()
    m.loc[missing, F.SHARE] = 1.0
    m.loc[missing, F.METHOD] = "unassigned"
    for col in (F.OFFTAKE_MW, F.FEEDIN_MW, F.DWELLINGS_DELIVERED, F.DWELLINGS_ON_HEAT_NETWORK):
        if col in m:
            m[col] = m[col] * m[F.SHARE]
    return m
