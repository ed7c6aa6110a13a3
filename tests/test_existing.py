"""Existing apart from new: features already connected are shown and counted, never added to the load again.

Runs the bundled real example (layers/utrecht: real VIVET stations, NDW charging points as existing demand,
fictional plans) and small variants of it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.pipeline import compute, read_plan

ROOT = Path(__file__).resolve().parents[1]
UTRECHT = ROOT / "layers" / "utrecht" / "utrecht.toml"


def utrecht(**layer_changes):
    cfg = tomllib.loads(UTRECHT.read_text(encoding="utf-8"))
    for layer, change in layer_changes.items():
        cfg["layers"][layer].update(change)
    cfg["conflicts"] = {"enabled": False}
    return project_from_dict(cfg, root=UTRECHT.parent)


@pytest.fixture(scope="module")
def as_existing():
    return compute(read_plan(utrecht()))


def new_load(result):
    h = result.headroom
    return h[(h[F.DIRECTION] == F.OFFTAKE)].groupby(F.YEAR)[F.NEW_LOAD_MW].sum()


def test_existing_charging_points_are_counted_but_not_added(as_existing):
    r = as_existing
    d = r.demand
    charging = d[d[F.LAYER] == "charging_hubs"]
    assert charging["existing"].all() and charging[F.SITE_ID].nunique() == 6823
    assert not d[d[F.LAYER] != "charging_hubs"]["existing"].any()
    # the new load is the fictional plans' demand alone: existing demand is not in the allocated load
    assert (r.allocated[F.LAYER] != "charging_hubs").all()
    plans = d[(d[F.LAYER] != "charging_hubs")].groupby(F.YEAR)[F.OFFTAKE_MW].sum()
    got = new_load(r)
    assert np.allclose(got.reindex(plans.index), plans, atol=1e-9)
    # ... and the charging MW appear in the scale sums, as existing
    from spatialprog.scales import scale_sums
    s = scale_sums(r)
    region = s[(s["level"] == "municipality") & (s[F.YEAR] == 2030)]
    assert region["existing_offtake_mw"].sum() == pytest.approx(charging[charging[F.YEAR] == 2030][F.OFFTAKE_MW].sum(),
                                                                rel=1e-6)
    # the gap in dates is said once, with the number of features
    msgs = [n.message for n in r.notices if n.field == "snapshot_date"]
    assert len(msgs) == 1 and "snapshot 2026-06-07 is later than the reference dates of" in msgs[0]
    assert "6823 existing features" in msgs[0]


def test_after_reference_new_adds_the_snapshot_as_new_load(as_existing):
    r = compute(read_plan(utrecht(charging_hubs={"after_reference": "new"})))
    charging = r.demand[r.demand[F.LAYER] == "charging_hubs"]
    extra = new_load(r) - new_load(as_existing)
    # conservation: everything the points draw (assigned within the region) is added, nothing else
    assigned = r.allocated[r.allocated[F.LAYER] == "charging_hubs"].groupby(F.YEAR)[F.OFFTAKE_MW].sum()
    assert np.allclose(extra.reindex(assigned.index), assigned)
    assert assigned.max() == pytest.approx(charging.groupby(F.YEAR)[F.OFFTAKE_MW].sum().max(), rel=0.02)


def test_connection_date_before_the_reference_date_is_existing_after_it_new(tmp_path):
    # two points next to Utrecht Lage weide 50 kV (reference date 2023-04-23): one connected before, one after
    pts = gpd.GeoDataFrame({"code": ["OLD", "NEW", "PLAN"], "kw": [500.0, 700.0, 900.0],
                            "aangesloten": ["2022-06-01", "2024-02-01", None],
                            "status": [None, None, "planned"]},
                           geometry=[Point(133300, 457300), Point(133350, 457300), Point(133400, 457300)], crs=28992)
    path = tmp_path / "laden.gpkg"
    pts.to_file(path, layer="laden")
    r = compute(read_plan(utrecht(charging_hubs={
        "path": str(path), "layer": "laden", "snapshot_date": None,
        "columns": {"id": "code", "kw_per_point": "kw", "connection_date": "aangesloten", "status": "status"},
        "constants": {"charge_points": 1, "segment": "freight", "year": 2025}})))
    a = r.allocated[r.allocated[F.LAYER] == "charging_hubs"]
    assert sorted(a[F.SITE_ID].unique()) == ["NEW", "PLAN"]
    d = r.demand[(r.demand[F.LAYER] == "charging_hubs")].drop_duplicates(F.SITE_ID).set_index(F.SITE_ID)
    assert d["existing"].to_dict() == {"OLD": True, "NEW": False, "PLAN": False}


def test_make_demo_real_runs_the_utrecht_example(tmp_path):
    out = tmp_path / "utrecht"
    p = subprocess.run([sys.executable, "-m", "spatialprog", "run", str(UTRECHT), "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "the direction agrees at" in p.stdout
    c = pd.read_csv(out / "operator_comparison.csv")
    assert set(c[F.DIRECTION]) == {"offtake", "feedin"} and c[F.SUBSTATION_ID].nunique() == 16
    assert (out / "operator_comparison.txt").read_text(encoding="utf-8").startswith("Operators' forecast beside ours")
    cap = pd.read_csv(out / "capacity.csv").set_index(F.SUBSTATION_ID)
    assert cap.loc["Utrecht Lage weide 50 kV", "unserved_queue_offtake_mva"] == 100
    # the map's popup draws the operator's forecast beside ours and lists it
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "volgens de netbeheerder (MVA; afname 2026: 0, 2028: 0, 2033: 20" in html


def test_check_site_shows_the_operators_forecast_beside_ours(tmp_path):
    """A fictional neighbourhood next to Lage weide: the answer names the operator's figures for its station."""
    p = subprocess.run([sys.executable, "-m", "spatialprog", "check-site", str(UTRECHT), "133300,457400",
                        "--radius", "150", "--dwellings", "200", "--heating", "all_electric", "--start-year", "2027",
                        "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    import json
    check = json.loads(p.stdout)
    checks = check["sites"]
    serving = checks[0]["serving"]
    lage = next(s for s in serving if s["substation_id"] == "Utrecht Lage weide 50 kV")
    assert [(f["year"], f["operator_available_mva"], f["ours_available_mva"]) for f in lage["operator_forecast"]] == [
        (2026, 0.0, 0.0), (2028, 0.0, 0.0), (2033, 20.0, 0.0)]
