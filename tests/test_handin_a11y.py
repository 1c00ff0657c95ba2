"""The hand-in as a screen reader meets it (issue 26, WCAG 2.1 AA), in HTML and PDF, from a real trained run.

HTML: the document's language, one ``<h1>`` and no skipped heading level (a student's own Markdown headings are
nested under their answer's heading), every question number a heading, every picture a text alternative that names
its digit (and the model's reading where the picture shows one) or, for a chart, its computed sentence, every table
header cells with ``scope="col"``.

PDF (fpdf2 2.8.9, tagged by ``mnist_lab.report.pdf_tags``): the language (``/Lang``), the title shown as the
window's title, an outline entry for every part and question, and a structure tree that is the document in reading
order: the same headings as the HTML (``/H1`` to ``/H6``, no skipped level, every question an ``/H3``), paragraphs
``/P`` holding the answers' text, lists ``/L`` > ``/LI`` > ``/LBody``, tables ``/Table`` > ``/TR`` > ``/TH`` (scope
column) and ``/TD``, every picture and chart a ``/Figure`` with its ``/Alt``. Every text of a page is in a marked
sequence of exactly one element (the parent tree agrees) or is an artifact (a table's header row repeated on a new
page). Not checked, because not done: a list item's bullet is in its ``/LBody`` (no ``/Lbl``), and the card's
two-column table, whose header row is empty, has no ``/TH``.
"""

import collections
import io
import itertools
import re
from html.parser import HTMLParser

import fpdf
import pypdf
import pytest
from fpdf.html import HTML2FPDF
from fpdf.structure_tree import StructureTreeBuilder
from fpdf.table import Table

from mnist_lab.report.evidence import Chart, Images
from mnist_lab.report.exporters import chart_alternative, to_html
from mnist_lab.report.handin import Explanation, HandIn, Receipt, reading_copy
from mnist_lab.report.pdf import to_pdf
from mnist_lab.report.pdf_tags import FPDF_CHECKED, TaggedPDF
from mnist_lab.report.questions import PARTS, QUESTIONS
from tests.conftest import small_fast_report

QUESTION_NUMBERS = [f"A{n}" for n in range(1, 5)] + [f"B{n}" for n in range(1, 10)]
# A student's answers with their own headings, a skipped level among them, a table, and (a hostile student) a heading
# that poses as another question's: none of them may break the document's outline or pass for a question.
ANSWERS = {
    "a1": "# My plan\n\nShow each digit.\n\n### Why\n\nTo see them.\n\n## The result\n\n| digit | seen |\n|---|---|\n| 0 | yes |",
    "b2": "The test set estimates the accuracy on new handwriting.",
    "b5": "# B9. An image of the wrong shape\n\nA heading that poses as question B9.",
}
DIGIT = re.compile(r"\b(?:digit|labelled) \d\b")
READING = re.compile(r"labelled \d, read as \d with \d+% confidence: (?:right|wrong)")


@pytest.fixture(scope="module")
def report_and_card(trained_home, tmp_path_factory):
    """The report of the real "small fast" run, on a private copy of the run home (evaluating writes to it)."""
    _, report, card, label = small_fast_report(trained_home, tmp_path_factory.mktemp("handin-a11y"))
    return report, card, label


@pytest.fixture(scope="module")
def handin(report_and_card):
    report, card, label = report_and_card
    return HandIn(student="A. Student", date="2026-12-07", run_label=label, card=card, report=report,
                  answers=ANSWERS, explanations={"b2": Explanation("2026-12-07 10:00 UTC", after_answer=True)},
                  figures={"Test accuracy": "93.45%"}, receipt=Receipt("MNL-TEST-0000-0001", "{}"))


class Outline(HTMLParser):
    """What a screen reader lists of an HTML document: its language, headings, images and table cells."""

    def __init__(self, document: str):
        super().__init__()
        self.lang = ""
        self.headings: list[tuple[int, str]] = []
        self.images: list[str | None] = []
        self.tables: list[list[dict]] = []
        self.focusable_tables = 0
        self._heading: list | None = None
        self.feed(document)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang") or ""
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]
        elif tag == "img":
            self.images.append(attributes.get("alt"))
        elif tag == "table":
            self.tables.append([])
            self.focusable_tables += attributes.get("tabindex") == "0"
        elif tag in ("th", "td"):
            self.tables[-1].append({"tag": tag, **attributes})

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[1] += data

    def handle_endtag(self, tag):
        if self._heading is not None and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None


