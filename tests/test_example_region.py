"""The example region's numbers for two substations, with the arithmetic written out by hand.

OS06 "Laarveld": 150/20 kV, 2 x 40 MVA. N-1 applies (150 kV >= 110 kV, two units):
    firm offtake = 2 x 40 - 40 = 40 MVA; power factor 1.0 -> 40 MW.
    existing peak offtake 30 MW in 2025, +1.5 %/year compounded.
    receives 60 % of WB-STR (box x 184400-185400: 600 m of its 1000 m lie west of x = 185000, OS06's border)
    and the 6 MW large heat pump of heat network WN01 (source at 181000, 437200, inside OS06's area,
    while WN01's supply area lies in OS02's area) from 2029.
OS07 "Hoekwaard": 110/10 kV, 2 x 25 MVA -> N-1 firm 25 MVA; +40 MVA reinforcement in service from 2030.
    existing 21 MW in 2025; receives 40 % of WB-STR and freight hub LP-F01 (8 x 350 kW x simultaneity 1.0
    = 2.8 MW) from 2028.
WB-STR: 600 all-electric dwellings delivered evenly 2027-2032 (100 a year), EV share 0.5:
    kW per dwelling = 3.5 (all-electric) + 0.5 x 1.4 (EV) = 4.2 kW.
"""

from __future__ import annotations

import pytest

from spatialprog import fields as F


def row(result, sid, year, direction="offtake", variant="basis"):
    h = result.headroom
    r = h[(h.substation_id == sid) & (h.year == year) & (h.direction == direction) & (h.variant == variant)]
    assert len(r) == 1
    return r.iloc[0]


def test_os06_n1_straddling_site_and_heat_network_source(example_result):
    # 2030: existing 30 x 1.015^5 = 30 x 1.0772840039 = 32.3185201
    #       WB-STR: 400 dwellings delivered (2027..2030) x 4.2 kW = 1.680 MW; 60 % = 1.008 MW
    #       heat pump WN01: 6.000 MW
    #       load = 32.3185201 + 1.008 + 6 = 39.3265201; headroom = 40 - 39.3265201 = 0.6734799
    r = row(example_result, "OS06", 2030)
    assert r[F.FIRM_RULE] == "N-1"
    assert r[F.FIRM_CAPACITY_MVA] == pytest.approx(40.0)
    assert r[F.EXISTING_LOAD_MW] == pytest.approx(32.3185201, abs=1e-6)
    assert r[F.NEW_LOAD_MW] == pytest.approx(7.008, abs=1e-9)
    assert r[F.HEADROOM_MW] == pytest.approx(0.6734799, abs=1e-6)
    assert r[F.STATUS] == "waarschuwing"  # 0.67 / 40 = 1.7 % of capacity left: between 0 and 10 %
    # 2028, before the heat pump: WB-STR 200 dwellings x 4.2 kW x 0.6 = 0.504 MW
    assert row(example_result, "OS06", 2028)[F.NEW_LOAD_MW] == pytest.approx(0.504, abs=1e-9)
    # 2031: existing 30 x 1.015^6 = 32.8032979; WB-STR 500 x 4.2 x 0.6 = 1.26; + 6 -> 40.0632979; headroom -0.0632979
    r31 = row(example_result, "OS06", 2031)
    assert r31[F.HEADROOM_MW] == pytest.approx(-0.0632979, abs=1e-6)
    sf = example_result.shortfall.set_index([F.SUBSTATION_ID, F.VARIANT, F.DIRECTION])
    assert sf.loc[("OS06", "basis", "offtake"), F.FIRST_SHORTFALL_YEAR] == 2031
    # feed-in: N-0 by default -> 80 MVA; existing 8 MW x 1.02^5 = 8.8326464; headroom 71.1673536
    f = row(example_result, "OS06", 2030, "feedin")
    assert f[F.FIRM_RULE] == "N-0"
    assert f[F.HEADROOM_MW] == pytest.approx(80 - 8.8326464, abs=1e-6)


