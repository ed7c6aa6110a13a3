"""The fast spatial kernels against the plain shapely 2 answer they replace, on random data.

Each kernel is checked, for random inputs drawn by hypothesis, against the
straightforward shapely computation: the label grid of point assignment
(:func:`spatialprog.network.point_area_labels`) against one STRtree
``intersects`` query, the KD-tree nearest substation
(:func:`spatialprog.network.nearest_within`) against ``query_nearest``, the
overlap and distance kernels of the conflicts engine against the full pair
matrix, and the heat-network share against the intersection with the union of
all networks supplying that year. The data lean on the hard cases: shared and
touching boundaries, points on edges, vertices and grid-cell edges, equal
distances, one polygon inside another, empty inputs and a single area.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPoint, Point, box

from spatialprog import fields as F
from spatialprog import network
from spatialprog.conflicts import TOUCH_TOLERANCE_M2, overlap_pairs, pairs_within_distance
from spatialprog.demand import heat_network_share
from spatialprog.network import (
    assign_sites,
    derive_service_areas,
    nearest_within,
    point_area_labels,
)

EXTENT = 100.0

# ---- strategies ------------------------------------------------------------------------------


@st.composite
def tiles(draw) -> list:
    """Areas sharing their edges exactly: a grid of boxes, some left out, one with a hole."""
    nx, ny = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    w, h = EXTENT / nx, EXTENT / ny
    out = [box(i * w, j * h, (i + 1) * w, (j + 1) * h) for i in range(nx) for j in range(ny)]
    keep = draw(st.lists(st.booleans(), min_size=len(out), max_size=len(out)))
    out = [g for g, k in zip(out, keep, strict=True) if k] or out[:1]
    if draw(st.booleans()):
        x0, y0, x1, y1 = out[0].bounds
        out[0] = out[0].difference(box(x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4, x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2))
    return out


@st.composite
def areas_strategy(draw) -> np.ndarray:
    kind = draw(st.sampled_from(["tiles", "voronoi", "single", "overlapping", "detailed"]))
    if kind == "tiles":
        out = draw(tiles())
    elif kind == "voronoi":
        pts = draw(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=2, max_size=12, unique=True))
        subs = gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(pts))]},
                                geometry=[Point(x * 5.0, y * 5.0) for x, y in pts], crs=28992)
        out = list(derive_service_areas(subs, box(0, 0, EXTENT, EXTENT)).geometry)
    elif kind == "single":
        out = [box(10, 10, 90, 70)]
    elif kind == "overlapping":
        rects = draw(st.lists(st.tuples(st.integers(0, 18), st.integers(0, 18), st.integers(1, 10), st.integers(1, 10)),
                              min_size=1, max_size=6))
        out = [box(x * 5.0, y * 5.0, (x + w) * 5.0, (y + h) * 5.0) for x, y, w, h in rects]
    else:  # many vertices per area: the exact tests go through a tree on the points
        out = [Point(30, 30).buffer(25, quad_segs=32), Point(70, 60).buffer(30, quad_segs=40),
               box(0, 0, 100, 100).difference(Point(30, 30).buffer(25, quad_segs=32))]
    if draw(st.booleans()):
        out = [*out, None, shapely.Polygon()]
    return np.array(out, dtype=object)


coord = st.one_of(st.integers(-4, 44).map(lambda i: i * 2.5), st.floats(-10, 110, allow_nan=False))
point_strategy = st.builds(Point, coord, coord)
other_geometry = st.sampled_from([Point(), None, LineString([(0, 0), (50, 50)]), MultiPoint([(5, 5), (200, 200)]),
                                  LineString([(150, 150), (160, 170)])])
points_strategy = st.lists(st.one_of(point_strategy, point_strategy, point_strategy, other_geometry),
                           min_size=0, max_size=60)


def first_by_priority(points: np.ndarray, areas: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """The plain answer: one STRtree ``intersects`` query, the lowest priority per point."""
    qi, ai = shapely.STRtree(areas).query(points, predicate="intersects")
    out = np.full(len(points), -1)
    for q, a in zip(qi.tolist(), ai.tolist(), strict=True):
        out[q] = priority[a] if out[q] < 0 else min(out[q], priority[a])
    return out


# ---- points to areas: the label grid ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(areas_strategy(), points_strategy, st.sampled_from([None, 0.7, 1.0, 2.5, 5.0, 10.0, 33.0]), st.randoms())
def test_point_area_labels_equal_the_plain_query(areas, points, cell_m, rnd):
    # a point at the origin makes the grid start there, so points on multiples of 2.5 lie on cell edges
    points = np.array([Point(0, 0), *points], dtype=object)
    priority = np.array([rnd.randrange(0, 4) for _ in areas])  # repeats: two areas of one substation
    got = point_area_labels(points, areas, priority, cell_m=cell_m)
    assert got.tolist() == first_by_priority(points, areas, priority).tolist()


def test_point_area_labels_on_boundaries_vertices_and_cell_edges():
    areas = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10), box(0, 10, 20, 20)], dtype=object)
    # edges and corners shared by two or three areas, cell edges of a 5 m grid, outside, a vertex
    pts = shapely.points([0, 10, 10, 5, 15, 20, 20.0000001, 10, 7.5, 0], [0, 5, 10, 5, 10, 20, 20, 0, 12.5, 20])
    got = point_area_labels(pts, areas, np.array([2, 0, 1]), cell_m=5.0)
    assert got.tolist() == first_by_priority(pts, areas, np.array([2, 0, 1])).tolist()
    assert got.tolist() == [2, 0, 0, 2, 0, 1, -1, 0, 1, 1]


def test_point_area_labels_large_random_grid_path():
    # above GRID_MIN_POINTS the default grid is used
    rng = np.random.default_rng(11)
    subs = gpd.GeoDataFrame({"id": [f"S{i}" for i in range(40)]},
                            geometry=shapely.points(rng.uniform(0, 10_000, (40, 2))), crs=28992)
    areas = np.asarray(derive_service_areas(subs, box(0, 0, 10_000, 10_000)).geometry.values)
    xy = rng.uniform(-500, 10_500, (network.GRID_MIN_POINTS + 5000, 2))
    xy[:2000] = np.round(xy[:2000] / 250) * 250  # many on the grid of the region's edges
    pts = shapely.points(xy)
    priority = rng.permutation(len(areas))
    assert np.array_equal(point_area_labels(pts, areas, priority), first_by_priority(pts, areas, priority))


def test_point_area_labels_empty_inputs():
    areas = np.array([box(0, 0, 1, 1)], dtype=object)
    assert point_area_labels(np.array([], dtype=object), areas, np.array([0])).tolist() == []
    pts = shapely.points([0.5, 2.0], [0.5, 2.0])
    assert point_area_labels(pts, np.array([], dtype=object), np.array([], dtype=int)).tolist() == [-1, -1]
    assert point_area_labels(pts, np.array([None], dtype=object), np.array([0]), cell_m=1.0).tolist() == [-1, -1]


# ---- nearest substation: the KD-tree -------------------------------------------------------


def nearest_plain(query: np.ndarray, stations: np.ndarray, max_distance_m: float,
                  priority: np.ndarray) -> dict[int, tuple[int, float]]:
    """query position -> (priority, distance) of the nearest station, ties to the lowest priority."""
    qi, ti = shapely.STRtree(stations).query_nearest(query, max_distance=max_distance_m, all_matches=True)
    dist = shapely.distance(query[qi], stations[ti])
    out: dict[int, tuple[int, float]] = {}
    for q, t, d in zip(qi.tolist(), ti.tolist(), dist.tolist(), strict=True):
        out[q] = min(out.get(q, (priority[t], d)), (priority[t], d), key=lambda pd_: (pd_[1], pd_[0]))
    return out


grid_xy = st.tuples(st.integers(-5, 25), st.integers(-5, 25))


@settings(max_examples=150, deadline=None)
@given(st.lists(grid_xy, min_size=1, max_size=25), st.lists(st.one_of(grid_xy.map(lambda t: Point(*t)),
       st.builds(Point, st.floats(-5, 25), st.floats(-5, 25)), other_geometry,
       st.builds(lambda x, y: box(x, y, x + 2, y + 1), st.integers(-5, 25), st.integers(-5, 25))), max_size=40),
       st.sampled_from([0.5, 1.0, 2.0, 5.0, 1e9]), st.booleans(), st.randoms())
def test_nearest_within_equals_query_nearest(stations_xy, query, max_distance_m, threaded, rnd):
    # integer coordinates: equal distances everywhere (3-4-5 triangles reach max_distance exactly), and
    # repeated station coordinates with different priorities
    stations = shapely.points(np.array(stations_xy, dtype=float) * [1.0, 1.0])
    if rnd.random() < 0.3:
        stations = np.concatenate([stations, stations[:3]])
    priority = np.array([rnd.randrange(0, 6) for _ in stations])
    query = np.array(query, dtype=object)
    with pytest.MonkeyPatch.context() as mp:
        if threaded:  # however few the points: in Morton order, in one slice per CPU
            mp.setattr(network, "_MORTON_MIN_POINTS", 1)
            mp.setattr(network, "_KD_PARALLEL_MIN", 1)
        qi, ti, dist = nearest_within(query, stations, max_distance_m, priority)
    want = nearest_plain(query, stations, max_distance_m, priority)
    assert qi.tolist() == sorted(want)
    assert [(int(priority[t]), float(d)) for t, d in zip(ti, dist, strict=True)] == [want[q] for q in qi.tolist()]
    assert np.array_equal(dist, shapely.distance(query[qi], stations[ti]))


def test_nearest_within_large_random_and_empty():
    rng = np.random.default_rng(5)
    stations = shapely.points(rng.uniform(0, 50_000, (3000, 2)))
    query = shapely.points(rng.uniform(-2000, 52_000, (20_000, 2)))
    priority = rng.permutation(3000)
    qi, ti, dist = nearest_within(query, stations, 700.0, priority)
    want = nearest_plain(query, stations, 700.0, priority)
    assert qi.tolist() == sorted(want)
    assert [(int(priority[t]), float(d)) for t, d in zip(ti, dist, strict=True)] == [want[q] for q in qi.tolist()]
    empty = nearest_within(np.array([], dtype=object), stations, 700.0, priority)
    assert [len(x) for x in empty] == [0, 0, 0]


@pytest.mark.parametrize("morton_from", [1, 10**9])
def test_nearest_within_ties_in_morton_order(monkeypatch, morton_from):
    # queries in Morton order (or not) on an integer grid full of equal distances and repeated stations
    monkeypatch.setattr(network, "_MORTON_MIN_POINTS", morton_from)
    monkeypatch.setattr(network, "_KD_PARALLEL_MIN", morton_from)
    rng = np.random.default_rng(8)
    sxy = rng.integers(0, 60, (400, 2)).astype(float)
    stations = shapely.points(np.concatenate([sxy, sxy[:50]]))
    query = shapely.points(np.concatenate([rng.integers(-5, 65, (3000, 2)), rng.uniform(-5, 65, (1000, 2))]))
    priority = rng.integers(0, 40, len(stations))
    qi, ti, dist = nearest_within(query, stations, 3.0, priority)
    want = nearest_plain(query, stations, 3.0, priority)
    assert qi.tolist() == sorted(want)
    assert [(int(priority[t]), float(d)) for t, d in zip(ti, dist, strict=True)] == [want[q] for q in qi.tolist()]


# ---- assign_sites through the kernels -------------------------------------------------------


def _stations_and_areas(areas, names, rnd):
    """Five substations called ``names`` on a 100 m square, and the non-empty ``areas`` as their service areas,
    each given to one of them at random; returns (areas, their substation ids, substations, service areas)."""
    areas = [g for g in areas if g is not None and not g.is_empty]
    sub_ids = [rnd.choice(names) for _ in areas]
    subs = gpd.GeoDataFrame({"id": names},
                            geometry=shapely.points([[0, 0], [100, 0], [50, 50], [0, 100], [100, 100]]), crs=28992)
    sa = gpd.GeoDataFrame({"id": [f"SA{i}" for i in range(len(areas))], "substation_id": sub_ids},
                          geometry=areas, crs=28992)
    return areas, sub_ids, subs, sa


@settings(max_examples=60, deadline=None)
@given(areas_strategy(), st.lists(point_strategy, min_size=1, max_size=50), st.sampled_from(["nearest", "unassigned"]),
       st.booleans(), st.randoms())
def test_assign_sites_points_equal_the_plain_answer(areas, points, outside, grid, rnd):
    areas, sub_ids, subs, sa = _stations_and_areas(areas, ["A", "B", "C", "~", "é"], rnd)
    ids = [f"P{i:03d}" for i in range(len(points))]
    rnd.shuffle(ids)
    pts = gpd.GeoDataFrame({F.LAYER: "housing_sites", F.SITE_ID: ids}, geometry=points, crs=28992)
    with pytest.MonkeyPatch.context() as mp:
        if grid:  # every point set, however small, goes through the label grid
            mp.setattr(network, "GRID_MIN_POINTS", 0)
        got = assign_sites(pts, subs, sa, method="service_areas", max_distance_m=30.0, outside=outside)
    # the plain answer, point by point
    agem, sgem = np.asarray(sa.geometry.values), np.asarray(subs.geometry.values)
    rows = []
    for sid, p in zip(ids, points, strict=True):
        inside = sorted(sub_ids[i] for i in shapely.STRtree(agem).query(p, predicate="intersects"))
        if inside:
            rows.append((sid, inside[0], "service_area", 0.0))
            continue
        qi, ti = shapely.STRtree(sgem).query_nearest([p], max_distance=30.0, all_matches=True)
        near = sorted((float(shapely.distance(p, sgem[t])), subs["id"].iat[t]) for t in ti)
        if near and outside == "nearest":
            rows.append((sid, near[0][1], "nearest", near[0][0]))
        else:
            rows.append((sid, None, "unassigned", np.nan))
    want = pd.DataFrame(sorted(rows), columns=[F.SITE_ID, F.SUBSTATION_ID, F.METHOD, F.DIST_M])
    assert got[F.SITE_ID].tolist() == want[F.SITE_ID].tolist()
    assert got[F.SUBSTATION_ID].fillna("-").tolist() == want[F.SUBSTATION_ID].fillna("-").tolist()
    assert got[F.METHOD].tolist() == want[F.METHOD].tolist()
    np.testing.assert_array_equal(got[F.DIST_M].to_numpy(), want[F.DIST_M].to_numpy(dtype=float))
    assert (got[F.SHARE] == 1.0).all()


@settings(max_examples=60, deadline=None)
@given(areas_strategy(), st.lists(st.one_of(point_strategy, st.builds(lambda x, y, w: box(x, y, x + w, y + w), coord,
                                                                         coord, st.floats(0.5, 40)), other_geometry),
                                  min_size=1, max_size=40),
       st.booleans(), st.randoms())
def test_assignment_table_equals_the_one_pandas_builds(areas, sites, shuffle, rnd):
    # the table built from integer codes (pyarrow takes, grouped sums, one sort key) is, column for column and
    # dtype for dtype, the one pandas builds from the same rows (merge-free groupby, sort_values)
    areas, sub_ids, subs, sa = _stations_and_areas(areas, ["A", "B", "~", "é", "A1"], rnd)
    ids = [f"P{i:03d}" for i in range(len(sites))]
    if shuffle:
        rnd.shuffle(ids)
    pts = gpd.GeoDataFrame({F.LAYER: [rnd.choice(["housing_sites", "business_parks"]) for _ in ids], F.SITE_ID: ids},
                           geometry=sites, crs=28992)
    for method in ("service_areas", "nearest"):
        got = assign_sites(pts, subs, sa, method=method, max_distance_m=30.0)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(network, "_site_keys", lambda *_: None)  # the plain pandas path
            want = assign_sites(pts, subs, sa, method=method, max_distance_m=30.0)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["housing_sites", "business_parks", "é"]), st.sampled_from(list("abcdef")),
                          st.integers(2025, 2027), st.floats(0, 10)), max_size=40),
       st.lists(st.tuples(st.sampled_from(["housing_sites", "business_parks", "é"]), st.sampled_from(list("abcdeg")),
                          st.sampled_from(["S1", "S2", "S3"]), st.floats(0.01, 1)), max_size=12),
       st.booleans())
def test_allocate_equals_pandas_left_merge(demand_rows, assignment_rows, missing_id):
    """The demand split over substations from integer codes (network._left_join_rows) is, row for row, column
    for column and dtype for dtype, pandas' left merge on layer and site: sites with no assignment row, with
    several (in their order), assignment rows of no demand, demand in any order; a missing id takes pandas'
    own path."""
    demand = pd.DataFrame(demand_rows, columns=[F.LAYER, F.SITE_ID, F.YEAR, F.OFFTAKE_MW])
    demand[F.FEEDIN_MW] = demand[F.OFFTAKE_MW] / 3
    assignment = pd.DataFrame(assignment_rows, columns=[F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE])
    assignment[F.METHOD] = "service_area"
    demand = demand.astype({F.LAYER: "str", F.SITE_ID: "str"})
    assignment = assignment.astype({F.LAYER: "str", F.SITE_ID: "str", F.SUBSTATION_ID: "str", F.METHOD: "str"})
    if missing_id and len(demand):
        demand.loc[0, F.SITE_ID] = None
    want = demand.merge(assignment[[F.LAYER, F.SITE_ID, F.SUBSTATION_ID, F.SHARE, F.METHOD]],
                        on=[F.LAYER, F.SITE_ID], how="left", validate="many_to_many")
    missing = want[F.SHARE].isna()
    want.loc[missing, F.SHARE] = 1.0
    want.loc[missing, F.METHOD] = "unassigned"
    for col in (F.OFFTAKE_MW, F.FEEDIN_MW):
        want[col] = want[col] * want[F.SHARE]
    pd.testing.assert_frame_equal(network.allocate(demand, assignment), want, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4),
       st.lists(st.tuples(st.floats(0, 90), st.floats(0, 90), st.floats(0.5, 60), st.floats(0.5, 60)),
                min_size=1, max_size=20), st.randoms())
def test_assign_sites_polygons_split_by_area_as_plain_shapely(nx, ny, rects, rnd):
    # tiles cover the square without gaps: every site inside it is split over the tiles it meets by area
    # (a site inside one tile has share 1 without an overlay; one across tiles gets its area fractions)
    w, h = EXTENT / nx, EXTENT / ny
    tiles_ = [box(i * w, j * h, (i + 1) * w, (j + 1) * h) for i in range(nx) for j in range(ny)]
    sub_ids = [rnd.choice(["A", "B", "C"]) for _ in tiles_]
    subs = gpd.GeoDataFrame({"id": ["A", "B", "C"]}, geometry=shapely.points([[0, 0], [100, 0], [50, 50]]), crs=28992)
    sa = gpd.GeoDataFrame({"id": [f"SA{i}" for i in range(len(tiles_))], "substation_id": sub_ids},
                          geometry=tiles_, crs=28992)
    sites = [box(x, y, min(x + dx, EXTENT), min(y + dy, EXTENT)) for x, y, dx, dy in rects]
    pts = gpd.GeoDataFrame({F.LAYER: "housing_sites", F.SITE_ID: [f"H{i:02d}" for i in range(len(sites))]},
                           geometry=sites, crs=28992)
    got = assign_sites(pts, subs, sa, method="service_areas", max_distance_m=30.0)
    for k, site in enumerate(sites):
        frac: dict[str, float] = {}
        for t, sub in zip(tiles_, sub_ids, strict=True):
            share = site.intersection(t).area / site.area
            if share > 1e-9:
                frac[sub] = frac.get(sub, 0.0) + share
        rows = got[got[F.SITE_ID] == f"H{k:02d}"]
        assert rows[F.SUBSTATION_ID].tolist() == sorted(frac)
        assert rows[F.SHARE].to_numpy() == pytest.approx([frac[x] / sum(frac.values()) for x in sorted(frac)],
                                                         rel=1e-9)
        assert set(rows[F.METHOD]) == {"service_area"}


# ---- conflicts: overlaps and distances -----------------------------------------------------


@st.composite
def polygons(draw, n_max: int = 14) -> np.ndarray:
    """Polygons that nest, repeat, share edges, touch and cross, and one with a hole."""
    out = []
    for _ in range(draw(st.integers(0, n_max))):
        x, y = draw(st.integers(0, 20)) * 5.0, draw(st.integers(0, 20)) * 5.0
        w, h = draw(st.integers(1, 8)) * 5.0, draw(st.integers(1, 8)) * 5.0
        kind = draw(st.sampled_from(["box", "box", "nested", "circle", "holed"]))
        if kind == "box":
            out.append(box(x, y, x + w, y + h))
        elif kind == "nested":  # a box and one inside it (sharing an edge or not)
            out.append(box(x, y, x + w, y + h))
            out.append(box(x + draw(st.sampled_from([0.0, 1.0])), y + 1.0, x + w - 1.0, y + h - 1.0))
        elif kind == "circle":
            out.append(Point(x, y).buffer(w / 2, quad_segs=draw(st.integers(2, 12))))
        else:
            out.append(box(x, y, x + 4 * w, y + 4 * h).difference(box(x + w, y + h, x + 3 * w, y + 3 * h)))
    if out and draw(st.booleans()):
        out.append(out[0])  # the same polygon twice
    return np.array(out, dtype=object)


def lexsorted_pairs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ia, ib = np.nonzero(mask)
    order = np.lexsort((ib, ia))
    return ia[order], ib[order]


@settings(max_examples=120, deadline=None)
@given(polygons(), polygons(), st.booleans())
def test_overlap_pairs_equal_the_full_intersection_matrix(a, b, same):
    if same:
        b = a
    inter = shapely.intersection(a[:, None], b[None, :]) if len(a) and len(b) else np.zeros((len(a), len(b)), object)
    area = shapely.area(inter) if inter.size else np.zeros((len(a), len(b)))
    mask = area > TOUCH_TOLERANCE_M2
    if same:
        mask &= np.triu(np.ones_like(mask, dtype=bool), k=1)
    ia, ib = lexsorted_pairs(mask)
    res = overlap_pairs(a, b, same=same, threads=1)
    np.testing.assert_array_equal(res.index_a, ia)
    np.testing.assert_array_equal(res.index_b, ib)
    np.testing.assert_allclose(res.area_m2, area[ia, ib], rtol=1e-9, atol=0)
    # the overlap geometry is the intersection (for a polygon inside another: that polygon itself)
    sym = shapely.area(shapely.symmetric_difference(res.geometry, inter[ia, ib]))
    assert (sym <= 1e-9 * np.maximum(area[ia, ib], 1.0)).all()


def test_overlap_pairs_contained_and_empty():
    outer, inner = box(0, 0, 100, 100), box(0, 10, 50, 60)  # inner shares the west edge
    res = overlap_pairs(np.array([inner, outer]), np.array([outer, inner]))
    assert list(zip(res.index_a.tolist(), res.index_b.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert res.area_m2.tolist() == [2500.0, 2500.0, 10_000.0, 2500.0]
    assert all(g.equals(w) for g, w in zip(res.geometry, [inner, inner, outer, inner], strict=True))
    empty = overlap_pairs(np.array([], dtype=object), np.array([outer]))
    assert len(empty.index_a) == 0 and len(empty.area_m2) == 0


@settings(max_examples=120, deadline=None)
@given(polygons(10), polygons(10), st.sampled_from([0.0, 1.0, 5.0, 12.5, 25.0]), st.booleans())
def test_pairs_within_distance_equal_the_full_distance_matrix(a, b, distance, with_distance):
    # on a 5 m lattice many gaps equal the distance exactly: equal counts as within
    full = shapely.distance(a[:, None], b[None, :]) if len(a) and len(b) else np.zeros((len(a), len(b)))
    ia, ib = lexsorted_pairs(full <= distance)
    res = pairs_within_distance(a, b, distance, with_distance=with_distance, threads=1)
    np.testing.assert_array_equal(res.index_a, ia)
    np.testing.assert_array_equal(res.index_b, ib)
    if with_distance:
        np.testing.assert_allclose(res.dist_m, full[ia, ib], rtol=1e-9, atol=0)


def test_pairs_within_distance_equal_geopandas_sjoin():
    rng = np.random.default_rng(3)
    a = shapely.buffer(shapely.points(rng.uniform(0, 5000, (800, 2))), rng.uniform(5, 60, 800), quad_segs=4)
    b = shapely.box(*rng.uniform(0, 5000, (2, 900)), *(rng.uniform(0, 5000, (2, 900)) + 40))
    ga = gpd.GeoDataFrame({"ia": np.arange(len(a))}, geometry=a, crs=28992)
    gb = gpd.GeoDataFrame({"ib": np.arange(len(b))}, geometry=b, crs=28992)
    j = gpd.sjoin(ga, gb, predicate="dwithin", distance=250.0)
    want = sorted(zip(j["ia"].tolist(), j["ib"].tolist(), strict=True))
    res = pairs_within_distance(a, b, 250.0, with_distance=True, threads=2)
    assert list(zip(res.index_a.tolist(), res.index_b.tolist(), strict=True)) == want
    np.testing.assert_allclose(res.dist_m, shapely.distance(a[res.index_a], b[res.index_b]), rtol=1e-9, atol=0)


# ---- heat-network shares -------------------------------------------------------------------


def share_plain(sites: gpd.GeoDataFrame, networks: gpd.GeoDataFrame, years: list[int]) -> np.ndarray:
    """area(site ∩ union of the networks supplying that year) / area(site), year by year."""
    geoms, area = np.asarray(sites.geometry.values), sites.area.to_numpy()
    out = np.zeros((len(sites), len(years)))
    start = networks["start_year"].to_numpy(dtype=float)
    for k, y in enumerate(years):
        supplying = [int(s) for s in networks["start_year"].dropna().unique() if int(s) <= y]
        if not supplying:
            continue
        supply = shapely.union_all(np.asarray(networks.geometry.values)[start <= max(supplying)])
        inter = shapely.area(shapely.intersection(geoms, supply))
        out[:, k] = np.clip(np.divide(inter, area, out=np.zeros_like(inter), where=area > 0), 0.0, 1.0)
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 900), st.floats(0, 900), st.floats(1, 300), st.floats(1, 300)), max_size=20),
       st.lists(st.tuples(st.floats(0, 900), st.floats(0, 900), st.floats(1, 500),
                          st.sampled_from([2025.0, 2027.0, 2028.0, 2028.5, 2031.0, np.nan])), max_size=8),
       st.booleans())
def test_heat_network_share_equals_the_union_of_supplying_networks(sites, nets, round_networks):
    # overlapping networks must not be counted twice: the share is against their union
    s = gpd.GeoDataFrame({"id": [f"H{i}" for i in range(len(sites))]},
                         geometry=[box(x, y, x + w, y + h) for x, y, w, h in sites], crs=28992)
    shape = (lambda x, y, r: Point(x, y).buffer(r, quad_segs=6)) if round_networks else \
        (lambda x, y, r: box(x, y, x + r, y + r / 2))
    n = gpd.GeoDataFrame({"id": [f"W{i}" for i in range(len(nets))], "start_year": [t for *_, t in nets]},
                         geometry=[shape(x, y, r) for x, y, r, _ in nets], crs=28992)
    years = [2025, 2026, 2028, 2029, 2031, 2035]
    got = heat_network_share(s, n, years)
    want = share_plain(s, n, years) if len(s) and len(n) else np.zeros((len(s), len(years)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert (got <= 1.0).all()


def test_heat_network_share_overlapping_networks_and_points():
    sites = gpd.GeoDataFrame({"id": ["H1", "H2"]}, geometry=[box(0, 0, 100, 100), Point(10, 10)], crs=28992)
    nets = gpd.GeoDataFrame({"id": ["W1", "W2"], "start_year": [2027, 2030]},
                            geometry=[box(-10, -10, 60, 110), box(40, -10, 80, 110)], crs=28992)
    got = heat_network_share(sites, nets, [2026, 2027, 2030])
    # W1 covers 60 % of H1 from 2027; W1 u W2 80 % from 2030, not 60 % + 40 %; a point has no area
    np.testing.assert_allclose(got, [[0.0, 0.6, 0.8], [0.0, 0.0, 0.0]])
    assert heat_network_share(sites.iloc[:0], nets, [2030]).shape == (0, 1)
    assert (heat_network_share(sites, None, [2030]) == 0).all()
