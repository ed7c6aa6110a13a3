"""Scale levels: sums per municipality, province and region, and the higher-level check.

Regional plans that each fit can together overload a higher level (DOMAIN.md).
Two things are computed here:

:func:`scale_sums`
    Per boundary (municipality, province, region) and variant and year: the
    new demand of the sites in it (offtake, feed-in, dwellings; a polygon site
    split over boundaries by area share, so totals are conserved), and the
    capacity, load and shortfall of the substations located in it.
:func:`higher_level_check`
    Substations name the HV station or TenneT node that feeds them
    (``higher_level_id``). The capacity of each higher-level node comes from
    the project file (``[ranking.higher_level.nodes]``) or a CSV named by
    ``[ranking.higher_level] path`` (``node_id, capacity_mva[,
    capacity_feedin_mva, name, operator, source]``). The sum of the loads below
    a node, times the coincidence factor ``scales.higher_level_coincidence``,
    is checked against its capacity per variant, year and direction.
    ``flag = "hidden_overload"`` marks the case the planning process must
    catch: the node is overloaded while every substation below it fits.

Boundaries of one level must not overlap (:func:`check_boundaries`); levels
nest. Extra boundary layers (e.g. a province) are named in the project file::

    [[ranking.boundaries]]
    path = "example_province.geojson"
    level = "province"
    columns = { id = "pv_code", name = "pv_naam" }

Both read their tables from the plan (``plan.reference.boundaries``,
``plan.reference.ranking.higher_level``, read once by
:mod:`spatialprog.reference`); nothing here opens a file. A substation (or a
node) is short where :func:`spatialprog.headroom.is_short` says so: at 0 MW too.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .errors import LayerValidationError, NoticeLog, Problem
from .grouping import Groups
from .headroom import is_short

__all__ = [
    "LEVELS",
    "REGION_ID",
    "check_boundaries",
    "site_shares",
    "scale_sums",
    "higher_level_check",
]

LEVELS = ("municipality", "province", "region")
REGION_ID = "REGION"
NODE_COLUMNS = ["node_id", "name", "operator", "capacity_mva", "capacity_feedin_mva", "source"]
OVERLAP_TOLERANCE_M2 = 1.0


def check_boundaries(boundaries: gpd.GeoDataFrame, *, label: str = "boundaries",
                     tolerance_m2: float = OVERLAP_TOLERANCE_M2) -> None:
    """Raise when two boundaries of the same level overlap (or an id repeats).

    Raises
    ------
    LayerValidationError
        One problem per overlapping pair, naming both features and the area.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"id": ["A", "B"], "level": "municipality"}, geometry=[box(0, 0, 10, 10),
    ...                      box(5, 0, 15, 10)], crs=28992)
    >>> check_boundaries(b)
    Traceback (most recent call last):
    ...
    spatialprog.errors.LayerValidationError: boundaries, feature A, field 'geometry': overlaps B (municipality) by 50 m2 - boundaries of one level must not overlap; correct the geometries (e.g. take both from one source such as the CBS wijk- en buurtkaart)
    """
    probs = []
    ids = boundaries["id"].astype(str)
    for v in sorted(set(ids[ids.duplicated()])):
        probs.append(Problem(label, f"id '{v}' occurs more than once across the boundary layers", v, "id",
                             fix="give every boundary a unique id"))
    for level, g in boundaries.groupby("level", sort=True):
        geoms = np.asarray(g.geometry.values)
        gid = g["id"].astype(str).to_numpy()
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        keep = a < b
        for i, j in zip(a[keep], b[keep], strict=True):
            area = float(shapely.area(shapely.intersection(geoms[i], geoms[j])))
            if area > tolerance_m2:
                probs.append(Problem(label, f"overlaps {gid[j]} ({level}) by {area:.0f} m2", gid[i], "geometry",
                                     fix="boundaries of one level must not overlap; correct the geometries (e.g. take "
                                         "both from one source such as the CBS wijk- en buurtkaart)"))
    if probs:
        raise LayerValidationError(probs)


def site_shares(points: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> pd.DataFrame:
    """Share of each site in each boundary: area share for polygons, 1 for a point inside.

    Returns
    -------
    DataFrame
        ``level, boundary_id, layer, site_id, share``.
    """
    cols = ["level", "boundary_id", F.LAYER, F.SITE_ID, F.SHARE]
    if not len(points) or not len(boundaries):
        return pd.DataFrame(columns=cols)
    from .conflicts.kernels import overlap_pairs

    geoms = np.asarray(points.geometry.values)
    bg = np.asarray(boundaries.geometry.values)
    tree = shapely.STRtree(bg)
    area = shapely.area(geoms)
    # a site with area: the area it shares with each boundary (the conflicts' overlap kernel: a site inside one
    # boundary, the usual case, is a covers test, no overlay); a point: 1 in each boundary that covers it
    polys = np.flatnonzero(area > 0)
    pairs = overlap_pairs(geoms[polys], bg, min_area_m2=0.0, tree_b=tree)
    pi, pb = tree.query(geoms[area <= 0], predicate="covered_by")
    pi = np.flatnonzero(area <= 0)[pi]
    si = np.concatenate([polys[pairs.index_a], pi]).astype(np.intp)
    bi = np.concatenate([pairs.index_b, pb]).astype(np.intp)
    is_area = np.concatenate([np.ones(len(pairs.index_a), dtype=bool), np.zeros(len(pi), dtype=bool)])
    share = np.concatenate([pairs.area_m2 / area[polys[pairs.index_a]], np.ones(len(pi))])
    out = pd.DataFrame({
        "level": boundaries["level"].to_numpy()[bi],
        "boundary_id": boundaries["id"].astype(str).to_numpy()[bi],
        F.LAYER: points[F.LAYER].to_numpy()[si],
        F.SITE_ID: points[F.SITE_ID].to_numpy()[si],
        F.SHARE: share,
        "_point": ~is_area,
    })
    out = out[out[F.SHARE] > 0]
    # a point on the shared edge of two boundaries of one level: give it to the first by id (stable)
    out = out.sort_values(["level", F.LAYER, F.SITE_ID, "boundary_id"], kind="stable")
    out = out[~(out["_point"] & out.duplicated(["level", F.LAYER, F.SITE_ID]))]
    return out.sort_values(["level", "boundary_id", F.LAYER, F.SITE_ID], kind="stable").reset_index(drop=True)[cols]


def scale_sums(result, *, boundaries: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Demand, capacity and shortfall summed per boundary, variant and year.

    Parameters
    ----------
    result : RunResult
    boundaries : GeoDataFrame, optional
        ``id, name, level, geometry``; default ``result.plan.reference.boundaries``
        (the project's boundaries layer plus ``[[ranking.boundaries]]``). A
        ``region`` row (id ``REGION``) summing every site and substation is
        added when no boundary has level region.

    Returns
    -------
    DataFrame
        ``level, boundary_id, name, variant, year, new_offtake_mw,
        new_feedin_mw, dwellings_delivered, n_substations,
        capacity_offtake_mw, load_offtake_mw, shortfall_offtake_mw,
        n_short_offtake, capacity_feedin_mw, load_feedin_mw,
        shortfall_feedin_mw, n_short_feedin``. Site quantities are split by
        area share (extensive); substations count where they stand.
    """
    if boundaries is None:
        boundaries = result.plan.reference.boundaries
    info = boundaries[["level", "id", "name"]].rename(columns={"id": "boundary_id"}).astype({"boundary_id": str})
    shares = site_shares(result.points, boundaries)
    subs = result.plan.layers["substations"]
    sg = np.asarray(subs.geometry.values)
    bg = np.asarray(boundaries.geometry.values)
    if len(bg) and len(sg):
        tree = shapely.STRtree(bg)
        si, bi = tree.query(sg, predicate="intersects")
        sub_mem = pd.DataFrame({"level": boundaries["level"].to_numpy()[bi],
                                "boundary_id": boundaries["id"].astype(str).to_numpy()[bi],
                                F.SUBSTATION_ID: subs["id"].to_numpy()[si]})
        sub_mem = sub_mem.sort_values(["level", F.SUBSTATION_ID, "boundary_id"], kind="stable")
        sub_mem = sub_mem.drop_duplicates(["level", F.SUBSTATION_ID])
    else:
        sub_mem = pd.DataFrame(columns=["level", "boundary_id", F.SUBSTATION_ID])
    if "region" not in set(boundaries["level"]):
        all_sites = result.points[[F.LAYER, F.SITE_ID]].drop_duplicates()
        shares = pd.concat([shares, all_sites.assign(level="region", boundary_id=REGION_ID, share=1.0)],
                           ignore_index=True)
        sub_mem = pd.concat([sub_mem, pd.DataFrame({"level": "region", "boundary_id": REGION_ID,
                                                    F.SUBSTATION_ID: subs["id"].to_numpy()})], ignore_index=True)
        info = pd.concat([info, pd.DataFrame({"level": ["region"], "boundary_id": [REGION_ID],
                                              "name": [result.project.name]})], ignore_index=True)
    keys = ["level", "boundary_id", F.VARIANT, F.YEAR]
    demand = result.demand
    if F.CARRIER in demand:  # the electricity grid's sums (other carriers are in their own units)
        demand = demand[demand[F.CARRIER] == F.ELECTRICITY]
    dem = _boundary_sums(demand, shares, keys)
    h = result.headroom.merge(sub_mem, on=F.SUBSTATION_ID, how="inner")
    h = h.assign(_short=(-h[F.HEADROOM_MW]).clip(lower=0), _n=is_short(h[F.HEADROOM_MW]).astype(int))
    parts = []
    for dname in F.DIRECTIONS:
        g = h[h[F.DIRECTION] == dname].groupby(keys, sort=True)
        part = pd.DataFrame({f"capacity_{dname}_mw": g[F.CAPACITY_MW].sum(), f"load_{dname}_mw": g[F.LOAD_MW].sum(),
                             f"shortfall_{dname}_mw": g["_short"].sum(), f"n_short_{dname}": g["_n"].sum()})
        parts.append(part)
    n_subs = h[h[F.DIRECTION] == F.OFFTAKE].groupby(keys, sort=True)[F.SUBSTATION_ID].nunique().rename("n_substations")
    # every boundary gets a row for every variant and year, even without sites or substations
    variants = list(dict.fromkeys(result.headroom[F.VARIANT]))  # once: in the listing below it cost sites x boundaries
    grid = pd.MultiIndex.from_tuples(
        [(lv, bid, v, y) for lv, bid in info[["level", "boundary_id"]].itertuples(index=False)
         for v in variants for y in result.project.years], names=keys)
    out = pd.DataFrame(index=grid).join(dem).join(n_subs).join(parts[0]).join(parts[1]).fillna(0.0)
    for c in ("n_substations", "n_short_offtake", "n_short_feedin"):
        out[c] = out[c].astype(int)
    out = out.reset_index().merge(info, on=["level", "boundary_id"], how="left")
    lv_order = {lv: i for i, lv in enumerate(LEVELS)}
    out = out.sort_values(["level", "boundary_id", F.VARIANT, F.YEAR],
                          key=lambda s: s.map(lv_order) if s.name == "level" else s, kind="stable")
    cols = ["level", "boundary_id", "name", F.VARIANT, F.YEAR, "new_offtake_mw", "new_feedin_mw",
            "existing_offtake_mw", "existing_feedin_mw", F.DWELLINGS_DELIVERED,
            "n_substations", "capacity_offtake_mw", "load_offtake_mw", "shortfall_offtake_mw", "n_short_offtake",
            "capacity_feedin_mw", "load_feedin_mw", "shortfall_feedin_mw", "n_short_feedin"]
    return out[cols].reset_index(drop=True)


