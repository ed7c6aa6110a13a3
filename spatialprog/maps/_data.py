"""What the maps show, prepared once from a :class:`~spatialprog.outputs.RunOutputs`.

Both the interactive and the static maps read a run through the functions
here: status classes and their colours (``data/status_classes.csv``), the
long headroom table keyed for lookups, the optional ``conflicts`` layer and
``programme``/``ranking`` table (hooks for stages that have not landed yet),
and display copies of the layers (simplified, and for the web map in
EPSG:4326). Nothing here changes a result: simplification and reprojection
work on copies made for display only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import fields as F
from ..config import BASE_VARIANT
from ..kinds import LAYER_KINDS, kinds_with_role
from ..outputs import RunOutputs, milestone_years
from ..params import load_status_classes
from ..programme import INTERVENTIONS_NL

__all__ = [
    "NO_DATA",
    "StatusClass",
    "status_classes",
    "status_lookup",
    "programme_frame",
    "conflicts_frame",
    "display_copy",
    "display_tolerance_m",
    "run_date_nl",
    "source_line",
    "site_layers",
    "METHOD_NL",
    "site_colour",
    "SEVERITY_COLOURS",
    "CONFLICTS_TITLE_NL",
    "PROGRAMME_TITLE_NL",
    "BOUNDARIES_KIND",
]

#: Layer titles for result layers that have no input layer kind (yet).
CONFLICTS_TITLE_NL = "Conflicten (ruimteclaims)"
PROGRAMME_TITLE_NL = "Programma (rangorde)"
BOUNDARIES_KIND = "boundaries"

#: Dutch labels of the assignment methods (values of ``assignment_method``).
METHOD_NL: dict[str, str] = {
    "service_area": "voedingsgebied",
    "service_areas": "voedingsgebieden",
    "voronoi": "Voronoi-gebied",
    "nearest": "dichtstbijzijnde onderstation",
    "unassigned": "niet toegewezen",
}

def site_colour(kind: str) -> str:
    """Outline/marker colour of a layer kind (:attr:`~spatialprog.kinds.LayerKind.colour`), chosen away
    from the status colours (green, yellow, orange, red) so a site is never read as a status."""
    k = LAYER_KINDS.get(kind)
    return k.colour if k is not None else "#333333"


SEVERITY_COLOURS: dict[str, str] = {"hoog": "#7a0177", "middel": "#c51b8a", "laag": "#f768a1"}

_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")


@dataclass(frozen=True)
class StatusClass:
    """One headroom status class of the national capacity map.

    Attributes
    ----------
    code : str
        ``ruimte``, ``schaars``, ``waarschuwing``, ``congestie`` or ``geen_gegevens``.
    label_nl : str
    colour : str
        ``#rrggbb``.
    meaning_nl : str
    """

    code: str
    label_nl: str
    colour: str
    meaning_nl: str = ""


#: Shown where a substation has no headroom figure (e.g. outside the run).
NO_DATA = StatusClass("geen_gegevens", "Geen gegevens", "#bdbdbd", "Geen netruimte berekend")


def status_classes() -> list[StatusClass]:
    """The status classes from ``data/status_classes.csv``, best first, then :data:`NO_DATA`.

    Examples
    --------
    >>> [c.code for c in status_classes()]
    ['ruimte', 'schaars', 'waarschuwing', 'congestie', 'geen_gegevens']
    """
    df = load_status_classes()
    out = [StatusClass(r.status, r.label_nl, r.colour, r.meaning_nl) for r in df.itertuples(index=False)]
    return [*out, NO_DATA]


def status_lookup(outputs: RunOutputs) -> pd.DataFrame:
    """The long headroom table indexed by (variant, direction, year, substation).

    Returns
    -------
    DataFrame
        Index ``variant, direction, year, substation_id``; columns
        ``capacity_mw, load_mw, headroom_mw, status`` (and whatever else the
        headroom table holds).
    """
    h = outputs.tables["headroom"].copy()
    h[F.SUBSTATION_ID] = h[F.SUBSTATION_ID].astype(str)
    h[F.YEAR] = h[F.YEAR].astype(int)
    return h.set_index([F.VARIANT, F.DIRECTION, F.YEAR, F.SUBSTATION_ID]).sort_index()


def variants_of(outputs: RunOutputs) -> list[str]:
    """Variants in the headroom table, the base variant first, then in manifest order."""
    present = set(outputs.tables["headroom"][F.VARIANT].astype(str))
    order = [v for v in outputs.variants if v in present]
    order += sorted(present - set(order))
    if BASE_VARIANT in order:
        order.remove(BASE_VARIANT)
        order.insert(0, BASE_VARIANT)
    return order


def years_of(outputs: RunOutputs) -> tuple[list[int], list[int]]:
    """All years of the run and its milestone years."""
    years = sorted(int(y) for y in outputs.tables["headroom"][F.YEAR].unique())
    return years, milestone_years(years)


# --------------------------------------------------------------------------------------
# hooks for the stages that come after the backbone

#: Columns of a ranked programme that the maps show when present, with Dutch labels.
PROGRAMME_COLUMNS_NL: dict[str, str] = {
    "rank": "rang",
    "substation_id": "onderstation",
    "intervention_nl": "maatregel",
    "transformer_step": "stap",
    "added_firm_mva": "extra vast (MVA)",
    "intervention": "maatregel",
    "measure": "maatregel",
    "mva": "vermogen (MVA)",
    "reinforcement_mva": "netverzwaring (MVA)",
    "land_m2": "ruimtebeslag (m2)",
    "needed_by_year": "nodig in",
    "start_by": "start",
    "dwellings_waiting": "wachtende woningen",
    "score": "score",
    "dwellings": "woningen",
    "jobs": "arbeidsplaatsen",
    "waiting_mw": "wachtend vermogen (MW)",
}


def programme_frame(outputs: RunOutputs) -> gpd.GeoDataFrame | None:
    """The ranked programme as located points, or None when the run has none.

    Looked up, in this order: a ``programme`` layer in ``outputs.layers``
    (any geometry; a point per row at its representative point), else a
    ``programme`` or ``ranking`` table in ``outputs.tables`` with a
    ``substation_id`` column, placed at that substation. Either needs a
    ``rank`` column (1 = first). Rows that cannot be placed are dropped.

    Returns
    -------
    GeoDataFrame or None
        Sorted by rank, in the working CRS, point geometries.
    """
    subs = outputs.layers.get("substations")
    layer = outputs.layers.get("programme")
    if layer is not None and len(layer) and "rank" in layer:
        g = layer.copy()
        g["geometry"] = g.geometry.representative_point()
    else:
        table = next((outputs.tables[k] for k in ("programme", "ranking") if k in outputs.tables), None)
        if table is not None and "rank" not in table and "programme_rank" in table:
            # the programme of spatialprog.ranking: one ranked list per variant; the map shows the base variant
            table = table.rename(columns={"programme_rank": "rank"})
            if "intervention" in table and "intervention_nl" not in table:
                table = table.assign(intervention_nl=table["intervention"].map(INTERVENTIONS_NL).fillna(
                    table["intervention"]))
            if F.CARRIER in table:  # the substations' programme (the other carriers' nodes are not substations)
                table = table[table[F.CARRIER] == F.ELECTRICITY]
            if F.VARIANT in table and len(table):
                base = BASE_VARIANT if (table[F.VARIANT] == BASE_VARIANT).any() else table[F.VARIANT].iat[0]
                table = table[table[F.VARIANT] == base]
        if table is None or not len(table) or "rank" not in table or F.SUBSTATION_ID not in table or subs is None:
            return None
        pos = subs.set_index(subs["id"].astype(str)).geometry
        t = table.copy()
        t[F.SUBSTATION_ID] = t[F.SUBSTATION_ID].astype(str)
        t = t[t[F.SUBSTATION_ID].isin(pos.index)]
        g = gpd.GeoDataFrame(t, geometry=pos.reindex(t[F.SUBSTATION_ID]).to_numpy(), crs=subs.crs)
    g = g[g["rank"].notna() & ~g.geometry.is_empty]
    if not len(g):
        return None
    g = g.sort_values(["rank", *([F.SUBSTATION_ID] if F.SUBSTATION_ID in g else [])], kind="stable")
    return g.reset_index(drop=True)


def programme_rank_by_substation(programme: gpd.GeoDataFrame | None) -> dict[str, int]:
    """Best (lowest) rank per substation id, for substation popups."""
    if programme is None or F.SUBSTATION_ID not in programme:
        return {}
    best = programme.groupby(programme[F.SUBSTATION_ID].astype(str))["rank"].min()
    return {k: int(v) for k, v in best.items()}


def conflicts_frame(outputs: RunOutputs) -> gpd.GeoDataFrame | None:
    """The ``conflicts`` layer of the run (land-claim overlaps and distance rules), or None.

    The maps show, when present, ``description_nl``, ``severity``,
    ``layer_a``/``id_a``, ``layer_b``/``id_b``, ``area_m2`` and ``dist_m``.
    """
    c = outputs.layers.get("conflicts")
    if c is None or not len(c):
        return None
    c = c[c.geometry.notna() & ~c.geometry.is_empty]
    return c if len(c) else None


# --------------------------------------------------------------------------------------
# display copies


def display_tolerance_m(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance for display, from the extent of the data (metres).

    About 1/5000 of the larger side: invisible on screen at the zoom that
    shows the whole region, kept between 1 and 100 m.

    Examples
    --------
    >>> display_tolerance_m((0, 0, 50_000, 30_000))
    10.0
    >>> display_tolerance_m((0, 0, 300_000, 300_000))
    60.0
    """
    side = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return float(np.clip(side / 5000.0, 1.0, 100.0))


