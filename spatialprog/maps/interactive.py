"""The interactive congestion map: one self-contained, offline HTML file per run.

Built with folium, but with none of folium's CDN links: Leaflet and
leaflet.markercluster are inlined from ``spatialprog/assets``, the legend and
the controls are plain HTML/CSS/JS, and there is no tile layer unless a basemap
is asked for (PDOK's BRT achtergrondkaart, xyzservices ``nlmaps``). The page
therefore makes no request at all by default.

What the page shows
-------------------
* service areas (Voedingsgebieden) coloured by the headroom status of their
  substation in the chosen year, direction (afname / invoeding) and variant,
  in the colours and meanings of the national capacity map;
* substations (Onderstations), coloured the same way, with a popup holding
  capacity, load and headroom per milestone year, a sparkline of headroom over
  all years, the first year of shortfall per variant, planned reinforcements
  and the programme rank (when the run has a programme);
* a carrier control (Energiedrager: elektriciteit, waterstof, warmte, gas):
  another carrier shows its own nodes (hydrogen and gas stations, heat
  networks) in the same status classes, with capacity, load and headroom in
  its unit (MW_H2, MWth, MW_gas), and hides the electricity grid's layers;
* "Vergelijk met": a second variant; every substation and node then has its
  fill in the chosen variant's status and a ring in the other's, and tooltips
  and popups give both headroom figures and their difference;
* every site layer with its demand, assigned substation and conflicts, drawn
  in the page from one compact table per layer (quantised, step-encoded
  coordinates; popup columns with one template, :class:`_SiteLayers`); point
  sites are clustered, and a layer of many areas is shown as clustered points
  with its outlines only when zoomed in (national scale);
* the ``conflicts`` layer and the ranked programme as numbered markers, when
  the run has them;
* a layer control with the Dutch layer titles, a legend, a metric scale bar,
  and a title with the project name and run date.

The state of the controls can be set from the URL fragment, which follows
them, e.g. ``map.html#jaar=2035&richting=invoeding&variant=hoog&vergelijk=basis&drager=waterstof``.

The page's own script and stylesheet (the controls, the restyling, the popup
templates of the nodes and the sites, the labels) are ``spatialprog/assets/spatialprog/map.js``
and ``map.css``, inlined like Leaflet; this module prepares the data they read.
It is longer than 500 lines because it prepares every layer's data in one place,
beside the page's HTML template of the panel: the substations' popups (tables and
a sparkline per substation), the compact site and conflict tables, the other
carriers' nodes and the status of every variant, so that the map shows exactly
what the run's tables hold.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from folium.utilities import JsCode

from .. import fields as F
from ..config import BASE_VARIANT
from ..kinds import LAYER_KINDS
from ..outputs import RunOutputs
from ..sheets import ALIASES_NL
from . import _data as D
from ._assets import inline_head
from ._compact import GeoJson, Raw, RawMacroElement
from ._compact import SiteLayers as _SiteLayers
from ._compact import column as _column
from ._compact import id_column as _id_column
from ._compact import nl as _nl
from .siting import add_siting_layers

__all__ = ["interactive_map", "interactive_html", "AREA_FILL_OPACITY", "MAP_BACKGROUND", "LAYER_TITLES_NL"]

#: Fill opacity of the service areas (the map has no tiles beneath by default).
AREA_FILL_OPACITY = 0.72
#: Background colour of the map where there is no basemap.
MAP_BACKGROUND = "#ffffff"
#: Zoom limits: MarkerCluster needs ``maxZoom`` on a map without a tile layer.
MIN_ZOOM, MAX_ZOOM = 6, 18
BASEMAP_TITLE_NL = "BRT-achtergrondkaart (PDOK)"
#: A site layer of more areas than this is shown as clustered points, its outlines only from OUTLINE_ZOOM on.
LAZY_SITES = 3000
#: Substation names are shown as labels from this zoom on.
LABEL_ZOOM = 12


def LAYER_TITLES_NL() -> dict[str, str]:  # noqa: N802 - reads like the constant it stands for
    """Layer-control titles by layer key (Dutch, from :data:`~spatialprog.layers.LAYER_KINDS`)."""
    out = {k.name: D.title_nl(k.name) for k in LAYER_KINDS.values() if k.role != "constraint"}
    out["conflicts"] = D.CONFLICTS_TITLE_NL
    out["programme"] = D.PROGRAMME_TITLE_NL
    return out


# --------------------------------------------------------------------------------------
# formatting


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float | np.floating) and not math.isfinite(v)) or v is pd.NA:
        return ""
    if isinstance(v, float | np.floating):
        return _nl(v, 0 if float(v).is_integer() else 2)
    if isinstance(v, int | np.integer):
        return str(int(v))
    return html.escape(str(v))


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    """Table rows from (label, value) pairs: the label is text (escaped here), the value is HTML already."""
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs if v != "")


def _pop_title(name: Any, fid: str) -> str:
    """The title line of a popup: the feature's name (its id when it has none) and its id, both as text.

    Examples
    --------
    >>> _pop_title(None, "<b>1")
    "<div class='sp-pop-title'>&lt;b&gt;1 <span>(&lt;b&gt;1)</span></div>"
    """
    shown = name if isinstance(name, str) and name else fid
    return f"<div class='sp-pop-title'>{html.escape(shown)} <span>({html.escape(fid)})</span></div>"


def _year_of(col: str) -> str:
    return col.rsplit("_", 1)[-1]


# --------------------------------------------------------------------------------------
# popups


def _sparkline(series: Mapping[str, list[float | None]], years: list[int], *, width: int = 236,
               height: int = 64, points: Mapping[str, list[float | None]] | None = None) -> str:
    """An inline SVG of headroom over the years: one line per series, zero line in red.

    ``points`` (per series, per year or None) are drawn as open circles: the
    operator's own forecast beside the line of our projection.
    """
    points = points or {}
    vals = [v for s in (*series.values(), *points.values()) for v in s if v is not None]
    if not vals:
        return ""
    lo, hi = min(min(vals), 0.0), max(max(vals), 0.0)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    pad_l, pad_r, pad_t, pad_b = 30, 4, 4, 12

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (width - pad_l - pad_r) * (i / max(len(years) - 1, 1))
        y = pad_t + (height - pad_t - pad_b) * (hi - v) / (hi - lo)
        return round(x, 1), round(y, 1)

    styles = {"offtake": ("#1f4e9c", ""), "feedin": ("#b15928", ' stroke-dasharray="4 2"')}
    parts = [f'<svg class="sp-spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="ruimte per jaar">']
    _, y0 = xy(0, 0.0)
    parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y0}" y2="{y0}" stroke="#e30613" stroke-width="1"/>')
    parts.append(f'<text x="{pad_l - 3}" y="{pad_t + 7}" text-anchor="end">{_nl(hi, 0)}</text>')
    parts.append(f'<text x="{pad_l - 3}" y="{height - pad_b}" text-anchor="end">{_nl(lo, 0)}</text>')
    parts.append(f'<text x="{pad_l}" y="{height - 1}">{years[0]}</text>')
    parts.append(f'<text x="{width - pad_r}" y="{height - 1}" text-anchor="end">{years[-1]}</text>')
    for key, s in series.items():
        pts = [xy(i, v) for i, v in enumerate(s) if v is not None]
        if pts:
            colour, dash = styles.get(key, ("#333", ""))
            d = " ".join(f"{x},{y}" for x, y in pts)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
    for key, s in points.items():
        colour, _ = styles.get(key, ("#333", ""))
        for i, v in enumerate(s):
            if v is not None:
                x, y = xy(i, v)
                parts.append(f'<circle class="sp-op" cx="{x}" cy="{y}" r="2.6" fill="white" stroke="{colour}" '
                             'stroke-width="1.4"/>')
    parts.append("</svg>")
    return "".join(parts)


def _substation_popups(outputs: RunOutputs, H: pd.DataFrame, years: list[int], milestones: list[int],
                       variants: list[str], classes: list[D.StatusClass],
                       ranks: dict[str, int], programme: gpd.GeoDataFrame | None) -> dict[str, str]:
    """Popup HTML per substation id."""
    subs = outputs.layers["substations"]
    colour = {c.code: c.colour for c in classes}
    label = {c.code: c.label_nl for c in classes}
    alias = LAYER_KINDS["substations"].aliases_nl
    A = ALIASES_NL
    sf = outputs.tables.get("shortfall")
    re_t = outputs.tables.get("reinforcements")
    base = variants[0] if variants else BASE_VARIANT
    # every lookup below is a dict built once from the tables (a pandas lookup per substation and year was
    # most of the map's time at national scale)
    has_op = F.OPERATOR_AVAILABLE_MVA in H.columns
    cells_of = _base_rows(H, base, has_op)
    first_short = _first_shortfall(sf)
    re_by_sub = ({str(k): g for k, g in re_t.groupby(re_t[F.SUBSTATION_ID].astype(str), sort=False)}
                 if re_t is not None and len(re_t) else {})
    # each substation's interventions in the programme: (rank, the first of its words that is a text)
    prog_by_sub: dict[str, list[tuple[Any, Any]]] = {}
    if programme is not None and F.SUBSTATION_ID in programme:
        words = [programme[c].tolist() for c in ("intervention_nl", "intervention", "measure") if c in programme]
        for k, (psid, rank) in enumerate(zip(programme[F.SUBSTATION_ID].astype(str), programme["rank"], strict=True)):
            what = next((w[k] for w in words if isinstance(w[k], str)), "")
            prog_by_sub.setdefault(psid, []).append((rank, what))
    out: dict[str, str] = {}
    for r in subs.itertuples(index=False):
        sid = str(r.id)
        name = getattr(r, "name", None)
        head = _pop_title(name, sid)
        meta = []
        for col in ("operator", "voltage_kv"):
            v = getattr(r, col, None)
            if isinstance(v, str) and v:
                meta.append(html.escape(v) + (" kV" if col == "voltage_kv" else ""))
        info = _rows([
            (A[F.INSTALLED_MVA], _cell(getattr(r, "installed_mva", None))),
            (f"{A[F.FIRM_CAPACITY_MVA]} {F.DIRECTION_NL[F.OFFTAKE]}",
             f"{_cell(getattr(r, 'firm_offtake_mva', None))} ({_cell(getattr(r, 'firm_rule_offtake', ''))})"),
            (f"{A[F.FIRM_CAPACITY_MVA]} {F.DIRECTION_NL[F.FEEDIN]}",
             f"{_cell(getattr(r, 'firm_feedin_mva', None))} ({_cell(getattr(r, 'firm_rule_feedin', ''))})"),
        ])
        # milestone table (first variant = base)
        trs = []
        for y in milestones:
            cells = [f"<td>{y}</td>"]
            for d, cols in ((F.OFFTAKE, (F.CAPACITY_MW, F.LOAD_MW, F.HEADROOM_MW)), (F.FEEDIN, (F.HEADROOM_MW,))):
                row = cells_of.get((d, y, sid))
                for c in cols:
                    v = None if row is None else row[c]
                    style = ""
                    if c == F.HEADROOM_MW and row is not None:
                        style = f" style='background:{colour.get(row[F.STATUS], D.NO_DATA.colour)}' " \
                                f"title='{html.escape(label.get(row[F.STATUS], ''))}'"
                    cells.append(f"<td{style}>{_nl(v, 1)}</td>")
            trs.append("<tr>" + "".join(cells) + "</tr>")
        table = (
            "<table class='sp-years'><thead><tr><th rowspan='2'>jaar</th>"
            f"<th colspan='3'>{F.DIRECTION_NL[F.OFFTAKE]} (MW)</th><th>{F.DIRECTION_NL[F.FEEDIN]}</th></tr>"
            "<tr><th>capaciteit</th><th>belasting</th><th>ruimte</th><th>ruimte</th></tr></thead>"
            f"<tbody>{''.join(trs)}</tbody></table>"
        )
        series, operator = {}, {}
        op_text = []
        for d in F.DIRECTIONS:
            vals, ops = [], []
            for y in years:
                row = cells_of.get((d, y, sid))
                vals.append(float(row[F.HEADROOM_MW]) if row is not None else None)
                op = row[F.OPERATOR_AVAILABLE_MVA] if has_op and row is not None else None
                ops.append(float(op) if op is not None and pd.notna(op) else None)
            series[d] = vals
            if any(o is not None for o in ops):
                operator[d] = ops
                op_text.append(f"{F.DIRECTION_NL[d]} " + ", ".join(
                    f"{y}: {_nl(o, 0)}" for y, o in zip(years, ops, strict=True) if o is not None))
        spark = _sparkline(series, years, points=operator)
        op_legend = (" &#9675; volgens de netbeheerder (MVA; " + html.escape("; ".join(op_text)) + ")") \
            if operator else ""
        spark_legend = (f"<div class='sp-note'>{A[F.HEADROOM_MW]} {years[0]}-{years[-1]}: "
                        f"<span style='color:#1f4e9c'>&#9472; {F.DIRECTION_NL[F.OFFTAKE]}</span> "
                        f"<span style='color:#b15928'>- - {F.DIRECTION_NL[F.FEEDIN]}</span> "
                        f"({A[F.VARIANT]} {html.escape(base)}){op_legend}</div>") if spark else ""
        # first shortfall per variant
        sf_rows = []
        if first_short is not None:
            for v in variants:
                parts = []
                for d in F.DIRECTIONS:
                    m = first_short.get((sid, v, d))
                    if m is not None:
                        parts.append(f"{F.DIRECTION_NL[d]} {int(m)}")
                sf_rows.append((v, ", ".join(parts) if parts else "geen tekort t/m " + str(years[-1])))
        sf_html = ("<div class='sp-sub'>" + html.escape(A[F.FIRST_SHORTFALL_YEAR]) + "</div><table class='sp-kv'>"
                   + _rows((v, html.escape(t)) for v, t in sf_rows) + "</table>") if sf_rows else ""
        # planned reinforcements
        re_parts = []
        if re_t is not None and len(re_t):
            mine = re_by_sub.get(sid)
            for rr in ([] if mine is None else mine.sort_values(F.YEAR).itertuples(index=False)):
                d = getattr(rr, "direction", "both")
                where = "" if d not in F.DIRECTION_NL else f" {F.DIRECTION_NL[d]}"
                re_parts.append(f"{int(rr.year)}: +{_nl(rr.reinforcement_mva, 0)} MVA{where}")
        elif pd.notna(getattr(r, "reinforcement_year", None)):
            re_parts.append(f"{int(r.reinforcement_year)}: +{_nl(r.reinforcement_mva, 0)} MVA")
        extra = [(alias.get("reinforcement_year", "netverzwaring"), html.escape("; ".join(re_parts)) or "geen gepland")]
        if sid in ranks:
            extra.append(("rang in programma", f"<b>{ranks[sid]}</b>"))
            if programme is not None:
                for rank, what in prog_by_sub.get(sid, []):
                    if what:
                        extra.append((f"maatregel {int(rank)}", html.escape(what)))
        for col, lab in (("n_conflicts", "conflicten"), ("worst_severity", "zwaarste conflict")):
            v = getattr(r, col, None)
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != 0:
                extra.append((lab, _cell(v)))
        out[sid] = (
            f"<div class='sp-pop'>{head}<div class='sp-note'>{' · '.join(meta)}</div>"
            f"<table class='sp-kv'>{info}</table>{table}{spark}{spark_legend}{sf_html}"
            f"<table class='sp-kv'>{_rows(extra)}</table></div>"
        )
    return out


def _base_rows(H: pd.DataFrame, base: str, has_op: bool) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The headroom table's rows of the base variant by (direction, year, substation), for the popups."""
    if base not in H.index.get_level_values(F.VARIANT):
        return {}
    part = H.xs(base, level=F.VARIANT)
    cols = [F.CAPACITY_MW, F.LOAD_MW, F.HEADROOM_MW, F.STATUS] + ([F.OPERATOR_AVAILABLE_MVA] if has_op else [])
    values = {c: part[c].to_numpy() for c in cols}
    return {key: {c: values[c][i] for c in cols} for i, key in enumerate(part.index)}


