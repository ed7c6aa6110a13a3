"""``spatialprog check-site``: does a new site fit on the grid, and from when?"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from .options import console, lit, project_argument

_COLOURS = {"fits": "green", "fits_from": "yellow", "does_not_fit": "red", "outside": "magenta",
            "after_horizon": "cyan"}
_STATUS = {"ruimte": "green", "schaars": "yellow", "waarschuwing": "dark_orange", "congestie": "red"}


@click.command("check-site")
@project_argument
@click.argument("sites", nargs=-1, required=True, metavar="SITE...")
@click.option("--kind", help="What is planned: housing, industrial, charging, solar/wind, or any layer kind check-site can "
              "check (default: inferred from the other options or the file's fields).")
@click.option("--dwellings", type=int, help="Housing: number of dwellings.")
@click.option("--heating", help="Housing: gas, hybrid, all_electric or heat_network (Dutch: hybride, warmtenet).")
@click.option("--ev-share", type=float, help="Housing: EVs charging at home per dwelling (default from the parameters).")
@click.option("--start-year", type=int, help="First delivery year (housing), start year (business park), year in "
              "service (charging hub, generation).")
@click.option("--end-year", type=int, help="Housing: last delivery year (dwellings spread evenly).")
@click.option("--phasing", help="Housing: dwellings per year, e.g. '2027:120;2028:80'.")
@click.option("--category", help="Business park: logistics, light_industry, heavy_industry, offices or mixed.")
@click.option("--area-ha", type=float, help="Business park: net area (default: from the outline).")
@click.option("--contracted-mw", type=float, help="Business park: contracted MW (replaces MW per hectare).")
@click.option("--charge-points", type=int, help="Charging hub: number of charge points.")
@click.option("--kw-per-point", type=float, help="Charging hub: kW per charge point.")
@click.option("--segment", type=click.Choice(["passenger", "freight"]), help="Charging hub: passenger or freight.")
@click.option("--technology", help="Generation (feed-in): solar or wind (Dutch: zon).")
@click.option("--capacity-mw", type=float, help="Generation (feed-in): installed MW.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="Any other field of the site's kind, e.g. --field jobs=120 (repeatable).")
@click.option("--priority", "priority_category", help="ACM societal-priority category of the demand, if any.")
@click.option("--name", help="Name of the site, shown in the report.")
@click.option("--id", "site_id", help="Id of the site (default site-1, site-2, ...).")
@click.option("--crs", help="CRS of SITE coordinates (default EPSG:28992, or the file's own); EPSG:4326 for lon/lat.")
@click.option("--radius", "radius_m", type=float, help="Radius in metres around an x,y point (or write 'x,y,radius').")
@click.option("--layer", help="Layer of a multi-layer SITE file.")
@click.option("--variant", "variants", multiple=True, help="Check these variants (repeatable; the first is the "
              "headline; default all, base first).")
@click.option("--search-radius", "search_radius_m", type=float,
              help="Read substations and sites this far around the site (m); default assignment.max_distance_m.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report (docs/check_site.md) instead of the table.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a one-page HTML report with a small map.")
@click.option("--all-years/--milestones", default=False, show_default=True,
              help="Show every horizon year in the table, or the milestone and short years only.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the baseline cache (the run without the site, "
              "kept per project and inputs in $SPATIALPROG_CACHE_DIR, else ~/.cache/spatialprog).")
def check_site(project: Path, sites: tuple[str, ...], kind: str | None, dwellings: int | None, heating: str | None,
               ev_share: float | None, start_year: int | None, end_year: int | None, phasing: str | None,
               category: str | None, area_ha: float | None, contracted_mw: float | None, charge_points: int | None,
               kw_per_point: float | None, segment: str | None, technology: str | None, capacity_mw: float | None,
               fields: tuple[str, ...],
               priority_category: str | None, name: str | None,
               site_id: str | None, crs: str | None, radius_m: float | None, layer: str | None,
               variants: tuple[str, ...], search_radius_m: float | None, as_json: bool, html_path: Path | None,
               all_years: bool, no_cache: bool) -> None:
    """Does a new site fit on the grid of PROJECT.toml, and from when?

    SITE is a GIS file (one or more features, with the programme as fields), a
    GeoJSON or WKT text, or x,y (EPSG:28992 unless --crs) with --radius. Several
    SITEs, or a file with several features, are checked in order: each sees the
    demand of the ones before it.

    Answers per year and variant: the serving substation(s), the site's demand,
    headroom before and after, the verdict ("past", "past vanaf 2031", "past niet
    binnen de horizon"), the MW short and the nearest substations with room.
    Only the part of the layers near the site is read; the run without the site
    computed there is kept in the baseline cache, keyed on the checksums of every
    input, so the same question in a later process is answered from it
    (--no-cache: not used).

    \b
    Examples:
      spatialprog check-site layers/example_region.toml 186150,437150 --radius 150 \\
          --dwellings 100 --heating all_electric --ev-share 0.5 --start-year 2027
      spatialprog check-site layers/example_region.toml plan.gpkg --json > check.json
      spatialprog check-site layers/example_region.toml "POINT (5.93 51.98)" --crs EPSG:4326 \\
          --radius 200 --dwellings 250 --heating hybride --start-year 2028 --html check.html
    """
    from ..sitecheck import check_sites

    t0 = time.perf_counter()
    programme: dict[str, Any] = {
        "dwellings": dwellings, "heating": heating, "ev_share": ev_share, "start_year": start_year,
        "end_year": end_year, "phasing": phasing, "category": category, "area_ha": area_ha,
        "contracted_mw": contracted_mw, "charge_points": charge_points, "kw_per_point": kw_per_point,
        "segment": segment, "technology": technology, "capacity_mw": capacity_mw,
        "priority_category": priority_category, "name": name, "id": site_id,
    }
    programme = {k: v for k, v in programme.items() if v is not None}
    for f in fields:
        key, sep, value = f.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{f}' is not NAME=VALUE", param_hint="--field")
        programme[key.strip()] = value.strip()
    status = console.status("reading the layers near the site ...") if not as_json else None
    if status:
        status.start()
    try:
        checks = check_sites(project, list(sites), programme, crs=crs, variants=list(variants) or None,
                             radius_m=radius_m, kind=kind, layer=layer, search_radius_m=search_radius_m,
                             cache=not no_cache)
    finally:
        if status:
            status.stop()
    elapsed = time.perf_counter() - t0
    if html_path is not None:
        from ..errors import OutputError
        from ..sitecheck import render_html

        tmp = html_path.with_name(f".{html_path.name}.tmp")
        try:  # written beside it, then renamed: an earlier report is replaced whole or not at all
            tmp.write_text(render_html(checks), encoding="utf-8")
            os.replace(tmp, html_path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"--html: cannot write '{html_path}': {e.strerror} - choose a writable path") from None
    if as_json:
        from ..sitecheck import report_dict

        json.dump(report_dict(checks), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    for c in checks:
        print_check(c, all_years=all_years, batch=len(checks) > 1)
    if len(checks) > 1:
        print_batch(checks)
    if html_path is not None:
        console.print(f"[dim]one-page report: {lit(html_path)}[/]", soft_wrap=True)
    console.print(f"[dim]checked {len(checks)} site{'s' if len(checks) > 1 else ''} in {elapsed:.2f} s[/]")


def _milestones(years: list[int], keep: set[int]) -> list[int]:
    from ..outputs import milestone_years

    return sorted(set(milestone_years(years)) | keep)


def print_check(c, *, all_years: bool = False, batch: bool = False) -> None:
    """Print one site check as a rich report.

    Every name, id, variant, programme value, message and assumption is user
    text: it goes into the markup through :func:`~spatialprog.cli.options.lit`,
    so it is printed as it was typed.
    """
    from rich.panel import Panel
    from rich.table import Table

    v = c.verdict
    vd = c.variants[v.variant]
    colour = _COLOURS.get(v.key, "white")
    s = c.site
    prog = ", ".join(f"{lit(k)} {lit(val)}" for k, val in s["programme"].items() if k != "priority_category")
    head = f"[bold]{lit(s['name'] or s['id'])}[/] ({lit(s['title_nl'])}, {s['area_ha']:.2f} ha; {prog})"
    if batch:
        head = f"#{s['order']} " + head
    if c.sees:
        head += f"\n[dim]sees the demand of earlier sites: {lit(', '.join(c.sees))}[/]"
    if s.get("priority_category"):
        head += f"\nmaatschappelijke prioriteit / societal priority: {lit(s['priority_category'])}"
    serving = "; ".join(f"{lit(x['substation_id'])} {lit(x['name'])} ({x['share']:.0%}, {lit(x['method'])})"
                        for x in c.serving)
    head += f"\nserved by: {serving or '[magenta]no substation of this project[/]'}"
    for x in c.serving:
        if x.get("operator_forecast"):
            head += (f"\n[dim]{lit(x['substation_id'])} available per the operator (MVA, no new sites): " + "; ".join(
                f"{f['year']}: {f['operator_available_mva']:g} (ours {f['ours_available_mva']:g})"
                for f in x["operator_forecast"]) + "[/]")
    console.print(Panel(f"{head}\n\n[bold {colour}]{lit(v.nl.upper())}[/]  /  [{colour}]{lit(v.en)}[/]  "
                        f"[dim](variant {lit(v.variant)})[/]\n\n{lit(c.summary_nl)}\n[dim]{lit(c.summary_en)}[/]",
                        title="check-site", title_align="left", border_style=colour))
    if c.serving:
        years = [y["year"] for y in vd["years"]]
        keep = {y["year"] for y in vd["years"] if not y["fits"]}
        first_demand = next((y["year"] for y in vd["years"] if y["site_mw"] > 0), None)
        if first_demand:
            keep.add(first_demand)
        if v.year:
            keep.add(v.year)
        show = set(years) if all_years else set(_milestones(years, keep))
        t = Table(title=f"{'Feed-in' if vd.get('direction') == 'feedin' else 'Offtake'} per year, variant "
                        f"'{lit(v.variant)}' (MW)", title_justify="left")
        t.add_column("year", justify="right")
        t.add_column("site", justify="right")
        for x in c.serving:
            t.add_column(f"{lit(x['substation_id'])} before", justify="right")
            t.add_column(f"{lit(x['substation_id'])} after", justify="right")
            t.add_column("status", justify="left")
        t.add_column("fits", justify="center")
        t.add_column("short", justify="right")
        for y in vd["years"]:
            if y["year"] not in show:
                continue
            cells = [str(y["year"]), f"{y['site_mw']:.2f}"]
            for sub in y["substations"]:
                cells += [f"{sub['headroom_before_mw']:.2f}", f"{sub['headroom_after_mw']:.2f}",
                          f"[{_STATUS.get(sub['status_after'], 'white')}]{sub['status_after']}[/]"]
            cells += ["[green]ja[/]" if y["fits"] else "[red]nee[/]",
                      f"{y['short_mw']:.2f}" if y["short_mw"] else ""]
            t.add_row(*cells)
        console.print(t)
        if len(c.variants) > 1:
            tv = Table(title="Development variants", title_justify="left")
            for col in ("variant", "verdict (nl)", "verdict (en)", "first fit year", "max short MW"):
                tv.add_column(col)
            for name, d in c.variants.items():
                tv.add_row(lit(name), lit(d["verdict"]["nl"]), lit(d["verdict"]["en"]), str(d["first_fit_year"] or ""),
                           f"{d['max_short_mw']:.2f}" if d["max_short_mw"] else "")
            console.print(tv)
        if v.key != "fits" and vd.get("alternatives"):
            console.print(f"nearest substations with room for the whole site in every year to {years[-1]}: "
                          + "; ".join(f"{lit(a['substation_id'])} {lit(a['name'])} {a['distance_m'] / 1000:.1f} km, "
                                      f"least {a['min_headroom_after_mw']:.2f} MW left ({a['min_year']})"
                                      for a in vd["alternatives"]), soft_wrap=True, highlight=False)
    if vd.get("connections"):
        tc = Table(title=f"Other connections, variant '{lit(v.variant)}'", title_justify="left")
        for col in ("carrier", "direction", "node", "site (last year)", "verdict", "max short"):
            tc.add_column(col)
        for k in vd["connections"]:
            tc.add_row(lit(k["carrier"]), lit(k["direction"]), lit(", ".join(st["id"] for st in k["stations"]) or "-"),
                       f"{k['site_mw_end'] or 0:.2f} {lit(k['unit'])}", lit(k["verdict"]["nl"]),
                       f"{k['max_short_mw']:.2f} {lit(k['unit'])}" if k["max_short_mw"] else "")
        console.print(tc)
    if c.options:
        to = Table(title="Process heat: electric, hydrogen or gas", title_justify="left")
        for col in ("process heat", "verdict", "electricity", "own carrier"):
            to.add_column(col)
        for o in c.options:
            own = o["carrier_connection"]
            to.add_row(lit(o["process_heat_carrier"]), lit(o["verdict"]["nl"]),
                       f"{lit(o['electricity']['verdict']['nl'])} ({o['electricity']['site_mw_end'] or 0:.2f} MWe)",
                       f"{lit(own['verdict']['nl'])} ({own['site_mw_end'] or 0:.2f} {lit(own['unit'])})" if own else "-")
        console.print(to)
    if c.serving:
        if c.reinforcements:
            console.print("planned reinforcements: " + "; ".join(
                f"{lit(r['substation_id'])} +{r['added_mva']:g} MVA in {r['year']} ({lit(r['source'])})"
                for r in c.reinforcements), soft_wrap=True, highlight=False)
    conf = c.conflicts
    if not conf["available"]:
        console.print(f"[dim]{lit(conf['message'])}[/]", soft_wrap=True)
    else:
        console.print(f"land-claim conflicts: {lit(conf['message'])}", soft_wrap=True, highlight=False)
        for it in conf["items"][:10]:
            console.print(f"  [{'red' if it['severity'] == 'hoog' else 'yellow'}]{lit(it['severity'])}[/] "
                          f"{lit(it['rule_id'])} {lit(it['other_layer'])} {lit(it['other_id'])}: "
                          f"{lit(it['description_nl'])}", soft_wrap=True, highlight=False)
    for o in c.overlaps:
        console.print(f"[yellow]overlap:[/] {lit(o['layer'])} {lit(o['id'])} {lit(o['name'])} ({o['area_m2']:.0f} m2, "
                      f"{o['share_of_site']:.0%} of the site)", soft_wrap=True, highlight=False)
    for n in c.notices:
        console.print(f"[yellow]note:[/] {lit(n)}", soft_wrap=True, highlight=False)
    a = ", ".join(f"{lit(x['key'])} = {lit(x['value'])} {lit(x['unit'])}" for x in c.assumptions[:4])
    console.print(f"[dim]assumptions: {a} (sources: data/parameters.toml)[/]", soft_wrap=True, highlight=False)
    if c.project.get("fictional"):
        console.print("[dim]FICTIONAL example data[/]")


def print_batch(checks) -> None:
    """One line per site of a batch, in check order."""
    from rich.table import Table

    t = Table(title="Batch, in check order (each sees the demand of the ones before it)", title_justify="left")
    for col in ("#", "site", "substation(s)", "MW at end", "verdict", "sees"):
        t.add_column(col)
    for c in checks:
        vd = c.variants[c.verdict.variant]
        t.add_row(str(c.site["order"]), lit(c.site["name"] or c.site["id"]),
                  lit(", ".join(s["substation_id"] for s in c.serving)) or "-", f"{vd['site_mw_end']:.2f}",
                  f"[{_COLOURS.get(c.verdict.key, 'white')}]{lit(c.verdict.nl)}[/]", lit(", ".join(c.sees)))
    console.print(t)
