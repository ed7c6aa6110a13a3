"""Burning geometries onto the siting grid (spatialprog.siting.grid): the fast paths give GDAL's and the pairwise cells."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.enums import MergeAlg
from rasterio.features import rasterize
from shapely.geometry import box

from spatialprog.siting import grid as grid_module
from spatialprog.siting.grid import Grid, geojson_shapes


def _mixed(rng: np.random.Generator, n: int) -> list[shapely.Geometry]:
    """Every kind the siting layers hold: boxes, circles, holes, multipolygons, lines, points, shapes on cell edges."""
    x, y = rng.uniform(900, 2600, n), rng.uniform(700, 2100, n)
    out = [shapely.affinity.rotate(box(a, b, a + w, b + h), t) for a, b, w, h, t in
           zip(x, y, rng.uniform(5, 200, n), rng.uniform(5, 120, n), rng.uniform(0, 90, n), strict=True)]
    out += list(shapely.buffer(shapely.points(x[:10], y[:10]), rng.uniform(10, 90, 10)))
    out += [box(1100, 1100, 1500, 1500).difference(box(1200, 1200, 1400, 1400)),
            shapely.MultiPolygon([box(2000, 1000, 2100, 1100), box(2200, 1000, 2300, 1200)]),
            box(1025, 1025, 1100, 1150),  # edges on cell edges
            shapely.LineString([(1000, 1000), (1800, 1700), (2400, 1650)]),
            shapely.MultiLineString([[(1100, 1900), (1500, 1900)], [(1600, 800), (1600, 1300)]]),
            shapely.LinearRing([(1300, 1300), (1400, 1300), (1400, 1450)]),
            shapely.Point(1512.5, 1312.5), shapely.Point(1500.0, 1300.0),
            shapely.MultiPoint([(1200, 1200), (2200, 1500)]),
            shapely.Polygon([(1700, 1700, 5.0), (1800, 1700, 5.0), (1800, 1800, 5.0)]),  # with Z
            shapely.GeometryCollection([shapely.Point(1010, 1010), box(2400, 1800, 2450, 1900)])]
    return out


@pytest.mark.parametrize("all_touched", [False, True])
def test_geojson_shapes_burn_the_cells_of_the_geometries_themselves(all_touched):
    rng = np.random.default_rng(3)
    g = Grid(x0=1000.0, y0=2000.0, cell_m=25.0, width=60, height=50)
    shapes = _mixed(rng, 40)
    values = rng.uniform(0.5, 3.0, len(shapes))
    for merge in (MergeAlg.replace, MergeAlg.add):
        kw = {"out_shape": g.shape, "transform": g.transform, "all_touched": all_touched, "merge_alg": merge,
              "dtype": "float64"}
        plain = rasterize(list(zip(shapes, values, strict=True)), **kw)
        fast = rasterize(geojson_shapes(np.array(shapes, dtype=object), values), **kw)
        assert np.array_equal(plain, fast)  # byte for byte: the same shapes burnt in the same order


def test_geojson_shapes_keep_coordinates_rings_and_parts():
    poly = box(0, 0, 10, 10).difference(box(2, 2, 4, 4))
    (shape, value), = geojson_shapes(np.array([poly], dtype=object), np.array([3.0]))
    assert value == 3.0 and shape["type"] == "MultiPolygon"
    assert [list(r) for r in shape["coordinates"][0]] == [list(r) for r in poly.__geo_interface__["coordinates"]]
    multi = shapely.MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    arr = np.array([multi, box(7, 7, 8, 8), box(9, 9, 10, 10), shapely.Point(0, 0), box(0, 0, 2, 2)], dtype=object)
    shapes = geojson_shapes(arr, np.array([1.0, 1.0, 2.0, 2.0, 2.0]))
    # polygons in a row with one value go together (rasterio splits them again), the rest one by one
    assert [(s["type"], len(s["coordinates"]), v) for s, v in shapes] == \
        [("MultiPolygon", 3, 1.0), ("MultiPolygon", 1, 2.0), ("Point", 2, 2.0), ("MultiPolygon", 1, 2.0)]


@st.composite
def polygons(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n = draw(st.integers(1, 12))
    cx, cy = rng.uniform(800, 2700, n), rng.uniform(600, 2200, n)
    r = rng.uniform(20, 600, n)
    kind = draw(st.sampled_from(["circle", "star", "box", "hull"]))
    if kind == "circle":
        geoms = list(shapely.buffer(shapely.points(cx, cy), r, quad_segs=int(rng.integers(1, 16))))
    elif kind == "star":
        geoms = []
        for x, y, rad in zip(cx, cy, r, strict=True):
            t = np.linspace(0, 2 * np.pi, 17)[:-1]
            rr = rad * np.where(np.arange(16) % 2, 0.4, 1.0)
            geoms.append(shapely.Polygon(np.c_[x + rr * np.cos(t), y + rr * np.sin(t)]))
    elif kind == "hull":  # corners on cell centres: edges through centres, where GDAL leaves some out
        geoms = [shapely.convex_hull(shapely.multipoints(1012.5 + 25.0 * rng.integers(0, 60, (int(rng.integers(3, 8)),
                                                                                             2)))) for _ in range(n)]
        geoms = [x for x in geoms if x.geom_type == "Polygon"] or [box(1100, 1100, 1300, 1250)]
    else:  # on whole and half cells: centres exactly on the boundary
        a = np.round(cx / 12.5) * 12.5
        b = np.round(cy / 12.5) * 12.5
        geoms = list(shapely.box(a, b, a + np.round(r / 12.5) * 12.5, b + np.round(r / 25) * 12.5))
    if draw(st.booleans()) and len(geoms) > 1:
        geoms = [geoms[0].difference(geoms[1].buffer(-5)) if not geoms[1].buffer(-5).is_empty else geoms[0],
                 *geoms[1:]]
    return geoms, rng.uniform(0.1, 5.0, len(geoms))


def test_gdal_alone_leaves_out_centres_on_the_edges_the_large_path_puts_back():
    """Why the large path tests the boundary's cells again: GDAL drops some centres that lie on an edge."""
    g = Grid(x0=1000.0, y0=2000.0, cell_m=25.0, width=60, height=50)
    p = shapely.Polygon([(1037.5, 1087.5), (1012.5, 1187.5), (1812.5, 1637.5), (1912.5, 1512.5)])
    gdal = rasterize([(p, 1)], out_shape=g.shape, transform=g.transform, dtype="uint8")
    x, y = g.centre(*np.nonzero(np.ones(g.shape, dtype=bool)))
    exact = shapely.intersects_xy(p, x, y).reshape(g.shape)
    assert (gdal.astype(bool) <= exact).all() and gdal.sum() < exact.sum()
    # its bounding box: the rows of centres 1637.5 .. 1087.5 (14 .. 36), the columns of 1012.5 .. 1912.5 (0 .. 36)
    assert np.array_equal(g._large_hits(p, 14, 36, 0, 36), np.flatnonzero(exact))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygons())
