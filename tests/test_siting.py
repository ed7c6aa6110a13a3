"""Land for new substations and MV/LV stations (spatialprog.siting): hand-checked surfaces, footprints, counts."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from spatialprog.conflicts import Rule, RuleSet
from spatialprog.errors import ParameterError, ProjectError
from spatialprog.params import load_parameters
from spatialprog.siting import Grid, compute_siting
from spatialprog.siting.candidates import best_footprints, footprint, footprint_kernel
from spatialprog.siting.mvlv import mvlv_per_substation, mvlv_stations, station_count
from spatialprog.siting.surfaces import (
    demand_density_kw_ha,
    distance_m,
    exclusion,
    scale_tops,
    site_cells,
    site_mask,
    suitability,
)

from .conftest import write_tiny_project

CRS = "EPSG:28992"


# --------------------------------------------------------------------------------------
# the grid


def test_grid_is_aligned_to_whole_cells_around_the_margin():
    g = Grid.covering((150_012.0, 450_030.0, 150_990.0, 450_970.0), cell_m=25.0, margin_m=100.0)
    assert (g.x0, g.y0) == (149_900.0, 451_075.0)  # floor(149912 / 25) * 25, ceil(451070 / 25) * 25
    assert g.bounds == (149_900.0, 449_925.0, 151_100.0, 451_075.0)
    assert (g.width, g.height) == (48, 46)
    assert all(v % 25 == 0 for v in g.bounds)


def test_too_many_cells_is_one_line_with_the_count_and_the_memory():
    with pytest.raises(ProjectError) as e:
        Grid.covering((0.0, 0.0, 200_000.0, 300_000.0), cell_m=1.0, max_cells=1e8)
    msg = str(e.value)
    assert "60,000,000,000 cells" in msg and "240.0 GB per surface" in msg and "larger cell size" in msg
    assert "\n" not in msg


# --------------------------------------------------------------------------------------
# surfaces, worked out by hand


def test_suitability_of_a_tiny_grid_by_hand():
    """One row of five 25 m cells: short demand in the first cell, an HV line through the last, cell 3 excluded.

    distance to demand 0, 25, 50, 75, 100 m over a 100 m scale -> 1, .75, .5, .25, 0
    distance to the line 100, 75, 50, 25, 0 m over a 50 m scale  -> 0, 0, 0, .5, 1
    weights 0.5 / 0.5 -> .5, .375, (excluded), .375, .5
    """
    g = Grid(x0=0.0, y0=25.0, cell_m=25.0, width=5, height=1)
    demand = distance_m(g, site_mask(g, [box(2, 2, 20, 20)]))
    line = distance_m(g, site_mask(g, [shapely.LineString([(112.5, 0), (112.5, 25)])]))
    assert demand.tolist() == [[0.0, 25.0, 50.0, 75.0, 100.0]]
    assert line.tolist() == [[100.0, 75.0, 50.0, 25.0, 0.0]]
    excluded = np.array([[False, False, True, False, False]])
    s = suitability({"distance_to_short_demand": demand, "distance_to_hv_lines": line},
                    {"distance_to_short_demand": 0.5, "distance_to_hv_lines": 0.5, "demand_density": 0.0}, excluded,
                    scales={"distance_to_short_demand": 100.0, "distance_to_hv_lines": 50.0})
    assert s[0, [0, 1, 3, 4]].tolist() == pytest.approx([0.5, 0.375, 0.375, 0.5])
    assert np.isnan(s[0, 2])
    # a factor without a surface is left out and the rest re-weighted: the demand distance alone
    alone = suitability({"distance_to_short_demand": demand}, {"distance_to_short_demand": 0.5,
                        "distance_to_hv_lines": 0.5}, excluded, scales={"distance_to_short_demand": 100.0})
    assert alone[0, [0, 1, 3, 4]].tolist() == pytest.approx([1.0, 0.75, 0.25, 0.0])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 30), w=st.integers(1, 30), data=st.data())
def test_the_suitability_of_a_window_is_that_window_of_the_whole(seed, h, w, data):
    """compute_siting works the suitability out in each search window only, scaled by the whole grid's
    scale_tops: every cell must be the one of the region's surface, bit for bit."""
    rng = np.random.default_rng(seed)
    density = rng.gamma(0.5, 200.0, (h, w)) * (rng.random((h, w)) < 0.7)  # zeros and a long tail, in float64
    factors = {"demand_density": density, "distance_to_short_demand": rng.uniform(0, 3000, (h, w)),
               "distance_to_hv_lines": rng.uniform(0, 9000, (h, w)).astype("float32")}
    weights = {"demand_density": data.draw(st.sampled_from([0.0, 0.4, 1.0])), "distance_to_short_demand": 0.35,
               "distance_to_hv_lines": data.draw(st.sampled_from([0.0, 0.25]))}
    excluded = rng.random((h, w)) < 0.2
    scales = {"distance_to_short_demand": 2000.0, "distance_to_hv_lines": 5000.0}
    r0, c0 = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    rs, cs = slice(r0, data.draw(st.integers(r0 + 1, h))), slice(c0, data.draw(st.integers(c0 + 1, w)))
    whole = suitability(factors, weights, excluded, scales=scales)
    part = suitability({k: a[rs, cs] for k, a in factors.items()}, weights, excluded[rs, cs], scales=scales,
                       tops=scale_tops(factors))
    assert part.dtype == whole.dtype and part.tobytes() == whole[rs, cs].tobytes()


