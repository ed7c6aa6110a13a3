"""The interactive map in real headless Chromium: offline, layers, year control, legend, colours.

Uses :mod:`tests.clients.chromium` (CDP over Chromium's debugging pipe). The
page is opened from ``file://`` with the network unused: every request it
makes is recorded and must be ``file:`` or ``data:``. Interaction is checked
by a probe script appended to a *copy* of the page (the product page is not
changed): it reads the layer control and legend from the DOM, moves the year
slider and the direction/variant selects with real input/change events, and
reports the fill colour of every service-area path; the test compares those
colours with the statuses in the headroom table.

One screenshot of the example region is kept in ``test-artifacts/`` (not committed).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from spatialprog import fields as F
from spatialprog.maps import MAP_HTML, write_maps
from spatialprog.maps import _data as D
from spatialprog.maps.interactive import AREA_FILL_OPACITY, MAP_BACKGROUND
from spatialprog.outputs import RunOutputs

from .clients.chromium import chromium_available, load_page
from .conftest import LAYER_TITLES, NO_DATA_NL, STATUS_NL, rgb

pytestmark = pytest.mark.client

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
WINDOW = (1400, 900)

_reason = chromium_available()
if _reason:
    pytestmark = [pytest.mark.client, pytest.mark.skip(reason=f"headless Chromium not available: {_reason}")]

# (year, direction, variant) set through the controls, in this order
CASES = [(2025, "offtake", "basis"), (2040, "offtake", "basis"), (2040, "feedin", "basis"),
         (2040, "offtake", "hoog"), (2030, "offtake", "vertraagd")]

PROBE = """
<script>
(function () {
  function fills() {
    return Array.prototype.map.call(document.querySelectorAll("path.sp-area"), function (p) {
      return p.getAttribute("fill"); });
  }
  function set(year, dir, variant) {
    var y = document.getElementById("sp-year"); y.value = year; y.dispatchEvent(new Event("input"));
    var d = document.getElementById("sp-direction"); d.value = dir; d.dispatchEvent(new Event("change"));
    var v = document.getElementById("sp-variant"); v.value = variant; v.dispatchEvent(new Event("change"));
    return {state: document.getElementById("sp-panel").getAttribute("data-state"), fills: fills(),
            yearShown: document.getElementById("sp-year-val").textContent};
  }
  var out = {
    overlays: Array.prototype.map.call(document.querySelectorAll(".leaflet-control-layers-overlays label"),
      function (l) { return l.textContent.trim(); }),
    legend: Array.prototype.map.call(document.querySelectorAll("#sp-legend .sp-li"),
      function (e) { return e.textContent.replace(/\\s+/g, " ").trim(); }),
    scale: document.querySelectorAll(".leaflet-control-scale").length,
    title: document.querySelector(".sp-title").textContent.trim(),
    nSubs: document.querySelectorAll("path.leaflet-interactive").length,
    clusters: document.querySelectorAll(".marker-cluster").length,
    initial: {state: document.getElementById("sp-panel").getAttribute("data-state"), fills: fills()},
    cases: CASES.map(function (c) { return set(c[0], c[1], c[2]); })
  };
  console.log("SPATIALPROG_PROBE " + JSON.stringify(out));
})();
</script>
"""


@pytest.fixture(scope="module")
def outputs(example_result) -> RunOutputs:
    return RunOutputs.from_result(example_result, run_date=datetime(2026, 3, 14, tzinfo=UTC))


@pytest.fixture(scope="module")
def map_html(outputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("map")
    write_maps(outputs, out, static=False)
    return out / MAP_HTML


def _expected_fills(outputs: RunOutputs, year: int, direction: str, variant: str) -> Counter:
    h = outputs.tables["headroom"]
    h = h[(h[F.YEAR] == year) & (h[F.DIRECTION] == direction) & (h[F.VARIANT] == variant)]
    status = dict(zip(h[F.SUBSTATION_ID].astype(str), h[F.STATUS], strict=True))
    colour = {code: c for code, (_, c) in STATUS_NL.items()} | {NO_DATA_NL[0]: NO_DATA_NL[2]}
    areas = outputs.layers["service_areas"]
    return Counter(colour[status.get(s, NO_DATA_NL[0])] for s in areas[F.SUBSTATION_ID].astype(str))


def _offline(res) -> None:
    assert res.console_errors == []
    outside = [u for u in res.requests if not u.startswith(("file:", "data:"))]
    assert outside == [], f"the page asked for {outside}"
    assert res.failed_requests == []


def test_map_offline_screenshot_has_status_colours(map_html, outputs):
    """No console error, no request leaving the file, and the status colours on screen (2040, offtake)."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "map_example_region.png"
    res = load_page(map_html.as_uri() + "#jaar=2040&richting=afname", screenshot_path=shot, window_size=WINDOW)
    _offline(res)
    assert res.title.startswith(outputs.project_name)
    from PIL import Image

    with Image.open(shot) as im:
        img = np.asarray(im.convert("RGB")).astype(float)
    bg = np.array(rgb(MAP_BACKGROUND), dtype=float)
    assert img.std() > 20, "blank screenshot"
    counts = {}
    for code, (_, colour) in STATUS_NL.items():
        blended = AREA_FILL_OPACITY * np.array(rgb(colour), dtype=float) + (1 - AREA_FILL_OPACITY) * bg
        counts[code] = int((np.abs(img - blended).max(axis=2) <= 6).sum())
    expected = {code for code, n in Counter(
        D.status_lookup(outputs).xs(("basis", "offtake", 2040), level=(0, 1, 2))[F.STATUS]).items() if n}
    for code in expected:  # every status present in 2040 covers a visible share of the map
        assert counts[code] > 5_000, (code, counts)
    for code in set(counts) - expected:
        assert counts[code] < 500, (code, counts)


