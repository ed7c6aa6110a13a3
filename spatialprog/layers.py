"""Reading + validation + CRS normalisation of layers (the input edge).

Each layer kind (substations, housing sites, ...) is declared once in the
registry :mod:`spatialprog.kinds` as a :class:`~spatialprog.kinds.LayerKind`:
its geometry type and its columns with type, unit, allowed values, bounds and
a Dutch alias. That one declaration drives validation here, the layer
reference in the README (:func:`schema_markdown`), and the field aliases of
the QGIS export.

Reading (:func:`read_layer`) is the I/O edge: it opens any GDAL vector format
through pyogrio, or a PostGIS table or query through psycopg
(:mod:`spatialprog.database`: one more source, the same steps after it),
applies the user's column mapping, coerces types, checks values, repairs
invalid geometries, and transforms to the working CRS. Every
problem in a layer is collected and reported together in one
:class:`~spatialprog.errors.LayerValidationError`, each as one line naming the
layer, the feature id and the field.

Whatever a user can feed it, reading answers in one line: a path that loops
or is too long, an empty layer (accepted with a notice, whatever its columns),
values beyond the schema's plausibility bounds (the bound named), NaN or
infinite coordinates (the feature named), Z coordinates (dropped with a
notice), a layer without CRS or with numbers that do not fit its CRS (with
the CRS the numbers look like), overlapping service areas (both named, the
overlap in m2; slivers below ``assignment.overlap_tolerance_*`` are ignored
with a notice). Values echoed in messages are cut to about 80 characters.

Validation lives in :mod:`spatialprog.validation` (one pass, every problem at
once) and CRS discipline in :mod:`spatialprog.crs`. The module is a little over
500 lines because every source a layer comes from (GDAL files, plain tables,
GeoParquet, PostGIS) ends in the one mapping and validation path kept here.
"""

from __future__ import annotations

import errno
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .crs import set_layer_crs
from .database import is_database, mask_url, read_postgis
from .errors import (
    LayerReadError,
    LayerValidationError,
    NoticeLog,
    Problem,
    shorten,
    show,
)
from .kinds import LAYER_KINDS, Column, LayerKind
from .validation import ID_SEPARATOR, validate_layer

if TYPE_CHECKING:
    from .params import ParameterSet

__all__ = [
    "Column",
    "LayerKind",
    "LAYER_KINDS",
    "LayerSource",
    "read_layer",
    "validate_layer",
    "schema_markdown",
]



# --------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class LayerSource:
    """Where and how to read one layer (from the project file).

    Parameters
    ----------
    path : Path or str
        Any GDAL vector dataset (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet, CSV), or a
        PostgreSQL database: a ``postgresql://`` URL or ``env:NAME`` (:mod:`spatialprog.database`).
        A URL's password is kept in ``url`` and masked in ``path``, so ``path`` may be shown anywhere.
    layer : str, optional
        A named layer inside a multi-layer file.
    columns : mapping
        Our field name -> the file's field name.
    constants : mapping
        Our field name -> a value for every feature (e.g. ``heating = "gas"``).
    recode : mapping
        Our field name -> {file value: our value}.
    na_values : sequence of str
        Values meaning "none" (e.g. ``"-1"``, ``"n.v.t."``).
    crs : str, optional
        CRS to assume when the file has none (or when a GeoJSON file, WGS84 by
        its specification, holds numbers that are not longitude/latitude).
    key : str
        The project-file key, for messages (``layers.housing_sites``).
    parameters : ParameterSet, optional
        The project's parameters, for the tolerances of validation
        (``assignment.overlap_tolerance_*``); the reference values when absent.
    geometry : mapping, optional
        For a plain table (CSV, CSV.gz, XLSX, ODS): ``x`` and ``y`` (column
        names, in the layer's ``crs``) or ``wkt`` (a column of WKT), and
        ``radius_m`` to make areas of points in a polygon layer.
    snapshot_date : str, optional
        The date the layer's data were taken (``YYYY-MM-DD``).
    after_reference : {"existing", "new"}
        Whether its existing features without a connection date count as in the
        operators' figures where the snapshot is later than a station's
        reference date (:func:`spatialprog.published.in_published_figures`).
    table, sql : str, optional
        For a database: the table (``schema.table``) or the query to read.
    url : str, optional
        For a database: the URL as given (with its password); set from ``path``.
    """

    path: Path | str
    layer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    recode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    na_values: Sequence[str] = ()
    crs: str | None = None
    key: str = ""
    parameters: ParameterSet | None = field(default=None, compare=False, repr=False)
    geometry: Mapping[str, Any] | None = None
    snapshot_date: str | None = None
    after_reference: str = "existing"
    table: str | None = None
    sql: str | None = None
    url: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        path = str(self.path).strip()
        if is_database(path) and (self.url is None or mask_url(self.url) != path):  # the password never shows in path
            object.__setattr__(self, "url", path)
            object.__setattr__(self, "path", mask_url(path))

    @property
    def database(self) -> bool:
        """Whether the layer is read from PostgreSQL."""
        return self.url is not None


