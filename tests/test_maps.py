"""Maps without a browser: offline HTML, size, determinism, hooks, static PNG/PDF, CLI."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from spatialprog import fields as F
from spatialprog.cli import cli
from spatialprog.maps import MAP_HTML, write_maps
from spatialprog.maps import _data as D
from spatialprog.maps.interactive import interactive_html
from spatialprog.maps.static import _nice_length, static_figures
from spatialprog.outputs import RunOutputs
from spatialprog.sheets import ALIASES_NL

from .conftest import EXAMPLE, LAYER_TITLES, NO_DATA_NL, STATUS_NL, rgb

RUN_DATE = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CDN_HOSTS = ("cdn.jsdelivr", "unpkg.com", "cdnjs.cloudflare", "code.jquery", "bootstrapcdn", "d3js.org",
             "googleapis", "rawcdn", "raw.githubusercontent", "openstreetmap")


@pytest.fixture(scope="module")
def outputs(example_result) -> RunOutputs:
    return RunOutputs.from_result(example_result, run_date=RUN_DATE)


@pytest.fixture(scope="module")
def html_text(outputs) -> str:
    return interactive_html(outputs)


def _with_hooks(outputs: RunOutputs) -> RunOutputs:
    """The example run plus a hand-made conflicts layer and ranking table (stand-ins for issues 3 and 4)."""
    layers = dict(outputs.layers)
    tables = dict(outputs.tables)
    hs = outputs.layers["housing_sites"].iloc[:2]
    iz = outputs.layers["industrial_zones"].iloc[:1]
    subs = outputs.layers["substations"]
    geoms = [hs.geometry.iloc[0].buffer(-5), shapely.LineString([hs.geometry.iloc[1].centroid,
                                                                   iz.geometry.iloc[0].centroid])]
    layers["conflicts"] = gpd.GeoDataFrame({
        "conflict_id": ["C1", "C2"], "rule_id": ["R01", "R07"], "severity": ["hoog", "middel"],
        "description_nl": ["Woningbouw en bedrijventerrein claimen dezelfde grond", "Te dicht bij onderstation"],
        "layer_a": ["housing_sites", "housing_sites"], "id_a": list(hs["id"]),
        "layer_b": ["industrial_zones", "substations"], "id_b": [iz["id"].iloc[0], subs["id"].iloc[0]],
        "area_m2": [1234.5, np.nan], "dist_m": [np.nan, 80.0]}, geometry=geoms, crs=subs.crs)
    tables["ranking"] = pd.DataFrame({
        "rank": [2, 1, 3], F.SUBSTATION_ID: list(subs["id"].iloc[[3, 5, 7]]),
        "intervention": ["extra transformator 40 MVA", "nieuw onderstation", "extra transformator 20 MVA"],
        "mva": [40.0, 80.0, 20.0], "needed_by_year": [2029, 2027, 2032], "score": [0.81, 0.93, 0.55]})
    return RunOutputs(layers, tables, dict(outputs.manifest))


def _script_and_link_urls(text: str) -> list[str]:
    return re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)", text, re.I)


# --------------------------------------------------------------------------------------
# the interactive page


def test_html_loads_nothing_from_outside(html_text):
    assert _script_and_link_urls(html_text) == []
    assert "<script src" not in html_text.lower()
    for host in CDN_HOSTS:
        assert host not in html_text, host
    # the only http(s) URLs left are inert: Leaflet's attribution link, SVG namespaces, code comments
    urls = set(re.findall(r"https?://[A-Za-z0-9.-]+", html_text))
    assert urls <= {"https://leafletjs.com", "http://www.w3.org", "https://bugs.chromium.org",
                    "https://bugzilla.mozilla.org"}, urls


def test_html_inlines_leaflet_and_markercluster(html_text):
    assert 't.version="1.9.4"' in html_text
    assert "L.MarkerClusterGroup" in html_text
    assert "sourceMappingURL" not in html_text
    assert "url(images/" not in html_text


def test_html_has_dutch_layers_title_legend(html_text, outputs):
    for title in LAYER_TITLES.values():
        assert json.dumps(title)[1:-1] in html_text, title
    # the example region has land-claim conflicts; a result without a ranking has no programme layer
    assert "Conflicten" in html_text and "Programma (rangorde)" not in html_text
    assert outputs.project_name in html_text
    assert "14 maart 2026" in html_text
    assert "Fictieve gegevens" in html_text
    for label, colour in [*STATUS_NL.values(), NO_DATA_NL[1:]]:
        assert label in html_text and colour in html_text, label
    assert 'id="sp-year"' in html_text and 'id="sp-direction"' in html_text and 'id="sp-variant"' in html_text
    assert '"maxZoom": 18' in html_text


def test_html_small_and_deterministic(outputs, html_text):
    assert len(html_text.encode()) < 1_500_000
    assert interactive_html(outputs) == html_text
    # no random element ids (hex; a run of digits is data, e.g. which sites have demand)
    assert not [h for h in re.findall(r"[0-9a-f]{32}", html_text) if re.search("[a-f]", h)]
    assert "$(" not in html_text  # no jQuery calls (jQuery is not on the page)


def test_status_data_matches_headroom_table(html_text, outputs):
    """The page's status digits are the headroom table's statuses (checked on every cell)."""
    m = re.search(r"var D = (\{.*?\});\n", html_text)
    assert m
    data = json.loads(m.group(1))
    h = outputs.tables["headroom"]
    codes = data["codes"]
    assert data["variants"][0] == "basis" and set(data["variants"]) == set(h[F.VARIANT])
    for r in h.itertuples(index=False):
        i = data["subs"].index(r.substation_id)
        yi = data["years"].index(r.year)
        assert codes[int(data["status"][r.variant][r.direction][yi][i])] == r.status
        assert data["headroom"][r.variant][r.direction][yi][i] == pytest.approx(r.headroom_mw, abs=0.051)
    # by hand (test_example_region.py): OS06 2030 has 0.67 MW left of 40 MW, OS07 is 0.095 MW short in 2028
    for sid, year, status, mw in (("OS06", 2030, "waarschuwing", 0.7), ("OS07", 2028, "congestie", -0.1)):
        i, yi = data["subs"].index(sid), data["years"].index(year)
        assert codes[int(data["status"]["basis"]["offtake"][yi][i])] == status
        assert data["headroom"]["basis"]["offtake"][yi][i] == pytest.approx(mw)


def test_basemap_only_when_asked(outputs, html_text):
    assert "service.pdok.nl" not in html_text
    with_tiles = interactive_html(outputs, basemap=True)
    assert "service.pdok.nl/brt/achtergrondkaart" in with_tiles and "/grijs/" in with_tiles
    assert "BRT-achtergrondkaart (PDOK)" in with_tiles
    with pytest.raises(ValueError, match="nlmaps variant"):
        interactive_html(outputs, basemap="nope")


def test_display_copy_leaves_results_alone(outputs):
    areas = outputs.layers["service_areas"]
    before = areas.geometry.copy()
    shown = D.display_copy(areas, tolerance_m=50, to_wgs84=True)
    assert areas.geometry.equals(before) and areas.crs.to_epsg() == 28992
    assert shown.crs.to_epsg() == 4326 and len(shown) == len(areas)
    lon, lat = shown.geometry.iloc[0].exterior.coords[0]
    assert 3 < lon < 8 and 50 < lat < 54 and round(lon, 5) == lon


def test_hooks_conflicts_and_programme(outputs):
    o = _with_hooks(outputs)
    text = interactive_html(o)
    assert "Conflicten (ruimteclaims)" in text and "Programma (rangorde)" in text
    assert "Woningbouw en bedrijventerrein claimen dezelfde grond" in text
    assert "rang in programma" in text and "nieuw onderstation" in text
    assert len(re.findall(r'"rank": \d', text)) == 3
    assert "$(" not in text  # folium's Popup would need jQuery, which the page does not carry
    prog = D.programme_frame(o)
    assert list(prog["rank"]) == [1, 2, 3]
    # and a static map each (their files are checked on the example run's maps, test_write_maps_files_nonblank)
    assert list(static_figures(o))[-2:] == ["conflicten", "programma"]


def test_no_hooks_without_data(outputs):
    bare = RunOutputs({k: v for k, v in outputs.layers.items() if k != "conflicts"}, dict(outputs.tables),
                      outputs.manifest)
    assert D.programme_frame(bare) is None and D.conflicts_frame(bare) is None
    assert D.conflicts_frame(outputs) is not None


# --------------------------------------------------------------------------------------
# static maps and files


def _status_pixels(png: Path) -> dict[str, int]:
    from PIL import Image

    with Image.open(png) as im:
        img = np.asarray(im.convert("RGB")).astype(np.int16)
    out = {}
    for code, (_, colour) in STATUS_NL.items():
        out[code] = int((np.abs(img - np.array(rgb(colour), dtype=np.int16)).max(axis=2) <= 8).sum())
    return out


@pytest.fixture(scope="module")
def maps(example_run, tmp_path_factory) -> list[Path]:
    """The maps of the shared example run (with its conflicts and programme) drawn again from its folder, once."""
    return write_maps(RunOutputs.read(example_run.out), tmp_path_factory.mktemp("maps"))


def test_write_maps_files_nonblank(maps):
    files, folder = maps, maps[0].parent
    assert files[0].name == MAP_HTML
    stems = ["netruimte_afname", "netruimte_afname_hoog", "netruimte_afname_vertraagd", "netruimte_invoeding",
             "netruimte_invoeding_hoog", "netruimte_invoeding_vertraagd", "eerste_tekort_afname",
             "eerste_tekort_invoeding", "conflicten", "programma"]  # every variant (tests/test_static_maps.py)
    assert [p.name for p in files] == [MAP_HTML, *(f"{s}.{x}" for s in stems for x in ("png", "pdf"))]
    assert not [p for p in folder.iterdir() if p.name.startswith(".staging")]
    for p in files:
        assert p.stat().st_size > 10_000, p
    assert files[2].read_bytes().startswith(b"%PDF")
    px = _status_pixels(folder / "netruimte_afname.png")
    # the 2040 offtake panel of the example has congested areas, the 2025 one areas with room
    assert px["congestie"] > 20_000 and px["ruimte"] > 20_000
    from PIL import Image

    with Image.open(files[1]) as im:
        w, h = im.size
    assert (w, h) == (2338, 1654)  # A4 landscape at 200 dpi


def test_static_maps_deterministic(example_run, maps):
    """Drawn again from the run folder, every map is byte for byte the one the run drew."""
    for p in maps:
        assert p.read_bytes() == (example_run.out / p.name).read_bytes(), p.name


def test_static_figures_keys(outputs):
    figs = static_figures(outputs)
    assert [k for k in figs if not k.startswith("netruimte_")] == ["eerste_tekort_afname", "eerste_tekort_invoeding",
                                                                     "conflicten"]
    fig = figs["netruimte_afname"]
    texts = [t.get_text() for t in fig.texts]
    assert any(t.endswith("fictieve gegevens") and t.startswith("Bron:") for t in texts)
    assert len(fig.axes) == 4  # milestone years 2025, 2030, 2035, 2040


def test_nice_scale_lengths():
    assert [_nice_length(s) for s in (40_000, 7_000, 300_000, 900)] == [10_000, 1_000, 50_000, 200]


# --------------------------------------------------------------------------------------
# CLI


def test_cli_map_from_run_folder_does_not_recompute(example_run_bare, tmp_path, monkeypatch):
    shutil.copytree(example_run_bare.out, tmp_path, dirs_exist_ok=True)  # a run without maps
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "run_date": RUN_DATE.isoformat()}))
    import spatialprog.pipeline as pipeline

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(pipeline, "compute", boom)
    r = CliRunner().invoke(cli, ["map", str(tmp_path), "--no-static"], obj={})
    assert r.exit_code == 0, r.output
    assert (tmp_path / MAP_HTML).is_file() and not (tmp_path / "netruimte_afname.png").exists()
    assert "14 maart 2026" in (tmp_path / MAP_HTML).read_text(encoding="utf-8")


def test_cli_map_from_project(tmp_path):
    r = CliRunner().invoke(cli, ["map", str(EXAMPLE), "--out", str(tmp_path), "--no-static"], obj={})
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", MAP_HTML]  # the folder says what wrote it


def test_cli_map_bad_source(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a\n")
    r = CliRunner().invoke(cli, ["map", str(p)], obj={})
    assert r.exit_code == 2 and "project file" in r.output
    r = CliRunner().invoke(cli, ["map", str(tmp_path)], obj={})
    assert r.exit_code == 2 and "not the output folder of a run" in r.output


def test_cli_run_writes_maps_unless_no_maps(example_run, example_run_bare):
    assert (example_run.out / MAP_HTML).is_file() and (example_run.out / "netruimte_afname.pdf").is_file()
    assert not (example_run_bare.out / MAP_HTML).exists()  # --no-maps
    assert not list(example_run_bare.out.glob("*.png")) and not list(example_run_bare.out.glob("*.pdf"))


def test_full_run_shows_the_ranked_programme(example_run):
    """`run` ranks before it draws: the map and the static maps show the base variant's programme."""
    out = example_run.out
    o = RunOutputs.read(out)
    prog = D.programme_frame(o)
    table = pd.read_csv(out / "programme.csv")
    base = table[(table["variant"] == "basis") & (table["carrier"] == "electricity")].sort_values("programme_rank")
    assert list(prog["rank"]) == list(base["programme_rank"])
    assert list(prog["substation_id"]) == list(base["substation_id"])
    assert list(prog["rank"]) == list(range(1, len(prog) + 1))
    # by hand (test_example_region.py): OS06 first short in 2031; OS07 in 2028, until its planned +40 MVA (2030)
    by_sub = base.set_index("substation_id")
    assert by_sub.loc["OS06", "first_shortfall_year"] == 2031 and by_sub.loc["OS07", "first_shortfall_year"] == 2028
    assert by_sub.loc["OS07", "intervention"] == "advance_planned"
    assert "Programma (rangorde)" in (out / "map.html").read_text(encoding="utf-8")
    assert (out / "programma.png").stat().st_size > 10_000


