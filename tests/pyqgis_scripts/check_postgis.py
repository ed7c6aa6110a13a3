"""Load tables of a spatialprog PostGIS export in real QGIS; report validity and default styles.

    check_postgis.py DSN SCHEMA TABLE [TABLE ...]

DSN is a postgresql:// URL. Prints one JSON object: table -> valid, features,
authid, renderer, attr, labels, alias of ``name``.
"""

from __future__ import annotations

import sys
from urllib.parse import urlparse

from qgis_boot import emit, qgis_app


def main(dsn: str, schema: str, tables: list[str]) -> dict:
    from qgis.core import QgsDataSourceUri, QgsVectorLayer

    u = urlparse(dsn)
    out = {}
    for table in tables:
        uri = QgsDataSourceUri()
        uri.setConnection(u.hostname or "localhost", str(u.port or 5432), u.path.lstrip("/"), u.username or "",
                          u.password or "")
        spatial = not table.startswith("t:")
        name = table[2:] if not spatial else table
        uri.setDataSource(schema, name, "geom" if spatial else None, "", "fid")
        layer = QgsVectorLayer(uri.uri(False), name, "postgres")
        r = layer.renderer()
        idx = layer.fields().indexOf("name")
        out[name] = {
            "valid": layer.isValid(), "features": layer.featureCount(),
            "authid": layer.crs().authid() if layer.crs().isValid() else "",
            "renderer": r.type() if r is not None else None,
            "attr": r.classAttribute() if r is not None and hasattr(r, "classAttribute") else None,
            "labels": bool(layer.labelsEnabled()),
            "name_alias": layer.attributeAlias(idx) if idx >= 0 else None,
            "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())},
        }
        del layer, r
    return out


if __name__ == "__main__":
    with qgis_app():
        result = main(sys.argv[1], sys.argv[2], sys.argv[3:])
    emit(result)
