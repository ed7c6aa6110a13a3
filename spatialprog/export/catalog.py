"""What the QGIS export contains: one :class:`ExportLayer` per table, with its metadata.

:func:`collect_layers` turns a run's outputs (and, optionally, the validated
input layers) into the ordered list of tables that go into the GeoPackage,
each with an ASCII snake_case table name, a Dutch title, an abstract naming
its sources and the run date, the layer-tree group it belongs to, and the
layer kind whose schema drives its field aliases and style. It is pure: no
files are touched.

Decisions
---------
* **Inputs and results are both exported.** Result layers (``substations``,
  ``housing_sites``, ...) carry every validated input column plus the result
  columns, so they are what a planner styles and queries. The validated
  input layers are exported as well, prefixed ``input_`` (``input_boundaries``,
  ``input_substations``, ...), so the GeoPackage holds exactly what the run
  read; in the QGIS project they sit in the *inputs* group, hidden except for
  layers that have no result counterpart (the boundaries).
* **One geometry type per layer.** A layer that mixes points and polygons
  (``generation``: solar fields as polygons, wind turbines as points) is split
  by geometry family into ``<name>_points``, ``<name>_lines`` and
  ``<name>_areas``; a layer that mixes single and multi parts of one family is
  promoted to multi.
* **Groups.** ``inputs``, ``results``, ``conflicts`` (any layer whose name
  starts with ``conflict``) and ``programme`` (a ``programme`` table, when the
  ranking stage adds one); a group appears only when it has layers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import fields as F
from ..kinds import LAYER_KINDS, drawing_order
from ..sheets import ALIASES_NL

__all__ = [
    "ExportLayer",
    "GROUPS",
    "TABLES",
    "collect_layers",
    "alias_nl",
    "safe_name",
]

#: layer-tree groups: key -> Dutch title, in drawing order (first is drawn on top)
GROUPS: dict[str, str] = {
    "conflicts": "Conflicten",
    "results": "Resultaten",
    "programme": "Programma",
    "inputs": "Invoer",
}

#: attribute tables: name -> (Dutch title, description, shown in the project, group)
TABLES: dict[str, tuple[str, str, bool, str]] = {
    "headroom": ("Netruimte per jaar", "Headroom per substation, variant, year and direction (long format): firm "
                 "capacity, existing and new load, headroom and status.", True, "results"),
    "shortfall": ("Eerste jaar tekort", "First year of shortfall per substation, variant and direction.", True,
                  "results"),
    "demand": ("Vraag per locatie", "Offtake and feed-in per site, variant and year.", False, "results"),
    "assignment": ("Toewijzing aan onderstations", "Which substation serves which site (share, method, distance).",
                   False, "results"),
    "capacity": ("Capaciteit onderstations", "Installed and firm capacity per substation.", False, "results"),
    "reinforcements": ("Netverzwaringen", "Planned reinforcements per substation, per direction.", False, "results"),
    "carrier_headroom": ("Netruimte waterstof, warmte en gas", "Headroom of the hydrogen, heat and gas nodes per "
                         "variant, year and direction, in each carrier's own unit (carrier, unit).", True, "results"),
    "carrier_shortfall": ("Eerste jaar tekort waterstof, warmte en gas", "First year of shortfall per node of the "
                          "other carriers.", False, "results"),
    "operator_comparison": ("Netbeheerder naast spatialprog", "The operators' own forecast of available capacity "
                            "beside our projection without new sites, and what explains the difference.", False,
                            "results"),
    "notices": ("Meldingen", "Repairs and remarks from the run.", True, "results"),
    "programme": ("Programma", "The ranked programme of interventions (reinforcement in transformer steps or a new "
                  "substation) with needed-by year, score and what waits on it.", True, "programme"),
    "ranking_substations": ("Rangorde onderstations", "Score per substation with its breakdown per criterion.", False,
                            "programme"),
    "ranking_sites": ("Rangorde locaties", "Score per site with its breakdown per criterion.", False, "programme"),
    "sensitivity": ("Gevoeligheid weging", "How many of the top 10 change places when a weight varies by +-25 %.",
                    False, "programme"),
    "variants_comparison": ("Vergelijking varianten", "Headroom per station (every carrier) and year in every "
                            "variant, with deltas.", False, "programme"),
    "variants_summary": ("Wat elke variant doet", "Per variant, carrier and direction: stations short, the first "
                         "shortfall year, the lowest headroom and the programme, with deltas to the base variant.",
                         False, "programme"),
    "no_regret": ("Geen-spijtmaatregelen", "Interventions that appear in every variant or in only some.", False,
                  "programme"),
    "scale_sums": ("Sommen per schaalniveau", "Demand, capacity and shortfall per municipality, province and region.",
                   False, "programme"),
    "higher_level_check": ("Toets hoger netvlak", "Sum of the regional load against the capacity of the feeding HV "
                           "station or TenneT node.", False, "programme"),
    "ranking_criteria_used": ("Afwegingskader", "Criteria and weights used per variant.", False, "programme"),
    "conflict_matrix": ("Conflictmatrix", "Conflicts per pair of layers: number and overlap area (m2).", True,
                        "conflicts"),
}

_RESULT_TITLES = {
    "service_areas": ("Voedingsgebieden", "Supply areas of the substations (given or derived), with headroom and "
                      "status of their substation."),
    "substations": ("Onderstations", "Substations with firm capacity, headroom and status per milestone year "
                    "(base variant)."),
    "conflicts": ("Conflicten ruimteclaims", "Land-claim conflicts between layers."),
    "substation_reserves": ("Ruimtereserveringen onderstations", "Land reserved for new or extended substations."),
    "hv_lines": ("Hoogspanningslijnen", "Overhead HV lines with their voltage."),
}

_FAMILY = {"Point": "points", "MultiPoint": "points", "LineString": "lines", "MultiLineString": "lines",
           "LinearRing": "lines", "Polygon": "areas", "MultiPolygon": "areas"}
_FAMILY_NL = {"points": "punten", "lines": "lijnen", "areas": "vlakken"}
_MULTI = {"points": "MultiPoint", "lines": "MultiLineString", "areas": "MultiPolygon"}
_SINGLE = {"points": "Point", "lines": "LineString", "areas": "Polygon"}
#: geometry type names and families by shapely type id (shapely.GeometryType: 0 = Point ... 7 = GeometryCollection)
_TYPE_NAME = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}
_FAMILY_OF_TYPE_ID = np.array([_FAMILY.get(_TYPE_NAME[i], "") for i in range(len(_TYPE_NAME))], dtype=object)
_SINGLE_TYPE_ID = {"points": shapely.GeometryType.POINT, "lines": shapely.GeometryType.LINESTRING,
                   "areas": shapely.GeometryType.POLYGON}


@dataclass
class ExportLayer:
    """One table of the export.

    Attributes
    ----------
    name : str
        Table name in the GeoPackage (ASCII snake_case).
    title : str
        Dutch title (gpkg_contents ``identifier``, the project's layer name).
    abstract : str
        gpkg_contents ``description``: what it is, sources, run date.
    group : str
        Key of :data:`GROUPS`.
    data : GeoDataFrame or DataFrame
        Field names already safe; geometry in the working CRS.
    kind : str or None
        Layer kind whose schema gives aliases and style (``substations``);
        ``None`` for tables without a schema.
    source : str
        Where it comes from: ``"result"``, ``"input"`` or ``"table"``.
    geometry_type : str or None
        ``Point``, ``MultiPolygon``, ... or ``None`` for attribute tables.
    visible : bool
        Checked in the project's layer tree.
    in_project : bool
        Added to the QGIS project (every layer is in the GeoPackage).
    aliases : dict of str -> str
        Dutch alias per field.
    """

    name: str
    title: str
    abstract: str
    group: str
    data: gpd.GeoDataFrame | pd.DataFrame
    kind: str | None = None
    source: str = "result"
    geometry_type: str | None = None
    visible: bool = True
    in_project: bool = True
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def is_spatial(self) -> bool:
        """True for layers with geometry."""
        return self.geometry_type is not None


def safe_name(name: str) -> str:
    """An ASCII snake_case field or table name.

    Examples
    --------
    >>> safe_name("Vermogen (MW) 2030")
    'vermogen_mw_2030'
    >>> safe_name("2030")
    'f_2030'
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "field"
    if not text[0].isalpha():
        text = "f_" + text
    return text


def _split_alias(alias: str) -> tuple[str, str]:
    """``"ruimte (MW)"`` -> ``("ruimte", " (MW)")``."""
    m = re.match(r"^(.*?)(\s*\([^)]*\))?$", alias)
    assert m is not None
    return m.group(1), m.group(2) or ""


_DIR = "(" + "|".join(F.DIRECTIONS) + ")"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^headroom_{_DIR}_mw_(\d{{4}})$"), F.HEADROOM_MW),
    (re.compile(rf"^load_{_DIR}_mw_(\d{{4}})$"), F.LOAD_MW),
    (re.compile(rf"^status_{_DIR}_(\d{{4}})$"), F.STATUS),
    (re.compile(rf"^{_DIR}_mw_(\d{{4}})$"), ""),
    (re.compile(rf"^first_shortfall_{_DIR}_year$"), F.FIRST_SHORTFALL_YEAR),
    (re.compile(rf"^firm_rule_{_DIR}$"), F.FIRM_RULE),
]
#: aliases of result columns not (yet) in sheets.ALIASES_NL (candidates to move there)
_EXTRA_NL: dict[str, str] = {}  # all aliases live in spatialprog.sheets.ALIASES_NL


