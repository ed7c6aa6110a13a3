"""One PDF report of a run for a council: A4 landscape pages a civil servant can attach to a memo.

:func:`report_pages` turns a finished run (:class:`~spatialprog.outputs.RunOutputs`) into matplotlib
figures, one per page, without opening a file; :func:`write_report` writes them into one PDF. The pages:

1. title and summary: the project, the run date, the variants, the source line; per variant and
   direction how many substations fall short and from when, the other carriers' nodes, the top of the
   programme;
2. how many substations (and other carriers' nodes) are short in each year, per variant and carrier, and
   the first year of shortfall of every substation per variant and direction, with all its short years;
3. the maps of :func:`spatialprog.maps.static.static_figures`: status per milestone year, the first
   year of shortfall of every variant, the other variants' status, the conflicts, the programme;
4. the programme of every variant (Dutch headers from ``data/column_labels.csv``);
5. the land-claim conflicts: counts per rule and the list;
6. the other carriers (hydrogen, heat, gas): each node's first shortfall and least headroom in its unit;
7. the variants compared: shortfalls and programme per variant, the interventions needed in every one;
8. the method: the rules behind the figures, the status classes, every parameter with its unit and
   source, the reference tables and their sources (the Toelichting of the workbooks,
   :mod:`spatialprog.workbooks`), the inputs with their checksums and the software;
9. the notices of the run.

The module is over 500 lines because it lays out the nine sections of the report, each its own pages;
the tables and numbers are :mod:`spatialprog.maps.tables`', the maps :mod:`spatialprog.maps.static`'.

Every text is drawn as it was typed (no mathtext: :func:`~spatialprog.maps.static.literal_text`); the
same run gives the same bytes (no creation date in the PDF, which is
:func:`~spatialprog.writer.run_timestamp`'s run date on the title page).
"""

from __future__ import annotations

import io
import logging
import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import fields as F
from .carriers import LABELS_NL, NODE_LAYERS
from .maps import _data as D
from .maps.static import A4_LANDSCAPE_IN, literal_text
from .maps.tables import (
    cell_text,
    conflict_rows,
    draw_table,
    nl_number,
    page_texts,
    periods_nl,
    place_text,
    programme_table,
    short_years,
    table_fontsize,
    table_height,
    text_rows,
)
from .outputs import RunOutputs
from .sheets import column_labels
from .writer import WriteFailed

__all__ = ["REPORT_PDF", "report_pages", "write_report", "toelichting_of", "pdf_bytes"]

#: File name of the report in a run's output folder.
REPORT_PDF = "rapport.pdf"

#: every text of a report page a line at a time on fixed baselines (:func:`~spatialprog.maps.tables.place_text`),
#: so that it reads the same in either PDF font (:func:`pdf_bytes`)
_text = place_text
_table = partial(draw_table, fixed_lines=True)

_TOP = 0.885  # where the body of a text page starts (figure fraction), below its title
_BOTTOM = 0.06
_LEFT, _WIDTH = 0.03, 0.94


# --------------------------------------------------------------------------------------
# pages


def _page(outputs: RunOutputs, title: str, subtitle: str = "") -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=100)
    _text(fig, 0.03, 0.965, title, fontsize=16, fontweight="bold", va="top")
    if subtitle:
        _text(fig, 0.03, 0.922, subtitle, fontsize=9.5, color="#444", va="top")
    _text(fig, 0.03, 0.015, D.source_line(outputs), fontsize=7, color="#555", va="bottom")
    return fig


def _paged_table(outputs: RunOutputs, title: str, subtitle: str, heads: list[str], cells: list[list[str]], *,
                 numeric: Sequence[bool] | None = None, fontsize: float = 7.5, top: float = _TOP,
                 first: Figure | None = None, max_row_h: float = 0.03) -> list[Figure]:
    """A table over as many pages as it needs (the header on each), the first page ``first`` when given
    (its table starting at ``top``); one font size on every page, the one at which all its rows fit the width
    (a page measured at the size of all the rows left and drawn at that of its own ran off the paper)."""
    pages: list[Figure] = []
    rest = list(cells)
    if not rest:
        fig = first or _page(outputs, title, subtitle)
        _text(fig, _LEFT, top, "(geen)", fontsize=9, va="top", color="#444")
        return [fig]
    size = None
    while rest:
        fig = first if first is not None and not pages else _page(
            outputs, title + (" (vervolg)" if pages else ""), subtitle)
        y_top = top if (first is not None and not pages) else _TOP
        size = size or table_fontsize(fig, _WIDTH, heads, rest, fontsize=fontsize)
        head_h, rows_h = table_height(fig, _WIDTH, heads, rest, fontsize=size)
        room, n = y_top - _BOTTOM - head_h, 0
        for h in rows_h:
            if room - h < 0 and n:
                break
            room -= h
            n += 1
        _table(fig, (_LEFT, _BOTTOM, _WIDTH, y_top - _BOTTOM), heads, rest[:n], fontsize=size,
                   numeric=numeric, max_row_h=max_row_h)
        pages.append(fig)
        rest = rest[n:]
    return pages


def _wrap(text: object, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) if isinstance(text, str) and text else cell_text(text)


