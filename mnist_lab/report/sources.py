"""What the answer builders of both parts read, and the helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mnist_lab import training
from mnist_lab.data import Dataset
from mnist_lab.models import architectures, config
from mnist_lab.report.evidence import DataFacts, RunEvidence, Table
from mnist_lab.text import markdown_text
from mnist_lab.training import experiments


@dataclass(frozen=True)
class Sources:
    """Everything the answer builders read.

    Attributes
    ----------
    data : Dataset
    facts : DataFacts
        The data-only evidence of ``data``.
    run : RunEvidence or None
        The run reported on, if any.
    problem : str
        Markdown: why there is no run evidence and what to do (empty with a run).
    outcomes : dict
        Experiment key to its latest :class:`mnist_lab.training.experiments.Outcome` (None if never run).
    """

    data: Dataset
    facts: DataFacts
    run: RunEvidence | None
    problem: str
    outcomes: dict[str, experiments.Outcome | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run's name, escaped for Markdown and in bold."""
        return f"**{markdown_text(self.run.run.name)}**" if self.run else ""

    @property
    def layers(self) -> pd.DataFrame:
        """The run's model, layer by layer."""
        return pd.DataFrame(architectures.summary_table(self.run.model.model))

    @property
    def pixels_per_image(self) -> int:
        """Height times width of one image."""
        height, width = self.data.image_shape
        return height * width

    @property
    def noun(self) -> str:
        """What one class is called in the answers: "digit" for digit datasets, else "class"."""
        return "digit" if self.data.drawable else "class"

    @property
    def chance(self) -> float:
        """The accuracy of guessing: one in the number of classes."""
        return 1 / len(self.data.class_names)

    def needs_run(self, what: str) -> str:
        """Why an answer lacks the run's evidence, and that with a run it shows ``what``."""
        return f"{self.problem} Then this answer shows {what}."

    def split_sizes(self) -> tuple[int, int]:
        """Training and validation images of the run, cut from the training split as training does."""
        train_config = config.from_dict(config.TrainConfig, self.run.run.train_config)
        return training.split_sizes(len(self.data.y_train), train_config)


def label(choices: dict, key: str | None) -> str:
    """The label of a registry choice, or the key itself if the registry no longer has it.

    Parameters
    ----------
    choices : dict
        A registry such as :data:`mnist_lab.models.architectures.ARCHITECTURES`, key to a choice with a ``label``.
    key : str or None
        The key stored with a run.

    Returns
    -------
    str
    """
    return choices[key].label if key in choices else str(key)


def layer_table(layers: pd.DataFrame, caption: str) -> Table:
    """Rows of a model summary as evidence, with column titles for readers.

    Parameters
    ----------
    layers : pandas.DataFrame
        Rows of :func:`mnist_lab.models.architectures.summary_table`.
    caption : str

    Returns
    -------
    Table
    """
    return Table(layers.rename(columns=architectures.SUMMARY_TITLES), caption)
