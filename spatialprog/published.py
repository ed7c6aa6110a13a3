"""The operators' published capacity figures, read as the operators mean them.

The operators publish per station (VIVET; the national capacity map has the same
concepts): the transport capacity, what is still **available** for new connection
requests, their own forecast of that availability 3, 5 and 10 years on, the planned
investments, offtake and feed-in apart, all fixed at the station's own **reference
date** (``peildatum``). Available capacity is contractual: capacity minus what
contracts and the queue **reserve**. It is not a measured peak; 0 available means
the capacity is taken, not that the transformers carry it (DOMAIN.md).

The model, per station and direction, for a calendar year ``y``:

* reference year ``R`` = the year of the reference date; the project's base year
  where a station has none (or one after the base year, with a notice);
* ``reserved_mva`` = capacity - available (or a published reserved figure), never
  below 0 (availability above capacity is reported, not turned into a negative load);
* physical peak at ``R`` = the measured peak where published, else
  ``grid.peak_share_of_reserved_*`` x reserved (an assumption in data/);
* ``reserved(y) = (reserved + unserved queue from its year) x (1 + reserved growth)^(y - R)``,
  ``peak(y) = peak(R) x (1 + growth)^(y - R)``;
* existing load ``= max(reserved(y), peak(y))``, so headroom for new connections =
  firm capacity + investments in service - max(reserved, grown peak) - new demand
  (:func:`spatialprog.headroom.grid_state`);
* an investment the operator data dates in or before ``R`` is already in the
  published figures and is not added again; later ones add from their year on. A
  planner's own reinforcement (project file) is never in the operator's figures:
  it counts from its year, at the earliest ``R + 1``;
* **unserved queue**: where the operator's own forecast after an investment rises
  by less than the investment (VIVET's Lage Weide: +100 MVA in 2025, forecast still
  0 in 2026 and 2028), the queue takes the rest. It is derived at the first
  forecast year after the investment's year, as investment - the forecast's change,
  never below 0, and carried as reserved from the investment's year.

Pure: the layer arrives validated; nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import fields as F
from .errors import NoticeLog
from .params import ParameterSet

__all__ = [
    "FORECAST_HORIZONS",
    "BOTH",
    "reference_years",
    "investment_table",
    "StationBasis",
    "station_basis",
    "in_published_figures",
    "added_mva",
]

#: years after the reference date at which the operators publish their own forecast
FORECAST_HORIZONS = (3, 5, 10)
#: the direction of a reinforcement that adds to offtake and feed-in alike (a transformer)
BOTH = "both"
_LAYER = "layer"
_DIRECTION_NL = {F.OFFTAKE: "afname", F.FEEDIN: "invoeding"}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name].astype(float) if name in df else pd.Series(np.nan, index=df.index)


def reference_years(substations: pd.DataFrame, *, base_year: int,
                    notices: NoticeLog | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The date each station's figures start from, and its year.

    Parameters
    ----------
    substations : DataFrame
        A validated substations layer (``reference_date`` optional).
    base_year : int
    notices : NoticeLog, optional
        Told of a reference date that is missing (where the layer has the
        column), not a date, or after the base year: the base year is used.

    Returns
    -------
    dates : ndarray of str
        ``YYYY-MM-DD``, or ``'{base_year}'`` where the base year is used.
    years : ndarray of int

    Examples
    --------
    >>> s = pd.DataFrame({"id": ["A", "B", "C"], "reference_date": ["2023-04-21", None, "2031-01-01"]})
    >>> d, y = reference_years(s, base_year=2025)
    >>> d.tolist(), y.tolist()
    (['2023-04-21', '2025', '2025'], [2023, 2025, 2025])
    """
    n = len(substations)
    dates = np.full(n, str(base_year), dtype=object)
    years = np.full(n, int(base_year), dtype=int)
    if "reference_date" not in substations:
        return dates, years
    raw = substations["reference_date"]
    parsed = pd.to_datetime(raw.astype("string").str.strip(), errors="coerce", format="mixed", dayfirst=False)
    for i, (sid, text, when) in enumerate(zip(substations["id"], raw, parsed, strict=True)):
        if pd.isna(when):
            why = "is missing" if pd.isna(text) or not str(text).strip() else f"'{str(text)[:30]}' is not a date"
        elif when.year > base_year:
            why = f"{when.date().isoformat()} is after the base year {base_year}"
        else:
            dates[i], years[i] = when.date().isoformat(), when.year
            continue
        if notices is not None:
            notices.add("substations", f"reference date {why}: the figures are taken as of the base year "
                        f"{base_year}", feature=sid, field="reference_date", level="warning",
                        fix="give the date the operator fixed the figures (YYYY-MM-DD)")
    return dates, years


