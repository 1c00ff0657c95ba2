"""The database goes away and comes back: a real PostgreSQL server stopped and started again on its data and port.

Opening the store or using an open one while the server is down says so at once, naming the database and never
its password; a training in progress keeps its epochs and model and writes them when the server is back; the pages
say it in one sentence and refuse to start a training.
"""

import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from mnist_lab import training
from mnist_lab.errors import DatabaseSettingError, DatabaseUnreachableError
from mnist_lab.models import config
from mnist_lab.runs import database
from mnist_lab.runs import store as run_store
from mnist_lab.runs.store import RunStore
from mnist_lab.training.server import cluster_plan, engine
from tests import postgres
from tests.server import ROOT
from tests.waiting import wait_for

SETTING = "the secrets' url"


@pytest.fixture(scope="module")
def outage_server():
    """A PostgreSQL server of this module's own, which its tests stop and start (the session's server stays up)."""
    import os

    reason = postgres.why_not()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="mnist-lab-outage-"))
    try:
        with postgres.started_server(folder / "server") as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def server(outage_server):
    """The module's server, running again after each test whatever the test left it as."""
    yield outage_server
    if not outage_server.running:
        outage_server.start()


@pytest.fixture
def url(server):
    """A new database on the module's server."""
    made = postgres.new_database(server.url)
    yield made
    database.dispose(made)


def password_of(url: str) -> str:
    return sa.make_url(url).password


def shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def test_a_store_opened_while_the_server_is_down_says_so_at_once_without_the_password(server, url, tmp_path):
    server.stop()
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachableError) as caught:
        RunStore(tmp_path / "home", database=url, database_setting=SETTING)
    assert time.monotonic() - started < database.CONNECT_TIMEOUT_S
    message = str(caught.value)
    assert not isinstance(caught.value, DatabaseSettingError)  # nothing to change in the setting
    assert "cannot be reached right now" in message and shown(url) in message and SETTING in message
    assert password_of(url) not in message
    server.start()
    assert RunStore(tmp_path / "home", database=url, database_setting=SETTING).list_runs() == []


def test_an_open_store_says_so_while_its_server_is_away_and_works_when_it_is_back(server, url, tmp_path):
    store = RunStore(tmp_path / "home", database=url)
    run_id = store.create_run("before", {"architecture": "fast"}, {"epochs": 1}, {})
    server.stop()
    for operation in (store.list_runs, lambda: store.get(run_id), store.ping):
        with pytest.raises(DatabaseUnreachableError, match="cannot be reached right now") as caught:
            operation()
        assert password_of(url) not in str(caught.value)
    server.start()
    assert [run.id for run in store.list_runs()] == [run_id]  # the pool's dead connections were replaced
    assert store.get(run_id).status == run_store.RUNNING  # this process still lives: not marked interrupted


@pytest.mark.slow  # waits out the 5 s connect timeout
def test_a_server_that_accepts_but_never_answers_is_given_up_within_the_connect_timeout(tmp_path):
    with socket.socket() as silent:  # the handshake completes in the kernel; nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(DatabaseUnreachableError, match="cannot be reached right now"):
            RunStore(tmp_path / "home", database=f"postgresql+psycopg://teacher:pw-Secret@127.0.0.1:{port}/class")
        waited = time.monotonic() - started
    assert database.CONNECT_TIMEOUT_S - 1 <= waited < database.CONNECT_TIMEOUT_S + 5


def test_a_database_that_does_not_exist_is_the_settings_fault(server, tmp_path):
    missing = f"{server.url}/no_such_database"
    with pytest.raises(DatabaseSettingError, match='database "no_such_database" does not exist') as caught:
        RunStore(tmp_path / "home", database=missing, database_setting=SETTING)
    assert SETTING in str(caught.value) and password_of(missing) not in str(caught.value)


def small_training(store: RunStore, trainer: training.Trainer, on_epoch) -> training.TrainingJob:
    """Queue a 3-epoch perceptron on 300 images on the trainer's engine, ``on_epoch`` listening from the start."""
    job = training.new_job(store, "through an outage", config.ModelConfig(architecture="perceptron"),
                           config.TrainConfig(epochs=3, train_limit=300, batch_size=50))
    job.on_epoch(on_epoch)  # before it is queued, so that it hears epoch 1 whatever the machine's speed
    trainer.engine.client()
    trainer.queue(job)
    return job


