"""Writing the GeoPackage: layers, metadata, ``layer_styles`` and ``qgis_projects``.

Layers are written with pyogrio through Arrow as GeoPackage 1.2 (``VERSION=1.2``:
QGIS 3.22 with GDAL 3.6 warns on 1.4), with their title and abstract as the
gpkg_contents ``identifier`` and ``description``. An input layer whose rows a
result layer carries (:func:`same_rows`) is a spatial view over that layer
(:func:`write_view`), so its geometry is stored once. The two QGIS tables are
then added with plain SQLite, exactly as QGIS creates them:

``layer_styles``
    The DDL QGIS's OGR provider uses (``QgsOgrProviderUtils``), registered in
    gpkg_contents as ``attributes``; one default style (``useAsDefault = 1``)
    per table, ``f_table_catalog`` and ``f_table_schema`` the empty string
    (QGIS ignores rows where they are NULL), ``f_geometry_column`` ``geom``
    (empty for attribute tables).
``qgis_projects``
    ``name TEXT PRIMARY KEY, metadata BLOB, content BLOB``: ``content`` holds
    the ``.qgz`` bytes **hex-encoded as text**, as QGIS's
    ``QgsGeoPackageProjectStorage`` writes and reads them; ``metadata`` a small
    JSON object with the modification time and user.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from .catalog import ExportLayer

__all__ = ["GEOMETRY_COLUMN", "LAYER_STYLES_DDL", "LAYER_STYLES_COLUMNS", "QGIS_PROJECTS_DDL", "write_layer",
           "same_rows", "write_view", "add_styles", "add_project", "set_last_change", "finish", "fast_sqlite", "fsync"]

GEOMETRY_COLUMN = "geom"

#: the layer_styles table as QGIS 3.22 creates it in a GeoPackage (column names and types)
LAYER_STYLES_DDL = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), '
    '"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)

#: (name, declared type) of layer_styles, as ``PRAGMA table_info`` shows it for a table QGIS created
LAYER_STYLES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "INTEGER"), ("f_table_catalog", "TEXT(256)"), ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"), ("f_geometry_column", "TEXT(256)"), ("styleName", "TEXT(30)"),
    ("styleQML", "TEXT"), ("styleSLD", "TEXT"), ("useAsDefault", "BOOLEAN"), ("description", "TEXT"),
    ("owner", "TEXT(30)"), ("ui", "TEXT(30)"), ("update_time", "DATETIME"),
)

QGIS_PROJECTS_DDL = "CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)"


def write_layer(path: Path, layer: ExportLayer, *, first: bool) -> None:
    """Write one layer or table with pyogrio (GeoPackage 1.2, EPSG of the data).

    Written through Arrow (``use_arrow=True``: GDAL takes the columns as
    record batches instead of one Python call per feature); the rows, types
    and NULLs are the same as with the feature-by-feature path.
    """
    ds_opts = {"VERSION": "1.2"} if first else None
    lyr_opts = {"IDENTIFIER": layer.title, "DESCRIPTION": layer.abstract}
    if layer.is_spatial:
        lyr_opts["GEOMETRY_NAME"] = GEOMETRY_COLUMN
        pyogrio.write_dataframe(layer.data, path, layer=layer.name, driver="GPKG", promote_to_multi=False,
                                geometry_type=layer.geometry_type, dataset_options=ds_opts, layer_options=lyr_opts,
                                use_arrow=True)
    else:
        pyogrio.write_dataframe(layer.data, path, layer=layer.name, driver="GPKG", dataset_options=ds_opts,
                                layer_options=lyr_opts, use_arrow=True)


def _storage(dtype) -> str:
    """What GDAL stores a column of this dtype as: ``text``, or the numpy dtype of its values (masked or not)."""
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return "text"
    return np.dtype(getattr(dtype, "numpy_dtype", dtype)).name


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    """The same stored values: missing at the same rows, the others equal (numbers bit for bit)."""
    kind = _storage(a.dtype)
    if kind != _storage(b.dtype):
        return False
    ma, mb = a.isna().to_numpy(), b.isna().to_numpy()
    if not np.array_equal(ma, mb):
        return False
    if kind == "text":  # as Arrow strings (what write_layer hands GDAL); an object column of other values is not
        try:
            va, vb = (pa.array(x.to_numpy(dtype=object)[~m]) for x, m in ((a, ma), (b, mb)))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return False
        if not len(va):  # no values: the same only as the same dtype (an all-missing object column is no text)
            return a.dtype == b.dtype
        return va.type == vb.type == pa.string() and va.equals(vb)
    va = np.ascontiguousarray(a.to_numpy(dtype=kind, na_value=0)[~ma])
    vb = np.ascontiguousarray(b.to_numpy(dtype=kind, na_value=0)[~mb])
    return np.array_equal(va.view(np.uint8), vb.view(np.uint8))


def same_rows(layer: ExportLayer, base: ExportLayer) -> bool:
    """True when every row of ``layer`` is the row of ``base`` at the same position, on ``layer``'s columns.

    Same geometry type and number of rows; each of ``layer``'s fields in
    ``base``, stored the same way (text, or numbers of the same type: an
    input's ``Int64`` is a result's ``int64``) with the same values (missing
    at the same rows, numbers bit for bit); geometries identical
    (coordinates and their order). Then ``layer`` can be a view over
    ``base`` (:func:`write_view`): what QGIS and GDAL read is the same,
    stored once.
    """
    if not (layer.is_spatial and base.is_spatial and layer.geometry_type == base.geometry_type
            and len(layer.data) == len(base.data)):
        return False
    for c in layer.data.columns:
        if c != "geometry" and (c not in base.data.columns or not _same_values(layer.data[c], base.data[c])):
            return False
    ga, gb = np.asarray(layer.data.geometry.values), np.asarray(base.data.geometry.values)
    missing = shapely.is_missing(ga)
    return bool((missing == shapely.is_missing(gb)).all() and shapely.equals_identical(ga[~missing], gb[~missing]).all())


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_view(path: Path, layer: ExportLayer, base: ExportLayer) -> None:
    """Write ``layer`` as a spatial view over the written layer ``base`` (see :func:`same_rows`).

    ``SELECT fid, geom, <layer's fields> FROM base``, registered in
    gpkg_contents (title, abstract, the extent of ``base``) and
    gpkg_geometry_columns, as GDAL documents spatial views: GDAL and QGIS
    read it with the same fid, fields, features and extent as a table, and
    filter it through ``base``'s spatial index. Read-only in QGIS.
    """
    cols = ", ".join(_q(c) for c in ["fid", GEOMETRY_COLUMN, *(c for c in layer.data.columns if c != "geometry")])
    con = _connect(path)
    try:
        with con:
            con.execute(f"CREATE VIEW {_q(layer.name)} AS SELECT {cols} FROM {_q(base.name)}")
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, min_x, min_y, "
                "max_x, max_y, srs_id) SELECT ?, data_type, ?, ?, last_change, min_x, min_y, max_x, max_y, srs_id "
                "FROM gpkg_contents WHERE table_name = ?", (layer.name, layer.title, layer.abstract, base.name))
            con.execute(
                "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) "
                "SELECT ?, column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns "
                "WHERE table_name = ?", (layer.name, base.name))
    finally:
        con.close()


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that does not sync each commit to disk (the file is written as a temporary, fsynced once)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    return con


@contextmanager
def fast_sqlite() -> Iterator[None]:
    """Let GDAL write SQLite without a sync per transaction (the file is fsynced once, before its rename)."""
    old = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": old})


def fsync(path: Path) -> None:
    """Flush a file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_layer_styles(con: sqlite3.Connection, timestamp: str) -> None:
    exists = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='layer_styles'").fetchone()
    if exists:
        return
    con.execute(LAYER_STYLES_DDL)
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?, 0)", (timestamp,))
    if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='gpkg_ogr_contents'").fetchone():
        con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', 0)")


