"""Shared fixtures: the example region (computed and run once), hand-built layers, real data paths."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from .clients import skip_if_missing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "layers" / "example_region.toml"
REALDATA = Path(os.environ.get("SPATIALPROG_REALDATA", ROOT.parent / "shared" / "realdata"))

# ---- expectations written out by hand ----------------------------------------------

#: status -> (Dutch label, colour) of Netbeheer Nederland's capacity map, best to worst (data/status_classes.csv)
STATUS_NL = {
    "ruimte": ("Ruimte beschikbaar", "#8cc63f"),
    "schaars": ("Capaciteit wordt schaars", "#ffd400"),
    "waarschuwing": ("Voorlopig geen capaciteit (vooraankondiging congestie)", "#f7931e"),
    "congestie": ("Structurele congestie (wachtrij)", "#e30613"),
}
#: the maps' grey for an area without a computed headroom
NO_DATA_NL = ("geen_gegevens", "Geen gegevens", "#bdbdbd")
#: the Dutch titles of the example region's layers in the map's layer control and in QGIS
LAYER_TITLES = {"service_areas": "Voedingsgebieden", "substations": "Onderstations",
                "housing_sites": "Woningbouwlocaties", "industrial_zones": "Bedrijventerreinen",
                "charging_hubs": "Laadpleinen", "heat_networks": "Warmtenetten", "generation": "Duurzame opwek"}


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#8cc63f"`` -> ``(140, 198, 63)``."""
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    """Docstring examples and relative paths are written from the repository root."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(autouse=True, scope="session")
def _own_cache_dir(tmp_path_factory):
    """check-site's baseline cache in a folder of this test session, never the user's (spatialprog.cache)."""
    os.environ["SPATIALPROG_CACHE_DIR"] = str(tmp_path_factory.mktemp("spatialprog-cache"))


@pytest.fixture(scope="session")
def example_project() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def example_result():
    """The example region computed once (all variants)."""
    from spatialprog.pipeline import compute, read_plan

    return compute(read_plan(EXAMPLE))


@dataclass(frozen=True)
class CliRun:
    """A finished ``spatialprog run``: its output folder and what it printed."""

    out: Path
    output: str


def _cli_run(out: Path, *options: str) -> CliRun:
    from spatialprog.cli import cli

    with pytest.MonkeyPatch.context() as mp:  # session fixtures are set up before _repo_cwd
        mp.chdir(ROOT)
        r = CliRunner().invoke(cli, ["run", str(EXAMPLE), "--out", str(out), *options], obj={})
    assert r.exit_code == 0, r.output
    return CliRun(out, r.output)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _shared_run(tmp_path_factory, name: str, *options: str):
    run = _cli_run(tmp_path_factory.mktemp(name) / "out", *options)
    before = _digest(run.out)
    yield run
    assert _digest(run.out) == before, f"a test changed the shared run in {run.out}: copy it (shutil.copytree) first"


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """``spatialprog run layers/example_region.toml --out <tmp>``: all variants, maps, QGIS export; run once.

    Every test that only reads a full run's outputs shares this folder. Read it, never
    write into it (copy it with shutil.copytree first); the session ends with an error
    if a file in it changed.
    """
    yield from _shared_run(tmp_path_factory, "example-run")


@pytest.fixture(scope="session")
def example_run_bare(tmp_path_factory):
    """``spatialprog run layers/example_region.toml --no-maps --no-qgis``, run once (read only).

    A second run of the same inputs, for determinism and for what the two flags leave out.
    """
    yield from _shared_run(tmp_path_factory, "example-run-bare", "--no-maps", "--no-qgis")


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A private copy of layers/ (tests may break it)."""
    dst = tmp_path / "layers"
    shutil.copytree(ROOT / "layers", dst)
    return dst / "example_region.toml"


def realdata(*parts: str) -> Path:
    """Path into ../shared/realdata, or skip the test with the reason."""
    p = REALDATA.joinpath(*parts)
    skip_if_missing(None if p.exists() else f"real data not available: {p} is absent (it lives in ../shared/realdata "
                                              f"on CI)")
    return p


# ---- tiny hand-built project --------------------------------------------------------

def write_tiny_project(tmp_path: Path, *, housing: gpd.GeoDataFrame | None = None, extra: str = "",
                       subs: gpd.GeoDataFrame | None = None, areas: bool = True) -> Path:
    """Two substations with square service areas side by side, and optional housing.

    A: 150/20 kV 2 x 40 MVA (firm 40), peak 20 MW, area x 0-1000.
    B: 110/10 kV 1 x 30 MVA (firm 30, N-0), peak 10 MW, area x 1000-2000.
    Coordinates are RD New around (150000, 450000).
    """
    x0, y0 = 150_000.0, 450_000.0
    if subs is None:
        subs = gpd.GeoDataFrame(
            {"id": ["A", "B"], "name": ["Alfa", "Beta"], "voltage_kv": ["150/20", "110/10"],
             "n_transformers": [2, 1], "transformer_mva": [40.0, 30.0],
             "peak_offtake_mw": [20.0, 10.0], "peak_feedin_mw": [5.0, 2.0]},
            geometry=[Point(x0 + 500, y0 + 500), Point(x0 + 1500, y0 + 500)], crs="EPSG:28992")
    path = tmp_path / "tiny.gpkg"
    subs.to_file(path, layer="subs", driver="GPKG")
    layers = """
[layers.substations]
path = "tiny.gpkg"
layer = "subs"
"""
    if areas:
        sa = gpd.GeoDataFrame({"id": ["SA", "SB"], "substation_id": ["A", "B"]},
                              geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000)],
                              crs="EPSG:28992")
        sa.to_file(path, layer="areas", driver="GPKG")
        layers += """
[layers.service_areas]
path = "tiny.gpkg"
layer = "areas"
"""
    if housing is not None:
        housing.to_file(path, layer="housing", driver="GPKG")
        layers += """
[layers.housing_sites]
path = "tiny.gpkg"
layer = "housing"
"""
    toml = tmp_path / "tiny.toml"
    toml.write_text(f"""
[project]
name = "tiny"
base_year = 2025
horizon = [2025, 2030]
{layers}
{extra}
""")
    return toml


@pytest.fixture
def tiny_housing():
    x0, y0 = 150_000.0, 450_000.0
    return gpd.GeoDataFrame(
        {"id": ["H1", "H2"], "dwellings": [100, 200], "delivery_start_year": [2026, 2027],
         "delivery_end_year": [2026, 2028], "heating": ["all_electric", "hybrid"], "ev_share": [0.5, 0.0]},
        geometry=[box(x0 + 100, y0 + 100, x0 + 300, y0 + 300),          # inside A
                  box(x0 + 900, y0 + 400, x0 + 1300, y0 + 500)],        # 100 m in A, 300 m in B: 25/75
        crs="EPSG:28992")
