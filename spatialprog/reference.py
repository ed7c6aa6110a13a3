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

The readers of the single tables live here too (:func:`load_criteria`,
:func:`load_priority_categories`, :func:`load_transformer_steps`,
:func:`load_substation_land`, :func:`read_higher_level_nodes`,
:func:`read_boundaries`, :func:`read_ranking_settings`): this module is the
input edge, the only place these files are opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .errors import NoticeLog, ProjectError
from .params import data_dir, load_status_classes, read_reference_table
from .ranking.settings import (
    CRITERIA,
    DIRECTIONS,
    NORMALISATIONS,
    HigherLevelConfig,
    RankingSettings,
    inline_nodes,
    project_prefix,
    ranking_config,
    ranking_settings,
)
from .scales import NODE_COLUMNS, check_boundaries

if TYPE_CHECKING:
    from .config import Project
    from .conflicts import RuleSet

__all__ = [
    "Reference",
    "read_reference",
    "sha256_file",
    "load_criteria",
    "load_priority_categories",
    "load_transformer_steps",
    "load_substation_land",
    "read_higher_level_nodes",
    "read_boundaries",
    "read_ranking_settings",
]


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


# --------------------------------------------------------------------------------------
# the single tables


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

    Examples
    --------
    >>> load_criteria()["criterion"].tolist()[:2]
    ['shortfall_offtake_mw', 'shortfall_feedin_mw']
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


def load_priority_categories(path: str | Path | None = None) -> pd.DataFrame:
    """Read the ACM societal-priority categories (a dated table).

    Returns
    -------
    DataFrame
        ``category, order, name_nl, name_en, score, aliases, examples_nl,
        valid_from, valid_to, confirmed, source``.

    Examples
    --------
    >>> load_priority_categories()["category"].tolist()[:3]
    ['congestieverzachters', 'veiligheid', 'basisbehoeften']
    """
    p = Path(path) if path else data_dir() / "priority_categories.csv"
    df = read_reference_table(p, ["category", "name_nl", "score", "valid_from", "source"], "priority categories",
                              dtype={"aliases": object, "valid_to": object})
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    if df["score"].isna().any() or ((df["score"] < 0) | (df["score"] > 1)).any():
        raise ProjectError(f"{p.name}: score must be a number between 0 and 1 for every category")
    return df


