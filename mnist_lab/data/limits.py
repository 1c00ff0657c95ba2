"""Limits on the datasets MNIST Lab reads, checked before anything large is read, decompressed or stored.

Code reads them as attributes of this module (``limits.MAX_DATASET_BYTES``), so a test can lower one with
``monkeypatch.setattr``.
"""

from __future__ import annotations

#: Largest upload (the files as sent, compressed or not, or the one .zip holding them).
MAX_UPLOAD_BYTES = 200 * 1024**2
#: Largest dataset: the uncompressed IDX content of its four files together, as their headers declare it.
MAX_DATASET_BYTES = 1 * 1024**3
#: Largest ratio of uncompressed to compressed size of one zip member over 1 MB (MNIST's images deflate
#: about 5 times; a zip bomb thousands of times).
MAX_COMPRESSION_RATIO = 200
#: Most classes: labels are stored as one byte.
MAX_CLASSES = 256
#: Longest class name and longest dataset name, in characters.
MAX_CLASS_NAME_CHARS = 40
MAX_NAME_CHARS = 40
#: Largest classes.txt.
MAX_CLASSES_FILE_BYTES = 64 * 1024


def format_bytes(size: int) -> str:
    """Return ``size`` for a message: '512 bytes', '3.2 MB', '1.0 GB'."""
    if size < 1024**2:
        return f"{size:,} bytes"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MB"
    return f"{size / 1024**3:.1f} GB"
