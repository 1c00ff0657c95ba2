"""The ``Dataset`` every page, training job and command works on, and the bundled, checksum-verified MNIST.

Other datasets (IDX folders, uploads, image folders) are read by :mod:`mnist_lab.data.folders`,
:mod:`mnist_lab.data.imports` and :mod:`mnist_lab.data.images`, and found by name through
:mod:`mnist_lab.data.registry`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.idx import read_idx

BUNDLED = Path(__file__).resolve().parent
MNIST_NAME = "MNIST"
DIGIT_NAMES = tuple(str(digit) for digit in range(10))


@dataclass(frozen=True)
class DatasetFile:
    """One IDX file of a dataset with the SHA-256 of its uncompressed bytes."""

    filename: str
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's four files live and what they must contain."""

    name: str
    folder: str
    train_images: DatasetFile
    train_labels: DatasetFile
    test_images: DatasetFile
    test_labels: DatasetFile
    class_names: tuple[str, ...]
    source: str
    licence: str


@dataclass(frozen=True)
class Dataset:
    """Train and test splits as read-only uint8 arrays, with the facts shown in the app.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        Images, shape (n, 28, 28), uint8 0-255, read-only.
    y_train, y_test : numpy.ndarray
        Labels, shape (n,), uint8 class indices, read-only.
    class_names : tuple of str
        Display name of each class index.
    sha256 : str
        Combined SHA-256 of the four files' uncompressed contents (``checksums.combined_sha256``): a run
        records it, so that a changed dataset is noticed before its model is evaluated on it.
    drawable : bool
        Whether drawing a digit on the canvas makes sense: the classes are exactly the digits 0-9.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    licence: str
    sha256: str = ""
    drawable: bool = False

    @property
    def image_shape(self) -> tuple[int, int]:
        """Height and width of one image."""
        return self.x_train.shape[1], self.x_train.shape[2]

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(images, labels)`` of the ``"train"`` or ``"test"`` split."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "test":
            return self.x_test, self.y_test
        raise ValueError(f"split must be 'train' or 'test', got {name!r}")


MNIST = DatasetSpec(
    name="MNIST",
    folder="mnist",
    train_images=DatasetFile(
        "train-images-idx3-ubyte.gz", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    train_labels=DatasetFile(
        "train-labels-idx1-ubyte.gz", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    test_images=DatasetFile(
        "t10k-images-idx3-ubyte.gz", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    test_labels=DatasetFile(
        "t10k-labels-idx1-ubyte.gz", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
    class_names=DIGIT_NAMES,
    source="The MNIST database of handwritten digits, by Yann LeCun, Corinna Cortes and Christopher J.C. Burges",
    licence="Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0)",
)


def spec_sha256(spec: DatasetSpec) -> str:
    """Return the combined checksum of ``spec``'s files, from the published hashes (no file is read)."""
    files = (spec.train_images, spec.train_labels, spec.test_images, spec.test_labels)
    return combined_sha256([file.sha256 for file in files])


MNIST_SHA256 = spec_sha256(MNIST)


def is_drawable(class_names: tuple[str, ...]) -> bool:
    """Return whether the classes are exactly the digits 0-9, in order: what the drawing canvas produces."""
    return tuple(class_names) == DIGIT_NAMES


def load_dataset(spec: DatasetSpec, directory: str | Path | None = None) -> Dataset:
    """Read and verify the four IDX files of ``spec``.

    Parameters
    ----------
    spec : DatasetSpec
        Which dataset, its file names and checksums.
    directory : str or Path, optional
        Folder holding the files; defaults to the copy bundled with the package.

    Returns
    -------
    Dataset

    Raises
    ------
    mnist_lab.data.IdxFormatError
        A file is not valid IDX.
    mnist_lab.data.ChecksumError
        A file's content differs from the published one.
    ValueError
        The images and labels of a split do not match in number.
    """
    folder = Path(directory) if directory is not None else BUNDLED / spec.folder
    arrays = [
        read_idx(folder / file.filename, sha256=file.sha256)
        for file in (spec.train_images, spec.train_labels, spec.test_images, spec.test_labels)
    ]
    x_train, y_train, x_test, y_test = arrays
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise ValueError(f"{spec.name} {split}: images {images.shape} do not match labels {labels.shape}")
    return Dataset(
        spec.name,
        x_train,
        y_train,
        x_test,
        y_test,
        spec.class_names,
        spec.source,
        spec.licence,
        sha256=spec_sha256(spec),
        drawable=is_drawable(spec.class_names),
    )


def load_mnist(directory: str | Path | None = None) -> Dataset:
    """Load MNIST (60,000 train and 10,000 test digits), verified against its SHA-256 checksums.

    Parameters
    ----------
    directory : str or Path, optional
        Folder holding the four original files; defaults to the bundled copy.

    Returns
    -------
    Dataset
        ``x_train`` (60000, 28, 28), ``y_train`` (60000,), ``x_test`` (10000, 28, 28),
        ``y_test`` (10000,), all uint8 and read-only.
    """
    return load_dataset(MNIST, directory)


@functools.lru_cache(maxsize=1)
def shared_mnist() -> Dataset:
    """Return the bundled MNIST, loaded once per process and shared by pages and training jobs."""
    return load_mnist()
