"""End-to-end CLI runs: outputs, exit codes, one-line errors, atomic outputs, determinism."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from spatialprog.cli import cli

from .conftest import ROOT, write_tiny_project


def invoke(*args):
    return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)


def test_run_writes_every_output(example_run):
    out, output = example_run.out, example_run.output
    names = {p.name for p in out.iterdir()}
    assert {"results.gpkg", "headroom.csv", "headroom.xlsx", "demand.csv", "assignment.csv", "shortfall.csv",
            "notices.csv", "manifest.json"} <= names
    assert not [n for n in names if n.startswith(".staging")]
    layers = {n for n, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert {"substations", "service_areas", "housing_sites", "industrial_zones", "charging_hubs", "heat_networks",
            "generation", "assignment"} <= layers
    h = pd.read_csv(out / "headroom.csv")
    assert list(h.columns[:4]) == ["substation_id", "variant", "year", "direction"]
    electricity = h[h["carrier"] == "electricity"]
    assert len(electricity) == 12 * 16 * 2 * 3  # substations x years x directions x variants
    assert set(h["carrier"]) == {"electricity", "hydrogen", "heat", "gas"}  # and the other carriers' nodes
    x = pd.read_excel(out / "headroom.xlsx", sheet_name=None)
    assert set(x) == {"Netruimte", "Tekorten", "Parameters", "Toelichting"} and len(x["Netruimte"]) == len(h)
    assert "Least offtake headroom" in output and "OS10" in output


def test_manifest_has_checksums_parameters_versions(example_run):
    m = json.loads((example_run.out / "manifest.json").read_text())
    assert m["fictional_data"] is True
    assert {i["role"] for i in m["inputs"]} >= {"project", "layers.substations", "layers.housing_sites"}
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    p = {row["key"]: row for row in m["parameters"]["hoog"]}
    assert p["demand.ev_share_default"]["value"] == 0.7 and p["demand.ev_share_default"]["origin"] == "variant hoog"
    assert p["demand.ev_kw_per_ev"]["source"].startswith("VITO")
    assert {"geopandas", "shapely", "gdal", "pyproj", "spatialprog"} <= set(m["versions"])


def test_same_inputs_same_outputs(example_run, example_run_bare):
    """A second run (without maps and QGIS export, which do not feed the tables) gives every table byte for byte."""
    tables = sorted(p.name for p in example_run.out.glob("*.csv"))
    assert {"headroom.csv", "demand.csv", "assignment.csv", "shortfall.csv", "programme.csv"} <= set(tables)
    assert sorted(p.name for p in example_run_bare.out.glob("*.csv")) == tables
    for name in tables:
        assert (example_run.out / name).read_bytes() == (example_run_bare.out / name).read_bytes(), name


def test_validate_ok():
    r = invoke("validate", "layers/example_region.toml")
    assert r.exit_code == 0 and "valid:" in r.output


@pytest.mark.parametrize("cmd", [[], ["run"], ["validate"]])
def test_help_with_examples(cmd):
    r = invoke(*cmd, "--help")
    assert r.exit_code == 0 and "Example" in r.output


def run_cli(*args, cwd=None):
    """``python -m spatialprog ARGS`` in a process of its own: what a user sees (``invoke`` runs in this one)."""
    return subprocess.run([sys.executable, "-m", "spatialprog", *args], capture_output=True, text=True, cwd=cwd)


def test_user_error_is_one_line_exit_2_and_nothing_written(tmp_path, tiny_housing):
    bad = tiny_housing.copy()
    bad.loc[1, "dwellings"] = -40
    toml = write_tiny_project(tmp_path, housing=bad)
    out = tmp_path / "out"
    p = run_cli("run", str(toml), "--out", str(out))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == ["error: layers.housing_sites, feature H2, field 'dwellings': value -40 is below the minimum 0 - "
                     "dwellings must be >= 0"]
    assert not out.exists()  # the project is checked before anything is written


def test_failed_run_leaves_previous_outputs_intact(example_run, tmp_path, tiny_housing):
    out = tmp_path / "out"
    shutil.copytree(example_run.out, out)  # the previous outputs: a full run, maps and QGIS export included
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a broken project: a housing site with an unknown heating type
    bad = tiny_housing.copy()
    bad.loc[0, "heating"] = "stoom"
    toml = write_tiny_project(tmp_path, housing=bad)
    r = invoke("run", str(toml), "--out", str(out))
    assert r.exit_code == 2 and "unknown value 'stoom'" in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_project_errors_exit_2(tmp_path):
    r = invoke("validate", str(tmp_path / "nope.toml"))
    assert r.exit_code == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    t = tmp_path / "p.toml"
    t.write_text('[layers.substations]\npath = "x.gpkg"\nfoo = 1\n')
    r = invoke("validate", str(t))
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: p.toml: layers.substations.foo: unknown key 'foo' - check its spelling against " \
                               "the README's project-file section"
    t.write_text('[layers.substations]\npath = "missing.gpkg"\n')
    r = invoke("validate", str(t))
    assert r.exit_code == 2 and "layers.substations: file" in r.stderr and "does not exist" in r.stderr


def test_tiny_project_numbers(tmp_path, tiny_housing):
    """Two substations; H2 straddles them 25/75.

    2030, offtake, no growth:
      H1: 100 all-electric dwellings (2026), EV 0.5: 100 x (3.5 + 0.7) = 420 kW, all to A
      H2: 200 hybrid dwellings (2027-2028), EV 0: 200 x 2.5 = 500 kW; A 25 % = 125 kW, B 75 % = 375 kW
      A: firm N-1 40 MW, load 20 + 0.42 + 0.125 = 20.545 -> headroom 19.455
      B: 110 kV but one transformer: N-0 30 MW, load 10 + 0.375 -> headroom 19.625
    """
    toml = write_tiny_project(tmp_path, housing=tiny_housing,
                              extra='[parameters]\n"growth.offtake_pct_per_year" = 0.0\n'
                                    '[variants.snel]\nparameters = { "growth.offtake_pct_per_year" = 3.0 }\n')
    out = tmp_path / "out"
    p = run_cli("run", str(toml), "--out", str(out), "--variant", "basis", "--no-maps", "--no-qgis")  # as a user
    assert p.returncode == 0, p.stderr
    h = pd.read_csv(out / "headroom.csv")
    assert set(h["variant"]) == {"basis"}  # --variant: the other variant is not run
    assert set(pd.read_csv(out / "shortfall.csv")["variant"]) == {"basis"}
    h = h[(h.year == 2030) & (h.direction == "offtake")].set_index("substation_id")
    assert h.loc["A", "headroom_mw"] == pytest.approx(19.455)
    assert h.loc["B", "headroom_mw"] == pytest.approx(19.625)
    assert h.loc["B", "firm_rule"] == "N-0"


def test_voronoi_when_no_service_areas(tmp_path, tiny_housing):
    toml = write_tiny_project(tmp_path, housing=tiny_housing, areas=False)
    out = tmp_path / "out"
    r = invoke("run", str(toml), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 0
    a = pd.read_csv(out / "assignment.csv")
    assert set(a["method"]) == {"voronoi"}
    # the Voronoi border between A (x+500) and B (x+1500) is x+1000, as with the given areas
    assert a[a.site_id == "H2"].set_index("substation_id")["share"].to_dict() == pytest.approx({"A": 0.25, "B": 0.75})


def test_error_text_with_brackets_is_printed_as_is(tmp_path):
    """Keys like [ranking.weights] must reach the user (rich markup must not eat them)."""
    t = tmp_path / "p.toml"
    gpkg_src = Path("layers/example_region.gpkg").resolve()
    t.write_text(f'[layers.substations]\npath = "{gpkg_src}"\nlayer = "onderstations"\n'
                 'columns = { id = "code", peak_offtake_mw = "piek_afname_mw", installed_mva = "totaal_mva", '
                 'n_transformers = "aantal_trafo", transformer_mva = "trafo_mva" }\n'
                 '[ranking.weights]\nshortfal_offtake_mw = 2\n')
    r = invoke("validate", str(t))
    assert r.exit_code == 2
    assert "p.toml: [ranking.weights] shortfal_offtake_mw: unknown criterion; did you mean 'shortfall_offtake_mw'?" \
        in r.stderr


@pytest.mark.parametrize("keep", [("substations", "boundaries"), ("substations",)])
def test_a_project_with_only_substations_runs_every_stage(tmp_path, keep):
    """Only the network (and the boundaries): no sites, no claims; every stage runs and writes its outputs."""
    import re
    import shutil

    from spatialprog.cli import cli

    d = tmp_path / "p"
    shutil.copytree(ROOT / "layers", d)
    text = (d / "example_region.toml").read_text(encoding="utf-8")
    blocks = re.split(r"(?m)^(?=\[)", text)
    out_blocks = []
    for b in blocks:
        head = b.split("\n", 1)[0]
        layer = re.match(r"\[layers\.(\w+)", head)
        if (layer and layer.group(1) not in keep) or head.startswith(("[constraints", "[[ranking.boundaries]]")):
            continue
        out_blocks.append(b)
    (d / "only.toml").write_text("".join(out_blocks), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(d / "only.toml"), "--out", str(out)], obj={})
    assert r.exit_code == 0, r.output
    names = {p.name for p in out.iterdir()}
    assert {"results.gpkg", "headroom.csv", "demand.csv", "programme.csv", "map.html", "spatialprog.gpkg",
            "spatialprog.qgz", "manifest.json"} <= names
    h = pd.read_csv(out / "headroom.csv")
    assert (h["new_load_mw"] == 0).all() and h["substation_id"].nunique() == 12
