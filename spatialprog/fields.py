"""Column names of result tables, with their units, in one place.

Input-layer columns are declared per layer kind in :mod:`spatialprog.layers`;
this module names the columns of the *result* tables (kept apart from inputs,
as pandapower keeps ``net.bus`` apart from ``net.res_bus``). Every name that
holds a quantity carries its unit.
"""

from __future__ import annotations

# identifiers
ID = "id"
LAYER = "layer"
SITE_ID = "site_id"
SUBSTATION_ID = "substation_id"
VARIANT = "variant"
YEAR = "year"
DIRECTION = "direction"  # "offtake" | "feedin"

OFFTAKE = "offtake"
FEEDIN = "feedin"
DIRECTIONS = (OFFTAKE, FEEDIN)
CARRIER = "carrier"  # "electricity" | "hydrogen" | "heat" | "gas" (spatialprog.carriers)
UNIT = "unit"  # the unit of the carrier's MW: MWe, MW_H2 (LHV), MWth, MW_gas (LHV)
ELECTRICITY = "electricity"

# demand (per site, per year)
OFFTAKE_MW = "offtake_mw"
FEEDIN_MW = "feedin_mw"
DWELLINGS_DELIVERED = "dwellings_delivered"
DWELLINGS_ON_HEAT_NETWORK = "dwellings_on_heat_network"

# assignment
SHARE = "share"
METHOD = "method"  # "service_area" | "voronoi" | "nearest" | "unassigned"
DIST_M = "dist_m"

# capacity and headroom (per substation, per year, per variant, per direction)
INSTALLED_MVA = "installed_mva"
FIRM_CAPACITY_MVA = "firm_capacity_mva"
REINFORCEMENT_MVA = "reinforcement_mva"
CAPACITY_MW = "capacity_mw"
EXISTING_LOAD_MW = "existing_load_mw"
RESERVED_MW = "reserved_mw"  # capacity reserved by contracts and the queue (operators' availability)
PEAK_MW = "peak_mw"  # the physical peak of the existing load, grown from the reference date
OPERATOR_AVAILABLE_MVA = "operator_available_mva"  # the operator's own forecast, in the years it gives
NEW_LOAD_MW = "new_load_mw"
LOAD_MW = "load_mw"
HEADROOM_MW = "headroom_mw"
UTILISATION = "utilisation"
STATUS = "status"
STATUS_LABEL = "status_label"
FIRM_RULE = "firm_rule"  # "N-1" | "N-0"
FIRST_SHORTFALL_YEAR = "first_shortfall_year"

# the long-format headroom table, in column order
HEADROOM_COLUMNS = [
    SUBSTATION_ID,
    VARIANT,
    YEAR,
    DIRECTION,
    FIRM_RULE,
    FIRM_CAPACITY_MVA,
    CAPACITY_MW,
    RESERVED_MW,
    PEAK_MW,
    EXISTING_LOAD_MW,
    NEW_LOAD_MW,
    LOAD_MW,
    HEADROOM_MW,
    UTILISATION,
    STATUS,
    STATUS_LABEL,
    OPERATOR_AVAILABLE_MVA,
]

#: the tables of the ranking (``RankingResult.tables()``, written by ``write_ranking`` as NAME.csv,
#: read back by ``RunOutputs.read``), in the order written
RANKING_TABLES = (
    "programme",
    "ranking_substations",
    "ranking_sites",
    "sensitivity",
    "variants_comparison",
    "variants_summary",
    "no_regret",
    "scale_sums",
    "higher_level_check",
    "ranking_criteria_used",
)

