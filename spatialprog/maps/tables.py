"""Text and tables for people on a page: the static maps' and the PDF report's words, numbers and tables.

Numbers read the Dutch way with the decimals and unit of their column (``data/column_labels.csv``
through :func:`spatialprog.sheets.column_labels`, the workbooks' one table of labels), coded values as
the Dutch words of :data:`spatialprog.sheets.VALUES_NL`, user text as it was typed. The years in which a
substation is short come from the headroom table with :func:`spatialprog.headroom.is_short`, the one
definition of short. :func:`draw_table` puts a table of text on a matplotlib figure (no mathtext: the
figure's :func:`~spatialprog.maps.static.literal_text` switches it off); :func:`table_height` tells the
report how many rows fit on a page.
"""

from __future__ import annotations

import math
import numbers
import re
import textwrap
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from .. import fields as F
from ..config import BASE_VARIANT
from ..headroom import is_short
from ..kinds import LAYER_KINDS
from ..outputs import RunOutputs
from ..sheets import VALUES_NL, Label, column_labels
from . import _data as D

__all__ = ["nl_number", "cell_text", "short_years", "periods_nl", "variant_stems", "conflict_rows", "conflict_line",
           "PROGRAMME_COLUMNS", "programme_table", "text_rows", "table_fontsize", "table_height", "draw_table", "place_text",
           "TextLines", "page_texts", "LINE_ASCENT_EM", "LINE_DESCENT_EM"]


def nl_number(v: float, decimals: int = 0, *, thousands: bool = True) -> str:
    """A number the Dutch way: thousands with a dot, decimals with a comma.

    Examples
    --------
    >>> nl_number(12345.67, 1), nl_number(0.5, 2), nl_number(2031, thousands=False)
    ('12.345,7', '0,50', '2031')
    """
    text = f"{v:,.{decimals}f}" if thousands else f"{v:.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def cell_text(value: object, label: Label | None = None, *, column: str = "", width: int | None = None) -> str:
    """One value as text for a person: the column's decimals and unit (``data/column_labels.csv``), codes as
    Dutch words (:data:`spatialprog.sheets.VALUES_NL`), user text as it was typed.

    Parameters
    ----------
    value : object
    label : Label, optional
        The column's label (:func:`spatialprog.sheets.column_labels`): decimals and unit.
    column : str
        The column's code name, for its coded values (``offtake`` -> ``afname``).
    width : int, optional
        Cut longer text with an ellipsis.

    Examples
    --------
    >>> from spatialprog.sheets import column_labels
    >>> lab = column_labels()
    >>> cell_text(2031.0, lab["first_shortfall_year"]), cell_text(39.4843, lab["need_mva"]), cell_text(2870.0)
    ('2031', '39,5', '2.870')
    >>> cell_text("offtake", column="direction"), cell_text(float("nan")), cell_text(True)
    ('afname', '', 'ja')
    """
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "ja" if value else "nee"
    if isinstance(value, numbers.Number):
        v = float(value)  # type: ignore[arg-type]
        unit = label.unit if label is not None else ""
        dec = label.decimals if label is not None and label.decimals is not None else None
        if unit == "jaartal":
            return str(int(round(v)))
        if unit == "%":
            return nl_number(v * 100, dec or 0) + " %"
        if dec is None:
            dec = 0 if v.is_integer() or abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
        return nl_number(v, dec)
    text = str(value)
    words = VALUES_NL.get(column)
    if words and "+" in text and column == "short_directions":
        text = "+".join(words.get(p, p) for p in text.split("+"))
    elif words:
        text = words.get(text, text)
    if width is not None and len(text) > width:
        text = text[:width - 1] + "\u2026"
    return text


def short_years(outputs: RunOutputs, variant: str, direction: str) -> dict[str, list[int]]:
    """Every year in which each substation is short (:func:`spatialprog.headroom.is_short`), per substation id.

    Substations without a shortfall in the horizon are left out.
    """
    h = outputs.tables["headroom"]
    m = (h[F.VARIANT].astype(str) == variant) & (h[F.DIRECTION] == direction) & is_short(h[F.HEADROOM_MW])
    if F.CARRIER in h:
        m &= h[F.CARRIER] == F.ELECTRICITY
    g = h[m]
    out: dict[str, list[int]] = {}
    for sid, ys in g.groupby(g[F.SUBSTATION_ID].astype(str), sort=True)[F.YEAR]:
        out[str(sid)] = sorted({int(y) for y in ys})
    return out


