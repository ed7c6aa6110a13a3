"""Two planning cycles compared: what changed between two finished runs.

The integraal-programmeren cycle repeats every two years. :func:`diff_runs`
compares two output folders (read through :class:`~spatialprog.outputs.RunOutputs`,
nothing is recomputed) and reports:

* sites added, removed and changed (input attributes, geometry, assigned substation);
* headroom per substation, variant, year and direction, old and new, and first
  shortfall years that moved;
* rank changes of the substations and changes in the programme of interventions
  (when both runs wrote the ranking tables);

as tables and a short text summary (:attr:`RunDiff.summary`).

Examples
--------
>>> from spatialprog.pipeline import read_plan, compute
>>> from spatialprog.outputs import RunOutputs
>>> r = RunOutputs.from_result(compute(read_plan("layers/example_region.toml"), variants=["basis"]))
>>> d = diff_runs(r, r)
>>> len(d.sites), len(d.headroom)
(0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .kinds import LAYER_KINDS, site_kinds

__all__ = ["RunDiff", "diff_runs", "diff_sites", "diff_headroom", "diff_ranks", "diff_programme", "write_diff"]

GEOMETRY_TOLERANCE_M = 0.01


@dataclass
class RunDiff:
    """The differences between two runs.

    Attributes
    ----------
    sites, headroom, shortfall, ranks, programme : DataFrame
    summary : str
        A few lines of text for the planner.
    """

    sites: pd.DataFrame
    headroom: pd.DataFrame
    shortfall: pd.DataFrame
    ranks: pd.DataFrame
    programme: pd.DataFrame
    summary: str

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed by their file stem."""
        return {"diff_sites": self.sites, "diff_headroom": self.headroom, "diff_shortfall": self.shortfall,
                "diff_ranks": self.ranks, "diff_programme": self.programme}


def _same(a, b) -> bool:
    na, nb = a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA, \
        b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA
    if na or nb:
        return na and nb
    if isinstance(a, int | float | np.integer | np.floating) and isinstance(b, int | float | np.integer | np.floating):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return str(a) == str(b)


def _short(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float | np.floating):
        return f"{float(v):g}"
    return str(v)


def diff_sites(old_layers: dict, new_layers: dict) -> pd.DataFrame:
    """Sites added, removed and changed between two sets of site layers.

    Returns
    -------
    DataFrame
        ``layer, site_id, change`` (added / removed / changed), ``fields``
        (changed fields, ``;``-joined) and ``detail`` (old -> new values).
    """
    rows = []
    for kind in site_kinds():
        o, n = old_layers.get(kind), new_layers.get(kind)
        if o is None and n is None:
            continue
        o = o if o is not None else n.iloc[0:0]
        n = n if n is not None else o.iloc[0:0]
        oi = o.set_index(o["id"].astype(str))
        ni = n.set_index(n["id"].astype(str))
        for sid in sorted(set(ni.index) - set(oi.index)):
            rows.append({F.LAYER: kind, F.SITE_ID: sid, "change": "added", "fields": "", "detail": ""})
        for sid in sorted(set(oi.index) - set(ni.index)):
            rows.append({F.LAYER: kind, F.SITE_ID: sid, "change": "removed", "fields": "", "detail": ""})
        cols = [c for c in LAYER_KINDS[kind].column_names if c != "id" and c in oi.columns and c in ni.columns]
        if F.SUBSTATION_ID in oi.columns and F.SUBSTATION_ID in ni.columns:
            cols.append(F.SUBSTATION_ID)
        for sid in sorted(set(oi.index) & set(ni.index)):
            a, b = oi.loc[sid], ni.loc[sid]
            changed = [c for c in cols if not _same(a[c], b[c])]
            detail = [f"{c}: {_short(a[c])} -> {_short(b[c])}" for c in changed]
            ga, gb = a.get("geometry"), b.get("geometry")
            if ga is not None and gb is not None and not shapely.equals_exact(
                    shapely.normalize(ga), shapely.normalize(gb), tolerance=GEOMETRY_TOLERANCE_M):
                changed.append("geometry")
                detail.append(f"geometry: area {shapely.area(ga):.0f} -> {shapely.area(gb):.0f} m2")
            if changed:
                rows.append({F.LAYER: kind, F.SITE_ID: sid, "change": "changed", "fields": ";".join(changed),
                             "detail": "; ".join(detail)})
    return pd.DataFrame(rows, columns=[F.LAYER, F.SITE_ID, "change", "fields", "detail"])


