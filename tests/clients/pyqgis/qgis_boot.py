"""Bootstrap for PyQGIS scripts run by ``tests/clients/qgis_runner.py``.

This file is imported by the *system* ``/usr/bin/python3`` (Debian's python3-qgis),
not by the project's venv.  The runner puts this folder and QGIS's plugin folder
(for ``processing``) on ``PYTHONPATH``.  Usage inside a script::

    from qgis_boot import qgis_app, emit

    def main(app):
        from qgis.core import QgsVectorLayer
        layer = QgsVectorLayer("/x.gpkg|layername=areas", "areas", "ogr")
        return {"valid": layer.isValid()}      # layer dies with this frame

    with qgis_app() as app:
        result = main(app)
    emit(result)                               # JSON as the last stdout line

Gotcha: any QgsMapLayer / QgsMapRendererJob still referenced from Python when
``exitQgis()`` runs aborts the process ("free(): invalid size", rc 134/139).  Keep
QGIS objects local to a function (as above) or ``del`` them inside the ``with``.
"""

from __future__ import annotations

import gc
import json
import sys
from contextlib import contextmanager


@contextmanager
def qgis_app(*, processing: bool = False):
    """Initialise a GUI-less QgsApplication; clear the project and exit QGIS cleanly."""
    from qgis.core import QgsApplication, QgsProject

    app = QgsApplication([], False)
    app.initQgis()
    try:
        if processing:
            from processing.core.Processing import Processing

            Processing.initialize()
        yield app
    finally:
        QgsProject.instance().removeAllMapLayers()
        QgsProject.instance().clear()
        gc.collect()
        app.exitQgis()


def emit(obj) -> None:
    """Print ``obj`` as one JSON line; the runner parses the last stdout line."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
