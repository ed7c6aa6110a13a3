"""Benchmark of ``spatialprog run`` on a synthetic national region (issue 13, item 7).

Builds the region with ``scripts/make_national_region.py`` (deterministic; 1e5
planned sites over every site kind, 400 substations with service areas, heat
networks, constraints, 2025-2040, 3 variants; in a temporary folder, never in
the repository), then runs the whole job in this process, as ``spatialprog
run`` does (``spatialprog.workflow.run``: read, compute, rank, write, maps,
QGIS hand-off), and prints per stage the wall time, the CPU time (all threads)
and the peak resident memory. Stages are the run's own progress steps; a few
functions inside them are timed as well ("of which"). Generating the region and
the interpreter's start-up are not timed.

    python benchmarks/bench_national.py                    # 1e5 sites, everything
    python benchmarks/bench_national.py --no-maps --no-qgis
    python benchmarks/bench_national.py --profile 25       # + the 25 costliest functions (cProfile)
    python benchmarks/bench_national.py --scaling          # 1e4, 3e4, 1e5 sites: the exponent per stage
    python benchmarks/bench_national.py --scaling --sites 10000 --scaling-sites 2000,5000   # a quick look
    python benchmarks/bench_national.py --folder /tmp/nat  # keep (and reuse) the region and the outputs
    python benchmarks/bench_national.py --kernels          # + the core kernels beside their peers (bench_kernels.py)
    python benchmarks/bench_national.py --sites 10000 --province 10000   # + 1e4 sites in a province

The province-scale target (1e4 sites) is measured on a synthetic province
(``make_national_region.PROVINCE``: 80 x 70 km, 34 substations), the load a
province runs; the scaling's 1e4 run spreads its sites over the whole country
(400 substations, the national siting grid and maps). The siting stages
(issue 15, later than these targets) print their own cost under each table.

``make bench-national`` runs ``--scaling --province 10000 --kernels``: every figure of issue 13
with the peers beside them, measured in the same run (about 10 minutes on 2
cores).

Targets (issue 13, 2 cores): the full run < 60 s wall and < 8 GB; without maps
and export < 30 s; 1e4 sites < 8 s; scaling exponent <= 1.1. This is a
benchmark: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_national_region  # noqa: E402
from make_national_region import PROVINCE, region  # noqa: E402

from spatialprog.workflow import run  # noqa: E402

#: functions timed inside the stages: (module, attribute, label)
INNER = [
    ("spatialprog.network", "assign_sites", "assign_sites"),
    ("spatialprog.pipeline", "heat_network_share", "demand.heat_network_share"),
    ("spatialprog.pipeline", "site_demand", "demand.site_demand"),
    ("spatialprog.pipeline", "grid_state", "headroom.grid_state"),
    ("spatialprog.pipeline", "carrier_results", "carriers.carrier_results"),
    ("spatialprog.ranking", "rank_run", "ranking.rank_run"),
    ("spatialprog.ranking", "write_ranking", "ranking.write_ranking"),
    ("spatialprog.outputs", "write_tables", "outputs.write_tables (CSV)"),
    ("spatialprog.outputs", "write_xlsx", "outputs.write_xlsx (headroom.xlsx)"),
]
TARGETS = {"full": 60.0, "core": 30.0, "province": 8.0}
#: the run's progress steps of the siting part (spatialprog.siting), which came after issue 13's targets
#: (the surfaces are written beside the ranking tables: their CPU is counted when that process ends, in the last)
LATER_STAGES = ("land for new substations and MV/LV stations", "writing the siting surfaces and candidate sites",
                "writing the siting tables and candidate sites", "finishing the siting surfaces")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> list[str]:
    """The pids of this process's children (the QGIS hand-off runs in one beside the maps)."""
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    return pids


