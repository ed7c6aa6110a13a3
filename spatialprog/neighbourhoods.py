"""Existing neighbourhoods in transition: their extra demand along a path, and their base-year demand.

A neighbourhood (for example a CBS buurt) has existing dwellings with today's
heating mix and EVs, and a transition path of shares by year. Its extra demand
against the base year lands at the substations that serve it; its base-year
demand is inside the measured peak, so the substations' autonomous growth leaves
it out (:func:`neighbourhood_base_mw`, :func:`modelled_base`).

Pure: nothing here opens a file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from . import fields as F
from .demand import demand_frame
from .params import ParameterSet

__all__ = ["NEIGHBOURHOOD_HEATING", "parse_transition", "neighbourhood_base_mw", "neighbourhood_demand",
           "modelled_base"]

#: the heating types a neighbourhood's transition path moves between, and their share columns
NEIGHBOURHOOD_HEATING = ("gas", "hybrid", "all_electric", "heat_network")


def parse_transition(text: str) -> dict[int, dict[str, float]]:
    """A neighbourhood's transition path: target shares by year.

    ``"2030: all_electric=0.3, hybrid=0.2, ev=0.4; 2040: all_electric=0.6, heat_network=0.2, ev=0.8"``:
    by each year, the share of dwellings on each heating type and the EVs per dwelling (``ev``); a type
    not named keeps its share, gas takes the rest. Between the years (and from the base year) the shares
    change linearly.

    Raises
    ------
    ValueError
        For a part that cannot be read, an unknown heating type, or shares above 1 in a year.

    Examples
    --------
    >>> parse_transition("2030: all_electric=0.3, ev=0.4; 2040: all_electric=0.6, heat_network=0.2")
    {2030: {'all_electric': 0.3, 'ev': 0.4}, 2040: {'all_electric': 0.6, 'heat_network': 0.2}}
    """
    out: dict[int, dict[str, float]] = {}
    for part in re.split(r"[;|]", text):
        if not part.strip():
            continue
        m = re.match(r"^\s*(\d{4})\s*:\s*(.+)$", part)
        if not m:
            raise ValueError(f"cannot read '{part.strip()[:40]}' - write YEAR: type=share, ...")
        shares = {}
        for item in m.group(2).split(","):
            key, _, val = item.partition("=")
            key = key.strip()
            if key not in (*NEIGHBOURHOOD_HEATING, "ev") or not val.strip():
                raise ValueError(f"'{item.strip()[:30]}' - use gas, hybrid, all_electric, heat_network or ev = share")
            shares[key] = float(val.replace(",", ".").strip()) if "." in val or "," in val else float(val)
        heat = sum(v for k, v in shares.items() if k != "ev")
        if heat > 1 + 1e-9:
            raise ValueError(f"the heating shares of {m.group(1)} add up to {heat:g}, more than 1")
        out[int(m.group(1))] = shares
    return dict(sorted(out.items()))


def _today_shares(nb: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Today's heating shares and EV share per neighbourhood (gas: what the others leave, unless given)."""
    today = {h: nb[f"share_{h}"].fillna(0.0).to_numpy(dtype=float) if f"share_{h}" in nb else np.zeros(len(nb))
             for h in NEIGHBOURHOOD_HEATING}
    named = sum(today[h] for h in NEIGHBOURHOOD_HEATING if h != "gas")
    today["gas"] = np.where(nb["share_gas"].notna(), today["gas"], 1.0 - named) if "share_gas" in nb \
        else 1.0 - named
    ev0 = nb["ev_share"].fillna(0.0).to_numpy(dtype=float) if "ev_share" in nb else np.zeros(len(nb))
    return today, ev0


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple[tuple[int, tuple[tuple[str, float], ...]], ...]:
    """:func:`parse_transition` of one text, once per distinct text (a national layer repeats a few paths)."""
    return tuple((year, tuple(shares.items())) for year, shares in parse_transition(text).items())


