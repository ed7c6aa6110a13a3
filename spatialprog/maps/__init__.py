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

__all__ = ["write_maps", "draw_maps", "MAP_HTML"]

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
    with atomic_output_dir(out_dir, add=True, kind="maps") as stage:
        names = draw_maps(outputs, stage, basemap=basemap, static=static, progress=progress, report=report)
    return [Path(out_dir) / n for n in names]


def draw_maps(outputs: RunOutputs, folder: Path, *, basemap: bool | str = False, static: bool = True,
              progress: Callable[[str], None] | None = None, report: bool = False) -> list[str]:
    """Write the maps of :func:`write_maps` into ``folder`` as it is (a stage: nothing is staged here).

    On two cores or more the work is shared by two processes (:func:`spatialprog.processes.beside`): once
    the static maps are drawn as figures, a forked process writes ``map.html`` and the PNGs (Agg's pixels)
    while this one writes the PDFs and the report (vector drawings), then takes the PNGs still left (the two
    draw from one counter: :func:`spatialprog.processes.turns`); each file has one writer, so the files
    are those of one process doing both one after the other, byte for byte.

    Returns
    -------
    list of str
        The names of the files written, ``map.html`` first, then each map's PNG and PDF, then the report.
    """
    from ..processes import beside, can_fork, turns

    def say(text: str) -> None:
        if progress:
            progress(text)

    if not static:
        say("drawing the interactive map")
        _write_html(outputs, folder, basemap)
        return [MAP_HTML]
    # matplotlib.figure.Figure without pyplot: rendered by Agg, no display, no global state
    from .static import save_pdf, static_figures

    say("drawing the static maps")
    figures = static_figures(outputs)
    say("drawing the interactive map and the PNG maps, beside the PDF maps")
    names = [MAP_HTML]
    fork = can_fork()
    take = turns(len(figures), shared=fork)  # the PNGs: this process joins in once its PDFs and report are done
    with beside(_html_and_pngs, outputs, folder, basemap, figures, take, fork=fork) as pixels:
        pdfs = {stem: save_pdf(fig, folder, stem) for stem, fig in figures.items()}
        names += [f"{stem}.{ext}" for stem in pdfs for ext in ("png", "pdf")]
        if report:
            from ..report import REPORT_PDF, write_report

            say("writing the report")
            names.append(write_report(outputs, folder / REPORT_PDF, figures=figures, map_pdfs=pdfs).name)
        say("finishing the interactive map and the PNG maps")
        _pngs(figures, folder, take)
    pixels.result()
    return names


def _write_html(outputs: RunOutputs, folder: Path, basemap: bool | str) -> Path:
    from .interactive import interactive_html

    path = folder / MAP_HTML
    path.write_text(interactive_html(outputs, basemap=basemap), encoding="utf-8")
    return path


def _html_and_pngs(outputs: RunOutputs, folder: Path, basemap: bool | str, figures: dict,
                   take: Callable[[], int | None]) -> list[str]:
    """``map.html``, then the static maps' PNGs that ``take`` hands out: the part of :func:`draw_maps` beside
    the PDFs (the process drawing those takes the PNGs still left once it is done)."""
    return [_write_html(outputs, folder, basemap).name, *_pngs(figures, folder, take)]


def _pngs(figures: dict, folder: Path, take: Callable[[], int | None]) -> list[str]:
    """The PNG of each figure ``take`` hands out, until it hands out no more; their file names."""
    from .static import save_png

    items = list(figures.items())
    return [save_png(items[i][1], folder, items[i][0]).name for i in iter(take, None)]