def _first_shortfall(sf: pd.DataFrame | None) -> dict[tuple[str, str, str], Any] | None:
    """The first year of shortfall by (substation, variant, direction): the first row of the table with one."""
    if sf is None or not len(sf):
        return None
    out: dict[tuple[str, str, str], Any] = {}
    years = sf[F.FIRST_SHORTFALL_YEAR]
    for s, v, d, y in zip(sf[F.SUBSTATION_ID].astype(str), sf[F.VARIANT], sf[F.DIRECTION], years, strict=True):
        if pd.notna(y):
            out.setdefault((s, v, d), y)
    return out


def _round2(arr: np.ndarray) -> np.ndarray:
    """``round(x, 2)`` of every element, as Python rounds (to the nearest decimal of the float's exact value):
    numpy's scaled rounding, with Python's own where a value sits within 1e-6 of a half cent.

    Examples
    --------
    >>> _round2(np.array([2.675, 0.125, 1.005, -3.14159, np.nan])).tolist()[:4]
    [2.67, 0.12, 1.0, -3.14]
    """
    shape = np.shape(arr)
    arr = np.asarray(arr, dtype=float).ravel()
    with np.errstate(invalid="ignore"):
        r = np.round(arr, 2)
        near = np.isfinite(arr) & (np.abs(np.abs(arr * 100.0) % 1.0 - 0.5) < 1e-6)
    for i in np.flatnonzero(near).tolist():
        r[i] = round(float(arr[i]), 2)
    return r.reshape(shape)


