"""The operators' own forecast beside our projection, and why they differ.

Where the substations layer carries the operators' forecast of available capacity
(VIVET: 3, 5 and 10 years after each station's reference date), our projection of
the same stations **without the project's new sites** is evaluated in those same
calendar years (no interpolation) by the one grid model
(:func:`spatialprog.headroom.grid_state`), and the two are compared: the level,
the change since the reference date, its direction (up, flat or down; flat within
``operator.flat_tolerance_mva``) and which of our assumptions explains the
difference (growth of the physical peak, investments, reserved capacity held
constant, the unserved queue).

Pure: it computes from the plan's layer and the run's tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import fields as F
from .headroom import grid_state, is_short
from .params import ParameterSet
from .published import FORECAST_HORIZONS, StationBasis

__all__ = ["COMPARISON_COLUMNS", "trend", "operator_comparison", "comparison_summary"]

COMPARISON_COLUMNS = [
    F.SUBSTATION_ID, "name", "operator", F.DIRECTION, "reference_date", "horizon_years", F.YEAR,
    "operator_available_mva", "ours_available_mva", "difference_mva", "operator_change_mva", "ours_change_mva",
    "operator_trend", "ours_trend", "trends_agree", "ours_investments_mva", "ours_unserved_queue_mva",
    "ours_growth_mva", "explained_by", "ours_with_plans_available_mva", "operator_overload_year",
    "ours_first_shortfall_year",
]
_NL = {F.OFFTAKE: "afname", F.FEEDIN: "invoeding"}


def trend(change_mva, tolerance_mva: float) -> np.ndarray:
    """``up``, ``flat`` or ``down`` per change (MVA); flat within the tolerance.

    Examples
    --------
    >>> trend(np.array([5.0, 0.5, -1.0, -3.0]), 1.0).tolist()
    ['up', 'flat', 'flat', 'down']
    """
    c = np.asarray(change_mva, dtype=float)
    return np.where(c > tolerance_mva, "up", np.where(c < -tolerance_mva, "down", "flat")).astype(object)


def _explain(row, tol: float) -> str:
    """The assumptions behind the difference between our change and the operator's (one line)."""
    parts = []
    if abs(row.ours_investments_mva) > tol:
        parts.append(f"investments: ours adds {row.ours_investments_mva:+.0f} MVA counted by {row.year}")
    if abs(row.ours_unserved_queue_mva) > tol:
        parts.append(f"unserved queue: {-row.ours_unserved_queue_mva:+.0f} MVA carried as reserved")
    if abs(row.ours_growth_mva) > tol:
        parts.append(f"growth: the physical peak grows past the reserved capacity ({row.ours_growth_mva:+.0f} MVA)")
    rest = row.operator_change_mva - row.ours_change_mva
    if rest < -tol:
        parts.append(f"reserved capacity: the operator expects {-rest:.0f} MVA more to be taken (contracts and "
                     "queue it foresees; ours holds the reserved capacity constant)")
    elif rest > tol:
        parts.append(f"the operator frees {rest:.0f} MVA more than ours (investments or contracts the data do not "
                     "list)")
    if not parts:
        return "agrees" if abs(row.difference_mva) <= tol else "level differs at the reference date"
    return "; ".join(parts)


