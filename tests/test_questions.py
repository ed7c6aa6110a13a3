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
