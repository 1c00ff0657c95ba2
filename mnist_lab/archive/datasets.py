"""Imported datasets in an archive: each folder's files out, and back in checked as an import is.

A dataset is restored by writing its files into a hidden staging folder under ``<home>/datasets/``, reading it
there with :func:`mnist_lab.data.folders.read_idx_folder` (the strict IDX reader and the checksums recorded at
its import), and only after the whole archive was accepted renaming it into place (:func:`publish`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.access.users import PERSONAL, User
from mnist_lab.archive.members import DATASET_MEMBER
from mnist_lab.data import limits, owners
from mnist_lab.data.folders import CHECKSUMS_FILE, CLASSES_FILE, TRANSPOSED_MARKER, read_idx_folder, role_of
from mnist_lab.data.imports import check_new_name
from mnist_lab.data.registry import datasets_root, local_folder
from mnist_lab.errors import ArchiveError, DatasetError

logger = logging.getLogger(__name__)

#: The files an imported dataset's folder may hold besides its four IDX files.
EXTRA_FILES = (CLASSES_FILE, TRANSPOSED_MARKER, CHECKSUMS_FILE, owners.OWNER_FILE)


def exported(home: Path, user: User, database: str) -> dict[str, dict[str, bytes]]:
    """The imported datasets an archive of ``user`` carries: a teacher's, every one; anyone else's, their own.

    With a database server the datasets are listed from it, and one missing from the home is written back first.

    Returns
    -------
    dict
        Dataset name to its files (file name to bytes).
    """
    found = {}
    for record in owners.imported_datasets(home, database=database):
        if user.teacher or record.owner == user.id:
            folder = local_folder(record.name, home, database=database)
            found[record.name] = {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}
    return found


def grouped(members: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    """The archive's dataset members, by dataset name then file name."""
    found: dict[str, dict[str, bytes]] = {}
    for name, data in members.items():
        if match := DATASET_MEMBER.fullmatch(name):
            found.setdefault(match.group(1), {})[match.group(2)] = data
    return found


@dataclass
class Staged:
    """A dataset from the archive, checked and written in its staging folder, to be published or dropped."""

    name: str
    folder: Path
    target: Path
    home: Path

    def drop(self) -> None:
        """Remove the staging folder (the archive was refused, or the dataset is published)."""
        shutil.rmtree(self.folder.parent, ignore_errors=True)


def stage(datasets: dict[str, dict[str, bytes]], home: Path, user: User,
          database: str) -> tuple[list[Staged], list[str]]:
    """Check every dataset of the archive and write the new ones into staging folders.

    Parameters
    ----------
    datasets : dict
        :func:`grouped`.
    home : Path
    user : User
        Who imports: a student may bring only datasets recorded as theirs, within their count of datasets.
    database : str
        The run store's database URL: with a server, the datasets already there are those it lists.

    Returns
    -------
    (list of Staged, list of str)
        The new datasets, staged; the names of those already here with the same files (skipped).

    Raises
    ------
    ArchiveError
        A file that is not a dataset's, a dataset of another student, too many datasets for a student, a name in
        use by a different dataset, or files the IDX reader or their checksums refuse.
    """
    staged, skipped = [], []
    try:
        for name, files in sorted(datasets.items()):
            _check_files(name, files, user)
            target = datasets_root(home) / name
            if owners.imported_dataset(name, home, database=database) is not None or target.exists():
                if not _same_files(local_folder(name, home, database=database), files):
                    raise ArchiveError(f"the archive's dataset {name!r} differs from the dataset of that name here; "
                                       "rename or delete the one here, then import the archive again")
                skipped.append(name)
                continue
            staged.append(_stage_one(name, files, home))
        _check_count(user, home, database, len(staged))
    except BaseException:
        for entry in staged:
            entry.drop()
        raise
    return staged, skipped


