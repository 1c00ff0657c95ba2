"""IDX folders: reading, class names, checksums, EMNIST's transposition, refusals, and finding datasets by name.

The builders here make a small three-class dataset from transformed MNIST digits; the other dataset tests
import them.
"""

import gzip
import hashlib
import io
import os
import struct
import zipfile

import numpy as np
import pytest

from mnist_lab.data import (
    MNIST_NAME,
    MNIST_SHA256,
    dataset_for_run,
    dataset_names,
    get_dataset,
    limits,
    read_idx_folder,
)
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.errors import DatasetError

ROLES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CLASSES = ("ring", "bar", "seven")
DIGITS = (0, 1, 7)


def three_classes(mnist, n_train=20, n_test=10):
    """Return (x_train, y_train, x_test, y_test): MNIST's 0, 1 and 7, mirrored, relabelled 0, 1, 2, mixed."""
    arrays = []
    rng = np.random.default_rng(0)
    for images, labels, count in ((mnist.x_train, mnist.y_train, n_train), (mnist.x_test, mnist.y_test, n_test)):
        chosen = np.concatenate([np.flatnonzero(labels == digit)[:count] for digit in DIGITS])
        order = rng.permutation(len(chosen))
        x = np.ascontiguousarray(images[chosen][:, :, ::-1][order])
        y = np.repeat(np.arange(len(DIGITS), dtype=np.uint8), count)[order]
        arrays += [x, y]
    return arrays


def idx_content(array):
    """Return the uncompressed IDX bytes of a uint8 array."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def idx_files(arrays, *, compress=True, classes=CLASSES, prefix=""):
    """Return the dataset's files by name, as an upload gives them."""
    files = {}
    for role, array in zip(ROLES, arrays):
        content = idx_content(array)
        files[prefix + role + (".gz" if compress else "")] = gzip.compress(content, 1) if compress else content
    if classes is not None:
        files["classes.txt"] = "".join(name + "\n" for name in classes).encode()
    return files


def write_folder(folder, files):
    """Write ``files`` (name -> bytes) into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def zip_of(files, folder=""):
    """Return a zip holding ``files``, in ``folder`` when given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{folder}/{name}" if folder else name, data)
    return buffer.getvalue()


def snapshot(root):
    """Return every path under ``root`` with its bytes, to show that nothing was touched."""
    if not root.exists():
        return None
    return {str(path.relative_to(root)): path.read_bytes() if path.is_file() else None for path in root.rglob("*")}


@pytest.fixture(scope="module")
def arrays(mnist):
    return three_classes(mnist)


@pytest.fixture(autouse=True)
def no_registered_folders(monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)


def expected_sha256(arrays):
    return combined_sha256([hashlib.sha256(idx_content(array)).hexdigest() for array in arrays])


@pytest.mark.parametrize("compress", [True, False])
def test_reads_a_three_class_folder(tmp_path, arrays, compress):
    folder = write_folder(tmp_path / "shapes", idx_files(arrays, compress=compress))
    dataset = read_idx_folder(folder)
    assert dataset.name == "shapes" and dataset.class_names == CLASSES and dataset.n_classes == 3
    assert dataset.image_shape == (28, 28) and not dataset.drawable
    assert dataset.sha256 == expected_sha256(arrays)
    for got, wanted in zip((dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test), arrays):
        assert got.dtype == np.uint8 and not got.flags.writeable
        np.testing.assert_array_equal(got, wanted)
    assert str(folder) in dataset.source


def test_without_classes_txt_the_labels_name_the_classes(tmp_path, arrays, mnist):
    dataset = read_idx_folder(write_folder(tmp_path / "a", idx_files(arrays, classes=None)), name="Other")
    assert dataset.name == "Other" and dataset.class_names == ("0", "1", "2") and not dataset.drawable
    digits = [mnist.x_train[:200], mnist.y_train[:200], mnist.x_test[:100], mnist.y_test[:100]]
    assert read_idx_folder(write_folder(tmp_path / "digits", idx_files(digits, classes=None))).drawable


