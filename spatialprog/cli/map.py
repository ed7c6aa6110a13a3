"""``spatialprog map``: the congestion maps of a project or of a finished run."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import computed_project, console, lit


@click.command(name="map")
@click.argument("source", type=click.Path(path_type=Path, exists=True), metavar="PROJECT.toml|OUT_DIR")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for map.html and the static maps (added to what it holds, all or nothing). Default: "
                   "OUT_DIR itself, or out/ for a project file.")
@click.option("--basemap", is_flag=True,
              help="Add PDOK's BRT achtergrondkaart under the interactive map (the page then loads tiles "
                   "from the internet). Default: no basemap, the page works offline.")
@click.option("--no-static", is_flag=True, help="Write only map.html, not the PNG/PDF maps.")
def map_(source: Path, out_dir: Path | None, basemap: bool, no_static: bool) -> None:
    """Draw the congestion maps: map.html (offline, interactive) and PNG/PDF maps for reports.

    SOURCE is a project file (the run and its programme are computed in
    memory, nothing else is written) or the output folder of 'spatialprog
    run' (read back, not recomputed).

    \b
    Examples:
      spatialprog map out/
      spatialprog map layers/example_region.toml --out maps/ --no-static
    """
    from ..maps import write_maps
    from ..outputs import RunOutputs

    t0 = time.perf_counter()
    with console.status("reading ...") as status:
        if source.is_dir():
            outputs = RunOutputs.read(source)
            out_dir = out_dir or source
        else:
            from ..workflow import outputs_of

            _, result, ranking = computed_project(source, status, hint="PROJECT.toml|OUT_DIR")
            outputs = outputs_of(result, ranking)  # with the ranking, as a run folder has it
            out_dir = out_dir or Path("out")
        files = write_maps(outputs, out_dir, basemap=basemap, static=not no_static,
                           progress=lambda s: status.update(lit(s) + " ..."))
    for f in files:
        console.print(f"  {lit(f)}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(files)} files in {lit(out_dir)}/")
