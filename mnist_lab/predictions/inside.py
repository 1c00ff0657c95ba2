"""A look inside a run's network: first-layer weights, feature maps and saliency (gradient x input).

TensorFlow is imported inside the functions that run the model, so importing this module stays cheap.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from mnist_lab.models import keras_session
from mnist_lab.predictions.inference import RunModel

MAX_MAPS = 32
# Layers that follow a convolution inside one block: its feature maps are shown after them.
_BLOCK_FOLLOWERS = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU", "PReLU")
# Vega's "redblue" ends, as on the saliency charts: red for negative, blue for positive.
_NEGATIVE_RGB = np.array([178, 24, 43], dtype=np.float32)
_POSITIVE_RGB = np.array([33, 102, 172], dtype=np.float32)
_WHITE = np.array([255, 255, 255], dtype=np.float32)
_GAP_GREY = 200
_BODIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # keras model -> its body (see _body)


@dataclass(frozen=True)
class FirstLayer:
    """The weights of the network's first layer that has any, one small image per unit.

    Attributes
    ----------
    kind : {"conv", "dense"}
        Convolution filters (k x k), or the 784 weights of a Dense unit shown as a 28x28 image.
    layer : str
        The layer's name.
    weights : numpy.ndarray
        float32 (n, h, w): the first ``MAX_MAPS`` filters or units.
    total : int
        Number of filters or units in the layer.
    """

    kind: str
    layer: str
    weights: np.ndarray
    total: int


@dataclass(frozen=True)
class LayerMaps:
    """The feature maps of one convolution block for one input.

    Attributes
    ----------
    layer : str
        Name of the convolution layer.
    steps : tuple of str
        Layer types from the convolution to the output shown (e.g. Conv2D, BatchNormalization, ReLU).
    maps : numpy.ndarray
        float32 (n, h, w): the first ``MAX_MAPS`` channels.
    channels : int
        Number of channels of the block.
    """

    layer: str
    steps: tuple[str, ...]
    maps: np.ndarray
    channels: int

    @property
    def signed(self) -> bool:
        """Whether some responses are negative (no ReLU after the convolution, or tanh): shown blue/red."""
        return bool(self.maps.min() < 0)


@dataclass(frozen=True)
class Inside:
    """What the network computes for one input.

    Attributes
    ----------
    feature_maps : list of LayerMaps
        One entry per convolution block, in order; empty for networks without convolutions.
    logits : numpy.ndarray
        The 10 scores of the last layer before softmax.
    probabilities : numpy.ndarray
        softmax(logits): the model's output.
    saliency : numpy.ndarray
        float32 (10, 28, 28): gradient x input of each digit's logit. Positive pixels push the
        score of that digit up, negative ones down; pixels without ink are 0.
    """

    feature_maps: list[LayerMaps]
    logits: np.ndarray
    probabilities: np.ndarray
    saliency: np.ndarray

    @property
    def saliency_limit(self) -> float:
        """The largest absolute saliency over all digits: one colour scale for maps that are compared."""
        return float(np.abs(self.saliency).max())


def first_layer(model: RunModel) -> FirstLayer:
    """Return the weights of the first layer with a kernel: conv filters, or Dense units over the 784 pixels.

    Raises
    ------
    ValueError
        The first weighted layer is neither a 2-D convolution on the image nor a Dense layer on its 784 pixels.
    """
    for layer in model.model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        kernel = np.asarray(kernel, dtype=np.float32)
        if type(layer).__name__ == "Conv2D" and kernel.ndim == 4 and kernel.shape[2] == 1:
            weights = np.transpose(kernel[:, :, 0, :], (2, 0, 1))
            return FirstLayer("conv", layer.name, weights[:MAX_MAPS], weights.shape[0])
        if type(layer).__name__ == "Dense" and kernel.shape[0] == 28 * 28:
            weights = kernel.T.reshape(-1, 28, 28)
            return FirstLayer("dense", layer.name, weights[:MAX_MAPS], weights.shape[0])
        raise ValueError(f"the first weighted layer {layer.name!r} ({type(layer).__name__}) cannot be shown as images")
    raise ValueError("the network has no layer with weights")


def look_inside(model: RunModel, pixels: np.ndarray) -> Inside:
    """Run one image through the network, keeping each convolution block's output and the saliency of every digit.

    Parameters
    ----------
    model : RunModel
        The run's model; its last layer must be the Dense softmax layer the app builds.
    pixels : numpy.ndarray
        One 28x28 image with MNIST's raw values 0-255 (what the model is fed).

    Returns
    -------
    Inside
    """
    import tensorflow as tf

    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.shape != (28, 28):
        raise ValueError(f"expected one 28x28 image, got shape {pixels.shape}")
    network = model.model
    head = network.layers[-1]
    if type(head).__name__ != "Dense":
        raise ValueError(f"the last layer must be the Dense softmax layer, got {type(head).__name__}")
    blocks = _conv_blocks(network.layers)
    body = _body(network, blocks)
    # Ten copies of the image in one batch: copy k's gradient is that of logit k, all in one backward pass.
    images = tf.constant(np.repeat(pixels[np.newaxis, :, :, np.newaxis], head.units, axis=0))
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = body(images, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        logits = tf.matmul(outputs[-1], head.kernel) + (head.bias if head.use_bias else 0.0)
        own_logits = tf.linalg.diag_part(logits)
    gradients = tape.gradient(own_logits, images).numpy()[:, :, :, 0]
    logits = logits.numpy()[0]
    return Inside(
        feature_maps=[_layer_maps(network.layers, block, np.asarray(out[0])) for block, out in zip(blocks, outputs)],
        logits=logits,
        probabilities=_softmax(logits),
        saliency=(gradients * pixels).astype(np.float32),
    )


def _body(network, blocks: list[tuple[int, int]]):
    """The network up to the last layer's input, also returning each conv block's output; built once per model.

    The softmax of the last layer saturates at confident outputs (gradient ~0), so saliency explains
    the logits, computed from this body's last output.
    """
    import keras

    with keras_session.building():  # building a model touches Keras' global naming state
        if network not in _BODIES:
            outputs = [network.layers[end].output for _, end in blocks] + [network.layers[-1].input]
            _BODIES[network] = keras.Model(network.inputs, outputs)
        return _BODIES[network]


def _conv_indices(layers) -> list[int]:
    """Positions of the Conv2D layers."""
    return [i for i, layer in enumerate(layers) if type(layer).__name__ == "Conv2D"]


def _conv_blocks(layers) -> list[tuple[int, int]]:
    """(start, end) positions of each convolution and the normalisation/activation layers right after it.

    The app's networks are chains, so a functional model's layer list is in the order of the computation.
    """
    blocks = []
    for start in _conv_indices(layers):
        end = start
        while end + 1 < len(layers) and type(layers[end + 1]).__name__ in _BLOCK_FOLLOWERS:
            end += 1
        blocks.append((start, end))
    return blocks


def _layer_maps(layers, block: tuple[int, int], output: np.ndarray) -> LayerMaps:
    """Wrap one block's output (h, w, channels) as LayerMaps."""
    start, end = block
    maps = np.transpose(output, (2, 0, 1)).astype(np.float32)
    steps = tuple(type(layer).__name__ for layer in layers[start : end + 1])
    return LayerMaps(layers[start].name, steps, maps[:MAX_MAPS], maps.shape[0])


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of a vector."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def weights_image(weights: np.ndarray, *, columns: int | None = None, size: int = 64) -> np.ndarray:
    """Lay out signed weights (n, h, w) as an RGB grid: blue positive, red negative, white 0.

    All units share one colour scale (the largest absolute weight), so their strengths compare.

    Parameters
    ----------
    weights : numpy.ndarray
        Shape (n, h, w), such as ``FirstLayer.weights``.
    columns : int, optional
        Tiles per row; by default all in one row up to 10 tiles (the 10 digit units of an output layer), else 8.
    size : int
        Approximate side of a tile in pixels; tiles are enlarged by a whole factor, without blurring.

    Returns
    -------
    numpy.ndarray
        uint8 RGB image, tiles separated by light grey gaps.
    """
    limit = float(np.abs(weights).max()) or 1.0
    return _grid(_diverging(weights / limit), columns=columns, size=size)


