"""Layers read from a real PostgreSQL + PostGIS (``SPATIALPROG_TEST_PG``, from .ci/start-postgis.sh).

The example region's layers are put into the database as tables (in EPSG:4326 and in RD New, as a
province's database would have them) and read back with the project's own mapping: the result must be
what the GeoPackage gives, because a database is one more source in front of the same mapping and
validation. Skips with the reason when the server is not available; the project-file checks at the end
need no server.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pyogrio
import pytest

from spatialprog.config import load_project, project_from_dict
from spatialprog.errors import CRSError, LayerReadError, ProjectError
from spatialprog.layers import LayerSource, read_layer

from .clients import skip_if_missing
from .clients.postgis import postgis_dsn, postgis_skip_reason

ROOT = Path(__file__).resolve().parents[1]
GPKG = ROOT / "layers" / "example_region.gpkg"
SCHEMA = "spatialprog_test_read"
#: (table, layer in the GeoPackage, SRID stored)
TABLES = [("onderstations", "onderstations", 28992), ("woningbouw", "woningbouw", 28992),
          ("onderstations_wgs84", "onderstations", 4326), ("woningbouw_wgs84", "woningbouw", 4326)]


@pytest.fixture(scope="module")
def pg():
    """The server's URL, with the example layers as tables in SCHEMA (dropped afterwards)."""
    skip_if_missing(postgis_skip_reason())
    import psycopg

    from spatialprog.export.postgis import copy_table

    dsn = postgis_dsn()
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cur.execute(f"CREATE SCHEMA {SCHEMA}")
        for table, layer, srid in TABLES:
            gdf = pyogrio.read_dataframe(GPKG, layer=layer)
            copy_table(cur, SCHEMA, table, gdf.to_crs(srid), geometry_type="Geometry", srid=srid)
        cur.execute(f"CREATE TABLE {SCHEMA}.zonder_srid AS SELECT * FROM {SCHEMA}.onderstations")
        cur.execute(f"ALTER TABLE {SCHEMA}.zonder_srid ALTER COLUMN geom TYPE geometry(Geometry, 0) USING "
                    f"ST_SetSRID(geom, 0)")
        cur.execute(f"CREATE TABLE {SCHEMA}.zonder_geometrie AS SELECT code, naam FROM {SCHEMA}.onderstations")
    yield dsn
    with psycopg.connect(dsn) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


@pytest.fixture(scope="module")
def project():
    return load_project(ROOT / "layers" / "example_region.toml")


def _db(src: LayerSource, url: str, **kw) -> LayerSource:
    """The project's layer with the same mapping, read from the database instead of the GeoPackage."""
    return dataclasses.replace(src, path=url, url=None, layer=None, **kw)


def _plain(gdf):
    return gdf.drop(columns="geometry")


@pytest.mark.client
@pytest.mark.parametrize("kind, table", [("substations", "onderstations_wgs84"), ("housing_sites", "woningbouw_wgs84")])
def test_a_wgs84_table_reads_as_the_file_does(pg, project, kind, table):
    import pandas as pd

    src = project.layers[kind]
    from_file = read_layer(src, kind)
    from_db = read_layer(_db(src, pg, table=f"{SCHEMA}.{table}"), kind)
    assert from_db.crs.to_epsg() == 28992
    assert list(from_db.columns) == list(from_file.columns)
    pd.testing.assert_frame_equal(_plain(from_db), _plain(from_file))  # mapping, recode, types: the same
    # EPSG:4326 and back to RD New: the same places, to well under a millimetre
    assert from_db.geometry.hausdorff_distance(from_file.geometry).max() < 1e-3
    assert from_db.geometry.hausdorff_distance(from_file.geometry).max() > 0  # it did go through lon/lat


@pytest.mark.client
def test_the_password_stays_out_of_the_source(pg, project):
    src = _db(project.layers["substations"], pg, table=f"{SCHEMA}.onderstations")
    assert ":***@" in str(src.path) and src.url == pg
    assert "postgres:postgres@" not in repr(src)


@pytest.mark.client
def test_an_sql_source_keeps_its_filter_and_order(pg, project):
    src = project.layers["housing_sites"]
    sql = f"SELECT * FROM {SCHEMA}.woningbouw WHERE woningen >= 300 ORDER BY plan_id DESC;"
    from_db = read_layer(_db(src, pg, sql=sql), "housing_sites")
    from_file = read_layer(src, "housing_sites")
    want = from_file[from_file["dwellings"] >= 300].sort_values("id", ascending=False).reset_index(drop=True)
    assert 0 < len(want) < len(from_file)
    assert list(from_db["id"]) == list(want["id"])
    assert from_db.drop(columns="geometry").equals(want.drop(columns="geometry"))
    assert from_db.geometry.geom_equals_exact(want.geometry, 1e-9).all()