def test_layer_control_legend_and_year_control(map_html, outputs, tmp_path):
    page = map_html.read_text(encoding="utf-8")
    probe = PROBE.replace("CASES.map", f"{json.dumps(CASES)}.map")
    probed = tmp_path / "map_probe.html"
    probed.write_text(page.replace("</html>", probe + "</html>"), encoding="utf-8")
    res = load_page(probed, window_size=WINDOW)
    _offline(res)
    line = next(m for m in res.console_messages if "SPATIALPROG_PROBE " in m)
    out = json.loads(line.split("SPATIALPROG_PROBE ", 1)[1])

    for title in LAYER_TITLES.values():
        assert title in out["overlays"], (title, out["overlays"])
    assert out["scale"] == 1
    assert out["title"] == outputs.project_name
    legend = " | ".join(out["legend"])
    for label, _ in STATUS_NL.values():
        assert label in legend
    assert out["clusters"] >= 1  # the housing sites are clustered at the opening zoom
    assert out["nSubs"] >= 12  # at least the example's 12 substations are drawn as interactive paths

    # initial state: the base year, offtake, base variant
    assert out["initial"]["state"] == "2025|offtake|basis"
    assert Counter(out["initial"]["fills"]) == _expected_fills(outputs, 2025, "offtake", "basis")
    seen = set()
    for (year, direction, variant), got in zip(CASES, out["cases"], strict=True):
        assert got["state"] == f"{year}|{direction}|{variant}"
        assert got["yearShown"] == str(year)
        assert Counter(got["fills"]) == _expected_fills(outputs, year, direction, variant), (year, direction, variant)
        seen.add(tuple(sorted(Counter(got["fills"]).items())))
    assert len(seen) >= 3, "the controls did not change the colours"


def test_map_with_hooks_offline(outputs, tmp_path):
    """Conflicts and the ranked programme (stand-ins) render without errors and show their layers."""
    from tests.test_maps import _with_hooks

    write_maps(_with_hooks(outputs), tmp_path, static=False)
    page = (tmp_path / MAP_HTML).read_text(encoding="utf-8")
    probe = """<script>console.log("SPATIALPROG_PROBE " + JSON.stringify({
      overlays: Array.prototype.map.call(document.querySelectorAll(".leaflet-control-layers-overlays label"),
        function (l) { return l.textContent.trim(); }),
      ranks: document.querySelectorAll(".sp-rank").length}));</script>"""
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</html>", probe + "</html>"), encoding="utf-8")
    res = load_page(probed, window_size=WINDOW)
    _offline(res)
    out = json.loads(next(m for m in res.console_messages if "SPATIALPROG_PROBE " in m).split(" ", 2)[2])
    assert "Conflicten (ruimteclaims)" in out["overlays"] and "Programma (rangorde)" in out["overlays"]
    assert out["ranks"] >= 3  # numbered markers (plus the one in the legend)