def alias_nl(column: str, kind: str | None = None) -> str:
    """The Dutch alias of a column, from the layer schema and :data:`spatialprog.sheets.ALIASES_NL`.

    Wide result columns (``headroom_offtake_mw_2030``) are named from their
    parts, so a new milestone year or direction needs no new entry.

    Returns
    -------
    str
        The alias, or ``""`` when none is known.

    Examples
    --------
    >>> alias_nl("headroom_offtake_mw_2030")
    'ruimte afname 2030 (MW)'
    >>> alias_nl("dwellings", "housing_sites")
    'aantal woningen'
    """
    if kind in LAYER_KINDS and column in LAYER_KINDS[kind].column_names:
        return LAYER_KINDS[kind].column(column).alias_nl
    if column in ALIASES_NL:
        return ALIASES_NL[column]
    for pattern, base in _PATTERNS:
        m = pattern.match(column)
        if m:
            direction = F.DIRECTION_NL[m.group(1)]
            year = f" {m.group(2)}" if m.lastindex and m.lastindex >= 2 else ""
            if not base:  # offtake_mw_2040 -> "afname 2040 (MW)"
                word, unit = _split_alias(ALIASES_NL[f"{m.group(1)}_mw"])
                return f"{word}{year}{unit}"
            word, unit = _split_alias(ALIASES_NL[base])
            return f"{word} {direction}{year}{unit}"
    m = re.match(rf"^(hydrogen|heat|gas)_{_DIR}_mw_(\d{{4}})$", column)  # another carrier's demand, own unit
    if m:
        from ..carriers import LABELS_NL, UNITS

        return f"{LABELS_NL[m.group(1)]} {F.DIRECTION_NL[m.group(2)]} {m.group(3)} ({UNITS[m.group(1)]})"
    if column in _EXTRA_NL:
        return _EXTRA_NL[column]
    for prefix, word in F.CRITERION_PREFIX_NL.items():  # ranking breakdown: raw_/score_/contrib_<criterion>
        if column.startswith(prefix):
            return f"{word} {column[len(prefix):].replace('_', ' ')}"
    m = re.match(r"^(headroom_mw|status|delta_mw)_(.+)$", column)  # per-variant comparison columns
    if m:
        return f"{alias_nl(m.group(1)) or m.group(1)} {m.group(2)}"
    for k in LAYER_KINDS.values():  # e.g. firm_offtake_mva on a derived table
        if column in k.column_names:
            return k.column(column).alias_nl
    return ""


