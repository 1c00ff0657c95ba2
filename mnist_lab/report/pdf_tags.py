"""A tagged PDF with fpdf2: the document's headings, paragraphs, lists and tables in its structure tree.

fpdf2's public API tags only figures (``image(alt_text=...)``), each a child of the document element. ``TaggedPDF``
is an :class:`fpdf.FPDF` that tags the rest, in reading order: a block of text is written inside
``with pdf.content("/H3"):`` (or ``/P``, ``/TH``...), which makes it a leaf of the structure tree holding the
marked-content sequence ``/H3 <</MCID n>> BDC ... EMC``; ``with pdf.element("/L"):`` nests the leaves written inside
it under a grouping element (``/L``, ``/LI``, ``/Table``...). Tables written with ``pdf.table()`` are tagged
``/Table`` > ``/TR`` > ``/TH`` (scope column) or ``/TD``, and Markdown's HTML through ``pdf.write_html()``: each
paragraph ``/P`` (or ``/H<n>`` for ``<p data-level="n">``), lists ``/L`` > ``/LI`` > ``/LBody`` > ``/P``, quotes
``/BlockQuote``. Figures stay where fpdf2 puts them, in reading order among the rest.

A page break inside an open sequence (a long paragraph, a code block) closes it in :meth:`TaggedPDF.footer` and
opens a new one, with the next MCID of the new page, in :meth:`TaggedPDF.header`: fpdf2 calls both on every page
break, so one structure element holds one sequence per page (a marked-content reference ``/MCR`` with its ``/Pg`` for
each page after its first). A table breaks only between rows, so a cell never does; the header row fpdf2 repeats on a
new page is an ``/Artifact``, as is the blank spacer paragraph fpdf2 writes before a list.

Private API of fpdf2, checked with :data:`FPDF_CHECKED`, used only here (``tests/test_handin_a11y.py`` fails when it
changes): ``FPDF._out`` (writes the operators), ``FPDF.struct_builder`` and ``fpdf.structure_tree`` (the builder,
replaced by one that nests elements), ``Table.render``, ``Table._render_table_row`` and ``Table._render_table_cell``
(wrapped per table; ``Table._num_heading_rows`` says which rows are headers),
``HTML2FPDF._end_paragraph``, ``_write_paragraph``, ``_paragraph`` and ``table`` (one paragraph is rendered at a
time, at its end).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fpdf
from fpdf import FPDF
from fpdf.html import HTML2FPDF
from fpdf.structure_tree import StructElem, StructureTreeBuilder
from fpdf.syntax import PDFObject
from fpdf.table import Table

logger = logging.getLogger(__name__)

#: The fpdf2 version whose private API this module was checked against.
FPDF_CHECKED = "2.8.9"
#: The attribute object of a column header cell.
COLUMN_HEADER = "<</O /Table /Scope /Column>>"
#: The grouping elements :class:`TaggedHTML` opens for an HTML tag, outermost first.
HTML_GROUPS = {"ul": ("/L",), "ol": ("/L",), "li": ("/LI", "/LBody"), "blockquote": ("/BlockQuote",)}

if fpdf.FPDF_VERSION != FPDF_CHECKED:
    logger.warning("pdf_tags was checked with fpdf2 %s, not %s: run tests/test_handin_a11y.py", FPDF_CHECKED,
                   fpdf.FPDF_VERSION)


class _Element(StructElem):
    """A structure element that can carry an attribute object (``/A``)."""

    __slots__ = ("a",)

    def __init__(self, role: str, parent: PDFObject, page: int, *, title: str | None = None,
                 alt: str | None = None, attributes: str | None = None):
        super().__init__(role, parent, kids=[], page_number=page, title=title, alt=alt)
        self.a = attributes


class _Reference:
    """A marked-content reference (``/MCR``): a sequence on another page than its element's ``/Pg``."""

    def __init__(self, page: PDFObject, mcid: int):
        self.page, self.mcid = page, mcid

    def serialize(self, **_: Any) -> str:
        return f"<</Type /MCR /Pg {self.page.ref} /MCID {self.mcid}>>"  # the page has its id once output begins