def display_copy(gdf: gpd.GeoDataFrame, *, tolerance_m: float, to_wgs84: bool, decimals: int = 5) -> gpd.GeoDataFrame:
    """A simplified copy for display; optionally in EPSG:4326 with rounded coordinates.

    Polygons and lines are simplified in the working (metric) CRS with
    topology preserved; a geometry that simplification would empty keeps its
    original shape. Coordinates in degrees are rounded to ``decimals``
    (5 decimals is about 1 m). The input is not changed.

    Parameters
    ----------
    gdf : GeoDataFrame
        In a projected CRS (the working CRS).
    tolerance_m : float
    to_wgs84 : bool
        Reproject to EPSG:4326 (the web map); this is the one place in
        spatialprog that does.
    decimals : int
    """
    g = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    if g.crs is None:
        raise ValueError("display_copy: layer has no CRS")
    geoms = np.asarray(g.geometry.values)
    simple = geoms.copy()
    shaped = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (0, 4)))  # points have nothing to simplify
    if len(shaped):
        s = shapely.simplify(geoms[shaped], tolerance_m, preserve_topology=True)
        bad = shapely.is_empty(s) | (shapely.area(s) < 0.2 * shapely.area(geoms[shaped]))
        simple[shaped] = np.where(bad, geoms[shaped], s)
    g = g.set_geometry(gpd.GeoSeries(simple, index=g.index, crs=g.crs))
    if to_wgs84:
        g = g.to_crs(4326)
        g = g.set_geometry(gpd.GeoSeries(
            shapely.transform(np.asarray(g.geometry.values), lambda c: np.round(c, decimals)),
            index=g.index, crs=g.crs))
    return g