def _pss_bytes(pid: str) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    """The memory of this process and its children now: its resident set alone, or, while a forked child runs
    (the QGIS hand-off beside the maps), the proportional set sizes of both, so that the pages they still share
    are counted once."""
    children = _children()
    if not children:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    total = 0
    for pid in ["self", *children]:
        try:
            total += _pss_bytes(pid)
        except OSError:  # the child has just ended
            continue
    return total


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its children that have ended."""
    import resource

    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


class Stages:
    """Wall, CPU and peak memory per progress step; a sampler thread keeps the peak of the current step."""

    def __init__(self) -> None:
        self.rows: list[list] = []  # [label, wall s, cpu s, peak bytes]
        self.inner: dict[str, list[float]] = {}
        self._label: str | None = None
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2 if _children() else 0.02):  # smaps_rollup costs milliseconds
            self._peak = max(self._peak, rss_bytes())

    def __call__(self, text: str) -> None:
        """The progress callback: closes the step before and opens ``text``."""
        self._close()
        group = text.split(",")[0] if text.startswith("demand and headroom") else text
        self._label, self._t, self._c, self._peak = text, time.perf_counter(), cpu_seconds(), rss_bytes()
        self._group = "reading layers" if group.startswith("reading") and "run back" not in group else group

    def _close(self) -> None:
        if self._label is None:
            return
        wall, cpu = time.perf_counter() - self._t, cpu_seconds() - self._c
        peak = max(self._peak, rss_bytes())
        if self.rows and self.rows[-1][0] == self._group:
            last = self.rows[-1]
            last[1], last[2], last[3] = last[1] + wall, last[2] + cpu, max(last[3], peak)
        else:
            self.rows.append([self._group, wall, cpu, peak])
        self._label = None

    def start(self, first: str) -> None:
        self._thread.start()
        self(first)

    def stop(self) -> None:
        self._close()
        self._stop.set()

    def wrap(self, module: str, attr: str, label: str) -> Callable[[], None]:
        """Time ``module.attr`` (summed over its calls) until the returned undo is called."""
        mod = importlib.import_module(module)
        fn = getattr(mod, attr)

        def timed(*a, **k):
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                got = self.inner.setdefault(label, [0.0, 0.0, 0])
                got[0] += time.perf_counter() - t
                got[1] += time.process_time() - c
                got[2] += 1

        setattr(mod, attr, timed)
        return lambda: setattr(mod, attr, fn)


def speed_probe() -> tuple[float, float, float]:
    """How fast the machine is now: the CPU seconds of a fixed single-core workload (sorting 1e6 floats, packing
    4 MB with zlib; the best of three), the wall seconds of touching 512 MB of memory this process has not
    used before (a fresh mapping, written once), and the memory bandwidth, GB/s, of copying 256 MB (already
    touched; the best of three), which neighbours on a shared host take their share of.

    The same code on the same machine takes the same time, so a probe that moves between runs says the
    machine itself changed. The second figure matters on a virtual machine whose host backs a guest's memory
    only when the guest first touches it (KVM with a balloon that hands free pages back): there a run, which
    allocates and frees many GB, pays for every page it is given afresh. On the 2-core KVM guest of issue
    13's figures it ranged from 0.1 s to over 2 s within one session, with the first figure steady.
    """
    import mmap
    import zlib

    rng = np.random.default_rng(0)
    values = rng.random(1_000_000)
    data = rng.integers(0, 16, 4_000_000, dtype=np.uint8).tobytes()
    best = float("inf")
    for _ in range(3):
        c = time.process_time()
        np.sort(values)
        zlib.compress(data, 6)
        best = min(best, time.process_time() - c)
    size = 512 * 2**20
    with mmap.mmap(-1, size) as fresh:
        t = time.perf_counter()
        np.frombuffer(fresh, dtype=np.uint8)[::mmap.PAGESIZE] = 1  # one byte a page: every page touched once
        touch = time.perf_counter() - t
    src = np.ones(2**25)  # 256 MB
    dst = np.empty_like(src)
    copy = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        np.copyto(dst, src)
        copy = min(copy, time.perf_counter() - t)
    return best, touch, src.nbytes / copy / 1e9


class Result(NamedTuple):
    """One timed run: totals, and per stage ``[label, wall s, CPU s, peak bytes]``; the speed probe
    (:func:`speed_probe`: CPU s of a fixed workload, s to touch 512 MB of fresh memory, GB/s copied) before and
    after it."""

    wall: float
    cpu: float
    peak: int
    stages: list[list]
    failed: str | None
    probe: tuple[tuple[float, ...], tuple[float, ...]] = ((float("nan"),) * 3, (float("nan"),) * 3)


def run_once(project: Path, out: Path, *, maps: bool, qgis: bool, profile: int = 0,
             quiet: bool = False) -> Result:
    """One timed run; prints the stage table (unless ``quiet``)."""
    st = Stages()
    undo = [st.wrap(*w) for w in INNER]
    prof = cProfile.Profile() if profile else None
    before = speed_probe()
    t0, c0 = time.perf_counter(), cpu_seconds()
    st.start("start")
    failed = None
    try:
        if prof:
            prof.enable()
        run(project, out, maps=maps, qgis=qgis, progress=st)
    except Exception as e:  # a benchmark reports how far the run got, and why it stopped
        failed = f"{type(e).__name__}: {e}"
    finally:
        if prof:
            prof.disable()
        st("done")
        st.stop()
        for u in undo:
            u()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    peak = max(r[3] for r in st.rows)  # this run's own (ru_maxrss would keep an earlier run's)
    result = Result(wall, cpu, peak, [r for r in st.rows if r[0] not in ("start", "done")], failed,
                    (before, speed_probe()))
    if quiet:
        return result
    print(f"\n{'stage':<50}{'wall s':>9}{'CPU s':>9}{'peak GB':>9}{'share':>8}")
    for label, w, c, p in st.rows:
        if label in ("start", "done"):
            continue
        print(f"{label:<50}{w:9.2f}{c:9.2f}{p / 1e9:9.2f}{w / wall:8.0%}")
    print(f"{'total':<50}{wall:9.2f}{cpu:9.2f}{peak / 1e9:9.2f}")
    later = [r for r in st.rows if r[0] in LATER_STAGES]
    if later:  # a stage added after issue 13 says its own cost (its maps and pages are in the map stages)
        lw, lc = sum(r[1] for r in later), sum(r[2] for r in later)
        print(f"of which the siting stages (issue 15, later than issue 13): {lw:.2f} s wall, {lc:.2f} s CPU; "
              f"the rest of the run {wall - lw:.2f} s wall")
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    own = cpu / wall if wall > 0 else 0.0  # the run's own processes (it forks writers beside itself)
    if load - own > 1.0 and load > cpus:
        print(f"note: load average {load:.1f} on {cpus} CPUs at the end of this run, {own:.1f} of it the run's own: "
              "other work stretched the wall times; CPU is what the run itself used")
    (cpu_0, touch_0, copy_0), (cpu_1, touch_1, copy_1) = result.probe
    print(f"machine speed probe, before / after the run (benchmarks/bench_national.speed_probe): a fixed workload "
          f"{cpu_0:.3f} / {cpu_1:.3f} s CPU; touching 512 MB of fresh memory {touch_0:.2f} / {touch_1:.2f} s; "
          f"copying memory {copy_0:.1f} / {copy_1:.1f} GB/s")
    if failed:
        print(f"THE RUN FAILED in the last stage above: {failed}")
    print("\nof which (summed over calls):")
    for label, (w, c, k) in st.inner.items():
        print(f"  {label:<48}{w:9.2f}{c:9.2f}{'':9}{w / wall:8.0%}  x{k}")
    if out.is_dir():
        sizes = sorted(((p.stat().st_size, p.name) for p in out.iterdir() if p.is_file()), reverse=True)[:6]
        print("largest outputs: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for s, n in sizes))
    if prof:
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(key).print_stats(profile)
            text = s.getvalue()
            print(f"\ncProfile, the {profile} costliest functions by {key} (main thread):")
            print(text[text.find("   ncalls"):].rstrip())
    return result



def scaling(results: dict[int, Result]) -> None:
    """Per stage and in total: the times at each size and the exponent fitted to them, wall and CPU.

    The exponent is the slope of a least-squares line through (log sites, log
    seconds): 1 is linear. A stage that takes under 0.05 s at every size has
    no exponent worth printing (timer noise); it is shown as '-'.
    """
    sizes = sorted(results)
    logn = np.log(sizes)

    def slope(times: list[float]) -> str:
        t = np.asarray(times, dtype=float)
        if len(t) < 2 or (t <= 0).any() or t.max() < 0.05:
            return "-"
        return f"{np.polyfit(logn, np.log(t), 1)[0]:.2f}"

    labels: list[str] = []
    for n in sizes:
        labels += [r[0] for r in results[n].stages if r[0] not in labels]
    per = {n: {r[0]: r for r in results[n].stages} for n in sizes}
    head = "".join(f"{f'{n:,}':>9}" for n in sizes)
    print(f"\nscaling over {', '.join(f'{n:,}' for n in sizes)} sites (start-up excluded: a warm-up run first, "
          "all in one process)")
    width = 9 * len(sizes)
    print(f"{'':<50}{'wall s':>{width}}{'':6}   {'CPU s':>{width}}")
    print(f"{'stage / sites':<50}{head}{'exp':>6}   {head}{'exp':>6}")
    for label in [*labels, "total"]:
        if label == "total":
            walls = [results[n].wall for n in sizes]
            cpus = [results[n].cpu for n in sizes]
        else:
            walls = [per[n][label][1] if label in per[n] else 0.0 for n in sizes]
            cpus = [per[n][label][2] if label in per[n] else 0.0 for n in sizes]
        print(f"{label:<50}{''.join(f'{w:9.2f}' for w in walls)}{slope(walls):>6}   "
              f"{''.join(f'{c:9.2f}' for c in cpus)}{slope(cpus):>6}")
    total = slope([results[n].wall for n in sizes])
    total_cpu = slope([results[n].cpu for n in sizes])
    met = total != "-" and float(total) <= 1.1 and total_cpu != "-" and float(total_cpu) <= 1.1
    failed = [f"{n:,}" for n in sizes if results[n].failed]
    print(f"scaling exponent of the whole run: wall {total}, CPU {total_cpu}; target <= 1.1: "
          f"{'met' if met and not failed else 'NOT met'}"
          + (f" (the run of {', '.join(failed)} sites failed: the fit means little)" if failed else ""))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=100_000)
    p.add_argument("--folder", type=Path, help="keep the region and the outputs here (default: a temporary folder)")
    p.add_argument("--no-maps", action="store_true")
    p.add_argument("--no-qgis", action="store_true")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions (cProfile)")
    p.add_argument("--scaling", action="store_true",
                   help="also run the smaller sizes of --scaling-sites and fit the exponent per stage and in total")
    p.add_argument("--scaling-sites", default="10000,30000", metavar="N,N",
                   help="the sizes run beside --sites for --scaling (default 10000,30000)")
    p.add_argument("--warmup-sites", type=int, default=1000, metavar="N",
                   help="with --scaling, an untimed run of N sites first (imports, first calls); 0: none")
    p.add_argument("--province", type=int, default=0, metavar="N",
                   help="also run N sites in a synthetic province (80 x 70 km, 34 substations: what a province "
                        "runs) against the province-scale target; 0: none")
    p.add_argument("--kernels", action="store_true",
                   help="then the core kernels at national sizes beside their peers (scipy cKDTree, shapely STRtree, "
                        "geopandas, SedonaDB / DuckDB when installed): benchmarks/bench_kernels.py")
    p.add_argument("--kernels-small", action="store_true", help="with --kernels: their sizes / 10")
    args = p.parse_args(argv)
    print(f"spatialprog national benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"seed {make_national_region.SEED}")
    maps, qgis = not args.no_maps, not args.no_qgis
    code = 0
    with tempfile.TemporaryDirectory(prefix="spatialprog-national-") as tmp:
        folder = args.folder or Path(tmp)
        results: dict[int, Result] = {}
        if args.scaling:
            smaller = sorted({int(x) for x in args.scaling_sites.split(",") if x.strip()} - {args.sites})
            if args.warmup_sites:
                r = run_once(region(folder, args.warmup_sites), folder / f"out-{args.warmup_sites}", maps=maps,
                             qgis=qgis, quiet=True)
                print(f"warm-up: {args.warmup_sites:,} sites in {r.wall:.2f} s wall (not counted)")
            for n in smaller:
                r = results[n] = run_once(region(folder, n), folder / f"out-{n}", maps=maps, qgis=qgis, quiet=True)
                print(f"{n:>8,} sites: {r.wall:7.2f} s wall, {r.cpu:7.2f} s CPU, {r.peak / 1e9:5.2f} GB; probe before: "
                      f"{r.probe[0][0]:.3f} s CPU, {r.probe[0][1]:.2f} s to touch 512 MB, {r.probe[0][2]:.1f} GB/s"
                      + (f"  THE RUN FAILED: {r.failed}" if r.failed else ""))
                if n == 10_000 and not args.province:
                    print(f"  target province scale (1e4) < {TARGETS['province']:g} s: "
                          f"{'met' if r.wall < TARGETS['province'] and not r.failed else 'NOT met'} (these sites lie "
                          "over the whole country; --province 10000 measures them in a province)")
        toml = region(folder, args.sites)
        print(f"run {toml} (maps {'on' if maps else 'off'}, QGIS export {'on' if qgis else 'off'})")
        r = results[args.sites] = run_once(toml, folder / f"out-{args.sites}", maps=maps, qgis=qgis,
                                           profile=args.profile)
        key = "full" if maps and qgis else ("core" if not maps and not qgis else "")
        if key and args.sites != 100_000:
            print(f"target: {'full run' if key == 'full' else 'without maps and export'} < {TARGETS[key]:g} s wall "
                  f"at 100,000 sites (this run: {args.sites:,} sites, {r.wall:.1f} s, {r.peak / 1e9:.2f} GB)")
        elif key:
            print(f"target: {'full run' if key == 'full' else 'without maps and export'} < {TARGETS[key]:g} s wall, "
                  f"< 8 GB: {'met' if r.wall < TARGETS[key] and r.peak < 8e9 and not r.failed else 'NOT met'} "
                  f"({r.wall:.1f} s, {r.peak / 1e9:.2f} GB{'; the run failed' if r.failed else ''})")
        if args.scaling and len(results) > 1:
            scaling(results)
        if args.province:
            toml = region(folder, args.province, extent=PROVINCE)
            e = PROVINCE
            print(f"\nrun {toml} (a province of {e.w / 1e3:.0f} x {e.h / 1e3:.0f} km, {e.n_substations} substations, "
                  f"{args.province:,} sites; maps {'on' if maps else 'off'}, QGIS export {'on' if qgis else 'off'})")
            r = run_once(toml, folder / f"out-province-{args.province}", maps=maps, qgis=qgis)
            print(f"target province scale < {TARGETS['province']:g} s wall: "
                  f"{'met' if r.wall < TARGETS['province'] and not r.failed else 'NOT met'} ({r.wall:.1f} s"
                  f"{'; the run failed' if r.failed else ''})")
            code = 1 if r.failed else code
        if any(x.failed for x in results.values()):
            code = 1
    if args.kernels:
        import bench_kernels

        print()
        code = bench_kernels.main(["--small"] if args.kernels_small else []) or code
    return code


if __name__ == "__main__":
    raise SystemExit(main())
