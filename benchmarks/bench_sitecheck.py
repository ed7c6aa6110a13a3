"""Benchmark of ``check-site``: cold, warm, and against national-scale layers.

Prints (it asserts nothing; targets from issue 7: warm < 1 s, cold < 3 s on the example
region, cold < 3 s at national scale):

* **cold**: a fresh ``python -m spatialprog check-site ... --json`` process on the example
  region (imports, reading the layers near the site, computing the baseline, the check);
* **warm**: repeated checks in one process against a computed baseline, and what-if
  moves in a :class:`~spatialprog.sitecheck.WhatIf` session;
* **national**: a synthetic national-scale project written by this script to
  ``/tmp/spatialprog_bench_national/`` (300 substations with service areas over the extent
  of the Netherlands, 20,000 sites in a GeoPackage with its spatial index); the cold check
  reads only what is near the site (bbox filter at read time). For contrast it also times
  reading and computing the whole national plan.

Run from the repository root::

    python benchmarks/bench_sitecheck.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"
NATIONAL = Path("/tmp/spatialprog_bench_national")
SITE_ARGS = ["186150,437150", "--radius", "150", "--dwellings", "100", "--heating", "all_electric",
             "--ev-share", "0.5", "--start-year", "2027"]
# RD New extent of the Netherlands (approx.), for the synthetic national layers
NL = (13_000.0, 306_000.0, 278_000.0, 619_000.0)
NX, NY = 15, 20              # 300 substations / service areas
N_HOUSING, N_PARKS, N_HUBS = 16_000, 2_000, 2_000


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cold(project: Path, args: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system) of fresh check-site processes.

    The process is single-threaded, so its CPU time is what the wall time would be on an idle
    machine; on a busy one the wall time also holds the time spent waiting for a CPU.
    """
    cmd = [sys.executable, "-m", "spatialprog", "check-site", str(project), *args, "--json"]
    wall, cpu = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
        wall.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
        if r.returncode != 0:
            raise SystemExit(f"check-site failed ({r.returncode}): {r.stderr.strip()[:500]}")
    return wall, cpu


def _fmt(ts: list[float]) -> str:
    return f"median {statistics.median(ts):6.3f} s  (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)})"


def _fmt_cold(wall_cpu: tuple[list[float], list[float]]) -> str:
    wall, cpu = wall_cpu
    return f"wall {_fmt(wall)}\n{'':44}cpu  {_fmt(cpu)}"


