"""Datasets in the IDX format: a strict reader, the bundled MNIST, IDX folders, uploads and image folders."""

from mnist_lab.data.datasets import (
    MNIST,
    MNIST_NAME,
    MNIST_SHA256,
    Dataset,
    DatasetSpec,
    load_dataset,
    load_mnist,
    shared_mnist,
)
from mnist_lab.data.folders import read_idx_folder
from mnist_lab.data.idx import ChecksumError, IdxFormatError, read_idx, write_idx
from mnist_lab.data.images import import_image_folder
from mnist_lab.data.imports import import_idx_upload
from mnist_lab.data.limits import MAX_DATASET_BYTES, MAX_UPLOAD_BYTES
from mnist_lab.data.owners import (
    DatasetDeletion,
    ImportedDataset,
    delete_dataset,
    imported_dataset,
    imported_datasets,
    may_delete,
    record_dataset_folder,
)
from mnist_lab.data.registry import DATASETS_ENV, dataset_for_run, dataset_names, get_dataset

__all__ = [
    "DATASETS_ENV",
    "MAX_DATASET_BYTES",
    "MAX_UPLOAD_BYTES",
    "MNIST",
    "MNIST_NAME",
    "MNIST_SHA256",
    "ChecksumError",
    "Dataset",
    "DatasetDeletion",
    "DatasetSpec",
    "IdxFormatError",
    "ImportedDataset",
    "dataset_for_run",
    "dataset_names",
    "delete_dataset",
    "get_dataset",
    "import_idx_upload",
    "import_image_folder",
    "imported_dataset",
    "imported_datasets",
    "load_dataset",
    "load_mnist",
    "may_delete",
    "read_idx",
    "read_idx_folder",
    "record_dataset_folder",
    "shared_mnist",
    "write_idx",
]
