"""The Dask engine answers as one machine does: every output of a run, byte for byte (issue 13, item 5).

``spatialprog run`` on the example region and on a generated region of 2,000
sites, once with ``[compute] engine = "local"`` and once with ``engine = "dask"``
(a LocalCluster of 2 worker processes). Each heavy step runs on at least 2
spatial partitions; the tests check that sites reach into another partition's
area and that conflict pairs join features of different partitions, so the
comparison has something to catch. Without dask, or with a scheduler nobody
runs, the run stops with one line.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from spatialprog import distributed as D
from spatialprog.cli import cli
from spatialprog.config import project_from_dict
from spatialprog.conflicts.kernels import inside_pairs, overlap_pairs, pairs_within_distance
from spatialprog.errors import ProjectError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

needs_dask = pytest.mark.skipif(importlib.util.find_spec("dask_geopandas") is None
                                or importlib.util.find_spec("distributed") is None,
                                reason="dask[distributed] and dask-geopandas are not installed "
                                       "(pip install 'spatialprog[dask]'; the test extra has them)")
#: files that name the project file they came from (its path and checksum); their tables are compared instead
NAMES_THE_PROJECT = {"manifest.json", "spatialprog.qgz", "spatialprog.gpkg"}
#: rules of a layer with itself (none of the bundled rules is): pairs that two partitions both see
SAME_LAYER_RULES = (
    '{ rule_id = "T01", layer_a = "housing_sites", layer_b = "housing_sites", kind = "within_distance", '
    'distance_m = 1500, severity = "laag", description_nl = "Twee woningbouwlocaties dicht bij elkaar (test)" }, '
    '{ rule_id = "T02", layer_a = "housing_sites", layer_b = "housing_sites", kind = "overlap", '
    'severity = "laag", description_nl = "Woningbouwlocaties overlappen (test)" },'
)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], obj={}, catch_exceptions=False)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes, shared by the tests that name its scheduler."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture
def steps(monkeypatch):
    """Every heavy step the Dask engine runs: its function, input, partitions and their answers."""
    seen = []
    run = D.DaskEngine._run

    def spy(self, task, frame, *shared, **kw):
        out = run(self, task, frame, *shared, **kw)
        seen.append({"step": shared[0].__name__, "frame": frame, "out": out, "same": shared[1] is True,
                     "parts": self.partition_positions(np.asarray(frame.geometry.values))})
        return out

    monkeypatch.setattr(D.DaskEngine, "_run", spy)
    return seen


def example_project(folder: Path, name: str, compute: str) -> Path:
    """The example region's project in ``folder``, with two same-layer rules and a ``[compute]`` table."""
    folder.mkdir(parents=True, exist_ok=True)
    for layer_file in ("example_region.gpkg", "laadpleinen.geojson", "example_province.geojson"):
        if not (folder / layer_file).exists():
            shutil.copy(ROOT / "layers" / layer_file, folder / layer_file)
    text = (ROOT / "layers" / "example_region.toml").read_text(encoding="utf-8")
    anchor = '{ rule_id = "R07", severity = "laag" },'
    assert anchor in text  # the overrides the same-layer rules join
    text = text.replace(anchor, anchor + "\n  " + SAME_LAYER_RULES)
    toml = folder / f"{name}.toml"
    toml.write_text(text + f"\n[compute]\n{compute}\n", encoding="utf-8")
    return toml


