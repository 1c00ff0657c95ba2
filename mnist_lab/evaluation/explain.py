"""What the Evaluate page and the report say about an evaluation, built from its figures: how to read a
confusion matrix and ROC curves, ROC AUC as ranking errors, and the train-versus-test accuracy gap."""

from __future__ import annotations

import math
from typing import Any

#: ROC AUC's ranking errors are counted per this many (positive, negative) pairs.
PAIRS = 10_000
RANKING_ERRORS = f"ranking errors per {PAIRS:,} pairs"
#: What a confusion matrix tells (concept question B7), in the app's words.
CONFUSION_MATRIX_EXPLAINED = (
    "**What a confusion matrix tells.** Each row is a true digit, each column the digit the model answered, each cell "
    "counts test images. The diagonal (blue) holds the right answers; every cell off it (red) is one particular "
    "mistake, such as *a 4 read as a 9*. Accuracy says only how many answers are wrong; the matrix says which digits "
    "get mixed up, and in which direction. Along a row you read the recall of that digit (share of its images found), "
    "down a column its precision (share of that answer that was right). The row-normalised view divides each row by "
    "its total, so that digits with more test images do not look worse."
)
#: How to read one-vs-rest ROC and precision-recall curves.
CURVES_EXPLAINED = (
    "One-vs-rest: one digit is the positive class, all others negative, and the threshold on that digit's probability "
    "sweeps from 1 to 0. ROC plots the true positive rate (recall) against the false positive rate; AUC is the chance "
    "that a random image of the digit scores higher than a random other image (1 is perfect, 0.5 is guessing). "
    "For a strong model every AUC is close to 1, so the app also gives 1 - AUC as ranking errors: of "
    f"{PAIRS:,} pairs of one image of the digit and one other image, how many give the other image the higher score "
    "for that digit. A logarithmic false-positive-rate axis spreads out the corner where such models differ. "
    "Micro-average pools the decisions of every image for every class; macro-average is the mean of the class "
    "curves. Precision-recall curves leave out the many easy negatives, so they show differences that ROC squeezes "
    "into its top-left corner."
)


def ranking_errors(roc_auc):
    """1 - ROC AUC as ranking errors per :data:`PAIRS` pairs (a float, or a Series for a Series).

    ROC AUC is the share of (positive, negative) pairs in which the positive image scores higher (ties
    count half), so 1 - AUC is the share ranked the wrong way; per 10,000 pairs it tells apart models whose
    AUCs all round to 1.
    """
    return (1 - roc_auc) * PAIRS


def auc_decimals(values, *, least: int = 3, most: int = 8) -> int:
    """How many decimals tell the given AUCs apart: the fewest (at least ``least``) that keep distinct values distinct.

    Parameters
    ----------
    values : iterable of float
        AUCs (NaN ignored).
    least, most : int
        The range of decimals to choose from.

    Returns
    -------
    int
    """
    finite = [float(value) for value in values if value == value]
    distinct = len({round(value, most) for value in finite})
    for decimals in range(least, most):
        shown = {round(value, decimals) for value in finite}
        if len(shown) == distinct and not any(value != 1 and round(value, decimals) == 1 for value in finite):
            return decimals
    return most


def sampling_noise(first: float, first_n: int, second: float, second_n: int) -> float:
    """Two standard errors of the difference of two accuracies measured on independent samples, in points."""
    variance = first * (1 - first) / max(first_n, 1) + second * (1 - second) / max(second_n, 1)
    return 2 * math.sqrt(variance) * 100


def gap_explanation(summary: dict[str, Any], *, classes: int = 10, logged_train_accuracy: float | None = None) -> str:
    """A few sentences on the train-versus-test accuracy gap of an evaluation summary, built from its figures.

    Parameters
    ----------
    summary : dict
        :attr:`Evaluation.summary`: ``accuracy``, ``n``, ``train_accuracy`` and ``train_images``.
    classes : int
        How many classes the model chooses from (guessing is right once in ``classes``).
    logged_train_accuracy : float, optional
        The training accuracy the run's log recorded for the evaluated epoch, while it trained: a model that learned
        its training images in training but not as a finished model has collapsed, it does not underfit.

    Returns
    -------
    str
        Markdown; says which accuracy is higher, whether the difference is within the sampling noise of the
        two measurements, and what it means.
    """
    train, test = summary.get("train_accuracy"), summary["accuracy"]
    if train is None:
        return "This run's training images cannot be rebuilt from its settings: there is no training accuracy to compare."
    why = ("Training accuracy is usually the higher one because the weights were fitted to exactly those images: the "
           "network partly memorises their quirks, while the test images are new to it.")
    points = (train - test) * 100
    noise = sampling_noise(train, summary.get("train_images") or 0, test, summary["n"])
    within = (f"a difference within the sampling noise of the two measurements (about ±{noise:.1f} points for "
              f"{summary.get('train_images', 0):,} training and {summary['n']:,} test images)")
    learnt = (1 + 1 / classes) / 2
    if train < learnt and logged_train_accuracy is not None and logged_train_accuracy >= learnt:
        return (f"As a finished model it gets only {train:.1%} of its own training images right (guessing gets "
                f"{1 / classes:.0%}), although its training log recorded {logged_train_accuracy:.1%} while it trained: "
                "it learned them in training but fails when it runs as it does on new images (a collapse, not "
                f"underfitting), so the gap of {abs(points):.1f} points says nothing about how well it generalises.")
    if train < learnt:
        return (f"This model gets only {train:.1%} of its own training images right (guessing gets "
                f"{1 / classes:.0%}): it has not learnt the task yet, it underfits, so the gap of {abs(points):.1f} "
                f"points says nothing about how well it generalises. {why}")
    if points < 0:
        cause = (f"{within}: with a gap this small either figure can come out ahead." if -points <= noise else
                 f"more than the sampling noise of the two measurements (about ±{noise:.1f} points): this model "
                 "finds its test images easier than its training images.")
        return f"Here the test accuracy is {-points:.1f} percentage points higher than the training accuracy, {cause} {why}"
    if points <= noise:
        return f"The training accuracy is {points:.1f} percentage points higher, {within}: no sign of overfitting. {why}"
    if points <= 2:
        return f"The training accuracy is {points:.1f} percentage points higher: a small gap, the model generalises well. {why}"
    train_error, test_error = 1 - train, 1 - test
    if test_error <= 1.5 * train_error:
        return (f"The training accuracy is {points:.1f} percentage points higher, but that is small next to the errors "
                f"themselves ({test_error:.1%} of the test images, {train_error:.1%} of the training images): the "
                f"model is held back more by what it has not learnt (underfitting) than by memorising. {why}")
    if train_error == 0:
        return (f"The training accuracy is {points:.1f} percentage points higher: the model gets every one of its "
                f"training images right but {test_error:.1%} of the new images wrong, it has fitted its training "
                f"images exactly (overfitting). {why} More training images, augmentation, dropout or fewer epochs "
                "narrow the gap.")
    return (
        f"The training accuracy is {points:.1f} percentage points higher: the model makes {test_error / train_error:.1f} "
        f"times as many errors on new images ({test_error:.1%}) as on its training images ({train_error:.1%}), it "
        f"fits them noticeably better (overfitting). {why} More training images, augmentation, dropout or fewer epochs "
        "narrow the gap."
    )
