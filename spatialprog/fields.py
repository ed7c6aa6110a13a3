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
    EXISTING_LOAD_MW,
    NEW_LOAD_MW,
    LOAD_MW,
    HEADROOM_MW,
    UTILISATION,
    STATUS,
    STATUS_LABEL,
]

# Dutch aliases for result columns (shown in maps, QGIS, spreadsheets)
ALIASES_NL: dict[str, str] = {
    ID: "id",
    LAYER: "laag",
    SITE_ID: "locatie-id",
    SUBSTATION_ID: "onderstation",
    VARIANT: "ontwikkelvariant",
    YEAR: "jaar",
    DIRECTION: "richting",
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
    NEW_LOAD_MW: "nieuwe vraag (MW)",
    LOAD_MW: "belasting (MW)",
    HEADROOM_MW: "ruimte (MW)",
    UTILISATION: "benuttingsgraad",
    STATUS: "status",
    STATUS_LABEL: "status (omschrijving)",
    FIRM_RULE: "storingsreserve",
    FIRST_SHORTFALL_YEAR: "eerste jaar tekort",
}

DIRECTION_NL = {OFFTAKE: "afname", FEEDIN: "invoeding"}
