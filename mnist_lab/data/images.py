"""Import a folder of images in class subfolders: the layout of ``keras.utils.image_dataset_from_directory``.

The folder holds ``train/<class>/`` and ``test/<class>/`` with .png, .jpg, .jpeg or .bmp images (other files,
hidden files and hidden folders are ignored). The classes are the subfolders' names, sorted; train and test
must have the same ones, each with at least one image, and there must be at least two. All images of the
dataset must have the same size.

Each image is converted once, at import, to 28x28 grey uint8: an image of exactly 28x28 is kept as it is, in
grey, and taken to be light ink on a dark background like MNIST's; any other size goes through MNIST's recipe
(:func:`mnist_lab.data.preprocess.to_mnist`: cropped to the ink, fitted into 20x20, centred by mass in
28x28, dark-on-light images inverted). The images of each split are then shuffled with a fixed seed, because
training holds out the last share of the training split for validation and a folder lists its images class by
class. The result is written as gzip IDX files with ``classes.txt`` and ``checksums.json`` into
``<home>/datasets/<name>/`` by the same atomic step as an upload, and is read back like any IDX folder.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mnist_lab.access.users import PERSONAL, User
from mnist_lab.data import limits, owners
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import Dataset
from mnist_lab.data.folders import CLASSES_FILE, ROLES, write_checksums
from mnist_lab.data.idx import write_idx
from mnist_lab.data.imports import check_new_name, store
from mnist_lab.data.validate import IMAGE_SIDE, assemble, check_class_name, content_sha256
from mnist_lab.errors import DatasetError, ImageInputError
from mnist_lab.text import plural

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
SPLITS = ("train", "test")
_SHUFFLE_SEED = 0


def _class_folders(folder: Path) -> dict[str, Path]:
    """Return the class subfolders of one split folder, by name."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing; an image folder holds train/<class>/ and test/<class>/ subfolders")
    return {child.name: child for child in folder.iterdir() if child.is_dir() and not child.name.startswith(".")}


def _image_files(folder: Path) -> list[Path]:
    """Return the images of one class folder, sorted, refusing an empty one."""
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}); every class needs at least one")
    return files


def _listing(source: Path) -> tuple[tuple[str, ...], list[list[tuple[Path, int]]]]:
    """Return the class names and, for each split, its image files with their labels."""
    train, test = (_class_folders(source / split) for split in SPLITS)
    if set(train) != set(test):
        only_train = ", ".join(sorted(set(train) - set(test))) or "none"
        only_test = ", ".join(sorted(set(test) - set(train))) or "none"
        raise DatasetError(
            f"{source}: train/ and test/ must hold the same class folders; only in train/: {only_train}; "
            f"only in test/: {only_test}"
        )
    classes = tuple(sorted(train))
    if len(classes) < 2:
        raise DatasetError(
            f"{source / 'train'}: {plural(len(classes), 'class folder')} ({', '.join(classes) or 'none'}); "
            "a classifier needs at least 2 classes"
        )
    if len(classes) > limits.MAX_CLASSES:
        raise DatasetError(
            f"{source / 'train'}: {len(classes)} classes; MNIST Lab handles at most {limits.MAX_CLASSES}"
        )
    for label in classes:
        check_class_name(label, str(source / "train" / label))
    splits = [
        [(path, label) for label, name in enumerate(classes) for path in _image_files(folders[name])]
        for folders in (train, test)
    ]
    for split, images, most in zip(SPLITS, splits, (limits.MAX_TRAIN_IMAGES, limits.MAX_TEST_IMAGES)):
        if len(images) > most:
            raise DatasetError(
                f"{source / split}: {len(images):,} images; the limit is {most:,} {split} images per dataset "
                "(MNIST has 60,000 and 10,000)"
            )
    size = sum(len(images) for images in splits) * (IMAGE_SIDE * IMAGE_SIDE + 1)
    if size > limits.MAX_DATASET_BYTES:
        raise DatasetError(
            f"{source}: the converted images would take {limits.format_bytes(size)}; "
            f"the limit is {limits.format_bytes(limits.MAX_DATASET_BYTES)}"
        )
    return classes, splits


