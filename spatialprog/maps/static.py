"""Static maps for reports (matplotlib, Agg): PNG and PDF, legible at A4 landscape.

* headroom status per milestone year as small multiples, one figure per
  direction (afname, invoeding) and variant;
* the first year of shortfall per service area, every variant on one page per
  direction, each substation labelled with every year in which it is short (not
  only milestone years: a shortfall that a planned reinforcement ends shows);
* the land-claim conflicts, numbered and listed, when the run has a ``conflicts`` layer;
* the ranked programme as numbered markers above its table, when the run has one.

Every figure has a legend with an entry for every symbol, a scale bar, a north
arrow and a source line (ending in "fictieve gegevens" when the manifest says the
data are fictional), and the context a reader needs without the internet: the
project's own boundaries layer with its names, and the substations by name. The
maps stay in the working CRS (metres, EPSG:28992 by default), so the scale bar
is exact; geometries are simplified for drawing only and each layer is drawn as
one collection. Numbers, words and tables are :mod:`spatialprog.maps.tables`'
(the Dutch way, with the decimals of their column in ``data/column_labels.csv``);
:mod:`spatialprog.report` puts the same figures and tables into one PDF.

The module is over 500 lines because each of the four kinds of figure lays out
its own A4 page around the helpers they share (context, legend, scale bar, north
arrow); its text and tables are in :mod:`spatialprog.maps.tables`.

Every text on a figure is drawn literally: names, ids, variants and the
project name are user text, so matplotlib's mathtext (``$...$``) and TeX are
switched off for all of them (:func:`literal_text`).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.table import Table
from matplotlib.text import Text

from .. import fields as F
from ..config import BASE_VARIANT
from ..outputs import RunOutputs
from . import _data as D
from ._shapes import line_segments, outline_path, polygon_paths
from .labels import MapLabels
from .tables import (
    conflict_line,
    conflict_rows,
    draw_table,
    periods_nl,
    programme_table,
    short_years,
    text_rows,
    variant_stems,
)

__all__ = ["headroom_figure", "first_shortfall_figure", "conflicts_figure", "programme_figure", "static_figures",
           "save_figure", "save_png", "save_pdf", "pdf_of", "literal_text", "A4_LANDSCAPE_IN"]

#: A4 landscape in inches.
A4_LANDSCAPE_IN = (11.69, 8.27)
_DPI = 200
_LABEL_MAX = 40  # label substations by name up to this many


def literal_text(fig: Figure) -> Figure:
    """Draw every text of ``fig`` as it is written: no mathtext, no TeX.

    A name such as ``Wijk $x^2$`` would otherwise be typeset as a formula,
    and ``$\\foo$`` would fail the drawing.

    Parameters
    ----------
    fig : Figure

    Returns
    -------
    Figure
        ``fig`` itself.

    Examples
    --------
    >>> fig = Figure()
    >>> t = fig.text(0, 0, "$x^2$")
    >>> t.get_parse_math(), literal_text(fig).texts[0].get_parse_math()
    (True, False)
    """
    texts = list(fig.findobj(Text))
    for table in fig.findobj(Table):  # a table's cells do not list their text as a child
        texts += [cell.get_text() for cell in table.get_celld().values()]
    for t in texts:
        t.set_usetex(False)
        t.set_parse_math(False)
    return fig


def _grid(n: int, aspect: float | None = None, *, width_in: float = 11.2, height_in: float = 6.4) -> tuple[int, int]:
    """Rows and columns for ``n`` small multiples on a landscape page.

    With the ``aspect`` (width / height) of the map, the layout that draws each panel largest in
    ``width_in`` x ``height_in`` (a title line above each panel); without it, by count.

    Examples
    --------
    >>> _grid(3), _grid(3, 4 / 3), _grid(4, 4 / 3), _grid(2, 0.6)
    ((1, 3), (2, 2), (2, 2), (1, 2))
    """
    if aspect is None or not math.isfinite(aspect) or aspect <= 0:
        if n <= 3:
            return 1, n
        if n == 4:
            return 2, 2
        return 2, math.ceil(n / 2)
    best, size = (1, n), -1.0
    for rows in range(1, n + 1):
        cols = math.ceil(n / rows)
        w, h = width_in / cols, height_in / rows - 0.35
        s = min(w, h * aspect) if h > 0 else 0.0
        if s > size + 1e-9:
            best, size = (rows, cols), s
    return best


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a quarter of ``span_m``: 1, 2 or 5 times a power of ten.

    Examples
    --------
    >>> _nice_length(40_000), _nice_length(7_000), _nice_length(300_000)
    (10000.0, 1000.0, 50000.0)
    """
    target = span_m / 4
    p = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * p <= target:
            return float(m * p)
    return float(p)


