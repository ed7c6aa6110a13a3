"""The check's documents: the JSON Schema of ``--json`` and the offline one-page HTML report."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from .. import __version__
from .result import SCHEMA_ID, VERDICTS, SiteCheck

__all__ = ["JSON_SCHEMA", "render_html"]


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
_CONNECTION: dict[str, Any] = {
    "type": "object",
    "required": ["carrier", "unit", "direction", "stations", "verdict", "first_fit_year", "short_years",
                 "max_short_mw", "site_mw_end", "years"],
    "properties": {
        "carrier": {"enum": ["electricity", "hydrogen", "heat", "gas"]},
        "unit": {"enum": ["MWe", "MW_H2", "MWth", "MW_gas"]},
        "direction": {"enum": ["offtake", "feedin"]},
        "stations": {"type": "array", "items": {"type": "object", "required": ["id"]}},
        "verdict": _VERDICT,
        "max_short_mw": {"type": "number", "description": "in unit"},
        "site_mw_end": {"type": "number", "description": "in unit"},
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
        "direction": {"enum": ["offtake", "feedin"],
                      "description": "the direction the first site's headline verdict judges (each variant says its own)"},
        "conflict_check": {"type": "boolean", "description": "whether land-claim conflicts were checked"},
        "order": {"type": "array", "items": {"type": "string"}, "description": "site ids in check order"},
        "sites": {"type": "array", "items": {
            "type": "object",
            "required": ["site", "verdict", "summary_nl", "summary_en", "serving", "unassigned_share", "variants",
                         "reinforcements", "conflicts", "overlaps", "sees", "notices", "assumptions"],
            "properties": {
                "site": {"type": "object", "required": ["id", "layer", "programme", "area_ha", "centroid", "crs",
                                                        "geometry"],
                         "properties": {"id": {"type": "string"},
                                        "layer": {"type": "string", "description": "the layer kind checked "
                                                  "(one of spatialprog.kinds.check_kinds())"},
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
                        "direction": {"enum": ["offtake", "feedin"],
                                      "description": "offtake, or feed-in for a site that only delivers"},
                        "alternatives": {"type": "array", "description": "nearest other substations with room for "
                                         "the whole site in every year it draws", "items": {
                                             "type": "object", "required": ["substation_id", "distance_m",
                                                                            "min_headroom_after_mw", "min_year"]}},
                        "connections": {"type": "array", "description": "the site's other carriers and directions, "
                                        "each judged at its own nodes in its own unit", "items": _CONNECTION},
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
                "options": {"type": "array", "description": "a business park's process heat electric, on hydrogen "
                            "or on gas, each judged (headline variant)", "items": {
                                "type": "object", "required": ["process_heat_carrier", "carrier", "verdict",
                                                               "electricity", "carrier_connection"],
                                "properties": {"verdict": _VERDICT,
                                               "carrier_connection": {"oneOf": [_CONNECTION, {"type": "null"}]}}}},
            }}},
    },
}


# --------------------------------------------------------------------------------------
# the one-page HTML report (offline: inline CSS and an inline SVG map, no tiles, no scripts)

_HTML_COLOURS = {"fits": "#2e7d32", "fits_from": "#b7791f", "does_not_fit": "#c62828", "outside": "#6a1b9a",
                 "after_horizon": "#00838f"}


def _esc(x: Any) -> str:
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
    >>> from spatialprog.sitecheck import check_site
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
        cons = vd.get("connections") or []
        if cons:
            rows = "".join(
                f"<tr><td class='l'>{_esc(k['carrier'])}</td><td class='l'>{_esc(k['direction'])}</td>"
                f"<td class='l'>{_esc(', '.join(st['id'] for st in k['stations']) or '-')}</td>"
                f"<td>{k['site_mw_end'] or 0:.2f} {_esc(k['unit'])}</td><td class='l'>{_esc(k['verdict']['nl'])}</td>"
                f"<td>{k['max_short_mw']:.2f}</td></tr>" for k in cons)
            out.append("<table><tr><th class='l'>energiedrager / carrier</th><th class='l'>richting</th>"
                       "<th class='l'>knooppunt / node</th><th>locatie (laatste jaar)</th><th class='l'>oordeel</th>"
                       f"<th>max. tekort</th></tr>{rows}</table>")
        if c.options:
            rows = "".join(
                f"<tr><td class='l'>{_esc(o['process_heat_carrier'])}</td><td class='l'>{_esc(o['verdict']['nl'])}</td>"
                f"<td class='l'>{_esc(o['electricity']['verdict']['nl'])} ({o['electricity']['site_mw_end'] or 0:.2f} "
                f"MWe)</td><td class='l'>"
                + (f"{_esc(o['carrier_connection']['verdict']['nl'])} ({o['carrier_connection']['site_mw_end'] or 0:.2f} "
                   f"{_esc(o['carrier_connection']['unit'])})" if o["carrier_connection"] else "-")
                + "</td></tr>" for o in c.options)
            out.append("<table><tr><th class='l'>proceswarmte / process heat</th><th class='l'>oordeel</th>"
                       "<th class='l'>elektriciteit</th><th class='l'>eigen net / own carrier</th></tr>"
                       f"{rows}</table>")
        for x in c.serving:
            if x.get("operator_forecast"):
                out.append(f"<p class='small'>{_esc(x['substation_id'])}: beschikbaar volgens de netbeheerder / "
                           "operator's forecast (MVA, zonder nieuwe plannen / without new sites): " + "; ".join(
                               f"{f['year']}: {f['operator_available_mva']:g} (spatialprog "
                               f"{f['ours_available_mva']:g})" for f in x["operator_forecast"]) + "</p>")
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

