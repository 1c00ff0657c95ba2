"""Uploading an MNIST-format dataset: files or a .zip, checked before anything is stored, stored atomically."""

import io
import json
import zipfile

import numpy as np
import pytest

from mnist_lab.data import dataset_names, get_dataset, import_idx_upload, limits
from mnist_lab.errors import DatasetError
from tests.test_dataset_folders import (
    CLASSES,
    ROLES,
    _bad,
    expected_sha256,
    idx_content,
    idx_files,
    snapshot,
    three_classes,
    write_folder,
    zip_of,
)


@pytest.fixture(scope="module")
def arrays(mnist):
    return three_classes(mnist)


@pytest.fixture
def stored(home, arrays, monkeypatch):
    """A home that already holds one imported dataset; returns the snapshot of its datasets folder."""
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    import_idx_upload(idx_files(arrays), "Existing", home)
    return snapshot(home / "datasets")


def test_an_upload_is_stored_with_its_checksums_and_loads_by_name(home, arrays, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    dataset = import_idx_upload(idx_files(arrays, compress=False), "Shapes 3", home)
    assert dataset.class_names == CLASSES and dataset.sha256 == expected_sha256(arrays) and not dataset.drawable
    folder = home / "datasets" / "Shapes 3"
    assert sorted(path.name for path in folder.iterdir()) == sorted([*ROLES, "checksums.json", "classes.txt", "owner.json"])
    recorded = json.loads((folder / "checksums.json").read_text())
    assert recorded["sha256"] == dataset.sha256 and list(recorded["files"]) == list(ROLES)
    assert dataset_names(home) == ["MNIST", "Shapes 3"]
    loaded = get_dataset("Shapes 3", home)
    assert loaded.sha256 == dataset.sha256 and loaded.class_names == CLASSES and loaded.source == dataset.source
    np.testing.assert_array_equal(loaded.x_test, arrays[2])
    assert not [path for path in (home / "datasets").iterdir() if path.name.startswith(".")]


def test_a_zip_with_one_folder_and_macos_litter(home, arrays, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in idx_files(arrays).items():
            archive.writestr(f"shapes/{name}", data)
        archive.writestr("__MACOSX/shapes/._train-images-idx3-ubyte.gz", b"junk")
        archive.writestr("shapes/README.md", b"three classes")
    dataset = import_idx_upload({"shapes.zip": buffer.getvalue()}, "zipped", home)
    assert dataset.class_names == CLASSES and dataset.sha256 == expected_sha256(arrays)
    assert sorted(path.name for path in (home / "datasets" / "zipped").iterdir()) == sorted(
        [role + ".gz" for role in ROLES] + ["checksums.json", "classes.txt", "owner.json"]
    )
    assert get_dataset("zipped", home).sha256 == dataset.sha256


def test_emnist_files_are_stored_with_the_transposed_marker(home, arrays, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    transposed = [a.transpose(0, 2, 1) if a.ndim == 3 else a for a in arrays]
    dataset = import_idx_upload(idx_files(transposed, prefix="emnist-shapes-"), "letters", home)
    np.testing.assert_array_equal(dataset.x_train, arrays[0])
    assert (home / "datasets" / "letters" / "transposed").exists()
    np.testing.assert_array_equal(get_dataset("letters", home).x_train, arrays[0])


def test_a_stored_file_that_changes_is_refused(home, arrays, stored):
    path = home / "datasets" / "Existing" / (ROLES[3] + ".gz")
    path.write_bytes(idx_files(_bad(arrays, ROLES[3], arrays[3][::-1].copy()))[ROLES[3] + ".gz"])
    with pytest.raises(DatasetError, match=r"^Existing/t10k-labels-idx1-ubyte\.gz: the content differs from the checksum") as refused:
        get_dataset("Existing", home)
    assert str(home) not in str(refused.value)  # a page shows it: no path of the server


def test_an_imported_dataset_names_no_path_of_the_server(home, arrays, stored):
    dataset = get_dataset("Existing", home)
    assert dataset.source == "IDX files in Existing" and str(home) not in dataset.source
    (home / "datasets" / "Existing" / "classes.txt").write_bytes(b"x" * (limits.MAX_CLASSES_FILE_BYTES + 1))
    with pytest.raises(DatasetError, match=r"^Existing/classes\.txt: .* is too big") as refused:
        get_dataset("Existing", home)
    assert str(home) not in str(refused.value)


def _bomb():
    """A zip whose training images would unpack to 40 MB of zeros from about 40 kB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("train-images-idx3-ubyte", "w") as member:
        for _ in range(40):
            member.write(bytes(1 << 20))
    return buffer.getvalue()


def _files(arrays, role, value):
    return idx_files(_bad(arrays, role, value))


def _in_folders(files, *folders):
    """Spread ``files`` over ``folders``, the first taking all but classes.txt."""
    members = {f"{folders[0]}/{name}": data for name, data in files.items() if name != "classes.txt"}
    return {**members, f"{folders[-1]}/classes.txt": files["classes.txt"]}


BAD_UPLOADS = {
    "label out of range": (
        lambda a: _files(a, ROLES[1], np.where(a[1] == 2, 3, a[1]).astype(np.uint8)),
        r"train-labels-idx1-ubyte\.gz: label 3 .*out of range",
    ),
    "counts differ": (lambda a: _files(a, ROLES[1], a[1][:-1]), r"train-labels.*59 labels for the 60"),
    "one class": (lambda a: _files(a, ROLES[1], np.ones(60, np.uint8)), r"train-labels.*one class only"),
    "not 28x28": (
        lambda a: _files(a, ROLES[2], np.zeros((30, 20, 20), np.uint8)),
        r"t10k-images-idx3-ubyte\.gz: the images are 20x20 pixels; MNIST Lab trains on 28x28 images",
    ),
    "zip bomb": (lambda a: {"bomb.zip": _bomb()}, r"bomb\.zip: train-images-idx3-ubyte would expand .* zip bomb"),
    "bad label in zip": (
        lambda a: {"d.zip": zip_of(_files(a, ROLES[3], np.full(30, 9, np.uint8)), "d")},
        r"d\.zip: t10k-labels-idx1-ubyte\.gz: label 9",
    ),
    "not a zip": (lambda a: {"d.zip": b"not a zip"}, r"d\.zip: not a readable zip file"),
    "zip and files": (
        lambda a: {"d.zip": zip_of(idx_files(a)), **idx_files(a)},
        r"d\.zip: upload either one \.zip or the dataset's files",
    ),
    "two folders": (
        lambda a: {"d.zip": zip_of(_in_folders(idx_files(a), "a", "b"))},
        r"d\.zip: the dataset's files are in several folders \(a, b\)",
    ),
    "stranger": (lambda a: {**idx_files(a), "notes.txt": b"hi"}, r"notes\.txt: not a file of an MNIST-format dataset"),
    "missing file": (
        lambda a: {k: v for k, v in idx_files(a).items() if "t10k-labels" not in k},
        r"no file t10k-labels-idx1-ubyte",
    ),
    "nothing": (lambda a: {}, r"nothing was uploaded"),
    "plain and gz": (lambda a: {**idx_files(a), ROLES[1]: idx_content(a[1])}, r"several files hold the train-labels"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_is_refused_and_nothing_stored_is_touched(home, arrays, stored, case):
    build, message = BAD_UPLOADS[case]
    with pytest.raises(DatasetError, match=message):
        import_idx_upload(build(arrays), "New", home)
    assert snapshot(home / "datasets") == stored


def test_size_limits_are_checked_before_reading(home, arrays, stored, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(DatasetError, match=r"the upload is [\d,]+ bytes; the limit is 1,000 bytes"):
        import_idx_upload(idx_files(arrays), "New", home)
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 200 * 1024**2)
    monkeypatch.setattr(limits, "MAX_DATASET_BYTES", 10_000)
    with pytest.raises(DatasetError, match=r"d\.zip: its files unpack to [\d,]+ bytes; the limit is 10,000 bytes"):
        import_idx_upload({"d.zip": zip_of(idx_files(arrays, compress=False))}, "New", home)
    assert snapshot(home / "datasets") == stored


@pytest.mark.parametrize(
    "name, message",
    [
        ("Existing", "already exists"),
        ("existing", "already exists"),
        ("MNIST", "bundled MNIST"),
        ("mnist", "bundled MNIST"),
        ("", "cannot name a dataset"),
        ("../escape", "cannot name a dataset"),
        ("a/b", "cannot name a dataset"),
        (".hidden", "cannot name a dataset"),
        ("trailing ", "cannot name a dataset"),
        ("x" * 41, "cannot name a dataset"),
        ("new\nline", "cannot name a dataset"),
        ("nul\x00", "cannot name a dataset"),
        ("caf\u00e9", "cannot name a dataset"),
    ],
)
def test_unsafe_and_taken_names_are_refused(home, arrays, stored, name, message):
    with pytest.raises(DatasetError, match=message):
        import_idx_upload(idx_files(arrays), name, home)
    assert snapshot(home / "datasets") == stored


def test_a_registered_folder_takes_its_name(home, arrays, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_DATASETS", str(write_folder(tmp_path / "Fashion", idx_files(arrays))))
    with pytest.raises(DatasetError, match="'Fashion' already exists"):
        import_idx_upload(idx_files(arrays), "Fashion", home)
    assert not (home / "datasets").exists()
