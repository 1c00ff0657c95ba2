"""The class at a glance, for the teacher: every student's runs, a leaderboard, and the digits the class finds hardest.

Test figures come from each run's stored evaluation (``Run.metrics["test"]``, written by
:func:`mnist_lab.evaluation.evaluate_run`); a run not evaluated yet shows none until :func:`evaluate_missing`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from mnist_lab.errors import MnistLabError
from mnist_lab.runs.store import FINISHED, RUNNING, Run
from mnist_lab.text import markdown_text

logger = logging.getLogger(__name__)

RUN_COLUMNS = ("student", "run", "architecture", "dataset", "training images", "epochs", "test accuracy", "status",
               "created")
#: The columns of the class's CSV export, as the Class page downloads it.
CSV_COLUMNS = ("student", "run", "dataset", "training images", "epochs", "test accuracy", "status")


def test_figures(run: Run) -> dict | None:
    """The run's stored test evaluation when it describes the run's latest saved model, else None."""
    figures = run.metrics.get("test")
    return figures if isinstance(figures, dict) and figures.get("epoch") == run.saved_epochs else None


def training_images(run: Run) -> str:
    """How many training images the run used: ``"all"`` (the whole training split) or the subset's size."""
    limit = run.train_config.get("train_limit") or 0
    return f"{limit:,}" if limit else "all"


def complete(run: Run) -> bool:
    """Whether the run finished on the whole training split, so that it speaks for the task, not for a trial."""
    return run.status == FINISHED and not run.train_config.get("train_limit")


