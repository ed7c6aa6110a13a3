"""The raster grid of the siting surfaces: aligned to round coordinates, rasterized in memory.

A :class:`Grid` covers a region's bounds (grown by a margin) with square cells
whose edges lie on whole multiples of the cell size in the working CRS
(EPSG:28992), so two runs, two projects and the QGIS layers line up cell for
cell. Row 0 is the northern row (the GeoTIFF convention). Everything here is
pure: geometries in, arrays out (:func:`rasterio.features.rasterize` on
in-memory shapes, no files).

Examples
--------
>>> g = Grid.covering((100010.0, 400020.0, 100090.0, 400060.0), cell_m=25.0)
>>> (g.x0, g.y0, g.width, g.height)
(100000.0, 400075.0, 4, 3)
>>> g.transform
Affine(25.0, 0.0, 100000.0,
       0.0, -25.0, 400075.0)
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine

from ..errors import ProjectError

__all__ = ["Grid"]

#: bytes of one float32 surface cell (the size a refused grid would take, per surface)
_CELL_BYTES = 4

#: a polygon whose bounding box holds more cells is burnt by GDAL and checked only near its boundary
_LARGE_CELLS = 1 << 16


@dataclass(frozen=True)
class Grid:
    """A north-up grid of square cells.

    Attributes
    ----------
    x0, y0 : float
        West and north edge (m), whole multiples of ``cell_m``.
    cell_m : float
        Cell size (m).
    width, height : int
        Columns and rows.
    """

    x0: float
    y0: float
    cell_m: float
    width: int
    height: int

    @classmethod
    def covering(cls, bounds: Sequence[float], *, cell_m: float, margin_m: float = 0.0,
                 max_cells: float | None = None) -> Grid:
        """The aligned grid that covers ``bounds`` grown by ``margin_m``.

        Parameters
        ----------
        bounds : sequence of float
            ``(minx, miny, maxx, maxy)`` in the working CRS.
        cell_m : float
            Cell size (m), > 0.
        margin_m : float
        max_cells : float, optional
            Refuse a grid with more cells (``siting.max_cells``).

        Raises
        ------
        ProjectError
            For a cell size <= 0, or more cells than ``max_cells`` (with the
            count and the memory a surface would take).
        """
        if not (cell_m > 0 and math.isfinite(cell_m)):
            raise ProjectError(f"siting.cell_size_m must be a number > 0 (m), got {cell_m!r} - e.g. 25")
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        x0 = math.floor((minx - margin_m) / cell_m) * cell_m
        y1 = math.floor((miny - margin_m) / cell_m) * cell_m
        x1 = math.ceil((maxx + margin_m) / cell_m) * cell_m
        y0 = math.ceil((maxy + margin_m) / cell_m) * cell_m
        width = max(int(round((x1 - x0) / cell_m)), 1)
        height = max(int(round((y0 - y1) / cell_m)), 1)
        n = width * height
        if max_cells is not None and n > max_cells:
            gb = n * _CELL_BYTES / 1e9
            raise ProjectError(
                f"siting.cell_size_m = {cell_m:g}: the grid over the region would have {n:,} cells "
                f"({width:,} x {height:,}; {gb:.1f} GB per surface as float32), more than siting.max_cells = "
                f"{max_cells:,.0f} - choose a larger cell size")
        return cls(x0=float(x0), y0=float(y0), cell_m=float(cell_m), width=width, height=height)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return self.height, self.width

    @property
    def transform(self) -> Affine:
        """The affine transform of the GeoTIFF (north-up)."""
        return Affine(self.cell_m, 0.0, self.x0, 0.0, -self.cell_m, self.y0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)``."""
        return (self.x0, self.y0 - self.height * self.cell_m, self.x0 + self.width * self.cell_m, self.y0)

    @property
    def cell_area_m2(self) -> float:
        return self.cell_m * self.cell_m

    def centre(self, row: np.ndarray | int, col: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of cell centres."""
        return (self.x0 + (np.asarray(col) + 0.5) * self.cell_m, self.y0 - (np.asarray(row) + 0.5) * self.cell_m)

    def window(self, geom: shapely.Geometry) -> tuple[slice, slice]:
        """The row and column slices of the cells a geometry's bounding box touches (clipped to the grid)."""
        minx, miny, maxx, maxy = geom.bounds
        c0 = max(int(math.floor((minx - self.x0) / self.cell_m)), 0)
        c1 = min(int(math.ceil((maxx - self.x0) / self.cell_m)), self.width)
        r0 = max(int(math.floor((self.y0 - maxy) / self.cell_m)), 0)
        r1 = min(int(math.ceil((self.y0 - miny) / self.cell_m)), self.height)
        return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))

    def sub(self, rows: slice, cols: slice) -> Grid:
        """The grid of a window (``rows``, ``cols`` as from :meth:`window`)."""
        return Grid(x0=self.x0 + cols.start * self.cell_m, y0=self.y0 - rows.start * self.cell_m, cell_m=self.cell_m,
                    width=cols.stop - cols.start, height=rows.stop - rows.start)

    def resample(self, arr: np.ndarray, fine: Grid) -> np.ndarray:
        """``arr`` (on this grid) at the cells of ``fine``: the value of the cell each fine cell centre lies in.

        Examples
        --------
        >>> c = Grid(x0=0.0, y0=200.0, cell_m=100.0, width=2, height=2)
        >>> f = Grid(x0=50.0, y0=150.0, cell_m=50.0, width=2, height=2)
        >>> c.resample(np.array([[1.0, 2.0], [3.0, 4.0]]), f).tolist()
        [[1.0, 2.0], [3.0, 4.0]]
        """
        x, y = fine.centre(np.arange(fine.height), np.arange(fine.width))
        ci = np.clip(np.floor((x - self.x0) / self.cell_m).astype(np.int64), 0, self.width - 1)
        ri = np.clip(np.floor((self.y0 - y) / self.cell_m).astype(np.int64), 0, self.height - 1)
        if not len(ri) or not len(ci):
            return arr[np.ix_(ri, ci)]
        # both indices run up in steps of 0 or 1 (west to east, north to south): each cell of the window
        # repeated over the fine cells in it, which is arr[np.ix_(ri, ci)] without a gather per cell
        rows = np.repeat(arr[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1], np.bincount(ri - ri[0]), axis=0)
        return np.repeat(rows, np.bincount(ci - ci[0]), axis=1)

    def rasterize(self, geoms: Sequence[shapely.Geometry] | np.ndarray, values: Sequence[float] | None = None, *,
                  all_touched: bool = False, add: bool = False, dtype: str = "uint8") -> np.ndarray:
        """Burn geometries into an array of the grid's shape (in memory).

        Polygons burnt by their cell centres, the same value each or summed
        (``add``), take the vectorised path (:meth:`_burn_centres`: shapely
        over every polygon's cells at once, no geometry converted one by one);
        the rest goes through :func:`rasterio.features.rasterize`.

        Parameters
        ----------
        geoms : sequence of shapely geometries
            Missing and empty geometries are skipped.
        values : sequence of float, optional
            The value burnt per geometry (default 1).
        all_touched : bool
            Every cell a geometry touches (default: cells whose centre it covers;
            lines and points always burn the cells they pass).
        add : bool
            Sum overlapping values (default: the last one wins).
        dtype : str

        Returns
        -------
        ndarray

        Examples
        --------
        >>> g = Grid(x0=0.0, y0=100.0, cell_m=25.0, width=4, height=4)
        >>> g.rasterize([shapely.box(0, 50, 50, 100), shapely.box(30, 0, 60, 30)]).tolist()
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]
        """
        arr = np.asarray(geoms, dtype=object)
        vals = np.ones(len(arr)) if values is None else np.asarray(values, dtype="float64")
        keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if len(arr) else np.zeros(0, bool)
        if not keep.any():
            return np.zeros(self.shape, dtype=dtype)
        arr, vals = arr[keep], vals[keep]
        polygonal = np.isin(shapely.get_type_id(arr), (3, 6)).all()
        if polygonal and not all_touched and (add or np.unique(vals).size == 1):
            return self._burn_centres(arr, vals, add=add, dtype=dtype)
        from rasterio.enums import MergeAlg

        return _gdal_burn(arr, vals, self, all_touched=all_touched, merge_alg=MergeAlg.add if add else MergeAlg.replace,
                          dtype=dtype)

    def _burn_centres(self, geoms: np.ndarray, values: np.ndarray, *, add: bool, dtype: str,
                      max_pairs: int = 4_000_000) -> np.ndarray:
        """Burn polygons by cell centre, vectorised (:meth:`centre_cells`), each value once or summed."""
        return self.burn_cells(self.centre_cells(geoms, max_pairs=max_pairs), values, add=add, dtype=dtype)

    def centre_cells(self, geoms: np.ndarray, *, max_pairs: int = 4_000_000) -> list[tuple[np.ndarray, np.ndarray]]:
        """The cells whose centre each polygon covers, every (polygon, cell in its bounding box) pair at once.

        The pairs are tested with :func:`shapely.intersects_xy` (a centre on the boundary counts, as
        GDAL counts it) in chunks of at most ``max_pairs``. A polygon whose bounding box holds more
        than ``_LARGE_CELLS`` cells (a search area) is tested only where its boundary passes
        (:meth:`_large_hits`); its cells join the chunk's in the same order, so sums add up in the
        same order either way.

        Returns
        -------
        list of (ndarray, ndarray)
            Per chunk of polygons: the flat index of each cell covered and the polygon covering it
            (its position in ``geoms``), polygon by polygon, each row by row. :meth:`burn_cells` burns
            values on them, as often as asked, without testing a cell again.
        """
        b = shapely.bounds(geoms)
        c0 = np.clip(np.floor((b[:, 0] - self.x0) / self.cell_m - 0.5).astype(np.int64) + 1, 0, self.width)
        c1 = np.clip(np.floor((b[:, 2] - self.x0) / self.cell_m - 0.5).astype(np.int64), -1, self.width - 1)
        r0 = np.clip(np.floor((self.y0 - b[:, 3]) / self.cell_m - 0.5).astype(np.int64) + 1, 0, self.height)
        r1 = np.clip(np.floor((self.y0 - b[:, 1]) / self.cell_m - 0.5).astype(np.int64), -1, self.height - 1)
        nc, nr = np.maximum(c1 - c0 + 1, 0), np.maximum(r1 - r0 + 1, 0)
        k = nc * nr
        shapely.prepare(geoms)
        ends = np.cumsum(k)
        chunks = []
        i = 0
        while i < len(geoms):  # chunks of whole polygons, at most max_pairs pairs (one huge polygon alone)
            j = max(int(np.searchsorted(ends, (ends[i - 1] if i else 0) + max_pairs, side="right")), i + 1)
            large = np.arange(i, j)[k[i:j] > _LARGE_CELLS]
            kk = np.where(k[i:j] > _LARGE_CELLS, 0, k[i:j])
            idx = np.repeat(np.arange(i, j), kk)
            off = np.arange(int(kk.sum())) - np.repeat(np.cumsum(kk) - kk, kk)
            rr, cc = r0[idx] + off // nc[idx], c0[idx] + off % nc[idx]
            x, y = self.x0 + (cc + 0.5) * self.cell_m, self.y0 - (rr + 0.5) * self.cell_m
            hit = shapely.intersects_xy(geoms[idx], x, y)
            flat, owner = rr[hit] * self.width + cc[hit], idx[hit]
            if len(large):
                parts = [self._large_hits(geoms[q], int(r0[q]), int(r1[q]), int(c0[q]), int(c1[q])) for q in large]
                owner = np.concatenate([owner, *(np.full(len(h), q) for q, h in zip(large, parts, strict=True))])
                order = np.argsort(owner, kind="stable")  # polygon by polygon, each row by row: as the pairs come
                flat, owner = np.concatenate([flat, *parts])[order], owner[order]
            chunks.append((flat, owner))
            i = j
        shapely.destroy_prepared(geoms)
        return chunks

    def burn_cells(self, cells: list[tuple[np.ndarray, np.ndarray]], values: np.ndarray, *, add: bool,
                   dtype: str) -> np.ndarray:
        """Burn ``values`` (one per polygon) on the cells of :meth:`centre_cells`: summed (``add``, chunk by
        chunk, each in its pairs' order) or the first value on every cell covered."""
        out = np.zeros(self.shape, dtype="float64" if add else dtype)
        for flat, owner in cells:
            if add:
                out += np.bincount(flat, weights=values[owner], minlength=out.size).reshape(self.shape)
            else:
                out.ravel()[flat] = values[0]
        return out.astype(dtype, copy=False)

    def _large_hits(self, geom: shapely.Geometry, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The flat indices (row by row) of the cells of rows ``r0..r1``, columns ``c0..c1`` whose centre ``geom`` covers.

        GDAL fills the polygon by cell centre (:func:`rasterio.features.rasterize`); the cells its
        boundary passes through and their neighbours are tested again exactly with
        :func:`shapely.intersects_xy`, so the result is the pairwise test's: only a centre on or
        next to the boundary can come out differently between the two, and a cell one cell away from
        every cell the boundary touches is inside or outside beyond doubt.
        """
        from rasterio.enums import MergeAlg
        from scipy import ndimage

        win = Grid(x0=self.x0 + c0 * self.cell_m, y0=self.y0 - r0 * self.cell_m, cell_m=self.cell_m,
                   width=c1 - c0 + 1, height=r1 - r0 + 1)
        inside = _gdal_burn(np.array([geom], dtype=object), np.ones(1), win, all_touched=False,
                            merge_alg=MergeAlg.replace, dtype="uint8").astype(bool)
        edge = _gdal_burn(np.array([shapely.boundary(geom)], dtype=object), np.ones(1), win, all_touched=True,
                          merge_alg=MergeAlg.replace, dtype="uint8")
        rr, cc = np.nonzero(ndimage.binary_dilation(edge.astype(bool), structure=np.ones((3, 3), dtype=bool)))
        x, y = win.centre(rr, cc)
        inside[rr, cc] = shapely.intersects_xy(geom, x, y)
        wr, wc = np.nonzero(inside)
        return (wr + r0) * self.width + (wc + c0)


def _gdal_burn(geoms: np.ndarray, values: np.ndarray, grid: Grid, *, all_touched: bool, merge_alg,
               dtype: str) -> np.ndarray:
    """:func:`rasterio.features.rasterize` of ``geoms`` on ``grid``, the shapes from :func:`geojson_shapes`.

    The garbage collector stays off until the shapes are gone again: the millions of coordinate
    tuples are then freed before it would have traversed them (it counts the frees too), instead
    of being traversed, with the whole heap, a few times over while they are built.
    """
    from rasterio.features import rasterize

    with _gc_paused():
        shapes = geojson_shapes(geoms, values)
        out = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0, all_touched=all_touched,
                        merge_alg=merge_alg, dtype=dtype)
        del shapes
    return out


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while: millions of coordinate tuples make no cycles to find."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def geojson_shapes(geoms: np.ndarray, values: np.ndarray) -> list[tuple[dict, float]]:
    """``(GeoJSON-like mapping, value)`` per geometry, as :func:`rasterio.features.rasterize` takes them.

    The same coordinates, rings and parts, in the same order, as rasterio builds
    from each geometry's ``__geo_interface__``, so GDAL burns the same cells; but
    the coordinates come out of shapely in one vectorised call per kind instead
    of a Python loop over every vertex. Polygons in a row with the same value
    (a MultiPolygon's parts among them) go as one MultiPolygon, which rasterio
    splits into those polygons again and burns one by one, in order: it checks
    each shape it is given in Python, so one check instead of one per polygon.
    Geometries with Z and collections take ``__geo_interface__``.

    Examples
    --------
    >>> geojson_shapes(np.array([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)]), np.array([1.0, 2.0]))[0]
    ({'type': 'Point', 'coordinates': (1.0, 2.0)}, 1.0)
    >>> shape, value = geojson_shapes(np.array([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]), np.ones(2))[0]
    >>> shape["type"], shape["coordinates"][1], value
    ('MultiPolygon', [[(3.0, 0.0), (3.0, 1.0), (2.0, 1.0), (2.0, 0.0), (3.0, 0.0)]], 1.0)
    """
    geoms = np.asarray(geoms, dtype=object)
    vals = [float(v) for v in np.asarray(values, dtype="float64")]
    types = shapely.get_type_id(geoms)
    types = np.where(shapely.has_z(geoms), -2, types)
    items: list[list[dict]] = [[] for _ in range(len(geoms))]

    def split(parts: np.ndarray) -> list[list[tuple[float, float]]]:
        """The coordinates of each linear part as a list of ``(x, y)`` tuples."""
        n = shapely.get_num_coordinates(parts)
        flat = shapely.get_coordinates(parts).ravel().tolist()
        xy = list(zip(flat[0::2], flat[1::2], strict=True))
        ends = np.cumsum(n).tolist()
        return [xy[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    sel = np.flatnonzero(np.isin(types, (3, 6)))  # polygons, and multipolygons as their polygons
    if len(sel):
        polys, owner = shapely.get_parts(geoms[sel], return_index=True)
        full = ~shapely.is_empty(polys)  # an empty part burns nothing
        polys, owner = polys[full], owner[full]
        rings, ring_of = shapely.get_rings(polys, return_index=True)
        per_poly: list[list] = [[] for _ in range(len(polys))]
        for p, coords in zip(ring_of.tolist(), split(rings), strict=True):
            per_poly[p].append(coords)
        for g, coords in zip(sel[owner].tolist(), per_poly, strict=True):
            items[g].append({"type": "Polygon", "coordinates": coords})
    for tid, name in ((1, "LineString"), (2, "LinearRing"), (4, "MultiPoint")):
        sel = np.flatnonzero(types == tid)
        for g, coords in zip(sel.tolist(), split(geoms[sel]) if len(sel) else [], strict=True):
            items[g].append({"type": name, "coordinates": coords})
    sel = np.flatnonzero(types == 5)
    if len(sel):
        lines, owner = shapely.get_parts(geoms[sel], return_index=True)
        per_geom: list[list] = [[] for _ in range(len(sel))]
        for o, coords in zip(owner.tolist(), split(lines), strict=True):
            per_geom[o].append(coords)
        for g, coords in zip(sel.tolist(), per_geom, strict=True):
            items[g].append({"type": "MultiLineString", "coordinates": coords})
    sel = np.flatnonzero(types == 0)
    if len(sel):
        flat = shapely.get_coordinates(geoms[sel]).ravel().tolist()
        for g, x, y in zip(sel.tolist(), flat[0::2], flat[1::2], strict=True):
            items[g].append({"type": "Point", "coordinates": (x, y)})
    for g in np.flatnonzero(~np.isin(types, (0, 1, 2, 3, 4, 5, 6))).tolist():
        items[g].append(geoms[g].__geo_interface__)
    out: list[tuple[dict, float]] = []
    for parts, v in zip(items, vals, strict=True):
        for shape in parts:
            if shape["type"] == "Polygon" and out and out[-1][0]["type"] == "_polygons" and out[-1][1] == v:
                out[-1][0]["coordinates"].append(shape["coordinates"])
            elif shape["type"] == "Polygon":
                out.append(({"type": "_polygons", "coordinates": [shape["coordinates"]]}, v))
            else:
                out.append((shape, v))
    for shape, _ in out:
        if shape["type"] == "_polygons":
            shape["type"] = "MultiPolygon"
    return out
