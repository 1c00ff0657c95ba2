"""Which run a session describes: the default choice, and the order and labels of a run picker.

The one-click comparisons of the Report page train small runs of their own (``Run.experiment`` names the arm).
They are never chosen for a student, and a picker lists them after the student's own runs, tagged.
"""

from __future__ import annotations

from collections.abc import Sequence

from mnist_lab.runs.store import Run, distinct_labels

COMPARISON_TAG = "comparison"


def is_comparison(run: Run) -> bool:
    """Whether ``run`` is one of the small runs of a one-click comparison."""
    return bool(run.experiment)


def default_run(runs: Sequence[Run]) -> Run | None:
    """The run a new session describes: the newest that is not a comparison run; None when there is none."""
    own = [run for run in runs if not is_comparison(run)]
    return max(own, key=lambda run: (run.created, run.id), default=None)


def picker_order(runs: Sequence[Run]) -> list[Run]:
    """The student's own runs, newest first, then the comparison runs, newest first."""
    newest_first = sorted(runs, key=lambda run: (run.created, run.id), reverse=True)
    return sorted(newest_first, key=is_comparison)


def picker_labels(runs: Sequence[Run]) -> dict[str, str]:
    """Label of each run id, in picker order: its distinct label with its status, comparison runs tagged first.

    Parameters
    ----------
    runs : sequence of Run
        The runs to offer.

    Returns
    -------
    dict
        Run id to label, ordered as :func:`picker_order`; labels are distinct (a picker maps a label back to
        the first option that has it).
    """
    labels = distinct_labels(runs, with_status=True)
    return {
        run.id: f"{COMPARISON_TAG} · {labels[run.id]}" if is_comparison(run) else labels[run.id]
        for run in picker_order(runs)
    }


__all__ = ["COMPARISON_TAG", "default_run", "is_comparison", "picker_labels", "picker_order"]