def _milestone_demand(outputs: RunOutputs, milestones: list[int], base: str) -> dict[str, pd.DataFrame] | None:
    """The demand table's rows of the base variant at the milestone years, MW of electricity (other carriers
    have their own columns), by layer (``""``: none of them); filtered once for every site layer."""
    demand = outputs.tables.get("demand")
    if demand is None or not len(demand):
        return None
    dk = demand[(demand[F.VARIANT] == base) & demand[F.YEAR].isin(milestones)]
    if F.CARRIER in dk:
        dk = dk[dk[F.CARRIER] == F.ELECTRICITY]
    out = {str(k): g for k, g in dk.groupby(F.LAYER, sort=False, observed=True)}
    out[""] = dk.iloc[:0]
    return out


def _site_table(kind: str, g: gpd.GeoDataFrame, outputs: RunOutputs, sub_names: Mapping[str, str],
                milestones: list[int], base: str, demand_by_layer: dict[str, pd.DataFrame] | None = None) -> dict:
    """A site layer for the page: compact geometry and its popup columns, drawn by the page's template.

    The popup is built in the browser from these columns (one template per
    layer, not one HTML string per feature): the feature's name and id, every
    column of the layer kind with its Dutch alias, the demand in the last
    year, the substation it is assigned to, how it was assigned, its
    conflicts, and its demand (MW) at the milestone years in the base variant.
    """
    lk = LAYER_KINDS[kind]
    A = ALIASES_NL
    by_layer = _milestone_demand(outputs, milestones, base) if demand_by_layer is None else demand_by_layer
    per_year: dict[str, pd.DataFrame] = {}
    if by_layer is not None:
        dk = by_layer.get(kind, by_layer[""])
        for d, col in ((F.OFFTAKE, F.OFFTAKE_MW), (F.FEEDIN, F.FEEDIN_MW)):
            t = dk.pivot_table(index=F.SITE_ID, columns=F.YEAR, values=col, aggfunc="sum")
            t.index = t.index.astype(str)
            per_year[d] = t
    ids = g["id"].astype(str)
    names = g["name"] if "name" in g else pd.Series(None, index=g.index, dtype=object)
    cols: list[dict] = []
    for c in lk.columns:
        if c.name in ("id", "name") or c.name not in g:
            continue
        cols.append({"l": c.alias_nl or c.name, **_column(g[c.name])})
    for c in [c for c in g.columns if c.startswith((F.OFFTAKE_MW + "_", F.FEEDIN_MW + "_"))]:
        base_col = c.rsplit("_", 1)[0]
        cols.append({"l": f"{A.get(base_col, base_col)} {_year_of(c)}", **_column(g[c])})
    if F.SUBSTATION_ID in g:
        cols.append({"l": A[F.SUBSTATION_ID], **_column(
            f"{sub_names.get(s, s)} ({s})" if isinstance(s, str) and s else None
            for s in g[F.SUBSTATION_ID].tolist())})
    if "substation_ids" in g:
        cols.append({"l": "verdeeld over", **_column(
            m.replace(";", ", ") if isinstance(m, str) and ";" in m else None
            for m in g["substation_ids"].tolist())})
    if "assignment_method" in g:
        cols.append({"l": A[F.METHOD], **_column(
            D.METHOD_NL.get(m, m) if isinstance(m, str) else None for m in g["assignment_method"].tolist())})
    for col, lab in (("n_conflicts", "conflicten"), ("worst_severity", "zwaarste conflict"), ("rule_ids", "regels")):
        if col in g:
            cols.append({"l": lab, **_column(g[col])})
    years: dict | None = None
    if per_year:
        rows = []
        has = ids.isin(set().union(*(set(t.index) for t in per_year.values()))).to_numpy()
        for d, t in per_year.items():
            v = t.reindex(index=ids, columns=milestones).to_numpy(dtype=float)
            skip = d == F.FEEDIN  # a feed-in row is shown only where some year has feed-in
            shown = has & ((v > 0).any(axis=1) if skip else True)
            # null for a site whose row is not shown (no demand, or no feed-in): most sites' feed-in
            vals = np.where(np.isfinite(v), _round2(v), np.nan).tolist()
            rows.append({"l": F.DIRECTION_NL[d], "skipEmpty": skip,
                         "v": [[None if x != x else x for x in r] if on else None  # x != x: NaN
                               for r, on in zip(vals, shown.tolist(), strict=True)]})
        years = {"title": f"vraag (MW), {A[F.VARIANT]} {base}", "head": milestones, "rows": rows,
                 "has": "".join("1" if h else "0" for h in has)}
    letters, geo = D.encode_geometries(np.asarray(g.geometry.values))
    out = {"kind": kind, "title": lk.title_nl, "colour": D.site_colour(kind), "ids": _id_column(ids.tolist()),
           "names": _column([n if isinstance(n, str) and n else None for n in names.tolist()]), "cols": cols,
           "years": years, "t": letters, "g": geo}
    if len(g) > LAZY_SITES and out["t"].count("A"):
        # many areas: a point each for the clustered overview, their outlines only when zoomed in
        # (as the step from the area's first vertex, a few digits; 0 for a feature that is not an area)
        pts = D.encode_geometries(shapely.point_on_surface(np.asarray(g.geometry.values)))[1]
        out["pt"] = [[p[0] - a[0][0][0], p[1] - a[0][0][1]] if k == "A" else 0
                     for k, p, a in zip(letters, pts, geo, strict=True)]
    return out


