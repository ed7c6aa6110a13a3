"""Build a synthetic national region (FICTIONAL data) for the national-scale benchmark (issue 13).

Deterministic (a fixed seed): the same command gives the same features. The
region is a 240 x 280 km rectangle in EPSG:28992 (x 20-260 km, y 320-600 km,
about the size of the Netherlands), split into 340 fictional municipalities;
every name and number is made up and every layer says so in its description.
``--province`` builds a province instead (:data:`PROVINCE`: 80 x 70 km, about
Gelderland's size, with a twelfth of the country's substations, towns and
claims; the sites are as many as asked, so 1e4 sites is a province's load).

What it holds (``--sites`` sets the total of planned sites, default 1e5, split
over the site kinds of :mod:`spatialprog.kinds` in fixed shares):

* 400 HV/MV substations (N-1 and N-0 stations, some with a planned
  reinforcement, each under one of 20 fictional TenneT nodes) and their
  service areas (Voronoi cells clipped to the region);
* housing sites (55 %), business parks (8 %, greenhouses and data centres
  among them), charging hubs (20 %), generation (solar fields and wind
  turbines, 12 %), existing neighbourhoods in transition (4 %), heat
  networks (0.6 %) each with a heat source, and batteries (0.4 %);
* constraint and claim layers: Natura 2000 areas, HV lines, substation land
  reserves;
* horizon 2025-2040, three variants (basis, hoog, vertraagd), conflicts on.

The project file ``national.toml`` and the GeoPackage ``national.gpkg`` are
written to the folder given on the command line, never into the repository:

    python scripts/make_national_region.py /tmp/national [--sites 100000] [--seed 20261201]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialprog.network import derive_service_areas  # noqa: E402

CRS = "EPSG:28992"
SEED = 20261201


@dataclass(frozen=True)
class Extent:
    """Where the region lies and how much of the fixed network it holds (the sites are given apart)."""

    name: str  # of the files: NAME.gpkg, NAME.toml
    x0: float
    y0: float
    w: float
    h: float
    n_substations: int
    n_nodes: int  # TenneT nodes above the substations
    muni_nx: int  # municipalities, a grid of muni_nx x muni_ny
    muni_ny: int
    n_towns: int  # the sites cluster around them
    n_reserves: int  # substation land reserves
    n_hv_lines: int
    n_natura: int


#: the country: 240 x 280 km, 400 substations, 340 municipalities
NATIONAL = Extent("national", 20_000.0, 320_000.0, 240_000.0, 280_000.0, 400, 20, 17, 20, 300, 200, 150, 160)
#: a province of 80 x 70 km (5,600 km2, a twelfth of the national rectangle, Gelderland's size)
PROVINCE = Extent("province", 150_000.0, 420_000.0, 80_000.0, 70_000.0, 34, 2, 6, 5, 25, 17, 13, 14)
FICTIONAL = "FICTIEF - synthetische nationale regio voor de benchmark van spatialprog (fictional, not real)"
#: shares of the planned sites per kind (sum 1)
SHARES = {"housing_sites": 0.55, "charging_hubs": 0.20, "generation": 0.12, "industrial_zones": 0.08,
          "neighbourhoods": 0.04, "heat_networks": 0.006, "conversion_assets": 0.004}
YEARS = (2025, 2040)


def _stars(rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray, radius: np.ndarray,
           vertices: int) -> np.ndarray:
    """Valid star-shaped polygons (each vertex stays in its own sector, so no ring crosses itself)."""
    n = len(cx)
    ang = (np.arange(vertices)[None, :] + rng.uniform(-0.3, 0.3, (n, vertices))) * (2 * np.pi / vertices)
    ang = ang + rng.uniform(0.0, 2 * np.pi, (n, 1))
    rad = radius[:, None] * rng.uniform(0.75, 1.0, (n, vertices))
    xy = np.stack([cx[:, None] + rad * np.cos(ang), cy[:, None] + rad * np.sin(ang)], axis=-1)
    return shapely.polygons(np.concatenate([xy, xy[:, :1]], axis=1))


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object)


def build(n_sites: int, seed: int, extent: Extent = NATIONAL) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the synthetic region, by GeoPackage layer name."""
    X0, Y0, W, H = extent.x0, extent.y0, extent.w, extent.h
    MUNI_NX, MUNI_NY = extent.muni_nx, extent.muni_ny

    def _centres(rng: np.random.Generator, n: int, towns: np.ndarray, spread_m: float
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Centres clustered around towns (70 %) and spread over the region (30 %), inside the region."""
        k = rng.random(n) < 0.7
        t = towns[rng.integers(0, len(towns), n)]
        x = np.where(k, t[:, 0] + rng.normal(0.0, spread_m, n), rng.uniform(X0, X0 + W, n))
        y = np.where(k, t[:, 1] + rng.normal(0.0, spread_m, n), rng.uniform(Y0, Y0 + H, n))
        return np.clip(x, X0 + 500, X0 + W - 500), np.clip(y, Y0 + 500, Y0 + H - 500)

    rng = np.random.default_rng(seed)
    n = {k: max(1, int(round(n_sites * s))) for k, s in SHARES.items()}
    towns = np.column_stack([rng.uniform(X0 + 2000, X0 + W - 2000, extent.n_towns),
                             rng.uniform(Y0 + 2000, Y0 + H - 2000, extent.n_towns)])
    out: dict[str, gpd.GeoDataFrame] = {}

    # municipalities: a grid of rectangles (ids GM0001..)
    dx, dy = W / MUNI_NX, H / MUNI_NY
    ix, iy = np.meshgrid(np.arange(MUNI_NX), np.arange(MUNI_NY))
    ix, iy = ix.ravel(), iy.ravel()
    gm = np.char.add("GM", np.char.zfill(np.arange(1, len(ix) + 1).astype(str), 4)).astype(object)
    out["gemeenten"] = gpd.GeoDataFrame(
        {"id": gm, "name": [f"Gemeente {g} (fictief)" for g in gm], "level": "municipality"},
        geometry=shapely.box(X0 + ix * dx, Y0 + iy * dy, X0 + (ix + 1) * dx, Y0 + (iy + 1) * dy), crs=CRS)

    def muni(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        i = np.clip(((x - X0) // dx).astype(int), 0, MUNI_NX - 1)
        j = np.clip(((y - Y0) // dy).astype(int), 0, MUNI_NY - 1)
        return gm[j * MUNI_NX + i]

    # substations: near towns, 150/20 (N-1) and 50/10 (N-0), some reinforced
    m = extent.n_substations
    sx, sy = _centres(rng, m, towns, 6000.0)
    sid = np.char.add("S", np.char.zfill(np.arange(1, m + 1).astype(str), 4)).astype(object)
    n_tr = rng.choice([1, 2, 2, 3], m)
    tr_mva = rng.choice([25.0, 40.0, 50.0, 63.0, 80.0], m)
    firm = np.where(n_tr > 1, (n_tr - 1) * tr_mva, n_tr * tr_mva)
    reinf = rng.random(m) < 0.25
    out["onderstations"] = gpd.GeoDataFrame(
        {"id": sid, "name": [f"OS {s} (fictief)" for s in sid], "operator": "Fictief Netbedrijf",
         "voltage_kv": rng.choice(["150/20", "150/20", "110/10", "50/10"], m), "n_transformers": n_tr,
         "transformer_mva": tr_mva, "peak_offtake_mw": np.round(firm * rng.uniform(0.3, 0.95, m), 1),
         "peak_feedin_mw": np.round(firm * rng.uniform(0.1, 0.6, m), 1),
         "reinforcement_year": np.where(reinf, rng.integers(2026, 2036, m), np.nan),
         "reinforcement_mva": np.where(reinf, rng.choice([40.0, 63.0, 80.0], m), np.nan),
         "higher_level_id": np.char.add("TN-", np.char.zfill(rng.integers(1, extent.n_nodes + 1, m).astype(str), 2))},
        geometry=shapely.points(sx, sy), crs=CRS)
    region = shapely.box(X0, Y0, X0 + W, Y0 + H)
    areas = derive_service_areas(out["onderstations"], region)
    out["voedingsgebieden"] = gpd.GeoDataFrame(
        {"id": np.char.add("VG-", areas["substation_id"].to_numpy().astype(str)).astype(object),
         "substation_id": areas["substation_id"].to_numpy()}, geometry=areas.geometry.values, crs=CRS)

    # heat networks (areas 0.8-3 km across) with their sources; housing inside them takes the heat figure
    k = n["heat_networks"]
    hx, hy = _centres(rng, k, towns, 3000.0)
    hid = _ids("WN", k)
    start = rng.integers(2026, 2036, k)
    hr = rng.uniform(400.0, 1500.0, k)
    out["warmtenetten"] = gpd.GeoDataFrame(
        {"id": hid, "name": [f"Warmtenet {h} (fictief)" for h in hid], "start_year": start,
         "source_load_mw": np.round(rng.uniform(0.0, 12.0, k), 1),
         "source_x_m": hx + rng.uniform(-200, 200, k), "source_y_m": hy + rng.uniform(-200, 200, k),
         "source_kind": rng.choice(["grote warmtepomp", "e-boiler", "restwarmte"], k)},
        geometry=_stars(rng, hx, hy, hr, 24), crs=CRS)
    src = rng.random(k) < 0.5  # half the networks have a separate heat source
    tech = rng.choice(["heat_pump", "e_boiler", "waste_heat"], int(src.sum()))
    out["warmtebronnen"] = gpd.GeoDataFrame(
        {"id": _ids("WB", int(src.sum())), "name": "Warmtebron (fictief)", "heat_network_id": hid[src],
         "technology": tech, "capacity_mwth": np.round(rng.uniform(5.0, 40.0, int(src.sum())), 1),
         "cop": np.where(tech == "heat_pump", 3.5, np.nan), "start_year": start[src] + rng.integers(0, 3, int(src.sum()))},
        geometry=shapely.points(hx[src], hy[src]), crs=CRS)

    # housing: 50-450 m across, a tenth with a phasing text, a tenth on a heat network
    k = n["housing_sites"]
    x, y = _centres(rng, k, towns, 2500.0)
    r = rng.uniform(25.0, 225.0, k)
    dw = np.maximum(10, (np.pi * r * r / 1e4 * rng.uniform(20, 60, k)).astype(int))
    s0 = rng.integers(2025, 2036, k)
    ph = np.full(k, None, dtype=object)
    with_ph = np.flatnonzero(rng.random(k) < 0.1)
    for i in with_ph:
        ph[i] = f"{s0[i]}:{dw[i] // 2};{s0[i] + 2}:{dw[i] - dw[i] // 2}"
    out["woningbouw"] = gpd.GeoDataFrame(
        {"id": _ids("WB", k), "name": "Woningbouwlocatie (fictief)", "dwellings": dw, "delivery_start_year": s0,
         "delivery_end_year": s0 + rng.integers(0, 6, k), "phasing": ph,
         "heating": rng.choice(["gas", "hybrid", "all_electric", "all_electric", "heat_network"], k),
         "ev_share": np.where(rng.random(k) < 0.5, np.round(rng.uniform(0.2, 0.8, k), 2), np.nan),
         "municipality": muni(x, y),
         "priority_category": rng.choice(np.array(["basisbehoeften", None], dtype=object), k, p=[0.05, 0.95])},
        geometry=_stars(rng, x, y, r, 12), crs=CRS)

    # business parks (2-60 ha), a few with a contracted MW; greenhouses and data centres among them
    k = n["industrial_zones"]
    x, y = _centres(rng, k, towns, 4000.0)
    ha = rng.uniform(2.0, 60.0, k)
    cat = rng.choice(["logistics", "light_industry", "heavy_industry", "offices", "mixed", "greenhouse",
                      "data_centre"], k, p=[0.25, 0.25, 0.1, 0.15, 0.15, 0.07, 0.03])
    out["bedrijventerreinen"] = gpd.GeoDataFrame(
        {"id": _ids("BT", k), "name": "Bedrijventerrein (fictief)", "category": cat, "area_ha": np.round(ha, 1),
         "contracted_mw": np.where(rng.random(k) < 0.1, np.round(rng.uniform(1, 30, k), 1), np.nan),
         "start_year": rng.integers(2025, 2038, k), "jobs": (ha * rng.uniform(10, 60, k)).astype(int),
         "municipality": muni(x, y)},
        geometry=_stars(rng, x, y, np.sqrt(ha * 1e4 / np.pi), 10), crs=CRS)

    # charging hubs: points; passenger and freight
    k = n["charging_hubs"]
    x, y = _centres(rng, k, towns, 3000.0)
    seg = rng.choice(["passenger", "freight"], k, p=[0.85, 0.15])
    out["laadpleinen"] = gpd.GeoDataFrame(
        {"id": _ids("LP", k), "name": "Laadplein (fictief)", "charge_points": rng.integers(4, 40, k),
         "kw_per_point": np.where(seg == "freight", rng.choice([350.0, 1000.0], k), rng.choice([11.0, 22.0, 150.0], k)),
         "year": rng.integers(2025, 2038, k), "segment": seg, "municipality": muni(x, y)},
        geometry=shapely.points(x, y), crs=CRS)

    # generation: solar fields (polygons) and wind turbines (points) in one layer
    k = n["generation"]
    x, y = _centres(rng, k, towns, 8000.0)
    solar = rng.random(k) < 0.8
    mw = np.where(solar, rng.uniform(1.0, 60.0, k), rng.uniform(3.0, 6.0, k))
    geom = np.where(solar, _stars(rng, x, y, np.sqrt(mw * 1.2e4 / np.pi), 8), shapely.points(x, y))
    out["opwek"] = gpd.GeoDataFrame(
        {"id": _ids("OW", k), "name": "Opwek (fictief)", "technology": np.where(solar, "solar", "wind"),
         "capacity_mw": np.round(mw, 1), "year": rng.integers(2025, 2038, k)}, geometry=geom, crs=CRS)

    # existing neighbourhoods in transition (0.5-1.2 km across)
    k = n["neighbourhoods"]
    x, y = _centres(rng, k, towns, 2500.0)
    gas = rng.uniform(0.4, 0.9, k)
    hyb = (1 - gas) * rng.uniform(0.2, 0.8, k)
    out["buurten"] = gpd.GeoDataFrame(
        {"id": _ids("BU", k), "name": "Buurt (fictief)", "dwellings": rng.integers(200, 3000, k),
         "share_gas": np.round(gas, 3), "share_hybrid": np.round(hyb, 3),
         "share_all_electric": np.round(1 - gas - hyb, 3) - 0.001, "share_heat_network": 0.0,
         "transition_path": [f"2030:gas={g / 2:.3f};2040:gas=0" for g in gas], "municipality": muni(x, y)},
        geometry=_stars(rng, x, y, rng.uniform(250.0, 600.0, k), 16), crs=CRS)

    # batteries at substations' sites
    k = n["conversion_assets"]
    near = rng.integers(0, m, k)
    out["conversie"] = gpd.GeoDataFrame(
        {"id": _ids("BA", k), "name": "Batterij (fictief)", "technology": "battery",
         "power_mw": np.round(rng.uniform(1.0, 10.0, k), 1), "year": rng.integers(2026, 2035, k)},
        geometry=shapely.points(sx[near] + rng.uniform(-1500, 1500, k), sy[near] + rng.uniform(-1500, 1500, k)),
        crs=CRS)

    # claims and constraints: substation land reserves, HV lines, Natura 2000
    k = extent.n_reserves
    x, y = _centres(rng, k, towns, 5000.0)
    out["reserveringen"] = gpd.GeoDataFrame(
        {"id": _ids("RES", k), "name": "Reservering onderstation (fictief)", "substation_id": None,
         "status": "verkenning"}, geometry=_stars(rng, x, y, np.full(k, 60.0), 8), crs=CRS)
    k = extent.n_hv_lines
    x0, y0 = rng.uniform(X0, X0 + W, k), rng.uniform(Y0, Y0 + H, k)
    ang, ln = rng.uniform(0, np.pi, k), rng.uniform(5_000, 40_000, k)
    x1 = np.clip(x0 + ln * np.cos(ang), X0, X0 + W)
    y1 = np.clip(y0 + ln * np.sin(ang), Y0, Y0 + H)
    out["hoogspanningslijnen"] = gpd.GeoDataFrame(
        {"id": _ids("HS", k), "name": "Hoogspanningslijn (fictief)", "voltage_kv": rng.choice([110.0, 150.0, 380.0], k)},
        geometry=shapely.linestrings(np.stack([np.column_stack([x0, x1]), np.column_stack([y0, y1])], axis=-1)),
        crs=CRS)
    k = extent.n_natura
    x, y = rng.uniform(X0, X0 + W, k), rng.uniform(Y0, Y0 + H, k)
    out["natura2000"] = gpd.GeoDataFrame(
        {"sitecode": _ids("NL99", k), "name": "Natura 2000 (fictief)"},
        geometry=_stars(rng, x, y, rng.uniform(500.0, 5000.0, k), 48), crs=CRS)
    return out


PROJECT = """# Synthetic {scale_en} (FICTIONAL data), made by scripts/make_national_region.py --sites {n_sites} --seed {seed}{flag}
[project]
name = "Synthetische {kind} (fictief)"
description = "Fictional {scale}-scale benchmark region: {n_subs} substations, {n_sites} planned sites."
crs = "EPSG:28992"
base_year = {y0}
horizon = [{y0}, {y1}]
fictional = true

[layers.substations]
path = "{gpkg}"
layer = "onderstations"

[layers.service_areas]
path = "{gpkg}"
layer = "voedingsgebieden"

[layers.boundaries]
path = "{gpkg}"
layer = "gemeenten"

[layers.housing_sites]
path = "{gpkg}"
layer = "woningbouw"

[layers.industrial_zones]
path = "{gpkg}"
layer = "bedrijventerreinen"

[layers.charging_hubs]
path = "{gpkg}"
layer = "laadpleinen"

[layers.heat_networks]
path = "{gpkg}"
layer = "warmtenetten"

[layers.heat_sources]
path = "{gpkg}"
layer = "warmtebronnen"

[layers.generation]
path = "{gpkg}"
layer = "opwek"

[layers.neighbourhoods]
path = "{gpkg}"
layer = "buurten"

[layers.conversion_assets]
path = "{gpkg}"
layer = "conversie"

[layers.substation_reserves]
path = "{gpkg}"
layer = "reserveringen"

[layers.hv_lines]
path = "{gpkg}"
layer = "hoogspanningslijnen"

[constraints.natura2000]
path = "{gpkg}"
layer = "natura2000"
columns = {{ id = "sitecode" }}

[conflicts]
enabled = true

[assignment]
method = "auto"
outside = "nearest"

[variants.hoog]
description = "Snelle elektrificatie"
parameters = {{ "demand.ev_share_default" = 0.7, "growth.offtake_pct_per_year" = 2.5, "demand.dwelling_kw.all_electric" = 4.0 }}

[variants.vertraagd]
description = "Vertraagde woningbouw: 3 jaar later en 80 % gerealiseerd"
parameters = {{ "housing.delay_years" = 3, "housing.delivery_share" = 0.8 }}

[ranking.higher_level.nodes]
{nodes}
"""


def write(folder: Path, n_sites: int = 100_000, seed: int = SEED, extent: Extent = NATIONAL) -> Path:
    """Write NAME.gpkg and NAME.toml (``extent.name``: national, province) into ``folder``; return the project
    file's path."""
    folder = Path(folder)
    if folder.resolve().is_relative_to(ROOT):
        raise SystemExit(f"{folder}: write the synthetic region outside the repository (it is never committed)")
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / f"{extent.name}.gpkg"
    gpkg.unlink(missing_ok=True)
    for name, gdf in build(n_sites, seed, extent).items():
        pyogrio.write_dataframe(gdf, gpkg, layer=name, layer_options={"DESCRIPTION": FICTIONAL})
    k = extent.n_nodes
    nodes = "\n".join(f'"TN-{i:02d}" = {{ capacity_mva = {c:.0f}, name = "TenneT knooppunt {i:02d} (fictief)", '
                      f'operator = "TenneT" }}'
                      for i, c in zip(range(1, k + 1), np.random.default_rng(seed + 1).uniform(400, 1200, k), strict=True))
    toml = folder / f"{extent.name}.toml"
    kind = {"national": "nationale regio", "province": "provincie"}.get(extent.name, extent.name)
    toml.write_text(PROJECT.format(n_sites=n_sites, seed=seed, n_subs=extent.n_substations, y0=YEARS[0], y1=YEARS[1],
                                   nodes=nodes, gpkg=gpkg.name, kind=kind, scale=extent.name,
                                   scale_en="national region" if extent is NATIONAL else extent.name,
                                   flag=" --province" if extent is PROVINCE else ""), encoding="utf-8")
    return toml


def region(folder: Path, n_sites: int, seed: int = SEED, extent: Extent = NATIONAL) -> Path:
    """The project file of the region of ``n_sites`` in ``folder / region-<n_sites>`` (a province:
    ``province-<n_sites>``), written when missing.

    The benchmarks share it: a region once generated is reused (generating is not what they time).
    """
    sub = f"region-{n_sites}" if extent is NATIONAL else f"{extent.name}-{n_sites}"
    toml = Path(folder) / sub / f"{extent.name}.toml"
    if not toml.exists():
        import time

        t = time.perf_counter()
        write(toml.parent, n_sites, seed, extent)
        print(f"generated {toml} ({n_sites:,} sites) in {time.perf_counter() - t:.1f} s (not timed)")
    return toml


def main(argv: list[str] | None = None) -> int:
    """Command line: the folder, ``--sites``, ``--seed``, ``--province``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="where NAME.gpkg and NAME.toml go (outside the repository)")
    p.add_argument("--sites", type=int, default=100_000, help="planned sites over all kinds (default 1e5)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--province", action="store_true",
                   help="a province of 80 x 70 km with 34 substations (province.gpkg, province.toml) instead")
    args = p.parse_args(argv)
    toml = write(args.folder, args.sites, args.seed, PROVINCE if args.province else NATIONAL)
    print(f"wrote {toml} and {toml.with_suffix('.gpkg')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
