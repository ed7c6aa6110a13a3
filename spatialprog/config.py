"""The project file (TOML) -> validated settings.

A project file names the layers and their column mappings, the working CRS,
the horizon, parameter overrides, development variants and extra planned
reinforcements. Every mistake becomes one :class:`~spatialprog.errors.ProjectError`
line that names the key (``layers.housing_sites.pth: unknown key ...``).

A project file names layers, it does not hold them: it may be at most
:data:`MAX_PROJECT_BYTES` and nest tables and arrays at most
:data:`MAX_DEPTH` deep (checked on the text, before it is parsed), so a
runaway file is refused in one line instead of exhausting memory or the
parser's recursion. Values echoed in messages are cut to about 80 characters
(:func:`spatialprog.errors.show`).

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

The module is a little over 500 lines because the limits that guard reading a
project file (size, nesting depth, encoding, symlinks) stay beside the models
of the file they guard.
"""

from __future__ import annotations

import errno
import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyproj import CRS

from .database import is_database
from .errors import ParameterError, ProjectError, shorten, show
from .layers import LAYER_KINDS, LayerSource
from .params import ParameterSet, data_dir, load_parameters

__all__ = ["Project", "load_project", "project_from_dict", "read_toml", "BASE_VARIANT", "MAX_PROJECT_BYTES",
           "MAX_DEPTH"]

BASE_VARIANT = "basis"

#: the largest project (or mapping) file read, in bytes: a project file names layers, it holds no data
#: (the example region's is 6 kB). Not a parameter: it guards the file a project's overrides would come from.
MAX_PROJECT_BYTES = 1024 * 1024
#: the deepest nesting of arrays and inline tables, and the most parts of a dotted key, in a project file
#: (the example region nests 2 deep and has keys of 4 parts); Python's TOML parser recurses per level
#: and takes quadratic time in the parts of a dotted key
MAX_DEPTH = 32
#: the longest project name: it is a title on maps and in reports (one line)
MAX_NAME_CHARS = 500
#: the longest description (project, variant, reinforcement)
MAX_DESCRIPTION_CHARS = 2000
#: the longest CRS text given (a WKT or PROJJSON definition is a few kB)
_MAX_CRS_CHARS = 20_000


def _check_crs_text(v: str) -> CRS:
    if len(v) > _MAX_CRS_CHARS:
        raise ValueError(f"{show(v)} is not a CRS pyproj knows (e.g. 'EPSG:28992')")
    try:
        return CRS.from_user_input(v)
    except Exception:
        raise ValueError(f"{show(v)} is not a CRS pyproj knows (e.g. 'EPSG:28992')") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeometryConfig(_Strict):
    """Where a table without geometry (CSV, CSV.gz, XLSX, ODS) keeps its locations."""

    x: str | None = Field(None, description="Column of the x (or longitude) coordinate, in the layer's CRS.")
    y: str | None = Field(None, description="Column of the y (or latitude) coordinate.")
    wkt: str | None = Field(None, description="Column holding each feature's geometry as WKT.")
    radius_m: float | None = Field(None, gt=0, description="Points of a polygon layer become circles of this radius.")

    @model_validator(mode="after")
    def _one_way(self):
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y (column names), or wkt")
        if self.wkt is not None and self.x is not None:
            raise ValueError("give x and y, or wkt, not both")
        if self.wkt is None and self.x is None and self.radius_m is None:
            raise ValueError("give x and y (column names), wkt, or radius_m")
        return self


