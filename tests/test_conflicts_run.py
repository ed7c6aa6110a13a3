"""Land-claim conflicts inside the run: project file, constraint layers across the border, outputs, CLI."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, box

from spatialprog.cli import cli
from spatialprog.errors import ConflictRuleError, ProjectError
from spatialprog.pipeline import compute, land_claim_conflicts, read_plan

from .conftest import write_tiny_project

X0, Y0 = 150_000.0, 450_000.0


def test_example_region_conflicts_in_the_run(example_result):
    c = example_result.conflicts
    assert c is not None, "the example's run computes its land-claim conflicts ([conflicts] enabled)"
    rules = set(c.conflicts["rule_id"])
    assert {"R01", "R03", "R08", "R11"} <= rules
    # RES03 (120 x 150 m = 18,000 m2) reaches 50 m x 120 m = 6,000 m2 into the fictional floodplain (y >= 441,750)
    r08 = c.conflicts[c.conflicts.rule_id == "R08"].iloc[0]
    assert r08["area_m2"] == pytest.approx(6000.0, abs=0.01) and r08["share_a"] == pytest.approx(1 / 3)
    # the 380 kV line runs 60 m east of WB053's bounding box: inside its 120 m zone
    r11 = c.conflicts[(c.conflicts.rule_id == "R11") & (c.conflicts.id_b == "HS380-01")]
    assert "WB053" in set(r11["id_a"]) and (r11["dist_m"] <= 120).all()


def test_run_outputs_carry_conflicts(example_run):
    out = example_run.out
    names = {n for n, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert {"conflicts_areas", "conflicts_points", "conflicts_lines", "substation_reserves", "hv_lines"} <= names
    h = pyogrio.read_dataframe(out / "results.gpkg", layer="housing_sites").set_index("id")
    assert h.loc["WB053", "n_conflicts"] == 2 and h.loc["WB053", "worst_severity"] == "hoog"
    assert h.loc["WB053", "conflict_rules"] == "R03,R11"
    assert (h["n_conflicts"] >= 0).all()
    m = pd.read_csv(out / "conflict_matrix.csv")
    assert m.set_index(["layer_a", "layer_b"]).loc[("substation_reserves", "natura2000"), "area_m2"] == 6000
    assert len(pd.read_csv(out / "conflicts.csv")) == len(pd.concat(
        [pyogrio.read_dataframe(out / "results.gpkg", layer=n) for n in names if n.startswith("conflicts_")]))


def _cross_border_project(tmp_path, line_y: float, crs_of_lines: str = "EPSG:28992", extra: str = ""):
    """Region = box x 0..2000, y 0..1000 (offset); housing H1 touches its northern edge; a 150 kV line
    runs 50 m north of the region, outside it: its 80 m zone (distance_lookups.csv) reaches 30 m in."""
    housing = gpd.GeoDataFrame({"id": ["H1"], "dwellings": [10], "delivery_start_year": [2026],
                                "heating": ["gas"]}, geometry=[box(X0 + 100, Y0 + 900, X0 + 300, Y0 + 1000)],
                               crs="EPSG:28992")
    toml = write_tiny_project(tmp_path, housing=housing, extra=extra)
    bounds = gpd.GeoDataFrame({"id": ["R"]}, geometry=[box(X0, Y0, X0 + 2000, Y0 + 1000)], crs="EPSG:28992")
    bounds.to_file(tmp_path / "tiny.gpkg", layer="bounds", driver="GPKG")
    line = gpd.GeoDataFrame({"id": ["L1"], "voltage_kv": [150.0]},
                            geometry=[LineString([(X0 - 5000, Y0 + line_y), (X0 + 7000, Y0 + line_y)])],
                            crs="EPSG:28992").to_crs(crs_of_lines)
    line.to_file(tmp_path / "lines.geojson", driver="GeoJSON")
    text = toml.read_text() + """
[layers.boundaries]
path = "tiny.gpkg"
layer = "bounds"