def _conflict_table(gc: gpd.GeoDataFrame) -> dict:
    """The conflicts layer for the page, in the sites' compact form: its description as the popup's title,
    rule, severity, the two features, overlap and distance; coloured by severity; no clusters, no tooltips."""
    A = ALIASES_NL

    def layer_nl(k: Any) -> str:
        return D.title_nl(k) if k in LAYER_KINDS else ("" if k is None else str(k))

    def get(col: str) -> pd.Series:
        return gc[col] if col in gc else pd.Series(None, index=gc.index, dtype=object)

    # "<layer> <id> en <layer> <id>", put together in the page from four columns (the layers' titles are few)
    between = {"j": [_column([layer_nl(x) for x in get("layer_a")]), " ",
                     _column(["" if x is None else f"{x}" for x in get("id_a")]), " en ",
                     _column([layer_nl(x) for x in get("layer_b")]), " ",
                     _column(["" if x is None else f"{x}" for x in get("id_b")])]}
    sev = gc["severity"].astype(str) if "severity" in gc else pd.Series("hoog", index=gc.index)
    desc = [d if isinstance(d, str) and d else "conflict" for d in get("description_nl")]
    letters, geo = D.encode_geometries(np.asarray(gc.geometry.values))
    ids = gc["conflict_id"].astype(str) if "conflict_id" in gc else pd.Series(range(len(gc)), index=gc.index).astype(str)
    return {"kind": "conflicts", "title": D.CONFLICTS_TITLE_NL, "colour": "#7a0177", "ids": _id_column(ids.tolist()),
            "names": _column([None] * len(gc)), "plain": True, "headings": _column(desc),
            "colours": _column(D.SEVERITY_COLOURS.get(v, "#7a0177") for v in sev),
            "style": {"weight": 3, "opacity": 1, "fillOpacity": 0.55, "className": "sp-conflict"},
            "cols": [{"l": "regel", **_column(get("rule_id"))}, {"l": "ernst", **_column(get("severity"))},
                     {"l": "tussen", **between}, {"l": "overlap (m2)", **_column(get("area_m2"))},
                     {"l": A[F.DIST_M], **_column(get("dist_m"))}],
            "years": None, "t": letters, "g": geo}


