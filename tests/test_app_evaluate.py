"""AppTest of the Evaluate page with two small stored runs: one run, a chosen confusion cell, the comparison, broken runs."""

import json
import shutil

import pytest

from mnist_lab.runs.store import DIVERGED, HOME_ENV, RunStore
from tests.apptest_helpers import open_app_page, open_tab


@pytest.fixture(scope="module")
def runs_home(trained_home, tmp_path_factory):
    """A private copy of the two trained runs, shared by the tests that only read it."""
    home = tmp_path_factory.mktemp("evaluate-page") / "home"
    shutil.copytree(trained_home, home)
    return home


@pytest.fixture
def run_ids(runs_home, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(runs_home))
    return {run.name: run.id for run in RunStore(runs_home).list_runs()}


def open_evaluate(run_id=None):
    return open_app_page("app_pages/evaluate.py", active_run=run_id)


def open_section(at, label):
    return open_tab(at, "evaluate_tab", label)


def captions(at):
    return "\n".join(caption.value for caption in at.caption)


def chart_specs(at):
    return [chart.proto.spec for chart in at.get("vega_lite_chart")]


def test_one_run_shows_headline_table_matrix_and_curves(run_ids, runs_home):
    at = open_evaluate(run_ids["small fast"])
    stored = RunStore(runs_home).get(run_ids["small fast"]).metrics["test"]
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{stored['accuracy']:.2%}"
    assert any("fitted to exactly those images" in md.value for md in at.markdown)
    assert [tab.label for tab in at.tabs] == ["Per class", "Confusion matrix", "ROC and precision-recall"]
    assert [h.value for h in at.header] == ["Per class"]  # only the open tab is drawn
    table = at.dataframe[0].value
    assert len(table) == 10
    assert {"precision", "recall", "f1", "support", "roc_auc", "average_precision", "ranking_errors"} <= set(table.columns)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ranking errors"] == f"{stored['ranking_errors_macro']:.2f}"
    assert at.get("download_button")[0].proto.label == "Download the table (CSV)"
    assert any("fewer is better" in spec for spec in chart_specs(at))  # ranking errors per class
    open_section(at, "ROC and precision-recall")
    assert [h.value for h in at.header] == ["ROC and precision-recall curves"]
    specs = chart_specs(at)
    roc = next(spec for spec in specs if "ROC, one class against the rest" in spec)
    assert '"type":"log"' in roc.replace(" ", "")  # the logarithmic false-positive-rate axis by default
    assert any("Precision against recall" in spec for spec in specs)
    open_section(at, "Confusion matrix")
    assert [h.value for h in at.header] == ["Confusion matrix"]
    assert any("What a confusion matrix tells" in md.value for md in at.markdown)
    assert any('"name":"cell"' in spec.replace(" ", "") for spec in chart_specs(at))
    # The most frequent mistake is chosen at first, and its images are shown.
    pairs = next(table.value for table in at.dataframe if list(table.value.columns) == ["true", "predicted", "count"])
    pair = pairs.iloc[0]
    chosen = (at.selectbox(key="evaluate_true").value, at.selectbox(key="evaluate_predicted").value)
    assert chosen == (pair["true"], pair["predicted"])
    assert f"{pair['count']} test images of class {pair['true']} read as {pair['predicted']}" in captions(at)
    assert len(at.get("image")) == 1