class _Tree(StructureTreeBuilder):
    """fpdf2's structure tree builder, with nested elements: a new element goes under the innermost open group."""

    def __init__(self, pdf: FPDF):
        super().__init__()
        self._pdf = pdf
        self.groups: list[StructElem] = [self.doc_struct_elem]

    def __repr__(self) -> str:
        return f"<structure tree: {sum(1 for _ in self.elements())} elements, open {[g.s for g in self.groups]}>"

    def add(self, role: str, **options: Any) -> _Element:
        """A new element at the end of the innermost open group."""
        parent = self.groups[-1]
        element = _Element(role, parent, self._pdf.page, **options)
        element.pg = self._pdf.pages[self._pdf.page]
        parent.k.append(element)
        return element

    def mark(self, element: StructElem) -> int:
        """The MCID of a new sequence of ``element`` on the current page, entered in the parent tree."""
        page = self._pdf.page
        spid = self.spid_per_page_number.setdefault(page, len(self.spid_per_page_number))
        owners = self.struct_tree_root.parent_tree.nums[spid]
        mcid = len(owners)
        owners.append(element)
        self._pdf.pages[page].struct_parents = spid
        first = element.page_number() == page and not any(isinstance(kid, _Reference) for kid in element.k)
        element.k.append(mcid if first else _Reference(self._pdf.pages[page], mcid))
        return mcid

    # fpdf2's own calls, for a figure: FPDF._marked_sequence asks the next MCID, then adds the element with it.
    def next_mcid_for_page(self, page_number: int) -> int:
        spid = self.spid_per_page_number.get(page_number)
        return 0 if spid is None else len(self.struct_tree_root.parent_tree.nums[spid])

    def add_marked_content(self, page_number: int, struct_type: str, mcid: int | None = None,
                           title: str | None = None, alt_text: str | None = None) -> tuple[StructElem, int]:
        if self._pdf.page != page_number or getattr(self._pdf, "_open", False):
            raise RuntimeError(f"a {struct_type} cannot be tagged inside another marked-content sequence")
        element = self.add(struct_type, title=title, alt=alt_text)
        if mcid is not None and self.mark(element) != mcid:
            raise RuntimeError(f"fpdf2 numbered a {struct_type}'s content {mcid}, not as this tree does")
        return element, self.spid_per_page_number[page_number]

    def empty(self) -> bool:
        return not self.doc_struct_elem.k

    def elements(self, parent: StructElem | None = None) -> Iterator[StructElem]:
        """Every element under ``parent`` (the document element), depth first: the reading order."""
        for kid in (parent or self.doc_struct_elem).k:
            if isinstance(kid, StructElem):
                yield kid
                yield from self.elements(kid)

    def __iter__(self) -> Iterator[PDFObject]:
        yield self.struct_tree_root
        yield self.doc_struct_elem
        yield self.struct_tree_root.parent_tree
        yield from self.elements()


class TaggedHTML(HTML2FPDF):
    """fpdf2's HTML renderer, each paragraph it renders a leaf of the structure tree (see the module's docstring)."""

    def __init__(self, pdf: TaggedPDF, *args: Any, **kwargs: Any):
        self._role, self._written, self._closing = "/P", "", 0
        super().__init__(pdf, *args, **kwargs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)  # renders the paragraph before: it belongs to the groups around
        self._close_groups()
        for role in HTML_GROUPS.get(tag, ()):
            self.pdf.open_group(role)
        level = dict(attrs).get("data-level")
        if tag == "p" and level:
            self._role = f"/H{int(level)}"
        if tag == "table" and self.table is not None:
            self.pdf.tag_table(self.table)

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        self._close_groups()
        # fpdf2 renders a list item's text only at the next tag (rendering it sooner would change its spacing): its
        # groups close after that.
        self._closing += len(HTML_GROUPS.get(tag, ()))
        if self._paragraph is None:
            self._close_groups()

    def feed(self, data: str) -> None:
        super().feed(data)  # renders the last paragraph
        self._close_groups()

    def _close_groups(self) -> None:
        for _ in range(self._closing):
            self.pdf.close_group()
        self._closing = 0

    def _write_paragraph(self, text: str, link: Any = None) -> None:
        self._written += text
        super()._write_paragraph(text, link)

    def _end_paragraph(self) -> None:
        if self._paragraph is None:
            super()._end_paragraph()
            return
        tag = self.pdf.artifact() if not self._written.strip() else self.pdf.content(self._role)
        with tag:
            super()._end_paragraph()
        self._role, self._written = "/P", ""


