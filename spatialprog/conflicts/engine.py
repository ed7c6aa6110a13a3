"""The conflicts engine: apply every enabled rule to the layers, pure.

:func:`compute_conflicts` takes GeoDataFrames and a validated
:class:`~spatialprog.conflicts.rules.RuleSet` and returns a
:class:`~spatialprog.conflicts.results.ConflictResult`; it opens no files. Per
rule kind it selects the usable geometries of the two layers, finds the pairs
with a kernel of :mod:`spatialprog.conflicts.kernels`, applies the rule's
thresholds and turns the pairs into conflict rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from spatialprog.errors import CRSError, LayerValidationError, NoticeLog, Problem

from .kernels import inside_pairs, n_threads, overlap_pairs, pairs_within_distance, shortest_lines
from .prepare import PreparedLayer, prepare_layer
from .results import ConflictResult, assemble, frame_rows
from .rules import Rule, RuleSet

__all__ = ["WORKING_CRS", "compute_conflicts", "run_kernel"]

WORKING_CRS = "EPSG:28992"
"""The working CRS of spatialprog (RD New, metres)."""


def run_kernel(kernel: Callable[..., Any], a: np.ndarray, b: np.ndarray, *per_b: Any, same: bool = False,
               reach: float | np.ndarray = 0.0, **kwargs: Any) -> Any:
    """Run a pair kernel on the whole arrays (``reach``, a feature of ``b``'s distance, is for engines that cut them).

    :meth:`spatialprog.distributed.Engine.pairs` has this signature; the Dask
    engine runs the kernel per spatial partition of ``a``.
    """
    return kernel(a, b, *per_b, same=same, **kwargs)


def _thresholds_pass(area: np.ndarray, share: np.ndarray, rule: Rule) -> np.ndarray:
    tests = []
    if rule.min_area_m2 is not None:
        tests.append(area >= rule.min_area_m2)
    if rule.min_share is not None:
        tests.append(share >= rule.min_share - 1e-12)
    if not tests:
        return np.ones(len(area), dtype=bool)
    out = tests[0]
    for t in tests[1:]:
        out = out | t
    return out


def _note_not_polygons(rule: Rule, layer: PreparedLayer, why: str, notices: NoticeLog, **kw: str) -> None:
    """Say how many features of ``layer`` the polygon-only ``rule`` leaves out, and ``why``."""
    n_np = int(np.sum((layer.geoms != None) & (layer.polys == None)))  # noqa: E711
    if n_np:
        notices.add(
            layer.name,
            f"rule {rule.rule_id}: {n_np} feature(s) are not polygons and {why}; they are left out of this rule",
            level="info",
            **kw,
        )


def _run_overlap(rule: Rule, la: PreparedLayer, lb: PreparedLayer, same: bool, threads: int,
                 notices: NoticeLog, pairs: Callable[..., Any] = run_kernel) -> pd.DataFrame:
    for layer in {la.name: la, lb.name: lb}.values():
        _note_not_polygons(rule, layer, "have no area to overlap", notices,
                           fix="use an 'inside' or 'within_distance' rule for points and lines")
    pa, pb = la.polys, lb.polys
    sel_a = np.flatnonzero(pa != None)  # noqa: E711
    sel_b = sel_a if same else np.flatnonzero(pb != None)  # noqa: E711
    res = pairs(overlap_pairs, pa[sel_a], pb[sel_b], same=same, threads=threads)
    ia, ib = sel_a[res.index_a], sel_b[res.index_b]
    area_a = shapely.area(pa[ia])
    area_b = shapely.area(pb[ib])
    share_a = res.area_m2 / area_a
    share_b = res.area_m2 / area_b
    ok = _thresholds_pass(res.area_m2, np.maximum(share_a, share_b), rule)
    return frame_rows(rule, la, lb, ia[ok], ib[ok], res.geometry[ok], area=res.area_m2[ok],
                       share_a=share_a[ok], share_b=share_b[ok])


def _run_inside(rule: Rule, la: PreparedLayer, lb: PreparedLayer, same: bool, threads: int,
                notices: NoticeLog, pairs: Callable[..., Any] = run_kernel) -> pd.DataFrame:
    _note_not_polygons(rule, lb, "cannot contain a claim", notices)
    res = pairs(inside_pairs, la.geoms, lb.polys, same=same, threads=threads)
    ok = _thresholds_pass(res.area_m2, res.share_a, rule)
    if res.repaired:
        notices.add(rule.layer_a, f"rule {rule.rule_id}: intersection redone on a 1 mm grid after a GEOS "
                    "topology error", level="info")
    return frame_rows(rule, la, lb, res.index_a[ok], res.index_b[ok], res.geometry[ok], area=res.area_m2[ok],
                      share_a=res.share_a[ok], share_b=res.share_b[ok])


def zone_distances(rule: Rule, rules: RuleSet, lb: PreparedLayer, notices: NoticeLog) -> np.ndarray:
    n = len(lb.geoms)
    if rule.distance_lookup is None:
        return np.full(n, float(rule.distance_m or 0.0))
    lk = rules.lookups[rule.distance_lookup]
    attr = rule.lookup_attribute or ""
    if attr not in lb.frame.columns:
        raise LayerValidationError(
            [Problem(lb.name, f"rule {rule.rule_id} needs attribute '{attr}' for lookup '{lk.name}', "
                     "but the layer has no such column", field=attr,
                     fix=f"add '{attr}' to the layer or its field mapping")]
        )
    raw = lb.frame[attr]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    problems: list[Problem] = []
    text_bad = np.isnan(values) & raw.notna().to_numpy()
    for pos in np.flatnonzero(text_bad):
        problems.append(Problem(lb.name, f"'{raw.iloc[pos]}' is not a number (rule {rule.rule_id})",
                                feature=str(lb.ids[pos]), field=attr))
    d = lk.lookup(values)
    uncovered = np.isnan(d) & ~np.isnan(values)
    for pos in np.flatnonzero(uncovered):
        problems.append(
            Problem(lb.name, f"{attr} = {values[pos]:g} is outside lookup '{lk.name}' "
                    f"(rule {rule.rule_id})", feature=str(lb.ids[pos]), field=attr,
                    fix="correct the value or extend data/distance_lookups.csv")
        )
    if problems:
        raise LayerValidationError(problems)
    missing = np.isnan(values)
    if missing.any():
        d[missing] = lk.max_distance_m
        shown = ", ".join(lb.ids[missing][:20].tolist()) + (" ..." if missing.sum() > 20 else "")
        notices.add(
            lb.name,
            f"rule {rule.rule_id}: {int(missing.sum())} feature(s) have no {attr}; the largest "
            f"distance of lookup '{lk.name}' ({lk.max_distance_m:g} m) is used for them: {shown}",
            field=attr,
            fix=f"fill in {attr}",
        )
    return d


def _run_distance(rule: Rule, rules: RuleSet, la: PreparedLayer, lb: PreparedLayer, same: bool, threads: int,
                  notices: NoticeLog, pairs: Callable[..., Any] = run_kernel) -> pd.DataFrame:
    d_b = zone_distances(rule, rules, lb, notices)
    sel_a = np.flatnonzero(la.geoms != None)  # noqa: E711
    sel_b = np.flatnonzero(lb.geoms != None)  # noqa: E711
    res = pairs(pairs_within_distance, la.geoms[sel_a], lb.geoms[sel_b], d_b[sel_b], same=same, reach=d_b[sel_b],
                with_distance=False, threads=threads)
    ia, ib = sel_a[res.index_a], sel_b[res.index_b]
    geom, dist = shortest_lines(la.geoms, lb.geoms, ia, ib, threads=threads)
    return frame_rows(rule, la, lb, ia, ib, geom, dist=dist, rule_distance=d_b[ib])


def compute_conflicts(
    layers: Mapping[str, gpd.GeoDataFrame],
    rules: RuleSet,
    *,
    known_layers: Iterable[str] = (),
    crs: str | CRS = WORKING_CRS,
    threads: int | None = None,
    pairs: Callable[..., Any] = run_kernel,
) -> ConflictResult:
    """Find every land-claim conflict between the given layers.

    Definitions (``a`` is the feature of ``layer_a``, ``b`` of ``layer_b``):

    * ``overlap``: the polygonal parts of ``a`` and ``b`` share more than
      :data:`TOUCH_TOLERANCE_M2` (touching never counts), and the shared area is
      ``>= min_area_m2`` or the larger of ``share_a``/``share_b`` is
      ``>= min_share`` (with neither threshold set, any shared area counts).
      Point and line features have no area and are left out (with a notice).
    * ``inside``: part of ``a`` lies in the polygon ``b``. For a polygon claim the
      part has area above :data:`TOUCH_TOLERANCE_M2`; a line claim runs more than
      1 cm inside; a point claim lies in or on the boundary of ``b``. ``share_a``
      is the fraction of ``a`` (area, length, or points) inside ``b``, and the
      thresholds apply to ``area_m2`` and ``share_a``; ``min_share = 1`` means
      "entirely within".
    * ``within_distance``: ``distance(a, b) <= d`` where ``d`` is the rule's
      ``distance_m`` or, for a lookup rule, the distance for ``b``'s attribute.
      Overlapping features have distance 0 and count. A missing attribute value
      takes the largest distance of the lookup (with a notice); a value outside
      the lookup is an error.

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        Layers by name, each with a unique string ``id`` column. Layers in
        another CRS are reprojected (with a notice); a layer without a CRS is an
        error. Empty layers are fine.
    rules : RuleSet
        The rules to apply, read at the input edge with :func:`load_rules`
        (a run takes them from ``Plan.reference.conflict_rules``). They are
        validated again against the layers of this call.
    known_layers : iterable of str, optional
        When given, every layer a rule names must be one of these or a key of
        ``layers`` (the input edge has checked the names of a run's rules).
    crs : str or pyproj.CRS, default "EPSG:28992"
        Working CRS; must be projected with metre units.
    threads : int, optional
        Worker threads for the GEOS work; defaults to the number of CPUs.
    pairs : callable, default run_kernel
        How a pair kernel runs (:func:`run_kernel`: on the whole layers); a run
        passes its engine's :meth:`~spatialprog.distributed.Engine.pairs`.

    Returns
    -------
    ConflictResult

    Raises
    ------
    ConflictRuleError
        A rule names an unknown layer (message names the rule), or is malformed.
    TypeError
        ``rules`` is not a :class:`RuleSet`.
    CRSError
        A layer has no CRS, or ``crs`` is not a metric projected CRS.
    LayerValidationError
        A layer has no ``id`` column or duplicate ids, or a lookup attribute is
        missing or out of range.

    Notes
    -----
    A rule whose layers are not all in ``layers`` is skipped with a notice. The
    engine does not clip to the study region: read constraint layers with
    :func:`constraint_read_bbox` so features outside the region whose zone
    reaches in are present, and they are counted like any other.

    Examples
    --------
    >>> import geopandas as gpd
    >>> sq = lambda x: shapely.box(x, 0, x + 100, 100)
    >>> housing = gpd.GeoDataFrame({"id": ["h1"]}, geometry=[sq(0)], crs=WORKING_CRS)
    >>> industry = gpd.GeoDataFrame({"id": ["i1"]}, geometry=[sq(30)], crs=WORKING_CRS)
    >>> from spatialprog.conflicts import load_rules
    >>> rules = load_rules()  # the input edge reads the table; the engine opens no files
    >>> res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry}, rules)
    >>> res.conflicts[["rule_id", "area_m2", "share_a"]].to_dict("records")
    [{'rule_id': 'R01', 'area_m2': 7000.0, 'share_a': 0.7}]
    """
    try:
        work_crs = CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(f"working CRS '{crs}' is not a CRS: {exc}") from None
    if not work_crs.is_projected or any(
        (ax.unit_name or "").lower() not in {"metre", "meter"} for ax in work_crs.axis_info
    ):
        raise CRSError(
            f"working CRS {work_crs.to_string()} must be projected in metres (e.g. EPSG:28992) - "
            "areas and distances are computed in it"
        )
    if not isinstance(rules, RuleSet):
        raise TypeError(
            f"rules must be a RuleSet, got {type(rules).__name__} - read the rules table with "
            "spatialprog.conflicts.load_rules() and pass them in"
        )
    rules.validate(set(layers) | set(known_layers) if known_layers else None)
    notices = NoticeLog()
    prepared: dict[str, PreparedLayer] = {}
    for name in sorted(set(layers) & rules.layers()):  # layers no rule uses are not touched
        prepared[name] = prepare_layer(name, layers[name], work_crs, notices)

    frames: list[pd.DataFrame] = []
    run: list[Rule] = []
    for rule in rules.enabled:
        absent = [n for n in dict.fromkeys((rule.layer_a, rule.layer_b)) if n not in prepared]
        if absent:
            notices.add(
                absent[0],
                f"rule {rule.rule_id} skipped: layer(s) {', '.join(absent)} not in this run",
                level="info",
            )
            continue
        run.append(rule)
        la, lb = prepared[rule.layer_a], prepared[rule.layer_b]
        same = rule.layer_a == rule.layer_b
        if not len(la.ids) or not len(lb.ids):
            continue
        if rule.kind == "overlap":
            frames.append(_run_overlap(rule, la, lb, same, n_threads(threads), notices, pairs))
        elif rule.kind == "inside":
            frames.append(_run_inside(rule, la, lb, same, n_threads(threads), notices, pairs))
        else:
            frames.append(_run_distance(rule, rules, la, lb, same, n_threads(threads), notices, pairs))

    return assemble(frames, prepared, run, notices, work_crs)