def publish(entry: Staged, database: str) -> None:
    """Rename a staged dataset into ``<home>/datasets/<name>/`` and record it in the database when it is a server:
    the one place a restored dataset becomes known.

    Raises
    ------
    ArchiveError
        A dataset of that name appeared meanwhile, or the folder cannot be renamed.
    """
    try:
        if entry.target.exists():
            raise ArchiveError(f"a dataset named {entry.name!r} was added meanwhile; import the archive again")
        entry.folder.rename(entry.target)
        owners.record_dataset_folder(entry.name, entry.home, database=database)
    except OSError as error:
        logger.error("the restored dataset %r could not be published in %s: %s", entry.name, entry.target, error)
        raise ArchiveError(f"the dataset {entry.name!r} could not be stored ({error.strerror or error})") from error
    finally:
        entry.drop()
    logger.info("dataset %r restored from an archive into %s", entry.name, entry.target)


def _check_files(name: str, files: dict[str, bytes], user: User) -> None:
    unknown = sorted(file for file in files if role_of(file) is None and file not in EXTRA_FILES)
    if unknown:
        raise ArchiveError(f"the archive's dataset {name!r} holds {unknown[0]!r}, which is not a dataset's file")
    total = sum(len(data) for data in files.values())
    if total > limits.MAX_UPLOAD_BYTES:
        raise ArchiveError(f"the archive's dataset {name!r} holds {limits.format_bytes(total)}; a dataset is at most "
                           f"{limits.format_bytes(limits.MAX_UPLOAD_BYTES)}")
    if not user.teacher and _owner_id(name, files) != user.id:
        raise ArchiveError(f"the archive's dataset {name!r} was added by someone else; you can import only your own")


def _owner_id(name: str, files: dict[str, bytes]) -> str:
    if owners.OWNER_FILE not in files:
        return PERSONAL.id  # imports from before owners were recorded belong to the personal lab's user
    try:
        return str(json.loads(files[owners.OWNER_FILE])["id"])
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(f"the archive's dataset {name!r} has a damaged {owners.OWNER_FILE}") from error


def _check_count(user: User, home: Path, database: str, new: int) -> None:
    if not owners.is_limited(user) or not new:
        return
    theirs = sum(record.owner == user.id for record in owners.imported_datasets(home, database=database))
    if theirs + new > limits.MAX_DATASETS_PER_STUDENT:
        raise ArchiveError(f"the archive adds {new} datasets to your {theirs}; a student adds at most "
                           f"{limits.MAX_DATASETS_PER_STUDENT}: delete some on the Data page first")


def _same_files(folder: Path, files: dict[str, bytes]) -> bool:
    """Whether ``folder`` holds the archive's data files byte for byte (who added it aside)."""
    data_files = {file: data for file, data in files.items() if file != owners.OWNER_FILE}
    try:
        here = {path.name: path for path in folder.iterdir() if path.is_file() and path.name != owners.OWNER_FILE}
        return set(here) == set(data_files) and all(
            hashlib.sha256(here[file].read_bytes()).digest() == hashlib.sha256(data).digest()
            for file, data in data_files.items())
    except OSError as error:
        raise ArchiveError(f"the dataset {folder.name!r} here cannot be read ({error.strerror or error})") from error


def _stage_one(name: str, files: dict[str, bytes], home: Path) -> Staged:
    try:
        target = check_new_name(name, home)
    except DatasetError as error:
        raise ArchiveError(f"the archive's dataset cannot be restored: {error}") from error
    if CHECKSUMS_FILE not in files:
        raise ArchiveError(f"the archive's dataset {name!r} has no {CHECKSUMS_FILE}: it was not exported by MNIST Lab")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".restore-", dir=target.parent)) / name
        folder.mkdir()
    except OSError as error:
        logger.error("the datasets folder %s cannot be written: %s", target.parent, error)
        raise ArchiveError(f"datasets cannot be stored on this server now ({error.strerror or error})") from error
    entry = Staged(name, folder, target, home)
    try:
        for file, data in files.items():
            (folder / file).write_bytes(data)
        read_idx_folder(folder, name=name, where=f"the archive's dataset {name}")
    except DatasetError as error:
        entry.drop()
        raise ArchiveError(str(error).replace(str(folder), f"the archive's dataset {name}")) from error
    except OSError as error:
        entry.drop()
        logger.error("the archive's dataset %r could not be written in %s: %s", name, folder, error)
        raise ArchiveError(f"the dataset {name!r} could not be stored ({error.strerror or error})") from error
    return entry
