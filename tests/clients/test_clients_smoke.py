"""Smoke tests: each real client installed by .ci/install-clients.sh works here.

They skip (with the reason) where a client is missing, so they are safe anywhere.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from . import skip_if_missing
from .chromium import chromium_available, load_page
from .gdal_tools import gdal_available, validate_gpkg
from .postgis import ogr_pg, postgis_dsn, postgis_skip_reason
from .qgis_runner import qgis_available, run_qgis_script

pytestmark = pytest.mark.client

CSV = """id,name,WKT
1,a,"POLYGON((5 52,5.1 52,5.1 52.1,5 52.1,5 52))"
2,b,"POLYGON((5.2 52.2,5.3 52.2,5.3 52.3,5.2 52.3,5.2 52.2))"
"""


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    skip_if_missing(gdal_available())
    src = tmp_path / "areas.csv"
    src.write_text(CSV)
    out = tmp_path / "areas.gpkg"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(out),
            str(src),
            "-nln",
            "areas",
            "-a_srs",
            "EPSG:4326",
            "-oo",
            "GEOM_POSSIBLE_NAMES=WKT",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def test_gdal_validate_gpkg(gpkg: Path, tmp_path: Path) -> None:
    ok, output = validate_gpkg(gpkg)
    assert ok, output
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage")
    ok, _ = validate_gpkg(bad)
    assert not ok


QGIS_RENDER = """
import sys
from qgis_boot import qgis_app, emit

def main(gpkg, png):
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsVectorLayer
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor
    layer = QgsVectorLayer(f"{gpkg}|layername=areas", "areas", "ogr")
    out = {"valid": layer.isValid(), "count": layer.featureCount(), "crs": layer.crs().authid()}
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setDestinationCrs(layer.crs())
    ms.setExtent(layer.extent())
    ms.setOutputSize(QSize(200, 150))
    ms.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    out["errors"] = [e.message for e in job.errors()]
    out["painted"] = sum(img.pixelColor(x, y) != QColor("white")
                         for x in range(0, 200, 4) for y in range(0, 150, 4))
    out["saved"] = img.save(png, "PNG")
    return out

with qgis_app() as app:
    result = main(sys.argv[1], sys.argv[2])
emit(result)
"""


def test_qgis_renders_gpkg(gpkg: Path, tmp_path: Path) -> None:
    skip_if_missing(qgis_available())
    script = tmp_path / "render.py"
    script.write_text(QGIS_RENDER)
    png = tmp_path / "map.png"
    res = run_qgis_script(script, gpkg, png)
    assert res.returncode == 0, res.stderr
    assert res.data["valid"] and res.data["count"] == 2 and res.data["crs"] == "EPSG:4326"
    assert res.data["errors"] == [] and res.data["saved"]
    assert res.data["painted"] > 50, res.data  # the two polygons were drawn
    assert _png_size(png) == (200, 150)


def test_chromium_console_requests_screenshot(tmp_path: Path) -> None:
    skip_if_missing(chromium_available())
    (tmp_path / "ok.css").write_text("h1 { color: green }")
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><head><title>smoke</title><link rel=stylesheet href=ok.css>"
        "</head><body><h1>kaart</h1><img src=missing.png>"
        "<script>console.log('hello'); console.error('boom', 42);"
        "setTimeout(() => notDefined(), 20);</script></body></html>"
    )
    shot = tmp_path / "shot.png"
    res = load_page(page, screenshot_path=shot, window_size=(640, 480))
    assert res.title == "smoke"
    assert res.requests[0] == page.resolve().as_uri()
    assert (tmp_path / "ok.css").as_uri() in res.requests
    assert (tmp_path / "missing.png").as_uri() in res.requests
    assert "boom 42" in res.console_errors
    assert any("notDefined is not defined" in e for e in res.console_errors)
    assert any("ERR_FILE_NOT_FOUND" in e and "missing.png" in e for e in res.console_errors)
    assert "log: hello" in res.console_messages
    assert res.screenshot == shot and _png_size(shot) == (640, 480)


def test_chromium_clean_page_has_no_errors(tmp_path: Path) -> None:
    skip_if_missing(chromium_available())
    page = tmp_path / "clean.html"
    page.write_text("<!doctype html><title>clean</title><p>ok</p>")
    res = load_page(page)
    assert res.console_errors == [] and res.requests == [page.resolve().as_uri()]
    assert res.screenshot is None


def test_postgis_roundtrip_with_ogr2ogr(gpkg: Path) -> None:
    skip_if_missing(postgis_skip_reason())
    dsn = postgis_dsn()
    assert dsn
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            ogr_pg(dsn),
            str(gpkg),
            "areas",
            "-nln",
            "ci_smoke_areas",
            "-overwrite",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    skip_if_missing(None if shutil.which("psql") else "psql not installed")
    out = subprocess.run(
        [
            "psql",
            "-X",
            "-tA",
            "-d",
            dsn,
            "-c",
            "SELECT count(*), ST_SRID(min(geom)::geometry) FROM ci_smoke_areas;"
            " DROP TABLE ci_smoke_areas",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert out.split()[0] == "2|4326"
