"""Tabs of which only the open one is drawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def lazy_tabs(sections: dict[str, Callable[..., None]], key: str, *args: Any) -> None:
    """Draw a tab per section of ``sections`` (label to drawing function) and run only the open tab's function,
    with ``args``.

    ``on_change="rerun"`` makes a click on a tab rerun the page: drawing every section at once took the browser
    1-1.8 s per page switch on 2 cores. The open tab's label is ``st.session_state[key]``.
    """
    for tab, section in zip(st.tabs(list(sections), key=key, on_change="rerun"), sections.values()):
        if tab.open:
            with tab:
                section(*args)
