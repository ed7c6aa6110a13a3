"""Hostile text in every text field: shown as text, never run as script, never read as markup.

The example region is copied and every free-text field of every layer and of
the project file is rewritten to carry :data:`HOSTILE`: HTML that runs script
when it is parsed (an ``<img onerror>``, a ``<script>`` after ``">`` or after
``</script>`` / ``</title>``, a ``javascript:`` link, a quote that breaks out
of an attribute), rich console markup (``[/]``, ``[fase 2]``) and matplotlib
mathtext (``$x^2$``). Ids get the payload in front (so they stay unique and
the references between layers and the project file stay consistent: service
areas -> substations, reserves -> substations, substations -> higher-level
nodes, ``[[reinforcements]]``, ``[ranking] land_reserved`` and
``provincial_programme``); names get it behind. The first feature of every
named layer has no name, so popups and tooltips fall back to the id.

Then, for the run of that project (:func:`spatialprog.run`):

* headless Chromium opens ``map.html``, opens every popup and every tooltip
  (their number is asserted) and switches the variant control; no script of
  the payload may run (``window.__pwned`` stays undefined, no request for the
  ``<img>``'s ``x``, no element with an ``on...`` attribute or a
  ``javascript:`` URL, no ``<img>``/``<script>``/``<a>`` inside a popup or
  tooltip), and every hostile string is shown as text;
* the same for the check-site HTML report (:func:`~spatialprog.sitecheck.render_html`);
* the static maps draw every text literally (no mathtext);
* ``validate``, ``run``, ``check-site``, ``rank`` and ``diff`` exit 0 and
  print the hostile text as it was written.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner

from spatialprog.cli import cli
from spatialprog.maps import MAP_HTML
from spatialprog.maps import _data as D
from spatialprog.maps.labels import map_texts
from spatialprog.outputs import RunOutputs

from .clients.chromium import chromium_available, load_page
from .conftest import EXAMPLE, ROOT

#: Counts the payload's script runs in the page.
PWN = "window.__pwned=(window.__pwned||0)+1"
#: Every payload at once, single spaces only (the browser's innerText collapses runs of spaces).
HOSTILE = (f'<img src=x onerror="{PWN}"> "><script>{PWN}</script> </script><script>{PWN}</script><!-- '
           f"</title><script>{PWN}</script> ' onmouseover='{PWN}' x=' "
           f'<a href="javascript:{PWN}">klik</a> [/] [fase 2] [bold] $x^2$')
#: A development variant named with HTML, quotes, markup and mathtext; a valid TOML key. No ``[/]``: the
#: variant is also shown as a progress line by ``spatialprog run`` (cli/run.py, outside this change).
VARIANT = f'hoog <img src=x onerror="{PWN}"> "><script>{PWN}</script> \' onmouseover=\'{PWN}\' x=\' [fase 2] $x^2$'

# GeoPackage layer -> (id column, name column or None, other free-text columns, columns holding a substation id)
GPKG_TEXT = {
    "onderstations": ("code", "naam", ("netbeheerder",), ("voedend_station",)),
    "voedingsgebieden": ("vg_code", None, (), ("station",)),
    "gemeenten": ("gm_code", "gm_naam", (), ()),
    "woningbouw": ("plan_id", "plannaam", ("gemeente",), ()),
    "bedrijventerreinen": ("bt_code", "naam", (), ()),
    "warmtenetten": ("wn_code", "naam", ("bron_type",), ()),
    "opwek": ("opwek_id", "naam", (), ()),
    "reserveringen": ("res_code", "naam", ("status",), ("station",)),
    "hoogspanningslijnen": ("lijn_code", "naam", (), ()),
    "natura2000_fictief": ("sitecode", "naam", (), ()),
    "waterstofstations": ("h2_code", "naam", (), ()),
    "waterstofleidingen": ("leiding_code", "naam", (), ()),
    "gasstations": ("gas_code", "naam", (), ()),
    "warmtebronnen": ("bron_code", "naam", (), ("warmtenet",)),
    "buurten": ("buurt_code", "naam", (), ()),
}
GEOJSON_TEXT = {"laadpleinen.geojson": ("laadplein_id", "naam"), "example_province.geojson": ("pv_code", "pv_naam")}
#: the input layers whose features the map shows in a popup (with their texts)
ON_MAP = {"onderstations", "woningbouw", "bedrijventerreinen", "warmtenetten", "opwek", "reserveringen",
          "hoogspanningslijnen", "laadpleinen.geojson"}

_reason = chromium_available()
chromium = pytest.mark.skipif(bool(_reason), reason=f"headless Chromium not available: {_reason}")


def hostile(text: str) -> str:
    """A name or description with the payload behind it."""
    return f"{text} {HOSTILE}"


def hostile_id(text: str) -> str:
    """An id with the payload in front of it (stays unique, stays recognisable at its end)."""
    return f"{HOSTILE} {text}"


def _toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


@dataclass(frozen=True)
class HostileProject:
    toml: Path
    name: str
    variant_descriptions: tuple[str, ...]
    shown: frozenset[str]  # every hostile text of a feature the map shows in a popup


def _rewrite_toml(path: Path) -> tuple[str, tuple[str, ...]]:
    t = path.read_text(encoding="utf-8")
    name = hostile("Voorbeeldregio")
    descriptions = (hostile("Snelle elektrificatie"), hostile("Vertraagde woningbouw"))
    q = _toml_str
    replacements = [
        ('name = "Voorbeeldregio Rivierenland (fictief)"', f"name = {q(name)}"),
        ('description = "Fictional example region for spatialprog: 12 substations, 4 municipalities."',
         f"description = {q(hostile('Fictief voorbeeld'))}"),
        ("[variants.hoog]", f"[variants.{q(VARIANT)}]"),
        ('description = "Snelle elektrificatie: meer elektrische auto\'s en hogere autonome groei"',
         f"description = {q(descriptions[0])}"),
        ('description = "Vertraagde woningbouw: 3 jaar later en 80 % gerealiseerd"', f"description = {q(descriptions[1])}"),
        ("[ranking.variants.hoog.weights]", f"[ranking.variants.{q(VARIANT)}.weights]"),
        ('land_reserved = ["OS08"]', f"land_reserved = [{q(hostile_id('OS08'))}]"),
        ('provincial_programme = ["OS10"]', f"provincial_programme = [{q(hostile_id('OS10'))}]"),
        ('TN-Zuid = { capacity_mva = 300, name = "TenneT 150 kV Zuid (fictief)"',
         f"{q(hostile_id('TN-Zuid'))} = {{ capacity_mva = 300, name = {q(hostile('TenneT Zuid'))}"),
        ('TN-Noord = { capacity_mva = 250, name = "TenneT 150 kV Noord (fictief)"',
         f"{q(hostile_id('TN-Noord'))} = {{ capacity_mva = 250, name = {q(hostile('TenneT Noord'))}"),
        ("# --- weighing framework", f"[[reinforcements]]\nsubstation = {q(hostile_id('OS03'))}\nyear = 2031\n"
                                     f"added_mva = 20\ndescription = {q(hostile('Extra transformator'))}\n\n"
                                     "# --- weighing framework"),
    ]
    for old, new in replacements:
        assert t.count(old) == 1, f"the example project file changed: {old!r} not found once"
        t = t.replace(old, new)
    path.write_text(t, encoding="utf-8")
    return name, descriptions


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory) -> HostileProject:
    """layers/ copied, every text field of every layer and of the project file made hostile."""
    dst = tmp_path_factory.mktemp("hostile") / "layers"
    shutil.copytree(ROOT / "layers", dst)
    shown: set[str] = set()

    def rewrite(g: gpd.GeoDataFrame, layer: str, id_col: str, name_col: str | None, texts=(), refs=()):
        g[id_col] = g[id_col].map(hostile_id)
        for c in (name_col, *texts):
            if c is not None:
                g[c] = g[c].map(lambda v: hostile(v) if isinstance(v, str) else v)
        for c in refs:
            g[c] = g[c].map(lambda v: hostile_id(v) if isinstance(v, str) else v)
        if name_col is not None:
            g.loc[g.index[0], name_col] = None  # a feature without a name: shown by its id
        if layer in ON_MAP:  # the map does not show the higher-level node a substation hangs from
            for c in (id_col, name_col, *texts, *(r for r in refs if r != "voedend_station")):
                if c is not None:
                    shown.update(v for v in g[c] if isinstance(v, str))
        return g

    gpkg = dst / "example_region.gpkg"
    layers = {name: gpd.read_file(gpkg, layer=name) for name, _ in pyogrio.list_layers(gpkg)}
    assert set(layers) == set(GPKG_TEXT), "the example GeoPackage changed: update GPKG_TEXT"
    gpkg.unlink()
    for name, g in layers.items():
        id_col, name_col, texts, refs = GPKG_TEXT[name]
        rewrite(g, name, id_col, name_col, texts, refs).to_file(gpkg, layer=name, driver="GPKG")
    for fname, (id_col, name_col) in GEOJSON_TEXT.items():
        g = rewrite(gpd.read_file(dst / fname), fname, id_col, name_col)
        (dst / fname).unlink()
        g.to_file(dst / fname, driver="GeoJSON")
    name, descriptions = _rewrite_toml(dst / "example_region.toml")
    return HostileProject(dst / "example_region.toml", name, descriptions, frozenset(shown))


@pytest.fixture(scope="module")
def hostile_run(hostile_project, tmp_path_factory) -> Path:
    """``spatialprog.run`` of the hostile project, with maps and the QGIS hand-off: the output folder."""
    from spatialprog import run

    out = tmp_path_factory.mktemp("hostile-run") / "out"
    run(hostile_project.toml, out)
    return out


def test_the_project_really_is_hostile(hostile_project):
    """The payload reaches the plan unchanged (nothing strips it before the outputs are drawn)."""
    from spatialprog.pipeline import read_plan

    plan = read_plan(hostile_project.toml)
    assert plan.project.name == hostile_project.name
    assert VARIANT in plan.project.variants
    subs = plan.layers["substations"]
    assert hostile_id("OS01") in set(subs["id"]) and subs["name"].isna().sum() == 1
    assert hostile("OS Brakelveen") not in set(subs["name"])  # OS01 is the one without a name
    assert hostile("OS Oosterweide") in set(subs["name"])
    areas = plan.layers["service_areas"]
    assert set(areas["substation_id"]) <= set(subs["id"])
    assert len(hostile_project.shown) > 250


# --------------------------------------------------------------------------------------
# map.html

#: Opens every popup and tooltip of the map, switches the variants, waits for failed image loads, reports.
MAP_PROBE = """
(async function () {
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function stray(node) { return node.querySelectorAll("img, script, a, iframe, object, embed").length; }
  var map = null, roots = [];
  Object.keys(window).forEach(function (k) {
    var v;
    try { v = window[k]; } catch (e) { return; }
    if (v instanceof L.Map) map = v;
    else if (v instanceof L.Layer) roots.push(v);
  });
  var seen = {}, withPopup = [], withTip = [];
  function walk(l) {
    if (seen[L.stamp(l)]) return;
    seen[L.stamp(l)] = true;
    var popup = l.getPopup && l.getPopup();
    if (popup) withPopup.push(l);
    if (l.getTooltip && l.getTooltip()) withTip.push(l);
    if (l.eachLayer && !popup) l.eachLayer(walk);  // a cluster group lists every marker, shown or not
  }
  roots.forEach(walk);
  function where(l) { return l.getLatLng ? l.getLatLng() : l.getBounds().getCenter(); }
  var out = {initialState: (document.getElementById("sp-panel") || {getAttribute: function () { return null; }})
             .getAttribute("data-state"), popups: [], tips: [], vdesc: []};
  var varSel = document.getElementById("sp-variant");
  if (varSel) {
    Array.prototype.forEach.call(varSel.options, function (o) {
      varSel.value = o.value; varSel.dispatchEvent(new Event("change"));
      var d = document.getElementById("sp-vdesc"); out.vdesc.push(d ? d.textContent : null);
    });
    varSel.value = varSel.options[1].value; varSel.dispatchEvent(new Event("change"));  // tooltips name it
  }
  withPopup.forEach(function (l) {  // the layer's own popup, opened on the map (also for a clustered marker)
    var p = l.getPopup();
    p.setLatLng(where(l));
    map.openPopup(p);
    var c = p.isOpen() && p.getElement() && p.getElement().querySelector(".leaflet-popup-content");
    if (c && c.innerText.trim()) out.popups.push({text: c.innerText, stray: stray(c)});
    map.closePopup(p);
  });
  withTip.forEach(function (l) {
    var t = l.getTooltip();
    map.openTooltip(t, where(l));
    var el = t.isOpen() && t.getElement();
    if (el && el.innerText.trim()) out.tips.push({text: el.innerText, stray: stray(el)});
    map.closeTooltip(t);
  });
  await sleep(1500);  // an <img src=x onerror> fires after its request failed
  out.handlers = [];
  document.querySelectorAll("*").forEach(function (el) {
    Array.prototype.forEach.call(el.attributes, function (a) {
      if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) out.handlers.push(el.tagName + " " + a.name);
    });
  });
  out.pwned = window.__pwned === undefined ? null : window.__pwned;
  out.images = document.images.length;
  out.options = Array.prototype.map.call(document.querySelectorAll("#sp-variant option"),
    function (o) { return {value: o.value, text: o.textContent, title: o.title}; });
  out.panel = (document.getElementById("sp-panel") || {}).innerText || "";
  out.popupLayers = withPopup.length;
  out.tipLayers = withTip.length;
  return out;
})()
"""


def _no_script_ran(res, value) -> None:
    assert value["pwned"] is None, f"the payload ran {value['pwned']} time(s)"
    assert value["handlers"] == [], "elements with an event handler or a javascript: URL were made"
    assert not [u for u in res.requests if u.rsplit("/", 1)[-1] == "x"], "an injected <img src=x> was loaded"
    assert res.console_errors == []


@pytest.fixture(scope="module")
def map_probe(hostile_run):
    url = (hostile_run / MAP_HTML).as_uri() + "#jaar=2040&variant=" + quote(VARIANT, safe="")
    res = load_page(url, evaluate=MAP_PROBE, window_size=(1400, 900), timeout_s=90)
    return res, res.value


def _map_counts(out: Path) -> tuple[int, int]:
    """Popups and tooltips the map must have: from the run's own layers and tables."""
    outputs = RunOutputs.read(out)
    sites = sum(len(g) for g in D.site_layers(outputs).values())
    subs = len(outputs.layers["substations"])
    conflicts = D.conflicts_frame(outputs)
    programme = D.programme_frame(outputs)
    popups = sites + subs + (0 if conflicts is None else len(conflicts)) + (0 if programme is None else len(programme))
    cand = outputs.layers.get("candidate_sites")  # land for new substations (base variant), ids from substation ids
    popups += 0 if cand is None else int((cand["variant"] == "basis").sum())
    return popups, sites + subs + len(outputs.layers["service_areas"])


