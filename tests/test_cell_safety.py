"""Nobody in: hostile text is never a live formula in CSV or XLSX, and still joins when read back.

A substation id ``=cmd|' /C calc'!A0`` or a name ``=HYPERLINK(...)`` reaches every table of a run. In
CSV such a text cell gets a single quote in front (OWASP); spatialprog's own reader of a run folder
(``RunOutputs.read``, used by map, export, diff and rank) takes it off again. In XLSX it is a typed
string cell, never a formula. Numbers, also negative ones, are never touched.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, box

from spatialprog.cli import cli
from spatialprog.outputs import RunOutputs
from spatialprog.writer import (
    FORMULA_START,
    escape_text,
    read_csv,
    unescape_text,
    write_csv,
    write_xlsx,
)

from .conftest import write_tiny_project

SUB_A = "=cmd|' /C calc'!A0"
SUB_B = "@SUM(1+1)"
NAME_A = '=HYPERLINK("http://x","click")'
NAME_B = "'s-Hertogenbosch"  # a quote that is not an escape: left as it is
SITES = ["+31-6-1234", "'=quoted", "-2+3", "H4"]
HOSTILE = [SUB_A, SUB_B, NAME_A, "+31-6-1234", "'=quoted", "-2+3"]


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------
# the rule


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-3.5", "'-3.5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'=x", "''=x"), ("''+x", "'''+x"), ("'s-Hertogenbosch", "'s-Hertogenbosch"), ("'", "'"), ("", ""),
    ("a=b", "a=b"), ("OS01", "OS01"),
])
def test_escape_text(value, written):
    assert escape_text(value) == written
    assert unescape_text(written) == value


@given(st.text())
def test_escape_round_trips_and_never_starts_a_formula(value):
    written = escape_text(value)
    assert unescape_text(written) == value
    assert not written.startswith(FORMULA_START)


def test_csv_prefixes_text_never_numbers(tmp_path):
    df = pd.DataFrame({"id": [SUB_A, NAME_B, "'=quoted", "-2", None], "value_mw": [-3.5, 1.0, -0.25, 2.0, 3.0],
                       "n": [-1, 2, 3, 4, 5], "ok": [True, False, True, True, False]})
    p = write_csv(df, tmp_path / "t.csv")
    rows = _rows(p)
    assert [r[0] for r in rows[1:]] == ["'" + SUB_A, NAME_B, "''=quoted", "'-2", ""]
    assert [r[1] for r in rows[1:]] == ["-3.5", "1", "-0.25", "2", "3"]  # a float column: numbers stay numbers
    assert rows[1][2] == "-1"
    back = read_csv(p, dtype={"id": object})
    assert back["id"].tolist()[:4] == df["id"].tolist()[:4] and pd.isna(back["id"].iloc[4])
    assert back["value_mw"].tolist() == df["value_mw"].tolist() and back["n"].tolist() == df["n"].tolist()


def test_csv_column_names_are_escaped_too(tmp_path):
    p = write_csv(pd.DataFrame({"=bad": ["x"]}), tmp_path / "t.csv")
    assert p.read_text(encoding="utf-8").splitlines()[0] == "'=bad"
    assert list(read_csv(p).columns) == ["=bad"]


def test_a_frame_without_anything_to_escape_is_not_copied():
    # pandas' str columns and Index are pyarrow-backed: each look at a name is a new str object, which must not
    # count as a renamed column (every national table read back was copied whole for it)
    from spatialprog.writer import escape_frame, unescape_frame

    df = pd.DataFrame({"variant": pd.array(["basis", "hoog"], dtype="str"), "site_id": ["WB1", "WB2"],
                       "offtake_mw": [-1.5, 2.0]})
    assert isinstance(df.columns.dtype, pd.StringDtype)
    assert escape_frame(df) is df and unescape_frame(df) is df
    renamed = unescape_frame(df.rename(columns={"site_id": "'=id"}))
    assert list(renamed.columns) == ["variant", "=id", "offtake_mw"]


def test_xlsx_text_is_a_string_cell_never_a_formula(tmp_path):
    df = pd.DataFrame({"id": [SUB_A, SUB_B, "#N/A", "+1", "\tx", NAME_B, "bad\x01char"],
                       "value_mw": [-3.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    p = write_xlsx(tmp_path / "t.xlsx", {"t": df, "=sheet": df.rename(columns={"id": "=col"})})
    wb = openpyxl.load_workbook(p)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type in ("f", "e")]
    ws = wb["t"]
    assert [(c.value, c.data_type) for c in ws["A"][1:6]] == [(SUB_A, "s"), (SUB_B, "s"), ("#N/A", "s"), ("+1", "s"),
                                                             ("\tx", "s")]
    assert ws["A7"].value == NAME_B and ws["A8"].value == "bad\ufffdchar"  # XML cannot hold the control character
    assert [(c.value, c.data_type) for c in ws["B"][1:3]] == [(-3.5, "n"), (1, "n")]
    assert wb["=sheet"]["A1"].value == "=col" and wb["=sheet"]["A1"].data_type == "s"


# --------------------------------------------------------------------------------------
# a whole run with hostile ids: run, map, export, diff


def _hostile_project(folder: Path, *, peak_a: float = 20.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = 150_000.0, 450_000.0
    subs = gpd.GeoDataFrame(
        {"id": [SUB_A, SUB_B], "name": [NAME_A, NAME_B], "voltage_kv": ["150/20", "110/10"], "n_transformers": [2, 1],
         "transformer_mva": [40.0, 30.0], "peak_offtake_mw": [peak_a, 10.0], "peak_feedin_mw": [5.0, 2.0]},
        geometry=[Point(x0 + 500, y0 + 500), Point(x0 + 1500, y0 + 500)], crs="EPSG:28992")
    housing = gpd.GeoDataFrame(
        {"id": SITES, "dwellings": [100, 200, 300, 50], "delivery_start_year": [2026, 2027, 2026, 2026],
         "delivery_end_year": [2026, 2028, 2030, 2027], "heating": ["all_electric", "hybrid", "all_electric", "hybrid"],
         "ev_share": [0.5, 0.0, 0.2, 0.1]},
        geometry=[box(x0 + 100, y0 + 100, x0 + 300, y0 + 300), box(x0 + 900, y0 + 400, x0 + 1300, y0 + 500),
                  box(x0 + 1500, y0 + 100, x0 + 1700, y0 + 300), box(x0 + 1200, y0 + 600, x0 + 1400, y0 + 800)],
        crs="EPSG:28992")
    return write_tiny_project(folder, housing=housing, subs=subs, areas=False)


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """``spatialprog run`` of a project whose ids and names are formulas (maps and QGIS export included)."""
    base = tmp_path_factory.mktemp("hostile")
    r = _invoke("run", str(_hostile_project(base / "p1")), "--out", str(base / "out"))
    assert r.exit_code == 0, r.output
    return base / "out"


def test_every_csv_holds_the_hostile_text_prefixed(hostile_run):
    seen: set[str] = set()
    for p in sorted(hostile_run.glob("*.csv")):
        for row in _rows(p):
            for cell in row:
                assert cell not in HOSTILE, (p.name, cell)
                # a cell a spreadsheet would run: only a number may start so
                assert not cell.startswith(FORMULA_START) or _is_number(cell), (p.name, cell)
                seen.add(cell)
    assert {"'" + v for v in (SUB_A, SUB_B, NAME_A, "+31-6-1234", "-2+3")} <= seen
    assert "''=quoted" in seen and NAME_B in seen


def test_workbooks_hold_strings_not_formulas(hostile_run):
    texts: set[str] = set()
    for name in ("headroom.xlsx", "programme.xlsx"):
        wb = openpyxl.load_workbook(hostile_run / name)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type in ("f", "e")], name
        texts |= {c.value for c in cells if c.data_type == "s" and isinstance(c.value, str)}
        assert any(c.data_type == "n" for c in cells)
    assert SUB_A in texts and SUB_B in texts


def test_the_run_folder_reads_back_as_written(hostile_run):
    """The tables (CSV) and the layers (GeoPackage) of the folder join on the same ids."""
    run = RunOutputs.read(hostile_run)
    assert set(run.tables["headroom"]["substation_id"]) == {SUB_A, SUB_B} == set(run.layers["substations"]["id"])
    assert set(run.tables["demand"]["site_id"]) == set(SITES) == set(run.layers["housing_sites"]["id"])
    assert set(run.tables["ranking_substations"]["name"]) == {NAME_A, NAME_B}
    assert json.loads((hostile_run / "manifest.json").read_text(encoding="utf-8"))["project"] == "tiny"


def test_map_and_export_of_the_run_folder(hostile_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(hostile_run, out)
    (out / "map.html").unlink()
    shutil.copy(out / "manifest.json", tmp_path / "m.json")
    r = _invoke("map", str(out), "--no-static")
    assert r.exit_code == 0, r.output
    html = (out / "map.html").read_text(encoding="utf-8")
    for quoted in ("'=cmd", "\\u0027=cmd", "&#39;=cmd", "&#x27;=cmd"):  # the CSV escape never reaches the map
        assert quoted not in html
    assert "map.html" in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    (out / "spatialprog.gpkg").unlink()
    r = _invoke("export", str(out))
    assert r.exit_code == 0, r.output
    gpkg = out / "spatialprog.gpkg"
    assert set(pyogrio.read_dataframe(gpkg, layer="headroom")["substation_id"]) == {SUB_A, SUB_B}
    assert set(pyogrio.read_dataframe(gpkg, layer="demand")["site_id"]) == set(SITES)
    assert set(pyogrio.read_dataframe(gpkg, layer="substations")["id"]) == {SUB_A, SUB_B}


def test_diff_joins_the_hostile_ids(hostile_run, tmp_path):
    """A second cycle in which only substation A's load changed: the diff names A and nothing else."""
    r = _invoke("run", str(_hostile_project(tmp_path / "p2", peak_a=30.0)), "--out", str(tmp_path / "new"),
                "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output
    r = _invoke("diff", str(hostile_run), str(tmp_path / "new"), "--out", str(tmp_path / "diff"))
    assert r.exit_code == 0, r.output
    d = tmp_path / "diff"
    h = read_csv(d / "diff_headroom.csv", dtype={"substation_id": object})
    assert len(h) and set(h["substation_id"]) == {SUB_A}
    assert f"'{SUB_A}" in (d / "diff_headroom.csv").read_text(encoding="utf-8")
    sites = read_csv(d / "diff_sites.csv", dtype={"site_id": object}) if (d / "diff_sites.csv").stat().st_size > 1 \
        else pd.DataFrame()
    assert not (set(sites.get("change", [])) & {"added", "removed"})  # the same sites in both cycles
