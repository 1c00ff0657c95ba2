"""Tests for mnist_lab.evaluation.metrics and .confusion: every figure must equal scikit-learn's for the same inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from mnist_lab.evaluation import confusion, curves, metrics
from mnist_lab.evaluation.metrics import MetricsInputError

# Any warning not expected by a test (sklearn's zero-division or sum-to-one warnings included) fails it.
pytestmark = pytest.mark.filterwarnings("error")

K = 10
SEEDS = [0, 1, 2, 3]


def softmax_scores(seed: int, n: int = 500, k: int = K, signal: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Random labels and softmax probabilities of random logits that favour the true class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += signal
    probabilities = np.exp(logits)
    return y, probabilities / probabilities.sum(axis=1, keepdims=True)


def onehot(y: np.ndarray, k: int = K) -> np.ndarray:
    """One-hot rows of the labels ``y``."""
    return np.eye(k)[y]


def sklearn_per_class(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """The per-class table computed straight from scikit-learn."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y, score.argmax(axis=1), labels=range(K), zero_division=0.0
    )
    return pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "roc_auc": [
                roc_auc_score(y == c, score[:, c]) if 0 < np.sum(y == c) < len(y) else np.nan for c in range(K)
            ],
            "average_precision": [
                average_precision_score(y == c, score[:, c]) if np.any(y == c) else np.nan for c in range(K)
            ],
        },
        index=pd.Index(range(K), name="class"),
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_per_class_report_equals_sklearn(seed):
    y, p = softmax_scores(seed)
    report = metrics.per_class_report(y, p)
    assert list(report.columns) == ["precision", "recall", "f1", "support", "roc_auc", "average_precision"]
    pd.testing.assert_frame_equal(report, sklearn_per_class(y, p), check_dtype=False, check_index_type=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_summary_equals_sklearn(seed):
    y, p = softmax_scores(seed)
    result = metrics.summary(y, p)
    predicted = p.argmax(axis=1)
    expected = {
        "n": len(y),
        "accuracy": accuracy_score(y, predicted),
        "log_loss": log_loss(y, p, labels=range(K)),
        "roc_auc_macro": roc_auc_score(y, p, multi_class="ovr", average="macro"),
    }
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(y, predicted, average=average)
        expected |= {f"precision_{average}": precision, f"recall_{average}": recall, f"f1_{average}": f1}
    assert result.keys() == expected.keys()
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-12), key


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_curves_per_class_and_micro_equal_sklearn(seed):
    y, p = softmax_scores(seed)
    curves = metrics.roc_curves(y, p)
    assert list(curves.columns) == ["class", "fpr", "tpr", "threshold", "auc"]
    assert sorted(curves["class"].unique()) == sorted([str(c) for c in range(K)] + ["micro", "macro"])
    expected = {str(c): (y == c, p[:, c]) for c in range(K)} | {"micro": (onehot(y).ravel(), p.ravel())}
    for name, (truth, score) in expected.items():
        curve = curves[curves["class"] == name]
        fpr, tpr, threshold = roc_curve(truth, score, drop_intermediate=True)
        np.testing.assert_array_equal(curve["fpr"], fpr)
        np.testing.assert_array_equal(curve["tpr"], tpr)
        np.testing.assert_array_equal(curve["threshold"], threshold)
        assert curve["auc"].nunique() == 1
        assert curve["auc"].iloc[0] == pytest.approx(roc_auc_score(truth, score), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_macro_roc_is_mean_tpr_on_union_of_fprs(seed):
    y, p = softmax_scores(seed)
    macro = metrics.roc_curves(y, p).query("`class` == 'macro'")
    # scikit-learn's documented recipe (plot_roc example).
    per_class = [roc_curve(y == c, p[:, c]) for c in range(K)]
    grid = np.unique(np.concatenate([fpr for fpr, _, _ in per_class]))
    mean_tpr = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr, _ in per_class], axis=0)
    assert macro["auc"].iloc[0] == pytest.approx(auc(grid, mean_tpr), rel=1e-12)
    assert macro["threshold"].isna().all()
    assert (macro["fpr"].iloc[0], macro["tpr"].iloc[0]) == (0.0, 0.0)
    assert (macro["fpr"].iloc[-1], macro["tpr"].iloc[-1]) == pytest.approx((1.0, 1.0))
    assert (np.diff(macro["fpr"]) >= 0).all() and (np.diff(macro["tpr"]) >= -1e-12).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_pr_curves_equal_sklearn(seed):
    y, p = softmax_scores(seed)
    curves = metrics.pr_curves(y, p)
    assert list(curves.columns) == ["class", "recall", "precision", "threshold", "average_precision"]
    expected = {str(c): (y == c, p[:, c]) for c in range(K)} | {"micro": (onehot(y).ravel(), p.ravel())}
    assert sorted(curves["class"].unique()) == sorted(expected)
    for name, (truth, score) in expected.items():
        curve = curves[curves["class"] == name]
        precision, recall, threshold = precision_recall_curve(truth, score, drop_intermediate=True)
        np.testing.assert_array_equal(curve["precision"], precision)
        np.testing.assert_array_equal(curve["recall"], recall)
        np.testing.assert_array_equal(curve["threshold"].iloc[:-1], threshold)
        assert np.isnan(curve["threshold"].iloc[-1])
        assert curve["average_precision"].iloc[0] == pytest.approx(average_precision_score(truth, score), rel=1e-12)
    micro_ap = curves.query("`class` == 'micro'")["average_precision"].iloc[0]
    assert micro_ap == pytest.approx(average_precision_score(onehot(y), p, average="micro"), rel=1e-12)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_confusion_equals_sklearn(seed, normalize):
    y, p = softmax_scores(seed)
    predicted = p.argmax(axis=1)
    expected = confusion_matrix(y, predicted, labels=range(K), normalize=normalize)
    np.testing.assert_array_equal(confusion.confusion(y, predicted, labels=range(K), normalize=normalize), expected)


