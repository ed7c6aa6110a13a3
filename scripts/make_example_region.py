"""Build the bundled example region (FICTIONAL data) into layers/.

Deterministic: a fixed seed and fixed hand-placed features, so running it again
gives the same features. The region is a fictional river-area setting in
EPSG:28992 (between x 170-200 km and y 430-448 km, a Betuwe-like landscape);
every name and number is made up, and every layer says so in its metadata.

The layers use Dutch field names and Dutch category values on purpose: the
project file (layers/example_region.toml) maps them to spatialprog's names,
as a real project must.

Two substations are laid out for hand-checked arithmetic (tests/test_example_region.py):

* OS06 "Laarveld" 150/20 kV, 2 x 40 MVA (N-1: firm 40 MVA), current peak 30 MW;
  receives 60 % of the straddling site WB-STR and the 6 MW heat pump of heat network WN01.
* OS07 "Hoekwaard" 110/10 kV, 2 x 25 MVA (N-1: firm 25 MVA), current peak 21 MW,
  +40 MVA reinforcement in 2030; receives 40 % of WB-STR and the freight hub LP-F01.

Run: ``python scripts/make_example_region.py`` (writes layers/example_region.gpkg
and layers/laadpleinen.geojson).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from shapely.affinity import rotate
from shapely.geometry import LineString, Point, Polygon, box

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "layers"
CRS = "EPSG:28992"
SEED = 20251128
X0, Y0, DX, DY, NC, NR = 170_000.0, 430_000.0, 7_500.0, 6_000.0, 4, 3
FICTIONAL = "FICTIEF voorbeeld - verzonnen gegevens voor spatialprog (fictional example data, not real)"

TOWNS = ["Brakelveen", "Oosterweide", "Hazelaar", "Wijkervliet", "Dreumelaar", "Laarveld",
         "Hoekwaard", "Gendtbroek", "Ammerzoden-Oost", "Lingebroek", "Heerewaarden-Noord", "Rijnhove"]
# substation design: (voltage, n_transformers, mva_each or None, installed_mva, utilisation now, feed-in MW,
#                      reinforcement (year, mva) or None)
DESIGN = [
    ("150/20", 3, 50.0, None, 0.50, 12.0, None),       # OS01 N-1 firm 100
    ("150/20", 2, 50.0, None, 0.45, 9.0, None),        # OS02 firm 50
    ("50/10", 2, 20.0, None, 0.78, 6.0, None),         # OS03 50 kV: N-0 firm 40
    ("150/20", 2, 63.0, None, 0.40, 20.0, None),       # OS04
    ("110/10", 2, 31.5, None, 0.86, 5.0, None),        # OS05
    ("150/20", 2, 40.0, None, 0.75, 8.0, None),        # OS06 hand-checked
    ("110/10", 2, 25.0, None, 0.84, 4.0, (2030, 40.0)),  # OS07 hand-checked
    ("150/20", 2, 40.0, None, 0.88, 10.0, None),       # OS08
    ("150/10", 1, 80.0, None, 0.30, 3.0, None),        # OS09 single transformer: N-0
    ("150/20", 2, 50.0, None, 0.82, 25.0, None),       # OS10
    ("110/20", 3, 40.0, None, 0.55, 7.0, None),        # OS11
    ("150/20", None, None, 60.0, 0.50, 15.0, None),    # OS12 only a total given: N-0
]
HAND_CHECKED = {6, 7}


def cell(i: int) -> tuple[float, float, float, float]:
    r, c = divmod(i - 1, NC)
    return X0 + c * DX, Y0 + r * DY, X0 + (c + 1) * DX, Y0 + (r + 1) * DY


def jitter_poly(rng, cx, cy, w, h, angle) -> Polygon:
    """A slightly irregular, rotated block: a plausible plan outline."""
    pts = []
    for fx, fy in [(-0.5, -0.5), (0.0, -0.55), (0.5, -0.5), (0.55, 0.0), (0.5, 0.5), (0.0, 0.55), (-0.5, 0.5),
                   (-0.55, 0.0)]:
        pts.append((cx + fx * w * rng.uniform(0.9, 1.1), cy + fy * h * rng.uniform(0.9, 1.1)))
    return rotate(Polygon(pts), angle, origin=(cx, cy))


def place(rng, i, w, h, margin=400.0):
    x0, y0, x1, y1 = cell(i)
    return rng.uniform(x0 + margin + w, x1 - margin - w), rng.uniform(y0 + margin + h, y1 - margin - h)


def build() -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(SEED)
    # ---- substations and service areas
    subs, areas = [], []
    for i, (kv, n, mva, inst, util, feed, reinf) in enumerate(DESIGN, start=1):
        x0, y0, x1, y1 = cell(i)
        sx, sy = (x0 + x1) / 2 + rng.uniform(-1500, 1500), (y0 + y1) / 2 + rng.uniform(-1200, 1200)
        hv = max(float(v) for v in kv.split("/"))
        installed = n * mva if n else inst
        firm = (installed - mva) if (n and n >= 2 and hv >= 110) else installed
        peak = 30.0 if i == 6 else 21.0 if i == 7 else round(util * firm, 1)
        subs.append({
            "code": f"OS{i:02d}", "naam": f"OS {TOWNS[i - 1]}", "netbeheerder": "Fictief Netbedrijf",
            "spanning_kv": kv, "aantal_trafo": n, "trafo_mva": mva, "totaal_mva": inst,
            "piek_afname_mw": peak, "piek_invoeding_mw": feed,
            "verzwaring_jaar": reinf[0] if reinf else None, "verzwaring_mva": reinf[1] if reinf else None,
            "voedend_station": "TN-Zuid" if i <= 6 else "TN-Noord",
            "geometry": Point(sx, sy),
        })
        areas.append({"vg_code": f"VG{i:02d}", "station": f"OS{i:02d}", "geometry": box(x0, y0, x1, y1)})
    # ---- municipalities (2 x 2)
    xm, ym = X0 + 2 * DX, Y0 + 1.5 * DY
    gm = [("GM9001", "Brakelveen", box(X0, Y0, xm, ym)), ("GM9002", "Oosterweide", box(xm, Y0, X0 + NC * DX, ym)),
          ("GM9003", "Hazelaar", box(X0, ym, xm, Y0 + NR * DY)), ("GM9004", "Wijkervliet", box(xm, ym, X0 + NC * DX, Y0 + NR * DY))]
    gemeenten = gpd.GeoDataFrame({"gm_code": [g[0] for g in gm], "gm_naam": [g[1] for g in gm],
                                  "niveau": "municipality"}, geometry=[g[2] for g in gm], crs=CRS)

    def municipality(pt):
        for _code, name, geom in gm:
            if geom.contains(pt):
                return name
        return None

    # ---- heat networks
    hn_rows = [
        # WN01: supply area in OS02's cell, source (large heat pump 6 MW) in OS06's cell
        {"wn_code": "WN01", "naam": "Warmtenet Oosterweide-Centrum", "start": 2029, "bron_mw": 6.0,
         "bron_x": 181_000.0, "bron_y": 437_200.0, "bron_type": "grote warmtepomp (aquathermie)",
         "geometry": box(179_000, 431_200, 183_000, 434_200)},
        {"wn_code": "WN02", "naam": "Restwarmtenet Lingebroek", "start": 2027, "bron_mw": 0.0,
         "bron_x": 187_800.0, "bron_y": 445_000.0, "bron_type": "restwarmte industrie",
         "geometry": box(186_200, 443_600, 189_400, 446_600)},
        {"wn_code": "WN03", "naam": "Warmtenet Heerewaarden e-boiler", "start": 2032, "bron_mw": 3.0,
         "bron_x": None, "bron_y": None, "bron_type": "e-boiler",
         "geometry": box(193_600, 443_000, 196_600, 446_200)},
    ]
    wn = gpd.GeoDataFrame(hn_rows, crs=CRS)

    # ---- housing sites
    heating_nl = {"all_electric": "all-electric", "hybrid": "hybride", "gas": "gas", "heat_network": "warmtenet"}
    houses = []
    # the hand-checked straddling site: 600 m in OS06, 400 m in OS07
    houses.append({"plan_id": "WB-STR", "plannaam": "Laarveld-Hoekwaard (grensoverschrijdend)", "woningen": 600,
                   "start_bouw": 2027, "eind_bouw": 2032, "fasering": None, "verwarming": "all-electric",
                   "aandeel_ev": 0.5, "prioriteit": "basisbehoeften",
                   "geometry": box(184_400, 438_000, 185_400, 438_500)})
    k = 1
    site_cells = [c for c in range(1, 13) if c not in HAND_CHECKED]
    for c in site_cells:
        for _ in range(int(rng.integers(6, 9))):
            size = float(rng.choice([60, 120, 200, 350, 500, 800, 1200], p=[.15, .2, .2, .2, .12, .08, .05]))
            w = np.sqrt(size * 180.0) * rng.uniform(0.8, 1.3)  # ~ 55 dwellings per ha gross
            h = size * 180.0 / w
            cx, cy = place(rng, c, w / 2, h / 2)
            geom = jitter_poly(rng, cx, cy, w, h, float(rng.uniform(-30, 30)))
            in_hn = wn[wn.geometry.contains(geom.centroid)]
            if len(in_hn):
                heating = "heat_network" if rng.random() < 0.8 else "all_electric"
            else:
                heating = str(rng.choice(["all_electric", "hybrid", "gas"], p=[0.7, 0.2, 0.1]))
            start = int(rng.integers(2025, 2034))
            span = int(rng.integers(1, 6))
            phasing = None
            if rng.random() < 0.3:  # explicit yearly phasing
                years = list(range(start, start + span))
                parts = np.diff(np.round(np.linspace(0, size, len(years) + 1))).astype(int)
                phasing = ";".join(f"{y}:{n}" for y, n in zip(years, parts, strict=True))
            houses.append({
                "plan_id": f"WB{k:03d}", "plannaam": f"{TOWNS[c - 1]} {['Noord', 'Zuid', 'West', 'Oost', 'Park', 'Hof', 'Weide', 'Veld'][k % 8]} {k}",
                "woningen": int(size), "start_bouw": start if phasing is None else None,
                "eind_bouw": start + span - 1 if phasing is None else None, "fasering": phasing,
                "verwarming": heating_nl[heating],
                "aandeel_ev": None if rng.random() < 0.4 else round(float(rng.uniform(0.2, 0.8)), 2),
                "prioriteit": None, "geometry": geom,
            })
            k += 1
    woningbouw = gpd.GeoDataFrame(houses, crs=CRS)
    woningbouw["gemeente"] = [municipality(g.representative_point()) for g in woningbouw.geometry]

    # ---- business parks
    cats = ["logistiek", "lichte industrie", "zware industrie", "kantoren", "gemengd"]
    parks = []
    park_cells = [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 1, 10]
    for j, c in enumerate(park_cells, start=1):
        area_ha = float(rng.choice([8, 15, 25, 40, 60]))
        w = np.sqrt(area_ha * 1e4) * rng.uniform(1.0, 1.6)
        h = area_ha * 1e4 / w
        cx, cy = place(rng, c, w / 2, h / 2, margin=300)
        contracted = round(float(rng.uniform(5, 15)), 1) if j in (3, 9) else None
        parks.append({"bt_code": f"BT{j:02d}", "naam": f"Bedrijventerrein {TOWNS[c - 1]} {j}",
                      "categorie": cats[j % len(cats)], "opp_ha": None if j % 3 == 0 else area_ha,
                      "gecontracteerd_mw": contracted, "startjaar": int(rng.integers(2025, 2033)),
                      "banen": int(area_ha * rng.uniform(20, 60)),
                      "geometry": rotate(box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), float(rng.uniform(-20, 20)))})
    bedrijven = gpd.GeoDataFrame(parks, crs=CRS)

    # ---- charging hubs (written as GeoJSON, another format)
    hubs = [{"laadplein_id": "LP-F01", "naam": "Truckparking Hoekwaard (MCS)", "laadpunten": 8, "kw_per_punt": 350.0,
             "jaar": 2028, "type": "vracht", "geometry": Point(189_000, 439_500)}]
    hub_cells = [c for c in range(1, 13) if c not in HAND_CHECKED]
    for j in range(1, 24):
        c = hub_cells[j % len(hub_cells)]
        cx, cy = place(rng, c, 10, 10, margin=500)
        freight = j == 9
        hubs.append({"laadplein_id": f"LP{j:02d}", "naam": f"Laadplein {TOWNS[c - 1]} {j}",
                     "laadpunten": int(rng.integers(10, 20)) if freight else int(rng.integers(4, 24)),
                     "kw_per_punt": 400.0 if freight else float(rng.choice([11.0, 22.0, 50.0, 150.0])),
                     "jaar": int(rng.integers(2025, 2032)), "type": "vracht" if freight else "personen",
                     "geometry": Point(cx, cy)})
    laad = gpd.GeoDataFrame(hubs, crs=CRS)

    # ---- generation: solar fields (polygons) and wind turbines (points)
    gen = []
    for j, c in enumerate([3, 4, 9, 12], start=1):
        area = float(rng.uniform(10, 30)) * 1e4
        w = np.sqrt(area) * 1.5
        cx, cy = place(rng, c, w / 2, area / w / 2, margin=300)
        gen.append({"opwek_id": f"ZON{j:02d}", "naam": f"Zonneveld {TOWNS[c - 1]}", "techniek": "zon",
                    # ZON01 is a large park that overloads its 50 kV station's feed-in
                    "vermogen_mw": 42.0 if j == 1 else round(area / 1e4 * 0.8, 1),
                    "jaar": int(rng.integers(2026, 2031)),
                    "geometry": box(cx - w / 2, cy - area / w / 2, cx + w / 2, cy + area / w / 2)})
    for j, c in enumerate([1, 5, 11], start=1):
        cx, cy = place(rng, c, 10, 10, margin=500)
        gen.append({"opwek_id": f"WIND{j:02d}", "naam": f"Windturbine {TOWNS[c - 1]}", "techniek": "wind",
                    "vermogen_mw": 5.6, "jaar": int(rng.integers(2027, 2032)), "geometry": Point(cx, cy)})
    opwek = gpd.GeoDataFrame(gen, crs=CRS)

    # ---- land claims for the conflicts (placed after every random draw above, so the demand
    #      layers do not change when these are edited)
    subs_gdf = gpd.GeoDataFrame(subs, crs=CRS)
    site10 = woningbouw[woningbouw.geometry.representative_point().within(box(*cell(10)))].iloc[0]
    bx0, by0, bx1, by1 = site10.geometry.bounds
    os08 = subs_gdf[subs_gdf["code"] == "OS08"].geometry.iat[0]
    reserves = gpd.GeoDataFrame([
        # a new station for congested OS10, drawn on the corner of a housing site (rule R03)
        {"res_code": "RES01", "naam": "Nieuw onderstation Lingebroek-Oost", "station": None, "status": "verkenning",
         "geometry": box(bx1 - 60, by1 - 50, bx1 + 60, by1 + 50)},
        # room to extend OS08 beside the existing station (no conflict)
        {"res_code": "RES02", "naam": "Uitbreiding OS Gendtbroek", "station": "OS08", "status": "vastgesteld",
         "geometry": box(os08.x + 150, os08.y - 40, os08.x + 250, os08.y + 40)},
        # a new station for OS05 partly in the (fictional) Natura 2000 floodplain (rule R08)
        {"res_code": "RES03", "naam": "Nieuw onderstation Dreumelaar-Noord", "station": None,
         "status": "voorkeurslocatie", "geometry": box(174_000, 441_650, 174_120, 441_800)},
    ], crs=CRS)
    # a 380 kV line crossing the region north-south, passing 60 m east of that housing site (rule R11:
    # 120 m zone), and a 150 kV line; both run on beyond the region (read with a margin)
    lines = gpd.GeoDataFrame([
        {"lijn_code": "HS380-01", "naam": "380 kV Fictief Noord-Zuid", "spanning_kv": 380.0,
         "geometry": LineString([(bx1 + 60, 427_000), (bx1 + 60, 451_000)])},
        {"lijn_code": "HS150-01", "naam": "150 kV Fictief Oost-West", "spanning_kv": 150.0,
         "geometry": LineString([(167_000, 439_000), (203_000, 439_300)])},
    ], crs=CRS)
    natura = gpd.GeoDataFrame([
        {"sitecode": "NL9999001", "naam": "Uiterwaarden Fictief (Natura 2000, verzonnen)",
         "geometry": Polygon([(168_000, 441_750), (203_000, 441_750), (203_000, 442_250), (168_000, 442_250)])},
    ], crs=CRS)

    # ---- other carriers (no random numbers: the layers above stay as they were)
    # process heat: BT06 (light industry next to the hydrogen station) makes it with hydrogen; the
    # other parks keep the default (natural gas, demand.process_heat_carrier)
    bedrijven["proceswarmte"] = [("waterstof" if code == "BT06" else None) for code in bedrijven["bt_code"]]
    h2 = gpd.GeoDataFrame([
        {"h2_code": "H2-01", "naam": "Waterstofstation Gendtbroek (fictief)", "afname_mw": 25.0, "invoeding_mw": 10.0,
         "jaar": 2030, "net": "regional", "geometry": Point(196_800, 437_800)},
    ], crs=CRS)
    h2_lines = gpd.GeoDataFrame([
        {"leiding_code": "H2L-01", "naam": "Waterstofleiding Gendtbroek-Oost (fictief)", "druk_bar": 40.0,
         "jaar": 2030, "geometry": LineString([(196_800, 437_800), (203_000, 437_800)])},
    ], crs=CRS)
    gas = gpd.GeoDataFrame([
        {"gas_code": "GOS-01", "naam": "Gasontvangstation Rivierenland (fictief)", "soort": "receiving",
         "afname_mw": 150.0, "invoeding_mw": None, "geometry": Point(185_000, 436_000)},
        {"gas_code": "GG-01", "naam": "Invoedpunt groen gas Lingebroek (fictief)", "soort": "green_gas_feedin",
         "afname_mw": None, "invoeding_mw": 4.0, "geometry": Point(174_000, 444_000)},
    ], crs=CRS)
    # the heat networks' sources: the same electricity as the networks' own source load (bron_mw), so the
    # electricity grid is unchanged; WB-02 comes two years after WN02's first dwellings (2027)
    wn03 = wn.loc[wn["wn_code"] == "WN03", "geometry"].iloc[0]
    bronnen = gpd.GeoDataFrame([
        {"bron_code": "WB-01", "naam": "Aquathermie Oosterweide (fictief)", "warmtenet": "WN01",
         "techniek": "heat_pump", "vermogen_mwth": 21.0, "cop": 3.5, "start": 2029, "geometry": Point(181_000, 437_200)},
        {"bron_code": "WB-02", "naam": "Restwarmte Lingebroek (fictief)", "warmtenet": "WN02",
         "techniek": "waste_heat", "vermogen_mwth": 15.0, "cop": None, "start": 2029, "geometry": Point(187_800, 445_000)},
        {"bron_code": "WB-03", "naam": "E-boiler Heerewaarden (fictief)", "warmtenet": "WN03",
         "techniek": "e_boiler", "vermogen_mwth": 2.97, "cop": None, "start": 2032,
         "geometry": wn03.point_on_surface()},
    ], crs=CRS)

    # an existing neighbourhood in OS07's area (used by layers/example_questions.toml, not by the main example)
    buurten = gpd.GeoDataFrame([
        {"buurt_code": "BU0701", "naam": "Hoekwaard-Oud (fictief)", "woningen": 2500, "aandeel_gas": 0.85,
         "aandeel_hybride": 0.15, "ev_per_woning": 0.2,
         "transitiepad": "2035: all_electric=0.15, hybrid=0.25, ev=0.5; 2040: all_electric=0.3, hybrid=0.3, ev=0.7",
         "geometry": box(186_500, 437_000, 188_500, 438_500)},
    ], crs=CRS)

    return {
        "buurten": buurten,
        "waterstofstations": h2,
        "waterstofleidingen": h2_lines,
        "gasstations": gas,
        "warmtebronnen": bronnen,
        "reserveringen": reserves,
        "hoogspanningslijnen": lines,
        "natura2000_fictief": natura,
        "onderstations": subs_gdf,
        "voedingsgebieden": gpd.GeoDataFrame(areas, crs=CRS),
        "gemeenten": gemeenten,
        "woningbouw": woningbouw,
        "bedrijventerreinen": bedrijven,
        "warmtenetten": wn,
        "opwek": opwek,
        "laadpleinen": laad,
    }


TITLES = {
    "buurten": "Bestaande wijken (fictief)",
    "waterstofstations": "Waterstofstations (fictief)",
    "waterstofleidingen": "Waterstofleidingen (fictief)",
    "gasstations": "Gasstations (fictief)",
    "warmtebronnen": "Warmtebronnen (fictief)",
    "reserveringen": "Ruimtereserveringen onderstations (fictief)",
    "hoogspanningslijnen": "Hoogspanningslijnen (fictief)",
    "natura2000_fictief": "Natura 2000 (fictief, verzonnen gebied)",
    "onderstations": "Onderstations (fictief)",
    "voedingsgebieden": "Voedingsgebieden (fictief)",
    "gemeenten": "Gemeenten (fictief)",
    "woningbouw": "Woningbouwlocaties (fictief)",
    "bedrijventerreinen": "Bedrijventerreinen (fictief)",
    "warmtenetten": "Warmtenetten (fictief)",
    "opwek": "Zon en wind (fictief)",
    "laadpleinen": "Laadpleinen (fictief)",
}


def main() -> int:
    layers = build()
    OUT.mkdir(exist_ok=True)
    gpkg = OUT / "example_region.gpkg"
    tmp = OUT / "example_region.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    for name, gdf in layers.items():
        if name == "laadpleinen":
            continue
        gdf = gdf.astype({c: object for c in gdf.columns if gdf[c].dtype == object or str(gdf[c].dtype).startswith("str")})
        pyogrio.write_dataframe(
            gdf, tmp, layer=name, driver="GPKG",
            geometry_type="Unknown" if name == "opwek" else None,
            layer_options={"IDENTIFIER": TITLES[name], "DESCRIPTION": FICTIONAL},
        )
    tmp.replace(gpkg)
    gj = OUT / "laadpleinen.geojson"
    tmpj = OUT / "laadpleinen.geojson.tmp"
    pyogrio.write_dataframe(layers["laadpleinen"], tmpj, driver="GeoJSON",
                            layer_options={"DESCRIPTION": FICTIONAL, "RFC7946": "NO", "WRITE_NAME": "YES"})
    tmpj.replace(gj)
    counts = {k: len(v) for k, v in layers.items()}
    print("wrote", gpkg.relative_to(ROOT), "and", gj.relative_to(ROOT), counts)
    return 0


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    sys.exit(main())