def add_scale_bar(ax: Axes, *, loc: str = "lower left") -> None:
    """A two-segment black/white scale bar in map units (metres) with a km/m label."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    h = (y1 - y0) * 0.012
    px = x0 + (x1 - x0) * 0.04
    py = y0 + (y1 - y0) * 0.05 if loc == "lower left" else y1 - (y1 - y0) * 0.1
    ax.add_patch(Rectangle((px - (x1 - x0) * 0.012, py - h * 2.2), length + (x1 - x0) * 0.024, h * 5.6,
                           facecolor="white", edgecolor="none", alpha=0.8, zorder=9))
    for i in range(2):
        ax.add_patch(Rectangle((px + i * length / 2, py), length / 2, h, facecolor="black" if i == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=10))
    unit = (lambda v: f"{v / 1000:g} km") if length >= 1000 else (lambda v: f"{v:g} m")
    for v in (0, length / 2, length):
        ax.text(px + v, py + h * 1.4, unit(v) if v == length else f"{v / (1000 if length >= 1000 else 1):g}",
                ha="center", va="bottom", fontsize=6.5, zorder=10)


def add_north_arrow(ax: Axes) -> None:
    """A north arrow in the upper right corner (grid north of the working CRS)."""
    ax.annotate("N", xy=(0.955, 0.93), xytext=(0.955, 0.80), xycoords="axes fraction", ha="center", va="center",
                fontsize=9, fontweight="bold", zorder=10,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2, "mutation_scale": 12})


def _panel(ax: Axes, title: str, note: str, *, first: bool, size: float) -> None:
    """A small-multiples panel's title (left), its note (right), and on the first panel the scale bar and north."""
    ax.set_title(title, fontsize=size, fontweight="bold", loc="left", pad=3)
    ax.text(1.0, 1.012, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5, color="#333")
    if first:
        add_scale_bar(ax)
        add_north_arrow(ax)


def _frame(ax: Axes, bounds: np.ndarray, *, pad: float = 0.03) -> None:
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
    ax.set_xlim(x0 - dx, x1 + dx)
    ax.set_ylim(y0 - dy, y1 + dy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for s in ax.spines.values():
        s.set_color("#888")
        s.set_linewidth(0.6)


def _header(fig: Figure, title: str, subtitle: str) -> None:
    fig.text(0.02, 0.975, title, fontsize=15, fontweight="bold", va="top")
    fig.text(0.02, 0.935, subtitle, fontsize=9.5, color="#444", va="top")


def _footer(fig: Figure, outputs: RunOutputs) -> None:
    fig.text(0.02, 0.012, D.source_line(outputs), fontsize=7, color="#555", va="bottom")
    fig.text(0.98, 0.012, f"CRS: {outputs.manifest.get('crs', '')}", fontsize=7, color="#555", va="bottom",
             ha="right")


def _year_colours(years: Sequence[int]) -> dict[int, str]:
    """A colour per first year of shortfall: the earliest darkest (``magma``), spread over the years present
    so that neighbouring years still read apart."""
    ys = sorted(set(years))
    n = len(ys)
    return {y: to_hex(colormaps["magma"](0.25 + 0.65 * (i / (n - 1) if n > 1 else 0.0))) for i, y in enumerate(ys)}


# --------------------------------------------------------------------------------------
# context: the region's own boundaries with their names, the substations with theirs

_HALO_PT = 2.4  # the white halo around a place name, points
_PLACE_MAX = 60  # name the boundaries up to this many
_NO_SHORTFALL = "#d9ead3"


def _place_points(g: gpd.GeoDataFrame, avoid: np.ndarray) -> list[tuple[float, float]]:
    """Where each boundary's name goes: of nine points spread over it (inside it), the one farthest from the
    substations (``avoid``, an (n, 2) array; their labels sit beside them), vertical distance counting double
    since a label is wider than high; its representative point when none is inside."""
    out = []
    for geom in g.geometry:
        x0, y0, x1, y1 = geom.bounds
        cands = [shapely.Point(x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy) for fy in (0.5, 0.8, 0.2)
                 for fx in (0.5, 0.25, 0.75)]
        cands = [p for p in cands if geom.contains(p)] or [geom.representative_point()]
        if len(avoid):
            sx, sy = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
            far = [float(np.min(((avoid[:, 0] - p.x) / sx) ** 2 + (2 * (avoid[:, 1] - p.y) / sy) ** 2))
                   for p in cands]
            p = cands[int(np.argmax(far))]
        else:
            p = cands[0]
        out.append((p.x, p.y))
    return out


def _context(ax: Axes, outputs: RunOutputs, tol: float, *, fontsize: float = 9.0) -> bool:
    """The project's boundaries layer (dashed) with its names; True when there is one."""
    b = outputs.layers.get(D.BOUNDARIES_KIND)
    if b is None or not len(b):
        return False
    g = _shown(b, tol)
    segments = _cached_paths(g, "boundaries", lambda geoms: line_segments(shapely.boundary(geoms)))
    ax.add_collection(LineCollection(segments, linewidth=0.9, linestyle="--", zorder=3, color="#333"), autolim=False)
    if "name" in g and len(g) <= _PLACE_MAX:
        subs = outputs.layers.get("substations")
        avoid = (np.column_stack([subs.geometry.x, subs.geometry.y]) if subs is not None and len(subs)
                 else np.empty((0, 2)))
        names = MapLabels(fontsize=fontsize, style="italic", color="#222", alpha=0.85, halo_pt=_HALO_PT)
        names.set_zorder(7)
        places = _memo(_PATHS, (id(g), "places"), g, lambda: _place_points(g, avoid))  # the same for every panel
        for (x, y), nm in zip(places, g["name"], strict=True):
            if isinstance(nm, str) and nm.strip():
                names.add(x, y, nm)
        ax.add_artist(names)
    return True


def _boundary_handle() -> Line2D:
    return Line2D([], [], color="#333", linewidth=0.9, linestyle="--", label=f"{D.title_nl(D.BOUNDARIES_KIND).lower()} "
                  f"(met naam)")


def _substation_labels(ax: Axes, subs: gpd.GeoDataFrame, *, fontsize: float = 6.2, below: bool = False,
                       extra: dict[str, str] | None = None) -> None:
    """Each substation's name (its id where unnamed) beside its dot; ``extra`` adds a second line per id."""
    if len(subs) > _LABEL_MAX:
        return
    names = subs["name"] if "name" in subs else subs["id"]
    labels = MapLabels(fontsize=fontsize, va="top" if below else "bottom", offset_pt=(0, -6 if below else 5.5),
                       linespacing=1.1, box={"pad": 0.12, "fc": "white", "alpha": 0.8}, clip=True)
    labels.set_zorder(6)
    for sid, x, y, nm in zip(subs["id"].astype(str), subs.geometry.x, subs.geometry.y, names, strict=True):
        text = str(nm) if isinstance(nm, str) and nm else sid
        if extra and sid in extra:
            text += "\n" + extra[sid]
        labels.add(x, y, text)
    ax.add_artist(labels)


def _status_legend(fig: Figure, classes: list[D.StatusClass], present: set[str], *, extra: list | None = None,
                   boundaries: bool = False) -> None:
    handles = [Patch(facecolor=c.colour, edgecolor="#555", linewidth=0.5, label=c.label_nl)
               for c in classes if c.code != D.NO_DATA.code or D.NO_DATA.code in present]
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="#111111", markeredgecolor="white",
                          markersize=7, label="onderstation (met naam)"))
    if boundaries:
        handles.append(_boundary_handle())
    handles += extra or []
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), frameon=False, fontsize=8.5,
               bbox_to_anchor=(0.5, 0.03), handlelength=1.6, columnspacing=1.6)