[layers.hv_lines]
path = "lines.geojson"
"""
    toml.write_text(text)
    return toml


def test_line_outside_the_region_whose_zone_reaches_in_counts(tmp_path):
    toml = _cross_border_project(tmp_path, line_y=1050.0, crs_of_lines="EPSG:4326")
    plan = read_plan(toml)
    assert len(plan.layers["hv_lines"]) == 1  # read although it lies outside the region (margin)
    c = land_claim_conflicts(plan)
    r = c.conflicts[c.conflicts.rule_id == "R11"]
    assert r["id_a"].tolist() == ["H1"]
    assert r["dist_m"].iloc[0] == pytest.approx(50.0, abs=0.01)  # reprojected from WGS84 and back: ~exact


def test_line_beyond_the_zone_is_no_conflict(tmp_path):
    toml = _cross_border_project(tmp_path, line_y=1081.0)  # 81 m > 80 m zone of 150 kV
    c = land_claim_conflicts(read_plan(toml))
    assert c.conflicts[c.conflicts.rule_id == "R11"].empty


def test_constraint_layer_from_project_file(tmp_path):
    toml = _cross_border_project(tmp_path, line_y=5000.0)
    water = gpd.GeoDataFrame({"naam": ["Plas"]}, geometry=[box(X0 + 200, Y0 + 900, X0 + 400, Y0 + 1200)],
                             crs="EPSG:28992")
    water.to_file(tmp_path / "water.gpkg", driver="GPKG")
    toml.write_text(toml.read_text() + """
[constraints.water]
path = "water.gpkg"

[[conflicts.overrides]]
rule_id = "W1"
layer_a = "housing_sites"
layer_b = "water"
kind = "overlap"
min_area_m2 = 1
severity = "hoog"
description_nl = "Woningbouw in open water"
source = "test"
""")
    plan = read_plan(toml)
    assert plan.constraints["water"]["id"].tolist() == ["water-1"]  # numbered: the file has no id column
    c = compute(plan).conflicts
    w = c.conflicts[c.conflicts.rule_id == "W1"]
    # H1 x 150,100..150,300 / y 450,900..451,000 and water x 150,200..150,400: 100 x 100 = 10,000 m2, half of H1
    assert w["area_m2"].tolist() == pytest.approx([10_000.0]) and w["share_a"].tolist() == pytest.approx([0.5])


def test_bad_rules_are_clear_errors(tmp_path):
    toml = _cross_border_project(tmp_path, line_y=5000.0, extra="""
[[conflicts.overrides]]
rule_id = "X1"
layer_a = "housing_sites"
layer_b = "rivers"
kind = "overlap"
severity = "hoog"
description_nl = "x"
source = "t"
""")
    with pytest.raises(ConflictRuleError, match="X1"):
        read_plan(toml)
    toml = _cross_border_project(tmp_path, line_y=5000.0, extra="""
[conflicts]
overrides = [{ rule_id = "R12", distance_lookup = "", lookup_attribute = "", distance_m = -5 }]
""")
    with pytest.raises(ConflictRuleError, match=r"^rule R12: distance_m is -5.0; a distance must be a number >= 0"):
        land_claim_conflicts(read_plan(toml))


def test_constraint_named_like_a_layer_kind(tmp_path):
    toml = _cross_border_project(tmp_path, line_y=5000.0, extra='[constraints.housing_sites]\npath = "x.gpkg"\n')
    with pytest.raises(ProjectError, match="constraints.housing_sites"):
        read_plan(toml)


def test_conflicts_command(tmp_path):
    r = CliRunner().invoke(cli, ["conflicts", "layers/example_region.toml", "--out", str(tmp_path / "c")], obj={})
    assert r.exit_code == 0, r.output
    assert "Land-claim conflicts: 10 in 7 pairs of layers" in r.output
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"conflicts.gpkg", "conflicts.csv", "conflict_matrix.csv",
                                                     "manifest.json"}


def test_conflicts_found_beside_the_demand_are_the_same(example_result, monkeypatch):
    """A large plan's conflicts are found in a forked process while the demand is computed: the same conflicts,
    matrix and notices as found here (the example, made to count as large)."""
    import spatialprog.pipeline as P
    from spatialprog.processes import can_fork

    if not can_fork():
        pytest.skip("this machine cannot fork (one core, or no fork start method): nothing runs beside")
    monkeypatch.setattr(P, "CONFLICTS_BESIDE_FEATURES", 0)
    steps: list[str] = []
    r = compute(example_result.plan, progress=steps.append)
    assert "land-claim conflicts, beside the demand" in steps
    pd.testing.assert_frame_equal(r.conflicts.conflicts, example_result.conflicts.conflicts, check_exact=True)
    pd.testing.assert_frame_equal(r.conflicts.matrix, example_result.conflicts.matrix, check_exact=True)
    assert [(n.level, n.layer, n.feature, n.message) for n in r.notices] == \
        [(n.level, n.layer, n.feature, n.message) for n in example_result.notices]
