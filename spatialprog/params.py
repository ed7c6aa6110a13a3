"""Reference parameters (data/parameters.toml) and their overrides.

Every domain figure the computation uses is a :class:`Parameter` with a value,
a unit and a source. A project file may override values (``[parameters]``) and
each development variant may override them again; the set in force for a
variant is a :class:`ParameterSet`, which also remembers where each value came
from, for the run manifest.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ParameterError, ProjectError, show

__all__ = [
    "Parameter",
    "ParameterSet",
    "data_dir",
    "load_parameters",
    "load_status_classes",
    "flatten",
    "read_reference_table",
]


def data_dir() -> Path:
    """Return the folder holding the reference data (``*.csv``, ``parameters.toml``, ``mappings/``).

    The tables lie in the repository's top-level ``data/``; a wheel ships
    that folder as the package ``spatialprog.data`` (the ``package-dir``
    mapping in pyproject.toml). Looked up in this order:

    1. a source checkout: ``data/`` beside the imported ``spatialprog``
       folder, next to ``pyproject.toml`` (an editable install, or the
       checkout on ``PYTHONPATH``). It comes first so that a checkout on
       ``PYTHONPATH`` never reads another checkout's editable install.
    2. the installed package ``spatialprog.data``, through
       :func:`importlib.resources.files`.

    Returns
    -------
    Path
        A folder on the file system.

    Raises
    ------
    ProjectError
        When neither holds ``parameters.toml`` (a broken installation).

    Examples
    --------
    >>> (data_dir() / "parameters.toml").is_file()
    True
    """
    pkg = Path(__file__).resolve().parent
    checkout = pkg.parent / "data"
    if (pkg.parent / "pyproject.toml").is_file() and (checkout / "parameters.toml").is_file():
        return checkout
    installed = _installed_data_dir()
    if installed is not None:
        return installed
    raise ProjectError(
        "reference data not found: spatialprog.data/parameters.toml is missing from the installation - "
        "reinstall spatialprog (pip install --force-reinstall spatialprog, or pip install -e . in a checkout)"
    )


def _installed_data_dir() -> Path | None:
    """The folder of the package ``spatialprog.data``, or None when it is not installed."""
    from importlib import resources

    try:
        root = resources.files("spatialprog.data")
    except ModuleNotFoundError:
        return None
    # data/ has no __init__.py: a namespace package, whose files() is a MultiplexedPath, not a
    # Path; a file inside it resolves to a real Path (for an installation on the file system)
    marker = root.joinpath("parameters.toml")
    if isinstance(marker, Path) and marker.is_file():
        return marker.parent
    return None


@dataclass(frozen=True)
class Parameter:
    """A domain figure with its unit and source.

    Parameters
    ----------
    key : str
        Dotted key, e.g. ``"demand.dwelling_kw.gas"``.
    value : float or int or str
    unit : str
    source : str
        Where the figure comes from (or ``"assumption: ..."``).
    origin : str
        ``"data"`` for the reference table, ``"project"`` or ``"variant NAME"``
        when overridden.
    """

    key: str
    value: Any
    unit: str
    source: str
    note: str = ""
    origin: str = "data"


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested TOML tables into dotted keys.

    A table holding a ``value`` key is a leaf (a parameter definition).

    Examples
    --------
    >>> flatten({"a": {"b": 1, "c": {"d": 2}}})
    {'a.b': 1, 'a.c.d': 2}
    """
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and "value" not in v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