def skipped_levels(headings: list[tuple[int, str]]) -> list[str]:
    """The headings that go more than one level deeper than the heading before them."""
    return [f"h{level} {text!r} after h{before}" for (before, _), (level, text) in itertools.pairwise(headings)
            if level > before + 1]


@pytest.fixture(scope="module")
def outline(handin):
    return Outline(to_html(handin))


def expected_alternatives(report) -> list[str]:
    """Every picture's text alternative in the order of the report: each digit's, each chart's sentence."""
    found = []
    for answer in report.answers:
        for item in answer.evidence:
            if isinstance(item, Images):
                found += item.alternatives
            elif isinstance(item, Chart):
                found.append(chart_alternative(item))
    return found


def test_the_html_has_a_language_and_one_outline_of_headings_without_a_skipped_level(outline, handin):
    assert outline.lang == "en"
    assert [text for level, text in outline.headings if level == 1] == [handin.title]
    assert outline.headings[0] == (1, handin.title)
    assert skipped_levels(outline.headings) == []
    assert [text for level, text in outline.headings if level == 2] == ["Reproducibility card", *PARTS.values()]


def test_every_question_number_is_a_heading_and_a_students_heading_stays_inside_their_answer(outline):
    questions = [text for level, text in outline.headings if level == 3]
    assert [text.split(".")[0] for text in questions] == QUESTION_NUMBERS
    assert questions == [f"{q.number}. {q.title}" for q in QUESTIONS]
    students = [(level, text) for level, text in outline.headings if level > 4]
    assert students == [(5, "My plan"), (6, "Why"), (6, "The result"), (5, "B9. An image of the wrong shape")]


def test_every_picture_has_a_text_alternative_that_names_its_digit_or_says_what_the_chart_shows(outline, handin):
    expected = expected_alternatives(handin.report)
    assert outline.images == expected
    digits = [alt for alt in expected if DIGIT.search(alt)]
    charts = [chart_alternative(item) for answer in handin.report.answers for item in answer.evidence
              if isinstance(item, Chart)]
    assert len(digits) + len(charts) == len(expected)
    assert sum(bool(READING.search(alt)) for alt in digits) >= 20  # the test digits say how the model read them
    assert all(item.summary and alt.endswith(item.summary) for alt, item in zip(
        charts, (item for answer in handin.report.answers for item in answer.evidence if isinstance(item, Chart))))


def test_every_table_has_column_header_cells_and_takes_the_keyboards_focus(outline):
    assert len(outline.tables) >= 8  # the card's, the evidence's and the student's own
    assert outline.focusable_tables == len(outline.tables)  # a table wider than a phone scrolls, by keys too
    for cells in outline.tables:
        headers = [cell for cell in cells if cell["tag"] == "th"]
        assert headers, cells
        assert all(cell.get("scope") == "col" for cell in headers)


def test_a_reading_copy_keeps_its_headings_in_order(report_and_card):
    report, card, _ = report_and_card
    outline = Outline(to_html(reading_copy(report, card=card)))
    assert outline.lang == "en"
    assert skipped_levels(outline.headings) == []
    assert [text.split(".")[0] for level, text in outline.headings if level == 3] == QUESTION_NUMBERS


@pytest.fixture(scope="module")
def pdf(handin):
    return pypdf.PdfReader(io.BytesIO(to_pdf(handin)))


def outline_titles(outline) -> list[str]:
    return [title for item in outline
            for title in (outline_titles(item) if isinstance(item, list) else [item.title])]


def test_the_pdf_has_a_language_a_title_shown_as_such_and_every_question_in_its_outline(pdf, handin):
    root = pdf.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert pdf.metadata.title == handin.title
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    titles = outline_titles(pdf.outline)
    assert [title.split(".")[0] for title in titles if re.match(r"[AB]\d\.", title)] == QUESTION_NUMBERS
    assert set(PARTS.values()) <= set(titles)


