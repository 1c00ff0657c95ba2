"""A shared server's datasets within limits: bombs refused before decompressing, images per split and datasets
per student limited, the dataset cache bounded by bytes, and deletion by the owner or a teacher only."""

import gc
import gzip
import json
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

from mnist_lab.access import PERSONAL
from mnist_lab.data import (
    dataset_names,
    delete_dataset,
    get_dataset,
    import_idx_upload,
    import_image_folder,
    imported_datasets,
    limits,
    registry,
)
from mnist_lab.data.cache import dataset_bytes
from mnist_lab.data.datasets import BUNDLED, MNIST
from mnist_lab.errors import AccessError, DatasetError, LimitExceededError
from mnist_lab.runs.store import FINISHED, RunStore
from tests.apptest_helpers import ALICE, BOB, TEACHER
from tests.test_dataset_folders import ROLES, idx_content, idx_files, snapshot, three_classes, write_folder, zip_of
from tests.test_dataset_images import png_folder
from tests.waiting import wait_for

MB = 1 << 20
#: What a refused bomb may allocate while it is checked: its headers, never its data.
CHECK_PEAK_BYTES = 16 * MB


@pytest.fixture(scope="module")
def arrays(mnist):
    return three_classes(mnist, n_train=8, n_test=4)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No configured folders, and an empty dataset cache (it lives as long as the process)."""
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    registry.cache.clear()
    yield
    registry.cache.clear()


def gzip_of_zeros(header: bytes, size: int) -> bytes:
    """A gzip file of ``header`` and then ``size`` zero bytes, as gzip members of 1 MB of zeros (about 1 kB each)."""
    full, rest = divmod(size, MB)
    return gzip.compress(header) + gzip.compress(bytes(MB), 9) * full + gzip.compress(bytes(rest), 9)


def idx_header(*shape: int) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(dim.to_bytes(4, "big") for dim in shape)


def bomb_files(arrays, n_train: int) -> dict[str, bytes]:
    """Four gzip IDX files whose training split declares ``n_train`` blank images, with labels to match."""
    files = idx_files(arrays)
    files[ROLES[0] + ".gz"] = gzip_of_zeros(idx_header(n_train, 28, 28), n_train * 28 * 28)
    files[ROLES[1] + ".gz"] = gzip_of_zeros(idx_header(n_train), n_train)
    return files


def refused_peak(call) -> tuple[str, int]:
    """Run ``call``, which must raise DatasetError; return its message and the peak of memory allocated meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as refused:
            call()
        return str(refused.value), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_declaring_1_250_000_images_is_refused_before_decompressing(home, arrays):
    files = bomb_files(arrays, 1_250_000)
    assert sum(map(len, files.values())) < MB  # the review's four files of under 1 MB
    message, peak = refused_peak(lambda: import_idx_upload(files, "Bomb", home, user=ALICE))
    assert message == (
        f"{ROLES[0]}.gz: declares 1,250,000 training images; the limit is {limits.MAX_TRAIN_IMAGES:,} "
        "training images per dataset (MNIST has 60,000 and 10,000)"
    )
    assert peak < CHECK_PEAK_BYTES, f"{peak / MB:.0f} MB allocated to refuse it"
    assert dataset_names(home) == ["MNIST"]


def test_a_gzip_bomb_within_the_image_limits_is_refused_by_its_ratio(home, arrays):
    files = bomb_files(arrays, 100_000)  # 78 MB of blank images from 80 kB
    message, peak = refused_peak(lambda: import_idx_upload(files, "Bomb", home, user=ALICE))
    assert message.startswith(f"{ROLES[0]}.gz: would expand ")
    assert message.endswith(f"refused as a gzip bomb before decompressing it (the limit is "
                            f"{limits.MAX_COMPRESSION_RATIO} times)")
    assert peak < CHECK_PEAK_BYTES, f"{peak / MB:.0f} MB allocated to refuse it"


def test_mnist_itself_passes_the_ratio_check(home):
    folder = BUNDLED / MNIST.folder
    files = {path.name: path.read_bytes() for path in folder.glob("*.gz")}
    dataset = import_idx_upload(files, "MNIST again", home, user=ALICE)
    assert (len(dataset.y_train), len(dataset.y_test)) == (60_000, 10_000)


def test_a_zip_of_gzip_bombs_is_refused_naming_the_limit(home, arrays):
    upload = {"bomb.zip": zip_of(bomb_files(arrays, 1_250_000), "bomb")}
    message, peak = refused_peak(lambda: import_idx_upload(upload, "Bomb", home, user=ALICE))
    assert message.startswith(f"bomb.zip: {ROLES[0]}.gz: declares 1,250,000 training images; the limit is 130,000")
    assert peak < CHECK_PEAK_BYTES + 2 * MB  # plus the unpacked members, 1 MB in all