def maps_image(layer: LayerMaps, *, columns: int | None = None, size: int = 84) -> np.ndarray:
    """Lay out a block's feature maps as a grid sharing one scale: grey from 0 (black) up, or blue/red if signed.

    A shared scale shows which maps this input excites most; an all-black map stays silent for it.

    Parameters
    ----------
    layer : LayerMaps
    columns, size : int, optional
        Tiles per row and approximate tile side in pixels, as in ``weights_image``.

    Returns
    -------
    numpy.ndarray
        uint8 RGB image.
    """
    maps = layer.maps
    if layer.signed:
        return _grid(_diverging(maps / (float(np.abs(maps).max()) or 1.0)), columns=columns, size=size)
    grey = np.clip(maps / (float(maps.max()) or 1.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _grid(np.repeat(grey[..., np.newaxis], 3, axis=-1), columns=columns, size=size)


def _diverging(values: np.ndarray) -> np.ndarray:
    """Map values in [-1, 1] to uint8 RGB: red for negative, white for 0, blue for positive."""
    values = np.clip(values, -1.0, 1.0)[..., np.newaxis]
    colour = np.where(values < 0, _NEGATIVE_RGB, _POSITIVE_RGB)
    rgb = _WHITE + np.abs(values) * (colour - _WHITE)
    return (rgb + 0.5).astype(np.uint8)


def _grid(tiles: np.ndarray, *, columns: int | None, size: int, gap: int = 4) -> np.ndarray:
    """Enlarge RGB tiles (n, h, w, 3) by a whole factor to about ``size`` px and lay them out in rows."""
    count, height, width, _ = tiles.shape
    scale = max(1, size // max(height, width))
    tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    columns = max(1, min(columns or (count if count <= 10 else 8), count))
    rows = -(-count // columns)
    step_y, step_x = height * scale + gap, width * scale + gap
    grid = np.full((rows * step_y - gap, columns * step_x - gap, 3), _GAP_GREY, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, columns)
        grid[row * step_y : row * step_y + tile.shape[0], col * step_x : col * step_x + tile.shape[1]] = tile
    if count % columns:  # the unused end of the last row stays blank
        grid[(rows - 1) * step_y :, (count % columns) * step_x - gap :] = 255
    return grid
