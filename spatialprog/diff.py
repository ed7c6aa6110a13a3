"""Two planning cycles compared: what changed between two finished runs.

The integraal-programmeren cycle repeats every two years. :func:`diff_runs`
compares two output folders (read through :class:`~spatialprog.outputs.RunOutputs`,
nothing is recomputed) and reports:

* sites added, removed and changed (input attributes, geometry, assigned substation);
* headroom per substation, variant, year and direction, old and new, and first
  shortfall years that moved;
* rank changes of the substations and changes in the programme of interventions
  (when both runs wrote the ranking tables);
* what changed in the inputs (:func:`diff_inputs`): the layers and reference
  tables whose checksum or feature count differs, parameters per variant,
  weights of the criteria, substation capacities and reinforcements;

as tables and a short text summary (:attr:`RunDiff.summary`); :func:`write_diff`
also writes ``diff.gpkg`` (the changed sites and the substations with their
change, for QGIS) and ``diff_kaart.png`` (the same on one map).

Examples
--------
>>> from spatialprog.pipeline import read_plan, compute
>>> from spatialprog.outputs import RunOutputs
>>> r = RunOutputs.from_result(compute(read_plan("layers/example_region.toml"), variants=["basis"]))
>>> d = diff_runs(r, r)
>>> len(d.sites), len(d.headroom)
(0, 0)

The module is a little over 500 lines because each part of two runs that is compared, the summary
that reads them together and the one writer of the diff folder stay together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import fields as F
from .kinds import LAYER_KINDS, site_kinds

__all__ = ["RunDiff", "diff_runs", "diff_sites", "diff_headroom", "diff_ranks", "diff_programme", "diff_inputs",
           "diff_layers", "write_diff"]

GEOMETRY_TOLERANCE_M = 0.01


@dataclass
class RunDiff:
    """The differences between two runs.

    Attributes
    ----------
    sites, headroom, shortfall, ranks, programme, inputs : DataFrame
    summary : str
        A few lines of text for the planner.
    layers : dict of str -> GeoDataFrame
        ``diff_sites`` and ``diff_substations`` (:func:`diff_layers`), for the
        GeoPackage and the map.
    """

    sites: pd.DataFrame
    headroom: pd.DataFrame
    shortfall: pd.DataFrame
    ranks: pd.DataFrame
    programme: pd.DataFrame
    summary: str
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)
    layers: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed by their file stem."""
        return {"diff_inputs": self.inputs, "diff_sites": self.sites, "diff_headroom": self.headroom,
                "diff_shortfall": self.shortfall, "diff_ranks": self.ranks, "diff_programme": self.programme}


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


INPUT_COLUMNS = ["what", "variant", "key", "old", "new", "change"]
#: capacity columns compared per substation (capacity.csv)
CAPACITY_COLUMNS = ("installed_mva", "firm_offtake_mva", "firm_feedin_mva", "reserved_offtake_mva",
                    "reserved_feedin_mva")


def _keyed(rows: list[dict], what: str, old: dict, new: dict, variant: str = "") -> None:
    """Rows for keys only in ``old`` (removed), only in ``new`` (added), or in both with another value."""
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k), new.get(k)
        if k in old and k in new and _same(a, b):
            continue
        rows.append({"what": what, "variant": variant, "key": str(k), "old": _short(a) if k in old else "",
                     "new": _short(b) if k in new else "",
                     "change": "added" if k not in old else "removed" if k not in new else "changed"})


