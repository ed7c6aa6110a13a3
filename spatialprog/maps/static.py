"""Static maps for reports (matplotlib, Agg): PNG and PDF, legible at A4 landscape.

* headroom status per milestone year as small multiples, one figure per
  direction (afname, invoeding), for the base variant;
* the land-claim conflicts, when the run has a ``conflicts`` layer;
* the ranked programme as numbered markers beside its table, when the run has one.

Every figure has a legend, a scale bar, a north arrow and a source line
(ending in "fictieve gegevens" when the manifest says the data are fictional).
The maps stay in the working CRS (metres, EPSG:28992 by default), so the
scale bar is exact; geometries are simplified for drawing only.

Every text on a figure is drawn literally: names, ids, variants and the
project name are user text, so matplotlib's mathtext (``$...$``) and TeX are
switched off for all of them (:func:`literal_text`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.table import Table
from matplotlib.text import Text

from .. import fields as F
from ..outputs import RunOutputs
from . import _data as D

__all__ = ["headroom_figure", "conflicts_figure", "programme_figure", "static_figures", "save_figure", "literal_text",
           "A4_LANDSCAPE_IN"]

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


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns for ``n`` small multiples on a landscape page."""
    if n <= 3:
        return 1, n
    if n == 4:
        return 2, 2
    cols = math.ceil(n / 2)
    return 2, cols


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


def _status_legend(fig: Figure, classes: list[D.StatusClass], present: set[str], *, extra: list | None = None) -> None:
    handles = [Patch(facecolor=c.colour, edgecolor="#555", linewidth=0.5, label=c.label_nl)
               for c in classes if c.code != D.NO_DATA.code or D.NO_DATA.code in present]
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="#111111", markeredgecolor="white",
                          markersize=7, label="onderstation"))
    handles += extra or []
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), frameon=False, fontsize=8.5,
               bbox_to_anchor=(0.5, 0.03), handlelength=1.6, columnspacing=1.6)


def _boundaries(ax: Axes, outputs: RunOutputs, tol: float) -> None:
    b = outputs.layers.get(D.BOUNDARIES_KIND)
    if b is not None and len(b):
        D.display_copy(b, tolerance_m=tol, to_wgs84=False).boundary.plot(ax=ax, color="#333", linewidth=0.8,
                                                                         linestyle="--", zorder=3)


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
    all_years, milestones = D.years_of(outputs)
    years = years or milestones
    variant = variant or D.variants_of(outputs)[0]
    subs = outputs.layers["substations"]
    areas = outputs.layers.get("service_areas")
    extent = (areas if areas is not None and len(areas) else subs).total_bounds
    tol = D.display_tolerance_m(tuple(extent))
    ga = D.display_copy(areas, tolerance_m=tol, to_wgs84=False) if areas is not None and len(areas) else None
    sids = subs["id"].astype(str)
    label = len(subs) <= _LABEL_MAX

    rows, cols = _grid(len(years))
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=_DPI)
    top, bottom = 0.90, 0.13
    gs = fig.add_gridspec(rows, cols, left=0.02, right=0.98, top=top, bottom=bottom, wspace=0.04, hspace=0.12)
    present: set[str] = set()
    for k, y in enumerate(years):
        ax = fig.add_subplot(gs[k // cols, k % cols])
        st = pd.Series({s: H.at[(variant, direction, y, s), F.STATUS] if (variant, direction, y, s) in H.index
                        else D.NO_DATA.code for s in sids}, dtype=object)
        counts = st.value_counts()
        if ga is not None:
            codes = ga[F.SUBSTATION_ID].astype(str).map(lambda s, y=y: H.at[(variant, direction, y, s), F.STATUS]
                                                        if (variant, direction, y, s) in H.index else D.NO_DATA.code)
            present |= set(codes)
            ga.plot(ax=ax, color=[colour.get(c, D.NO_DATA.colour) for c in codes], edgecolor="white",
                    linewidth=0.6, zorder=1)
        present |= set(st)
        _boundaries(ax, outputs, tol)
        xs, ys = subs.geometry.x.to_numpy(), subs.geometry.y.to_numpy()
        ax.scatter(xs, ys, s=26 if label else 10, c="#111111", edgecolors="white", linewidths=0.8, zorder=5)
        if label:
            names = subs["name"] if "name" in subs else sids
            for x, yy, nm in zip(xs, ys, names, strict=True):
                ax.annotate(str(nm), (x, yy), xytext=(0, 5.5), textcoords="offset points", ha="center",
                            va="bottom", fontsize=6.2, zorder=6,
                            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75})
        _frame(ax, extent)
        worst = [f"{counts.get(c.code, 0)}× {c.label_nl.split(' (')[0].lower()}" for c in classes[1:-1]
                 if counts.get(c.code, 0)]
        ax.set_title(f"{y}", fontsize=12, fontweight="bold", loc="left", pad=3)
        ax.text(1.0, 1.012, "; ".join(worst) if worst else "overal ruimte", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=7.5, color="#333")
        if k == 0:
            add_scale_bar(ax)
            add_north_arrow(ax)
    dir_nl = F.DIRECTION_NL[direction]
    _header(fig, f"Netruimte {dir_nl} per voedingsgebied \u2013 {outputs.project_name}",
            f"Status van het onderstation in de mijlpaaljaren, kleuren en betekenis als de capaciteitskaart "
            f"van Netbeheer Nederland; ontwikkelvariant: {variant}")
    _status_legend(fig, classes, present)
    _footer(fig, outputs)
    return literal_text(fig)


def _grey_base(outputs: RunOutputs, rect: tuple[float, float, float, float], facecolor: str):
    """An A4 figure with one map axis showing the service areas in grey; returns (fig, ax, tolerance_m, extent)."""
    subs = outputs.layers["substations"]
    areas = outputs.layers.get("service_areas")
    extent = (areas if areas is not None and len(areas) else subs).total_bounds
    tol = D.display_tolerance_m(tuple(extent))
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=_DPI)
    ax = fig.add_axes(rect)
    if areas is not None and len(areas):
        D.display_copy(areas, tolerance_m=tol, to_wgs84=False).plot(ax=ax, facecolor=facecolor, edgecolor="white",
                                                                   linewidth=0.8, zorder=0)
    return fig, ax, tol, extent


