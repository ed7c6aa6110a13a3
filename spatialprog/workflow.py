"""The main job as one library call: read, compute, rank and write every output of a run.

:func:`run` is what ``spatialprog run`` does, without the console: it reads the
plan, computes demand, assignment and headroom, ranks substations and sites
into the programme, and writes the core outputs, the ranking tables, the maps
and the QGIS hand-off into one output folder, all staged beside it and swapped
in as a whole (:class:`~spatialprog.folders.atomic_output_dir`). The folder is
locked and checked before the plan is read, so a second run into it, or a
folder that is not an output folder of spatialprog, stops at once. The command
line is a thin wrapper over it, so a Python user and the command write the
same files.

:func:`ranking_of` and :func:`outputs_of` are the two steps the maps and the
QGIS export share with the run when they start from a project file instead of
a run folder: the ranking is computed as the run computes it (with the run's
land-claim conflicts) and attached to the in-memory outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Project
    from .outputs import RunOutputs
    from .pipeline import Plan, RunResult
    from .ranking import RankingResult
    from .siting import SitingResult

__all__ = ["CompletedRun", "run", "ranking_of", "outputs_of"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompletedRun:
    """What :func:`run` computed and wrote.

    Attributes
    ----------
    result : RunResult
        Demand, assignment, headroom and conflicts of every variant run.
    ranking : RankingResult
        The ranking of substations and sites and the programme of interventions.
    files : list of Path
        Every file written into the output folder (``out_dir / name``), in
        the order they were written.
    siting : SitingResult or None
        Surfaces, candidate sites and MV/LV stations (None with ``siting.enabled = 0``).
    """

    result: RunResult
    ranking: RankingResult
    files: list[Path]
    siting: SitingResult | None = None


def _in_stage(stage: Path, written: Sequence[Path]) -> list[Path]:
    """The files an extra wrote, as names inside the staging folder.

    ``write_run`` takes a relative path for a name, so a file under a relative
    ``out_dir`` (``out/.staging-x/programme.csv``) must be made relative to
    the stage, or the manifest would list the staging path.
    """
    return [Path(p).relative_to(stage) for p in written]


def ranking_of(result: RunResult) -> RankingResult:
    """Rank a computed run as ``spatialprog run`` does: with its land-claim conflicts.

    Parameters
    ----------
    result : RunResult

    Returns
    -------
    RankingResult

    Examples
    --------
    >>> from spatialprog.pipeline import compute, read_plan
    >>> rr = ranking_of(compute(read_plan("layers/example_region.toml"), variants=["basis"]))
    >>> int(rr.programme["programme_rank"].iloc[0])
    1
    """
    from .ranking import rank_run

    return rank_run(result, conflicts=result.conflicts.summary if result.conflicts is not None else None)


def outputs_of(result: RunResult, ranking: RankingResult | None = None, *,
               run_date: datetime | None = None) -> RunOutputs:
    """The in-memory outputs of a run with its ranking attached, as maps and export read a run folder.

    Parameters
    ----------
    result : RunResult
    ranking : RankingResult, optional
        Default: :func:`ranking_of` ``(result)``.
    run_date : datetime, optional
        Recorded in the manifest (default: :func:`~spatialprog.writer.run_timestamp`).

    Returns
    -------
    RunOutputs
        Layers, tables (the ranking's ``programme`` ... among them) and the manifest.

    Examples
    --------
    >>> from spatialprog.pipeline import compute, read_plan
    >>> outputs = outputs_of(compute(read_plan("layers/example_region.toml"), variants=["basis"]))
    >>> "programme" in outputs.tables
    True
    """
    from .outputs import RunOutputs

    outputs = RunOutputs.from_result(result, run_date=run_date)
    ranking = ranking if ranking is not None else ranking_of(result)
    siting = _siting(result, ranking)  # as the run: candidate sites and MV/LV stations, the programme's candidates
    ranking.attach(outputs)
    if siting is not None:
        outputs.layers.update(siting.layers())
    return outputs


def run(project: Project | str | Path, out_dir: str | Path, *, variants: Sequence[str] | None = None,
        maps: bool = True, qgis: bool = True, parquet: bool = False, progress: Progress | None = None,
        run_date: datetime | None = None) -> CompletedRun:
    """Compute a project and write every output of the run, as ``spatialprog run`` does.

    Writes into ``out_dir``: results.gpkg, headroom.csv/.xlsx, demand.csv,
    assignment.csv, shortfall.csv, capacity.csv, reinforcements.csv,
    notices.csv, the conflict tables (when rules apply), the ranking tables
    (programme.csv/.xlsx, ranking_substations.csv, ...), the maps (map.html,
    PNG/PDF), spatialprog.gpkg + spatialprog.qgz for QGIS, and manifest.json
    listing exactly them. Every file is staged beside ``out_dir``, which is
    then replaced as a whole: a run that fails leaves the previous outputs as
    they were, and files of an earlier run that this run does not write
    (``maps=False``: the maps) are gone.

    Parameters
    ----------
    project : Project, str or Path
        The project file (or a loaded :class:`~spatialprog.config.Project`).
    out_dir : str or Path
        The output folder; created when missing. It must be empty or an
        earlier output folder of spatialprog (with its ``manifest.json``).
    variants : sequence of str, optional
        Run only these development variants (default, or empty: all of the project).
    maps : bool
        Draw map.html and the static maps (default True).
    qgis : bool
        Write the QGIS hand-off spatialprog.gpkg and spatialprog.qgz (default True).
    parquet : bool
        Also write each table of the run as ``NAME.parquet`` beside ``NAME.csv``
        (default False; :func:`~spatialprog.writer.write_parquet`).
    progress : callable, optional
        Called with a short text before each step (the command line shows it).
    run_date : datetime, optional
        Every timestamp inside the outputs: the manifest, the GeoPackages,
        the workbooks, the QGIS project (default:
        :func:`~spatialprog.writer.run_timestamp`: ``SOURCE_DATE_EPOCH``,
        else today's date).

    Returns
    -------
    CompletedRun
        The computed result, its ranking and the files written.

    Raises
    ------
    SpatialprogError
        For a problem in the project, its layers or reference tables, or an
        output folder that is locked by another run, is not spatialprog's or
        cannot be written (one line naming it).

    Examples
    --------
    >>> import tempfile
    >>> from spatialprog import run
    >>> done = run("layers/example_region.toml", tempfile.mkdtemp(), variants=["basis"], maps=False,
    ...            qgis=False)
    >>> sorted(p.name for p in done.files)[:4]
    ['assignment.csv', 'candidate_sites.csv', 'capacity.csv', 'conflict_matrix.csv']
    >>> done.ranking.programme["substation_id"].iloc[0]
    'OS08'
    """
    from .folders import atomic_output_dir
    from .outputs import write_run
    from .pipeline import compute, read_plan
    from .processes import long_lived
    from .writer import run_timestamp

    def say(text: str) -> None:
        if progress:
            progress(text)

    if isinstance(variants, str):
        variants = [variants]
    when = run_timestamp(run_date)
    # locked and checked before anything is computed; each stage's results, alive to the end, are settled
    with atomic_output_dir(out_dir, kind="run") as stage, long_lived() as settle:
        plan = read_plan(project, progress=progress)
        settle()
        result = compute(plan, variants=list(variants) if variants else None, progress=progress)
        settle()
        say("ranking and programme")
        ranking = ranking_of(result)
        settle()
        siting = _siting(result, ranking, progress=progress)  # land for new substations, MV/LV stations
        settle()
        if siting is not None:
            result.notices.extend(siting.notices)
        written = write_run(result, stage, progress=progress, run_date=when, parquet=parquet,
                            extras=_extras(plan, ranking, maps=maps, qgis=qgis, progress=progress, when=when,
                                           siting=siting))
    files = [Path(out_dir) / p.relative_to(stage) for p in written]
    return CompletedRun(result=result, ranking=ranking, files=files, siting=siting)


def _siting(result: RunResult, ranking: RankingResult, *, progress: Progress | None = None) -> SitingResult | None:
    """The siting part (:mod:`spatialprog.siting`) when ``siting.enabled``; the programme's new-station rows
    get their best candidate (``candidate_site_id``). None when it is off."""
    from .siting import compute_siting, enabled

    if not enabled(result):
        return None
    if progress:
        progress("land for new substations and MV/LV stations")
    siting = compute_siting(result, ranking.programme)
    ranking.programme = siting.with_candidates(ranking.programme)
    return siting


def _extras(plan: Plan, ranking: RankingResult, *, maps: bool, qgis: bool, progress: Progress | None,
            when: datetime, siting: SitingResult | None = None) -> list[Callable[[Path], Sequence[Path | str]]]:
    """The writers :func:`run` adds to ``write_run``: the ranking, the maps, the QGIS hand-off."""
    from .outputs import RunOutputs
    from .ranking import write_ranking

    def say(text: str) -> None:
        if progress:
            progress(text)

    def programme(stage: Path) -> list[Path]:
        """The ranking tables and, with the siting, its tables and layers; its surfaces are written beside
        them (processes.beside: GeoTIFFs through GDAL, compressed on one core there), and this process takes
        its share of the surfaces left once its tables are written (processes.turns: each file has one
        writer), before the maps and the QGIS hand-off, which read the siting's layers and rasters."""
        from .processes import beside, can_fork, turns

        if siting is None:
            say("writing the ranking tables and the programme")
            return _in_stage(stage, write_ranking(ranking, stage, run_date=when))
        from .siting.write import surface_files, write_siting, write_surfaces

        fork = can_fork()
        take = turns(len(siting.surfaces), shared=fork)  # shared out: this process joins in after its tables
        say("writing the ranking tables and the programme" + (", beside the siting surfaces" if fork else ""))
        with beside(partial(write_surfaces, crs=plan.project.crs, threads=not fork, take=take), siting, stage,
                    fork=fork) as surfaces:
            files = _in_stage(stage, write_ranking(ranking, stage, run_date=when))
            say("writing the siting tables and candidate sites")
            land = write_siting(siting, stage, crs=plan.project.crs, when=when, surfaces=False)
            say("finishing the siting surfaces")
            write_surfaces(siting, stage, crs=plan.project.crs, threads=False, take=take)
        surfaces.result()
        return files + _in_stage(stage, [*surface_files(siting, stage), *land])

    extras: list[Callable[[Path], Sequence[Path | str]]] = [programme]
    staged: dict[Path, RunOutputs] = {}

    def read_back(stage: Path) -> RunOutputs:
        """The staged run as the maps and the export read it, read once for both (a national run's folder takes
        seconds to read); it is read after the ranking and siting files, which both need, are written."""
        if stage not in staged:
            say("reading the run back for the maps and the QGIS export")
            staged[stage] = RunOutputs.read(stage)
        return staged[stage]

    def maps_of(stage: Path) -> list[Path]:
        """The maps and the report, written straight into the run's stage (itself replaced as a whole)."""
        from .maps import draw_maps

        return [Path(n) for n in draw_maps(read_back(stage), stage, progress=progress, report=True)]

    def qgis_files(stage: Path) -> list[Path]:
        from .export import export_qgis

        gpkg = export_qgis(read_back(stage), stage / "spatialprog.gpkg", inputs=plan.layers)
        return _in_stage(stage, [gpkg, gpkg.with_suffix(".qgz")])

    if maps and qgis:
        def maps_and_handoff(stage: Path) -> list[Path]:
            """The QGIS hand-off in a process of its own beside the maps (:mod:`spatialprog.processes`):
            both only read the staged run, read back once before the fork, and write files of their own."""
            from .processes import beside

            read_back(stage)
            say("writing spatialprog.gpkg (QGIS), beside the maps")
            with beside(qgis_files, stage) as handoff:
                files = maps_of(stage)
            say("finishing spatialprog.gpkg (QGIS)")
            return files + handoff.result()

        extras.append(maps_and_handoff)
    elif maps:
        extras.append(maps_of)
    elif qgis:
        def qgis_handoff(stage: Path) -> list[Path]:
            say("writing spatialprog.gpkg (QGIS)")
            return qgis_files(stage)

        extras.append(qgis_handoff)
    return extras
