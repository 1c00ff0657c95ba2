"""Imported datasets kept in a database server, the home's ``datasets/<name>/`` folder only caching them.

With a database server (PostgreSQL: :mod:`mnist_lab.runs.database`) the tables ``datasets`` and ``dataset_files``
hold every imported dataset: its name, who added it and when, and each file of its folder with its SHA-256 and
size. The folder in the home is written back from them when it is missing or holds another version (a Community
Cloud container's disk is wiped at every restart), atomically: the files go into a hidden folder first, each
checked against its recorded SHA-256 and size, and one rename publishes them. A row that fails a check (damaged,
altered or oversized) is refused with a message and nothing is written.

With SQLite the home's folders are the datasets, as before any database could be chosen, and this module does
nothing: :func:`server_engine` returns None.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from mnist_lab.data import limits
from mnist_lab.data.folders import CHECKSUMS_FILE, CLASSES_FILE, TRANSPOSED_MARKER, role_of
from mnist_lab.errors import DatasetError
from mnist_lab.paths import default_home
from mnist_lab.runs import database as database_mod
from mnist_lab.runs.files import sha256_of
from mnist_lab.runs.schema import dataset_files, datasets

logger = logging.getLogger(__name__)

#: The owner record's file name (:mod:`mnist_lab.data.owners` writes and reads it).
OWNER_FILE = "owner.json"
#: A bound on a dataset's small files (classes, checksums, owner, marker). When the cache is checked, files this
#: size or smaller are compared by SHA-256, larger ones (the IDX files) by size only: ``checksums.json`` names their
#: content and every load verifies them against it, so hashing them again on every read would only repeat that.
SMALL_FILE_BYTES = 64 * 1024

_upgraded: set[str] = set()
_upgrading = threading.Lock()
#: One write-back at a time in this process: two at once would swap the folder under each other's readers.
_materializing = threading.Lock()


@dataclass(frozen=True)
class StoredDataset:
    """One dataset's row: its name, who added it (id and name), when, and the bytes of its files."""

    name: str
    owner: str
    owner_name: str
    added: float
    size: int


def max_stored_bytes() -> int:
    """Most bytes the files of one dataset may take in the database: its files as uploaded (at most
    ``limits.MAX_UPLOAD_BYTES``, read when called so a test can lower it) and its small files."""
    return limits.MAX_UPLOAD_BYTES + 3 * SMALL_FILE_BYTES


def is_stored_file(filename: str) -> bool:
    """Whether ``filename`` may be a file of a stored dataset: the four IDX files, its records and markers."""
    return Path(filename).name == filename and not filename.startswith(".") and (
        role_of(filename) is not None or filename in (CLASSES_FILE, TRANSPOSED_MARKER, CHECKSUMS_FILE, OWNER_FILE)
    )


def is_dataset_name(name: str) -> bool:
    """Whether ``name`` may name a dataset's folder: one path component, not hidden (``.import-*`` are not)."""
    return bool(name) and Path(name).name == name and not name.startswith(".") and "\\" not in name


def server_engine(home: Path | None, database: str | None) -> Engine | None:
    """The engine of the database server that keeps the datasets, its schema up to date; None for SQLite.

    Parameters
    ----------
    home : Path or None
        The home directory (where the default SQLite file lives); ``paths.default_home()`` when None.
    database : str or None
        The database URL; None: ``$MNIST_LAB_DATABASE_URL``, else the home's SQLite file.

    Raises
    ------
    DatabaseSettingError
        The URL is unusable.
    DatabaseUnreachableError
        The database server cannot be reached now.
    DatasetError
        The database's schema cannot be brought up to date.
    """
    chosen = database_mod.resolve(database, home=home if home is not None else default_home())
    if chosen.sqlite_file is not None:
        return None
    engine = database_mod.engine_for(chosen)
    key = chosen.url.render_as_string(hide_password=False)
    with _upgrading:
        if key not in _upgraded:
            from mnist_lab.runs import upgrade  # import on use: runs.upgrade imports this package through migrations

            try:
                upgrade.upgrade(engine, chosen)
            except exc.SQLAlchemyError as error:
                if database_mod.unreachable(error, chosen):
                    raise database_mod.unreachable_error(error, chosen) from error
                raise DatasetError(f"the datasets in {chosen.shown} cannot be reached now "
                                   f"({database_mod.scrub(error, chosen)}); try again") from error
            _upgraded.add(key)
    return engine


