"""The library's log lines where it refuses hostile input or goes on degraded: what an operator reads.

Each test builds a real input (a forged archive, a broken upload, a forged hand-in, a dataset with a file gone)
and checks the one line logged for it: its logger, its level, what it names, and that it carries none of the
user's content.
"""

import base64
import io
import json
import logging
import zipfile

import numpy as np
import pytest

from mnist_lab import archive, workbook
from mnist_lab.access.users import PERSONAL
from mnist_lab.archive import restore
from mnist_lab.data import get_dataset, import_idx_upload, imports, registry
from mnist_lab.errors import ArchiveError, DatasetError, ImageInputError, WorkbookError
from mnist_lab.predictions import samples
from mnist_lab.report.exporters import RECEIPT_MARKER
from mnist_lab.runs.store import RunStore
from mnist_lab.workbook import receipts, verify
from tests.apptest_helpers import TEACHER
from tests.test_dataset_folders import ROLES, idx_files

SECRET = b"the student's own bytes, never logged"


def logged(caplog, module, level):
    """The messages ``module`` logged at ``level``."""
    return [record.getMessage() for record in caplog.records if record.name == module.__name__
            and record.levelno == level]


def zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive_file:
        for name, data in members.items():
            archive_file.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def no_registered_folders(monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)


def test_an_archive_with_a_hostile_member_is_refused_and_logged_with_its_importer(tmp_path, caplog):
    forged = zip_of({"../../etc/cron.d/evil": SECRET})
    store = RunStore(tmp_path / "home", user=TEACHER)
    with caplog.at_level(logging.INFO, logger="mnist_lab"), pytest.raises(ArchiveError):
        archive.import_archive(store, forged)
    [line] = logged(caplog, restore, logging.INFO)
    assert TEACHER.id in line and "../../etc/cron.d/evil" in line and "refused" in line
    assert SECRET.decode() not in caplog.text


def test_a_dataset_upload_that_is_no_zip_is_logged_without_its_bytes(home, caplog):
    with caplog.at_level(logging.INFO, logger="mnist_lab"), pytest.raises(DatasetError, match="not a readable zip"):
        import_idx_upload({"digits.zip": SECRET}, "digits", home)
    [line] = logged(caplog, imports, logging.INFO)
    assert PERSONAL.id in line and "not a readable zip" in line
    assert SECRET.decode() not in caplog.text


def test_a_corrupt_picture_upload_is_logged_by_its_size_only(caplog):
    broken = b"\x89PNG\r\n\x1a\n" + SECRET
    with caplog.at_level(logging.INFO, logger="mnist_lab"), pytest.raises(ImageInputError):
        samples.read_own_digit(None, broken)  # refused before any model is asked
    [line] = logged(caplog, samples, logging.INFO)
    assert f"{len(broken)} bytes" in line and "refused" in line
    assert SECRET.decode() not in caplog.text


def test_a_file_that_is_no_hand_in_is_logged_when_a_teacher_checks_it(tmp_path, caplog):
    store = RunStore(tmp_path / "home", user=TEACHER)
    with caplog.at_level(logging.INFO, logger="mnist_lab"), pytest.raises(WorkbookError):
        workbook.verify_handin(store, b"\xff\xfe" + SECRET, "hand-in.bin")
    [line] = logged(caplog, verify, logging.INFO)
    assert TEACHER.id in line and "refused" in line
    assert SECRET.decode() not in caplog.text


def test_a_hand_in_with_a_forged_receipt_fails_its_check_and_says_so_in_the_log(tmp_path, caplog):
    store = RunStore(tmp_path / "home", user=TEACHER)
    fields = {"server": receipts.fingerprint(receipts.server_key(store)), "run": "forged-run",
              "receipt id": "never-issued"}
    document = json.dumps({"mnist_lab_receipt": receipts.FORMAT, "fields": fields, "signature": "0" * 64})
    forged = f"<!-- {RECEIPT_MARKER} {base64.b64encode(document.encode()).decode()} -->\n".encode()
    with caplog.at_level(logging.INFO, logger="mnist_lab"):
        verdict = workbook.verify_handin(store, forged, "hand-in.md")
    assert verdict.status == workbook.ALTERED
    [line] = logged(caplog, receipts, logging.INFO)
    assert "'forged-run'" in line and "receipt id" in line and TEACHER.id in line


def test_a_stored_dataset_missing_a_file_is_a_warning_naming_it(home, caplog):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), np.arange(30, dtype=np.uint8) % 3,
              rng.integers(0, 256, (9, 28, 28), dtype=np.uint8), np.arange(9, dtype=np.uint8) % 3]
    folder = registry.datasets_root(home) / "shapes"
    folder.mkdir(parents=True)
    for name, data in idx_files(arrays).items():
        (folder / name).write_bytes(data)
    assert len(get_dataset("shapes", home).y_train) == 30
    (folder / f"{ROLES[3]}.gz").unlink()
    with caplog.at_level(logging.WARNING, logger="mnist_lab"), pytest.raises(DatasetError):
        get_dataset("shapes", home)
    [line] = logged(caplog, registry, logging.WARNING)
    assert "'shapes'" in line and str(folder) in line
