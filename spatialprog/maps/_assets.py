"""Inline the vendored Leaflet and MarkerCluster files into one HTML head block.

The files live in ``spatialprog/assets`` (see its README for versions and
licences). Inlining drops the ``sourceMappingURL`` comment (a browser with
developer tools open would otherwise ask for the ``.map`` file) and turns each
``url(images/NAME.png)`` into a ``data:`` URI, so the page makes no request.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources

__all__ = ["inline_head"]

_SOURCEMAP_RE = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL_RE = re.compile(r"url\((['\"]?)images/([A-Za-z0-9_.-]+\.png)\1\)")


def _read(*parts: str) -> bytes:
    return resources.files("spatialprog").joinpath("assets", *parts).read_bytes()


def _css(*parts: str) -> str:
    text = _read(*parts).decode("utf-8")
    folder = parts[:-1]

    def data_uri(m: re.Match) -> str:
        png = _read(*folder, "images", m.group(2))
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    return _CSS_URL_RE.sub(data_uri, text)


def _js(*parts: str) -> str:
    text = _SOURCEMAP_RE.sub("", _read(*parts).decode("utf-8"))
    # a literal "</script" inside the code would end the inline block early
    return text.replace("</script", "<\\/script")


@functools.cache
def inline_head(*, markercluster: bool = True) -> str:
    """``<style>`` and ``<script>`` blocks with Leaflet (and MarkerCluster) inlined.

    Parameters
    ----------
    markercluster : bool
        Include leaflet.markercluster and its two stylesheets.

    Returns
    -------
    str
        HTML to put in the page head, before any script that uses ``L``.

    Examples
    --------
    >>> head = inline_head()
    >>> "L.MarkerClusterGroup" in head and "https://unpkg" not in head
    True
    """
    blocks = [f"<style>{_css('leaflet', 'leaflet.css')}</style>",
              f"<script>{_js('leaflet', 'leaflet.js')}</script>"]
    if markercluster:
        blocks += [
            f"<style>{_css('leaflet.markercluster', 'MarkerCluster.css')}</style>",
            f"<style>{_css('leaflet.markercluster', 'MarkerCluster.Default.css')}</style>",
            f"<script>{_js('leaflet.markercluster', 'leaflet.markercluster.js')}</script>",
        ]
    return "\n".join(blocks)