def site_layers(outputs: RunOutputs) -> dict[str, gpd.GeoDataFrame]:
    """The site layers present in the run (in the registry's order), then the land claims without
    demand (reserved substation land, HV lines)."""
    names = [k.name for k in kinds_with_role("site")] + [k.name for k in kinds_with_role("claim")]
    return {k: outputs.layers[k] for k in names if k in outputs.layers and len(outputs.layers[k])}


def title_nl(kind: str) -> str:
    """Dutch title of a layer kind (from :data:`~spatialprog.kinds.LAYER_KINDS`)."""
    if kind == "conflicts":
        return CONFLICTS_TITLE_NL
    if kind == "programme":
        return PROGRAMME_TITLE_NL
    return LAYER_KINDS[kind].title_nl


# --------------------------------------------------------------------------------------
# text


def run_date_nl(manifest: Mapping) -> str:
    """The run date as ``28 november 2026`` (empty when the manifest has none).

    Examples
    --------
    >>> run_date_nl({"run_date": "2026-11-28T15:48:55+00:00"})
    '28 november 2026'
    """
    raw = manifest.get("run_date")
    if not raw:
        return ""
    try:
        d = datetime.fromisoformat(str(raw))
    except ValueError:
        return str(raw)
    return f"{d.day} {_MONTHS_NL[d.month - 1]} {d.year}"


