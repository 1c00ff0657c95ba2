"""The teacher's view of the class's hand-ins: who answered what, what they revealed, their receipts; re-training a
hand-in's run to check it."""

from __future__ import annotations

import datetime
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from mnist_lab.data import Dataset
from mnist_lab.errors import AccessError, MnistLabError
from mnist_lab.report.exporters import to_html
from mnist_lab.report.notebook import report_of_run
from mnist_lab.report.questions import QUESTIONS
from mnist_lab.runs import schema
from mnist_lab.runs.store import FINISHED, Run, RunStore
from mnist_lab.workbook.answers import names_of_students
from mnist_lab.workbook.handin import build_handin

logger = logging.getLogger(__name__)

HANDIN_COLUMNS = ("student", "run", "answered", "revealed before answering", "revealed after answering",
                  "last edit", "receipt")
#: The prefix of the ``experiment`` tag of a teacher's re-training of a hand-in's run (followed by its run id).
RECHECK = "recheck:"
#: How close, in percentage points of test accuracy, a re-training must come to agree with the hand-in's run.
AGREEMENT_POINTS = 0.3


def handins_frame(store: RunStore, runs: Sequence[Run]) -> pd.DataFrame:
    """One row per hand-in: a run whose student wrote at least one answer or exported it.

    Parameters
    ----------
    store : RunStore
        Acting for a teacher.
    runs : sequence of Run
        The class's runs (``store.list_runs(everyone=True)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` and :data:`HANDIN_COLUMNS`; ``answered`` reads "9 of 13", ``last edit`` is the time of the
        latest saved answer (UTC, None without answers), ``receipt`` the code of the latest export.

    Raises
    ------
    AccessError
        The store's user is not a teacher.
    """
    if not store.user.teacher:
        raise AccessError("only a teacher sees the class's hand-ins")
    names = names_of_students(store)
    with store.transaction(write=False) as db:
        answered = {row.run_id: (row.n, row.last) for row in db.execute(
            sa.select(schema.answers.c.run_id, sa.func.count().label("n"), sa.func.max(schema.answers.c.saved).label("last"))
            .group_by(schema.answers.c.run_id))}
        revealed = {row.run_id: (row.before, row.after) for row in db.execute(
            sa.select(schema.reveals.c.run_id, sa.func.sum(1 - schema.reveals.c.after_answer).label("before"),
                      sa.func.sum(schema.reveals.c.after_answer).label("after")).group_by(schema.reveals.c.run_id))}
        codes = {row.run_id: row.code for row in db.execute(
            sa.select(schema.receipts.c.run_id, schema.receipts.c.code).order_by(schema.receipts.c.issued))}
    rows = [_handin_row(run, names, answered.get(run.id), revealed.get(run.id, (0, 0)), codes.get(run.id, ""))
            for run in runs if run.id in answered or run.id in codes]
    return pd.DataFrame(rows, columns=["id", *HANDIN_COLUMNS])


def _handin_row(run: Run, names: dict[str, str], answered: tuple[int, float] | None, revealed: tuple[int, int],
                code: str) -> dict:
    count, last = answered or (0, None)
    return {
        "id": run.id, "student": names.get(run.owner, run.owner_name), "run": run.name,
        "answered": f"{count} of {len(QUESTIONS)}", "revealed before answering": int(revealed[0] or 0),
        "revealed after answering": int(revealed[1] or 0),
        "last edit": None if last is None else datetime.datetime.fromtimestamp(last, datetime.timezone.utc),
        "receipt": code,
    }


def handins_zip(run_ids: Sequence[str], export: Callable[[str], tuple[str, bytes]],
                on_progress: Callable[[int, int], None] | None = None) -> tuple[bytes, list[tuple[str, str]]]:
    """Every hand-in in one zip, each file as ``export`` makes it.

    Parameters
    ----------
    run_ids : sequence of str
    export : callable
        Makes one hand-in: run id to (file name, content); raises an MNIST Lab error when the run cannot be used.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` before each hand-in.

    Returns
    -------
    bytes, list of (str, str)
        The zip, and the runs left out with the reason.
    """
    buffer, failed = io.BytesIO(), []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, run_id in enumerate(run_ids):
            if on_progress is not None:
                on_progress(done, len(run_ids))
            try:
                name, content = export(run_id)
            except MnistLabError as error:
                logger.warning("the hand-in of run %s was left out of the class's hand-ins: %s", run_id, error)
                failed.append((run_id, str(error)))
                continue
            archive.writestr(name, content)
    return buffer.getvalue(), failed


def export_handin(store: RunStore, run_id: str, dataset_of: Callable[[Run], Dataset]) -> tuple[str, bytes]:
    """One student's hand-in of a run as HTML, signed, for the teacher's zip: (file name, content).

    Raises
    ------
    MnistLabError
        The run cannot be read or has no usable model (``ModelUnavailableError``), or its dataset is gone.
    """
    run = store.get(run_id)
    evidence, built = report_of_run(store, run, dataset_of(run))
    handin = build_handin(store, evidence, built, kind="html")
    ascii_name = unicodedata.normalize("NFKD", handin.student).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.")[:40] or "student"
    return f"{slug}-{run.id}.html", to_html(handin).encode("utf-8")


@dataclass(frozen=True)
class Recheck:
    """A hand-in's run against the teacher's re-training of it (same dataset, configuration and seed).

    Attributes
    ----------
    original, again : float or None
        Test accuracies of the hand-in's run and of the re-training (None until evaluated or finished).
    """

    original: float | None
    again: float | None

    @property
    def agree(self) -> bool | None:
        """Whether the two test accuracies are within :data:`AGREEMENT_POINTS` points; None until both exist."""
        if self.original is None or self.again is None:
            return None
        return abs(self.original - self.again) * 100 <= AGREEMENT_POINTS

    @property
    def sentence(self) -> str:
        """The outcome in words, built from the two figures."""
        if self.again is None:
            return "The re-training has no test accuracy yet: it is waiting, training, or did not finish."
        if self.original is None:
            return f"The re-training reached {self.again:.2%}; the hand-in's run has not been evaluated yet."
        gap = abs(self.original - self.again) * 100
        verdict = "agree" if self.agree else "do not agree"
        return (f"The hand-in's run reached {self.original:.2%} and the re-training {self.again:.2%}: "
                f"{gap:.2f} points apart, so they {verdict} within {AGREEMENT_POINTS} points.")


def recheck_tag(run_id: str) -> str:
    """The ``experiment`` tag of a re-training of ``run_id``."""
    return f"{RECHECK}{run_id}"


def rechecks_of(runs: Sequence[Run], run_id: str) -> list[Run]:
    """The teacher's re-trainings of ``run_id``, newest first."""
    return sorted((run for run in runs if run.experiment == recheck_tag(run_id)), key=lambda run: run.created,
                  reverse=True)


def recheck(store: RunStore, original: Run, again: Run | None) -> Recheck:
    """The test accuracies of a hand-in's run and of its latest re-training (``again``), as far as they exist.

    The original's comes from its stored evaluation; the re-training's from the test pass of its last epoch (it
    is queued with ``evaluate_test``), once it has finished.
    """
    figures = original.metrics.get("test")
    first = figures.get("accuracy") if isinstance(figures, dict) and figures.get("epoch") == original.saved_epochs \
        else None
    if again is None or again.status != FINISHED:
        return Recheck(first, None)
    history = store.get(again.id).history
    return Recheck(first, history[-1].get("test_accuracy") if history else None)
