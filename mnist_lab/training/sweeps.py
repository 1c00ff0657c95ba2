"""Sweeps: one or two settings varied over a grid, each point a run of its own, queued together and tagged.

A sweep's runs carry the tag ``sweep:<id>`` in ``Run.experiment`` and are named ``<sweep name>: <point>``. They
are queued as separate trainings of one student (so they train in parallel where workers are free, and take
turns with the other students' trainings otherwise) and measure test accuracy after every epoch, so the result
of a sweep is read from the run store without evaluating any model again.
"""

from __future__ import annotations

import itertools
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mnist_lab import access
from mnist_lab.data import Dataset
from mnist_lab.errors import ConfigError
from mnist_lab.models import architectures, config, optim, presets
from mnist_lab.runs import store as run_store

PREFIX = "sweep:"
#: The most runs one sweep may queue.
MAX_RUNS = 16
#: The settings a sweep may vary, with their labels.
SETTINGS = {
    "learning_rate": "Learning rate",
    "optimizer": "Optimizer",
    "batch_size": "Batch size",
    "architecture": "Architecture",
    "epochs": "Epochs",
}
NUMERIC = ("learning_rate", "batch_size", "epochs")


@dataclass(frozen=True)
class Axis:
    """One varied setting and its values, in order."""

    setting: str
    values: tuple

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise ConfigError(f"a sweep varies one of {', '.join(SETTINGS)}, not {self.setting!r}")
        if len(self.values) < 2 or len(set(self.values)) != len(self.values):
            raise ConfigError(f"a sweep over {SETTINGS[self.setting].lower()} needs two or more different values")


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its label, what it trains, and its values of the varied settings."""

    label: str
    model: config.ModelConfig
    train: config.TrainConfig
    values: dict[str, Any]


def log_grid(low: float, high: float, count: int) -> tuple[float, ...]:
    """``count`` values from ``low`` to ``high`` evenly spaced on a log scale, to 3 significant digits."""
    if not 0 < low < high or count < 2:
        raise ConfigError("a log grid needs 0 < low < high and at least two values")
    step = (math.log10(high) - math.log10(low)) / (count - 1)
    return tuple(float(f"{10 ** (math.log10(low) + index * step):.3g}") for index in range(count))


def parse_axis(text: str) -> Axis:
    """An axis from the command line: ``learning_rate=1e-4:1e-2:4`` (a log grid) or ``optimizer=adam,sgd``.

    Raises
    ------
    ConfigError
        The text is not of that form, or names an unknown setting or value.
    """
    setting, _, values = text.partition("=")
    setting = setting.strip().replace("-", "_")
    if setting not in SETTINGS or not values:
        raise ConfigError(f"--vary takes SETTING=VALUES with SETTING one of {', '.join(SETTINGS)}; got {text!r}")
    try:
        if setting == "learning_rate" and values.count(":") == 2:
            low, high, count = values.split(":")
            return Axis(setting, log_grid(float(low), float(high), int(count)))
        kind = {"learning_rate": float, "batch_size": int, "epochs": int}.get(setting, str)
        return Axis(setting, tuple(kind(value.strip()) for value in values.split(",")))
    except ValueError as error:
        raise ConfigError(f"cannot read the values of --vary {text!r}: {error}") from None


def points(base_model: config.ModelConfig, base_train: config.TrainConfig, axes: Sequence[Axis]) -> list[Point]:
    """Every combination of the axes' values applied to the base settings, in grid order.

    Varying the architecture takes each architecture's preset network; everything else keeps the base's values.

    Raises
    ------
    ConfigError
        Not one or two axes, the same setting twice, more than :data:`MAX_RUNS` runs, or a value out of range.
    """
    if not 1 <= len(axes) <= 2 or len({axis.setting for axis in axes}) != len(axes):
        raise ConfigError("a sweep varies one or two different settings")
    count = math.prod(len(axis.values) for axis in axes)
    if count > MAX_RUNS:
        raise ConfigError(f"this sweep would queue {count} runs; at most {MAX_RUNS}: take fewer values")
    found = []
    for combination in itertools.product(*(axis.values for axis in axes)):
        values = {axis.setting: value for axis, value in zip(axes, combination)}
        model, train = base_model, base_train
        for setting, value in values.items():
            if setting == "architecture":
                if value not in architectures.ARCHITECTURES:
                    raise ConfigError(f"no architecture called {value!r}; choose from {', '.join(architectures.ARCHITECTURES)}")
                model = presets.preset(value).model
            if setting == "optimizer" and value not in optim.OPTIMIZERS:
                raise ConfigError(f"no optimizer called {value!r}; choose from {', '.join(optim.OPTIMIZERS)}")
            if setting != "architecture":
                train = config.replace(train, **{setting: value})
        found.append(Point(label_of(values), model, train, values))
    return found


def label_of(values: dict[str, Any]) -> str:
    """A point's label: ``learning rate 0.001 · adam``."""
    return " · ".join(f"{SETTINGS[setting].lower()} {value:g}" if isinstance(value, float)
                      else f"{SETTINGS[setting].lower()} {value}" for setting, value in values.items())


