"""Does a new site fit on the grid, and from when?

The question a municipality asks most often while a plan is still being drawn:
*does this new neighbourhood (business park, charging hub) fit on the
electricity grid, and from which year?* This module answers it against a
computed baseline (a :class:`~spatialprog.pipeline.RunResult`), per horizon
year and per development variant:

* the substation(s) that would serve the site, split by area share when it
  straddles two service areas (:func:`spatialprog.network.assign_sites`);
* the site's own peak offtake per year, from the same demand functions as the
  run (:mod:`spatialprog.demand`);
* the offtake headroom before and after, its status class, the MW short;
* a verdict in plain Dutch and English (``"past"``, ``"past vanaf 2031"``,
  ``"past niet binnen de horizon"``) and the first year it fits given the
  planned reinforcements;
* the nearest other substations with headroom for the whole site in that year;
* land-claim conflicts when :mod:`spatialprog.conflicts` is installed.

A site fits in a year when, after adding its demand, every substation serving
it keeps headroom (``headroom_after_mw >= SHORTFALL_AT_MW``, the backbone's own
shortfall threshold), or when the site draws nothing yet that year. The verdict
of a variant is:

``fits`` / "past"
    it fits in every horizon year;
``fits_from`` / "past vanaf JAAR"
    it does not fit in some year, but fits in every year from JAAR to the end
    of the horizon (typically thanks to a planned reinforcement);
``does_not_fit`` / "past niet binnen de horizon"
    it does not fit in the last horizon year;
``outside`` / "buiten het gebied"
    no substation of this project serves the site;
``after_horizon`` / "na de horizon"
    the site draws no power within the horizon, so nothing can be said.

Several sites are checked in a stated order, each seeing the demand of the
ones before it (:func:`check_sites`); :class:`WhatIf` keeps a session in which
sites are added, moved and removed, indexed in an insertable ``rtree`` index,
and re-checked without recomputing the baseline.

Examples
--------
>>> from spatialprog.pipeline import compute, read_plan
>>> result = compute(read_plan("layers/example_region.toml"))
>>> c = check_site(result, "POLYGON ((186000 437000, 186300 437000, 186300 437300, 186000 437300, 186000 437000))",
...                {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "delivery_start_year": 2027})
>>> c.verdict.nl, c.verdict.en
('past vanaf 2030', 'fits from 2030')
>>> [s["substation_id"] for s in c.serving]
['OS07']
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from . import __version__
from . import fields as F
from .config import BASE_VARIANT, Project, load_project
from .demand import charging_demand, demand_points, housing_demand, industrial_demand
from .errors import CRSError, LayerReadError, LayerValidationError, NoticeLog, Problem, ProjectError
from .headroom import SHORTFALL_AT_MW, classify_status
from .layers import LAYER_KINDS, SITE_KINDS, LayerSource, read_layer, validate_layer
from .network import assign_sites
from .params import ParameterSet, load_status_classes
from .pipeline import Plan, RunResult, compute, read_plan

__all__ = [
    "SCHEMA_ID",
    "CHECK_KINDS",
    "VERDICTS",
    "JSON_SCHEMA",
    "Verdict",
    "SiteCheck",
    "Baseline",
    "NearPlan",
    "WhatIf",
    "check_site",
    "check_sites",
    "read_sites",
    "read_plan_near",
    "report_dict",
    "conflicts_available",
]

#: identifies the JSON document (bump on an incompatible change)
SCHEMA_ID = "spatialprog.sitecheck/1"

#: the layer kinds a site can be checked as
CHECK_KINDS = ("housing_sites", "industrial_zones", "charging_hubs")

#: verdict key -> (Dutch, English); ``{year}`` is filled in for ``fits_from``
VERDICTS: dict[str, tuple[str, str]] = {
    "fits": ("past", "fits"),
    "fits_from": ("past vanaf {year}", "fits from {year}"),
    "does_not_fit": ("past niet binnen de horizon", "does not fit within the horizon"),
    "outside": ("buiten het gebied: geen onderstation van dit project bedient deze locatie",
                "outside the region: no substation of this project serves this site"),
    "after_horizon": ("na de horizon: de locatie vraagt binnen de horizon geen vermogen",
                      "beyond the horizon: the site draws no power within the horizon"),
}

KIND_ALIASES = {
    "housing": "housing_sites", "woningbouw": "housing_sites", "woningen": "housing_sites",
    "industrial": "industrial_zones", "business_park": "industrial_zones", "bedrijventerrein": "industrial_zones",
    "charging": "charging_hubs", "laadplein": "charging_hubs",
    **{k: k for k in CHECK_KINDS},
}

# programme keys that reveal the kind of site
_KIND_KEYS = {
    "housing_sites": ("dwellings", "heating", "ev_share", "phasing", "delivery_start_year", "delivery_end_year"),
    "industrial_zones": ("category", "area_ha", "contracted_mw", "jobs"),
    "charging_hubs": ("charge_points", "kw_per_point", "segment"),
}
# kind-neutral programme keys and where they go
_START_COLUMN = {"housing_sites": "delivery_start_year", "industrial_zones": "start_year", "charging_hubs": "year"}
_GENERIC_KEYS = ("id", "name", "start_year", "end_year", "priority_category", "municipality", "kind")

# Dutch and spelling variants users type, per column (values are lower-cased first)
_RECODE: dict[str, dict[str, str]] = {
    "heating": {"hybride": "hybrid", "warmtenet": "heat_network", "all-electric": "all_electric",
                "all electric": "all_electric", "volledig elektrisch": "all_electric", "aardgas": "gas"},
    "segment": {"personen": "passenger", "vracht": "freight", "personenauto": "passenger"},
    "category": {"logistiek": "logistics", "lichte industrie": "light_industry", "zware industrie": "heavy_industry",
                 "kantoren": "offices", "gemengd": "mixed", "light industry": "light_industry",
                 "heavy industry": "heavy_industry"},
}

_KIND_WORD = {"housing_sites": "housing site", "industrial_zones": "business park", "charging_hubs": "charging hub"}
_DEFAULT_CRS = "EPSG:28992"
_N_ALTERNATIVES = 3
_N_CANDIDATES = 10  # nearest non-serving substations considered as alternatives
_TOUCH_M2 = 0.01


# --------------------------------------------------------------------------------------
# small helpers


def conflicts_available() -> bool:
    """Whether :mod:`spatialprog.conflicts` (the land-claim rules engine) is installed."""
    try:
        return importlib.util.find_spec("spatialprog.conflicts") is not None
    except (ImportError, ValueError):
        return False


def _r(x: float, nd: int = 4) -> float | None:
    """Round for JSON; NaN becomes None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd) + 0.0  # + 0.0: no "-0.0"


def _nl(x: float, nd: int = 2) -> str:
    """A number the Dutch way: decimal comma."""
    return f"{x:.{nd}f}".replace(".", ",")


def _years_text(years: Sequence[int]) -> str:
    """``[2028, 2029, 2031]`` -> ``"2028-2029, 2031"``."""
    out, run = [], []
    for y in years:
        if run and y != run[-1] + 1:
            out.append(run)
            run = []
        run.append(y)
    if run:
        out.append(run)
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in out)


def _site_problem(message: str, fix: str | None = None, feature: str | None = None, fld: str | None = None) -> Problem:
    return Problem("site", message, feature, fld, fix=fix)


# --------------------------------------------------------------------------------------
# reading the site: a file, GeoJSON, WKT or x,y (+ radius), with a programme


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
        raise LayerValidationError([_site_problem("no site given", "give a file, a GeoJSON or WKT text, or x,y")])
    m = _XY_RE.match(t)
    if m:
        x, y = float(m.group(1)), float(m.group(2))
        r = float(m.group(3)) if m.group(3) else None
        return gpd.GeoDataFrame(geometry=[shapely.Point(x, y)]), None, "xy", r
    if t.startswith("{"):
        try:
            obj = json.loads(t)
        except json.JSONDecodeError as e:
            raise LayerValidationError([_site_problem(f"the GeoJSON text cannot be read: {e.msg} at character {e.pos}",
                                                      "check the brackets and quotes, or save it to a file")]) from None
        return _from_geojson(obj), None, "geojson", None
    if _WKT_RE.match(t):
        try:
            g = shapely.from_wkt(re.sub(r"^\s*SRID=\d+;\s*", "", t))
        except shapely.errors.GEOSException as e:
            raise LayerValidationError([_site_problem(f"the WKT text cannot be read: {' '.join(str(e).split())[:120]}",
                                                      "write it like 'POLYGON ((x1 y1, x2 y2, x3 y3, x1 y1))'")]) from None
        srid = re.match(r"^\s*SRID=(\d+);", t)
        return gpd.GeoDataFrame(geometry=[g]), (f"EPSG:{srid.group(1)}" if srid else None), "wkt", None
    p = Path(t).expanduser()
    if p.exists():
        return (*_read_site_file(p, layer=layer), "file", None)
    raise LayerValidationError([_site_problem(
        f"'{t[:60]}' is not a file, a GeoJSON or WKT text, or x,y coordinates",
        "give a path to a GIS file, 'POLYGON ((...))', '{\"type\": \"Polygon\", ...}', or '186150,437150' with --radius")])


