"""Evaluating a stored run on the full test set.

The test-set scores are predicted once per saved model and stored with the run (see
:func:`mnist_lab.predictions.inference.test_scores`), together with the per-class table and the curves;
the headline figures are merged into the run's metrics under ``"test"`` for other pages and
the report. Evaluating the same model again reads all of it back without loading the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mnist_lab.data import Dataset, dataset_for_run
from mnist_lab.errors import DatasetError
from mnist_lab.evaluation import metrics
from mnist_lab.evaluation.confusion import confusion as confusion_counts
from mnist_lab.evaluation.confusion import confusion_long, most_confused_pairs
from mnist_lab.evaluation.explain import ranking_errors
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training.split import split_data

logger = logging.getLogger(__name__)

#: Training images scored for the train-versus-test gap (all of them when the run trained on fewer).
TRAIN_SAMPLE = 2000
TRAIN_SCORES = "train_sample_scores"
#: Points kept per ROC or precision-recall curve: plenty for a chart, light enough for the browser.
CURVE_POINTS = 100
#: Metric frames stored with the run next to its scores, so that reopening skips their computation.
STORED_FRAMES = ("per_class", "roc", "pr")
# A new suffix when a frame's computation changes, so that frames stored by an older version are computed again.
_FRAME_VERSIONS = {"roc": "_v2"}
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
    except (config.ConfigError, TypeError) as error:
        logger.warning("run %s: its training settings cannot be read back (%s); no training accuracy is shown",
                       run.id, error)
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


