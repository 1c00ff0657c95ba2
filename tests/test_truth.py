"""Every statement the app makes about a run is true for that run (issue 11).

The report is built for three stored runs of different kinds (a CNN, a perceptron, a run near chance) and every
number its prose quotes is traced back to the run store; then one test per false statement that was found.
"""

import dataclasses
import math
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnist_lab import evaluation, report, training
from mnist_lab.models import architectures, config, measured, optim, presets, used_settings
from mnist_lab.report.held_up import KERAS_DEFAULT_RATES
from mnist_lab.runs.store import RunStore
from mnist_lab.training import split_sizes
from tests.conftest import evidence_by_name, train_small_run

# Trains five kinds of run that go wrong (about 50 s) and builds every preset's network (about 10 s each).
pytestmark = pytest.mark.slow
NUMBER = re.compile(r"(?<![\w.#\\/-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(e-\d+)?(%?)(?![\w])")


@pytest.fixture(scope="module")
def store(trained_home, tmp_path_factory):
    """The two trained runs ("small fast", "small perceptron") and a third that stays near chance."""
    home = tmp_path_factory.mktemp("truth") / "home"
    shutil.copytree(trained_home, home)
    store = RunStore(home)
    # The Keras example with plain SGD at a learning rate far too small for it, for one epoch: it learns nothing.
    train_small_run(store, "near chance", "keras-classic", epochs=1, limit=1000, optimizer="sgd", learning_rate=1e-5)
    # The five kinds of run of issue 22, small: the default preset on enough images for its batch norm; the same on
    # 3,000 images, where it collapses on new images; plain SGD at 0.0001; a 3.2M-weight custom network that
    # overfits 1,000 images in 15 epochs; the default preset stopped in its second epoch.
    train_preset_run(store, "default preset", train_limit=10_000)
    train_preset_run(store, "preset on 3000", train_limit=3_000)
    train_preset_run(store, "sgd 0.0001", train_limit=2_000, optimizer="sgd", learning_rate=1e-4)
    big = config.ModelConfig(architecture="custom", conv_blocks=1, filters=32, dense_units=512, batch_norm=False,
                             dropout=0.0)
    train_job(store, "big custom", big, config.TrainConfig(epochs=15, train_limit=1_000, batch_size=64,
                                                          optimizer="adam", learning_rate=1e-3, schedule="constant"))
    train_preset_run(store, "stopped", train_limit=6_000, epochs=3, stop_after_epoch=1)
    return store


def train_preset_run(store, name, *, stop_after_epoch=None, **changes):
    """Train the default preset with ``changes`` to its training settings."""
    preset = presets.preset(config.ModelConfig().architecture)  # the preset the Train form offers first
    train_job(store, name, preset.model, config.replace(preset.train, **changes), stop_after_epoch=stop_after_epoch)


def train_job(store, name, model_config, train_config, *, stop_after_epoch=None):
    """Train a run in this thread, stopped by its own epoch listener after ``stop_after_epoch`` when given."""
    job = training.new_job(store, name, model_config, train_config)
    if stop_after_epoch is not None:
        threading.Thread(target=stop_in_epoch, args=(job, stop_after_epoch + 1), daemon=True).start()
    job.run()


def stop_in_epoch(job, epoch, batches=5):
    """Press Stop once the job has trained ``batches`` batches of ``epoch``."""
    while not job.done:
        progress = job.progress()
        if progress.epoch >= epoch and progress.batch >= batches:
            job.stop()
            return
        time.sleep(0.005)


@pytest.fixture(scope="module")
def evidence(store, mnist):
    """RunEvidence of every run, by name."""
    return evidence_by_name(store, mnist)


def build(mnist, facts, chosen):
    return report.build_report(mnist, chosen, facts=facts)


def prose(markdown: str) -> str:
    """The sentences of a Markdown report: no code, tables, question texts, headings, pictures or inline code."""
    kept, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and not line.startswith(("|", ">", "#")) and "](data:" not in line:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def tokens(text: str) -> list[str]:
    return ["".join(match.groups(default="")) for match in NUMBER.finditer(text)]


def flat_numbers(value) -> list[float]:
    """Every number in nested dicts and lists (booleans are not numbers here)."""
    if isinstance(value, dict):
        return [number for item in value.values() for number in flat_numbers(item)]
    if isinstance(value, (list, tuple)):
        return [number for item in value for number in flat_numbers(item)]
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return [float(value)] if np.isfinite(value) else []
    return []


