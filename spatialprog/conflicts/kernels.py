"""Vectorised pair-finding kernels: overlaps, distances, claims inside polygons.

Each kernel takes arrays of shapely geometries and returns positions of the
matching pairs with their measures, as a NamedTuple. Candidates come from one
bulk shapely 2 STRtree query on bounding boxes; the exact tests run as
vectorised GEOS functions on the pair arrays (the cheapest test that settles a
pair first: bounds, then predicates, the overlay only where it is needed), in
chunks over a thread pool (:func:`chunked`; GEOS releases the GIL). There is
no Python loop over features or pairs. The kernels know nothing of rules or layers; the engine
(:mod:`spatialprog.conflicts.engine`) applies the rules with them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import shapely
from shapely.errors import GEOSException

from .geometry import N_SAMPLE, boxes, polygonal, safe_intersection, vertex_sample

__all__ = [
    "TOUCH_TOLERANCE_M2",
    "LENGTH_TOLERANCE_M",
    "PARALLEL_MIN",
    "OverlapPairs",
    "DistancePairs",
    "InsidePairs",
    "n_threads",
    "chunked",
    "overlap_pairs",
    "pairs_within_distance",
    "inside_pairs",
    "shortest_lines",
]

TOUCH_TOLERANCE_M2 = 0.01
"""Shared area (m2) at or below which two polygons count as touching, not overlapping.

One square decimetre: below the precision of Dutch base maps (BGT, BRK), so a
float-rounding sliver between two adjoining parcels never becomes a conflict.
"""

LENGTH_TOLERANCE_M = 0.01
"""Length (m) of a line inside a constraint at or below which it counts as touching."""

PARALLEL_MIN = 4096
"""Below this many items a thread pool costs more than it saves: :func:`chunked` runs in one go."""


class OverlapPairs(NamedTuple):
    """Pairs of polygons sharing area, from :func:`overlap_pairs`."""

    index_a: np.ndarray
    index_b: np.ndarray
    area_m2: np.ndarray
    geometry: np.ndarray


class DistancePairs(NamedTuple):
    """Pairs of features within distance, from :func:`pairs_within_distance`."""

    index_a: np.ndarray
    index_b: np.ndarray
    dist_m: np.ndarray | None


class InsidePairs(NamedTuple):
    """Claims lying (partly) inside polygons, from :func:`inside_pairs`."""

    index_a: np.ndarray
    index_b: np.ndarray
    area_m2: np.ndarray
    share_a: np.ndarray
    share_b: np.ndarray
    geometry: np.ndarray
    repaired: bool


def n_threads(threads: int | None) -> int:
    """Worker threads to use: ``threads``, or the number of CPUs when None; at least 1."""
    return max(1, int(threads if threads is not None else (os.cpu_count() or 1)))


def chunked(func: Callable[[slice], Any], n: int, threads: int) -> list[Any]:
    """Apply ``func`` to consecutive slices covering ``range(n)``, in threads.

    One slice per thread; a single call on ``slice(0, n)`` when ``threads`` is 1
    or ``n`` is below :data:`PARALLEL_MIN`. Results come back in slice order.

    Examples
    --------
    >>> chunked(lambda s: (s.start, s.stop), 10, threads=4)
    [(0, 10)]
    """
    if threads <= 1 or n < PARALLEL_MIN:
        return [func(slice(0, n))]
    k = threads
    edges = np.linspace(0, n, k + 1).astype(np.int64)
    parts = [slice(int(edges[i]), int(edges[i + 1])) for i in range(k)]
    with ThreadPoolExecutor(max_workers=threads) as ex:
        return list(ex.map(func, parts))


def _query_pairs(
    tree: shapely.STRtree, geoms: np.ndarray, threads: int, predicate: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bulk ``tree.query(geoms, predicate)`` chunked over ``threads``: positions in ``geoms`` and in the tree."""

    def query(s: slice) -> tuple[np.ndarray, np.ndarray]:
        ia, ib = tree.query(geoms[s], predicate=predicate)
        return ia + s.start, ib

    parts = chunked(query, len(geoms), threads)
    return (
        np.concatenate([p[0] for p in parts]).astype(np.intp, copy=False),
        np.concatenate([p[1] for p in parts]).astype(np.intp, copy=False),
    )