def marked_text(page) -> dict[int | None, str]:
    """The text of each marked-content sequence of ``page`` by its MCID (None: artifacts; -1: outside any)."""
    owners: list[int | None] = []
    found: dict[int | None, list[str]] = collections.defaultdict(list)

    def operator(op, args, *_):
        if op == b"BDC":
            owners.append(args[1].get("/MCID") if isinstance(args[1], dict) else None)
        elif op == b"BMC":
            owners.append(None)
        elif op == b"EMC":
            owners.pop()

    def text(chunk, *_):
        if chunk.strip():
            found[owners[-1] if owners else -1].append(chunk)

    page.extract_text(visitor_operand_before=operator, visitor_text=text)
    return {mcid: " ".join(" ".join(chunks).split()) for mcid, chunks in found.items()}


class StructureTree:
    """What a screen reader walks of a tagged PDF: its structure elements in reading order, each with its text."""

    def __init__(self, reader: pypdf.PdfReader):
        self.root = reader.trailer["/Root"]["/StructTreeRoot"]
        self.page_of = {page.indirect_reference.idnum: index for index, page in enumerate(reader.pages)}
        self.texts = {(index, mcid): text for index, page in enumerate(reader.pages)
                      for mcid, text in marked_text(page).items()}
        self.elements: list[dict] = []
        self.claims: dict[tuple[int, int], list[dict]] = collections.defaultdict(list)
        kids = self.root["/K"]
        for kid in kids if isinstance(kids, list) else [kids]:
            self._walk(kid.get_object(), page=None)

    def _walk(self, node, *, page) -> dict:
        page = self.page_of[node.raw_get("/Pg").idnum] if "/Pg" in node else page
        element = {"role": str(node["/S"]), "node": node, "kids": [], "marks": [],
                   "attributes": node["/A"].get_object() if "/A" in node else {}}
        self.elements.append(element)
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, int):
                element["marks"].append((page, kid))
            elif kid.get("/Type") == "/MCR":
                element["marks"].append((self.page_of[kid.raw_get("/Pg").idnum], int(kid["/MCID"])))
            else:
                element["kids"].append(self._walk(kid, page=page))
        for mark in element["marks"]:
            self.claims[mark].append(element)
        element["text"] = " ".join(self.texts.get(mark, "") for mark in element["marks"]).strip()
        return element

    def of(self, *roles: str) -> list[dict]:
        return [element for element in self.elements if element["role"] in roles]

    def headings(self) -> list[tuple[int, str]]:
        return [(int(element["role"][2]), element["text"]) for element in self.elements
                if re.fullmatch(r"/H[1-6]", element["role"])]