# --------------------------------------------------------------------------------------
# the carrier control and the comparison of two variants, on the map `spatialprog run` wrote

CARRIER_PROBE = """
<script>
(function () {
  function q(sel) { return Array.prototype.map.call(document.querySelectorAll(sel), function (p) {
    return {fill: p.getAttribute("fill"), stroke: p.getAttribute("stroke")}; }); }
  function set(id, value, ev) { var el = document.getElementById(id); el.value = value; el.dispatchEvent(new Event(ev || "change")); }
  var subs = null, map = null;
  Object.keys(window).forEach(function (k) {
    var v; try { v = window[k]; } catch (e) { return; }
    if (v instanceof L.Map) map = v;
    if (v instanceof L.GeoJSON && v.getLayers().length && v.getLayers()[0].feature.properties.substation_id &&
        v.getLayers()[0].getLatLng) subs = v;
  });
  function subStyles() {
    var out = {};
    subs.eachLayer(function (l) { out[l.feature.properties.substation_id] = {fill: l.options.fillColor, ring: l.options.color}; });
    return out;
  }
  var out = {initial: {carrier: document.getElementById("sp-panel").getAttribute("data-carrier"),
                       options: Array.prototype.map.call(document.getElementById("sp-carrier").options,
                         function (o) { return [o.value, o.textContent]; }),
                       areas: q("path.sp-area").length, h2: q("path.sp-node-hydrogen").length}, cases: []};
  CASES.forEach(function (c) {
    set("sp-year", c[0], "input"); set("sp-direction", c[1]); set("sp-variant", c[2]); set("sp-carrier", c[3]);
    set("sp-compare", "");
    out.cases.push({nodes: q("path.sp-node-" + c[3]), areas: q("path.sp-area").length, subs: q("path.sp-area").length,
                    hash: window.location.hash, carrier: document.getElementById("sp-panel").getAttribute("data-carrier")});
  });
  // two variants side by side: electricity, 2040, offtake, basis against hoog
  set("sp-carrier", "electricity"); set("sp-year", 2040, "input"); set("sp-direction", "offtake");
  set("sp-variant", "basis"); set("sp-compare", "hoog");
  out.compare = {state: document.getElementById("sp-panel").getAttribute("data-compare"), subs: subStyles(),
                 legend: document.getElementById("sp-cmp-text").textContent, hash: window.location.hash};
  var target = null;
  subs.eachLayer(function (l) { if (l.feature.properties.substation_id === COMPARE_SUB) target = l; });
  target.openPopup();
  out.compare.popup = target.getPopup().getElement().querySelector(".leaflet-popup-content").innerText;
  target.closePopup();
  set("sp-compare", "");
  out.compareOff = subStyles();
  // a hydrogen node's popup in its own unit
  set("sp-carrier", "hydrogen"); set("sp-year", 2040, "input");
  var node = null;
  map.eachLayer(function (l) { if (l.feature && l.feature.properties.id === STATION && l.getPopup) node = l; });
  node.openPopup();
  out.h2popup = node.getPopup().getElement().querySelector(".leaflet-popup-content").innerText;
  console.log("SPATIALPROG_PROBE " + JSON.stringify(out));
})();
</script>
"""


def _colour_of(status: str | None) -> str:
    colour = {code: c for code, (_, c) in STATUS_NL.items()} | {NO_DATA_NL[0]: NO_DATA_NL[2]}
    return colour[status if isinstance(status, str) else NO_DATA_NL[0]]


