"""QGIS layer styles (QML), generated from the layer schemas and the status classes.

A style is built as a list of XML elements (renderer, labeling, aliases, field
widgets, ...). :func:`style_qml` wraps them in a ``<qgis>`` document: the QML
that goes into the GeoPackage's ``layer_styles`` table (QGIS reads only
``styleQML``) and into ``.qml`` sidecar files; :func:`style_elements` gives the
same elements for a ``<maplayer>`` of a QGIS project, which does not read
``layer_styles``.

Which column a layer is styled by is the one per-kind choice made here
(:func:`style_rule`); everything else comes from data:

* categories and their order from the schema's allowed values
  (:attr:`spatialprog.layers.Column.allowed`), or from the values present for
  a column without a fixed list;
* the status colours and Dutch labels from ``data/status_classes.csv`` (the
  national capacity map's yellow/orange/red);
* field aliases from :func:`spatialprog.export.catalog.alias_nl`.

The XML follows what QGIS 3.22 writes (``QgsMapLayer::exportNamedStyle``),
reduced to the elements that carry information; QGIS fills in defaults for
the rest.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..kinds import LAYER_KINDS, StyleRule
from ..params import load_status_classes

__all__ = [
    "QGIS_VERSION",
    "RESULT_STYLES",
    "style_rule",
    "xml_el",
    "serialise_xml",
    "StyleRule",
    "LayerStyle",
    "build_style",
    "style_qml",
    "style_elements",
    "raster_style_qml",
    "HEADROOM_BREAKS_MW",
    "DOCTYPE",
]

#: version written into QML and projects: the oldest QGIS we test with (Debian 12)
QGIS_VERSION = "3.22.16-Białowieża"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"

#: class breaks (MW) of the graduated headroom style; below the first is a shortfall
HEADROOM_BREAKS_MW: tuple[float, ...] = (0.0, 5.0, 20.0)

#: qualitative colours for categories (ColorBrewer Dark2), used in the schema's order
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")

#: severities of land-claim conflicts (spatialprog.conflicts.SEVERITY_RANK), worst first
SEVERITY_COLOURS = {"hoog": "#e30613", "middel": "#f7931e", "laag": "#ffd400"}
_NULL_COLOUR = "#b4b4b4"


#: styles of result layers that are not a layer kind (the kinds' own are :attr:`LayerKind.style`)
RESULT_STYLES: dict[str, StyleRule] = {
    "conflicts": StyleRule("categorized", "severity", "severity"),
}


def style_rule(kind: str | None) -> StyleRule:
    """The style rule of a layer kind (from the registry) or a result layer; a single symbol otherwise."""
    lk = LAYER_KINDS.get(kind or "")
    if lk is not None and lk.style is not None:
        return lk.style
    return RESULT_STYLES.get(kind or "", StyleRule("single"))


# --------------------------------------------------------------------------------------
# small XML helpers


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _darker(hex_colour: str, f: float = 0.6) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (round(int(h[i:i + 2], 16) * f) for i in (0, 2, 4))
    return f"#{r:02x}{g:02x}{b:02x}"


def xml_el(tag: str, attrib: dict[str, str] | None = None, text: str | None = None,
        children: Iterable[ET.Element] = ()) -> ET.Element:
    """An XML element with attributes, text and children (the QML and project writers' builder)."""
    e = ET.Element(tag, attrib or {})
    if text is not None:
        e.text = text
    e.extend(children)
    return e


def _option_map(props: dict[str, str]) -> ET.Element:
    return xml_el("Option", {"type": "Map"},
               children=[xml_el("Option", {"name": k, "value": v, "type": "QString"}) for k, v in props.items()])


def _empty_dd() -> ET.Element:
    return xml_el("data_defined_properties", children=[xml_el("Option", {"type": "Map"}, children=[
        xml_el("Option", {"name": "name", "value": "", "type": "QString"}),
        xml_el("Option", {"name": "properties"}),
        xml_el("Option", {"name": "type", "value": "collection", "type": "QString"}),
    ])])


def _symbol_layer(cls: str, props: dict[str, str]) -> ET.Element:
    # QGIS >= 3.18 reads the Option map, older versions the prop list: write both
    lyr = xml_el("layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    lyr.append(_option_map(props))
    for k, v in props.items():
        lyr.append(xml_el("prop", {"k": k, "v": v}))
    lyr.append(_empty_dd())
    return lyr


def _symbol(family: str, name: str, colour: str, *, size: float | None = None, outline: str | None = None,
            fill_alpha: int = 255, no_fill: bool = False) -> ET.Element:
    """A simple marker, line or fill symbol."""
    stype = {"points": "marker", "lines": "line", "areas": "fill"}[family]
    sym = xml_el("symbol", {"type": stype, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"})
    sym.append(_empty_dd())
    edge = outline or _darker(colour)
    if family == "points":
        sym.append(_symbol_layer("SimpleMarker", {
            "name": "circle", "color": _rgba(colour), "outline_color": _rgba(edge), "outline_style": "solid",
            "outline_width": "0.4", "outline_width_unit": "MM", "size": f"{size or 3.0:g}", "size_unit": "MM",
            "angle": "0", "offset": "0,0", "offset_unit": "MM", "scale_method": "diameter", "joinstyle": "bevel",
            "horizontal_anchor_point": "1", "vertical_anchor_point": "1",
        }))
    elif family == "lines":
        sym.append(_symbol_layer("SimpleLine", {
            "line_color": _rgba(colour), "line_width": f"{size or 0.6:g}", "line_width_unit": "MM",
            "line_style": "solid", "capstyle": "round", "joinstyle": "round", "offset": "0", "offset_unit": "MM",
        }))
    else:
        sym.append(_symbol_layer("SimpleFill", {
            "color": _rgba(colour, fill_alpha), "style": "no" if no_fill else "solid",
            "outline_color": _rgba(edge), "outline_style": "solid", "outline_width": f"{size or 0.3:g}",
            "outline_width_unit": "MM", "offset": "0,0", "offset_unit": "MM", "joinstyle": "bevel",
        }))
    return sym


# --------------------------------------------------------------------------------------
# the style of one layer


@dataclass
class LayerStyle:
    """A generated layer style.

    Attributes
    ----------
    renderer : str
        ``categorizedSymbol``, ``graduatedSymbol`` or ``singleSymbol`` (None
        for attribute tables).
    column : str or None
        The column the renderer classifies.
    labels : str or None
        The labelled field.
    elements : list of Element
        The style's XML elements (children of ``<qgis>`` / ``<maplayer>``).
    """

    renderer: str | None
    column: str | None
    labels: str | None
    elements: list[ET.Element]


def _latest(columns: Sequence[str], template: str) -> str | None:
    if "{year}" not in template:
        return template if template in columns else None
    pre, post = template.split("{year}")
    years = [c[len(pre):len(c) - len(post) or None] for c in columns if c.startswith(pre) and c.endswith(post)]
    years = sorted(y for y in years if y.isdigit())
    return f"{pre}{years[-1]}{post}" if years else None


def _categories(rule: StyleRule, kind: str | None, column: str, values: pd.Series | None
                ) -> list[tuple[str, str, str]]:
    """(value, label, colour) per category, in legend order."""
    if rule.palette == "status":
        sc = load_status_classes()
        return [(r.status, r.label_nl, r.colour) for r in sc.itertuples()]
    if rule.palette == "severity":
        return [(v, v, c) for v, c in SEVERITY_COLOURS.items()]
    allowed: Sequence[str] | None = None
    if kind in LAYER_KINDS and column in LAYER_KINDS[kind].column_names:
        allowed = LAYER_KINDS[kind].column(column).allowed
    if allowed is None:
        present = [] if values is None else sorted({str(v) for v in values.dropna()})
        allowed = present
    return [(v, v.replace("_", " "), PALETTE[i % len(PALETTE)]) for i, v in enumerate(allowed)]


def _renderer_categorized(column: str, cats: list[tuple[str, str, str]], family: str, **sym) -> ET.Element:
    r = xml_el("renderer-v2", {"type": "categorizedSymbol", "attr": column, "symbollevels": "0", "forceraster": "0",
                            "enableorderby": "0", "referencescale": "-1"})
    categories = xml_el("categories")
    symbols = xml_el("symbols")
    all_cats = [*cats, ("", "onbekend / overig", _NULL_COLOUR)]  # "" = all other values (and NULL)
    for i, (value, label, colour) in enumerate(all_cats):
        categories.append(xml_el("category", {"value": value, "label": label, "symbol": str(i), "render": "true",
                                           "type": "string"}))
        symbols.append(_symbol(family, str(i), colour, **sym))
    r.extend([categories, symbols, xml_el("source-symbol", children=[_symbol(family, "0", _NULL_COLOUR, **sym)]),
              xml_el("rotation"), xml_el("sizescale")])
    return r


def _renderer_graduated(column: str, family: str, **sym) -> ET.Element:
    sc = load_status_classes()
    colours = list(sc["colour"])[::-1]  # worst (red) first
    b = HEADROOM_BREAKS_MW
    bounds = [-1e6, *b, 1e6]
    labels = [f"tekort (< {b[0]:g} MW)", *[f"{lo:g} - {hi:g} MW" for lo, hi in zip(b, b[1:], strict=False)],
              f">= {b[-1]:g} MW"]
    r = xml_el("renderer-v2", {"type": "graduatedSymbol", "attr": column, "graduatedMethod": "GraduatedColor",
                            "symbollevels": "0", "forceraster": "0", "enableorderby": "0", "referencescale": "-1"})
    ranges = xml_el("ranges")
    symbols = xml_el("symbols")
    for i, (lo, hi, label) in enumerate(zip(bounds[:-1], bounds[1:], labels, strict=True)):
        ranges.append(xml_el("range", {"lower": f"{lo:.6f}", "upper": f"{hi:.6f}", "label": label, "symbol": str(i),
                                    "render": "true"}))
        symbols.append(_symbol(family, str(i), colours[min(i, len(colours) - 1)], **sym))
    method = xml_el("classificationMethod", {"id": "Custom"}, children=[
        xml_el("symmetricMode", {"enabled": "0", "symmetrypoint": "0", "astride": "0"}),
        xml_el("labelFormat", {"format": "%1 - %2", "labelprecision": "1", "trimtrailingzeroes": "1"}),
    ])
    r.extend([ranges, symbols, xml_el("source-symbol", children=[_symbol(family, "0", _NULL_COLOUR, **sym)]), method,
              xml_el("rotation"), xml_el("sizescale")])
    return r


def _renderer_single(family: str, colour: str, **sym) -> ET.Element:
    r = xml_el("renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "forceraster": "0", "enableorderby": "0",
                            "referencescale": "-1"})
    r.extend([xml_el("symbols", children=[_symbol(family, "0", colour, **sym)]), xml_el("rotation"), xml_el("sizescale")])
    return r


def _labeling(field: str, family: str, *, size: float = 9.0, colour: str = "#202020") -> ET.Element:
    expr = f'coalesce("{field}", "id")'
    text_style = xml_el("text-style", {
        "fieldName": expr, "isExpression": "1", "fontFamily": "Sans Serif", "fontSize": f"{size:g}",
        "fontSizeUnit": "Point", "textColor": _rgba(colour), "textOpacity": "1", "fontWeight": "50",
        "namedStyle": "Regular", "blendMode": "0", "multilineHeight": "1", "previewBkgrdColor": "255,255,255,255",
    }, children=[xml_el("text-buffer", {"bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM",
                                     "bufferColor": "255,255,255,255", "bufferOpacity": "0.8", "bufferNoFill": "1",
                                     "bufferJoinStyle": "128", "bufferBlendMode": "0"})])
    placement = {"points": "6", "lines": "2", "areas": "0"}[family]  # ordered around point / curved / horizontal
    settings = xml_el("settings", {"calloutType": "simple"}, children=[
        text_style,
        xml_el("text-format", {"multilineAlign": "3", "wrapChar": "", "autoWrapLength": "0"}),
        xml_el("placement", {"placement": placement, "dist": "1.5", "distUnits": "MM", "offsetType": "0",
                          "quadOffset": "4", "priority": "5", "centroidInside": "1",
                          "predefinedPositionOrder": "TR,TL,BR,BL,R,L,TSR,BSR",
                          "layerType": {"points": "PointGeometry", "lines": "LineGeometry",
                                        "areas": "PolygonGeometry"}[family]}),
        xml_el("rendering", {"drawLabels": "1", "obstacle": "1", "obstacleFactor": "1", "obstacleType": "1",
                          "displayAll": "0", "upsidedownLabels": "0", "labelPerPart": "0", "mergeLines": "0",
                          "scaleVisibility": "0", "fontLimitPixelSize": "0", "zIndex": "0"}),
    ])
    return xml_el("labeling", {"type": "simple"}, children=[settings])


def _value_map(pairs: list[tuple[str, str]]) -> ET.Element:
    items = [xml_el("Option", {"type": "Map"}, children=[xml_el("Option", {"name": label, "value": value,
                                                                     "type": "QString"})])
             for value, label in pairs]
    return xml_el("editWidget", {"type": "ValueMap"}, children=[xml_el("config", children=[
        xml_el("Option", {"type": "Map"}, children=[xml_el("Option", {"name": "map", "type": "List"}, children=items)])
    ])])


def _fields(columns: Sequence[str], aliases: dict[str, str], kind: str | None) -> list[ET.Element]:
    """``<fieldConfiguration>`` (value maps for status fields) and ``<aliases>``."""
    sc = load_status_classes()
    status_pairs = [(r.status, r.label_nl) for r in sc.itertuples()]
    fc = xml_el("fieldConfiguration")
    al = xml_el("aliases")
    for i, c in enumerate(["fid", *columns]):
        f = xml_el("field", {"name": c, "configurationFlags": "None"})
        if c == "status" or (c.startswith("status_") and c != "status_label"):
            f.append(_value_map(status_pairs))
        else:
            f.append(xml_el("editWidget", {"type": ""}, children=[xml_el("config", children=[xml_el("Option")])]))
        fc.append(f)
        al.append(xml_el("alias", {"field": c, "index": str(i), "name": aliases.get(c, "")}))
    return [fc, al]


_GEOM_CODE = {"points": "0", "lines": "1", "areas": "2", None: "4"}


def family_of(geometry_type: str | None) -> str | None:
    """``points``, ``lines``, ``areas`` or None for a geometry type name."""
    if geometry_type is None:
        return None
    g = geometry_type.replace("Multi", "")
    return {"Point": "points", "LineString": "lines", "Polygon": "areas"}.get(g, "areas")


def build_style(kind: str | None, geometry_type: str | None, columns: Sequence[str], aliases: dict[str, str],
                *, values: pd.DataFrame | None = None, name: str | None = None) -> LayerStyle:
    """The style of one layer or table.

    Parameters
    ----------
    kind : str or None
        Layer kind (its :attr:`~spatialprog.kinds.LayerKind.style`) or result layer; the rule applies only when
        the layer has the rule's column, else a single symbol is used.
    geometry_type : str or None
        ``None`` for attribute tables (aliases and field widgets only).
    columns : sequence of str
        Field names of the layer (without the geometry and ``fid``).
    aliases : dict
        Dutch alias per field.
    values : DataFrame, optional
        The layer's data, for categories of columns without a fixed list.
    name : str, optional
        Table name, to pick a distinct colour for single-symbol layers.

    Returns
    -------
    LayerStyle
    """
    family = family_of(geometry_type)
    elements: list[ET.Element] = []
    renderer = column = labels = None
    if family is not None:
        rule = style_rule(kind)
        col = _latest(list(columns), rule.column) if rule.column else None
        sym: dict = {}
        if kind == "substations":
            sym = {"size": 4.5, "outline": "#202020"}
        elif family == "areas":
            sym = {"fill_alpha": 110 if kind == "service_areas" else 170}
        if rule.method == "categorized" and col is not None:
            cats = _categories(rule, kind, col, None if values is None else values.get(col))
            elements.append(_renderer_categorized(col, cats, family, **sym))
            renderer, column = "categorizedSymbol", col
        elif rule.method == "graduated" and col is not None:
            elements.append(_renderer_graduated(col, family, **sym))
            renderer, column = "graduatedSymbol", col
        elif rule.method == "outline":
            elements.append(_renderer_single(family, "#404040", no_fill=True, size=0.8, outline="#404040"))
            renderer = "singleSymbol"
        else:
            i = sum(map(ord, name or kind or "")) % len(PALETTE)
            elements.append(_renderer_single(family, PALETTE[i], **sym))
            renderer = "singleSymbol"
        if rule.label and rule.label in columns:
            elements.append(_labeling(rule.label, family, size=10.0 if kind == "substations" else 9.0,
                                      colour="#202020" if kind == "substations" else "#505050"))
            labels = rule.label
        elements.append(xml_el("blendMode", text="0"))
        elements.append(xml_el("featureBlendMode", text="0"))
        elements.append(xml_el("layerOpacity", text="1"))
    elements.extend(_fields(columns, aliases, kind))
    display = "name" if "name" in columns else ("id" if "id" in columns else (columns[0] if columns else ""))
    if display:
        elements.append(xml_el("previewExpression", text=f'"{display}"'))
    elements.append(xml_el("layerGeometryType", text=_GEOM_CODE[family]))
    return LayerStyle(renderer, column, labels, elements)


def _root_attrs(style: LayerStyle) -> dict[str, str]:
    return {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories", "hasScaleBasedVisibilityFlag": "0",
            "minScale": "100000000", "maxScale": "0", "labelsEnabled": "1" if style.labels else "0",
            "readOnly": "0"}


def style_elements(style: LayerStyle) -> tuple[dict[str, str], list[ET.Element]]:
    """Attributes and children to put on a project's ``<maplayer>``."""
    return _root_attrs(style), style.elements


def serialise_xml(root: ET.Element) -> str:
    """The XML text of an element tree, as QGIS writes it."""
    ET.indent(root, space="  ")
    return DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def style_qml(style: LayerStyle) -> str:
    """The style as a QML document (text)."""
    root = xml_el("qgis", _root_attrs(style))
    root.extend(style.elements)
    return serialise_xml(root)


def raster_style_qml(vmin: float, vmax: float, *, colours: Sequence[str] = ("#e30613", "#ffd400", "#8cc63f"),
                     labels: Sequence[str] | None = None, classes: Sequence[tuple[float, str, str]] | None = None,
                     ) -> str:
    """A QML for a single-band raster: a colour ramp from ``vmin`` to ``vmax`` or discrete classes.

    Parameters
    ----------
    vmin, vmax : float
        Value range of the ramp.
    colours : sequence of str
        Ramp colours, evenly spaced from vmin to vmax (default red-yellow-green:
        low is bad, high is good, as for suitability).
    labels : sequence of str, optional
        Legend labels of the ramp stops.
    classes : sequence of (value, label, colour), optional
        Discrete classes instead of a ramp (``EXACT`` colour ramp).
    """
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        vmin, vmax = 0.0, 1.0
    if classes is not None:
        items = [(float(v), lab, c) for v, lab, c in classes]
        ramp_type, lo, hi = "EXACT", min(v for v, _, _ in items), max(v for v, _, _ in items)
    else:
        n = len(colours)
        stops = [vmin + (vmax - vmin) * i / max(n - 1, 1) for i in range(n)]
        labs = list(labels) if labels else [f"{s:g}" for s in stops]
        items = list(zip(stops, labs, colours, strict=True))
        ramp_type, lo, hi = "INTERPOLATED", vmin, vmax
    shader = xml_el("colorrampshader", {"colorRampType": ramp_type, "classificationMode": "1", "clip": "0",
                                     "minimumValue": f"{lo:g}", "maximumValue": f"{hi:g}", "labelPrecision": "2"},
                 children=[xml_el("item", {"value": f"{v:g}", "label": lab, "color": c, "alpha": "255"})
                           for v, lab, c in items])
    renderer = xml_el("rasterrenderer", {"type": "singlebandpseudocolor", "band": "1", "opacity": "1",
                                      "alphaBand": "-1", "classificationMin": f"{lo:g}",
                                      "classificationMax": f"{hi:g}", "nodataColor": ""}, children=[
        xml_el("rasterTransparency"),
        xml_el("minMaxOrigin", children=[xml_el("limits", text="None"), xml_el("extent", text="WholeRaster"),
                                      xml_el("statAccuracy", text="Estimated"),
                                      xml_el("cumulativeCutLower", text="0.02"),
                                      xml_el("cumulativeCutUpper", text="0.98"), xml_el("stdDevFactor", text="2")]),
        xml_el("rastershader", children=[shader]),
    ])
    pipe = xml_el("pipe", children=[
        xml_el("provider", children=[xml_el("resampling", {"enabled": "false", "maxOversampling": "2",
                                                     "zoomedInResamplingMethod": "nearestNeighbour",
                                                     "zoomedOutResamplingMethod": "nearestNeighbour"})]),
        renderer,
        xml_el("brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"}),
        xml_el("huesaturation", {"saturation": "0", "grayscaleMode": "0", "colorizeOn": "0", "colorizeRed": "255",
                              "colorizeGreen": "128", "colorizeBlue": "128", "colorizeStrength": "100",
                              "invertColors": "0"}),
        xml_el("rasterresampler", {"maxOversampling": "2"}),
    ])
    root = xml_el("qgis", {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories",
                        "hasScaleBasedVisibilityFlag": "0", "minScale": "1e+08", "maxScale": "0"},
               children=[pipe, xml_el("blendMode", text="0")])
    return serialise_xml(root)
