"""PostgreSQL + PostGIS at both edges: one way to connect, one way to fail, reading a layer.

A layer of the project file may live in a database instead of a file::

    [layers.substations]
    path = "postgresql://planner@db.example.nl:5432/plan"   # or path = "env:PLAN_DB"
    table = "netbeheer.onderstations"                        # or sql = "SELECT ... FROM ..."

``path`` is a ``postgresql://`` URL (libpq's form) or ``env:NAME``, the URL in
the environment variable ``NAME``, so that no password needs to be in the
project file. libpq's own ways work as well: ``PGPASSWORD``, ``~/.pgpass``
and service files (``postgresql://?service=plan``).

:func:`connect` is the one way to connect, used by reading
(:func:`read_postgis`) and by the export (:mod:`spatialprog.export.postgis`):
psycopg missing, a server that does not answer and every database error
become one line of the given :mod:`spatialprog.errors` class, naming the layer
or option and the fix, with the password masked (:func:`mask_url`).

:func:`read_postgis` returns the table or query as it is in the database (its
own column names, geometry in its SRID); :func:`spatialprog.layers.read_layer`
then maps, coerces, validates and transforms it exactly as it does a file.
Reading a table follows its primary key (a stable row order); a query keeps
its own ``ORDER BY``. The bbox of check-site becomes ``geom && ST_MakeEnvelope(...)``
in the geometry column's SRID, so the database's spatial index does the work.

Needs psycopg 3 (``pip install "spatialprog[postgis]"``), imported lazily.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .errors import CRSError, LayerReadError, SpatialprogError, shorten, show

if TYPE_CHECKING:
    import psycopg

__all__ = ["URL_SCHEMES", "ENV_PREFIX", "INSTALL_HINT", "is_database", "mask_url", "masked", "resolve_url", "connect",
           "read_postgis"]

#: what makes a layer's ``path`` a database
URL_SCHEMES = ("postgresql://", "postgres://")
#: ``path = "env:PLAN_DB"``: the URL is in the environment variable PLAN_DB
ENV_PREFIX = "env:"
INSTALL_HINT = 'install it with: pip install "spatialprog[postgis]" (or pip install "psycopg[binary]")'
#: seconds to wait for the server to answer
CONNECT_TIMEOUT_S = 10
_MASK = "***"


def is_database(path: object) -> bool:
    """Whether a layer's ``path`` names a database (a ``postgresql://`` URL or ``env:NAME``).

    Examples
    --------
    >>> is_database("postgresql://planner@db/plan"), is_database("env:PLAN_DB"), is_database("plan.gpkg")
    (True, True, False)
    """
    return isinstance(path, str) and path.strip().lower().startswith((*URL_SCHEMES, ENV_PREFIX))


def _passwords(url: str) -> set[str]:
    """The password of a URL (user info or ``?password=``) as written and decoded; empty without one."""
    try:
        parts = urlsplit(url)
        found = {parts.password or "", *(v for k, v in parse_qsl(parts.query) if k == "password")}
    except ValueError:
        return set()
    return {f for raw in found if raw for f in (raw, unquote(raw))}


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (user info and ``?password=``).

    Examples
    --------
    >>> mask_url("postgresql://planner:geheim@db.example.nl:5432/plan?sslmode=require&password=geheim")
    'postgresql://planner:***@db.example.nl:5432/plan?sslmode=require&password=***'
    >>> mask_url("env:PLAN_DB")
    'env:PLAN_DB'
    """
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)@(.*)$", url, flags=re.S)
    if m and ":" in m.group(2):
        url = f"{m.group(1)}{m.group(2).split(':', 1)[0]}:{_MASK}@{m.group(3)}"
    return re.sub(r"([?&]password=)[^&#]*", rf"\g<1>{_MASK}", url)


def masked(text: str, url: str) -> str:
    """``text`` (an error message) with the URL masked and its password nowhere in it.

    Examples
    --------
    >>> masked('invalid percent-encoded token: "ge%zzheim"', "postgresql://planner:ge%zzheim@db/plan")
    'invalid percent-encoded token: "***"'
    """
    text = text.replace(url, mask_url(url))
    for pw in sorted(_passwords(url), key=len, reverse=True):
        # a password that is also part of the rest of the URL (user 'postgres', password 'postgres') cannot be told
        # apart from it in a message; the URL itself is masked all the same
        if len(pw) >= 3 and pw not in mask_url(url):
            text = text.replace(pw, _MASK)
    return text


