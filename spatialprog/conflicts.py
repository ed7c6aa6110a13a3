"""Land-claim conflicts: overlaps, distance zones and constraints between layers.

Every housing site, business park, charging hub, heat network, solar field and
new substation claims land. This module finds where claims collide, following a
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

The computation is pure: GeoDataFrames in, a :class:`ConflictResult` out, no
I/O apart from reading the rules table in :func:`load_rules`. Pairs are found
with a shapely 2 STRtree on bounding boxes and tested with vectorised GEOS
functions on the pair arrays, in chunks over a thread pool (GEOS releases the
GIL); there is no Python loop over features or pairs.

Constraint layers must be read with a margin around the study region so that a
constraint just outside it, whose zone reaches in, still counts: see
:func:`constraint_margin_m` and :func:`constraint_read_bbox`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely.errors import GEOSException

from spatialprog.errors import (
    ConflictRuleError,
    CRSError,
    LayerValidationError,
    NoticeLog,
    Problem,
)

__all__ = [
    "WORKING_CRS",
    "KNOWN_LAYERS",
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

WORKING_CRS = "EPSG:28992"
"""The working CRS of spatialprog (RD New, metres)."""

KNOWN_LAYERS: frozenset[str] = frozenset(
    {
        "housing_sites",
        "industrial_zones",
        "charging_hubs",
        "heat_networks",
        "generation",
        "substations",
        "substation_reserves",
        "hv_lines",
        "natura2000",
    }
)
"""Layer names of the backbone. Project-named constraint layers come on top."""

RULE_KINDS: tuple[str, ...] = ("overlap", "within_distance", "inside")

SEVERITY_RANK: dict[str, int] = {"laag": 1, "middel": 2, "hoog": 3}
"""Severity labels and their order (higher is worse)."""

TOUCH_TOLERANCE_M2 = 0.01
"""Shared area (m2) at or below which two polygons count as touching, not overlapping.

One square decimetre: below the precision of Dutch base maps (BGT, BRK), so a
float-rounding sliver between two adjoining parcels never becomes a conflict.
"""

LENGTH_TOLERANCE_M = 0.01
"""Length (m) of a line inside a constraint at or below which it counts as touching."""

_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_RULES_PATH = _DATA_DIR / "conflict_rules.csv"
DEFAULT_LOOKUPS_PATH = _DATA_DIR / "distance_lookups.csv"

CONFLICT_COLUMNS: tuple[str, ...] = (
    "conflict_id",
    "rule_id",
    "kind",
    "severity",
    "severity_rank",
    "description_nl",
    "layer_a",
    "id_a",
    "layer_b",
    "id_b",
    "area_m2",
    "share_a",
    "share_b",
    "dist_m",
    "rule_distance_m",
    "geometry",
)
"""Columns of :attr:`ConflictResult.conflicts`, in order."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "id",
    "n_conflicts",
    "worst_severity",
    "worst_severity_rank",
    "rule_ids",
)
"""Columns of each table in :attr:`ConflictResult.summary`."""

MATRIX_COLUMNS: tuple[str, ...] = ("layer_a", "layer_b", "n_rules", "n_conflicts", "area_m2")
"""Columns of :attr:`ConflictResult.matrix`."""

_RULE_COLUMNS: tuple[str, ...] = (
    "rule_id",
    "layer_a",
    "layer_b",
    "kind",
    "min_area_m2",
    "min_share",
    "distance_m",
    "distance_lookup",
    "lookup_attribute",
    "severity",
    "description_nl",
    "source",
    "enabled",
)
_RULE_REQUIRED: tuple[str, ...] = ("rule_id", "layer_a", "layer_b", "kind", "severity", "description_nl")
_LOOKUP_COLUMNS: tuple[str, ...] = (
    "lookup",
    "key_unit",
    "key_from",
    "key_to",
    "distance_m",
    "certainty",
    "source",
    "note",
)
_PARALLEL_MIN = 4096  # below this many items a thread pool costs more than it saves


# --------------------------------------------------------------------------------------
# Rules and lookups
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistanceLookup:
    """A step table from a numeric attribute to a distance in metres.

    Row ``i`` applies to values ``key_from[i] <= value < key_to[i]``.

    Parameters
    ----------
    name : str
        Name used in the ``distance_lookup`` column of the rules table.
    key_unit : str
        Unit of the key (``kv``, ``mva``). The attribute a rule looks up must end
        in ``_<key_unit>`` (``voltage_kv``), so units cannot be mixed up.
    key_from, key_to, distance_m : numpy.ndarray
        Lower bound (inclusive), upper bound (exclusive) and distance per row.
    """

    name: str
    key_unit: str
    key_from: np.ndarray
    key_to: np.ndarray
    distance_m: np.ndarray

    @property
    def max_distance_m(self) -> float:
        """Largest distance in the table (the conservative value)."""
        return float(np.max(self.distance_m))

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """Return the distance for each value, NaN where no row covers it.

        Parameters
        ----------
        values : numpy.ndarray
            Attribute values (float; NaN for missing).

        Returns
        -------
        numpy.ndarray
            Distances in metres, same shape as ``values``.

        Examples
        --------
        >>> lk = DistanceLookup("x", "mva", np.array([0.0, 10.0]), np.array([10.0, np.inf]),
        ...                     np.array([30.0, 50.0]))
        >>> lk.lookup(np.array([5.0, 10.0, np.nan])).tolist()
        [30.0, 50.0, nan]
        """
        values = np.asarray(values, dtype="float64")
        order = np.argsort(self.key_from, kind="stable")
        lo, hi, dist = self.key_from[order], self.key_to[order], self.distance_m[order]
        pos = np.searchsorted(lo, values, side="right") - 1
        ok = (pos >= 0) & ~np.isnan(values)
        pos = np.clip(pos, 0, len(lo) - 1)
        ok &= values < hi[pos]
        return np.where(ok, dist[pos], np.nan)


