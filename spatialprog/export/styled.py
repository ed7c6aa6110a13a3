"""The layers of the export with their generated styles: one list for the GeoPackage and PostGIS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
from pyproj import CRS

from ..errors import CRSError
from .catalog import ExportLayer, collect_layers
from .qml import LayerStyle, build_style

if TYPE_CHECKING:
    from ..outputs import RunOutputs

__all__ = ["QGIS_CRS", "export_layers"]

QGIS_CRS = "EPSG:28992"


def _to_crs(layers: Mapping[str, gpd.GeoDataFrame], crs: str, what: str) -> dict[str, gpd.GeoDataFrame]:
    out = {}
    target = CRS.from_user_input(crs)
    for name, gdf in layers.items():
        if gdf.crs is None:
            raise CRSError(f"{what} layer '{name}' has no CRS - the export needs {crs}; set it with "
                           f"gdf.set_crs(...) before exporting")
        out[name] = gdf if CRS.from_user_input(gdf.crs).equals(target) else gdf.to_crs(target)
    return out


def export_layers(outputs: RunOutputs, *, inputs: Mapping[str, gpd.GeoDataFrame] | None = None,
                  crs: str = QGIS_CRS) -> list[tuple[ExportLayer, LayerStyle]]:
    """The layers of the export with their generated styles (pure; shared by GeoPackage and PostGIS).

    Parameters
    ----------
    outputs : RunOutputs
    inputs : dict of str -> GeoDataFrame, optional
        The validated input layers (``Plan.layers``).
    crs : str
        CRS of the export; layers in another CRS are transformed.

    Returns
    -------
    list of (ExportLayer, LayerStyle)
        In layer-tree order.
    """
    # the boundaries ride along in the results for the maps; they go to QGIS as an input layer
    from ..kinds import LAYER_KINDS

    layers = _to_crs({k: v for k, v in outputs.layers.items()
                      if k not in LAYER_KINDS or LAYER_KINDS[k].role != "boundary"}, crs, "result")
    ins = _to_crs(inputs, crs, "input") if inputs else None
    entries = collect_layers(layers, outputs.tables, outputs.manifest, inputs=ins)
    out = []
    for e in entries:
        cols = [c for c in e.data.columns if c != "geometry"]
        out.append((e, build_style(e.kind, e.geometry_type, cols, e.aliases, values=e.data, name=e.name)))
    return out
