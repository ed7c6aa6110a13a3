"""Run outputs: result layers, tables and the manifest, written atomically.

:func:`result_layers` and :func:`result_tables` turn a
:class:`~spatialprog.pipeline.RunResult` into GeoDataFrames and DataFrames
(pure). :func:`write_run` writes them into the output folder through
:class:`~spatialprog.folders.atomic_output_dir`: everything is written into a
staging folder beside it, which then replaces the folder as a whole, so a
failed run leaves the previous outputs intact and nothing half-written behind,
and a rerun leaves nothing of the earlier run that it does not write again.
Every timestamp inside the outputs is :func:`~spatialprog.writer.run_timestamp`
(``SOURCE_DATE_EPOCH``, else the run's date).

The module is a little over 500 lines because the result layers of every kind
(substations, sites, claims, the other carriers' nodes), the tables, the
manifest and :class:`RunOutputs`, which reads them back, stay together: what is
written and what is read back are one format.

Files in the output folder
--------------------------
``results.gpkg``
    substations and service_areas with their results, every site layer with
    its demand and assigned substation, the assignment.
``headroom.csv`` / ``headroom.xlsx``
    The long headroom table (substation, variant, year, direction, ...).
``demand.csv``, ``assignment.csv``, ``shortfall.csv``, ``notices.csv``
``capacity.csv``, ``reinforcements.csv``
    Per substation its firm capacity and the basis of its projection (reference
    date, reserved capacity, peak, unserved queue); the investments counted.
``operator_comparison.csv`` / ``.txt``
    Where the substations carry the operators' own forecast: it beside our
    projection per station, direction and horizon, and a one-screen summary.
``manifest.json``
    Inputs with checksums, parameters used with their sources, versions, and
    ``outputs``: exactly the files in the folder.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import __version__
from . import fields as F
from .config import BASE_VARIANT
from .errors import OutputError
from .folders import atomic_output_dir
from .kinds import iter_layers
from .operator_comparison import comparison_summary
from .pipeline import RunResult
from .processes import beside
from .reference import sha256_file
from .workbooks import headroom_book
from .writer import (
    MANIFEST,
    finish_geopackage,
    read_csv,
    run_timestamp,
    write_manifest,
    write_tables,
    write_text,
    write_xlsx,
)

__all__ = ["result_layers", "result_tables", "write_run", "milestone_years", "RESULTS_GPKG"]

RESULTS_GPKG = "results.gpkg"


def milestone_years(years: list[int]) -> list[int]:
    """First year, every year divisible by 5, last year.

    Examples
    --------
    >>> milestone_years(list(range(2025, 2041)))
    [2025, 2030, 2035, 2040]
    """
    ms = [years[0], *[y for y in years if y % 5 == 0], years[-1]]
    return sorted(set(ms))


def _wide_headroom(h: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    hb = h[(h[F.VARIANT] == BASE_VARIANT) & h[F.YEAR].isin(years)]
    hw = hb.pivot_table(index=F.SUBSTATION_ID, columns=[F.DIRECTION, F.YEAR], values=F.HEADROOM_MW, aggfunc="first")
    hw.columns = [f"headroom_{d}_mw_{y}" for d, y in hw.columns]
    sw = hb.pivot_table(index=F.SUBSTATION_ID, columns=[F.DIRECTION, F.YEAR], values=F.STATUS, aggfunc="first")
    sw.columns = [f"status_{d}_{y}" for d, y in sw.columns]
    return hw.join(sw)


def result_layers(result: RunResult) -> dict[str, gpd.GeoDataFrame]:
    """The spatial results, for the GeoPackage (base variant in wide columns).

    Returns
    -------
    dict of str -> GeoDataFrame
        ``substations``, ``service_areas``, one layer per site and claim
        kind, and the other carriers' nodes (hydrogen and gas stations) with
        their headroom and status per milestone year in their ``unit``.
    """
    project = result.project
    years = project.years
    ms = milestone_years(years)
    layers = result.plan.layers
    cap = result.capacity.set_index(F.SUBSTATION_ID)
    h = result.headroom
    wide = _wide_headroom(h, ms)
    sf = result.shortfall[result.shortfall[F.VARIANT] == BASE_VARIANT].pivot(
        index=F.SUBSTATION_ID, columns=F.DIRECTION, values=F.FIRST_SHORTFALL_YEAR)
    sf.columns = [f"first_shortfall_{d}_year" for d in sf.columns]
    base0 = h[(h[F.VARIANT] == BASE_VARIANT) & (h[F.YEAR] == years[0])].pivot(
        index=F.SUBSTATION_ID, columns=F.DIRECTION, values=F.EXISTING_LOAD_MW)
    base0.columns = [f"load_{d}_mw_{years[0]}" for d in base0.columns]

    subs = layers["substations"].drop(columns=["installed_mva"], errors="ignore")
    res = cap[["installed_mva", "firm_offtake_mva", "firm_feedin_mva", "firm_rule_offtake", "firm_rule_feedin"]]
    res = res.join(base0).join(sf).join(wide)
    subs = subs.merge(res, left_on="id", right_index=True, how="left")
    out: dict[str, gpd.GeoDataFrame] = {"substations": subs}

    areas = result.service_areas.copy()
    areas["assignment_method"] = result.assignment_method
    keep = [c for c in res.columns if c.startswith(("first_shortfall", "headroom_", "status_"))]
    areas = areas.merge(res[keep], left_on=F.SUBSTATION_ID, right_index=True, how="left")
    out["service_areas"] = areas

    d_all = result.demand[(result.demand[F.VARIANT] == BASE_VARIANT) & (result.demand[F.YEAR] == years[-1])]
    d_last = d_all[d_all[F.CARRIER] == F.ELECTRICITY].set_index([F.LAYER, F.SITE_ID])
    # the other carriers' demand beside it, in their own units: hydrogen_offtake_mw_2040 (MW_H2), ...
    d_other = {c: g.set_index([F.LAYER, F.SITE_ID]) for c, g in d_all[d_all[F.CARRIER] != F.ELECTRICITY]
               .groupby(F.CARRIER, sort=True)}
    asg = result.assignment.copy()
    asg["_o"] = asg[F.SUBSTATION_ID].fillna("~")
    primary = (asg.sort_values([F.LAYER, F.SITE_ID, F.SHARE, "_o"], ascending=[True, True, False, True], kind="stable")
               .drop_duplicates([F.LAYER, F.SITE_ID]).set_index([F.LAYER, F.SITE_ID]))
    counts = asg[asg[F.SUBSTATION_ID].notna()].groupby([F.LAYER, F.SITE_ID]).size()
    subs_list = _joined_substations(asg[asg[F.SUBSTATION_ID].notna()])
    for lk, df in iter_layers(layers, "site"):
        kind = lk.name
        g = df.copy()
        key = pd.MultiIndex.from_arrays([[kind] * len(g), g["id"]])
        g[f"offtake_mw_{years[-1]}"] = d_last[F.OFFTAKE_MW].reindex(key).to_numpy() if len(d_last) else np.nan
        g[f"feedin_mw_{years[-1]}"] = d_last[F.FEEDIN_MW].reindex(key).to_numpy() if len(d_last) else np.nan
        for c, dc in d_other.items():
            if key.isin(dc.index).any():
                for direction, col in ((F.OFFTAKE, F.OFFTAKE_MW), (F.FEEDIN, F.FEEDIN_MW)):
                    g[f"{c}_{direction}_mw_{years[-1]}"] = dc[col].reindex(key).to_numpy()
        g[F.SUBSTATION_ID] = primary[F.SUBSTATION_ID].reindex(key).to_numpy() if len(primary) else None
        g["substation_ids"] = subs_list.reindex(key).to_numpy() if len(subs_list) else None
        g["n_substations"] = counts.reindex(key).fillna(0).astype(int).to_numpy() if len(counts) else 0
        g["assignment_method"] = primary[F.METHOD].reindex(key).to_numpy() if len(primary) else None
        out[kind] = g
    # land claims, and the boundaries for the maps (names)
    for lk, df in iter_layers(layers, "claim", "boundary"):
        out[lk.name] = df.copy()
    # the other carriers' nodes with their headroom and status in their own units, like the substations
    ch = result.carrier_headroom
    for lk, df in iter_layers(layers, "node"):
        g = df.copy()
        mine = ch[ch[F.CARRIER] == lk.carrier] if len(ch) else ch
        if len(mine):
            g[F.UNIT] = mine[F.UNIT].iat[0]
            w = _wide_headroom(mine, ms)
            g = g.merge(w, left_on="id", right_index=True, how="left")
            csf = result.carrier_shortfall
            csf = csf[(csf[F.CARRIER] == lk.carrier) & (csf[F.VARIANT] == BASE_VARIANT)]
            if len(csf):
                p = csf.pivot(index=F.SUBSTATION_ID, columns=F.DIRECTION, values=F.FIRST_SHORTFALL_YEAR)
                p.columns = [f"first_shortfall_{d}_year" for d in p.columns]
                g = g.merge(p, left_on="id", right_index=True, how="left")
        out[lk.name] = g
    if result.conflicts is not None:
        _attach_conflict_summary(out, result.conflicts.summary)
        out["conflicts"] = result.conflicts.conflicts
    return out


def _joined_substations(asg: pd.DataFrame) -> pd.Series:
    """Per (layer, site_id), its substations in order, joined by ``;`` (one site: a few rows; a national run:
    100,000 sites, each a group: joined in one pass, not a function call per group)."""
    a = asg.sort_values([F.LAYER, F.SITE_ID, "_o"])
    layer, site, sub = (a[c].to_numpy(dtype=object) for c in (F.LAYER, F.SITE_ID, F.SUBSTATION_ID))
    first = np.flatnonzero(np.r_[True, (layer[1:] != layer[:-1]) | (site[1:] != site[:-1])]) if len(a) else \
        np.zeros(0, dtype=np.intp)
    ends = np.append(first[1:], len(a))[:len(first)].astype(np.intp)
    joined = [sub[i] if e - i == 1 else ";".join(sub[i:e]) for i, e in zip(first.tolist(), ends.tolist(), strict=True)]
    index = pd.MultiIndex.from_arrays([layer[first], site[first]], names=[F.LAYER, F.SITE_ID])
    return pd.Series(joined, index=index, name=F.SUBSTATION_ID)


def _attach_conflict_summary(out: dict[str, gpd.GeoDataFrame], summary: dict[str, pd.DataFrame]) -> None:
    """Per claim feature: number of conflicts, worst severity, rule ids (0 / empty where none)."""
    for kind, g in out.items():
        if kind in ("service_areas", "conflicts"):
            continue
        s = summary.get(kind)
        if s is None:
            continue
        s = s.set_index("id")
        g["n_conflicts"] = s["n_conflicts"].reindex(g["id"]).fillna(0).astype(int).to_numpy()
        g["worst_severity"] = s["worst_severity"].reindex(g["id"]).to_numpy()
        g["conflict_rules"] = s["rule_ids"].reindex(g["id"]).to_numpy()


def result_tables(result: RunResult) -> dict[str, pd.DataFrame]:
    """The tabular results: headroom, demand, assignment, shortfall, capacity, notices.

    Plus ``operator_comparison`` where the substations carry the operators' own forecast.
    """
    notices = pd.DataFrame(
        [{"level": n.level, "layer": n.layer, "feature": n.feature, "field": n.field, "message": n.message,
          "fix": n.fix} for n in result.notices],
        columns=["level", "layer", "feature", "field", "message", "fix"],
    )
    # one headroom and one shortfall table for every carrier: electricity first, then hydrogen, heat, gas
    headroom, shortfall = result.headroom, result.shortfall
    if len(result.carrier_headroom):
        headroom = pd.concat([headroom, result.carrier_headroom], ignore_index=True)
        shortfall = pd.concat([shortfall.assign(**{F.CARRIER: F.ELECTRICITY}), result.carrier_shortfall],
                              ignore_index=True)
    tables = {
        "headroom": headroom,
        "demand": result.demand,
        "assignment": result.assignment,
        "shortfall": shortfall,
        "capacity": result.capacity,
        "reinforcements": result.reinforcements,
        "notices": notices,
    }
    if result.conflicts is not None:
        tables["conflict_matrix"] = result.conflicts.matrix
    if len(result.operator_comparison):
        tables["operator_comparison"] = result.operator_comparison
    return tables


def _by_carrier(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The electricity grid's rows as ``headroom`` / ``shortfall``, the other carriers' as ``carrier_*`` (as in RunResult)."""
    out = dict(tables)
    for name in ("headroom", "shortfall"):
        t = out.get(name)
        if t is not None and F.CARRIER in t and (t[F.CARRIER] != F.ELECTRICITY).any():
            out[f"carrier_{name}"] = t[t[F.CARRIER] != F.ELECTRICITY].reset_index(drop=True)
            out[name] = t[t[F.CARRIER] == F.ELECTRICITY].reset_index(drop=True)
    return out


