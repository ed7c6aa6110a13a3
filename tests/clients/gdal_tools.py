"""GDAL command-line tools and the GeoPackage validator (Debian gdal-bin + python3-gdal).

``validate_gpkg.py`` (GDAL's GeoPackage conformance checker) ships in python3-gdal as
the module ``osgeo_utils.samples.validate_gpkg`` (file
/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py; a copy is in
/usr/share/doc/python3-gdal/examples/).  It needs the ``osgeo`` bindings, so it runs
with the system ``/usr/bin/python3``, not the project's venv.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

SYSTEM_PYTHON = os.environ.get("SPATIALPROG_QGIS_PYTHON", "/usr/bin/python3")
_DROP = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")


def _system_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@functools.lru_cache(maxsize=1)
def gdal_available() -> str | None:
    """``None`` when ogr2ogr/ogrinfo and the GeoPackage validator are usable, else a reason."""
    for tool in ("ogr2ogr", "ogrinfo", "gdalinfo"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian gdal-bin; run: bash .ci/install-clients.sh)"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"no system python at {SYSTEM_PYTHON} for python3-gdal"
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import osgeo_utils.samples.validate_gpkg"],
        env=_system_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        return "GDAL's validate_gpkg not importable (Debian python3-gdal missing?)"
    return None


def validate_gpkg(path: str | os.PathLike[str], *, timeout_s: float = 300) -> tuple[bool, str]:
    """Run GDAL's GeoPackage validator on ``path``: (conforms, validator output)."""
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-m", "osgeo_utils.samples.validate_gpkg", str(Path(path))],
        env=_system_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()
