"""Benchmark of the backbone: read + compute + write on the example region and a synthetic province.

Prints figures; asserts nothing (speed targets are shown here, never in timed unit tests).

    python benchmarks/bench_run.py [--sites 20000] [--substations 300]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialprog.config import project_from_dict  # noqa: E402
from spatialprog.outputs import write_run  # noqa: E402
from spatialprog.pipeline import compute, read_plan  # noqa: E402


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def synthetic(tmp: Path, n_sites: int, n_subs: int) -> Path:
    rng = np.random.default_rng(7)
    x0, y0, w, h = 120_000.0, 420_000.0, 100_000.0, 100_000.0  # a province-sized square in RD New
    sx, sy = rng.uniform(x0, x0 + w, n_subs), rng.uniform(y0, y0 + h, n_subs)
    subs = gpd.GeoDataFrame({"id": [f"S{i:04d}" for i in range(n_subs)], "voltage_kv": "150/20",
                             "n_transformers": 2, "transformer_mva": rng.choice([40.0, 63.0, 80.0], n_subs),
                             "peak_offtake_mw": rng.uniform(10, 50, n_subs)},
                            geometry=[Point(a, b) for a, b in zip(sx, sy, strict=True)], crs="EPSG:28992")
    cx, cy = rng.uniform(x0, x0 + w, n_sites), rng.uniform(y0, y0 + h, n_sites)
    size = rng.uniform(50, 400, n_sites)
    housing = gpd.GeoDataFrame({"id": [f"H{i:06d}" for i in range(n_sites)],
                                "dwellings": rng.integers(20, 800, n_sites),
                                "delivery_start_year": rng.integers(2025, 2035, n_sites),
                                "delivery_end_year": rng.integers(2035, 2040, n_sites),
                                "heating": rng.choice(["gas", "hybrid", "all_electric"], n_sites)},
                               geometry=[box(a, b, a + s, b + s) for a, b, s in zip(cx, cy, size, strict=True)],
                               crs="EPSG:28992")
    bounds = gpd.GeoDataFrame({"id": ["P"]}, geometry=[box(x0, y0, x0 + w, y0 + h)], crs="EPSG:28992")
    path = tmp / "synthetic.gpkg"
    subs.to_file(path, layer="subs")
    housing.to_file(path, layer="housing")
    bounds.to_file(path, layer="bounds")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=20_000)
    ap.add_argument("--substations", type=int, default=300)
    args = ap.parse_args()
    print(f"{'case':<42} {'read s':>8} {'compute s':>10} {'write s':>8}")
    plan, t_read = timed(read_plan, ROOT / "layers" / "example_region.toml")
    result, t_comp = timed(compute, plan)
    with tempfile.TemporaryDirectory() as d:
        _, t_write = timed(write_run, result, Path(d) / "out")
    print(f"{'example region (12 subs, 74 sites, 3 variants)':<42} {t_read:8.2f} {t_comp:10.2f} {t_write:8.2f}")
    with tempfile.TemporaryDirectory() as d:
        path = synthetic(Path(d), args.sites, args.substations)
        project = project_from_dict({
            "project": {"horizon": [2025, 2040]},
            "layers": {"substations": {"path": str(path), "layer": "subs"},
                       "housing_sites": {"path": str(path), "layer": "housing"},
                       "boundaries": {"path": str(path), "layer": "bounds"}},
        })
        plan, t_read = timed(read_plan, project)
        result, t_comp = timed(compute, plan)
        _, t_write = timed(write_run, result, Path(d) / "out")
        label = f"synthetic ({args.substations} subs, {args.sites} sites, voronoi)"
        print(f"{label:<42} {t_read:8.2f} {t_comp:10.2f} {t_write:8.2f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