@pytest.mark.client
@chromium
def test_map_opens_every_popup_and_tooltip_and_runs_no_script(map_probe, hostile_run):
    res, v = map_probe
    _no_script_ran(res, v)
    want_popups, want_tips = _map_counts(hostile_run)
    assert want_popups > 140 and want_tips > 140
    assert (v["popupLayers"], len(v["popups"])) == (want_popups, want_popups), "not every popup opened"
    assert (v["tipLayers"], len(v["tips"])) == (want_tips, want_tips), "not every tooltip opened"
    assert [p for p in v["popups"] if p["stray"]] == [], "a popup holds an element made from a name"
    assert [t for t in v["tips"] if t["stray"]] == [], "a tooltip holds an element made from a name"
    assert v["images"] == 0


@pytest.mark.client
@chromium
def test_map_shows_every_hostile_string_as_text(map_probe, hostile_project):
    res, v = map_probe
    p = hostile_project
    assert res.title == f"{p.name} - netruimte"
    assert p.name in v["panel"]
    assert v["initialState"] == f"2040|offtake|{VARIANT}"  # the variant from the URL fragment
    assert [o["value"] for o in v["options"]] == ["basis", VARIANT, "vertraagd"]
    assert [o["text"] for o in v["options"]] == ["basis", VARIANT, "vertraagd"]
    assert [o["title"] for o in v["options"]][1:] == list(p.variant_descriptions)
    assert v["vdesc"][1:] == list(p.variant_descriptions)
    popups = "\n".join(x["text"] for x in v["popups"])
    tips = "\n".join(x["text"] for x in v["tips"])
    missing = sorted(s for s in p.shown if s not in popups)
    assert missing == [], f"{len(missing)} hostile texts not shown in any popup, e.g. {missing[:2]}"
    subs_named = [s for s in p.shown if s.startswith("OS ")]
    assert subs_named and all(s in tips for s in subs_named), "substation names missing from the tooltips"
    assert hostile_id("OS01") + " (" + hostile_id("OS01") + ")" in popups  # no name: the id stands in
    assert VARIANT in tips and VARIANT in popups


