"""Reference text generated from the single sources (schemas, data tables).

Used by ``scripts/update_readme.py`` (``make docs``) and checked by the tests,
so the README's layer and parameter reference is never written twice.
"""

from __future__ import annotations

from collections.abc import Callable

from .layers import schema_markdown
from .params import load_parameters, load_status_classes

__all__ = ["parameters_markdown", "status_markdown", "SECTIONS"]


def parameters_markdown() -> str:
    """The reference parameters as a Markdown table (key, value, unit, source).

    Examples
    --------
    >>> "demand.dwelling_kw.all_electric" in parameters_markdown()
    True
    """
    rows = ["| parameter | value | unit | source |", "|---|---|---|---|"]
    for _, p in load_parameters().to_frame().iterrows():
        src = str(p["source"]).replace("|", "/")
        note = f" *{p['note']}*" if p["note"] else ""
        rows.append(f"| `{p['key']}` | {p['value']} | {p['unit']} | {src}{note} |")
    return "\n".join(rows)


def status_markdown() -> str:
    """The headroom status classes as a Markdown table (the electricity thresholds, then the other carriers')."""
    df = load_status_classes()
    others = [c for c in ("hydrogen", "heat", "gas") if f"min_headroom_share_{c}" in df]
    rows = ["| status | label (nl) | meaning | headroom share of firm capacity | "
            + "".join(f"{c} nodes | " for c in others) + "colour |",
            "|---|---|---|---|" + "---|" * len(others) + "---|"]

    def share(x: float) -> str:
        return "<= 0 (no capacity left)" if x == float("-inf") else f">= {x:.0%}"

    for r in df.to_dict("records"):
        cells = "".join(f"{share(r[f'min_headroom_share_{c}'])} | " for c in others)
        rows.append(f"| `{r['status']}` | {r['label_nl']} | {r['label_en']} | {share(r['min_headroom_share'])} | "
                    f"{cells}{r['colour']} |")
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[], str]] = {
    "layer-reference": schema_markdown,
    "parameters": parameters_markdown,
    "status-classes": status_markdown,
}
