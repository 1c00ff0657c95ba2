"""Saving and restoring work as an archive: the whole class on the Class page, one's own runs in a personal lab."""

import io
import logging

import streamlit as st

from mnist_lab import access, archive
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import resources

logger = logging.getLogger(__name__)

#: The server's own upload limit (``maxUploadSize`` in .streamlit/config.toml); a larger archive goes through
#: ``mnist-lab archive import``.
UPLOAD_MB = 200
_IMPORTED = "archive_imported_message"
#: The key of the personal lab's backup panel in the sidebar (True while it is open).
PERSONAL_PANEL = "personal_backup_open"
#: The key of the Class page's import panel (True while it is open).
CLASS_IMPORT_PANEL = "class_archive_import_open"


def where_the_work_lives(store: run_store.RunStore) -> str:
    """Where the class's runs are kept, in a sentence of Markdown, without the database's password."""
    if store.files_in_database:
        url = store.setting.url
        return (f"The class's work lives in PostgreSQL at host **{markdown_text(url.host or 'localhost')}** "
                f"(database **{markdown_text(url.database or '')}**): it outlives a restart of this server.")
    return ("The class's work lives on this server's disk (a SQLite file in the lab's home). Streamlit Community Cloud "
            "wipes that disk at every restart: connect a database (`[connections.mnist_lab] url` in the secrets) or "
            "download the archive below and import it after a restart.")


def _archive_of(store: run_store.RunStore) -> bytes:
    """The archive of what the store's user may take away, built when the download is clicked."""
    buffer = io.BytesIO()
    manifest = archive.export_archive(store, buffer)
    logger.info("archive downloaded by %s: %s", store.user.id, manifest["counts"])
    return buffer.getvalue()


def _import_form(store: run_store.RunStore, key: str) -> None:
    """An uploader and an Import button; the summary (or the refusal) is shown after the rerun."""
    if _IMPORTED in st.session_state:
        st.success(markdown_text(st.session_state.pop(_IMPORTED)))
    upload = st.file_uploader("An MNIST Lab archive (.zip)", type=["zip"], key=f"{key}_upload",
                              max_upload_size=UPLOAD_MB)
    if upload is None or not st.button("Import the archive", key=f"{key}_import", icon=":material/upload:"):
        return
    try:
        summary = archive.import_archive(store, upload)
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[_IMPORTED] = summary.message
    st.rerun()


def class_archive_section(store: run_store.RunStore) -> None:
    """The Class page's section: where the work lives, the class's archive to download, an archive to import."""
    st.header("Save and restore the class")
    st.markdown(where_the_work_lives(store))
    st.download_button(
        "Download the class archive (.zip)", data=lambda: _archive_of(store), file_name="mnist-lab-class.zip",
        mime="application/zip", icon=":material/archive:", on_click="ignore", key="class_archive",
        help="Every run with its model, epochs, answers and revealed explanations, the students' names, the class's "
             "settings and limits, the receipts issued, the key that signs hand-ins, and the imported datasets. "
             "Built when you click. Keep it private: with its key, anyone could sign hand-ins as this server.")
    # Drawn only while open, as the sidebar's backup: the page's other uploader (a hand-in to check) stays the only one.
    panel = st.expander("Import an archive", icon=":material/upload:", key=CLASS_IMPORT_PANEL, on_change="rerun")
    if panel.open:
        with panel:
            _import_form(store, "class_archive")
    st.caption("Importing checks the whole archive before writing anything, and adds only what is not here yet: "
               f"importing it twice changes nothing. Larger than {UPLOAD_MB} MB: `mnist-lab archive import FILE`.")


def personal_backup() -> None:
    """The sidebar's backup of a personal lab (nobody else's runs are on it): all its runs to a .zip, and back."""
    if resources.user().id != access.PERSONAL.id:
        return
    try:
        store = resources.store()
    except MnistLabError:  # the run picker above says why the store cannot be opened
        return
    # Drawn only while open: a closed expander's uploader would still be in the page, beside the page's own.
    panel = st.sidebar.expander("Back up your runs", icon=":material/archive:", key=PERSONAL_PANEL, on_change="rerun")
    if not panel.open:
        return
    with panel:
        st.download_button(
            "Download all your runs (.zip)", data=lambda: _archive_of(store), file_name="mnist-lab-runs.zip",
            mime="application/zip", on_click="ignore", key="personal_archive", width="stretch",
            help="Your runs with their models, epochs and answers, and the datasets you added, to restore here or "
                 "on another machine.")
        _import_form(store, "personal_archive")