def test_confusion_defaults_to_labels_seen_like_sklearn():
    y_true, y_pred = [2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]
    np.testing.assert_array_equal(confusion.confusion(y_true, y_pred), [[2, 0, 0], [0, 0, 1], [1, 0, 2]])


def test_perfect_predictions():
    y = np.tile(np.arange(K), 20)
    p = onehot(y)
    report = metrics.per_class_report(y, p)
    assert (report[["precision", "recall", "f1", "roc_auc", "average_precision"]] == 1.0).all().all()
    result = metrics.summary(y, p)
    assert result["accuracy"] == 1.0 and result["f1_macro"] == 1.0 and result["roc_auc_macro"] == 1.0
    assert result["log_loss"] == pytest.approx(log_loss(y, p), abs=1e-15)
    assert result["log_loss"] < 1e-12
    cm = confusion.confusion(y, p.argmax(axis=1))
    assert confusion.most_confused_pairs(cm).empty
    assert metrics.roc_curves(y, p).groupby("class")["auc"].first().eq(1.0).all()


def test_all_wrong_predictions():
    y = np.tile(np.arange(K), 20)
    # The true class gets probability 0 (ranked below every other sample), the next class 0.6.
    p = np.full((len(y), K), 0.05)
    p[np.arange(len(y)), y] = 0.0
    p[np.arange(len(y)), (y + 1) % K] = 0.6
    report = metrics.per_class_report(y, p)
    pd.testing.assert_frame_equal(report, sklearn_per_class(y, p), check_dtype=False, check_index_type=False)
    assert (report[["precision", "recall", "f1", "roc_auc"]] == 0.0).all().all()
    result = metrics.summary(y, p)
    assert result["accuracy"] == 0.0 and result["precision_macro"] == 0.0 and result["recall_weighted"] == 0.0
    # Probability 0 for the true class is clipped to machine epsilon, as scikit-learn does.
    assert result["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-12)
    assert result["log_loss"] == pytest.approx(-np.log(np.finfo(np.float64).eps))
    pairs = confusion.most_confused_pairs(confusion.confusion(y, p.argmax(axis=1)), top=3)
    assert pairs.to_dict("list") == {"true": [0, 1, 2], "predicted": [1, 2, 3], "count": [20, 20, 20]}


def test_class_absent_from_y_true_gives_nan_and_a_warning():
    y, p = softmax_scores(0)
    y[y == 3] = 4
    with pytest.warns(UndefinedMetricWarning, match="class 3"):
        report = metrics.per_class_report(y, p)
    assert np.isnan(report.loc[3, "roc_auc"]) and np.isnan(report.loc[3, "average_precision"])
    assert report.loc[3, "support"] == 0
    pd.testing.assert_frame_equal(report, sklearn_per_class(y, p), check_dtype=False, check_index_type=False)
    present = [c for c in range(K) if c != 3]

    with pytest.warns(UndefinedMetricWarning, match="class 3"):
        result = metrics.summary(y, p)
    assert result["roc_auc_macro"] == pytest.approx(np.mean(report.loc[present, "roc_auc"]), rel=1e-12)
    assert result["log_loss"] == pytest.approx(log_loss(y, p, labels=range(K)), rel=1e-12)

    with pytest.warns(UndefinedMetricWarning, match="class 3"):
        roc = metrics.roc_curves(y, p)
    assert "3" not in set(roc["class"]) and {"micro", "macro"} <= set(roc["class"])
    assert roc.notna().drop(columns="threshold").all().all()
    with pytest.warns(UndefinedMetricWarning, match="class 3"):
        pr = metrics.pr_curves(y, p)
    assert "3" not in set(pr["class"])


def test_single_class_in_y_true_has_undefined_auc_but_defined_average_precision():
    _, p = softmax_scores(1, n=50)
    y = np.full(50, 7)
    with pytest.warns(UndefinedMetricWarning) as caught:
        report = metrics.per_class_report(y, p)
    assert any("class 7" in str(w.message) and "only class" in str(w.message) for w in caught)
    assert report["roc_auc"].isna().all()
    assert report.loc[7, "average_precision"] == 1.0
    assert report.drop(index=7)["average_precision"].isna().all()
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(metrics.summary(y, p)["roc_auc_macro"])
    with pytest.warns(UndefinedMetricWarning):
        assert set(metrics.roc_curves(y, p)["class"]) == {"micro"}


def test_scores_that_do_not_sum_to_one():
    y, p = softmax_scores(2)
    rng = np.random.default_rng(2)
    logits = np.log(p) + rng.normal(scale=0.5, size=p.shape)
    report = metrics.per_class_report(y, logits)
    pd.testing.assert_frame_equal(report, sklearn_per_class(y, logits), check_dtype=False, check_index_type=False)
    # Scaling every score keeps every ranking, so every figure but log loss stays the same.
    pd.testing.assert_frame_equal(metrics.per_class_report(y, 3 * p), metrics.per_class_report(y, p))
    with pytest.warns(UndefinedMetricWarning, match="not probabilities"):
        result = metrics.summary(y, logits)
    assert np.isnan(result["log_loss"])
    assert result["roc_auc_macro"] == pytest.approx(report["roc_auc"].mean(), rel=1e-12)
    assert result["accuracy"] == accuracy_score(y, logits.argmax(axis=1))


def test_float32_probabilities_give_sklearn_log_loss():
    y, p = softmax_scores(3)
    p32 = p.astype(np.float32)
    assert metrics.summary(y, p32)["log_loss"] == pytest.approx(log_loss(y, p32, labels=range(K)), rel=1e-6)


def test_integer_scores_and_uint8_labels_are_accepted():
    y, p = softmax_scores(0)
    votes = np.round(p * 100).astype(np.int64)
    report = metrics.per_class_report(y.astype(np.uint8), votes)
    pd.testing.assert_frame_equal(report, sklearn_per_class(y, votes), check_dtype=False, check_index_type=False)


def test_string_labels_name_rows_and_curves():
    y, p = softmax_scores(1)
    names = np.array(list("abcdefghij"))
    report = metrics.per_class_report(names[y], p, labels=names)
    assert list(report.index) == list(names)
    np.testing.assert_array_equal(report["roc_auc"], sklearn_per_class(y, p)["roc_auc"])
    assert set(metrics.roc_curves(names[y], p, labels=names)["class"]) == set(names) | {"micro", "macro"}


@pytest.mark.parametrize("max_points", [2, 5, 40])
def test_max_points_thins_each_curve_keeping_ends_and_shape(max_points):
    y, p = softmax_scores(0, n=500)
    full = metrics.roc_curves(y, p)
    thin = metrics.roc_curves(y, p, max_points=max_points)
    for name, curve in thin.groupby("class"):
        whole = full[full["class"] == name]
        assert 2 <= len(curve) <= max_points
        ends, whole_ends = curve.iloc[[0, -1]], whole.iloc[[0, -1]]
        pd.testing.assert_frame_equal(ends.reset_index(drop=True), whole_ends.reset_index(drop=True))
        # Thinning keeps points of the curve: every kept point is one of the original points.
        kept = set(zip(curve["fpr"], curve["tpr"]))
        assert kept <= set(zip(whole["fpr"], whole["tpr"]))
        assert (curve["auc"] == whole["auc"].iloc[0]).all()
        if max_points == 40:
            assert auc(curve["fpr"], curve["tpr"]) == pytest.approx(whole["auc"].iloc[0], abs=0.01)
    pr = metrics.pr_curves(y, p, max_points=max_points)
    assert pr.groupby("class").size().max() <= max_points


def test_thinning_keeps_the_steps_a_logarithmic_false_positive_rate_axis_shows():
    y, p = softmax_scores(2, n=20_000, signal=3.0)  # a strong classifier: much of its ROC lies below an FPR of 0.1%
    full = metrics.roc_curves(y, p)
    thin = metrics.roc_curves(y, p, max_points=40)
    for name in map(str, range(3)):
        whole, curve = full[full["class"] == name], thin[thin["class"] == name]
        assert len(curve) <= 40
        corner = whole["fpr"].between(1e-12, 1e-3).sum()
        # A linear thinning keeps one or two points there: a log axis would show a straight line over three decades.
        assert corner > 20 and curve["fpr"].between(1e-12, 1e-3).sum() >= 10


def test_max_points_larger_than_curve_changes_nothing():
    y, p = softmax_scores(1)
    pd.testing.assert_frame_equal(metrics.roc_curves(y, p, max_points=100_000), metrics.roc_curves(y, p))
    pd.testing.assert_frame_equal(metrics.pr_curves(y, p, max_points=100_000), metrics.pr_curves(y, p))


def test_mismatched_lengths_name_the_shapes():
    y, p = softmax_scores(0, n=100)
    with pytest.raises(ValueError, match=r"y_true has 100 samples but y_score has shape \(90, 10\)"):
        metrics.per_class_report(y, p[:90])
    with pytest.raises(ValueError, match=r"y_true has 100 samples but y_pred has shape \(90,\)"):
        confusion.confusion(y, y[:90])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda y, p: metrics.summary(y, p[:, 0]), r"2-D .* got shape \(100,\)"),
        (lambda y, p: metrics.roc_curves(y, p[None]), r"2-D .* got shape \(1, 100, 10\)"),
        (
            lambda y, p: metrics.pr_curves(y, p, labels=range(9)),
            r"labels has shape \(9,\) but y_score has shape \(100, 10\)",
        ),
        (lambda y, p: metrics.per_class_report(y, p[:, :9]), r"y_true contains \[9\] which are not among the labels"),
        (lambda y, p: metrics.per_class_report(onehot(y), p), r"1-D .* got shape \(100, 10\)"),
        (lambda y, p: metrics.per_class_report(y, p[:, :1] * 0, labels=[0]), r"at least 2 classes"),
        (lambda y, p: metrics.summary(y, np.where(p > 0.5, np.nan, p)), r"NaN or infinite"),
        (lambda y, p: metrics.roc_curves(y, p, max_points=1), r"max_points must be None or at least 2, got 1"),
        (lambda y, p: metrics.per_class_report(y, p, labels=[0] * 10), r"labels must be distinct"),
        (lambda y, p: confusion.confusion(y, p.argmax(axis=1), normalize="rows"), r"normalize must be one of"),
    ],
)
def test_bad_input_raises_value_error_saying_what_is_wrong(call, message):
    y, p = softmax_scores(0, n=100)
    with pytest.raises(MetricsInputError, match=message):
        call(y, p)


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.per_class_report([], np.empty((0, K))),
        lambda: metrics.summary(np.array([], dtype=int), np.empty((0, K))),
        lambda: metrics.roc_curves([], np.empty((0, K))),
        lambda: metrics.pr_curves([], np.empty((0, K))),
        lambda: confusion.confusion([], []),
    ],
)
def test_empty_input_raises_value_error(call):
    with pytest.raises(ValueError, match="empty"):
        call()


