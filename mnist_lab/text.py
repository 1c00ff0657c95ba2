"""Showing user-supplied text (run names, messages) safely inside Markdown."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|#!])")


def markdown_text(text: str) -> str:
    """Escape ``text`` so that Markdown shows it as it is (no links, images, emphasis, HTML or maths)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    # A zero-width space keeps bare addresses from turning into links (GitHub-style autolinks).
    return escaped.replace("://", ":\u200b//").replace("www.", "www\u200b.")