def _versions() -> dict[str, str]:
    import pyogrio
    import pyproj
    import shapely

    return {
        "spatialprog": __version__,
        "python": platform.python_version(),
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "pyogrio": pyogrio.__version__,
        "gdal": pyogrio.__gdal_version_string__,
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def manifest(result: RunResult, files: list[str], *, run_date: datetime | None = None) -> dict:
    """The run manifest: inputs with checksums, parameters with sources, versions.

    ``run_date`` defaults to :func:`~spatialprog.writer.run_timestamp` (``SOURCE_DATE_EPOCH``, else today).
    """
    project = result.project
    inputs = []
    sums: dict[Path, str] = {}
    if project.path is not None:
        inputs.append({"role": "project", "path": str(project.path), "sha256": sha256_file(Path(project.path))})
    for key, src in sorted(project.layers.items()):
        entry = {"role": f"layers.{key}", "path": str(src.path), "layer": src.layer}  # a database's password masked
        if src.database:  # no checksum: the table or query read
            entry["table" if src.table else "sql"] = src.table or src.sql
        if Path(src.path).is_file():
            if src.path not in sums:
                sums[src.path] = sha256_file(Path(src.path))
            entry["sha256"] = sums[src.path]
        entry["features"] = int(len(result.plan.layers.get(key, [])))
        inputs.append(entry)
    params = {
        v: [
            {k: (val if not isinstance(val, float) or np.isfinite(val) else None) for k, val in row.items()}
            for row in ps.to_frame().to_dict("records")
        ]
        for v, ps in project.variants.items()
    }
    return {
        "spatialprog_run": 1,
        "project": project.name,
        "fictional_data": project.fictional,
        "run_date": run_timestamp(run_date).isoformat(timespec="seconds"),
        "crs": project.crs,
        "base_year": project.base_year,
        "horizon": [project.years[0], project.years[-1]],
        "variants": {v: project.variant_descriptions.get(v, "") for v in project.variants},
        "assignment_method": result.assignment_method,
        "inputs": inputs,
        "reference_tables": result.plan.reference.files(),
        "parameters": params,
        "versions": _versions(),
        "outputs": sorted(files),
        "notices": len(result.notices),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
    }


def split_by_geometry(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Split a mixed layer into ``areas``, ``lines`` and ``points`` (one geometry type per GIS layer).

    Empty parts are left out; an empty input gives ``{"areas": <empty>}`` so the
    layer still exists.
    """
    kinds = gdf.geometry.geom_type.fillna("")
    groups = {
        "areas": kinds.str.contains("Polygon"),
        "lines": kinds.str.contains("LineString"),
        "points": kinds.str.contains("Point"),
    }
    out = {k: gdf[m] for k, m in groups.items() if m.any()}
    return out or {"areas": gdf.iloc[0:0]}


def write_gpkg_layer(gdf: gpd.GeoDataFrame | pd.DataFrame, path: Path, name: str) -> None:
    """Write one layer (or table) into a GeoPackage that :func:`~spatialprog.writer.finish_geopackage` finishes.

    Through GDAL's Arrow interface (a national site layer: 100,000 features) and without a sync per
    transaction: ``finish_geopackage`` rewrites the file and syncs it once before it replaces the old one.
    The same bytes as feature by feature (``finish_geopackage`` compacts the file).
    """
    import pyarrow as pa
    import pyogrio

    from .export.gpkg import fast_sqlite

    df = gdf.copy()
    for c in df.columns:
        if str(df[c].dtype) in ("string", "str") or df[c].dtype == object:
            if c != getattr(df, "geometry", pd.Series(name=None)).name:
                df[c] = df[c].astype(object).where(df[c].notna(), None)
    options = {"promote_to_multi": False} if isinstance(df, gpd.GeoDataFrame) else {}
    with fast_sqlite():
        try:
            pyogrio.write_dataframe(df, path, layer=name, driver="GPKG", use_arrow=True, **options)
        except (pa.ArrowException, TypeError):  # a column Arrow cannot hold (mixed objects): feature by feature
            pyogrio.write_dataframe(df, path, layer=name, driver="GPKG", **options)


def _write_results_gpkg(result: RunResult, gpkg: Path, when: datetime) -> str:
    """results.gpkg of :func:`write_run`: the result layers, the conflicts by geometry type, the assignment."""
    for name, gdf in result_layers(result).items():
        if name == "conflicts":
            for suffix, part in split_by_geometry(gdf).items():
                write_gpkg_layer(part, gpkg, f"conflicts_{suffix}")
        else:
            write_gpkg_layer(gdf, gpkg, name)
    write_gpkg_layer(result.assignment, gpkg, "assignment")
    finish_geopackage(gpkg, when)  # the run's date, not GDAL's wall clock; reproducible bytes
    return RESULTS_GPKG


def write_run(result: RunResult, out_dir: str | Path, *, progress: Callable[[str], None] | None = None,
              run_date: datetime | None = None,
              extras: Sequence[Callable[[Path], Sequence[Path | str]]] = (), parquet: bool = False) -> list[Path]:
    """Write every output of a run into ``out_dir``.

    Parameters
    ----------
    result : RunResult
    out_dir : path
        Created if missing; must be empty or an earlier run's folder, which
        is replaced as a whole only when every file has been written
        (:class:`~spatialprog.folders.atomic_output_dir`).
    run_date : datetime, optional
        Recorded in the manifest, the GeoPackage and the workbook (default:
        :func:`~spatialprog.writer.run_timestamp`).
    extras : sequence of callables
        Further writers (maps, the QGIS hand-off, the programme), each called
        with the staging folder once the core outputs are in it (so
        ``RunOutputs.read(stage)`` works there) and returning the files it
        wrote. Their files are swapped in together with the rest, so a
        failure anywhere leaves the previous outputs intact.
    parquet : bool
        Also write each table as ``NAME.parquet`` beside ``NAME.csv`` (typed
        columns at full precision, text as it is:
        :func:`~spatialprog.writer.write_parquet`).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OutputError
        When the folder is locked by another run, is not an output folder of
        spatialprog, or cannot be written (one line).
    """
    files: list[str] = []
    when = run_timestamp(run_date)
    with atomic_output_dir(out_dir, kind="run") as stage:
        if progress:
            progress("writing results.gpkg, beside the tables")
        # results.gpkg in a process of its own (spatialprog.processes) while this one writes the tables
        with beside(_write_results_gpkg, result, stage / RESULTS_GPKG, when) as layers:
            if progress:
                progress("writing tables")
            tables = result_tables(result)
            if result.conflicts is not None:  # the conflicts layer as a table too (geometry in results.gpkg)
                tables = {**tables, "conflicts": pd.DataFrame(result.conflicts.conflicts.drop(columns="geometry"))}
            files.extend(write_tables(stage, tables, parquet=parquet))
            book = headroom_book(result, tables, when=when)  # Dutch headers, names, formats, the Toelichting
            write_xlsx(stage / "headroom.xlsx", book.sheets, layout=book.layout, run_date=when)
            files.append("headroom.xlsx")
            if "operator_comparison" in tables:
                tol = float(result.project.variants[BASE_VARIANT]["operator.flat_tolerance_mva"])
                text = comparison_summary(tables["operator_comparison"], tolerance_mva=tol)
                write_text(stage / "operator_comparison.txt", text)
                files.append("operator_comparison.txt")
        if progress:
            progress("finishing results.gpkg")
        files.insert(0, layers.result())

        def write_run_manifest() -> None:
            write_manifest(stage, manifest(result, files + [MANIFEST], run_date=when))

        write_run_manifest()
        for extra in extras:
            for f in extra(stage):
                name = Path(f).relative_to(stage).as_posix() if Path(f).is_absolute() else Path(f).as_posix()
                if name not in files:
                    files.append(name)
        write_run_manifest()  # again, listing the extras' files too
        files.append(MANIFEST)
    return [Path(out_dir) / f for f in files]


# --------------------------------------------------------------------------------------
# a finished run, as maps, export and ranking consume it


class RunOutputs:
    """The outputs of a run: result layers, tables and manifest.

    Maps, the QGIS export and later stages read a run through this one
    object, whether it was just computed (:meth:`from_result`) or is read
    back from an output folder (:meth:`read`) without recomputing.

    Attributes
    ----------
    layers : dict of str -> GeoDataFrame
        ``substations``, ``service_areas``, the site layers (working CRS).
    tables : dict of str -> DataFrame
        ``headroom``, ``demand``, ``assignment``, ``shortfall``, ``capacity``,
        ``reinforcements``, ``notices``.
    manifest : dict
    out_dir : Path or None
    """

    def __init__(self, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame], manifest: dict,
                 out_dir: Path | None = None):
        self.layers = layers
        self.tables = tables
        self.manifest = manifest
        self.out_dir = out_dir

    @property
    def project_name(self) -> str:
        return self.manifest.get("project", "")

    @property
    def variants(self) -> list[str]:
        return list(self.manifest.get("variants", {BASE_VARIANT: ""}))

    @property
    def years(self) -> list[int]:
        a, b = self.manifest["horizon"]
        return list(range(int(a), int(b) + 1))

    @classmethod
    def from_result(cls, result: RunResult, *, run_date: datetime | None = None) -> RunOutputs:
        """Build from a computed result (no files read)."""
        return cls(result_layers(result), _by_carrier(result_tables(result)), manifest(result, [], run_date=run_date))

    @classmethod
    def read(cls, out_dir: str | Path) -> RunOutputs:
        """Read a finished run from its output folder: layers, tables, and the ranking tables if written.

        Raises
        ------
        OutputError
            When the folder is not the output of ``spatialprog run``.
        """
        import pyogrio

        out_dir = Path(out_dir)
        man_path = out_dir / "manifest.json"
        gpkg = out_dir / RESULTS_GPKG
        if not out_dir.exists() and (out_dir.parent / f".{out_dir.name}.swap").exists():
            raise OutputError(f"{out_dir}: a run writing this folder was interrupted while replacing it - run the "
                              f"same command again, or any command writing {out_dir}, to finish or undo it")
        if not man_path.is_file() or not gpkg.is_file():
            raise OutputError(f"{out_dir}: not the output folder of a run (no manifest.json / {RESULTS_GPKG}) - run "
                              f"'spatialprog run PROJECT.toml --out {out_dir}' first")
        man = json.loads(man_path.read_text(encoding="utf-8"))
        layers = {}
        conflict_parts = []
        for name, gtype in pyogrio.list_layers(gpkg):
            if gtype is None:
                continue
            gdf = pyogrio.read_dataframe(gpkg, layer=str(name))
            if str(name).startswith("conflicts_"):
                conflict_parts.append(gdf)
            else:
                layers[str(name)] = gdf
        if conflict_parts:
            c = pd.concat(conflict_parts, ignore_index=True)
            layers["conflicts"] = c.sort_values(["rule_id", "id_a", "id_b"], kind="stable").reset_index(drop=True) \
                if len(c) else c
        # the run's tables, then the ranking's (spatialprog.ranking.write_ranking) where present; ids stay text
        ids = {c: object for c in (F.SUBSTATION_ID, F.SITE_ID, "id_a", "id_b", "boundary_id", "node_id")}
        tables = {}
        for name in ("headroom", "demand", "assignment", "shortfall", "capacity", "reinforcements", "notices",
                     "conflict_matrix", "operator_comparison", *F.RANKING_TABLES):
            p = out_dir / f"{name}.csv"
            if not p.is_file() or p.stat().st_size == 0:
                continue
            try:
                tables[name] = read_csv(p, dtype=ids)  # text cells as written (writer.escape_text undone)
            except pd.errors.EmptyDataError:  # a table without columns, e.g. no sites to rank
                continue
        return cls(layers, _by_carrier(tables), man, out_dir)