def test_emnist_images_are_transposed_back(tmp_path, arrays):
    files = idx_files([a.transpose(0, 2, 1) if a.ndim == 3 else a for a in arrays])
    by_folder = read_idx_folder(write_folder(tmp_path / "EMNIST-shapes", files))
    np.testing.assert_array_equal(by_folder.x_train, arrays[0])
    assert by_folder.x_train.flags.c_contiguous and not by_folder.x_train.flags.writeable
    by_marker = read_idx_folder(write_folder(tmp_path / "plain", {**files, "transposed": b""}))
    np.testing.assert_array_equal(by_marker.x_test, arrays[2])
    prefixed = idx_files([a.transpose(0, 2, 1) if a.ndim == 3 else a for a in arrays], prefix="emnist-shapes-")
    np.testing.assert_array_equal(read_idx_folder(write_folder(tmp_path / "split", prefixed)).x_train, arrays[0])
    as_stored = read_idx_folder(tmp_path / "EMNIST-shapes", transposed=False)
    np.testing.assert_array_equal(as_stored.x_train, arrays[0].transpose(0, 2, 1))
    assert as_stored.sha256 == by_folder.sha256  # the checksum is that of the files


def _bad(arrays, role, value):
    changed = list(arrays)
    changed[ROLES.index(role)] = value
    return changed


BAD_CASES = {
    "label out of range": (
        lambda a: idx_files(_bad(a, ROLES[1], np.where(a[1] == 2, 3, a[1]).astype(np.uint8))),
        r"train-labels-idx1-ubyte\.gz: label 3 .*out of range.*classes\.txt names 3 classes",
    ),
    "counts differ": (
        lambda a: idx_files(_bad(a, ROLES[3], a[3][:-1])),
        r"t10k-labels-idx1-ubyte\.gz: 29 labels for the 30 images of .*t10k-images",
    ),
    "32x32 images": (
        lambda a: idx_files(_bad(a, ROLES[0], np.zeros((60, 32, 32), np.uint8))),
        r"train-images-idx3-ubyte\.gz: the images are 32x32 pixels; MNIST Lab trains on 28x28 images",
    ),
    "one class only": (
        lambda a: idx_files(_bad(a, ROLES[1], np.zeros(60, np.uint8))),
        r"train-labels-idx1-ubyte\.gz: every training label is 0 \(one class only\)",
    ),
    "one class named": (
        lambda a: {**idx_files(a), "classes.txt": b"ring\n"},
        r"classes\.txt: names 1 class",
    ),
    "duplicate class": (
        lambda a: {**idx_files(a), "classes.txt": b"ring\nbar\nring\n"},
        r"classes\.txt: lines 1 and 3 both name the class 'ring'",
    ),
    "blank class": (lambda a: {**idx_files(a), "classes.txt": b"ring\n\nbar\n"}, r"classes\.txt: line 2 is blank"),
    "missing file": (
        lambda a: {k: v for k, v in idx_files(a).items() if not k.startswith("t10k-images")},
        r"no file t10k-images-idx3-ubyte",
    ),
    "two files for a role": (
        lambda a: {**idx_files(a), ROLES[0]: idx_content(a[0])},
        r"several files hold the train-images-idx3-ubyte data",
    ),
    "empty file": (lambda a: {**idx_files(a), ROLES[2] + ".gz": b""}, r"t10k-images-idx3-ubyte\.gz: the file is empty"),
    "not idx": (lambda a: {**idx_files(a), ROLES[2] + ".gz": b"PK\x03\x04junk"}, r"t10k-images.*not an IDX file"),
    "truncated": (
        lambda a: {**idx_files(a), ROLES[2] + ".gz": gzip.compress(idx_content(a[2])[:-5])},
        r"t10k-images-idx3-ubyte\.gz: truncated",
    ),
    "float labels": (
        lambda a: {**idx_files(a), ROLES[1] + ".gz": gzip.compress(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0" * 4)},
        r"train-labels-idx1-ubyte\.gz: labels must be integers",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_a_bad_folder_is_refused_naming_the_file_and_the_problem(tmp_path, arrays, case):
    build, message = BAD_CASES[case]
    with pytest.raises(DatasetError, match=message):
        read_idx_folder(write_folder(tmp_path / "bad", build(arrays)))


def test_a_2_gb_file_is_refused_from_its_header_at_once(tmp_path, arrays):
    files = idx_files(arrays)
    files[ROLES[0] + ".gz"] = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 3_000_000, 28, 28))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: declares 3,000,000 training images; "
                                           r"the limit is 130,000"):
        read_idx_folder(write_folder(tmp_path / "huge", files))
    files[ROLES[0] + ".gz"] = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 100_000, 40, 40))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: .*declare 152\.6 MB.*the limit is 128\.0 MB"):
        read_idx_folder(write_folder(tmp_path / "wide", files))


