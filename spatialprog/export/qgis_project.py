"""A QGIS project (``.qgs`` XML, zipped as ``.qgz``) over the exported GeoPackage, or over PostGIS tables.

The project has the layer-tree groups of :data:`~spatialprog.export.catalog.GROUPS`
(only those with layers), project CRS EPSG:28992 (``projectCrs`` with its WKT,
``ProjectionsEnabled`` set), relative paths (``./spatialprog.gpkg|layername=...``,
valid both for the ``.qgz`` beside the GeoPackage and for the copy stored in
the GeoPackage's ``qgis_projects`` table), and every layer's style inline,
because a project does not read ``layer_styles``. Where the layers live is
one hook, ``datasource`` of :func:`project_xml`: the GeoPackage by default,
the PostGIS tables for :mod:`spatialprog.export.postgis`.
"""

from __future__ import annotations

import functools
import io
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pyproj import CRS

from ..writer import gpkg_timestamp
from .catalog import GROUPS, ExportLayer
from .qml import QGIS_VERSION, LayerStyle, serialise_xml, style_elements, xml_el

__all__ = ["ProjectRaster", "project_xml", "project_titles", "project_timestamp", "qgz_bytes", "layer_id", "srs_element"]


@dataclass
class ProjectRaster:
    """A raster for the project: a file relative to the project, with its QML."""

    name: str
    title: str
    path: str
    qml: str
    group: str = "results"
    abstract: str = ""
    extent: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    visible: bool = True
    keywords: list[str] = field(default_factory=list)


def project_titles(manifest: Mapping) -> tuple[str, str]:
    """(title, history) of the project of a run: its name, and the version and run date for each layer."""
    history = (f"spatialprog {manifest.get('versions', {}).get('spatialprog', '')}, berekend op "
               f"{manifest.get('run_date', '')}")
    return f"{manifest.get('project') or 'spatialprog'} (spatialprog)", history


def project_timestamp(manifest: Mapping) -> str:
    """The run date as GeoPackage timestamp (``YYYY-MM-DDTHH:MM:SS.sssZ``), for the export and its project.

    The manifest's run date; without one, :func:`~spatialprog.writer.run_timestamp`
    (``SOURCE_DATE_EPOCH``, else today), never the wall clock.
    """
    raw = manifest.get("run_date")
    try:
        dt = datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        dt = None
    return gpkg_timestamp(dt)


def layer_id(name: str) -> str:
    """A stable layer id (deterministic, unique per table name)."""
    return f"spatialprog_{name}"


@functools.lru_cache(maxsize=8)
def _srs_parts(crs: str) -> tuple[tuple[str, str], ...]:
    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    with warnings.catch_warnings():  # PROJ strings lose information; QGIS writes one anyway (informative)
        warnings.simplefilter("ignore", UserWarning)
        proj4 = (c.to_proj4() or "").replace(" +type=crs", "")
    acronym = next((p.split("=", 1)[1] for p in proj4.split() if p.startswith("+proj=")), "")
    ell = c.ellipsoid
    ell_id = (ell.to_json_dict().get("id") or {}) if ell is not None else {}
    ell_epsg = ell_id.get("code") if ell_id.get("authority") == "EPSG" else None
    return (
        ("wkt", c.to_wkt("WKT2_2019")),
        ("proj4", proj4),
        ("srid", str(epsg or 0)),
        ("authid", f"EPSG:{epsg}" if epsg else ""),
        ("description", c.name),
        ("projectionacronym", acronym),
        ("ellipsoidacronym", f"EPSG:{ell_epsg}" if ell_epsg else ""),
        ("geographicflag", "true" if c.is_geographic else "false"),
    )


def srs_element(crs: str = "EPSG:28992") -> ET.Element:
    """``<spatialrefsys>`` as QGIS writes it (WKT2, proj4, authid)."""
    return xml_el("spatialrefsys", children=[xml_el(k, text=v) for k, v in _srs_parts(crs)])


def _extent(tag: str, b: Sequence[float]) -> ET.Element:
    return xml_el(tag, children=[xml_el(k, text=f"{v:.3f}") for k, v in zip(("xmin", "ymin", "xmax", "ymax"), b,
                                                                      strict=True)])