def test_metrics_input_error_is_a_value_error():
    assert issubclass(MetricsInputError, ValueError)


def test_most_confused_pairs_sorted_by_count_then_class():
    cm = np.array(
        [
            [50, 1, 0, 7],
            [0, 40, 3, 0],
            [7, 0, 30, 2],
            [0, 9, 0, 60],
        ]
    )
    pairs = confusion.most_confused_pairs(cm, top=4)
    assert pairs.to_dict("list") == {"true": [3, 0, 2, 1], "predicted": [1, 3, 0, 2], "count": [9, 7, 7, 3]}
    assert len(confusion.most_confused_pairs(cm)) == 5
    everything = confusion.most_confused_pairs(cm, top=100)
    assert len(everything) == 6 and (everything["count"] > 0).all()
    named = confusion.most_confused_pairs(cm, top=1, labels=["zero", "one", "two", "three"])
    assert named.iloc[0].to_dict() == {"true": "three", "predicted": "one", "count": 9}


def test_most_confused_pairs_refuses_bad_matrix_or_top():
    with pytest.raises(MetricsInputError, match=r"square, got shape \(2, 3\)"):
        confusion.most_confused_pairs(np.zeros((2, 3)))
    with pytest.raises(MetricsInputError, match="top must be at least 1"):
        confusion.most_confused_pairs(np.eye(3), top=0)
    with pytest.raises(MetricsInputError, match=r"labels has shape \(2,\) but the confusion matrix has shape \(3, 3\)"):
        confusion.most_confused_pairs(np.eye(3), labels=[0, 1])