def make_national(folder: Path = NATIONAL, *, seed: int = 20251128) -> Path:
    """Write the synthetic national project (once; reused when present). Returns the TOML path."""
    import geopandas as gpd
    import shapely

    toml = folder / "national.toml"
    gpkg = folder / "national.gpkg"
    if toml.exists() and gpkg.exists():
        return toml
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = NL
    dx, dy = (x1 - x0) / NX, (y1 - y0) / NY
    ids, pts, cells = [], [], []
    for j in range(NY):
        for i in range(NX):
            cx, cy = x0 + (i + 0.5) * dx, y0 + (j + 0.5) * dy
            ids.append(f"NL{j * NX + i + 1:03d}")
            pts.append(shapely.Point(cx + rng.uniform(-0.3, 0.3) * dx, cy + rng.uniform(-0.3, 0.3) * dy))
            cells.append(shapely.box(x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy))
    n = len(ids)
    mva = rng.choice([25.0, 40.0, 50.0, 63.0, 80.0], n)
    subs = gpd.GeoDataFrame({
        "id": ids, "name": [f"OS {k}" for k in ids], "voltage_kv": "150/20", "n_transformers": 2,
        "transformer_mva": mva, "peak_offtake_mw": np.round(mva * rng.uniform(0.4, 0.95, n), 1),
        "peak_feedin_mw": np.round(mva * rng.uniform(0.1, 0.5, n), 1),
        "reinforcement_year": np.where(rng.random(n) < 0.2, rng.integers(2027, 2036, n), np.nan),
    }, geometry=pts, crs="EPSG:28992")
    subs["reinforcement_mva"] = np.where(subs["reinforcement_year"].notna(), 40.0, np.nan)
    areas = gpd.GeoDataFrame({"id": [f"VG{k[2:]}" for k in ids], "substation_id": ids}, geometry=cells,
                             crs="EPSG:28992")

    def squares(m: int, side: tuple[float, float]) -> np.ndarray:
        cx, cy = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
        h = rng.uniform(*side, m) / 2
        return shapely.box(cx - h, cy - h, cx + h, cy + h)

    housing = gpd.GeoDataFrame({
        "id": [f"WB{k:05d}" for k in range(N_HOUSING)], "dwellings": rng.integers(20, 1500, N_HOUSING),
        "delivery_start_year": rng.integers(2025, 2036, N_HOUSING),
        "heating": rng.choice(["gas", "hybrid", "all_electric", "heat_network"], N_HOUSING, p=[.1, .2, .6, .1]),
    }, geometry=squares(N_HOUSING, (150, 900)), crs="EPSG:28992")
    housing["delivery_end_year"] = housing["delivery_start_year"] + rng.integers(0, 5, N_HOUSING)
    parks = gpd.GeoDataFrame({
        "id": [f"BT{k:04d}" for k in range(N_PARKS)],
        "category": rng.choice(["logistics", "light_industry", "offices", "mixed"], N_PARKS),
        "start_year": rng.integers(2025, 2033, N_PARKS),
    }, geometry=squares(N_PARKS, (200, 800)), crs="EPSG:28992")
    hubs = gpd.GeoDataFrame({
        "id": [f"LP{k:04d}" for k in range(N_HUBS)], "charge_points": rng.integers(4, 24, N_HUBS),
        "kw_per_point": rng.choice([11.0, 22.0, 150.0], N_HUBS), "year": rng.integers(2025, 2032, N_HUBS),
        "segment": "passenger",
    }, geometry=shapely.points(rng.uniform(x0, x1, N_HUBS), rng.uniform(y0, y1, N_HUBS)), crs="EPSG:28992")
    tmp = folder / "national.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    for name, df in [("substations", subs), ("service_areas", areas), ("housing_sites", housing),
                     ("industrial_zones", parks), ("charging_hubs", hubs)]:
        df.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="YES")
    tmp.replace(gpkg)
    layers = "\n".join(f'[layers.{k}]\npath = "national.gpkg"\nlayer = "{k}"\n'
                       for k in ("substations", "service_areas", "housing_sites", "industrial_zones", "charging_hubs"))
    toml.write_text(f'[project]\nname = "Synthetic national benchmark (fictional)"\nbase_year = 2025\n'
                    f'horizon = [2025, 2040]\nfictional = true\n\n{layers}\n'
                    '[variants.hoog]\nparameters = { "demand.ev_share_default" = 0.7 }\n')
    return toml


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of each timing")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    print(f"spatialprog check-site benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}: wall times include waiting for a CPU when that exceeds the CPUs)")

    # ---- cold, example region
    cold = _cold(EXAMPLE, SITE_ARGS, args.repeat)
    print(f"cold     example region, fresh process      {_fmt_cold(cold)}   target < 3 s")

    # ---- warm, example region
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.sitecheck import Baseline, WhatIf, check_site

    t = time.perf_counter()
    result = compute(read_plan(EXAMPLE))
    base = Baseline.from_result(result)
    t_base = time.perf_counter() - t
    prog = {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027}
    check_site(base, "186150,437150,150", prog)  # first call warms caches (STRtrees)
    warm = []
    for k in range(max(args.repeat * 4, 10)):
        t = time.perf_counter()
        check_site(base, f"{186150 + 10 * k},437150,150", prog)
        warm.append(time.perf_counter() - t)
    print(f"warm     example region, check_site         {_fmt(warm)}   target < 1 s"
          f"   (baseline once: {t_base:.2f} s)")
    w = WhatIf(base)
    w.add("173000,433000,200", prog | {"dwellings": 300}, site_id="P")
    w.add("175500,434500,200", prog | {"dwellings": 300}, site_id="Q")
    moves = []
    for k in range(max(args.repeat * 4, 10)):
        t = time.perf_counter()
        w.move("P", f"{172000 + 50 * k},431500,200")
        w.check("Q")
        moves.append(time.perf_counter() - t)
    print(f"warm     what-if move + re-check            {_fmt(moves)}")

    # ---- national
    t = time.perf_counter()
    toml = make_national()
    t_make = time.perf_counter() - t
    site = ["146000,462000", *SITE_ARGS[1:]]
    nat = _cold(toml, site, args.repeat)
    print(f"cold     national ({NX * NY} substations, {N_HOUSING + N_PARKS + N_HUBS:,} sites; layers written in "
          f"{t_make:.1f} s), read near the site:\n{'':44}{_fmt_cold(nat)}   target < 3 s")
    from spatialprog.sitecheck import read_plan_near

    near = read_plan_near(toml, (145850.0, 461850.0, 146150.0, 462150.0))
    nsites = sum(len(near.layers[k]) for k in ("housing_sites", "industrial_zones", "charging_hubs"))
    print(f"         read near: {len(near.layers['substations'])} substations, {len(near.complete_substations)} "
          f"complete, {nsites} of {N_HOUSING + N_PARKS + N_HUBS:,} sites, bbox "
          f"{tuple(round(float(v)) for v in near.read_bbox)}")
    t = time.perf_counter()
    full = compute(read_plan(toml))
    t_full = time.perf_counter() - t
    print(f"contrast national, read + compute everything  {t_full:6.3f} s  ({len(full.plan.layers['housing_sites']):,} "
          f"housing sites)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
