"""check-site: hand-computed verdicts on the example region, batch order effects, bad input.

Headroom *before* each site is the baseline offtake headroom of the example region, variant
``basis`` (layers/example_region.toml; tests/test_example_region.py checks those numbers by hand):

    year    OS01        OS02        OS06        OS07
    2027    46.58785    20.4758375   8.84125     3.197275
    2028    44.2666813  17.3759366   8.1256488  -0.0952459
    2029    41.9614225  14.6059801   1.4030935  -0.5926346
    2030    39.8813998  13.6831499   0.6734799  38.9050359   (OS07: +40 MVA reinforcement in service)
    2031    33.3834368  12.4001266  -0.0632979  38.3976915
    2039     3.2596935   3.6272961  -4.4646719  35.3251297
    2040     2.3358767   3.2115785  -5.018962   34.9371266

A site's own peak (data/parameters.toml): kW per dwelling gas 1.5, all_electric 3.5; EV 1.4 kW.
  all_electric, EV share 0.5: 3.5 + 0.5 x 1.4 = 4.2 kW/dwelling
  gas, EV share 0.3:          1.5 + 0.3 x 1.4 = 1.92 kW/dwelling
A site fits in a year when every serving substation keeps headroom after the site
(headroom_after >= SHORTFALL_AT_MW, i.e. > 0) or the site draws nothing yet.
"""

from __future__ import annotations

import json
import random

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialprog.cli import cli
from spatialprog.errors import CRSError, LayerReadError, LayerValidationError
from spatialprog.sitecheck import (
    JSON_SCHEMA,
    SCHEMA_ID,
    Baseline,
    WhatIf,
    check_site,
    check_sites,
    read_plan_near,
    read_sites,
    render_html,
    report_dict,
)

EXAMPLE = "layers/example_region.toml"
ALL_ELECTRIC_100 = {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027}
GAS_200 = {"dwellings": 200, "heating": "gas", "ev_share": 0.3, "start_year": 2027, "end_year": 2028}
SITE_OS01 = "173000,433000,200"      # circle r 200 m in OS01's cell (x 170000-177500, y 430000-436000)
SITE_OS06 = "180000,440000,150"      # OS06's cell (x 177500-185000, y 436000-442000)
SITE_OS07 = "186150,437150,150"      # OS07's cell (x 185000-192500, y 436000-442000)
STRADDLE = "POLYGON ((177200 432000, 178200 432000, 178200 432400, 177200 432400, 177200 432000))"


@pytest.fixture(scope="module")
def base(example_result) -> Baseline:
    return Baseline.from_result(example_result)


def years_of(check, variant="basis"):
    return {y["year"]: y for y in check.variants[variant]["years"]}


# ---- the five done-when sites --------------------------------------------------------------


def test_site_that_fits(base):
    # 200 gas dwellings, 100 in 2027 and 100 in 2028, EV share 0.3: 200 x 1.92 kW = 0.384 MW from 2028
    # OS01's least headroom is in 2040: 2.3358767 - 0.384 = 1.9518767 > 0 -> fits in every year
    c = check_site(base, SITE_OS01, GAS_200)
    assert [s["substation_id"] for s in c.serving] == ["OS01"]
    assert c.verdict.key == "fits" and c.verdict.nl == "past" and c.verdict.en == "fits"
    y = years_of(c)
    assert y[2027]["site_mw"] == pytest.approx(0.192)   # 100 x 1.92 kW
    assert y[2040]["site_mw"] == pytest.approx(0.384)
    assert y[2040]["substations"][0]["headroom_after_mw"] == pytest.approx(1.9518767, abs=1e-4)
    assert c.first_fit_year == 2027 and c.variants["basis"]["max_short_mw"] == 0
    # 1.95 / 100 MW firm = 2 % left: the class 'waarschuwing' -> said to be tight
    assert y[2040]["substations"][0]["status_after"] == "waarschuwing"
    assert "krap" in c.summary_nl and "tight" in c.summary_en
    # in the words of the status class it is in (data/status_classes.csv), not those of another class
    assert "(krap: voorlopig geen capaciteit (vooraankondiging congestie), vanaf " in c.summary_nl
    assert "capaciteit wordt schaars" not in c.summary_nl
    assert "(tight: structural-congestion warning, from " in c.summary_en


