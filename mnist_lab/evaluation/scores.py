"""Validated class scores, the input every metric shares: labels, the score matrix, predictions, one-hot truth.

Every metric of :mod:`mnist_lab.evaluation.metrics` and :mod:`mnist_lab.evaluation.curves` checks its input here
once, with errors that name the shapes, and shares the one-vs-rest ROC curves computed from it.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import precision_recall_curve, roc_curve

from mnist_lab.errors import MetricsInputError


class Scores:
    """Validated metric inputs: class indices of y_true, the score matrix and the labels of its columns."""

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


def absent_classes(data: Scores) -> np.ndarray:
    """Mask of classes with no sample in y_true: no positives, so ROC and PR are undefined."""
    return ~data.onehot.any(axis=0)


def lone_classes(data: Scores) -> np.ndarray:
    """Mask of the class that makes up all of y_true: no negatives, so ROC is undefined."""
    return data.onehot.all(axis=0)


def warn_undefined(data: Scores, mask: np.ndarray, what: str, why: str) -> None:
    """Warn, once per call, that ``what`` is undefined for the classes in ``mask``."""
    if mask.any():
        names = ", ".join(name for name, undefined in zip(data.names, mask) if undefined)
        warnings.warn(f"{what} undefined for class {names}: {why}", UndefinedMetricWarning, stacklevel=3)