# --------------------------------------------------------------------------------------
# the check-site report

REPORT_PROBE = """
(async function () {
  await new Promise(function (r) { setTimeout(r, 1000); });
  var handlers = [];
  document.querySelectorAll("*").forEach(function (el) {
    Array.prototype.forEach.call(el.attributes, function (a) {
      if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) handlers.push(el.tagName + " " + a.name);
    });
  });
  return {pwned: window.__pwned === undefined ? null : window.__pwned, handlers: handlers,
          images: document.images.length, scripts: document.scripts.length, text: document.body.innerText,
          svgText: Array.prototype.map.call(document.querySelectorAll("svg text"),
                                            function (t) { return t.textContent; })};
})()
"""


@pytest.fixture(scope="module")
def hostile_check(hostile_project):
    from spatialprog.pipeline import compute, read_plan
    from spatialprog.sitecheck import check_site

    result = compute(read_plan(hostile_project.toml))
    return check_site(result, "186150,437150,150", {"dwellings": 100, "heating": "all_electric", "start_year": 2027,
                                                    "name": hostile("Wijk Zuid"), "id": hostile_id("site-1")})


@pytest.mark.client
@chromium
def test_check_site_report_runs_no_script_and_shows_the_text(hostile_check, hostile_project, tmp_path):
    from spatialprog.sitecheck import render_html

    page = tmp_path / "check.html"
    page.write_text(render_html([hostile_check]), encoding="utf-8")
    res = load_page(page, evaluate=REPORT_PROBE, timeout_s=60)
    v = res.value
    _no_script_ran(res, v)
    assert (v["images"], v["scripts"]) == (0, 0)
    assert res.title == f"Netcapaciteit nieuwe locatie - {hostile_project.name}"
    text = v["text"]
    assert hostile("Wijk Zuid") in text and hostile_project.name in text
    serving = [s["substation_id"] for s in hostile_check.serving]
    assert serving and all(s.startswith(HOSTILE) and s in text for s in serving)
    assert hostile("Wijk Zuid") in v["svgText"]
    assert all(f"voedingsgebied {s}" in v["svgText"] for s in serving)


