"""spatialprog.run() writes what `spatialprog run` writes; map and export from a project file show the programme."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

import spatialprog
from spatialprog.cli import cli
from spatialprog.errors import SpatialprogError
from spatialprog.maps import _data as D

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"
#: a numbered programme marker in map.html: {"lat": .., "lon": .., "popup": "..", "rank": n}
MARKER = re.compile(r'\{"lat": (-?[\d.]+), "lon": (-?[\d.]+), "popup": "(?:[^"\\]|\\.)*", "rank": (\d+)\}')


@pytest.fixture(scope="module")
def runs(tmp_path_factory, example_run):
    """The example region run through the Python API, beside the session's CLI run (tests/conftest.py)."""
    base = tmp_path_factory.mktemp("workflow")
    done = spatialprog.run(EXAMPLE, base / "api")
    return done, base / "api", example_run.out, example_run.output


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_run_writes_the_files_the_cli_writes(runs):
    done, api, cli_out, _ = runs
    assert _names(api) == _names(cli_out)
    # the whole run, not only write_run's core files: ranking, maps and the QGIS hand-off too
    assert {"results.gpkg", "headroom.csv", "manifest.json", "programme.csv", "programme.xlsx", "map.html",
            "programma.png", "spatialprog.gpkg", "spatialprog.qgz"} <= _names(api)
    assert {p.name for p in done.files} == _names(api)
    assert all(p.parent == api for p in done.files)
    m_api = json.loads((api / "manifest.json").read_text(encoding="utf-8"))
    m_cli = json.loads((cli_out / "manifest.json").read_text(encoding="utf-8"))
    assert m_api["outputs"] == m_cli["outputs"] == sorted(_names(api))


def test_csvs_are_byte_identical(runs):
    _, api, cli_out, _ = runs
    csvs = sorted(p.name for p in cli_out.glob("*.csv"))
    assert len(csvs) >= 15 and "programme.csv" in csvs and "headroom.csv" in csvs
    for name in csvs:
        assert (api / name).read_bytes() == (cli_out / name).read_bytes(), name


def test_result_holds_what_was_written(runs):
    done, api, _, output = runs
    assert isinstance(done, spatialprog.CompletedRun)
    assert len(done.result.variants) == 3
    assert set(done.result.variants) == set(pd.read_csv(api / "headroom.csv")["variant"])
    written = pd.read_csv(api / "programme.csv", dtype={"substation_id": object})
    assert list(written["substation_id"]) == list(done.ranking.programme["substation_id"])
    # the command line still prints the summary, the programme and the count of files
    assert "Least offtake headroom" in output and "Programme of interventions" in output
    assert f"{len(done.files)} files in" in output


def test_run_options_and_a_relative_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []
    done = spatialprog.run(EXAMPLE, "out", variants="basis", maps=False, qgis=False, progress=seen.append)
    names = _names(tmp_path / "out")
    # every file under its own name (not the staging folder's path), in the list and in the manifest
    assert sorted(str(p) for p in done.files) == sorted(f"out/{n}" for n in names)
    assert json.loads(Path("out/manifest.json").read_text(encoding="utf-8"))["outputs"] == sorted(names)
    assert "programme.csv" in names and "manifest.json" in names
    assert not {"map.html", "spatialprog.gpkg", "spatialprog.qgz"} & names
    assert set(pd.read_csv(tmp_path / "out" / "headroom.csv")["variant"]) == {"basis"}
    assert set(done.ranking.programme["variant"]) == {"basis"}
    assert "ranking and programme" in seen and "writing results.gpkg, beside the tables" in seen


def test_run_of_a_missing_project_is_a_user_error(tmp_path):
    with pytest.raises(SpatialprogError) as e:
        spatialprog.run(tmp_path / "nothing.toml", tmp_path / "out")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --------------------------------------------------------------------------------------
# map and export from a project file carry the programme, as from a run folder


def _markers(html: str) -> list[tuple[str, str, str]]:
    return MARKER.findall(html)


def test_map_from_a_project_file_shows_the_programme(runs, tmp_path):
    _, api, _, _ = runs
    r = CliRunner().invoke(cli, ["map", str(EXAMPLE), "--out", str(tmp_path), "--no-static"], obj={})
    assert r.exit_code == 0, r.output
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert D.PROGRAMME_TITLE_NL in html
    from_project = _markers(html)
    from_run = _markers((api / "map.html").read_text(encoding="utf-8"))
    base = pd.read_csv(api / "programme.csv").query("variant == 'basis' and carrier == 'electricity'")
    assert len(from_run) == len(base) > 0
    assert from_project == from_run  # the same numbered markers at the same places


def _qgz_groups(qgz: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(qgz.read_bytes())) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    root = ET.fromstring(text.split("\n", 1)[1])
    return [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]


def _tables(gpkg: Path) -> set[str]:
    con = sqlite3.connect(gpkg)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    finally:
        con.close()


def test_export_from_a_project_file_has_the_programme(runs, tmp_path):
    _, api, _, _ = runs
    dest = tmp_path / "e.gpkg"
    r = CliRunner().invoke(cli, ["export", str(EXAMPLE), "--qgis", str(dest)], obj={})
    assert r.exit_code == 0, r.output
    assert "Programma" in _qgz_groups(dest.with_suffix(".qgz"))
    assert _qgz_groups(dest.with_suffix(".qgz")) == _qgz_groups(api / "spatialprog.qgz")
    assert {"programme", "ranking_substations", "no_regret"} <= _tables(dest)
    assert _tables(dest) == _tables(api / "spatialprog.gpkg")
    cols = ["variant", "programme_rank", "substation_id", "intervention"]
    ours = pyogrio.read_dataframe(dest, layer="programme")[cols]
    theirs = pyogrio.read_dataframe(api / "spatialprog.gpkg", layer="programme")[cols]
    assert len(ours) > 0
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
