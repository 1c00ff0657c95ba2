"""Showing user-supplied text (run names, messages) safely inside Markdown."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|#!])")


def markdown_text(text: str) -> str:
    """Escape ``text`` so that Markdown shows it as it is (no links, images, emphasis, HTML or maths)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