def diff_inputs(old, new) -> pd.DataFrame:
    """What changed in the inputs of two runs, from their manifests and input tables.

    Parameters
    ----------
    old, new : RunOutputs

    Returns
    -------
    DataFrame
        ``what`` (``layer``, ``reference_table``, ``parameter``, ``weight``,
        ``capacity``, ``reinforcement``), ``variant`` (parameters and
        weights), ``key``, ``old``, ``new`` and ``change`` (added / removed /
        changed). A layer or table is compared by its checksum and feature
        count; a parameter by its value per variant; a weight per variant and
        criterion; a capacity per substation and column; a reinforcement by
        substation, direction and year.
    """
    rows: list[dict] = []
    mo, mn = old.manifest or {}, new.manifest or {}

    def files(m: dict, part: str) -> dict:
        out = {}
        for e in m.get(part, []) or []:
            txt = f"sha256 {str(e.get('sha256', ''))[:12]}"
            if e.get("features") is not None:
                txt = f"{e['features']} features, {txt}"
            out[e.get("role")] = txt
        return out

    _keyed(rows, "layer", files(mo, "inputs"), files(mn, "inputs"))
    _keyed(rows, "reference_table", files(mo, "reference_tables"), files(mn, "reference_tables"))
    po, pn = mo.get("parameters") or {}, mn.get("parameters") or {}
    for v in sorted(set(po) & set(pn), key=str):
        _keyed(rows, "parameter", {p["key"]: p["value"] for p in po[v]}, {p["key"]: p["value"] for p in pn[v]}, v)
    wo, wn = old.tables.get("ranking_criteria_used"), new.tables.get("ranking_criteria_used")
    if wo is not None and wn is not None:
        for v in sorted(set(wo[F.VARIANT]) & set(wn[F.VARIANT]), key=str):
            _keyed(rows, "weight", dict(wo.loc[wo[F.VARIANT] == v, ["criterion", "weight"]].to_numpy()),
                   dict(wn.loc[wn[F.VARIANT] == v, ["criterion", "weight"]].to_numpy()), v)
    co, cn = old.tables.get("capacity"), new.tables.get("capacity")
    if co is not None and cn is not None:
        def cap(df: pd.DataFrame) -> dict:
            cols = [c for c in CAPACITY_COLUMNS if c in df]
            return {f"{sid} {c}": val for sid, r in zip(df[F.SUBSTATION_ID].astype(str), df[cols].to_dict("records"),
                                                         strict=True) for c, val in r.items()}
        _keyed(rows, "capacity", cap(co), cap(cn))
    ro, rn = old.tables.get("reinforcements"), new.tables.get("reinforcements")
    if ro is not None and rn is not None:
        def reinf(df: pd.DataFrame) -> dict:
            return {f"{r[F.SUBSTATION_ID]} {r[F.DIRECTION]} {int(r[F.YEAR])}": r[F.REINFORCEMENT_MVA]
                    for r in df.to_dict("records")}
        _keyed(rows, "reinforcement", reinf(ro), reinf(rn))
    return pd.DataFrame(rows, columns=INPUT_COLUMNS)


