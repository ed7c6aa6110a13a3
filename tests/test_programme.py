"""The programme: interventions in standard transformer steps, land, lead times, what waits; variants."""

from __future__ import annotations

import pytest

from spatialprog.compare import compare_variants, no_regret
from spatialprog.programme import land_for, size_extension, size_new_substation
from spatialprog.ranking import rank_run
from spatialprog.reference import load_substation_land, load_transformer_steps
from spatialprog.waiting import waiting_demand
from tests._rank_project import run_tiny

KW = {"n1_min_kv": 110.0, "feedin_n1": False}
STEPS = [40.0, 50.0, 63.0, 80.0]


def test_extension_under_n1_takes_the_smallest_step():
    # 2 x 40 at 150 kV: firm 40. +1 x 40 -> 3 x 40, firm 80: +40 covers 30
    assert size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=30.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, **KW) == (1, 40.0, 40.0, 40.0)
    # need 60: +1 x 63 gains only 40 under N-1 (the new largest unit drops out); +2 x 40 gains 80 (80 MVA added)
    # +1 x 80 gains 40. Smallest added installed MVA that covers 60: 2 x 40 = 80 MVA (feed-in, N-0: +80)
    assert size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=60.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, **KW) == (2, 40.0, 80.0, 80.0)


def test_a_single_transformer_station_keeps_its_rule():
    # 1 x 80 at 150 kV runs at N-0 (firm 80), as the headroom table counts it. The extension keeps that rule:
    # +1 x 40 adds 40 firm and covers 10. Made N-1 redundant ([80, 50, 50]: 180 - 80 = 100, +20) it takes 2 x 50.
    assert size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=10.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, **KW) == (1, 40.0, 40.0, 40.0)
    assert size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=10.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, n1_after=True, **KW) == (2, 50.0, 20.0, 100.0)


def test_a_small_need_takes_one_smallest_step():
    """OS09 of the example (1 x 80 MVA, 150/10 kV) needs 6.3 MVA: one unit of the smallest standard step, not
    2 x 50 MVA."""
    assert size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=6.3, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, **KW)[:2] == (1, 40.0)
    # the same need at a station under N-1 (2 x 40, firm 40): +1 x 40 -> 3 x 40, firm 80, +40
    assert size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=6.3, need_feedin_mva=0.0, steps=STEPS,
                          max_units=4, **KW) == (1, 40.0, 40.0, 40.0)
    # and at a 50 kV station (N-0): the smallest 50 kV step, 20 MVA
    assert size_extension(units=[20.0, 20.0], hv_kv=50.0, need_offtake_mva=6.3, need_feedin_mva=0.0,
                          steps=[20.0, 25.0, 31.5, 40.0], max_units=4, **KW)[:2] == (1, 20.0)


def test_a_need_beyond_the_largest_step_takes_the_fewest_units():
    # N-0 station 1 x 80 at 150 kV, need 170 MVA, room for 5 more units. One unit gives at most 80: too little.
    # Two give at most 2 x 80 = 160: too little. Three: 3 x 63 = 189 >= 170 (3 x 50 = 150 is not): 3 x 63.
    assert size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=170.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=6, **KW) == (3, 63.0, 189.0, 189.0)
    # need 90: one unit is not enough (80), two of 50 are (100); fewer units win over less MVA (not 3 x 40 = 120
    # ... and not 2 x 63)
    assert size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=90.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=6, **KW)[:2] == (2, 50.0)


def test_step_and_start_wording():
    from spatialprog.programme import start_by_text, step_text

    assert step_text("extension", units=1, unit_mva=40.0) == "1 transformator van 40 MVA bijplaatsen"
    assert step_text("new_substation", units=2, unit_mva=80.0) == "nieuw station met 2 x 80 MVA"
    assert start_by_text(2023, 2025) == "te laat: had in 2023 moeten starten"
    assert start_by_text(2024, 2025) == "te laat: had in 2024 moeten starten"
    assert start_by_text(2025, 2025) == "start uiterlijk 2025"
    assert start_by_text(2031, 2025) == "start uiterlijk 2031"


