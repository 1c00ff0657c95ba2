"""Reading a hand-in file back (HTML, PDF, Markdown .zip or .md, notebook) for the check of its receipt.

:func:`read_handin` finds what the file carries (its receipt) and what it shows (the student's answers, the
headline figures); :func:`verify_handin` checks both against what this server issued
(:func:`mnist_lab.workbook.receipts.check`). Files come from anyone: each is read within size limits, and
nothing in it is executed or fetched.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import json
import logging
import re
import zipfile

from mnist_lab.errors import WorkbookError
from mnist_lab.report.exporters import ANSWER_MARKER, EMPTY, RECEIPT_MARKER, html_words
from mnist_lab.report.notebook import METADATA_KEY
from mnist_lab.report.pdf_receipt import pdf_receipt, pdf_text
from mnist_lab.runs.store import RunStore
from mnist_lab.workbook.receipts import Shown, Verdict, answer_words, check, words_of

logger = logging.getLogger(__name__)

#: The largest hand-in file read, and the largest Markdown file read out of a zip.
FILE_MAX = 60 * 2**20
MARKDOWN_MAX = 20 * 2**20
_HTML_RECEIPT = re.compile(r'<meta name="mnist-lab-receipt" content="([^"]*)">')
_HTML_ANSWER = re.compile(rf"<!-- {ANSWER_MARKER}:(\w+)( {EMPTY})? -->(.*?)<!-- /{ANSWER_MARKER}:\1 -->", re.DOTALL)
_HTML_FIGURE = re.compile(r'<dd data-figure="([^"]*)">([^<]*)</dd>')
_HTML_STUDENT = re.compile(r'<dd data-field="student">([^<]*)</dd>')
_MD_RECEIPT = re.compile(rf"<!-- {RECEIPT_MARKER} ([A-Za-z0-9+/=]+) -->")
_MD_ANSWER = re.compile(rf"<!-- {ANSWER_MARKER}:(\w+)( {EMPTY})? -->\n(.*?)\n<!-- /{ANSWER_MARKER}:\1 -->", re.DOTALL)
_MD_FIGURE = re.compile(r"^- \*\*(.+?):\*\* (.+)$", re.MULTILINE)
_MD_ESCAPE = re.compile(r"\\(.)")  # mnist_lab.text.markdown_text's escapes, undone


def verify_handin(store: RunStore, data: bytes, filename: str = "") -> Verdict:
    """Check a hand-in file against what this server issued.

    Parameters
    ----------
    store : RunStore
        Acting for a teacher (or the server).
    data : bytes
        The file as uploaded.
    filename : str
        Its name, used only to tell a Markdown file from other text.

    Returns
    -------
    Verdict
        Genuine; altered, naming each field that differs; made by another server; or unsigned.

    Raises
    ------
    WorkbookError
        The file is too large, or is none of the hand-in kinds, or is damaged.
    """
    try:
        shown = read_handin(data, filename)
    except WorkbookError as error:
        logger.info("a file of %d bytes checked as a hand-in by %s was refused: %s", len(data), store.user.id, error)
        raise
    return check(store, shown)


def read_handin(data: bytes, filename: str = "") -> Shown:
    """What a hand-in file carries and shows.

    Raises
    ------
    WorkbookError
        The file is over :data:`FILE_MAX`, is not a hand-in kind, or cannot be read.
    """
    if len(data) > FILE_MAX:
        raise WorkbookError(f"this file is {len(data) / 2**20:.0f} MB; a hand-in is at most {FILE_MAX // 2**20} MB")
    if data.startswith(b"%PDF"):
        text = pdf_text(data)
        return Shown(pdf_receipt(data), words=words_of(text))
    if data.startswith(b"PK\x03\x04"):
        return _markdown(_markdown_in_zip(data))
    text = _text(data)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _notebook(text)
    if stripped[:200].lower().startswith(("<!doctype html", "<html")):
        return _html(text)
    if filename.lower().endswith(".md") or _MD_RECEIPT.search(text) or f"<!-- {ANSWER_MARKER}:" in text:
        return _markdown(text)
    raise WorkbookError("this file is not a hand-in of MNIST Lab: upload the HTML, PDF, Markdown .zip or notebook "
                        "(.ipynb) that the Report page made")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WorkbookError("this file is neither a PDF, a zip nor UTF-8 text: it is not a hand-in of MNIST Lab") \
            from error


def _html(text: str) -> Shown:
    found = _HTML_RECEIPT.search(text)
    answers = {match.group(1): [] if match.group(2) else html_words(match.group(3))
               for match in _HTML_ANSWER.finditer(text)}
    figures = {html.unescape(label): html.unescape(value) for label, value in _HTML_FIGURE.findall(text)}
    student = _HTML_STUDENT.search(text)
    return Shown(html.unescape(found.group(1)) if found else None, answers, figures=figures,
                 student=html.unescape(student.group(1)) if student else None)


def _markdown(text: str) -> Shown:
    found = _MD_RECEIPT.search(text)
    document = None
    if found:
        try:
            document = base64.b64decode(found.group(1), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            logger.debug("a Markdown hand-in's receipt is not base64 of UTF-8 text (%s): it is read as unsigned", error)
            document = None
    answers = {match.group(1): [] if match.group(2) else answer_words(match.group(3))
               for match in _MD_ANSWER.finditer(text)}
    figures = {label: _MD_ESCAPE.sub(r"\1", value.strip()) for label, value in _MD_FIGURE.findall(text)}
    return Shown(document, answers, figures=figures, student=figures.pop("Student", None))


def _markdown_in_zip(data: bytes) -> str:
    """The Markdown file of a hand-in's zip, read within :data:`MARKDOWN_MAX` whatever the zip declares."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".md")]
            if len(members) != 1:
                raise WorkbookError(f"this zip holds {len(members)} Markdown files; a hand-in's zip holds one")
            if members[0].file_size > MARKDOWN_MAX:
                raise WorkbookError("the Markdown file in this zip is too large to be a hand-in")
            with archive.open(members[0]) as member:
                content = member.read(MARKDOWN_MAX + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise WorkbookError(f"this zip cannot be read: {error}") from error
    if len(content) > MARKDOWN_MAX:
        raise WorkbookError("the Markdown file in this zip is too large to be a hand-in")
    return _text(content)


def _notebook(text: str) -> Shown:
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        ours = notebook.get("metadata", {}).get(METADATA_KEY, {})
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise WorkbookError("this file is not a readable notebook (.ipynb)") from error
    answers = {}
    for cell in cells if isinstance(cells, list) else []:
        tag = cell.get("metadata", {}).get(METADATA_KEY, {}) if isinstance(cell, dict) else {}
        if isinstance(tag, dict) and isinstance(tag.get("answer"), str):
            source = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else cell.get("source", "")
            answers[tag["answer"]] = [] if tag.get(EMPTY) else answer_words(_without_heading(str(source)))
    document = ours.get("receipt") if isinstance(ours, dict) else None
    return Shown(document if isinstance(document, str) else None, answers)


def _without_heading(source: str) -> str:
    """An answer cell's text without its first line (the ``#### Answer by ...`` heading)."""
    return source.split("\n", 1)[1] if "\n" in source else ""
