"""Frozen configuration dataclasses for models and training, saved with each run as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or unknown."""


@dataclass(frozen=True)
class ModelConfig:
    """What network to build.

    Parameters
    ----------
    architecture : str
        Key of the architecture registry (``mnist_lab.architectures.ARCHITECTURES``).
    conv_blocks, filters, kernel_size, pooling, batch_norm, dropout, dense_units, activation
        Options of the ``custom`` architecture; ``filters`` is the width of the first
        block and doubles with each further block.
    hidden_layers : tuple of int
        Widths of the hidden Dense layers of the ``mlp`` architecture.
    scale_inputs : bool
        Put a ``Rescaling(1/255)`` layer first, so the network sees 0-1 values.
    augment : bool
        Put random shift, rotation and zoom layers in front (active in training only).
    """

    architecture: str = "fast"
    conv_blocks: int = 2
    filters: int = 32
    kernel_size: int = 3
    pooling: str = "max"
    batch_norm: bool = True
    dropout: float = 0.25
    dense_units: int = 128
    activation: str = "relu"
    hidden_layers: tuple[int, ...] = (128,)
    scale_inputs: bool = True
    augment: bool = False

    def __post_init__(self) -> None:
        from mnist_lab import architectures  # deferred: the registry imports this module

        object.__setattr__(self, "hidden_layers", tuple(int(u) for u in self.hidden_layers))
        _check_choice("architecture", self.architecture, tuple(architectures.ARCHITECTURES))
        _check_range("conv_blocks", self.conv_blocks, 1, 4)
        _check_range("filters", self.filters, 1, 512)
        _check_choice("kernel_size", self.kernel_size, (3, 5, 7))
        _check_choice("pooling", self.pooling, ("max", "avg", "none"))
        _check_range("dropout", self.dropout, 0.0, 0.9)
        _check_range("dense_units", self.dense_units, 0, 4096)
        _check_choice("activation", self.activation, ("relu", "gelu", "elu", "tanh", "sigmoid"))
        if not 1 <= len(self.hidden_layers) <= 5 or not all(1 <= u <= 4096 for u in self.hidden_layers):
            raise ConfigError(f"hidden_layers must be 1 to 5 widths of 1-4096 units, got {self.hidden_layers}")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Parameters
    ----------
    loss : str
        Key of ``mnist_lab.optim.LOSSES``.
    label_smoothing : float
        Used by the label-smoothing cross-entropy only.
    optimizer : str
        Key of ``mnist_lab.optim.OPTIMIZERS``.
    learning_rate : float
        Peak learning rate.
    schedule : str
        Key of ``mnist_lab.optim.SCHEDULES``.
    batch_size, epochs : int
        Mini-batch size and number of passes over the training subset.
    train_limit : int
        Number of training images used (0 means all 60,000 minus validation).
    validation_fraction : float
        Share of the training subset held out for validation, in [0, 0.5].
    seed : int
        Seed for the subset, the split, initial weights and shuffling.
    """

    loss: str = "sparse_categorical_crossentropy"
    label_smoothing: float = 0.1
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    batch_size: int = 128
    epochs: int = 2
    train_limit: int = 0
    validation_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        _check_range("label_smoothing", self.label_smoothing, 0.0, 0.5)
        if isinstance(self.learning_rate, bool) or not 0.0 < self.learning_rate <= 1000.0:
            raise ConfigError(f"learning_rate must be above 0 and at most 1000, got {self.learning_rate!r}")
        _check_range("batch_size", self.batch_size, 1, 4096)
        _check_range("epochs", self.epochs, 1, 200)
        from mnist_lab import optim  # deferred: optim's registries import this module

        _check_choice("loss", self.loss, tuple(optim.LOSSES))
        _check_choice("optimizer", self.optimizer, tuple(optim.OPTIMIZERS))
        _check_choice("schedule", self.schedule, tuple(optim.SCHEDULES))
        _check_range("train_limit", self.train_limit, 0, 60_000)
        if 0 < self.train_limit < 10:
            raise ConfigError(f"train_limit must be 0 (all) or at least 10 images, got {self.train_limit}")
        _check_range("validation_fraction", self.validation_fraction, 0.0, 0.5)
        _check_range("seed", self.seed, 0, 2**31 - 1)


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    """Raise ConfigError unless ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")


def to_dict(config: ModelConfig | TrainConfig) -> dict[str, Any]:
    """Return the config as a JSON-ready dict."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def to_json(config: ModelConfig | TrainConfig) -> str:
    """Return the config as a JSON string."""
    return json.dumps(to_dict(config), sort_keys=True)


def from_dict(cls: type, data: dict[str, Any]):
    """Build ``cls`` from a dict, ignoring unknown keys (configs saved by older versions)."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def replace(config, **changes):
    """Return a copy of ``config`` with ``changes`` applied and validated."""
    return dataclasses.replace(config, **changes)


__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "to_dict", "to_json", "from_dict", "replace"]
