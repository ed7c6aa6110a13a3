"""``spatialprog suitability``: land for new substations and MV/LV stations, alone (``run`` includes it)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from .options import console, lit, project_argument


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Output folder: new, empty or an earlier output folder (the files are added).")
@click.option("--variant", "variants", multiple=True, help="Only these variants (repeatable; default all).")
def suitability(project: Path, out_dir: Path, variants: tuple[str, ...]) -> None:
    """Suitability surfaces, candidate sites for new substations and MV/LV stations for PROJECT.toml.

    Computes the run (demand, assignment, headroom) and its programme, then
    writes into --out: siting_*.tif with a .qml style each (Cloud-Optimized
    GeoTIFF: demand density per milestone year, exclusion, distance to the
    demand that falls short and to HV lines, suitability),
    candidate_sites.csv, mvlv_stations.csv, mvlv_substations.csv and
    siting.gpkg (layers candidate_sites and mvlv_stations). The folder's
    other files stay. ``spatialprog run`` writes the same, and the
    programme's new-station rows name their best candidate. The parameters
    are siting.* and mvlv.* in data/parameters.toml (README, "Land for new
    substations").

    \b
    Examples:
      spatialprog suitability layers/example_region.toml --out out/siting
      spatialprog suitability layers/example_region.toml --variant basis
    """
    from ..folders import atomic_output_dir
    from ..pipeline import compute, read_plan
    from ..siting import compute_siting
    from ..siting.write import write_siting
    from ..workflow import ranking_of
    from .report import print_notices

    t0 = time.perf_counter()
    with atomic_output_dir(out_dir, add=True, kind="siting") as stage:
        with console.status("reading layers ...") as status:
            plan = read_plan(project, progress=lambda s: status.update(lit(s) + " ..."))
            result = compute(plan, variants=list(variants) or None, progress=lambda s: status.update(lit(s) + " ..."))
            status.update("ranking and programme ...")
            ranking = ranking_of(result)
            status.update("land for new substations and MV/LV stations ...")
            siting = compute_siting(result, ranking.programme)
            status.update("writing ...")
            files = write_siting(siting, stage, crs=plan.project.crs, gpkg=stage / "siting.gpkg")
    print_notices(siting.notices)
    print_siting(siting)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(files)} files in {lit(out_dir)}/",
                  soft_wrap=True)


def print_siting(siting) -> None:
    """The candidate sites (best per substation and variant) and the MV/LV totals, on the console."""
    c = siting.candidates
    if len(c):
        t = Table(title="Candidate sites for new substations (best per substation)", title_justify="left")
        for col, j in [("variant", "left"), ("substation", "left"), ("candidate", "left"), ("score", "right"),
                       ("m2", "right"), ("to demand m", "right"), ("to HV line m", "right"), ("conflicts", "left")]:
            t.add_column(col, justify=j)
        for r in c[c["candidate_rank"] == 1].itertuples(index=False):
            t.add_row(lit(r.variant), lit(r.substation_id), lit(r.candidate_id), f"{r.score:.3f}",
                      f"{r.area_m2:,.0f}", f"{r.distance_to_demand_m:,.0f}", f"{r.distance_to_hv_line_m:,.0f}",
                      lit(r.conflict_rules) or "-")
        console.print(t)
    else:
        console.print("[green]candidate sites:[/] the programme proposes no new substation")
    m = siting.mvlv
    if len(m):
        first = m[m["variant"] == m["variant"].iat[0]]
        flagged = first[first["flag"] != ""]
        console.print(f"  MV/LV stations ({lit(first['variant'].iat[0])}, {int(first['year'].iat[0])}): "
                      f"{int(first['n_stations'].sum()):,} for {len(first)} sites, {first['land_m2'].sum():,.0f} m2"
                      + (f"; too small or dense: {', '.join(lit(x) for x in flagged['site_id'])}" if len(flagged)
                         else ""), soft_wrap=True)
