"""The ``[ranking]`` section of the project file: criteria, weights per variant, options.

Pure: :func:`ranking_settings` validates the section against the criteria
table and the higher-level nodes it is given and returns the
:class:`RankingSettings` in force; it reads no file. The tables come from
the input edge, :func:`spatialprog.reference.read_ranking_settings` (which a
plan calls once, ``plan.reference.ranking``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import BASE_VARIANT, Project
from ..errors import ProjectError
from ..scales import NODE_COLUMNS

NORMALISATIONS = ("max", "minmax", "fixed", "horizon", "none")
DIRECTIONS = ("higher", "lower")
#: the criteria the code computes raw values for (rows of data/ranking_criteria.csv)
CRITERIA = (
    "shortfall_offtake_mw",
    "shortfall_feedin_mw",
    "urgency_years",
    "dwellings_per_mw",
    "jobs_per_mw",
    "priority_category",
    "conflicts",
    "land_reserved",
    "provincial_programme",
)


class _Strict(BaseModel):
    """A section of the project file: unknown keys are errors; frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionSettings(_Strict):
    """``[ranking.criteria.NAME]``: the project's direction / normalisation of one criterion."""

    direction: Literal["higher", "lower"] | None = None
    normalisation: Literal["max", "minmax", "fixed", "horizon", "none"] | None = None
    scale_max: float | None = Field(None, gt=0)


class VariantRankingConfig(_Strict):
    """``[ranking.variants.NAME]``: weights of one development variant (over the project's)."""

    weights: dict[str, Any] = Field(default_factory=dict)


class HigherLevelNodeConfig(_Strict):
    """``[ranking.higher_level.nodes] ID = { capacity_mva = ... }``: one HV station or TenneT node."""

    capacity_mva: float = Field(ge=0)
    capacity_feedin_mva: float | None = Field(None, ge=0)
    name: str = ""
    operator: str = ""
    source: str = ""


class HigherLevelConfig(_Strict):
    """``[ranking.higher_level]``: a CSV of nodes (``path``) and/or nodes given inline."""

    path: str | None = None
    nodes: dict[str, HigherLevelNodeConfig] = Field(default_factory=dict)


