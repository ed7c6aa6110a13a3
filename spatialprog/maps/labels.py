"""Names on a map drawn as one artist: place names with a white halo, substation names on a white box.

A map panel carries up to a hundred names; as :class:`~matplotlib.text.Text` artists each costs its
properties, its layout when drawn and, with a halo, a path effect that sets the glyphs as outlines
twice. That was three quarters of drawing a province's maps. :class:`MapLabels` lays out every name
once (its lines, their widths, the outline of its glyphs, in points), and draws all halos as one path,
all boxes as one path and the names as text: in a PDF they stay text a reader can search and copy.
Every name is drawn literally (no mathtext, no TeX).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties
from matplotlib.patches import BoxStyle
from matplotlib.path import Path as MplPath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D

from .tables import LINE_ASCENT_EM, LINE_DESCENT_EM

__all__ = ["MapLabels", "map_texts"]

_HA = {"left": 0.0, "center": 0.5, "right": 1.0}


@lru_cache(maxsize=8192)
def _width_pt(text: str, size: float, style: str, weight: str) -> float:
    """The advance of ``text`` in points (matplotlib's text-to-path measure of its font at ``size``)."""
    prop = FontProperties(size=size, style=style, weight=weight)
    return float(text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0])


@lru_cache(maxsize=8192)
def _outline_pt(text: str, size: float, style: str, weight: str) -> tuple[np.ndarray, np.ndarray]:
    """The outline of ``text``'s glyphs in points, its baseline's start at the origin: vertices, codes."""
    verts, codes = text_to_path.get_text_path(FontProperties(style=style, weight=weight), text, ismath=False)
    return np.asarray(verts, float).reshape(-1, 2) * (size / text_to_path.FONT_SCALE), np.asarray(codes, np.uint8)


