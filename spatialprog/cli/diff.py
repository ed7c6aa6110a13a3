"""``spatialprog diff``: two planning cycles compared."""

from __future__ import annotations

from pathlib import Path

import click

from .options import console, lit


@click.command()
@click.argument("old", type=click.Path(path_type=Path, file_okay=False, exists=True), metavar="OLD_OUT")
@click.argument("new", type=click.Path(path_type=Path, file_okay=False, exists=True), metavar="NEW_OUT")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write diff_sites.csv, diff_headroom.csv, diff_shortfall.csv, diff_ranks.csv, "
                   "diff_programme.csv and diff_summary.txt here.")
@click.option("--tolerance", "tolerance_mw", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Headroom changes up to this many MW are not reported.")
def diff(old: Path, new: Path, out_dir: Path | None, tolerance_mw: float) -> None:
    """Compare two finished runs (output folders of 'spatialprog run').

    Reports sites added, removed and changed, headroom changes per substation
    and year, first shortfall years that moved, rank changes and programme
    changes.

    \b
    Example:
      spatialprog diff out/cycle-2023 out/cycle-2025 --out out/diff
    """
    from ..diff import diff_runs, write_diff
    from ..outputs import RunOutputs

    d = diff_runs(RunOutputs.read(old), RunOutputs.read(new), tolerance_mw=tolerance_mw)
    for line in d.summary.splitlines():
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    if out_dir is not None:
        files = write_diff(d, out_dir)
        console.print(f"[bold green]done[/]: {len(files)} files in {lit(out_dir)}/", soft_wrap=True)