class LayerConfig(_Strict):
    path: str = Field(description="A GIS file, relative to the project file, or a PostgreSQL database: a "
                                  "postgresql:// URL or env:NAME (the URL in environment variable NAME).")
    table: str | None = Field(None, description="For a database path: the table or view to read (schema.table).")
    sql: str | None = Field(None, description="For a database path: the query to read (one geometry column).")
    layer: str | None = None
    geometry: GeometryConfig | None = Field(
        None, description="For a plain table (CSV, XLSX, ODS): the coordinate columns or a WKT column.")
    mapping: str | None = Field(None, description="A ready mapping in data/mappings (e.g. 'vivet') or a TOML path.")
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    recode: dict[str, dict[str, Any]] = Field(default_factory=dict)
    na_values: list[str] = Field(default_factory=list)
    crs: str | None = None
    snapshot_date: date | None = Field(
        None, description="The date the layer's data were taken (e.g. the NDW snapshot, 2026-06-07).")
    after_reference: Literal["existing", "new"] = Field(
        "existing", description="Whether existing features without a connection date count as in the operators' "
                                "figures where the snapshot is later than a substation's reference date.")

    @field_validator("columns")
    @classmethod
    def _composite_id_only(cls, v):
        for ours, theirs in v.items():
            if isinstance(theirs, list):
                if ours != "id":
                    raise ValueError(f"{ours}: only id may be made of several columns - map one column to {ours}")
                if len(theirs) < 2 or not all(isinstance(t, str) and t for t in theirs):
                    raise ValueError('id: a composite id names two or more columns, e.g. id = ["operatorName", '
                                     '"locationId"]')
        return v

    @field_validator("crs")
    @classmethod
    def _crs(cls, v):
        if v is not None:
            _check_crs_text(v)
        return v

    @model_validator(mode="after")
    def _database(self):
        if not is_database(self.path):
            if self.table is not None or self.sql is not None:
                raise ValueError(f"'{'table' if self.table is not None else 'sql'}' is for a database path "
                                 f"(path = \"postgresql://user@host:5432/database\" or \"env:NAME\"); a file "
                                 f"names its layer with 'layer'")
            return self
        if (self.table is None) == (self.sql is None):
            raise ValueError("a database layer needs exactly one of table = \"schema.table\" or sql = \"SELECT "
                             "...\"" + (", not both" if self.table is not None else ""))
        if self.layer is not None:
            raise ValueError("'layer' is for a file; name the database table with table = \"schema.table\"")
        if self.geometry is not None and (self.geometry.x or self.geometry.wkt):
            raise ValueError("a database layer reads its geometry column; make points in sql = \"SELECT *, "
                             "ST_SetSRID(ST_MakePoint(x, y), 28992) AS geom FROM ...\"")
        return self


class ProjectInfo(_Strict):
    name: str = Field("spatialprog project", min_length=1, max_length=MAX_NAME_CHARS)
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    crs: str = "EPSG:28992"
    base_year: int = Field(2025, ge=1990, le=2100)
    horizon: tuple[int, int] = (2025, 2040)
    fictional: bool = False

    @field_validator("name")
    @classmethod
    def _one_line(cls, v):
        if not v.isprintable():
            raise ValueError("the name must be one line of text (no line breaks or control characters); put "
                             "more in 'description'")
        return v

    @field_validator("crs")
    @classmethod
    def _crs(cls, v):
        crs = _check_crs_text(v)
        if not crs.is_projected:
            raise ValueError(f"the working CRS must be projected (metres), got {shorten(v)}; use EPSG:28992")
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
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    parameters: dict[str, Any] = Field(default_factory=dict)
    changes: list[dict[str, Any]] | str = Field(
        default_factory=list, description="Features this variant changes (spatialprog.choices): rows of layer, id "
                                          "and fields, or a CSV of layer, id, field, value.")


class ReinforcementConfig(_Strict):
    substation: str
    year: int = Field(ge=1990, le=2100)
    added_mva: float = Field(gt=0, le=2000)
    direction: Literal["both", "offtake", "feedin"] = Field(
        "both", description="Which capacity it adds: both (a transformer), offtake or feed-in only.")
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)


class ConflictsConfig(_Strict):
    enabled: bool = True
    rules: str | None = Field(None, description="A rules CSV replacing data/conflict_rules.csv.")
    lookups: str | None = Field(None, description="A lookups CSV replacing data/distance_lookups.csv.")
    overrides: list[dict[str, Any]] = Field(default_factory=list,
                                            description="Rules to change (by rule_id) or add.")


_SCHEDULER_RE = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?[\w.\-\[\]:]+:\d{1,5}$")