def test_a_zip_over_the_byte_limit_is_refused_before_unpacking(home, arrays, monkeypatch):
    big = np.zeros((60_000, 28, 28), np.uint8)  # 47 MB, deflated about 1,000 times
    upload = {"big.zip": zip_of({**idx_files(arrays, compress=False), ROLES[0]: idx_content(big)})}
    monkeypatch.setattr(limits, "MAX_DATASET_BYTES", 40 * MB)
    message, peak = refused_peak(lambda: import_idx_upload(upload, "Big", home, user=ALICE))
    assert message.startswith("big.zip: its files unpack to 44.9 MB; the limit is 40.0 MB")
    assert peak < CHECK_PEAK_BYTES


def test_an_image_folder_over_the_image_limit_is_refused_before_decoding(home, arrays, tmp_path, monkeypatch):
    source = png_folder(tmp_path / "shapes", arrays)  # 24 training images
    (source / "train" / "ring" / "damaged.png").write_bytes(b"not a png")  # decoding it would fail
    monkeypatch.setattr(limits, "MAX_TRAIN_IMAGES", 20)
    with pytest.raises(DatasetError, match=r"train: 25 images; the limit is 20 train images per dataset"):
        import_image_folder(source, "shapes", home, user=ALICE)
    assert not (home / "datasets" / "shapes").exists()


def test_the_sixth_dataset_of_a_student_is_refused(home, arrays):
    files = idx_files(arrays)
    for number in range(1, limits.MAX_DATASETS_PER_STUDENT + 1):
        import_idx_upload(files, f"Alice {number}", home, user=ALICE)
    before = snapshot(home / "datasets")
    with pytest.raises(LimitExceededError, match=r"you have added 5 datasets \(Alice 1, .*Alice 5\); the limit is 5 "
                                                 r"per student: delete one of yours on the Data page"):
        import_idx_upload(files, "Alice 6", home, user=ALICE)
    assert snapshot(home / "datasets") == before
    import_idx_upload(files, "Bob 1", home, user=BOB)  # the limit is per student
    import_idx_upload(files, "Teacher 1", home, user=TEACHER)  # teachers are not limited
    delete_dataset("Alice 1", ALICE, home)
    import_idx_upload(files, "Alice 6", home, user=ALICE)
    owners = {record.name: (record.owner, record.owner_name) for record in imported_datasets(home)}
    assert owners["Alice 6"] == (ALICE.id, "Alice") and owners["Bob 1"] == (BOB.id, "Bob")
    assert json.loads((home / "datasets" / "Bob 1" / "owner.json").read_text())["id"] == BOB.id


def test_two_uploads_at_once_cannot_both_take_a_students_last_place(home, arrays):
    files = idx_files(arrays)
    for number in range(1, limits.MAX_DATASETS_PER_STUDENT):
        import_idx_upload(files, f"Alice {number}", home, user=ALICE)
    barrier, outcomes = threading.Barrier(4), []

    def upload(number: int) -> None:
        barrier.wait()
        try:
            import_idx_upload(files, f"Tab {number}", home, user=ALICE)
            outcomes.append("stored")
        except LimitExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=upload, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "stored"]
    assert sum(record.owner == ALICE.id for record in imported_datasets(home)) == limits.MAX_DATASETS_PER_STUDENT


def test_an_import_from_before_owners_belongs_to_the_personal_user(home, arrays):
    write_folder(home / "datasets" / "Old", idx_files(arrays))
    with pytest.raises(AccessError, match="added by another user"):
        delete_dataset("Old", ALICE, home)
    assert delete_dataset("Old", PERSONAL, home).message == "Deleted the dataset 'Old'."


def test_the_cache_keeps_the_recently_used_within_its_byte_budget(home, arrays, monkeypatch):
    for name in "ABC":
        write_folder(home / "datasets" / name, idx_files(arrays))
    size = dataset_bytes(get_dataset("A", home))
    monkeypatch.setattr(limits, "DATASET_CACHE_BYTES", int(size * 2.5))  # room for two
    a = get_dataset("A", home)
    b_images = weakref.ref(get_dataset("B", home).x_train)  # nothing holds B
    assert get_dataset("A", home) is a  # A is now the most recently used
    c = get_dataset("C", home)
    assert registry.cache.names() == ["A", "C"] and registry.cache.kept_bytes == 2 * size
    gc.collect()
    assert b_images() is None, "B was pushed out and nobody uses it: its memory is given back"
    assert get_dataset("B", home) is not None and registry.cache.names() == ["C", "B"]
    assert get_dataset("C", home) is c
    get_dataset("A", home)  # pushes out B (C was used after it)
    assert registry.cache.names() == ["C", "A"]


