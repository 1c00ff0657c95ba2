"""A run's files: the run's folder in the home, and on a database server the ``run_files`` table.

With SQLite the folder holds the files, as always. With PostgreSQL the table holds every run's latest model and
its cached arrays and the folder is only a cache, filled again from the table when it vanished (a Community Cloud
container's disk is wiped on every restart) or holds another version than the table's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnist_lab.errors import StoreError
from mnist_lab.paths import HOME_ENV
from mnist_lab.runs.schema import insert_or, run_files

logger = logging.getLogger(__name__)

MODEL_FILE = "model.keras"


class RunFiles:
    """The file operations of :class:`mnist_lab.runs.store.RunStore`: each run's model and cached arrays.

    Every method checks the user's access to the run through the store's queries first.
    """

    home: Path
    files_in_database: bool

    def model_path(self, run_id: str) -> Path:
        """Return the path of the saved model of a run the user may read (fetched from a database server)."""
        path = self.run_dir(run_id) / MODEL_FILE
        if self.files_in_database:
            with self._connect(write=False) as db:
                refresh(db, run_id, MODEL_FILE, path)
        return path

    def save_model(self, run_id: str, model: bytes) -> None:
        """Keep the ``.keras`` bytes as the latest model of the user's own run, atomically.

        Raises
        ------
        StoreError
            The run's folder is not writable or the disk is full (the previous model is kept), or the database
            cannot be written.
        """
        path = self.run_dir(run_id) / MODEL_FILE
        try:
            write_atomically(path, model)
        except OSError as error:
            raise StoreError(
                f"the model could not be saved ({error.strerror or error}): the disk is full or the run "
                f"folder is not writable. Free some space or set {HOME_ENV} to a writable folder"
            ) from error
        if self.files_in_database:
            with self._connect() as db:
                self._row(db, run_id, change=True)
                put(db, run_id, MODEL_FILE, model)

    def keep_locally(self, run_id: str, name: str, data: bytes) -> Path:
        """Write ``data`` as the file ``name`` of the user's own run's folder, without the database (a training's
        model while the database server is away); return its path.

        Raises
        ------
        StoreError
            The run's folder is not writable or the disk is full.
        """
        path = self._folder(run_id) / name
        try:
            write_atomically(path, data)
        except OSError as error:
            raise StoreError(f"cannot keep the run's {name} in {path.parent}: {error.strerror or error}") from error
        return path

    def save_array(self, run_id: str, name: str, array: np.ndarray) -> None:
        """Store an array computed from a run the user may read (such as its test-set scores), atomically."""
        target = self.run_dir(run_id) / f"{name}.npy"
        buffer = _npy_bytes(array)
        try:
            write_atomically(target, buffer)
        except OSError as error:
            raise StoreError(f"cannot save {name} for run {run_id}: {error}") from error
        if self.files_in_database:
            with self._connect() as db:
                self._row(db, run_id)
                put(db, run_id, target.name, buffer)

    def load_array(self, run_id: str, name: str) -> np.ndarray | None:
        """Return an array stored with a run the user may read, or None when absent or unreadable."""
        path = self.run_dir(run_id) / f"{name}.npy"
        for attempt in range(2):
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError) as error:
                logger.debug("run %s: %s not loaded (%s)", run_id, path.name, error)
                if attempt or not self.files_in_database:
                    return None
                with self._connect(write=False) as db:
                    if not refresh(db, run_id, path.name, path):
                        return None
        return None

    def cached_array(self, run_id: str, name: str, compute: Callable[[], np.ndarray], *,
                     valid: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
        """Return the array stored with the run under ``name``; when there is none, compute it and store it.

        Parameters
        ----------
        run_id : str
            The run.
        name : str
            The array's file name in the run's folder, without ``.npy``. Put the saved epoch in it
            (``test_scores_epoch3``) when the array depends on the model, so a newer model never reads
            an older model's array.
        compute : callable
            Returns the array; called only when no usable array is stored.
        valid : callable, optional
            Whether a stored array can be used (its shape, its fields); one it rejects is computed and
            stored again.

        Returns
        -------
        numpy.ndarray
            The stored array, or the one ``compute`` returned, which is now stored.

        Raises
        ------
        StoreError
            The computed array cannot be written to the run's folder.
        """
        stored = self.load_array(run_id, name)
        if stored is not None and (valid is None or valid(stored)):
            return stored
        array = compute()
        self.save_array(run_id, name, array)
        return array

    def drop_arrays(self, run_id: str) -> None:
        """Remove the arrays cached with a run the user may read, so they are computed again."""
        for path in self.run_dir(run_id).glob("*.npy"):
            path.unlink(missing_ok=True)
        if self.files_in_database:
            with self._connect() as db:
                drop(db, run_id, ".npy")





def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique partial file, so a reader never sees half a file.

    Raises
    ------
    OSError
        The folder is not writable or the disk is full; nothing is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def sha256_of(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def put(db: Connection, run_id: str, name: str, data: bytes) -> None:
    """Keep ``data`` as the run's file ``name`` in the database, replacing the one before."""
    insert_or(db, run_files, {"run_id": run_id, "name": name, "sha256": sha256_of(data), "saved": time.time(),
                              "data": data}, keys=("run_id", "name"), update=("sha256", "saved", "data"))


def refresh(db: Connection, run_id: str, name: str, path: Path) -> bool:
    """Make ``path`` hold the database's version of the run's file ``name``; False when the database has none.

    The file is read from the database only when ``path`` is missing or differs from it (by SHA-256).
    """
    sha = db.execute(sa.select(run_files.c.sha256).where(run_files.c.run_id == run_id,
                                                         run_files.c.name == name)).scalar_one_or_none()
    if sha is None:
        return False
    if _local_sha256(path) == sha:
        return True
    data = db.execute(sa.select(run_files.c.data).where(run_files.c.run_id == run_id,
                                                        run_files.c.name == name)).scalar_one()
    try:
        write_atomically(path, bytes(data))
    except OSError as error:
        raise StoreError(f"cannot write the run's {name} to the cache folder {path.parent}: {error}") from error
    logger.info("run %s: %s fetched from the database into %s", run_id, name, path.parent)
    return True


def drop(db: Connection, run_id: str, suffix: str) -> None:
    """Remove the run's files whose names end with ``suffix`` from the database."""
    db.execute(sa.delete(run_files).where(run_files.c.run_id == run_id, run_files.c.name.like(f"%{suffix}")))


def _local_sha256(path: Path) -> str | None:
    try:
        return sha256_of(path.read_bytes())
    except OSError:
        return None


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
