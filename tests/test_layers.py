"""Reading and validating layers: formats, mappings, and every kind of bad input."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from spatialprog.errors import CRSError, LayerReadError, LayerValidationError, NoticeLog
from spatialprog.layers import LAYER_KINDS, LayerSource, read_layer, schema_markdown, validate_layer

X0, Y0 = 150_000.0, 450_000.0


def housing(**over):
    data = {"id": ["H1", "H2"], "dwellings": [100, 50], "delivery_start_year": [2026, 2027],
            "heating": ["gas", "hybrid"]}
    data.update(over)
    return gpd.GeoDataFrame(data, geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
                            crs="EPSG:28992")


def problems(exc: LayerValidationError) -> list[str]:
    return exc.lines()


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("GeoJSON", ".geojson"), ("ESRI Shapefile", ".shp"),
                                           ("FlatGeobuf", ".fgb"), ("Parquet", ".parquet")])
def test_reads_every_format(tmp_path, driver, suffix):
    path = tmp_path / f"h{suffix}"
    # real files never have our names (and shapefiles cut names at 10 characters): map them
    gdf = housing().rename(columns={"dwellings": "woningen", "delivery_start_year": "start", "heating": "warmte"})
    if driver == "Parquet":
        gdf.to_parquet(path)
    else:
        gdf.to_file(path, driver=driver)
    mapping = {"dwellings": "woningen", "delivery_start_year": "start", "heating": "warmte"}
    out = read_layer(LayerSource(path=path, columns=mapping), "housing_sites").sort_values("id")
    assert out["id"].tolist() == ["H1", "H2"]  # FlatGeobuf stores features in spatial order
    assert out["dwellings"].tolist() == [100, 50]
    assert out.crs.to_epsg() == 28992


def test_named_layer_in_multilayer_file_and_mapping(tmp_path):
    path = tmp_path / "multi.gpkg"
    housing().to_file(path, layer="other", driver="GPKG")
    g = housing().rename(columns={"id": "plan", "dwellings": "woningen", "heating": "verwarming"})
    g["verwarming"] = ["warmtenet", "hybride"]
    g.to_file(path, layer="woningbouw", driver="GPKG")
    src = LayerSource(path=path, layer="woningbouw", columns={"id": "plan", "dwellings": "woningen", "heating": "verwarming"},
                      recode={"heating": {"warmtenet": "heat_network", "hybride": "hybrid"}})
    out = read_layer(src, "housing_sites")
    assert out["heating"].tolist() == ["heat_network", "hybrid"]
    with pytest.raises(LayerReadError, match="holds 2 layers"):
        read_layer(LayerSource(path=path), "housing_sites")
    with pytest.raises(LayerReadError, match="layer 'nope' is not in"):
        read_layer(LayerSource(path=path, layer="nope"), "housing_sites")


def test_missing_required_column(tmp_path):
    g = housing().drop(columns=["dwellings"])
    with pytest.raises(LayerValidationError) as e:
        validate_layer(g, "housing_sites")
    assert "field 'dwellings': required column is missing" in str(e.value)
    assert "[layers.housing_sites.columns]" in str(e.value)


def test_mapped_column_absent_names_both_names(tmp_path):
    path = tmp_path / "h.gpkg"
    housing().to_file(path)
    with pytest.raises(LayerValidationError) as e:
        read_layer(LayerSource(path=path, columns={"dwellings": "woningen"}, key="layers.housing_sites"), "housing_sites")
    assert "field 'dwellings' (column 'woningen'): mapped column 'woningen' is not in the file" in str(e.value)


def test_numeric_strings_accepted_and_reported_but_text_rejected():
    notices = NoticeLog()
    out = validate_layer(housing(dwellings=["138.0", "1,5e2"]), "housing_sites", notices=notices)
    assert out["dwellings"].tolist() == [138, 150]
    assert any("numbers stored as text" in n.message for n in notices)
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(dwellings=["abc", "12"]), "housing_sites")
    assert str(e.value) == ("housing_sites, feature H1, field 'dwellings': value 'abc' is not a whole number - correct "
                            "the value, or list it under na_values if it means 'none'")


def test_negative_dwellings():
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(dwellings=[100, -40]), "housing_sites")
    assert "feature H2, field 'dwellings': value -40 is below the minimum 0" in str(e.value)


def test_duplicate_ids():
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(id=["H1", "H1"]), "housing_sites")
    assert "feature H1, field 'id': id 'H1' occurs 2 times (features #1, #2) - ids must be unique" in str(e.value)


def test_unknown_heating_type_lists_allowed():
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(heating=["gas", "stoom"]), "housing_sites")
    assert "feature H2, field 'heating': unknown value 'stoom' - use one of: gas, hybrid, all_electric, heat_network" in str(e.value)


def test_all_problems_reported_together():
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(heating=["x", "y"], dwellings=[-1, 5]), "housing_sites")
    assert len(e.value.problems) == 3
    assert "and 2 more problems" in str(e.value)


def test_layer_without_crs_is_an_error_unless_declared(tmp_path):
    g = housing()[["id", "dwellings", "heating", "geometry"]]
    g["start"] = 2026
    # a shapefile without its .prj has no CRS (GeoJSON without one is WGS84 by its spec)
    shp = tmp_path / "h.shp"
    g.to_file(shp)
    shp.with_suffix(".prj").unlink()
    m = {"delivery_start_year": "start"}
    with pytest.raises(CRSError, match='has no CRS .* these numbers look like RD New: add crs = "EPSG:28992"'):
        read_layer(LayerSource(path=shp, columns=m), "housing_sites")
    out = read_layer(LayerSource(path=shp, crs="EPSG:28992", columns=m), "housing_sites")
    assert out.crs.to_epsg() == 28992


def test_lonlat_labelled_rd_is_caught():
    g = gpd.GeoDataFrame({"id": ["S1"], "peak_offtake_mw": [10.0], "installed_mva": [20.0]},
                         geometry=[Point(5.1, 52.1)], crs="EPSG:28992")
    with pytest.raises(CRSError, match="look like longitude/latitude"):
        validate_layer(g, "substations")


def test_lonlat_declared_is_reprojected():
    g = gpd.GeoDataFrame({"id": ["S1"], "peak_offtake_mw": [10.0], "installed_mva": [20.0]},
                         geometry=[Point(5.387, 52.156)], crs="EPSG:4326")  # Amersfoort
    out = validate_layer(g, "substations")
    x, y = out.geometry.iat[0].x, out.geometry.iat[0].y
    assert abs(x - 155_000) < 1000 and abs(y - 463_000) < 1000


def test_invalid_polygon_repaired_and_reported():
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)])
    g = housing()
    g.loc[1, "geometry"] = bowtie
    notices = NoticeLog()
    out = validate_layer(g, "housing_sites", notices=notices)
    assert out.geometry.is_valid.all()
    assert out.geometry.iat[1].area == pytest.approx(5000.0)  # two triangles of 50 x 100 / 2 each... 2 x 2500
    assert [n.feature for n in notices if "repaired" in n.message] == ["H2"]


def test_empty_layer_allowed_and_reported():
    g = housing().iloc[0:0]
    notices = NoticeLog()
    out = validate_layer(g, "housing_sites", notices=notices)
    assert len(out) == 0
    assert any("empty" in n.message for n in notices)


def test_wrong_geometry_type():
    g = housing()
    g.loc[0, "geometry"] = Point(X0, Y0)
    with pytest.raises(LayerValidationError, match="geometry is a Point, expected Polygon or MultiPolygon"):
        validate_layer(g, "housing_sites")


def test_path_that_does_not_exist(tmp_path):
    with pytest.raises(LayerReadError, match="does not exist - check 'path'"):
        read_layer(LayerSource(path=tmp_path / "nope.gpkg", key="layers.housing_sites"), "housing_sites")


def test_corrupt_file(tmp_path):
    p = tmp_path / "broken.gpkg"
    p.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 100)
    with pytest.raises(LayerReadError, match="cannot (open|read)"):
        read_layer(LayerSource(path=p), "housing_sites")
    q = tmp_path / "broken.geojson"
    q.write_text('{"type": "FeatureCollection", "features": [ {"type": "Feat')
    with pytest.raises(LayerReadError):
        read_layer(LayerSource(path=q), "housing_sites")


def test_substation_without_capacity_or_load():
    g = gpd.GeoDataFrame({"id": ["S1"], "name": ["x"]}, geometry=[Point(X0, Y0)], crs="EPSG:28992")
    with pytest.raises(LayerValidationError) as e:
        validate_layer(g, "substations")
    lines = e.value.lines()
    assert any("no capacity given" in line for line in lines)
    assert any("no current load given" in line for line in lines)


def test_phasing_must_add_up():
    g = housing(phasing=["2026:60;2027:40", "2027:10"])
    with pytest.raises(LayerValidationError, match="phasing adds up to 10 dwellings but dwellings is 50"):
        validate_layer(g, "housing_sites")


def test_bbox_reads_only_nearby(tmp_path):
    path = tmp_path / "h.gpkg"
    housing().to_file(path)
    out = read_layer(LayerSource(path=path), "housing_sites", bbox=(X0 - 10, Y0 - 10, X0 + 110, Y0 + 110))
    assert out["id"].tolist() == ["H1"]


def test_schema_is_the_single_source_of_the_layer_reference():
    md = schema_markdown()
    for kind in LAYER_KINDS.values():
        assert f"### `{kind.name}`" in md
        for c in kind.columns:
            assert f"| {c.name} |" in md
            assert c.alias_nl, f"{kind.name}.{c.name} has no Dutch alias"


def test_year_values_are_integers():
    out = validate_layer(housing(delivery_start_year=[2026.0, 2027.0]), "housing_sites")
    assert out["delivery_start_year"].tolist() == [2026, 2027]
    assert pd.api.types.is_integer_dtype(out["delivery_start_year"].dtype)


@pytest.mark.realdata
def test_the_national_natura2000_file_with_its_north_sea_sites_is_accepted():
    """The Dutch EEZ is in the plausibility box: Doggersbank lies at about x -15 km, y 853 km in RD New."""
    from spatialprog.kinds import CONSTRAINT

    from .conftest import realdata

    path = realdata("natura2000_nl", "natura2000_nl_simplified20m.geojson")
    n = read_layer(LayerSource(path=path, columns={"id": "sitecode", "name": "naam"}, key="constraints.natura2000"),
                   CONSTRAINT)
    assert len(n) == 144
    minx, miny, maxx, maxy = n.total_bounds
    assert minx < -10_000 and maxy > 850_000     # the North Sea sites, not refused
    dogger = n[n["name"].str.contains("Doggersbank")]
    assert len(dogger) == 1 and dogger.geometry.iloc[0].centroid.y > 750_000   # about 200 km off the coast


@pytest.mark.parametrize("dtype", ["float64", "int64", "Int64", "Float64", "bool", "boolean"])
@pytest.mark.parametrize("schema", ["float", "int", "year"])
def test_a_numeric_column_is_read_as_the_same_numbers_as_the_same_values_given_as_objects(dtype, schema):
    """Numbers that are numbers already (a GeoPackage's columns) skip reading text: the same values, the same
    unreadable cells (infinite, a fraction where a whole number is asked) as the general path gives."""
    import numpy as np

    from spatialprog.kinds import Column
    from spatialprog.validation import _coerce

    rng = np.random.default_rng(7)
    raw = np.concatenate([rng.normal(0, 1e3, 40), np.round(rng.normal(0, 50, 40)), [np.nan, np.inf, -np.inf, 0.5, 2]])
    if dtype in ("bool", "boolean"):
        values = pd.Series(rng.random(len(raw)) < 0.5, index=rng.permutation(len(raw)) * 2).astype(dtype)
        if dtype == "boolean":
            values.iloc[3] = pd.NA
    elif dtype in ("int64", "Int64"):
        values = pd.Series(np.round(np.nan_to_num(raw, nan=1, posinf=9, neginf=-9)).astype("int64"), index=rng.permutation(len(raw)) * 2).astype(dtype)
        if dtype == "Int64":
            values.iloc[5] = pd.NA
    else:
        values = pd.Series(raw, index=rng.permutation(len(raw)) * 2).astype(dtype)
    col = Column("x", schema)
    fast, fast_bad, fast_text = _coerce(values, col, set())
    general, general_bad, general_text = _coerce(values.astype(object), col, set())  # the path that reads text
    assert values.dtype.kind in "iufb"  # the fast path was taken
    pd.testing.assert_series_equal(fast, general, check_names=False)
    pd.testing.assert_series_equal(fast_bad, general_bad, check_names=False)
    assert fast_text is general_text is False
    if dtype == "float64":
        assert fast_bad.sum() >= 2 + (schema != "float")  # the infinities, and 0.5 where whole numbers are asked


@pytest.mark.parametrize("dtype", ["object", "string"])
def test_a_text_column_is_read_as_the_same_texts_as_by_the_general_path(dtype):
    """Texts only (a GeoPackage's text columns) are stripped as one array: the same texts and missing cells as
    the path that looks at each value (a marker of ``na_values`` or a blank is missing)."""
    from spatialprog.kinds import Column
    from spatialprog.validation import _coerce

    cells = ["  Zwolle ", "n.v.t.", " n.v.t. ", "", "   ", None, "=1+1", "\tTab", "Oost\n", "-", "ABC", "é ", "nan"]
    values = pd.Series(cells * 3, index=[f"r{i}" for i in range(len(cells) * 3)], dtype=dtype)
    col = Column("x", "str")
    fast, bad, text = _coerce(values, col, {"n.v.t.", "-"})
    mixed = pd.concat([values.astype(object), pd.Series([7], index=["int"])])  # one number: the general path
    general, _, _ = _coerce(mixed, col, {"n.v.t.", "-"})
    pd.testing.assert_series_equal(fast, general.drop("int"), check_names=False)
    assert fast.dtype == object and not bad.any() and text is False
    assert fast.iloc[0] == "Zwolle" and fast.iloc[1:6].isna().all() and fast.iloc[6] == "=1+1"


def test_an_empty_text_column_stays_a_column_of_text():
    from spatialprog.kinds import Column
    from spatialprog.validation import _coerce

    for values in (pd.Series([float("nan")] * 3), pd.Series([None] * 3, dtype=object), pd.Series([], dtype=object)):
        out, _, _ = _coerce(values, Column("x", "str"), set())
        assert out.dtype == object and out.isna().all()
        assert out.map(lambda v: v).dtype == object  # as the allowed-values check maps it: still text, not float