def test_site_that_fits_from_a_later_year_thanks_to_the_reinforcement(base):
    # 100 all-electric dwellings in 2027, EV 0.5: 100 x 4.2 kW = 0.42 MW
    # OS07 2027:  3.197275   - 0.42 =  2.777275   fits
    #      2028: -0.0952459  - 0.42 = -0.5152459  short 0.5152459
    #      2029: -0.5926346  - 0.42 = -1.0126346  short 1.0126346 (the most)
    #      2030: 38.9050359  - 0.42 = 38.4850359  fits: +40 MVA in service -> "past vanaf 2030"
    c = check_site(base, SITE_OS07, ALL_ELECTRIC_100)
    assert c.verdict.key == "fits_from" and c.verdict.year == 2030
    assert c.verdict.nl == "past vanaf 2030" and c.verdict.en == "fits from 2030"
    assert c.first_fit_year == 2030
    vb = c.variants["basis"]
    assert vb["short_years"] == [2028, 2029]
    assert vb["max_short_mw"] == pytest.approx(1.0126346, abs=1e-4)
    y = years_of(c)
    assert y[2028]["short_mw"] == pytest.approx(0.5152459, abs=1e-4)
    assert y[2028]["site_short_mw"] == pytest.approx(0.42)          # none of the site's 0.42 MW fits
    assert y[2030]["substations"][0]["headroom_after_mw"] == pytest.approx(38.4850359, abs=1e-4)
    assert c.reinforcements == [{"substation_id": "OS07", "year": 2030, "added_mva": 40.0, "source": "layer"}]
    assert "netverzwaring" in c.summary_nl and "OS07 +40 MVA in 2030" in c.summary_en
    # the alternatives in 2028 have room for the whole 0.42 MW; OS06 (8.1256488) is the nearest
    alts = y[2028]["alternatives"]
    assert alts[0]["substation_id"] == "OS06"
    assert alts[0]["headroom_after_mw"] == pytest.approx(8.1256488 - 0.42, abs=1e-4)
    assert [a["distance_m"] for a in alts] == sorted(a["distance_m"] for a in alts)
    # ... but OS06 runs short itself from 2031 (-0.0632979 - 0.42 < 0): it is no alternative over the horizon.
    # The nearest with room in every year is OS02: its least is 2040, 3.2115785 - 0.42 = 2.7915785
    horizon = vb["alternatives"]
    assert "OS06" not in {a["substation_id"] for a in horizon}
    assert horizon[0]["substation_id"] == "OS02" and horizon[0]["min_year"] == 2040
    assert horizon[0]["min_headroom_after_mw"] == pytest.approx(3.2115785 - 0.42, abs=1e-4)
    assert "OS02" in c.summary_nl and "OS06" not in c.summary_nl and "in elk jaar tot en met 2040" in c.summary_nl


def test_site_that_does_not_fit_within_the_horizon(base):
    # OS06 + 0.42 MW from 2027:
    #      2030:  0.6734799 - 0.42 =  0.2534799  fits
    #      2031: -0.0632979 - 0.42 = -0.4832979  short ... and every later year
    #      2040: -5.018962  - 0.42 = -5.438962   the largest shortfall
    c = check_site(base, SITE_OS06, ALL_ELECTRIC_100)
    assert c.verdict.key == "does_not_fit"
    assert c.verdict.nl == "past niet binnen de horizon" and c.verdict.en == "does not fit within the horizon"
    assert c.first_fit_year is None
    vb = c.variants["basis"]
    assert vb["short_years"] == list(range(2031, 2041))
    assert vb["max_short_mw"] == pytest.approx(5.438962, abs=1e-4)
    assert years_of(c)[2030]["fits"] is True
    # in 2040 only OS01 (2.34), OS02 (3.21), OS04 (3.40), OS07 (34.94), OS11 (3.67), OS12 (2.02) have >= 0.42 MW;
    # the nearest of them is OS02 at (180399, 434036): 5964 m south, minus the 150 m radius -> 5.8 km
    a = years_of(c)[2040]["alternatives"][0]
    assert a["substation_id"] == "OS02" and a["distance_m"] == pytest.approx(5827, abs=2)
    assert "OS02" in c.summary_nl


