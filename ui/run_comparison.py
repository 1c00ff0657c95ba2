"""The Evaluate page's comparison of runs side by side: the settings that differ, the results, per class, the ROC
curves of one class and the training curves (assignment question B7)."""

from __future__ import annotations

import streamlit as st

from mnist_lab import charts, evaluation
from mnist_lab.charts import describe
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources, sidebar, vega
from ui.evaluation_view import evaluation_or_message, roc_axis


def render(store: run_store.RunStore) -> None:
    """Let the student pick two or more evaluable runs of ``store`` and draw them side by side."""
    candidates = [run for run in store.list_runs() if run.has_model and run.status != run_store.RUNNING]
    if len(candidates) < 2:
        st.info("Comparing needs at least two runs with a saved model that are not training: train another one on the "
                "Train page.")
        return
    labels = evaluation.run_labels(candidates)
    default = [sidebar.active_run_id()] if sidebar.active_run_id() in labels else []
    default += [run.id for run in candidates if run.id not in default][: 2 - len(default)]
    chosen = st.multiselect("Runs to compare", list(labels), default=default, format_func=labels.get, key="evaluate_compare")
    usable = [(run, ev) for run in map(store.get, chosen) if (ev := evaluation_or_message(run)) is not None]
    if len(usable) < 2:
        st.info("Choose two or more runs that can be evaluated.")
        return
    try:
        comparison = evaluation.compare(*zip(*usable))
    except MnistLabError as error:
        st.warning(markdown_text(str(error)))
        return
    classes = list(resources.dataset_of(usable[0][0]).class_names)
    st.subheader("Settings that differ, and the results")
    st.dataframe(comparison.table, width="stretch", column_config=_sized_columns(comparison.table))
    st.subheader("Per class")
    shown = [labels[run.id] for run, _ in usable]
    baseline = st.selectbox("Show", [None, *shown], key="evaluate_compare_baseline",
                            format_func=lambda name: "the values" if name is None else f"differences to {name}")
    versions = tuple((run.id, run.saved_epochs, run.name) for run, _ in usable)
    metrics = ("recall", evaluation.RANKING_ERRORS)
    bars = vega.cached(("compare bars", versions, baseline),
                       lambda: [charts.compare_bars(comparison.per_class, metric, baseline=baseline) for metric in metrics])
    for column, chart, metric in zip(st.columns(2), bars, metrics):
        vega.show_described(chart, describe.compare_metric(comparison.per_class, metric,
                                                           higher_is_better=metric == "recall"),
                            comparison.per_class[comparison.per_class["metric"] == metric], column, width="stretch",
                            name=f"the {metric} of the runs")
    st.caption(f"{evaluation.RANKING_ERRORS[0].upper()}{evaluation.RANKING_ERRORS[1:]}: 1 - ROC AUC of the class; hover a "
               "point for the AUC itself.")
    class_col, axis_col = st.columns([2, 2], vertical_alignment="bottom")
    class_name = class_col.selectbox("ROC of class", [*classes, *charts.AVERAGES], key="evaluate_compare_class")
    axis = roc_axis(axis_col, "evaluate_compare_axis")
    vega.show_described(vega.cached(("compare roc", versions, class_name, axis),
                                    lambda: charts.compare_roc(comparison.roc, class_name, axis=axis)),
                        describe.compare_auc(comparison.roc, class_name),
                        comparison.roc[comparison.roc["class"] == class_name], width="content",
                        name=f"the ROC curves of class {class_name}")
    st.subheader("Training curves")
    vega.show_described(vega.cached(("compare history", versions),
                                    lambda: charts.epoch_curves(comparison.history, color="run")),
                        describe.compare_history(comparison.history), comparison.history, name="the training curves")


def _sized_columns(table) -> dict:
    """Column widths that show each column's title in full (a dataframe sizes columns to their cells only)."""
    def width(name) -> int:
        values = [len(f"{value:.4f}" if isinstance(value, float) else str(value)) for value in table[name]]
        return 8 * max(len(str(name)), *values) + 24

    number = st.column_config.NumberColumn
    return {str(name): number(format="%.4f", width=width(name)) if name in evaluation.HEADLINE.values()
            else st.column_config.Column(width=width(name)) for name in table.columns}
