"""Cut the real example region (province of Utrecht) from ../shared/realdata into layers/utrecht/.

Real public data (the national files stay in ../shared/realdata; see its README):
- substations: VIVET "Beschikbare capaciteit elektriciteitsnet" (Kadaster/PDOK; data of the
  operators), the 16 stations within the province + 5 km, as published;
- municipalities and the province: CBS Gebiedsindelingen 2025 (generalised);
- public charging locations: NDW DOT-NL open data, snapshot 2026-06-07, as *existing* demand;
- Natura 2000 areas: RVO via PDOK.
Plus FICTIONAL planned sites (housing, a business park, a freight charging hub), labelled so in
their names and in the layer descriptions: no open data of planned sites exist.

Run ``python scripts/make_utrecht_example.py`` (``make example-real``); the output is committed.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, box

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "realdata" / "test_region_utrecht" / "utrecht_province_layers_rd.gpkg"
OUT = ROOT / "layers" / "utrecht" / "utrecht.gpkg"

VIVET = ("Bron: Beschikbare capaciteit elektriciteitsnet (VIVET), Kadaster/PDOK; data van Enexis, Liander, Stedin, "
         "Westland Infra, RENDO. Open data (Liander: CC BY 4.0).")
CBS = "(c) CBS / PDOK, CBS Gebiedsindelingen 2025. CC BY 4.0."
NDW = "Bron: NDW / DOT-NL open data (snapshot 2026-06-07). Vrij herbruikbaar."
N2K = "Bron: RVO via PDOK (geometrie), RCE (richtlijn). CC BY 4.0."
FICTIEF = "FICTIEF: verzonnen plannen ter illustratie (spatialprog); geen echte plannen."


def fictional_layers() -> dict[str, gpd.GeoDataFrame]:
    """Planned sites near real stations; every figure is made up."""
    def square(x, y, half):
        return box(x - half, y - half, x + half, y + half)

    housing = gpd.GeoDataFrame({
        "plan_id": ["FIC-W1", "FIC-W2", "FIC-W3"],
        "plannaam": ["Fictief: Kanaalzone-Zuid", "Fictief: Rijnenburg-Oost", "Fictief: Soesterberg-Noord"],
        "woningen": [4500, 6000, 1200],
        "start_bouw": [2026, 2028, 2027],
        "eind_bouw": [2032, 2038, 2030],
        "verwarming": ["warmtenet", "all-electric", "hybride"],
        "gemeente": ["Utrecht", "Utrecht", "Soest"],
    }, geometry=[square(134300, 455400, 450), square(131500, 450800, 700), square(151000, 462400, 350)],
        crs=28992)
    zones = gpd.GeoDataFrame({
        "bt_code": ["FIC-B1"], "naam": ["Fictief: Lage Weide-West uitbreiding"], "categorie": ["logistiek"],
        "opp_ha": [40.0], "startjaar": [2027], "banen": [1200],
    }, geometry=[square(131800, 457900, 316)], crs=28992)
    hubs = gpd.GeoDataFrame({
        "laadplein_id": ["FIC-L1"], "naam": ["Fictief: truckladen Oudenrijn"], "laadpunten": [24],
        "kw_per_punt": [350.0], "jaar": [2027], "type": ["vracht"],
    }, geometry=[Point(132600, 452700)], crs=28992)
    return {"woningbouw_fictief": housing, "bedrijventerreinen_fictief": zones, "laadpleinen_fictief": hubs}


def main() -> int:
    if not SOURCE.is_file():
        print(f"{SOURCE} not found: this script needs ../shared/realdata", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.unlink(missing_ok=True)
    real = {
        "onderstations": ("vivet_stations_capacity", None, VIVET),
        "gemeenten": ("gemeenten", ["statcode", "statnaam", "inwoners"], CBS),
        "provincie": ("provincie", ["statcode", "statnaam"], CBS),
        "laadpunten_ndw": ("ndw_charging_locations",
                           ["locationId", "name", "operatorName", "maxPowerKw", "layer", "gemeente"], NDW),
        "natura2000": ("natura2000", ["naam", "sitecode", "richtlijn"], N2K),
    }
    descriptions = {}
    for name, (layer, cols, attribution) in real.items():
        g = gpd.read_file(SOURCE, layer=layer)
        if cols:
            g = g[[*cols, "geometry"]]
        if "peildatum" in g:
            g["peildatum"] = g["peildatum"].astype(str).str[:10]
        g.to_file(OUT, layer=name, driver="GPKG")
        descriptions[name] = attribution
    for name, g in fictional_layers().items():
        g.to_file(OUT, layer=name, driver="GPKG")
        descriptions[name] = FICTIEF
    with sqlite3.connect(OUT) as db:  # attribution in the layer metadata, where QGIS shows it
        for name, text in descriptions.items():
            db.execute("UPDATE gpkg_contents SET description = ? WHERE table_name = ?", (text, name))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
