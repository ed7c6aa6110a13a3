"""Names on a map drawn as one artist: place names with a white halo, substation names on a white box.

A map panel carries up to a hundred names; as :class:`~matplotlib.text.Text` artists each costs its
properties, its layout when drawn and, with a halo, a path effect that sets the glyphs as outlines
twice. That was three quarters of drawing a province's maps. :class:`MapLabels` lays out every name
once (its lines, their widths, the outline of its glyphs and of its halo, in points) and draws them
name by name: in a PNG the glyphs as one filled path, in a PDF as text a reader can search and copy.
Every name is drawn literally (no mathtext, no TeX).

A halo is the glyphs dilated by half its width (what a stroke of that width round their outline adds to
them), simplified to :data:`HALO_TOLERANCE_PT` and filled: about a third of the outline's vertices, so a
province map's PDF is a third of the size it was with the outline stroked (1.06 MB -> 0.40 MB); drawn
alternately in one process, a province map's PDF takes 18 % and its PNG 14 % less time.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties
from matplotlib.patches import BoxStyle
from matplotlib.path import Path as MplPath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D

from ._shapes import polygon_paths
from .tables import LINE_ASCENT_EM, LINE_DESCENT_EM

__all__ = ["HALO_TOLERANCE_PT", "MapLabels", "map_texts"]

#: how far a halo's outline may stray from the glyphs' exact dilation, points (0.36 px at 200 dpi)
HALO_TOLERANCE_PT = 0.13

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


@lru_cache(maxsize=8192)
def _halo_pt(text: str, size: float, style: str, weight: str, halo_pt: float) -> tuple[np.ndarray, np.ndarray]:
    """The halo of ``text``'s glyphs at ``size``: their shape dilated by ``halo_pt / 2`` (round), within
    :data:`HALO_TOLERANCE_PT` of the exact dilation, in points, its baseline's start at the origin: vertices,
    codes (empty for blanks)."""
    verts, codes = text_to_path.get_text_path(FontProperties(style=style, weight=weight), text, ismath=False)
    # flattened in the font's units (FONT_SCALE to the em: within 0.03 pt of the curves at 10 pt)
    rings = [r for r in MplPath(verts, codes).to_polygons(closed_only=True) if len(r) >= 4]
    if not rings:
        return np.empty((0, 2)), np.empty(0, np.uint8)
    area = np.array([np.dot(r[:-1, 0], r[1:, 1]) - np.dot(r[1:, 0], r[:-1, 1]) for r in rings])
    outer = np.sign(area) == np.sign(area[np.argmax(np.abs(area))])  # a font's outer contours turn one way, its holes the other
    shapes = shapely.make_valid(shapely.polygons([shapely.linearrings(r) for r in rings]))
    glyphs = shapely.difference(shapely.union_all(shapes[outer]), shapely.union_all(shapes[~outer]))
    unit = size / text_to_path.FONT_SCALE  # points per font unit
    # quad_segs 4: a round corner within 0.05 pt of its arc at a 1.2 pt radius; the rest of the tolerance simplifies
    halo = glyphs.buffer(halo_pt / 2 / unit, quad_segs=4).simplify((HALO_TOLERANCE_PT - 0.05) / unit)
    if halo.is_empty:  # degenerate contours only
        return np.empty((0, 2)), np.empty(0, np.uint8)
    (path,), _ = polygon_paths(np.array([halo], dtype=object))
    return path.vertices * unit, path.codes


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
        A white halo round the glyphs, as a stroke this wide (points) along their outline (see the module).
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

    def _path(self, i: int, origin: np.ndarray, scale: float, *, halo: bool = False) -> MplPath | None:
        """The glyphs (or their halo) of name ``i`` as one path in display units, or None when it has none
        (blanks)."""
        verts, codes = [], []
        for dx, dy, s in self._lines[i]:
            v, c = _halo_pt(s, *self._font, self._halo_pt) if halo else _outline_pt(s, *self._font)
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
        gc.set_linewidth(0)  # every path here is filled: boxes, halos, glyphs
        unit = Affine2D()  # the paths are built in display units
        raster = isinstance(renderer, RendererAgg)  # a PNG: the glyphs as a filled path; a PDF: as text
        box = None
        if self._box is not None:
            face = to_rgba(self._box.get("fc", "white"), self._box.get("alpha"))
            box = BoxStyle.Round(pad=self._box.get("pad", 0.12) * self._font[0] * scale)
        _, canvas_h = renderer.get_canvas_width_height()
        for i in np.flatnonzero(keep):  # name by name: a later name's box or halo covers an earlier one
            if box is not None:
                x0, y0, w, h = np.asarray(self._boxes[i]) * scale
                renderer.draw_path(gc, box(origin[i, 0] + x0, origin[i, 1] + y0, w, h, 1.0), unit, face)
            if self._halo_pt and (halo := self._path(i, origin[i], scale, halo=True)) is not None:
                renderer.draw_path(gc, halo, unit, (1.0, 1.0, 1.0, 1.0))
            if raster:
                if (glyphs := self._path(i, origin[i], scale)) is not None:
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