def test_the_limit_counts_all_four_files(tmp_path, arrays, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DATASET_BYTES", 50_000)  # the training files take 47,124 bytes
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: .*the limit"):
        read_idx_folder(write_folder(tmp_path / "a", idx_files(arrays)))


def test_registered_folders_come_after_mnist_and_before_imports(tmp_path, arrays, monkeypatch):
    home = tmp_path / "home"
    for name in ("zeta", "alpha", "Fashion"):
        write_folder(home / "datasets" / name, idx_files(arrays))
    write_folder(home / "datasets" / ".import-x", idx_files(arrays))
    first = write_folder(tmp_path / "one" / "Fashion", idx_files(arrays, classes=("a", "b", "c")))
    second = write_folder(tmp_path / "two" / "shapes", idx_files(arrays))
    shadow = write_folder(tmp_path / "three" / "MNIST", idx_files(arrays))
    entries = [str(second), "", str(first), str(shadow), str(tmp_path / "gone")]
    monkeypatch.setenv("MNIST_LAB_DATASETS", os.pathsep.join(entries))
    assert dataset_names(home) == [MNIST_NAME, "shapes", "Fashion", "gone", "alpha", "zeta"]
    assert get_dataset("Fashion", home).class_names == ("a", "b", "c")  # the first Fashion wins
    assert get_dataset(MNIST_NAME, home).sha256 == MNIST_SHA256
    with pytest.raises(DatasetError, match=r"^the folder of the dataset 'gone' does not exist"):
        get_dataset("gone", home)
    with pytest.raises(DatasetError, match=r"no dataset named 'nope'; available: MNIST, shapes, Fashion, gone, alpha"):
        get_dataset("nope", home)


def test_get_dataset_caches_until_the_files_change(tmp_path, arrays, monkeypatch):
    folder = write_folder(tmp_path / "shapes", idx_files(arrays))
    monkeypatch.setenv("MNIST_LAB_DATASETS", str(folder))
    dataset = get_dataset("shapes", tmp_path / "home")
    assert get_dataset("shapes", tmp_path / "home") is dataset
    assert dataset_for_run("shapes", dataset.sha256, tmp_path / "home") is dataset
    write_folder(folder, idx_files(_bad(arrays, ROLES[3], arrays[3][::-1].copy())))
    changed = get_dataset("shapes", tmp_path / "home")
    assert changed is not dataset and changed.sha256 != dataset.sha256
    with pytest.raises(DatasetError, match=r"the dataset 'shapes' has changed since this run was trained"):
        dataset_for_run("shapes", dataset.sha256, tmp_path / "home")
    with pytest.raises(DatasetError, match=r"does not record which version of the dataset 'shapes'"):
        dataset_for_run("shapes", "", tmp_path / "home")


def test_runs_from_before_checksums_accept_mnist(tmp_path):
    assert dataset_for_run(MNIST_NAME, "", tmp_path).sha256 == MNIST_SHA256
    assert dataset_for_run(MNIST_NAME, MNIST_SHA256, tmp_path).drawable
    with pytest.raises(DatasetError, match="has changed"):
        dataset_for_run(MNIST_NAME, "0" * 64, tmp_path)