def _clean_frame(df: pd.DataFrame | gpd.GeoDataFrame) -> tuple[pd.DataFrame | gpd.GeoDataFrame, dict[str, str]]:
    """Safe field names; returns the frame and a map new name -> original name."""
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    renames: dict[str, str] = {}
    used: set[str] = {"fid", "geom"}
    for c in df.columns:
        if c == geom:
            continue
        new = safe_name(c)
        base, i = new, 2
        while new in used:
            new, i = f"{base}_{i}", i + 1
        used.add(new)
        renames[c] = new
    out = df.rename(columns=renames)
    if geom is not None and geom != "geometry":
        out = out.rename_geometry("geometry")
    # object columns: None for missing (not NaN), so GDAL writes NULL; text columns (pandas' str/string
    # dtypes, Arrow-backed) already carry their missing values as Arrow nulls, which GDAL writes as NULL
    for c in out.columns:
        if c != "geometry" and out[c].dtype == object:
            missing = out[c].isna()
            if missing.any():
                out[c] = out[c].where(~missing, None)
    return out, {v: k for k, v in renames.items()}


def _valid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    arr = np.asarray(gdf.geometry.values)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    bad = present & ~shapely.is_valid(arr)
    if bad.any():
        arr = arr.copy()
        fixed = shapely.make_valid(arr[bad])
        # keep the dimension of the original (make_valid may return collections)
        arr[bad] = [_same_dim(f, o) for f, o in zip(fixed, arr[bad], strict=True)]
        gdf = gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs))
    return gdf


