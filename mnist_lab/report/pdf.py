"""A student's hand-in as an A4 PDF, written with fpdf2 (pure Python: no browser on the server).

The title page names the student, the date and the run, lists the headline figures and the receipt, then the
run's reproducibility card. Each question follows with the student's own answer, the run's evidence and, only
where the student revealed it, MNIST Lab's explanation. Every question is an entry of the PDF's outline.

Text is set in the DejaVu fonts shipped in ``fonts/`` (any Latin, Greek or Cyrillic letter, arrows, maths signs);
a character none of them has (CJK) is drawn as DejaVu's empty box and logged by fpdf2, never an error. Markdown is
rendered by markdown-it-py with raw HTML and images off, so a student's ``<script>`` or picture address stays
text, and links print as their text. Nothing runs between pages (no running header or footer) and nothing is
hyphenated, so pypdf reads each answer's words back in order: a teacher's check compares them with the answer.
The signed receipt travels in the document information under :data:`RECEIPT_KEY`, added with pypdf.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pypdf
from fpdf import FPDF, FontFace, TextStyle
from fpdf.enums import PageMode, TableCellFillMode, XPos, YPos
from markdown_it import MarkdownIt
from markdown_it.token import Token
from PIL import Image

from mnist_lab.errors import WorkbookError
from mnist_lab.report.evidence import Answer, Chart, Evidence, Figures, Images, Table
from mnist_lab.report.exporters import _cell, _chart_png
from mnist_lab.report.handin import APP_HEADING, HandIn
from mnist_lab.report.questions import PARTS

logger = logging.getLogger(__name__)

#: The document-information key that carries the receipt's JSON document.
RECEIPT_KEY = "/MNISTLabReceipt"
#: Where the embedded fonts live, next to this module (shipped as package data).
FONT_FOLDER = Path(__file__).with_name("fonts")
#: What the title page says under the receipt's code.
CHECK_SENTENCE = "A teacher checks it with `mnist-lab verify FILE` or the Class page's *Check a hand-in*."
#: What the title page says in place of a receipt.
PREVIEW_SENTENCE = "Preview: not signed, not a hand-in."
EVIDENCE_HEADING = "Evidence from the run"

_SANS, _MONO = "dejavusans", "dejavumono"
# No bold italic file is shipped: bold italic text is set in bold (fpdf2 cannot slant a font itself).
_FONT_FILES = {
    (_SANS, ""): "DejaVuSans.ttf", (_SANS, "B"): "DejaVuSans-Bold.ttf", (_SANS, "I"): "DejaVuSans-Oblique.ttf",
    (_SANS, "BI"): "DejaVuSans-Bold.ttf",
    **{(_MONO, style): "DejaVuSansMono.ttf" for style in ("", "B", "I", "BI")},
}
_MARGIN = 15.0
_BODY_PT, _SMALL_PT, _CODE_PT = 10.0, 8.5, 8.0
_LINE = 5.0
# Pictures: millimetres per pixel of a tiled MNIST picture (28 px = 5.6 mm), and the widest tiled row in pixels.
_PICTURE_MM = 0.2
_TILE_GAP = 8
# Charts are rendered at 2 pixels per CSS pixel of 1/96 inch.
_CHART_MM = 25.4 / 96 / 2
_CHART_MAX_MM = 110.0
_MIN_TABLE_PT = 4.5
_TAG_STYLES = {
    "code": FontFace(family=_MONO),
    "pre": TextStyle(font_family=_MONO, font_size_pt=_CODE_PT, t_margin=2, b_margin=2),
    "li": TextStyle(l_margin=5, t_margin=1),
    "ul": TextStyle(t_margin=1), "ol": TextStyle(t_margin=1),
}


def _nothing(self, tokens, idx, options, env) -> str:
    """A link prints as its text: its address is neither shown nor made clickable."""
    return ""


def _heading(self, tokens, idx, options, env) -> str:
    """A heading of the Markdown prints as a bold line (fpdf2 would make every <h1> an outline entry)."""
    return "<p><b>" if tokens[idx].nesting == 1 else "</b></p>\n"


def _cell_open(self, tokens, idx, options, env) -> str:
    """A table cell, left-aligned unless the Markdown asks otherwise (fpdf2 justifies by default)."""
    token = tokens[idx]
    style = str(token.attrGet("style") or "")
    align = style.removeprefix("text-align:") if style.startswith("text-align:") else "left"
    return f'<{token.tag} align="{align}">'


# Raw HTML and images stay off, as in the HTML export: the student's text is untrusted.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
for _rule, _render in (("link_open", _nothing), ("link_close", _nothing), ("heading_open", _heading),
                       ("heading_close", _heading), ("th_open", _cell_open), ("td_open", _cell_open)):
    _MARKDOWN.add_render_rule(_rule, _render)


def to_pdf(handin: HandIn) -> bytes:
    """Write ``handin`` as an A4 PDF.

    Parameters
    ----------
    handin : HandIn

    Returns
    -------
    bytes
        The PDF: a title page (title, student, date, run, headline figures, receipt, reproducibility card), then
        every question with the student's answer, the evidence and the revealed explanations. Its outline lists
        the card, the parts and every question; its metadata gives the title, the student as author, the run as
        subject, the language (en) and, for a hand-in, the receipt's document under :data:`RECEIPT_KEY`.

    See Also
    --------
    pdf_receipt, pdf_text : read a PDF made here back.
    """
    pdf = _document(handin)
    _title_page(pdf, handin)
    part = ""
    for answer in handin.report.answers:
        if answer.question.id[0] != part:
            _part_heading(pdf, answer.question.id[0], new_page=bool(part))
            part = answer.question.id[0]
        _answer(pdf, handin, answer)
    data = bytes(pdf.output())
    return _with_receipt(data, handin.receipt.document) if handin.receipt else data


def pdf_receipt(data: bytes) -> str | None:
    """The receipt document a PDF carries (:data:`RECEIPT_KEY` of its document information).

    Parameters
    ----------
    data : bytes
        A PDF, as :func:`to_pdf` writes it.

    Returns
    -------
    str or None
        The JSON document exactly as written; None when the PDF carries none.

    Raises
    ------
    WorkbookError
        ``data`` is not a readable PDF.
    """
    reader = _reader(data)
    try:
        value = (reader.metadata or {}).get(RECEIPT_KEY)
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError) as error:
        raise _unreadable(error) from error
    return None if value is None else str(value)


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, as pypdf extracts it.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    str
        The text of each page, pages joined with a newline.

    Raises
    ------
    WorkbookError
        ``data`` is not a readable PDF.
    """
    reader = _reader(data)
    try:
        return "\n".join(page.extract_text() for page in reader.pages)
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise _unreadable(error) from error


