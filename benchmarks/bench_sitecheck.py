"""Benchmark of ``check-site``: cold and warm, on the example region and at national scale.

Prints (it asserts nothing) beside the targets of issue 13, item 4 (national: a fresh process
< 3 s without a cache, repeated checks in one process < 0.3 s) and of issue 7 (example region:
cold < 3 s, warm < 1 s):

* **cold, no cache**: a fresh ``python -m spatialprog check-site ... --json --no-cache`` process
  (imports, reading the layers near the site through the GeoPackage's spatial index, computing
  the baseline there, the check);
* **cold, warm cache**: the same fresh process with the baseline cache filled by an earlier
  process (``spatialprog.cache``; a cache folder of the benchmark's own, never the user's): the
  imports, the input checksums and loading the baseline instead of reading and computing it;
* **warm, in process**: repeated ``spatialprog.sitecheck.check_site`` calls against a baseline
  computed once (the API), for sites moved a little each time;
* what the near read read: substations, complete ones, sites of the total, and the stages of
  one cold check measured in this process (read near, compute, the check).

The national region is ``scripts/make_national_region.py`` (deterministic, FICTIONAL: 1e5
planned sites over every kind, 400 substations with service areas, heat networks,
constraints, 2025-2040, 3 variants), written once to ``--folder`` (default
``/tmp/spatialprog_bench_sitecheck``) and reused. ``--full`` also times reading and
computing the whole national plan, for contrast (minutes).

Run from the repository root::

    python benchmarks/bench_sitecheck.py [--repeat 5] [--sites 100000] [--full]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

EXAMPLE = ROOT / "layers" / "example_region.toml"
FOLDER = Path("/tmp/spatialprog_bench_sitecheck")
PROGRAMME = ["--radius", "150", "--dwellings", "100", "--heating", "all_electric", "--ev-share", "0.5",
             "--start-year", "2027"]
PROG = {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027}
EXAMPLE_SITE = (186150, 437150)
#: sites in the national region (x 20-260 km, y 320-600 km): the middle, a town in the west, the north-east
NATIONAL_SITES = [(140000, 460000), (80000, 440000), (220000, 560000)]
TARGET_COLD, TARGET_WARM, TARGET_EXAMPLE_WARM = 3.0, 0.3, 1.0


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SPATIALPROG_CACHE_DIR"] = str(cache)
    return env


def _cold(project: Path, site: tuple[float, float], repeat: int, cache: Path, *, use_cache: bool
          ) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system) of fresh check-site processes.

    The process is single-threaded, so its CPU time is what the wall time would be on an idle
    machine; on a busy one the wall time also holds the time spent waiting for a CPU.
    """
    cmd = [sys.executable, "-m", "spatialprog", "check-site", str(project), f"{site[0]},{site[1]}", *PROGRAMME,
           "--json", *([] if use_cache else ["--no-cache"])]
    wall, cpu = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=_env(cache), capture_output=True, text=True)
        wall.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
        if r.returncode != 0:
            raise SystemExit(f"check-site failed ({r.returncode}): {r.stderr.strip()[:500]}")
    return wall, cpu


def _fmt(ts: list[float]) -> str:
    return f"median {statistics.median(ts):6.3f} s  (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)})"


def _line(label: str, ts: list[float], target: float | None = None) -> None:
    tail = f"   target < {target:g} s" if target is not None else ""
    print(f"  {label:<34}{_fmt(ts)}{tail}")


def _cold_lines(label: str, wall_cpu: tuple[list[float], list[float]], target: float | None) -> None:
    wall, cpu = wall_cpu
    _line(f"{label}, wall", wall, target)
    _line(f"{label}, cpu", cpu, target)


