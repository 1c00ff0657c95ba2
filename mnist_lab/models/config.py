"""Frozen configuration dataclasses for models and training, saved with each run as JSON.

Each field declares its allowed values once, as a :class:`Limit` in the field's metadata: the dataclass checks
them, and the Train form and the command line read them from here (``limit_of``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from mnist_lab.errors import ConfigError
from mnist_lab.models import architectures, optim

BATCH_SIZES = (1, 8, 16, 32, 64, 128, 256, 512, 1024)
ACTIVATIONS = ("relu", "gelu", "elu", "tanh", "sigmoid")


@dataclass(frozen=True)
class Limit:
    """The allowed values of one config field.

    Parameters
    ----------
    low, high : float, optional
        Inclusive bounds of a number.
    choices : tuple
        The only allowed values, when not empty.
    step : float, optional
        The step a form offers for the field.
    ticks : tuple
        The values a form's slider offers (all allowed; other allowed values can still be set in code).
    above_low : bool
        ``low`` itself is not allowed (a learning rate must be above 0).
    """

    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    step: float | None = None
    ticks: tuple = ()
    above_low: bool = False

    def check(self, name: str, value: Any) -> None:
        """Raise ConfigError unless ``value`` is allowed for the field ``name``."""
        if self.choices:
            if value not in self.choices or isinstance(value, bool) != isinstance(self.choices[0], bool):
                raise ConfigError(f"{name} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        too_low = value <= self.low if self.above_low else value < self.low
        if too_low or value > self.high:
            lower = f"above {self.low:g}" if self.above_low else f"between {self.low:g}"
            upper = f"and at most {self.high:g}" if self.above_low else f"and {self.high:g}"
            raise ConfigError(f"{name} must be {lower} {upper}, got {value!r}")


def _field(default: Any, **limit: Any) -> Any:
    """A dataclass field with its default and its :class:`Limit`."""
    return field(default=default, metadata={"limit": Limit(**limit)})


def _flag(default: bool) -> Any:
    """A yes/no field."""
    return _field(default, choices=(True, False))


@dataclass(frozen=True)
class ModelConfig:
    """What network to build.

    Parameters
    ----------
    architecture : str
        Key of the architecture registry (``mnist_lab.models.architectures.ARCHITECTURES``).
    conv_blocks, filters, kernel_size, pooling, batch_norm, dropout, dense_units, activation
        Options of the ``custom`` architecture; ``filters`` is the width of the first
        block and doubles with each further block.
    hidden_layers : tuple of int
        Widths of the hidden Dense layers of the ``mlp`` architecture.
    scale_inputs : bool
        Put a ``Rescaling(1/255)`` layer first, so the network sees 0-1 values.
    augment : bool
        Put random shift, rotation and zoom layers in front (active in training only).
    num_classes : int
        Width of the softmax output: the number of classes of the dataset the network is trained on.
    """

    architecture: str = _field("fast", choices=tuple(architectures.ARCHITECTURES))
    conv_blocks: int = _field(2, low=1, high=4, step=1)
    filters: int = _field(32, low=1, high=512, ticks=(8, 16, 32, 64, 128))
    kernel_size: int = _field(3, choices=(3, 5, 7))
    pooling: str = _field("max", choices=("max", "avg", "none"))
    batch_norm: bool = _flag(True)
    dropout: float = _field(0.25, low=0.0, high=0.9, step=0.05)
    dense_units: int = _field(128, low=0, high=4096, ticks=(0, 32, 64, 128, 256, 512))
    activation: str = _field("relu", choices=ACTIVATIONS)
    hidden_layers: tuple[int, ...] = _field((128,), low=1, high=4096)
    scale_inputs: bool = _flag(True)
    augment: bool = _flag(False)
    num_classes: int = _field(10, low=2, high=1000)

    def __post_init__(self) -> None:
        if isinstance(self.hidden_layers, (str, bytes)) or not hasattr(self.hidden_layers, "__iter__"):
            raise ConfigError(f"hidden_layers must be a list of widths, got {self.hidden_layers!r}")
        try:
            widths = tuple(int(u) for u in self.hidden_layers)
        except (TypeError, ValueError):
            raise ConfigError(f"hidden_layers must be whole-number widths, got {self.hidden_layers!r}") from None
        if not 1 <= len(widths) <= 5:
            raise ConfigError(f"hidden_layers must be 1 to 5 widths, got {self.hidden_layers}")
        object.__setattr__(self, "hidden_layers", widths)
        _check_fields(self, skip=("hidden_layers",))
        for width in widths:
            limit_of(ModelConfig, "hidden_layers").check("each hidden layer width", width)


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Parameters
    ----------
    loss : str
        Key of ``mnist_lab.models.optim.LOSSES``.
    label_smoothing : float
        Used by the label-smoothing cross-entropy only.
    optimizer : str
        Key of ``mnist_lab.models.optim.OPTIMIZERS``.
    learning_rate : float
        Peak learning rate.
    schedule : str
        Key of ``mnist_lab.models.optim.SCHEDULES``.
    batch_size, epochs : int
        Mini-batch size and number of passes over the training subset.
    train_limit : int
        Number of training images used (0 means the whole training split minus validation).
    validation_fraction : float
        Share of the training subset held out for validation, in [0, 0.5].
    seed : int
        Seed for the subset, the split, initial weights and shuffling.
    """

    loss: str = _field("sparse_categorical_crossentropy", choices=tuple(optim.LOSSES))
    label_smoothing: float = _field(0.1, low=0.0, high=0.5, step=0.05)
    optimizer: str = _field("adam", choices=tuple(optim.OPTIMIZERS))
    learning_rate: float = _field(1e-3, low=0.0, high=1000.0, above_low=True)
    schedule: str = _field("constant", choices=tuple(optim.SCHEDULES))
    batch_size: int = _field(128, low=1, high=4096, ticks=BATCH_SIZES)
    epochs: int = _field(2, low=1, high=200, step=1)
    train_limit: int = _field(0, low=0, high=10_000_000, step=1000)
    validation_fraction: float = _field(0.1, low=0.0, high=0.5, step=0.05)
    seed: int = _field(0, low=0, high=2**31 - 1, step=1)

    def __post_init__(self) -> None:
        _check_fields(self)
        if 0 < self.train_limit < 10:
            raise ConfigError(f"train_limit must be 0 (all) or at least 10 images, got {self.train_limit}")


def limit_of(cls: type, name: str) -> Limit:
    """Return the :class:`Limit` of the field ``name`` of ``ModelConfig`` or ``TrainConfig``."""
    for item in dataclasses.fields(cls):
        if item.name == name:
            return item.metadata["limit"]
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def default_of(cls: type, name: str) -> Any:
    """Return the default value of the field ``name``."""
    return getattr(cls(), name)


def _check_fields(config: ModelConfig | TrainConfig, *, skip: tuple[str, ...] = ()) -> None:
    """Check every field of ``config`` against its Limit."""
    for item in dataclasses.fields(config):
        if item.name not in skip:
            item.metadata["limit"].check(item.name, getattr(config, item.name))


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


__all__ = [
    "ConfigError",
    "Limit",
    "ModelConfig",
    "TrainConfig",
    "default_of",
    "from_dict",
    "limit_of",
    "replace",
    "to_dict",
    "to_json",
]