def test_site_that_straddles_two_service_areas(base):
    # x 177200-178200: 300 m west of x = 177500 (OS01), 700 m east (OS02) -> shares 0.3 / 0.7
    # 2040: OS01 2.3358767 - 0.3 x 0.384 = 2.2206767; OS02 3.2115785 - 0.7 x 0.384 = 2.9427785
    c = check_site(base, STRADDLE, GAS_200)
    assert [(s["substation_id"], s["share"]) for s in c.serving] == [("OS01", 0.3), ("OS02", 0.7)]
    y40 = {s["substation_id"]: s for s in years_of(c)[2040]["substations"]}
    assert y40["OS01"]["site_mw"] == pytest.approx(0.1152)
    assert y40["OS02"]["site_mw"] == pytest.approx(0.2688)
    assert y40["OS01"]["headroom_after_mw"] == pytest.approx(2.2206767, abs=1e-4)
    assert y40["OS02"]["headroom_after_mw"] == pytest.approx(2.9427785, abs=1e-4)
    assert c.verdict.key == "fits"
    assert c.variants["basis"]["min_headroom_after_mw"] == pytest.approx(2.2206767, abs=1e-4)


def test_site_outside_the_region(base):
    # 50 km west of the region: no service area, no substation within 10 km
    c = check_site(base, "120000,480000,200", {"dwellings": 50, "heating": "gas", "start_year": 2027})
    assert c.verdict.key == "outside" and c.serving == [] and c.unassigned_share == 1.0
    assert "geen onderstation van dit project" in c.verdict.nl
    assert "no substation of this project serves this site" in c.verdict.en
    assert c.variants["basis"]["short_years"] == []


def test_site_outside_the_region_read_near_reads_nothing():
    # straight from the project: nothing near -> an empty baseline, the same clear answer
    c = check_site(EXAMPLE, "120000,480000,200", {"dwellings": 50, "heating": "gas", "start_year": 2027})
    assert c.verdict.key == "outside"


# ---- variants, batch order, what-if --------------------------------------------------------


def test_variants_are_answered_separately(base):
    # 'vertraagd': 3 years later and 80 %: 80 dwellings from 2030 -> 0.336 MW only once OS07 is reinforced
    c = check_site(base, SITE_OS07, ALL_ELECTRIC_100)
    assert c.variants["vertraagd"]["verdict"]["key"] == "fits"
    assert years_of(c, "vertraagd")[2030]["site_mw"] == pytest.approx(80 * 4.2 / 1000)
    assert "vertraagd: past" in c.summary_nl
    only = check_site(base, SITE_OS07, ALL_ELECTRIC_100, variants=["hoog"])
    assert list(only.variants) == ["hoog"] and only.verdict.variant == "hoog"


P_SITE, Q_SITE = "172000,431500,200", "175500,434500,200"   # both in OS01's cell
BIG_300 = {"dwellings": 300, "heating": "all_electric", "ev_share": 0.5, "start_year": 2030}  # 1.26 MW from 2030


def test_batch_each_site_sees_the_ones_before_it(base):
    # alone, each: 2040 2.3358767 - 1.26 = 1.0758767 -> fits
    # second in line: 2040 2.3358767 - 1.26 - 1.26 = -0.1841233 -> short in 2040 only
    #                 (2039: 3.2596935 - 2.52 = 0.7396935 still fits)
    first, second = check_sites(base, [P_SITE, Q_SITE], BIG_300)
    assert first.verdict.key == "fits" and first.sees == []
    assert second.verdict.key == "does_not_fit" and second.sees == [first.site["id"]]
    assert second.variants["basis"]["short_years"] == [2040]
    s40 = years_of(second)[2040]["substations"][0]
    assert s40["earlier_sites_mw"] == pytest.approx(1.26)
    assert s40["headroom_before_mw"] == pytest.approx(1.0758767, abs=1e-4)
    assert s40["headroom_after_mw"] == pytest.approx(-0.1841233, abs=1e-4)
    # the other order: the verdicts follow the order, not the place
    q_first, p_second = check_sites(base, [Q_SITE, P_SITE], BIG_300)
    assert q_first.verdict.key == "fits" and p_second.verdict.key == "does_not_fit"
    assert [c.site["order"] for c in (q_first, p_second)] == [1, 2]