# Dutch aliases for result columns (shown in maps, QGIS, spreadsheets)
ALIASES_NL: dict[str, str] = {
    ID: "id",
    LAYER: "laag",
    SITE_ID: "locatie-id",
    SUBSTATION_ID: "onderstation",
    VARIANT: "ontwikkelvariant",
    YEAR: "jaar",
    DIRECTION: "richting",
    CARRIER: "energiedrager",
    UNIT: "eenheid",
    OFFTAKE_MW: "afname (MW)",
    FEEDIN_MW: "invoeding (MW)",
    DWELLINGS_DELIVERED: "opgeleverde woningen",
    DWELLINGS_ON_HEAT_NETWORK: "woningen op warmtenet",
    SHARE: "aandeel",
    METHOD: "toewijzingsmethode",
    DIST_M: "afstand (m)",
    INSTALLED_MVA: "geinstalleerd vermogen (MVA)",
    FIRM_CAPACITY_MVA: "vaste capaciteit (MVA)",
    REINFORCEMENT_MVA: "netverzwaring (MVA)",
    CAPACITY_MW: "capaciteit (MW)",
    EXISTING_LOAD_MW: "bestaande belasting (MW)",
    RESERVED_MW: "gereserveerd (MW)",
    PEAK_MW: "fysieke piek (MW)",
    OPERATOR_AVAILABLE_MVA: "beschikbaar volgens netbeheerder (MVA)",
    NEW_LOAD_MW: "nieuwe vraag (MW)",
    LOAD_MW: "belasting (MW)",
    HEADROOM_MW: "ruimte (MW)",
    UTILISATION: "benuttingsgraad",
    STATUS: "status",
    STATUS_LABEL: "status (omschrijving)",
    FIRM_RULE: "storingsreserve",
    FIRST_SHORTFALL_YEAR: "eerste jaar tekort",
}

