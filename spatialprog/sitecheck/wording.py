"""The answer of a check in words: one paragraph in plain Dutch and in English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .result import VERDICTS, SiteCheck

__all__ = ["summaries"]


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
    head_nl = f"{c.verdict.nl.capitalize()}. {label} ({_nl(site_mw)} MW in {end}) op {subs_nl}"
    head_en = f"{c.verdict.en.capitalize()}. {label} ({site_mw:.2f} MW in {end}) on {subs_en}"
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
        last = years[-1]["alternatives"] if key == "does_not_fit" else next(
            (y["alternatives"] for y in years if not y["fits"]), [])
        if last:
            a = last[0]
            when = end if key == "does_not_fit" else next(y["year"] for y in years if not y["fits"])
            an = f"{a['substation_id']}{' ' + a['name'] if a['name'] else ''}"
            nl += (f" Dichtstbijzijnde onderstation met ruimte voor de hele locatie in {when}: {an} "
                   f"({_nl(a['distance_m'] / 1000, 1)} km, {_nl(a['headroom_mw'])} MW ruimte).")
            en += (f" Nearest substation with room for the whole site in {when}: {an} "
                   f"({a['distance_m'] / 1000:.1f} km, {a['headroom_mw']:.2f} MW headroom).")
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


