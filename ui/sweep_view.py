"""The Evaluate page's sweep view: a sweep as one result, each of its runs one click away."""

from __future__ import annotations

import streamlit as st

from mnist_lab.charts import describe
from mnist_lab.charts import sweeps as sweep_charts
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import sweeps
from ui import sidebar, vega

VIEW = "evaluate_view"  # the page's view picker: opening a run switches it to "One run"
ONE_RUN = "One run"
_PICKER = "evaluate_sweep"
_CHARTS = ("evaluate_sweep_accuracy", "evaluate_sweep_parallel")
_TABLE = "evaluate_sweep_table"


def _open_chart_pick(key: str) -> None:
    """Open the run clicked in chart ``key``: it becomes the active run, shown in the One run view."""
    picked = st.session_state[key].selection.get(sweep_charts.RUN)
    if picked:
        open_run(picked[0]["run_id"])


def _open_row_pick(run_ids: list[str]) -> None:
    """Open the run of the table row the student selected."""
    rows = st.session_state[_TABLE].selection.rows
    if rows:
        open_run(run_ids[rows[0]])


def open_run(run_id: str) -> None:
    """Make ``run_id`` the active run and show it in the One run view."""
    sidebar.set_active_run(run_id)
    st.session_state[VIEW] = ONE_RUN


def _label(sweep: sweeps.Sweep) -> str:
    varied = " and ".join(sweeps.SETTINGS[setting].lower() for setting in sweep.settings) or "nothing"
    state = f", {sweep.running} still in progress" if sweep.running else ""
    return f"{sweep.name}: {len(sweep.runs)} runs over {varied}{state}"


def render(store: run_store.RunStore) -> None:
    """Draw the sweep picker and the chosen sweep's result."""
    found = {sweep.tag: sweep for sweep in sweeps.sweeps(store)}
    if not found:
        st.info("No sweep yet: start one on the Train page (**Sweep: one run per value of one or two settings**), "
                "or with `mnist-lab sweep`.")
        return
    tag = st.selectbox("Sweep", list(found), format_func=lambda tag: _label(found[tag]), key=_PICKER)
    sweep = found.get(tag) or next(iter(found.values()))
    if sweep.running:
        st.info(f"{sweep.running} of its {len(sweep.runs)} runs are still waiting or training: the figures fill in "
                "as they end (reload the page).")
    settings = [sweeps.SETTINGS[setting] for setting in sweep.settings]
    if not settings:
        st.warning("Its runs do not differ in any setting a sweep varies: there is nothing to plot against.")
        return
    frame = sweep.results()
    best = sweep.best()
    if best is None:
        st.caption("No run of this sweep has a test accuracy yet.")
        return
    best_row = frame.loc[frame["run_id"] == best.id].iloc[0]
    values = ", ".join(f"{setting.lower()} {best_row[setting]}" for setting in settings)
    best_column, button_column = st.columns([4, 1], vertical_alignment="center")
    best_column.success(f"Best run: **{markdown_text(best.name)}**, test accuracy "
                        f"{best.metrics['test_accuracy']:.2%} ({markdown_text(values)}).", icon=":material/trophy:")
    button_column.button("Open the best run", on_click=open_run, args=(best.id,), key="evaluate_sweep_best")
    accuracy_column, parallel_column = st.columns(2)
    with accuracy_column:
        st.subheader("Test accuracy against " + " and ".join(setting.lower() for setting in settings))
        vega.show(sweep_charts.accuracy_chart(frame, settings), on_select=lambda: _open_chart_pick(_CHARTS[0]),
                  selection_mode=sweep_charts.RUN, key=_CHARTS[0])
    with parallel_column:
        st.subheader("Settings and accuracy, run by run")
        vega.show(sweep_charts.parallel_coordinates(frame, settings),
                  on_select=lambda: _open_chart_pick(_CHARTS[1]), selection_mode=sweep_charts.RUN, key=_CHARTS[1])
    # Both charts are drawn from the table under them: it is their data as a table, for a reader who cannot see them.
    vega.describe(describe.sweep_accuracy(frame, settings), None)
    st.caption("Click a point or a line to open its run. The table below holds the figures of both charts; its rows "
               "open their runs too.")
    shown = frame.drop(columns=["run_id"])
    st.dataframe(shown, hide_index=True, width="stretch", on_select=lambda: _open_row_pick(list(frame["run_id"])),
                 selection_mode="single-row", key=_TABLE, column_config={
                     "test accuracy": st.column_config.NumberColumn(format="percent"),
                     "validation accuracy": st.column_config.NumberColumn(format="percent"),
                     "seconds": st.column_config.NumberColumn(format="%.1f")})
