"""The weighing framework: hand-ranked case, order independence, settings errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialprog.errors import LayerValidationError, ProjectError
from spatialprog.fields import RANKING_TABLES
from spatialprog.ranking import (
    category_scores,
    conflict_severity,
    normalise,
    rank_run,
    score_table,
    sensitivity,
    write_ranking,
)
from spatialprog.reference import load_criteria, load_priority_categories, read_ranking_settings
from tests._rank_project import make_project, run_tiny

HAND_CRITERIA = pd.DataFrame({
    "criterion": ["shortfall_offtake_mw", "urgency_years", "priority_category"],
    "direction": ["higher", "lower", "higher"],
    "normalisation": ["max", "horizon", "none"],
    "scale_max": [np.nan] * 3,
    "unit": ["MW", "years", "score 0-1"],
    "weight": [0.5, 0.3, 0.2],
})
HAND_RAW = pd.DataFrame({
    "id": ["C", "D", "B", "A"],
    "shortfall_offtake_mw": [0.0, 5.0, 5.0, 10.0],
    "urgency_years": [np.nan, 0.0, 0.0, 2.0],
    "priority_category": [0.0, 1.0, 1.0, 0.6],
})


def test_hand_ranked_case():
    # horizon 10 years; weights 0.5 / 0.3 / 0.2 (sum 1)
    # A: shortfall 10/10 = 1.0 -> 0.50; urgency 1 - 2/10 = 0.8 -> 0.24; category 0.6 -> 0.12; score 0.86
    # B: shortfall 5/10 = 0.5 -> 0.25; urgency 1 - 0/10 = 1.0 -> 0.30; category 1.0 -> 0.20; score 0.75
    # D: identical to B -> 0.75; the tie is broken by id: B before D
    # C: shortfall 0 -> 0; urgency missing (never short) -> 0; category 0 -> 0; score 0
    t = score_table(HAND_RAW, HAND_CRITERIA, horizon_years=10)
    assert t["id"].tolist() == ["A", "B", "D", "C"]
    assert t["rank"].tolist() == [1, 2, 3, 4]
    assert t["score"].tolist() == pytest.approx([0.86, 0.75, 0.75, 0.0])
    a = t.iloc[0]
    assert (a["contrib_shortfall_offtake_mw"], a["contrib_urgency_years"], a["contrib_priority_category"]) == \
        pytest.approx((0.50, 0.24, 0.12))
    contrib = t[[c for c in t.columns if c.startswith("contrib_")]].sum(axis=1)
    assert contrib.tolist() == pytest.approx(t["score"].tolist())
    assert a["explanation"].startswith("shortfall_offtake_mw 10 MW (+0,500)")  # Dutch decimals; no label_nl given


def test_weights_need_not_sum_to_one():
    c = HAND_CRITERIA.assign(weight=[5.0, 3.0, 2.0])
    t = score_table(HAND_RAW, c, horizon_years=10)
    assert t["score"].tolist() == pytest.approx([0.86, 0.75, 0.75, 0.0])


def test_normalisations():
    x = pd.Series([2.0, 4.0, np.nan])
    assert normalise(x, normalisation="max", direction="higher").tolist() == [0.5, 1.0, 0.0]
    assert normalise(x, normalisation="minmax", direction="higher").tolist() == [0.0, 1.0, 0.0]
    assert normalise(x, normalisation="minmax", direction="lower").tolist() == [1.0, 0.0, 0.0]
    assert normalise(x, normalisation="fixed", direction="higher", scale_max=8).tolist() == [0.25, 0.5, 0.0]
    assert normalise(pd.Series([0.0, 0.0]), normalisation="max", direction="higher").tolist() == [0.0, 0.0]


_ids = st.lists(st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=3), min_size=1, max_size=25, unique=True)
_val = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 5.0]), st.floats(0, 100, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), ids=_ids)
def test_shuffling_rows_does_not_change_the_ranking(data, ids):
    n = len(ids)
    cols = {c: data.draw(st.lists(_val, min_size=n, max_size=n)) for c in HAND_CRITERIA["criterion"]}
    raw = pd.DataFrame({"id": ids, **{c: [np.nan if v is None else v for v in vs] for c, vs in cols.items()}})
    perm = data.draw(st.permutations(range(n)))
    shuffled = raw.iloc[list(perm)].reset_index(drop=True)
    a = score_table(raw, HAND_CRITERIA, horizon_years=10)
    b = score_table(shuffled, HAND_CRITERIA, horizon_years=10)
    pd.testing.assert_frame_equal(a, b)
    # ties broken by id: equal scores appear in id order
    for _, g in a.groupby(a["score"].round(9)):
        assert g["id"].tolist() == sorted(g["id"].tolist())
    sa = sensitivity(raw, HAND_CRITERIA, horizon_years=10, top_n=5)
    sb = sensitivity(shuffled, HAND_CRITERIA, horizon_years=10, top_n=5)
    pd.testing.assert_frame_equal(sa, sb)


def test_sensitivity_counts_top_changes():
    # A leads on shortfall, B on urgency; raising the urgency weight by 25 % swaps them
    raw = pd.DataFrame({"id": ["A", "B"], "shortfall_offtake_mw": [10.0, 0.0], "urgency_years": [10.0, 0.0]})
    c = HAND_CRITERIA.iloc[:2].assign(weight=[0.5, 0.45])
    # A: 0.5/0.95 = 0.526; B: 0.45/0.95 = 0.474. urgency +25 %: A 0.5/1.0625 = 0.471, B 0.5625/1.0625 = 0.529
    s = sensitivity(raw, c, horizon_years=10, top_n=10, pct=25)
    row = s[(s["criterion"] == "urgency_years") & (s["change_pct"] == 25)].iloc[0]
    assert row["n_top_changed"] == 2 and row["top_after"] == "B;A"
    row = s[(s["criterion"] == "urgency_years") & (s["change_pct"] == -25)].iloc[0]
    assert row["n_top_changed"] == 0


def test_criteria_table_is_complete():
    c = load_criteria()
    assert set(c["direction"]) <= {"higher", "lower"}
    assert c["default_weight"].sum() == pytest.approx(1.0)
    assert {"criterion", "normalisation", "unit", "source"} <= set(c.columns)


def test_priority_categories_dated_and_matched():
    cats = load_priority_categories()
    assert cats["valid_from"].notna().all()
    s = category_scores(pd.Series(["Veiligheid", "congestion relievers", "", None]), cats, layer="housing_sites",
                        ids=pd.Series(list("abcd")))
    assert s.tolist() == [0.8, 1.0, 0.0, 0.0]
    with pytest.raises(LayerValidationError, match=r"housing_sites, feature b, field 'priority_category': unknown "
                                                   r"priority category 'ziekenhuis'"):
        category_scores(pd.Series(["veiligheid", "ziekenhuis"]), cats, layer="housing_sites", ids=pd.Series(["a", "b"]))


def test_conflict_severity_absent_scores_zero():
    assert conflict_severity(None, "substations", ["A"]).isna().all()
    s = {"housing_sites": pd.DataFrame({"id": ["HA"], "n_conflicts": [1], "worst_severity": ["middel"],
                                        "worst_severity_rank": [2]})}
    assert conflict_severity(s, "housing_sites", ["HA", "HB"]).tolist() == [2.0, 0.0]


@pytest.mark.parametrize(("ranking", "message"), [
    ('weights = "heavy"', r"tiny.toml: \[ranking\] weights: Input should be a valid dictionary"),
    ('weights = { urgency_years = "0,3" }', r"\[ranking.weights\] urgency_years: the weight must be a number, got '0,3'"),
    ("weights = { urgency_years = -0.2 }", r"\[ranking.weights\] urgency_years: negative weight -0.2"),
    ("weights = { urgency = 0.2 }", r"\[ranking.weights\] urgency: unknown criterion; did you mean 'urgency_years'\?"),
    ("weights = { shortfall_offtake_mw = 0, shortfall_feedin_mw = 0, urgency_years = 0, dwellings_per_mw = 0, "
     "jobs_per_mw = 0, priority_category = 0, conflicts = 0, land_reserved = 0, provincial_programme = 0 }",
     r"every weight is 0"),
    ("[ranking.variants.nope.weights]\nurgency_years = 1", r"\[ranking.variants.nope\]: 'nope' is not a variant"),
    ("[ranking.variants.krap.weights]\nurgency_years = -1", r"\[ranking.variants.krap.weights\] urgency_years: negative"),
    ("[ranking.criteria.urgncy]\ndirection = 'lower'", r"\[ranking.criteria.urgncy\]: unknown criterion"),
    ("[ranking.criteria.conflicts]\ndirection = 'up'", r"\[ranking.criteria.conflicts\] direction: Input should be"),
    ("sensitivity = 25", r"\[ranking\] sensitivity: unknown key"),
    ("[ranking.higher_level.nodes]\nTN1 = { capacity_mva = -5 }",
     r"\[ranking.higher_level.nodes.TN1\] capacity_mva: Input should be greater than or equal to 0"),
])
def test_bad_ranking_settings(tmp_path, ranking, message):
    p = make_project(tmp_path, ranking=ranking)
    with pytest.raises(ProjectError, match=message) as e:
        read_ranking_settings(p)
    assert "\n" not in str(e.value)


def test_variant_weights_and_direction_override(tmp_path):
    p = make_project(tmp_path, ranking="weights = { urgency_years = 0.5 }\n[ranking.variants.krap.weights]\n"
                                       "urgency_years = 0.0\n[ranking.criteria.conflicts]\ndirection = 'lower'\n")
    s = read_ranking_settings(p)
    assert s.weights["basis"]["urgency_years"] == 0.5
    assert s.weights["krap"]["urgency_years"] == 0.0
    assert s.weights["krap"]["shortfall_offtake_mw"] == 0.25
    assert s.criteria.set_index("criterion").at["conflicts", "direction"] == "lower"


def test_variant_overriding_unknown_parameter(tmp_path):
    with pytest.raises(ProjectError, match=r"unknown parameter 'programme.max_transformer'"):
        make_project(tmp_path, extra='\n[variants.x]\nparameters = { "programme.max_transformer" = 3 }\n')


def test_unknown_category_in_layer(tmp_path):
    r = run_tiny(tmp_path, housing_changes={"HB": {"priority_category": "ziekenhuis"}})
    with pytest.raises(LayerValidationError, match=r"feature HB, field 'priority_category': unknown priority "
                                                   r"category 'ziekenhuis' - use one of: congestieverzachters"):
        rank_run(r)


def test_unknown_land_reserved_id(tmp_path):
    r = run_tiny(tmp_path, ranking='land_reserved = ["Z"]')
    with pytest.raises(ProjectError, match=r"\[ranking\] land_reserved: 'Z' is not a substation id"):
        rank_run(r)


def test_substation_ranking_of_the_tiny_project(tmp_path):
    r = run_tiny(tmp_path)
    rr = rank_run(r)
    s = rr.substations[rr.substations["variant"] == "basis"].set_index("substation_id")
    # A: short 1.5 MW from 2027 (urgency 2 y), B: short 6 MW from 2030 (urgency 5 y), C never short
    assert s.loc["A", "raw_shortfall_offtake_mw"] == pytest.approx(1.5)
    assert s.loc["B", "raw_shortfall_offtake_mw"] == pytest.approx(6.0)
    assert s.loc["A", "raw_urgency_years"] == 2 and s.loc["B", "raw_urgency_years"] == 5
    assert np.isnan(s.loc["C", "raw_urgency_years"])
    # what waits (spatialprog.waiting): B is 6 MW short of HB + ZB's 16 MW, both arriving in 2030: 6/16 of HB's
    # 4000 dwellings (1500) and of ZB's 150 jobs (56.25) wait on +40 MW firm; A is 1.5 MW short of HA's 3.5 MW:
    # 1.5/3.5 of its 1000 dwellings (428.6) wait on +40 MW
    assert s.loc["B", "raw_dwellings_per_mw"] == pytest.approx(1500 / 40)
    assert s.loc["B", "raw_jobs_per_mw"] == pytest.approx(56.25 / 40)
    assert s.loc["A", "raw_dwellings_per_mw"] == pytest.approx(1000 * 1.5 / 3.5 / 40)
    # A's site is 'basisbehoeften' (0.6); B's sites have no category
    assert s.loc["A", "raw_priority_category"] == 0.6 and s.loc["B", "raw_priority_category"] == 0.0
    # weights 0.25 shortfall, 0.20 urgency (horizon 10 y), 0.10 dwellings/MW, 0.10 jobs/MW, 0.10 category:
    # A = 0.25*1.5/6 + 0.2*(1-0.2) + 0.1*(10.714/37.5) + 0 + 0.1*0.6 = 0.0625 + 0.16 + 0.02857 + 0.06 = 0.31107
    # B = 0.25*1   + 0.2*(1-0.5) + 0.1*1             + 0.1*1 + 0   = 0.25 + 0.10 + 0.10 + 0.10       = 0.55
    assert s.loc["A", "score"] == pytest.approx(0.0625 + 0.16 + 0.1 * (1000 * 1.5 / 3.5 / 40) / 37.5 + 0.06)
    assert s.loc["B", "score"] == pytest.approx(0.55)
    assert s["rank"].to_dict() == {"B": 1, "A": 2, "C": 3}
    sites = rr.sites[rr.sites["variant"] == "basis"]
    assert set(zip(sites["layer"], sites["site_id"], strict=True)) == {
        ("housing_sites", "HA"), ("housing_sites", "HB"), ("industrial_zones", "ZB")}


def test_conflicts_criterion(tmp_path):
    r = run_tiny(tmp_path)
    summary = pd.DataFrame({"layer": ["substations"], "id": ["A"], "n_conflicts": [3], "worst_severity": ["hoog"]})
    base = rank_run(r).substations.set_index(["variant", "substation_id"])
    with_c = rank_run(r, conflicts=summary).substations.set_index(["variant", "substation_id"])
    assert (base["raw_conflicts"].isna()).all() and (base["score_conflicts"] == 0).all()
    assert with_c.loc[("basis", "A"), "score_conflicts"] == 1.0
    assert with_c.loc[("basis", "A"), "score"] == pytest.approx(base.loc[("basis", "A"), "score"] + 0.05)


def test_write_and_read_back(tmp_path):
    r = run_tiny(tmp_path / "p")
    rr = rank_run(r)
    files = write_ranking(rr, tmp_path / "out")
    names = sorted(f.name for f in files)
    for n in ("programme.csv", "programme.xlsx", "ranking_substations.csv", "ranking_sites.csv", "sensitivity.csv",
              "variants_comparison.csv", "no_regret.csv", "scale_sums.csv", "higher_level_check.csv"):
        assert n in names
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert list(rr.tables()) == list(RANKING_TABLES)
    # read back with the run folder (RunOutputs.read), as maps, export and diff do
    from spatialprog.outputs import RunOutputs, write_run

    write_run(r, tmp_path / "run", extras=[lambda stage: write_ranking(rr, stage)])
    back = RunOutputs.read(tmp_path / "run").tables
    assert set(RANKING_TABLES) <= set(back)
    assert back["programme"]["substation_id"].tolist() == rr.programme["substation_id"].tolist()
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "out" / "programme.xlsx", read_only=True)
    assert {"Programma", "Programma basis", "Programma krap", "Geen spijt", "Criteria", "Toelichting"} <= set(
        wb.sheetnames)  # Dutch sheet names (tests/test_deliverables_sheets.py reads them in full)
    wb.close()

    o = RunOutputs.from_result(r)
    rr.attach(o)
    assert "programme" in o.tables and "ranking_substations" in o.tables


def test_exactly_zero_headroom_is_short_everywhere(tmp_path):
    """0.0 MW headroom leaves nothing to connect: every stage counts it as short (headroom.is_short)."""
    from dataclasses import replace

    from spatialprog.compare import compare_variants, variant_summary
    from spatialprog.headroom import first_shortfall
    from spatialprog.programme import _advance_planned, _by_station

    r = run_tiny(tmp_path)
    h = r.headroom.copy()
    # A runs 1.5 MW short from 2027 (site HA); here its load meets its capacity exactly instead: 0.0 MW left
    at = (h["substation_id"] == "A") & (h["direction"] == "offtake") & (h["year"] >= 2027)
    h.loc[at, "load_mw"] = h.loc[at, "capacity_mw"]
    h.loc[at, "headroom_mw"] = 0.0
    r = replace(r, headroom=h, shortfall=first_shortfall(h))

    # shortfall: A's first shortfall is 2027, by 0 MW
    sf = r.shortfall.set_index(["substation_id", "variant", "direction"])
    assert sf.loc[("A", "basis", "offtake"), "first_shortfall_year"] == 2027
    assert sf.loc[("A", "basis", "offtake"), "max_shortfall_mw"] == 0.0

    rr = rank_run(r)
    # ranking: A is urgent from 2027 (2 years), and so is its site HA, which gets demand in 2027
    s = rr.substations[rr.substations["variant"] == "basis"].set_index("substation_id")
    assert s.loc["A", "raw_urgency_years"] == 2 and bool(s.loc["A", "in_programme"])
    assert s.loc["A", "raw_shortfall_offtake_mw"] == 0.0
    sites = rr.sites[rr.sites["variant"] == "basis"].set_index("site_id")
    assert sites.loc["HA", "raw_urgency_years"] == 2

    # programme: A needs an intervention in both variants (the smallest step covers a 0 MW need)
    p = rr.programme.set_index(["variant", "substation_id"])
    assert p.loc[("basis", "A"), "first_shortfall_year"] == 2027
    assert p.loc[("basis", "A"), "transformer_step"] == "1 transformator van 40 MVA bijplaatsen"
    assert ("krap", "A") in p.index

    # scale sums: A (in M1) counts as short from 2027, B from 2030
    ss = rr.scale_sums[rr.scale_sums["variant"] == "basis"].set_index(["boundary_id", "year"])
    assert ss.loc[("M1", 2026), "n_short_offtake"] == 0
    assert ss.loc[("M1", 2027), "n_short_offtake"] == 1 and ss.loc[("REGION", 2027), "n_short_offtake"] == 1
    assert ss.loc[("REGION", 2030), "n_short_offtake"] == 2
    assert ss.loc[("REGION", 2027), "shortfall_offtake_mw"] == 0.0

    # variants comparison: short in both variants; the per-variant summary counts it too
    c = compare_variants(r.headroom).set_index(["substation_id", "year", "direction"])
    assert c.loc[("A", 2027, "offtake"), "n_variants_short"] == 2
    assert rr.variants_comparison.set_index(["substation_id", "year", "direction"]).loc[
        ("A", 2027, "offtake"), "n_variants_short"] == 2
    vs = variant_summary(c.reset_index()).set_index(["variant", "carrier", "direction"])
    assert vs.loc[("basis", "electricity", "offtake"), "n_stations_short"] == 2  # A (0 MW) and B
    assert vs.loc[("basis", "electricity", "offtake"), "first_shortfall_year"] == 2027

    # the higher-level check counts A among the short substations below TN1
    hl = rr.higher_level_check
    row = hl[(hl["variant"] == "basis") & (hl["year"] == 2027) & (hl["direction"] == "offtake")].iloc[0]
    assert row["n_substations_short"] == 1

    # a planned reinforcement that leaves exactly 0 MW does not end the shortfall: no "advance planned"
    reinf = pd.DataFrame({"substation_id": ["A"], "year": [2029], "reinforcement_mva": [10.0]})
    def advance(head: pd.DataFrame):  # station A's rows of the base variant, as interventions splits them
        return _advance_planned(_by_station(head[head["variant"] == "basis"], ["A"]).get("A"),
                                _by_station(reinf, ["A"]).get("A"), 2027)

    assert advance(h) is None
    assert advance(h.assign(headroom_mw=h["headroom_mw"] + 1.0)) == (2029, 10.0)


def test_scale_sums_summed_beside_are_the_same(tmp_path, monkeypatch):
    """A large run sums the scale sums in a forked process while the variants are ranked: the same ranking,
    table for table; and a failure there comes back as itself, with its one line."""
    import spatialprog.ranking.rank as R
    from spatialprog.processes import can_fork

    if not can_fork():
        pytest.skip("this machine cannot fork (one core, or no fork start method): nothing runs beside")
    r = run_tiny(tmp_path)
    here = rank_run(r)
    monkeypatch.setattr(R, "SUMS_BESIDE_ROWS", 0)
    forked = []
    real = R.beside
    monkeypatch.setattr(R, "beside", lambda fn, *a, fork=None: forked.append(fork) or real(fn, *a, fork=fork))
    there = rank_run(r)
    assert forked == [True]
    for name, table in here.tables().items():
        pd.testing.assert_frame_equal(there.tables()[name], table, check_exact=True, obj=name)

    def broken(result, *, boundaries=None):
        raise ProjectError("boundaries: the level 'wijk' is unknown - use municipality, province or region")

    monkeypatch.setattr(R, "scale_sums", broken)
    with pytest.raises(ProjectError, match="level 'wijk' is unknown"):
        rank_run(r)
