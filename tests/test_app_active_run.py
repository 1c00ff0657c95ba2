"""AppTest: the active run is the one the student chose. Comparison runs are never chosen for them, a reload keeps
the choice, only a Train-page start switches it (and says so), and the Report page names the run it describes."""


import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.models import config
from mnist_lab.runs.store import RunStore
from mnist_lab.training import experiments
from tests.apptest_helpers import open_app_page, wait_for_comparison
from tests.server import ROOT

PICKER = "sidebar_run_picker"
REPORT_PICKER = "report_run_picker"


def open_app(*, run_in_url=None):
    """A new browser session (a reload is one), optionally with a run id in its URL."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if run_in_url is not None:
        at.query_params["run"] = run_in_url
    at.run()
    assert not at.exception, at.exception
    return at


def ids(store):
    return {run.name: run.id for run in store.list_runs()}


def add_comparison_run(store):
    """A finished run of a one-click comparison, newer than every other run."""
    run_id = store.create_run("B5 perceptron or CNN: CNN (fast)", config.to_dict(config.ModelConfig()),
                              config.to_dict(config.TrainConfig()), {}, experiment="b5-cnn")
    store.finish(run_id, "finished", message="Finished 2 epochs.")
    return run_id


def test_a_new_session_describes_the_newest_own_run_and_lists_comparison_runs_last(trained_copy):
    comparison = add_comparison_run(trained_copy)
    at = open_app()
    picker = at.sidebar.selectbox(key=PICKER)
    assert picker.value == ids(trained_copy)["small fast"]
    assert picker.options[-1] == "comparison · B5 perceptron or CNN: CNN (fast) · finished"
    assert at.query_params["run"] == picker.value
    picker.set_value(comparison).run()  # the student may still choose it: it is then described as what it is
    assert any("one-click comparison" in caption.value for caption in at.sidebar.caption)


def test_only_comparison_runs_means_no_run_is_chosen(home):
    add_comparison_run(RunStore())
    at = open_app()
    assert at.sidebar.selectbox(key=PICKER).value is None
    assert at.session_state["active_run"] is None


@pytest.mark.cluster
def test_a_reload_keeps_the_chosen_run_after_someone_trains_a_newer_one(trained_copy):
    from ui import resources

    chosen = ids(trained_copy)["small perceptron"]
    at = open_app()
    at.sidebar.selectbox(key=PICKER).set_value(chosen).run()
    assert at.query_params["run"] == chosen
    job = resources.trainer().start("someone else's", config.ModelConfig(architecture="perceptron"),
                                    config.TrainConfig(epochs=1, train_limit=1000, batch_size=100))
    assert job.join(timeout=120)
    at.run()
    assert at.sidebar.selectbox(key=PICKER).value == chosen
    reloaded = open_app(run_in_url=chosen)
    assert reloaded.sidebar.selectbox(key=PICKER).value == chosen
    assert open_app(run_in_url="20990101-000000-000000").sidebar.selectbox(key=PICKER).value == job.run_id


@pytest.mark.cluster
def test_starting_a_training_switches_the_active_run_with_a_notice(trained_copy):
    from ui import resources

    before = ids(trained_copy)["small perceptron"]
    at = open_app_page("app_pages/train.py", active_run=before)
    at.number_input(key="train_epochs").set_value(1).run()
    at.number_input(key="train_train_limit").set_value(1000).run()
    at.text_input(key="train_run_name").set_value("my second training").run()
    at.button(key="start_training").click().run()
    job = resources.trainer().active()
    assert job is not None and job.name == "my second training"
    assert at.session_state["active_run"] == job.run_id
    notice = "\n".join(info.value for info in at.sidebar.info)
    assert "Your new training is now the active run; before, it was **small perceptron · finished**" in notice
    assert job.join(timeout=120)
    at.run()
    at.sidebar.selectbox(key=PICKER).set_value(before).run()  # going back is the student's choice: no notice
    assert not at.sidebar.info


@pytest.mark.cluster
def test_the_report_names_its_run_and_a_comparison_does_not_change_it(trained_copy, monkeypatch):
    tiny = config.TrainConfig(epochs=1, train_limit=1000, batch_size=100, validation_fraction=0.2)
    monkeypatch.setattr(experiments, "SMALL_TRAIN", tiny)
    fast = ids(trained_copy)["small fast"]
    at = open_app()
    at.switch_page("app_pages/report.py")
    at.session_state["report_tab"] = "B5"
    at.run()
    report_picker = at.selectbox(key=REPORT_PICKER)
    assert report_picker.label == "Run this report describes"
    assert report_picker.value == fast and report_picker.format_func(fast) == "small fast · finished"
    at.button(key="report_b5-perceptron-vs-cnn").click().run()
    assert not at.exception, at.exception
    wait_for_comparison(trained_copy, "b5-perceptron-vs-cnn")
    at.run()
    assert at.selectbox(key=REPORT_PICKER).value == fast
    assert at.sidebar.selectbox(key=PICKER).value == fast
    other = open_app()  # a new session after the comparison: not the comparison's small run
    other.switch_page("app_pages/report.py").run()
    assert other.selectbox(key=REPORT_PICKER).value == fast
    assert "**small fast**" in "\n".join(md.value for md in other.markdown)
    perceptron = ids(trained_copy)["small perceptron"]
    other.selectbox(key=REPORT_PICKER).set_value(perceptron).run()  # the report's picker is the active run's
    assert other.sidebar.selectbox(key=PICKER).value == perceptron
    assert "**small perceptron**" in "\n".join(md.value for md in other.markdown)