def _aspect(extent: np.ndarray) -> float:
    x0, y0, x1, y1 = extent
    return float((x1 - x0) / (y1 - y0)) if y1 > y0 else 1.0


#: display copies made for the figures of one run: (id of the layer, tolerance) -> (the layer, its copy)
_SHOWN: dict[tuple[int, float], tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = {}


def _memo(cache: dict, key: tuple, owner: gpd.GeoDataFrame, make):
    """``make()``, kept in ``cache`` under ``key`` while ``owner`` is the same object (at most 32 entries)."""
    hit = cache.get(key)
    if hit is not None and hit[0] is owner:
        return hit[1]
    if len(cache) >= 32:
        cache.clear()
    value = make()
    cache[key] = (owner, value)
    return value


def _shown(g: gpd.GeoDataFrame, tol: float) -> gpd.GeoDataFrame:
    """The simplified copy of a layer for drawing, made once for all figures and panels of a run (a national
    run's service areas, boundaries and sites were simplified again for every panel)."""
    return _memo(_SHOWN, (id(g), tol), g, lambda: D.display_copy(g, tolerance_m=tol, to_wgs84=False))


#: the matplotlib paths of a display copy, made once for all its panels: id of the copy -> (the copy, its paths)
_PATHS: dict[tuple[int, str], tuple[gpd.GeoDataFrame, object]] = {}


def _cached_paths(g: gpd.GeoDataFrame, kind: str, make):
    return _memo(_PATHS, (id(g), kind), g, lambda: make(np.asarray(g.geometry.values)))


class _AreaCollection(PathCollection):
    """The polygons of one layer on one panel (geopandas' ``plot`` draws them as a ``PatchCollection``; a
    ``PathCollection`` as such on these maps is a layer of dots)."""


def _plot_areas(ax: Axes, g: gpd.GeoDataFrame, facecolor, *, once: bool = True, **kw) -> None:
    """``g.plot(ax=ax, facecolor=..., **kw)`` for a layer of polygons: the same collection as geopandas draws
    (one compound path per polygon), without a ``PathPatch`` per polygon (400 service areas on 32 panels made
    13,000; a national run's conflicts 20,000); with ``once`` the paths are made once for every panel."""
    paths, at = (_cached_paths(g, "polygons", polygon_paths) if once
                 else polygon_paths(np.asarray(g.geometry.values)))
    if not len(paths):
        return
    if not isinstance(facecolor, str):
        facecolor = np.asarray(facecolor, dtype=object)[at]
    ax.add_collection(_AreaCollection(paths, facecolor=facecolor, **kw), autolim=False)


def _plot_lines(ax: Axes, g: gpd.GeoDataFrame, *, color: str, **kw) -> None:
    """``g.plot(ax=ax, color=..., **kw)`` for a layer of lines: the collection geopandas draws."""
    ax.add_collection(LineCollection(line_segments(np.asarray(g.geometry.values)), **kw, color=color),
                      autolim=False)


def _areas(outputs: RunOutputs):
    """(substations, display copy of the service areas or None, extent, tolerance)."""
    subs = outputs.layers["substations"]
    areas = outputs.layers.get("service_areas")
    has = areas is not None and len(areas)
    extent = (areas if has else subs).total_bounds
    tol = D.display_tolerance_m(tuple(extent))
    ga = _shown(areas, tol) if has else None
    return subs, ga, extent, tol


# --------------------------------------------------------------------------------------
# the figures


def headroom_figure(outputs: RunOutputs, *, direction: str = F.OFFTAKE, variant: str | None = None,
                    years: list[int] | None = None) -> Figure:
    """Small multiples of the headroom status per service area, one panel per milestone year.

    Parameters
    ----------
    outputs : RunOutputs
    direction : {"offtake", "feedin"}
    variant : str, optional
        Default: the base variant.
    years : list of int, optional
        Default: the milestone years of the run.

    Returns
    -------
    matplotlib.figure.Figure
        A4 landscape; save with :func:`save_figure`.
    """
    classes = D.status_classes()
    colour = {c.code: c.colour for c in classes}
    H = D.status_lookup(outputs)
    by_year = set(H.index.droplevel(F.SUBSTATION_ID))
    all_years, milestones = D.years_of(outputs)
    years = years or milestones
    variant = variant or D.variants_of(outputs)[0]
    subs, ga, extent, tol = _areas(outputs)
    sids = subs["id"].astype(str)
    label = len(subs) <= _LABEL_MAX

    rows, cols = _grid(len(years), _aspect(extent))
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=_DPI)
    top, bottom = 0.90, 0.13
    gs = fig.add_gridspec(rows, cols, left=0.02, right=0.98, top=top, bottom=bottom, wspace=0.04, hspace=0.12)
    present: set[str] = set()
    has_bounds = False
    for k, y in enumerate(years):
        ax = fig.add_subplot(gs[k // cols, k % cols])
        # the status of each substation that year: one lookup of the year's rows, not one per substation
        year_status = (H.loc[(variant, direction, y), F.STATUS] if (variant, direction, y) in by_year
                       else pd.Series(dtype=object))
        st = sids.map(year_status).fillna(D.NO_DATA.code)
        counts = st.value_counts()
        if ga is not None:
            codes = ga[F.SUBSTATION_ID].astype(str).map(year_status).fillna(D.NO_DATA.code)
            present |= set(codes)
            _plot_areas(ax, ga, [colour.get(c, D.NO_DATA.colour) for c in codes], edgecolor="white",
                    linewidth=0.6, zorder=1)
        present |= set(st)
        has_bounds = _context(ax, outputs, tol, fontsize=7.5 if rows > 1 else 9) or has_bounds
        xs, ys = subs.geometry.x.to_numpy(), subs.geometry.y.to_numpy()
        ax.scatter(xs, ys, s=26 if label else 10, c="#111111", edgecolors="white", linewidths=0.8, zorder=5)
        _substation_labels(ax, subs)
        _frame(ax, extent)
        worst = [f"{counts.get(c.code, 0)}× {c.label_nl.split(' (')[0].lower()}" for c in classes[1:-1]
                 if counts.get(c.code, 0)]
        _panel(ax, f"{y}", "; ".join(worst) if worst else "overal ruimte", first=k == 0, size=12)
    dir_nl = F.DIRECTION_NL[direction]
    _header(fig, f"Netruimte {dir_nl} per voedingsgebied \u2013 {outputs.project_name}",
            f"Ontwikkelvariant {variant} \u00b7 status in de mijlpaaljaren, kleuren als de capaciteitskaart van "
            f"Netbeheer Nederland \u00b7 elk jaar met tekort: eerste_tekort_{dir_nl}")
    _status_legend(fig, classes, present, boundaries=has_bounds)
    _footer(fig, outputs)
    return literal_text(fig)


def first_shortfall_figure(outputs: RunOutputs, *, direction: str = F.OFFTAKE,
                           variants: list[str] | None = None) -> Figure:
    """The first year of shortfall per service area, one panel per variant, every year with a shortfall named.

    Each service area is coloured by its substation's first year without headroom (every year of the
    horizon, not only milestones); its label gives the substation's name and all the years in which it is
    short (``2028–2029``, ``vanaf 2031``), so a shortfall that a planned reinforcement ends still shows.

    Parameters
    ----------
    outputs : RunOutputs
    direction : {"offtake", "feedin"}
    variants : list of str, optional
        Default: every variant of the run, the base variant first.

    Returns
    -------
    matplotlib.figure.Figure
    """
    variants = variants or D.variants_of(outputs)
    all_years, _ = D.years_of(outputs)
    y0, y1 = all_years[0], all_years[-1]
    subs, ga, extent, tol = _areas(outputs)
    sids = subs["id"].astype(str)
    rows, cols = _grid(len(variants), _aspect(extent), height_in=5.9)
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=_DPI)
    gs = fig.add_gridspec(rows, cols, left=0.02, right=0.98, top=0.88, bottom=0.16, wspace=0.04, hspace=0.14)
    shorts = {v: short_years(outputs, v, direction) for v in variants}
    colours = _year_colours([ys[0] for sh in shorts.values() for ys in sh.values()])
    has_bounds = False
    small = len(variants) > 1
    for k, v in enumerate(variants):
        ax = fig.add_subplot(gs[k // cols, k % cols])
        short = shorts[v]
        first = {s: ys[0] for s, ys in short.items()}
        if ga is not None:
            fc = [colours[first[s]] if s in first else _NO_SHORTFALL for s in ga[F.SUBSTATION_ID].astype(str)]
            _plot_areas(ax, ga, fc, edgecolor="white", linewidth=0.6, zorder=1)
        has_bounds = _context(ax, outputs, tol, fontsize=7.5 if small else 9) or has_bounds
        dot = ["#111111" if ga is not None else (colours[first[s]] if s in first else _NO_SHORTFALL) for s in sids]
        ax.scatter(subs.geometry.x, subs.geometry.y, s=18 if small else 26, c=dot, edgecolors="white",
                   linewidths=0.8, zorder=5)
        _substation_labels(ax, subs, fontsize=5.6 if small else 6.5,
                           extra={s: "tekort " + periods_nl(ys, y1) for s, ys in short.items()})
        _frame(ax, extent)
        _panel(ax, v, f"{len(short)} van {len(sids)} onderstations met tekort" if short else "geen tekort",
               first=k == 0, size=11)
    dir_nl = F.DIRECTION_NL[direction]
    _header(fig, f"Eerste jaar tekort {dir_nl} per onderstation \u2013 {outputs.project_name}",
            f"Kleur: het eerste jaar zonder ruimte ({y0}-{y1}, elk jaar); label: naam en alle jaren met tekort; "
            f"per ontwikkelvariant")
    handles: list = [Patch(facecolor=c, edgecolor="#555", linewidth=0.5, label=f"eerste tekort {y}")
                     for y, c in colours.items()]
    handles.append(Patch(facecolor=_NO_SHORTFALL, edgecolor="#555", linewidth=0.5, label=f"geen tekort t/m {y1}"))
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="#111111", markeredgecolor="white",
                          markersize=7, label="onderstation (met naam)"))
    if has_bounds:
        handles.append(_boundary_handle())
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False, fontsize=8,
               bbox_to_anchor=(0.5, 0.03), handlelength=1.4, columnspacing=1.2)
    _footer(fig, outputs)
    return literal_text(fig)


