"""Does a new site fit on the grid, and from when?

The question a municipality asks most often while a plan is still being drawn:
*does this new neighbourhood (business park, charging hub) fit on the
electricity grid, and from which year?* This module answers it against a
computed baseline (a :class:`~spatialprog.pipeline.RunResult`), per horizon
year and per development variant:

* the substation(s) that would serve the site, split by area share when it
  straddles two service areas (:func:`spatialprog.network.assign_sites`);
* the site's own peak offtake per year, from its kind's demand function in the
  registry (:mod:`spatialprog.kinds`), the one the run calls;
* the offtake headroom before and after, its status class, the MW short;
* a verdict in plain Dutch and English (``"past"``, ``"past vanaf 2031"``,
  ``"past niet binnen de horizon"``) and the first year it fits given the
  planned reinforcements;
* the nearest other substations with headroom for the whole site in that year;
* its land-claim conflicts, from the run's conflicts engine with the project's
  rules, overrides and constraint layers.

check-site is *the run with the site added*: every number comes from the
functions the run uses (:mod:`spatialprog.sitecheck.evaluate` lists them), on
the whole plan or on the part of it near the site
(:func:`~spatialprog.sitecheck.near.read_plan_near`), and a property test
(tests/test_sitecheck_engine.py) checks that the answer equals a full run
with the site added.

The package, by concept:

``sites``
    reading the site (file, GeoJSON, WKT, x,y + radius) and its programme;
``near``
    reading only the part of the plan near the site;
``baseline``
    the run without the site, as the run's grid state;
``evaluate``
    the site's demand, assignment, headroom and conflicts, and the verdict;
``whatif``
    sessions of several sites in order, and :func:`check_site` / :func:`check_sites`;
``result``, ``wording``, ``report``
    the answer as objects and JSON, in words, and as an HTML page.

See :mod:`spatialprog.sitecheck.result` for the verdicts.

Examples
--------
>>> from spatialprog.pipeline import compute, read_plan
>>> result = compute(read_plan("layers/example_region.toml"))
>>> c = check_site(result, "POLYGON ((186000 437000, 186300 437000, 186300 437300, 186000 437300, 186000 437000))",
...                {"dwellings": 100, "heating": "all_electric", "ev_share": 0.5, "delivery_start_year": 2027})
>>> c.verdict.nl, c.verdict.en
('past vanaf 2030', 'fits from 2030')
>>> [s["substation_id"] for s in c.serving]
['OS07']
"""

from __future__ import annotations

from .baseline import Baseline
from .near import NearPlan, read_plan_near
from .report import JSON_SCHEMA, render_html
from .result import SCHEMA_ID, VERDICTS, SiteCheck, Verdict, report_dict
from .sites import kind_aliases, read_sites
from .whatif import WhatIf, check_site, check_sites

__all__ = [
    "SCHEMA_ID",
    "VERDICTS",
    "JSON_SCHEMA",
    "Verdict",
    "SiteCheck",
    "Baseline",
    "NearPlan",
    "WhatIf",
    "check_site",
    "check_sites",
    "kind_aliases",
    "read_sites",
    "read_plan_near",
    "report_dict",
    "render_html",
]
