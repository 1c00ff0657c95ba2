"""The hand-in as a PDF (fpdf2): written from a real trained run, read back with pypdf as a teacher's check reads it.

Nothing is mocked: the report is that of the "small fast" run trained by ``trained_home``, on a private copy of the
run home (evaluating a run writes into its store).
"""

import dataclasses
import io
import re

import pypdf
import pytest

from mnist_lab.errors import WorkbookError
from mnist_lab.report.exporters import markdown_words
from mnist_lab.report.handin import APP_HEADING, Explanation, HandIn, Receipt
from mnist_lab.report.pdf import CHECK_SENTENCE, PREVIEW_SENTENCE, to_pdf
from mnist_lab.report.pdf_receipt import RECEIPT_KEY, pdf_receipt, pdf_text
from mnist_lab.report.questions import PARTS, QUESTIONS
from mnist_lab.workbook.verify import read_handin
from tests.conftest import small_fast_report

STUDENT = "Zoë Ångström"
DOCUMENT = '{"payload": {"x": 1}, "mac": "ab"}'
# Question id to (the student's Markdown, the text a reader sees once it is rendered).
ANSWERS = {
    "a1": ("Scaling keeps **gradients** small:\n\n- first *point* ≈ 0.5\n- second `np.argmax` → \u03b1 \u00d7 \u03b2\n\n"
           "![img](http://example.org/x.png) <script>alert(1)</script> and a [link](http://evil.example) here.",
           "Scaling keeps gradients small: first point ≈ 0.5 second np.argmax → \u03b1 \u00d7 \u03b2 "
           "!img <script>alert(1)</script> and a link here."),
    "b2": ("The test set estimates the accuracy on **new** handwriting, which training cannot see. A model judged on "
           "its training images is rewarded for memorising them, so the number would be too high and useless for "
           "deciding between two models.",
           "The test set estimates the accuracy on new handwriting, which training cannot see. A model judged on "
           "its training images is rewarded for memorising them, so the number would be too high and useless for "
           "deciding between two models."),
    "b5": ("1. A *perceptron* is one neuron with a step function.\n2. A `Dense` layer is many neurons ≈ many "
           "perceptrons with smooth activations.",
           "A perceptron is one neuron with a step function. A Dense layer is many neurons ≈ many perceptrons with "
           "smooth activations."),  # the PDF gives a numbered list bullets: HTML's numbers are no words either
}
REVEALED = "b2"
WORD = re.compile(r"\w+")


def words(text: str) -> str:
    """The words of ``text`` joined by single spaces, padded, so that ``f" {a} " in f" {b} "`` finds a run of words."""
    return " " + " ".join(WORD.findall(text)) + " "


def found_in_order(expected: str, text: str) -> bool:
    return words(expected) in words(text)


def flat(text: str) -> str:
    return " ".join(text.split())


def outline_titles(outline) -> list[str]:
    return [title for item in outline
            for title in (outline_titles(item) if isinstance(item, list) else [item.title])]


@pytest.fixture(scope="module")
def handin(trained_home, tmp_path_factory):
    _, report, card, label = small_fast_report(trained_home, tmp_path_factory.mktemp("pdf"))
    return HandIn(
        student=STUDENT, date="2026-12-07", run_label=label, card=card, report=report,
        answers={key: markdown for key, (markdown, _) in ANSWERS.items()},
        explanations={REVEALED: Explanation("2026-12-07 10:00 UTC", after_answer=True)},
        figures={"Test accuracy": "93.45%", "Test loss": "0.2500", "Epochs": "2"},
        receipt=Receipt("MNL-TEST-0000-0001", DOCUMENT),
    )


@pytest.fixture(scope="module")
def data(handin):
    return to_pdf(handin)


@pytest.fixture(scope="module")
def text(data):
    return pdf_text(data)


def test_the_pdf_carries_its_receipt_and_metadata(handin, data):
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert data.startswith(b"%PDF-")
    assert len(reader.pages) >= 6
    assert pdf_receipt(data) == DOCUMENT
    assert reader.metadata[RECEIPT_KEY] == DOCUMENT
    assert reader.metadata.author == STUDENT
    assert reader.metadata.title == handin.title
    assert reader.metadata.subject == handin.run_label
    assert reader.metadata.creator == "MNIST Lab"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    width, height = (float(value) for value in reader.pages[0].mediabox.upper_right)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)