@contextlib.contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction on the datasets' tables: a server out of reach raises DatabaseUnreachableError, any other
    database failure a DatasetError saying to try again."""
    try:
        with database_mod.begin(engine, write=write) as db:
            yield db
    except exc.SQLAlchemyError as error:
        chosen = database_mod.DatabaseSetting(engine.url, "the run store's database setting")
        if database_mod.unreachable(error, chosen):  # an outage the pages already tell of: not the datasets' fault
            logger.info("The datasets' tables in %s cannot be reached: %s", chosen.shown, error)
            raise database_mod.unreachable_error(error, chosen) from error
        logger.error("The datasets' tables in %s failed: %s", engine.url, error)
        raise DatasetError(f"the datasets in the database cannot be {'written' if write else 'read'} now "
                           f"({type(error).__name__}); try again, or tell whoever runs the lab") from error


def stored_datasets(engine: Engine) -> list[StoredDataset]:
    """Every dataset in the database, sorted by name; a row whose name cannot be a folder's is left out."""
    size = sa.func.coalesce(sa.func.sum(dataset_files.c.bytes), 0)
    query = (sa.select(datasets.c.name, datasets.c.owner, datasets.c.owner_name, datasets.c.added, size)
             .select_from(datasets.outerjoin(dataset_files, dataset_files.c.dataset == datasets.c.name))
             .group_by(datasets.c.name).order_by(datasets.c.name))
    with transaction(engine, write=False) as db:
        rows = db.execute(query).all()
    found = []
    for name, owner, owner_name, added, total in rows:
        if is_dataset_name(name):
            found.append(StoredDataset(name, owner, owner_name, float(added), int(total)))
        else:
            logger.warning("The database names a dataset %r, which cannot name a folder; it is not offered", name)
    return found


def insert_folder(db: Connection, name: str, folder: Path, *, owner: str, owner_name: str, added: float) -> None:
    """Add the dataset ``name`` with the files of ``folder`` to the database, in the caller's transaction.

    Raises
    ------
    DatasetError
        The name is taken in the database (compared ignoring case), the folder holds a file a dataset does not
        have, or its files are over :func:`max_stored_bytes`.
    OSError
        A file cannot be read.
    """
    taken = db.execute(sa.select(datasets.c.name).where(sa.func.lower(datasets.c.name) == name.lower())).first()
    if taken is not None:
        raise DatasetError(f"a dataset named {taken[0]!r} already exists; choose another name")
    files = sorted(entry for entry in folder.iterdir() if entry.is_file())
    strange = [entry.name for entry in files if not is_stored_file(entry.name)]
    if strange:
        raise DatasetError(f"the dataset {name!r} holds files a dataset does not have ({', '.join(strange)})")
    total = sum(entry.stat().st_size for entry in files)
    if total > max_stored_bytes():
        raise DatasetError(f"the dataset {name!r} takes {limits.format_bytes(total)}; the limit is "
                           f"{limits.format_bytes(max_stored_bytes())}")
    db.execute(sa.insert(datasets).values(name=name, owner=owner, owner_name=owner_name, added=added))
    for entry in files:
        data = entry.read_bytes()
        db.execute(sa.insert(dataset_files).values(dataset=name, name=entry.name, sha256=sha256_of(data),
                                                   bytes=len(data), data=data))
    logger.info("dataset %r stored in the database (%d files, %d bytes)", name, len(files), total)


def remove(engine: Engine, name: str) -> bool:
    """Delete the dataset ``name`` from the database; False when it was not there."""
    with transaction(engine, write=True) as db:
        db.execute(sa.delete(dataset_files).where(dataset_files.c.dataset == name))
        return bool(db.execute(sa.delete(datasets).where(datasets.c.name == name)).rowcount)


