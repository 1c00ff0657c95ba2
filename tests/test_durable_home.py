"""Issue 23's proof: with a database server, deleting the whole home directory loses nothing a class made.

Community Cloud wipes an app's disk at every restart; the home (``MNIST_LAB_HOME``) is then only a cache, and a
restarted server (a new store, empty caches, the home deleted) must find every run, model, evaluation, report,
class limit and imported dataset in PostgreSQL.
"""

import shutil

import numpy as np
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from mnist_lab import predictions, training
from mnist_lab.access import ClassLimits
from mnist_lab.data import dataset_for_run, get_dataset, import_idx_upload, imported_dataset, registry, write_idx
from mnist_lab.errors import DatasetError
from mnist_lab.evaluation.evaluate import evaluate_run
from mnist_lab.models import config
from mnist_lab.predictions.inference import RunModel
from mnist_lab.report.notebook import report_of_run
from mnist_lab.runs import database
from mnist_lab.runs.schema import dataset_files
from mnist_lab.runs.store import FINISHED, RunStore
from tests.apptest_helpers import ALICE, TEACHER, as_user
from tests.conftest import train_small_run
from tests.server import ROOT
from tests.test_dataset_folders import ROLES, three_classes
from tests.test_predictions import on_canvas

LIMITS = ClassLimits(max_epochs=3, trainings_per_hour=4)


def dataset_upload(mnist, folder) -> dict[str, bytes]:
    """Three classes of mirrored MNIST digits (300 training images) written with ``write_idx``, as uploaded files."""
    folder.mkdir()
    for role, array in zip(ROLES, three_classes(mnist, n_train=100, n_test=30)):
        write_idx(folder / f"{role}.gz", array, compress=True)
    (folder / "classes.txt").write_text("ring\nbar\nseven\n")
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def train_on(store, name, dataset):
    """Train one epoch of the ``fast`` network on ``dataset`` in this thread; return the run's id."""
    job = training.new_job(store, name, config.ModelConfig(architecture="fast"),
                           config.TrainConfig(epochs=1, batch_size=64), dataset)
    assert job.run() == FINISHED, job.progress().message
    return job.run_id


def restart(home, url) -> RunStore:
    """What a restarted server has: no home, no open connections, no loaded dataset; a new store."""
    shutil.rmtree(home)
    database.dispose(url)
    registry.cache.clear()
    return RunStore(home, database=url)


def drawn_reading(store, run, digit) -> int:
    return int(np.argmax(predictions.read_own_digit(RunModel.load(store, run), on_canvas(digit)).probabilities))


@pytest.fixture
def server_home(home, postgres_url, monkeypatch):
    """The app's home, with the database a server's secrets would name set for the library's own stores."""
    monkeypatch.setenv(database.DATABASE_ENV, postgres_url)
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    return home


@pytest.mark.slow
def test_deleting_the_home_loses_nothing_a_class_made(server_home, postgres_url, mnist, tmp_path, monkeypatch):
    home, url = server_home, postgres_url
    store = RunStore(home, database=url)
    mnist_run = store.get(train_small_run(store, "mnist run", "fast", epochs=1, limit=300))
    imported = import_idx_upload(dataset_upload(mnist, tmp_path / "upload"), "Shapes", home, user=ALICE, database=url)
    alice = store.as_user(ALICE)
    shapes_run = alice.get(train_on(alice, "shapes run", imported))
    before = {}
    for owner, run in ((store, mnist_run), (alice, shapes_run)):
        before[run.id] = evaluate_run(owner, run, lambda owner=owner, run=run: RunModel.load(owner, run)).summary
    store.as_user(TEACHER).set_class_limits(LIMITS)
    digit = mnist.x_test[0]
    reading = drawn_reading(store, mnist_run, digit)

    store = restart(home, url)

    teacher = store.as_user(TEACHER)
    assert {run.id: (run.name, run.status) for run in teacher.list_runs(everyone=True)} == {
        mnist_run.id: ("mnist run", FINISHED), shapes_run.id: ("shapes run", FINISHED)}
    assert teacher.class_limits() == LIMITS
    assert drawn_reading(store, store.get(mnist_run.id), digit) == reading
    for owner, run_id in ((store, mnist_run.id), (store.as_user(ALICE), shapes_run.id)):
        run = owner.get(run_id)
        evaluated = evaluate_run(owner, run, lambda owner=owner, run=run: RunModel.load(owner, run))
        assert evaluated.summary["accuracy"] == pytest.approx(before[run_id]["accuracy"])
    alice = store.as_user(ALICE)
    run = alice.get(shapes_run.id)
    dataset = dataset_for_run(run.dataset, run.dataset_sha256, home, database=url)
    assert dataset.sha256 == imported.sha256 and dataset.class_names == ("ring", "bar", "seven")
    _, report = report_of_run(alice, run, dataset)
    assert len(report.answers) == 13 and "shapes run" in report.title
    assert imported_dataset("Shapes", home, database=url).owner == ALICE.id
    again = alice.get(train_on(alice, "shapes again", get_dataset("Shapes", home, database=url)))
    assert again.dataset == "Shapes" and again.dataset_sha256 == imported.sha256

    shutil.rmtree(home / "datasets")
    as_user(monkeypatch, ALICE)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["connections"] = {"mnist_lab": {"url": url}}
    at.session_state["active_run"] = shapes_run.id
    at.run()
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["Test accuracy"] == f"{before[shapes_run.id]['accuracy']:.2%}"
    assert (home / "datasets" / "Shapes" / "checksums.json").is_file()  # the page had it written back


def test_a_forged_dataset_row_is_refused_when_a_restarted_server_writes_it_back(server_home, postgres_url, mnist,
                                                                              tmp_path):
    home, url = server_home, postgres_url
    import_idx_upload(dataset_upload(mnist, tmp_path / "upload"), "Shapes", home, database=url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as db:  # a hostile writer swaps the labels for others, checksum and size left as they were
            db.execute(sa.update(dataset_files).where(dataset_files.c.name.like("train-labels%"))
                       .values(data=b"\x1f\x8b forged labels"))
    finally:
        engine.dispose()
    restart(home, url)
    with pytest.raises(DatasetError, match=r"the stored dataset 'Shapes' is damaged or was altered in the database "
                                           r"\(its file 'train-labels-idx1-ubyte.gz' does not match its recorded "
                                           r"checksum or size\); it is refused"):
        get_dataset("Shapes", home, database=url)
    assert not (home / "datasets" / "Shapes").exists()


@pytest.mark.cluster
def test_a_training_on_a_worker_finds_a_dataset_the_home_lost(home, postgres_url, mnist, tmp_path, monkeypatch):
    """Workers read datasets from the home: the server writes the dataset back from the database before it submits."""
    from mnist_lab.training.server import cluster_plan

    monkeypatch.delenv(database.DATABASE_ENV, raising=False)  # the worker knows no database: only the home
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "threads")
    store = RunStore(home, database=postgres_url)
    import_idx_upload(dataset_upload(mnist, tmp_path / "upload"), "Shapes", home, database=postgres_url)
    dataset = get_dataset("Shapes", home, database=postgres_url)
    shutil.rmtree(home / "datasets")  # the cache wiped after the page loaded the dataset
    trainer = training.Trainer(store)
    try:
        job = trainer.start("on a worker", config.ModelConfig(architecture="fast"), config.TrainConfig(epochs=1),
                            dataset=dataset)
        assert job.join(timeout=300)
    finally:
        trainer.engine.close()
    run = store.get(job.run_id)
    assert run.status == FINISHED, run.message
    assert run.metrics["worker"]["worker"].startswith("inproc://")
