"""Validation of a layer against its kind's schema: types, bounds, ids, geometry, CRS plausibility, repairs.

:func:`validate_layer` makes every check in one pass over the layer and
reports every problem at once, each as one line naming the layer, the feature
and the field, with how to fix it (one :class:`~spatialprog.errors.LayerValidationError`).
Repairable problems (numbers stored as text, invalid geometries, Z
coordinates) are repaired and reported as notices.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .crs import RD_BOUNDS, crs_hint, fits_lonlat, fmt_bounds
from .errors import CRSError, LayerValidationError, NoticeLog, Problem, shorten, show
from .kinds import LAYER_KINDS, Column, LayerKind
from .params import ParameterSet

__all__ = ["validate_layer", "POINT", "POLYGON", "ID_SEPARATOR"]

#: between the parts of a composite id (``id = ["operatorName", "locationId"]``)
ID_SEPARATOR = "/"

POINT = ("Point", "MultiPoint")
POLYGON = ("Polygon", "MultiPolygon")


def _coerce(series: pd.Series, col: Column, na_values: set[str]) -> tuple[pd.Series, pd.Series, bool]:
    """Coerce a column to its schema type.

    Returns the coerced series, a mask of values that could not be read, and
    whether a repair happened (text holding numbers).
    """
    if col.dtype != "str" and series.dtype.kind in "iufb":  # already numbers (a GeoPackage's columns): no text to read
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(arr)
        vals = pd.Series(np.where(inf, np.nan, arr), index=series.index)  # an infinite cell is unreadable
        bad = pd.Series(inf, index=series.index)
        if col.dtype in ("int", "year"):
            bad = bad | (vals.notna() & (vals != np.round(vals)))
        return vals, bad, False
    s = series.astype(object).where(series.notna(), None)
    if col.dtype == "str" and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        # texts only (and missing cells): stripped, a missing-value marker or nothing left is missing, as one array
        stripped = s.str.strip()
        blank = stripped.isna() | (stripped == "") | stripped.isin(list(na_values))
        cells = stripped.to_numpy(dtype=object, copy=True)
        cells[blank.to_numpy()] = None
        # the general path's last step, on the same cells: pandas makes the same missing values of them
        out = pd.Series(cells, index=series.index, dtype=object).map(lambda v: v)
        return out.astype(object), pd.Series(False, index=series.index), False
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
    source: Any | None = None,
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
        raise CRSError(f"{label}: the layer has no CRS{crs_hint(gdf, label)}")
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
        if crs.is_projected and fits_lonlat(b):
            raise CRSError(
                f"{label}: coordinates {fmt_bounds(b)} look like longitude/latitude but the layer says "
                f"{crs.to_string()} - declare crs = \"EPSG:4326\" for this layer, or fix the file's CRS"
            )
        if crs.is_geographic and not fits_lonlat(b):
            hint = crs_hint(gdf[valid_geom], label).removeprefix(f" (coordinates {fmt_bounds(b)})")
            raise CRSError(
                f"{label}: coordinates {fmt_bounds(b)} are not longitude/latitude, but the layer's CRS is "
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
                f"{label}: coordinates {fmt_bounds(before)} cannot be transformed from {crs.to_string()} to "
                f"{working_crs}: they do not fit {crs.to_string()} - declare the layer's right CRS with 'crs'"
            )
    if CRS.from_user_input(working_crs).to_epsg() == 28992 and len(gdf) and (~missing).any():
        b = gdf.geometry.total_bounds
        if b[0] < RD_BOUNDS[0] or b[1] < RD_BOUNDS[1] or b[2] > RD_BOUNDS[2] or b[3] > RD_BOUNDS[3]:
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
