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

#: prefixes of per-criterion ranking columns (raw_X, score_X, contrib_X)
CRITERION_PREFIX_NL = {"raw_": "waarde", "score_": "score", "contrib_": "bijdrage"}

DIRECTION_NL = {OFFTAKE: "afname", FEEDIN: "invoeding"}
