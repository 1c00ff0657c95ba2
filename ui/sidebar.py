"""The sidebar shared by all pages: the dataset picker, and the active run picker with rename, delete and download."""

from __future__ import annotations

import streamlit as st

from mnist_lab import data
from mnist_lab.errors import MnistLabError
from mnist_lab.predictions.inference import portable_model_file
from mnist_lab.runs import choice
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources

ACTIVE_RUN = "active_run"
CHOSEN_DATASET = "chosen_dataset"
#: The active run's id in the URL, so that a reload (a new session) describes the same run. Run ids are not secret.
RUN_PARAM = "run"
_PICKER = "sidebar_run_picker"
_DATASET_PICKER = "sidebar_dataset_picker"
_GONE = "active_run_gone"  # the active run was deleted elsewhere, until the student picks a run
_SWITCHED = "active_run_switched"  # the run a Train-page start replaced, until the student picks a run
_PICKER_HELP = ("The run that the Predictions, Evaluate and Report pages describe. It changes only when you pick "
                "another one, or start a training on the Train page.")
# The pickers' options wrap instead of being cut off ("… · fini"); an <input> cannot wrap, so the caption under
# the picker repeats the chosen run's full name.
_WRAP_OPTIONS = (
    "<style>[role='listbox'][aria-label^='Run'] [role='option'] {height: auto; min-height: 40px; padding-block: 0.3rem;}"
    " [role='listbox'][aria-label^='Run'] [role='option'] > div {white-space: normal; height: auto; overflow: visible;}"
    "</style>"
)


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
    """Make ``run_id`` this session's active run (the student's choice: any notice of a switch is dropped)."""
    st.session_state[ACTIVE_RUN] = run_id
    st.session_state.pop(_SWITCHED, None)
    st.session_state.pop(_GONE, None)


def switch_to_new_training(run_id: str) -> None:
    """Make the training this session just started the active run; the sidebar says so and names the run before."""
    previous = active_run_id()
    set_active_run(run_id)
    if previous is not None and previous != run_id:
        st.session_state[_SWITCHED] = previous


def active_run() -> run_store.Run | None:
    """Return this session's active run with its history, or None."""
    run_id = active_run_id()
    if run_id is None:
        return None
    try:
        return resources.store().get(run_id)
    except run_store.DatabaseUnreachableError:  # kept: it is there again once the database is
        return None
    except MnistLabError:
        set_active_run(None)
        return None


def _choose_first_run(runs: list[run_store.Run], labels: dict[str, str]) -> None:
    """Choose the run of a session that has none: the one named in the URL, else the newest of the student's own."""
    from_url = st.query_params.get(RUN_PARAM)
    default = choice.default_run(runs)
    # Not set_active_run: this is no choice of the student's, so the notices about their choice stay.
    st.session_state[ACTIVE_RUN] = from_url if from_url in labels else default.id if default is not None else None


def _keep_in_url(run_id: str | None) -> None:
    """Write the active run into the URL (page switches drop it), only when it differs."""
    if run_id is None:
        st.query_params.pop(RUN_PARAM, None)
    elif st.query_params.get(RUN_PARAM) != run_id:
        st.query_params[RUN_PARAM] = run_id


def run_choice(label: str, key: str, runs: list[run_store.Run] | None = None) -> None:
    """Draw a picker of the active run, in picker order, with comparison runs tagged and listed last.

    Parameters
    ----------
    label : str
        The picker's label; it starts with "Run" (the options' wrapping style is keyed on it).
    key : str
        The widget key; every picker of the active run needs its own.
    runs : list of Run, optional
        The stored runs, when the caller has them already. Without any, nothing is drawn.
    """
    runs = resources.store().list_runs() if runs is None else runs
    if not runs:
        return
    labels = choice.picker_labels(runs)
    st.session_state[key] = active_run_id()
    st.selectbox(
        label,
        options=list(labels),
        format_func=labels.get,
        key=key,
        placeholder="Choose a run",
        on_change=lambda: set_active_run(st.session_state[key]),
        help=_PICKER_HELP,
    )


