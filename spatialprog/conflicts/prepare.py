"""Layer preparation for the conflicts engine: checks, reprojection and geometry repair.

:func:`prepare_layer` turns a caller's GeoDataFrame into a
:class:`PreparedLayer`: ids checked unique, geometries in the working CRS,
2D, repaired with ``make_valid`` where invalid (each repair a notice), and
the polygonal part of every geometry split out for the area rules. The
caller's frame and index are kept, so summaries align to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from spatialprog.errors import CRSError, LayerValidationError, NoticeLog, Problem

from .geometry import polygonal

__all__ = ["PreparedLayer", "prepare_layer"]


@dataclass
class PreparedLayer:
    """A layer ready for the rules (from :func:`prepare_layer`).

    Attributes
    ----------
    name : str
        Layer name.
    frame : geopandas.GeoDataFrame
        The caller's frame, index preserved (attributes are read from it).
    ids : numpy.ndarray of str
        Feature ids, by position.
    geoms : numpy.ndarray of shapely.Geometry
        Geometries in the working CRS, 2D and valid; None where unusable.
    polys : numpy.ndarray of shapely.Geometry
        The polygonal part of each geometry; None where it has none.
    """

    name: str
    frame: gpd.GeoDataFrame
    ids: np.ndarray
    geoms: np.ndarray
    polys: np.ndarray
    _rank: np.ndarray | None = None

    @property
    def rank(self) -> np.ndarray:
        """Position of each feature when the layer is sorted by id."""
        if self._rank is None:
            order = np.argsort(self.ids.astype(str), kind="stable")
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self._rank = rank
        return self._rank


def prepare_layer(name: str, frame: Any, crs: CRS, notices: NoticeLog) -> PreparedLayer:
    """Check a layer and bring its geometries into shape for the rules.

    Parameters
    ----------
    name : str
        Layer name, for messages.
    frame : geopandas.GeoDataFrame
        With a unique ``id`` column and a CRS.
    crs : pyproj.CRS
        Working CRS; a layer in another CRS is reprojected (with a notice).
    notices : NoticeLog
        Receives reprojection, empty-geometry and repair notices.

    Returns
    -------
    PreparedLayer

    Raises
    ------
    CRSError
        The layer has no CRS.
    LayerValidationError
        Not a GeoDataFrame, no ``id`` column, or duplicate ids.

    Examples
    --------
    >>> bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    >>> frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[bowtie], crs="EPSG:28992")
    >>> log = NoticeLog()
    >>> layer = prepare_layer("housing_sites", frame, CRS("EPSG:28992"), log)
    >>> float(shapely.area(layer.polys[0])), len(log)
    (50.0, 1)
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerValidationError(
            [Problem(name, f"expected a GeoDataFrame, got {type(frame).__name__}", fix="read it with spatialprog.layers")]
        )
    if frame.crs is None:
        raise CRSError(
            f"{name}: the layer has no CRS - declare it in the project file or set it with "
            f"gdf.set_crs(...); the working CRS is {crs.to_string()}"
        )
    if not frame.crs.equals(crs):
        notices.add(
            name,
            f"reprojected from {frame.crs.to_string()} to {crs.to_string()} for the conflict rules",
            level="info",
        )
        frame_w = frame.to_crs(crs)
    else:
        frame_w = frame
    problems: list[Problem] = []
    if "id" not in frame.columns:
        problems.append(Problem(name, "no 'id' column", field="id", fix="give every feature a unique id"))
        raise LayerValidationError(problems)
    ids = frame["id"].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        for fid in sorted(set(ids[dup])):
            problems.append(Problem(name, "id used by more than one feature", feature=fid, field="id",
                                    fix="make ids unique within the layer"))
        raise LayerValidationError(problems)

    geoms = np.asarray(frame_w.geometry.array, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for fid in ids[missing & ~shapely.is_missing(geoms)].tolist() + ids[shapely.is_missing(geoms)].tolist():
        notices.add(name, "empty geometry: the feature is left out of the conflict rules", feature=fid)
    geoms[missing] = None
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    invalid = np.flatnonzero(~missing & ~shapely.is_valid(geoms))
    if len(invalid):
        reasons = shapely.is_valid_reason(geoms[invalid])
        was_polygonal = np.isin(shapely.get_type_id(geoms[invalid]), (3, 6))
        fixed = shapely.make_valid(geoms[invalid])
        fixed_poly = polygonal(fixed)
        fixed = np.where(was_polygonal, fixed_poly, fixed)
        before = shapely.area(geoms[invalid])
        for k, pos in enumerate(invalid):
            fid = ids[pos]
            if fixed[k] is None or shapely.is_empty(fixed[k]):
                notices.add(name, f"invalid geometry ({reasons[k]}) collapses when repaired; "
                            "the feature is left out of the conflict rules", feature=fid,
                            fix="redraw the feature")
                fixed[k] = None
            else:
                notices.add(
                    name,
                    f"invalid geometry ({reasons[k]}) repaired with make_valid "
                    f"(area {float(before[k]):.2f} -> {float(shapely.area(fixed[k])):.2f} m2)",
                    feature=fid,
                    fix="fix the geometry at the source to silence this notice",
                )
        geoms[invalid] = fixed
    return PreparedLayer(name=name, frame=frame, ids=ids, geoms=geoms, polys=polygonal(geoms))

