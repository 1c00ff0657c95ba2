"""The report's downloads: Markdown (one text, or a zip with its pictures as files), and one self-contained
HTML document rendered from a Jinja2 template, with a print style sheet for A4.

The HTML embeds everything: pictures as PNG data URIs, charts as SVG data URIs rendered offline by
vl-convert, the style sheet inline; it has no script and no external file. Answers are CommonMark
rendered by markdown-it-py with raw HTML disabled, so text from users (run names) stays text.
The Markdown gives every picture and chart as a PNG: inline as a data URI (:func:`to_markdown`), or as a
file next to the text (:func:`to_markdown_zip`), which GitHub also shows; it drops data URIs.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import itertools
import logging
import re
import zipfile
from collections.abc import Callable
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup
from PIL import Image

from mnist_lab.report.evidence import Answer, Chart, Code, Evidence, Figures, Images, Table
from mnist_lab.report.handin import APP_HEADING, HandIn
from mnist_lab.report.questions import PARTS
from mnist_lab.text import markdown_text

logger = logging.getLogger(__name__)

# Raw HTML stays off: answers quote run names, which are user text. Images stay off too: one with an
# address would make the document fetch a file; the report's own pictures are evidence, embedded.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
_TEMPLATE = "report.html.j2"
_KINDS = {"figures": Figures, "table": Table, "images": Images, "chart": Chart, "code": Code}
#: The HTML comment around a student's answer in the HTML and Markdown hand-ins (``<!-- mnist-lab-answer:a1 -->``),
#: and the one that carries the Markdown hand-in's receipt: a check reads them back.
ANSWER_MARKER, RECEIPT_MARKER = "mnist-lab-answer", "mnist-lab-receipt"
#: What the opening marker of a question the student left empty adds (``<!-- mnist-lab-answer:b2 empty -->``).
EMPTY = "empty"
_TAG = re.compile(r"<[^>]*>")
_INLINE_TAG = re.compile(r"</?(?:strong|em|code|a)(?:\s[^>]*)?>")
_WORD = re.compile(r"\w+")
#: Folder of the pictures inside the zip of :func:`to_markdown_zip`, next to the Markdown file.
IMAGE_FOLDER = "images"
#: Pixels per chart pixel in the Markdown's chart PNGs: sharp on high-density screens and in print.
CHART_PNG_SCALE = 2


def _column_header(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """A header cell that says it heads its column (WCAG 1.3.1): a Markdown table's header is always its top row."""
    tokens[idx].attrSet("scope", "col")
    return self.renderToken(tokens, idx, options, env)


def _focusable_table(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """A table that takes the keyboard's focus: on a narrow screen it scrolls sideways, by arrow keys too (WCAG 2.1.1)."""
    tokens[idx].attrSet("tabindex", "0")
    return self.renderToken(tokens, idx, options, env)


_MARKDOWN.add_render_rule("th_open", _column_header)
_MARKDOWN.add_render_rule("table_open", _focusable_table)

#: Where a Markdown picture lives: takes the PNG and a file stem (``a1-3``), returns the link to write.
ImageLink = Callable[[bytes, str], str]


def to_markdown(handin: HandIn) -> str:
    """The hand-in as one Markdown text: question numbers as headings, pictures and charts inline.

    Parameters
    ----------
    handin : HandIn
        The student's hand-in (or a :func:`mnist_lab.report.handin.reading_copy`).

    Returns
    -------
    str
        CommonMark with pipe tables; pictures and charts are PNG data URIs, so the text is complete on its
        own where data URIs are shown (VS Code, Jupyter, most editors; not GitHub: use
        :func:`to_markdown_zip` there). The receipt, when there is one, is an HTML comment at the end.
    """
    return _markdown(handin, lambda png, stem: _data_uri(png, "image/png"))


def to_markdown_zip(handin: HandIn, *, name: str = "report") -> bytes:
    """The hand-in as a zip of ``name/name.md`` and its pictures and charts as PNG files in ``name/images/``.

    Parameters
    ----------
    handin : HandIn
    name : str
        The folder and file name inside the zip (a safe file name, such as the download's stem).

    Returns
    -------
    bytes
        The zip archive. The Markdown links its pictures by relative path (``images/a1-1.png``), which
        GitHub, VS Code, Jupyter and pandoc all show once the zip is unpacked.
    """
    pictures: dict[str, bytes] = {}

    def link(png: bytes, stem: str) -> str:
        path = f"{IMAGE_FOLDER}/{stem}.png"
        pictures[path] = png
        return path

    text = _markdown(handin, link)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}/{name}.md", text, compress_type=zipfile.ZIP_DEFLATED)
        for path, png in pictures.items():
            archive.writestr(f"{name}/{path}", png)  # stored: PNG is compressed already
    return buffer.getvalue()