def _reader(data: bytes) -> pypdf.PdfReader:
    """``data`` opened by pypdf; WorkbookError when it is not a PDF or too damaged to open."""
    if not isinstance(data, (bytes, bytearray)):
        raise WorkbookError(f"this file is not a readable PDF: expected bytes, got {type(data).__name__}")
    try:
        return pypdf.PdfReader(io.BytesIO(data))
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, IndexError) as error:
        raise _unreadable(error) from error


def _unreadable(error: Exception) -> WorkbookError:
    logger.info("a file that should be a PDF could not be read: %s", error)
    return WorkbookError(f"this file is not a readable PDF: {error}")


def _with_receipt(data: bytes, document: str) -> bytes:
    """The PDF ``data`` with ``document`` added to its document information (fpdf2 writes only standard keys)."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    writer.add_metadata({RECEIPT_KEY: document})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _document(handin: HandIn) -> FPDF:
    """An empty A4 document with the fonts and the metadata of ``handin``."""
    pdf = FPDF(format="A4")
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
    pdf.page_mode = PageMode.USE_OUTLINES
    pdf.add_page()
    return pdf


def _title_page(pdf: FPDF, handin: HandIn) -> None:
    """The title, who and what, the headline figures, the receipt, then the reproducibility card."""
    _text(pdf, handin.title, style="B", size=18, height=9)
    pdf.ln(2)
    facts = {"Student": handin.student, "Date": handin.date, "Run": handin.run_label}
    _two_columns(pdf, facts, bold_labels=True)
    if handin.figures:
        pdf.ln(2)
        _two_columns(pdf, handin.figures)
    pdf.ln(3)
    if handin.receipt:
        _text(pdf, f"Receipt {handin.receipt.code}", style="B", size=12, height=6)
        _markdown(pdf, CHECK_SENTENCE)
    else:
        _text(pdf, PREVIEW_SENTENCE, style="B", size=12, height=6)
    if handin.card:
        pdf.ln(2)
        pdf.start_section("Reproducibility card", level=0)
        _markdown(pdf, handin.card, size=_SMALL_PT)


def _two_columns(pdf: FPDF, rows: dict[str, str], *, bold_labels: bool = False) -> None:
    """Label and value side by side, one pair a line; long values wrap in their column."""
    label_width = min(60.0, max(_width(pdf, f"{label}:", "B" if bold_labels else "") for label in rows) + 4)
    for label, value in rows.items():
        _font(pdf, style="B" if bold_labels else "")
        pdf.cell(label_width, _LINE, f"{label}:")
        _font(pdf)
        pdf.multi_cell(0, _LINE, str(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _part_heading(pdf: FPDF, part: str, *, new_page: bool) -> None:
    if new_page:
        pdf.add_page()
    else:
        _keep_room(pdf, 40)
    pdf.ln(4)
    pdf.start_section(PARTS[part], level=0)
    _text(pdf, PARTS[part], style="B", size=15, height=8)


def _answer(pdf: FPDF, handin: HandIn, answer: Answer) -> None:
    """One question: heading, question, the student's answer, the evidence, the revealed explanation."""
    q = answer.question
    _keep_room(pdf, 40)
    pdf.ln(3)
    pdf.start_section(f"{q.number}. {q.title}", level=1)
    _text(pdf, f"{q.number}. {q.title}", style="B", size=12.5, height=7)
    _question(pdf, q.text)
    _subheading(pdf, handin.student_heading())
    written = handin.answer_of(answer)
    if written.strip():
        _markdown(pdf, written)
    else:
        _text(pdf, handin.no_answer(), style="I")
    if answer.evidence or answer.todo:
        _subheading(pdf, EVIDENCE_HEADING)
    for item in answer.evidence:
        _evidence(pdf, item)
    if answer.todo:
        _markdown(pdf, answer.todo, size=_SMALL_PT)
    explanation = handin.explanation_of(answer)
    if explanation is not None:
        _subheading(pdf, APP_HEADING)
        _text(pdf, explanation.note, style="I", size=_SMALL_PT)
        _markdown(pdf, answer.text)


