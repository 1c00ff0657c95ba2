"""Evaluation metrics for a classifier's class scores: per-class report, summary, ROC and PR curves.

Pure functions in the scikit-learn style, ``f(y_true, y_score, *, ...)``, whose values are
scikit-learn's own. ``y_true`` holds class labels, ``y_score`` an ``(n, k)`` matrix of class
scores (softmax probabilities, or any scores where only rankings matter); the predicted
class is the argmax of each row. A class that does not occur in ``y_true`` gets NaN for the
metrics that need positive samples (ROC AUC, average precision) and a warning, not an error.
"""

from __future__ import annotations

import bisect
import itertools
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    auc,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_curve,
)

from mnist_lab.errors import MetricsInputError

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



class _Scored:
    """Validated inputs: class indices of y_true, the score matrix and the labels of its columns."""

    def __init__(self, y_true, y_score, labels) -> None:
        y_true = np.asarray(y_true)
        y_score = np.asarray(y_score)
        if y_score.ndim != 2:
            raise MetricsInputError(
                f"y_score must be a 2-D (samples, classes) array of scores, got shape {y_score.shape}"
            )
        if y_true.ndim != 1:
            raise MetricsInputError(f"y_true must be a 1-D array of class labels, got shape {y_true.shape}")
        if len(y_true) != y_score.shape[0]:
            raise MetricsInputError(
                f"y_true has {len(y_true)} samples but y_score has shape {y_score.shape}"
            )
        if len(y_true) == 0:
            raise MetricsInputError("y_true and y_score are empty: there is nothing to evaluate")
        labels = np.arange(y_score.shape[1]) if labels is None else np.asarray(labels)
        if labels.ndim != 1 or len(labels) != y_score.shape[1]:
            raise MetricsInputError(
                f"labels has shape {labels.shape} but y_score has shape {y_score.shape}: "
                "give one label per score column"
            )
        if len(labels) < 2:
            raise MetricsInputError(f"y_score has shape {y_score.shape}: at least 2 classes are needed")
        if len(set(labels.tolist())) != len(labels):
            raise MetricsInputError(f"labels must be distinct, got {labels.tolist()}")
        if not np.issubdtype(y_score.dtype, np.floating):
            y_score = y_score.astype(np.float64)
        if not np.isfinite(y_score).all():
            raise MetricsInputError("y_score contains NaN or infinite values")
        self.labels = labels
        self.score = y_score
        self.true_index = _column_index(y_true, labels)
        self.pred_index = np.argmax(y_score, axis=1)
        self.onehot = self.true_index[:, None] == np.arange(len(labels))
        self._curves: dict[tuple[str, int | None], tuple[np.ndarray, ...]] = {}

    def binary(self, j: int | None) -> tuple[np.ndarray, np.ndarray]:
        """One-vs-rest truth and scores of column ``j``, or of every column ravelled (micro) for None."""
        return (self.onehot.ravel(), self.score.ravel()) if j is None else self.column(j)

    def roc(self, j: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``roc_curve(drop_intermediate=True)`` of column ``j`` (None: micro), computed once per input."""
        key = ("roc", j)
        if key not in self._curves:
            self._curves[key] = roc_curve(*self.binary(j), drop_intermediate=True)
        return self._curves[key]

    def average_precision(self, j: int | None) -> float:
        """scikit-learn's ``average_precision_score`` of column ``j`` (None: micro), computed once per input.

        The step integral of the full precision-recall curve, exactly as scikit-learn computes it.
        """
        key = ("ap", j)
        if key not in self._curves:
            precision, recall, _ = precision_recall_curve(*self.binary(j))
            self._curves[key] = (max(0.0, float(-np.sum(np.diff(recall) * precision[:-1]))),)
        return self._curves[key][0]

    @property
    def names(self) -> list[str]:
        """Labels as strings, for curve frames and messages."""
        return [str(label) for label in self.labels.tolist()]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """One-vs-rest truth and scores of column ``j``."""
        return self.onehot[:, j], self.score[:, j]


def _column_index(y_true: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Map each label of ``y_true`` to its column in the score matrix."""
    column_of = {label: j for j, label in enumerate(labels.tolist())}
    values = y_true.tolist()
    unknown = sorted({v for v in values if v not in column_of}, key=str)
    if unknown:
        raise MetricsInputError(
            f"y_true contains {unknown[:10]} which are not among the labels {labels.tolist()}"
        )
    return np.fromiter((column_of[v] for v in values), dtype=np.intp, count=len(values))


def _absent_classes(data: _Scored) -> np.ndarray:
    """Mask of classes with no sample in y_true: no positives, so ROC and PR are undefined."""
    return ~data.onehot.any(axis=0)


def _lone_classes(data: _Scored) -> np.ndarray:
    """Mask of the class that makes up all of y_true: no negatives, so ROC is undefined."""
    return data.onehot.all(axis=0)


def _warn_undefined(data: _Scored, mask: np.ndarray, what: str, why: str) -> None:
    """Warn, once per call, that ``what`` is undefined for the classes in ``mask``."""
    if mask.any():
        names = ", ".join(name for name, undefined in zip(data.names, mask) if undefined)
        warnings.warn(f"{what} undefined for class {names}: {why}", UndefinedMetricWarning, stacklevel=3)


def _roc_auc_per_class(data: _Scored) -> np.ndarray:
    """One-vs-rest ROC AUC of each class, NaN where y_true lacks positives or negatives.

    The area under the curve of ``roc_curve(drop_intermediate=True)``, as ``roc_auc_score`` computes it,
    from the curve that :func:`roc_curves` draws.
    """
    undefined = _absent_classes(data) | _lone_classes(data)
    return np.array(
        [np.nan if undefined[j] else auc(*data.roc(j)[:2]) for j in range(len(data.labels))]
    )


def _average_precision_per_class(data: _Scored) -> np.ndarray:
    """Average precision of each class, NaN where y_true has no sample of it."""
    undefined = _absent_classes(data)
    return np.array([np.nan if undefined[j] else data.average_precision(j) for j in range(len(data.labels))])


def _prf(data: _Scored, average: str | None):
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
    """
    return _per_class(_Scored(y_true, y_score, labels))


def _per_class(data: _Scored) -> pd.DataFrame:
    """:func:`per_class_report` of validated inputs."""
    precision, recall, f1, support = _prf(data, average=None)
    _warn_undefined(
        data, _absent_classes(data), "ROC AUC and average precision are", "y_true has no sample of it (NaN)"
    )
    _warn_undefined(data, _lone_classes(data), "ROC AUC is", "it is the only class in y_true (NaN)")
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
    """
    return _summary(_Scored(y_true, y_score, labels))


def _summary(data: _Scored) -> dict[str, float]:
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
    undefined = _absent_classes(data) | _lone_classes(data)
    _warn_undefined(
        data, undefined, "ROC AUC is", "y_true lacks its positives or negatives (left out of roc_auc_macro)"
    )
    roc_auc = _roc_auc_per_class(data)
    result["roc_auc_macro"] = float(np.mean(roc_auc[~undefined])) if not undefined.all() else float("nan")
    return result


def _log_loss(data: _Scored) -> float:
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


def _check_max_points(max_points: int | None) -> None:
    """Refuse a thinning target that could not keep both ends of a curve."""
    if max_points is not None and max_points < 2:
        raise MetricsInputError(f"max_points must be None or at least 2, got {max_points}")


def _thin(x: np.ndarray, y: np.ndarray, max_points: int | None, start: np.ndarray | None = None) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep the curve's shape, both ends included.

    Greedy Ramer-Douglas-Peucker: start from the two ends (and the indices ``start``, if given) and keep
    adding the point farthest from the polyline kept so far; stop early once every other point lies on
    that polyline. Each point's distance to its segment is kept between steps and computed again only
    for the points of the segment that the newly kept point splits, so a step costs the length of that
    segment rather than of the whole curve.
    """
    n = len(x)
    if max_points is None or n <= max_points:
        return np.arange(n)
    kept = np.zeros(n, dtype=bool)
    kept[[0, n - 1]] = True
    if start is not None:
        kept[start] = True
    anchors = np.flatnonzero(kept).tolist()
    distance = np.zeros(n)
    for left, right in itertools.pairwise(anchors):
        _segment_distances(x, y, left, right, distance)
    for _ in range(max_points - len(anchors)):
        farthest = int(np.argmax(distance))
        if distance[farthest] == 0.0:
            break
        kept[farthest] = True
        distance[farthest] = 0.0
        place = bisect.bisect(anchors, farthest)
        left, right = anchors[place - 1], anchors[place]
        anchors.insert(place, farthest)
        _segment_distances(x, y, left, farthest, distance)
        _segment_distances(x, y, farthest, right, distance)
    return np.flatnonzero(kept)


def _segment_distances(x: np.ndarray, y: np.ndarray, left: int, right: int, out: np.ndarray) -> None:
    """Write into ``out`` the distance of each point strictly between ``left`` and ``right`` to their segment."""
    if right - left < 2:
        return
    xs, ys = x[left + 1 : right], y[left + 1 : right]
    dx, dy = x[right] - x[left], y[right] - y[left]
    length2 = dx * dx + dy * dy
    if length2 > 0:
        along = np.clip(((xs - x[left]) * dx + (ys - y[left]) * dy) / length2, 0.0, 1.0)
    else:
        along = np.zeros(len(xs))
    out[left + 1 : right] = np.hypot(xs - (x[left] + along * dx), ys - (y[left] + along * dy))


def _curve_frame(name: str, columns: dict[str, np.ndarray], x: str, y: str, max_points: int | None) -> pd.DataFrame:
    """Long-form rows of one curve, thinned, with the class name first."""
    keep = _thin(columns[x], columns[y], max_points)
    frame = pd.DataFrame({key: np.asarray(value)[keep] for key, value in columns.items()})
    frame.insert(0, "class", name)
    return frame


def _macro_roc(fprs: list[np.ndarray], tprs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the per-class TPRs interpolated on the union of their FPRs (scikit-learn's example)."""
    grid = np.unique(np.concatenate(fprs))
    mean_tpr = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in zip(fprs, tprs)], axis=0)
    if mean_tpr[0] > 0:
        # Start the averaged curve at the origin like the others; a vertical step at FPR 0 adds no area.
        grid, mean_tpr = np.concatenate([[0.0], grid]), np.concatenate([[0.0], mean_tpr])
    return grid, mean_tpr