# --------------------------------------------------------------------------------------
# GeoJSON


def _feature_collection(g: gpd.GeoDataFrame, props: Mapping[str, Iterable[Any]]) -> dict:
    """A GeoJSON FeatureCollection with only the given properties (keeps the page small)."""
    cols = {k: list(v) for k, v in props.items()}
    feats = []
    for i, geom in enumerate(g.geometry.values):
        p = {}
        for k, vals in cols.items():
            v = vals[i]
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            p[k] = v
        feats.append({"type": "Feature", "properties": p, "geometry": geom.__geo_interface__})
    return {"type": "FeatureCollection", "features": feats}


def _bind_popup_js(tooltip_key: str | None = None, *, hover: bool = False) -> JsCode:
    tip = (f"if (feature.properties.{tooltip_key}) layer.bindTooltip(feature.properties.{tooltip_key}, "
           "{sticky: true});") if tooltip_key else ""
    hov = ("layer.on('mouseover', function(e){ if (e.target.setStyle) e.target.setStyle({weight: 3}); });"
           "layer.on('mouseout', function(e){ if (e.target.setStyle) e.target.setStyle({weight: e.target.options.baseWeight || 1}); });"
           ) if hover else ""
    return JsCode(
        "function(feature, layer) {"
        "  if (feature.properties._popup) layer.bindPopup(feature.properties._popup, {maxWidth: 420, minWidth: 240});"
        f"  {tip}{hov}"
        "}"
    )


def _page_assets() -> str:
    """The map's own stylesheet and script (``spatialprog/assets/spatialprog/map.css`` and ``map.js``), inline."""
    from importlib import resources

    folder = resources.files("spatialprog").joinpath("assets", "spatialprog")
    css = folder.joinpath("map.css").read_text(encoding="utf-8")
    js = folder.joinpath("map.js").read_text(encoding="utf-8").replace("</script", "<\\/script")  # as inline_head
    return f"<style>{css}</style>\n<script>{js}</script>"


def _no_cdn(el: Any) -> Any:
    """Drop folium's CDN links from an element (the assets are inlined instead)."""
    el.default_js = []
    el.default_css = []
    return el


# --------------------------------------------------------------------------------------
# the control panel, legend and restyling


class _Panel(RawMacroElement):
    """Title, the controls (year, direction, variant, comparison, carrier) and the legend; the page's
    ``spatialprog.panel`` (``assets/spatialprog/map.js``) restyles the layers when they change."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>/* after folium's own .leaflet-container rule (font-size: 1rem) */
  .leaflet-container { background: {{ this.background }}; font: 13px/1.35 system-ui, "Segoe UI", Roboto, Arial, sans-serif; }</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<div class="sp-panel" id="sp-panel" data-state="">
  <div class="sp-title">{{ this.title|e }}</div>
  <div class="sp-meta">Netruimte per voedingsgebied{% if this.run_date %} &middot; run {{ this.run_date|e }}{% endif %}
    {% if this.fictional %}<br><span class="sp-fict">Fictieve gegevens</span>{% endif %}</div>
  <label for="sp-year">Jaar</label>
  <div class="sp-year-row"><input type="range" id="sp-year" min="{{ this.years[0] }}" max="{{ this.years[-1] }}"
    step="1" value="{{ this.years[0] }}"><span class="sp-year-val" id="sp-year-val">{{ this.years[0] }}</span></div>
  <div class="sp-ticks"><span>{{ this.years[0] }}</span><span>{{ this.years[-1] }}</span></div>
  <label for="sp-direction">Richting</label>
  <select id="sp-direction">
    {% for d, lab in this.directions %}<option value="{{ d|e }}">{{ lab|e }}</option>{% endfor %}
  </select>
  {% if this.variants|length > 1 %}
  <label for="sp-variant">Ontwikkelvariant</label>
  <select id="sp-variant">
    {% for v, desc in this.variants %}<option value="{{ v|e }}" title="{{ desc|e }}">{{ v|e }}</option>{% endfor %}
  </select>
  <div class="sp-vdesc" id="sp-vdesc"></div>
  <label for="sp-compare">Vergelijk met</label>
  <select id="sp-compare">
    <option value="">(geen)</option>
    {% for v, desc in this.variants %}<option value="{{ v|e }}" title="{{ desc|e }}">{{ v|e }}</option>{% endfor %}
  </select>
  {% endif %}
  {% if this.carriers %}
  <label for="sp-carrier">Energiedrager</label>
  <select id="sp-carrier">
    <option value="electricity">Elektriciteit</option>
    {% for c, lab in this.carriers %}<option value="{{ c|e }}">{{ lab|e }}</option>{% endfor %}
  </select>
  {% endif %}
  <div class="sp-legend" id="sp-legend">
    <div class="sp-legend-title">Netruimte (kleuren capaciteitskaart)</div>
    {% for c in this.classes %}<div class="sp-li" data-status="{{ c.code|e }}" title="{{ c.meaning_nl|e }}">
      <span class="sp-sw" style="background: {{ c.colour|e }}"></span><span>{{ c.label_nl|e }}</span>
      <span class="sp-n" data-count="{{ c.code|e }}"></span></div>{% endfor %}
    <div class="sp-li sp-cmp-legend" id="sp-cmp-legend" style="display:none"><span class="sp-sw sp-sw-dot sp-sw-ring"></span><span id="sp-cmp-text"></span></div>
    <div class="sp-legend-title">Lagen</div>
    <div class="sp-li"><span class="sp-sw sp-sw-dot" style="background:#ffd400"></span><span>{{ this.subs_title|e }} (kleur = netruimte)</span></div>
    {% for title, colour in this.carrier_layers %}<div class="sp-li sp-carrier-li"><span class="sp-sw sp-sw-dot" style="background:#ffd400;border-color:{{ colour|e }}"></span><span>{{ title|e }} (kleur = netruimte)</span></div>{% endfor %}
    {% for title, colour in this.sites %}<div class="sp-li"><span class="sp-sw sp-sw-site" style="border-color: {{ colour|e }}"></span><span>{{ title|e }}</span></div>{% endfor %}
    {% for title, colour in this.extra %}<div class="sp-li"><span class="sp-sw" style="background: {{ colour|e }}"></span><span>{{ title|e }}</span></div>{% endfor %}
    {% if this.has_clusters %}<div class="sp-li" id="sp-li-cluster"><span class="sp-cluster-li">12</span><span>Cluster van locaties (aantal)</span></div>{% endif %}
    {% if this.has_programme %}<div class="sp-li" id="sp-li-programme"><span class="sp-rank sp-rank-li">1</span><span>{{ this.programme_title|e }}: volgorde</span></div>{% endif %}
  </div>
  <div class="sp-foot">{{ this.source|e }}<br>Status: ruimte in het gekozen jaar als aandeel van de vaste capaciteit; drempels in data/status_classes.csv.</div>
</div>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var D = {{ this.data|tojson }};
  spatialprog.panel(D, {areas: {{ this.areas_name }}, subs: {{ this.subs_name }}, map: {{ this.map_name }},
                        control: {{ this.control_name }}, bounds: {{ this.bounds_name }}});
})();
{% endmacro %}
""")

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        self._name = "SpPanel"
        for k, v in kw.items():
            setattr(self, k, v)


