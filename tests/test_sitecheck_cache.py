"""check-site's baseline cache (spatialprog.cache): a hit is the answer a computed baseline gives, and any change
of an input is a miss.

Each test works on a copy of the example region in its own folder, with its own cache folder
(``SPATIALPROG_CACHE_DIR``). Whether a check was answered from the cache is seen by making the
near read fail: a hit never reads the layers, a miss does.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from spatialprog import cache as disk
from spatialprog.cli import cli
from spatialprog.config import load_project
from spatialprog.sitecheck import baseline as baseline_module
from spatialprog.sitecheck import check_site, check_sites, report_dict

ROOT = Path(__file__).resolve().parents[1]
SITE = "186150,437150,150"  # in OS07's cell, beside WB-STR (tests/test_sitecheck.py)
PROG = {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027}
CLI_SITE = ["186150,437150", "--radius", "150", "--dwellings", "100", "--heating", "all_electric",
            "--ev-share", "0.5", "--start-year", "2027", "--json"]
CHANGES = "layer,id,field,value\nhousing_sites,WB-STR,delivery_start_year,2026\nhousing_sites,WB-STR,delivery_end_year,2029\n"


@pytest.fixture
def region(tmp_path, monkeypatch) -> Path:
    """The example region copied, a project extending it with a variant CSV and a conflict-rules override."""
    for name in ("example_region.toml", "example_region.gpkg", "laadpleinen.geojson", "example_province.geojson"):
        shutil.copy(ROOT / "layers" / name, tmp_path / name)
    shutil.copy(ROOT / "data" / "conflict_rules.csv", tmp_path / "regels.csv")
    (tmp_path / "varianten.csv").write_text(CHANGES, encoding="utf-8")
    (tmp_path / "check.toml").write_text(
        'extends = "example_region.toml"\n\n[conflicts]\nrules = "regels.csv"\n\n'
        '[variants.eerst]\ndescription = "WB-STR eerst"\nchanges = "varianten.csv"\n', encoding="utf-8")
    monkeypatch.setenv("SPATIALPROG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "check.toml"


def _check(project: Path, *, cache: bool = True) -> dict:
    return json.loads(json.dumps(report_dict(check_sites(project, SITE, PROG, cache=cache))))


def _entries(project: Path) -> list[Path]:
    return sorted((project.parent / "cache").glob("baseline-*.pickle"))


class _Reads:
    """Counts the near reads (a miss reads, a hit does not)."""

    def __init__(self, monkeypatch):
        self.n = 0
        real = baseline_module.read_plan_near

        def counted(*args, **kwargs):
            self.n += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(baseline_module, "read_plan_near", counted)


def test_a_hit_is_the_answer_of_a_check_without_the_cache(region, monkeypatch):
    plain = _check(region, cache=False)
    assert _entries(region) == []  # without the cache nothing is written
    first = _check(region)
    assert len(_entries(region)) == 1
    reads = _Reads(monkeypatch)
    again = _check(region)
    assert reads.n == 0  # answered from the cache
    assert again == first == plain
    assert check_site(region, SITE, PROG, cache=True).verdict.en == plain["sites"][0]["verdict"]["en"]
    assert reads.n == 0
    # another programme at the same place asks the same baseline
    other = json.loads(json.dumps(report_dict(check_sites(region, SITE, PROG | {"dwellings": 400}, cache=True))))
    assert reads.n == 0
    assert other == json.loads(json.dumps(report_dict(check_sites(region, SITE, PROG | {"dwellings": 400}))))
    assert other["sites"][0]["variants"] != again["sites"][0]["variants"]


def _rewrite_substation(gpkg: Path, code: str, column: str, value: float) -> None:
    df = pyogrio.read_dataframe(gpkg, layer="onderstations")
    df.loc[df["code"] == code, column] = value
    pyogrio.write_dataframe(df, gpkg, layer="onderstations")


def _edit(project: Path, what: str) -> None:
    folder = project.parent
    if what == "layer file":  # OS07's peak load, in the GeoPackage
        _rewrite_substation(folder / "example_region.gpkg", "OS07", "piek_afname_mw", 5.0)
    elif what == "project file":
        project.write_text(project.read_text(encoding="utf-8") + '\n[parameters]\n"demand.ev_kw_per_ev" = 2.0\n',
                           encoding="utf-8")
    elif what == "extended project file":
        base = folder / "example_region.toml"
        base.write_text(base.read_text(encoding="utf-8").replace("horizon = [2025, 2040]", "horizon = [2025, 2038]"),
                        encoding="utf-8")
    elif what == "variant CSV":
        p = folder / "varianten.csv"
        p.write_text(CHANGES.replace("2026", "2033").replace("2029", "2038"), encoding="utf-8")
    elif what == "reference override":  # a conflict rule made 'laag' in the project's rules table
        p = folder / "regels.csv"
        p.write_text(p.read_text(encoding="utf-8").replace(",hoog,true,", ",laag,true,"), encoding="utf-8")
    elif what == "side layer":  # the charging hubs, a GeoJSON of their own
        p = folder / "laadpleinen.geojson"
        p.write_text(p.read_text(encoding="utf-8").replace('"laadpunten": 8', '"laadpunten": 9', 1), encoding="utf-8")
    else:
        raise AssertionError(what)


@pytest.mark.parametrize("what", ["layer file", "project file", "extended project file", "variant CSV",
                                  "reference override", "side layer"])
def test_a_changed_input_is_a_miss_and_the_new_answer_is_computed(region, monkeypatch, what):
    before = _check(region)
    _edit(region, what)
    reads = _Reads(monkeypatch)
    after = _check(region)
    assert reads.n == 1  # computed again
    assert after == _check(region, cache=False)
    assert len(_entries(region)) == 2
    if what in ("layer file", "project file", "extended project file", "variant CSV"):
        assert after != before  # the change shows in the answer (and the old entry would have been wrong)


def test_a_same_size_change_with_the_old_modification_time_is_seen(region, monkeypatch):
    csv = region.parent / "varianten.csv"
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))  # hashed as an old file: remembered
    before = _check(region)
    new = CHANGES.replace("2026", "2027")
    assert len(new) == len(CHANGES)
    old = csv.stat()
    csv.write_text(new, encoding="utf-8")
    os.utime(csv, ns=(old.st_atime_ns, old.st_mtime_ns))  # same size, same mtime: only the checksum differs
    reads = _Reads(monkeypatch)
    after = _check(region)
    assert reads.n == 1
    assert after == _check(region, cache=False) != before


def test_a_touched_but_unchanged_input_still_hits(region, monkeypatch):
    first = _check(region)
    os.utime(region.parent / "example_region.gpkg")  # the checksum, not the time, is what counts
    reads = _Reads(monkeypatch)
    assert _check(region) == first
    assert reads.n == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "another key"])
def test_a_corrupt_entry_is_ignored_and_written_again(region, monkeypatch, damage):
    first = _check(region)
    [entry] = _entries(region)
    data = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"not a pickle at all")
    elif damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:  # a whole entry whose stored key is not the one asked
        stored = pickle.loads(data)
        stored["key"] = {**stored["key"], "request": {"near": [0, 0, 1, 1]}}
        entry.write_bytes(pickle.dumps(stored))
    reads = _Reads(monkeypatch)
    assert _check(region) == first
    assert reads.n == 1
    assert pickle.loads(entry.read_bytes())["format"] == disk.FORMAT  # written again, whole
    _check(region)
    assert reads.n == 1  # and used


def test_cli_no_cache_neither_reads_nor_writes(region, monkeypatch):
    runner = CliRunner()
    cached = runner.invoke(cli, ["check-site", str(region), *CLI_SITE])
    assert cached.exit_code == 0, cached.output
    [entry] = _entries(region)
    entry.write_bytes(pickle.dumps({"format": disk.FORMAT, "key": None, "value": None}))  # would be a miss anyway

    def refuse(*a, **k):
        raise AssertionError("the cache was asked")

    monkeypatch.setattr(disk, "load", refuse)
    monkeypatch.setattr(disk, "store", refuse)
    plain = runner.invoke(cli, ["check-site", str(region), *CLI_SITE, "--no-cache"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output) == json.loads(cached.output)
    assert _entries(region) == [entry]


def test_cli_hit_prints_the_same_json(region, monkeypatch):
    runner = CliRunner()
    first = runner.invoke(cli, ["check-site", str(region), *CLI_SITE])
    assert first.exit_code == 0, first.output
    reads = _Reads(monkeypatch)
    second = runner.invoke(cli, ["check-site", str(region), *CLI_SITE])
    assert second.exit_code == 0, second.output
    assert reads.n == 0
    assert second.output == first.output


def test_an_unwritable_cache_folder_is_no_error(region, monkeypatch):
    blocker = region.parent / "a-file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("SPATIALPROG_CACHE_DIR", str(blocker / "cache"))  # below a file: cannot be made
    assert _check(region) == _check(region, cache=False)


def test_a_database_layer_is_not_cacheable(region):
    text = region.read_text(encoding="utf-8") + (
        '\n[constraints.db]\npath = "postgresql://planner@localhost/plan"\ntable = "natura"\n')
    region.write_text(text, encoding="utf-8")
    project = load_project(region)
    assert disk.not_cacheable(project) == "constraints.db is read from a database"
    assert disk.make_key(project, {"near": [0, 0, 1, 1]}) is None
    assert disk.load(None) is None and disk.store(None, object()) is None
    assert _entries(region) == []


def test_every_input_is_in_the_key(region):
    project = load_project(region)
    inputs = disk.input_checksums(project)
    folder = region.parent.resolve()
    for name in ("check.toml", "example_region.toml", "example_region.gpkg", "laadpleinen.geojson",
                 "example_province.geojson", "varianten.csv", "regels.csv"):
        assert str(folder / name) in inputs, name
    assert any(p.endswith("data/parameters.toml") for p in inputs)
    assert any(p.endswith("data/status_classes.csv") for p in inputs)
    assert all(len(s) == 64 for s in inputs.values())


def test_clear_removes_the_entries(region):
    _check(region)
    assert _entries(region)
    assert disk.clear() >= 1
    assert _entries(region) == []


def test_a_hit_on_the_example_region_equals_the_check_against_the_whole_run(example_result, tmp_path, monkeypatch):
    """check-site = the run with the site added, answered from the cache too (only the box read differs)."""
    monkeypatch.setenv("SPATIALPROG_CACHE_DIR", str(tmp_path / "cache"))
    example = ROOT / "layers" / "example_region.toml"
    whole = json.loads(json.dumps(report_dict(check_sites(example_result, SITE, PROG))))
    check_sites(example, SITE, PROG, cache=True)
    reads = _Reads(monkeypatch)
    hit = json.loads(json.dumps(report_dict(check_sites(example, SITE, PROG, cache=True))))
    assert reads.n == 0
    assert whole["project"].pop("read_bbox") is None and hit["project"].pop("read_bbox") is not None
    assert hit == whole