def roc_curves(
    y_true, y_score, *, labels: Sequence | None = None, max_points: int | None = None
) -> pd.DataFrame:
    """One-vs-rest ROC curve of each class, plus micro- and macro-averaged curves, in long form.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels; each must be one of ``labels``.
    y_score : array-like of shape (n, k)
        Class scores or probabilities.
    labels : sequence of length k, optional
        Label of each score column. Defaults to ``range(k)``.
    max_points : int, optional
        Keep at most this many points per curve, chosen to keep its shape (greedy
        Ramer-Douglas-Peucker: half of them on a linear false-positive-rate axis, the rest on a logarithmic
        one) and always including its first and last points. ``None`` keeps every point that
        ``sklearn.metrics.roc_curve(drop_intermediate=True)`` returns.

    Returns
    -------
    pandas.DataFrame
        Columns ``class`` (the label as a string, ``"micro"`` or ``"macro"``), ``fpr``,
        ``tpr``, ``threshold`` (``inf`` at the first point as in scikit-learn, NaN for the
        macro curve) and ``auc`` (the area under the full, unthinned curve, repeated on each
        row). Micro: the one-hot truth and the scores ravelled into one binary problem.
        Macro: the mean of the per-class TPRs interpolated on the union of their FPRs.
        A class absent from ``y_true`` (or the only class in it) has no curve, is left out of
        the macro average, and raises an ``UndefinedMetricWarning``.

    Raises
    ------
    MetricsInputError
        If shapes do not match, the input is empty, ``y_true`` holds an unknown label, or
        ``max_points`` is below 2.
    """
    _check_max_points(max_points)
    return _roc(_Scored(y_true, y_score, labels), max_points)


