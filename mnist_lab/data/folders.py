"""Read a dataset kept as MNIST's four IDX files in a folder: Fashion-MNIST, Kuzushiji-MNIST, EMNIST, imports.

Files
-----
For each of the four roles the folder holds one file under MNIST's name, plain or gzip-compressed (``.gz``):
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``. A prefix ending in ``-`` is allowed, as in EMNIST's
``emnist-letters-train-images-idx3-ubyte.gz``; two files for one role are refused as ambiguous. Optional:

``classes.txt``
    One class name per line, label 0's first; the number of lines is the number of classes. Without it the
    classes are named by their labels, ``0`` up to the largest label.
``transposed``
    A marker file (its content is ignored): the images are stored transposed (see below).
``checksums.json``
    Written by an import (:mod:`mnist_lab.data.imports`): the SHA-256 of each file's uncompressed content,
    verified on every load.

Images must be 28x28 unsigned bytes; labels integers from 0 to the number of classes - 1, with at least two
classes in the training split. The headers of all four files are checked (shape, type, declared size against
``limits.MAX_DATASET_BYTES``) before any data is read, so a 2 GB file is refused at once.

EMNIST
------
EMNIST stores each image transposed. The images are transposed back when:

1. ``transposed=True`` is passed (``transposed=False`` reads them as they are); else
2. the folder holds a file named ``transposed``; else
3. never when the folder holds ``checksums.json``: an import writes the marker when it finds the images
   transposed, so an imported dataset's name does not matter; else
4. when the folder's name or one of the four files' names contains ``emnist`` (any case).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from mnist_lab.data import limits
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import Dataset
from mnist_lab.data.validate import assemble, content_sha256, parse_class_names, read_four
from mnist_lab.errors import DatasetError

logger = logging.getLogger(__name__)

#: MNIST's file names, in the dataset's order: train images, train labels, test images, test labels.
ROLES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CLASSES_FILE = "classes.txt"
TRANSPOSED_MARKER = "transposed"
CHECKSUMS_FILE = "checksums.json"


def role_of(filename: str) -> int | None:
    """Return the index in ``ROLES`` of the file named ``filename``, or None when it is not a dataset file."""
    stem = filename[:-3] if filename.endswith(".gz") else filename
    for index, role in enumerate(ROLES):
        if stem == role or stem.endswith("-" + role):
            return index
    return None


def match_roles(filenames: Sequence[str], where: str) -> list[str]:
    """Return the one file name of each role among ``filenames``, in ``ROLES`` order.

    Raises
    ------
    DatasetError
        A role has no file, or more than one; the message names ``where``.
    """
    found: list[list[str]] = [[] for _ in ROLES]
    for filename in filenames:
        index = role_of(filename)
        if index is not None:
            found[index].append(filename)
    for role, names in zip(ROLES, found):
        if not names:
            raise DatasetError(
                f"{where}: no file {role} (or {role}.gz); an MNIST-format dataset has the four files {', '.join(ROLES)}"
            )
        if len(names) > 1:
            raise DatasetError(f"{where}: several files hold the {role} data ({', '.join(sorted(names))}); keep one")
    return [names[0] for names in found]


def transposed_by_name(*names: str) -> bool:
    """Return whether one of ``names`` says EMNIST (whose images are stored transposed)."""
    return any("emnist" in name.casefold() for name in names)


def write_checksums(folder: Path, file_hashes: dict[str, str]) -> None:
    """Write ``checksums.json``: each file's SHA-256 (in ``ROLES`` order) and the dataset's combined one."""
    content = {"files": file_hashes, "sha256": combined_sha256(list(file_hashes.values()))}
    (folder / CHECKSUMS_FILE).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _verify_checksums(folder: Path, filenames: Sequence[str], hashes: Sequence[str], where: str) -> None:
    """Compare the files with ``checksums.json`` when the folder has one."""
    path = folder / CHECKSUMS_FILE
    if not path.is_file():
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["files"]
        expected = [recorded[filename] for filename in filenames]
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.debug("%s cannot be used: %r", path, error)
        raise DatasetError(f"{where}/{CHECKSUMS_FILE}: damaged or incomplete ({type(error).__name__}); import the "
                           "dataset again") from error
    for filename, digest, wanted in zip(filenames, hashes, expected):
        if digest != wanted:
            raise DatasetError(
                f"{where}/{filename}: the content differs from the checksum recorded at import ({CHECKSUMS_FILE}); "
                "the file was changed or damaged: delete the dataset and import it again"
            )


def _read_small(path: Path, limit: int, where: str) -> bytes:
    """Read a small file, refusing it from its size on disk when it is over ``limit``."""
    if path.stat().st_size > limit:
        raise DatasetError(f"{where}/{path.name}: {limits.format_bytes(path.stat().st_size)} is too big for this file")
    return path.read_bytes()


def read_idx_folder(
    folder: str | Path, *, name: str | None = None, transposed: bool | None = None, where: str | None = None
) -> Dataset:
    """Read a dataset kept as four IDX files in a folder (see the module's docstring for the layout).

    Parameters
    ----------
    folder : str or Path
        The folder.
    name : str, optional
        The dataset's name; defaults to the folder's name.
    transposed : bool, optional
        Whether the images are stored transposed (EMNIST); None applies the module's rule.
    where : str, optional
        How messages and the dataset's ``source`` name the folder; defaults to its path. The app passes the
        dataset's name, so that no page shows a path of the server.

    Returns
    -------
    Dataset
        Read-only uint8 arrays, its class names, the combined checksum, ``drawable`` when the classes are
        the digits 0-9.

    Raises
    ------
    DatasetError
        A missing or ambiguous file, a damaged or oversized one, images other than 28x28, counts that do not
        match, labels out of range, one class only, a file changed since it was imported. The message names
        the file.
    """
    folder = Path(folder)
    where = where or str(folder)
    try:
        entries = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
        filenames = match_roles(entries, where)
        paths = [folder / filename for filename in filenames]
        arrays = read_four([functools.partial(open, path, "rb") for path in paths],
                           [f"{where}/{filename}" for filename in filenames])
        classes_path = folder / CLASSES_FILE
        class_names = (
            parse_class_names(_read_small(classes_path, limits.MAX_CLASSES_FILE_BYTES, where), f"{where}/{CLASSES_FILE}")
            if classes_path.is_file()
            else None
        )
    except OSError as error:
        unread = Path(error.filename).name if error.filename else ""
        raise DatasetError(f"{where}/{unread}: cannot be read ({error.strerror or error})") from error
    if transposed is None:
        if (folder / TRANSPOSED_MARKER).exists():
            transposed = True
        elif (folder / CHECKSUMS_FILE).exists():
            transposed = False
        else:
            transposed = transposed_by_name(folder.name, *filenames)
    hashes = [content_sha256(array) for array in arrays]
    _verify_checksums(folder, filenames, hashes, where)
    return assemble(
        name or folder.name,
        arrays,
        [f"{where}/{filename}" for filename in filenames],
        class_names,
        classes_source=f"{where}/{CLASSES_FILE}",
        transposed=transposed,
        source=f"IDX files in {where}",
        sha256=combined_sha256(hashes),
    )