def conflicts_figure(outputs: RunOutputs) -> Figure | None:
    """The land-claim conflicts over the claim layers; None when the run has no conflicts layer."""
    conflicts = D.conflicts_frame(outputs)
    if conflicts is None:
        return None
    subs = outputs.layers["substations"]
    fig, ax, tol, extent = _grey_base(outputs, (0.02, 0.13, 0.96, 0.77), "#f2f2f2")
    handles = []
    for kind, g in D.site_layers(outputs).items():
        c = D.site_colour(kind)
        gd = D.display_copy(g, tolerance_m=tol, to_wgs84=False)
        pts = gd.geometry.geom_type.isin(["Point", "MultiPoint"])
        if (~pts).any():
            gd[~pts].plot(ax=ax, facecolor="none", edgecolor=c, linewidth=0.7, zorder=2)
        if pts.any():
            gd[pts].plot(ax=ax, color=c, markersize=6, zorder=2)
        handles.append(Patch(facecolor="none", edgecolor=c, label=D.title_nl(kind)))
    _boundaries(ax, outputs, tol)
    gc = D.display_copy(conflicts, tolerance_m=tol, to_wgs84=False)
    sev = gc["severity"].astype(str) if "severity" in gc else pd.Series("hoog", index=gc.index)
    for level, c in D.SEVERITY_COLOURS.items():
        part = gc[sev == level]
        if not len(part):
            continue
        poly = part.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
        if poly.any():
            part[poly].plot(ax=ax, color=c, edgecolor=c, linewidth=0.8, zorder=4)
        if (~poly).any():
            part[~poly].plot(ax=ax, color=c, linewidth=2.0, zorder=4)
        handles.append(Patch(facecolor=c, edgecolor=c, label=f"conflict, ernst {level} ({len(part)})"))
    ax.scatter(subs.geometry.x, subs.geometry.y, s=22, c="white", edgecolors="black", linewidths=0.8, zorder=5)
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="black",
                          label=D.title_nl("substations")))
    _frame(ax, extent)
    add_scale_bar(ax)
    add_north_arrow(ax)
    _header(fig, f"Conflicten tussen ruimteclaims \u2013 {outputs.project_name}",
            f"{len(gc)} conflicten: overlap van claims en afstandsregels")
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=8.5, bbox_to_anchor=(0.5, 0.03))
    _footer(fig, outputs)
    return literal_text(fig)