def squashed(text: str) -> str:
    """``text`` without its spaces: pypdf may or may not see a space where a line wraps or a font changes."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def tree(pdf):
    return StructureTree(pdf)


def test_the_pdf_has_the_headings_of_the_html_in_order_every_question_an_h3(tree, outline, handin):
    headings = tree.headings()
    assert headings[0] == (1, handin.title)
    assert skipped_levels(headings) == []
    assert [text for level, text in headings if level == 2] == ["Reproducibility card", *PARTS.values()]
    questions = [text for level, text in headings if level == 3]
    assert [squashed(text) for text in questions] == [squashed(f"{q.number}. {q.title}") for q in QUESTIONS]
    assert [text.split(".")[0] for text in questions] == QUESTION_NUMBERS
    assert [level for level, _ in headings if level > 4] == [5, 6, 6, 5]  # the student's, nested as in the HTML
    assert [(level, squashed(text)) for level, text in headings] == [
        (level, squashed(text)) for level, text in outline.headings if text != "Questions"]


def test_the_pdf_tags_the_answers_as_paragraphs_and_lists_as_lists(tree):
    paragraphs = " ".join(element["text"] for element in tree.of("/P"))
    for sentence in ("Show each digit.", "To see them.", "The test set estimates the accuracy on new handwriting.",
                     "A heading that poses as question B9."):
        assert squashed(sentence) in squashed(paragraphs)
    lists = tree.of("/L")
    assert lists
    for element in lists:
        assert {kid["role"] for kid in element["kids"]} == {"/LI"}
        assert all([kid["role"] for kid in item["kids"]] == ["/LBody"] for item in element["kids"])


def test_every_table_of_the_pdf_has_rows_of_header_cells_then_data_cells(tree):
    tables = tree.of("/Table")
    assert len(tables) >= 8  # the card's, the evidence's and the student's own
    headless = 0
    for table in tables:
        rows = table["kids"]
        assert rows and {row["role"] for row in rows} == {"/TR"}
        cells = [[cell["role"] for cell in row["kids"]] for row in rows]
        if set(cells[0]) == {"/TH"}:
            assert all(cell["attributes"] == {"/O": "/Table", "/Scope": "/Column"} for cell in rows[0]["kids"])
            cells = cells[1:]
        else:
            headless += 1
        assert all(set(row) == {"/TD"} for row in cells)
    assert headless == 1  # the card's, whose header row is empty
    assert any([cell["text"] for cell in table["kids"][0]["kids"]] == ["digit", "seen"] for table in tables)


def test_every_marked_content_of_the_pdf_belongs_to_one_element_and_no_text_is_untagged(pdf, tree):
    assert {mark: len(owners) for mark, owners in tree.claims.items() if len(owners) != 1} == {}
    parent_tree = tree.root["/ParentTree"]["/Nums"]
    parents = {int(parent_tree[i]): parent_tree[i + 1].get_object() for i in range(0, len(parent_tree), 2)}
    for index, page in enumerate(pdf.pages):
        marks = {mcid for mcid in marked_text(page) if mcid is not None}
        assert -1 not in marks, f"untagged text on page {index + 1}: {marked_text(page)[-1]!r}"
        claimed = sorted(mcid for page_index, mcid in tree.claims if page_index == index)
        assert marks <= set(claimed)
        if claimed:
            owners = parents[int(page["/StructParents"])]
            assert claimed == list(range(len(owners)))
            assert all(owners[mcid].get_object() is tree.claims[index, mcid][0]["node"]
                       for mcid in claimed)


def test_every_picture_and_chart_of_the_pdf_is_a_figure_with_its_text_alternative(pdf, tree, handin):
    root = pdf.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    figures = [element["node"] for element in tree.of("/Figure")]
    alternatives = [str(figure["/Alt"]) for figure in figures]
    charts = [chart_alternative(item) for answer in handin.report.answers for item in answer.evidence
              if isinstance(item, Chart)]
    assert [alt for alt in alternatives if alt in charts] == charts
    digits = [alt for alt in alternatives if alt not in charts]
    assert len(digits) == sum(isinstance(item, Images) for answer in handin.report.answers for item in answer.evidence)
    assert all(DIGIT.search(alt) for alt in digits)
    every_digit = "; ".join(digits)
    assert all(alt in every_digit for answer in handin.report.answers for item in answer.evidence
               if isinstance(item, Images) for alt in item.alternatives)


def test_a_paragraph_and_a_table_across_pages_stay_one_element_each():
    pdf = TaggedPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    with pdf.content("/P"):
        pdf.multi_cell(0, 5, " ".join(f"word{n}" for n in range(2500)))
    with pdf.table(first_row_as_headings=True) as table:
        for row in [["name", "value"], *([str(n), str(n * n)] for n in range(120))]:
            table.row(row)
    tree = StructureTree(pypdf.PdfReader(io.BytesIO(bytes(pdf.output()))))
    (paragraph,) = tree.of("/P")
    assert len({page for page, _ in paragraph["marks"]}) == len(paragraph["marks"]) >= 3  # one sequence a page
    assert paragraph["text"].split() == [f"word{n}" for n in range(2500)]
    (table,) = tree.of("/Table")
    assert [cell["text"] for cell in table["kids"][0]["kids"]] == ["name", "value"]
    assert len(table["kids"]) == 121  # the header row fpdf2 repeats on each page is an artifact
    assert [cell["text"] for cell in table["kids"][-1]["kids"]] == ["119", str(119 * 119)]


def test_the_private_api_of_fpdf2_that_pdf_tags_wraps_is_still_there():
    """pdf_tags depends on fpdf2's internals: a new fpdf2 must be checked against it before this test is updated."""
    assert fpdf.FPDF_VERSION == FPDF_CHECKED
    assert all(callable(getattr(Table, name)) for name in ("render", "_render_table_row", "_render_table_cell"))
    assert all(callable(getattr(HTML2FPDF, name)) for name in ("_end_paragraph", "_write_paragraph"))
    assert all(callable(getattr(StructureTreeBuilder, name)) for name in ("add_marked_content", "next_mcid_for_page"))
    assert TaggedPDF.HTML2FPDF_CLASS.__mro__[1] is HTML2FPDF
    assert callable(TaggedPDF._out)