def diff_headroom(old: pd.DataFrame, new: pd.DataFrame, *, tolerance_mw: float = 0.01) -> pd.DataFrame:
    """Headroom per substation, variant, year and direction that changed by more than ``tolerance_mw``.

    Returns
    -------
    DataFrame
        ``substation_id, variant, year, direction, headroom_mw_old,
        headroom_mw_new, delta_mw, status_old, status_new, change`` (changed /
        added / removed); rows only in one run are included.
    """
    keys = [F.SUBSTATION_ID, F.VARIANT, F.YEAR, F.DIRECTION]
    cols = [*keys, "headroom_mw_old", "headroom_mw_new", "delta_mw", "status_old", "status_new", "change"]
    if old is None or new is None:
        return pd.DataFrame(columns=cols)
    o = old[[*keys, F.HEADROOM_MW, F.STATUS]].rename(columns={F.HEADROOM_MW: "headroom_mw_old", F.STATUS: "status_old"})
    n = new[[*keys, F.HEADROOM_MW, F.STATUS]].rename(columns={F.HEADROOM_MW: "headroom_mw_new", F.STATUS: "status_new"})
    for df in (o, n):
        df[F.SUBSTATION_ID] = df[F.SUBSTATION_ID].astype(str)
        df[F.YEAR] = df[F.YEAR].astype(int)
    m = o.merge(n, on=keys, how="outer", indicator=True)
    m["delta_mw"] = m["headroom_mw_new"] - m["headroom_mw_old"]
    m["change"] = np.select([m["_merge"] == "left_only", m["_merge"] == "right_only"], ["removed", "added"], "changed")
    keep = (m["change"] != "changed") | (m["delta_mw"].abs() > tolerance_mw) | (
        m["status_old"].astype(str) != m["status_new"].astype(str))
    m = m[keep].drop(columns="_merge")
    dir_order = {d: i for i, d in enumerate(F.DIRECTIONS)}
    m = m.sort_values(keys, key=lambda s: s.map(dir_order) if s.name == F.DIRECTION else s, kind="stable")
    return m[cols].reset_index(drop=True)


def _diff_shortfall(old: pd.DataFrame | None, new: pd.DataFrame | None) -> pd.DataFrame:
    keys = [F.SUBSTATION_ID, F.VARIANT, F.DIRECTION]
    cols = [*keys, "first_shortfall_year_old", "first_shortfall_year_new"]
    if old is None or new is None:
        return pd.DataFrame(columns=cols)
    o = old[[*keys, F.FIRST_SHORTFALL_YEAR]].rename(columns={F.FIRST_SHORTFALL_YEAR: "first_shortfall_year_old"})
    n = new[[*keys, F.FIRST_SHORTFALL_YEAR]].rename(columns={F.FIRST_SHORTFALL_YEAR: "first_shortfall_year_new"})
    for df in (o, n):
        df[F.SUBSTATION_ID] = df[F.SUBSTATION_ID].astype(str)
    m = o.merge(n, on=keys, how="outer")
    a = pd.to_numeric(m["first_shortfall_year_old"], errors="coerce").astype(float)
    b = pd.to_numeric(m["first_shortfall_year_new"], errors="coerce").astype(float)
    moved = ~((a == b) | (a.isna() & b.isna()))
    m = m[moved].assign(first_shortfall_year_old=a[moved].astype("Int64"), first_shortfall_year_new=b[moved].astype("Int64"))
    return m.sort_values(keys, kind="stable")[cols].reset_index(drop=True)