# --------------------------------------------------------------------------------------
# the static maps


def test_static_maps_draw_every_text_literally(hostile_run):
    """Mathtext in a name is shown as typed: ``$x^2$`` is not typeset, ``$\\nosuchmacro$`` does not fail."""
    from matplotlib.table import Table
    from matplotlib.text import Text

    from spatialprog.maps.static import static_figures

    outputs = RunOutputs.read(hostile_run)
    subs = outputs.layers["substations"]
    subs.loc[subs.index[1], "name"] = r"OS $\nosuchmacro$ 50% $x_1$"  # fails to draw as mathtext
    figures = static_figures(outputs)
    assert {"netruimte_afname", "netruimte_invoeding", "eerste_tekort_afname", "conflicten", "programma"} <= set(figures)
    seen: list[str] = []
    for stem, fig in figures.items():
        fig.savefig(io.BytesIO(), format="png", dpi=40)
        texts = list(fig.findobj(Text))
        for table in fig.findobj(Table):
            texts += [c.get_text() for c in table.get_celld().values()]
        dollars = [t for t in texts if "$" in t.get_text()]
        assert dollars, stem
        parsed = [t.get_text() for t in dollars if t.get_parse_math() or t.get_usetex()]
        assert parsed == [], f"{stem}: drawn as mathtext: {parsed[:2]}"
        fig.savefig(io.BytesIO(), format="pdf")
        seen += [t.get_text() for t in dollars] + [t for t in map_texts(fig) if "$" in t]
    assert any(outputs.project_name in s for s in seen)
    assert r"OS $\nosuchmacro$ 50% $x_1$" in seen


