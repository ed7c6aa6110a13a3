"""Reproducible: the same inputs give the same bytes, with every timestamp from SOURCE_DATE_EPOCH.

Every timestamp inside an output (the manifest's run date, GeoPackage ``gpkg_contents.last_change``,
XLSX document properties and zip entries, the QGIS project's dates) is
``spatialprog.writer.run_timestamp``: ``SOURCE_DATE_EPOCH`` when it is set, else the run's date at day
resolution.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from spatialprog.cli import cli
from spatialprog.writer import run_timestamp, write_xlsx

from .conftest import EXAMPLE, ROOT

EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z (even seconds: zip entries keep two-second steps)
WHEN = datetime.fromtimestamp(EPOCH, UTC)
GPKG_TS = "2023-11-14T22:13:20.000Z"


def _run(cwd: Path, tz: str, tmpdir: Path) -> tuple[Path, float]:
    cwd.mkdir(parents=True)
    tmpdir.mkdir(parents=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), "TZ": tz, "TMPDIR": str(tmpdir),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.time()
    p = subprocess.run([sys.executable, "-m", "spatialprog", "run", str(EXAMPLE), "--out", "out"], cwd=cwd, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return cwd / "out", started


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    """The example region run twice as a user runs it, with everything but the inputs and SOURCE_DATE_EPOCH changed.

    The two runs differ in working directory, time zone (UTC and UTC+9, so a local-time leak shows),
    temporary folder and clock: no fake clock is installed (faketime is not available), so the second
    run starts at least a second after the first (each takes several seconds), which a wall-clock
    timestamp in any file would show. ``--out`` is the same relative path, so the manifest's command is
    the same too.
    """
    base = tmp_path_factory.mktemp("repro")
    a, t_a = _run(base / "cwd-a", "UTC", base / "tmp-a")
    time.sleep(max(0.0, 1.1 - (time.time() - t_a)))
    b, t_b = _run(base / "cwd-b" / "deeper", "Asia/Tokyo", base / "tmp-b")
    assert t_b - t_a >= 1.0
    return a, b


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_every_file_byte_for_byte(two_runs):
    a, b = two_runs
    assert _files(a) == _files(b)
    names = _files(a)
    assert {"results.gpkg", "headroom.xlsx", "programme.xlsx", "spatialprog.gpkg", "spatialprog.qgz", "map.html",
            "manifest.json", "netruimte_afname.png", "netruimte_afname.pdf", "rapport.pdf"} <= set(names)
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert differ == []


def test_the_manifest_date_is_source_date_epoch(two_runs):
    import json

    m = json.loads((two_runs[0] / "manifest.json").read_text(encoding="utf-8"))
    assert m["run_date"] == "2023-11-14T22:13:20+00:00"


@pytest.mark.parametrize("name", ["results.gpkg", "spatialprog.gpkg"])
def test_geopackages_carry_the_date(two_runs, name):
    con = sqlite3.connect(two_runs[0] / name)
    try:
        changes = {r[0] for r in con.execute("SELECT last_change FROM gpkg_contents")}
        if name == "spatialprog.gpkg":
            changes |= {r[0] for r in con.execute("SELECT update_time FROM layer_styles")}
            meta = con.execute("SELECT metadata FROM qgis_projects").fetchone()[0]
            assert "2023-11-14T22:13:20" in meta
    finally:
        con.close()
    assert changes == {GPKG_TS}


@pytest.mark.parametrize("name", ["headroom.xlsx", "programme.xlsx"])
def test_workbooks_carry_the_date(two_runs, name):
    path = two_runs[0] / name
    props = openpyxl.load_workbook(path).properties
    assert props.created == props.modified == WHEN.replace(tzinfo=None)
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_the_qgis_project_carries_the_date(two_runs):
    with zipfile.ZipFile(two_runs[0] / "spatialprog.qgz") as z:
        (member,) = z.namelist()
        root = ET.fromstring(z.read(member))
    assert root.get("saveDateTime") == "2023-11-14T22:13:20"
    assert root.findtext("projectMetadata/creation") == "2023-11-14T22:13:20"
    stamps = set(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ET.tostring(root, encoding="unicode")))
    assert stamps == {"2023-11-14T22:13:20"}


def test_static_maps_carry_no_date(two_runs):
    for png in two_runs[0].glob("*.png"):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and b"tIME" not in data, png.name
    for pdf in two_runs[0].glob("*.pdf"):
        assert b"/CreationDate" not in pdf.read_bytes() and b"/ModDate" not in pdf.read_bytes(), pdf.name


# --------------------------------------------------------------------------------------
# without SOURCE_DATE_EPOCH: the run's date, at day resolution


def test_without_source_date_epoch_the_date_is_today_at_midnight(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = datetime.now(UTC).date()
    t = run_timestamp()
    assert t.tzinfo is not None and t.utcoffset().total_seconds() == 0
    assert (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0)
    assert t.date() in (before, datetime.now(UTC).date())


def test_a_workbook_holds_no_wall_clock_time(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    day = run_timestamp()
    p = write_xlsx(tmp_path / "t.xlsx", {"t": pd.DataFrame({"a": [1.5]})})
    with zipfile.ZipFile(p) as z:
        assert {i.date_time for i in z.infolist()} == {(day.year, day.month, day.day, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode("utf-8")
    assert set(re.findall(r"\d{4}-\d\d-\d\dT[\d:]+Z?", core)) == {day.strftime("%Y-%m-%dT00:00:00Z")}
    assert write_xlsx(tmp_path / "u.xlsx", {"t": pd.DataFrame({"a": [1.5]})}).read_bytes() == p.read_bytes()


def test_an_explicit_run_date_wins(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    assert run_timestamp(datetime(2026, 3, 14, tzinfo=UTC)) == datetime(2026, 3, 14, tzinfo=UTC)
    assert run_timestamp() == WHEN


def test_the_conflicts_command_stamps_its_geopackage(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    r = CliRunner().invoke(cli, ["conflicts", str(EXAMPLE), "--out", str(tmp_path / "c")], obj={})
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(tmp_path / "c" / "conflicts.gpkg")
    try:
        assert {row[0] for row in con.execute("SELECT last_change FROM gpkg_contents")} == {GPKG_TS}
    finally:
        con.close()
    first = (tmp_path / "c" / "conflicts.gpkg").read_bytes()
    r = CliRunner().invoke(cli, ["conflicts", str(EXAMPLE), "--out", str(tmp_path / "c")], obj={})
    assert r.exit_code == 0 and (tmp_path / "c" / "conflicts.gpkg").read_bytes() == first


def test_bytes_do_not_depend_on_the_time_zone(tmp_path, monkeypatch):
    """In this process too: a workbook written under two time zones is the same file."""
    import pandas as pd

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    out = []
    for tz in ("UTC", "America/St_Johns"):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        out.append(write_xlsx(tmp_path / f"{tz.replace('/', '_')}.xlsx", {"t": pd.DataFrame({"a": [1]})}).read_bytes())
    monkeypatch.undo()
    time.tzset()
    assert out[0] == out[1]
    assert zipfile.ZipFile(io.BytesIO(out[0])).infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)