def assert_same_outputs(a: Path, b: Path) -> None:
    """Every file of run ``a`` equals that of run ``b``: byte for byte, or layer by layer where it names the project."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert sum(n.endswith(".csv") for n in names) >= 10
    for name in names:
        if name.endswith(".gpkg"):
            layers = [n for n, _ in pyogrio.list_layers(a / name)]
            assert layers == [n for n, _ in pyogrio.list_layers(b / name)], name
            for layer in layers:
                x = pyogrio.read_dataframe(a / name, layer=layer)
                y = pyogrio.read_dataframe(b / name, layer=layer)
                assert x.equals(y), f"{name}, layer {layer}"
        if name not in NAMES_THE_PROJECT:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def assert_partitions_matter(steps: list[dict]) -> None:
    """Each heavy step ran in >= 2 partitions; sites reach into other partitions; pairs cross partitions."""
    by_step = {}
    for s in steps:
        by_step.setdefault(s["step"], []).append(s)
    for name, calls in by_step.items():
        assert max(len(s["parts"]) for s in calls) >= 2, name
    assert {"assign_sites", "heat_network_share", "overlap_pairs", "inside_pairs", "pairs_within_distance"} \
        <= set(by_step)
    # a site reaching into the area of another partition (the hull of its sites' centres)
    (assign,) = by_step["assign_sites"]
    geoms = np.asarray(assign["frame"].geometry.values)
    hulls = [shapely.convex_hull(shapely.multipoints(shapely.centroid(geoms[p]))) for p in assign["parts"]]
    straddle = [i for k, p in enumerate(assign["parts"]) for i in p
                if shapely.area(geoms[i]) > 0 and any(shapely.intersects(geoms[i], h)
                                                     for j, h in enumerate(hulls) if j != k)]
    assert straddle
    # a pair of a same-layer rule whose features lie in different partitions (seen by both, counted once)
    crossing = 0
    for s in (s for s in steps if s["same"]):
        a = s["frame"]["a"].to_numpy()  # the partitioned features' positions in the layer
        ia = np.concatenate([r.index_a for r in s["out"]])  # each partition's pairs, positions in the layer
        ib = np.concatenate([r.index_b for r in s["out"]])
        part_of = np.full(int(max(a.max(), ib.max(initial=0))) + 1, -1)
        for k, p in enumerate(s["parts"]):
            part_of[a[p]] = k
        crossing += int(np.sum(part_of[ia] != part_of[ib]))
    assert crossing


@needs_dask
def test_the_example_region_runs_the_same_on_dask(tmp_path, steps):
    local = example_project(tmp_path / "project", "local", 'engine = "local"')
    dask = example_project(tmp_path / "project", "dask", 'engine = "dask"\nworkers = 2\npartitions = 4')
    for toml, out in ((local, tmp_path / "local"), (dask, tmp_path / "dask")):
        r = invoke("run", toml, "--out", out, "--no-maps")
        assert r.exit_code == 0, r.output
    assert steps and all(len(s["parts"]) == min(4, len(s["frame"])) for s in steps)  # through the cluster
    assert_partitions_matter(steps)
    assert_same_outputs(tmp_path / "local", tmp_path / "dask")
    assert "\nT01:" in (tmp_path / "dask" / "conflicts.csv").read_text(encoding="utf-8")


@needs_dask
def test_a_generated_region_runs_the_same_on_a_running_scheduler(tmp_path, cluster, steps):
    import make_national_region

    toml = make_national_region.write(tmp_path / "region", 2000)
    text = toml.read_text(encoding="utf-8")
    assert "[conflicts]\nenabled = true\n" in text
    text = text.replace("[conflicts]\nenabled = true\n", f"[conflicts]\nenabled = true\noverrides = [{SAME_LAYER_RULES}]\n")
    # the suitability grid at the region's size (the default 25 m cells would be 1e8 of them)
    text += '\n[parameters]\n"siting.cell_size_m" = 1000\n'
    local = toml.with_name("local.toml")
    local.write_text(text, encoding="utf-8")
    dask = toml.with_name("dask.toml")
    dask.write_text(text + f'\n[compute]\nengine = "dask"\nscheduler = "{cluster.scheduler_address}"\n'
                    f'partitions = 8\n', encoding="utf-8")
    for project, out in ((local, tmp_path / "local"), (dask, tmp_path / "dask")):
        r = invoke("run", project, "--out", out, "--no-maps", "--no-qgis")
        assert r.exit_code == 0, r.output
    assert steps and all(len(s["parts"]) == min(8, len(s["frame"])) for s in steps)
    assert_partitions_matter(steps)
    assert_same_outputs(tmp_path / "local", tmp_path / "dask")


@needs_dask
@pytest.mark.parametrize("kernel, per_b, kw", [
    (overlap_pairs, (), {}),
    (inside_pairs, (), {}),
    (pairs_within_distance, (np.linspace(0.0, 300.0, 400),), {"with_distance": True}),
])
@pytest.mark.parametrize("same", [False, True])
def test_pairs_per_partition_equal_the_kernel_on_everything(cluster, kernel, per_b, kw, same):
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 5000, (400, 2))
    a = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + rng.uniform(1, 600, 400), xy[:, 1] + rng.uniform(1, 600, 400))
    a[::5] = shapely.points(xy[::5])  # points among the polygons
    b = a if same else shapely.buffer(a[::-1], 40.0)
    reach = per_b[0] if per_b else 0.0
    want = kernel(a, b, *per_b, same=same, **kw)
    with D.DaskEngine(scheduler=cluster.scheduler_address, partitions=6) as engine:
        got = engine.pairs(kernel, a, b, *per_b, same=same, reach=reach, **kw)
        parts = engine.partition_positions(a)
    assert len(want.index_a) > 100
    part_of = np.empty(len(a), dtype=int)
    for k, p in enumerate(parts):
        part_of[p] = k
    if same:
        assert (part_of[want.index_a] != part_of[want.index_b]).any()
    assert type(got) is type(want)
    for name, x, y in zip(want._fields, want, got, strict=True):
        if isinstance(x, np.ndarray) and x.dtype == object:
            assert shapely.equals_exact(x, y, tolerance=0).all() and (shapely.to_wkb(x) == shapely.to_wkb(y)).all(), \
                name
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        else:
            assert x == y, name


@needs_dask
def test_sites_per_partition_keep_their_order_and_notices(cluster):
    from spatialprog.errors import NoticeLog
    from spatialprog.network import assign_sites

    rng = np.random.default_rng(3)
    n = 600
    xy = rng.uniform(0, 10_000, (n, 2))
    geoms = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + rng.uniform(1, 900, n), xy[:, 1] + rng.uniform(1, 900, n))
    geoms[::3] = shapely.points(xy[::3])
    # the layers out of their sorted order, ids not sorted: the table is sorted back by layer and site id
    sites = gpd.GeoDataFrame({"layer": np.where(np.arange(n) % 2, "housing_sites", "charging_hubs"),
                              "site_id": [f"S{(7 * i) % n}" for i in range(n)]}, geometry=geoms, crs=28992)
    subs = gpd.GeoDataFrame({"id": [f"OS{i:02d}" for i in range(12)]},
                            geometry=shapely.points(rng.uniform(0, 10_000, (12, 2))), crs=28992)
    tiles = [shapely.box(i * 2500, j * 3000, (i + 1) * 2500, (j + 1) * 3000) for i in range(4) for j in range(3)]
    areas = gpd.GeoDataFrame({"id": [f"SA{i}" for i in range(12)], "substation_id": [f"OS{(5 * i) % 12:02d}"
                              for i in range(12)]}, geometry=tiles, crs=28992)  # 9,000 m high: sites stick out
    kw = {"method": "service_areas", "max_distance_m": 400.0, "outside": "nearest"}
    want_log, got_log = NoticeLog(), NoticeLog()
    want = assign_sites(sites, subs, areas, notices=want_log, **kw)
    with D.DaskEngine(scheduler=cluster.scheduler_address, partitions=5) as engine:
        got = engine.map_sites(assign_sites, sites, subs, areas, notices=got_log, sorted_by=["layer", "site_id"],
                               **kw)
    kinds = {n.fix for n in want_log}
    assert len(kinds) == 2 and (want["share"] < 1).sum() > 10  # both kinds of notice, and split sites
    assert got.equals(want) and list(got.dtypes) == list(want.dtypes)
    assert [str(x) for x in got_log] == [str(x) for x in want_log]


def test_the_compute_table_is_checked():
    base = {"layers": {"substations": {"path": "x.gpkg"}}}
    assert project_from_dict(base).compute.engine == "local"
    c = project_from_dict({**base, "compute": {"engine": "dask", "workers": 2, "partitions": 8}}).compute
    assert (c.engine, c.scheduler, c.workers, c.partitions) == ("dask", None, 2, 8)
    for table, says in [({"engine": "spark"}, "compute.engine: Input should be 'local' or 'dask'"),
                        ({"engine": "dask", "worker": 2}, "compute.worker: unknown key 'worker'"),
                        ({"workers": 2}, 'workers is used by engine = "dask" only'),
                        ({"engine": "dask", "scheduler": "tcp://h:8786", "workers": 2}, "remove workers or scheduler"),
                        ({"engine": "dask", "scheduler": "my laptop"}, "give it as tcp://host:8786"),
                        ({"engine": "dask", "partitions": 0}, "compute.partitions")]:
        with pytest.raises(ProjectError, match=None) as e:
            project_from_dict({**base, "compute": table})
        assert says in str(e.value) and "\n" not in str(e.value), table


def test_without_dask_the_run_says_how_to_install_it(tmp_path, monkeypatch):
    toml = example_project(tmp_path, "dask", 'engine = "dask"')
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)  # import dask_geopandas now fails
    r = invoke("run", toml, "--out", tmp_path / "out", "--no-maps", "--no-qgis")
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "compute.engine" in lines[0] and "pip install 'spatialprog[dask]'" in lines[0]
    assert not (tmp_path / "out").exists()


@needs_dask
def test_a_scheduler_nobody_runs_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "CONNECT_TIMEOUT_S", 2.0)
    toml = example_project(tmp_path, "dask", 'engine = "dask"\nscheduler = "tcp://127.0.0.1:9"')
    r = invoke("run", toml, "--out", tmp_path / "out", "--no-maps", "--no-qgis")
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "tcp://127.0.0.1:9" in lines[0] and "dask scheduler" in lines[0] and "remove scheduler" in lines[0]


@needs_dask
def test_check_site_answers_on_this_machine_whatever_the_engine(tmp_path, monkeypatch):
    """check-site reads the cut near the site and computes it here: a project pointing at a scheduler nobody runs
    gives the same answer as the local project (a cluster for a few thousand features only slows it down)."""
    monkeypatch.setattr(D, "CONNECT_TIMEOUT_S", 2.0)
    site = ["186150,437150", "--radius", "150", "--dwellings", "100", "--heating", "all_electric",
            "--start-year", "2027", "--json", "--no-cache"]
    local = invoke("check-site", example_project(tmp_path / "l", "local", 'engine = "local"'), *site)
    dask = invoke("check-site", example_project(tmp_path / "d", "dask",
                                                'engine = "dask"\nscheduler = "tcp://127.0.0.1:9"'), *site)
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    assert '"verdict' in local.output
    assert dask.output.replace("dask.toml", "X").replace(str(tmp_path / "d"), "F") == \
        local.output.replace("local.toml", "X").replace(str(tmp_path / "l"), "F")


@needs_dask
def test_the_conflicts_command_runs_on_the_projects_engine(tmp_path, cluster, monkeypatch):
    """``spatialprog conflicts`` uses [compute] as ``spatialprog run`` does: on the running scheduler it writes the
    same tables as on one machine, and a scheduler nobody runs is its one-line error."""
    monkeypatch.setattr(D, "CONNECT_TIMEOUT_S", 2.0)
    local = example_project(tmp_path / "l", "local", 'engine = "local"')
    on = example_project(tmp_path / "d", "dask", f'engine = "dask"\nscheduler = "{cluster.scheduler_address}"\n'
                                                 'partitions = 4')
    nobody = example_project(tmp_path / "n", "nobody", 'engine = "dask"\nscheduler = "tcp://127.0.0.1:9"')
    for toml, out in ((local, tmp_path / "out-l"), (on, tmp_path / "out-d")):
        r = invoke("conflicts", toml, "--out", out)
        assert r.exit_code == 0, r.output
    for name in ("conflicts.csv", "conflict_matrix.csv"):
        assert (tmp_path / "out-d" / name).read_bytes() == (tmp_path / "out-l" / name).read_bytes()
    assert b"T01" in (tmp_path / "out-l" / "conflicts.csv").read_bytes()  # the same-layer rules found pairs
    r = CliRunner().invoke(cli, ["conflicts", str(nobody), "--out", str(tmp_path / "out-n")], obj={})
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "tcp://127.0.0.1:9" in lines[0] and "dask scheduler" in lines[0]
    assert not (tmp_path / "out-n").exists()