def read_layer(
    source: LayerSource,
    kind: LayerKind | str,
    *,
    working_crs: str = "EPSG:28992",
    bbox: tuple[float, float, float, float] | None = None,
    notices: NoticeLog | None = None,
) -> gpd.GeoDataFrame:
    """Read, validate and reproject one layer.

    Parameters
    ----------
    source : LayerSource
    kind : LayerKind or str
    working_crs : str
        The CRS every layer is transformed to.
    bbox : tuple, optional
        Read only features intersecting this box (in the working CRS); uses
        the file's spatial index where it has one.
    notices : NoticeLog, optional
        Receives repairs and remarks.

    Returns
    -------
    GeoDataFrame
        Columns ``id``, the schema columns present, and ``geometry``, in the
        working CRS, with a fresh RangeIndex and the file's row order.

    Raises
    ------
    LayerReadError
        The file does not exist, is corrupt, or lacks the named layer; the
        database does not answer, lacks the table, or the query fails.
    CRSError
        The layer has no CRS and none is declared, or its coordinates do not fit it.
    LayerValidationError
        One or more features break the schema (all listed).

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> project = load_project("layers/example_region.toml")
    >>> subs = read_layer(project.layers["substations"], "substations")
    >>> subs.crs.to_epsg(), len(subs) >= 12
    (28992, True)
    """
    import pyogrio

    kind = LAYER_KINDS[kind] if isinstance(kind, str) else kind
    notices = notices if notices is not None else NoticeLog()
    label = shorten(source.key or kind.name)
    if source.database:
        gdf = read_postgis(source.url, label=label, table=source.table, sql=source.sql, declared_crs=source.crs,
                           bbox=None if bbox is None else (lambda crs: _transform_bbox(bbox, working_crs, crs)))
        return _validated(gdf, source, kind, label, notices, working_crs)
    path = Path(source.path)
    _check_path(path, label)
    geo = source.geometry or {}
    if geo.get("x") or geo.get("wkt") or _is_plain_table(path):
        return _validated(_read_table(path, source, label, notices), source, kind, label, notices, working_crs)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return _validated(_read_parquet(path, label, bbox, working_crs), source, kind, label, notices, working_crs)
    try:
        layers_in_file, said = _layer_names(path)
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise LayerReadError(f"{label}: cannot open '{shorten(path)}': {_one_line(e)} - is it a valid GIS "
                             f"file?") from None
    for w in said:
        notices.add(label, f"GDAL: {w}", level="info")
    if source.layer is not None and source.layer not in layers_in_file:
        raise LayerReadError(
            f"{label}: layer {show(source.layer)} is not in '{shorten(path.name)}'; it has: {_listing(layers_in_file)} - "
            f"fix 'layer' in the project file"
        )
    if source.layer is None and len(layers_in_file) > 1:
        raise LayerReadError(
            f"{label}: '{shorten(path.name)}' holds {len(layers_in_file)} layers ({_listing(layers_in_file)}) - name "
            f"one with 'layer' in the project file"
        )
    read_kw: dict[str, Any] = {"layer": source.layer} if source.layer else {}
    if bbox is not None:
        try:
            info = pyogrio.read_info(path, **read_kw)
            file_crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
        except Exception:
            file_crs = None
        if file_crs is not None:
            read_kw["bbox"] = _transform_bbox(bbox, working_crs, file_crs)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gdf = pyogrio.read_dataframe(path, **read_kw)
    except Exception as e:
        raise LayerReadError(f"{label}: cannot read '{shorten(path)}': {_one_line(e)} - is the file complete and "
                             f"valid?") from None
    for w in caught:
        notices.add(label, f"GDAL: {_one_line(w.message)}", level="info")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise LayerReadError(f"{label}: '{shorten(path.name)}' has no geometry - for a table with coordinates say "
                             f"where they are: geometry = {{ x = \"x\", y = \"y\" }} (or {{ wkt = \"...\" }}) under "
                             f"[{label}] in the project file, with its crs")
    return _validated(gdf, source, kind, label, notices, working_crs)


