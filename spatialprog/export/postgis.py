"""The same export into PostgreSQL + PostGIS, with styles in PostGIS's ``layer_styles``.

Every layer and table of :func:`spatialprog.export.export_layers` becomes a
table in one schema (default ``spatialprog``): a ``fid`` primary key (QGIS
needs one), the fields, and ``geom geometry(<type>, 28992)`` with a GiST
index; title and abstract as the table comment. The default styles go into
``public.layer_styles`` with the DDL QGIS itself uses for PostgreSQL
(``QgsPostgresProvider``), keyed by database, schema, table and geometry
column, so a layer added from the database in QGIS comes up styled.

Needs psycopg 3 (``pip install "psycopg[binary]"``), imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import OutputError
from .qml import style_qml
from .styled import export_layers

if TYPE_CHECKING:
    from ..outputs import RunOutputs

__all__ = ["export_postgis", "PG_LAYER_STYLES_DDL"]

#: layer_styles as QGIS 3.22 creates it in PostgreSQL (QgsPostgresProvider::saveStyle)
PG_LAYER_STYLES_DDL = (
    "CREATE TABLE IF NOT EXISTS public.layer_styles(id SERIAL PRIMARY KEY, f_table_catalog varchar, "
    "f_table_schema varchar, f_table_name varchar, f_geometry_column varchar, styleName text, styleQML xml, "
    "styleSLD xml, useAsDefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
    "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)"
)


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


def export_postgis(outputs: RunOutputs, dsn: str, *, schema: str = "spatialprog",
                   inputs: Mapping[str, gpd.GeoDataFrame] | None = None, replace: bool = True) -> list[str]:
    """Write the export's layers, tables and default styles to PostGIS.

    Parameters
    ----------
    outputs : RunOutputs
    dsn : str
        libpq connection string or URL (``postgresql://user:pw@host:5432/db``).
    schema : str
        Target schema (created when missing).
    inputs : dict of str -> GeoDataFrame, optional
        Validated input layers, as for :func:`spatialprog.export.export_qgis`.
    replace : bool
        Drop tables of the same name first (else an existing table is an error).

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
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise OutputError("--postgis needs psycopg 3 - install it with: pip install \"psycopg[binary]\"") from None

    styled = export_layers(outputs, inputs=inputs)
    written = []
    try:
        with psycopg.connect(dsn, connect_timeout=10) as con, con.cursor() as cur:
            cur.execute("SELECT current_database()")
            catalog = cur.fetchone()[0]
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
            cur.execute(PG_LAYER_STYLES_DDL)
            for layer, style in styled:
                table = f"{_ident(schema)}.{_ident(layer.name)}"
                if replace:
                    cur.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
                cols = [c for c in layer.data.columns if c != "geometry"]
                defs = ["fid bigserial PRIMARY KEY", *(f"{_ident(c)} {_pg_type(layer.data[c])}" for c in cols)]
                if layer.is_spatial:
                    defs.append(f"geom geometry({layer.geometry_type}, 28992)")
                cur.execute(f"CREATE TABLE {table} ({', '.join(defs)})")
                names = [*(_ident(c) for c in cols), *(["geom"] if layer.is_spatial else [])]
                with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as cp:
                    wkb = (shapely.to_wkb(np.asarray(layer.data.geometry.values), hex=True, include_srid=False)
                           if layer.is_spatial else None)
                    for i, row in enumerate(layer.data[cols].itertuples(index=False, name=None)):
                        vals = [_value(v) for v in row]
                        if wkb is not None:
                            vals.append(None if wkb[i] is None else f"SRID=28992;{wkb[i]}")
                        cp.write_row(vals)
                if layer.is_spatial:
                    cur.execute(f"CREATE INDEX ON {table} USING gist (geom)")
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
    except psycopg.Error as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise OutputError(f"--postgis: {first} - check the connection string and that PostGIS is installed "
                          f"(CREATE EXTENSION postgis)") from None
    return written
