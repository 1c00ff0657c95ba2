"""Evaluation metrics for a classifier's class scores: the per-class table, the summary, and all of it at once.

Pure functions in the scikit-learn style, ``f(y_true, y_score, *, ...)``, whose values are
scikit-learn's own. ``y_true`` holds class labels, ``y_score`` an ``(n, k)`` matrix of class
scores (softmax probabilities, or any scores where only rankings matter); the predicted
class is the argmax of each row. A class that does not occur in ``y_true`` gets NaN for the
metrics that need positive samples (ROC AUC, average precision) and a warning, not an error.
The ROC and precision-recall curves are in :mod:`mnist_lab.evaluation.curves`; :func:`report` computes the
tables and the curves from one validated input.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import auc, precision_recall_fscore_support

from mnist_lab.errors import MetricsInputError
from mnist_lab.evaluation.curves import check_max_points, pr_curves, pr_of, roc_curves, roc_of
from mnist_lab.evaluation.scores import Scores, absent_classes, lone_classes, warn_undefined

__all__ = [
    "MetricsInputError",
    "Report",
    "per_class_report",
    "pr_curves",
    "report",
    "roc_curves",
    "summary",
]

# Rows of probabilities may be float32 softmax outputs: their sums are off by ~1e-7, never by this much.
PROBABILITY_SUM_TOLERANCE = 1e-3


def _roc_auc_per_class(data: Scores) -> np.ndarray:
    """One-vs-rest ROC AUC of each class, NaN where y_true lacks positives or negatives.

    The area under the curve of ``roc_curve(drop_intermediate=True)``, as ``roc_auc_score`` computes it,
    from the curve that :func:`roc_curves` draws.
    """
    undefined = absent_classes(data) | lone_classes(data)
    return np.array(
        [np.nan if undefined[j] else auc(*data.roc(j)[:2]) for j in range(len(data.labels))]
    )


def _average_precision_per_class(data: Scores) -> np.ndarray:
    """Average precision of each class, NaN where y_true has no sample of it."""
    undefined = absent_classes(data)
    return np.array([np.nan if undefined[j] else data.average_precision(j) for j in range(len(data.labels))])


def _prf(data: Scores, average: str | None):
    """Precision, recall, F1 and support, with 0 where a ratio is 0/0 (scikit-learn's default value)."""
    return precision_recall_fscore_support(
        data.true_index,
        data.pred_index,
        labels=np.arange(len(data.labels)),
        average=average,
        zero_division=0.0,
    )


def per_class_report(y_true, y_score, *, labels: Sequence | None = None) -> pd.DataFrame:
    """Precision, recall, F1, support, ROC AUC and average precision of each class.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels; each must be one of ``labels``.
    y_score : array-like of shape (n, k)
        Class scores or probabilities; the predicted class of a row is its argmax.
    labels : sequence of length k, optional
        Label of each score column. Defaults to ``range(k)``.

    Returns
    -------
    pandas.DataFrame
        One row per class, indexed by label (index name ``"class"``), with columns
        ``precision``, ``recall``, ``f1`` (0 where the ratio is 0/0), ``support``,
        ``roc_auc`` (one-vs-rest) and ``average_precision`` (NaN for a class absent from
        ``y_true``, with an ``UndefinedMetricWarning``).

    Raises
    ------
    MetricsInputError
        If shapes do not match, the input is empty, or ``y_true`` holds an unknown label.

    Examples
    --------
    Four images of three classes; the last 2 scores highest as a 1:

    >>> y_true = [0, 1, 2, 2]
    >>> y_score = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]]
    >>> per_class_report(y_true, y_score)[["precision", "recall", "support", "roc_auc"]]
           precision  recall  support  roc_auc
    class
    0            1.0     1.0        1      1.0
    1            0.5     1.0        1      1.0
    2            1.0     0.5        2      1.0

    Class 2's ROC AUC is still 1: both 2s score higher for class 2 (0.7, 0.3) than every other image (0.1, 0.1).
    """
    return _per_class(Scores(y_true, y_score, labels))


def _per_class(data: Scores) -> pd.DataFrame:
    """:func:`per_class_report` of validated inputs."""
    precision, recall, f1, support = _prf(data, average=None)
    warn_undefined(
        data, absent_classes(data), "ROC AUC and average precision are", "y_true has no sample of it (NaN)"
    )
    warn_undefined(data, lone_classes(data), "ROC AUC is", "it is the only class in y_true (NaN)")
    roc_auc = _roc_auc_per_class(data)
    average_precision = _average_precision_per_class(data)
    return pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "roc_auc": roc_auc,
            "average_precision": average_precision,
        },
        index=pd.Index(data.labels, name="class"),
    )