def test_a_dataset_pushed_out_but_still_used_is_shared_not_loaded_twice(home, arrays, monkeypatch):
    for name in "ABC":
        write_folder(home / "datasets" / name, idx_files(arrays))
    monkeypatch.setattr(limits, "DATASET_CACHE_BYTES", 1)  # keeps none
    a = get_dataset("A", home)  # a page holds it
    get_dataset("B", home)
    assert registry.cache.names() == [] and registry.cache.in_memory() == ["A"]
    assert get_dataset("A", home) is a
    del a
    gc.collect()
    assert registry.cache.in_memory() == []


def test_a_dataset_no_page_uses_is_released_after_its_idle_time(home, arrays, monkeypatch):
    for name in "AB":
        write_folder(home / "datasets" / name, idx_files(arrays))
    monkeypatch.setattr(limits, "DATASET_IDLE_SECONDS", 0.3)
    b = get_dataset("B", home)  # a page still shows B
    a_images = weakref.ref(get_dataset("A", home).x_train)
    # nothing asked for A or B for 0.3 s: the cache lets go of both
    wait_for(lambda: registry.cache.names() == [], timeout=30, interval=0.05, what="the cache to let go of A and B")
    gc.collect()
    assert a_images() is None and registry.cache.in_memory() == ["B"]
    assert get_dataset("B", home) is b  # still shared with the page that holds it


def _run_on(home, user, dataset: str, *, finished: bool = True) -> str:
    store = RunStore(home, user=user)
    run_id = store.create_run(f"{user.name}'s run", {}, {}, {}, dataset=dataset)
    if finished:
        store.finish(run_id, FINISHED)
    return run_id


def test_a_student_deletes_only_their_own_dataset_while_nobody_elses_runs_use_it(home, arrays):
    import_idx_upload(idx_files(arrays), "Shapes", home, user=ALICE)
    get_dataset("Shapes", home)
    with pytest.raises(AccessError, match=r"the dataset 'Shapes' was added by another user: only they or a teacher"):
        delete_dataset("Shapes", BOB, home)
    bobs = _run_on(home, BOB, "Shapes")
    _run_on(home, ALICE, "Shapes")
    with pytest.raises(AccessError, match=r"1 run of other students was trained on 'Shapes': only a teacher can "
                                          r"delete it now"):
        delete_dataset("Shapes", ALICE, home)
    assert "Shapes" in dataset_names(home)
    RunStore(home, user=BOB).delete(bobs)
    deletion = delete_dataset("Shapes", ALICE, home)
    assert deletion.message == (
        "Deleted the dataset 'Shapes'. 1 run trained on it (\"Alice's run\") is kept with its figures and "
        "evaluations; its model can no longer be evaluated again on its images."
    )
    assert dataset_names(home) == ["MNIST"] and registry.cache.in_memory() == []
    assert [run.name for run in RunStore(home, user=ALICE).list_runs()] == ["Alice's run"]  # kept
    with pytest.raises(DatasetError, match="no dataset named 'Shapes'"):
        get_dataset("Shapes", home)
    assert [path.name for path in (home / "datasets").iterdir()] == []  # nothing left behind


def test_a_teacher_deletes_any_import_but_not_one_in_training_nor_mnist(home, arrays, tmp_path, monkeypatch):
    import_idx_upload(idx_files(arrays), "Shapes", home, user=ALICE)
    bobs = _run_on(home, BOB, "Shapes")
    training = _run_on(home, ALICE, "Shapes", finished=False)
    with pytest.raises(DatasetError, match=r"1 training on 'Shapes' is running or waiting to run: stop it"):
        delete_dataset("Shapes", TEACHER, home)
    RunStore(home, user=ALICE).finish(training, FINISHED)
    assert sorted(delete_dataset("Shapes", TEACHER, home).kept_runs) == ["Alice's run", "Bob's run"]
    assert RunStore(home, user=BOB).get(bobs).dataset == "Shapes"  # the run is kept, its dataset gone
    with pytest.raises(DatasetError, match="the bundled MNIST cannot be deleted"):
        delete_dataset("MNIST", TEACHER, home)
    monkeypatch.setenv("MNIST_LAB_DATASETS", str(write_folder(tmp_path / "Fashion", idx_files(arrays))))
    with pytest.raises(DatasetError, match=r"'Fashion' is a folder the server's operator set in MNIST_LAB_DATASETS"):
        delete_dataset("Fashion", TEACHER, home)
    assert (tmp_path / "Fashion").is_dir()