def test_demand_density_spreads_a_site_over_its_hectares():
    g = Grid(x0=0.0, y0=200.0, cell_m=50.0, width=4, height=4)
    site = box(0, 100, 100, 200)                      # 1 ha, 2 MW -> 2000 kW/ha on its 4 cells
    hub = Point(175, 25)                              # 0.5 MW in one 0.25 ha cell -> 2000 kW/ha
    d = demand_density_kw_ha(g, np.array([site, hub, box(0, 100, 100, 200)]), np.array([2.0, 0.5, 1.0]))
    assert d[:2, :2].tolist() == [[3000.0, 3000.0], [3000.0, 3000.0]]  # overlapping sites add up (2 + 1 MW)
    assert d[3, 3] == 2000.0
    assert float(d.sum()) * 0.25 == pytest.approx(3000.0 + 500.0)  # kW/ha x ha = the kW of the sites


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_the_densities_of_one_set_of_site_cells_are_each_sets_own_bit_for_bit(seed):
    """SiteCells burns each offtake on cells found once for all sites: a site without offtake (0, or a negative
    one) adds nothing, so each density is demand_density_kw_ha of that set's sites alone, in the same order."""
    rng = np.random.default_rng(seed)
    g = Grid(x0=0.0, y0=1000.0, cell_m=25.0, width=40, height=40)
    n = 30
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    w, h = rng.uniform(0, 180, n), rng.uniform(0, 180, n)
    geoms = np.array([box(a, b, a + c, b + d) if i % 4 else Point(a, b)
                      for i, (a, b, c, d) in enumerate(zip(x, y, w, h, strict=True))], dtype=object)
    geoms[3] = None
    cells = site_cells(g, geoms)
    for _ in range(3):
        mw = np.where(rng.random(n) < 0.4, 0.0, rng.uniform(-0.2, 5.0, n))
        own = mw > 0
        alone = demand_density_kw_ha(g, geoms[own], mw[own])
        assert cells.density_kw_ha(mw).tobytes() == alone.tobytes()


def test_exclusion_follows_the_rules_with_their_zones_and_severities():
    """A housing site (hoog) excludes itself and its 30 m zone; an industrial zone (laag) stays allowed."""
    g = Grid(x0=0.0, y0=200.0, cell_m=25.0, width=8, height=8)
    house = gpd.GeoDataFrame({"id": ["H"]}, geometry=[box(0, 175, 25, 200)], crs=CRS)
    zone = gpd.GeoDataFrame({"id": ["Z"]}, geometry=[box(150, 0, 200, 50)], crs=CRS)
    nature = gpd.GeoDataFrame({"id": ["N"]}, geometry=[box(100, 100, 125, 125)], crs=CRS)
    rules = RuleSet((
        Rule("A", "housing_sites", "substation_reserves", "overlap", "hoog", "x"),
        Rule("B", "housing_sites", "substations", "within_distance", "middel", "x", distance_m=30.0),
        Rule("C", "industrial_zones", "substation_reserves", "overlap", "laag", "x"),
    ))
    ex = exclusion(g, {"housing_sites": house, "industrial_zones": zone, "wetland": nature}, rules, capacity_mva=80,
                   min_severity=2, constraints=("wetland",))
    # the house, and the cells its 30 m zone reaches (not the diagonal one: its corner is 25 * sqrt 2 = 35 m
    # from the house's); the constraint no rule names as a whole (row 3, column 4); the industrial zone (laag) not
    want = np.zeros((8, 8), dtype=bool)
    want[0:3, 0:3] = True
    want[2, 2] = False
    want[3, 4] = True
    assert (ex == want).all()
    only_hoog = exclusion(g, {"housing_sites": house}, rules, capacity_mva=80, min_severity=3)
    assert only_hoog.sum() == 1            # at hoog and up the 30 m zone (middel) no longer excludes


