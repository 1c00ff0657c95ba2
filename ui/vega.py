"""Charts drawn from Vega-Lite specs built once.

``st.altair_chart`` validates every chart against the Vega-Lite JSON schema on every rerun of every session: it
was most of the server's CPU on the Data, Evaluate and Report pages (about 0.3-0.6 s of each view). Here charts
become specs without validation (the AppTest page tests validate every spec a page draws, tests/apptest_helpers.py),
and the pages cache those specs per dataset or run, so that a class opening the same page pays for its charts once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def spec(chart: Any) -> dict:
    """The Vega-Lite spec of an Altair ``chart`` (a dict passes through), without schema validation."""
    return chart if isinstance(chart, dict) else chart.to_dict(validate=False)


def specs(charts: Any) -> list[dict]:
    """:func:`spec` of each chart of an iterable."""
    return [spec(chart) for chart in charts]


def show(chart: Any, where: Any = None, **options: Any) -> Any:
    """Draw an Altair chart or a spec in ``where`` (the page by default) with ``st.vega_lite_chart``'s options."""
    return (st if where is None else where).vega_lite_chart(spec=spec(chart), **options)


@st.cache_data(max_entries=256, show_spinner=False)
def cached(key: tuple, _build: Callable[[], Any]) -> dict | list[dict]:
    """The spec of the chart ``_build()`` returns (or the specs of its list of charts), built once per ``key`` for
    every session.

    ``key`` names the chart and everything it is drawn from (a run's id and saved epochs, a dataset's name, the
    options picked), so that one key never stands for two different charts.
    """
    built = _build()
    return specs(built) if isinstance(built, list) else spec(built)
