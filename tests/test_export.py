"""The QGIS export, checked without QGIS: GeoPackage structure, styles, project, COG, CLI.

What real QGIS makes of the export is checked in test_export_qgis.py.
"""

from __future__ import annotations

import io
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import LineString, Point, box

from spatialprog.cli import cli
from spatialprog.errors import OutputError
from spatialprog.export import alias_nl, export_layers, export_qgis, safe_name, write_cog
from spatialprog.export import gpkg as G
from spatialprog.export.catalog import split_by_geometry
from spatialprog.layers import LAYER_KINDS
from spatialprog.outputs import RunOutputs

from .conftest import STATUS_NL

RUN_DATE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: PRAGMA table_info(layer_styles) of a table QGIS 3 created in a GeoPackage (name, declared type)
QGIS_LAYER_STYLES = [
    ("id", "INTEGER"), ("f_table_catalog", "TEXT(256)"), ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"), ("f_geometry_column", "TEXT(256)"), ("styleName", "TEXT(30)"), ("styleQML", "TEXT"),
    ("styleSLD", "TEXT"), ("useAsDefault", "BOOLEAN"), ("description", "TEXT"), ("owner", "TEXT(30)"),
    ("ui", "TEXT(30)"), ("update_time", "DATETIME")]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def plan(example_result):
    return example_result.plan


@pytest.fixture(scope="module")
def outputs(example_result) -> RunOutputs:
    return RunOutputs.from_result(example_result, run_date=RUN_DATE)


@pytest.fixture(scope="module")
def exported(outputs, plan, tmp_path_factory) -> Path:
    return export_qgis(outputs, tmp_path_factory.mktemp("export") / "spatialprog.gpkg", inputs=plan.layers)


def _sql(path: Path, q: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(q, args).fetchall()
    finally:
        con.close()


def _qgs(qgz: bytes) -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(qgz)) as zf:
        names = zf.namelist()
        assert len(names) == 1 and names[0].endswith(".qgs")
        text = zf.read(names[0]).decode("utf-8")
    assert text.startswith("<!DOCTYPE qgis")
    return ET.fromstring(text.split("\n", 1)[1])


def _style(path: Path, table: str) -> ET.Element:
    rows = _sql(path, "SELECT styleQML FROM layer_styles WHERE f_table_name = ? AND useAsDefault = 1", table)
    assert len(rows) == 1, f"{table}: {len(rows)} default styles"
    return ET.fromstring(rows[0][0].split("\n", 1)[1])


# ---- names and aliases -----------------------------------------------------------------


@pytest.mark.parametrize(("column", "kind", "alias"), [
    ("headroom_offtake_mw_2030", None, "ruimte afname 2030 (MW)"),
    ("headroom_feedin_mw_2040", "substations", "ruimte invoeding 2040 (MW)"),
    ("status_offtake_2035", None, "status afname 2035"),
    ("load_offtake_mw_2025", None, "belasting afname 2025 (MW)"),
    ("offtake_mw_2040", "housing_sites", "afname 2040 (MW)"),
    ("first_shortfall_feedin_year", None, "eerste jaar tekort invoeding"),
    ("firm_rule_offtake", None, "storingsreserve afname"),
    ("dwellings", "housing_sites", "aantal woningen"),
    ("substation_id", None, "onderstation"),
    ("no_such_column", None, ""),
    # a layer's schema names its own columns, before the general names
    ("year", "charging_hubs", "jaar ingebruikname"),
    ("year", None, "jaar"),
    ("capacity_mw", "generation", "vermogen (MW)"),
    ("capacity_mw", None, "capaciteit (MW)"),
    ("status", "substation_reserves", "status reservering"),
])
def test_alias_nl(column, kind, alias):
    assert alias_nl(column, kind) == alias


def test_every_schema_column_has_its_own_dutch_alias():
    for kind in LAYER_KINDS.values():
        aliases = [alias_nl(col.name, kind.name) for col in kind.columns]
        assert all(aliases), kind.name
        assert len(set(aliases)) == len(aliases), kind.name  # two fields with one alias look alike in QGIS


