"""What the conflicts engine returns: the conflicts table, per-layer summaries, the matrix.

:class:`ConflictResult` holds the result of
:func:`~spatialprog.conflicts.compute_conflicts`. The functions here build its
tables from the pairs the rules found: :func:`frame_rows` the conflict rows of
one rule, :func:`summaries` the per-feature summary of every layer and
:func:`matrix` the layer x layer counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from spatialprog.errors import NoticeLog

from .prepare import PreparedLayer
from .rules import SEVERITY_RANK, Rule

__all__ = [
    "CONFLICT_COLUMNS",
    "SUMMARY_COLUMNS",
    "MATRIX_COLUMNS",
    "ConflictResult",
    "frame_rows",
    "empty_conflicts",
    "summaries",
    "matrix",
    "assemble",
]

CONFLICT_COLUMNS: tuple[str, ...] = (
    "conflict_id",
    "rule_id",
    "kind",
    "severity",
    "severity_rank",
    "description_nl",
    "layer_a",
    "id_a",
    "layer_b",
    "id_b",
    "area_m2",
    "share_a",
    "share_b",
    "dist_m",
    "rule_distance_m",
    "geometry",
)
"""Columns of :attr:`ConflictResult.conflicts`, in order."""

_TEXT_COLUMNS: tuple[str, ...] = (
    "conflict_id", "rule_id", "kind", "severity", "description_nl", "layer_a", "id_a", "layer_b", "id_b",
)
_MEASURE_COLUMNS: tuple[str, ...] = ("area_m2", "share_a", "share_b", "dist_m", "rule_distance_m")

SUMMARY_COLUMNS: tuple[str, ...] = (
    "id",
    "n_conflicts",
    "worst_severity",
    "worst_severity_rank",
    "rule_ids",
)
"""Columns of each table in :attr:`ConflictResult.summary`."""

MATRIX_COLUMNS: tuple[str, ...] = ("layer_a", "layer_b", "n_rules", "n_conflicts", "area_m2")
"""Columns of :attr:`ConflictResult.matrix`."""


@dataclass
class ConflictResult:
    """Result of :func:`compute_conflicts`.

    Attributes
    ----------
    conflicts : geopandas.GeoDataFrame
        One row per conflict, columns :data:`CONFLICT_COLUMNS`, in the working
        CRS, sorted by ``rule_id``, ``id_a``, ``id_b``. ``conflict_id`` is
        ``"<rule_id>:<id_a>:<id_b>"``, stable between runs. Overlap and inside
        rows carry ``area_m2``, ``share_a`` and ``share_b`` (shared area over
        each feature's area) and the shared part as geometry; distance rows
        carry ``dist_m``, the applied ``rule_distance_m`` and the shortest line
        between the two features as geometry. Columns that do not apply are NaN.
    summary : dict of str to pandas.DataFrame
        For every input layer that an enabled rule refers to, a table aligned
        to that layer's index (every feature, zero where none) with
        :data:`SUMMARY_COLUMNS`. A conflict counts
        for both features in it. ``worst_severity`` is missing (NA) and
        ``worst_severity_rank`` 0 where a feature has no conflict; ``rule_ids``
        is the sorted, comma-joined list of rule ids.
    matrix : pandas.DataFrame
        Tidy layer x layer table (:data:`MATRIX_COLUMNS`): for every pair of
        layers compared by at least one rule, the number of rules, conflicts and
        the total shared area in m2 (0 for distance rules).
    notices : NoticeLog
        Repairs and skipped rules; the run went on.
    rules_run : tuple of str
        Ids of the rules that were evaluated.
    """

    conflicts: gpd.GeoDataFrame
    summary: dict[str, pd.DataFrame]
    matrix: pd.DataFrame
    notices: NoticeLog
    rules_run: tuple[str, ...] = ()


def frame_rows(
    rule: Rule,
    la: PreparedLayer,
    lb: PreparedLayer,
    ia: np.ndarray,
    ib: np.ndarray,
    geometry: np.ndarray,
    *,
    area: np.ndarray | None = None,
    share_a: np.ndarray | None = None,
    share_b: np.ndarray | None = None,
    dist: np.ndarray | None = None,
    rule_distance: np.ndarray | None = None,
) -> pd.DataFrame:
    """The conflict rows of one rule, from the positions of its pairs.

    Parameters
    ----------
    rule : Rule
    la, lb : PreparedLayer
        The rule's ``layer_a`` and ``layer_b``.
    ia, ib : numpy.ndarray of int
        Positions of each pair's features in ``la`` and ``lb``.
    geometry : numpy.ndarray of shapely.Geometry
        One geometry per pair (the shared part, or the shortest line).
    area, share_a, share_b, dist, rule_distance : numpy.ndarray, optional
        Measures per pair; a column not given is NaN.

    Returns
    -------
    pandas.DataFrame
        :data:`CONFLICT_COLUMNS` plus the positions ``_pos_a`` and ``_pos_b``
        (for :func:`summaries`), sorted by ``id_a`` then ``id_b``.
    """
    order = np.lexsort((lb.rank[ib], la.rank[ia]))  # sorted by id_a, then id_b

    def pick(values: np.ndarray | None) -> np.ndarray:
        return np.full(len(ia), np.nan) if values is None else np.asarray(values, "float64")[order]

    ia, ib = ia[order], ib[order]
    n = len(ia)
    id_a = pd.Series(la.ids[ia], dtype="str")
    id_b = pd.Series(lb.ids[ib], dtype="str")
    return pd.DataFrame(
        {
            "conflict_id": (rule.rule_id + ":" + id_a + ":" + id_b).to_numpy(),
            "rule_id": rule.rule_id,
            "kind": rule.kind,
            "severity": rule.severity,
            "severity_rank": np.full(n, rule.severity_rank, dtype="int64"),
            "description_nl": rule.description_nl,
            "layer_a": rule.layer_a,
            "id_a": id_a.to_numpy(),
            "layer_b": rule.layer_b,
            "id_b": id_b.to_numpy(),
            "area_m2": pick(area),
            "share_a": pick(share_a),
            "share_b": pick(share_b),
            "dist_m": pick(dist),
            "rule_distance_m": pick(rule_distance),
            "geometry": np.asarray(geometry, dtype=object)[order],
            "_pos_a": ia,
            "_pos_b": ib,
        },
        index=pd.RangeIndex(n),
    )


def empty_conflicts(crs: CRS) -> gpd.GeoDataFrame:
    """A conflicts table without rows: :data:`CONFLICT_COLUMNS` with their dtypes, in ``crs``."""
    cols: dict[str, Any] = {c: pd.Series([], dtype="float64") for c in _MEASURE_COLUMNS}
    for c in _TEXT_COLUMNS:
        cols[c] = pd.Series([], dtype="str")
    cols["severity_rank"] = pd.Series([], dtype="int64")
    frame = pd.DataFrame(cols)[[c for c in CONFLICT_COLUMNS if c != "geometry"]]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _join_codes(fpos: np.ndarray, fcode: np.ndarray, names: np.ndarray, n: int) -> np.ndarray:
    """Comma-join the sorted rule names per feature from unique (feature, code) pairs."""
    out = np.full(n, "", dtype=object)
    if not len(fpos):
        return out
    if len(names) <= 62:
        # one bit per rule; the few distinct combinations are joined once each
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, fpos, np.left_shift(np.int64(1), fcode.astype(np.int64)))
        combos, inverse = np.unique(mask[fpos], return_inverse=True)
        text = np.array(
            [",".join(names[[k for k in range(len(names)) if (int(c) >> k) & 1]]) for c in combos],
            dtype=object,
        )
        out[fpos] = text[inverse]
        return out
    starts = np.flatnonzero(np.r_[True, fpos[1:] != fpos[:-1]])
    ends = np.r_[starts[1:], len(fpos)]
    out[fpos[starts]] = [",".join(names[fcode[i:j]]) for i, j in zip(starts, ends, strict=True)]
    return out


def summaries(prepared: Mapping[str, PreparedLayer], rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per-feature summary of every prepared layer (see :attr:`ConflictResult.summary`).

    Parameters
    ----------
    prepared : mapping of str to PreparedLayer
    rows : pandas.DataFrame
        All conflict rows, with ``_pos_a`` and ``_pos_b`` (from :func:`frame_rows`).

    Returns
    -------
    dict of str to pandas.DataFrame
        :data:`SUMMARY_COLUMNS`, aligned to each layer's index.
    """
    inv_rank = {v: k for k, v in SEVERITY_RANK.items()}
    labels = np.array([pd.NA] + [inv_rank.get(i, pd.NA) for i in range(1, max(SEVERITY_RANK.values()) + 1)],
                      dtype=object)
    if len(rows):
        codes, uniq = pd.factorize(rows["rule_id"], sort=True)
        names = np.asarray(uniq, dtype=object).astype(str)
        sev_all = rows["severity_rank"].to_numpy(dtype=np.int64)
    else:
        codes, names, sev_all = np.zeros(0, np.int64), np.array([], dtype=str), np.zeros(0, np.int64)
    out: dict[str, pd.DataFrame] = {}
    for name, layer in prepared.items():
        n = len(layer.ids)
        pos_parts, code_parts, sev_parts = [], [], []
        for side in ("a", "b"):
            if not len(rows):
                continue
            mine = (rows[f"layer_{side}"] == name).to_numpy(dtype=bool)
            pos_parts.append(rows[f"_pos_{side}"].to_numpy(dtype=np.intp)[mine])
            code_parts.append(codes[mine])
            sev_parts.append(sev_all[mine])
        pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.intp)
        code = np.concatenate(code_parts) if code_parts else np.zeros(0, np.int64)
        sev = np.concatenate(sev_parts) if sev_parts else np.zeros(0, np.int64)
        n_conf = np.bincount(pos, minlength=n).astype("int64")
        worst = np.zeros(n, dtype="int64")
        np.maximum.at(worst, pos, sev)
        key = np.unique(pos.astype(np.int64) * max(len(names), 1) + code)
        rule_ids = _join_codes(key // max(len(names), 1), key % max(len(names), 1), names, n)
        out[name] = pd.DataFrame(
            {
                "id": layer.ids,
                "n_conflicts": n_conf,
                "worst_severity": labels[worst],
                "worst_severity_rank": worst,
                "rule_ids": rule_ids,
            },
            index=layer.frame.index,
        ).astype({"id": "str", "worst_severity": "str", "rule_ids": "str"})
    return out


def matrix(run: list[Rule], rows: pd.DataFrame) -> pd.DataFrame:
    """Layer x layer counts of the rules run and their conflicts (see :attr:`ConflictResult.matrix`).

    Parameters
    ----------
    run : list of Rule
        The rules evaluated.
    rows : pandas.DataFrame
        All conflict rows.

    Returns
    -------
    pandas.DataFrame
        :data:`MATRIX_COLUMNS`, sorted by ``layer_a``, ``layer_b``.
    """
    base = pd.DataFrame([(r.layer_a, r.layer_b, r.rule_id) for r in run],
                        columns=["layer_a", "layer_b", "rule_id"])
    if base.empty:
        return pd.DataFrame({"layer_a": pd.Series([], dtype="str"), "layer_b": pd.Series([], dtype="str"),
                             "n_rules": pd.Series([], dtype="int64"),
                             "n_conflicts": pd.Series([], dtype="int64"),
                             "area_m2": pd.Series([], dtype="float64")})
    out = base.groupby(["layer_a", "layer_b"], as_index=False).agg(n_rules=("rule_id", "size"))
    if len(rows):
        agg = rows.groupby(["layer_a", "layer_b"], as_index=False).agg(
            n_conflicts=("rule_id", "size"), area_m2=("area_m2", lambda s: float(np.nansum(s)))
        )
        out = out.merge(agg, on=["layer_a", "layer_b"], how="left")
    else:
        out["n_conflicts"] = 0
        out["area_m2"] = 0.0
    out["n_conflicts"] = out["n_conflicts"].fillna(0).astype("int64")
    out["area_m2"] = out["area_m2"].fillna(0.0).astype("float64")
    return out.sort_values(["layer_a", "layer_b"], ignore_index=True)[list(MATRIX_COLUMNS)]



def assemble(
    frames: list[pd.DataFrame],
    prepared: Mapping[str, PreparedLayer],
    run: list[Rule],
    notices: NoticeLog,
    crs: CRS,
) -> ConflictResult:
    """Build the :class:`ConflictResult` from the rows of every rule run.

    Parameters
    ----------
    frames : list of pandas.DataFrame
        The rows of each rule (from :func:`frame_rows`), each sorted by
        ``id_a``, ``id_b``; empty frames are dropped.
    prepared : mapping of str to PreparedLayer
        The layers the rules refer to (each gets a summary).
    run : list of Rule
        The rules evaluated.
    notices : NoticeLog
    crs : pyproj.CRS
        The working CRS.

    Returns
    -------
    ConflictResult
    """
    frames = [f for f in frames if len(f)]
    if frames:
        # each frame is sorted by id_a, id_b; order the frames by rule id
        frames.sort(key=lambda f: str(f["rule_id"].iloc[0]))
        rows = pd.concat(frames, ignore_index=True)
        conflicts = gpd.GeoDataFrame(
            rows[list(CONFLICT_COLUMNS)].astype(dict.fromkeys(_TEXT_COLUMNS, "str")),
            geometry="geometry",
            crs=crs,
        )
    else:
        rows = pd.DataFrame(columns=["layer_a", "layer_b", "_pos_a", "_pos_b", "rule_id",
                                     "severity_rank", "area_m2"])
        conflicts = empty_conflicts(crs)
    return ConflictResult(
        conflicts=conflicts,
        summary=summaries(prepared, rows),
        matrix=matrix(run, rows),
        notices=notices,
        rules_run=tuple(r.rule_id for r in run),
    )
