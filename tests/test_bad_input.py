"""Every bad input a one-line answer ("Nothing lost, nobody in").

Each case of the issue has a test here that asserts the one line a user gets
(exit code 2 through the command line where it is a CLI behaviour) and that
nothing says "internal error":

* faults: disk full / GDAL failing to commit, Ctrl-C at any moment, a symlink
  loop, a project file nested thousands deep or too large, a 50 MB value or
  project name;
* bad values: implausible numbers (1e12 dwellings), a 0 MVA substation,
  overlapping service areas, NaN coordinates, an empty GeoJSON layer, Z
  coordinates, a layer without CRS holding RD numbers, the part of a site
  outside every service area, transformer ratings given as a list.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from spatialprog import fields as F
from spatialprog.cli import cli
from spatialprog.config import (
    MAX_DEPTH,
    MAX_PROJECT_BYTES,
    load_project,
    project_from_dict,
    toml_depth,
)
from spatialprog.errors import (
    CRSError,
    LayerReadError,
    LayerValidationError,
    NoticeLog,
    ProjectError,
)
from spatialprog.headroom import firm_capacity, transformer_units
from spatialprog.layers import LayerSource, read_layer, validate_layer
from spatialprog.network import assign_sites
from spatialprog.params import load_parameters

from .conftest import ROOT, write_tiny_project

X0, Y0 = 150_000.0, 450_000.0


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def one_line_error(r) -> str:
    """The one line a failed command printed on stderr (asserting it is one, exit 2, no internal error)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(lines) == 1, lines
    assert "internal error" not in r.output and "Traceback" not in r.output
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def subs_frame(**over) -> gpd.GeoDataFrame:
    data = {"id": ["A", "B"], "voltage_kv": ["150/20", "110/10"], "n_transformers": [2, 1],
            "transformer_mva": [40.0, 30.0], "peak_offtake_mw": [20.0, 10.0]}
    data.update(over)
    return gpd.GeoDataFrame(data, geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 500)], crs="EPSG:28992")


def housing(**over) -> gpd.GeoDataFrame:
    data = {"id": ["H1", "H2"], "dwellings": [100, 50], "delivery_start_year": [2026, 2027], "heating": ["gas", "hybrid"]}
    data.update(over)
    return gpd.GeoDataFrame(data, geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
                            crs="EPSG:28992")


def lines_of(e: LayerValidationError) -> list[str]:
    return e.lines()


# ---- faults ---------------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path, tiny_housing) -> Path:
    return write_tiny_project(tmp_path, housing=tiny_housing)


def test_disk_full_while_writing_is_one_line_exit_2(tiny, tmp_path, monkeypatch):
    import spatialprog.workflow

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "headroom.csv"))

    monkeypatch.setattr(spatialprog.workflow, "run", full)
    r = invoke("run", str(tiny), "--out", str(tmp_path / "out"))
    assert one_line_error(r) == (f"no space left on the disk: '{tmp_path / 'out' / 'headroom.csv'}' - free space, or "
                                 f"write to another disk with --out, and run again")


@pytest.mark.parametrize("code,words", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system"),
                                        (errno.EDQUOT, "disk quota exceeded")])
def test_other_machine_faults_are_one_line_exit_2(tiny, tmp_path, monkeypatch, code, words):
    import spatialprog.workflow

    def fault(*a, **kw):
        raise OSError(code, os.strerror(code), "out")

    monkeypatch.setattr(spatialprog.workflow, "run", fault)
    assert one_line_error(invoke("run", str(tiny), "--out", str(tmp_path / "out"))).startswith(f"{words}: 'out' - ")


def test_gdal_failing_to_commit_is_one_line_exit_2(tiny, tmp_path, monkeypatch):
    import spatialprog.workflow

    def commit(*a, **kw):
        raise pyogrio.errors.DataSourceError("Failed to commit transaction")

    monkeypatch.setattr(spatialprog.workflow, "run", commit)
    assert one_line_error(invoke("run", str(tiny), "--out", str(tmp_path / "out"))) == (
        "GDAL could not write: Failed to commit transaction - is the disk full, or the output folder not writable? "
        "Free space or choose another --out, and run again")


def test_a_bug_is_still_reported_as_one(tiny, tmp_path, monkeypatch):
    """The faults above are the user's machine; a real bug keeps saying so (exit 1), so it gets reported."""
    import spatialprog.workflow

    def bug(*a, **kw):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(spatialprog.workflow, "run", bug)
    r = invoke("run", str(tiny), "--out", str(tmp_path / "out"))
    assert r.exit_code == 1 and "internal error: ZeroDivisionError" in r.stderr


