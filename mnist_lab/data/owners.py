"""Who added each imported dataset, how many a student may add, and who may delete one.

An import records its owner in ``owner.json`` in its folder (``{"id", "name", "added"}``: the
:class:`mnist_lab.access.User` who added it and when); with a database server also in the ``datasets`` table
(:mod:`mnist_lab.data.stored`), which is then what is read, the folder being only a cache. Imports from before MNIST Lab recorded owners belong to
the one user of a personal lab (``PERSONAL``), as runs from before identities did; in a shared lab only a
teacher can delete them.

The rules, as for runs (:meth:`mnist_lab.runs.store.RunStore.delete`): a student adds at most
``limits.MAX_DATASETS_PER_STUDENT`` datasets and deletes their own while no run of anyone else was trained on
them; a teacher deletes any imported dataset. Nobody deletes the bundled MNIST, a folder the server's operator
configured in ``MNIST_LAB_DATASETS``, or a dataset a training is using or waiting to use.

The runs of a deleted dataset are kept: their names, settings, training figures and stored evaluations stay, as
a teacher marking the work expects; only what needs the dataset's images again (a new evaluation, the test
images on the Predictions page) is no longer possible, and says so.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.access.users import PERSONAL, User
from mnist_lab.data import limits, stored
from mnist_lab.data.datasets import MNIST_NAME
from mnist_lab.data.folders import read_idx_folder
from mnist_lab.data.registry import DATASETS_ENV, _registered, cache, datasets_root
from mnist_lab.data.stored import OWNER_FILE
from mnist_lab.errors import AccessError, DatasetError, LimitExceededError, StoreError
from mnist_lab.text import plural

logger = logging.getLogger(__name__)

#: What happens to the runs of a deleted dataset, for the pages' confirmations.
KEPT_RUNS = ("Runs trained on it are kept with their figures and evaluations; their models can no longer be "
             "evaluated again on its images.")

#: Held while a student's count is checked and a new dataset published, so two tabs cannot both add the last one.
adding = threading.Lock()


@dataclass(frozen=True)
class ImportedDataset:
    """One dataset added by an import, with who added it.

    Attributes
    ----------
    name : str
        The dataset's name.
    owner : str
        The id of the user who added it (``User.id``).
    owner_name : str
        Their name, for a teacher's table.
    added : float
        When, in seconds since the epoch; 0 when not recorded.
    size : int
        Bytes of its files (as the database server records them, or on disk).
    """

    name: str
    owner: str
    owner_name: str
    added: float
    size: int


@dataclass(frozen=True)
class DatasetDeletion:
    """What deleting a dataset did: its name and the runs trained on it, which are kept."""

    name: str
    kept_runs: tuple[str, ...]

    @property
    def message(self) -> str:
        """One sentence for the page that deleted it."""
        if not self.kept_runs:
            return f"Deleted the dataset {self.name!r}."
        shown = ", ".join(repr(name) for name in self.kept_runs[:5]) + (", ..." if len(self.kept_runs) > 5 else "")
        one = len(self.kept_runs) == 1
        return (f"Deleted the dataset {self.name!r}. {plural(len(self.kept_runs), 'run')} trained on it ({shown}) "
                f"{'is' if one else 'are'} kept with {'its' if one else 'their'} figures and evaluations; "
                f"{'its model' if one else 'their models'} can no longer be evaluated again on its images.")


def is_limited(user: User) -> bool:
    """Whether ``user`` is held to ``limits.MAX_DATASETS_PER_STUDENT``: a student, not a teacher or a personal lab's user."""
    return not user.teacher and user.id != PERSONAL.id


def owner_record(user: User) -> str:
    """Return the content of ``owner.json`` for a dataset ``user`` adds now."""
    return json.dumps({"id": user.id, "name": user.name, "added": time.time()}, indent=2) + "\n"


def _read_owner(folder: Path) -> tuple[str, str, float]:
    """Return the owner's id, name and the time added recorded in ``folder``; PERSONAL's for an older import."""
    path = folder / OWNER_FILE
    try:
        if path.stat().st_size > 64 * 1024:
            raise ValueError("too big")
        record = json.loads(path.read_text(encoding="utf-8"))
        return str(record["id"]), str(record["name"]), float(record.get("added", 0))
    except FileNotFoundError:
        return PERSONAL.id, PERSONAL.name, 0.0
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("%s: unreadable (%s); the dataset is treated as a teacher's to delete", path, error)
        return "", "unknown", 0.0