def test_choosing_a_cell_shows_its_images_and_curves_follow_the_controls(run_ids, runs_home, mnist):
    at = open_evaluate(run_ids["small perceptron"])
    run = RunStore(runs_home).get(run_ids["small perceptron"])
    predicted = RunStore(runs_home).load_array(run.id, f"test_scores_epoch{run.saved_epochs}").argmax(axis=1)
    open_section(at, "Confusion matrix")
    at.selectbox(key="evaluate_true").set_value("2")
    at.selectbox(key="evaluate_predicted").set_value("8").run()
    assert not at.exception
    expected = int(((mnist.y_test == 2) & (predicted == 8)).sum())
    assert f"{expected} test images of class 2 read as 8" in captions(at)
    at.toggle(key="evaluate_normalized").set_value(True).run()
    assert any('"row_share"' in spec and '"name":"cell"' in spec.replace(" ", "") for spec in chart_specs(at))
    open_section(at, "ROC and precision-recall")
    at.multiselect(key="evaluate_curves_MNIST").set_value(["8", "micro"])
    at.segmented_control(key="evaluate_roc_axis").set_value("corner").run()
    roc = next(spec for spec in chart_specs(at) if "ROC, one class against the rest" in spec)
    assert "8 \\u00b7 AUC" in roc or "8 · AUC" in roc
    assert "2 · AUC" not in roc and "2 \\u00b7 AUC" not in roc
    assert '"domain":[0,0.1]' in roc.replace(" ", "")
    open_section(at, "Confusion matrix")  # the choices made in a tab are still there on coming back
    assert (at.selectbox(key="evaluate_true").value, at.selectbox(key="evaluate_predicted").value) == ("2", "8")
    assert at.toggle(key="evaluate_normalized").value
    open_section(at, "ROC and precision-recall")
    assert at.multiselect(key="evaluate_curves_MNIST").value == ["8", "micro"]


def test_compare_two_runs(run_ids):
    at = open_evaluate(run_ids["small fast"])
    at.segmented_control(key="evaluate_view").set_value("Compare runs").run()
    assert not at.exception, at.exception
    assert sorted(at.multiselect(key="evaluate_compare").value) == sorted(run_ids.values())
    table = at.dataframe[0].value
    assert table.loc["small fast", "architecture"] == "fast"
    assert table.loc["small perceptron", "architecture"] == "perceptron"
    assert {"test accuracy", "macro F1", "macro ROC AUC", "train accuracy"} <= set(table.columns)
    at.selectbox(key="evaluate_compare_class").set_value("micro").run()
    specs = chart_specs(at)
    for title in ("Recall per class", "Ranking errors per 10,000 pairs per class", "ROC of class micro against the rest"):
        assert any(title in spec for spec in specs), title
    assert any('"run"' in spec and '"loss"' in spec for spec in specs)  # training curves overlaid
    widths = {name: config.get("width") for name, config in json.loads(at.dataframe[0].proto.columns).items()}
    for title in ("test accuracy", "macro F1", "macro ROC AUC"):  # wide enough for their titles, not cut at "macro F…"
        assert widths[title] >= 8 * len(title), title
    at.selectbox(key="evaluate_compare_baseline").set_value("small perceptron").run()
    assert not at.exception
    assert any("Recall per class" in spec and "difference to small perceptron" in spec for spec in chart_specs(at))


def test_a_run_whose_model_file_is_gone_gets_a_message_and_the_others_still_work(trained_copy):
    store = trained_copy
    ids = {run.name: run.id for run in store.list_runs()}
    store.model_path(ids["small fast"]).unlink()
    store.drop_arrays(ids["small fast"])
    at = open_evaluate(ids["small fast"])
    assert "cannot be evaluated" in at.error[0].value and "missing" in at.error[0].value
    at.segmented_control(key="evaluate_view").set_value("Compare runs").run()
    assert not at.exception and "missing" in at.error[0].value
    assert "Choose two or more runs" in at.info[0].value
    at.session_state["active_run"] = ids["small perceptron"]
    at.segmented_control(key="evaluate_view").set_value("One run").run()
    assert not at.exception and not at.error
    assert at.metric[0].label == "Test accuracy"


def test_a_run_that_diverged_before_its_first_epoch(home):
    store = RunStore(home)
    run_id = store.create_run("exploded", {}, {}, {})
    store.finish(run_id, DIVERGED, message="Training diverged: the loss became NaN.")
    at = open_evaluate(run_id)
    assert "has no saved model" in at.warning[0].value and "diverged" in at.warning[0].value
    at.segmented_control(key="evaluate_view").set_value("Compare runs").run()
    assert "at least two runs with a saved model" in at.info[0].value


def test_no_runs_yet(home):
    at = open_evaluate()
    assert "No run yet" in at.info[0].value