class _RankMarkers(RawMacroElement):
    """Numbered markers of the ranked programme (plain Leaflet: folium's Popup needs jQuery)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  {{ this.rows|tojson }}.forEach(function (r) {
    L.marker([r.lat, r.lon], {
      icon: L.divIcon({html: "<div class='sp-rank'>" + r.rank + "</div>", className: "", iconSize: [24, 33],
                       iconAnchor: [12, 33], popupAnchor: [0, -30]}),
      title: "rang " + r.rank, zIndexOffset: 1000 - r.rank
    }).bindPopup(r.popup, {maxWidth: 360}).addTo({{ this._parent.get_name() }});
  });
})();
{% endmacro %}
""")

    def __init__(self, rows: list[dict]) -> None:
        super().__init__()
        self._name = "RankMarkers"
        self.rows = rows


# --------------------------------------------------------------------------------------


def _value_blob(H: pd.DataFrame, ids: list[str], years: list[int], variants: list[str],
                col: str) -> dict[str, dict[str, list[list[float | None]]]]:
    """One column of the long table per variant, direction, year and node (rounded to 0.1, None where absent)."""
    flat = H.reset_index()
    out: dict[str, dict[str, list[list[float | None]]]] = {}
    for v in variants:
        out[v] = {}
        for d in F.DIRECTIONS:
            part = flat[(flat[F.VARIANT] == v) & (flat[F.DIRECTION] == d)]
            t = part.pivot(index=F.YEAR, columns=F.SUBSTATION_ID, values=col).reindex(index=years, columns=ids)
            out[v][d] = [[None if not np.isfinite(x) else round(float(x), 1) for x in row]
                         for row in t.to_numpy(dtype=float)]
    return out


def _carrier_blobs(outputs: RunOutputs, years: list[int], variants: list[str], classes: list[D.StatusClass],
                   tol: float) -> list[dict]:
    """The other carriers' nodes for the carrier control: geometry, names, status and headroom in their unit.

    One entry per carrier of :data:`~spatialprog.carriers.OTHER_CARRIERS` that has rows in the run's
    ``carrier_headroom`` table and a node layer (hydrogen and gas stations, heat networks) to draw.
    """
    from ..carriers import LABELS_NL, NODE_LAYERS, OTHER_CARRIERS, UNITS

    ch = outputs.tables.get("carrier_headroom")
    if ch is None or not len(ch) or F.CARRIER not in ch:
        return []
    out = []
    for c in OTHER_CARRIERS:
        kind = NODE_LAYERS[c]
        layer = outputs.layers.get(kind)
        rows = ch[ch[F.CARRIER] == c].copy()
        if layer is None or not len(layer) or not len(rows):
            continue
        rows[F.SUBSTATION_ID] = rows[F.SUBSTATION_ID].astype(str)
        rows[F.YEAR] = rows[F.YEAR].astype(int)
        Hc = rows.set_index([F.VARIANT, F.DIRECTION, F.YEAR, F.SUBSTATION_ID]).sort_index()
        g = layer[layer["id"].astype(str).isin(set(rows[F.SUBSTATION_ID]))]
        if not len(g):
            continue
        g = D.display_copy(g, tolerance_m=tol, to_wgs84=True)
        ids = sorted(g["id"].astype(str))
        names = {str(i): (n if isinstance(n, str) and n else str(i))
                 for i, n in zip(g["id"], g.get("name", g["id"]), strict=True)}
        status, headroom = _status_blob(Hc, ids, years, variants, classes)
        label = LABELS_NL[c]
        word = D.title_nl(kind) if c != "heat" else "Warmtenetten"
        out.append({
            "code": c, "label": label[:1].upper() + label[1:], "hash": label, "unit": UNITS[c],
            "title": f"{word}: netruimte {label}" if c == "heat" else word,
            "word": {"hydrogen": "Waterstofstation", "gas": "Gasstation", "heat": "Warmtenet"}[c],
            "colour": D.site_colour(kind), "ids": ids, "names": names,
            "status": status, "headroom": headroom,
            "capacity": _value_blob(Hc, ids, years, variants, F.CAPACITY_MW),
            "load": _value_blob(Hc, ids, years, variants, F.LOAD_MW),
            "geo": _feature_collection(g, {"id": g["id"].astype(str)}),
        })
    return out


def _status_blob(H: pd.DataFrame, sub_ids: list[str], years: list[int], variants: list[str],
                 classes: list[D.StatusClass]) -> tuple[dict, dict]:
    """Status digits and headroom per variant, direction, year and substation, for the page script."""
    code_ix = {c.code: str(i) for i, c in enumerate(classes)}
    nodata = str(len(classes) - 1)
    if len(classes) > 10:
        raise ValueError("more than 10 status classes do not fit one digit each")
    status: dict[str, dict[str, list[str]]] = {}
    headroom: dict[str, dict[str, list[list[float | None]]]] = {}
    flat = H.reset_index()
    for v in variants:
        status[v], headroom[v] = {}, {}
        for d in F.DIRECTIONS:
            part = flat[(flat[F.VARIANT] == v) & (flat[F.DIRECTION] == d)]
            st = part.pivot(index=F.YEAR, columns=F.SUBSTATION_ID, values=F.STATUS).reindex(index=years, columns=sub_ids)
            hr = part.pivot(index=F.YEAR, columns=F.SUBSTATION_ID, values=F.HEADROOM_MW).reindex(index=years, columns=sub_ids)
            status[v][d] = ["".join(code_ix.get(s, nodata) if isinstance(s, str) else nodata for s in row)
                            for row in st.to_numpy()]
            headroom[v][d] = [[None if not np.isfinite(x) else round(float(x), 1) for x in row]
                              for row in hr.to_numpy(dtype=float)]
    return status, headroom


