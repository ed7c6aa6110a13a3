"""Benchmark of the siting rasterization beside its peers, measured in the same run (issue 15, item 4).

1e5 polygons (rectangles of 50-150 m, seeded) burnt by cell centre onto a 25 m
grid over 200 x 300 km (8,000 x 12,000 cells):

* ``Grid.rasterize`` (spatialprog.siting.grid): the vectorised shapely path,
  every polygon's bounding-box cells tested at once (``shapely.intersects_xy``
  on prepared polygons), in chunks;
* ``rasterio.features.rasterize`` on the shapely geometries (each converted
  to an OGR geometry one by one: that conversion is its cost);
* Debian's ``gdal_rasterize`` on the same polygons in a GeoPackage (the file
  is written untimed; the command's own reading and writing of a plain
  GeoTIFF are timed), when it is on PATH;
* GDAL's own ``gdal.RasterizeLayer`` on an in-memory layer, when the GDAL
  Python bindings are installed (``pip install GDAL`` builds against an
  installed libgdal, e.g. Debian's libgdal-dev; PyPI has no GDAL wheels).

Every path must give the same cells as rasterio (checked, printed). Then the
same polygons burnt by every cell they touch (the exclusion, the masks of the
distance surfaces): rasterio on the shapely geometries (``__geo_interface__``
per geometry) beside rasterio on :func:`spatialprog.siting.grid.geojson_shapes`
(one vectorised pass over the coordinates, polygons handed over in one
MultiPolygon, the garbage collector paused; what ``Grid.rasterize`` does), the
same cells checked.

Then the footprint search (``best_footprints``) on a window the size of a
national search area (1,000 x 1,000 cells of 25 m, a smooth suitability with
excluded patches, 12 angles, 15,000 m2) beside the plain correlation it
replaced (two :func:`scipy.ndimage.correlate` per angle over the whole window,
the best per group, the first cell row by row: the tests' ``reference``), the same
footprint checked. Then ``compute_siting`` on the example region.

Measured on the synthetic national regions (issue 13; 2 shared cores, CPU
seconds of ``compute_siting``, the siting stage of ``bench_national.py``):
1e4 sites 39.5 s before the two-pass search and the shared work across variants,
7.0 s after; 1e5 sites see ``bench_national.py --sites 100000``.

Run ``python benchmarks/bench_siting.py`` (``--n 10000`` for a quick look).
This is a benchmark, not a test: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialprog.siting.grid import Grid  # noqa: E402


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _polygons(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 200_000, n), rng.uniform(0, 300_000, n)
    w = rng.uniform(50, 150, n)
    return shapely.box(x, y, x + w, y + w * rng.uniform(0.5, 1.0, n))


def _gdal_cli(geoms: np.ndarray, grid: Grid, folder: Path) -> tuple[float, np.ndarray] | str:
    exe = shutil.which("gdal_rasterize")
    if exe is None:
        return "gdal_rasterize not on PATH (apt-get install gdal-bin)"
    import geopandas as gpd
    import rasterio

    src = folder / "polygons.gpkg"
    gpd.GeoDataFrame({"v": np.ones(len(geoms), dtype="uint8")}, geometry=geoms, crs="EPSG:28992").to_file(
        src, layer="p", driver="GPKG")
    dest = folder / "gdal.tif"
    minx, miny, maxx, maxy = grid.bounds
    cmd = [exe, "-q", "-burn", "1", "-te", str(minx), str(miny), str(maxx), str(maxy), "-tr", str(grid.cell_m),
           str(grid.cell_m), "-ot", "Byte", "-l", "p", str(src), str(dest)]
    dt, _ = _timed(lambda: subprocess.run(cmd, check=True, capture_output=True))
    with rasterio.open(dest) as ds:
        return dt, ds.read(1)


def _gdal_bindings(geoms: np.ndarray, grid: Grid) -> tuple[float, np.ndarray] | str:
    try:
        from osgeo import gdal, ogr, osr
    except ImportError:
        return "GDAL Python bindings not installed (pip install GDAL==$(gdal-config --version))"
    gdal.UseExceptions()

    def run():
        drv = ogr.GetDriverByName("Memory")
        ds = drv.CreateDataSource("m")
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(28992)
        layer = ds.CreateLayer("p", srs, ogr.wkbPolygon)
        defn = layer.GetLayerDefn()
        for wkb in shapely.to_wkb(geoms):
            f = ogr.Feature(defn)
            f.SetGeometry(ogr.CreateGeometryFromWkb(wkb))
            layer.CreateFeature(f)
        out = gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, gdal.GDT_Byte)
        out.SetGeoTransform(grid.transform.to_gdal())
        gdal.RasterizeLayer(out, [1], layer, burn_values=[1])
        return out.GetRasterBand(1).ReadAsArray()

    return _timed(run)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of polygons (default 1e5)")
    args = ap.parse_args(argv)
    from rasterio.features import rasterize

    grid = Grid.covering((0, 0, 200_000, 300_000), cell_m=25.0)
    geoms = _polygons(args.n)
    grid.rasterize(geoms[:100])  # warm-up: imports, first allocations
    rasterize([(g, 1) for g in geoms[:100]], out_shape=grid.shape, transform=grid.transform, dtype="uint8")
    print(f"{args.n:,} polygons on {grid.width:,} x {grid.height:,} cells of {grid.cell_m:g} m")
    t_ours, ours = _timed(lambda: grid.rasterize(geoms))
    t_rio, rio = _timed(lambda: rasterize([(g, 1) for g in geoms], out_shape=grid.shape, transform=grid.transform,
                                          dtype="uint8"))
    rows = [("spatialprog Grid.rasterize (vectorised shapely)", t_ours, ours),
            ("rasterio.features.rasterize (shapely geometries)", t_rio, rio)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, res in (("gdal_rasterize (GeoPackage -> GeoTIFF)", _gdal_cli(geoms, grid, Path(tmp))),
                          ("GDAL bindings RasterizeLayer (in memory)", _gdal_bindings(geoms, grid))):
            if isinstance(res, str):
                print(f"  {name:<50} skipped: {res}")
            else:
                rows.append((name, res[0], res[1]))
    gdal_t = next((t for n, t, _ in rows if n.startswith("gdal_rasterize")), None)
    for name, t, arr in rows:
        same = "same cells" if (arr == rio).all() else f"{int((arr != rio).sum()):,} cells differ"
        ratio = f"{t / gdal_t:.2f}x gdal_rasterize" if gdal_t else ""
        print(f"  {name:<50} {t:7.2f} s  {ratio:<22} {same}")

    print(f"the same {args.n:,} polygons, every cell they touch (all_touched)")
    t_geo, geo = _timed(lambda: rasterize([(g, 1) for g in geoms], out_shape=grid.shape, transform=grid.transform,
                                          all_touched=True, dtype="uint8"))
    t_fast, fast = _timed(lambda: grid.rasterize(geoms, all_touched=True))
    for name, t, arr in (("rasterio, shapely geometries (__geo_interface__)", t_geo, geo),
                         ("Grid.rasterize: rasterio on geojson_shapes", t_fast, fast)):
        same = "same cells" if (arr == geo).all() else f"{int((arr != geo).sum()):,} cells differ"
        print(f"  {name:<50} {t:7.2f} s  {t / t_geo:.2f}x __geo_interface__  {same}")

    _footprints()

    from spatialprog.pipeline import compute, read_plan
    from spatialprog.siting import compute_siting
    from spatialprog.workflow import ranking_of

    r = compute(read_plan(ROOT / "layers" / "example_region.toml"))
    rr = ranking_of(r)
    t, s = _timed(lambda: compute_siting(r, rr.programme))
    print(f"compute_siting on the example region ({s.grid.width:,} x {s.grid.height:,} cells, "
          f"{len(s.candidates)} candidates, all variants): {t:.2f} s")


def _footprints() -> None:
    from scipy import ndimage

    from spatialprog.siting.candidates import best_footprints

    # the search as first written, which the tests compare with
    sys.path.insert(0, str(ROOT / "tests"))
    from test_siting_candidates import reference

    rng = np.random.default_rng(1)
    g = Grid(x0=100_000.0, y0=500_000.0, cell_m=25.0, width=1000, height=1000)
    yy, xx = np.mgrid[0:1000, 0:1000]
    score = (0.6 * (1 - np.clip(np.hypot(yy - 300, xx - 650) / 400, 0, 1)) +
             0.4 * ndimage.uniform_filter(rng.random((1000, 1000)), size=41)).astype("float32")
    suitable = ndimage.uniform_filter(rng.random((1000, 1000)), size=9) < 0.53  # excluded patches
    kw = {"land_m2": 15_000.0, "aspect": 1.5, "angle_step_deg": 15.0}
    best_footprints(g, suitable[:50, :50], score[:50, :50], **kw)  # warm-up: kernels, imports
    t_new, new = _timed(lambda: best_footprints(g, suitable, score, **kw))
    t_old, old = _timed(lambda: reference(g, suitable, score, **kw))
    ours = [(c["score"], c["angle_deg"], c["_cell"]) for c in new]
    old = [(c["score"], c["angle_deg"], c["_cell"]) for c in old]
    print(f"footprint search, {g.width:,} x {g.height:,} cells, {int(suitable.sum()):,} suitable, 12 angles, "
          f"{len(new)} groups with a footprint")
    print(f"  {'ndimage.correlate per angle (as first written)':<50} {t_old:7.2f} s")
    same = "same footprints" if ours == old else "DIFFERENT footprints"
    print(f"  {'best_footprints (two passes, tiles)':<50} {t_new:7.2f} s  {t_old / t_new:5.1f}x faster  "
          f"{same} (best: score {ours[0][0]:.9f}, {ours[0][1]:g} deg, cell {ours[0][2]})")


if __name__ == "__main__":
    main()
