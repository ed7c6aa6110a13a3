"""Assignment of sites to substations: splits, Voronoi, nearest, and conservation of demand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from spatialprog import fields as F
from spatialprog.errors import NoticeLog
from spatialprog.network import allocate, assign_sites, derive_service_areas

SUBS = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[Point(500, 500), Point(1500, 500)], crs="EPSG:28992")
AREAS = gpd.GeoDataFrame({"id": ["SA", "SB"], "substation_id": ["A", "B"]},
                         geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs="EPSG:28992")


def pts(geoms, layer="housing_sites"):
    return gpd.GeoDataFrame({F.LAYER: layer, F.SITE_ID: [f"S{i}" for i in range(len(geoms))]}, geometry=geoms,
                            crs="EPSG:28992")


def test_straddling_polygon_split_by_area():
    # x 900..1300: 100 m in A, 300 m in B -> 0.25 / 0.75
    a = assign_sites(pts([box(900, 400, 1300, 500)]), SUBS, AREAS, method="service_areas", max_distance_m=5000)
    assert a.set_index(F.SUBSTATION_ID)[F.SHARE].to_dict() == pytest.approx({"A": 0.25, "B": 0.75})
    assert set(a[F.METHOD]) == {"service_area"}


def test_point_on_border_goes_to_one_substation_deterministically():
    a = assign_sites(pts([Point(1000, 500)]), SUBS, AREAS, method="service_areas", max_distance_m=5000)
    assert a[F.SUBSTATION_ID].tolist() == ["A"] and a[F.SHARE].tolist() == [1.0]


def test_outside_every_area_nearest_or_unassigned_and_reported():
    notices = NoticeLog()
    site = pts([box(2100, 0, 2200, 100), box(90_000, 0, 90_100, 100)])
    a = assign_sites(site, SUBS, AREAS, method="service_areas", max_distance_m=5000, notices=notices)
    s0 = a[a.site_id == "S0"].iloc[0]
    assert s0[F.SUBSTATION_ID] == "B" and s0[F.METHOD] == "nearest"
    assert s0[F.DIST_M] == pytest.approx(np.hypot(600, 400))  # nearest corner (2100, 100) to (1500, 500)
    s1 = a[a.site_id == "S1"].iloc[0]
    assert pd.isna(s1[F.SUBSTATION_ID]) and s1[F.METHOD] == "unassigned"
    msgs = [n for n in notices if n.feature in ("S0", "S1")]
    assert len(msgs) == 2 and any("not assigned" in n.message for n in msgs)
    # outside = "unassigned": the near one is not rescued
    a2 = assign_sites(site, SUBS, AREAS, method="service_areas", max_distance_m=5000, outside="unassigned")
    assert a2[F.METHOD].tolist() == ["unassigned", "unassigned"]


def test_partly_outside_keeps_inside_share():
    # x 1900..2100: half inside B, half outside -> nearest is B too; shares sum to 1
    a = assign_sites(pts([box(1900, 0, 2100, 100)]), SUBS, AREAS, method="service_areas", max_distance_m=5000)
    assert a[F.SHARE].sum() == pytest.approx(1.0)
    assert sorted(a[F.METHOD]) == ["nearest", "service_area"]


def test_voronoi_areas_clipped_to_region():
    areas = derive_service_areas(SUBS, box(0, 0, 2000, 1000))
    assert areas[F.SUBSTATION_ID].tolist() == ["A", "B"]
    assert areas.area.tolist() == pytest.approx([1e6, 1e6])
    a = assign_sites(pts([box(900, 400, 1300, 500)]), SUBS, areas, method="voronoi", max_distance_m=5000)
    assert a.set_index(F.SUBSTATION_ID)[F.SHARE].to_dict() == pytest.approx({"A": 0.25, "B": 0.75})
    assert set(a[F.METHOD]) == {"voronoi"}


def test_nearest_method_with_max_distance():
    a = assign_sites(pts([Point(1400, 500), Point(50_000, 500)]), SUBS, AREAS, method="nearest", max_distance_m=1000)
    assert a[F.SUBSTATION_ID].tolist()[0] == "B"
    assert a[F.METHOD].tolist() == ["nearest", "unassigned"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-500, 2400), st.floats(-300, 1200), st.floats(1, 800), st.floats(1, 600),
                          st.floats(0, 50)), min_size=1, max_size=12))
def test_demand_is_conserved(rects):
    """Whatever the sites, allocated demand summed over substations (unassigned included) equals the total."""
    geoms = [box(x, y, x + w, y + h) for x, y, w, h, _ in rects]
    p = pts(geoms)
    a = assign_sites(p, SUBS, AREAS, method="service_areas", max_distance_m=800)
    assert np.allclose(a.groupby(F.SITE_ID)[F.SHARE].sum(), 1.0)
    demand = pd.DataFrame({F.LAYER: "housing_sites", F.SITE_ID: p[F.SITE_ID], F.YEAR: 2030,
                           F.OFFTAKE_MW: [r[4] for r in rects], F.FEEDIN_MW: 0.0})
    alloc = allocate(demand, a)
    assert alloc[F.OFFTAKE_MW].sum() == pytest.approx(demand[F.OFFTAKE_MW].sum())
    assigned = alloc[alloc[F.SUBSTATION_ID].notna()][F.OFFTAKE_MW].sum()
    unassigned = alloc[alloc[F.SUBSTATION_ID].isna()][F.OFFTAKE_MW].sum()
    assert assigned + unassigned == pytest.approx(demand[F.OFFTAKE_MW].sum())


def test_example_region_conserves_demand(example_result):
    d = example_result.demand
    d = d[d[F.CARRIER] == F.ELECTRICITY]  # the substations' carrier; the others: tests/test_carriers.py
    a = example_result.allocated
    for v in example_result.variants:
        assert a[a.variant == v][F.OFFTAKE_MW].sum() == pytest.approx(d[d.variant == v][F.OFFTAKE_MW].sum())
        # and all of it lands on substations: every example site is inside a service area
        assert a[(a.variant == v) & a[F.SUBSTATION_ID].isna()].empty
