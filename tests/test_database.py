"""The run store's database: chosen by a URL, migrated by Alembic, shared by processes, and on PostgreSQL the
keeper of every run's model and arrays, so that a server whose disk was wiped finds everything."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest
import sqlalchemy as sa

from mnist_lab.errors import DatabaseSettingError, DatabaseUnreachableError, MnistLabError, StoreError
from mnist_lab.runs import database, migrations, schema, upgrade
from mnist_lab.runs.store import DATABASE_ENV, RunStore
from tests.conftest import train_small_run
from tests.server import ROOT, free_port
from tests.waiting import wait_for

SECRET = "s3cret-Pa55"
#: Alembic's revisions after the baseline, oldest first: what opening a version-6 store applies.
AFTER_BASELINE = ["v7", "v8"]


def new_run(store, name="run"):
    return store.create_run(name, {"architecture": "fast"}, {"epochs": 1}, {})


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mnist_lab", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("url", "error", "expected"), [
    ("not a url", DatabaseSettingError, "is not a database URL"),
    (f"mysql://teacher:{SECRET}@db.example.org/class", DatabaseSettingError, "names a 'mysql' database"),
    (f"postgresql+asyncpg://teacher:{SECRET}@127.0.0.1/class", DatabaseSettingError,
     "driver 'postgresql+asyncpg', which is not installed"),
    # Nobody listens: the server may be down for now, so the setting is not blamed, only named.
    (f"postgresql+psycopg://teacher:{SECRET}@127.0.0.1:{free_port()}/class", DatabaseUnreachableError,
     "cannot be reached right now: connection failed"),
    ("sqlite://", DatabaseSettingError, "in-memory SQLite"),
], ids=["not a url", "mysql", "asyncpg", "nobody listening", "in-memory sqlite"])  # a free port is no stable id
def test_an_unusable_url_names_the_setting_and_never_the_password(tmp_path, monkeypatch, url, error, expected):
    monkeypatch.setenv(DATABASE_ENV, url)
    with pytest.raises(error, match=re.escape(expected)) as caught:
        RunStore(tmp_path / "home")
    assert isinstance(caught.value, MnistLabError) and DATABASE_ENV in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(error, match="the secrets' url") as caught:
        RunStore(tmp_path / "home", database=url, database_setting="the secrets' url")
    assert SECRET not in str(caught.value)


@pytest.mark.slow  # the command line in a subprocess: 2-3 s
def test_the_command_line_names_its_database_option(tmp_path):
    done = cli("db", "status", "--home", str(tmp_path), "--database",
               f"postgresql+psycopg://teacher:{SECRET}@127.0.0.1:{free_port()}/class")
    assert done.returncode == 2 and "--database" in done.stderr and SECRET not in done.stderr + done.stdout
    assert "teacher:***@127.0.0.1" in done.stderr


def test_a_wrong_password_is_told_without_either_password(postgres_url, tmp_path, monkeypatch):
    right = sa.make_url(postgres_url).password
    wrong = sa.make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)
    monkeypatch.setenv(DATABASE_ENV, wrong)
    with pytest.raises(DatabaseSettingError, match="password authentication failed") as caught:
        RunStore(tmp_path / "home")
    message = str(caught.value)
    assert DATABASE_ENV in message and SECRET not in message and right not in message


def test_urls_as_providers_print_them_use_the_installed_driver(tmp_path):
    for url in ("postgres://u:p@host/db", "postgresql://u:p@host/db"):
        assert database.resolve(url, home=tmp_path).url.drivername == "postgresql+psycopg"
    assert database.resolve(None, home=tmp_path).sqlite_file == tmp_path / "runs.sqlite"


@pytest.mark.slow
def test_a_new_postgres_database_is_migrated_by_the_command_line_once(postgres_url, tmp_path):
    first = cli("db", "upgrade", "--home", str(tmp_path), "--database", postgres_url)
    assert first.returncode == 0, first.stderr
    assert f"applied {', '.join([upgrade.BASELINE, *AFTER_BASELINE])}" in first.stdout
    assert sa.make_url(postgres_url).password not in first.stdout
    again = cli("db", "upgrade", "--home", str(tmp_path), env={DATABASE_ENV: postgres_url})
    assert again.returncode == 0 and "already up to date" in again.stdout
    engine = sa.create_engine(postgres_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(schema.metadata.tables) | {"alembic_version"}


@pytest.mark.parametrize("version", [0, 3, migrations.LATEST_VERSION])
def test_a_sqlite_store_of_an_in_house_version_joins_alembics_history(tmp_path, version):
    home = tmp_path / "home"
    home.mkdir()
    if version:
        migrations.migrate(home / "runs.sqlite", target=version)
    else:  # before versions: the first release's tables, user_version 0
        shutil.copy(ROOT / "tests" / "fixtures" / "store-v0" / "runs.sqlite", home / "runs.sqlite")
    before = {row[0] for row in sqlite3.connect(home / "runs.sqlite").execute("SELECT id FROM runs")}
    store = RunStore(home)
    assert store.upgraded == AFTER_BASELINE
    assert {run.id for run in store.list_runs()} == before
    with store.transaction(write=False) as db:
        assert upgrade.current(db) == upgrade.head()
    assert sqlite3.connect(home / "runs.sqlite").execute("PRAGMA user_version").fetchone()[0] == 6


@pytest.mark.usefixtures("database")
def test_a_store_of_an_unknown_revision_is_refused(tmp_path):
    store = RunStore(tmp_path / "home")
    run_id = new_run(store)
    with store.transaction() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = 'v99'"))
    with pytest.raises(StoreError, match=r"newer MNIST Lab \(schema revision 'v99'"):
        RunStore(tmp_path / "home")
    with store.transaction(write=False) as db:
        assert db.execute(sa.select(schema.runs.c.id)).scalars().all() == [run_id]


@pytest.mark.usefixtures("database")
def test_stores_opening_a_new_database_at_once_all_succeed(tmp_path):
    opened, errors = [], []

    def open_store(index):
        try:
            opened.append(RunStore(tmp_path / f"home{index}" if os.environ.get(DATABASE_ENV) else tmp_path / "home"))
        except MnistLabError as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(opened) == 4
    assert [revision for store in opened for revision in store.upgraded].count(upgrade.head()) == 1


@pytest.mark.usefixtures("database")
def test_concurrent_changes_of_one_run_lose_nothing(tmp_path):
    run_id = new_run(RunStore(tmp_path / "home"))
    errors = []

    def merge(writer):
        store = RunStore(tmp_path / "home")  # a store of its own, as another process would have
        try:
            for step in range(5):
                store.update_metrics(run_id, **{f"w{writer}s{step}": step})
        except MnistLabError as error:
            errors.append(error)

    threads = [threading.Thread(target=merge, args=(writer,)) for writer in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(RunStore(tmp_path / "home").get(run_id).metrics) == 30


def test_the_admission_lock_holds_other_processes_back_on_postgres(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv(DATABASE_ENV, postgres_url)
    store = RunStore(tmp_path / "home")
    code = ("from mnist_lab.runs.store import RunStore\nwith RunStore().exclusive('admission'):\n    print('in')")
    engine = sa.create_engine(postgres_url)
    waiting = sa.text("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    try:
        with store.exclusive("admission"):
            other = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "MNIST_LAB_HOME": str(tmp_path / "other")})
            with engine.connect() as db:
                wait_for(lambda: db.execute(waiting).scalar_one() == 1, timeout=60,
                         what="the other process to wait for the lock")
            assert other.poll() is None
        assert other.communicate(timeout=60)[0].strip() == "in"
    finally:
        engine.dispose()


def test_the_admission_lock_holds_other_processes_back_on_sqlite(tmp_path):
    import fcntl

    store = RunStore(tmp_path / "home")
    with (store.exclusive("admission"), open(tmp_path / "home" / ".admission.lock", "a+b") as other,
          pytest.raises(BlockingIOError)):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(tmp_path / "home" / ".admission.lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
def test_a_run_trained_on_postgres_predicts_after_the_home_is_deleted(postgres_url, tmp_path, mnist):
    from mnist_lab.predictions.inference import RunModel

    home = tmp_path / "home"
    store = RunStore(home, database=postgres_url)
    run_id = train_small_run(store, "in the cloud", "fast", epochs=1, limit=2000)
    digits, labels = mnist.x_test[:50] / 255.0, mnist.y_test[:50]
    before = np.stack([RunModel.load(store, store.get(run_id)).predict_digit(digit) for digit in digits])
    store.save_array(run_id, "test_scores_epoch1", before)
    shutil.rmtree(home)  # the container's disk wiped

    fresh = RunStore(tmp_path / "new home", database=postgres_url)
    run = fresh.get(run_id)
    assert [listed.id for listed in fresh.list_runs()] == [run_id] and run.status == "finished" and run.has_model
    after = np.stack([RunModel.load(fresh, run).predict_digit(digit) for digit in digits])
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert (after.argmax(axis=1) == labels).mean() > 0.3  # it reads digits (chance: 0.1)
    np.testing.assert_array_equal(fresh.load_array(run_id, "test_scores_epoch1"), before)
    assert (tmp_path / "new home" / "runs" / run_id / "model.keras").exists()


def test_a_run_trained_on_another_machine_stays_running_until_that_process_ends(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv(DATABASE_ENV, postgres_url)
    # Another machine: its host name differs, so only the database can tell whether its process lives.
    code = ("import socket, sys\nsocket.gethostname = lambda: 'another-machine'\n"
            "from mnist_lab.runs.store import RunStore\n"
            "print(RunStore().create_run('remote', {}, {}, {}), flush=True)\nsys.stdin.read()")
    other = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "MNIST_LAB_HOME": str(tmp_path / "other")})
    try:
        run_id = other.stdout.readline().strip()
        store = RunStore(tmp_path / "home")
        assert store.recover_interrupted() == []
        assert store.get(run_id).status == "running"
    finally:
        other.communicate("", timeout=60)
    wait_for(lambda: store.recover_interrupted() == [run_id], timeout=30, what="the run to be recovered as interrupted")
    assert store.get(run_id).status == "interrupted"
