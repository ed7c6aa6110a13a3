"""Benchmark: the congestion maps of a synthetic national-scale run.

400 substations spread over the Netherlands (EPSG:28992) with Voronoi service
areas of detailed outline (about 400 vertices each), a mix of sites (60 %
housing polygons, 30 % charging points, 10 % business-park polygons) with their
demand per year, 3 variants x 16 years x 2 directions of headroom. It reports
the size of ``map.html`` (issue 13 asks for under 25 MB at 1e5 sites) and the
time to build it, at 1e4 and 1e5 sites, and the time of the static maps.
Figures only, no timed asserts.

It also prints the same figures for the bundled example region, and, with ``--run DIR``, for a run
folder of the synthetic national region (``scripts/make_national_region.py FOLDER``, then
``spatialprog run FOLDER/national.toml --out DIR --no-maps``: 1e5 sites of every kind, conflicts,
candidate sites and the suitability surface).

Run::

    python benchmarks/bench_maps.py [--out DIR] [--sites 10000 100000] [--no-static] [--run DIR]

Measured on the national run folder (2 cores, shared with other work), main before -> after issue 13's
map work: map.html 32.4 -> 21.9 MB, drawn in 18.0 -> 6 s CPU; the static maps 28.7 + 9.4 s -> 4.4 + 6.8 s
CPU (drawn + saved as PNG and PDF); the example region's map.html the same bytes (0.36 MB, 0.3 s).
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


def synthetic_outputs(n_subs: int = 400, n_sites: int = 10_000, seed: int = 1) -> RunOutputs:
    """A national-size RunOutputs built directly (no pipeline run): ``n_sites`` sites of three kinds."""
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

    n_housing, n_charging = int(n_sites * 0.6), int(n_sites * 0.3)
    n_parks = n_sites - n_housing - n_charging
    common = {"feedin_mw_2040": 0.0, "assignment_method": "service_area"}
    hx, hy = rng.uniform(x0, x1, n_housing), rng.uniform(y0, y1, n_housing)
    housing = gpd.GeoDataFrame({
        "id": [f"WB{i:06d}" for i in range(n_housing)], "name": [f"Plan {i}" for i in range(n_housing)],
        "dwellings": rng.integers(20, 2000, n_housing), "heating": "all_electric",
        "offtake_mw_2040": rng.uniform(0, 5, n_housing).round(2), **common,
        "substation_id": rng.choice(ids, n_housing),
    }, geometry=[shapely.box(x, y, x + 300, y + 200).buffer(20) for x, y in zip(hx, hy, strict=True)], crs=CRS)
    charging = gpd.GeoDataFrame({
        "id": [f"LP{i:06d}" for i in range(n_charging)], "name": [f"Laadplein {i}" for i in range(n_charging)],
        "charge_points": rng.integers(2, 40, n_charging), "kw_per_point": 150.0,
        "offtake_mw_2040": rng.uniform(0, 3, n_charging).round(2), **common,
        "substation_id": rng.choice(ids, n_charging),
    }, geometry=shapely.points(rng.uniform(x0, x1, n_charging), rng.uniform(y0, y1, n_charging)), crs=CRS)
    px, py = rng.uniform(x0, x1, n_parks), rng.uniform(y0, y1, n_parks)
    parks = gpd.GeoDataFrame({
        "id": [f"BT{i:06d}" for i in range(n_parks)], "name": [f"Bedrijventerrein {i}" for i in range(n_parks)],
        "category": "logistiek", "offtake_mw_2040": rng.uniform(0, 20, n_parks).round(2), **common,
        "substation_id": rng.choice(ids, n_parks),
    }, geometry=[shapely.Polygon(shapely.box(x, y, x + 900, y + 600).exterior.coords).buffer(30)
                 for x, y in zip(px, py, strict=True)], crs=CRS)

    idx = pd.MultiIndex.from_product([ids, VARIANTS, YEARS, ("offtake", "feedin")],
                                     names=["substation_id", "variant", "year", "direction"])
    h = idx.to_frame(index=False)
    h["capacity_mw"] = 50.0
    h["load_mw"] = rng.uniform(10, 70, len(h)).round(2)
    h["headroom_mw"] = h["capacity_mw"] - h["load_mw"]
    h["status"] = rng.choice(STATUSES, len(h))
    # demand per site and year in the base variant (the site popups show it at the milestone years)
    site_ids = pd.concat([pd.DataFrame({"layer": k, "site_id": g["id"]}) for k, g in
                          (("housing_sites", housing), ("charging_hubs", charging), ("industrial_zones", parks))],
                         ignore_index=True)
    demand = site_ids.loc[site_ids.index.repeat(len(YEARS))].reset_index(drop=True)
    demand["variant"] = "basis"
    demand["year"] = np.tile(YEARS, len(site_ids))
    demand["carrier"] = "electricity"
    demand["offtake_mw"] = rng.uniform(0, 5, len(demand)).round(3)
    demand["feedin_mw"] = 0.0
    manifest = {"project": "Synthetisch Nederland (benchmark)", "fictional_data": True,
                "run_date": datetime(2026, 1, 1, tzinfo=UTC).isoformat(), "crs": CRS, "base_year": 2025,
                "horizon": [2025, 2040], "variants": {v: "" for v in VARIANTS}, "inputs": []}
    layers = {"substations": subs, "service_areas": areas, "housing_sites": housing, "charging_hubs": charging,
              "industrial_zones": parks}
    return RunOutputs(layers, {"headroom": h, "demand": demand}, manifest)


def measure(label: str, outputs: RunOutputs, out: Path, *, static: bool) -> None:
    """Print the size of map.html and the CPU and wall time to draw it (and the static maps)."""
    from spatialprog.maps.interactive import interactive_html

    c0, w0 = time.process_time(), time.perf_counter()
    text = interactive_html(outputs)
    c1, w1 = time.process_time(), time.perf_counter()
    size = len(text.encode("utf-8"))
    print(f"{label}: map.html {size / 1e6:.1f} MB (limit 25 MB: {size / 25e6:.0%} of it), "
          f"drawn in {c1 - c0:.1f} s CPU ({w1 - w0:.1f} s wall)")
    if static:
        from spatialprog.maps.static import save_figure, static_figures

        out.mkdir(parents=True, exist_ok=True)
        figs = static_figures(outputs)
        c2 = time.process_time()
        for stem, fig in figs.items():
            save_figure(fig, out, stem)
        c3, w3 = time.process_time(), time.perf_counter()
        print(f"{label}: {len(figs)} static maps drawn in {c2 - c1:.1f} s CPU, saved (PNG + PDF) in {c3 - c2:.1f} s CPU "
              f"({w3 - w1:.1f} s wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--sites", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--no-static", action="store_true")
    ap.add_argument("--run", type=Path, default=None, help="a run folder of the synthetic national region")
    args = ap.parse_args()
    out_root = args.out or Path(tempfile.mkdtemp(prefix="bench-maps-"))
    from spatialprog.pipeline import compute, read_plan

    root = Path(__file__).resolve().parents[1]
    example = RunOutputs.from_result(compute(read_plan(root / "layers" / "example_region.toml")),
                                     run_date=datetime(2026, 1, 1, tzinfo=UTC))
    measure("example region", example, out_root / "example", static=not args.no_static)
    if args.run is not None:
        measure(f"national run {args.run}", RunOutputs.read(args.run), out_root / "national",
                static=not args.no_static)
    for n in args.sites:
        t0 = time.perf_counter()
        outputs = synthetic_outputs(n_sites=n)
        t1 = time.perf_counter()
        verts = int(shapely.get_num_coordinates(outputs.layers["service_areas"].geometry.values).sum())
        out = out_root / f"sites-{n}"
        files = write_maps(outputs, out, static=False)
        t2 = time.perf_counter()
        size = files[0].stat().st_size
        print(f"{n:>7,} sites: {len(outputs.layers['substations'])} substations, {verts:,} service-area vertices; "
              f"synthetic run built in {t1 - t0:.1f} s")
        print(f"{n:>7,} sites: map.html {size / 1e6:.1f} MB (limit 25 MB: {size / 25e6:.0%} of it), "
              f"built and written in {t2 - t1:.1f} s")
        if not args.no_static:
            write_maps(outputs, out, static=True)
            t3 = time.perf_counter()
            print(f"{n:>7,} sites: map.html + static PNG/PDF maps {t3 - t2:.1f} s; files in {out}")


if __name__ == "__main__":
    main()