def test_os07_reinforcement_and_freight_hub(example_result):
    # 2028: existing 21 x 1.015^3 = 21.9592459; hub 2.8; WB-STR 200 x 4.2 x 0.4 = 0.336
    #       load 25.0952459 > firm 25 -> headroom -0.0952459: first shortfall 2028
    r28 = row(example_result, "OS07", 2028)
    assert r28[F.FIRM_CAPACITY_MVA] == pytest.approx(25.0)
    assert r28[F.HEADROOM_MW] == pytest.approx(-0.0952459, abs=1e-6)
    # 2030: reinforcement in service: firm 25 + 40 = 65
    #       existing 21 x 1.015^5 = 22.6229641; hub 2.8; WB-STR 400 x 4.2 x 0.4 = 0.672 -> load 26.0949641
    #       headroom 65 - 26.0949641 = 38.9050359
    r30 = row(example_result, "OS07", 2030)
    assert r30[F.FIRM_CAPACITY_MVA] == pytest.approx(65.0)
    assert r30[F.LOAD_MW] == pytest.approx(26.0949641, abs=1e-6)
    assert r30[F.HEADROOM_MW] == pytest.approx(38.9050359, abs=1e-6)
    assert r30[F.STATUS] == "ruimte"
    # 2029 still short: 21 x 1.015^4 = 22.2886346 + 2.8 + 300 x 4.2 x 0.4 (0.504) = 25.5926346 -> -0.5926346
    assert row(example_result, "OS07", 2029)[F.HEADROOM_MW] == pytest.approx(-0.5926346, abs=1e-6)
    sf = example_result.shortfall.set_index([F.SUBSTATION_ID, F.VARIANT, F.DIRECTION])
    assert sf.loc[("OS07", "basis", "offtake"), F.FIRST_SHORTFALL_YEAR] == 2028


def test_straddling_site_is_split_60_40(example_result):
    a = example_result.assignment
    s = a[a.site_id == "WB-STR"].set_index(F.SUBSTATION_ID)[F.SHARE]
    assert s.to_dict() == pytest.approx({"OS06": 0.6, "OS07": 0.4})
    hp = a[(a.layer == "heat_networks") & (a.site_id == "WN01")]
    assert hp[F.SUBSTATION_ID].tolist() == ["OS06"]


def test_example_region_has_what_the_brief_asks(example_result):
    layers = example_result.plan.layers
    assert len(layers["substations"]) == 12
    assert len(layers["housing_sites"]) >= 60
    assert len(layers["industrial_zones"]) >= 10
    assert len(layers["charging_hubs"]) >= 20
    assert (layers["charging_hubs"]["segment"] == "freight").any()
    assert len(layers["heat_networks"]) == 3
    assert set(layers["generation"]["technology"]) == {"solar", "wind"}
    assert len(layers["boundaries"]) >= 3
    assert set(layers["housing_sites"]["heating"]) == {"gas", "hybrid", "all_electric", "heat_network"}
    sf = example_result.shortfall
    by2030 = sf[(sf.variant == "basis") & (sf.direction == "offtake") & (sf.first_shortfall_year <= 2030)]
    assert len(by2030) >= 3, "several substations should be short by 2030"
    assert (example_result.capacity["firm_rule_offtake"] == "N-1").sum() >= 6


def test_variants_differ(example_result):
    h = example_result.headroom
    h = h[(h.direction == "offtake") & (h.year == 2035)].pivot(index="substation_id", columns="variant",
                                                                 values="headroom_mw")
    assert (h["hoog"] < h["basis"]).all()          # more EVs, faster growth: less headroom everywhere
    assert (h["vertraagd"] >= h["basis"] - 1e-9).all()  # fewer, later dwellings: never less headroom
    assert (h["vertraagd"] > h["basis"]).any()