@dataclass(frozen=True)
class Rule:
    """One land-claim rule (one row of the rules table).

    ``layer_a`` is the claim that is judged; ``layer_b`` is the other claim, the
    constraint, or the source of the zone. For a distance looked up from an
    attribute, the attribute is read from ``layer_b``.

    Parameters
    ----------
    rule_id : str
        Unique id, used in outputs and in project-file overrides.
    layer_a, layer_b : str
        Layer names. ``layer_a == layer_b`` compares a layer with itself (each
        unordered pair once, a feature never with itself).
    kind : str
        ``overlap``, ``within_distance`` or ``inside``.
    severity : str
        ``laag``, ``middel`` or ``hoog`` (see :data:`SEVERITY_RANK`).
    description_nl : str
        What the conflict means, in Dutch, for the planner.
    source : str
        Where the rule or its distance comes from.
    min_area_m2, min_share : float or None
        Thresholds for ``overlap`` and ``inside``. A pair conflicts when the shared
        area exceeds :data:`TOUCH_TOLERANCE_M2` and *either* threshold is met
        (``area_m2 >= min_area_m2`` or share ``>= min_share``). With neither set,
        any shared area counts.
    distance_m : float or None
        Fixed distance for ``within_distance``.
    distance_lookup, lookup_attribute : str or None
        Lookup table name and the ``layer_b`` attribute that keys it, for
        ``within_distance`` rules whose distance depends on the feature.
    enabled : bool
        Disabled rules are kept (so overrides can re-enable them) but not run.
    """

    rule_id: str
    layer_a: str
    layer_b: str
    kind: str
    severity: str
    description_nl: str
    source: str = ""
    min_area_m2: float | None = None
    min_share: float | None = None
    distance_m: float | None = None
    distance_lookup: str | None = None
    lookup_attribute: str | None = None
    enabled: bool = True

    @property
    def severity_rank(self) -> int:
        """Rank of the severity (1 = laag ... 3 = hoog)."""
        return SEVERITY_RANK[self.severity]


