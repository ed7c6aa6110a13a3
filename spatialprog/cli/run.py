"""``spatialprog run``: the main job."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import console, project_argument
from .report import print_notices, print_summary


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Output folder (created; previous outputs are replaced only on success).")
@click.option("--variant", "variants", multiple=True, help="Run only these variants (repeatable; default all).")
def run(project: Path, out_dir: Path, variants: tuple[str, ...]) -> None:
    """Compute demand, assignment and headroom for PROJECT.toml and write the outputs.

    Writes results.gpkg, headroom.csv/.xlsx (long format: substation, variant,
    year, direction, firm capacity, load, headroom, status), demand.csv,
    assignment.csv, shortfall.csv, notices.csv and manifest.json into --out.

    \b
    Examples:
      spatialprog run layers/example_region.toml --out out/
      spatialprog run layers/example_region.toml --out out/ --variant basis
    """
    from ..outputs import write_run
    from ..pipeline import compute, read_plan

    t0 = time.perf_counter()
    with console.status("reading layers ...") as status:
        plan = read_plan(project, progress=lambda s: status.update(s + " ..."))
        result = compute(plan, variants=list(variants) or None, progress=lambda s: status.update(s + " ..."))
        files = write_run(result, out_dir, progress=lambda s: status.update(s + " ..."))
        # --- ranking and programme (spatialprog.ranking, issue 4) ---
        from ..ranking import rank_run, write_ranking

        status.update("ranking and programme ...")
        ranking = rank_run(result)
        files += write_ranking(ranking, out_dir)
        # --- end ranking ---
    print_notices(result.notices)
    print_summary(result)
    from .rank import print_ranking  # ranking (issue 4)

    print_notices(ranking.notices)
    print_ranking(ranking)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(files)} files in {out_dir}/")
