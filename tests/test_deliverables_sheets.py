"""Spreadsheets for people (issue 16, item 1): the workbooks of a run read back with openpyxl.

headroom.xlsx and programme.xlsx have Dutch headers (layer aliases, data/column_labels.csv), the names
beside the ids, number formats that round what they mean (the stored value stays the CSV's), widths,
a frozen header, a filter, the status colours and a Toelichting that explains every column and
cites the parameters' sources. The CSV files stay the machine format.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from spatialprog.errors import ProjectError
from spatialprog.params import load_status_classes
from spatialprog.sheets import SCHEMA_COLUMNS, column_labels, load_column_labels, missing_labels
from spatialprog.workbooks import headroom_book, programme_book
from spatialprog.writer import read_csv, run_timestamp, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
DATA_SHEETS = {"headroom.xlsx": ["Netruimte", "Tekorten", "Parameters"],
               "programme.xlsx": ["Programma", "Programma basis", "Programma hoog", "Programma vertraagd",
                                  "Wachtende vraag", "Varianten", "Geen spijt", "Criteria", "Gevoeligheid", "Hoger netniveau"]}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from spatialprog import run

    out = tmp_path_factory.mktemp("sheets") / "out"
    done = run(ROOT / "layers" / "example_region.toml", out, maps=False, qgis=False)
    return out, done


def _header(ws) -> list[str]:
    return [c.value for c in ws[1]]


def _col(ws, header: str) -> int:
    return _header(ws).index(header) + 1


def _toelichting(wb) -> pd.DataFrame:
    rows = list(wb["Toelichting"].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_sheets_are_dutch_and_end_with_the_toelichting(run_dir):
    out, _ = run_dir
    for name, data in DATA_SHEETS.items():
        wb = openpyxl.load_workbook(out / name)
        assert wb.sheetnames == [*data, "Toelichting"], name
        for title in wb.sheetnames:
            head = _header(wb[title])
            assert all(isinstance(h, str) and h[:1].isupper() for h in head), (name, title, head)
            assert not [h for h in head if "_" in h], (name, title)  # no code names left as headers


def test_headroom_sheet_for_people(run_dir):
    out, _ = run_dir
    wb = openpyxl.load_workbook(out / "headroom.xlsx")
    ws = wb["Netruimte"]
    assert _header(ws) == ["Onderstation", "Naam", "Ontwikkelvariant", "Jaar", "Richting", "Storingsreserve",
                           "Vaste capaciteit (MVA)", "Capaciteit (MW)", "Gereserveerd (MW)", "Fysieke piek (MW)",
                           "Bestaande belasting (MW)", "Nieuwe vraag (MW)", "Belasting (MW)", "Ruimte (MW)",
                           "Benutting", "Status", "Status (omschrijving)", "Beschikbaar volgens netbeheerder (MVA)",
                           "Energiedrager", "Eenheid"]
    h = read_csv(out / "headroom.csv", dtype={"substation_id": object})
    assert ws.max_row == len(h) + 1
    # the name beside the id, from the substations layer (onderstations.naam)
    names = {r[0]: r[1] for r in ws.iter_rows(min_row=2, max_col=2, values_only=True)}
    assert names["OS01"] == "OS Brakelveen" and names["OS09"] == "OS Ammerzoden-Oost"
    # frozen header and id + name, a filter over the whole table
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:T{len(h) + 1}"
    # number formats: MW to 0.1, shares as %, years without a thousands separator; codes as Dutch words
    row = [c for c in ws[2]]
    fmt = {head: c.number_format for head, c in zip(_header(ws), row, strict=True)}
    assert fmt["Ruimte (MW)"] == "#,##0.0" and fmt["Capaciteit (MW)"] == "#,##0.0"
    assert fmt["Benutting"] == "0%" and fmt["Jaar"] == "0"
    assert {r[0] for r in ws.iter_rows(min_row=2, min_col=5, max_col=5, values_only=True)} == {"afname",
                                                                                               "invoeding"}
    # the stored value is the CSV's (six significant digits), not rounded further: the format rounds it
    util = [r[0] for r in ws.iter_rows(min_row=2, min_col=15, max_col=15, values_only=True)]
    known = h["utilisation"].notna().to_numpy()  # a node with no capacity yet (a heat network before its source)
    assert [u for u, k in zip(util, known, strict=True) if not k] == [None] * int((~known).sum())
    assert [u for u, k in zip(util, known, strict=True) if k] == pytest.approx(h["utilisation"][known].tolist(),
                                                                                rel=1e-5)
    assert util[0] == pytest.approx(0.506279) and util[0] != round(util[0], 2)
    # every column wide enough for its header's longest word
    for j, head in enumerate(_header(ws), start=1):
        width = ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
        assert width >= max(len(w) for w in head.split()), head


def test_status_colours_come_from_the_status_classes(run_dir):
    out, _ = run_dir
    ws = openpyxl.load_workbook(out / "headroom.xlsx")["Netruimte"]
    classes = load_status_classes()
    rules = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            rules[rule.formula[0]] = (str(cf.sqref), rule.dxf.fill.bgColor.rgb)
    n = ws.max_row
    for r in classes.itertuples(index=False):
        ref, colour = rules[f'$P2="{r.status}"']
        assert ref == f"P2:P{n} Q2:Q{n}"  # the status and its label
        assert colour.endswith(r.colour.lstrip("#").upper())


def test_csv_stays_the_machine_format(run_dir):
    out, _ = run_dir
    with open(out / "headroom.csv", encoding="utf-8") as fh:
        head, first = next(csv.reader(fh)), next(csv.reader(fh))
    assert head[:4] == ["substation_id", "variant", "year", "direction"] and "name" not in head
    assert first[head.index("direction")] == "offtake"            # codes, not words
    assert first[head.index("utilisation")] == "0.506279"         # full precision (six significant digits)
    p = read_csv(out / "programme.csv")
    assert {"transformer_step", "start_by", "needed_by_year", "dwellings_waiting"} <= set(p.columns)
    assert set(p["intervention"]) <= {"extension", "new_substation", "advance_planned"}


def test_programme_sheet_for_people(run_dir):
    out, _ = run_dir
    wb = openpyxl.load_workbook(out / "programme.xlsx")
    ws = wb["Programma basis"]
    head = _header(ws)
    assert head[:6] == ["Ontwikkelvariant", "Rang", "Onderstation", "Naam", "Maatregel", "Stap"]
    assert ws.freeze_panes == "E2" and ws.auto_filter.ref.startswith("A1:")
    # a wrapped header ('Richtingen met tekort' in a column of its values' width) gets the lines it needs
    widths = {c: ws.column_dimensions[c].width for c in ws.column_dimensions}
    need = max(-(-len(h) // max(int(widths[ws.cell(row=1, column=j + 1).column_letter] - 1), 1))
               for j, h in enumerate(head))
    assert need >= 2 and ws.row_dimensions[1].height >= 15 * need - 1e-9
    rows = {r[2]: dict(zip(head, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["OS03"]["Start"] == "te laat: had in 2023 moeten starten"
    assert rows["OS09"]["Stap"] == "1 transformator van 40 MVA bijplaatsen"
    assert rows["OS07"]["Maatregel"] == "geplande capaciteit vervroegen"
    # the heat network's source is brought forward in the same words (not a grid "verzwaring"), in its unit
    assert rows["WN02"]["Maatregel"] == "geplande capaciteit vervroegen" and rows["WN02"]["Eenheid"] == "MWth"
    assert rows["OS07"]["Stap"] == "geplande verzwaring van 40 MVA vervroegen van 2030 naar 2028"
    assert rows["OS08"]["Grond gereserveerd"] == "ja" and rows["OS08"]["Geen-spijtklasse"] == "geen spijt"
    assert rows["OS08"]["Uitleg score"].startswith(("jaren tot tekort", "tekort afname", "woningen per MW",
                                                    "arbeidsplaatsen per MW"))
    # no English left in the cells people read
    text = " ".join(str(v) for r in rows.values() for v in r.values())
    for english in ("advance planned", "new station", "the planned", "years (+", "dwellings/MW", "by 20"):
        assert english not in text
    fmt = {h: c.number_format for h, c in zip(head, ws[2], strict=True)}
    assert fmt["Extra vaste capaciteit (MVA)"] == "#,##0.0" and fmt["Wachtende woningen"] == "#,##0"
    assert fmt["Score"] == "#,##0.000" and fmt["Eerste jaar tekort"] == "0"
    # a late start is coloured
    start = openpyxl.utils.get_column_letter(_col(ws, "Start"))
    late = [str(cf.sqref) for cf in ws.conditional_formatting for r in cf.rules if "te laat" in r.formula[0]]
    assert late == [f"{start}2:{start}{ws.max_row}"]
    # the waiting sheet names the site beside its id
    w = wb["Wachtende vraag"]
    wh = _header(w)
    assert wh[wh.index("Locatie") + 1] == "Naam locatie"
    first = dict(zip(wh, next(w.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["Naam locatie"] and first["Soort locatie"] in {"Woningbouwlocaties", "Bedrijventerreinen",
                                                              "Laadpleinen", "Warmtenetten", "Duurzame opwek"}


def test_criteria_sources_are_sources(run_dir):
    out, _ = run_dir
    ws = openpyxl.load_workbook(out / "programme.xlsx")["Criteria"]
    head = _header(ws)
    sources = [r[head.index("Bron")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sources and all(sources)
    for s in sources:
        assert "issue" not in s.lower() and "weighing framework" not in s.lower()
        assert "aanname" in s.lower() or "ACM" in s or "Liander" in s or "Rekenresultaat" in s
    crit = pd.read_csv(ROOT / "data" / "ranking_criteria.csv")
    assert not crit["source"].str.contains("issue", case=False).any()


def test_toelichting_explains_every_column_and_cites_the_parameters(run_dir):
    out, done = run_dir
    labels = column_labels()
    for name, data in DATA_SHEETS.items():
        wb = openpyxl.load_workbook(out / name)
        t = _toelichting(wb)
        assert list(t.columns) == ["Onderdeel", "Naam", "Codenaam", "Waarde", "Eenheid", "Uitleg", "Bron"]
        for title in data:
            part = t[t["Onderdeel"] == f"blad {title}"]
            assert len(part), (name, title)
            heads = _header(wb[title])
            if "dezelfde kolommen als blad" in str(part["Uitleg"].iat[0]):
                continue
            cols = part.iloc[1:]
            assert cols["Naam"].tolist() == heads, (name, title)           # every column, in order
            assert cols["Uitleg"].map(bool).all(), (name, title)           # with its meaning
            for code, unit in zip(cols["Codenaam"], cols["Eenheid"], strict=True):
                unit = unit if isinstance(unit, str) else ""
                assert code in labels and labels[code].unit == unit, code   # the legend: code name and unit
        params = t[t["Onderdeel"].str.startswith("parameter")]
        assert len(params) and params["Bron"].map(bool).all(), name
        assert set(t["Onderdeel"]) >= {"over dit bestand", "rekenregel"}
    # headroom.xlsx cites every parameter of the base variant, with its source from data/parameters.toml
    t = _toelichting(openpyxl.load_workbook(out / "headroom.xlsx"))
    base = done.result.project.variants["basis"].to_frame()
    cited = t[t["Onderdeel"] == "parameter"].set_index("Codenaam")
    assert set(base["key"]) <= set(cited.index)
    assert cited.at["demand.ev_kw_per_ev", "Bron"].startswith("VITO")
    assert set(t.loc[t["Onderdeel"] == "statusklasse", "Codenaam"]) == set(load_status_classes()["status"])
    # programme.xlsx states the rules in Dutch: sizing, start-by, what waits
    t = _toelichting(openpyxl.load_workbook(out / "programme.xlsx"))
    rules = t[t["Onderdeel"] == "rekenregel"].set_index("Naam")["Uitleg"]
    assert "kleinste aantal transformatoren" in rules["maatregel in standaardstappen"]
    assert "te laat: had in JAAR moeten starten" in rules["start"]
    assert "laatst aangekomen eerst" in rules["wachtende vraag"]
    assert t["Onderdeel"].eq("referentietabel").any()


def test_every_workbook_column_has_a_label(run_dir, tmp_path):
    """The test that fails when a workbook column has no Dutch label (data/column_labels.csv or a layer alias)."""
    from spatialprog.outputs import result_tables
    from spatialprog.ranking import rank_run
    from tests._rank_project import run_tiny

    _, done = run_dir
    tiny = run_tiny(tmp_path)
    when = run_timestamp()
    for result, ranking in ((done.result, done.ranking), (tiny, rank_run(tiny))):
        for book in (headroom_book(result, result_tables(result), when=when), programme_book(ranking, when=when)):
            assert set(book.columns) == set(book.sheets) - {"Toelichting"}
            assert missing_labels({t: pd.DataFrame(columns=cols) for t, cols in book.columns.items()}) == []
            for title, df in book.sheets.items():
                assert not [h for h in df.columns if "_" in str(h)], title
    assert missing_labels({"x": pd.DataFrame(columns=["headroom_mw", "brand_new_mw"])}) == ["x: brand_new_mw"]


def test_label_table_rules(tmp_path):
    t = load_column_labels()
    assert t["column"].is_unique and t["description_nl"].map(bool).all()
    # a layer field takes the schema's alias (kinds.py), never a second label here
    assert (t.loc[t["column"].isin(SCHEMA_COLUMNS), "label_nl"] == "").all()
    lab = column_labels()
    assert (lab["substation_id"].header, lab["name"].header, lab["higher_level_id"].header) == (
        "onderstation", "naam", "voedend station")
    bad = tmp_path / "labels.csv"
    bad.write_text("column,label_nl,unit,decimals,description_nl\nx,a,MW,1,d\nx,b,MW,1,d\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="'x' is named twice"):
        load_column_labels(bad)
    bad.write_text("column,label_nl,unit,decimals,description_nl\nname,naam,,,d\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="layer field"):
        load_column_labels(bad)
    bad.write_text("column,label_nl,unit,decimals,description_nl\nx,a,MW,1.5,d\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="decimals must be a whole number"):
        load_column_labels(bad)


def test_workbooks_are_byte_reproducible(run_dir, tmp_path):
    from datetime import datetime

    from spatialprog.outputs import result_tables

    _, done = run_dir
    when = run_timestamp(datetime(2026, 3, 14))
    out = []
    for i in range(2):
        for name, book in (("h", headroom_book(done.result, result_tables(done.result), when=when)),
                           ("p", programme_book(done.ranking, when=when))):
            p = write_xlsx(tmp_path / f"{name}{i}.xlsx", book.sheets, layout=book.layout, run_date=when)
            out.append(p.read_bytes())
    assert out[0] == out[2] and out[1] == out[3]


def test_a_waiting_table_too_long_for_people_is_summed_per_substation_and_year(example_result, monkeypatch):
    """Over WAITING_SHEET_MAX_ROWS rows (a national run: millions) the workbook sums what waits per variant,
    substation, direction and year, and points at waiting_demand.csv, which keeps every row."""
    from datetime import datetime

    from spatialprog import workbooks
    from spatialprog.workflow import ranking_of

    rr = ranking_of(example_result)
    w = rr.waiting
    assert len(w) > 1
    monkeypatch.setattr(workbooks, "WAITING_SHEET_MAX_ROWS", 1)
    book = workbooks.programme_book(rr, when=datetime(2026, 1, 1))
    per = book.sheets["Wachtende vraag"].set_axis(book.columns["Wachtende vraag"], axis=1)
    keys = ["variant", "substation_id", "direction", "year"]
    assert list(per.columns[:5]) == ["variant", "substation_id", "name", "direction", "year"]
    assert len(per) == len(w.drop_duplicates(keys)) < len(w)
    k3 = ["variant", "substation_id", "year"]  # (direction reads in Dutch in the sheet)
    want = w.groupby(k3)["waiting_mw"].sum()
    got = per.groupby(k3)["waiting_mw"].sum()
    assert got.reindex(want.index).tolist() == pytest.approx(want.tolist(), rel=1e-5)
    assert per["n_sites_waiting"].sum() == len(w)
    assert per["dwellings_waiting"].sum() == pytest.approx(w["dwellings_waiting"].sum(), rel=1e-5)
    notes = " ".join(str(v) for v in book.sheets["Toelichting"].to_numpy().ravel())
    assert f"de {len(w):,} regels per locatie staan in waiting_demand.csv".replace(",", ".") in notes
