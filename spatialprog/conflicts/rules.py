"""The land-claim rule model: rules, rule sets, distance lookups, and their validation.

A :class:`Rule` is one row of the rules table, a :class:`RuleSet` the validated
set of rules with the :class:`DistanceLookup` tables they use. Everything here
is pure; reading the tables from disk is :func:`spatialprog.conflicts.load_rules`
(:mod:`spatialprog.conflicts.tables`). :func:`constraint_margin_m` and
:func:`constraint_read_bbox` tell the input edge how far around the study
region constraint layers must be read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spatialprog.errors import ConflictRuleError

__all__ = [
    "RULE_KINDS",
    "SEVERITY_RANK",
    "RULE_COLUMNS",
    "RULE_REQUIRED",
    "DistanceLookup",
    "Rule",
    "RuleSet",
    "constraint_margin_m",
    "constraint_read_bbox",
]

RULE_KINDS: tuple[str, ...] = ("overlap", "within_distance", "inside")

SEVERITY_RANK: dict[str, int] = {"laag": 1, "middel": 2, "hoog": 3}
"""Severity labels and their order (higher is worse)."""

RULE_COLUMNS: tuple[str, ...] = (
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
"""Columns of the rules table (``conflict_rules.csv``), in order."""

RULE_REQUIRED: tuple[str, ...] = ("rule_id", "layer_a", "layer_b", "kind", "severity", "description_nl")
"""Columns every rule must fill in."""


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
            Layer names a rule may use: the registered layer kinds
            (:data:`spatialprog.kinds.LAYER_KINDS`), the project's constraint
            layers and those the bundled table names. ``None`` checks
            everything but the names (the input edge checks them once, with
            the project's names).

        Returns
        -------
        RuleSet
            ``self``, so calls can be chained.

        Raises
        ------
        ConflictRuleError
            Naming each offending rule id and how to fix it.
        """
        known = None if known_layers is None else set(known_layers)
        problems: list[str] = []
        seen: set[str] = set()
        for r in self.rules:
            where = f"rule {r.rule_id}"
            if r.rule_id in seen:
                problems.append(f"{where}: rule id used twice - give each rule its own id")
            seen.add(r.rule_id)
            for side in ("layer_a", "layer_b"):
                name = getattr(r, side)
                if known is not None and name not in known:
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
            [{c: getattr(r, c) for c in RULE_COLUMNS} for r in self.rules], columns=list(RULE_COLUMNS)
        )


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
    >>> from spatialprog.conflicts import load_rules
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

