"""Streamlit-side helpers of the Evaluate page that its one-run view and its comparison share."""

from __future__ import annotations

import streamlit as st

from mnist_lab import charts, evaluation
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources


def evaluation_or_message(run: run_store.Run) -> evaluation.Evaluation | None:
    """The evaluation of ``run`` on its test images; None, after saying why, when it cannot be evaluated."""
    unready = run_store.not_ready(run, when_done="evaluate it")
    if unready is not None:
        (st.info if run.status == run_store.RUNNING else st.warning)(unready)
        return None
    try:
        with st.spinner(f"Evaluating **{markdown_text(run.name)}** on the test images: loading its model, predicting "
                        "every image, then every metric and curve (the first time only; the results are stored "
                        "with the run)...", show_time=True):
            return resources.evaluation_of(run)
    except MnistLabError as error:
        st.error(f"**{markdown_text(run.name)}** cannot be evaluated: {markdown_text(str(error))}. Choose another run, "
                 "or train this one again.")
    return None


def roc_axis(column, key: str) -> str:
    """The false-positive-rate axis of a ROC chart, logarithmic unless the student picks another."""
    chosen = column.segmented_control("False positive rate axis", list(charts.ROC_AXES), default="log",
                                      format_func=charts.ROC_AXES.get, key=key, persist_state="page",
                                      help="Logarithmic spreads out the corner where strong models differ.")
    return chosen or "log"
