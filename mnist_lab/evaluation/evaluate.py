"""Evaluating a stored run on the full test set, and comparing the evaluations of several runs.

The test-set scores are predicted once per saved model and stored with the run (see
:func:`mnist_lab.predictions.inference.test_scores`), together with the per-class table and the curves;
the headline figures are merged into the run's metrics under ``"test"`` for other pages and
the report. Evaluating the same model again reads all of it back without loading the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mnist_lab.data import Dataset, dataset_for_run
from mnist_lab.errors import DatasetError
from mnist_lab.evaluation import metrics
from mnist_lab.evaluation.confusion import confusion as confusion_counts
from mnist_lab.evaluation.confusion import confusion_long, most_confused_pairs
from mnist_lab.models import config
from mnist_lab.models.architectures import network_settings
from mnist_lab.models.optim import training_settings
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training import curves
from mnist_lab.training.split import split_data

#: Training images scored for the train-versus-test gap (all of them when the run trained on fewer).
TRAIN_SAMPLE = 2000
TRAIN_SCORES = "train_sample_scores"
#: Points kept per ROC or precision-recall curve: plenty for a chart, light enough for the browser.
CURVE_POINTS = 100
#: Metric frames stored with the run next to its scores, so that reopening skips their computation.
STORED_FRAMES = ("per_class", "roc", "pr")
# A new suffix when a frame's computation changes, so that frames stored by an older version are computed again.
_FRAME_VERSIONS = {"roc": "_v2"}
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
#: Per-class columns compared between runs, with their display names.
COMPARED = {"recall": "recall", "roc_auc": "ROC AUC", "ranking_errors": RANKING_ERRORS, "precision": "precision",
            "f1": "F1"}
#: Headline figures shown next to the hyperparameters that differ.
HEADLINE = {
    "accuracy": "test accuracy",
    "log_loss": "test loss",
    "f1_macro": "macro F1",
    "roc_auc_macro": "macro ROC AUC",
    "ranking_errors_macro": f"macro {RANKING_ERRORS}",
    "train_accuracy": "train accuracy",
}


@dataclass(frozen=True)
class Evaluation:
    """Everything the Evaluate page shows about one saved model, measured on the full test set.

    Attributes
    ----------
    run_id : str
        The evaluated run.
    epoch : int
        The saved epoch whose model was evaluated.
    summary : dict
        :func:`mnist_lab.evaluation.metrics.summary` of the test set plus ``train_accuracy`` (the same model on
        up to :data:`TRAIN_SAMPLE` of the images it trained on, None when they cannot be rebuilt),
        ``train_images`` (how many), ``accuracy_gap`` (train minus test accuracy, or None) and
        ``ranking_errors_macro`` (:func:`ranking_errors` of the macro ROC AUC).
    per_class : pandas.DataFrame
        :func:`mnist_lab.evaluation.metrics.per_class_report` with the class name as a column ``class``, plus
        ``ranking_errors`` (:func:`ranking_errors` of ``roc_auc``).
    confusion : pandas.DataFrame
        :func:`mnist_lab.evaluation.confusion.confusion_long` of the counts, classes as names.
    roc, pr : pandas.DataFrame
        :func:`mnist_lab.evaluation.metrics.roc_curves` and :func:`mnist_lab.evaluation.metrics.pr_curves`, thinned to
        :data:`CURVE_POINTS` points per curve.
    confused_pairs : pandas.DataFrame
        The five most frequent mistakes (``true``, ``predicted``, ``count``).
    predicted : numpy.ndarray
        Predicted class index of every test image.
    confidence : numpy.ndarray
        Probability the model gave its predicted class, per test image.
    """

    run_id: str
    epoch: int
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    roc: pd.DataFrame
    pr: pd.DataFrame
    confused_pairs: pd.DataFrame
    predicted: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """Tidy frames comparing several evaluated runs, each row tagged with the run's label in ``run``.

    Attributes
    ----------
    per_class : pandas.DataFrame
        Columns ``run``, ``class``, ``metric`` (a name of :data:`COMPARED`) and ``value``.
    roc : pandas.DataFrame
        The runs' ROC curves with a ``run`` column.
    history : pandas.DataFrame
        Per-epoch training curves of all runs (:func:`mnist_lab.training.curves.runs_history_frame`).
    table : pandas.DataFrame
        One row per run (index ``run``): the hyperparameters that differ, then the :data:`HEADLINE` figures.
    """

    per_class: pd.DataFrame
    roc: pd.DataFrame
    history: pd.DataFrame
    table: pd.DataFrame


class _ModelOnDemand:
    """Stands in for a RunModel and loads the real one only if something has to be predicted."""

    def __init__(self, load_model: Callable[[], inference.RunModel]):
        self._load_model = load_model
        self._model: inference.RunModel | None = None

    def predict_images(self, images: np.ndarray) -> np.ndarray:
        if self._model is None:
            self._model = self._load_model()
        return self._model.predict_images(images)


def evaluate_run(
    store: run_store.RunStore,
    run: run_store.Run,
    load_model: Callable[[], inference.RunModel],
    dataset: Dataset | None = None,
) -> Evaluation:
    """Evaluate the run's saved model on the full test set and store the results with the run.

    Parameters
    ----------
    store : RunStore
        The store holding ``run``; the scores, per-class table, curves and ``metrics["test"]`` are saved there.
    run : Run
        The run to evaluate (its model of epoch ``run.saved_epochs``).
    load_model : callable
        Returns the run's loaded :class:`~mnist_lab.predictions.inference.RunModel`; called only when scores
        have not been stored for this epoch yet.
    dataset : Dataset, optional
        The run's dataset, when the caller has it loaded already; read from the run when None.

    Returns
    -------
    Evaluation

    Raises
    ------
    ModelUnavailableError
        The scores are not stored yet and the run has no usable model file.
    StoreError
        The results cannot be written to the run's folder or database.
    """
    dataset = _dataset_of(store, run, dataset)
    inference.require_saved_model(run)
    model = _ModelOnDemand(load_model)
    scores = inference.test_scores(store, run, model, dataset.x_test)
    labels = list(dataset.class_names)
    truth = np.asarray(labels)[dataset.y_test]
    computed = _Computed(lambda: metrics.report(truth, scores, labels=labels, max_points=CURVE_POINTS))
    frames = _metric_frames(store, run, computed)
    # The first evaluation has every figure from the shared computation; a reopened one only needs the summary.
    summary = dict(computed.value.summary) if computed.done else metrics.summary(truth, scores, labels=labels)
    train_accuracy, train_images = _train_accuracy(store, run, model, dataset)
    summary["train_accuracy"], summary["train_images"] = train_accuracy, train_images
    summary["accuracy_gap"] = None if train_accuracy is None else train_accuracy - summary["accuracy"]
    summary["ranking_errors_macro"] = ranking_errors(summary["roc_auc_macro"])
    predicted = np.argmax(scores, axis=1).astype(np.int8)
    counts = confusion_counts(dataset.y_test, predicted, labels=range(len(labels)))
    evaluation = Evaluation(
        run_id=run.id,
        epoch=run.saved_epochs,
        summary=summary,
        per_class=frames["per_class"].assign(ranking_errors=lambda frame: ranking_errors(frame["roc_auc"])),
        confusion=confusion_long(counts, labels=labels),
        roc=frames["roc"],
        pr=frames["pr"],
        confused_pairs=most_confused_pairs(counts, labels=labels),
        predicted=predicted,
        confidence=scores[np.arange(len(scores)), predicted],
    )
    store.update_metrics(run.id, test=stored_figures(evaluation))
    return evaluation


def _dataset_of(store: run_store.RunStore, run: run_store.Run, dataset: Dataset | None) -> Dataset:
    """The dataset ``run`` was trained on, checked against its recorded name and checksum."""
    if dataset is None:
        return dataset_for_run(run.dataset, run.dataset_sha256, store.home, database=store.database_url)
    if dataset.name != run.dataset:
        raise DatasetError(f"this run was trained on {run.dataset}, not on {dataset.name}")
    return dataset


class _Computed:
    """A value computed on first use and kept: the metrics report that several stored frames come from."""

    def __init__(self, compute: Callable[[], Any]):
        self._compute = compute
        self.done = False
        self._value: Any = None

    @property
    def value(self) -> Any:
        if not self.done:
            self._value, self.done = self._compute(), True
        return self._value


def _metric_frames(store: run_store.RunStore, run: run_store.Run, computed: _Computed) -> dict[str, pd.DataFrame]:
    """Per-class report and curves of the run's saved model: read back when stored, else computed and stored.

    ``computed.value`` is a :class:`mnist_lab.evaluation.metrics.Report`, computed once for all three frames.
    """
    compute = {
        "per_class": lambda: computed.value.per_class.reset_index(),
        "roc": lambda: computed.value.roc,
        "pr": lambda: computed.value.pr,
    }
    return {
        frame: pd.DataFrame(
            store.cached_array(
                run.id,
                f"evaluation_{frame}{_FRAME_VERSIONS.get(frame, '')}_epoch{run.saved_epochs}",
                lambda frame=frame: _as_records(compute[frame]()),
                valid=lambda array: array.dtype.names is not None,
            )
        )
        for frame in STORED_FRAMES
    }


def _as_records(frame: pd.DataFrame) -> np.ndarray:
    """The frame as a structured array whose class names are fixed-width text, as wide as the longest.

    Fixed-width text instead of Python objects: stored arrays are loaded without pickle.
    """
    width = int(frame["class"].str.len().max())
    return frame.to_records(index=False, column_dtypes={"class": f"U{width}"})


def stored_figures(evaluation: Evaluation) -> dict[str, Any]:
    """The figures kept in the run's metrics under ``"test"``, for other pages and the report."""
    per_class = evaluation.per_class.set_index("class")
    return {
        "epoch": evaluation.epoch,
        **evaluation.summary,
        "per_class": {column: per_class[column].to_dict()
                      for column in ("precision", "recall", "f1", "roc_auc", "ranking_errors")},
    }


