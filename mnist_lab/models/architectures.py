"""Network architectures the student can pick, each with its reason, and building, sizing and describing the chosen one.

The layers of each network are in :mod:`mnist_lab.models.networks`; :func:`build_model` refuses a network too big
for a shared server before it builds it (:func:`check_size`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnist_lab.errors import ConfigError
from mnist_lab.models import keras_session, measured, networks
from mnist_lab.models.networks import INPUT_SHAPE
from mnist_lab.models.registry import Choice, registry
from mnist_lab.text import plural

if TYPE_CHECKING:
    import keras

    from mnist_lab.models.config import ModelConfig

#: The largest network ``custom`` or ``mlp`` may build: far above the presets (at most 0.5M), far below what runs
#: a shared 2-core, few-GB server out of memory (a 445M-weight network took 6 GB just to build).
MAX_PARAMS = 20_000_000
SUMMARY_TITLES = {"output_shape": "output shape", "params": "parameters"}  # column titles for readers


def _reaches(name: str, goal: float) -> str:
    """When the preset ``name`` first reached ``goal`` in the measured table, in words."""
    epoch = measured.first_epoch_reaching(name, goal)
    if epoch is None:
        return f"did not reach {goal:.0%}"
    return f"passed {goal:.0%} after epoch {epoch}"


_ACCURACY = {name: measured.percent(measured.accuracy(name)) for name in measured.PRESETS}

ARCHITECTURES: dict[str, Choice] = registry(
    Choice(
        key="perceptron",
        label="Perceptron (softmax regression)",
        reason=(
            "The simplest classifier that can do the job, and the one to start the assignment with. Flatten "
            "turns the 28x28 image into a list of 784 numbers, one per pixel. A single Dense layer then computes, "
            "for each of the 10 digits, a weighted sum of all 784 pixels plus a bias (784 x 10 weights + 10 "
            "biases = 7,850 parameters), and softmax turns the 10 sums into probabilities. It is named after "
            "Rosenblatt's perceptron but is its multiclass generalisation: softmax instead of a step function, "
            "trained by gradient descent on a differentiable loss, which makes it multinomial logistic regression, "
            "also called softmax regression. Each digit gets one pixel template, the digit whose template matches "
            f"best wins. Its preset reached {_ACCURACY['perceptron']} test accuracy in the app's measurements, and "
            "the learned weights can be shown as 10 images."
        ),
        poor_when=(
            f"You want more than about {_ACCURACY['perceptron']}: a linear model cannot combine strokes into shapes, "
            "so digits that overlap in pixel space (4/9, 3/5/8) stay confused. It also needs scaled inputs; on raw "
            "0-255 pixels the optimizer takes huge steps."
        ),
        build=networks.build_perceptron,
    ),
    Choice(
        key="mlp",
        label="Multi-layer perceptron",
        reason=(
            "Adds hidden Dense layers (widths set by 'hidden layers', activation and dropout from the model "
            "options) between the 784 flattened pixels and the 10 outputs. The non-linear activation lets the "
            "network build intermediate features: with their presets the perceptron reached "
            f"{_ACCURACY['perceptron']} and this network {_ACCURACY['mlp']} test accuracy in the app's measurements. "
            "It is the classic fully-connected network of the assignment and shows what depth adds before "
            "convolutions come in."
        ),
        poor_when=(
            "You care about accuracy per parameter: every hidden unit connects to all 784 pixels, so the network "
            "has no notion that neighbouring pixels belong together, needs many weights and overfits without "
            f"dropout; with their presets it reached {_ACCURACY['mlp']}, the Keras example convnet "
            f"{_ACCURACY['keras-classic']}."
        ),
        build=networks.build_mlp,
        settings=("hidden_layers", "activation", "dropout"),
    ),
    Choice(
        key="keras-classic",
        label="Keras example convnet",
        reason=(
            "Exactly the Keras 'Simple MNIST convnet' example: 32 and then 64 filters of 3x3, each followed by "
            "2x2 max pooling, then dropout 0.5 and the 10-way softmax, 34,826 parameters. Convolutions slide the "
            "same small filter over the whole image, so a stroke detector learned in one place works everywhere. "
            f"Trained with its preset (Adam, batch size 128, {plural(measured.epochs('keras-classic'), 'epoch')}) it "
            f"{_reaches('keras-classic', 0.99)} and ended at {_ACCURACY['keras-classic']} test accuracy in the "
            "app's measurements. It is the reference the other choices are compared with."
        ),
        poor_when=(
            "Training time matters: without batch normalisation it needs many epochs, where 'fast' "
            f"{_reaches('fast', 0.99)}. For the last tenths of a percent 'deep' with augmentation reached "
            f"{_ACCURACY['deep']}."
        ),
        build=networks.build_keras_classic,
    ),
    Choice(
        key="lenet5",
        label="LeNet-5 (1998)",
        reason=(
            "The historic convnet of LeCun et al. (1998) that read cheques: 6 filters of 5x5, average pooling, 16 "
            "filters of 5x5, average pooling, then dense layers of 120 and 84 units, all with tanh activations. "
            "The first convolution pads the 28x28 image the way the original used 32x32 input. It shows that the "
            "ideas of modern convnets (local filters, weight sharing, pooling) were already there long before "
            "GPUs: the paper reported 99.05% on MNIST; this Keras version reached "
            f"{_ACCURACY['lenet5']} with its preset ({plural(measured.epochs('lenet5'), 'epoch')}) in the app's measurements."
        ),
        poor_when=(
            "You want the best modern result: tanh saturates and trains more slowly than ReLU, and there is no "
            f"batch normalisation or dropout. After {measured.epochs_phrase('fast')} of its preset it was at "
            f"{measured.percent(measured.accuracy('lenet5', measured.epochs('fast')))}, where 'fast' ends its "
            f"{measured.epochs_phrase('fast')} at {_ACCURACY['fast']}."
        ),
        build=networks.build_lenet5,
    ),
    Choice(
        key="fast",
        label="Fast (batch-norm convnet)",
        reason=(
            "Designed for the most accuracy per second of CPU training. The first convolution (32 filters of "
            "5x5) moves in steps of 2 and is followed by 2x2 max pooling, so the expensive layers work on 14x14 "
            "and 7x7 grids instead of 28x28; a second convolution (64 filters of 3x3), pooling and a dense layer "
            "of 256 units follow. Every layer is batch-normalised, which keeps the activations well scaled so a "
            "high learning rate with a one-cycle schedule is stable. Its preset (Adam on a one-cycle schedule, "
            f"label smoothing, batch 128, {measured.epochs_phrase('fast')}) reached {_ACCURACY['fast']} test "
            "accuracy in the app's measurements, where the Keras example was at "
            f"{measured.percent(measured.accuracy('keras-classic', measured.epochs('fast')))} after the same "
            f"{measured.epochs_phrase('fast')}."
        ),
        poor_when=(
            "You want the highest accuracy and time does not matter: it has no dropout or augmentation against "
            f"overfitting, and 'deep' with its preset reached {_ACCURACY['deep']}."
        ),
        build=networks.build_fast,
    ),
    Choice(
        key="deep",
        label="Deep (batch norm + dropout, best accuracy)",
        reason=(
            "Built for the highest accuracy rather than speed: two blocks of two 3x3 convolutions (32, then 64 "
            "filters), each convolution batch-normalised, each block ending in 2x2 max pooling and dropout 0.25, "
            "then a batch-normalised dense layer of 256 units with dropout 0.5 (331,306 parameters). Stacking two "
            "3x3 convolutions sees a 5x5 patch with fewer weights and an extra non-linearity. It is meant to be "
            "trained with augmentation (the preset switches it on: random shifts of up to 10%, rotations of up "
            "to about 11 degrees and 10% zoom), so it learns from slightly different digits every epoch and "
            f"overfits less. With its preset it reached {_ACCURACY['deep']} test accuracy after "
            f"{plural(measured.epochs('deep'), 'epoch')} in the app's measurements."
        ),
        poor_when=(
            "Time or CPU is short: its first convolutions work on the full 28x28 image, where 'fast' starts with a "
            "stride of 2 and pools early, so each of its epochs costs far more, and its preset runs "
            f"{plural(measured.epochs('deep'), 'epoch')}."
        ),
        build=networks.build_deep,
    ),
    Choice(
        key="custom",
        label="Custom convnet",
        reason=(
            "Build your own convnet from the model options: 1-4 blocks, each a convolution (the first block has "
            "'filters' filters, each further block doubles them) with the chosen kernel size, optional batch "
            "normalisation, the activation, optional 2x2 max or average pooling and dropout; then an optional "
            "dense layer ('dense units', 0 for none) with the same dropout, and the softmax. Use it to test one "
            "idea at a time, for example what batch norm or a wider first block changes."
        ),
        poor_when=(
            "You have not yet trained the presets: without a reference it is hard to tell whether a setting helps. "
            "Many blocks without pooling, or many filters, make the model slow and large on a CPU."
        ),
        build=networks.build_custom,
        settings=("conv_blocks", "filters", "kernel_size", "batch_norm", "activation", "pooling", "dropout",
                  "dense_units"),
    ),
)


def build_model(model_config: ModelConfig) -> keras.Model:
    """Build the uncompiled network described by ``model_config``.

    Parameters
    ----------
    model_config : ModelConfig
        Architecture key and its options.

    Returns
    -------
    keras.Model
        Takes (n, 28, 28, 1) raw pixel values 0-255 and returns (n, 10) softmax probabilities.
    """
    check_size(model_config)
    return ARCHITECTURES[model_config.architecture].build(model_config)


def estimate_params(model_config: ModelConfig) -> int | None:
    """Count the weights of a ``custom`` or ``mlp`` network from its config, without building it (else None)."""
    dense_widths: list[int] = []
    if model_config.architecture == "mlp":
        inputs, dense_widths, total = INPUT_SHAPE[0] * INPUT_SHAPE[1], list(model_config.hidden_layers), 0
    elif model_config.architecture == "custom":
        side, channels, total = INPUT_SHAPE[0], INPUT_SHAPE[2], 0
        for block in range(model_config.conv_blocks):
            out = model_config.filters * 2**block
            total += model_config.kernel_size**2 * channels * out
            total += 4 * out if model_config.batch_norm else out  # gamma, beta and the two moving statistics
            side, channels = (side if model_config.pooling == "none" else side // 2), out
        inputs = side * side * channels
        dense_widths = [model_config.dense_units] if model_config.dense_units else []
    else:
        return None
    for width in [*dense_widths, model_config.num_classes]:
        total += inputs * width + width
        inputs = width
    return total


def check_size(model_config: ModelConfig) -> None:
    """Refuse a ``custom`` or ``mlp`` network too big for a shared 2-core server.

    Raises
    ------
    ConfigError
        The network would have more than :data:`MAX_PARAMS` weights; the message says which options shrink it.
    """
    estimate = estimate_params(model_config)
    if estimate is not None and estimate > MAX_PARAMS:
        shrink = ("fewer or narrower hidden layers" if model_config.architecture == "mlp" else
                  "pooling, fewer blocks or filters, or fewer dense units")
        raise ConfigError(f"this network would have {estimate:,} weights, more than the {MAX_PARAMS:,} this app "
                          f"trains: choose {shrink}")


def count_params(model: keras.Model) -> int:
    """Return the total number of weights of ``model`` (trainable and not)."""
    return int(model.count_params())


def summary_table(model: keras.Model) -> list[dict[str, Any]]:
    """Describe ``model`` layer by layer.

    Parameters
    ----------
    model : keras.Model
        A built functional model.

    Returns
    -------
    list of dict
        One row per layer with ``layer`` (name), ``type`` (class name), ``output_shape`` (str, batch
        dimension shown as None) and ``params`` (int).
    """
    return [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": str(tuple(layer.output.shape)),
            "params": int(layer.count_params()),
        }
        for layer in model.layers
    ]


__all__ = ["ARCHITECTURES", "build_model", "count_params", "summary_table"]


def describe(model_config: ModelConfig) -> tuple[list[dict[str, Any]], int]:
    """Build the network of ``model_config`` only to describe it: its summary rows and parameter count."""
    with keras_session.building():
        model = build_model(model_config)
    return summary_table(model), count_params(model)
