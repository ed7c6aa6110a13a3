"""The registry of layer kinds: a kind registered inside a test flows through every stage.

A toy kind ("data_centres": points with a contracted MW from a year on) is
registered with its own demand function and its own conflict rule, without
editing any package module, and is followed through validate, run (its MW at
the right substation, worked out by hand), results.gpkg, the QGIS export, the
map and check-site.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from spatialprog import fields as F
from spatialprog.cli import cli
from spatialprog.demand import demand_frame
from spatialprog.errors import ProjectError
from spatialprog.kinds import (
    LAYER_KINDS,
    CheckOptions,
    Column,
    LayerKind,
    StyleRule,
    check_kinds,
    claim_kinds,
    drawing_order,
    register_kind,
    site_kinds,
    unregister_kind,
)
from spatialprog.sitecheck import check_site


def data_centre_demand(sites, params, years, *, layers=None):
    """Offtake: the contracted MW in full from the year in service (the toy kind's own rule)."""
    yrs = np.asarray(years)
    on = yrs[None, :] >= sites["year"].to_numpy(dtype=float)[:, None]
    off = sites["contracted_mw"].to_numpy(dtype=float)[:, None] * on
    return demand_frame("data_centres", sites["id"].tolist(), years, off, np.zeros_like(off))


TOY = LayerKind(
    name="data_centres",
    title_nl="Datacenters (test)",
    description="Data centres (points) with their contracted MW and the year in service.",
    geometry=("Point", "MultiPoint"),
    columns=(
        Column("id", "str", True, alias_nl="id"),
        Column("name", "str", alias_nl="naam"),
        Column("contracted_mw", "float", True, unit="MW", alias_nl="gecontracteerd vermogen (MW)", min=0),
        Column("year", "year", True, alias_nl="jaar ingebruikname"),
        Column("cooling", "str", alias_nl="koeling", allowed=("air", "water")),
    ),
    role="site",
    claims_land=True,
    demand=data_centre_demand,
    colour="#ff00aa",
    style=StyleRule("categorized", "cooling"),
    z=75,
    check=CheckOptions(aliases=("datacenter",), word="data centre", keys=("contracted_mw",), start_column="year",
                       recode={"cooling": {"lucht": "air", "water": "water"}}),
    conflict_rules=({"rule_id": "RT01", "layer_a": "data_centres", "layer_b": "natura2000", "kind": "inside",
                     "severity": "hoog", "enabled": "true",
                     "description_nl": "Datacenter in een Natura 2000-gebied (testregel)",
                     "source": "test: a rule the toy kind brings"},),
)

DC1 = (173000.0, 433000.0)   # in OS01's cell (x 170000-177500, y 430000-436000)
DC2 = (185500.0, 442000.0)   # inside the fictional Natura 2000 strip (y 441750-442250)


@pytest.fixture(scope="module")
def toy_project(tmp_path_factory):
    register_kind(TOY)
    d = tmp_path_factory.mktemp("toy") / "p"
    shutil.copytree("layers", d)
    gpd.GeoDataFrame({"dc_id": ["DC1", "DC2"], "naam": ["Datacenter Brakel", "Datacenter Natuur"],
                      "mw": [12.0, 2.0], "jaar": [2030, 2032], "koeling": ["lucht", "water"]},
                     geometry=[Point(*DC1), Point(*DC2)], crs="EPSG:28992").to_file(d / "dc.geojson", driver="GeoJSON")
    toml = (d / "example_region.toml").read_text(encoding="utf-8")
    toml += ('\n[layers.data_centres]\npath = "dc.geojson"\n'
             'columns = { id = "dc_id", name = "naam", contracted_mw = "mw", year = "jaar", cooling = "koeling" }\n'
             '[layers.data_centres.recode.cooling]\nlucht = "air"\n')
    (d / "example_region.toml").write_text(toml, encoding="utf-8")
    yield d / "example_region.toml"
    unregister_kind("data_centres")


@pytest.fixture(scope="module")
def toy_run(toy_project, tmp_path_factory):
    out = tmp_path_factory.mktemp("toyrun") / "out"
    r = CliRunner().invoke(cli, ["run", str(toy_project), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_registry_lists_the_builtin_kinds_in_order():
    assert site_kinds()[:5] == ["housing_sites", "industrial_zones", "charging_hubs", "heat_networks", "generation"]
    assert set(check_kinds()) >= {"housing_sites", "industrial_zones", "charging_hubs"}
    assert {"substations", "hv_lines", "substation_reserves"} <= set(claim_kinds())
    # drawing order: points on top of lines on top of areas; the service areas at the bottom
    assert drawing_order(["service_areas", "housing_sites", "substations", "hv_lines"]) == [
        "substations", "hv_lines", "housing_sites", "service_areas"]


def test_a_kind_cannot_be_registered_twice_or_take_the_constraint_name():
    with pytest.raises(ProjectError, match="registered already"):
        register_kind(LAYER_KINDS["housing_sites"])
    with pytest.raises(ProjectError, match="reserved"):
        register_kind(LayerKind("constraint", "x", "x", ("Polygon",), (), role="claim"))
    with pytest.raises(ValueError, match="needs a demand function"):
        LayerKind("no_demand", "x", "x", ("Point",), (), role="site")


def test_validate_reads_the_toy_layer(toy_project):
    r = CliRunner().invoke(cli, ["validate", str(toy_project)])
    assert r.exit_code == 0, r.output
    assert "data_centres" in r.output and "2 features" in r.output


def test_run_puts_its_mw_at_its_substation(toy_run):
    h = pd.read_csv(toy_run / "headroom.csv")
    h = h[(h[F.SUBSTATION_ID] == "OS01") & (h[F.VARIANT] == "basis") & (h[F.DIRECTION] == "offtake")]
    h = h.set_index(F.YEAR)
    # by hand: OS01 carries 4.9704 MW of new demand in 2029 and 6.2544 MW in 2030 without the toy
    # (tests/test_example_region.py); DC1 adds its contracted 12 MW from 2030, nothing before
    assert h.loc[2029, "new_load_mw"] == pytest.approx(4.9704, abs=1e-4)
    assert h.loc[2030, "new_load_mw"] == pytest.approx(6.2544 + 12.0, abs=1e-4)
    assert h.loc[2030, "headroom_mw"] == pytest.approx(39.8814 - 12.0, abs=1e-4)
    d = pd.read_csv(toy_run / "demand.csv")
    dc = d[(d[F.LAYER] == "data_centres") & (d[F.VARIANT] == "basis")].set_index([F.SITE_ID, F.YEAR])
    assert dc.loc[("DC1", 2029), "offtake_mw"] == 0.0 and dc.loc[("DC1", 2030), "offtake_mw"] == 12.0
    assert dc.loc[("DC2", 2031), "offtake_mw"] == 0.0 and dc.loc[("DC2", 2032), "offtake_mw"] == 2.0


def test_results_gpkg_has_the_layer_with_its_substation(toy_run):
    g = pyogrio.read_dataframe(toy_run / "results.gpkg", layer="data_centres")
    g = g.set_index("id")
    assert g.loc["DC1", "substation_id"] == "OS01"
    assert g.loc["DC1", "cooling"] == "air"   # recoded from 'lucht' by the project's mapping
    assert g.loc["DC1", "offtake_mw_2040"] == 12.0


def test_its_own_conflict_rule_fires(toy_run):
    c = pd.read_csv(toy_run / "conflicts.csv", dtype=str)
    rt = c[c["rule_id"] == "RT01"]
    assert rt[["layer_a", "id_a", "layer_b"]].values.tolist() == [["data_centres", "DC2", "natura2000"]]
    g = pyogrio.read_dataframe(toy_run / "results.gpkg", layer="data_centres").set_index("id")
    assert g.loc["DC2", "conflict_rules"] == "RT01" and g.loc["DC1", "n_conflicts"] == 0


def test_qgis_export_styles_it(toy_run):
    gpkg = toy_run / "spatialprog.gpkg"
    layers = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    assert "data_centres" in layers
    with sqlite3.connect(gpkg) as con:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'data_centres'").fetchone()
    assert "categorizedSymbol" in qml and 'attr="cooling"' in qml   # its StyleRule
    with zipfile.ZipFile(toy_run / "spatialprog.qgz") as z:
        qgs = z.read(next(n for n in z.namelist() if n.endswith(".qgs"))).decode("utf-8")
    assert "Datacenters (test)" in qgs   # its Dutch title in the QGIS project


def test_the_map_shows_it(toy_run):
    html = (toy_run / "map.html").read_text(encoding="utf-8")
    assert "Datacenters (test)" in html        # its Dutch title in the layer control
    assert "#ff00aa" in html                   # its colour
    assert "Datacenter Brakel" in html         # its features


def test_check_site_checks_a_toy_site(toy_project, toy_run):
    c = check_site(toy_project, f"{DC1[0] + 1000},{DC1[1]}", {"contracted_mw": 3, "start_year": 2031},
                   kind="datacenter", variants=["basis"])
    assert c.site["layer"] == "data_centres"
    assert [s["substation_id"] for s in c.serving] == ["OS01"]
    years = {y["year"]: y for y in c.variants["basis"]["years"]}
    assert years[2030]["site_mw"] == 0.0 and years[2031]["site_mw"] == 3.0
    # headroom before = the run's headroom (with DC1's 12 MW); after = 3 MW less
    h = pd.read_csv(toy_run / "headroom.csv")
    run_2031 = h[(h[F.SUBSTATION_ID] == "OS01") & (h[F.VARIANT] == "basis") & (h[F.DIRECTION] == "offtake")
                 & (h[F.YEAR] == 2031)]["headroom_mw"].iat[0]
    sub = years[2031]["substations"][0]
    assert sub["headroom_before_mw"] == pytest.approx(run_2031, abs=1e-4)
    assert sub["headroom_after_mw"] == pytest.approx(run_2031 - 3.0, abs=1e-4)


def test_check_site_cli_takes_any_field_of_the_kind(toy_project):
    r = CliRunner().invoke(cli, ["check-site", str(toy_project), f"{DC2[0]},{DC2[1]}", "--kind", "datacenter",
                                 "--field", "contracted_mw=1", "--start-year", "2030", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    site = doc["sites"][0]
    assert site["site"]["layer"] == "data_centres"
    assert [i["rule_id"] for i in site["conflicts"]["items"]] == ["RT01"]   # its own rule, in check-site too