def _neighbourhood_shares(nb: pd.DataFrame, params: ParameterSet, years: Sequence[int]
                          ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Today's shares and EVs (per neighbourhood), and per year along its path (n, n_years)."""
    today, ev0 = _today_shares(nb)
    yrs = np.asarray(years, dtype=float)
    base = float(years[0])
    path = {h: np.repeat(today[h][:, None], len(yrs), axis=1) for h in NEIGHBOURHOOD_HEATING}
    ev = np.repeat(ev0[:, None], len(yrs), axis=1)
    texts = nb["transition_path"] if "transition_path" in nb else pd.Series([None] * len(nb), index=nb.index)
    for k, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            continue
        points = {year: dict(shares) for year, shares in _parsed(text)}
        xs = [base, *points]
        for h in (*NEIGHBOURHOOD_HEATING[1:], "ev"):
            start = ev0[k] if h == "ev" else today[h][k]
            ys, last = [start], start
            for shares in points.values():  # a type not named at a year keeps its share
                last = shares.get(h, last)
                ys.append(last)
            arr = np.interp(yrs, xs, ys)
            if h == "ev":
                ev[k] = arr
            else:
                path[h][k] = arr
        path["gas"][k] = 1.0 - sum(path[h][k] for h in NEIGHBOURHOOD_HEATING[1:])
    return today, ev0, path, ev


def neighbourhood_base_mw(nb: pd.DataFrame, params: ParameterSet) -> np.ndarray:
    """Each neighbourhood's electricity in the base year: dwellings x today's kW by heating + EVs (MW).

    The autonomous growth of the substation's existing load does not apply to this
    part: the transition path models it (:func:`spatialprog.headroom.grid_state`).
    """
    kw = params.group("demand.dwelling_kw")
    today, ev0 = _today_shares(nb)
    dw = nb["dwellings"].to_numpy(dtype=float)
    per = sum(today[h] * float(kw[h]) for h in NEIGHBOURHOOD_HEATING) + ev0 * float(params["demand.ev_kw_per_ev"])
    return dw * per / 1000.0


def neighbourhood_demand(nb: gpd.GeoDataFrame, params: ParameterSet, years: Sequence[int], *,
                         layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> pd.DataFrame:
    """The extra demand of existing neighbourhoods in transition, per year, against the base year.

    ``offtake = dwellings x (sum over heating of (share(y) - share(base)) x kW[heating]
    + (ev(y) - ev(base)) x kW_ev)``: what the move to heat pumps, hybrids, heat networks
    and EVs adds (negative where it takes away). Dwellings moving to a heat network
    draw ``demand.dwelling_heat_kwth`` from it (carrier heat) from when they move.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from spatialprog.params import load_parameters
    >>> n = gpd.GeoDataFrame({"id": ["B1"], "dwellings": [1000], "share_gas": [1.0],
    ...     "transition_path": ["2030: all_electric=0.5"]}, geometry=[box(0, 0, 1, 1)], crs=28992)
    >>> d = neighbourhood_demand(n, load_parameters(), [2025, 2030])
    >>> d["offtake_mw"].tolist()  # 500 dwellings x (3.5 - 1.5) kW
    [0.0, 1.0]
    """
    kw = params.group("demand.dwelling_kw")
    today, ev0, path, ev = _neighbourhood_shares(nb, params, years)
    dw = nb["dwellings"].to_numpy(dtype=float)[:, None]
    delta_kw = sum((path[h] - today[h][:, None]) * float(kw[h]) for h in NEIGHBOURHOOD_HEATING)
    delta_kw = delta_kw + (ev - ev0[:, None]) * float(params["demand.ev_kw_per_ev"])
    ids = nb["id"].tolist()
    frames = [demand_frame("neighbourhoods", ids, years, dw * delta_kw / 1000.0, np.zeros_like(delta_kw))]
    heat = dw * path["heat_network"] * float(params["demand.dwelling_heat_kwth"]) / 1000.0
    k = np.flatnonzero((heat > 0).any(axis=1))
    if len(k):
        frames.append(demand_frame("neighbourhoods", [ids[i] for i in k], years, heat[k], np.zeros_like(heat[k]),
                                   carrier="heat"))
    return pd.concat(frames, ignore_index=True)


def modelled_base(layers: dict[str, gpd.GeoDataFrame], assignment: pd.DataFrame, params, substation_ids) -> np.ndarray:
    """Per substation, the base-year electricity of the existing neighbourhoods it serves (MW, split by area).

    The autonomous growth of the substation's load leaves this part out: the
    neighbourhoods' own transition paths model it (:func:`spatialprog.headroom.grid_state`).
    """
    out = np.zeros(len(substation_ids))
    nb = layers.get("neighbourhoods")
    if nb is None or not len(nb):
        return out
    base = pd.DataFrame({F.LAYER: "neighbourhoods", F.SITE_ID: nb["id"].to_numpy(), F.YEAR: 0,
                         F.OFFTAKE_MW: neighbourhood_base_mw(nb, params), F.FEEDIN_MW: 0.0})
    from .network import allocate

    per_substation = allocate(base, assignment)
    per = per_substation[per_substation[F.SUBSTATION_ID].notna()].groupby(F.SUBSTATION_ID)[F.OFFTAKE_MW].sum()
    pos = {s: i for i, s in enumerate(substation_ids)}
    for sid, mw in per.items():
        if sid in pos:
            out[pos[sid]] = mw
    return out
