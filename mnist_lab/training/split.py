"""The training data of a run: the subset and the validation share cut from a dataset's training split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_lab.data import Dataset
from mnist_lab.errors import ConfigError
from mnist_lab.models import architectures, config, optim


@dataclass(frozen=True)
class SplitData:
    """Training and validation arrays (uint8 images with a channel axis) cut from the training split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None


def reasons_for(model_config: config.ModelConfig, train_config: config.TrainConfig) -> dict[str, str]:
    """Return the explanation texts of the chosen architecture, loss, optimizer and schedule."""
    return {
        "architecture": architectures.ARCHITECTURES[model_config.architecture].reason,
        "loss": optim.LOSSES[train_config.loss].reason,
        "optimizer": optim.OPTIMIZERS[train_config.optimizer].reason,
        "schedule": optim.SCHEDULES[train_config.schedule].reason,
    }


def split_sizes(available: int, train_config: config.TrainConfig) -> tuple[int, int]:
    """Return how many images ``split_data`` trains and validates on, out of ``available``."""
    total = min(train_config.train_limit, available) if train_config.train_limit else available
    n_val = round(total * train_config.validation_fraction)
    if n_val >= total:
        raise ConfigError(
            f"validation_fraction {train_config.validation_fraction} leaves no training images out of {total}"
        )
    return total - n_val, n_val


def split_data(dataset: Dataset, train_config: config.TrainConfig) -> SplitData:
    """Cut the training subset and hold out its last share for validation.

    A subset is a random choice of the config's seed, kept in dataset order; the full training split is used
    as it is (MNIST's order is already random), so its arrays are views and cost no memory. As with Keras'
    ``validation_split``, the validation images are the last ones.
    """
    images, labels = dataset.x_train[..., np.newaxis], dataset.y_train
    cut, n_val = split_sizes(len(labels), train_config)
    if train_config.train_limit:
        rng = np.random.default_rng(train_config.seed)
        chosen = np.sort(rng.choice(len(labels), size=cut + n_val, replace=False))
        images, labels = images[chosen], labels[chosen]
    if not n_val:
        return SplitData(images, labels, None, None)
    return SplitData(images[:cut], labels[:cut], images[cut:], labels[cut:])
