"""The sidebar shared by all pages: the dataset picker, and the active run picker with rename, delete and download."""

from __future__ import annotations

import streamlit as st

from mnist_lab import data
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources

ACTIVE_RUN = "active_run"
CHOSEN_DATASET = "chosen_dataset"
_PICKER = "sidebar_run_picker"
_DATASET_PICKER = "sidebar_dataset_picker"


def chosen_dataset_name() -> str:
    """The dataset this session explores and trains on (the Data and Train pages); MNIST until one is chosen."""
    return st.session_state.get(CHOSEN_DATASET, data.MNIST_NAME)


def choose_dataset(name: str) -> None:
    """Make ``name`` the dataset of the Data and Train pages."""
    st.session_state[CHOSEN_DATASET] = name


def dataset_picker() -> None:
    """Draw the dataset picker; an unknown choice (a dataset no longer configured) falls back to MNIST."""
    with st.sidebar:
        try:
            names = resources.dataset_names()
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
            return
        if chosen_dataset_name() not in names:
            choose_dataset(data.MNIST_NAME)
        st.session_state[_DATASET_PICKER] = chosen_dataset_name()
        st.selectbox(
            "Dataset",
            options=names,
            key=_DATASET_PICKER,
            on_change=lambda: choose_dataset(st.session_state[_DATASET_PICKER]),
            help="What the Data page shows and the Train page trains on. Add your own on the Data page.",
        )


def active_run_id() -> str | None:
    """Return the id of this session's active run, if any."""
    return st.session_state.get(ACTIVE_RUN)


def set_active_run(run_id: str | None) -> None:
    """Make ``run_id`` this session's active run."""
    st.session_state[ACTIVE_RUN] = run_id


def active_run() -> run_store.Run | None:
    """Return this session's active run with its history, or None."""
    run_id = active_run_id()
    if run_id is None:
        return None
    try:
        return resources.store().get(run_id)
    except MnistLabError:
        set_active_run(None)
        return None


def run_picker() -> None:
    """Draw the run picker and the actions on the active run."""
    with st.sidebar:
        st.subheader("Active run")
        try:
            runs = resources.store().list_runs()
        except MnistLabError as error:
            st.error(f"The run store cannot be read: {markdown_text(str(error))}")
            return
        if not runs:
            st.caption("No runs yet: train one on the Train page.")
            return
        labels = run_store.distinct_labels(runs, with_status=True)
        if active_run_id() not in labels:
            set_active_run(runs[0].id)
        st.session_state[_PICKER] = active_run_id()
        st.selectbox(
            "Run",
            options=list(labels),
            format_func=labels.get,
            key=_PICKER,
            on_change=lambda: set_active_run(st.session_state[_PICKER]),
            help="The run that the Predictions, Evaluate and Report pages show.",
        )
        run = next(run for run in runs if run.id == active_run_id())
        st.caption(f"Trained on {markdown_text(run.dataset)}. {markdown_text(run.message)}")
        _run_actions(run)


def _run_actions(run: run_store.Run) -> None:
    """Rename, download and delete buttons for ``run``."""
    store = resources.store()
    rename, delete = st.columns(2)
    with rename.popover("Rename", width="stretch"):
        new_name = st.text_input("New name", value=run.name, max_chars=run_store.NAME_MAX, key=f"rename_{run.id}")
        if st.button("Save name", key=f"save_name_{run.id}"):
            try:
                store.rename(run.id, new_name)
                st.rerun()
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
    with delete.popover("Delete", width="stretch"):
        st.write(f"Delete **{markdown_text(run.name)}** and its model for good?")
        if st.button("Delete run", type="primary", key=f"delete_{run.id}"):
            try:
                store.delete(run.id)
                set_active_run(None)
                st.rerun()
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
    if run.has_model:
        st.download_button(
            "Download model (.keras)",
            data=lambda: store.model_path(run.id).read_bytes(),
            file_name=run_store.download_filename(run),
            mime="application/octet-stream",
            width="stretch",
            on_click="ignore",
            key=f"download_{run.id}",
        )
