"""Reading + validation + CRS normalisation of layers (the input edge).

Each layer kind (substations, housing sites, ...) is declared once in the
registry :mod:`spatialprog.kinds` as a :class:`~spatialprog.kinds.LayerKind`:
its geometry type and its columns with type, unit, allowed values, bounds and
a Dutch alias. That one declaration drives validation here, the layer
reference in the README (:func:`schema_markdown`), and the field aliases of
the QGIS export.

Reading (:func:`read_layer`) is the I/O edge: it opens any GDAL vector format
through pyogrio, applies the user's column mapping, coerces types, checks
values, repairs invalid geometries, and transforms to the working CRS. Every
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

The module is longer than most because every check of :func:`validate_layer`
(types, bounds, ids, geometry, CRS plausibility, repairs) stays in one pass
over the layer, so every problem is reported at once.
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

from .errors import (
    CRSError,
    LayerReadError,
    LayerValidationError,
    NoticeLog,
    Problem,
    shorten,
    show,
)
from .kinds import LAYER_KINDS, Column, LayerKind

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

POINT = ("Point", "MultiPoint")
POLYGON = ("Polygon", "MultiPolygon")


# --------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class LayerSource:
    """Where and how to read one layer (from the project file).

    Parameters
    ----------
    path : Path
        Any GDAL vector dataset (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet, CSV).
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
    """

    path: Path
    layer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    recode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    na_values: Sequence[str] = ()
    crs: str | None = None
    key: str = ""
    parameters: ParameterSet | None = field(default=None, compare=False, repr=False)
    geometry: Mapping[str, Any] | None = None


# the Netherlands with its exclusive economic zone in the North Sea, in RD New (EPSG:28992) coordinates,
# with a margin: land from x 0 to 278 km and y 306 to 620 km; the EEZ reaches x -46 km (2.5 E, 51.3 N) and
# y 870 km (55.8 N; the Doggersbank Natura 2000 site lies at about x -15 km, y 853 km)
_RD_BOUNDS = (-60000.0, 289000.0, 300000.0, 880000.0)
# the Netherlands in UTM zones 31N/32N (ETRS89, EPSG:25831/25832), northing range, with a margin
_UTM_NL_NORTHING = (5_550_000.0, 6_050_000.0)


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
        The file does not exist, is corrupt, or lacks the named layer.
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
    path = Path(source.path)
    _check_path(path, label)
    geo = source.geometry or {}
    if geo.get("x") or geo.get("wkt") or _is_plain_table(path):
        gdf = _read_table(path, source, label, notices)
        gdf = _apply_mapping(gdf, source, kind, label)
        gdf = _set_crs(gdf, source, label, notices)
        gdf = _points_to_areas(gdf, source, kind, label, notices)
        return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        gdf = _read_parquet(path, label, bbox, working_crs)
        gdf = _apply_mapping(gdf, source, kind, label)
        gdf = _set_crs(gdf, source, label, notices)
        return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layers_in_file = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise LayerReadError(f"{label}: cannot open '{shorten(path)}': {_one_line(e)} - is it a valid GIS "
                             f"file?") from None
    for w in caught:
        notices.add(label, f"GDAL: {_one_line(w.message)}", level="info")
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
    gdf = _apply_mapping(gdf, source, kind, label)
    gdf = _set_crs(gdf, source, label, notices)
    gdf = _points_to_areas(gdf, source, kind, label, notices)
    return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)


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
    if missing:
        raise LayerValidationError([Problem(label, f"column {show(c)} named under geometry is not in the table",
                                            field="geometry", fix=f"the table has: {_listing(list(df.columns))}")
                                    for c in missing])
    rows = pd.Series([f"row {i + 2}" for i in range(len(df))], index=df.index)  # row 1 holds the header
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
#: between the parts of a composite id (``id = ["operatorName", "locationId"]``)
ID_SEPARATOR = "/"


def _id_part(v: Any) -> str:
    """One part of a composite id as text: whole numbers without '.0', missing as ''."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _set_crs(gdf: gpd.GeoDataFrame, source: LayerSource, label: str, notices: NoticeLog) -> gpd.GeoDataFrame:
    """Give the layer the CRS the project declares where the file has none (or only GeoJSON's implied WGS84)."""
    if gdf.crs is None:
        if not source.crs:
            raise CRSError(f"{label}: the layer has no CRS{_crs_hint(gdf, label)}")
        return gdf.set_crs(source.crs)
    if source.crs:
        declared = CRS.from_user_input(source.crs)
        file_crs = CRS.from_user_input(gdf.crs)
        b = _finite_bounds(gdf)
        if (file_crs.is_geographic and not declared.equals(file_crs) and b is not None
                and not _fits_lonlat(b)):
            # a GeoJSON file without a "crs" member is WGS84 by its specification, whatever its numbers
            notices.add(label, f"the file says {file_crs.to_string()}, but its coordinates are not longitude/latitude: "
                        f"read as the declared {shorten(source.crs)}", level="info")
            return gdf.set_crs(declared, allow_override=True)
    return gdf