def registry_tokens() -> set[str]:
    """Numbers the catalogue's texts quote (checked against the measured table below), which A2 quotes in turn."""
    texts = [choice.reason + choice.poor_when for registry in (architectures.ARCHITECTURES, optim.LOSSES,
                                                                  optim.OPTIMIZERS, optim.SCHEDULES)
             for choice in registry.values()]
    return {token for text in texts + [p.note for p in presets.PRESETS.values()] for token in tokens(text)}


def run_figures(chosen: report.RunEvidence, mnist) -> list[float]:
    """Every figure of the run the report may quote: stored ones, and what follows from them by arithmetic."""
    run, ev = chosen.run, chosen.evaluation
    s, per_class = ev.summary, ev.per_class
    layers = pd.DataFrame(architectures.summary_table(chosen.model.model))
    images, validation = split_sizes(len(mnist.y_train), config.from_dict(config.TrainConfig, run.train_config))
    missed = per_class["support"] - (per_class["recall"] * per_class["support"]).round()
    widths = [int(w) for shape in layers["output_shape"] for w in re.findall(r"\d+", shape)]
    out = layers.iloc[-1]
    units = int(re.findall(r"\d+", out["output_shape"])[-1])
    figures = [
        *flat_numbers(run.metrics), *flat_numbers(run.history), *flat_numbers(run.train_config),
        *flat_numbers(run.model_config), *flat_numbers(s), *per_class.select_dtypes("number").to_numpy().ravel(),
        *missed, *ev.confused_pairs["count"], *widths, *layers["params"], layers["params"].sum(),
        int(layers["type"].str.startswith("Conv").sum()), out["params"] // units - 1, images, validation,
        *chosen.scores[report.SAMPLE_INDEX], *np.argmax(chosen.scores[:3], axis=1),
        int((np.argmax(chosen.scores[: report.SHOWN_PREDICTIONS], axis=1)
             == mnist.y_test[: report.SHOWN_PREDICTIONS]).sum()),
        round((1 - s["accuracy"]) * s["n"]), round(s["accuracy"] * s["n"]), 1 / len(mnist.class_names),
    ]
    if s["train_accuracy"] is not None:  # the train-versus-test gap, in points, its noise and the error ratio
        gap = (s["train_accuracy"] - s["accuracy"]) * 100
        figures += [gap, -gap, evaluation.sampling_noise(s["train_accuracy"], s["train_images"], s["accuracy"], s["n"])]
        figures += [1 - s["accuracy"], 1 - s["train_accuracy"]]  # the error rates
        if s["train_accuracy"] < 1:
            figures.append((1 - s["accuracy"]) / (1 - s["train_accuracy"]))
    row = next((row for row in run.history if row.get("epoch") == ev.epoch), {})
    if row.get("val_accuracy") is not None:  # the log's training against validation accuracy, and that noise
        figures += [(row["accuracy"] - row["val_accuracy"]) * 100, (row["val_accuracy"] - row["accuracy"]) * 100,
                    2 * np.sqrt(row["val_accuracy"] * (1 - row["val_accuracy"]) / validation) * 100]
    timed = [r for r in run.history if r.get("train_seconds") is not None]
    full = [r for r in timed if not r.get("partial")]
    if full:
        figures += [full[-1]["train_seconds"] / len(full), len(full)]
    figures.append(math.ceil(images / run.train_config["batch_size"]))  # batches an epoch
    top_two = np.sort(chosen.scores[report.SAMPLE_INDEX])[-2:]
    figures.append(1 - top_two.sum())  # the share of the other classes beside the output layer's chart
    default = KERAS_DEFAULT_RATES.get(run.train_config.get("optimizer"))
    if default:  # the rate against Keras' default, in whichever direction
        figures += [default, run.train_config["learning_rate"] / default, default / run.train_config["learning_rate"]]
    return [float(value) for value in figures]


def quoted_truly(token: str, figures: list[float]) -> bool:
    """Whether the printed number ``token`` is one of ``figures`` as the report rounds it."""
    whole, decimals, exponent, percent = NUMBER.fullmatch(token).groups(default="")
    value = float(f"{whole.replace(',', '')}{decimals}{exponent}")
    scale = 100 if percent else 1
    if exponent:
        return any(abs(figure - value) <= 1e-9 * max(1.0, value) for figure in figures)
    tolerance = 0.5 * 10 ** -(len(decimals) - 1 if decimals else 0) + 1e-9
    return any(abs(figure * scale - value) <= tolerance for figure in figures)


