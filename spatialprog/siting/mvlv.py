"""MV/LV stations: how many a new neighbourhood or business park needs, and the land they take.

A housing site needs one MV/LV station per ``mvlv.dwellings_per_station.<heating>``
dwellings of each heating type (its own heating; its dwellings on a heat
network take the heat-network figure), rounded up over the site:
``ceil(sum_t dwellings_t / per_station_t)``. A business park needs one per
``mvlv.business_park_mw_per_station`` MW of its offtake. Each station takes
``mvlv.land_m2_per_station`` m2. A site whose stations take more than
``mvlv.max_land_share`` of its area is flagged: ``te klein`` when it cannot
host even one, ``te dicht`` when it needs several (the neighbourhood is too
dense for the stations it needs). Per substation the stations are summed
over the sites it serves, split by the assignment's shares (totals are
conserved).

Examples
--------
>>> import numpy as np
>>> station_count(np.array([250.0]), np.array([40.0]), per_type=np.array([100.0]), per_heat_network=200.0).tolist()
[3]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import fields as F
from ..errors import ParameterError
from ..params import ParameterSet

__all__ = ["MVLV_COLUMNS", "station_count", "mvlv_stations", "mvlv_per_substation"]

#: columns of the per-site table (besides the geometry)
MVLV_COLUMNS = [F.VARIANT, F.LAYER, F.SITE_ID, "name", F.YEAR, "heating", "dwellings", "dwellings_on_heat_network",
                F.OFFTAKE_MW, "n_stations", "land_m2", "site_area_m2", "land_share", "flag"]

_EPS = 1e-9


def station_count(dwellings: np.ndarray, on_heat_network: np.ndarray, *, per_type: np.ndarray,
                  per_heat_network: float) -> np.ndarray:
    """MV/LV stations per housing site: ``ceil((d - h) / per_type + h / per_heat_network)``.

    Parameters
    ----------
    dwellings : ndarray
        Dwellings delivered per site.
    on_heat_network : ndarray
        Of those, the dwellings on a heat network.
    per_type : ndarray
        Dwellings per station for each site's own heating type.
    per_heat_network : float
        Dwellings per station on a heat network.
    """
    d = np.asarray(dwellings, dtype="float64")
    h = np.minimum(np.asarray(on_heat_network, dtype="float64"), d)
    need = (d - h) / np.asarray(per_type, dtype="float64") + h / float(per_heat_network)
    return np.ceil(need - _EPS).clip(min=0).astype(int)


def mvlv_stations(layers: dict[str, gpd.GeoDataFrame], demand: pd.DataFrame, params: ParameterSet, *,
                  variant: str, year: int) -> gpd.GeoDataFrame:
    """The MV/LV stations of every housing site and business park in ``year`` (pure).

    Parameters
    ----------
    layers : dict of str -> GeoDataFrame
        The plan's layers (``housing_sites``, ``industrial_zones``).
    demand : DataFrame
        :attr:`RunResult.demand` (``dwellings_delivered``,
        ``dwellings_on_heat_network``, ``offtake_mw`` per site and year).
    params : ParameterSet
        The variant's parameters (``mvlv.*``).
    variant : str
    year : int
        Usually the last year of the horizon.

    Returns
    -------
    GeoDataFrame
        :data:`MVLV_COLUMNS` and the site's geometry, sorted by layer and site id.
    """
    per = params.group("mvlv.dwellings_per_station")
    mw_per = float(params["mvlv.business_park_mw_per_station"])
    land_each = float(params["mvlv.land_m2_per_station"])
    max_share = float(params["mvlv.max_land_share"])
    d = demand[(demand[F.VARIANT] == variant) & (demand[F.YEAR] == year)]
    d = d[d[F.CARRIER] == F.ELECTRICITY] if F.CARRIER in d else d
    d = d.groupby([F.LAYER, F.SITE_ID])[[F.OFFTAKE_MW, F.DWELLINGS_DELIVERED, F.DWELLINGS_ON_HEAT_NETWORK]].sum()
    parts = []
    for kind in ("housing_sites", "industrial_zones"):
        g = layers.get(kind)
        if g is None or not len(g):
            continue
        key = pd.MultiIndex.from_arrays([[kind] * len(g), g["id"].to_numpy()])
        row = d.reindex(key).fillna(0.0)
        out = pd.DataFrame({F.VARIANT: variant, F.LAYER: kind, F.SITE_ID: g["id"].to_numpy(),
                            "name": g["name"].to_numpy() if "name" in g else None, F.YEAR: int(year)})
        out[F.OFFTAKE_MW] = row[F.OFFTAKE_MW].to_numpy()
        if kind == "housing_sites":
            heating = (g["heating"] if "heating" in g else pd.Series("gas", index=g.index)).fillna("gas")
            out["heating"] = heating.astype(str).to_numpy()
            out["dwellings"] = row[F.DWELLINGS_DELIVERED].to_numpy()
            out["dwellings_on_heat_network"] = row[F.DWELLINGS_ON_HEAT_NETWORK].to_numpy()
            unknown = sorted(set(out["heating"]) - set(per))
            if unknown:  # the layer's validation allows only known types; a new type needs its figure
                raise ParameterError(f"housing_sites: heating '{unknown[0]}' has no MV/LV figure - add "
                                     f"mvlv.dwellings_per_station.{unknown[0]} to data/parameters.toml")
            out["n_stations"] = station_count(out["dwellings"].to_numpy(), out["dwellings_on_heat_network"].to_numpy(),
                                              per_type=out["heating"].map(per).to_numpy(dtype="float64"),
                                              per_heat_network=float(per["heat_network"]))
        else:
            out["heating"] = None
            out["dwellings"] = 0.0
            out["dwellings_on_heat_network"] = 0.0
            out["n_stations"] = np.ceil(out[F.OFFTAKE_MW].to_numpy() / mw_per - _EPS).clip(min=0).astype(int)
        out["land_m2"] = out["n_stations"] * land_each
        out["site_area_m2"] = g.geometry.area.to_numpy()
        share = np.divide(out["land_m2"].to_numpy(), out["site_area_m2"].to_numpy(),
                          out=np.full(len(out), np.inf), where=out["site_area_m2"].to_numpy() > 0)
        out["land_share"] = np.where(out["n_stations"] > 0, share, 0.0)
        over = (out["n_stations"] > 0) & (out["land_share"] > max_share)
        out["flag"] = np.where(over, np.where(out["n_stations"] == 1, "te klein", "te dicht"), "")
        parts.append(gpd.GeoDataFrame(out, geometry=g.geometry.to_numpy(), crs=g.crs))
    if not parts:
        return gpd.GeoDataFrame(columns=[*MVLV_COLUMNS, "geometry"], geometry="geometry")
    res = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(res, geometry="geometry", crs=parts[0].crs).sort_values(
        [F.LAYER, F.SITE_ID], kind="stable").reset_index(drop=True)


def mvlv_per_substation(sites: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """Stations and their land summed per substation, split by the assignment's shares.

    Examples
    --------
    >>> s = pd.DataFrame({"variant": ["basis"], "layer": ["housing_sites"], "site_id": ["A"], "n_stations": [3],
    ...                   "land_m2": [147.0], "flag": [""]})
    >>> a = pd.DataFrame({"layer": ["housing_sites"] * 2, "site_id": ["A", "A"], "substation_id": ["X", "Y"],
    ...                   "share": [0.5, 0.5]})
    >>> mvlv_per_substation(s, a)[["substation_id", "n_stations", "land_m2"]].values.tolist()
    [['X', 1.5, 73.5], ['Y', 1.5, 73.5]]
    """
    cols = [F.VARIANT, F.SUBSTATION_ID, "n_stations", "land_m2", "n_sites", "n_sites_flagged"]
    if not len(sites):
        return pd.DataFrame(columns=cols)
    a = assignment[assignment[F.SUBSTATION_ID].notna()][[F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE]]
    m = pd.DataFrame(sites)[[F.VARIANT, F.LAYER, F.SITE_ID, "n_stations", "land_m2", "flag"]].merge(
        a, on=[F.LAYER, F.SITE_ID], how="inner")
    m["n_stations"] = m["n_stations"] * m[F.SHARE]
    m["land_m2"] = m["land_m2"] * m[F.SHARE]
    m["flagged"] = m["flag"] != ""
    g = m.groupby([F.VARIANT, F.SUBSTATION_ID], sort=True)
    out = g.agg(n_stations=("n_stations", "sum"), land_m2=("land_m2", "sum"), n_sites=(F.SITE_ID, "nunique"),
                n_sites_flagged=("flagged", "sum")).reset_index()
    out["n_sites_flagged"] = out["n_sites_flagged"].astype(int)
    return out[cols]