def test_carrier_control_colours_the_nodes_by_their_headroom(example_run, tmp_path):
    """Switching to waterstof / warmte / gas colours that carrier's nodes by the status in headroom.csv, hides the
    electricity grid's areas, and the URL fragment says which carrier is shown; a node's popup is in MW_H2."""
    import pandas as pd

    h = pd.read_csv(example_run.out / "headroom.csv", dtype={"substation_id": str})
    h2 = h[h["carrier"] == "hydrogen"]
    (station,) = set(h2["substation_id"])  # the example's one hydrogen station
    cases = [(2025, "offtake", "basis", "hydrogen"), (2030, "offtake", "basis", "hydrogen"),
             (2040, "feedin", "hoog", "hydrogen"), (2035, "offtake", "basis", "heat"), (2040, "feedin", "basis", "gas"),
             (2040, "offtake", "vertraagd", "gas")]
    b = h[(h["variant"] == "basis") & (h["year"] == 2040) & (h["direction"] == "offtake") & (h["carrier"] == "electricity")]
    o = h[(h["variant"] == "hoog") & (h["year"] == 2040) & (h["direction"] == "offtake") & (h["carrier"] == "electricity")]
    d = (o.set_index("substation_id")["headroom_mw"] - b.set_index("substation_id")["headroom_mw"]).abs()
    cmp_sub = str(d.idxmax())
    page = (example_run.out / MAP_HTML).read_text(encoding="utf-8")
    probe = CARRIER_PROBE.replace("CASES.forEach", f"{json.dumps(cases)}.forEach").replace(
        "COMPARE_SUB", json.dumps(cmp_sub)).replace("STATION", json.dumps(station))
    probed = tmp_path / "map_probe.html"
    probed.write_text(page.replace("</html>", probe + "</html>"), encoding="utf-8")
    res = load_page(probed.as_uri() + "#drager=elektriciteit", window_size=WINDOW)
    _offline(res)
    out = json.loads(next(m for m in res.console_messages if "SPATIALPROG_PROBE " in m).split("SPATIALPROG_PROBE ", 1)[1])

    assert out["initial"]["carrier"] == "electricity" and out["initial"]["h2"] == 0 and out["initial"]["areas"] > 0
    assert out["initial"]["options"] == [["electricity", "Elektriciteit"], ["hydrogen", "Waterstof"],
                                         ["heat", "Warmte"], ["gas", "Gas"]]
    h2_fills = set()
    for (year, direction, variant, carrier), got in zip(cases, out["cases"], strict=True):
        rows = h[(h["carrier"] == carrier) & (h["year"] == year) & (h["direction"] == direction)
                 & (h["variant"] == variant)]
        nodes = set(h.loc[h["carrier"] == carrier, "substation_id"])
        status = dict(zip(rows["substation_id"], rows["status"], strict=True))
        want = Counter(_colour_of(status.get(n)) for n in nodes)
        assert Counter(n["fill"] for n in got["nodes"]) == want, (year, direction, variant, carrier)
        assert got["carrier"] == carrier and got["areas"] == 0  # the electricity areas are hidden
        assert f"drager={ {'hydrogen': 'waterstof', 'heat': 'warmte', 'gas': 'gas'}[carrier]}" in got["hash"]
        if carrier == "hydrogen":
            h2_fills |= {n["fill"] for n in got["nodes"]}
    # H2-01 comes into service in 2030: no figure in 2025, room from 2030
    assert h2_fills == {NO_DATA_NL[2], STATUS_NL["ruimte"][1]}
    # its popup gives capacity, load and headroom in MW_H2: 25 - 6.67 = 18.3 MW_H2 offtake in 2040 (headroom.csv)
    row = h2[(h2["year"] == 2040) & (h2["direction"] == "offtake") & (h2["variant"] == "basis")].iloc[0]
    assert station in out["h2popup"] and "MW_H2" in out["h2popup"]
    assert f"{row['headroom_mw']:.1f}".replace(".", ",") in out["h2popup"]

    # two variants side by side: fill = basis, ring = hoog, per substation as in headroom.csv
    cmp = out["compare"]
    assert cmp["state"] == "hoog" and cmp["legend"] == "vulling: basis; rand: hoog" and "vergelijk=hoog" in cmp["hash"]
    sb, so = dict(zip(b["substation_id"], b["status"], strict=True)), dict(zip(o["substation_id"], o["status"], strict=True))
    for sid, st in cmp["subs"].items():
        assert st == {"fill": _colour_of(sb.get(sid)), "ring": _colour_of(so.get(sid))}, sid
    assert len({(v["fill"], v["ring"]) for v in cmp["subs"].values()}) >= 2
    assert {v["ring"] for v in out["compareOff"].values()} == {"#111111"}  # no comparison: the plain black ring
    # the popup gives both headroom figures and their difference (2040 row)
    hb, ho = float(b.set_index("substation_id").at[cmp_sub, "headroom_mw"]), float(o.set_index("substation_id").at[cmp_sub, "headroom_mw"])

    def nl(x: float) -> str:
        return f"{x:.1f}".replace(".", ",")

    section = out["compare"]["popup"].split("Vergelijking afname", 1)[1]
    line = next(ln for ln in section.splitlines() if ln.startswith("2040"))
    diff = round(ho - hb, 1)
    assert nl(hb) in line and nl(ho) in line and (("+" if diff > 0 else "") + nl(diff)) in line, line