def test_whatif_add_move_remove_without_rebuilding(base):
    w = WhatIf(base)
    w.add(P_SITE, BIG_300, site_id="P")
    w.add(Q_SITE, BIG_300, site_id="Q")
    assert w.sites == ["P", "Q"]
    assert w.check("Q").verdict.key == "does_not_fit"
    # move P to OS07 (room from 2030): Q no longer shares a substation with it
    w.move("P", SITE_OS07, radius_m=150)
    assert w.sites == ["P", "Q"]                      # a move keeps the order
    assert [s["substation_id"] for s in w.check("P").serving] == ["OS07"]
    q = w.check("Q")
    assert q.verdict.key == "fits" and q.sees == []
    assert w.nearby(shapely.bounds(shapely.Point(186150, 437150).buffer(10)).tolist()) == ["P"]
    # back next to Q, then removed
    w.move("P", P_SITE)
    assert w.check("Q").verdict.key == "does_not_fit"
    w.remove("P")
    assert w.sites == ["Q"] and w.check("Q").verdict.key == "fits"
    # a candidate checked on top of the session, not added
    extra = w.check_new(P_SITE, BIG_300, site_id="R")
    assert extra.verdict.key == "does_not_fit" and extra.sees == ["Q"] and w.sites == ["Q"]
    with pytest.raises(LayerValidationError, match="no site 'P'"):
        w.check("P")
    with pytest.raises(LayerValidationError, match="already in the session"):
        w.add(P_SITE, BIG_300, site_id="Q")


def test_whatif_reports_overlapping_candidates(base):
    w = WhatIf(base)
    w.add("173000,433000,200", GAS_200, site_id="A")
    w.add("173100,433000,200", GAS_200, site_id="B")
    over = w.check("A").overlaps
    assert [o["id"] for o in over] == ["B"] and over[0]["layer"] == "candidate"


def test_site_over_an_existing_plan_is_said(base, example_result):
    wb = example_result.plan.layers["housing_sites"]
    geom = wb.loc[wb["id"] == "WB-STR", "geometry"].iloc[0]
    c = check_site(base, geom, GAS_200)
    assert any(o["id"] == "WB-STR" for o in c.overlaps)
    assert any("WB-STR" in n and "already" in n for n in c.notices)


# ---- reading near the site ------------------------------------------------------------------


def test_read_near_gives_the_same_answer_as_the_full_plan(base):
    full = check_site(base, SITE_OS07, ALL_ELECTRIC_100).to_dict()
    near = check_site(EXAMPLE, SITE_OS07, ALL_ELECTRIC_100).to_dict()
    assert near["verdict"] == full["verdict"]
    assert near["variants"]["basis"]["years"] == full["variants"]["basis"]["years"]


def test_read_near_marks_only_complete_substations(tmp_path):
    # 1 km around x 188000-188300, y 438000-438300 stays inside OS07's cell (x 185000-192500, y 436000-442000):
    # only OS07's area is near, so only OS07 is complete; the sites are read within OS07's area's box
    # (carriers=set(): the sites use no other carrier, so no station's reach needs reading)
    plan = read_plan_near(EXAMPLE, (188000.0, 438000.0, 188300.0, 438300.0), search_radius_m=1000, carriers=set())
    assert plan.complete_substations == frozenset({"OS07"})
    assert plan.read_bbox == (185000.0, 436000.0, 192500.0, 442000.0)
    # a site on hydrogen: every site within 10 km (the reach) of H2-01 (196800, 437800) is read, so its load is whole
    h2 = read_plan_near(EXAMPLE, (188000.0, 438000.0, 188300.0, 438300.0), search_radius_m=1000,
                        carriers={"hydrogen"})
    reach = 10_000.0
    assert h2.read_bbox == (185000.0, 437800.0 - reach, 196800.0 + reach, 437800.0 + reach)
    assert "hydrogen_stations" in h2.layers and "gas_stations" in h2.layers  # node layers are read whole
    # with 3 km (x 185000-191300, y 435000-441300) the neighbours OS03 (south) and OS06 (west) come in;
    # OS11 (north, from y 442000) does not
    wide = read_plan_near(EXAMPLE, (188000.0, 438000.0, 188300.0, 438300.0), search_radius_m=3000, carriers=set())
    assert {"OS03", "OS06", "OS07"} <= wide.complete_substations and "OS11" not in wide.complete_substations
    assert plan.read_bbox is not None
    # the site layers were read with a bbox: fewer housing sites than the 74 of the whole region
    assert 0 < len(plan.layers["housing_sites"]) < 74


