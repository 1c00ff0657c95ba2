"""Shared fixtures: the bundled MNIST, a fresh run home per test."""

import pytest

from mnist_lab.data import shared_mnist


@pytest.fixture(scope="session")
def mnist():
    return shared_mnist()


@pytest.fixture(scope="session")
def facts(mnist):
    """The report's facts about the bundled MNIST (counts, shapes), computed once."""
    from mnist_lab import report

    return report.data_facts(mnist)


def small_fast_report(trained_home, folder):
    """The report of the trained "small fast" run on a private copy of ``trained_home`` in ``folder`` (evaluating
    writes to it): the run, its report, its reproducibility card as Markdown and its label for a hand-in."""
    import shutil

    from mnist_lab.report import card as cards
    from mnist_lab.report.notebook import report_of_run
    from mnist_lab.runs.store import HOME_ENV, RunStore

    home = folder / "home"
    shutil.copytree(trained_home, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV, str(home))
        store = RunStore(home)
        run = next(run for run in store.list_runs() if run.name == "small fast")
        _, report = report_of_run(store, run, shared_mnist())
    return run, report, cards.to_markdown(cards.reproducibility_card(run)), f"{run.name} ({run.id}), {run.status}"


def evidence_by_name(store, mnist):
    """The report's evidence of every run of ``store``, by run name: each model loaded and evaluated on MNIST."""
    from mnist_lab import evaluation, report
    from mnist_lab.predictions import inference

    found = {}
    for listed in store.list_runs():
        run = store.get(listed.id)
        model = inference.RunModel.load(store, run)
        evaluated = evaluation.evaluate_run(store, run, lambda model=model: model, mnist)
        scores = inference.test_scores(store, run, model, mnist.x_test)
        found[run.name] = report.RunEvidence(store.get(run.id), model, evaluated, scores)
    return found


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh, empty run home, also set in the environment for code that reads it there."""
    path = tmp_path / "home"
    monkeypatch.setenv("MNIST_LAB_HOME", str(path))
    return path


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Playwright's Chromium driver on Debian's browser; a missing browser fails under CI, else skips."""
    import os

    if not os.path.exists(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Start ``streamlit run app.py`` on a free port with a fresh run home; yield its URL."""
    from tests.server import running_app

    with running_app(tmp_path_factory.mktemp("app-home")) as url:
        yield url


@pytest.fixture(scope="module")
def trained_app_url(trained_home, tmp_path_factory):
    """Start the app on a copy of ``trained_home`` (two small trained runs); yield its URL."""
    import shutil

    from tests.server import running_app

    home = tmp_path_factory.mktemp("trained-app") / "home"
    shutil.copytree(trained_home, home)
    with running_app(home) as url:
        yield url


@pytest.fixture
def page(chromium, app_url, tmp_path):
    """A fresh browser page (its own session) on the running app."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def train_small_run(store, name, architecture, *, epochs=2, limit=2000, **train):
    """Train a real Keras model on a small subset of MNIST in this thread; return its run id."""
    from mnist_lab import training
    from mnist_lab.models import config

    model_config = config.ModelConfig(architecture=architecture)
    train_config = config.TrainConfig(epochs=epochs, train_limit=limit, batch_size=64, **train)
    job = training.new_job(store, name, model_config, train_config)
    job.run()
    return job.run_id


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory):
    """A run home with two finished runs trained on 2,000 real MNIST images: "small fast" and "small perceptron".

    Shared by many tests: a test that changes runs must copy it first (``shutil.copytree``).
    """
    from mnist_lab.runs.store import RunStore

    home = tmp_path_factory.mktemp("trained-home")
    store = RunStore(home)
    train_small_run(store, "small perceptron", "perceptron")
    train_small_run(store, "small fast", "fast")
    return home


@pytest.fixture
def trained_copy(trained_home, tmp_path, monkeypatch):
    """The RunStore of a private copy of ``trained_home``, set as the app's home: for tests that change runs."""
    import shutil

    from mnist_lab.runs.store import HOME_ENV, RunStore

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv(HOME_ENV, str(home))
    return RunStore(home)


@pytest.fixture
def trained_store(trained_home, monkeypatch):
    """The RunStore of ``trained_home``, also set as the app's home in the environment."""
    from mnist_lab.runs.store import HOME_ENV, RunStore

    monkeypatch.setenv(HOME_ENV, str(trained_home))
    return RunStore(trained_home)


@pytest.fixture
def class_store(trained_copy):
    """The two trained runs, "small perceptron" Alice's and "small fast" Bob's; the store acts for the teacher."""
    import sqlite3

    from tests.apptest_helpers import ALICE, BOB, TEACHER

    with sqlite3.connect(trained_copy.database) as db:
        for user, name in ((ALICE, "small perceptron"), (BOB, "small fast")):
            db.execute("UPDATE runs SET student = ?, student_name = ? WHERE name = ?", (user.id, user.name, name))
    db.close()
    return trained_copy.as_user(TEACHER)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (Debian's, started as the ``postgres`` user); yields its base URL.

    Skipped, saying why, only where PostgreSQL is not installed; under ``CI=true`` that is a failure.
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from tests import postgres

    reason = postgres.why_not()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    # Not under pytest's basetemp: another pytest session on the machine prunes old basetemps, server and all.
    folder = Path(tempfile.mkdtemp(prefix="mnist-lab-postgres-"))
    try:
        with postgres.running_server(folder / "server") as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a new, empty database on the session's PostgreSQL server."""
    from mnist_lab.runs import database
    from tests import postgres

    url = postgres.new_database(postgres_server)
    yield url
    database.dispose(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch):
    """Run the test on each database: SQLite in the home (the default), then PostgreSQL, chosen as the app
    chooses it (``MNIST_LAB_DATABASE_URL``). Yields the dialect's name."""
    monkeypatch.delenv("MNIST_LAB_DATABASE_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("MNIST_LAB_DATABASE_URL", request.getfixturevalue("postgres_url"))
    return request.param
