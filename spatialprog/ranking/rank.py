"""The whole ranking of a run: scores, the programme, variants and scale levels; writing it.

:func:`rank_run` is pure: it takes every table from the run
(``result.plan.reference``). :func:`write_ranking` is the output edge: it hands
the finished tables to :mod:`spatialprog.writer`. Reading a run folder back is
:meth:`spatialprog.outputs.RunOutputs.read`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import fields as F
from ..compare import compare_variants, no_regret, variant_summary
from ..errors import NoticeLog, ProjectError
from ..folders import atomic_output_dir
from ..node_programme import node_programme
from ..processes import beside, can_fork
from ..programme import PROGRAMME_COLUMNS, interventions, zone_jobs
from ..scales import higher_level_check, scale_sums
from ..waiting import WAITING_COLUMNS, waiting_demand
from ..workbooks import programme_book
from ..writer import run_timestamp, write_tables, write_xlsx
from .criteria import SiteKeys, substation_criteria
from .scoring import SCORE_DECIMALS, Scores
from .settings import RankingSettings, project_prefix

#: files written by :func:`write_ranking`: a CSV per table of ``RankingResult.tables()``, what waits per year and
#: site (``RankingResult.waiting``), and the workbook
RANKING_FILES = (*(f"{name}.csv" for name in F.RANKING_TABLES), "waiting_demand.csv", "programme.xlsx")


@dataclass
class RankingResult:
    """Everything :func:`rank_run` computes; every table also goes into ``RunOutputs.tables``.

    Attributes
    ----------
    programme : DataFrame
        The ranked programme of interventions, all variants (base first).
    substations, sites : DataFrame
        Scores with their breakdown, per variant.
    sensitivity : DataFrame
    variants_comparison, no_regret : DataFrame
        Every carrier's stations (``carrier``, ``unit``).
    scale_sums, higher_level_check : DataFrame
    criteria : DataFrame
        The criteria and weights in force, per variant.
    variants_summary : DataFrame
        What each variant does per carrier and direction
        (:func:`spatialprog.compare.variant_summary`).
    notices : NoticeLog
    waiting : DataFrame
        What waits on each short substation, per variant, year and site
        (:func:`spatialprog.waiting.waiting_demand` with a ``variant`` column):
        the programme's waiting figures are its peak year.
    run : RunResult or None
        The run that was ranked (names, parameters and reference tables for
        the workbook).
    """

    programme: pd.DataFrame
    substations: pd.DataFrame
    sites: pd.DataFrame
    sensitivity: pd.DataFrame
    variants_comparison: pd.DataFrame
    no_regret: pd.DataFrame
    scale_sums: pd.DataFrame
    higher_level_check: pd.DataFrame
    criteria: pd.DataFrame
    variants_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    notices: NoticeLog = field(default_factory=NoticeLog)
    waiting: pd.DataFrame = field(default_factory=pd.DataFrame)
    run: Any = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed as in ``RunOutputs.tables`` (file stem = key; :data:`spatialprog.fields.RANKING_TABLES`)."""
        return {
            "programme": self.programme,
            "ranking_substations": self.substations,
            "ranking_sites": self.sites,
            "sensitivity": self.sensitivity,
            "variants_comparison": self.variants_comparison,
            "variants_summary": self.variants_summary,
            "no_regret": self.no_regret,
            "scale_sums": self.scale_sums,
            "higher_level_check": self.higher_level_check,
            "ranking_criteria_used": self.criteria,
        }

    def attach(self, outputs) -> None:
        """Put the tables into a :class:`~spatialprog.outputs.RunOutputs` (``outputs.tables["programme"]`` ...)."""
        outputs.tables.update(self.tables())


def _check_ids(ids: Sequence[str], known: set[str], key: str, fname: str) -> None:
    for i in ids:
        if i not in known:
            raise ProjectError(f"{fname}[ranking] {key}: '{i}' is not a substation id - use an id of the substations "
                               f"layer")


