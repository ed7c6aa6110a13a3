"""Helpers for tests that need real external clients (QGIS, Chromium, PostGIS, GDAL).

Each helper has a ``*_available()``/``*_skip_reason()`` returning ``None`` or the reason
to skip.  The clients come from Debian's apt: ``bash .ci/install-clients.sh`` installs
them and ``source .ci/start-postgis.sh`` starts PostGIS and exports SPATIALPROG_TEST_PG.
"""

from __future__ import annotations

import pytest


def skip_if_missing(reason: str | None) -> None:
    """Skip the calling test (or fixture) with ``reason`` when a client or data set is missing.

    ``reason`` is what a ``*_available()`` / ``*_skip_reason()`` helper returned: ``None``
    when the client is there, and the test then goes on.
    """
    if reason:
        pytest.skip(reason)