def _metadata(ident: str, title: str, abstract: str, crs: str, keywords: Sequence[str], history: str
              ) -> ET.Element:
    kw = xml_el("keywords", {"vocabulary": "spatialprog"}, children=[xml_el("keyword", text=k) for k in keywords])
    return xml_el("resourceMetadata", children=[
        xml_el("identifier", text=ident), xml_el("parentidentifier", text=""), xml_el("language", text="nl"),
        xml_el("type", text="dataset"), xml_el("title", text=title), xml_el("abstract", text=abstract), kw,
        xml_el("links"), xml_el("fees", text=""), xml_el("encoding", text=""), xml_el("crs", children=[srs_element(crs)]),
        xml_el("extent"), xml_el("history", text=history),
    ])


def _maplayer(layer: ExportLayer, style: LayerStyle, source: str, provider: str, crs: str, history: str
              ) -> ET.Element:
    attrs, children = style_elements(style)
    if layer.is_spatial:
        gname = {"Point": "Point", "Line": "Line", "Polygon": "Polygon"}
        base = layer.geometry_type.replace("Multi", "").replace("String", "")
        attrs = {"type": "vector", "geometry": gname.get(base, "Polygon"), "wkbType": layer.geometry_type, **attrs}
    else:
        attrs = {"type": "vector", "geometry": "No geometry", "wkbType": "NoGeometry", **attrs}
    ml = xml_el("maplayer", attrs)
    if layer.is_spatial and len(layer.data):
        ml.append(_extent("extent", layer.data.total_bounds))
    ml.append(xml_el("id", text=layer_id(layer.name)))
    ml.append(xml_el("datasource", text=source))
    ml.append(xml_el("keywordList", children=[xml_el("value", text=layer.group)]))
    ml.append(xml_el("layername", text=layer.title))
    if layer.is_spatial:
        ml.append(xml_el("srs", children=[srs_element(crs)]))
    ml.append(_metadata(layer.name, layer.title, layer.abstract, crs, [layer.group, layer.source], history))
    ml.append(xml_el("provider", {"encoding": "UTF-8"}, text=provider))
    ml.extend(children)
    return ml


def _raster_maplayer(r: ProjectRaster, crs: str, history: str) -> ET.Element:
    root = ET.fromstring(r.qml.split("\n", 1)[1] if r.qml.startswith("<!DOCTYPE") else r.qml)
    ml = xml_el("maplayer", {"type": "raster", "hasScaleBasedVisibilityFlag": "0", "minScale": "1e+08",
                          "maxScale": "0", "styleCategories": "AllStyleCategories"})
    ml.append(_extent("extent", r.extent))
    ml.extend([xml_el("id", text=layer_id(r.name)), xml_el("datasource", text=r.path),
               xml_el("keywordList", children=[xml_el("value", text=r.group)]), xml_el("layername", text=r.title),
               xml_el("srs", children=[srs_element(crs)]),
               _metadata(r.name, r.title, r.abstract, crs, [r.group, "raster", *r.keywords], history),
               xml_el("provider", text="gdal")])
    ml.extend(list(root))
    return ml


def _tree_layer(lid: str, title: str, source: str, provider: str, visible: bool) -> ET.Element:
    return xml_el("layer-tree-layer", {"id": lid, "name": title, "source": source, "providerKey": provider,
                                    "checked": "Qt::Checked" if visible else "Qt::Unchecked", "expanded": "0",
                                    "legend_exp": "", "patch_size": "-1,-1", "legend_split_behavior": "0"},
               children=[xml_el("customproperties", children=[xml_el("Option")])])


