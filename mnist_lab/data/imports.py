"""Import a dataset into the home directory: MNIST-format files uploaded on the Data page, or a .zip of them.

Everything is checked before anything is written: the student's count of datasets
(``limits.MAX_DATASETS_PER_STUDENT``), the name, the upload's size, the zip (declared sizes and compression
ratios before extracting, a hard cap on the bytes while extracting), the IDX headers (images per split, declared
size, a gzip file's ratio of declared to compressed size, all before decompressing its data), the strict IDX
reader, the labels and the classes. The files are then written into a temporary folder
``<home>/datasets/.import-*`` and renamed to ``<home>/datasets/<name>/`` in one step, so a refused or failed
import leaves the stored datasets as they were. With a database server, the same transaction that checks the
student's count and the name adds the folder's files to the database (:mod:`mnist_lab.data.stored`) and commits
only once the folder is in place.

An imported folder holds the four files as uploaded (gzip or plain) under MNIST's names, ``classes.txt`` when
one was uploaded, the ``transposed`` marker when the images are stored transposed (EMNIST: the upload holds a
file named ``transposed``, or ``emnist`` appears in the dataset's name, the zip's name, its folder or the file
names), ``checksums.json`` and ``owner.json`` (who added it, :mod:`mnist_lab.data.owners`);
:func:`mnist_lab.data.folders.read_idx_folder` reads it back.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import Engine

from mnist_lab.access.users import PERSONAL, User
from mnist_lab.data import limits, owners, stored
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import MNIST_NAME, Dataset
from mnist_lab.data.folders import (
    CLASSES_FILE,
    ROLES,
    TRANSPOSED_MARKER,
    match_roles,
    role_of,
    transposed_by_name,
    write_checksums,
)
from mnist_lab.data.registry import dataset_names, datasets_root
from mnist_lab.data.validate import (
    RATIO_FLOOR,
    assemble,
    content_sha256,
    named_stream,
    parse_class_names,
    read_four,
)
from mnist_lab.errors import DatasetError, MnistLabError
from mnist_lab.runs.database import lock_in_transaction

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 ._-]*")
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


def check_new_name(name: str, home: Path | None = None, *, database: str | None = None) -> Path:
    """Return the folder a new dataset called ``name`` will have, refusing an unsafe or taken name.

    Parameters
    ----------
    name : str
        1-40 ASCII letters, digits, spaces, ``-``, ``_`` and ``.``; starting with a letter, digit or ``_``,
        not ending with a space or ``.``; not a name in use (compared ignoring case), ``MNIST`` included.
    home : Path, optional
        Home directory; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL; with a server, the names taken are those of its ``datasets`` table.

    Raises
    ------
    DatasetError
        The name is unsafe as a folder name or already taken.
    """
    if (
        not isinstance(name, str)
        or len(name) > limits.MAX_NAME_CHARS
        or not _NAME.fullmatch(name)
        or name.endswith((" ", "."))
    ):
        raise DatasetError(
            f"{name!r} cannot name a dataset: use 1-{limits.MAX_NAME_CHARS} letters, digits, spaces, '-', '_' or '.', "
            "starting with a letter, digit or '_' and not ending with a space or '.'"
        )
    if name.casefold() == MNIST_NAME.casefold():
        raise DatasetError(f"{name!r} is the name of the bundled MNIST; choose another name")
    target = datasets_root(home) / name
    # With a database server a folder in the home may be the cache of a dataset deleted by another server.
    in_home = target.exists() and stored.server_engine(home, database) is None
    if in_home or name.casefold() in {taken.casefold() for taken in dataset_names(home, database=database)}:
        raise DatasetError(f"a dataset named {name!r} already exists; choose another name")
    return target


def store(target: Path, write: Callable[[Path], None], *, user: User = PERSONAL, database: str | None = None) -> None:
    """Create the dataset folder ``target`` atomically: ``write`` fills a temporary folder, one rename publishes it.

    ``owner.json`` records ``user`` as the dataset's owner; their count of datasets is checked again just before
    the rename, under a lock, so two uploads at once cannot both take a student's last place. With a database
    server (``database``, see ``check_new_name``) the folder is also added to the database, in one transaction
    that holds a lock across processes while it checks and commits once the folder is in place.

    Raises
    ------
    DatasetError
        The folder cannot be written, or ``target`` appeared meanwhile; nothing is left behind.
    LimitExceededError
        ``user`` reached ``limits.MAX_DATASETS_PER_STUDENT`` meanwhile.
    """
    root = target.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    except OSError as error:
        logger.error("The datasets folder %s cannot be written: %s", root, error)
        raise DatasetError(f"datasets cannot be stored on this server now ({error.strerror or error}); tell whoever "
                           "runs the lab") from error
    try:
        write(staging)
        (staging / owners.OWNER_FILE).write_text(owners.owner_record(user), encoding="utf-8")
        with owners.adding:
            engine = stored.server_engine(root.parent, database)
            if engine is None:
                _publish(staging, target, user)
            else:
                _publish_to_server(engine, staging, target, user, database)
    except OSError as error:
        logger.error("The dataset %r could not be stored in %s: %s", target.name, root, error)
        raise DatasetError(f"the dataset {target.name!r} could not be stored ({error.strerror or error}); tell "
                           "whoever runs the lab") from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path, user: User) -> None:
    """Rename the written folder into place, after checking the student's count and the name once more."""
    owners.check_may_add(user, target.parent.parent)
    if target.exists():
        raise DatasetError(f"a dataset named {target.name!r} was stored meanwhile; choose another name")
    staging.rename(target)


