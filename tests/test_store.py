"""The run store, on SQLite and on PostgreSQL: runs survive restarts, dead owners become interrupted, bad names are
safe."""

import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from mnist_lab.runs import migrations
from mnist_lab.runs import store as run_store
from mnist_lab.runs.store import RunNameError, RunNotFoundError, RunStore, StoreError
from tests.waiting import wait_for

# Every test runs on both databases (the `database` fixture); the few about the SQLite file say so.
pytestmark = pytest.mark.usefixtures("database")


def sqlite_only(database):
    if database != "sqlite":
        pytest.skip("about the SQLite file in the home")


def new_run(store, name="first"):
    return store.create_run(name, {"architecture": "fast"}, {"epochs": 2}, {"loss": "because"})


def test_home_comes_from_the_environment(home, database):
    sqlite_only(database)
    assert RunStore().home == home
    assert (home / "runs.sqlite").exists()


def test_default_home_is_not_relative_to_the_working_directory(monkeypatch):
    monkeypatch.delenv(run_store.HOME_ENV, raising=False)
    assert run_store.default_home().is_absolute()


def test_database_uses_wal(home, database):
    sqlite_only(database)
    RunStore()
    with sqlite3.connect(home / "runs.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_run_round_trip_and_survives_reopening(home):
    store = RunStore()
    run_id = new_run(store)
    store.record_epoch(run_id, 1, {"epoch": 1, "loss": 0.5, "val_loss": float("nan")}, model_saved=True)
    store.finish(run_id, run_store.FINISHED, message="done", metrics={"accuracy": np.float32(0.9)})
    run = RunStore().get(run_id)
    assert run.name == "first" and run.status == "finished" and run.message == "done"
    assert run.model_config == {"architecture": "fast"} and run.reasons == {"loss": "because"}
    assert run.history == [{"epoch": 1, "loss": 0.5, "val_loss": None}]
    assert run.metrics["accuracy"] == pytest.approx(0.9)
    assert run.saved_epochs == 1 and run.has_model
    assert (run.dataset, run.dataset_sha256) == ("MNIST", "")


def test_a_new_store_is_at_the_latest_schema_version(home, database):
    sqlite_only(database)
    with sqlite3.connect(RunStore().database) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    db.close()


def test_a_run_records_its_dataset(home):
    store = RunStore()
    run_id = store.create_run("fashion", {}, {}, {}, dataset="Fashion-MNIST", dataset_sha256="0" * 64)
    assert (RunStore().get(run_id).dataset, store.list_runs()[0].dataset_sha256) == ("Fashion-MNIST", "0" * 64)


def test_problem_says_why_a_run_cannot_be_used(home):
    store = RunStore()
    usable, exploded, starting = new_run(store, "usable"), new_run(store, "exploded"), new_run(store, "starting")
    store.record_epoch(usable, 1, {"epoch": 1}, model_saved=True)
    store.finish(exploded, run_store.DIVERGED, message="Training diverged. Try a learning rate 10 times lower.")
    assert store.get(usable).problem is None
    assert store.get(exploded).problem == (
        "run 'exploded' has no saved model, no epoch of it was kept "
        "(diverged: Training diverged. Try a learning rate 10 times lower)"
    )
    assert "first epoch" in store.get(starting).problem


def test_list_is_newest_first(home):
    store = RunStore()
    first, second = new_run(store, "a"), new_run(store, "b")
    assert [run.id for run in store.list_runs()][:2] == [second, first]


def test_running_run_of_this_process_stays_running(home):
    store = RunStore()
    run_id = new_run(store)
    assert RunStore().get(run_id).status == run_store.RUNNING


def test_run_left_running_by_a_dead_process_becomes_interrupted(home):
    code = (
        "from mnist_lab.runs.store import RunStore; s = RunStore();"
        "r = s.create_run('orphan', {}, {}, {}); s.record_epoch(r, 1, {'epoch': 1}, model_saved=True); print(r)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True
    )
    run_id = result.stdout.strip()
    # PostgreSQL frees the ended process's lock when its server process sees the connection close: wait for it.
    wait_for(lambda: RunStore().get(run_id).status == run_store.INTERRUPTED, timeout=30,
             what="the run to be marked interrupted")
    run = RunStore().get(run_id)
    assert "epoch 1" in run.message and run.saved_epochs == 1


def test_rename_and_delete(home):
    store = RunStore()
    run_id = new_run(store)
    (store.run_dir(run_id) / "model.keras").write_bytes(b"x")
    store.finish(run_id, run_store.STOPPED)
    store.rename(run_id, "  better name \n")
    assert store.get(run_id).name == "better name"
    store.delete(run_id)
    assert not (store.home / "runs" / run_id).exists()
    with pytest.raises(RunNotFoundError):
        store.get(run_id)


def test_running_run_cannot_be_deleted(home):
    store = RunStore()
    run_id = new_run(store)
    with pytest.raises(StoreError, match="still training"):
        store.delete(run_id)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a'; DROP TABLE runs; --", "名前 ✓ ünïcode", "x" * 500, "<b>bold</b>"]
)
def test_hostile_names_are_stored_as_text_never_as_paths(home, name):
    store = RunStore()
    run_id = new_run(store, name)
    run = store.get(run_id)
    assert run.name == name[: run_store.NAME_MAX]
    assert store.run_dir(run_id).parent == home / "runs"
    filename = run_store.download_filename(run)
    assert "/" not in filename and ".." not in filename.replace(f"-{run_id}.keras", "")
    assert len(store.list_runs()) == 1


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_empty_names_are_refused(home, name):
    with pytest.raises(RunNameError):
        new_run(RunStore(), name)


