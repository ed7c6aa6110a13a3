"""``spatialprog rank``: the weighing framework, the programme and the scale checks."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from .options import console, lit, project_argument


def print_ranking(rr, *, n: int = 10) -> None:
    """Print the top of the programme (base variant), no-regret counts and higher-level flags.

    Ids, node names, variants and criteria are user text: they go into the
    markup through :func:`~spatialprog.cli.options.lit`.
    """
    from .. import fields as F
    from ..config import BASE_VARIANT

    p = rr.programme
    if not len(p):
        console.print("[green]programme:[/] no substation runs short within the horizon in any variant")
        return
    variants = list(dict.fromkeys(p[F.VARIANT]))
    v = BASE_VARIANT if BASE_VARIANT in variants else variants[0]
    top = p[p[F.VARIANT] == v].head(n)
    t = Table(title=f"Programme of interventions, variant '{lit(v)}' (top {len(top)} of "
                    f"{int((p[F.VARIANT] == v).sum())})", title_justify="left")
    for col, j in [("#", "right"), ("substation", "left"), ("intervention", "left"), ("step", "left"),
                   ("firm MVA", "right"), ("land m2", "right"), ("needed by", "right"), ("score", "right"),
                   ("dwellings", "right"), ("jobs", "right"), ("MW waiting", "right"), ("variants", "left")]:
        t.add_column(col, justify=j)
    for r in top.itertuples(index=False):
        late = f" [red](late {r.late_years})[/]" if r.late_years > 0 else ""
        t.add_row(str(r.programme_rank), lit(r.substation_id), lit(r.intervention), lit(r.transformer_step),
                  f"{r.added_firm_mva:.0f}", f"{r.land_m2:,.0f}" if r.land_m2 else "", f"{r.needed_by_year}{late}",
                  f"{r.score:.3f}", f"{r.dwellings_waiting:,.0f}", f"{r.jobs_waiting:,.0f}",
                  f"{r.offtake_mw_waiting + r.feedin_mw_waiting:.1f}",
                  "all" if getattr(r, "regret_class", "") == "no_regret" else "some")
    console.print(t)
    nr = rr.no_regret
    if len(nr):
        k = int((nr["regret_class"] == "no_regret").sum())
        console.print(f"  no-regret: {k} interventions appear in every variant; {len(nr) - k} in only some")
    hl = rr.higher_level_check
    if len(hl):
        hidden = hl[hl["flag"] == "hidden_overload"]
        for (node, var), g in hidden.groupby(["node_id", F.VARIANT], sort=True):
            yrs = g[F.YEAR].astype(int).tolist()
            console.print(f"  [dark_orange]higher level:[/] {lit(node)} ({lit(var)}) is over capacity in "
                          f"{', '.join(map(str, yrs))} while every substation below it fits", soft_wrap=True)
        over = hl[hl["flag"] == "overload"]
        if len(over):
            first = over.groupby(["node_id", F.VARIANT])[F.YEAR].min()
            console.print("  [red]higher level overloaded[/] (from): " +
                          "; ".join(f"{lit(nd)} {lit(vv)} {int(y)}" for (nd, vv), y in first.items()), soft_wrap=True)
    s = rr.sensitivity
    if len(s):
        ss = s[(s["items"] == "substations") & (s[F.VARIANT] == v)]
        if len(ss):
            worst = ss.sort_values(["n_top_changed", "criterion"], ascending=[False, True], kind="stable").iloc[0]
            console.print(f"  sensitivity ({lit(v)}): weights +-{abs(worst['change_pct']):g} % move at most "
                          f"{int(worst['n_top_changed'])} of the top substations (most: {lit(worst['criterion'])})",
                          soft_wrap=True)


@click.command()
@project_argument
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Output folder for the ranking tables.")
@click.option("--variant", "variants", multiple=True, help="Rank only these variants (repeatable; default all).")
@click.option("--conflicts", "conflicts_csv", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="A per-feature conflict summary CSV (layer, id, n_conflicts, worst_severity).")
def rank(project: Path, out_dir: Path, variants: tuple[str, ...], conflicts_csv: Path | None) -> None:
    """Rank substations and sites, and write the programme of interventions for PROJECT.toml.

    Writes programme.csv/.xlsx, ranking_substations.csv, ranking_sites.csv,
    sensitivity.csv, variants_comparison.csv, no_regret.csv, scale_sums.csv,
    higher_level_check.csv and ranking_criteria_used.csv into --out. The
    weights come from data/ranking_criteria.csv and the project's [ranking]
    section (see the README, "Weighing framework").

    \b
    Examples:
      spatialprog rank layers/example_region.toml --out out/
      spatialprog rank layers/example_region.toml --variant basis --variant hoog
    """
    from ..pipeline import compute, read_plan
    from ..ranking import rank_run, write_ranking

    t0 = time.perf_counter()
    conflicts = None
    if conflicts_csv is not None:
        conflicts = pd.read_csv(conflicts_csv, dtype={"id": object, "layer": object})
        miss = [c for c in ("layer", "id") if c not in conflicts.columns]
        if miss:
            raise click.BadParameter(f"column '{miss[0]}' is missing - give layer, id, n_conflicts, worst_severity",
                                     param_hint="--conflicts")
    with console.status("reading layers ...") as status:
        plan = read_plan(project, progress=lambda s: status.update(lit(s) + " ..."))
        result = compute(plan, variants=list(variants) or None, progress=lambda s: status.update(lit(s) + " ..."))
        status.update("ranking ...")
        rr = rank_run(result, conflicts=conflicts)
        files = write_ranking(rr, out_dir)
    from .report import print_notices

    print_notices(rr.notices)
    print_ranking(rr)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {len(files)} files in {lit(out_dir)}/",
                  soft_wrap=True)