# ---- output -------------------------------------------------------------------------------


def test_json_follows_the_documented_schema(base):
    jsonschema = pytest.importorskip("jsonschema")
    checks = check_sites(base, [SITE_OS07, STRADDLE, "120000,480000,200"], GAS_200)
    doc = json.loads(json.dumps(report_dict(checks)))
    jsonschema.validate(doc, JSON_SCHEMA)
    assert doc["schema"] == SCHEMA_ID and doc["order"] == ["site-1", "site-2", "site-3"]
    assert doc["conflict_check"] is True  # the example project has [conflicts] enabled
    one = json.loads(checks[0].to_json())
    jsonschema.validate(one, JSON_SCHEMA)


def test_json_is_deterministic(base):
    a = check_site(base, STRADDLE, GAS_200).to_json()
    b = check_site(base, STRADDLE, GAS_200).to_json()
    assert a == b


def test_conflicts_said_when_switched_off(tmp_path):
    # a project with [conflicts] enabled = false: check-site says so instead of checking
    import shutil

    d = tmp_path / "p"
    shutil.copytree("layers", d)
    toml = (d / "example_region.toml").read_text(encoding="utf-8").replace("enabled = true", "enabled = false")
    (d / "example_region.toml").write_text(toml, encoding="utf-8")
    c = check_site(d / "example_region.toml", SITE_OS07, ALL_ELECTRIC_100)
    assert c.conflicts == {"available": False, "items": [], "message": "land-claim conflicts are switched off in "
                           "this project ([conflicts] enabled = false)"}
    assert check_site(EXAMPLE, SITE_OS07, ALL_ELECTRIC_100).conflicts["available"] is True


def test_html_one_pager(base):
    c = check_site(base, STRADDLE, GAS_200, )
    html = render_html([c])
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "past" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")   # offline: nothing fetched
    assert "<script" not in html


# ---- site input and bad input -------------------------------------------------------------------


def test_site_forms_geojson_wkt_file_lonlat(tmp_path, base):
    poly = shapely.box(186000, 437000, 186300, 437300)
    gj = json.dumps({"type": "Feature", "properties": {"dwellings": 100, "heating": "all-electric"},
                     "geometry": json.loads(shapely.to_geojson(poly))})
    k, s = read_sites(gj, {"start_year": 2027})
    assert k == "housing_sites" and s["heating"].tolist() == ["all_electric"] and s.area.iloc[0] == 90000
    k, s = read_sites(poly.wkt, {"category": "logistiek", "start_year": 2028})
    assert k == "industrial_zones" and s["category"].tolist() == ["logistics"]
    path = tmp_path / "plan.gpkg"
    gpd.GeoDataFrame({"id": ["N1", "N2"], "dwellings": [100, 40], "heating": ["hybride", "gas"],
                      "delivery_start_year": [2027, 2029]}, geometry=[poly, poly.buffer(-100)],
                     crs="EPSG:28992").to_file(path, layer="plannen")
    k, s = read_sites(str(path))
    assert s["id"].tolist() == ["N1", "N2"] and s["heating"].tolist() == ["hybrid", "gas"]
    # lon/lat with --crs: reprojected to RD New, inside the region (OS07's cell)
    k, s = read_sites("5.93,51.98", {"dwellings": 10, "heating": "gas", "start_year": 2027}, crs="EPSG:4326",
                      radius_m=100)
    x, y = s.geometry.iloc[0].centroid.coords[0]
    assert 170_000 < x < 200_000 and 430_000 < y < 448_000
    # a charging hub is a point
    k, s = read_sites("189000,439600", {"charge_points": 4, "kw_per_point": 350, "segment": "freight",
                                        "start_year": 2029})
    assert k == "charging_hubs" and s.geometry.iloc[0].geom_type == "Point"


def test_self_intersecting_polygon_is_repaired_and_said(base):
    bowtie = "POLYGON ((186000 437000, 186300 437300, 186300 437000, 186000 437300, 186000 437000))"
    c = check_site(base, bowtie, ALL_ELECTRIC_100)
    assert any("repaired" in n for n in c.notices)
    assert c.site["area_ha"] == pytest.approx(4.5)     # two triangles of 150 x 300 / 2 ... = 2 x 2.25 ha
    assert c.verdict.key == "fits_from"


