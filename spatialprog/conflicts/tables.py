"""Reading the rules table and the distance lookups: the input edge of the conflicts engine.

:func:`load_rules` is the only function of :mod:`spatialprog.conflicts` that
opens files. It reads ``conflict_rules.csv`` and ``distance_lookups.csv``
(the bundled ones, or a project's), applies the project's overrides and
returns a validated :class:`~spatialprog.conflicts.rules.RuleSet`; the run
calls it once, in :func:`spatialprog.reference.read_reference`, and hands the
rules to the pure engine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spatialprog.errors import ConflictRuleError
from spatialprog.params import data_dir

from .rules import RULE_COLUMNS, RULE_REQUIRED, DistanceLookup, Rule, RuleSet

__all__ = [
    "LOOKUP_COLUMNS",
    "RULES_FILE",
    "LOOKUPS_FILE",
    "load_rules",
]

RULES_FILE = "conflict_rules.csv"
"""File name of the bundled rules table in :func:`spatialprog.params.data_dir`."""

LOOKUPS_FILE = "distance_lookups.csv"
"""File name of the bundled distance lookup table in :func:`spatialprog.params.data_dir`."""
LOOKUP_COLUMNS: tuple[str, ...] = (
    "lookup",
    "key_unit",
    "key_from",
    "key_to",
    "distance_m",
    "certainty",
    "source",
    "note",
)
"""Columns of the distance lookup table (``distance_lookups.csv``); the first five are required."""


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
    unknown = sorted(set(row) - set(RULE_COLUMNS))
    if unknown:
        problems.append(f"{where}: unknown column(s) {', '.join(unknown)} - known: {', '.join(RULE_COLUMNS)}")
    missing = [c for c in RULE_REQUIRED if _blank(row.get(c))]
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
    frame = _read_csv(path, LOOKUP_COLUMNS[:5], "distance lookup table")
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
        Rules CSV; defaults to the bundled ``conflict_rules.csv`` in
        :func:`spatialprog.params.data_dir`.
    lookups_path : path-like, optional
        Lookup CSV; defaults to the bundled ``distance_lookups.csv`` in
        :func:`spatialprog.params.data_dir`.
    overrides : sequence of mapping, optional
        Per-project changes, e.g. from ``[[conflicts.rules]]`` in the project
        file. An override with the ``rule_id`` of an existing rule replaces the
        fields it names (``{"rule_id": "R05", "enabled": False}`` switches a rule
        off, ``{"rule_id": "R10", "severity": "middel"}`` lowers it); one with a
        new ``rule_id`` adds a rule and must give every required field.
    known_layers : iterable of str, optional
        Layer names a rule may use (the registered kinds, the project's
        constraint layers, those the bundled table names); ``None`` leaves the
        names unchecked (see :meth:`RuleSet.validate`).

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
    rules_file = Path(path) if path is not None else data_dir() / RULES_FILE
    lookups = _load_lookups(Path(lookups_path) if lookups_path is not None else data_dir() / LOOKUPS_FILE)
    frame = _read_csv(rules_file, RULE_REQUIRED, "rules table")
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

