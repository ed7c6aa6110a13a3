"""Two planning cycles compared: sites, headroom, ranks, programme; the diff and rank commands."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from shapely.geometry import box

from spatialprog.cli import cli
from spatialprog.diff import diff_runs
from spatialprog.outputs import RunOutputs
from spatialprog.ranking import rank_run
from tests._rank_project import make_project, run_tiny

X0, Y0 = 150_000.0, 450_000.0


def _outputs(result):
    o = RunOutputs.from_result(result)
    rank_run(result).attach(o)
    return o


def test_diff_of_two_cycles(tmp_path):
    old = _outputs(run_tiny(tmp_path / "old"))
    new_site = {"id": "HC", "name": "Site C", "dwellings": 3000, "delivery_start_year": 2026,
                "delivery_end_year": 2026, "heating": "all_electric", "ev_share": 0.0, "priority_category": None,
                "geometry": box(X0 + 2200, Y0 + 200, X0 + 2400, Y0 + 400)}
    new = _outputs(run_tiny(tmp_path / "new", housing_extra=[new_site], housing_drop=("HA",),
                            housing_changes={"HB": {"dwellings": 2000}}))
    d = diff_runs(old, new)
    s = d.sites.set_index("site_id")
    assert s.loc["HC", "change"] == "added" and s.loc["HA", "change"] == "removed"
    assert s.loc["HB", "change"] == "changed" and s.loc["HB", "fields"] == "dwellings"
    assert "dwellings: 4000 -> 2000" in s.loc["HB", "detail"]
    h = d.headroom.set_index(["substation_id", "variant", "year", "direction"])
    # A loses its 3.5 MW site (from 2027); C gains 10.5 MW (3000 x 3.5 kW, from 2026); B loses 7 MW (from 2030)
    assert h.loc[("A", "basis", 2027, "offtake"), "delta_mw"] == 3.5
    assert round(h.loc[("C", "basis", 2026, "offtake"), "delta_mw"], 6) == -10.5
    assert round(h.loc[("B", "basis", 2030, "offtake"), "delta_mw"], 6) == 7.0
    assert ("A", "basis", 2025, "offtake") not in h.index  # unchanged years are left out
    sf = d.shortfall.set_index(["substation_id", "variant", "direction"])
    assert str(sf.loc[("A", "basis", "offtake"), "first_shortfall_year_old"]) == "2027"
    assert pd.isna(sf.loc[("A", "basis", "offtake"), "first_shortfall_year_new"])  # A no longer runs short
    assert "sites: 1 added, 1 removed, 1 changed" in d.summary
    assert "first shortfall moved" in d.summary
    assert len(d.programme) and "A" in set(d.programme["substation_id"])


def test_diff_and_rank_commands(tmp_path):
    make_project(tmp_path / "p1")
    make_project(tmp_path / "p2", housing_changes={"HB": {"dwellings": 6000}})
    runner = CliRunner()
    for p in ("p1", "p2"):
        res = runner.invoke(cli, ["run", str(tmp_path / p / "tiny.toml"), "--out", str(tmp_path / f"out-{p}"),
                                  "--no-maps", "--no-qgis"], obj={})  # the diff reads the tables only
        assert res.exit_code == 0, res.output
        assert (tmp_path / f"out-{p}" / "programme.csv").is_file()
    res = runner.invoke(cli, ["diff", str(tmp_path / "out-p1"), str(tmp_path / "out-p2"), "--out",
                              str(tmp_path / "diff")], obj={})
    assert res.exit_code == 0, res.output
    assert "sites: 0 added, 0 removed, 1 changed" in res.output
    assert (tmp_path / "diff" / "diff_summary.txt").is_file()
    res = runner.invoke(cli, ["rank", str(tmp_path / "p1" / "tiny.toml"), "--out", str(tmp_path / "rank")], obj={})
    assert res.exit_code == 0, res.output
    assert "Programme of interventions" in res.output
    res = runner.invoke(cli, ["diff", str(tmp_path / "p1"), str(tmp_path / "out-p2")], obj={})
    assert res.exit_code == 2 and "not the output folder of a run" in res.output


def test_rank_command_reports_bad_weights(tmp_path):
    make_project(tmp_path / "p", ranking="weights = { urgency_years = -1 }")
    res = CliRunner().invoke(cli, ["rank", str(tmp_path / "p" / "tiny.toml"), "--out", str(tmp_path / "o")], obj={})
    assert res.exit_code == 2
    assert "negative weight -1" in res.output


def test_the_diff_says_what_changed_in_the_inputs_and_writes_a_geopackage_and_a_map(tmp_path):
    """Cycle 2: growth 0 -> 1 %/year, a reinforcement at B, a weight, and a changed site: each named in the diff."""
    import pyogrio

    from tests._rank_project import PROJECT

    make_project(tmp_path / "p1")
    make_project(tmp_path / "p2", housing_changes={"HB": {"dwellings": 3000}})
    text = PROJECT.replace('"growth.offtake_pct_per_year" = 0.0', '"growth.offtake_pct_per_year" = 1.0')
    text += ('\n[[reinforcements]]\nsubstation = "B"\nyear = 2031\nadded_mva = 20\n'
             '\n[ranking]\nweights = { urgency_years = 0.4 }\n')
    (tmp_path / "p2" / "tiny.toml").write_text(text, encoding="utf-8")
    runner = CliRunner()
    for p in ("p1", "p2"):
        res = runner.invoke(cli, ["run", str(tmp_path / p / "tiny.toml"), "--out", str(tmp_path / f"out-{p}"),
                                  "--no-maps", "--no-qgis"], obj={})
        assert res.exit_code == 0, res.output
    d = diff_runs(RunOutputs.read(tmp_path / "out-p1"), RunOutputs.read(tmp_path / "out-p2"))
    i = d.inputs.set_index(["what", "variant", "key"])
    assert i.loc[("parameter", "basis", "growth.offtake_pct_per_year"), ["old", "new", "change"]].tolist() == \
        ["0", "1", "changed"]
    assert i.loc[("parameter", "krap", "growth.offtake_pct_per_year"), "new"] == "1"
    assert i.loc[("reinforcement", "", "B both 2031"), ["old", "new", "change"]].tolist() == ["", "20", "added"]
    w = i.loc[("weight", "basis", "urgency_years")]
    assert w["new"] == "0.4" and w["change"] == "changed"
    layers = d.inputs[d.inputs["what"] == "layer"]
    assert set(layers["key"]) == {"project", "layers.housing_sites"}  # the other layers' checksums are the same
    assert "features" in layers.set_index("key").loc["layers.housing_sites", "new"]
    assert "inputs, parameters (2 changed): basis: growth.offtake_pct_per_year 0 -> 1" in d.summary
    assert "inputs, reinforcements (1 changed): B both 2031 added" in d.summary
    # the same diff of the same runs: the inputs are unchanged
    same = diff_runs(RunOutputs.read(tmp_path / "out-p1"), RunOutputs.read(tmp_path / "out-p1"))
    assert not len(same.inputs) and "inputs: unchanged" in same.summary
    # written: the tables, a GeoPackage for QGIS and a map; the same inputs give the same bytes
    res = runner.invoke(cli, ["diff", str(tmp_path / "out-p1"), str(tmp_path / "out-p2"), "--out",
                              str(tmp_path / "diff")], obj={})
    assert res.exit_code == 0, res.output
    out = tmp_path / "diff"
    assert {"diff_inputs.csv", "diff.gpkg", "diff_kaart.png"} <= {p.name for p in out.iterdir()}
    names = {n for n, _ in pyogrio.list_layers(out / "diff.gpkg")}
    assert {"diff_sites", "diff_substations", "service_areas"} <= names
    subs = pyogrio.read_dataframe(out / "diff.gpkg", layer="diff_substations").set_index("id")
    # B loses headroom from growth but gains 20 MVA from 2031: both, so 'mixed'; HB is smaller (3000 dwellings)
    assert subs.loc["B", "change"] == "mixed" and subs.loc["C", "change"] == "worse"
    sites = pyogrio.read_dataframe(out / "diff.gpkg", layer="diff_sites")
    assert sites[["site_id", "change"]].values.tolist() == [["HB", "changed"]]
    again = tmp_path / "diff2"
    runner.invoke(cli, ["diff", str(tmp_path / "out-p1"), str(tmp_path / "out-p2"), "--out", str(again)], obj={})
    for f in ("diff.gpkg", "diff_kaart.png", "diff_inputs.csv"):
        assert (out / f).read_bytes() == (again / f).read_bytes(), f
