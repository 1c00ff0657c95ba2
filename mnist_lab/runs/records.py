"""What a stored run is, as the pages see it, and the rules for its name."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_lab.access.users import PERSONAL
from mnist_lab.errors import RunNameError
from mnist_lab.text import markdown_text

NAME_MAX = 80

RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED, FAILED = (
    "running",
    "finished",
    "stopped",
    "diverged",
    "interrupted",
    "failed",
)
STATUSES = (RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED, FAILED)

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
#: What a page suggests when the chosen run's model cannot be used.
PICK_ANOTHER = "Pick another run in the sidebar or train a new one."


@dataclass(frozen=True)
class Run:
    """One stored run as the pages see it."""

    id: str
    name: str
    created: float
    status: str
    message: str
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    reasons: dict[str, str]
    metrics: dict[str, Any]
    saved_epochs: int
    experiment: str = ""
    dataset: str = "MNIST"
    dataset_sha256: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The software versions and machine the run was trained with (``mnist_lab.environment.describe``);
    #: empty for runs created before MNIST Lab recorded them.
    environment: dict[str, Any] = field(default_factory=dict)
    #: The id of the user the run belongs to (``mnist_lab.access.User.id``) and their name.
    owner: str = PERSONAL.id
    owner_name: str = PERSONAL.name

    @property
    def version(self) -> tuple:
        """What a view of the run depends on: its id, name, status, saved and recorded epochs.

        Two equal versions show the same run the same way, so views built from it can be kept and shared.
        """
        return self.id, self.name, self.status, self.saved_epochs, len(self.history)

    @property
    def has_model(self) -> bool:
        """Whether at least one epoch was saved, so the model can be loaded."""
        return self.saved_epochs > 0

    @property
    def problem(self) -> str | None:
        """Why the run's model cannot be used, as a sentence without a final full stop; None when it can.

        Only the database is consulted: a model file deleted or damaged on disk shows when it is loaded.
        """
        if self.has_model:
            return None
        if self.status == RUNNING:
            return f"run {self.name!r} has no saved model yet: it is in its first epoch, wait until that epoch ends"
        why = f": {self.message.rstrip('.')}" if self.message else ""
        return f"run {self.name!r} has no saved model, no epoch of it was kept ({self.status}{why})"


def not_ready(run: Run, *, when_done: str) -> str | None:
    """Why ``run`` cannot be evaluated or reported on yet, as Markdown; None when it can.

    A run still training is left alone until it has finished or been stopped, even when it has saved a model;
    otherwise its :attr:`Run.problem` says why its model cannot be used.

    Parameters
    ----------
    run : Run
    when_done : str
        What the page does with the run once it has finished, as the start of a sentence ("evaluate it").

    Returns
    -------
    str or None
        One or two sentences, the run's name escaped for Markdown.
    """
    if run.status == RUNNING:
        return f"**{markdown_text(run.name)}** is still training: {when_done} once it has finished or been stopped."
    if run.problem is not None:
        return f"{markdown_text(run.problem[0].upper() + run.problem[1:])}. {PICK_ANOTHER}"
    return None


def distinct_labels(runs: Sequence[Run], *, with_status: bool = False) -> dict[str, str]:
    """Label of each run id: its name (and status), with the end of its id where names repeat.

    Pickers need distinct labels: Streamlit maps a picked label back to the first option that has it.
    """
    names = [run.name for run in runs]
    labels = {run.id: run.name if names.count(run.name) == 1 else f"{run.name} ({run.id[-6:]})" for run in runs}
    return {run.id: f"{labels[run.id]} · {run.status}" if with_status else labels[run.id] for run in runs}


def clean_name(name: str) -> str:
    """Return ``name`` without control characters and outer spaces, at most NAME_MAX characters."""
    if not isinstance(name, str):
        raise RunNameError(f"a run name must be text, got {type(name).__name__}")
    cleaned = _printable(name)
    if not cleaned:
        raise RunNameError("a run name cannot be empty")
    return cleaned[:NAME_MAX]


def name_note(name: str) -> str | None:
    """A sentence saying how :func:`clean_name` will cut ``name`` to NAME_MAX characters; None when it fits."""
    if not isinstance(name, str):
        return None
    cleaned = _printable(name)
    if len(cleaned) <= NAME_MAX:
        return None
    return (f"Run names are at most {NAME_MAX} characters; this one has {len(cleaned):,}, so it is kept as its first "
            f"{NAME_MAX}: {cleaned[:NAME_MAX]!r}.")


def _printable(name: str) -> str:
    """``name`` without control characters and outer spaces, not yet cut to NAME_MAX."""
    return "".join(ch for ch in name if ch.isprintable()).strip()


def download_filename(run: Run) -> str:
    """Return a safe file name for downloading the run's model."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name).strip("-.")[:40] or "run"
    return f"{slug}-{run.id}.keras"


def to_run(row: Any, history: list[dict[str, Any]]) -> Run:
    """Build a Run from a row of the ``runs`` table (a mapping of its columns)."""
    return Run(
        id=row["id"],
        name=row["name"],
        created=row["created"],
        status=row["status"],
        message=row["message"],
        model_config=json.loads(row["model_config"]),
        train_config=json.loads(row["train_config"]),
        reasons=json.loads(row["reasons"]),
        metrics=json.loads(row["metrics"]),
        saved_epochs=row["saved_epochs"],
        experiment=row["experiment"],
        dataset=row["dataset"],
        dataset_sha256=row["dataset_sha256"],
        history=history,
        environment=json.loads(row["environment"]),
        owner=row["student"],
        owner_name=row["student_name"],
    )


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) with None, and numpy scalars with Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
