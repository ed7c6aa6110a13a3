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


# ---- ids as the data have them: composite, or generated ----------------------------------------------

HUBS = pd.DataFrame({"operatorName": ["Vattenfall", "Shell Recharge", "Vattenfall"], "locationId": ["12", "12", "13"],
                     "punten": ["4", "8", "2"], "kw": ["22", "150", "11"], "jaar": ["2027", "2027", "2028"],
                     "x": ["173000", "173100", "173200"], "y": ["433000", "433100", "433200"]})
HUB_COLUMNS = {"charge_points": "punten", "kw_per_point": "kw", "year": "jaar"}


def hubs(tmp_path, df, ids):
    df.to_csv(tmp_path / "laadpunten.csv", index=False)
    return project_from_dict({
        "project": {"name": "laden", "base_year": 2025, "horizon": [2025, 2030]},
        "layers": {"substations": SUBS, "service_areas": AREAS,
                   "charging_hubs": {"path": "laadpunten.csv", "crs": "EPSG:28992", "columns": HUB_COLUMNS | {"id": ids},
                                     "constants": {"segment": "passenger"}, "geometry": {"x": "x", "y": "y"}}},
    }, root=tmp_path)


def test_a_composite_id_joins_its_columns(tmp_path):
    # locationId 12 occurs twice (ids are unique only per operator): with the operator they are unique
    h = read_plan(hubs(tmp_path, HUBS, ["operatorName", "locationId"])).layers["charging_hubs"]
    assert h["id"].tolist() == ["Vattenfall/12", "Shell Recharge/12", "Vattenfall/13"]


def test_a_composite_id_still_not_unique_names_both_rows(tmp_path):
    df = pd.concat([HUBS, HUBS.iloc[[0]]], ignore_index=True)
    with pytest.raises(LayerValidationError, match=r"feature Vattenfall/12, field 'id' \(column 'operatorName/locationId'\): id 'Vattenfall/12' occurs 2 "
                                                  r"times \(features #1, #4\) - ids must be unique within a layer; add "
                                                  r"a column to the composite id"):
        read_plan(hubs(tmp_path, df, ["operatorName", "locationId"]))


def test_auto_ids_are_generated_with_a_notice(tmp_path):
    plan = read_plan(hubs(tmp_path, HUBS, "auto"))
    assert plan.layers["charging_hubs"]["id"].tolist() == ["charging_hubs-1", "charging_hubs-2", "charging_hubs-3"]
    assert any("ids were generated" in n.message for n in plan.notices)


def test_only_the_id_may_be_composite(tmp_path):
    from spatialprog.errors import ProjectError

    with pytest.raises(ProjectError, match="only id may be made of several columns"):
        project_from_dict({"project": {"name": "x"}, "layers": {"substations": SUBS | {
            "columns": {**SUBS["columns"], "name": ["naam", "code"]}}}}, root=tmp_path)


@pytest.mark.realdata
def test_the_national_ndw_snapshot_has_four_ids_repeated_even_with_the_operator(tmp_path):
    """NDW's location ids are unique only per operator; with the operator 4 still repeat (as reported), each
    named with both rows, read from the gzipped CSV with lon/lat columns."""
    from .conftest import realdata

    f = realdata("charging_nl_ndw", "ndw_charging_locations_nl.csv.gz")
    p = project_from_dict({
        "project": {"name": "ndw", "base_year": 2025, "horizon": [2025, 2030]},
        "layers": {"substations": SUBS, "charging_hubs": {
            "path": str(f), "crs": "EPSG:4326", "geometry": {"x": "lon", "y": "lat"},
            "columns": {"id": ["operatorName", "locationId"], "name": "name", "segment": "layer"},
            "constants": {"charge_points": 1, "kw_per_point": 11, "year": 2026}}},
    }, root=tmp_path)
    with pytest.raises(LayerValidationError) as e:
        read_plan(p)
    dup = [x for x in e.value.problems if "occurs 2 times (features #" in x.message]
    assert len(dup) == 4 == len(e.value.problems)
    assert all(x.field == "id" and "/" in x.feature for x in dup)


def test_a_sheet_with_two_header_rows_is_read_from_its_second_row(tmp_path):
    """A title row above the header, as exported sheets often have: repaired and reported; row numbers stay true."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "plannen"
    ws.append(["Woningbouwplannen gemeente (fictief)", None, None, None, None, None, None])
    ws.append(list(PLANS.columns))
    for row in PLANS.assign(x_rd=["173000", "abc"]).itertuples(index=False):
        ws.append(list(row))
    wb.save(tmp_path / "plannen.xlsx")
    p = project(tmp_path, {"path": "plannen.xlsx", "columns": COLUMNS, "crs": "EPSG:28992",
                           "geometry": {"x": "x_rd", "y": "y_rd", "radius_m": 150}})
    with pytest.raises(LayerValidationError) as e:
        read_plan(p)
    # the bad x is in the sheet's row 4 (title, header, W1, W2)
    assert "row 4" in str(e.value) and "x_rd" in str(e.value)
    ws.cell(row=4, column=6, value="174500")
    wb.save(tmp_path / "plannen.xlsx")
    plan = read_plan(p)
    assert plan.layers["housing_sites"]["id"].tolist() == ["W1", "W2"]
    assert any("has two header rows: row 2 names the columns" in n.message for n in plan.notices)