class TaggedPDF(FPDF):
    """An FPDF whose text goes into the structure tree as headings, paragraphs, lists and tables.

    Examples
    --------
    >>> pdf = TaggedPDF()
    >>> pdf.add_page()
    >>> pdf.set_font("helvetica")
    >>> with pdf.content("/H1"):
    ...     _ = pdf.cell(text="Title")
    >>> with pdf.element("/L"), pdf.element("/LI"), pdf.content("/LBody"):
    ...     _ = pdf.cell(text="An item")
    >>> pdf.tree
    <structure tree: 4 elements, open ['/Document']>
    """

    HTML2FPDF_CLASS = TaggedHTML

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.tree = self.struct_builder = _Tree(self)
        # Whether a marked-content sequence is open, and its structure element (None: an artifact).
        self._open, self._sequence = False, None

    @contextmanager
    def element(self, role: str, **options: Any) -> Iterator[_Element]:
        """A grouping element (``/L``, ``/Table``...): the elements made inside are its children."""
        element = self.open_group(role, **options)
        try:
            yield element
        finally:
            self.close_group()

    def open_group(self, role: str, **options: Any) -> _Element:
        if self._open:
            raise RuntimeError(f"a {role} cannot open inside a marked-content sequence")
        element = self.tree.add(role, **options)
        self.tree.groups.append(element)
        return element

    def close_group(self) -> None:
        if len(self.tree.groups) == 1:
            raise RuntimeError("no structure element is open")
        self.tree.groups.pop()

    @contextmanager
    def content(self, role: str, **options: Any) -> Iterator[_Element]:
        """A leaf element (``/H1``-``/H6``, ``/P``, ``/TH``, ``/TD``) whose content is what is written inside."""
        element = self.tree.add(role, **options)
        with self._marked(element):
            yield element

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Content that is no part of the document's text (a repeated table header, a spacer)."""
        with self._marked(None):
            yield

    @contextmanager
    def _marked(self, element: StructElem | None) -> Iterator[None]:
        if self._open:
            raise RuntimeError("marked-content sequences of this document do not nest")
        self._sequence, self._open = element, True
        self._begin()
        try:
            yield
        finally:
            self._out("EMC")
            self._sequence, self._open = None, False

    def _begin(self) -> None:
        if self._sequence is None:
            self._out("/Artifact BMC")
        else:
            self._out(f"{self._sequence.s} <</MCID {self.tree.mark(self._sequence)}>> BDC")

    def footer(self) -> None:
        """A page ends: the open sequence ends with it."""
        if self._open:
            self._out("EMC")

    def header(self) -> None:
        """A page begins: the sequence the last page ended goes on, with an MCID of this page."""
        if self._open:
            self._begin()

    @contextmanager
    def table(self, *args: Any, **kwargs: Any) -> Iterator[Table]:
        """fpdf2's table, tagged (:meth:`tag_table`)."""
        with super().table(*args, **kwargs) as table:
            self.tag_table(table)
            yield table

    def tag_table(self, table: Table) -> None:
        """Tag ``table`` as it renders: ``/Table``, a ``/TR`` a row, ``/TH`` with column scope or ``/TD`` a cell."""
        render, render_row, render_cell = table.render, table._render_table_row, table._render_table_cell
        rendered: set[int] = set()
        artifact = [False]

        def tagged_render() -> None:
            with self.element("/Table"):
                render()

        def tagged_row(i: int, *args: Any, **kwargs: Any) -> None:
            artifact[0] = i in rendered  # a heading row repeated on a new page
            rendered.add(i)
            with self.artifact() if artifact[0] else self.element("/TR"):
                render_row(i, *args, **kwargs)

        def tagged_cell(i: int, j: int, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("cell_height_info") is None or artifact[0]:  # measuring, or repeated
                return render_cell(i, j, *args, **kwargs)
            heading = i < table._num_heading_rows
            with self.content("/TH" if heading else "/TD", attributes=COLUMN_HEADER if heading else None):
                return render_cell(i, j, *args, **kwargs)

        table.render, table._render_table_row, table._render_table_cell = tagged_render, tagged_row, tagged_cell