KINDS_OF_RUN = ["small fast", "small perceptron", "near chance", "default preset", "preset on 3000", "sgd 0.0001",
                "big custom", "stopped"]


@pytest.mark.parametrize("name", KINDS_OF_RUN)
def test_every_number_the_report_quotes_is_the_runs_own(name, evidence, mnist, facts):
    chosen = evidence[name]
    document = prose(report.to_markdown(report.reading_copy(build(mnist, facts, chosen))))
    general = set(tokens(prose(report.to_markdown(report.reading_copy(report.build_report(mnist, facts=facts)))))) | registry_tokens()
    general |= set(mnist.class_names)  # "an 8 read as 9": class names, not figures
    figures = run_figures(chosen, mnist)
    untraced = [token for token in tokens(document) if token not in general and not quoted_truly(token, figures)]
    assert not untraced, f"numbers in the report of {name!r} that are not the run's: {untraced}"
    assert len(tokens(document)) > 100  # the check saw the answers, not an empty document


def test_the_near_chance_run_is_described_as_such(evidence, mnist, facts):
    chosen = evidence["near chance"]
    built = build(mnist, facts, chosen)
    assert chosen.evaluation.summary["accuracy"] < 0.3
    a4 = built.answer("a4").text
    assert "close to guessing (10%)" in a4 and "learning rate: 1e-05 is too small for sgd" in a4.lower()
    assert "it underfits" in built.answer("b6").text and "generalises well" not in built.answer("b6").text


def with_history(chosen, **last):
    """The run evidence with the evaluated epoch's log row changed."""
    history = [dict(row, **last) if row["epoch"] == chosen.evaluation.epoch else row for row in chosen.run.history]
    return dataclasses.replace(chosen, run=dataclasses.replace(chosen.run, history=history))


def test_b6_compares_the_logs_accuracies_in_the_direction_they_differ(evidence, mnist, facts):
    chosen = evidence["small fast"]
    above = build(mnist, facts, with_history(chosen, accuracy=0.9917, val_accuracy=0.9937)).answer("b6").text
    assert "training accuracy 99.17%, validation accuracy 99.37%: validation ahead by 0.20 points" in above
    assert "agrees" not in above and "running mean over the epoch" in above
    assert "validation images measure accuracy to about" in above  # the noise of a small validation set
    below = build(mnist, facts, with_history(chosen, accuracy=0.9950, val_accuracy=0.9900)).answer("b6").text
    assert "training ahead by 0.50 points, as usual" in below
    wider = build(mnist, facts, with_history(chosen, accuracy=0.9950, val_accuracy=0.9400)).answer("b6").text
    assert "training ahead by 5.50 points, more than the usual gap" in wider and "as usual" not in wider
    collapsed = build(mnist, facts, with_history(chosen, accuracy=0.8004, val_accuracy=0.3100)).answer("b6").text
    assert "training ahead by 49.04 points, far beyond the usual small gap" in collapsed
    assert "as usual" not in collapsed


def test_b6_names_dropout_and_augmentation_only_where_the_network_has_them(evidence, mnist, facts):
    with_dropout = build(mnist, facts, with_history(evidence["near chance"], accuracy=0.5, val_accuracy=0.6))
    assert "dropout switches off" in with_dropout.answer("b6").text.split("\n\n")[-1]  # the Keras example's Dropout
    without = build(mnist, facts, with_history(evidence["small fast"], accuracy=0.5, val_accuracy=0.6))
    log = without.answer("b6").text.split("\n\n")[-1]
    assert log.startswith("The training log of epoch") and "dropout" not in log and "shifted" not in log


def test_a2_quotes_the_runs_own_learning_rate_and_no_default_as_its_reason(evidence, mnist, facts):
    chosen = evidence["small fast"]
    train = dict(chosen.run.train_config, learning_rate=0.005, schedule="one_cycle")
    run = dataclasses.replace(chosen.run, train_config=train)
    a2 = build(mnist, facts, dataclasses.replace(chosen, run=run)).answer("a2").text
    assert "Adam** optimizer at a peak learning rate of 0.005" in a2
    assert "default learning rate 0.001 works well" not in a2
    seconds = chosen.run.history[-1]["train_seconds"]
    assert f"Its training took {seconds:.1f} s for 2 epochs ({seconds / 2:.1f} s per epoch)" in a2
    assert "batch size 64 instead of 128" in a2  # compared with the fast preset