def test_ctrl_c_during_a_command_is_one_line_exit_130(tiny, tmp_path, monkeypatch):
    import spatialprog.workflow

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(spatialprog.workflow, "run", interrupted)
    r = invoke("run", str(tiny), "--out", str(tmp_path / "out"))
    assert r.exit_code == 130
    assert r.stderr.strip() == "interrupted; previous outputs are left as they were"


def test_ctrl_c_while_arguments_are_read_is_one_line_exit_130(monkeypatch):
    import click

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(click.Group, "parse_args", interrupted)
    r = invoke("validate", "x.toml")
    assert r.exit_code == 130 and r.stderr.strip() == "interrupted; previous outputs are left as they were"


def test_ctrl_c_at_any_moment_of_a_real_process_is_one_line_exit_130():
    """SIGINT at moments from start-up (imports) to the end of `validate`: one line and 130, or a finished run.

    The first ~30 ms (more on a loaded machine) are Python's own start-up, before any spatialprog code runs:
    not tested.
    """
    seen = set()
    for delay in (0.06, 0.12, 0.25, 0.5, 0.9):
        p = subprocess.Popen([sys.executable, "-m", "spatialprog", "validate", "layers/example_region.toml"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        frames = re.findall(r'File "([^"]+)"', err)
        if "init_import_site" in err or (frames and all(f.startswith("<frozen") for f in frames)):
            continue  # still in Python's own start-up (site, runpy finding the module; a loaded machine): not ours
        if p.returncode == 0:  # finished before the signal (or while Python shut down): the whole answer is there
            assert "valid:" in out and not err.strip()
            seen.add("finished")
        else:
            assert p.returncode == 130, (delay, p.returncode, err)
            assert err.strip() == "interrupted; previous outputs are left as they were", err
            seen.add("interrupted")
    assert "interrupted" in seen


def test_symlink_loop_on_a_layer_path(tmp_path):
    (tmp_path / "a.gpkg").symlink_to(tmp_path / "b.gpkg")
    (tmp_path / "b.gpkg").symlink_to(tmp_path / "a.gpkg")
    toml = tmp_path / "p.toml"
    toml.write_text('[layers.substations]\npath = "a.gpkg"\n')
    line = one_line_error(invoke("validate", str(toml)))
    assert line == (f"layers.substations: '{tmp_path / 'a.gpkg'}' is a symbolic link that points back at itself (a "
                    f"loop) - point 'path' in the project file at the file itself")
    with pytest.raises(LayerReadError, match="points back at itself"):
        read_layer(LayerSource(path=tmp_path / "a.gpkg"), "substations")


def test_symlink_loop_as_the_project_file(tmp_path):
    (tmp_path / "p.toml").symlink_to(tmp_path / "q.toml")
    (tmp_path / "q.toml").symlink_to(tmp_path / "p.toml")
    assert one_line_error(invoke("validate", str(tmp_path / "p.toml"))) == (
        f"p.toml: '{tmp_path / 'p.toml'}' is a symbolic link that points back at itself - point it at the file")


@pytest.mark.parametrize("body,line", [
    ("x = " + "[" * 5000 + "]" * 5000 + "\n",
     "deep.toml: arrays and inline tables nest 5000 levels deep, more than the limit of 32 - check the file for "
     "runaway brackets"),
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
     "deep.toml: arrays and inline tables nest 3000 levels deep, more than the limit of 32 - check the file for "
     "runaway brackets"),
    (".".join(["a"] * 100_000) + " = 1\n",
     "deep.toml: a dotted key has 100000 parts, more than the limit of 32 - check the file's keys"),
    ("[" + ".".join(["t"] * 50) + "]\nx = 1\n",
     "deep.toml: a dotted key has 50 parts, more than the limit of 32 - check the file's keys"),
])
def test_project_file_nested_thousands_deep(tmp_path, body, line):
    toml = tmp_path / "deep.toml"
    toml.write_text(body)
    assert one_line_error(invoke("validate", str(toml))) == line


def test_depth_is_counted_outside_strings_and_comments():
    text = '[layers.x]\nname = "[[[[{{{{ a.b.c.d.e.f "  # ]]]] [[[[ x.y.z.w\ncolumns = { id = "a" }\n'
    assert toml_depth(text) == (1, 2)
    assert toml_depth((ROOT / "layers" / "example_region.toml").read_text()) < (MAX_DEPTH, MAX_DEPTH)


def test_project_file_too_large(tmp_path):
    toml = tmp_path / "big.toml"
    toml.write_text('[project]\nname = "x"\ndescription = "' + "y" * (2 * MAX_PROJECT_BYTES) + '"\n')
    assert one_line_error(invoke("validate", str(toml))) == (
        "big.toml: the file is 2.0 MiB, more than the limit of 1 MiB - a project file names the layers, it does not "
        "hold their data")


def test_project_file_not_utf8(tmp_path):
    toml = tmp_path / "latin1.toml"
    toml.write_bytes('[project]\nname = "Wageningen – Ede"\n'.encode("cp1252"))
    assert one_line_error(invoke("validate", str(toml))) == (
        "latin1.toml: not UTF-8 text (byte 30 is 0x96) - save the file as UTF-8")


def test_50_mb_project_name_does_not_hang_validate(tmp_path):
    """The file limit refuses a 50 MB file at once; a long name in a small file is refused by its own limit.

    (A long name hung ``validate`` in rich's line wrapping, which is superlinear in the lines of a text.)
    """
    big = tmp_path / "big.toml"
    with open(big, "w") as fh:
        fh.write('[project]\nname = "')
        fh.write("x\\n" * (25 * 2**20))
        fh.write('"\n[layers.substations]\npath = "x.gpkg"\n')
    assert "the file is 75.0 MiB, more than the limit of 1 MiB" in one_line_error(invoke("validate", str(big)))
    name = "ab " * 100_000
    with pytest.raises(ProjectError) as e:
        project_from_dict({"project": {"name": name}, "layers": {"substations": {"path": "x"}}})
    # the value is cut to 77 characters, then "..." and its length
    assert str(e.value) == ("project: project.name: String should have at most 500 characters (got '"
                            + "ab " * 25 + "ab... (300,000 characters)')")
    with pytest.raises(ProjectError, match="project.name: the name must be one line"):
        project_from_dict({"project": {"name": "a\nb"}, "layers": {"substations": {"path": "x"}}})


def test_50_mb_value_is_cut_in_the_message(tmp_path):
    """A 50 MB cell is echoed as about 80 characters, once."""
    big = "stoom" + "x" * (50 * 2**20)
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(heating=["gas", big]), "housing_sites")
    assert str(e.value) == ("housing_sites, feature H2, field 'heating': unknown value 'stoom" + "x" * 72
                            + "... (52,428,805 characters)' - use one of: gas, hybrid, all_electric, heat_network (or "
                              "recode it in the project file)")
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(dwellings=[1, big], id=["H1", "y" * 10_000]), "housing_sites")
    line = str(e.value)
    assert len(line) < 400
    assert line.startswith("housing_sites, feature yyyyyyyyyy")
    assert "(10,000 characters), field 'dwellings': value 'stoomxxx" in line


