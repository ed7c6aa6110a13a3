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

The module is a little over 500 lines because every check of
:func:`validate_layer` (types, bounds, ids, geometry, CRS plausibility,
repairs) stays in one pass over the layer, so every problem is reported at
once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .errors import CRSError, LayerReadError, LayerValidationError, NoticeLog, Problem
from .kinds import LAYER_KINDS, Column, LayerKind

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
        CRS to assume when the file has none.
    key : str
        The project-file key, for messages (``layers.housing_sites``).
    """

    path: Path
    layer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    recode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    na_values: Sequence[str] = ()
    crs: str | None = None
    key: str = ""


# EPSG:28992's area of use with a margin, in its own coordinates
_RD_BOUNDS = (-7000.0, 289000.0, 300000.0, 629000.0)


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
    label = source.key or kind.name
    path = Path(source.path)
    if not path.exists():
        raise LayerReadError(
            f"{label}: file '{path}' does not exist - check 'path' in the project file (relative paths are "
            f"read from the project file's folder)"
        )
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        gdf = _read_parquet(path, label, bbox, working_crs)
        gdf = _apply_mapping(gdf, source, kind, label)
        gdf = _set_crs(gdf, source, label, working_crs)
        return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layers_in_file = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise LayerReadError(f"{label}: cannot open '{path}': {_one_line(e)} - is it a valid GIS file?") from None
    for w in caught:
        notices.add(label, f"GDAL: {_one_line(w.message)}", level="info")
    if source.layer is not None and source.layer not in layers_in_file:
        raise LayerReadError(
            f"{label}: layer '{source.layer}' is not in '{path.name}'; it has: {', '.join(layers_in_file)} - fix 'layer' "
            f"in the project file"
        )
    if source.layer is None and len(layers_in_file) > 1:
        raise LayerReadError(
            f"{label}: '{path.name}' holds {len(layers_in_file)} layers ({', '.join(layers_in_file)}) - name one "
            f"with 'layer' in the project file"
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
        raise LayerReadError(f"{label}: cannot read '{path}': {_one_line(e)} - is the file complete and valid?") from None
    for w in caught:
        notices.add(label, f"GDAL: {_one_line(w.message)}", level="info")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise LayerReadError(f"{label}: '{path.name}' has no geometry - spatialprog needs a spatial layer")
    gdf = _apply_mapping(gdf, source, kind, label)
    gdf = _set_crs(gdf, source, label, working_crs)
    return validate_layer(gdf, kind, working_crs=working_crs, label=label, source=source, notices=notices)


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
        raise LayerReadError(f"{label}: cannot read '{path}': {_one_line(e)} - is it a valid GeoParquet file?") from None


def _one_line(e: Exception | Warning | str) -> str:
    return " ".join(str(e).split())[:300]


def _transform_bbox(bbox, from_crs, to_crs):
    from pyproj import Transformer

    if CRS.from_user_input(from_crs) == CRS.from_user_input(to_crs):
        return tuple(bbox)
    t = Transformer.from_crs(from_crs, to_crs, always_xy=True)
    return t.transform_bounds(*bbox, densify_pts=21)


def _apply_mapping(gdf: gpd.GeoDataFrame, source: LayerSource, kind: LayerKind, label: str) -> gpd.GeoDataFrame:
    known = set(kind.column_names)
    problems: list[Problem] = []
    for ours, theirs in source.columns.items():
        if ours not in known:
            problems.append(Problem(label, f"the column mapping names '{ours}', which is not a field of {kind.name}",
                                    field=ours, fix=f"use one of: {', '.join(kind.column_names)}"))
        elif theirs not in gdf.columns:
            problems.append(Problem(label, f"mapped column '{theirs}' is not in the file", field=ours,
                                    source_field=theirs,
                                    fix=f"the file has: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)}"))
    if problems:
        raise LayerValidationError(problems)
    geom = gdf.geometry.name
    data = {}
    for col in kind.columns:
        src = source.columns.get(col.name, col.name)
        if col.name in source.constants:
            data[col.name] = pd.Series([source.constants[col.name]] * len(gdf), index=gdf.index, dtype=object)
        elif src in gdf.columns and src != geom:
            data[col.name] = gdf[src]
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=gdf.crs, index=gdf.index)
    out.attrs["source_columns"] = {c.name: source.columns.get(c.name, c.name) for c in kind.columns}
    return out


def _set_crs(gdf: gpd.GeoDataFrame, source: LayerSource, label: str, working_crs: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        if not source.crs:
            raise CRSError(
                f"{label}: the layer has no CRS - add 'crs = \"EPSG:28992\"' (or the right code) to the layer in the "
                f"project file, or save the file with its CRS"
            )
        gdf = gdf.set_crs(source.crs)
    return gdf


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
    bad = parsed.map(lambda v: v is unreadable).astype(bool)
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
) -> gpd.GeoDataFrame:
    """Validate a GeoDataFrame already named with our fields; return it clean.

    Checks required columns, types (numeric text such as ``"138.0"`` is
    accepted and reported; ``"abc"`` is an error), allowed values, bounds,
    unique ids, geometry type, lon/lat coordinates mislabelled as a projected
    CRS; repairs invalid geometries with ``make_valid``; transforms to the
    working CRS.

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

    Returns
    -------
    GeoDataFrame

    Raises
    ------
    LayerValidationError, CRSError
    """
    kind = LAYER_KINDS[kind] if isinstance(kind, str) else kind
    label = label or kind.name
    notices = notices if notices is not None else NoticeLog()
    src_cols = dict(gdf.attrs.get("source_columns", {}))
    na_values = {"", *(source.na_values if source else ())}
    recode = dict(source.recode) if source else {}
    if gdf.crs is None:
        raise CRSError(f"{label}: the layer has no CRS - declare it with 'crs' in the project file")
    gdf = gdf.reset_index(drop=True)
    problems: list[Problem] = []

    if len(gdf) == 0:
        notices.add(label, "the layer is empty; it adds nothing to the results", level="info")

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
        n = int((ids == v).sum())
        problems.append(Problem(label, f"id '{v}' occurs {n} times", v, "id", src_cols.get("id"),
                                "ids must be unique within a layer"))
    gdf["id"] = ids

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
            problems.append(P(f"value {series[i]!r} is not {want}", i, col.name,
                              "correct the value, or list it under na_values if it means 'none'"))
        if was_text and not bad.any() and col.dtype != "str":
            notices.add(label, f"numbers stored as text were read as numbers ({col.dtype})",
                        field=col.name, source_field=src_cols.get(col.name), level="info")
        if col.allowed is not None:
            vals = vals.map(lambda v: v.lower().replace("-", "_").replace(" ", "_") if isinstance(v, str) else v)
            for i in gdf.index[vals.notna() & ~vals.isin(col.allowed)]:
                problems.append(P(f"unknown value '{vals[i]}'", i, col.name,
                                  f"use one of: {', '.join(col.allowed)} (or recode it in the project file)"))
        if col.dtype != "str":
            if col.min is not None:
                for i in gdf.index[vals < col.min]:
                    problems.append(P(f"value {vals[i]:g} is below the minimum {col.min:g}", i, col.name,
                                      f"{col.name} must be >= {col.min:g}"))
            if col.max is not None:
                for i in gdf.index[vals > col.max]:
                    problems.append(P(f"value {vals[i]:g} is above the maximum {col.max:g}", i, col.name,
                                      f"{col.name} must be <= {col.max:g}"))
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
    gtypes = gdf.geometry.geom_type
    wrong = ~missing & ~gtypes.isin(kind.geometry)
    for i in gdf.index[wrong]:
        problems.append(P(f"geometry is a {gtypes[i]}, expected {' or '.join(kind.geometry)}", i, "geometry",
                          "save this layer with the right geometry type (one type per layer)"))

    # CRS: lon/lat mislabelled as projected, and coordinates outside RD New
    crs = CRS.from_user_input(gdf.crs)
    valid_geom = ~missing
    if valid_geom.any():
        b = gdf.geometry[valid_geom].total_bounds
        if crs.is_projected and (abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90):
            raise CRSError(
                f"{label}: coordinates ({b[0]:.4f}, {b[1]:.4f}) .. ({b[2]:.4f}, {b[3]:.4f}) look like longitude/latitude "
                f"but the layer says {crs.to_string()} - declare crs = \"EPSG:4326\" for this layer, or fix the file's CRS"
            )
    if problems:
        raise LayerValidationError(problems)

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
        gdf = gdf.to_crs(working_crs)
        notices.add(label, f"reprojected from {crs.to_string()} to {working_crs}", level="info")
    if CRS.from_user_input(working_crs).to_epsg() == 28992 and len(gdf) and (~missing).any():
        b = gdf.geometry.total_bounds
        if b[0] < _RD_BOUNDS[0] or b[1] < _RD_BOUNDS[1] or b[2] > _RD_BOUNDS[2] or b[3] > _RD_BOUNDS[3]:
            raise CRSError(
                f"{label}: coordinates ({b[0]:.0f}, {b[1]:.0f}) .. ({b[2]:.0f}, {b[3]:.0f}) lie outside the Netherlands "
                f"in EPSG:28992 - the layer's CRS is probably wrong; declare the right one with 'crs'"
            )

    # cross-field checks
    for check in kind.checks:
        problems.extend(check(gdf, label, notices))
    if problems:
        raise LayerValidationError(problems)

    cols = [c.name for c in kind.columns if c.name in gdf.columns]
    out = gdf[cols + [gdf.geometry.name]]
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    out.attrs = {"kind": kind.name, "label": label}
    return out


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
                bounds.append(f"<= {c.max:g}")
            parts.append(
                f"| {c.name} | {c.dtype} | {c.unit or ''} | {'yes' if c.required else ''} | {'; '.join(bounds)} | "
                f"{c.alias_nl} | {c.description} |"
            )
        parts.append("")
    return "\n".join(parts)