def test_below_110kv_no_n1():
    assert size_extension(units=[20.0, 20.0], hv_kv=50.0, need_offtake_mva=15.0, need_feedin_mva=0.0,
                          steps=[20.0, 25.0], max_units=4, **KW) == (1, 20.0, 20.0, 20.0)


def test_full_site_needs_a_new_station():
    assert size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=10.0, need_feedin_mva=0.0, steps=STEPS,
                          max_units=2, **KW) is None
    # a 2-unit station of S gives firm S under N-1: need 70 -> 2 x 80
    assert size_new_substation(hv_kv=150.0, need_offtake_mva=70.0, need_feedin_mva=0.0, steps=STEPS, n_units=2,
                               max_units=4, **KW) == (1, 2, 80.0, 80.0, 160.0)
    # need 100: 2 x 80 gives 80; 3 x 50 gives 100 (150 installed) beats 3 x 63 / 3 x 80
    assert size_new_substation(hv_kv=150.0, need_offtake_mva=100.0, need_feedin_mva=0.0, steps=STEPS, n_units=2,
                               max_units=4, **KW) == (1, 3, 50.0, 100.0, 150.0)
    # need 500 with at most 4 x 80 per station (firm 240): 3 stations
    assert size_new_substation(hv_kv=150.0, need_offtake_mva=500.0, need_feedin_mva=0.0, steps=STEPS, n_units=2,
                               max_units=4, **KW)[0] == 3


def test_tables():
    steps = load_transformer_steps()
    assert steps["source"].notna().all() and (steps["mva"] > 0).all()
    land = load_substation_land()
    assert land["land_m2"].min() == 2000 and land["land_m2"].max() == 15000  # DOMAIN.md: 2,000-15,000 m2
    assert land_for(80.0, land) == 2000 and land_for(1000.0, land) == 15000


def test_programme_of_the_tiny_project(tmp_path):
    r = run_tiny(tmp_path)
    rr = rank_run(r)
    p = rr.programme[rr.programme["variant"] == "basis"].set_index("substation_id")
    assert list(p.index) == ["B", "A"]  # B scores 0.55, A 0.311 (see test_ranking)
    a = p.loc["A"]
    # A: 2 x 40 at 150 kV, short 1.5 MW from 2027 -> +1 x 40 MVA, in service by 2027, lead 3 years -> needed by 2024
    assert (a["intervention"], a["transformer_step"], a["added_firm_mva"]) == (
        "extension", "1 transformator van 40 MVA bijplaatsen", 40.0)
    assert a["first_shortfall_year"] == 2027 and a["lead_time_years"] == 3 and a["needed_by_year"] == 2024
    assert a["late_years"] == 1 and a["start_by"] == "te laat: had in 2024 moeten starten"  # base year 2025
    # what waits: 1.5 MW of HA's 3.5 MW (1000 dwellings, 3.5 kW each) cannot connect: 1.5 / 3.5 x 1000 dwellings
    assert a["waiting_year"] == 2027 and a["offtake_mw_waiting"] == pytest.approx(1.5)
    assert a["dwellings_waiting"] == pytest.approx(1000.0 * 1.5 / 3.5) and a["n_sites_waiting"] == 1
    b = p.loc["B"]
    assert b["shortfall_offtake_mw"] == pytest.approx(6.0)
    # B: HB (14 MW, 4000 dwellings) and ZB (2 MW, 150 jobs) both arrive in 2030; 6 MW of their 16 MW waits, each
    # waits for 6 / 16 of its demand
    assert b["offtake_mw_waiting"] == pytest.approx(6.0) and b["n_sites_waiting"] == 2
    assert b["dwellings_waiting"] == pytest.approx(4000.0 * 6 / 16) and b["jobs_waiting"] == pytest.approx(150 * 6 / 16)
    assert "C" not in p.index
    assert b["programme_rank"] == 1 and a["programme_rank"] == 2