def test_50_mb_value_in_the_project_file_is_cut(tmp_path):
    with pytest.raises(ProjectError) as e:
        project_from_dict({"layers": {"substations": {"path": "x"}}, "assignment": {"method": "n" * 50_000_000}})
    assert str(e.value) == ("project: assignment.method: Input should be 'auto', 'service_areas', 'voronoi' or "
                            "'nearest' (got 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                            "nnn... (50,000,000 characters)')")
    with pytest.raises(ProjectError) as e:
        project_from_dict({"layers": {"substations": {"path": "x"}, "k" * 1_000_000: {"path": "y"}}})
    assert len(str(e.value)) < 300 and "(1,000,000 characters): unknown layer kind" in str(e.value)


# ---- bad values ---------------------------------------------------------------------


def test_1e12_dwellings_names_the_bound(tmp_path):
    with pytest.raises(LayerValidationError) as e:
        validate_layer(housing(dwellings=[100, 1e12]), "housing_sites")
    assert str(e.value) == ("housing_sites, feature H2, field 'dwellings': value 1e+12 is above the plausible maximum "
                            "100000 dwellings (per site; the largest Dutch VINEX sites have about 20,000-30,000 "
                            "dwellings) - dwellings must be <= 100000; check the value and its unit")


def test_1e12_dwellings_through_the_command_line(tmp_path, tiny_housing):
    bad = tiny_housing.copy()
    bad["dwellings"] = bad["dwellings"].astype(float)
    bad.loc[0, "dwellings"] = 1e12
    toml = write_tiny_project(tmp_path, housing=bad)
    assert one_line_error(invoke("validate", str(toml))).startswith(
        "layers.housing_sites, feature H1, field 'dwellings': value 1e+12 is above the plausible maximum 100000 ")


@pytest.mark.parametrize("kind,frame,column,value,bound", [
    ("substations", lambda: subs_frame(), "transformer_mva", 40_000.0, "1000 MVA"),
    ("substations", lambda: subs_frame(installed_mva=[80.0, 1e9]), "installed_mva", 1e9, "2000 MVA"),
    ("substations", lambda: subs_frame(), "peak_offtake_mw", 5e6, "2000 MW"),
    ("housing_sites", lambda: housing(), "delivery_start_year", 3026, None),
])
def test_plausibility_bounds(kind, frame, column, value, bound):
    g = frame()
    g[column] = g[column].astype(float)
    g.loc[1, column] = value
    with pytest.raises(LayerValidationError) as e:
        validate_layer(g, kind)
    line = str(e.value)
    if bound:
        assert f"field '{column}': value {value:g} is above the plausible maximum {bound}" in line
    else:
        assert f"field '{column}': year {value:g} is not plausible - give a year between 1900 and 2100" in line


def test_substation_with_0_mva_is_an_error_unless_planned():
    g = subs_frame(firm_offtake_mva=[0.0, 30.0])
    with pytest.raises(LayerValidationError) as e:
        validate_layer(g, "substations")
    assert str(e.value) == ("substations, feature A, field 'firm_offtake_mva': the substation has 0 MVA capacity and no "
                            "planned reinforcement: nothing could ever connect to it - give its capacity; for a planned "
                            "station give reinforcement_year and reinforcement_mva; leave a decommissioned station out "
                            "of the layer")
    # a station planned for later (VIVET's Riegmeer: 0 MVA, 180 MVA in 2028) is read, with a warning
    notices = NoticeLog()
    out = validate_layer(subs_frame(firm_offtake_mva=[0.0, 30.0], reinforcement_year=[2028, None],
                                    reinforcement_mva=[180.0, None]), "substations", notices=notices)
    assert len(out) == 2
    assert [str(n) for n in notices if n.feature == "A"] == [
        "substations, feature A, field 'firm_offtake_mva': capacity 0 MVA: read as a planned station, in service with "
        "its reinforcement in 2028 (+180 MVA); until then nothing can connect to it"]
    with pytest.raises(LayerValidationError, match="feature B, field 'installed_mva': the substation has 0 MVA"):
        validate_layer(subs_frame(n_transformers=[2, None], transformer_mva=[40.0, None], installed_mva=[None, 0.0]),
                       "substations")


def areas_frame(second: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["SA", "SB"], "substation_id": ["A", "B"]},
                            geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(*second)], crs="EPSG:28992")


