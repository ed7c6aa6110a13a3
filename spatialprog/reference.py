"""The reference tables of a run, read once at the input edge.

Everything the computation looks up besides the layers and the parameters
(status classes, land-claim rules with the project's overrides, the weighing
framework, the societal-priority categories, transformer steps, land per
substation, the boundaries for scale sums, the higher-level nodes) is read
here, when the plan is read, into one :class:`Reference`. Compute, ranking,
programme, scale sums and check-site take their tables from it and open no
files. Each file read is checksummed into :attr:`Reference.checksums`, which
the run manifest records, so two runs can be told apart by their reference
data as well as by their layers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .params import data_dir, load_status_classes

if TYPE_CHECKING:
    from .config import Project
    from .conflicts import RuleSet
    from .errors import NoticeLog
    from .ranking import RankingSettings

__all__ = ["Reference", "read_reference", "sha256_file"]


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Reference:
    """The reference tables in force for one project (read by :func:`read_reference`).

    Attributes
    ----------
    status_classes : DataFrame
        Headroom status classes, best first (``data/status_classes.csv``).
    conflict_rules : RuleSet
        The land-claim rules: the bundled or project table, the project's
        lookups and ``[[conflicts.overrides]]``.
    ranking : RankingSettings
        The weighing framework: criteria, weights per variant, higher-level
        nodes, ``[ranking]`` options.
    priority_categories : DataFrame
        ACM societal-priority categories and their scores.
    transformer_steps : DataFrame
        Standard transformer sizes by voltage.
    substation_land : DataFrame
        Land a new substation needs by installed MVA.
    boundaries : GeoDataFrame
        The project's boundaries plus ``[[ranking.boundaries]]`` layers, for
        the scale sums (``id, name, level, geometry``).
    checksums : dict of str -> str
        ``{role: sha256}`` of every file read here (``data/status_classes.csv``, ...).
    """

    status_classes: pd.DataFrame
    conflict_rules: RuleSet
    ranking: RankingSettings
    priority_categories: pd.DataFrame
    transformer_steps: pd.DataFrame
    substation_land: pd.DataFrame
    boundaries: gpd.GeoDataFrame
    checksums: Mapping[str, str] = field(default_factory=dict)

    def files(self) -> list[dict[str, Any]]:
        """The checksummed files as manifest entries (``role``, ``sha256``), sorted by role."""
        return [{"role": r, "sha256": s} for r, s in sorted(self.checksums.items())]


def _project_path(project: Project, p: str | Path | None) -> Path | None:
    if p is None:
        return None
    q = Path(p).expanduser()
    return q if q.is_absolute() else (project.root / q).resolve()


def read_reference(project: Project, layers: Mapping[str, gpd.GeoDataFrame] | None = None, *,
                   notices: NoticeLog | None = None) -> Reference:
    """Read and validate every reference table a run of ``project`` uses.

    Parameters
    ----------
    project : Project
    layers : mapping, optional
        The plan's validated layers (its ``boundaries`` join the scale-sum boundaries).
    notices : NoticeLog, optional
        Receives remarks from reading extra boundary layers.

    Returns
    -------
    Reference

    Raises
    ------
    ProjectError, ConflictRuleError, LayerValidationError
        One line naming the table, key or feature at fault.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> ref = read_reference(load_project("layers/example_region.toml"))
    >>> ref.status_classes["status"].tolist()
    ['ruimte', 'schaars', 'waarschuwing', 'congestie']
    >>> "data/status_classes.csv" in ref.checksums
    True
    """
    from .conflicts import load_rules
    from .errors import NoticeLog
    from .kinds import LAYER_KINDS
    from .programme import load_substation_land, load_transformer_steps
    from .ranking import load_criteria, load_priority_categories, ranking_settings
    from .scales import read_boundaries

    notices = notices if notices is not None else NoticeLog()
    layers = dict(layers or {})
    ddir = data_dir()
    sums: dict[str, str] = {}
    for name in ("status_classes.csv", "ranking_criteria.csv", "priority_categories.csv", "transformer_steps.csv",
                 "substation_land.csv"):  # data/ files read by the loaders below
        sums[f"data/{name}"] = sha256_file(ddir / name)

    cfg = project.conflicts
    rules_path = _project_path(project, cfg.rules)
    lookups_path = _project_path(project, cfg.lookups)
    sums["conflicts.rules" if rules_path else "data/conflict_rules.csv"] = sha256_file(
        rules_path if rules_path and rules_path.is_file() else ddir / "conflict_rules.csv")
    if lookups_path is None or lookups_path.is_file():
        sums["conflicts.lookups" if lookups_path else "data/distance_lookups.csv"] = sha256_file(
            lookups_path or ddir / "distance_lookups.csv")
    # rules a layer kind brings come first; the project's overrides apply after them
    kind_rules = [dict(r) for k in LAYER_KINDS.values() for r in k.conflict_rules]
    # a rule may name a registered kind, a constraint layer of the project, or a constraint the bundled
    # table names (natura2000): a rule whose layer the project lacks simply does not apply
    bundled = load_rules(known_layers=None).layers()
    rules = load_rules(rules_path, lookups_path=lookups_path, overrides=[*kind_rules, *(cfg.overrides or [])] or None,
                       known_layers=set(LAYER_KINDS) | set(project.constraints) | bundled)

    criteria = load_criteria()
    settings = ranking_settings(project, criteria=criteria)
    hl = (project.model.ranking or {}).get("higher_level") if isinstance(project.model.ranking, Mapping) else None
    if isinstance(hl, Mapping) and hl.get("path"):
        p = _project_path(project, hl["path"])
        if p is not None and p.is_file():
            sums["ranking.higher_level"] = sha256_file(p)
    boundaries = read_boundaries(project, layers.get("boundaries"), settings.boundaries, notices=notices)
    for i, src in enumerate(settings.boundaries):
        p = _project_path(project, src.path)
        if p is not None and p.is_file():
            sums[f"ranking.boundaries[{i}]"] = sha256_file(p)
    return Reference(
        status_classes=load_status_classes(),
        conflict_rules=rules,
        ranking=settings,
        priority_categories=load_priority_categories(),
        transformer_steps=load_transformer_steps(),
        substation_land=load_substation_land(),
        boundaries=boundaries,
        checksums=sums,
    )
