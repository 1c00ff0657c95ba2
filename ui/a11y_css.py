"""Style rules for WCAG 2.1 that Streamlit's theme options do not reach: a visible keyboard focus, a collapsed sidebar
out of the tab order, and no motion for a visitor who asked for less (issue 26).

Measured in Chromium with Streamlit 1.67 (tests/test_browser_keyboard_journey.py, tests/test_browser_zoom_motion.py):

- **Focus (2.4.7).** The sidebar's page links, ``st.page_link``, a dataframe's toolbar buttons and a toggle showed
  their keyboard focus only as a pale grey background (the page links the same grey as the current page), or not at
  all; buttons and tabs had a ring, inputs a blue border. Every element focused by keyboard now gets an outline in
  the theme's primary colour (#0b57d0, 6.4:1 on white and 6.0:1 on the sidebar's #f8f8f7); a checkbox, toggle or radio
  button, whose ``<input>`` is invisible, gets it on its label.
- **A chart's or table's toolbar (2.4.7).** Its buttons (Fullscreen, Download as CSV...) take the focus but their
  bar stays transparent unless the mouse is over the element, and below the chart: the focus was invisible. The bar
  shows, above the chart, while one of its buttons has the keyboard focus.
- **Focus under the header (2.4.7).** The page scrolls under Streamlit's header bar (60 px, white): a control that
  Tab scrolled to the top edge, such as a chart's Fullscreen button, was focused out of sight under it. The page
  now keeps that much room at its top when it scrolls to the focus (``scroll-padding-top``).
- **Collapsed sidebar (2.4.3).** Streamlit moves a collapsed sidebar off the screen but leaves its controls in the
  tab order: on a phone the 33 Tab presses after the skip link of the Train page landed on controls nobody could
  see. Hidden (with ``!important``: a widget's label sets its own visibility), they leave the tab order, and the
  next Tab reaches the page or the button that opens the sidebar. Up to 768 px (a phone, or a 1,280 px screen at
  200% zoom) an open sidebar lies over the page, and it stays open after a page is chosen unless the browser says it
  is a phone (Streamlit reads the user agent): Tab then went on to the page's controls under it, out of sight. While
  it is open there, the page under it is hidden, so the focus stays in the sidebar until its Collapse button is pressed.
- **Reduced motion (2.3.3).** Under ``prefers-reduced-motion: reduce`` Streamlit keeps its spinner turning (only
  slower: 1.8 s a turn, in its source) and the colour and opacity transitions of its widgets (expanders, sliders,
  toggles, labels: seen during a live training). Under that preference the
  animations and transitions end at once (0.01 ms rather than ``none``, so that code waiting for their end event
  still gets it). The charts have no motion of their own: Vega redraws a live chart's new data in one step.
"""

from __future__ import annotations

import streamlit as st

#: Streamlit's breakpoint ``md``: at this width and below, an open sidebar lies over the page instead of beside it.
OVERLAY_WIDTH = "768px"
#: The height of Streamlit's header bar, which lies over the top of the scrolling page, and a little air.
HEADER_HEIGHT = "4.5rem"
#: The outline of a keyboard focus, in the theme's primary colour.
FOCUS_OUTLINE = "3px solid #0b57d0"

RULES = f"""
:focus-visible {{ outline: {FOCUS_OUTLINE} !important; outline-offset: 2px; }}
label:has(input:focus-visible) {{ outline: {FOCUS_OUTLINE}; outline-offset: 2px; border-radius: 0.25rem; }}
[data-testid="stElementToolbar"]:has(:focus-visible) {{ opacity: 1 !important; z-index: 3 !important; }}
[data-testid="stMain"] {{ scroll-padding-top: {HEADER_HEIGHT}; }}
[data-testid="stSidebar"][data-collapsed="true"], [data-testid="stSidebar"][data-collapsed="true"] * {{
  visibility: hidden !important;
}}
@media (max-width: {OVERLAY_WIDTH}) {{
  [data-testid="stApp"]:has([data-testid="stSidebar"][data-collapsed="false"]) [data-testid="stMain"],
  [data-testid="stApp"]:has([data-testid="stSidebar"][data-collapsed="false"]) [data-testid="stMain"] * {{
    visibility: hidden !important;
  }}
}}
@media (prefers-reduced-motion: reduce) {{
  *, *::before, *::after {{
    animation-duration: 0.01ms !important; animation-delay: 0s !important;
    animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; transition-delay: 0s !important;
    scroll-behavior: auto !important;
  }}
}}
"""


def add_accessibility_rules() -> None:
    """Add the style sheet of :data:`RULES` to the page (it takes no room)."""
    st.html(f"<style>{RULES}</style>")
