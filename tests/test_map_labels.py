"""The names on a map as one artist (:class:`spatialprog.maps.labels.MapLabels`): where matplotlib's own
texts would stand, text a reader can search in a PDF, drawn literally, left out outside the axes."""

from __future__ import annotations

import io

import numpy as np
import pypdf
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath

from spatialprog.maps.labels import MapLabels, map_texts

DPI = 200


def _axes() -> tuple[Figure, object]:
    fig = Figure(figsize=(4, 3), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    return fig, ax


def _ink(fig: Figure) -> tuple[float, float, float, float]:
    """The box of the dark pixels (x0, x1, y0, y1, y from the top) of ``fig`` drawn by Agg."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    ys, xs = np.nonzero(rgb.sum(axis=2) < 300)
    assert len(xs), "nothing drawn"
    return xs.min(), xs.max(), ys.min(), ys.max()


@pytest.mark.parametrize(("ha", "va", "offset"), [("center", "center", (0, 0)), ("center", "bottom", (0, 5.5)),
                                                   ("center", "top", (0, -6)), ("left", "baseline", (3, 0))])
def test_a_name_stands_where_matplotlib_sets_the_same_text(ha, va, offset):
    """The ink of a name is within 3 px (0.4 pt at 200 dpi) of matplotlib's own annotation of it: the outlines are
    unhinted, Agg's text hinted, and the line box is the font's, not the glyphs' (a layout error is tens of px)."""
    fig, ax = _axes()
    ax.annotate("OS Hoekwaard", (40, 50), xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=8)
    theirs = _ink(fig)
    fig, ax = _axes()
    labels = ax.add_artist(MapLabels(fontsize=8, ha=ha, va=va, offset_pt=offset))
    labels.add(40, 50, "OS Hoekwaard")
    ours = _ink(fig)
    assert np.allclose(ours, theirs, atol=3), (ours, theirs)


def test_lines_stack_downwards_each_centred():
    """Two lines at matplotlib's step (1.2 line boxes of DejaVu Sans: 2048 units, 1556 + 492 of them), the
    wider line filling the block, the narrower centred in it; the block's top at the anchor (va top)."""
    labels = MapLabels(fontsize=10, va="top")
    labels.add(50, 50, "OS Lang en breed\n2028")
    (x_a, y_a, _), (x_b, y_b, _) = labels._lines[0]
    left, bottom, width, height = labels._boxes[0]
    assert y_a - y_b == pytest.approx(1.2 * 10)  # (1556 + 492) / 2048 em = 1 em
    assert bottom + height == pytest.approx(0.0) and height == pytest.approx(24.0)
    assert x_a == pytest.approx(-width / 2) == left
    assert x_b > x_a


def test_a_pdf_keeps_the_names_as_text_drawn_literally():
    fig, ax = _axes()
    labels = ax.add_artist(MapLabels(fontsize=8, halo_pt=2.4, box={"pad": 0.12, "fc": "white", "alpha": 0.8}))
    labels.add(30, 30, "Wijk $x^2$ 50%")
    labels.add(60, 60, r"OS $\nosuchmacro$")  # fails to draw as mathtext
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    text = pypdf.PdfReader(buf).pages[0].extract_text()
    assert "Wijk $x^2$ 50%" in text and r"OS $\nosuchmacro$" in text
    FigureCanvasAgg(fig).draw()  # and a PNG draws them as glyphs, as written
    assert map_texts(fig) == ["Wijk $x^2$ 50%", r"OS $\nosuchmacro$"]


def test_a_clipped_name_whose_point_lies_outside_the_axes_is_left_out():
    fig, ax = _axes()
    labels = ax.add_artist(MapLabels(fontsize=8, clip=True))
    labels.add(50, 50, "binnen")
    labels.add(150, 50, "buiten")
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    text = pypdf.PdfReader(buf).pages[0].extract_text()
    assert "binnen" in text and "buiten" not in text


def test_a_later_name_covers_an_earlier_one():
    """Name by name, as separate texts were drawn: where two overlap, the later one's halo hides the earlier's
    glyphs, so the later name stays legible."""
    fig, ax = _axes()
    labels = ax.add_artist(MapLabels(fontsize=10, halo_pt=3))
    labels.add(50, 50, "MMMMMMMM")
    only_later = _ink(fig)
    fig, ax = _axes()
    labels = ax.add_artist(MapLabels(fontsize=10, halo_pt=3))
    labels.add(50, 52, "MMMMMMMM")
    labels.add(50, 50, "MMMMMMMM")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    x0, x1, y0, y1 = only_later
    inside = rgb[y0:y1 + 1, x0:x1 + 1].sum(axis=2) < 300
    fig2, ax2 = _axes()
    ax2.add_artist(MapLabels(fontsize=10, halo_pt=3)).add(50, 50, "MMMMMMMM")
    canvas2 = FigureCanvasAgg(fig2)
    canvas2.draw()
    alone = np.asarray(canvas2.buffer_rgba())[..., :3].astype(int)[y0:y1 + 1, x0:x1 + 1].sum(axis=2) < 300
    assert (inside == alone).mean() > 0.97  # the later name's box of ink is (nearly) as if drawn alone


def _light(draw) -> np.ndarray:
    """The light pixels of a dark 288 x 72 pt figure (data units are points) after ``draw(ax)``."""
    fig = Figure(figsize=(4, 1), dpi=DPI, facecolor="#404040")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 288)
    ax.set_ylim(0, 72)
    ax.set_axis_off()
    draw(ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int).sum(axis=2) > 3 * 160


@pytest.mark.parametrize(("text", "size"), [("Gemeente Hoekwaard (fictief)", 9.0), ("Oosterhout à Bé", 24.0)])
def test_a_halo_covers_what_a_stroke_along_the_glyph_outline_covers(text, size):
    """The halo, filled, lights the pixels a white stroke of its width along the glyphs' outline lights (the
    way matplotlib's ``withStroke`` draws one), within 2 % of them: its edge strays at most 0.13 pt. At 24 pt
    the counters of O, e and B are wider than the stroke and stay dark (filling them misses 18 %; a 0.5 pt
    simplification 8-12 %)."""
    def ours(ax):
        labels = MapLabels(fontsize=size, style="italic", color="#222", ha="left", va="baseline", halo_pt=2.4)
        ax.add_artist(labels).add(10, 30, text)

    def stroked(ax):
        glyphs = TextPath((10, 30), text, size=size, prop=FontProperties(style="italic"))
        ax.add_patch(PathPatch(glyphs, facecolor="none", edgecolor="white", lw=2.4, joinstyle="round",
                               capstyle="round"))
        ax.add_patch(PathPatch(glyphs, facecolor="#222", lw=0))

    theirs = _light(stroked)
    assert (_light(ours) ^ theirs).sum() < 0.02 * theirs.sum()


def test_a_blank_name_has_no_halo_and_draws_nothing():
    """A name of blanks has no glyphs to dilate: no halo, no error, a white page."""
    fig, ax = _axes()
    ax.add_artist(MapLabels(fontsize=8, halo_pt=2.4)).add(50, 50, "   ")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert (np.asarray(canvas.buffer_rgba())[..., :3] == 255).all()


def test_bad_alignment_is_refused():
    with pytest.raises(ValueError, match="ha must be"):
        MapLabels(fontsize=8, ha="middle")