def periods_nl(years: list[int], last_year: int) -> str:
    """The years with a shortfall as periods: ``2028–2029``, ``vanaf 2030`` (to the end of the horizon).

    Examples
    --------
    >>> periods_nl([2028, 2029], 2040), periods_nl(list(range(2030, 2041)), 2040), periods_nl([2026, 2031, 2032], 2040)
    ('2028\u20132029', 'vanaf 2030', '2026, 2031\u20132032')
    """
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    parts = []
    for r in runs:
        if r[-1] == last_year and len(r) > 1:
            parts.append(f"vanaf {r[0]}")
        else:
            parts.append(str(r[0]) if len(r) == 1 else f"{r[0]}\u2013{r[-1]}")
    return ", ".join(parts)


def variant_stems(variants: list[str]) -> dict[str, str]:
    """The file-name suffix of each variant's maps: none for the first (the base variant), else ``_`` and the
    variant in ASCII letters, digits and ``-`` (a variant is user text; two that read alike are numbered).

    Examples
    --------
    >>> variant_stems(["basis", "hoog", "Hoog!", "<b>"])
    {'basis': '', 'hoog': '_hoog', 'Hoog!': '_hoog-2', '<b>': '_b'}
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for i, v in enumerate(variants):
        if i == 0:
            out[v] = ""
            continue
        ascii_ = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:40].strip("-") or f"variant-{i + 1}"
        stem, n = slug, 1
        while stem in used:
            n += 1
            stem = f"{slug}-{n}"
        used.add(stem)
        out[v] = f"_{stem}"
    return out


def conflict_rows(outputs: RunOutputs) -> pd.DataFrame | None:
    """The conflicts in the order the map numbers them (worst first), with ``nr`` and Dutch words; None
    without a conflicts layer."""
    c = D.conflicts_frame(outputs)
    if c is None:
        return None
    c = c.copy()
    rank = c["severity_rank"] if "severity_rank" in c else pd.Series(0, index=c.index)
    c["_r"] = -pd.to_numeric(rank, errors="coerce").fillna(0)
    keys = ["_r", *[k for k in ("rule_id", "id_a", "id_b") if k in c]]
    c = c.sort_values(keys, kind="stable").drop(columns="_r").reset_index(drop=True)
    c.insert(0, "nr", np.arange(1, len(c) + 1))
    return c


def conflict_line(r: pd.Series) -> tuple[str, str]:
    """Two lines for the list beside the conflicts map: what, and between which features."""
    what = str(r.get("description_nl") or r.get("rule_id") or "")

    def side(layer_col: str, id_col: str) -> str:
        layer, fid = r.get(layer_col), r.get(id_col)
        if not isinstance(fid, str) or not fid:
            return ""
        title = D.title_nl(layer) if isinstance(layer, str) and layer in LAYER_KINDS else str(layer or "")
        return f"{fid} ({title.lower()})" if title else fid

    a, b = side("layer_a", "id_a"), side("layer_b", "id_b")
    size = ""
    area, dist = r.get("area_m2"), r.get("dist_m")
    if isinstance(area, float | int) and math.isfinite(area) and area > 0:
        size = f", {nl_number(area)} m²"
    elif isinstance(dist, float | int) and math.isfinite(dist):
        size = f", {nl_number(dist)} m afstand"
    return what, " \u2013 ".join(x for x in (a, b) if x) + size


#: the programme's columns on the map page and in the report, in this order (labels: data/column_labels.csv)
PROGRAMME_COLUMNS = ("programme_rank", F.SUBSTATION_ID, "name", "transformer_step", "added_firm_mva",
                     "first_shortfall_year", "start_by", "dwellings_waiting", "jobs_waiting", "offtake_mw_waiting",
                     "score")


def programme_table(outputs: RunOutputs, variant: str | None = None, *, carrier: str = F.ELECTRICITY
                    ) -> pd.DataFrame | None:
    """The ranked programme of one variant (default: the base variant) and carrier (default: the
    substations'), :data:`PROGRAMME_COLUMNS` that say something (not all empty or all zero), or None when
    the run has none."""
    p = outputs.tables.get("programme")
    if p is not None and F.CARRIER in p:
        p = p[p[F.CARRIER].fillna(F.ELECTRICITY) == carrier]
    if p is None or not len(p) or "programme_rank" not in p:
        if carrier != F.ELECTRICITY:
            return None
        # another ranked list the maps read (a ``ranking`` table or ``programme`` layer with ``rank``)
        g = D.programme_frame(outputs)
        if g is None:
            return None
        p = pd.DataFrame(g.drop(columns=g.geometry.name)).rename(columns={"rank": "programme_rank"})
        names = outputs.layers["substations"].set_index(outputs.layers["substations"]["id"].astype(str))
        if "name" not in p and "name" in names:
            p.insert(p.columns.get_loc(F.SUBSTATION_ID) + 1, "name", p[F.SUBSTATION_ID].astype(str).map(names["name"]))
    if F.VARIANT in p:
        variant = variant or (BASE_VARIANT if (p[F.VARIANT] == BASE_VARIANT).any() else str(p[F.VARIANT].iat[0]))
        p = p[p[F.VARIANT].astype(str) == variant]
    p = p.sort_values(["programme_rank", F.SUBSTATION_ID], kind="stable")

    def informative(c: str) -> bool:
        v = p[c]
        return bool(v.notna().any()) and not (pd.api.types.is_numeric_dtype(v) and (v.fillna(0) == 0).all())

    cols = [c for c in PROGRAMME_COLUMNS if c in p and (c in ("programme_rank", F.SUBSTATION_ID) or informative(c))]
    if "transformer_step" not in cols:
        extra = [c for c in ("intervention", "mva", "needed_by_year") if c in p and informative(c)]
        at = cols.index(F.SUBSTATION_ID) + 1 + ("name" in cols)
        cols[at:at] = extra
    return p[cols].reset_index(drop=True)


def text_rows(frame: pd.DataFrame, labels: dict[str, Label] | None = None, *, width: int | None = None
              ) -> tuple[list[str], list[list[str]]]:
    """Dutch headers (:func:`spatialprog.sheets.column_labels`) and the cells as text (:func:`cell_text`)."""
    labels = column_labels() if labels is None else labels
    heads = []
    for c in frame.columns:
        lab = labels.get(c)
        h = lab.header if lab is not None and lab.header else str(c)
        heads.append(h[:1].upper() + h[1:])
    cells = [[cell_text(v, labels.get(c), column=c, width=width) for c, v in zip(frame.columns, row, strict=True)]
             for row in frame.itertuples(index=False)]
    return heads, cells


#: the line box of matplotlib's layout of its default font, DejaVu Sans (its OS/2 typographic ascender and
#: descender, 1556 and 492 of 2048 units), in em of the font size: :func:`place_text` sets every line on it
LINE_ASCENT_EM, LINE_DESCENT_EM = 1556 / 2048, 492 / 2048


class TextLines(Artist):
    """Lines of text at fixed places, drawn as one artist: each line where a ``fig.text`` of it with
    ``va="baseline"`` would stand, in the same font, size, weight and colour, as the same glyphs.

    A page of the report holds thousands of table cells; a :class:`~matplotlib.text.Text` each costs its
    construction, its properties and its layout (the box of every line, measured each time it is drawn).
    Here a line is a tuple, measured only when it is aligned right or centred. Drawn literally (no
    mathtext, no TeX).
    """

    def __init__(self, fig: Figure) -> None:
        super().__init__()
        self.set_figure(fig)
        self.set_transform(fig.transFigure)
        self._lines: list[tuple[float, float, str, str, FontProperties, tuple]] = []
        self.set_zorder(Text.zorder)  # drawn among the page's texts, above its patches and axes

    def add(self, x: float, y: float, text: str, *, fontsize: float, ha: str = "left", color: object = "black",
            fontweight: str | int = "normal", fontstyle: str = "normal") -> None:
        """One line with its baseline at ``(x, y)`` (figure fraction); ``ha`` as matplotlib's."""
        if ha not in ("left", "center", "right"):
            raise ValueError(f"ha must be left, center or right, not {ha!r}")
        if text:
            prop = FontProperties(size=fontsize, weight=fontweight, style=fontstyle)
            self._lines.append((float(x), float(y), text, ha, prop, to_rgba(color)))
        self.stale = True

    def get_texts(self) -> list[str]:
        """The lines, in the order they were added."""
        return [line[2] for line in self._lines]

    def get_lines(self) -> list[tuple[float, float, str, str, float]]:
        """``(x, y, text, ha, fontsize)`` of every line."""
        return [(x, y, s, ha, prop.get_size_in_points()) for x, y, s, ha, prop, _ in self._lines]

    def draw(self, renderer) -> None:
        if not self.get_visible() or not self._lines:
            return
        renderer.open_group("textlines", self.get_gid())
        xy = self.get_transform().transform(np.array([(x, y) for x, y, *_ in self._lines], float))
        _, canvas_h = renderer.get_canvas_width_height()
        gc = renderer.new_gc()
        gc.set_alpha(self.get_alpha())
        for (px, py), (_, _, text, ha, prop, rgba) in zip(xy, self._lines, strict=True):
            if ha != "left":
                w = renderer.get_text_width_height_descent(text, prop, ismath=False)[0]
                px -= w if ha == "right" else w / 2
            if renderer.flipy():
                py = canvas_h - py
            gc.set_foreground(rgba, isRGBA=True)
            renderer.draw_text(gc, px, py, text, prop, 0.0, ismath=False, mtext=None)
        gc.restore()
        renderer.close_group("textlines")
        self.stale = False


def page_texts(fig: Figure) -> list[str]:
    """Every text of a figure: its :class:`~matplotlib.text.Text` artists' and its :class:`TextLines`' lines."""
    return [t.get_text() for t in fig.findobj(Text)] + [s for a in fig.findobj(TextLines) for s in a.get_texts()]


def place_text(fig: Figure, x: float, y: float, text: str, *, fontsize: float, va: str = "baseline",
               linespacing: float = 1.2, into: TextLines | None = None, **kw) -> TextLines:
    """A text a line at a time, each line on a baseline of its own at a fixed step (:class:`TextLines`).

    The lines stand where matplotlib puts the lines of DejaVu Sans (a line box ``linespacing`` em high,
    ``va`` aligning the box of all lines), whatever the font and the glyphs of a line: matplotlib
    measures each line by the boxes of its glyphs, which in the PDF standard fonts (AFM metrics) vary
    from line to line (an apostrophe is as tall as an accented capital there), so a cell's lines would
    stand unevenly and a text extractor would join two of them into one word.

    Parameters
    ----------
    fig : Figure
    x, y : float
        Figure fraction; ``y`` is where ``va`` (``top``, ``center``, ``bottom`` or ``baseline``: the
        first line's) puts the text.
    text : str
        Lines separated by ``\\n``; drawn literally (no mathtext).
    fontsize : float
    va : str
    linespacing : float
        In em; 1.2 as matplotlib's default.
    into : TextLines, optional
        Add the lines to this artist (a table's); default a new one on ``fig``.
    **kw
        ``ha``, ``color``, ``fontweight``, ``fontstyle`` (:meth:`TextLines.add`).

    Returns
    -------
    TextLines
        The artist holding the lines (``remove()`` takes a new one off the figure again).

    Examples
    --------
    A page 10 inches high, so that 7.2 points are 0.01 of it; lines 1 em apart, the first baseline half the
    leading and the ascent (0.76 em) below the top:

    >>> fig = Figure(figsize=(8, 10))
    >>> [round(y, 4) for _, y, *_ in place_text(fig, 0, 0.5, "a\\nb", fontsize=7.2, va="top",
    ...                                         linespacing=1.0).get_lines()]
    [0.4924, 0.4824]
    """
    lines = text.split("\n")
    em = fontsize / 72 / fig.get_size_inches()[1]
    step = linespacing * (LINE_ASCENT_EM + LINE_DESCENT_EM) * em
    # the top of the first line's box above its baseline: half the leading plus the ascent
    above = (step + (LINE_ASCENT_EM - LINE_DESCENT_EM) * em) / 2
    if va == "baseline":
        first = y
    else:
        top = {"top": y, "center": y + len(lines) * step / 2, "bottom": y + len(lines) * step}[va]
        first = top - above
    out = into if into is not None else fig.add_artist(TextLines(fig))
    for i, line in enumerate(lines):
        out.add(x, first - i * step, line, fontsize=fontsize, **kw)
    return out


def _table_geometry(fig: Figure, w: float, heads: list[str], cells: list[list[str]], fontsize: float,
                    head_width: int) -> tuple[list[list[str]], np.ndarray, float, float]:
    """Wrapped headers, column widths (characters), the font size that fits ``w`` and the height of a line."""
    wrapped = [textwrap.wrap(t, head_width) or [""] for t in heads]
    chars = np.array([max(max(len(line) for line in wrapped[j]),
                          *(len(line) for r in cells for line in r[j].split("\n")), 1)
                      for j in range(len(heads))], float) + 2.5
    fig_w, fig_h = fig.get_size_inches()
    need_in = chars.sum() * 0.62 * fontsize / 72  # DejaVu Sans: about 0.6 em per character (bold a little more)
    if need_in > w * fig_w:
        fontsize = max(4.5, fontsize * w * fig_w / need_in)
    return wrapped, chars, fontsize, 1.3 * fontsize / 72 / fig_h


def table_fontsize(fig: Figure, w: float, heads: list[str], cells: list[list[str]], *, fontsize: float = 7.5,
                   head_width: int = 16) -> float:
    """The font size at which :func:`draw_table` sets these cells in the width ``w``: ``fontsize``, or smaller
    where their text would not fit (4.5 points at the least)."""
    return _table_geometry(fig, w, heads, cells, fontsize, head_width)[2]


def table_height(fig: Figure, w: float, heads: list[str], cells: list[list[str]], *, fontsize: float = 7.5,
                 head_width: int = 16) -> tuple[float, list[float]]:
    """The height (figure fraction) of the header of :func:`draw_table` and of each of its rows, at least one
    line and a margin each (a cell may hold several lines)."""
    wrapped, _, _, line_h = _table_geometry(fig, w, heads, cells, fontsize, head_width)
    head_h = max(len(x) for x in wrapped) * line_h + 0.5 * line_h
    return head_h, [max(cell.count("\n") for cell in row) * line_h + 1.45 * line_h if row else line_h
                    for row in cells]


def draw_table(fig: Figure, rect: tuple[float, float, float, float], heads: list[str], cells: list[list[str]], *,
               fontsize: float = 7.5, max_row_h: float = 0.03, numeric: Sequence[bool] | None = None,
               head_width: int = 16, fixed_lines: bool = False) -> float:
    """A table of text in ``rect`` (figure fraction, from its top): columns as wide as their text, filling the
    width (the font made smaller where the text would not fit), headers wrapped on grey, single-line rows
    spread up to ``max_row_h``, a cell of several lines (``\\n``) as high as it needs; numbers right-aligned
    where ``numeric``. Every cell is a text of the figure; with ``fixed_lines`` each of its lines is a line of
    one :class:`TextLines` for the whole table (:func:`place_text`: the report's pages, whatever their PDF
    font), else a :class:`~matplotlib.text.Text` whose lines matplotlib lays out.

    Returns
    -------
    float
        The figure fraction where the table ends (its bottom).
    """
    x0, y0, w, h = rect
    top = y0 + h
    if not heads:
        return top
    wrapped, chars, fontsize, line_h = _table_geometry(fig, w, heads, cells, fontsize, head_width)
    head_h = max(len(x) for x in wrapped) * line_h + 0.5 * line_h
    need = [max(cell.count("\n") for cell in row) * line_h + 1.45 * line_h if row else line_h for row in cells]
    spare = (h - head_h - sum(need)) / max(len(cells), 1)
    single = min(max_row_h, max(1.45 * line_h, 1.45 * line_h + spare))
    edges = x0 + w * np.concatenate([[0.0], np.cumsum(chars) / chars.sum()])
    fig.add_artist(Rectangle((x0, top - head_h), w, head_h, transform=fig.transFigure, facecolor="#e6e9ee",
                             edgecolor="none", zorder=0))

    def x_of(j: int) -> tuple[float, str]:
        right = numeric is not None and numeric[j]
        return (edges[j + 1] - 0.004, "right") if right else (edges[j] + 0.004, "left")

    if fixed_lines:
        cell_lines = fig.add_artist(TextLines(fig))

        def put(x: float, y: float, s: str, **kw) -> None:
            place_text(fig, x, y, s, into=cell_lines, **kw)
    else:
        put = fig.text
    for j, lines in enumerate(wrapped):
        x, ha = x_of(j)
        put(x, top - 0.25 * line_h, "\n".join(lines), fontsize=fontsize, fontweight="bold", va="top", ha=ha,
            linespacing=1.1)
    y = top - head_h
    rule = {"color": "#bbbbbb", "linewidth": 0.4, "transform": fig.transFigure}
    fig.add_artist(Line2D([x0, x0 + w], [y, y], **rule))
    for row, n in zip(cells, need, strict=True):
        rh = single if n <= 1.46 * line_h else n
        for j, text in enumerate(row):
            x, ha = x_of(j)
            if "\n" in text:
                put(x, y - 0.45 * line_h, text, fontsize=fontsize, va="top", ha=ha, linespacing=1.1)
            elif text or not fixed_lines:
                put(x, y - rh / 2, text, fontsize=fontsize, va="center", ha=ha)
        y -= rh
        fig.add_artist(Line2D([x0, x0 + w], [y, y], **rule))
    return y