def diff_layers(old, new, sites: pd.DataFrame, head: pd.DataFrame, sf: pd.DataFrame) -> dict:
    """The diff as map layers: the changed sites and every substation with its change (working CRS).

    ``service_areas`` (the new run's, for context), ``diff_sites``: the sites added, removed or changed, with the new outline
    (the old one for a removed site). ``diff_substations``: per substation the
    largest headroom drop and gain over the years (base variant, offtake), its
    first offtake shortfall year old and new, and ``change`` (``worse``,
    ``better``, ``mixed`` or ``unchanged``).
    """
    import geopandas as gpd

    out = {}
    parts = []
    for r in sites.itertuples(index=False):
        src = (old if r.change == "removed" else new).layers.get(r.layer)
        if src is None or "geometry" not in src:
            continue
        g = src.loc[src["id"].astype(str) == str(r.site_id), "geometry"]
        if len(g):
            parts.append({F.LAYER: r.layer, F.SITE_ID: r.site_id, "change": r.change, "fields": r.fields,
                          "detail": r.detail, "geometry": g.iloc[0]})
    crs = next((g.crs for g in (new.layers.get("substations"), old.layers.get("substations")) if g is not None), None)
    if parts:
        out["diff_sites"] = gpd.GeoDataFrame(parts, geometry="geometry", crs=crs)
    areas = new.layers.get("service_areas")
    if areas is not None and len(areas) and "geometry" in areas:
        out["service_areas"] = areas[[c for c in ("id", F.SUBSTATION_ID, "geometry") if c in areas]]
    subs = new.layers.get("substations")
    if subs is not None and len(subs):
        ids = subs["id"].astype(str)
        base = next(iter(new.variants), None)
        h = head[(head[F.VARIANT] == base) & (head[F.DIRECTION] == F.OFFTAKE)] if len(head) else head
        drop = h.groupby(F.SUBSTATION_ID)["delta_mw"].min() if len(h) else pd.Series(dtype=float)
        gain = h.groupby(F.SUBSTATION_ID)["delta_mw"].max() if len(h) else pd.Series(dtype=float)
        s = sf[(sf[F.VARIANT] == base) & (sf[F.DIRECTION] == F.OFFTAKE)].set_index(F.SUBSTATION_ID) \
            if len(sf) else pd.DataFrame(columns=["first_shortfall_year_old", "first_shortfall_year_new"])
        d = drop.reindex(ids).fillna(0.0).clip(upper=0.0).to_numpy()
        g_ = gain.reindex(ids).fillna(0.0).clip(lower=0.0).to_numpy()
        change = np.select([(d < 0) & (g_ > 0), d < 0, g_ > 0], ["mixed", "worse", "better"], "unchanged")
        out["diff_substations"] = gpd.GeoDataFrame({
            "id": ids.to_numpy(), "name": subs["name"].to_numpy() if "name" in subs else ids.to_numpy(),
            F.VARIANT: base, "largest_drop_mw": d, "largest_gain_mw": g_, "change": change,
            "first_shortfall_year_old": s["first_shortfall_year_old"].reindex(ids).astype("Int64").to_numpy(),
            "first_shortfall_year_new": s["first_shortfall_year_new"].reindex(ids).astype("Int64").to_numpy(),
        }, geometry=subs.geometry.to_numpy(), crs=subs.crs)
    return out


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
    inputs = diff_inputs(old, new)
    summary = _summary(old, new, sites, head, sf, ranks, prog, has_ranks=ro is not None and rn is not None,
                       tolerance_mw=tolerance_mw, inputs=inputs)
    return RunDiff(sites=sites, headroom=head, shortfall=sf, ranks=ranks, programme=prog, summary=summary,
                   inputs=inputs, layers=diff_layers(old, new, sites, head, sf))


def _label(o) -> str:
    m = o.manifest or {}
    where = str(o.out_dir) if getattr(o, "out_dir", None) is not None else "(in memory)"
    return f"{where} ({m.get('project', '?')}, run {str(m.get('run_date', '?'))[:10]})"


def _inputs_lines(inputs: pd.DataFrame) -> list[str]:
    """What changed in the inputs, one line per kind of input (at most 6 items each)."""
    if not len(inputs):
        return ["inputs: unchanged (layers, reference tables, parameters, weights, capacities, reinforcements)"]
    words = {"layer": "layers", "reference_table": "reference tables", "parameter": "parameters",
             "weight": "weights", "capacity": "capacities", "reinforcement": "reinforcements"}
    lines = []
    for what, g in inputs.groupby("what", sort=False):
        items = [(f"{r['variant']}: " if r["variant"] else "") + f"{r['key']} "
                 + (f"{r['old']} -> {r['new']}" if r["change"] == "changed" else r["change"])
                 for _, r in g.head(6).iterrows()]
        lines.append(f"inputs, {words.get(what, what)} ({len(g)} changed): " + "; ".join(items)
                     + (" ..." if len(g) > 6 else ""))
    return lines


def _summary(old, new, sites, head, sf, ranks, prog, *, has_ranks: bool, tolerance_mw: float,
             inputs: pd.DataFrame | None = None) -> str:
    lines = [f"old: {_label(old)}", f"new: {_label(new)}"]
    if inputs is not None:
        lines += _inputs_lines(inputs)
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
    from .writer import escape_frame, finish_geopackage, write_tables

    with atomic_output_dir(out_dir, kind="diff") as stage:
        files = write_tables(stage, d.tables())
        (stage / "diff_summary.txt").write_text(d.summary + "\n", encoding="utf-8")
        files.append("diff_summary.txt")
        if d.layers:
            gpkg = stage / "diff.gpkg"
            for name, g in sorted(d.layers.items()):
                escape_frame(g).to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
            finish_geopackage(gpkg)
            files.append("diff.gpkg")
            _diff_map(d, stage / "diff_kaart.png")
            files.append("diff_kaart.png")
    return [Path(out_dir) / f for f in files]