def diff_ranks(old: pd.DataFrame | None, new: pd.DataFrame | None) -> pd.DataFrame:
    """Rank changes of substations, per variant (from two ``ranking_substations`` tables).

    Returns
    -------
    DataFrame
        ``variant, substation_id, rank_old, rank_new, rank_change`` (positive
        = moved up), ``score_old, score_new``; only rows whose rank changed.
    """
    keys = [F.VARIANT, F.SUBSTATION_ID]
    cols = [*keys, "rank_old", "rank_new", "rank_change", "score_old", "score_new"]
    if old is None or new is None or not len(old) or not len(new):
        return pd.DataFrame(columns=cols)
    o = old[[*keys, "rank", "score"]].rename(columns={"rank": "rank_old", "score": "score_old"})
    n = new[[*keys, "rank", "score"]].rename(columns={"rank": "rank_new", "score": "score_new"})
    for df in (o, n):
        df[F.SUBSTATION_ID] = df[F.SUBSTATION_ID].astype(str)
    m = o.merge(n, on=keys, how="outer")
    m["rank_change"] = m["rank_old"] - m["rank_new"]
    m = m[~(m["rank_old"] == m["rank_new"])]
    m = m.assign(_a=-m["rank_change"].abs().fillna(1e9)).sort_values([F.VARIANT, "_a", F.SUBSTATION_ID], kind="stable")
    return m[cols].reset_index(drop=True)


def diff_programme(old: pd.DataFrame | None, new: pd.DataFrame | None) -> pd.DataFrame:
    """Interventions added, dropped or changed (kind, step or needed-by year), per variant."""
    keys = [F.VARIANT, F.SUBSTATION_ID]
    cols = [*keys, "change", "old", "new"]
    if old is None or new is None:
        return pd.DataFrame(columns=cols)

    def txt(df: pd.DataFrame) -> pd.Series:
        if not len(df):
            return pd.Series(dtype=object)
        s = df["intervention"].astype(str) + " " + df["transformer_step"].astype(str) + " by " + \
            df["needed_by_year"].astype(int).astype(str)
        return pd.Series(s.to_numpy(), index=pd.MultiIndex.from_frame(df[keys].astype(str)))

    a, b = txt(old), txt(new)
    rows = []
    for k in sorted(set(a.index) | set(b.index)):
        va, vb = a.get(k), b.get(k)
        if va == vb:
            continue
        ch = "added" if va is None else "dropped" if vb is None else "changed"
        rows.append({F.VARIANT: k[0], F.SUBSTATION_ID: k[1], "change": ch, "old": va or "", "new": vb or ""})
    return pd.DataFrame(rows, columns=cols)


def diff_runs(old, new, *, tolerance_mw: float = 0.01) -> RunDiff:
    """Compare two runs (:class:`~spatialprog.outputs.RunOutputs`).

    Parameters
    ----------
    old, new : RunOutputs
        E.g. ``RunOutputs.read("out/2023")`` and ``RunOutputs.read("out/2025")``.
    tolerance_mw : float
        Headroom changes at or below this are not reported.

    Returns
    -------
    RunDiff
    """
    sites = diff_sites(old.layers, new.layers)
    head = diff_headroom(old.tables.get("headroom"), new.tables.get("headroom"), tolerance_mw=tolerance_mw)
    sf = _diff_shortfall(old.tables.get("shortfall"), new.tables.get("shortfall"))
    # the ranking tables: attached (RankingResult.attach) or read back with the run (RunOutputs.read)
    ro, rn = old.tables.get("ranking_substations"), new.tables.get("ranking_substations")
    ranks = diff_ranks(ro, rn)
    prog = diff_programme(old.tables.get("programme"), new.tables.get("programme"))
    summary = _summary(old, new, sites, head, sf, ranks, prog, has_ranks=ro is not None and rn is not None,
                       tolerance_mw=tolerance_mw)
    return RunDiff(sites=sites, headroom=head, shortfall=sf, ranks=ranks, programme=prog, summary=summary)


def _label(o) -> str:
    m = o.manifest or {}
    where = str(o.out_dir) if getattr(o, "out_dir", None) is not None else "(in memory)"
    return f"{where} ({m.get('project', '?')}, run {str(m.get('run_date', '?'))[:10]})"


