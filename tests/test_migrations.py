"""Schema versions of the run store: stores made by every earlier MNIST Lab open with their runs intact."""

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from mnist_lab import access, workbook
from mnist_lab.data import datasets
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.runs import migrations
from mnist_lab.runs import store as run_store
from mnist_lab.runs.store import RunStore, StoreError

STORE_V0 = Path(__file__).parent / "fixtures" / "store-v0"
#: Frozen on purpose: the checksum version 2 gives every run stored before runs recorded their dataset.
MNIST_SHA256 = "c65580678af93f1ea48c2c0d01d543ec89307c6b8a0eb7ca542d7c18c5f4c681"

#: The schema of the first release (3e7f1a7): ``runs`` without the ``experiment`` column.
FIRST_RELEASE_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '', model_config TEXT NOT NULL, train_config TEXT NOT NULL, reasons TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}', owner TEXT NOT NULL DEFAULT '', saved_epochs INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL, row TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""


def copy_v0(tmp_path):
    """A copy of the fixture store (the fixture itself is never opened: SQLite writes beside it)."""
    home = tmp_path / "home"
    shutil.copytree(STORE_V0, home)
    return home


def rows(database, sql):
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        found = [dict(row) for row in db.execute(sql)]
    db.close()
    return found


def version_of(database):
    return rows(database, "PRAGMA user_version")[0]["user_version"]


def schema(database):
    """Every column of every table, in a form that compares equal for equal schemas."""
    tables = [row["name"] for row in rows(database, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: sorted(tuple(column.values()) for column in rows(database, f"PRAGMA table_info({table})"))
            for table in sorted(tables)}


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def insert_run(database, run_id, *, experiment=True):
    """Write one finished run and its epoch with the columns of version 1 (without ``experiment``: the first release's)."""
    columns = {
        "id": run_id, "name": "from an old version", "created": 1_700_000_000.5, "status": "finished",
        "message": "Finished 1 epochs.", "model_config": '{"architecture": "fast"}', "train_config": '{"epochs": 1}',
        "reasons": '{"loss": "because"}', "metrics": '{"accuracy": 0.9}', "saved_epochs": 1,
    }
    if experiment:
        columns["experiment"] = "b1-scaled"
    with sqlite3.connect(database) as db:
        db.execute(
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", list(columns.values())
        )
        db.execute("INSERT INTO epochs (run_id, epoch, row) VALUES (?, 1, ?)", (run_id, '{"epoch": 1, "loss": 0.3}'))
    db.close()


def test_the_fixture_is_a_store_of_before_versions():
    # Immutable: SQLite writes nothing beside the fixture, not even a WAL index.
    db = sqlite3.connect(f"file:{STORE_V0 / 'runs.sqlite'}?mode=ro&immutable=1", uri=True)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
    finally:
        db.close()


def test_a_store_of_before_versions_opens_with_every_run_intact(tmp_path):
    home = copy_v0(tmp_path)
    database = home / "runs.sqlite"
    runs_before = {row["id"]: row for row in rows(database, "SELECT * FROM runs")}
    epochs_before = rows(database, "SELECT * FROM epochs ORDER BY run_id, epoch")
    files_before = files_under(home / "runs")

    store = RunStore(home)

    assert version_of(database) == migrations.LATEST_VERSION
    listed = store.list_runs()
    assert {run.status for run in listed} == {run_store.FINISHED, run_store.STOPPED, run_store.INTERRUPTED}
    assert {run.id for run in listed} == set(runs_before)
    for run_id, before in runs_before.items():
        run = store.get(run_id)
        assert (run.name, run.created, run.status, run.message) == (
            before["name"], before["created"], before["status"], before["message"]
        )
        assert run.model_config == json.loads(before["model_config"])
        assert run.train_config == json.loads(before["train_config"])
        assert run.reasons == json.loads(before["reasons"])
        assert run.metrics == json.loads(before["metrics"])
        assert (run.saved_epochs, run.experiment) == (before["saved_epochs"], before["experiment"])
        assert run.history == [json.loads(row["row"]) for row in epochs_before if row["run_id"] == run_id]
        assert (run.dataset, run.dataset_sha256) == ("MNIST", MNIST_SHA256)
        assert (run.owner, run.owner_name) == (access.PERSONAL.id, access.PERSONAL.name)  # version 4
        assert run.problem is None
    assert rows(database, "SELECT run_id, epoch, row FROM epochs ORDER BY run_id, epoch") == epochs_before
    assert files_under(home / "runs") == files_before


def test_the_checksum_given_to_old_runs_is_the_bundled_mnists():
    files = (datasets.MNIST.train_images, datasets.MNIST.train_labels, datasets.MNIST.test_images,
             datasets.MNIST.test_labels)
    assert combined_sha256([file.sha256 for file in files]) == MNIST_SHA256 == datasets.MNIST_SHA256


def test_a_migrated_store_is_used_like_a_new_one(tmp_path):
    home = copy_v0(tmp_path)
    store = RunStore(home)
    assert schema(home / "runs.sqlite") == schema(RunStore(tmp_path / "fresh").database)
    finished = next(run for run in store.list_runs() if run.status == run_store.FINISHED)
    scores = store.cached_array(finished.id, "test_scores_epoch2", lambda: pytest.fail("the old array is stored"))
    np.testing.assert_array_equal(scores, np.eye(10, dtype=np.float32)[:4])
    run_id = store.create_run("new", {}, {}, {}, dataset="Fashion-MNIST", dataset_sha256="f" * 64)
    assert (store.get(run_id).dataset, store.get(run_id).dataset_sha256) == ("Fashion-MNIST", "f" * 64)
    store.rename(finished.id, "renamed")
    assert RunStore(home).get(finished.id).name == "renamed"


@pytest.mark.parametrize("version", range(1, migrations.LATEST_VERSION))
def test_migrating_up_from_every_earlier_version(tmp_path, version):
    home = tmp_path / "home"
    home.mkdir()
    database = home / "runs.sqlite"
    assert migrations.migrate(database, target=version) == list(range(1, version + 1))
    run_id = "20250101-120000-abcdef"
    insert_run(database, run_id)

    run = RunStore(home).get(run_id)

    assert version_of(database) == migrations.LATEST_VERSION
    assert (run.name, run.status, run.saved_epochs) == ("from an old version", "finished", 1)
    assert run.experiment == "b1-scaled"
    assert run.metrics == {"accuracy": 0.9} and run.history == [{"epoch": 1, "loss": 0.3}]
    if version < 2:  # version 2 gave the runs before it the bundled MNIST
        assert (run.dataset, run.dataset_sha256) == ("MNIST", MNIST_SHA256)
    assert run.owner == access.PERSONAL.id  # version 4: the runs before it were the personal user's
    assert RunStore(home).as_user(access.User("someone", "Someone")).list_runs() == []
    assert RunStore(home).started_since(0) == 1  # version 6: a run stored before counts as the start it was
    assert workbook.Workbook(RunStore(home), run_id).answers() == {}  # version 5: an empty workbook


def test_a_store_of_the_first_release_gains_the_experiment_column(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "runs.sqlite") as db:
        db.executescript(FIRST_RELEASE_SCHEMA)
    db.close()
    run_id = "20250101-120000-abcdef"
    insert_run(home / "runs.sqlite", run_id, experiment=False)

    store = RunStore(home)

    run = store.get(run_id)
    assert (run.name, run.experiment, run.history) == ("from an old version", "", [{"epoch": 1, "loss": 0.3}])
    assert (run.dataset, run.dataset_sha256) == ("MNIST", MNIST_SHA256)
    assert schema(home / "runs.sqlite") == schema(RunStore(tmp_path / "fresh").database)


def test_a_store_from_the_future_is_refused_and_left_unchanged(tmp_path):
    home = tmp_path / "home"
    store = RunStore(home)
    new_run = store.create_run("kept", {}, {}, {})
    with sqlite3.connect(store.database) as db:
        db.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")
    db.close()
    before = files_under(home)

    with pytest.raises(StoreError, match=r"newer MNIST Lab.*update MNIST Lab"):
        RunStore(home)

    assert files_under(home) == before
    assert version_of(store.database) == migrations.LATEST_VERSION + 1
    assert [row["id"] for row in rows(store.database, "SELECT id FROM runs")] == [new_run]


def test_a_failed_migration_leaves_the_version_before(tmp_path, monkeypatch):
    database = tmp_path / "runs.sqlite"
    migrations.migrate(database, target=1)

    def half_done(db):
        db.execute("ALTER TABLE runs ADD COLUMN dataset TEXT NOT NULL DEFAULT 'MNIST'")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], half_done))
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(database, target=2)
    assert version_of(database) == 1
    assert "dataset" not in {column[1] for column in schema(database)["runs"]}