def _finite_bounds(gdf: gpd.GeoDataFrame) -> np.ndarray | None:
    """Bounds of the features' finite coordinates, or None when there are none."""
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return None
    return np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])


def _fits_lonlat(b: np.ndarray) -> bool:
    return bool(abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90)


def _crs_hint(gdf: gpd.GeoDataFrame, label: str) -> str:
    """What to declare, from the numbers: `` - these numbers look like RD New: add crs = "EPSG:28992" ...``."""
    section = f"[{label}]" if label.startswith(("layers.", "constraints.")) else "the layer"
    b = _finite_bounds(gdf)
    seen = "" if b is None else f" (coordinates {_fmt_bounds(b)})"
    add = f"to {section} in the project file, or save the file with its CRS"
    if b is not None and _RD_BOUNDS[0] <= b[0] and b[2] <= _RD_BOUNDS[2] and _RD_BOUNDS[1] <= b[1] and b[3] <= _RD_BOUNDS[3]:
        return f"{seen} - these numbers look like RD New: add crs = \"EPSG:28992\" {add}"
    if b is not None and _fits_lonlat(b):
        return f"{seen} - these numbers look like longitude/latitude: add crs = \"EPSG:4326\" {add}"
    if b is not None and _UTM_NL_NORTHING[0] <= b[1] and b[3] <= _UTM_NL_NORTHING[1]:
        return (f"{seen} - these numbers look like UTM: add crs = \"EPSG:25831\" (zone 31N) or \"EPSG:25832\" "
                f"(zone 32N) {add}")
    return f"{seen} - add crs = \"EPSG:28992\" (or the right code) {add}"


def _fmt_bounds(b) -> str:
    digits = 4 if _fits_lonlat(b) else 0
    return f"({b[0]:.{digits}f}, {b[1]:.{digits}f}) .. ({b[2]:.{digits}f}, {b[3]:.{digits}f})"


def _coerce(series: pd.Series, col: Column, na_values: set[str]) -> tuple[pd.Series, pd.Series, bool]:
    """Coerce a column to its schema type.

    Returns the coerced series, a mask of values that could not be read, and
    whether a repair happened (text holding numbers).
    """
    s = series.astype(object).where(series.notna(), None)
    s = s.map(lambda v: None if (isinstance(v, str) and v.strip() in na_values) else v)
    if col.dtype == "str":
        out = s.map(lambda v: None if v is None else (str(v).strip() if not isinstance(v, float) or not np.isnan(v) else None))
        out = out.map(lambda v: None if v == "" else v)
        return out.astype(object), pd.Series(False, index=s.index), False
    was_text = s.map(lambda v: isinstance(v, str)).any()

    unreadable = object()

    def num(v):
        if v is None:
            return np.nan
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, int | float | np.integer | np.floating):
            return float(v)
        t = str(v).strip().replace("\u00a0", "").replace(" ", "")
        if t == "":
            return np.nan
        if "," in t and "." not in t:
            t = t.replace(",", ".")  # Dutch decimal comma
        try:
            return float(t)
        except ValueError:
            return unreadable

    parsed = pd.Series([num(v) for v in s], index=s.index, dtype=object)
    bad = parsed.map(lambda v: v is unreadable or (isinstance(v, float) and np.isinf(v))).astype(bool)
    vals = pd.to_numeric(parsed.where(~bad, np.nan), errors="coerce").astype(float)
    if col.dtype in ("int", "year"):
        frac = vals.notna() & (vals != np.round(vals))
        bad = bad | frac
    return vals, bad, bool(was_text)


