"""The one way to delete an imported dataset from a page: a popover that asks, deletes and says what was kept."""

from collections.abc import Callable

import streamlit as st

from mnist_lab import data as datasets
from mnist_lab.data import owners
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources


def delete_popover(name: str, *, label: str, key: str, message_key: str,
                   after: Callable[[], None] = lambda: None) -> None:
    """A popover asking to delete the dataset ``name`` for good, for this session's user.

    The library decides whether the user may (a teacher any import, a student their own, not while another
    student's run uses it); a refusal is shown in the popover. After a deletion ``after`` runs (a page clears its
    caches), the deletion's message waits in ``st.session_state[message_key]`` for the page to show it, and the
    script reruns.
    """
    with st.popover(label, icon=":material/delete:"):
        st.write(f"Delete the dataset **{markdown_text(name)}** for good? {owners.KEPT_RUNS}")
        if st.button("Delete dataset", type="primary", key=key):
            try:
                deletion = datasets.delete_dataset(name, resources.user(), run_store.default_home(),
                                                   database=resources.database_url())
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
                return
            after()
            st.session_state[message_key] = deletion.message
            st.rerun()