class BoundarySourceConfig(_Strict):
    """``[[ranking.boundaries]]``: an extra boundary layer for the scale sums (read by the reference)."""

    path: str
    layer: str | None = None
    level: Literal["municipality", "province", "region"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    crs: str | None = None


class RankingConfig(_Strict):
    """The ``[ranking]`` section as written (:func:`ranking_config`); :class:`RankingSettings` is what is in force."""

    weights: dict[str, Any] = Field(default_factory=dict)
    criteria: dict[str, CriterionSettings] = Field(default_factory=dict)
    variants: dict[str, VariantRankingConfig] = Field(default_factory=dict)
    land_reserved: list[str] = Field(default_factory=list)
    provincial_programme: list[str] = Field(default_factory=list)
    top_n: int = Field(10, ge=1)
    sensitivity_pct: float = Field(25.0, gt=0, lt=100)
    higher_level: HigherLevelConfig = Field(default_factory=HigherLevelConfig)
    boundaries: list[BoundarySourceConfig] = Field(default_factory=list)


def _where(loc: Sequence[Any]) -> str:
    """``("higher_level", "nodes", "TN-Zuid", "capacity_mva")`` -> ``[ranking.higher_level.nodes.TN-Zuid] capacity_mva``."""
    parts = ["ranking", *[str(x) for x in loc]]
    if len(parts) == 1:
        return "[ranking]"
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"


def _config_error(e: ValidationError, fname: str) -> ProjectError:
    err = e.errors()[0]
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key - the [ranking] keys are described in the README (weighing framework)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        if "input" in err:
            msg += f" (got {err['input']!r})"
    more = len(e.errors()) - 1
    return ProjectError(f"{fname}{_where(loc)}: {msg}" + (f" (and {more} more)" if more else ""))


def project_prefix(project: Project) -> str:
    """``"NAME.toml: "``, the prefix of a message about the project file (empty without a file)."""
    return f"{project.path.name}: " if project.path else ""


def _did_you_mean(name: str) -> str:
    """``"; did you mean 'urgency_years'?"`` for a misspelt criterion, else empty."""
    close = difflib.get_close_matches(name, CRITERIA, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _parse_weights(raw: Mapping[str, Any], where: str, fname: str) -> dict[str, float]:
    out = {}
    for k, v in raw.items():
        if k not in CRITERIA:
            raise ProjectError(f"{fname}{where} {k}: unknown criterion{_did_you_mean(k)} - use one of "
                               f"{', '.join(CRITERIA)} (data/ranking_criteria.csv)")
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ProjectError(f"{fname}{where} {k}: the weight must be a number, got {v!r} - write e.g. {k} = 0.25")
        if not math.isfinite(v):
            raise ProjectError(f"{fname}{where} {k}: the weight must be a finite number, got {v!r}")
        if v < 0:
            raise ProjectError(f"{fname}{where} {k}: negative weight {v:g} - weights must be >= 0; to rank the "
                               f"other way, set [ranking.criteria.{k}] direction instead")
        out[k] = float(v)
    return out


@dataclass(frozen=True)
class RankingSettings:
    """The weighing framework in force for a project.

    Attributes
    ----------
    criteria : DataFrame
        The criteria table after the project's direction / normalisation changes.
    weights : dict of str -> dict of str -> float
        Per variant, the weight of every criterion.
    land_reserved, provincial_programme : tuple of str
        Substation ids.
    top_n : int
    sensitivity_pct : float
    higher_level : DataFrame
        ``node_id, name, operator, capacity_mva, capacity_feedin_mva, source``
        (may be empty).
    boundaries : list of BoundarySourceConfig
        Extra boundary layers (e.g. a province) for the scale sums.
    """

    criteria: pd.DataFrame
    weights: dict[str, dict[str, float]]
    land_reserved: tuple[str, ...] = ()
    provincial_programme: tuple[str, ...] = ()
    top_n: int = 10
    sensitivity_pct: float = 25.0
    higher_level: pd.DataFrame = field(default_factory=pd.DataFrame)
    boundaries: tuple[BoundarySourceConfig, ...] = ()

    def criteria_for(self, variant: str) -> pd.DataFrame:
        """The criteria with a ``weight`` column for ``variant``."""
        w = self.weights.get(variant, self.weights[BASE_VARIANT])
        c = self.criteria.copy()
        c["weight"] = c["criterion"].map(w).astype(float)
        return c


def ranking_config(project: Project) -> RankingConfig:
    """The project's ``[ranking]`` section, validated for its keys and types.

    Raises
    ------
    ProjectError
        One line naming the key, e.g. ``[ranking] sensitivity: unknown key``.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> cfg = ranking_config(load_project("layers/example_region.toml"))
    >>> cfg.land_reserved, sorted(cfg.higher_level.nodes), cfg.top_n
    (['OS08'], ['TN-Noord', 'TN-Zuid'], 10)
    """
    fname = project_prefix(project)
    raw = project.model.ranking or {}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{fname}[ranking]: must be a table")
    try:
        return RankingConfig.model_validate(raw)
    except ValidationError as e:
        raise _config_error(e, fname) from None


def inline_nodes(cfg: HigherLevelConfig, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The higher-level nodes: ``table`` (the CSV named by ``path``), with the inline nodes over it.

    Parameters
    ----------
    cfg : HigherLevelConfig
        ``[ranking.higher_level]``; its ``nodes`` replace rows of the same id.
    table : DataFrame, optional
        The nodes read from ``cfg.path``
        (:func:`spatialprog.reference.read_higher_level_nodes` reads it).

    Returns
    -------
    DataFrame
        ``node_id, name, operator, capacity_mva, capacity_feedin_mva, source``, by id.

    Examples
    --------
    >>> cfg = HigherLevelConfig(nodes={"TN": {"capacity_mva": 80, "name": "TenneT"}})
    >>> inline_nodes(cfg)[["node_id", "capacity_mva", "capacity_feedin_mva"]].values.tolist()
    [['TN', 80.0, 80.0]]
    """
    rows: dict[str, dict] = {}
    if table is not None:
        rows = {str(r["node_id"]): dict(r) for r in table.to_dict("records")}
    for nid, n in cfg.nodes.items():
        rows[str(nid)] = {"node_id": str(nid), "name": n.name, "operator": n.operator,
                          "capacity_mva": float(n.capacity_mva),
                          "capacity_feedin_mva": float(n.capacity_feedin_mva if n.capacity_feedin_mva is not None
                                                       else n.capacity_mva),
                          "source": n.source or "project file [ranking.higher_level.nodes]"}
    return pd.DataFrame([rows[k] for k in sorted(rows)], columns=NODE_COLUMNS)


def ranking_settings(project: Project, *, criteria: pd.DataFrame,
                     higher_level: pd.DataFrame | None = None) -> RankingSettings:
    """Validate the project's ``[ranking]`` section against the criteria table (pure).

    Parameters
    ----------
    project : Project
    criteria : DataFrame
        The criteria table (:func:`spatialprog.reference.load_criteria`).
    higher_level : DataFrame, optional
        The higher-level nodes (:func:`spatialprog.reference.read_higher_level_nodes`);
        default: only the nodes given inline in the project file.

    Raises
    ------
    ProjectError
        One line naming the key, e.g. ``[ranking.weights] urgency: unknown criterion``.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> from spatialprog.reference import load_criteria
    >>> s = ranking_settings(load_project("layers/example_region.toml"), criteria=load_criteria())
    >>> round(sum(s.weights["basis"].values()), 6)
    1.0
    """
    fname = project_prefix(project)
    cfg = ranking_config(project)
    crit = criteria.copy()
    for name, cs in cfg.criteria.items():
        if name not in set(crit["criterion"]):
            raise ProjectError(f"{fname}[ranking.criteria.{name}]: unknown criterion{_did_you_mean(name)} - use one "
                               f"of {', '.join(crit['criterion'])}")
        i = crit.index[crit["criterion"] == name][0]
        for key in ("direction", "normalisation", "scale_max"):
            v = getattr(cs, key)
            if v is not None:
                crit.at[i, key] = v
        if crit.at[i, "normalisation"] == "fixed" and not (crit.at[i, "scale_max"] > 0):
            raise ProjectError(f"{fname}[ranking.criteria.{name}] normalisation: 'fixed' needs scale_max > 0 - add "
                               f"scale_max = ...")
    base = dict(zip(crit["criterion"], crit["default_weight"].astype(float), strict=True))
    base |= _parse_weights(cfg.weights, "[ranking.weights]", fname)
    if sum(base.values()) <= 0:
        raise ProjectError(f"{fname}[ranking.weights]: every weight is 0 - give at least one criterion a weight > 0")
    weights = {BASE_VARIANT: base}
    for v in project.variants:
        if v != BASE_VARIANT:
            weights[v] = dict(base)
    for vname, vc in cfg.variants.items():
        if vname not in project.variants:
            raise ProjectError(f"{fname}[ranking.variants.{vname}]: '{vname}' is not a variant of the project - "
                               f"known: {', '.join(project.variants)}")
        w = dict(base) | _parse_weights(vc.weights, f"[ranking.variants.{vname}.weights]", fname)
        if sum(w.values()) <= 0:
            raise ProjectError(f"{fname}[ranking.variants.{vname}.weights]: every weight is 0 - give at least one "
                               f"criterion a weight > 0")
        weights[vname] = w
    return RankingSettings(
        criteria=crit,
        weights=weights,
        land_reserved=tuple(cfg.land_reserved),
        provincial_programme=tuple(cfg.provincial_programme),
        top_n=cfg.top_n,
        sensitivity_pct=cfg.sensitivity_pct,
        higher_level=inline_nodes(cfg.higher_level) if higher_level is None else higher_level,
        boundaries=tuple(cfg.boundaries),
    )
