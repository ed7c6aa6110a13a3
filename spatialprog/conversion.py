"""Conversion and storage that link the carriers.

Each function returns demand rows (:func:`spatialprog.demand.demand_frame`), one
frame per carrier, with the efficiencies from data/parameters.toml
(``conversion.*``), so that a conversion balances:
electricity in x efficiency = output.

* **heat sources** of heat networks: a large heat pump draws its thermal capacity /
  COP (``cop`` column, else ``conversion.heat_pump_cop``) at the substation that
  serves it, an e-boiler capacity / ``conversion.e_boiler_efficiency``; a CHP source
  burns capacity / ``chp_heat_efficiency`` of gas and feeds in that x
  ``chp_electric_efficiency`` of electricity; waste heat and geothermal draw no
  electricity here. Each from its ``start_year``, at its rating (the connection the
  operator must provide). Its heat is the capacity of its network's node
  (:func:`spatialprog.carriers.carrier_nodes`).
* **conversion assets**: an electrolyser draws ``power_mw`` of electricity and
  feeds ``power_mw x efficiency`` of hydrogen into its hydrogen station; a CHP plant
  burns ``power_mw / chp_electric_efficiency`` of gas and feeds ``power_mw`` in; a
  battery shaves the peaks of its substation within its power rating: ``-power_mw``
  on offtake and on feed-in (ACM's congestion relievers).

The process heat of business parks is in :func:`spatialprog.demand.process_heat`.

Pure: nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from . import fields as F
from .demand import demand_frame
from .params import ParameterSet

__all__ = ["HEAT_TECHNOLOGIES", "CONVERSION_TECHNOLOGIES", "heat_source_demand", "conversion_demand",
           "check_batteries"]

HEAT_TECHNOLOGIES = ("heat_pump", "e_boiler", "chp", "waste_heat", "geothermal")
CONVERSION_TECHNOLOGIES = ("electrolyser", "battery", "chp")


def _frame(layer, ids, years, off, feed, carrier):
    return demand_frame(layer, ids, years, off, feed, carrier=carrier)


def _on(start: np.ndarray, years: Sequence[int]) -> np.ndarray:
    return (np.asarray(years, dtype=float)[None, :] >= start[:, None]).astype(float)


def heat_source_demand(sources: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
                       layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Electricity (and gas) of heat sources, at their rating from their start year.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> from spatialprog.params import load_parameters
    >>> s = gpd.GeoDataFrame({"id": ["WP1"], "technology": ["heat_pump"], "capacity_mwth": [14.0], "cop": [3.5],
    ...     "start_year": [2027], "heat_network_id": ["WN1"]}, geometry=[Point(0, 0)], crs=28992)
    >>> heat_source_demand(s, load_parameters(), [2026, 2027])["offtake_mw"].tolist()  # 14 / 3.5
    [0.0, 4.0]
    """
    tech = sources["technology"].to_numpy()
    cap = sources["capacity_mwth"].to_numpy(dtype=float)
    cop = sources["cop"].to_numpy(dtype=float) if "cop" in sources else np.full(len(sources), np.nan)
    cop = np.where(np.isnan(cop), float(params["conversion.heat_pump_cop"]), cop)
    on = _on(sources["start_year"].to_numpy(dtype=float), years)
    ids = sources["id"].tolist()
    e_eff = float(params["conversion.e_boiler_efficiency"])
    electric = np.select([tech == "heat_pump", tech == "e_boiler"], [cap / cop, cap / e_eff], 0.0)
    gas_in = np.where(tech == "chp", cap / float(params["conversion.chp_heat_efficiency"]), 0.0)
    chp_out = gas_in * float(params["conversion.chp_electric_efficiency"])
    frames = [_frame("heat_sources", ids, years, electric[:, None] * on, chp_out[:, None] * on, F.ELECTRICITY)]
    if (gas_in > 0).any():
        frames.append(_frame("heat_sources", ids, years, gas_in[:, None] * on, np.zeros_like(on), "gas"))
    return pd.concat(frames, ignore_index=True)