# --------------------------------------------------------------------------------------
# the compact site layers (issue 13 item 2)


def _site_blobs(text: str) -> dict[str, dict]:
    """The site tables the page draws, by layer kind."""
    blobs = [json.loads(b) for b in re.findall(r'drawSites\(feature_group_\w+, (\{.*?\}), \{"quantum"', text)]
    return {b["kind"]: b for b in blobs}


def _texts(col: dict) -> list[str | None]:
    """A text column of the page as its texts (the page's ``code``, in Python): one character or one number each."""
    from spatialprog.maps._compact import CODE_CHARS, CODE_NONE

    codes = [-1 if ch == CODE_NONE else CODE_CHARS.index(ch) for ch in col["s"]] if "s" in col else col["c"]
    return [None if k < 0 else col["d"][k] for k in codes]


def _ids(ids: list | dict) -> list[str]:
    """A layer's ids as the page expands them (a prefix and steps of one width, or the list)."""
    if isinstance(ids, list):
        return ids
    out, n = [], 0
    for step in ids["n"]:
        n += step
        out.append(f"{ids['p']}{n:0{ids['w']}d}")
    return out


def _decode(t: str, g: list) -> list[tuple[float, float]]:
    """The first ring / line / point of an encoded geometry as (lon, lat) (the page's spDecode, in Python)."""
    flat = g if t == "P" else (g[0][0] if t == "A" else g[0])
    x = y = 0
    out = []
    for i in range(0, len(flat), 2):
        x, y = x + flat[i], y + flat[i + 1]
        out.append((x / D.QUANTUM, y / D.QUANTUM))
    return out