def _question(pdf: FPDF, text: str) -> None:
    """The question's text, indented and in blue (fpdf2 loses a <blockquote>'s indent at its first paragraph)."""
    pdf.set_left_margin(_MARGIN + 5)
    pdf.set_text_color(43, 74, 122)
    _markdown(pdf, text)
    pdf.set_text_color(0)
    pdf.set_left_margin(_MARGIN)


def _subheading(pdf: FPDF, text: str) -> None:
    _keep_room(pdf, 20)
    pdf.ln(2)
    _text(pdf, text, style="B", size=11, height=6)


def _evidence(pdf: FPDF, item: Evidence) -> None:
    """One piece of evidence, its caption in italics above it."""
    pdf.ln(1.5)
    if item.caption:
        _keep_room(pdf, 15)
        _text(pdf, item.caption, style="I", size=_SMALL_PT, height=4.5)
    if isinstance(item, Figures):
        _figures(pdf, item)
    elif isinstance(item, Table):
        _table(pdf, item)
    elif isinstance(item, Images):
        _images(pdf, item)
    elif isinstance(item, Chart):
        _chart(pdf, item)
    else:
        _code(pdf, item.code)


def _figures(pdf: FPDF, item: Figures) -> None:
    for label, value in item.values.items():
        _font(pdf, style="B")
        pdf.write(_LINE, f"{label}: ")
        _font(pdf)
        pdf.write(_LINE, str(value))
        pdf.ln(_LINE)


def _table(pdf: FPDF, item: Table) -> None:
    rows = [[_cell(value) for value in row] for row in item.frame.itertuples(index=False)]
    _grid(pdf, [str(column) for column in item.frame.columns], rows)


def _grid(pdf: FPDF, header: list[str], rows: list[list[str]], *, size: float = _SMALL_PT) -> None:
    """A table as wide as its text, its font shrunk to fit the page's width; a long one breaks between rows.

    The header (bold, repeated on each page) is left out when all its cells are empty.
    """
    header = header if any(text.strip() for text in header) else []
    widths = [max(_width(pdf, text, "B", size) for text in column) + 3 for column in zip(*([header] if header else []), *rows)]
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


def _images(pdf: FPDF, item: Images) -> None:
    """The pictures tiled into one PNG, then their captions in reading order."""
    tiled = _tile(item.images, width=int(pdf.epw / _PICTURE_MM))
    pdf.image(Image.fromarray(tiled), w=tiled.shape[1] * _PICTURE_MM, h=tiled.shape[0] * _PICTURE_MM)
    if item.captions:
        lead = "Left to right, top to bottom: " if len(item.captions) > 1 else ""
        _text(pdf, lead + "; ".join(item.captions), size=_SMALL_PT, height=4.5)


