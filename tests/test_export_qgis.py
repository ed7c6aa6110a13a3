"""The QGIS export opened in real QGIS (headless PyQGIS) and checked by GDAL's validator.

PyQGIS runs with Debian's system Python in a subprocess
(``tests/clients/qgis_runner.py``); the script ``pyqgis_scripts/check_export.py``
opens the export once and reports what QGIS sees as JSON; the tests below
assert on that report. They skip with the reason where QGIS (or GDAL's
validator) is not installed.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from spatialprog.export import export_qgis, write_cog
from spatialprog.export.gpkg import LAYER_STYLES_COLUMNS
from spatialprog.outputs import RunOutputs

from .clients import skip_if_missing
from .clients.gdal_tools import gdal_available, validate_gpkg
from .clients.qgis_runner import qgis_available, run_qgis_script
from .conftest import STATUS_NL

pytestmark = pytest.mark.client

SCRIPT = Path(__file__).resolve().parent / "pyqgis_scripts" / "check_export.py"
EXPECTED_RENDERER = {
    "substations": ("categorizedSymbol", "status_offtake_2040"),
    "service_areas": ("graduatedSymbol", "headroom_offtake_mw_2040"),
    "housing_sites": ("categorizedSymbol", "heating"),
    "industrial_zones": ("categorizedSymbol", "category"),
    "charging_hubs": ("categorizedSymbol", "segment"),
    "heat_networks": ("categorizedSymbol", "source_kind"),
    "generation_points": ("categorizedSymbol", "technology"),
    "generation_areas": ("categorizedSymbol", "technology"),
    # the other carriers' nodes, by their status like the substations (issue 14: QGIS opens them styled)
    "hydrogen_stations": ("categorizedSymbol", "status_offtake_2040"),
    "gas_stations": ("categorizedSymbol", "status_offtake_2040"),
    "input_boundaries": ("singleSymbol", None),
}


@pytest.fixture(scope="module")
def export_dir(example_result, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("qgis-export")
    yy, xx = np.mgrid[0:72, 0:120]
    tif = write_cog((xx / 119.0).astype("float32") * (1 - yy / 143.0), d / "rasters" / "suitability.tif",
                    transform=Affine(250, 0, 170000, 0, -250, 448000), nodata=-9999.0)
    outputs = RunOutputs.from_result(example_result, run_date=datetime(2026, 3, 1, 12, tzinfo=UTC))
    export_qgis(outputs, d / "spatialprog.gpkg", inputs=example_result.plan.layers,
                rasters={"suitability": tif})
    return d


@pytest.fixture(scope="module")
def qgis_report(export_dir) -> dict:
    skip_if_missing(qgis_available())
    gpkg = export_dir / "spatialprog.gpkg"
    res = run_qgis_script(SCRIPT, gpkg, gpkg.with_suffix(".qgz"), export_dir / "render.png",
                          export_dir / "rasters" / "suitability.tif", timeout_s=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert isinstance(res.data, dict), res.stdout[-2000:]
    return res.data


@pytest.fixture(scope="module")
def expected_counts(export_dir) -> dict[str, int]:
    import sqlite3

    con = sqlite3.connect(export_dir / "spatialprog.gpkg")
    names = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE table_name != 'layer_styles'")]
    counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    con.close()
    return counts


def test_every_layer_valid_in_rd_new_with_its_features(qgis_report, expected_counts):
    layers = qgis_report["layers"]
    assert set(layers) == set(expected_counts)
    for name, info in layers.items():
        assert info["valid"], name
        assert info["features"] == expected_counts[name], name
        if info["spatial"]:
            assert info["authid"] == "EPSG:28992", name
        assert info["title"], name  # gpkg_contents identifier -> layer metadata title


def test_dragged_in_layers_get_their_default_style(qgis_report):
    layers = qgis_report["layers"]
    for name, (renderer, attr) in EXPECTED_RENDERER.items():
        assert (layers[name]["renderer"], layers[name]["attr"]) == (renderer, attr), name
    assert layers["substations"]["labels"] is True
    assert layers["input_boundaries"]["labels"] is True
    assert layers["housing_sites"]["labels"] is False
    cats = layers["substations"]["categories"]
    assert [(v, lab, col) for v, lab, col in cats[:4]] == [(code, *nl) for code, nl in STATUS_NL.items()]
    ranges = layers["service_areas"]["ranges"]  # worst (least headroom) first
    assert [r[3] for r in ranges] == ["#e30613", "#f7931e", "#ffd400", "#8cc63f"]


def test_dutch_aliases_and_value_maps_in_qgis(qgis_report):
    subs = qgis_report["layers"]["substations"]
    assert subs["aliases"]["name"] == "naam"
    assert subs["aliases"]["headroom_offtake_mw_2040"] == "ruimte afname 2040 (MW)"
    assert subs["widgets"]["status_offtake_2040"] == "ValueMap"
    assert qgis_report["layers"]["housing_sites"]["aliases"]["dwellings"] == "aantal woningen"
    head = qgis_report["layers"]["headroom"]  # attribute tables get their style too
    assert head["aliases"]["headroom_mw"] == "ruimte (MW)"
    for name, info in qgis_report["layers"].items():
        missing = [f for f, a in info["aliases"].items() if not a and f != "fid"]
        assert not missing, (name, missing)


@pytest.mark.parametrize("which", ["embedded", "qgz"])
def test_projects_open_grouped_and_styled(qgis_report, which):
    p = qgis_report["projects"][which]
    assert p["read"] and p["crs"] == "EPSG:28992" and p["absolute_paths"] is False
    groups = [g["group"] for g in p["tree"] if isinstance(g, dict)]
    assert groups == ["Conflicten", "Resultaten", "Invoer"]  # the example region has conflicts
    results = next(g["layers"] for g in p["tree"] if isinstance(g, dict) and g["group"] == "Resultaten")
    assert results[0] == "Onderstations" and results[-1] == "Suitability"  # raster at the bottom
    layers = {lyr["source"].split("layername=")[-1] if "layername=" in lyr["source"] else "raster": lyr
              for lyr in p["layers"].values()}
    for lid, lyr in p["layers"].items():
        assert lyr["valid"], (which, lid, lyr["source"])
    for name, (renderer, attr) in EXPECTED_RENDERER.items():
        assert (layers[name]["renderer"], layers[name]["attr"]) == (renderer, attr), (which, name)
    assert layers["substations"]["labels"] is True
    assert layers["raster"]["renderer"] == "singlebandpseudocolor"


def test_project_renders_a_styled_map(qgis_report, export_dir):
    r = qgis_report["render"]
    png = export_dir / "render.png"
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1000, 800)
    assert r["nonwhite_share"] > 0.3  # not blank
    assert r["colours"] > 50
    # the capacity-map colours of the substations / service areas are on the map
    assert r["status_pixels"]["#e30613"] > 0 and r["status_pixels"]["#8cc63f"] > 0
    hits, checked = r["substation_symbols"]
    assert checked == 12 and hits == checked  # each substation drawn on top, in its status colour


def test_layer_styles_schema_equals_the_one_qgis_creates(qgis_report):
    ref = qgis_report["qgis_layer_styles"]
    assert tuple(tuple(c) for c in ref["columns"]) == LAYER_STYLES_COLUMNS
    assert ref["data_type"] == "attributes"
    assert ref["row"] == ["", "", "geom"]


def test_raster_with_sidecar_qml(qgis_report):
    r = qgis_report["raster"]
    assert r["valid"] and r["authid"] == "EPSG:28992" and r["renderer"] == "singlebandpseudocolor"
    assert r["width"] == 120


def test_gdal_validator_accepts_the_geopackage(export_dir):
    skip_if_missing(gdal_available())
    ok, report = validate_gpkg(export_dir / "spatialprog.gpkg")
    assert ok, report
