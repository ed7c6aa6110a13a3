"""The PostGIS server for client tests: ``SPATIALPROG_TEST_PG`` from ``.ci/start-postgis.sh``.

    skip_if_missing(postgis_skip_reason())
    dsn = postgis_dsn()          # postgresql://postgres:postgres@127.0.0.1:5432/spatialprog_test

The check connects and runs ``SELECT postgis_lib_version()`` with, in this order,
psycopg 3, psycopg2, or the ``psql`` command-line client -- whichever is installed --
so this module adds no dependency.  GDAL takes the same URL: ``PG:<dsn>``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

ENV_VAR = "SPATIALPROG_TEST_PG"
_QUERY = "SELECT postgis_lib_version()"


def _describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _check(dsn: str, timeout_s: int = 5) -> tuple[str | None, str | None]:
    """(postgis_version, None) when ``dsn`` answers with PostGIS, else (None, reason)."""
    try:
        import psycopg  # type: ignore[import-not-found]
    except ImportError:
        psycopg = None
    if psycopg is not None:
        try:
            with psycopg.connect(dsn, connect_timeout=timeout_s) as conn:
                row = conn.execute(_QUERY).fetchone()
            return (str(row[0]) if row else None), None
        except Exception as exc:  # noqa: BLE001 -- any failure is a skip reason
            return None, _describe(exc)
    try:
        import psycopg2  # type: ignore[import-not-found]
    except ImportError:
        psycopg2 = None
    if psycopg2 is not None:
        try:
            conn = psycopg2.connect(dsn, connect_timeout=timeout_s)
            try:
                with conn.cursor() as cur:
                    cur.execute(_QUERY)
                    row = cur.fetchone()
            finally:
                conn.close()
            return (str(row[0]) if row else None), None
        except Exception as exc:  # noqa: BLE001
            return None, _describe(exc)
    psql = shutil.which("psql")
    if psql is None:
        return None, "neither psycopg, psycopg2 nor psql is available to check the server"
    env = dict(os.environ, PGCONNECT_TIMEOUT=str(timeout_s))
    try:
        proc = subprocess.run(
            [psql, "-X", "-q", "-tA", "-d", dsn, "-c", _QUERY],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s + 10,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "psql timed out"
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or [f"psql exit {proc.returncode}"])[-1]
    return proc.stdout.strip() or None, None


@functools.cache
def _status(dsn: str) -> tuple[str | None, str | None]:
    return _check(dsn)


def postgis_skip_reason() -> str | None:
    """``None`` when ``$SPATIALPROG_TEST_PG`` answers with PostGIS, else why not (skip reason)."""
    dsn = os.environ.get(ENV_VAR, "").strip()
    if not dsn:
        return f"{ENV_VAR} not set (start a server with: source .ci/start-postgis.sh)"
    version, reason = _status(dsn)
    if reason:
        return f"PostGIS at {ENV_VAR} not reachable: {reason}"
    if not version:
        return f"{ENV_VAR} answers but PostGIS is not installed in that database"
    return None


def postgis_dsn() -> str | None:
    """The connection URL from ``$SPATIALPROG_TEST_PG`` if it connects and has PostGIS, else None."""
    if postgis_skip_reason() is not None:
        return None
    return os.environ[ENV_VAR].strip()


def postgis_version() -> str | None:
    dsn = postgis_dsn()
    return _status(dsn)[0] if dsn else None


def ogr_pg(dsn: str) -> str:
    """The same server as a GDAL/OGR data source name (``ogr2ogr -f PostgreSQL <this> ...``)."""
    return f"PG:{dsn}"
