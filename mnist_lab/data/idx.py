"""A strict reader of the IDX format used by MNIST, gzip-compressed or raw."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnist_lab.errors import ChecksumError, IdxFormatError

IdxSource = str | os.PathLike | BinaryIO

#: IDX type byte -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20




def read_idx(source: IdxSource, *, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file into a read-only native-endian array.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        The file, gzip-compressed or raw (detected from its first bytes).
    sha256 : str, optional
        Expected SHA-256 (hex) of the uncompressed bytes; a mismatch raises ``ChecksumError``.

    Returns
    -------
    numpy.ndarray
        Array of the declared shape and element type, not writeable.

    Raises
    ------
    IdxFormatError
        Empty file, corrupt gzip, wrong magic, unknown type byte, truncated data or trailing
        bytes. The message names the file.
    ChecksumError
        The content does not match ``sha256``.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as raw:
            return _read_stream(raw, str(source), sha256)
    return _read_stream(source, getattr(source, "name", "<stream>"), sha256)


def _read_stream(raw: BinaryIO, name: str, sha256: str | None) -> np.ndarray:
    """Read an IDX array from an open binary stream named ``name``."""
    start = raw.read(2)
    if not start:
        raise IdxFormatError(f"{name}: the file is empty")
    stream = _HashingReader(_open_payload(raw, start, name), name)
    dtype, shape = _read_header(stream, name)
    payload = _read_exactly(stream, dtype.itemsize * _product(shape), name)
    if stream.read(1):
        raise IdxFormatError(f"{name}: trailing bytes after the {_describe(shape, dtype)} the header declares")
    if sha256 is not None and stream.hexdigest() != sha256.lower():
        raise ChecksumError(
            f"{name}: SHA-256 of the content is {stream.hexdigest()}, expected {sha256.lower()}; "
            "the file is damaged or not the original"
        )
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    if not dtype.isnative and dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    array.setflags(write=False)
    return array


def _open_payload(raw: BinaryIO, start: bytes, name: str) -> BinaryIO:
    """Return a stream of the uncompressed bytes, given the first two bytes already read."""
    rest = io.BufferedReader(_PrefixedReader(start, raw), _CHUNK)
    if start == _GZIP_MAGIC:
        return _GzipGuard(gzip.GzipFile(fileobj=rest, mode="rb"), name)
    return rest


def _read_header(stream: BinaryIO, name: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Parse the magic number and the dimensions."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise IdxFormatError(f"{name}: truncated header ({len(magic)} of 4 magic bytes)")
    if magic[:2] != b"\x00\x00":
        raise IdxFormatError(f"{name}: wrong magic {magic.hex()}; an IDX file starts with two zero bytes")
    type_byte, ndim = magic[2], magic[3]
    if type_byte not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise IdxFormatError(f"{name}: unknown element type 0x{type_byte:02X} (known: {known})")
    if ndim == 0:
        raise IdxFormatError(f"{name}: the header declares zero dimensions")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IdxFormatError(f"{name}: truncated header ({len(dims)} of {4 * ndim} dimension bytes)")
    return IDX_DTYPES[type_byte], struct.unpack(f">{ndim}I", dims)


def _read_exactly(stream: BinaryIO, size: int, name: str) -> bytearray:
    """Read ``size`` bytes in chunks, so a header that lies about the size allocates nothing big."""
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(_CHUNK, size - len(buffer)))
        if not chunk:
            raise IdxFormatError(f"{name}: truncated: the header declares {size:,} data bytes, only {len(buffer):,} follow")
        buffer += chunk
    return buffer


def _product(shape: tuple[int, ...]) -> int:
    """Return the number of elements of ``shape`` as a Python int (no overflow)."""
    total = 1
    for dim in shape:
        total *= dim
    return total


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    """Return e.g. '60000x28x28 uint8'."""
    return f"{'x'.join(map(str, shape))} {dtype.newbyteorder('=').name}"


class _PrefixedReader(io.RawIOBase):
    """A stream that yields ``prefix`` and then the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: BinaryIO):
        self._prefix = prefix
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _GzipGuard:
    """Wrap a GzipFile so that decompression errors become IdxFormatError."""

    def __init__(self, stream: gzip.GzipFile, name: str):
        self._stream = stream
        self._name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except (OSError, EOFError, zlib.error) as error:
            raise IdxFormatError(f"{self._name}: corrupt gzip data ({error})") from error


class _HashingReader:
    """Read from a stream while computing the SHA-256 of what was read."""

    def __init__(self, stream, name: str):
        self._stream = stream
        self._hash = hashlib.sha256()
        self.name = name

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool = False) -> None:
    """Write ``array`` as an IDX file (used by tests and for adding datasets)."""
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = np.asarray(array)
    code = codes.get(native.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX has no element type for dtype {native.dtype}")
    header = bytes([0, 0, code, native.ndim]) + struct.pack(f">{native.ndim}I", *native.shape)
    content = header + native.astype(IDX_DTYPES[code], copy=False).tobytes()
    Path(path).write_bytes(gzip.compress(content) if compress else content)
