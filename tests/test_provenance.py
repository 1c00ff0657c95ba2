"""The card lists each dataset file's SHA-256 as ``sha256sum`` prints it, and how the dataset's SHA-256 is made."""

from __future__ import annotations

import gzip
import io
import subprocess

import numpy as np

from mnist_lab.data import MNIST_SHA256, import_idx_upload, write_idx
from mnist_lab.data.datasets import BUNDLED, MNIST
from mnist_lab.data.provenance import combined_command, file_checksums
from mnist_lab.report.card import reproducibility_card, to_markdown
from mnist_lab.runs.store import Run


def shell(command: str, cwd) -> str:
    """The first word a shell command prints."""
    return subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, check=True).stdout.split()[0]


def a_run(dataset: str, sha256: str) -> Run:
    return Run("20261206-120000-abcdef", "r", 0.0, "finished", "", {"architecture": "keras_example"}, {"seed": 1},
               {}, {}, 1, dataset=dataset, dataset_sha256=sha256)


def test_mnist_files_hash_as_sha256sum_and_gunzip_print_them():
    folder = BUNDLED / MNIST.folder
    files = file_checksums("MNIST", MNIST_SHA256)
    assert [file.role for file in files] == ["training images", "training labels", "test images", "test labels"]
    for file in files:
        assert file.compressed
        assert file.file_sha256 == shell(f"sha256sum {file.filename}", folder)
        assert file.content_sha256 == shell(f"gunzip -c {file.filename} | sha256sum", folder)
    assert shell(combined_command(files), folder) == MNIST_SHA256


def test_the_card_prints_each_file_and_the_command_that_combines_them():
    text = to_markdown(reproducibility_card(a_run("MNIST", MNIST_SHA256)))
    for file in file_checksums("MNIST", MNIST_SHA256):
        assert f"{file.filename}, the {file.role}:" in text.replace("\\", "")
        assert f"file `{file.file_sha256}`" in text and f"content `{file.content_sha256}`" in text
    assert combined_command(file_checksums("MNIST", MNIST_SHA256)) in text
    assert "hash of the four files' hashes" not in text


def idx_bytes(array: np.ndarray, tmp_path, name: str) -> bytes:
    path = tmp_path / name
    write_idx(path, array)
    return path.read_bytes()


def test_an_import_lists_its_plain_and_gzip_files_and_a_changed_file_is_not_vouched_for(tmp_path):
    rng = np.random.default_rng(0)
    plain = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), tmp_path, "a"),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(20, dtype=np.uint8) % 10, tmp_path, "b"),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), tmp_path, "c"),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(10, dtype=np.uint8), tmp_path, "d"),
    }
    upload = dict(plain)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed:
        packed.write(plain["train-images-idx3-ubyte"])
    upload["train-images-idx3-ubyte.gz"] = buffer.getvalue()
    del upload["train-images-idx3-ubyte"]
    home = tmp_path / "home"
    dataset = import_idx_upload(upload, "Mixed", home)

    files = file_checksums("Mixed", dataset.sha256, home)
    folder = home / "datasets" / "Mixed"
    assert [file.compressed for file in files] == [True, False, False, False]
    for file in files:
        assert file.file_sha256 == shell(f"sha256sum {file.filename}", folder)
    assert files[0].content_sha256 == shell(f"gunzip -c {files[0].filename} | sha256sum", folder)
    assert shell(combined_command(files), folder) == dataset.sha256

    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(10, dtype=np.uint8), tmp_path, "e"))
    assert file_checksums("Mixed", dataset.sha256, home) == ()
    text = to_markdown(reproducibility_card(a_run("Mixed", dataset.sha256), home))
    assert "no longer on this server" in text and "sha256sum" not in text
