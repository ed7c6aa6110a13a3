"""The QGIS hand-off: one GeoPackage with styles and a QGIS project, COG rasters, PostGIS.

:func:`export_qgis` writes every result layer and table of a run (and the
validated input layers, when given) into one GeoPackage 1.2 in EPSG:28992, with

* a default style per layer in ``layer_styles`` (categorized by status in the
  capacity-map colours or by kind, graduated by headroom, substations
  labelled, Dutch field aliases), so dragging the file into QGIS shows it
  styled;
* a title and abstract per layer (gpkg_contents ``identifier`` and
  ``description``) naming the sources and the run date;
* a QGIS project in the ``qgis_projects`` table, and the same project as a
  ``.qgz`` beside the GeoPackage: groups, project CRS, relative paths, styles
  inline.

:func:`write_cog` writes a raster as a Cloud-Optimized GeoTIFF with a
``.qml``; :func:`export_postgis` writes the same layers and styles to a
PostgreSQL + PostGIS database.

Modules: :mod:`.catalog` (what is exported), :mod:`.qml` (styles),
:mod:`.qgis_project` (the project), :mod:`.gpkg` (the file), :mod:`.raster`,
:mod:`.postgis`.

Examples
--------
>>> import tempfile
>>> from spatialprog.pipeline import read_plan, compute
>>> from spatialprog.outputs import RunOutputs
>>> plan = read_plan("layers/example_region.toml")
>>> outputs = RunOutputs.from_result(compute(plan))
>>> gpkg = export_qgis(outputs, Path(tempfile.mkdtemp()) / "spatialprog.gpkg", inputs=plan.layers)
>>> sorted(p.name for p in gpkg.parent.iterdir())
['spatialprog.gpkg', 'spatialprog.qgz']
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from ..errors import OutputError
from .catalog import GROUPS, ExportLayer, alias_nl, safe_name
from .qml import LayerStyle, build_style, raster_style_qml, style_qml, style_rule
from .raster import write_cog
from .styled import QGIS_CRS, export_layers

if TYPE_CHECKING:
    from ..outputs import RunOutputs

__all__ = [
    "export_qgis",
    "export_postgis",
    "export_layers",
    "write_cog",
    "ExportLayer",
    "LayerStyle",
    "GROUPS",
    "style_rule",
    "alias_nl",
    "safe_name",
    "build_style",
    "style_qml",
    "raster_style_qml",
    "QGIS_CRS",
]


def _atomic_tmp(dest: Path, suffix: str) -> Path:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}-", suffix=suffix, dir=dest.parent)
    except OSError as e:
        raise OutputError(f"{dest}: cannot write here: {e.strerror} - choose a writable folder") from None
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    return Path(tmp)


def export_qgis(outputs: RunOutputs, dest: str | Path, *, inputs: Mapping[str, gpd.GeoDataFrame] | None = None,
                rasters: Mapping[str, str | Path] | None = None, qgz: bool = True) -> Path:
    """Write the QGIS hand-off: ``DEST.gpkg`` with styles and embedded project, plus ``DEST.qgz``.

    Parameters
    ----------
    outputs : RunOutputs
        A run, computed (``RunOutputs.from_result``) or read back
        (``RunOutputs.read``).
    dest : path
        The GeoPackage to write (``.gpkg``); replaced atomically (written to
        a temporary file in the same folder, then renamed).
    inputs : dict of str -> GeoDataFrame, optional
        The validated input layers (``Plan.layers``), exported as
        ``input_<kind>`` in the *inputs* group.
    rasters : dict of str -> path, optional
        Rasters to add to the project (written with :func:`write_cog`; their
        ``.qml`` is embedded). Paths are stored relative to ``dest``. They
        sit at the bottom of the *results* group, unchecked (a surface under
        the filled service areas; the planner switches it on). Default: the
        siting surfaces (``siting_*.tif``) of the run folder the outputs were
        read from.
    qgz : bool
        Also write the project as ``DEST.qgz`` beside the GeoPackage.

    Returns
    -------
    Path
        The GeoPackage.

    Raises
    ------
    OutputError
        When the folder is not writable.
    """
    from . import gpkg as G
    from .qgis_project import (
        ProjectRaster,
        project_timestamp,
        project_titles,
        project_xml,
        qgz_bytes,
    )
    from .raster import raster_info

    dest = Path(dest)
    if dest.suffix.lower() != ".gpkg":
        raise OutputError(f"{dest}: the QGIS export is a GeoPackage - give a file name ending in .gpkg")
    man = outputs.manifest
    ts = project_timestamp(man)
    styled = export_layers(outputs, inputs=inputs)
    title, history = project_titles(man)

    if rasters is None and outputs.out_dir is not None:
        from ..siting.write import siting_rasters

        rasters = siting_rasters(outputs.out_dir)
    prasters = []
    for name, path in sorted((rasters or {}).items()):
        p = Path(path)
        qml_path = p.with_suffix(".qml")
        qml = qml_path.read_text(encoding="utf-8") if qml_path.is_file() else raster_style_qml(0.0, 1.0)
        bounds, _ = raster_info(p)
        rel = os.path.relpath(p.resolve(), dest.parent.resolve()).replace(os.sep, "/")
        prasters.append(ProjectRaster(name=safe_name(name), title=name.replace("_", " ").capitalize(),
                                      path=rel if rel.startswith(".") else f"./{rel}", qml=qml, extent=bounds,
                                      abstract=f"Raster {name}. {history}.", visible=False))

    xml = project_xml(styled, dest.name, title=title, rasters=prasters, history=history,
                      save_datetime=ts.replace(".000Z", ""))
    zbytes = qgz_bytes(xml, f"{dest.stem}.qgs")

    tmp = _atomic_tmp(dest, ".gpkg")
    try:
        written: dict[str, ExportLayer] = {}
        with G.fast_sqlite():
            for i, (layer, _style) in enumerate(styled):
                base = written.get(layer.name.removeprefix("input_")) if layer.source == "input" else None
                if base is not None and G.same_rows(layer, base):  # an input its result layer carries
                    G.write_view(tmp, layer, base)
                else:
                    G.write_layer(tmp, layer, first=i == 0)
                    written[layer.name] = layer
        G.add_styles(tmp, [(lyr.name, lyr.is_spatial, f"spatialprog {lyr.name}", style_qml(st),
                            f"{lyr.title}: default style written by spatialprog") for lyr, st in styled],
                     timestamp=ts)
        G.add_project(tmp, dest.stem, zbytes, timestamp=ts.replace(".000Z", ""))
        G.finish(tmp, ts)  # gpkg_contents.last_change = the run date, no transaction count: reproducible bytes
        os.replace(tmp, dest)
        if qgz:
            tq = _atomic_tmp(dest.with_suffix(".qgz"), ".qgz")
            tq.write_bytes(zbytes)
            os.replace(tq, dest.with_suffix(".qgz"))
    except (OSError, sqlite3.Error) as e:
        raise OutputError(f"{dest}: cannot write the GeoPackage: {e} - choose a writable folder") from None
    finally:
        for t in (tmp,):
            if t.exists():
                t.unlink()
    return dest


def export_postgis(outputs: RunOutputs, dsn: str, *, schema: str = "spatialprog",
                   inputs: Mapping[str, gpd.GeoDataFrame] | None = None, replace: bool = True,
                   project: str = "spatialprog") -> list[str]:
    """Write the same layers, styles and QGIS project to PostgreSQL + PostGIS (see :mod:`.postgis`)."""
    from .postgis import export_postgis as _impl

    return _impl(outputs, dsn, schema=schema, inputs=inputs, replace=replace, project=project)
