"""The figures of a run that a student may quote, and the check of every number a student writes against them.

A number in an answer that matches none of the run's figures, rounded as the student wrote it, gets a gentle
note with the nearest figure of the run ("98%: your run's test accuracy is 99.19%"). The check never blocks
saving: it only points at a figure worth a second look.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from mnist_lab.data import Dataset
from mnist_lab.errors import ConfigError
from mnist_lab.models import config
from mnist_lab.report.evidence import RunEvidence
from mnist_lab.training.split import split_sizes

logger = logging.getLogger(__name__)

#: A fraction a student may write as a percentage or a decimal (accuracies, recalls, AUC).
SHARE = "share"
#: A whole number (images, weights, mistakes, epochs).
COUNT = "count"
#: Any other measured or chosen number (losses, learning rates, seconds).
VALUE = "value"

# A number as students write it: 60,000 / 60000 / 99.19 / .5 / 1e-3, optionally followed by % (not inside a word).
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)(\s?%)?(?![\w])")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)
_WORDS = re.compile(r"[a-z]+")
# How far before a number the words that say what it is are looked for, and words that say nothing of it.
_CONTEXT = 60
_COMMON = {"number", "of", "in", "the", "a", "per", "set", "class", "and", "between", "logged", "last"}
# Small whole numbers are ordinary words in prose ("two layers", "step 3"), and years are dates, not figures.
_SMALLEST_CHECKED = 13
_YEARS = range(1900, 2101)


@dataclass(frozen=True)
class Figure:
    """One figure of a run or its data.

    Attributes
    ----------
    label : str
        What it is, to follow "your run's" ("test accuracy").
    value : float
        Shares as fractions (0.9919), counts as whole numbers.
    kind : str
        :data:`SHARE`, :data:`COUNT` or :data:`VALUE`.
    """

    label: str
    value: float
    kind: str

    @property
    def text(self) -> str:
        """The figure as the report prints it: 99.19%, 60,000, 0.0273."""
        if self.kind == SHARE:
            return f"{self.value:.2%}"
        if self.kind == COUNT:
            return f"{round(self.value):,}"
        return f"{self.value:.4g}"


@dataclass(frozen=True)
class FigureNote:
    """A number of an answer that matches no figure of the run.

    Attributes
    ----------
    written : str
        The number as the student wrote it ("98%").
    nearest : Figure or None
        The run's figure closest to it, when one is comparable.
    """

    written: str
    nearest: Figure | None

    @property
    def text(self) -> str:
        """The note shown beside the answer."""
        if self.nearest is None:
            return f"{self.written}: no figure of your run matches it; check where it comes from."
        return f"{self.written}: your run's {self.nearest.label} is {self.nearest.text}."


def run_figures(evidence: RunEvidence, dataset: Dataset) -> tuple[Figure, ...]:
    """Every figure of the run and its data that an answer may quote.

    Parameters
    ----------
    evidence : RunEvidence
        The run with its evaluation on the test set.
    dataset : Dataset
        The run's dataset.

    Returns
    -------
    tuple of Figure
        The evaluation's (test accuracy, error rate, mistakes, loss, macro precision, recall and F1, ROC AUC,
        training accuracy and the gap), the last epoch's logged figures, the per-class recall and precision, the
        most frequent confusions, the network's weights, the training settings, the split sizes and the data's
        shape.
    """
    return (*_evaluation_figures(evidence), *_epoch_figures(evidence), *_class_figures(evidence),
            *_setting_figures(evidence, dataset), *data_figures(dataset))


def data_figures(dataset: Dataset) -> tuple[Figure, ...]:
    """The figures of the data alone: image size, inputs, classes, pixel range, split sizes."""
    height, width = dataset.image_shape
    return (
        Figure("image height", height, COUNT), Figure("image width", width, COUNT),
        Figure("number of input values per image", height * width, COUNT),
        Figure("number of colour values of a 28x28x3 image", height * width * 3, COUNT),
        Figure("number of classes", len(dataset.class_names), COUNT), Figure("largest pixel value", 255, COUNT),
        Figure("number of training images in the dataset", len(dataset.y_train), COUNT),
        Figure("number of test images in the dataset", len(dataset.y_test), COUNT),
    )


def _evaluation_figures(evidence: RunEvidence) -> list[Figure]:
    summary = evidence.evaluation.summary
    figures = [
        Figure("test accuracy", summary["accuracy"], SHARE),
        Figure("test error rate", 1 - summary["accuracy"], SHARE),
        Figure("number of test mistakes", round((1 - summary["accuracy"]) * summary["n"]), COUNT),
        Figure("test loss", summary["log_loss"], VALUE),
        Figure("macro-averaged precision", summary["precision_macro"], SHARE),
        Figure("macro-averaged recall", summary["recall_macro"], SHARE),
        Figure("macro-averaged F1", summary["f1_macro"], SHARE),
        Figure("weighted recall", summary["recall_weighted"], SHARE),
        Figure("macro-averaged ROC AUC", summary["roc_auc_macro"], SHARE),
    ]
    if summary.get("train_accuracy") is not None:
        figures += [Figure("training accuracy", summary["train_accuracy"], SHARE),
                    Figure("gap between training and test accuracy", abs(summary["accuracy_gap"]), SHARE)]
    return [figure for figure in figures if math.isfinite(figure.value)]


def _epoch_figures(evidence: RunEvidence) -> list[Figure]:
    history = evidence.run.history
    if not history:
        return []
    last, named = history[-1], {"accuracy": "training accuracy logged in the last epoch",
                                "loss": "training loss in the last epoch",
                                "val_accuracy": "validation accuracy", "val_loss": "validation loss",
                                "test_accuracy": "test accuracy logged in the last epoch"}
    figures = [Figure(label, last[key], SHARE if key.endswith("accuracy") else VALUE)
               for key, label in named.items() if isinstance(last.get(key), (int, float))]
    seconds = evidence.run.metrics.get("train_seconds") or last.get("train_seconds")
    if isinstance(seconds, (int, float)):
        figures.append(Figure("training time in seconds", seconds, VALUE))
    return [figure for figure in figures if math.isfinite(figure.value)]


def _class_figures(evidence: RunEvidence) -> list[Figure]:
    per_class = evidence.evaluation.per_class
    figures = [Figure(f"{metric} of class {row['class']}", row[metric], SHARE)
               for _, row in per_class.iterrows() for metric in ("recall", "precision")
               if math.isfinite(row[metric])]
    figures += [Figure(f"number of {row.true}s read as {row.predicted}", row.count, COUNT)
                for row in evidence.evaluation.confused_pairs.itertuples()]
    return figures


def _setting_figures(evidence: RunEvidence, dataset: Dataset) -> list[Figure]:
    run = evidence.run
    figures = [Figure("number of weights", evidence.model.model.count_params(), COUNT),
               Figure("number of epochs trained", run.saved_epochs, COUNT)]
    train = run.train_config
    for key, label, kind in (("epochs", "number of epochs set", COUNT), ("batch_size", "batch size", COUNT),
                             ("learning_rate", "learning rate", VALUE), ("seed", "seed", COUNT),
                             ("validation_fraction", "validation share", SHARE), ("dropout", "dropout rate", SHARE)):
        if isinstance(train.get(key), (int, float)) and not isinstance(train.get(key), bool):
            figures.append(Figure(label, train[key], kind))
    try:
        trained, validated = split_sizes(len(dataset.y_train), config.from_dict(config.TrainConfig, train))
    except (ConfigError, TypeError) as error:
        logger.warning("run %s: its training settings cannot be read back (%s); the hand-in's figures leave out "
                       "its numbers of training and validation images", run.id, error)
        return figures
    return [*figures, Figure("number of training images", trained, COUNT),
            Figure("number of validation images", validated, COUNT)]


def check_numbers(text: str, figures: tuple[Figure, ...]) -> list[FigureNote]:
    """The numbers of ``text`` that match none of ``figures``, each with the nearest comparable figure.

    A number matches a figure when the figure, rounded to as many decimals as the student wrote, gives it: 99.2%
    and 99% both match a test accuracy of 99.19%, 0.99 matches it as a fraction. Numbers in code, list markers,
    whole numbers below 13 and years are not checked.

    Parameters
    ----------
    text : str
        The student's answer (Markdown).
    figures : tuple of Figure
        :func:`run_figures` of the run the answer is about.

    Returns
    -------
    list of FigureNote
        In the order the numbers appear, each number once.

    Examples
    --------
    >>> figures = (Figure("test accuracy", 0.9919, SHARE), Figure("number of weights", 170_666, COUNT))
    >>> [note.text for note in check_numbers("I got 99.2% with 170,666 weights, not 98%.", figures)]
    ["98%: your run's test accuracy is 99.19%."]
    """
    notes, seen = [], set()
    prose = _LIST_MARKER.sub(" ", _CODE.sub(" ", text))
    for match in _NUMBER.finditer(prose):
        written = match.group(1) + ("%" if match.group(2) else "")
        if written in seen:
            continue
        seen.add(written)
        number = _parse(match.group(1))
        if number is None or _unchecked(match.group(1), number, bool(match.group(2))):
            continue
        candidates = _comparable(number, _tolerance(match.group(1)), bool(match.group(2)), figures)
        if not any(matches for matches, _, _ in candidates):
            context = set(_WORDS.findall(prose[max(0, match.start() - _CONTEXT):match.start()].lower()))
            notes.append(FigureNote(written, _nearest(candidates, context)))
    return notes


def _nearest(candidates: list[tuple[bool, float, Figure]], context: set[str]) -> Figure | None:
    """The figure whose label shares most words with those just before the number ("test accuracy") and has
    fewest others, then the closest."""
    if not candidates:
        return None

    def fit(candidate: tuple[bool, float, Figure]) -> tuple[int, int, float]:
        words = set(_WORDS.findall(candidate[2].label)) - _COMMON
        return -len(context & words), len(words - context), candidate[1]

    return min(candidates, key=fit)[2]


def _parse(token: str) -> float | None:
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def _tolerance(token: str) -> float:
    """Half a unit of the last digit written: 99.2 stands for anything from 99.15 to 99.25, 1e-3 for 0.5e-3-1.5e-3."""
    mantissa, _, exponent = token.lower().replace(",", "").partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals) + 1e-12


def _unchecked(token: str, number: float, percent: bool) -> bool:
    """Whether a number is ordinary prose rather than a figure: a small whole number or a year."""
    whole = "." not in token and "e" not in token.lower()
    return whole and not percent and (number < _SMALLEST_CHECKED or (number in _YEARS and "," not in token))


def _comparable(number: float, tolerance: float, percent: bool,
                figures: tuple[Figure, ...]) -> list[tuple[bool, float, Figure]]:
    """(matches, distance, figure) for every figure the written number could be meant as."""
    found = []
    for figure in figures:
        for shown in _readings(figure, number, percent):
            distance = abs(shown - number) / max(abs(shown), abs(number), 1e-12)
            found.append((abs(shown - number) <= tolerance, distance, figure))
    return found


def _readings(figure: Figure, number: float, percent: bool) -> list[float]:
    """The ways ``figure`` may be written for comparison with ``number``: a share as a percentage or fraction."""
    if figure.kind == SHARE:
        return [figure.value * 100] if percent else [figure.value, figure.value * 100]
    if percent:
        return []
    if figure.kind == COUNT:
        return [figure.value] if number == int(number) else []
    return [figure.value]
