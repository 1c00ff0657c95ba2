"""The report's answers and evidence from real small runs, its Markdown and HTML exports, and the comparison runs."""

import dataclasses
import html.parser
import re
import shutil
import threading

import numpy as np
import pandas as pd
import pytest

from mnist_lab import access, evaluation, report, training
from mnist_lab.charts import describe
from mnist_lab.models import config
from mnist_lab.runs.store import DIVERGED, FINISHED, RunStore
from mnist_lab.training import experiments
from tests.conftest import evidence_by_name
from tests.waiting import wait_for

HOSTILE = '<script>alert("x")</script> **bold** [link](http://example.com) $x$'
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


@pytest.fixture(scope="module")
def store(trained_home, tmp_path_factory):
    """A private copy of the two trained runs: evaluating writes scores and metrics into it."""
    home = tmp_path_factory.mktemp("report") / "home"
    shutil.copytree(trained_home, home)
    return RunStore(home)


@pytest.fixture(scope="module")
def evidence(store, mnist):
    """RunEvidence of both runs, by name."""
    return evidence_by_name(store, mnist)


@pytest.fixture(scope="module")
def fast_report(mnist, evidence, facts):
    return report.build_report(mnist, evidence["small fast"], facts=facts)


def evidence_of(answer, kind):
    return [item for item in answer.evidence if isinstance(item, kind)]


def test_questions_are_numbered_with_stable_ids():
    assert [q.number for q in report.QUESTIONS] == [*(f"A{i}" for i in range(1, 5)), *(f"B{i}" for i in range(1, 10))]
    assert [q.id for q in report.QUESTIONS] == [q.number.lower() for q in report.QUESTIONS]
    assert report.question("B7").title == "What a confusion matrix tells"
    with pytest.raises(ValueError, match="a1, a2"):
        report.question("c1")


def test_without_a_run_the_data_answers_carry_evidence_and_the_others_say_what_to_do(mnist, facts):
    built = report.build_report(mnist, facts=facts)
    assert [answer.question for answer in built.answers] == list(report.QUESTIONS)
    a1 = built.answer("a1")
    strips = evidence_of(a1, report.Images)[0]
    assert strips.captions == tuple(mnist.class_names)
    assert all(strip.shape[1] > strip.shape[0] for strip in strips.images)  # a strip of several digits each
    counts = evidence_of(a1, report.Table)[0].frame
    assert counts["train"].sum() == len(mnist.y_train) and counts["test"].sum() == len(mnist.y_test)
    assert "**784** input values" in built.answer("b3").text
    assert "(784,)" in evidence_of(built.answer("b3"), report.Code)[0].code
    assert evidence_of(built.answer("b2"), report.Table)[0].frame["count"].tolist() == [60_000, 10_000]
    for qid in ("a1", "b1", "b2", "b3", "b5"):
        assert not built.answer(qid).todo, qid
    for qid in ("a2", "a3", "a4", "b4", "b6", "b7", "b8", "b9"):
        assert built.answer(qid).todo.startswith(report.NO_RUN), qid
    assert built.answer("b1").experiment == "b1-scaling" and built.answer("b5").experiment == "b5-perceptron-vs-cnn"


def test_figures_quoted_are_the_runs_stored_metrics(store, evidence, fast_report):
    stored = store.get(evidence["small fast"].run.id).metrics["test"]
    a4 = fast_report.answer("a4")
    figures = evidence_of(a4, report.Figures)[0].values
    assert figures["Test accuracy"] == f"{stored['accuracy']:.2%}"
    assert figures["Macro recall"] == f"{stored['recall_macro']:.2%}"
    aucs = stored["per_class"]["roc_auc"]
    decimals = evaluation.auc_decimals([stored["roc_auc_macro"], *aucs.values()])
    assert figures["Macro ROC AUC"] == f"{stored['roc_auc_macro']:.{decimals}f}"
    recall = stored["per_class"]["recall"]
    worst = min(recall, key=recall.get)
    assert f"By recall, the weakest digits are {worst} ({recall[worst]:.2%}: " in a4.text
    table = evidence_of(a4, report.Table)[0].frame
    assert table["ROC AUC"].tolist() == [f"{aucs[c]:.{decimals}f}" for c in table["class"]]
    assert len(evidence_of(a4, report.Chart)) == 4  # ROC curves, recall, ranking errors, precision-recall
    b6 = fast_report.answer("b6")
    assert f"{stored['train_accuracy']:.2%} on {stored['train_images']:,} of its training images" in b6.text
    assert evidence_of(b6, report.Figures)[0].values["Gap (points)"] == f"{stored['accuracy_gap'] * 100:.1f}"
    assert evaluation.gap_explanation(stored) in b6.text
    history = evidence["small fast"].run.history[-1]
    assert f"validation accuracy {history['val_accuracy']:.2%}" in b6.text


