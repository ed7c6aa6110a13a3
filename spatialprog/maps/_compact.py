"""The compact tables the web map's layers are drawn from, and the page element that draws them.

A site layer (and the conflicts, the candidate sites) goes to the page as one table: ids, names and
popup columns as numbers or as texts coded by a dictionary, geometry step-encoded
(:func:`spatialprog.maps._data.encode_geometries`); the page's ``spatialprog.drawSites``
(``assets/spatialprog/map.js``) builds each popup from it with one template, every text set as
text. Used by :mod:`spatialprog.maps.interactive` and :mod:`spatialprog.maps.siting`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import folium
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from . import _data as D

__all__ = ["CODE_CHARS", "CODE_NONE", "OUTLINE_ZOOM", "nl", "text", "column", "id_column", "script_json",
           "Raw", "RawMacroElement", "GeoJson", "SiteLayers"]

#: A site layer of many areas shows its outlines only from this zoom on (clustered points below it).
OUTLINE_ZOOM = 13


#: One character per feature for a text column of few distinct values (its code in the column's dictionary):
#: printable ASCII without the quote, the backslash, the characters a script's JSON escapes (< > & ') and $
CODE_CHARS = "".join(chr(c) for c in range(35, 127) if chr(c) not in "\\<>&'$")
CODE_NONE = "!"
_CODE_LUT = np.array([CODE_NONE, *CODE_CHARS], dtype=object)
_ID_RE = re.compile(r"(\D*?)([0-9]+)")


def nl(x: Any, nd: int = 1) -> str:
    """A number in Dutch notation (decimal comma, thin-space thousands); '' for missing.

    Examples
    --------
    >>> nl(1234.56), nl(-3.0, 0), nl(float("nan"))
    ('1\u202f234,6', '-3', '')
    """
    if x is None or (isinstance(x, float | np.floating) and not math.isfinite(x)):
        return ""
    if isinstance(x, int | np.integer) and nd:
        nd = 0
    s = f"{float(x):,.{nd}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def text(v: Any) -> str:
    """A cell as the popups show it, as plain text ('' for missing; numbers as :func:`_cell` writes them)."""
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and not math.isfinite(v)):
        return ""
    if isinstance(v, float | np.floating):
        return nl(v, 0 if float(v).is_integer() else 2)
    if isinstance(v, int | np.integer):
        return str(int(v))
    return str(v)


def column(values: Iterable[Any]) -> dict:
    """One popup column for the page: numbers as numbers, text by a dictionary of its distinct values.

    ``{"f": [..]}`` floats (shown with 0 decimals when whole, else 2, Dutch
    notation), ``{"i": [..]}`` integers, ``{"d": [texts], "c": [codes]}`` text,
    code -1 for none; with at most ``len(CODE_CHARS)`` distinct texts the codes
    are one character each, ``{"d": [texts], "s": "..."}`` (:data:`CODE_NONE`
    for none). The page writes every value as text, never as HTML.

    Examples
    --------
    >>> column(["b", None, "a", "b"]), column(pd.Series([1.5, 2.0, float("nan")]))
    ({'d': ['b', 'a'], 's': '#!%#'}, {'f': [1.5, 2, None]})

    """
    s = pd.Series(list(values), dtype=object) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(object)
    if pd.api.types.is_integer_dtype(s.dtype):
        return {"i": [None if x is pd.NA or x is None else int(x) for x in s.astype(object).to_numpy()]}
    if pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype=float)
        # whole numbers without decimals, others with 2 (as _cell); one that only rounds to whole goes as its text
        r = np.round(arr, 2)  # numpy's rounding, as round() of a numpy float
        out: list[Any] = r.tolist()
        fin = np.isfinite(arr)
        whole = fin & (arr == np.trunc(np.where(fin, arr, 0.0)))
        for i in np.flatnonzero(~fin).tolist():
            out[i] = None
        for i, v in zip(np.flatnonzero(whole).tolist(), arr[whole].astype(np.int64).tolist(), strict=True):
            out[i] = v
        for i in np.flatnonzero(fin & ~whole & (r == np.trunc(np.where(fin, r, 0.0)))).tolist():
            out[i] = nl(float(arr[i]), 2)
        return {"f": out}
    arr = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        # text and nothing else: codes in the order of first appearance, none (and "") as -1, all at once
        present = pd.notna(arr) & (arr != "")
        codes_a, uniq_a = pd.factorize(np.where(present, arr, None))
        uniq = list(uniq_a)
    else:
        texts = [text(v) for v in arr]
        seen: dict[str, int] = {}
        codes_a = np.array([-1 if t == "" else seen.setdefault(t, len(seen)) for t in texts], dtype=np.int64)
        uniq = list(seen)
    if len(uniq) <= len(CODE_CHARS):
        # few distinct texts: one character per feature (CODE_NONE for none) instead of a number and a comma
        return {"d": uniq, "s": "".join(_CODE_LUT[np.asarray(codes_a, dtype=np.int64) + 1].tolist())}
    return {"d": uniq, "c": np.asarray(codes_a, dtype=np.int64).tolist()}


def id_column(ids: list[str]) -> list[str] | dict:
    """The ids of a layer for the page: ``{"p": prefix, "w": digits, "n": steps}`` when every id is one prefix
    and a number of one width (``WB000001``, ``WB000002``: each id costs a step of 1), else the list itself.

    Examples
    --------
    >>> id_column(["WB0009", "WB0010", "WB0012"]), id_column(["a", "b"])
    ({'p': 'WB', 'w': 4, 'n': [9, 1, 2]}, ['a', 'b'])
    """
    m = [_ID_RE.fullmatch(i) for i in ids]
    if not ids or not all(m) or len({(x.group(1), len(x.group(2))) for x in m}) != 1:  # type: ignore[union-attr]
        return ids
    nums = np.array([int(x.group(2)) for x in m], dtype=np.int64)  # type: ignore[union-attr]
    return {"p": m[0].group(1), "w": len(m[0].group(2)), "n": np.diff(nums, prepend=0).tolist()}  # type: ignore[union-attr]


def script_json(obj: Any) -> str:
    """JSON without spaces that cannot end or break out of an inline ``<script>``.

    Examples
    --------
    >>> print(script_json({"n": "</script><b>'&"}))
    {"n":"\\u003c/script\\u003e\\u003cb\\u003e\\u0027\\u0026"}
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