def add_styles(path: Path, styles: Iterable[tuple[str, bool, str, str, str]], *, timestamp: str) -> None:
    """Add default styles to ``layer_styles`` (created when missing).

    Parameters
    ----------
    path : Path
        The GeoPackage.
    styles : iterable of (table, spatial, style name, QML, description)
    timestamp : str
        ``update_time`` (ISO 8601, UTC), e.g. the run date.
    """
    con = _connect(path)
    try:
        with con:
            _ensure_layer_styles(con, timestamp)
            for table, spatial, name, qml, desc in styles:
                geom = GEOMETRY_COLUMN if spatial else ""
                con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND "
                            "f_geometry_column = ?", (table, geom))
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                    "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL, ?)",
                    (table, geom, name, qml, desc, timestamp))
            if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='gpkg_ogr_contents'").fetchone():
                con.execute("UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM layer_styles) "
                            "WHERE table_name = 'layer_styles'")
    finally:
        con.close()


def add_project(path: Path, name: str, qgz: bytes, *, timestamp: str, user: str = "spatialprog") -> None:
    """Store a ``.qgz`` in the ``qgis_projects`` table (replacing one of the same name)."""
    meta = json.dumps({"last_modified_time": timestamp, "last_modified_user": user})
    con = _connect(path)
    try:
        with con:
            con.execute(QGIS_PROJECTS_DDL)
            con.execute("INSERT OR REPLACE INTO qgis_projects (name, metadata, content) VALUES (?, ?, ?)",
                        (name, meta, qgz.hex()))
    finally:
        con.close()


def set_last_change(path: Path, timestamp: str) -> None:
    """Set gpkg_contents.last_change of every table to ``timestamp`` (the run date: reproducible files)."""
    con = _connect(path)
    try:
        with con:
            con.execute("UPDATE gpkg_contents SET last_change = ?", (timestamp,))
    finally:
        con.close()


#: the SQLite header's file change counter and its copy, version-valid-for (https://sqlite.org/fileformat.html)
_CHANGE_COUNTER_OFFSETS = (24, 92)


def finish(path: Path, timestamp: str) -> None:
    """Make the written GeoPackage reproducible in place, and flush it to disk.

    Sets gpkg_contents.last_change of every table to ``timestamp`` and the
    header's file change counter (with its copy, version-valid-for) to 1.
    The pages are already the same for the same layers (written in one
    order); only the counter, the number of write transactions GDAL made,
    varies from run to run. Compacting instead (``VACUUM INTO``, as
    :func:`spatialprog.writer.finish_geopackage` does) would copy the whole
    file once more (633 MB at national scale).

    Parameters
    ----------
    path : Path
        The GeoPackage; no connection to it may be open.
    timestamp : str
        GeoPackage timestamp (``YYYY-MM-DDTHH:MM:SS.sssZ``), the run date.
    """
    set_last_change(path, timestamp)
    with open(path, "r+b") as f:
        for offset in _CHANGE_COUNTER_OFFSETS:
            f.seek(offset)
            f.write(struct.pack(">I", 1))
    fsync(path)