def test_the_model_its_reasons_and_its_outputs_come_from_the_run(evidence, fast_report, mnist):
    chosen = evidence["small fast"]
    a2 = fast_report.answer("a2")
    assert "is a CNN" in a2.text and "2 convolution layers" in a2.text
    for key in ("architecture", "loss", "optimizer", "schedule"):
        assert chosen.run.reasons[key] in a2.text
    layers = evidence_of(a2, report.Table)[0].frame
    assert layers["parameters"].sum() == chosen.model.model.count_params()
    assert "hands **576** values" in fast_report.answer("b3").text  # 3x3x64 after the convolutions, not 784 pixels
    predicted = int(np.argmax(chosen.scores[report.SAMPLE_INDEX]))
    assert f"position **{predicted}**" in fast_report.answer("b8").text
    assert f"np.argmax(probabilities)  # {predicted}" in evidence_of(fast_report.answer("b8"), report.Code)[0].code
    shown = evidence_of(fast_report.answer("a3"), report.Images)[0]
    right = sum(caption.startswith("✓") for caption in shown.captions)
    truth = mnist.y_test[: len(shown.captions)]
    assert right == int(np.sum(chosen.scores[: len(truth)].argmax(axis=1) == truth))
    assert f"gets {right} of the first {len(shown.captions)} test images right" in fast_report.answer("a3").text
    b7 = fast_report.answer("b7")
    top = chosen.evaluation.confused_pairs.iloc[0]
    article = "an" if top["true"] == "8" else "a"
    assert f"{top['count']} images of {article} {top['true']} read as {top['predicted']}" in b7.text
    codes = [item.code for item in evidence_of(fast_report.answer("b9"), report.Code)]
    assert "found shape=(28, 28, 3)" in codes[0] and "ValueError" in codes[0]
    assert f"np.argmax gives {predicted} (" in codes[-1]


def test_a_perceptron_is_not_called_a_cnn_and_flattens_the_raw_pixels(mnist, evidence, facts):
    built = report.build_report(mnist, evidence["small perceptron"], facts=facts)
    assert "it is not a CNN" in built.answer("a2").text
    assert "hands **784** values" in built.answer("b3").text
    assert "the pixels themselves (scaled to 0-1)" in built.answer("b3").text
    assert "(784 inputs x 10 weights + 10 biases)" in built.answer("b4").text


class TagParser(html.parser.HTMLParser):
    """Checks that every element is closed in order and collects tags, attributes and text."""

    def __init__(self):
        super().__init__()
        self.open, self.tags, self.attributes, self.text, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parsed(document):
    """The document parsed, once checked that every element is closed in order."""
    parser = TagParser()
    parser.feed(document)
    parser.close()
    assert not parser.errors and not parser.open
    return parser


def test_html_export_is_a_valid_self_contained_document_with_every_question(mnist, evidence, facts):
    chosen = evidence["small fast"]
    hostile = dataclasses.replace(chosen, run=dataclasses.replace(chosen.run, name=HOSTILE))
    built = report.build_report(mnist, hostile, facts=facts)
    document = report.to_html(report.reading_copy(built))
    assert document.startswith("<!DOCTYPE html>")
    parser = parsed(document)
    assert parser.tags[:4] == ["html", "head", "meta", "meta"] and parser.tags.count("body") == 1
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    sources = [value for tag, name, value in parser.attributes if name == "src"]
    assert sources and all(re.match(r"data:image/(png|svg\+xml);base64,", value) for value in sources)
    assert all(value.startswith("#") for tag, name, value in parser.attributes if name == "href")
    assert not [name for tag, name, value in parser.attributes if name.startswith("on")]
    charts = sum(len(evidence_of(answer, report.Chart)) for answer in built.answers)
    assert sum(value.startswith("data:image/svg+xml") for value in sources) == charts == 7  # A4 x4, B4, B6, B7
    sections = [value for tag, name, value in parser.attributes if tag == "section" and name == "id"]
    assert sections == ["title-page", *(q.id for q in report.QUESTIONS)]
    text = "".join(parser.text)
    for q in report.QUESTIONS:
        assert f"{q.number}. {q.title}" in text
    assert HOSTILE in text  # shown as text, never as markup
    assert "<script>" not in document