@pytest.mark.parametrize(("name", "safe"), [("Vermogen (MW)", "vermogen_mw"), ("styleName", "style_name"),
                                            ("2030", "f_2030"), ("ÄÖ-ü", "ao_u"), ("ok_name", "ok_name")])
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def test_every_exported_field_has_a_dutch_alias(outputs, plan):
    for layer, style in export_layers(outputs, inputs=plan.layers):
        missing = [c for c in layer.data.columns if c != "geometry" and not layer.aliases.get(c)]
        assert not missing, f"{layer.name}: no Dutch alias for {missing}"
        al = {a.get("field"): a.get("name") for a in style.elements if a.tag == "aliases" for a in a}
        assert all(al[c] == layer.aliases[c] for c in layer.aliases)


# ---- geometry handling -----------------------------------------------------------------


def test_split_by_geometry_one_type_per_part():
    g = gpd.GeoDataFrame({"id": ["a", "b", "c", "d"]}, crs=28992, geometry=[
        Point(0, 0), box(0, 0, 1, 1), shapely.MultiPolygon([box(2, 2, 3, 3), box(4, 4, 5, 5)]),
        LineString([(0, 0), (1, 1)])])
    parts = split_by_geometry(g)
    assert {k: (len(v[0]), v[1]) for k, v in parts.items()} == {
        "points": (1, "Point"), "lines": (1, "LineString"), "areas": (2, "MultiPolygon")}
    assert set(parts["areas"][0].geometry.geom_type) == {"MultiPolygon"}


def test_single_family_is_not_split():
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=28992)
    assert list(split_by_geometry(g)) == ["areas"]


# ---- the GeoPackage --------------------------------------------------------------------


def test_geopackage_1_2_in_rd_new(exported):
    assert _sql(exported, "PRAGMA application_id")[0][0] == 0x47504B47  # "GPKG"
    assert _sql(exported, "PRAGMA user_version")[0][0] == 10200
    srs = _sql(exported, "SELECT DISTINCT srs_id FROM gpkg_geometry_columns")
    assert srs == [(28992,)]


def test_every_layer_and_field_name(exported, outputs, plan):
    contents = dict(_sql(exported, "SELECT table_name, data_type FROM gpkg_contents"))
    for name in ["substations", "service_areas", "housing_sites", "industrial_zones", "charging_hubs",
                 "heat_networks", "generation_points", "generation_areas", "headroom", "shortfall", "layer_styles",
                 *(f"input_{k}" for k in plan.layers if k != "generation"), "input_generation_points"]:
        assert name in contents, name
    for name in contents:
        assert SNAKE.match(name), name
        cols = [r[1] for r in _sql(exported, f'PRAGMA table_info("{name}")')]
        if name != "layer_styles":  # QGIS's own camelCase names
            assert all(SNAKE.match(c) and c.isascii() for c in cols), (name, cols)


def test_feature_counts_and_valid_geometries(exported, outputs, plan):
    layer_names = {n for n, _ in pyogrio.list_layers(exported)}
    from spatialprog.kinds import LAYER_KINDS

    for name, gdf in outputs.layers.items():
        if name in LAYER_KINDS and LAYER_KINDS[name].role == "boundary":
            name = f"input_{name}"  # exported once, as the input it is (the results carry it for the maps)
        if name not in layer_names:  # mixed geometry: split into name_points / name_lines / name_areas
            parts = [n for n in layer_names if n.startswith(f"{name}_") and n.split("_")[-1] in ("points", "lines",
                                                                                                  "areas")]
            assert parts, name
            assert sum(len(pyogrio.read_dataframe(exported, layer=p)) for p in parts) == len(gdf), name
            continue
        back = pyogrio.read_dataframe(exported, layer=name)
        assert len(back) == len(gdf), name
        assert shapely.is_valid(np.asarray(back.geometry.values)).all(), name
    n_pts = len(pyogrio.read_dataframe(exported, layer="generation_points"))
    n_areas = len(pyogrio.read_dataframe(exported, layer="generation_areas"))
    assert n_pts + n_areas == len(outputs.layers["generation"])
    assert (n_pts, n_areas) == (3, 4)
    assert len(pyogrio.read_dataframe(exported, layer="headroom")) == len(outputs.tables["headroom"])