@pytest.mark.client
def test_a_bbox_reads_only_what_is_near(pg, project):
    src = project.layers["substations"]
    whole = read_layer(src, "substations")
    x, y = whole.geometry.iloc[0].x, whole.geometry.iloc[0].y
    box = (x - 4000, y - 4000, x + 4000, y + 4000)
    near_file = read_layer(src, "substations", bbox=box)
    assert 0 < len(near_file) < len(whole)
    near_rd = read_layer(_db(src, pg, table=f"{SCHEMA}.onderstations"), "substations", bbox=box)
    assert list(near_rd["id"]) == list(near_file["id"])
    # the query form with a bbox: wrapped as a subquery ('%' in it is no placeholder)
    near_sql = read_layer(_db(src, pg, sql=f"SELECT * FROM {SCHEMA}.onderstations WHERE naam LIKE '%' ORDER BY code"),
                          "substations", bbox=box)
    assert sorted(near_sql["id"]) == sorted(near_file["id"])
    # in lon/lat the box is transformed to one that holds it: at least the same points, never all of them
    near_wgs = read_layer(_db(src, pg, table=f"{SCHEMA}.onderstations_wgs84"), "substations", bbox=box)
    assert set(near_file["id"]) <= set(near_wgs["id"]) and len(near_wgs) < len(whole)


@pytest.mark.client
def test_a_table_without_srid_is_refused_unless_the_project_declares_one(pg, project):
    src = _db(project.layers["substations"], pg, table=f"{SCHEMA}.zonder_srid")
    with pytest.raises(CRSError) as e:
        read_layer(src, "substations")
    msg = str(e.value)
    assert msg.startswith("layers.substations: the geometry of table spatialprog_test_read.zonder_srid has no SRID")
    assert "UpdateGeometrySRID" in msg and 'crs = "EPSG:28992"' in msg and "\n" not in msg
    gdf = read_layer(dataclasses.replace(src, crs="EPSG:28992"), "substations")
    assert gdf.crs.to_epsg() == 28992 and gdf.equals(read_layer(project.layers["substations"], "substations"))
    near = read_layer(dataclasses.replace(src, crs="EPSG:28992"), "substations", bbox=(0, 0, 1, 1))
    assert len(near) == 0  # the box in SRID 0


def _error(src: LayerSource, kind: str = "substations", exc=LayerReadError) -> str:
    with pytest.raises(exc) as e:
        read_layer(src, kind)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


