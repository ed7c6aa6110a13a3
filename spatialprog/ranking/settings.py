"""The ``[ranking]`` section of the project file: criteria, weights per variant, options.

:func:`ranking_settings` validates the section against the criteria table and
returns the :class:`RankingSettings` in force.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import BASE_VARIANT, Project
from ..errors import ProjectError
from ..params import data_dir, read_reference_table

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


def load_criteria(path: str | Path | None = None) -> pd.DataFrame:
    """Read the criteria of the weighing framework.

    Parameters
    ----------
    path : path, optional
        Defaults to ``data/ranking_criteria.csv``.

    Returns
    -------
    DataFrame
        ``criterion, applies_to, direction, normalisation, scale_max,
        default_weight, unit, description, source`` in file order.

    Raises
    ------
    ProjectError
        For a direction or normalisation not declared, a negative weight, or
        a criterion the code does not know.
    """
    p = Path(path) if path else data_dir() / "ranking_criteria.csv"
    df = read_reference_table(p, ["criterion", "applies_to", "direction", "normalisation", "scale_max",
                                  "default_weight", "unit", "description", "source"], "ranking criteria")
    df["scale_max"] = pd.to_numeric(df["scale_max"], errors="coerce").astype(float)
    df["default_weight"] = pd.to_numeric(df["default_weight"], errors="coerce").astype(float)
    for _, r in df.iterrows():
        row = f"{p.name}: criterion '{r['criterion']}'"
        if r["criterion"] not in CRITERIA:
            raise ProjectError(f"{row}: unknown criterion - the code computes {', '.join(CRITERIA)}")
        if r["direction"] not in DIRECTIONS:
            raise ProjectError(f"{row}: direction '{r['direction']}' - use higher or lower")
        if r["normalisation"] not in NORMALISATIONS:
            raise ProjectError(f"{row}: normalisation '{r['normalisation']}' - use one of {', '.join(NORMALISATIONS)}")
        if r["normalisation"] == "fixed" and not (r["scale_max"] > 0):
            raise ProjectError(f"{row}: normalisation 'fixed' needs scale_max > 0")
        if not (r["default_weight"] >= 0):
            raise ProjectError(f"{row}: default_weight must be a number >= 0, got {r['default_weight']!r}")
    return df.reset_index(drop=True)



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionSettings(_Strict):
    direction: Literal["higher", "lower"] | None = None
    normalisation: Literal["max", "minmax", "fixed", "horizon", "none"] | None = None
    scale_max: float | None = Field(None, gt=0)


class VariantRankingConfig(_Strict):
    weights: dict[str, Any] = Field(default_factory=dict)


class HigherLevelNodeConfig(_Strict):
    capacity_mva: float = Field(ge=0)
    capacity_feedin_mva: float | None = Field(None, ge=0)
    name: str = ""
    operator: str = ""
    source: str = ""


class HigherLevelConfig(_Strict):
    path: str | None = None
    nodes: dict[str, HigherLevelNodeConfig] = Field(default_factory=dict)


class BoundarySourceConfig(_Strict):
    path: str
    layer: str | None = None
    level: Literal["municipality", "province", "region"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    crs: str | None = None


class RankingConfig(_Strict):
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


def _parse_weights(raw: Mapping[str, Any], where: str, fname: str) -> dict[str, float]:
    out = {}
    for k, v in raw.items():
        if k not in CRITERIA:
            close = difflib.get_close_matches(k, CRITERIA, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ProjectError(f"{fname}{where} {k}: unknown criterion{hint} - use one of {', '.join(CRITERIA)} "
                               f"(data/ranking_criteria.csv)")
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
        ``node_id, name, operator, capacity_mva, source`` (may be empty).
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


def ranking_settings(project: Project, *, criteria: pd.DataFrame | None = None) -> RankingSettings:
    """Validate the project's ``[ranking]`` section against the criteria table.

    Parameters
    ----------
    project : Project
    criteria : DataFrame, optional
        Default: :func:`load_criteria`.

    Raises
    ------
    ProjectError
        One line naming the key, e.g. ``[ranking.weights] urgency: unknown criterion``.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> s = ranking_settings(load_project("layers/example_region.toml"))
    >>> round(sum(s.weights["basis"].values()), 6)
    1.0
    """
    from ..scales import read_higher_level_nodes

    fname = f"{project.path.name}: " if project.path else ""
    raw = project.model.ranking or {}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{fname}[ranking]: must be a table")
    try:
        cfg = RankingConfig.model_validate(raw)
    except ValidationError as e:
        raise _config_error(e, fname) from None
    crit = (load_criteria() if criteria is None else criteria).copy()
    for name, cs in cfg.criteria.items():
        if name not in set(crit["criterion"]):
            close = difflib.get_close_matches(name, CRITERIA, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ProjectError(f"{fname}[ranking.criteria.{name}]: unknown criterion{hint} - use one of "
                               f"{', '.join(crit['criterion'])}")
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
    nodes = read_higher_level_nodes(cfg.higher_level, root=project.root, fname=fname)
    return RankingSettings(
        criteria=crit,
        weights=weights,
        land_reserved=tuple(cfg.land_reserved),
        provincial_programme=tuple(cfg.provincial_programme),
        top_n=cfg.top_n,
        sensitivity_pct=cfg.sensitivity_pct,
        higher_level=nodes,
        boundaries=tuple(cfg.boundaries),
    )

