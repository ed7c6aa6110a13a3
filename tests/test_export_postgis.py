"""The export into a real PostgreSQL + PostGIS (``SPATIALPROG_TEST_PG``, from .ci/start-postgis.sh).

Skips with the reason when the server (or psycopg) is not available. When QGIS
is installed, the tables are also opened in QGIS from the database, to check
that each comes up with its default style from PostGIS's layer_styles, and the
QGIS project stored in ``qgis_projects`` is opened from the database.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from spatialprog.errors import OutputError
from spatialprog.export import export_postgis
from spatialprog.outputs import RunOutputs

from .clients import skip_if_missing
from .clients.postgis import postgis_dsn, postgis_skip_reason
from .clients.qgis_runner import qgis_available, run_qgis_script

pytestmark = pytest.mark.client
SCHEMA = "spatialprog_test_export"
SCRIPT = Path(__file__).resolve().parent / "pyqgis_scripts" / "check_postgis.py"
PROJECT_SCRIPT = Path(__file__).resolve().parent / "pyqgis_scripts" / "check_postgis_project.py"


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
def outputs(example_result):
    return RunOutputs.from_result(example_result, run_date=datetime(2026, 3, 1, 12, tzinfo=UTC))


@pytest.fixture(scope="module")
def written(pg, outputs, example_result):
    dsn = pg
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


def _stored_project(dsn: str) -> tuple[str, dict, bytes]:
    with psycopg.connect(dsn) as con:
        rows = con.execute(f"SELECT name, metadata, content FROM {SCHEMA}.qgis_projects").fetchall()
    assert len(rows) == 1  # written twice: replaced, not duplicated
    return rows[0]


def test_the_qgis_project_is_stored_as_qgis_stores_it(pg, written):
    dsn = pg
    with psycopg.connect(dsn) as con:
        cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                           "AND table_name = 'qgis_projects' ORDER BY ordinal_position", (SCHEMA,)).fetchall()
        pkey = con.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                           "a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                           (f"{SCHEMA}.qgis_projects",)).fetchall()
    assert cols == [("name", "text"), ("metadata", "jsonb"), ("content", "bytea")] and pkey == [("name",)]
    name, metadata, content = _stored_project(dsn)
    assert name == "spatialprog"
    assert metadata == {"last_modified_time": "2026-03-01T12:00:00", "last_modified_user": urlsplit(dsn).username}
    with zipfile.ZipFile(io.BytesIO(content)) as zf:  # the .qgz bytes themselves
        assert zf.namelist() == ["spatialprog.qgs"]
        qgs = zf.read("spatialprog.qgs").decode("utf-8")
    password = urlsplit(dsn).password
    assert f"password='{password}'" not in qgs and "password=" not in qgs
    root = ET.fromstring(qgs)
    maplayers = root.findall("./projectlayers/maplayer")
    assert len(maplayers) > 10 and {m.findtext("provider") for m in maplayers} == {"postgres"}
    tree = {t.get("providerKey") for t in root.iter("layer-tree-layer")}
    assert tree == {"postgres"}  # no raster files: those stay with the GeoPackage
    db = urlsplit(dsn).path.lstrip("/")
    tables = {}
    for m in maplayers:
        ds = m.findtext("datasource")
        assert ds.startswith(f"dbname='{db}' host={urlsplit(dsn).hostname} port={urlsplit(dsn).port or 5432} "
                             f"user='{urlsplit(dsn).username}' key='fid' "), ds
        t = re.search(r'table="([^"]+)"\."([^"]+)"( \(geom\))?$', ds)
        assert t and t.group(1) == SCHEMA, ds
        spatial = m.get("geometry") != "No geometry"
        assert bool(t.group(3)) == spatial and (f"srid=28992 type={m.get('wkbType')} " in ds) == spatial
        tables[t.group(2)] = ds
    assert 'table="spatialprog_test_export"."substations" (geom)' in tables["substations"]
    assert "type=Point" in tables["substations"] and "type=Polygon" in tables["service_areas"]
    with psycopg.connect(dsn) as con:  # every layer of the project is a table that was written
        assert all(con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{t}",)).fetchone()[0] for t in tables)
    assert {f"{SCHEMA}.{t}" for t in tables} <= set(written)


def _state(dsn: str) -> dict:
    """Every table of the schema with its oid and row count, the styles and the stored project."""
    with psycopg.connect(dsn) as con:
        tables = con.execute("SELECT c.relname, c.oid::int FROM pg_class c JOIN pg_namespace n ON n.oid = "
                             "c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1", (SCHEMA,)).fetchall()
        counts = {t: con.execute(f'SELECT count(*) FROM {SCHEMA}."{t}"').fetchone()[0] for t, _ in tables}
        styles = con.execute("SELECT id, f_table_name, md5(styleqml::text) FROM public.layer_styles WHERE "
                             "f_table_schema = %s ORDER BY id", (SCHEMA,)).fetchall()
        project = con.execute(f"SELECT md5(content), metadata FROM {SCHEMA}.qgis_projects").fetchall()
    return {"tables": tables, "counts": counts, "styles": styles, "project": project}


def test_a_failed_write_leaves_the_previous_results(pg, written, outputs, monkeypatch):
    dsn = pg
    before = _state(dsn)
    from spatialprog.export import postgis

    real = postgis.style_qml
    calls = []

    def broken_after_five(style):  # the sixth layer's style is no XML: PostgreSQL refuses it halfway
        calls.append(style)
        return real(style) if len(calls) <= 5 else "<!DOCTYPE qgis>\n<qgis><unclosed>"

    monkeypatch.setattr(postgis, "style_qml", broken_after_five)
    with pytest.raises(OutputError) as e:
        export_postgis(outputs, dsn, schema=SCHEMA)
    msg = str(e.value)
    assert msg.startswith("--postgis: ") and "XML" in msg.upper() and "\n" not in msg
    assert urlsplit(dsn).password + "@" not in msg
    assert len(calls) == 6  # five tables were already replaced in the transaction
    assert _state(dsn) == before  # ... and none of it stayed: same tables (same oids), rows, styles, project


def test_export_errors_mask_the_password(outputs):
    secret = "Geheim-Wachtwoord-42"
    with pytest.raises(OutputError) as e:
        export_postgis(outputs, f"postgresql://planner:{secret}@127.0.0.1:1/plan", schema=SCHEMA)
    msg = str(e.value)
    assert msg.startswith("--postgis: cannot connect to postgresql://planner:***@127.0.0.1:1/plan: ")
    assert secret not in msg and "\n" not in msg


def test_export_takes_the_url_from_the_environment(pg, written, outputs, monkeypatch):
    monkeypatch.delenv("SPATIALPROG_EXPORT_UNSET", raising=False)
    with pytest.raises(OutputError, match="^--postgis: the environment variable SPATIALPROG_EXPORT_UNSET is not set"):
        export_postgis(outputs, "env:SPATIALPROG_EXPORT_UNSET", schema=SCHEMA)


def test_qgis_opens_the_project_from_the_database(pg, written):
    skip_if_missing(qgis_available())
    u = urlsplit(pg)
    uri = (f"postgresql://{u.username}@{u.hostname}:{u.port or 5432}?sslmode=disable&dbname={u.path.lstrip('/')}"
           f"&schema={SCHEMA}&project=spatialprog")
    res = run_qgis_script(PROJECT_SCRIPT, uri, timeout_s=180, env={"PGPASSWORD": u.password or ""})
    assert res.returncode == 0, res.stderr[-2000:]
    d = res.data
    assert d["read"] is True and d["crs"] == "EPSG:28992" and d["title"].endswith("(spatialprog)")
    assert len(d["layers"]) > 10
    assert {v["provider"] for v in d["layers"].values()} == {"postgres"}
    assert [k for k, v in d["layers"].items() if not v["valid"]] == []
    subs = d["layers"]["Onderstations"]  # the result layer, with its style inline in the project
    assert subs["features"] == 12 and subs["renderer"] == "categorizedSymbol" and subs["authid"] == "EPSG:28992"
