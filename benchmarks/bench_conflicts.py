"""Benchmark of the land-claim conflict engine against geopandas.

Two layers of ``n`` small polygons (default 1e5 each, 8 vertices, 50-150 m
across) are scattered uniformly over a 100 x 100 km square in EPSG:28992 (about
10 features per km2 per layer, the density of housing plots and parcels in a
built-up province). A seeded RNG makes every run identical. Then:

1. overlaps with areas: :func:`spatialprog.conflicts.overlap_pairs` beside
   ``geopandas.overlay(how="intersection")``;
2. all pairs within 250 m: :func:`spatialprog.conflicts.pairs_within_distance`
   beside ``geopandas.sjoin(predicate="dwithin", distance=250)``;
3. the same two jobs through the full engine
   (:func:`spatialprog.conflicts.compute_conflicts`, building the conflicts
   GeoDataFrame with overlap polygons or shortest lines, summaries and matrix).

Every measurement runs in its own fresh subprocess, so imports, caches and the
memory high-water mark of one do not leak into the next. The layers are built
before the clock starts; the timed part includes building the STRtree.

Memory: ``tracemalloc`` does not see GEOS allocations, and a sampler thread in
the measured process would need the GIL that a long GEOS call may hold. So the
parent process samples the child's RSS (``psutil``) every 2 ms; the figure is
the peak RSS while the job runs minus the RSS just before it (the memory the
job needs on top of its inputs). ``ru_maxrss`` of the child (whole-process
peak, including Python, the libraries and the input layers) is printed beside.

Warm-up: each process first runs the same job on 2 000 features (ours and
geopandas alike) so one-off costs are not timed; ``--no-warmup`` times the
very first call instead.

Agreement: pair counts and a checksum of the (a, b) pair indices must match the
geopandas result exactly; total overlap area must match to 1e-9 relative.

Run ``python benchmarks/bench_conflicts.py`` (``--n 100000``) or ``--quick``
(n = 20 000) for a smoke run. This is a benchmark, not a test: nothing asserts
on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

EXTENT_M = 100_000.0
ORIGIN = (100_000.0, 400_000.0)  # inside the RD New domain
DISTANCE_M = 250.0
SEED = 20240601

TARGETS = {"overlap": (6.0, 1024.0), "within": (1.0, None)}


def make_polygons(n: int, seed: int, *, extent_m: float = EXTENT_M) -> np.ndarray:
    """Return ``n`` valid star-shaped 8-vertex polygons, 50-150 m across.

    Parameters
    ----------
    n : int
        Number of polygons.
    seed : int
        Seed of the numpy RNG.
    extent_m : float
        Side of the square (m) the centres are spread over.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
    """
    rng = np.random.default_rng(seed)
    nv = 8
    cx = ORIGIN[0] + rng.uniform(0.0, extent_m, n)
    cy = ORIGIN[1] + rng.uniform(0.0, extent_m, n)
    radius = rng.uniform(25.0, 75.0, n)
    # vertex angles stay in their own sector, so the ring never self-intersects
    ang = (np.arange(nv)[None, :] + rng.uniform(-0.3, 0.3, (n, nv))) * (2 * np.pi / nv)
    ang = ang + rng.uniform(0.0, 2 * np.pi, (n, 1))
    rad = radius[:, None] * rng.uniform(0.7, 1.0, (n, nv))
    xy = np.stack([cx[:, None] + rad * np.cos(ang), cy[:, None] + rad * np.sin(ang)], axis=-1)
    ring = np.concatenate([xy, xy[:, :1]], axis=1)
    return shapely.polygons(ring)


def _frames(n: int) -> tuple[Any, Any]:
    import geopandas as gpd

    a = make_polygons(n, SEED)
    b = make_polygons(n, SEED + 1)
    ids_a = np.array([f"a{i}" for i in range(n)], dtype=object)
    ids_b = np.array([f"b{i}" for i in range(n)], dtype=object)
    ga = gpd.GeoDataFrame({"id": ids_a, "ia": np.arange(n)}, geometry=a, crs="EPSG:28992")
    gb = gpd.GeoDataFrame({"id": ids_b, "ib": np.arange(n)}, geometry=b, crs="EPSG:28992")
    return ga, gb


def _checksum(ia: np.ndarray, ib: np.ndarray, n: int) -> int:
    key = np.asarray(ia, dtype=np.int64) * np.int64(n) + np.asarray(ib, dtype=np.int64)
    return int(np.sum(key % np.int64(1_000_000_007)))


def _job(name: str, n: int, threads: int, warmup: bool) -> dict[str, Any]:
    """Run one job in this (fresh) process and return its figures."""
    if warmup:
        # one small run first, so one-off costs (lazy imports, first allocations, thread
        # start-up) are not timed; done the same way for our code and for geopandas
        _job(name, 2_000, threads, warmup=False)
    import geopandas as gpd
    import psutil

    from spatialprog.conflicts import (
        Rule,
        RuleSet,
        compute_conflicts,
        overlap_pairs,
        pairs_within_distance,
    )

    ga, gb = _frames(n)
    a = np.asarray(ga.geometry.array, dtype=object)
    b = np.asarray(gb.geometry.array, dtype=object)
    out: dict[str, Any] = {}

    def ours_overlap() -> None:
        res = overlap_pairs(a, b, threads=threads)
        out.update(pairs=len(res.index_a), area_m2=float(res.area_m2.sum()),
                   checksum=_checksum(res.index_a, res.index_b, n))

    def gpd_overlap() -> None:
        res = gpd.overlay(ga[["ia", "geometry"]], gb[["ib", "geometry"]], how="intersection",
                          keep_geom_type=True)
        area = res.geometry.area.to_numpy()
        keep = area > 0.01  # same touching tolerance as ours
        out.update(pairs=int(keep.sum()), area_m2=float(area[keep].sum()),
                   checksum=_checksum(res["ia"].to_numpy()[keep], res["ib"].to_numpy()[keep], n))

    def ours_within() -> None:
        res = pairs_within_distance(a, b, DISTANCE_M, with_distance=False, threads=threads)
        out.update(pairs=len(res.index_a), checksum=_checksum(res.index_a, res.index_b, n))

    def ours_within_dist() -> None:
        res = pairs_within_distance(a, b, DISTANCE_M, with_distance=True, threads=threads)
        out.update(pairs=len(res.index_a), checksum=_checksum(res.index_a, res.index_b, n))

    def gpd_within() -> None:
        res = gpd.sjoin(ga[["ia", "geometry"]], gb[["ib", "geometry"]], predicate="dwithin",
                        distance=DISTANCE_M)
        out.update(pairs=len(res), checksum=_checksum(res["ia"].to_numpy(), res["ib"].to_numpy(), n))

    def engine(kind: str) -> Callable[[], None]:
        if kind == "overlap":
            rule = Rule("B1", "housing_sites", "industrial_zones", "overlap", "hoog", "benchmark")
        else:
            rule = Rule("B2", "housing_sites", "industrial_zones", "within_distance", "hoog",
                        "benchmark", distance_m=DISTANCE_M)

        def run() -> None:
            res = compute_conflicts({"housing_sites": ga, "industrial_zones": gb}, RuleSet((rule,)),
                                    threads=threads)
            c = res.conflicts
            ia = c["id_a"].str.slice(1).astype("int64").to_numpy()
            ib = c["id_b"].str.slice(1).astype("int64").to_numpy()
            out.update(pairs=len(c), area_m2=float(np.nansum(c["area_m2"])),
                       checksum=_checksum(ia, ib, n))

        return run

    jobs: dict[str, Callable[[], None]] = {
        "ours_overlap": ours_overlap,
        "gpd_overlay": gpd_overlap,
        "ours_within": ours_within,
        "ours_within_dist": ours_within_dist,
        "gpd_sjoin_dwithin": gpd_within,
        "engine_overlap": engine("overlap"),
        "engine_within": engine("within"),
    }
    start_rss = psutil.Process().memory_info().rss
    wall0 = time.time()
    t0 = time.perf_counter()
    jobs[name]()
    seconds = time.perf_counter() - t0
    wall1 = time.time()
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    out.update(job=name, seconds=seconds, start_rss=start_rss, wall0=wall0, wall1=wall1,
               maxrss_mb=maxrss_kb / 1024)
    return out


def _spawn(name: str, n: int, threads: int, warmup: bool) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--n", str(n),
           "--threads", str(threads)] + (["--no-warmup"] if not warmup else [])
    import psutil

    # the parent samples the child's RSS: a sampler thread inside the child would need the
    # GIL, which a long GEOS call may hold, and tracemalloc does not see GEOS allocations
    samples: list[tuple[float, int]] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as proc:
        child = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                samples.append((time.time(), child.memory_info().rss))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.002)
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark job {name} failed:\n{stderr}")
    res = json.loads(stdout.strip().splitlines()[-1])
    during = [rss for t, rss in samples if res["wall0"] <= t <= res["wall1"]]
    res["peak_delta_mb"] = (max(during, default=res["start_rss"]) - res["start_rss"]) / 2**20
    return res


def _best(name: str, n: int, threads: int, repeat: int, warmup: bool) -> dict[str, Any]:
    runs = [_spawn(name, n, threads, warmup) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="features per layer (default 1e5)")
    p.add_argument("--quick", action="store_true", help="smoke run with n = 20 000")
    p.add_argument("--threads", type=int, default=2, help="worker threads for our engine")
    p.add_argument("--repeat", type=int, default=1, help="runs per job; the fastest is shown")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="time the very first call in each process (no 2 000-feature warm-up run)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    n = 20_000 if args.quick else args.n
    if args.worker:
        print(json.dumps(_job(args.worker, n, args.threads, args.warmup)))
        return 0

    print(f"spatialprog conflicts benchmark: 2 x {n:,} polygons (8 vertices, 50-150 m) over "
          f"{EXTENT_M / 1000:.0f} x {EXTENT_M / 1000:.0f} km, EPSG:28992, seed {SEED}, "
          f"{args.threads} threads, {os.cpu_count()} CPUs, shapely {shapely.__version__} / "
          f"GEOS {shapely.geos_version_string}, best of {args.repeat}, "
          f"{'with' if args.warmup else 'without'} warm-up, load average {os.getloadavg()[0]:.2f}")
    rows = []
    groups = [
        ("overlap", "overlaps + areas", "ours_overlap", "gpd_overlay", ["engine_overlap"]),
        ("within", f"pairs within {DISTANCE_M:g} m", "ours_within", "gpd_sjoin_dwithin",
         ["ours_within_dist", "engine_within"]),
    ]
    header = (f"{'job':<38}{'ours s':>8}{'gpd s':>8}{'ratio':>7}{'pairs':>11}{'gpd pairs':>11}"
              f"{'agree':>7}{'peak+ MB':>10}{'maxrss MB':>10}")
    print(header)
    print("-" * len(header))
    ok_all = True
    for key, label, ours, base, extra in groups:
        r_o = _best(ours, n, args.threads, args.repeat, args.warmup)
        r_b = _best(base, n, args.threads, args.repeat, args.warmup)
        agree = r_o["pairs"] == r_b["pairs"] and r_o["checksum"] == r_b["checksum"]
        if "area_m2" in r_o:
            agree &= abs(r_o["area_m2"] - r_b["area_m2"]) <= 1e-9 * max(r_b["area_m2"], 1.0)
        ok_all &= agree
        rows.append((label, r_o, r_b, agree))
        print(f"{label + ' (' + ours + ')':<38}{r_o['seconds']:>8.2f}{r_b['seconds']:>8.2f}"
              f"{r_b['seconds'] / r_o['seconds']:>6.1f}x{r_o['pairs']:>11,}{r_b['pairs']:>11,}"
              f"{'yes' if agree else 'NO':>7}{r_o['peak_delta_mb']:>10.0f}{r_o['maxrss_mb']:>10.0f}")
        print(f"{'  baseline ' + base:<38}{'':>8}{'':>8}{'':>7}{'':>11}{'':>11}{'':>7}"
              f"{r_b['peak_delta_mb']:>10.0f}{r_b['maxrss_mb']:>10.0f}")
        for name in extra:
            r_e = _best(name, n, args.threads, args.repeat, args.warmup)
            agree_e = r_e["pairs"] == r_b["pairs"] and r_e["checksum"] == r_b["checksum"]
            if "area_m2" in r_b and name.startswith("engine_overlap"):
                agree_e &= abs(r_e["area_m2"] - r_b["area_m2"]) <= 1e-9 * max(r_b["area_m2"], 1.0)
            ok_all &= agree_e
            print(f"{'  ' + name:<38}{r_e['seconds']:>8.2f}{r_b['seconds']:>8.2f}"
                  f"{r_b['seconds'] / r_e['seconds']:>6.1f}x{r_e['pairs']:>11,}{r_b['pairs']:>11,}"
                  f"{'yes' if agree_e else 'NO':>7}{r_e['peak_delta_mb']:>10.0f}{r_e['maxrss_mb']:>10.0f}")
        if key == "overlap":
            print(f"{'  total overlap area (ours / gpd)':<38} {r_o['area_m2']:,.2f} / {r_b['area_m2']:,.2f} m2")
    print()
    t_ov, mem_ov = TARGETS["overlap"]
    t_wi, _ = TARGETS["within"]
    ov, wi = rows[0][1], rows[1][1]
    print(f"target overlaps  <= {t_ov:g} s and <= {mem_ov:g} MB peak: {ov['seconds']:.2f} s, "
          f"{ov['peak_delta_mb']:.0f} MB -> {'met' if ov['seconds'] <= t_ov and ov['peak_delta_mb'] <= mem_ov else 'NOT met'}")
    print(f"target within    <= {t_wi:g} s: {wi['seconds']:.2f} s -> {'met' if wi['seconds'] <= t_wi else 'NOT met'}")
    print("peak+ MB = peak RSS during the job minus RSS just before it (child sampled by the parent "
          "with psutil every 2 ms); maxrss MB = whole-process peak incl. inputs (ru_maxrss)")
    print(f"agreement with geopandas: {'all' if ok_all else 'NOT all'} jobs agree")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
