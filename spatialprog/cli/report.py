"""Rich summaries printed by the commands.

User text (names, ids, variants, messages) goes into rich markup only through
:func:`~spatialprog.cli.options.lit`, so it is printed as it was typed.
"""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from .. import fields as F
from ..carriers import LABELS_NL
from ..config import BASE_VARIANT
from ..errors import NoticeLog
from ..operator_comparison import comparison_summary
from .options import console, lit


def print_notices(notices: NoticeLog, *, limit: int = 15) -> None:
    """Print repairs and warnings (info-level notices are counted only)."""
    warn = [n for n in notices if n.level == "warning"]
    info = [n for n in notices if n.level != "warning"]
    for n in warn[:limit]:
        console.print(f"[yellow]warning:[/] {lit(n)}", soft_wrap=True, highlight=False)
    if len(warn) > limit:
        console.print(f"[yellow]... and {len(warn) - limit} more warnings (see notices.csv)[/]")
    if info:
        console.print(f"[dim]{len(info)} remark(s), e.g. {lit(info[0])}[/]", soft_wrap=True, highlight=False)


#: how many of a carrier's short nodes the summary names (the earliest shortfalls first)
SHORT_NODES_LISTED = 6


def worst_substations(headroom: pd.DataFrame, shortfall: pd.DataFrame, names: pd.Series, *, n: int = 10,
                      variant: str = BASE_VARIANT) -> pd.DataFrame:
    """The substations with the least offtake headroom over the horizon (for the summary)."""
    h = headroom[(headroom[F.VARIANT] == variant) & (headroom[F.DIRECTION] == F.OFFTAKE)]
    first_y, last_y = h[F.YEAR].min(), h[F.YEAR].max()
    g = h.groupby(F.SUBSTATION_ID)
    df = pd.DataFrame({
        "min_headroom_mw": g[F.HEADROOM_MW].min(),
        "capacity_now_mw": h[h[F.YEAR] == first_y].set_index(F.SUBSTATION_ID)[F.CAPACITY_MW],
        "headroom_now_mw": h[h[F.YEAR] == first_y].set_index(F.SUBSTATION_ID)[F.HEADROOM_MW],
        "headroom_end_mw": h[h[F.YEAR] == last_y].set_index(F.SUBSTATION_ID)[F.HEADROOM_MW],
        "status_end": h[h[F.YEAR] == last_y].set_index(F.SUBSTATION_ID)[F.STATUS],
        "rule": h[h[F.YEAR] == first_y].set_index(F.SUBSTATION_ID)[F.FIRM_RULE],
    })
    s = shortfall[(shortfall[F.VARIANT] == variant) & (shortfall[F.DIRECTION] == F.OFFTAKE)].set_index(F.SUBSTATION_ID)
    df["first_shortfall"] = s[F.FIRST_SHORTFALL_YEAR]
    df["name"] = names
    df = df.reset_index().sort_values(["min_headroom_mw", F.SUBSTATION_ID], kind="stable").head(n)
    return df


def print_summary(result) -> None:
    """The worst substations (offtake, base variant) and per-variant counts."""
    subs = result.plan.layers["substations"]
    names = subs.set_index("id")["name"] if "name" in subs else pd.Series(dtype=object)
    w = worst_substations(result.headroom, result.shortfall, names)
    years = result.project.years
    t = Table(title=f"Least offtake headroom, variant '{BASE_VARIANT}' ({years[0]}-{years[-1]})", title_justify="left")
    for col, j in [("substation", "left"), ("name", "left"), ("rule", "left"), (f"capacity {years[0]} MW", "right"),
                   (f"headroom {years[0]} MW", "right"), (f"headroom {years[-1]} MW", "right"),
                   ("first shortfall", "right"), (f"status {years[-1]}", "left")]:
        t.add_column(col, justify=j)
    colours = {"ruimte": "green", "schaars": "yellow", "waarschuwing": "dark_orange", "congestie": "red"}
    for r in w.itertuples(index=False):
        fs = "" if pd.isna(r.first_shortfall) else str(int(r.first_shortfall))
        t.add_row(lit(r.substation_id), lit(r.name if isinstance(r.name, str) else ""), lit(r.rule),
                  f"{r.capacity_now_mw:.1f}", f"{r.headroom_now_mw:.1f}", f"{r.headroom_end_mw:.1f}", fs,
                  f"[{colours.get(r.status_end, 'white')}]{lit(r.status_end)}[/]")
    console.print(t)
    if len(result.operator_comparison):
        tol = float(result.project.variants[BASE_VARIANT]["operator.flat_tolerance_mva"])
        console.print(lit(comparison_summary(result.operator_comparison, tolerance_mva=tol)))
        console.print("  per station, direction and horizon: operator_comparison.csv")
    sf = result.shortfall
    for v in result.variants:
        for d in F.DIRECTIONS:
            k = sf[(sf[F.VARIANT] == v) & (sf[F.DIRECTION] == d) & sf[F.FIRST_SHORTFALL_YEAR].notna()]
            console.print(f"  variant [bold]{lit(v)}[/], {F.DIRECTION_NL[d]}: {len(k)} of {len(subs)} substations short "
                          f"within the horizon")
        cs = result.carrier_shortfall
        if len(cs):  # the other carriers' nodes, each in its own unit
            mine = cs[cs[F.VARIANT] == v]
            parts = []
            for carrier, g in mine.groupby(F.CARRIER, sort=True):
                short = g[g[F.FIRST_SHORTFALL_YEAR].notna()].sort_values(
                    [F.FIRST_SHORTFALL_YEAR, F.SUBSTATION_ID, F.DIRECTION], kind="stable")
                first = ", ".join(f"{lit(r.substation_id)} {r.direction} {int(r.first_shortfall_year)}"
                                  for r in short.head(SHORT_NODES_LISTED).itertuples(index=False))
                if len(short) > SHORT_NODES_LISTED:  # a national run: hundreds, all in shortfall.csv
                    first += f" and {len(short) - SHORT_NODES_LISTED} more (shortfall.csv)"
                parts.append(f"{LABELS_NL[carrier]}: {g[F.SUBSTATION_ID].nunique()} nodes"
                             + (f", short (earliest first): {first}" if first else ", none short"))
            if parts:
                console.print(f"    {'; '.join(parts)}")
