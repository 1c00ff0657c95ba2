"""Typical figures for the texts of the registries and presets, read from a table a benchmark measured.

``benchmarks/typical_figures.py`` trains every preset as it is (seed 0, full MNIST, test accuracy after
every epoch) and one epoch of the ``fast`` network per optimizer, learning rate and loss in :data:`CHOICES`,
and writes ``measured_table.py`` with the machine it ran on (:data:`MACHINE`); the texts quote these
accuracies, never figures typed in by hand. The table keeps no times: on a shared machine they measure its
load as much as the network, so the texts quote none.
"""

from __future__ import annotations

from mnist_lab.models import measured_table

#: The (optimizer, learning rate, loss) of every one-epoch ``fast`` run of the table.
CHOICES = (
    ("sgd", 0.05, "sparse_categorical_crossentropy"),
    ("sgd", 0.001, "sparse_categorical_crossentropy"),
    ("adam", 0.001, "sparse_categorical_crossentropy"),
    ("adagrad", 0.001, "sparse_categorical_crossentropy"),
    ("adagrad", 0.05, "sparse_categorical_crossentropy"),
    ("nadam", 0.001, "sparse_categorical_crossentropy"),
    ("sgd", 0.05, "mse"),
    ("adam", 0.001, "mse"),
    ("sgd", 0.05, "categorical_hinge"),
    ("adam", 0.001, "label_smoothing_crossentropy"),
)
MACHINE: str = measured_table.MACHINE
MEASURED_ON: str = measured_table.MEASURED_ON
PRESETS: dict = measured_table.PRESETS
CHOICE_RESULTS: dict = measured_table.CHOICES


def choice_key(optimizer: str, learning_rate: float, loss: str) -> str:
    """The table's key of one one-epoch ``fast`` run, such as ``"sgd@0.05/mse"``."""
    return f"{optimizer}@{learning_rate:g}/{loss}"


def accuracy(preset: str, epoch: int | None = None) -> float:
    """Test accuracy of the preset ``preset`` after ``epoch`` (1-based; its last epoch when None)."""
    figures = PRESETS[preset]["test_accuracy"]
    return figures[-1 if epoch is None else epoch - 1]


def epochs(preset: str) -> int:
    """How many epochs the preset was trained for."""
    return len(PRESETS[preset]["test_accuracy"])


def epochs_phrase(preset: str) -> str:
    """How many epochs the preset was trained for, in words: "1 epoch", "12 epochs"."""
    count = epochs(preset)
    return f"{count} epoch{'s' * (count != 1)}"


def first_epoch_reaching(preset: str, goal: float) -> int | None:
    """The first epoch after which the preset's test accuracy was at least ``goal``; None if it never was."""
    return next((epoch for epoch, value in enumerate(PRESETS[preset]["test_accuracy"], start=1) if value >= goal),
                None)


def choice_accuracy(optimizer: str, learning_rate: float, loss: str = "sparse_categorical_crossentropy") -> float:
    """Test accuracy of one epoch of ``fast`` trained with this optimizer, constant learning rate and loss."""
    return CHOICE_RESULTS[choice_key(optimizer, learning_rate, loss)]["test_accuracy"][-1]


def percent(value: float) -> str:
    """An accuracy as the texts quote it: one decimal, "92.6%"."""
    return f"{value:.1%}"
