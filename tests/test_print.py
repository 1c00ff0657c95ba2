"""The report on paper and on its own: the HTML export printed to A4 by Chromium, read back with pypdf, and the
Markdown export with its charts as pictures (one text with data URIs, or a zip with the pictures as files)."""

import base64
import io
import re
import shutil
import unicodedata
import zipfile

import pypdf
import pytest
from PIL import Image
from pypdf.generic import ContentStream

from mnist_lab import evaluation, report
from mnist_lab.predictions import inference
from mnist_lab.report import card as cards
from mnist_lab.report import exporters
from mnist_lab.runs.store import RunStore

A4_PT = (595.92, 842.88)  # 210 x 297 mm in PDF points, as Chromium writes it
MM = 72 / 25.4  # PDF points per millimetre
PX_PER_MM = 96 / 25.4
# Stricter than the style sheet's page margins (13-16 mm): whatever lies in the outer 10 mm of a page was cut
# by a page break or is wider than the page.
EDGE_MM = 10
PRINTABLE_MM = (210 - 2 * EDGE_MM, 297 - 2 * EDGE_MM)


@pytest.fixture(scope="module")
def fast_run(trained_home, mnist, tmp_path_factory):
    """RunEvidence of "small fast", on a private copy of the trained runs (evaluating writes into the store)."""
    home = tmp_path_factory.mktemp("print") / "home"
    shutil.copytree(trained_home, home)
    store = RunStore(home)
    run = store.get(next(listed.id for listed in store.list_runs() if listed.name == "small fast"))
    model = inference.RunModel.load(store, run)
    ev = evaluation.evaluate_run(store, run, lambda: model, mnist)
    return report.RunEvidence(store.get(run.id), model, ev, inference.test_scores(store, run, model, mnist.x_test))


@pytest.fixture(scope="module")
def built(fast_run, mnist):
    return report.build_report(mnist, fast_run)


@pytest.fixture(scope="module")
def card(fast_run):
    return cards.to_markdown(cards.reproducibility_card(fast_run.run))


@pytest.fixture(scope="module")
def document(built, card):
    return report.to_html(report.reading_copy(built, card=card))


@pytest.fixture(scope="module")
def printed(chromium, document, tmp_path_factory):
    """The HTML report as Chromium prints it to A4 ("Save as PDF"), read with pypdf."""
    path = tmp_path_factory.mktemp("printed") / "report.html"
    path.write_text(document, encoding="utf-8")
    page = chromium.new_page()
    page.goto(path.as_uri())
    pdf = page.pdf(format="A4")
    page.close()
    return pypdf.PdfReader(io.BytesIO(pdf))


def page_text(page) -> str:
    """A PDF page's text with typographic ligatures (ﬁ) spelt out."""
    return unicodedata.normalize("NFKC", page.extract_text())


def multiply(first, second):
    """The PDF matrix product ``first`` x ``second`` of two [a b c d e f] matrices."""
    a, b, c, d, e, f = first
    return [a * second[0] + b * second[2], a * second[1] + b * second[3], c * second[0] + d * second[2],
            c * second[1] + d * second[3], e * second[0] + f * second[2] + second[4],
            e * second[1] + f * second[3] + second[5]]


def on_page(ctm, x, y, width, height):
    """The rectangle (x, y, width, height) in user space as (x0, y0, x1, y1) on the page."""
    corners = [(px * ctm[0] + py * ctm[2] + ctm[4], px * ctm[1] + py * ctm[3] + ctm[5])
               for px in (x, x + width) for py in (y, y + height)]
    xs, ys = zip(*corners)
    return min(xs), min(ys), max(xs), max(ys)


def drawn_boxes(reader, page):
    """Where a page draws its pictures and groups (XObjects) and clips its drawings (each chart clips to its box).

    Returns
    -------
    list of (str, tuple)
        ``("image", box)``, ``("form", box)`` or ``("clip", box)``, the box as (x0, y0, x1, y1) in points.
    """
    xobjects = page["/Resources"].get("/XObject", {})
    ctm, saved, rectangle, boxes = [1, 0, 0, 1, 0, 0], [], None, []
    for operands, operator in ContentStream(page.get_contents(), reader).operations:
        if operator == b"q":
            saved.append(ctm)
        elif operator == b"Q":
            ctm = saved.pop()
        elif operator == b"cm":
            ctm = multiply([float(value) for value in operands], ctm)
        elif operator == b"re":
            rectangle = on_page(ctm, *(float(value) for value in operands))
        elif operator in (b"W", b"W*") and rectangle:
            boxes.append(("clip", rectangle))
        elif operator == b"Do":
            boxes.append(xobject_box(xobjects[operands[0]].get_object(), ctm))
        if operator not in (b"re", b"W", b"W*"):
            rectangle = None
    return boxes


def xobject_box(xobject, ctm):
    """An image XObject fills the unit square; a form its bounding box, through its own matrix."""
    if xobject["/Subtype"] == "/Image":
        return "image", on_page(ctm, 0, 0, 1, 1)
    x0, y0, x1, y1 = (float(value) for value in xobject["/BBox"])
    matrix = [float(value) for value in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
    return "form", on_page(multiply(matrix, ctm), x0, y0, x1 - x0, y1 - y0)


@pytest.mark.browser
def test_the_report_prints_on_several_a4_pages(printed):
    assert 4 <= len(printed.pages) <= 30
    for page in printed.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4_PT, abs=1)


