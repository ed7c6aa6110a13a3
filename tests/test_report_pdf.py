"""One PDF report a council can attach to a memo (issue 16, item 6).

The run writes ``rapport.pdf``; ``spatialprog report OUT_DIR|PROJECT.toml`` writes it again. The PDF
is read back with pypdf (pure Python, a test dependency): its pages, its text (the region, the variants,
every substation by name with its first shortfall years, the programme's rows, the parameters with their
sources), and, where poppler is installed, ``pdftotext`` and ``pdftoppm`` render it as a reader sees it.
The figures it is checked against are read from the run's own CSV files, never typed in here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from spatialprog.cli import cli
from spatialprog.maps.tables import TextLines
from spatialprog.outputs import RunOutputs
from spatialprog.report import REPORT_PDF, pdf_bytes, report_pages

pypdf = pytest.importorskip("pypdf", reason="pypdf is a test dependency (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def pdf(example_run):
    return example_run.out / REPORT_PDF


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(pdf).pages]


def _lines(pages: list[str]) -> list[str]:
    return [line for p in pages for line in p.split("\n")]


def test_the_run_writes_and_lists_the_report(example_run, pdf):
    man = json.loads((example_run.out / "manifest.json").read_text(encoding="utf-8"))
    assert REPORT_PDF in man["outputs"]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/CreationDate" not in data and b"/ModDate" not in data  # same inputs, same bytes
    reader = pypdf.PdfReader(pdf)
    for page in reader.pages:  # A4 landscape
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - 841.68) < 1 and abs(h - 595.44) < 1
    assert reader.metadata.title.endswith("Voorbeeldregio Rivierenland (fictief)")


def test_every_page_is_numbered_and_the_contents_point_at_their_pages(pages):
    n = len(pages)
    assert n >= 15
    for i, text in enumerate(pages, start=1):
        assert f"pagina {i} van {n}" in text
    contents = re.findall(r"^\s*(\d+)\s+(\S.*)$", pages[0].split("Inhoud", 1)[1], flags=re.M)
    assert [name for _, name in contents][:2] == ["Tekorten per jaar en per onderstation", "Kaarten"]
    for at, name in contents:
        text = pages[int(at) - 1]
        title = "Netruimte afname per voedingsgebied" if name == "Kaarten" else name.split(",")[0]
        assert title.split(" ")[0] in text and f"pagina {at} van" in text, (at, name)
        if name != "Kaarten":
            assert text.startswith(title.split(" ")[0]), (at, name)


def test_title_page_names_the_region_the_run_and_the_variants(pages, example_run):
    man = json.loads((example_run.out / "manifest.json").read_text(encoding="utf-8"))
    first = pages[0]
    assert man["project"] == "Voorbeeldregio Rivierenland (fictief)" and man["project"] in first
    assert "1 januari 2026" in first or re.search(r"\d{1,2} \w+ 20\d\d", first)
    assert "fictieve gegevens" in first
    flat = " ".join(first.split())
    for v, desc in man["variants"].items():
        assert f"{v}: {desc}" in flat if desc else v in flat


def test_summary_counts_the_short_substations_per_variant(pages, example_run):
    sf = pd.read_csv(example_run.out / "shortfall.csv")
    sf = sf[sf["carrier"] == "electricity"]
    first = " ".join(pages[0].split())
    for (v, d), g in sf.groupby(["variant", "direction"]):
        short = g[g["first_shortfall_year"].notna()]
        nl = {"offtake": "afname", "feedin": "invoeding"}[d]
        earliest = int(short["first_shortfall_year"].min())
        assert f"{v} {nl} {len(short)} van 12 {earliest}" in first, (v, d)


def test_every_substation_with_its_first_shortfall_years(pages, example_run):
    """Per substation one row: id, name, then its first shortfall year of each variant and direction."""
    subs = RunOutputs.read(example_run.out).layers["substations"].set_index("id")["name"]
    sf = pd.read_csv(example_run.out / "shortfall.csv")
    sf = sf[sf["carrier"] == "electricity"].set_index(["substation_id", "variant", "direction"])
    lines = _lines(pages)
    for sid, name in subs.items():
        years = [sf.at[(sid, v, d), "first_shortfall_year"] for v in ("basis", "hoog", "vertraagd")
                 for d in ("offtake", "feedin")]
        expect = " ".join([sid, name, *(str(int(y)) for y in years if np.isfinite(y))])
        assert any(line.startswith(expect) for line in lines), expect
    # OS07's shortfall that a planned reinforcement ends in 2030: 2028 and 2029 only, in the base variant
    assert "basis: 2028\u20132029; \u2013" in lines


def test_the_maps_are_pages_of_the_report(pages):
    for t in ("Netruimte afname per voedingsgebied", "Eerste jaar tekort afname per onderstation",
              "Eerste jaar tekort invoeding per onderstation", "Conflicten tussen ruimteclaims",
              "Programma: rangorde van de maatregelen"):
        assert any(t in p for p in pages), t
    for v in ("basis", "hoog", "vertraagd"):  # the status maps of every variant, in both directions
        for d in ("afname", "invoeding"):
            assert sum(f"Netruimte {d} per voedingsgebied" in p and f"Ontwikkelvariant {v} " in p
                       for p in pages) == 1, (v, d)


def test_the_programme_rows_with_dutch_headers(pages, example_run):
    everything = pd.read_csv(example_run.out / "programme.csv")
    p = everything[everything["carrier"] == "electricity"]
    text = "\n".join(pg for pg in pages if pg.startswith("Programma van maatregelen"))
    flat = " ".join(text.split())
    for h in ("Rang", "Onderstation", "Stap", "Extra vaste capaciteit (MVA)", "Start", "Wachtende woningen"):
        assert h in flat, h
    for v, g in p.groupby("variant"):
        assert f"variant {v}" in flat
        for r in g.itertuples(index=False):
            dwellings = f"{round(r.dwellings_waiting):,}".replace(",", ".")
            assert f"{r.programme_rank} {r.substation_id} {r.name}" in flat, (v, r.substation_id)
            assert r.start_by in flat and dwellings in flat
    assert "te laat: had in 2023 moeten starten" in flat
    # the other carriers' interventions (a heat network's source brought forward, in the example) on their page
    other = everything[everything["carrier"] != "electricity"]
    assert len(other)
    text = " ".join(" ".join(pg.split()) for pg in pages if pg.startswith("Maatregelen voor waterstof"))
    for r in other.itertuples(index=False):
        assert f"{r.variant} {r.programme_rank} {r.substation_id} {r.name}" in text and r.start_by in text


def test_conflicts_carriers_variants_and_method(pages, example_run):
    flat = " ".join(" ".join(pages).split())
    conflicts = pd.read_csv(example_run.out / "conflicts.csv")
    for r in conflicts.itertuples(index=False):
        assert r.id_a in flat and r.id_b in flat
    # the other carriers: each node with its first shortfall (WN02, heat, in the example)
    cs = pd.read_csv(example_run.out / "shortfall.csv")
    cs = cs[(cs["carrier"] != "electricity") & cs["first_shortfall_year"].notna()]
    carrier = next(p for p in pages if p.startswith("Waterstof, warmte en gas"))
    for r in cs.itertuples(index=False):
        assert r.substation_id in carrier and str(int(r.first_shortfall_year)) in carrier
    # the parameters with their unit and source (the Toelichting of the workbooks)
    params = " ".join(" ".join(p.split()) for p in pages if p.startswith("Parameters en hun bronnen"))
    man = json.loads((example_run.out / "manifest.json").read_text(encoding="utf-8"))
    rows = [r for r in man["parameters"]["basis"] if r.get("source")]
    assert len(rows) > 20
    for row in rows[::7]:
        assert row["key"][:20] in params, row["key"]
        assert " ".join(str(row["source"]).split())[:30] in params, row["key"]
    assert "geen spijt" in flat and "afhankelijk van variant" in flat  # the variants compared, in Dutch
    # the method: the rules of the workbooks' Toelichting, the inputs with their checksums
    assert "Ruimte = capaciteit - belasting" in flat and "te laat: had in JAAR moeten starten" in flat
    for inp in man["inputs"]:
        assert inp["sha256"][:16] in flat, inp["role"]


def test_user_text_appears_literally_and_parameters_without_workbooks(example_run):
    """A name with mathtext, markup and a dollar is printed as typed (no mathtext, nothing escaped); a run
    folder without its workbooks still lists the parameters with their sources (from the manifest)."""
    import io

    outputs = RunOutputs.read(example_run.out)
    hostile = r"OS $x^2$ <b>&amp; [fase 2] 50% \n"
    subs = outputs.layers["substations"]
    subs.loc[subs.index[0], "name"] = hostile
    data = pdf_bytes(report_pages(outputs, figures={}))  # no toelichting given, no maps
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    assert hostile.strip() in " ".join(pages)
    params = " ".join(" ".join(p.split()) for p in pages if p.startswith("Parameters en hun bronnen"))
    man = json.loads((example_run.out / "manifest.json").read_text(encoding="utf-8"))
    row = next(r for r in man["parameters"]["basis"] if r["key"] == "grid.n1_min_kv")
    assert "grid.n1_min_kv" in params and " ".join(row["source"].split())[:30] in params


def test_the_command_writes_the_same_report_into_a_run_folder(example_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(example_run.out, out)
    (out / REPORT_PDF).unlink()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    man["outputs"].remove(REPORT_PDF)
    (out / "manifest.json").write_text(json.dumps(man, indent=1), encoding="utf-8")
    r = CliRunner().invoke(cli, ["report", str(out)], obj={})
    assert r.exit_code == 0, r.output
    assert (out / REPORT_PDF).read_bytes() == (example_run.out / REPORT_PDF).read_bytes()
    assert REPORT_PDF in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    # a file elsewhere, and a source that is neither a run folder nor a project file
    r = CliRunner().invoke(cli, ["report", str(out), "--out", str(tmp_path / "memo" / "bijlage.pdf")], obj={})
    assert r.exit_code == 0, r.output
    assert (tmp_path / "memo" / "bijlage.pdf").read_bytes()[:5] == b"%PDF-"
    (tmp_path / "x.txt").write_text("x")
    r = CliRunner().invoke(cli, ["report", str(tmp_path / "x.txt")], obj={})
    assert r.exit_code == 2 and "project file (.toml) or the output folder" in r.output


def _poppler(tool: str) -> str | None:
    return None if shutil.which(tool) else f"{tool} not installed (poppler-utils; .ci/install-clients.sh)"


@pytest.mark.client
def test_pdftotext_reads_the_region_the_variants_and_a_short_substation(pdf):
    from .clients import skip_if_missing

    skip_if_missing(_poppler("pdftotext"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Voorbeeldregio Rivierenland (fictief)" in text
    for v in ("basis", "hoog", "vertraagd"):
        assert v in text
    assert re.search(r"OS07\s+OS Hoekwaard\s+2028", text)


@pytest.mark.client
def test_pdftoppm_renders_every_page(pdf, tmp_path, pages):
    from PIL import Image

    from .clients import skip_if_missing

    skip_if_missing(_poppler("pdftoppm"))
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "p")], check=True, capture_output=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == len(pages)
    for png in pngs:
        with Image.open(png) as im:
            w, h = im.size
            ink = (np.asarray(im.convert("L")) < 200).mean()
        assert abs(w / h - 841.68 / 595.44) < 0.02, png.name
        assert ink > 0.005, png.name  # something is drawn on every page


def test_a_long_list_of_conflicts_is_cut_and_says_where_the_rest_is(example_run, monkeypatch):
    """A national run's 20,000 conflicts are not 700 pages: the first ``MAX_LISTED_ROWS`` (in the map's
    order) after the count per rule, and a line pointing at conflicts.csv and the map."""
    import io

    from spatialprog import report

    outputs = RunOutputs.read(example_run.out)
    n = len(pd.read_csv(example_run.out / "conflicts.csv"))
    assert n > 3
    monkeypatch.setattr(report, "MAX_LISTED_ROWS", 2)
    data = pdf_bytes(report.report_pages(outputs, figures={}))
    text = [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    conflict = " ".join(p for p in text if p.startswith("Conflicten tussen ruimteclaims"))
    assert f"De eerste 2 van de {n} conflicten" in conflict and "conflicts.csv" in conflict
    rows = report.conflict_rows(outputs)
    listed = [str(nr) for nr in rows["nr"]]
    assert all(f" {nr} " in f" {conflict} " for nr in listed[:2])


def test_the_long_lists_of_measures_are_cut_and_say_where_the_rest_is(example_run, monkeypatch):
    """A national run's variants comparison (800 measures, 45 pages) and the other carriers' programme list their
    first ``MAX_LISTED_ROWS`` rows, in the order of the table, with a line naming the file that has them all;
    a list that is not longer is whole and without the line."""
    import io

    from spatialprog import report

    outputs = RunOutputs.read(example_run.out)
    nr = pd.read_csv(example_run.out / "no_regret.csv", dtype={"substation_id": str})
    prog = pd.read_csv(example_run.out / "programme.csv", dtype={"substation_id": str})
    n_other = int((prog["carrier"] != "electricity").sum())
    assert len(nr) > 2 and n_other > 2

    def text_of(limit: int) -> list[str]:
        monkeypatch.setattr(report, "MAX_LISTED_ROWS", limit)
        data = pdf_bytes(report.report_pages(outputs, figures={}))
        return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]

    whole, cut = text_of(10_000), text_of(2)
    variants = " ".join(p for p in cut if p.startswith("Varianten vergeleken"))
    assert f"De eerste 2 van de {len(nr)} maatregelen (in deze volgorde); alle maatregelen staan in no_regret.csv" \
        in variants
    other = " ".join(p for p in cut if p.startswith("Maatregelen voor waterstof, warmte en gas"))
    assert f"De eerste 2 van de {n_other} maatregelen (in deze volgorde); alle maatregelen staan in programme.csv" \
        in other
    assert len(cut) <= len(whole) and not any("De eerste" in p for p in whole)
    # the rows kept are the first of the table: its first two stations are listed, the last is not (where it
    # is not among the first two)
    ids = nr["substation_id"].tolist()
    assert all(f" {sid} " in f" {variants} " for sid in ids[:2])
    if ids[-1] not in ids[:2]:
        assert f" {ids[-1]} " not in f" {variants} "


def test_text_pages_in_a_standard_font_unless_a_character_is_missing(example_run):
    """Helvetica (a PDF standard font, not embedded) sets the text pages when it has every character; a name
    with one it lacks (≥, Ł) sets the whole report in DejaVu Sans, embedded, the name as typed."""
    import io

    outputs = RunOutputs.read(example_run.out)
    plain = pdf_bytes(report_pages(outputs, figures={}))
    assert b"/BaseFont /Helvetica" in plain and b"DejaVu" not in plain
    name = "OS Łódź ≥ 2 – Süd"
    subs = outputs.layers["substations"]
    subs.loc[subs.index[0], "name"] = name
    data = pdf_bytes(report_pages(outputs, figures={}))
    assert b"DejaVu" in data and b"/Helvetica" not in data
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert name in text
    # the same words either way, the name aside
    plain_text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(plain)).pages)
    old = RunOutputs.read(example_run.out).layers["substations"]["name"].iat[0]
    assert text.replace(name, old).split() == plain_text.split()


def test_a_table_over_pages_stays_above_the_foot_of_each(example_run):
    """Each page of a long table holds the rows that fit at the one font size of the whole table: its widest
    row on the last page made the first pages measure at a smaller size than they were drawn at, and run off
    the paper."""
    from matplotlib.lines import Line2D

    from spatialprog import report

    outputs = RunOutputs.read(example_run.out)
    cells = [[f"S{i:03d}", "twee\nregels" if i % 2 else "een"] for i in range(200)]
    cells[-1][0] = "een lange naam " * 12
    pages = report._paged_table(outputs, "Lang", "", ["Station", "Tekst"], cells)
    assert len(pages) > 2
    sizes = set()
    for fig in pages:
        rules = [min(ln.get_ydata()) for ln in fig.lines if isinstance(ln, Line2D)] + [
            min(a.get_ydata()) for a in fig.artists if isinstance(a, Line2D)]
        assert rules and min(rules) >= report._BOTTOM - 1e-9
        sizes |= {size for a in fig.findobj(TextLines) for _, _, text, _, size in a.get_lines() if text.startswith("S")}
    assert len(sizes) == 1  # one font size on every page


@pytest.mark.parametrize("pdf_font", ["DejaVu Sans", "Helvetica"])
def test_text_lines_draw_what_a_text_per_line_draws(pdf_font):
    """TextLines puts every line where ``fig.text(..., va="baseline")`` puts it, in the same glyphs: the same
    pixels from Agg, the same words at the same places in the PDF (in its embedded font and in Helvetica)."""
    import io

    import matplotlib as mpl
    import pypdf
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lines = [(0.05, 0.9, "Station Zuid – 12,5 MVA", "left", 9.0, "normal", "#333333"),
             (0.95, 0.8, "1.234,5", "right", 7.5, "bold", "black"),
             (0.5, 0.7, "Coördinaten € × m²", "center", 11.0, "normal", "#c00000"),
             (0.3, 0.2, "it's (a) 'b'", "right", 6.0, "bold", "#555")]

    def page(as_lines: bool) -> Figure:
        fig = Figure(figsize=(11.69, 8.27))
        if as_lines:
            a = fig.add_artist(TextLines(fig))
            for x, y, t, ha, size, weight, colour in lines:
                a.add(x, y, t, fontsize=size, ha=ha, fontweight=weight, color=colour)
        else:
            for x, y, t, ha, size, weight, colour in lines:
                fig.text(x, y, t, fontsize=size, ha=ha, va="baseline", fontweight=weight, color=colour)
        return fig

    def pixels(fig: Figure) -> np.ndarray:
        return np.asarray(FigureCanvasAgg(fig).print_to_buffer()[0])

    assert np.array_equal(pixels(page(True)), pixels(page(False)))

    def pdf_words(fig: Figure) -> list[tuple]:
        buf = io.BytesIO()
        with mpl.rc_context({"pdf.use14corefonts": pdf_font == "Helvetica"}):
            fig.savefig(buf, format="pdf")
        found: list[tuple] = []

        def seen(text, cm, tm, font, size):  # where the text matrix and the current matrix put it on the page
            if text.strip():
                found.append((text, round(tm[4] * cm[0] + tm[5] * cm[2] + cm[4], 2),
                              round(tm[4] * cm[1] + tm[5] * cm[3] + cm[5], 2)))

        pypdf.PdfReader(buf).pages[0].extract_text(visitor_text=seen)
        return sorted(found)

    words = pdf_words(page(True))
    assert words == pdf_words(page(False))
    assert len({y for _, _, y in words}) == len(lines)  # a baseline of its own for each line
    assert all(any(t.strip() in line[2] for line in lines) for t, *_ in words)