# --------------------------------------------------------------------------------------
# the console


def invoke(*args: str) -> str:
    r = CliRunner().invoke(cli, [str(a) for a in args], obj={})
    assert r.exit_code == 0, r.output
    return r.output


def flat(text: str) -> str:
    """Console output with line wrapping undone (runs of whitespace as one space)."""
    return " ".join(text.split())


def test_validate_prints_the_project_name_literally(hostile_project):
    out = invoke("validate", hostile_project.toml)
    assert f"valid: {hostile_project.name} (14 layers, 3 variants" in out


def test_run_prints_names_and_variants_literally(hostile_project, tmp_path):
    out = invoke("run", hostile_project.toml, "--out", tmp_path / "out", "--no-maps", "--no-qgis")
    assert f"variant {VARIANT}, afname:" in flat(out)
    assert "[/] [fase 2] [bold]" in out  # in the substation table and the notices


@pytest.mark.parametrize("name", ["Wijk [/] Zuid", "Wijk [fase 2] Zuid", "[bold]Wijk[/bold] $x$ <b>Zuid</b>"])
def test_check_site_prints_the_site_name_literally(name, tmp_path):
    html = tmp_path / "rapport [fase 2] [" / "] zuid.html"  # the path reads "... [/] zuid.html"
    html.parent.mkdir()
    out = invoke("check-site", EXAMPLE, "186150,437150", "--radius", "150", "--dwellings", "100", "--heating",
                 "all_electric", "--start-year", "2027", "--name", name, "--html", html)
    assert f"{name} (Woningbouwlocaties, " in out
    assert f"Past vanaf 2030. {name} (" in flat(out)
    assert f"one-page report: {html}" in flat(out)
    assert name.replace("<", "&lt;").replace(">", "&gt;") in html.read_text(encoding="utf-8")