_CHANGE_COLOURS = {"worse": "#e30613", "better": "#2e7d32", "mixed": "#f7931e", "unchanged": "#bdbdbd",
                   "added": "#1f78b4", "removed": "#6a3d9a", "changed": "#ff7f00"}
_CHANGE_NL = {"worse": "minder ruimte", "better": "meer ruimte", "mixed": "beide", "unchanged": "ongewijzigd",
              "added": "locatie toegevoegd", "removed": "locatie vervallen", "changed": "locatie gewijzigd"}


def _diff_map(d: RunDiff, path: Path) -> None:
    """One map of the diff: substations by their change, sites added, removed and changed (labelled)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .maps.static import literal_text

    fig = Figure(figsize=(11.7, 8.3), dpi=110)
    ax = fig.add_axes((0.03, 0.05, 0.72, 0.85))
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = []
    areas = d.layers.get("service_areas")
    if areas is not None and len(areas):  # context: where each substation serves
        areas.boundary.plot(ax=ax, color="#9e9e9e", linewidth=0.5, zorder=1)
        handles.append(Line2D([], [], color="#9e9e9e", linewidth=0.8, label="voedingsgebied"))
    sites = d.layers.get("diff_sites")
    if sites is not None and len(sites):
        for ch, g in sites.groupby("change", sort=True):
            g.plot(ax=ax, facecolor=_CHANGE_COLOURS[ch], edgecolor="#333333", linewidth=0.6, alpha=0.7,
                   markersize=30)
            handles.append(Patch(facecolor=_CHANGE_COLOURS[ch], edgecolor="#333333", label=_CHANGE_NL[ch]))
        for r in sites.itertuples(index=False):
            c = r.geometry.representative_point()
            ax.annotate(str(r.site_id), (c.x, c.y), fontsize=6, ha="center", va="bottom")
    subs = d.layers.get("diff_substations")
    if subs is not None and len(subs):
        for ch in ("unchanged", "better", "mixed", "worse"):
            g = subs[subs["change"] == ch]
            if len(g):
                g.plot(ax=ax, color=_CHANGE_COLOURS[ch], markersize=70, marker="^", edgecolor="black", linewidth=0.5,
                       zorder=5)
                handles.append(Line2D([], [], marker="^", linestyle="", markersize=9, markerfacecolor=_CHANGE_COLOURS[ch],
                                      markeredgecolor="black", label=f"onderstation: {_CHANGE_NL[ch]}"))
        for r in subs.itertuples(index=False):
            txt = str(r.id) + (f"\n{r.largest_drop_mw:+.1f} MW".replace(".", ",") if r.largest_drop_mw < 0 else "")
            ax.annotate(txt, (r.geometry.x, r.geometry.y), xytext=(4, 4), textcoords="offset points", fontsize=6.5,
                        zorder=6)
    fig.text(0.03, 0.95, "Wat is er veranderd tussen twee planrondes", fontsize=14, weight="bold")
    fig.text(0.03, 0.92, "onderstations: grootste daling of stijging van de ruimte (afname, basisvariant); "
             "locaties: toegevoegd, vervallen, gewijzigd", fontsize=8)
    import textwrap

    lines = [w for line in d.summary.splitlines()[2:] for w in textwrap.wrap(line, 58, subsequent_indent="  ")]
    fig.text(0.77, 0.88, "\n".join(lines[:46] + (["..."] if len(lines) > 46 else [])), fontsize=5.5, va="top",
             family="monospace")
    if handles:
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.77, 0.04), fontsize=7, frameon=True)
    literal_text(fig)  # ids and names are user text: never mathtext
    fig.savefig(path, metadata={"Software": None})
