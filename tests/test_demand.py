"""Demand per site and year, checked against hand arithmetic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from spatialprog.demand import (
    charging_demand,
    delivered_dwellings,
    demand_points,
    generation_feedin,
    heat_network_demand,
    housing_demand,
    industrial_demand,
)
from spatialprog.errors import LayerValidationError
from spatialprog.kinds import LAYER_KINDS
from spatialprog.params import load_parameters

P = load_parameters()
YEARS = [2025, 2026, 2027, 2028, 2029, 2030]


def sites(**kw):
    d = {"id": ["H1"], "dwellings": [200], "delivery_start_year": [2026], "delivery_end_year": [2029],
         "heating": ["hybrid"], "ev_share": [np.nan]}
    d.update(kw)
    return gpd.GeoDataFrame(d, geometry=[box(0, 0, 200, 100)] * len(d["id"]), crs="EPSG:28992")


def test_delivery_spread_evenly_and_by_phasing():
    # 200 dwellings over 2026..2029 = 50 a year
    s = sites()
    assert delivered_dwellings(s, YEARS).tolist() == [[0, 50, 100, 150, 200, 200]]
    s = sites(phasing=["2027:120;2029:80"])
    assert delivered_dwellings(s, YEARS).tolist() == [[0, 0, 120, 120, 200, 200]]
    # a 2-year delay and 80 % delivered
    assert delivered_dwellings(sites(), YEARS, delay_years=2, delivery_share=0.8)[0].tolist() == \
        pytest.approx([0, 0, 0, 40, 80, 120])


def test_housing_kw_by_heating_with_default_ev_share():
    # hybrid: 2.5 kW + default EV share 0.3 x 1.4 kW = 2.92 kW per dwelling; 2028: 150 dwellings -> 0.438 MW
    d = housing_demand(sites(), P, YEARS)
    assert d.loc[d.year == 2028, "offtake_mw"].item() == pytest.approx(150 * 2.92 / 1000)
    assert (d["feedin_mw"] == 0).all()


def test_heat_network_share_switches_figure_from_start_year():
    # all-electric site 200 x 100 m, left half (100 x 100) inside a heat network starting 2028
    s = sites(heating=["all_electric"], ev_share=[0.0])
    hn = gpd.GeoDataFrame({"id": ["W"], "start_year": [2028], "source_load_mw": [5.0]},
                          geometry=[box(-50, -50, 100, 150)], crs="EPSG:28992")
    d = housing_demand(s, P, YEARS, heat_networks=hn)
    d = d[d["carrier"] == "electricity"].set_index("year")  # the heat it draws is carrier heat (test_carriers)
    # 2027: 100 dwellings x 3.5 kW = 0.35 MW (network not yet supplying)
    assert d.loc[2027, "offtake_mw"] == pytest.approx(0.35)
    # 2028: 150 dwellings; half on the network: 75 x 1.5 + 75 x 3.5 = 375 kW
    assert d.loc[2028, "offtake_mw"] == pytest.approx(0.375)
    assert d.loc[2028, "dwellings_on_heat_network"] == pytest.approx(75)


def test_business_parks_contracted_and_per_hectare_with_rampup():
    z = gpd.GeoDataFrame({"id": ["B1", "B2"], "category": ["logistics", "heavy_industry"], "area_ha": [20.0, np.nan],
                          "contracted_mw": [np.nan, 12.0], "start_year": [2026, 2027]},
                         geometry=[box(0, 0, 400, 500), box(0, 0, 100, 100)], crs="EPSG:28992")
    d = industrial_demand(z, P, YEARS)
    d = d[d["carrier"] == "electricity"].pivot(index="year", columns="site_id", values="offtake_mw")
    # B1: 20 ha x 0.25 MW/ha = 5 MW, filled over 5 years from 2026: 1/5, 2/5, ...
    assert d["B1"].tolist() == pytest.approx([0, 1, 2, 3, 4, 5])
    # B2: contracted 12 MW in full from 2027
    assert d["B2"].tolist() == [0, 0, 12, 12, 12, 12]


def test_business_park_area_from_geometry_and_unknown_category():
    z = gpd.GeoDataFrame({"id": ["B1"], "category": ["offices"], "start_year": [2020]},
                         geometry=[box(0, 0, 200, 500)], crs="EPSG:28992")  # 10 ha
    d = industrial_demand(z, P, [2030])
    assert d["offtake_mw"].item() == pytest.approx(10 * 0.5)
    z["category"] = ["datacenter"]
    with pytest.raises(LayerValidationError, match="feature B1, field 'category': unknown category 'datacenter'"):
        industrial_demand(z, P, [2030])


def test_charging_generation_heat_source():
    h = gpd.GeoDataFrame({"id": ["L1", "L2"], "charge_points": [10, 4], "kw_per_point": [22.0, 350.0],
                          "year": [2026, 2028], "segment": ["passenger", "freight"]},
                         geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:28992")
    d = charging_demand(h, P, YEARS).pivot(index="year", columns="site_id", values="offtake_mw")
    assert d.loc[2026, "L1"] == pytest.approx(10 * 22 * 0.5 / 1000)   # 0.11 MW
    assert d.loc[2027, "L2"] == 0 and d.loc[2028, "L2"] == pytest.approx(1.4)
    g = gpd.GeoDataFrame({"id": ["Z", "W"], "technology": ["solar", "wind"], "capacity_mw": [12.0, 5.6],
                          "year": [2027, 2030]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:28992")
    f = generation_feedin(g, P, YEARS).pivot(index="year", columns="site_id", values="feedin_mw")
    assert f.loc[2027, "Z"] == 12 and f.loc[2029, "W"] == 0 and f.loc[2030, "W"] == 5.6
    n = gpd.GeoDataFrame({"id": ["N"], "start_year": [2029], "source_load_mw": [6.0]},
                         geometry=[box(0, 0, 10, 10)], crs="EPSG:28992")
    s = heat_network_demand(n, P, YEARS).set_index("year")["offtake_mw"]
    assert s[2028] == 0 and s[2029] == 6


def test_heat_network_load_enters_at_its_source():
    n = gpd.GeoDataFrame({"id": ["N1", "N2"], "start_year": [2029, 2030], "source_load_mw": [6.0, 1.0],
                          "source_x_m": [5000.0, np.nan], "source_y_m": [7000.0, np.nan]},
                         geometry=[box(0, 0, 10, 10), box(100, 100, 110, 110)], crs="EPSG:28992")
    pts = demand_points({"heat_networks": n}, kinds=LAYER_KINDS)
    assert pts.geometry.iat[0].equals(Point(5000, 7000))
    assert box(100, 100, 110, 110).contains(pts.geometry.iat[1])


def test_demand_rows_align_with_input_order():
    s = pd.concat([sites(), sites(id=["H0"])], ignore_index=True)
    d = housing_demand(gpd.GeoDataFrame(s, crs="EPSG:28992"), P, YEARS)
    assert d["site_id"].unique().tolist() == ["H1", "H0"]