def test_a_large_polygon_burnt_near_its_boundary_only_gives_the_pairwise_cells(case):
    """Every polygon through the large path: the same cells, and sums added in the same order (byte for byte)."""
    geoms, values = case
    g = Grid(x0=1000.0, y0=2000.0, cell_m=25.0, width=60, height=50)
    arr = np.array(geoms, dtype=object)
    keep = ~shapely.is_empty(arr)
    arr, values = arr[keep], values[keep]
    if not len(arr):
        return
    runs = [(add, pairs) for add in (False, True) for pairs in (4_000_000, 40)]
    pairwise = [g._burn_centres(arr, values, add=add, dtype="float64", max_pairs=pairs) for add, pairs in runs]
    old = grid_module._LARGE_CELLS
    grid_module._LARGE_CELLS = 0
    try:
        large = [g._burn_centres(arr, values, add=add, dtype="float64", max_pairs=pairs) for add, pairs in runs]
    finally:
        grid_module._LARGE_CELLS = old
    for a, b in zip(large, pairwise, strict=True):
        assert np.array_equal(a, b)


def test_exclusion_zones_made_once_give_every_window_its_own_exclusion():
    """The windows of a national run share one set of zones; each window still gets what it would alone."""
    import geopandas as gpd

    from spatialprog.conflicts import Rule, RuleSet
    from spatialprog.siting.surfaces import exclusion, exclusion_zones

    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 2000, 80), rng.uniform(0, 2000, 80)
    house = gpd.GeoDataFrame({"id": [f"H{i}" for i in range(80)]},
                             geometry=list(shapely.box(x, y, x + rng.uniform(10, 80, 80), y + 40)), crs="EPSG:28992")
    nature = gpd.GeoDataFrame({"id": ["N"]}, geometry=[box(900, 900, 1300, 1100)], crs="EPSG:28992")
    rules = RuleSet((Rule("A", "housing_sites", "substation_reserves", "overlap", "hoog", "x"),
                     Rule("B", "housing_sites", "substations", "within_distance", "middel", "x", distance_m=30.0)))
    layers = {"housing_sites": house, "wetland": nature}
    kw = {"capacity_mva": 80.0, "min_severity": 2, "constraints": ("wetland",)}
    zones = exclusion_zones(layers, rules, **kw)
    windows = [Grid(x0=0.0, y0=1000.0, cell_m=25.0, width=40, height=40),
               Grid(x0=500.0, y0=1500.0, cell_m=25.0, width=40, height=40),  # overlaps the first
               Grid(x0=5000.0, y0=9000.0, cell_m=25.0, width=10, height=10)]  # nothing near
    for g in windows:
        assert np.array_equal(exclusion(g, layers, rules, zones=zones, **kw), exclusion(g, layers, rules, **kw))
    grown = zones[1].grown  # the 30 m zones: grown only where a window reached them
    assert 0 < int((~shapely.is_missing(grown)).sum()) < len(grown)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1.0, 2.0, 4.0, 25.0]),
       st.integers(-12, 30), st.integers(-12, 30), st.integers(0, 14), st.integers(0, 14),
       st.sampled_from([1.0, 3.0, 12.5, 25.0, 40.0]), st.integers(0, 3))
