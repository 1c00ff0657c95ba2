"""The class at a glance, for the teacher: every student's runs, a leaderboard, and the digits the class finds hardest.

Test figures come from each run's stored evaluation (``Run.metrics["test"]``, written by
:func:`mnist_lab.evaluation.evaluate_run`); a run not evaluated yet shows none until :func:`evaluate_missing`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

import pandas as pd

from mnist_lab.errors import MnistLabError
from mnist_lab.runs.store import RUNNING, Run

RUN_COLUMNS = ("student", "run", "architecture", "dataset", "test accuracy", "status", "epochs", "created")


def test_figures(run: Run) -> dict | None:
    """The run's stored test evaluation when it describes the run's latest saved model, else None."""
    figures = run.metrics.get("test")
    return figures if isinstance(figures, dict) and figures.get("epoch") == run.saved_epochs else None


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: whose it is, its network, data, test accuracy (None until evaluated), status and times.

    Parameters
    ----------
    runs : sequence of Run
        The class's runs (``RunStore.list_runs(everyone=True)``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_COLUMNS` plus ``id``, newest first.
    """
    rows = [
        {
            "id": run.id,
            "student": run.owner_name,
            "run": run.name,
            "architecture": run.model_config.get("architecture", "?"),
            "dataset": run.dataset,
            "test accuracy": (test_figures(run) or {}).get("accuracy"),
            "status": run.status,
            "epochs": run.saved_epochs,
            "created": datetime.datetime.fromtimestamp(run.created, datetime.timezone.utc),
        }
        for run in sorted(runs, key=lambda run: (run.created, run.id), reverse=True)
    ]
    return pd.DataFrame(rows, columns=["id", *RUN_COLUMNS])


def leaderboard(runs: Sequence[Run]) -> pd.DataFrame:
    """The best evaluated run of each architecture on each dataset, best first.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``architecture``, ``best test accuracy``, ``student``, ``run``, ``evaluated runs``;
        empty when no run has been evaluated.
    """
    frame = runs_frame(runs).dropna(subset=["test accuracy"])
    columns = ["dataset", "architecture", "best test accuracy", "student", "run", "evaluated runs"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.groupby(["dataset", "architecture"]).size().rename("evaluated runs")
    best = frame.sort_values("test accuracy", ascending=False, kind="stable").drop_duplicates(["dataset", "architecture"])
    best = best.join(counts, on=["dataset", "architecture"]).rename(columns={"test accuracy": "best test accuracy"})
    return best[columns].reset_index(drop=True)


def recall_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """Per-class test recall of every evaluated run: columns ``dataset``, ``class``, ``recall``, ``student``, ``run``."""
    rows = [
        {"dataset": run.dataset, "class": str(name), "recall": value, "student": run.owner_name, "run": run.name}
        for run in runs
        if (figures := test_figures(run)) is not None
        for name, value in (figures.get("per_class") or {}).get("recall", {}).items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["dataset", "class", "recall", "student", "run"])


def hardest_classes(recalls: pd.DataFrame, dataset: str, *, count: int = 3) -> str:
    """A sentence naming the classes of ``dataset`` with the lowest median recall across the class's runs.

    Built from the figures: it quotes each class's median recall and the number of runs it is the median of.
    """
    chosen = recalls[recalls["dataset"] == dataset]
    if chosen.empty:
        return f"No evaluated run on {dataset} yet."
    medians = chosen.groupby("class")["recall"].median().sort_values(kind="stable")
    runs = chosen.groupby("class").size()
    named = ", ".join(f"{name} ({medians[name]:.1%})" for name in medians.index[:count])
    many = int(runs.max())
    return (f"Hardest for the class on {dataset}, by median test recall over {many} evaluated "
            f"run{'s' * (many != 1)}: {named}. Easiest: {medians.index[-1]} ({medians.iloc[-1]:.1%}).")


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
            failed.append((run, str(error)))
    return failed


def unevaluated(runs: Sequence[Run]) -> int:
    """How many runs :func:`evaluate_missing` would evaluate."""
    return sum(map(_unevaluated, runs))


def _unevaluated(run: Run) -> bool:
    """Whether the run has a finished model whose test evaluation is not stored yet."""
    return run.has_model and run.status != RUNNING and test_figures(run) is None
