"""The weighing framework (afwegingskader): traceable scores, ranking, sensitivity.

Criteria live as data in ``data/ranking_criteria.csv``: each names its
direction (``higher`` or ``lower`` raw values mean more priority), its
normalisation to 0..1, a default weight, a unit and a source. A project file
changes weights and, per variant, weights again::

    [ranking]
    weights = { shortfall_offtake_mw = 0.3, conflicts = 0 }
    land_reserved = ["OS10"]            # land for the new station / extension is reserved
    provincial_programme = ["OS08"]     # already in the pMIEK
    top_n = 10                          # size of the top list in the sensitivity report
    sensitivity_pct = 25                # each weight varied by +-25 %

    [ranking.criteria.conflicts]        # declared direction / normalisation may be changed too
    direction = "lower"

    [ranking.variants.hoog.weights]     # a development variant weighs differently
    urgency_years = 0.4

    [ranking.higher_level.nodes]        # capacities of the HV stations / TenneT nodes (spatialprog.scales)
    TN-Zuid = { capacity_mva = 250, name = "TenneT Zuid 150 kV" }

The score of an item is ``sum_i w_i * s_i / sum_i w_i`` where ``s_i`` is the
normalised criterion score (0..1); each ``w_i s_i / sum w`` is written out as
the criterion's contribution, so the contributions add up to the score and a
planner can say why A comes before B. Ranks follow the score (rounded to
1e-9), ties broken by id, so the ranking does not depend on row order.

Normalisations
--------------
``max``      raw / the largest raw value among the items ranked (0 when all are 0)
``minmax``   (raw - min) / (max - min) (0 when all are equal)
``fixed``    raw / ``scale_max`` of the criterion
``horizon``  raw / the horizon length in years
``none``     the raw value is already 0..1

Each is clipped to 0..1; direction ``lower`` takes ``1 - value``. A missing
raw value (no shortfall, no category, no conflict summary) scores 0.

Modules
-------
:mod:`~spatialprog.ranking.settings`
    The ``[ranking]`` section validated into :class:`RankingSettings` (pure).
:mod:`~spatialprog.ranking.scoring`
    :func:`normalise`, :func:`score_table`, :func:`sensitivity`; :class:`Scores`
    (a table normalised once for both).
:mod:`~spatialprog.ranking.criteria`
    Raw criterion values of a run: :func:`substation_criteria`,
    :func:`site_criteria`, :func:`conflict_severity`, :func:`category_scores`;
    :class:`SiteKeys` (a run's sites as integer keys, once for every variant).
:mod:`~spatialprog.ranking.rank`
    :func:`rank_run` (the whole ranking of a run), :class:`RankingResult`,
    :func:`write_ranking`.

The tables (criteria, priority categories, higher-level nodes, boundaries,
transformer steps, land) are read once at the input edge,
:mod:`spatialprog.reference`, into ``plan.reference``; nothing in this
package opens a file except :func:`write_ranking`, through
:mod:`spatialprog.writer`.

Examples
--------
>>> import pandas as pd
>>> from spatialprog.reference import load_criteria
>>> crit = load_criteria()
>>> raw = pd.DataFrame({"id": ["A", "B"], "shortfall_offtake_mw": [10.0, 5.0]})
>>> c = crit[crit["criterion"] == "shortfall_offtake_mw"].assign(weight=1.0)
>>> score_table(raw, c, horizon_years=15)[["id", "rank", "score"]].values.tolist()
[['A', 1, 1.0], ['B', 2, 0.5]]
"""

from __future__ import annotations

from .criteria import (
    SiteKeys,
    category_scores,
    conflict_severity,
    site_criteria,
    substation_criteria,
)
from .rank import RANKING_FILES, RankingResult, rank_run, write_ranking
from .scoring import Scores, normalise, score_table, sensitivity
from .settings import CRITERIA, NORMALISATIONS, RankingSettings, ranking_settings

__all__ = [
    "CRITERIA",
    "NORMALISATIONS",
    "RankingSettings",
    "RankingResult",
    "Scores",
    "SiteKeys",
    "category_scores",
    "ranking_settings",
    "normalise",
    "score_table",
    "sensitivity",
    "substation_criteria",
    "site_criteria",
    "conflict_severity",
    "rank_run",
    "write_ranking",
    "RANKING_FILES",
]