def test_a_run_name_with_markup_is_shown_literally_in_the_html(mnist, evidence, facts):
    chosen = evidence["small fast"]
    name = "<script>alert(1)</script> **bold**"
    built = report.build_report(mnist, dataclasses.replace(chosen, run=dataclasses.replace(chosen.run, name=name)),
                                facts=facts)
    document = report.to_html(report.reading_copy(built))
    assert "<script>" not in document and "<strong>bold</strong>" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in document
    text = "".join(parsed(document).text)
    assert f"MNIST Lab report: {name}" in text  # the title
    assert f"Run {name} (" in text  # the intro, the name in bold
    assert f"Run {name} gets" in text  # an answer


def hand_made_report(text, *evidence):
    """A one-answer report with the given Markdown answer text and evidence."""
    answer = report.Answer(report.question("b8"), text, evidence, todo="Train a run, *then* come back.")
    return report.Report("Hand made", "An **intro**.", (answer,))


def test_answer_markdown_renders_as_html_and_raw_html_stays_text():
    text = ("Use `np.argmax(p) < 3` *here* and **there**.\n\n- one\n- two <b>raw</b>\n\n"
            "| digit | recall |\n|---|---|\n| 7 | 0.98 |")
    table = report.Table(pd.DataFrame({"class <i>": ["**7**"], "recall": [0.98761]}), "Per <digit>")
    document = report.to_html(report.reading_copy(hand_made_report(text, table, report.Code("x = 1 < 2  # `not markdown`"))))
    assert "<code>np.argmax(p) &lt; 3</code>" in document
    assert "<em>here</em>" in document and "<strong>there</strong>" in document
    assert "<ul>\n<li>one</li>\n<li>two &lt;b&gt;raw&lt;/b&gt;</li>\n</ul>" in document
    assert '<th scope="col">digit</th>' in document and "<td>0.98</td>" in document  # a pipe table in the text
    assert '<th scope="col">class &lt;i&gt;</th>' in document and "<td>**7**</td>" in document and "<td>0.9876</td>" in document
    assert '<p class="evidence-caption">Per &lt;digit&gt;</p>' in document
    assert "<pre><code>x = 1 &lt; 2  # `not markdown`</code></pre>" in document
    assert "<p>An <strong>intro</strong>.</p>" in document
    assert "<p>Train a run, <em>then</em> come back.</p>" in document
    assert not {"b", "i", "digit"} & set(parsed(document).tags)


def test_html_is_one_self_contained_document_whose_only_external_links_are_citations():
    image = np.zeros((4, 4), dtype=np.uint8)
    text = "As [Rosenblatt](https://example.org/perceptron) showed. ![remote](https://example.org/x.png)"
    document = report.to_html(report.reading_copy(hand_made_report(text, report.Images((image,), ("blank",)))))
    parser = parsed(document)
    assert document.count("<!DOCTYPE html>") == 1 and parser.tags.count("html") == 1 and "style" in parser.tags
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    sources = [value for tag, name, value in parser.attributes if name == "src"]
    assert [value.split(",")[0] for value in sources] == ["data:image/png;base64"]  # a remote image becomes a link
    assert '<p>As <a href="https://example.org/perceptron">Rosenblatt</a> showed.' in document
    links = [value for tag, name, value in parser.attributes if name == "href"]
    assert links == ["#b8", "https://example.org/perceptron", "https://example.org/x.png"]


def test_markdown_export_has_the_question_numbers_as_headings(mnist, evidence, fast_report):
    document = report.to_markdown(report.reading_copy(fast_report))
    headings = re.findall(r"^### (\w\d)\. ", document, flags=re.MULTILINE)
    assert headings == [q.number for q in report.QUESTIONS]
    assert document.startswith("# MNIST Lab report: small fast")
    assert "| class | precision | recall | F1 | ROC AUC | ranking errors per 10,000 pairs | test images |" in document
    assert document.count("](data:image/png;base64,") >= 10 + 20  # the digits of A1 and A3
    # The chart's text alternative and the sentence under it: what it shows for this run, from its figures.
    summary = re.escape(report.markdown_text(describe.confusion(evidence["small fast"].evaluation.confusion)))
    assert re.search(r"\*Confusion matrix of the test images\*\n\n!\[Confusion matrix of the test images\. "
                     + summary + r"\]\(data:image/png;base64,[^)]+\)\n\n" + summary, document)


