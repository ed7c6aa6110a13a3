"""Open a spatialprog QGIS export in real (headless) QGIS and report what QGIS sees.

Run with Debian's system Python (python3-qgis) through
``tests/clients/qgis_runner.run_qgis_script``::

    check_export.py EXPORT.gpkg EXPORT.qgz OUT.png [RASTER.tif]

Prints one JSON object (last stdout line):

``layers``
    per table of the GeoPackage, loaded as QGIS loads a dragged-in layer
    (default style from ``layer_styles``): valid, authid, feature count,
    renderer type and attribute, labels, a few aliases, the style's origin.
``projects``
    for the project stored in the GeoPackage and for the ``.qgz``: read ok,
    CRS, groups, and per layer valid / renderer / labels.
``render``
    the embedded project rendered to OUT.png: size, share of non-white
    pixels, number of distinct colours, capacity-map colours present.
``qgis_layer_styles``
    ``PRAGMA table_info(layer_styles)`` of a GeoPackage where QGIS itself
    created the table (to compare with ours).
``raster``
    the raster loaded with its sidecar ``.qml``: valid, renderer type, CRS.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile

from qgis_boot import emit, qgis_app


def _renderer_info(layer) -> dict:
    from qgis.core import QgsVectorLayer

    info: dict = {"valid": layer.isValid(), "authid": layer.crs().authid() if layer.crs().isValid() else ""}
    if isinstance(layer, QgsVectorLayer):
        info["features"] = layer.featureCount()
        info["spatial"] = layer.isSpatial()
        r = layer.renderer()
        info["renderer"] = r.type() if r is not None else None
        info["attr"] = r.classAttribute() if r is not None and hasattr(r, "classAttribute") else None
        if r is not None and r.type() == "categorizedSymbol":
            info["categories"] = [(c.value(), c.label(), c.symbol().color().name()) for c in r.categories()]
        if r is not None and r.type() == "graduatedSymbol":
            info["ranges"] = [(rg.lowerValue(), rg.upperValue(), rg.label(), rg.symbol().color().name())
                              for rg in r.ranges()]
        info["labels"] = bool(layer.labelsEnabled() and layer.labeling() is not None)
        info["aliases"] = {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())}
        info["widgets"] = {f.name(): layer.editorWidgetSetup(i).type() for i, f in enumerate(layer.fields())
                           if layer.editorWidgetSetup(i).type()}
        info["fields"] = [f.name() for f in layer.fields()]
    else:
        r = layer.renderer()
        info["renderer"] = r.type() if r is not None else None
    return info


def check_layers(gpkg: str) -> dict:
    from qgis.core import QgsVectorLayer

    con = sqlite3.connect(gpkg)
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM gpkg_contents WHERE table_name != 'layer_styles' ORDER BY table_name")]
    con.close()
    out = {}
    for name in names:
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")  # loads the default style
        info = _renderer_info(layer)
        info["title"] = layer.metadata().title() if layer.isValid() else ""
        out[name] = info
        del layer
    return out


def _tree(group) -> list:
    from qgis.core import QgsLayerTreeGroup

    items = []
    for child in group.children():
        if isinstance(child, QgsLayerTreeGroup):
            items.append({"group": child.name(), "layers": _tree(child)})
        else:
            items.append(child.name())
    return items


def check_project(uri: str) -> dict:
    from qgis.core import QgsProject

    project = QgsProject.instance()
    project.clear()
    ok = project.read(uri)
    info: dict = {"read": bool(ok), "crs": project.crs().authid(), "title": project.title(),
                  "tree": _tree(project.layerTreeRoot()),
                  "absolute_paths": project.readBoolEntry("Paths", "/Absolute", True)[0]}
    layers = {}
    for lid, layer in project.mapLayers().items():
        d = _renderer_info(layer)
        d["source"] = layer.source()
        d["name"] = layer.name()
        layers[lid] = d
    info["layers"] = layers
    layer = None
    project.removeAllMapLayers()
    project.clear()
    return info


def render(uri: str, png: str) -> dict:
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsProject, QgsRectangle
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    project = QgsProject.instance()
    project.clear()
    project.read(uri)
    root = project.layerTreeRoot()
    layers = [lyr for lyr in root.layerOrder() if root.findLayer(lyr.id()).isVisible() and lyr.isSpatial()]
    extent = QgsRectangle()
    for lyr in layers:
        extent.combineExtentWith(lyr.extent())
    extent.scale(1.05)
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(1000, 800))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setFlag(QgsMapSettings.DrawLabeling, True)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(png, "PNG")
    w, h = img.width(), img.height()
    colours: dict[int, int] = {}
    nonwhite = 0
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            c = img.pixel(x, y) & 0xFFFFFF
            colours[c] = colours.get(c, 0) + 1
            if c != 0xFFFFFF:
                nonwhite += 1
    total = ((w + 1) // 2) * ((h + 1) // 2)

    def near(hexcol: str, tol: int = 40) -> int:
        r0, g0, b0 = int(hexcol[1:3], 16), int(hexcol[3:5], 16), int(hexcol[5:7], 16)
        n = 0
        for c, k in colours.items():
            r, g, b = (c >> 16) & 255, (c >> 8) & 255, c & 255
            if abs(r - r0) <= tol and abs(g - g0) <= tol and abs(b - b0) <= tol:
                n += k
        return n

    # each substation's symbol, at its own location, has the colour of its status category
    subs = next(lyr for lyr in layers if lyr.source().endswith("layername=substations"))
    renderer = subs.renderer()
    colour_of = {c.value(): c.symbol().color().name() for c in renderer.categories()}
    m2p = settings.mapToPixel()
    hits, checked = 0, 0
    for f in subs.getFeatures():
        pt = m2p.transform(f.geometry().asPoint())
        want = colour_of.get(f[renderer.classAttribute()])
        got = QColor(img.pixel(int(round(pt.x())), int(round(pt.y())))).name()
        checked += 1
        hits += int(want is not None and got == want)
    del subs, renderer, f
    info = {"size": [w, h], "layers": [lyr.name() for lyr in layers], "nonwhite_share": nonwhite / total,
            "substation_symbols": [hits, checked],
            "colours": len(colours),
            "status_pixels": {h_: near(h_) for h_ in ("#e30613", "#f7931e", "#ffd400", "#8cc63f")}}
    del job, img, layers, lyr
    project.removeAllMapLayers()
    project.clear()
    return info


def qgis_layer_styles_schema() -> list:
    """Let QGIS create layer_styles in a fresh GeoPackage; return its table_info."""
    from qgis.core import QgsVectorFileWriter, QgsVectorLayer

    tmp = tempfile.mkdtemp()
    mem = QgsVectorLayer("Point?crs=EPSG:28992&field=name:string", "p", "memory")
    path = os.path.join(tmp, "ref.gpkg")
    opts = QgsVectorFileWriter.SaveVectorOptions()
    opts.driverName = "GPKG"
    opts.layerName = "p"
    from qgis.core import QgsCoordinateTransformContext

    write = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) or QgsVectorFileWriter.writeAsVectorFormatV2
    write(mem, path, QgsCoordinateTransformContext(), opts)
    del mem
    layer = QgsVectorLayer(f"{path}|layername=p", "p", "ogr")
    layer.saveStyleToDatabase("default", "", True, "")
    del layer
    con = sqlite3.connect(path)
    cols = [list(r[1:3]) for r in con.execute("PRAGMA table_info(layer_styles)")]
    contents = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'").fetchone()
    row = con.execute("SELECT f_table_catalog, f_table_schema, f_geometry_column FROM layer_styles").fetchone()
    con.close()
    return {"columns": cols, "data_type": contents[0] if contents else None, "row": list(row)}


def check_raster(path: str) -> dict:
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(path, "raster", "gdal")  # picks up path.qml
    info = _renderer_info(layer)
    info["width"] = layer.width()
    del layer
    return info


def main(argv: list[str]) -> dict:
    gpkg, qgz, png = argv[:3]
    out: dict = {"layers": check_layers(gpkg)}
    out["projects"] = {
        "embedded": check_project(f"geopackage:{gpkg}?projectName={os.path.splitext(os.path.basename(gpkg))[0]}"),
        "qgz": check_project(qgz),
    }
    out["render"] = render(f"geopackage:{gpkg}?projectName={os.path.splitext(os.path.basename(gpkg))[0]}", png)
    out["qgis_layer_styles"] = qgis_layer_styles_schema()
    if len(argv) > 3:
        out["raster"] = check_raster(argv[3])
    return out


if __name__ == "__main__":
    with qgis_app():
        result = main(sys.argv[1:])
    emit(result)