@pytest.mark.client
def test_errors_name_the_layer_and_the_fix_and_never_the_password(pg, project, monkeypatch):
    src = project.layers["substations"]
    from urllib.parse import urlsplit

    u = urlsplit(pg)
    secret = "Geheim-Wachtwoord-42"
    refused = f"postgresql://planner:{secret}@127.0.0.1:1/plan"
    msg = _error(_db(src, refused, table="x.y"))
    assert msg.startswith("layers.substations: cannot connect to postgresql://planner:***@127.0.0.1:1/plan: ")
    assert "Connection refused" in msg and "PGPASSWORD" in msg and secret not in msg

    wrong = f"postgresql://{u.username}:{secret}@{u.hostname}:{u.port or 5432}{u.path}"
    msg = _error(_db(src, wrong, table="x.y"))
    assert "password authentication failed" in msg and secret not in msg and ":***@" in msg

    msg = _error(_db(src, pg, table=f"{SCHEMA}.bestaat_niet"))
    assert msg.startswith(f"layers.substations: table '{SCHEMA}.bestaat_niet' does not exist in database")
    assert "fix 'table'" in msg and f"{SCHEMA}.onderstations" in msg  # the tables that are there

    msg = _error(_db(src, pg, sql="SELEC code FROM onderstations"))
    assert msg.startswith("layers.substations: syntax error") and msg.endswith("fix 'sql' in the project file")

    msg = _error(_db(src, pg, sql=f"SELECT * FROM {SCHEMA}.niet_hier"))
    assert "does not exist" in msg and "fix 'sql'" in msg

    # a query that would change the database is refused: reading is a read-only transaction
    seq = f"pg_get_serial_sequence('{SCHEMA}.onderstations', 'fid')"
    msg = _error(_db(src, pg, sql=f"SELECT *, setval({seq}, 1000) FROM {SCHEMA}.onderstations"))
    assert "read-only transaction" in msg and "fix 'sql'" in msg

    msg = _error(_db(src, pg, table=f"{SCHEMA}.zonder_geometrie"))
    assert msg.startswith(f"layers.substations: table {SCHEMA}.zonder_geometrie has no geometry column (it has: code, "
                          "naam)") and "ST_MakePoint" in msg
    msg = _error(_db(src, pg, sql=f"SELECT code, naam FROM {SCHEMA}.onderstations"))
    assert "the query in 'sql' has no geometry column" in msg
    msg = _error(_db(src, pg, sql=f"SELECT *, geom AS vorm FROM {SCHEMA}.onderstations"))
    assert "the query in 'sql' has 2 geometry columns (geom, vorm) - read one with sql = " in msg
    msg = _error(_db(src, pg, sql=f"SELECT * FROM {SCHEMA}.onderstations UNION ALL SELECT * FROM "
                                  f"{SCHEMA}.onderstations_wgs84"))
    assert "is in SRID 28992 and also in SRID 4326 - give all one SRID (ST_Transform(geom, 28992))" in msg

    monkeypatch.delenv("SPATIALPROG_PGREAD_UNSET", raising=False)
    msg = _error(_db(src, "env:SPATIALPROG_PGREAD_UNSET", table="x.y"))
    assert msg == ("layers.substations: the environment variable SPATIALPROG_PGREAD_UNSET is not set - set it to the "
                   "connection URL (export SPATIALPROG_PGREAD_UNSET=postgresql://user@host:5432/database) or give "
                   "the URL in 'path'")
    monkeypatch.setenv("SPATIALPROG_PGREAD_URL", pg)
    gdf = read_layer(_db(src, "env:SPATIALPROG_PGREAD_URL", table=f"{SCHEMA}.onderstations"), "substations")
    assert len(gdf) == len(read_layer(src, "substations"))

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    msg = _error(_db(src, pg, table=f"{SCHEMA}.onderstations"))
    assert msg == ('layers.substations: PostgreSQL needs psycopg 3 - install it with: pip install '
                   '"spatialprog[postgis]" (or pip install "psycopg[binary]")')


def _postgis_project(folder: Path) -> Path:
    """The example region's project file with substations and housing sites read from PostGIS.

    The URL is in the environment variable SPATIALPROG_PGREAD_DB (set by the test), the other layers are
    the example's files.
    """
    text = (ROOT / "layers" / "example_region.toml").read_text(encoding="utf-8")
    for kind, table in (("substations", "onderstations"), ("housing_sites", "woningbouw")):
        head = f'[layers.{kind}]\npath = "example_region.gpkg"\nlayer = "{table}"\n'
        assert head in text
        text = text.replace(head, f'[layers.{kind}]\npath = "env:SPATIALPROG_PGREAD_DB"\ntable = "{SCHEMA}.{table}"\n')
    for name in ("example_region.gpkg", "laadpleinen.geojson", "example_province.geojson"):
        text = text.replace(f'path = "{name}"', f'path = "{(ROOT / "layers" / name).as_posix()}"')
    toml = folder / "uit_de_database.toml"
    toml.write_text(text, encoding="utf-8")
    return toml


@pytest.mark.client
def test_a_run_from_postgis_gives_the_tables_of_the_file_run(pg, example_run_bare, tmp_path, monkeypatch):
    """Substations and housing sites from PostGIS (URL in an environment variable): byte-equal CSVs."""
    import json

    from click.testing import CliRunner

    from spatialprog.cli import cli

    toml = _postgis_project(tmp_path)
    monkeypatch.setenv("SPATIALPROG_PGREAD_DB", pg)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(toml), "--out", str(out), "--no-maps", "--no-qgis"], obj={})
    assert r.exit_code == 0, r.output
    csvs = sorted(p.name for p in example_run_bare.out.glob("*.csv"))
    assert "headroom.csv" in csvs and "assignment.csv" in csvs
    assert sorted(p.name for p in out.glob("*.csv")) == csvs
    differ = [n for n in csvs if (out / n).read_bytes() != (example_run_bare.out / n).read_bytes()]
    assert differ == []
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert pg not in manifest
    inputs = {i["role"]: i for i in json.loads(manifest)["inputs"]}
    assert inputs["layers.substations"]["path"] == "env:SPATIALPROG_PGREAD_DB"
    assert inputs["layers.substations"]["table"] == f"{SCHEMA}.onderstations" and "sha256" not in inputs["layers.substations"]