LABEL_PROBE = """(async function () {
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  var map = null;
  Object.keys(window).forEach(function (k) { var v; try { v = window[k]; } catch (e) { return; }
                                            if (v instanceof L.Map) map = v; });
  function texts(sel) { return Array.prototype.map.call(document.querySelectorAll(sel), function (e) {
    return e.textContent; }); }
  function shape(sel) {
    var el = document.querySelector(sel), cs = el && getComputedStyle(el);
    return cs ? {radius: cs.borderTopLeftRadius, w: el.getBoundingClientRect().width} : null;
  }
  var out = {zoom0: map.getZoom(), boundary: texts(".sp-label-boundary"), subs0: texts(".sp-label-sub"),
             rank: shape(".leaflet-marker-pane .sp-rank"), cluster: shape(".marker-cluster div"),
             rankAfter: getComputedStyle(document.querySelector(".leaflet-marker-pane .sp-rank"), "::after").borderTopColor,
             legend: texts("#sp-legend .sp-li")};
  map.setZoom(13, {animate: false});
  await sleep(300);
  out.zoom1 = map.getZoom();
  out.subs1 = texts(".sp-label-sub");
  return out;
})()"""


def test_context_labels_and_programme_pins(example_run):
    """Boundary names on the map, substation names from zoom 12, programme markers as pins (not round like the
    clusters), with a legend entry each (issue 16 item 3)."""
    import pyogrio

    res = load_page(example_run.out / MAP_HTML, evaluate=LABEL_PROBE, window_size=WINDOW)
    _offline(res)
    v = res.value
    bounds = pyogrio.read_dataframe(example_run.out / "results.gpkg", layer="boundaries")
    subs = pyogrio.read_dataframe(example_run.out / "results.gpkg", layer="substations")
    assert sorted(v["boundary"]) == sorted(bounds["name"])
    assert v["zoom0"] < 12 and v["subs0"] == []  # the region's overview: no substation labels
    assert v["zoom1"] == 13 and sorted(v["subs1"]) == sorted(subs["name"].fillna(subs["id"]))
    assert v["cluster"]["radius"] not in ("0px", "3px") and v["rank"]["radius"] == "3px"  # round bubble, square pin
    assert v["rankAfter"] == "rgb(17, 17, 17)"  # the pin's point
    legend = " | ".join(v["legend"])
    assert "Cluster van locaties (aantal)" in legend and "Programma (rangorde): volgorde" in legend


HOSTILE_NODE_PROBE = """(async function () {
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function stray(node) { return node.querySelectorAll("img, script, a, iframe, object, embed").length; }
  var map = null;
  Object.keys(window).forEach(function (k) { var v; try { v = window[k]; } catch (e) { return; }
                                            if (v instanceof L.Map) map = v; });
  var c = document.getElementById("sp-carrier"); c.value = "hydrogen"; c.dispatchEvent(new Event("change"));
  var y = document.getElementById("sp-year"); y.value = 2040; y.dispatchEvent(new Event("input"));
  var k = document.getElementById("sp-compare"); k.value = "hoog"; k.dispatchEvent(new Event("change"));
  var out = {popups: [], tips: []};
  map.eachLayer(function (l) {
    if (!(l.feature && l.getPopup && l.getPopup() && /sp-node/.test(l.options.className || ""))) return;
    l.openPopup();
    var p = l.getPopup().getElement().querySelector(".leaflet-popup-content");
    out.popups.push({text: p.innerText, stray: stray(p)});
    l.closePopup();
    l.openTooltip();
    var t = l.getTooltip().getElement();
    out.tips.push({text: t.innerText, stray: stray(t)});
  });
  c.value = "electricity"; c.dispatchEvent(new Event("change"));  // the substations' names come with their layer
  map.setZoom(13, {animate: false});
  await sleep(1500);
  out.labels = Array.prototype.map.call(document.querySelectorAll(".sp-label"), function (e) {
    return {text: e.textContent, stray: stray(e)}; });
  out.pwned = window.__pwned === undefined ? null : window.__pwned;
  return out;
})()"""


