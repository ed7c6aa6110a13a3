"""Firm capacity, headroom and status: hand checks and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialprog import fields as F
from spatialprog.headroom import (
    classify_status,
    firm_capacity,
    first_shortfall,
    headroom_table,
)
from spatialprog.params import load_parameters, load_status_classes
from spatialprog.published import investment_table

P = load_parameters()


def subs(**kw):
    d = {"id": ["A"], "voltage_kv": ["150/20"], "n_transformers": [2], "transformer_mva": [40.0],
         "peak_offtake_mw": [30.0], "peak_feedin_mw": [5.0]}
    d.update(kw)
    return pd.DataFrame(d)


@pytest.mark.parametrize("kv,n,mva,expected_off,rule", [
    ("150/20", 2, 40.0, 40.0, "N-1"),     # 80 - 40
    ("150/20", 3, 50.0, 100.0, "N-1"),    # 150 - 50
    ("150/20", 1, 40.0, 40.0, "N-0"),     # one unit: nothing to lose
    ("50/10", 2, 20.0, 40.0, "N-0"),      # below 110 kV: N-0 by grid.n1_min_kv
    ("110/10", 2, 25.0, 25.0, "N-1"),
])
def test_firm_capacity(kv, n, mva, expected_off, rule):
    c = firm_capacity(subs(voltage_kv=[kv], n_transformers=[n], transformer_mva=[mva]), P).iloc[0]
    assert c["firm_offtake_mva"] == expected_off
    assert c["firm_rule_offtake"] == rule
    assert c["firm_feedin_mva"] == n * mva  # feed-in N-0 by default
    p = P.with_overrides({"grid.feedin_n1": 1}, origin="t", where="t")
    assert firm_capacity(subs(voltage_kv=[kv], n_transformers=[n], transformer_mva=[mva]), p).iloc[0][
        "firm_feedin_mva"] == expected_off


def test_published_firm_capacity_and_load_from_available():
    s = pd.DataFrame({"id": ["V"], "firm_offtake_mva": [75.0], "firm_feedin_mva": [55.0],
                      "available_offtake_mva": [12.0], "available_feedin_mva": [0.0]})
    h = headroom_table(s, pd.DataFrame(columns=[F.SUBSTATION_ID, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW]), P, [2023],
                       base_year=2023, variant="basis", classes=load_status_classes())
    off = h[h.direction == "offtake"].iloc[0]
    assert off[F.FIRM_RULE] == "published"
    assert off[F.LOAD_MW] == 63.0 and off[F.HEADROOM_MW] == 12.0   # the published headroom, reproduced
    feed = h[h.direction == "feedin"].iloc[0]
    assert feed[F.HEADROOM_MW] == 0.0 and feed[F.STATUS] == "congestie"


def test_reinforcement_from_its_year_and_from_the_project_file():
    s = subs(reinforcement_year=[2028], reinforcement_mva=[20.0])
    r = investment_table(s, [{"substation": "A", "year": 2030, "added_mva": 10.0}], reference_year={"A": 2025},
                         base_year=2025)
    h = headroom_table(s, pd.DataFrame(columns=[F.SUBSTATION_ID, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW]), P,
                       [2027, 2028, 2030], base_year=2025, variant="basis", reinforcements=r,
                       classes=load_status_classes())
    cap = h[h.direction == "offtake"].set_index(F.YEAR)[F.FIRM_CAPACITY_MVA]
    assert cap.tolist() == [40.0, 60.0, 70.0]


def test_status_classes_follow_thresholds():
    out = classify_status(np.array([30.0, 20.0, 19.9, 10.0, 0.1, 0.0, -3.0]), np.full(7, 100.0), load_status_classes())
    assert out.tolist() == ["ruimte", "ruimte", "schaars", "schaars", "waarschuwing", "congestie", "congestie"]


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 500), st.integers(1, 4), st.floats(1, 100), st.lists(st.floats(0, 80), min_size=3, max_size=3),
       st.floats(0, 5))
def test_headroom_is_capacity_minus_load(peak, n, mva, new, growth):
    s = subs(n_transformers=[n], transformer_mva=[mva], peak_offtake_mw=[peak])
    p = P.with_overrides({"growth.offtake_pct_per_year": growth}, origin="t", where="t")
    alloc = pd.DataFrame({F.SUBSTATION_ID: "A", F.YEAR: [2026, 2027, 2028], F.OFFTAKE_MW: new, F.FEEDIN_MW: 0.0})
    h = headroom_table(s, alloc, p, [2026, 2027, 2028], base_year=2025, variant="v", classes=load_status_classes())
    assert np.allclose(h[F.HEADROOM_MW], h[F.CAPACITY_MW] - h[F.LOAD_MW])
    assert np.allclose(h[F.LOAD_MW], h[F.EXISTING_LOAD_MW] + h[F.NEW_LOAD_MW])
    off = h[h.direction == "offtake"]
    assert np.allclose(off[F.NEW_LOAD_MW], new)
    assert np.allclose(off[F.EXISTING_LOAD_MW], peak * (1 + growth / 100) ** np.array([1, 2, 3]))
    fs = first_shortfall(h)
    short = off[off[F.HEADROOM_MW] <= 1e-6]
    got = fs[fs.direction == "offtake"][F.FIRST_SHORTFALL_YEAR].iloc[0]
    assert (pd.isna(got) and short.empty) or got == short[F.YEAR].min()