def test_user_text_cannot_format_markdown():
    assert report.markdown_text("a*b*_c_ [x](y) <b> $1$ |") == r"a\*b\*\_c\_ \[x\](y) \<b\> \$1\$ \|"


def finished_run(store, arm, *, val_accuracy, first_loss, status=FINISHED):
    train = config.to_dict(experiments.SMALL_TRAIN)
    run_id = store.create_run(f"test {arm.label}", config.to_dict(arm.model), train, {}, experiment=arm.tag)
    store.record_epoch(run_id, 1, {"epoch": 1, "loss": first_loss, "accuracy": 0.5}, model_saved=True)
    store.finish(run_id, status, message="Finished 2 epochs.", metrics={"val_accuracy": val_accuracy, "val_loss": 0.3})
    return run_id


def test_experiment_arms_follow_the_active_network():
    scaled, raw = experiments.EXPERIMENTS["b1-scaling"].arms(config.ModelConfig(architecture="lenet5"))
    assert (scaled.model.architecture, scaled.model.scale_inputs) == ("lenet5", True)
    assert (raw.model.architecture, raw.model.scale_inputs) == ("lenet5", False)
    assert experiments.EXPERIMENTS["b1-scaling"].arms(None)[0].model.architecture == "fast"
    perceptron, cnn = experiments.EXPERIMENTS["b5-perceptron-vs-cnn"].arms(scaled.model)
    assert (perceptron.model.architecture, cnn.model.architecture) == ("perceptron", "fast")
    assert experiments.describe((scaled, raw)) == "scaled 0-1 against raw 0-255, both lenet5"
    assert experiments.describe((perceptron, cnn)) == "perceptron against CNN (fast)"
    with pytest.raises(ValueError, match="b1-scaling"):
        experiments.experiment("nope")


def test_outcome_takes_the_latest_set_and_the_report_quotes_it(home, mnist, facts):
    store = RunStore(home)
    chosen = experiments.EXPERIMENTS["b1-scaling"]
    scaled, raw = chosen.arms(config.ModelConfig(architecture="perceptron"))
    assert experiments.outcome(store, chosen) is None
    finished_run(store, scaled, val_accuracy=0.5, first_loss=1.0)
    finished_run(store, raw, val_accuracy=0.4, first_loss=9.0)
    newest = finished_run(store, scaled, val_accuracy=0.842, first_loss=1.6)
    pending = experiments.outcome(store, chosen)
    assert pending.runs[0].id == newest and pending.runs[1] is None and not pending.complete
    assert pending.table()["status"].tolist() == [FINISHED, "not started"]
    finished_run(store, raw, val_accuracy=0.789, first_loss=43.4)
    done = experiments.outcome(store, chosen)
    assert done.complete and done.runs[0].id == newest
    table = done.table()
    assert table["inputs"].tolist() == ["scaled 0-1", "raw 0-255"]
    assert table["validation accuracy"].tolist() == [0.842, 0.789]
    b1 = report.build_report(mnist, outcomes={"b1-scaling": done}, facts=facts).answer("b1")
    result = evidence_of(b1, report.Table)[-1]  # the student's comparison is evidence, its result the caption
    assert result.caption.startswith("Comparison (each trained on the same 4,000 training images (1,000 more for "
                                     "validation) for 2 epochs)")
    assert "scaled inputs reached 84.2% validation accuracy, raw inputs 78.9%" in result.caption
    assert "Scaling paid off: 5.3 percentage points" in result.caption
    assert "loss was 27.1 times higher (43.400 against 1.600)" in result.caption
    assert result.frame["validation accuracy"].tolist() == [0.842, 0.789]
    waiting = report.build_report(mnist, outcomes={"b1-scaling": pending}, facts=facts).answer("b1")
    assert "comparison" not in waiting.text.lower()  # nothing promises a comparison that did not run
    assert "Comparison" not in " ".join(item.caption for item in waiting.evidence)


def test_a_diverged_arm_is_reported_as_such(home, mnist, facts):
    store = RunStore(home)
    chosen = experiments.EXPERIMENTS["b1-scaling"]
    scaled, raw = chosen.arms(None)
    finished_run(store, scaled, val_accuracy=0.96, first_loss=0.4)
    finished_run(store, raw, val_accuracy=None, first_loss=80.0, status=DIVERGED)
    b1 = report.build_report(mnist, outcomes={"b1-scaling": experiments.outcome(store, chosen)}, facts=facts)
    assert "with raw 0-255 inputs the training diverged" in evidence_of(b1.answer("b1"), report.Table)[-1].caption


