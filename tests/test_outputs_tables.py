"""The run's tables: Parquet beside the CSV on request, and the per-site substation list of results.gpkg."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialprog import fields as F
from spatialprog.outputs import _joined_substations, result_tables, write_run

WHEN = datetime(2026, 3, 14)


def test_parquet_beside_every_csv_and_the_csv_unchanged(example_result, tmp_path):
    plain = write_run(example_result, tmp_path / "plain", run_date=WHEN)
    both = write_run(example_result, tmp_path / "both", run_date=WHEN, parquet=True)
    tables = result_tables(example_result)
    names = {p.name for p in both}
    for name, df in tables.items():
        assert f"{name}.parquet" in names
        back = pd.read_parquet(tmp_path / "both" / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, df.reset_index(drop=True), check_dtype=False)
    for p in plain:  # the same CSVs, workbook and GeoPackage; only the manifest lists more files
        if p.name != "manifest.json":
            assert (tmp_path / "both" / p.name).read_bytes() == p.read_bytes(), p.name
    listed = json.loads((tmp_path / "both" / "manifest.json").read_text())["outputs"]
    assert {f"{n}.parquet" for n in tables} <= set(listed)
    assert not any(n.endswith(".parquet") for n in json.loads((tmp_path / "plain" / "manifest.json").read_text())
                   ["outputs"])


def _plain_join(asg: pd.DataFrame) -> pd.Series:
    """What results.gpkg held before: a groupby with a function per site."""
    return asg.sort_values([F.LAYER, F.SITE_ID, "_o"]).groupby([F.LAYER, F.SITE_ID])[F.SUBSTATION_ID].agg(
        lambda s: ";".join(s))


def test_joined_substations_by_hand():
    asg = pd.DataFrame({F.LAYER: ["housing", "housing", "housing", "business"],
                        F.SITE_ID: ["W1", "W1", "W2", "W1"], F.SUBSTATION_ID: ["OS2", "OS1", "OS3", "OS1"]})
    got = _joined_substations(asg.assign(_o=asg[F.SUBSTATION_ID]))
    assert got.to_dict() == {("business", "W1"): "OS1", ("housing", "W1"): "OS1;OS2", ("housing", "W2"): "OS3"}


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["housing", "business"]), st.sampled_from(["1", "2", "10", "x;y"]),
                               st.sampled_from(["OS1", "OS2", "OS10", "=A"])), max_size=30, unique=True))
def test_joined_substations_equals_the_plain_groupby(rows):
    asg = pd.DataFrame(rows, columns=[F.LAYER, F.SITE_ID, F.SUBSTATION_ID], dtype="str")
    asg["_o"] = asg[F.SUBSTATION_ID]
    got = _joined_substations(asg)
    want = _plain_join(asg) if len(asg) else got
    key = pd.MultiIndex.from_arrays([asg[F.LAYER], asg[F.SITE_ID]])
    assert got.reindex(key).tolist() == want.reindex(key).tolist()


def test_run_parquet_from_the_command_line(tmp_path):
    """``spatialprog run --parquet``: the long tables as Parquet beside their CSVs, with the same rows and numbers,
    listed in the manifest; without the flag none."""
    from pathlib import Path

    from click.testing import CliRunner

    from spatialprog.cli import cli
    from spatialprog.writer import read_csv

    example = Path(__file__).resolve().parents[1] / "layers" / "example_region.toml"
    r = CliRunner().invoke(cli, ["run", str(example), "--out", str(tmp_path / "out"), "--variant", "basis",
                                 "--no-maps", "--no-qgis", "--parquet"], obj={}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    for name in ("demand", "headroom", "assignment"):
        pq = pd.read_parquet(out / f"{name}.parquet")
        csv = read_csv(out / f"{name}.csv")
        assert list(pq.columns) == list(csv.columns) and len(pq) == len(csv) > 0, name
        for c in pq.columns:
            if pd.api.types.is_float_dtype(pq[c]):  # the CSV's floats are the Parquet's to 6 significant digits
                pd.testing.assert_series_equal(pq[c], csv[c].astype(float), check_exact=False, rtol=1e-5,
                                               check_names=False)
    assert "demand.parquet" in json.loads((out / "manifest.json").read_text())["outputs"]
    r = CliRunner().invoke(cli, ["run", str(example), "--out", str(tmp_path / "plain"), "--variant", "basis",
                                 "--no-maps", "--no-qgis"], obj={}, catch_exceptions=False)
    assert r.exit_code == 0 and not list((tmp_path / "plain").glob("*.parquet"))