def _train_accuracy(
    store: run_store.RunStore, run: run_store.Run, model: _ModelOnDemand, dataset: Dataset
) -> tuple[float | None, int]:
    """Accuracy on (a sample of) the images the model trained on and their number; scores stored like the test ones."""
    try:
        split = split_data(dataset, config.from_dict(config.TrainConfig, run.train_config))
    except (config.ConfigError, TypeError):
        return None, 0
    chosen = np.random.default_rng(0).permutation(len(split.y_train))[:TRAIN_SAMPLE]
    chosen.sort()
    scores = store.cached_array(
        run.id,
        f"{TRAIN_SCORES}_epoch{run.saved_epochs}",
        lambda: model.predict_images(split.x_train[chosen, ..., 0]).astype(np.float32),
        valid=lambda stored: stored.shape == (len(chosen), len(dataset.class_names)),
    )
    return float(np.mean(np.argmax(scores, axis=1) == split.y_train[chosen])), len(chosen)


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


class CellExamples(NamedTuple):
    """Test images of one confusion-matrix cell."""

    images: np.ndarray
    indices: np.ndarray
    total: int


def cell_examples(evaluation: Evaluation, dataset: Dataset, true: str, predicted: str, *, limit: int = 20) -> CellExamples:
    """Test images of class ``true`` that the model read as ``predicted``, most confident first.

    Returns
    -------
    CellExamples
        ``images``: uint8 (m, 28, 28), at most ``limit`` of them; ``indices``: their places in the
        test set; ``total``: how many test images the cell holds.

    Raises
    ------
    ValueError
        If ``true`` or ``predicted`` is not a class name of ``dataset``.
    """
    names = list(dataset.class_names)
    if true not in names or predicted not in names:
        raise ValueError(f"classes must be among {names}, got true={true!r}, predicted={predicted!r}")
    members = np.flatnonzero((dataset.y_test == names.index(true)) & (evaluation.predicted == names.index(predicted)))
    order = members[np.argsort(-evaluation.confidence[members], kind="stable")][:limit]
    return CellExamples(dataset.x_test[order], order, len(members))