# --------------------------------------------------------------------------------------
# footprints


def test_footprint_has_the_area_and_the_kernel_every_cell_it_touches():
    p = footprint(100.0, 100.0, 8000.0, 1.5, 30.0)
    assert p.area == pytest.approx(8000.0)
    k = footprint_kernel(8000.0, 1.5, 30.0, 25.0)
    r = k.shape[0] // 2
    g = Grid(x0=0.0, y0=(r + 0.5) * 25.0 * 2, cell_m=25.0, width=2 * r + 1, height=2 * r + 1)
    x, y = g.centre(r, r)
    touched = g.rasterize([footprint(float(x), float(y), 8000.0, 1.5, 30.0)], all_touched=True).astype(bool)
    assert (touched <= k).all() and k.sum() >= 8000.0 / 625.0


def _l_shape() -> np.ndarray:
    """10 x 10 cells of 25 m: a vertical arm of 2 columns and a horizontal arm of 2 rows (an L)."""
    ok = np.zeros((10, 10), dtype=bool)
    ok[:, 0:2] = True
    ok[8:10, :] = True
    return ok


def test_a_footprint_fits_an_l_shaped_group_only_where_and_how_it_can():
    g = Grid(x0=0.0, y0=250.0, cell_m=25.0, width=10, height=10)
    ok = _l_shape()
    score = np.ones(ok.shape)
    # 50 x 25 m (1250 m2, aspect 2): three cells in a row -> lies along an arm, never across it
    found = best_footprints(g, ok, score, land_m2=1250.0, aspect=2.0, angle_step_deg=90.0)
    assert len(found) == 1
    c = found[0]
    assert c["geometry"].area == pytest.approx(1250.0)
    touched = g.rasterize([c["geometry"]], all_touched=True).astype(bool)
    assert not (touched & ~ok).any()
    assert c["group_area_m2"] == pytest.approx(ok.sum() * 625.0)
    # 50 x 50 m needs 3 x 3 cells around its centre: the arms are 2 wide, so it fits nowhere, at no angle
    assert best_footprints(g, ok, score, land_m2=2500.0, aspect=1.0, angle_step_deg=15.0) == []
    # widen the corner to 3 x 3 cells: now it fits, centred on the corner's middle cell
    ok2 = ok.copy()
    ok2[7:10, 0:3] = True
    found = best_footprints(g, ok2, score, land_m2=2500.0, aspect=1.0, angle_step_deg=15.0)
    assert [(f["angle_deg"], f["geometry"].centroid.x, f["geometry"].centroid.y) for f in found] == \
        [(0.0, pytest.approx(37.5), pytest.approx(37.5))]


def test_the_best_candidate_is_known_by_construction():
    """Two separate groups; the eastern one holds the best cells: its best footprint ranks first, centred there."""
    g = Grid(x0=0.0, y0=250.0, cell_m=25.0, width=10, height=10)
    ok = np.zeros((10, 10), dtype=bool)
    ok[1:6, 0:4] = True      # west group, score 0.4
    ok[1:6, 6:10] = True     # east group, score 0.6, and 0.9 on the 3 x 3 block rows 2-4, columns 7-9
    score = np.where(ok, 0.4, 0.0)
    score[1:6, 6:10] = 0.6
    score[2:5, 7:10] = 0.9
    found = best_footprints(g, ok, score, land_m2=2500.0, aspect=1.0, angle_step_deg=15.0)
    assert [round(f["score"], 6) for f in found] == [0.9, 0.4]
    x, y = g.centre(3, 8)
    assert found[0]["geometry"].centroid.x == pytest.approx(float(x))
    assert found[0]["geometry"].centroid.y == pytest.approx(float(y))
    # the order does not depend on how the arrays are laid out: the same on a mirrored grid
    mirrored = best_footprints(g, ok[:, ::-1], score[:, ::-1], land_m2=2500.0, aspect=1.0, angle_step_deg=15.0)
    assert [round(f["score"], 6) for f in mirrored] == [0.9, 0.4]


