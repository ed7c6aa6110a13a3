"""Long sheets: written as whole columns, byte for byte what openpyxl writes cell by cell (issue 13, item 1)."""

from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from spatialprog import writer as W


def frame(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 50.0, n)
    x[::7] = np.nan
    x[5], x[6] = np.inf, -np.inf
    text = np.array(["OS01", "=1+1", "#N/A", "a & b <c> d", " padded ", "", "-3", "Zuid-Holland"], dtype=object)
    t = text[rng.integers(0, len(text), n)]
    t[::11] = None
    mixed = np.array([1, 2.5, "x", True, None, np.nan, np.int64(7), "@home"], dtype=object)[rng.integers(0, 8, n)]
    return pd.DataFrame({
        "substation_id": t,
        "year": rng.integers(2025, 2041, n),
        "headroom_mw": x,
        "third": x / 3.0,
        "short": rng.random(n) < 0.3,
        "n": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
        "mixed": mixed,
        "name": pd.array(np.where(rng.random(n) < 0.1, None, "Laarveld"), dtype="string"),
    })


def data_layout(ws) -> None:
    """Like spatialprog.sheets' data layout: header style, a number format per column, panes, filter, colours."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    n = ws.max_row
    for j, fmt in enumerate([None, "0", "#,##0.0", "0.000", None, "0", None, None], start=1):
        ws.cell(row=1, column=j).font = Font(bold=True)
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, max_row=n, min_col=j, max_col=j):
                c.number_format = fmt
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:H{n}"
    ws.conditional_formatting.add(f"C2:C{n}", FormulaRule(formula=["$C2<0"], fill=PatternFill(bgColor="E30613")))


def cell_layout(ws) -> None:
    """A layout that colours one cell far down (the Toelichting does so): that sheet is built by openpyxl."""
    from openpyxl.styles import PatternFill

    data_layout(ws)
    ws.cell(row=40, column=2).fill = PatternFill("solid", fgColor="8CC63F")


def write(tmp_path, name: str, sheets: dict, layout: dict, *, long_rows: int, monkeypatch) -> bytes:
    monkeypatch.setattr(W, "LONG_SHEET_ROWS", long_rows)
    return W.write_xlsx(tmp_path / name, sheets, layout=layout, run_date=None).read_bytes()


@pytest.mark.parametrize("layout_of", [data_layout, cell_layout])
def test_long_sheet_bytes_equal_openpyxl(tmp_path, monkeypatch, layout_of):
    monkeypatch.setattr(W, "_ROWS_PER_PIECE", 333)  # written in several pieces
    sheets = {"Netruimte": frame(), "klein": frame(20), "Toelichting": frame(300)}
    layout = {"Netruimte": layout_of, "klein": data_layout, "Toelichting": cell_layout}
    fast = write(tmp_path, "fast.xlsx", sheets, layout, long_rows=10, monkeypatch=monkeypatch)
    slow = write(tmp_path, "slow.xlsx", sheets, layout, long_rows=10**9, monkeypatch=monkeypatch)
    a, b = zipfile.ZipFile(tmp_path / "fast.xlsx"), zipfile.ZipFile(tmp_path / "slow.xlsx")
    assert [n for n in a.namelist() if a.read(n) != b.read(n)] == []
    assert fast == slow


def test_long_sheet_reads_back(tmp_path, monkeypatch):
    df = frame()
    write(tmp_path, "t.xlsx", {"t": df}, {"t": data_layout}, long_rows=10, monkeypatch=monkeypatch)
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(df)
    got = pd.DataFrame(rows, columns=df.columns)
    assert got["year"].tolist() == df["year"].tolist()
    fin = np.isfinite(df["headroom_mw"])
    # 16 significant digits, as openpyxl writes numbers
    assert np.allclose(got["headroom_mw"][fin].astype(float), df["headroom_mw"][fin], rtol=1e-15, atol=0)
    assert set(got.loc[np.isinf(df["headroom_mw"]), "headroom_mw"]) == {"inf", "-inf"}
    # formula-like text stays text; every data cell of a column carries that column's number format
    assert ws.cell(row=2, column=3).number_format == "#,##0.0" == ws.cell(row=len(df) + 1, column=3).number_format
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert "=1+1" in got["substation_id"].tolist()
    assert "a & b <c> d" in got["substation_id"].tolist() and " padded " in got["substation_id"].tolist()


def test_table_longer_than_a_sheet_continues(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "SHEET_MAX_ROWS", 400)
    df = frame(1000)
    write(tmp_path, "t.xlsx", {"Wachtende vraag": df}, {"Wachtende vraag": data_layout}, long_rows=10,
          monkeypatch=monkeypatch)
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["Wachtende vraag", "Wachtende vraag (2)", "Wachtende vraag (3)"]
    years = [r[1] for ws in wb.worksheets for r in ws.iter_rows(min_row=2, values_only=True)]
    assert years == df["year"].tolist()
    assert [ws.max_row for ws in wb.worksheets] == [401, 401, 201]
    assert all(ws.freeze_panes == "B2" and ws.cell(row=1, column=1).value == "substation_id" for ws in wb.worksheets)


def test_very_long_sheet_compressed_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "FAST_ZIP_ROWS", 1000)
    df = frame(1500)
    write(tmp_path, "t.xlsx", {"t": df, "u": frame(20)}, {"t": data_layout}, long_rows=10, monkeypatch=monkeypatch)
    z = zipfile.ZipFile(tmp_path / "t.xlsx")
    assert z.testzip() is None
    monkeypatch.setattr(W, "FAST_ZIP_ROWS", 10**9)
    write(tmp_path, "six.xlsx", {"t": df, "u": frame(20)}, {"t": data_layout}, long_rows=10, monkeypatch=monkeypatch)
    six = zipfile.ZipFile(tmp_path / "six.xlsx")
    sheet = "xl/worksheets/sheet1.xml"
    assert z.read(sheet) == six.read(sheet)  # the same XML, compressed less
    assert z.getinfo(sheet).compress_size > six.getinfo(sheet).compress_size
    assert z.read("xl/worksheets/sheet2.xml") == six.read("xl/worksheets/sheet2.xml")
    got = pd.DataFrame(list(openpyxl.load_workbook(tmp_path / "t.xlsx")["t"].iter_rows(min_row=2, values_only=True)))
    assert got[1].tolist() == df["year"].tolist()