class ComputeConfig(_Strict):
    """Where the heavy steps run (:mod:`spatialprog.distributed`): this machine, or a Dask cluster."""

    engine: Literal["local", "dask"] = Field(
        "local", description="local (one machine) or dask (dask-geopandas on dask.distributed: pip install "
                             "'spatialprog[dask]').")
    scheduler: str | None = Field(
        None, max_length=500, description="A running Dask scheduler, e.g. tcp://host:8786; without it a local "
                                          "cluster on this machine.")
    workers: int | None = Field(None, ge=1, le=1024, description="Workers of the local cluster (default: the CPUs).")
    partitions: int | None = Field(None, ge=1, le=1_000_000,
                                   description="Spatial partitions of a step's input (default: twice the workers' "
                                               "threads).")

    @field_validator("scheduler")
    @classmethod
    def _address(cls, v):
        if v is not None and not _SCHEDULER_RE.match(v):
            raise ValueError(f"{show(v)} is not a scheduler address - give it as tcp://host:8786")
        return v

    @model_validator(mode="after")
    def _dask_only(self):
        given = [k for k in ("scheduler", "workers", "partitions") if getattr(self, k) is not None]
        if self.engine == "local" and given:
            raise ValueError(f"{given[0]} is used by engine = \"dask\" only - set engine = \"dask\" or remove "
                             f"{given[0]}")
        if self.scheduler is not None and self.workers is not None:
            raise ValueError("workers sizes the local cluster; a scheduler has its own workers - remove workers "
                             "or scheduler")
        return self


