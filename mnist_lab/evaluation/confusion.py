"""The confusion matrix of a classifier's predictions, and the two views the Evaluate page draws of it: the most
confused pairs of classes, and one row per cell for a heatmap.

Counts are scikit-learn's own ``confusion_matrix``; the checks here turn bad input into a
:class:`~mnist_lab.errors.MetricsInputError` that says what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from mnist_lab.errors import MetricsInputError

__all__ = ["NORMALIZE_CHOICES", "confusion", "confusion_long", "most_confused_pairs"]

NORMALIZE_CHOICES = (None, "true", "pred", "all")


def confusion(
    y_true, y_pred, *, labels: Sequence | None = None, normalize: str | None = None
) -> np.ndarray:
    """Confusion matrix, rows the true class and columns the predicted class.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,)
        Predicted class labels (for scores, ``labels[argmax]`` of each row).
    labels : sequence, optional
        Classes in matrix order. Defaults to the sorted labels found in ``y_true`` and ``y_pred``.
    normalize : {None, "true", "pred", "all"}, optional
        None gives counts; ``"true"`` divides each row by its sum, ``"pred"`` each column,
        ``"all"`` the whole matrix (0 where a row or column is empty), as in scikit-learn.

    Returns
    -------
    numpy.ndarray of shape (len(labels), len(labels))
        Integer counts, or floats when normalized.

    Raises
    ------
    MetricsInputError
        If the inputs are empty, not 1-D, of different lengths, or ``normalize`` is unknown.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise MetricsInputError(
            f"y_true and y_pred must be 1-D arrays of labels, got shapes {y_true.shape} and {y_pred.shape}"
        )
    if len(y_true) != len(y_pred):
        raise MetricsInputError(f"y_true has {len(y_true)} samples but y_pred has shape {y_pred.shape}")
    if len(y_true) == 0:
        raise MetricsInputError("y_true and y_pred are empty: there is nothing to evaluate")
    if normalize not in NORMALIZE_CHOICES:
        raise MetricsInputError(f"normalize must be one of {NORMALIZE_CHOICES}, got {normalize!r}")
    return confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)


def _check_square(cm) -> np.ndarray:
    """Return ``cm`` as an array, refusing anything but a square matrix."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise MetricsInputError(f"a confusion matrix must be square, got shape {cm.shape}")
    return cm


def _matrix_labels(cm: np.ndarray, labels: Sequence | None) -> np.ndarray:
    """Labels of the matrix's rows and columns, ``range(k)`` by default."""
    if labels is None:
        return np.arange(cm.shape[0])
    labels = np.asarray(labels)
    if labels.shape != (cm.shape[0],):
        raise MetricsInputError(f"labels has shape {labels.shape} but the confusion matrix has shape {cm.shape}")
    return labels


def most_confused_pairs(cm, *, top: int = 5, labels: Sequence | None = None) -> pd.DataFrame:
    """The off-diagonal cells of a confusion matrix with the largest counts.

    Parameters
    ----------
    cm : array-like of shape (k, k)
        Confusion matrix, rows the true class (as returned by :func:`confusion`).
    top : int, default 5
        Number of pairs to return at most.
    labels : sequence of length k, optional
        Class of each row and column. Defaults to ``range(k)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``true``, ``predicted`` and ``count``, largest count first (ties in order of
        true then predicted class); cells with a count of 0 are not confusions and are left out.

    Raises
    ------
    MetricsInputError
        If ``cm`` is not square, ``labels`` does not match it, or ``top`` is below 1.
    """
    cm = _check_square(cm)
    classes = _matrix_labels(cm, labels)
    if top < 1:
        raise MetricsInputError(f"top must be at least 1, got {top}")
    true, predicted = np.nonzero((cm > 0) & ~np.eye(len(cm), dtype=bool))
    counts = cm[true, predicted]
    order = np.lexsort((predicted, true, -counts))[:top]
    return pd.DataFrame(
        {"true": classes[true[order]], "predicted": classes[predicted[order]], "count": counts[order]}
    )


def confusion_long(cm, *, labels: Sequence | None = None) -> pd.DataFrame:
    """A confusion matrix as one row per cell, for a heatmap.

    Parameters
    ----------
    cm : array-like of shape (k, k)
        Confusion matrix, rows the true class (as returned by :func:`confusion`).
    labels : sequence of length k, optional
        Class of each row and column. Defaults to ``range(k)``.

    Returns
    -------
    pandas.DataFrame
        k * k rows in row-major order with columns ``true``, ``predicted``, ``count`` and
        ``row_share`` (the count divided by its row's total, 0 for an empty row).

    Raises
    ------
    MetricsInputError
        If ``cm`` is not square or ``labels`` does not match it.
    """
    cm = _check_square(cm)
    classes = _matrix_labels(cm, labels)
    row_totals = cm.sum(axis=1, keepdims=True)
    row_share = np.divide(cm, row_totals, out=np.zeros(cm.shape), where=row_totals != 0)
    k = len(cm)
    return pd.DataFrame(
        {
            "true": np.repeat(classes, k),
            "predicted": np.tile(classes, k),
            "count": cm.ravel(),
            "row_share": row_share.ravel(),
        }
    )
