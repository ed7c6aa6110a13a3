"""``spatialprog run``: the main job."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from .options import console, project_argument
from .report import print_notices, print_summary


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Output folder (created; previous outputs are replaced only on success).")
@click.option("--variant", "variants", multiple=True, help="Run only these variants (repeatable; default all).")
@click.option("--no-maps", is_flag=True, help="Do not draw map.html and the static maps.")
@click.option("--no-qgis", is_flag=True, help="Do not write spatialprog.gpkg / spatialprog.qgz (the QGIS hand-off).")
def run(project: Path, out_dir: Path, variants: tuple[str, ...], no_maps: bool, no_qgis: bool) -> None:
    """Compute demand, assignment and headroom for PROJECT.toml and write the outputs.

    Writes results.gpkg, headroom.csv/.xlsx (long format: substation, variant,
    year, direction, firm capacity, load, headroom, status), demand.csv,
    assignment.csv, shortfall.csv, notices.csv and manifest.json into --out,
    the maps (map.html, static PNG/PDF) and spatialprog.gpkg + spatialprog.qgz
    for QGIS (styled, with a project). All files are staged and renamed into
    place together: a failed run leaves the previous outputs intact.

    \b
    Examples:
      spatialprog run layers/example_region.toml --out out/
      spatialprog run layers/example_region.toml --out out/ --variant basis --no-maps
    """
    from ..outputs import RunOutputs, write_run
    from ..pipeline import compute, read_plan
    from ..ranking import rank_run, write_ranking
    from .rank import print_ranking

    t0 = time.perf_counter()
    with console.status("reading layers ...") as status:
        def say(s: str) -> None:
            status.update(s + " ...")

        plan = read_plan(project, progress=say)
        result = compute(plan, variants=list(variants) or None, progress=say)
        say("ranking and programme")
        ranking = rank_run(result, conflicts=result.conflicts.summary if result.conflicts is not None else None)

        def programme(stage: Path) -> list[Path]:
            return write_ranking(ranking, stage)

        extras = [programme]
        if not no_maps:
            def maps(stage: Path) -> list[Path]:
                from ..maps import write_maps

                return write_maps(RunOutputs.read(stage), stage, progress=say)

            extras.append(maps)
        if not no_qgis:
            def qgis(stage: Path) -> list[Path]:
                from ..export import export_qgis

                say("writing spatialprog.gpkg (QGIS)")
                gpkg = export_qgis(RunOutputs.read(stage), stage / "spatialprog.gpkg", inputs=plan.layers)
                return [gpkg, gpkg.with_suffix(".qgz")]

            extras.append(qgis)
        files = write_run(result, out_dir, progress=say, run_date=datetime.now(UTC), extras=extras)
    print_notices(result.notices)
    print_summary(result)
    print_notices(ranking.notices)
    print_ranking(ranking)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(files)} files in {out_dir}/")