def _convert(path: Path, first: tuple[Path, tuple[int, int]] | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Return one image as 28x28 grey uint8 and its size, refusing a size other than ``first``'s."""
    from PIL import Image

    from mnist_lab.data import preprocess

    try:
        data = path.read_bytes()
        image = preprocess.load_image(data)  # checks the pixel count from the header before decoding
        with Image.open(io.BytesIO(data)) as probe:
            size = probe.size
        if first is not None and size != first[1]:
            raise DatasetError(
                f"{path}: {size[0]}x{size[1]} pixels, but {first[0]} is {first[1][0]}x{first[1][1]}; "
                "all images of a dataset must have the same size"
            )
        if size == (IMAGE_SIDE, IMAGE_SIDE):
            return np.asarray(image.convert("L"), dtype=np.uint8), size
        return np.round(preprocess.to_mnist(image) * 255).astype(np.uint8), size
    except ImageInputError as error:
        raise DatasetError(f"{path}: {error}") from error
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from error


def import_image_folder(source: str | Path, name: str, home: Path | None = None, *, user: User = PERSONAL,
                        database: str | None = None) -> Dataset:
    """Convert a folder of images in class subfolders into an MNIST-format dataset in ``<home>/datasets/<name>/``.

    Parameters
    ----------
    source : str or Path
        The folder holding ``train/<class>/`` and ``test/<class>/`` (see the module's docstring).
    name : str
        The new dataset's name (see ``imports.check_new_name``).
    home : Path, optional
        Home directory; defaults to ``paths.default_home()``.
    user : User, optional
        Who adds it, recorded as its owner; the personal lab's user by default.
    database : str, optional
        The run store's database URL; with a server the dataset is also kept in its ``datasets`` tables (see
        ``import_idx_upload``).

    Returns
    -------
    Dataset
        28x28 grey uint8 images, the class folders' names as class names, as ``get_dataset(name, home)``
        will return it.

    Raises
    ------
    DatasetError
        The name is unsafe or taken; a split or class is missing or empty; train and test have different
        classes; only one class; an image is unreadable, blank or of another size than the first; a split has
        more images than ``limits.MAX_TRAIN_IMAGES`` or ``limits.MAX_TEST_IMAGES`` (counted before any image is
        decoded). The message names the file or folder; nothing is written.
    LimitExceededError
        ``user`` is a student who already added ``limits.MAX_DATASETS_PER_STUDENT`` datasets.
    """
    owners.check_may_add(user, home, database=database)
    target = check_new_name(name, home, database=database)
    source = Path(source)
    try:
        classes, splits = _listing(source)
    except OSError as error:
        raise DatasetError(f"{error.filename or source}: cannot be read ({error.strerror or error})") from error
    rng = np.random.default_rng(_SHUFFLE_SEED)
    arrays: list[np.ndarray] = []
    first = None
    for split in splits:
        images = np.empty((len(split), IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
        for index, (path, _) in enumerate(split):
            images[index], size = _convert(path, first)
            first = first or (path, size)
        labels = np.array([label for _, label in split], dtype=np.uint8)
        order = rng.permutation(len(split))
        arrays += [images[order], labels[order]]
    hashes = [content_sha256(array) for array in arrays]
    dataset = assemble(
        name,
        arrays,
        [f"{name}/{role}.gz" for role in ROLES],
        classes,
        classes_source=str(source),
        transposed=False,
        source=f"IDX files in {name}",
        sha256=combined_sha256(hashes),
    )

    def write(folder: Path) -> None:
        for role, array in zip(ROLES, arrays):
            write_idx(folder / (role + ".gz"), array, compress=True)
        (folder / CLASSES_FILE).write_text("\n".join(classes) + "\n", encoding="utf-8")
        write_checksums(folder, {role + ".gz": digest for role, digest in zip(ROLES, hashes)})

    store(target, write, user=user, database=database)
    return dataset
