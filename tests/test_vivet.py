"""The real VIVET capacity file, read as the operators mean it; hand checks on named stations.

Stations and figures from ../shared/realdata/substations_nl_vivet (README there):
Almelo Mosterdpot (Enexis, 2023-02-01): offtake 58 MVA, 1 available, +24 MVA in 2026;
  feed-in 78 MVA, 0 available, +22 MVA in 2030.
OS BIJLMER NOORD (Liander, 2023-04-21): 138 MVA, +40 MVA dated 2020 (before the reference date).
Utrecht Lage weide 50 kV (Stedin, 2023-04-23): offtake 200 MVA, 0 available, +100 MVA in 2025,
  operator forecast 0 in 2026 and 2028, 20 in 2033.
Aarle-Rixtel (Enexis, 2023-02-01): offtake 75 MVA, 0 available, no investment.
43003 (Westland Infra, 2021-11-04): offtake capacity 2 MVA, 6 published as available.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.operator_comparison import comparison_summary, trend
from spatialprog.pipeline import compute, read_plan

from .conftest import realdata

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def vivet():
    path = realdata("substations_nl_vivet", "vivet_stations_capacity_nl.geojson")
    project = project_from_dict({
        "project": {"name": "VIVET", "base_year": 2023, "horizon": [2023, 2040]},
        "layers": {"substations": {"path": str(path), "mapping": "vivet"}},
        "assignment": {"method": "voronoi"},
    })
    raw = json.loads(path.read_text(encoding="utf-8"))
    props = pd.DataFrame([f["properties"] for f in raw["features"]])
    return compute(read_plan(project), conflicts=False), props


def num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.strip(), errors="coerce")


def series(result, sid, direction, column=F.HEADROOM_MW):
    h = result.headroom
    h = h[(h[F.SUBSTATION_ID] == sid) & (h[F.DIRECTION] == direction) & (h[F.VARIANT] == "basis")]
    return h.set_index(F.YEAR)[column]


def notices_of(result, sid):
    return [n.message for n in result.notices if n.feature == sid]


def test_all_282_stations_load(vivet):
    result, props = vivet
    subs = result.plan.layers["substations"]
    assert len(subs) == 282 == len(props)
    assert subs.crs.to_epsg() == 28992
    assert any("stored as text" in n.message for n in result.notices)


def test_each_station_starts_from_its_own_reference_date(vivet):
    result, props = vivet
    cap = result.capacity.set_index(F.SUBSTATION_ID)
    assert cap.loc["Almelo Mosterdpot", "reference_date"] == "2023-02-01"
    assert cap.loc["43003", "reference_date"] == "2021-11-04"
    assert set(cap["reference_date"]) == {"2021-11-04", "2023-02-01", "2023-04-21", "2023-04-23"}


def test_published_availability_reproduced_at_the_reference_date(vivet):
    """At its reference date (2023 for 269 stations, the base year), our headroom is the published figure."""
    result, props = vivet
    exp = props.set_index("station")
    exp.index = exp.index.astype(str)
    at_2023 = exp[exp["peildatum"].str.startswith("2023")].index
    for direction, total, avail in [("offtake", "totale_capaciteit_afname_mva", "beschikbare_capaciteit_afname_huidig_mva"),
                                    ("feedin", "totale_capaciteit_invoeding_mva",
                                     "beschikbare_capaciteit_invoeding_huidig_mva")]:
        h = result.headroom
        got = h[(h[F.YEAR] == 2023) & (h[F.DIRECTION] == direction)].set_index(F.SUBSTATION_ID)
        c, a = num(exp[total]).loc[at_2023], num(exp[avail]).loc[at_2023]
        ok = c.notna() & a.notna() & (a <= c)
        assert ok.sum() > 250
        # investments dated 2023 are in the 2023 figures: capacity is the published total
        assert np.allclose(got.loc[ok[ok].index, F.CAPACITY_MW], c[ok])
        assert np.allclose(got.loc[ok[ok].index, F.HEADROOM_MW], a[ok])
        assert np.allclose(got.loc[ok[ok].index, F.RESERVED_MW], (c - a)[ok])
        assert (got[F.NEW_LOAD_MW] == 0).all()


def test_almelo_mosterdpot_offtake_and_feedin_investments_apart(vivet):
    result, _ = vivet
    off = series(result, "Almelo Mosterdpot", "offtake", F.CAPACITY_MW)
    feed = series(result, "Almelo Mosterdpot", "feedin", F.CAPACITY_MW)
    assert off[2025] == 58 and off[2026] == 58 + 24 and off[2040] == 82
    # feed-in gets its own +22 in 2030, never the offtake +24
    assert feed[2026] == 78 and feed[2029] == 78 and feed[2030] == 100
    r = result.reinforcements
    rows = r[r[F.SUBSTATION_ID] == "Almelo Mosterdpot"].set_index(F.DIRECTION)
    assert rows.loc["offtake", F.YEAR] == 2026 and rows.loc["feedin", F.YEAR] == 2030
    # the operator's offtake forecast rises by 24 at 5 years (2028): the investment frees it, no queue
    cap = result.capacity.set_index(F.SUBSTATION_ID)
    assert cap.loc["Almelo Mosterdpot", "unserved_queue_offtake_mva"] == 0
    assert series(result, "Almelo Mosterdpot", "offtake")[2028] == pytest.approx(1 + 24)


def test_os_bijlmer_noord_investment_before_its_reference_date_is_not_added_again(vivet):
    result, _ = vivet
    cap = series(result, "OS BIJLMER NOORD", "offtake", F.CAPACITY_MW)
    assert (cap == 138).all()
    assert not (result.reinforcements[F.SUBSTATION_ID] == "OS BIJLMER NOORD").any()
    assert any("dated 2020, in or before the reference year 2023: already in the published figures" in m
               for m in notices_of(result, "OS BIJLMER NOORD"))


def test_a_station_that_publishes_0_is_reserved_not_a_peak(vivet):
    """Aarle-Rixtel: 75 MVA all reserved; the peak is 0.8 x 75 = 60 MW and grows 1.5 %/year from 2023."""
    result, _ = vivet
    head = series(result, "Aarle-Rixtel", "offtake")
    peak = series(result, "Aarle-Rixtel", "offtake", F.PEAK_MW)
    reserved = series(result, "Aarle-Rixtel", "offtake", F.RESERVED_MW)
    assert (reserved == 75).all()
    assert peak[2023] == pytest.approx(60.0) and peak[2030] == pytest.approx(60 * 1.015 ** 7)
    # 0 available stays 0 (never negative) until the grown peak passes the reserved capacity: 2038
    assert (head.loc[2023:2037] == 0).all()
    assert head[2038] == pytest.approx(75 - 60 * 1.015 ** 15) and head[2038] < 0


def test_availability_above_capacity_is_reported_not_a_negative_load(vivet):
    result, _ = vivet
    assert any("available offtake capacity 6 MVA is above the capacity 2 MVA" in m for m in notices_of(result, "43003"))
    assert (series(result, "43003", "offtake", F.EXISTING_LOAD_MW) >= 0).all()
    assert series(result, "43003", "offtake")[2023] == pytest.approx(2.0)  # the capacity, not 6
    cap = result.capacity.set_index(F.SUBSTATION_ID)
    for sid in ("43003", "43126", "44276"):
        assert cap.loc[sid, "reserved_offtake_mva"] == 0
        assert "above the capacity" in cap.loc[sid, "basis_note"]


def test_lage_weide_unserved_queue(vivet):
    """+100 MVA in 2025, the operator's forecast still 0 in 2026 (3 years) and 2028: a queue of 100 MVA."""
    result, _ = vivet
    sid = "Utrecht Lage weide 50 kV"
    cap = result.capacity.set_index(F.SUBSTATION_ID).loc[sid]
    assert cap["unserved_queue_offtake_mva"] == 100 and cap["unserved_queue_offtake_from_year"] == 2025
    assert series(result, sid, "offtake", F.CAPACITY_MW)[2025] == 300
    assert series(result, sid, "offtake", F.RESERVED_MW)[2025] == 300
    head = series(result, sid, "offtake")
    assert head[2024] == 0 and head[2026] == 0 and head[2028] == 0   # the operator's 0, not +100
    assert any("unserved queue of 100 MVA" in m for m in notices_of(result, sid))
    c = result.operator_comparison
    row = c[(c[F.SUBSTATION_ID] == sid) & (c[F.DIRECTION] == "offtake")].set_index("horizon_years")
    assert row.loc[3, F.YEAR] == 2026 and row.loc[5, F.YEAR] == 2028 and row.loc[10, F.YEAR] == 2033
    assert row.loc[5, "ours_available_mva"] == 0 == row.loc[5, "operator_available_mva"]
    assert row.loc[10, "operator_available_mva"] == 20 and row.loc[10, "ours_trend"] == "flat"
    assert "frees 20 MVA more" in row.loc[10, "explained_by"]


