"""Recommended model and training settings for each architecture."""

from __future__ import annotations

from dataclasses import dataclass

from mnist_lab.models import measured
from mnist_lab.models.config import ConfigError, ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    """Settings that suit one architecture.

    Parameters
    ----------
    model : ModelConfig
        The network.
    train : TrainConfig
        How to train it.
    note : str
        Why these settings, and the test accuracy they reached in the measured table (:mod:`mnist_lab.models.measured`).
    """

    model: ModelConfig
    train: TrainConfig
    note: str


def _measured(name: str) -> str:
    """The preset's measured test accuracy after its last epoch, "measured: 92.6% test accuracy"."""
    return f"measured: {measured.percent(measured.accuracy(name))} test accuracy after {measured.epochs_phrase(name)}"


def _reaching(name: str, goal: float) -> str:
    """When the preset's measured test accuracy first reached ``goal``, as a clause."""
    epoch = measured.first_epoch_reaching(name, goal)
    return f"did not reach {goal:.1%}" if epoch is None else f"passed {goal:.1%} after epoch {epoch}"


PRESETS: dict[str, Preset] = {
    "perceptron": Preset(
        model=ModelConfig(architecture="perceptron"),
        train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=10),
        note=(
            f"Adam at 0.001 for 10 epochs: a linear model converges quickly ({_measured('perceptron')}, "
            f"{measured.percent(measured.accuracy('perceptron', 7))} after epoch 7)."
        ),
    ),
    "mlp": Preset(
        model=ModelConfig(architecture="mlp", hidden_layers=(256, 128), activation="relu", dropout=0.2),
        train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=10),
        note=(
            f"Two hidden layers (256 and 128 ReLU units) with dropout 0.2, Adam at 0.001 for 10 epochs ({_measured('mlp')}). "
            "Dropout makes it harder for the 235,146 weights to memorise the training set."
        ),
    ),
    "keras-classic": Preset(
        model=ModelConfig(architecture="keras-classic"),
        train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=15, validation_fraction=0.1),
        note=(
            "The settings of the Keras example: Adam, batch 128, 15 epochs, 10% validation. In the app's measurements "
            f"it {_reaching('keras-classic', 0.99)} ({_measured('keras-classic')})."
        ),
    ),
    "lenet5": Preset(
        model=ModelConfig(architecture="lenet5"),
        train=TrainConfig(optimizer="adam", learning_rate=3e-3, schedule="cosine", batch_size=128, epochs=10),
        note=(
            "Adam with cosine decay from 0.003 for 10 epochs (the 1998 paper used a hand-tuned SGD variant and "
            f"20 passes; {_measured('lenet5')}). Tanh saturates, so it learns more slowly than the ReLU networks."
        ),
    ),
    "fast": Preset(
        model=ModelConfig(architecture="fast"),
        train=TrainConfig(
            optimizer="adam", learning_rate=8e-3, schedule="one_cycle", batch_size=128, epochs=1,
            validation_fraction=0.1, loss="label_smoothing_crossentropy",
        ),
        note=(
            "Tuned for accuracy per second: one epoch with Adam on a one-cycle schedule peaking at 0.008, and "
            f"label smoothing ({_measured('fast')}). Batch norm makes the high peak rate safe; label smoothing "
            "keeps the network from pushing its outputs all the way to 0 and 1 while the rate is high."
        ),
    ),
    "deep": Preset(
        model=ModelConfig(architecture="deep", augment=True),
        train=TrainConfig(
            optimizer="adam", learning_rate=3e-3, schedule="one_cycle", batch_size=128, epochs=12,
            validation_fraction=0.1,
        ),
        note=(
            "Augmentation on, Adam on a one-cycle schedule peaking at 0.003, 12 epochs "
            f"({_measured('deep')}; it {_reaching('deep', 0.994)}). Augmentation shows it slightly different digits "
            "every epoch, against overfitting over 12 epochs."
        ),
    ),
    "custom": Preset(
        model=ModelConfig(
            architecture="custom", conv_blocks=2, filters=32, kernel_size=3, pooling="max", batch_norm=True,
            dropout=0.25, dense_units=128, activation="relu",
        ),
        train=TrainConfig(optimizer="adam", learning_rate=1e-3, schedule="cosine", batch_size=128, epochs=5),
        note=(
            "A starting point to change one option at a time: two conv blocks (32 and 64 filters) with batch norm, "
            "max pooling and dropout 0.25, a 128-unit dense layer, Adam with cosine decay for 5 epochs "
            f"({_measured('custom')})."
        ),
    ),
}


def preset(name: str) -> Preset:
    """Return the preset for architecture ``name``.

    Parameters
    ----------
    name : str
        A key of ``PRESETS`` (the same keys as ``ARCHITECTURES``).

    Returns
    -------
    Preset

    Raises
    ------
    ConfigError
        If there is no preset called ``name``; the message lists the valid names.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"no preset called {name!r}; choose one of {', '.join(PRESETS)}") from None


__all__ = ["PRESETS", "Preset", "preset"]
