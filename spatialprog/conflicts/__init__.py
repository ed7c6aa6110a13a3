"""Land-claim conflicts: overlaps, distance zones and constraints between layers.

Every housing site, business park, charging hub, heat network, solar field and
new substation claims land. This package finds where claims collide, following a
table of rules (``data/conflict_rules.csv``) rather than code:

``overlap``
    Two polygonal claims share area. Touching is not overlapping: the shared
    area must exceed :data:`TOUCH_TOLERANCE_M2` and pass the rule's thresholds.
``within_distance``
    A claim lies within a fixed distance, or a distance looked up from an
    attribute of ``layer_b`` (HV line voltage, substation MVA), of a feature of
    ``layer_b``. Distances are inclusive: ``dist_m <= distance``.
``inside``
    (Part of) a claim lies inside a constraint polygon, e.g. a substation
    reserve inside Natura 2000. See :func:`compute_conflicts` for the precise
    definition per geometry type.

The computation is pure: GeoDataFrames and a :class:`RuleSet` in, a
:class:`ConflictResult` out, no I/O. The rules are an argument of
:func:`compute_conflicts`; reading them and the lookup tables is
:func:`load_rules`, at the input edge (:func:`spatialprog.reference.read_reference`
calls it once per run). Pairs are found with a shapely 2 STRtree on bounding
boxes and tested with vectorised GEOS functions on the pair arrays, in chunks
over a thread pool (GEOS releases the GIL); there is no Python loop over
features or pairs.

The bundled tables are ``conflict_rules.csv`` and ``distance_lookups.csv`` in
:func:`spatialprog.params.data_dir` (:data:`DEFAULT_RULES_PATH`,
:data:`DEFAULT_LOOKUPS_PATH`, resolved when used).

Constraint layers must be read with a margin around the study region so that a
constraint just outside it, whose zone reaches in, still counts: see
:func:`constraint_margin_m` and :func:`constraint_read_bbox`.

Modules
-------
:mod:`~spatialprog.conflicts.rules`
    The rule model and its validation: :class:`Rule`, :class:`RuleSet`,
    :class:`DistanceLookup`, the read margin for constraint layers.
:mod:`~spatialprog.conflicts.tables`
    Reading the rules and lookup tables and the project's overrides
    (:func:`load_rules`).
:mod:`~spatialprog.conflicts.kernels`
    The vectorised pair-finding kernels (:func:`overlap_pairs`,
    :func:`pairs_within_distance`, the inside test) and the thread-pool chunking.
:mod:`~spatialprog.conflicts.geometry`
    Geometry-array helpers of the kernels (polygonal parts, query boxes,
    robust intersection).
:mod:`~spatialprog.conflicts.prepare`
    Layer checks, reprojection and geometry repair.
:mod:`~spatialprog.conflicts.results`
    :class:`ConflictResult`: the conflicts table, summaries and matrix.
:mod:`~spatialprog.conflicts.engine`
    :func:`compute_conflicts`.
"""

from __future__ import annotations

from typing import Any

from spatialprog.params import data_dir

from .engine import WORKING_CRS, compute_conflicts
from .kernels import LENGTH_TOLERANCE_M as LENGTH_TOLERANCE_M
from .kernels import (
    TOUCH_TOLERANCE_M2,
    DistancePairs,
    OverlapPairs,
    overlap_pairs,
    pairs_within_distance,
)
from .results import CONFLICT_COLUMNS, MATRIX_COLUMNS, SUMMARY_COLUMNS, ConflictResult
from .rules import (
    RULE_KINDS,
    SEVERITY_RANK,
    DistanceLookup,
    Rule,
    RuleSet,
    constraint_margin_m,
    constraint_read_bbox,
)
from .tables import LOOKUPS_FILE, RULES_FILE, load_rules

__all__ = [
    "WORKING_CRS",
    "RULE_KINDS",
    "SEVERITY_RANK",
    "TOUCH_TOLERANCE_M2",
    "DEFAULT_RULES_PATH",
    "DEFAULT_LOOKUPS_PATH",
    "CONFLICT_COLUMNS",
    "SUMMARY_COLUMNS",
    "MATRIX_COLUMNS",
    "DistanceLookup",
    "Rule",
    "RuleSet",
    "ConflictResult",
    "OverlapPairs",
    "DistancePairs",
    "load_rules",
    "constraint_margin_m",
    "constraint_read_bbox",
    "compute_conflicts",
    "overlap_pairs",
    "pairs_within_distance",
]


_DEFAULT_PATHS = {"DEFAULT_RULES_PATH": RULES_FILE, "DEFAULT_LOOKUPS_PATH": LOOKUPS_FILE}


def __getattr__(name: str) -> Any:
    # DEFAULT_RULES_PATH, DEFAULT_LOOKUPS_PATH: the bundled tables in spatialprog.params.data_dir(),
    # resolved when asked for, so that importing the package looks for no files
    if name in _DEFAULT_PATHS:
        return data_dir() / _DEFAULT_PATHS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_DEFAULT_PATHS))