def _score(raw: pd.DataFrame, criteria: pd.DataFrame, applies_to: str, id_cols: list[str], keep: list[str], *,
           variant: str, horizon: int, settings: RankingSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score table (with the ``keep`` columns of ``raw``) and sensitivity of one kind of item in one variant."""
    crit = criteria[criteria["applies_to"].isin([applies_to, "both"])]
    scored = Scores(raw, crit, horizon, id_cols)  # normalised once, ids sorted once: the table and the sensitivity
    table, order = scored.table(crit)
    if not scored.ids.duplicated().any():  # row i of the table is row order[i] of raw: its columns by position
        for c in keep:
            table[c] = raw[c].iloc[order].reset_index(drop=True)
    else:
        table = table.merge(raw[[*id_cols, *keep]], on=id_cols, how="left")
    table.insert(0, F.VARIANT, variant)
    sens = scored.sensitivity(crit, top_n=settings.top_n, pct=settings.sensitivity_pct)
    sens.insert(0, "items", f"{applies_to}s")
    sens.insert(0, F.VARIANT, variant)
    return table, sens


#: below this many demand rows the scale sums are summed in the run's own process (a fork costs more)
SUMS_BESIDE_ROWS = 200_000


def rank_run(result, *, conflicts: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
             settings: RankingSettings | None = None, boundaries=None) -> RankingResult:
    """Rank substations and sites, build the programme, compare variants and scale levels.

    Parameters
    ----------
    result : RunResult
    conflicts : DataFrame or dict, optional
        Per-feature conflict summary (``layer, id, n_conflicts,
        worst_severity``); without it the conflicts criterion scores 0.
    settings : RankingSettings, optional
        Default: ``result.plan.reference.ranking``.
    boundaries : GeoDataFrame, optional
        Boundaries for the scale sums (default: ``result.plan.reference.boundaries``,
        the project's boundaries layer plus the ones under ``[[ranking.boundaries]]``).

    Returns
    -------
    RankingResult

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> rr = rank_run(compute(read_plan("layers/example_region.toml")))
    >>> rr.programme.loc[rr.programme["variant"] == "basis", "substation_id"].iloc[0]
    'OS08'
    """
    project = result.project
    ref = result.plan.reference
    settings = ref.ranking if settings is None else settings
    fname = project_prefix(project)
    known = set(result.plan.layers["substations"]["id"].astype(str))
    _check_ids(settings.land_reserved, known, "land_reserved", fname)
    _check_ids(settings.provincial_programme, known, "provincial_programme", fname)
    notices = NoticeLog()
    variants = list(dict.fromkeys(result.headroom[F.VARIANT]))

    # the scale sums need nothing of the variants' ranking: summed in a process of their own meanwhile
    # (spatialprog.processes) when the run is large enough to pay for the fork
    b = boundaries if boundaries is not None else ref.boundaries
    sums_of = partial(scale_sums, boundaries=b)
    with beside(sums_of, result, fork=can_fork() and len(result.demand) >= SUMS_BESIDE_ROWS) as sums_job:
        ranked = _rank_variants(result, variants, settings=settings, conflicts=conflicts)
    progs, subs_r, sites_r, sens, waits, crit_used = ranked
    cols = [PROGRAMME_COLUMNS[0], "programme_rank", *PROGRAMME_COLUMNS[1:], "score", "explanation"]
    programme = pd.concat(progs, ignore_index=True) if progs else pd.DataFrame(columns=cols)
    nr = no_regret(programme, variants)
    if len(programme):
        cls = nr.set_index([F.CARRIER, F.SUBSTATION_ID])["regret_class"]
        programme["regret_class"] = cls.reindex(pd.MultiIndex.from_frame(programme[[F.CARRIER, F.SUBSTATION_ID]])
                                                ).to_numpy()
    else:
        programme["regret_class"] = pd.Series(dtype=object)
    every = [t for t in (result.headroom, result.carrier_headroom) if len(t)]
    comp = compare_variants(pd.concat(every, ignore_index=True) if len(every) > 1 else result.headroom)
    summary = variant_summary(comp, programme)

    sums = sums_job.result()
    hl = higher_level_check(result.headroom, result.plan.layers["substations"], settings.higher_level,
                            params=project.variants, notices=notices)
    return RankingResult(
        programme=programme,
        substations=pd.concat(subs_r, ignore_index=True),
        sites=pd.concat(sites_r, ignore_index=True) if sites_r else pd.DataFrame(),
        sensitivity=pd.concat(sens, ignore_index=True),
        variants_comparison=comp,
        variants_summary=summary,
        no_regret=nr,
        scale_sums=sums,
        higher_level_check=hl,
        criteria=pd.concat(crit_used, ignore_index=True),
        notices=notices,
        waiting=pd.concat(waits, ignore_index=True),
        run=result,
    )


def _rank_variants(result, variants: list[str], *, settings: RankingSettings, conflicts) -> tuple[list, ...]:
    """Per variant: the programme's parts, the ranked substations and sites, their sensitivity, what waits and
    the criteria used (lists, in the variants' order)."""
    ref = result.plan.reference
    horizon = max(len(result.project.years) - 1, 1)
    cats = ref.priority_categories
    progs, subs_r, sites_r, sens, waits = [], [], [], [], []
    crit_used = []
    jobs = zone_jobs(result.plan.layers)
    site_keys = None
    for v in variants:
        crit = settings.criteria_for(v)
        crit_used.append(crit.assign(variant=v)[["variant", "criterion", "weight", "direction", "normalisation",
                                                 "scale_max", "unit", "description", "source"]])
        wait = waiting_demand(result.headroom, result.allocated, v, jobs=jobs)  # once: programme and criteria
        waits.append(wait.assign(variant=v)[[F.VARIANT, *WAITING_COLUMNS]])
        prog = interventions(result, v, land_reserved=settings.land_reserved, waiting=wait)
        raw_s = substation_criteria(result, v, prog, settings=settings, conflicts=conflicts, categories=cats,
                                    waiting=wait)
        sc, s = _score(raw_s, crit, "substation", ["id"], ["name"], variant=v, horizon=horizon, settings=settings)
        sc = sc.rename(columns={"id": F.SUBSTATION_ID})
        sc.insert(4, "in_programme", sc[F.SUBSTATION_ID].isin(prog[F.SUBSTATION_ID]))
        subs_r.append(sc)
        sens.append(s)

        if site_keys is None:  # the sites as integer keys, once for every variant
            site_keys = SiteKeys(result, conflicts=conflicts, categories=cats)
        raw_t = site_keys.criteria(v, settings=settings)
        if len(raw_t):
            st, s = _score(raw_t, crit, "site", [F.LAYER, F.SITE_ID], ["name", F.SUBSTATION_ID], variant=v,
                           horizon=horizon, settings=settings)
            sites_r.append(st)
            sens.append(s)

        # the programme: interventions ranked by their substation's score
        if len(prog):
            p = prog.merge(sc[[F.SUBSTATION_ID, "score", "explanation"]], on=F.SUBSTATION_ID, how="left")
            p = p.assign(_s=-p["score"].round(SCORE_DECIMALS)).sort_values(["_s", F.SUBSTATION_ID], kind="stable")
            p = p.drop(columns="_s").reset_index(drop=True)
            p.insert(1, "programme_rank", np.arange(1, len(p) + 1))
            progs.append(p)
        progs.extend(node_programme(result, v))
    return progs, subs_r, sites_r, sens, waits, crit_used


# --------------------------------------------------------------------------------------
# writing (the output edge)


def write_ranking(ranking: RankingResult, out_dir: str | Path, *, run_date: datetime | None = None) -> list[Path]:
    """Write the ranking tables into ``out_dir``, added to what it holds, all or nothing.

    Files (:data:`RANKING_FILES`): programme.csv, ranking_substations.csv,
    ranking_sites.csv, sensitivity.csv, variants_comparison.csv,
    no_regret.csv, scale_sums.csv, higher_level_check.csv,
    ranking_criteria_used.csv, waiting_demand.csv (what waits on each short
    substation per variant, year and site), and programme.xlsx (the workbook for people,
    :func:`spatialprog.sheets.programme_book`), all through
    :mod:`spatialprog.writer`. ``RunOutputs.read`` reads them back
    from a run folder. ``out_dir`` (new, empty, or an output folder of
    spatialprog such as a run's) is replaced as a whole by itself with these
    files added or replaced (:class:`~spatialprog.folders.atomic_output_dir`
    with ``add=True``).

    Parameters
    ----------
    ranking : RankingResult
    out_dir : path
    run_date : datetime, optional
        The date inside programme.xlsx (default:
        :func:`~spatialprog.writer.run_timestamp`).

    Returns
    -------
    list of Path
    """
    out = Path(out_dir)
    with atomic_output_dir(out, add=True, kind="ranking") as stage:
        files = write_tables(stage, {**ranking.tables(), "waiting_demand": ranking.waiting})
        book = programme_book(ranking, when=run_timestamp(run_date))
        write_xlsx(stage / "programme.xlsx", book.sheets, layout=book.layout, run_date=run_date)
        files.append("programme.xlsx")
    return [out / f for f in files]