def validate_layer(
    gdf: gpd.GeoDataFrame,
    kind: LayerKind | str,
    *,
    working_crs: str = "EPSG:28992",
    label: str | None = None,
    source: LayerSource | None = None,
    notices: NoticeLog | None = None,
    parameters: ParameterSet | None = None,
) -> gpd.GeoDataFrame:
    """Validate a GeoDataFrame already named with our fields; return it clean.

    Checks required columns, types (numeric text such as ``"138.0"`` is
    accepted and reported; ``"abc"`` is an error), allowed values, bounds,
    unique ids, geometry type, NaN or infinite coordinates, coordinates that
    do not fit the CRS (lon/lat mislabelled as projected, projected numbers in
    a geographic CRS); drops Z coordinates; repairs invalid geometries with
    ``make_valid``; transforms to the working CRS; and, for service areas,
    overlaps between areas of different substations. An empty layer is
    accepted whatever its columns (every schema column is added, empty).

    Parameters
    ----------
    gdf : GeoDataFrame
        Must have a CRS.
    kind : LayerKind or str
    working_crs : str
    label : str, optional
        Name of the layer in messages (defaults to the kind).
    source : LayerSource, optional
        For the user's column names in messages, ``na_values`` and ``recode``.
    notices : NoticeLog, optional
    parameters : ParameterSet, optional
        Tolerances (``assignment.overlap_tolerance_*``); default: the
        source's, else the reference parameters.

    Returns
    -------
    GeoDataFrame

    Raises
    ------
    LayerValidationError, CRSError
    """
    kind = LAYER_KINDS[kind] if isinstance(kind, str) else kind
    label = shorten(label or kind.name)
    notices = notices if notices is not None else NoticeLog()
    src_cols = dict(gdf.attrs.get("source_columns", {}))
    na_values = {"", *(source.na_values if source else ())}
    recode = dict(source.recode) if source else {}
    if parameters is None and source is not None:
        parameters = source.parameters
    if gdf.crs is None:
        raise CRSError(f"{label}: the layer has no CRS{_crs_hint(gdf, label)}")
    gdf = gdf.reset_index(drop=True)
    problems: list[Problem] = []

    if len(gdf) == 0:
        notices.add(label, "the layer is empty; it adds nothing to the results", level="info")
        for col in kind.columns:  # whatever its columns: every field is there, empty
            if col.name not in gdf.columns:
                gdf[col.name] = pd.Series([], dtype=object)

    if kind.name == "constraint" and "id" not in gdf.columns:
        gdf["id"] = [f"{label.split('.')[-1]}-{i + 1}" for i in range(len(gdf))]
        if len(gdf):
            notices.add(label, "no id column: features are numbered", field="id", level="info",
                        fix="map an id column (columns = { id = \"...\" }) for stable ids")
    # required columns
    for col in kind.columns:
        if col.required and col.name not in gdf.columns:
            problems.append(Problem(label, "required column is missing", field=col.name,
                                    fix=f"add it, or map your column to it under [layers.{kind.name}.columns] "
                                        f"({col.name} = \"your_column\")"))
    if problems:
        raise LayerValidationError(problems)

    if "id" not in gdf.columns:
        raise LayerValidationError([Problem(label, "required column is missing", field="id")])
    ids = gdf["id"].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()))
    row_label = pd.Series([f"#{i + 1}" for i in range(len(gdf))], index=gdf.index)
    feat = ids.where(ids.notna() & (ids != ""), row_label)

    def P(msg, i, colname, fix=None):
        return Problem(label, msg, str(feat[i]), colname, src_cols.get(colname), fix)

    # ids
    for i in gdf.index[ids.isna() | (ids == "")]:
        problems.append(P("the id is empty", i, "id", "give every feature a unique id"))
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    for v in sorted(set(dup)):
        where = [i + 1 for i in np.flatnonzero((ids == v).to_numpy())]
        rows = ", ".join(f"#{r}" for r in where[:5]) + (" ..." if len(where) > 5 else "")
        problems.append(Problem(label, f"id {show(v)} occurs {len(where)} times (features {rows})", v, "id",
                                src_cols.get("id"), "ids must be unique within a layer"
                                + ("; add a column to the composite id" if ID_SEPARATOR in src_cols.get("id", "")
                                   else "; or combine columns: id = [\"col1\", \"col2\"], or id = \"auto\"")))
    gdf["id"] = ids
    if gdf.attrs.get("auto_id") and len(gdf):
        notices.add(label, f"ids were generated ({kind.name}-1 .. {kind.name}-{len(gdf)}; columns id = \"auto\"): they "
                    "follow the file's row order, so they change when rows are added or removed", field="id",
                    level="info")

    # kind-specific reading before the types (e.g. transformer lists '2x40' -> units)
    if kind.prepare is not None:
        problems.extend(kind.prepare(gdf, label, notices))

    # types, recoding, allowed values, bounds
    for col in kind.columns:
        if col.name == "id" or col.name not in gdf.columns:
            continue
        series = gdf[col.name]
        if col.name in recode:
            rmap = {str(k): v for k, v in recode[col.name].items()}
            series = series.map(lambda v, rmap=rmap: rmap.get(str(v).strip(), v) if v is not None else v)
        vals, bad, was_text = _coerce(series, col, na_values)
        for i in gdf.index[bad]:
            want = {"float": "a number", "int": "a whole number", "year": "a year (e.g. 2030)"}[col.dtype]
            if isinstance(series[i], float | np.floating) and np.isinf(series[i]):
                want = f"a finite {want.removeprefix('a ')}"
            problems.append(P(f"value {show(series[i])} is not {want}", i, col.name,
                              "correct the value, or list it under na_values if it means 'none'"))
        if was_text and not bad.any() and col.dtype != "str":
            notices.add(label, f"numbers stored as text were read as numbers ({col.dtype})",
                        field=col.name, source_field=src_cols.get(col.name), level="info")
        if col.allowed is not None:
            vals = vals.map(lambda v: v.lower().replace("-", "_").replace(" ", "_") if isinstance(v, str) else v)
            for i in gdf.index[vals.notna() & ~vals.isin(col.allowed)]:
                problems.append(P(f"unknown value {show(vals[i])}", i, col.name,
                                  f"use one of: {', '.join(col.allowed)} (or recode it in the project file)"))
        if col.dtype != "str":
            unit = f" {col.unit}" if col.unit and col.unit not in ("count",) else ""
            why = f" ({col.bound_note})" if col.bound_note else ""
            if col.min is not None:
                for i in gdf.index[vals < col.min]:
                    problems.append(P(f"value {vals[i]:g} is below the minimum {col.min:g}", i, col.name,
                                      f"{col.name} must be >= {col.min:g}"))
            if col.max is not None:
                for i in gdf.index[vals > col.max]:
                    problems.append(P(f"value {vals[i]:g} is above the plausible maximum {col.max:g}{unit}{why}", i,
                                      col.name, f"{col.name} must be <= {col.max:g}; check the value and its unit"))
            if col.dtype == "year":
                for i in gdf.index[vals.notna() & ((vals < 1900) | (vals > 2100))]:
                    problems.append(P(f"year {vals[i]:g} is not plausible", i, col.name, "give a year between 1900 and 2100"))
        if col.dtype in ("int", "year"):
            vals = vals.astype("Int64") if not bad.any() else vals
        gdf[col.name] = vals
        if col.required:
            for i in gdf.index[gdf[col.name].isna() & ~bad]:
                problems.append(P("required value is empty", i, col.name, "fill it in"))

    # geometry
    geoms = gdf.geometry.values
    missing = shapely.is_missing(np.asarray(geoms)) | shapely.is_empty(np.asarray(geoms))
    for i in gdf.index[missing]:
        problems.append(P("the feature has no geometry", i, "geometry", "draw it or remove the feature"))
    # NaN or infinite coordinates (a failed conversion, an empty cell of a CSV): GEOS cannot work with them
    xy, owner = shapely.get_coordinates(np.asarray(geoms), return_index=True)
    nonfinite = ~np.isfinite(xy).all(axis=1)
    broken = np.zeros(len(gdf), dtype=bool)
    if nonfinite.any():
        first = pd.Series(np.flatnonzero(nonfinite)).groupby(owner[nonfinite]).first()
        broken[first.index.to_numpy()] = True
        for i, k in first.items():
            problems.append(P(f"coordinate ({xy[k, 0]:g}, {xy[k, 1]:g}) is not a finite number", i, "geometry",
                              "fix the feature's coordinates in the file (NaN or inf come from a failed conversion "
                              "or an empty cell), or remove the feature"))
    gtypes = gdf.geometry.geom_type
    wrong = ~missing & ~gtypes.isin(kind.geometry)
    point_in_areas = kind.is_polygonal and "Point" not in kind.geometry
    for i in gdf.index[wrong]:
        fix = ("give the sites an area: draw their outlines, or make circles of the points with geometry = "
               "{ ..., radius_m = 150 } in the project file" if point_in_areas and gtypes[i] in ("Point", "MultiPoint")
               else "save this layer with the right geometry type (one type per layer)")
        problems.append(P(f"geometry is a {gtypes[i]}, expected {' or '.join(kind.geometry)}", i, "geometry", fix))

    # CRS: lon/lat mislabelled as projected, projected numbers in a geographic CRS, and coordinates outside RD New
    crs = CRS.from_user_input(gdf.crs)
    valid_geom = ~missing & ~broken
    if valid_geom.any():
        b = gdf.geometry[valid_geom].total_bounds
        if crs.is_projected and _fits_lonlat(b):
            raise CRSError(
                f"{label}: coordinates {_fmt_bounds(b)} look like longitude/latitude but the layer says "
                f"{crs.to_string()} - declare crs = \"EPSG:4326\" for this layer, or fix the file's CRS"
            )
        if crs.is_geographic and not _fits_lonlat(b):
            hint = _crs_hint(gdf[valid_geom], label).removeprefix(f" (coordinates {_fmt_bounds(b)})")
            raise CRSError(
                f"{label}: coordinates {_fmt_bounds(b)} are not longitude/latitude, but the layer's CRS is "
                f"{crs.to_string()} (a GeoJSON file without a 'crs' member is WGS84 by its specification){hint}"
            )
    if problems:
        raise LayerValidationError(problems)

    # Z coordinates (heights): dropped, spatialprog works in 2D
    arr = np.asarray(gdf.geometry.values)
    has_z = shapely.has_z(arr)
    if has_z.any():
        gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(arr), crs=gdf.crs, index=gdf.index))
        n = int(has_z.sum())
        notices.add(label, f"{n} feature{'s' if n > 1 else ''} had Z coordinates (heights); they were dropped: "
                    f"spatialprog works in 2D", feature=str(feat[int(np.flatnonzero(has_z)[0])]) if n == 1 else None,
                    field="geometry", level="info")

    # invalid geometries: repair
    arr = np.asarray(gdf.geometry.values)
    invalid = ~shapely.is_valid(arr) & ~missing
    if invalid.any():
        repaired = shapely.make_valid(arr[invalid])
        if set(kind.geometry) <= set(POLYGON + POINT):
            repaired = np.array([_keep_dims(g, kind.geometry) for g in repaired], dtype=object)
        arr = arr.copy()
        arr[invalid] = repaired
        gdf = gdf.set_geometry(gpd.GeoSeries(arr, crs=gdf.crs, index=gdf.index))
        for i in gdf.index[invalid]:
            notices.add(label, "invalid geometry (e.g. self-intersection) was repaired with make_valid",
                        feature=str(feat[i]), field="geometry")

    # transform
    if not crs.equals(CRS.from_user_input(working_crs)):
        before = gdf.geometry.total_bounds if (~missing).any() else None
        gdf = gdf.to_crs(working_crs)
        notices.add(label, f"reprojected from {crs.to_string()} to {working_crs}", level="info")
        if before is not None and not np.isfinite(gdf.geometry[~missing].total_bounds).all():
            raise CRSError(
                f"{label}: coordinates {_fmt_bounds(before)} cannot be transformed from {crs.to_string()} to "
                f"{working_crs}: they do not fit {crs.to_string()} - declare the layer's right CRS with 'crs'"
            )
    if CRS.from_user_input(working_crs).to_epsg() == 28992 and len(gdf) and (~missing).any():
        b = gdf.geometry.total_bounds
        if b[0] < _RD_BOUNDS[0] or b[1] < _RD_BOUNDS[1] or b[2] > _RD_BOUNDS[2] or b[3] > _RD_BOUNDS[3]:
            raise CRSError(
                f"{label}: coordinates ({b[0]:.0f}, {b[1]:.0f}) .. ({b[2]:.0f}, {b[3]:.0f}) lie outside the Netherlands and its "
                f"North Sea zone in EPSG:28992 - the layer's CRS is probably wrong; declare the right one with 'crs'"
            )

    # cross-field checks
    for check in kind.checks:
        problems.extend(check(gdf, label, notices))
    if kind.role == "service_area" and len(gdf) > 1:
        problems.extend(_check_overlaps(gdf, label, notices, parameters))
    if problems:
        raise LayerValidationError(problems)

    cols = [c.name for c in kind.columns if c.name in gdf.columns]
    out = gdf[cols + [gdf.geometry.name]]
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    out.attrs = {"kind": kind.name, "label": label}
    return out


