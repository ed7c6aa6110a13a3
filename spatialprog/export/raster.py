"""Rasters for QGIS: Cloud-Optimized GeoTIFF with a sidecar ``.qml`` style.

QGIS picks up ``name.qml`` beside ``name.tif`` as the default style when the
raster is added, and the QGIS project embeds the same style.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from affine import Affine

from ..errors import OutputError
from .qml import raster_style_qml

__all__ = ["write_cog", "raster_info"]


def write_cog(data: np.ndarray | str | Path, dest: str | Path, *, transform: Affine | None = None,
              crs: str = "EPSG:28992", nodata: float | None = None, qml: str | None = None,
              classes: list[tuple[float, str, str]] | None = None, threads: bool = True) -> Path:
    """Write a single-band raster as a Cloud-Optimized GeoTIFF plus ``.qml``.

    Parameters
    ----------
    data : ndarray or path
        A 2-D array (with ``transform``) or a raster file readable by rasterio
        (its first band, transform and CRS are used).
    dest : path
        The ``.tif`` to write; replaced atomically.
    transform : Affine, optional
        Required with an array.
    crs : str
        CRS of an array (default the working CRS).
    nodata : float, optional
    qml : str, optional
        The style; default a red-yellow-green ramp over the data range (or
        ``classes``).
    classes : list of (value, label, colour), optional
        Discrete classes for a categorical raster.
    threads : bool
        Compress the tiles on every core (default). A process forked from one whose GDAL already
        started its worker threads must pass False (it would wait for threads it does not have); the
        bytes are the same either way.

    Returns
    -------
    Path
        The ``.tif``; the style is beside it as ``.qml``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from affine import Affine
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_cog(np.arange(64, dtype="float32").reshape(8, 8), d / "s.tif",
    ...               transform=Affine(100, 0, 150000, 0, -100, 450000))
    >>> sorted(x.name for x in d.iterdir())
    ['s.qml', 's.tif']
    """
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    dest = Path(dest)
    if isinstance(data, str | Path):
        with rasterio.open(data) as src:
            arr = src.read(1)
            transform, crs = src.transform, (src.crs.to_string() if src.crs else crs)
            nodata = src.nodata if nodata is None else nodata
    else:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"write_cog: expected a 2-D array, got {arr.ndim} dimensions")
        if transform is None:
            raise ValueError("write_cog: an array needs its transform (e.g. Affine(100, 0, x0, 0, -100, y0))")
    profile = {"driver": "GTiff", "width": arr.shape[1], "height": arr.shape[0], "count": 1, "dtype": arr.dtype,
               "crs": crs, "transform": transform, "nodata": nodata}
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}-", suffix=".tif", dir=dest.parent)
    os.close(fd)
    try:
        with MemoryFile() as mem:
            with mem.open(**profile) as ds:
                ds.write(arr, 1)
            with mem.open() as ds:
                # tiles compressed on every core: each tile is compressed on its own, so the same bytes
                rio_copy(ds, tmp, driver="COG", COMPRESS="DEFLATE", OVERVIEWS="AUTO", BLOCKSIZE="256",
                         **({"NUM_THREADS": "ALL_CPUS"} if threads else {}))
        os.replace(tmp, dest)
    except OSError as e:
        raise OutputError(f"{dest}: cannot write the raster: {e} - choose a writable folder") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    style = qml or raster_style_qml(*_data_range(arr, nodata), classes=classes)  # the range only when styled here
    dest.with_suffix(".qml").write_text(style, encoding="utf-8")
    return dest


def _data_range(arr: np.ndarray, nodata: float | None) -> tuple[float, float]:
    """The smallest and largest finite value of ``arr`` other than ``nodata`` (0, 1 when there is none)."""
    valid = arr[np.isfinite(arr)] if np.issubdtype(arr.dtype, np.floating) else arr.ravel()
    if nodata is not None:
        valid = valid[valid != nodata]
    return (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)


def raster_info(path: str | Path) -> tuple[tuple[float, float, float, float], str]:
    """Bounds and CRS (``EPSG:xxxx``) of a raster."""
    import rasterio

    with rasterio.open(path) as src:
        b = src.bounds
        return (b.left, b.bottom, b.right, b.top), (src.crs.to_string() if src.crs else "")