def project_xml(layers: Sequence[tuple[ExportLayer, LayerStyle]], gpkg_name: str | None, *, title: str,
                crs: str = "EPSG:28992", rasters: Sequence[ProjectRaster] = (), history: str = "",
                save_datetime: str = "", datasource: Callable[[ExportLayer], tuple[str, str]] | None = None) -> str:
    """The ``.qgs`` XML of the project.

    Parameters
    ----------
    layers : sequence of (ExportLayer, LayerStyle)
        In layer-tree order (top first); only those with ``in_project``.
    gpkg_name : str or None
        File name of the GeoPackage, relative to the project (None with ``datasource``).
    title : str
        Project title.
    crs : str
        Project CRS.
    rasters : sequence of ProjectRaster
    history : str
        Written into each layer's metadata (run date, version).
    save_datetime : str
        ISO date written as the save date (the run date: deterministic).
    datasource : callable, optional
        A layer -> (QGIS datasource, provider key); default the layer in the
        GeoPackage, ``("./<gpkg_name>|layername=<name>", "ogr")``.

    Returns
    -------
    str
    """
    root = xml_el("qgis", {"projectname": title, "version": QGIS_VERSION, "saveUser": "spatialprog",
                        "saveUserFull": "spatialprog", "saveDateTime": save_datetime})
    root.extend([xml_el("homePath", {"path": ""}), xml_el("title", text=title), xml_el("autotransaction", {"active": "0"}),
                 xml_el("evaluateDefaultValues", {"active": "0"}), xml_el("trust", {"active": "0"}),
                 xml_el("projectCrs", children=[srs_element(crs)])])
    tree = xml_el("layer-tree-group", children=[xml_el("customproperties", children=[xml_el("Option")])])
    projectlayers = xml_el("projectlayers")
    order: list[str] = []
    bounds: list[Sequence[float]] = []
    entries: dict[str, list[tuple[ET.Element, ET.Element, str]]] = {g: [] for g in GROUPS}
    if datasource is None:
        if not gpkg_name:
            raise ValueError("project_xml: give gpkg_name or datasource")

        def datasource(layer: ExportLayer) -> tuple[str, str]:
            return f"./{gpkg_name}|layername={layer.name}", "ogr"

    for layer, style in layers:
        if not layer.in_project:
            continue
        source, provider = datasource(layer)
        lid = layer_id(layer.name)
        entries.setdefault(layer.group, []).append((
            _tree_layer(lid, layer.title, source, provider, layer.visible),
            _maplayer(layer, style, source, provider, crs, history), lid))
        if layer.is_spatial and len(layer.data) and layer.visible:
            bounds.append(layer.data.total_bounds)
    for r in rasters:
        lid = layer_id(r.name)
        # at the bottom of its group: a surface under the vector layers
        entries.setdefault(r.group, []).append((_tree_layer(lid, r.title, r.path, "gdal", r.visible),
                                                _raster_maplayer(r, crs, history), lid))
    for g, items in entries.items():
        if not items:
            continue
        grp = xml_el("layer-tree-group", {"name": GROUPS.get(g, g), "checked": "Qt::Checked", "expanded": "1"},
                  children=[xml_el("customproperties", children=[xml_el("Option")])])
        for tree_el, ml, lid in items:
            grp.append(tree_el)
            projectlayers.append(ml)
            order.append(lid)
        tree.append(grp)
    tree.append(xml_el("custom-order", {"enabled": "0"}, children=[xml_el("item", text=i) for i in order]))
    root.append(tree)
    if bounds:
        xs = [b[0] for b in bounds] + [b[2] for b in bounds]
        ys = [b[1] for b in bounds] + [b[3] for b in bounds]
        ext = (min(xs), min(ys), max(xs), max(ys))
    else:
        ext = (13000.0, 306000.0, 278000.0, 620000.0)  # the Netherlands in RD New
    root.append(xml_el("mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"}, children=[
        xml_el("units", text="meters"), _extent("extent", ext), xml_el("rotation", text="0"),
        xml_el("destinationsrs", children=[srs_element(crs)]), xml_el("rendermaptile", text="0")]))
    root.append(projectlayers)
    root.append(xml_el("layerorder", children=[xml_el("layer", {"id": i}) for i in order]))
    props = xml_el("properties", children=[
        xml_el("Paths", children=[xml_el("Absolute", {"type": "bool"}, text="false")]),
        xml_el("SpatialRefSys", children=[xml_el("ProjectionsEnabled", {"type": "int"}, text="1")]),
        xml_el("Measurement", children=[xml_el("DistanceUnits", {"type": "QString"}, text="meters"),
                                     xml_el("AreaUnits", {"type": "QString"}, text="m2")]),
    ])
    root.append(props)
    root.append(xml_el("projectMetadata", children=[
        xml_el("identifier", text=""), xml_el("parentidentifier", text=""), xml_el("language", text="nl"),
        xml_el("type", text="project"), xml_el("title", text=title), xml_el("abstract", text=history),
        xml_el("links"), xml_el("author", text="spatialprog"), xml_el("creation", text=save_datetime),
    ]))
    return serialise_xml(root)


def qgz_bytes(qgs_xml: str, qgs_name: str) -> bytes:
    """Zip the project XML as QGIS does for ``.qgz`` (one ``.qgs`` member), deterministically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(qgs_name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, qgs_xml.encode("utf-8"))
    return buf.getvalue()
