"""The Keras networks of the architectures: one function per network, building it layer by layer.

Each ``build_*`` function takes a :class:`~mnist_lab.models.config.ModelConfig` and returns the uncompiled
``keras.Model``: (n, 28, 28, 1) raw pixel values 0-255 in (scaled and augmented inside the model when the config
says so), (n, ``num_classes``) softmax probabilities out. :data:`mnist_lab.models.architectures.ARCHITECTURES` names
them with the reason to pick each; :mod:`mnist_lab.report.notebook_model` writes the same layers as a notebook's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mnist_lab.models.config import ModelConfig

INPUT_SHAPE = (28, 28, 1)
OUTPUT_LAYER = "digit_probabilities"
AUGMENT_SHIFT = 0.1
AUGMENT_ROTATION = 0.03
AUGMENT_ZOOM = 0.1
# Keras' default 0.99 leaves the moving statistics far behind the weights in a 1-2 epoch run.
BN_MOMENTUM = 0.9


def _inputs(config: ModelConfig):
    """Return the Input tensor and the tensor after optional rescaling and augmentation."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    if config.scale_inputs:
        x = layers.Rescaling(1.0 / 255, name="scale_0_1")(x)
    if config.augment:
        x = layers.RandomTranslation(AUGMENT_SHIFT, AUGMENT_SHIFT, fill_mode="constant", name="random_shift")(x)
        x = layers.RandomRotation(AUGMENT_ROTATION, fill_mode="constant", name="random_rotation")(x)
        x = layers.RandomZoom(AUGMENT_ZOOM, fill_mode="constant", name="random_zoom")(x)
    return inputs, x


def _finish(inputs, x, name: str, num_classes: int):
    """Add the softmax output (one unit per class) and wrap the graph in a Model."""
    import keras
    from keras import layers

    outputs = layers.Dense(num_classes, activation="softmax", name=OUTPUT_LAYER)(x)
    return keras.Model(inputs, outputs, name=name)


def _conv_bn_relu(x, filters: int, kernel_size: int = 3, strides: int = 1, padding: str = "same"):
    """Return ``x`` after a bias-free convolution, batch normalisation and ReLU."""
    from keras import layers

    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU()(x)


def _dense_bn_relu(x, units: int):
    """Return ``x`` after a bias-free Dense layer, batch normalisation and ReLU."""
    from keras import layers

    x = layers.Dense(units, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU()(x)


def build_perceptron(config: ModelConfig):
    """Flatten the image and map its 784 pixels straight to 10 softmax outputs."""
    from keras import layers

    inputs, x = _inputs(config)
    x = layers.Flatten()(x)
    return _finish(inputs, x, "perceptron", config.num_classes)


def build_mlp(config: ModelConfig):
    """Flatten, then one Dense layer per entry of ``hidden_layers``, with optional dropout."""
    from keras import layers

    inputs, x = _inputs(config)
    x = layers.Flatten()(x)
    for units in config.hidden_layers:
        x = layers.Dense(units, activation=config.activation)(x)
        if config.dropout > 0:
            x = layers.Dropout(config.dropout)(x)
    return _finish(inputs, x, "mlp", config.num_classes)


def build_keras_classic(config: ModelConfig):
    """The Keras 'simple MNIST convnet' example."""
    from keras import layers

    inputs, x = _inputs(config)
    x = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    return _finish(inputs, x, "keras_classic", config.num_classes)


def build_lenet5(config: ModelConfig):
    """LeNet-5 (LeCun et al., 1998) with tanh and average pooling, padded for 28x28 input."""
    from keras import layers

    inputs, x = _inputs(config)
    x = layers.Conv2D(6, 5, padding="same", activation="tanh", name="c1")(x)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="tanh", name="c5")(x)
    x = layers.Dense(84, activation="tanh", name="f6")(x)
    return _finish(inputs, x, "lenet5", config.num_classes)


def build_fast(config: ModelConfig):
    """A strided 5x5 stem, early pooling, one more conv and a dense layer, all batch-normalised."""
    from keras import layers

    inputs, x = _inputs(config)
    x = _conv_bn_relu(x, 32, kernel_size=5, strides=2)
    x = layers.MaxPooling2D(2)(x)
    x = _conv_bn_relu(x, 64)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = _dense_bn_relu(x, 256)
    return _finish(inputs, x, "fast", config.num_classes)


def build_deep(config: ModelConfig):
    """Two blocks of two 3x3 convolutions with batch norm and dropout, then a batch-normalised dense layer."""
    from keras import layers

    inputs, x = _inputs(config)
    for filters in (32, 64):
        x = _conv_bn_relu(x, filters, padding="valid")
        x = _conv_bn_relu(x, filters, padding="valid")
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = _dense_bn_relu(x, 256)
    x = layers.Dropout(0.5)(x)
    return _finish(inputs, x, "deep", config.num_classes)


def build_custom(config: ModelConfig):
    """Conv blocks (filters doubling) and an optional dense layer, all taken from the ModelConfig fields."""
    from keras import layers

    inputs, x = _inputs(config)
    for block in range(config.conv_blocks):
        x = layers.Conv2D(
            config.filters * 2**block, config.kernel_size, padding="same", use_bias=not config.batch_norm
        )(x)
        if config.batch_norm:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.Activation(config.activation)(x)
        if config.pooling == "max":
            x = layers.MaxPooling2D(2)(x)
        elif config.pooling == "avg":
            x = layers.AveragePooling2D(2)(x)
        if config.dropout > 0:
            x = layers.Dropout(config.dropout)(x)
    x = layers.Flatten()(x)
    if config.dense_units > 0:
        x = layers.Dense(config.dense_units, activation=config.activation)(x)
        if config.dropout > 0:
            x = layers.Dropout(config.dropout)(x)
    return _finish(inputs, x, "custom", config.num_classes)