def _publish_to_server(engine: Engine, staging: Path, target: Path, user: User, database: str | None) -> None:
    """Add the written folder to the database server and rename it into place, in one transaction."""
    home = target.parent.parent
    with stored.transaction(engine, write=True) as db:
        lock_in_transaction(db, "datasets")
        owners.check_may_add(user, home, database=database)
        record = json.loads((staging / owners.OWNER_FILE).read_text(encoding="utf-8"))
        stored.insert_folder(db, target.name, staging, owner=record["id"], owner_name=record["name"],
                             added=record["added"])
        if target.exists():  # the cache of a dataset of this name deleted by another server
            shutil.rmtree(target)
        staging.rename(target)


def _is_dataset_file(filename: str) -> bool:
    """Return whether ``filename`` is one of the files an MNIST-format dataset may have."""
    return role_of(filename) is not None or filename in (CLASSES_FILE, TRANSPOSED_MARKER)


def _unique(pairs: list[tuple[str, bytes]], where: str) -> dict[str, bytes]:
    """Return the files by name, refusing a name given twice."""
    files: dict[str, bytes] = {}
    for filename, data in pairs:
        if filename in files:
            raise DatasetError(f"{where}{filename}: given twice; keep one")
        files[filename] = data
    return files


def unpack_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, where: str,
                  error: type[MnistLabError] = DatasetError) -> bytes:
    """Unpack one member of a zip, stopping as soon as it yields more than the size it declares.

    The caller has checked the declared sizes and ratios; this makes a zip that lies about them fail early instead
    of filling the memory. ``where`` starts the messages ("the archive's ", "digits.zip: "); ``error`` is raised.
    """
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise error(f"{where}{info.filename} unpacks to more than the {limits.format_bytes(info.file_size)} "
                                "it declares; the zip is damaged or forged")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as failure:
        raise error(f"{where}{info.filename} cannot be unpacked ({failure})") from failure
    return b"".join(chunks)


