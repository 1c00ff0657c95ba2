"""Evaluate page: test-set performance class by class, and runs side by side (assignment questions A4 and B7)."""

import streamlit as st

from mnist_lab import charts, evaluation
from mnist_lab.charts import describe
from mnist_lab.data import Dataset, explore
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import report_links, resources, run_comparison, sidebar, sweep_view, tabs, vega
from ui.evaluation_view import evaluation_or_message, roc_axis

TRUE, PREDICTED, MATRIX, TAB = "evaluate_true", "evaluate_predicted", "evaluate_matrix", "evaluate_tab"


def pick_cell() -> None:
    if cell := st.session_state[MATRIX].selection.get(charts.CELL):
        st.session_state[TRUE], st.session_state[PREDICTED] = cell[0]["true"], cell[0]["predicted"]


def headline(run: run_store.Run, ev: evaluation.Evaluation, classes: int) -> None:
    s = ev.summary
    decimals = evaluation.auc_decimals([s["roc_auc_macro"], *ev.per_class["roc_auc"]])
    figures = {
        "Test accuracy": f"{s['accuracy']:.2%}", "Test loss": f"{s['log_loss']:.4f}", "Macro F1": f"{s['f1_macro']:.2%}",
        "Macro ROC AUC": f"{s['roc_auc_macro']:.{decimals}f}",
        "Ranking errors": f"{evaluation.ranking_errors(s['roc_auc_macro']):.2f}",
        "Train accuracy": "n/a" if s["train_accuracy"] is None else f"{s['train_accuracy']:.2%}",
    }
    helps = {"Ranking errors": f"1 - macro ROC AUC, per {evaluation.PAIRS:,} pairs of one image of a class and one other "
                               "image: how often the other image scores higher for that class."}
    for column, (label, value) in zip(st.columns(len(figures)), figures.items()):
        column.metric(label, value, help=helps.get(label))
    for column, kind in zip(st.columns(2), ("macro", "weighted")):
        p, r, f = (s[f"{name}_{kind}"] for name in ("precision", "recall", "f1"))
        column.markdown(f"**{kind.title()}** precision {p:.2%} · recall {r:.2%} · F1 {f:.2%}")
    logged = next((row.get("accuracy") for row in run.history if row.get("epoch") == ev.epoch), None)
    st.markdown(evaluation.gap_explanation(s, classes=classes, logged_train_accuracy=logged))
    report_links.link_to_answer("b6")
    if s["train_accuracy"] is not None:
        st.caption(f"Train accuracy: this model on {s['train_images']:,} of the images it was trained on, measured like the "
                   "test accuracy. The accuracy in the training log differs: it is a running mean over each epoch while "
                   "the weights still change, with dropout and augmentation on where the network has them.")


def confusion_section(ev: evaluation.Evaluation, data: Dataset, version: tuple) -> None:
    classes = list(data.class_names)
    st.header("Confusion matrix", anchor="confusion-matrix")
    st.markdown(evaluation.CONFUSION_MATRIX_EXPLAINED)
    report_links.link_to_answer("b7")
    normalized = st.toggle("Row-normalised (share of each true digit)", key="evaluate_normalized", persist_state="page")
    top = ev.confused_pairs.iloc[0] if len(ev.confused_pairs) else {"true": classes[0], "predicted": classes[0]}
    for key, default in ((TRUE, top["true"]), (PREDICTED, top["predicted"])):
        if st.session_state.get(key) not in classes:  # first visit, or a run of another dataset before
            st.session_state[key] = default
    chosen = (st.session_state[TRUE], st.session_state[PREDICTED])
    chart = vega.cached(("confusion", *version, normalized, chosen),
                        lambda: charts.confusion_heatmap(ev.confusion, normalized=normalized, chosen=chosen))
    vega.show_described(chart, describe.confusion(ev.confusion), ev.confusion[["true", "predicted", "count", "row_share"]],
                        on_select=pick_cell, selection_mode=charts.CELL, key=MATRIX, name="the confusion matrix")
    st.caption("Click a cell, or choose it below, to see its test images.")
    true_col, predicted_col, pairs_col = st.columns([1, 1, 3])
    true = true_col.selectbox("True class", classes, key=TRUE, persist_state="page")
    predicted = predicted_col.selectbox("Predicted class", classes, key=PREDICTED, persist_state="page")
    pairs_col.dataframe(ev.confused_pairs, hide_index=True, width="stretch", height=150)
    cell = evaluation.cell_examples(ev, data, true, predicted)
    if cell.total:
        rows = range(0, len(cell.images), 10)
        st.image([explore.tile(cell.images[i : i + 10]) for i in rows], output_format="PNG",
                 alt=[f"Test images {i + 1} to {min(i + 10, len(cell.images))} of class {true} read as {predicted}"
                      for i in rows])
        shown = f"showing the {len(cell.images)} it was surest of" if cell.total > len(cell.images) else "surest first"
        st.caption(f"{cell.total} test images of class {markdown_text(true)} read as {markdown_text(predicted)}; {shown}.")
    else:
        st.caption(f"No test image of class {markdown_text(true)} was read as {markdown_text(predicted)}.")


