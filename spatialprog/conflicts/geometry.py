"""Geometry-array helpers of the conflicts kernels: polygonal parts, query boxes, robust intersection.

Vectorised over numpy arrays of shapely geometries, like the kernels that use
them (:mod:`spatialprog.conflicts.kernels`); :func:`polygonal` also serves the
layer preparation.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.errors import GEOSException

__all__ = ["N_SAMPLE", "boxes", "safe_intersection", "polygonal", "vertex_sample"]


def boxes(bounds: np.ndarray, grow: np.ndarray | float = 0.0) -> np.ndarray:
    """Rectangles from an (n, 4) bounds array, grown by ``grow`` on each side.

    Examples
    --------
    >>> shapely.bounds(boxes(np.array([[0.0, 0.0, 10.0, 5.0]]), 2.0)).tolist()
    [[-2.0, -2.0, 12.0, 7.0]]
    """
    n = len(bounds)
    g = np.broadcast_to(np.asarray(grow, dtype="float64"), (n,))
    x0, y0 = bounds[:, 0] - g, bounds[:, 1] - g
    x1, y1 = bounds[:, 2] + g, bounds[:, 3] + g
    c = np.empty((n, 5, 2))
    c[:, 0, 0], c[:, 0, 1] = x0, y0
    c[:, 1, 0], c[:, 1, 1] = x1, y0
    c[:, 2, 0], c[:, 2, 1] = x1, y1
    c[:, 3, 0], c[:, 3, 1] = x0, y1
    c[:, 4] = c[:, 0]
    offsets = (np.arange(0, 5 * n + 1, 5), np.arange(n + 1))
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, c.reshape(-1, 2), offsets)


def safe_intersection(a: np.ndarray, b: np.ndarray, repaired: list[int]) -> np.ndarray:
    """Vectorised intersection; on a GEOS topology failure redo with snap rounding."""
    try:
        return shapely.intersection(a, b)
    except GEOSException:
        # OverlayNG with a fixed 1 mm precision grid is fully robust.
        repaired.append(len(a))
        return shapely.intersection(a, b, grid_size=0.001)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry (None where there are none).

    Examples
    --------
    >>> mixed = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])
    >>> [None if g is None else g.geom_type for g in polygonal(np.array([mixed, shapely.Point(0, 0)]))]
    ['MultiPolygon', None]
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    tid = shapely.get_type_id(geoms)
    out[~np.isin(tid, (3, 6, 7))] = None
    coll = np.flatnonzero(tid == 7)
    if len(coll):
        parts, idx = shapely.get_parts(geoms[coll], return_index=True)
        ptid = shapely.get_type_id(parts)
        keep = ptid == 3
        # nested multipolygons inside a collection
        multi = ptid == 6
        if multi.any():
            sub, sidx = shapely.get_parts(parts[multi], return_index=True)
            parts = np.concatenate([parts[keep], sub])
            idx = np.concatenate([idx[keep], idx[multi][sidx]])
        else:
            parts, idx = parts[keep], idx[keep]
        rebuilt = np.full(len(coll), None, dtype=object)
        if len(parts):
            order = np.argsort(idx, kind="stable")
            present = np.unique(idx)
            rebuilt[present] = shapely.multipolygons(parts[order], indices=np.searchsorted(present, idx[order]))
        out[coll] = rebuilt
    return out


N_SAMPLE = 4
"""Vertices per geometry sampled for the cheap upper bound of a distance (:func:`vertex_sample`)."""


def vertex_sample(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four vertices spread along the coordinate sequence of each geometry.

    Vertices belong to their geometry, so the distance between any vertex of
    ``a`` and any vertex of ``b`` is an upper bound of ``distance(a, b)``.

    Returns
    -------
    x, y : numpy.ndarray, shape (n, 4)
        Coordinates of the sampled vertices (NaN for empty geometries).
    has : numpy.ndarray of bool, shape (n,)
        False for empty or missing geometries.
    """
    n = len(geoms)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(idx, minlength=n)
    has = counts > 0
    if not len(coords):
        nan = np.full((n, N_SAMPLE), np.nan)
        return nan, nan.copy(), has
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    pos = starts[:, None] + (counts[:, None] * np.arange(N_SAMPLE)[None, :]) // N_SAMPLE
    pos = np.minimum(pos, len(coords) - 1)
    x = coords[pos, 0]
    y = coords[pos, 1]
    x[~has] = np.nan
    y[~has] = np.nan
    return x, y, has