def _grey_base(outputs: RunOutputs, box: tuple[float, float, float, float], facecolor: str):
    """An A4 figure with one map axis showing the service areas in grey, as large as fits in ``box`` (left, top,
    width, height; figure fraction); returns (fig, ax, tolerance_m, extent, rect of the map)."""
    subs, ga, extent, tol = _areas(outputs)
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=_DPI)
    rect = _map_rect(extent, fig, *box)
    ax = fig.add_axes(rect)
    if ga is not None:
        _plot_areas(ax, ga, facecolor, edgecolor="white", linewidth=0.8, zorder=0)
    return fig, ax, tol, extent, rect


_CONFLICT_NUMBERS = 60  # number the conflicts on the map up to this many


def conflicts_figure(outputs: RunOutputs) -> Figure | None:
    """The land-claim conflicts over the claim layers; None when the run has no conflicts layer.

    Every conflict is numbered on the map (a marker of its severity's colour, so a conflict of a few square
    metres shows at the scale of the region) and listed beside it; every symbol on the map has its legend
    entry (polygons, lines and points of each layer apart); boundaries and substations carry their names.
    """
    rows = conflict_rows(outputs)
    if rows is None:
        return None
    subs = outputs.layers["substations"]
    fig, ax, tol, extent, rect = _grey_base(outputs, (0.02, 0.90, 0.62, 0.62), "#f2f2f2")
    handles: list = []
    for kind, g in D.site_layers(outputs).items():
        c = D.site_colour(kind)
        title = D.title_nl(kind)
        gd = _shown(g, tol)
        t = gd.geometry.geom_type.fillna("")
        poly, line, pts = t.str.contains("Polygon"), t.str.contains("LineString"), t.str.contains("Point")
        # each layer's outlines as one path (one draw call, also in the PDF; 1e5 sites drew 1e5 patches)
        if poly.any():
            # add_artist: the frame sets the limits; add_patch would walk every vertex in Python for them
            ax.add_artist(PathPatch(outline_path(gd.geometry[poly].to_numpy()), facecolor="none", edgecolor=c,
                                    linewidth=0.7, zorder=2))
            handles.append(Patch(facecolor="none", edgecolor=c, label=title))
        if line.any():
            ax.add_artist(PathPatch(outline_path(gd.geometry[line].to_numpy()), facecolor="none", edgecolor=c,
                                    linewidth=1.0, zorder=2))
            handles.append(Line2D([], [], color=c, linewidth=1.2, label=title))
        if pts.any():
            p = gd[pts].geometry.representative_point()
            ax.scatter(p.x, p.y, s=9, c=c, linewidths=0, zorder=2)
            handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor=c,
                                  markersize=4, label=title + (" (punt)" if poly.any() or line.any() else "")))
    has_bounds = _context(ax, outputs, tol)
    gc = D.display_copy(rows, tolerance_m=tol, to_wgs84=False)
    sev = gc["severity"].astype(str) if "severity" in gc else pd.Series("hoog", index=gc.index)
    numbered = len(gc) <= _CONFLICT_NUMBERS
    placed: list[tuple[float, float]] = []
    for level, c in D.SEVERITY_COLOURS.items():
        part = gc[sev == level]
        if not len(part):
            continue
        kinds = part.geometry.geom_type.fillna("")
        poly, line = kinds.str.contains("Polygon"), kinds.str.contains("LineString")
        if poly.any():
            _plot_areas(ax, part[poly], c, once=False, edgecolor=c, linewidth=0.8, alpha=0.6, zorder=4)
        if line.any():
            _plot_lines(ax, part[line], color=c, linewidth=2.0, zorder=4)
        at = part.geometry.representative_point()
        xs, ys = _spread(at.x.to_numpy(), at.y.to_numpy(), placed, (extent[2] - extent[0]) * 0.014)
        ax.scatter(xs, ys, s=70 if numbered else 22, c=c, edgecolors="white", linewidths=0.9, zorder=8)
        if numbered:
            for x, y, nr in zip(xs, ys, part["nr"], strict=True):
                ax.text(x, y, str(nr), ha="center", va="center", fontsize=5.6, color="white", fontweight="bold",
                        zorder=9)
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="white",
                              markersize=8, label=f"conflict, ernst {level} ({len(part)})"))
    ax.scatter(subs.geometry.x, subs.geometry.y, s=22, c="white", edgecolors="black", linewidths=0.8, zorder=5)
    _substation_labels(ax, subs, fontsize=5.8, below=True)
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="black",
                          label=D.title_nl("substations") + " (met naam)"))
    if has_bounds:
        handles.append(_boundary_handle())
    _frame(ax, extent)
    add_scale_bar(ax)
    add_north_arrow(ax)
    _header(fig, f"Conflicten tussen ruimteclaims \u2013 {outputs.project_name}",
            f"{len(gc)} conflicten: overlap van claims en afstandsregels; het nummer op de kaart is de rij in de lijst")
    fig.legend(handles=handles, loc="upper left", ncol=3, frameon=False, fontsize=7.5,
               bbox_to_anchor=(rect[0], rect[1] - 0.01), handlelength=1.5, columnspacing=1.2)
    # the list beside the map: as many as fit, then where the rest is
    x = rect[0] + rect[2] + 0.02
    chars = int((0.98 - x - 0.06) * A4_LANDSCAPE_IN[0] * 72 / (0.56 * 7))
    y = 0.90
    fig.text(x, y, "nr", fontsize=8, fontweight="bold", va="top")
    fig.text(x + 0.022, y, "ernst", fontsize=8, fontweight="bold", va="top")
    fig.text(x + 0.06, y, "conflict", fontsize=8, fontweight="bold", va="top")
    y -= 0.026
    shown = 0
    for r in _records(rows):
        what, between = conflict_line(pd.Series(r))
        lines = textwrap.wrap(what, chars)[:2] + textwrap.wrap(between, int(chars * 1.1))[:2]
        step = 0.0135 * len(lines) + 0.008
        if y - step < 0.06:
            break
        fig.text(x, y, f"{r['nr']}", fontsize=7, va="top", fontweight="bold")
        fig.text(x + 0.022, y, str(r.get("severity", "")), fontsize=7, va="top",
                 color=D.SEVERITY_COLOURS.get(str(r.get("severity")), "#333"))
        n_what = len(textwrap.wrap(what, chars)[:2])
        fig.text(x + 0.06, y, "\n".join(lines[:n_what]), fontsize=7, va="top", linespacing=1.15)
        fig.text(x + 0.06, y - 0.0135 * n_what, "\n".join(lines[n_what:]), fontsize=6.3, va="top", color="#444",
                 linespacing=1.15)
        y -= step
        shown += 1
    if shown < len(rows):
        fig.text(x, y, f"\u2026 en {len(rows) - shown} meer: conflicts.csv", fontsize=7, va="top", color="#444")
    _footer(fig, outputs)
    return literal_text(fig)


