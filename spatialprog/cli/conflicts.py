"""``spatialprog conflicts``: land-claim conflicts alone."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .options import console, lit, project_argument
from .report import print_notices


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write conflicts.gpkg, conflicts.csv and conflict_matrix.csv here (default: print only).")
def conflicts(project: Path, out_dir: Path | None) -> None:
    """Find where land claims collide: overlaps, distance zones, claims inside constraint areas.

    Rules come from data/conflict_rules.csv (change or add them under
    [conflicts] in PROJECT.toml); constraint layers (Natura 2000, water, ...)
    are named under [constraints.NAME] and read with a margin around the
    region, so a zone reaching in from outside still counts.

    \b
    Examples:
      spatialprog conflicts layers/example_region.toml
      spatialprog conflicts layers/example_region.toml --out out/conflicts
    """
    import pandas as pd

    from ..distributed import open_engine
    from ..folders import atomic_output_dir
    from ..outputs import split_by_geometry
    from ..pipeline import land_claim_conflicts, read_plan
    from ..writer import finish_geopackage, write_tables

    with console.status("reading layers ...") as status:
        plan = read_plan(project, progress=lambda s: status.update(lit(s) + " ..."))
        status.update("finding conflicts ...")
        with open_engine(getattr(plan.project, "compute", None)) as engine:  # [compute], as spatialprog run
            result = land_claim_conflicts(plan, engine=engine)
    print_notices(result.notices)
    m = result.matrix[result.matrix["n_conflicts"] > 0]
    t = Table(title=f"Land-claim conflicts: {len(result.conflicts)} in {len(m)} pairs of layers", title_justify="left")
    for col in ("layer A", "layer B", "conflicts", "overlap m2"):
        t.add_column(col, justify="right" if col in ("conflicts", "overlap m2") else "left")
    for r in m.itertuples(index=False):
        t.add_row(lit(r.layer_a), lit(r.layer_b), str(r.n_conflicts), f"{r.area_m2:,.0f}" if r.area_m2 else "")
    console.print(t)
    worst = result.conflicts.sort_values(["severity_rank", "rule_id", "id_a"], ascending=[False, True, True],
                                         kind="stable").head(10)
    for r in worst.itertuples(index=False):
        console.print(f"  [{'red' if r.severity == 'hoog' else 'yellow'}]{r.severity}[/] {r.rule_id} "
                      f"{lit(r.layer_a)} {lit(r.id_a)} x {lit(r.layer_b)} {lit(r.id_b)}: {lit(r.description_nl)}", soft_wrap=True)
    if out_dir is not None:
        with atomic_output_dir(out_dir, kind="conflicts") as stage:  # replaced as a whole
            for suffix, part in split_by_geometry(result.conflicts).items():
                part.to_file(stage / "conflicts.gpkg", layer=f"conflicts_{suffix}", driver="GPKG")
            finish_geopackage(stage / "conflicts.gpkg")  # the run's date, not the wall clock
            write_tables(stage, {"conflicts": pd.DataFrame(result.conflicts.drop(columns="geometry")),
                                 "conflict_matrix": result.matrix})
        console.print(f"[bold green]written[/] conflicts.gpkg, conflicts.csv, conflict_matrix.csv in {lit(out_dir)}/")
