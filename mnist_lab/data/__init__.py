"""Datasets in the IDX format: a strict reader and the bundled, checksum-verified MNIST."""

from mnist_lab.data.datasets import MNIST, Dataset, DatasetSpec, load_dataset, load_mnist, shared_mnist
from mnist_lab.data.idx import ChecksumError, IdxFormatError, read_idx, write_idx

__all__ = [
    "MNIST",
    "ChecksumError",
    "Dataset",
    "DatasetSpec",
    "IdxFormatError",
    "load_dataset",
    "load_mnist",
    "read_idx",
    "shared_mnist",
    "write_idx",
]