def _summary(old, new, sites, head, sf, ranks, prog, *, has_ranks: bool, tolerance_mw: float) -> str:
    lines = [f"old: {_label(old)}", f"new: {_label(new)}"]
    vo, vn = old.variants, new.variants
    if set(vo) != set(vn):
        lines.append(f"variants: only in old {sorted(set(vo) - set(vn)) or '-'}, only in new "
                     f"{sorted(set(vn) - set(vo)) or '-'}")
    cnt = sites["change"].value_counts() if len(sites) else pd.Series(dtype=int)
    per = "; ".join(f"{k}: " + ", ".join(f"{c} {n}" for c, n in g["change"].value_counts().sort_index().items())
                    for k, g in sites.groupby(F.LAYER, sort=True)) if len(sites) else ""
    lines.append(f"sites: {int(cnt.get('added', 0))} added, {int(cnt.get('removed', 0))} removed, "
                 f"{int(cnt.get('changed', 0))} changed" + (f" ({per})" if per else ""))
    ch = head[head["change"] == "changed"] if len(head) else head
    if len(ch):
        parts = [f"headroom: {len(ch)} substation-years changed by more than {tolerance_mw:g} MW"]
        worst = ch.loc[ch["delta_mw"].idxmin()]
        best = ch.loc[ch["delta_mw"].idxmax()]
        if worst["delta_mw"] < 0:
            parts.append(f"largest drop {worst[F.SUBSTATION_ID]} {int(worst[F.YEAR])} {worst[F.DIRECTION]} "
                         f"({worst[F.VARIANT]}) {worst['delta_mw']:+.1f} MW")
        if best["delta_mw"] > 0:
            parts.append(f"largest gain {best[F.SUBSTATION_ID]} {int(best[F.YEAR])} {best[F.DIRECTION]} "
                         f"({best[F.VARIANT]}) {best['delta_mw']:+.1f} MW")
        lines.append("; ".join(parts))
    else:
        lines.append("headroom: unchanged")
    if len(sf):
        moves = [f"{r[F.SUBSTATION_ID]} {r[F.DIRECTION]} ({r[F.VARIANT]}) "
                 f"{_short(r['first_shortfall_year_old']) if pd.notna(r['first_shortfall_year_old']) else 'none'} -> "
                 f"{_short(r['first_shortfall_year_new']) if pd.notna(r['first_shortfall_year_new']) else 'none'}"
                 for _, r in sf.head(8).iterrows()]
        lines.append(f"first shortfall moved ({len(sf)}): " + "; ".join(moves) + (" ..." if len(sf) > 8 else ""))
    if not has_ranks:
        lines.append("ranking: not in both runs (run 'spatialprog rank' or a newer 'run' to compare ranks)")
    elif len(ranks):
        for v, g in ranks.groupby(F.VARIANT, sort=False):
            mv = [f"{r[F.SUBSTATION_ID]} {_short(r['rank_old'])} -> {_short(r['rank_new'])}" for _, r in g.head(5).iterrows()]
            lines.append(f"ranking ({v}): {len(g)} substations moved: " + "; ".join(mv))
    else:
        lines.append("ranking: unchanged")
    if len(prog):
        for v, g in prog.groupby(F.VARIANT, sort=False):
            parts = [f"{c} {', '.join(g.loc[g['change'] == c, F.SUBSTATION_ID])}" for c in ("added", "dropped", "changed")
                     if (g["change"] == c).any()]
            lines.append(f"programme ({v}): " + "; ".join(parts))
    return "\n".join(lines)


def write_diff(d: RunDiff, out_dir: str | Path) -> list[Path]:
    """Write the diff tables and ``diff_summary.txt`` into ``out_dir``, all or nothing.

    ``out_dir`` (new, empty, or an earlier diff's folder) is replaced as a
    whole (:class:`~spatialprog.folders.atomic_output_dir`); a run's folder is
    refused.
    """
    from .folders import atomic_output_dir
    from .writer import write_tables

    with atomic_output_dir(out_dir, kind="diff") as stage:
        files = write_tables(stage, d.tables())
        (stage / "diff_summary.txt").write_text(d.summary + "\n", encoding="utf-8")
        files.append("diff_summary.txt")
    return [Path(out_dir) / f for f in files]