def _roc(data: _Scored, max_points: int | None) -> pd.DataFrame:
    """:func:`roc_curves` of validated inputs."""
    undefined = _absent_classes(data) | _lone_classes(data)
    _warn_undefined(
        data, undefined, "the ROC curve is", "y_true lacks its positives or negatives (no curve, left out of macro)"
    )
    frames, fprs, tprs = [], [], []
    for j, name in enumerate(data.names):
        if undefined[j]:
            continue
        fpr, tpr, threshold = data.roc(j)
        fprs.append(fpr)
        tprs.append(tpr)
        frames.append(_roc_frame(name, fpr, tpr, threshold, max_points))
    fpr, tpr, threshold = data.roc(None)
    frames.append(_roc_frame("micro", fpr, tpr, threshold, max_points))
    if fprs:
        fpr, tpr = _macro_roc(fprs, tprs)
        frames.append(_roc_frame("macro", fpr, tpr, np.full(len(fpr), np.nan), max_points))
    return pd.concat(frames, ignore_index=True)


def _roc_frame(name: str, fpr, tpr, threshold, max_points: int | None) -> pd.DataFrame:
    """Rows of one ROC curve with its full AUC, thinned to keep its shape on a linear and a logarithmic FPR axis."""
    columns = {"fpr": fpr, "tpr": tpr, "threshold": threshold, "auc": np.full(len(fpr), auc(fpr, tpr))}
    keep = _thin_linear_and_log(np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float), max_points)
    frame = pd.DataFrame({key: np.asarray(value)[keep] for key, value in columns.items()})
    frame.insert(0, "class", name)
    return frame


