"""Showing text: user-supplied text (run names, messages) safely inside Markdown, and counts with their noun."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|#!])")


def plural(count: int, noun: str, many: str = "") -> str:
    """``count`` and its noun, singular for exactly one: ``1 epoch``, ``2 epochs``, ``1 worker process``.

    Parameters
    ----------
    count : int
    noun : str
        The singular.
    many : str
        The plural when it is not the singular plus "s" (``"processes"``).

    Examples
    --------
    >>> plural(1, "epoch"), plural(3, "epoch"), plural(2, "worker process", "worker processes")
    ('1 epoch', '3 epochs', '2 worker processes')
    >>> plural(12000, "image")
    '12,000 images'
    """
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def markdown_text(text: str) -> str:
    """Escape ``text`` so that Markdown shows it as it is (no links, images, emphasis, HTML or maths)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    # A zero-width space keeps bare addresses from turning into links (GitHub-style autolinks).
    return escaped.replace("://", ":\u200b//").replace("www.", "www\u200b.")