class MapLabels(Artist):
    """Names anchored at points in data coordinates, all in one font, size and colour.

    Parameters
    ----------
    fontsize : float
        In points.
    style, weight : str
        As :class:`~matplotlib.font_manager.FontProperties`' (``"italic"``, ``"bold"``).
    color : colour
    alpha : float, optional
        Of the names (their halo and box keep their own).
    ha, va : str
        Where the block of lines stands against its anchor: ``left``, ``center``, ``right``; ``top``,
        ``center``, ``bottom``, ``baseline`` (of the first line), as matplotlib's. Each line is aligned
        by ``ha`` within the block.
    offset_pt : (float, float)
        The block's anchor from the point, in points (``xytext`` of an annotation in offset points).
    linespacing : float
        The step between baselines, in line boxes of the font (:data:`~spatialprog.maps.tables.LINE_ASCENT_EM`).
    halo_pt : float, optional
        A white outline this wide (points) around the glyphs.
    box : dict, optional
        A box behind each name: ``pad`` (em), ``fc`` (colour), ``alpha``; rounded as matplotlib's
        ``boxstyle="round"``.
    clip : bool
        Leave out a name whose point lies outside the axes (as an annotation does); default draw all.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> labels = ax.add_artist(MapLabels(fontsize=8, halo_pt=2.4))
    >>> labels.add(0.5, 0.5, "Wijk $x^2$")
    >>> labels.get_texts()
    ['Wijk $x^2$']
    """

    def __init__(self, *, fontsize: float, style: str = "normal", weight: str = "normal", color: object = "black",
                 alpha: float | None = None, ha: str = "center", va: str = "center",
                 offset_pt: tuple[float, float] = (0.0, 0.0), linespacing: float = 1.2,
                 halo_pt: float | None = None, box: dict | None = None, clip: bool = False) -> None:
        super().__init__()
        if ha not in _HA or va not in ("top", "center", "bottom", "baseline"):
            raise ValueError(f"ha must be one of {sorted(_HA)} and va top, center, bottom or baseline, "
                             f"not {ha!r}, {va!r}")
        self._font = (float(fontsize), style, weight)
        self._prop = FontProperties(size=fontsize, style=style, weight=weight)
        self._rgba = to_rgba(color, alpha)
        self._ha, self._va = ha, va
        self._offset_pt = np.asarray(offset_pt, float)
        self._step_pt = linespacing * (LINE_ASCENT_EM + LINE_DESCENT_EM) * fontsize
        self._halo_pt = halo_pt
        self._box = box
        self._clip = clip
        self._points: list[tuple[float, float]] = []
        self._texts: list[str] = []
        # per name, per line: where its baseline starts from the anchor (points), and its text
        self._lines: list[list[tuple[float, float, str]]] = []
        self._boxes: list[tuple[float, float, float, float]] = []  # per name: x0, y0, width, height (points)

    def add(self, x: float, y: float, text: str) -> None:
        """One name at ``(x, y)`` (data coordinates); lines separated by ``\\n``; an empty name is left out."""
        if not text:
            return
        size, style, weight = self._font
        lines = text.split("\n")
        widths = [_width_pt(s, size, style, weight) for s in lines]
        height = len(lines) * self._step_pt
        above = (self._step_pt + (LINE_ASCENT_EM - LINE_DESCENT_EM) * size) / 2  # box top to first baseline
        top = {"top": 0.0, "center": height / 2, "bottom": height, "baseline": above}[self._va]
        block = max(widths)
        left = -_HA[self._ha] * block
        placed = [(left + _HA[self._ha] * (block - w), top - above - i * self._step_pt, s)
                  for i, (w, s) in enumerate(zip(widths, lines, strict=True))]
        self._points.append((float(x), float(y)))
        self._texts.append(text)
        self._lines.append(placed)
        self._boxes.append((left, top - height, block, height))
        self.stale = True

    def get_texts(self) -> list[str]:
        """The names, in the order they were added."""
        return list(self._texts)

    def _outline(self, i: int, origin: np.ndarray, scale: float) -> MplPath | None:
        """The glyphs of name ``i`` as one path in display units, or None when it has none (blanks)."""
        size, style, weight = self._font
        verts, codes = [], []
        for dx, dy, s in self._lines[i]:
            v, c = _outline_pt(s, size, style, weight)
            if len(v):
                verts.append((v + (dx, dy)) * scale + origin)
                codes.append(c)
        return MplPath(np.concatenate(verts), np.concatenate(codes)) if verts else None

    def draw(self, renderer) -> None:
        if not self.get_visible() or not self._texts:
            return
        scale = renderer.points_to_pixels(1.0)
        anchors = self.get_transform().transform(np.asarray(self._points, float))
        keep = np.isfinite(anchors).all(axis=1)
        if self._clip and self.axes is not None:
            keep &= np.array([self.axes.contains_point(p) for p in anchors], bool)
        origin = anchors + self._offset_pt * scale
        renderer.open_group("maplabels", self.get_gid())
        gc = renderer.new_gc()
        gc.set_alpha(None)
        gc.set_antialiased(True)
        gc.set_joinstyle("round")
        gc.set_capstyle("round")
        unit = Affine2D()  # the paths are built in display units
        raster = isinstance(renderer, RendererAgg)  # a PNG: the glyphs as a filled path; a PDF: as text
        box = None
        if self._box is not None:
            face = to_rgba(self._box.get("fc", "white"), self._box.get("alpha"))
            box = BoxStyle.Round(pad=self._box.get("pad", 0.12) * self._font[0] * scale)
        _, canvas_h = renderer.get_canvas_width_height()
        for i in np.flatnonzero(keep):  # name by name: a later name's box or halo covers an earlier one
            if box is not None:
                gc.set_linewidth(0)
                x0, y0, w, h = np.asarray(self._boxes[i]) * scale
                renderer.draw_path(gc, box(origin[i, 0] + x0, origin[i, 1] + y0, w, h, 1.0), unit, face)
            glyphs = self._outline(i, origin[i], scale) if raster or self._halo_pt else None
            if self._halo_pt and glyphs is not None:
                gc.set_linewidth(self._halo_pt)
                gc.set_foreground("white")
                renderer.draw_path(gc, glyphs, unit, None)
            if raster:
                if glyphs is not None:
                    gc.set_linewidth(0)
                    renderer.draw_path(gc, glyphs, unit, self._rgba)
                continue
            gc.set_foreground(self._rgba, isRGBA=True)
            for dx, dy, s in self._lines[i]:
                px, py = origin[i, 0] + dx * scale, origin[i, 1] + dy * scale
                renderer.draw_text(gc, px, canvas_h - py if renderer.flipy() else py, s, self._prop, 0.0,
                                   ismath=False, mtext=None)
        gc.restore()
        renderer.close_group("maplabels")
        self.stale = False


def map_texts(artist: Artist) -> list[str]:
    """The names of every :class:`MapLabels` in ``artist`` (a figure or an axes), in drawing order."""
    return [t for a in artist.findobj(MapLabels) for t in a.get_texts()]
