"""The receipt a hand-in PDF carries in its document information, and reading a PDF back: its receipt, its text.

:mod:`mnist_lab.report.pdf` writes the hand-in; a teacher's check (:mod:`mnist_lab.workbook.verify`) reads it here.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import pypdf

from mnist_lab.errors import WorkbookError

logger = logging.getLogger(__name__)

#: The document-information key that carries the receipt's JSON document.
RECEIPT_KEY = "/MNISTLabReceipt"
# What pypdf raises on a file that is not a PDF or is damaged (beyond its own errors, those of a broken structure).
_DAMAGED = (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)


def pdf_receipt(data: bytes) -> str | None:
    """The receipt document a PDF carries (:data:`RECEIPT_KEY` of its document information).

    Parameters
    ----------
    data : bytes
        A PDF, as :func:`mnist_lab.report.pdf.to_pdf` writes it.

    Returns
    -------
    str or None
        The JSON document exactly as written; None when the PDF carries none.

    Raises
    ------
    WorkbookError
        ``data`` is not a readable PDF.
    """
    value = _read(data, lambda reader: (reader.metadata or {}).get(RECEIPT_KEY))
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
    return _read(data, lambda reader: "\n".join(page.extract_text() for page in reader.pages))


def _read(data: bytes, read: Callable[[pypdf.PdfReader], Any]) -> Any:
    """``read`` applied to ``data`` opened by pypdf; WorkbookError when it is not a PDF or too damaged."""
    try:
        return read(pypdf.PdfReader(io.BytesIO(data)))
    except _DAMAGED as error:
        logger.info("a file that should be a PDF could not be read: %s", error)
        raise WorkbookError(f"this file is not a readable PDF: {error}") from error


def with_receipt(data: bytes, document: str) -> bytes:
    """The PDF ``data`` with ``document`` added to its document information (fpdf2 writes only standard keys).

    Parameters
    ----------
    data : bytes
        A PDF.
    document : str
        The receipt's JSON document, stored under :data:`RECEIPT_KEY`.

    Returns
    -------
    bytes
        The same PDF with the receipt in its document information.
    """
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    writer.add_metadata({RECEIPT_KEY: document})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