def to_html(handin: HandIn) -> str:
    """The hand-in as one self-contained HTML document: no script, no external file, pictures and charts inline.

    Parameters
    ----------
    handin : HandIn

    Returns
    -------
    str
        The document rendered from ``templates/report.html.j2``, every text escaped: a title page (student,
        date, run, headline figures, receipt code, reproducibility card), then under each question the student's
        answer, the evidence and MNIST Lab's explanation where the student revealed it. Charts are rendered to
        SVG with vl-convert (offline) and embedded as ``<img>`` data URIs; the receipt rides in a ``<meta>``
        element. Its print style sheet lays it out on A4: no chart cut by a page break or wider than the page,
        part B on a new page.
    """
    return _environment().get_template(_TEMPLATE).render(handin=handin, report=handin.report, parts=PARTS,
                                                         answer_marker=ANSWER_MARKER, app_heading=APP_HEADING)


def student_markdown(text: str) -> str:
    """A student's Markdown made safe to show anywhere: raw HTML becomes text and pictures become links.

    Every export and the pages show a student's answer through this, so a reader never fetches a picture from
    another host, and the words of the answer are the same in every format.
    """
    return text.replace("<", "&lt;").replace("![", "[")


def markdown_words(text: str) -> list[str]:
    """The words a reader sees in Markdown ``text`` once rendered (a student's answer as any export shows it)."""
    return html_words(_MARKDOWN.render(student_markdown(text)))


def html_words(fragment: str) -> list[str]:
    """The words a reader sees in an HTML fragment: un<strong>believ</strong>able is one word, two paragraphs are
    two."""
    return _WORD.findall(html.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", fragment))))


@functools.cache
def _environment() -> jinja2.Environment:
    """The template environment, with the filters the report template uses."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("mnist_lab.report"),
        autoescape=jinja2.select_autoescape(("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(markdown=_markdown_html, student=_student_html, png_data_uri=_png_data_uri,
                               chart_image=_chart_image, cell=cell_text, kind=_kind,
                               chart_alternative=chart_alternative)
    environment.globals["zip"] = zip
    return environment


def _kind(item: Evidence) -> str:
    """The name of the evidence's kind (``figures``, ``table``, ``images``, ``chart``, ``code``)."""
    return next(name for name, kind in _KINDS.items() if isinstance(item, kind))


def _markdown_html(text: str, level: int = 2) -> Markup:
    """CommonMark as HTML, safe to insert: raw HTML in ``text`` comes out escaped; its headings start at ``<h{level}>``
    (:func:`nest_headings`)."""
    tokens = nest_headings(_MARKDOWN.parse(text), level)
    return Markup(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}).rstrip("\n"))


def _student_html(text: str, level: int) -> Markup:
    """A student's Markdown as HTML (:func:`student_markdown`): no raw HTML, no picture from elsewhere; its headings
    start at ``<h{level}>``."""
    return _markdown_html(student_markdown(text), level)


def nest_headings(tokens: list[Token], level: int) -> list[Token]:
    """Markdown tokens whose headings fit under the document's heading of ``level - 1``: the fragment's highest
    heading becomes ``<h{level}>``, and no heading is more than one level below the one before it, none below
    ``<h6>``.

    A screen reader's list of headings is the document's outline (WCAG 1.3.1): a student's ``# Heading`` under the
    ``<h4>`` of their answer would otherwise jump out of the question it belongs to.
    """
    headings = [token for token in tokens if token.type in ("heading_open", "heading_close")]
    top = min((int(token.tag[1]) for token in headings), default=level)
    previous = level - 1
    for token in headings:
        if token.type == "heading_open":
            previous = min(6, previous + 1, int(token.tag[1]) - top + level)
        token.tag = f"h{previous}"
    return tokens


def chart_alternative(item: Chart) -> str:
    """A chart's text alternative in every export: its caption, then the sentence of what it shows for this run."""
    return f"{item.caption}. {item.summary}" if item.summary else item.caption


def png_file(image: np.ndarray) -> bytes:
    """A uint8 grey image as PNG bytes."""
    return _encode(Image.fromarray(np.asarray(image, dtype=np.uint8)))


def _encode(image: Image.Image) -> bytes:
    """``image`` as PNG bytes, as small as PNG allows."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _palette_png(png: bytes) -> bytes:
    """A chart's PNG on white in 256 colours: it has few, and its anti-aliased RGBA PNG is ten times larger."""
    chart = Image.open(io.BytesIO(png)).convert("RGBA")
    on_white = Image.alpha_composite(Image.new("RGBA", chart.size, "white"), chart).convert("RGB")
    return _encode(on_white.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))


def _data_uri(data: bytes, mime: str) -> str:
    """``data`` as a base64 data URI of type ``mime``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _png_data_uri(image: np.ndarray) -> str:
    """A uint8 grey image as a PNG data URI."""
    return _data_uri(png_file(image), "image/png")


def _chart_image(item: Chart) -> tuple[str, str]:
    """The chart as an SVG data URI and "", or "" and why it cannot be rendered."""
    import vl_convert

    svg, error = _render(item, vl_convert.vegalite_to_svg)
    if not svg:
        logger.warning("a chart of an HTML hand-in could not be drawn: %s", error)
    return (_data_uri(svg.encode("utf-8"), "image/svg+xml") if svg else ""), error


def chart_png(item: Chart) -> tuple[bytes | None, str]:
    """The chart as PNG bytes and "", or None and why it cannot be rendered."""
    import vl_convert

    png, error = _render(item, functools.partial(vl_convert.vegalite_to_png, scale=CHART_PNG_SCALE))
    return (_palette_png(png) if png else None), error


def _render(item: Chart, convert: Callable[[str], Any]) -> tuple[Any, str]:
    """``convert`` applied to the chart's Vega-Lite JSON, and "", or None and why it failed."""
    try:
        return convert(item.chart.to_json()), ""
    except (ValueError, RuntimeError) as error:
        return None, str(error)


