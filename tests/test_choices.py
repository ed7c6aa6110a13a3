"""Variants that choose between alternatives in space: per-variant changes of features (issue 17, item 3)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from spatialprog import fields as F
from spatialprog.config import project_from_dict
from spatialprog.errors import LayerValidationError
from spatialprog.pipeline import compute, read_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"


def project(variants, root=EXAMPLE.parent):
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    cfg["variants"].update(variants)
    return project_from_dict(cfg, root=root)


def new_load(r, variant, sub, direction=F.OFFTAKE):
    h = r.headroom
    h = h[(h[F.VARIANT] == variant) & (h[F.SUBSTATION_ID] == sub) & (h[F.DIRECTION] == direction)]
    return h.set_index(F.YEAR)[F.NEW_LOAD_MW]


@pytest.fixture(scope="module")
def site():
    """A gas-heated housing site wholly inside one service area, and its substation."""
    plan = read_plan(project({}))
    r = compute(plan, variants=["basis"])
    asg = r.assignment[(r.assignment[F.LAYER] == "housing_sites")]
    whole = asg.groupby(F.SITE_ID)[F.SHARE].max()
    h = plan.layers["housing_sites"].set_index("id")
    sid = next(s for s in h.index if h.at[s, "heating"] == "gas" and whole.get(s, 0) == 1.0)
    return sid, asg[asg[F.SITE_ID] == sid][F.SUBSTATION_ID].item(), h.loc[sid]


def test_a_variant_switches_a_site_off_and_changes_another_ones_heating(site):
    sid, sub, row = site
    p = project({"zonder": {"changes": [{"layer": "housing_sites", "id": sid, "active": False}]},
                 "elektrisch": {"changes": [{"layer": "housing_sites", "id": sid, "heating": "all_electric"}]}})
    plan = read_plan(p)
    r = compute(plan, variants=["basis", "zonder", "elektrisch"])
    d = r.demand[(r.demand[F.SITE_ID] == sid) & (r.demand[F.CARRIER] == F.ELECTRICITY)]
    base = d[d[F.VARIANT] == "basis"].set_index(F.YEAR)
    assert not (d[F.VARIANT] == "zonder").any()                     # not built in this variant
    assert (new_load(r, "basis", sub) - new_load(r, "zonder", sub)).tolist() == pytest.approx(
        base[F.OFFTAKE_MW].tolist())
    # all-electric instead of gas: 3.5 - 1.5 = 2.0 kW more per delivered dwelling (the EV part is the same)
    el = d[d[F.VARIANT] == "elektrisch"].set_index(F.YEAR)
    extra = (el[F.OFFTAKE_MW] - base[F.OFFTAKE_MW]) * 1000
    assert extra.tolist() == pytest.approx((base[F.DWELLINGS_DELIVERED] * 2.0).tolist())
    # the input layer is not modified
    assert plan.layers["housing_sites"].set_index("id").at[sid, "heating"] == "gas"


def test_a_variant_electrifies_a_business_parks_process_heat():
    """BT07 (heavy industry, 40 ha, 0.5 MWth/ha = 20 MWth) from gas to electric: 20 / 0.99 MWe at its substation."""
    p = project({"elektrisch": {"changes": [{"layer": "industrial_zones", "id": "BT07",
                                             "process_heat_carrier": "electric"}]}})
    r = compute(read_plan(p), variants=["basis", "elektrisch"])
    a = r.assignment[(r.assignment[F.SITE_ID] == "BT07")]
    gain = sum((new_load(r, "elektrisch", s) - new_load(r, "basis", s))[2040] for s in a[F.SUBSTATION_ID])
    assert gain == pytest.approx(40 * 0.5 / 0.99)
    gas = r.demand[(r.demand[F.SITE_ID] == "BT07") & (r.demand[F.CARRIER] == "gas")]
    assert set(gas[F.VARIANT]) == {"basis"} and gas[gas[F.YEAR] == 2040][F.OFFTAKE_MW].item() == pytest.approx(20 / 0.9)


def test_changes_from_a_csv(tmp_path, site):
    sid, sub, _ = site
    (tmp_path / "keuzes.csv").write_text(f"layer;id;field;value\nhousing_sites;{sid};active;nee\n", encoding="utf-8")
    cfg = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    cfg["conflicts"] = {"enabled": False}
    cfg["variants"]["zonder"] = {"changes": str(tmp_path / "keuzes.csv")}
    r = compute(read_plan(project_from_dict(cfg, root=EXAMPLE.parent)), variants=["basis", "zonder"])
    assert not ((r.demand[F.SITE_ID] == sid) & (r.demand[F.VARIANT] == "zonder")).any()


@pytest.mark.parametrize("change, message", [
    ({"layer": "woningen", "id": "WB001", "heating": "gas"}, "layer 'woningen' is not a layer of the project"),
    ({"layer": "housing_sites", "id": "WB999", "heating": "gas"}, "'WB999' is not an id of layer housing_sites"),
    ({"layer": "housing_sites", "id": "WB001", "heating": "kolen"}, "'kolen' is not allowed - use one of"),
    ({"layer": "housing_sites", "id": "WB001", "verwarming": "gas"}, "'verwarming' is not a field of housing_sites"),
    ({"layer": "housing_sites", "id": "WB001", "dwellings": -5}, "-5 is outside 0..100000"),
])
def test_bad_changes_name_the_variant_layer_id_and_field(change, message):
    with pytest.raises(LayerValidationError) as e:
        read_plan(project({"fout": {"changes": [change]}}))
    text = str(e.value)
    assert text.startswith("variants.fout.changes[0]") and message in text


def test_the_base_layers_are_not_shared_between_variants(site):
    sid, _, _ = site
    p = project({"zonder": {"changes": [{"layer": "housing_sites", "id": sid, "active": False}]}})
    plan = read_plan(p)
    before = plan.layers["housing_sites"].copy()
    compute(plan, variants=["basis", "zonder"])
    pd.testing.assert_frame_equal(plan.layers["housing_sites"], before)


def test_a_changed_field_is_checked_with_the_rest_of_its_row(tmp_path):
    """A phasing the layer's own row check cannot read is refused when the plan is read, not in the middle of a run."""
    with pytest.raises(LayerValidationError) as e:
        read_plan(project({"fout": {"changes": [{"layer": "housing_sites", "id": "WB001", "phasing": "2027:veel"}]}}))
    assert str(e.value).startswith("variants.fout.changes (housing_sites), feature WB001, field 'phasing'")