@pytest.mark.browser
def test_no_picture_or_chart_is_cut_by_a_page_break_or_wider_than_the_page(printed, document):
    edge = EDGE_MM * MM
    images = 0
    for number, page in enumerate(printed.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        for kind, (x0, y0, x1, y1) in drawn_boxes(printed, page):
            assert edge <= x0 and x1 <= width - edge and edge <= y0 and y1 <= height - edge, (number, kind, x0, y0, x1, y1)
            images += kind == "image"
    assert images == document.count('src="data:image/png')  # each picture drawn once: none split over two pages


@pytest.mark.browser
def test_in_print_layout_every_picture_and_chart_fits_an_a4_page(chromium, document, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(document, encoding="utf-8")
    width, height = (round(mm * PX_PER_MM) for mm in PRINTABLE_MM)
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.emulate_media(media="print")
    page.goto(path.as_uri())
    sizes = page.evaluate("() => [...document.querySelectorAll('img, svg')].map(e => e.getBoundingClientRect())"
                          ".map(box => [box.right, box.width, box.height])")
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    page.close()
    assert len(sizes) == document.count("<img ")
    assert overflow <= width
    assert all(right <= width + 0.5 and box_height <= height for right, _, box_height in sizes), sizes
    assert max(box_width for _, box_width, _ in sizes) > width / 2  # the charts are there, at a readable size


@pytest.mark.browser
def test_question_numbers_start_their_lines_part_b_a_page_and_the_card_is_on_page_one(printed, built, fast_run):
    texts = [page_text(page) for page in printed.pages]
    assert "Reproducibility card" in texts[0] and fast_run.run.id in texts[0]
    everything = "\n".join(texts)
    for answer in built.answers:
        q = answer.question
        assert re.search(rf"^{q.number}\. {re.escape(q.title)}$", everything, flags=re.MULTILINE), q.number
    assert any(text.startswith("Part B") for text in texts[1:])


def test_the_html_leaves_the_card_out_when_there_is_none(built, document, card):
    assert '<section class="card"' not in report.to_html(report.reading_copy(built))
    assert document.count('<section class="card" id="card">') == 1
    assert document.index("Reproducibility card") < document.index("Part A")


def charts_of(built):
    return [item for answer in built.answers for item in answer.evidence if isinstance(item, report.Chart)]


def png_links(text):
    """The (alt text, target) of every Markdown image in ``text``."""
    return re.findall(r"!\[((?:[^\]\\]|\\.)*)\]\(([^)\s]+)\)", text)


def of_a_chart(alt, captions):
    """Whether a picture's ``alt`` text is a chart's: its caption, then the chart's summary in words."""
    return any(alt.startswith(caption) for caption in captions)


def test_the_markdown_shows_every_chart_as_an_inline_png(built, card):
    text = report.to_markdown(report.reading_copy(built, card=card))
    assert "(in the HTML report)" not in text
    assert text.index("## Reproducibility card") < text.index("## Part A")
    captions = {report.markdown_text(chart.caption) for chart in charts_of(built)}
    charts = [target for alt, target in png_links(text) if of_a_chart(alt, captions)]
    assert len(charts) == len(charts_of(built)) >= 5
    assert all(target.startswith("data:image/png;base64,") for _, target in png_links(text))
    with Image.open(io.BytesIO(base64.b64decode(charts[0].split(",", 1)[1]))) as chart:
        assert chart.format == "PNG"


def test_the_markdown_zip_holds_the_text_and_every_picture_it_links(built, card):
    archive = zipfile.ZipFile(io.BytesIO(exporters.to_markdown_zip(report.reading_copy(built, card=card), name="mnist-lab-report-x")))
    names = set(archive.namelist())
    text = archive.read("mnist-lab-report-x/mnist-lab-report-x.md").decode("utf-8")
    targets = [target for _, target in png_links(text)]
    assert "data:" not in text and len(targets) == len(set(targets))
    assert {f"mnist-lab-report-x/{target}" for target in targets} == names - {"mnist-lab-report-x/mnist-lab-report-x.md"}
    assert all(re.fullmatch(r"images/[ab]\d-\d+\.png", target) for target in targets)
    charts = {report.markdown_text(chart.caption) for chart in charts_of(built)}
    chart_files = [target for alt, target in png_links(text) if of_a_chart(alt, charts)]
    assert len(chart_files) == len(charts)
    for target in chart_files:
        with Image.open(io.BytesIO(archive.read(f"mnist-lab-report-x/{target}"))) as chart:
            assert chart.format == "PNG" and chart.width >= 400  # drawn at twice the chart's size
    assert "### A1. Show the digits 0-9" in text and "## Reproducibility card" in text


def test_a_chart_that_cannot_be_drawn_is_named_with_the_reason():
    class Broken:
        def to_json(self):
            return "{not a Vega-Lite spec"

    answer = report.Answer(report.question("b7"), "Text.", (report.Chart(Broken(), "The confusion"),))
    text = report.to_markdown(report.reading_copy(report.Report("Hand made", "Intro.", (answer,))))
    assert "*The confusion*\n\n*This chart could not be drawn: " in text