def _records(frame: pd.DataFrame, chunk: int = 64):
    """``frame.to_dict("records")`` a few rows at a time, for a loop that stops early (the conflicts list
    beside the map holds about thirty of a national run's 20,000)."""
    for i in range(0, len(frame), chunk):
        yield from frame.iloc[i:i + chunk].to_dict("records")


def _spread(xs: np.ndarray, ys: np.ndarray, placed: list[tuple[float, float]], d: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Markers moved right, a marker's width at a time, off the markers already ``placed`` (updated), so two
    conflicts at one spot both show their number."""
    xs, ys = xs.astype(float).copy(), ys.astype(float).copy()
    if d <= 0:
        placed.extend(zip(xs.tolist(), ys.tolist(), strict=True))
        return xs, ys
    # the placed markers by grid cell of side d: a marker closer than d in x and y is in one of the 3 x 3
    # cells around (the same answer as comparing with every placed marker, in linear time)
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for px, py in placed:
        cells.setdefault((math.floor(px / d), math.floor(py / d)), []).append((px, py))

    def near(x: float, y: float) -> bool:
        cx, cy = math.floor(x / d), math.floor(y / d)
        return any(abs(x - px) < d and abs(y - py) < d for i in (-1, 0, 1) for j in (-1, 0, 1)
                   for px, py in cells.get((cx + i, cy + j), ()))

    for i in range(len(xs)):
        for _ in range(8):
            if not near(xs[i], ys[i]):
                break
            xs[i] += d
        placed.append((xs[i], ys[i]))
        cells.setdefault((math.floor(xs[i] / d), math.floor(ys[i] / d)), []).append((xs[i], ys[i]))
    return xs, ys


def _map_rect(extent: np.ndarray, fig: Figure, left: float, top: float, max_w: float, max_h: float,
              pad: float = 0.03) -> tuple[float, float, float, float]:
    """The axes rectangle (figure fraction) of a map of ``extent`` as large as fits in ``max_w`` x ``max_h``
    below ``top``: exactly the map's shape, so what sits beside or below it can start where it ends."""
    fig_w, fig_h = fig.get_size_inches()
    aspect = _aspect(extent)
    w_in, h_in = max_w * fig_w, max_h * fig_h
    if w_in / h_in > aspect:
        w_in = h_in * aspect
    else:
        h_in = w_in / aspect
    return left, top - h_in / fig_h, w_in / fig_w, h_in / fig_h


def programme_figure(outputs: RunOutputs, *, top: int = 20) -> Figure | None:
    """The ranked programme of the base variant: numbered markers on the map, its table below; None without one.

    The table takes the height its rows need and the map the rest of the page.
    """
    prog = D.programme_frame(outputs)
    table = programme_table(outputs)
    if prog is None or table is None:
        return None
    shown = prog.head(top)
    rows = table.head(top)
    heads, cells = text_rows(rows)
    for j, c in enumerate(rows.columns):  # the step in the programme's own words, on two lines where long
        if c in ("transformer_step", "intervention", "name"):
            for r in cells:
                r[j] = "\n".join(textwrap.wrap(r[j], 34 if c != "name" else 24)) or r[j]
    table_h = min(0.46, 0.032 * (len(rows) + 2))
    subs = outputs.layers["substations"]
    fig, ax, tol, extent, rect = _grey_base(outputs, (0.02, 0.90, 0.62, 0.90 - 0.07 - table_h - 0.03), "#eeeeee")
    has_bounds = _context(ax, outputs, tol)
    ax.scatter(subs.geometry.x, subs.geometry.y, s=12, c="#999", zorder=2)
    for r in shown.itertuples(index=False):
        ax.annotate(str(int(r.rank)), (r.geometry.x, r.geometry.y), ha="center", va="center", fontsize=7.5,
                    color="white", fontweight="bold", zorder=6,
                    bbox={"boxstyle": "circle,pad=0.3", "fc": "#111", "ec": "white", "lw": 1.2})
    _substation_labels(ax, subs, fontsize=5.8, below=True)
    _frame(ax, extent)
    add_scale_bar(ax)
    add_north_arrow(ax)
    variant = str(prog[F.VARIANT].iat[0]) if F.VARIANT in prog else BASE_VARIANT
    x = rect[0] + rect[2] + 0.025
    fig.text(x, 0.88, "\n".join(textwrap.wrap(
        "Maatregelen per onderstation met een tekort binnen de horizon, gerangschikt volgens het afwegingskader "
        f"(data/ranking_criteria.csv); ontwikkelvariant: {variant}.", 58)) + "\n\n" + "\n".join(
        textwrap.fill(t, 58) for t in (
            "Start = eerste jaar tekort min de doorlooptijd van de maatregel (te laat: vóór het basisjaar).",
            "Stap = de kleinste standaardstap die het tekort dekt, of een nieuw onderstation.",
            "Wachtende woningen = woningen die door het tekort niet kunnen aansluiten, in het jaar waarin het meest "
            "wacht.")), fontsize=8, va="top", color="#333", linespacing=1.3)
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="#111", markeredgecolor="white",
                      markersize=10, label="maatregel (nummer = rang)"),
               Line2D([], [], marker="o", linestyle="", markerfacecolor="#999", markeredgecolor="#999",
                      markersize=5, label="onderstation (met naam)")]
    if has_bounds:
        handles.append(_boundary_handle())
    fig.legend(handles=handles, loc="lower left", frameon=False, fontsize=8, bbox_to_anchor=(x - 0.005, rect[1]))
    numeric = [pd.api.types.is_numeric_dtype(rows[c]) for c in rows.columns]
    top_t = rect[1] - 0.03
    draw_table(fig, (0.02, 0.07, 0.96, top_t - 0.07), heads, cells, fontsize=7.5 if len(rows) <= 12 else 6.5,
               numeric=numeric)
    _header(fig, f"Programma: rangorde van de maatregelen \u2013 {outputs.project_name}",
            f"De eerste {len(rows)} van {len(prog)} maatregelen; nummer = rang")
    _footer(fig, outputs)
    return literal_text(fig)


