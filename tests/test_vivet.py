"""The real VIVET capacity file loads through the ready mapping and reproduces its published figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.pipeline import compute, read_plan

from .conftest import realdata


@pytest.fixture(scope="module")
def vivet():
    path = realdata("substations_nl_vivet", "vivet_stations_capacity_nl.geojson")
    project = project_from_dict({
        "project": {"name": "VIVET", "base_year": 2023, "horizon": [2023, 2030]},
        "layers": {"substations": {"path": str(path), "mapping": "vivet"}},
        "assignment": {"method": "voronoi"},
    })
    raw = json.loads(path.read_text(encoding="utf-8"))
    props = pd.DataFrame([f["properties"] for f in raw["features"]])
    return compute(read_plan(project)), props


def num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.strip(), errors="coerce")


@pytest.mark.realdata
def test_all_282_stations_load(vivet):
    result, props = vivet
    subs = result.plan.layers["substations"]
    assert len(subs) == 282 == len(props)
    assert subs.crs.to_epsg() == 28992
    # numbers published as strings were read as numbers, and said so
    assert any("stored as text" in n.message for n in result.notices)


@pytest.mark.realdata
def test_capacity_and_current_headroom_reproduced_without_new_demand(vivet):
    result, props = vivet
    h = result.headroom
    base = h[(h[F.YEAR] == 2023) & (h[F.VARIANT] == "basis")]
    for direction, total, avail in [("offtake", "totale_capaciteit_afname_mva", "beschikbare_capaciteit_afname_huidig_mva"),
                                    ("feedin", "totale_capaciteit_invoeding_mva",
                                     "beschikbare_capaciteit_invoeding_huidig_mva")]:
        got = base[base[F.DIRECTION] == direction].set_index(F.SUBSTATION_ID)
        exp = props.set_index("station")
        cap = num(exp[total])
        ok = cap.notna() & num(exp[avail]).notna()
        assert ok.sum() > 250
        assert np.allclose(got.loc[cap[ok].index, F.CAPACITY_MW], cap[ok])
        assert np.allclose(got.loc[cap[ok].index, F.HEADROOM_MW], num(exp[avail])[ok])
        assert (got[F.NEW_LOAD_MW] == 0).all()
    # 176 of 282 stations publish 0 offtake headroom: all in the worst class
    off = base[base[F.DIRECTION] == "offtake"]
    assert (off[F.HEADROOM_MW] <= 0).sum() == 176
    assert (off.loc[off[F.HEADROOM_MW] <= 0, F.STATUS] == "congestie").all()


@pytest.mark.realdata
def test_planned_investments_become_reinforcements(vivet):
    result, props = vivet
    r = result.reinforcements
    assert len(r) > 50
    yrs = num(props["investeringsplanning_tijd_afname"])
    mva = num(props["investeringsplanning_vermogen_afname"])
    expected = int(((yrs.notna()) & (mva > 0)).sum())
    assert len(r) == expected