def investment_table(substations: pd.DataFrame, extra: Iterable[Mapping] = (), *,
                     reference_year: Mapping[str, int], base_year: int,
                     notices: NoticeLog | None = None) -> pd.DataFrame:
    """Planned investments per direction, and the year each counts from.

    The layer's ``reinforcement_year``/``_mva`` add to both directions (a
    transformer); ``reinforcement_offtake_*`` and ``reinforcement_feedin_*``
    to one. One the operator data date in or before the station's reference
    year is already in the published figures: it is left out, with a notice.
    The project file's reinforcements (a planner's decisions) count from their
    year, at the earliest the reference year + 1.

    Returns
    -------
    DataFrame
        ``substation_id, direction, year, reinforcement_mva, counted_from_year,
        source``; ``direction`` is ``offtake``, ``feedin`` or ``both``.

    Examples
    --------
    >>> s = pd.DataFrame({"id": ["A", "B"], "reinforcement_offtake_year": [2020, 2026],
    ...                   "reinforcement_offtake_mva": [40.0, 24.0]})
    >>> t = investment_table(s, reference_year={"A": 2023, "B": 2023}, base_year=2025)
    >>> t[["substation_id", "direction", "year", "counted_from_year"]].values.tolist()
    [['B', 'offtake', 2026, 2026]]
    """
    rows = []
    ids = substations["id"].to_numpy()
    for direction, prefix in ((BOTH, "reinforcement"), (F.OFFTAKE, f"reinforcement_{F.OFFTAKE}"),
                              (F.FEEDIN, f"reinforcement_{F.FEEDIN}")):
        ycol, mcol = f"{prefix}_year", f"{prefix}_mva"
        if ycol not in substations and mcol not in substations:
            continue
        yrs, mva = _col(substations, ycol), _col(substations, mcol)
        for sid, y, m in zip(ids, yrs, mva, strict=True):
            if pd.isna(y) and pd.isna(m):
                continue
            if pd.isna(m) or pd.isna(y):
                if notices is not None and not (pd.isna(y) and m == 0):
                    what = f"a year ({int(y)}) but no MVA" if pd.isna(m) else f"{m:g} MVA but no year"
                    notices.add("substations", f"investment ({direction}) with {what}: ignored", feature=sid,
                                field=mcol if pd.isna(m) else ycol, level="warning",
                                fix=f"give both {ycol} and {mcol}")
                continue
            if m <= 0:
                continue
            ref = int(reference_year.get(sid, base_year))
            if int(y) <= ref:
                if notices is not None:
                    notices.add("substations", f"investment ({direction}) of {m:g} MVA dated {int(y)}, in or before "
                                f"the reference year {ref}: already in the published figures, not added again",
                                feature=sid, field=ycol, level="info")
                continue
            rows.append((sid, direction, int(y), float(m), int(y), _LAYER))
    for r in extra:
        sid, y = r["substation"], int(r["year"])
        ref = int(reference_year.get(sid, base_year))
        start = max(y, ref + 1)
        if start != y and notices is not None:
            notices.add("substations", f"reinforcement dated {y}, not after the reference year {ref}: counted from "
                        f"{start} (the figures of {ref} are as published)", feature=sid,
                        field="reinforcement_year", level="info")
        rows.append((sid, r.get("direction") or BOTH, y, float(r["added_mva"]), start,
                     r.get("description") or "project file"))
    out = pd.DataFrame(rows, columns=[F.SUBSTATION_ID, F.DIRECTION, F.YEAR, F.REINFORCEMENT_MVA,
                                      "counted_from_year", "source"])
    return out.astype({F.YEAR: int, "counted_from_year": int, F.REINFORCEMENT_MVA: float})


