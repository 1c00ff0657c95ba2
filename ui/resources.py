"""Process-wide resources, created once per server and shared by every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab import access, data
from mnist_lab.data import Dataset
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import identity

_USER = "mnist_lab_user"
_AWAY = "mnist_lab_database_away"  # why the database cannot be reached on this rerun; absent when it can
#: Where the app's database URL is set, following Streamlit's convention for ``st.connection``.
DATABASE_SECRET = "[connections.mnist_lab] url in .streamlit/secrets.toml"


def dataset_names() -> list[str]:
    """Names of the datasets this server offers: MNIST first, then the configured and imported ones; only MNIST
    while the database that lists the imports cannot be reached (the page has said so)."""
    if database_away():
        return [data.MNIST_NAME]
    return data.dataset_names(run_store.default_home(), database=database_url())


def dataset(name: str = data.MNIST_NAME) -> Dataset:
    """The dataset called ``name`` as read-only uint8 arrays, from the server's byte-bounded dataset cache
    (:mod:`mnist_lab.data.cache`; no second cache here, so a dataset no page uses is released; raises DatasetError)."""
    return data.get_dataset(name, run_store.default_home(), database=database_url())


def dataset_of(run: run_store.Run) -> Dataset:
    """The dataset ``run`` was trained on, checked against its recorded checksum (raises DatasetError)."""
    return data.dataset_for_run(run.dataset, run.dataset_sha256, run_store.default_home(), database=database_url())


def sign_in() -> access.User:
    """Find out who this session acts for (see :mod:`ui.identity`); the router calls it before every page."""
    st.session_state[_USER] = identity.current_user()
    return st.session_state[_USER]


def user() -> access.User:
    """Who this session acts for, as the router found it on this rerun."""
    return st.session_state[_USER] if _USER in st.session_state else sign_in()


def store() -> run_store.RunStore:
    """The run store in the configured home directory, acting for this session's user."""
    return _store_at(str(run_store.default_home()), database_url()).as_user(user())


def database_url() -> str | None:
    """The database URL of the secrets (``[connections.mnist_lab] url``); None: ``MNIST_LAB_DATABASE_URL``, else
    the SQLite file in the home. The library never reads Streamlit's secrets: this hands it the URL."""
    section = identity.app_secrets().get("connections") or {}
    chosen = section.get("mnist_lab") if isinstance(section, dict) else None
    url = chosen.get("url") if isinstance(chosen, dict) else None
    return str(url) if url else None


def _reader(home: str) -> run_store.RunStore:
    """The server's reading view, for results shared by sessions; only for runs ``store()`` has returned."""
    return _store_at(home, database_url()).as_user(access.SERVER)


def trainer():
    """The per-server training facade of the configured home; the first call starts the Dask engine in the
    background (the embedded cluster and TensorFlow in its workers), so the first Start does not wait for it."""
    return _trainer_at(str(run_store.default_home()), database_url())


@st.cache_resource
def _store_at(home: str, url: str | None) -> run_store.RunStore:
    return run_store.RunStore(home, database=url, database_setting=DATABASE_SECRET if url else None)


@st.cache_resource
def _trainer_at(home: str, url: str | None):
    from mnist_lab.training import Trainer

    trainer = Trainer(_store_at(home, url), limits=identity.settings().limits)  # a shared lab's limits, from the secrets
    trainer.warm_up()
    return trainer


def check_database() -> None:
    """Reach the run store's database once for this rerun; when it cannot be reached, say so in one sentence.

    The router calls it before the sidebar and the page, which then leave out what needs the database
    (:func:`database_away`) and show the rest. While the server is down this costs one connection attempt per
    rerun, bounded by ``mnist_lab.runs.database.CONNECT_TIMEOUT_S``. Other problems of the store are told by the
    pages that need it (:func:`store_or_stop`).
    """
    st.session_state.pop(_AWAY, None)
    try:
        opened = store()
        if opened.database is None:  # a server; a SQLite file in the home does not go away between reruns
            opened.ping()
    except run_store.DatabaseUnreachableError as error:
        st.session_state[_AWAY] = str(error)
        st.error(f"Your runs cannot be shown or saved for now: {markdown_text(str(error))}.",
                 icon=":material/cloud_off:")
    except run_store.StoreError:
        return  # not an outage: the pages that need the store say what is wrong (store_or_stop)


def database_away() -> str | None:
    """Why the run store's database cannot be reached on this rerun (already said on the page), or None."""
    return st.session_state.get(_AWAY)


def trainer_unless_away():
    """The trainer, or None while the database is away and the trainer was never made (it needs the store)."""
    try:
        return trainer()
    except run_store.DatabaseUnreachableError:
        return None


def store_or_stop() -> run_store.RunStore:
    """Return the run store, or explain in the page why it cannot be opened and stop the page.

    While the database cannot be reached the page stops without a word of its own: :func:`check_database` has
    said so above it.
    """
    if database_away() is not None:
        st.stop()
    try:
        return store()
    except run_store.DatabaseSettingError as error:
        st.error(f"The run store's database cannot be used: {markdown_text(str(error))}.")
        st.stop()
    except run_store.StoreError as error:
        st.error(f"The run store cannot be opened: {error}. Set {run_store.HOME_ENV} to a writable folder.")
        st.stop()


def run_model(run: run_store.Run):
    """The loaded model of ``run``, shared by every page and session (raises ModelUnavailableError)."""
    return _model_at(str(run_store.default_home()), run.id, run.saved_epochs)


@st.cache_resource(max_entries=3, show_spinner=False)  # the pages say what they wait for
def _model_at(home: str, run_id: str, saved_epochs: int):
    from mnist_lab.predictions.inference import RunModel

    store = _reader(home)
    return RunModel.load(store, store.get(run_id))


def evaluation_of(run: run_store.Run):
    """The test-set evaluation of ``run``'s saved model, computed once and shared by every page and session."""
    return _evaluation_at(str(run_store.default_home()), run.id, run.saved_epochs)


@st.cache_data(max_entries=16, show_spinner=False)
def _evaluation_at(home: str, run_id: str, saved_epochs: int):
    from mnist_lab import evaluation

    store = _reader(home)
    run = store.get(run_id)
    return evaluation.evaluate_run(store, run, lambda: run_model(run), dataset_of(run))


def test_scores_of(run: run_store.Run):
    """Class probabilities of ``run``'s saved model on its dataset's test images, computed once per model."""
    return _test_scores_at(str(run_store.default_home()), run.id, run.saved_epochs)


@st.cache_data(max_entries=4, show_spinner=False)
def _test_scores_at(home: str, run_id: str, saved_epochs: int):
    from mnist_lab.predictions import inference

    store = _reader(home)
    run = store.get(run_id)
    return inference.test_scores(store, run, run_model(run), dataset_of(run).x_test)
