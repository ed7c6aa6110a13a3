"""Energy carriers beside electricity: hydrogen, heat and gas, each with its own nodes.

Every demand and supply figure has a carrier and a unit (:data:`UNITS`):
electricity in MWe, hydrogen in MW_H2 and gas in MW_gas (both on lower heating
value), heat in MWth. Directions are the same words for every carrier:
``offtake`` (drawn from the node) and ``feedin`` (delivered into it). Figures of
different carriers are never summed.

Each carrier's infrastructure is a set of **nodes** with a capacity per
direction and year, and sites connect to their carrier's node by the same
assignment machinery as to a substation (:func:`spatialprog.network.assign_sites`):

* electricity: the substations (:mod:`spatialprog.headroom`);
* hydrogen: the stations of the hydrogen network (``hydrogen_stations``), nearest
  within ``assignment.node_max_distance_m.hydrogen``;
* gas: receiving and green-gas feed-in stations (``gas_stations``), nearest within
  ``assignment.node_max_distance_m.gas``;
* heat: each heat network, whose capacity is the sum of its sources
  (``heat_sources``) in service; a dwelling connects to the network it lies in
  (the network's area is its node's service area).

A site may declare its node (``hydrogen_station_id``, ``gas_station_id``,
``heat_network_id``); that wins over the geometry. The headroom of a node is the
same :class:`spatialprog.headroom.GridState` as a substation's, with the node's
published capacity and no existing load, so :func:`~spatialprog.headroom.is_short`,
the status classes and the first shortfall are the substations' own.

Pure: the layers arrive validated; nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from . import fields as F
from .errors import NoticeLog
from .headroom import GridState, new_load, status_classes_for
from .network import assign_sites
from .params import ParameterSet

__all__ = ["CARRIERS", "UNITS", "LABELS_NL", "OTHER_CARRIERS", "NODE_LAYERS", "DECLARED_NODE", "Nodes",
           "carrier_nodes", "carrier_assignment", "node_state", "with_carrier", "carrier_results"]

CARRIERS = (F.ELECTRICITY, "hydrogen", "heat", "gas")
#: what a carrier's MW are
UNITS = {F.ELECTRICITY: "MWe", "hydrogen": "MW_H2", "heat": "MWth", "gas": "MW_gas"}
LABELS_NL = {F.ELECTRICITY: "elektriciteit", "hydrogen": "waterstof", "heat": "warmte", "gas": "gas"}
OTHER_CARRIERS = tuple(c for c in CARRIERS if c != F.ELECTRICITY)
#: the layer kind whose features are the nodes of each carrier (heat: the networks, sized by their sources)
NODE_LAYERS = {"hydrogen": "hydrogen_stations", "gas": "gas_stations", "heat": "heat_networks"}
#: the column by which a site declares its node, per carrier
DECLARED_NODE = {"hydrogen": "hydrogen_station_id", "gas": "gas_station_id", "heat": "heat_network_id"}


class Nodes:
    """The nodes of one carrier: ids, capacity per direction and year, where they are.

    Attributes
    ----------
    carrier : str
    ids : ndarray of str
    names : ndarray of str
    capacity_mw : dict of str -> ndarray
        Per direction, shape ``(n_nodes, n_years)``; NaN where the node has no
        capacity in that direction (no rows are written for it).
    points : GeoDataFrame
        ``id`` and a point per node (for nearest assignment and maps).
    areas : GeoDataFrame or None
        ``id, substation_id`` and the area a node serves (heat networks).
    """

    def __init__(self, carrier: str, ids, names, capacity_mw, points, areas=None):
        self.carrier, self.ids, self.names = carrier, np.asarray(ids, dtype=object), np.asarray(names, dtype=object)
        self.capacity_mw, self.points, self.areas = capacity_mw, points, areas

    def __len__(self) -> int:
        return len(self.ids)

    def serving(self, direction: str) -> Nodes:
        """The nodes with a capacity in ``direction`` (a green-gas feed-in point supplies no gas)."""
        has = ~np.isnan(self.capacity_mw[direction]).all(axis=1)
        if has.all():
            return self
        areas = self.areas[has].reset_index(drop=True) if self.areas is not None else None
        return Nodes(self.carrier, self.ids[has], self.names[has], {d: c[has] for d, c in self.capacity_mw.items()},
                     self.points[has].reset_index(drop=True), areas)


def _year_capacity(mw: np.ndarray, start: np.ndarray, years: np.ndarray) -> np.ndarray:
    on = np.where(np.isnan(start)[:, None], True, years[None, :] >= start[:, None])
    return np.where(on, mw[:, None], 0.0)


def carrier_nodes(layers: Mapping[str, gpd.GeoDataFrame], carrier: str, years: Sequence[int], *,
                  notices: NoticeLog | None = None) -> Nodes | None:
    """The nodes of ``carrier`` in the plan, or None where the plan has none.

    Hydrogen and gas stations give ``capacity_offtake_mw`` and optionally
    ``capacity_feedin_mw`` from their ``year`` in service. A heat network's
    offtake capacity is the sum of ``capacity_mwth`` of the heat sources that
    feed it, each from its own ``start_year`` (a source may come years after the
    network's first dwellings: the network is short until then).
    """
    yrs = np.asarray(years, dtype=int)
    kind = NODE_LAYERS[carrier]
    gdf = layers.get(kind)
    if gdf is None or not len(gdf):
        return None
    ids = gdf["id"].astype(str).to_numpy()
    names = (gdf["name"].fillna(gdf["id"]) if "name" in gdf else gdf["id"]).astype(str).to_numpy()
    if carrier == "heat":
        sources = layers.get("heat_sources")
        if sources is None or not len(sources):
            return None
        cap = np.zeros((len(ids), len(yrs)))
        pos = {s: i for i, s in enumerate(ids)}
        src_cap = _year_capacity(sources["capacity_mwth"].to_numpy(dtype=float),
                                 sources["start_year"].to_numpy(dtype=float), yrs)
        net_start = dict(zip(ids, gdf["start_year"].to_numpy(dtype=float), strict=True)) if "start_year" in gdf else {}
        for k, (sid, net) in enumerate(zip(sources["id"], sources["heat_network_id"].astype(str), strict=True)):
            if net in pos:
                cap[pos[net]] += src_cap[k]
                begins = float(sources["start_year"].iat[k])
                if notices is not None and begins < net_start.get(net, -np.inf):
                    notices.add("heat_sources", f"starts in {int(begins)}, before its network '{net}' exists "
                                f"({int(net_start[net])}): its heat counts from the network's first year",
                                feature=sid, field="start_year", level="info",
                                fix="check the start years of the source and the network")
            elif notices is not None:
                notices.add("heat_sources", f"feeds heat network '{net}', which is not in the heat_networks layer: "
                            "its heat is not counted", feature=sid, field="heat_network_id", level="warning",
                            fix="give the id of the network it feeds")
        capacity = {F.OFFTAKE: cap, F.FEEDIN: np.full_like(cap, np.nan)}
        geom = np.asarray(gdf.geometry.values)
        points = gpd.GeoDataFrame({"id": ids}, geometry=gpd.GeoSeries(geom, crs=gdf.crs).representative_point(),
                                  crs=gdf.crs)
        areas = gpd.GeoDataFrame({"id": ids, F.SUBSTATION_ID: ids}, geometry=geom, crs=gdf.crs)
        return Nodes(carrier, ids, names, capacity, points, areas)
    start = gdf["year"].to_numpy(dtype=float) if "year" in gdf else np.full(len(gdf), np.nan)
    capacity = {}
    for d in F.DIRECTIONS:
        col = f"capacity_{d}_mw"
        mw = gdf[col].to_numpy(dtype=float) if col in gdf else np.full(len(gdf), np.nan)
        capacity[d] = np.where(np.isnan(mw)[:, None], np.nan, _year_capacity(np.nan_to_num(mw), start, yrs))
    points = gpd.GeoDataFrame({"id": ids}, geometry=gdf.geometry.values, crs=gdf.crs)
    return Nodes(carrier, ids, names, capacity, points)


def carrier_assignment(points: gpd.GeoDataFrame, nodes: Nodes, layers: Mapping[str, gpd.GeoDataFrame],
                       params: ParameterSet, *, notices: NoticeLog | None = None) -> pd.DataFrame:
    """Which node of its carrier each site connects to (shares sum to 1, unassigned kept).

    Heat: the heat network(s) the site lies in, split by area and scaled to the
    part inside networks. Hydrogen and gas: the nearest station within the
    carrier's distance. A declared node id on the site wins.
    """
    cols = [F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE, F.METHOD, F.DIST_M]
    if not len(points):
        return pd.DataFrame(columns=cols)
    if not len(nodes):  # no node of this carrier takes this direction: all unassigned
        return pd.DataFrame({F.LAYER: points[F.LAYER].to_numpy(), F.SITE_ID: points[F.SITE_ID].to_numpy(),
                             F.SUBSTATION_ID: None, F.SHARE: 1.0, F.METHOD: "unassigned", F.DIST_M: np.nan})
    quiet = NoticeLog()  # assignment notices are the electricity's; here only the carrier's own
    if nodes.carrier == "heat":
        a = assign_sites(points, nodes.points, nodes.areas, method="service_areas", max_distance_m=0.0,
                         outside="unassigned", notices=quiet)
        inside = a[a[F.SUBSTATION_ID].notna()].copy()
        total = inside.groupby([F.LAYER, F.SITE_ID])[F.SHARE].transform("sum")
        inside[F.SHARE] = inside[F.SHARE] / total  # the heat demand is already the part on a network
        a = pd.concat([inside, a[a[F.SUBSTATION_ID].isna() & ~a.set_index([F.LAYER, F.SITE_ID]).index.isin(
            inside.set_index([F.LAYER, F.SITE_ID]).index)]], ignore_index=True)
    else:
        limit = float(params[f"assignment.node_max_distance_m.{nodes.carrier}"])
        a = assign_sites(points, nodes.points, nodes.points.assign(**{F.SUBSTATION_ID: nodes.ids}).iloc[0:0],
                         method="nearest", max_distance_m=limit, outside="unassigned", notices=quiet)
    declared = _declared(layers, nodes)
    if len(declared):  # of the sites given only: a check of one site must not connect the plan's other sites
        declared = declared[pd.MultiIndex.from_frame(declared[[F.LAYER, F.SITE_ID]]).isin(
            pd.MultiIndex.from_frame(points[[F.LAYER, F.SITE_ID]]))]
    if len(declared):
        key = pd.MultiIndex.from_frame(a[[F.LAYER, F.SITE_ID]])
        keep = ~key.isin(pd.MultiIndex.from_frame(declared[[F.LAYER, F.SITE_ID]]))
        a = pd.concat([a[keep], declared], ignore_index=True)
    return a.sort_values([F.LAYER, F.SITE_ID, F.SUBSTATION_ID], kind="stable", na_position="last").reset_index(drop=True)


def _declared(layers: Mapping[str, gpd.GeoDataFrame], nodes: Nodes) -> pd.DataFrame:
    col = DECLARED_NODE[nodes.carrier]
    known = set(nodes.ids)
    rows = []
    for kind, gdf in layers.items():
        if col not in gdf or kind == NODE_LAYERS[nodes.carrier]:
            continue
        for sid, node in zip(gdf["id"].astype(str), gdf[col], strict=True):
            if isinstance(node, str) and node.strip() and node in known:
                rows.append((kind, sid, node, 1.0, "declared", 0.0))
    return pd.DataFrame(rows, columns=[F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE, F.METHOD, F.DIST_M])


def node_state(nodes: Nodes, allocated: pd.DataFrame, years: Sequence[int]) -> GridState:
    """The capacity and load of a carrier's nodes per year: a :class:`~spatialprog.headroom.GridState`.

    Capacity is as published (no N-1, no power factor); there is no existing
    load in the nodes' figures, so the load is the allocated new demand.
    """
    yrs = np.asarray(years, dtype=int)
    shape = (len(nodes), len(yrs))
    zero = {d: np.zeros(shape) for d in F.DIRECTIONS}
    cap = {d: np.nan_to_num(nodes.capacity_mw[d], nan=0.0) for d in F.DIRECTIONS}
    return GridState(
        substation_ids=nodes.ids, years=yrs, firm_mva=cap, capacity_mw=cap, existing_mw=zero,
        new_mw=new_load(allocated, nodes.ids, yrs),
        firm_rule={d: np.full(len(nodes), "published", dtype=object) for d in F.DIRECTIONS},
        reserved_mw={d: np.full(shape, np.nan) for d in F.DIRECTIONS}, peak_mw=zero,
    )


def with_carrier(headroom: pd.DataFrame, nodes: Nodes | None = None, carrier: str = F.ELECTRICITY) -> pd.DataFrame:
    """The headroom table with ``carrier`` and ``unit``.

    For another carrier's ``nodes``, a direction a node gives no capacity for is
    left out, and so are the years before a node is in service while nothing
    draws on it.
    """
    out = headroom.copy()
    out[F.CARRIER] = carrier
    out[F.UNIT] = UNITS[carrier]
    if nodes is not None:
        given = {d: ~np.isnan(nodes.capacity_mw[d]).all(axis=1) for d in F.DIRECTIONS}
        keep = np.ones(len(out), dtype=bool)
        pos = {s: i for i, s in enumerate(nodes.ids)}
        idx = out[F.SUBSTATION_ID].map(pos).to_numpy()
        for d in F.DIRECTIONS:
            m = (out[F.DIRECTION] == d).to_numpy()
            keep[m] = given[d][idx[m]]
        # a node not yet in service that nothing needs yet has no row (it is not short of anything)
        idle = (out[F.CAPACITY_MW] == 0) & (out[F.LOAD_MW] == 0)
        out = out[keep & ~idle.to_numpy()].reset_index(drop=True)
    return out


def carrier_results(layers: Mapping[str, gpd.GeoDataFrame], points: gpd.GeoDataFrame,
                    demand: Mapping[str, pd.DataFrame], params: Mapping[str, ParameterSet], years: Sequence[int], *,
                    classes: pd.DataFrame, notices: NoticeLog | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headroom of the hydrogen, heat and gas nodes per variant, and the demand allocated to them.

    Parameters
    ----------
    layers : mapping
        The plan's validated layers.
    points : GeoDataFrame
        Where each site's demand enters its networks (:func:`spatialprog.demand.demand_points`).
    demand : mapping of str -> DataFrame
        Per variant, its demand table (all carriers; only the other carriers' rows are used).
    params : mapping of str -> ParameterSet
        Per variant (the first also sets the nodes' reach).
    years : sequence of int
    classes : DataFrame
        Status classes (each carrier's own thresholds: :func:`~spatialprog.headroom.status_classes_for`).
    notices : NoticeLog, optional
        Told of demand on a carrier the plan has no nodes for.

    Returns
    -------
    headroom : DataFrame
        The headroom table's columns with ``carrier`` and ``unit``, for the
        other carriers (empty when the plan has none).
    allocated : DataFrame
        Their demand split over their nodes, with ``carrier``.
    """
    from .headroom import headroom_frame
    from .network import allocate

    first = next(iter(params))
    heads, allocs = [], []
    for carrier in OTHER_CARRIERS:
        wanted = {v: d[d[F.CARRIER] == carrier] for v, d in demand.items()}
        if not any(len(d) for d in wanted.values()) and NODE_LAYERS[carrier] not in layers:
            continue
        nodes = carrier_nodes(layers, carrier, years, notices=notices)
        if nodes is None or not len(nodes):
            some = wanted[first]
            if len(some) and notices is not None:
                layer_of = ", ".join(sorted(set(some[F.LAYER])))
                notices.add(NODE_LAYERS[carrier], f"{some[F.SITE_ID].nunique()} sites ({layer_of}) need {carrier} "
                            f"({UNITS[carrier]}) but the project has no {NODE_LAYERS[carrier]} layer"
                            + (" with heat_sources" if carrier == "heat" else "")
                            + f": their {carrier} demand is listed in demand.csv, not checked against a network",
                            level="info", fix=f"add a {NODE_LAYERS[carrier]} layer to check it")
            continue
        any_variant = pd.concat([d[[F.LAYER, F.SITE_ID]] for d in wanted.values()], ignore_index=True)
        site_points = points[points.set_index([F.LAYER, F.SITE_ID]).index.isin(
            pd.MultiIndex.from_frame(any_variant.drop_duplicates()))] if len(any_variant) else points.iloc[0:0]
        # what a site draws goes to a node that can supply it, what it delivers to one that can take it; a
        # variant may change the reach, so the assignment is made per reach (once for variants that share it)
        reach = f"assignment.node_max_distance_m.{carrier}"
        made: dict[object, dict[str, pd.DataFrame]] = {}
        for v, d in wanted.items():
            key = params[v][reach] if carrier != "heat" else None
            if key not in made:
                made[key] = {dr: carrier_assignment(site_points, nodes.serving(dr), layers, params[v], notices=notices)
                             for dr in F.DIRECTIONS}
            by_direction = made[key]
            parts = [allocate(d.assign(**{other: 0.0}), by_direction[direction])
                     for direction, other in ((F.OFFTAKE, F.FEEDIN_MW), (F.FEEDIN, F.OFFTAKE_MW))
                     if len(d) and len(by_direction[direction])]
            a = pd.concat(parts, ignore_index=True) if parts else \
                d.assign(**{F.SUBSTATION_ID: pd.Series(dtype=object)})
            state = node_state(nodes, a, years)
            heads.append(with_carrier(headroom_frame(state, variant=v, classes=status_classes_for(classes, carrier)),
                                      nodes, carrier))
            allocs.append(a)
            lost = a[a[F.SUBSTATION_ID].isna() & ((a[F.OFFTAKE_MW] != 0) | (a[F.FEEDIN_MW] != 0))]
            if len(lost) and notices is not None:
                for layer, sid in lost[[F.LAYER, F.SITE_ID]].drop_duplicates().itertuples(index=False):
                    notices.add(layer, f"no {carrier} node within reach (variant {v}): its {carrier} demand is not "
                                "assigned", feature=sid, field=DECLARED_NODE[carrier], level="warning",
                                fix=f"give {DECLARED_NODE[carrier]}, add a node, or raise {reach}"
                                if carrier != "heat" else "place the site inside a heat network, or give "
                                                          "heat_network_id")
    if not heads:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(heads, ignore_index=True), pd.concat(allocs, ignore_index=True)