# --------------------------------------------------------------------------------------
# MV/LV stations


def test_mvlv_station_count_of_one_site_by_hand():
    """250 all-electric dwellings, 40 of them on a heat network: 210 / 100 + 40 / 200 = 2.3 -> 3 stations, 147 m2."""
    p = load_parameters()
    assert p["mvlv.dwellings_per_station.all_electric"] == 100 and p["mvlv.dwellings_per_station.heat_network"] == 200
    assert p["mvlv.land_m2_per_station"] == 49
    assert station_count(np.array([250.0]), np.array([40.0]), per_type=np.array([100.0]),
                         per_heat_network=200.0).tolist() == [3]
    assert station_count(np.array([200.0]), np.array([0.0]), per_type=np.array([100.0]),
                         per_heat_network=200.0).tolist() == [2]  # exactly 2.0: no third station
    housing = gpd.GeoDataFrame({"id": ["W", "S"], "name": ["Wijk", "Klein"], "heating": ["all_electric", "gas"]},
                               geometry=[box(0, 0, 200, 200), box(0, 0, 60, 60)], crs=CRS)
    zones = gpd.GeoDataFrame({"id": ["Z"], "name": ["Park"]}, geometry=[box(0, 0, 100, 100)], crs=CRS)
    demand = pd.DataFrame({"variant": "basis", "layer": ["housing_sites", "housing_sites", "industrial_zones"],
                           "site_id": ["W", "S", "Z"], "carrier": "electricity", "year": 2040,
                           "offtake_mw": [0.9, 0.1, 2.5], "dwellings_delivered": [250.0, 30.0, 0.0],
                           "dwellings_on_heat_network": [40.0, 0.0, 0.0]})
    s = mvlv_stations({"housing_sites": housing, "industrial_zones": zones}, demand, p, variant="basis",
                      year=2040).set_index("site_id")
    assert s.loc["W", ["n_stations", "land_m2", "flag"]].tolist() == [3, 147.0, ""]  # 147 / 40,000 m2 = 0.37 %
    assert s.loc["S", ["n_stations", "land_m2", "flag"]].tolist() == [1, 49.0, "te klein"]  # 49 / 3,600 = 1.4 %
    assert s.loc["Z", ["n_stations", "land_m2", "flag"]].tolist() == [3, 147.0, "te dicht"]  # 2.5 MW / 1 MW
    a = pd.DataFrame({"layer": ["housing_sites", "housing_sites", "housing_sites", "industrial_zones"],
                      "site_id": ["W", "W", "S", "Z"], "substation_id": ["A", "B", "A", "B"],
                      "share": [0.25, 0.75, 1.0, 1.0]})
    per = mvlv_per_substation(s.reset_index(), a).set_index("substation_id")
    assert per.loc["A", "n_stations"] == pytest.approx(0.75 + 1.0)
    assert per.loc["B", "n_stations"] == pytest.approx(2.25 + 3.0)
    assert per["n_stations"].sum() == pytest.approx(s["n_stations"].sum())  # totals conserved
    assert per.loc["A", "n_sites_flagged"] == 1 and per.loc["B", "n_sites_flagged"] == 1


def test_a_heating_type_without_its_station_figure_is_named():
    p = load_parameters()
    housing = gpd.GeoDataFrame({"id": ["W"], "heating": ["waterstof"]}, geometry=[box(0, 0, 9, 9)], crs=CRS)
    d = pd.DataFrame({"variant": "basis", "layer": ["housing_sites"], "site_id": ["W"], "carrier": "electricity",
                      "year": 2040, "offtake_mw": [0.1], "dwellings_delivered": [10.0],
                      "dwellings_on_heat_network": [0.0]})
    with pytest.raises(ParameterError, match="mvlv.dwellings_per_station.waterstof"):
        mvlv_stations({"housing_sites": housing}, d, p, variant="basis", year=2040)


# --------------------------------------------------------------------------------------
# the example region, end to end


