"""Shapely geometries as matplotlib paths, built from their coordinates at once (no geometry by geometry
loop): the polygons, lines and outlines of the static maps and the halos of their names."""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib.path import Path as MplPath

__all__ = ["line_segments", "outline_path", "polygon_paths"]


def polygon_paths(geoms: np.ndarray) -> tuple[list[MplPath], np.ndarray]:
    """One compound path per (multi)polygon, every ring closed, as geopandas' ``plot`` makes them of the
    normalized geometries (one ``PathPatch`` each), from shapely's coordinates at once; and the positions of
    those polygons."""
    geoms = shapely.normalize(geoms)  # as geopandas' plot: the order of the rings and where each starts
    types = shapely.get_type_id(geoms)
    at = np.flatnonzero(np.isin(types, (3, 6)))  # Polygon, MultiPolygon
    parts, part_of = shapely.get_parts(geoms[at], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)  # per part: its exterior, then its holes
    xy, vertex_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    if len(xy):
        start = np.r_[0, np.flatnonzero(np.diff(vertex_of)) + 1]
        codes[start] = MplPath.MOVETO
        codes[np.r_[start[1:] - 1, len(xy) - 1]] = MplPath.CLOSEPOLY
    geom_of = part_of[ring_of[vertex_of]]
    cuts = np.searchsorted(geom_of, np.arange(1, len(at)))
    paths = [MplPath(v, c) for v, c in zip(np.split(xy, cuts), np.split(codes, cuts), strict=True)]
    return paths, at


def line_segments(geoms: np.ndarray) -> list[np.ndarray]:
    """The coordinates of every part of (multi)lines, one array each, as geopandas' ``plot`` draws them (of the
    normalized lines: where the dashes start)."""
    geoms = shapely.normalize(geoms)
    parts = shapely.get_parts(geoms[np.isin(shapely.get_type_id(geoms), (1, 2, 5))])
    xy, which = shapely.get_coordinates(parts, return_index=True)
    return np.split(xy, np.searchsorted(which, np.arange(1, len(parts))))


def outline_path(geoms: np.ndarray) -> MplPath:
    """Every ring of polygons (or every line) as one matplotlib path, built from shapely's coordinates at once."""
    parts = shapely.get_parts(geoms)
    rings = shapely.get_rings(parts[np.isin(shapely.get_type_id(parts), (3,))]) if len(parts) else parts
    lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    pieces = np.concatenate([rings, lines]) if len(lines) else rings
    xy, which = shapely.get_coordinates(pieces, return_index=True)
    if not len(xy):
        return MplPath(np.zeros((0, 2)))
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    codes[np.r_[0, np.flatnonzero(np.diff(which)) + 1]] = MplPath.MOVETO
    return MplPath(xy, codes)
