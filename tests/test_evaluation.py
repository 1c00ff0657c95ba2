"""Evaluation of stored runs against scikit-learn, its storage with the run, comparison of runs, and its charts."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, recall_score, roc_auc_score

from mnist_lab import charts, evaluation, training
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs.store import DIVERGED, Run, RunStore


@pytest.fixture(scope="module")
def store(trained_home, tmp_path_factory):
    """A private copy of the two trained runs: evaluating writes scores and metrics into it."""
    home = tmp_path_factory.mktemp("evaluation") / "home"
    shutil.copytree(trained_home, home)
    return RunStore(home)


@pytest.fixture(scope="module")
def runs(store):
    return {run.name: store.get(run.id) for run in store.list_runs()}


def loader(store, run):
    return lambda: inference.RunModel.load(store, run)


@pytest.fixture(scope="module")
def evaluations(store, runs):
    return {name: evaluation.evaluate_run(store, run, loader(store, run)) for name, run in runs.items()}


def test_figures_match_scikit_learn(store, runs, evaluations, mnist):
    run, ev = runs["small fast"], evaluations["small fast"]
    scores = store.load_array(run.id, f"test_scores_epoch{run.saved_epochs}")
    predicted = scores.argmax(axis=1)
    assert ev.summary["n"] == 10_000
    assert ev.summary["accuracy"] == pytest.approx(accuracy_score(mnist.y_test, predicted))
    np.testing.assert_allclose(ev.per_class["recall"], recall_score(mnist.y_test, predicted, average=None))
    auc_of_3 = roc_auc_score(mnist.y_test == 3, scores[:, 3])
    assert ev.per_class.set_index("class").loc["3", "roc_auc"] == pytest.approx(auc_of_3)
    assert ev.roc.loc[ev.roc["class"] == "3", "auc"].iloc[0] == pytest.approx(auc_of_3)
    counts = ev.confusion.pivot(index="true", columns="predicted", values="count").to_numpy()
    np.testing.assert_array_equal(counts, confusion_matrix(mnist.y_test, predicted))
    np.testing.assert_array_equal(ev.predicted, predicted)
    np.testing.assert_allclose(ev.confidence, scores.max(axis=1))
    top = ev.confused_pairs.iloc[0]
    off_diagonal = counts - np.diag(np.diag(counts))
    assert top["count"] == off_diagonal.max() == counts[int(top["true"]), int(top["predicted"])]


def test_curves_are_thinned_and_cover_every_class_and_both_averages(evaluations):
    ev = evaluations["small perceptron"]
    assert set(ev.roc["class"]) == {*map(str, range(10)), "micro", "macro"}
    assert set(ev.pr["class"]) == {*map(str, range(10)), "micro"}
    assert ev.roc.groupby("class").size().max() <= evaluation.CURVE_POINTS
    assert ev.pr.groupby("class").size().max() <= evaluation.CURVE_POINTS


def test_train_accuracy_is_measured_on_the_runs_own_training_images(store, runs, evaluations, mnist):
    run, summary = runs["small fast"], evaluations["small fast"].summary
    split = training.split_data(mnist, config.from_dict(config.TrainConfig, run.train_config))
    assert summary["train_images"] == len(split.y_train) == 1800  # 2,000 images less the 10% validation share
    scores = inference.RunModel.load(store, run).predict_images(split.x_train[..., 0])
    assert summary["train_accuracy"] == pytest.approx(np.mean(scores.argmax(axis=1) == split.y_train))
    assert summary["accuracy_gap"] == pytest.approx(summary["train_accuracy"] - summary["accuracy"])


def test_figures_are_stored_with_the_run_as_json(store, runs, evaluations):
    run, ev = runs["small fast"], evaluations["small fast"]
    stored = store.get(run.id).metrics["test"]
    assert stored["epoch"] == run.saved_epochs
    assert stored["accuracy"] == pytest.approx(ev.summary["accuracy"])
    assert stored["per_class"]["recall"]["5"] == pytest.approx(ev.per_class.set_index("class").loc["5", "recall"])
    assert store.get(run.id).metrics["accuracy"] == run.metrics["accuracy"]  # training figures are kept
    json.dumps(stored, allow_nan=False)


def test_reopening_reads_everything_back_without_the_model(store, runs, evaluations):
    def no_model():
        raise AssertionError("the stored evaluation must not load the model")

    for name, run in runs.items():
        again = evaluation.evaluate_run(store, run, no_model)
        first = evaluations[name]
        assert again.summary == first.summary
        for frame in ("per_class", "roc", "pr", "confusion", "confused_pairs"):
            pd.testing.assert_frame_equal(getattr(again, frame), getattr(first, frame), check_dtype=False)


def test_missing_or_damaged_model_raises_a_clear_error(trained_home, tmp_path):
    shutil.copytree(trained_home, tmp_path / "home")
    store = RunStore(tmp_path / "home")
    missing, damaged = store.list_runs()
    store.model_path(missing.id).unlink()
    store.model_path(damaged.id).write_bytes(b"not a keras file")
    for run, words in ((missing, "missing"), (damaged, "damaged")):
        store.drop_arrays(run.id)
        with pytest.raises(inference.ModelUnavailableError, match=words):
            evaluation.evaluate_run(store, run, loader(store, run))


def test_a_run_without_a_saved_epoch_cannot_be_evaluated(home):
    store = RunStore(home)
    run_id = store.create_run("exploded", {}, {}, {})
    store.finish(run_id, DIVERGED, message="Training diverged.")
    with pytest.raises(inference.ModelUnavailableError, match="no saved model"):
        evaluation.evaluate_run(store, store.get(run_id), lambda: pytest.fail("there is no model to load"))


def test_cell_examples_are_the_cells_images_most_confident_first(evaluations, mnist):
    ev = evaluations["small perceptron"]
    counts = ev.confusion.set_index(["true", "predicted"])["count"]
    cell = evaluation.cell_examples(ev, mnist, "4", "9", limit=5)
    assert cell.total == counts[("4", "9")] > 5
    assert len(cell.images) == len(cell.indices) == 5
    assert (mnist.y_test[cell.indices] == 4).all() and (ev.predicted[cell.indices] == 9).all()
    np.testing.assert_array_equal(cell.images, mnist.x_test[cell.indices])
    assert (np.diff(ev.confidence[cell.indices]) <= 0).all()
    with pytest.raises(ValueError, match="classes must be among"):
        evaluation.cell_examples(ev, mnist, "4", "x")


@pytest.mark.parametrize(
    ("train", "test", "words"),
    [(None, 0.9, "cannot be rebuilt"),
     (0.95, 0.97, "test accuracy is 2.0 percentage points higher than the training accuracy, more than the sampling "
                  "noise"),
     (0.98, 0.985, "within the sampling noise"), (0.99, 0.985, "no sign of overfitting"),
     (0.99, 0.98, "a small gap"), (0.99, 0.90, "10.0 times as many errors"),
     (1.0, 0.90, "every one of its training images right but 10.0% of the new images wrong"),
     (0.82, 0.796, "underfitting"), (0.111, 0.108, "it underfits")],
)
def test_gap_explanation_is_built_from_the_comparison(train, test, words):
    summary = {"train_accuracy": train, "accuracy": test, "n": 10_000, "train_images": 2000}
    text = evaluation.gap_explanation(summary)
    assert words in text
    if train is not None:
        assert "fitted to exactly those images" in text
    if train is not None and test > train:  # underfitting lowers both figures: it cannot lift test above train
        assert "underfit" not in text
    if train is not None and train < 0.55:  # a model near chance does not "generalise well"
        assert "generalises well" not in text and "overfitting" not in text


def test_gap_explanation_gives_the_sampling_noise_of_the_two_measurements():
    summary = {"train_accuracy": 0.98, "accuracy": 0.985, "n": 10_000, "train_images": 2000}
    noise = 2 * np.sqrt(0.98 * 0.02 / 2000 + 0.985 * 0.015 / 10_000) * 100
    assert f"about ±{noise:.1f} points for 2,000 training and 10,000 test images" in evaluation.gap_explanation(summary)


def make_run(run_id, name, model_config, train_config):
    return Run(run_id, name, 0.0, "finished", "", model_config, train_config, {}, {}, 1)


def test_hyperparameter_diff_keeps_only_what_differs():
    mlp = {"architecture": "mlp"}
    runs = [
        make_run("20260101-000000-aaaaaa", "a", {**mlp, "hidden_layers": [128]}, {"epochs": 2, "seed": 0}),
        make_run("20260101-000000-bbbbbb", "a", {**mlp, "hidden_layers": [256, 64]}, {"seed": 1, "epochs": 2}),
        make_run("20260101-000000-cccccc", "c", {**mlp, "hidden_layers": [128]}, {"epochs": 2}),
    ]
    table = evaluation.hyperparameter_diff(runs)
    assert list(table.columns) == ["hidden_layers", "seed"]
    assert list(table.index) == ["a (aaaaaa)", "a (bbbbbb)", "c"]
    assert table["hidden_layers"].tolist() == ["128", "256, 64", "128"]
    assert table["seed"].tolist()[:2] == [0, 1] and pd.isna(table["seed"].iloc[2])


def test_a_setting_in_both_configs_is_named_by_its_section():
    runs = [make_run("20260101-000000-aaaaaa", "a", {"seed": 1}, {"seed": 1}),
            make_run("20260101-000000-bbbbbb", "b", {"seed": 1}, {"seed": 2})]
    assert list(evaluation.hyperparameter_diff(runs).columns) == ["train.seed"]


def test_compare_puts_the_runs_side_by_side(runs, evaluations):
    names = ["small fast", "small perceptron"]
    comparison = evaluation.compare([runs[n] for n in names], [evaluations[n] for n in names])
    assert len(comparison.per_class) == 2 * 10 * len(evaluation.COMPARED)
    recall = comparison.per_class.query("metric == 'recall' and run == 'small fast'")["value"].to_numpy()
    np.testing.assert_allclose(recall, evaluations["small fast"].per_class["recall"])
    assert set(comparison.roc["run"]) == set(names) == set(comparison.history["run"])
    table = comparison.table
    assert table.loc["small fast", "architecture"] == "fast"
    assert table.loc["small perceptron", "architecture"] == "perceptron"
    assert table.loc["small fast", "test accuracy"] == evaluations["small fast"].summary["accuracy"]
    with pytest.raises(ValueError, match="one evaluation per run"):
        evaluation.compare([runs[n] for n in names], [evaluations[n] for n in reversed(names)])


def spec(chart):
    return json.dumps(chart.to_dict())


def layer_rows(chart: dict, layer: int) -> pd.DataFrame:
    """The data rows of one layer of a chart's dict (Altair keeps inline data in the top-level datasets)."""
    data = chart["layer"][layer].get("data", chart.get("data"))
    return pd.DataFrame(data["values"] if "values" in data else chart["datasets"][data["name"]])