@dataclass(frozen=True)
class RuleSet:
    """A validated set of rules and the distance lookups they use.

    Parameters
    ----------
    rules : tuple of Rule
        In table order; rule ids are unique.
    lookups : dict of str to DistanceLookup
        Lookup tables by name.
    """

    rules: tuple[Rule, ...]
    lookups: Mapping[str, DistanceLookup] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule:
        """Return the rule with this id.

        Raises
        ------
        ConflictRuleError
            If there is no such rule.
        """
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise ConflictRuleError(f"rule {rule_id}: no such rule; known rules: {', '.join(r.rule_id for r in self.rules)}")

    @property
    def enabled(self) -> tuple[Rule, ...]:
        """The rules that will be run."""
        return tuple(r for r in self.rules if r.enabled)

    def layers(self) -> set[str]:
        """Names of all layers the enabled rules refer to."""
        return {name for r in self.enabled for name in (r.layer_a, r.layer_b)}

    def rule_distance_m(self, rule: Rule) -> float:
        """Largest distance a rule can apply (0 for ``overlap`` and ``inside``)."""
        if rule.kind != "within_distance":
            return 0.0
        if rule.distance_lookup is not None:
            return self.lookups[rule.distance_lookup].max_distance_m
        return float(rule.distance_m or 0.0)

    def validate(self, known_layers: Iterable[str] | None = None) -> RuleSet:
        """Check every rule; raise one error listing every problem.

        Parameters
        ----------
        known_layers : iterable of str, optional
            Layer names a rule may use. Defaults to :data:`KNOWN_LAYERS`. Pass
            the project's own constraint layer names on top of those.

        Returns
        -------
        RuleSet
            ``self``, so calls can be chained.

        Raises
        ------
        ConflictRuleError
            Naming each offending rule id and how to fix it.
        """
        known = set(KNOWN_LAYERS if known_layers is None else known_layers)
        problems: list[str] = []
        seen: set[str] = set()
        for r in self.rules:
            where = f"rule {r.rule_id}"
            if r.rule_id in seen:
                problems.append(f"{where}: rule id used twice - give each rule its own id")
            seen.add(r.rule_id)
            for side in ("layer_a", "layer_b"):
                name = getattr(r, side)
                if name not in known:
                    problems.append(
                        f"{where}: {side} '{name}' is not a known layer - use one of "
                        f"{', '.join(sorted(known))}, or declare '{name}' as a constraint layer "
                        "in the project file"
                    )
            if r.kind not in RULE_KINDS:
                problems.append(f"{where}: kind '{r.kind}' unknown - use one of {', '.join(RULE_KINDS)}")
            if r.severity not in SEVERITY_RANK:
                problems.append(
                    f"{where}: severity '{r.severity}' unknown - use one of {', '.join(SEVERITY_RANK)}"
                )
            if not r.description_nl.strip():
                problems.append(f"{where}: description_nl is empty - describe the conflict in Dutch")
            if r.min_area_m2 is not None and not (math.isfinite(r.min_area_m2) and r.min_area_m2 >= 0):
                problems.append(f"{where}: min_area_m2 must be a number >= 0, got {r.min_area_m2}")
            if r.min_share is not None and not (0.0 <= r.min_share <= 1.0):
                problems.append(f"{where}: min_share must be between 0 and 1, got {r.min_share}")
            if r.kind == "within_distance":
                problems.extend(self._distance_problems(r))
            elif r.kind in RULE_KINDS:
                if r.distance_m is not None or r.distance_lookup is not None:
                    problems.append(
                        f"{where}: a {r.kind} rule takes no distance_m or distance_lookup - "
                        "use kind within_distance for a distance rule"
                    )
        if problems:
            more = len(problems) - 1
            msg = problems[0] + (f" (and {more} more: " + "; ".join(problems[1:]) + ")" if more else "")
            err = ConflictRuleError(msg)
            err.problems = problems  # type: ignore[attr-defined]
            raise err
        return self

    def _distance_problems(self, r: Rule) -> list[str]:
        where = f"rule {r.rule_id}"
        out: list[str] = []
        if (r.distance_m is None) == (r.distance_lookup is None):
            out.append(f"{where}: a within_distance rule needs exactly one of distance_m or distance_lookup")
        if r.distance_m is not None and not (math.isfinite(r.distance_m) and r.distance_m >= 0):
            out.append(
                f"{where}: distance_m is {r.distance_m}; a distance must be a number >= 0 metres"
            )
        if r.min_area_m2 is not None or r.min_share is not None:
            out.append(f"{where}: min_area_m2 and min_share apply to overlap and inside rules only")
        if r.distance_lookup is not None:
            lk = self.lookups.get(r.distance_lookup)
            if lk is None:
                out.append(
                    f"{where}: distance_lookup '{r.distance_lookup}' is not in the lookup table - "
                    f"use one of {', '.join(sorted(self.lookups)) or '(none loaded)'}"
                )
            elif not r.lookup_attribute:
                out.append(f"{where}: distance_lookup '{r.distance_lookup}' needs a lookup_attribute of {r.layer_b}")
            elif not r.lookup_attribute.endswith("_" + lk.key_unit):
                out.append(
                    f"{where}: lookup '{lk.name}' is keyed in {lk.key_unit} but attribute "
                    f"'{r.lookup_attribute}' is not (its name must end in _{lk.key_unit})"
                )
        elif r.lookup_attribute is not None:
            out.append(f"{where}: lookup_attribute is set but distance_lookup is empty")
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the rules as a table with the columns of ``conflict_rules.csv``."""
        return pd.DataFrame(
            [{c: getattr(r, c) for c in _RULE_COLUMNS} for r in self.rules], columns=list(_RULE_COLUMNS)
        )


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _as_float(value: Any, where: str, column: str, problems: list[str]) -> float | None:
    if _blank(value):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {column} '{value}' is not a number")
        return None
    if math.isnan(out):
        return None
    return out


def _as_bool(value: Any, where: str, problems: list[str]) -> bool:
    if _blank(value):
        return True
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "ja", "y"}:
        return True
    if text in {"false", "0", "no", "nee", "n"}:
        return False
    problems.append(f"{where}: enabled '{value}' is not true/false")
    return True


def _rule_from_mapping(row: Mapping[str, Any], problems: list[str]) -> Rule | None:
    rule_id = "" if _blank(row.get("rule_id")) else str(row["rule_id"]).strip()
    where = f"rule {rule_id or '(no rule_id)'}"
    unknown = sorted(set(row) - set(_RULE_COLUMNS))
    if unknown:
        problems.append(f"{where}: unknown column(s) {', '.join(unknown)} - known: {', '.join(_RULE_COLUMNS)}")
    missing = [c for c in _RULE_REQUIRED if _blank(row.get(c))]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None

    def text(col: str) -> str | None:
        v = row.get(col)
        return None if _blank(v) else str(v).strip()

    return Rule(
        rule_id=rule_id,
        layer_a=str(row["layer_a"]).strip(),
        layer_b=str(row["layer_b"]).strip(),
        kind=str(row["kind"]).strip().lower(),
        severity=str(row["severity"]).strip().lower(),
        description_nl=str(row["description_nl"]).strip(),
        source=text("source") or "",
        min_area_m2=_as_float(row.get("min_area_m2"), where, "min_area_m2", problems),
        min_share=_as_float(row.get("min_share"), where, "min_share", problems),
        distance_m=_as_float(row.get("distance_m"), where, "distance_m", problems),
        distance_lookup=text("distance_lookup"),
        lookup_attribute=text("lookup_attribute"),
        enabled=_as_bool(row.get("enabled"), where, problems),
    )


def _read_csv(path: Path, columns: Sequence[str], what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except FileNotFoundError:
        raise ConflictRuleError(f"{what} not found: {path} - check the path in the project file") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConflictRuleError(f"{what} {path} cannot be read as CSV: {exc}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConflictRuleError(
            f"{what} {path}: missing column(s) {', '.join(missing)} - expected {', '.join(columns)}"
        )
    return frame


def _load_lookups(path: Path) -> dict[str, DistanceLookup]:
    frame = _read_csv(path, _LOOKUP_COLUMNS[:5], "distance lookup table")
    problems: list[str] = []
    out: dict[str, DistanceLookup] = {}
    for name, rows in frame.groupby("lookup", sort=True):
        where = f"lookup {name}"
        units = set(rows["key_unit"].str.strip().str.lower())
        if len(units) != 1:
            problems.append(f"{where}: key_unit must be the same on every row, got {sorted(units)}")
            continue
        vals = {}
        n_before = len(problems)
        for col in ("key_from", "key_to", "distance_m"):
            parsed = pd.to_numeric(rows[col].str.strip(), errors="coerce")
            if parsed.isna().any():
                problems.append(f"{where}: {col} must be a number on every row ('inf' allowed for key_to)")
            vals[col] = parsed.to_numpy(dtype="float64", na_value=np.nan)
        if len(problems) > n_before:
            continue
        if (vals["distance_m"] < 0).any():
            problems.append(f"{where}: negative distance_m - distances must be >= 0 metres")
        if (vals["key_from"] >= vals["key_to"]).any():
            problems.append(f"{where}: key_from must be below key_to on every row")
        order = np.argsort(vals["key_from"])
        if (vals["key_from"][order][1:] < vals["key_to"][order][:-1]).any():
            problems.append(f"{where}: key ranges overlap - each value must fall in one row")
        out[str(name)] = DistanceLookup(
            name=str(name),
            key_unit=units.pop(),
            key_from=vals["key_from"],
            key_to=vals["key_to"],
            distance_m=vals["distance_m"],
        )
    if problems:
        raise ConflictRuleError("; ".join(problems))
    return out


def load_rules(
    path: str | os.PathLike[str] | None = None,
    *,
    lookups_path: str | os.PathLike[str] | None = None,
    overrides: Sequence[Mapping[str, Any]] | None = None,
    known_layers: Iterable[str] | None = None,
) -> RuleSet:
    """Read the rules table and the distance lookups, apply overrides, validate.

    Parameters
    ----------
    path : path-like, optional
        Rules CSV; defaults to the bundled ``data/conflict_rules.csv``.
    lookups_path : path-like, optional
        Lookup CSV; defaults to the bundled ``data/distance_lookups.csv``.
    overrides : sequence of mapping, optional
        Per-project changes, e.g. from ``[[conflicts.rules]]`` in the project
        file. An override with the ``rule_id`` of an existing rule replaces the
        fields it names (``{"rule_id": "R05", "enabled": False}`` switches a rule
        off, ``{"rule_id": "R10", "severity": "middel"}`` lowers it); one with a
        new ``rule_id`` adds a rule and must give every required field.
    known_layers : iterable of str, optional
        Layer names a rule may use; defaults to :data:`KNOWN_LAYERS`. Add the
        project's own constraint layers here.

    Returns
    -------
    RuleSet

    Raises
    ------
    ConflictRuleError
        If a table cannot be read or any rule is malformed; the message names
        the rule id.

    Examples
    --------
    >>> rules = load_rules(overrides=[{"rule_id": "R12", "severity": "hoog"}])
    >>> rules.get("R12").severity
    'hoog'
    """
    rules_file = Path(path) if path is not None else DEFAULT_RULES_PATH
    lookups = _load_lookups(Path(lookups_path) if lookups_path is not None else DEFAULT_LOOKUPS_PATH)
    frame = _read_csv(rules_file, _RULE_REQUIRED, "rules table")
    problems: list[str] = []
    rules: list[Rule] = []
    for row in frame.to_dict(orient="records"):
        rule = _rule_from_mapping(row, problems)
        if rule is not None:
            rules.append(rule)
    for ov in overrides or ():
        if _blank(ov.get("rule_id")):
            problems.append(f"override {dict(ov)}: needs a rule_id")
            continue
        rid = str(ov["rule_id"]).strip()
        idx = next((i for i, r in enumerate(rules) if r.rule_id == rid), None)
        if idx is None:
            new = _rule_from_mapping(ov, problems)
            if new is not None:
                rules.append(new)
            continue
        merged = {f.name: getattr(rules[idx], f.name) for f in fields(Rule)}
        merged.update(ov)
        new = _rule_from_mapping(merged, problems)
        if new is not None:
            rules[idx] = new
    if problems:
        raise ConflictRuleError("; ".join(problems))
    return RuleSet(tuple(rules), lookups).validate(known_layers)


def constraint_margin_m(rules: RuleSet) -> float:
    """Largest distance any enabled rule can apply, in metres.

    Read constraint (and zone-source) layers with the region's bounding box
    grown by this margin: a feature outside the region whose zone reaches into
    it is then still in the data. Lookup rules count with their largest row.

    Parameters
    ----------
    rules : RuleSet

    Returns
    -------
    float
        0.0 when there are no distance rules.

    Examples
    --------
    >>> constraint_margin_m(load_rules()) >= 300.0
    True
    """
    return max((rules.rule_distance_m(r) for r in rules.enabled), default=0.0)


def constraint_read_bbox(
    bounds: Sequence[float], rules: RuleSet
) -> tuple[float, float, float, float]:
    """Bounding box to read constraint layers with, for a region's bounds.

    A feature at distance ``d`` from the region has a bounding box within ``d``
    of the region's bounding box, so growing that box by
    :func:`constraint_margin_m` on every side finds every feature whose zone can
    reach the region.

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` of the region in the working CRS.
    rules : RuleSet

    Returns
    -------
    tuple of float
        Grown ``(minx, miny, maxx, maxy)``, e.g. for ``geopandas.read_file(bbox=...)``.
    """
    m = constraint_margin_m(rules)
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return (minx - m, miny - m, maxx + m, maxy + m)


# --------------------------------------------------------------------------------------
# Vectorised kernels
# --------------------------------------------------------------------------------------


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


def _n_threads(threads: int | None) -> int:
    return max(1, int(threads if threads is not None else (os.cpu_count() or 1)))


def _chunked(
    func: Callable[[slice], Any], n: int, threads: int
) -> list[Any]:
    """Apply ``func`` to consecutive slices covering ``range(n)``, in threads."""
    if threads <= 1 or n < _PARALLEL_MIN:
        return [func(slice(0, n))]
    k = threads
    edges = np.linspace(0, n, k + 1).astype(np.int64)
    parts = [slice(int(edges[i]), int(edges[i + 1])) for i in range(k)]
    with ThreadPoolExecutor(max_workers=threads) as ex:
        return list(ex.map(func, parts))


def _concat_pairs(results: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not results:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    return (
        np.concatenate([r[0] for r in results]).astype(np.intp, copy=False),
        np.concatenate([r[1] for r in results]).astype(np.intp, copy=False),
    )


def _boxes(bounds: np.ndarray, grow: np.ndarray | float = 0.0) -> np.ndarray:
    """Rectangles from an (n, 4) bounds array, grown by ``grow`` on each side."""
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


def _safe_intersection(a: np.ndarray, b: np.ndarray, repaired: list[int]) -> np.ndarray:
    """Vectorised intersection; on a GEOS topology failure redo with snap rounding."""
    try:
        return shapely.intersection(a, b)
    except GEOSException:
        # OverlayNG with a fixed 1 mm precision grid is fully robust.
        repaired.append(len(a))
        return shapely.intersection(a, b, grid_size=0.001)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry (None where there are none)."""
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

    Candidates come from one bulk STRtree bounding-box query; the intersection
    and its area are computed vectorised on the candidate arrays, chunked over
    ``threads``. Pairs that only touch yield a line or point and zero area, and
    are dropped. The overlap of two polygons can hold stray lines or points
    (where they also touch elsewhere); only its polygonal parts are returned.

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
    nthreads = _n_threads(threads)
    tree = tree_b if tree_b is not None else shapely.STRtree(b)

    def query(s: slice) -> tuple[np.ndarray, np.ndarray]:
        ia, ib = tree.query(a[s])
        return ia + s.start, ib

    ia, ib = _concat_pairs(_chunked(query, len(a), nthreads))
    if same:
        keep = ia < ib
        ia, ib = ia[keep], ib[keep]
    repaired: list[int] = []

    def intersect(s: slice) -> tuple[np.ndarray, np.ndarray]:
        inter = _safe_intersection(a[ia[s]], b[ib[s]], repaired)
        return inter, shapely.area(inter)

    parts = _chunked(intersect, len(ia), nthreads)
    if parts:
        inter = np.concatenate([p[0] for p in parts]) if len(ia) else np.empty(0, dtype=object)
        area = np.concatenate([p[1] for p in parts]) if len(ia) else np.empty(0)
    else:
        inter, area = np.empty(0, dtype=object), np.empty(0)
    keep = area > min_area_m2
    ia, ib, area, inter = ia[keep], ib[keep], area[keep], inter[keep]
    inter = _polygonal(inter)
    order = np.lexsort((ib, ia))
    return OverlapPairs(ia[order], ib[order], area[order].astype("float64"), inter[order])


_N_SAMPLE = 4  # vertices per geometry used for the cheap distance upper bound


def _vertex_sample(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        nan = np.full((n, _N_SAMPLE), np.nan)
        return nan, nan.copy(), has
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    pos = starts[:, None] + (counts[:, None] * np.arange(_N_SAMPLE)[None, :]) // _N_SAMPLE
    pos = np.minimum(pos, len(coords) - 1)
    x = coords[pos, 0]
    y = coords[pos, 1]
    x[~has] = np.nan
    y[~has] = np.nan
    return x, y, has


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
    nthreads = _n_threads(threads)
    d_b = np.broadcast_to(np.asarray(distance, dtype="float64"), (len(b),))
    if (d_b < 0).any():
        raise ValueError("distance must be >= 0 metres")
    tree = tree_a if tree_a is not None else shapely.STRtree(a)
    bounds_a = shapely.bounds(a)
    bounds_b = shapely.bounds(b)
    usable_b = ~np.isnan(d_b) & ~np.isnan(bounds_b[:, 0])
    grow = np.where(usable_b, d_b, 0.0)
    # building the query boxes holds the GIL; everything in `work` releases it
    boxes = _boxes(np.where(usable_b[:, None], bounds_b, 0.0), grow)
    if not with_distance:
        xa, ya, has_a = _vertex_sample(a)
        xb, yb, has_b = _vertex_sample(b)

    def work(s: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ib, ia = tree.query(boxes[s])
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
        for i in range(_N_SAMPLE):
            for j in range(_N_SAMPLE):
                ex = pxa[:, i] - pxb[:, j]
                ey = pya[:, i] - pyb[:, j]
                np.fmin(upper2, ex * ex + ey * ey, out=upper2)
        ok = has_a[ia] & has_b[ib] & (upper2 <= d2)
        rest = np.flatnonzero(~ok)
        ok[rest] = shapely.dwithin(a[ia[rest]], b[ib[rest]], d_pair[rest])
        return ia[ok], ib[ok], None

    parts = _chunked(work, len(b), nthreads)
    ia = np.concatenate([p[0] for p in parts]).astype(np.intp, copy=False)
    ib = np.concatenate([p[1] for p in parts]).astype(np.intp, copy=False)
    dd = np.concatenate([p[2] for p in parts]) if with_distance else None
    order = np.lexsort((ib, ia))
    return DistancePairs(ia[order], ib[order], None if dd is None else dd[order])


# --------------------------------------------------------------------------------------
# Layer preparation
# --------------------------------------------------------------------------------------


@dataclass
class _Layer:
    name: str
    frame: gpd.GeoDataFrame  # the caller's frame (index preserved)
    ids: np.ndarray  # str ids, by position
    geoms: np.ndarray  # repaired geometries, None where unusable
    polys: np.ndarray  # polygonal part of each geometry, None where none
    _rank: np.ndarray | None = None

    @property
    def rank(self) -> np.ndarray:
        """Position of each feature when the layer is sorted by id."""
        if self._rank is None:
            order = np.argsort(self.ids.astype(str), kind="stable")
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self._rank = rank
        return self._rank


def _prepare_layer(name: str, frame: Any, crs: CRS, notices: NoticeLog) -> _Layer:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerValidationError(
            [Problem(name, f"expected a GeoDataFrame, got {type(frame).__name__}", fix="read it with spatialprog.layers")]
        )
    if frame.crs is None:
        raise CRSError(
            f"{name}: the layer has no CRS - declare it in the project file or set it with "
            f"gdf.set_crs(...); the working CRS is {crs.to_string()}"
        )
    if not frame.crs.equals(crs):
        notices.add(
            name,
            f"reprojected from {frame.crs.to_string()} to {crs.to_string()} for the conflict rules",
            level="info",
        )
        frame_w = frame.to_crs(crs)
    else:
        frame_w = frame
    problems: list[Problem] = []
    if "id" not in frame.columns:
        problems.append(Problem(name, "no 'id' column", field="id", fix="give every feature a unique id"))
        raise LayerValidationError(problems)
    ids = frame["id"].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        for fid in sorted(set(ids[dup])):
            problems.append(Problem(name, "id used by more than one feature", feature=fid, field="id",
                                    fix="make ids unique within the layer"))
        raise LayerValidationError(problems)

    geoms = np.asarray(frame_w.geometry.array, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for fid in ids[missing & ~shapely.is_missing(geoms)].tolist() + ids[shapely.is_missing(geoms)].tolist():
        notices.add(name, "empty geometry: the feature is left out of the conflict rules", feature=fid)
    geoms[missing] = None
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    invalid = np.flatnonzero(~missing & ~shapely.is_valid(geoms))
    if len(invalid):
        reasons = shapely.is_valid_reason(geoms[invalid])
        was_polygonal = np.isin(shapely.get_type_id(geoms[invalid]), (3, 6))
        fixed = shapely.make_valid(geoms[invalid])
        fixed_poly = _polygonal(fixed)
        fixed = np.where(was_polygonal, fixed_poly, fixed)
        before = shapely.area(geoms[invalid])
        for k, pos in enumerate(invalid):
            fid = ids[pos]
            if fixed[k] is None or shapely.is_empty(fixed[k]):
                notices.add(name, f"invalid geometry ({reasons[k]}) collapses when repaired; "
                            "the feature is left out of the conflict rules", feature=fid,
                            fix="redraw the feature")
                fixed[k] = None
            else:
                notices.add(
                    name,
                    f"invalid geometry ({reasons[k]}) repaired with make_valid "
                    f"(area {float(before[k]):.2f} -> {float(shapely.area(fixed[k])):.2f} m2)",
                    feature=fid,
                    fix="fix the geometry at the source to silence this notice",
                )
        geoms[invalid] = fixed
    return _Layer(name=name, frame=frame, ids=ids, geoms=geoms, polys=_polygonal(geoms))


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------


@dataclass
class ConflictResult:
    """Result of :func:`compute_conflicts`.

    Attributes
    ----------
    conflicts : geopandas.GeoDataFrame
        One row per conflict, columns :data:`CONFLICT_COLUMNS`, in the working
        CRS, sorted by ``rule_id``, ``id_a``, ``id_b``. ``conflict_id`` is
        ``"<rule_id>:<id_a>:<id_b>"``, stable between runs. Overlap and inside
        rows carry ``area_m2``, ``share_a`` and ``share_b`` (shared area over
        each feature's area) and the shared part as geometry; distance rows
        carry ``dist_m``, the applied ``rule_distance_m`` and the shortest line
        between the two features as geometry. Columns that do not apply are NaN.
    summary : dict of str to pandas.DataFrame
        For every input layer that an enabled rule refers to, a table aligned
        to that layer's index (every feature, zero where none) with
        :data:`SUMMARY_COLUMNS`. A conflict counts
        for both features in it. ``worst_severity`` is missing (NA) and
        ``worst_severity_rank`` 0 where a feature has no conflict; ``rule_ids``
        is the sorted, comma-joined list of rule ids.
    matrix : pandas.DataFrame
        Tidy layer x layer table (:data:`MATRIX_COLUMNS`): for every pair of
        layers compared by at least one rule, the number of rules, conflicts and
        the total shared area in m2 (0 for distance rules).
    notices : NoticeLog
        Repairs and skipped rules; the run went on.
    rules_run : tuple of str
        Ids of the rules that were evaluated.
    """

    conflicts: gpd.GeoDataFrame
    summary: dict[str, pd.DataFrame]
    matrix: pd.DataFrame
    notices: NoticeLog
    rules_run: tuple[str, ...] = ()


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


def _frame_rows(
    rule: Rule,
    la: _Layer,
    lb: _Layer,
    ia: np.ndarray,
    ib: np.ndarray,
    geometry: np.ndarray,
    *,
    area: np.ndarray | None = None,
    share_a: np.ndarray | None = None,
    share_b: np.ndarray | None = None,
    dist: np.ndarray | None = None,
    rule_distance: np.ndarray | None = None,
) -> pd.DataFrame:
    order = np.lexsort((lb.rank[ib], la.rank[ia]))  # sorted by id_a, then id_b

    def pick(values: np.ndarray | None) -> np.ndarray:
        return np.full(len(ia), np.nan) if values is None else np.asarray(values, "float64")[order]

    ia, ib = ia[order], ib[order]
    n = len(ia)
    id_a = pd.Series(la.ids[ia], dtype="str")
    id_b = pd.Series(lb.ids[ib], dtype="str")
    return pd.DataFrame(
        {
            "conflict_id": (rule.rule_id + ":" + id_a + ":" + id_b).to_numpy(),
            "rule_id": rule.rule_id,
            "kind": rule.kind,
            "severity": rule.severity,
            "severity_rank": np.full(n, rule.severity_rank, dtype="int64"),
            "description_nl": rule.description_nl,
            "layer_a": rule.layer_a,
            "id_a": id_a.to_numpy(),
            "layer_b": rule.layer_b,
            "id_b": id_b.to_numpy(),
            "area_m2": pick(area),
            "share_a": pick(share_a),
            "share_b": pick(share_b),
            "dist_m": pick(dist),
            "rule_distance_m": pick(rule_distance),
            "geometry": np.asarray(geometry, dtype=object)[order],
            "_pos_a": ia,
            "_pos_b": ib,
        },
        index=pd.RangeIndex(n),
    )


def _run_overlap(rule: Rule, la: _Layer, lb: _Layer, same: bool, threads: int,
                 notices: NoticeLog) -> pd.DataFrame:
    for layer in {la.name: la, lb.name: lb}.values():
        n_np = int(np.sum((layer.geoms != None) & (layer.polys == None)))  # noqa: E711
        if n_np:
            notices.add(
                layer.name,
                f"rule {rule.rule_id}: {n_np} feature(s) are not polygons and have no area to "
                "overlap; they are left out of this rule",
                level="info",
                fix="use an 'inside' or 'within_distance' rule for points and lines",
            )
    pa, pb = la.polys, lb.polys
    sel_a = np.flatnonzero(pa != None)  # noqa: E711
    sel_b = sel_a if same else np.flatnonzero(pb != None)  # noqa: E711
    res = overlap_pairs(pa[sel_a], pb[sel_b], same=same, threads=threads)
    ia, ib = sel_a[res.index_a], sel_b[res.index_b]
    area_a = shapely.area(pa[ia])
    area_b = shapely.area(pb[ib])
    share_a = res.area_m2 / area_a
    share_b = res.area_m2 / area_b
    ok = _thresholds_pass(res.area_m2, np.maximum(share_a, share_b), rule)
    return _frame_rows(rule, la, lb, ia[ok], ib[ok], res.geometry[ok], area=res.area_m2[ok],
                       share_a=share_a[ok], share_b=share_b[ok])


def _run_inside(rule: Rule, la: _Layer, lb: _Layer, same: bool, threads: int,
                notices: NoticeLog) -> pd.DataFrame:
    n_np = int(np.sum((lb.geoms != None) & (lb.polys == None)))  # noqa: E711
    if n_np:
        notices.add(
            lb.name,
            f"rule {rule.rule_id}: {n_np} feature(s) are not polygons and cannot contain a claim; "
            "they are left out of this rule",
            level="info",
        )
    ga = la.geoms
    sel_a = np.flatnonzero(ga != None)  # noqa: E711
    sel_b = np.flatnonzero(lb.polys != None)  # noqa: E711
    a, b = ga[sel_a], lb.polys[sel_b]
    tree = shapely.STRtree(b)
    nthreads = _n_threads(threads)

    def query(s: slice) -> tuple[np.ndarray, np.ndarray]:
        qa, qb = tree.query(a[s], predicate="intersects")
        return qa + s.start, qb

    qa, qb = _concat_pairs(_chunked(query, len(a), nthreads))
    if same:
        keep = sel_a[qa] != sel_b[qb]
        qa, qb = qa[keep], qb[keep]
    repaired: list[int] = []

    def intersect(s: slice) -> np.ndarray:
        return _safe_intersection(a[qa[s]], b[qb[s]], repaired)

    parts = _chunked(intersect, len(qa), nthreads)
    inter = np.concatenate(parts) if len(qa) else np.empty(0, dtype=object)
    ga_pairs = a[qa]
    dim = shapely.get_dimensions(ga_pairs)
    # measure of the claim inside the constraint, and the share of the claim it is
    area = shapely.area(inter)
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
    ok = hit & _thresholds_pass(area, share_a, rule)
    if repaired:
        notices.add(rule.layer_a, f"rule {rule.rule_id}: intersection redone on a 1 mm grid after a GEOS "
                    "topology error", level="info")
    geom = np.where(dim == 2, _polygonal(inter), inter)
    return _frame_rows(rule, la, lb, sel_a[qa[ok]], sel_b[qb[ok]], geom[ok], area=area[ok],
                       share_a=share_a[ok], share_b=share_b[ok])


def _zone_distances(rule: Rule, rules: RuleSet, lb: _Layer, notices: NoticeLog) -> np.ndarray:
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


def _run_distance(rule: Rule, rules: RuleSet, la: _Layer, lb: _Layer, same: bool, threads: int,
                  notices: NoticeLog) -> pd.DataFrame:
    d_b = _zone_distances(rule, rules, lb, notices)
    sel_a = np.flatnonzero(la.geoms != None)  # noqa: E711
    sel_b = np.flatnonzero(lb.geoms != None)  # noqa: E711
    res = pairs_within_distance(la.geoms[sel_a], lb.geoms[sel_b], d_b[sel_b], same=same,
                                with_distance=False, threads=threads)
    ia, ib = sel_a[res.index_a], sel_b[res.index_b]

    def lines(s: slice) -> tuple[np.ndarray, np.ndarray]:
        line = shapely.shortest_line(la.geoms[ia[s]], lb.geoms[ib[s]])
        return line, shapely.length(line)  # the length of the shortest line is the distance

    parts = _chunked(lines, len(ia), threads)
    geom = np.concatenate([p[0] for p in parts]) if len(ia) else np.empty(0, dtype=object)
    dist = np.concatenate([p[1] for p in parts]) if len(ia) else np.empty(0)
    return _frame_rows(rule, la, lb, ia, ib, geom, dist=dist, rule_distance=d_b[ib])


def _empty_conflicts(crs: CRS) -> gpd.GeoDataFrame:
    cols: dict[str, Any] = {
        c: pd.Series([], dtype="float64") for c in ("area_m2", "share_a", "share_b", "dist_m", "rule_distance_m")
    }
    for c in ("conflict_id", "rule_id", "kind", "severity", "description_nl", "layer_a", "id_a", "layer_b", "id_b"):
        cols[c] = pd.Series([], dtype="str")
    cols["severity_rank"] = pd.Series([], dtype="int64")
    frame = pd.DataFrame(cols)[[c for c in CONFLICT_COLUMNS if c != "geometry"]]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _join_codes(fpos: np.ndarray, fcode: np.ndarray, names: np.ndarray, n: int) -> np.ndarray:
    """Comma-join the sorted rule names per feature from unique (feature, code) pairs."""
    out = np.full(n, "", dtype=object)
    if not len(fpos):
        return out
    if len(names) <= 62:
        # one bit per rule; the few distinct combinations are joined once each
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, fpos, np.left_shift(np.int64(1), fcode.astype(np.int64)))
        combos, inverse = np.unique(mask[fpos], return_inverse=True)
        text = np.array(
            [",".join(names[[k for k in range(len(names)) if (int(c) >> k) & 1]]) for c in combos],
            dtype=object,
        )
        out[fpos] = text[inverse]
        return out
    starts = np.flatnonzero(np.r_[True, fpos[1:] != fpos[:-1]])
    ends = np.r_[starts[1:], len(fpos)]
    out[fpos[starts]] = [",".join(names[fcode[i:j]]) for i, j in zip(starts, ends, strict=True)]
    return out


def _summaries(prepared: Mapping[str, _Layer], rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    inv_rank = {v: k for k, v in SEVERITY_RANK.items()}
    labels = np.array([pd.NA] + [inv_rank.get(i, pd.NA) for i in range(1, max(SEVERITY_RANK.values()) + 1)],
                      dtype=object)
    if len(rows):
        codes, uniq = pd.factorize(rows["rule_id"], sort=True)
        names = np.asarray(uniq, dtype=object).astype(str)
        sev_all = rows["severity_rank"].to_numpy(dtype=np.int64)
    else:
        codes, names, sev_all = np.zeros(0, np.int64), np.array([], dtype=str), np.zeros(0, np.int64)
    out: dict[str, pd.DataFrame] = {}
    for name, layer in prepared.items():
        n = len(layer.ids)
        pos_parts, code_parts, sev_parts = [], [], []
        for side in ("a", "b"):
            if not len(rows):
                continue
            mine = (rows[f"layer_{side}"] == name).to_numpy(dtype=bool)
            pos_parts.append(rows[f"_pos_{side}"].to_numpy(dtype=np.intp)[mine])
            code_parts.append(codes[mine])
            sev_parts.append(sev_all[mine])
        pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.intp)
        code = np.concatenate(code_parts) if code_parts else np.zeros(0, np.int64)
        sev = np.concatenate(sev_parts) if sev_parts else np.zeros(0, np.int64)
        n_conf = np.bincount(pos, minlength=n).astype("int64")
        worst = np.zeros(n, dtype="int64")
        np.maximum.at(worst, pos, sev)
        key = np.unique(pos.astype(np.int64) * max(len(names), 1) + code)
        rule_ids = _join_codes(key // max(len(names), 1), key % max(len(names), 1), names, n)
        out[name] = pd.DataFrame(
            {
                "id": layer.ids,
                "n_conflicts": n_conf,
                "worst_severity": labels[worst],
                "worst_severity_rank": worst,
                "rule_ids": rule_ids,
            },
            index=layer.frame.index,
        ).astype({"id": "str", "worst_severity": "str", "rule_ids": "str"})
    return out


def _matrix(run: list[Rule], rows: pd.DataFrame) -> pd.DataFrame:
    base = pd.DataFrame([(r.layer_a, r.layer_b, r.rule_id) for r in run],
                        columns=["layer_a", "layer_b", "rule_id"])
    if base.empty:
        return pd.DataFrame({"layer_a": pd.Series([], dtype="str"), "layer_b": pd.Series([], dtype="str"),
                             "n_rules": pd.Series([], dtype="int64"),
                             "n_conflicts": pd.Series([], dtype="int64"),
                             "area_m2": pd.Series([], dtype="float64")})
    out = base.groupby(["layer_a", "layer_b"], as_index=False).agg(n_rules=("rule_id", "size"))
    if len(rows):
        agg = rows.groupby(["layer_a", "layer_b"], as_index=False).agg(
            n_conflicts=("rule_id", "size"), area_m2=("area_m2", lambda s: float(np.nansum(s)))
        )
        out = out.merge(agg, on=["layer_a", "layer_b"], how="left")
    else:
        out["n_conflicts"] = 0
        out["area_m2"] = 0.0
    out["n_conflicts"] = out["n_conflicts"].fillna(0).astype("int64")
    out["area_m2"] = out["area_m2"].fillna(0.0).astype("float64")
    return out.sort_values(["layer_a", "layer_b"], ignore_index=True)[list(MATRIX_COLUMNS)]


def compute_conflicts(
    layers: Mapping[str, gpd.GeoDataFrame],
    rules: RuleSet | None = None,
    *,
    known_layers: Iterable[str] = (),
    crs: str | CRS = WORKING_CRS,
    threads: int | None = None,
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
    rules : RuleSet, optional
        Defaults to :func:`load_rules` with ``known_layers``.
    known_layers : iterable of str, optional
        Project-named layers a rule may use on top of :data:`KNOWN_LAYERS` and
        the keys of ``layers``.
    crs : str or pyproj.CRS, default "EPSG:28992"
        Working CRS; must be projected with metre units.
    threads : int, optional
        Worker threads for the GEOS work; defaults to the number of CPUs.

    Returns
    -------
    ConflictResult

    Raises
    ------
    ConflictRuleError
        A rule names an unknown layer (message names the rule), or is malformed.
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
    >>> res = compute_conflicts({"housing_sites": housing, "industrial_zones": industry})
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
    known = set(KNOWN_LAYERS) | set(layers) | set(known_layers)
    if rules is None:
        rules = load_rules(known_layers=known)
    else:
        rules.validate(known)
    notices = NoticeLog()
    prepared: dict[str, _Layer] = {}
    for name in sorted(set(layers) & rules.layers()):  # layers no rule uses are not touched
        prepared[name] = _prepare_layer(name, layers[name], work_crs, notices)

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
            frames.append(_run_overlap(rule, la, lb, same, _n_threads(threads), notices))
        elif rule.kind == "inside":
            frames.append(_run_inside(rule, la, lb, same, _n_threads(threads), notices))
        else:
            frames.append(_run_distance(rule, rules, la, lb, same, _n_threads(threads), notices))

    frames = [f for f in frames if len(f)]
    if frames:
        # each frame is sorted by id_a, id_b; order the frames by rule id
        frames.sort(key=lambda f: str(f["rule_id"].iloc[0]))
        rows = pd.concat(frames, ignore_index=True)
        conflicts = gpd.GeoDataFrame(
            rows[list(CONFLICT_COLUMNS)].astype(
                {c: "str" for c in ("conflict_id", "rule_id", "kind", "severity", "description_nl",
                                    "layer_a", "id_a", "layer_b", "id_b")}
            ),
            geometry="geometry",
            crs=work_crs,
        )
    else:
        rows = pd.DataFrame(columns=["layer_a", "layer_b", "_pos_a", "_pos_b", "rule_id",
                                     "severity_rank", "area_m2"])
        conflicts = _empty_conflicts(work_crs)
    return ConflictResult(
        conflicts=conflicts,
        summary=_summaries(prepared, rows),
        matrix=_matrix(run, rows),
        notices=notices,
        rules_run=tuple(r.rule_id for r in run),
    )