@pytest.mark.parametrize(
    ("site", "programme", "kw", "error", "match"),
    [
        ("POLYGON ((186000 437000, 186100 437100, 186200 437200, 186000 437000))", ALL_ELECTRIC_100, {},
         LayerValidationError, "no area"),
        ("186150,437150", ALL_ELECTRIC_100, {}, LayerValidationError, "a point has no area"),
        ("5.93,51.98", ALL_ELECTRIC_100 | {}, {"radius_m": 100}, CRSError, "look like longitude/latitude"),
        (SITE_OS07, ALL_ELECTRIC_100 | {"dwellings": 0}, {}, LayerValidationError, "0 dwellings"),
        (SITE_OS07, ALL_ELECTRIC_100 | {"dwellings": -5}, {}, LayerValidationError, "below the minimum 0"),
        (SITE_OS07, ALL_ELECTRIC_100 | {"heating": "pellets"}, {}, LayerValidationError,
         "unknown value 'pellets'.*gas, hybrid, all_electric, heat_network"),
        (SITE_OS07, {"dwellings": 10}, {}, LayerValidationError, "heating"),
        (SITE_OS07, {"heating": "gas", "colour": "red"}, {}, LayerValidationError, "'colour' is not a field"),
        (SITE_OS07, {}, {}, LayerValidationError, "does not say what is planned"),
        ("not a site", ALL_ELECTRIC_100, {}, LayerValidationError, "is not a file, a GeoJSON or WKT"),
        ("{\"type\": \"FeatureCollection\", \"features\": []}", ALL_ELECTRIC_100, {}, LayerValidationError,
         "has no features"),
        ("186150,437150", ALL_ELECTRIC_100, {"radius_m": -3}, LayerValidationError, "radius must be more than 0"),
        ("186150,437150,150", ALL_ELECTRIC_100, {"crs": "EPSG:999999"}, CRSError, "not a CRS"),
    ],
)
def test_bad_site_input(base, site, programme, kw, error, match):
    with pytest.raises(error, match=match):
        check_site(base, site, programme, **kw)


def test_file_with_no_features(tmp_path, base):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"dwellings": []}, geometry=[], crs="EPSG:28992").to_file(path, layer="leeg")
    with pytest.raises(LayerValidationError, match="has no features"):
        check_site(base, str(path), ALL_ELECTRIC_100)
    with pytest.raises(LayerReadError, match="does not exist"):
        read_sites(tmp_path / "nothere.gpkg")


def test_bad_input_reports_every_problem_at_once(base):
    with pytest.raises(LayerValidationError) as e:
        check_site(base, SITE_OS07, {"dwellings": -1, "heating": "pellets", "start_year": 2027})
    assert len(e.value.problems) == 2
    with pytest.raises(LayerValidationError) as e:
        check_site(base, SITE_OS07, {"dwellings": 0, "heating": "pellets", "start_year": 2027})
    assert [p.field for p in e.value.problems] == ["heating", "dwellings"]


# ---- the command line -------------------------------------------------------------------------


def run_cli(*args):
    return CliRunner().invoke(cli, ["check-site", EXAMPLE, *args], catch_exceptions=False)


def test_cli_report_and_json():
    r = run_cli(SITE_OS07, "--dwellings", "100", "--heating", "all_electric", "--ev-share", "0.5",
                "--start-year", "2027")
    assert r.exit_code == 0, r.output
    assert "PAST VANAF 2030" in r.output and "fits from 2030" in r.output
    r = run_cli(SITE_OS07, "--dwellings", "100", "--heating", "all_electric", "--ev-share", "0.5",
                "--start-year", "2027", "--json")
    doc = json.loads(r.output)
    assert doc["sites"][0]["verdict"]["key"] == "fits_from"