def resolve_url(ref: str, *, who: str, error: type[SpatialprogError] = LayerReadError) -> str:
    """The connection URL of ``ref``: the URL itself, or for ``env:NAME`` the variable's value.

    Raises
    ------
    SpatialprogError
        Of class ``error``, when the variable is not set or does not hold a ``postgresql://`` URL.
    """
    ref = ref.strip()
    if not ref.lower().startswith(ENV_PREFIX):
        return ref
    name = ref[len(ENV_PREFIX):].strip()
    value = os.environ.get(name, "").strip()
    if not name:
        raise error(f"{who}: {show(ref)} names no environment variable - write env:NAME, e.g. env:PLAN_DB")
    if not value:
        raise error(f"{who}: the environment variable {name} is not set - set it to the connection URL "
                    f"(export {name}=postgresql://user@host:5432/database) or give the URL in 'path'")
    if not value.lower().startswith(URL_SCHEMES):
        raise error(f"{who}: the environment variable {name} holds {show(mask_url(value))}, not a postgresql:// "
                    f"URL - set it to postgresql://user@host:5432/database")
    return value


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return shorten(lines[0] if lines else type(e).__name__, 300)


@contextmanager
def connect(ref: str, *, who: str, error: type[SpatialprogError], fix: str = "check the query and the database",
            read_only: bool = False) -> Iterator[psycopg.Connection]:
    """Connect to PostgreSQL, in one transaction; every failure one masked line.

    Parameters
    ----------
    ref : str
        A ``postgresql://`` URL or ``env:NAME`` (:func:`resolve_url`).
    who : str
        Where the connection is asked for, starting each message
        (``layers.substations``, ``--postgis``).
    error : type
        The :class:`~spatialprog.errors.SpatialprogError` subclass to raise
        (``LayerReadError`` when reading, ``OutputError`` when writing).
    fix : str
        How to fix a database error raised inside the ``with`` block.
    read_only : bool
        A read-only transaction (reading a layer: a query in the project file
        can change nothing).

    Yields
    ------
    psycopg.Connection
        Committed when the block ends, rolled back when it raises: a failed
        write leaves the database as it was.

    Raises
    ------
    SpatialprogError
        Of class ``error``: psycopg is missing, the server does not answer or
        refuses, or a statement in the block failed.
    """
    url = resolve_url(ref, who=who, error=error)
    try:
        import psycopg
    except ImportError:
        raise error(f"{who}: PostgreSQL needs psycopg 3 - {INSTALL_HINT}") from None
    try:
        con = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, application_name="spatialprog")
    except psycopg.Error as e:
        raise error(f"{who}: cannot connect to {mask_url(url)}: {masked(_first_line(e), url)} - check host, port, "
                    f"database and user in the URL (the password may come from PGPASSWORD or ~/.pgpass)") from None
    try:
        with con:
            con.read_only = read_only
            yield con
    except psycopg.Error as e:
        raise error(f"{who}: {masked(_first_line(e), url)} - {fix}") from None


# --------------------------------------------------------------------------------------
# reading a layer

#: PostgreSQL types read as a file's fields are (numeric -> float, dates -> ISO text)
_NUMERIC, _DATES = 1700, {1082, 1114, 1184}


