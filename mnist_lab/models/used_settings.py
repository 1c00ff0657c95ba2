"""Which settings of a stored config its choices really read: a card or a comparison lists only those.

A config stores every field, but a preset's fixed network ignores the custom network's fields and only the
label-smoothing loss reads ``label_smoothing``; the registries' :attr:`~mnist_lab.models.registry.Choice.settings`
say which fields each choice reads.
"""

from __future__ import annotations

from typing import Any

from mnist_lab.models.architectures import ARCHITECTURES
from mnist_lab.models.optim import LOSSES, OPTIMIZERS, SCHEDULES

#: The fields of ModelConfig that every architecture reads (the input's scaling and augmentation, the output's width).
COMMON_SETTINGS = ("architecture", "scale_inputs", "augment", "num_classes")


def network_settings(model_config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a stored model config that its architecture really uses, in the config's order.

    A preset's fixed network (such as 'fast', with its own Dense 256 and 5x5 first convolution) ignores the
    custom network's fields (dropout, dense units, kernel size); a card or a comparison that listed them would
    describe a network that was never built.

    Examples
    --------
    >>> network_settings({"architecture": "fast", "dropout": 0.25, "dense_units": 128, "scale_inputs": True})
    {'architecture': 'fast', 'scale_inputs': True}
    """
    chosen = ARCHITECTURES.get(model_config.get("architecture"))
    used = set(COMMON_SETTINGS) | set(chosen.settings if chosen else model_config)
    return {key: value for key, value in model_config.items() if key in used}


def training_settings(train_config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a stored training config that its training really uses (label smoothing only with the loss
    that smooths), in the config's order.

    Examples
    --------
    >>> training_settings({"loss": "sparse_categorical_crossentropy", "label_smoothing": 0.1, "epochs": 2})
    {'loss': 'sparse_categorical_crossentropy', 'epochs': 2}
    """
    registries = ((LOSSES, "loss"), (OPTIMIZERS, "optimizer"), (SCHEDULES, "schedule"))
    optional = {field for choices, _ in registries for choice in choices.values() for field in choice.settings}
    chosen = [choices.get(train_config.get(key)) for choices, key in registries]
    used = {field for choice in chosen if choice is not None for field in choice.settings}
    return {key: value for key, value in train_config.items() if key not in optional or key in used}