def new_tag() -> str:
    """A fresh sweep tag, ``sweep:<UTC time>-<random>``."""
    return f"{PREFIX}{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def start(trainer, name: str, base_model: config.ModelConfig, base_train: config.TrainConfig, axes: Sequence[Axis],
          *, dataset: Dataset | None = None, user: access.User = access.PERSONAL) -> list:
    """Queue a sweep's runs for ``user`` on ``trainer`` (a :class:`mnist_lab.training.Trainer`); return their jobs.

    Raises
    ------
    ConfigError
        See :func:`points`.
    TrainingBusyError, LimitExceededError, EngineUnavailableError
        See ``Trainer.start_many``.
    """
    found = points(base_model, base_train, axes)
    trainings = [(f"{name}: {point.label}", point.model, point.train) for point in found]
    return trainer.start_many(trainings, dataset=dataset, experiment=new_tag(), user=user, evaluate_test=True)


def is_sweep(run: run_store.Run) -> bool:
    """Whether ``run`` belongs to a sweep."""
    return run.experiment.startswith(PREFIX)


@dataclass(frozen=True)
class Sweep:
    """A sweep as stored: its tag, its name, its runs (grid order) and the settings that vary among them."""

    tag: str
    name: str
    runs: tuple[run_store.Run, ...]
    settings: tuple[str, ...]

    @property
    def running(self) -> int:
        """How many of its runs are still waiting or training."""
        return sum(run.status == run_store.RUNNING for run in self.runs)

    def results(self) -> pd.DataFrame:
        """One row per run: ``run_id``, ``run``, ``status``, the varied settings, the accuracies and seconds."""
        rows = []
        for run in self.runs:
            settings = {**run.model_config, **run.train_config}
            rows.append({
                "run_id": run.id, "run": run.name, "status": run.status,
                **{SETTINGS[setting]: settings.get(setting) for setting in self.settings},
                "test accuracy": run.metrics.get("test_accuracy"),
                "validation accuracy": run.metrics.get("val_accuracy"),
                "seconds": run.metrics.get("train_seconds"),
            })
        return pd.DataFrame(rows)

    def best(self) -> run_store.Run | None:
        """The run with the highest test accuracy (None while none has one)."""
        measured = [run for run in self.runs if run.metrics.get("test_accuracy") is not None]
        return max(measured, key=lambda run: run.metrics["test_accuracy"], default=None)


def sweeps(store: run_store.RunStore) -> list[Sweep]:
    """Every stored sweep, newest first."""
    groups: dict[str, list[run_store.Run]] = {}
    for run in store.list_runs():
        if is_sweep(run):
            groups.setdefault(run.experiment, []).append(run)
    found = []
    for tag, runs in groups.items():
        runs.sort(key=lambda run: (run.created, run.id))
        found.append(Sweep(tag, _common_name(runs), tuple(runs), varied_settings(runs)))
    return sorted(found, key=lambda sweep: sweep.tag, reverse=True)


def varied_settings(runs: Sequence[run_store.Run]) -> tuple[str, ...]:
    """The sweepable settings whose values differ among ``runs``, in :data:`SETTINGS` order."""
    def value(run: run_store.Run, setting: str):
        return {**run.model_config, **run.train_config}.get(setting)

    return tuple(setting for setting in SETTINGS if len({value(run, setting) for run in runs}) > 1)


def _common_name(runs: Sequence[run_store.Run]) -> str:
    """The sweep's name: its first run's name without the point's label (which holds no ": ")."""
    return runs[0].name.rpartition(": ")[0] or runs[0].name if runs else ""


__all__ = [
    "MAX_RUNS", "PREFIX", "SETTINGS", "Axis", "Point", "Sweep", "is_sweep", "label_of", "log_grid", "new_tag",
    "parse_axis", "points", "start", "sweeps", "varied_settings",
]