class FakeJob:
    def __init__(self, name, release):
        self.name, self.release = name, release

    def join(self, timeout=None):
        self.release.wait(timeout)
        return True

    def stop(self):
        self.release.set()

    def progress(self):
        return training.Progress("id", self.name, "running", "", 1, 2, 3, 10, 0.0, 0.0)


class FakeTrainer:
    """Records the runs it is asked to start; its jobs end when ``release`` is set."""

    def __init__(self):
        self.started, self.release = [], threading.Event()

    def start(self, name, model_config, train_config, *, dataset=None, experiment="", user=access.PERSONAL):
        assert user == access.PERSONAL  # the runner's user: the arms are the runs of the student who started it
        self.started.append((name, model_config.architecture, experiment, train_config))
        return FakeJob(name, self.release)

    def active(self):
        return None


def test_runner_trains_the_arms_one_after_the_other_and_refuses_a_second_comparison():
    trainer = FakeTrainer()
    runner = experiments.ExperimentRunner(trainer)
    runner.start("b5-perceptron-vs-cnn")
    assert runner.running() == "b5-perceptron-vs-cnn"
    assert [start[2] for start in trainer.started] == ["b5-perceptron"]  # the CNN waits for the perceptron
    number, total, progress = runner.progress()
    assert (number, total, progress.name) == (1, 2, "B5 perceptron or CNN: perceptron")
    with pytest.raises(training.TrainingBusyError, match="B5 perceptron or CNN"):
        runner.start("b1-scaling")
    trainer.release.set()
    assert runner.join(10)
    assert [start[:3] for start in trainer.started] == [
        ("B5 perceptron or CNN: perceptron", "perceptron", "b5-perceptron"),
        ("B5 perceptron or CNN: CNN (fast)", "fast", "b5-cnn"),
    ]
    assert all(start[3] == experiments.SMALL_TRAIN for start in trainer.started)
    assert runner.progress() is None


def test_stopping_a_comparison_stops_its_run_and_starts_no_other():
    trainer = FakeTrainer()
    runner = experiments.ExperimentRunner(trainer)
    first = runner.start("b5-perceptron-vs-cnn")
    assert runner.owned_by(first) and not runner.owned_by("guess")
    runner.stop(first)
    assert runner.join(10)
    assert [start[2] for start in trainer.started] == ["b5-perceptron"]
    trainer.release.clear()
    second = runner.start("b1-scaling")  # a stopped comparison does not block the next one
    runner.stop(first)  # a late click on the old Stop button
    assert runner.running() == "b1-scaling" and runner.owned_by(second) and not runner.owned_by(first)
    trainer.release.set()
    assert runner.join(10)
    assert [start[2] for start in trainer.started][1:] == ["b1-scaling-on", "b1-scaling-off"]


def test_stopping_a_comparison_that_waits_for_someone_elses_training_starts_nothing():
    class CrowdedTrainer(FakeTrainer):
        """The first arm starts; then someone else's training holds the trainer."""

        refused = 0

        def start(self, *args, **kwargs):
            if self.started:
                self.refused += 1
                raise training.TrainingBusyError("Another training is running ('theirs', epoch 1 of 9).")
            return super().start(*args, **kwargs)

        def active(self):
            return FakeJob("theirs", threading.Event()) if self.started else None

    trainer = CrowdedTrainer()
    runner = experiments.ExperimentRunner(trainer)
    runner.start("b5-perceptron-vs-cnn")
    trainer.release.set()  # the first arm ends; the second waits for 'theirs'
    wait_for(lambda: trainer.refused, timeout=60, what="the second arm to be refused while 'theirs' trains")
    runner.stop()
    assert runner.join(10)
    assert [start[2] for start in trainer.started] == ["b5-perceptron"]


def test_runner_passes_on_a_busy_trainer():
    class BusyTrainer(FakeTrainer):
        def start(self, *args, **kwargs):
            raise training.TrainingBusyError("Another training is running ('mine', epoch 1 of 2).")

    runner = experiments.ExperimentRunner(BusyTrainer())
    with pytest.raises(training.TrainingBusyError, match="'mine'"):
        runner.start("b1-scaling")
    assert runner.running() is None
