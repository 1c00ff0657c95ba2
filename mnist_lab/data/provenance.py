"""The SHA-256 of each file of a dataset, as stored and as read, so that anyone can check them with ``sha256sum``.

A run records one SHA-256 for its dataset (:func:`mnist_lab.data.checksums.combined_sha256` of the four files'
content hashes). That value names the data but cannot be checked with a common tool; the hashes here can: the
SHA-256 of each file as it lies on disk (what ``sha256sum FILE`` prints, for MNIST the ``.gz`` files as
distributed) and of its uncompressed IDX content (what ``gunzip -c FILE | sha256sum`` prints).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import MNIST, MNIST_NAME
from mnist_lab.data.folders import match_roles
from mnist_lab.data.registry import dataset_folder
from mnist_lab.errors import DatasetError

logger = logging.getLogger(__name__)

#: What each of the four files holds, in the order their content hashes are joined.
ROLE_NAMES = ("training images", "training labels", "test images", "test labels")
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileChecksum:
    """One file of a dataset and its two SHA-256.

    Attributes
    ----------
    role : str
        What it holds: one of ``ROLE_NAMES``.
    filename : str
        Its name as stored (``train-images-idx3-ubyte.gz``).
    file_sha256 : str
        SHA-256 of the file as stored, what ``sha256sum FILE`` prints.
    content_sha256 : str
        SHA-256 of its uncompressed IDX content; equal to ``file_sha256`` for a file stored uncompressed.
    """

    role: str
    filename: str
    file_sha256: str
    content_sha256: str

    @property
    def compressed(self) -> bool:
        """Whether the file is stored gzip-compressed (its two hashes then differ)."""
        return self.file_sha256 != self.content_sha256


def file_checksums(name: str, sha256: str, home: Path | None = None) -> tuple[FileChecksum, ...]:
    """Return the four files of the dataset a run trained on, each with its SHA-256 as stored and as read.

    Parameters
    ----------
    name : str
        The dataset's name, as the run records it.
    sha256 : str
        The combined checksum the run records.
    home : Path, optional
        Home directory of imported datasets; defaults to ``paths.default_home()``.

    Returns
    -------
    tuple of FileChecksum
        In ``ROLE_NAMES`` order; empty when the dataset is no longer on this server or its files are no longer
        the ones the run trained on (their combined content hash differs from ``sha256``).
    """
    try:
        folder = dataset_folder(name, home)
        filenames = _filenames(name, folder)
        stamp = tuple((filename, *_size_and_time(folder / filename)) for filename in filenames)
        files = _checksums(str(folder), stamp)
    except (OSError, DatasetError) as error:
        logger.info("No file checksums for the dataset %r: %s", name, error)
        return ()
    if combined_sha256([file.content_sha256 for file in files]) != sha256:
        return ()
    return files


def combined_command(files: tuple[FileChecksum, ...]) -> str:
    """Return the shell command that prints the dataset's combined SHA-256 from its files' content hashes."""
    return f"printf %s {' '.join(file.content_sha256 for file in files)} | sha256sum"


def _filenames(name: str, folder: Path) -> list[str]:
    """The four files' names in ``ROLE_NAMES`` order."""
    if name == MNIST_NAME:
        return [file.filename for file in (MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels)]
    return match_roles([entry.name for entry in folder.iterdir() if entry.is_file()], name)


def _size_and_time(path: Path) -> tuple[int, int]:
    """Size and modification time of ``path``: a changed file is hashed again."""
    info = path.stat()
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=32)
def _checksums(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[FileChecksum, ...]:
    """Hash the files listed in ``stamp`` (names with their size and time, which only key the cache)."""
    return tuple(FileChecksum(role, filename, *_hash_file(Path(folder) / filename))
                 for role, (filename, _size, _time) in zip(ROLE_NAMES, stamp))


def _hash_file(path: Path) -> tuple[str, str]:
    """SHA-256 of the file as stored and of its uncompressed content, both computed from the file itself."""
    file_hash = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            file_hash.update(chunk)
        raw.seek(0)
        if raw.read(2) != _GZIP_MAGIC:
            return file_hash.hexdigest(), file_hash.hexdigest()
        raw.seek(0)
        content_hash = hashlib.sha256()
        with gzip.GzipFile(fileobj=raw) as content:
            while chunk := content.read(_CHUNK):
                content_hash.update(chunk)
    return file_hash.hexdigest(), content_hash.hexdigest()
