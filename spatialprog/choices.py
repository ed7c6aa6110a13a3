"""Variants that choose: a development variant changes features, not only parameters.

A variant's ``changes`` (in the project file, or a CSV it names) is one table
keyed by layer and id::

    [[variants.waterstof.changes]]
    layer = "industrial_zones"
    id = "BT07"
    process_heat_carrier = "hydrogen"

    [[variants.wijk_eerst.changes]]
    layer = "housing_sites"
    id = "WB012"
    active = false                      # this site is not built in this variant

or ``changes = "varianten.csv"`` with columns ``layer, id, field, value``. Any field
of the layer's schema may change (phasing, delivery years, heating, the
process-heat carrier, a firm share, ...); ``active = false`` switches a feature off
(to add one in a variant only, put it in the layer and switch it off in the
others). Every change is checked against the layer's schema when the plan is read
(an unknown layer, id or field, or a value the column does not allow, is an
error naming the variant, the layer and the id); computing applies them to a
copy of the layers per variant: the same demand, assignment and headroom
functions run on it.

Pure: nothing here opens a file (the CSV is read in
:func:`spatialprog.pipeline.read_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from .errors import LayerValidationError, NoticeLog, Problem
from .kinds import LayerKind
from .validation import validate_layer

__all__ = ["ACTIVE", "Change", "check_changes", "apply_changes"]

#: the pseudo-field that switches a feature off (false) in a variant
ACTIVE = "active"
_TRUE = {"true", "1", "yes", "ja", "waar"}
_FALSE = {"false", "0", "no", "nee", "onwaar"}


class Change(dict):
    """One change: ``layer``, ``id``, ``field``, ``value`` (a dict, for tables and TOML alike)."""


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _coerce(value: Any, col) -> tuple[Any, str | None]:
    """The value as the column holds it, or the reason it is not allowed."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip()):
        return None, None if not col.required else f"{col.name} is required"
    try:
        if col.dtype in ("int", "year"):
            v: Any = int(float(str(value).replace(",", ".")))
        elif col.dtype == "float":
            v = float(str(value).replace(",", "."))
        else:
            v = str(value).strip()
    except ValueError:
        return None, f"{value!r} is not {'a number' if col.dtype == 'float' else 'a whole number'}"
    if col.allowed and v not in col.allowed:
        return None, f"{v!r} is not allowed - use one of: {', '.join(map(str, col.allowed))}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if col.min is not None and v < col.min or col.max is not None and v > col.max:
            return None, f"{v:g} is outside {col.min:g}..{col.max:g}"
    return v, None


def check_changes(changes: Mapping[str, Sequence[Mapping[str, Any]]], layers: Mapping[str, gpd.GeoDataFrame],
                  kinds: Mapping[str, LayerKind], *, complete: bool = True) -> dict[str, list[Change]]:
    """Validate every variant's changes against the layers and their schemas.

    Parameters
    ----------
    changes : mapping of str -> sequence of mapping
        Per variant, rows with ``layer``, ``id`` and either ``field``/``value``
        or the fields themselves as keys.
    layers : mapping
        The plan's validated layers.
    kinds : mapping
        The registry.
    complete : bool
        False for a plan read only near a site (check-site): a change to a
        feature or layer not read is left out (the full run checks it).

    Returns
    -------
    dict of str -> list of Change
        Per variant, one :class:`Change` per field, the value coerced to the column's type.

    Raises
    ------
    LayerValidationError
        Naming the variant, the layer, the id and the field of each bad change.
    """
    out: dict[str, list[Change]] = {}
    problems: list[Problem] = []
    for variant, rows in changes.items():
        out[variant] = []
        for i, row in enumerate(rows):
            where = f"variants.{variant}.changes[{i}]"
            layer, fid = row.get("layer"), row.get("id")
            if layer not in layers and not complete and layer in kinds:
                continue
            if layer not in layers:
                problems.append(Problem(where, f"layer '{layer}' is not a layer of the project", fid, "layer",
                                        fix=f"use one of: {', '.join(sorted(layers))}"))
                continue
            gdf = layers[layer]
            if str(fid) not in set(gdf["id"].astype(str)):
                if not complete:
                    continue
                problems.append(Problem(where, f"'{fid}' is not an id of layer {layer}", fid, "id",
                                        fix=f"use an id of the {layer} layer"))
                continue
            fields = {row["field"]: row.get("value")} if "field" in row else \
                {k: v for k, v in row.items() if k not in ("layer", "id")}
            if not fields:
                problems.append(Problem(where, "no field to change", fid, "field",
                                        fix="give field and value, or the field itself (e.g. heating = \"hybrid\")"))
            kind = kinds[layer]
            for name, value in fields.items():
                if name == ACTIVE:
                    flag = _flag(value)
                    if flag is None:
                        problems.append(Problem(where, f"active must be true or false, got {value!r}", fid, name))
                    else:
                        out[variant].append(Change(layer=layer, id=str(fid), field=name, value=flag))
                    continue
                if name not in kind.column_names or name == "id":
                    problems.append(Problem(where, f"'{name}' is not a field of {layer}", fid, name,
                                            fix=f"use active or one of: {', '.join(c for c in kind.column_names if c != 'id')}"))
                    continue
                v, why = _coerce(value, kind.column(name))
                if why:
                    problems.append(Problem(where, why, fid, name))
                else:
                    out[variant].append(Change(layer=layer, id=str(fid), field=name, value=v))
    if problems:
        raise LayerValidationError(problems)
    # the changed layers as a whole, by the layer's own checks (rows across fields: phasing, transition paths)
    for variant, chosen in out.items():
        changed = apply_changes(layers, chosen)
        for layer in sorted({c["layer"] for c in chosen}):
            validate_layer(changed[layer], kinds[layer], working_crs=str(layers[layer].crs),
                           label=f"variants.{variant}.changes ({layer})", notices=NoticeLog())
    return out


def apply_changes(layers: Mapping[str, gpd.GeoDataFrame], changes: Sequence[Change]) -> dict[str, gpd.GeoDataFrame]:
    """The layers as one variant has them: fields changed, features switched off (copies; the input is kept).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame({"id": ["A", "B"], "heating": ["gas", "gas"]}, geometry=[Point(0, 0)] * 2, crs=28992)
    >>> out = apply_changes({"housing_sites": g}, [Change(layer="housing_sites", id="A", field="heating",
    ...                                                   value="hybrid"),
    ...                                            Change(layer="housing_sites", id="B", field="active", value=False)])
    >>> out["housing_sites"][["id", "heating"]].values.tolist(), g["heating"].tolist()
    ([['A', 'hybrid']], ['gas', 'gas'])
    """
    if not changes:
        return dict(layers)
    out = dict(layers)
    for layer in {c["layer"] for c in changes}:
        g = layers[layer].copy()
        ids = g["id"].astype(str)
        off = set()
        for c in (c for c in changes if c["layer"] == layer):
            if c["field"] == ACTIVE:
                (off.add if not c["value"] else off.discard)(c["id"])
                continue
            if c["field"] not in g:
                g[c["field"]] = None
            if isinstance(c["value"], str) or not pd.api.types.is_numeric_dtype(g[c["field"]]):
                g[c["field"]] = g[c["field"]].astype(object)
            g.loc[ids == c["id"], c["field"]] = c["value"]
        out[layer] = g[~ids.isin(off)].reset_index(drop=True)
    return out