class Raw(Element):
    """HTML put into the page as it is (the inlined scripts and styles): not parsed as a template, which
    for half a megabyte of JavaScript took seconds."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        # as a template would give it: line ends as \n, one trailing newline dropped
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.text = text[:-1] if text.endswith("\n") else text


class RawMacroElement(MacroElement):
    """A MacroElement whose rendered header, html and script go into the page as they are.

    branca puts each rendered part into a new ``Element``, which parses it as a template once more: seconds
    for the megabytes of a national map's tables, and a text with ``{{ ... }}`` in a name would be evaluated.
    """

    def render(self, **kwargs: Any) -> None:
        """Render as :meth:`branca.element.MacroElement.render`, each part as :class:`Raw`."""
        figure = self.get_root()
        module = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                target.add_child(Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class GeoJson(folium.GeoJson, RawMacroElement):
    """folium's GeoJson layer with its rendered script put into the page as it is (:class:`RawMacroElement`):
    a substation named ``{{ 6*7 }}`` is shown so, not as 42."""


class SiteLayers(RawMacroElement):
    """The site layers, drawn in the page from compact tables: geometry as step-encoded integers of 1e-5
    degree, popup columns as numbers or a dictionary of texts, one popup template for all
    (``spatialprog.drawSites`` in ``assets/spatialprog/map.js``).

    Points are clustered; a layer of more than :data:`LAZY_SITES` areas is shown as clustered points,
    with its outlines drawn only from :data:`OUTLINE_ZOOM` on and only in view. Every text is set as
    text (``textContent``), never parsed as HTML.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
{% for name, blob in this.layers %}
spatialprog.drawSites({{ name }}, {{ blob }}, {"quantum": {{ this.quantum }}, "outlineZoom": {{ this.outline_zoom }}, "codes": {{ this.codes }}});
{% endfor %}
{% endmacro %}
""")

    def __init__(self, layers: list[tuple[folium.FeatureGroup, dict]]) -> None:
        super().__init__()
        self._name = "SiteLayers"
        self._groups = [g for g, _ in layers]
        self._blobs = [b for _, b in layers]
        self.quantum = D.QUANTUM
        self.outline_zoom = OUTLINE_ZOOM
        self.codes = script_json({"chars": CODE_CHARS, "none": CODE_NONE})

    @property
    def layers(self) -> list[tuple[str, str]]:
        """The groups' JavaScript names (read at render time, after the ids are made deterministic) and their
        tables as compact JSON, safe inside a script (as jinja's ``tojson``: ``<``, ``>``, ``&`` and ``'`` as
        ``\\u`` escapes)."""
        return [(g.get_name(), script_json(b)) for g, b in zip(self._groups, self._blobs, strict=True)]