def test_check_site_prints_hostile_substations_literally(hostile_project):
    out = flat(invoke("check-site", hostile_project.toml, "186150,437150", "--radius", "150", "--dwellings", "100",
                      "--heating", "all_electric", "--start-year", "2027", "--name", "Wijk [/] Zuid"))
    # OS06 has room in 2028 but not from 2031: the nearest with room in every year is OS02
    assert f"nearest substations with room for the whole site in every year to 2040: {hostile_id('OS02')}" in out
    assert f"planned reinforcements: {hostile_id('OS07')} +40 MVA in 2030" in out


def test_rank_prints_ids_and_folder_literally(hostile_project, tmp_path):
    folder = tmp_path / "rang [fase 2] [/]"
    out = invoke("rank", hostile_project.toml, "--out", folder)
    assert f"files in {folder}/" in out
    assert "[/] [fase 2]" in out  # the substation ids in the programme table


def test_diff_prints_names_and_folder_literally(example_run, hostile_run, hostile_project, tmp_path):
    folder = tmp_path / "verschil [fase 2] [/]"
    out = invoke("diff", example_run.out, hostile_run, "--out", folder)
    assert f"new: {hostile_run} ({hostile_project.name}, run " in out
    assert f"only in new {[VARIANT]}" in out
    assert f"files in {folder}/" in out


def test_conflicts_prints_ids_and_folder_literally(hostile_project, tmp_path):
    folder = tmp_path / "conflicten [fase 2] [/]"
    out = flat(invoke("conflicts", hostile_project.toml, "--out", folder))
    assert f"in {folder}/" in out
    assert "[/] [fase 2]" in out  # the hostile ids of the worst conflicts
    assert (folder / "conflicts.csv").is_file()


def test_run_and_map_print_their_folder_literally(tmp_path):
    out_dir = tmp_path / "uit [fase 2] [/]"
    out = flat(invoke("run", EXAMPLE, "--out", out_dir, "--variant", "basis", "--no-qgis"))
    assert f"files in {out_dir}/" in out
    maps = tmp_path / "kaarten [b]"
    out = flat(invoke("map", out_dir, "--out", maps))
    assert f"files in {maps}/" in out


def test_a_variant_named_with_a_closing_tag_does_not_break_the_progress_line(tmp_path):
    import shutil

    d = tmp_path / "p"
    shutil.copytree("layers", d)
    toml = (d / "example_region.toml").read_text(encoding="utf-8").replace("[variants.hoog]", '[variants."hoog [/]"]')
    toml = toml.replace("[ranking.variants.hoog.weights]", '[ranking.variants."hoog [/]".weights]')
    (d / "example_region.toml").write_text(toml, encoding="utf-8")
    out = flat(invoke("run", d / "example_region.toml", "--out", tmp_path / "out", "--no-maps", "--no-qgis"))
    assert "variant hoog [/]" in out