def _validated(gdf: gpd.GeoDataFrame, source: LayerSource, kind: LayerKind, label: str, notices: NoticeLog,
               working_crs: str) -> gpd.GeoDataFrame:
    """One layer as read (a file's or a database's columns) -> mapped, with its CRS, validated, in the working CRS."""
    gdf = _apply_mapping(gdf, source, kind, label)
    gdf = set_layer_crs(gdf, source, label, notices)
    gdf = _points_to_areas(gdf, source, kind, label, notices)
    return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)


#: the layers of a file and what GDAL said opening it, by the file's stat (check-site opens one GeoPackage ~15 times)
_LAYER_NAMES: dict[tuple, tuple[list[str], list[str]]] = {}


def _layer_names(path: Path) -> tuple[list[str], list[str]]:
    """The names of the layers in ``path`` and GDAL's warnings on opening it (remembered for an unchanged file)."""
    import time

    import pyogrio

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if key in _LAYER_NAMES:
        return _LAYER_NAMES[key]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    out = (names, [_one_line(w.message) for w in caught])
    # a file changed within the clock's tick of being listed, or with a journal beside it, is listed again
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2_000_000_000 and not path.with_name(
            path.name + "-wal").exists():
        _LAYER_NAMES[key] = out
    return out


def _check_path(path: Path, label: str) -> None:
    """The layer file exists and is reachable; else one line saying what is wrong with the path."""
    where = ("check 'path' in the project file (relative paths are read from the project file's folder)")
    try:
        path.resolve(strict=True)
        return
    except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
        loop = True
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise LayerReadError(f"{label}: file '{shorten(path)}' does not exist - {where}") from None
        if e.errno != errno.ELOOP:
            raise LayerReadError(f"{label}: cannot open '{shorten(path)}': {e.strerror or e} - {where}") from None
        loop = True
    except ValueError as e:  # an embedded NUL byte
        raise LayerReadError(f"{label}: '{shorten(path)}' is not a valid file name ({e}) - {where}") from None
    if loop:
        raise LayerReadError(f"{label}: '{shorten(path)}' is a symbolic link that points back at itself (a loop) - "
                             f"point 'path' in the project file at the file itself")


