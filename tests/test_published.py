"""The operators' published figures: reference dates, reserved capacity, peak, investments, queue (hand checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatialprog import fields as F
from spatialprog.errors import NoticeLog
from spatialprog.headroom import firm_capacity, grid_state
from spatialprog.operator_comparison import operator_comparison
from spatialprog.params import load_parameters
from spatialprog.published import investment_table, reference_years, station_basis

P = load_parameters()
NONE = pd.DataFrame(columns=[F.SUBSTATION_ID, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW])


def station(**kw):
    d = {"id": ["A"], "firm_offtake_mva": [100.0], "firm_feedin_mva": [80.0], "available_offtake_mva": [10.0],
         "available_feedin_mva": [80.0], "reference_date": ["2023-02-01"]}
    d.update(kw)
    return pd.DataFrame(d)


def state(s, years, params=P, base_year=2025, extra=()):
    _, ref = reference_years(s, base_year=base_year)
    inv = investment_table(s, extra, reference_year=dict(zip(s["id"], ref, strict=True)), base_year=base_year)
    basis = station_basis(s, firm_capacity(s, params), params, inv, base_year=base_year)
    return grid_state(s, NONE, params, years, base_year=base_year, reinforcements=inv, basis=basis), basis, inv


def test_headroom_is_capacity_minus_max_of_reserved_and_grown_peak():
    # reserved 90; peak 0.8 x 90 = 72 MW in 2023, +1.5 %/year: passes 90 after 15 years
    st, basis, _ = state(station(), [2023, 2025, 2037, 2038])
    assert basis.reserved_mva["offtake"][0] == 90 and basis.peak_mw["offtake"][0] == pytest.approx(72)
    head = st.headroom_mw("offtake")[0]
    assert head[:3].tolist() == [10.0, 10.0, 10.0]
    assert head[3] == pytest.approx(100 - 72 * 1.015 ** 15)
    # nothing reserved on feed-in (80 of 80 available): no peak either, full headroom
    assert st.headroom_mw("feedin")[0].tolist() == [80.0] * 4


def test_a_measured_peak_is_used_beside_the_reserved_capacity():
    st, basis, _ = state(station(peak_offtake_mw=[95.0]), [2023, 2024])
    assert basis.peak_source["offtake"][0] == "measured"
    assert st.headroom_mw("offtake")[0].tolist() == [pytest.approx(5.0), pytest.approx(100 - 95 * 1.015)]


def test_reserved_growth_is_a_parameter():
    p = P.with_overrides({"grid.reserved_growth_pct_per_year": 10.0}, origin="t", where="t")
    st, _, _ = state(station(), [2023, 2024], params=p)
    assert st.reserved_mw["offtake"][0].tolist() == [pytest.approx(90.0), pytest.approx(99.0)]


def test_reference_date_missing_or_in_the_future_uses_the_base_year_with_a_notice():
    s = pd.DataFrame({"id": ["A", "B", "C", "D"], "reference_date": ["2022-11-04", None, "2031-05-01", "gisteren"]})
    notices = NoticeLog()
    dates, years = reference_years(s, base_year=2025, notices=notices)
    assert dates.tolist() == ["2022-11-04", "2025", "2025", "2025"] and years.tolist() == [2022, 2025, 2025, 2025]
    msgs = {n.feature: n.message for n in notices}
    assert set(msgs) == {"B", "C", "D"}
    assert msgs["B"] == "reference date is missing: the figures are taken as of the base year 2025"
    assert msgs["C"] == "reference date 2031-05-01 is after the base year 2025: the figures are taken as of the base year 2025"
    assert "'gisteren' is not a date" in msgs["D"]


def test_investment_with_a_year_but_no_mva_is_ignored_with_a_notice():
    s = station(reinforcement_offtake_year=[2027], reinforcement_offtake_mva=[np.nan],
                reinforcement_feedin_year=[np.nan], reinforcement_feedin_mva=[12.0])
    notices = NoticeLog()
    inv = investment_table(s, reference_year={"A": 2023}, base_year=2025, notices=notices)
    assert inv.empty
    assert [n.message for n in notices] == ["investment (offtake) with a year (2027) but no MVA: ignored",
                                           "investment (feedin) with 12 MVA but no year: ignored"]


def test_investments_per_direction_from_their_year_and_not_before_the_reference():
    s = station(reinforcement_year=[2027], reinforcement_mva=[20.0], reinforcement_feedin_year=[2023],
                reinforcement_feedin_mva=[50.0])
    st, _, inv = state(s, [2026, 2027], extra=[{"substation": "A", "year": 2022, "added_mva": 5.0,
                                                 "direction": "offtake"}])
    # the transformer adds to both in 2027; the feed-in investment dated 2023 is in the figures; the planner's
    # reinforcement dated 2022 (before the reference year) counts from 2024
    assert st.firm_mva["offtake"][0].tolist() == [105.0, 125.0]
    assert st.firm_mva["feedin"][0].tolist() == [80.0, 100.0]
    assert inv["counted_from_year"].tolist() == [2027, 2024]


def test_unserved_queue_is_investment_minus_the_forecast_change():
    # 0 available, +100 MVA in 2025; the operator's forecast: 0 in 2026, 30 in 2028 -> queue 100 - 0 = 100
    s = station(available_offtake_mva=[0.0], reinforcement_offtake_year=[2025], reinforcement_offtake_mva=[100.0],
                available_offtake_3y_mva=[0.0], available_offtake_5y_mva=[30.0], available_offtake_10y_mva=[30.0])
    st, basis, inv = state(s, [2024, 2025, 2028])
    assert basis.unserved_mva["offtake"][0] == 100 and basis.unserved_year["offtake"][0] == 2025
    assert st.headroom_mw("offtake")[0].tolist() == [0.0, 0.0, 0.0]
    c = operator_comparison(s, P, inv, basis, base_year=2025).set_index("horizon_years")
    assert c.loc[3, "ours_available_mva"] == 0 and c.loc[3, "operator_trend"] == "flat" == c.loc[3, "ours_trend"]
    assert c.loc[5, "operator_trend"] == "up" and c.loc[5, "ours_trend"] == "flat"
    assert "the operator frees 30 MVA more" in c.loc[5, "explained_by"]
    # a forecast that rises by the whole investment leaves no queue
    s2 = s.assign(available_offtake_3y_mva=[100.0])
    _, basis2, _ = state(s2, [2025])
    assert basis2.unserved_mva["offtake"][0] == 0


def test_availability_above_capacity_is_no_negative_load():
    notices = NoticeLog()
    s = station(available_offtake_mva=[130.0])
    cap = firm_capacity(s, P)
    basis = station_basis(s, cap, P, investment_table(s, reference_year={"A": 2023}, base_year=2025),
                          base_year=2025, notices=notices)
    assert basis.reserved_mva["offtake"][0] == 0
    assert [n.message for n in notices] == [
        "published available offtake capacity 130 MVA is above the capacity 100 MVA: nothing is taken as reserved "
        "(0 MVA), not a negative load"]