def test_two_processes_opening_an_old_store_at_once_both_succeed(tmp_path):
    home = copy_v0(tmp_path)
    start, opened, failures = threading.Barrier(2), [], []

    def open_store():
        start.wait()
        try:
            opened.append(RunStore(home))
        except Exception as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and len(opened) == 2
    assert version_of(home / "runs.sqlite") == migrations.LATEST_VERSION
    assert len(opened[0].list_runs()) == len(opened[1].list_runs()) == 3


def test_each_version_is_applied_once_when_stores_open_at_once(tmp_path):
    home = copy_v0(tmp_path)
    start, applied = threading.Barrier(4), []

    def migrate():
        start.wait()
        applied.extend(migrations.migrate(home / "runs.sqlite"))

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(applied) == list(range(1, migrations.LATEST_VERSION + 1))


def test_an_unknown_target_is_refused(tmp_path):
    with pytest.raises(ValueError, match="schema version"):
        migrations.migrate(tmp_path / "runs.sqlite", target=migrations.LATEST_VERSION + 1)


def test_combined_checksum_depends_on_every_file_and_their_order():
    first, second = "a" * 64, "b" * 64
    assert combined_sha256([first, second]) != combined_sha256([second, first])
    assert len(combined_sha256([first, second])) == 64
    with pytest.raises(ValueError, match="64 lowercase hex"):
        combined_sha256([first, "B" * 64])


def test_old_runs_have_no_recorded_environment_and_new_runs_record_this_one(tmp_path):
    from mnist_lab import environment
    from mnist_lab.report import reproducibility_card

    store = RunStore(copy_v0(tmp_path))
    old = store.list_runs()[0]
    assert old.environment == {}
    assert not reproducibility_card(old).recorded
    new_id = store.create_run("new", {}, {}, {}, environment=environment.describe())
    new = store.get(new_id)
    assert new.environment == environment.describe()
    card = reproducibility_card(new)
    assert card.recorded and card.versions == environment.describe()["versions"]