def _boundary_sums(demand: pd.DataFrame, shares: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The new and existing offtake, feed-in and dwellings summed per boundary, variant and year, by area share.

    One sparse product (boundaries x sites) @ (sites x variant-years) instead of
    the demand table joined to every boundary of every site (millions of rows at
    national scale); sites and boundaries are integer codes (:class:`Groups`).
    """
    from scipy import sparse

    n_d = len(demand)
    site = Groups(pd.concat([demand[[F.LAYER, F.SITE_ID]], shares[[F.LAYER, F.SITE_ID]]], ignore_index=True),
                  [F.LAYER, F.SITE_ID]).inverse
    d_site, s_site = site[:n_d], site[n_d:]
    bound = Groups(shares, ["level", "boundary_id"])
    vy = Groups(demand, [F.VARIANT, F.YEAR])
    n_sites = int(site.max()) + 1 if len(site) else 0
    s_ok = s_site >= 0
    share_m = sparse.csr_matrix((shares[F.SHARE].to_numpy(dtype=float)[s_ok],
                                 (bound.inverse[s_ok], s_site[s_ok])), shape=(bound.n, n_sites))
    existing = demand["existing"].to_numpy(dtype=bool) if "existing" in demand else np.zeros(n_d, dtype=bool)
    ok = (d_site >= 0) & (vy.inverse >= 0)
    cols = {}
    for name, col, mask in (("new_offtake_mw", F.OFFTAKE_MW, ~existing), ("new_feedin_mw", F.FEEDIN_MW, ~existing),
                            (F.DWELLINGS_DELIVERED, F.DWELLINGS_DELIVERED, None),
                            ("existing_offtake_mw", F.OFFTAKE_MW, existing),
                            ("existing_feedin_mw", F.FEEDIN_MW, existing)):
        v = np.nan_to_num(demand[col].to_numpy(dtype=float), nan=0.0)
        if mask is not None:
            v = np.where(mask, v, 0.0)
        per_site = sparse.csr_matrix((v[ok], (d_site[ok], vy.inverse[ok])), shape=(n_sites, vy.n))
        cols[name] = np.asarray((share_m @ per_site).todense()).reshape(-1)  # boundary-major, then variant-year
    bk, vk = bound.keys(), vy.keys()
    index = pd.MultiIndex.from_arrays([np.repeat(bk["level"].to_numpy(), vy.n),
                                       np.repeat(bk["boundary_id"].to_numpy(), vy.n),
                                       np.tile(vk[F.VARIANT].to_numpy(), bound.n),
                                       np.tile(vk[F.YEAR].to_numpy(), bound.n)], names=keys)
    return pd.DataFrame(cols, index=index)


def higher_level_check(headroom: pd.DataFrame, substations: pd.DataFrame, nodes: pd.DataFrame, *,
                       params: Mapping | None = None, coincidence: float | None = None,
                       power_factor: float | None = None, notices: NoticeLog | None = None) -> pd.DataFrame:
    """Check the sum of the loads below each higher-level node against its capacity.

    Parameters
    ----------
    headroom : DataFrame
        The long headroom table (all variants).
    substations : DataFrame
        With ``id`` and ``higher_level_id``.
    nodes : DataFrame
        ``node_id, capacity_mva[, capacity_feedin_mva, name]``.
    params : mapping of str -> ParameterSet, optional
        Per variant: ``scales.higher_level_coincidence`` and
        ``grid.power_factor``.
    coincidence, power_factor : float, optional
        Used for every variant instead of ``params``.
    notices : NoticeLog, optional
        A warning for every node named by substations but without a capacity.

    Returns
    -------
    DataFrame
        ``node_id, name, variant, year, direction, n_substations,
        n_substations_short, sum_load_mw, coincidence, coincident_load_mw,
        capacity_mw, headroom_mw, utilisation, exceeds, all_below_fit, flag``;
        ``exceeds`` where the node has no headroom left and
        ``n_substations_short`` counts the substations without any, both by
        :func:`spatialprog.headroom.is_short` (0 MW counts); ``flag`` is
        ``hidden_overload`` (node over capacity while every substation below
        fits), ``overload`` (over capacity and some below short too), ``ok``,
        or ``no_capacity`` (node capacity unknown).

    Examples
    --------
    >>> h = pd.DataFrame({"substation_id": ["A", "B"], "variant": "basis", "year": 2030, "direction": "offtake",
    ...                   "load_mw": [60.0, 50.0], "headroom_mw": [5.0, 10.0]})
    >>> s = pd.DataFrame({"id": ["A", "B"], "higher_level_id": ["TN", "TN"]})
    >>> n = pd.DataFrame({"node_id": ["TN"], "capacity_mva": [100.0]})
    >>> higher_level_check(h, s, n, coincidence=1.0, power_factor=1.0)[["headroom_mw", "flag"]].values.tolist()
    [[-10.0, 'hidden_overload']]
    """
    cols = ["node_id", "name", F.VARIANT, F.YEAR, F.DIRECTION, "n_substations", "n_substations_short", "sum_load_mw",
            "coincidence", "coincident_load_mw", "capacity_mw", "headroom_mw", "utilisation", "exceeds",
            "all_below_fit", "flag"]
    notices = notices if notices is not None else NoticeLog()
    if "higher_level_id" not in substations:
        return pd.DataFrame(columns=cols)
    link = substations[["id", "higher_level_id"]].dropna()
    link = link[link["higher_level_id"].astype(str).str.strip() != ""]
    if not len(link):
        return pd.DataFrame(columns=cols)
    nodes = nodes if nodes is not None else pd.DataFrame(columns=NODE_COLUMNS)
    known = set(nodes["node_id"].astype(str)) if len(nodes) else set()
    for nid in sorted(set(link["higher_level_id"].astype(str)) - known):
        notices.add("substations", f"higher-level node '{nid}' has no capacity: the sum below it is reported but "
                    f"not checked", field="higher_level_id",
                    fix=f"add [ranking.higher_level.nodes] \"{nid}\" = {{ capacity_mva = ... }} to the project file")
    h = headroom.merge(link.rename(columns={"id": F.SUBSTATION_ID, "higher_level_id": "node_id"}), on=F.SUBSTATION_ID)
    h = h.assign(_short=is_short(h[F.HEADROOM_MW]).astype(int))
    keys = ["node_id", F.VARIANT, F.YEAR, F.DIRECTION]
    g = h.groupby(keys, sort=True)
    out = pd.DataFrame({"n_substations": g[F.SUBSTATION_ID].nunique(), "n_substations_short": g["_short"].sum(),
                        "sum_load_mw": g[F.LOAD_MW].sum()}).reset_index()

    def per_variant(key: str, given: float | None, default: float) -> pd.Series:
        if given is not None:
            return pd.Series(float(given), index=out.index)
        if params is None:
            return pd.Series(default, index=out.index)
        return out[F.VARIANT].map(lambda v: float(params[v][key]) if v in params else default).astype(float)

    out["coincidence"] = per_variant("scales.higher_level_coincidence", coincidence, 1.0)
    pf = per_variant("grid.power_factor", power_factor, 1.0)
    out["coincident_load_mw"] = out["sum_load_mw"] * out["coincidence"]
    nd = nodes.set_index(nodes["node_id"].astype(str)) if len(nodes) else pd.DataFrame(
        columns=["capacity_mva", "capacity_feedin_mva", "name"])
    cap_off = out["node_id"].map(nd["capacity_mva"]).astype(float) if len(nd) else pd.Series(np.nan, index=out.index)
    feed_col = "capacity_feedin_mva" if "capacity_feedin_mva" in nd else "capacity_mva"
    cap_feed = (out["node_id"].map(nd[feed_col]).astype(float) if len(nd) else pd.Series(np.nan, index=out.index))
    cap_feed = cap_feed.where(cap_feed.notna(), cap_off)
    out["capacity_mw"] = np.where(out[F.DIRECTION] == F.FEEDIN, cap_feed, cap_off) * pf
    out["headroom_mw"] = out["capacity_mw"] - out["coincident_load_mw"]
    out["utilisation"] = np.divide(out["coincident_load_mw"], out["capacity_mw"],
                                   out=np.full(len(out), np.nan), where=out["capacity_mw"].to_numpy() > 0)
    out["exceeds"] = is_short(out["headroom_mw"])  # no headroom left at the node
    out["all_below_fit"] = out["n_substations_short"] == 0
    out["flag"] = np.select([out["capacity_mw"].isna(), out["exceeds"] & out["all_below_fit"], out["exceeds"]],
                            ["no_capacity", "hidden_overload", "overload"], "ok")
    names = nd["name"] if "name" in nd else pd.Series(dtype=object)
    out["name"] = out["node_id"].map(names).fillna("") if len(names) else ""
    dir_order = {d: i for i, d in enumerate(F.DIRECTIONS)}
    out = out.sort_values(keys, key=lambda s: s.map(dir_order) if s.name == F.DIRECTION else s, kind="stable")
    return out[cols].reset_index(drop=True)
