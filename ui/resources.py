"""Process-wide resources, created once per server and shared by every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab import store as run_store
from mnist_lab.data import Dataset, shared_mnist


@st.cache_resource(show_spinner="Loading MNIST...")
def dataset() -> Dataset:
    """The bundled MNIST as read-only uint8 arrays, loaded once per server."""
    return shared_mnist()


@st.cache_resource
def store() -> run_store.RunStore:
    """The run store in the configured home directory."""
    return run_store.RunStore()


@st.cache_resource
def trainer():
    """The per-server training engine (imports TensorFlow's side of the library lazily)."""
    from mnist_lab.training import Trainer

    return Trainer(store())


def store_or_stop() -> run_store.RunStore:
    """Return the run store, or explain in the page why it cannot be opened and stop the page."""
    try:
        return store()
    except run_store.StoreError as error:
        st.error(f"The run store cannot be opened: {error}. Set {run_store.HOME_ENV} to a writable folder.")
        st.stop()
