"""Adding a dataset of one's own from uploaded files, and deleting an imported one, on the Data page."""

from __future__ import annotations

import streamlit as st

from mnist_lab import data as datasets
from mnist_lab.data import limits
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import dataset_delete, dataset_stats, resources, sidebar


def add_dataset() -> None:
    """The form that imports a dataset in MNIST's format from uploaded files."""
    with st.expander("Add your own dataset (MNIST format)"):
        st.markdown(
            "Upload the four IDX files under MNIST's names (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, "
            "`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each may end in `.gz`), optionally a "
            "`classes.txt` with one class name per line, or one `.zip` holding them. Fashion-MNIST, "
            "Kuzushiji-MNIST and the EMNIST splits come in this form. The files are checked before anything is stored: "
            f"at most {limits.MAX_TRAIN_IMAGES:,} training and {limits.MAX_TEST_IMAGES:,} test images "
            f"(MNIST has 60,000 and 10,000), and {limits.MAX_DATASETS_PER_STUDENT} datasets per student."
        )
        files = st.file_uploader("Dataset files", accept_multiple_files=True, key="dataset_files",
                                 max_upload_size=datasets.MAX_UPLOAD_BYTES // 2**20)
        name = st.text_input("Dataset name", max_chars=40, key="dataset_name", placeholder="for example Fashion-MNIST")
        if st.button("Add dataset", disabled=not files or not name, key="dataset_add"):
            try:
                with st.spinner("Checking and storing the dataset..."):
                    added = datasets.import_idx_upload({f.name: f.getvalue() for f in files}, name,
                                                       run_store.default_home(), user=resources.user(),
                                                       database=resources.database_url())
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
                return
            sidebar.choose_dataset(added.name)
            st.rerun()


def delete_control(name: str, *, message_key: str) -> None:
    """A Delete control for the dataset ``name`` when it is an import this session's user may delete."""
    home, user = run_store.default_home(), resources.user()
    try:
        record = datasets.imported_dataset(name, home, database=resources.database_url())
    except MnistLabError:  # the imports cannot be listed: the sidebar's dataset picker has said why
        return
    if record is None or not datasets.may_delete(record, user):
        return

    def forget_it():
        dataset_stats.forget()
        sidebar.choose_dataset(datasets.MNIST_NAME)

    dataset_delete.delete_popover(name, label="Delete this dataset", key="dataset_delete", message_key=message_key,
                                  after=forget_it)
