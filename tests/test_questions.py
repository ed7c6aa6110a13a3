"""The seed's three questions on the example region (layers/example_questions.toml, which extends the example)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spatialprog import fields as F
from spatialprog.config import load_project
from spatialprog.pipeline import compute, read_plan

QUESTIONS = Path(__file__).resolve().parents[1] / "layers" / "example_questions.toml"
VARIANTS = ["basis", "industrie_elektrisch", "industrie_waterstof", "nieuwbouw_eerst", "bestaande_wijk_eerst"]


@pytest.fixture(scope="module")
def run():
    p = load_project(QUESTIONS)
    assert set(VARIANTS) <= set(p.variants) and "neighbourhoods" in p.layers and "substations" in p.layers
    return compute(read_plan(p), variants=VARIANTS, conflicts=False)


def headroom(r, node, year=2040):
    h = pd.concat([r.headroom, r.carrier_headroom], ignore_index=True)
    h = h[(h[F.SUBSTATION_ID] == node) & (h[F.DIRECTION] == F.OFFTAKE) & (h[F.YEAR] == year)]
    return h.set_index(F.VARIANT)[F.HEADROOM_MW]


def test_industry_to_hydrogen_or_electric(run):
    h2, gas = headroom(run, "H2-01"), headroom(run, "GOS-01")
    # electrified, no park draws hydrogen or gas: H2-01 and the gas station keep their full capacity
    assert h2["industrie_elektrisch"] == pytest.approx(25.0) and gas["industrie_elektrisch"] == pytest.approx(150.0)
    # on hydrogen, the station is short by far; on electricity, the substations pay (OS09 short four years earlier)
    assert h2["industrie_waterstof"] < 0 < h2["basis"]
    fs = run.shortfall[(run.shortfall[F.DIRECTION] == F.OFFTAKE)].set_index([F.SUBSTATION_ID, F.VARIANT])
    assert fs.loc[("OS09", "basis"), F.FIRST_SHORTFALL_YEAR] == 2032
    assert fs.loc[("OS09", "industrie_elektrisch"), F.FIRST_SHORTFALL_YEAR] == 2028
    assert fs.loc[("OS09", "industrie_waterstof"), F.FIRST_SHORTFALL_YEAR] == 2032


def test_the_new_neighbourhood_or_the_existing_one_first(run):
    d = run.demand[(run.demand[F.SITE_ID] == "BU0701") & (run.demand[F.CARRIER] == F.ELECTRICITY)]
    by = d.pivot(index=F.YEAR, columns=F.VARIANT, values=F.OFFTAKE_MW)
    # the existing neighbourhood first: more of its 2,500 dwellings on heat pumps and EVs by 2030
    assert by.loc[2030, "bestaande_wijk_eerst"] > by.loc[2030, "basis"] > by.loc[2030, "nieuwbouw_eerst"]
    new = run.demand[(run.demand[F.SITE_ID] == "WB-STR") & (run.demand[F.CARRIER] == F.ELECTRICITY)]
    first = new[new[F.OFFTAKE_MW] > 0].groupby(F.VARIANT)[F.YEAR].min()
    assert first["nieuwbouw_eerst"] == 2026 and first["bestaande_wijk_eerst"] == 2033


def test_what_each_variant_does_per_carrier_and_the_no_regret_across_them(run):
    """variants_summary.csv: every carrier's stations short, first shortfall and programme per variant."""
    from spatialprog.ranking import rank_run

    rr = rank_run(run)
    s = rr.variants_summary.set_index([F.VARIANT, F.CARRIER, F.DIRECTION])
    h2 = s.loc[("industrie_waterstof", "hydrogen", F.OFFTAKE)]
    assert (h2["n_stations_short"], h2[F.FIRST_SHORTFALL_YEAR], h2[F.UNIT]) == (1, 2025, "MW_H2")
    assert (h2["n_interventions"], h2["added_capacity_mw"]) == (1, 45.0)
    # hydrogen and gas burn process heat at the same efficiency (0.9): what hydrogen loses, gas gains, both at
    # their lowest year (2040, the parks fully built); the two are never summed (their own rows and units)
    gas = s.loc[("industrie_waterstof", "gas", F.OFFTAKE)]
    assert h2["delta_min_headroom_mw"] == pytest.approx(-gas["delta_min_headroom_mw"]) and gas[F.UNIT] == "MW_gas"
    base_h2 = headroom(run, "H2-01")
    assert h2["delta_min_headroom_mw"] == pytest.approx(base_h2["industrie_waterstof"] - base_h2["basis"])
    # electrified: two more substations short than in the base, and the programme grows with them
    el = s.loc[("industrie_elektrisch", "electricity", F.OFFTAKE)]
    base = s.loc[("basis", "electricity", F.OFFTAKE)]
    assert el["delta_n_stations_short"] == el["n_stations_short"] - base["n_stations_short"] == 2
    assert el["n_interventions"] > base["n_interventions"]
    # no-regret across the variants: WN02's heat source in every variant, H2-01 only when industry goes to hydrogen
    nr = rr.no_regret.set_index([F.CARRIER, F.SUBSTATION_ID])["regret_class"]
    assert nr[("heat", "WN02")] == "no_regret" and nr[("hydrogen", "H2-01")] == "variant_dependent"
    # the comparison has every carrier's stations, each in its unit
    c = rr.variants_comparison
    assert set(zip(c[F.CARRIER], c[F.UNIT], strict=True)) == {("electricity", "MWe"), ("hydrogen", "MW_H2"),
                                                               ("heat", "MWth"), ("gas", "MW_gas")}