@pytest.fixture(scope="module")
def example_siting(example_result):
    from spatialprog.workflow import ranking_of

    rr = ranking_of(example_result)
    return compute_siting(example_result, rr.programme), rr.programme


def test_the_example_gets_a_candidate_for_its_new_station(example_siting):
    s, programme = example_siting
    new = programme[programme["intervention"] == "new_substation"]
    assert ("basis", "OS10") in set(zip(new["variant"], new["substation_id"], strict=True))
    c = s.candidates
    assert set(zip(c["variant"], c["substation_id"], strict=True)) == \
        set(zip(new["variant"], new["substation_id"], strict=True))
    assert (c["area_m2"] >= c["land_m2"] - 1e-6).all()
    land = new.assign(per=new["land_m2"] / new["n_new_stations"]).set_index(["variant", "substation_id"])["per"]
    assert c.set_index(["variant", "substation_id"])["land_m2"].sort_index().tolist() == \
        pytest.approx(land.reindex(c.set_index(["variant", "substation_id"]).index).sort_index().tolist())
    joined = s.with_candidates(programme)
    row = joined[(joined["variant"] == "basis") & (joined["substation_id"] == "OS10")].iloc[0]
    assert row["candidate_site_id"] == "K-basis-OS10-1"
    assert joined.loc[joined["intervention"] != "new_substation", "candidate_site_id"].isna().all()


def test_no_excluded_cell_ever_holds_a_candidate(example_siting):
    s, _ = example_siting
    base = s.candidates[s.candidates["variant"] == "basis"]
    touched = s.grid.rasterize(np.asarray(base.geometry.values), all_touched=True).astype(bool)
    assert touched.any()
    assert not (touched & (s.surfaces["exclusion"] == 1)).any()
    assert np.isnan(s.surfaces["suitability"][s.surfaces["exclusion"] == 1]).all()
    # and the conflicts engine agrees: none of the severe conflicts that excluded the land remains
    assert set(s.candidates["worst_severity"].dropna()) <= {"laag"}


def test_each_candidate_lies_in_its_service_area_and_margin(example_siting, example_result):
    s, _ = example_siting
    margin = float(example_result.project.parameters["siting.search_margin_m"])
    areas = example_result.service_areas.set_index("substation_id").geometry
    for _, c in s.candidates.iterrows():
        assert c.geometry.within(areas[c["substation_id"]].buffer(margin + 25.0))