class ParameterSet(Mapping[str, Any]):
    """The parameters in force, read as ``params["demand.ev_kw_per_ev"]``.

    Mapping access gives the bare value; :meth:`describe` the full
    :class:`Parameter`.
    """

    def __init__(self, params: Mapping[str, Parameter]):
        self._p = dict(sorted(params.items()))

    def __getitem__(self, key: str) -> Any:
        try:
            return self._p[key].value
        except KeyError:
            raise ParameterError(f"unknown parameter '{key}'") from None

    def __iter__(self):
        return iter(self._p)

    def __len__(self) -> int:
        return len(self._p)

    def describe(self, key: str) -> Parameter:
        """Return the full :class:`Parameter` for ``key``."""
        return self._p[key]

    def group(self, prefix: str) -> dict[str, Any]:
        """Return ``{last_key: value}`` for every parameter under ``prefix``.

        Examples
        --------
        >>> p = load_parameters()
        >>> sorted(p.group("demand.charging_simultaneity"))
        ['freight', 'passenger']
        """
        pre = prefix.rstrip(".") + "."
        return {k[len(pre):]: p.value for k, p in self._p.items() if k.startswith(pre)}

    def with_overrides(self, overrides: Mapping[str, Any], *, origin: str, where: str) -> ParameterSet:
        """Return a new set with ``overrides`` applied.

        Parameters
        ----------
        overrides : mapping
            Dotted keys (or nested tables) to new values.
        origin : str
            Recorded as the origin of each overridden value.
        where : str
            The project-file key the overrides come from, for error messages.

        Raises
        ------
        ParameterError
            For a key that is not a known parameter, or a value of the wrong type.
        """
        new = dict(self._p)
        for key, value in flatten(overrides).items():
            if isinstance(value, Mapping):  # {value=..., source=...} given in full
                src = value.get("source")
                value = value.get("value")
            else:
                src = None
            if key not in new:
                close = _closest(key, new)
                hint = f"; did you mean '{close}'?" if close else ""
                raise ParameterError(
                    f"{where}: unknown parameter '{key}'{hint} - the parameters are listed in "
                    f"data/parameters.toml and the README"
                )
            old = new[key]
            if isinstance(old.value, int | float) and not isinstance(old.value, bool):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ParameterError(
                        f"{where}: parameter '{key}' must be a number ({old.unit}), got {show(value)}"
                    )
                if not math.isfinite(value) or value < 0:
                    raise ParameterError(
                        f"{where}: parameter '{key}' must be a finite number >= 0 ({old.unit}), got {show(value)}"
                    )
            new[key] = replace(
                old, value=value, origin=origin, source=src or f"override in {where} (was {old.value}: {old.source})"
            )
        return ParameterSet(new)

    def to_frame(self) -> pd.DataFrame:
        """Return the parameters as a table (key, value, unit, source, origin)."""
        return pd.DataFrame(
            [
                {"key": p.key, "value": p.value, "unit": p.unit, "source": p.source, "note": p.note, "origin": p.origin}
                for p in self._p.values()
            ]
        )


def _closest(key: str, known: Mapping[str, Any]) -> str | None:
    import difflib

    m = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return m[0] if m else None


def load_parameters(path: str | Path | None = None) -> ParameterSet:
    """Read the reference parameters.

    Parameters
    ----------
    path : path, optional
        A parameters TOML file; defaults to ``data/parameters.toml``.

    Examples
    --------
    >>> p = load_parameters()
    >>> p["demand.dwelling_kw.heat_network"]
    1.5
    >>> p.describe("demand.ev_kw_per_ev").unit
    'kW/EV'
    """
    path = Path(path) if path else data_dir() / "parameters.toml"
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    params = {}
    for key, leaf in flatten(raw).items():
        if not isinstance(leaf, Mapping) or not {"value", "unit", "source"} <= set(leaf):
            raise ProjectError(f"{path}: parameter '{key}' needs value, unit and source")
        params[key] = Parameter(
            key=key, value=leaf["value"], unit=leaf["unit"], source=leaf["source"], note=leaf.get("note", "")
        )
    return ParameterSet(params)


def read_reference_table(path: str | Path, required: Sequence[str], what: str, **read_kw: Any) -> pd.DataFrame:
    """Read a reference table (CSV) from data/ or a project, requiring its columns.

    Raises
    ------
    ProjectError
        When the file does not exist or lacks a required column (naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"{what} table '{path}' does not exist - reinstall spatialprog or give an existing file")
    df = pd.read_csv(path, **read_kw)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ProjectError(f"{path.name}: column '{missing[0]}' is missing - the table needs {', '.join(required)}")
    return df


def load_status_classes(path: str | Path | None = None) -> pd.DataFrame:
    """Read the headroom status classes (the national capacity map's meanings).

    Returns
    -------
    DataFrame
        Columns status, label_nl, label_en, min_headroom_share (electricity),
        ``min_headroom_share_<carrier>`` (hydrogen, heat and gas nodes:
        :func:`spatialprog.headroom.status_classes_for`), colour, meaning_nl,
        source; sorted from the best class to the worst.

    Examples
    --------
    >>> load_status_classes()["status"].tolist()
    ['ruimte', 'schaars', 'waarschuwing', 'congestie']
    """
    path = Path(path) if path else data_dir() / "status_classes.csv"
    df = pd.read_csv(path)
    for c in [c for c in df.columns if c.startswith("min_headroom_share")]:
        df[c] = df[c].astype(float)
    return df.sort_values("min_headroom_share", ascending=False, kind="stable").reset_index(drop=True)