def test_site_layers_are_compact_tables(html_text, outputs):
    """One table per site layer, no popup HTML per feature: geometry, ids and popup columns from the layer."""
    blobs = _site_blobs(html_text)
    assert set(blobs) == set(D.site_layers(outputs)) | {"conflicts"}  # the example has land-claim conflicts
    c, conflicts = blobs["conflicts"], D.conflicts_frame(outputs)
    assert _ids(c["ids"]) == list(conflicts["conflict_id"].astype(str)) and c["plain"]
    assert _texts(c["colours"]) == [D.SEVERITY_COLOURS[s] for s in conflicts["severity"]]
    assert html_text.count("sp-pop-title") < 40  # the substations' popups and the templates, not one per site
    hs = outputs.layers["housing_sites"]
    b = blobs["housing_sites"]
    assert _ids(b["ids"]) == list(hs["id"].astype(str)) and b["t"] == "A" * len(hs)
    assert _texts(b["names"]) == [n if isinstance(n, str) and n else None for n in hs["name"]]
    shown = D.display_copy(hs, tolerance_m=D.display_tolerance_m(tuple(outputs.layers["service_areas"].total_bounds)),
                           to_wgs84=True)
    for i, geom in enumerate(shown.geometry):
        ring = _decode("A", b["g"][i])
        exterior = geom.exterior if geom.geom_type == "Polygon" else geom.geoms[0].exterior
        assert np.allclose(ring[0], exterior.coords[0], atol=0.6 / D.QUANTUM)
        assert len(ring) <= len(exterior.coords)
    cols = {c["l"]: c for c in b["cols"]}
    from spatialprog.kinds import LAYER_KINDS

    alias = {c.name: c.alias_nl or c.name for c in LAYER_KINDS["housing_sites"].columns}
    assert cols[alias["dwellings"]]["i"] == [int(x) for x in hs["dwellings"]]
    subs = outputs.layers["substations"].set_index("id")["name"]
    sub = cols[ALIASES_NL[F.SUBSTATION_ID]]
    assert _texts(sub) == [f"{subs[s]} ({s})" for s in hs[F.SUBSTATION_ID]]
    # the demand at the milestone years, as in the demand table (base variant)
    d = outputs.tables["demand"]
    first = hs["id"].iloc[0]
    want = d[(d[F.LAYER] == "housing_sites") & (d[F.SITE_ID] == first) & (d[F.VARIANT] == "basis")
             & (d[F.CARRIER] == F.ELECTRICITY)].groupby(F.YEAR)[F.OFFTAKE_MW].sum()
    got = b["years"]["rows"][0]["v"][0]
    assert got == pytest.approx([round(want.get(y, np.nan), 2) for y in b["years"]["head"]], nan_ok=True)
    # points: the charging hubs as [x, y] each
    ch = outputs.layers["charging_hubs"].to_crs(4326)
    pts = [_decode("P", g)[0] for g in blobs["charging_hubs"]["g"]]
    assert np.allclose(pts, [(p.x, p.y) for p in ch.geometry], atol=1.5e-5)