def test_the_title_page_names_the_student_the_run_and_the_receipt(handin, data):
    first = flat(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text())
    for expected in (handin.title, f"Student: {STUDENT}", "Date: 2026-12-07", f"Run: {handin.run_label}",
                     "Test accuracy: 93.45%", "Epochs: 2", "Receipt MNL-TEST-0000-0001", "Reproducibility card"):
        assert expected in first
    assert found_in_order(CHECK_SENTENCE, first)
    assert '"learning_rate": 0.001' in first  # the card's configuration, from its ```json block


def test_each_answer_is_printed_as_the_student_wrote_it(handin, text):
    for key, (_, seen) in ANSWERS.items():
        assert found_in_order(seen, text), key
    assert text.count(handin.student_heading()) == len(QUESTIONS)
    assert "first point ≈ 0.5" in text and "np.argmax → \u03b1 \u00d7 \u03b2" in text  # every sign, not just words


def test_a_teachers_check_finds_every_answer(handin, data):
    """What :mod:`mnist_lab.workbook.verify` does with a PDF: the words of each stored answer, in a row."""
    shown = read_handin(data)
    assert shown.document == DOCUMENT
    for key, answer in handin.answers.items():
        assert f" {' '.join(markdown_words(answer))} " in f" {' '.join(shown.words)} ", key


def test_the_students_markdown_stays_text(text):
    assert "<script>alert(1)</script>" in text  # shown as typed, never read as markup
    assert "**" not in text and "](http" not in text
    assert "example.org" not in text and "evil.example" not in text  # no picture fetched, no address printed


def test_empty_questions_say_so(handin, text):
    assert flat(text).count(flat(handin.no_answer())) == len(QUESTIONS) - len(ANSWERS)


def test_only_the_revealed_explanation_is_printed(handin, text):
    revealed = handin.report.answer(REVEALED)
    assert found_in_order(" ".join(WORD.findall(revealed.text)[:12]), text)
    assert flat(handin.explanations[REVEALED].note) in flat(text)
    assert text.count(APP_HEADING) == 1
    for answer in handin.report.answers:
        if answer.question.id != REVEALED:
            assert not found_in_order(" ".join(WORD.findall(answer.text)[:10]), text), answer.question.id


def test_the_evidence_is_printed(handin, data, text):
    assert text.count("Evidence from the run") == sum(bool(a.evidence or a.todo) for a in handin.report.answers)
    assert "This chart could not be drawn" not in text
    assert "Per digit" in text and "precision" in text  # A4's table, with its header
    images = sum(len(page.images) for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert images >= 8  # the tiled digits and every chart


def test_the_outline_lists_every_question(data):
    titles = outline_titles(pypdf.PdfReader(io.BytesIO(data)).outline)
    assert [title.split(".")[0] for title in titles if title[:1] in "AB" and title[1:2].isdigit()] == [
        q.number for q in QUESTIONS]
    assert set(PARTS.values()) <= set(titles)
    assert "Reproducibility card" in titles


def test_a_cjk_name_and_a_preview_make_a_pdf(handin):
    preview = dataclasses.replace(handin, student="张伟", receipt=None)
    data = to_pdf(preview)
    assert pdf_receipt(data) is None
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.author == "张伟"
    text = pdf_text(data)
    # DejaVu has no CJK glyph: the name prints as empty boxes, which pypdf reads as nothing; the rest is intact.
    assert PREVIEW_SENTENCE in text and "Answer by" in text
    assert found_in_order(ANSWERS["b2"][1], text)


@pytest.mark.parametrize("damage", [b"", b"not a pdf at all", "half"])
def test_a_file_that_is_not_a_pdf_is_refused(data, damage):
    bad = data[:len(data) // 2] if damage == "half" else damage
    with pytest.raises(WorkbookError, match="not a readable PDF"):
        pdf_receipt(bad)
    with pytest.raises(WorkbookError, match="not a readable PDF"):
        pdf_text(bad)