def _size(folder: Path) -> int:
    """Bytes of the files in ``folder``."""
    try:
        return sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())
    except OSError:
        return 0


def imported_datasets(home: Path | None = None, *, database: str | None = None) -> list[ImportedDataset]:
    """Return the datasets added by imports, sorted by name.

    Parameters
    ----------
    home : Path, optional
        Home directory; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL; with a server the imports are read from its ``datasets`` table, else from
        ``<home>/datasets/``. ``$MNIST_LAB_DATABASE_URL``, else the home's SQLite file, when absent.

    Returns
    -------
    list of ImportedDataset
        Only imports that are offered under their name (a folder of ``MNIST_LAB_DATASETS`` with the same name
        takes it).
    """
    root = datasets_root(home)
    registered = _registered(home, database)
    engine = stored.server_engine(home, database)
    if engine is not None:
        return [ImportedDataset(record.name, record.owner, record.owner_name, record.added, record.size)
                for record in stored.stored_datasets(engine) if registered.get(record.name) == root / record.name]
    found = []
    for name, folder in registered.items():
        if folder.parent == root:
            owner, owner_name, added = _read_owner(folder)
            found.append(ImportedDataset(name, owner, owner_name, added, _size(folder)))
    return sorted(found, key=lambda record: record.name)


def imported_dataset(name: str, home: Path | None = None, *, database: str | None = None) -> ImportedDataset | None:
    """Return the import called ``name``, or None when no import has that name (MNIST, a configured folder)."""
    return next((record for record in imported_datasets(home, database=database) if record.name == name), None)


def may_delete(record: ImportedDataset, user: User) -> bool:
    """Whether ``user`` may delete ``record`` as far as ownership goes (a teacher, or the one who added it)."""
    return user.teacher or (bool(record.owner) and record.owner == user.id)


def check_may_add(user: User, home: Path | None = None, *, database: str | None = None) -> None:
    """Refuse a new dataset from a student who already has ``limits.MAX_DATASETS_PER_STUDENT``.

    Raises
    ------
    LimitExceededError
        The message says how many they have and how to free a place.
    """
    if not is_limited(user):
        return
    theirs = [record.name for record in imported_datasets(home, database=database) if record.owner == user.id]
    if len(theirs) >= limits.MAX_DATASETS_PER_STUDENT:
        raise LimitExceededError(
            f"you have added {plural(len(theirs), 'dataset')} ({', '.join(theirs)}); the limit is "
            f"{limits.MAX_DATASETS_PER_STUDENT} per student: delete one of yours on the Data page to add another"
        )