def test_a4_names_the_weakest_classes_by_a_measure_that_differs_between_them(evidence, mnist, facts):
    chosen = evidence["small fast"]
    per_class = chosen.evaluation.per_class
    # A strong model: every AUC rounds to 1.0000, yet the classes differ in ranking errors and missed images.
    aucs = 1 - np.linspace(1.0, 0.1, 10) * 1e-4
    strong = per_class.assign(roc_auc=aucs, ranking_errors=evaluation.ranking_errors(aucs))
    summary = dict(chosen.evaluation.summary, roc_auc_macro=float(aucs.mean()))
    ev = dataclasses.replace(chosen.evaluation, per_class=strong, summary=summary)
    a4 = build(mnist, facts, dataclasses.replace(chosen, evaluation=ev)).answer("a4").text
    decimals = evaluation.auc_decimals([summary["roc_auc_macro"], *aucs])
    assert "1.0000" not in a4 and decimals > 4
    assert f"ROC AUC lies between {aucs.min():.{decimals}f} and {aucs.max():.{decimals}f}" in a4
    assert "the weakest digits are 0 (1.00), 1 (0.90) and 2 (0.80), the strongest 9 (0.10)" in a4
    recall = per_class.sort_values("recall").iloc[0]
    assert f"the weakest digits are {recall['class']} ({recall['recall']:.2%}: " in a4


def test_a4_tells_ties_for_what_they_are(evidence, mnist, facts):
    chosen = evidence["near chance"]
    per_class = chosen.evaluation.per_class.assign(recall=[0.0] * 9 + [1.0])
    ev = dataclasses.replace(chosen.evaluation, per_class=per_class)
    a4 = build(mnist, facts, dataclasses.replace(chosen, evaluation=ev)).answer("a4").text
    assert "Recall is 0.00% for 9 digits, 0, 1, 2, 3, 4, 5, 6, 7 and 8; the strongest is 9 (100.00%" in a4


def test_b5_says_the_apps_perceptron_is_a_multiclass_generalisation_and_relu_is_not_smooth(evidence, mnist, facts):
    b5 = build(mnist, facts, evidence["small perceptron"]).answer("b5").text
    assert "step function" in b5 and "multiclass generalisation" in b5 and "trained by gradient descent" in b5
    assert "smooth" not in b5 and "ReLU, which is differentiable everywhere except at 0" in b5
    assert "Run **small perceptron** is such a network" in b5


def test_b8_and_b9_say_whether_the_answer_is_right(evidence, mnist, facts):
    built = build(mnist, facts, evidence["near chance"])
    predicted = int(np.argmax(evidence["near chance"].scores[report.SAMPLE_INDEX]))
    truth = int(mnist.y_test[report.SAMPLE_INDEX])
    verdict = "right" if predicted == truth else f"wrong: it is a {truth}"
    assert f"so the predicted digit is {predicted} ({verdict})" in built.answer("b8").text
    last = [item.code for item in built.answer("b9").evidence if isinstance(item, report.Code)][-1]
    assert f"np.argmax gives {predicted} ({'right' if predicted == truth else f'wrong, the true label is {truth}'})" in last


#: Words that state a speed or a duration.
SPEED = re.compile(r"\d[\d.,-]*\s*(?:s|ms|seconds?|minutes?|min)\b|\d+\s*images/s", re.IGNORECASE)


def catalogue_texts() -> dict[str, str]:
    texts = {f"{name}.{key}": choice.reason + " " + choice.poor_when
             for name, registry in (("architecture", architectures.ARCHITECTURES), ("loss", optim.LOSSES),
                                    ("optimizer", optim.OPTIMIZERS), ("schedule", optim.SCHEDULES))
             for key, choice in registry.items()}
    return texts | {f"preset.{name}": chosen.note for name, chosen in presets.PRESETS.items()}


def test_catalogue_texts_state_no_speed_that_no_run_produced():
    claims = {name: SPEED.findall(text) for name, text in catalogue_texts().items() if SPEED.search(text)}
    assert not claims


