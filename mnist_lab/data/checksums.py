"""One SHA-256 that names a whole dataset, made from the SHA-256 of each of its files."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_HEX_DIGITS = frozenset("0123456789abcdef")


def combined_sha256(file_hashes: Sequence[str]) -> str:
    """Return the SHA-256 of a dataset from the SHA-256 of its files.

    The result is the SHA-256 of the files' hex digests joined in the given order, as ASCII without separators:
    the same files in the same order always give the same value, so a run can record the data it trained on
    in one string.

    Parameters
    ----------
    file_hashes : sequence of str
        The lowercase hex SHA-256 of each file, in the dataset's order (for the IDX datasets: train images,
        train labels, test images, test labels).

    Returns
    -------
    str
        64 lowercase hex digits.

    Raises
    ------
    ValueError
        A hash is not 64 lowercase hex digits (joined without separators, other lengths would be ambiguous).
    """
    for file_hash in file_hashes:
        if not isinstance(file_hash, str) or len(file_hash) != 64 or not set(file_hash) <= _HEX_DIGITS:
            raise ValueError(f"a file's SHA-256 must be 64 lowercase hex digits, got {file_hash!r}")
    return hashlib.sha256("".join(file_hashes).encode("ascii")).hexdigest()