def test_node_popups_and_labels_show_hostile_names_as_text(outputs, tmp_path):
    """A hydrogen station, a substation and a municipality named with markup: the node's popup and tooltip
    and the map's labels show the names as text and run nothing."""
    from tests.test_hostile_text import HOSTILE

    layers = dict(outputs.layers)
    layers["hydrogen_stations"] = layers["hydrogen_stations"].assign(name=f"H2 {HOSTILE}")
    layers["substations"] = layers["substations"].assign(name=lambda g: g["id"] + " " + HOSTILE)
    layers["boundaries"] = layers["boundaries"].assign(name=lambda g: g["id"] + " " + HOSTILE)
    write_maps(RunOutputs(layers, dict(outputs.tables), dict(outputs.manifest)), tmp_path, static=False)
    res = load_page(tmp_path / MAP_HTML, evaluate=HOSTILE_NODE_PROBE, window_size=WINDOW)
    v = res.value
    assert v["pwned"] is None and res.console_errors == []
    assert len(v["popups"]) == len(v["tips"]) == 1
    for shown in (*v["popups"], *v["tips"]):
        assert f"H2 {HOSTILE}" in shown["text"] and shown["stray"] == 0
    assert "MW_H2" in v["popups"][0]["text"] and "Vergelijking afname" in v["popups"][0]["text"]
    texts = [x["text"] for x in v["labels"]]
    assert all(x["stray"] == 0 for x in v["labels"])
    assert {f"{i} {HOSTILE}" for i in layers["boundaries"]["id"]} <= set(texts)
    assert {f"{i} {HOSTILE}" for i in layers["substations"]["id"]} <= set(texts)


SITING_PROBE = """(async function () {
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  var out = {candidates: [], overlay: null};
  var map = null;
  Object.keys(window).forEach(function (k) { var v; try { v = window[k]; } catch (e) { return; }
                                            if (v instanceof L.Map) map = v; });
  map.eachLayer(function (l) {
    if (l.options && l.options.dashArray === "6 4" && l.getPopup && l.getPopup()) {
      l.openPopup();
      out.candidates.push(l.getPopup().getElement().querySelector(".sp-pop-title").textContent);
      l.closePopup();
    }
  });
  var names = Array.prototype.map.call(document.querySelectorAll(".leaflet-control-layers-overlays label"),
                                        function (e) { return e.textContent.trim(); });
  out.layers = names;
  var box = Array.prototype.filter.call(document.querySelectorAll(".leaflet-control-layers-overlays label"),
    function (e) { return /Geschiktheid/.test(e.textContent); })[0];
  out.overlayBefore = document.querySelectorAll("img.leaflet-image-layer").length;
  if (box) { box.querySelector("input").click(); await sleep(500); }
  var img = document.querySelector("img.leaflet-image-layer");
  out.overlay = img ? {w: img.naturalWidth, h: img.naturalHeight, src: img.src.slice(0, 22)} : null;
  return out;
})()"""


def test_candidate_sites_and_the_suitability_surface_on_the_map(example_run):
    """The run's candidate sites for a new substation (base variant) with their popups, and the suitability
    surface as an optional layer, embedded (offline) and off until chosen (issue 15)."""
    import pyogrio

    ARTIFACTS.mkdir(exist_ok=True)
    res = load_page(example_run.out / MAP_HTML, evaluate=SITING_PROBE, window_size=WINDOW,
                    screenshot_path=ARTIFACTS / "map_siting.png")
    _offline(res)
    v = res.value
    cand = pyogrio.read_dataframe(example_run.out / "results.gpkg", layer="candidate_sites")
    assert sorted(v["candidates"]) == sorted(cand.loc[cand["variant"] == "basis", "candidate_id"])
    assert "Kandidaat-locaties nieuw onderstation" in v["layers"]
    assert "Geschiktheid voor een nieuw onderstation" in v["layers"]
    assert v["overlayBefore"] == 0  # off until chosen
    assert v["overlay"] is not None and v["overlay"]["src"].startswith("data:image/png;base64")
    assert v["overlay"]["w"] > 100 and v["overlay"]["h"] > 100