def programme_figure(outputs: RunOutputs, *, top: int = 20) -> Figure | None:
    """The ranked programme: numbered markers and the table of the first ``top``; None without one."""
    prog = D.programme_frame(outputs)
    if prog is None:
        return None
    subs = outputs.layers["substations"]
    fig, ax, tol, extent = _grey_base(outputs, (0.02, 0.46, 0.50, 0.44), "#eeeeee")
    _boundaries(ax, outputs, tol)
    ax.scatter(subs.geometry.x, subs.geometry.y, s=10, c="#999", zorder=2)
    shown = prog.head(top)
    for r in shown.itertuples(index=False):
        ax.annotate(str(int(r.rank)), (r.geometry.x, r.geometry.y), ha="center", va="center", fontsize=7.5,
                    color="white", fontweight="bold", zorder=6,
                    bbox={"boxstyle": "circle,pad=0.3", "fc": "#111", "ec": "white", "lw": 1.2})
    _frame(ax, extent)
    ax.set_anchor("N")
    add_scale_bar(ax)
    add_north_arrow(ax)
    def informative(c: str) -> bool:  # leave out columns that say nothing here (all empty or all zero)
        v = shown[c]
        return bool(v.notna().any()) and not (pd.api.types.is_numeric_dtype(v) and (v.fillna(0) == 0).all())

    cols = [c for c in D.PROGRAMME_COLUMNS_NL if c in shown.columns and informative(c)]
    if "intervention_nl" in cols and "intervention" in cols:
        cols.remove("intervention")
    if "start_by" in cols and "needed_by_year" in cols:  # the programme's own words: 'te laat: had in ...'
        cols.remove("needed_by_year")
    cols = cols[:7]
    tax = fig.add_axes((0.02, 0.07, 0.96, 0.36))
    fig.text(0.55, 0.88, "Maatregelen per onderstation met een tekort binnen de horizon, gerangschikt volgens het\n"
             "afwegingskader (data/ranking_criteria.csv); ontwikkelvariant: basis.\n\n"
             "start = eerste jaar tekort min de doorlooptijd van de maatregel (te laat: vóór het basisjaar);\n"
             "maatregel = de kleinste standaardstap die het tekort dekt, of een nieuw onderstation;\n"
             "wachtende woningen = woningen die door het tekort niet kunnen aansluiten.", fontsize=8, va="top",
             color="#333")
    tax.axis("off")
    cells = [[_fmt(v) for v in row] for row in shown[cols].itertuples(index=False)]
    if cells:
        labels = [D.PROGRAMME_COLUMNS_NL[c] for c in cols]
        # column widths from the longest text, the table fitted into its axes (never past the margin)
        chars = np.array([max(len(labels[j]), *(len(row[j]) for row in cells)) for j in range(len(cols))], float)
        widths = (chars + 2) / (chars + 2).sum()
        row_h = 1.0 / 21  # room for 20 rows and the header
        h = min(1.0, row_h * (len(cells) + 1))
        t = tax.table(cellText=cells, colLabels=labels, colWidths=list(widths), cellLoc="left", colLoc="left",
                      bbox=[0.0, 1.0 - h, 1.0, h])
        t.auto_set_font_size(False)
        t.set_fontsize(7.5)
        for (r, _c), cell in t.get_celld().items():
            cell.set_linewidth(0.4)
            if r == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#eeeeee")
    _header(fig, f"Programma: rangorde van de maatregelen \u2013 {outputs.project_name}",
            f"De eerste {len(shown)} van {len(prog)} maatregelen; nummer = rang")
    _footer(fig, outputs)
    return literal_text(fig)


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float | np.floating):
        if abs(v) >= 100:
            return f"{v:,.0f}".replace(",", ".")
        return (f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}").replace(".", ",")
    text = str(v)
    return text if len(text) <= 38 else text[:37] + "\u2026"


def static_figures(outputs: RunOutputs) -> dict[str, Figure]:
    """Every static map of a run, keyed by file stem.

    Returns
    -------
    dict of str -> Figure
        ``netruimte_afname``, ``netruimte_invoeding``, and ``conflicten`` and
        ``programma`` when the run has them.
    """
    out = {f"netruimte_{F.DIRECTION_NL[d]}": headroom_figure(outputs, direction=d) for d in F.DIRECTIONS}
    c = conflicts_figure(outputs)
    if c is not None:
        out["conflicten"] = c
    p = programme_figure(outputs)
    if p is not None:
        out["programma"] = p
    return out


def save_figure(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` in ``folder`` (deterministic metadata)."""
    png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
    fig.savefig(png, dpi=_DPI, metadata={"Software": None})
    fig.savefig(pdf, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    return [png, pdf]

