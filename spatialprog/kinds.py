"""The registry of layer kinds: everything that differs per kind, in one place.

Each layer kind (substations, housing sites, charging hubs, ...) is one
:class:`LayerKind`: its schema (geometry type and columns with type, unit,
allowed values, bounds and a Dutch alias), its role in the computation, the
function that gives its demand, where that demand enters the grid, its map
colour and QGIS style, its Dutch title, whether it claims land (and so takes
part in the conflict rules, plus any rules of its own), its drawing order, and
how check-site reads a site of this kind.

Every consumer (reading, demand, assignment, outputs, the QGIS export, the
maps, check-site, the conflict rules) iterates :data:`LAYER_KINDS` and never
names a kind member by member, so a new kind is one :func:`register_kind` call
plus its data. The registry is ordered: the order of registration is the order
of reading and of processing.

The module is longer than most because it holds the declarations of the
built-in kinds: they are data (schemas, styles, check-site words), kept beside
the registry so everything that differs per kind is in one file.

Examples
--------
>>> [k.name for k in kinds_with_role("site")]  # doctest: +NORMALIZE_WHITESPACE
['housing_sites', 'industrial_zones', 'charging_hubs', 'heat_networks', 'generation', 'neighbourhoods',
 'heat_sources', 'conversion_assets']
>>> [(k.name, k.carrier) for k in kinds_with_role("node")]
[('hydrogen_stations', 'hydrogen'), ('gas_stations', 'gas')]
>>> LAYER_KINDS["housing_sites"].title_nl
'Woningbouwlocaties'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import conversion as C
from . import demand as D
from . import neighbourhoods as N
from .errors import NoticeLog, Problem, ProjectError, show
from .headroom import transformer_units

__all__ = [
    "Column",
    "StyleRule",
    "CheckOptions",
    "LayerKind",
    "LAYER_KINDS",
    "CONSTRAINT",
    "ROLES",
    "HEATING_TYPES",
    "register_kind",
    "unregister_kind",
    "kinds_with_role",
    "site_kinds",
    "claim_kinds",
    "check_kinds",
    "drawing_order",
    "iter_layers",
]

HEATING_TYPES = ("gas", "hybrid", "all_electric", "heat_network")
POINT = ("Point", "MultiPoint")
POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")

#: what a layer kind is for in the computation
ROLES = ("network", "node", "service_area", "site", "claim", "boundary", "constraint")


@dataclass(frozen=True)
class Column:
    """One column of a layer schema.

    Parameters
    ----------
    name : str
        Our field name (ASCII snake_case, unit in the name where it has one).
    dtype : {"str", "float", "int", "year"}
    required : bool
    unit : str, optional
    alias_nl : str
        Dutch alias shown to users (maps, QGIS).
    description : str
    allowed : tuple of str, optional
        Allowed values (for categorical columns).
    min, max : float, optional
        Inclusive bounds. An upper bound is a plausibility bound: a value
        beyond it is a typing or unit mistake (1e12 dwellings), not a plan.
    bound_note : str
        Why the bounds are what they are (shown in the message and in the
        layer reference).
    """

    name: str
    dtype: str
    required: bool = False
    unit: str | None = None
    alias_nl: str = ""
    description: str = ""
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    bound_note: str = ""


@dataclass(frozen=True)
class StyleRule:
    """How a layer kind is styled in QGIS.

    Parameters
    ----------
    method : {"categorized", "graduated", "single", "outline"}
    column : str, optional
        Column name; ``{year}`` is replaced by the last year for which the
        layer has such a column (``status_offtake_{year}``).
    palette : {"schema", "status", "severity"}
        Where categories and colours come from.
    label : str, optional
        Field shown as a label.
    """

    method: str
    column: str | None = None
    palette: str = "schema"
    label: str | None = None


#: the demand of a site layer: (sites, params, years, layers) -> one row per site and year
#: (:func:`spatialprog.demand.demand_frame`)
DemandFunction = Callable[[gpd.GeoDataFrame, Any, Sequence[int], Mapping[str, gpd.GeoDataFrame]], pd.DataFrame]
#: where each feature's demand enters the grid: (features, notices) -> array of geometries
PointFunction = Callable[[gpd.GeoDataFrame, NoticeLog], np.ndarray]
RowCheck = Callable[[gpd.GeoDataFrame, str, NoticeLog], list[Problem]]
#: reading of a kind's own before the types are read: (features, layer label, notices) -> problems; may
#: change the frame's columns in place (e.g. a transformer list '2x40' into units)
Prepare = Callable[[gpd.GeoDataFrame, str, NoticeLog], list[Problem]]


@dataclass(frozen=True)
class CheckOptions:
    """How check-site reads a site of this kind.

    Parameters
    ----------
    aliases : tuple of str
        Words a user may give as ``--kind`` (besides the kind's own name).
    word : str
        The kind in a sentence ("housing site").
    keys : tuple of str
        Programme fields that reveal this kind when ``--kind`` is not given.
    start_column : str
        The column a generic ``start_year`` goes to.
    end_column : str, optional
        The column a generic ``end_year`` goes to (None: the kind has no end year).
    recode : mapping
        Per column, Dutch words and spellings users type -> our values (lower case).
    assumptions : callable, optional
        ``row -> [parameter keys]``: the parameters that made the site's demand.
    min_values : mapping
        Per column, the least value a new site must have (a new site must add something).
    """

    aliases: tuple[str, ...] = ()
    word: str = "site"
    keys: tuple[str, ...] = ()
    start_column: str = "year"
    end_column: str | None = None
    recode: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    assumptions: Callable[[pd.Series], list[str]] | None = field(default=None, compare=False)
    min_values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerKind:
    """A kind of input layer: its schema and everything else that differs per kind.

    Parameters
    ----------
    name : str
        The key in the project file (``[layers.NAME]``), the layer name in
        results.gpkg and in the conflict rules.
    title_nl : str
        Dutch title on maps and in QGIS.
    description : str
    geometry : tuple of str
        Allowed geometry types.
    columns : tuple of Column
    role : str
        One of :data:`ROLES`: ``network`` (substations), ``service_area``,
        ``site`` (carries demand or feed-in), ``claim`` (claims land without
        demand), ``boundary``, ``constraint``.
    claims_land : bool
        Takes part in the land-claim conflicts.
    checks : tuple of callables
        Cross-field rules that one column cannot express.
    prepare : callable, optional
        Reading the kind's own notations before the types are read
        (:data:`Prepare`), e.g. transformer lists.
    demand : callable, optional
        A site kind's demand (:data:`DemandFunction`).
    demand_point : callable, optional
        Where its demand enters the grid when not at the feature itself
        (:data:`PointFunction`); check-site then reads the whole layer, as the
        point may lie far from the feature.
    read_with_margin : bool
        Read with a margin around the region (a zone reaching in still counts).
    colour : str
        Map colour (``#rrggbb``), away from the status colours.
    style : StyleRule, optional
        QGIS style (default: a single symbol).
    z : int
        Drawing order, higher on top.
    check : CheckOptions, optional
        Set for kinds check-site can check.
    conflict_rules : tuple of mapping
        Land-claim rules the kind brings (rows of the rules table, see
        ``data/conflict_rules.csv``); the project's overrides apply after them.
    carrier : str
        The energy carrier of a ``node`` kind's capacity (:mod:`spatialprog.carriers`).
    """

    name: str
    title_nl: str
    description: str
    geometry: tuple[str, ...]
    columns: tuple[Column, ...]
    role: str = "site"
    claims_land: bool = False
    checks: tuple[RowCheck, ...] = field(default=(), compare=False)
    prepare: Prepare | None = field(default=None, compare=False)
    demand: DemandFunction | None = field(default=None, compare=False)
    demand_point: PointFunction | None = field(default=None, compare=False)
    read_with_margin: bool = False
    colour: str = "#333333"
    style: StyleRule | None = None
    z: int = 30
    check: CheckOptions | None = None
    conflict_rules: tuple[Mapping[str, Any], ...] = ()
    carrier: str = "electricity"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"layer kind {self.name}: role '{self.role}' is not one of {', '.join(ROLES)}")
        if self.role == "site" and self.demand is None:
            raise ValueError(f"layer kind {self.name}: a site kind needs a demand function")
        if self.role == "site":  # every site kind can say which of its features are already connected
            have = {c.name for c in self.columns}
            object.__setattr__(self, "columns", self.columns + tuple(c for c in EXISTING_COLUMNS if c.name not in have))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def aliases_nl(self) -> dict[str, str]:
        return {c.name: c.alias_nl for c in self.columns}

    @property
    def is_polygonal(self) -> bool:
        return bool(set(self.geometry) & set(POLYGON))

    def point_of_entry(self, features: gpd.GeoDataFrame, notices: NoticeLog) -> np.ndarray:
        """The geometry at which each feature's demand enters the grid."""
        if self.demand_point is not None:
            return self.demand_point(features, notices)
        return np.asarray(features.geometry.values)


#: the columns every site kind has: whether a feature is already connected (its demand is in the operators'
#: figures: shown and counted in the scale sums, never added to the load a second time), and how firm its
#: connection is (demand.non_firm)
EXISTING_COLUMNS = (
    Column("status", "str", alias_nl="status", allowed=("existing", "planned"),
           description="existing (already connected: in the measured load) or planned (new demand, the default); "
                       "a constant for the whole layer with constants = { status = \"existing\" }."),
    Column("connection_date", "str", alias_nl="datum aansluiting",
           description="Date the feature was connected (YYYY-MM-DD or a year): existing where on or before its "
                       "substation's reference date, new load from then on where after it."),
    Column("firm_share", "float", alias_nl="vast deel aansluiting", min=0, max=1,
           description="A flexible (non-firm) connection: the share of its electricity the operator may not "
                       "curtail at the grid peak; it counts at this share in headroom (blank: 1, firm)."),
)


def _id(alias: str = "id") -> Column:
    return Column("id", "str", True, alias_nl=alias, description="Unique id of the feature within the layer.")


def _name() -> Column:
    return Column("name", "str", alias_nl="naam", description="Name shown on maps and in tables.")


# --------------------------------------------------------------------------------------
# row checks (cross-field rules that one column cannot express)


def _ids(gdf: gpd.GeoDataFrame) -> pd.Series:
    return gdf["id"].astype(str) if "id" in gdf else pd.Series(gdf.index.astype(str), index=gdf.index)


# plausibility bounds (MVA, MW per substation or site): the largest Dutch HV/MV substations carry a few hundred
# MVA (VIVET, 282 stations: at most 490 MVA); a 380 kV TenneT station 1,500-2,000 MVA
_STATION_MVA = 2000.0
_STATION_NOTE = "per substation; VIVET's 282 stations have at most 490 MVA"
_UNIT_MVA = 1000.0
_UNIT_NOTE = ("per transformer; assumption: HV/MV units are 20-80 MVA (DOMAIN.md's examples), 380/150 kV units "
              "about 500 MVA")
_MAX_UNITS = 20
_UNITS_NOTE = "assumption: the largest Dutch HV/MV stations have 4-6 transformers"
_SITE_MW = 2000.0
_SITE_NOTE = "per site; an offshore wind landing such as IJmuiden Ver Alpha is 2,000 MW"
#: text in transformer_mva that is a list of units rather than one rating
_UNIT_LIST = re.compile(r"[;+/x\u00d7*]", re.I)


def _transformer_units(gdf: gpd.GeoDataFrame, layer: str, notices: NoticeLog) -> list[Problem]:
    """Transformer lists (``'40;40'``, ``'2x40'``, ``'2 x 40 + 63'``) read as units, before the types.

    The units go to ``transformer_units_mva`` (as ``'40;40;63'``); ``n_transformers``
    becomes their number and ``transformer_mva`` their rating when all are equal
    (empty otherwise). :func:`spatialprog.headroom.firm_capacity` takes installed =
    the sum, N-1 = installed minus the largest.
    """
    if "transformer_mva" not in gdf and "transformer_units_mva" not in gdf:
        return []
    src = gdf.attrs.get("source_columns", {})
    ids = _ids(gdf)
    given = gdf["transformer_units_mva"] if "transformer_units_mva" in gdf else pd.Series(None, index=gdf.index)
    rating = gdf["transformer_mva"] if "transformer_mva" in gdf else pd.Series(None, index=gdf.index)
    counts = gdf["n_transformers"] if "n_transformers" in gdf else pd.Series(None, index=gdf.index)
    out_units = pd.Series(None, index=gdf.index, dtype=object)
    out_rating = rating.astype(object).copy()
    out_count = counts.astype(object).copy()
    probs: list[Problem] = []
    read = []
    for i in gdf.index:
        text, column = None, None
        if isinstance(given[i], str) and given[i].strip():
            text, column = given[i], "transformer_units_mva"
        elif isinstance(rating[i], str) and _UNIT_LIST.search(rating[i]) and _plain_number(rating[i]) is None:
            text, column = rating[i], "transformer_mva"
        if text is None:
            continue
        problem = _read_units(text, column, counts[i], rating[i])
        if isinstance(problem, Problem):
            probs.append(Problem(layer, problem.message, ids[i], problem.field or column,
                                 src.get(problem.field or column), fix=problem.fix))
            if column == "transformer_mva":
                out_rating[i] = None  # reported once, here, not again as "not a number"
            continue
        units = problem
        if not units:
            continue
        out_units[i] = ";".join(f"{u:g}" for u in units)
        out_count[i] = len(units)
        out_rating[i] = units[0] if len(set(units)) == 1 else None
        read.append((ids[i], text, out_units[i]))
    if read or probs:
        gdf["transformer_units_mva"] = out_units
        gdf["transformer_mva"] = out_rating
        gdf["n_transformers"] = out_count
    if read:
        fid, text, units = read[0]
        notices.add(layer, f"transformer lists read as units for {len(read)} substation{'s' if len(read) > 1 else ''} "
                    f"(e.g. {fid}: {show(text)} -> {units} MVA); firm N-1 capacity is installed minus the largest",
                    field="transformer_units_mva", level="info")
    return probs


_UNITS_FIX = "write one rating per transformer in MVA, e.g. '2x40', '40;40' or '40+63'"


def _read_units(text: str, column: str, count, rating) -> tuple[float, ...] | Problem:
    """The units of one transformer list, or what is wrong with it (a Problem without layer and feature)."""
    try:
        units = transformer_units(text)
    except ValueError as e:
        return Problem("", f"value {show(text)} is not a transformer rating or a list of them ({e})", fix=_UNITS_FIX)
    if len(units) > _MAX_UNITS:
        return Problem("", f"{show(text)} lists {len(units)} transformers, more than the plausible maximum "
                           f"{_MAX_UNITS} ({_UNITS_NOTE})", fix="check the value")
    bad = [u for u in units if not 0 < u <= _UNIT_MVA]
    if bad:
        return Problem("", f"{show(text)} has a transformer of {bad[0]:g} MVA; a transformer must be above 0 and at "
                           f"most {_UNIT_MVA:g} MVA ({_UNIT_NOTE})", fix=_UNITS_FIX)
    n_given = _plain_number(count)
    if n_given is not None and n_given != len(units):
        return Problem("", f"n_transformers is {n_given:g} but {column} {show(text)} lists {len(units)} transformers",
                       field="n_transformers", fix="make them agree, or leave n_transformers empty")
    r_given = _plain_number(rating) if column == "transformer_units_mva" else None
    if r_given is not None and (len(set(units)) > 1 or r_given != units[0]):
        return Problem("", f"transformer_mva is {r_given:g} but transformer_units_mva is {show(text)}",
                       field="transformer_mva", fix="give the units in one of the two columns")
    return units


def _plain_number(v) -> float | None:
    """A cell as a number (text with a decimal comma too), or None."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        return None if np.isnan(v) else float(v)
    t = str(v).strip().replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def _check_substation_capacity(gdf: gpd.GeoDataFrame, layer: str, notices: NoticeLog) -> list[Problem]:
    probs = []
    has = lambda c: gdf[c].notna() if c in gdf else pd.Series(False, index=gdf.index)  # noqa: E731
    col = lambda c: gdf[c].astype(float) if c in gdf else pd.Series(np.nan, index=gdf.index)  # noqa: E731
    listed = has("transformer_units_mva")
    transformers = (has("n_transformers") & has("transformer_mva")) | listed
    ok = transformers | has("installed_mva") | has("firm_offtake_mva")
    for fid in _ids(gdf)[~ok]:
        probs.append(
            Problem(layer, "no capacity given", fid, "installed_mva",
                    fix="give n_transformers and transformer_mva, or installed_mva, or firm_offtake_mva")
        )
    # the capacity as firm_capacity reads it: the units, else n x rating, else installed; a published firm wins
    units = gdf["transformer_units_mva"].map(lambda v: sum(transformer_units(v)) if isinstance(v, str) else np.nan) \
        if "transformer_units_mva" in gdf else pd.Series(np.nan, index=gdf.index)
    installed = units.astype(float).where(listed, (col("n_transformers") * col("transformer_mva")))
    installed = installed.where(installed.notna(), col("installed_mva"))
    capacity = col("firm_offtake_mva").where(has("firm_offtake_mva"), installed)
    ids = _ids(gdf)
    for i in gdf.index[installed > _STATION_MVA]:
        probs.append(Problem(layer, f"the transformers add up to {installed[i]:g} MVA, above the plausible maximum "
                                    f"{_STATION_MVA:g} MVA ({_STATION_NOTE})", ids[i], "transformer_mva",
                             fix="check n_transformers and transformer_mva (a rating per transformer, not the total)"))
    # a planned station: an investment that adds offtake (both directions, or offtake alone)
    planned = pd.Series(False, index=gdf.index)
    year = pd.Series(np.nan, index=gdf.index)
    added = pd.Series(np.nan, index=gdf.index)
    for prefix in ("reinforcement_offtake", "reinforcement"):
        p = has(f"{prefix}_year") & (col(f"{prefix}_mva").fillna(0) > 0)
        year, added = year.where(~p, col(f"{prefix}_year")), added.where(~p, col(f"{prefix}_mva"))
        planned |= p
    for i in gdf.index[(capacity == 0) & planned]:
        notices.add(layer, f"capacity 0 MVA: read as a planned station, in service with its reinforcement in "
                    f"{int(year[i])} (+{added[i]:g} MVA); until then nothing can connect to it", feature=ids[i],
                    field="firm_offtake_mva", level="warning")
    for i in gdf.index[(capacity == 0) & ~planned]:
        probs.append(Problem(layer, "the substation has 0 MVA capacity and no planned reinforcement: nothing could "
                                    "ever connect to it", ids[i], "firm_offtake_mva" if has("firm_offtake_mva")[i]
                             else "installed_mva",
                             fix="give its capacity; for a planned station give reinforcement_year and "
                                 "reinforcement_mva; leave a decommissioned station out of the layer"))
    load_ok = has("peak_offtake_mw") | (has("available_offtake_mva") & (has("firm_offtake_mva") | transformers | has("installed_mva")))
    for fid in _ids(gdf)[~load_ok]:
        probs.append(
            Problem(layer, "no current load given", fid, "peak_offtake_mw",
                    fix="give peak_offtake_mw, or available_offtake_mva (current headroom) with the capacity")
        )
    # an investment with only a year or only MVA is reported where it is read (published.investment_table)
    return probs


def _check_housing_phasing(gdf: gpd.GeoDataFrame, layer: str, notices: NoticeLog) -> list[Problem]:
    probs = []
    ids = _ids(gdf).to_numpy()
    n = len(gdf)
    missing = pd.Series(np.nan, index=gdf.index)
    ph = gdf["phasing"].to_numpy(dtype=object) if "phasing" in gdf else np.full(n, None, dtype=object)
    start = pd.to_numeric(gdf.get("delivery_start_year", missing), errors="coerce").to_numpy(dtype="float64")
    end = pd.to_numeric(gdf.get("delivery_end_year", missing), errors="coerce").to_numpy(dtype="float64")
    dwellings = pd.to_numeric(gdf.get("dwellings", missing), errors="coerce").to_numpy(dtype="float64")
    given = np.array([isinstance(v, str) and bool(v.strip()) for v in ph], dtype=bool)
    for i in np.flatnonzero(given):  # the phasing strings, parsed one by one (the rest is vectorised)
        try:
            total = sum(D.parse_phasing(ph[i]).values())
        except ValueError as e:
            probs.append((i, Problem(layer, str(e), ids[i], "phasing",
                                     fix="write the phasing as YEAR:DWELLINGS pairs, e.g. '2027:120;2028:80'")))
            continue
        if not np.isnan(dwellings[i]) and abs(total - dwellings[i]) > 0.5:
            probs.append((i, Problem(layer, f"phasing adds up to {total:g} dwellings but dwellings is "
                                            f"{dwellings[i]:g}", ids[i], "phasing",
                                     fix="make the phasing add up to the number of dwellings")))
    bad = ~given & np.isnan(start)
    for i in np.flatnonzero(bad):
        probs.append((i, Problem(layer, "no delivery phasing given", ids[i], "delivery_start_year",
                                 fix="give delivery_start_year (and delivery_end_year), or a phasing like "
                                     "'2027:120;2028:80'")))
    with np.errstate(invalid="ignore"):
        swapped = ~given & ~bad & (end < start)
    for i in np.flatnonzero(swapped):
        probs.append((i, Problem(layer, f"delivery_end_year {int(end[i])} is before delivery_start_year "
                                        f"{int(start[i])}", ids[i], "delivery_end_year",
                                 fix="swap or correct the years")))
    return [p for _, p in sorted(probs, key=lambda t: t[0])]  # in feature order, as the layer reads


def _check_heat_source(gdf: gpd.GeoDataFrame, layer: str, notices: NoticeLog) -> list[Problem]:
    probs = []
    if "source_x_m" in gdf and "source_y_m" in gdf:
        half = gdf["source_x_m"].notna() ^ gdf["source_y_m"].notna()
        for fid in _ids(gdf)[half]:
            probs.append(Problem(layer, "the source location needs both x and y", fid, "source_x_m",
                                 fix="fill both source_x_m and source_y_m (working CRS), or neither"))
    return probs


# --------------------------------------------------------------------------------------
# the parameters behind a checked site's demand (check-site lists them with their sources)


def _housing_assumptions(row: pd.Series) -> list[str]:
    keys = [f"demand.dwelling_kw.{row['heating']}", "demand.ev_kw_per_ev"]
    if pd.isna(row.get("ev_share")):
        keys.append("demand.ev_share_default")
    return keys + ["housing.delay_years", "housing.delivery_share"]


def _industrial_assumptions(row: pd.Series) -> list[str]:
    if pd.isna(row.get("contracted_mw")):
        return [f"demand.business_park_mw_per_ha.{row['category']}", "demand.business_park_rampup_years"]
    return []


def _charging_assumptions(row: pd.Series) -> list[str]:
    return [f"demand.charging_simultaneity.{row['segment']}"]


def _generation_assumptions(row: pd.Series) -> list[str]:
    return [f"generation.feedin_factor.{row['technology']}"]


# --------------------------------------------------------------------------------------
# the layer kinds

SUBSTATIONS = LayerKind(
    name="substations",
    title_nl="Onderstations",
    description="Existing HV/MV substations (points) with capacity and current peak load.",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("operator", "str", alias_nl="netbeheerder", description="Grid operator."),
        Column("voltage_kv", "str", unit="kV", alias_nl="spanningsniveau (kV)",
               description="Voltage levels, e.g. '150/20'. The highest decides whether N-1 applies."),
        Column("n_transformers", "int", unit="count", alias_nl="aantal transformatoren", min=1, max=_MAX_UNITS,
               bound_note=_UNITS_NOTE, description="Number of installed transformers."),
        Column("transformer_mva", "float", unit="MVA", alias_nl="vermogen per transformator (MVA)", min=0,
               max=_UNIT_MVA, bound_note=_UNIT_NOTE,
               description="Rating of each transformer; a list of units ('2x40', '40;40', '40+63') is read into "
                           "transformer_units_mva."),
        Column("transformer_units_mva", "str", unit="MVA", alias_nl="transformatoren (MVA)",
               description="The rating of each transformer, e.g. '40;40;63' (also '2x40+63'), where they differ; "
                           "installed = the sum, N-1 = installed minus the largest. ('/' is refused: it separates "
                           "voltages.)"),
        Column("installed_mva", "float", unit="MVA", alias_nl="geinstalleerd vermogen (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE,
               description="Total installed capacity, where transformers are not given."),
        Column("firm_offtake_mva", "float", unit="MVA", alias_nl="vaste capaciteit afname (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE, description="Firm offtake capacity as published by the operator; overrides the N-1 computation."),
        Column("firm_feedin_mva", "float", unit="MVA", alias_nl="vaste capaciteit invoeding (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE, description="Firm feed-in capacity as published by the operator."),
        Column("peak_offtake_mw", "float", unit="MW", alias_nl="huidige piekafname (MW)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE, description="Current peak offtake (base year)."),
        Column("peak_feedin_mw", "float", unit="MW", alias_nl="huidige piekinvoeding (MW)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE, description="Current peak feed-in (base year)."),
        Column("available_offtake_mva", "float", unit="MVA", alias_nl="beschikbare capaciteit afname (MVA)",
               min=-_STATION_MVA, max=_STATION_MVA, bound_note=_STATION_NOTE,
               description="Offtake capacity still free for new requests at the reference date, as published: "
                           "capacity minus what contracts and the queue reserve (not a measured peak)."),
        Column("available_feedin_mva", "float", unit="MVA", alias_nl="beschikbare capaciteit invoeding (MVA)",
               min=-_STATION_MVA, max=_STATION_MVA, bound_note=_STATION_NOTE,
               description="Feed-in capacity still free at the reference date, as published."),
        Column("reserved_offtake_mva", "float", unit="MVA", alias_nl="gereserveerd afname (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE,
               description="Offtake capacity reserved by contracts and the queue, where published; else capacity "
                           "minus available_offtake_mva."),
        Column("reserved_feedin_mva", "float", unit="MVA", alias_nl="gereserveerd invoeding (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE,
               description="Feed-in capacity reserved by contracts and the queue, where published."),
        *(Column(f"available_{d}_{h}y_mva", "float", unit="MVA",
                 alias_nl=f"verwachte beschikbare capaciteit {nl} over {h} jaar (MVA)", min=-_STATION_MVA,
                 max=_STATION_MVA, bound_note=_STATION_NOTE,
                 description=f"The operator's own forecast of available {d} capacity {h} years after the "
                             "reference date.")
          for d, nl in (("offtake", "afname"), ("feedin", "invoeding")) for h in (3, 5, 10)),
        Column("overload_year_offtake", "str", alias_nl="verwacht jaar overbelasting afname",
               description="The operator's expected year of offtake overload, as published ('>2035' kept as text)."),
        Column("overload_year_feedin", "str", alias_nl="verwacht jaar overbelasting invoeding",
               description="The operator's expected year of feed-in overload, as published."),
        Column("reinforcement_year", "year", alias_nl="jaar netverzwaring",
               description="Year a planned reinforcement comes into service (adds to offtake and feed-in)."),
        Column("reinforcement_mva", "float", unit="MVA", alias_nl="netverzwaring (MVA)", min=0,
               max=_STATION_MVA, bound_note=_STATION_NOTE, description="Firm capacity the planned reinforcement adds."),
        *(c for d, nl in (("offtake", "afname"), ("feedin", "invoeding")) for c in (
            Column(f"reinforcement_{d}_year", "year", alias_nl=f"jaar investering {nl}",
                   description=f"Year a planned investment in {d} capacity comes into service."),
            Column(f"reinforcement_{d}_mva", "float", unit="MVA", alias_nl=f"investering {nl} (MVA)", min=0,
                   max=_STATION_MVA, bound_note=_STATION_NOTE,
                   description=f"{d.capitalize()} capacity the planned investment adds."))),
        Column("higher_level_id", "str", alias_nl="voedend station",
               description="The HV station or TenneT node that feeds this substation."),
        Column("reference_date", "str", alias_nl="peildatum",
               description="Date the station's figures were fixed (YYYY-MM-DD); the projection adds only what "
                           "happens after it. Blank: the project's base year."),
    ),
    role="network",
    claims_land=True,
    checks=(_check_substation_capacity,),
    prepare=_transformer_units,
    colour="#202020",
    style=StyleRule("categorized", "status_offtake_{year}", "status", label="name"),
    z=90,
)

SERVICE_AREAS = LayerKind(
    name="service_areas",
    title_nl="Voedingsgebieden",
    description="Supply areas (polygons): which substation serves where. Optional: derived from the substations when absent.",
    geometry=POLYGON,
    columns=(
        _id(),
        Column("substation_id", "str", True, alias_nl="onderstation", description="Id of the serving substation."),
    ),
    role="service_area",
    style=StyleRule("graduated", "headroom_offtake_mw_{year}"),
    z=0,
)

HOUSING_SITES = LayerKind(
    name="housing_sites",
    title_nl="Woningbouwlocaties",
    description="Housing development sites (polygons) with dwellings, phasing and heating.",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("dwellings", "int", True, unit="dwellings", alias_nl="aantal woningen", min=0, max=100_000,
               bound_note="per site; the largest Dutch VINEX sites have about 20,000-30,000 dwellings",
               description="Dwellings planned on the site."),
        Column("delivery_start_year", "year", alias_nl="start oplevering",
               description="First year of delivery (dwellings spread evenly to the end year)."),
        Column("delivery_end_year", "year", alias_nl="einde oplevering",
               description="Last year of delivery (defaults to the start year)."),
        Column("phasing", "str", alias_nl="fasering",
               description="Dwellings per year, e.g. '2027:120;2028:80'; overrides start/end years."),
        Column("heating", "str", True, alias_nl="verwarming", allowed=HEATING_TYPES,
               description="Heating: gas, hybrid, all_electric or heat_network."),
        Column("ev_share", "float", unit="EV/dwelling", alias_nl="aandeel elektrische auto's", min=0, max=3,
               description="EVs charging at home per dwelling; default from the parameters."),
        Column("municipality", "str", alias_nl="gemeente", description="Municipality (for sums per municipality)."),
        Column("priority_category", "str", alias_nl="maatschappelijke prioriteit",
               description="ACM societal-priority category of the demand, if any."),
    ),
    role="site",
    claims_land=True,
    checks=(_check_housing_phasing,),
    demand=D.housing_demand,
    colour="#1f4e9c",
    style=StyleRule("categorized", "heating"),
    z=20,
    check=CheckOptions(
        aliases=("housing", "woningbouw", "woningen"),
        word="housing site",
        keys=("dwellings", "heating", "ev_share", "phasing", "delivery_start_year", "delivery_end_year"),
        start_column="delivery_start_year",
        end_column="delivery_end_year",
        recode={"heating": {"hybride": "hybrid", "warmtenet": "heat_network", "all-electric": "all_electric",
                            "all electric": "all_electric", "volledig elektrisch": "all_electric",
                            "aardgas": "gas"}},
        assumptions=_housing_assumptions,
        min_values={"dwellings": 1},
    ),
)

INDUSTRIAL_ZONES = LayerKind(
    name="industrial_zones",
    title_nl="Bedrijventerreinen",
    description="Business parks (polygons): category, area, optional contracted MW, start year.",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("category", "str", True, alias_nl="categorie",
               description="Category; one of the demand.business_park_mw_per_ha parameters."),
        Column("area_ha", "float", unit="ha", alias_nl="oppervlakte (ha)", min=0, max=20_000,
               bound_note="per zone; the whole Port of Rotterdam is about 12,500 ha",
               description="Net area; computed from the geometry when absent."),
        Column("contracted_mw", "float", unit="MW", alias_nl="gecontracteerd vermogen (MW)", min=0, max=_SITE_MW,
               bound_note=_SITE_NOTE, description="Contracted transport capacity; replaces MW per hectare."),
        Column("start_year", "year", True, alias_nl="startjaar", description="Year the first companies connect."),
        Column("jobs", "int", unit="jobs", alias_nl="arbeidsplaatsen", min=0, max=500_000,
               bound_note="assumption: the largest Dutch employment areas (the Port of Rotterdam, Schiphol) have "
                          "under 100,000 direct jobs", description="Jobs on the park."),
        Column("municipality", "str", alias_nl="gemeente", description="Municipality."),
        Column("priority_category", "str", alias_nl="maatschappelijke prioriteit",
               description="ACM societal-priority category, if any."),
        Column("process_heat_mwth", "float", unit="MWth", alias_nl="proceswarmte (MWth)", min=0, max=_SITE_MW,
               bound_note=_SITE_NOTE,
               description="Process heat at peak; else area x demand.business_park_process_heat_mwth_per_ha."),
        Column("process_heat_carrier", "str", alias_nl="energiedrager proceswarmte",
               allowed=tuple(D.PROCESS_HEAT_CARRIERS),
               description="How the process heat is made: electric, hydrogen or gas (default: the parameter "
                           "demand.process_heat_carrier)."),
        Column("hydrogen_station_id", "str", alias_nl="waterstofstation",
               description="The hydrogen station the park connects to (else the nearest within reach)."),
        Column("gas_station_id", "str", alias_nl="gasstation",
               description="The gas station the park is served by (else the nearest within reach)."),
    ),
    role="site",
    claims_land=True,
    demand=D.industrial_demand,
    colour="#6a3d9a",
    style=StyleRule("categorized", "category"),
    z=10,
    check=CheckOptions(
        aliases=("industrial", "business_park", "bedrijventerrein"),
        word="business park",
        keys=("category", "area_ha", "contracted_mw", "jobs"),
        start_column="start_year",
        recode={"category": {"logistiek": "logistics", "lichte industrie": "light_industry",
                             "zware industrie": "heavy_industry", "kantoren": "offices", "gemengd": "mixed",
                             "light industry": "light_industry", "heavy industry": "heavy_industry"}},
        assumptions=_industrial_assumptions,
    ),
)

def _check_neighbourhoods(gdf: gpd.GeoDataFrame, layer: str, notices: NoticeLog) -> list[Problem]:
    probs = []
    ids = _ids(gdf)
    shares = [c for c in ("share_gas", "share_hybrid", "share_all_electric", "share_heat_network") if c in gdf]
    total = gdf[shares].astype(float).fillna(0.0).sum(axis=1) if shares else pd.Series(0.0, index=gdf.index)
    for i in gdf.index[total > 1.0 + 1e-6]:
        probs.append(Problem(layer, f"today's heating shares add up to {total[i]:g}, more than 1", ids[i],
                             shares[0], fix="give shares of dwellings that add up to 1 (or leave gas blank: the rest)"))
    if "transition_path" in gdf:
        today = [c for c in shares if c != "share_gas"]
        # today's shares as one array, read by position (a cell lookup per row and share cost 0.5 ms a row)
        now = gdf[today].astype(float).fillna(0.0).to_numpy() if today else np.zeros((len(gdf), 0))
        for pos, (i, text) in enumerate(gdf["transition_path"].items()):
            if not isinstance(text, str) or not text.strip():
                continue
            try:
                points = N.parse_transition(text)
            except ValueError as e:
                probs.append(Problem(layer, f"transition path: {e}", ids[i], "transition_path",
                                     fix="write e.g. '2030: all_electric=0.3, ev=0.4; 2040: all_electric=0.6'"))
                continue
            carried = {c[6:]: float(v) for c, v in zip(today, now[pos], strict=True)}
            for year, s in points.items():
                carried.update({k: v for k, v in s.items() if k != "ev"})
                if sum(carried.values()) > 1.0 + 1e-6:
                    probs.append(Problem(layer, f"transition path: the heating shares in {year} add up to "
                                                f"{sum(carried.values()):g}, more than 1", ids[i], "transition_path",
                                         fix="lower a share (a type not named keeps its earlier share)"))
                    break
    return probs


NEIGHBOURHOODS = LayerKind(
    name="neighbourhoods",
    title_nl="Bestaande wijken",
    description="Existing neighbourhoods (polygons, e.g. CBS buurten) with their dwellings, today's heating mix and a "
                "transition path by year (heat pumps, hybrids, heat networks, EVs).",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("dwellings", "int", True, unit="dwellings", alias_nl="aantal woningen", min=1, max=100_000,
               bound_note="a neighbourhood without dwellings has no transition to model; CBS buurten have up to a "
                          "few thousand", description="Existing dwellings."),
        *(Column(f"share_{h}", "float", alias_nl=f"aandeel {nl} nu", min=0, max=1,
                 description=f"Share of dwellings heated by {h.replace('_', ' ')} today"
                             + (" (blank: the rest)." if h == "gas" else "."))
          for h, nl in (("gas", "gas"), ("hybrid", "hybride"), ("all_electric", "all-electric"),
                        ("heat_network", "warmtenet"))),
        Column("ev_share", "float", unit="EV/dwelling", alias_nl="elektrische auto's per woning nu", min=0, max=3,
               description="EVs charging at home per dwelling today."),
        Column("transition_path", "str", alias_nl="transitiepad",
               description="Target shares by year, e.g. '2030: all_electric=0.3, ev=0.4; 2040: all_electric=0.6, "
                           "heat_network=0.2' (linear in between; a variant changes it through its changes)."),
        Column("heat_network_id", "str", alias_nl="warmtenet",
               description="The heat network its dwellings move to (else the one it lies in)."),
        Column("municipality", "str", alias_nl="gemeente", description="Municipality."),
    ),
    role="site",
    checks=(_check_neighbourhoods,),
    demand=N.neighbourhood_demand,
    colour="#8c8c8c",
    style=StyleRule("outline", label="name"),
    z=5,
)

CHARGING_HUBS = LayerKind(
    name="charging_hubs",
    title_nl="Laadpleinen",
    description="EV charging hubs (points): charge points, kW each, year, passenger or freight.",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("charge_points", "int", True, unit="points", alias_nl="aantal laadpunten", min=1, max=10_000,
               bound_note="per hub; assumption: the largest Dutch charging hubs have a few hundred points",
               description="Number of charge points."),
        Column("kw_per_point", "float", True, unit="kW", alias_nl="vermogen per laadpunt (kW)", min=0, max=3750,
               bound_note="the Megawatt Charging System (MCS) goes up to 3.75 MW per point",
               description="Power per charge point."),
        Column("year", "year", True, alias_nl="jaar ingebruikname", description="Year in service."),
        Column("segment", "str", True, alias_nl="doelgroep", allowed=("passenger", "freight"),
               description="passenger or freight."),
        Column("municipality", "str", alias_nl="gemeente", description="Municipality."),
    ),
    role="site",
    claims_land=True,
    demand=D.charging_demand,
    colour="#008b8b",
    style=StyleRule("categorized", "segment"),
    z=80,
    check=CheckOptions(
        aliases=("charging", "laadplein"),
        word="charging hub",
        keys=("charge_points", "kw_per_point", "segment"),
        start_column="year",
        recode={"segment": {"personen": "passenger", "vracht": "freight", "personenauto": "passenger"}},
        assumptions=_charging_assumptions,
    ),
)

HEAT_NETWORKS = LayerKind(
    name="heat_networks",
    title_nl="Warmtenetten",
    description="Heat networks (polygon = supply area) with start year and the electric load of the source.",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("start_year", "year", True, alias_nl="startjaar", description="Year the network starts supplying."),
        Column("source_load_mw", "float", True, unit="MW", alias_nl="elektrisch vermogen bron (MW)", min=0,
               max=_SITE_MW, bound_note=_SITE_NOTE, description="Electric load of the source (large heat pump, e-boiler); 0 for e.g. waste heat."),
        Column("source_x_m", "float", unit="m", alias_nl="bron x (m)",
               description="x of the source in the working CRS; the load lands at the substation serving it."),
        Column("source_y_m", "float", unit="m", alias_nl="bron y (m)", description="y of the source."),
        Column("source_kind", "str", alias_nl="type bron", description="e.g. large heat pump, e-boiler, waste heat."),
    ),
    role="site",
    claims_land=True,
    checks=(_check_heat_source,),
    demand=D.heat_network_demand,
    demand_point=D.heat_source_points,
    colour="#b15928",
    style=StyleRule("categorized", "source_kind"),
    z=40,
)

GENERATION = LayerKind(
    name="generation",
    title_nl="Duurzame opwek",
    description="Renewable generation (points or polygons): solar or wind, MW, year; feed-in.",
    geometry=POINT + POLYGON,
    columns=(
        _id(),
        _name(),
        Column("technology", "str", True, alias_nl="techniek", allowed=("solar", "wind")),
        Column("capacity_mw", "float", True, unit="MW", alias_nl="vermogen (MW)", min=0, max=_SITE_MW,
               bound_note=_SITE_NOTE, description="Installed power."),
        Column("year", "year", True, alias_nl="jaar ingebruikname", description="Year in service."),
    ),
    role="site",
    claims_land=True,
    demand=D.generation_feedin,
    check=CheckOptions(
        aliases=("solar", "wind", "opwek", "zonnepark", "zonneveld", "windpark"),
        word="generation site",
        keys=("technology", "capacity_mw"),
        start_column="year",
        recode={"technology": {"zon": "solar", "zonne-energie": "solar", "pv": "solar", "windenergie": "wind"}},
        assumptions=_generation_assumptions,
        min_values={"capacity_mw": 0.0},
    ),
    colour="#2b2b2b",
    style=StyleRule("categorized", "technology"),
    z=70,
)

BOUNDARIES = LayerKind(
    name="boundaries",
    title_nl="Gemeentegrenzen",
    description="Municipality (or province) boundaries: the region, and sums per municipality.",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("level", "str", alias_nl="niveau", allowed=("municipality", "province", "region"),
               description="municipality, province or region."),
    ),
    role="boundary",
    style=StyleRule("outline", label="name"),
    z=100,
)

SUBSTATION_RESERVES = LayerKind(
    name="substation_reserves",
    title_nl="Ruimtereserveringen onderstations",
    description="Land reserved for new or extended substations (polygons).",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
        Column("substation_id", "str", alias_nl="onderstation",
               description="The existing substation it extends, if any (empty for a new station)."),
        Column("status", "str", alias_nl="status reservering", description="e.g. verkenning, voorkeurslocatie, vastgesteld."),
    ),
    role="claim",
    claims_land=True,
    colour="#4d4d4d",
    z=50,
)

HV_LINES = LayerKind(
    name="hv_lines",
    title_nl="Hoogspanningslijnen",
    description="Overhead HV lines (lines) with their voltage; their magnetic-field zone depends on it.",
    geometry=LINE,
    columns=(
        _id(),
        _name(),
        Column("voltage_kv", "float", True, unit="kV", alias_nl="spanning (kV)", min=35, max=450,
               bound_note="the highest Dutch transmission voltage is 380 kV", description="Operating voltage; the zone width is looked up in data/distance_lookups.csv."),
    ),
    role="claim",
    claims_land=True,
    read_with_margin=True,
    colour="#5e3c99",
    z=60,
)

HYDROGEN_STATIONS = LayerKind(
    name="hydrogen_stations",
    title_nl="Waterstofstations",
    description="Connection points of the hydrogen network (points): capacity per direction (MW_H2, LHV) from "
                "their year in service.",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("capacity_offtake_mw", "float", True, unit="MW_H2", alias_nl="capaciteit afname (MW H2)", min=0,
               max=20_000, bound_note="assumption: a Hynetwork entry/exit point carries up to a few GW",
               description="Hydrogen that can be drawn (lower heating value)."),
        Column("capacity_feedin_mw", "float", unit="MW_H2", alias_nl="capaciteit invoeding (MW H2)", min=0,
               max=20_000, bound_note="assumption: as offtake",
               description="Hydrogen that can be delivered into the network (electrolysers)."),
        Column("year", "year", alias_nl="jaar ingebruikname", description="Year in service (blank: now)."),
        Column("network", "str", alias_nl="net", allowed=("national", "regional"),
               description="The national (Hynetwork) or a regional network."),
    ),
    role="node",
    carrier="hydrogen",
    claims_land=True,
    colour="#00a0b0",
    style=StyleRule("categorized", "status_offtake_{year}", "status", label="name"),
    z=88,
)

HYDROGEN_PIPELINES = LayerKind(
    name="hydrogen_pipelines",
    title_nl="Waterstofleidingen",
    description="Hydrogen pipelines (lines): their safety zone is a land claim.",
    geometry=LINE,
    columns=(
        _id(),
        _name(),
        Column("pressure_bar", "float", unit="bar", alias_nl="druk (bar)", min=0, max=100,
               bound_note="Hynetwork's transport pipelines run at up to about 66 bar", description="Design pressure."),
        Column("year", "year", alias_nl="jaar ingebruikname", description="Year in service."),
    ),
    role="claim",
    claims_land=True,
    read_with_margin=True,
    colour="#00a0b0",
    z=58,
    conflict_rules=({"rule_id": "R-H2-PIPE", "layer_a": "hydrogen_pipelines", "layer_b": "housing_sites",
                     "kind": "within_distance", "distance_m": 40, "severity": "hoog", "enabled": True,
                     "description_nl": "Woningbouw binnen de belemmeringsstrook / het invloedsgebied van een "
                                       "waterstofleiding",
                     "source": "assumption: 40 m around a high-pressure transport pipeline, the order of the "
                               "Bevb group-risk zone for gas pipelines of this size; check the pipeline's own "
                               "risk contour"},),
)

GAS_STATIONS = LayerKind(
    name="gas_stations",
    title_nl="Gasstations",
    description="Gas receiving stations and green-gas feed-in points (points): capacity per direction (MW_gas, LHV).",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("station_type", "str", alias_nl="soort station", allowed=("receiving", "green_gas_feedin"),
               description="receiving (gasontvangstation) or green_gas_feedin (invoedpunt groen gas)."),
        Column("capacity_offtake_mw", "float", unit="MW_gas", alias_nl="capaciteit afname (MW gas)", min=0,
               max=20_000, bound_note="assumption", description="Gas that can be drawn (lower heating value)."),
        Column("capacity_feedin_mw", "float", unit="MW_gas", alias_nl="capaciteit invoeding (MW gas)", min=0,
               max=20_000, bound_note="assumption", description="Green gas that can be fed in."),
        Column("year", "year", alias_nl="jaar ingebruikname", description="Year in service (blank: now)."),
    ),
    role="node",
    carrier="gas",
    colour="#c8a000",
    style=StyleRule("categorized", "status_offtake_{year}", "status", label="name"),
    z=87,
)

HEAT_SOURCES = LayerKind(
    name="heat_sources",
    title_nl="Warmtebronnen",
    description="Sources of heat networks (points): thermal capacity, technology, start year and the network they "
                "feed. A heat pump or e-boiler draws electricity at its substation; a CHP burns gas.",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("heat_network_id", "str", True, alias_nl="warmtenet", description="The heat network it feeds."),
        Column("technology", "str", True, alias_nl="techniek", allowed=C.HEAT_TECHNOLOGIES,
               description="heat_pump, e_boiler, chp, waste_heat or geothermal."),
        Column("capacity_mwth", "float", True, unit="MWth", alias_nl="thermisch vermogen (MWth)", min=0,
               max=_SITE_MW, bound_note=_SITE_NOTE, description="Heat it can deliver at peak."),
        Column("start_year", "year", True, alias_nl="startjaar",
               description="Year it starts supplying (may differ from its network's first dwellings)."),
        Column("cop", "float", unit="MWth/MWe", alias_nl="COP", min=0.5, max=10,
               bound_note="large heat pumps 3-4 (DOMAIN.md); e-boilers about 1",
               description="Coefficient of performance of a heat pump (else conversion.heat_pump_cop)."),
    ),
    role="site",
    demand=C.heat_source_demand,
    checks=(),
    colour="#e31a1c",
    z=84,
)

CONVERSION_ASSETS = LayerKind(
    name="conversion_assets",
    title_nl="Conversie en opslag",
    description="Conversion and storage assets (points): electrolysers, CHP plants and batteries, with their "
                "electric power and efficiency.",
    geometry=POINT,
    columns=(
        _id(),
        _name(),
        Column("technology", "str", True, alias_nl="techniek", allowed=C.CONVERSION_TECHNOLOGIES,
               description="electrolyser (electricity -> hydrogen), chp (gas -> electricity) or battery (storage)."),
        Column("power_mw", "float", True, unit="MWe", alias_nl="elektrisch vermogen (MW)", min=0, max=_SITE_MW,
               bound_note=_SITE_NOTE, description="Electric rating: drawn (electrolyser), delivered (CHP), or "
                                                  "either way (battery)."),
        Column("efficiency", "float", alias_nl="rendement", min=0.05, max=1.0,
               bound_note="a conversion cannot give more energy than it takes",
               description="Output per input (LHV); else conversion.electrolyser_efficiency / chp_electric_efficiency."),
        Column("year", "year", True, alias_nl="jaar ingebruikname", description="Year in service."),
        Column("hydrogen_station_id", "str", alias_nl="waterstofstation",
               description="The hydrogen station an electrolyser feeds (else the nearest within reach)."),
        Column("gas_station_id", "str", alias_nl="gasstation", description="The gas station a CHP draws from."),
    ),
    role="site",
    demand=C.conversion_demand,
    colour="#ff7f00",
    z=86,
)

CONSTRAINT = LayerKind(
    name="constraint",
    title_nl="Beperking",
    description="A constraint layer named in the project file under [constraints.NAME] (Natura 2000, water, flood "
                "zones, anything polygonal); ids are numbered when the file has none.",
    geometry=POLYGON,
    columns=(
        _id(),
        _name(),
    ),
    role="constraint",
)

# --------------------------------------------------------------------------------------
# the registry

#: every registered layer kind, in reading and processing order
LAYER_KINDS: dict[str, LayerKind] = {}


def register_kind(kind: LayerKind, *, replace: bool = False) -> LayerKind:
    """Add a layer kind to the registry (at the end of the processing order).

    Parameters
    ----------
    kind : LayerKind
    replace : bool
        Allow replacing a registered kind of the same name (keeps its place).

    Returns
    -------
    LayerKind
        ``kind``, so a module can write ``MY_KIND = register_kind(LayerKind(...))``.

    Raises
    ------
    ProjectError
        When a kind of that name is registered already (and ``replace`` is false).
    """
    if kind.name in LAYER_KINDS and not replace:
        raise ProjectError(f"layer kind '{kind.name}' is registered already - pick another name")
    if kind.name == CONSTRAINT.name:
        raise ProjectError(f"'{kind.name}' is reserved for [constraints.NAME] layers - pick another name")
    LAYER_KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove a layer kind from the registry (for plugins and tests)."""
    LAYER_KINDS.pop(name, None)


def kinds_with_role(*roles: str) -> list[LayerKind]:
    """The registered kinds with one of ``roles``, in processing order."""
    return [k for k in LAYER_KINDS.values() if k.role in roles]


def site_kinds() -> list[str]:
    """Names of the kinds that carry demand or feed-in, in processing order."""
    return [k.name for k in kinds_with_role("site")]


def claim_kinds() -> list[str]:
    """Names of the kinds that claim land (and so take part in the conflict rules)."""
    return [k.name for k in LAYER_KINDS.values() if k.claims_land]


def check_kinds() -> list[str]:
    """Names of the kinds check-site can check."""
    return [k.name for k in LAYER_KINDS.values() if k.check is not None]


def drawing_order(names: Sequence[str]) -> list[str]:
    """``names`` sorted for drawing, top first (by :attr:`LayerKind.z`; unknown names on top, by name)."""
    def key(n: str) -> tuple[int, str]:
        k = LAYER_KINDS.get(n)
        return (-(k.z if k is not None else 1000), n)

    return sorted(names, key=key)


def iter_layers(layers: Mapping[str, gpd.GeoDataFrame], *roles: str) -> Iterator[tuple[LayerKind, gpd.GeoDataFrame]]:
    """``(kind, frame)`` for each layer present in ``layers`` with one of ``roles``, in processing order."""
    for k in kinds_with_role(*roles):
        df = layers.get(k.name)
        if df is not None:
            yield k, df


for _k in (SUBSTATIONS, SERVICE_AREAS, HOUSING_SITES, INDUSTRIAL_ZONES, CHARGING_HUBS, HEAT_NETWORKS, GENERATION,
           NEIGHBOURHOODS,
           BOUNDARIES, SUBSTATION_RESERVES, HV_LINES, HYDROGEN_STATIONS, HYDROGEN_PIPELINES, GAS_STATIONS,
           HEAT_SOURCES, CONVERSION_ASSETS):
    register_kind(_k)
