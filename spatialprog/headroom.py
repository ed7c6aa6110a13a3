"""Per-substation capacity, load and headroom per year, per variant, per direction.

``headroom_mw = capacity_mw - load_mw`` where

* ``capacity_mw = (firm capacity + investments in service) x power factor``;
  firm offtake capacity is N-1 (installed minus the largest transformer) at
  stations of ``grid.n1_min_kv`` and up with two or more transformers, N-0
  otherwise (the transformers are ``n_transformers`` x ``transformer_mva``, or
  the units of ``transformer_units_mva`` such as ``'40;40;63'``); feed-in uses N-0 unless ``grid.feedin_n1`` is 1; a firm capacity
  the operator publishes (``firm_offtake_mva``) is taken as it is;
* ``load_mw = max(reserved_mw, peak_mw) + new demand``: the capacity reserved by
  contracts and the queue where the operator publishes availability, and the
  physical peak grown from the station's reference date (measured, or a share of
  the reserved capacity): :mod:`spatialprog.published` reads the operators'
  figures into that basis.

Status classes follow the national capacity map (data/status_classes.csv).

The module is a little over 500 lines because the grid state and the long
headroom table made from it stay together with the one definition of short.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import fields as F
from .params import ParameterSet
from .published import BOTH, StationBasis, investment_table, reference_years, station_basis

#: a substation is short when its headroom is below this (MW): no capacity left. Headroom of
#: exactly 0 MW is short (nothing more can connect); the tolerance keeps float noise of a
#: fully used station (1e-12 MW) from counting as room.
SHORTFALL_AT_MW = 1e-6


def is_short(headroom_mw):
    """Whether a headroom (MW; scalar, array or Series) leaves no capacity: the one definition of short.

    Every module that asks "is this substation short?" (headroom, shortfall, ranking,
    programme, scale sums, variants comparison, check-site) asks this function.

    Examples
    --------
    >>> is_short(np.array([1.0, 1e-7, 0.0, -0.5])).tolist()
    [False, True, True, True]
    """
    return headroom_mw < SHORTFALL_AT_MW

__all__ = [
    "SHORTFALL_AT_MW",
    "is_short",
    "max_kv",
    "transformer_units",
    "firm_capacity",
    "GridState",
    "grid_state",
    "new_load",
    "headroom_frame",
    "headroom_table",
    "classify_status",
    "status_classes_for",
    "first_shortfall",
]


def max_kv(v) -> float:
    """The highest voltage in a text such as ``'150/20'`` (kV); NaN when there is none.

    Examples
    --------
    >>> max_kv("150/20"), max_kv("10,5 kV")
    (150.0, 10.5)
    """
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    nums = [float(x) for x in re.findall(r"\d+(?:[.,]\d+)?", str(v).replace(",", "."))]
    return max(nums) if nums else np.nan


_UNIT_TERM = re.compile(r"(?:(\d+)\s*[x\u00d7*]\s*)?(\d+(?:[.,]\d+)?)", re.I)


def transformer_units(value) -> tuple[float, ...]:
    """The ratings (MVA) of a station's transformers, from a number or a list of units.

    A list is written with ``;`` or ``+`` between units and ``N x`` for N
    equal units: ``'40;40'``, ``'2x40'``, ``'2 x 40'``, ``'40+40'``,
    ``'2x40+63 MVA'``. ``/`` is refused: it separates voltages (``150/20``)
    and ratings of one unit (``77/90`` MVA, natural and forced cooling), not
    transformers.

    Raises
    ------
    ValueError
        For text that is not such a list (the message says why).

    Examples
    --------
    >>> transformer_units("2x40"), transformer_units("40; 63"), transformer_units("2 x 40 + 63 MVA")
    ((40.0, 40.0), (40.0, 63.0), (40.0, 40.0, 63.0))
    >>> transformer_units(None), transformer_units(80.0)
    ((), (80.0,))
    """
    if value is None or isinstance(value, bool):
        return ()
    if isinstance(value, int | float | np.integer | np.floating):
        return () if np.isnan(value) else (float(value),)
    text = re.sub(r"\s*mva\s*$", "", str(value).strip(), flags=re.I)
    if not text:
        return ()
    if "/" in text:
        raise ValueError("'/' separates voltages or the cooling ratings of one unit, not transformers")
    units: list[float] = []
    for part in re.split(r"[;+]", text):
        m = _UNIT_TERM.fullmatch(part.strip())
        if not m:
            raise ValueError(f"{part.strip()[:20]!r} is not a rating (MVA) or N x rating")
        count = int(m.group(1) or 1)
        if not 1 <= count <= 100:
            raise ValueError(f"{count} transformers of one rating is not plausible")
        units.extend([float(m.group(2).replace(",", "."))] * count)
    return tuple(units)


def firm_capacity(substations: pd.DataFrame, params: ParameterSet) -> pd.DataFrame:
    """Installed and firm capacity of each substation, offtake and feed-in.

    The transformers are ``n_transformers`` equal units of
    ``transformer_mva``, or the units listed in ``transformer_units_mva``
    (``'40;40;63'``, see :func:`transformer_units`), which take precedence:
    installed = the sum of the units, N-1 = installed minus the largest.

    Parameters
    ----------
    substations : DataFrame
        A validated substations layer.
    params : ParameterSet

    Returns
    -------
    DataFrame
        Indexed like the input: ``substation_id, installed_mva,
        firm_offtake_mva, firm_feedin_mva, firm_rule_offtake,
        firm_rule_feedin``.

    Examples
    --------
    >>> from spatialprog.params import load_parameters
    >>> s = pd.DataFrame({"id": ["A"], "voltage_kv": ["150/20"], "n_transformers": [2], "transformer_mva": [40.0]})
    >>> firm_capacity(s, load_parameters())[["installed_mva", "firm_offtake_mva", "firm_feedin_mva"]].values.tolist()
    [[80.0, 40.0, 80.0]]
    >>> s = pd.DataFrame({"id": ["B"], "voltage_kv": ["150/20"], "transformer_units_mva": ["40;40;63"]})
    >>> firm_capacity(s, load_parameters())[["installed_mva", "firm_offtake_mva"]].values.tolist()
    [[143.0, 80.0]]
    """
    def col(name):
        return substations[name].astype(float) if name in substations else pd.Series(np.nan, index=substations.index)

    n = col("n_transformers")
    unit = col("transformer_mva")  # the largest unit, where units are equal
    installed = (n * unit).where(n.notna() & unit.notna(), col("installed_mva"))
    if "transformer_units_mva" in substations:
        units = substations["transformer_units_mva"].map(
            lambda v: transformer_units(v) if isinstance(v, str) else ())
        listed = units.map(len) > 0
        n = units.map(len).astype(float).where(listed, n)
        unit = units.map(lambda u: max(u) if u else np.nan).astype(float).where(listed, unit)
        installed = units.map(lambda u: float(sum(u)) if u else np.nan).astype(float).where(listed, installed)
    kv = substations["voltage_kv"].map(max_kv) if "voltage_kv" in substations else pd.Series(np.nan, index=substations.index)
    n1_kv = float(params["grid.n1_min_kv"])
    # N-1 applies when the station is at or above the threshold voltage (unknown voltage: conservative, applies)
    n1_applies = (kv.isna() | (kv >= n1_kv)) & (n >= 2) & unit.notna()
    n1 = (installed - unit).where(n1_applies, installed)
    firm_off = col("firm_offtake_mva").where(col("firm_offtake_mva").notna(), n1)
    feed_n1 = bool(params["grid.feedin_n1"])
    firm_feed_calc = n1 if feed_n1 else installed
    firm_feed = col("firm_feedin_mva")
    firm_feed = firm_feed.where(firm_feed.notna(), firm_feed_calc)
    # with only a published offtake figure and nothing else, feed-in falls back to it
    firm_feed = firm_feed.where(firm_feed.notna(), firm_off)
    installed = installed.where(installed.notna(), firm_off)

    def rule(published: pd.Series, applies: pd.Series) -> pd.Series:
        r = pd.Series(np.where(applies, "N-1", "N-0"), index=substations.index, dtype=object)
        return r.where(published.isna(), "published")

    return pd.DataFrame(
        {
            F.SUBSTATION_ID: substations["id"].to_numpy(),
            F.INSTALLED_MVA: installed.to_numpy(),
            "firm_offtake_mva": firm_off.to_numpy(),
            "firm_feedin_mva": firm_feed.to_numpy(),
            "firm_rule_offtake": rule(col("firm_offtake_mva"), n1_applies).to_numpy(),
            "firm_rule_feedin": rule(col("firm_feedin_mva"), n1_applies & feed_n1).to_numpy(),
        },
        index=substations.index,
    )


def classify_status(headroom_mw: np.ndarray, capacity_mw: np.ndarray, classes: pd.DataFrame) -> np.ndarray:
    """Status class per value, from the headroom as a share of capacity.

    Examples
    --------
    >>> from spatialprog.params import load_status_classes
    >>> classes = load_status_classes()
    >>> classify_status(np.array([50.0, 15.0, 5.0, 0.0, -1.0]), np.array([100.0] * 5), classes).tolist()
    ['ruimte', 'schaars', 'waarschuwing', 'congestie', 'congestie']
    """
    share = np.divide(headroom_mw, capacity_mw, out=np.where(headroom_mw < 0, -np.inf, 0.0),
                      where=capacity_mw > 0)
    out = np.full(share.shape, classes["status"].iat[-1], dtype=object)
    # classes sorted best-first; assign from worst to best so the best matching wins
    for status, lo in zip(classes["status"][::-1], classes["min_headroom_share"][::-1], strict=True):
        out[share >= lo] = status
    out[is_short(headroom_mw)] = classes["status"].iat[-1]  # no capacity left: the worst class
    return out


def status_classes_for(classes: pd.DataFrame, carrier: str) -> pd.DataFrame:
    """The status classes with the thresholds of ``carrier``'s nodes.

    ``data/status_classes.csv`` gives the electricity thresholds in
    ``min_headroom_share`` and those of the other carriers' nodes in
    ``min_headroom_share_<carrier>`` (same classes, labels and colours); a
    carrier without its own column, or with an empty cell, takes the
    electricity threshold.

    Examples
    --------
    >>> from spatialprog.params import load_status_classes
    >>> status_classes_for(load_status_classes(), "heat")["min_headroom_share"].tolist()
    [0.15, 0.05, 0.0, -inf]
    >>> status_classes_for(load_status_classes(), "electricity")["min_headroom_share"].tolist()
    [0.2, 0.1, 0.0, -inf]
    """
    col = f"min_headroom_share_{carrier}"
    if carrier == F.ELECTRICITY or col not in classes:
        return classes
    out = classes.copy()
    own = pd.to_numeric(out[col], errors="coerce")
    out["min_headroom_share"] = own.where(own.notna(), out["min_headroom_share"]).astype(float)
    return out


@dataclass(frozen=True)
class GridState:
    """Capacity and load of substations per year, per direction, for one variant.

    The arrays behind the headroom table, shape ``(n_substations, n_years)``;
    ``headroom_mw = capacity_mw - (existing_mw + new_mw)`` with
    ``existing_mw = max(reserved_mw, peak_mw)`` (the peak alone where nothing
    is published as reserved). check-site adds a site to ``new_mw``
    (:meth:`with_new`) and asks the same :meth:`headroom_mw` and
    :func:`is_short` as the run.

    Attributes
    ----------
    substation_ids : ndarray of str
    years : ndarray of int
    firm_mva, capacity_mw, existing_mw, new_mw : dict of str -> ndarray
        Per direction (``offtake``, ``feedin``).
    firm_rule : dict of str -> ndarray
        Per direction, per substation: ``N-1``, ``N-0`` or ``published``.
    reserved_mw, peak_mw : dict of str -> ndarray
        Per direction: the reserved capacity (NaN where not published) and the
        physical peak, the two parts of ``existing_mw``.
    """

    substation_ids: np.ndarray
    years: np.ndarray
    firm_mva: dict[str, np.ndarray]
    capacity_mw: dict[str, np.ndarray]
    existing_mw: dict[str, np.ndarray]
    new_mw: dict[str, np.ndarray]
    firm_rule: dict[str, np.ndarray]
    reserved_mw: dict[str, np.ndarray]
    peak_mw: dict[str, np.ndarray]

    def load_mw(self, direction: str) -> np.ndarray:
        """Existing plus new load (MW)."""
        return self.existing_mw[direction] + self.new_mw[direction]

    def headroom_mw(self, direction: str) -> np.ndarray:
        """Capacity minus load (MW): the headroom."""
        return self.capacity_mw[direction] - self.load_mw(direction)

    def rows(self, idx: np.ndarray) -> GridState:
        """The state of the substations at positions ``idx`` only."""
        idx = np.asarray(idx, dtype=int)
        return GridState(self.substation_ids[idx], self.years, *({d: a[idx] for d, a in part.items()} for part in
                         (self.firm_mva, self.capacity_mw, self.existing_mw, self.new_mw, self.firm_rule,
                          self.reserved_mw, self.peak_mw)))

    def with_new(self, extra_mw: dict[str, np.ndarray]) -> GridState:
        """The state with ``extra_mw`` (per direction, same shape) added to the new load."""
        new = {d: a + extra_mw[d] if d in extra_mw else a for d, a in self.new_mw.items()}
        return GridState(self.substation_ids, self.years, self.firm_mva, self.capacity_mw, self.existing_mw, new,
                         self.firm_rule, self.reserved_mw, self.peak_mw)


def new_load(allocated: pd.DataFrame, substation_ids: Sequence[str], years: Sequence[int]) -> dict[str, np.ndarray]:
    """The allocated new demand summed per substation and year, per direction (MW).

    Parameters
    ----------
    allocated : DataFrame
        From :func:`spatialprog.network.allocate` (unassigned rows are ignored).
    substation_ids : sequence of str
    years : sequence of int

    Returns
    -------
    dict of str -> ndarray, shape (n_substations, n_years)
    """
    yrs = np.asarray(years, dtype=int)
    pos = {s: i for i, s in enumerate(substation_ids)}
    new = {F.OFFTAKE: np.zeros((len(pos), len(yrs))), F.FEEDIN: np.zeros((len(pos), len(yrs)))}
    if len(allocated):
        a = allocated[allocated[F.SUBSTATION_ID].notna() & allocated[F.YEAR].isin(yrs)]
        g = a.groupby([F.SUBSTATION_ID, F.YEAR], sort=True)[[F.OFFTAKE_MW, F.FEEDIN_MW]].sum().reset_index()
        g = g[g[F.SUBSTATION_ID].isin(pos)]
        r = g[F.SUBSTATION_ID].map(pos).to_numpy(dtype=int)
        c = np.searchsorted(yrs, g[F.YEAR].to_numpy())
        new[F.OFFTAKE][r, c] = g[F.OFFTAKE_MW].to_numpy()
        new[F.FEEDIN][r, c] = g[F.FEEDIN_MW].to_numpy()
    return new


def grid_state(
    substations: pd.DataFrame,
    allocated: pd.DataFrame,
    params: ParameterSet,
    years: Sequence[int],
    *,
    base_year: int,
    reinforcements: pd.DataFrame | None = None,
    basis: StationBasis | None = None,
    modelled_mw: np.ndarray | None = None,
) -> GridState:
    """Capacity and load of every substation per year and direction (one variant).

    Parameters
    ----------
    substations : DataFrame
        Validated substations layer.
    allocated : DataFrame
        Demand split over substations (:func:`spatialprog.network.allocate`).
    params : ParameterSet
        Parameters of this variant.
    years : sequence of int
        Calendar years; they may start before the base year (the operators'
        forecast years), never before a station's reference year in meaning.
    base_year : int
        The year of the figures of a station without a reference date.
    reinforcements : DataFrame, optional
        From :func:`spatialprog.published.investment_table` (default: the
        layer's own investments). Each adds its MVA to its direction (or both)
        from ``counted_from_year`` on.
    basis : StationBasis, optional
        From :func:`spatialprog.published.station_basis` (default: read from
        the layer with these parameters).
    modelled_mw : ndarray, optional
        Per substation, the base-year offtake of the existing neighbourhoods
        whose transition is modelled: the autonomous growth leaves it out
        (:meth:`spatialprog.published.StationBasis.loads`).

    Returns
    -------
    GridState
    """
    cap = firm_capacity(substations, params)
    sids = substations["id"].to_numpy()
    if reinforcements is None:
        _, ref = reference_years(substations, base_year=base_year)
        reinforcements = investment_table(substations, reference_year=dict(zip(sids, ref, strict=True)),
                                          base_year=base_year)
    if basis is None:
        basis = station_basis(substations, cap, params, reinforcements, base_year=base_year)
    pf = float(params["grid.power_factor"])
    yrs = np.asarray(years, dtype=int)
    ns, ny = len(sids), len(yrs)
    pos = {s: i for i, s in enumerate(sids)}

    reinf = {d: np.zeros((ns, ny)) for d in F.DIRECTIONS}
    for sid, direction, start, mva in reinforcements[[F.SUBSTATION_ID, F.DIRECTION, "counted_from_year",
                                                      F.REINFORCEMENT_MVA]].itertuples(index=False):
        if sid in pos:
            for d in F.DIRECTIONS if direction == BOTH else (direction,):
                reinf[d][pos[sid]] += mva * (yrs >= int(start))

    reserved, peak = basis.loads(yrs, params, modelled_mw=modelled_mw)
    firm = {d: cap[f"firm_{d}_mva"].to_numpy(dtype=float)[:, None] + reinf[d] for d in F.DIRECTIONS}
    return GridState(
        substation_ids=sids,
        years=yrs,
        firm_mva=firm,
        capacity_mw={d: firm[d] * pf for d in F.DIRECTIONS},
        existing_mw={d: np.fmax(reserved[d], peak[d]) for d in F.DIRECTIONS},
        new_mw=new_load(allocated, sids, yrs),
        firm_rule={d: cap[f"firm_rule_{d}"].to_numpy() for d in F.DIRECTIONS},
        reserved_mw=reserved,
        peak_mw=peak,
    )


def headroom_frame(state: GridState, *, variant: str, classes: pd.DataFrame,
                   forecast: pd.DataFrame | None = None) -> pd.DataFrame:
    """The long headroom table of a :class:`GridState`: one row per substation, year and direction.

    ``forecast`` (:attr:`spatialprog.published.StationBasis.forecast`) fills
    ``operator_available_mva`` in the calendar years the operator gives a
    figure for (blank in the others: never interpolated).

    Returns
    -------
    DataFrame
        Columns :data:`spatialprog.fields.HEADROOM_COLUMNS`, sorted by
        substation, year, direction.
    """
    sids, yrs = state.substation_ids, state.years
    ns, ny = len(sids), len(yrs)
    parts = []
    for direction in F.DIRECTIONS:
        capacity_mw = state.capacity_mw[direction]
        load = state.load_mw(direction)
        head = state.headroom_mw(direction)
        util = np.divide(load, capacity_mw, out=np.full_like(load, np.nan), where=capacity_mw > 0)
        status = classify_status(head, capacity_mw, classes)
        parts.append(
            pd.DataFrame(
                {
                    F.SUBSTATION_ID: np.repeat(sids, ny),
                    F.VARIANT: variant,
                    F.YEAR: np.tile(yrs, ns),
                    F.DIRECTION: direction,
                    F.FIRM_RULE: np.repeat(state.firm_rule[direction], ny),
                    F.FIRM_CAPACITY_MVA: state.firm_mva[direction].reshape(-1),
                    F.CAPACITY_MW: capacity_mw.reshape(-1),
                    F.RESERVED_MW: state.reserved_mw[direction].reshape(-1),
                    F.PEAK_MW: state.peak_mw[direction].reshape(-1),
                    F.EXISTING_LOAD_MW: state.existing_mw[direction].reshape(-1),
                    F.NEW_LOAD_MW: state.new_mw[direction].reshape(-1),
                    F.LOAD_MW: load.reshape(-1),
                    F.HEADROOM_MW: head.reshape(-1),
                    F.UTILISATION: util.reshape(-1),
                    F.STATUS: status.reshape(-1),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out[F.OPERATOR_AVAILABLE_MVA] = np.nan
    if forecast is not None and len(forecast):
        fc = forecast.drop_duplicates([F.SUBSTATION_ID, F.DIRECTION, F.YEAR], keep="last")
        fc = fc.set_index([F.SUBSTATION_ID, F.DIRECTION, F.YEAR])["operator_available_mva"]
        key = pd.MultiIndex.from_arrays([out[F.SUBSTATION_ID], out[F.DIRECTION], out[F.YEAR]])
        out[F.OPERATOR_AVAILABLE_MVA] = fc.reindex(key).to_numpy()
    labels = dict(zip(classes["status"], classes["label_nl"], strict=True))
    out[F.STATUS_LABEL] = out[F.STATUS].map(labels)
    dir_order = {d: i for i, d in enumerate(F.DIRECTIONS)}
    out = out.sort_values([F.SUBSTATION_ID, F.YEAR, F.DIRECTION], key=lambda s: s.map(dir_order) if s.name == F.DIRECTION else s,
                          kind="stable").reset_index(drop=True)
    return out[F.HEADROOM_COLUMNS]


def headroom_table(
    substations: pd.DataFrame,
    allocated: pd.DataFrame,
    params: ParameterSet,
    years: Sequence[int],
    *,
    base_year: int,
    variant: str,
    reinforcements: pd.DataFrame | None = None,
    classes: pd.DataFrame,
) -> pd.DataFrame:
    """Long-format headroom: one row per substation, year and direction.

    :func:`grid_state` then :func:`headroom_frame`.

    Parameters
    ----------
    substations : DataFrame
        Validated substations layer.
    allocated : DataFrame
        Demand split over substations (:func:`spatialprog.network.allocate`).
    params : ParameterSet
        Parameters of this variant.
    years : sequence of int
    base_year : int
        Year of the existing load figures; growth compounds from here.
    variant : str
    reinforcements : DataFrame, optional
        See :func:`grid_state`.
    classes : DataFrame
        Status classes (``Plan.reference.status_classes``, or
        :func:`spatialprog.params.load_status_classes`).

    Returns
    -------
    DataFrame
        Columns :data:`spatialprog.fields.HEADROOM_COLUMNS`, sorted by
        substation, year, direction.
    """
    state = grid_state(substations, allocated, params, years, base_year=base_year, reinforcements=reinforcements)
    return headroom_frame(state, variant=variant, classes=classes)


def first_shortfall(headroom: pd.DataFrame, *, keys: Sequence[str] = ()) -> pd.DataFrame:
    """First year without headroom (zero or negative) per substation, variant and direction.

    ``keys`` adds grouping columns in front (``carrier`` for the other carriers' nodes).

    Returns
    -------
    DataFrame
        ``substation_id, variant, direction, first_shortfall_year`` (``<NA>``
        where the substation fits through the horizon), plus the largest
        shortfall in the horizon as ``max_shortfall_mw`` (0 where none).

    Examples
    --------
    >>> h = pd.DataFrame({"substation_id": ["A"] * 3, "variant": "basis", "direction": "offtake",
    ...                   "year": [2025, 2026, 2027], "headroom_mw": [1.0, -0.5, -2.0]})
    >>> first_shortfall(h)[["first_shortfall_year", "max_shortfall_mw"]].values.tolist()
    [[2026, 2.0]]
    """
    keys = [*keys, F.SUBSTATION_ID, F.VARIANT, F.DIRECTION]
    h = headroom.sort_values(keys + [F.YEAR], kind="stable")
    short = h[is_short(h[F.HEADROOM_MW])]
    first = short.groupby(keys, sort=True)[F.YEAR].min().rename(F.FIRST_SHORTFALL_YEAR)
    worst = (-h[F.HEADROOM_MW]).clip(lower=0).groupby([h[k] for k in keys], sort=True).max().rename("max_shortfall_mw")
    out = pd.concat([first, worst], axis=1).reset_index()
    out[F.FIRST_SHORTFALL_YEAR] = out[F.FIRST_SHORTFALL_YEAR].astype("Int64")
    return out[keys + [F.FIRST_SHORTFALL_YEAR, "max_shortfall_mw"]]
