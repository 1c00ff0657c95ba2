"""What the report is made of: the evidence kinds, an answer, the report, and the run and data it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mnist_lab import evaluation
from mnist_lab.data import Dataset, explore
from mnist_lab.predictions import inference
from mnist_lab.report.questions import Question, question
from mnist_lab.runs import store as run_store

#: Training images of each digit shown in A1.
GALLERY_PER_CLASS = 6


@dataclass(frozen=True)
class Figures:
    """Headline figures, already formatted, label to value."""

    values: dict[str, str]
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """A table of evidence."""

    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Images:
    """Pictures (uint8 grey arrays), each with a short caption and, where the caption alone does not say what the
    picture shows, a longer text alternative (``alts``, one per picture; empty: the captions are the alternatives)."""

    images: tuple[np.ndarray, ...]
    captions: tuple[str, ...]
    caption: str = ""
    alts: tuple[str, ...] = ()

    @property
    def alternatives(self) -> tuple[str, ...]:
        """Each picture's text alternative: its entry of ``alts``, else its caption."""
        return self.alts or self.captions


@dataclass(frozen=True)
class Chart:
    """An Altair chart.

    ``panels``, when given, are the same figures as charts that may each be as wide as their column, for a page
    that can place them side by side or stack them on a phone (the exports draw ``chart``); ``stretch`` says that
    ``chart`` itself may be drawn as wide as the page (it has no legend to push out of view).
    """

    chart: Any
    caption: str = ""
    panels: tuple = ()
    stretch: bool = False
    #: What the chart shows for this run in one sentence (:mod:`mnist_lab.charts.describe`), and the figures it is
    #: drawn from: for a reader who cannot see it.
    summary: str = ""
    table: pd.DataFrame | None = None


@dataclass(frozen=True)
class Code:
    """Code and what it printed or raised."""

    code: str
    caption: str = ""


Evidence = Figures | Table | Images | Chart | Code


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    Attributes
    ----------
    question : Question
    text : str
        The answer in CommonMark (paragraphs, ``- `` lists, ``**bold**``, ``*italic*``, ```code```);
        user-supplied text in it is escaped with :func:`mnist_lab.text.markdown_text`.
    evidence : tuple of Evidence
    todo : str
        What the user can do to complete the evidence (empty when nothing is missing).
    experiment : str
        Key of the comparison run (``mnist_lab.training.experiments.EXPERIMENTS``) offered with the answer, or "".
    """

    question: Question
    text: str
    evidence: tuple[Evidence, ...] = ()
    todo: str = ""
    experiment: str = ""


@dataclass(frozen=True)
class Report:
    """Every question's answer for one run (or for the data alone).

    Attributes
    ----------
    title : str
        Plain text; contains the run's name when there is one.
    intro : str
        Markdown: which run and model the answers describe, or what is missing.
    answers : tuple of Answer
        In question order.
    """

    title: str
    intro: str
    answers: tuple[Answer, ...]

    def answer(self, question_id: str) -> Answer:
        """Return the answer to ``question_id`` (ValueError for an unknown id)."""
        wanted = question(question_id)
        return next(answer for answer in self.answers if answer.question == wanted)


@dataclass(frozen=True)
class RunEvidence:
    """What the report takes from a run whose model can be used.

    Attributes
    ----------
    run : Run
        The run, with its history.
    model : RunModel
        Its loaded model.
    evaluation : Evaluation
        Its evaluation on the full test set (:func:`mnist_lab.evaluation.evaluate_run`).
    scores : numpy.ndarray
        Its class probabilities for every test image, (n, 10).
    """

    run: run_store.Run
    model: inference.RunModel
    evaluation: evaluation.Evaluation
    scores: np.ndarray


@dataclass(frozen=True)
class DataFacts:
    """The data-only evidence, the same for every run (worth computing once).

    Attributes
    ----------
    counts : pandas.DataFrame
        Images per class and split (:func:`mnist_lab.data.explore.class_counts`).
    pixels : dict
        :func:`mnist_lab.data.explore.pixel_facts`.
    gallery : dict
        Class name to uint8 images (:func:`mnist_lab.data.explore.gallery` of the training split, seed 0).
    """

    counts: pd.DataFrame
    pixels: dict[str, float]
    gallery: dict[str, np.ndarray]


def data_facts(dataset: Dataset) -> DataFacts:
    """Compute the data-only evidence of ``dataset``.

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    DataFacts
        With :data:`GALLERY_PER_CLASS` training images of each class.
    """
    return DataFacts(
        counts=explore.class_counts(dataset),
        pixels=explore.pixel_facts(dataset),
        gallery=explore.gallery(dataset, "train", GALLERY_PER_CLASS, seed=0),
    )