def test_confusion_heatmap_is_clickable_and_outlines_the_chosen_cell(evaluations):
    frame = evaluations["small fast"].confusion
    chart = charts.confusion_heatmap(frame, chosen=("4", "9")).to_dict()
    (param,) = chart["params"]
    assert param["name"] == charts.CELL and param["select"]["fields"] == ["true", "predicted"]
    assert param["views"] == [chart["layer"][0]["name"]]  # the cells, not the numbers written on them
    assert len(chart["layer"]) == 3
    assert chart["layer"][2]["transform"] == [{"filter": "((datum.true === '4') && (datum.predicted === '9'))"}]
    assert '"row_share"' in spec(charts.confusion_heatmap(frame, normalized=True))


def test_roc_chart_shows_the_chosen_curves_with_their_auc(evaluations):
    ev = evaluations["small fast"]
    classes = [str(d) for d in range(10)]
    text = spec(charts.roc_chart(ev.roc, classes, ["3", "macro"]))
    aucs = ev.per_class.set_index("class")["roc_auc"]
    decimals = evaluation.auc_decimals([aucs["3"], ev.roc.loc[ev.roc["class"] == "macro", "auc"].iloc[0]])
    assert f"3 \\u00b7 AUC {aucs['3']:.{decimals}f}" in text and "macro-average \\u00b7 AUC" in text
    assert "5 \\u00b7 AUC" not in text and "micro-average" not in text
    zoomed = charts.roc_chart(ev.roc, classes, ["3"], axis="corner").to_dict()
    assert zoomed["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, charts.ZOOM_FPR]
    assert zoomed["layer"][1]["encoding"]["y"]["scale"]["domain"][0] > 0


def test_the_default_roc_chart_has_a_logarithmic_false_positive_rate_axis(evaluations):
    ev = evaluations["small fast"]
    chart = charts.roc_chart(ev.roc, [str(d) for d in range(10)], ["3", "8"]).to_dict()
    x = chart["layer"][1]["encoding"]["x"]
    low, high = x["scale"]["domain"]
    assert x["scale"]["type"] == "log" and "logarithmic" in x["title"]
    smallest = ev.roc.loc[ev.roc["class"].isin(["3", "8"]) & (ev.roc["fpr"] > 0), "fpr"].min()
    assert 0 < low <= smallest < low * 10 and high == 1  # from the power of ten below the first false positive
    assert layer_rows(chart, 1)["fpr"].min() > 0  # FPR 0 cannot be drawn on a log axis
    assert charts.compare_roc(ev.roc.assign(run="a"), "3").to_dict()["layer"][1]["encoding"]["x"]["scale"]["type"] == "log"


def test_auc_gets_the_decimals_that_tell_classes_apart():
    assert evaluation.auc_decimals([0.9991, 0.9992, 0.5]) == 4
    assert evaluation.auc_decimals([0.99991, 0.99992]) == 5
    assert evaluation.auc_decimals([0.95, 0.96]) == 3
    assert evaluation.auc_decimals([0.99996]) == 5  # never shown as 1.0000 when it is not 1
    assert evaluation.auc_decimals([float("nan"), 0.97]) == 3
    assert evaluation.ranking_errors(0.99985) == pytest.approx(1.5)


def test_ranking_errors_are_one_minus_auc_per_10000_pairs(evaluations, store, runs):
    ev = evaluations["small fast"]
    np.testing.assert_allclose(ev.per_class["ranking_errors"], (1 - ev.per_class["roc_auc"]) * 10_000)
    assert ev.summary["ranking_errors_macro"] == pytest.approx((1 - ev.summary["roc_auc_macro"]) * 10_000)
    stored = store.get(runs["small fast"].id).metrics["test"]["per_class"]["ranking_errors"]
    assert stored["3"] == pytest.approx(ev.per_class.set_index("class").loc["3", "ranking_errors"])


def test_comparison_charts_build(runs, evaluations):
    names = ["small fast", "small perceptron"]
    comparison = evaluation.compare([runs[n] for n in names], [evaluations[n] for n in names])
    assert "Recall per class" in spec(charts.compare_bars(comparison.per_class, "recall"))
    assert "ROC of class micro" in spec(charts.compare_roc(comparison.roc, "micro", axis="corner"))
    assert "overall accuracy" in spec(charts.recall_bars(evaluations["small fast"].per_class, accuracy=0.9))
    assert "fewer is better" in spec(charts.ranking_error_bars(evaluations["small fast"].per_class))


def test_comparison_axes_come_from_the_data_or_show_differences_to_a_baseline(runs, evaluations):
    names = ["small fast", "small perceptron"]
    comparison = evaluation.compare([runs[n] for n in names], [evaluations[n] for n in names])
    auc = comparison.per_class[comparison.per_class["metric"] == "ROC AUC"]
    low, high = charts.compare_bars(comparison.per_class, "ROC AUC").to_dict()["encoding"]["y"]["scale"]["domain"]
    assert auc["value"].min() - 0.01 < low < auc["value"].min() and auc["value"].max() <= high <= 1
    errors = evaluation.RANKING_ERRORS
    difference = charts.compare_bars(comparison.per_class, errors, baseline="small fast").to_dict()
    rows = layer_rows(difference, 0)
    assert set(rows["run"]) == {"small perceptron"}
    per_class = {name: evaluations[name].per_class.set_index("class")["ranking_errors"] for name in names}
    np.testing.assert_allclose(rows.set_index("class")["difference"],
                               (per_class["small perceptron"] - per_class["small fast"])[rows["class"]])


def test_recall_labels_get_room_in_the_exported_chart(evaluations):
    chart = charts.recall_bars(evaluations["small fast"].per_class, accuracy=0.9).to_dict()
    assert chart["width"] == {"step": charts.evaluation.BAND} and charts.evaluation.BAND >= 40


def test_a_model_that_learned_in_training_but_not_as_finished_model_is_a_collapse_not_underfitting():
    summary = {"accuracy": 0.2589, "n": 10_000, "train_accuracy": 0.27, "train_images": 2_000}
    collapsed = evaluation.gap_explanation(summary, logged_train_accuracy=0.8004)
    assert "its training log recorded 80.0% while it trained" in collapsed and "a collapse, not underfitting" in collapsed
    assert "it underfits" not in collapsed
    for logged in (None, 0.30):  # no log, or a log that learned nothing either: underfitting
        assert "it underfits" in evaluation.gap_explanation(summary, logged_train_accuracy=logged)