def run_labels(runs: Sequence[run_store.Run]) -> dict[str, str]:
    """Label of each run for legends and tables: its name, with the id's end where names repeat."""
    return run_store.distinct_labels(runs)


def hyperparameter_diff(runs: Sequence[run_store.Run]) -> pd.DataFrame:
    """The model and training settings whose values differ between ``runs``, one row per run.

    Parameters
    ----------
    runs : sequence of Run

    Returns
    -------
    pandas.DataFrame
        Index ``run`` (labels from :func:`run_labels`), one column per differing setting, in the
        order model settings then training settings; a setting that appears in both is prefixed
        with ``model.`` or ``train.``. Lists are shown as comma-separated text, missing settings as None.
    """
    settings = [_flat_settings(run) for run in runs]
    keys = list(dict.fromkeys(key for row in settings for key in row))
    differing = [key for key in keys if len({repr(row.get(key)) for row in settings}) > 1]
    labels = run_labels(runs)
    table = pd.DataFrame([{key: row.get(key) for key in differing} for row in settings], columns=differing)
    table.index = pd.Index([labels[run.id] for run in runs], name="run")
    return table


def _flat_settings(run: run_store.Run) -> dict[str, Any]:
    """The settings a run's network and training really use, in one dict, lists as text (a setting its
    architecture ignores is left out, so a comparison never credits a network with a layer it lacks)."""
    model, train = network_settings(run.model_config), training_settings(run.train_config)
    shared = set(model) & set(train)
    flat = {}
    for section, values in (("model", model), ("train", train)):
        for key, value in values.items():
            name = f"{section}.{key}" if key in shared else key
            flat[name] = ", ".join(map(str, value)) if isinstance(value, list) else value
    return flat


