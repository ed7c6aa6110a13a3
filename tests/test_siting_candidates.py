"""The footprint search (spatialprog.siting.candidates) against the plain correlation it replaces.

``reference`` below is the search as it was first written: every kernel
correlated over the whole window with :func:`scipy.ndimage.correlate`, the
best per centre over the angles, the best per group. The two-pass search must
give the same footprints, scores, angles and order on any window.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from spatialprog.siting import Grid
from spatialprog.siting import candidates as candidates_module
from spatialprog.siting.candidates import EIGHT, best_footprints, footprint, footprint_kernel


def reference(grid: Grid, suitable: np.ndarray, score: np.ndarray, *, land_m2: float, aspect: float,
              angle_step_deg: float) -> list[dict]:
    """Correlate every kernel over the window; per group the best score, then the first cell row by row."""
    labels, n = ndimage.label(suitable, structure=EIGHT)
    if n == 0:
        return []
    bad = (~suitable).astype("float32")
    val = np.where(suitable, score, 0.0).astype("float64")
    step = float(angle_step_deg) if angle_step_deg > 0 else 180.0
    top = np.full(suitable.shape, -np.inf)
    top_angle = np.zeros(suitable.shape)
    top_cells = np.zeros(suitable.shape)
    for angle in np.arange(0.0, 180.0 - 1e-9, step):
        k = footprint_kernel(land_m2, aspect, float(angle), grid.cell_m)
        fits = ndimage.correlate(bad, k.astype("float32"), mode="constant", cval=1.0) < 0.5
        mean = ndimage.correlate(val, k.astype("float64"), mode="constant", cval=0.0) / k.sum()
        masked = np.where(fits, np.round(mean, 9), -np.inf)
        better = masked > top
        top[better], top_angle[better], top_cells[better] = masked[better], angle, k.sum()
    out = []
    for i in range(1, n + 1):
        t = np.where(labels == i, top, -np.inf)
        if not np.isfinite(t.max()):
            continue
        r, c = np.unravel_index(int(np.flatnonzero(t.ravel() == t.max())[0]), t.shape)  # the first, row by row
        x, y = grid.centre(r, c)
        out.append({"geometry": footprint(float(x), float(y), land_m2, aspect, float(top_angle[r, c])),
                    "score": float(t[r, c]), "angle_deg": float(top_angle[r, c]),
                    "group_area_m2": float((labels == i).sum()) * grid.cell_area_m2, "n_cells": int(top_cells[r, c]),
                    "_cell": (int(r), int(c))})
    out.sort(key=lambda d: (-d["score"], d["_cell"], d["angle_deg"]))
    return out


def _searched(grid: Grid, suitable: np.ndarray, score: np.ndarray, *, tile: int, **kw) -> list[dict]:
    """:func:`best_footprints` with tiles of ``tile`` cells (small ones: the windows here skip tiles too)."""
    old = candidates_module._TILE
    candidates_module._TILE = tile
    try:
        return best_footprints(grid, suitable, score, **kw)
    finally:
        candidates_module._TILE = old


def _same(a: list[dict], b: list[dict]) -> None:
    assert [(d["_cell"], d["score"], d["angle_deg"], d["n_cells"], d["group_area_m2"]) for d in a] == \
        [(d["_cell"], d["score"], d["angle_deg"], d["n_cells"], d["group_area_m2"]) for d in b]
    assert all(x["geometry"].equals_exact(y["geometry"], 0.0) for x, y in zip(a, b, strict=True))


@st.composite
def windows(draw):
    """A random window: suitable land as blobs with holes, scores smooth, flat, quantised or noisy."""
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    free = draw(st.floats(0.3, 1.0))
    suitable = ndimage.uniform_filter(rng.random((h, w)), size=3) < free * 0.75 if draw(st.booleans()) else \
        rng.random((h, w)) < free
    kind = draw(st.sampled_from(["smooth", "flat", "steps", "noise", "fine", "tiny"]))
    if kind == "smooth":
        score = ndimage.uniform_filter(rng.random((h, w)), size=5).astype("float32")
    elif kind == "flat":
        score = np.full((h, w), draw(st.sampled_from([0.0, 0.1, 1.0 / 3.0, 0.7])), dtype="float32")
    elif kind == "steps":  # many exact ties
        score = (rng.integers(0, 4, (h, w)) / 4).astype("float32")
    elif kind == "noise":
        score = rng.random((h, w)).astype("float32")
    elif kind == "fine":  # closer than float32 can tell apart, yet apart after rounding to 9 decimals
        score = 0.5 + rng.integers(0, 10, (h, w)) * 1e-8
    else:  # means on the edge of the 9th decimal: the rounding decides, and the order of the sum with it
        score = 0.5000000005 + rng.integers(-3, 4, (h, w)) * 1e-11
    land = draw(st.sampled_from([625.0, 1250.0, 2500.0, 6000.0, 15000.0]))
    aspect = draw(st.sampled_from([1.0, 1.5, 2.0]))
    step = draw(st.sampled_from([15.0, 30.0, 45.0, 90.0, 0.0]))
    return Grid(x0=1000.0, y0=2000.0, cell_m=25.0, width=w, height=h), suitable, score, land, aspect, step


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(windows())
def test_the_two_pass_search_is_the_correlation(case):
    grid, suitable, score, land, aspect, step = case
    kw = {"land_m2": land, "aspect": aspect, "angle_step_deg": step}
    ref = reference(grid, suitable, score, **kw)
    for tile in (64, 4, 1):
        _same(_searched(grid, suitable, score, tile=tile, **kw), ref)


def test_a_search_window_like_the_examples_is_the_correlation():
    """A 60 x 80 cell suitability cone with a little noise, an excluded band and ragged land in the south."""
    rng = np.random.default_rng(7)
    g = Grid(x0=150_000.0, y0=450_000.0, cell_m=25.0, width=80, height=60)
    yy, xx = np.mgrid[0:60, 0:80]
    score = (1.0 - np.hypot(yy - 20, xx - 50) / 100.0 + rng.normal(0, 1e-3, (60, 80))).astype("float32")
    suitable = np.ones((60, 80), dtype=bool)
    suitable[:, 30:33] = False
    suitable[40:, :] &= rng.random((20, 80)) < 0.8
    for land in (2000.0, 8000.0, 15000.0):
        kw = {"land_m2": land, "aspect": 1.5, "angle_step_deg": 15.0}
        ref = reference(g, suitable, score, **kw)
        for tile in (64, 8):
            _same(_searched(g, suitable, score, tile=tile, **kw), ref)


def test_a_mean_on_the_edge_of_the_ninth_decimal_rounds_as_the_correlation_sums():
    """One 3 x 3 footprint in a 3 x 3 window, its exact mean halfway between two 9-decimal values.

    Whether it rounds up or down depends on the order of the additions: the
    search adds in the correlation's (row-major) order, so it rounds the same.
    """
    g = Grid(x0=0.0, y0=75.0, cell_m=25.0, width=3, height=3)
    ok = np.ones((3, 3), dtype=bool)
    ups = set()
    for seed in range(200):
        rng = np.random.default_rng(seed)
        v = rng.random(9) * rng.choice([1e-6, 1.0, 1e3], 9)
        v[-1] = 9 * 0.5000000005 - v[:-1].sum()  # the mean on the edge, give or take the order of the sum
        score = v.reshape(3, 3)
        kw = {"land_m2": 2500.0, "aspect": 1.0, "angle_step_deg": 90.0}
        found = best_footprints(g, ok, score, **kw)
        _same(found, reference(g, ok, score, **kw))
        ups.add(found[0]["score"])
    assert len(ups) > 1  # both ways occur: the test can tell the orders apart


def test_a_score_that_is_not_finite_where_suitable_is_refused():
    g = Grid(x0=0.0, y0=100.0, cell_m=25.0, width=4, height=4)
    score = np.ones((4, 4))
    score[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        best_footprints(g, np.ones((4, 4), bool), score, land_m2=625.0, aspect=1.0, angle_step_deg=90.0)
