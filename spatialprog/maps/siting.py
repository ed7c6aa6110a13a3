"""Land for new substations on the interactive map: the candidate sites and the suitability surface.

Both come from the run's siting part (:mod:`spatialprog.siting`, written by
:mod:`spatialprog.siting.write`): the candidate sites are a layer of the run
(``candidate_sites`` in ``results.gpkg``), drawn with a popup per site (few:
at most a handful per new station); the suitability surface is the run's
``siting_suitability.tif``, warped to Web Mercator, coloured red (unsuitable)
to green and embedded as one PNG (offline, no tiles), shown only when chosen
in the layer control. A map drawn from a result without a run folder has the
candidates but no surface.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import folium
import numpy as np
import pandas as pd

from .. import fields as F
from ..config import BASE_VARIANT
from ..outputs import RunOutputs
from . import _data as D
from ._compact import SiteLayers, column

__all__ = ["CANDIDATES_TITLE_NL", "SUITABILITY_TITLE_NL", "MAX_OVERLAY_PX", "add_siting_layers"]

CANDIDATES_TITLE_NL = "Kandidaat-locaties nieuw onderstation"
SUITABILITY_TITLE_NL = "Geschiktheid voor een nieuw onderstation"
#: the longest side of the embedded suitability image (a national grid is resampled to it)
MAX_OVERLAY_PX = 1600
_CANDIDATE_COLOUR = "#6a3d9a"


def _fmt(v, nd: int = 0) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return f"{float(v):,.{nd}f}".replace(",", " ").replace(".", ",") if isinstance(v, float | int) else str(v)


def _candidates(m: folium.Map, outputs: RunOutputs, tol: float) -> None:
    """The base variant's candidate sites, drawn by the page's site template (``spatialprog.drawSites``):
    one compact table (geometry, the popup's columns as text), the candidate's id as the popup's title."""
    c = outputs.layers.get("candidate_sites")
    if c is None or not len(c):
        return
    variants = D.variants_of(outputs)
    base = BASE_VARIANT if BASE_VARIANT in variants else (variants[0] if variants else None)
    if F.VARIANT in c and base is not None:
        c = c[c[F.VARIANT] == base]
    if not len(c):
        return
    g = D.display_copy(c, tolerance_m=tol, to_wgs84=True)

    def get(col: str) -> list:
        return g[col].tolist() if col in g else [None] * len(g)

    def text(values: list, nd: int | None = None) -> dict:
        shown = ["" if v is None or (isinstance(v, float) and not np.isfinite(v)) else
                 _fmt(v, nd) if nd is not None else str(v) for v in values]
        return column(shown)

    ids = [str(v) for v in get("candidate_id")]
    cols = [("kandidaat", text(get("candidate_id"))), ("voor onderstation", text(get(F.SUBSTATION_ID))),
            ("rang", text(get("candidate_rank"))), ("geschiktheid", text(get("score"), 2)),
            ("oppervlakte (m²)", text(get("area_m2"), 0)), ("nodig (m²)", text(get("land_m2"), 0)),
            ("afstand tot de vraag (m)", text(get("distance_to_demand_m"), 0)),
            ("afstand tot hoogspanningslijn (m)", text(get("distance_to_hv_line_m"), 0)),
            ("conflicten", text(get("n_conflicts"), 0)), ("regels", text([v or "" for v in get("conflict_rules")]))]
    letters, geo = D.encode_geometries(np.asarray(g.geometry.values))
    blob = {"kind": "candidate_sites", "title": CANDIDATES_TITLE_NL, "colour": _CANDIDATE_COLOUR, "ids": ids,
            "names": column([None] * len(g)), "plain": True, "headings": column(ids),
            "style": {"weight": 2.5, "opacity": 1, "dashArray": "6 4", "fillOpacity": 0.25,
                      "className": "sp-candidate"},
            "cols": [{"l": label, **col} for label, col in cols], "years": None, "t": letters, "g": geo}
    fg = folium.FeatureGroup(name=CANDIDATES_TITLE_NL, show=True)
    fg.add_to(m)
    m.add_child(SiteLayers([(fg, blob)]))


def _png(rgba: np.ndarray) -> bytes:
    """An RGBA image (h, w, 4; uint8) as PNG bytes: with a palette when it has at most 256 colours (a colour
    map's image has), which is the same picture in about a quarter of the bytes; else as RGBA."""
    from PIL import Image

    packed = rgba.reshape(-1, 4).view(np.uint32).ravel()
    # np.unique(packed, return_inverse=True) without sorting every pixel: hash the few colours, sort those
    codes, found = pd.factorize(packed, sort=False)
    order = np.argsort(found, kind="stable")
    colours = np.asarray(found)[order]
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    index = rank[codes]
    buf = io.BytesIO()
    if len(colours) <= 256:
        im = Image.fromarray(index.reshape(rgba.shape[:2]).astype("uint8"), "P")
        im.putpalette(colours.view(np.uint8).tobytes(), "RGBA")
    else:
        im = Image.fromarray(rgba, "RGBA")
    im.save(buf, format="PNG", compress_level=6)  # zlib's default: a national surface in half the time of
    # optimize=True (level 9), 1 % larger
    return buf.getvalue()


def _suitability_png(path: Path) -> tuple[str, list[list[float]]] | None:
    """The suitability raster warped to Web Mercator, coloured, as a PNG data URI and its lat/lon bounds."""
    import rasterio
    from affine import Affine
    from matplotlib import colormaps
    from rasterio.warp import Resampling, reproject, transform_bounds

    with rasterio.open(path) as src:
        scale = max(1.0, max(src.width, src.height) / MAX_OVERLAY_PX)
        w, h = max(1, int(src.width / scale)), max(1, int(src.height / scale))
        left, bottom, right, top = transform_bounds(src.crs, "EPSG:3857", *src.bounds, densify_pts=21)
        transform = Affine((right - left) / w, 0.0, left, 0.0, -(top - bottom) / h, top)
        out = np.full((h, w), np.nan, dtype="float32")
        reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs="EPSG:3857",
                  resampling=Resampling.average, src_nodata=src.nodata, dst_nodata=np.nan)
        west, south, east, north = transform_bounds("EPSG:3857", "EPSG:4326", left, bottom, right, top)
    if not np.isfinite(out).any():
        return None
    finite = np.isfinite(out)
    rgba = colormaps["RdYlGn"](np.nan_to_num(out, nan=0.0), bytes=True)  # the colour map's 0-255 table
    rgba[..., 3] = np.where(finite, np.uint8(0.65 * 255), np.uint8(0))
    rgba[~finite] = 0  # no data: fully transparent
    uri = "data:image/png;base64," + base64.b64encode(_png(rgba)).decode("ascii")
    return uri, [[south, west], [north, east]]


def add_siting_layers(m: folium.Map, outputs: RunOutputs, *, tolerance_m: float) -> list[tuple[str, str]]:
    """Add the candidate sites and (from a run folder) the suitability surface to ``m``.

    Returns
    -------
    list of (label, colour)
        Legend entries for what was added.
    """
    legend = []
    c = outputs.layers.get("candidate_sites")
    _candidates(m, outputs, tolerance_m)
    if c is not None and len(c):
        legend.append((CANDIDATES_TITLE_NL, _CANDIDATE_COLOUR))
    folder = getattr(outputs, "out_dir", None)
    tif = Path(folder) / "siting_suitability.tif" if folder is not None else None
    if tif is not None and tif.is_file():
        img = _suitability_png(tif)
        if img is not None:
            fg = folium.FeatureGroup(name=SUITABILITY_TITLE_NL, show=False)
            folium.raster_layers.ImageOverlay(image=img[0], bounds=img[1], opacity=1.0, interactive=False,
                                              name=SUITABILITY_TITLE_NL).add_to(fg)
            fg.add_to(m)
    return legend
