"""Colours Streamlit's theme options do not reach, raised to WCAG 2.1 AA contrast.

Streamlit 1.67 colours the syntax highlighting of ``st.code`` from its fixed palette (comments ``#808495``, keywords
``#1c83e1``, strings ``#09ab3b``...), 2.9-3.8:1 on the code block's background (axe-core's color-contrast, measured
in Chromium); ``[theme]`` in ``.streamlit/config.toml`` has no option for them. These rules give each kind of token a
colour of at least 5:1 on that background, keeping the hues so the highlighting still reads the same way.
"""

from __future__ import annotations

import streamlit as st

#: Token classes of Prism (the highlighter of ``st.code``) and their colours: each at least 5:1 on #fcfcfb.
TOKEN_COLOURS = {
    ".token.comment, .token.prolog, .token.doctype, .token.cdata, .token.punctuation, .token.unchanged.line":
        "#5c5f6b",
    ".token.attr-name, .token.property, .token.variable, .token.keyword, .token.tag, .token.function, "
    ".token.class-name, .token.selector": "#0b57d0",
    ".token.boolean, .token.constant, .token.symbol, .token.string, .token.char, .token.attr-value, "
    ".token.inserted.line, .token.inserted.prefix": "#137333",
    ".token.number, .token.regex": "#00695c",
    ".token.operator, .token.entity, .token.decorator, .token.atrule": "#a8440b",
    ".token.url": "#6f3bb3",
    ".token.important, .token.deleted.line, .token.deleted.prefix": "#c5221f",
}


def raise_code_contrast() -> None:
    """Add the style sheet of :data:`TOKEN_COLOURS` to the page (it takes no room)."""
    rules = "\n".join(f"{', '.join(f'[data-testid=stCode] {part.strip()}' for part in selector.split(','))} "
                      f"{{ color: {colour} !important; }}" for selector, colour in TOKEN_COLOURS.items())
    st.html(f"<style>\n{rules}\n</style>")
