"""Limits on the datasets MNIST Lab reads, checked before anything large is read, decompressed or stored.

Code reads them as attributes of this module (``limits.MAX_DATASET_BYTES``), so a test can lower one with
``monkeypatch.setattr``.

Why these figures: one server serves a class (Community Cloud gives an app 690 MB to 2.7 GB, of which
TensorFlow takes about 690 MB and a training on 60,000 images 1.0-1.2 GB). MNIST, Fashion-MNIST and
Kuzushiji-MNIST have 60,000 training and 10,000 test images; EMNIST Letters 124,800 and 20,800, EMNIST
Balanced 112,800 and 18,800. The image limits take all of these, and refuse EMNIST Digits (240,000) and
ByClass (697,932), which take 2-6 times MNIST's training time per epoch on a shared server.
"""

from __future__ import annotations

#: Most training images and most test images of a dataset (see the module's docstring for the choice).
MAX_TRAIN_IMAGES = 130_000
MAX_TEST_IMAGES = 25_000
#: Largest dataset: the uncompressed IDX content of its four files together, as their headers declare it. The
#: image limits with 4-byte labels come to 116.5 MB (MB as the messages print it: 2**20 bytes); this rounds it up.
MAX_DATASET_BYTES = 128 * 1024**2
#: Largest upload (the files as sent, compressed or not, or the one .zip holding them): the largest dataset
#: uploaded as plain files.
MAX_UPLOAD_BYTES = 128 * 1024**2
#: Largest ratio of uncompressed to compressed size of one gzip file or zip member over 1 MB (MNIST's images
#: deflate about 5 times, its labels about 2 times; a bomb of zeros about 1,000 times).
MAX_COMPRESSION_RATIO = 200
#: Most datasets one student adds (teachers, and the one user of a personal lab, are not limited); a student
#: deletes one of theirs on the Data page to add another.
MAX_DATASETS_PER_STUDENT = 5
#: Bytes of datasets the server keeps loaded (least recently used out first): three datasets at the image
#: limits, or six the size of MNIST (55 MB). MNIST itself is loaded once and kept apart.
DATASET_CACHE_BYTES = 384 * 1024**2
#: Seconds after its last use that the server lets go of a loaded dataset: a page uses its dataset on every
#: rerun, so this frees what only pages closed or left long ago used.
DATASET_IDLE_SECONDS = 600.0
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