def test_confusion_long_has_a_row_per_cell_with_row_shares():
    y, p = softmax_scores(0)
    cm = confusion.confusion(y, p.argmax(axis=1), labels=range(K))
    long = confusion.confusion_long(cm)
    assert list(long.columns) == ["true", "predicted", "count", "row_share"]
    assert len(long) == K * K
    np.testing.assert_array_equal(long.pivot(index="true", columns="predicted", values="count").to_numpy(), cm)
    shares = long.pivot(index="true", columns="predicted", values="row_share").to_numpy()
    np.testing.assert_allclose(shares, confusion.confusion(y, p.argmax(axis=1), labels=range(K), normalize="true"))


def test_confusion_long_gives_zero_share_to_an_empty_row():
    long = confusion.confusion_long(np.array([[3, 1], [0, 0]]), labels=["a", "b"])
    assert long.to_dict("list") == {
        "true": ["a", "a", "b", "b"],
        "predicted": ["a", "b", "a", "b"],
        "count": [3, 1, 0, 0],
        "row_share": [0.75, 0.25, 0.0, 0.0],
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_report_equals_the_four_functions_and_sklearn(seed):
    y, score = softmax_scores(seed, n=2000, signal=4.0)
    labels = [f"digit {k}" for k in range(K)]
    truth = np.asarray(labels)[y]
    everything = metrics.report(truth, score, labels=labels, max_points=60)
    assert everything.summary == metrics.summary(truth, score, labels=labels)
    pd.testing.assert_frame_equal(everything.per_class, metrics.per_class_report(truth, score, labels=labels))
    pd.testing.assert_frame_equal(everything.roc, metrics.roc_curves(truth, score, labels=labels, max_points=60))
    pd.testing.assert_frame_equal(everything.pr, metrics.pr_curves(truth, score, labels=labels, max_points=60))
    np.testing.assert_allclose(everything.per_class["roc_auc"], [roc_auc_score(y == k, score[:, k]) for k in range(K)])
    np.testing.assert_allclose(everything.per_class["average_precision"],
                               [average_precision_score(y == k, score[:, k]) for k in range(K)])
    micro = everything.pr[everything.pr["class"] == "micro"]["average_precision"].iloc[0]
    assert micro == pytest.approx(average_precision_score(onehot(y).ravel(), score.ravel()))


def test_report_refuses_what_the_functions_refuse():
    y, score = softmax_scores(0)
    with pytest.raises(MetricsInputError, match="max_points"):
        metrics.report(y, score, max_points=1)
    with pytest.raises(MetricsInputError, match="not among the labels"):
        metrics.report(y + 100, score)


@pytest.mark.parametrize("max_points", [5, 40])
def test_thinning_picks_the_points_the_full_greedy_search_picks(max_points):
    # The thinning keeps each point's distance between steps; a search over every point at each step must agree.
    rng = np.random.default_rng(3)
    x = np.sort(rng.random(3000))
    y = np.cumsum(rng.random(3000)) / 3000
    kept = [0, len(x) - 1]
    for _ in range(max_points - 2):
        best, best_distance = None, 0.0
        for i in range(len(x)):
            if i in kept:
                continue
            left = max(k for k in kept if k < i)
            right = min(k for k in kept if k > i)
            dx, dy = x[right] - x[left], y[right] - y[left]
            along = min(1.0, max(0.0, ((x[i] - x[left]) * dx + (y[i] - y[left]) * dy) / (dx * dx + dy * dy)))
            distance = np.hypot(x[i] - (x[left] + along * dx), y[i] - (y[left] + along * dy))
            if distance > best_distance:
                best, best_distance = i, distance
        kept.append(best)
    assert curves._thin(x, y, max_points).tolist() == sorted(kept)
