"""The answer of a check: :class:`Verdict`, :class:`SiteCheck` and the JSON document.

A site fits in a year when, after adding its demand, every substation serving
it keeps headroom (not :func:`spatialprog.headroom.is_short`), or when the site
draws nothing yet that year. The verdict of a variant is:

``fits`` / "past"
    it fits in every horizon year;
``fits_from`` / "past vanaf JAAR"
    it does not fit in some year, but fits in every year from JAAR to the end
    of the horizon (typically thanks to a planned reinforcement);
``does_not_fit`` / "past niet binnen de horizon"
    it does not fit in the last horizon year;
``outside`` / "buiten het gebied"
    no substation of this project serves the site;
``after_horizon`` / "na de horizon"
    the site draws no power within the horizon, so nothing can be said.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import __version__
from .. import fields as F
from ..config import Project

__all__ = ["SCHEMA_ID", "VERDICTS", "Verdict", "SiteCheck", "project_info", "report_dict", "round_json"]

#: identifies the JSON document (bump on an incompatible change)
SCHEMA_ID = "spatialprog.sitecheck/1"

#: verdict key -> (Dutch, English); ``{year}`` is filled in for ``fits_from``
VERDICTS: dict[str, tuple[str, str]] = {
    "fits": ("past", "fits"),
    "fits_from": ("past vanaf {year}", "fits from {year}"),
    "does_not_fit": ("past niet binnen de horizon", "does not fit within the horizon"),
    "outside": ("buiten het gebied: geen onderstation van dit project bedient deze locatie",
                "outside the region: no substation of this project serves this site"),
    "after_horizon": ("na de horizon: de locatie vraagt binnen de horizon geen vermogen",
                      "beyond the horizon: the site draws no power within the horizon"),
}


def round_json(x: float | None, nd: int = 4) -> float | None:
    """Round for JSON; NaN becomes None.

    Examples
    --------
    >>> round_json(-0.00001), round_json(float("nan")), round_json(1.23456789, 2)
    (0.0, None, 1.23)
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd) + 0.0  # + 0.0: no "-0.0"




@dataclass(frozen=True)
class Verdict:
    """The answer for one variant, in words.

    Attributes
    ----------
    key : {"fits", "fits_from", "does_not_fit", "outside", "after_horizon"}
    year : int or None
        For ``fits_from``: the first year from which it fits through the horizon.
    nl, en : str
        ``"past vanaf 2030"`` / ``"fits from 2030"``.
    variant : str
    """

    key: str
    year: int | None
    nl: str
    en: str
    variant: str

    @classmethod
    def make(cls, key: str, year: int | None, variant: str) -> Verdict:
        nl, en = VERDICTS[key]
        return cls(key, year, nl.format(year=year), en.format(year=year), variant)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "year": self.year, "nl": self.nl, "en": self.en, "variant": self.variant}


