"""``spatialprog rank``: the weighing framework, the programme and the scale checks."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from .options import console, lit, project_argument


def _years(years: list[int]) -> str:
    """``2027, 2029-2031``: years as runs.

    Examples
    --------
    >>> _years([2027, 2029, 2030, 2031])
    '2027, 2029-2031'
    """
    runs: list[list[int]] = []
    for y in sorted(set(years)):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def print_ranking(rr, *, n: int = 10) -> None:
    """Print the top of the programme (base variant), no-regret counts and higher-level flags.

    The step and start columns are the programme's own Dutch cells
    (``transformer_step``, ``start_by``: "te laat: had in 2023 moeten
    starten"), so the command line says what the CSV, the workbook and the
    programme map say. A higher-level node is short from its first year
    without headroom, from :func:`spatialprog.headroom.first_shortfall` over
    the higher-level check (the one definition of short); the years in which
    every substation below it still fits are named as a hidden overload.

    Ids, node names, variants and criteria are user text: they go into the
    markup through :func:`~spatialprog.cli.options.lit`.
    """
    from .. import fields as F
    from ..carriers import LABELS_NL
    from ..config import BASE_VARIANT
    from ..headroom import first_shortfall

    p = rr.programme
    if not len(p):
        console.print("[green]programme:[/] no substation runs short within the horizon in any variant")
        return
    variants = list(dict.fromkeys(p[F.VARIANT]))
    v = BASE_VARIANT if BASE_VARIANT in variants else variants[0]
    grid = p[p[F.CARRIER] == F.ELECTRICITY] if F.CARRIER in p else p
    top = grid[grid[F.VARIANT] == v].head(n)
    t = Table(title=f"Programme of interventions, variant '{lit(v)}' (top {len(top)} of "
                    f"{int((grid[F.VARIANT] == v).sum())} substations)", title_justify="left")
    for col, j in [("#", "right"), ("substation", "left"), ("maatregel", "left"), ("firm MVA", "right"),
                   ("land m2", "right"), ("start", "left"), ("score", "right"), ("dwellings", "right"),
                   ("jobs", "right"), ("MW waiting", "right"), ("variants", "left")]:
        t.add_column(col, justify=j)
    for r in top.itertuples(index=False):
        start = f"[red]{lit(r.start_by)}[/]" if r.late_years > 0 else lit(r.start_by)
        step = lit(r.transformer_step)
        cand = getattr(r, "candidate_site_id", None)
        if isinstance(cand, str) and cand:  # the best candidate site of a new station (spatialprog.siting)
            step += f" (kandidaat-locatie {lit(cand)})"
        t.add_row(str(r.programme_rank), lit(r.substation_id), step, f"{r.added_firm_mva:.0f}",
                  f"{r.land_m2:,.0f}" if r.land_m2 else "", start, f"{r.score:.3f}", f"{r.dwellings_waiting:,.0f}", f"{r.jobs_waiting:,.0f}",
                  f"{r.offtake_mw_waiting + r.feedin_mw_waiting:.1f}",
                  "all" if getattr(r, "regret_class", "") == "no_regret" else "some")
    console.print(t)
    others = p[(p[F.CARRIER] != F.ELECTRICITY) & (p[F.VARIANT] == v)] if F.CARRIER in p else p.iloc[0:0]
    for r in others.itertuples(index=False):
        late = "[red]" if r.late_years > 0 else ""
        console.print(f"  {lit(LABELS_NL.get(r.carrier, r.carrier))} #{r.programme_rank} {lit(r.substation_id)}"
                      f"{' ' + lit(r.name) if isinstance(r.name, str) and r.name else ''}: {lit(r.transformer_step)}, "
                      f"{late}{lit(r.start_by)}{'[/]' if late else ''}; waiting {r.dwellings_waiting:,.0f} dwellings, "
                      f"{r.offtake_mw_waiting + r.feedin_mw_waiting:.1f} {lit(r.unit)}", soft_wrap=True)
    console.print("  waiting: the planned demand that cannot connect in the year the most waits (waiting_year), the "
                  "sites that cause the shortfall included", soft_wrap=True)
    nr = rr.no_regret
    if len(nr):
        k = int((nr["regret_class"] == "no_regret").sum())
        console.print(f"  no-regret: {k} interventions appear in every variant; {len(nr) - k} in only some")
    hl = rr.higher_level_check
    if len(hl):
        checked = hl[hl["flag"] != "no_capacity"].rename(columns={"node_id": F.SUBSTATION_ID})
        first = first_shortfall(checked).dropna(subset=[F.FIRST_SHORTFALL_YEAR]) if len(checked) else checked
        for fr in first.itertuples(index=False):
            node, var, d = fr.substation_id, fr.variant, fr.direction
            at = (hl["node_id"] == node) & (hl[F.VARIANT] == var) & (hl[F.DIRECTION] == d)
            hidden = hl.loc[at & (hl["flag"] == "hidden_overload"), F.YEAR].astype(int).tolist()
            also = (f"; hidden overload in {_years(hidden)}: every substation below it still fits" if hidden else "")
            console.print(f"  [dark_orange]higher level:[/] {lit(node)} ({lit(var)}, {lit(d)}) "
                          f"has no headroom from {int(fr.first_shortfall_year)}{also}", soft_wrap=True)
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