def _unzip(zip_name: str, data: bytes) -> tuple[dict[str, bytes], str]:
    """Return the dataset's files found in a zip (in its root or one folder) and that folder.

    Members that are not dataset files, folders and macOS' ``__MACOSX/`` are ignored. Sizes and compression
    ratios are checked on what the zip declares before anything is unpacked.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and _is_dataset_file(PurePosixPath(info.filename).name)
        ]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise DatasetError(f"{zip_name}: not a readable zip file ({error})") from error
    folders = sorted({str(PurePosixPath(info.filename).parent) for info in members})
    if len(folders) > 1:
        raise DatasetError(
            f"{zip_name}: the dataset's files are in several folders ({', '.join(folders)}); put them in one"
        )
    declared = sum(info.file_size for info in members)
    if declared > limits.MAX_DATASET_BYTES:
        raise DatasetError(
            f"{zip_name}: its files unpack to {limits.format_bytes(declared)}; "
            f"the limit is {limits.format_bytes(limits.MAX_DATASET_BYTES)}"
        )
    for info in members:
        if info.flag_bits & 0x1:
            raise DatasetError(f"{zip_name}: {info.filename} is encrypted; zip the files without a password")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.MAX_COMPRESSION_RATIO:
            raise DatasetError(
                f"{zip_name}: {info.filename} would expand {ratio:,.0f} times "
                f"({limits.format_bytes(info.compress_size)} to {limits.format_bytes(info.file_size)}); "
                f"refused as a zip bomb (the limit is {limits.MAX_COMPRESSION_RATIO} times)"
            )
    pairs = [(PurePosixPath(info.filename).name, unpack_member(archive, info, where=f"{zip_name}: ")) for info in members]
    return _unique(pairs, f"{zip_name}: "), folders[0] if folders else ""


def _upload_files(files: Mapping[str, bytes]) -> tuple[dict[str, bytes], str, list[str]]:
    """Return the uploaded dataset files by name, the prefix of their messages, and names for the EMNIST rule."""
    if not files:
        raise DatasetError("nothing was uploaded: choose the dataset's four files, or a .zip of them")
    total = sum(len(data) for data in files.values())
    if total > limits.MAX_UPLOAD_BYTES:
        raise DatasetError(
            f"the upload is {limits.format_bytes(total)}; the limit is {limits.format_bytes(limits.MAX_UPLOAD_BYTES)}"
        )
    names = {PurePosixPath(filename.replace("\\", "/")).name: filename for filename in files}
    zips = [filename for filename in names if filename.lower().endswith(".zip")]
    if zips:
        if len(files) > 1:
            raise DatasetError(f"{zips[0]}: upload either one .zip or the dataset's files, not both")
        contents, folder = _unzip(zips[0], files[names[zips[0]]])
        return contents, f"{zips[0]}: ", [zips[0], folder]
    for filename in names:
        if not _is_dataset_file(filename):
            raise DatasetError(
                f"{filename}: not a file of an MNIST-format dataset; upload {', '.join(ROLES)} "
                f"(each may end in .gz), optionally {CLASSES_FILE}, or one .zip of them"
            )
    pairs = [(PurePosixPath(filename.replace("\\", "/")).name, data) for filename, data in files.items()]
    return _unique(pairs, ""), "", []


def import_idx_upload(
    files: Mapping[str, bytes], name: str, home: Path | None = None, *, user: User = PERSONAL,
    database: str | None = None,
) -> Dataset:
    """Check an uploaded MNIST-format dataset and store it in ``<home>/datasets/<name>/``.

    Parameters
    ----------
    files : mapping of str to bytes
        By file name: the four IDX files (``train-images-idx3-ubyte`` etc., each may end in ``.gz`` and carry
        a prefix such as EMNIST's ``emnist-letters-``), optionally ``classes.txt`` and ``transposed``; or one
        ``.zip`` holding them in its root or in one folder.
    name : str
        The new dataset's name (see ``check_new_name``).
    home : Path, optional
        Home directory; defaults to ``paths.default_home()``.
    user : User, optional
        Who adds it, recorded as its owner; the personal lab's user by default.
    database : str, optional
        The run store's database URL; with a server the dataset is also kept in its ``datasets`` tables, the
        home only caching it. ``$MNIST_LAB_DATABASE_URL``, else the home's SQLite file, when absent.

    Returns
    -------
    Dataset
        As ``get_dataset(name, home)`` will return it.

    Raises
    ------
    LimitExceededError
        ``user`` is a student who already added ``limits.MAX_DATASETS_PER_STUDENT`` datasets.
    DatasetError
        The name is unsafe or taken; the upload is too big; the zip is damaged, encrypted or a bomb; a gzip
        file is a bomb; a split has more images than ``limits.MAX_TRAIN_IMAGES`` or ``limits.MAX_TEST_IMAGES``;
        a file is missing, ambiguous or invalid; images are not 28x28; counts differ; a label is out of range;
        only one class. Nothing is written in any of these cases, and nothing is decompressed beyond the limits.
    """
    try:
        return _import_upload(files, name, home, user, database)
    except DatasetError as error:
        logger.info("an upload of %d files by %s was not imported as a dataset: %s", len(files), user.id, error)
        raise


def _import_upload(files: Mapping[str, bytes], name: str, home: Path | None, user: User,
                   database: str | None) -> Dataset:
    owners.check_may_add(user, home, database=database)
    target = check_new_name(name, home, database=database)
    contents, prefix, origin = _upload_files(files)
    filenames = match_roles(list(contents), prefix.rstrip(": ") or "the upload")
    shown = [prefix + filename for filename in filenames]
    arrays = read_four([lambda f=f, s=s: named_stream(contents[f], s) for f, s in zip(filenames, shown)], shown)
    class_names = (
        parse_class_names(contents[CLASSES_FILE], prefix + CLASSES_FILE) if CLASSES_FILE in contents else None
    )
    transposed = TRANSPOSED_MARKER in contents or transposed_by_name(name, *origin, *filenames)
    hashes = [content_sha256(array) for array in arrays]
    dataset = assemble(
        name,
        arrays,
        shown,
        class_names,
        classes_source=prefix + CLASSES_FILE,
        transposed=transposed,
        source=f"IDX files in {name}",
        sha256=combined_sha256(hashes),
    )
    stored = [role + (".gz" if contents[f][:2] == _GZIP_MAGIC else "") for role, f in zip(ROLES, filenames)]

    def write(folder: Path) -> None:
        for stored_name, filename in zip(stored, filenames):
            (folder / stored_name).write_bytes(contents[filename])
        if class_names is not None:
            (folder / CLASSES_FILE).write_text("\n".join(class_names) + "\n", encoding="utf-8")
        if transposed:
            (folder / TRANSPOSED_MARKER).write_bytes(b"")
        write_checksums(folder, dict(zip(stored, hashes)))

    store(target, write, user=user, database=database)
    return dataset
