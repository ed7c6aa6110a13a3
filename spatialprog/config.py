"""The project file (TOML) -> validated settings.

A project file names the layers and their column mappings, the working CRS,
the horizon, parameter overrides, development variants and extra planned
reinforcements. Every mistake becomes one :class:`~spatialprog.errors.ProjectError`
line that names the key (``layers.housing_sites.pth: unknown key ...``).

Example
-------
.. code-block:: toml

    [project]
    name = "Voorbeeldregio Rivierenland"
    crs = "EPSG:28992"
    base_year = 2025
    horizon = [2025, 2040]

    [layers.housing_sites]
    path = "example_region.gpkg"
    layer = "woningbouw"
    columns = { id = "plan_id", dwellings = "woningen" }

    [parameters]
    "growth.offtake_pct_per_year" = 2.0

    [variants.hoog]
    description = "Snelle elektrificatie"
    parameters = { "demand.ev_share_default" = 0.6 }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyproj import CRS

from .errors import ParameterError, ProjectError
from .layers import LAYER_KINDS, LayerSource
from .params import ParameterSet, data_dir, load_parameters

__all__ = ["Project", "load_project", "project_from_dict", "BASE_VARIANT"]

BASE_VARIANT = "basis"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerConfig(_Strict):
    path: str
    layer: str | None = None
    mapping: str | None = Field(None, description="A ready mapping in data/mappings (e.g. 'vivet') or a TOML path.")
    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    recode: dict[str, dict[str, Any]] = Field(default_factory=dict)
    na_values: list[str] = Field(default_factory=list)
    crs: str | None = None

    @field_validator("crs")
    @classmethod
    def _crs(cls, v):
        if v is not None:
            try:
                CRS.from_user_input(v)
            except Exception:
                raise ValueError(f"'{v}' is not a CRS pyproj knows (e.g. 'EPSG:28992')") from None
        return v


class ProjectInfo(_Strict):
    name: str = "spatialprog project"
    description: str = ""
    crs: str = "EPSG:28992"
    base_year: int = Field(2025, ge=1990, le=2100)
    horizon: tuple[int, int] = (2025, 2040)
    fictional: bool = False

    @field_validator("crs")
    @classmethod
    def _crs(cls, v):
        try:
            crs = CRS.from_user_input(v)
        except Exception:
            raise ValueError(f"'{v}' is not a CRS pyproj knows (e.g. 'EPSG:28992')") from None
        if not crs.is_projected:
            raise ValueError(f"the working CRS must be projected (metres), got {v}; use EPSG:28992")
        return v

    @model_validator(mode="after")
    def _years(self):
        a, b = self.horizon
        if b < a:
            raise ValueError(f"horizon [{a}, {b}] ends before it starts")
        if b - a > 60:
            raise ValueError(f"horizon [{a}, {b}] spans more than 60 years")
        if self.base_year > a:
            raise ValueError(f"base_year {self.base_year} is after the first horizon year {a}")
        return self


class AssignmentConfig(_Strict):
    method: Literal["auto", "service_areas", "voronoi", "nearest"] = "auto"
    outside: Literal["nearest", "unassigned"] = "nearest"


class VariantConfig(_Strict):
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class ReinforcementConfig(_Strict):
    substation: str
    year: int = Field(ge=1990, le=2100)
    added_mva: float = Field(gt=0)
    description: str = ""


class ConflictsConfig(_Strict):
    enabled: bool = True
    rules: str | None = Field(None, description="A rules CSV replacing data/conflict_rules.csv.")
    lookups: str | None = Field(None, description="A lookups CSV replacing data/distance_lookups.csv.")
    overrides: list[dict[str, Any]] = Field(default_factory=list,
                                            description="Rules to change (by rule_id) or add.")


class ProjectModel(_Strict):
    project: ProjectInfo = Field(default_factory=ProjectInfo)
    layers: dict[str, LayerConfig]
    assignment: AssignmentConfig = Field(default_factory=AssignmentConfig)
    parameters: dict[str, Any] = Field(default_factory=dict)
    variants: dict[str, VariantConfig] = Field(default_factory=dict)
    reinforcements: list[ReinforcementConfig] = Field(default_factory=list)
    constraints: dict[str, LayerConfig] = Field(default_factory=dict)
    conflicts: ConflictsConfig = Field(default_factory=ConflictsConfig)
    # sections validated by their own module
    ranking: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)


class Project:
    """A validated project: settings, layer sources and parameter sets.

    Attributes
    ----------
    path : Path or None
        The project file.
    name, crs, base_year : str, str, int
    years : list of int
        Every horizon year.
    layers : dict of str -> LayerSource
        Keyed by layer kind (and, later, constraint-layer names).
    parameters : ParameterSet
        Reference parameters with the project's overrides.
    variants : dict of str -> ParameterSet
        The base variant ``"basis"`` first, then the declared variants.
    reinforcements : list of dict
        Extra planned reinforcements (substation, year, added_mva).
    """

    def __init__(self, model: ProjectModel, root: Path, path: Path | None):
        self.model = model
        self.path = path
        self.root = root
        info = model.project
        self.name = info.name
        self.description = info.description
        self.crs = info.crs
        self.base_year = info.base_year
        self.years = list(range(info.horizon[0], info.horizon[1] + 1))
        self.fictional = info.fictional
        self.assignment = model.assignment
        self.reinforcements = [r.model_dump() for r in model.reinforcements]
        self.layers: dict[str, LayerSource] = {}
        for name, lc in model.layers.items():
            self.layers[name] = _layer_source(name, lc, root)
        #: constraint layers by the name rules use for them (e.g. "natura2000")
        self.constraints: dict[str, LayerSource] = {
            name: _layer_source(name, lc, root, section="constraints") for name, lc in model.constraints.items()
        }
        self.conflicts = model.conflicts
        base = load_parameters()
        try:
            self.parameters = base.with_overrides(model.parameters, origin="project", where="[parameters]")
            self.variants: dict[str, ParameterSet] = {BASE_VARIANT: self.parameters}
            for vname, v in model.variants.items():
                if vname == BASE_VARIANT:
                    raise ProjectError(f"variants.{vname}: '{BASE_VARIANT}' is the name of the base variant - rename it")
                self.variants[vname] = self.parameters.with_overrides(
                    v.parameters, origin=f"variant {vname}", where=f"[variants.{vname}.parameters]"
                )
        except ParameterError as e:
            raise ProjectError(f"{self._where()}{e}") from None
        self.variant_descriptions = {BASE_VARIANT: "Basis: the project's own parameters"} | {
            k: v.description for k, v in model.variants.items()
        }

    def _where(self) -> str:
        return f"{self.path.name}: " if self.path else ""

    def __repr__(self) -> str:
        return f"Project({self.name!r}, layers={sorted(self.layers)}, variants={list(self.variants)})"


def _layer_source(name: str, lc: LayerConfig, root: Path, section: str = "layers") -> LayerSource:
    columns: dict[str, str] = {}
    constants: dict[str, Any] = {}
    recode: dict[str, dict[str, Any]] = {}
    na_values: list[str] = []
    crs = lc.crs
    layer = lc.layer
    if lc.mapping:
        m = _load_mapping(lc.mapping, root, f"{section}.{name}.mapping")
        columns.update(m.get("columns", {}))
        constants.update(m.get("constants", {}))
        recode.update(m.get("recode", {}))
        na_values.extend(m.get("na_values", []))
        crs = crs or m.get("crs")
        layer = layer or m.get("layer")
    columns.update(lc.columns)
    constants.update(lc.constants)
    recode.update(lc.recode)
    na_values.extend(lc.na_values)
    path = Path(lc.path).expanduser()
    if not path.is_absolute():
        path = (root / path).resolve()
    return LayerSource(path=path, layer=layer, columns=columns, constants=constants, recode=recode,
                       na_values=tuple(na_values), crs=crs, key=f"{section}.{name}")


def _load_mapping(ref: str, root: Path, key: str) -> dict[str, Any]:
    cand = [data_dir() / "mappings" / f"{ref}.toml", root / ref, Path(ref)]
    for p in cand:
        if p.is_file():
            with open(p, "rb") as fh:
                try:
                    m = tomllib.load(fh)
                except tomllib.TOMLDecodeError as e:
                    raise ProjectError(f"{key}: mapping file '{p}' is not valid TOML: {e}") from None
            extra = set(m) - {"columns", "constants", "recode", "na_values", "crs", "layer", "description", "source", "kind"}
            if extra:
                raise ProjectError(f"{key}: mapping file '{p}' has unknown key(s) {sorted(extra)}")
            return m
    ready = sorted(p.stem for p in (data_dir() / "mappings").glob("*.toml"))
    raise ProjectError(f"{key}: no mapping '{ref}' - use a ready one ({', '.join(ready)}) or a path to a TOML file")


def _format_validation_error(e: ValidationError, fname: str) -> str:
    lines = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{err['loc'][-1]}' - check its spelling against the README's project-file section"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and err["type"] not in ("value_error",):
                msg += f" (got {err['input']!r})"
        lines.append(f"{fname}: {loc}: {msg}")
    return lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")


def project_from_dict(raw: dict[str, Any], *, root: str | Path = ".", path: Path | None = None) -> Project:
    """Validate a project given as a dict (the parsed TOML).

    Raises
    ------
    ProjectError
        Naming the key at fault.
    """
    fname = path.name if path else "project"
    try:
        model = ProjectModel.model_validate(raw)
    except ValidationError as e:
        raise ProjectError(_format_validation_error(e, fname)) from None
    unknown = sorted(set(model.layers) - set(LAYER_KINDS))
    if unknown:
        raise ProjectError(
            f"{fname}: layers.{unknown[0]}: unknown layer kind - use one of: {', '.join(LAYER_KINDS)}"
        )
    clash = sorted(set(model.constraints) & set(LAYER_KINDS))
    if clash:
        raise ProjectError(f"{fname}: constraints.{clash[0]}: '{clash[0]}' is a layer kind - declare it under "
                           f"[layers.{clash[0]}] or give the constraint another name")
    if "substations" not in model.layers:
        raise ProjectError(f"{fname}: layers.substations: required - every project needs a substations layer")
    return Project(model, Path(root), path)


def load_project(path: str | Path) -> Project:
    """Read and validate a project file.

    Parameters
    ----------
    path : path
        The TOML project file. Layer paths in it are relative to its folder.

    Returns
    -------
    Project

    Raises
    ------
    ProjectError

    Examples
    --------
    >>> p = load_project("layers/example_region.toml")
    >>> p.crs, p.years[0], "basis" in p.variants
    ('EPSG:28992', 2025, True)
    """
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"project file '{path}' does not exist - give the path to a .toml project file")
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ProjectError(f"{path.name}: not valid TOML: {e}") from None
    except OSError as e:
        raise ProjectError(f"{path}: cannot read: {e.strerror}") from None
    return project_from_dict(raw, root=path.resolve().parent, path=path)
