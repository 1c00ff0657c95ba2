"""The bundled MNIST: shapes, types, integrity, and no heavy imports."""

import gzip
import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mnist_lab.data import MNIST, MNIST_NAME, MNIST_SHA256, ChecksumError, get_dataset, load_mnist
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import BUNDLED

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_shapes_dtypes_and_read_only(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.y_test.shape == (10000,)
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        assert array.dtype == np.uint8
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 1


def test_known_label_counts(mnist):
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).sum() == 10000


def test_class_names_come_from_the_dataset(mnist):
    assert mnist.class_names == tuple("0123456789") and mnist.n_classes == 10
    assert mnist.image_shape == (28, 28)
    assert "LeCun" in mnist.source and "CC BY-SA 3.0" in mnist.licence


def test_mnist_is_named_checksummed_and_drawable(mnist):
    files = (MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels)
    contents = [gzip.decompress((BUNDLED / MNIST.folder / file.filename).read_bytes()) for file in files]
    assert combined_sha256([hashlib.sha256(content).hexdigest() for content in contents]) == MNIST_SHA256
    assert mnist.name == MNIST_NAME == "MNIST" and mnist.sha256 == MNIST_SHA256 and mnist.drawable
    assert get_dataset(MNIST_NAME) is mnist


def test_pixel_range(mnist):
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 255


def test_altered_file_is_refused(tmp_path):
    for file in (MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels):
        shutil.copy(BUNDLED / MNIST.folder / file.filename, tmp_path / file.filename)
    from mnist_lab.data import read_idx, write_idx

    labels = np.array(read_idx(tmp_path / MNIST.test_labels.filename))
    labels[0] = (labels[0] + 1) % 10
    # The rewritten file is still valid gzip IDX; only the checksum catches it.
    write_idx(tmp_path / MNIST.test_labels.filename, labels, compress=True)
    with pytest.raises(ChecksumError, match="t10k-labels"):
        load_mnist(tmp_path)


@pytest.mark.slow
def test_importing_data_does_not_import_tensorflow_or_streamlit():
    code = (
        "import sys, mnist_lab.data, mnist_lab.data.explore, mnist_lab.evaluation.metrics, mnist_lab.evaluation.confusion,"
        " mnist_lab.runs.store, mnist_lab.models.config;"
        "heavy = [m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