def operator_comparison(substations: pd.DataFrame, params: ParameterSet, reinforcements: pd.DataFrame,
                        basis: StationBasis, *, base_year: int, headroom: pd.DataFrame | None = None,
                        variant: str = "basis") -> pd.DataFrame:
    """Per station, direction and forecast horizon: the operator's forecast and our projection.

    Parameters
    ----------
    substations : DataFrame
        The validated substations layer (with the operators' forecast columns).
    params : ParameterSet
        The base variant's parameters (``operator.flat_tolerance_mva``).
    reinforcements : DataFrame
        :func:`spatialprog.published.investment_table`.
    basis : StationBasis
        Of the same parameters.
    base_year : int
    headroom : DataFrame, optional
        The run's headroom table: its ``variant`` headroom with the new sites
        fills ``ours_with_plans_available_mva`` in the years the run covers.
    variant : str

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`, one row per station, direction and horizon
        (3, 5, 10 years) where the operator gives both the current figure and
        that forecast; empty when the layer has no forecast.
    """
    fc = basis.forecast
    if not len(fc) or not (fc["horizon_years"] > 0).any():
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    tol = float(params["operator.flat_tolerance_mva"])
    pf = float(params["grid.power_factor"])
    years = np.arange(int(basis.reference_year.min()), int(basis.reference_year.max()) + max(FORECAST_HORIZONS) + 1)
    none = pd.DataFrame(columns=[F.SUBSTATION_ID, F.YEAR, F.OFFTAKE_MW, F.FEEDIN_MW])
    state = grid_state(substations, none, params, years, base_year=base_year, reinforcements=reinforcements,
                       basis=basis)
    pos = {s: i for i, s in enumerate(basis.substation_ids)}
    now = fc[fc["horizon_years"] == 0].set_index([F.SUBSTATION_ID, F.DIRECTION])["operator_available_mva"]
    rows = fc[(fc["horizon_years"] > 0)].copy()
    rows = rows[[k in now.index for k in zip(rows[F.SUBSTATION_ID], rows[F.DIRECTION], strict=True)]]
    rows = rows.reset_index(drop=True)
    i = rows[F.SUBSTATION_ID].map(pos).to_numpy(dtype=int)
    ref = basis.reference_year[i]
    c_ref = ref - years[0]
    c_at = rows[F.YEAR].to_numpy(dtype=int) - years[0]
    out = {k: np.empty(len(rows)) for k in ("ours", "ours_ref", "inv", "queue", "growth")}
    first_short = np.full(len(rows), -1)
    for d in F.DIRECTIONS:
        m = (rows[F.DIRECTION] == d).to_numpy()
        head = state.headroom_mw(d) / pf
        out["ours"][m] = head[i[m], c_at[m]]
        out["ours_ref"][m] = head[i[m], c_ref[m]]
        out["inv"][m] = state.firm_mva[d][i[m], c_at[m]] - state.firm_mva[d][i[m], c_ref[m]]
        queue = basis.unserved_mva[d][i[m]] * ((basis.unserved_year[d][i[m]] >= 0)
                                               & (basis.unserved_year[d][i[m]] <= rows[F.YEAR].to_numpy()[m]))
        out["queue"][m] = queue
        reserved = np.nan_to_num(state.reserved_mw[d], nan=0.0)
        above = np.maximum(state.existing_mw[d] - reserved, 0.0) / pf  # how far the peak exceeds the reserved
        out["growth"][m] = -(above[i[m], c_at[m]] - above[i[m], c_ref[m]])
        short = is_short(head)
        short[np.arange(len(years))[None, :] < (basis.reference_year - years[0])[:, None]] = False
        fy = np.where(short.any(axis=1), years[np.argmax(short, axis=1)], -1)
        first_short[m] = fy[i[m]]
    ours = out["ours"]
    op_now = now.reindex(list(zip(rows[F.SUBSTATION_ID], rows[F.DIRECTION], strict=True))).to_numpy()
    names = substations["name"] if "name" in substations else substations["id"]
    operators = substations["operator"] if "operator" in substations else pd.Series("", index=substations.index)
    res = pd.DataFrame({
        F.SUBSTATION_ID: rows[F.SUBSTATION_ID],
        "name": names.to_numpy()[i],
        "operator": operators.to_numpy()[i],
        F.DIRECTION: rows[F.DIRECTION],
        "reference_date": basis.reference_date[i],
        "horizon_years": rows["horizon_years"].astype(int),
        F.YEAR: rows[F.YEAR].astype(int),
        "operator_available_mva": rows["operator_available_mva"].to_numpy(),
        "ours_available_mva": ours,
        "difference_mva": ours - rows["operator_available_mva"].to_numpy(),
        "operator_change_mva": rows["operator_available_mva"].to_numpy() - op_now,
        "ours_change_mva": ours - out["ours_ref"],
        "ours_investments_mva": out["inv"],
        "ours_unserved_queue_mva": out["queue"],
        "ours_growth_mva": out["growth"],
    })
    res["operator_trend"] = trend(res["operator_change_mva"], tol)
    res["ours_trend"] = trend(res["ours_change_mva"], tol)
    res["trends_agree"] = res["operator_trend"] == res["ours_trend"]
    res["explained_by"] = [_explain(r, tol) for r in res.itertuples(index=False)]
    res["ours_with_plans_available_mva"] = np.nan
    if headroom is not None and len(headroom):
        h = headroom[headroom[F.VARIANT] == variant].set_index([F.SUBSTATION_ID, F.DIRECTION, F.YEAR])[F.HEADROOM_MW]
        key = pd.MultiIndex.from_arrays([res[F.SUBSTATION_ID], res[F.DIRECTION], res[F.YEAR]])
        res["ours_with_plans_available_mva"] = h.reindex(key).to_numpy() / pf
    for d in F.DIRECTIONS:
        col = f"overload_year_{d}"
        m = res[F.DIRECTION] == d
        if col in substations:
            res.loc[m, "operator_overload_year"] = substations[col].astype("string").to_numpy()[i[m.to_numpy()]]
    if "operator_overload_year" not in res:
        res["operator_overload_year"] = pd.NA
    res["ours_first_shortfall_year"] = pd.array(np.where(first_short >= 0, first_short, pd.NA), dtype="Int64")
    order = {d: k for k, d in enumerate(F.DIRECTIONS)}
    res = res.sort_values([F.SUBSTATION_ID, F.DIRECTION, "horizon_years"],
                          key=lambda s: s.map(order) if s.name == F.DIRECTION else s, kind="stable")
    return res[COMPARISON_COLUMNS].reset_index(drop=True)


