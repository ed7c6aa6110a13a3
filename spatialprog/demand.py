"""Site -> demand per year: offtake and feed-in MW of every new development.

Pure functions: validated layers and a :class:`~spatialprog.params.ParameterSet`
in, a tidy table out. Each function returns one row per site and horizon year,
in the order of the input rows, so results stay aligned to their input.

The figures (kW per dwelling by heating type after diversity, kW per EV,
charging simultaneity, MW per hectare by business-park category, feed-in
factors) all come from ``data/parameters.toml``; see the README for their
sources.

The module is a little over 500 lines because the demand function of every
built-in site kind lives here, beside the frame and the firm-share rule they
share (neighbourhoods and conversion assets have their own modules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .errors import LayerValidationError, NoticeLog, ParameterError, Problem
from .params import ParameterSet

__all__ = [
    "DEMAND_COLUMNS",
    "demand_frame",
    "parse_phasing",
    "heat_source_points",
    "housing_demand",
    "industrial_demand",
    "charging_demand",
    "heat_network_demand",
    "generation_feedin",
    "process_heat",
    "PROCESS_HEAT_CARRIERS",
    "non_firm",
    "site_demand",
    "demand_points",
]

_PHASE_RE = re.compile(r"^\s*(\d{4})\s*[:=]\s*(\d+(?:[.,]\d+)?)\s*$")


def parse_phasing(text: str) -> dict[int, float]:
    """Parse a delivery phasing such as ``"2027:120;2028:80"``.

    Examples
    --------
    >>> parse_phasing("2027:120; 2028:80")
    {2027: 120.0, 2028: 80.0}
    """
    out: dict[int, float] = {}
    for part in re.split(r"[;|]", text):
        if not part.strip():
            continue
        m = _PHASE_RE.match(part)
        if not m:
            raise ValueError(f"cannot read phasing part '{part.strip()}'")
        year, n = int(m.group(1)), float(m.group(2).replace(",", "."))
        out[year] = out.get(year, 0.0) + n
    if not out:
        raise ValueError("phasing is empty")
    return dict(sorted(out.items()))


#: how a business park's process heat is made, and the carrier it draws
PROCESS_HEAT_CARRIERS = {"electric": F.ELECTRICITY, "hydrogen": "hydrogen", "gas": "gas"}

DEMAND_COLUMNS = [F.LAYER, F.SITE_ID, F.CARRIER, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW, F.DWELLINGS_DELIVERED,
                  F.DWELLINGS_ON_HEAT_NETWORK]
#: added by site_demand: the part of a flexible connection's electricity that may be curtailed (non_firm)
CURTAILABLE_COLUMNS = ["curtailable_offtake_mw", "curtailable_feedin_mw"]


def demand_frame(layer: str, ids: Sequence[str], years: Sequence[int], offtake: np.ndarray, feedin: np.ndarray,
          dwellings: np.ndarray | None = None, on_hn: np.ndarray | None = None, *,
          carrier: str = F.ELECTRICITY) -> pd.DataFrame:
    """The demand table of one layer from ``(n_sites, n_years)`` arrays of MW (and dwellings).

    Every demand function returns this frame (columns :data:`DEMAND_COLUMNS`,
    one row per site and year, site order kept), so a new layer kind's demand
    function builds its rows with it. ``carrier`` says what the MW are
    (:data:`spatialprog.carriers.UNITS`); a kind with demand on several
    carriers concatenates one frame per carrier. Figures of different
    carriers are never summed.
    """
    n, m = len(ids), len(years)
    zeros = np.zeros((n, m))
    return pd.DataFrame(
        {
            F.LAYER: layer,
            F.CARRIER: carrier,
            F.SITE_ID: np.repeat(np.asarray(ids, dtype=object), m),
            F.YEAR: np.tile(np.asarray(years, dtype=int), n),
            F.OFFTAKE_MW: offtake.reshape(-1),
            F.FEEDIN_MW: feedin.reshape(-1),
            F.DWELLINGS_DELIVERED: (dwellings if dwellings is not None else zeros).reshape(-1),
            F.DWELLINGS_ON_HEAT_NETWORK: (on_hn if on_hn is not None else zeros).reshape(-1),
        },
        columns=DEMAND_COLUMNS,
    )


def delivered_dwellings(sites: pd.DataFrame, years: Sequence[int], *, delay_years: int = 0,
                        delivery_share: float = 1.0) -> np.ndarray:
    """Cumulative dwellings delivered on each site by each year.

    A ``phasing`` text (``"2027:120;2028:80"``) wins; else dwellings are
    spread evenly over ``delivery_start_year .. delivery_end_year``.

    Returns
    -------
    ndarray, shape (n_sites, n_years)

    Examples
    --------
    >>> df = pd.DataFrame({"dwellings": [300], "delivery_start_year": [2026], "delivery_end_year": [2028]})
    >>> delivered_dwellings(df, [2025, 2026, 2027, 2028, 2029]).tolist()
    [[0.0, 100.0, 200.0, 300.0, 300.0]]
    """
    yrs = np.asarray(years, dtype=float)
    n = len(sites)
    out = np.zeros((n, len(yrs)))
    phasing = sites["phasing"].to_numpy(dtype=object) if "phasing" in sites else np.full(n, None, dtype=object)
    phased = np.array([isinstance(ph, str) and bool(ph.strip()) for ph in phasing], dtype=bool)
    # spread evenly over start..end (end missing: the start year), as whole arrays
    spread = np.flatnonzero(~phased)
    if len(spread):
        start = (sites["delivery_start_year"].to_numpy(dtype=float, na_value=np.nan) if "delivery_start_year" in sites
                 else np.full(n, np.nan))[spread]
        end = (sites["delivery_end_year"].to_numpy(dtype=float, na_value=np.nan) if "delivery_end_year" in sites
               else np.full(n, np.nan))[spread]
        s = start + delay_years
        e = np.where(~np.isnan(end), end, start) + delay_years
        span = e - s + 1
        dw = sites["dwellings"].to_numpy(dtype=float, na_value=np.nan)[spread]
        out[spread] = dw[:, None] * np.clip((yrs[None, :] - s[:, None] + 1) / span[:, None], 0.0, 1.0)
    for k in np.flatnonzero(phased):  # a phasing text wins
        for y, m in parse_phasing(phasing[k]).items():
            out[k] += m * (yrs >= y + delay_years)
    return out * delivery_share


def heat_network_share(sites: gpd.GeoDataFrame, networks: gpd.GeoDataFrame | None,
                       years: Sequence[int]) -> np.ndarray:
    """Share of each site's area inside a heat network that supplies by each year.

    Overlapping networks are unioned, so the share never exceeds 1. The work
    grows with the site-network pairs, not with sites x networks: one STRtree
    query finds the networks each site meets; a site meeting one supplying
    network is intersected with that network alone, a site meeting several
    with the union of those, and only in the years the set changes.

    Returns
    -------
    ndarray, shape (n_sites, n_years)
    """
    yrs = np.asarray(years)
    share = np.zeros((len(sites), len(yrs)))
    if networks is None or len(networks) == 0 or len(sites) == 0:
        return share
    geoms = np.asarray(sites.geometry.values)
    area = shapely.area(geoms)
    nets = np.asarray(networks.geometry.values)
    start = networks["start_year"].to_numpy(dtype=float, na_value=np.nan)
    starts = np.array(sorted({int(s) for s in networks["start_year"].dropna().unique()}), dtype=float)
    si, nj = shapely.STRtree(nets).query(geoms, predicate="intersects")
    # a network supplies from the first of the start years (as whole years) at or after its own
    kp = np.searchsorted(starts, start[nj], side="left")
    ok = (kp < len(starts)) & (area[si] > 0)
    si, nj, kp = si[ok], nj[ok], kp[ok]
    order = np.lexsort((kp, si))
    si, nj, kp = si[order], nj[order], kp[order]
    # one event per site and year its set of supplying networks grows: the pairs up to it supply then
    ev = np.flatnonzero(np.r_[(si[1:] != si[:-1]) | (kp[1:] != kp[:-1]), True]) if len(si) else np.zeros(0, int)
    first = np.r_[0, np.flatnonzero(si[1:] != si[:-1]) + 1] if len(si) else np.zeros(0, int)
    first = first[np.searchsorted(first, ev, side="right") - 1]
    inter = np.zeros(len(ev))
    one = ev == first
    inter[one] = shapely.area(shapely.intersection(geoms[si[ev[one]]], nets[nj[ev[one]]]))
    for e in np.flatnonzero(~one):
        supply = shapely.union_all(nets[nj[first[e]:ev[e] + 1]])
        inter[e] = shapely.area(shapely.intersection(geoms[si[ev[e]]], supply))
    frac = np.clip(inter / area[si[ev]], 0.0, 1.0)
    for k in np.unique(kp[ev]):
        at = kp[ev] == k
        share[np.ix_(si[ev[at]], yrs >= starts[k])] = frac[at][:, None]
    return share


def housing_demand(sites: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
                   heat_networks: gpd.GeoDataFrame | None = None,
                   layers: Mapping[str, gpd.GeoDataFrame] | None = None,
                   heat_share: np.ndarray | None = None) -> pd.DataFrame:
    """Peak offtake of housing sites per year.

    ``offtake = delivered x ((1 - s) x kW[heating] + s x kW[heat_network]) + delivered x ev_share x kW_ev``
    where ``s`` is the share of the site inside a heat network already
    supplying that year.

    Parameters
    ----------
    sites : GeoDataFrame
        A validated ``housing_sites`` layer.
    params : ParameterSet
    years : sequence of int
    heat_networks : GeoDataFrame, optional
        Default: ``layers["heat_networks"]``.
    layers : mapping, optional
        The plan's layers (for the heat networks).
    heat_share : ndarray, optional
        :func:`heat_network_share` of these sites, already computed (a run
        computes it through its engine, :mod:`spatialprog.distributed`).

    Returns
    -------
    DataFrame
        One row per site and year (site order kept).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from spatialprog.params import load_parameters
    >>> s = gpd.GeoDataFrame({"id": ["H1"], "dwellings": [100], "delivery_start_year": [2026],
    ...     "heating": ["all_electric"], "ev_share": [0.5]}, geometry=[box(0, 0, 100, 100)], crs=28992)
    >>> d = housing_demand(s, load_parameters(), [2025, 2026])
    >>> d["offtake_mw"].round(3).tolist()  # 100 x (3.5 + 0.5 x 1.4) kW
    [0.0, 0.42]
    """
    kw = params.group("demand.dwelling_kw")
    delivered = delivered_dwellings(
        sites, years, delay_years=int(params["housing.delay_years"]), delivery_share=float(params["housing.delivery_share"])
    )
    if heat_networks is None and layers is not None:
        heat_networks = layers.get("heat_networks")
    s = heat_share if heat_share is not None else heat_network_share(sites, heat_networks, years)
    heating = sites["heating"].to_numpy()
    kw_own = np.array([kw[h] for h in heating], dtype=float)[:, None]
    ev_default = float(params["demand.ev_share_default"])
    ev = sites["ev_share"].fillna(ev_default).to_numpy(dtype=float) if "ev_share" in sites else np.full(len(sites), ev_default)
    per_dw_kw = (1 - s) * kw_own + s * float(kw["heat_network"])
    offtake_kw = delivered * per_dw_kw + delivered * ev[:, None] * float(params["demand.ev_kw_per_ev"])
    on_hn = delivered * s
    ids = sites["id"].tolist()
    electric = demand_frame("housing_sites", ids, years, offtake_kw / 1000.0, np.zeros_like(offtake_kw), delivered, on_hn)
    if not (on_hn > 0).any():
        return electric
    # the heat the dwellings on a heat network draw from it (carrier heat, MWth)
    heat_mw = on_hn * float(params["demand.dwelling_heat_kwth"]) / 1000.0
    k = np.flatnonzero((on_hn > 0).any(axis=1))
    heat = demand_frame("housing_sites", [ids[i] for i in k], years, heat_mw[k], np.zeros_like(heat_mw[k]),
                        carrier="heat")
    return pd.concat([electric, heat], ignore_index=True)


def process_heat(zones: pd.DataFrame, params: ParameterSet, fill: np.ndarray, area_ha: np.ndarray,
                 covered_mwth: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """Business parks' process heat as demand on the carrier that makes it.

    Parameters
    ----------
    zones : DataFrame
        A validated ``industrial_zones`` layer.
    params : ParameterSet
    fill : ndarray, shape (n_zones, n_years)
        The share of each zone in use per year (its ramp-up).
    area_ha : ndarray
    covered_mwth : ndarray or float
        Heat already made on the park (its CHP), per zone and year: the rest is made by the carrier.

    Returns
    -------
    dict of str -> ndarray
        Per carrier that some zone uses, offtake (its unit) of shape ``(n_zones, n_years)``.

    Raises
    ------
    ParameterError
        For ``demand.process_heat_carrier`` that is not electric, hydrogen or gas.

    Examples
    --------
    >>> from spatialprog.params import load_parameters
    >>> z = pd.DataFrame({"id": ["B1"], "category": ["heavy_industry"], "process_heat_carrier": ["hydrogen"]})
    >>> {c: a.round(3).tolist() for c, a in process_heat(z, load_parameters(), np.array([[0.0, 1.0]]),
    ...                                                   np.array([10.0])).items()}  # 10 ha x 0.5 MWth / 0.9
    {'hydrogen': [[0.0, 5.556]]}
    """
    default = str(params["demand.process_heat_carrier"])
    if default not in PROCESS_HEAT_CARRIERS:
        raise ParameterError(f"parameter 'demand.process_heat_carrier' must be one of "
                             f"{', '.join(PROCESS_HEAT_CARRIERS)}, got '{default}'")
    per_ha = params.group("demand.business_park_process_heat_mwth_per_ha")
    cats = zones["category"].astype(str).str.lower().to_numpy()
    given = zones["process_heat_mwth"].to_numpy(dtype=float) if "process_heat_mwth" in zones \
        else np.full(len(zones), np.nan)
    heat = np.where(np.isnan(given), area_ha * np.array([per_ha.get(c, 0.0) for c in cats], dtype=float), given)
    how = zones["process_heat_carrier"].fillna(default).to_numpy() if "process_heat_carrier" in zones \
        else np.full(len(zones), default, dtype=object)
    eff = params.group("conversion.process_heat_efficiency")
    out = {}
    for name, carrier in PROCESS_HEAT_CARRIERS.items():
        m = (how == name) & (heat > 0)
        if m.any():
            need = np.maximum(np.where(m, heat, 0.0)[:, None] * fill - np.where(m[:, None], covered_mwth, 0.0), 0.0)
            out[carrier] = need / float(eff[name])
    return out


def industrial_demand(zones: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
        layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Peak offtake of business parks per year.

    A zone with ``contracted_mw`` takes it in full from its start year. Else
    ``area_ha x MW/ha[category]`` (area from the geometry when not given),
    filled linearly over ``demand.business_park_rampup_years``. Its process
    heat comes on top, on the carrier that makes it
    (:func:`spatialprog.conversion.process_heat`), filled the same way.

    Raises
    ------
    LayerValidationError
        For a category that has no MW-per-hectare parameter and no contracted MW.
    """
    mwha = params.group("demand.business_park_mw_per_ha")
    yrs = np.asarray(years, dtype=float)
    problems = []
    cats = zones["category"].astype(str).str.lower().to_numpy()
    contracted = zones["contracted_mw"].to_numpy(dtype=float) if "contracted_mw" in zones else np.full(len(zones), np.nan)
    for fid, c, cm in zip(zones["id"], cats, contracted, strict=True):
        if c not in mwha and np.isnan(cm):
            problems.append(Problem("industrial_zones", f"unknown category '{c}'", fid, "category",
                                    fix=f"use one of: {', '.join(sorted(mwha))}, give contracted_mw, or add "
                                        f"demand.business_park_mw_per_ha.{c} under [parameters]"))
    if problems:
        raise LayerValidationError(problems)
    geo_ha = shapely.area(np.asarray(zones.geometry.values)) / 1e4
    area_ha = zones["area_ha"].to_numpy(dtype=float) if "area_ha" in zones else np.full(len(zones), np.nan)
    area_ha = np.where(np.isnan(area_ha), geo_ha, area_ha)
    est = area_ha * np.array([mwha.get(c, 0.0) for c in cats], dtype=float)
    full = np.where(np.isnan(contracted), est, contracted)
    start = zones["start_year"].to_numpy(dtype=float)[:, None]
    ramp = float(params["demand.business_park_rampup_years"])
    frac_est = np.clip((yrs[None, :] - start + 1) / max(ramp, 1.0), 0.0, 1.0)
    frac_con = (yrs[None, :] >= start).astype(float)
    frac = np.where(np.isnan(contracted)[:, None], frac_est, frac_con)
    off = full[:, None] * frac
    # combined heat and power per hectare (greenhouses): electricity fed in, gas burnt, heat that covers
    # part of the process heat
    chp_ha = params.group("demand.business_park_chp_mwe_per_ha")
    chp = (area_ha * np.array([chp_ha.get(c, 0.0) for c in cats], dtype=float))[:, None] * frac
    e_eff = float(params["conversion.chp_electric_efficiency"])
    chp_heat = chp * float(params["conversion.chp_heat_efficiency"]) / e_eff
    # process heat on the carrier that makes it: electric adds to the park's electricity
    heat = process_heat(zones, params, frac, area_ha, covered_mwth=chp_heat)
    off = off + heat.pop(F.ELECTRICITY, 0.0)
    ids = zones["id"].tolist()
    frames = [demand_frame("industrial_zones", ids, years, off, chp)]
    if (chp > 0).any():
        heat["gas"] = heat.get("gas", 0.0) + chp / e_eff
    # a data centre's residual heat: a possible heat source (shown as heat feed-in, not counted as supply)
    dc = (cats == "data_centre")[:, None]
    if dc.any():
        k = np.flatnonzero(dc[:, 0])
        rest = off[k] * float(params["conversion.data_centre_residual_heat_share"])
        frames.append(demand_frame("industrial_zones", [ids[i] for i in k], years, np.zeros_like(rest), rest,
                                   carrier="heat"))
    for carrier, mw in heat.items():
        k = np.flatnonzero((mw > 0).any(axis=1))
        frames.append(demand_frame("industrial_zones", [ids[i] for i in k], years, mw[k], np.zeros_like(mw[k]),
                                   carrier=carrier))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def charging_demand(hubs: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
        layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Peak offtake of charging hubs: points x kW x simultaneity[segment], from the year in service.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> from spatialprog.params import load_parameters
    >>> h = gpd.GeoDataFrame({"id": ["L1"], "charge_points": [10], "kw_per_point": [350.0], "year": [2027],
    ...     "segment": ["freight"]}, geometry=[Point(0, 0)], crs=28992)
    >>> charging_demand(h, load_parameters(), [2026, 2027])["offtake_mw"].tolist()
    [0.0, 3.5]
    """
    sim = params.group("demand.charging_simultaneity")
    yrs = np.asarray(years)
    mw = (hubs["charge_points"].to_numpy(dtype=float) * hubs["kw_per_point"].to_numpy(dtype=float)
          * np.array([sim[s] for s in hubs["segment"]], dtype=float) / 1000.0)
    on = yrs[None, :] >= hubs["year"].to_numpy(dtype=float)[:, None]
    off = mw[:, None] * on
    return demand_frame("charging_hubs", hubs["id"].tolist(), years, off, np.zeros_like(off))


def heat_network_demand(networks: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
        layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Electric load of each heat network's source, in full from its start year.

    A network whose sources are in the ``heat_sources`` layer takes none here:
    those sources carry its electricity (:func:`spatialprog.conversion.heat_source_demand`).
    """
    yrs = np.asarray(years)
    on = yrs[None, :] >= networks["start_year"].to_numpy(dtype=float)[:, None]
    load = networks["source_load_mw"].to_numpy(dtype=float)
    sources = (layers or {}).get("heat_sources")
    if sources is not None and len(sources):
        load = np.where(networks["id"].astype(str).isin(set(sources["heat_network_id"].astype(str))), 0.0, load)
    off = load[:, None] * on
    return demand_frame("heat_networks", networks["id"].tolist(), years, off, np.zeros_like(off))


def generation_feedin(gen: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
        layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Peak feed-in of solar and wind: MW x feed-in factor, from the year in service."""
    fac = params.group("generation.feedin_factor")
    yrs = np.asarray(years)
    mw = gen["capacity_mw"].to_numpy(dtype=float) * np.array([fac[t] for t in gen["technology"]], dtype=float)
    on = yrs[None, :] >= gen["year"].to_numpy(dtype=float)[:, None]
    feed = mw[:, None] * on
    return demand_frame("generation", gen["id"].tolist(), years, np.zeros_like(feed), feed)


def site_demand(layers: Mapping[str, gpd.GeoDataFrame], params: ParameterSet, years: Sequence[int], *,
                kinds: Mapping[str, Any], extra: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Demand and feed-in of every site of every kind, per year.

    Parameters
    ----------
    layers : mapping
        Validated layers keyed by kind; absent kinds are skipped.
    params : ParameterSet
    years : sequence of int
    kinds : mapping of str -> LayerKind
        The registry (:data:`spatialprog.kinds.LAYER_KINDS`): every kind with
        a demand function, in its order.
    extra : mapping of str -> mapping, optional
        Per kind, more keyword arguments of its demand function (a run passes
        the heat-network shares it computed: ``{"housing_sites": {"heat_share": ...}}``).

    Returns
    -------
    DataFrame
        Columns layer, site_id, year, offtake_mw, feedin_mw,
        dwellings_delivered, dwellings_on_heat_network.
    """
    parts = []
    for name, kind in kinds.items():
        df = layers.get(name)
        if kind.demand is None or df is None or len(df) == 0:
            continue
        parts.append(non_firm(kind.demand(df, params, years, layers=layers, **(extra or {}).get(name, {})), df))
    if not parts:
        return pd.DataFrame(columns=DEMAND_COLUMNS).astype({F.YEAR: int, F.OFFTAKE_MW: float, F.FEEDIN_MW: float})
    return pd.concat(parts, ignore_index=True)


def non_firm(demand: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """A flexible (non-firm) connection counts at its firm share; the curtailable rest is shown apart.

    A site's ``firm_share`` (0-1; blank: 1, a firm connection) is the part of
    its electricity the operator may not curtail at the grid peak. Its
    ``offtake_mw`` and ``feedin_mw`` become that firm part, which is what the
    headroom counts; ``curtailable_offtake_mw`` and ``curtailable_feedin_mw``
    hold the rest. Other carriers are firm.

    Examples
    --------
    >>> d = pd.DataFrame({"layer": "k", "site_id": ["A"], "carrier": "electricity", "year": 2030,
    ...                   "offtake_mw": [10.0], "feedin_mw": [0.0]})
    >>> non_firm(d, pd.DataFrame({"id": ["A"], "firm_share": [0.6]}))[["offtake_mw", "curtailable_offtake_mw"]].values.tolist()
    [[6.0, 4.0]]
    """
    out = demand.assign(curtailable_offtake_mw=0.0, curtailable_feedin_mw=0.0)
    if "firm_share" not in sites or sites["firm_share"].isna().all():
        return out
    share = out[F.SITE_ID].map(dict(zip(sites["id"], sites["firm_share"].astype(float), strict=True)))
    share = share.where(out[F.CARRIER] == F.ELECTRICITY).fillna(1.0).to_numpy()
    for col in (F.OFFTAKE_MW, F.FEEDIN_MW):
        total = out[col].to_numpy(dtype=float)
        out[f"curtailable_{col}"] = total * (1.0 - share)
        out[col] = total * share
    return out


def heat_source_points(networks: gpd.GeoDataFrame, notices: NoticeLog) -> np.ndarray:
    """Where a heat network's load enters the grid: at its source, else inside its supply area (reported)."""
    geom = np.asarray(networks.geometry.values)
    x = networks["source_x_m"].to_numpy(dtype=float) if "source_x_m" in networks else np.full(len(networks), np.nan)
    y = networks["source_y_m"].to_numpy(dtype=float) if "source_y_m" in networks else np.full(len(networks), np.nan)
    has = ~np.isnan(x) & ~np.isnan(y)
    pts = shapely.points(np.where(has, x, 0.0), np.where(has, y, 0.0))
    for fid, h in zip(networks["id"], has, strict=True):
        if not h:
            notices.add(networks.attrs.get("kind", "heat_networks"), "no source location: its source load is placed "
                        "inside the supply area", feature=fid, field="source_x_m", fix="give source_x_m and source_y_m",
                        level="info")
    return np.where(has, pts, shapely.point_on_surface(geom))


def demand_points(layers: Mapping[str, gpd.GeoDataFrame], *, kinds: Mapping[str, Any],
                  notices: NoticeLog | None = None) -> gpd.GeoDataFrame:
    """The geometry at which each site's demand enters the grid.

    The site's own geometry, unless its kind says otherwise (heat networks:
    at the source, see :func:`heat_source_points`).

    Parameters
    ----------
    layers : mapping
    kinds : mapping of str -> LayerKind
        The registry; every kind with a demand function counts.
    notices : NoticeLog, optional

    Returns
    -------
    GeoDataFrame
        Columns layer, site_id, geometry.
    """
    notices = notices if notices is not None else NoticeLog()
    parts = []
    crs = None
    for name, kind in kinds.items():
        df = layers.get(name)
        if kind.demand is None or df is None or len(df) == 0:
            continue
        crs = df.crs
        geom = kind.point_of_entry(df, notices)
        parts.append(gpd.GeoDataFrame({F.LAYER: name, F.SITE_ID: df["id"].to_numpy()}, geometry=geom, crs=df.crs))
    if not parts:
        return gpd.GeoDataFrame({F.LAYER: [], F.SITE_ID: []}, geometry=[], crs=crs)
    return pd.concat(parts, ignore_index=True)