def summary(y_true, y_score, *, labels: Sequence | None = None) -> dict[str, float]:
    """Overall figures: accuracy, log loss, macro and weighted precision/recall/F1, macro ROC AUC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels; each must be one of ``labels``.
    y_score : array-like of shape (n, k)
        Class scores or probabilities; the predicted class of a row is its argmax.
    labels : sequence of length k, optional
        Label of each score column. Defaults to ``range(k)``.

    Returns
    -------
    dict
        ``n`` (int) and floats ``accuracy``, ``log_loss``, ``precision_macro``,
        ``recall_macro``, ``f1_macro``, ``precision_weighted``, ``recall_weighted``,
        ``f1_weighted`` and ``roc_auc_macro``. ``log_loss`` clips probabilities to
        ``[eps, 1 - eps]`` as scikit-learn does, and is NaN (with a warning) when the rows are
        not probabilities (negative, or not summing to 1). ``roc_auc_macro`` is the mean
        one-vs-rest AUC over the classes where it is defined.

    Raises
    ------
    MetricsInputError
        If shapes do not match, the input is empty, or ``y_true`` holds an unknown label.

    Examples
    --------
    >>> figures = summary([0, 1, 2, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    >>> figures["n"], figures["accuracy"], round(figures["f1_macro"], 3), round(figures["log_loss"], 3)
    (4, 0.75, 0.778, 0.535)

    The error names the shapes that do not fit:

    >>> summary([0, 1], [[0.5, 0.5]])
    Traceback (most recent call last):
    ...
    mnist_lab.errors.MetricsInputError: y_true has 2 samples but y_score has shape (1, 2)
    """
    return _summary(Scores(y_true, y_score, labels))


def _summary(data: Scores) -> dict[str, float]:
    """:func:`summary` of validated inputs."""
    result: dict[str, float] = {
        "n": len(data.true_index),
        "accuracy": float(np.mean(data.true_index == data.pred_index)),
        "log_loss": _log_loss(data),
    }
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = _prf(data, average=average)
        result[f"precision_{average}"] = float(precision)
        result[f"recall_{average}"] = float(recall)
        result[f"f1_{average}"] = float(f1)
    undefined = absent_classes(data) | lone_classes(data)
    warn_undefined(
        data, undefined, "ROC AUC is", "y_true lacks its positives or negatives (left out of roc_auc_macro)"
    )
    roc_auc = _roc_auc_per_class(data)
    result["roc_auc_macro"] = float(np.mean(roc_auc[~undefined])) if not undefined.all() else float("nan")
    return result


def _log_loss(data: Scores) -> float:
    """Mean cross-entropy of the true class, clipped like scikit-learn's; NaN if rows are not probabilities."""
    score = data.score
    sums = score.sum(axis=1)
    if (score < 0).any() or not np.allclose(sums, 1.0, rtol=0.0, atol=PROBABILITY_SUM_TOLERANCE):
        warnings.warn(
            "log_loss is undefined and set to NaN: y_score rows are not probabilities "
            f"(row sums range from {sums.min():.4g} to {sums.max():.4g}, min score {score.min():.4g}); "
            "pass softmax outputs",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    eps = np.finfo(score.dtype).eps
    p_true = np.clip(score[np.arange(len(score)), data.true_index], eps, 1 - eps)
    return float(-np.mean(np.log(p_true.astype(np.float64))))




class Report(NamedTuple):
    """Every figure and curve of one set of scores: :func:`summary`, :func:`per_class_report`,
    :func:`roc_curves` and :func:`pr_curves`."""

    summary: dict[str, float]
    per_class: pd.DataFrame
    roc: pd.DataFrame
    pr: pd.DataFrame


def report(y_true, y_score, *, labels: Sequence | None = None, max_points: int | None = None) -> Report:
    """Compute :func:`summary`, :func:`per_class_report`, :func:`roc_curves` and :func:`pr_curves` at once.

    The inputs are checked once, and each one-vs-rest ROC curve and average precision is computed once and
    shared (the separate functions compute the ROC AUCs three times over), with the same values.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels; each must be one of ``labels``.
    y_score : array-like of shape (n, k)
        Class scores or probabilities; the predicted class of a row is its argmax.
    labels : sequence of length k, optional
        Label of each score column. Defaults to ``range(k)``.
    max_points : int, optional
        Points kept per curve, as in :func:`roc_curves` and :func:`pr_curves`.

    Returns
    -------
    Report

    Raises
    ------
    MetricsInputError
        If shapes do not match, the input is empty, ``y_true`` holds an unknown label, or
        ``max_points`` is below 2.

    Examples
    --------
    >>> figures = report([0, 1, 2, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]],
    ...                  max_points=3)
    >>> figures.summary["accuracy"], figures.per_class["recall"].tolist(), len(figures.roc.query("`class` == 'micro'"))
    (0.75, [1.0, 1.0, 0.5], 3)
    """
    check_max_points(max_points)
    data = Scores(y_true, y_score, labels)
    return Report(_summary(data), _per_class(data), roc_of(data, max_points), pr_of(data, max_points))