def read_postgis(ref: str, *, label: str, table: str | None = None, sql: str | None = None,
                 bbox: Callable[[CRS | None], tuple[float, float, float, float]] | None = None,
                 declared_crs: str | None = None) -> gpd.GeoDataFrame:
    """Read one table or query from PostGIS, as it is in the database.

    Parameters
    ----------
    ref : str
        A ``postgresql://`` URL or ``env:NAME``.
    label : str
        The layer in messages (``layers.substations``).
    table, sql : str
        Exactly one: a table or view (``schema.table``; without a schema, the
        search path), or a query returning one geometry column.
    bbox : callable, optional
        Given the geometry column's CRS, the box to read in it; only features
        whose box meets it are read (``&&``, the spatial index).
    declared_crs : str, optional
        The layer's ``crs`` from the project file: used where the geometry
        column has no SRID.

    Returns
    -------
    GeoDataFrame
        The database's columns and ``geometry``, in the column's CRS (None
        when it has no SRID and ``declared_crs`` is given: the caller sets it).

    Raises
    ------
    LayerReadError
        Cannot connect, no such table, a failed query, no (or several)
        geometry columns, mixed SRIDs.
    CRSError
        The geometry column has no SRID and the project file declares no ``crs``.
    """
    if (table is None) == (sql is None):
        raise LayerReadError(f"{label}: a database layer needs exactly one of 'table' or 'sql'")
    with connect(ref, who=label, error=LayerReadError, read_only=True,
                 fix="fix 'sql' in the project file" if sql else "check 'table' and your rights on it") as con:
        from psycopg import sql as q  # there: connect() said how to install it

        cur = con.cursor()
        geometry_oid = cur.execute("SELECT to_regtype('geometry')::oid").fetchone()[0]
        if geometry_oid is None:
            raise LayerReadError(f"{label}: database {show(con.info.dbname)} has no PostGIS - install it there "
                                 f"(CREATE EXTENSION postgis)")
        order = q.SQL("")
        if table is not None:
            schema, name, oid = _find_table(cur, table, label)
            source = q.Identifier(schema, name)
            what = f"table {schema}.{name}"
            geom, srid = _table_geometry(cur, schema, name, oid, label)
            pk = [r[0] for r in cur.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)", (oid,)).fetchall()]
            if pk:
                order = q.SQL(" ORDER BY {}").format(q.SQL(", ").join(q.Identifier(c) for c in pk))
        else:
            text = sql.strip().rstrip(";").strip()
            source = q.SQL("({}) AS q").format(q.SQL(text))
            what = "the query in 'sql'"
            cur.execute(q.SQL("SELECT * FROM {} LIMIT 0").format(source))
            geoms = [d.name for d in cur.description if d.type_code == geometry_oid]
            geom = _one_geometry(geoms, [d.name for d in cur.description], label, what)
            srid = 0
        if srid == 0:  # a column without a declared SRID (or a query): the SRID the values carry
            row = cur.execute(q.SQL("SELECT ST_SRID({g}) FROM {s} WHERE {g} IS NOT NULL LIMIT 1").format(
                g=q.Identifier(geom), s=source)).fetchone()
            srid = int(row[0]) if row else 0
        crs = _srid_crs(cur, srid, label, what, declared_crs)
        query = q.SQL("SELECT * FROM {}").format(source)
        if bbox is not None:
            xmin, ymin, xmax, ymax = (float(v) for v in bbox(crs if crs is not None else CRS.from_user_input(
                declared_crs)))
            query = q.SQL("SELECT * FROM {s} WHERE {g} && ST_MakeEnvelope({a}, {b}, {c}, {d}, {srid})").format(
                s=source, g=q.Identifier(geom), a=q.Literal(xmin), b=q.Literal(ymin), c=q.Literal(xmax),
                d=q.Literal(ymax), srid=q.Literal(srid))
        cur.execute(query + order)
        names = [d.name for d in cur.description]
        types = [d.type_code for d in cur.description]
        rows = cur.fetchall()
    return _frame(rows, names, types, geom, crs, srid, label, what)


def _find_table(cur, table: str, label: str) -> tuple[str, str, int]:
    """(schema, name, oid) of a table or view named as in SQL (``schema.table``, quoted or not)."""
    from psycopg import errors

    try:
        row = cur.execute("SELECT n.nspname, c.relname, c.oid::int FROM pg_class c JOIN pg_namespace n ON "
                          "n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)", (table,)).fetchone()
    except errors.Error as e:  # an improper name ('a.b.c.d')
        raise LayerReadError(f"{label}: {show(table)} is not a table name ({_first_line(e)}) - write "
                             f"table = \"schema.table\"") from None
    if row is None:
        known = [f"{s}.{t}" for s, t in cur.execute(
            "SELECT f_table_schema, f_table_name FROM geometry_columns WHERE f_table_schema NOT IN "
            "('pg_catalog', 'information_schema', 'topology', 'tiger') ORDER BY 1, 2 LIMIT 21").fetchall()]
        listing = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
        raise LayerReadError(f"{label}: table {show(table)} does not exist in database {show(cur.connection.info.dbname)} "
                             f"(or you may not read it) - fix 'table' in the project file; tables with geometry "
                             f"there: {listing}")
    return str(row[0]), str(row[1]), int(row[2])


