"""CRS discipline at the input edge: which CRS a layer's numbers are in, and whether they fit the Netherlands.

One working CRS (EPSG:28992, RD New, by default). A layer without a CRS is an
error unless the project file declares one, and the message says which CRS
the numbers look like (RD New, longitude/latitude, UTM); numbers that do not
fit the declared CRS are caught by their bounds (:data:`RD_BOUNDS`: the
Netherlands with its North Sea zone).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from .errors import CRSError, NoticeLog, shorten

__all__ = ["RD_BOUNDS", "UTM_NL_NORTHING", "set_layer_crs", "finite_bounds", "fits_lonlat", "crs_hint", "fmt_bounds"]

# the Netherlands with its exclusive economic zone in the North Sea, in RD New (EPSG:28992) coordinates,
# with a margin: land from x 0 to 278 km and y 306 to 620 km; the EEZ reaches x -46 km (2.5 E, 51.3 N) and
# y 870 km (55.8 N; the Doggersbank Natura 2000 site lies at about x -15 km, y 853 km)
RD_BOUNDS = (-60000.0, 289000.0, 300000.0, 880000.0)
# the Netherlands in UTM zones 31N/32N (ETRS89, EPSG:25831/25832), northing range, with a margin
UTM_NL_NORTHING = (5_550_000.0, 6_050_000.0)


def set_layer_crs(gdf: gpd.GeoDataFrame, source: Any, label: str, notices: NoticeLog) -> gpd.GeoDataFrame:
    """Give the layer the CRS the project declares where the file has none (or only GeoJSON's implied WGS84)."""
    if gdf.crs is None:
        if not source.crs:
            raise CRSError(f"{label}: the layer has no CRS{crs_hint(gdf, label)}")
        return gdf.set_crs(source.crs)
    if source.crs:
        declared = CRS.from_user_input(source.crs)
        file_crs = CRS.from_user_input(gdf.crs)
        b = finite_bounds(gdf)
        if (file_crs.is_geographic and not declared.equals(file_crs) and b is not None
                and not fits_lonlat(b)):
            # a GeoJSON file without a "crs" member is WGS84 by its specification, whatever its numbers
            notices.add(label, f"the file says {file_crs.to_string()}, but its coordinates are not longitude/latitude: "
                        f"read as the declared {shorten(source.crs)}", level="info")
            return gdf.set_crs(declared, allow_override=True)
    return gdf


def finite_bounds(gdf: gpd.GeoDataFrame) -> np.ndarray | None:
    """Bounds of the features' finite coordinates, or None when there are none."""
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return None
    return np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])


def fits_lonlat(b: np.ndarray) -> bool:
    return bool(abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90)


def crs_hint(gdf: gpd.GeoDataFrame, label: str) -> str:
    """What to declare, from the numbers: `` - these numbers look like RD New: add crs = "EPSG:28992" ...``."""
    section = f"[{label}]" if label.startswith(("layers.", "constraints.")) else "the layer"
    b = finite_bounds(gdf)
    seen = "" if b is None else f" (coordinates {fmt_bounds(b)})"
    add = f"to {section} in the project file, or save the file with its CRS"
    if b is not None and RD_BOUNDS[0] <= b[0] and b[2] <= RD_BOUNDS[2] and RD_BOUNDS[1] <= b[1] and b[3] <= RD_BOUNDS[3]:
        return f"{seen} - these numbers look like RD New: add crs = \"EPSG:28992\" {add}"
    if b is not None and fits_lonlat(b):
        return f"{seen} - these numbers look like longitude/latitude: add crs = \"EPSG:4326\" {add}"
    if b is not None and UTM_NL_NORTHING[0] <= b[1] and b[3] <= UTM_NL_NORTHING[1]:
        return (f"{seen} - these numbers look like UTM: add crs = \"EPSG:25831\" (zone 31N) or \"EPSG:25832\" "
                f"(zone 32N) {add}")
    return f"{seen} - add crs = \"EPSG:28992\" (or the right code) {add}"


def fmt_bounds(b) -> str:
    digits = 4 if fits_lonlat(b) else 0
    return f"({b[0]:.{digits}f}, {b[1]:.{digits}f}) .. ({b[2]:.{digits}f}, {b[3]:.{digits}f})"
