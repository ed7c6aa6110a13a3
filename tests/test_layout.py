"""The shape of the house: the README's "How it is built" matches the tree, no import cycles,
no module over about 500 lines without a reason, and compute opens no files."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "spatialprog"


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        if "assets" in f.parts:
            continue
        out[".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = f
    return out


def _imports(name: str, f: Path, mods: set[str]) -> set[str]:
    """Every spatialprog module ``name`` imports, at module level or inside functions."""
    pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
        if isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("spatialprog"):
                subs = {f"{base}.{a.name}" for a in n.names} & mods
                # ``from . import _data``: the module _data; ``from .x import f``: the module x
                out.update(subs if subs and len(subs) == len(n.names) else subs | {base})
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names if a.name.startswith("spatialprog"))
    return out


def test_no_import_cycles():
    mods = _modules()
    graph = {m: {d for d in _imports(m, f, set(mods)) if d in mods and d != m} for m, f in mods.items()}
    # importing ``spatialprog.x.y`` imports the package ``spatialprog.x`` first: that edge is implied, not a
    # choice, so only the imports a module writes count (a module importing its own package's __init__ back
    # is a cycle and is caught)
    cycles = []
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_long_modules_say_why():
    for name, f in _modules().items():
        text = f.read_text(encoding="utf-8")
        if text.count("\n") > 520:
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert re.search(r"\b(longer|over 500|long because|lines because)\b", doc), name


def test_readme_how_it_is_built_matches_the_tree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it is built"):]
    section = section[: section.index("\n## ", 5)]
    tree = section[section.index("spatialprog/\n"):]
    tree = tree[: tree.index("```")]
    listed: set[str] = set()
    folder = None
    for line in tree.splitlines()[1:]:
        m = re.match(r"^( {2,4})(\S+)", line)
        if not m:
            continue
        indent, item = len(m.group(1)), m.group(2)
        if indent == 2:
            folder = item.rstrip("/") if item.endswith("/") else None
            listed.add(item.rstrip("/"))
        elif indent == 4 and folder:
            listed.add(f"{folder}/{item}")
    actual = {p.relative_to(PKG).as_posix() for p in PKG.glob("*.py")} - {"__main__.py"}
    actual |= {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "assets"}
    for sub in ("conflicts", "ranking", "sitecheck", "siting"):
        actual |= {f"{sub}/{p.name}" for p in (PKG / sub).glob("*.py") if p.name != "__init__.py"}
    assert listed == actual


@pytest.mark.parametrize("module", ["demand", "network", "neighbourhoods", "headroom", "pipeline", "programme",
                                    "scales", "compare", "ranking/criteria", "ranking/scoring", "ranking/rank", "ranking/settings",
                                    "sitecheck/evaluate", "sitecheck/baseline", "sitecheck/whatif",
                                    "conflicts/engine", "conflicts/kernels", "conflicts/results",
                                    "siting/__init__", "siting/grid", "siting/surfaces", "siting/candidates",
                                    "siting/mvlv"])
def test_computation_opens_no_files(module):
    """The pure middle reads nothing: no open(), read_csv, read_layer, data_dir or pyogrio."""
    f = PKG / f"{module}.py"
    tree = ast.parse(f.read_text(encoding="utf-8"))
    if module == "pipeline":  # its input edge is read_plan; the computation is compute and what it calls
        tree = ast.Module([n for n in tree.body if isinstance(n, ast.FunctionDef)
                           and n.name in ("compute", "land_claim_conflicts", "region_of")], [])
    called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
              for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not called & {"open", "read_csv", "read_layer", "data_dir", "read_dataframe", "read_text",
                         "read_reference", "load_rules", "load_parameters", "load_status_classes"}, module


def test_no_private_names_imported_across_modules():
    mods = _modules()
    bad = []
    for name, f in mods.items():
        pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("spatialprog")):
                base = n.module or ""
                if n.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                for a in n.names:
                    # a package's own private module (maps._data) is its business; a private name is not
                    if a.name.startswith("_") and not a.name.startswith("__") and f"{base}.{a.name}" not in mods:
                        bad.append(f"{name}: from {base} import {a.name}")
    assert bad == []
