"""Benchmark of the Dask engine against the local engine for the heavy steps (issue 13, item 5).

Builds the synthetic national region with ``scripts/make_national_region.py``
at 1e4 and 1e5 sites (deterministic, in a temporary folder, never in the
repository; generating and reading it are not timed), then times the heavy
steps a run sends through its engine (:mod:`spatialprog.distributed`) on the
local engine and on a Dask ``LocalCluster`` (or the scheduler given):

* the point assignment, ``network.assign_sites`` of every site's demand point;
* the heat-network shares, ``demand.heat_network_share`` of the housing sites;
* the land-claim conflicts, ``pipeline.land_claim_conflicts`` (its pair kernels
  per partition, the rest as on one machine).

It prints per step the wall time on each engine, the CPU time of the tasks on
the workers (summed over them) and the rest, the cluster's overhead (cutting
the input, sending it, scheduling, sending the answers back, putting them in
order: the Dask wall time less the task CPU time spread over the cluster's
threads); the cluster's start and shutdown; and whether both engines gave the
same answer. From the fits over the sizes (overhead
and task time per site, local time per site) it estimates from how many sites
a real cluster of N workers would pay.

    python benchmarks/bench_dask.py                        # 1e4 and 1e5 sites, LocalCluster of 2 workers
    python benchmarks/bench_dask.py --sites 10000 --workers 2 --partitions 8
    python benchmarks/bench_dask.py --scheduler tcp://host:8786 --sites 100000   # a real cluster
    python benchmarks/bench_dask.py --folder /tmp/nat      # keep (and reuse) the regions

This is a benchmark: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_national_region  # noqa: E402
from make_national_region import region  # noqa: E402

from spatialprog import fields as F  # noqa: E402
from spatialprog.demand import demand_points, heat_network_share  # noqa: E402
from spatialprog.distributed import DaskEngine, Engine  # noqa: E402
from spatialprog.kinds import LAYER_KINDS  # noqa: E402
from spatialprog.network import assign_sites  # noqa: E402
from spatialprog.pipeline import land_claim_conflicts, read_plan  # noqa: E402

STEPS = ("assign_sites", "heat_network_share", "conflicts")



def heavy_steps(plan: Any) -> dict[str, Callable[[Engine], Any]]:
    """The heavy steps of a run on ``plan``, each a call on an engine (as ``pipeline.compute`` makes them)."""
    layers, project = plan.layers, plan.project
    points = demand_points(layers, kinds=LAYER_KINDS)
    subs, areas = layers["substations"], layers["service_areas"]
    housing, nets = layers["housing_sites"], layers.get("heat_networks")
    max_m = float(project.parameters["assignment.max_distance_m"])
    return {
        "assign_sites": lambda e: e.map_sites(assign_sites, points, subs, areas, method="service_areas",
                                              max_distance_m=max_m, outside=project.assignment.outside,
                                              sorted_by=[F.LAYER, F.SITE_ID]),
        "heat_network_share": lambda e: e.map_sites(heat_network_share, housing[[housing.geometry.name]], nets,
                                                    project.years),
        "conflicts": lambda e: land_claim_conflicts(plan, engine=e).conflicts,
    }


def same(a: Any, b: Any) -> bool:
    """Whether two answers are equal, bit for bit (frames by their values and types)."""
    if isinstance(a, pd.DataFrame):
        return a.equals(b) and list(a.dtypes) == list(b.dtypes)
    return bool(np.array_equal(a, b))


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    p.add_argument("--partitions", type=int, default=None, help="spatial partitions (default: twice the threads)")
    p.add_argument("--scheduler", help="a running Dask scheduler instead of a LocalCluster, e.g. tcp://host:8786")
    p.add_argument("--folder", type=Path, help="keep the regions here (default: a temporary folder)")
    p.add_argument("--cluster-workers", type=int, nargs="+", default=[4, 8, 16],
                   help="cluster sizes to estimate the break-even size for (default 4 8 16)")
    args = p.parse_args(argv)
    print(f"spatialprog Dask engine benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"seed {make_national_region.SEED}")
    rows = []  # (sites, step, local s, dask s, task s)
    with tempfile.TemporaryDirectory(prefix="spatialprog-dask-") as tmp:
        folder = args.folder or Path(tmp)
        plans = {n: read_plan(region(folder, n)) for n in args.sites}
        start, engine = timed(lambda: DaskEngine(scheduler=args.scheduler, workers=None if args.scheduler
                                                 else args.workers, partitions=args.partitions))
        threads = sum(engine.client.nthreads().values())
        print(f"{engine}: started in {start:.2f} s, {threads} worker threads")
        try:
            for n, plan in plans.items():
                print(f"\n{n:,} sites ({len(plan.layers['substations'])} substations, "
                      f"{len(plan.layers['housing_sites']):,} housing sites, "
                      f"{len(plan.layers.get('heat_networks', [])):,} heat networks)")
                print(f"{'step':<22}{'local s':>10}{'dask s':>10}{'task CPU s':>12}{'overhead s':>12}{'same':>7}")
                for step, call in heavy_steps(plan).items():
                    t_local, want = timed(lambda call=call: call(Engine()))
                    before = engine.task_seconds
                    t_dask, got = timed(lambda call=call: call(engine))
                    tasks = engine.task_seconds - before
                    rows.append((n, step, t_local, t_dask, tasks))
                    print(f"{step:<22}{t_local:10.2f}{t_dask:10.2f}{tasks:12.2f}{t_dask - tasks / threads:12.2f}"
                          f"{'yes' if same(want, got) else 'NO':>7}")
                tl, td, tt = (sum(r[k] for r in rows if r[0] == n) for k in (2, 3, 4))
                print(f"{'heavy steps':<22}{tl:10.2f}{td:10.2f}{tt:12.2f}{td - tt / threads:12.2f}")
        finally:
            stop, _ = timed(engine.close)
        print(f"\ncluster shut down in {stop:.2f} s (start {start:.2f} s: both once per run)")
    if len(args.sites) >= 2:
        estimate(rows, start + stop, threads, args.cluster_workers)
    return 0


def estimate(rows: list[tuple[int, str, float, float, float]], fixed_s: float, threads: int,
             sizes: list[int]) -> None:
    """From what size a real cluster of N workers would pay, from the cluster measured here.

    The Dask time is the overhead (cutting, sending, scheduling, answers back,
    order) plus the tasks' CPU time spread over the cluster's threads:
    ``dask(n) = over(n) + tasks(n) / threads``. A real cluster of N workers
    (one core each) keeps the overhead and spreads the tasks wider:
    ``over(n) + tasks(n) / N``, plus its start and shutdown ``s``. Fitted as
    lines ``over = a + b n``, ``tasks = w n`` and ``local = c n`` (the steps are
    linear), it pays from ``n > (a + s) / (c - b - w / N)`` (never where that
    denominator is not positive: the overhead per site alone exceeds the local
    compute per site).
    """
    sizes_n = sorted({r[0] for r in rows})
    total = {k: np.array([sum(r[k] for r in rows if r[0] == n) for n in sizes_n]) for k in (2, 3, 4)}
    over = total[3] - total[4] / threads
    b, a = np.polyfit(sizes_n, over, 1)
    w = float(np.polyfit(sizes_n, total[4], 1)[0])
    c = float(np.polyfit(sizes_n, total[2], 1)[0])
    a, b = max(float(a), 0.0), max(float(b), 0.0)
    print(f"\nfit over {', '.join(f'{n:,}' for n in sizes_n)} sites, per 1e6 sites: local {c * 1e6:.1f} s; in "
          f"tasks {w * 1e6:.1f} s CPU (summed); overhead {a:.2f} s per run + {b * 1e6:.1f} s; cluster start + stop "
          f"{fixed_s:.1f} s")
    for workers in sizes:
        gain = c - b - w / workers
        if gain <= 0:
            print(f"  {workers:>3} workers: never pays here (overhead + task time per site "
                  f"{(b + w / workers) * 1e6:.1f} s per 1e6 sites >= local {c * 1e6:.1f} s)")
        else:
            print(f"  {workers:>3} workers: pays from about {(a + fixed_s) / gain:,.0f} sites "
                  f"({(a + fixed_s + (b + w / workers) * 1e6):.0f} s instead of {c * 1e6:.0f} s at 1e6)")


if __name__ == "__main__":
    raise SystemExit(main())