def test_national_scale_map_stays_small():
    """6,000 sites: areas beyond LAZY_SITES become clustered points with outlines by zoom; the page grows by
    a few hundred bytes per site (the benchmark prints the 1e4 and 1e5 figures)."""
    from benchmarks.bench_maps import synthetic_outputs
    from spatialprog.maps.interactive import LAZY_SITES

    o = synthetic_outputs(n_subs=40, n_sites=6000)
    text = interactive_html(o)
    blobs = _site_blobs(text)
    assert len(o.layers["housing_sites"]) > LAZY_SITES > len(o.layers["industrial_zones"])
    assert "pt" in blobs["housing_sites"] and "pt" not in blobs["industrial_zones"]
    empty = interactive_html(RunOutputs({k: v for k, v in o.layers.items() if k in ("substations", "service_areas")},
                                        o.tables, o.manifest))
    per_site = (len(text.encode()) - len(empty.encode())) / 6000
    assert per_site < 250, per_site


def test_names_with_template_braces_are_shown_as_typed(outputs):
    """A name with ``{{ ... }}`` or ``{% ... %}`` is shown as typed: no part of the page is parsed as a
    template a second time (branca does so with a rendered element; a substation named ``OS {{ 6*7 }}``
    read 'OS 42' in its popup)."""
    layers = dict(outputs.layers)
    layers["housing_sites"] = layers["housing_sites"].assign(name="Wijk {{ 7*7 }} {% if 1 %}ja{% endif %}")
    layers["substations"] = layers["substations"].assign(name="OS {{ 6*7 }}")
    layers["boundaries"] = layers["boundaries"].assign(name="Gem {{ 5*7 }}")
    text = interactive_html(RunOutputs(layers, outputs.tables, outputs.manifest))
    for typed, evaluated in (("Wijk {{ 7*7 }} {% if 1 %}ja{% endif %}", "Wijk 49"), ("OS {{ 6*7 }}", "OS 42"),
                             ("Gem {{ 5*7 }}", "Gem 35")):
        assert typed in text and evaluated not in text, typed
    # every substation popup (their HTML escaped once, in the layer's GeoJSON) carries the name as typed
    assert text.count("OS {{ 6*7 }} \\u003cspan\\u003e(") == len(layers["substations"])
