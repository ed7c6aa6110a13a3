"""Plan lists as planners have them: CSV (also gzipped), XLSX and ODS sheets with coordinates or WKT."""

from __future__ import annotations

import gzip
import math

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from spatialprog.config import project_from_dict
from spatialprog.errors import LayerReadError, LayerValidationError
from spatialprog.pipeline import compute, read_plan

from .conftest import ROOT

SUBS = {"path": str(ROOT / "layers" / "example_region.gpkg"), "layer": "onderstations",
        "columns": {"id": "code", "name": "naam", "voltage_kv": "spanning_kv", "n_transformers": "aantal_trafo",
                    "transformer_mva": "trafo_mva", "peak_offtake_mw": "piek_afname_mw",
                    "peak_feedin_mw": "piek_invoeding_mw", "installed_mva": "totaal_mva"}}
AREAS = {"path": str(ROOT / "layers" / "example_region.gpkg"), "layer": "voedingsgebieden",
         "columns": {"id": "vg_code", "substation_id": "station"}}
#: a plan list with Dutch headers, as a municipality keeps it (RD New; OS01's cell is x 170-177.5 km, y 430-436 km)
PLANS = pd.DataFrame({"plan": ["W1", "W2"], "naam": ["Brakel-Oost", "Brakel-West"], "woningen": ["300", "120"],
                      "start": ["2027", "2028"], "warmte": ["all_electric", "gas"],
                      "x_rd": ["173000", "174500,5"], "y_rd": ["433000", "433500"]})
COLUMNS = {"id": "plan", "name": "naam", "dwellings": "woningen", "delivery_start_year": "start", "heating": "warmte"}


def project(tmp_path, housing: dict):
    return project_from_dict({
        "project": {"name": "lijst", "base_year": 2025, "horizon": [2025, 2030]},
        "layers": {"substations": SUBS, "service_areas": AREAS, "housing_sites": housing},
    }, root=tmp_path)


def test_csv_with_rd_coordinates_and_a_radius(tmp_path):
    PLANS.to_csv(tmp_path / "plannen.csv", sep=";", index=False)   # Dutch CSV: semicolons, decimal comma
    p = project(tmp_path, {"path": "plannen.csv", "columns": COLUMNS, "crs": "EPSG:28992",
                           "geometry": {"x": "x_rd", "y": "y_rd", "radius_m": 150}})
    plan = read_plan(p)
    h = plan.layers["housing_sites"]
    assert h["id"].tolist() == ["W1", "W2"] and h["dwellings"].tolist() == [300, 120]
    assert h.geometry.iloc[1].centroid.x == pytest.approx(174500.5, abs=0.01)   # '174500,5' read as a number
    # a circle of 150 m: pi x 150^2 = 70,686 m2 (16 segments per quarter: within 0.3 %)
    assert h.area.iloc[0] == pytest.approx(math.pi * 150 ** 2, rel=3e-3)
    assert any("2 points became areas of radius 150 m" in n.message for n in plan.notices)
    r = compute(plan, variants=["basis"])
    assert set(r.assignment["substation_id"]) == {"OS01"}


def test_gzipped_csv_with_lon_lat(tmp_path):
    df = PLANS.assign(lon=["5.2512", "5.2700"], lat=["51.8550", "51.8590"]).drop(columns=["x_rd", "y_rd"])
    with gzip.open(tmp_path / "plannen.csv.gz", "wt", encoding="utf-8") as fh:
        df.to_csv(fh, index=False)
    p = project(tmp_path, {"path": "plannen.csv.gz", "columns": COLUMNS, "crs": "EPSG:4326",
                           "geometry": {"x": "lon", "y": "lat", "radius_m": 100}})
    h = read_plan(p).layers["housing_sites"]
    assert h.crs.to_epsg() == 28992 and len(h) == 2
    assert h.area.iloc[0] == pytest.approx(math.pi * 100 ** 2, rel=3e-3)   # buffered in metres, not degrees


@pytest.mark.parametrize("driver, suffix", [("XLSX", ".xlsx"), ("ODS", ".ods")])
def test_spreadsheet_with_a_wkt_column(tmp_path, driver, suffix):
    wkt = [shapely.box(173000, 433000, 173400, 433300).wkt, shapely.box(174000, 433000, 174200, 433500).wkt]
    df = PLANS.drop(columns=["x_rd", "y_rd"]).assign(vorm=wkt)
    pyogrio.write_dataframe(df, tmp_path / f"plannen{suffix}", driver=driver, layer="plannen")
    p = project(tmp_path, {"path": f"plannen{suffix}", "layer": "plannen", "columns": COLUMNS,
                           "crs": "EPSG:28992", "geometry": {"wkt": "vorm"}})
    h = read_plan(p).layers["housing_sites"]
    assert h.area.round(0).tolist() == [120000.0, 100000.0]


def test_coordinates_that_are_not_numbers_name_the_row_and_column(tmp_path):
    PLANS.assign(x_rd=["173000", "n.b."]).to_csv(tmp_path / "plannen.csv", index=False)
    p = project(tmp_path, {"path": "plannen.csv", "columns": COLUMNS, "crs": "EPSG:28992",
                           "geometry": {"x": "x_rd", "y": "y_rd", "radius_m": 150}})
    with pytest.raises(LayerValidationError, match=r"layers.housing_sites, feature row 3, field 'x_rd': row 3: "
                                                  r"'n.b.' in column 'x_rd' is not a number"):
        read_plan(p)


def test_points_in_a_housing_layer_without_a_radius_say_radius_m(tmp_path):
    PLANS.to_csv(tmp_path / "plannen.csv", index=False)
    p = project(tmp_path, {"path": "plannen.csv", "columns": COLUMNS, "crs": "EPSG:28992",
                           "geometry": {"x": "x_rd", "y": "y_rd"}})
    with pytest.raises(LayerValidationError, match=r"geometry is a Point, expected Polygon or MultiPolygon - .*"
                                                  r"radius_m = 150"):
        read_plan(p)
    # a point file (GeoJSON) too: geometry = { radius_m = ... } alone makes its points areas
    gpd.GeoDataFrame(PLANS.drop(columns=["x_rd", "y_rd"]), geometry=gpd.points_from_xy([173000, 174500], [433000, 433500]),
                     crs=28992).to_file(tmp_path / "punten.geojson", driver="GeoJSON")
    p = project(tmp_path, {"path": "punten.geojson", "columns": COLUMNS, "geometry": {"radius_m": 200}})
    assert read_plan(p).layers["housing_sites"].area.iloc[0] == pytest.approx(math.pi * 200 ** 2, rel=3e-3)


def test_a_table_without_its_geometry_declared_says_how(tmp_path):
    with gzip.open(tmp_path / "plannen.csv.gz", "wt", encoding="utf-8") as fh:
        PLANS.to_csv(fh, index=False)
    p = project(tmp_path, {"path": "plannen.csv.gz", "columns": COLUMNS, "crs": "EPSG:28992"})
    with pytest.raises(LayerReadError, match=r'geometry = \{ x = "x", y = "y" \}'):
        read_plan(p)
