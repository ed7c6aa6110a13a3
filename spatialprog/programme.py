"""The programme of interventions: what each short substation needs, by when, and what waits on it.

For every substation that runs short of capacity within the horizon (per
variant) :func:`interventions` proposes one realistic measure:

``advance_planned``
    A reinforcement is already planned but comes after the first shortfall,
    and once it is in service the station fits again: bring it forward.
``extension``
    Add transformers of a standard size (``data/transformer_steps.csv``) at
    the existing site, up to ``programme.max_transformers_per_station`` units:
    the fewest units that cover the largest shortfall of the horizon, and of
    those the smallest size (:func:`size_extension`; one unit of 40 MVA for a
    6.3 MVA need at 150 kV). The firm capacity gained is counted under the
    station's present N-1 / N-0 rule, as in the headroom table; where a
    single-transformer station would need more to be N-1 redundant after the
    extension, the note says how much.
``new_substation``
    Where the shortfall exceeds what the existing site can take: a new
    station (a split) of ``programme.new_station_transformers`` equal units
    of a standard size, more units or more stations where needed
    (:func:`size_new_substation`), with the land it needs
    (``data/substation_land.csv``).

The year an intervention must start (``needed_by_year``) is the first shortfall
year minus its realisation lead time (site search + build for a new station,
unless the land is already reserved; preparation + build for an extension). A
start year before the base year reads "te laat: had in 2023 moeten starten"
(:func:`start_by_text`, the ``start_by`` column; the same words in the CLI and
the programme map). What waits on it is the planned demand that cannot
connect because of the shortfall, the sites that cause it included
(:mod:`spatialprog.waiting`): the programme gives the figures of the year in
which the most waits (``waiting_year``). Every text a user reads in the table
(``transformer_step``, ``start_by``, ``note``) is Dutch; the codes
(``intervention``, ``short_directions``) stay codes, with their Dutch names in
:data:`INTERVENTIONS_NL`.

The transformer steps and the land table come from the plan
(``result.plan.reference``, read once by :mod:`spatialprog.reference`);
nothing here opens a file. A substation is short where
:func:`spatialprog.headroom.is_short` says so, 0 MW headroom included (the
first shortfall comes from ``result.shortfall``; an advanced reinforcement
must leave no year short).

Examples
--------
>>> from spatialprog.reference import load_transformer_steps
>>> steps = load_transformer_steps()
>>> sorted(steps.loc[steps["hv_kv_min"] >= 100, "mva"].unique().tolist())
[40.0, 50.0, 63.0, 80.0, 90.0]
>>> size_extension(units=[40.0, 40.0], hv_kv=150.0, need_offtake_mva=20.0, need_feedin_mva=0.0,
...                steps=[40.0, 50.0, 63.0, 80.0], max_units=4, n1_min_kv=110.0, feedin_n1=False)
(1, 40.0, 40.0, 40.0)
>>> start_by_text(2023, 2025), start_by_text(2027, 2025)
('te laat: had in 2023 moeten starten', 'start uiterlijk 2027')

The module is a little over 500 lines because the sizing rules, the needed-by years and
the programme table they make stay together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import fields as F
from .headroom import is_short, max_kv, transformer_units
from .params import ParameterSet
from .published import added_mva
from .waiting import waiting_demand, waiting_summary

__all__ = [
    "PROGRAMME_COLUMNS",
    "INTERVENTIONS_NL",
    "land_for",
    "size_extension",
    "size_new_substation",
    "step_text",
    "start_by_text",
    "shortfall_by_substation",
    "zone_jobs",
    "waiting_cells",
    "interventions",
]

#: columns of the intervention table (before the score and rank are added)
PROGRAMME_COLUMNS = [
    F.VARIANT,
    F.SUBSTATION_ID,
    "name",
    "intervention",
    "transformer_step",
    "short_directions",
    F.FIRST_SHORTFALL_YEAR,
    "shortfall_offtake_mw",
    "shortfall_feedin_mw",
    "need_mva",
    "added_installed_mva",
    "added_firm_mva",
    "n_new_stations",
    "land_m2",
    "land_reserved",
    "lead_time_years",
    "needed_by_year",
    "late_years",
    "start_by",
    "waiting_year",
    "dwellings_waiting",
    "jobs_waiting",
    "offtake_mw_waiting",
    "feedin_mw_waiting",
    "n_sites_waiting",
    "higher_level_id",
    "note",
    F.CARRIER,
    F.UNIT,
    "added_capacity_mw",
]

#: the Dutch names of the interventions (the codes of the ``intervention`` column), substations' and nodes'
INTERVENTIONS_NL = {"extension": "uitbreiding", "new_substation": "nieuw onderstation",
                    "advance_planned": "geplande capaciteit vervroegen",
                    # the other carriers' nodes (spatialprog.node_programme)
                    "larger_connection": "grotere aansluiting", "new_source": "nieuwe warmtebron"}

_EPS = 1e-9


def land_for(installed_mva: float, land: pd.DataFrame) -> float:
    """Land (m2) for a new station of ``installed_mva``: the first class that holds it.

    Parameters
    ----------
    installed_mva : float
    land : DataFrame
        ``max_installed_mva, land_m2`` ascending (``plan.reference.substation_land``).

    Examples
    --------
    >>> land = pd.DataFrame({"max_installed_mva": [80.0, 160.0, float("inf")], "land_m2": [2000.0, 8000.0, 15000.0]})
    >>> land_for(160.0, land), land_for(500.0, land)
    (8000.0, 15000.0)
    """
    row = land[land["max_installed_mva"] >= installed_mva - _EPS]
    return float(row["land_m2"].iat[0]) if len(row) else float(land["land_m2"].iat[-1])


def _firm(units: Sequence[float], n1: bool) -> float:
    """Firm capacity of a set of transformer units: sum, minus the largest under N-1."""
    if not units:
        return 0.0
    s = float(sum(units))
    return s - float(max(units)) if n1 and len(units) >= 2 else s


def _steps_for(steps: pd.DataFrame, hv_kv: float) -> list[float]:
    kv = 150.0 if not np.isfinite(hv_kv) else hv_kv
    sel = steps[(steps["hv_kv_min"] <= kv) & (steps["hv_kv_max"] >= kv)]
    if not len(sel):  # outside every range: the nearest range
        d = np.minimum((steps["hv_kv_min"] - kv).abs(), (steps["hv_kv_max"] - kv).abs())
        sel = steps[d == d.min()]
    return sorted(set(sel["mva"].astype(float).tolist()))


def size_extension(*, units: Sequence[float] | None, hv_kv: float, need_offtake_mva: float, need_feedin_mva: float,
                   steps: Sequence[float], max_units: int, n1_min_kv: float, feedin_n1: bool,
                   n_units_assumed: int = 2, n1_after: bool = False) -> tuple[int, float, float, float] | None:
    """The extension of an existing station that covers the need in standard steps: the fewest, smallest units.

    Adds ``k`` transformers of one standard size ``S``: the fewest units that
    cover the need, and of those the smallest size. So one unit of the
    smallest size that covers the need where one unit does (a 6.3 MVA need at
    150 kV: ``1 x 40 MVA``), and the minimal count where the largest single
    step does not (90 MVA at a 150 kV station under N-0: ``2 x 50 MVA``).

    The firm capacity gained is counted under the rule the station is planned
    at today, the headroom table's rule (N-1 at ``n1_min_kv`` and up with two
    or more units, N-0 otherwise): at a station under N-1 the largest unit is
    the one lost (adding one unit larger than the present ones gains only the
    present largest), and a station with one transformer stays N-0 (each unit
    adds its rating), as a reinforcement of that many MVA adds in the headroom
    table. ``n1_after=True`` asks what it takes when N-1 applies after the
    extension too (a single-transformer station made redundant).

    Parameters
    ----------
    units : sequence of float or None
        The ratings of the existing transformers; ``None`` when unknown (then
        each added unit adds its full rating, an assumption).
    hv_kv : float
        Highest voltage of the station (NaN when unknown: N-1 applies).
    need_offtake_mva, need_feedin_mva : float
        Firm capacity to add in each direction.
    steps : sequence of float
        Standard sizes (MVA) for this voltage.
    max_units : int
        Most transformers the site can hold.
    n1_min_kv : float
    feedin_n1 : bool
    n_units_assumed : int
        Existing units assumed where ``units`` is None (for the room left).
    n1_after : bool
        Count the gain with N-1 applying after the extension (default: the
        station's present rule).

    Returns
    -------
    tuple or None
        ``(k, S, firm offtake gain, firm feed-in gain)``; None when no option
        fits on the site.

    Examples
    --------
    >>> size_extension(units=[80.0], hv_kv=150.0, need_offtake_mva=6.3, need_feedin_mva=0.0,
    ...                steps=[40.0, 50.0, 63.0, 80.0], max_units=4, n1_min_kv=110.0, feedin_n1=False)
    (1, 40.0, 40.0, 40.0)
    """
    n1_off = (not np.isfinite(hv_kv)) or hv_kv >= n1_min_kv
    n_have = len(units) if units is not None else n_units_assumed
    for k in range(1, max(max_units - n_have, 0) + 1):
        for s in sorted(steps):
            if units is None:
                g_off = g_feed = k * s
            else:
                new = [*units, *([s] * k)]
                rule = n1_off and (n1_after or len(units) >= 2)  # N-1 counts only where it applies today
                g_off = _firm(new, rule) - _firm(units, rule)
                g_feed = _firm(new, rule and feedin_n1) - _firm(units, rule and feedin_n1)
            if g_off + _EPS >= need_offtake_mva and g_feed + _EPS >= need_feedin_mva:
                return k, float(s), float(g_off), float(g_feed)
    return None


def size_new_substation(*, hv_kv: float, need_offtake_mva: float, need_feedin_mva: float, steps: Sequence[float],
                        n_units: int, max_units: int, n1_min_kv: float,
                        feedin_n1: bool) -> tuple[int, int, float, float, float]:
    """The smallest new station (or stations) that covers the need.

    Returns
    -------
    tuple
        ``(n_stations, units_per_station, unit_mva, firm offtake per station,
        firm feed-in per station)``.

    Examples
    --------
    >>> size_new_substation(hv_kv=150.0, need_offtake_mva=70.0, need_feedin_mva=0.0, steps=[40.0, 63.0, 80.0],
    ...                     n_units=2, max_units=4, n1_min_kv=110.0, feedin_n1=False)
    (1, 2, 80.0, 80.0, 160.0)
    """
    n1_off = (not np.isfinite(hv_kv)) or hv_kv >= n1_min_kv
    options = []
    for n in range(max(n_units, 1), max(max_units, n_units) + 1):
        for s in sorted(steps):
            off = _firm([s] * n, n1_off)
            feed = _firm([s] * n, n1_off and feedin_n1)
            if off + _EPS >= need_offtake_mva and feed + _EPS >= need_feedin_mva:
                options.append(((n * s, n, s), (1, n, float(s), float(off), float(feed))))
        if options:
            break
    if options:
        return min(options)[1]
    # even the largest station falls short: several of the largest
    n = max(max_units, n_units)
    s = max(steps)
    off = _firm([s] * n, n1_off)
    feed = _firm([s] * n, n1_off and feedin_n1)
    count = max(math.ceil(need_offtake_mva / off - _EPS) if off > 0 else 1,
                math.ceil(need_feedin_mva / feed - _EPS) if feed > 0 else 1, 1)
    return count, n, float(s), float(off), float(feed)


def _mva(x: float) -> str:
    """An MVA figure as a Dutch text: ``40``, ``31,5``."""
    return f"{x:g}".replace(".", ",")


def step_text(intervention: str, *, units: int = 0, unit_mva: float = 0.0, stations: int = 1,
              planned_mva: float = 0.0, planned_year: int = 0, first_shortfall_year: int = 0) -> str:
    """The intervention in Dutch words, as the ``transformer_step`` cell shows it.

    Examples
    --------
    >>> step_text("extension", units=1, unit_mva=40.0)
    '1 transformator van 40 MVA bijplaatsen'
    >>> step_text("extension", units=2, unit_mva=31.5)
    '2 transformatoren van 31,5 MVA bijplaatsen'
    >>> step_text("new_substation", units=2, unit_mva=80.0, stations=2)
    '2 nieuwe stations, elk 2 x 80 MVA'
    >>> step_text("advance_planned", planned_mva=40.0, planned_year=2030, first_shortfall_year=2028)
    'geplande verzwaring van 40 MVA vervroegen van 2030 naar 2028'
    """
    if intervention == "extension":
        return f"{units} transformator{'en' if units != 1 else ''} van {_mva(unit_mva)} MVA bijplaatsen"
    if intervention == "new_substation":
        if stations > 1:
            return f"{stations} nieuwe stations, elk {units} x {_mva(unit_mva)} MVA"
        return f"nieuw station met {units} x {_mva(unit_mva)} MVA"
    return (f"geplande verzwaring van {_mva(planned_mva)} MVA vervroegen van {planned_year} naar "
            f"{first_shortfall_year}")


def start_by_text(needed_by_year: int, base_year: int) -> str:
    """When the intervention must start, in Dutch: ``start uiterlijk 2027``, or too late.

    A start year before the base year (the run's "now") cannot be met any
    more: ``te laat: had in 2023 moeten starten``. The CSV and XLSX cell
    (``start_by``), the command line and the programme map use these words.

    Examples
    --------
    >>> start_by_text(2023, 2025)
    'te laat: had in 2023 moeten starten'
    >>> start_by_text(2025, 2025)
    'start uiterlijk 2025'
    """
    if needed_by_year < base_year:
        return f"te laat: had in {int(needed_by_year)} moeten starten"
    return f"start uiterlijk {int(needed_by_year)}"


def shortfall_by_substation(shortfall: pd.DataFrame, variant: str) -> pd.DataFrame:
    """The shortfall table of one variant, one row per substation that runs short.

    Parameters
    ----------
    shortfall : DataFrame
        :func:`spatialprog.headroom.first_shortfall` (``result.shortfall``).
    variant : str

    Returns
    -------
    DataFrame
        Indexed by ``substation_id``: ``first_shortfall_<direction>_year``
        (NaN where that direction never runs short) and
        ``shortfall_<direction>_mw`` (the largest shortfall) per direction.
    """
    s = shortfall[shortfall[F.VARIANT] == variant]
    g = s.groupby([F.SUBSTATION_ID, F.DIRECTION], sort=True)
    fs = g[F.FIRST_SHORTFALL_YEAR].min().astype(float).unstack(F.DIRECTION)
    mx = g["max_shortfall_mw"].max().astype(float).unstack(F.DIRECTION)
    out = pd.DataFrame(index=pd.Index(sorted(set(s[F.SUBSTATION_ID])), name=F.SUBSTATION_ID))
    for d in F.DIRECTIONS:
        out[f"first_shortfall_{d}_year"] = fs[d].reindex(out.index).astype(float) if d in fs else np.nan
        out[f"shortfall_{d}_mw"] = mx[d].reindex(out.index).astype(float).fillna(0.0) if d in mx else 0.0
    return out


def zone_jobs(layers: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Jobs per industrial-zone id (the ``jobs`` column of ``industrial_zones``); None without it."""
    zones = layers.get("industrial_zones")
    return zones.set_index("id")["jobs"] if zones is not None and "jobs" in zones else None


def _advance_planned(headroom: pd.DataFrame | None, reinforcements: pd.DataFrame | None,
                     first_short: int) -> tuple[int, float] | None:
    """A planned reinforcement after the first shortfall that ends the shortfall once in service.

    ``headroom`` and ``reinforcements`` are one station's rows (of one variant), as :func:`_by_station` splits them.
    """
    if reinforcements is None or not len(reinforcements):
        return None
    r = reinforcements[reinforcements[F.YEAR] > first_short]
    if not len(r):
        return None
    last_year = int(r[F.YEAR].max())
    h = headroom[headroom[F.YEAR] >= last_year] if headroom is not None else None
    if h is not None and len(h) and not is_short(h[F.HEADROOM_MW]).any():
        return last_year, float(added_mva(r).sum())
    return None


def _by_station(table: pd.DataFrame | None, ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The rows of ``table`` per substation id in ``ids``, split once (a filter of the whole table per station
    was most of the programme's time at national scale); rows keep their order."""
    if table is None or not len(table):
        return {}
    want = table[F.SUBSTATION_ID].isin(set(ids)).to_numpy()
    part = table[want]
    return {str(k): g for k, g in part.groupby(F.SUBSTATION_ID, sort=False, observed=True)}


def waiting_cells(wait: pd.DataFrame, sid: str, first_shortfall_year: int) -> dict[str, float | int]:
    """The programme's waiting columns of one station from :func:`spatialprog.waiting.waiting_summary`.

    A station nothing waits on (the shortfall comes from growth of the existing
    load alone) gets zeros, with its first shortfall year as the waiting year.
    """
    w = wait.loc[sid] if len(wait) and sid in wait.index else None
    if w is None:
        return {"waiting_year": int(first_shortfall_year), "dwellings_waiting": 0.0, "jobs_waiting": 0.0,
                "offtake_mw_waiting": 0.0, "feedin_mw_waiting": 0.0, "n_sites_waiting": 0}
    return {"waiting_year": int(w["waiting_year"]), "dwellings_waiting": float(w["dwellings_waiting"]),
            "jobs_waiting": float(w["jobs_waiting"]), "offtake_mw_waiting": float(w["offtake_mw_waiting"]),
            "feedin_mw_waiting": float(w["feedin_mw_waiting"]), "n_sites_waiting": int(w["n_sites_waiting"])}


def interventions(result, variant: str, *, land_reserved: Iterable[str] = (), steps: pd.DataFrame | None = None,
                  land: pd.DataFrame | None = None, waiting: pd.DataFrame | None = None) -> pd.DataFrame:
    """One intervention per substation that runs short within the horizon.

    Parameters
    ----------
    result : RunResult
    variant : str
    land_reserved : iterable of str
        Substations whose land (for a new station or the extension) is reserved:
        no site search in the lead time.
    steps, land : DataFrame, optional
        Transformer steps and land table (default: ``result.plan.reference``'s
        ``transformer_steps`` and ``substation_land``).
    waiting : DataFrame, optional
        :func:`spatialprog.waiting.waiting_demand` of this variant, when
        computed already.

    Returns
    -------
    DataFrame
        Columns :data:`PROGRAMME_COLUMNS`, sorted by substation id.

    Examples
    --------
    >>> from spatialprog.pipeline import read_plan, compute
    >>> r = compute(read_plan("layers/example_region.toml"), variants=["basis"])
    >>> p = interventions(r, "basis").set_index("substation_id")
    >>> p.loc["OS07", ["intervention", "transformer_step"]].tolist()
    ['advance_planned', 'geplande verzwaring van 40 MVA vervroegen van 2030 naar 2028']
    >>> p.loc["OS09", "transformer_step"], round(float(p.loc["OS09", "need_mva"]), 1)
    ('1 transformator van 40 MVA bijplaatsen', 6.3)
    >>> p.loc["OS03", "start_by"]
    'te laat: had in 2023 moeten starten'
    """
    project = result.project
    params: ParameterSet = project.variants[variant]
    ref = result.plan.reference
    steps = ref.transformer_steps if steps is None else steps
    land = ref.substation_land if land is None else land
    reserved = set(land_reserved)
    pf = float(params["grid.power_factor"]) or 1.0
    n1_min = float(params["grid.n1_min_kv"])
    feedin_n1 = bool(params["grid.feedin_n1"])
    max_units = int(params["programme.max_transformers_per_station"])
    new_units = int(params["programme.new_station_transformers"])
    ext_lead = float(params["programme.extension_lead_time_years"])
    search = float(params["programme.site_search_years"])
    build = float(params["programme.build_years"])

    subs = result.plan.layers["substations"].set_index("id")
    fs = shortfall_by_substation(result.shortfall, variant)
    short = fs[fs["first_shortfall_offtake_year"].notna() | fs["first_shortfall_feedin_year"].notna()]
    if waiting is None:
        waiting = waiting_demand(result.headroom, result.allocated, variant, jobs=zone_jobs(result.plan.layers))
    wait = waiting_summary(waiting)

    rows = []
    head_of = _by_station(result.headroom[result.headroom[F.VARIANT] == variant], short.index)
    reinf_of = _by_station(result.reinforcements, short.index)
    steps_at: dict[float | None, list[float]] = {}  # per voltage (None: unknown), the standard steps
    land_at: dict[float, float] = {}  # per installed MVA, the land of a new station
    for sid, r in short.iterrows():
        s = subs.loc[sid]
        kv = max_kv(s.get("voltage_kv"))
        n = s.get("n_transformers")
        u = s.get("transformer_mva")
        published = pd.notna(s.get("firm_offtake_mva"))
        listed = list(transformer_units(s.get("transformer_units_mva"))) if "transformer_units_mva" in s else []
        if published:
            units = None
        elif listed:  # units of different sizes, as the layer lists them ('40;63')
            units = listed
        else:
            units = [float(u)] * int(n) if (pd.notna(n) and pd.notna(u)) else None
        fyears = [y for y in (r["first_shortfall_offtake_year"], r["first_shortfall_feedin_year"]) if pd.notna(y)]
        first = int(min(fyears))
        dirs = [d for d in F.DIRECTIONS if pd.notna(r[f"first_shortfall_{d}_year"])]
        need_off = r["shortfall_offtake_mw"] / pf
        need_feed = r["shortfall_feedin_mw"] / pf
        kv_key = float(kv) if np.isfinite(kv) else None
        if kv_key not in steps_at:
            steps_at[kv_key] = _steps_for(steps, kv)
        step_sizes = steps_at[kv_key]
        is_reserved = sid in reserved
        note = ""
        adv = _advance_planned(head_of.get(str(sid)), reinf_of.get(str(sid)), first)
        n_new = 0
        land_m2 = 0.0
        size = dict(n1_min_kv=n1_min, feedin_n1=feedin_n1, need_offtake_mva=need_off, need_feedin_mva=need_feed,
                    steps=step_sizes)
        if adv is not None:
            kind = "advance_planned"
            step = step_text(kind, planned_mva=adv[1], planned_year=adv[0], first_shortfall_year=first)
            added_inst, added_firm = 0.0, 0.0
            lead = ext_lead
            note = "de geplande verzwaring heft het tekort op zodra ze in bedrijf is"
        else:
            ext = size_extension(units=units, hv_kv=kv, max_units=max_units, **size)
            if ext is not None:
                k, unit_mva, g_off, g_feed = ext
                kind = "extension"
                step = step_text(kind, units=k, unit_mva=unit_mva)
                added_inst = k * unit_mva
                added_firm = g_off if need_off > 0 or need_feed <= 0 else g_feed
                lead = ext_lead
                if units is None:
                    note = ("opbouw van de transformatoren onbekend: elke extra transformator telt met zijn volle "
                            "vermogen (aanname)")
                elif len(units) == 1 and ((not np.isfinite(kv)) or kv >= n1_min):
                    alt = size_extension(units=units, hv_kv=kv, max_units=max_units, n1_after=True, **size)
                    note = ("station met één transformator: gerekend met de huidige storingsreserve N-0"
                            + (f"; N-1 na de uitbreiding vraagt {alt[0]} x {_mva(alt[1])} MVA"
                               if alt is not None and alt[:2] != ext[:2] else ""))
            else:
                cnt, nu, unit_mva, f_off, f_feed = size_new_substation(
                    hv_kv=kv, n_units=new_units, max_units=max_units, **size)
                kind = "new_substation"
                step = step_text(kind, units=nu, unit_mva=unit_mva, stations=cnt)
                n_new = cnt
                added_inst = cnt * nu * unit_mva
                added_firm = cnt * (f_off if need_off > 0 or need_feed <= 0 else f_feed)
                if nu * unit_mva not in land_at:
                    land_at[nu * unit_mva] = land_for(nu * unit_mva, land)
                land_m2 = cnt * land_at[nu * unit_mva]
                lead = build + (0.0 if is_reserved else search)
                note = (f"het bestaande terrein biedt plaats aan ten hoogste {max_units} transformatoren; een nieuw "
                        f"station neemt de belasting over"
                        + ("; grond gereserveerd: geen locatiezoektocht" if is_reserved else ""))
        lead_y = int(math.ceil(lead - _EPS))
        needed_by = first - lead_y
        rows.append({
            F.VARIANT: variant,
            F.SUBSTATION_ID: sid,
            "name": s.get("name") if isinstance(s.get("name"), str) else "",
            "intervention": kind,
            "transformer_step": step,
            "short_directions": "+".join(dirs),
            F.FIRST_SHORTFALL_YEAR: first,
            "shortfall_offtake_mw": float(r["shortfall_offtake_mw"]),
            "shortfall_feedin_mw": float(r["shortfall_feedin_mw"]),
            "need_mva": float(max(need_off, need_feed)),
            "added_installed_mva": float(added_inst),
            "added_firm_mva": float(added_firm),
            "n_new_stations": int(n_new),
            "land_m2": float(land_m2),
            "land_reserved": bool(is_reserved),
            "lead_time_years": lead_y,
            "needed_by_year": int(needed_by),
            "late_years": int(max(0, project.base_year - needed_by)),
            "start_by": start_by_text(needed_by, project.base_year),
            **waiting_cells(wait, sid, first),
            "higher_level_id": s.get("higher_level_id") if isinstance(s.get("higher_level_id"), str) else None,
            "note": note,
            F.CARRIER: F.ELECTRICITY,
            F.UNIT: "MWe",
            "added_capacity_mw": float(added_firm) * pf,
        })
    out = pd.DataFrame(rows, columns=PROGRAMME_COLUMNS)
    return out.sort_values(F.SUBSTATION_ID, kind="stable").reset_index(drop=True)
