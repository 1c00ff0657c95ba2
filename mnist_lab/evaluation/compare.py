"""Comparing evaluated runs: the settings that differ, the headline figures side by side, and tidy frames of their
per-class figures, ROC curves and training curves for charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mnist_lab.errors import DatasetError
from mnist_lab.evaluation.evaluate import Evaluation
from mnist_lab.evaluation.explain import RANKING_ERRORS
from mnist_lab.models.used_settings import network_settings, training_settings
from mnist_lab.runs import store as run_store
from mnist_lab.training.curves import runs_history_frame

#: Per-class columns compared between runs, with their display names.
COMPARED = {"recall": "recall", "roc_auc": "ROC AUC", "ranking_errors": RANKING_ERRORS, "precision": "precision",
            "f1": "F1"}
#: Headline figures shown next to the hyperparameters that differ.
HEADLINE = {
    "accuracy": "test accuracy",
    "log_loss": "test loss",
    "f1_macro": "macro F1",
    "roc_auc_macro": "macro ROC AUC",
    "ranking_errors_macro": f"macro {RANKING_ERRORS}",
    "train_accuracy": "train accuracy",
}


@dataclass(frozen=True)
class Comparison:
    """Tidy frames comparing several evaluated runs, each row tagged with the run's label in ``run``.

    Attributes
    ----------
    per_class : pandas.DataFrame
        Columns ``run``, ``class``, ``metric`` (a name of :data:`COMPARED`) and ``value``.
    roc : pandas.DataFrame
        The runs' ROC curves with a ``run`` column.
    history : pandas.DataFrame
        Per-epoch training curves of all runs (:func:`mnist_lab.training.curves.runs_history_frame`).
    table : pandas.DataFrame
        One row per run (index ``run``): the hyperparameters that differ, then the :data:`HEADLINE` figures.
    """

    per_class: pd.DataFrame
    roc: pd.DataFrame
    history: pd.DataFrame
    table: pd.DataFrame


def run_labels(runs: Sequence[run_store.Run]) -> dict[str, str]:
    """Label of each run for legends and tables: its name, with the id's end where names repeat."""
    return run_store.distinct_labels(runs)


def hyperparameter_diff(runs: Sequence[run_store.Run]) -> pd.DataFrame:
    """The model and training settings whose values differ between ``runs``, one row per run.

    Parameters
    ----------
    runs : sequence of Run

    Returns
    -------
    pandas.DataFrame
        Index ``run`` (labels from :func:`run_labels`), one column per differing setting, in the
        order model settings then training settings; a setting that appears in both is prefixed
        with ``model.`` or ``train.``. Lists are shown as comma-separated text, missing settings as None.
    """
    settings = [_flat_settings(run) for run in runs]
    keys = list(dict.fromkeys(key for row in settings for key in row))
    differing = [key for key in keys if len({repr(row.get(key)) for row in settings}) > 1]
    labels = run_labels(runs)
    table = pd.DataFrame([{key: row.get(key) for key in differing} for row in settings], columns=differing)
    table.index = pd.Index([labels[run.id] for run in runs], name="run")
    return table


def _flat_settings(run: run_store.Run) -> dict[str, Any]:
    """The settings a run's network and training really use, in one dict, lists as text (a setting its
    architecture ignores is left out, so a comparison never credits a network with a layer it lacks)."""
    model, train = network_settings(run.model_config), training_settings(run.train_config)
    shared = set(model) & set(train)
    flat = {}
    for section, values in (("model", model), ("train", train)):
        for key, value in values.items():
            name = f"{section}.{key}" if key in shared else key
            flat[name] = ", ".join(map(str, value)) if isinstance(value, list) else value
    return flat


def check_comparable(runs: Sequence[run_store.Run]) -> None:
    """Refuse to compare runs trained on different datasets: their test sets and classes differ.

    Raises
    ------
    DatasetError
        The message names each dataset and its runs.
    """
    by_dataset: dict[str, list[str]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run.name)
    if len(by_dataset) > 1:
        groups = "; ".join(f"{name}: {', '.join(names)}" for name, names in by_dataset.items())
        raise DatasetError(
            f"runs trained on different datasets cannot be compared (their test images and classes differ): {groups}"
        )


def compare(runs: Sequence[run_store.Run], evaluations: Sequence[Evaluation]) -> Comparison:
    """Put the evaluations of several runs side by side.

    Parameters
    ----------
    runs : sequence of Run
        The runs, with their histories (as from ``RunStore.get``).
    evaluations : sequence of Evaluation
        Their evaluations, in the same order.

    Returns
    -------
    Comparison
    """
    if len(runs) != len(evaluations) or any(run.id != ev.run_id for run, ev in zip(runs, evaluations)):
        raise ValueError("give one evaluation per run, in the same order")
    check_comparable(runs)
    labels = run_labels(runs)
    per_class = pd.concat(
        [
            ev.per_class.melt(id_vars="class", value_vars=list(COMPARED), var_name="metric").assign(run=labels[ev.run_id])
            for ev in evaluations
        ],
        ignore_index=True,
    )
    per_class["metric"] = per_class["metric"].map(COMPARED)
    roc = pd.concat([ev.roc.assign(run=labels[ev.run_id]) for ev in evaluations], ignore_index=True)
    history = runs_history_frame({labels[run.id]: run.history for run in runs})
    figures = pd.DataFrame(
        [{title: ev.summary.get(key) for key, title in HEADLINE.items()} for ev in evaluations],
        index=pd.Index([labels[ev.run_id] for ev in evaluations], name="run"),
    )
    table = hyperparameter_diff(runs).join(figures)
    return Comparison(per_class=per_class[["run", "class", "metric", "value"]], roc=roc, history=history, table=table)
