"""Every energy carrier: hydrogen, heat and gas nodes, conversion, storage and flexible connections (hand checks).

The example region carries a hydrogen station (H2-01: 25 MW_H2 offtake, 10 MW_H2 feed-in, from 2030), a gas
receiving station and a green-gas feed-in point, and the sources of its three heat networks (WB-01 a 21 MWth heat
pump with COP 3.5 for WN01 from 2029; WB-02 15 MWth of waste heat for WN02 from 2029, two years after WN02's
first dwellings; WB-03 a 2.97 MWth e-boiler for WN03 from 2032). Business park BT06 makes its process heat with
hydrogen.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.pipeline import compute, read_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"


def example(tmp_path=None, *, layers=None, variants=None, drop_columns=()):
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    for kind, col in drop_columns:
        cfg["layers"][kind]["columns"].pop(col, None)
    cfg["layers"].update(layers or {})
    if variants is not None:
        cfg["variants"].update(variants)
    return project_from_dict(cfg, root=EXAMPLE.parent)


@pytest.fixture(scope="module")
def run():
    return compute(read_plan(example()), variants=["basis"])


def head(result, node, direction=F.OFFTAKE, column=F.HEADROOM_MW, variant="basis"):
    h = pd.concat([result.headroom, result.carrier_headroom], ignore_index=True)
    h = h[(h[F.SUBSTATION_ID] == node) & (h[F.DIRECTION] == direction) & (h[F.VARIANT] == variant)]
    return h.set_index(F.YEAR)[column]


def test_every_carrier_has_rows_with_its_unit(run):
    h = run.carrier_headroom
    assert set(zip(h[F.CARRIER], h[F.UNIT], strict=True)) == {("hydrogen", "MW_H2"), ("heat", "MWth"), ("gas", "MW_gas")}
    assert set(run.headroom[F.CARRIER]) == {"electricity"} and set(run.headroom[F.UNIT]) == {"MWe"}
    # a node gives rows only for the directions it has a capacity for
    assert set(h[h[F.SUBSTATION_ID] == "GG-01"][F.DIRECTION]) == {"feedin"}
    assert set(h[h[F.SUBSTATION_ID] == "WN01"][F.DIRECTION]) == {"offtake"}


def test_conservation_per_carrier(run):
    d, a = run.demand, run.carrier_allocated
    for carrier in ("hydrogen", "heat", "gas"):
        dc, ac = d[d[F.CARRIER] == carrier], a[a[F.CARRIER] == carrier]
        assert ac[F.OFFTAKE_MW].sum() == pytest.approx(dc[F.OFFTAKE_MW].sum())  # split, nothing lost or made
        on_nodes = ac[ac[F.SUBSTATION_ID].notna()].groupby(F.YEAR)[F.OFFTAKE_MW].sum()
        h = run.carrier_headroom
        load = h[(h[F.CARRIER] == carrier) & (h[F.DIRECTION] == F.OFFTAKE)].groupby(F.YEAR)[F.LOAD_MW].sum()
        assert np.allclose(load.reindex(on_nodes.index, fill_value=0.0), on_nodes)


def test_status_classes_per_carrier_use_their_own_thresholds(run):
    """Heat nodes: ruimte from 15 % of capacity, schaars from 5 %; electricity from 20 % and 10 % (data/)."""
    h = run.carrier_headroom
    heat = h[(h[F.CARRIER] == "heat") & (h[F.CAPACITY_MW] > 0)]
    share = heat[F.HEADROOM_MW] / heat[F.CAPACITY_MW]
    by_hand = np.select([share <= 0, share < 0.05, share < 0.15], ["congestie", "waarschuwing", "schaars"], "ruimte")
    assert (heat[F.STATUS].to_numpy() == by_hand).all()
    assert set(by_hand) >= {"ruimte", "schaars"}
    # a share between 15 % and 20 % is ruimte for heat but schaars for the substations
    from spatialprog.headroom import classify_status, status_classes_for
    classes = run.plan.reference.status_classes
    one = (np.array([17.0]), np.array([100.0]))
    assert classify_status(*one, classes).tolist() == ["schaars"]
    assert classify_status(*one, status_classes_for(classes, "heat")).tolist() == ["ruimte"]
    gas = h[(h[F.CARRIER] == "gas") & (h[F.CAPACITY_MW] > 0)]
    gshare = gas[F.HEADROOM_MW] / gas[F.CAPACITY_MW]
    assert (gas.loc[gshare >= 0.10, F.STATUS] == "ruimte").all()


def test_heat_source_with_cop_and_a_later_start(run):
    # WN02: dwellings from 2027, its waste-heat source only from 2029: short of heat until then
    heat = head(run, "WN02")
    cap = head(run, "WN02", column=F.CAPACITY_MW)
    hn = run.demand[(run.demand[F.CARRIER] == "heat")]
    on_wn02 = run.carrier_allocated[(run.carrier_allocated[F.SUBSTATION_ID] == "WN02")]
    d2027 = on_wn02[on_wn02[F.YEAR] == 2027][F.OFFTAKE_MW].sum()
    assert d2027 > 0 and len(hn)
    assert cap[2027] == 0 and cap[2029] == 15.0
    assert heat[2027] == pytest.approx(-d2027)
    fs = run.carrier_shortfall.set_index([F.SUBSTATION_ID, F.DIRECTION])
    assert fs.loc[("WN02", "offtake"), F.FIRST_SHORTFALL_YEAR] == 2027
    # the heat demand is 4 kWth per dwelling on the network
    el = run.allocated[(run.allocated[F.YEAR] == 2027) & (run.allocated[F.LAYER] == "housing_sites")]
    sites = set(on_wn02[F.SITE_ID])
    dwellings_on = run.demand[(run.demand[F.CARRIER] == "electricity") & (run.demand[F.YEAR] == 2027)
                              & run.demand[F.SITE_ID].isin(sites)][F.DWELLINGS_ON_HEAT_NETWORK].sum()
    assert d2027 == pytest.approx(dwellings_on * 4.0 / 1000)
    del el
    # WB-01: 21 MWth at COP 3.5 = 6 MWe at its substation from 2029 (the network's own bron_mw is replaced)
    e = run.demand[(run.demand[F.LAYER] == "heat_sources") & (run.demand[F.SITE_ID] == "WB-01")]
    assert e.set_index(F.YEAR)[F.OFFTAKE_MW][[2028, 2029]].tolist() == [0.0, pytest.approx(6.0)]
    wn = run.demand[(run.demand[F.LAYER] == "heat_networks")]
    assert (wn[F.OFFTAKE_MW] == 0).all()
    # WB-03: a 2.97 MWth e-boiler: 2.97 / 0.99 = 3.0 MWe
    e3 = run.demand[(run.demand[F.LAYER] == "heat_sources") & (run.demand[F.SITE_ID] == "WB-03")]
    assert e3.set_index(F.YEAR)[F.OFFTAKE_MW][2032] == pytest.approx(3.0)


def test_the_electricity_grid_is_the_same_as_before_the_heat_sources(run):
    """The sources carry exactly the networks' own source load: every substation's headroom is unchanged."""
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    for k in ("heat_sources", "hydrogen_stations", "hydrogen_pipelines", "gas_stations"):
        cfg["layers"].pop(k)
    before = compute(read_plan(project_from_dict(cfg, root=EXAMPLE.parent)), variants=["basis"])
    a = before.headroom.set_index([F.SUBSTATION_ID, F.YEAR, F.DIRECTION])[F.HEADROOM_MW]
    b = run.headroom.set_index([F.SUBSTATION_ID, F.YEAR, F.DIRECTION])[F.HEADROOM_MW]
    assert np.allclose(a.sort_index(), b.sort_index())


def conversion_layer(tmp_path, rows):
    g = gpd.GeoDataFrame(rows, crs=28992)
    path = tmp_path / "conversie.geojson"
    g.to_file(path, driver="GeoJSON")
    return {"conversion_assets": {"path": str(path), "columns": {"id": "code", "technology": "techniek",
                                                                "power_mw": "mw", "year": "jaar"}}}


def test_electrolyser_draws_mwe_at_its_substation_and_feeds_mw_h2_at_its_station(tmp_path, run):
    # 20 MWe next to H2-01 (in OS08's service area), from 2031: 20 x 0.65 = 13 MW_H2 into a 10 MW_H2 feed-in
    layers = conversion_layer(tmp_path, [{"code": "EL1", "techniek": "electrolyser", "mw": 20.0, "jaar": 2031,
                                          "geometry": Point(196_700, 437_900)}])
    r = compute(read_plan(example(layers=layers)), variants=["basis"])
    sub = r.assignment[(r.assignment[F.LAYER] == "conversion_assets")][F.SUBSTATION_ID].item()
    el_before, el_after = head(run, sub), head(r, sub)
    assert (el_before - el_after)[[2030, 2031, 2040]].tolist() == pytest.approx([0.0, 20.0, 20.0])
    h2 = head(r, "H2-01", F.FEEDIN)
    assert h2[2030] == 10.0 and h2[2031] == pytest.approx(10 - 13.0)
    fs = r.carrier_shortfall.set_index([F.SUBSTATION_ID, F.DIRECTION])
    assert fs.loc[("H2-01", "feedin"), F.FIRST_SHORTFALL_YEAR] == 2031


def test_battery_shaves_the_peak_of_its_substation(tmp_path, run):
    layers = conversion_layer(tmp_path, [{"code": "BAT1", "techniek": "battery", "mw": 5.0, "jaar": 2027,
                                          "geometry": Point(174_000, 432_500)}])
    r = compute(read_plan(example(layers=layers)), variants=["basis"])
    sub = r.assignment[(r.assignment[F.LAYER] == "conversion_assets")][F.SUBSTATION_ID].item()
    for direction in F.DIRECTIONS:
        gain = head(r, sub, direction) - head(run, sub, direction)
        assert gain[[2026, 2027, 2040]].tolist() == pytest.approx([0.0, 5.0, 5.0])


def test_a_non_firm_connection_counts_at_its_firm_share(tmp_path, run):
    hubs = gpd.GeoDataFrame({"id": ["FLEX"], "n": [10], "kw": [1000.0], "jaar": [2027], "seg": ["freight"],
                             "vast": [0.4]}, geometry=[Point(174_000, 432_500)], crs=28992)
    path = tmp_path / "flex.geojson"
    hubs.to_file(path, driver="GeoJSON")
    layers = {"charging_hubs": {"path": str(path), "columns": {"id": "id", "charge_points": "n", "kw_per_point": "kw",
                                                               "year": "jaar", "segment": "seg", "firm_share": "vast"}}}
    r = compute(read_plan(example(layers=layers)), variants=["basis"])
    d = r.demand[(r.demand[F.SITE_ID] == "FLEX")].set_index(F.YEAR)
    full = 10 * 1000.0 * r.project.parameters["demand.charging_simultaneity.freight"] / 1000.0  # MW
    assert d.loc[2027, F.OFFTAKE_MW] == pytest.approx(0.4 * full)
    assert d.loc[2027, "curtailable_offtake_mw"] == pytest.approx(0.6 * full)
    a = r.allocated[(r.allocated[F.SITE_ID] == "FLEX") & (r.allocated[F.YEAR] == 2027)]
    assert a[F.OFFTAKE_MW].sum() == pytest.approx(0.4 * full)   # only the firm part reaches the substation


def test_process_heat_moved_from_electric_to_hydrogen_by_a_parameter_override():
    """All parks without their own process_heat_carrier follow the parameter: electric in one variant, hydrogen in the other."""
    variants = {"elektrisch": {"parameters": {"demand.process_heat_carrier": "electric"}},
                "waterstof": {"parameters": {"demand.process_heat_carrier": "hydrogen"}}}
    p = example(variants=variants, drop_columns=[("industrial_zones", "process_heat_carrier")])
    plan = read_plan(p)
    r = compute(plan, variants=["basis", "elektrisch", "waterstof"])
    zones = plan.layers["industrial_zones"].set_index("id")
    per_ha = p.parameters.group("demand.business_park_process_heat_mwth_per_ha")

    def heat_mwth(z):  # in full, after the ramp-up (2040)
        a = zones.at[z, "area_ha"] if pd.notna(zones.at[z, "area_ha"]) else shapely.area(zones.at[z, "geometry"]) / 1e4
        return a * per_ha[zones.at[z, "category"]]

    # BT06 (light industry, 0.1 MWth/ha): its substation's electricity headroom is up, in hydrogen, by the heat
    # of every park it serves / 0.99 (e-boiler)
    asg = r.assignment[r.assignment[F.LAYER] == "industrial_zones"]
    sub = asg[asg[F.SITE_ID] == "BT06"].sort_values(F.SHARE)[F.SUBSTATION_ID].iloc[-1]
    served = asg[asg[F.SUBSTATION_ID] == sub]
    expected_mwe = sum(heat_mwth(z) * s for z, s in zip(served[F.SITE_ID], served[F.SHARE], strict=True)) / 0.99
    assert expected_mwe > 0
    up = head(r, sub, variant="waterstof") - head(r, sub, variant="elektrisch")
    assert up[2040] == pytest.approx(expected_mwe)
    # ... and H2-01's hydrogen headroom is down by the heat / 0.9 of the parks within 10 km of it: BT06, BT04
    near = r.carrier_allocated[(r.carrier_allocated[F.SUBSTATION_ID] == "H2-01")
                               & (r.carrier_allocated[F.VARIANT] == "waterstof")]
    assert set(near[F.SITE_ID]) == {"BT06", "BT04"}
    down = head(r, "H2-01", variant="elektrisch") - head(r, "H2-01", variant="waterstof")
    assert down[2040] == pytest.approx((heat_mwth("BT06") + heat_mwth("BT04")) / 0.9)


def test_demand_on_a_carrier_without_nodes_is_reported():
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    cfg["layers"].pop("hydrogen_stations")
    r = compute(read_plan(project_from_dict(cfg, root=EXAMPLE.parent)), variants=["basis"])
    assert any("need hydrogen (MW_H2) but the project has no hydrogen_stations layer" in n.message for n in r.notices)
    assert (r.demand[F.CARRIER] == "hydrogen").any()


def test_bad_input_battery_larger_than_its_substation_and_a_source_before_its_network(tmp_path):
    layers = conversion_layer(tmp_path, [{"code": "BAT9", "techniek": "battery", "mw": 900.0, "jaar": 2027,
                                          "geometry": Point(174_000, 432_500)}])
    src = gpd.read_file(ROOT / "layers" / "example_region.gpkg", layer="warmtebronnen")
    src.loc[src["bron_code"] == "WB-01", "start"] = 2026  # WN01 starts in 2029
    path = tmp_path / "bronnen.gpkg"
    src.to_file(path, layer="warmtebronnen")
    layers["heat_sources"] = {"path": str(path), "layer": "warmtebronnen",
                              "columns": {"id": "bron_code", "name": "naam", "heat_network_id": "warmtenet",
                                          "technology": "techniek", "capacity_mwth": "vermogen_mwth", "cop": "cop",
                                          "start_year": "start"}}
    r = compute(read_plan(example(layers=layers)), variants=["basis"])
    msgs = {(n.feature, n.field): n.message for n in r.notices}
    assert msgs[("BAT9", "power_mw")].startswith("battery of 900 MW is larger than the firm capacity of its substation")
    assert msgs[("WB-01", "start_year")] == ("starts in 2026, before its network 'WN01' exists (2029): its heat "
                                             "counts from the network's first year")


def test_greenhouse_cluster_with_chp_and_a_data_centre_by_hand():
    """10 ha of lit greenhouses and a 50 MW data centre, in full from 2030 (the ramp-up ends)."""
    from spatialprog.demand import industrial_demand
    from spatialprog.params import load_parameters

    z = gpd.GeoDataFrame({"id": ["KAS", "DC"], "category": ["greenhouse", "data_centre"], "area_ha": [10.0, 20.0],
                          "contracted_mw": [np.nan, 50.0], "start_year": [2026, 2026]},
                         geometry=[Point(0, 0).buffer(100), Point(500, 0).buffer(100)], crs=28992)
    d = industrial_demand(z, load_parameters(), [2030])
    got = {(r.site_id, r.carrier): (r.offtake_mw, r.feedin_mw) for r in d.itertuples(index=False)}
    # greenhouse: lighting 10 x 0.6 = 6 MWe; CHP 10 x 0.3 = 3 MWe fed in, burning 3 / 0.4 = 7.5 MW_gas, whose heat
    # 3 x 0.45 / 0.4 = 3.375 MWth covers part of the 10 x 1.0 MWth: the boiler burns (10 - 3.375) / 0.9 MW_gas
    assert got[("KAS", "electricity")] == (pytest.approx(6.0), pytest.approx(3.0))
    assert got[("KAS", "gas")][0] == pytest.approx(7.5 + (10 - 3.375) / 0.9)
    # data centre: its contract, and 0.8 x 50 = 40 MWth of residual heat shown as a possible heat source
    assert got[("DC", "electricity")] == (pytest.approx(50.0), 0.0)
    assert got[("DC", "heat")] == (0.0, pytest.approx(40.0))


def test_the_run_summary_names_a_carriers_earliest_short_nodes_and_counts_the_rest(example_result, monkeypatch):
    """A national run has hundreds of short heat networks: the summary names the first few by year, not all."""
    import dataclasses

    from spatialprog.cli import report
    from spatialprog.cli.options import console

    cs = example_result.carrier_shortfall
    base = cs[(cs[F.VARIANT] == "basis") & (cs[F.CARRIER] == "heat")].iloc[[0]]
    many = pd.concat([base.assign(**{F.SUBSTATION_ID: f"WN{i:04d}", F.FIRST_SHORTFALL_YEAR: 2040 - i})
                      for i in range(10)], ignore_index=True)
    result = dataclasses.replace(example_result, carrier_shortfall=many)
    monkeypatch.setattr(report, "SHORT_NODES_LISTED", 3)
    with console.capture() as out:
        report.print_summary(result)
    text = " ".join(out.get().split())  # as one line, however wide the console
    assert ("warmte: 10 nodes, short (earliest first): WN0009 offtake 2031, WN0008 offtake 2032, WN0007 offtake 2033 "
            "and 7 more (shortfall.csv)") in text
    assert "WN0006" not in text