def check_comparable(runs: Sequence[run_store.Run]) -> None:
    """Refuse to compare runs trained on different datasets: their test sets and classes differ.

    Raises
    ------
    DatasetError
        The message names each dataset and its runs.
    """
    by_dataset: dict[str, list[str]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run.name)
    if len(by_dataset) > 1:
        groups = "; ".join(f"{name}: {', '.join(names)}" for name, names in by_dataset.items())
        raise DatasetError(
            f"runs trained on different datasets cannot be compared (their test images and classes differ): {groups}"
        )


def compare(runs: Sequence[run_store.Run], evaluations: Sequence[Evaluation]) -> Comparison:
    """Put the evaluations of several runs side by side.

    Parameters
    ----------
    runs : sequence of Run
        The runs, with their histories (as from ``RunStore.get``).
    evaluations : sequence of Evaluation
        Their evaluations, in the same order.

    Returns
    -------
    Comparison
    """
    if len(runs) != len(evaluations) or any(run.id != ev.run_id for run, ev in zip(runs, evaluations)):
        raise ValueError("give one evaluation per run, in the same order")
    check_comparable(runs)
    labels = run_labels(runs)
    per_class = pd.concat(
        [
            ev.per_class.melt(id_vars="class", value_vars=list(COMPARED), var_name="metric").assign(run=labels[ev.run_id])
            for ev in evaluations
        ],
        ignore_index=True,
    )
    per_class["metric"] = per_class["metric"].map(COMPARED)
    roc = pd.concat([ev.roc.assign(run=labels[ev.run_id]) for ev in evaluations], ignore_index=True)
    history = curves.runs_history_frame({labels[run.id]: run.history for run in runs})
    figures = pd.DataFrame(
        [{title: ev.summary.get(key) for key, title in HEADLINE.items()} for ev in evaluations],
        index=pd.Index([labels[ev.run_id] for ev in evaluations], name="run"),
    )
    table = hyperparameter_diff(runs).join(figures)
    return Comparison(per_class=per_class[["run", "class", "metric", "value"]], roc=roc, history=history, table=table)
