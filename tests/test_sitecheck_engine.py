"""check-site = run with the site added: a property test over random sites.

For random sites of every checkable kind (housing, business park, charging hub;
inside, straddling and outside the region; inside the Natura 2000 constraint
and near HV lines), ``check_site`` on the project path (the fast path: only
what is near the site is read, then the what-if session) must give what a full
``compute`` of the whole plan with the site added to its layer gives: the same
serving substations and shares, the same headroom after in every year and
variant, the same years it fits and first year it fits, and the same land-claim
conflicts. Run on the example region and on a copy whose substations only
publish their capacity and headroom (VIVET-style).
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from spatialprog import fields as F
from spatialprog.headroom import firm_capacity, is_short
from spatialprog.pipeline import Plan, compute, read_plan
from spatialprog.sitecheck import check_site, read_sites

EXAMPLE = "layers/example_region.toml"
NEW_ID = "NIEUW-1"
# the example region's service areas span x 170000-200000, y 430000-448000; sites may fall outside
X = (168000.0, 202000.0)
Y = (428000.0, 450000.0)
NATURA = (172000.0, 200000.0, 441800.0, 442200.0)   # inside the fictional Natura 2000 strip


@pytest.fixture(scope="module")
def vivet_project(tmp_path_factory):
    """The example region with substations that publish only firm capacity and available headroom."""
    d = tmp_path_factory.mktemp("vivet") / "p"
    shutil.copytree("layers", d)
    plan = read_plan(EXAMPLE)
    subs = plan.layers["substations"]
    cap = firm_capacity(subs, plan.project.parameters)
    pf = float(plan.project.parameters["grid.power_factor"])
    pub = gpd.GeoDataFrame({
        "code": subs["id"], "naam": subs["name"], "spanning": subs["voltage_kv"],
        "firm_afname": cap["firm_offtake_mva"].to_numpy(), "firm_invoeding": cap["firm_feedin_mva"].to_numpy(),
        # published availability now: capacity minus today's peak (the operator's own figure)
        "beschikbaar_afname": (cap["firm_offtake_mva"].to_numpy() - subs["peak_offtake_mw"].to_numpy() / pf).round(1),
        "beschikbaar_invoeding": (cap["firm_feedin_mva"].to_numpy() - subs["peak_feedin_mw"].to_numpy() / pf).round(1),
        "verzwaring_jaar": subs["reinforcement_year"], "verzwaring_mva": subs["reinforcement_mva"],
        "voedend_station": subs["higher_level_id"],
    }, geometry=subs.geometry.values, crs=subs.crs)
    pub.to_file(d / "vivet_stations.gpkg", layer="stations", driver="GPKG")
    toml = (d / "example_region.toml").read_text(encoding="utf-8")
    start = toml.index("[layers.substations]")
    end = toml.index("[layers.service_areas]")
    toml = toml[:start] + '''[layers.substations]
path = "vivet_stations.gpkg"
[layers.substations.columns]
id = "code"
name = "naam"
voltage_kv = "spanning"
firm_offtake_mva = "firm_afname"
firm_feedin_mva = "firm_invoeding"
available_offtake_mva = "beschikbaar_afname"
available_feedin_mva = "beschikbaar_invoeding"
reinforcement_year = "verzwaring_jaar"
reinforcement_mva = "verzwaring_mva"
higher_level_id = "voedend_station"

''' + toml[end:]
    (d / "example_region.toml").write_text(toml, encoding="utf-8")
    return d / "example_region.toml"


@pytest.fixture(scope="module")
def plans(vivet_project):
    return {"example": (EXAMPLE, read_plan(EXAMPLE)), "vivet": (vivet_project, read_plan(vivet_project))}


def _full_run_with(plan: Plan, kind: str, site: gpd.GeoDataFrame):
    """compute() on the whole plan with the site appended to its layer (the reference answer)."""
    layers = dict(plan.layers)
    layers[kind] = pd.concat([layers[kind], site], ignore_index=True) if kind in layers else site
    layers[kind] = gpd.GeoDataFrame(layers[kind], geometry="geometry", crs=plan.project.crs)
    return compute(Plan(project=plan.project, layers=layers, constraints=plan.constraints, reference=plan.reference))


def _conflict_set(conflicts: pd.DataFrame, kind: str) -> set[tuple[str, str, str]]:
    out = set()
    for r in conflicts.itertuples(index=False):
        if r.layer_a == kind and str(r.id_a) == NEW_ID:
            out.add((r.rule_id, r.layer_b, str(r.id_b)))
        elif r.layer_b == kind and str(r.id_b) == NEW_ID:
            out.add((r.rule_id, r.layer_a, str(r.id_a)))
    return out


def assert_check_equals_run(project_path, plan: Plan, geometry, programme: dict, kind: str) -> None:
    c = check_site(project_path, geometry, programme | {"id": NEW_ID}, kind=kind)
    k, site = read_sites(geometry, programme | {"id": NEW_ID}, kind=kind, working_crs=plan.project.crs)
    full = _full_run_with(plan, k, site)

    # assignment: the same substations with the same shares
    asg = full.assignment[(full.assignment[F.LAYER] == k) & (full.assignment[F.SITE_ID] == NEW_ID)]
    served = asg[asg[F.SUBSTATION_ID].notna()].groupby(F.SUBSTATION_ID, sort=False)[F.SHARE].sum()
    assert [s["substation_id"] for s in c.serving] == served.index.tolist()
    assert [s["share"] for s in c.serving] == pytest.approx(served.tolist(), abs=1e-6)

    # headroom after, per variant, substation and year; fits and first fit year by the one definition of short
    # (in the site's direction: offtake, or feed-in for a site that only delivers)
    d = full.demand[(full.demand[F.LAYER] == k) & (full.demand[F.SITE_ID] == NEW_ID)
                    & (full.demand[F.CARRIER] == F.ELECTRICITY)]  # the substations' carrier
    for v, vd in c.variants.items():
        direction = vd["direction"]
        h = full.headroom[full.headroom[F.DIRECTION] == direction].set_index([F.VARIANT, F.SUBSTATION_ID, F.YEAR])
        site_mw = d[d[F.VARIANT] == v].set_index(F.YEAR)[F.OFFTAKE_MW if direction == F.OFFTAKE else F.FEEDIN_MW]
        fits_run = []
        for y in vd["years"]:
            assert y["site_mw"] == pytest.approx(site_mw[y["year"]], abs=1e-4)
            after = [h.loc[(v, s["substation_id"], y["year"]), F.HEADROOM_MW] for s in y["substations"]]
            assert [s["headroom_after_mw"] for s in y["substations"]] == pytest.approx(after, abs=1e-4)
            fits_run.append(site_mw[y["year"]] <= 0 or (len(served) > 0 and not any(is_short(np.array(after)))))
        assert [y["fits"] for y in vd["years"]] == fits_run
        years = [y["year"] for y in vd["years"]]
        ok_from = next((years[i] for i in range(len(years)) if all(fits_run[i:])), None)
        if vd["verdict"]["key"] in ("fits", "fits_from"):
            first_demand = next(yr for yr in years if site_mw[yr] > 0)
            assert vd["first_fit_year"] == max(ok_from, first_demand)
        elif vd["verdict"]["key"] == "does_not_fit":
            assert not fits_run[-1]

        # every other connection (electricity the other way, hydrogen, heat, gas): the run's headroom at its nodes
        every = pd.concat([full.headroom, full.carrier_headroom], ignore_index=True)
        at = every.set_index([F.CARRIER, F.DIRECTION, F.VARIANT, F.SUBSTATION_ID, F.YEAR])[F.HEADROOM_MW]
        dc = full.demand[(full.demand[F.LAYER] == k) & (full.demand[F.SITE_ID] == NEW_ID) & (full.demand[F.VARIANT] == v)]
        for con in vd["connections"]:
            col = F.OFFTAKE_MW if con["direction"] == F.OFFTAKE else F.FEEDIN_MW
            mw = dc[dc[F.CARRIER] == con["carrier"]].groupby(F.YEAR)[col].sum()
            for y in con["years"]:
                assert y["site_mw"] == pytest.approx(mw.get(y["year"], 0.0), abs=1e-4)
                # a node not in service that nothing draws on has no row in the run (headroom 0, nothing asked)
                run_after = [at.get((con["carrier"], con["direction"], v, st_["id"], y["year"]), 0.0)
                             for st_ in y["stations"]]
                assert [st_["headroom_after_mw"] for st_ in y["stations"]] == pytest.approx(run_after, abs=1e-4)
        # the other carriers the site uses all have a connection (none is left out)
        used = {(cr, dr) for cr in set(dc[F.CARRIER]) - {F.ELECTRICITY} for dr, col in
                ((F.OFFTAKE, F.OFFTAKE_MW), (F.FEEDIN, F.FEEDIN_MW)) if (dc.loc[dc[F.CARRIER] == cr, col] > 0).any()}
        assert used <= {(con["carrier"], con["direction"]) for con in vd["connections"]}

    # land-claim conflicts: the same rules against the same features
    mine = {(i["rule_id"], i["other_layer"], i["other_id"]) for i in c.conflicts["items"]}
    assert mine == (_conflict_set(full.conflicts.conflicts, k) if full.conflicts is not None else set())


HEATING = ["gas", "hybrid", "all_electric", "heat_network"]
CATEGORY = ["logistics", "light_industry", "heavy_industry", "offices", "mixed"]


@st.composite
def sites(draw):
    kind = draw(st.sampled_from(["housing", "industrial", "charging", "solar"]))
    where = draw(st.sampled_from(["anywhere", "anywhere", "natura2000"]))
    if where == "natura2000":
        x = draw(st.floats(NATURA[0], NATURA[1]))
        y = draw(st.floats(NATURA[2], NATURA[3]))
    else:
        x = draw(st.floats(*X))
        y = draw(st.floats(*Y))
    x, y = round(x, 1), round(y, 1)
    start = draw(st.integers(2025, 2041))
    if kind == "housing":
        r = draw(st.floats(40.0, 900.0))
        prog = {"dwellings": draw(st.integers(1, 3000)), "heating": draw(st.sampled_from(HEATING)),
                "start_year": start, "end_year": start + draw(st.integers(0, 4))}
        if draw(st.booleans()):
            prog["ev_share"] = draw(st.floats(0.0, 1.5))
        geometry = f"{x},{y},{r:.1f}" if draw(st.booleans()) else shapely.box(x - r, y - r / 2, x + r, y + r / 2).wkt
    elif kind == "industrial":
        r = draw(st.floats(100.0, 1200.0))
        prog = {"category": draw(st.sampled_from(CATEGORY)), "start_year": start}
        if draw(st.booleans()):
            prog["contracted_mw"] = draw(st.floats(0.5, 60.0))
        heat = draw(st.sampled_from([None, "electric", "hydrogen", "gas"]))
        if heat is not None:
            prog["process_heat_carrier"] = heat
        geometry = shapely.box(x - r, y - r, x + r, y + r * 0.6).wkt
    elif kind == "solar":
        r = draw(st.floats(50.0, 600.0))
        prog = {"technology": draw(st.sampled_from(["solar", "wind"])), "capacity_mw": draw(st.floats(0.5, 80.0)),
                "start_year": start}
        geometry = shapely.box(x - r, y - r, x + r, y + r).wkt
    else:
        prog = {"charge_points": draw(st.integers(1, 40)), "kw_per_point": draw(st.sampled_from([11.0, 22.0, 150.0, 350.0])),
                "segment": draw(st.sampled_from(["passenger", "freight"])), "start_year": start}
        geometry = f"{x},{y}"
    return kind, geometry, prog


@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=sites(), which=st.sampled_from(["example", "vivet"]))
def test_check_site_equals_a_run_with_the_site_added(plans, case, which):
    kind, geometry, prog = case
    path, plan = plans[which]
    assert_check_equals_run(path, plan, geometry, prog, kind)


# the cases the issue named, by hand: each must agree with the run


@pytest.mark.parametrize("which", ["example", "vivet"])
@pytest.mark.parametrize("kind, geometry, prog", [
    # a charging hub inside the Natura 2000 area: run finds R14 for it
    ("charging", "185500,442000", {"charge_points": 4, "kw_per_point": 150.0, "segment": "passenger",
                                    "start_year": 2027}),
    # straddling OS01 and OS02
    ("housing", "POLYGON ((177200 432000, 178200 432000, 178200 432400, 177200 432400, 177200 432000))",
     {"dwellings": 200, "heating": "gas", "ev_share": 0.3, "start_year": 2027, "end_year": 2028}),
    # outside every service area, beyond the nearest-substation distance
    ("housing", "120000,480000,200", {"dwellings": 50, "heating": "gas", "start_year": 2027}),
    # outside the service areas but within reach of one: the part outside goes to the nearest substation
    ("industrial", "POLYGON ((199000 440000, 201500 440000, 201500 441000, 199000 441000, 199000 440000))",
     {"category": "logistics", "start_year": 2029}),
    # heavy industry on hydrogen near H2-01 (its station from 2030, the park from 2027): the hydrogen connection
    ("industrial", "POLYGON ((196500 439000, 197500 439000, 197500 439800, 196500 439800, 196500 439000))",
     {"category": "heavy_industry", "process_heat_carrier": "hydrogen", "start_year": 2027}),
    # a solar field: judged on feed-in
    ("solar", "POLYGON ((176000 440000, 176600 440000, 176600 440500, 176000 440500, 176000 440000))",
     {"technology": "solar", "capacity_mw": 30.0, "start_year": 2027}),
    # housing on a heat network: its heat at the network's sources
    ("housing", "POLYGON ((187000 444500, 187500 444500, 187500 445000, 187000 445000, 187000 444500))",
     {"dwellings": 400, "heating": "heat_network", "start_year": 2028}),
    # on a business park (rule R01) and within reach of HV lines
    ("housing", "183600,439100,120", {"dwellings": 400, "heating": "all_electric", "start_year": 2030}),
    # partly on heat network WN03, whose heat goes to WN03 alone: the plan's sites that declare WN01 or WN02
    # (far away, not read) are not connected with it (hypothesis found check-site listing them, their load unread)
    ("housing", "POLYGON ((197144.1 446074.1, 197144.1 446497.9, 196296.5 446497.9, 196296.5 446074.1, "
                "197144.1 446074.1))", {"dwellings": 23, "heating": "gas", "start_year": 2034, "end_year": 2037}),
])
def test_named_cases_agree_with_the_run(plans, which, kind, geometry, prog):
    path, plan = plans[which]
    assert_check_equals_run(path, plan, geometry, prog, kind)


def test_the_natura_hub_has_r14_in_both(plans):
    path, plan = plans["vivet"]
    c = check_site(path, "185500,442000", {"charge_points": 4, "kw_per_point": 150.0, "segment": "passenger",
                                           "start_year": 2027, "id": NEW_ID}, kind="charging")
    assert "R14" in {i["rule_id"] for i in c.conflicts["items"]}
    # the VIVET-style substations have no transformers: the published capacity serves (not 'nothing')
    sub = c.variants["basis"]["years"][0]["substations"][0]
    assert sub["capacity_mw"] > 0


@pytest.mark.realdata
@pytest.mark.parametrize("kind, geometry, prog", [
    # Utrecht, Lage Weide (a station that publishes 0 offtake headroom) and the city centre
    ("housing", "POINT (5.0755 52.1035)", {"dwellings": 800, "heating": "all_electric", "start_year": 2026}),
    ("charging", "POINT (5.1214 52.0907)", {"charge_points": 12, "kw_per_point": 350.0, "segment": "freight",
                                             "start_year": 2027}),
    ("industrial", "POINT (5.0755 52.1035)", {"category": "logistics", "contracted_mw": 15.0, "start_year": 2028}),
])
def test_check_site_equals_the_run_on_the_real_vivet_file(tmp_path, kind, geometry, prog):
    """The real operators' file (published capacities only, Voronoi areas): check-site = run + site."""
    from spatialprog.config import project_from_dict

    from .conftest import realdata

    path = realdata("substations_nl_vivet", "vivet_stations_capacity_nl.geojson")
    project = project_from_dict({
        "project": {"name": "VIVET", "base_year": 2023, "horizon": [2023, 2030]},
        "layers": {"substations": {"path": str(path), "mapping": "vivet"}},
        "assignment": {"method": "voronoi"},
    })
    plan = read_plan(project)
    radius = None if kind == "charging" else 300.0
    c = check_site(project, geometry, prog | {"id": NEW_ID}, kind=kind, crs="EPSG:4326", radius_m=radius)
    k, site = read_sites(geometry, prog | {"id": NEW_ID}, kind=kind, crs="EPSG:4326", radius_m=radius,
                         working_crs=plan.project.crs)
    full = _full_run_with(plan, k, site)
    h = full.headroom[full.headroom[F.DIRECTION] == F.OFFTAKE].set_index([F.VARIANT, F.SUBSTATION_ID, F.YEAR])
    assert c.serving, "the site lies in the Netherlands: some station serves it"
    for y in c.variants["basis"]["years"]:
        for s in y["substations"]:
            assert s["capacity_mw"] > 0   # the published capacity, not n_transformers x transformer_mva
            assert s["headroom_after_mw"] == pytest.approx(h.loc[("basis", s["substation_id"], y["year"]),
                                                                 F.HEADROOM_MW], abs=1e-4)