def _pairwise(
    op: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    a: np.ndarray,
    b: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``op(a[ia], b[ib])``, a geometry and a measure per pair, chunked over ``threads``."""
    if not len(ia):
        return np.empty(0, dtype=object), np.empty(0)
    parts = chunked(lambda s: op(a[ia[s]], b[ib[s]]), len(ia), threads)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _intersections(
    a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray, threads: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Intersection and its area for each pair ``(a[ia], b[ib])``, and whether GEOS needed a repair."""
    repaired: list[int] = []

    def op(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inter = safe_intersection(x, y, repaired)
        return inter, shapely.area(inter)

    inter, area = _pairwise(op, a, b, ia, ib, threads)
    return inter, area, bool(repaired)


def shortest_lines(
    a: np.ndarray, b: np.ndarray, index_a: np.ndarray, index_b: np.ndarray, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The shortest line between each pair ``(a[index_a], b[index_b])`` and its length, the distance.

    Chunked over ``threads`` like the kernels.

    Examples
    --------
    >>> pts = shapely.points([0.0, 10.0], [0.0, 0.0])
    >>> lines, dist = shortest_lines(pts, np.array([shapely.box(3, -1, 4, 1)]), np.array([0, 1]), np.array([0, 0]))
    >>> dist.tolist()
    [3.0, 6.0]
    """

    def op(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        line = shapely.shortest_line(x, y)
        return line, shapely.length(line)

    return _pairwise(op, np.asarray(a, dtype=object), np.asarray(b, dtype=object), index_a, index_b,
                     n_threads(threads))


def overlap_pairs(
    a: np.ndarray,
    b: np.ndarray,
    *,
    min_area_m2: float = TOUCH_TOLERANCE_M2,
    same: bool = False,
    tree_b: shapely.STRtree | None = None,
    threads: int | None = None,
) -> OverlapPairs:
    """All pairs of polygons of ``a`` and ``b`` whose shared area exceeds ``min_area_m2``.

    Candidates come from one bulk STRtree bounding-box query. Where one polygon
    covers the other (tested only where its bounding box holds the other's) the
    overlap is the smaller polygon itself and its area that polygon's area: no
    overlay. Pairs that do not even meet are dropped by a vectorised
    ``intersects``; for the rest the intersection and its area are computed
    vectorised on the candidate arrays. Every step is chunked over ``threads``.
    Pairs that only touch yield a line or point and zero area, and are dropped.
    The overlap of two polygons can hold stray lines or points (where they also
    touch elsewhere); only its polygonal parts are returned.

    Parameters
    ----------
    a, b : numpy.ndarray of shapely.Geometry
        Valid polygonal geometries (None is skipped) in a metric CRS.
    min_area_m2 : float, default TOUCH_TOLERANCE_M2
        Strict lower bound of the shared area.
    same : bool, default False
        ``a`` and ``b`` are the same array: return each unordered pair once and
        never a feature with itself.
    tree_b : shapely.STRtree, optional
        A tree already built on ``b``.
    threads : int, optional
        Worker threads; defaults to the number of CPUs.

    Returns
    -------
    OverlapPairs
        ``index_a``, ``index_b`` (positions), ``area_m2`` and ``geometry`` (the
        overlap), ordered by ``index_a`` then ``index_b``.

    Examples
    --------
    >>> sq = shapely.box(0, 0, 100, 100)
    >>> res = overlap_pairs(np.array([sq]), np.array([shapely.box(30, 0, 130, 100)]))
    >>> float(res.area_m2[0])
    7000.0
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    nthreads = n_threads(threads)
    tree = tree_b if tree_b is not None else shapely.STRtree(b)

    ia, ib = _query_pairs(tree, a, nthreads)
    if same:
        keep = ia < ib
        ia, ib = ia[keep], ib[keep]
    # where one polygon covers the other the overlap is the smaller one itself: no overlay for those
    try:
        a_in_b, b_in_a, meet = _containment(a, b, ia, ib, nthreads)
    except GEOSException:  # a predicate GEOS cannot evaluate: the overlay (with its repair) for every pair
        a_in_b = b_in_a = np.zeros(len(ia), dtype=bool)
        meet = np.ones(len(ia), dtype=bool)
    inter = np.where(a_in_b, a[ia], np.where(b_in_a, b[ib], None))
    area = np.zeros(len(ia))
    area[a_in_b], area[b_in_a] = shapely.area(a[ia[a_in_b]]), shapely.area(b[ib[b_in_a]])
    overlay = np.flatnonzero(meet & ~a_in_b & ~b_in_a)
    inter[overlay], area[overlay], _ = _intersections(a, b, ia[overlay], ib[overlay], nthreads)
    keep = area > min_area_m2
    ia, ib, area, inter = ia[keep], ib[keep], area[keep], inter[keep]
    inter = polygonal(inter)
    order = np.lexsort((ib, ia))
    return OverlapPairs(ia[order], ib[order], area[order].astype("float64"), inter[order])


def _containment(
    a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray, threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair ``(a[ia], b[ib])``: ``b`` covers ``a``, ``a`` covers ``b``, and (for the others) whether they meet.

    The covers tests run only where the bounding box of one holds the other's.
    """

    def test(pred: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray, sel: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ia), dtype=bool)
        if len(sel):
            out[sel] = np.concatenate(chunked(lambda s: pred(x[s], y[s]), len(sel), threads))
        return out

    ba, bb = shapely.bounds(a)[ia], shapely.bounds(b)[ib]
    holds_a = (bb[:, 0] <= ba[:, 0]) & (bb[:, 1] <= ba[:, 1]) & (bb[:, 2] >= ba[:, 2]) & (bb[:, 3] >= ba[:, 3])
    holds_b = (ba[:, 0] <= bb[:, 0]) & (ba[:, 1] <= bb[:, 1]) & (ba[:, 2] >= bb[:, 2]) & (ba[:, 3] >= bb[:, 3])
    sel = np.flatnonzero(holds_a)
    a_in_b = test(shapely.covers, b[ib[sel]], a[ia[sel]], sel)
    sel = np.flatnonzero(holds_b & ~a_in_b)
    b_in_a = test(shapely.covers, a[ia[sel]], b[ib[sel]], sel)
    sel = np.flatnonzero(~a_in_b & ~b_in_a)
    return a_in_b, b_in_a, test(shapely.intersects, a[ia[sel]], b[ib[sel]], sel)


def pairs_within_distance(
    a: np.ndarray,
    b: np.ndarray,
    distance: float | np.ndarray,
    *,
    with_distance: bool = True,
    same: bool = False,
    tree_a: shapely.STRtree | None = None,
    threads: int | None = None,
) -> DistancePairs:
    """All pairs of ``a`` and ``b`` whose distance is at most the distance of the ``b`` feature.

    Works in three vectorised steps, none of which loops over pairs in Python:

    1. one bulk STRtree query of the bounding boxes of ``b``, each grown by its
       own distance, against a tree on ``a``;
    2. a numpy filter dropping pairs whose bounding boxes are further apart
       than the distance (a lower bound of the true distance);
    3. the exact GEOS test on what is left: ``shapely.distance`` when distances
       are wanted, else ``shapely.dwithin`` after accepting without GEOS every
       pair with two vertices (of four sampled per geometry) within the
       distance (an upper bound of the true distance).

    Parameters
    ----------
    a, b : numpy.ndarray of shapely.Geometry
        Geometries of any type, in a metric CRS.
    distance : float or numpy.ndarray
        One distance (m), or one per feature of ``b`` (attribute-dependent zones).
        Must be >= 0; NaN entries never match.
    with_distance : bool, default True
        Also return the distance of every pair.
    same : bool, default False
        ``a`` and ``b`` are the same array: each unordered pair once, no self pairs.
    tree_a : shapely.STRtree, optional
        A tree already built on ``a``.
    threads : int, optional
        Worker threads; defaults to the number of CPUs.

    Returns
    -------
    DistancePairs
        ``index_a``, ``index_b`` and ``dist_m`` (None unless ``with_distance``),
        ordered by ``index_a`` then ``index_b``.

    Raises
    ------
    ValueError
        If a distance is negative.

    Examples
    --------
    >>> pt = shapely.points([0.0, 0.0], [0.0, 300.0])
    >>> line = np.array([shapely.LineString([(100, -50), (100, 50)])])
    >>> pairs_within_distance(pt, line, 100.0).index_a.tolist()
    [0]
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    nthreads = n_threads(threads)
    d_b = np.broadcast_to(np.asarray(distance, dtype="float64"), (len(b),))
    if (d_b < 0).any():
        raise ValueError("distance must be >= 0 metres")
    tree = tree_a if tree_a is not None else shapely.STRtree(a)
    bounds_a = shapely.bounds(a)
    bounds_b = shapely.bounds(b)
    usable_b = ~np.isnan(d_b) & ~np.isnan(bounds_b[:, 0])
    grow = np.where(usable_b, d_b, 0.0)
    # building the query boxes holds the GIL; everything in `work` releases it
    query_boxes = boxes(np.where(usable_b[:, None], bounds_b, 0.0), grow)
    if not with_distance:
        xa, ya, has_a = vertex_sample(a)
        xb, yb, has_b = vertex_sample(b)

    def work(s: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ib, ia = tree.query(query_boxes[s])
        ib = ib + s.start
        keep = usable_b[ib]
        if same:
            keep &= ia < ib
        ia, ib = ia[keep], ib[keep]
        d_pair = d_b[ib]
        # lower bound: distance between the bounding boxes
        A, B = bounds_a[ia], bounds_b[ib]
        dx = np.maximum(0.0, np.maximum(A[:, 0] - B[:, 2], B[:, 0] - A[:, 2]))
        dy = np.maximum(0.0, np.maximum(A[:, 1] - B[:, 3], B[:, 1] - A[:, 3]))
        d2 = d_pair * d_pair
        keep = dx * dx + dy * dy <= d2
        ia, ib, d_pair, d2 = ia[keep], ib[keep], d_pair[keep], d2[keep]
        if with_distance:
            dd = shapely.distance(a[ia], b[ib])
            ok = dd <= d_pair
            return ia[ok], ib[ok], dd[ok]
        # upper bound: nearest pair of sampled vertices; pairs under it need no GEOS
        pxa, pya, pxb, pyb = xa[ia], ya[ia], xb[ib], yb[ib]
        upper2 = np.full(len(ia), np.inf)
        for i in range(N_SAMPLE):
            for j in range(N_SAMPLE):
                ex = pxa[:, i] - pxb[:, j]
                ey = pya[:, i] - pyb[:, j]
                np.fmin(upper2, ex * ex + ey * ey, out=upper2)
        ok = has_a[ia] & has_b[ib] & (upper2 <= d2)
        rest = np.flatnonzero(~ok)
        ok[rest] = shapely.dwithin(a[ia[rest]], b[ib[rest]], d_pair[rest])
        return ia[ok], ib[ok], None

    parts = chunked(work, len(b), nthreads)
    ia = np.concatenate([p[0] for p in parts]).astype(np.intp, copy=False)
    ib = np.concatenate([p[1] for p in parts]).astype(np.intp, copy=False)
    dd = np.concatenate([p[2] for p in parts]) if with_distance else None
    order = np.lexsort((ib, ia))
    return DistancePairs(ia[order], ib[order], None if dd is None else dd[order])



def inside_pairs(
    a: np.ndarray,
    b: np.ndarray,
    *,
    same: bool = False,
    threads: int | None = None,
) -> InsidePairs:
    """All pairs where part of a claim of ``a`` lies inside a polygon of ``b``.

    For a polygon claim the part inside has an area above
    :data:`TOUCH_TOLERANCE_M2`; a line claim runs more than
    :data:`LENGTH_TOLERANCE_M` inside; a point claim lies in or on the boundary
    of the polygon. A mixed collection counts by its polygonal part with area,
    else by its lines, else by its points. Candidates are the pairs whose
    geometries intersect (one bulk STRtree query); the intersections are
    computed vectorised, chunked over ``threads``.

    Parameters
    ----------
    a : numpy.ndarray of shapely.Geometry
        Claims of any geometry type (None is skipped), in a metric CRS.
    b : numpy.ndarray of shapely.Geometry
        Valid polygonal geometries (None is skipped).
    same : bool, default False
        ``a`` and ``b`` hold the same features (``a[i]`` and ``b[i]`` are one
        feature): a feature is never paired with itself.
    threads : int, optional
        Worker threads; defaults to the number of CPUs.

    Returns
    -------
    InsidePairs
        ``index_a``, ``index_b`` (positions in ``a`` and ``b``); ``area_m2``,
        the area of the claim inside the polygon; ``share_a``, the fraction of
        the claim inside (by area, length or number of points); ``share_b``,
        ``area_m2`` over the polygon's area; ``geometry``, the part inside
        (polygonal parts only for a polygon claim); ``repaired``, True when an
        intersection had to be redone on a 1 mm grid after a GEOS topology
        error. Ordered by ``index_a`` then ``index_b``.

    Examples
    --------
    >>> claims = np.array([shapely.box(0, 0, 100, 100), shapely.Point(500, 500), shapely.Point(50, 50)])
    >>> res = inside_pairs(claims, np.array([shapely.box(50, 0, 300, 100)]))
    >>> res.index_a.tolist(), res.share_a.tolist()
    ([0, 2], [0.5, 1.0])
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    sel_a = np.flatnonzero(a != None)  # noqa: E711
    sel_b = np.flatnonzero(b != None)  # noqa: E711
    a, b = a[sel_a], b[sel_b]
    tree = shapely.STRtree(b)
    nthreads = n_threads(threads)

    qa, qb = _query_pairs(tree, a, nthreads, predicate="intersects")
    if same:
        keep = sel_a[qa] != sel_b[qb]
        qa, qb = qa[keep], qb[keep]
    inter, area, repaired = _intersections(a, b, qa, qb, nthreads)
    ga_pairs = a[qa]
    dim = shapely.get_dimensions(ga_pairs)
    # measure of the claim inside the constraint (area above), and the share of the claim it is
    full_area = shapely.area(ga_pairs)
    length = shapely.length(inter)
    full_length = shapely.length(ga_pairs)
    npts = shapely.get_num_coordinates(inter)
    full_pts = shapely.get_num_coordinates(ga_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_a = np.select(
            [dim == 2, dim == 1],
            [area / full_area, length / full_length],
            default=np.where(full_pts > 0, npts / np.maximum(full_pts, 1), 0.0),
        )
        share_b = area / shapely.area(b[qb])
    hit = np.select(
        [dim == 2, dim == 1],
        [area > TOUCH_TOLERANCE_M2, length > LENGTH_TOLERANCE_M],
        default=~shapely.is_empty(inter),
    )
    # mixed collections: any polygonal part with area, else lines, else points
    hit |= area > TOUCH_TOLERANCE_M2
    ia, ib = sel_a[qa[hit]], sel_b[qb[hit]]
    geom = np.where(dim[hit] == 2, polygonal(inter[hit]), inter[hit])
    order = np.lexsort((ib, ia))
    return InsidePairs(ia[order], ib[order], area[hit][order], share_a[hit][order], share_b[hit][order],
                       geom[order], repaired)