@pytest.mark.parametrize("run_id", ["../x", "20260101-000000-abcdef/../../y", "", None])
def test_ids_of_the_wrong_form_are_not_found(home, run_id):
    with pytest.raises(RunNotFoundError):
        RunStore().get(run_id)


def test_arrays_saved_with_a_run(home):
    store = RunStore()
    run_id = new_run(store)
    scores = np.random.default_rng(0).random((5, 10)).astype(np.float32)
    store.save_array(run_id, "test_scores", scores)
    np.testing.assert_array_equal(store.load_array(run_id, "test_scores"), scores)
    store.drop_arrays(run_id)
    assert store.load_array(run_id, "test_scores") is None


def test_cached_array_is_computed_once_and_stored(home):
    store = RunStore()
    run_id = new_run(store)
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(2, 3)

    first = store.cached_array(run_id, "scores_epoch1", compute)
    again = RunStore().cached_array(run_id, "scores_epoch1", compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(again, first)
    assert [path.name for path in store.run_dir(run_id).iterdir()] == ["scores_epoch1.npy"]
    if store.files_in_database:  # the folder is only a cache: a store with an empty home finds the array
        np.testing.assert_array_equal(RunStore(home.parent / "other home").load_array(run_id, "scores_epoch1"), first)


def test_cached_array_is_computed_again_when_the_stored_one_is_rejected(home):
    store = RunStore()
    run_id = new_run(store)
    store.save_array(run_id, "scores_epoch1", np.zeros((2, 3)))
    (store.run_dir(run_id) / "damaged.npy").write_bytes(b"not an array")
    right_shape = store.cached_array(
        run_id, "scores_epoch1", lambda: np.ones((4, 3)), valid=lambda stored: stored.shape == (4, 3)
    )
    assert right_shape.shape == (4, 3) and store.load_array(run_id, "scores_epoch1").shape == (4, 3)
    assert store.cached_array(run_id, "damaged", lambda: np.ones(1)).tolist() == [1.0]


def test_home_that_is_not_a_folder_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the run store"):
        RunStore(blocker)


def test_distinct_labels_tell_runs_with_the_same_name_apart(home):
    store = RunStore()
    first, _, other = (new_run(store, name) for name in ("same", "same", "other"))
    runs = store.list_runs()
    labels = run_store.distinct_labels(runs, with_status=True)
    assert len(set(labels.values())) == 3
    assert labels[other] == "other · running"
    assert labels[first] == f"same ({first[-6:]}) · running"