class ProjectModel(_Strict):
    project: ProjectInfo = Field(default_factory=ProjectInfo)
    layers: dict[str, LayerConfig]
    assignment: AssignmentConfig = Field(default_factory=AssignmentConfig)
    parameters: dict[str, Any] = Field(default_factory=dict)
    variants: dict[str, VariantConfig] = Field(default_factory=dict)
    reinforcements: list[ReinforcementConfig] = Field(default_factory=list)
    constraints: dict[str, LayerConfig] = Field(default_factory=dict)
    conflicts: ConflictsConfig = Field(default_factory=ConflictsConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
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
    compute : ComputeConfig
        Where the heavy steps run (``[compute]``, :func:`spatialprog.distributed.open_engine`).
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
        self.conflicts = model.conflicts
        self.compute = model.compute
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
        #: per variant, the features it changes: rows, or the path of a CSV (read with the plan)
        self.variant_changes: dict[str, list[dict[str, Any]] | Path] = {
            vname: (_resolve(root / v.changes) if isinstance(v.changes, str) else list(v.changes))
            for vname, v in model.variants.items() if v.changes}
        self.layers: dict[str, LayerSource] = {}
        for name, lc in model.layers.items():
            self.layers[name] = _layer_source(name, lc, root, parameters=self.parameters)
        #: constraint layers by the name rules use for them (e.g. "natura2000")
        self.constraints: dict[str, LayerSource] = {
            name: _layer_source(name, lc, root, section="constraints", parameters=self.parameters)
            for name, lc in model.constraints.items()
        }
        self.variant_descriptions = {BASE_VARIANT: "Basis: the project's own parameters"} | {
            k: v.description for k, v in model.variants.items()
        }

    def _where(self) -> str:
        return f"{self.path.name}: " if self.path else ""

    def __repr__(self) -> str:
        return f"Project({self.name!r}, layers={sorted(self.layers)}, variants={list(self.variants)})"


def _layer_source(name: str, lc: LayerConfig, root: Path, section: str = "layers",
                  parameters: ParameterSet | None = None) -> LayerSource:
    columns: dict[str, Any] = {}
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
    path: Path | str = lc.path  # a database URL is no file path
    if not is_database(lc.path):
        path = Path(lc.path).expanduser()
        if not path.is_absolute():
            path = _resolve(root / path)
    return LayerSource(path=path, table=lc.table, sql=lc.sql, layer=layer, columns=columns, constants=constants, recode=recode,
                       na_values=tuple(na_values), crs=crs, key=f"{section}.{name}", parameters=parameters,
                       geometry=lc.geometry.model_dump() if lc.geometry is not None else None,
                       snapshot_date=lc.snapshot_date.isoformat() if lc.snapshot_date else None,
                       after_reference=lc.after_reference)


def _resolve(path: Path) -> Path:
    """``path.resolve()``, or the path as it is where it cannot be resolved (a symlink loop, a name too long).

    Reading the layer then says what is wrong with it, in one line.
    """
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: "Symlink loop" (Python < 3.13)
        return Path(os.path.abspath(path))


def _load_mapping(ref: str, root: Path, key: str) -> dict[str, Any]:
    cand = [data_dir() / "mappings" / f"{ref}.toml", root / ref, Path(ref)]
    for p in cand:
        if _is_file(p):
            m = read_toml(p, what=f"{key}: mapping file '{shorten(p)}'")
            extra = set(m) - {"columns", "constants", "recode", "na_values", "crs", "layer", "description", "source", "kind"}
            if extra:
                raise ProjectError(f"{key}: mapping file '{shorten(p)}' has unknown key(s) "
                                   f"{', '.join(show(k) for k in sorted(extra)[:5])}")
            return m
    ready = sorted(p.stem for p in (data_dir() / "mappings").glob("*.toml"))
    raise ProjectError(f"{key}: no mapping {show(ref)} - use a ready one ({', '.join(ready)}) or a path to a TOML file")


def _is_file(p: Path) -> bool:
    try:
        return p.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _format_validation_error(e: ValidationError, fname: str) -> str:
    lines = []
    for err in e.errors(include_url=False, include_context=False):
        loc = ".".join(shorten(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{shorten(err['loc'][-1])}' - check its spelling against the README's project-file section"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and err["type"] not in ("value_error",):
                msg += f" (got {show(err['input'])})"
        lines.append(f"{fname}: {loc}: {msg}")
    return lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")


def _nesting(raw: Any) -> int:
    """How deep dicts and lists nest in ``raw`` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(raw, 0)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict):
            items = v.values()
        elif isinstance(v, list | tuple):
            items = v
        else:
            continue
        deepest = max(deepest, d + 1)
        if deepest > MAX_DEPTH:
            return deepest
        todo.extend((x, d + 1) for x in items)
    return deepest


def project_from_dict(raw: dict[str, Any], *, root: str | Path = ".", path: Path | None = None) -> Project:
    """Validate a project given as a dict (the parsed TOML).

    Raises
    ------
    ProjectError
        Naming the key at fault.
    """
    fname = shorten(path.name) if path else "project"
    if _nesting(raw) > MAX_DEPTH:
        raise ProjectError(f"{fname}: tables and arrays nest more than {MAX_DEPTH} levels deep - a project file "
                           f"needs a few; check the file for runaway brackets")
    try:
        model = ProjectModel.model_validate(raw)
    except ValidationError as e:
        raise ProjectError(_format_validation_error(e, fname)) from None
    unknown = sorted(set(model.layers) - set(LAYER_KINDS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0][:100], list(LAYER_KINDS), n=1, cutoff=0.6)
        kinds = ", ".join(LAYER_KINDS)
        hint = f"did you mean '{close[0]}'?" if close else \
            (f"use one of: {kinds}" if len(kinds) < 160 else "use a kind of the README's layer reference "
             f"(e.g. {', '.join(list(LAYER_KINDS)[:4])})")
        raise ProjectError(f"{fname}: layers.{shorten(unknown[0])}: unknown layer kind - {hint}")
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
    raw = read_toml(path, what=shorten(path.name), missing=f"project file '{shorten(path)}' does not exist - give "
                                                            f"the path to a .toml project file")
    seen = [_resolve(path)]
    while "extends" in raw:  # a project built on another: its tables, with this file's on top
        base = _resolve(path.parent / str(raw.pop("extends")))
        if base in seen:
            raise ProjectError(f"{shorten(path.name)}: extends: '{shorten(base.name)}' extends itself - remove the loop")
        seen.append(base)
        raw = _merged(read_toml(base, what=shorten(base.name), missing=f"{shorten(path.name)}: extends: "
                                f"'{shorten(base)}' does not exist - give a project file in the same folder"), raw)
    return project_from_dict(raw, root=_resolve(path).parent, path=path)


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: tables merged key by key, everything else replaced.

    Examples
    --------
    >>> _merged({"project": {"name": "a", "base_year": 2025}, "variants": {"x": {}}},
    ...         {"project": {"name": "b"}, "variants": {"y": {}}})
    {'project': {'name': 'b', 'base_year': 2025}, 'variants': {'x': {}, 'y': {}}}
    """
    out = dict(base)
    for k, v in top.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# strings and comments of a TOML text (their brackets and dots are not structure)
_TOML_NOISE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_TOML_BRACKETS = re.compile(r"[\[\]{}]")
_TOML_PIECES = re.compile(r"[=,\[\]{}\n]")


def toml_depth(text: str) -> tuple[int, int]:
    """How deep a TOML text nests, read on the text (before parsing).

    Returns
    -------
    tuple of int
        The deepest nesting of arrays and inline tables (brackets outside
        strings and comments), and the most parts of a dotted key.

    Examples
    --------
    >>> toml_depth('[a.b]\\nc = { d = [1, [2]] }  # [[[\\ne = "x.y.z"')
    (3, 2)
    """
    bare = _TOML_NOISE.sub("s", text)
    depth = deepest = 0
    for m in _TOML_BRACKETS.finditer(bare):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
    parts = max((p.count(".") for p in _TOML_PIECES.split(bare)), default=0) + 1
    return deepest, parts


def read_toml(path: Path, *, what: str, missing: str | None = None) -> dict[str, Any]:
    """Read a project or mapping file: at most :data:`MAX_PROJECT_BYTES`, UTF-8, nesting at most :data:`MAX_DEPTH`.

    Parameters
    ----------
    path : Path
    what : str
        How messages name the file (``example_region.toml``).
    missing : str, optional
        The message when the file does not exist.

    Raises
    ------
    ProjectError
        In one line, for a missing, unreadable, too large, too deeply nested or invalid file.
    """
    try:
        path.resolve(strict=True)
        if not path.is_file():
            raise ProjectError(missing or f"{what}: '{shorten(path)}' is not a file")
        size = path.stat().st_size
        if size > MAX_PROJECT_BYTES:
            raise ProjectError(_too_large(what, size))
        with open(path, "rb") as fh:
            data = fh.read(MAX_PROJECT_BYTES + 1)
    except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
        raise ProjectError(f"{what}: '{shorten(path)}' is a symbolic link that points back at itself - point it at "
                           f"the file") from None
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise ProjectError(missing or f"{what}: '{shorten(path)}' does not exist") from None
        if e.errno == errno.ELOOP:
            raise ProjectError(f"{what}: '{shorten(path)}' is a symbolic link that points back at itself - point it "
                               f"at the file") from None
        raise ProjectError(f"{what}: cannot read '{shorten(path)}': {e.strerror or e}") from None
    if len(data) > MAX_PROJECT_BYTES:  # grew while read, or a special file
        raise ProjectError(_too_large(what, len(data)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(f"{what}: not UTF-8 text (byte {e.start + 1} is {data[e.start]:#04x}) - save the file as "
                           f"UTF-8") from None
    del data
    depth, parts = toml_depth(text)
    if depth > MAX_DEPTH:
        raise ProjectError(f"{what}: arrays and inline tables nest {depth} levels deep, more than the limit of "
                           f"{MAX_DEPTH} - check the file for runaway brackets")
    if parts > MAX_DEPTH:
        raise ProjectError(f"{what}: a dotted key has {parts} parts, more than the limit of {MAX_DEPTH} - check the "
                           f"file's keys")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProjectError(f"{what}: not valid TOML: {shorten(e, 200)}") from None
    except RecursionError:
        raise ProjectError(f"{what}: nested too deeply to read - check the file for runaway brackets") from None


def _too_large(what: str, size: int) -> str:
    return (f"{what}: the file is {size / 2**20:.1f} MiB, more than the limit of {MAX_PROJECT_BYTES // 2**20} MiB - a "
            f"project file names the layers, it does not hold their data")
