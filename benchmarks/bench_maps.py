"""Benchmark: the congestion maps of a synthetic national-scale run.

300 substations spread over the Netherlands (EPSG:28992) with Voronoi service
areas of detailed outline (about 400 vertices each), 3,000 housing polygons,
2,000 charging points, 3 variants x 16 years x 2 directions of headroom. It
reports the size of ``map.html`` (the issue asks for under ~25 MB) and the time
to build it and the static maps. Figures only, no timed asserts.

Run::

    python benchmarks/bench_maps.py [--out DIR] [--no-static]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatialprog.maps import write_maps  # noqa: E402
from spatialprog.outputs import RunOutputs  # noqa: E402

CRS = "EPSG:28992"
BOX = (20_000.0, 310_000.0, 270_000.0, 610_000.0)  # roughly the Dutch RD extent
YEARS = list(range(2025, 2041))
VARIANTS = ("basis", "hoog", "laag")
STATUSES = ("ruimte", "schaars", "waarschuwing", "congestie")


def _wiggle(poly: shapely.Polygon, rng: np.random.Generator, n: int = 400) -> shapely.Polygon:
    """Densify an outline to about ``n`` vertices (real service areas follow streets and ditches)."""
    ring = shapely.segmentize(poly.exterior, max(poly.exterior.length / n, 1.0))
    xy = np.asarray(ring.coords)
    xy[1:-1] += rng.normal(0, 15, size=(len(xy) - 2, 2))
    out = shapely.make_valid(shapely.Polygon(xy))
    return out if out.geom_type == "Polygon" else max(getattr(out, "geoms", [poly]), key=lambda g: g.area)


def synthetic_outputs(n_subs: int = 300, n_housing: int = 3000, n_charging: int = 2000, seed: int = 1) -> RunOutputs:
    """A national-size RunOutputs built directly (no pipeline run)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    pts = shapely.points(rng.uniform(x0, x1, n_subs), rng.uniform(y0, y1, n_subs))
    ids = [f"OS{i:03d}" for i in range(n_subs)]
    subs = gpd.GeoDataFrame({"id": ids, "name": [f"Station {i}" for i in range(n_subs)],
                             "installed_mva": 100.0, "firm_offtake_mva": 50.0, "firm_feedin_mva": 100.0,
                             "firm_rule_offtake": "N-1", "firm_rule_feedin": "N-0"}, geometry=pts, crs=CRS)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=shapely.box(*BOX))
    cells = [shapely.intersection(c, shapely.box(*BOX)) for c in cells.geoms]
    tree = shapely.STRtree(pts)
    owner = [ids[int(tree.query(c, predicate="contains")[0])] for c in cells]
    areas = gpd.GeoDataFrame({"id": [f"VG-{o}" for o in owner], "substation_id": owner},
                             geometry=[_wiggle(c, rng) for c in cells], crs=CRS)

    hx, hy = rng.uniform(x0, x1, n_housing), rng.uniform(y0, y1, n_housing)
    housing = gpd.GeoDataFrame({
        "id": [f"WB{i:05d}" for i in range(n_housing)], "name": [f"Plan {i}" for i in range(n_housing)],
        "dwellings": rng.integers(20, 2000, n_housing), "heating": "all_electric",
        "offtake_mw_2040": rng.uniform(0, 5, n_housing).round(2), "feedin_mw_2040": 0.0,
        "substation_id": rng.choice(ids, n_housing), "assignment_method": "service_area",
    }, geometry=[shapely.box(x, y, x + 300, y + 200).buffer(20) for x, y in zip(hx, hy, strict=True)], crs=CRS)
    charging = gpd.GeoDataFrame({
        "id": [f"LP{i:05d}" for i in range(n_charging)], "name": [f"Laadplein {i}" for i in range(n_charging)],
        "charge_points": rng.integers(2, 40, n_charging), "kw_per_point": 150.0,
        "offtake_mw_2040": rng.uniform(0, 3, n_charging).round(2), "feedin_mw_2040": 0.0,
        "substation_id": rng.choice(ids, n_charging), "assignment_method": "service_area",
    }, geometry=shapely.points(rng.uniform(x0, x1, n_charging), rng.uniform(y0, y1, n_charging)), crs=CRS)

    idx = pd.MultiIndex.from_product([ids, VARIANTS, YEARS, ("offtake", "feedin")],
                                     names=["substation_id", "variant", "year", "direction"])
    h = idx.to_frame(index=False)
    h["capacity_mw"] = 50.0
    h["load_mw"] = rng.uniform(10, 70, len(h)).round(2)
    h["headroom_mw"] = h["capacity_mw"] - h["load_mw"]
    h["status"] = rng.choice(STATUSES, len(h))
    manifest = {"project": "Synthetisch Nederland (benchmark)", "fictional_data": True,
                "run_date": datetime(2026, 1, 1, tzinfo=UTC).isoformat(), "crs": CRS, "base_year": 2025,
                "horizon": [2025, 2040], "variants": {v: "" for v in VARIANTS}, "inputs": []}
    layers = {"substations": subs, "service_areas": areas, "housing_sites": housing, "charging_hubs": charging}
    return RunOutputs(layers, {"headroom": h}, manifest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--no-static", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    outputs = synthetic_outputs()
    t1 = time.perf_counter()
    verts = int(shapely.get_num_coordinates(outputs.layers["service_areas"].geometry.values).sum())
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-maps-"))
    files = write_maps(outputs, out, static=False)
    t2 = time.perf_counter()
    size = files[0].stat().st_size
    print(f"input: {len(outputs.layers['substations'])} substations, {verts:,} service-area vertices, "
          f"{len(outputs.layers['housing_sites'])} housing polygons, {len(outputs.layers['charging_hubs'])} "
          f"charging points; built in {t1 - t0:.1f} s")
    print(f"map.html: {size / 1e6:.1f} MB (limit ~25 MB: {size / 25e6:.0%} of it), written in {t2 - t1:.1f} s")
    if not args.no_static:
        files = write_maps(outputs, out, static=True)
        t3 = time.perf_counter()
        print(f"map.html + static PNG/PDF maps: {t3 - t2:.1f} s; files in {out}")


if __name__ == "__main__":
    main()
