"""Tidy frames of training curves, for live charts and for comparing runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

METRICS = ("loss", "accuracy")


def batch_frame(batches: list[dict[str, float]], batches_per_epoch: int) -> pd.DataFrame:
    """Return per-batch running figures with a global ``step`` and fractional ``epoch_position``.

    Parameters
    ----------
    batches : list of dict
        Rows with ``epoch`` (1-based), ``batch`` (1-based), ``loss`` and ``accuracy``.
    batches_per_epoch : int
        Batches in a full epoch.
    """
    frame = pd.DataFrame(batches, columns=["epoch", "batch", "loss", "accuracy"])
    frame["step"] = (frame["epoch"] - 1) * batches_per_epoch + frame["batch"]
    frame["epoch_position"] = frame["step"] / max(batches_per_epoch, 1)
    return frame


def history_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Return per-epoch history in long form: columns ``epoch``, ``metric``, ``split``, ``value``.

    ``split`` is "train", "validation" or "test"; missing or undefined values are dropped.
    """
    records = []
    for row in rows:
        for metric in METRICS:
            for split, key in (("train", metric), ("validation", f"val_{metric}"), ("test", f"test_{metric}")):
                value = row.get(key)
                if value is not None:
                    records.append({"epoch": row["epoch"], "metric": metric, "split": split, "value": value})
    return pd.DataFrame(records, columns=["epoch", "metric", "split", "value"])


def runs_history_frame(histories: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Return the long history of several runs with a ``run`` column, for overlaid curves."""
    frames = [history_frame(rows).assign(run=name) for name, rows in histories.items()]
    columns = ["epoch", "metric", "split", "value", "run"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)



def final_figures(metrics: dict[str, Any]) -> str:
    """One line on a run's last epoch: accuracies and training time, or '' if it has none.

    Parameters
    ----------
    metrics : dict
        A run's stored final metrics (``accuracy``, ``val_accuracy``, ``test_accuracy``, ``train_seconds``).
    """
    names = {"accuracy": "training", "val_accuracy": "validation", "test_accuracy": "test"}
    parts = [f"{name} accuracy {metrics[key]:.2%}" for key, name in names.items() if metrics.get(key) is not None]
    if not parts:
        return ""
    seconds = metrics.get("train_seconds") or 0.0
    return f"Last epoch: {', '.join(parts)}; {seconds:.0f} s of training."
