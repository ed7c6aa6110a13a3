"""Congestion maps of a run: an offline interactive map and static maps for reports.

This package is the only place in spatialprog that reprojects to EPSG:4326
(for the web map) and the only one that simplifies geometries, for display
only: results are never touched.

Public API
----------
:func:`write_maps`
    Write ``map.html`` and the static PNG/PDF maps of a run into a folder.
:func:`~spatialprog.maps.interactive.interactive_html`
    The interactive map as one self-contained HTML page (no CDN, no tiles
    unless asked for).
:func:`~spatialprog.maps.static.static_figures`
    The static maps as matplotlib figures.

Examples
--------
>>> import tempfile
>>> from spatialprog.pipeline import read_plan, compute
>>> from spatialprog.outputs import RunOutputs
>>> outputs = RunOutputs.from_result(compute(read_plan("layers/example_region.toml")))
>>> files = write_maps(outputs, tempfile.mkdtemp())
>>> sorted(p.name for p in files)[:4]
['conflicten.pdf', 'conflicten.png', 'eerste_tekort_afname.pdf', 'eerste_tekort_afname.png']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..folders import atomic_output_dir
from ..outputs import RunOutputs

__all__ = ["write_maps", "MAP_HTML"]

#: File name of the interactive map in the output folder.
MAP_HTML = "map.html"


def write_maps(outputs: RunOutputs, out_dir: str | Path, *, basemap: bool | str = False, static: bool = True,
               progress: Callable[[str], None] | None = None, report: bool = False) -> list[Path]:
    """Write the maps of a run into ``out_dir``.

    The maps are added to what ``out_dir`` holds (a run's folder: ``map
    OUT_DIR``): the folder is staged beside itself and replaced as a whole
    only when every map has been written, so a failure leaves the previous
    folder as it was (:class:`~spatialprog.folders.atomic_output_dir` with
    ``add=True``; a folder of maps alone is replaced, so no map of an
    earlier call stays). ``out_dir`` must be new, empty or an output
    folder of spatialprog; its ``manifest.json`` lists the maps too.

    Parameters
    ----------
    outputs : RunOutputs
        A finished run: :meth:`RunOutputs.from_result` or :meth:`RunOutputs.read`.
    out_dir : path
        Created if missing.
    basemap : bool or str
        Add PDOK's BRT achtergrondkaart to the interactive map (the page then
        requests tiles); a string picks the nlmaps variant. Default: none,
        the page makes no request at all.
    static : bool
        Also write the static maps (PNG and PDF): headroom status per
        milestone year for offtake and feed-in, conflicts and the programme
        when the run has them.
    progress : callable, optional
        Called with a short text before each step.
    report : bool
        Also write the PDF report (:data:`spatialprog.report.REPORT_PDF`) with the static maps drawn once
        (``spatialprog run`` asks for it; needs ``static``).

    Returns
    -------
    list of Path
        The files written, ``map.html`` first.
    """
    from .interactive import interactive_html

    names: list[str] = []
    with atomic_output_dir(out_dir, add=True, kind="maps") as stage:
        if progress:
            progress("drawing the interactive map")
        (stage / MAP_HTML).write_text(interactive_html(outputs, basemap=basemap), encoding="utf-8")
        names.append(MAP_HTML)
        if static:
            # matplotlib.figure.Figure without pyplot: rendered by Agg, no display, no global state
            from .static import save_figure, static_figures

            if progress:
                progress("drawing the static maps")
            figures = static_figures(outputs)
            for stem, fig in figures.items():
                names += [p.name for p in save_figure(fig, stage, stem)]
            if report:
                from ..report import REPORT_PDF, write_report

                if progress:
                    progress("writing the report")
                names.append(write_report(outputs, stage / REPORT_PDF, figures=figures).name)
    return [Path(out_dir) / n for n in names]