def test_surfaces_of_the_example(example_siting, example_result):
    s, _ = example_siting
    years = [2025, 2030, 2035, 2040]
    assert {f"demand_density_kw_ha_{y}" for y in years} | {"exclusion", "distance_to_short_demand_m",
                                                          "distance_to_hv_lines_m", "suitability"} == set(s.surfaces)
    assert all(a.shape == s.grid.shape for a in s.surfaces.values())
    sv = s.surfaces["suitability"]
    assert np.nanmin(sv) >= 0.0 and np.nanmax(sv) <= 1.0
    # the distance is 0 on the HV lines (within a cell: GDAL's line burning rounds at cell edges) and 1 km away
    # from the north-south 380 kV line it is 1 km, as far as the east-west one is farther
    hv = example_result.plan.layers["hv_lines"]
    on = s.grid.rasterize(np.asarray(hv.geometry.values)).astype(bool)
    d = s.surfaces["distance_to_hv_lines_m"]
    assert (d[on] <= 25.0).all() and (d[on] == 0).mean() > 0.5
    x = 183_619.134 + 1000.0                               # the 380 kV line runs at x = 183,619 m
    row, col = int((s.grid.y0 - 446_000.0) // 25), int((x - s.grid.x0) // 25)
    assert d[row, col] == pytest.approx(1000.0, abs=25.0)


def test_a_region_without_a_new_station_has_no_candidates_said_plainly(tmp_path, tiny_housing):
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.workflow import ranking_of

    r = compute(read_plan(write_tiny_project(tmp_path, housing=tiny_housing)))
    s = compute_siting(r, ranking_of(r).programme)
    assert s.candidates.empty and list(s.candidates.columns)[:3] == ["variant", "candidate_id", "substation_id"]
    msgs = [n.message for n in s.notices]
    assert any("no new substation" in m for m in msgs)
    assert any("no HV lines" in m for m in msgs)     # and no hv_lines layer: that surface is left out
    assert "distance_to_hv_lines_m" not in s.surfaces
    assert len(s.mvlv) == 2                           # the MV/LV stations are still counted


def test_a_weight_for_a_surface_that_does_not_exist_is_refused(tmp_path):
    from spatialprog.config import load_project

    toml = write_tiny_project(tmp_path, extra='[parameters]\n"siting.weight.distance_to_roads" = 0.2\n')
    with pytest.raises(ProjectError, match="unknown parameter .siting.weight.distance_to_roads.; did you mean"):
        load_project(toml)


def test_the_run_writes_cogs_tables_layers_and_the_qgis_project(example_run):
    import pyogrio
    import rasterio

    out = example_run.out
    for name in ("suitability", "exclusion", "distance_to_short_demand_m", "demand_density_kw_ha_2040"):
        tif = out / f"siting_{name}.tif"
        assert tif.is_file() and tif.with_suffix(".qml").is_file()
        with rasterio.open(tif) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"  # GDAL's own COG layout mark
            assert src.crs.to_epsg() == 28992 and src.transform.a == 25.0
            assert src.bounds.left % 25 == 0 and src.bounds.top % 25 == 0
    prog = pd.read_csv(out / "programme.csv")
    cand = pd.read_csv(out / "candidate_sites.csv")
    best = prog.loc[(prog["variant"] == "basis") & (prog["substation_id"] == "OS10"), "candidate_site_id"].iat[0]
    assert best in set(cand["candidate_id"])
    assert {"mvlv_stations.csv", "mvlv_substations.csv", "candidate_sites.csv"} <= \
        set(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"])
    assert {"candidate_sites", "mvlv_stations"} <= {n for n, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert "candidate_sites" in {n for n, _ in pyogrio.list_layers(out / "spatialprog.gpkg")}
    with zipfile.ZipFile(out / "spatialprog.qgz") as z:
        qgs = z.read(z.namelist()[0]).decode("utf-8")
    assert "siting_suitability.tif" in qgs and "candidate_sites" in qgs


def test_the_siting_switch_turns_it_off(tmp_path, tiny_housing):
    from spatialprog.workflow import run

    toml = write_tiny_project(tmp_path, housing=tiny_housing, extra='[parameters]\n"siting.enabled" = 0\n')
    done = run(toml, tmp_path / "out", maps=False, qgis=False)
    names = {p.name for p in done.files}
    assert done.siting is None and not any(n.startswith(("siting_", "candidate_", "mvlv_")) for n in names)
    assert "candidate_site_id" not in pd.read_csv(tmp_path / "out" / "programme.csv").columns


def test_the_suitability_command_writes_the_siting_part_alone(tmp_path, tiny_housing):
    import pyogrio
    from click.testing import CliRunner

    from spatialprog.cli import cli

    toml = write_tiny_project(tmp_path, housing=tiny_housing)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["suitability", str(toml), "--out", str(out)], obj={})
    assert r.exit_code == 0, r.output
    assert "the programme proposes no new substation" in r.output   # said plainly
    names = set(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"])
    assert {"siting_suitability.tif", "siting_exclusion.qml", "candidate_sites.csv", "mvlv_stations.csv",
            "siting.gpkg"} <= names
    assert {n for n, _ in pyogrio.list_layers(out / "siting.gpkg")} == {"candidate_sites", "mvlv_stations"}
    m = pd.read_csv(out / "mvlv_stations.csv").set_index("site_id")
    # H1: 100 all-electric dwellings / 100 per station -> 1; H2: 200 hybrid / 150 -> 2
    assert m.loc["H1", "n_stations"] == 1 and m.loc["H2", "n_stations"] == 2


def test_the_vectorised_burn_gives_gdals_cells():
    """Polygons burnt by cell centre without GDAL (Grid._burn_centres) give the cells rasterio (GDAL) gives:
    random boxes, rotated rectangles, a polygon with a hole, a multipolygon, a polygon reaching off the grid."""
    from rasterio.features import rasterize

    rng = np.random.default_rng(7)
    g = Grid(x0=1000.0, y0=2000.0, cell_m=25.0, width=60, height=50)
    x, y = rng.uniform(900, 2600, 60), rng.uniform(700, 2100, 60)
    shapes = [shapely.affinity.rotate(box(a, b, a + w, b + h), t) for a, b, w, h, t in
              zip(x, y, rng.uniform(5, 200, 60), rng.uniform(5, 120, 60), rng.uniform(0, 90, 60), strict=True)]
    shapes += [box(1100, 1100, 1500, 1500).difference(box(1200, 1200, 1400, 1400)),
               shapely.MultiPolygon([box(2000, 1000, 2100, 1100), box(2200, 1000, 2300, 1200)])]
    values = rng.uniform(0.5, 3.0, len(shapes))
    gdal = rasterize([(s, 1) for s in shapes], out_shape=g.shape, transform=g.transform, dtype="uint8")
    assert (g.rasterize(shapes) == gdal).all()
    from rasterio.enums import MergeAlg

    gdal_sum = rasterize(list(zip(shapes, values, strict=True)), out_shape=g.shape, transform=g.transform,
                         dtype="float64", merge_alg=MergeAlg.add)
    assert g.rasterize(shapes, values, add=True, dtype="float64") == pytest.approx(gdal_sum)
    # chunked: the same cells when at most a few pairs are tested at a time
    assert (g._burn_centres(np.asarray(shapes, dtype=object), np.ones(len(shapes)), add=False, dtype="uint8",
                            max_pairs=50) == gdal).all()


def test_only_electricity_rows_get_a_candidate(example_siting):
    """Another carrier's node (a heat network's new source) takes no substation land, even under the same id."""
    s, programme = example_siting
    row = programme[(programme["variant"] == "basis") & (programme["substation_id"] == "OS10")]
    other = row.assign(carrier="heat")
    joined = s.with_candidates(pd.concat([row.assign(carrier="electricity"), other], ignore_index=True))
    assert joined["candidate_site_id"].tolist() == ["K-basis-OS10-1", None]


def _with_siting_params(result, **overrides):
    """A copy of a computed run whose variants carry parameter overrides (the fixture stays as it is)."""
    import copy

    project = copy.copy(result.plan.project)
    project.variants = {v: p.with_overrides(overrides, origin="test", where="test")
                        for v, p in project.variants.items()}
    plan = copy.copy(result.plan)
    plan.project = project
    out = copy.copy(result)
    out.plan = plan
    return out


def test_a_region_too_large_for_its_cells_is_searched_in_windows(example_result):
    """Over siting.max_cells: overview surfaces at siting.overview_cell_size_m, candidates fitted at 25 m per window.

    Each window fits the footprints against the exclusion at 25 m (the same cells as the whole grid's, as
    the grids are aligned) and the other factors of the 100 m cell each 25 m cell lies in.
    """
    from spatialprog.siting.surfaces import exclusion as excluded_cells
    from spatialprog.workflow import ranking_of

    programme = ranking_of(example_result).programme
    whole = compute_siting(example_result, programme)
    n = whole.grid.width * whole.grid.height
    win = compute_siting(_with_siting_params(example_result, **{"siting.max_cells": n - 1}), programme)
    assert whole.grid.cell_m == 25.0 and win.grid.cell_m == 100.0
    assert all(a.shape == win.grid.shape for a in win.surfaces.values())
    assert any("fitted at 25 m cells, in a window" in x.message for x in win.notices)
    c = win.candidates
    assert set(zip(c["variant"], c["substation_id"], strict=True)) == \
        set(zip(whole.candidates["variant"], whole.candidates["substation_id"], strict=True))
    assert (c["area_m2"] >= c["land_m2"] - 1e-6).all() and c["score"].between(0, 1).all()
    # no footprint on a cell the whole 25 m grid excludes for a station of its size
    plan = example_result.plan
    for mva, rows in c.groupby("capacity_mva"):
        ex = excluded_cells(whole.grid, {**plan.layers, **plan.constraints}, plan.reference.conflict_rules,
                            capacity_mva=float(mva), min_severity=2, constraints=tuple(plan.constraints))
        centres = whole.grid.rasterize(np.asarray(rows.geometry.values)).astype(bool)
        assert centres.any() and not (centres & ex).any()
    # a footprint lies in its search area: the service area and the margin
    margin = float(example_result.project.parameters["siting.search_margin_m"])
    areas = example_result.service_areas.set_index("substation_id").geometry
    assert all(g.within(areas[s].buffer(margin + 25.0)) for g, s in zip(c.geometry, c["substation_id"], strict=True))


def test_a_run_searches_at_most_max_searches_new_stations_first_by_rank_and_says_which_not(example_result):
    from spatialprog.workflow import ranking_of

    programme = ranking_of(example_result).programme
    new = programme[programme["intervention"] == "new_substation"]
    assert len(new) >= 2
    s = compute_siting(_with_siting_params(example_result, **{"siting.max_searches": 1}), programme)
    first = new.sort_values("programme_rank", kind="stable").iloc[0]
    assert set(zip(s.candidates["variant"], s.candidates["substation_id"], strict=True)) == \
        {(first["variant"], first["substation_id"])}
    msg = [n.message for n in s.notices if "siting.max_searches = 1" in n.message]
    assert msg and msg[0].startswith(f"{len(new) - 1} of the programme's {len(new)} new substations get no")


def test_new_offtake_per_variant_and_year_is_each_ones_own_grouping(example_result):
    """The one grouping of the demand table gives, per variant and milestone year, the frame that filtering
    and grouping that variant and year alone gives (the density surfaces are drawn from it), shuffled too."""
    from spatialprog import fields as F
    from spatialprog.outputs import milestone_years
    from spatialprog.siting.surfaces import new_offtake_mw

    demand = example_result.demand
    years = milestone_years(example_result.plan.project.years)
    variants = list(dict.fromkeys(demand[F.VARIANT]))
    shuffled = demand.sample(frac=1.0, random_state=7)
    for table in (demand, shuffled):
        got = new_offtake_mw(table, variants, years)
        for v in variants:
            d = table[(table[F.VARIANT] == v) & (table[F.CARRIER] == F.ELECTRICITY) & ~table["existing"].astype(bool)]
            for y in years:
                want = d[d[F.YEAR] == y].groupby([F.LAYER, F.SITE_ID], sort=True)[F.OFFTAKE_MW].sum().reset_index()
                pd.testing.assert_frame_equal(got.get((v, y), got[None]), want)
                assert len(want) and want[F.OFFTAKE_MW].sum() > 0


def test_distances_on_every_core_are_each_masks_own():
    """The transforms run side by side give each mask's own distance, in the masks' order; an empty mask +inf."""
    from spatialprog.siting.surfaces import distance_m, distances_m

    g = Grid(x0=0.0, y0=2500.0, cell_m=25.0, width=120, height=100)
    rng = np.random.default_rng(3)
    masks = {k: rng.random(g.shape) < p for k, p in (("a", 0.001), ("b", 0.01), ("c", 0.0), ("d", 0.05))}
    got = distances_m(g, masks)
    assert list(got) == list(masks)
    for k, m in masks.items():
        want = distance_m(g, m)
        if want is None:
            assert np.isinf(got[k]).all()
        else:
            np.testing.assert_array_equal(got[k], want)
            assert got[k].dtype == np.float32 and got[k][m].max() == 0 and got[k].max() > 25


def test_the_variants_searched_beside_the_base_give_the_same_siting(example_result, monkeypatch):
    """A large grid has the other variants' candidate sites (and the MV/LV stations) found in a forked process
    while the base variant's are: the same surfaces, candidates, stations and notices, in the same order."""
    import spatialprog.siting as S
    from spatialprog.processes import can_fork
    from spatialprog.workflow import ranking_of

    if not can_fork():
        pytest.skip("this machine cannot fork (one core, or no fork start method): nothing runs beside")
    programme = ranking_of(example_result).programme
    assert programme["variant"][programme["intervention"] == "new_substation"].nunique() > 1  # others to search
    here = compute_siting(example_result, programme)
    forked = []
    real = S.beside
    monkeypatch.setattr(S, "BESIDE_CELLS", 0)
    monkeypatch.setattr(S, "beside", lambda fn, *a, fork=None: forked.append(fn.__name__) or real(fn, *a, fork=fork))
    there = compute_siting(example_result, programme)
    assert forked == ["later"]
    assert {k: v.tobytes() for k, v in there.surfaces.items()} == {k: v.tobytes() for k, v in here.surfaces.items()}
    for a, b in ((there.candidates, here.candidates), (there.mvlv, here.mvlv),
                 (there.mvlv_substations, here.mvlv_substations)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(there.notices) == list(here.notices)
