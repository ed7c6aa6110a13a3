"""A tiny hand-checked project for the ranking, programme, scales and diff tests.

Three substations in a row (150/20 kV, 2 x 40 MVA each, so N-1 firm 40 MVA),
each serving a 1 km square; no autonomous growth; EVs off. Horizon 2025-2035.

* A: peak 38 MW; housing site HA (1000 all-electric dwellings, 3.5 kW each,
  delivered in 2027) -> load 41.5 MW from 2027: short 1.5 MW.
* B: peak 30 MW; housing site HB (4000 all-electric dwellings in 2030,
  14 MW, straddling municipalities M1/M2 half and half) -> 44 MW: short 4 MW
  from 2030. Business park ZB (contracted 2 MW in 2030, 150 jobs) -> short 6 MW.
* C: peak 10 MW; nothing new: never short.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, box

from spatialprog.config import project_from_dict

X0, Y0 = 150_000.0, 450_000.0
CRS = "EPSG:28992"


def write_layers(d: Path, *, housing_extra: list[dict] | None = None, housing_drop: tuple[str, ...] = (),
                 housing_changes: dict | None = None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    subs = gpd.GeoDataFrame(
        {"id": ["A", "B", "C"], "name": ["Sub A", "Sub B", "Sub C"], "voltage_kv": ["150/20"] * 3,
         "n_transformers": [2, 2, 2], "transformer_mva": [40.0, 40.0, 40.0], "peak_offtake_mw": [38.0, 30.0, 10.0],
         "peak_feedin_mw": [0.0, 0.0, 0.0], "higher_level_id": ["TN1", "TN1", "TN1"]},
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 500), Point(X0 + 2500, Y0 + 500)], crs=CRS)
    areas = gpd.GeoDataFrame({"id": ["VA", "VB", "VC"], "substation_id": ["A", "B", "C"]},
                             geometry=[box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)],
                             crs=CRS)
    rows = [
        {"id": "HA", "name": "Site A", "dwellings": 1000, "delivery_start_year": 2027, "delivery_end_year": 2027,
         "heating": "all_electric", "ev_share": 0.0, "priority_category": "basisbehoeften",
         "geometry": box(X0 + 200, Y0 + 200, X0 + 400, Y0 + 400)},
        {"id": "HB", "name": "Site B", "dwellings": 4000, "delivery_start_year": 2030, "delivery_end_year": 2030,
         "heating": "all_electric", "ev_share": 0.0, "priority_category": None,
         "geometry": box(X0 + 1300, Y0 + 400, X0 + 1700, Y0 + 600)},
    ]
    for r in rows:
        r.update((housing_changes or {}).get(r["id"], {}))
    rows = [r for r in rows if r["id"] not in housing_drop] + list(housing_extra or [])
    housing = gpd.GeoDataFrame(rows, crs=CRS)
    zones = gpd.GeoDataFrame(
        {"id": ["ZB"], "name": ["Park B"], "category": ["logistics"], "contracted_mw": [2.0], "start_year": [2030],
         "jobs": [150]}, geometry=[box(X0 + 1750, Y0 + 100, X0 + 1900, Y0 + 250)], crs=CRS)
    muni = gpd.GeoDataFrame({"id": ["M1", "M2"], "name": ["Muni 1", "Muni 2"], "level": ["municipality"] * 2},
                            geometry=[box(X0, Y0, X0 + 1500, Y0 + 1000), box(X0 + 1500, Y0, X0 + 3000, Y0 + 1000)],
                            crs=CRS)
    for name, g in (("subs", subs), ("areas", areas), ("housing", housing), ("zones", zones), ("muni", muni)):
        g.to_file(d / f"{name}.geojson", driver="GeoJSON")


PROJECT = """
[project]
name = "tiny"
base_year = 2025
horizon = [2025, 2035]

[layers.substations]
path = "subs.geojson"
[layers.service_areas]
path = "areas.geojson"
[layers.housing_sites]
path = "housing.geojson"
[layers.industrial_zones]
path = "zones.geojson"
[layers.boundaries]
path = "muni.geojson"

[parameters]
"growth.offtake_pct_per_year" = 0.0
"growth.feedin_pct_per_year" = 0.0

[variants.krap]
description = "a site holds no more than two transformers"
parameters = { "programme.max_transformers_per_station" = 2 }
"""


def make_project(d: Path, *, ranking: str = "", extra: str = "", **layer_kw):
    """Write the layers and return the validated Project (``ranking`` is TOML for the [ranking] section)."""
    write_layers(d, **layer_kw)
    text = PROJECT + extra + ("\n[ranking]\n" + ranking if ranking else "")
    (d / "tiny.toml").write_text(text, encoding="utf-8")
    return project_from_dict(tomllib.loads(text), root=d, path=d / "tiny.toml")


def run_tiny(d: Path, **kw):
    from spatialprog.pipeline import compute, read_plan

    return compute(read_plan(make_project(d, **kw)))