def comparison_summary(table: pd.DataFrame, *, horizon_years: int = 5, tolerance_mva: float = 1.0,
                       worst: int = 3) -> str:
    """A one-screen summary of :func:`operator_comparison`: agreement at one horizon, per direction.

    Parameters
    ----------
    table : DataFrame
    horizon_years : int
        The forecast horizon summarised (default 5 years).
    tolerance_mva : float
        The flat band, for the text.
    worst : int
        How many stations with the largest difference to list per direction.

    Returns
    -------
    str
        Plain text (station names are the user's: escape before printing as markup).
    """
    if not len(table):
        return ""
    lines = [f"Operators' forecast beside ours, {horizon_years} years after each station's reference date "
             f"(no new sites; flat = within {tolerance_mva:g} MVA):"]
    t = table[table["horizon_years"] == horizon_years]
    for d in F.DIRECTIONS:
        x = t[t[F.DIRECTION] == d]
        if not len(x):
            continue
        agree = int(x["trends_agree"].sum())
        lines.append(f"  {_NL[d]}: the direction agrees at {agree} of {len(x)} stations ({100 * agree / len(x):.0f} %); "
                     f"mean change ours {x['ours_change_mva'].mean():+.1f} MVA, operators "
                     f"{x['operator_change_mva'].mean():+.1f} MVA")
        cross = pd.crosstab(x["ours_trend"], x["operator_trend"]).reindex(index=["up", "flat", "down"],
                                                                          columns=["up", "flat", "down"], fill_value=0)
        lines.append("      ours \\ operator     up   flat   down")
        for k, r in cross.iterrows():
            lines.append(f"      {k:<19}{r['up']:>4}{r['flat']:>7}{r['down']:>7}")
        top = x.reindex(x["difference_mva"].abs().sort_values(ascending=False, kind="stable").index).head(worst)
        for r in top.itertuples(index=False):
            if abs(r.difference_mva) <= tolerance_mva:
                break
            lines.append(f"      {str(r.name)[:28]:<28} {r.year}: ours {r.ours_available_mva:.0f}, operator "
                         f"{r.operator_available_mva:.0f} MVA - {r.explained_by}")
    return "\n".join(lines)

