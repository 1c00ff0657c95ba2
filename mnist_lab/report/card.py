"""The reproducibility card of a run: what it is, what it was trained on and with, and on which machine.

The card is plain data (:class:`ReproducibilityCard`) with one Markdown rendering (:func:`to_markdown`) that
the Report page, the exports and the notebook all show. Package versions are read from the installed
distributions' metadata, so making a card never imports TensorFlow.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_lab.data.provenance import FileChecksum, combined_command, file_checksums
from mnist_lab.environment import describe
from mnist_lab.models.used_settings import network_settings, training_settings
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
        The settings the built network and its training use (:func:`mnist_lab.models.used_settings.network_settings`,
        :func:`mnist_lab.models.used_settings.training_settings`): a fixed network's card lists none of the custom
        network's fields, which it ignores.
    dataset : str
        The dataset's name.
    dataset_sha256 : str
        The SHA-256 naming the dataset's four files (:func:`mnist_lab.data.checksums.combined_sha256`).
    dataset_files : tuple of FileChecksum
        Each file's SHA-256 as stored and of its content; empty when the files are no longer on this server.
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
    dataset_files: tuple[FileChecksum, ...]
    versions: dict[str, str]
    cpu: str
    cores: int
    recorded: bool


def reproducibility_card(run: Run, home: Path | None = None) -> ReproducibilityCard:
    """Make the card of ``run`` with the software and machine recorded when it was started.

    A run from before MNIST Lab recorded them gets this process's, and the card says so.

    Parameters
    ----------
    run : Run
    home : Path, optional
        Home directory of imported datasets, where the dataset's files are hashed; defaults to
        ``paths.default_home()``.

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
        dataset_files=file_checksums(run.dataset, run.dataset_sha256, home),
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
        *_files_markdown(card),
        (RECORDED if card.recorded else NOT_RECORDED) + " The settings the network and its training use:",
        "",
        "```json",
        configs,
        "```",
    ])


def _files_markdown(card: ReproducibilityCard) -> list[str]:
    """Each file's SHA-256 as ``sha256sum`` prints it, and how the dataset's SHA-256 is made from them."""
    if not card.dataset_files:
        return ["The dataset's SHA-256 is made from its four files' content SHA-256; those files are no longer on "
                "this server, so their own SHA-256 cannot be listed.", ""]
    lines = ["The dataset's files: the SHA-256 of each file as stored is what `sha256sum FILE` prints; for a "
             "`.gz` file the SHA-256 of its content is what `gunzip -c FILE | sha256sum` prints.", ""]
    for file in card.dataset_files:
        lines.append(f"- {markdown_text(file.filename)}, the {file.role}:")
        lines.append(f"  - file `{file.file_sha256}`")
        if file.compressed:
            lines.append(f"  - content `{file.content_sha256}`")
    return [*lines, "",
            "The dataset's SHA-256 is the SHA-256 of the four content SHA-256, in the order above, as lowercase hex "
            f"joined without spaces: `{combined_command(card.dataset_files)}` prints it.", ""]


def _duration(seconds: float) -> str:
    """``12.3 s`` or ``5 min 31 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


__all__ = ["ReproducibilityCard", "reproducibility_card", "to_markdown"]