def _listing(names: Sequence[str], limit: int = 20) -> str:
    """Names for a message: each cut to about 80 characters, at most ``limit`` of them."""
    shown = ", ".join(shorten(n) for n in list(names)[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")



def _is_plain_table(path: Path) -> bool:
    """A table that never holds geometry itself (a plain .csv goes through GDAL, which may find a WKT column)."""
    return path.name.lower().endswith((".csv.gz", ".tsv", ".txt", ".xlsx", ".ods"))


def _read_table(path: Path, source: LayerSource, label: str, notices: NoticeLog) -> gpd.GeoDataFrame:
    """A plan list as planners have it: a CSV (also gzipped), XLSX or ODS sheet with coordinate or WKT columns."""
    import pyogrio

    geo = dict(source.geometry or {})
    if not (geo.get("x") or geo.get("wkt")):
        raise LayerReadError(f"{label}: '{shorten(path.name)}' is a table without geometry - say where its "
                             f"locations are: geometry = {{ x = \"x\", y = \"y\" }} (or {{ wkt = \"...\" }}) "
                             f"under [{label}] in the project file, with its crs")
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".ods")):
            kw: dict[str, Any] = {"layer": source.layer} if source.layer else {}
            # a plan list has one header row: GDAL's guess (AUTO) takes an all-text sheet's header for data
            df = pd.DataFrame(pyogrio.read_dataframe(path, read_geometry=False, HEADERS="FORCE", **kw))
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python",
                             compression="infer", encoding="utf-8-sig")
    except Exception as e:  # pyogrio / pandas parser errors
        raise LayerReadError(f"{label}: cannot read the table '{shorten(path)}': {_one_line(e)} - is it a CSV, "
                             f"XLSX or ODS file?") from None
    df.columns = [str(c).strip() for c in df.columns]
    wanted = [geo[k] for k in ("x", "y", "wkt") if geo.get(k)]
    missing = [c for c in wanted if c not in df.columns]
    first_row = 2  # row 1 holds the header
    if missing and len(df) and set(wanted) <= {str(v).strip() for v in df.iloc[0]}:
        # a title row above the header (two header rows): the second row names the columns
        notices.add(label, f"'{shorten(path.name)}' has two header rows: row 2 names the columns "
                    f"(row 1, '{shorten(' '.join(str(c) for c in df.columns if not str(c).startswith('Unnamed')))}',"
                    " is read as a title)", field="geometry", fix="keep one header row in the sheet")
        df.columns = [str(v).strip() for v in df.iloc[0]]
        df = df.iloc[1:].reset_index(drop=True)
        first_row = 3
        missing = []
    if missing:
        raise LayerValidationError([Problem(label, f"column {show(c)} named under geometry is not in the table",
                                            field="geometry", fix=f"the table has: {_listing(list(df.columns))}")
                                    for c in missing])
    rows = pd.Series([f"row {i + first_row}" for i in range(len(df))], index=df.index)
    problems: list[Problem] = []
    if geo.get("wkt"):
        texts = df[geo["wkt"]].astype(object)
        geoms = []
        for i, t in texts.items():
            try:
                geoms.append(shapely.from_wkt(str(t)) if str(t).strip() else None)
            except shapely.errors.GEOSException:
                geoms.append(None)
                problems.append(Problem(label, f"{rows[i]}: {show(t)} is not WKT", rows[i], geo["wkt"],
                                        fix="write it like 'POINT (155000 463000)' or 'POLYGON ((x y, ...))'"))
    else:
        xy = {}
        for axis in ("x", "y"):
            col = geo[axis]
            raw = df[col].astype(str).str.strip().str.replace("\u00a0", "", regex=False)
            raw = raw.where(~(raw.str.contains(",") & ~raw.str.contains(r"\.")), raw.str.replace(",", "."))
            num = pd.to_numeric(raw, errors="coerce")
            for i in df.index[num.isna()]:
                problems.append(Problem(label, f"{rows[i]}: {show(df.at[i, col])} in column {show(col)} is not a "
                                        f"number", rows[i], col, fix="give the coordinate as a number (a decimal "
                                        "point or comma), in the layer's crs"))
            xy[axis] = num.to_numpy(dtype=float)
        geoms = list(shapely.points(xy["x"], xy["y"]))
    if problems:
        raise LayerValidationError(problems)
    data = df.drop(columns=[c for c in wanted if c not in source.columns.values()])
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, index=df.index), crs=None)
    notices.add(label, f"read {len(out)} rows from the table '{shorten(path.name)}' with their locations in "
                f"{_listing(wanted)}", level="info")
    return out


def _points_to_areas(gdf: gpd.GeoDataFrame, source: LayerSource, kind: LayerKind, label: str,
                     notices: NoticeLog) -> gpd.GeoDataFrame:
    """Points of a polygon layer become circles of ``geometry.radius_m`` (in the working CRS units)."""
    radius = (source.geometry or {}).get("radius_m")
    if radius is None or not kind.is_polygonal or len(gdf) == 0:
        return gdf
    g = np.asarray(gdf.geometry.values)
    pts = shapely.get_type_id(g) == 0
    if not pts.any():
        return gdf
    crs = CRS.from_user_input(gdf.crs)
    work = gdf
    if crs.is_geographic:  # a radius in metres needs a metric CRS: RD New for the Netherlands
        work = gdf.to_crs(28992)
    gw = np.asarray(work.geometry.values)
    gw = np.where(pts, shapely.buffer(gw, float(radius), quad_segs=16), gw)
    out = work.set_geometry(gpd.GeoSeries(gw, index=work.index, crs=work.crs))
    if crs.is_geographic:
        out = out.to_crs(crs)
    notices.add(label, f"{int(pts.sum())} points became areas of radius {float(radius):g} m (geometry.radius_m)",
                level="info")
    return out

def _read_parquet(path: Path, label: str, bbox, working_crs) -> gpd.GeoDataFrame:
    """GeoParquet through pyarrow (GDAL builds without the Parquet driver are common)."""
    try:
        meta_crs = None
        kw: dict[str, Any] = {}
        if bbox is not None:
            import pyarrow.parquet as pq

            md = pq.read_schema(path).metadata or {}
            geo = md.get(b"geo")
            if geo:
                import json

                cols = json.loads(geo).get("columns", {})
                first = next(iter(cols.values()), {})
                meta_crs = CRS.from_user_input(first["crs"]) if first.get("crs") else CRS.from_epsg(4326)
            if meta_crs is not None:
                kw["bbox"] = _transform_bbox(bbox, working_crs, meta_crs)
        return gpd.read_parquet(path, **kw)
    except Exception as e:
        raise LayerReadError(f"{label}: cannot read '{shorten(path)}': {_one_line(e)} - is it a valid GeoParquet "
                             f"file?") from None


