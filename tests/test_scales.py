"""Scale levels: sums per boundary (totals conserved) and the higher-level check."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from spatialprog.errors import LayerValidationError, ProjectError
from spatialprog.ranking import rank_run
from spatialprog.reference import read_ranking_settings
from spatialprog.scales import check_boundaries, higher_level_check
from tests._rank_project import X0, Y0, make_project, run_tiny


def test_higher_level_check_flags_a_built_overload(tmp_path):
    # 2025: A 38 + B 30 + C 10 = 78 MW below TN1 (capacity 70 MVA); every substation fits (firm 40 each)
    # -> hidden overload. From 2027 A is short itself -> plain overload.
    r = run_tiny(tmp_path, ranking="[ranking.higher_level.nodes]\nTN1 = { capacity_mva = 70 }")
    rr = rank_run(r)
    hl = rr.higher_level_check
    row = hl[(hl["variant"] == "basis") & (hl["year"] == 2025) & (hl["direction"] == "offtake")].iloc[0]
    assert row["sum_load_mw"] == pytest.approx(78.0) and row["headroom_mw"] == pytest.approx(-8.0)
    assert row["flag"] == "hidden_overload" and row["all_below_fit"]
    row27 = hl[(hl["variant"] == "basis") & (hl["year"] == 2027) & (hl["direction"] == "offtake")].iloc[0]
    assert row27["flag"] == "overload" and row27["n_substations_short"] == 1
    feed = hl[hl["direction"] == "feedin"]
    assert (feed["flag"] == "ok").all()


def test_higher_level_fits_and_coincidence(tmp_path):
    r = run_tiny(tmp_path)
    s = r.plan.layers["substations"]
    nodes = pd.DataFrame({"node_id": ["TN1"], "capacity_mva": [80.0]})
    hl = higher_level_check(r.headroom, s, nodes, coincidence=0.9, power_factor=1.0)
    row = hl[(hl["variant"] == "basis") & (hl["year"] == 2025) & (hl["direction"] == "offtake")].iloc[0]
    assert row["coincident_load_mw"] == pytest.approx(78.0 * 0.9) and row["flag"] == "ok"


def test_higher_level_unknown_node_is_reported(tmp_path):
    from spatialprog.errors import NoticeLog

    r = run_tiny(tmp_path)
    notes = NoticeLog()
    hl = higher_level_check(r.headroom, r.plan.layers["substations"], pd.DataFrame(columns=["node_id", "capacity_mva"]),
                            notices=notes)
    assert (hl["flag"] == "no_capacity").all()
    assert any("TN1" in n.message for n in notes)


def test_higher_level_nodes_from_csv(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "nodes.csv").write_text("node_id,capacity_mva,name\nTN1,120,Node one\n", encoding="utf-8")
    p = make_project(tmp_path / "p", ranking='[ranking.higher_level]\npath = "nodes.csv"')
    s = read_ranking_settings(p)
    assert s.higher_level.set_index("node_id").at["TN1", "capacity_mva"] == 120.0
    (tmp_path / "p" / "nodes.csv").write_text("node_id,capacity_mva\nTN1,lots\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"\[ranking.higher_level\] path: nodes.csv row 2 \(node TN1\): "
                                           r"capacity_mva must be a number"):
        read_ranking_settings(p)


def test_scale_sums_conserve_totals(tmp_path):
    r = run_tiny(tmp_path)
    rr = rank_run(r)
    s = rr.scale_sums
    y = s[(s["variant"] == "basis") & (s["year"] == 2030)].set_index("boundary_id")
    # HB (4000 dwellings, 14 MW) straddles M1/M2 half and half; HA (3.5 MW) in M1; ZB (2 MW) in M2
    assert y.loc["M1", "new_offtake_mw"] == pytest.approx(3.5 + 7.0)
    assert y.loc["M2", "new_offtake_mw"] == pytest.approx(7.0 + 2.0)
    assert y.loc["M1", "dwellings_delivered"] == pytest.approx(1000 + 2000)
    assert y.loc["REGION", "new_offtake_mw"] == pytest.approx(y.loc["M1", "new_offtake_mw"] + y.loc["M2", "new_offtake_mw"])
    # substations count where they stand: A in M1; B (x + 1500) on the border -> first by id (M1); C in M2
    assert y.loc["M1", "n_substations"] + y.loc["M2", "n_substations"] == 3
    assert y.loc["REGION", "capacity_offtake_mw"] == pytest.approx(120.0)
    assert y.loc["REGION", "shortfall_offtake_mw"] == pytest.approx(1.5 + 6.0)


def test_scale_sums_conserve_totals_on_the_example():
    from spatialprog.pipeline import compute, read_plan

    r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
    rr = rank_run(r)
    s = rr.scale_sums[rr.scale_sums["year"] == 2040]
    by = s.groupby("level")[["new_offtake_mw", "dwellings_delivered", "capacity_offtake_mw"]].sum()
    for c in by.columns:
        assert by.loc["municipality", c] == pytest.approx(by.loc["region", c], rel=1e-9)
        assert by.loc["province", c] == pytest.approx(by.loc["region", c], rel=1e-9)


def test_overlapping_boundaries_are_an_error(tmp_path):
    b = gpd.GeoDataFrame({"id": ["M1", "M2", "P1"], "name": ["a", "b", "p"],
                          "level": ["municipality", "municipality", "province"]},
                         geometry=[box(0, 0, 10, 10), box(8, 0, 20, 10), box(0, 0, 20, 10)], crs=28992)
    with pytest.raises(LayerValidationError, match=r"boundaries, feature M1, field 'geometry': overlaps M2 "
                                                   r"\(municipality\) by 20 m2") as e:
        check_boundaries(b)
    assert len(e.value.problems) == 1  # the province nests, it does not overlap its own level
    check_boundaries(b.iloc[[0, 2]])


def test_overlapping_extra_boundary_layer(tmp_path):
    d = tmp_path / "p"
    p = make_project(d, ranking='[[ranking.boundaries]]\npath = "extra.geojson"\nlevel = "municipality"')
    gpd.GeoDataFrame({"id": ["M9"], "name": ["overlapping"]}, geometry=[box(X0 + 1000, Y0, X0 + 2000, Y0 + 500)],
                     crs="EPSG:28992").to_file(d / "extra.geojson", driver="GeoJSON")
    from spatialprog.pipeline import read_plan

    with pytest.raises(LayerValidationError, match=r"feature M1, field 'geometry': overlaps M9 \(municipality\)"):
        read_plan(p)  # read at the input edge, with the plan


def _plain_shares(points: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> dict:
    """The shares by the plain overlay of every site with every boundary (the definition)."""
    out = {}
    for _, p in points.iterrows():
        for _, b in boundaries.iterrows():
            g = p.geometry
            share = (g.intersection(b.geometry).area / g.area) if g.area > 0 else float(b.geometry.covers(g))
            if share > 0:
                out[(b["level"], str(b["id"]), p["layer"], p["site_id"])] = share
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 25), st.integers(0, 25)),
                min_size=1, max_size=25))
def test_site_shares_equal_the_plain_overlay(sites):
    """Sites inside one boundary, across two, on an edge, points on a shared edge (to the first id only)."""
    from spatialprog.scales import site_shares

    cells = [box(x, y, x + 20, y + 20) for x in (0, 20, 40) for y in (0, 20, 40)]
    boundaries = gpd.GeoDataFrame({"id": [f"B{i}" for i in range(9)], "level": "municipality"}, geometry=cells)
    geoms = [box(x, y, x + w, y + h) if w and h else Point(x, y) for x, y, w, h in sites]
    points = gpd.GeoDataFrame({"layer": "housing_sites", "site_id": [f"S{i:02d}" for i in range(len(geoms))]},
                              geometry=geoms)
    got = site_shares(points, boundaries)
    plain = _plain_shares(points, boundaries)
    is_point = {f"S{i:02d}" for i, g in enumerate(geoms) if g.area == 0}
    # a point on the edge of several boundaries of one level goes to the first by id
    for sid in is_point:
        keys = sorted(k for k in plain if k[3] == sid)
        for k in keys[1:]:
            del plain[k]
    assert {(r.level, r.boundary_id, r.layer, r.site_id) for r in got.itertuples()} == set(plain)
    for r in got.itertuples():
        assert r.share == pytest.approx(plain[(r.level, r.boundary_id, r.layer, r.site_id)], rel=1e-12)