def test_cli_batch_and_html(tmp_path):
    out = tmp_path / "check.html"
    r = run_cli(P_SITE, Q_SITE, "--dwellings", "300", "--heating", "all_electric", "--ev-share", "0.5",
                "--start-year", "2030", "--html", str(out))
    assert r.exit_code == 0, r.output
    assert "Batch, in check order" in r.output and "site-1" in r.output
    assert out.read_text().count("class='verdict'") == 2


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["5.93,51.98", "--radius", "100", "--dwellings", "10", "--heating", "gas", "--start-year", "2027"],
         "add --crs EPSG:4326"),
        ([SITE_OS07, "--dwellings", "0", "--heating", "gas", "--start-year", "2027"], "0 dwellings"),
        ([SITE_OS07, "--dwellings", "10", "--heating", "stoom", "--start-year", "2027"], "unknown value 'stoom'"),
        # a required field left out: the option to give, not the project file
        ([SITE_OS07.rsplit(",", 1)[0], "--charge-points", "4", "--kw-per-point", "50", "--start-year", "2027"],
         "give --segment VALUE (or --field segment=VALUE) on the command line"),
        ([SITE_OS07, "--kind", "industrial", "--start-year", "2027"], "give --category VALUE"),
    ],
)
def test_cli_bad_input_one_line_exit_2(args, match):
    r = CliRunner().invoke(cli, ["check-site", EXAMPLE, *args])
    assert r.exit_code == 2
    assert match in r.output and "Traceback" not in r.output


def test_cli_lonlat_with_crs_works():
    r = run_cli("5.93,51.98", "--crs", "EPSG:4326", "--radius", "100", "--dwellings", "10", "--heating", "gas",
                "--start-year", "2027", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output)["sites"][0]["serving"]


# ---- properties -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x0=st.floats(176_000, 178_500), w=st.floats(50, 2_000), dwellings=st.integers(1, 2_000))
def test_split_conserves_the_site_total(base, x0, w, dwellings):
    c = check_site(base, shapely.box(x0, 432_000, x0 + w, 432_300),
                   {"dwellings": dwellings, "heating": "hybrid", "start_year": 2026})
    assert sum(s["share"] for s in c.serving) == pytest.approx(1.0)
    for y in c.variants["basis"]["years"]:
        assert sum(s["site_mw"] for s in y["substations"]) == pytest.approx(y["site_mw"], abs=1e-3)
        for s in y["substations"]:
            assert s["headroom_after_mw"] == pytest.approx(s["headroom_before_mw"] - s["site_mw"], abs=1e-3)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_the_last_site_sees_everything_whatever_the_order(base, seed):
    sites = [("173000,433000,150", 200), ("172000,431500,150", 300), ("175500,434500,150", 150),
             ("171000,435000,150", 250)]
    random.Random(seed).shuffle(sites)
    w = WhatIf(base)
    for i, (g, n) in enumerate(sites):
        w.add(g, {"dwellings": n, "heating": "all_electric", "ev_share": 0.5, "start_year": 2030}, site_id=f"s{i}")
    last = w.check(w.sites[-1])
    after = years_of(last)[2040]["substations"][0]["headroom_after_mw"]
    # 900 dwellings x 4.2 kW = 3.78 MW on OS01, in any order
    assert after == pytest.approx(2.3358767 - 3.78, abs=1e-3)
    assert np.isclose(years_of(last)[2040]["substations"][0]["earlier_sites_mw"] + years_of(last)[2040]["site_mw"],
                      3.78, atol=1e-3)


# ---- land-claim conflicts -------------------------------------------------------------------------


def test_conflicts_with_the_rules_table(base, example_result):
    # a housing site on top of business park BT01: rule R01 (housing x industrial overlap, severity hoog)
    bt = example_result.plan.layers["industrial_zones"]
    c0 = bt.geometry.iloc[0].representative_point()
    c = check_site(base, f"{c0.x},{c0.y},100", GAS_200)
    assert c.conflicts["available"] is True
    r01 = [i for i in c.conflicts["items"] if i["rule_id"] == "R01"]
    assert r01 and r01[0]["other_layer"] == "industrial_zones" and r01[0]["other_id"] == str(bt["id"].iloc[0])
    assert r01[0]["severity"] == "hoog"


# ---- carriers, feed-in, Dutch field names (issues 14 and 16) --------------------------------------------------------


