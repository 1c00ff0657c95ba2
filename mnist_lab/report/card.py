"""The reproducibility card of a run: what it is, what it was trained on and with, and on which machine.

The card is plain data (:class:`ReproducibilityCard`) with one Markdown rendering (:func:`to_markdown`) that
the Report page, the exports and the notebook all show. Package versions are read from the installed
distributions' metadata, so making a card never imports TensorFlow.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from mnist_lab.environment import describe
from mnist_lab.models.architectures import network_settings
from mnist_lab.models.optim import training_settings
from mnist_lab.runs.store import Run
from mnist_lab.text import markdown_text

RECORDED = "The software and the machine are those recorded when the run was started."
NOT_RECORDED = ("This run was started before MNIST Lab recorded its software and machine: those shown are the ones "
                "of the MNIST Lab that made this card.")


@dataclass(frozen=True)
class ReproducibilityCard:
    """What it takes to reproduce a run.

    Attributes
    ----------
    run_id, run_name : str
    created : str
        When the run was started, ``YYYY-MM-DD HH:MM:SS UTC``.
    status : str
        The run's final status (``finished``, ``stopped`` ...).
    train_seconds : float or None
        Time spent in training batches, without evaluation and saving; None before the first epoch.
    seed : int or None
    model_config, train_config : dict
        The settings the built network and its training use (:func:`mnist_lab.models.architectures.network_settings`,
        :func:`mnist_lab.models.optim.training_settings`): a fixed network's card lists none of the custom
        network's fields, which it ignores.
    dataset : str
        The dataset's name.
    dataset_sha256 : str
        The SHA-256 naming the dataset's four files (:func:`mnist_lab.data.checksums.combined_sha256`).
    versions : dict
        ``Python``, ``TensorFlow``, ``Keras``, ``NumPy``, ``scikit-learn`` and ``MNIST Lab`` to their versions.
    cpu : str
        The machine's CPU model.
    cores : int
        Logical CPU cores of the machine.
    recorded : bool
        Whether the versions and the machine were recorded with the run (else they are this process's).
    """

    run_id: str
    run_name: str
    created: str
    status: str
    train_seconds: float | None
    seed: int | None
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    dataset: str
    dataset_sha256: str
    versions: dict[str, str]
    cpu: str
    cores: int
    recorded: bool


def reproducibility_card(run: Run) -> ReproducibilityCard:
    """Make the card of ``run`` with the software and machine recorded when it was started.

    A run from before MNIST Lab recorded them gets this process's, and the card says so.

    Parameters
    ----------
    run : Run

    Returns
    -------
    ReproducibilityCard
    """
    environment = run.environment or describe()
    return ReproducibilityCard(
        run_id=run.id,
        run_name=run.name,
        created=datetime.datetime.fromtimestamp(run.created, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        status=run.status,
        train_seconds=run.metrics.get("train_seconds"),
        seed=run.train_config.get("seed"),
        model_config=network_settings(run.model_config),
        train_config=training_settings(run.train_config),
        dataset=run.dataset,
        dataset_sha256=run.dataset_sha256,
        versions=environment["versions"],
        cpu=environment["cpu"],
        cores=environment["cores"],
        recorded=bool(run.environment),
    )


def to_markdown(card: ReproducibilityCard) -> str:
    """The card as Markdown: a table of facts and the full configs as JSON.

    Parameters
    ----------
    card : ReproducibilityCard

    Returns
    -------
    str
        Starts with a ``## Reproducibility card`` heading; the run's name is escaped.
    """
    seconds = "none yet" if card.train_seconds is None else _duration(card.train_seconds)
    rows = [
        ("Run", f"{markdown_text(card.run_name)} (`{card.run_id}`), {card.status}"),
        ("Started", card.created),
        ("Training time", seconds),
        ("Seed", str(card.seed)),
        ("Dataset", markdown_text(card.dataset)),
        ("Dataset SHA-256", f"`{card.dataset_sha256 or 'not recorded'}`"),
        *((name, version) for name, version in card.versions.items()),
        ("Machine", f"{markdown_text(card.cpu)}, {card.cores} cores"),
    ]
    configs = json.dumps({"model": card.model_config, "training": card.train_config}, indent=2, sort_keys=True)
    return "\n".join([
        "## Reproducibility card",
        "",
        "| | |",
        "|---|---|",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
        "The dataset's SHA-256 is that of its four files' SHA-256 (of their uncompressed content, in the order "
        "training images, training labels, test images, test labels), joined. "
        + (RECORDED if card.recorded else NOT_RECORDED) + " The settings the network and its training use:",
        "",
        "```json",
        configs,
        "```",
    ])


def _duration(seconds: float) -> str:
    """``12.3 s`` or ``5 min 31 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


__all__ = ["ReproducibilityCard", "reproducibility_card", "to_markdown"]
