"""Open the QGIS project a spatialprog PostGIS export stored in the database, in real QGIS.

    check_postgis_project.py PROJECT_URI

PROJECT_URI is QGIS's own form, ``postgresql://user@host:port?sslmode=disable&dbname=DB&schema=S&project=NAME``
(the layers' password comes from PGPASSWORD, as for a planner's QGIS). Prints one JSON object: read ok, the
project's CRS and title, and per layer provider, valid, feature count, CRS and renderer type.
"""

from __future__ import annotations

import sys

from qgis_boot import emit, qgis_app


def main(uri: str) -> dict:
    from qgis.core import QgsProject, QgsVectorLayer

    project = QgsProject.instance()
    ok = project.read(uri)
    layers = {}
    for layer in project.mapLayers().values():
        info = {"provider": layer.providerType(), "valid": layer.isValid(),
                "authid": layer.crs().authid() if layer.crs().isValid() else ""}
        if isinstance(layer, QgsVectorLayer):
            r = layer.renderer()
            info["features"] = layer.featureCount()
            info["renderer"] = r.type() if r is not None else None
        layers[layer.name()] = info
    return {"read": bool(ok), "crs": project.crs().authid(), "title": project.title(), "layers": layers}


if __name__ == "__main__":
    with qgis_app():
        result = main(sys.argv[1])
    emit(result)