def _carrier_frames(outputs: RunOutputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(headroom, shortfall) of every carrier, electricity first (the tables as the run wrote them)."""
    t = outputs.tables
    h = [t["headroom"].assign(**{F.CARRIER: F.ELECTRICITY}) if F.CARRIER not in t["headroom"] else t["headroom"]]
    s = [t["shortfall"].assign(**{F.CARRIER: F.ELECTRICITY}) if F.CARRIER not in t["shortfall"] else t["shortfall"]]
    if "carrier_headroom" in t:
        h.append(t["carrier_headroom"])
    if "carrier_shortfall" in t:
        s.append(t["carrier_shortfall"])
    return pd.concat(h, ignore_index=True), pd.concat(s, ignore_index=True)


def _names(outputs: RunOutputs) -> dict[str, str]:
    """Name per substation or carrier node id (id where unnamed)."""
    out: dict[str, str] = {}
    for kind in ("substations", *NODE_LAYERS.values()):
        g = outputs.layers.get(kind)
        if g is not None and "name" in g:
            for i, n in zip(g["id"].astype(str), g["name"], strict=True):
                out.setdefault(i, n if isinstance(n, str) and n else i)
    return out


def _is_short_table(h: pd.DataFrame) -> pd.Series:
    from .headroom import is_short

    return pd.Series(is_short(h[F.HEADROOM_MW].to_numpy(dtype=float)), index=h.index)


def _title_page(outputs: RunOutputs, contents: list[str]) -> Figure:
    m = outputs.manifest
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=100)
    _text(fig, 0.05, 0.90, "Netruimte, conflicten en programma", fontsize=13, color="#444", va="top")
    _text(fig, 0.05, 0.855, outputs.project_name, fontsize=22, fontweight="bold", va="top")
    years = outputs.years
    lines = [("Rekendatum", D.run_date_nl(m)), ("Basisjaar en horizon", f"{m.get('base_year', years[0])}; "
                                                                        f"{years[0]}\u2013{years[-1]}"),
             ("Coördinaten", str(m.get("crs", ""))),
             ("Toewijzing aan onderstations", D.METHOD_NL.get(str(m.get("assignment_method", "")),
                                                              str(m.get("assignment_method", ""))))]
    y = 0.77
    for k, v in lines:
        _text(fig, 0.05, y, k, fontsize=10, color="#444", va="top")
        _text(fig, 0.27, y, v, fontsize=10, va="top")
        y -= 0.032
    _text(fig, 0.05, y, "Ontwikkelvarianten", fontsize=10, color="#444", va="top")
    for v in D.variants_of(outputs):
        desc = (m.get("variants") or {}).get(v, "")
        text = f"{v}: {desc}" if desc else v
        wrapped = textwrap.wrap(text, 75) or [""]
        _text(fig, 0.27, y, "\n".join(wrapped), fontsize=10, va="top", linespacing=1.25)
        y -= 0.032 + 0.021 * (len(wrapped) - 1)
    if m.get("fictional_data"):
        y -= 0.01
        _text(fig, 0.05, y, "Let op: fictieve gegevens. Elke locatie en elk getal van deze voorbeeldregio is "
                          "verzonnen.", fontsize=10, color="#b00020", va="top", fontweight="bold")
        y -= 0.04
    # the summary: shortfalls per variant and direction
    y -= 0.02
    _text(fig, 0.05, y, "Samenvatting", fontsize=13, fontweight="bold", va="top")
    y -= 0.045
    subs = outputs.layers["substations"]
    rows = []
    for v in D.variants_of(outputs):
        for d in F.DIRECTIONS:
            short = short_years(outputs, v, d)
            first = sorted(ys[0] for ys in short.values())
            rows.append([v, F.DIRECTION_NL[d], f"{len(short)} van {len(subs)}",
                         str(first[0]) if first else "\u2013",
                         ", ".join(f"{s} ({ys[0]})" for s, ys in
                                   sorted(short.items(), key=lambda kv: (kv[1][0], kv[0])))])
    heads = ["Variant", "Richting", "Onderstations met tekort", "Eerste tekort",
             "Welke (eerste jaar tekort)"]
    y = _table(fig, (0.05, y - 0.3, 0.90, 0.3), heads, [[_wrap(c, 120) if j == 4 else c for j, c in enumerate(r)]
                                                             for r in rows], fontsize=8, max_row_h=0.026)
    prog = programme_table(outputs)
    if prog is not None and len(prog):
        y -= 0.03
        variant = D.variants_of(outputs)[0]
        _text(fig, 0.05, y, f"Bovenaan het programma ({variant})", fontsize=11, fontweight="bold", va="top")
        y -= 0.032
        for r in prog.to_dict("records"):
            if y < 0.06:
                break
            step = r.get("transformer_step") or r.get("intervention") or ""
            _text(fig, 0.05, y, f"{int(r['programme_rank'])}. {r.get('name') or r[F.SUBSTATION_ID]} "
                              f"({r[F.SUBSTATION_ID]}): {step}; {r.get('start_by', '')}", fontsize=9, va="top")
            y -= 0.022
    _text(fig, 0.70, 0.77, "Inhoud", fontsize=10, color="#444", va="top")
    _text(fig, 0.70, 0.74, "\n".join(contents), fontsize=8.5, va="top", linespacing=1.35)
    _text(fig, 0.05, 0.015, D.source_line(outputs), fontsize=7, color="#555", va="bottom")
    return fig


def _shortfall_pages(outputs: RunOutputs) -> list[Figure]:
    """Per year the count of short substations and nodes per variant and carrier; then per substation the
    first year of shortfall of every variant and direction with all its short years."""
    h, _ = _carrier_frames(outputs)
    short = _is_short_table(h)
    years = outputs.years
    rows = []
    for (carrier, v, d), g in h.groupby([F.CARRIER, F.VARIANT, F.DIRECTION], sort=False):  # none short: a row too
        g = g[short.loc[g.index]]
        counts = g.groupby(F.YEAR)[F.SUBSTATION_ID].nunique()
        rows.append([LABELS_NL.get(str(carrier), str(carrier)), str(v), F.DIRECTION_NL.get(str(d), str(d)),
                     *[str(int(counts.get(y, 0))) if counts.get(y, 0) else "" for y in years]])
    order = {c: i for i, c in enumerate(LABELS_NL.values())}
    variants = D.variants_of(outputs)
    rows.sort(key=lambda r: (order.get(r[0], 99), variants.index(r[1]) if r[1] in variants else 99, r[2]))
    # a carrier without any shortfall in a variant: one row saying so, not a row of blanks per direction
    quiet: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if not any(r[3:]):
            quiet.setdefault((r[0], r[1]), []).append(r[2])
    rows = [r for r in rows if any(r[3:])] + [[c, v, " en ".join(ds) + ": geen tekort", *[""] * len(years)]
                                              for (c, v), ds in quiet.items()]
    rows.sort(key=lambda r: (order.get(r[0], 99), variants.index(r[1]) if r[1] in variants else 99, r[2]))
    heads = ["Drager", "Variant", "Richting", *[str(y) for y in years]]
    first = _page(outputs, "Tekorten per jaar en per onderstation",
                  "Aantal onderstations (elektriciteit) en knooppunten (waterstof, warmte, gas) zonder ruimte, per jaar")
    numeric = [False, False, False, *[True] * len(years)]
    _table(first, (_LEFT, 0.3, _WIDTH, _TOP - 0.3), heads, rows or [["", "", "", *[""] * len(years)]],
                   numeric=numeric, fontsize=7.5, max_row_h=0.026)
    # per substation: first shortfall year per variant and direction, and the short years of each variant
    subs = outputs.layers["substations"]
    names = _names(outputs)
    heads2 = ["Onderstation", "Naam"]
    cols = []
    for v in variants:
        for d in F.DIRECTIONS:
            heads2.append(f"{v}: eerste tekort {F.DIRECTION_NL[d]}")
            cols.append((v, d))
    heads2.append("Jaren met tekort (afname; invoeding)")
    per = {(v, d): short_years(outputs, v, d) for v, d in cols}
    cells = []
    for sid in subs["id"].astype(str):
        row = [sid, names.get(sid, sid)]
        row += [str(per[c][sid][0]) if sid in per[c] else "" for c in cols]
        spans = []
        for v in variants:
            a = per[(v, F.OFFTAKE)].get(sid)
            b = per[(v, F.FEEDIN)].get(sid)
            if a or b:
                spans.append(f"{v}: " + "; ".join(x for x in (periods_nl(a, years[-1]) if a else "\u2013",
                                                              periods_nl(b, years[-1]) if b else "\u2013")))
        row.append("\n".join(spans))
        cells.append(row)
    return [first, *_paged_table(outputs, "Eerste jaar tekort per onderstation",
                                 "Per variant en richting het eerste jaar zonder ruimte (leeg: geen tekort binnen de "
                                 "horizon), en alle jaren met tekort", heads2, cells,
                                 numeric=[False, False, *[True] * len(cols), False], fontsize=7)]


def _programme_pages(outputs: RunOutputs) -> list[Figure]:
    labels = column_labels()
    pages: list[Figure] = []
    p = outputs.tables.get("programme")
    if p is None:
        return pages
    variants = [v for v in D.variants_of(outputs) if F.VARIANT not in p or (p[F.VARIANT].astype(str) == v).any()]
    for v in variants or [None]:
        t = programme_table(outputs, v)
        if t is None:
            continue
        heads, cells = text_rows(t, labels)
        if "transformer_step" in t:
            j = list(t.columns).index("transformer_step")
            for r in cells:
                r[j] = _wrap(r[j], 38)
        numeric = [pd.api.types.is_numeric_dtype(t[c]) for c in t.columns]
        pages += _paged_table(outputs, f"Programma van maatregelen \u2013 variant {v}" if v else "Programma",
                              "Gerangschikt volgens het afwegingskader; start = eerste jaar tekort min de doorlooptijd; "
                              "wachtende vraag in het jaar waarin het meest wacht", heads, cells, numeric=numeric)
    return pages


#: conflicts listed one by one in the report at most (a page holds about 30: a national run's 20,000 would be
#: 700 pages that nobody reads; every conflict is in conflicts.csv and on the map)
#: a list in the report shows at most this many rows, with a line saying where all of them are: a national run
#: has 20,000 conflicts (700 pages) and 800 measures in its variants comparison (45 pages)
MAX_LISTED_ROWS = 300


def _capped(fig: Figure, y: float, rows: Sequence, n_what: str, where: str) -> tuple[Sequence, float]:
    """The first :data:`MAX_LISTED_ROWS` of ``rows`` and the ``y`` below a line on ``fig`` saying so ("De eerste
    300 van de 20000 ``n_what``; ``where``."), or all of them and ``y`` when they are not more."""
    if len(rows) <= MAX_LISTED_ROWS:
        return rows, y
    _text(fig, _LEFT, y, f"De eerste {MAX_LISTED_ROWS} van de {len(rows)} {n_what}; {where}.", fontsize=8,
          va="top", color="#444")
    return rows[:MAX_LISTED_ROWS], y - 0.03


def _conflict_pages(outputs: RunOutputs) -> list[Figure]:
    rows = conflict_rows(outputs)
    if rows is None:
        fig = _page(outputs, "Conflicten tussen ruimteclaims")
        _text(fig, _LEFT, _TOP, "Deze run heeft geen conflicten tussen ruimteclaims (of geen regels die gelden).",
                 fontsize=10, va="top")
        return [fig]
    by = (rows.groupby(["rule_id", "severity", "description_nl"], sort=False, dropna=False).size()
          .reset_index(name="n") if {"rule_id", "severity", "description_nl"} <= set(rows.columns) else None)
    first = _page(outputs, "Conflicten tussen ruimteclaims",
                  f"{len(rows)} conflicten; de nummers zijn die van de kaart Conflicten")
    y = _TOP
    if by is not None:
        cells = [[str(r.rule_id), str(r.severity), _wrap(r.description_nl, 110), str(r.n)] for r in
                 by.itertuples(index=False)]
        y = _table(first, (_LEFT, 0.5, _WIDTH, _TOP - 0.5), ["Regel", "Ernst", "Conflict", "Aantal"], cells,
                       numeric=[False, False, False, True], fontsize=7.5, max_row_h=0.024)
        y -= 0.03
    layers = {k: D.title_nl(k) for k in D.site_layers(outputs)}

    def feature(layer: object, fid: object) -> str:
        return f"{fid} ({layers.get(str(layer), str(layer)).lower()})" if isinstance(fid, str) and fid else ""

    cells = []
    # a national run: the rule summary above, the list in conflicts.csv
    rows, y = _capped(first, y, rows, "conflicten (in de volgorde van de kaart)",
                      "alle conflicten staan in conflicts.csv en op de kaart Conflicten")
    for r in rows.to_dict("records"):
        area, dist = r.get("area_m2"), r.get("dist_m")
        size = (f"{nl_number(area)} m²" if isinstance(area, float | int) and np.isfinite(area) and area > 0 else
                f"{nl_number(dist)} m" if isinstance(dist, float | int) and np.isfinite(dist) else "")
        cells.append([str(r["nr"]), str(r.get("severity", "")), _wrap(r.get("description_nl", ""), 60),
                      feature(r.get("layer_a"), r.get("id_a")), feature(r.get("layer_b"), r.get("id_b")), size])
    return _paged_table(outputs, "Conflicten tussen ruimteclaims", "", ["Nr", "Ernst", "Conflict", "Claim a",
                                                                        "Claim b", "Overlap of afstand"], cells,
                        first=first, top=y, numeric=[True, False, False, False, False, True], fontsize=7)


def _carrier_pages(outputs: RunOutputs) -> list[Figure]:
    h = outputs.tables.get("carrier_headroom")
    s = outputs.tables.get("carrier_shortfall")
    title = "Waterstof, warmte en gas"
    if h is None or not len(h):
        fig = _page(outputs, title)
        _text(fig, _LEFT, _TOP, "Deze run heeft geen knooppunten van andere energiedragers.", fontsize=10, va="top")
        return [fig]
    names = _names(outputs)
    variants = D.variants_of(outputs)
    base = variants[0]
    heads = ["Drager", "Knooppunt", "Naam", "Richting", "Eenheid", f"Minste ruimte ({base})",
             *[f"{v}: eerste tekort" for v in variants]]
    cells = []
    order = {c: i for i, c in enumerate(LABELS_NL)}
    keys = h[[F.CARRIER, F.SUBSTATION_ID, F.DIRECTION]].drop_duplicates()
    keys = keys.assign(_o=keys[F.CARRIER].map(order)).sort_values(["_o", F.SUBSTATION_ID, F.DIRECTION],
                                                                  kind="stable")
    k3 = [F.CARRIER, F.SUBSTATION_ID, F.DIRECTION]
    units = h.groupby(k3, sort=False)[F.UNIT].first().to_dict() if F.UNIT in h else {}
    lows = h[h[F.VARIANT] == base].groupby(k3, sort=False)[F.HEADROOM_MW].min().to_dict()
    label = column_labels()[F.FIRST_SHORTFALL_YEAR]
    first_of = ({} if s is None else s.drop_duplicates([*k3, F.VARIANT]).set_index([*k3, F.VARIANT])
                [F.FIRST_SHORTFALL_YEAR].to_dict())  # one lookup per node and variant, not a filter each
    for c, sid, d in keys[k3].itertuples(index=False):
        unit = str(units.get((c, sid, d), "")) if units else ""
        low = lows.get((c, sid, d), np.nan)
        firsts = [cell_text(first_of[(c, sid, d, v)], label) if (c, sid, d, v) in first_of else "" for v in variants]
        cells.append([LABELS_NL.get(str(c), str(c)), str(sid), names.get(str(sid), str(sid)),
                      F.DIRECTION_NL.get(str(d), str(d)), unit, nl_number(low, 1) if np.isfinite(low) else "", *firsts])
    pages = _paged_table(outputs, title, "Elk knooppunt in zijn eigen eenheid; cijfers van verschillende dragers "
                                         "worden nooit opgeteld", heads, cells,
                         numeric=[False, False, False, False, False, True, *[True] * len(variants)])
    p = outputs.tables.get("programme")
    if p is None or F.CARRIER not in p or not (p[F.CARRIER] != F.ELECTRICITY).any():
        return pages
    other = p[p[F.CARRIER] != F.ELECTRICITY]
    other = other.assign(_c=other[F.CARRIER].map(order)).sort_values(["_c", F.VARIANT, "programme_rank"],
                                                                     kind="stable")
    title = "Maatregelen voor waterstof, warmte en gas"
    subtitle = "Het programma van de andere dragers, per drager en variant gerangschikt"
    first = _page(outputs, title, subtitle)
    other, y = _capped(first, _TOP, other, "maatregelen (in deze volgorde)",
                       "alle maatregelen staan in programme.csv en programme.xlsx")
    rows = []
    for r in other.to_dict("records"):
        added = r.get("added_capacity_mw")
        rows.append([LABELS_NL.get(str(r[F.CARRIER]), str(r[F.CARRIER])), str(r[F.VARIANT]), str(r["programme_rank"]),
                     str(r[F.SUBSTATION_ID]), cell_text(r.get("name")), _wrap(r.get("transformer_step") or
                                                                               r.get("intervention"), 50),
                     (nl_number(float(added), 1) + f" {r.get(F.UNIT, '')}") if isinstance(added, float | int)
                     and np.isfinite(added) else "", cell_text(r.get("start_by"))])
    return pages + _paged_table(outputs, title, subtitle,
                                ["Drager", "Variant", "Rang", "Knooppunt", "Naam", "Maatregel", "Extra capaciteit",
                                 "Start"], rows, numeric=[False, False, True, False, False, False, True, False],
                                first=first, top=y)


def _variant_pages(outputs: RunOutputs) -> list[Figure]:
    variants = D.variants_of(outputs)
    first = _page(outputs, "Varianten vergeleken", "Per variant en energiedrager: stations met tekort, het eerste "
                                                   "jaar tekort, de minste ruimte en het programma")
    summary = outputs.tables.get("variants_summary")
    if summary is not None and len(summary):
        order = {c: i for i, c in enumerate(LABELS_NL)}
        t = summary.assign(_c=summary[F.CARRIER].map(order), _v=summary[F.VARIANT].map(
            {v: i for i, v in enumerate(variants)}), _d=summary[F.DIRECTION].map(
            {d: i for i, d in enumerate(F.DIRECTIONS)})).sort_values(["_c", "_v", "_d"], kind="stable")
        t = t.drop(columns=["_c", "_v", "_d"])
        heads, cells = text_rows(t)
        for r in cells:  # the carrier in Dutch
            j = list(t.columns).index(F.CARRIER)
            r[j] = LABELS_NL.get(r[j], r[j])
        numeric = [pd.api.types.is_numeric_dtype(t[c]) for c in t.columns]
        y = _table(first, (_LEFT, 0.45, _WIDTH, _TOP - 0.45), heads, cells, numeric=numeric, fontsize=7,
                       max_row_h=0.024)
    else:  # a run folder from before the summary: the substations per variant
        subs = outputs.layers["substations"]
        cells = [[v, *[f"{len(short_years(outputs, v, d))} van {len(subs)}" for d in F.DIRECTIONS]] for v in variants]
        y = _table(first, (_LEFT, 0.6, _WIDTH, _TOP - 0.6), ["Variant", "Tekort afname", "Tekort invoeding"],
                       cells, numeric=[False, True, True], fontsize=8, max_row_h=0.028)
    nr = outputs.tables.get("no_regret")
    if nr is None or not len(nr):
        return [first]
    y -= 0.03
    _text(first, _LEFT, y, "Geen spijt: maatregelen die in elke variant nodig zijn, en die alleen in sommige",
               fontsize=10, fontweight="bold", va="top")
    names = _names(outputs)
    words = {"no_regret": "geen spijt", "variant_dependent": "afhankelijk van variant"}
    nr, y = _capped(first, y - 0.03, nr, "maatregelen (in deze volgorde)", "alle maatregelen staan in no_regret.csv")
    rows = [[LABELS_NL.get(str(r.get(F.CARRIER, F.ELECTRICITY)), str(r.get(F.CARRIER, ""))),
             str(r[F.SUBSTATION_ID]), names.get(str(r[F.SUBSTATION_ID]), ""),
             words.get(str(r.get("regret_class")), str(r.get("regret_class", ""))),
             str(r.get("variants", "")).replace(";", ", "), "\n".join(_wrap(part, 120) for part in str(r.get("per_variant", "")).split("; "))]
            for r in nr.to_dict("records")]
    return _paged_table(outputs, "Varianten vergeleken", "", ["Drager", "Station", "Naam", "Klasse", "Varianten",
                                                              "Maatregel per variant"], rows, first=first,
                        top=y, fontsize=7)


def _method_pages(outputs: RunOutputs, toelichting: pd.DataFrame | None) -> list[Figure]:
    m = outputs.manifest
    pages: list[Figure] = []
    intro = _page(outputs, "Werkwijze", "Hoe de cijfers zijn berekend, met welke parameters en uit welke bronnen")
    model = [
        "Per locatie en jaar de vraag (afname en invoeding, MW) uit de parameters in data/ en het projectbestand: "
        "woningen per jaar maal het vermogen per woning naar verwarming, laadpleinen, bedrijventerreinen, "
        "warmtenetten (de bron belast het onderstation waar zij staat), opwek.",
        "Elke locatie is toegewezen aan het onderstation dat haar voedt (voedingsgebieden, anders Voronoi-gebieden, "
        "anders het dichtstbijzijnde onderstation); een locatie over twee gebieden naar rato van haar oppervlak.",
        "Per onderstation, jaar, variant en richting: ruimte = capaciteit - belasting; een tekort in elk jaar met "
        "ruimte nul of negatief; de status volgt de klassen van de capaciteitskaart van Netbeheer Nederland.",
        "Per onderstation met een tekort een maatregel in standaardstappen, met het jaar waarin zij moet starten, "
        "gerangschikt volgens het afwegingskader.",
    ]
    y = _TOP
    for t in model:
        lines = textwrap.wrap(t, 150)
        _text(intro, _LEFT, y, "\u2022 " + "\n   ".join(lines), fontsize=9, va="top", linespacing=1.3)
        y -= 0.022 * len(lines) + 0.012
    toel = toelichting if toelichting is not None else _manifest_parameters(m)
    part = toel["Onderdeel"].astype(str)
    rules = toel[part.isin(["rekenregel", "statusklasse"])].drop_duplicates(["Onderdeel", "Naam"])
    cells = [[str(r["Naam"]), _wrap(r["Uitleg"], 150) + (f"\n{r['Waarde']}; bron: {r['Bron']}" if
                                                          r["Onderdeel"] == "statusklasse" else "")]
             for r in rules.to_dict("records")]
    pages += _paged_table(outputs, "Werkwijze", "", ["Regel", "Uitleg"], cells, first=intro, top=y - 0.01,
                          fontsize=7.5)
    params = toel[part.str.startswith("parameter")].drop_duplicates(["Onderdeel", "Naam", "Waarde"])
    cells = [[_wrap(r["Naam"], 40), str(r["Onderdeel"]).replace("parameter", "").strip(" ()") or "alle",
              cell_text(r["Waarde"]), str(r["Eenheid"] or ""), _wrap(r["Bron"] or "", 70),
              _wrap(r["Uitleg"] or "", 60)] for r in params.where(params.notna(), None).to_dict("records")]
    pages += _paged_table(outputs, "Parameters en hun bronnen", "Elke parameter die in deze run gold (de basisvariant, "
                          "dan wat een variant anders zet)", ["Parameter", "Variant", "Waarde", "Eenheid", "Bron",
                                                              "Toelichting"], cells,
                          numeric=[False, False, True, False, False, False], fontsize=6.5)
    refs = toel[part == "referentietabel"]
    cells = [[_wrap(r["Naam"], 50), _wrap(r["Uitleg"], 60), _wrap(r["Bron"], 90)] for r in
             refs.where(refs.notna(), "").to_dict("records")]
    for t in m.get("reference_tables", []) or []:
        if isinstance(t, Mapping):
            cells.append([_wrap(str(t.get("role", t.get("path", ""))), 50),
                          "referentietabel van de run (controlegetal)", str(t.get("sha256", ""))[:16]])
    inputs = []
    for i in m.get("inputs", []):
        name = str(i.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]
        layer = f" (laag {i['layer']})" if i.get("layer") else ""
        inputs.append([str(i.get("role", "")), name + layer, str(i.get("features", "")),
                       str(i.get("sha256", ""))[:16]])
    first = _page(outputs, "Bronnen", "Referentietabellen en invoer van deze run; controlegetal = de eerste 16 tekens "
                                      "van de SHA-256 in manifest.json")
    pages += _paged_table(outputs, "Bronnen", "", ["Tabel", "Inhoud", "Bron"], cells, first=first, fontsize=7)
    versions = m.get("versions", {}) or {}
    about = (f"Software: {', '.join(f'{k} {v}' for k, v in versions.items())}. Opdracht: {m.get('command', '')}. "
             f"Rekendatum: {D.run_date_nl(m)}; {m.get('notices', 0)} meldingen.")
    last = _page(outputs, "Invoer van deze run", _wrap(about, 170).split("\n")[0])
    if len(_wrap(about, 170).split("\n")) > 1:
        _text(last, _LEFT, 0.905, "\n".join(_wrap(about, 170).split("\n")[1:]), fontsize=9.5, color="#444", va="top")
    pages += _paged_table(outputs, "Invoer van deze run", "", ["Rol", "Bestand", "Objecten", "Controlegetal"], inputs,
                          first=last, top=_TOP - 0.03, numeric=[False, False, True, False], fontsize=7.5)
    return pages


def _manifest_parameters(m: Mapping) -> pd.DataFrame:
    """Without the workbooks' Toelichting (a run folder without them): the parameters as the manifest lists
    them, in the Toelichting's columns."""
    rows = []
    base = next(iter(m.get("parameters", {}) or {}), None)
    for v, ps in (m.get("parameters", {}) or {}).items():
        for r in ps:
            if v != base and not str(r.get("origin", "")).startswith("variant"):
                continue
            rows.append({"Onderdeel": "parameter" + (f" ({v})" if v != base else ""), "Naam": r.get("key"),
                         "Codenaam": r.get("key"), "Waarde": r.get("value"), "Eenheid": r.get("unit") or "",
                         "Uitleg": r.get("note") or "", "Bron": r.get("source") or ""})
    return pd.DataFrame(rows, columns=["Onderdeel", "Naam", "Codenaam", "Waarde", "Eenheid", "Uitleg", "Bron"])


def _notice_pages(outputs: RunOutputs, limit: int = 60) -> list[Figure]:
    n = outputs.tables.get("notices")
    if n is None or not len(n):
        fig = _page(outputs, "Meldingen")
        _text(fig, _LEFT, _TOP, "Geen meldingen: de invoer is zonder reparaties gelezen.", fontsize=10, va="top")
        return [fig]
    n = n.assign(_w=(n["level"] != "warning").astype(int)).sort_values("_w", kind="stable")
    counts = n["level"].value_counts()
    sub = "; ".join(f"{int(v)} {'waarschuwingen' if k == 'warning' else 'opmerkingen'}" for k, v in counts.items())
    shown = n.head(limit)
    cells = [["waarschuwing" if r["level"] == "warning" else "opmerking", cell_text(r.get("layer")),
              cell_text(r.get("feature")), cell_text(r.get("field")), _wrap(r.get("message"), 80), _wrap(r.get("fix"), 50)]
             for r in shown.to_dict("records")]
    if len(n) > limit:
        cells.append(["", "", "", "", f"\u2026 en {len(n) - limit} meer: notices.csv", ""])
    return _paged_table(outputs, "Meldingen", sub + " (reparaties en waarschuwingen bij het lezen en rekenen)",
                        ["Soort", "Laag", "Object", "Veld", "Melding", "Oplossing"], cells, fontsize=7)


#: the order of the map pages: the base variant's status and every variant's first shortfall first
def _map_order(figures: Mapping[str, Figure]) -> list[str]:
    first = [k for k in ("netruimte_afname", "eerste_tekort_afname", "netruimte_invoeding", "eerste_tekort_invoeding")
             if k in figures]
    rest = [k for k in figures if k.startswith("netruimte_") and k not in first]
    tail = [k for k in ("conflicten", "programma") if k in figures]
    return first + rest + tail + [k for k in figures if k not in first + rest + tail]


def report_pages(outputs: RunOutputs, *, toelichting: pd.DataFrame | None = None,
                 figures: Mapping[str, Figure] | None = None) -> list[Figure]:
    """Every page of the report, in order (pure: no file is opened).

    Parameters
    ----------
    outputs : RunOutputs
        A finished run (:meth:`RunOutputs.read` or ``workflow.outputs_of``).
    toelichting : DataFrame, optional
        The Toelichting of the run's workbooks (:func:`toelichting_of`): the rules, parameters and
        sources of the method pages. Without it those pages list the inputs only.
    figures : mapping, optional
        The static maps (:func:`spatialprog.maps.static.static_figures`) when already drawn.

    Returns
    -------
    list of Figure
        A4 landscape, numbered ``pagina i van n`` at the foot.
    """
    from .maps.static import static_figures

    figures = dict(figures) if figures is not None else static_figures(outputs)
    body: list[tuple[str, list[Figure]]] = [
        ("Tekorten per jaar en per onderstation", _shortfall_pages(outputs)),
        ("Kaarten", [figures[k] for k in _map_order(figures)]),
        ("Programma van maatregelen", _programme_pages(outputs)),
        ("Conflicten tussen ruimteclaims", _conflict_pages(outputs)),
        ("Waterstof, warmte en gas", _carrier_pages(outputs)),
        ("Varianten vergeleken", _variant_pages(outputs)),
        ("Werkwijze, parameters en bronnen", _method_pages(outputs, toelichting)),
        ("Meldingen", _notice_pages(outputs)),
    ]
    contents, at = [], 2
    for name, pages in body:
        if pages:
            contents.append(f"{at:>3}  {name}")
            at += len(pages)
    pages = [_title_page(outputs, contents)] + [p for _, ps in body for p in ps]
    for p in pages:
        literal_text(p)
    return pages


#: the characters of the PDF standard fonts' encoding (WinAnsi: Windows code page 1252): é, ë, €, –, ², × ...
_STANDARD_ENCODING = "cp1252"


def _in_standard_fonts(text: str) -> bool:
    """Whether Helvetica, a font every PDF reader has, draws ``text`` as typed: every character in its encoding
    and printable (a line break aside).

    Examples
    --------
    >>> _in_standard_fonts("Coördinaten 2025–2040: 12 % € × m²"), _in_standard_fonts("≥ 2")
    (True, False)
    """
    try:
        text.encode(_STANDARD_ENCODING)
    except UnicodeEncodeError:
        return False
    return text.replace("\n", "").isprintable()


@contextmanager
def _standard_fonts(on: bool) -> Iterator[None]:
    """Draw in the PDF standard fonts (Helvetica, not embedded) while on, else in DejaVu Sans (embedded)."""
    if not on:
        yield
        return
    # the core fonts' AFM files call the regular weight "Medium": matplotlib says so once per size, in a warning
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with mpl.rc_context({"pdf.use14corefonts": True}):
            yield
    finally:
        log.setLevel(level)


#: zlib level of a map page's drawing once the page number is added to it (pypdf decodes it to add one):
#: 3 packs the national conflicts map in a fifth of the time of level 6, a few per cent larger
_MAP_PAGE_LEVEL = 3


def pdf_bytes(pages: Sequence[Figure], *, title: str = "", drawn: Mapping[int, bytes] | None = None) -> bytes:
    """The pages as one PDF (no creation date: the same pages give the same bytes).

    The pages of text and tables are set in Helvetica, one of the fonts every PDF reader has (nothing
    embedded: a tenth of the time of DejaVu Sans, whose every glyph matplotlib lays out, tracks and
    subsets), when it has every character of their texts; else in DejaVu Sans, embedded. Each line of a
    text page stands on its own baseline (:func:`~spatialprog.maps.tables.place_text`), so the pages read
    the same in either font.

    A map (a page with axes) is its own PDF (:func:`~spatialprog.maps.static.pdf_of`, DejaVu Sans
    embedded) with the page number added on top (pypdf): the map is drawn once for its ``.pdf`` file and
    the report, not twice.

    Parameters
    ----------
    pages : sequence of Figure
    title : str
    drawn : mapping, optional
        ``id(figure)`` to that map's PDF, when already drawn (``write_maps`` wrote it); the other maps are
        drawn here, the same way.
    """
    from matplotlib.backends.backend_pdf import PdfPages
    from pypdf import PdfReader, PdfWriter

    from .maps.static import pdf_of

    n = len(pages)
    marks = [f"pagina {i} van {n}" for i in range(1, n + 1)]
    standard = all(_in_standard_fonts(t) for fig in pages if not fig.axes
                   for t in page_texts(fig)) and all(_in_standard_fonts(m) for m in marks)
    drawn = dict(drawn or {})
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Creator": None, "Producer": None, "CreationDate": None}) as pdf:
        for fig, text in zip(pages, marks, strict=True):
            is_map = bool(fig.axes)
            if is_map:  # its drawing from its own PDF, and here a page with its number alone
                if id(fig) not in drawn:
                    drawn[id(fig)] = pdf_of(fig)
                fig = Figure(figsize=fig.get_size_inches())
                fig.patch.set_visible(False)
            mark = _text(fig, 0.985, 0.99, text, fontsize=7, color="#555", ha="right", va="top")
            with _standard_fonts(standard or is_map and _in_standard_fonts(text)):
                pdf.savefig(fig)
            mark.remove()
    book = PdfReader(buf)
    out = PdfWriter()
    for fig, page in zip(pages, book.pages, strict=True):
        if fig.axes:
            drawing = out.add_page(PdfReader(io.BytesIO(drawn[id(fig)])).pages[0])
            drawing.merge_page(page)  # the number on top of the map
            drawing.compress_content_streams(level=_MAP_PAGE_LEVEL)
        else:
            out.add_page(page)
    out.metadata = {"/Title": title, "/Creator": "spatialprog"}
    data = io.BytesIO()
    out.write(data)
    return data.getvalue()


def toelichting_of(out_dir: str | Path) -> pd.DataFrame | None:
    """The Toelichting sheets of a run folder's workbooks (``headroom.xlsx``, ``programme.xlsx``) as one
    table, or None when neither is there. Text as it was written (the workbooks keep every cell a string)."""
    parts = []
    for name in ("headroom.xlsx", "programme.xlsx"):
        p = Path(out_dir) / name
        if p.is_file():
            try:
                parts.append(pd.read_excel(p, sheet_name="Toelichting", dtype=object))
            except ValueError:  # no such sheet
                continue
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).astype(object).where(lambda d: d.notna(), None)


def write_report(outputs: RunOutputs, path: str | Path, *, toelichting: pd.DataFrame | None = None,
                 figures: Mapping[str, Figure] | None = None, map_pdfs: Mapping[str, bytes] | None = None) -> Path:
    """Write the report of a run as one PDF at ``path``.

    Parameters
    ----------
    outputs : RunOutputs
    path : path
        The PDF; written beside itself and renamed into place, so a failure leaves no half file.
    toelichting : DataFrame, optional
        Default: :func:`toelichting_of` the run's folder (``outputs.out_dir``) when it has one.
    figures : mapping, optional
        The static maps when already drawn (``write_maps`` hands them over).
    map_pdfs : mapping, optional
        The PDF of each of ``figures`` (by the same key, :func:`~spatialprog.maps.static.pdf_of`) when already
        drawn for its file: the report's map pages are taken from them (:func:`pdf_bytes`), not drawn again.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        When the file cannot be written (one line).
    """
    path = Path(path)
    if toelichting is None and outputs.out_dir is not None:
        toelichting = toelichting_of(outputs.out_dir)
    drawn = {}
    if figures is not None and map_pdfs is not None:
        drawn = {id(figures[k]): data for k, data in map_pdfs.items() if k in figures}
    data = pdf_bytes(report_pages(outputs, toelichting=toelichting, figures=figures),
                     title=f"Netruimte en programma \u2013 {outputs.project_name}", drawn=drawn)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise WriteFailed(path, e) from None
    return path
