"""Where the heavy steps run: on this machine, or spread over a Dask cluster.

The heavy steps of a run (the point assignment :func:`spatialprog.network.assign_sites`,
the heat-network shares :func:`spatialprog.demand.heat_network_share` and the
pair kernels of the land-claim conflicts, :mod:`spatialprog.conflicts.kernels`)
are called through an :class:`Engine`, chosen by the project's ``[compute]``
table (:func:`open_engine`):

``engine = "local"`` (the default)
    :class:`Engine` calls the function on the whole input, in this process.
``engine = "dask"``
    :class:`DaskEngine` cuts the input into spatial partitions (Hilbert order
    of the bounding-box centres, as ``dask_geopandas``' ``spatial_shuffle``
    sorts them), makes them a ``dask_geopandas.GeoDataFrame`` and calls **the
    same function** on every partition on a ``dask.distributed`` cluster: a
    running scheduler (``scheduler = "tcp://host:8786"``) or a ``LocalCluster``
    on this machine. What the function compares a partition against is sent
    whole to every worker (the service areas and substations, the heat
    networks, the other layer of a conflict rule), so every site or pair is
    answered exactly as on one machine. The answers are put back in the order
    the function gives on the whole input.

There is no second copy of any step here: the engine only cuts, sends and
puts back. A conflict rule's pairs are found per partition of its ``layer_a``
against the features of ``layer_b`` whose box, grown by the rule's distance,
meets the partition's box (its halo); a rule of a layer with itself runs the
kernel on the partition and its halo together and keeps the pairs whose first
feature is the partition's own, so a pair two partitions both see counts once.

The same answers, byte for byte, because every step answers each site (or pair)
from that site and the broadcast layers alone; ``tests/test_dask_engine.py``
compares every output table of a run on both engines.

The module is a little over 500 lines because the helpers that put the
partitions' answers back in order (tables, arrays, notices, pairs) live beside
the one engine that needs them.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from spatialprog.demand import heat_network_share
>>> sites = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=28992)
>>> nets = gpd.GeoDataFrame({"start_year": [2030]}, geometry=[shapely.box(5, 0, 20, 10)], crs=28992)
>>> with open_engine(None) as engine:   # no [compute] table: the local engine
...     engine.map_sites(heat_network_share, sites, nets, [2029, 2030]).tolist()
[[0.0, 0.5]]
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import Notice, NoticeLog, Problem, ProjectError, shorten

__all__ = ["Engine", "DaskEngine", "open_engine", "hilbert_order", "INSTALL_HINT", "CONNECT_TIMEOUT_S"]

#: how to install what ``engine = "dask"`` needs
INSTALL_HINT = "pip install 'spatialprog[dask]'"
#: how long to wait for a Dask scheduler to answer before saying it cannot be reached (seconds)
CONNECT_TIMEOUT_S = 10.0
#: the column carrying each row's position in the input through the partitions
_POS = "_spatialprog_pos"


class Engine:
    """The local engine: every step is one call of its function on the whole input.

    :class:`DaskEngine` has the same methods and spreads the calls over a
    cluster. An engine is a context manager; :meth:`close` releases what it holds.
    """

    name = "local"

    def map_sites(self, func: Callable[..., Any], sites: gpd.GeoDataFrame, *args: Any,
                  sorted_by: Sequence[str] | None = None, notices: NoticeLog | None = None, **kwargs: Any) -> Any:
        """``func(sites, *args, **kwargs)``: a step that answers each site on its own.

        Parameters
        ----------
        func : callable
            Takes the sites first; the other arguments are the same for every
            site (the service areas, the heat networks, ...).
        sites : GeoDataFrame
        *args, **kwargs
            Passed on to ``func``.
        sorted_by : sequence of str, optional
            ``func`` returns a table sorted by these columns (stably), not one
            row per site: the partitions' tables are put back in that order.
            Without it the result is aligned to ``sites`` (an array with one row
            per site, or a frame), and put back by position.
        notices : NoticeLog, optional
            Passed on to ``func`` as ``notices``; its notices about features come
            in the order ``func`` gives them on the whole input.

        Returns
        -------
        What ``func`` returns.
        """
        if notices is not None:
            kwargs["notices"] = notices
        return func(sites, *args, **kwargs)

    def pairs(self, kernel: Callable[..., Any], a: np.ndarray, b: np.ndarray, *per_b: Any, same: bool = False,
              reach: float | np.ndarray = 0.0, **kwargs: Any) -> Any:
        """``kernel(a, b, *per_b, same=same, **kwargs)``: a pair kernel of :mod:`spatialprog.conflicts.kernels`.

        Parameters
        ----------
        kernel : callable
            Returns a NamedTuple with ``index_a`` and ``index_b`` (positions in
            ``a`` and ``b``) and per-pair arrays, ordered by ``index_a`` then
            ``index_b``.
        a, b : numpy.ndarray of shapely.Geometry
        *per_b : array or scalar
            Arguments with one value per feature of ``b`` (a rule's distances).
        same : bool
            ``a`` and ``b`` hold the same features (a rule of a layer with itself).
        reach : float or numpy.ndarray
            How far (m) beyond its box a feature of ``b`` can pair (its distance);
            the Dask engine's halo.
        """
        return kernel(a, b, *per_b, same=same, **kwargs)

    def close(self) -> None:
        """Release the engine's resources (nothing for the local engine)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def open_engine(config: Any) -> Engine:
    """The engine a project's ``[compute]`` table asks for.

    Parameters
    ----------
    config : spatialprog.config.ComputeConfig or None
        None (or ``engine = "local"``): the local engine.

    Returns
    -------
    Engine

    Raises
    ------
    ProjectError
        ``engine = "dask"`` without dask installed, or a scheduler that cannot
        be reached (one line each, with the fix).
    """
    if config is None or getattr(config, "engine", "local") == "local":
        return Engine()
    return DaskEngine(scheduler=config.scheduler, workers=config.workers, partitions=config.partitions)


def hilbert_order(geoms: np.ndarray) -> np.ndarray:
    """Positions of ``geoms`` along a Hilbert curve through their bounding-box centres.

    The order ``dask_geopandas``' ``spatial_shuffle`` sorts by (geopandas'
    ``hilbert_distance``, level 16); missing and empty geometries go first.
    Ties keep the input order.

    Examples
    --------
    >>> hilbert_order(shapely.points([0, 10, 0, 10], [0, 0, 10, 10])).tolist()
    [0, 2, 3, 1]
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = ~np.isnan(shapely.bounds(geoms)).any(axis=1)
    dist = np.full(len(geoms), -1, dtype=np.int64)
    if ok.any():
        dist[ok] = gpd.GeoSeries(geoms if ok.all() else geoms[ok]).hilbert_distance(level=16).to_numpy()
    return np.argsort(dist, kind="stable")


class DaskEngine(Engine):
    """The heavy steps on a Dask cluster, each on spatial partitions of its input.

    Parameters
    ----------
    scheduler : str, optional
        The address of a running scheduler (``tcp://host:8786``). Without it a
        ``LocalCluster`` starts on this machine (one process per worker).
    workers : int, optional
        The ``LocalCluster``'s workers (default: the CPUs of this machine).
    partitions : int, optional
        How many spatial partitions a step's input is cut into (default: twice
        the cluster's worker threads; never more than there are features).

    Raises
    ------
    ProjectError
        dask or dask-geopandas is not installed, or the scheduler does not answer.
    """

    name = "dask"

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None,
                 partitions: int | None = None, processes: bool = True) -> None:
        try:
            import dask  # noqa: F401
            import dask_geopandas  # noqa: F401
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ProjectError(f"compute.engine: 'dask' needs dask[distributed] and dask-geopandas, which are not "
                               f"installed ({shorten(e)}) - install them with {INSTALL_HINT}, or set engine = "
                               f"\"local\"") from None
        self.scheduler = scheduler
        self._cluster = None
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray, Any]] = {}
        #: CPU seconds spent inside the steps' tasks on the workers, summed (the benchmark's split of the time)
        self.task_seconds = 0.0
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except Exception as e:  # OSError, TimeoutError, a malformed address: one line, never a traceback
                raise ProjectError(
                    f"compute.scheduler: no Dask scheduler answers at {shorten(scheduler)} within "
                    f"{CONNECT_TIMEOUT_S:g} s ({shorten(e)}) - start one there with 'dask scheduler' and workers "
                    f"with 'dask worker {shorten(scheduler)}', or remove scheduler to run a local cluster") from None
        else:
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                         processes=processes, dashboard_address=None, silence_logs=logging.CRITICAL)
            self.client = Client(self._cluster, set_as_default=False)
        threads = sum(self.client.nthreads().values()) or 1
        self.partitions = int(partitions) if partitions else max(2, 2 * threads)

    def __repr__(self) -> str:
        where = self.scheduler or f"LocalCluster({len(self.client.nthreads())} workers)"
        return f"DaskEngine({where}, partitions={self.partitions})"

    def close(self) -> None:
        """Disconnect; a LocalCluster this engine started is shut down."""
        client, self.client = getattr(self, "client", None), None
        self._cache = {}
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    # -- partitions ---------------------------------------------------------------------------------------------

    def spatial_partitions(self, frame: gpd.GeoDataFrame) -> Any:
        """``frame`` as a ``dask_geopandas.GeoDataFrame`` in spatial partitions.

        The rows are sorted along the Hilbert curve (:func:`hilbert_order`) and
        cut into :attr:`partitions` consecutive pieces; each row carries its
        position in ``frame`` (column ``_spatialprog_pos``), and the index is
        its Hilbert rank, so the divisions are known.
        """
        import dask
        import dask_geopandas

        order = hilbert_order(np.asarray(frame.geometry.values))
        ordered = frame.take(order).assign(**{_POS: order})
        ordered.index = pd.RangeIndex(len(ordered))
        with dask.config.set({"dataframe.convert-string": False}):  # the columns keep their pandas types
            return dask_geopandas.from_geopandas(ordered, npartitions=max(1, min(self.partitions, len(frame))))

    def partition_positions(self, geoms: np.ndarray) -> list[np.ndarray]:
        """The positions of ``geoms`` in each spatial partition (what a step's partitions hold)."""
        import dask

        frame = gpd.GeoDataFrame(geometry=np.asarray(geoms, dtype=object))
        parts = self.spatial_partitions(frame).to_delayed()
        return [np.sort(p[_POS].to_numpy()) for p in dask.compute(*parts, scheduler="sync")]

    def _run(self, task: Callable[..., Any], frame: gpd.GeoDataFrame, *shared: Any,
             layer: np.ndarray | None = None) -> list[Any]:
        """``task(partition, *shared)`` for every spatial partition of ``frame``, on the cluster, in order.

        ``shared`` values that are large go to every worker once (scatter).
        With ``layer`` (the geometries ``frame`` was made from) the partitions
        stay on the cluster for the next step on the same layer (a conflict
        rule's, :meth:`pairs`), until the engine closes.
        """
        import dask

        with warnings.catch_warnings():
            # the partitions travel inside the task graph (once, where they are kept): that is the point
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            if layer is None:
                ddf = self.spatial_partitions(frame)
            else:
                ddf = self._kept(("partitions", layer), lambda: self.client.persist(self.spatial_partitions(frame)))
            futures = [self.client.scatter(s, broadcast=True, hash=False) if _worth_scattering(s) else s
                       for s in shared]
            tasks = [dask.delayed(_timed, pure=False)(task, p, *futures) for p in ddf.to_delayed()]
            done = self.client.gather(self.client.compute(tasks))
        self.task_seconds += sum(t for _, t in done)
        return [out for out, _ in done]

    def _kept(self, key: tuple[str, np.ndarray], make: Callable[[], Any]) -> Any:
        """What ``make`` sends to the cluster for a geometry array, sent once per engine.

        An array holding the same shapely objects in the same order is the same
        layer (a rule's ``pa[sel_a]`` is a new array of the layer's objects);
        the cache holds the array, so the objects' ids stay theirs.
        """
        kind, geoms = key
        ids = np.fromiter(map(id, geoms), dtype=np.uint64, count=len(geoms))
        ident = (kind, len(ids), hash(ids.tobytes()))
        hit = self._cache.get(ident)
        if hit is None or not np.array_equal(hit[1], ids):
            hit = self._cache[ident] = (geoms, ids, make())
        return hit[2]

    def _whole(self, geoms: np.ndarray) -> Any:
        """A geometry array on every worker (a future), sent once per engine."""
        return self._kept(("whole", geoms), lambda: self.client.scatter(_packed(geoms), broadcast=True))

    # -- the two kinds of step --------------------------------------------------------------------------------

    def map_sites(self, func: Callable[..., Any], sites: gpd.GeoDataFrame, *args: Any,
                  sorted_by: Sequence[str] | None = None, notices: NoticeLog | None = None, **kwargs: Any) -> Any:
        """``func`` on every spatial partition of ``sites``, the rest sent whole; see :meth:`Engine.map_sites`."""
        if len(sites) == 0:
            return super().map_sites(func, sites, *args, sorted_by=sorted_by, notices=notices, **kwargs)
        dtypes = sites.dtypes
        parts = self._run(_sites_task, sites, func, kwargs, notices is not None, dtypes, *args)
        results = [r for r, _, _ in parts]
        if notices is not None:
            notices.items.extend(_merged_notices([n for _, _, n in parts]))
        if sorted_by is not None:
            table = _concat(results)
            return table.sort_values(list(sorted_by), kind="stable").reset_index(drop=True)
        positions = np.concatenate([p for _, p, _ in parts])
        inverse = np.empty(len(positions), dtype=np.intp)
        inverse[positions] = np.arange(len(positions))
        if isinstance(results[0], pd.DataFrame | pd.Series):
            out = pd.concat(results).iloc[inverse]
            out.index = sites.index
            return out
        return np.concatenate(results)[inverse]

    def pairs(self, kernel: Callable[..., Any], a: np.ndarray, b: np.ndarray, *per_b: Any, same: bool = False,
              reach: float | np.ndarray = 0.0, **kwargs: Any) -> Any:
        """``kernel`` per spatial partition of ``a`` against its halo in ``b``; see :meth:`Engine.pairs`."""
        a = np.asarray(a, dtype=object)
        b = np.asarray(b, dtype=object)
        usable = np.flatnonzero(~shapely.is_missing(a) & ~shapely.is_empty(a))
        if not len(usable) or not len(b):
            cut = [x[:0] if np.ndim(x) else x for x in per_b]
            return kernel(a[:0], b[:0], *cut, same=same, **kwargs)
        frame = gpd.GeoDataFrame({"a": usable}, geometry=a[usable])
        # each layer goes to the workers once per engine, whatever the rules that use it
        parts = self._run(_pairs_task, frame, kernel, same, kwargs, self._whole(a) if same else None, self._whole(b),
                          np.asarray(reach, dtype="float64"), *per_b, layer=a)
        return _concat_pairs(parts)


def _timed(task: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``task(*args)`` and the CPU seconds its worker process spent on it (all its threads)."""
    t = time.process_time()
    out = task(*args)
    return out, time.process_time() - t


def _worth_scattering(value: Any) -> bool:
    """Large arrays and frames go to every worker once (scatter); small values travel with the tasks."""
    return isinstance(value, np.ndarray | pd.DataFrame | pd.Series) and np.ndim(value) > 0 and len(value) > 1000


def _own_rows(part: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """A partition's rows in their order in the input, without the position column, and those positions."""
    part = part.sort_values(_POS, kind="stable")
    pos = part[_POS].to_numpy()
    return part.drop(columns=_POS).reset_index(drop=True), pos


def _sites_task(part: gpd.GeoDataFrame, func: Callable[..., Any], kwargs: dict, with_notices: bool,
                dtypes: pd.Series, *args: Any) -> tuple[Any, np.ndarray, list[tuple[float, Notice]]]:
    """One partition of :meth:`DaskEngine.map_sites` (runs on a worker)."""
    sites, pos = _own_rows(part)
    if not sites.dtypes.equals(dtypes):  # a cluster that converts text columns: back to the input's types
        sites = sites.astype(dtypes.to_dict())
    log = NoticeLog()
    out = func(sites, *args, **({**kwargs, "notices": log} if with_notices else kwargs))
    where = _feature_positions(sites, pos) if len(log) else {}
    return out, pos, [(where.get((n.layer, n.feature), where.get((None, n.feature), np.inf)), n) for n in log]


def _feature_positions(sites: pd.DataFrame, pos: np.ndarray) -> dict[tuple[Any, Any], int]:
    """(layer, feature) -> position in the input, with the feature as a notice shows it."""
    from .fields import LAYER, SITE_ID

    if SITE_ID in sites:
        layers, ids = sites[LAYER].to_numpy(dtype=object) if LAYER in sites else [None] * len(sites), \
            sites[SITE_ID].to_numpy(dtype=object)
    elif "id" in sites:
        layers, ids = [None] * len(sites), sites["id"].to_numpy(dtype=object)
    else:
        return {}
    out = {}
    for lay, fid, p in zip(layers, ids, pos, strict=True):
        shown = Problem(layer=lay or "", message="", feature=fid if fid is None else str(fid))
        out[(lay if lay is None else shown.layer, shown.feature)] = int(p)
    return out


def _merged_notices(parts: list[list[tuple[float, Notice]]]) -> list[Notice]:
    """The notices of every partition in the order of one call on the whole input.

    A step reports site by site, in blocks of one kind (same level and fix),
    each block in site order: so are the partitions' notices. The kinds are
    ordered as every partition saw them; within a kind, by site. A notice about
    no feature that several partitions repeat is kept once.
    """
    kinds: list[tuple] = []
    after: dict[tuple, set[tuple]] = {}
    for part in parts:
        seq = []
        for _, n in part:
            k = (n.level, n.fix)
            if not seq or seq[-1] != k:
                seq.append(k)
            if k not in after:
                after[k] = set()
                kinds.append(k)
        for i, k in enumerate(seq):
            after[k].update(x for x in seq[i + 1:] if x != k)
    # the kinds in an order every partition agrees with (first seen first where they do not say)
    rank: dict[tuple, int] = {}
    todo = list(kinds)
    while todo:
        free = [k for k in todo if not any(k in after[j] for j in todo if j != k)] or todo[:1]
        rank[free[0]] = len(rank)
        todo.remove(free[0])
    rows, seen = [], set()
    for i, part in enumerate(parts):
        for j, (p, n) in enumerate(part):
            if n.feature is None:
                key = (n.layer, n.message, n.field, n.fix, n.level)
                if key in seen:
                    continue
                seen.add(key)
            rows.append((rank[(n.level, n.fix)], p, i, j, n))
    rows.sort(key=lambda r: r[:4])
    return [r[4] for r in rows]


def _concat(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' tables as one, each column of the type one call on all rows would give it.

    A partition whose text column has no value at all (every site of it
    unassigned) gives that column as objects; the whole column is then
    inferred again from its values, as pandas infers it for one call.
    """
    full = [t for t in tables if len(t)] or tables[:1]
    out = pd.concat(full, ignore_index=True) if len(full) > 1 else full[0].reset_index(drop=True)
    for col in out.columns:
        if len({str(t[col].dtype) for t in full}) > 1:
            out[col] = pd.Series(np.asarray(out[col].to_numpy(dtype=object), dtype=object)).array
    return out


def _packed(geoms: np.ndarray) -> Any:
    """Geometries as a geopandas GeometryArray: it travels as one vectorised WKB (shapely objects one by one
    pickle about ten times slower); the same coordinates come back."""
    from geopandas.array import from_shapely

    return from_shapely(np.asarray(geoms, dtype=object))


def _unpacked(value: Any) -> Any:
    return np.asarray(value, dtype=object) if isinstance(value, gpd.array.GeometryArray) else value


def _pairs_task(part: gpd.GeoDataFrame, kernel: Callable[..., Any], same: bool, kwargs: dict,
                a_all: Any, b: Any, reach: np.ndarray, *per_b: Any) -> Any:
    """One partition of :meth:`DaskEngine.pairs` (runs on a worker): the kernel on the partition and its halo.

    The halo: the features of ``b`` whose box, grown by their ``reach`` (a hair
    more: it may hold more, never less), meets the partition's box. Returns the
    kernel's result with positions in the whole ``a`` and ``b``, its geometries
    packed for the way back (:func:`_packed`).
    """
    a_all, b = _unpacked(a_all), _unpacked(b)
    r = np.nan_to_num(np.broadcast_to(reach, (len(b),)), nan=0.0) * (1 + 1e-9) + 1e-6
    bounds = shapely.bounds(b)
    grown = np.column_stack([bounds[:, 0] - r, bounds[:, 1] - r, bounds[:, 2] + r, bounds[:, 3] + r])
    part = part.sort_values("a", kind="stable")
    own = part["a"].to_numpy()
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(part.geometry.values))
    halo = np.flatnonzero((grown[:, 0] <= x1) & (grown[:, 2] >= x0) & (grown[:, 1] <= y1) & (grown[:, 3] >= y0))
    if same:
        # the partition and its halo together, in their order in the layer; a pair is the partition's
        # when its first feature is (so a pair two partitions both see counts once)
        both = np.union1d(own, halo)
        res = kernel(a_all[both], b[both], *[x[both] if np.ndim(x) else x for x in per_b], same=True, **kwargs)
        ia, ib = both[res.index_a], both[res.index_b]
        keep = np.isin(ia, own)
    else:
        res = kernel(np.asarray(part.geometry.values, dtype=object), b[halo],
                     *[x[halo] if np.ndim(x) else x for x in per_b], same=False, **kwargs)
        ia, ib = own[res.index_a], halo[res.index_b]
        keep = np.ones(len(ia), dtype=bool)
    n = len(res.index_a)
    fields = {f: (v[keep] if isinstance(v, np.ndarray) and len(v) == n else v) for f, v in res._asdict().items()}
    fields.update(index_a=ia[keep], index_b=ib[keep])
    return type(res)(**{f: _packed(v) if isinstance(v, np.ndarray) and v.dtype == object else v
                        for f, v in fields.items()})


def _concat_pairs(parts: list[Any]) -> Any:
    """The partitions' pair results as one, ordered by ``index_a`` then ``index_b`` as the kernels order theirs."""
    parts = [type(p)(*(_unpacked(v) for v in p)) for p in parts]
    first = parts[0]
    index_a = np.concatenate([p.index_a for p in parts]).astype(np.intp, copy=False)
    index_b = np.concatenate([p.index_b for p in parts]).astype(np.intp, copy=False)
    order = np.lexsort((index_b, index_a))
    fields: dict[str, Any] = {}
    for f in first._fields:
        values = [getattr(p, f) for p in parts]
        if f in ("index_a", "index_b"):
            fields[f] = (index_a if f == "index_a" else index_b)[order]
        elif isinstance(values[0], np.ndarray):
            fields[f] = np.concatenate(values)[order]
        elif isinstance(values[0], bool | np.bool_):
            fields[f] = bool(any(values))
        else:  # None (a measure not asked for)
            fields[f] = values[0]
    return type(first)(**fields)