def _markdown(handin: HandIn, link: ImageLink) -> str:
    """The hand-in in Markdown, each picture written where ``link`` says."""
    report = handin.report
    lines = [f"# {markdown_text(handin.title)}", ""]
    if not handin.is_reading_copy:
        lines += [_title_page_markdown(handin), ""]
    if handin.card:
        lines += [handin.card, ""]
    lines += [report.intro, ""]
    part = ""
    for answer in report.answers:
        if answer.question.id[0] != part:
            part = answer.question.id[0]
            lines += [f"## {PARTS[part]}", ""]
        lines += _answer_markdown(handin, answer, link)
    if handin.receipt is not None:
        encoded = base64.b64encode(handin.receipt.document.encode("utf-8")).decode("ascii")
        lines += [f"<!-- {RECEIPT_MARKER} {encoded} -->", ""]
    return "\n".join(lines)


def _title_page_markdown(handin: HandIn) -> str:
    """The facts of the title page as a list: student, date, run, headline figures, receipt."""
    receipt = (f"**{handin.receipt.code}** (a teacher checks it with `mnist-lab verify FILE` or the Class page)"
               if handin.receipt else "none: a preview, not a hand-in")
    facts = {"Student": markdown_text(handin.student), "Date": handin.date, "Run": markdown_text(handin.run_label),
             **{label: markdown_text(value) for label, value in handin.figures.items()}, "Receipt": receipt}
    return "\n".join(f"- **{label}:** {value}" for label, value in facts.items())


def _answer_markdown(handin: HandIn, answer: Answer, link: ImageLink) -> list[str]:
    """The lines of one question; its pictures are named after the question (``a3-1``, ``a3-2`` ...)."""
    q = answer.question
    stems = (f"{q.id}-{number}" for number in itertools.count(1))

    def embed(png: bytes) -> str:
        return link(png, next(stems))

    lines = [f"### {q.number}. {q.title}", "", f"> {q.text}", ""]
    if not handin.is_reading_copy:
        own = handin.answer_of(answer)
        state = "" if own else f" {EMPTY}"
        lines += [f"#### {markdown_text(handin.student_heading())}", "", f"<!-- {ANSWER_MARKER}:{q.id}{state} -->",
                  student_markdown(own) if own else f"*{markdown_text(handin.no_answer())}*",
                  f"<!-- /{ANSWER_MARKER}:{q.id} -->", ""]
        lines += ["#### Evidence from the run", ""] if answer.evidence else []
    for item in answer.evidence:
        lines += [_evidence_markdown(item, embed), ""]
    if answer.todo:
        lines += [f"*{answer.todo}*", ""]
    explanation = handin.explanation_of(answer)
    if explanation is not None and not handin.is_reading_copy:
        lines += [f"#### {APP_HEADING}", "", f"*{explanation.note}*", ""]
    if explanation is not None:
        lines += [answer.text, ""]
    return lines


def _evidence_markdown(item: Evidence, embed: Callable[[bytes], str]) -> str:
    """One piece of evidence in Markdown; ``embed`` turns a PNG into the link to write for it."""
    caption = f"*{markdown_text(item.caption)}*\n\n" if item.caption else ""
    if isinstance(item, Figures):
        return caption + "\n".join(f"- **{label}:** {value}" for label, value in item.values.items())
    if isinstance(item, Table):
        return caption + _markdown_table(item.frame)
    if isinstance(item, Images):
        return caption + " ".join(f"![{markdown_text(text)}]({embed(png_file(image))})"
                                  for image, text in zip(item.images, item.alternatives))
    if isinstance(item, Chart):
        png, error = chart_png(item)
        if not png:
            logger.warning("a chart of a Markdown hand-in could not be drawn: %s", error)
            return f"{caption}*This chart could not be drawn: {markdown_text(error)}*"
        summary = f"\n\n{markdown_text(item.summary)}" if item.summary else ""
        return f"{caption}![{markdown_text(chart_alternative(item))}]({embed(png)}){summary}"
    fence = "````" if "```" in item.code else "```"
    return f"{caption}{fence}\n{item.code}\n{fence}"


def cell_text(value: Any) -> str:
    """A table cell as text: floats to 4 decimals, missing values empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; cells are escaped so that they cannot break the table or format text."""
    header = [markdown_text(column) for column in frame.columns]
    rows = [[markdown_text(cell_text(value)) for value in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])

