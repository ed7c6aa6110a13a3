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

import functools
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

#: cells on a side of the tiles the search skips where no footprint can come near its group's best
_TILE = 64


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
        Suitability per cell (read where ``suitable``, and finite there).
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
        ``score`` (mean suitability of the cells it touches, rounded to 9
        decimals), ``angle_deg``, ``group_area_m2`` (the group's cells),
        ``n_cells``. Within a group the best score wins, then the first
        centre cell row by row, then the smaller angle.

    Notes
    -----
    The score of a footprint is the plain sum of its cells' scores, in the
    kernel's row-major order, over its cell count (what
    :func:`scipy.ndimage.correlate` gives), rounded to 9 decimals so that
    nearly equal footprints tie. It is computed in two passes so that it is
    never computed for most of them:

    1. every kernel row is one run of cells (:func:`_runs`), so whether a
       footprint fits (no unsuitable cell, none past the window's edge) is
       one comparison per row of two row-wise counts of unsuitable cells,
       and an approximate mean is the sum over its rows of run sums from one
       row-wise prefix sum, in float32 (:func:`_approx_top`): at the first
       angle for every centre, at the other angles only in the tiles of
       ``_TILE`` cells where the best score around (the kernel's reach) can
       come near the best the first angle found for a group in the tile;
    2. only the centres whose best approximate mean is within the error
       bound of that approximation (:func:`_approx_bound`) plus the rounding
       step of their group's best can win; their means are summed exactly as
       the correlation sums them, at every angle they fit.

    The result is the same as correlating the whole window with every kernel
    (``tests/test_siting_candidates.py`` checks it on random windows).
    """
    suitable = np.asarray(suitable, dtype=bool)
    labels, n = ndimage.label(suitable, structure=EIGHT)
    if n == 0:
        return []
    step = float(angle_step_deg) if angle_step_deg > 0 else 180.0
    angles = np.arange(0.0, 180.0 - 1e-9, step)
    kernels = [_kernel(float(land_m2), float(aspect), float(a), float(grid.cell_m)) for a in angles]
    runs = [_runs(k) for k in kernels]
    h, w = suitable.shape
    pad = max(k.shape[0] // 2 for k in kernels)
    tile = max(_TILE, pad)
    th, tw = -(-h // tile), -(-w // tile)  # tiles down and across; the last ones reach past the window
    hp, wp = th * tile + 2 * pad, tw * tile + 2 * pad  # padded: nothing fits past the window's edge
    bad = np.zeros((hp, wp + 1), dtype=np.int32)  # unsuitable cells west of each cell in its row
    bad[:, 1:] = 1
    bad[pad:pad + h, 1 + pad:1 + pad + w] = ~suitable
    np.cumsum(bad[:, 1:], axis=1, out=bad[:, 1:])
    valp = np.zeros((hp, wp), dtype="float64")
    np.copyto(valp[pad:pad + h, pad:pad + w], score, where=suitable)
    if not np.isfinite(valp).all():
        raise ValueError("best_footprints: the score must be finite in every suitable cell")
    prefix = np.zeros((hp, wp + 1), dtype="float64")
    np.cumsum(valp, axis=1, out=prefix[:, 1:])
    vmax = max(float(valp.max()), -float(valp.min()))
    bounds = [_approx_bound(int(k.sum()), len(rr), wp, vmax) for k, rr in zip(kernels, runs, strict=True)]
    # a centre can win only if its exact rounded mean can reach its group's best: within one rounding step
    # (9 decimals, and the rounding's own error) and twice the approximation's bound of the group's best
    reach = 1.000001e-9 + 8.0 * 2.0 ** -53 * vmax + 2.0 * max(bounds)

    # pass 1: per centre, the best approximate mean over the angles it fits at; the first angle everywhere,
    # the others only in the tiles whose best cell (with the kernel's reach around) can come near the
    # best footprint the first angle found in each group there
    lab_p = np.zeros((th * tile, tw * tile), dtype=np.intp)
    lab_p[:h, :w] = labels
    top = _approx_top(bad[None], prefix[None], kernels[:1], runs[:1], pad, th * tile, tw * tile)[0]
    best_lab = _best_per_group(top, lab_p, n)
    if len(kernels) > 1:
        per_tile = (th, tile, tw, tile)
        first = best_lab.copy()
        first[0] = np.inf  # no group: no centre
        need = first[lab_p].reshape(per_tile).min(axis=(1, 3))  # the lowest best of the groups in each tile
        cells = valp[pad:pad + th * tile, pad:pad + tw * tile].reshape(per_tile).max(axis=(1, 3))
        ceiling = ndimage.maximum_filter(cells, size=3, mode="constant", cval=-np.inf)  # a mean is at most this
        keep = np.flatnonzero((ceiling + max(bounds) >= need - reach).ravel())
        if len(keep) > 0.5 * th * tw:  # most of the window: all of it at once
            rest = _approx_top(bad[None], prefix[None], kernels[1:], runs[1:], pad, th * tile, tw * tile)[0]
            np.maximum(best_lab, _best_per_group(rest, lab_p, n), out=best_lab)
            np.maximum(top, rest, out=top)
        elif len(keep):
            ti, tj = np.divmod(keep, tw)
            span = tile + 2 * pad
            blocks = np.lib.stride_tricks.sliding_window_view(bad, (span, span + 1))[::tile, ::tile][ti, tj]
            pblocks = np.lib.stride_tricks.sliding_window_view(prefix, (span, span + 1))[::tile, ::tile][ti, tj]
            rest = _approx_top(blocks, pblocks, kernels[1:], runs[1:], pad, tile, tile)
            view = top.reshape(per_tile).transpose(0, 2, 1, 3)  # [tile row, tile column] -> its cells
            labs = lab_p.reshape(per_tile).transpose(0, 2, 1, 3)[ti, tj]
            np.maximum(best_lab, _best_per_group(rest, labs, n), out=best_lab)
            view[ti, tj] = np.maximum(view[ti, tj], rest)
    top = top[:h, :w]
    near = np.flatnonzero(((top > -np.inf) & (top >= best_lab[labels] - reach)).ravel())
    if not len(near):
        return []
    flat_lab = labels.ravel()

    # pass 2: the exact means of those centres, at every angle they fit
    rows, cols = np.divmod(near, w)
    base = (rows + pad) * wp + (cols + pad)  # the centre in the padded arrays, flat
    bad_flat, val_flat = bad.ravel(), valp.ravel()
    wb = wp + 1  # a row of ``bad``
    best_s = np.full(len(near), -np.inf)
    best_a = np.zeros(len(near))
    best_n = np.zeros(len(near), dtype=np.int64)
    for angle, k, rr in zip(angles, kernels, runs, strict=True):
        ok = np.ones(len(near), dtype=bool)
        at0 = (rows + pad) * wb + (cols + pad)
        for dr, dc, length in rr:
            ok &= bad_flat[at0 + dr * wb + dc + length] == bad_flat[at0 + dr * wb + dc]
        if not ok.any():
            continue
        at = base[ok]
        m = k.shape[0] // 2
        kr, kc = np.nonzero(k)  # row-major, as the correlation adds them
        total = np.zeros(len(at))
        for off in (kr - m) * wp + (kc - m):
            total += val_flat[at + off]
        mean = np.round(total / int(k.sum()), 9)
        better = np.zeros(len(near), dtype=bool)
        better[ok] = mean > best_s[ok]  # strictly: an equal score keeps the smaller angle
        sel = np.flatnonzero(better)
        best_s[sel] = mean[better[ok]]
        best_a[sel], best_n[sel] = angle, int(k.sum())
    lab = flat_lab[near]
    order = np.lexsort((near, -best_s, lab))  # per group: the best score, then the first cell row by row
    first = order[np.r_[True, lab[order][1:] != lab[order][:-1]]]
    first = first[np.isfinite(best_s[first])]
    sizes = np.bincount(flat_lab, minlength=n + 1)
    out = []
    for i in first:
        r, c = int(rows[i]), int(cols[i])
        x, y = grid.centre(r, c)
        angle = float(best_a[i])
        out.append({"geometry": footprint(float(x), float(y), land_m2, aspect, angle),
                    "score": float(best_s[i]), "angle_deg": angle,
                    "group_area_m2": float(sizes[lab[i]]) * grid.cell_area_m2, "n_cells": int(best_n[i]),
                    "_cell": (r, c)})
    out.sort(key=lambda d: (-d["score"], d["_cell"], d["angle_deg"]))
    return out


def _approx_top(bad: np.ndarray, prefix: np.ndarray, kernels: list[np.ndarray], runs: list[list], pad: int,
                out_h: int, out_w: int) -> np.ndarray:
    """Pass 1 over blocks: per centre the best approximate mean (float32) over the kernels that fit there.

    ``bad`` (the count of unsuitable cells, row-wise) and ``prefix`` (the sum of the scores, row-wise)
    are stacks of padded blocks (``[block, row, column]``, ``pad`` cells around the ``out_h x out_w``
    centres of each, one column more for the zero before the row); -inf where no kernel fits.
    """
    lead = bad.shape[:-2]
    top = np.full((*lead, out_h, out_w), -np.inf, dtype="float32")
    fits = np.empty(top.shape, dtype=bool)
    tmp = np.empty(top.shape, dtype=bool)
    acc = np.empty(top.shape, dtype="float32")
    sums: dict[int, np.ndarray] = {}  # run length -> float32 sum of the run starting at each cell
    for k, rr in zip(kernels, runs, strict=True):
        fits.fill(True)
        for dr, dc, length in rr:
            r0, c0 = pad + dr, pad + dc
            np.equal(bad[..., r0:r0 + out_h, c0 + length:c0 + length + out_w], bad[..., r0:r0 + out_h, c0:c0 + out_w],
                     out=tmp)
            fits &= tmp
        if not fits.any():
            continue
        acc.fill(0.0)
        for dr, dc, length in rr:
            if length not in sums:
                sums[length] = (prefix[..., length:] - prefix[..., :-length]).astype("float32")
            r0, c0 = pad + dr, pad + dc
            acc += sums[length][..., r0:r0 + out_h, c0:c0 + out_w]
        acc *= np.float32(1.0 / int(k.sum()))
        acc[~fits] = -np.inf
        np.maximum(top, acc, out=top)
    return top


@functools.lru_cache(maxsize=512)
def _kernel(land_m2: float, aspect: float, angle_deg: float, cell_m: float) -> np.ndarray:
    """:func:`footprint_kernel`, computed once per footprint and read-only (every search of a run shares it)."""
    k = footprint_kernel(land_m2, aspect, angle_deg, cell_m)
    k.setflags(write=False)
    return k


def _runs(kernel: np.ndarray) -> list[tuple[int, int, int]]:
    """The kernel as runs of cells along its rows: ``(row offset, first column offset, length)`` from the centre.

    A footprint is convex, so each row is one run; a row with a gap would give two.

    Examples
    --------
    >>> _runs(np.array([[0, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool))
    [(-1, 0, 1), (0, -1, 3), (1, 0, 2)]
    """
    m = kernel.shape[0] // 2
    out = []
    for i, row in enumerate(np.asarray(kernel, dtype=bool)):
        cols = np.flatnonzero(row)
        if not len(cols):
            continue
        cut = np.flatnonzero(np.diff(cols) > 1)
        for a, b in zip(np.r_[cols[0], cols[cut + 1]], np.r_[cols[cut], cols[-1]], strict=True):
            out.append((i - m, int(a) - m, int(b - a) + 1))
    return out


def _best_per_group(top: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The largest value of ``top`` per label ``0..n`` (-inf where a label has none above -inf)."""
    best = np.full(n + 1, -np.inf)
    at = np.flatnonzero(top.ravel() > -np.inf)
    np.maximum.at(best, labels.ravel()[at], top.ravel()[at].astype("float64"))
    return best


def _approx_bound(n_cells: int, n_runs: int, width: int, vmax: float) -> float:
    """A bound on how far pass 1's float32 mean lies from the exact (correlated) mean of a footprint.

    The row-wise prefix sum in float64 is off by at most ``width^2 u vmax``
    (``u = 2^-53``), twice per run; casting each run sum to float32 and adding
    ``n_runs`` of them rounds at most ``n_runs + 1`` times by ``2^-24`` of at
    most ``n_cells vmax``; scaling by the float32 ``1 / n_cells`` twice more;
    the correlation's own sequential sum is off by at most ``n_cells u`` of
    the same. Each term is doubled for safety.
    """
    u, u32 = 2.0 ** -53, 2.0 ** -24
    prefix = 2.0 * n_runs * width * width * u * vmax / n_cells
    return 2.0 * (prefix + (n_runs + 3) * u32 * vmax + (n_cells + 2) * u * vmax)