def source_line(outputs: RunOutputs) -> str:
    """The source line printed under maps: inputs, tool and date, and whether data are fictional.

    Examples
    --------
    >>> from spatialprog.outputs import RunOutputs
    >>> o = RunOutputs({}, {}, {"project": "P", "run_date": "2026-01-02T00:00:00", "fictional_data": True,
    ...                         "inputs": [{"role": "layers.substations", "path": "/x/net.gpkg"}]})
    >>> source_line(o)
    'Bron: net.gpkg; bewerking spatialprog, run 2 januari 2026; fictieve gegevens'
    """
    m = outputs.manifest
    files: list[str] = []
    for inp in m.get("inputs", []):
        if str(inp.get("role", "")).startswith("layers."):
            name = str(inp.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]
            if name and name not in files:
                files.append(name)
    parts = [f"Bron: {', '.join(files) if files else 'invoerlagen van het project'}"]
    date = run_date_nl(m)
    parts.append(f"bewerking spatialprog{', run ' + date if date else ''}")
    if m.get("fictional_data"):
        parts.append("fictieve gegevens")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------
# compact geometry for the web map

#: Coordinates in degrees are sent as integers of 1e-5 degree (about 1 m).
QUANTUM = 100_000


def _ring(coords: np.ndarray) -> list[int]:
    """A ring or line as integers of 1e-5 degree, the first vertex absolute and each next one as its step."""
    q = np.round(np.asarray(coords)[:, :2] * QUANTUM).astype(np.int64)
    if len(q) > 1:
        keep = np.r_[True, (np.diff(q, axis=0) != 0).any(axis=1)]  # vertices that quantise onto the one before
        q = q[keep]
    d = np.vstack([q[:1], np.diff(q, axis=0)]) if len(q) else q
    return d.ravel().tolist()


def encode_geometry(geom: shapely.Geometry) -> tuple[str, list]:
    """One geometry (EPSG:4326) in the web map's compact form: a type letter and integer coordinates.

    ``P``: ``[x, y]``; ``A`` (areas): a list of polygons, each a list of rings;
    ``L`` (lines): a list of lines; each ring or line as in :func:`_ring`
    (step-encoded integers of 1e-5 degree). The page decodes it with
    ``spDecode``.

    Examples
    --------
    >>> encode_geometry(shapely.Point(5.123456, 51.9))
    ('P', [512346, 5190000])
    >>> encode_geometry(shapely.box(5.0, 51.0, 5.001, 51.001))
    ('A', [[[500100, 5100000, 0, 100, -100, 0, 0, -100, 100, 0]]])
    """
    t = shapely.get_type_id(geom)
    if t == 0:  # Point
        return "P", _ring(shapely.get_coordinates(geom))
    if t == 4:  # MultiPoint: the map marks its first point
        return "P", _ring(shapely.get_coordinates(geom)[:1])
    if t in (3, 6):  # Polygon, MultiPolygon
        polys = [geom] if t == 3 else list(geom.geoms)
        return "A", [[_ring(r.coords) for r in (p.exterior, *p.interiors)] for p in polys if not p.is_empty]
    if t in (1, 2, 5):  # LineString, LinearRing, MultiLineString
        lines = [geom] if t != 5 else list(geom.geoms)
        return "L", [_ring(ln.coords) for ln in lines if not ln.is_empty]
    if t == 7:  # a collection: its polygons, else its lines, else its first point
        parts = list(geom.geoms)
        for want in ((3, 6), (1, 2, 5), (0, 4)):
            sub = [p for p in parts if shapely.get_type_id(p) in want]
            if sub:
                return encode_geometry(shapely.union_all(sub) if want != (0, 4) else sub[0])
    raise ValueError(f"encode_geometry: cannot draw a {geom.geom_type}")