def _from_geojson(obj: Any) -> gpd.GeoDataFrame:
    if not isinstance(obj, dict) or "type" not in obj:
        raise LayerValidationError([_site_problem("the GeoJSON text has no 'type'", "give a Feature, FeatureCollection "
                                                  "or geometry object")])
    try:
        if obj["type"] == "FeatureCollection":
            feats = obj.get("features") or []
            if not feats:
                raise LayerValidationError([_site_problem("the GeoJSON FeatureCollection has no features",
                                                          "draw at least one polygon")])
            return gpd.GeoDataFrame.from_features(feats)
        if obj["type"] == "Feature":
            return gpd.GeoDataFrame.from_features([obj])
        return gpd.GeoDataFrame(geometry=[shapely.from_geojson(json.dumps(obj))])
    except (shapely.errors.GEOSException, KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, LayerValidationError):
            raise
        raise LayerValidationError([_site_problem(f"the GeoJSON text is not a valid geometry: "
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
        raise LayerValidationError([_site_problem(f"the file '{path.name}' has no features",
                                                  "draw at least one polygon (or point, for a charging hub) in it")])
    gdf.columns = [c.lower() if c != gdf.geometry.name else c for c in gdf.columns]
    return gdf, gdf.crs


def _infer_kind(kind: str | None, keys: Iterable[str]) -> str:
    if kind:
        k = KIND_ALIASES.get(str(kind).strip().lower())
        if k is None:
            raise LayerValidationError([_site_problem(
                f"unknown kind of site '{kind}'", "use housing, industrial or charging", fld="kind")])
        return k
    keys = set(keys)
    found = [k for k, ks in _KIND_KEYS.items() if keys & set(ks)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LayerValidationError([_site_problem(
            "the programme does not say what is planned",
            "give dwellings and heating (housing), a category or contracted MW (business park), or charge points "
            "and kW per point (charging hub)")])
    raise LayerValidationError([_site_problem(
        f"the programme mixes fields of {' and '.join(found)}",
        "check one kind of site at a time, or say which with kind = housing | industrial | charging")])


def _programme_columns(kind: str, programme: Mapping[str, Any]) -> dict[str, Any]:
    """Map a programme (our field names plus a few generic keys) to the columns of ``kind``."""
    schema = LAYER_KINDS[kind]
    allowed = set(schema.column_names) | set(_GENERIC_KEYS)
    out: dict[str, Any] = {}
    bad = sorted(k for k in programme if k not in allowed)
    if bad:
        raise LayerValidationError([_site_problem(
            f"'{b}' is not a field of {kind}", f"use one of: {', '.join(sorted(allowed - {'kind'}))}", fld=b)
            for b in bad])
    for k, v in programme.items():
        if v is None or k == "kind":
            continue
        if k == "start_year":
            out[_START_COLUMN[kind]] = v
        elif k == "end_year":
            if kind != "housing_sites":
                raise LayerValidationError([_site_problem(f"end_year applies to housing only, not to {kind}",
                                                          "leave it out", fld="end_year")])
            out["delivery_end_year"] = v
        elif k == "priority_category" and "priority_category" not in schema.column_names:
            continue  # kept aside, reported with the check
        else:
            out[k] = v
    return out


def _normalise_text(series: pd.Series, col: str) -> pd.Series:
    rec = _RECODE.get(col, {})

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
    working_crs: str = _DEFAULT_CRS,
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
        ``housing``, ``industrial`` or ``charging``; inferred from the programme.
    layer : str, optional
        The layer in a multi-layer file.
    working_crs : str
    notices : NoticeLog, optional
        Receives repairs (e.g. a self-intersecting outline) and remarks.

    Returns
    -------
    kind : str
        The layer kind (``housing_sites``, ``industrial_zones``, ``charging_hubs``).
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
        raise LayerValidationError([_site_problem(f"cannot use a {type(geometry).__name__} as a site",
                                                  "give a file path, WKT or GeoJSON text, 'x,y', or a shapely geometry")])
    if len(gdf) == 0:
        raise LayerValidationError([_site_problem("the site has no features", "draw at least one polygon")])
    radius_m = radius_m if radius_m is not None else text_radius
    if radius_m is not None and not (radius_m > 0 and math.isfinite(radius_m)):
        raise LayerValidationError([_site_problem(f"the radius must be more than 0 m, got {radius_m:g}",
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
        use_crs = CRS.from_user_input(_DEFAULT_CRS)
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
    file_keys = [c for c in gdf.columns if c != gdf.geometry.name]
    k = _infer_kind(kind or programme.get("kind") or (gdf["kind"].iloc[0] if "kind" in gdf else None),
                    list(programme) + file_keys)
    schema = LAYER_KINDS[k]
    cols = _programme_columns(k, programme)
    attrs = {}
    for c in file_keys:
        if c in schema.column_names:
            attrs[c] = gdf[c]
        elif c == "start_year" and _START_COLUMN[k] not in gdf:
            attrs[_START_COLUMN[k]] = gdf[c]
        elif c == "end_year" and k == "housing_sites":
            attrs["delivery_end_year"] = gdf[c]
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
    for c in ("heating", "segment", "category"):
        if c in data:
            data[c] = _normalise_text(data[c], c)

    # geometry: to the working CRS, circles from points, points for charging hubs
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=use_crs)
    if not use_crs.equals(CRS.from_user_input(working_crs)):
        out = out.to_crs(working_crs)
        notices.add("site", f"reprojected from {use_crs.to_string()} to {working_crs}", level="info")
    g = np.asarray(out.geometry.values)
    is_point = shapely.get_type_id(g) == 0
    polygonal = set(schema.geometry) & {"Polygon", "MultiPolygon"}
    problems: list[Problem] = []
    ids = out["id"].astype(str).tolist()
    if polygonal:
        if radius_m is not None:
            g = np.where(is_point, shapely.buffer(g, radius_m, quad_segs=16), g)
        else:
            for i in np.flatnonzero(is_point):
                problems.append(_site_problem(f"a point has no area, and a {_KIND_WORD[k]} needs one",
                                              "give a radius (--radius 250, or 'x,y,250'), or draw the "
                                              "outline", ids[i], "geometry"))
        area0 = ~shapely.is_empty(g) & (shapely.area(shapely.make_valid(g)) <= 0) & ~is_point
        for i in np.flatnonzero(area0):
            problems.append(_site_problem(f"the outline has no area (a {g[i].geom_type} that encloses nothing)",
                                          "draw a closed polygon, or give x,y with --radius", ids[i], "geometry"))
    elif radius_m is not None:
        notices.add("site", f"a {k} is a point: the radius is not used", level="info")
    if k == "charging_hubs":
        poly = shapely.get_type_id(g) >= 3
        if poly.any():
            g = np.where(poly, shapely.point_on_surface(g), g)
            notices.add("site", "a charging hub is a point: a point inside the outline is used", level="info")
    if problems:
        raise LayerValidationError(problems)
    out = out.set_geometry(gpd.GeoSeries(g, crs=out.crs, index=out.index))

    # the layer's own schema (types, allowed values, bounds, repairs)
    source = LayerSource(path=Path("<site>"), key="site", recode={c: v for c, v in _RECODE.items()
                                                                  if c in schema.column_names})
    # a check the schema cannot make (it allows 0 for existing plans): a new site must add something
    extra: list[Problem] = []
    if k == "housing_sites" and "dwellings" in out:
        dw = pd.to_numeric(out["dwellings"], errors="coerce")
        for fid, n in zip(out["id"], dw, strict=True):
            if n == 0:
                extra.append(_site_problem("0 dwellings: the site adds no demand", "give the number of dwellings "
                                           "(at least 1)", str(fid), "dwellings"))
    try:
        sites = validate_layer(out, schema, working_crs=working_crs, label="site", source=source, notices=notices)
    except LayerValidationError as err:  # report every problem at once
        raise LayerValidationError(err.problems + extra) from None
    if polygonal:
        a = shapely.area(np.asarray(sites.geometry.values))
        for fid, ai in zip(sites["id"], a, strict=True):
            if ai <= 0:
                extra.append(_site_problem("the outline has no area after repair", "draw a closed polygon, or give "
                                           "x,y with --radius", str(fid), "geometry"))
    if extra:
        raise LayerValidationError(extra)
    if priority is not None:
        sites.attrs["priority_category"] = str(priority)
    sites.attrs["form"] = form
    return k, sites


# --------------------------------------------------------------------------------------
# reading only what is near the site


@dataclass
class NearPlan(Plan):
    """A :class:`~spatialprog.pipeline.Plan` read only near some sites.

    Attributes
    ----------
    complete_substations : frozenset of str or None
        Substations whose whole service area (and so every site assigned to
        them) was read; only these can be checked or offered as an
        alternative. ``None`` means the whole plan was read.
    read_bbox : tuple of float or None
        The box the site layers were read with (working CRS).
    """

    complete_substations: frozenset[str] | None = None
    read_bbox: tuple[float, float, float, float] | None = None


def _grow(b: Sequence[float], d: float) -> tuple[float, float, float, float]:
    return (float(b[0]) - d, float(b[1]) - d, float(b[2]) + d, float(b[3]) + d)


def _union_box(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def read_plan_near(
    project: Project | str | Path,
    bounds: Sequence[float],
    *,
    search_radius_m: float | None = None,
) -> NearPlan:
    """Read only the part of a plan that a check of sites within ``bounds`` needs.

    Uses each layer's spatial index through a bbox filter at read time
    (:func:`spatialprog.layers.read_layer` with ``bbox=``):

    1. service areas within ``search_radius_m`` of the sites' box: their
       substations are the ones that can serve the sites or be an alternative;
    2. the box around those service areas (B): every site assigned to those
       substations lies in it, so their baseline load is complete;
    3. service areas, substations, boundaries and every site layer within B.

    Projects without a service-areas layer (Voronoi assignment needs every
    substation) are read in full.

    Parameters
    ----------
    project : Project or path
    bounds : (minx, miny, maxx, maxy)
        Box around the site(s), in the working CRS.
    search_radius_m : float, optional
        How far from the site substations are looked at (alternatives);
        default the project's ``assignment.max_distance_m``.

    Returns
    -------
    NearPlan

    Notes
    -----
    Exact for sites inside service areas. A site outside every service area
    (assigned to the nearest substation) or a heat network whose source lies
    far from its own area counts only when it lies within B.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    if "service_areas" not in project.layers:
        plan = read_plan(project)
        return NearPlan(project=plan.project, layers=plan.layers, notices=plan.notices)
    notices = NoticeLog()
    wcrs = project.crs
    radius = float(search_radius_m if search_radius_m is not None else project.parameters["assignment.max_distance_m"])
    box1 = _grow(bounds, radius)
    sa_src = project.layers["service_areas"]
    near = read_layer(sa_src, "service_areas", working_crs=wcrs, bbox=box1, notices=NoticeLog())
    layers: dict[str, gpd.GeoDataFrame] = {}
    if len(near) == 0:
        subs = read_layer(project.layers["substations"], "substations", working_crs=wcrs, bbox=box1, notices=notices)
        layers = {"substations": subs.iloc[0:0], "service_areas": near}
        return NearPlan(project=project, layers=layers, notices=notices, complete_substations=frozenset(),
                        read_bbox=box1)
    serving = set(near["substation_id"])
    box2 = _union_box(box1, tuple(near.total_bounds))
    areas = read_layer(sa_src, "service_areas", working_crs=wcrs, bbox=box2, notices=notices)
    box3 = _union_box(box2, tuple(areas.total_bounds))
    subs = read_layer(project.layers["substations"], "substations", working_crs=wcrs, bbox=box3, notices=notices)
    known = set(subs["id"])
    missing = ~areas["substation_id"].isin(known)
    if missing.any():  # an area whose substation point lies outside the box: drop it (never one of `serving`)
        areas = areas[~missing].reset_index(drop=True)
    layers = {"substations": subs, "service_areas": areas}
    for kind in SITE_KINDS:  # boundaries are not needed: the region only matters for Voronoi areas
        src = project.layers.get(kind)
        if src is not None:
            layers[kind] = read_layer(src, kind, working_crs=wcrs, bbox=box2, notices=notices)
    complete = frozenset(s for s in serving if s in known)
    return NearPlan(project=project, layers=layers, notices=notices, complete_substations=complete, read_bbox=box2)


# --------------------------------------------------------------------------------------
# the baseline: capacity and load per substation, year and variant, as arrays


@dataclass
class Baseline:
    """The computed run, arranged for fast repeated checks.

    Attributes
    ----------
    project : Project
    years : ndarray of int
    variants : list of str
    substations : GeoDataFrame
        Every substation read (``id``, ``name``, geometry), RangeIndex.
    service_areas : GeoDataFrame
    method : str
        The assignment method of the run.
    checkable : ndarray of bool
        Per substation: its baseline load is complete (always true for a
        full plan).
    capacity_mw, load_mw : dict of str -> ndarray, shape (n_substations, n_years)
        Offtake capacity and baseline load per variant.
    reinforcements : DataFrame
    layers : dict of str -> GeoDataFrame
        The plan's layers (heat networks shape the site's own demand; site
        layers are checked for overlaps and conflicts).
    """

    project: Project
    years: np.ndarray
    variants: list[str]
    substations: gpd.GeoDataFrame
    service_areas: gpd.GeoDataFrame
    method: str
    checkable: np.ndarray
    capacity_mw: dict[str, np.ndarray]
    load_mw: dict[str, np.ndarray]
    reinforcements: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    notices: NoticeLog = field(default_factory=NoticeLog)
    classes: pd.DataFrame = field(default_factory=load_status_classes)
    read_bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        self.pos = {s: i for i, s in enumerate(self.substations["id"])}
        pts = np.asarray(self.substations.geometry.values)
        self.sub_xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]) if len(pts) else np.zeros((0, 2))
        self.names = (self.substations["name"].fillna("").astype(str).to_numpy() if "name" in self.substations
                      else np.full(len(self.substations), "", dtype=object))
        self.area_geom = {}
        if len(self.service_areas):
            for sid, grp in self.service_areas.groupby(F.SUBSTATION_ID, sort=False):
                self.area_geom[sid] = shapely.union_all(np.asarray(grp.geometry.values))
        self._trees: dict[str, shapely.STRtree] = {}

    @classmethod
    def from_result(cls, result: RunResult, *, variants: Sequence[str] | None = None) -> Baseline:
        """Arrange a :class:`~spatialprog.pipeline.RunResult` for checks (a pivot of its headroom table)."""
        plan = result.plan
        project = plan.project
        names = list(variants or result.variants)
        have = set(result.headroom[F.VARIANT].unique()) if len(result.headroom) else set()
        unknown = [v for v in names if v not in project.variants]
        if unknown:
            raise ProjectError(f"variant '{unknown[0]}' is not in the project - known: {', '.join(project.variants)}")
        not_run = [v for v in names if v not in have]
        if not_run:
            raise ProjectError(f"variant '{not_run[0]}' was not computed in this run - compute it, or leave it out")
        subs = plan.layers["substations"].reset_index(drop=True)
        years = np.asarray(project.years, dtype=int)
        h = result.headroom[result.headroom[F.DIRECTION] == F.OFFTAKE]
        cap: dict[str, np.ndarray] = {}
        load: dict[str, np.ndarray] = {}
        for v in names:
            hv = h[h[F.VARIANT] == v]
            cap[v] = (hv.pivot(index=F.SUBSTATION_ID, columns=F.YEAR, values=F.CAPACITY_MW)
                      .reindex(index=subs["id"], columns=years).to_numpy(dtype=float))
            load[v] = (hv.pivot(index=F.SUBSTATION_ID, columns=F.YEAR, values=F.LOAD_MW)
                       .reindex(index=subs["id"], columns=years).to_numpy(dtype=float))
        complete = getattr(plan, "complete_substations", None)
        checkable = (np.ones(len(subs), dtype=bool) if complete is None
                     else subs["id"].isin(complete).to_numpy())
        return cls(project=project, years=years, variants=names, substations=subs,
                   service_areas=result.service_areas.reset_index(drop=True), method=result.assignment_method,
                   checkable=checkable, capacity_mw=cap, load_mw=load, reinforcements=result.reinforcements,
                   layers=plan.layers, notices=result.notices, read_bbox=getattr(plan, "read_bbox", None))

    @classmethod
    def empty(cls, project: Project, *, variants: Sequence[str] | None = None,
              read_bbox: tuple[float, float, float, float] | None = None) -> Baseline:
        """A baseline without substations: every site is outside the region."""
        names = list(variants or project.variants)
        ny = len(project.years)
        e = gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=project.crs)
        return cls(project=project, years=np.asarray(project.years, dtype=int), variants=names, substations=e,
                   service_areas=gpd.GeoDataFrame({"id": [], F.SUBSTATION_ID: []}, geometry=[], crs=project.crs),
                   method="service_areas", checkable=np.zeros(0, dtype=bool),
                   capacity_mw={v: np.zeros((0, ny)) for v in names}, load_mw={v: np.zeros((0, ny)) for v in names},
                   reinforcements=pd.DataFrame(columns=[F.SUBSTATION_ID, F.YEAR, F.REINFORCEMENT_MVA, "source"]),
                   layers={}, read_bbox=read_bbox)

    def params(self, variant: str) -> ParameterSet:
        return self.project.variants[variant]

    def tree(self, kind: str) -> shapely.STRtree | None:
        """An STRtree over a site layer (built once)."""
        df = self.layers.get(kind)
        if df is None or len(df) == 0:
            return None
        if kind not in self._trees:
            self._trees[kind] = shapely.STRtree(np.asarray(df.geometry.values))
        return self._trees[kind]


def _as_baseline(obj: Any, *, variants: Sequence[str] | None, near: gpd.GeoDataFrame | None = None,
                 search_radius_m: float | None = None) -> Baseline:
    if isinstance(obj, Baseline):
        if variants:
            missing = [v for v in variants if v not in obj.variants]
            if missing:
                raise ProjectError(f"variant '{missing[0]}' is not in this baseline - known: {', '.join(obj.variants)}")
            if list(variants) != obj.variants:
                return replace(obj, variants=list(variants),
                               capacity_mw={v: obj.capacity_mw[v] for v in variants},
                               load_mw={v: obj.load_mw[v] for v in variants})
        return obj
    if isinstance(obj, RunResult):
        return Baseline.from_result(obj, variants=variants)
    if isinstance(obj, Plan):
        if "substations" in obj.layers and len(obj.layers["substations"]) == 0:
            return Baseline.empty(obj.project, variants=variants, read_bbox=getattr(obj, "read_bbox", None))
        return Baseline.from_result(compute(obj, variants=list(variants) if variants else None), variants=variants)
    if isinstance(obj, Project | str | Path):
        if near is None:
            raise ProjectError("a project path needs the site to read near it")
        plan = read_plan_near(obj, tuple(near.total_bounds), search_radius_m=search_radius_m)
        return _as_baseline(plan, variants=variants)
    raise TypeError(f"expected a RunResult, Plan, Baseline or project path, got {type(obj).__name__}")


# --------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class Verdict:
    """The answer for one variant, in words.

    Attributes
    ----------
    key : {"fits", "fits_from", "does_not_fit", "outside", "after_horizon"}
    year : int or None
        For ``fits_from``: the first year from which it fits through the horizon.
    nl, en : str
        ``"past vanaf 2030"`` / ``"fits from 2030"``.
    variant : str
    """

    key: str
    year: int | None
    nl: str
    en: str
    variant: str

    @classmethod
    def make(cls, key: str, year: int | None, variant: str) -> Verdict:
        nl, en = VERDICTS[key]
        return cls(key, year, nl.format(year=year), en.format(year=year), variant)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "year": self.year, "nl": self.nl, "en": self.en, "variant": self.variant}


@dataclass
class SiteCheck:
    """The full answer for one site: the same content as one entry of the JSON ``sites`` list.

    Attributes
    ----------
    site : dict
        id, name, layer, programme (validated fields), area, centroid, order.
    serving : list of dict
        ``substation_id, name, share, method, dist_m`` per serving substation.
    unassigned_share : float
        Share of the site no substation serves (1.0 outside the region).
    verdict : Verdict
        Of the first variant checked (the base variant unless chosen otherwise).
    variants : dict of str -> dict
        Per variant: ``verdict``, ``first_fit_year``, ``max_short_mw``,
        ``short_years`` and ``years`` (one dict per horizon year).
    reinforcements : list of dict
        Planned reinforcements of the serving substations.
    conflicts : dict
        ``available`` (bool), ``message`` and ``items``.
    overlaps : list of dict
        Existing plans and other candidate sites the site overlaps.
    sees : list of str
        Ids of earlier sites (batch or what-if order) that load the same substations.
    notices : list of str
    assumptions : list of dict
        The parameters that made the site's demand, with unit and source.
    summary_nl, summary_en : str
        The answer in one paragraph.
    geometry : shapely geometry
        The site in the working CRS.
    project : dict
    map_layers : dict
        For the map: ``areas`` (substation id -> service area) and
        ``substations`` ((id, name, point) of serving and alternative ones).
    """

    site: dict[str, Any]
    serving: list[dict[str, Any]]
    unassigned_share: float
    verdict: Verdict
    variants: dict[str, dict[str, Any]]
    reinforcements: list[dict[str, Any]]
    conflicts: dict[str, Any]
    overlaps: list[dict[str, Any]]
    sees: list[str]
    notices: list[str]
    assumptions: list[dict[str, Any]]
    summary_nl: str
    summary_en: str
    geometry: Any
    project: dict[str, Any]
    map_layers: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def fits(self) -> bool:
        """True when the headline verdict is ``fits``."""
        return self.verdict.key == "fits"

    @property
    def first_fit_year(self) -> int | None:
        """First year from which the site fits through the horizon (headline variant)."""
        return self.variants[self.verdict.variant]["first_fit_year"]

    def to_dict(self) -> dict[str, Any]:
        """This site's entry of the JSON document (see :data:`JSON_SCHEMA`)."""
        return {
            "site": self.site,
            "verdict": self.verdict.to_dict(),
            "summary_nl": self.summary_nl,
            "summary_en": self.summary_en,
            "serving": self.serving,
            "unassigned_share": self.unassigned_share,
            "variants": self.variants,
            "reinforcements": self.reinforcements,
            "conflicts": self.conflicts,
            "overlaps": self.overlaps,
            "sees": self.sees,
            "notices": self.notices,
            "assumptions": self.assumptions,
        }

    def to_json(self, **kw: Any) -> str:
        """The JSON document for this one site."""
        return json.dumps(report_dict([self]), ensure_ascii=False, **({"indent": 2} | kw))

    def table(self, variant: str | None = None) -> pd.DataFrame:
        """Per year: site MW, headroom before/after per serving substation, fits, MW short.

        Examples
        --------
        >>> from spatialprog.pipeline import compute, read_plan
        >>> c = check_site(compute(read_plan("layers/example_region.toml")), "186150,437150,150",
        ...                {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027})
        >>> row = c.table().set_index("year").loc[2028]
        >>> bool(row["fits"]), float(row["short_mw"])
        (False, 0.5152)
        """
        v = variant or self.verdict.variant
        rows = []
        for y in self.variants[v]["years"]:
            r = {"year": y["year"], "site_mw": y["site_mw"], "fits": y["fits"], "short_mw": y["short_mw"]}
            for s in y["substations"]:
                r[f"{s['substation_id']} before"] = s["headroom_before_mw"]
                r[f"{s['substation_id']} after"] = s["headroom_after_mw"]
            rows.append(r)
        return pd.DataFrame(rows)


def _project_info(project: Project, baseline: Baseline) -> dict[str, Any]:
    return {
        "name": project.name,
        "path": str(project.path) if project.path else None,
        "crs": project.crs,
        "base_year": project.base_year,
        "horizon": [int(project.years[0]), int(project.years[-1])],
        "fictional": bool(project.fictional),
        "variants": list(baseline.variants),
        "variant_descriptions": {v: project.variant_descriptions.get(v, "") for v in baseline.variants},
        "assignment_method": baseline.method,
        "read_bbox": [round(v, 1) for v in baseline.read_bbox] if baseline.read_bbox else None,
    }


def report_dict(checks: Sequence[SiteCheck]) -> dict[str, Any]:
    """The JSON document for checked sites (in their order); see :data:`JSON_SCHEMA`."""
    project = checks[0].project if checks else {}
    return {
        "schema": SCHEMA_ID,
        "generator": f"spatialprog {__version__}",
        "project": project,
        "direction": F.OFFTAKE,
        "conflict_check": bool(checks[0].conflicts["available"]) if checks else conflicts_available(),
        "order": [c.site["id"] for c in checks],
        "sites": [c.to_dict() for c in checks],
    }


# --------------------------------------------------------------------------------------
# the computation


@dataclass
class _Entry:
    """One site in a session: its demand split over substations, per variant."""

    sid: str
    kind: str
    frame: gpd.GeoDataFrame  # 1 row, validated
    order: int
    rid: int
    assignment: pd.DataFrame
    sub_idx: np.ndarray  # serving substations (positions in the baseline)
    alloc: dict[str, np.ndarray]  # variant -> (len(sub_idx), n_years) MW
    total: dict[str, np.ndarray]  # variant -> (n_years,) MW of the whole site
    footprint: tuple[float, float, float, float]
    notices: list[str]

    @property
    def geometry(self):
        return self.frame.geometry.iloc[0]


def _demand(kind: str, frame: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int],
            layers: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    if kind == "housing_sites":
        return housing_demand(frame, params, years, heat_networks=layers.get("heat_networks"))
    if kind == "industrial_zones":
        return industrial_demand(frame, params, years)
    return charging_demand(frame, params, years)


def _make_entry(base: Baseline, kind: str, frame: gpd.GeoDataFrame, order: int, rid: int) -> _Entry:
    log = NoticeLog()
    years = base.years
    sid = str(frame["id"].iloc[0])
    points = demand_points({kind: frame}, notices=log)
    if len(base.substations):
        outside = base.project.assignment.outside
        asg = assign_sites(points, base.substations, base.service_areas, method=base.method,
                           max_distance_m=float(base.params(BASE_VARIANT if BASE_VARIANT in base.project.variants
                                                            else base.variants[0])["assignment.max_distance_m"]),
                           outside=outside, notices=log)
    else:
        asg = pd.DataFrame({F.LAYER: [kind], F.SITE_ID: [sid], F.SUBSTATION_ID: [None], F.SHARE: [1.0],
                            F.METHOD: ["unassigned"], F.DIST_M: [np.nan]})
    served = asg[asg[F.SUBSTATION_ID].notna()]
    sub_idx = np.array([base.pos[s] for s in served[F.SUBSTATION_ID]], dtype=int)
    # the split is extensive: each serving substation gets its share of every year's MW (as network.allocate)
    shares = served[F.SHARE].to_numpy(dtype=float)
    alloc: dict[str, np.ndarray] = {}
    total: dict[str, np.ndarray] = {}
    for v in base.variants:
        d = _demand(kind, frame, base.params(v), list(years), base.layers)
        total[v] = d.groupby(F.YEAR)[F.OFFTAKE_MW].sum().reindex(years, fill_value=0.0).to_numpy(dtype=float)
        alloc[v] = shares[:, None] * total[v][None, :]
    geom = frame.geometry.iloc[0]
    b = shapely.bounds(geom)
    if len(sub_idx):
        xy = base.sub_xy[sub_idx]
        b = (min(b[0], xy[:, 0].min()), min(b[1], xy[:, 1].min()), max(b[2], xy[:, 0].max()), max(b[3], xy[:, 1].max()))
    msgs = [f"{n.message}" + (f" - {n.fix}" if n.fix else "") for n in log if n.level == "warning"]
    return _Entry(sid=sid, kind=kind, frame=frame, order=order, rid=rid, assignment=asg, sub_idx=sub_idx,
                  alloc=alloc, total=total, footprint=tuple(float(x) for x in b), notices=msgs)


def _assumptions(kind: str, frame: gpd.GeoDataFrame, params: ParameterSet) -> list[dict[str, Any]]:
    keys: list[str] = []
    row = frame.iloc[0]
    if kind == "housing_sites":
        keys = [f"demand.dwelling_kw.{row['heating']}", "demand.ev_kw_per_ev"]
        if "ev_share" not in frame or pd.isna(row.get("ev_share")):
            keys.append("demand.ev_share_default")
        keys += ["housing.delay_years", "housing.delivery_share"]
    elif kind == "industrial_zones":
        if "contracted_mw" not in frame or pd.isna(row.get("contracted_mw")):
            keys = [f"demand.business_park_mw_per_ha.{row['category']}", "demand.business_park_rampup_years"]
    else:
        keys = [f"demand.charging_simultaneity.{row['segment']}"]
    keys += ["growth.offtake_pct_per_year", "grid.power_factor"]
    out = []
    for k in keys:
        try:
            p = params.describe(k)
        except KeyError:
            continue
        out.append({"key": k, "value": p.value, "unit": p.unit, "source": p.source, "origin": p.origin})
    return out


class WhatIf:
    """An interactive what-if session: add, move and remove sites; re-check instantly.

    The baseline is computed once. Every added site keeps its own demand split
    over its substations; an insertable ``rtree`` index holds each site's grid
    footprint (its outline plus the substations serving it), so a check finds
    the earlier sites loading the same substations, and the candidate sites it
    overlaps, without a rebuild. Each site sees the demand of the sites added
    before it (their order is kept when a site moves).

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline
    variants : list of str, optional
        Default: every variant of the run.

    Examples
    --------
    >>> from spatialprog.pipeline import compute, read_plan
    >>> w = WhatIf(compute(read_plan("layers/example_region.toml")))
    >>> a = w.add("173000,433000,200", {"dwellings": 300, "heating": "all_electric", "ev_share": 0.5,
    ...                                 "start_year": 2030}, site_id="P")
    >>> b = w.add("175000,434500,200", {"dwellings": 300, "heating": "all_electric", "ev_share": 0.5,
    ...                                 "start_year": 2030}, site_id="Q")
    >>> [w.check(s).verdict.en for s in w.sites]
    ['fits', 'does not fit within the horizon']
    >>> w.remove("P")
    >>> w.check("Q").verdict.en
    'fits'
    """

    def __init__(self, plan_or_result: RunResult | Plan | Baseline, *, variants: Sequence[str] | None = None):
        from rtree import index

        self.baseline = _as_baseline(plan_or_result, variants=variants)
        self._index = index.Index(interleaved=True)
        self._entries: dict[str, _Entry] = {}
        self._by_rid: dict[int, _Entry] = {}
        self._next_rid = 0
        self._next_order = 0
        self._input_notices: dict[str, list[str]] = {}

    # ---- bookkeeping
    @property
    def sites(self) -> list[str]:
        """Ids of the sites in the session, in check order."""
        return [e.sid for e in sorted(self._entries.values(), key=lambda e: e.order)]

    def __len__(self) -> int:
        return len(self._entries)

    def _insert(self, e: _Entry) -> None:
        self._entries[e.sid] = e
        self._by_rid[e.rid] = e
        self._index.insert(e.rid, e.footprint)

    def _delete(self, e: _Entry) -> None:
        self._index.delete(e.rid, e.footprint)
        del self._by_rid[e.rid]
        del self._entries[e.sid]

    def _read(self, geometry: Any, programme: Mapping[str, Any] | None, *, crs: str | None, radius_m: float | None,
              kind: str | None, site_id: str | None) -> tuple[str, gpd.GeoDataFrame, list[str]]:
        log = NoticeLog()
        prog = dict(programme or {})
        if site_id is not None:
            prog["id"] = site_id
        k, frame = read_sites(geometry, prog, crs=crs, radius_m=radius_m, kind=kind,
                              working_crs=self.baseline.project.crs, notices=log)
        return k, frame, [str(n) for n in log]

    def add(self, geometry: Any, programme: Mapping[str, Any] | None = None, *, crs: str | None = None,
            radius_m: float | None = None, kind: str | None = None, site_id: str | None = None) -> str | list[str]:
        """Add one site (or every feature of a file); return its id (or their ids).

        Parameters are those of :func:`read_sites`; ``site_id`` names the site.

        Raises
        ------
        LayerValidationError
            For an invalid site, or an id already in the session.
        """
        k, frame, msgs = self._read(geometry, programme, crs=crs, radius_m=radius_m, kind=kind, site_id=site_id)
        ids = self.add_frame(k, frame, notices=msgs)
        return ids[0] if len(ids) == 1 else ids

    def add_frame(self, kind: str, frame: gpd.GeoDataFrame, *, notices: Sequence[str] = ()) -> list[str]:
        """Add the features of a validated site layer (from :func:`read_sites`), in their order."""
        dup = [str(i) for i in frame["id"] if str(i) in self._entries]
        if dup:
            raise LayerValidationError([_site_problem(f"id '{d}' is already in the session", "give another id, or "
                                                      "move/remove the existing site", d, "id") for d in dup])
        ids = []
        for i in range(len(frame)):
            row = frame.iloc[[i]].reset_index(drop=True)
            row.attrs = dict(frame.attrs)
            e = _make_entry(self.baseline, kind, row, self._next_order, self._next_rid)
            self._next_order += 1
            self._next_rid += 1
            self._insert(e)
            self._input_notices[e.sid] = list(notices)
            ids.append(e.sid)
        return ids

    def move(self, site_id: str, geometry: Any, *, crs: str | None = None, radius_m: float | None = None) -> None:
        """Move a site to a new outline; its programme and its place in the order stay."""
        e = self._get(site_id)
        prog = {c: e.frame[c].iloc[0] for c in e.frame.columns if c != "geometry" and pd.notna(e.frame[c].iloc[0])}
        if e.frame.attrs.get("priority_category"):
            prog["priority_category"] = e.frame.attrs["priority_category"]
        k, frame, msgs = self._read(geometry, prog, crs=crs, radius_m=radius_m, kind=e.kind, site_id=site_id)
        if len(frame) != 1:
            raise LayerValidationError([_site_problem("a site moves to one outline, not several",
                                                      "give one geometry", site_id, "geometry")])
        new = _make_entry(self.baseline, k, frame, e.order, e.rid)
        self._delete(e)
        self._insert(new)
        self._input_notices[site_id] = msgs

    def remove(self, site_id: str) -> None:
        """Remove a site; later sites no longer see its demand."""
        self._delete(self._get(site_id))
        self._input_notices.pop(site_id, None)

    def _get(self, site_id: str) -> _Entry:
        try:
            return self._entries[site_id]
        except KeyError:
            raise LayerValidationError([_site_problem(f"no site '{site_id}' in the session",
                                                      f"use one of: {', '.join(self.sites) or '(none yet)'}",
                                                      site_id, "id")]) from None

    def nearby(self, bounds: Sequence[float]) -> list[str]:
        """Ids of session sites whose grid footprint meets ``bounds`` (an rtree query)."""
        return [self._by_rid[r].sid for r in sorted(self._index.intersection(tuple(bounds)))]

    # ---- checks
    def check(self, site_id: str) -> SiteCheck:
        """Check one site of the session, seeing the demand of the sites before it."""
        e = self._get(site_id)
        return _evaluate(self, e, self._input_notices.get(site_id, []))

    def check_all(self) -> list[SiteCheck]:
        """Check every site in order; each sees the demand of the ones before it."""
        return [self.check(s) for s in self.sites]

    def check_new(self, geometry: Any, programme: Mapping[str, Any] | None = None, *, crs: str | None = None,
                  radius_m: float | None = None, kind: str | None = None, site_id: str | None = None) -> SiteCheck:
        """Check a site on top of every site in the session, without adding it."""
        k, frame, msgs = self._read(geometry, programme, crs=crs, radius_m=radius_m, kind=kind, site_id=site_id)
        if len(frame) != 1:
            raise LayerValidationError([_site_problem(f"{len(frame)} features given; check_new takes one",
                                                      "add them with add(), then check_all()")])
        e = _make_entry(self.baseline, k, frame, self._next_order, -1)
        return _evaluate(self, e, msgs)

    def prior_load(self, e: _Entry, sub_idx: np.ndarray) -> tuple[dict[str, np.ndarray], list[str]]:
        """MW that earlier session sites put on each of ``sub_idx``, per variant and year."""
        base = self.baseline
        out = {v: np.zeros((len(sub_idx), len(base.years))) for v in base.variants}
        if not len(sub_idx) or not len(self._entries):
            return out, []
        local = {int(s): k for k, s in enumerate(sub_idx)}
        cand: set[int] = set()
        for x, y in base.sub_xy[sub_idx]:
            cand.update(self._index.intersection((x, y, x, y)))
        seen = []
        for rid in sorted(cand):
            o = self._by_rid.get(rid)
            if o is None or o.sid == e.sid or o.order >= e.order:
                continue
            hit = False
            for j, s in enumerate(o.sub_idx):
                k = local.get(int(s))
                if k is None:
                    continue
                for v in base.variants:
                    out[v][k] += o.alloc[v][j]
                hit = hit or (k < len(e.sub_idx))
            if hit:
                seen.append(o)
        return out, [o.sid for o in sorted(seen, key=lambda o: o.order)]

    def overlapping(self, e: _Entry) -> list[dict[str, Any]]:
        """Other session sites whose outline shares area with ``e``'s."""
        g = e.geometry
        out = []
        for rid in sorted(self._index.intersection(shapely.bounds(g).tolist())):
            o = self._by_rid.get(rid)
            if o is None or o.sid == e.sid:
                continue
            a = shapely.area(shapely.intersection(g, o.geometry))
            if a > _TOUCH_M2:
                out.append({"layer": "candidate", "id": o.sid, "name": _name(o.frame), "area_m2": _r(a, 1),
                            "share_of_site": _r(a / max(shapely.area(g), 1e-9), 4)})
        return out


def _name(frame: gpd.GeoDataFrame) -> str | None:
    if "name" in frame and pd.notna(frame["name"].iloc[0]):
        return str(frame["name"].iloc[0])
    return None


def _overlaps_existing(base: Baseline, e: _Entry) -> list[dict[str, Any]]:
    g = e.geometry
    if shapely.area(g) <= 0:
        return []
    out = []
    for kind in ("housing_sites", "industrial_zones", "heat_networks", "generation"):
        tree = base.tree(kind)
        if tree is None:
            continue
        df = base.layers[kind]
        idx = tree.query(g, predicate="intersects")
        if not len(idx):
            continue
        geoms = np.asarray(df.geometry.values)[idx]
        a = shapely.area(shapely.intersection(g, geoms))
        for i, ai in zip(idx, a, strict=True):
            if ai > _TOUCH_M2:
                out.append({"layer": kind, "id": str(df["id"].iloc[i]),
                            "name": str(df["name"].iloc[i]) if "name" in df and pd.notna(df["name"].iloc[i]) else None,
                            "area_m2": _r(ai, 1), "share_of_site": _r(ai / shapely.area(g), 4)})
    return out


def _conflicts(base: Baseline, e: _Entry) -> dict[str, Any]:
    """Land-claim conflicts the site creates, via :mod:`spatialprog.conflicts` when installed."""
    if not conflicts_available():
        return {"available": False, "message": "conflict check not available (spatialprog.conflicts is not "
                "installed)", "items": []}
    from . import conflicts as C  # guarded: another module's engine and rules table

    try:
        rules = C.load_rules()
        margin = float(C.constraint_margin_m(rules))
        box = _grow(shapely.bounds(e.geometry), margin)
        new_id = f"{e.sid}"
        layers: dict[str, gpd.GeoDataFrame] = {}
        wanted = {r.layer_a for r in rules.enabled} | {r.layer_b for r in rules.enabled}
        for kind, df in base.layers.items():
            if kind not in wanted or df is None:
                continue
            near = df.iloc[df.sindex.query(shapely.box(*box), predicate="intersects")] if len(df) else df
            near = near.copy()
            if kind == "substations":
                cap = (near["n_transformers"].astype(float) * near["transformer_mva"].astype(float)
                       if {"n_transformers", "transformer_mva"} <= set(near.columns) else pd.Series(np.nan, index=near.index))
                if "installed_mva" in near:
                    cap = cap.fillna(near["installed_mva"].astype(float))
                near["capacity_mva"] = cap
            layers[kind] = near
        mine = e.frame[["id", "geometry"]].copy()
        existing = layers.get(e.kind)
        if existing is not None and (existing["id"].astype(str) == new_id).any():
            new_id = f"{e.sid} (new)"
            mine["id"] = new_id
        layers[e.kind] = (pd.concat([existing, mine], ignore_index=True) if existing is not None and len(existing)
                          else mine.reset_index(drop=True))
        res = C.compute_conflicts(layers, rules, crs=base.project.crs, threads=1)
    except (ProjectError, LayerValidationError, CRSError, LayerReadError) as err:
        return {"available": True, "message": f"conflict check failed: {err}", "items": []}
    except Exception as err:  # the conflicts engine is another module's: say so, do not crash the check
        from .errors import SpatialprogError

        if isinstance(err, SpatialprogError):
            return {"available": True, "message": f"conflict check failed: {err}", "items": []}
        raise
    c = res.conflicts
    mine_a = (c["layer_a"] == e.kind) & (c["id_a"].astype(str) == new_id)
    mine_b = (c["layer_b"] == e.kind) & (c["id_b"].astype(str) == new_id)
    items = []
    for r in c[mine_a | mine_b].itertuples(index=False):
        other_is_b = r.layer_a == e.kind and str(r.id_a) == new_id
        items.append({
            "rule_id": r.rule_id, "kind": r.kind, "severity": r.severity, "description_nl": r.description_nl,
            "other_layer": r.layer_b if other_is_b else r.layer_a,
            "other_id": str(r.id_b if other_is_b else r.id_a),
            "area_m2": _r(r.area_m2, 1), "dist_m": _r(r.dist_m, 1),
        })
    items.sort(key=lambda d: (-C.SEVERITY_RANK.get(d["severity"], 0), d["rule_id"], d["other_id"]))
    n = len(items)
    return {"available": True, "message": f"{n} conflict{'s' if n != 1 else ''} with the land-claim rules",
            "items": items}


def _evaluate(session: WhatIf, e: _Entry, input_notices: Sequence[str]) -> SiteCheck:
    base = session.baseline
    years = base.years
    ny = len(years)
    serving = e.sub_idx
    ns = len(serving)
    geom = e.geometry
    # candidates for alternatives: the nearest checkable substations not serving the site
    if len(base.substations):
        dist = shapely.distance(geom, np.asarray(base.substations.geometry.values))
        cand_mask = base.checkable.copy()
        cand_mask[serving] = False
        cand = np.flatnonzero(cand_mask)
        cand = cand[np.lexsort((base.substations["id"].to_numpy()[cand], dist[cand]))][:_N_CANDIDATES]
    else:
        dist = np.zeros(0)
        cand = np.zeros(0, dtype=int)
    involved = np.concatenate([serving, cand]).astype(int)
    prior, sees = session.prior_load(e, involved)

    notices = list(input_notices) + list(e.notices)
    served = e.assignment[e.assignment[F.SUBSTATION_ID].notna()]
    unassigned = float(1.0 - served[F.SHARE].sum()) if len(served) else 1.0
    unassigned = 0.0 if abs(unassigned) < 1e-9 else unassigned
    incomplete = [base.substations["id"].iat[s] for s in serving if not base.checkable[s]]
    if incomplete:
        notices.append(f"the baseline load of {', '.join(incomplete)} may be incomplete (only part of its service "
                       "area was read) - widen --search-radius")
    serving_info = []
    for k, row in enumerate(served.itertuples(index=False)):
        s = serving[k]
        serving_info.append({"substation_id": row.substation_id, "name": base.names[s] or None,
                             "share": _r(row.share, 6), "method": row.method,
                             "dist_m": _r(float(dist[s]), 1)})

    variants: dict[str, dict[str, Any]] = {}
    for v in base.variants:
        cap = base.capacity_mw[v]
        load = base.load_mw[v]
        site_total = e.total[v]
        site_alloc = e.alloc[v]  # (ns, ny)
        before = cap[serving] - load[serving] - prior[v][:ns]
        after = before - site_alloc
        demand_years = site_total > 0
        ok_sub = after >= SHORTFALL_AT_MW
        fits = ~demand_years | (ok_sub.all(axis=0) if ns else np.zeros(ny, dtype=bool))
        short = np.clip(-after, 0.0, None).sum(axis=0) if ns else np.zeros(ny)
        site_short = np.minimum(site_alloc, np.clip(-after, 0.0, None)).sum(axis=0) if ns else np.zeros(ny)
        st_before = classify_status(before, cap[serving], base.classes) if ns else np.zeros((0, ny), dtype=object)
        st_after = classify_status(after, cap[serving], base.classes) if ns else np.zeros((0, ny), dtype=object)
        # verdict
        first_fit = None
        if ns == 0:
            key, vyear = "outside", None
        elif not demand_years.any():
            key, vyear = "after_horizon", None
        elif fits.all():
            key, vyear = "fits", None
            first_fit = int(years[np.argmax(demand_years)])
        elif fits[-1]:
            bad = np.flatnonzero(~fits)
            vyear = int(years[bad[-1] + 1])
            key, first_fit = "fits_from", vyear
        else:
            key, vyear = "does_not_fit", None
        # alternatives per year: nearest other substations with room for the whole site
        alt_before = cap[cand] - load[cand] - prior[v][ns:] if len(cand) else np.zeros((0, ny))
        rows = []
        for j, y in enumerate(years):
            alts = []
            if demand_years[j] and len(cand):
                room = alt_before[:, j] - site_total[j]
                for c_k in np.flatnonzero(room >= SHORTFALL_AT_MW)[:_N_ALTERNATIVES]:
                    s = cand[c_k]
                    alts.append({"substation_id": str(base.substations["id"].iat[s]), "name": base.names[s] or None,
                                 "distance_m": _r(float(dist[s]), 0), "headroom_mw": _r(alt_before[c_k, j]),
                                 "headroom_after_mw": _r(room[c_k])})
            rows.append({
                "year": int(y),
                "site_mw": _r(site_total[j]),
                "fits": bool(fits[j]),
                "short_mw": _r(short[j] if demand_years[j] else 0.0),
                "site_short_mw": _r(site_short[j]),
                "substations": [
                    {"substation_id": serving_info[k]["substation_id"], "share": serving_info[k]["share"],
                     "site_mw": _r(site_alloc[k, j]), "capacity_mw": _r(cap[serving[k], j]),
                     "load_before_mw": _r(load[serving[k], j] + prior[v][k, j]),
                     "earlier_sites_mw": _r(prior[v][k, j]),
                     "headroom_before_mw": _r(before[k, j]), "headroom_after_mw": _r(after[k, j]),
                     "status_before": str(st_before[k, j]), "status_after": str(st_after[k, j])}
                    for k in range(ns)
                ],
                "alternatives": alts,
            })
        bad_years = [int(y) for y, f, d in zip(years, fits, demand_years, strict=True) if d and not f] if ns else []
        variants[v] = {
            "verdict": Verdict.make(key, vyear, v).to_dict(),
            "first_fit_year": first_fit,
            "short_years": bad_years,
            "max_short_mw": _r(max((short[j] for j in range(ny) if demand_years[j] and not fits[j]), default=0.0)),
            "site_mw_end": _r(site_total[-1]),
            "min_headroom_after_mw": _r(float(after[:, demand_years].min()) if ns and demand_years.any() else np.nan),
            "years": rows,
        }
    head_v = base.variants[0]
    hv = variants[head_v]["verdict"]
    verdict = Verdict(hv["key"], hv["year"], hv["nl"], hv["en"], head_v)

    reinf = []
    sids = {si["substation_id"] for si in serving_info}
    if len(base.reinforcements):
        for r in base.reinforcements.itertuples(index=False):
            if r.substation_id in sids:
                reinf.append({"substation_id": r.substation_id, "year": int(r.year),
                              "added_mva": _r(r.reinforcement_mva, 3), "source": str(r.source)})
    reinf.sort(key=lambda d: (d["year"], d["substation_id"]))

    frame = e.frame
    prog = {c: _jsonable(frame[c].iloc[0]) for c in frame.columns if c not in ("geometry", "id", "name")
            and pd.notna(frame[c].iloc[0])}
    priority = frame.attrs.get("priority_category") or prog.get("priority_category")
    c = shapely.centroid(geom)
    site = {
        "id": e.sid, "name": _name(frame), "layer": e.kind, "title_nl": LAYER_KINDS[e.kind].title_nl,
        "programme": prog, "priority_category": priority,
        "area_ha": _r(shapely.area(geom) / 1e4, 3), "centroid": [_r(c.x, 1), _r(c.y, 1)],
        "bounds": [_r(x, 1) for x in shapely.bounds(geom)], "crs": base.project.crs,
        "order": session.sites.index(e.sid) + 1 if session._entries.get(e.sid) is e else None,
        "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 0.01))),
    }
    overlaps = _overlaps_existing(base, e) + session.overlapping(e)
    for o in overlaps:
        if o["layer"] == e.kind:
            notices.append(f"the site overlaps existing plan {o['id']} ({o['share_of_site']:.0%} of the site): its "
                           "demand may already be in the baseline")
    conflicts = _conflicts(base, e)
    check = SiteCheck(site=site, serving=serving_info, unassigned_share=_r(unassigned, 6), verdict=verdict,
                      variants=variants, reinforcements=reinf, conflicts=conflicts, overlaps=overlaps, sees=sees,
                      notices=notices, assumptions=_assumptions(e.kind, frame, base.params(head_v)),
                      summary_nl="", summary_en="", geometry=geom, project=_project_info(base.project, base))
    check.summary_nl, check.summary_en = _summaries(check, base)
    shown = set(serving.tolist()) | {base.pos[a["substation_id"]] for d in variants.values() for y in d["years"]
                                     for a in y["alternatives"]}
    check.map_layers = {
        "areas": {sid: base.area_geom[sid] for sid in sids if sid in base.area_geom},
        "substations": [(str(base.substations["id"].iat[i]), base.names[i], base.substations.geometry.iat[i])
                        for i in sorted(shown)],
    }
    return check


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return int(v) if float(v).is_integer() else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v if isinstance(v, int | str | bool) else str(v)


# --------------------------------------------------------------------------------------
# the answer in words


def _summaries(c: SiteCheck, base: Baseline) -> tuple[str, str]:
    v = c.verdict.variant
    vd = c.variants[v]
    key = c.verdict.key
    end = int(base.years[-1])
    label = c.site["name"] or c.site["id"]
    subs_nl = " en ".join(f"{s['substation_id']}{' ' + s['name'] if s['name'] else ''}"
                          + (f" ({s['share']:.0%})".replace(".", ",") if len(c.serving) > 1 else "") for s in c.serving)
    subs_en = " and ".join(f"{s['substation_id']}{' ' + s['name'] if s['name'] else ''}"
                           + (f" ({s['share']:.0%})" if len(c.serving) > 1 else "") for s in c.serving)
    site_mw = vd["site_mw_end"] or 0.0
    if key == "outside":
        dmax = base.params(v)["assignment.max_distance_m"]
        nl = (f"{VERDICTS['outside'][0].capitalize()}. {label} ligt buiten elk voedingsgebied van dit project en er "
              f"ligt geen onderstation binnen {dmax:g} m. Controleer de locatie en het coördinatenstelsel (--crs).")
        en = (f"{VERDICTS['outside'][1].capitalize()}. {label} lies outside every service area of this project and "
              f"no substation lies within {dmax:g} m. Check the location and the coordinate system (--crs).")
        return nl, en
    if key == "after_horizon":
        return (f"{c.verdict.nl.capitalize()} (tot en met {end}).", f"{c.verdict.en.capitalize()} (up to {end}).")
    head_nl = f"{c.verdict.nl.capitalize()}. {label} ({_nl(site_mw)} MW in {end}) op {subs_nl}"
    head_en = f"{c.verdict.en.capitalize()}. {label} ({site_mw:.2f} MW in {end}) on {subs_en}"
    years = vd["years"]
    if key == "fits":
        mins = vd["min_headroom_after_mw"] or 0.0
        ymin = min((y for y in years if y["site_mw"] and y["site_mw"] > 0),
                   key=lambda y: min(s["headroom_after_mw"] for s in y["substations"]))["year"]
        tight = any(s["status_after"] in ("schaars", "waarschuwing") for y in years for s in y["substations"]
                    if y["site_mw"] and y["site_mw"] > 0)
        nl = f"{head_nl}: past in elk jaar tot en met {end}; de kleinste ruimte na aansluiting is {_nl(mins)} MW in {ymin}"
        en = f"{head_en}: fits in every year up to {end}; the least headroom left after connecting is {mins:.2f} MW in {ymin}"
        if tight:
            nl += " (krap: capaciteit wordt schaars)"
            en += " (tight: capacity is getting scarce)"
        nl, en = nl + ".", en + "."
    else:
        short_years = vd["short_years"]
        nl = f"{head_nl}: te weinig ruimte in {_years_text(short_years)}, tekort tot {_nl(vd['max_short_mw'])} MW"
        en = f"{head_en}: not enough headroom in {_years_text(short_years)}, up to {vd['max_short_mw']:.2f} MW short"
        if key == "fits_from":
            y0 = c.verdict.year
            helping = [r for r in c.reinforcements if short_years[0] < r["year"] <= y0]
            if helping:
                rn = ", ".join(f"{r['substation_id']} +{_nl(r['added_mva'], 0)} MVA in {r['year']}" for r in helping)
                re_ = ", ".join(f"{r['substation_id']} +{r['added_mva']:.0f} MVA in {r['year']}" for r in helping)
                nl += f"; vanaf {y0} past het dankzij de geplande netverzwaring ({rn})."
                en += f"; from {y0} it fits thanks to the planned reinforcement ({re_})."
            else:
                nl += f"; vanaf {y0} past het weer."
                en += f"; from {y0} it fits again."
        else:
            nl += f"; ook in {end} past het niet."
            en += f"; it still does not fit in {end}."
        last = years[-1]["alternatives"] if key == "does_not_fit" else next(
            (y["alternatives"] for y in years if not y["fits"]), [])
        if last:
            a = last[0]
            when = end if key == "does_not_fit" else next(y["year"] for y in years if not y["fits"])
            an = f"{a['substation_id']}{' ' + a['name'] if a['name'] else ''}"
            nl += (f" Dichtstbijzijnde onderstation met ruimte voor de hele locatie in {when}: {an} "
                   f"({_nl(a['distance_m'] / 1000, 1)} km, {_nl(a['headroom_mw'])} MW ruimte).")
            en += (f" Nearest substation with room for the whole site in {when}: {an} "
                   f"({a['distance_m'] / 1000:.1f} km, {a['headroom_mw']:.2f} MW headroom).")
    others = [(w, c.variants[w]["verdict"]) for w in c.variants if w != v]
    differ = [(w, d) for w, d in others if d["key"] != c.verdict.key or d["year"] != c.verdict.year]
    if differ:
        nl += " Andere ontwikkelvarianten: " + "; ".join(f"{w}: {d['nl']}" for w, d in differ) + "."
        en += " Other development variants: " + "; ".join(f"{w}: {d['en']}" for w, d in differ) + "."
    elif others:
        nl += " Alle ontwikkelvarianten geven hetzelfde antwoord."
        en += " Every development variant gives the same answer."
    if c.unassigned_share > 0:
        nl += f" Let op: {c.unassigned_share:.0%} van de locatie valt onder geen enkel onderstation.".replace(".", ",", 1)
        en += f" Note: {c.unassigned_share:.0%} of the site is served by no substation."
    return nl, en


# --------------------------------------------------------------------------------------
# the public functions


def check_sites(
    plan_or_result: RunResult | Plan | Baseline | Project | str | Path,
    geometry: Any,
    programme: Mapping[str, Any] | None = None,
    *,
    crs: str | None = None,
    variants: Sequence[str] | None = None,
    radius_m: float | None = None,
    kind: str | None = None,
    layer: str | None = None,
    search_radius_m: float | None = None,
) -> list[SiteCheck]:
    """Check several sites in their order; each sees the demand of the ones before it.

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline, Project or path
        A computed run (fastest for repeated checks), a plan (computed here), or
        a project: then only what is near the sites is read
        (:func:`read_plan_near`).
    geometry : file, text, geometry or list of them
        See :func:`read_sites`. A list is checked in its order, each item's
        features in file order.
    programme : mapping, optional
        Applies to every site (see :func:`read_sites`).
    crs, radius_m, kind, layer
        See :func:`read_sites`.
    variants : list of str, optional
        The first is the headline variant; default every variant, base first.
    search_radius_m : float, optional
        For a project path: how far around the sites to read.

    Returns
    -------
    list of SiteCheck
    """
    items = list(geometry) if isinstance(geometry, list | tuple) else [geometry]
    wcrs = _working_crs(plan_or_result)
    log_frames = []
    for item in items:
        log = NoticeLog()
        k, frame = read_sites(item, programme, crs=crs, radius_m=radius_m, kind=kind, layer=layer, working_crs=wcrs,
                              notices=log)
        log_frames.append((k, frame, [str(n) for n in log]))
    frames = [f for _, f, _ in log_frames]
    allids = [str(i) for f in frames for i in f["id"]]
    if len(set(allids)) < len(allids):  # several sites without ids: number them in order
        n = 0
        for _, f, _ in log_frames:
            ids = []
            for i in f["id"]:
                n += 1
                ids.append(f"site-{n}" if str(i).startswith("site-") else f"{i}-{n}")
            f["id"] = ids
    near = pd.concat([f[["geometry"]] for f in frames], ignore_index=True)
    base = _as_baseline(plan_or_result, variants=variants, near=gpd.GeoDataFrame(near, crs=wcrs),
                        search_radius_m=search_radius_m)
    w = WhatIf(base)
    for k, f, msgs in log_frames:
        w.add_frame(k, f, notices=msgs)
    return w.check_all()


def check_site(
    plan_or_result: RunResult | Plan | Baseline | Project | str | Path,
    geometry: Any,
    programme: Mapping[str, Any] | None = None,
    *,
    crs: str | None = None,
    variants: Sequence[str] | None = None,
    radius_m: float | None = None,
    kind: str | None = None,
    search_radius_m: float | None = None,
) -> SiteCheck:
    """Does this one site fit on the grid, and from when?

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline, Project or path
        See :func:`check_sites`.
    geometry : str, path or geometry
        One site: a file with one feature, GeoJSON, WKT, ``"x,y"`` /
        ``"x,y,radius"``, or a shapely geometry.
    programme : mapping
        E.g. ``{"dwellings": 400, "heating": "all_electric", "ev_share": 0.5,
        "start_year": 2028, "end_year": 2031}``.
    crs : str, optional
        Of the coordinates (default EPSG:28992; ``"EPSG:4326"`` for lon/lat).
    variants : list of str, optional
    radius_m, kind, search_radius_m
        See :func:`read_sites` and :func:`read_plan_near`.

    Returns
    -------
    SiteCheck

    Examples
    --------
    >>> c = check_site("layers/example_region.toml", "120000,480000,200",
    ...                {"dwellings": 50, "heating": "gas", "start_year": 2027})
    >>> c.verdict.key, c.serving
    ('outside', [])
    """
    checks = check_sites(plan_or_result, geometry, programme, crs=crs, variants=variants, radius_m=radius_m,
                         kind=kind, search_radius_m=search_radius_m)
    if len(checks) != 1:
        raise LayerValidationError([_site_problem(
            f"{len(checks)} features given; check_site checks one", "use check_sites() for several sites "
            "(each sees the ones before it)")])
    return checks[0]


def _working_crs(obj: Any) -> str:
    if isinstance(obj, Baseline | Plan):
        return obj.project.crs
    if isinstance(obj, RunResult):
        return obj.project.crs
    if isinstance(obj, Project):
        return obj.crs
    if isinstance(obj, str | Path):
        return load_project(obj).crs
    return _DEFAULT_CRS


# --------------------------------------------------------------------------------------
# the documented JSON schema (draft 2020-12)

_NUM_OR_NULL = {"type": ["number", "null"]}
_SUB_YEAR = {
    "type": "object",
    "required": ["substation_id", "share", "site_mw", "capacity_mw", "load_before_mw", "earlier_sites_mw",
                 "headroom_before_mw", "headroom_after_mw", "status_before", "status_after"],
    "properties": {
        "substation_id": {"type": "string"},
        "share": {"type": "number", "description": "share of the site served by this substation (area share)"},
        "site_mw": {"type": "number", "description": "the site's offtake on this substation [MW]"},
        "capacity_mw": {"type": "number", "description": "firm offtake capacity incl. reinforcements in service [MW]"},
        "load_before_mw": {"type": "number", "description": "baseline load plus earlier sites [MW]"},
        "earlier_sites_mw": {"type": "number", "description": "load of earlier sites of the batch/session [MW]"},
        "headroom_before_mw": {"type": "number", "description": "capacity - load before the site [MW]"},
        "headroom_after_mw": {"type": "number", "description": "headroom after adding the site [MW]"},
        "status_before": {"type": "string", "enum": ["ruimte", "schaars", "waarschuwing", "congestie"]},
        "status_after": {"type": "string", "enum": ["ruimte", "schaars", "waarschuwing", "congestie"]},
    },
}
_VERDICT = {
    "type": "object",
    "required": ["key", "year", "nl", "en", "variant"],
    "properties": {
        "key": {"enum": list(VERDICTS)},
        "year": {"type": ["integer", "null"], "description": "for fits_from: first year it fits through the horizon"},
        "nl": {"type": "string"}, "en": {"type": "string"}, "variant": {"type": "string"},
    },
}
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "spatialprog check-site report",
    "type": "object",
    "required": ["schema", "generator", "project", "direction", "conflict_check", "order", "sites"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "generator": {"type": "string"},
        "project": {"type": "object", "required": ["name", "crs", "base_year", "horizon", "variants"],
                    "properties": {"horizon": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                                               "maxItems": 2},
                                   "variants": {"type": "array", "items": {"type": "string"}}}},
        "direction": {"const": "offtake"},
        "conflict_check": {"type": "boolean", "description": "whether land-claim conflicts were checked"},
        "order": {"type": "array", "items": {"type": "string"}, "description": "site ids in check order"},
        "sites": {"type": "array", "items": {
            "type": "object",
            "required": ["site", "verdict", "summary_nl", "summary_en", "serving", "unassigned_share", "variants",
                         "reinforcements", "conflicts", "overlaps", "sees", "notices", "assumptions"],
            "properties": {
                "site": {"type": "object", "required": ["id", "layer", "programme", "area_ha", "centroid", "crs",
                                                        "geometry"],
                         "properties": {"id": {"type": "string"}, "layer": {"enum": list(CHECK_KINDS)},
                                        "priority_category": {"type": ["string", "null"]},
                                        "order": {"type": ["integer", "null"]}}},
                "verdict": _VERDICT,
                "summary_nl": {"type": "string"}, "summary_en": {"type": "string"},
                "serving": {"type": "array", "items": {"type": "object",
                                                       "required": ["substation_id", "share", "method", "dist_m"]}},
                "unassigned_share": {"type": "number"},
                "variants": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "required": ["verdict", "first_fit_year", "short_years", "max_short_mw", "site_mw_end", "years"],
                    "properties": {
                        "verdict": _VERDICT,
                        "first_fit_year": {"type": ["integer", "null"]},
                        "short_years": {"type": "array", "items": {"type": "integer"}},
                        "max_short_mw": {"type": "number"},
                        "site_mw_end": {"type": "number"},
                        "min_headroom_after_mw": _NUM_OR_NULL,
                        "years": {"type": "array", "items": {
                            "type": "object",
                            "required": ["year", "site_mw", "fits", "short_mw", "site_short_mw", "substations",
                                         "alternatives"],
                            "properties": {
                                "year": {"type": "integer"}, "site_mw": {"type": "number"},
                                "fits": {"type": "boolean"},
                                "short_mw": {"type": "number", "description": "MW missing for the site to fit"},
                                "site_short_mw": {"type": "number",
                                                  "description": "part of the site's own MW that does not fit"},
                                "substations": {"type": "array", "items": _SUB_YEAR},
                                "alternatives": {"type": "array", "items": {
                                    "type": "object",
                                    "required": ["substation_id", "distance_m", "headroom_mw", "headroom_after_mw"]}},
                            }}},
                    }}},
                "reinforcements": {"type": "array", "items": {"type": "object",
                                                              "required": ["substation_id", "year", "added_mva"]}},
                "conflicts": {"type": "object", "required": ["available", "message", "items"]},
                "overlaps": {"type": "array"},
                "sees": {"type": "array", "items": {"type": "string"}},
                "notices": {"type": "array", "items": {"type": "string"}},
                "assumptions": {"type": "array", "items": {"type": "object",
                                                           "required": ["key", "value", "unit", "source"]}},
            }}},
    },
}


# --------------------------------------------------------------------------------------
# the one-page HTML report (offline: inline CSS and an inline SVG map, no tiles, no scripts)

_HTML_COLOURS = {"fits": "#2e7d32", "fits_from": "#b7791f", "does_not_fit": "#c62828", "outside": "#6a1b9a",
                 "after_horizon": "#00838f"}


def _esc(x: Any) -> str:
    import html

    return html.escape("" if x is None else str(x))


def _svg_map(checks: Sequence[SiteCheck], *, width: int = 640, height: int = 360) -> str:
    """A small map in the working CRS: serving areas, substations, the sites, alternatives."""
    ids = {s["substation_id"] for c in checks for s in c.serving}
    alt = set()
    for c in checks:  # the alternatives named in the summary: first short year, or the last year
        vd = c.variants[c.verdict.variant]["years"]
        y = next((y for y in vd if not y["fits"]), vd[-1])
        alt |= {a["substation_id"] for a in y["alternatives"][:1]}
    areas = sorted({sid: g for c in checks for sid, g in c.map_layers.get("areas", {}).items()}.items())
    subs = sorted({s[0]: s for c in checks for s in c.map_layers.get("substations", [])}.values(), key=lambda s: s[0])
    pts = [g for _, g in areas] + [c.geometry for c in checks] + [p for sid, _, p in subs if sid in ids | alt]
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(pts, dtype=object))
    pad = max(maxx - minx, maxy - miny) * 0.08 + 200
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    scale = min(width / (maxx - minx), height / (maxy - miny))

    def xy(x: float, y: float) -> str:
        return f"{(x - minx) * scale:.1f},{(maxy - y) * scale:.1f}"

    def path(g) -> str:
        out = []
        for poly in shapely.get_parts(g):
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                out.append("M" + " L".join(xy(x, y) for x, y in ring.coords) + " Z")
        return " ".join(out)

    w, h = (maxx - minx) * scale, (maxy - miny) * scale
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
             f'role="img" aria-label="kaart / map">', f'<rect width="{w:.0f}" height="{h:.0f}" fill="#f4f6f4"/>']
    for sid, g in areas:
        parts.append(f'<path d="{path(g)}" fill="#dbe9f6" stroke="#4a78a8" stroke-width="1.2"/>')
        c = shapely.point_on_surface(g)
        parts.append(f'<text x="{xy(c.x, c.y).split(",")[0]}" y="{xy(c.x, c.y).split(",")[1]}" font-size="11" '
                     f'fill="#4a78a8">voedingsgebied {_esc(sid)}</text>')
    for c in checks:
        col = _HTML_COLOURS.get(c.verdict.key, "#333")
        g = c.geometry
        if g.geom_type in ("Point", "MultiPoint"):
            p = xy(g.x, g.y).split(",")
            parts.append(f'<circle cx="{p[0]}" cy="{p[1]}" r="6" fill="{col}" stroke="#000"/>')
        else:
            parts.append(f'<path d="{path(g)}" fill="{col}" fill-opacity="0.55" stroke="{col}" stroke-width="2"/>')
        cc = shapely.centroid(g)
        p = xy(cc.x, cc.y).split(",")
        parts.append(f'<text x="{float(p[0]) + 8:.1f}" y="{float(p[1]) - 8:.1f}" font-size="12" font-weight="bold">'
                     f'{_esc(c.site["name"] or c.site["id"])}</text>')
    for sid, _name, p in subs:
        if sid not in ids | alt:
            continue
        q = xy(p.x, p.y).split(",")
        fill = "#1f3b57" if sid in ids else "#ffffff"
        parts.append(f'<rect x="{float(q[0]) - 5:.1f}" y="{float(q[1]) - 5:.1f}" width="10" height="10" fill="{fill}" '
                     f'stroke="#1f3b57" stroke-width="1.5"/>')
        parts.append(f'<text x="{float(q[0]) + 8:.1f}" y="{float(q[1]) + 4:.1f}" font-size="11">{_esc(sid)}</text>')
    # scale bar: a round number of km near a fifth of the width
    target = (maxx - minx) / 5
    km = max(k for k in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if k * 1000 <= max(target, 100))
    bar = km * 1000 * scale
    parts.append(f'<line x1="10" y1="{h - 12:.0f}" x2="{10 + bar:.1f}" y2="{h - 12:.0f}" stroke="#000" '
                 f'stroke-width="3"/><text x="10" y="{h - 18:.0f}" font-size="11">{km:g} km</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(checks: Sequence[SiteCheck]) -> str:
    """A one-page HTML report of checked sites, to attach to a council memo.

    Self-contained: inline CSS and an inline SVG map (working CRS), no web
    tiles and no scripts, so it opens offline and prints on one page.

    Examples
    --------
    >>> from spatialprog.pipeline import compute, read_plan
    >>> c = check_site(compute(read_plan("layers/example_region.toml")), "186150,437150,150",
    ...                {"dwellings": 100, "heating": "all_electric", "start_year": 2027})
    >>> "past vanaf 2030" in render_html([c])
    True
    """
    if not checks:
        raise ValueError("no checks to report")
    proj = checks[0].project
    css = ("body{font-family:system-ui,Segoe UI,Arial,sans-serif;max-width:900px;margin:1.5em auto;color:#222}"
           "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1em 0 .3em}"
           ".verdict{padding:.6em 1em;border-radius:6px;color:#fff;font-size:1.3em;font-weight:bold}"
           "table{border-collapse:collapse;font-size:.85em;margin:.4em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
           "text-align:right}th{background:#eee}td.l,th.l{text-align:left}.no{color:#c62828;font-weight:bold}"
           ".small{font-size:.8em;color:#555}@media print{body{margin:0}}")
    out = ["<!DOCTYPE html>", '<html lang="nl"><head><meta charset="utf-8">',
           f"<title>Netcapaciteit nieuwe locatie - {_esc(proj.get('name'))}</title><style>{css}</style></head><body>",
           "<h1>Past de nieuwe locatie op het elektriciteitsnet? / Does the new site fit on the grid?</h1>",
           f"<p class='small'>{_esc(proj.get('name'))}; horizon {proj['horizon'][0]}-{proj['horizon'][1]}; "
           f"ontwikkelvarianten: {_esc(', '.join(proj['variants']))}"
           + ("; <b>FICTIEVE voorbeeldgegevens</b>" if proj.get("fictional") else "") + "</p>"]
    try:
        out.append(f"<div>{_svg_map(checks)}</div>")
    except (ValueError, shapely.errors.GEOSException):  # nothing to draw
        pass
    for c in checks:
        v = c.verdict
        vd = c.variants[v.variant]
        col = _HTML_COLOURS.get(v.key, "#333")
        s = c.site
        prog = ", ".join(f"{_esc(k)} {_esc(x)}" for k, x in s["programme"].items() if k != "priority_category")
        out.append(f"<h2>{'#' + str(s['order']) + ' ' if len(checks) > 1 and s.get('order') else ''}"
                   f"{_esc(s['name'] or s['id'])} <span class='small'>({_esc(s['title_nl'])}, {s['area_ha']:.2f} ha; "
                   f"{prog})</span></h2>")
        out.append(f"<div class='verdict' style='background:{col}'>{_esc(v.nl.capitalize())} / {_esc(v.en)}</div>")
        out.append(f"<p>{_esc(c.summary_nl)}</p><p class='small'>{_esc(c.summary_en)}</p>")
        if c.sees:
            out.append(f"<p class='small'>Ziet de vraag van eerdere locaties / sees earlier sites: "
                       f"{_esc(', '.join(c.sees))}</p>")
        if c.serving:
            hdr = "".join(f"<th>{_esc(x['substation_id'])} ruimte voor (MW)</th><th>{_esc(x['substation_id'])} "
                          f"ruimte na (MW)</th>" for x in c.serving)
            out.append(f"<table><tr><th>jaar</th><th>locatie (MW)</th>{hdr}<th>past</th><th>tekort (MW)</th></tr>")
            for y in vd["years"]:
                cells = "".join(f"<td>{sub['headroom_before_mw']:.2f}</td><td>{sub['headroom_after_mw']:.2f}</td>"
                                for sub in y["substations"])
                fit = "ja" if y["fits"] else "<span class='no'>nee</span>"
                out.append(f"<tr><td>{y['year']}</td><td>{y['site_mw']:.2f}</td>{cells}<td class='l'>{fit}</td>"
                           f"<td>{y['short_mw']:.2f}</td></tr>")
            out.append("</table>")
            rows = "".join(f"<tr><td class='l'>{_esc(n)}</td><td class='l'>{_esc(d['verdict']['nl'])}</td>"
                           f"<td class='l'>{_esc(d['verdict']['en'])}</td><td>{_esc(d['first_fit_year'] or '')}</td>"
                           f"<td>{d['max_short_mw']:.2f}</td></tr>" for n, d in c.variants.items())
            out.append("<table><tr><th class='l'>variant</th><th class='l'>oordeel</th><th class='l'>verdict</th>"
                       f"<th>past vanaf</th><th>max. tekort (MW)</th></tr>{rows}</table>")
        if c.reinforcements:
            out.append("<p class='small'>Geplande netverzwaring / planned reinforcements: " + "; ".join(
                f"{_esc(r['substation_id'])} +{r['added_mva']:g} MVA in {r['year']}" for r in c.reinforcements) + "</p>")
        conf = c.conflicts
        items = "".join(f"<li>{_esc(i['severity'])} {_esc(i['rule_id'])}: {_esc(i['description_nl'])} "
                        f"({_esc(i['other_layer'])} {_esc(i['other_id'])})</li>" for i in conf["items"])
        out.append(f"<p class='small'>Ruimtelijke conflicten / land-claim conflicts: {_esc(conf['message'])}</p>"
                   + (f"<ul class='small'>{items}</ul>" if items else ""))
        notes = [f"overlapt {o['layer']} {o['id']} ({o['share_of_site']:.0%})" for o in c.overlaps] + c.notices
        if notes:
            out.append("<ul class='small'>" + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")
        out.append("<p class='small'>Aannames / assumptions: " + "; ".join(
            f"{_esc(a['key'])} = {_esc(a['value'])} {_esc(a['unit'])}" for a in c.assumptions) + "</p>")
    out.append(f"<p class='small'>spatialprog {__version__}, {SCHEMA_ID}. Ruimte = vaste capaciteit (N-1 waar van "
               "toepassing) min piekbelasting; een schatting op basis van data/parameters.toml, geen toezegging van "
               "de netbeheerder. / Headroom = firm capacity minus peak load: an estimate, not a grid operator's "
               "commitment.</p></body></html>")
    return "\n".join(out)