def test_resample_is_the_gather_by_coarse_cell(cw, ch, ov, fx, fy, fw, fh, cell, seed):
    """The overview factors at a window's fine cells: the plain gather ``arr[np.ix_(row, column)]`` of the coarse
    cell each fine centre lies in (clipped to the grid), whatever the sizes, offsets and steps; ties included."""
    coarse = Grid(x0=0.0, y0=ch * 25.0 * ov, cell_m=25.0 * ov, width=cw, height=ch)
    fine = Grid(x0=fx * 10.0, y0=ch * 25.0 * ov - fy * 10.0, cell_m=cell, width=fw, height=fh)
    arr = np.random.default_rng(seed).integers(0, 3, size=coarse.shape).astype("float32")  # many equal values
    arr[0, 0] = np.nan
    x, y = fine.centre(np.arange(fine.height), np.arange(fine.width))
    ci = np.clip(np.floor((x - coarse.x0) / coarse.cell_m).astype(np.int64), 0, coarse.width - 1)
    ri = np.clip(np.floor((coarse.y0 - y) / coarse.cell_m).astype(np.int64), 0, coarse.height - 1)
    got = coarse.resample(arr, fine)
    assert got.dtype == arr.dtype and got.shape == fine.shape
    np.testing.assert_array_equal(got, arr[np.ix_(ri, ci)])
