"""ROC and precision-recall curves of a classifier's class scores, one-vs-rest, thinned to keep their shape.

Functions in the scikit-learn style, ``f(y_true, y_score, *, ...)``, whose points and areas are scikit-learn's own
(``roc_curve``, ``precision_recall_curve``, ``auc``), in long-form frames ready to chart. The tables of figures are
in :mod:`mnist_lab.evaluation.metrics`.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import auc, precision_recall_curve

from mnist_lab.errors import MetricsInputError
from mnist_lab.evaluation.scores import Scores, absent_classes, lone_classes, warn_undefined

__all__ = ["pr_curves", "roc_curves"]


def check_max_points(max_points: int | None) -> None:
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

    Examples
    --------
    >>> roc = roc_curves([0, 1, 2, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    >>> sorted(roc["class"].unique())
    ['0', '1', '2', 'macro', 'micro']
    >>> roc.groupby("class")["auc"].first().round(3).to_dict()
    {'0': 1.0, '1': 1.0, '2': 1.0, 'macro': 1.0, 'micro': 0.953}

    Each class ranks its own images first, but pooled (micro) the last 2's score of 0.3 for class 2 falls below
    its score of 0.4 for class 1, a wrong answer ranked above a right one.
    """
    check_max_points(max_points)
    return roc_of(Scores(y_true, y_score, labels), max_points)


def roc_of(data: Scores, max_points: int | None) -> pd.DataFrame:
    """:func:`roc_curves` of validated scores."""
    undefined = absent_classes(data) | lone_classes(data)
    warn_undefined(
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

    Examples
    --------
    >>> pr = pr_curves([0, 1, 2, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    >>> pr.groupby("class")["average_precision"].first().round(3).to_dict()
    {'0': 1.0, '1': 1.0, '2': 1.0, 'micro': 0.917}
    """
    check_max_points(max_points)
    return pr_of(Scores(y_true, y_score, labels), max_points)


def pr_of(data: Scores, max_points: int | None) -> pd.DataFrame:
    """:func:`pr_curves` of validated scores."""
    undefined = absent_classes(data)
    warn_undefined(data, undefined, "the precision-recall curve is", "y_true has no sample of it (no curve)")
    frames = [_pr_frame(data, j, name, max_points) for j, name in enumerate(data.names) if not undefined[j]]
    frames.append(_pr_frame(data, None, "micro", max_points))
    return pd.concat(frames, ignore_index=True)


def _pr_frame(data: Scores, j: int | None, name: str, max_points: int | None) -> pd.DataFrame:
    """Rows of the precision-recall curve of column ``j`` (None: micro) with its average precision."""
    precision, recall, threshold = precision_recall_curve(*data.binary(j), drop_intermediate=True)
    columns = {
        "recall": recall,
        "precision": precision,
        "threshold": np.append(threshold, np.nan),
        "average_precision": np.full(len(recall), data.average_precision(j)),
    }
    return _curve_frame(name, columns, "recall", "precision", max_points)
