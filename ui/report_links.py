"""Links from the other pages to the Report page's answer of the question they illustrate."""

from __future__ import annotations

import streamlit as st

from mnist_lab import report

REPORT_PAGE = "app_pages/report.py"
#: The query parameter that opens the report at one answer (its question id, such as "b1").
FOCUS = "q"


def link_to_answer(question_id: str) -> None:
    """Draw a link that opens the report at the answer to ``question_id`` (such as ``"b1"``)."""
    chosen = report.question(question_id)
    st.page_link(REPORT_PAGE, label=f"Answer to {chosen.number} in the report: {chosen.title}",
                 icon=":material/assignment:", query_params={FOCUS: chosen.id})
