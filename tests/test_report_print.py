"""The index as a manager gets it: links to each stage's figures and to the definitions, a clean
page, and a printout (Chromium's print to PDF) that cuts no table row and no verdict card."""

import html
import re
import shutil
import subprocess
import unicodedata

import pytest

from loyalty_lib.report.downloads import page_downloads
from loyalty_lib.report.index import write_definitions, write_index
from loyalty_lib.report.lint import page_problems, visible_text
from loyalty_lib.report.pages import page_header

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def stage(n: int, rows: int) -> dict:
    """A stage result with ``rows`` figures, shares and money, long labels that wrap."""
    name = f"{n:02d}_stage"
    kpis = [
        {
            "kpi": f"figure_{n}_{i}",
            # long labels make tall rows, which a printout without the print rules would cut
            "label": f"Figure {n}.{i}: the share of the clients of the branch who did what stage {n} measures, "
            "counted over every month of the data, each client once, members and others alike",
            "estimate": 0.1 + 0.01 * i,
            "ci_low": 0.05 + 0.01 * i,
            "ci_high": 0.15 + 0.01 * i,
            "unit": "%",
            "target": 0.12,
        }
        for i in range(rows)
    ]
    kpis.append(
        {"kpi": f"money_{n}", "label": f"Revenue of stage {n}", "estimate": 1234567.0, "unit": "RUB", "basis": "net"}
    )
    return {
        "name": name,
        "title": f"{n:02d} Stage {n}",
        "status": "ok",
        "error": None,
        "seconds": 1.0,
        "kpis": kpis,
        "page": f"pages/{name}.html",
        "code_page": f"pages/{name}.code.html",
        "notebook": f"notebooks/{name}.ipynb",
    }


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("index")
    write_index(out, stages=[stage(n, 9) for n in range(8)], meta={"data": "../data/branch"})
    return out


def test_the_index_links_the_definitions_and_every_stage_figures(index):
    page = (index / "index.html").read_text(encoding="utf-8")
    assert page_problems(page) == []
    assert 'href="definitions.html"' in page and (index / "definitions.html").is_file()
    definitions = (index / "definitions.html").read_text(encoding="utf-8")
    assert "The figures and how they are computed" in visible_text(definitions)
    assert "<table" in definitions and page_problems(definitions) == []
    for n in range(8):
        assert (index / "downloads" / f"{n:02d}_stage.csv").is_file()
    # a money figure says on which revenue it is counted
    assert "Revenue of stage 3 · on net revenue" in html.unescape(page)


def test_definitions_need_the_projects_docs(tmp_path):
    assert write_definitions(tmp_path, source=tmp_path / "missing.md") is None
    doc = tmp_path / "m.md"
    doc.write_text("# Figures\n\nSee [the study](study.md) and [pandas](https://pandas.pydata.org).\n")
    assert write_definitions(tmp_path, source=doc) == "definitions.html"
    text = (tmp_path / "definitions.html").read_text()
    assert 'href="study.md"' not in text and "the study" in text  # no link out of the report folder
    assert 'href="https://pandas.pydata.org"' in text


def test_a_stage_page_links_its_own_figures():
    bar = page_header("02 Enrollment", "02_enrollment", True, None, page_downloads("02_enrollment", True))
    assert 'href="../downloads/02_enrollment.csv"' in bar and 'href="../downloads/loyalty_report.xlsx"' in bar
    # a stage that published no figure has no file of its own to link
    bar = page_header("01 Map", "01_map", True, None, page_downloads("01_map", False))
    assert "01_map.csv" not in bar and "loyalty_report.xlsx" in bar


def pdf_pages(page, tmp_path) -> list[str]:
    """The text of each page Chromium prints of ``page``, whitespace and ligatures normalised."""
    pypdf = pytest.importorskip("pypdf")
    pdf = tmp_path / "printed.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if not pdf.is_file():
        pytest.skip("Chromium could not print here")
    return [flat(p.extract_text()) for p in pypdf.PdfReader(pdf).pages]


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", html.unescape(text)).split())


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_printed_index_cuts_no_table_row_and_no_verdict_card(index, tmp_path):
    pages = pdf_pages(index / "index.html", tmp_path)
    assert len(pages) >= 3, "enough rows to run over several pages"
    page = (index / "index.html").read_text(encoding="utf-8")
    first_row_page = next(i for i, p in enumerate(pages) if "Scorecard by stage" in p)
    rows = re.findall(r'<tr><td class="label">(.*?)</td><td class="num"><b>(.*?)</b>', page, re.S)
    assert len(rows) == 8 * 10
    for label, estimate in rows:
        label, estimate = flat(label), flat(estimate)
        # the row's label and its estimate are printed on one page: the row is whole
        assert any(label in p and f"{label} {estimate}" in p for p in pages[first_row_page:]), (label, estimate)
    for card in re.findall(r'<article class="verdict[^"]*">(.*?)</article>', page, re.S):
        question = flat(re.search(r"<h3>(.*?)</h3>", card, re.S).group(1))
        big = re.search(r'<p class="big[^"]*">(.*?)</p>', card, re.S)
        if big:
            assert any(question in p and flat(big.group(1)) in p for p in pages), question
