"""``spatialprog run``: the main job (a thin wrapper over :func:`spatialprog.workflow.run`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import console, lit, project_argument
from .report import print_notices, print_summary


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Output folder: new, empty or an earlier run's (replaced as a whole, only on success).")
@click.option("--variant", "variants", multiple=True, help="Run only these variants (repeatable; default all).")
@click.option("--no-maps", is_flag=True, help="Do not draw map.html and the static maps.")
@click.option("--no-qgis", is_flag=True, help="Do not write spatialprog.gpkg / spatialprog.qgz (the QGIS hand-off).")
@click.option("--parquet", is_flag=True,
              help="Also write each table of the run as NAME.parquet beside NAME.csv (typed columns; pandas, "
                   "DuckDB, Arrow and QGIS read it).")
def run(project: Path, out_dir: Path, variants: tuple[str, ...], no_maps: bool, no_qgis: bool, parquet: bool) -> None:
    """Compute demand, assignment and headroom for PROJECT.toml and write the outputs.

    Writes results.gpkg, headroom.csv/.xlsx (long format: substation, variant,
    year, direction, firm capacity, load, headroom, status), demand.csv,
    assignment.csv, shortfall.csv, notices.csv and manifest.json into --out,
    the ranking and programme (programme.csv/.xlsx, ...), the maps (map.html,
    static PNG/PDF) and spatialprog.gpkg + spatialprog.qgz for QGIS (styled,
    with a project). The folder is staged beside --out and replaced as a
    whole: a failed run leaves the previous outputs intact, and files of an
    earlier run that this run does not write (--no-maps: the maps) are gone.
    A folder with other files than spatialprog's is refused; a second run
    into the same folder at the same time stops. Timestamps inside the files
    come from SOURCE_DATE_EPOCH when set, else today's date. In Python:
    spatialprog.run(PROJECT, OUT) writes the same files.

    \b
    Examples:
      spatialprog run layers/example_region.toml --out out/
      spatialprog run layers/example_region.toml --out out/ --variant basis --no-maps
      spatialprog run layers/example_region.toml --out out/ --parquet
    """
    from ..workflow import run as run_workflow
    from .rank import print_ranking

    t0 = time.perf_counter()
    with console.status("reading layers ...") as status:
        done = run_workflow(project, out_dir, variants=list(variants), maps=not no_maps, qgis=not no_qgis,
                            parquet=parquet, progress=lambda s: status.update(lit(s) + " ..."))
    print_notices(done.result.notices)
    print_summary(done.result)
    print_notices(done.ranking.notices)
    print_ranking(done.ranking)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(done.files)} files in {lit(out_dir)}/")
