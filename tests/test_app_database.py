"""The app on the database its secrets name (``[connections.mnist_lab] url``), as Community Cloud runs it."""

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from mnist_lab.runs import store as run_store
from mnist_lab.runs.store import RunStore
from tests.server import ROOT


def app_with_database(url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["connections"] = {"mnist_lab": {"url": url}}
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at):
    return " ".join(str(element.value) for kind in ("error", "markdown", "caption", "info", "warning")
                    for element in getattr(at, kind))


def test_the_app_lists_the_runs_of_the_database_in_its_secrets(postgres_url, home, tmp_path):
    elsewhere = RunStore(tmp_path / "another server's home", database=postgres_url)
    run_id = elsewhere.create_run("kept in postgres", {"architecture": "fast"}, {"epochs": 1}, {})
    elsewhere.finish(run_id, run_store.FINISHED, message="done")

    at = app_with_database(postgres_url)
    picker = next(box for box in at.sidebar.selectbox if "kept in postgres" in " ".join(map(str, box.options)))
    assert picker is not None
    assert RunStore(home).list_runs() == []  # nothing went to the home's SQLite file


def test_a_wrong_password_in_the_secrets_is_told_in_one_sentence_without_it(postgres_url, home):
    wrong = sa.make_url(postgres_url).set(password="Wr0ng-pa55").render_as_string(hide_password=False)
    at = app_with_database(wrong)
    shown = texts(at).replace("\\", "")  # as read, without Markdown's escapes
    assert "[connections.mnist_lab] url in .streamlit/secrets.toml" in shown
    assert "password authentication failed" in shown
    assert "Wr0ng-pa55" not in shown and sa.make_url(postgres_url).password not in shown