def static_figures(outputs: RunOutputs) -> dict[str, Figure]:
    """Every static map of a run, keyed by file stem.

    Returns
    -------
    dict of str -> Figure
        Per direction the status at the milestone years of every variant (``netruimte_afname`` for the
        base variant, ``netruimte_afname_hoog`` ... for the others: :func:`variant_stems`), the first year
        of shortfall of every variant on one page (``eerste_tekort_afname``, ``eerste_tekort_invoeding``),
        and ``conflicten`` and ``programma`` when the run has them.
    """
    variants = D.variants_of(outputs)
    stems = variant_stems(variants)
    out: dict[str, Figure] = {}
    for d in F.DIRECTIONS:
        for v in variants:
            out[f"netruimte_{F.DIRECTION_NL[d]}{stems[v]}"] = headroom_figure(outputs, direction=d, variant=v)
    for d in F.DIRECTIONS:
        out[f"eerste_tekort_{F.DIRECTION_NL[d]}"] = first_shortfall_figure(outputs, direction=d, variants=variants)
    c = conflicts_figure(outputs)
    if c is not None:
        out["conflicten"] = c
    p = programme_figure(outputs)
    if p is not None:
        out["programma"] = p
    _SHOWN.clear()  # the copies belong to this run
    _PATHS.clear()
    return out


