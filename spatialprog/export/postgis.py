"""The same export into PostgreSQL + PostGIS, with styles and the QGIS project in the database.

Every layer and table of :func:`spatialprog.export.export_layers` becomes a
table in one schema (default ``spatialprog``): a ``fid`` primary key (QGIS
needs one), the fields, and ``geom geometry(<type>, 28992)`` with a GiST
index; title and abstract as the table comment. The default styles go into
``public.layer_styles`` with the DDL QGIS itself uses for PostgreSQL
(``QgsPostgresProvider``), keyed by database, schema, table and geometry
column, so a layer added from the database in QGIS comes up styled.

The QGIS project is stored the way QGIS stores one in PostgreSQL
(``QgsPostgresProjectStorage``): a row of ``<schema>.qgis_projects(name TEXT
PRIMARY KEY, metadata JSONB, content BYTEA)`` whose ``content`` is the
``.qgz`` bytes and ``metadata`` ``{"last_modified_time", "last_modified_user"}``.
Its layers use the ``postgres`` provider (``dbname='..' host=.. port=..
user='..' key='fid' srid=28992 type=.. table="schema"."name" (geom)``), with
no password: QGIS takes it from PGPASSWORD, ~/.pgpass or a service file, or
asks. Open it in QGIS with Project > Open From > PostgreSQL, or the URI
``postgresql://user@host:5432?dbname=DB&schema=SCHEMA&project=spatialprog``.
Rasters (the siting surfaces) are files: they stay in the GeoPackage's project.

Everything is written in one transaction (:func:`spatialprog.database.connect`):
a failed write leaves the previous results as they were.

Needs psycopg 3 (``pip install "spatialprog[postgis]"``), imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..database import connect
from ..errors import OutputError
from .catalog import ExportLayer
from .qgis_project import project_timestamp, project_titles, project_xml, qgz_bytes
from .qml import LayerStyle, style_qml
from .styled import export_layers

if TYPE_CHECKING:
    from ..outputs import RunOutputs

__all__ = ["export_postgis", "copy_table", "qgis_datasource", "PG_LAYER_STYLES_DDL", "PG_QGIS_PROJECTS_DDL"]

#: layer_styles as QGIS 3.22 creates it in PostgreSQL (QgsPostgresProvider::saveStyle)
PG_LAYER_STYLES_DDL = (
    "CREATE TABLE IF NOT EXISTS public.layer_styles(id SERIAL PRIMARY KEY, f_table_catalog varchar, "
    "f_table_schema varchar, f_table_name varchar, f_geometry_column varchar, styleName text, styleQML xml, "
    "styleSLD xml, useAsDefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
    "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)"
)
#: qgis_projects as QGIS 3.22 creates it in a schema (QgsPostgresProjectStorage::writeProject)
PG_QGIS_PROJECTS_DDL = "CREATE TABLE IF NOT EXISTS {}.qgis_projects(name TEXT PRIMARY KEY, metadata JSONB, content BYTEA)"


def _pg_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "bigint"
    if pd.api.types.is_float_dtype(s):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "timestamp"
    return "text"


def _value(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating) and not np.isfinite(v):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_table(cur, schema: str, name: str, data: pd.DataFrame, *, geometry_type: str | None = None,
               srid: int = 28992) -> None:
    """Create ``schema.name`` (``fid`` key, the columns, ``geom``) and COPY ``data`` into it.

    Parameters
    ----------
    cur : psycopg.Cursor
    schema, name : str
    data : DataFrame or GeoDataFrame
        With a ``geometry`` column (in ``srid``) when ``geometry_type`` is given.
    geometry_type : str, optional
        ``Point``, ``MultiPolygon``, ...; None for a table without geometry.
    srid : int
        The SRID of the geometry column.
    """
    table = f"{_ident(schema)}.{_ident(name)}"
    cols = [c for c in data.columns if c != "geometry"]
    defs = ["fid bigserial PRIMARY KEY", *(f"{_ident(c)} {_pg_type(data[c])}" for c in cols)]
    if geometry_type:
        defs.append(f"geom geometry({geometry_type}, {int(srid)})")
    cur.execute(f"CREATE TABLE {table} ({', '.join(defs)})")
    names = [*(_ident(c) for c in cols), *(["geom"] if geometry_type else [])]
    with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as cp:
        wkb = (shapely.to_wkb(np.asarray(data.geometry.values), hex=True, include_srid=False)
               if geometry_type else None)
        for i, row in enumerate(data[cols].itertuples(index=False, name=None)):
            vals = [_value(v) for v in row]
            if wkb is not None:
                vals.append(None if wkb[i] is None else f"SRID={int(srid)};{wkb[i]}")
            cp.write_row(vals)
    if geometry_type:
        cur.execute(f"CREATE INDEX ON {table} USING gist (geom)")


def _quoted(v: object) -> str:
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _conninfo_text(con) -> str:
    """The connection as QGIS writes it in a datasource (``dbname='..' host=.. port=.. user='..'``), no password."""
    info = con.info
    params = info.get_parameters()
    parts = [f"service={_quoted(params['service'])}"] if params.get("service") else []
    parts += [f"dbname={_quoted(info.dbname)}", f"host={info.host}", f"port={info.port}", f"user={_quoted(info.user)}"]
    if params.get("sslmode"):
        parts.append(f"sslmode={params['sslmode']}")
    return " ".join(parts)


def qgis_datasource(conninfo: str, schema: str, layer: ExportLayer) -> tuple[str, str]:
    """(datasource, provider) of one exported table for QGIS's ``postgres`` provider.

    Examples
    --------
    >>> lyr = ExportLayer(name="substations", title="Onderstations", abstract="", group="results", data=None,
    ...                   geometry_type="Point")
    >>> print(qgis_datasource("dbname='plan' host=db port=5432 user='planner'", "spatialprog", lyr)[0])
    dbname='plan' host=db port=5432 user='planner' key='fid' srid=28992 type=Point checkPrimaryKeyUnicity='1' table="spatialprog"."substations" (geom)
    """
    table = f"{_ident(schema)}.{_ident(layer.name)}"
    if layer.is_spatial:
        return (f"{conninfo} key='fid' srid=28992 type={layer.geometry_type} checkPrimaryKeyUnicity='1' "
                f"table={table} (geom)", "postgres")
    return f"{conninfo} key='fid' checkPrimaryKeyUnicity='1' table={table}", "postgres"


def _write_project(cur, styled: list[tuple[ExportLayer, LayerStyle]], schema: str, name: str, manifest: dict) -> None:
    """The QGIS project over the written tables, as a row of ``schema.qgis_projects`` (QGIS's own storage)."""
    title, history = project_titles(manifest)
    conninfo = _conninfo_text(cur.connection)
    saved = project_timestamp(manifest).replace(".000Z", "")
    xml = project_xml(styled, None, title=title, history=history, save_datetime=saved,
                      datasource=lambda layer: qgis_datasource(conninfo, schema, layer))
    cur.execute(PG_QGIS_PROJECTS_DDL.format(_ident(schema)))
    cur.execute(f"INSERT INTO {_ident(schema)}.qgis_projects (name, metadata, content) VALUES (%s, "
                "jsonb_build_object('last_modified_time', %s::text, 'last_modified_user', current_user::text), %s) "
                "ON CONFLICT (name) DO UPDATE SET metadata = EXCLUDED.metadata, content = EXCLUDED.content",
                (name, saved, qgz_bytes(xml, f"{name}.qgs")))


def export_postgis(outputs: RunOutputs, dsn: str, *, schema: str = "spatialprog",
                   inputs: Mapping[str, gpd.GeoDataFrame] | None = None, replace: bool = True,
                   project: str = "spatialprog") -> list[str]:
    """Write the export's layers, tables, default styles and QGIS project to PostGIS.

    Parameters
    ----------
    outputs : RunOutputs
    dsn : str
        libpq connection URL (``postgresql://user:pw@host:5432/db``) or
        ``env:NAME``, the URL in the environment variable NAME.
    schema : str
        Target schema (created when missing).
    inputs : dict of str -> GeoDataFrame, optional
        Validated input layers, as for :func:`spatialprog.export.export_qgis`.
    replace : bool
        Drop tables of the same name first (else an existing table is an error).
    project : str
        The name of the QGIS project in ``schema.qgis_projects`` (replaced).

    Returns
    -------
    list of str
        The tables written (``schema.table``).

    Raises
    ------
    OutputError
        When psycopg is missing or the database cannot be written. Everything
        is written in one transaction: on failure nothing is changed.
    """
    styled = export_layers(outputs, inputs=inputs)
    written = []
    with connect(dsn, who="--postgis", error=OutputError,
                 fix="check the connection URL, your rights on the schema and that PostGIS is installed "
                     "(CREATE EXTENSION postgis)") as con, con.cursor() as cur:
        from psycopg import sql

        catalog = cur.execute("SELECT current_database()").fetchone()[0]
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        cur.execute(PG_LAYER_STYLES_DDL)
        for layer, style in styled:
            if replace:
                cur.execute(f"DROP TABLE IF EXISTS {_ident(schema)}.{_ident(layer.name)} CASCADE")
            copy_table(cur, schema, layer.name, layer.data,
                       geometry_type=layer.geometry_type if layer.is_spatial else None)
            cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(schema, layer.name), sql.Literal(f"{layer.title}. {layer.abstract}")))
            geom_col = "geom" if layer.is_spatial else None  # QGIS matches "IS NULL" for tables
            cur.execute("DELETE FROM public.layer_styles WHERE f_table_catalog = %s AND f_table_schema = %s "
                        "AND f_table_name = %s AND f_geometry_column IS NOT DISTINCT FROM %s",
                        (catalog, schema, layer.name, geom_col))
            cur.execute(
                "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, ui, type) "
                "VALUES (%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), NULL, true, %s, NULL, NULL)",
                (catalog, schema, layer.name, geom_col, f"spatialprog {layer.name}",
                 style_qml(style).split("\n", 1)[1], f"{layer.title}: default style written by spatialprog"))
            written.append(f"{schema}.{layer.name}")
        _write_project(cur, styled, schema, project, outputs.manifest)
    return written
