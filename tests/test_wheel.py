"""The package that installs: a wheel built from the repository, installed into a fresh venv, run elsewhere.

The wheel is built from a copy of the sources (so the work tree gets no
build/ or egg-info) and installed without its dependencies into a new venv;
the venv reaches the dependencies of this environment through one ``.pth``
file. A folder named by a ``.pth`` file is put on ``sys.path`` but not itself
scanned for ``.pth`` files, so the editable install of this checkout (a
``.pth`` plus a finder in this environment's site-packages) is not active
there: the venv imports spatialprog from the wheel only, as a user's would.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"
#: what the build reads from the repository (pyproject.toml names the rest)
SOURCES = ("pyproject.toml", "README.md", "spatialprog", "data")

PROBE = """
import json, sys
import geopandas, spatialprog
from spatialprog.params import data_dir
print(json.dumps({
    "spatialprog": spatialprog.__file__,
    "data_dir": str(data_dir()),
    "geopandas": geopandas.__file__,
    "finders": [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path],
    "editable": sorted(m for m in sys.modules if m.startswith("__editable__")),
}))
"""


def _env() -> dict[str, str]:
    """This environment without what would put the checkout on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _sh(cmd: list, *, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _backend_installed() -> bool:
    """Whether this environment has the build backend pyproject.toml asks for (then no isolated build)."""
    from packaging.requirements import Requirement

    reqs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    for r in map(Requirement, reqs):
        try:
            if not r.specifier.contains(importlib.metadata.version(r.name), prereleases=True):
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def _isolation() -> list[str]:
    """Build without isolation (fast, offline) when this environment has the backend; else pip fetches it."""
    return ["--no-build-isolation"] if _backend_installed() else []


def _build_failed(proc: subprocess.CompletedProcess, what: str) -> None:
    """Skip when a wheel cannot be built on this machine at all; fail on anything else."""
    out = proc.stdout + proc.stderr
    if not _backend_installed() and any(s in out for s in ("No matching distribution", "Could not find a version",
                                                           "Network is unreachable", "Failed to establish")):
        pytest.skip(f"cannot build a wheel here: the build backend in pyproject.toml is not installed and the "
                    f"package index cannot be reached - pip install the [build-system] requires ({what})")
    pytest.fail(f"{what} failed:\n{out[-4000:]}")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of what the build reads."""
    src = tmp_path_factory.mktemp("src") / "spatialprog-src"
    src.mkdir()
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    if _sh([sys.executable, "-m", "pip", "--version"]).returncode != 0:
        pytest.skip("cannot build a wheel here: this environment has no pip")
    dest = tmp_path_factory.mktemp("dist")
    proc = _sh([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps", *_isolation(),
                "-w", dest, source], cwd=dest)
    if proc.returncode != 0:
        _build_failed(proc, "pip wheel")
    wheels = list(dest.glob("spatialprog-*.whl"))
    assert len(wheels) == 1, proc.stdout
    return wheels[0]


def _fresh_venv(where: Path) -> tuple[Path, Path]:
    """A new venv without pip; returns its python and its site-packages."""
    proc = _sh([sys.executable, "-m", "venv", "--without-pip", where])
    assert proc.returncode == 0, proc.stderr
    py = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = _sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    return py, Path(purelib)


def _give_dependencies(site_packages: Path) -> list[Path]:
    """Point the venv at this environment's site-packages (after its own, so its spatialprog wins)."""
    ours = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    (site_packages / "_spatialprog_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return ours


def _probe(py: Path, cwd: Path) -> dict:
    proc = _sh([py, "-c", PROBE], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_wheel_ships_the_reference_data_and_every_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = ROOT / "data"
    shipped = {f"spatialprog/data/{p.relative_to(data).as_posix()}" for p in data.rglob("*")
               if p.is_file() and p.suffix in (".csv", ".toml")}
    assert {f"spatialprog/data/{p.name}" for p in data.glob("*.csv")} <= shipped
    assert "spatialprog/data/parameters.toml" in shipped and "spatialprog/data/mappings/vivet.toml" in shipped
    missing = sorted(shipped - names)
    assert not missing, f"reference data missing from the wheel: {missing}"
    assert not [n for n in names if n.startswith("data/")], "data/ must ship inside the package"
    # the packages are listed by hand in pyproject.toml ([tool.setuptools] packages): none may be left out
    folders = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "spatialprog").rglob("*.py")
               if "__pycache__" not in p.parts}
    left_out = sorted(f for f in folders if not any(n.startswith(f + "/") and n.endswith(".py") for n in names))
    assert not left_out, f"add {[f.replace('/', '.') for f in left_out]} to [tool.setuptools] packages"
    assert "spatialprog/assets/leaflet/leaflet.js" in names and "spatialprog/py.typed" in names
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: fiona" not in meta and "Requires-Dist: mapclassify" not in meta


def test_installed_wheel_runs_the_example_from_another_folder(wheel, tmp_path):
    py, site_packages = _fresh_venv(tmp_path / "venv")
    proc = _sh([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", py, "install", "--no-deps",
                "--no-index", wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ours = _give_dependencies(site_packages)
    work = tmp_path / "elsewhere"
    work.mkdir()

    seen = _probe(py, work)
    assert Path(seen["spatialprog"]).is_relative_to(site_packages), seen["spatialprog"]
    assert not Path(seen["spatialprog"]).is_relative_to(ROOT)
    assert Path(seen["data_dir"]) == site_packages / "spatialprog" / "data"
    # the .pth folder was not scanned for .pth files: no editable finder of the checkout
    assert "_EditableFinder" not in seen["finders"] and seen["editable"] == []
    assert any(Path(seen["geopandas"]).is_relative_to(p) for p in ours)

    exe = py.parent / ("spatialprog.exe" if os.name == "nt" else "spatialprog")
    run = _sh([exe, "run", EXAMPLE, "--out", "out"], cwd=work)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    res = work / "out"
    names = {p.name for p in res.iterdir()}
    assert {"manifest.json", "headroom.csv", "results.gpkg", "programme.csv", "map.html",
            "spatialprog.gpkg", "spatialprog.qgz"} <= names
    man = json.loads((res / "manifest.json").read_text(encoding="utf-8"))
    assert man["outputs"] == sorted(names)
    assert {"data/parameters.toml", "data/status_classes.csv"} & {r["role"] for r in man["reference_tables"]}
    assert "done in" in run.stdout


def test_editable_install_reads_the_checkout_data(source, tmp_path):
    """What `make install` does (pip install -e .): the package and its data come from the checkout."""
    py, site_packages = _fresh_venv(tmp_path / "venv")
    if _isolation():  # the build runs in the venv: it needs the backend, from this environment
        _give_dependencies(site_packages)
    proc = _sh([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", py, "install", "--no-deps",
                *_isolation(), "-e", source], cwd=tmp_path)
    if proc.returncode != 0:
        _build_failed(proc, "pip install -e")
    _give_dependencies(site_packages)
    work = tmp_path / "elsewhere"
    work.mkdir()
    seen = _probe(py, work)
    assert Path(seen["spatialprog"]).is_relative_to(source / "spatialprog"), seen["spatialprog"]
    assert Path(seen["data_dir"]) == source / "data"
    assert "_EditableFinder" in seen["finders"]