def delete_dataset(name: str, user: User, home: Path | None = None, *, database: str | None = None) -> DatasetDeletion:
    """Delete the imported dataset ``name`` for ``user``, keeping the runs trained on it.

    Parameters
    ----------
    name : str
        An imported dataset's name.
    user : User
        Who deletes it: a teacher, or the student who added it while no run of another user was trained on it.
    home : Path, optional
        Home directory of the datasets and the run store; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL (the app's secrets'); ``$MNIST_LAB_DATABASE_URL`` or the home's SQLite file
        when absent.

    Returns
    -------
    DatasetDeletion
        Its name and the names of the runs trained on it (all kept; see the module's docstring).

    Raises
    ------
    AccessError
        ``user`` is a student who did not add it, or other students' runs were trained on it.
    DatasetError
        No import has this name (MNIST and the operator's folders cannot be deleted), or a training is using it
        or waiting to; the folder cannot be removed.
    """
    from mnist_lab.runs.store import RUNNING, RunStore  # the run store imports this package: import on use

    if name == MNIST_NAME:
        raise DatasetError("the bundled MNIST cannot be deleted")
    record = imported_dataset(name, home, database=database)
    if record is None:
        if name in _registered(home, database):
            raise DatasetError(
                f"the dataset {name!r} is a folder the server's operator set in {DATASETS_ENV}, not an import: "
                "it is removed from that setting, not here"
            )
        raise DatasetError(f"no imported dataset named {name!r}")
    if not may_delete(record, user):
        raise AccessError(f"the dataset {name!r} was added by another user: only they or a teacher can delete it")
    from mnist_lab.access.users import SERVER

    try:
        runs = [run for run in RunStore(home, user=SERVER, database=database).list_runs(everyone=True) if run.dataset == name]
    except StoreError as error:
        raise DatasetError(f"the runs trained on {name!r} cannot be checked ({error}); try again") from error
    training = [run for run in runs if run.status == RUNNING]
    if training:
        raise DatasetError(
            f"{plural(len(training), 'training')} on {name!r} {'is' if len(training) == 1 else 'are'} running or "
            "waiting to run: stop it before deleting the dataset"
        )
    others = [run for run in runs if run.owner != user.id]
    if others and not user.teacher:
        raise AccessError(
            f"{plural(len(others), 'run')} of other students {'was' if len(others) == 1 else 'were'} trained on "
            f"{name!r}: only a teacher can delete it now"
        )
    engine = stored.server_engine(home, database)
    if engine is not None:
        stored.remove(engine, name)
    _remove_folder(datasets_root(home) / name, name, cache_only=engine is not None)
    cache.release(name)
    logger.info("deleted the dataset %r (added by %s) for %s; %d runs kept", name, record.owner, user.id, len(runs))
    return DatasetDeletion(name, tuple(run.name for run in runs))


def _remove_folder(folder: Path, name: str, *, cache_only: bool) -> None:
    """Remove a deleted dataset's folder; ``cache_only``: the database held it, so a missing folder is no error.

    Raises
    ------
    DatasetError
        The folder holds the dataset (not ``cache_only``) and cannot be removed.
    """
    doomed = folder.with_name(f".deleting-{secrets.token_hex(4)}")  # dot folders are not offered by name
    try:
        folder.rename(doomed)
    except OSError as error:
        if not cache_only:
            raise DatasetError(f"the dataset {name!r} could not be deleted ({error.strerror or error}); try "
                               "again") from error
        if not isinstance(error, FileNotFoundError):
            logger.warning("The cached copy of the deleted dataset %r stays in %s: %s", name, folder, error)
        return
    shutil.rmtree(doomed, ignore_errors=True)


def record_dataset_folder(name: str, home: Path | None = None, *, database: str | None = None) -> bool:
    """Record in the database the dataset folder ``<home>/datasets/<name>/`` already written in the home.

    For code that writes a dataset's folder itself (a class archive being restored) and must make it as durable
    as an import: with a database server, the folder's files and its owner (``owner.json``) are added to the
    ``datasets`` tables in one transaction, after the folder is read as a dataset; with SQLite the folder is the
    dataset already and nothing is written.

    Parameters
    ----------
    name : str
        The dataset's name: its folder's name under ``<home>/datasets/``.
    home : Path, optional
        Home directory; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL; ``$MNIST_LAB_DATABASE_URL``, else the home's SQLite file, when absent.

    Returns
    -------
    bool
        True when the dataset was written to a database server, False with SQLite.

    Raises
    ------
    DatasetError
        The name cannot name a folder, the folder does not read as a dataset (``read_idx_folder``) or holds files
        a dataset does not have, its files are too big, or the database already has a dataset of that name
        (compared ignoring case) or cannot be written.
    """
    if not stored.is_dataset_name(name) or name.casefold() == MNIST_NAME.casefold():
        raise DatasetError(f"{name!r} cannot name an imported dataset")
    engine = stored.server_engine(home, database)
    if engine is None:
        return False
    folder = datasets_root(home) / name
    read_idx_folder(folder, name=name, where=name)
    owner, owner_name, added = _read_owner(folder)
    try:
        with stored.transaction(engine, write=True) as db:
            stored.insert_folder(db, name, folder, owner=owner, owner_name=owner_name, added=added)
    except OSError as error:
        raise DatasetError(f"the dataset {name!r} cannot be read from {folder.parent} "
                           f"({error.strerror or error})") from error
    return True