def test_inputs_their_result_layer_carries_are_views_read_as_the_input(exported, outputs, plan):
    views = {r[0] for r in _sql(exported, "SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert "input_charging_hubs" in views and "input_service_areas" in views  # geometry stored once
    assert "input_boundaries" not in views  # no result layer carries the boundaries
    for layer, _ in export_layers(outputs, inputs=plan.layers):
        if layer.source != "input":
            continue
        back = pyogrio.read_dataframe(exported, layer=layer.name, fid_as_index=True)
        info = pyogrio.read_info(exported, layer=layer.name)
        assert info["fid_column"] == "fid" and info["layer_metadata"]["IDENTIFIER"] == layer.title, layer.name
        assert list(back.index) == list(range(1, len(layer.data) + 1)), layer.name
        assert list(back.columns) == list(layer.data.columns), layer.name
        assert shapely.equals_identical(np.asarray(back.geometry.values), np.asarray(layer.data.geometry.values)).all()
        for c in layer.data.columns.drop("geometry"):
            assert back[c].isna().tolist() == layer.data[c].isna().tolist(), (layer.name, c)
            keep = layer.data[c].notna().to_numpy()
            assert back[c][keep].tolist() == layer.data[c][keep].tolist(), (layer.name, c)
        if layer.name in views:  # filtered through the result layer's spatial index, with the right fids
            x0, y0, x1, y1 = layer.data.total_bounds
            bbox = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
            got = pyogrio.read_dataframe(exported, layer=layer.name, bbox=bbox, fid_as_index=True)
            b = shapely.bounds(np.asarray(layer.data.geometry.values))
            want = np.flatnonzero((b[:, 0] <= bbox[2]) & (b[:, 2] >= bbox[0]) & (b[:, 1] <= bbox[3])
                                  & (b[:, 3] >= bbox[1])) + 1
            assert sorted(got.index) == want.tolist(), layer.name


def test_same_rows_decides_what_may_be_a_view():
    from spatialprog.export.catalog import ExportLayer

    geoms = [box(0, 0, 1, 1), box(1, 0, 2, 1), None]
    base = gpd.GeoDataFrame({"id": ["a", "b", "c"], "n": [1, 2, 3], "mw": [0.5, np.nan, 2.0], "extra": [9, 9, 9]},
                            geometry=geoms, crs="EPSG:28992")
    inp = gpd.GeoDataFrame({"id": pd.Series(["a", "b", "c"], dtype=object), "n": pd.array([1, 2, 3], dtype="Int64"),
                            "mw": [0.5, np.nan, 2.0]}, geometry=list(geoms), crs="EPSG:28992")

    def layer(gdf, gtype="Polygon"):
        return ExportLayer("x", "X", "", "results", gdf, geometry_type=gtype)

    assert G.same_rows(layer(inp), layer(base))  # Int64 and int64, object and str: stored alike
    changed = inp.copy()
    changed.loc[1, "mw"] = 1.0
    assert not G.same_rows(layer(changed), layer(base))  # NaN (NULL) against a number
    changed = inp.assign(mw=[0.5, np.nan, 2.0 + 1e-12])
    assert not G.same_rows(layer(changed), layer(base))  # numbers bit for bit
    assert not G.same_rows(layer(inp.assign(n=[1.0, 2.0, 3.0])), layer(base))  # REAL is not INTEGER
    assert not G.same_rows(layer(inp.assign(other=1)), layer(base))  # a field the base does not have
    assert not G.same_rows(layer(inp.assign(id=pd.Series([1, 2, 3], dtype=object))), layer(base))  # not text
    assert not G.same_rows(layer(inp.set_geometry([box(0, 0, 1, 1), box(1, 0, 2, 1.5), None])), layer(base))
    assert not G.same_rows(layer(inp.set_geometry([box(0, 0, 1, 1), None, None])), layer(base))
    assert not G.same_rows(layer(inp, "MultiPolygon"), layer(base))
    assert not G.same_rows(layer(inp.iloc[:2]), layer(base.iloc[:2].iloc[::-1].reset_index(drop=True)))


def test_one_geometry_type_per_layer(exported):
    for name, gtype in _sql(exported, "SELECT table_name, geometry_type_name FROM gpkg_geometry_columns"):
        assert gtype in ("POINT", "MULTIPOINT", "LINESTRING", "MULTILINESTRING", "POLYGON", "MULTIPOLYGON"), name
        info = pyogrio.read_info(exported, layer=name)
        assert info["geometry_type"].upper() == gtype, name


def test_layer_metadata_names_sources_and_run_date(exported):
    rows = _sql(exported, "SELECT table_name, identifier, description, last_change FROM gpkg_contents "
                          "WHERE table_name != 'layer_styles'")
    for name, ident, desc, last_change in rows:
        assert ident and ident != name, name
        assert "2026-03-01T12:00:00" in desc and "spatialprog" in desc, name
        assert last_change == "2026-03-01T12:00:00.000Z"
    desc = dict((r[0], r[2]) for r in rows)
    assert "Bron: example_region.gpkg (laag woningbouw)" in desc["housing_sites"]
    assert "FICTIEVE GEGEVENS" in desc["substations"]


# ---- layer_styles ----------------------------------------------------------------------


def test_layer_styles_table_as_qgis_creates_it(exported):
    cols = [(r[1], r[2]) for r in _sql(exported, "PRAGMA table_info(layer_styles)")]
    assert cols == QGIS_LAYER_STYLES
    assert _sql(exported, "SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'") == [("attributes",)]
    rows = _sql(exported, "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, useAsDefault "
                          "FROM layer_styles")
    tables = [r[0] for r in _sql(exported, "SELECT table_name FROM gpkg_contents WHERE table_name!='layer_styles'")]
    assert sorted(r[2] for r in rows) == sorted(tables)  # one default style per table
    spatial = {r[0] for r in _sql(exported, "SELECT table_name FROM gpkg_geometry_columns")}
    for cat, schema, table, geom, default in rows:
        assert cat == "" and schema == ""  # NULL would make QGIS ignore the row
        assert geom == ("geom" if table in spatial else "")
        assert default == 1


def test_substations_categorized_by_status_in_capacity_map_colours(exported):
    qml = _style(exported, "substations")
    r = qml.find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == "status_offtake_2040"
    cats = [(c.get("value"), c.get("label")) for c in r.find("categories")]
    assert cats[:4] == [(code, label) for code, (label, _) in STATUS_NL.items()]
    colours = [s.find("layer/Option/Option[@name='color']").get("value") for s in r.find("symbols")]
    assert colours[:4] == ["140,198,63,255", "255,212,0,255", "247,147,30,255", "227,6,19,255"]
    assert qml.get("labelsEnabled") == "1"
    assert qml.find("labeling/settings/text-style").get("fieldName") == 'coalesce("name", "id")'
    aliases = {a.get("field"): a.get("name") for a in qml.find("aliases")}
    assert aliases["peak_offtake_mw"] == "huidige piekafname (MW)"
    assert aliases["headroom_offtake_mw_2030"] == "ruimte afname 2030 (MW)"
    widgets = {f.get("name"): f.find("editWidget").get("type") for f in qml.find("fieldConfiguration")}
    assert widgets["status_offtake_2040"] == "ValueMap"


def test_service_areas_graduated_by_headroom(exported):
    r = _style(exported, "service_areas").find("renderer-v2")
    assert r.get("type") == "graduatedSymbol" and r.get("attr") == "headroom_offtake_mw_2040"
    uppers = [float(x.get("upper")) for x in r.find("ranges")]
    assert uppers[:3] == [0.0, 5.0, 20.0]


@pytest.mark.parametrize(("table", "column", "allowed"), [
    ("housing_sites", "heating", ["gas", "hybrid", "all_electric", "heat_network"]),
    ("charging_hubs", "segment", ["passenger", "freight"]),
    ("generation_points", "technology", ["solar", "wind"]),
    ("generation_areas", "technology", ["solar", "wind"])])
def test_sites_categorized_by_kind_from_the_schema(exported, table, column, allowed):
    r = _style(exported, table).find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == column
    values = [c.get("value") for c in r.find("categories")]
    assert values == [*allowed, ""]  # the schema's allowed values, then one category for anything else


# ---- the QGIS project ------------------------------------------------------------------


def test_project_in_geopackage_equals_qgz(exported):
    rows = _sql(exported, "SELECT name, metadata, content FROM qgis_projects")
    assert [r[0] for r in rows] == ["spatialprog"]
    assert bytes.fromhex(rows[0][2]) == exported.with_suffix(".qgz").read_bytes()  # hex text, as QGIS stores it
    assert '"last_modified_time": "2026-03-01T12:00:00"' in rows[0][1]


def test_project_crs_groups_relative_paths_inline_styles(exported):
    root = _qgs(exported.with_suffix(".qgz").read_bytes())
    crs = root.find("projectCrs/spatialrefsys")
    assert crs.findtext("authid") == "EPSG:28992" and "Amersfoort / RD New" in crs.findtext("wkt")
    assert root.findtext("properties/SpatialRefSys/ProjectionsEnabled") == "1"
    assert root.findtext("properties/Paths/Absolute") == "false"
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    # the example region has conflicts; a result without a ranking has no programme group (no empty groups)
    assert groups == ["Conflicten", "Resultaten", "Invoer"]
    for ml in root.iter("maplayer"):
        assert re.match(r"^\./spatialprog\.gpkg\|layername=[a-z_]+$", ml.findtext("datasource"))
        assert ml.find("aliases") is not None
        if ml.get("geometry") != "No geometry":
            assert ml.find("renderer-v2") is not None
            assert ml.findtext("srs/spatialrefsys/authid") == "EPSG:28992"
        assert ml.findtext("resourceMetadata/abstract")
    subs = next(ml for ml in root.iter("maplayer") if ml.findtext("id") == "spatialprog_substations")
    assert subs.get("labelsEnabled") == "1" and subs.find("renderer-v2").get("type") == "categorizedSymbol"


def test_conflicts_and_programme_groups_when_present(outputs, tmp_path):
    conflicts = gpd.GeoDataFrame(
        {"conflict_id": ["c1", "c2"], "severity": ["hoog", "laag"], "rule_id": ["R1", "R2"]},
        geometry=[box(180000, 440000, 180100, 440100), Point(181000, 441000)], crs=28992)
    programme = pd.DataFrame({"rank": [1, 2], "project": ["OS Laarveld uitbreiden", "Nieuw OS Brakelveen"]})
    out = RunOutputs({**outputs.layers, "conflicts": conflicts}, {**outputs.tables, "programme": programme},
                     outputs.manifest)
    path = export_qgis(out, tmp_path / "p.gpkg")
    root = _qgs(path.with_suffix(".qgz").read_bytes())
    groups = {g.get("name"): [lyr.get("name") for lyr in g.findall("layer-tree-layer")]
              for g in root.findall("layer-tree-group/layer-tree-group")}
    assert list(groups) == ["Conflicten", "Resultaten", "Programma"]
    assert groups["Programma"] == ["Programma"]
    assert groups["Conflicten"][:2] == ["Conflicten ruimteclaims, punten", "Conflicten ruimteclaims, vlakken"]
    r = _style(path, "conflicts_areas").find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == "severity"


# ---- determinism and atomic writes -----------------------------------------------------


def test_deterministic(exported, outputs, plan, tmp_path):
    a = exported
    b = export_qgis(outputs, tmp_path / "spatialprog.gpkg", inputs=plan.layers)
    assert a.with_suffix(".qgz").read_bytes() == b.with_suffix(".qgz").read_bytes()
    q = "SELECT f_table_name, styleQML, update_time FROM layer_styles ORDER BY id"
    assert _sql(a, q) == _sql(b, q)
    q = "SELECT * FROM gpkg_contents ORDER BY table_name"
    assert _sql(a, q) == _sql(b, q)
    assert a.read_bytes() == b.read_bytes()  # header included: no count of GDAL's write transactions
    assert _sql(a, "PRAGMA integrity_check") == [("ok",)]


def test_missing_values_are_written_as_null(tmp_path):
    from spatialprog.export.catalog import ExportLayer, _clean_frame

    df = pd.DataFrame({"naam": pd.Series(["a", None, "c"], dtype="str"), "vrij": [None, "x", np.nan],
                       "mw": [1.5, np.nan, 0.0], "n": [1, 2, 3], "ok": [True, False, True]})
    gdf = gpd.GeoDataFrame(_clean_frame(df)[0], geometry=[Point(0, 0), Point(1, 1), Point(2, 2)], crs="EPSG:28992")
    path = tmp_path / "t.gpkg"
    G.write_layer(path, ExportLayer("t", "T", "", "results", gdf, geometry_type="Point"), first=True)
    G.write_layer(path, ExportLayer("u", "U", "", "results", _clean_frame(df)[0]), first=False)
    for table in ("t", "u"):
        assert _sql(path, f"SELECT naam, vrij, mw, n, ok FROM {table} ORDER BY fid") == [
            ("a", None, 1.5, 1, 1), (None, "x", None, 2, 0), ("c", None, 0.0, 3, 1)]


def test_failed_export_leaves_the_previous_file(exported, outputs, tmp_path, monkeypatch):
    dest = tmp_path / "spatialprog.gpkg"
    shutil.copy(exported, dest)
    shutil.copy(exported.with_suffix(".qgz"), dest.with_suffix(".qgz"))
    before = dest.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(G, "add_project", boom)
    with pytest.raises(OutputError, match="disk full"):
        export_qgis(outputs, dest)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spatialprog.gpkg", "spatialprog.qgz"]


def test_dest_must_be_a_geopackage(outputs, tmp_path):
    with pytest.raises(OutputError, match=r"\.gpkg"):
        export_qgis(outputs, tmp_path / "x.shp")


def test_layers_in_another_crs_are_transformed(outputs, tmp_path):
    layers = dict(outputs.layers)
    layers["substations"] = layers["substations"].to_crs(4326)
    path = export_qgis(RunOutputs(layers, outputs.tables, outputs.manifest), tmp_path / "t.gpkg", qgz=False)
    back = pyogrio.read_dataframe(path, layer="substations")
    assert back.crs.to_epsg() == 28992
    assert np.allclose(back.geometry.x, outputs.layers["substations"].geometry.x, atol=0.01)
    assert not path.with_suffix(".qgz").exists()


# ---- rasters ---------------------------------------------------------------------------


def _synthetic(tmp_path: Path) -> Path:
    yy, xx = np.mgrid[0:64, 0:96]
    arr = (xx / 95.0 * (1 - yy / 127.0)).astype("float32")
    return write_cog(arr, tmp_path / "rasters" / "suitability.tif",
                     transform=Affine(250, 0, 170000, 0, -250, 448000), nodata=-9999.0)


def test_write_cog_with_sidecar_qml(tmp_path):
    import rasterio

    tif = _synthetic(tmp_path)
    with rasterio.open(tif) as src:
        assert src.driver == "GTiff" and src.crs.to_epsg() == 28992
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.read(1).shape == (64, 96)
    qml = ET.fromstring(tif.with_suffix(".qml").read_text().split("\n", 1)[1])
    r = qml.find("pipe/rasterrenderer")
    assert r.get("type") == "singlebandpseudocolor"
    items = r.findall("rastershader/colorrampshader/item")
    assert float(items[0].get("value")) == pytest.approx(0.0) and float(items[-1].get("value")) == pytest.approx(1.0)
    assert sorted(p.name for p in tif.parent.iterdir()) == ["suitability.qml", "suitability.tif"]


def test_write_cog_needs_a_transform(tmp_path):
    with pytest.raises(ValueError, match="transform"):
        write_cog(np.zeros((2, 2)), tmp_path / "x.tif")


def test_raster_in_the_project(outputs, tmp_path):
    tif = _synthetic(tmp_path)
    path = export_qgis(outputs, tmp_path / "spatialprog.gpkg", rasters={"suitability": tif})
    root = _qgs(path.with_suffix(".qgz").read_bytes())
    ml = next(m for m in root.iter("maplayer") if m.get("type") == "raster")
    assert ml.findtext("datasource") == "./rasters/suitability.tif"
    assert ml.findtext("provider") == "gdal"
    assert ml.find("pipe/rasterrenderer").get("type") == "singlebandpseudocolor"


# ---- the command line ------------------------------------------------------------------


def test_cli_export_from_project_file(tmp_path):
    res = CliRunner().invoke(cli, ["export", "layers/example_region.toml", "--qgis", str(tmp_path / "e.gpkg")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "e.gpkg").is_file() and (tmp_path / "e.qgz").is_file()
    assert _sql(tmp_path / "e.gpkg", "SELECT count(*) FROM gpkg_contents WHERE table_name LIKE 'input_%'")[0][0] > 0


def test_cli_export_needs_a_target_for_a_project_file():
    res = CliRunner().invoke(cli, ["export", "layers/example_region.toml"])
    assert res.exit_code == 2 and "--qgis" in res.output


def test_cli_run_writes_the_qgis_export_and_export_reads_an_out_dir(example_run, tmp_path):
    assert (example_run.out / "spatialprog.gpkg").is_file() and (example_run.out / "spatialprog.qgz").is_file()
    out = tmp_path / "out"
    shutil.copytree(example_run.out, out)
    (out / "spatialprog.gpkg").unlink()
    res = CliRunner().invoke(cli, ["export", str(out)])
    assert res.exit_code == 0, res.output
    tables = {r[0] for r in _sql(out / "spatialprog.gpkg", "SELECT table_name FROM gpkg_contents")}
    assert {"substations", "input_boundaries", "headroom"} <= tables


def test_cli_run_no_qgis(example_run_bare):
    assert not (example_run_bare.out / "spatialprog.gpkg").exists()
    assert not (example_run_bare.out / "spatialprog.qgz").exists()
    assert (example_run_bare.out / "results.gpkg").is_file()  # the run's own results are still written
