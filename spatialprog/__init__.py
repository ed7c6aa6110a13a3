"""spatialprog: integraal programmeren of the Dutch energy system.

The public API, imported lazily (so the command line starts fast)::

    import spatialprog
    done = spatialprog.run("layers/example_region.toml", "out")   # what `spatialprog run` writes

    from spatialprog import read_plan, compute, write_run         # or step by step
    plan = read_plan("layers/example_region.toml")
    result = compute(plan)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "run": "workflow",
    "CompletedRun": "workflow",
    "load_project": "config",
    "Project": "config",
    "read_layer": "layers",
    "validate_layer": "layers",
    "LAYER_KINDS": "layers",
    "load_parameters": "params",
    "site_demand": "demand",
    "assign_sites": "network",
    "headroom_table": "headroom",
    "read_plan": "pipeline",
    "compute": "pipeline",
    "Plan": "pipeline",
    "RunResult": "pipeline",
    "write_run": "outputs",
    "RunOutputs": "outputs",
    "compute_conflicts": "conflicts",
    "load_rules": "conflicts",
    "rank_run": "ranking",
    "check_site": "sitecheck",
    "check_sites": "sitecheck",
    "WhatIf": "sitecheck",
    "write_maps": "maps",
    "export_qgis": "export",
    "SpatialprogError": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'spatialprog' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