def test_operator_forecast_beside_ours_in_the_same_calendar_years(vivet):
    result, props = vivet
    c = result.operator_comparison
    assert set(c["horizon_years"]) == {3, 5, 10}
    assert c.groupby([F.SUBSTATION_ID, F.DIRECTION]).size().max() == 3
    assert len(c[(c["horizon_years"] == 5) & (c[F.DIRECTION] == "offtake")]) == 282
    # the year is the station's reference year + the horizon, never interpolated
    ref = pd.to_datetime(c["reference_date"]).dt.year
    assert (c[F.YEAR] == ref + c["horizon_years"]).all()
    assert (c["difference_mva"] == c["ours_available_mva"] - c["operator_available_mva"]).all()
    assert (c["trends_agree"] == (c["ours_trend"] == c["operator_trend"])).all()
    assert trend(c["operator_change_mva"], 1.0).tolist() == c["operator_trend"].tolist()
    # the headroom table shows the operator's figure in the years it gives one, blank in the others
    h = result.headroom
    h = h[(h[F.SUBSTATION_ID] == "Almelo Mosterdpot") & (h[F.DIRECTION] == "offtake")].set_index(F.YEAR)
    assert h.loc[2026, F.OPERATOR_AVAILABLE_MVA] == 1 and h.loc[2028, F.OPERATOR_AVAILABLE_MVA] == 25
    assert h.loc[2033, F.OPERATOR_AVAILABLE_MVA] == 25 and h[F.OPERATOR_AVAILABLE_MVA].notna().sum() == 4
    text = comparison_summary(c)
    agree = int(c[(c["horizon_years"] == 5) & (c[F.DIRECTION] == "offtake")]["trends_agree"].sum())
    assert f"afname: the direction agrees at {agree} of 282 stations" in text