def _warm(base, site: tuple[float, float], n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of checks against one baseline (this process; its CPU time only)."""
    from spatialprog.sitecheck import check_site

    check_site(base, f"{site[0]},{site[1]},150", PROG)  # the first call builds the STRtrees
    wall, cpu = [], []
    for k in range(n):
        t, c = time.perf_counter(), time.process_time()
        check_site(base, f"{site[0] + 10 * k},{site[1]},150", PROG)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of each timing")
    ap.add_argument("--sites", type=int, default=100_000, help="planned sites of the national region (default 1e5)")
    ap.add_argument("--folder", type=Path, default=FOLDER, help="where the national region is kept")
    ap.add_argument("--full", action="store_true", help="also read and compute the whole national plan (contrast)")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    print(f"spatialprog check-site benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}: wall times include waiting for a CPU when that exceeds the CPUs)")
    cache = Path(tempfile.mkdtemp(prefix="spatialprog-bench-cache-"))
    os.environ["SPATIALPROG_CACHE_DIR"] = str(cache)
    try:
        _example(args.repeat, cache)
        _national(args, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


def _example(repeat: int, cache: Path) -> None:
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.sitecheck import Baseline, WhatIf

    print("\nexample region (layers/example_region.toml)")
    _cold_lines("cold, no cache", _cold(EXAMPLE, EXAMPLE_SITE, repeat, cache, use_cache=False), TARGET_COLD)
    _cold(EXAMPLE, EXAMPLE_SITE, 1, cache, use_cache=True)  # fills the cache
    _cold_lines("cold, warm cache", _cold(EXAMPLE, EXAMPLE_SITE, repeat, cache, use_cache=True), TARGET_COLD)
    t = time.perf_counter()
    base = Baseline.from_result(compute(read_plan(EXAMPLE)))
    t_base = time.perf_counter() - t
    _cold_lines("warm, in process", _warm(base, EXAMPLE_SITE, max(repeat * 4, 10)), TARGET_EXAMPLE_WARM)
    print(f"  {'':34}(the whole region's baseline once: {t_base:.2f} s)")
    w = WhatIf(base)
    w.add("173000,433000,200", PROG | {"dwellings": 300}, site_id="P")
    w.add("175500,434500,200", PROG | {"dwellings": 300}, site_id="Q")
    moves = []
    for k in range(max(repeat * 4, 10)):
        t = time.perf_counter()
        w.move("P", f"{172000 + 50 * k},431500,200")
        w.check("Q")
        moves.append(time.perf_counter() - t)
    _line("what-if move + re-check", moves)


def _national(args: argparse.Namespace, cache: Path) -> None:
    import make_national_region
    import pyogrio

    from spatialprog.config import load_project
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.sitecheck import Baseline, read_plan_near, read_sites
    from spatialprog.sitecheck.baseline import as_baseline

    toml = make_national_region.region(args.folder, args.sites)
    project = load_project(toml)
    counts = {k: pyogrio.read_info(s.path, layer=s.layer)["features"] for k, s in project.layers.items()}
    sites_total = sum(n for k, n in counts.items() if k not in ("substations", "service_areas", "boundaries"))
    print(f"\nnational region ({toml}: {counts['substations']} substations, {sites_total:,} features in the site "
          f"and claim layers, {len(project.variants)} variants, {project.years[0]}-{project.years[-1]})")
    for site in NATIONAL_SITES:
        print(f" site {site[0]},{site[1]}")
        _cold_lines("cold, no cache", _cold(toml, site, args.repeat, cache, use_cache=False), TARGET_COLD)
        _cold(toml, site, 1, cache, use_cache=True)  # fills the cache
        _cold_lines("cold, warm cache", _cold(toml, site, args.repeat, cache, use_cache=True), TARGET_COLD)
        k, frame = read_sites(f"{site[0]},{site[1]},150", PROG)
        t = time.perf_counter()
        near = read_plan_near(project, tuple(frame.total_bounds))
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        base = as_baseline(near, variants=None)
        t_compute = time.perf_counter() - t
        warm = _warm(base, site, max(args.repeat * 4, 10))
        _cold_lines("warm, in process", warm, TARGET_WARM)
        n_read = sum(len(near.layers[k]) for k in near.layers if k not in ("substations", "service_areas"))
        print(f"  {'':34}read near: {len(near.layers['substations'])} of {counts['substations']} substations "
              f"({len(near.complete_substations)} complete), {n_read:,} of {sites_total:,} features, bbox "
              f"{tuple(round(float(v)) for v in near.read_bbox)}")
        print(f"  {'':34}in this process: read near {t_read:.2f} s, baseline {t_compute:.2f} s, a check "
              f"{statistics.median(warm[0]):.3f} s")
    if args.full:
        t = time.perf_counter()
        full = Baseline.from_result(compute(read_plan(toml), conflicts=False))
        print(f" contrast: read + compute the whole national plan {time.perf_counter() - t:6.1f} s "
              f"({len(full.substations)} substations)")
        _cold_lines("warm, in process (whole plan)", _warm(full, NATIONAL_SITES[0], max(args.repeat * 4, 10)),
                    TARGET_WARM)


if __name__ == "__main__":
    sys.exit(main())