def test_a_solar_field_is_judged_on_feed_in(base, example_result):
    """30 MW of solar (feed-in factor 1.0) at OS05: its feed-in headroom minus 30 MW, from 2027."""
    c = check_site(base, "POLYGON ((176000 440000, 176600 440000, 176600 440500, 176000 440500, 176000 440000))",
                   {"technology": "zon", "capacity_mw": 30.0, "start_year": 2027}, kind="solar")
    vb = c.variants["basis"]
    assert vb["direction"] == "feedin" and c.serving[0]["substation_id"] == "OS05"
    h = example_result.headroom
    before = h[(h["substation_id"] == "OS05") & (h["direction"] == "feedin") & (h["variant"] == "basis")
               ].set_index("year")["headroom_mw"]
    y = years_of(c)
    assert y[2026]["site_mw"] == 0.0 and y[2027]["site_mw"] == pytest.approx(30.0)
    for yr in (2027, 2035, 2040):
        assert y[yr]["substations"][0]["headroom_after_mw"] == pytest.approx(before[yr] - 30.0, abs=1e-4)
    assert c.verdict.key == ("fits" if (before[2027:] - 30.0 > 0).all() else c.verdict.key)
    assert "invoeding" in c.summary_nl and report_dict([c])["direction"] == "feedin"


def test_a_business_park_asks_electric_or_hydrogen_which_fits_and_from_when(base, example_result):
    """Heavy industry next to H2-01 (25 MW_H2 from 2030): on hydrogen it fits from 2030, electric it does not."""
    park = "POLYGON ((196500 439000, 197500 439000, 197500 439800, 196500 439800, 196500 439000))"
    c = check_site(base, park, {"category": "heavy_industry", "start_year": 2027, "process_heat_carrier": "hydrogen"})
    con = {(k["carrier"], k["direction"]): k for k in c.variants["basis"]["connections"]}
    h2 = con[("hydrogen", "offtake")]
    assert h2["unit"] == "MW_H2" and h2["stations"][0]["id"] == "H2-01"
    # 80 ha x 0.5 MWth/ha / 0.9 = 44.4 MW_H2 after the 5-year ramp-up; H2-01 draws 6.67 MW_H2 for BT06 in the
    # baseline (25 - 18.33): the park is short every year it draws, the station does not exist before 2030
    hh = example_result.carrier_headroom
    base_h2 = hh[(hh["substation_id"] == "H2-01") & (hh["direction"] == "offtake") & (hh["variant"] == "basis")
                 ].set_index("year")["headroom_mw"]
    ys = {y["year"]: y for y in h2["years"]}
    for yr in (2030, 2035, 2040):
        assert ys[yr]["stations"][0]["headroom_after_mw"] == pytest.approx(base_h2[yr] - ys[yr]["site_mw"], abs=1e-4)
    assert ys[2040]["site_mw"] == pytest.approx(80 * 0.5 / 0.9, rel=1e-3)
    assert ys[2027]["fits"] is False and ys[2027]["stations"][0]["headroom_before_mw"] == 0.0
    # the three process-heat options, each judged on electricity and on its own carrier
    opts = {o["process_heat_carrier"]: o for o in c.options}
    assert set(opts) == {"electric", "hydrogen", "gas"}
    assert opts["hydrogen"]["carrier_connection"]["verdict"]["key"] == h2["verdict"]["key"]
    assert opts["electric"]["carrier_connection"] is None
    # electric process heat draws its heat / 0.99 more at the substation than on hydrogen
    el_extra = opts["electric"]["electricity"]["site_mw_end"] - opts["hydrogen"]["electricity"]["site_mw_end"]
    assert el_extra == pytest.approx(80 * 0.5 / 0.99, rel=1e-3)
    assert "Proceswarmte elektrisch" in c.summary_nl and "op waterstof" in c.summary_nl


def test_a_site_file_with_dutch_field_names(tmp_path, base):
    gdf = gpd.GeoDataFrame({"Naam": ["Nieuwe Weide"], "Aantal woningen": [100], "Verwarming": ["volledig elektrisch"],
                            "Startjaar": [2027]}, geometry=[shapely.Point(186150, 437150).buffer(150)], crs=28992)
    path = tmp_path / "plan.gpkg"
    gdf.to_file(path, driver="GPKG")
    c = check_site(base, path, {"ev_share": 0.5})
    ref = check_site(base, SITE_OS07, ALL_ELECTRIC_100)
    assert c.site["layer"] == "housing_sites" and c.site["name"] == "Nieuwe Weide"
    assert c.verdict == ref.verdict
    assert years_of(c)[2029]["site_mw"] == pytest.approx(years_of(ref)[2029]["site_mw"], rel=1e-3)
