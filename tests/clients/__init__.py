"""Helpers for tests that need real external clients (QGIS, Chromium, PostGIS, GDAL).

Each helper has a ``*_available()``/``*_skip_reason()`` returning ``None`` or the reason
to skip.  The clients come from Debian's apt: ``bash .ci/install-clients.sh`` installs
them and ``source .ci/start-postgis.sh`` starts PostGIS and exports SPATIALPROG_TEST_PG.
"""