#: zlib level of the PNG maps: 1 packs a province's A4 map at 200 dpi in 0.11 s against 0.15 s at 3 and 0.21 s at
#: PIL's 6, the file 3 % larger than at 3 (1.33 against 1.30 MB; lossless all; the same level gives the same bytes)
_PNG_LEVEL = 1


def save_figure(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` in ``folder`` (:func:`save_png`, :func:`save_pdf`)."""
    png = save_png(fig, folder, stem)
    save_pdf(fig, folder, stem)
    return [png, folder / f"{stem}.pdf"]


def save_png(fig: Figure, folder: Path, stem: str) -> Path:
    """Save ``fig`` as ``stem.png`` in ``folder``: 200 dpi, the pixels of matplotlib's ``savefig`` without its
    alpha channel (the page is opaque white: a quarter less to pack), at zlib level :data:`_PNG_LEVEL`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    png = folder / f"{stem}.png"
    canvas = fig.canvas
    try:
        with _dpi(fig, _DPI):
            rgba, size = FigureCanvasAgg(fig).print_to_buffer()
    finally:
        fig.set_canvas(canvas)
    image = Image.frombuffer("RGBA", size, rgba, "raw", "RGBA", 0, 1)
    if image.getextrema()[3] == (255, 255):  # opaque: the colours alone
        image = image.convert("RGB")
    image.save(png, format="png", compress_level=_PNG_LEVEL, dpi=(_DPI, _DPI))
    return png


def save_pdf(fig: Figure, folder: Path, stem: str) -> bytes:
    """Save ``fig`` as ``stem.pdf`` in ``folder`` (:func:`pdf_of`); the bytes written (the report's map page)."""
    data = pdf_of(fig)
    (folder / f"{stem}.pdf").write_bytes(data)
    return data


def pdf_of(fig: Figure) -> bytes:
    """``fig`` as a one-page PDF, vector (no creation date or producer: the same map, the same bytes); the
    report takes its map pages from these bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "Creator": None, "Producer": None})
    return buf.getvalue()


@contextmanager
def _dpi(fig: Figure, dpi: float):
    old = fig.dpi
    fig.set_dpi(dpi)
    try:
        yield
    finally:
        fig.set_dpi(old)
