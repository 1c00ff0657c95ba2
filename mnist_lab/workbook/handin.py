"""Building a student's hand-in from the store: their answers, their reveals, their name, a signed receipt."""

from __future__ import annotations

import datetime
import math
from typing import Any

from mnist_lab.report.card import reproducibility_card
from mnist_lab.report.card import to_markdown as card_markdown
from mnist_lab.report.evidence import Report, RunEvidence
from mnist_lab.report.handin import Explanation, HandIn, today
from mnist_lab.runs.store import Run, RunStore
from mnist_lab.workbook import receipts
from mnist_lab.workbook.answers import Workbook, typed_name

#: The export kinds a receipt names.
KINDS = ("html", "pdf", "markdown", "notebook")


def handin_name(store: RunStore, run: Run) -> str:
    """The name the run's student hands in under: the one they typed, their login name, or the store's label."""
    return typed_name(store, run.owner) or run.owner_name


def headline_figures(evidence: RunEvidence) -> dict[str, Any]:
    """The figures the title page prints and the receipt signs: test accuracy and loss, epochs, status."""
    summary = evidence.evaluation.summary
    figures: dict[str, Any] = {"Test accuracy": round(float(summary["accuracy"]), 6),
                               "Epochs trained": evidence.run.saved_epochs, "Status": evidence.run.status}
    if math.isfinite(summary["log_loss"]):
        figures["Test loss"] = round(float(summary["log_loss"]), 6)
    return figures


def build_handin(store: RunStore, evidence: RunEvidence, report: Report, *, kind: str, sign: bool = True) -> HandIn:
    """The hand-in of ``evidence.run`` as its student wrote it, signed with a receipt the server keeps.

    Parameters
    ----------
    store : RunStore
        Acting for the run's student, or a teacher collecting hand-ins (who may read it).
    evidence : RunEvidence
        The run with its evaluation.
    report : Report
        The run's evidence for every question (:func:`mnist_lab.report.build_report`).
    kind : str
        One of :data:`KINDS`: the receipt says which export it signs.
    sign : bool
        Issue a receipt; a preview (False) carries none.

    Returns
    -------
    HandIn
        The student's answers, MNIST Lab's explanations only where the student revealed them, the headline figures
        and the reproducibility card.

    Raises
    ------
    RunNotFoundError
        The store's user may not read the run.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    run = evidence.run
    book = Workbook(store, run.id)
    answers = {key: saved.text for key, saved in book.answers().items()}
    reveals = book.reveals()
    student = handin_name(store, run)
    figures = headline_figures(evidence)
    receipt = None
    if sign:
        fields = receipts.receipt_fields(
            run, student=run.owner, student_name=student, answers=answers,
            explanations={key: shown.after_answer for key, shown in reveals.items()}, figures=figures, kind=kind)
        receipt = receipts.issue(store, fields, answers)
    return HandIn(
        student=student, date=today(), run_label=f"{run.name} ({run.id}), {run.status}, trained on {run.dataset}",
        card=card_markdown(reproducibility_card(run, store.home)), report=report, answers=answers,
        explanations={key: Explanation(_when(shown.revealed), shown.after_answer) for key, shown in reveals.items()},
        figures={label: receipts.format_figure(label, value) for label, value in figures.items()}, receipt=receipt,
    )


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
