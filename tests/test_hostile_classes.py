"""Class names come from a student's classes.txt: every page, the Markdown, HTML and notebook exports show them as
text, never as links, pictures or HTML (issue 24)."""

import re

import pytest

from mnist_lab import data, report, training
from mnist_lab.models import config
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import open_app_page
from tests.test_dataset_pipeline import app_environment, write_three_class_folder

HOSTILE_CLASSES = ("<img src=//evil.example/a>", "[ring](http://evil.example)", "![bar](http://evil.example/b)")
LIVE = (re.compile(r"(?<!\\)<img"), re.compile(r"(?<!\\)\]\(http://evil"))


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory, mnist):
    return write_three_class_folder(tmp_path_factory.mktemp("datasets") / "Hostile3", mnist, HOSTILE_CLASSES,
                                    train_per_class=300, test_per_class=50)


@pytest.fixture(scope="module")
def hostile_home(hostile_folder, tmp_path_factory):
    home = tmp_path_factory.mktemp("hostile-home") / "home"
    store = RunStore(home)
    job = training.new_job(store, "hostile classes", config.ModelConfig(architecture="keras-classic"),
                           config.TrainConfig(epochs=1, batch_size=64), data.read_idx_folder(hostile_folder))
    assert job.run() == "finished", job.progress().message
    return home, job.run_id


@pytest.fixture
def hostile_env(hostile_home, hostile_folder, monkeypatch):
    home, run_id = hostile_home
    return app_environment(monkeypatch, home, hostile_folder, run_id)


def assert_no_live_markup(text: str, where: str) -> None:
    for pattern in LIVE:
        assert not pattern.search(text), f"{where}: {pattern.pattern} in {text[:300]!r}"


def test_the_exports_show_class_names_as_text(hostile_env):
    store, run_id = hostile_env
    run = store.get(run_id)
    dataset = data.get_dataset("Hostile3")
    evidence, built = report.report_of_run(store, run, dataset)
    markdown = report.to_markdown(report.reading_copy(built))
    assert "evil.example" in markdown  # the names are in the document
    assert_no_live_markup(markdown, "Markdown export")
    html = report.to_html(report.reading_copy(built))
    assert "evil.example" in html and "<img src=//evil" not in html and 'href="http://evil' not in html
    notebook = report.build_notebook(evidence, dataset, report.reading_copy(built))
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            assert_no_live_markup(cell.source, "notebook Markdown cell")


@pytest.mark.parametrize("page", ["app_pages/data.py", "app_pages/predict.py", "app_pages/evaluate.py",
                                  "app_pages/report.py"])
def test_every_page_shows_class_names_as_text(hostile_env, page):
    _, run_id = hostile_env
    at = open_app_page(page, active_run=run_id)
    at.selectbox(key="sidebar_dataset_picker").set_value("Hostile3").run()
    assert not at.exception
    shown = [str(element.value) for kind in ("markdown", "caption", "error", "warning", "info", "success",
                                             "subheader", "header", "title")
             for element in getattr(at, kind)]
    for text in shown:
        assert_no_live_markup(text, page)
