"""``spatialprog report``: one PDF report of a finished run or of a project."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import computed_project, console, lit


@click.command(name="report")
@click.argument("source", type=click.Path(path_type=Path, exists=True), metavar="OUT_DIR|PROJECT.toml")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The PDF to write. Default: rapport.pdf in OUT_DIR (listed in its manifest), or in the current "
                   "folder for a project file.")
def report(source: Path, out_file: Path | None) -> None:
    """Write one A4 PDF report: summary, shortfalls, maps, programme, conflicts, carriers, variants, method.

    SOURCE is the output folder of 'spatialprog run' (read back, not recomputed; 'run' writes the same
    report as rapport.pdf) or a project file (computed in memory, only the PDF is written).

    \b
    Examples:
      spatialprog report out/
      spatialprog report layers/example_region.toml --out rapport.pdf
    """
    from ..report import REPORT_PDF, write_report
    from ..writer import MANIFEST, manifest_kind

    t0 = time.perf_counter()
    with console.status("reading ...") as status:
        toelichting = None
        if source.is_dir():
            from ..outputs import RunOutputs

            outputs = RunOutputs.read(source)
            out_file = out_file or source / REPORT_PDF
        else:
            import pandas as pd

            from ..outputs import result_tables
            from ..workbooks import headroom_book, programme_book
            from ..workflow import outputs_of
            from ..writer import run_timestamp

            _, result, ranking = computed_project(source, status, hint="OUT_DIR|PROJECT.toml")
            when = run_timestamp()
            outputs = outputs_of(result, ranking, run_date=when)
            toelichting = pd.concat([headroom_book(result, result_tables(result), when=when).sheets["Toelichting"],
                                     programme_book(ranking, when=when).sheets["Toelichting"]], ignore_index=True)
            out_file = out_file or Path(REPORT_PDF)
        status.update("drawing the report ...")
        folder = out_file.parent
        if (folder / MANIFEST).is_file() and manifest_kind(folder) is not None:
            # inside an output folder of spatialprog: added to it, all or nothing, and listed in its manifest
            from ..folders import atomic_output_dir

            with atomic_output_dir(folder, add=True, kind="report") as stage:
                write_report(outputs, stage / out_file.name, toelichting=toelichting)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            write_report(outputs, out_file, toelichting=toelichting)
    console.print(f"[bold green]done[/] in {time.perf_counter() - t0:.1f} s: {lit(out_file)}")