def test_new_substation_with_land_and_lead_time(tmp_path):
    r = run_tiny(tmp_path, ranking='land_reserved = ["B"]')
    rr = rank_run(r)
    k = rr.programme[rr.programme["variant"] == "krap"].set_index("substation_id")
    # krap: at most 2 transformers per site, so A and B need a new station: 2 x 40 MVA (firm 40), 80 MVA -> 2,000 m2
    a = k.loc["A"]
    assert (a["intervention"], a["transformer_step"], a["land_m2"]) == ("new_substation",
                                                                        "nieuw station met 2 x 40 MVA", 2000.0)
    # lead time: 5.5 years site search + 2 years building -> 8 (rounded up); first shortfall 2027 -> 2019
    assert a["lead_time_years"] == 8 and a["needed_by_year"] == 2019 and a["late_years"] == 6
    # B's land is reserved: no site search, 2 years
    assert k.loc["B", "lead_time_years"] == 2 and bool(k.loc["B", "land_reserved"])
    # no-regret: both substations need an intervention in both variants, of a different kind
    nr = rr.no_regret.set_index("substation_id")
    assert nr.loc["A", "regret_class"] == "no_regret" and not nr.loc["A", "same_intervention"]
    assert nr.loc["A", "no_regret_firm_mva"] == 40.0


def test_waiting_demand_sums_per_site(tmp_path):
    r = run_tiny(tmp_path)
    w = waiting_demand(r.headroom, r.allocated, "basis", jobs=r.plan.layers["industrial_zones"].set_index("id")["jobs"])
    assert set(zip(w["substation_id"], w["site_id"], strict=True)) == {("A", "HA"), ("B", "HB"), ("B", "ZB")}
    # every year the waiting MW add up to the shortfall (never more than the planned demand): one engine
    h = r.headroom[(r.headroom["variant"] == "basis") & (r.headroom["direction"] == "offtake")]
    short = h.assign(w=(-h["headroom_mw"]).clip(lower=0).clip(upper=h["new_load_mw"]))
    short = short[short["w"] > 0].set_index(["substation_id", "year"])["w"]
    got = w.groupby(["substation_id", "year"])["waiting_mw"].sum()
    assert got.reindex(short.index).to_numpy() == pytest.approx(short.to_numpy())
    assert w[w["year"] == 2035]["jobs_waiting"].sum() == pytest.approx(150.0 * 6 / 16)


def test_variants_compared_and_no_regret_on_the_example():
    from spatialprog.pipeline import compute, read_plan

    r = compute(read_plan("layers/example_region.toml"))
    comp = compare_variants(r.headroom)
    assert {"headroom_mw_basis", "headroom_mw_hoog", "headroom_mw_vertraagd", "delta_mw_hoog"} <= set(comp.columns)
    off2040 = comp[(comp["direction"] == "offtake") & (comp["year"] == 2040)]
    assert (off2040["delta_mw_hoog"] < 0).all()  # faster electrification: less headroom everywhere
    assert off2040["variants_differ"].all()
    rr = rank_run(r)
    nr = rr.no_regret
    assert (nr["regret_class"] == "no_regret").any() and (nr["regret_class"] == "variant_dependent").any()
    dep = nr[nr["regret_class"] == "variant_dependent"]
    assert (dep["variants"] == "hoog").all()


def test_no_regret_empty():
    import pandas as pd

    assert no_regret(pd.DataFrame(), ["basis"]).empty


def test_no_shortfall_gives_an_empty_programme_with_its_columns(tmp_path):
    r = run_tiny(tmp_path, housing_changes={"HA": {"dwellings": 1}, "HB": {"dwellings": 1}})
    rr = rank_run(r)
    assert rr.programme.empty
    assert {"programme_rank", "intervention", "needed_by_year", "score", "regret_class"} <= set(rr.programme.columns)
    assert rr.no_regret.empty


