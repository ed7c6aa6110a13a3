"""The two workbooks of a run for people: ``headroom.xlsx`` and ``programme.xlsx``.

:func:`headroom_book` and :func:`programme_book` choose the sheets, put the
substation's and the site's name beside their ids (joined from the run's
layers, which the caller hands over with the result: nothing here opens a
file), and write the Toelichting's Dutch rules and sources: the parameters in
force (``data/parameters.toml`` and the project file) and the reference tables
behind the figures. The layout (headers, formats, colours) is
:func:`spatialprog.sheets.book`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from . import fields as F
from .sheets import Book, Sheet, book

__all__ = ["headroom_book", "programme_book"]

_ROUNDING = ("afronding", "Getallen staan opgeslagen met zes significante cijfers, zoals in de CSV-bestanden, en worden "
             "getoond met de decimalen van hun eenheid: MW en MVA op 0,1, aandelen als percentage, aantallen heel. "
             "De CSV-bestanden met dezelfde tabellen zijn het machineformaat: codenamen als kolomkop (de codenaam "
             "staat hieronder bij elke kolom), codes in plaats van woorden, volledige precisie.")


def _nl(x: float) -> str:
    """A number the Dutch way: ``5,5``, ``31,5``, ``3``."""
    return f"{float(x):g}".replace(".", ",")


def _about(project, when: datetime, what: str) -> list[tuple[str, str]]:
    out = [("inhoud", what), ("project", project.name), ("rekendatum", when.strftime("%Y-%m-%d")),
           ("basisjaar en horizon", f"{project.base_year}; {project.years[0]}-{project.years[-1]}"),
           ("ontwikkelvarianten", "; ".join(f"{v}: {d}" if d else v for v, d in
                                            ((v, project.variant_descriptions.get(v, "")) for v in project.variants)))]
    if project.fictional:
        out.append(("let op", "fictieve gegevens: elke locatie en elk getal is verzonnen (voorbeeldregio)"))
    return out


def _names(layers: Mapping[str, pd.DataFrame], kind: str) -> pd.Series:
    df = layers.get(kind)
    if df is None or "name" not in df:
        return pd.Series(dtype=object)
    return pd.Series(df["name"].to_numpy(), index=df["id"].astype(str).to_numpy()).groupby(level=0).first()


def _with_name(df: pd.DataFrame, names: pd.Series, *, after: str = F.SUBSTATION_ID, column: str = "name") -> pd.DataFrame:
    """``df`` with the name of each id in a column right after it (empty where unnamed)."""
    if after not in df or column in df:
        return df
    out = df.copy()
    out.insert(out.columns.get_loc(after) + 1, column, out[after].astype(str).map(names).astype(object))
    return out


def _parameters(project, prefixes: Sequence[str] = ()) -> pd.DataFrame:
    """The base variant's parameters, then every other variant's own values; only ``prefixes`` when given."""
    from .config import BASE_VARIANT

    base = project.variants[BASE_VARIANT].to_frame().assign(variant="")
    parts = [base]
    for v, ps in project.variants.items():
        if v != BASE_VARIANT:
            f = ps.to_frame()
            parts.append(f[f["origin"].astype(str).str.startswith("variant")].assign(variant=v))
    out = pd.concat(parts, ignore_index=True)
    if prefixes:
        out = out[out["key"].astype(str).str.startswith(tuple(prefixes))]
    return out.reset_index(drop=True)


def headroom_book(result, tables: Mapping[str, pd.DataFrame], *, when: datetime) -> Book:
    """``headroom.xlsx``: headroom and shortfall with the substation names, the parameters, the Toelichting.

    Parameters
    ----------
    result : RunResult
        For the names (substations layer), parameters and status classes.
    tables : mapping
        The run's tables (:func:`spatialprog.outputs.result_tables`).
    when : datetime
        The run's date.
    """
    from .config import BASE_VARIANT
    from .kinds import LAYER_KINDS

    project = result.project
    names = _names(result.plan.layers, "substations")
    classes = result.plan.reference.status_classes
    params = project.variants[BASE_VARIANT].to_frame()
    sheets = [
        Sheet("Netruimte", _with_name(tables["headroom"], names), keys=2,
              about="Capaciteit, belasting en ruimte per onderstation, variant, jaar en richting"),
        Sheet("Tekorten", _with_name(tables["shortfall"], names), keys=2,
              about="Eerste jaar tekort en grootste tekort per onderstation, variant en richting"),
        *([Sheet("Netbeheerder", _with_name(tables["operator_comparison"].drop(columns=["name"]), names), keys=2,
                 about="De eigen prognose van de netbeheerder (beschikbare capaciteit 3, 5 en 10 jaar na de "
                       "peildatum) naast die van spatialprog zonder nieuwe plannen, en wat het verschil verklaart")]
          if "operator_comparison" in tables else []),
        Sheet("Parameters", params, keys=1,
              about="Alle parameters van de basisvariant met eenheid en bron (data/parameters.toml en het "
                    "projectbestand)"),
    ]
    rules = [
        ("ruimte", "Ruimte = capaciteit - belasting. Capaciteit = vaste capaciteit (N-1 of N-0, zie storingsreserve) "
                   "plus geplande investeringen in bedrijf (afname en invoeding apart), maal de arbeidsfactor. "
                   "Belasting = het grootste van de gereserveerde capaciteit (contracten en wachtrij, volgens de "
                   "gepubliceerde beschikbare capaciteit) en de fysieke piek met autonome groei vanaf de peildatum, "
                   "plus de vraag van de geplande locaties."),
        ("tekort", "Een onderstation heeft een tekort in elk jaar waarin de ruimte nul of negatief is: bij 0 MW kan "
                   "er niets meer bij. Het eerste zulke jaar is het eerste jaar tekort."),
        ("statusklasse", "De status volgt uit de ruimte als aandeel van de capaciteit, naar de capaciteitskaart van "
                         "Netbeheer Nederland (data/status_classes.csv); de kleuren in het blad Netruimte zijn die "
                         "van de klassen hieronder."),
        _ROUNDING,
    ]
    return book(sheets, about=_about(project, when, "netruimte per onderstation (spatialprog run)"), rules=rules,
                parameters=_parameters(project), status_classes=classes,
                layer_titles={k: v.title_nl for k, v in LAYER_KINDS.items()},
                sources=[("data/status_classes.csv", "statusklassen en hun kleuren",
                          "; ".join(dict.fromkeys(classes["source"].astype(str))))])


#: the waiting demand per site goes into the workbook up to this many rows; beyond it (a national run: millions,
#: several sheets of a million rows that no one can open) the sheet sums it per substation and year and points at
#: waiting_demand.csv, which holds every row
WAITING_SHEET_MAX_ROWS = 100_000


def programme_book(ranking, *, when: datetime) -> Book:
    """``programme.xlsx``: the programme (all variants, then per variant), what waits, no-regret, criteria,
    sensitivity, the higher-level check and the Toelichting.

    Parameters
    ----------
    ranking : RankingResult
        Its ``run`` (the RunResult it ranks) gives the names, parameters and reference tables; without one
        the sheets carry no names and the Toelichting no parameters.
    when : datetime
    """
    from .config import BASE_VARIANT
    from .kinds import LAYER_KINDS

    run = getattr(ranking, "run", None)
    layers = run.plan.layers if run is not None else {}
    names = _names(layers, "substations")
    p = ranking.programme
    sheets = [Sheet("Programma", p, keys=4, about="Het programma van maatregelen, alle varianten, gerangschikt per "
                                                   "variant")]
    for v in dict.fromkeys(p[F.VARIANT]) if len(p) else []:
        sheets.append(Sheet(f"Programma {v}", p[p[F.VARIANT] == v], keys=4, about=f"Het programma van variant {v}"))
    w = getattr(ranking, "waiting", None)
    if w is not None and len(w) > WAITING_SHEET_MAX_ROWS:  # a national run: per substation and year, not per site
        keys = [F.VARIANT, F.SUBSTATION_ID, F.DIRECTION, F.YEAR]
        g = w.groupby(keys, sort=False)
        per = g[["waiting_mw", "dwellings_waiting", "jobs_waiting"]].sum()
        per.insert(0, "n_sites_waiting", g.size())
        per = _with_name(per.reset_index(), names)
        n_rows, most = (f"{n:,}".replace(",", ".") for n in (len(w), WAITING_SHEET_MAX_ROWS))
        sheets.append(Sheet("Wachtende vraag", per, keys=3, about=(
            f"Per variant, onderstation, richting en jaar de vraag die door het tekort niet kan aansluiten, "
            f"opgeteld over de locaties: de {n_rows} regels per locatie staan in waiting_demand.csv "
            f"(meer dan {most} regels; zie Rekenregels)")))
    elif w is not None and len(w):
        site_names = pd.concat([_names(layers, k).rename(lambda i, k=k: (k, i)) for k in layers], sort=False) \
            if layers else pd.Series(dtype=object)
        w = _with_name(w, names)
        key = pd.Series(list(zip(w[F.LAYER], w[F.SITE_ID].astype(str), strict=True)), index=w.index)
        w.insert(w.columns.get_loc(F.SITE_ID) + 1, "site_name", key.map(site_names.to_dict()).astype(object))
        sheets.append(Sheet("Wachtende vraag", w, keys=3, about="Per variant, onderstation en jaar de locaties "
                            "waarvan de vraag door het tekort niet kan aansluiten (zie Rekenregels)"))
    sheets += [
        Sheet("Varianten", getattr(ranking, "variants_summary", pd.DataFrame()), keys=4,
              about="Wat elke variant doet, per energiedrager en richting: stations met een tekort, het eerste "
                    "tekortjaar, de laagste ruimte en de maatregelen, met het verschil met de basisvariant"),
        Sheet("Geen spijt", _with_name(ranking.no_regret, names), keys=3,
              about="Maatregelen die in elke variant nodig zijn, en die alleen in sommige (per energiedrager)"),
        Sheet("Criteria", ranking.criteria, keys=2, about="De criteria en gewichten van het afwegingskader per "
                                                          "variant, met hun bron"),
        Sheet("Gevoeligheid", ranking.sensitivity, keys=3, about="Hoe de top verschuift als elk gewicht met 25 % "
                                                                  "wordt gevarieerd"),
        Sheet("Hoger netniveau", ranking.higher_level_check, keys=2,
              about="De belasting onder elk hoogspanningsknooppunt tegen zijn capaciteit"),
    ]
    if run is None:
        return book(sheets, rules=[_ROUNDING], layer_titles={k: v.title_nl for k, v in LAYER_KINDS.items()})
    project = run.project
    ps = project.variants[BASE_VARIANT]
    ref = run.plan.reference
    rules = [
        ("maatregel in standaardstappen",
         f"Een uitbreiding dekt het grootste tekort binnen de horizon in standaardstappen (data/transformer_steps.csv): "
         f"het kleinste aantal transformatoren van één maat dat het tekort dekt, en daarvan de kleinste maat; een "
         f"tekort van 6,3 MVA bij 150 kV krijgt dus 1 transformator van 40 MVA. De extra vaste capaciteit telt met de "
         f"huidige storingsreserve van het station (N-1 vanaf {ps['grid.n1_min_kv']:g} kV met twee of meer "
         f"transformatoren, anders N-0): bij N-1 valt de grootste eenheid weg. Past het niet op het terrein (ten "
         f"hoogste {int(ps['programme.max_transformers_per_station'])} transformatoren), dan een nieuw onderstation van "
         f"{int(ps['programme.new_station_transformers'])} gelijke transformatoren, of meer als dat nodig is. Een "
         f"geplande verzwaring die na het eerste tekort komt en het tekort opheft, wordt vervroegd."),
        ("start", f"Start = eerste jaar tekort min de doorlooptijd: {_nl(ps['programme.extension_lead_time_years'])} "
                  f"jaar voor een uitbreiding, {_nl(ps['programme.site_search_years'])} jaar locatiezoektocht plus "
                  f"{_nl(ps['programme.build_years'])} jaar bouw voor een nieuw station (alleen de bouw als de grond "
                  f"gereserveerd is), naar boven afgerond. Ligt dat jaar vóór het basisjaar ({project.base_year}), "
                  f"dan staat er 'te laat: had in JAAR moeten starten'."),
        ("wachtende vraag",
         "Per jaar wacht de geplande vraag die niet past: het tekort in MW, ten hoogste de nieuwe vraag zelf (de "
         "bestaande belasting met haar autonome groei is al aangesloten en gaat voor). Welke locaties wachten: de "
         "laatst aangekomen eerst, wie het eerst komt het eerst maalt (aankomst = het eerste jaar met vraag bij het "
         "onderstation); locaties die in hetzelfde jaar aankomen wachten naar rato van hun vraag. Zo tellen ook de "
         "locaties mee die het tekort veroorzaken. Het programma geeft de woningen, arbeidsplaatsen en MW van het "
         "jaar waarin het meest wacht; het blad Wachtende vraag geeft elk jaar per locatie."),
        ("andere energiedragers",
         f"Een waterstof- of gasstation met een tekort krijgt een grotere aansluiting, een warmtenet een nieuwe bron: "
         f"het grootste tekort van de horizon, naar boven afgerond op stappen van "
         f"{_nl(ps['programme.node_step_mw.hydrogen'])} MW_H2, {_nl(ps['programme.node_step_mw.gas'])} MW_gas en "
         f"{_nl(ps['programme.node_step_mw.heat'])} MWth; komt geplande capaciteit na het eerste tekort en heft ze het "
         f"op, dan wordt ze vervroegd. Doorlooptijd {_nl(ps['programme.node_lead_time_years.hydrogen'])} jaar "
         f"(waterstof), {_nl(ps['programme.node_lead_time_years.heat'])} (warmte), "
         f"{_nl(ps['programme.node_lead_time_years.gas'])} (gas). Elke energiedrager heeft een eigen rangorde: op "
         f"startjaar, eerste tekortjaar en wat erop wacht; cijfers van verschillende dragers worden nooit opgeteld."),
        ("score", "Score = som van gewicht x criteriumscore (0-1) gedeeld door de som van de gewichten "
                  "(data/ranking_criteria.csv en [ranking] in het projectbestand); de rang volgt de score."),
        _ROUNDING,
    ]
    steps = ref.transformer_steps
    sources = [(f"data/transformer_steps.csv ({_nl(r.hv_kv_min)}-{_nl(r.hv_kv_max)} kV)",
                f"standaardstap {_nl(r.mva)} MVA", r.source) for r in steps.itertuples(index=False)]
    sources += [("data/substation_land.csv", (f"tot {_nl(r.max_installed_mva)} MVA" if np.isfinite(r.max_installed_mva)
                                              else "grotere stations") + f": {r.land_m2:,.0f} m²".replace(",", "."),
                 r.source) for r in ref.substation_land.itertuples(index=False)]
    return book(sheets, about=_about(project, when, "programma van maatregelen (spatialprog run / rank)"),
                rules=rules, parameters=_parameters(project, ("grid.", "programme.", "scales.")),
                layer_titles={k: v.title_nl for k, v in LAYER_KINDS.items()}, sources=sources)
