"""Candidate sites for a new substation: where a compact footprint of the needed size fits.

Within a search area (the substation's service area and a margin) the cells
that are not excluded form 8-connected groups (:func:`scipy.ndimage.label`).
A footprint is a rectangle of the land a new station needs
(``data/substation_land.csv``, through the programme's ``land_m2``), one and a
half times as long as wide (``siting.footprint_aspect``), centred on a cell and
turned in steps (``siting.angle_step_deg``). It fits where **every cell it
touches** is suitable, so no excluded cell ever holds part of a candidate; its
score is the mean suitability of those cells. Each group gives its best
footprint; the groups' best are ranked by score (ties: by row and column of
the centre cell, then the smaller angle, so the order never depends on the input order).

Everything here is pure (arrays and shapely geometries).

Examples
--------
>>> import numpy as np
>>> footprint_kernel(625.0, 1.0, 0.0, 25.0).astype(int).tolist()   # 25 x 25 m on a 25 m cell: that cell
[[1]]
>>> footprint_kernel(1250.0, 2.0, 0.0, 25.0).astype(int).tolist()  # 50 x 25 m: the cell and half of each beside
[[0, 0, 0], [1, 1, 1], [0, 0, 0]]
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy import ndimage
from shapely import affinity

from .grid import Grid

__all__ = ["footprint", "footprint_kernel", "best_footprints", "EIGHT"]

#: 8-connectivity for the groups of suitable cells
EIGHT = np.ones((3, 3), dtype=bool)

#: share of a cell a footprint must overlap to count as touching it (against rounding at shared edges)
_TOUCH = 1e-9


def footprint(x: float, y: float, land_m2: float, aspect: float, angle_deg: float) -> shapely.Polygon:
    """The rectangle of ``land_m2`` centred on ``(x, y)``, its long side turned ``angle_deg`` from east.

    Examples
    --------
    >>> p = footprint(0.0, 0.0, 6000.0, 1.5, 90.0)
    >>> round(p.area, 6), [round(v, 6) for v in p.bounds]
    (6000.0, [-31.622777, -47.434165, 31.622777, 47.434165])
    """
    length = math.sqrt(land_m2 * aspect)
    width = land_m2 / length
    box = shapely.box(-length / 2, -width / 2, length / 2, width / 2)
    return affinity.translate(affinity.rotate(box, angle_deg, origin=(0, 0)), x, y)


def footprint_kernel(land_m2: float, aspect: float, angle_deg: float, cell_m: float) -> np.ndarray:
    """The cells a footprint centred on a cell centre touches, as an odd-sized boolean kernel.

    ``kernel[R + dr, R + dc]`` is True when the footprint overlaps the cell
    ``dr`` rows down and ``dc`` columns right of its centre cell.
    """
    poly = footprint(0.0, 0.0, land_m2, aspect, angle_deg)
    half = math.hypot(*(np.subtract(poly.bounds[2:], poly.bounds[:2]))) / 2
    r = int(math.ceil(half / cell_m + 0.5))
    dr, dc = np.mgrid[-r:r + 1, -r:r + 1]
    x, y = dc * cell_m, -dr * cell_m
    cells = shapely.box(x - cell_m / 2, y - cell_m / 2, x + cell_m / 2, y + cell_m / 2)
    k = shapely.area(shapely.intersection(cells, poly)) > _TOUCH * cell_m * cell_m
    rows, cols = np.nonzero(k)
    m = int(max(np.abs(rows - r).max(), np.abs(cols - r).max()))  # the smallest odd kernel around the centre
    return k[r - m:r + m + 1, r - m:r + m + 1]


def best_footprints(grid: Grid, suitable: np.ndarray, score: np.ndarray, *, land_m2: float, aspect: float,
                    angle_step_deg: float) -> list[dict]:
    """The best footprint of each 8-connected group of suitable cells that can hold one.

    Parameters
    ----------
    grid : Grid
        The grid of ``suitable`` and ``score`` (a window of the siting grid).
    suitable : ndarray of bool
        Cells a substation may take (not excluded, in the search area).
    score : ndarray of float
        Suitability per cell (read where ``suitable``).
    land_m2 : float
        The footprint's area.
    aspect : float
        Length over width.
    angle_step_deg : float
        Orientations ``0, step, ...`` below 180 degrees.

    Returns
    -------
    list of dict
        Per group that holds a footprint, best first: ``geometry``,
        ``score`` (mean suitability of the cells it touches), ``angle_deg``,
        ``group_area_m2`` (the group's cells), ``n_cells``.
    """
    labels, n = ndimage.label(suitable, structure=EIGHT)
    if n == 0:
        return []
    bad = (~suitable).astype("float32")
    val = np.where(suitable, score, 0.0).astype("float64")
    step = float(angle_step_deg) if angle_step_deg > 0 else 180.0
    index = np.arange(1, n + 1)
    top = np.full(suitable.shape, -np.inf)  # per centre cell: the best score over the angles, and its angle
    top_angle = np.zeros(suitable.shape)
    top_cells = np.zeros(suitable.shape)
    for angle in np.arange(0.0, 180.0 - 1e-9, step):
        k = footprint_kernel(land_m2, aspect, float(angle), grid.cell_m)
        # cval 1: a footprint reaching past the window's edge does not fit
        fits = ndimage.correlate(bad, k.astype("float32"), mode="constant", cval=1.0) < 0.5
        if not fits.any():
            continue
        mean = ndimage.correlate(val, k.astype("float64"), mode="constant", cval=0.0) / k.sum()
        masked = np.where(fits, np.round(mean, 9), -np.inf)
        better = masked > top  # strictly: an equal score keeps the smaller angle
        top[better], top_angle[better], top_cells[better] = masked[better], angle, k.sum()
    pos = np.asarray(ndimage.maximum_position(top, labels, index), dtype=int).reshape(-1, 2)  # first, row by row
    best_s = top[pos[:, 0], pos[:, 1]]
    best = np.column_stack([top_angle[pos[:, 0], pos[:, 1]], pos, top_cells[pos[:, 0], pos[:, 1]]])
    sizes = ndimage.sum_labels(np.ones(labels.shape), labels, index)
    out = []
    for i in np.flatnonzero(np.isfinite(best_s)):
        angle, r, c, ncell = best[i]
        x, y = grid.centre(int(r), int(c))
        out.append({"geometry": footprint(float(x), float(y), land_m2, aspect, float(angle)),
                    "score": float(best_s[i]), "angle_deg": float(angle), "group_area_m2": float(sizes[i]) *
                    grid.cell_area_m2, "n_cells": int(ncell), "_cell": (int(r), int(c))})
    out.sort(key=lambda d: (-d["score"], d["_cell"], d["angle_deg"]))
    return out
