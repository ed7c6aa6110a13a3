"""Reading the site to check: a file, GeoJSON, WKT or x,y (+ radius), with a programme.

:func:`read_sites` turns what a user gives (a GIS file, a drawn outline, a
point with a radius, a programme of dwellings or charge points) into a site
layer validated by its kind's own schema (:mod:`spatialprog.kinds`), in the
working CRS. Which kinds can be checked, the words users type for them, where a
generic ``start_year`` goes and the Dutch spellings that are recoded all come
from each kind's :class:`~spatialprog.kinds.CheckOptions`. Dutch field names
of a site file are read through the kinds' Dutch aliases
(:func:`dutch_field_names`).

The module is a little over 500 lines because every form a site can be given in
(file, text, geometry, programme, Dutch or English field names) is turned into
the one validated layer here, with its one-line errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import CRSError, LayerReadError, LayerValidationError, NoticeLog, Problem
from ..kinds import LAYER_KINDS, LayerKind, kinds_with_role
from ..layers import LayerSource
from ..validation import validate_layer

__all__ = ["DEFAULT_CRS", "GENERIC_KEYS", "SITE_OPTIONS", "kind_aliases", "dutch_field_names", "read_sites",
           "site_problem"]

DEFAULT_CRS = "EPSG:28992"
#: kind-neutral programme keys (start_year and end_year go to each kind's own columns)
GENERIC_KEYS = ("id", "name", "start_year", "end_year", "priority_category", "municipality", "kind")


def _checkable() -> list[LayerKind]:
    return [k for k in kinds_with_role("site") if k.check is not None]


def kind_aliases() -> dict[str, str]:
    """Every word check-site accepts for a kind (its aliases and its own name) -> the kind's name.

    Examples
    --------
    >>> kind_aliases()["woningbouw"], kind_aliases()["charging"]
    ('housing_sites', 'charging_hubs')
    """
    out: dict[str, str] = {}
    for k in _checkable():
        out.update({a: k.name for a in k.check.aliases})
        out[k.name] = k.name
    return out


def site_problem(message: str, fix: str | None = None, feature: str | None = None, fld: str | None = None) -> Problem:
    return Problem("site", message, feature, fld, fix=fix)






#: the programme fields check-site has an option of their own for (``--category``; spatialprog.cli.check_site)
SITE_OPTIONS = ("dwellings", "heating", "ev_share", "start_year", "end_year", "phasing", "category", "area_ha",
                "contracted_mw", "charge_points", "kw_per_point", "segment", "technology", "capacity_mw")


def _as_site_option(p: Problem) -> Problem:
    """A required field missing from a site: say how to give it to check-site, not how to map a project layer.

    Examples
    --------
    >>> str(_as_site_option(Problem("site", "required column is missing", field="segment", fix="map it")))
    "site, field 'segment': required column is missing - give --segment VALUE (or --field segment=VALUE) on the command line, or a 'segment' field in the site file"
    """
    if p.message != "required column is missing" or not p.field:
        return p
    name = p.field
    opt = f"--{name.replace('_', '-')} VALUE (or --field {name}=VALUE)" if name in SITE_OPTIONS else \
        f"--field {name}=VALUE"
    return replace(p, fix=f"give {opt} on the command line, or a '{name}' field in the site file")


_NUM = r"[-+]?\d+(?:\.\d+)?"
_XY_RE = re.compile(rf"^\s*({_NUM})\s*[,;\s]\s*({_NUM})\s*(?:[,;\s+]\s*(?:r\s*=\s*)?({_NUM})\s*(?:m)?)?\s*$", re.I)
_WKT_RE = re.compile(r"^\s*(SRID=\d+;\s*)?(POINT|MULTIPOINT|POLYGON|MULTIPOLYGON|LINESTRING|MULTILINESTRING|"
                     r"GEOMETRYCOLLECTION)\b", re.I)


def _parse_site_text(text: str, *, layer: str | None = None) -> tuple[gpd.GeoDataFrame, Any, str, float | None]:
    """Turn SITE text into features.

    Returns ``(frame, crs_from_source, form, radius_from_text)`` where form is
    ``file``, ``geojson``, ``wkt`` or ``xy``.
    """
    t = text.strip()
    if not t:
        raise LayerValidationError([site_problem("no site given", "give a file, a GeoJSON or WKT text, or x,y")])
    m = _XY_RE.match(t)
    if m:
        x, y = float(m.group(1)), float(m.group(2))
        r = float(m.group(3)) if m.group(3) else None
        return gpd.GeoDataFrame(geometry=[shapely.Point(x, y)]), None, "xy", r
    if t.startswith("{"):
        try:
            obj = json.loads(t)
        except json.JSONDecodeError as e:
            raise LayerValidationError([site_problem(f"the GeoJSON text cannot be read: {e.msg} at character {e.pos}",
                                                      "check the brackets and quotes, or save it to a file")]) from None
        return _from_geojson(obj), None, "geojson", None
    if _WKT_RE.match(t):
        try:
            g = shapely.from_wkt(re.sub(r"^\s*SRID=\d+;\s*", "", t))
        except shapely.errors.GEOSException as e:
            raise LayerValidationError([site_problem(f"the WKT text cannot be read: {' '.join(str(e).split())[:120]}",
                                                      "write it like 'POLYGON ((x1 y1, x2 y2, x3 y3, x1 y1))'")]) from None
        srid = re.match(r"^\s*SRID=(\d+);", t)
        return gpd.GeoDataFrame(geometry=[g]), (f"EPSG:{srid.group(1)}" if srid else None), "wkt", None
    p = Path(t).expanduser()
    if p.exists():
        return (*_read_site_file(p, layer=layer), "file", None)
    raise LayerValidationError([site_problem(
        f"'{t[:60]}' is not a file, a GeoJSON or WKT text, or x,y coordinates",
        "give a path to a GIS file, 'POLYGON ((...))', '{\"type\": \"Polygon\", ...}', or '186150,437150' with --radius")])


def _from_geojson(obj: Any) -> gpd.GeoDataFrame:
    if not isinstance(obj, dict) or "type" not in obj:
        raise LayerValidationError([site_problem("the GeoJSON text has no 'type'", "give a Feature, FeatureCollection "
                                                  "or geometry object")])
    try:
        if obj["type"] == "FeatureCollection":
            feats = obj.get("features") or []
            if not feats:
                raise LayerValidationError([site_problem("the GeoJSON FeatureCollection has no features",
                                                          "draw at least one polygon")])
            return gpd.GeoDataFrame.from_features(feats)
        if obj["type"] == "Feature":
            return gpd.GeoDataFrame.from_features([obj])
        return gpd.GeoDataFrame(geometry=[shapely.from_geojson(json.dumps(obj))])
    except (shapely.errors.GEOSException, KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, LayerValidationError):
            raise
        raise LayerValidationError([site_problem(f"the GeoJSON text is not a valid geometry: "
                                                  f"{' '.join(str(e).split())[:120]}",
                                                  "check it in a GeoJSON validator, or save it as a file")]) from None


def _read_site_file(path: Path, *, layer: str | None) -> tuple[gpd.GeoDataFrame, Any]:
    import pyogrio

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise LayerReadError(f"site: cannot open '{path}': {' '.join(str(e).split())[:200]} - is it a GIS file "
                             f"(GeoPackage, GeoJSON, Shapefile, ...)?") from None
    if layer is not None and layer not in layers:
        raise LayerReadError(f"site: layer '{layer}' is not in '{path.name}'; it has: {', '.join(layers)} - "
                             f"fix --layer")
    if layer is None and len(layers) > 1:
        raise LayerReadError(f"site: '{path.name}' holds {len(layers)} layers ({', '.join(layers)}) - name one "
                             f"with --layer")
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer) if layer else pyogrio.read_dataframe(path)
    except Exception as e:
        raise LayerReadError(f"site: cannot read '{path}': {' '.join(str(e).split())[:200]}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerReadError(f"site: '{path.name}' has no geometry - give a spatial layer")
    if len(gdf) == 0:
        raise LayerValidationError([site_problem(f"the file '{path.name}' has no features",
                                                  "draw at least one polygon (or point, for a charging hub) in it")])
    gdf.columns = [c.lower() if c != gdf.geometry.name else c for c in gdf.columns]
    return gdf, gdf.crs


def _field_key(name: str) -> str:
    """A field name as compared: lower case, no unit in brackets, words joined by ``_``, no leading "aantal"."""
    k = re.sub(r"\(.*?\)", " ", str(name).lower())
    k = "_".join(re.sub(r"[^0-9a-z\u00c0-\u024f]+", " ", k).split())
    return k.removeprefix("aantal_")


def dutch_field_names() -> dict[str, str]:
    """Dutch field names a site file may use -> our field names (from the kinds' Dutch aliases).

    Only names that mean the same field in every kind that has them; generic
    ``startjaar`` / ``eindjaar`` go to each kind's own start and end column.

    Examples
    --------
    >>> d = dutch_field_names()
    >>> d["woningen"], d["verwarming"], d["laadpunten"], d["startjaar"], d["vermogen"]
    ('dwellings', 'heating', 'charge_points', 'start_year', 'capacity_mw')
    """
    seen: dict[str, set[str]] = {}
    for lk in _checkable():
        for name, alias in lk.aliases_nl.items():
            if alias and _field_key(alias) != name:
                seen.setdefault(_field_key(alias), set()).add(name)
    out = {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}
    out.update({"startjaar": "start_year", "eindjaar": "end_year", "jaar": "start_year", "naam": "name",
                "woningen": "dwellings", "categorie": "category", "oppervlakte": "area_ha"})
    return out


def _dutch_columns(gdf: gpd.GeoDataFrame, notices: NoticeLog) -> gpd.GeoDataFrame:
    """Rename the Dutch field names of a site file to ours (reported); our own names win where both are given."""
    words = dutch_field_names()
    ren = {}
    for c in gdf.columns:
        if c == gdf.geometry.name or c in words.values():
            continue
        ours = words.get(_field_key(c))
        if ours is not None and ours not in gdf.columns and ours not in ren.values():
            ren[c] = ours
    if ren:
        notices.add("site", "Dutch field names read as " + ", ".join(f"{a} = {b}" for a, b in ren.items()),
                    level="info")
    return gdf.rename(columns=ren)


def _infer_kind(kind: str | None, keys: Iterable[str]) -> str:
    if kind:
        k = kind_aliases().get(str(kind).strip().lower())
        if k is None:
            words = ", ".join(lk.check.aliases[0] if lk.check.aliases else lk.name for lk in _checkable())
            raise LayerValidationError([site_problem(
                f"unknown kind of site '{kind}'", f"use {words}", fld="kind")])
        return k
    keys = set(keys)
    found = [lk.name for lk in _checkable() if keys & set(lk.check.keys)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LayerValidationError([site_problem(
            "the programme does not say what is planned",
            "give dwellings and heating (housing), a category or contracted MW (business park), or charge points "
            "and kW per point (charging hub)")])
    raise LayerValidationError([site_problem(
        f"the programme mixes fields of {' and '.join(found)}",
        "check one kind of site at a time, or say which with kind = housing | industrial | charging")])


def _programme_columns(kind: str, programme: Mapping[str, Any]) -> dict[str, Any]:
    """Map a programme (our field names plus a few generic keys) to the columns of ``kind``."""
    schema = LAYER_KINDS[kind]
    allowed = set(schema.column_names) | set(GENERIC_KEYS)
    out: dict[str, Any] = {}
    bad = sorted(k for k in programme if k not in allowed)
    if bad:
        raise LayerValidationError([site_problem(
            f"'{b}' is not a field of {kind}", f"use one of: {', '.join(sorted(allowed - {'kind'}))}", fld=b)
            for b in bad])
    for k, v in programme.items():
        if v is None or k == "kind":
            continue
        if k == "start_year":
            out[schema.check.start_column] = v
        elif k == "end_year":
            if schema.check.end_column is None:
                raise LayerValidationError([site_problem(f"end_year does not apply to {kind}",
                                                          "leave it out", fld="end_year")])
            out[schema.check.end_column] = v
        elif k == "priority_category" and "priority_category" not in schema.column_names:
            continue  # kept aside, reported with the check
        else:
            out[k] = v
    return out


def _normalise_text(series: pd.Series, rec: Mapping[str, str]) -> pd.Series:

    def f(v):
        if isinstance(v, str):
            s = " ".join(v.strip().lower().split())
            return rec.get(s, rec.get(s.replace("_", " "), s))
        return v

    return series.map(f)


def _looks_lonlat(bounds: np.ndarray) -> bool:
    b = bounds
    return bool(abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90)


def read_sites(
    geometry: Any,
    programme: Mapping[str, Any] | None = None,
    *,
    crs: str | None = None,
    radius_m: float | None = None,
    kind: str | None = None,
    layer: str | None = None,
    working_crs: str = DEFAULT_CRS,
    notices: NoticeLog | None = None,
) -> tuple[str, gpd.GeoDataFrame]:
    """Turn a site given in any accepted form into a validated site layer.

    Parameters
    ----------
    geometry : str, path, shapely geometry, GeoSeries or GeoDataFrame
        A GIS file (any GDAL vector format, one or more features), a GeoJSON or
        WKT text, ``"x,y"`` or ``"x,y,radius"``, or geometries. Attributes of a
        file or GeoJSON (our field names, e.g. ``dwellings``) are the programme
        of each feature.
    programme : mapping, optional
        Fields for every feature, overriding the file's attributes:
        ``dwellings, heating, ev_share, delivery_start_year, delivery_end_year,
        phasing`` (housing); ``category, area_ha, contracted_mw`` (business
        park); ``charge_points, kw_per_point, segment`` (charging hub); and
        ``id, name, start_year, end_year, priority_category, kind``.
    crs : str, optional
        CRS of the coordinates; default: the file's own, else EPSG:28992.
    radius_m : float, optional
        Makes a circle of a point (housing and business parks need an area).
    kind : str, optional
        A kind's name or one of its check-site aliases (``housing``, ``industrial``,
        ``charging``, ...); inferred from the programme when not given.
    layer : str, optional
        The layer in a multi-layer file.
    working_crs : str
    notices : NoticeLog, optional
        Receives repairs (e.g. a self-intersecting outline) and remarks.

    Returns
    -------
    kind : str
        The layer kind (one of :func:`spatialprog.kinds.check_kinds`).
    sites : GeoDataFrame
        Validated by the layer's own schema, in the working CRS, ids unique.

    Raises
    ------
    LayerValidationError
        Every problem of the site(s) at once (zero dwellings, unknown heating, no area, ...).
    CRSError
        Coordinates that look like longitude/latitude while a projected CRS is assumed.
    LayerReadError
        A file that cannot be read.

    Examples
    --------
    >>> kind, s = read_sites("186150,437150", {"dwellings": 100, "heating": "warmtenet",
    ...                      "start_year": 2027}, radius_m=150)
    >>> kind, s["heating"].tolist(), round(float(s.area.iloc[0]) / 1e4, 1)
    ('housing_sites', ['heat_network'], 7.1)
    """
    notices = notices if notices is not None else NoticeLog()
    programme = dict(programme or {})
    form = "geometry"
    text_radius = None
    src_crs: Any = None
    if isinstance(geometry, gpd.GeoDataFrame):
        gdf, src_crs = geometry.copy(), geometry.crs
        gdf.columns = [c.lower() if c != gdf.geometry.name else c for c in gdf.columns]
    elif isinstance(geometry, gpd.GeoSeries):
        gdf, src_crs = gpd.GeoDataFrame(geometry=geometry.reset_index(drop=True)), geometry.crs
    elif isinstance(geometry, shapely.Geometry):
        gdf = gpd.GeoDataFrame(geometry=[geometry])
    elif isinstance(geometry, Path):
        if not geometry.exists():
            raise LayerReadError(f"site: file '{geometry}' does not exist - check the path")
        gdf, src_crs = _read_site_file(geometry, layer=layer)
        form = "file"
    elif isinstance(geometry, str):
        gdf, src_crs, form, text_radius = _parse_site_text(geometry, layer=layer)
    else:
        raise LayerValidationError([site_problem(f"cannot use a {type(geometry).__name__} as a site",
                                                  "give a file path, WKT or GeoJSON text, 'x,y', or a shapely geometry")])
    if len(gdf) == 0:
        raise LayerValidationError([site_problem("the site has no features", "draw at least one polygon")])
    radius_m = radius_m if radius_m is not None else text_radius
    if radius_m is not None and not (radius_m > 0 and math.isfinite(radius_m)):
        raise LayerValidationError([site_problem(f"the radius must be more than 0 m, got {radius_m:g}",
                                                  "give the radius in metres, e.g. --radius 250", fld="radius")])

    # CRS: explicit > the source's own > RD New
    if crs is not None:
        try:
            use_crs = CRS.from_user_input(crs)
        except Exception:
            raise CRSError(f"site: --crs '{crs}' is not a CRS pyproj knows - use e.g. EPSG:4326 (lon/lat from a web map) "
                           f"or EPSG:28992 (RD New)") from None
        if src_crs is not None and not CRS.from_user_input(src_crs).equals(use_crs):
            notices.add("site", f"the file says {CRS.from_user_input(src_crs).to_string()}, but --crs "
                        f"{use_crs.to_string()} was given; --crs wins", level="warning")
    elif src_crs is not None:
        use_crs = CRS.from_user_input(src_crs)
    else:
        use_crs = CRS.from_user_input(DEFAULT_CRS)
    geoms = np.asarray(gdf.geometry.values)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if present.any():
        b = shapely.total_bounds(geoms[present])
        if use_crs.is_projected and _looks_lonlat(b):
            raise CRSError(
                f"site: coordinates ({b[0]:.4f}, {b[1]:.4f}) look like longitude/latitude but are read as "
                f"{use_crs.to_string()} - add --crs EPSG:4326 (in Python: crs=\"EPSG:4326\")")
        if use_crs.is_geographic and form == "xy" and 50 <= b[0] <= 54 and 3 <= b[1] <= 8:
            gdf = gdf.set_geometry(shapely.points(shapely.get_y(geoms), shapely.get_x(geoms)))
            notices.add("site", f"'{b[0]:g},{b[1]:g}' was read as latitude,longitude (the order web maps show) "
                        "and swapped to longitude,latitude", level="warning")
    gdf = gdf.set_crs(use_crs, allow_override=True)

    # kind and programme
    gdf = _dutch_columns(gdf, notices)
    file_keys = [c for c in gdf.columns if c != gdf.geometry.name]
    k = _infer_kind(kind or programme.get("kind") or (gdf["kind"].iloc[0] if "kind" in gdf else None),
                    list(programme) + file_keys)
    schema = LAYER_KINDS[k]
    opts = schema.check
    cols = _programme_columns(k, programme)
    attrs = {}
    for c in file_keys:
        if c in schema.column_names:
            attrs[c] = gdf[c]
        elif c == "start_year" and opts.start_column not in gdf:
            attrs[opts.start_column] = gdf[c]
        elif c == "end_year" and opts.end_column is not None and opts.end_column not in gdf:
            attrs[opts.end_column] = gdf[c]
    overridden = sorted(c for c in cols if c in attrs and c not in ("id", "name"))
    if overridden:
        notices.add("site", f"programme values replace the file's values of {', '.join(overridden)}", level="info")
    data = pd.DataFrame(attrs, index=gdf.index)
    for c, v in cols.items():
        data[c] = [v] * len(gdf)
    priority = programme.get("priority_category")
    if "priority_category" in gdf and "priority_category" not in data:
        data["priority_category"] = gdf["priority_category"]
    # ids: given, or site-1, site-2 ...
    if "id" not in data or data["id"].isna().all():
        data["id"] = [f"site-{i + 1}" for i in range(len(gdf))] if "id" not in cols else cols["id"]
    if len(gdf) > 1 and "id" in cols:
        data["id"] = [f"{cols['id']}-{i + 1}" for i in range(len(gdf))]
    for c, rec in opts.recode.items():
        if c in data:
            data[c] = _normalise_text(data[c], rec)

    # geometry: to the working CRS, circles from points, points for charging hubs
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=use_crs)
    if not use_crs.equals(CRS.from_user_input(working_crs)):
        out = out.to_crs(working_crs)
        notices.add("site", f"reprojected from {use_crs.to_string()} to {working_crs}", level="info")
    g = np.asarray(out.geometry.values)
    is_point = shapely.get_type_id(g) == 0
    polygonal = schema.is_polygonal
    problems: list[Problem] = []
    ids = out["id"].astype(str).tolist()
    if polygonal:
        if radius_m is not None:
            g = np.where(is_point, shapely.buffer(g, radius_m, quad_segs=16), g)
        else:
            for i in np.flatnonzero(is_point):
                problems.append(site_problem(f"a point has no area, and a {opts.word} needs one",
                                              "give a radius (--radius 250, or 'x,y,250'), or draw the "
                                              "outline", ids[i], "geometry"))
        area0 = ~shapely.is_empty(g) & (shapely.area(shapely.make_valid(g)) <= 0) & ~is_point
        for i in np.flatnonzero(area0):
            problems.append(site_problem(f"the outline has no area (a {g[i].geom_type} that encloses nothing)",
                                          "draw a closed polygon, or give x,y with --radius", ids[i], "geometry"))
    elif radius_m is not None:
        notices.add("site", f"a {opts.word} is a point: the radius is not used", level="info")
    if not polygonal:
        poly = shapely.get_type_id(g) >= 3
        if poly.any():
            g = np.where(poly, shapely.point_on_surface(g), g)
            notices.add("site", f"a {opts.word} is a point: a point inside the outline is used", level="info")
    if problems:
        raise LayerValidationError(problems)
    out = out.set_geometry(gpd.GeoSeries(g, crs=out.crs, index=out.index))

    # the layer's own schema (types, allowed values, bounds, repairs)
    source = LayerSource(path=Path("<site>"), key="site", recode={c: dict(v) for c, v in opts.recode.items()
                                                                  if c in schema.column_names})
    # a check the schema cannot make (it allows 0 for existing plans): a new site must add something
    extra: list[Problem] = []
    for c, least in opts.min_values.items():
        if c not in out:
            continue
        vals = pd.to_numeric(out[c], errors="coerce")
        floor = schema.column(c).min  # below the schema's own bound the schema reports it
        for fid, n in zip(out["id"], vals, strict=True):
            if pd.notna(n) and n < least and (floor is None or n >= floor):
                extra.append(site_problem(f"{n:g} {c}: the site adds no demand", f"give {c} (at least {least:g})",
                                           str(fid), c))
    try:
        sites = validate_layer(out, schema, working_crs=working_crs, label="site", source=source, notices=notices)
    except LayerValidationError as err:  # report every problem at once, a missing field in check-site's words
        raise LayerValidationError([_as_site_option(p) for p in err.problems] + extra) from None
    if polygonal:
        a = shapely.area(np.asarray(sites.geometry.values))
        for fid, ai in zip(sites["id"], a, strict=True):
            if ai <= 0:
                extra.append(site_problem("the outline has no area after repair", "draw a closed polygon, or give "
                                           "x,y with --radius", str(fid), "geometry"))
    if extra:
        raise LayerValidationError(extra)
    if priority is not None:
        sites.attrs["priority_category"] = str(priority)
    sites.attrs["form"] = form
    return k, sites


