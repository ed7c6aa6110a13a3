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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine

from ..errors import ProjectError

__all__ = ["Grid"]

#: bytes of one float32 surface cell (the size a refused grid would take, per surface)
_CELL_BYTES = 4


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

    def rasterize(self, geoms: Sequence[shapely.Geometry] | np.ndarray, values: Sequence[float] | None = None, *,
                  all_touched: bool = False, add: bool = False, dtype: str = "uint8") -> np.ndarray:
        """Burn geometries into an array of the grid's shape (in memory).

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
        """
        from rasterio.enums import MergeAlg
        from rasterio.features import rasterize

        arr = np.asarray(geoms, dtype=object)
        vals = np.ones(len(arr)) if values is None else np.asarray(values, dtype="float64")
        keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if len(arr) else np.zeros(0, bool)
        if not keep.any():
            return np.zeros(self.shape, dtype=dtype)
        # points have no area: a cell-centre test would miss them, so they burn the cell they are in
        shapes = [(g, float(v)) for g, v in zip(arr[keep], vals[keep], strict=True)]
        return rasterize(shapes, out_shape=self.shape, transform=self.transform, fill=0, all_touched=all_touched,
                         merge_alg=MergeAlg.add if add else MergeAlg.replace, dtype=dtype)