ALIASES_NL.update({
    # the basis of each station's projection (published.StationBasis) and the operators' forecast beside ours
    "reference_date": "peildatum",
    "counted_from_year": "telt mee vanaf",
    "existing": "bestaand (in de cijfers van de netbeheerder)",
    "curtailable_offtake_mw": "afschakelbare afname (MW)",
    "curtailable_feedin_mw": "afschakelbare invoeding (MW)",
    "existing_offtake_mw": "bestaande afname (MW)",
    "existing_feedin_mw": "bestaande invoeding (MW)",
    "basis_note": "toelichting uitgangspunt",
    **{k: v for d, nl in ((OFFTAKE, "afname"), (FEEDIN, "invoeding")) for k, v in {
        f"reserved_{d}_mva": f"gereserveerd {nl} (MVA)",
        f"peak_{d}_mw_at_reference": f"fysieke piek {nl} op peildatum (MW)",
        f"peak_{d}_source": f"bron fysieke piek {nl}",
        f"unserved_queue_{d}_mva": f"niet bediende wachtrij {nl} (MVA)",
        f"unserved_queue_{d}_from_year": f"wachtrij {nl} vanaf",
    }.items()},
    "name": "naam",
    "operator": "netbeheerder",
    "horizon_years": "jaren na peildatum",
    "ours_available_mva": "beschikbaar volgens spatialprog (MVA)",
    "difference_mva": "verschil (MVA)",
    "operator_change_mva": "verandering netbeheerder (MVA)",
    "ours_change_mva": "verandering spatialprog (MVA)",
    "operator_trend": "richting netbeheerder",
    "ours_trend": "richting spatialprog",
    "trends_agree": "richting gelijk",
    "ours_investments_mva": "investeringen spatialprog (MVA)",
    "ours_unserved_queue_mva": "wachtrij spatialprog (MVA)",
    "ours_growth_mva": "groei piek spatialprog (MVA)",
    "explained_by": "verklaring",
    "ours_with_plans_available_mva": "beschikbaar met plannen (MVA)",
    "operator_overload_year": "verwacht jaar overbelasting netbeheerder",
    "ours_first_shortfall_year": "eerste jaar tekort spatialprog",
    # assignment and notices
    "max_shortfall_mw": "grootste tekort (MW)",
    "source": "bron",
    "level": "niveau",
    "feature": "object",
    "field": "veld",
    "message": "melding",
    "fix": "oplossing",
    "substation_ids": "onderstations",
    "n_substations": "aantal onderstations",
    "assignment_method": "toewijzingsmethode",
    # land-claim conflicts
    "conflict_id": "conflict-id",
    "rule_id": "regel",
    "kind": "soort",
    "severity": "ernst",
    "severity_rank": "ernst (rangorde)",
    "description_nl": "omschrijving",
    "layer_a": "laag A",
    "id_a": "object A",
    "layer_b": "laag B",
    "id_b": "object B",
    "area_m2": "overlap (m2)",
    "share_a": "aandeel van A",
    "share_b": "aandeel van B",
    "rule_distance_m": "afstand volgens regel (m)",
    "n_conflicts": "aantal conflicten",
    "worst_severity": "zwaarste ernst",
    "conflict_rules": "conflictregels",
    "n_rules": "aantal regels",
    # ranking and programme
    "rank": "rang",
    "programme_rank": "rang in programma",
    "score": "score",
    "explanation": "toelichting",
    "in_programme": "in programma",
    "intervention": "maatregel",
    "transformer_step": "transformatorstap",
    "short_directions": "richtingen met tekort",
    "shortfall_offtake_mw": "tekort afname (MW)",
    "shortfall_feedin_mw": "tekort invoeding (MW)",
    "need_mva": "benodigd vermogen (MVA)",
    "added_installed_mva": "extra geinstalleerd vermogen (MVA)",
    "added_firm_mva": "extra vaste capaciteit (MVA)",
    "n_new_stations": "aantal nieuwe stations",
    "land_m2": "ruimtebeslag (m2)",
    "land_reserved": "grond gereserveerd",
    "lead_time_years": "doorlooptijd (jaren)",
    "needed_by_year": "nodig uiterlijk",
    "late_years": "jaren te laat",
    "dwellings_waiting": "wachtende woningen",
    "jobs_waiting": "wachtende arbeidsplaatsen",
    "offtake_mw_waiting": "wachtende afname (MW)",
    "feedin_mw_waiting": "wachtende invoeding (MW)",
    "n_sites_waiting": "aantal wachtende locaties",
    "note": "opmerking",
    "regret_class": "spijtklasse",
    "criterion": "criterium",
    "weight": "gewicht",
    "direction_of_criterion": "richting criterium",
    "normalisation": "normalisatie",
    "scale_max": "schaalmaximum",
    "unit": "eenheid",
    "description": "omschrijving",
    "items": "onderdelen",
    "change_pct": "wijziging (%)",
    "weight_varied": "gevarieerd gewicht",
    "n_top_changed": "aantal verschoven in top",
    "n_entered_top": "aantal nieuw in top",
    "max_rank_shift": "grootste rangverschuiving",
    "top_after": "top na wijziging",
    "min_headroom_mw": "kleinste ruimte (MW)",
    "spread_mw": "spreiding (MW)",
    "n_variants_short": "aantal varianten met tekort",
    "variants_differ": "varianten verschillen",
    "n_variants": "aantal varianten",
    "n_variants_run": "aantal doorgerekende varianten",
    "variants": "varianten",
    "same_intervention": "zelfde maatregel",
    "no_regret_firm_mva": "geen-spijt vaste capaciteit (MVA)",
    "max_firm_mva": "grootste vaste capaciteit (MVA)",
    "earliest_needed_by_year": "vroegst nodig",
    "latest_needed_by_year": "laatst nodig",
    "per_variant": "per variant",
    "boundary_id": "gebied",
    "new_offtake_mw": "nieuwe afname (MW)",
    "new_feedin_mw": "nieuwe invoeding (MW)",
    "capacity_offtake_mw": "capaciteit afname (MW)",
    "load_offtake_mw": "belasting afname (MW)",
    "n_short_offtake": "aantal met tekort afname",
    "capacity_feedin_mw": "capaciteit invoeding (MW)",
    "load_feedin_mw": "belasting invoeding (MW)",
    "n_short_feedin": "aantal met tekort invoeding",
    "node_id": "hoogspanningsknooppunt",
    "n_substations_short": "aantal onderstations met tekort",
    "sum_load_mw": "som belasting (MW)",
    "coincidence": "gelijktijdigheid",
    "coincident_load_mw": "gelijktijdige belasting (MW)",
    "exceeds": "overschreden",
    "all_below_fit": "alle onderliggende passen",
    "flag": "signaal",
})

#: prefixes of per-criterion ranking columns (raw_X, score_X, contrib_X)
CRITERION_PREFIX_NL = {"raw_": "waarde", "score_": "score", "contrib_": "bijdrage"}

DIRECTION_NL = {OFFTAKE: "afname", FEEDIN: "invoeding"}