def test_overlapping_service_areas_name_both_and_the_overlap():
    # SB starts 100 m inside SA: 100 m x 1000 m = 100,000 m2, 10 % of the smaller area
    with pytest.raises(LayerValidationError) as e:
        validate_layer(areas_frame((X0 + 900, Y0, X0 + 2000, Y0 + 1000)), "service_areas")
    assert str(e.value) == ("service_areas, feature SA, field 'geometry': overlaps area 'SB' (substation 'B') by "
                            "100,000 m2 (10.0% of the smaller area); a site there would be split between substations "
                            "'A' and 'B' - make the service areas meet without overlapping (each place served by one "
                            "substation)")


def test_sliver_overlaps_are_ignored_with_a_notice():
    # a 2 m sliver along the shared border: 2,000 m2 (below 10,000 m2)
    notices = NoticeLog()
    out = validate_layer(areas_frame((X0 + 998, Y0, X0 + 2000, Y0 + 1000)), "service_areas", notices=notices)
    assert len(out) == 2
    assert [str(n) for n in notices] == [
        "service_areas, field 'geometry': 1 sliver overlap between service areas of different substations ignored (at "
        "most 10000 m2 or 0.5% of the smaller area; the largest: SA and SB, 2,000 m2) - a site in a sliver is split "
        "between both by area; tune assignment.overlap_tolerance_m2"]
    # the tolerance is a parameter a project may change
    strict = load_parameters().with_overrides({"assignment.overlap_tolerance_m2": 100,
                                               "assignment.overlap_tolerance_share": 0.0001}, origin="t", where="t")
    with pytest.raises(LayerValidationError, match="overlaps area 'SB' .* by 2,000 m2"):
        validate_layer(areas_frame((X0 + 998, Y0, X0 + 2000, Y0 + 1000)), "service_areas", parameters=strict)


