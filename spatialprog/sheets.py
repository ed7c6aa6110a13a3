"""Spreadsheets for people: Dutch headers, names beside ids, number formats, colours and a Toelichting.

The CSV files of a run are the machine format (code names, full precision);
the workbooks (``headroom.xlsx``, ``programme.xlsx``) are for the civil
servants, aldermen and planners who receive them. :func:`book` turns tables
into a :class:`Book`: the sheets with Dutch headers and a layout per sheet
that :func:`spatialprog.writer.write_xlsx` applies (it keeps its cell safety:
every text a typed string cell, never a formula). The two workbooks of a run
are put together in :mod:`spatialprog.workbooks`.

Headers
    A column that is a field of a layer schema (:data:`SCHEMA_COLUMNS`) takes
    that field's Dutch alias from :mod:`spatialprog.kinds`; every other column
    its ``label_nl`` from ``data/column_labels.csv`` (``column, label_nl,
    unit, decimals, description_nl``), the one table of output labels, read
    here (:func:`load_column_labels`). A schema field's row in that table
    leaves ``label_nl`` empty and gives only its Dutch description.
    ``tests/test_deliverables_sheets.py`` fails for a column without a label.
Values
    Stored as the CSV stores them (six significant digits) and shown through
    number formats: ``decimals`` decimals with a thousands separator, years
    (unit ``jaartal``) without one, unit ``%`` a share (0-1) shown as a
    percentage. Codes read as Dutch words (``offtake`` -> ``afname``,
    ``extension`` -> ``uitbreiding``, true -> ``ja``); ids get the name beside
    them (the substation's, the site's), joined from the tables the builders
    are given (:mod:`spatialprog.workbooks`): nothing here opens a layer.
Layout
    Column widths from the contents, the header row (and the id and name
    columns) frozen, an autofilter, conditional colours for the status
    classes (``colour`` of ``data/status_classes.csv``), for a late start and
    for a higher-level overload.
Toelichting
    The last sheet explains every column of every sheet (Dutch header, code
    name as in the CSV, unit, meaning), the rules behind the figures, and
    cites the source of every parameter used (``data/parameters.toml`` and the
    project file) and of the reference tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import fields as F
from .errors import ProjectError
from .params import data_dir, read_reference_table
from .programme import INTERVENTIONS_NL

__all__ = [
    "ALIASES_NL",
    "LABELS_FILE",
    "SCHEMA_COLUMNS",
    "VALUES_NL",
    "Label",
    "Sheet",
    "Book",
    "load_column_labels",
    "column_labels",
    "missing_labels",
    "number_format",
    "TOELICHTING_COLUMNS",
    "book",
]

#: the one table of Dutch labels of output columns (in data/)
LABELS_FILE = "column_labels.csv"

#: columns of the workbooks that are fields of a layer schema: (kind, field) whose Dutch alias is the header
SCHEMA_COLUMNS = {
    F.SUBSTATION_ID: ("service_areas", "substation_id"),
    "name": ("substations", "name"),
    "higher_level_id": ("substations", "higher_level_id"),
}

#: the Dutch words of coded values, per column (the CSV keeps the codes)
VALUES_NL: dict[str, dict[str, str]] = {
    F.DIRECTION: {**F.DIRECTION_NL, "higher": "hoger = eerder", "lower": "lager = eerder"},
    "short_directions": dict(F.DIRECTION_NL),
    "intervention": INTERVENTIONS_NL,
    "regret_class": {"no_regret": "geen spijt", "variant_dependent": "afhankelijk van variant"},
    "flag": {"ok": "in orde", "hidden_overload": "verborgen overbelasting", "overload": "overbelast",
             "no_capacity": "capaciteit onbekend"},
    "items": {"substations": "onderstations", "sites": "locaties"},
    "firm_rule": {"published": "gepubliceerd"},
    "origin": {"data": "standaard (data/parameters.toml)", "project": "projectbestand"},
}

_LATE = "te laat"
_LATE_FILL = "#f4b6b6"


@dataclass(frozen=True)
class Label:
    """How one column reads: its Dutch header, unit, decimals and meaning."""

    column: str
    header: str
    unit: str = ""
    decimals: int | None = None
    description: str = ""


def load_column_labels(path: str | Path | None = None) -> pd.DataFrame:
    """Read ``data/column_labels.csv``: ``column, label_nl, unit, decimals, description_nl``.

    Raises
    ------
    ProjectError
        For a column named twice, a ``decimals`` that is not a whole number
        from 0 to 6, or a schema field given a ``label_nl`` (its header is the
        schema's alias).

    Examples
    --------
    >>> t = load_column_labels().set_index("column")
    >>> t.at["headroom_mw", "label_nl"], t.at["headroom_mw", "unit"], int(t.at["headroom_mw", "decimals"])
    ('ruimte (MW)', 'MW', 1)
    """
    p = Path(path) if path else data_dir() / LABELS_FILE
    df = read_reference_table(p, ["column", "label_nl", "unit", "decimals", "description_nl"], "column labels",
                              dtype={"column": str, "label_nl": str, "unit": str, "description_nl": str},
                              keep_default_na=False)
    dup = df["column"][df["column"].duplicated()]
    if len(dup):
        raise ProjectError(f"{p.name}: column '{dup.iat[0]}' is named twice - keep one row per column")
    dec = pd.to_numeric(df["decimals"].replace("", np.nan), errors="coerce")
    bad = df[(df["decimals"].astype(str) != "") & ~(dec.between(0, 6) & (dec == dec.round()))]
    if len(bad):
        raise ProjectError(f"{p.name}: row {int(bad.index[0]) + 2} ({bad['column'].iat[0]}): decimals must be a "
                           f"whole number from 0 to 6, or empty for text")
    schema = df[df["column"].isin(SCHEMA_COLUMNS) & (df["label_nl"] != "")]
    if len(schema):
        raise ProjectError(f"{p.name}: '{schema['column'].iat[0]}' is a layer field: its header is the schema's "
                           f"Dutch alias (kinds.py) - leave label_nl empty")
    df["decimals"] = dec.astype("Int64")
    return df


_LABELS_MEMO: dict = {}


def column_labels(table: pd.DataFrame | None = None) -> dict[str, Label]:
    """Every known column's :class:`Label`: schema aliases first, then the label table.

    Examples
    --------
    >>> lab = column_labels()
    >>> lab["substation_id"].header, lab["first_shortfall_year"].header, lab["utilisation"].unit
    ('onderstation', 'eerste jaar tekort', '%')
    """
    from .kinds import LAYER_KINDS

    if table is None:  # the bundled table: read once per process while the file is unchanged (a report asks often)
        p = data_dir() / LABELS_FILE
        key = (str(p), p.stat().st_mtime_ns if p.exists() else 0)
        if _LABELS_MEMO.get("key") != key:
            _LABELS_MEMO.update(key=key, labels=column_labels(load_column_labels()))
        return dict(_LABELS_MEMO["labels"])
    rows = {r.column: r for r in table.itertuples(index=False)}
    out: dict[str, Label] = {}
    for col, (kind, name) in SCHEMA_COLUMNS.items():
        c = LAYER_KINDS[kind].column(name)
        r = rows.get(col)
        out[col] = Label(col, c.alias_nl, c.unit or "", None, r.description_nl if r is not None else c.description)
    for col, r in rows.items():
        if col not in out:
            dec = None if pd.isna(r.decimals) else int(r.decimals)
            out[col] = Label(col, r.label_nl, r.unit, dec, r.description_nl)
    return out


class _Aliases(Mapping):
    """The Dutch alias of every result column: the headers of :func:`column_labels`, read on first use."""

    def __init__(self) -> None:
        self._d: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._d is None:
            self._d = {c: lab.header for c, lab in column_labels().items() if lab.header}
        return self._d

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


#: Dutch aliases for result columns, as the maps and the QGIS export show them: the same one table of output
#: labels as the spreadsheets' headers (``data/column_labels.csv`` and the schemas' aliases)
ALIASES_NL: Mapping[str, str] = _Aliases()


def missing_labels(frames: Mapping[str, pd.DataFrame], labels: Mapping[str, Label] | None = None) -> list[str]:
    """``sheet: column`` for every column of ``frames`` without a label (a test keeps this empty)."""
    labels = column_labels() if labels is None else labels
    return [f"{s}: {c}" for s, df in frames.items() for c in df.columns if c not in labels or not labels[c].header]


def number_format(label: Label | None) -> str | None:
    """The Excel number format of a column (None: as it comes).

    Examples
    --------
    >>> [number_format(Label("x", "x", u, d)) for u, d in (("MW", 1), ("jaartal", 0), ("%", 0), ("aantal", 0))]
    ['#,##0.0', '0', '0%', '#,##0']
    """
    if label is None or label.decimals is None:
        return None
    frac = "." + "0" * label.decimals if label.decimals else ""
    if label.unit == "%":
        return f"0{frac}%"
    if label.unit == "jaartal":
        return "0"
    return f"#,##0{frac}"


# --------------------------------------------------------------------------------------
# one sheet, the book


@dataclass
class Sheet:
    """One table for people: its title, the table with code-named columns, and how it reads.

    Attributes
    ----------
    title : str
        The sheet's (Dutch) name.
    frame : DataFrame
        Columns as the CSV names them, values as computed.
    keys : int
        Leading columns frozen with the header (the id and its name).
    about : str
        One line for the Toelichting: what the sheet holds.
    """

    title: str
    frame: pd.DataFrame
    keys: int = 0
    about: str = ""


@dataclass
class Book:
    """The sheets of a workbook for :func:`spatialprog.writer.write_xlsx` (``sheets`` and ``layout``).

    ``columns`` keeps each data sheet's code names (as in the CSV), in the order of its Dutch headers.
    """

    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    layout: dict[str, Callable] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)


def _sig6(s: pd.Series) -> pd.Series:
    """Floats to six significant digits (the CSV's precision): the stored value, shown by its number format."""
    v = s.to_numpy(dtype=float)
    fin = np.isfinite(v) & (v != 0)
    mag = np.zeros_like(v)
    mag[fin] = np.floor(np.log10(np.abs(v[fin])))
    with np.errstate(over="ignore", invalid="ignore"):  # subnormal values: kept as they are
        scale = 10.0 ** (5 - mag)
        rounded = np.round(v * scale) / scale
    out = np.where(fin & np.isfinite(rounded), rounded, v)
    return pd.Series(out, index=s.index)


def _readable(df: pd.DataFrame, layer_titles: Mapping[str, str]) -> pd.DataFrame:
    """Codes as Dutch words, booleans as ja/nee, floats to the CSV's precision; columns keep their code names."""
    out = df.copy()
    words = {**VALUES_NL, F.LAYER: dict(layer_titles)}
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.map({True: "ja", False: "nee"}).astype(object)
        elif pd.api.types.is_float_dtype(s.dtype):
            out[c] = _sig6(s)
        elif c == "short_directions":
            out[c] = s.map(lambda v, m=words[c]: "+".join(m.get(p, p) for p in v.split("+")) if isinstance(v, str)
                           else v)
        elif c in words:
            out[c] = s.map(lambda v, m=words[c]: m.get(v, v) if isinstance(v, str) else v)
        elif s.dtype == object and s.map(lambda v: isinstance(v, bool)).any():
            out[c] = s.map(lambda v: ("ja" if v else "nee") if isinstance(v, bool) else v)
    return out


def _colour_text(hex_colour: str) -> str:
    """Black or white text on a fill, whichever reads."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return "000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "FFFFFF"


def _width(values: pd.Series, header: str, fmt: str | None) -> float:
    """A column width (characters) that shows the values and at most two lines of the header."""
    sample = values.iloc[:2000]
    if pd.api.types.is_numeric_dtype(sample.dtype) and len(sample):
        dec = fmt.split(".")[1].count("0") if fmt and "." in fmt else 0
        top = float(np.nanmax(np.abs(sample.to_numpy(dtype=float)))) if sample.notna().any() else 0.0
        longest = len(f"{top:,.{dec}f}") + 1 if np.isfinite(top) else 4
        if fmt and fmt.endswith("%"):
            longest = len(f"{top * 100:.{dec}f}") + 2
    else:
        longest = max((len(str(v)) for v in sample if v is not None and v == v), default=0)
    words = max((len(w) for w in header.split()), default=0)
    head = max(words, min(len(header), (len(header) + 1) // 2 + 1))
    return float(min(max(longest, head, 6) + 2, 60))


def _data_layout(headers: list[str], labels: list[Label | None], frame: pd.DataFrame, *, keys: int,
                 status_colours: Mapping[str, str]) -> Callable:
    """The layout of a data sheet: formats, widths, frozen header and keys, filter, colours."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fmts = [number_format(lab) for lab in labels]
    widths = [_width(frame.iloc[:, j], h, f) for j, (h, f) in enumerate(zip(headers, fmts, strict=True))]
    codes = [lab.column if lab is not None else "" for lab in labels]

    def apply(ws) -> None:
        n = ws.max_row
        head_fill = PatternFill("solid", fgColor="DDE3EA")
        for j, (fmt, w) in enumerate(zip(fmts, widths, strict=True), start=1):
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = w
            cell = ws.cell(row=1, column=j)
            cell.font = Font(bold=True)
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if fmt:
                for (c,) in ws.iter_rows(min_row=2, max_row=n, min_col=j, max_col=j):
                    c.number_format = fmt
        # the header row as high as its longest wrapped header (spreadsheet programs do not all fit it themselves)
        # (bold text is about a quarter wider than the column's character width)
        lines = max((math.ceil(1.25 * len(str(h)) / max(w - 1.0, 1.0)) for h, w in zip(headers, widths, strict=True)),
                    default=1)
        ws.row_dimensions[1].height = 15.0 * max(lines, 1)
        ws.freeze_panes = ws.cell(row=2, column=keys + 1).coordinate
        last = get_column_letter(max(len(headers), 1))
        ws.auto_filter.ref = f"A1:{last}{max(n, 1)}"
        if n < 2:
            return

        def colour(col_code: str, formula: Callable[[str], str], fills: Mapping[str, str],
                   also: Sequence[str] = ()) -> None:
            if col_code not in codes:
                return
            at = get_column_letter(codes.index(col_code) + 1)
            cols = [at] + [get_column_letter(codes.index(a) + 1) for a in also if a in codes]
            ref = " ".join(f"{c}2:{c}{n}" for c in cols)
            for value, hex_colour in fills.items():
                fill = PatternFill(bgColor=hex_colour.lstrip("#").upper())
                rule = FormulaRule(formula=[formula(f"${at}2", value)], fill=fill,
                                   font=Font(color=_colour_text(hex_colour)))
                ws.conditional_formatting.add(ref, rule)

        def q(v: str) -> str:
            return '"' + v.replace('"', '""') + '"'

        colour(F.STATUS, lambda c, v: f"{c}={q(v)}", status_colours, also=[F.STATUS_LABEL])
        colour("start_by", lambda c, v: f"LEFT({c},{len(v)})={q(v)}", {_LATE: _LATE_FILL})
        flags = VALUES_NL["flag"]
        colour("flag", lambda c, v: f"{c}={q(v)}",
               {flags["hidden_overload"]: status_colours.get("waarschuwing", "#f7931e"),
                flags["overload"]: status_colours.get("congestie", "#e30613")})

    return apply


def _toelichting_layout(frame: pd.DataFrame, fills: Mapping[int, str]) -> Callable:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    widths = {"onderdeel": 22, "naam": 34, "codenaam": 26, "waarde": 14, "eenheid": 14, "uitleg": 90, "bron": 60}

    def apply(ws) -> None:
        for j, c in enumerate(frame.columns, start=1):
            ws.column_dimensions[get_column_letter(j)].width = widths.get(c.lower(), 20)
            h = ws.cell(row=1, column=j)
            h.font = Font(bold=True)
            h.fill = PatternFill("solid", fgColor="DDE3EA")
        wrap = Alignment(wrap_text=True, vertical="top")
        for row in ws.iter_rows(min_row=2):
            for c in row:
                c.alignment = wrap
        for i, hex_colour in fills.items():  # the status classes in their own colour
            c = ws.cell(row=i + 2, column=2)
            c.fill = PatternFill("solid", fgColor=hex_colour.lstrip("#").upper())
            c.font = Font(color=_colour_text(hex_colour))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{max(ws.max_row, 1)}"

    return apply


#: the columns of the Toelichting sheet (Dutch already: it is the legend of the others)
TOELICHTING_COLUMNS = ["Onderdeel", "Naam", "Codenaam", "Waarde", "Eenheid", "Uitleg", "Bron"]


def book(sheets: Sequence[Sheet], *, about: Sequence[tuple[str, str]] = (), rules: Sequence[tuple[str, str]] = (),
         parameters: pd.DataFrame | None = None, sources: Sequence[tuple[str, str, str]] = (),
         status_classes: pd.DataFrame | None = None, layer_titles: Mapping[str, str] | None = None,
         labels: Mapping[str, Label] | None = None) -> Book:
    """The workbook for people: each sheet with Dutch headers and its layout, then the Toelichting.

    Parameters
    ----------
    sheets : sequence of Sheet
    about : sequence of (name, text)
        What the workbook is: project, run date, ...
    rules : sequence of (name, text)
        The rules behind the figures, in Dutch.
    parameters : DataFrame, optional
        ``key, value, unit, source[, note, origin, variant]``: cited in the Toelichting.
    sources : sequence of (name, what, source)
        The reference tables used, with their sources.
    status_classes : DataFrame, optional
        ``status, label_nl, min_headroom_share, colour, meaning_nl, source``: the colours of the status column.
    layer_titles : mapping, optional
        Dutch title per layer kind (for the ``layer`` column).
    labels : mapping, optional
        Default: :func:`column_labels`.

    Returns
    -------
    Book
    """
    labels = column_labels() if labels is None else labels
    layer_titles = layer_titles or {}
    colours = ({r.status: r.colour for r in status_classes.itertuples(index=False) if isinstance(r.colour, str)}
               if status_classes is not None and "colour" in status_classes else {})
    out = Book()
    rows: list[dict] = [{"onderdeel": "over dit bestand", "naam": k, "uitleg": v} for k, v in about]
    seen: dict[tuple, str] = {}  # a sheet with the columns of an earlier one is explained once
    for sh in sheets:
        df = _readable(sh.frame, layer_titles)
        labs = [labels.get(c) for c in df.columns]
        headers = [(lab.header if lab is not None and lab.header else str(c)) for c, lab in zip(df.columns, labs,
                                                                                            strict=True)]
        headers = [h[:1].upper() + h[1:] for h in headers]
        out.layout[sh.title] = _data_layout(headers, labs, df, keys=sh.keys, status_colours=colours)
        out.sheets[sh.title] = df.set_axis(headers, axis=1)
        out.columns[sh.title] = [str(c) for c in df.columns]
        same = seen.get(tuple(df.columns))
        rows.append({"onderdeel": f"blad {sh.title}", "naam": sh.title,
                     "uitleg": sh.about + (f"; dezelfde kolommen als blad {same}" if same else "")})
        if same:
            continue
        seen[tuple(df.columns)] = sh.title
        for c, h, lab in zip(df.columns, headers, labs, strict=True):
            rows.append({"onderdeel": f"blad {sh.title}", "naam": h, "codenaam": str(c),
                         "eenheid": lab.unit if lab else "", "uitleg": lab.description if lab else ""})
    fills: dict[int, str] = {}
    if status_classes is not None:
        for r in status_classes.itertuples(index=False):
            share = r.min_headroom_share
            fills[len(rows)] = r.colour if isinstance(r.colour, str) else ""
            rows.append({"onderdeel": "statusklasse", "naam": r.label_nl, "codenaam": r.status,
                         "waarde": f">= {share:.0%}" if np.isfinite(share) else "<= 0 (geen ruimte)",
                         "eenheid": "ruimte als aandeel van de capaciteit", "uitleg": r.meaning_nl,
                         "bron": r.source})
    rows += [{"onderdeel": "rekenregel", "naam": k, "uitleg": v} for k, v in rules]
    if parameters is not None and len(parameters):
        for r in parameters.to_dict("records"):
            origin = str(r.get("origin") or "")
            where = VALUES_NL["origin"].get(origin, origin)
            v = r.get("value")
            rows.append({"onderdeel": "parameter" + (f" ({r['variant']})" if r.get("variant") else ""),
                         "naam": r["key"], "codenaam": r["key"],
                         "waarde": v if not isinstance(v, bool) else ("ja" if v else "nee"),
                         "eenheid": r.get("unit") or "", "uitleg": "; ".join(x for x in (r.get("note") or "", where)
                                                                         if x),
                         "bron": r.get("source") or ""})
    rows += [{"onderdeel": "referentietabel", "naam": n, "codenaam": n, "uitleg": what, "bron": src}
             for n, what, src in sources]
    toel = pd.DataFrame(rows, columns=[c.lower() for c in TOELICHTING_COLUMNS]).astype(object)
    toel.columns = TOELICHTING_COLUMNS
    toel = toel.where(toel.notna(), None)
    out.sheets["Toelichting"] = toel
    out.layout["Toelichting"] = _toelichting_layout(toel, {i: c for i, c in fills.items() if c})
    return out