def one_run(run: run_store.Run) -> None:
    ev = evaluation_or_message(run)
    if ev is None:
        return
    data = resources.dataset_of(run)
    classes = list(data.class_names)
    st.caption(f"Run **{markdown_text(run.name)}** ({run.status}), model of epoch {ev.epoch}, on all {ev.summary['n']:,} "
               f"test images of {markdown_text(data.name)}.")
    headline(run, ev, len(classes))
    version = (run.id, run.saved_epochs)  # the evaluation and every chart of it follow the saved model
    tabs.lazy_tabs({"Per class": per_class_section, "Confusion matrix": confusion_section,
                    "ROC and precision-recall": curves_section}, TAB, ev, data, version)


def per_class_section(ev: evaluation.Evaluation, data: Dataset, version: tuple) -> None:
    st.header("Per class")
    number = st.column_config.NumberColumn
    decimals = evaluation.auc_decimals(ev.per_class["roc_auc"])
    st.dataframe(ev.per_class, hide_index=True, width="stretch", column_config={
        "precision": number(format="%.4f"), "recall": number(format="%.4f"), "f1": number("F1", format="%.4f"),
        "support": number("test images"), "roc_auc": number("ROC AUC", format=f"%.{decimals}f"),
        "average_precision": number("average precision", format="%.4f"),
        "ranking_errors": number(evaluation.RANKING_ERRORS, format="%.2f")})
    st.download_button("Download the table (CSV)", ev.per_class.to_csv(index=False),
                       file_name=f"per-class-{version[0]}.csv", mime="text/csv", on_click="ignore", key="evaluate_csv")
    recall_col, errors_col = st.columns(2)
    vega.show_described(
        vega.cached(("recall", *version), lambda: charts.recall_bars(ev.per_class, accuracy=ev.summary["accuracy"])),
        describe.recall_bars(ev.per_class, accuracy=ev.summary["accuracy"]),
        ev.per_class[["class", "recall", "support"]], recall_col, width="stretch", name="the recall per class")
    vega.show_described(vega.cached(("ranking errors", *version), lambda: charts.ranking_error_bars(ev.per_class)),
                        describe.ranking_error_bars(ev.per_class), ev.per_class[["class", "ranking_errors", "roc_auc"]],
                        errors_col, width="stretch", name="the ranking errors per class")
    report_links.link_to_answer("a4")


def curves_section(ev: evaluation.Evaluation, data: Dataset, version: tuple) -> None:
    classes = list(data.class_names)
    curves = [*classes, *charts.AVERAGES]
    st.header("ROC and precision-recall curves", anchor="roc")
    st.markdown(evaluation.CURVES_EXPLAINED)
    shown_col, axis_col = st.columns([3, 2], vertical_alignment="bottom")
    shown = shown_col.multiselect("Curves", curves, default=curves, key=f"evaluate_curves_{data.name}",
                                  persist_state="page")
    axis = roc_axis(axis_col, "evaluate_roc_axis")
    vega.show_described(
        vega.cached(("roc", *version, tuple(shown), axis), lambda: charts.roc_chart(ev.roc, classes, shown, axis=axis)),
        describe.curves_auc(ev.per_class, "roc_auc", "ROC AUC"), ev.roc[ev.roc["class"].isin(shown)],
        width="content", name="the ROC curves")
    vega.show_described(vega.cached(("pr", *version, tuple(shown)), lambda: charts.pr_chart(ev.pr, classes, shown)),
                        describe.curves_auc(ev.per_class, "average_precision", "Average precision"),
                        ev.pr[ev.pr["class"].isin(shown)], width="content", name="the precision-recall curves")


st.title("Evaluate: how good is the model?")
st.markdown("Accuracy is one number; this page takes it apart on the test images the model never trained on: per "
            "class, per kind of mistake, and against other runs (assignment questions A4 and B7). Results are stored "
            "with the run.")
store = resources.store_or_stop()
view = st.segmented_control("View", ["One run", "Compare runs", "Sweep"], default="One run", key="evaluate_view") or "One run"
if view == "Compare runs":
    run_comparison.render(store)
elif view == "Sweep":
    sweep_view.render(store)
elif (active := sidebar.active_run()) is None:
    st.info("No run yet: train one on the Train page, then come back here.")
else:
    one_run(active)
