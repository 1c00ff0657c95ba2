"""Checks shared by every way a dataset comes in (folder, upload, image folder), and the Dataset they build.

The four IDX files' headers are checked together (images per split against ``limits.MAX_TRAIN_IMAGES`` and
``limits.MAX_TEST_IMAGES``, declared size against ``limits.MAX_DATASET_BYTES``, a gzip file's declared size
against its compressed size and ``limits.MAX_COMPRESSION_RATIO``, 28x28 uint8 images, integer labels, matching
counts) before any data is decompressed: a gzip file's data is only ever decompressed up to the size its header
declares (the reader stops there). The labels are then checked against the classes (``classes.txt`` or the
largest label) and the training split must hold at least two classes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from mnist_lab.data import limits
from mnist_lab.data.datasets import Dataset, is_drawable
from mnist_lab.data.idx import IDX_DTYPES, read_idx
from mnist_lab.errors import DatasetError, IdxFormatError
from mnist_lab.text import plural

IMAGE_SIDE = 28
UNKNOWN_LICENCE = "Not recorded by MNIST Lab: see the terms of the dataset's authors"
_GZIP_MAGIC = b"\x1f\x8b"
#: Compressed files smaller than this are not checked for their ratio: they cannot make a bomb, and a small
#: file of zeros compresses well.
RATIO_FLOOR = 1024**2
#: What each of the four files holds, in the dataset's order.
_ROLE_TEXT = ("training images", "training labels", "test images", "test labels")


@dataclass(frozen=True)
class IdxHeader:
    """Element type and shape an IDX file declares, and the size of the file when it is gzip-compressed."""

    dtype: np.dtype
    shape: tuple[int, ...]
    #: Bytes of the gzip file; 0 for a plain file.
    compressed: int = 0

    @property
    def size(self) -> int:
        """Uncompressed size of the whole file in bytes, header included."""
        return 4 + 4 * len(self.shape) + self.dtype.itemsize * math.prod(self.shape)


def read_header(stream: BinaryIO, name: str) -> IdxHeader:
    """Read only the header of an IDX file, plain or gzip, so its size is known before its data is read."""
    start = stream.read(2)
    if not start:
        raise DatasetError(f"{name}: the file is empty")
    compressed = stream.seek(0, io.SEEK_END) if start == _GZIP_MAGIC else 0
    stream.seek(0)
    payload = gzip.GzipFile(fileobj=stream, mode="rb") if start == _GZIP_MAGIC else stream
    try:
        magic = payload.read(4)
        dims = payload.read(4 * magic[3]) if len(magic) == 4 else b""
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{name}: corrupt gzip data ({error})") from error
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise DatasetError(f"{name}: not an IDX file (an IDX file starts with two zero bytes, a type and a rank)")
    if magic[2] not in IDX_DTYPES or magic[3] == 0 or len(dims) < 4 * magic[3]:
        raise DatasetError(
            f"{name}: damaged IDX header (type 0x{magic[2]:02X}, {magic[3]} dimensions, {len(dims)} dimension bytes)"
        )
    return IdxHeader(IDX_DTYPES[magic[2]], struct.unpack(f">{magic[3]}I", dims), compressed)


def _check_expansion(header: IdxHeader, name: str) -> None:
    """Refuse a gzip file that declares far more data than its compressed size can honestly hold."""
    if not header.compressed or header.size <= RATIO_FLOOR:
        return
    ratio = header.size / header.compressed
    if ratio > limits.MAX_COMPRESSION_RATIO:
        raise DatasetError(
            f"{name}: would expand {ratio:,.0f} times ({limits.format_bytes(header.compressed)} to "
            f"{limits.format_bytes(header.size)}); refused as a gzip bomb before decompressing it "
            f"(the limit is {limits.MAX_COMPRESSION_RATIO} times)"
        )


def check_headers(headers: Sequence[IdxHeader], names: Sequence[str]) -> None:
    """Refuse the four files on their headers alone: images per split, size, compression, image shape, types, counts.

    Raises
    ------
    DatasetError
        The message names the file and the problem.
    """
    total = 0
    for index, (header, name) in enumerate(zip(headers, names)):
        if index % 2 == 0 and header.shape:
            most = limits.MAX_TRAIN_IMAGES if index == 0 else limits.MAX_TEST_IMAGES
            if header.shape[0] > most:
                raise DatasetError(
                    f"{name}: declares {header.shape[0]:,} {_ROLE_TEXT[index]}; the limit is {most:,} "
                    f"{_ROLE_TEXT[index]} per dataset (MNIST has 60,000 and 10,000)"
                )
        total += header.size
        if total > limits.MAX_DATASET_BYTES:
            raise DatasetError(
                f"{name}: the dataset's files declare {limits.format_bytes(total)} or more of data; "
                f"the limit is {limits.format_bytes(limits.MAX_DATASET_BYTES)}"
            )
        _check_expansion(header, name)
        shape, what = header.shape, _ROLE_TEXT[index]
        if index % 2 == 0:
            if len(shape) != 3:
                raise DatasetError(f"{name}: {what} must have 3 dimensions (count, height, width), not {len(shape)}")
            if shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
                raise DatasetError(
                    f"{name}: the images are {shape[1]}x{shape[2]} pixels; MNIST Lab trains on 28x28 images"
                )
            if header.dtype != np.uint8:
                raise DatasetError(f"{name}: the pixels are {header.dtype.name}; MNIST Lab reads 8-bit grey (uint8)")
        else:
            if len(shape) != 1:
                raise DatasetError(f"{name}: {what} must have 1 dimension, not {len(shape)}")
            if header.dtype.kind not in "iu":
                raise DatasetError(f"{name}: labels must be integers, not {header.dtype.name}")
        if shape[0] == 0:
            raise DatasetError(f"{name}: holds no {what}")
    for images, labels in ((0, 1), (2, 3)):
        n_images, n_labels = headers[images].shape[0], headers[labels].shape[0]
        if n_images != n_labels:
            raise DatasetError(
                f"{names[labels]}: {n_labels:,} labels for the {n_images:,} images of {names[images]}; "
                "each image needs exactly one label"
            )


def read_four(openers: Sequence[Callable[[], BinaryIO]], names: Sequence[str]) -> list[np.ndarray]:
    """Check the four files' headers together, then read them with the strict IDX reader.

    Parameters
    ----------
    openers : sequence of callables
        Each opens one file (in ``ROLES`` order) as a seekable binary stream.
    names : sequence of str
        The files' names for messages.

    Returns
    -------
    list of numpy.ndarray
        Train images, train labels, test images, test labels, read-only.

    Raises
    ------
    DatasetError
        A header fails ``check_headers`` or a file is not valid IDX.
    """
    headers = []
    for open_file, name in zip(openers, names):
        with open_file() as stream:
            headers.append(read_header(stream, name))
    check_headers(headers, names)
    arrays = []
    for open_file in openers:
        with open_file() as stream:
            try:
                arrays.append(read_idx(stream))
            except IdxFormatError as error:
                raise DatasetError(str(error)) from error
    return arrays


def named_stream(data: bytes, name: str) -> io.BytesIO:
    """Return ``data`` as a stream whose ``name`` the IDX reader puts in its messages."""
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def content_sha256(array: np.ndarray) -> str:
    """Return the SHA-256 of the IDX content ``array`` was read from: its header and big-endian data.

    ``read_idx`` refuses trailing bytes, so this equals the SHA-256 of the file's uncompressed bytes,
    without reading or decompressing the file a second time.
    """
    native = array.dtype.newbyteorder("=")
    code = next(code for code, dtype in IDX_DTYPES.items() if dtype.newbyteorder("=") == native)
    digest = hashlib.sha256(bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape))
    digest.update(np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).data)
    return digest.hexdigest()


def check_class_name(label: str, where: str) -> None:
    """Refuse a class name that is empty, too long, padded with spaces or holds control characters."""
    if not label or len(label) > limits.MAX_CLASS_NAME_CHARS or not label.isprintable() or label != label.strip():
        raise DatasetError(
            f"{where}: the class name {label!r} is not usable: a class name is "
            f"1-{limits.MAX_CLASS_NAME_CHARS} printable characters, not starting or ending with a space"
        )


def parse_class_names(data: bytes, name: str) -> tuple[str, ...]:
    """Return the class names of a ``classes.txt``: one per line, blank lines at the end ignored.

    Raises
    ------
    DatasetError
        The file is too big, not UTF-8, has a blank or unusable line, or names a class twice.
    """
    if len(data) > limits.MAX_CLASSES_FILE_BYTES:
        raise DatasetError(f"{name}: {limits.format_bytes(len(data))} is too big for a list of class names")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{name}: not UTF-8 text ({error.reason}); write one class name per line") from error
    lines = [line.strip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > limits.MAX_CLASSES:
        raise DatasetError(f"{name}: names {len(lines)} classes; MNIST Lab handles at most {limits.MAX_CLASSES}")
    seen: dict[str, int] = {}
    for number, label in enumerate(lines, 1):
        if not label:
            raise DatasetError(f"{name}: line {number} is blank; write one class name per line")
        check_class_name(label, f"{name}, line {number}")
        if label in seen:
            raise DatasetError(f"{name}: lines {seen[label]} and {number} both name the class {label!r}")
        seen[label] = number
    return tuple(lines)


def assemble(
    name: str,
    arrays: Sequence[np.ndarray],
    filenames: Sequence[str],
    class_names: tuple[str, ...] | None,
    *,
    classes_source: str,
    transposed: bool,
    source: str,
    sha256: str,
) -> Dataset:
    """Check the labels against the classes and build the Dataset.

    Parameters
    ----------
    name : str
        The dataset's name.
    arrays : sequence of numpy.ndarray
        Train images, train labels, test images, test labels, as checked by ``check_headers``.
    filenames : sequence of str
        The four files' names, for messages.
    class_names : tuple of str or None
        From ``classes.txt``; None names the classes by their labels, 0 to the largest label.
    classes_source : str
        Where ``class_names`` come from, for messages.
    transposed : bool
        Transpose each image back (EMNIST).
    source : str
        Where the dataset comes from, shown in the app.
    sha256 : str
        Combined checksum of the four files.

    Raises
    ------
    DatasetError
        Fewer than two classes, a label out of range, or one class only in the training split.
    """
    x_train, y_train, x_test, y_test = arrays
    if class_names is not None and len(class_names) < 2:
        raise DatasetError(f"{classes_source}: names {plural(len(class_names), 'class', 'classes')}; a classifier needs at least 2")
    if class_names is not None:
        n_classes, reason = len(class_names), f"{classes_source} names {len(class_names)} classes"
    else:
        largest = max(int(y_train.max()), int(y_test.max()))
        n_classes, reason = min(largest + 1, limits.MAX_CLASSES), f"MNIST Lab handles at most {limits.MAX_CLASSES}"
    for labels, filename in ((y_train, filenames[1]), (y_test, filenames[3])):
        bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
        if bad.size:
            raise DatasetError(
                f"{filename}: label {labels[bad[0]]} (at position {bad[0]:,}) is out of range: {reason}, "
                f"so labels run from 0 to {n_classes - 1}"
            )
    present = np.unique(y_train)
    if present.size < 2:
        raise DatasetError(
            f"{filenames[1]}: every training label is {present[0]} (one class only); a classifier needs at least 2"
        )
    if transposed:
        x_train, x_test = (np.ascontiguousarray(images.transpose(0, 2, 1)) for images in (x_train, x_test))
    y_train, y_test = (labels.astype(np.uint8, copy=False) for labels in (y_train, y_test))
    for array in (x_train, y_train, x_test, y_test):
        array.setflags(write=False)
    names = class_names if class_names is not None else tuple(str(label) for label in range(n_classes))
    return Dataset(
        name, x_train, y_train, x_test, y_test, names, source, UNKNOWN_LICENCE,
        sha256=sha256, drawable=is_drawable(names),
    )