def _thin_linear_and_log(fpr: np.ndarray, tpr: np.ndarray, max_points: int | None) -> np.ndarray:
    """Half the points chosen on a linear FPR axis, the rest on a logarithmic one.

    A strong classifier's curve does all its rising below an FPR of 1%, which a linear axis squeezes
    into its left edge: thinned there alone, the log-axis view would lose its steps.
    """
    if max_points is None or len(fpr) <= max_points:
        return np.arange(len(fpr))
    linear = _thin(fpr, tpr, max(2, max_points // 2))
    positive = fpr[fpr > 0]
    if not len(positive):
        return linear
    floor = positive.min()
    span = max(np.log10(fpr.max() / floor), 1e-12)
    log_x = (np.log10(np.maximum(fpr, floor)) - np.log10(floor)) / span
    return _thin(log_x, tpr, max_points, start=linear)


def pr_curves(
    y_true, y_score, *, labels: Sequence | None = None, max_points: int | None = None
) -> pd.DataFrame:
    """One-vs-rest precision-recall curve of each class, plus the micro-averaged curve, in long form.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels; each must be one of ``labels``.
    y_score : array-like of shape (n, k)
        Class scores or probabilities.
    labels : sequence of length k, optional
        Label of each score column. Defaults to ``range(k)``.
    max_points : int, optional
        Keep at most this many points per curve, chosen to keep its shape (greedy
        Ramer-Douglas-Peucker) and always including its first and last points. ``None`` keeps every point that
        ``sklearn.metrics.precision_recall_curve(drop_intermediate=True)`` returns.

    Returns
    -------
    pandas.DataFrame
        Columns ``class`` (the label as a string, or ``"micro"``), ``recall``, ``precision``,
        ``threshold`` (NaN at the last point, recall 0 and precision 1, which has none) and
        ``average_precision`` (of the full curve, repeated on each row). Micro: the one-hot
        truth and the scores ravelled into one binary problem. A class absent from ``y_true``
        has no curve and raises an ``UndefinedMetricWarning``.

    Raises
    ------
    MetricsInputError
        If shapes do not match, the input is empty, ``y_true`` holds an unknown label, or
        ``max_points`` is below 2.
    """
    _check_max_points(max_points)
    return _pr(_Scored(y_true, y_score, labels), max_points)


def _pr(data: _Scored, max_points: int | None) -> pd.DataFrame:
    """:func:`pr_curves` of validated inputs."""
    undefined = _absent_classes(data)
    _warn_undefined(data, undefined, "the precision-recall curve is", "y_true has no sample of it (no curve)")
    frames = [_pr_frame(data, j, name, max_points) for j, name in enumerate(data.names) if not undefined[j]]
    frames.append(_pr_frame(data, None, "micro", max_points))
    return pd.concat(frames, ignore_index=True)


def _pr_frame(data: _Scored, j: int | None, name: str, max_points: int | None) -> pd.DataFrame:
    """Rows of the precision-recall curve of column ``j`` (None: micro) with its average precision."""
    precision, recall, threshold = precision_recall_curve(*data.binary(j), drop_intermediate=True)
    columns = {
        "recall": recall,
        "precision": precision,
        "threshold": np.append(threshold, np.nan),
        "average_precision": np.full(len(recall), data.average_precision(j)),
    }
    return _curve_frame(name, columns, "recall", "precision", max_points)


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
    """
    _check_max_points(max_points)
    data = _Scored(y_true, y_score, labels)
    return Report(_summary(data), _per_class(data), _roc(data, max_points), _pr(data, max_points))