def _table_geometry(cur, schema: str, name: str, oid: int, label: str) -> tuple[str, int]:
    """The geometry column of a table and its declared SRID (0 when none is declared)."""
    rows = cur.execute("SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = %s AND "
                       "f_table_name = %s ORDER BY f_geometry_column", (schema, name)).fetchall()
    cols = [r[0] for r in cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT "
                                      "attisdropped ORDER BY attnum", (oid,)).fetchall()]
    geom = _one_geometry([r[0] for r in rows], cols, label, f"table {schema}.{name}")
    return geom, int(dict(rows)[geom] or 0)


def _one_geometry(geoms: list[str], columns: list[str], label: str, what: str) -> str:
    """The one geometry column, or a line saying how to choose or make one."""
    if len(geoms) == 1:
        return geoms[0]
    if geoms:
        raise LayerReadError(f"{label}: {what} has {len(geoms)} geometry columns ({', '.join(geoms)}) - read one "
                             f"with sql = \"SELECT <columns>, {geoms[0]} FROM ...\"")
    raise LayerReadError(f"{label}: {what} has no geometry column (it has: {shorten(', '.join(columns), 200)}) - "
                         f"read a table with one, or make one in sql = \"SELECT *, ST_SetSRID(ST_MakePoint(x, y), "
                         f"28992) AS geom FROM ...\" (a geography column: geog::geometry AS geom)")


def _srid_crs(cur, srid: int, label: str, what: str, declared_crs: str | None) -> CRS | None:
    """The CRS of an SRID (from spatial_ref_sys), None for 0 with a declared crs; else one line."""
    if srid == 0:
        if declared_crs:
            return None
        raise CRSError(f"{label}: the geometry of {what} has no SRID - set it in the database (SELECT "
                       f"UpdateGeometrySRID('schema', 'table', 'geom', 28992)), use ST_SetSRID(geom, 28992) in "
                       f"'sql', or add crs = \"EPSG:28992\" (the right code) to [{label}] in the project file")
    row = cur.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", (srid,)).fetchone()
    try:
        if row and row[0] and row[1]:
            return CRS.from_authority(row[0], int(row[1]))
        if row and row[2]:
            return CRS.from_wkt(row[2])
        return CRS.from_epsg(srid)
    except Exception:
        raise CRSError(f"{label}: SRID {srid} of {what} is not a CRS pyproj knows - transform the geometry to "
                       f"EPSG:28992 (ST_Transform(geom, 28992) in 'sql') or add crs = \"EPSG:...\" to [{label}]") from None


def _frame(rows: list[tuple], names: list[str], types: list[int], geom: str, crs: CRS | None, srid: int,
           label: str, what: str) -> gpd.GeoDataFrame:
    """Rows as a GeoDataFrame with the values a GDAL read gives (numeric as float, dates as ISO text)."""
    gi = names.index(geom)
    cols: dict[str, Any] = {}
    for j, (name, t) in enumerate(zip(names, types, strict=True)):
        if j == gi or name in cols:
            continue
        vals = [r[j] for r in rows]
        if t == _NUMERIC:
            cols[name] = pd.Series([np.nan if v is None else float(v) for v in vals], dtype=float)
        elif t in _DATES:
            cols[name] = pd.Series([None if v is None else v.isoformat() for v in vals], dtype=object)
        else:
            cols[name] = pd.Series(vals) if vals else pd.Series([], dtype=object)
    # the geometry as PostgreSQL sends it: hex EWKB, with each value's SRID
    wkb = np.array([r[gi] for r in rows], dtype=object)
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    have = shapely.get_srid(geoms[~shapely.is_missing(geoms)]) if len(geoms) else np.array([], dtype=int)
    other = sorted({int(s) for s in have} - {srid})
    if other:
        raise LayerReadError(f"{label}: the geometry of {what} is in SRID {srid} and also in SRID "
                             f"{', '.join(map(str, other[:5]))} - give all one SRID (ST_Transform(geom, {srid}))")
    out = gpd.GeoDataFrame(pd.DataFrame(cols, index=pd.RangeIndex(len(rows))),
                           geometry=gpd.GeoSeries(geoms, index=pd.RangeIndex(len(rows))), crs=crs)
    return out
