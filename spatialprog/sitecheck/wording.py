"""The answer of a check in words: one paragraph in plain Dutch and in English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .result import VERDICTS, SiteCheck

__all__ = ["summaries", "connection_text", "options_text"]


def _nl(x: float, nd: int = 2) -> str:
    """A number the Dutch way: decimal comma."""
    return f"{x:.{nd}f}".replace(".", ",")


def _years_text(years: Sequence[int]) -> str:
    """``[2028, 2029, 2031]`` -> ``"2028-2029, 2031"``."""
    out, run = [], []
    for y in years:
        if run and y != run[-1] + 1:
            out.append(run)
            run = []
        run.append(y)
    if run:
        out.append(run)
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in out)





_DIRECTION_NL = {"offtake": "afname", "feedin": "invoeding"}
_CARRIER_NL = {"electricity": "Elektriciteit", "hydrogen": "Waterstof", "heat": "Warmte", "gas": "Gas"}


def connection_text(con: dict[str, Any], *, nl: bool) -> str:
    """One sentence on one of the site's other connections (a carrier and direction), in Dutch or English.

    Examples
    --------
    >>> con = {"carrier": "hydrogen", "unit": "MW_H2", "direction": "offtake", "site_mw_end": 4.5,
    ...        "stations": [{"id": "H2-01", "name": "Gendtbroek"}], "short_years": [2028, 2029], "max_short_mw": 4.5,
    ...        "verdict": {"key": "fits_from", "year": 2030, "nl": "past vanaf 2030", "en": "fits from 2030"}}
    >>> connection_text(con, nl=True)
    'Waterstof, afname (4,50 MW_H2 in het laatste jaar) op H2-01 Gendtbroek: past vanaf 2030 (te weinig in 2028-2029, tot 4,50 MW_H2).'
    """
    at = " en ".join(f"{s['id']}{' ' + s['name'] if s.get('name') else ''}" for s in con["stations"])
    unit, verdict = con["unit"], con["verdict"]
    short = con["short_years"]
    if nl:
        head = (f"{_CARRIER_NL.get(con['carrier'], con['carrier'])}, {_DIRECTION_NL[con['direction']]} "
                f"({_nl(con['site_mw_end'] or 0.0)} {unit} in het laatste jaar)" + (f" op {at}" if at else ""))
        tail = (f" (te weinig in {_years_text(short)}, tot {_nl(con['max_short_mw'])} {unit})"
                if short and verdict["key"] != "outside" else "")
        return f"{head}: {verdict['nl']}{tail}."
    head = (f"{con['carrier'].capitalize()}, {con['direction']} ({con['site_mw_end'] or 0.0:.2f} {unit} in the last "
            f"year)" + (f" on {at.replace(' en ', ' and ')}" if at else ""))
    tail = (f" (short in {_years_text(short)}, up to {con['max_short_mw']:.2f} {unit})"
            if short and verdict["key"] != "outside" else "")
    return f"{head}: {verdict['en']}{tail}."


_OPTION_NL = {"electric": "elektrisch", "hydrogen": "op waterstof", "gas": "op gas"}
_OPTION_EN = {"electric": "electric", "hydrogen": "on hydrogen", "gas": "on gas"}


def options_text(options: Sequence[dict[str, Any]], *, nl: bool) -> str:
    """The business park's process-heat choice in one sentence: which fits, and from when.

    Examples
    --------
    >>> o = [{"process_heat_carrier": "electric", "verdict": {"nl": "past niet binnen de horizon", "en": "x"}},
    ...      {"process_heat_carrier": "hydrogen", "verdict": {"nl": "past vanaf 2030", "en": "y"}}]
    >>> options_text(o, nl=True)
    'Proceswarmte elektrisch: past niet binnen de horizon; op waterstof: past vanaf 2030 (elektriciteit en het net van de energiedrager samen).'
    """
    if nl:
        parts = [f"{_OPTION_NL[o['process_heat_carrier']]}: {o['verdict']['nl']}" for o in options]
        return "Proceswarmte " + "; ".join(parts) + " (elektriciteit en het net van de energiedrager samen)."
    parts = [f"{_OPTION_EN[o['process_heat_carrier']]}: {o['verdict']['en']}" for o in options]
    return "Process heat " + "; ".join(parts) + " (electricity and the carrier's network together)."


def summaries(c: SiteCheck, base: Any) -> tuple[str, str]:
    """The answer in one paragraph, in Dutch and in English (``base``: the check's Baseline)."""
    v = c.verdict.variant
    vd = c.variants[v]
    key = c.verdict.key
    end = int(base.years[-1])
    label = c.site["name"] or c.site["id"]
    subs_nl = " en ".join(f"{s['substation_id']}{' ' + s['name'] if s['name'] else ''}"
                          + (f" ({s['share']:.0%})".replace(".", ",") if len(c.serving) > 1 else "") for s in c.serving)
    subs_en = " and ".join(f"{s['substation_id']}{' ' + s['name'] if s['name'] else ''}"
                           + (f" ({s['share']:.0%})" if len(c.serving) > 1 else "") for s in c.serving)
    site_mw = vd["site_mw_end"] or 0.0
    if key == "outside":
        dmax = base.params(v)["assignment.max_distance_m"]
        nl = (f"{VERDICTS['outside'][0].capitalize()}. {label} ligt buiten elk voedingsgebied van dit project en er "
              f"ligt geen onderstation binnen {dmax:g} m. Controleer de locatie en het coördinatenstelsel (--crs).")
        en = (f"{VERDICTS['outside'][1].capitalize()}. {label} lies outside every service area of this project and "
              f"no substation lies within {dmax:g} m. Check the location and the coordinate system (--crs).")
        return nl, en
    if key == "after_horizon":
        return (f"{c.verdict.nl.capitalize()} (tot en met {end}).", f"{c.verdict.en.capitalize()} (up to {end}).")
    feed = vd.get("direction") == "feedin"
    head_nl = f"{c.verdict.nl.capitalize()}. {label} ({_nl(site_mw)} MW{' invoeding' if feed else ''} in {end}) op {subs_nl}"
    head_en = f"{c.verdict.en.capitalize()}. {label} ({site_mw:.2f} MW{' feed-in' if feed else ''} in {end}) on {subs_en}"
    years = vd["years"]
    if key == "fits":
        mins = vd["min_headroom_after_mw"] or 0.0
        ymin = min((y for y in years if y["site_mw"] and y["site_mw"] > 0),
                   key=lambda y: min(s["headroom_after_mw"] for s in y["substations"]))["year"]
        # tight: the worst class short of congestion the site leaves any serving substation in, in its own words
        classes = base.plan.reference.status_classes
        order = list(classes["status"])
        tight = [(order.index(s["status_after"]), y["year"], s["status_after"]) for y in years
                 for s in y["substations"] if y["site_mw"] and y["site_mw"] > 0
                 and s["status_after"] in order[1:-1]]
        nl = f"{head_nl}: past in elk jaar tot en met {end}; de kleinste ruimte na aansluiting is {_nl(mins)} MW in {ymin}"
        en = f"{head_en}: fits in every year up to {end}; the least headroom left after connecting is {mins:.2f} MW in {ymin}"
        if tight:
            worst = max(t[0] for t in tight)
            year = min(t[1] for t in tight if t[0] == worst)
            row = classes.iloc[worst]
            nl += f" (krap: {str(row['label_nl']).lower()}, vanaf {year})"
            en += f" (tight: {str(row['label_en']).lower()}, from {year})"
        nl, en = nl + ".", en + "."
    else:
        short_years = vd["short_years"]
        nl = f"{head_nl}: te weinig ruimte in {_years_text(short_years)}, tekort tot {_nl(vd['max_short_mw'])} MW"
        en = f"{head_en}: not enough headroom in {_years_text(short_years)}, up to {vd['max_short_mw']:.2f} MW short"
        if key == "fits_from":
            y0 = c.verdict.year
            helping = [r for r in c.reinforcements if short_years[0] < r["year"] <= y0]
            if helping:
                rn = ", ".join(f"{r['substation_id']} +{_nl(r['added_mva'], 0)} MVA in {r['year']}" for r in helping)
                re_ = ", ".join(f"{r['substation_id']} +{r['added_mva']:.0f} MVA in {r['year']}" for r in helping)
                nl += f"; vanaf {y0} past het dankzij de geplande netverzwaring ({rn})."
                en += f"; from {y0} it fits thanks to the planned reinforcement ({re_})."
            else:
                nl += f"; vanaf {y0} past het weer."
                en += f"; from {y0} it fits again."
        else:
            nl += f"; ook in {end} past het niet."
            en += f"; it still does not fit in {end}."
        horizon = vd.get("alternatives") or []
        if horizon:
            a = horizon[0]
            an = f"{a['substation_id']}{' ' + a['name'] if a['name'] else ''}"
            nl += (f" Dichtstbijzijnde onderstation met ruimte voor de hele locatie in elk jaar tot en met {end}: {an} "
                   f"({_nl(a['distance_m'] / 1000, 1)} km; de kleinste ruimte na aansluiting is "
                   f"{_nl(a['min_headroom_after_mw'])} MW in {a['min_year']}).")
            en += (f" Nearest substation with room for the whole site in every year up to {end}: {an} "
                   f"({a['distance_m'] / 1000:.1f} km; the least headroom left is {a['min_headroom_after_mw']:.2f} MW "
                   f"in {a['min_year']}).")
        else:
            nl += f" Geen onderstation in de buurt heeft in elk jaar tot en met {end} ruimte voor de hele locatie."
            en += f" No nearby substation has room for the whole site in every year up to {end}."
    for con in vd.get("connections") or []:
        nl += " " + connection_text(con, nl=True)
        en += " " + connection_text(con, nl=False)
    if c.options:
        nl += " " + options_text(c.options, nl=True)
        en += " " + options_text(c.options, nl=False)
    others = [(w, c.variants[w]["verdict"]) for w in c.variants if w != v]
    differ = [(w, d) for w, d in others if d["key"] != c.verdict.key or d["year"] != c.verdict.year]
    if differ:
        nl += " Andere ontwikkelvarianten: " + "; ".join(f"{w}: {d['nl']}" for w, d in differ) + "."
        en += " Other development variants: " + "; ".join(f"{w}: {d['en']}" for w, d in differ) + "."
    elif others:
        nl += " Alle ontwikkelvarianten geven hetzelfde antwoord."
        en += " Every development variant gives the same answer."
    if c.unassigned_share > 0:
        nl += f" Let op: {c.unassigned_share:.0%} van de locatie valt onder geen enkel onderstation.".replace(".", ",", 1)
        en += f" Note: {c.unassigned_share:.0%} of the site is served by no substation."
    return nl, en