@pytest.mark.cluster
@pytest.mark.parametrize("back", ["during the training", "after it ended"])
def test_a_training_keeps_its_epochs_and_model_while_the_database_is_away(server, url, home, monkeypatch, caplog,
                                                                          back):
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, cluster_plan.THREADS)
    caplog.set_level(logging.INFO, logger="mnist_lab.training.server.run_writes")
    store = RunStore(home, database=url)
    trainer = training.Trainer(store)

    def outage(row):  # in the thread that stores the epochs: the next write meets the server as it is left here
        if row["epoch"] == 1:
            server.stop()
        elif row["epoch"] == 2 and back == "during the training":
            server.start()

    try:
        job = small_training(store, trainer, outage)
        if back == "after it ended":
            wait_for(lambda: job.done, timeout=300, what="the training to end")
            progress = job.progress()
            assert progress.status == run_store.FINISHED and len(progress.epoch_rows) == 3
            assert "database cannot be reached right now: 2 epochs and the final status" in progress.message
            assert not job.join(timeout=0)  # it ends once its writes have landed
            assert len(list((home / "runs" / job.run_id).glob(".model-epoch*.keras"))) == 2  # on disk meanwhile
            server.start()
        assert job.join(timeout=300)
    finally:
        trainer.engine.close()
    fresh = RunStore(home.parent / "another home", database=url)  # reads only what the database holds
    run = fresh.get(job.run_id)
    assert run.status == run_store.FINISHED and run.saved_epochs == 3
    assert [row["epoch"] for row in run.history] == [1, 2, 3]
    assert [row["loss"] for row in run.history] == [row["loss"] for row in job.progress().epoch_rows]
    assert fresh.model_path(job.run_id).read_bytes() == (home / "runs" / job.run_id / "model.keras").read_bytes()
    assert not list((home / "runs" / job.run_id).glob(".model-epoch*"))  # the kept models were handed over
    told = [record.getMessage() for record in caplog.records if record.name == "mnist_lab.training.server.run_writes"]
    assert len(told) == 2 and "cannot be reached right now" in told[0] and "answers again" in told[1], told
    assert "kept" not in job.progress().message


def test_start_is_refused_with_the_reason_while_the_database_is_away(server, url, home, monkeypatch):
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, cluster_plan.THREADS)
    store = RunStore(home, database=url)
    trainer = training.Trainer(store)
    try:
        server.stop()
        with pytest.raises(DatabaseUnreachableError, match="cannot be reached right now"):
            trainer.start("refused", config.ModelConfig(architecture="perceptron"),
                          config.TrainConfig(epochs=1, train_limit=300, batch_size=50))
        server.start()
        assert store.list_runs() == [] and trainer.active() is None
    finally:
        trainer.engine.close()


def app_on(url: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["connections"] = {"mnist_lab": {"url": url}}
    return at


def said_away(at: AppTest) -> list[str]:
    """The page's errors and warnings that say the database cannot be reached."""
    return [str(element.value) for element in (*at.error, *at.warning) if "cannot be reached" in str(element.value)]


def everything_shown(at: AppTest) -> str:
    return " ".join(str(element.value) for kind in ("error", "warning", "info", "markdown", "caption", "title")
                    for element in getattr(at, kind))


@pytest.mark.parametrize("opened", ["before the outage", "during it"])
def test_the_data_and_train_pages_say_it_in_one_sentence_and_refuse_to_start(server, url, home, monkeypatch, opened):
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, cluster_plan.THREADS)
    at = app_on(url)
    if opened == "before the outage":  # the server's store and trainer were made while the database answered
        at.run()
        at.switch_page("app_pages/train.py").run()
        assert not at.exception and not said_away(at)
    server.stop()
    try:
        at.run()
        at.switch_page("app_pages/data.py").run()
        assert not at.exception, at.exception
        assert len(said_away(at)) == 1, said_away(at)
        assert at.title[0].value.startswith("The data: MNIST")  # the bundled dataset is still there to explore
        at.switch_page("app_pages/train.py").run()
        assert not at.exception, at.exception
        (sentence,) = said_away(at)
        start = at.button(key="start_training")
        assert start.disabled and "cannot be reached" in start.help
        assert password_of(url) not in everything_shown(at) + start.help
        assert shown(url) in sentence.replace("\\", "").replace("\u200b", "")  # as read, without Markdown's escapes
        for page in ("predict", "evaluate", "report"):  # they need runs: the sentence alone, no traceback
            at.switch_page(f"app_pages/{page}.py").run()
            assert not at.exception and len(said_away(at)) == 1, (page, at.exception, said_away(at))
    finally:
        engine.shared().close()
    server.start()
    at.switch_page("app_pages/train.py").run()
    assert not said_away(at) and not at.button(key="start_training").disabled


def test_a_run_whose_process_ended_during_the_outage_is_marked_interrupted_when_the_database_is_back(server, url,
                                                                                                    tmp_path):
    # The training process: one epoch stored, then the database goes away and the process ends before it is back.
    code = ("import sys\nfrom mnist_lab.runs.store import RunStore\n"
            f"store = RunStore(sys.argv[1], database={url!r})\n"
            "run_id = store.create_run('cut off', {}, {}, {})\n"
            "store.record_epoch(run_id, 1, {'epoch': 1, 'loss': 0.5}, model_saved=True)\n"
            "print(run_id, flush=True)\nsys.stdin.read()")
    trainer = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "trainer home")], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    run_id = trainer.stdout.readline().strip()
    server.stop()
    trainer.communicate("", timeout=60)
    server.start()
    store = RunStore(tmp_path / "home", database=url)  # the next server: opening the store recovers
    run = store.get(run_id)
    assert run.status == run_store.INTERRUPTED and run.saved_epochs == 1
    assert "usable up to epoch 1" in run.message