def test_overlapping_service_areas_through_the_command_line(tmp_path, tiny_housing):
    toml = write_tiny_project(tmp_path, housing=tiny_housing)
    areas = areas_frame((X0 + 500, Y0, X0 + 2000, Y0 + 1000))
    areas.to_file(tmp_path / "tiny.gpkg", layer="areas", driver="GPKG")
    assert one_line_error(invoke("validate", str(toml))).startswith(
        "layers.service_areas, feature SA, field 'geometry': overlaps area 'SB' (substation 'B') by 500,000 m2")


def test_nan_coordinates_name_the_feature(tmp_path):
    path = tmp_path / "nan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "S1", "peak_offtake_mw": 1, "installed_mva": 10},
         "geometry": {"type": "Point", "coordinates": [5.1, 52.1]}},
        {"type": "Feature", "properties": {"id": "S2", "peak_offtake_mw": 1, "installed_mva": 10},
         "geometry": {"type": "Point", "coordinates": [5.2, 52.2]}}]}).replace("[5.2, 52.2]", "[NaN, 52.2]"))
    with pytest.raises(LayerValidationError) as e:
        read_layer(LayerSource(path=path, key="layers.substations"), "substations")
    assert str(e.value) == ("layers.substations, feature S2, field 'geometry': coordinate (nan, 52.2) is not a finite "
                            "number - fix the feature's coordinates in the file (NaN or inf come from a failed "
                            "conversion or an empty cell), or remove the feature")
    g = housing()
    g.loc[0, "geometry"] = box(X0, Y0, X0 + np.inf, Y0 + 100)
    with pytest.raises(LayerValidationError, match="feature H1, field 'geometry': coordinate \\(inf, 450000\\) is not"):
        validate_layer(g, "housing_sites")