def _steps(coords: np.ndarray, starts: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Many rings at once, as :func:`_ring` does one: ``coords`` (n, 2) in degrees, ``starts`` the first index
    of each ring (ascending, the first 0). Returns the flat step-encoded integers and each ring's start in them."""
    q = np.round(coords * QUANTUM).astype(np.int64)
    first = np.zeros(len(q), dtype=bool)
    first[starts] = True
    keep = first.copy()
    keep[1:] |= (np.diff(q, axis=0) != 0).any(axis=1)
    q, first = q[keep], first[keep]
    d = q.copy()
    d[1:] -= q[:-1]
    d[first] = q[first]
    ring_of = np.cumsum(first) - 1
    counts = np.bincount(ring_of, minlength=len(starts)) * 2
    offsets = np.r_[0, np.cumsum(counts)]
    return d.ravel().tolist(), offsets


def encode_geometries(geoms: np.ndarray) -> tuple[str, list]:
    """Every geometry of a layer in the web map's compact form, as :func:`encode_geometry` gives each one.

    Vectorised (shapely's parts, rings and coordinates of the whole layer at once): the same output as
    ``[encode_geometry(g) for g in geoms]``, in a fraction of the time at national scale.

    Returns
    -------
    (str, list)
        The type letters (one per geometry) and the encoded coordinates.

    Examples
    --------
    >>> t, g = encode_geometries(np.array([shapely.Point(5.123456, 51.9), shapely.box(5.0, 51.0, 5.001, 51.001)]))
    >>> t, g == [encode_geometry(shapely.Point(5.123456, 51.9))[1], encode_geometry(shapely.box(5.0, 51.0, 5.001, 51.001))[1]]
    ('PA', True)
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    letters = np.full(n, "", dtype=object)
    out: list = [None] * n
    # points: [x, y] (a multipoint: its first point)
    pts = np.flatnonzero((types == 0) | (types == 4))
    if len(pts):
        first = np.where(types[pts] == 0, geoms[pts], shapely.get_geometry(geoms[pts], 0))
        xy = np.round(shapely.get_coordinates(first) * QUANTUM).astype(np.int64).tolist()
        for i, c in zip(pts, xy, strict=True):
            letters[i], out[i] = "P", c
    # polygons and lines: parts -> rings -> coordinates, step-encoded per ring
    for letter, want in (("A", (3, 6)), ("L", (1, 2, 5))):
        sel = np.flatnonzero(np.isin(types, want))
        if not len(sel):
            continue
        parts, part_geom = shapely.get_parts(geoms[sel], return_index=True)
        ok = ~shapely.is_empty(parts)
        parts, part_geom = parts[ok], part_geom[ok]
        if letter == "A":
            rings, ring_part = shapely.get_rings(parts, return_index=True)
        else:
            rings, ring_part = parts, np.arange(len(parts))
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        starts = np.searchsorted(coord_ring, np.arange(len(rings)))
        flat, offsets = _steps(coords, starts)
        ring_lists = [flat[offsets[k]:offsets[k + 1]] for k in range(len(rings))]
        per_part: list[list] = [[] for _ in range(len(parts))]
        for k, p in enumerate(ring_part.tolist()):
            per_part[p].append(ring_lists[k])
        per_geom: list[list] = [[] for _ in range(len(sel))]
        for p, gi in enumerate(part_geom.tolist()):
            per_geom[gi].append(per_part[p] if letter == "A" else per_part[p][0])
        for j, i in enumerate(sel.tolist()):
            letters[i], out[i] = letter, per_geom[j]
    # anything else (collections): one at a time
    for i in np.flatnonzero(letters == "").tolist():
        letters[i], out[i] = encode_geometry(geoms[i])
    return "".join(letters.tolist()), out
