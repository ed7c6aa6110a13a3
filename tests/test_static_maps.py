"""The static maps read without the internet and show every variant and every year of shortfall.

Issue 16, item 3: the region's own boundaries with their names, the substations by name, a legend entry
for every symbol (the generation points drawn as dots included), conflicts numbered and listed so a patch
of a few square metres still shows, every variant drawn, every year in which a substation is short named
(the example's OS07 is short in 2028 and 2029 only: a planned reinforcement ends it in 2030, between
the milestone years), and a programme page that uses the A4 page.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from spatialprog.maps import _data as D
from spatialprog.maps import _shapes
from spatialprog.maps.labels import map_texts
from spatialprog.maps.static import static_figures
from spatialprog.maps.tables import periods_nl, variant_stems
from spatialprog.outputs import RunOutputs


@pytest.fixture(scope="module")
def run_outputs(example_run) -> RunOutputs:
    return RunOutputs.read(example_run.out)


@pytest.fixture(scope="module")
def figures(run_outputs):
    return static_figures(run_outputs)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _legend(fig) -> list[str]:
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()]


def test_every_variant_has_its_status_maps(run_outputs, figures):
    variants = run_outputs.variants
    assert variants == ["basis", "hoog", "vertraagd"]
    for d in ("afname", "invoeding"):
        for v, stem in variant_stems(D.variants_of(run_outputs)).items():
            fig = figures[f"netruimte_{d}{stem}"]
            assert any(f"Ontwikkelvariant {v} " in t for t in _texts(fig)), (d, v)
        assert f"eerste_tekort_{d}" in figures
    # the first-shortfall page has one panel per variant, titled with it
    titles = [ax.get_title(loc="left") for ax in figures["eerste_tekort_afname"].axes]
    assert titles == variants


def test_every_year_of_shortfall_is_named_os07_included(run_outputs, figures, example_run):
    """OS07 (OS Hoekwaard) is short in 2028 and 2029 only, in the base variant: by hand from headroom.csv."""
    h = pd.read_csv(example_run.out / "headroom.csv")
    os07 = h[(h["substation_id"] == "OS07") & (h["variant"] == "basis") & (h["direction"] == "offtake")
             & (h["carrier"] == "electricity")].set_index("year")["headroom_mw"]
    assert (os07[[2028, 2029]] <= 0).all() and (os07[[2027, 2030]] > 0).all()
    assert 2028 not in D.years_of(run_outputs)[1] and 2029 not in D.years_of(run_outputs)[1]  # not milestones
    fig = figures["eerste_tekort_afname"]
    basis = fig.axes[0]
    labels = map_texts(basis)
    assert "OS Hoekwaard\ntekort 2028\u20132029" in labels
    # every substation short in the base variant carries its short years, from the shortfall table
    sf = pd.read_csv(example_run.out / "shortfall.csv")
    sf = sf[(sf["carrier"] == "electricity") & (sf["variant"] == "basis") & (sf["direction"] == "offtake")
            & sf["first_shortfall_year"].notna()]
    names = run_outputs.layers["substations"].set_index("id")["name"]
    for r in sf.itertuples(index=False):
        short = sorted(h[(h["substation_id"] == r.substation_id) & (h["variant"] == "basis")
                         & (h["direction"] == "offtake") & (h["carrier"] == "electricity")
                         & (h["headroom_mw"] <= 0)]["year"])
        assert short[0] == int(r.first_shortfall_year)
        assert f"{names[r.substation_id]}\ntekort {periods_nl(short, 2040)}" in labels, r.substation_id
    # and the legend has a colour for each first year that occurs in any variant
    firsts = sorted(int(y) for y in pd.read_csv(example_run.out / "shortfall.csv").query(
        "carrier == 'electricity' and direction == 'offtake'")["first_shortfall_year"].dropna().unique())
    assert [t for t in _legend(fig) if t.startswith("eerste tekort")] == [f"eerste tekort {y}" for y in firsts]
    assert "geen tekort t/m 2040" in _legend(fig)


def test_boundaries_and_substations_carry_their_names(run_outputs, figures):
    places = list(run_outputs.layers["boundaries"]["name"])
    stations = list(run_outputs.layers["substations"]["name"])
    assert len(places) == 4 and len(stations) == 12
    for stem in ("netruimte_afname", "eerste_tekort_invoeding", "conflicten", "programma"):
        ax = figures[stem].axes[0]
        texts = [t.split("\n")[0] for t in map_texts(ax)]
        assert set(places) <= set(texts), stem
        assert set(stations) <= set(texts), stem
        assert "gemeentegrenzen (met naam)" in _legend(figures[stem]), stem


def _handle_colours(fig) -> set[str]:
    out = set()
    for lg in fig.legends:
        for h in lg.legend_handles:
            if isinstance(h, Line2D):
                out |= {to_hex(h.get_markerfacecolor()), to_hex(h.get_color())}
            elif isinstance(h, Patch):
                out |= {to_hex(h.get_facecolor()), to_hex(h.get_edgecolor())}
    return out


def test_conflicts_map_has_a_legend_entry_for_every_symbol(run_outputs, figures):
    fig = figures["conflicten"]
    ax = fig.axes[0]
    legend = _legend(fig)
    # the black dots are the wind turbines of the generation layer: points beside its polygons
    gen = run_outputs.layers["generation"]
    assert gen.geometry.geom_type.isin(["Point"]).any() and gen.geometry.geom_type.str.contains("Polygon").any()
    assert "Duurzame opwek" in legend and "Duurzame opwek (punt)" in legend
    for kind in D.site_layers(run_outputs):
        assert any(t.startswith(D.title_nl(kind)) for t in legend), kind
    # every dot on the map (one collection per layer) has its colour in the legend
    colours = _handle_colours(fig)
    for coll in ax.collections:
        if coll.__class__.__name__ != "PathCollection":
            continue  # polygons and lines: their outline colours are checked by the layer titles above
        faces = {to_hex(c) for c in coll.get_facecolors()}
        assert faces <= colours, faces - colours


def test_conflicts_are_numbered_on_the_map_and_listed(run_outputs, figures, example_run):
    conflicts = pd.read_csv(example_run.out / "conflicts.csv")
    n = len(conflicts)
    assert n == 10
    fig = figures["conflicten"]
    ax = fig.axes[0]
    numbers = sorted(int(t.get_text()) for t in ax.texts if re.fullmatch(r"\d+", t.get_text())
                     and t.get_color() == "white")  # not the scale bar's 0
    assert numbers == list(range(1, n + 1))
    # the markers are a fixed size on the page: a conflict of under 2,000 m2 shows as well as one of 10 ha
    small = conflicts["area_m2"].fillna(0)
    assert (small.between(1, 2000)).any() and small.max() > 100_000
    markers = sum(len(c.get_offsets()) for c in ax.collections if c.__class__.__name__ == "PathCollection"
                  and len(c.get_sizes()) and c.get_sizes()[0] == 70)
    assert markers == n
    listed = " ".join(t.get_text() for t in fig.texts)
    for d in conflicts["description_nl"].unique():
        assert d.split()[0] in listed
    assert "WB047 (woningbouwlocaties)" in listed


def test_programme_page_uses_the_page(figures, example_run):
    fig = figures["programma"]
    ax = fig.axes[0]
    box = ax.get_position()
    assert box.height > 0.45 and box.width > 0.5  # the map: over half the page either way
    p = pd.read_csv(example_run.out / "programme.csv")
    base = p[(p["variant"] == "basis") & (p["carrier"] == "electricity")].sort_values("programme_rank")
    texts = [t for t in fig.texts]
    cells = {t.get_text().replace("\n", " ") for t in texts}  # a long step is on two lines
    for r in base.itertuples(index=False):
        assert {r.substation_id, r.name, r.transformer_step, r.start_by} <= cells, r.substation_id
    assert "te laat: had in 2023 moeten starten" in cells
    # dwellings waiting are whole numbers in the Dutch way (2.870), MVA to 0.1 (40,0)
    assert f"{int(base['dwellings_waiting'].iat[0]):,}".replace(",", ".") in cells and "40,0" in cells
    lowest = min(t.get_position()[1] for t in texts if t.get_text() == base["substation_id"].iat[-1])
    assert lowest < box.y0  # the table is below the map, not beside an empty half page


def test_variant_file_names_are_safe():
    stems = variant_stems(["basis", "../../x", "hoog <img src=x>", "hoog img src x", "", "Ĳssel"])
    assert stems["basis"] == ""
    assert all(re.fullmatch(r"_[a-z0-9-]+", s) for v, s in stems.items() if v != "basis")
    assert len(set(stems.values())) == len(stems)


def test_spread_moves_markers_off_each_other_as_a_pairwise_check_does():
    """Markers at one spot step right one width at a time; on random markers the grid version gives what
    comparing every pair gives (the conflicts map of a national run has 2e4 markers)."""
    from spatialprog.maps.static import _spread

    placed: list[tuple[float, float]] = []
    xs, ys = _spread(np.zeros(3), np.zeros(3), placed, 1.0)
    assert xs.tolist() == [0.0, 1.0, 2.0] and ys.tolist() == [0.0, 0.0, 0.0] and len(placed) == 3

    def pairwise(xs, ys, placed, d):
        xs, ys = xs.astype(float).copy(), ys.astype(float).copy()
        for i in range(len(xs)):
            for _ in range(8):
                if not any(abs(xs[i] - px) < d and abs(ys[i] - py) < d for px, py in placed):
                    break
                xs[i] += d
            placed.append((xs[i], ys[i]))
        return xs, ys

    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(0, 50, 300).round(1), rng.uniform(0, 50, 300).round(0)
    a, b = pairwise(xs, ys, [(10.0, 10.0)], 2.5), _spread(xs, ys, [(10.0, 10.0)], 2.5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_areas_and_boundaries_draw_as_geopandas_plot_draws_them():
    """The service areas and boundaries are drawn from paths made once per run; every pixel as geopandas'
    ``plot`` draws the same polygons (holes, multipolygons, rings starting anywhere, an empty geometry)."""
    import geopandas as gpd
    import shapely
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from spatialprog.maps import static

    rng = np.random.default_rng(7)
    geoms = []
    for i in range(30):
        x, y = rng.uniform(0, 1000, 2)
        p = shapely.Point(x, y).buffer(rng.uniform(20, 90), quad_segs=3)
        if i % 3 == 0:
            p = p.difference(shapely.Point(x, y).buffer(10))  # a hole
        if i % 5 == 0:
            p = shapely.MultiPolygon([p, shapely.box(x + 100, y, x + 140, y + 30)])
        geoms.append(shapely.reverse(p) if i % 2 else p)
    geoms.append(shapely.Polygon())
    g = gpd.GeoDataFrame(geometry=geoms, crs=28992)
    colours = [to_hex((i / 31, 0.4, 1 - i / 31)) for i in range(len(g))]

    def pixels(draw) -> np.ndarray:
        fig = Figure(figsize=(4, 4), dpi=100)
        ax = fig.add_subplot()
        draw(ax)
        static._frame(ax, np.array([-100, -100, 1200, 1100]))
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()

    def ours(ax):
        static._plot_areas(ax, g, colours, edgecolor="white", linewidth=0.6, zorder=1)
        lines = static._cached_paths(g, "boundaries", lambda x: _shapes.line_segments(shapely.boundary(x)))
        ax.add_collection(LineCollection(lines, linewidth=0.9, linestyle="--", zorder=3, color="#333"))

    def theirs(ax):
        g.plot(ax=ax, color=colours, edgecolor="white", linewidth=0.6, zorder=1)
        g.boundary.plot(ax=ax, color="#333", linewidth=0.9, linestyle="--", zorder=3)

    a, b = pixels(ours), pixels(theirs)
    assert (a[..., :3] < 250).any(axis=2).mean() > 0.05  # something is drawn
    np.testing.assert_array_equal(a, b)


def test_the_png_holds_the_pixels_of_savefig(run_outputs, figures, tmp_path):
    """save_figure packs the PNG itself (no alpha channel, a faster zlib level): the same pixels as
    matplotlib's own ``savefig`` at 200 dpi."""
    from PIL import Image

    from spatialprog.maps.static import save_figure

    fig = figures["programma"]
    png, pdf = save_figure(fig, tmp_path, "programma")
    fig.savefig(tmp_path / "mpl.png", dpi=200)
    with Image.open(png) as a, Image.open(tmp_path / "mpl.png") as b:
        assert a.size == b.size == (2338, 1654) and a.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b.convert("RGB")))
        assert np.asarray(b)[..., 3].min() == 255  # what the PNG leaves out was opaque
    assert pdf.read_bytes().startswith(b"%PDF")