def test_catalogue_accuracies_come_from_the_measured_table():
    measured_figures = {measured.percent(value) for figures in [*measured.PRESETS.values(),
                                                                *measured.CHOICE_RESULTS.values()]
                        for value in figures["test_accuracy"]}
    assert measured.MACHINE and measured.MEASURED_ON  # the table names the machine it was measured on
    for name, text in catalogue_texts().items():
        for token in re.findall(r"\d+(?:\.\d+)?%", text):
            cited = {"99.05%"}  # LeCun et al. (1998), quoted as the paper's figure
            settings = {"10%"}  # augmentation and validation settings, not results
            goals = {"99%", "99.0%", "99.4%"}  # thresholds: "passed 99% after epoch 8"
            assert token in measured_figures | cited | settings | goals, (name, token)


def test_the_measured_table_covers_every_preset_and_choice():
    assert set(measured.PRESETS) == set(presets.PRESETS)
    for name, chosen in presets.PRESETS.items():
        assert measured.epochs(name) == chosen.train.epochs, name
    assert set(measured.CHOICE_RESULTS) == {measured.choice_key(*choice) for choice in measured.CHOICES}


@pytest.mark.parametrize(("name", "params"), [("perceptron", "7,850"), ("mlp", "235,146"), ("keras-classic", "34,826"),
                                              ("deep", "331,306")])
def test_parameter_counts_in_the_catalogue_are_those_of_the_networks(name, params):
    chosen = presets.preset(name)
    _, count = architectures.describe(chosen.model)
    assert f"{count:,}" == params
    assert params in architectures.ARCHITECTURES[name].reason + chosen.note


def test_b5_texts_of_the_catalogue_describe_the_perceptron_as_softmax_regression():
    perceptron = architectures.ARCHITECTURES["perceptron"].reason
    assert "softmax regression" in perceptron and "gradient descent" in perceptron and "step function" in perceptron


def test_pages_number_the_questions_as_the_assignment_does():
    root = Path(__file__).resolve().parent.parent
    for path in [*root.glob("app_pages/*.py"), *root.glob("ui/*.py"), *root.glob("mnist_lab/**/*.py")]:
        found = re.findall(r"[Qq]uestions? \d", path.read_text(encoding="utf-8"))
        assert not found, f"{path.name}: {found} (name them A1-A4 and B1-B9)"


def test_a_one_epoch_run_says_epoch_in_the_singular(home):
    store = RunStore(home)
    job = training.new_job(store, "one", config.ModelConfig(architecture="perceptron"),
                           config.TrainConfig(epochs=1, train_limit=200, batch_size=50))
    job.run()
    assert store.get(job.run_id).message == "Finished 1 epoch."


def _structure(model_config):
    """The built network's layers and their settings, without the names Keras numbers."""
    import keras

    def unnamed(value):
        if isinstance(value, dict):
            return {key: unnamed(item) for key, item in value.items() if key != "name"}
        if isinstance(value, list):
            return [unnamed(item) for item in value]
        return value

    keras.backend.clear_session()
    model = architectures.build_model(model_config)
    return [(type(layer).__name__, unnamed(layer.get_config())) for layer in model.layers]


CHANGED = {"conv_blocks": 3, "filters": 16, "kernel_size": 5, "pooling": "avg", "batch_norm": False, "dropout": 0.4,
           "dense_units": 64, "activation": "tanh", "hidden_layers": (64, 32)}


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_the_card_lists_exactly_the_settings_the_built_network_uses(name):
    chosen = presets.preset(name).model
    listed = used_settings.network_settings(config.to_dict(chosen))
    base = _structure(chosen)
    for field, value in CHANGED.items():
        changed = _structure(config.replace(chosen, **{field: value})) != base
        assert changed == (field in listed), f"{name}: {field} {'changes' if changed else 'does not change'} the network"


def test_a_comparison_lists_only_settings_the_networks_have(home):
    fast, classic = presets.preset("fast"), presets.preset("keras-classic")
    runs = [RunStore(home).get(RunStore(home).create_run(name, config.to_dict(chosen.model),
                                                          config.to_dict(chosen.train), {}))
            for name, chosen in (("fast", fast), ("classic", classic))]
    differing = set(evaluation.hyperparameter_diff(runs).columns)
    assert "architecture" in differing
    assert not differing & {"dropout", "batch_norm", "dense_units", "kernel_size", "filters", "conv_blocks"}


