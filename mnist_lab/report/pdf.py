"""A student's hand-in as an A4 PDF, written with fpdf2 (pure Python: no browser on the server).

Text is set in the DejaVu fonts of ``fonts/``; a character none has (CJK) prints as an empty box, never an error.
Markdown goes through markdown-it-py with raw HTML and images off (a student's answer through ``student_markdown``,
as in every export); links print as their text. Nothing runs between pages, nothing is hyphenated: pypdf reads each
answer's words back in order, as a teacher's check compares them. The receipt is in the document information
(:mod:`mnist_lab.report.pdf_receipt`).

For a screen reader: the document's language and title (shown as the window's title), an outline of the parts and
questions, and a structure tree that is the document in reading order (:mod:`mnist_lab.report.pdf_tags`): the
headings of the HTML hand-in at the same levels (the title ``/H1``, the card and the parts ``/H2``, each question
``/H3``, "Your answer" and the like ``/H4``, a student's own headings nested below), paragraphs ``/P`` (a caption, a
label and its value on the title page, each paragraph of Markdown), lists ``/L`` > ``/LI`` > ``/LBody``, the question's
text a ``/BlockQuote``, tables ``/Table`` > ``/TR`` > ``/TH`` (scope column) or ``/TD``, and every picture and chart a
``/Figure`` with its text alternative (a digit's label and prediction, a chart's sentence). Artifacts: a table's header
row repeated on a new page, fpdf2's blank spacer line before a list. Not tagged apart: a list item's bullet (it is
read with the item, no ``/Lbl``), the card's two-column table has no header cells (its header row is empty), and the
fills and borders behind text are inside that text's sequence. There are no running headers or page numbers. It is
not checked against PDF/UA with a validator.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from fpdf import FontFace, TextStyle, ViewerPreferences
from fpdf.enums import PageMode, TableCellFillMode, XPos, YPos
from markdown_it import MarkdownIt
from markdown_it.token import Token
from PIL import Image

from mnist_lab.report.evidence import Answer, Chart, Code, Evidence, Figures, Images, Table
from mnist_lab.report.exporters import cell_text, chart_alternative, chart_png, nest_headings, student_markdown
from mnist_lab.report.handin import APP_HEADING, HandIn
from mnist_lab.report.pdf_receipt import with_receipt
from mnist_lab.report.pdf_tags import TaggedPDF
from mnist_lab.report.questions import PARTS

logger = logging.getLogger(__name__)

#: Where the embedded fonts live, next to this module (shipped as package data).
FONT_FOLDER = Path(__file__).with_name("fonts")
#: What the title page says under the receipt's code.
CHECK_SENTENCE = "A teacher checks it with `mnist-lab verify FILE` or the Class page's *Check a hand-in*."
#: What the title page says in place of a receipt.
PREVIEW_SENTENCE = "Preview: not signed, not a hand-in."
#: The heading above each question's evidence.
EVIDENCE_HEADING = "Evidence from the run"

_SANS, _MONO = "dejavusans", "dejavumono"
# No bold italic file is shipped: bold italic text is set in bold (fpdf2 cannot slant a font itself).
_FONT_FILES = {
    (_SANS, ""): "DejaVuSans.ttf", (_SANS, "B"): "DejaVuSans-Bold.ttf", (_SANS, "I"): "DejaVuSans-Oblique.ttf",
    (_SANS, "BI"): "DejaVuSans-Bold.ttf",
    **{(_MONO, style): "DejaVuSansMono.ttf" for style in ("", "B", "I", "BI")},
}
_MARGIN, _LINE = 15.0, 5.0
_BODY_PT, _SMALL_PT, _CODE_PT, _MIN_TABLE_PT = 10.0, 8.5, 8.0, 4.5
# Pictures: millimetres per pixel (an evidence picture of 56 px is 11 mm) and pixels between tiles.
_PICTURE_MM, _TILE_GAP = 0.2, 8
# Charts are rendered at 2 pixels per CSS pixel of 1/96 inch; no chart is taller than 110 mm.
_CHART_MM, _CHART_MAX_MM = 25.4 / 96 / 2, 110.0
_TAG_STYLES = {"code": FontFace(family=_MONO), "li": TextStyle(l_margin=5, t_margin=1), "ol": TextStyle(t_margin=1),
               "ul": TextStyle(t_margin=1), "pre": TextStyle(font_family=_MONO, font_size_pt=_CODE_PT, t_margin=2),
               "blockquote": TextStyle(color="#444444", t_margin=1, b_margin=1)}
# Raw HTML and images stay off, as in the HTML export: the student's text is untrusted. A link prints as its text
# (no address, nothing to click); a heading as a bold line (fpdf2 would make each <h1> an outline entry), tagged as a
# heading of its level (pdf_tags.TaggedHTML reads data-level).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
for _rule, _html in {"link_open": "", "link_close": "", "heading_close": "</b></p>"}.items():
    _MARKDOWN.add_render_rule(_rule, lambda self, tokens, idx, options, env, html=_html: html)
_MARKDOWN.add_render_rule("heading_open",
                          lambda self, tokens, idx, options, env: f'<p data-level="{tokens[idx].tag[1]}"><b>')


def to_pdf(handin: HandIn) -> bytes:
    """Write ``handin`` as an A4 PDF.

    Parameters
    ----------
    handin : HandIn

    Returns
    -------
    bytes
        A title page (student, date, run, headline figures, receipt, reproducibility card), then every question
        with the student's answer, the evidence and the revealed explanations; an outline of parts and questions;
        a structure tree of its headings, paragraphs, lists, tables and figures (with their text alternatives) in
        reading order; metadata: title (displayed as the
        window's title), the student as author, the run as subject, language en, the receipt
        (:data:`mnist_lab.report.pdf_receipt.RECEIPT_KEY`).

    See Also
    --------
    mnist_lab.report.pdf_receipt.pdf_receipt, mnist_lab.report.pdf_receipt.pdf_text : read a PDF made here back.
    """
    pdf = _document(handin)
    _title_page(pdf, handin)
    part = ""
    for answer in handin.report.answers:
        if answer.question.id[0] != part:
            pdf.add_page()
            part = answer.question.id[0]
            _heading(pdf, PARTS[part], level=2, size=15, room=40, outline=0)
        _answer(pdf, handin, answer)
    data = bytes(pdf.output())
    return with_receipt(data, handin.receipt.document) if handin.receipt else data


def _document(handin: HandIn) -> TaggedPDF:
    """An empty A4 document with the fonts and the metadata of ``handin``."""
    pdf = TaggedPDF(format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN)
    for (family, style), name in _FONT_FILES.items():
        pdf.add_font(family, style, FONT_FOLDER / name)
    # Code falls back on the sans font for the signs the monospace one lacks.
    pdf.set_fallback_fonts([_SANS], exact_match=False)
    pdf.set_title(handin.title)
    pdf.set_author(handin.student)
    pdf.set_subject(handin.run_label)
    pdf.set_creator("MNIST Lab")
    pdf.set_lang("en")
    # A reader's window and a screen reader name the document by its title, not its file name (PDF/UA, WCAG 2.4.2).
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.page_mode = PageMode.USE_OUTLINES
    pdf.add_page()
    return pdf


def _title_page(pdf: TaggedPDF, handin: HandIn) -> None:
    """The title, who and what, the headline figures, the receipt, then the reproducibility card."""
    _text(pdf, handin.title, role="/H1", style="B", size=18, height=9)
    pdf.ln(2)
    _two_columns(pdf, {"Student": handin.student, "Date": handin.date, "Run": handin.run_label}, bold_labels=True)
    pdf.ln(2)
    _two_columns(pdf, handin.figures)
    pdf.ln(3)
    if handin.receipt:
        _text(pdf, f"Receipt {handin.receipt.code}", style="B", size=12, height=6)
        _markdown(pdf, CHECK_SENTENCE, level=2)
    else:
        _text(pdf, PREVIEW_SENTENCE, style="B", size=12, height=6)
    if handin.card:
        pdf.ln(2)
        pdf.start_section("Reproducibility card", level=0)
        _markdown(pdf, handin.card, level=2, size=_SMALL_PT)


def _two_columns(pdf: TaggedPDF, rows: dict[str, str], *, bold_labels: bool = False) -> None:
    """Label and value side by side, one pair a line; long values wrap in their column."""
    label_width = min(pdf.epw / 2, max((_width(pdf, f"{k}:", "B" * bold_labels) for k in rows), default=0) + 4)
    for label, value in rows.items():
        with pdf.content("/P"):
            _font(pdf, style="B" if bold_labels else "")
            pdf.cell(label_width, _LINE, f"{label}:")
            _font(pdf)
            pdf.multi_cell(0, _LINE, str(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _answer(pdf: TaggedPDF, handin: HandIn, answer: Answer) -> None:
    """One question: heading, question, the student's answer, the evidence, the revealed explanation."""
    _heading(pdf, f"{answer.question.number}. {answer.question.title}", level=3, size=12.5, room=40, outline=1)
    with pdf.element("/BlockQuote"):
        _markdown(pdf, answer.question.text, level=4, indent=5, color=(43, 74, 122))
    _heading(pdf, handin.student_heading(), level=4)
    written = handin.answer_of(answer)
    if written.strip():
        _markdown(pdf, student_markdown(written), level=5)
    else:
        _text(pdf, handin.no_answer(), style="I")
    if answer.evidence or answer.todo:
        _heading(pdf, EVIDENCE_HEADING, level=4)
    for item in answer.evidence:
        _evidence(pdf, item)
    if answer.todo:
        _markdown(pdf, answer.todo, level=4, size=_SMALL_PT)
    explanation = handin.explanation_of(answer)
    if explanation is not None:
        _heading(pdf, APP_HEADING, level=4)
        _text(pdf, explanation.note, style="I", size=_SMALL_PT)
        _markdown(pdf, answer.text, level=5)


def _heading(pdf: TaggedPDF, text: str, *, level: int | None = None, style: str = "B", size: float = 11,
             room: float = 25, outline: int | None = None) -> None:
    """A heading ``/H{level}`` (or, without a level, a caption ``/P``) kept on one page with ``room`` mm of what
    follows; at level ``outline`` of the outline."""
    if pdf.get_y() + room > pdf.page_break_trigger:
        pdf.add_page()
    if outline is not None:
        pdf.start_section(text, level=outline)
    if text:
        pdf.ln(size / 4)
        _text(pdf, text, role="/P" if level is None else f"/H{level}", style=style, size=size, height=size * 0.55)


def _evidence(pdf: TaggedPDF, item: Evidence) -> None:
    """One piece of evidence, its caption in italics above it."""
    pdf.ln(1.5)
    if isinstance(item, Images):
        _images(pdf, item)
    elif isinstance(item, Chart):
        _chart(pdf, item)
    else:
        _heading(pdf, item.caption, style="I", size=_SMALL_PT, room=12)
    if isinstance(item, Figures):
        _two_columns(pdf, item.values, bold_labels=True)
    elif isinstance(item, Table):
        rows = [[cell_text(value) for value in row] for row in item.frame.itertuples(index=False)]
        _grid(pdf, [str(column) for column in item.frame.columns], rows)
    elif isinstance(item, Code):
        pdf.set_fill_color(246, 246, 246)
        _text(pdf, item.code, family=_MONO, size=_CODE_PT, height=3.8, fill=True)


def _grid(pdf: TaggedPDF, header: list[str], rows: list[list[str]], *, size: float = _SMALL_PT) -> None:
    """A table as wide as its text, its font shrunk to fit the page's width; a long one breaks between rows.

    The header (bold, repeated on each page) is left out when all its cells are empty.
    """
    header = header if any(text.strip() for text in header) else []
    columns = zip(*([header] if header else []), *rows)
    widths = [max(_width(pdf, text, "B", size) for text in column) + 3 for column in columns]
    if not widths:
        return
    fitted = max(_MIN_TABLE_PT, min(size, size * pdf.epw / sum(widths)))
    _font(pdf, size=fitted)
    pdf.ln(1)
    with pdf.table(width=min(pdf.epw, sum(widths) * fitted / size), col_widths=widths, align="LEFT",
                   text_align="LEFT", line_height=fitted * 0.5, first_row_as_headings=bool(header),
                   headings_style=FontFace(emphasis="BOLD"), cell_fill_color=245,
                   cell_fill_mode=TableCellFillMode.ROWS) as table:
        for cells in [header, *rows] if header else rows:
            table.row(cells)
    pdf.ln(1)
    _font(pdf)


def _images(pdf: TaggedPDF, item: Images) -> None:
    """The pictures tiled into one PNG, then their captions in reading order."""
    tiles = Image.fromarray(_tile(item.images, width=int(pdf.epw / _PICTURE_MM)))
    _picture(pdf, tiles, _PICTURE_MM, item.caption, alternative=_in_reading_order(item.alternatives))
    if item.captions:
        _text(pdf, _in_reading_order(item.captions), size=_SMALL_PT, height=4.5)


def _in_reading_order(texts: tuple[str, ...]) -> str:
    """The texts of tiled pictures as one, in the order a reader meets the pictures."""
    return ("Left to right, top to bottom: " if len(texts) > 1 else "") + "; ".join(texts)


def _tile(images: tuple[np.ndarray, ...], *, width: int) -> np.ndarray:
    """Grey uint8 pictures in a grid of equal cells on white, in rows no wider than ``width`` pixels."""
    cell_h, cell_w = (max(image.shape[axis] for image in images) + _TILE_GAP for axis in (0, 1))
    columns = max(1, min(len(images), (width + _TILE_GAP) // cell_w))
    canvas = np.full((-(-len(images) // columns) * cell_h - _TILE_GAP, columns * cell_w - _TILE_GAP), 255, np.uint8)
    for index, image in enumerate(images):
        top, left = index // columns * cell_h, index % columns * cell_w
        canvas[top:top + image.shape[0], left:left + image.shape[1]] = image
    return canvas


def _chart(pdf: TaggedPDF, item: Chart) -> None:
    """The chart as a PNG, or why it could not be drawn."""
    png, error = chart_png(item)
    if png is None:
        logger.warning("a chart of a hand-in could not be drawn: %s", error)
        _heading(pdf, item.caption, style="I", size=_SMALL_PT)
        _text(pdf, f"This chart could not be drawn: {error}", style="I")
    else:
        _picture(pdf, Image.open(io.BytesIO(png)), _CHART_MM, item.caption, alternative=chart_alternative(item))
        if item.summary:
            _text(pdf, item.summary, size=_SMALL_PT, height=4.5)


def _picture(pdf: TaggedPDF, picture: Image.Image, scale: float, caption: str, *, alternative: str) -> None:
    """``picture`` at ``scale`` mm a pixel, shrunk to the page's width and 110 mm, under its caption on one page; a
    figure of the document's structure tree whose text alternative (``/Alt``) is ``alternative``."""
    width = min(pdf.epw, picture.width * scale)
    height = min(_CHART_MAX_MM, picture.height * width / picture.width)
    _heading(pdf, caption, style="I", size=_SMALL_PT, room=height + 6)
    pdf.image(picture, w=picture.width * height / picture.height, h=height, alt_text=alternative)


def _markdown(pdf: TaggedPDF, text: str, *, level: int, size: float = _BODY_PT, indent: float = 0,
              color: tuple = (0, 0, 0)) -> None:
    """CommonMark rendered into the page, ``indent`` mm in: raw HTML and pictures come out as text, links as text; its
    headings tagged from ``/H{level}`` down, as the HTML export nests them.

    The indent is the page's margin while it lasts: fpdf2 loses a <blockquote>'s indent at its first paragraph.
    """
    pdf.set_left_margin(_MARGIN + indent)
    pdf.set_text_color(*color)
    for table, tokens in _blocks(nest_headings(_MARKDOWN.parse(text), level)):
        if table:
            _grid(pdf, *_cells(tokens), size=min(size, _SMALL_PT))
            continue
        _font(pdf, size=size)
        html = _MARKDOWN.renderer.render(_tidy(tokens), _MARKDOWN.options, {})
        pdf.write_html(html, font_family=_SANS, tag_styles=_TAG_STYLES, li_prefix_color=(80, 80, 80))
    pdf.set_text_color(0)
    pdf.set_left_margin(_MARGIN)
    _font(pdf)


def _blocks(tokens: list[Token]) -> list[tuple[bool, list[Token]]]:
    """The tokens in runs: each table outside any list or quote on its own (True), the rest between them."""
    blocks: list[tuple[bool, list[Token]]] = []
    for token in tokens:
        table = token.type == "table_open" and token.level == 0
        if table or not blocks or (blocks[-1][0] and blocks[-1][1][-1].type == "table_close"):
            blocks.append((table, []))
        blocks[-1][1].append(token)
    return blocks


def _cells(tokens: list[Token]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a table's tokens, each cell as plain text."""
    rows: list[list[str]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline":
            rows[-1].append(_plain(token))
    return rows[0], rows[1:]


def _tidy(tokens: list[Token]) -> list[Token]:
    """``tokens`` with table cells (in a list or quote) as plain text, as fpdf2 requires, and numbered lists as
    bulleted: their numbers would be words of the PDF's text that no other export has (HTML draws them with CSS)."""
    in_cell = False
    for token in tokens:
        if token.type in ("th_open", "td_open", "th_close", "td_close"):
            in_cell = token.nesting == 1
            token.attrs = {"align": "left"}
        elif token.type in ("ordered_list_open", "ordered_list_close"):
            token.tag, token.attrs = "ul", {}
        elif in_cell and token.type == "inline":
            token.children = [Token("text", "", 0, content=_plain(token))]
    return tokens


def _plain(inline: Token) -> str:
    """The text an inline token shows, without its formatting."""
    return "".join(" " if child.type.endswith("break") else child.content for child in inline.children or ()
                   if child.type in ("text", "code_inline", "softbreak", "hardbreak"))


def _text(pdf: TaggedPDF, text: str, *, role: str = "/P", style: str = "", size: float = _BODY_PT,
          height: float = _LINE, family: str = _SANS, fill: bool = False) -> None:
    """Plain text (never read as markup) across the page, wrapped between words; one element ``role`` of the
    structure tree."""
    _font(pdf, family=family, style=style, size=size)
    with pdf.content(role):
        pdf.multi_cell(0, height, text, align="L", fill=fill, padding=1.5 * fill, new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
    _font(pdf)


def _font(pdf: TaggedPDF, *, family: str = _SANS, style: str = "", size: float = _BODY_PT) -> None:
    pdf.set_font(family, style=style, size=size)


def _width(pdf: TaggedPDF, text: str, style: str = "", size: float = _BODY_PT) -> float:
    """The width of ``text`` in millimetres, in the sans font (which stays set)."""
    _font(pdf, style=style, size=size)
    return pdf.get_string_width(text)