@dataclass(frozen=True)
class StationBasis:
    """Where each station's projection starts: its reference date, reserved capacity, peak and queue.

    Attributes
    ----------
    substation_ids : ndarray of str
    reference_date : ndarray of str
        ``YYYY-MM-DD``, or the base year where none applies.
    reference_year : ndarray of int
    reserved_mva : dict of str -> ndarray
        Per direction: capacity reserved by contracts and the queue at the
        reference date (NaN where the station publishes no availability).
    peak_mw : dict of str -> ndarray
        Per direction: the physical peak at the reference date (measured, or
        a share of the reserved capacity).
    peak_source : dict of str -> ndarray of str
        ``measured``, ``share of reserved`` or ``none``.
    unserved_mva, unserved_year : dict of str -> ndarray
        Per direction: the queue the operator's forecast shows an investment
        does not serve, and the year from which it is carried (0 / -1 where none).
    forecast : DataFrame
        The operators' own forecast: ``substation_id, direction, horizon_years,
        year, operator_available_mva`` (``horizon_years`` 0 = as published now).
    notes : dict of str -> str
        Per substation: how its basis was read, in a sentence (only where it
        differs from the plain reading).
    """

    substation_ids: np.ndarray
    reference_date: np.ndarray
    reference_year: np.ndarray
    reserved_mva: dict[str, np.ndarray]
    peak_mw: dict[str, np.ndarray]
    peak_source: dict[str, np.ndarray]
    unserved_mva: dict[str, np.ndarray]
    unserved_year: dict[str, np.ndarray]
    forecast: pd.DataFrame
    notes: dict[str, str]

    def loads(self, years: np.ndarray, params: ParameterSet, *, modelled_mw: np.ndarray | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Reserved capacity and physical peak per direction and year (MW), shape ``(n_substations, n_years)``.

        Before a station's reference year the figures are held at their reference value.
        ``modelled_mw`` (per substation, offtake) is the part of the peak that existing
        neighbourhoods modelled by their own transition path draw in the base year: the
        autonomous growth applies to the rest only (never below 0), so the transition is
        not counted twice.
        """
        pf = float(params["grid.power_factor"])
        yrs = np.asarray(years, dtype=int)[None, :]
        elapsed = np.maximum(yrs - self.reference_year[:, None], 0)
        rg = float(params["grid.reserved_growth_pct_per_year"]) / 100.0
        reserved, peak = {}, {}
        for d in F.DIRECTIONS:
            g = float(params[f"growth.{d}_pct_per_year"]) / 100.0
            queue = self.unserved_mva[d][:, None] * (yrs >= self.unserved_year[d][:, None])
            reserved[d] = (self.reserved_mva[d][:, None] + queue) * (1.0 + rg) ** elapsed * pf
            m = np.zeros(len(self.substation_ids)) if modelled_mw is None or d != F.OFFTAKE else \
                np.minimum(modelled_mw, self.peak_mw[d])
            peak[d] = (self.peak_mw[d] - m)[:, None] * (1.0 + g) ** elapsed + m[:, None]
        return reserved, peak

    def table(self) -> pd.DataFrame:
        """One row per substation: the basis as written beside the capacity (``capacity.csv``)."""
        out = {F.SUBSTATION_ID: self.substation_ids, "reference_date": self.reference_date}
        for d in F.DIRECTIONS:
            out[f"reserved_{d}_mva"] = self.reserved_mva[d]
            out[f"peak_{d}_mw_at_reference"] = self.peak_mw[d]
            out[f"peak_{d}_source"] = self.peak_source[d]
            out[f"unserved_queue_{d}_mva"] = self.unserved_mva[d]
            out[f"unserved_queue_{d}_from_year"] = pd.array(np.where(self.unserved_year[d] >= 0,
                                                                     self.unserved_year[d], pd.NA), dtype="Int64")
        out["basis_note"] = [self.notes.get(s, "") for s in self.substation_ids]
        return pd.DataFrame(out)


def _forecast(substations: pd.DataFrame, ref_years: np.ndarray) -> pd.DataFrame:
    parts = []
    ids = substations["id"].to_numpy()
    for d in F.DIRECTIONS:
        for h in (0, *FORECAST_HORIZONS):
            col = f"available_{d}_mva" if h == 0 else f"available_{d}_{h}y_mva"
            if col not in substations:
                continue
            v = _col(substations, col).to_numpy()
            ok = ~np.isnan(v)
            parts.append(pd.DataFrame({F.SUBSTATION_ID: ids[ok], F.DIRECTION: d, "horizon_years": h,
                                       F.YEAR: ref_years[ok] + h, "operator_available_mva": v[ok]}))
    cols = [F.SUBSTATION_ID, F.DIRECTION, "horizon_years", F.YEAR, "operator_available_mva"]
    if not parts or all(p["horizon_years"].eq(0).all() for p in parts):
        return pd.DataFrame(columns=cols).astype({"horizon_years": int, F.YEAR: int, "operator_available_mva": float})
    return pd.concat(parts, ignore_index=True)[cols]


def station_basis(substations: pd.DataFrame, capacity: pd.DataFrame, params: ParameterSet,
                  investments: pd.DataFrame, *, base_year: int, notices: NoticeLog | None = None) -> StationBasis:
    """Read each station's published figures into the basis of its projection.

    Parameters
    ----------
    substations : DataFrame
        A validated substations layer.
    capacity : DataFrame
        :func:`spatialprog.headroom.firm_capacity` of it.
    params : ParameterSet
        ``grid.peak_share_of_reserved_*``.
    investments : DataFrame
        :func:`investment_table` (the layer's rows derive the unserved queue).
    base_year : int
    notices : NoticeLog, optional
        Told of availability above capacity and of every unserved queue.

    Returns
    -------
    StationBasis
    """
    ids = substations["id"].to_numpy()
    dates, ref = reference_years(substations, base_year=base_year)
    forecast = _forecast(substations, ref)
    notes: dict[str, list[str]] = {}
    reserved, peak, source, unserved, unserved_year = {}, {}, {}, {}, {}
    for d in F.DIRECTIONS:
        firm = capacity[f"firm_{d}_mva"].to_numpy(dtype=float)
        avail = _col(substations, f"available_{d}_mva").to_numpy()
        res = _col(substations, f"reserved_{d}_mva").to_numpy()
        derived = np.isnan(res) & ~np.isnan(avail)
        res = np.where(derived, firm - avail, res)
        for i in np.flatnonzero(derived & (res < 0)):
            msg = (f"published available {d} capacity {avail[i]:g} MVA is above the capacity {firm[i]:g} MVA: "
                   "nothing is taken as reserved (0 MVA), not a negative load")
            notes.setdefault(ids[i], []).append(msg)
            if notices is not None:
                notices.add("substations", msg, feature=ids[i], field=f"available_{d}_mva", level="warning",
                            fix="check the operator's figures; the headroom is capped at the capacity")
        res = np.where(res < 0, 0.0, res)
        measured = _col(substations, f"peak_{d}_mw").to_numpy()
        share = float(params[f"grid.peak_share_of_reserved_{d}"])
        pf = float(params["grid.power_factor"])
        peak[d] = np.where(~np.isnan(measured), measured, np.where(np.isnan(res), 0.0, res * share * pf))
        source[d] = np.where(~np.isnan(measured), "measured", np.where(np.isnan(res), "none", "share of reserved"))
        reserved[d] = res
        q, qy = _unserved_queue(ids, d, investments, forecast, ref, reserved=res, notes=notes, notices=notices)
        unserved[d], unserved_year[d] = q, qy
    return StationBasis(ids, dates, ref, reserved, peak, source, unserved, unserved_year, forecast,
                        {s: "; ".join(n) for s, n in notes.items()})


def _unserved_queue(ids: np.ndarray, direction: str, investments: pd.DataFrame, forecast: pd.DataFrame,
                    ref: np.ndarray, *, reserved: np.ndarray, notes: dict[str, list[str]],
                    notices: NoticeLog | None) -> tuple[np.ndarray, np.ndarray]:
    """Investment minus the operator's forecast change, at the first forecast year after it (never below 0)."""
    q = np.zeros(len(ids))
    qy = np.full(len(ids), -1, dtype=int)
    inv = investments[(investments["source"] == _LAYER) & investments[F.DIRECTION].isin([direction, BOTH])]
    if not len(inv) or not len(forecast):
        return q, qy
    fc = forecast[forecast[F.DIRECTION] == direction].set_index([F.SUBSTATION_ID, "horizon_years"])
    fc = fc["operator_available_mva"]
    pos = {s: i for i, s in enumerate(ids)}
    for sid, grp in inv.groupby(F.SUBSTATION_ID, sort=True):
        i = pos.get(sid)
        if i is None or np.isnan(reserved[i]) or (sid, 0) not in fc.index:
            continue
        first = int(grp[F.YEAR].min())
        horizon = next((h for h in FORECAST_HORIZONS if ref[i] + h > first and (sid, h) in fc.index), None)
        if horizon is None:
            continue
        at = int(ref[i] + horizon)
        invested = float(grp.loc[grp[F.YEAR] < at, F.REINFORCEMENT_MVA].sum())
        change = float(fc[(sid, horizon)] - fc[(sid, 0)])
        queue = max(0.0, invested - change)
        if queue <= 0:
            continue
        q[i], qy[i] = queue, first
        msg = (f"{_DIRECTION_NL[direction]}: the operator's forecast for {at} changes by {change:+g} MVA after "
               f"+{invested:g} MVA of investments from {first}: an unserved queue of {queue:g} MVA takes the rest, "
               f"carried as reserved from {first}")
        notes.setdefault(sid, []).append(msg)
        if notices is not None:
            notices.add("substations", msg, feature=sid, field=f"reinforcement_{direction}_mva", level="info")
    return q, qy


def _dates(values: pd.Series) -> pd.Series:
    """Dates from ``YYYY-MM-DD`` text or a year alone (read as 1 January)."""
    text = values.astype("string").str.strip()
    year_only = text.str.fullmatch(r"\d{4}").fillna(False)
    text = text.where(~year_only, text + "-01-01")
    return pd.to_datetime(text, errors="coerce", format="mixed")


def in_published_figures(allocated: pd.DataFrame, layers: Mapping[str, pd.DataFrame],
                         sources: Mapping[str, object], basis_dates: Mapping[str, str], *,
                         notices: NoticeLog | None = None) -> np.ndarray:
    """Which allocated demand is already in the operators' figures (existing), per row.

    A feature is existing where its ``status`` is ``existing`` or it has a
    ``connection_date``. With a connection date, it is in the figures of a
    substation whose reference date is on or after that date; connected later,
    its demand is new load. Without one, it is in the figures, unless the
    layer's ``snapshot_date`` is later than the substation's reference date and
    the project says ``after_reference = "new"``; where the snapshot is later
    and it counts as existing (the default), a notice names the gap in dates.

    Parameters
    ----------
    allocated : DataFrame
        :func:`spatialprog.network.allocate` (``layer, site_id, substation_id``).
    layers : mapping
        The plan's validated layers.
    sources : mapping
        The project's layer sources (``snapshot_date``, ``after_reference``).
    basis_dates : mapping of str -> str
        Per substation its reference date (:func:`reference_years`).
    notices : NoticeLog, optional

    Returns
    -------
    ndarray of bool
    """
    out = np.zeros(len(allocated), dtype=bool)
    if not len(allocated):
        return out
    by_station = _dates(pd.Series(basis_dates, dtype=object))  # parsed once per substation, not per row
    station_date = allocated[F.SUBSTATION_ID].map(by_station)
    for kind in allocated[F.LAYER].unique():
        gdf = layers.get(kind)
        if gdf is None or not ({"status", "connection_date"} & set(gdf.columns)):
            continue
        status = gdf["status"] if "status" in gdf else pd.Series(None, index=gdf.index, dtype=object)
        conn = _dates(gdf["connection_date"]) if "connection_date" in gdf else pd.Series(pd.NaT, index=gdf.index)
        has_conn = conn.notna() & (status != "planned")
        existing = (status == "existing") & ~has_conn
        if not (existing.any() or has_conn.any()):
            continue
        ids = gdf["id"].astype(str)
        rows = (allocated[F.LAYER] == kind).to_numpy()
        site = allocated.loc[rows, F.SITE_ID].astype(str)
        at = station_date[rows]
        by_conn = site.map(dict(zip(ids, conn.where(has_conn), strict=True)))
        is_existing = site.map(dict(zip(ids, existing, strict=True))).fillna(False).to_numpy(dtype=bool)
        src = sources.get(kind)
        snap = getattr(src, "snapshot_date", None)
        rule = getattr(src, "after_reference", "existing")
        later = np.zeros(rows.sum(), dtype=bool)
        if snap:
            later = (pd.Timestamp(snap) > at).to_numpy() & is_existing
        mask = np.where(by_conn.notna().to_numpy(), (by_conn <= at).to_numpy(), is_existing & ~(later & (rule == "new")))
        out[rows] = mask
        if later.any() and notices is not None:
            gap = allocated.loc[rows, F.SUBSTATION_ID][later]
            span = sorted(set(gap.map(basis_dates)))
            n_features = site[later].nunique()
            how = ("counted as already in those figures (what was connected in between is then missing from the load; "
                   'after_reference = "new" adds them as new load instead)') if rule == "existing" else \
                ('added as new load there (after_reference = "new"; what was connected before the reference date is '
                 "then counted twice)")
            notices.add(kind, f"snapshot {snap} is later than the reference dates of {gap.nunique()} substations "
                        f"({span[0]} to {span[-1]}): its {n_features} existing features there without a "
                        f"connection date are {how}", field="snapshot_date", level="warning",
                        fix="give connection_date per feature where it is known")
    return out


def added_mva(investments: pd.DataFrame) -> pd.Series:
    """Per substation, the MVA its investments add in its larger direction (not offtake and feed-in summed).

    A transformer (``both``) counts once; VIVET's separate offtake and feed-in
    investments of one station are two views of its works, not two additions.

    Examples
    --------
    >>> t = pd.DataFrame({"substation_id": ["A", "A", "B"], "direction": ["offtake", "feedin", "both"],
    ...                   "reinforcement_mva": [150.0, 150.0, 40.0]})
    >>> added_mva(t).to_dict()
    {'A': 150.0, 'B': 40.0}
    """
    if not len(investments):
        return pd.Series(dtype=float)
    t = investments
    direction = t[F.DIRECTION] if F.DIRECTION in t else pd.Series(BOTH, index=t.index)
    per = {d: t[F.REINFORCEMENT_MVA].where(direction.isin([d, BOTH]), 0.0).groupby(t[F.SUBSTATION_ID]).sum()
           for d in F.DIRECTIONS}
    return pd.concat(per, axis=1).max(axis=1).rename(F.REINFORCEMENT_MVA)