def _same_dim(fixed: shapely.Geometry, orig: shapely.Geometry) -> shapely.Geometry:
    if fixed.geom_type != "GeometryCollection":
        return fixed
    fam = _FAMILY.get(orig.geom_type)
    parts = [p for p in shapely.get_parts(fixed) if _FAMILY.get(p.geom_type) == fam]
    return shapely.union_all(parts) if parts else fixed


def split_by_geometry(gdf: gpd.GeoDataFrame) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """Split a layer by geometry family; one geometry type per part.

    Returns
    -------
    dict of str -> (GeoDataFrame, geometry type)
        Keyed ``points``, ``lines``, ``areas`` (only families present). A layer
        of one family returns one entry. Rows without geometry go with the
        first family.
    """
    ids = shapely.get_type_id(np.asarray(gdf.geometry.values))  # -1 for a missing geometry
    fam = np.where(ids >= 0, _FAMILY_OF_TYPE_ID[np.clip(ids, 0, None)], "")  # "" also for a collection
    fams = [f for f in ("points", "lines", "areas") if (fam == f).any()] or ["areas"]
    fam[fam == ""] = fams[0]
    out = {}
    for f in fams:
        rows = fam == f
        part = gdf[rows]
        t = {_TYPE_NAME[i] for i in np.unique(ids[rows]) if i >= 0}
        if len(t) > 1 or (t and t <= {_MULTI[f]}):
            geoms = np.asarray(part.geometry.values)
            single = shapely.get_type_id(geoms) == _SINGLE_TYPE_ID[f]
            if single.any():
                geoms = geoms.copy()
                ctor = {"points": shapely.multipoints, "lines": shapely.multilinestrings,
                        "areas": shapely.multipolygons}[f]
                geoms[single] = ctor(geoms[single], indices=np.arange(int(single.sum())))  # one part each
                part = part.set_geometry(gpd.GeoSeries(geoms, index=part.index, crs=part.crs))
            gtype = _MULTI[f]
        else:
            gtype = next(iter(t)) if t else _SINGLE[f]
        out[f] = (part.reset_index(drop=True), gtype)
    return out


def _sources_text(manifest: dict[str, Any], kind: str | None) -> str:
    srcs = []
    for inp in manifest.get("inputs", []):
        role = str(inp.get("role", ""))
        if kind is None or role == f"layers.{kind}":
            p = str(inp.get("path", ""))
            name = p.replace("\\", "/").rsplit("/", 1)[-1]
            srcs.append(name + (f" (laag {inp['layer']})" if inp.get("layer") else ""))
    return "; ".join(srcs)


