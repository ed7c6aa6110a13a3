"""Existing neighbourhoods in transition (issue 17, item 1): their extra demand, and growth without double count."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.errors import LayerValidationError
from spatialprog.pipeline import compute, read_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"
#: a 1,000-dwelling neighbourhood inside one service area: 80 % gas, 20 % hybrid, 0.1 EV per dwelling today;
#: by 2030 40 % all-electric, still 20 % hybrid (so 40 % gas), 0.5 EV per dwelling
PATH = "2030: all_electric=0.4, hybrid=0.2, ev=0.5"


def project(tmp_path, path=PATH, **extra):
    g = gpd.GeoDataFrame({"buurt": ["BU01"], "naam": ["Buurt Brakel-Centrum"], "woningen": [1000],
                          "gas": [0.8], "hybride": [0.2], "ev": [0.1], "pad": [path], **extra},
                         geometry=[box(173_200, 432_800, 173_700, 433_300)], crs=28992)
    g.to_file(tmp_path / "buurten.gpkg", layer="buurten")
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    cfg["layers"]["neighbourhoods"] = {
        "path": str(tmp_path / "buurten.gpkg"), "layer": "buurten",
        "columns": {"id": "buurt", "name": "naam", "dwellings": "woningen", "share_gas": "gas",
                    "share_hybrid": "hybride", "ev_share": "ev", "transition_path": "pad"}}
    return project_from_dict(cfg, root=EXAMPLE.parent)


def test_transition_path_at_its_substation_and_growth_reduced_by_its_base_demand(tmp_path):
    plan = read_plan(project(tmp_path))
    r = compute(plan, variants=["basis"])
    without = compute(read_plan(project_from_dict({**tomllib.loads(EXAMPLE.read_text(encoding="utf-8")),
                                                   "conflicts": {"enabled": False}}, root=EXAMPLE.parent)),
                      variants=["basis"])
    a = r.assignment[r.assignment[F.LAYER] == "neighbourhoods"]
    assert a[F.SHARE].tolist() == [1.0]
    sub = a[F.SUBSTATION_ID].item()
    d = r.demand[(r.demand[F.LAYER] == "neighbourhoods") & (r.demand[F.CARRIER] == F.ELECTRICITY)].set_index(F.YEAR)
    # by hand, per dwelling in 2030: all-electric +0.4 x 3.5, gas -0.4 x 1.5, EVs +0.4 x 1.4 = 1.36 kW
    assert d.loc[2030, F.OFFTAKE_MW] == pytest.approx(1.36)
    assert d.loc[2025, F.OFFTAKE_MW] == pytest.approx(0.0)
    assert d.loc[2027, F.OFFTAKE_MW] == pytest.approx(1.36 * 2 / 5)   # linear from the base year
    assert d.loc[2040, F.OFFTAKE_MW] == pytest.approx(1.36)           # held after the last year
    h = r.headroom[(r.headroom[F.SUBSTATION_ID] == sub) & (r.headroom[F.DIRECTION] == F.OFFTAKE)].set_index(F.YEAR)
    h0 = without.headroom[(without.headroom[F.SUBSTATION_ID] == sub)
                          & (without.headroom[F.DIRECTION] == F.OFFTAKE)].set_index(F.YEAR)
    assert (h[F.NEW_LOAD_MW] - h0[F.NEW_LOAD_MW])[2030] == pytest.approx(1.36)
    # base-year demand 1000 x (0.8 x 1.5 + 0.2 x 2.5 + 0.1 x 1.4) = 1.84 MW is inside the measured peak: the
    # autonomous growth (1.5 %/year) no longer applies to it
    base_mw = 1.84
    assert (h[F.EXISTING_LOAD_MW] - h0[F.EXISTING_LOAD_MW])[2030] == pytest.approx(-base_mw * (1.015 ** 5 - 1))
    assert (h[F.EXISTING_LOAD_MW] - h0[F.EXISTING_LOAD_MW])[2025] == pytest.approx(0.0)


@pytest.mark.parametrize("path, message", [
    ("2030: all_electric=0.7, heat_network=0.5", "the heating shares of 2030 add up to 1.2, more than 1"),
    ("2030: all_electric=0.9", "the heating shares in 2030 add up to 1.1, more than 1"),  # the 0.2 hybrid is kept
    ("2030 all_electric=0.4", "cannot read"),
])
def test_a_path_whose_shares_exceed_1_is_refused(tmp_path, path, message):
    with pytest.raises(LayerValidationError) as e:
        read_plan(project(tmp_path, path=path))
    assert "neighbourhoods, feature BU01, field 'transition_path'" in str(e.value) and message in str(e.value)


def test_a_neighbourhood_without_dwellings_is_refused(tmp_path):
    p = project(tmp_path)
    g = gpd.read_file(tmp_path / "buurten.gpkg", layer="buurten")
    g["woningen"] = 0
    g.to_file(tmp_path / "buurten.gpkg", layer="buurten")
    with pytest.raises(LayerValidationError) as e:
        read_plan(p)
    assert "feature BU01, field 'dwellings'" in str(e.value)