def run_picker() -> None:
    """Draw the run picker and the actions on the active run."""
    with st.sidebar:
        st.subheader("Active run")
        if resources.database_away() is not None:  # said above the page
            st.caption("Your runs are listed here again once their database answers.")
            return
        try:
            runs = resources.store().list_runs()
        except MnistLabError as error:
            st.error(f"The run store cannot be read: {markdown_text(str(error))}")
            return
        labels = choice.picker_labels(runs)
        if active_run_id() not in labels:
            if (other := _other_students_run()) is not None:
                _viewing_panel(other)
                return
            gone = active_run_id() is not None
            _choose_first_run(runs, labels)
            if gone:  # said until the student picks a run
                st.session_state[_GONE] = True
        if st.session_state.get(_GONE):
            instead = "Your newest run is shown instead." if runs else "You have no other run."
            st.warning("The run you had chosen no longer exists: it was deleted (in another tab, or by your "
                       f"teacher). {instead}", icon=":material/delete:")
        if not runs:
            st.caption("No runs yet: train one on the Train page.")
            return
        _keep_in_url(active_run_id())
        st.html(_WRAP_OPTIONS)
        run_choice("Run", _PICKER, runs)
        run = next((run for run in runs if run.id == active_run_id()), None)
        if run is None:
            st.caption("Only comparison runs so far: train a run of your own on the Train page, or pick one.")
            return
        _switch_notice(labels)
        st.caption(_describe(run))
        _run_actions(run)


def _other_students_run() -> run_store.Run | None:
    """The active run when it is another student's, which only a teacher can open (from the Class page)."""
    if active_run_id() is None or not resources.user().teacher:
        return None
    try:
        run = resources.store().get(active_run_id())
    except MnistLabError:
        return None
    return run if run.owner != resources.user().id else None


def _viewing_panel(run: run_store.Run) -> None:
    """The sidebar while a teacher looks at a student's run: whose it is, and what the teacher may do with it."""
    st.info(f"You are looking at **{markdown_text(run.owner_name)}**'s run **{markdown_text(run.name)}** "
            f"({run.status}), read-only.", icon=":material/visibility:")
    st.button("Back to my runs", on_click=set_active_run, args=(None,), key="back_to_my_runs", width="stretch")
    _run_actions(run, rename=False)


def _describe(run: run_store.Run) -> str:
    """The run in one or two sentences of Markdown: its full name and status, its dataset, whether a comparison made it."""
    made_by = (" A small run of a one-click comparison on the Report page, not one of your trainings."
               if choice.is_comparison(run) else "")
    return (f"**{markdown_text(run.name)}** · {run.status}. Trained on {markdown_text(run.dataset)}. "
            f"{markdown_text(run.message)}{made_by}")


def _switch_notice(labels: dict[str, str]) -> None:
    """Say that starting a training made it the active run, and which run it replaced."""
    previous = st.session_state.get(_SWITCHED)
    if previous in labels:
        st.info(f"Your new training is now the active run; before, it was **{markdown_text(labels[previous])}**. "
                "Pick that one above to go back to it.", icon=":material/swap_horiz:")


def _run_actions(run: run_store.Run, *, rename: bool = True) -> None:
    """Rename (unless not ``rename``), download and delete buttons for ``run``."""
    store = resources.store()
    if rename:
        rename_column, delete = st.columns(2)
        _rename_popover(rename_column, run)
    else:
        delete = st.container()
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
            data=lambda: portable_model_file(store, run),
            file_name=run_store.download_filename(run),
            mime="application/octet-stream",
            width="stretch",
            on_click="ignore",
            key=f"download_{run.id}",
            help="The network and its weights, loadable with keras.saving.load_model in any Keras 3 (not compiled: "
                 "compile it with a loss and an optimizer to train it further).",
        )


def _rename_popover(column, run: run_store.Run) -> None:
    """The Rename popover of the user's own ``run``."""
    store = resources.store()
    with column.popover("Rename", width="stretch"):
        new_name = st.text_input("New name", value=run.name, key=f"rename_{run.id}")
        if note := run_store.name_note(new_name):
            st.warning(markdown_text(note))
        if st.button("Save name", key=f"save_name_{run.id}"):
            try:
                store.rename(run.id, new_name)
                st.rerun()
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