def materialize(engine: Engine, name: str, folder: Path) -> None:
    """Make ``folder`` hold the database's version of the dataset ``name``, writing it back when it does not.

    Raises
    ------
    DatasetError
        The database has no such dataset, or a stored file is damaged, altered or oversized (nothing is
        written), or the folder cannot be written.
    """
    with transaction(engine, write=False) as db:
        listed = _listing(db, name)
        if _is_cached(folder, listed):
            return
        with _materializing:
            if _is_cached(folder, listed):
                return
            _check_listing(name, listed)
            staging = _staging(folder)
            try:
                for filename, sha256, size, _ in listed:
                    data = bytes(db.execute(sa.select(dataset_files.c.data).where(
                        dataset_files.c.dataset == name, dataset_files.c.name == filename)).scalar_one())
                    if len(data) != size or sha256_of(data) != sha256:
                        raise DatasetError(_altered(name, filename))
                    (staging / filename).write_bytes(data)
                _publish(staging, folder)
            except OSError as error:
                raise DatasetError(f"the dataset {name!r} cannot be written to this server's cache "
                                   f"({error.strerror or error}); tell whoever runs the lab") from error
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    logger.info("dataset %r written back from the database into %s", name, folder)


def _listing(db: Connection, name: str) -> list[tuple[str, str, int, int]]:
    """Each stored file of ``name``: its name, recorded SHA-256, recorded size and real size in the database."""
    rows = db.execute(sa.select(dataset_files.c.name, dataset_files.c.sha256, dataset_files.c.bytes,
                                sa.func.length(dataset_files.c.data))
                      .where(dataset_files.c.dataset == name).order_by(dataset_files.c.name)).all()
    if not rows:
        raise DatasetError(f"no imported dataset named {name!r} in the database; it may have been deleted")
    return [(filename, sha256, int(size), int(real)) for filename, sha256, size, real in rows]


def _check_listing(name: str, listed: list[tuple[str, str, int, int]]) -> None:
    """Refuse, before any file is fetched, a listing with a file a dataset does not have or too many bytes."""
    for filename, _, size, real in listed:
        if not is_stored_file(filename) or size != real:
            raise DatasetError(_altered(name, filename))
    total = sum(real for *_, real in listed)
    if total > max_stored_bytes():
        raise DatasetError(f"the stored dataset {name!r} takes {limits.format_bytes(total)}, over the limit of "
                           f"{limits.format_bytes(max_stored_bytes())}: it was not written by MNIST Lab and is "
                           "refused; a teacher can delete it and import it again")


def _altered(name: str, filename: str) -> str:
    return (f"the stored dataset {name!r} is damaged or was altered in the database (its file {filename!r} does "
            "not match its recorded checksum or size); it is refused: a teacher can delete it and import it again")


def _is_cached(folder: Path, listed: list[tuple[str, str, int, int]]) -> bool:
    """Whether ``folder`` holds exactly the listed files, at their sizes, the small ones with their SHA-256."""
    try:
        local = {entry.name: entry for entry in folder.iterdir() if entry.is_file()}
        if set(local) != {filename for filename, *_ in listed}:
            return False
        for filename, sha256, size, _ in listed:
            if local[filename].stat().st_size != size:
                return False
            if size <= SMALL_FILE_BYTES and sha256_of(local[filename].read_bytes()) != sha256:
                return False
    except OSError:
        return False
    return True


def _staging(folder: Path) -> Path:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder.parent))  # dot folders are not offered by name
    except OSError as error:
        logger.error("The datasets folder %s cannot be written: %s", folder.parent, error)
        raise DatasetError(f"datasets cannot be written to this server's cache ({error.strerror or error}); tell "
                           "whoever runs the lab") from error


def _publish(staging: Path, folder: Path) -> None:
    """Put ``staging`` in the place of ``folder`` by two renames, so no reader ever sees a mix of two versions."""
    stale = folder.with_name(f".stale-{secrets.token_hex(4)}")
    with contextlib.suppress(FileNotFoundError):
        folder.rename(stale)
    try:
        staging.rename(folder)
    finally:
        shutil.rmtree(stale, ignore_errors=True)