def _deterministic_ids(root: Any) -> None:
    """Replace branca's random element ids with a counter, so the same run gives the same file."""
    n = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        if hasattr(el, "_id"):
            el._id = f"{n:04d}"
            n += 1
        stack.extend(getattr(el, "_children", {}).values())


def interactive_map(outputs: RunOutputs, *, basemap: bool | str = False) -> folium.Map:
    """Build the interactive congestion map of a run.

    Parameters
    ----------
    outputs : RunOutputs
        A finished run (computed or read back).
    basemap : bool or str
        False (default): no tile layer, so the page makes no request.
        True: PDOK's BRT achtergrondkaart, grey variant; a string picks
        another ``xyzservices.providers.nlmaps`` variant (``standaard``,
        ``pastel``, ``grijs``, ``water``, ``luchtfoto``).

    Returns
    -------
    folium.Map
        Render with :func:`interactive_html`; ``Map.save`` works too, but
        only :func:`interactive_html` guarantees a page without CDN links.

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> outputs = RunOutputs.from_result(compute(read_plan("layers/example_region.toml")))
    >>> m = interactive_map(outputs)
    >>> sorted(k for k in LAYER_TITLES_NL() if k in ("substations", "service_areas"))
    ['service_areas', 'substations']
    """
    classes = D.status_classes()
    H = D.status_lookup(outputs)
    years, milestones = D.years_of(outputs)
    variants = D.variants_of(outputs)
    base = variants[0]
    subs = outputs.layers["substations"]
    areas = outputs.layers.get("service_areas")
    subs_ids = subs["id"].astype(str)
    sub_names = {str(i): (n if isinstance(n, str) and n else str(i))
                 for i, n in zip(subs["id"], subs.get("name", subs["id"]), strict=True)}
    all_ids = sorted(set(subs_ids) | (set(areas[F.SUBSTATION_ID].astype(str)) if areas is not None else set()))

    extent_src = areas if areas is not None and len(areas) else subs
    tol = D.display_tolerance_m(tuple(extent_src.total_bounds))
    programme = D.programme_frame(outputs)
    conflicts = D.conflicts_frame(outputs)
    ranks = D.programme_rank_by_substation(programme)

    w, s, e, n = extent_src.to_crs(4326).total_bounds
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], tiles=None, zoom_start=10, min_zoom=MIN_ZOOM,
                   max_zoom=MAX_ZOOM, control_scale=False, zoom_control="bottomright", prefer_canvas=False)
    _no_cdn(m)
    # folium hands the zoom limits only to a tile layer; MarkerCluster needs them on the map itself
    m.options.update(minZoom=MIN_ZOOM, maxZoom=MAX_ZOOM, zoomSnap=0.25, zoomDelta=0.5)
    root = m.get_root()
    root.title = html.escape(f"{outputs.project_name} - netruimte")  # branca puts it into <title> as it is
    root.header.add_child(Raw(inline_head(markercluster=True) + "\n" + _page_assets()), name="spatialprog_assets",
                          index=0)

    if basemap:
        import xyzservices.providers as xyz

        variant = basemap if isinstance(basemap, str) else "grijs"
        if variant not in xyz.nlmaps:
            raise ValueError(f"basemap {variant!r}: not an nlmaps variant - use one of {', '.join(xyz.nlmaps)}")
        prov = xyz.nlmaps[variant]
        folium.TileLayer(tiles=prov.build_url(), attr=prov.html_attribution, name=BASEMAP_TITLE_NL,
                         min_zoom=prov.get("min_zoom", MIN_ZOOM), max_zoom=MAX_ZOOM, max_native_zoom=prov.get("max_zoom", 19),
                         overlay=False, control=True).add_to(m)

    # service areas
    areas_layer = None
    if areas is not None and len(areas):
        ga = D.display_copy(areas, tolerance_m=tol, to_wgs84=True)
        sid = ga[F.SUBSTATION_ID].astype(str)
        fc = _feature_collection(ga, {"id": ga["id"].astype(str), F.SUBSTATION_ID: sid})
        areas_layer = GeoJson(
            fc, name=D.title_nl("service_areas"),
            style_function=lambda f: {"fillColor": D.NO_DATA.colour, "fillOpacity": AREA_FILL_OPACITY,
                                      "color": "#ffffff", "weight": 1, "opacity": 1, "className": "sp-area"},
            on_each_feature=_bind_popup_js(hover=True), smooth_factor=0.5,
        )
        areas_layer.add_to(m)

    # boundaries (when the run carries them), with their names
    b = outputs.layers.get(D.BOUNDARIES_KIND)
    bounds_layer, boundary_labels = None, []
    if b is not None and len(b):
        gb = D.display_copy(b, tolerance_m=tol, to_wgs84=True)
        bounds_layer = GeoJson(
            _feature_collection(gb, {}), name=D.title_nl(D.BOUNDARIES_KIND), interactive=False,
            style_function=lambda f: {"fill": False, "color": "#444", "weight": 1.2, "dashArray": "5 4"})
        bounds_layer.add_to(m)
        # each boundary's name at a point inside it (computed in the working CRS, then shown in degrees)
        inside = gpd.GeoSeries(shapely.point_on_surface(np.asarray(b.geometry.values)), crs=b.crs).to_crs(4326)
        names = b["name"] if "name" in b else b["id"]
        boundary_labels = [{"n": n if isinstance(n, str) and n else str(i), "p": [round(q.y, 5), round(q.x, 5)]}
                           for n, i, q in zip(names, b["id"].astype(str), inside, strict=True)]

    # sites by kind: one compact table per layer, drawn into its (empty) folium group by the page's template
    site_blobs = []
    demand_by_layer = _milestone_demand(outputs, milestones, base)
    for kind, g in D.site_layers(outputs).items():
        gd = D.display_copy(g, tolerance_m=tol, to_wgs84=True)
        fg = folium.FeatureGroup(name=D.title_nl(kind), show=True)
        fg.add_to(m)
        site_blobs.append((fg, _site_table(kind, gd, outputs, sub_names, milestones, base, demand_by_layer)))

    # conflicts (when the run has them): one compact table as the sites, coloured by severity
    extra_legend: list[tuple[str, str]] = []
    if conflicts is not None:
        gc = D.display_copy(conflicts, tolerance_m=tol, to_wgs84=True)
        fg = folium.FeatureGroup(name=D.CONFLICTS_TITLE_NL, show=True)
        fg.add_to(m)
        site_blobs.append((fg, _conflict_table(gc)))
        sev = gc["severity"].astype(str) if "severity" in gc else pd.Series("hoog", index=gc.index)
        extra_legend += [(f"{D.CONFLICTS_TITLE_NL}: {k}", v) for k, v in D.SEVERITY_COLOURS.items()
                         if k in set(sev)]
    if site_blobs:
        m.add_child(_SiteLayers(site_blobs))

    # substations (on top of areas and sites)
    subs_layer = None
    gs = D.display_copy(subs, tolerance_m=tol, to_wgs84=True)
    pops = _substation_popups(outputs, H, years, milestones, variants, classes, ranks, programme)
    gs_ids = gs["id"].astype(str)
    subs_layer = GeoJson(
        _feature_collection(gs, {F.SUBSTATION_ID: gs_ids, "_popup": [pops.get(i, "") for i in gs_ids]}),
        name=D.title_nl("substations"),
        marker=folium.CircleMarker(radius=8, weight=2, color="#111111", fill=True, fill_color=D.NO_DATA.colour,
                                   fill_opacity=1.0),
        on_each_feature=_bind_popup_js(),
    )
    subs_layer.add_to(m)

    # the ranked programme as numbered markers
    if programme is not None:
        gp = D.display_copy(programme, tolerance_m=tol, to_wgs84=True)
        fg = folium.FeatureGroup(name=D.PROGRAMME_TITLE_NL, show=True)
        rows = []
        for r in gp.itertuples(index=False):
            rec = r._asdict()
            kv = [(lab, _cell(rec.get(col))) for col, lab in D.PROGRAMME_COLUMNS_NL.items() if col in rec
                  and not (col == "needed_by_year" and "start_by" in rec)]  # the programme's words say it
            rows.append({"rank": int(rec["rank"]), "lat": r.geometry.y, "lon": r.geometry.x,
                         "popup": f"<div class='sp-pop'><table class='sp-kv'>{_rows(kv)}</table></div>"})
        fg.add_child(_RankMarkers(rows))
        fg.add_to(m)

    # land for new substations (spatialprog.siting): the candidate sites and, from a run folder, the suitability
    extra_legend += add_siting_layers(m, outputs, tolerance_m=tol)

    control = folium.LayerControl(position="topright", collapsed=False)
    control.add_to(m)
    m.fit_bounds([[s, w], [n, e]], padding_top_left=(300, 20), padding_bottom_right=(200, 20))

    variant_desc = {v: str(outputs.manifest.get("variants", {}).get(v, "")) for v in variants}
    default_year = int(outputs.manifest.get("base_year") or years[0])
    status, headroom = _status_blob(H, all_ids, years, variants, classes)
    carriers = _carrier_blobs(outputs, years, variants, classes, tol)
    data = {
        "subs": all_ids,
        "names": {k: sub_names.get(k, k) for k in all_ids},
        "years": years,
        "defaultYear": default_year if default_year in years else years[0],
        "variants": variants,
        "variantDesc": variant_desc,
        "classes": [{"code": c.code, "label": c.label_nl, "colour": c.colour} for c in classes],
        "codes": [c.code for c in classes],
        "directionsNl": dict(F.DIRECTION_NL),
        "areaWord": "Voedingsgebied",
        "subWord": "Onderstation",
        "status": status,
        "headroom": headroom,
        "milestones": milestones,
        "carriers": carriers,
        "electricityLabel": "Elektriciteit",
        "electricityHash": "elektriciteit",
        "boundaryLabels": boundary_labels,
        "subLabels": [{"n": sub_names.get(i, i), "p": [pt.y, pt.x]} for i, pt in zip(gs_ids, gs.geometry, strict=True)
                      if pt.geom_type == "Point"],
        "labelZoom": LABEL_ZOOM,
        "areaOpacity": AREA_FILL_OPACITY,
    }
    site_legend = [(D.title_nl(k), D.site_colour(k)) for k in D.site_layers(outputs)]
    panel = _Panel(
        title=outputs.project_name or "spatialprog",
        run_date=D.run_date_nl(outputs.manifest),
        fictional=bool(outputs.manifest.get("fictional_data")),
        years=years, milestones=milestones,
        directions=[(d, F.DIRECTION_NL[d]) for d in F.DIRECTIONS],
        variants=[(v, variant_desc[v]) for v in variants],
        classes=classes, subs_title=D.title_nl("substations"), sites=site_legend, extra=extra_legend,
        has_programme=programme is not None, programme_title=D.PROGRAMME_TITLE_NL,
        has_clusters=any("P" in blob["t"] or "pt" in blob for _, blob in site_blobs),
        source=D.source_line(outputs), background=MAP_BACKGROUND,
        data=data, areas_name=areas_layer.get_name() if areas_layer is not None else "null",
        subs_name=subs_layer.get_name(), map_name=m.get_name(), control_name=control.get_name(),
        bounds_name=bounds_layer.get_name() if bounds_layer is not None else "null",
        carriers=[(c["code"], c["label"]) for c in carriers], carrier_layers=[(c["title"], c["colour"]) for c in carriers],
    )
    m.add_child(panel)
    _deterministic_ids(root)
    # names changed: the panel script must use the new ones
    panel.areas_name = areas_layer.get_name() if areas_layer is not None else "null"
    panel.subs_name = subs_layer.get_name()
    panel.map_name = m.get_name()
    panel.control_name = control.get_name()
    panel.bounds_name = bounds_layer.get_name() if bounds_layer is not None else "null"
    return m


def interactive_html(outputs: RunOutputs, *, basemap: bool | str = False) -> str:
    """The interactive map of a run as one self-contained HTML page.

    Every script and stylesheet is inline; without ``basemap`` the page
    requests nothing (no CDN, no tiles). See :func:`interactive_map`.

    Returns
    -------
    str
        The HTML text (UTF-8).
    """
    m = interactive_map(outputs, basemap=basemap)
    text = m.get_root().render()
    return text if text.endswith("\n") else text + "\n"


