"""The report's downloads: Markdown, and one self-contained HTML document rendered from a Jinja2 template.

The HTML embeds everything: pictures as PNG data URIs, charts as SVG data URIs rendered offline by
vl-convert, the style sheet inline; it has no script and no external file. Answers are CommonMark
rendered by markdown-it-py with raw HTML disabled, so text from users (run names) stays text.
"""

from __future__ import annotations

import base64
import functools
import io
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markdown_it import MarkdownIt
from markupsafe import Markup
from PIL import Image

from mnist_lab.report.evidence import Chart, Code, Evidence, Figures, Images, Report, Table
from mnist_lab.report.questions import PARTS
from mnist_lab.text import markdown_text

# Raw HTML stays off: answers quote run names, which are user text. Images stay off too: one with an
# address would make the document fetch a file; the report's own pictures are evidence, embedded.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
_TEMPLATE = "report.html.j2"


def to_markdown(report: Report) -> str:
    """The report as Markdown: the question numbers as headings, figures and tables as text, pictures inline.

    Parameters
    ----------
    report : Report

    Returns
    -------
    str
        CommonMark with pipe tables; pictures are embedded as PNG data URIs, charts are only named
        (the HTML export has them).
    """
    lines = [f"# {markdown_text(report.title)}", "", report.intro, ""]
    part = ""
    for answer in report.answers:
        q = answer.question
        if q.id[0] != part:
            part = q.id[0]
            lines += [f"## {PARTS[part]}", ""]
        lines += [f"### {q.number}. {q.title}", "", f"> {q.text}", "", answer.text, ""]
        for item in answer.evidence:
            lines += [_evidence_markdown(item), ""]
        if answer.todo:
            lines += [f"*{answer.todo}*", ""]
    return "\n".join(lines)


def to_html(report: Report) -> str:
    """The report as one self-contained HTML document: no script, no external file, pictures and charts inline.

    Parameters
    ----------
    report : Report

    Returns
    -------
    str
        The document rendered from ``templates/report.html.j2``, every text escaped; charts are
        rendered to SVG with vl-convert (offline) and embedded as ``<img>`` data URIs.
    """
    return _environment().get_template(_TEMPLATE).render(report=report, parts=PARTS)


@functools.cache
def _environment() -> jinja2.Environment:
    """The template environment, with the filters and tests the report template uses."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("mnist_lab.report"),
        autoescape=jinja2.select_autoescape(("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(markdown=_markdown_html, png_data_uri=_png_data_uri, chart_image=_chart_image,
                               cell=_cell)
    environment.globals["zip"] = zip
    kinds = {"figures": Figures, "table": Table, "images": Images, "chart": Chart, "code": Code}
    environment.tests.update({name: functools.partial(_is, kind=kind) for name, kind in kinds.items()})
    return environment


def _is(item: Any, kind: type) -> bool:
    """Whether ``item`` is evidence of ``kind`` (the template's ``is figures``, ``is table`` ...)."""
    return isinstance(item, kind)


def _markdown_html(text: str) -> Markup:
    """CommonMark as HTML, safe to insert: raw HTML in ``text`` comes out escaped."""
    return Markup(_MARKDOWN.render(text).rstrip("\n"))


def _png_data_uri(image: np.ndarray) -> str:
    """A uint8 grey image as a PNG data URI."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _chart_image(item: Chart) -> tuple[str, str]:
    """The chart as an SVG data URI and "", or "" and why it cannot be rendered."""
    import vl_convert

    try:
        svg = vl_convert.vegalite_to_svg(item.chart.to_json())
    except (ValueError, RuntimeError) as error:
        return "", str(error)
    return f"data:image/svg+xml;base64,{base64.b64encode(svg.encode('utf-8')).decode('ascii')}", ""


def _evidence_markdown(item: Evidence) -> str:
    """One piece of evidence in Markdown."""
    caption = f"*{markdown_text(item.caption)}*\n\n" if item.caption else ""
    if isinstance(item, Figures):
        return caption + "\n".join(f"- **{label}:** {value}" for label, value in item.values.items())
    if isinstance(item, Table):
        return caption + _markdown_table(item.frame)
    if isinstance(item, Images):
        return caption + " ".join(f"![{markdown_text(text)}]({_png_data_uri(image)})"
                                  for image, text in zip(item.images, item.captions))
    if isinstance(item, Chart):
        return f"*Chart: {markdown_text(item.caption)} (in the HTML report).*"
    fence = "````" if "```" in item.code else "```"
    return f"{caption}{fence}\n{item.code}\n{fence}"


def _cell(value: Any) -> str:
    """A table cell as text: floats to 4 decimals, missing values empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; cells are escaped so that they cannot break the table or format text."""
    header = [markdown_text(column) for column in frame.columns]
    rows = [[markdown_text(_cell(value)) for value in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])

