"""Benchmark of the core spatial kernels beside their peers, measured in the same run (issue 13, item 3).

Four operations at national scale, each timed for spatialprog and for every
peer that does the same job, on the same data, in one process:

1. points to service areas: 4e6 points x 400 Voronoi service areas.
   ``network.assign_sites`` (the whole assignment table) and its kernel
   ``network.point_area_labels``, beside the previous implementation, a plain
   ``STRtree.query(points, predicate="intersects")``, geopandas ``sjoin``,
   SedonaDB and DuckDB spatial (``ST_Intersects`` joins);
2. nearest substation (method nearest, ``max_distance_m`` 10 km, the default):
   1e6 points -> 1e5 substations. ``assign_sites(method="nearest")`` and its
   kernel ``network.nearest_within``, beside the previous implementation
   (``STRtree.query_nearest`` with ``max_distance``), scipy ``cKDTree``,
   geopandas ``sjoin_nearest`` and SedonaDB (``ST_KNN``);
3. overlaps with area: 1e5 x 1e5 polygons (sites of 16 vertices, 20-200 m
   across, and zones of 32 vertices, 50-1000 m, over 250 x 250 km: half the
   overlapping pairs are a site inside a zone). ``conflicts.overlap_pairs``
   beside the previous implementation, geopandas ``overlay``, SedonaDB and
   DuckDB (``ST_Area(ST_Intersection)`` over an ``ST_Intersects`` join);
4. pairs within 250 m: 1e5 x 1e5 polygons (8 vertices, 50-150 m, over 100 x
   100 km, as benchmarks/bench_conflicts.py). ``conflicts.pairs_within_distance``
   without and with distances, beside geopandas ``sjoin(predicate="dwithin")``,
   ``STRtree.query(predicate="dwithin")``, SedonaDB and DuckDB (``ST_DWithin``);
   also with the shortest line of each pair, as a ``within_distance`` rule of
   the conflicts engine computes it.

Data are synthetic and seeded (generated here, never committed), in EPSG:28992
over a national-sized square. The previous implementation of each changed
kernel is kept below, in this file only, as the "before" peer. Each job runs
once on a small slice first (warm-up: imports, first allocations), then is
timed; ``--repeat`` keeps the fastest of several runs. Loading data into
SedonaDB and DuckDB is not timed; fetching their result pairs is. Agreement:
the previous implementation must give the identical table (assignment) or the
same pairs and areas to 1e-9 relative (conflicts); the peers the same
per-point answer or the same pairs. SedonaDB and DuckDB are used when
installed (the ``bench`` extra, ``pip install -e ".[bench]"``, which the
make targets ``bench``, ``bench-kernels`` and ``bench-national`` install
first), else printed as skipped with the reason
(``--without sedonadb,duckdb`` leaves them out). Each row shows the wall time
and the CPU time of the process (all threads); the run ends with the issue's
table: per operation spatialprog's lines, the fastest peer and the target,
with a note when the machine was loaded.

Run ``python benchmarks/bench_kernels.py`` (full sizes, a few minutes: the
previous nearest and geopandas ``sjoin_nearest`` take about a minute each) or
``--small`` (every size / 10, under a minute; what ``make bench`` runs).
``--only assign,nearest`` picks operations. This is a benchmark, not a test:
nothing asserts on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialprog import fields as F  # noqa: E402
from spatialprog.conflicts import overlap_pairs, pairs_within_distance  # noqa: E402
from spatialprog.conflicts.geometry import polygonal, safe_intersection  # noqa: E402
from spatialprog.conflicts.kernels import chunked, n_threads, shortest_lines  # noqa: E402
from spatialprog.errors import NoticeLog  # noqa: E402
from spatialprog.network import (  # noqa: E402
    ASSIGNMENT_COLUMNS,
    _outside_parts,
    assign_sites,
    derive_service_areas,
    nearest_within,
    point_area_labels,
)

SEED = 20261201
X0, Y0 = 20_000.0, 320_000.0  # inside the RD New domain
SIDE_M = 250_000.0  # a national-sized square
MAX_DISTANCE_M = 10_000.0  # assignment.max_distance_m in data/parameters.toml
WITHIN_M = 250.0
#: the targets of issue 13 (seconds, wall, 2 cores) for spatialprog's lines of each operation (the kernel, and
#: the whole function it serves)
TARGETS = {"assign": {"assign_sites (table)": 0.7, "kernel point_area_labels": 0.7},
           "nearest": {"assign_sites(method=nearest)": 0.35, "kernel nearest_within (cKDTree, exact)": 0.35},
           "overlap": {"conflicts.overlap_pairs": 3.0},
           "within": {"pairs_within_distance": 0.5, "with distances": 0.5}}
OPERATIONS = {"assign": "points to areas", "nearest": "nearest substation", "overlap": "overlaps with area",
              "within": f"pairs within {WITHIN_M:g} m"}


# ---- data ------------------------------------------------------------------------------------


def service_region(n_points: int, n_areas: int, seed: int) -> tuple[gpd.GeoDataFrame, ...]:
    """Points (0.2 % just outside the region), substations, their Voronoi service areas."""
    rng = np.random.default_rng(seed)
    subs = gpd.GeoDataFrame({"id": [f"S{i:04d}" for i in range(n_areas)]},
                            geometry=shapely.points(rng.uniform(X0, X0 + SIDE_M, (n_areas, 2))), crs=28992)
    areas = derive_service_areas(subs, box(X0, Y0, X0 + SIDE_M, Y0 + SIDE_M))
    xy = rng.uniform(0.0, SIDE_M, (n_points, 2)) + [X0, Y0]
    out = rng.random(n_points) < 0.002
    xy[out, 0] = X0 - rng.uniform(1.0, 3000.0, out.sum())
    return _points(xy), subs, areas


def _points(xy: np.ndarray, *, shuffle_ids: bool = False, seed: int = SEED) -> gpd.GeoDataFrame:
    ids = np.char.add("P", np.char.zfill(np.arange(len(xy)).astype(str), 7)).astype(object)
    if shuffle_ids:
        ids = ids[np.random.default_rng(seed).permutation(len(ids))]
    return gpd.GeoDataFrame({F.LAYER: "housing_sites", F.SITE_ID: ids}, geometry=shapely.points(xy), crs=28992)


def nearest_case(n_points: int, n_stations: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    subs = gpd.GeoDataFrame({"id": [f"S{i:06d}" for i in range(n_stations)]},
                            geometry=shapely.points(rng.uniform(0.0, SIDE_M, (n_stations, 2)) + [X0, Y0]), crs=28992)
    return _points(rng.uniform(0.0, SIDE_M, (n_points, 2)) + [X0, Y0]), subs


def stars(n: int, seed: int, r_m: tuple[float, float], vertices: int, side_m: float) -> np.ndarray:
    """``n`` valid star-shaped polygons with radii in ``r_m``, centres spread over a square of ``side_m``."""
    rng = np.random.default_rng(seed)
    cx, cy = X0 + rng.uniform(0.0, side_m, n), Y0 + rng.uniform(0.0, side_m, n)
    radius = rng.uniform(*r_m, n)
    # vertex angles stay in their own sector, so the ring never self-intersects
    ang = (np.arange(vertices)[None, :] + rng.uniform(-0.3, 0.3, (n, vertices))) * (2 * np.pi / vertices)
    ang = ang + rng.uniform(0.0, 2 * np.pi, (n, 1))
    rad = radius[:, None] * rng.uniform(0.8, 1.0, (n, vertices))
    xy = np.stack([cx[:, None] + rad * np.cos(ang), cy[:, None] + rad * np.sin(ang)], axis=-1)
    return shapely.polygons(np.concatenate([xy, xy[:, :1]], axis=1))


# ---- the previous implementation: the "before" peer ------------------------------------------
# network.assign_sites and conflicts.overlap_pairs as they were before the kernels of issue 13
# (the check of the areas' substation ids, unchanged, is left out). pairs_within_distance is
# unchanged: its "before" is itself.

_EPS = 1e-9


def before_assign_sites(
    points: gpd.GeoDataFrame,
    substations: gpd.GeoDataFrame,
    service_areas: gpd.GeoDataFrame,
    *,
    method: str,
    max_distance_m: float,
    outside: str = "nearest",
    notices: NoticeLog | None = None,
) -> pd.DataFrame:
    notices = notices if notices is not None else NoticeLog()
    if len(substations) == 0:
        raise ValueError("substations: the layer is empty - there is nothing to assign sites to")
    if len(points) == 0:
        return pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    geoms = np.asarray(points.geometry.values)
    n = len(geoms)
    rows_site: list[np.ndarray] = []
    rows_sub: list[np.ndarray] = []
    rows_share: list[np.ndarray] = []
    rows_method: list[np.ndarray] = []
    rows_dist: list[np.ndarray] = []
    covered = np.zeros(n)
    #: site index -> its part outside every service area (where it differs from the whole site)
    outside_part: dict[int, shapely.Geometry] = {}

    if method != "nearest":
        agem = np.asarray(service_areas.geometry.values)
        asub = service_areas["substation_id"].to_numpy()
        tree = shapely.STRtree(agem)
        si, ai = tree.query(geoms, predicate="intersects")
        area_site = shapely.area(geoms)
        is_poly = area_site > 0
        # polygons: share = intersection area / site area
        pm = is_poly[si]
        if pm.any():
            inter = shapely.area(shapely.intersection(geoms[si[pm]], agem[ai[pm]]))
            share = inter / area_site[si[pm]]
            df = pd.DataFrame({"s": si[pm], "sub": asub[ai[pm]], "share": share})
            df = df[df["share"] > _EPS].groupby(["s", "sub"], as_index=False, sort=True)["share"].sum()
            np.add.at(covered, df["s"].to_numpy(), df["share"].to_numpy())
            # sites not covered exactly once (partly outside, or in a sliver overlap): the part outside
            # every area, and the inside shares scaled to what is inside
            inside = _outside_parts(geoms, area_site, covered, si[pm], ai[pm], agem, outside_part)  # unchanged
            scale = np.divide(inside, covered, out=np.ones_like(covered), where=covered > 0)
            df["share"] = df["share"].to_numpy() * scale[df["s"].to_numpy()]
            covered = np.where(covered > 0, inside, covered)
            rows_site.append(df["s"].to_numpy())
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(df["share"].to_numpy())
        # points (and degenerate polygons): the first area by substation id
        qm = ~pm
        if qm.any():
            df = pd.DataFrame({"s": si[qm], "sub": asub[ai[qm]]}).sort_values(["s", "sub"], kind="stable")
            df = df.drop_duplicates("s")
            rows_site.append(df["s"].to_numpy())
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(np.ones(len(df)))
            covered[df["s"].to_numpy()] = 1.0
        k = sum(len(r) for r in rows_site)
        rows_method.append(np.full(k, "service_area" if method == "service_areas" else method, dtype=object))
        rows_dist.append(np.zeros(k))
        # shares a hair above 1 from floating point: renormalise those sites
        covered = np.minimum(covered, 1.0)

    rest = 1.0 - covered
    todo = np.flatnonzero(rest > 1e-6)
    if len(todo) and (method == "nearest" or outside == "nearest"):
        sgeom = np.asarray(substations.geometry.values)
        sids = substations["id"].to_numpy()
        stree = shapely.STRtree(sgeom)
        # the part outside every area goes to the substation nearest to that part
        query = np.array([outside_part.get(int(i), geoms[i]) for i in todo], dtype=object)
        with np.errstate(all="ignore"):  # GEOS on parts with subnormal coordinates (1e-311) warns; the result holds
            qi, ti = stree.query_nearest(query, max_distance=max_distance_m, all_matches=True)
            dist = shapely.distance(query[qi], sgeom[ti]) if len(qi) else np.array([])
        if len(qi):
            df = pd.DataFrame({"q": qi, "sub": sids[ti], "d": dist}).sort_values(["q", "d", "sub"], kind="stable")
            df = df.drop_duplicates("q")
            s_idx = todo[df["q"].to_numpy()]
            rows_site.append(s_idx)
            rows_sub.append(df["sub"].to_numpy())
            rows_share.append(rest[s_idx])
            rows_method.append(np.full(len(df), "nearest", dtype=object))
            rows_dist.append(df["d"].to_numpy())
            if method != "nearest":
                for i in s_idx:
                    notices.add(points[F.LAYER].iat[i],
                                f"{rest[i]:.0%} of the site lies outside every service area; that part is assigned "
                                f"to the substation nearest to it", feature=points[F.SITE_ID].iat[i], level="warning",
                                fix="extend the service areas to cover it")
            rest[s_idx] = 0.0
    left = np.flatnonzero(rest > 1e-6)
    if len(left):
        rows_site.append(left)
        rows_sub.append(np.full(len(left), None, dtype=object))
        rows_share.append(rest[left])
        rows_method.append(np.full(len(left), "unassigned", dtype=object))
        rows_dist.append(np.full(len(left), np.nan))
        why = (f"no substation within {max_distance_m:g} m" if (method == "nearest" or outside == "nearest")
               else "outside every service area")
        for i in left:
            notices.add(points[F.LAYER].iat[i],
                        f"{rest[i]:.0%} of the site is not assigned to any substation ({why}); its demand is "
                        f"listed as unassigned, not in any headroom", feature=points[F.SITE_ID].iat[i],
                        level="warning", fix="check the site's location or add a service area covering it")

    site_idx = np.concatenate(rows_site) if rows_site else np.array([], dtype=int)
    out = pd.DataFrame(
        {
            F.LAYER: points[F.LAYER].to_numpy()[site_idx],
            F.SITE_ID: points[F.SITE_ID].to_numpy()[site_idx],
            F.SUBSTATION_ID: np.concatenate(rows_sub) if rows_sub else [],
            F.SHARE: np.concatenate(rows_share) if rows_share else [],
            F.METHOD: np.concatenate(rows_method) if rows_method else [],
            F.DIST_M: np.concatenate(rows_dist) if rows_dist else [],
        }
    )
    # normalise per site so shares sum to exactly 1
    tot = out.groupby([F.LAYER, F.SITE_ID])[F.SHARE].transform("sum")
    out[F.SHARE] = out[F.SHARE] / tot
    out["_o"] = out[F.SUBSTATION_ID].fillna("~")
    out = out.sort_values([F.LAYER, F.SITE_ID, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out[ASSIGNMENT_COLUMNS]


def before_overlap_pairs(a: np.ndarray, b: np.ndarray, *, min_area_m2: float = 0.01,
                         threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """overlap_pairs as it was: the overlay for every bounding-box candidate pair."""
    nthreads = n_threads(threads)
    tree = shapely.STRtree(b)

    def query(s: slice) -> tuple[np.ndarray, np.ndarray]:
        ia, ib = tree.query(a[s])
        return ia + s.start, ib

    parts = chunked(query, len(a), nthreads)
    ia = np.concatenate([p[0] for p in parts]).astype(np.intp)
    ib = np.concatenate([p[1] for p in parts]).astype(np.intp)

    def op(s: slice) -> tuple[np.ndarray, np.ndarray]:
        inter = safe_intersection(a[ia[s]], b[ib[s]], [])
        return inter, shapely.area(inter)

    parts = chunked(op, len(ia), nthreads)
    inter = np.concatenate([p[0] for p in parts])
    area = np.concatenate([p[1] for p in parts])
    keep = area > min_area_m2
    ia, ib, area, inter = ia[keep], ib[keep], area[keep], polygonal(inter[keep])
    order = np.lexsort((ib, ia))
    return ia[order], ib[order], area[order], inter[order]


# ---- peers: SedonaDB and DuckDB spatial, when installed ---------------------------------------


def _open_duckdb(threads: int) -> tuple[Any, str]:
    """A DuckDB connection with the spatial extension of the PyPI package loaded, or None and why not."""
    try:
        import duckdb
    except ImportError:
        return None, "duckdb is not installed (pip install -e \".[bench]\", or make bench-kernels)"
    spec = importlib.util.find_spec("duckdb_extension_spatial")
    ext = (Path(spec.submodule_search_locations[0]) / "extensions" / f"v{duckdb.__version__}"
           / "spatial.duckdb_extension") if spec and spec.submodule_search_locations else None
    if ext is None or not ext.exists():
        # INSTALL spatial would download it from extensions.duckdb.org
        return None, (f"no spatial extension for duckdb {duckdb.__version__} "
                      "(pip install duckdb-extension-spatial of the same version)")
    try:
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        con.execute(f"LOAD '{ext}'")  # the extension's signature is checked
    except duckdb.Error as e:
        return None, f"the spatial extension does not load: {e}"
    return con, ""


def _open_sedonadb() -> tuple[Any, str]:
    """A SedonaDB context, or None and why not."""
    try:
        import geoarrow.pyarrow  # noqa: F401  (sedonadb needs it to hand results back)
        import sedonadb
    except ImportError as e:
        return None, f"{e.name} is not installed (pip install -e \".[bench]\", or make bench-kernels)"
    return sedonadb.connect(), ""


class Engines:
    """The SQL engines among the peers, loaded once; ``why`` says why one is missing."""

    def __init__(self, threads: int, without: set[str] = frozenset()) -> None:
        self.why: dict[str, str] = {}
        self.duck: Any = self._open("DuckDB", without, lambda: _open_duckdb(threads))
        self.sedona: Any = self._open("SedonaDB", without, _open_sedonadb)
        # warm-up: the first spatial join of each engine loads and plans more than the later ones
        tiny = shapely.buffer(shapely.points(np.arange(50.0), np.arange(50.0)), 2.0)
        self.load("w1", tiny)
        self.load("w2", tiny)
        for run in (self.duckdb, self.sedonadb):
            run("SELECT a.i, b.i AS j FROM w1 a JOIN w2 b ON ST_Intersects(a.{g}, b.{g})")

    def _open(self, name: str, without: set[str], opener: Callable[[], tuple[Any, str]]) -> Any:
        if name.lower() in without:
            self.why[name] = f"left out (--without {name.lower()})"
            return None
        engine, why = opener()
        if engine is None:
            self.why[name] = why
        return engine

    def load(self, name: str, geoms: np.ndarray) -> None:
        """Put ``geoms`` (with their position ``i``) in a table ``name`` of each engine; not timed."""
        import pyarrow as pa

        if self.duck is not None:
            self.duck.register("_in", pa.table({"i": np.arange(len(geoms)), "w": shapely.to_wkb(geoms)}))
            self.duck.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT i, ST_GeomFromWKB(w) AS geom FROM _in")
            self.duck.unregister("_in")
        if self.sedona is not None:
            frame = gpd.GeoDataFrame({"i": np.arange(len(geoms))}, geometry=geoms, crs=28992)
            self.sedona.create_data_frame(frame).to_memtable().to_view(name, overwrite=True)

    def duckdb(self, sql: str) -> dict[str, np.ndarray] | None:
        return None if self.duck is None else self.duck.execute(sql.format(g="geom")).fetchnumpy()

    def sedonadb(self, sql: str) -> dict[str, np.ndarray] | None:
        if self.sedona is None:
            return None
        table = self.sedona.sql(sql.format(g="geometry")).to_arrow_table()
        return {c: table.column(c).to_numpy() for c in table.column_names}


# ---- timing and the table --------------------------------------------------------------------


class Table:
    """Rows of (operation, size, implementation, wall s, CPU s, agreement), printed as they come.

    CPU is the process time of all threads (the SQL engines run in this process
    too): on a shared machine it says what a job costs when the wall time is
    stretched by other work.
    """

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.rows: list[tuple[str, str, str, float | None, float | None, str]] = []
        self.load = os.getloadavg()[0]  # the highest 1-minute load average seen at a row
        print(f"{'operation':<22}{'size':<24}{'implementation':<46}{'wall s':>8}{'CPU s':>8}  agreement")

    def time(self, op: str, size: str, name: str, job: Callable[[], Any], warm: Callable[[], Any] | None = None,
             check: Callable[[Any], str] | None = None, *, repeat: int | None = None,
             skipped: str | None = None) -> Any:
        """Warm ``job`` up (``warm``, a small version), time it (fastest of ``repeat``) and check its result.

        With ``skipped`` (the reason an engine is missing) the row says so and nothing runs.
        """
        if skipped:
            self.add(op, size, name, None, None, f"skipped: {skipped}")
            return None
        if warm is not None:
            warm()
        best, best_cpu, out = float("inf"), float("inf"), None
        for _ in range(repeat or self.repeat):
            t, c = time.perf_counter(), time.process_time()
            try:
                out = job()
            except Exception as e:  # a peer that fails is reported, and the run goes on
                self.add(op, size, name, None, None, f"FAILED: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                return None
            best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
        self.add(op, size, name, best, best_cpu, check(out) if check else "")
        return out

    def add(self, op: str, size: str, name: str, seconds: float | None, cpu: float | None, agree: str) -> None:
        self.rows.append((op, size, name, seconds, cpu, agree))
        self.load = max(self.load, os.getloadavg()[0])
        sec = "-" if seconds is None else f"{seconds:.3f}"
        c = "-" if cpu is None else f"{cpu:.3f}"
        print(f"{op:<22}{size:<24}{name:<46}{sec:>8}{c:>8}  {agree}", flush=True)

    def summary(self, small: bool, load: float) -> None:
        """The issue's table: per operation spatialprog's lines, the fastest peer measured beside them, the target.

        ``load`` is the highest load average seen during the run: above the
        number of CPUs other work stretched every wall time, and the note says so.
        """
        print(f"\n{'operation':<22}{'size':<24}{'spatialprog':<46}{'wall s':>8}{'CPU s':>8}  "
              f"{'fastest peer':<44}{'wall s':>8}  target{'' if small else ' (full sizes, 2 cores)'}")
        for key, op in OPERATIONS.items():
            rows = [r for r in self.rows if r[0] == op]
            if not rows:
                continue
            ours = [r for r in rows if r[2].startswith(("spatialprog", "  ")) and r[3] is not None]
            peers = [r for r in rows if not r[2].startswith(("spatialprog", "  ", "before")) and r[3] is not None]
            peer = min(peers, key=lambda r: r[3]) if peers else None
            for k, r in enumerate(ours):
                name = r[2].strip().removeprefix("spatialprog ")
                target = TARGETS.get(key, {}).get(name)
                verdict = ""
                if target is not None:
                    verdict = f"<= {target:g} s" + ("" if small else ("  met" if r[3] <= target else "  NOT met"))
                left = f"{op if k == 0 else '':<22}{r[1] if k == 0 else '':<24}{name:<46}{r[3]:8.3f}{r[4]:8.3f}  "
                right = f"{peer[2]:<44}{peer[3]:8.3f}" if peer is not None and k == 0 else f"{'':<52}"
                print(f"{left}{right}  {verdict}")
        cpus = os.cpu_count() or 1
        if load > cpus:
            print(f"note: the load average reached {load:.1f} on {cpus} CPUs during this run: other work stretched "
                  "every wall time above (peers alike); the CPU column is what each job itself used, and a verdict "
                  "on the wall time needs a run on a quiet machine")


def same_pairs(ia: np.ndarray, ib: np.ndarray, ref: tuple[np.ndarray, np.ndarray]) -> str:
    """'same N pairs' when the pairs (in any order) are the reference pairs."""
    got = np.unique(np.asarray(ia, np.int64) * (1 << 32) + np.asarray(ib, np.int64))
    want = np.unique(ref[0].astype(np.int64) * (1 << 32) + ref[1].astype(np.int64))
    if np.array_equal(got, want):
        return f"same {len(want):,} pairs"
    return f"DIFFERENT: {len(got):,} pairs, {len(np.setdiff1d(got, want)):,} extra, {len(np.setdiff1d(want, got)):,} missing"


def labels_of(n: int, qi: np.ndarray, ai: np.ndarray) -> np.ndarray:
    """The lowest area position per point from (point, area) pairs; -1 for none."""
    out = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(out, np.asarray(qi, np.int64), np.asarray(ai, np.int64))
    out[out == np.iinfo(np.int64).max] = -1
    return out


# ---- the operations --------------------------------------------------------------------------


def op_assign(t: Table, eng: Engines, n_points: int, n_areas: int) -> None:
    op, size = OPERATIONS["assign"], f"{n_points:.0e} pts x {n_areas} areas"
    pts, subs, areas = service_region(n_points, n_areas, SEED)
    w_pts, w_subs, w_areas = service_region(2000, 20, SEED + 9)
    shuffled = pts.copy()
    shuffled[F.SITE_ID] = _points(np.zeros((n_points, 2)), shuffle_ids=True)[F.SITE_ID].to_numpy()
    geoms, agem = np.asarray(pts.geometry.values), np.asarray(areas.geometry.values)
    prio = np.arange(len(agem))

    def ours(p: gpd.GeoDataFrame, s: gpd.GeoDataFrame, a: gpd.GeoDataFrame) -> pd.DataFrame:
        return assign_sites(p, s, a, method="service_areas", max_distance_m=MAX_DISTANCE_M, notices=NoticeLog())

    def before(p: gpd.GeoDataFrame, s: gpd.GeoDataFrame, a: gpd.GeoDataFrame) -> pd.DataFrame:
        return before_assign_sites(p, s, a, method="service_areas", max_distance_m=MAX_DISTANCE_M, notices=NoticeLog())

    table = t.time(op, size, "spatialprog assign_sites (table)", lambda: ours(pts, subs, areas),
                   lambda: ours(w_pts, w_subs, w_areas))
    t.time(op, size, "  ids in random order (the table sorts)", lambda: ours(shuffled, subs, areas), repeat=1)
    lab = t.time(op, size, "  kernel point_area_labels", lambda: point_area_labels(geoms, agem, prio),
                 lambda: point_area_labels(np.asarray(w_pts.geometry.values), np.asarray(w_areas.geometry.values),
                                           np.arange(len(w_areas)), cell_m=1000.0))

    def identical(res: pd.DataFrame) -> str:
        try:
            pd.testing.assert_frame_equal(res, table, check_exact=True)
        except AssertionError:
            return "DIFFERENT table"
        return "identical table"

    def same_labels(pairs: tuple[np.ndarray, np.ndarray]) -> str:
        got = labels_of(len(geoms), *pairs)
        return "same labels" if np.array_equal(got, lab) else f"DIFFERENT labels at {int((got != lab).sum()):,} points"

    t.time(op, size, "before: previous assign_sites", lambda: before(pts, subs, areas),
           lambda: before(w_pts, w_subs, w_areas), identical, repeat=1)
    t.time(op, size, "shapely STRtree.query(intersects)",
           lambda: shapely.STRtree(agem).query(geoms, predicate="intersects"), None, lambda r: same_labels((r[0], r[1])))
    t.time(op, size, "geopandas sjoin(intersects)",
           lambda: gpd.sjoin(pts[["geometry"]], areas[["geometry"]], predicate="intersects"),
           lambda: gpd.sjoin(w_pts[["geometry"]], w_areas[["geometry"]], predicate="intersects"),
           lambda r: same_labels((r.index.to_numpy(), r["index_right"].to_numpy())), repeat=1)
    eng.load("pts", geoms)
    eng.load("areas", agem)
    sql = "SELECT p.i, a.i AS j FROM pts p JOIN areas a ON ST_Intersects(p.{g}, a.{g})"
    for name, run, why in (("SedonaDB ST_Intersects join", eng.sedonadb, eng.why.get("SedonaDB")),
                           ("DuckDB spatial ST_Intersects join", eng.duckdb, eng.why.get("DuckDB"))):
        t.time(op, size, name, lambda run=run: run(sql), None, lambda r: same_labels((r["i"], r["j"])), repeat=1,
               skipped=why)


def op_nearest(t: Table, eng: Engines, n_points: int, n_stations: int) -> None:
    from scipy.spatial import cKDTree

    op, size = OPERATIONS["nearest"], f"{n_points:.0e} pts -> {n_stations:.0e}"
    pts, subs = nearest_case(n_points, n_stations, SEED + 1)
    w_pts, w_subs = nearest_case(2000, 200, SEED + 8)
    q, st = np.asarray(pts.geometry.values), np.asarray(subs.geometry.values)
    prio = np.arange(len(st))  # ids in the order of the rows: the lowest id is the lowest position

    def ours(p: gpd.GeoDataFrame, s: gpd.GeoDataFrame) -> pd.DataFrame:
        return assign_sites(p, s, s, method="nearest", max_distance_m=MAX_DISTANCE_M, notices=NoticeLog())

    def before(p: gpd.GeoDataFrame, s: gpd.GeoDataFrame) -> pd.DataFrame:
        return before_assign_sites(p, s, s, method="nearest", max_distance_m=MAX_DISTANCE_M, notices=NoticeLog())

    table = t.time(op, size, "spatialprog assign_sites(method=nearest)", lambda: ours(pts, subs),
                   lambda: ours(w_pts, w_subs))
    qi, ti, _ = t.time(op, size, "  kernel nearest_within (cKDTree, exact)",
                       lambda: nearest_within(q, st, MAX_DISTANCE_M, prio),
                       lambda: nearest_within(np.asarray(w_pts.geometry.values), np.asarray(w_subs.geometry.values),
                                              MAX_DISTANCE_M, np.arange(len(w_subs))))
    want = np.full(len(q), -1)
    want[qi] = ti

    def same_station(got_q: np.ndarray, got_t: np.ndarray) -> str:
        got = np.full(len(q), -1)
        got[np.asarray(got_q, np.int64)] = got_t
        return "same station" if np.array_equal(got, want) else f"DIFFERENT at {int((got != want).sum()):,} points"

    def identical(res: pd.DataFrame) -> str:
        try:
            pd.testing.assert_frame_equal(res, table, check_exact=True)
        except AssertionError:
            return "DIFFERENT table"
        return "identical table"

    t.time(op, size, "before: previous assign_sites (query_nearest)", lambda: before(pts, subs),
           lambda: before(w_pts, w_subs), identical, repeat=1)

    def kdtree() -> tuple[np.ndarray, np.ndarray]:
        d, j = cKDTree(shapely.get_coordinates(st)).query(shapely.get_coordinates(q), k=1, workers=-1,
                                                          distance_upper_bound=MAX_DISTANCE_M)
        ok = np.isfinite(d)
        return np.flatnonzero(ok), j[ok]

    t.time(op, size, "scipy cKDTree (k=1, inexact ties)", kdtree, None, lambda r: same_station(*r))
    t.time(op, size, "geopandas sjoin_nearest(max_distance)",
           lambda: gpd.sjoin_nearest(pts[["geometry"]], subs[["geometry"]], max_distance=MAX_DISTANCE_M),
           lambda: gpd.sjoin_nearest(w_pts[["geometry"]], w_subs[["geometry"]], max_distance=MAX_DISTANCE_M),
           lambda r: same_station(r.index.to_numpy(), r["index_right"].to_numpy()), repeat=1)
    eng.load("pts", q)
    eng.load("subs", st)
    t.time(op, size, "SedonaDB ST_KNN join (k=1), then the limit",
           lambda: eng.sedonadb(f"SELECT p.i, s.i AS j FROM pts p JOIN subs s ON ST_KNN(p.{{g}}, s.{{g}}, 1, false) "
                                f"WHERE ST_Distance(p.{{g}}, s.{{g}}) <= {MAX_DISTANCE_M}"),
           None, lambda r: same_station(r["i"], r["j"]), repeat=1, skipped=eng.why.get("SedonaDB"))
    t.add(op, size, "DuckDB spatial", None, None,
          f"skipped: {eng.why.get('DuckDB') or 'DuckDB spatial has no nearest-neighbour join'}")


def op_overlap(t: Table, eng: Engines, n: int) -> None:
    op, size = OPERATIONS["overlap"], f"{n:.0e} x {n:.0e} polygons"
    side = SIDE_M * np.sqrt(n / 1e5)
    a = stars(n, SEED + 2, (20.0, 200.0), 16, side)
    b = stars(n, SEED + 3, (50.0, 1000.0), 32, side)
    wa, wb = a[:2000], b[:2000]
    res = t.time(op, size, "spatialprog conflicts.overlap_pairs", lambda: overlap_pairs(a, b),
                 lambda: overlap_pairs(wa, wb))
    ref = (res.index_a, res.index_b)
    total = float(res.area_m2.sum())

    def agree(ia: np.ndarray, ib: np.ndarray, area: np.ndarray) -> str:
        keep = np.asarray(area) > 0.01
        pairs = same_pairs(np.asarray(ia)[keep], np.asarray(ib)[keep], ref)
        rel = abs(float(np.sum(np.asarray(area)[keep])) - total) / max(total, 1.0)
        return f"{pairs}, area {'same' if rel <= 1e-9 else 'DIFFERENT'} ({rel:.1e})"

    t.time(op, size, "before: previous overlap_pairs (overlay all)", lambda: before_overlap_pairs(a, b),
           lambda: before_overlap_pairs(wa, wb), lambda r: agree(r[0], r[1], r[2]), repeat=1)
    ga = gpd.GeoDataFrame({"ia": np.arange(n)}, geometry=a, crs=28992)
    gb = gpd.GeoDataFrame({"ib": np.arange(n)}, geometry=b, crs=28992)

    def overlay() -> gpd.GeoDataFrame:
        return gpd.overlay(ga, gb, how="intersection", keep_geom_type=True)

    t.time(op, size, "geopandas overlay(intersection)", overlay,
           lambda: gpd.overlay(ga.iloc[:2000], gb.iloc[:2000], how="intersection", keep_geom_type=True),
           lambda r: agree(r["ia"].to_numpy(), r["ib"].to_numpy(), r.geometry.area.to_numpy()), repeat=1)
    eng.load("a", a)
    eng.load("b", b)
    sql = ("SELECT a.i, b.i AS j, ST_Area(ST_Intersection(a.{g}, b.{g})) AS ar FROM a JOIN b "
           "ON ST_Intersects(a.{g}, b.{g})")
    for name, run, why in (("SedonaDB ST_Intersects join + ST_Area", eng.sedonadb, eng.why.get("SedonaDB")),
                           ("DuckDB spatial ST_Intersects join + ST_Area", eng.duckdb, eng.why.get("DuckDB"))):
        t.time(op, size, name, lambda run=run: run(sql), None, lambda r: agree(r["i"], r["j"], r["ar"]), repeat=1,
               skipped=why)


def within_lines(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """The pairs, then their shortest lines and distances: what a within_distance rule computes."""
    res = pairs_within_distance(a, b, WITHIN_M, with_distance=False)
    return res.index_a, res.index_b, *shortest_lines(a, b, res.index_a, res.index_b)


def op_within(t: Table, eng: Engines, n: int) -> None:
    op, size = OPERATIONS["within"], f"{n:.0e} x {n:.0e} polygons"
    side = 100_000.0 * np.sqrt(n / 1e5)
    a = stars(n, SEED + 4, (25.0, 75.0), 8, side)
    b = stars(n, SEED + 5, (25.0, 75.0), 8, side)
    wa, wb = a[:2000], b[:2000]
    res = t.time(op, size, "spatialprog pairs_within_distance", lambda: pairs_within_distance(
        a, b, WITHIN_M, with_distance=False), lambda: pairs_within_distance(wa, wb, WITHIN_M, with_distance=False))
    ref = (res.index_a, res.index_b)
    t.time(op, size, "  with distances", lambda: pairs_within_distance(a, b, WITHIN_M),
           lambda: pairs_within_distance(wa, wb, WITHIN_M), lambda r: same_pairs(r.index_a, r.index_b, ref))
    t.time(op, size, "  + shortest lines (as the conflicts engine)", lambda: within_lines(a, b),
           lambda: within_lines(wa, wb), lambda r: same_pairs(r[0], r[1], ref), repeat=1)
    t.add(op, size, "before: unchanged (the same function)", None, None, "")

    def strtree(with_distance: bool) -> tuple[np.ndarray, np.ndarray]:
        ib, ia = shapely.STRtree(a).query(b, predicate="dwithin", distance=WITHIN_M)
        if with_distance:
            shapely.distance(a[ia], b[ib])
        return ia, ib

    t.time(op, size, "shapely STRtree.query(dwithin)", lambda: strtree(False), None, lambda r: same_pairs(*r, ref))
    t.time(op, size, "shapely STRtree.query(dwithin) + distance", lambda: strtree(True), None, lambda r: same_pairs(*r, ref),
           repeat=1)
    ga = gpd.GeoDataFrame({"ia": np.arange(n)}, geometry=a, crs=28992)
    gb = gpd.GeoDataFrame({"ib": np.arange(n)}, geometry=b, crs=28992)
    t.time(op, size, "geopandas sjoin(dwithin)",
           lambda: gpd.sjoin(ga, gb, predicate="dwithin", distance=WITHIN_M),
           lambda: gpd.sjoin(ga.iloc[:2000], gb.iloc[:2000], predicate="dwithin", distance=WITHIN_M),
           lambda r: same_pairs(r["ia"].to_numpy(), r["ib"].to_numpy(), ref), repeat=1)
    eng.load("a", a)
    eng.load("b", b)
    for name, run, why in (("SedonaDB ST_DWithin join", eng.sedonadb, eng.why.get("SedonaDB")),
                           ("DuckDB spatial ST_DWithin join", eng.duckdb, eng.why.get("DuckDB"))):
        for label, extra in (("", ""), (" + ST_Distance", ", ST_Distance(a.{g}, b.{g}) AS d")):
            sql = f"SELECT a.i, b.i AS j{extra} FROM a JOIN b ON ST_DWithin(a.{{g}}, b.{{g}}, {WITHIN_M})"
            t.time(op, size, name + label, lambda run=run, sql=sql: run(sql), None,
                   lambda r: same_pairs(r["i"], r["j"], ref), repeat=1, skipped=why)


# ---- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="every size / 10 (what make bench runs)")
    p.add_argument("--only", default="assign,nearest,overlap,within", help="operations, comma separated")
    p.add_argument("--repeat", type=int, default=3, help="runs of the fast jobs; the fastest is shown")
    p.add_argument("--threads", type=int, default=2, help="threads for the engines (ours use n_threads)")
    p.add_argument("--without", default="", help="peers to leave out, comma separated: sedonadb, duckdb")
    args = p.parse_args(argv)
    k = 10 if args.small else 1
    only = set(args.only.split(","))
    print(f"spatialprog kernels benchmark{' (--small: sizes / 10)' if args.small else ''}: seed {SEED}, "
          f"{os.cpu_count()} CPUs ({n_threads(None)} threads for ours), shapely {shapely.__version__} / "
          f"GEOS {shapely.geos_version_string}, load average {os.getloadavg()[0]:.2f}")
    eng = Engines(args.threads, without={w.strip().lower() for w in args.without.split(",") if w.strip()})
    for name, why in eng.why.items():
        print(f"peer {name} skipped: {why}")
    t = Table(args.repeat)
    if "assign" in only:
        op_assign(t, eng, 4_000_000 // k, 400)
    if "nearest" in only:
        op_nearest(t, eng, 1_000_000 // k, 100_000 // k)
    if "overlap" in only:
        op_overlap(t, eng, 100_000 // k)
    if "within" in only:
        op_within(t, eng, 100_000 // k)
    t.summary(args.small, max(t.load, os.getloadavg()[0]))
    print(f"load average at the end {os.getloadavg()[0]:.2f}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0 if not any(r[5].startswith(("DIFFERENT", "FAILED")) or "DIFFERENT" in r[5] for r in t.rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
