"""Charts drawn from Vega-Lite specs built once.

``st.altair_chart`` validates every chart against the Vega-Lite JSON schema on every rerun of every session: it
was most of the server's CPU on the Data, Evaluate and Report pages (about 0.3-0.6 s of each view). Here charts
become specs without validation (the AppTest page tests validate every spec a page draws, tests/apptest_helpers.py),
and the pages cache those specs per dataset or run, so that a class opening the same page pays for its charts once.

A spec's data is stored in it as the Arrow bytes ``st.vega_lite_chart`` sends: left as rows, each drawing turned
them into a table and then into Arrow again, for every session and every tick of a live chart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit import dataframe_util

from mnist_lab.text import markdown_text


def spec(chart: Any) -> dict:
    """The Vega-Lite spec of an Altair ``chart`` (a dict passes through), without schema validation, its named
    datasets as Arrow bytes."""
    built = dict(chart) if isinstance(chart, dict) else chart.to_dict(validate=False)
    if "datasets" in built:
        built["datasets"] = {name: _arrow(rows) for name, rows in built["datasets"].items()}
    return built


def _arrow(rows: Any) -> bytes:
    """Rows of a dataset as the Arrow bytes Streamlit sends for them."""
    return rows if isinstance(rows, bytes) else dataframe_util.convert_anything_to_arrow_bytes(rows)


def with_data(template: dict, frame: Any) -> dict:
    """The spec ``template`` (a chart of one named dataset) drawing the rows of ``frame`` instead of its own.

    For charts redrawn with new data, such as a training's live curves: Altair builds the spec once, and the name of
    its dataset stays the same, so the browser updates the chart's data instead of drawing the chart anew.
    """
    (name,) = template["datasets"]
    return {**template, "datasets": {name: _arrow(frame)}}


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


def show_described(chart: Any, summary: str, table: Any, where: Any = None, *, name: str = "this chart",
                   **options: Any) -> Any:
    """Draw ``chart`` as :func:`show` does, then its one-sentence ``summary`` (from :mod:`mnist_lab.charts.describe`)
    and, in a closed expander, ``table``: the figures it is drawn from, for a reader who cannot see the chart.

    ``name`` is what the expander calls the chart ("the class balance"). Returns what :func:`show` returns.
    """
    drawn = show(chart, where, **options)
    describe(summary, table, where, name=name)
    return drawn


def describe(summary: str, table: Any, where: Any = None, *, name: str = "this chart", key: str | None = None) -> None:
    """A chart's one-sentence ``summary`` and, in a closed expander, its figures (``table``, none when None).

    With a ``key`` the table is sent only while its expander is open: for a chart redrawn every second (a training's
    batches), whose table would otherwise be sent to every watcher on every tick.
    """
    place = st if where is None else where
    place.caption(markdown_text(summary))
    if table is None:
        return
    label = f"The data of {name} as a table"
    expander = place.expander(label, key=key, on_change="rerun") if key else place.expander(label)
    if key is None or expander.open:
        expander.dataframe(table, hide_index=True, width="stretch")