@dataclass
class SiteCheck:
    """The full answer for one site: the same content as one entry of the JSON ``sites`` list.

    Attributes
    ----------
    site : dict
        id, name, layer, programme (validated fields), area, centroid, order.
    serving : list of dict
        ``substation_id, name, share, method, dist_m`` per serving substation.
    unassigned_share : float
        Share of the site no substation serves (1.0 outside the region).
    verdict : Verdict
        Of the first variant checked (the base variant unless chosen otherwise).
    variants : dict of str -> dict
        Per variant: ``direction`` (offtake, or feed-in for a site that only
        delivers), ``verdict``, ``first_fit_year``, ``max_short_mw``,
        ``short_years``, ``years`` (one dict per horizon year),
        ``alternatives`` (the nearest other substations with room for the whole
        site in every year) and ``connections`` (the site's other carriers and
        directions, each judged at its own nodes in its own unit).
    reinforcements : list of dict
        Planned reinforcements of the serving substations.
    conflicts : dict
        ``available`` (bool), ``message`` and ``items``.
    overlaps : list of dict
        Existing plans and other candidate sites the site overlaps.
    sees : list of str
        Ids of earlier sites (batch or what-if order) that load the same substations.
    notices : list of str
    assumptions : list of dict
        The parameters that made the site's demand, with unit and source.
    summary_nl, summary_en : str
        The answer in one paragraph.
    geometry : shapely geometry
        The site in the working CRS.
    project : dict
    options : list of dict
        For a business park with process heat: per ``process_heat_carrier``
        (electric, hydrogen, gas) the combined ``verdict``, its ``electricity``
        and its ``carrier_connection``.
    map_layers : dict
        For the map: ``areas`` (substation id -> service area) and
        ``substations`` ((id, name, point) of serving and alternative ones).
    """

    site: dict[str, Any]
    serving: list[dict[str, Any]]
    unassigned_share: float
    verdict: Verdict
    variants: dict[str, dict[str, Any]]
    reinforcements: list[dict[str, Any]]
    conflicts: dict[str, Any]
    overlaps: list[dict[str, Any]]
    sees: list[str]
    notices: list[str]
    assumptions: list[dict[str, Any]]
    summary_nl: str
    summary_en: str
    geometry: Any
    project: dict[str, Any]
    map_layers: dict[str, Any] = field(default_factory=dict, repr=False)
    #: for a business park: its process heat electric, on hydrogen or on gas, each judged (headline variant)
    options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        """True when the headline verdict is ``fits``."""
        return self.verdict.key == "fits"

    @property
    def first_fit_year(self) -> int | None:
        """First year from which the site fits through the horizon (headline variant)."""
        return self.variants[self.verdict.variant]["first_fit_year"]

    def to_dict(self) -> dict[str, Any]:
        """This site's entry of the JSON document (see :data:`JSON_SCHEMA`)."""
        return {
            "site": self.site,
            "verdict": self.verdict.to_dict(),
            "summary_nl": self.summary_nl,
            "summary_en": self.summary_en,
            "serving": self.serving,
            "unassigned_share": self.unassigned_share,
            "variants": self.variants,
            "reinforcements": self.reinforcements,
            "conflicts": self.conflicts,
            "overlaps": self.overlaps,
            "sees": self.sees,
            "notices": self.notices,
            "assumptions": self.assumptions,
            "options": self.options,
        }

    def to_json(self, **kw: Any) -> str:
        """The JSON document for this one site."""
        return json.dumps(report_dict([self]), ensure_ascii=False, **({"indent": 2} | kw))

    def table(self, variant: str | None = None) -> pd.DataFrame:
        """Per year: site MW, headroom before/after per serving substation, fits, MW short.

        Examples
        --------
        >>> from spatialprog.pipeline import compute, read_plan
        >>> from spatialprog.sitecheck import check_site
        >>> c = check_site(compute(read_plan("layers/example_region.toml")), "186150,437150,150",
        ...                {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "start_year": 2027})
        >>> row = c.table().set_index("year").loc[2028]
        >>> bool(row["fits"]), float(row["short_mw"])
        (False, 0.5152)
        """
        v = variant or self.verdict.variant
        rows = []
        for y in self.variants[v]["years"]:
            r = {"year": y["year"], "site_mw": y["site_mw"], "fits": y["fits"], "short_mw": y["short_mw"]}
            for s in y["substations"]:
                r[f"{s['substation_id']} before"] = s["headroom_before_mw"]
                r[f"{s['substation_id']} after"] = s["headroom_after_mw"]
            rows.append(r)
        return pd.DataFrame(rows)


def project_info(project: Project, baseline: Any) -> dict[str, Any]:
    """The project part of the JSON document (``baseline``: a :class:`~spatialprog.sitecheck.baseline.Baseline`)."""
    return {
        "name": project.name,
        "path": str(project.path) if project.path else None,
        "crs": project.crs,
        "base_year": project.base_year,
        "horizon": [int(project.years[0]), int(project.years[-1])],
        "fictional": bool(project.fictional),
        "variants": list(baseline.variants),
        "variant_descriptions": {v: project.variant_descriptions.get(v, "") for v in baseline.variants},
        "assignment_method": baseline.method,
        "read_bbox": [round(v, 1) for v in baseline.read_bbox] if baseline.read_bbox else None,
    }


def report_dict(checks: Sequence[SiteCheck]) -> dict[str, Any]:
    """The JSON document for checked sites (in their order); see :data:`JSON_SCHEMA`."""
    project = checks[0].project if checks else {}
    return {
        "schema": SCHEMA_ID,
        "generator": f"spatialprog {__version__}",
        "project": project,
        "direction": checks[0].variants[checks[0].verdict.variant].get("direction", F.OFFTAKE) if checks else F.OFFTAKE,
        "conflict_check": bool(checks[0].conflicts["available"]) if checks else False,
        "order": [c.site["id"] for c in checks],
        "sites": [c.to_dict() for c in checks],
    }