def _tile(images: tuple[np.ndarray, ...], *, width: int) -> np.ndarray:
    """Grey uint8 pictures side by side on white, in top-aligned rows no wider than ``width`` pixels."""
    rows: list[list[np.ndarray]] = [[]]
    for image in (np.asarray(image, dtype=np.uint8) for image in images):
        used = sum(placed.shape[1] + _TILE_GAP for placed in rows[-1])
        if rows[-1] and used + image.shape[1] > width:
            rows.append([])
        rows[-1].append(image)
    height = sum(max(image.shape[0] for image in row) for row in rows) + _TILE_GAP * (len(rows) - 1)
    canvas = np.full((height, max(sum(i.shape[1] for i in row) + _TILE_GAP * (len(row) - 1) for row in rows)),
                     255, dtype=np.uint8)
    top = 0
    for row in rows:
        left = 0
        for image in row:
            canvas[top:top + image.shape[0], left:left + image.shape[1]] = image
            left += image.shape[1] + _TILE_GAP
        top += max(image.shape[0] for image in row) + _TILE_GAP
    return canvas


def _chart(pdf: FPDF, item: Chart) -> None:
    """The chart as a PNG no wider than the page, or why it could not be drawn."""
    png, error = _chart_png(item)
    if png is None:
        logger.warning("a chart of the hand-in could not be drawn: %s", error)
        _text(pdf, f"This chart could not be drawn: {error}", style="I")
        return
    picture = Image.open(io.BytesIO(png))
    width = min(pdf.epw, picture.width * _CHART_MM)
    height = picture.height * width / picture.width
    if height > _CHART_MAX_MM:
        width, height = width * _CHART_MAX_MM / height, _CHART_MAX_MM
    pdf.image(picture, w=width, h=height)


def _code(pdf: FPDF, code: str) -> None:
    _font(pdf, family=_MONO, size=_CODE_PT)
    pdf.set_fill_color(246, 246, 246)
    pdf.multi_cell(0, 3.8, code, align="L", fill=True, padding=1.5, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf)


def _markdown(pdf: FPDF, text: str, *, size: float = _BODY_PT) -> None:
    """CommonMark rendered into the page: raw HTML and pictures come out as text, links as their text."""
    for table, tokens in _blocks(_MARKDOWN.parse(text)):
        if table:
            _grid(pdf, *_cells(tokens), size=min(size, _SMALL_PT))
            continue
        _font(pdf, size=size)
        html = _MARKDOWN.renderer.render(_plain_cells(tokens), _MARKDOWN.options, {})
        pdf.write_html(html, font_family=_SANS, tag_styles=_TAG_STYLES, li_prefix_color=(80, 80, 80))
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


def _plain_cells(tokens: list[Token]) -> list[Token]:
    """``tokens`` with the text of every table cell made plain: fpdf2 refuses tags inside a cell."""
    in_cell = False
    for token in tokens:
        if token.type in ("th_open", "td_open", "th_close", "td_close"):
            in_cell = token.nesting == 1
        elif in_cell and token.type == "inline":
            token.children = [Token("text", "", 0, content=_plain(token))]
    return tokens


def _plain(inline: Token) -> str:
    """The text an inline token shows, without its formatting."""
    return "".join(" " if child.type.endswith("break") else child.content for child in inline.children or ()
                   if child.type in ("text", "code_inline", "softbreak", "hardbreak"))


def _text(pdf: FPDF, text: str, *, style: str = "", size: float = _BODY_PT, height: float = _LINE) -> None:
    """Plain text (never read as markup) across the page, wrapped between words."""
    _font(pdf, style=style, size=size)
    pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf)


def _font(pdf: FPDF, *, family: str = _SANS, style: str = "", size: float = _BODY_PT) -> None:
    pdf.set_font(family, style=style, size=size)


def _width(pdf: FPDF, text: str, style: str = "", size: float = _BODY_PT) -> float:
    """The width of ``text`` in millimetres, in the sans font."""
    _font(pdf, style=style, size=size)
    width = pdf.get_string_width(text)
    _font(pdf)
    return width


def _keep_room(pdf: FPDF, height: float) -> None:
    """Start a new page unless ``height`` millimetres are left: a heading never ends a page."""
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
