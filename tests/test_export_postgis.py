"""The export into a real PostgreSQL + PostGIS (``SPATIALPROG_TEST_PG``, from .ci/start-postgis.sh).

Skips with the reason when the server (or psycopg) is not available. When QGIS
is installed, the tables are also opened in QGIS from the database, to check
that each comes up with its default style from PostGIS's layer_styles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from spatialprog.export import export_postgis
from spatialprog.outputs import RunOutputs

from .clients import skip_if_missing
from .clients.postgis import postgis_dsn, postgis_skip_reason
from .clients.qgis_runner import qgis_available, run_qgis_script

pytestmark = pytest.mark.client
SCHEMA = "spatialprog_test_export"
SCRIPT = Path(__file__).resolve().parent / "pyqgis_scripts" / "check_postgis.py"


@pytest.fixture(scope="module")
def pg():
    skip_if_missing(postgis_skip_reason())
    dsn = postgis_dsn()
    with psycopg.connect(dsn) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    yield dsn
    with psycopg.connect(dsn) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        con.execute("DELETE FROM public.layer_styles WHERE f_table_schema = %s", (SCHEMA,))


@pytest.fixture(scope="module")
def written(pg, example_result):
    dsn = pg
    outputs = RunOutputs.from_result(example_result, run_date=datetime(2026, 3, 1, 12, tzinfo=UTC))
    inputs = example_result.plan.layers
    export_postgis(outputs, dsn, schema=SCHEMA, inputs=inputs)
    return export_postgis(outputs, dsn, schema=SCHEMA, inputs=inputs)  # twice: replaces, no duplicates


def test_tables_and_feature_counts(pg, written, example_result):
    dsn = pg
    assert f"{SCHEMA}.substations" in written and f"{SCHEMA}.generation_areas" in written
    with psycopg.connect(dsn) as con:
        n = con.execute(f"SELECT count(*) FROM {SCHEMA}.housing_sites").fetchone()[0]
        srid = con.execute("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = %s",
                           (SCHEMA,)).fetchall()
        valid = con.execute(f"SELECT bool_and(ST_IsValid(geom)) FROM {SCHEMA}.service_areas").fetchone()[0]
        comment = con.execute("SELECT obj_description(%s::regclass)", (f"{SCHEMA}.substations",)).fetchone()[0]
    assert n == len(example_result.plan.layers["housing_sites"])
    assert srid == [(28992,)] and valid
    assert comment.startswith("Onderstations.") and "2026-03-01" in comment


def test_layer_styles_rows_as_qgis_reads_them(pg, written):
    dsn = pg
    with psycopg.connect(dsn) as con:
        cols = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='public' AND "
            "table_name='layer_styles' ORDER BY ordinal_position").fetchall())
        rows = con.execute("SELECT f_table_catalog, f_table_name, f_geometry_column, useasdefault FROM "
                           "public.layer_styles WHERE f_table_schema = %s", (SCHEMA,)).fetchall()
        db = con.execute("SELECT current_database()").fetchone()[0]
    varchar = "character varying"
    assert list(cols.items()) == [  # as QGIS 3 creates it (QgsPostgresProvider::saveStyle)
        ("id", "integer"), ("f_table_catalog", varchar), ("f_table_schema", varchar), ("f_table_name", varchar),
        ("f_geometry_column", varchar), ("stylename", "text"), ("styleqml", "xml"), ("stylesld", "xml"),
        ("useasdefault", "boolean"), ("description", "text"), ("owner", varchar), ("ui", "xml"),
        ("update_time", "timestamp without time zone"), ("type", varchar)]
    assert len(rows) == len(written)  # one default style per table, none duplicated by the second export
    assert all(r[0] == db and r[3] is True for r in rows)
    assert ("substations", "geom") in {(r[1], r[2]) for r in rows}


def test_qgis_opens_the_tables_styled(pg, written):
    skip_if_missing(qgis_available())
    dsn = pg
    res = run_qgis_script(SCRIPT, dsn, SCHEMA, "substations", "service_areas", "housing_sites", "t:headroom",
                          timeout_s=180)
    assert res.returncode == 0, res.stderr[-2000:]
    d = res.data
    assert all(v["valid"] for v in d.values()), d
    assert (d["substations"]["renderer"], d["substations"]["attr"]) == ("categorizedSymbol", "status_offtake_2040")
    assert d["substations"]["labels"] is True and d["substations"]["authid"] == "EPSG:28992"
    assert d["substations"]["features"] == 12
    assert d["service_areas"]["renderer"] == "graduatedSymbol"
    assert d["housing_sites"]["attr"] == "heating" and d["housing_sites"]["name_alias"] == "naam"
    assert d["headroom"]["aliases"]["headroom_mw"] == "ruimte (MW)"
