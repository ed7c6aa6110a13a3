"""The array kernels of the ranking: each against the plain pandas / per-row computation it replaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialprog.errors import LayerValidationError
from spatialprog.grouping import Groups
from spatialprog.ranking import category_scores, site_criteria
from spatialprog.ranking.scoring import SCORE_DECIMALS, _explanations, _fmt, _order, _tie_ranks
from spatialprog.reference import load_priority_categories
from tests._rank_project import run_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return run_tiny(tmp_path_factory.mktemp("tiny"))


def test_site_criteria_of_the_tiny_project(tiny):
    r = tiny
    t = site_criteria(r, "basis", settings=r.plan.reference.ranking).set_index(["layer", "site_id"])
    assert list(t.index) == [("housing_sites", "HA"), ("housing_sites", "HB"), ("industrial_zones", "ZB")]
    ha, hb, zb = (t.loc[k] for k in t.index)
    # HA: 1000 all-electric dwellings x 3.5 kW in 2027 on A, which is 1.5 MW short from 2027 (2 years after 2025)
    assert (ha["name"], ha["substation_id"]) == ("Site A", "A")
    assert ha["shortfall_offtake_mw"] == pytest.approx(1.5) and ha["urgency_years"] == 2.0
    assert ha["dwellings_per_mw"] == pytest.approx(1000 / 3.5) and ha["priority_category"] == 0.6
    assert ha["jobs_per_mw"] == 0.0
    # HB (4000 dwellings, 14 MW) and ZB (2 MW, 150 jobs) arrive in 2030 on B, 6 MW short from 2030
    assert hb["shortfall_offtake_mw"] == pytest.approx(6.0) and hb["urgency_years"] == 5.0
    assert hb["dwellings_per_mw"] == pytest.approx(4000 / 14) and hb["priority_category"] == 0.0
    assert (zb["name"], zb["substation_id"], zb["urgency_years"]) == ("Park B", "B", 5.0)
    assert zb["jobs_per_mw"] == pytest.approx(150 / 2)
    assert np.isnan(t["conflicts"]).all()  # no conflict summary: unknown, scores 0
    assert (t[["land_reserved", "provincial_programme", "shortfall_feedin_mw"]] == 0).all().all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_site_criteria_do_not_depend_on_row_order(tiny, seed):
    r = tiny
    ref = site_criteria(r, "basis", settings=r.plan.reference.ranking)
    rng = np.random.default_rng(seed)
    saved = r.demand, r.assignment, r.headroom
    try:
        r.demand = r.demand.iloc[rng.permutation(len(r.demand))]
        r.assignment = r.assignment.iloc[rng.permutation(len(r.assignment))]
        r.headroom = r.headroom.iloc[rng.permutation(len(r.headroom))]
        got = site_criteria(r, "basis", settings=r.plan.reference.ranking)
    finally:
        r.demand, r.assignment, r.headroom = saved
    pd.testing.assert_frame_equal(got, ref)


def test_site_criteria_share_weighted_over_two_substations(tiny):
    # HB served half by A and half by B: its shortfall is 0.5 x 1.5 + 0.5 x 6 MW, its main substation the first
    # id on the tie; urgency from the first year either substation is short while HB has demand (2030)
    r = tiny
    saved = r.assignment
    try:
        a = r.assignment
        hb = a[a["site_id"] == "HB"]
        r.assignment = pd.concat([a[a["site_id"] != "HB"], hb.assign(share=0.5, substation_id="B"),
                                  hb.assign(share=0.5, substation_id="A")], ignore_index=True)
        t = site_criteria(r, "basis", settings=r.plan.reference.ranking).set_index("site_id")
    finally:
        r.assignment = saved
    assert t.loc["HB", "shortfall_offtake_mw"] == pytest.approx(0.5 * 1.5 + 0.5 * 6.0)
    assert t.loc["HB", "substation_id"] == "A" and t.loc["HB", "urgency_years"] == 5.0


_score = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1 / 3, 0.5 + 4e-10, 0.5 + 6e-10, 0.5 - 4e-10, 1e-10, 0.7])


@settings(max_examples=80, deadline=None)
@given(scores=st.lists(_score, min_size=0, max_size=40), seed=st.integers(0, 2**16))
def test_order_is_the_lexsort_on_rounded_score_and_ids(scores, seed):
    s = np.array(scores, dtype=float)
    tie = np.random.default_rng(seed).permutation(len(s))
    want = np.lexsort([tie, -np.round(s, SCORE_DECIMALS)])
    assert _order(s, tie).tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(a=st.lists(st.sampled_from(["A", "B", "b", "AA", "10", "9", "é", None]), min_size=1, max_size=20),
       data=st.data())
def test_tie_ranks_sort_the_ids_as_text(a, data):
    b = data.draw(st.lists(st.sampled_from(["x", "y", "Z"]), min_size=len(a), max_size=len(a)))
    ids = pd.DataFrame({"layer": pd.Series(a, dtype="str"), "site_id": pd.Series(b, dtype="str")})
    text = [ids[c].astype(str).to_numpy(dtype=str) for c in reversed(ids.columns)]
    order = np.lexsort(text)  # the text itself, 'nan' for a missing id; equal ids in row order
    want = np.empty(len(ids), dtype=int)
    want[order] = np.arange(1, len(ids) + 1)
    assert _tie_ranks(ids).tolist() == want.tolist()


def _explanations_per_row(raw, contrib, words, units, explain):
    """The explanation text row by row (the definition)."""
    out = []
    for i in range(contrib.shape[0]):
        best = np.argsort(-contrib[i], kind="stable")[:explain]
        parts = [f"{words[j]} {_fmt(raw[i, j], units[j])} (+{contrib[i, j]:.3f})".replace(".", ",")
                 for j in best if contrib[i, j] > 0]
        out.append("; ".join(parts) if parts else "geen criterium telt mee")
    return out


_raw = st.sampled_from([0.0, -0.0, 1.0, 2.5, 39.48, 1234.5, 0.6, np.nan, 1e-4])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(0, 12), k=st.integers(1, 4), explain=st.integers(1, 4),
       follows=st.booleans())
def test_explanations_are_the_per_row_texts(data, n, k, explain, follows):
    raw = np.array(data.draw(st.lists(_raw, min_size=n * k, max_size=n * k)), dtype=float).reshape(n, k)
    if follows:  # as in a score table: the contribution is the weighted score of the raw value
        contrib = np.nan_to_num(np.clip(raw, 0, 1), nan=0.0) * np.linspace(0.1, 0.4, k)
    else:  # any contributions >= 0, ties included
        c = data.draw(st.lists(st.sampled_from([0.0, 0.05, 0.1234, 0.25]), min_size=n * k, max_size=n * k))
        contrib = np.array(c, dtype=float).reshape(n, k)
    words = [f"crit.{j}" for j in range(k)]  # a '.' in a label becomes ',' as in the whole part
    units = ["MW", "score 0-1", "jaar", "ernst 0-3"][:k]
    got = _explanations(raw, contrib, words, units, explain).tolist()
    assert got == _explanations_per_row(raw, contrib, words, units, explain)


def test_category_scores_name_every_feature_with_an_unknown_category():
    cats = load_priority_categories()
    values = pd.Series(["Basisbehoeften", "ziekenhuis", None, " ", "ziekenhuis", "school"])
    with pytest.raises(LayerValidationError) as e:
        category_scores(values, cats, layer="housing_sites", ids=pd.Series(["a", "b", "c", "d", "e", "f"]))
    named = [(p.feature, p.message) for p in e.value.problems]  # every feature, in row order
    assert named == [("b", "unknown priority category 'ziekenhuis'"), ("e", "unknown priority category 'ziekenhuis'"),
                     ("f", "unknown priority category 'school'")]
    ok = category_scores(pd.Series(["Basisbehoeften", None, " ", "basisbehoeften"]), cats, layer="housing_sites",
                         ids=pd.Series(list("abcd")))
    assert ok.tolist() == [0.6, 0.0, 0.0, 0.6]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(0, 30))
def test_groups_are_the_groups_of_pandas(data, n):
    a = data.draw(st.lists(st.sampled_from(["S2", "S1", "S10", None]), min_size=n, max_size=n))
    b = data.draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    v = data.draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n))
    df = pd.DataFrame({"sub": pd.Series(a, dtype="str"), "site": b, "mw": v})
    g = Groups(df, ["sub", "site"])
    want = df.groupby(["sub", "site"], sort=True)["mw"]
    assert list(map(tuple, g.keys().to_numpy().tolist())) == list(want.sum().index)
    assert g.sum(df["mw"]).tolist() == pytest.approx(want.sum().tolist())
    assert g.take("mw").tolist() == want.first().tolist()