def load_transformer_steps(path: str | Path | None = None) -> pd.DataFrame:
    """Read the standard HV/MV transformer sizes.

    Parameters
    ----------
    path : path, optional
        Defaults to ``data/transformer_steps.csv``.

    Returns
    -------
    DataFrame
        ``hv_kv_min, hv_kv_max, mva, source``; sorted by voltage range and size.
    """
    p = Path(path) if path else data_dir() / "transformer_steps.csv"
    df = read_reference_table(p, ["hv_kv_min", "hv_kv_max", "mva", "source"], "transformer steps")
    for c in ("hv_kv_min", "hv_kv_max", "mva"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    bad = df[df[["hv_kv_min", "hv_kv_max", "mva"]].isna().any(axis=1) | (df["mva"] <= 0)]
    if len(bad):
        raise ProjectError(f"{p.name}: row {int(bad.index[0]) + 2}: hv_kv_min, hv_kv_max and mva must be numbers, "
                           f"mva > 0 - correct the row")
    return df.sort_values(["hv_kv_min", "mva"], kind="stable").reset_index(drop=True)


def load_substation_land(path: str | Path | None = None) -> pd.DataFrame:
    """Read the land a new substation needs by installed capacity.

    Returns
    -------
    DataFrame
        ``max_installed_mva, land_m2, description, source``; ascending.

    Examples
    --------
    >>> from spatialprog.programme import land_for
    >>> land_for(160.0, load_substation_land())
    8000.0
    """
    p = Path(path) if path else data_dir() / "substation_land.csv"
    df = read_reference_table(p, ["max_installed_mva", "land_m2", "source"], "substation land")
    df["max_installed_mva"] = pd.to_numeric(df["max_installed_mva"], errors="coerce").astype(float)
    df["land_m2"] = pd.to_numeric(df["land_m2"], errors="coerce").astype(float)
    if df[["max_installed_mva", "land_m2"]].isna().any().any():
        raise ProjectError(f"{p.name}: max_installed_mva and land_m2 must be numbers (use 'inf' for the last row)")
    return df.sort_values("max_installed_mva", kind="stable").reset_index(drop=True)


def read_higher_level_nodes(cfg: HigherLevelConfig, *, root: str | Path = ".", fname: str = "") -> pd.DataFrame:
    """The higher-level nodes and their capacities from ``[ranking.higher_level]``.

    Parameters
    ----------
    cfg : HigherLevelConfig
        The validated section (``path`` and/or ``nodes``); nodes given inline
        replace rows of the same id in the CSV.
    root : path
        Folder of the project file (``path`` is relative to it).
    fname : str
        Prefix for messages (the project file name).

    Returns
    -------
    DataFrame
        ``node_id, name, operator, capacity_mva, capacity_feedin_mva, source``.

    Raises
    ------
    ProjectError
        When the CSV does not exist, lacks ``node_id`` / ``capacity_mva`` or
        has a capacity that is not a number >= 0 (naming the row).
    """
    if not cfg.path:
        return inline_nodes(cfg)
    p = Path(cfg.path)
    p = p if p.is_absolute() else Path(root) / p
    key = f"{fname}[ranking.higher_level] path"
    if not p.is_file():
        raise ProjectError(f"{key}: '{p}' does not exist - give a CSV with node_id and capacity_mva")
    df = pd.read_csv(p, dtype={"node_id": object})
    for c in ("node_id", "capacity_mva"):
        if c not in df.columns:
            raise ProjectError(f"{key}: column '{c}' is missing in {p.name} - the table needs node_id, capacity_mva")
    rows = []
    for i, r in df.iterrows():
        cap = pd.to_numeric(pd.Series([r["capacity_mva"]]), errors="coerce").iat[0]
        if pd.isna(cap) or cap < 0:
            raise ProjectError(f"{key}: {p.name} row {i + 2} (node {r['node_id']}): capacity_mva must be a number "
                               f">= 0, got {r['capacity_mva']!r}")
        feed = pd.to_numeric(pd.Series([r.get("capacity_feedin_mva")]), errors="coerce").iat[0]
        rows.append({
            "node_id": str(r["node_id"]), "name": str(r.get("name", "") if pd.notna(r.get("name")) else ""),
            "operator": str(r.get("operator", "") if pd.notna(r.get("operator")) else ""),
            "capacity_mva": float(cap), "capacity_feedin_mva": float(feed) if pd.notna(feed) else float(cap),
            "source": str(r.get("source", "") if pd.notna(r.get("source")) else p.name),
        })
    return inline_nodes(cfg, pd.DataFrame(rows, columns=NODE_COLUMNS))


def read_ranking_settings(project: Project, *, criteria: pd.DataFrame | None = None) -> RankingSettings:
    """The project's ``[ranking]`` section with the tables it names: criteria and higher-level nodes.

    Parameters
    ----------
    project : Project
    criteria : DataFrame, optional
        Default: :func:`load_criteria`.

    Raises
    ------
    ProjectError
        One line naming the key or table row at fault.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> s = read_ranking_settings(load_project("layers/example_region.toml"))
    >>> round(sum(s.weights["basis"].values()), 6)
    1.0
    """
    cfg = ranking_config(project)  # a malformed section is reported before any file it names is read
    criteria = load_criteria() if criteria is None else criteria
    nodes = read_higher_level_nodes(cfg.higher_level, root=project.root, fname=project_prefix(project))
    return ranking_settings(project, criteria=criteria, higher_level=nodes)


def read_boundaries(project: Project, boundaries: gpd.GeoDataFrame | None = None, extra: Sequence = (), *,
                    notices: NoticeLog | None = None) -> gpd.GeoDataFrame:
    """The project's boundaries plus the extra boundary layers, checked for overlaps.

    Parameters
    ----------
    project : Project
    boundaries : GeoDataFrame, optional
        The plan's validated ``boundaries`` layer.
    extra : sequence of BoundarySourceConfig
        From ``[[ranking.boundaries]]``; read here.
    notices : NoticeLog, optional

    Returns
    -------
    GeoDataFrame
        ``id, name, level, geometry`` in the working CRS (``level`` defaults
        to ``municipality``).

    Raises
    ------
    LayerValidationError
        When two boundaries of one level overlap
        (:func:`spatialprog.scales.check_boundaries`) or a layer is invalid.
    """
    from .kinds import LAYER_KINDS
    from .layers import LayerSource, read_layer

    notices = notices if notices is not None else NoticeLog()
    parts = []
    if boundaries is not None and len(boundaries):
        parts.append(boundaries)
    for i, src in enumerate(extra):
        ls = LayerSource(path=_project_path(project, src.path), layer=src.layer, columns=dict(src.columns),
                         crs=src.crs, key=f"ranking.boundaries[{i}]")
        g = read_layer(ls, LAYER_KINDS["boundaries"], working_crs=project.crs, notices=notices)
        if src.level:
            g = g.assign(level=src.level)
        parts.append(g)
    if not parts:
        return gpd.GeoDataFrame({"id": [], "name": [], "level": []}, geometry=[], crs=project.crs)
    out = pd.concat([gpd.GeoDataFrame(p[[c for c in ("id", "name", "level") if c in p] + ["geometry"]])
                     for p in parts], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=project.crs)
    if "name" not in out:
        out["name"] = out["id"]
    if "level" not in out:
        out["level"] = "municipality"
    out["level"] = out["level"].astype(object).where(out["level"].notna(), "municipality")
    out["name"] = out["name"].astype(object).where(out["name"].notna(), out["id"])
    check_boundaries(out)
    return out


# --------------------------------------------------------------------------------------
# all of them, for one project


def read_reference(project: Project, layers: Mapping[str, gpd.GeoDataFrame] | None = None, *,
                   notices: NoticeLog | None = None, boundaries: bool = True) -> Reference:
    """Read and validate every reference table a run of ``project`` uses.

    Parameters
    ----------
    project : Project
    layers : mapping, optional
        The plan's validated layers (its ``boundaries`` join the scale-sum boundaries).
    notices : NoticeLog, optional
        Receives remarks from reading extra boundary layers.
    boundaries : bool, default True
        Read the ``[[ranking.boundaries]]`` layers (whole); check-site, which
        has no scale sums, leaves them out.

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
    from .kinds import LAYER_KINDS

    notices = notices if notices is not None else NoticeLog()
    layers = dict(layers or {})
    ddir = data_dir()
    sums: dict[str, str] = {}
    for name in ("status_classes.csv", "ranking_criteria.csv", "priority_categories.csv", "transformer_steps.csv",
                 "substation_land.csv", "column_labels.csv"):  # data/ files read by the loaders below (the labels
        # by the workbooks at the output edge, spatialprog.sheets)
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

    settings = read_ranking_settings(project)
    hl_path = _project_path(project, ranking_config(project).higher_level.path)
    if hl_path is not None and hl_path.is_file():
        sums["ranking.higher_level"] = sha256_file(hl_path)
    extra = settings.boundaries if boundaries else ()
    boundaries = read_boundaries(project, layers.get("boundaries"), extra, notices=notices)
    for i, src in enumerate(extra):
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
