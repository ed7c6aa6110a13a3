"""``spatialprog validate``: check the project file and layers only."""

from __future__ import annotations

from pathlib import Path

import click

from .options import console, lit, project_argument
from .report import print_notices


@click.command()
@project_argument
def validate(project: Path) -> None:
    """Check PROJECT.toml, every layer it names, the conflict rules and the ranking settings; compute nothing.

    Reports every problem (one line each, naming layer, feature and field)
    and every repair. Exit code 0 when valid, 2 when not.

    \b
    Example:
      spatialprog validate layers/example_region.toml
    """
    from ..pipeline import read_plan

    with console.status("validating ..."):
        plan = read_plan(project)  # layers, and the reference tables: rules, [conflicts], [ranking]
        rules = plan.reference.conflict_rules
    for kind, df in plan.layers.items():
        console.print(f"  [green]ok[/] {lit(f'{kind:<18}')} {len(df):>6} features")
    console.print(f"  [green]ok[/] {'conflict rules':<18} {len(rules.enabled):>6} enabled")
    print_notices(plan.notices)
    console.print(f"[bold green]valid:[/] {lit(plan.project.name)} ({len(plan.layers)} layers, "
                  f"{len(plan.project.variants)} variants, horizon {plan.project.years[0]}-{plan.project.years[-1]})",
                  soft_wrap=True)
