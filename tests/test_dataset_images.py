"""Folders of images in class subfolders, converted once into an MNIST-format dataset."""

import numpy as np
import pytest
from PIL import Image

from mnist_lab.data import get_dataset, import_image_folder
from mnist_lab.errors import DatasetError
from tests.test_dataset_folders import CLASSES, ROLES, snapshot, three_classes

SORTED = tuple(sorted(CLASSES))


@pytest.fixture(scope="module")
def arrays(mnist):
    return three_classes(mnist, n_train=8, n_test=4)


@pytest.fixture(autouse=True)
def no_registered_folders(monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)


def png_folder(root, arrays, scale=1):
    """Write the dataset as train/<class>/<n>.png and test/<class>/<n>.png, each image enlarged ``scale`` times."""
    for split, images, labels in (("train", arrays[0], arrays[1]), ("test", arrays[2], arrays[3])):
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.kron(image, np.ones((scale, scale), np.uint8))).save(folder / f"{index:03}.png")
    return root


def by_class(images, labels, names):
    """Return, for each class name, the set of its images' bytes."""
    return {name: {image.tobytes() for image in images[labels == label]} for label, name in enumerate(names)}


def test_28x28_images_are_kept_as_they_are(home, arrays, tmp_path):
    source = png_folder(tmp_path / "shapes", arrays)
    (source / "train" / "ring" / "notes.txt").write_text("ignored")
    (source / "train" / ".cache").mkdir()
    dataset = import_image_folder(source, "shapes-png", home)
    assert dataset.class_names == SORTED and dataset.image_shape == (28, 28) and not dataset.drawable
    assert by_class(dataset.x_train, dataset.y_train, SORTED) == by_class(arrays[0], arrays[1], CLASSES)
    assert by_class(dataset.x_test, dataset.y_test, SORTED) == by_class(arrays[2], arrays[3], CLASSES)
    assert len(set(dataset.y_train[:3].tolist())) > 1  # shuffled, not class by class
    folder = home / "datasets" / "shapes-png"
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [role + ".gz" for role in ROLES] + ["checksums.json", "classes.txt", "owner.json"]
    )
    loaded = get_dataset("shapes-png", home)
    assert loaded.sha256 == dataset.sha256 and loaded.class_names == SORTED
    np.testing.assert_array_equal(loaded.x_train, dataset.x_train)


def test_larger_images_follow_the_mnist_recipe(home, arrays, tmp_path):
    dataset = import_image_folder(png_folder(tmp_path / "big", arrays, scale=2), "EMNIST-like big", home)
    assert dataset.x_train.shape == (24, 28, 28) and dataset.x_train.dtype == np.uint8
    rows, cols = np.indices((28, 28))
    for image in dataset.x_train:
        mass = image.astype(float)
        assert image.max() == 255
        assert abs((mass * rows).sum() / mass.sum() - 14) < 1 and abs((mass * cols).sum() / mass.sum() - 14) < 1
    # An "emnist" name does not transpose an import: the import decides, and it wrote no marker.
    np.testing.assert_array_equal(get_dataset("EMNIST-like big", home).x_train, dataset.x_train)


def _mixed_sizes(root, arrays):
    Image.fromarray(np.zeros((30, 30), np.uint8) + 255).save(root / "test" / "seven" / "000.png")
    return "test/seven/000.png: 30x30 pixels, but .* is 28x28; all images of a dataset must have the same size"


def _one_class(root, arrays):
    for split in ("train", "test"):
        for name in ("bar", "seven"):
            for path in (root / split / name).iterdir():
                path.unlink()
            (root / split / name).rmdir()
    return r"train: 1 class folder \(ring\); a classifier needs at least 2 classes"


def _class_mismatch(root, arrays):
    (root / "test" / "seven").rename(root / "test" / "sevens")
    return r"train/ and test/ must hold the same class folders; only in train/: seven; only in test/: sevens"


def _empty_class(root, arrays):
    for path in (root / "test" / "bar").iterdir():
        path.unlink()
    return r"test/bar: no images"


def _broken_image(root, arrays):
    (root / "train" / "bar" / "zzz.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return r"train/bar/zzz\.png: "


def _no_test(root, arrays):
    for path in sorted((root / "test").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (root / "test").rmdir()
    return r"test: missing"


@pytest.mark.parametrize("spoil", [_mixed_sizes, _one_class, _class_mismatch, _empty_class, _broken_image, _no_test])
def test_a_bad_image_folder_is_refused_and_nothing_is_stored(home, arrays, tmp_path, spoil):
    source = png_folder(tmp_path / "source", arrays)
    import_image_folder(source, "kept", home)
    before = snapshot(home / "datasets")
    message = spoil(source, arrays)
    with pytest.raises(DatasetError, match=message):
        import_image_folder(source, "spoilt", home)
    assert snapshot(home / "datasets") == before