@pytest.mark.client
def test_check_site_from_postgis_answers_as_from_the_files(pg, tmp_path, monkeypatch):
    """check-site reads only what is near the site (a bbox in SQL) and gives the file project's answer."""
    import json

    from click.testing import CliRunner

    from spatialprog.cli import cli

    monkeypatch.setenv("SPATIALPROG_PGREAD_DB", pg)
    args = ["186150,437150", "--radius", "150", "--name", "Hoekwaard-Zuid", "--dwellings", "100", "--heating",
            "all_electric", "--ev-share", "0.5", "--start-year", "2027", "--json"]
    answers = []
    for toml in (ROOT / "layers" / "example_region.toml", _postgis_project(tmp_path)):
        r = CliRunner().invoke(cli, ["check-site", str(toml), *args], obj={})
        assert r.exit_code == 0, r.output
        report = json.loads(r.output)
        report["project"].pop("path")  # the project file's own path
        answers.append(report)
    assert answers[0]["project"]["read_bbox"] is not None  # the fast path: only what is near the site was read
    assert answers[0] == answers[1] and answers[0]["sites"]


# ------------------------------------------------------------------------------------------------------------------
# the project file (no server needed)

_SUBS = {"path": "postgresql://planner@db.example.nl:5432/plan"}


@pytest.mark.parametrize("layer, message", [
    ({}, "a database layer needs exactly one of table = \"schema.table\" or sql = \"SELECT ...\""),
    ({"table": "a.b", "sql": "SELECT 1"}, "exactly one of table"),
    ({"table": "a.b", "layer": "b"}, "'layer' is for a file; name the database table with table"),
    ({"path": "plan.gpkg", "table": "a.b"}, "'table' is for a database path"),
    ({"path": "plan.gpkg", "sql": "SELECT 1"}, "'sql' is for a database path"),
    ({"table": "a.b", "geometry": {"x": "x", "y": "y"}}, "a database layer reads its geometry column"),
])
def test_the_project_file_says_what_a_database_layer_needs(layer, message):
    with pytest.raises(ProjectError) as e:
        project_from_dict({"layers": {"substations": {**_SUBS, **layer}}})
    assert str(e.value).startswith("project: layers.substations: ") and message in str(e.value)


def test_a_database_path_is_no_file_path(tmp_path):
    p = project_from_dict({"layers": {"substations": {"path": "postgresql://planner:geheim@db.example.nl/plan",
                                                      "table": "net.onderstations"}}}, root=tmp_path)
    src = p.layers["substations"]
    assert src.database and src.table == "net.onderstations" and src.sql is None
    assert src.path == "postgresql://planner:***@db.example.nl/plan"  # never resolved against the folder
    assert src.url == "postgresql://planner:geheim@db.example.nl/plan"
    env = project_from_dict({"layers": {"substations": {"path": "env:PLAN_DB", "sql": "SELECT * FROM x"}}}).layers
    assert env["substations"].path == "env:PLAN_DB" and env["substations"].url == "env:PLAN_DB"


def test_the_cli_says_a_database_problem_in_one_line(tmp_path, example_run_bare):
    """No server needed: nothing listens on port 1. Exit code 2, one line, no traceback, no password."""
    from click.testing import CliRunner

    from spatialprog.cli import cli

    secret = "Geheim-Wachtwoord-42"
    toml = tmp_path / "plan.toml"
    toml.write_text(f'[layers.substations]\npath = "postgresql://planner:{secret}@127.0.0.1:1/plan"\n'
                    f'table = "net.onderstations"\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["validate", str(toml)], obj={})
    assert r.exit_code == 2, r.output
    assert "layers.substations: cannot connect to postgresql://planner:***@127.0.0.1:1/plan" in r.output
    assert secret not in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["export", str(example_run_bare.out), "--postgis",
                                 f"postgresql://planner:{secret}@127.0.0.1:1/plan"], obj={})
    assert r.exit_code == 2, r.output
    assert "--postgis: cannot connect to postgresql://planner:***@127.0.0.1:1/plan" in r.output
    assert secret not in r.output and "Traceback" not in r.output
