"""Writing the siting results into a run folder (the output edge of :mod:`spatialprog.siting`).

Into the folder (a run's staging folder):

``siting_<surface>.tif`` + ``.qml``
    Each surface of :attr:`SitingResult.surfaces` as a Cloud-Optimized GeoTIFF
    with its QGIS style (:func:`spatialprog.export.raster.write_cog`).
``candidate_sites.csv``, ``mvlv_stations.csv``, ``mvlv_substations.csv``
    The tables, through :func:`spatialprog.writer.write_tables` (cell safety).
``results.gpkg``
    Gains the layers ``candidate_sites`` and ``mvlv_stations`` (so maps, the
    QGIS export and ``RunOutputs.read`` see them), stamped with the run date
    and compacted again (:func:`spatialprog.writer.finish_geopackage`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from ..processes import turns
from . import SitingResult

__all__ = ["write_siting", "write_surfaces", "surface_files", "siting_rasters", "RASTER_PREFIX"]

#: file-name prefix of the siting rasters in a run folder
RASTER_PREFIX = "siting_"

#: colours per surface: low -> high (suitability: red -> green; a distance: near is good)
_RAMPS = {
    "suitability": ("#e30613", "#ffd400", "#8cc63f"),
    "distance": ("#8cc63f", "#ffd400", "#e30613"),
    "density": ("#ffffcc", "#fd8d3c", "#800026"),
}


def _style(name: str, arr: np.ndarray) -> str:
    from ..export.qml import raster_style_qml

    if name == "exclusion":
        return raster_style_qml(0.0, 1.0, classes=[(0, "toegestaan", "#ffffff"), (1, "uitgesloten", "#7f7f7f")])
    valid = arr[np.isfinite(arr)] if np.issubdtype(arr.dtype, np.floating) else arr.ravel()
    lo, hi = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
    ramp = _RAMPS["suitability" if name == "suitability" else "distance" if name.startswith("distance") else "density"]
    return raster_style_qml(lo, hi, colours=ramp)


def write_surfaces(siting: SitingResult, folder: str | Path, *, crs: str = "EPSG:28992",
                   threads: bool = True, take: Callable[[], int | None] | None = None) -> list[Path]:
    """Write each surface as ``siting_<name>.tif`` (a Cloud-Optimized GeoTIFF) with its ``.qml``; return them.

    ``threads``: compress on every core (:func:`spatialprog.export.raster.write_cog`; False in a forked
    process, the same bytes). ``take``: the surfaces to write, by their number in ``siting.surfaces``, one
    call at a time until it returns None (:func:`spatialprog.processes.turns`: a run shares them out
    between two processes); default all. Returns what this call wrote, in the surfaces' order.
    """
    from ..export.raster import write_cog

    folder = Path(folder)
    items = list(siting.surfaces.items())
    take = take or turns(len(items), shared=False)
    out: list[Path] = []
    while (i := take()) is not None:
        name, arr = items[i]
        nodata = float("nan") if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any() else None
        tif = write_cog(arr, _tif(folder, name), transform=siting.transform, crs=crs,
                        nodata=nodata, qml=_style(name, arr), threads=threads)
        out += [tif, tif.with_suffix(".qml")]
    return out


def surface_files(siting: SitingResult, folder: str | Path) -> list[Path]:
    """The files :func:`write_surfaces` writes for ``siting`` into ``folder``, in its order."""
    return [p for name in siting.surfaces for tif in [_tif(Path(folder), name)] for p in (tif, tif.with_suffix(".qml"))]


def _tif(folder: Path, name: str) -> Path:
    return folder / f"{RASTER_PREFIX}{name}.tif"


def write_siting(siting: SitingResult, folder: str | Path, *, crs: str = "EPSG:28992",
                 when: datetime | None = None, gpkg: str | Path | None = None, surfaces: bool = True) -> list[Path]:
    """Write the surfaces, tables and layers of a siting result into ``folder``.

    Parameters
    ----------
    siting : SitingResult
    folder : path
        The (staging) folder of a run.
    crs : str
        The working CRS of the rasters.
    when : datetime, optional
        The run date for the GeoPackage (:func:`spatialprog.writer.run_timestamp`).
    gpkg : path, optional
        The GeoPackage to add the layers to, created when missing (default
        ``folder / results.gpkg``, when it exists; else no GeoPackage).
    surfaces : bool
        Also the surfaces (:func:`write_surfaces`; default True). A run passes False: it writes them in a
        process of its own beside the ranking tables.

    Returns
    -------
    list of Path
        The files written (the GeoPackage too, when layers were added).
    """
    from ..outputs import RESULTS_GPKG, write_gpkg_layer
    from ..writer import finish_geopackage, write_tables

    folder = Path(folder)
    out: list[Path] = write_surfaces(siting, folder, crs=crs) if surfaces else []
    out += [folder / f for f in write_tables(folder, siting.tables())]
    target = Path(gpkg) if gpkg is not None else folder / RESULTS_GPKG
    if gpkg is not None or target.is_file():
        for name, layer in siting.layers().items():
            write_gpkg_layer(layer, target, name)
        finish_geopackage(target, when)
        out.append(target)
    return out


def siting_rasters(folder: str | Path) -> dict[str, Path]:
    """The siting rasters in a run folder, by name (for the QGIS project: ``export_qgis(rasters=...)``)."""
    folder = Path(folder)
    return {p.stem: p for p in sorted(folder.glob(f"{RASTER_PREFIX}*.tif"))}