def conversion_demand(assets: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
                      layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """Electricity, hydrogen and gas of conversion and storage assets, from their year.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> from spatialprog.params import load_parameters
    >>> a = gpd.GeoDataFrame({"id": ["E1", "B1"], "technology": ["electrolyser", "battery"],
    ...     "power_mw": [20.0, 10.0], "year": [2028, 2026]}, geometry=[Point(0, 0), Point(1, 1)], crs=28992)
    >>> d = conversion_demand(a, load_parameters(), [2028])
    >>> d[["site_id", "carrier", "offtake_mw", "feedin_mw"]].values.tolist()
    [['E1', 'electricity', 20.0, 0.0], ['B1', 'electricity', -10.0, -10.0], ['E1', 'hydrogen', 0.0, 13.0]]
    """
    tech = assets["technology"].to_numpy()
    p = assets["power_mw"].to_numpy(dtype=float)
    eff = assets["efficiency"].to_numpy(dtype=float) if "efficiency" in assets else np.full(len(assets), np.nan)
    on = _on(assets["year"].to_numpy(dtype=float), years)
    ids = assets["id"].tolist()
    chp_e = float(params["conversion.chp_electric_efficiency"])
    el_off = np.select([tech == "electrolyser", tech == "battery"], [p, -p], 0.0)
    el_feed = np.select([tech == "chp", tech == "battery"], [p, -p], 0.0)
    frames = [_frame("conversion_assets", ids, years, el_off[:, None] * on, el_feed[:, None] * on, F.ELECTRICITY)]
    h2_eff = np.where(np.isnan(eff), float(params["conversion.electrolyser_efficiency"]), eff)
    h2 = np.where(tech == "electrolyser", p * h2_eff, 0.0)
    if (h2 > 0).any():
        k = np.flatnonzero(h2 > 0)
        frames.append(_frame("conversion_assets", [ids[i] for i in k], years, np.zeros_like(on[k]),
                             h2[k, None] * on[k], "hydrogen"))
    gas = np.where(tech == "chp", p / np.where(np.isnan(eff), chp_e, eff), 0.0)
    if (gas > 0).any():
        k = np.flatnonzero(gas > 0)
        frames.append(_frame("conversion_assets", [ids[i] for i in k], years, gas[k, None] * on[k],
                             np.zeros_like(on[k]), "gas"))
    return pd.concat(frames, ignore_index=True)


def check_batteries(assets: pd.DataFrame | None, assignment: pd.DataFrame, capacity: pd.DataFrame,
                    notices) -> None:
    """Report a battery rated above the firm capacity of the substation it connects to.

    A battery can shave no more than its substation carries: its rating is
    still counted (the operator would not connect it), with a warning.
    """
    if assets is None or not len(assets) or "technology" not in assets:
        return
    firm = dict(zip(capacity[F.SUBSTATION_ID], capacity["firm_offtake_mva"], strict=True))
    asg = assignment[(assignment[F.LAYER] == "conversion_assets") & assignment[F.SUBSTATION_ID].notna()]
    at = asg.sort_values(F.SHARE, ascending=False, kind="stable").drop_duplicates(F.SITE_ID)
    where = dict(zip(at[F.SITE_ID], at[F.SUBSTATION_ID], strict=True))
    for sid, tech, mw in zip(assets["id"], assets["technology"], assets["power_mw"].astype(float), strict=True):
        sub = where.get(sid)
        if tech == "battery" and sub is not None and mw > firm.get(sub, np.inf):
            notices.add("conversion_assets", f"battery of {mw:g} MW is larger than the firm capacity of its "
                        f"substation {sub} ({firm[sub]:g} MVA)", feature=sid, field="power_mw", level="warning",
                        fix="check power_mw (MW, not MWh)")