def _check_overlaps(areas: gpd.GeoDataFrame, label: str, notices: NoticeLog,
                    parameters: ParameterSet | None) -> list[Problem]:
    """Service areas of different substations that overlap: an error, or a notice for a sliver.

    An overlap would split a site in it over both substations by a share that
    means nothing; a sliver (at most ``assignment.overlap_tolerance_m2``, or at
    most ``assignment.overlap_tolerance_share`` of the smaller area) is what
    two areas digitised on their own leave along their border.
    """
    from .network import area_overlaps
    from .params import load_parameters

    params = parameters if parameters is not None else load_parameters()
    tol_m2 = float(params["assignment.overlap_tolerance_m2"])
    tol_share = float(params["assignment.overlap_tolerance_share"])
    ov = area_overlaps(areas)
    if ov.empty:
        return []
    sliver = (ov["overlap_m2"] <= tol_m2) | (ov["share"] <= tol_share)
    problems = []
    for r in ov[~sliver].itertuples(index=False):
        problems.append(Problem(
            label, f"overlaps area {show(r.other)} (substation {show(r.other_substation)}) by {r.overlap_m2:,.0f} m2 "
                   f"({r.share:.1%} of the smaller area); a site there would be split between substations "
                   f"{show(r.substation)} and {show(r.other_substation)}", r.area, "geometry",
            fix="make the service areas meet without overlapping (each place served by one substation)"))
    small = ov[sliver]
    if len(small):
        worst = small.sort_values("overlap_m2", ascending=False, kind="stable").iloc[0]
        notices.add(label, f"{len(small)} sliver overlap{'s' if len(small) > 1 else ''} between service areas of "
                    f"different substations ignored (at most {tol_m2:g} m2 or {tol_share:.1%} of the smaller area; "
                    f"the largest: {worst['area']} and {worst['other']}, {worst['overlap_m2']:,.0f} m2)",
                    field="geometry", level="info",
                    fix="a site in a sliver is split between both by area; tune assignment.overlap_tolerance_m2")
    return problems


def _keep_dims(geom, allowed: tuple[str, ...]):
    """Keep only the parts of a repaired geometry of the allowed dimension."""
    if geom.geom_type in allowed:
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys and "Polygon" in allowed:
            return shapely.union_all(polys)
    return geom


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