def test_a_stopped_runs_time_is_not_called_a_time_per_epoch():
    from mnist_lab.report.answers_a import _timing

    history = [{"epoch": 1, "train_seconds": 4.4, "partial": False}, {"epoch": 2, "train_seconds": 8.7, "partial": True}]
    from mnist_lab.runs.store import STOPPED, Run

    run = Run("20260101-120000-abcdef", "r", 0.0, STOPPED, "", {}, {}, {}, {}, 2, history=history)
    assert _timing(run) == (" Its training took 8.7 s on the machine that trained it: 1 full epoch (4.4 s per full "
                            "epoch) and part of epoch 2, which ended early (stopped).")
    finished = Run("20260101-120000-abcdef", "r", 0.0, "finished", "", {}, {}, {}, {}, 1, history=history[:1])
    assert _timing(finished) == " Its training took 4.4 s for 1 epoch (4.4 s per epoch) on the machine that trained it."


def test_the_five_kinds_of_run_went_as_issue_22_describes_them(store):
    runs = {run.name: store.get(run.id) for run in store.list_runs()}
    assert runs["stopped"].status == "stopped" and runs["stopped"].history[-1].get("partial")
    assert runs["stopped"].history[-1]["epoch"] == 2
    assert training.diagnosis.diagnose(runs["sgd 0.0001"]) is not None
    assert training.diagnosis.generalisation(runs["preset on 3000"]).summary.startswith("It learned its training")
    assert training.diagnosis.generalisation(runs["big custom"]).summary.startswith("Overfitting")
    assert training.diagnosis.generalisation(runs["default preset"]) is None
    assert training.diagnosis.diagnose(runs["default preset"]) is None


def test_a2_says_how_each_runs_choices_held_up_from_its_own_log(evidence, mnist, facts):
    for name in KINDS_OF_RUN:
        chosen = evidence[name]
        run = chosen.run
        a2 = build(mnist, facts, chosen).answer("a2").text
        failed, fragile = training.diagnosis.diagnose(run), training.diagnosis.generalisation(run)
        assert ("the choices failed" in a2) == (failed is not None), name
        assert ("did not carry over to new images" in a2) == (failed is None and fragile is not None), name
        assert ("In this run they reached" in a2) == (failed is None and fragile is None), name
        if fragile is not None and failed is None:
            assert fragile.summary in a2
        rate, default = run.train_config["learning_rate"], KERAS_DEFAULT_RATES[run.train_config["optimizer"]]
        direction = "is Keras' default" if rate == default else ("times Keras' default" if rate > default
                                                                  else "of Keras' default")
        assert direction in a2, name
        assert ("never had its low-rate phase" in a2) == (name == "stopped"), name


def test_the_overfitting_run_names_the_epoch_of_its_lowest_validation_loss(evidence, mnist, facts):
    run = evidence["big custom"].run
    best = min(run.history, key=lambda row: row["val_loss"])
    a2 = build(mnist, facts, evidence["big custom"]).answer("a2").text
    assert f"the validation loss was lowest after epoch {best['epoch']} ({best['val_loss']:.4f})" in a2
    assert "this run trained" not in a2  # a 15-epoch run is not flagged as too short for any choice


def test_the_sgd_run_is_said_to_have_too_small_a_rate_in_a2_and_a4_alike(evidence, mnist, facts):
    built = build(mnist, facts, evidence["sgd 0.0001"])
    for question in ("a2", "a4"):
        assert "0.0001 is too small for SGD" in built.answer(question).text, question
    assert "too short to tell" not in built.answer("a4").text


def test_b6_never_calls_a_collapse_usual(evidence, mnist, facts):
    for name in KINDS_OF_RUN:
        chosen = evidence[name]
        row = next(row for row in chosen.run.history if row["epoch"] == chosen.evaluation.epoch)
        b6 = build(mnist, facts, chosen).answer("b6").text
        if row.get("val_accuracy") is None:
            assert "training ahead by" not in b6 and "validation ahead by" not in b6, name
            continue
        points = (row["accuracy"] - row["val_accuracy"]) * 100
        if abs(points) >= 0.005:
            assert ("training ahead by" in b6) == (points > 0), name
            assert ("validation ahead by" in b6) == (points < 0), name
        assert ("as usual" in b6) == (0 < points <= 2), name


def test_b6_calls_a_collapse_a_collapse_and_a_run_near_chance_underfitting(evidence, mnist, facts):
    collapsed = build(mnist, facts, evidence["preset on 3000"]).answer("b6").text
    assert "a collapse, not underfitting" in collapsed and "it underfits" not in collapsed
    assert "A2 says why, and what to try" in collapsed
    near = build(mnist, facts, evidence["sgd 0.0001"]).answer("b6").text
    assert "it underfits" in near and "collapse" not in near
