"""Run PyQGIS scripts with Debian's system Python (python3-qgis) in a subprocess.

QGIS's Python bindings are built for ``/usr/bin/python3`` and cannot be imported
from the project's venv, so tests write a small script and run it here::

    skip_if_missing(qgis_available())
    res = run_qgis_script(script_path, gpkg_path, out_png)
    assert res.returncode == 0, res.stderr
    assert res.data["valid"]

Scripts may ``from qgis_boot import qgis_app, emit`` (see ``pyqgis/qgis_boot.py``).
Each run gets its own throw-away HOME and XDG_RUNTIME_DIR, so QGIS's profile
(``~/.local/share/profiles``) and caches never touch the real home directory.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

QGIS_PYTHON = os.environ.get("SPATIALPROG_QGIS_PYTHON", "/usr/bin/python3")
_BOOT_DIR = Path(__file__).resolve().parent / "pyqgis"
_QGIS_PLUGINS = "/usr/share/qgis/python/plugins"  # Debian: home of `processing`

# Variables from a venv / pyenv that would break or leak into the system interpreter.
_DROP = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "VIRTUAL_ENV",
    "PYTHONUSERBASE",
    "PYTHONEXECUTABLE",
    "__PYVENV_LAUNCHER__",
    "QGIS_PREFIX_PATH",
)


class QgisResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    data: Any  # JSON parsed from the last non-empty stdout line, or None


def qgis_env(home: str | os.PathLike[str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a headless PyQGIS process with ``home`` as its private HOME."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    home = Path(home)
    runtime = home / "xdg-runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),  # else Qt warns on stderr and uses /tmp/runtime-root
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        QT_QPA_PLATFORM="offscreen",  # without it: "could not connect to display", abort (134)
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(_BOOT_DIR), _QGIS_PLUGINS]),
        LC_ALL=env.get("LC_ALL") or "C.UTF-8",
    )
    if extra:
        env.update(extra)
    return env


def _last_json(stdout: str) -> Any:
    for line in reversed(stdout.splitlines()):
        if line.strip():
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_qgis_script(
    script: str | os.PathLike[str],
    *args: str | os.PathLike[str],
    timeout_s: float = 180,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> QgisResult:
    """Run ``script`` with the system Python + PyQGIS, offscreen, in a fresh HOME.

    Returns ``(returncode, stdout, stderr, data)``; raises ``subprocess.TimeoutExpired``
    on timeout (the process is killed first).
    """
    home = tempfile.mkdtemp(prefix="spatialprog-qgis-")
    try:
        proc = subprocess.run(
            [QGIS_PYTHON, str(script), *map(str, args)],
            env=qgis_env(home, env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return QgisResult(proc.returncode, proc.stdout, proc.stderr, _last_json(proc.stdout))


_PROBE = """
from qgis.core import Qgis, QgsApplication, QgsProviderRegistry
from qgis_boot import qgis_app, emit
with qgis_app() as app:
    providers = list(QgsProviderRegistry.instance().providerList())
emit({"version": Qgis.version(), "ogr": "ogr" in providers, "postgres": "postgres" in providers})
"""


@functools.lru_cache(maxsize=1)
def qgis_available() -> str | None:
    """``None`` when PyQGIS runs headless here, else a one-line reason to skip."""
    if not (os.path.isfile(QGIS_PYTHON) and os.access(QGIS_PYTHON, os.X_OK)):
        return f"no system python at {QGIS_PYTHON} (QGIS tests need Debian's python3-qgis)"
    with tempfile.TemporaryDirectory(prefix="spatialprog-qgis-probe-") as tmp:
        probe = Path(tmp) / "probe.py"
        probe.write_text(_PROBE)
        try:
            res = run_qgis_script(probe, timeout_s=120)
        except subprocess.TimeoutExpired:
            return "PyQGIS probe timed out after 120 s"
    if res.returncode != 0 or not isinstance(res.data, dict):
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named 'qgis'" in res.stderr:
            return "python3-qgis not installed (run: bash .ci/install-clients.sh)"
        return f"PyQGIS probe failed (rc {res.returncode}): {tail}"
    if not res.data.get("ogr"):
        return "QGIS has no 'ogr' data provider (qgis-providers missing?)"
    return None


def qgis_version() -> str | None:
    """QGIS version string, or ``None`` when unavailable."""
    if qgis_available():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "v.py"
        p.write_text("from qgis.core import Qgis\nprint(Qgis.version())\n")
        res = run_qgis_script(p, timeout_s=60)
    return (
        res.stdout.strip().splitlines()[-1] if res.returncode == 0 and res.stdout.strip() else None
    )
