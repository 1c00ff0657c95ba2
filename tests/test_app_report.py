"""AppTest of the Report page: every question with its evidence, figures from the run, links and one-click comparisons."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab import report, training
from mnist_lab.models import config
from mnist_lab.runs.store import FINISHED, STOPPED, RunStore
from mnist_lab.training import experiments
from tests.apptest_helpers import comparison_running, wait_for_comparison
from tests.server import ROOT
from tests.waiting import wait_for

HEADINGS = [f"{q.number}. {q.title}" for q in report.QUESTIONS]


@pytest.fixture
def run_ids(trained_copy):
    """Ids of a private copy of the two trained runs (the page evaluates them and trains comparison runs into it)."""
    return {run.name: run.id for run in trained_copy.list_runs()}


def open_report(run_id=None, focus=None, tab="All questions"):
    """The Report page in a new session, at the tab ``tab`` (the one it opens with when None)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if run_id is not None:
        at.session_state["active_run"] = run_id
    at.run()
    at.switch_page("app_pages/report.py")
    if focus is not None:
        at.query_params["q"] = focus
    if tab is not None:
        at.session_state["report_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def headings(at):
    return [sub.value for sub in at.main.subheader]


def markdown(at):
    return "\n".join(md.value for md in at.markdown)


def captions(at):
    return "\n".join(caption.value for caption in at.caption)


def test_without_a_run_every_question_is_there_with_the_data_evidence(home):
    at = open_report()
    assert headings(at) == HEADINGS
    assert [h.value for h in at.header] == list(report.PARTS.values())
    assert report.NO_RUN in at.info[0].value
    digits = at.get("image")[0].proto.imgs
    assert [img.caption for img in digits] == [str(d) for d in range(10)]  # A1
    assert "**784** input values" in markdown(at) and any("(784,)" in code.value for code in at.code)  # B3
    assert at.dataframe[1].value["count"].tolist() == [60_000, 10_000]  # B2
    todos = [info.value for info in at.info[1:]]
    assert len(todos) == 8 and all(todo.startswith(report.NO_RUN) for todo in todos)
    assert [button.label for button in at.button][:2] == [
        "Run the comparison: scaled 0-1 against raw 0-255, both fast", "Run the comparison: perceptron against CNN (fast)"]
    assert not at.get("download_button")  # a hand-in needs a run
    assert not at.text_area  # answers are kept with a run


def test_every_answer_shows_the_runs_evidence_and_its_stored_figures(run_ids):
    at = open_report(run_ids["small fast"])
    assert headings(at) == HEADINGS
    assert not at.info and not at.warning and not at.error
    run = RunStore().get(run_ids["small fast"])
    stored = run.metrics["test"]  # written by the evaluation the page ran
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{stored['accuracy']:.2%}"
    assert metrics["Macro ROC AUC"] == f"{stored['roc_auc_macro']:.4f}"
    assert metrics["Train accuracy"] == f"{stored['train_accuracy']:.2%}"
    assert f"accuracy {stored['accuracy']:.2%}, macro recall {stored['recall_macro']:.2%}" not in markdown(at)
    for question in ("a2", "a4"):  # MNIST Lab's explanations open on the student's request (the personal default)
        at.button(key=f"reveal_{run.id}_{question}").click().run()
    text = markdown(at)
    assert f"accuracy {stored['accuracy']:.2%}, macro recall {stored['recall_macro']:.2%}" in text  # A4
    assert "is a CNN: the **Fast (batch-norm convnet)** network" in text and run.reasons["optimizer"] in text  # A2
    per_class = next(frame.value for frame in at.dataframe if "ROC AUC" in frame.value.columns)
    assert per_class["recall"].round(6).tolist() == [round(stored["per_class"]["recall"][str(d)], 6) for d in range(10)]
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    for title in ("ROC, one class against the rest", "Recall per class", '"name":"cell"', '"probability"', "loss per epoch",
                  "accuracy per epoch"):
        assert any(title in spec.replace(" ", "") or title in spec for spec in specs), title
    images = at.get("image")
    assert len(images[1].proto.imgs) == report.SHOWN_PREDICTIONS  # A3
    assert all(re.fullmatch(r"[✓✗] \d → \d · \d+%", img.caption) for img in images[1].proto.imgs)
    codes = [code.value for code in at.code]
    assert any("ValueError" in code and "found shape=(28, 28, 3)" in code for code in codes)  # B9
    assert any(code.startswith("probabilities = model.predict(x_test[0:1])[0]") for code in codes)  # B8


def test_a_link_opens_the_report_at_its_answer(run_ids):
    at = open_report(run_ids["small perceptron"], focus="b7", tab=None)
    assert headings(at) == ["B7. What a confusion matrix tells"]
    assert [h.value for h in at.header] == [report.PARTS["b"]]
    assert [tab.label for tab in at.tabs] == [q.number for q in report.QUESTIONS] + ["All questions"]
    assert any(caption.value.startswith("Opened at the answer to B7") for caption in at.caption)
    at.session_state["report_tab"] = "A2"
    at.run()
    assert headings(at) == ["A2. " + report.question("a2").title]
    at.button(key=f"reveal_{run_ids['small perceptron']}_a2").click().run()
    assert "it is not a CNN" in markdown(at)


def test_the_report_opens_at_its_first_answer(home):
    at = open_report(tab=None)
    assert headings(at) == [HEADINGS[0]]
    assert [img.caption for img in at.get("image")[0].proto.imgs] == [str(d) for d in range(10)]


def test_the_data_page_links_to_its_answers(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    links = []
    for tab in ("Examples", "Pixels"):
        at.session_state["data_tab"] = tab
        at.run()
        links += [(link.proto.page, link.proto.label, link.proto.query_string) for link in at.get("page_link")]
    assert links == [("report", f"Answer to {q.number} in the report: {q.title}", f"q={q.id}")
                     for q in map(report.question, ("a1", "b1", "b3"))]


def test_a_run_without_a_model_still_gets_every_question(home):
    store = RunStore()
    run_id = store.create_run("exploded <b>", config.to_dict(config.ModelConfig()), config.to_dict(config.TrainConfig()), {})
    store.finish(run_id, "diverged", message="Training diverged: the loss became NaN.")
    at = open_report(run_id)
    assert headings(at) == HEADINGS
    assert "Run 'exploded \\<b\\>' has no saved model" in at.info[0].value
    assert all("has no saved model" in info.value for info in at.info[1:])


@pytest.mark.cluster
def test_one_click_comparisons_run_and_their_results_are_quoted(run_ids, monkeypatch):
    tiny = config.TrainConfig(epochs=1, train_limit=2000, batch_size=64, validation_fraction=0.2)
    monkeypatch.setattr(experiments, "SMALL_TRAIN", tiny)
    at = open_report(run_ids["small perceptron"])
    busy = "Another training is running ('mine', epoch 1 of 2)."

    def refuse(*args):
        raise training.TrainingBusyError(busy)

    with monkeypatch.context() as patch:
        patch.setattr(experiments.ExperimentRunner, "start", refuse)
        at.button(key="report_b1-scaling").click().run()
    assert at.error[0].value == busy
    at.button(key="report_b5-perceptron-vs-cnn").click().run()
    assert not at.exception, at.exception
    assert any(re.match(r"Running… run [12] of 2: B5 perceptron or CNN: ", bar.proto.text) for bar in at.get("progress"))
    store = RunStore()
    perceptron, cnn = wait_for_comparison(store, "b5-perceptron-vs-cnn").runs
    assert (perceptron.status, cnn.status) == (FINISHED, FINISHED)
    at.run()
    text = captions(at)  # the comparison's result is evidence: its table's caption
    assert (f"the perceptron reached {perceptron.metrics['val_accuracy']:.1%} validation accuracy, the CNN "
            f"{cnn.metrics['val_accuracy']:.1%}") in text
    assert "Comparison (each trained on the same 1,600 training images (400 more for validation) for 1 epoch)" in text
    assert at.button(key="report_b5-perceptron-vs-cnn").label.startswith("Run the comparison again")
    at.button(key="report_b1-scaling").click().run()
    scaled, raw = wait_for_comparison(store, "b1-scaling").runs
    assert (scaled.model_config["architecture"], raw.model_config["architecture"]) == ("perceptron", "perceptron")
    assert (scaled.model_config["scale_inputs"], raw.model_config["scale_inputs"]) == (True, False)
    at.run()
    assert f"scaled inputs reached {scaled.metrics['val_accuracy']:.1%} validation accuracy" in captions(at)


@pytest.mark.cluster
def test_the_session_that_started_a_comparison_can_stop_it(run_ids, monkeypatch):
    long = config.TrainConfig(epochs=200, train_limit=2000, batch_size=64, validation_fraction=0.2)
    monkeypatch.setattr(experiments, "SMALL_TRAIN", long)
    at = open_report(run_ids["small perceptron"])
    at.button(key="report_b1-scaling").click().run()
    assert not at.exception, at.exception
    other = open_report(run_ids["small perceptron"])  # another browser session sees the progress, not the button
    assert not [button for button in other.button if button.key == "report_stop"]
    at.button(key="report_stop").click().run()
    store = RunStore()
    wait_for(lambda: not comparison_running(), timeout=60, what="the comparison to stop")
    scaled, raw = experiments.outcome(store, experiments.EXPERIMENTS["b1-scaling"]).runs
    assert scaled.status == STOPPED and raw is None
    at.run()
    assert "it was stopped" in at.warning[0].value
    other.run()
    other.button(key="report_b1-scaling").click().run()  # the same comparison, started by another session
    at.run()
    assert not [button for button in at.button if button.key == "report_stop"]
    other.button(key="report_stop").click().run()
    wait_for(lambda: not comparison_running(), timeout=60, what="the second comparison to stop")
