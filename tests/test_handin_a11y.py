"""The hand-in as a screen reader meets it (issue 26, WCAG 2.1 AA), in HTML and PDF, from a real trained run.

HTML: the document's language, one ``<h1>`` and no skipped heading level (a student's own Markdown headings are
nested under their answer's heading), every question number a heading, every picture a text alternative that names
its digit (and the model's reading where the picture shows one) or, for a chart, its computed sentence, every table
header cells with ``scope="col"``.

PDF (fpdf2 2.8.9): the language (``/Lang``), the title shown as the window's title, an outline entry for every part
and question, and every picture and chart a ``/Figure`` of the structure tree with its ``/Alt``. What fpdf2 cannot
tag, and so is not checked: text, headings, lists and tables are untagged content (fpdf2 writes no ``/P``, ``/H1``
to ``/H6``, ``/L``, ``/Table``, ``/TH`` structure elements, and marks nothing as an artifact); a table's header row is
bold and repeated on each page, but not tagged as headers. The PDF is therefore not PDF/UA.
"""

import io
import itertools
import re
import shutil
from html.parser import HTMLParser

import pypdf
import pytest

from mnist_lab.data import shared_mnist
from mnist_lab.report import card as cards
from mnist_lab.report.evidence import Chart, Images
from mnist_lab.report.exporters import chart_alternative, to_html
from mnist_lab.report.handin import Explanation, HandIn, Receipt, reading_copy
from mnist_lab.report.notebook import report_of_run
from mnist_lab.report.pdf import to_pdf
from mnist_lab.report.questions import PARTS, QUESTIONS
from mnist_lab.runs.store import HOME_ENV, RunStore

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
    home = tmp_path_factory.mktemp("handin-a11y") / "home"
    shutil.copytree(trained_home, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV, str(home))
        store = RunStore(home)
        run = next(run for run in store.list_runs() if run.name == "small fast")
        _, report = report_of_run(store, run, shared_mnist())
    return report, cards.to_markdown(cards.reproducibility_card(run)), f"{run.name} ({run.id}), {run.status}"


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


def test_every_picture_and_chart_of_the_pdf_is_a_figure_with_its_text_alternative(pdf, handin):
    root = pdf.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    document = root["/StructTreeRoot"]["/K"]
    document = (document[0] if isinstance(document, list) else document).get_object()
    figures = [element.get_object() for element in document["/K"]]
    assert {str(figure["/S"]) for figure in figures} == {"/Figure"}
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