def runs_frame(runs: Sequence[Run], names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per run: whose it is, its network, data, test accuracy (None until evaluated), status and times.

    Parameters
    ----------
    runs : sequence of Run
        The class's runs (``RunStore.list_runs(everyone=True)``).
    names : mapping, optional
        Student id to the name they hand in under; a student without one shows the store's label of them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_COLUMNS` plus ``id``, newest first; ``training images`` is ``"all"`` or the subset's
        size, ``epochs`` the epochs whose model was saved.
    """
    names = names or {}
    rows = [
        {
            "id": run.id,
            "student": names.get(run.owner, run.owner_name),
            "run": run.name,
            "architecture": run.model_config.get("architecture", "?"),
            "dataset": run.dataset,
            "training images": training_images(run),
            "epochs": run.saved_epochs,
            "test accuracy": (test_figures(run) or {}).get("accuracy"),
            "status": run.status,
            "created": datetime.datetime.fromtimestamp(run.created, datetime.timezone.utc),
        }
        for run in sorted(runs, key=lambda run: (run.created, run.id), reverse=True)
    ]
    return pd.DataFrame(rows, columns=["id", *RUN_COLUMNS])


def class_csv(runs: Sequence[Run], names: Mapping[str, str] | None = None) -> str:
    """The class as CSV: one line per run with :data:`CSV_COLUMNS` and the run's id, newest first.

    Test accuracy is a fraction with six decimals, empty until the run is evaluated.
    """
    frame = runs_frame(runs, names)[[*CSV_COLUMNS, "id"]].rename(columns={"id": "run id"})
    return frame.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def leaderboard(runs: Sequence[Run], names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The best evaluated run of each architecture on each dataset, best first.

    Parameters
    ----------
    runs : sequence of Run
    names : mapping, optional
        Student id to the name they hand in under (:func:`runs_frame`).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``architecture``, ``best test accuracy``, the ``training images`` and ``epochs`` of
        that run (a subset or a short training explains a figure), ``student``, ``run``, ``evaluated runs``;
        empty when no run has been evaluated.
    """
    frame = runs_frame(runs, names).dropna(subset=["test accuracy"])
    columns = ["dataset", "architecture", "best test accuracy", "training images", "epochs", "student", "run",
               "evaluated runs"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.groupby(["dataset", "architecture"]).size().rename("evaluated runs")
    best = frame.sort_values("test accuracy", ascending=False, kind="stable").drop_duplicates(["dataset", "architecture"])
    best = best.join(counts, on=["dataset", "architecture"]).rename(columns={"test accuracy": "best test accuracy"})
    return best[columns].reset_index(drop=True)


def recall_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """Per-class test recall of every evaluated run.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``class``, ``recall``, ``student``, ``run`` and ``complete`` (:func:`complete`: the run
        finished on the whole training split).
    """
    rows = [
        {"dataset": run.dataset, "class": str(name), "recall": value, "student": run.owner_name, "run": run.name,
         "complete": complete(run)}
        for run in runs
        if (figures := test_figures(run)) is not None
        for name, value in (figures.get("per_class") or {}).get("recall", {}).items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["dataset", "class", "recall", "student", "run", "complete"])


def hardest_classes(recalls: pd.DataFrame, dataset: str, *, count: int = 3) -> str:
    """A sentence (Markdown, class and dataset names escaped) naming the classes of ``dataset`` with the lowest
    median recall across the class's runs.

    Built from the figures: it quotes each class's median recall and the number of runs it is the median of. Only
    runs that finished on the whole training split count when there are any; the sentence says which runs it
    includes and how many it leaves out.
    """
    chosen = recalls[recalls["dataset"] == dataset]
    if chosen.empty:
        return f"No evaluated run on {markdown_text(dataset)} yet."
    full = chosen[chosen["complete"]]
    left_out = chosen[~chosen["complete"]].groupby(["student", "run"]).ngroups
    used = full if not full.empty else chosen
    medians = used.groupby("class")["recall"].median().sort_values(kind="stable")
    many = used.groupby(["student", "run"]).ngroups
    named = ", ".join(f"{markdown_text(name)} ({medians[name]:.1%})" for name in medians.index[:count])
    runs = f"{many} evaluated run{'s' * (many != 1)}"
    if full.empty:
        which = (f"{runs} on a subset of the training images or not finished (no run finished on the whole "
                 "training split yet): a full training may rank the classes differently")
    else:
        which = f"{runs} that finished on the whole training split"
        if left_out:
            which += f" ({left_out} run{'s' * (left_out != 1)} on a subset or not finished left out)"
    return (f"Hardest for the class on {markdown_text(dataset)}, by median test recall over {which}: {named}. "
            f"Easiest: {markdown_text(medians.index[-1])} ({medians.iloc[-1]:.1%}).")


def evaluate_missing(
    runs: Sequence[Run],
    evaluate: Callable[[Run], object],
    on_progress: Callable[[int, int, Run], None] | None = None,
) -> list[tuple[Run, str]]:
    """Evaluate every run that has a saved model but no stored test evaluation of it.

    Parameters
    ----------
    runs : sequence of Run
        The class's runs.
    evaluate : callable
        Evaluates one run and stores the result (``evaluate_run`` with the run's model and dataset).
    on_progress : callable, optional
        Called as ``on_progress(done, total, run)`` before each run.

    Returns
    -------
    list of (Run, str)
        The runs that could not be evaluated, with the reason (their evaluation raised an MNIST Lab error).
    """
    missing = [run for run in runs if _unevaluated(run)]
    failed = []
    for done, run in enumerate(missing):
        if on_progress is not None:
            on_progress(done, len(missing), run)
        try:
            evaluate(run)
        except MnistLabError as error:
            logger.warning("run %s was left unevaluated in the class's evaluation: %s", run.id, error)
            failed.append((run, str(error)))
    return failed


def unevaluated(runs: Sequence[Run]) -> int:
    """How many runs :func:`evaluate_missing` would evaluate."""
    return sum(map(_unevaluated, runs))


def _unevaluated(run: Run) -> bool:
    """Whether the run has a finished model whose test evaluation is not stored yet."""
    return run.has_model and run.status != RUNNING and test_figures(run) is None