SITE_CLICK_PROBE = """(async function () {
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  var selector = %s, colour = %s, out = {clicked: null};
  var path = Array.prototype.filter.call(document.querySelectorAll(selector), function (p) {
    return colour === null || p.getAttribute("stroke") === colour; })[0];
  if (!path) return out;
  var box = path.getBoundingClientRect();
  path.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, view: window,
    clientX: box.left + box.width / 2, clientY: box.top + box.height / 2}));
  await sleep(300);
  var p = document.querySelector(".leaflet-popup-content");
  out.clicked = p ? {text: p.innerText, title: p.querySelector(".sp-pop-title").textContent,
                     rows: Array.prototype.map.call(p.querySelectorAll("table.sp-kv tr"), function (tr) {
                       return [tr.children[0].textContent, tr.children[1].textContent]; }),
                     stray: p.querySelectorAll("img, script, a, iframe, object, embed").length} : null;
  out.pwned = window.__pwned === undefined ? null : window.__pwned;
  return out;
})()"""


def test_clicking_a_site_opens_its_popup_built_in_the_page(outputs, tmp_path):
    """A real click on a housing site opens the popup the page builds from the layer's compact table: its name
    (markup shown as text, nothing run), id, layer, columns with their Dutch aliases and values, and its
    substation, as in the run's tables."""
    from spatialprog.kinds import LAYER_KINDS
    from spatialprog.sheets import ALIASES_NL
    from tests.test_hostile_text import HOSTILE

    layers = dict(outputs.layers)
    layers["housing_sites"] = layers["housing_sites"].assign(name=lambda g: g["id"] + " " + HOSTILE)
    write_maps(RunOutputs(layers, dict(outputs.tables), dict(outputs.manifest)), tmp_path, static=False)
    probe = SITE_CLICK_PROBE % (json.dumps("path.sp-site"), json.dumps(D.site_colour("housing_sites")))
    res = load_page(tmp_path / MAP_HTML, evaluate=probe, window_size=WINDOW)
    v = res.value
    assert res.console_errors == [] and v["pwned"] is None
    shown = v["clicked"]
    assert shown is not None, "no popup opened"
    assert shown["stray"] == 0
    hs = layers["housing_sites"].set_index("id")
    sid = shown["title"].rsplit("(", 1)[1].rstrip(")")
    site = hs.loc[sid]
    assert shown["title"] == f"{sid} {HOSTILE} ({sid})"
    assert D.title_nl("housing_sites") in shown["text"]
    rows = dict(shown["rows"])
    alias = {c.name: c.alias_nl or c.name for c in LAYER_KINDS["housing_sites"].columns}
    assert rows[alias["dwellings"]] == str(int(site["dwellings"]))
    subs = outputs.layers["substations"].set_index("id")["name"]
    assert rows[ALIASES_NL[F.SUBSTATION_ID]] == f"{subs[site[F.SUBSTATION_ID]]} ({site[F.SUBSTATION_ID]})"
    # the demand at the milestone years (base variant), as in the demand table
    lines = shown["text"].split("\n")
    assert f"vraag (MW), {ALIASES_NL[F.VARIANT]} basis" in lines
    head = next(ln for ln in lines if ln.startswith("\t2")).split("\t")[1:]
    got = next(ln for ln in lines if ln.startswith("afname\t")).split("\t")[1:]
    d = outputs.tables["demand"]
    d = d[(d[F.LAYER] == "housing_sites") & (d[F.SITE_ID] == sid) & (d[F.VARIANT] == "basis")
          & (d[F.CARRIER] == F.ELECTRICITY)].groupby(F.YEAR)[F.OFFTAKE_MW].sum()
    assert got == [f"{d[int(y)]:.2f}".replace(".", ",") for y in head]


def test_clicking_a_conflict_shows_its_rule_and_the_two_claims(map_html, outputs):
    """A click on a land-claim conflict opens its popup: the description as title, the rule, and the two
    features ('<layer> <id> en <layer> <id>', put together in the page from the layer's columns)."""
    probe = SITE_CLICK_PROBE % (json.dumps("path.sp-conflict"), "null")
    res = load_page(map_html, evaluate=probe, window_size=WINDOW)
    shown = res.value["clicked"]
    assert res.console_errors == [] and shown is not None
    rows = dict(shown["rows"])
    from spatialprog.kinds import LAYER_KINDS

    def title(k):  # a constraint layer (natura2000) goes by its own name
        return D.title_nl(k) if k in LAYER_KINDS else k

    c = D.conflicts_frame(outputs)
    want = {(r.rule_id, f"{title(r.layer_a)} {r.id_a} en {title(r.layer_b)} {r.id_b}", r.description_nl)
            for r in c.itertuples()}
    assert (rows["regel"], rows["tussen"], shown["title"]) in want