def test_empty_geojson_layer_is_accepted_whatever_its_columns(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    notices = NoticeLog()
    out = read_layer(LayerSource(path=path, columns={"dwellings": "woningen", "heating": "verwarming"},
                                 key="layers.housing_sites"), "housing_sites", notices=notices)
    assert len(out) == 0 and {"id", "dwellings", "heating", "geometry"} <= set(out.columns)
    assert "layers.housing_sites: the layer is empty; it adds nothing to the results" in [str(n) for n in notices]


def test_empty_layer_runs_through(tmp_path, tiny_housing):
    toml = write_tiny_project(tmp_path, housing=tiny_housing)
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    toml.write_text(toml.read_text() + '\n[layers.charging_hubs]\npath = "empty.geojson"\n'
                                       'columns = { charge_points = "laadpunten" }\n')
    r = invoke("run", str(toml), "--out", str(tmp_path / "out"), "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output


def test_z_coordinates_are_dropped_with_a_notice(tmp_path, tiny_housing):
    z = tiny_housing.copy()
    z["geometry"] = gpd.GeoSeries.from_wkt([f"POLYGON Z (({X0 + 100} {Y0 + 100} 3, {X0 + 300} {Y0 + 100} 3, "
                                            f"{X0 + 300} {Y0 + 300} 4, {X0 + 100} {Y0 + 100} 3))",
                                            f"POLYGON Z (({X0 + 900} {Y0 + 400} 1, {X0 + 1300} {Y0 + 400} 1, "
                                            f"{X0 + 1300} {Y0 + 500} 1, {X0 + 900} {Y0 + 400} 1))"], crs="EPSG:28992")
    notices = NoticeLog()
    out = validate_layer(z, "housing_sites", notices=notices)
    assert not out.geometry.has_z.any()
    assert "housing_sites, field 'geometry': 2 features had Z coordinates (heights); they were dropped: spatialprog " \
           "works in 2D" in [str(n) for n in notices]
    toml = write_tiny_project(tmp_path, housing=z)
    p = subprocess.run([sys.executable, "-m", "spatialprog", "run", str(toml), "--out", str(tmp_path / "out"),
                        "--no-maps", "--no-qgis"], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr
    assert "Warning" not in p.stderr and not p.stderr.strip()  # no library warning leaks
    assert not gpd.read_file(tmp_path / "out" / "results.gpkg", layer="housing_sites").geometry.has_z.any()


def rd_geojson(tmp_path) -> Path:
    """A GeoJSON file without a 'crs' member (WGS84 by its specification) holding RD New numbers."""
    path = tmp_path / "rd.geojson"
    feats = [{"type": "Feature", "properties": {"id": f"H{i}", "dwellings": 10, "heating": "gas",
                                                "delivery_start_year": 2027},
              "geometry": json.loads(gpd.GeoSeries([box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100)]).to_json())[
                  "features"][0]["geometry"]} for i in range(2)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_layer_without_crs_holding_rd_numbers_is_explained(tmp_path):
    path = rd_geojson(tmp_path)
    with pytest.raises(CRSError) as e:
        read_layer(LayerSource(path=path, key="layers.housing_sites"), "housing_sites")
    assert str(e.value) == ('layers.housing_sites: coordinates (150000, 450000) .. (150300, 450100) are not '
                            'longitude/latitude, but the layer\'s CRS is EPSG:4326 (a GeoJSON file without a \'crs\' '
                            'member is WGS84 by its specification) - these numbers look like RD New: add crs = '
                            '"EPSG:28992" to [layers.housing_sites] in the project file, or save the file with its CRS')
    assert "inf" not in str(e.value)
    # and the fix works
    notices = NoticeLog()
    out = read_layer(LayerSource(path=path, key="layers.housing_sites", crs="EPSG:28992"), "housing_sites",
                     notices=notices)
    assert out.total_bounds.tolist() == [X0, Y0, X0 + 300, Y0 + 100]
    assert any("its coordinates are not longitude/latitude: read as the declared EPSG:28992" in n.message
               for n in notices)


def test_layer_without_crs_through_the_command_line(tmp_path, tiny_housing):
    toml = write_tiny_project(tmp_path)
    rd_geojson(tmp_path)
    toml.write_text(toml.read_text() + '\n[layers.housing_sites]\npath = "rd.geojson"\n')
    assert one_line_error(invoke("validate", str(toml))).endswith(
        'these numbers look like RD New: add crs = "EPSG:28992" to [layers.housing_sites] in the project file, or save '
        'the file with its CRS')


# ---- assignment: the part outside every service area ---------------------------------

SUBS3 = gpd.GeoDataFrame({"id": ["A", "B", "C"]}, geometry=[Point(500, 500), Point(1500, 500), Point(500, 3400)],
                         crs="EPSG:28992")
AREAS2 = gpd.GeoDataFrame({"id": ["SA", "SB"], "substation_id": ["A", "B"]},
                          geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs="EPSG:28992")


def test_outside_part_goes_to_the_substation_nearest_to_that_part():
    """Worked out by hand.

    The site x 400-600, y 800-3000 (440,000 m2): 40,000 m2 (y 800-1000) lie in A's area, 400,000 m2 (y 1000-3000)
    outside every area. The whole site is nearest to A (300 m, from y 800; C is 400 m from y 3000), but its
    outside part (y 1000-3000) is 500 m from A and 400 m from C: that part goes to C.
    """
    site = gpd.GeoDataFrame({F.LAYER: ["housing_sites"], F.SITE_ID: ["S"]}, geometry=[box(400, 800, 600, 3000)],
                            crs="EPSG:28992")
    a = assign_sites(site, SUBS3, AREAS2, method="service_areas", max_distance_m=5000).set_index(F.SUBSTATION_ID)
    assert a[F.SHARE].to_dict() == pytest.approx({"A": 1 / 11, "C": 10 / 11})
    assert a.loc["A", F.METHOD] == "service_area" and a.loc["C", F.METHOD] == "nearest"
    assert a.loc["C", F.DIST_M] == pytest.approx(400.0)
    # the outside part beyond max_distance_m from every substation stays unassigned, although the whole site is near
    b = assign_sites(site, SUBS3, AREAS2, method="service_areas", max_distance_m=350)
    assert b[F.METHOD].tolist() == ["service_area", "unassigned"]
    assert b[F.SHARE].tolist() == pytest.approx([1 / 11, 10 / 11])


# ---- transformer lists ---------------------------------------------------------------


@pytest.mark.parametrize("text,units", [("40;40", (40.0, 40.0)), ("2x40", (40.0, 40.0)), ("2 x 40", (40.0, 40.0)),
                                        ("40+40", (40.0, 40.0)), ("2X40 MVA", (40.0, 40.0)),
                                        ("2x40+63", (40.0, 40.0, 63.0)), ("2 × 26,5", (26.5, 26.5))])
def test_transformer_lists_are_read_as_units(text, units):
    assert transformer_units(text) == units


def test_slash_is_not_a_transformer_list():
    g = subs_frame(transformer_mva=["40/40", 30.0], n_transformers=[None, 1])
    with pytest.raises(LayerValidationError) as e:
        validate_layer(g, "substations")
    assert lines_of(e.value) == [
        "substations, feature A, field 'transformer_mva': value '40/40' is not a transformer rating or a list of them "
        "('/' separates voltages or the cooling ratings of one unit, not transformers) - write one rating per "
        "transformer in MVA, e.g. '2x40', '40;40' or '40+63'"]


def test_transformer_list_and_count_must_agree():
    with pytest.raises(LayerValidationError) as e:
        validate_layer(subs_frame(transformer_mva=["2x40", 30.0], n_transformers=[3, 1]), "substations")
    assert str(e.value) == ("substations, feature A, field 'n_transformers': n_transformers is 3 but transformer_mva "
                            "'2x40' lists 2 transformers - make them agree, or leave n_transformers empty")


def test_transformer_lists_give_n_minus_1_in_the_run(tmp_path):
    """A: 150 kV, '2x40' -> installed 80, firm N-1 40; C: 150 kV, '40;63' -> installed 103, firm N-1 40."""
    subs = gpd.GeoDataFrame(
        {"id": ["A", "B", "C"], "voltage_kv": ["150/20", "110/10", "150/10"], "transformer_mva": ["2x40", None, "40;63"],
         "installed_mva": [None, 30.0, None], "peak_offtake_mw": [20.0, 10.0, 5.0]},
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 500), Point(X0 + 1500, Y0 + 900)],
        crs="EPSG:28992")
    toml = write_tiny_project(tmp_path, subs=subs, areas=False)
    out = tmp_path / "out"
    r = invoke("run", str(toml), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output
    got = gpd.read_file(out / "results.gpkg", layer="substations").set_index("id")
    assert got.loc[["A", "B", "C"], "transformer_units_mva"].fillna("").tolist() == ["40;40", "", "40;63"]
    assert got.loc[["A", "C"], "n_transformers"].tolist() == [2, 2]
    assert got.loc[["A", "B", "C"], "installed_mva"].tolist() == [80.0, 30.0, 103.0]
    assert got.loc[["A", "B", "C"], "firm_offtake_mva"].tolist() == [40.0, 30.0, 40.0]
    assert got.loc[["A", "C"], "firm_rule_offtake"].tolist() == ["N-1", "N-1"]
    h = pd.read_csv(out / "headroom.csv")
    h = h[(h.year == 2025) & (h.direction == "offtake") & (h.variant == "basis")].set_index("substation_id")
    assert h.loc["C", "capacity_mw"] == pytest.approx(40.0)


def test_firm_capacity_reads_units():
    s = pd.DataFrame({"id": ["A", "B"], "voltage_kv": ["150/20", "50/10"], "transformer_units_mva": ["40;40;63", "40;63"]})
    cap = firm_capacity(s, load_parameters())
    assert cap["installed_mva"].tolist() == [143.0, 103.0]
    assert cap["firm_offtake_mva"].tolist() == [80.0, 103.0]  # B is below 110 kV: N-0
    assert cap["firm_rule_offtake"].tolist() == ["N-1", "N-0"]


# ---- the project file: loading stays exact ------------------------------------------


def test_example_project_still_loads():
    p = load_project(ROOT / "layers" / "example_region.toml")
    assert p.layers["substations"].parameters is p.parameters


def test_a_ctrl_c_python_could_not_raise_is_raised_again_not_printed():
    """A KeyboardInterrupt that lands in a callback (CPython: "Exception ignored in ...") is sent again."""
    import types

    from spatialprog.cli import _unraisable

    assert sys.unraisablehook is _unraisable
    u = types.SimpleNamespace(exc_value=KeyboardInterrupt(), exc_type=KeyboardInterrupt, exc_traceback=None,
                              err_msg=None, object=None)
    with pytest.raises(KeyboardInterrupt):
        _unraisable(u)
        time.sleep(1.0)  # the signal is handled at the next instruction of the main thread