def test_listed_transformer_units_decide_the_room_left(tmp_path):
    """A station whose layer lists its units ('20;20;20;20': four bays used) has no room for another unit:
    the programme proposes a new station instead of the extension it proposes for 2 x 40 MVA."""
    from spatialprog.programme import interventions

    r = run_tiny(tmp_path)
    assert interventions(r, "basis").set_index("substation_id").loc["A", "intervention"] == "extension"
    subs = r.plan.layers["substations"]
    subs["transformer_units_mva"] = [("20;20;20;20" if i == "A" else None) for i in subs["id"]]
    p = interventions(r, "basis").set_index("substation_id")
    assert p.loc["A", "intervention"] == "new_substation"   # programme.max_transformers_per_station = 4
    assert p.loc["B", "intervention"] == "extension"         # B lists nothing: 2 x 40 as before


# --------------------------------------------------------------------------------------
# what waits: a plan list of 5 sites delivered 2026-2030 (issue 16)

def _plan_list_project(tmp_path, *, peak_mw: float, growth_pct: float):
    """One 150/20 kV station (2 x 40 MVA: firm 40 MVA, N-1) and a plan list of five housing sites in its area,
    200 all-electric dwellings each (3.5 kW: 0.7 MW), delivered one a year 2026-2030; horizon 2025-2035."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point, box

    from spatialprog.config import project_from_dict

    x0, y0 = 150_000.0, 450_000.0
    gpd.GeoDataFrame({"id": ["A"], "name": ["Station A"], "voltage_kv": ["150/20"], "n_transformers": [2],
                      "transformer_mva": [40.0], "peak_offtake_mw": [peak_mw], "peak_feedin_mw": [0.0]},
                     geometry=[Point(x0 + 500, y0 + 500)], crs="EPSG:28992").to_file(tmp_path / "subs.geojson")
    gpd.GeoDataFrame({"id": ["VA"], "substation_id": ["A"]}, geometry=[box(x0, y0, x0 + 1000, y0 + 1000)],
                     crs="EPSG:28992").to_file(tmp_path / "areas.geojson")
    pd.DataFrame({"plan": [f"P{i}" for i in range(1, 6)], "naam": [f"Plan {i}" for i in range(1, 6)],
                  "woningen": [200] * 5, "oplevering": list(range(2026, 2031)), "warmte": ["all_electric"] * 5,
                  "ev": [0.0] * 5, "x": [x0 + 100 + 150 * i for i in range(5)], "y": [y0 + 500] * 5}
                 ).to_csv(tmp_path / "plannen.csv", index=False)
    housing = {"path": "plannen.csv", "crs": "EPSG:28992", "geometry": {"x": "x", "y": "y", "radius_m": 50},
               "columns": {"id": "plan", "name": "naam", "dwellings": "woningen", "delivery_start_year": "oplevering",
                           "delivery_end_year": "oplevering", "heating": "warmte", "ev_share": "ev"}}
    return project_from_dict({
        "project": {"name": "planlijst", "base_year": 2025, "horizon": [2025, 2035]},
        "layers": {"substations": {"path": "subs.geojson"}, "service_areas": {"path": "areas.geojson"},
                   "housing_sites": housing},
        "parameters": {"growth.offtake_pct_per_year": growth_pct, "growth.feedin_pct_per_year": 0.0},
    }, root=tmp_path)


def test_waiting_demand_of_a_plan_list_delivered_2026_2030(tmp_path):
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.programme import interventions

    r = compute(read_plan(_plan_list_project(tmp_path, peak_mw=37.5, growth_pct=0.0)), variants=["basis"])
    # by hand: room 40 - 37.5 = 2.5 MW; the plans add 0.7 MW a year: 2026 0.7 ... 2030 3.5 MW. Headroom 2029:
    # 2.5 - 2.8 = -0.3 (the first shortfall), 2030 and later: 2.5 - 3.5 = -1.0 MW. What waits in 2030: 1.0 MW,
    # the latest arrivals first: P5 (2030, 0.7 MW) in full and 0.3 of P4's 0.7 MW (2029):
    # 200 + 200 x 0.3 / 0.7 = 285.7 dwellings, 2 sites
    p = interventions(r, "basis").set_index("substation_id").loc["A"]
    assert p["first_shortfall_year"] == 2029 and p["waiting_year"] == 2030
    assert p["offtake_mw_waiting"] == pytest.approx(1.0)
    assert p["dwellings_waiting"] == pytest.approx(200 + 200 * 0.3 / 0.7) and p["n_sites_waiting"] == 2
    w = waiting_demand(r.headroom, r.allocated, "basis")
    y2029 = w[w["year"] == 2029].set_index("site_id")
    assert y2029["waiting_mw"].to_dict() == pytest.approx({"P4": 0.3})
    y2030 = w[w["year"] == 2030].set_index("site_id")
    assert y2030["dwellings_waiting"].to_dict() == pytest.approx({"P5": 200.0, "P4": 200 * 0.3 / 0.7})
    assert y2030["arrival_year"].to_dict() == {"P5": 2030, "P4": 2029}


def test_the_sites_wait_also_when_growth_brings_the_shortfall_later(tmp_path):
    """The case 'dwellings waiting' used to count as 0: every plan is delivered (2030) before the station runs
    short (2032, with 1 %/year autonomous growth). The plans still do not fit: the latest wait."""
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.programme import interventions

    r = compute(read_plan(_plan_list_project(tmp_path, peak_mw=34.2, growth_pct=1.0)), variants=["basis"])
    # by hand: load(y) = 34.2 x 1.01^(y - 2025) + 3.5 MW of plans from 2030; capacity 40 MW
    load = {y: 34.2 * 1.01 ** (y - 2025) + 3.5 for y in range(2030, 2036)}
    assert load[2031] < 40 < load[2032]
    waiting_2035 = load[2035] - 40  # 1.28 MW: P5 (0.7 MW) and 0.58 of P4's 0.7 MW
    p = interventions(r, "basis").set_index("substation_id").loc["A"]
    assert p["first_shortfall_year"] == 2032 and p["waiting_year"] == 2035
    assert p["offtake_mw_waiting"] == pytest.approx(waiting_2035, rel=1e-6)
    assert p["dwellings_waiting"] > 0
    assert p["dwellings_waiting"] == pytest.approx(waiting_2035 / 3.5 * 1000, rel=1e-6)
    assert p["n_sites_waiting"] == 2


def test_the_command_line_says_too_late_as_the_table_does(tmp_path):
    from spatialprog.cli.options import console
    from spatialprog.cli.rank import print_ranking

    rr = rank_run(run_tiny(tmp_path))
    width = console.width
    console.width = 240  # one table row on one line
    try:
        with console.capture() as cap:
            print_ranking(rr)
    finally:
        console.width = width
    text = " ".join(cap.get().split())
    assert rr.programme.set_index(["variant", "substation_id"]).loc[("basis", "A"), "start_by"] == \
        "te laat: had in 2024 moeten starten"
    assert "te laat: had in 2024 moeten starten" in text and "(late" not in text


# --------------------------------------------------------------------------------------
# the other carriers' nodes (issue 14, item 6): a larger connection, a new or earlier heat source


def test_a_heat_source_that_comes_late_is_brought_forward_with_the_dwellings_that_wait():
    from spatialprog import fields as F
    from spatialprog.node_programme import node_interventions
    from spatialprog.pipeline import compute, read_plan

    r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
    row = node_interventions(r, "basis", "heat").set_index(F.SUBSTATION_ID).loc["WN02"]
    # WN02's only source (15 MWth) starts in 2029, its dwellings from 2027: bring the source forward
    assert row["intervention"] == "advance_planned" and row["added_capacity_mw"] == 15.0
    assert row["transformer_step"] == "geplande capaciteit van 15 MWth vervroegen van 2029 naar 2027"
    # 4 years lead time (programme.node_lead_time_years.heat): 2027 - 4 = 2023, before the 2025 base year
    assert (row["needed_by_year"], row["late_years"]) == (2023, 2)
    assert row["start_by"] == "te laat: had in 2023 moeten starten" and row[F.UNIT] == "MWth"
    # with no capacity before 2029 all heat on WN02 waits in 2028 (the peak): its MWth and the dwellings it heats
    h = r.carrier_headroom.set_index([F.SUBSTATION_ID, F.DIRECTION, F.YEAR])
    assert row["waiting_year"] == 2028
    assert row["offtake_mw_waiting"] == pytest.approx(-h.loc[("WN02", "offtake", 2028), F.HEADROOM_MW])
    a = r.carrier_allocated
    on = a[(a[F.SUBSTATION_ID] == "WN02") & (a[F.YEAR] == 2028) & (a[F.OFFTAKE_MW] > 0)]
    d = r.demand[(r.demand[F.CARRIER] == "electricity") & (r.demand[F.YEAR] == 2028)].set_index(F.SITE_ID)
    dwellings = sum(d.loc[s, F.DWELLINGS_ON_HEAT_NETWORK] * sh for s, sh in zip(on[F.SITE_ID], on[F.SHARE], strict=True))
    assert dwellings > 0 and row["dwellings_waiting"] == pytest.approx(dwellings)
    # 4 kWth per dwelling on the network (demand.dwelling_heat_kwth)
    assert row["offtake_mw_waiting"] == pytest.approx(dwellings * 4.0 / 1000)


def test_industry_on_hydrogen_needs_a_larger_connection_in_steps_and_only_in_that_variant():
    from spatialprog import fields as F
    from spatialprog.config import load_project
    from spatialprog.pipeline import compute, read_plan

    project = load_project("layers/example_questions.toml")
    r = compute(read_plan(project), variants=["basis", "industrie_waterstof"])
    rr = rank_run(r)
    p = rr.programme
    h2 = p[(p[F.CARRIER] == "hydrogen")]
    assert list(h2[F.VARIANT]) == ["industrie_waterstof"]  # the base variant's 10 MW_H2 of headroom suffices
    row = h2.iloc[0]
    short = r.carrier_shortfall
    need = float(short[(short[F.SUBSTATION_ID] == "H2-01") & (short[F.VARIANT] == "industrie_waterstof")]
                 ["max_shortfall_mw"].max())
    step = float(project.variants["industrie_waterstof"]["programme.node_step_mw.hydrogen"])
    assert step == 5.0 and 40 < need <= 45
    assert row["added_capacity_mw"] == 45.0  # the need rounded up to 5 MW_H2
    assert row["transformer_step"] == "aansluitcapaciteit vergroten met 45 MW_H2"
    assert row["programme_rank"] == 1 and row[F.UNIT] == "MW_H2"
    assert int(row["needed_by_year"]) == int(row[F.FIRST_SHORTFALL_YEAR]) - 4
    nr = rr.no_regret.set_index([F.CARRIER, F.SUBSTATION_ID])
    assert nr.loc[("hydrogen", "H2-01"), "regret_class"] == "variant_dependent"
    assert nr.loc[("heat", "WN02"), "regret_class"] == "no_regret"
    # the electricity rows keep their own ranking; the substations' ranks are unchanged by the nodes' rows
    el = p[(p[F.CARRIER] == "electricity") & (p[F.VARIANT] == "basis")]
    assert list(el["programme_rank"]) == list(range(1, len(el) + 1))


def test_a_node_step_is_a_parameter_a_variant_can_override(tmp_path):
    import shutil
    from pathlib import Path

    from spatialprog import fields as F
    from spatialprog.config import load_project
    from spatialprog.node_programme import node_interventions
    from spatialprog.pipeline import compute, read_plan

    for f in Path("layers").iterdir():  # a project file extends one in its own folder
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    proj = tmp_path / "stap.toml"
    proj.write_text('extends = "example_questions.toml"\n[variants.industrie_waterstof.parameters]\n'
                    '"programme.node_step_mw.hydrogen" = 20\n', encoding="utf-8")
    project = load_project(proj)
    r = compute(read_plan(project), variants=["industrie_waterstof"])
    row = node_interventions(r, "industrie_waterstof", "hydrogen").iloc[0]
    assert row["added_capacity_mw"] == 60.0 and row["transformer_step"].endswith("60 MW_H2")
    assert row[F.CARRIER] == "hydrogen"
    # the variant's other parameters are kept (its hydrogen reach, from the file it extends)
    assert project.variants["industrie_waterstof"]["assignment.node_max_distance_m.hydrogen"] == 30000
