"""Judging a site on its stations: does it fit, per year, on substations or on another carrier's nodes.

:func:`judge` is the one test a check applies: after adding the site's
allocated MW, no serving station may be short
(:func:`spatialprog.headroom.is_short`) in a year the site draws (or
delivers). It serves the headline (the substations, in the site's direction:
:func:`primary_direction`), the site's other connections (:func:`connections`:
electricity the other way, hydrogen, heat and gas at their own nodes, in their
own units) and the alternatives over the horizon (:func:`horizon_alternatives`).
The states judged are the run's own (:class:`~spatialprog.sitecheck.baseline.Baseline`);
nothing is computed differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import fields as F
from ..carriers import LABELS_NL, UNITS
from ..headroom import GridState, classify_status, is_short, status_classes_for
from .baseline import Baseline
from .result import Verdict, round_json

__all__ = ["N_ALTERNATIVES", "Judged", "judge", "primary_direction", "horizon_alternatives", "connections"]

N_ALTERNATIVES = 3

_r = round_json


def _verdict(years: np.ndarray, fits: np.ndarray, demand_years: np.ndarray, ns: int) -> tuple[str, int | None, int | None]:
    """``(key, verdict year, first fit year)`` from the per-year answers."""
    if ns == 0:
        return "outside", None, None
    if not demand_years.any():
        return "after_horizon", None, None
    if fits.all():
        return "fits", None, int(years[np.argmax(demand_years)])
    if fits[-1]:
        y = int(years[np.flatnonzero(~fits)[-1] + 1])
        return "fits_from", y, y
    return "does_not_fit", None, None


@dataclass
class Judged:
    """The answer of one set of stations (substations, or a carrier's nodes) for one site, direction and variant.

    Arrays per station and year (``head_before``, ``head_after``, ``capacity``, ``status_*``) or per year
    (``fits``, ``short``, ``site_short``, ``demand_years``); ``key``, ``year``, ``first_fit``: the verdict.
    """

    fits: np.ndarray
    short: np.ndarray
    site_short: np.ndarray
    head_before: np.ndarray
    head_after: np.ndarray
    capacity: np.ndarray
    status_before: np.ndarray
    status_after: np.ndarray
    demand_years: np.ndarray
    key: str
    year: int | None
    first_fit: int | None

    def short_years(self, years: np.ndarray) -> list[int]:
        return [int(y) for y, f, d in zip(years, self.fits, self.demand_years, strict=True) if d and not f]

    @property
    def max_short(self) -> float:
        bad = self.demand_years & ~self.fits
        return float(self.short[bad].max()) if bad.any() else 0.0


def judge(before: GridState, site_alloc: np.ndarray, site_total: np.ndarray, direction: str, classes: pd.DataFrame,
          years: np.ndarray) -> Judged:
    """Does the site fit on ``before`` (the serving stations' state, earlier sites included), per year?

    The site fits in a year when no serving station is short after adding its
    allocated MW (:func:`~spatialprog.headroom.is_short`), or when it draws
    nothing that year; the same test for substations and for every carrier's
    nodes, in either direction.
    """
    ns, ny = len(before.substation_ids), len(years)
    after = before.with_new({direction: site_alloc})
    head_before, head_after = before.headroom_mw(direction), after.headroom_mw(direction)
    cap = before.capacity_mw[direction]
    demand_years = site_total > 0
    fits = ~demand_years | ((~is_short(head_after)).all(axis=0) if ns else np.zeros(ny, dtype=bool))
    short = np.clip(-head_after, 0.0, None).sum(axis=0) if ns else np.zeros(ny)
    site_short = np.minimum(site_alloc, np.clip(-head_after, 0.0, None)).sum(axis=0) if ns else np.zeros(ny)
    st_before = classify_status(head_before, cap, classes) if ns else np.zeros((0, ny), dtype=object)
    st_after = classify_status(head_after, cap, classes) if ns else np.zeros((0, ny), dtype=object)
    key, vyear, first_fit = _verdict(years, fits, demand_years, ns)
    return Judged(fits, short, site_short, head_before, head_after, cap, st_before, st_after, demand_years, key,
                  vyear, first_fit)


def primary_direction(e: Any) -> str:
    """The direction a site (a :class:`~spatialprog.sitecheck.evaluate.SiteEntry`) is judged in on the substations.

    Offtake, or feed-in for a site that only delivers (solar, wind).
    """
    if any(t[F.OFFTAKE].any() for t in e.total.values()):
        return F.OFFTAKE
    if any(t[F.FEEDIN].any() for t in e.total.values()):
        return F.FEEDIN
    return F.OFFTAKE


def horizon_alternatives(base: Baseline, cand: np.ndarray, dist: np.ndarray, room: np.ndarray,
                         demand_years: np.ndarray) -> list[dict[str, Any]]:
    """The nearest other substations with room for the whole site in *every* year it draws (or delivers).

    ``room`` is each candidate's headroom minus the whole site, per year. A
    substation with room in one year but short in a later one is not an
    alternative (it would only move the problem).
    """
    if not len(cand) or not demand_years.any():
        return []
    ok = ~is_short(room[:, demand_years]).any(axis=1)
    out = []
    for c_k in np.flatnonzero(ok)[:N_ALTERNATIVES]:
        s_ = cand[c_k]
        worst = int(np.argmin(np.where(demand_years, room[c_k], np.inf)))
        out.append({"substation_id": str(base.substations["id"].iat[s_]), "name": base.names[s_] or None,
                    "distance_m": _r(float(dist[s_]), 0), "min_headroom_after_mw": _r(room[c_k, worst]),
                    "min_year": int(base.years[worst])})
    return out


def _node_verdict(key: str, year: int | None, variant: str, carrier: str) -> dict[str, Any]:
    """A verdict in the words of a carrier's nodes (no node in reach: not "outside the region")."""
    if key != "outside":
        return Verdict.make(key, year, variant).to_dict()
    nl_c = LABELS_NL.get(carrier, carrier)
    return Verdict("outside", None, f"geen knooppunt voor {nl_c} binnen bereik",
                   f"no {carrier} node within reach", variant).to_dict()


def connections(session: Any, e: Any, variant: str, *, skip: tuple[str, str] | None = None,
                prior: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """The site's other connections in ``variant``: every carrier and direction it draws or delivers, judged.

    Electricity in the direction the headline does not judge (a park's CHP
    feed-in), then hydrogen, heat and gas at their own nodes (the run's node
    states, :class:`~spatialprog.sitecheck.baseline.Baseline` ``carriers``,
    with the earlier sites of the session), each in its own unit. ``prior``:
    what earlier session sites put on the serving substations, per direction
    (the caller's, when it has it; else asked of the session once).
    """
    base: Baseline = session.baseline
    years = base.years
    out = []
    serving = e.sub_idx
    for direction in F.DIRECTIONS:
        if skip == (F.ELECTRICITY, direction) or not e.total[variant][direction].any():
            continue
        if prior is None:  # what earlier session sites put on the serving substations, per direction
            prior = session.prior_load(e, serving)[0][variant]
        before = base.grid[variant].rows(serving).with_new(prior)
        j = judge(before, e.alloc[variant][direction], e.total[variant][direction], direction, base.classes, years)
        ids = [str(base.substations["id"].iat[s_]) for s_ in serving]
        out.append(_connection(F.ELECTRICITY, direction, ids, [base.names[s_] or None for s_ in serving],
                               j, e.total[variant][direction], variant, years))
    for carrier, part in e.carriers.items():
        held = base.carriers.get(carrier)
        classes = status_classes_for(base.classes, carrier)
        for direction in F.DIRECTIONS:
            total = part["total"].get(variant, {}).get(direction)
            if total is None or not total.any():
                continue
            ids = part["ids"][variant][direction]
            if held is None:
                nodes_state, names = None, []
            else:
                nodes, states = held
                pos = {n: i for i, n in enumerate(nodes.ids)}
                idx = np.array([pos[n] for n in ids], dtype=int)
                extra = session.prior_carrier_load(e, carrier, direction, ids)
                nodes_state = states[variant].rows(idx).with_new({direction: extra[variant]})
                names = [str(nodes.names[i]) for i in idx]
            if nodes_state is None:
                empty = np.zeros((0, len(years)))
                j = Judged(np.zeros(len(years), dtype=bool), np.zeros(len(years)), np.zeros(len(years)), empty, empty,
                           empty, empty, empty, total > 0, "outside", None, None)
            else:
                j = judge(nodes_state, part["alloc"][variant][direction], total, direction, classes, years)
            out.append(_connection(carrier, direction, ids, names, j, total, variant, years,
                                   shares=part["share"][variant][direction]))
    return out


def _connection(carrier: str, direction: str, ids: list[str], names: list[str | None], j: Judged,
                total: np.ndarray, variant: str, years: np.ndarray, *, shares: list[float] | None = None
                ) -> dict[str, Any]:
    return {
        "carrier": carrier, "unit": UNITS[carrier], "direction": direction,
        "stations": [{"id": i, "name": n, **({"share": _r(shares[k], 6)} if shares else {})}
                     for k, (i, n) in enumerate(zip(ids, names, strict=True))],
        "verdict": _node_verdict(j.key, j.year, variant, carrier),
        "first_fit_year": j.first_fit,
        "short_years": j.short_years(years) if len(ids) else [],
        "max_short_mw": _r(j.max_short),
        "site_mw_end": _r(total[-1]),
        "years": [{"year": int(y), "site_mw": _r(total[k]), "fits": bool(j.fits[k]),
                   "short_mw": _r(j.short[k] if j.demand_years[k] else 0.0),
                   "stations": [{"id": ids[n], "headroom_before_mw": _r(j.head_before[n, k]),
                                 "headroom_after_mw": _r(j.head_after[n, k]), "status_after": str(j.status_after[n, k])}
                                for n in range(len(ids))]}
                  for k, y in enumerate(years)],
    }
