"""Tests of the land-claim conflict engine (spatialprog.conflicts).

Every expected area and distance below is worked out by hand in the comment
next to it; areas are checked to 0.01 m2 and distances to 0.01 m.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from spatialprog.conflicts import (
    CONFLICT_COLUMNS,
    MATRIX_COLUMNS,
    SUMMARY_COLUMNS,
    TOUCH_TOLERANCE_M2,
    WORKING_CRS,
    Rule,
    RuleSet,
    compute_conflicts,
    constraint_margin_m,
    constraint_read_bbox,
    load_rules,
    overlap_pairs,
    pairs_within_distance,
)
from spatialprog.errors import ConflictRuleError, CRSError, LayerValidationError

NATURA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "natura2000_nl" / (
    "natura2000_nl_simplified20m.geojson"
)
# Somewhere in Utrecht, well inside the RD New domain; hand-built layers are offset from here
X0, Y0 = 135_000.0, 455_000.0


def sq(x: float, y: float, w: float, h: float | None = None) -> Polygon:
    """Axis-aligned rectangle with lower-left corner (X0 + x, Y0 + y)."""
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + (w if h is None else h))


def layer(ids: list[str], geoms: list, crs: str | None = WORKING_CRS, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids, **cols}, geometry=list(geoms), crs=crs)


def only(rules: RuleSet, *rule_ids: str) -> RuleSet:
    """The bundled rules restricted to some rule ids."""
    return RuleSet(tuple(r for r in rules if r.rule_id in rule_ids), rules.lookups)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


# ----------------------------------------------------------------------------------------------
# overlap
# ----------------------------------------------------------------------------------------------


def test_offset_squares_overlap_7000_m2(rules):
    # two 100 x 100 m squares, the second shifted 30 m east: shared 70 m x 100 m = 7000.00 m2,
    # share of each 7000 / 10000 = 0.70
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["i1"], [sq(30, 0, 100)])
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, only(rules, "R01"))
    assert list(res.conflicts.columns) == list(CONFLICT_COLUMNS)
    assert len(res.conflicts) == 1
    row = res.conflicts.iloc[0]
    assert row["conflict_id"] == "R01:h1:i1"
    assert (row["rule_id"], row["layer_a"], row["id_a"], row["layer_b"], row["id_b"]) == (
        "R01", "housing_sites", "h1", "industrial_zones", "i1")
    assert row["severity"] == "hoog" and row["severity_rank"] == 3
    assert row["area_m2"] == pytest.approx(7000.00, abs=0.01)
    assert row["share_a"] == pytest.approx(0.70, abs=1e-9)
    assert row["share_b"] == pytest.approx(0.70, abs=1e-9)
    assert np.isnan(row["dist_m"])
    # the geometry is the overlap polygon itself: x from 30 to 100, y from 0 to 100
    assert row.geometry.equals(sq(30, 0, 70, 100))
    assert res.conflicts.crs.equals(WORKING_CRS)


def test_unequal_shares(rules):
    # a 40 x 50 m solar field (2000 m2) wholly inside a 100 x 100 m housing site (10000 m2):
    # shared 2000.00 m2, share_a = 2000/10000 = 0.20, share_b = 2000/2000 = 1.00
    housing = layer(["h1"], [sq(0, 0, 100)])
    gen = layer(["g1"], [sq(10, 20, 40, 50)])
    res = compute_conflicts({"housing_sites": housing, "generation": gen}, only(rules, "R02"))
    row = res.conflicts.iloc[0]
    assert row["area_m2"] == pytest.approx(2000.00, abs=0.01)
    assert row["share_a"] == pytest.approx(0.20)
    assert row["share_b"] == pytest.approx(1.00)


def test_touching_is_not_overlapping(rules):
    # squares sharing the edge x = 100 (and one touching in a corner only): shared area 0 m2
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["edge", "corner"], [sq(100, 0, 100), sq(100, 100, 50)])
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, only(rules, "R01"))
    assert res.conflicts.empty
    assert res.summary["housing_sites"]["n_conflicts"].tolist() == [0]
    assert res.matrix["n_conflicts"].tolist() == [0]


def test_sliver_below_touch_tolerance_is_touching():
    # 100 m long strip overlapping by 5e-5 m: 100 * 0.00005 = 0.005 m2 <= 0.01 m2 tolerance
    rule = Rule("T1", "housing_sites", "industrial_zones", "overlap", "hoog", "test")
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["i1"], [sq(100 - 0.00005, 0, 100)])
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, RuleSet((rule,)))
    assert res.conflicts.empty
    assert TOUCH_TOLERANCE_M2 == 0.01


@pytest.mark.parametrize(
    ("min_area", "min_share", "expected"),
    [
        # overlap strip 0.5 m x 100 m = 50.00 m2; share of each 100 x 100 square = 50/10000 = 0.005
        (100.0, 0.01, False),  # 50 < 100 and 0.005 < 0.01
        (50.0, 0.01, True),  # area 50 >= 50
        (100.0, 0.005, True),  # share 0.005 >= 0.005
        (100.0, None, False),
        (None, None, True),  # no threshold: any shared area beyond touching
    ],
)
def test_overlap_thresholds_either_suffices(min_area, min_share, expected):
    rule = Rule("T1", "housing_sites", "industrial_zones", "overlap", "hoog", "test",
                min_area_m2=min_area, min_share=min_share)
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["i1"], [sq(99.5, 0, 100)])
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, RuleSet((rule,)))
    assert (len(res.conflicts) == 1) is expected
    if expected:
        assert res.conflicts["area_m2"].iloc[0] == pytest.approx(50.00, abs=0.01)
        assert res.conflicts["share_a"].iloc[0] == pytest.approx(0.005)


def test_self_overlap_each_pair_once():
    # three housing plans: A and B overlap by 20 x 100 = 2000 m2, C stands apart
    rule = Rule("S1", "housing_sites", "housing_sites", "overlap", "middel", "dubbele claim")
    housing = layer(["C", "B", "A"], [sq(500, 0, 100), sq(80, 0, 100), sq(0, 0, 100)])
    res = compute_conflicts({"housing_sites": housing}, RuleSet((rule,)))
    assert len(res.conflicts) == 1
    row = res.conflicts.iloc[0]
    assert {row["id_a"], row["id_b"]} == {"A", "B"}
    assert row["area_m2"] == pytest.approx(2000.00, abs=0.01)
    summary = res.summary["housing_sites"].set_index("id")
    assert summary.loc[["A", "B", "C"], "n_conflicts"].tolist() == [1, 1, 0]


# ----------------------------------------------------------------------------------------------
# distance rules with lookups
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("voltage_kv", "zone_m", "conflict"),
    [
        (50.0, 40.0, False),
        (150.0, 80.0, False),  # 100 m > 80 m zone
        (220.0, 100.0, True),  # 100 m <= 100 m zone: inclusive
        (380.0, 120.0, True),
    ],
)
def test_housing_near_hv_line_depends_on_voltage(rules, voltage_kv, zone_m, conflict):
    # housing site x in [0, 100]; the line runs north-south at x = 200: distance 200 - 100 = 100 m
    housing = layer(["h1"], [sq(0, 0, 100)])
    line = LineString([(X0 + 200, Y0 - 500), (X0 + 200, Y0 + 500)])
    hv = layer(["l1"], [line], voltage_kv=[voltage_kv])
    res = compute_conflicts({"housing_sites": housing, "hv_lines": hv}, only(rules, "R11"))
    assert (len(res.conflicts) == 1) is conflict
    if conflict:
        row = res.conflicts.iloc[0]
        assert row["dist_m"] == pytest.approx(100.00, abs=0.01)
        assert row["rule_distance_m"] == zone_m
        assert np.isnan(row["area_m2"])
        # geometry: the shortest line from the site's east edge to the HV line, 100 m long
        assert row.geometry.geom_type == "LineString"
        assert row.geometry.length == pytest.approx(100.00, abs=0.01)
        xs = sorted(c[0] - X0 for c in row.geometry.coords)
        assert xs == pytest.approx([100.0, 200.0])


@pytest.mark.parametrize(
    ("mva", "gap_m", "conflict"),
    [
        (120.0, 99.99, True),  # 100-200 MVA: 100 m
        (120.0, 100.0, True),
        (120.0, 100.01, False),
        (9.0, 40.0, False),  # < 10 MVA: 30 m
        (9.0, 29.0, True),
        (1000.0, 299.0, True),  # >= 1000 MVA: 300 m
        (999.0, 201.0, False),  # 200-1000 MVA: 200 m
    ],
)
def test_substation_environmental_distance_by_mva(rules, mva, gap_m, conflict):
    # substation point east of the site's east edge (x = 100) at x = 100 + gap: distance = gap
    housing = layer(["h1"], [sq(0, 0, 100)])
    subst = layer(["s1"], [Point(X0 + 100 + gap_m, Y0 + 50)], capacity_mva=[mva])
    res = compute_conflicts({"housing_sites": housing, "substations": subst}, only(rules, "R12"))
    assert (len(res.conflicts) == 1) is conflict
    if conflict:
        assert res.conflicts["dist_m"].iloc[0] == pytest.approx(gap_m, abs=0.01)


def test_missing_lookup_value_uses_largest_distance_with_notice(rules):
    # no voltage: the largest zone of the lookup (120 m) is used; the line is 110 m away
    housing = layer(["h1"], [sq(0, 0, 100)])
    hv = layer(["l1"], [LineString([(X0 + 210, Y0), (X0 + 210, Y0 + 100)])], voltage_kv=[np.nan])
    res = compute_conflicts({"housing_sites": housing, "hv_lines": hv}, only(rules, "R11"))
    assert res.conflicts["dist_m"].tolist() == pytest.approx([110.0])
    assert res.conflicts["rule_distance_m"].tolist() == [120.0]
    assert any("no voltage_kv" in n.message and "l1" in n.message for n in res.notices)


def test_lookup_value_out_of_range_is_an_error(rules):
    housing = layer(["h1"], [sq(0, 0, 100)])
    hv = layer(["l1", "l2"], [LineString([(X0, Y0), (X0 + 1, Y0)])] * 2, voltage_kv=[10.0, 380.0])
    with pytest.raises(LayerValidationError, match=r"hv_lines, feature l1, field 'voltage_kv'.*outside"):
        compute_conflicts({"housing_sites": housing, "hv_lines": hv}, only(rules, "R11"))


def test_lookup_attribute_missing_is_an_error(rules):
    housing = layer(["h1"], [sq(0, 0, 100)])
    hv = layer(["l1"], [LineString([(X0, Y0), (X0 + 1, Y0)])])
    with pytest.raises(LayerValidationError, match="rule R11 needs attribute 'voltage_kv'"):
        compute_conflicts({"housing_sites": housing, "hv_lines": hv}, only(rules, "R11"))


# ----------------------------------------------------------------------------------------------
# inside
# ----------------------------------------------------------------------------------------------


def test_inside_per_geometry_type_and_mixed_layer(rules):
    # natura polygon 1000 x 1000 m at the origin
    natura = layer(["n1"], [sq(0, 0, 1000)])
    gen = layer(
        ["pt_in", "pt_edge", "pt_out", "field_half", "field_touch"],
        [
            Point(X0 + 500, Y0 + 500),
            Point(X0 + 1000, Y0 + 500),  # on the boundary counts as inside
            Point(X0 + 1500, Y0 + 500),
            # 200 x 100 field straddling x = 1000: 100 x 100 = 10000.00 m2 inside, share 0.5
            sq(900, 0, 200, 100),
            sq(1000, 200, 100),  # touches the boundary only
        ],
    )
    rule = Rule("I1", "generation", "natura2000", "inside", "middel", "test")
    res = compute_conflicts({"generation": gen, "natura2000": natura}, RuleSet((rule,)))
    got = res.conflicts.set_index("id_a")
    assert sorted(got.index) == ["field_half", "pt_edge", "pt_in"]
    assert got.loc["field_half", "area_m2"] == pytest.approx(10000.00, abs=0.01)
    assert got.loc["field_half", "share_a"] == pytest.approx(0.5)
    # share_b = 10000 / 1e6
    assert got.loc["field_half", "share_b"] == pytest.approx(0.01)
    assert got.loc["pt_in", "share_a"] == 1.0 and got.loc["pt_in", "area_m2"] == 0.0


def test_inside_min_share_one_means_entirely_within():
    natura = layer(["n1"], [sq(0, 0, 1000)])
    reserves = layer(["in", "half"], [sq(100, 100, 50), sq(975, 0, 50)])
    rule = Rule("I2", "substation_reserves", "natura2000", "inside", "hoog", "test", min_share=1.0)
    res = compute_conflicts({"substation_reserves": reserves, "natura2000": natura}, RuleSet((rule,)))
    assert res.conflicts["id_a"].tolist() == ["in"]


# ----------------------------------------------------------------------------------------------
# across borders
# ----------------------------------------------------------------------------------------------


def test_constraint_just_outside_region_counts(tmp_path, rules):
    # region: 1 x 1 km. A 380 kV line runs 30 m east of the region's edge (x = 1030), outside it.
    # A housing site inside the region ends at x = 940: distance 1030 - 940 = 90 m <= 120 m zone.
    region = sq(0, 0, 1000)
    housing = layer(["h1"], [sq(840, 400, 100)])
    line = LineString([(X0 + 1030, Y0 - 2000), (X0 + 1030, Y0 + 3000)])
    far_line = LineString([(X0 + 1500, Y0), (X0 + 1500, Y0 + 1000)])  # 500 m east of the region
    hv = layer(["near", "far"], [line, far_line], voltage_kv=[380.0, 380.0])
    path = tmp_path / "hv.gpkg"
    hv.to_file(path, layer="hv_lines", engine="pyogrio")

    margin = constraint_margin_m(rules)
    assert margin == 300.0  # largest rule distance: VNG >= 1000 MVA
    bbox = constraint_read_bbox(region.bounds, rules)
    assert bbox == (X0 - 300, Y0 - 300, X0 + 1300, Y0 + 1300)

    clipped = gpd.read_file(path, bbox=region.bounds, engine="pyogrio")
    assert clipped.empty  # without the margin the line is not even read
    hv_read = gpd.read_file(path, bbox=bbox, engine="pyogrio")
    assert sorted(hv_read["id"]) == ["near"]  # x = 1500 lies beyond the 300 m margin (1300)

    res = compute_conflicts({"housing_sites": housing, "hv_lines": hv_read}, only(rules, "R11"))
    assert res.conflicts["id_b"].tolist() == ["near"]
    assert res.conflicts["dist_m"].iloc[0] == pytest.approx(90.00, abs=0.01)


def test_margin_follows_overrides(rules):
    r = load_rules(overrides=[{
        "rule_id": "X1", "layer_a": "housing_sites", "layer_b": "natura2000",
        "kind": "within_distance", "distance_m": 500, "severity": "laag",
        "description_nl": "Woningbouw binnen 500 m van Natura 2000",
    }])
    assert constraint_margin_m(r) == 500.0
    assert constraint_margin_m(only(rules, "R01")) == 0.0


# ----------------------------------------------------------------------------------------------
# outputs: summary and matrix
# ----------------------------------------------------------------------------------------------


def test_summary_and_matrix(rules):
    # h1 overlaps industry i1 (30 m shift: 7000 m2) and lies 50 m from a 380 kV line;
    # h2 overlaps i1 by 10 m x 100 m = 1000 m2 (share 0.1 >= 0.01); h3 is far from everything.
    housing = layer(
        ["h1", "h2", "h3"],
        [sq(0, 0, 100), sq(220, 0, 100), sq(5000, 5000, 100)],
    )
    housing.index = [10, 20, 30]  # summary must align to the caller's index
    industry = layer(["i1"], [sq(30, 0, 200, 100)])  # x 30..230
    hv = layer(["l1"], [LineString([(X0 - 50, Y0 - 100), (X0 - 50, Y0 + 200)])], voltage_kv=[380.0])
    res = compute_conflicts(
        {"housing_sites": housing, "industrial_zones": industry, "hv_lines": hv},
        only(rules, "R01", "R11"),
    )
    # h1 x i1: x 30..100 -> 70 x 100 = 7000; h2 x i1: x 220..230 -> 10 x 100 = 1000
    assert res.conflicts["conflict_id"].tolist() == ["R01:h1:i1", "R01:h2:i1", "R11:h1:l1"]
    assert res.conflicts["area_m2"].iloc[:2].tolist() == pytest.approx([7000.0, 1000.0])
    s = res.summary["housing_sites"]
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert s.index.tolist() == [10, 20, 30]
    assert s["n_conflicts"].tolist() == [2, 1, 0]
    assert s["rule_ids"].tolist() == ["R01,R11", "R01", ""]
    assert s["worst_severity_rank"].tolist() == [3, 3, 0]
    assert s["worst_severity"].iloc[:2].tolist() == ["hoog", "hoog"]
    assert pd.isna(s["worst_severity"].iloc[2])
    assert res.summary["industrial_zones"]["n_conflicts"].tolist() == [2]
    m = res.matrix
    assert list(m.columns) == list(MATRIX_COLUMNS)
    rows = {(a, b): (nr, nc, area) for a, b, nr, nc, area in m.itertuples(index=False)}
    assert rows[("housing_sites", "industrial_zones")] == (1, 2, pytest.approx(8000.0))
    assert rows[("housing_sites", "hv_lines")] == (1, 1, 0.0)


def test_absent_and_empty_layers(rules):
    housing = layer(["h1"], [sq(0, 0, 100)])
    natura = layer([], [])
    res = compute_conflicts({"housing_sites": housing, "natura2000": natura}, only(rules, "R01", "R10"))
    assert res.conflicts.empty
    assert list(res.conflicts.columns) == list(CONFLICT_COLUMNS)
    assert res.rules_run == ("R10",)
    assert any("rule R01 skipped" in n.message for n in res.notices)
    assert res.summary["natura2000"].empty


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------


def test_bowtie_repaired_and_reported(rules):
    # bowtie (0,0)-(100,100)-(100,0)-(0,100): make_valid gives two triangles meeting at (50,50),
    # each 100 * 50 / 2 = 2500 m2, 5000 m2 in all. The industrial zone x 0..50 holds exactly the
    # left triangle: shared 2500.00 m2, share_a = 2500/5000 = 0.5, share_b = 2500/(50*100) = 0.5
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    assert not bowtie.is_valid
    housing = layer(["bow"], [bowtie])
    industry = layer(["i1"], [sq(0, 0, 50, 100)])
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, only(rules, "R01"))
    row = res.conflicts.iloc[0]
    assert row["area_m2"] == pytest.approx(2500.00, abs=0.01)
    assert row["share_a"] == pytest.approx(0.5)
    assert row["share_b"] == pytest.approx(0.5)
    notes = [n for n in res.notices if n.feature == "bow"]
    assert len(notes) == 1
    assert "Self-intersection" in notes[0].message and "repaired" in notes[0].message
    assert "5000.00 m2" in notes[0].message


def test_invalid_geometry_never_raises_geos_error(rules):
    # a ring with a spike and a duplicate-point bowtie, in a layer with a point: no GEOS exception
    spike = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100), (X0 + 50, Y0 + 100),
                     (X0 + 50, Y0 + 200), (X0 + 50, Y0 + 100), (X0, Y0 + 100)])
    gen = layer(["spike", "pt"], [spike, Point(X0 + 10, Y0 + 10)])
    housing = layer(["h1"], [sq(50, 0, 100)])
    res = compute_conflicts({"generation": gen, "housing_sites": housing}, only(rules, "R02"))
    # the spike repairs to the 100 x 100 square; shared with x 50..150: 50 x 100 = 5000 m2
    assert res.conflicts["area_m2"].tolist() == pytest.approx([5000.0])
    assert any(n.feature == "spike" for n in res.notices)
    # the point has no area: it is left out of the overlap rule with an info notice
    assert any("not polygons" in n.message for n in res.notices)


def test_layer_in_other_crs_is_reprojected(rules):
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["i1"], [sq(30, 0, 100)]).to_crs("EPSG:4326")
    res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, only(rules, "R01"))
    # 7000 m2 as in the first test; the RD -> WGS84 -> RD round trip moves vertices by well under
    # a millimetre (measured ~0.4 mm), i.e. < 100 m * 0.001 m = 0.1 m2 along the 100 m edges
    assert res.conflicts["area_m2"].iloc[0] == pytest.approx(7000.0, abs=0.1)
    assert any("reprojected from EPSG:4326" in n.message for n in res.notices)


def test_layer_without_crs_is_an_error(rules):
    housing = layer(["h1"], [sq(0, 0, 100)])
    industry = layer(["i1"], [sq(30, 0, 100)], crs=None)
    with pytest.raises(CRSError, match="industrial_zones: the layer has no CRS"):
        compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, only(rules, "R01"))


def test_geographic_working_crs_is_an_error(rules):
    with pytest.raises(CRSError, match="projected in metres"):
        compute_conflicts({}, rules, crs="EPSG:4326")


def test_rules_are_required_the_engine_reads_no_table():
    housing = layer(["h1"], [sq(0, 0, 100)])
    with pytest.raises(TypeError):
        compute_conflicts({"housing_sites": housing})  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="rules must be a RuleSet.*load_rules"):
        compute_conflicts({"housing_sites": housing}, None)  # type: ignore[arg-type]


def test_duplicate_ids_are_an_error(rules):
    housing = layer(["h1", "h1"], [sq(0, 0, 100), sq(300, 0, 100)])
    with pytest.raises(LayerValidationError, match="housing_sites, feature h1, field 'id'"):
        compute_conflicts({"housing_sites": housing}, rules)


def test_rule_with_unknown_layer_names_the_rule(rules, tmp_path):
    from spatialprog.kinds import LAYER_KINDS

    known = set(LAYER_KINDS) | {"natura2000"}
    typo = {"rule_id": "X9", "layer_a": "housing_sites", "layer_b": "natura", "kind": "inside",
            "severity": "hoog", "description_nl": "typfout"}
    with pytest.raises(ConflictRuleError, match=r"rule X9: layer_b 'natura' is not a known layer"):
        load_rules(overrides=[typo], known_layers=known)
    bad = RuleSet((Rule("X8", "housing_sites", "wetlands", "overlap", "laag", "x"),))
    housing = layer(["h1"], [sq(0, 0, 100)])
    with pytest.raises(ConflictRuleError, match="rule X8: layer_b 'wetlands'"):
        compute_conflicts({"housing_sites": housing}, bad, known_layers=known)
    # the input edge checks the names with the project's layers: a typo in the project file is one line
    import shutil

    from spatialprog.pipeline import read_plan

    d = tmp_path / "p"
    shutil.copytree("layers", d)
    toml = (d / "example_region.toml").read_text(encoding="utf-8").replace(
        '{ rule_id = "R07", severity = "laag" },',
        '{ rule_id = "R07", severity = "laag" },\n  { rule_id = "X9", layer_a = "housing_sites", layer_b = "natura", '
        'kind = "inside", severity = "hoog", description_nl = "typfout" },')
    (d / "example_region.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConflictRuleError, match=r"rule X9: layer_b 'natura' is not a known layer"):
        read_plan(d / "example_region.toml")
    # a project-declared constraint layer is known: absent in this run -> skipped, no error
    res = compute_conflicts({"housing_sites": housing}, bad, known_layers=["wetlands"])
    assert res.rules_run == () and len(res.notices) == 1


def test_negative_distance_names_the_rule():
    with pytest.raises(ConflictRuleError, match=r"rule R12: distance_m is -5.0"):
        load_rules(overrides=[{"rule_id": "R12", "distance_lookup": "", "lookup_attribute": "",
                               "distance_m": -5}])
    with pytest.raises(ValueError, match="distance must be >= 0"):
        pairs_within_distance(np.array([Point(0, 0)]), np.array([Point(1, 1)]), -1.0)


def test_malformed_rules_are_all_reported():
    with pytest.raises(ConflictRuleError) as info:
        load_rules(overrides=[
            {"rule_id": "R01", "kind": "touching"},
            {"rule_id": "R02", "severity": "extreem"},
            {"rule_id": "R11", "distance_lookup": "no_such_lookup"},
            {"rule_id": "R12", "lookup_attribute": "capacity_kv"},
        ])
    msg = str(info.value)
    for needle in ("rule R01: kind 'touching'", "rule R02: severity 'extreem'",
                   "rule R11: distance_lookup 'no_such_lookup'", "rule R12: lookup 'vng_substation_distance' "
                   "is keyed in mva"):
        assert needle in msg
    assert len(info.value.problems) == 4


def test_unknown_override_column_and_rule_without_fields():
    with pytest.raises(ConflictRuleError, match="unknown column"):
        load_rules(overrides=[{"rule_id": "R01", "severity_level": "hoog"}])
    with pytest.raises(ConflictRuleError, match="rule N1: missing layer_a, layer_b"):
        load_rules(overrides=[{"rule_id": "N1", "kind": "overlap", "severity": "laag",
                               "description_nl": "x"}])


def test_bundled_rules_and_overrides():
    rules = load_rules()
    frame = rules.to_frame()
    assert frame["rule_id"].is_unique
    from spatialprog.kinds import LAYER_KINDS

    assert set(frame["layer_a"]) | set(frame["layer_b"]) <= set(LAYER_KINDS) | {"natura2000"}
    assert frame["description_nl"].str.len().min() > 10
    assert (frame["source"].str.len() > 0).all()
    off = load_rules(overrides=[{"rule_id": "R05", "enabled": False}, {"rule_id": "R12", "severity": "hoog"}])
    assert "R05" not in [r.rule_id for r in off.enabled]
    assert off.get("R12").severity == "hoog" and off.get("R12").distance_lookup == "vng_substation_distance"
    with pytest.raises(ConflictRuleError, match="rule R99: no such rule"):
        rules.get("R99")


def test_rules_table_from_path(tmp_path):
    src = Path(__file__).resolve().parents[1] / "data" / "conflict_rules.csv"
    text = src.read_text(encoding="utf-8").splitlines()
    (tmp_path / "rules.csv").write_text("\n".join(text[:2]) + "\n", encoding="utf-8")
    assert [r.rule_id for r in load_rules(tmp_path / "rules.csv")] == ["R01"]
    with pytest.raises(ConflictRuleError, match="rules table not found"):
        load_rules(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------


@st.composite
def square_layers(draw):
    """Two layers of squares on a 10 m grid (so overlaps, touches and gaps all occur)."""
    def squares(prefix):
        n = draw(st.integers(1, 12))
        out = []
        for i in range(n):
            x, y = draw(st.integers(0, 30)), draw(st.integers(0, 30))
            w = draw(st.integers(1, 8))
            out.append((f"{prefix}{i}", sq(10 * x, 10 * y, 10 * w)))
        return out
    return squares("h"), squares("i")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(square_layers(), st.randoms(use_true_random=False))
def test_shuffling_rows_gives_the_same_conflicts(data, rnd):
    rules = RuleSet((
        Rule("P1", "housing_sites", "industrial_zones", "overlap", "hoog", "x"),
        Rule("P2", "housing_sites", "industrial_zones", "within_distance", "laag", "x", distance_m=25.0),
    ))
    h, i = data

    def run(hh, ii):
        res = compute_conflicts({"housing_sites": layer([k for k, _ in hh], [g for _, g in hh]),
                                 "industrial_zones": layer([k for k, _ in ii], [g for _, g in ii])},
                                rules, threads=1)
        c = res.conflicts.drop(columns="geometry").reset_index(drop=True)
        s = res.summary["housing_sites"].set_index("id").sort_index()
        return c, s, res.conflicts.geometry.to_wkb()

    base_c, base_s, base_g = run(h, i)
    hs, is_ = list(h), list(i)
    rnd.shuffle(hs)
    rnd.shuffle(is_)
    c, s, g = run(hs, is_)
    pd.testing.assert_frame_equal(base_c, c)
    pd.testing.assert_frame_equal(base_s, s)
    # overlap polygons may start their ring elsewhere, but cover the same ground
    assert all(shapely.equals(shapely.from_wkb(x), shapely.from_wkb(y)) for x, y in zip(base_g, g, strict=True))


geoms_strategy = st.lists(
    st.one_of(
        st.builds(lambda x, y, w, h: box(x, y, x + w, y + h), st.floats(0, 500), st.floats(0, 500),
                  st.floats(1, 80), st.floats(1, 80)),
        st.builds(lambda x, y: Point(x, y), st.floats(0, 500), st.floats(0, 500)),
        st.builds(lambda x, y, dx, dy: LineString([(x, y), (x + dx, y + dy)]), st.floats(0, 500),
                  st.floats(0, 500), st.floats(-100, 100), st.floats(1, 100)),
        st.builds(lambda x, y, r: Point(x, y).buffer(r, quad_segs=3), st.floats(0, 500),
                  st.floats(0, 500), st.floats(1, 60)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(geoms_strategy, geoms_strategy, st.lists(st.floats(0, 150), min_size=25, max_size=25))
def test_pairs_within_distance_matches_brute_force(a, b, dists):
    # the bounding-box and sampled-vertex shortcuts must agree with GEOS on every pair
    a, b = np.array(a, dtype=object), np.array(b, dtype=object)
    d = np.array(dists[: len(b)])
    full = shapely.distance(a[:, None], b[None, :])
    expected = {(i, j) for i, j in zip(*np.nonzero(full <= d[None, :]), strict=True)}
    for with_distance in (False, True):
        res = pairs_within_distance(a, b, d, with_distance=with_distance, threads=1)
        assert set(zip(res.index_a.tolist(), res.index_b.tolist(), strict=True)) == expected
        if with_distance:
            assert res.dist_m == pytest.approx(full[res.index_a, res.index_b])


@settings(max_examples=40, deadline=None)
@given(geoms_strategy, geoms_strategy)
def test_overlap_pairs_matches_brute_force(a, b):
    a = np.array([g for g in a if g.geom_type == "Polygon"] or [box(0, 0, 1, 1)], dtype=object)
    b = np.array([g for g in b if g.geom_type == "Polygon"] or [box(0, 0, 1, 1)], dtype=object)
    area = shapely.area(shapely.intersection(a[:, None], b[None, :]))
    expected = {(i, j) for i, j in zip(*np.nonzero(area > TOUCH_TOLERANCE_M2), strict=True)}
    res = overlap_pairs(a, b, threads=1)
    assert set(zip(res.index_a.tolist(), res.index_b.tolist(), strict=True)) == expected
    assert res.area_m2 == pytest.approx(area[res.index_a, res.index_b])


def test_threads_give_the_same_answer():
    # enough features to take the threaded path (>= 4096 items per call)
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 20_000, (6000, 2))
    a = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + 60, xy[:, 1] + 40)
    xy2 = rng.uniform(0, 20_000, (6000, 2))
    b = shapely.box(xy2[:, 0], xy2[:, 1], xy2[:, 0] + 50, xy2[:, 1] + 70)
    one, two = (pairs_within_distance(a, b, 120.0, threads=t) for t in (1, 2))
    assert len(one.index_a) > 1000
    for x, y in itertools.pairwise((one, two)):
        np.testing.assert_array_equal(x.index_a, y.index_a)
        np.testing.assert_array_equal(x.index_b, y.index_b)
    o1, o2 = (overlap_pairs(a, b, threads=t) for t in (1, 2))
    assert len(o1.index_a) > 10
    np.testing.assert_array_equal(o1.area_m2, o2.area_m2)


# ----------------------------------------------------------------------------------------------
# real data
# ----------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.skipif(not NATURA.exists(), reason="../shared/realdata not present")
def test_substation_reserve_in_real_natura2000(rules):
    natura = gpd.read_file(NATURA, engine="pyogrio")  # EPSG:4326, mixed Polygon/MultiPolygon
    natura = natura.rename(columns={"sitecode": "id"})[["id", "naam", "geometry"]]
    site = natura[natura["naam"] == "Aamsveen"].to_crs(WORKING_CRS).geometry.iloc[0]
    p = shapely.point_on_surface(site)
    # a 40 x 50 m reserve (2000 m2) around a point inside Aamsveen, and one 5 km north of it
    inside = box(p.x - 20, p.y - 25, p.x + 20, p.y + 25)
    assert site.contains(inside)
    far = box(p.x - 20, p.y + 5000, p.x + 20, p.y + 5050)
    reserves = layer(["in", "far"], [inside, far])
    res = compute_conflicts({"substation_reserves": reserves, "natura2000": natura}, only(rules, "R08"))
    assert any("reprojected from EPSG:4326" in n.message for n in res.notices)
    hits = res.conflicts[res.conflicts["id_a"] == "in"]
    assert hits["id_b"].tolist() == ["NL2003001"]
    # wholly inside: the part inside is the whole 40 x 50 = 2000.00 m2 reserve, share_a 1.0
    assert hits["area_m2"].iloc[0] == pytest.approx(2000.00, abs=0.01)
    assert hits["share_a"].iloc[0] == pytest.approx(1.0)
    assert "far" not in set(res.conflicts["id_a"])  # no Natura 2000 area 5 km north of it


def test_layers_no_rule_uses_are_not_touched(rules):
    # a layer no rule refers to is neither validated nor summarised (here: it has no id column)
    housing = layer(["h1"], [sq(0, 0, 100)])
    other = gpd.GeoDataFrame({"name": ["x"]}, geometry=[sq(0, 0, 10)], crs=WORKING_CRS)
    res = compute_conflicts({"housing_sites": housing, "demand_points": other}, only(rules, "R01"))
    assert set(res.summary) == {"housing_sites"}
    with pytest.raises(LayerValidationError, match="industrial_zones, field 'id': no 'id' column"):
        compute_conflicts({"housing_sites": housing, "industrial_zones": other}, only(rules, "R01"))