def _one_line(e: Exception | Warning | str) -> str:
    return shorten(e, 300)


def _transform_bbox(bbox, from_crs, to_crs):
    from pyproj import Transformer

    if CRS.from_user_input(from_crs) == CRS.from_user_input(to_crs):
        return tuple(bbox)
    t = Transformer.from_crs(from_crs, to_crs, always_xy=True)
    return t.transform_bounds(*bbox, densify_pts=21)


def _apply_mapping(gdf: gpd.GeoDataFrame, source: LayerSource, kind: LayerKind, label: str) -> gpd.GeoDataFrame:
    known = set(kind.column_names)
    problems: list[Problem] = []
    have = [c for c in gdf.columns if c != gdf.geometry.name]
    auto_id = source.columns.get("id") == AUTO_ID and AUTO_ID not in gdf.columns
    for ours, theirs in source.columns.items():
        parts = list(theirs) if isinstance(theirs, list | tuple) else [theirs]
        if ours not in known:
            problems.append(Problem(label, f"the column mapping names {show(ours)}, which is not a field of {kind.name}",
                                    field=ours, fix=f"use one of: {', '.join(kind.column_names)}"))
        elif ours == "id" and auto_id:
            continue
        else:
            for t in parts:
                if t not in gdf.columns and len(gdf):  # an empty layer is accepted whatever its columns
                    problems.append(Problem(label, f"mapped column {show(t)} is not in the file", field=ours,
                                            source_field=t, fix=f"the file has: {_listing(have, 60)}"))
    if problems:
        raise LayerValidationError(problems)
    geom = gdf.geometry.name
    data = {}
    for col in kind.columns:
        src = source.columns.get(col.name, col.name)
        if col.name in source.constants:
            data[col.name] = pd.Series([source.constants[col.name]] * len(gdf), index=gdf.index, dtype=object)
        elif col.name == "id" and auto_id:
            data["id"] = pd.Series([f"{kind.name}-{i + 1}" for i in range(len(gdf))], index=gdf.index, dtype=object)
        elif isinstance(src, list | tuple):  # a composite id: the parts joined, each as its text
            texts = [gdf[c].map(_id_part) for c in src]
            joined = texts[0]
            for t in texts[1:]:
                joined = joined + ID_SEPARATOR + t
            # a part may be missing (an operator not given): the id is empty only when every part is
            data[col.name] = joined.where(pd.concat(texts, axis=1).ne("").any(axis=1), None)
        elif src in gdf.columns and src != geom:
            data[col.name] = gdf[src]
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=gdf.crs, index=gdf.index)
    out.attrs["source_columns"] = {c.name: (ID_SEPARATOR.join(src) if isinstance(src := source.columns.get(c.name, c.name),
                                                                                list | tuple) else src)
                                   for c in kind.columns}
    if auto_id:
        out.attrs["auto_id"] = True
    return out


#: ``columns = { id = "auto" }``: ids are generated (``housing_sites-1``, ...), with a notice
AUTO_ID = "auto"


def _id_part(v: Any) -> str:
    """One part of a composite id as text: whole numbers without '.0', missing as ''."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def schema_markdown(kinds: Mapping[str, LayerKind] | None = None) -> str:
    """Render the layer reference (for the README) from the schemas.

    Examples
    --------
    >>> "| dwellings |" in schema_markdown()
    True
    """
    kinds = kinds or LAYER_KINDS
    parts = []
    for k in kinds.values():
        parts.append(f"### `{k.name}` - {k.title_nl}\n")
        parts.append(f"{k.description} Geometry: {' / '.join(k.geometry)}.\n")
        parts.append("| field | type | unit | required | allowed / bounds | alias (nl) | description |")
        parts.append("|---|---|---|---|---|---|---|")
        for c in k.columns:
            bounds = []
            if c.allowed:
                bounds.append(", ".join(c.allowed))
            if c.min is not None:
                bounds.append(f">= {c.min:g}")
            if c.max is not None:
                bounds.append(f"<= {c.max:g}" + (f" ({c.bound_note})" if c.bound_note else ""))
            parts.append(
                f"| {c.name} | {c.dtype} | {c.unit or ''} | {'yes' if c.required else ''} | {'; '.join(bounds)} | "
                f"{c.alias_nl} | {c.description} |"
            )
        parts.append("")
    return "\n".join(parts)