def _abstract(what: str, manifest: dict[str, Any], kind: str | None) -> str:
    parts = [what.rstrip(".") + "."]
    src = _sources_text(manifest, kind)
    if src:
        parts.append(f"Bron: {src}.")
    proj = manifest.get("project")
    if proj:
        parts.append(f"Project: {proj}.")
    if manifest.get("fictional_data"):
        parts.append("FICTIEVE GEGEVENS.")
    version = manifest.get("versions", {}).get("spatialprog", "")
    date = manifest.get("run_date", "")
    parts.append(f"Berekend met spatialprog {version} op {date}.".replace("  ", " "))
    return " ".join(parts)


def _layer_entries(name: str, gdf: gpd.GeoDataFrame, *, kind: str | None, title: str, what: str, group: str,
                   source: str, visible: bool, manifest: dict[str, Any], suffix_nl: str = "") -> list[ExportLayer]:
    clean, original = _clean_frame(gdf)
    clean = _valid(clean)
    parts = split_by_geometry(clean)
    out = []
    for fam, (part, gtype) in parts.items():
        suffix = f"_{fam}" if len(parts) > 1 else ""
        t = (f"{title}, {_FAMILY_NL[fam]}" if len(parts) > 1 else title) + suffix_nl
        aliases = {c: alias_nl(original.get(c, c), kind) for c in part.columns if c != "geometry"}
        out.append(ExportLayer(
            name=f"{name}{suffix}", title=t, abstract=_abstract(what, manifest, kind), group=group, data=part,
            kind=kind, source=source, geometry_type=gtype, visible=visible, aliases=aliases,
        ))
    return out


def collect_layers(layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame], manifest: dict[str, Any],
                   *, inputs: dict[str, gpd.GeoDataFrame] | None = None) -> list[ExportLayer]:
    """Every table of the export, in layer-tree order (top first).

    Parameters
    ----------
    layers : dict of str -> GeoDataFrame
        Result layers (``RunOutputs.layers``); a ``conflicts`` layer goes to
        the conflicts group.
    tables : dict of str -> DataFrame
        Result tables (``RunOutputs.tables``); a ``programme`` table goes to
        the programme group.
    manifest : dict
        The run manifest (sources, run date, versions).
    inputs : dict of str -> GeoDataFrame, optional
        The validated input layers (``Plan.layers``), exported as ``input_<kind>``.

    Returns
    -------
    list of ExportLayer
    """
    out: list[ExportLayer] = []
    names = drawing_order(list(layers))
    for name in names:
        gdf = layers[name]
        group = "conflicts" if name.startswith("conflict") else "results"
        kind = name if name in LAYER_KINDS else (name if name.startswith("conflict") else None)
        if name in _RESULT_TITLES:
            title, what = _RESULT_TITLES[name]
        elif name in LAYER_KINDS:
            title, what = LAYER_KINDS[name].title_nl, LAYER_KINDS[name].description + " With demand (last year, " \
                "base variant) and the assigned substation."
        else:
            title, what = name.replace("_", " ").capitalize(), f"Result layer {name}."
        out += _layer_entries(safe_name(name), gdf, kind=kind, title=title, what=what, group=group, source="result",
                              visible=True, manifest=manifest)
    for name in [t for t in TABLES if t in tables] + sorted(t for t in tables if t not in TABLES):
        title, what, shown, group = TABLES.get(name, (name, f"Result table {name}.", False, "results"))
        clean, original = _clean_frame(tables[name])
        out.append(ExportLayer(
            name=safe_name(name), title=title, abstract=_abstract(what, manifest, None), group=group, data=clean,
            kind=None, source="table", geometry_type=None, visible=True, in_project=shown,
            aliases={c: alias_nl(original.get(c, c)) for c in clean.columns},
        ))
    if inputs:
        for kind in drawing_order(list(inputs)):
            lk = LAYER_KINDS.get(kind)
            title = lk.title_nl if lk else kind
            what = (lk.description if lk else f"Input layer {kind}.") + " As read and validated (working CRS)."
            out += _layer_entries(f"input_{safe_name(kind)}", inputs[kind], kind=kind if lk else None, title=title,
                                  what=what, group="inputs", source="input", visible=kind not in layers,
                                  manifest=manifest, suffix_nl=" (invoer)")
    seen: set[str] = set()
    for e in out:
        if e.name in seen:
            raise ValueError(f"two export layers are named {e.name!r}")
        seen.add(e.name)
    return out
