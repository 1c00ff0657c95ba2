"""Tests of the look inside the network: first-layer weights, feature maps, saliency and their images."""

import subprocess
import sys

import numpy as np
import pytest

from mnist_lab.predictions import inside
from mnist_lab.predictions.inference import RunModel
from mnist_lab.runs.store import RunStore
from tests.server import ROOT


@pytest.fixture(scope="module")
def models(trained_home):
    store = RunStore(trained_home)
    return {run.name: RunModel.load(store, run) for run in store.list_runs()}


def layer(model: RunModel, kind: str, position: int = 0):
    return [lay for lay in model.model.layers if type(lay).__name__ == kind][position]


def test_first_layer_of_a_convnet_is_its_filters(models):
    model = models["small fast"]
    first = inside.first_layer(model)
    conv = layer(model, "Conv2D")
    kernel = np.asarray(conv.kernel)  # (k, k, 1, filters)
    assert (first.kind, first.layer, first.total) == ("conv", conv.name, kernel.shape[3])
    assert first.weights.shape == (min(kernel.shape[3], inside.MAX_MAPS), *kernel.shape[:2])
    np.testing.assert_array_equal(first.weights[5], kernel[:, :, 0, 5])


def test_first_layer_of_a_perceptron_is_one_28x28_template_per_digit(models):
    model = models["small perceptron"]
    first = inside.first_layer(model)
    kernel = np.asarray(layer(model, "Dense").kernel)  # (784, 10)
    assert (first.kind, first.total, first.weights.shape) == ("dense", 10, (10, 28, 28))
    np.testing.assert_array_equal(first.weights[7].ravel(), kernel[:, 7])


def first_block_by_hand(model: RunModel, pixels: np.ndarray) -> np.ndarray:
    """The first conv block in numpy: rescale, convolution (TF's "same" padding), batch norm, ReLU; (filters, h, w)."""
    conv = layer(model, "Conv2D")
    kernel = np.asarray(conv.kernel)[:, :, 0, :]
    size, stride = kernel.shape[0], conv.strides[0]
    out = -(-28 // stride)
    before = max((out - 1) * stride + size - 28, 0) // 2
    padded = np.pad(pixels / 255.0, (before, size + 28))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[: out * stride : stride, : out * stride : stride]
    convolved = np.einsum("ijkl,klc->cij", windows, kernel)
    norm = layer(model, "BatchNormalization")
    gamma, beta, mean, variance = (np.asarray(w)[:, None, None] for w in norm.get_weights())
    return np.maximum(gamma * (convolved - mean) / np.sqrt(variance + norm.epsilon) + beta, 0.0)


def test_feature_maps_are_each_conv_block_after_its_normalisation_and_activation(models, mnist):
    model = models["small fast"]  # conv -> batch norm -> ReLU blocks
    seen = inside.look_inside(model, mnist.x_test[0])
    convs = [lay for lay in model.model.layers if type(lay).__name__ == "Conv2D"]
    assert [block.layer for block in seen.feature_maps] == [conv.name for conv in convs]
    for block, conv in zip(seen.feature_maps, convs):
        assert block.steps == ("Conv2D", "BatchNormalization", "ReLU")
        assert block.channels == conv.filters
        assert block.maps.shape == (min(conv.filters, inside.MAX_MAPS), *conv.output.shape[1:3])
        assert not block.signed  # ReLU outputs
    expected = first_block_by_hand(model, mnist.x_test[0].astype(np.float64))[: inside.MAX_MAPS]
    np.testing.assert_allclose(seen.feature_maps[0].maps, expected, atol=1e-4)


def test_outputs_match_the_model_and_softmax_of_the_logits(models, mnist):
    for model in models.values():
        seen = inside.look_inside(model, mnist.x_test[1])
        np.testing.assert_allclose(seen.probabilities, model.predict_digit(mnist.x_test[1] / 255.0), atol=1e-5)
        np.testing.assert_allclose(np.exp(seen.logits) / np.exp(seen.logits).sum(), seen.probabilities, atol=1e-6)


def test_perceptron_has_no_feature_maps_and_its_saliency_is_weight_times_pixel(models, mnist):
    model = models["small perceptron"]
    pixels = mnist.x_test[2].astype(np.float32)
    seen = inside.look_inside(model, pixels)
    assert seen.feature_maps == []
    kernel = np.asarray(layer(model, "Dense").kernel)  # logit k = sum_i w_ik * pixel_i / 255 + b_k
    expected = (kernel.T.reshape(10, 28, 28) * pixels / 255.0).astype(np.float32)
    np.testing.assert_allclose(seen.saliency, expected, rtol=1e-4, atol=1e-7)
    assert seen.saliency_limit == pytest.approx(np.abs(expected).max(), rel=1e-4)


def test_convnet_saliency_is_the_gradient_of_each_logit_times_the_pixel(models, mnist):
    model = models["small fast"]
    pixels = mnist.x_test[3].astype(np.float32)
    seen = inside.look_inside(model, pixels)
    assert seen.saliency.shape == (10, 28, 28)
    assert np.all(seen.saliency[:, pixels == 0] == 0)  # no ink, no say
    digit = int(np.argmax(seen.probabilities))
    row, col = np.unravel_index(np.argmax(np.abs(seen.saliency[digit])), (28, 28))
    step = 0.5
    nudged = pixels.copy()
    nudged[row, col] += step
    slope = (inside.look_inside(model, nudged).logits[digit] - seen.logits[digit]) / step
    assert slope * pixels[row, col] == pytest.approx(seen.saliency[digit, row, col], rel=0.05)


def test_look_inside_takes_one_28x28_image(models):
    with pytest.raises(ValueError, match="28x28"):
        inside.look_inside(models["small fast"], np.zeros((1, 28, 28)))


def test_weights_image_is_blue_for_positive_red_for_negative_white_for_zero():
    weights = np.zeros((3, 3, 3), dtype=np.float32)
    weights[0, 0, 0], weights[1, 0, 0] = 2.0, -2.0
    image = inside.weights_image(weights, columns=8, size=30)  # 3x3 tiles enlarged 10 times, 4 px gaps
    assert image.shape == (30, 3 * 30 + 2 * 4, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == (33, 102, 172)
    assert tuple(image[0, 34]) == (178, 24, 43)
    assert tuple(image[29, 29]) == (255, 255, 255)


def test_maps_image_is_grey_from_black_for_non_negative_maps():
    maps = np.zeros((10, 7, 7), dtype=np.float32)
    maps[3, 2, 2], maps[4, 0, 0] = 4.0, 2.0
    block = inside.LayerMaps("conv", ("Conv2D", "ReLU"), maps, 10)
    image = inside.maps_image(block, columns=8, size=70)  # 7x7 maps enlarged 10 times: 2 rows of 8 and 2
    assert image.shape == (2 * 70 + 4, 8 * 70 + 7 * 4, 3)
    assert tuple(image[25, 3 * 74 + 25]) == (255, 255, 255)  # the strongest response is white
    assert tuple(image[5, 4 * 74 + 5]) == (128, 128, 128)  # half of it is mid-grey
    assert tuple(image[50, 50]) == (0, 0, 0)  # no response is black


def test_maps_image_is_blue_and_red_for_signed_maps():
    maps = np.array([[[1.0, -0.5]]], dtype=np.float32)
    block = inside.LayerMaps("c1", ("Conv2D",), maps, 1)
    assert block.signed
    image = inside.maps_image(block, size=2)
    assert tuple(image[0, 0]) == (33, 102, 172) and tuple(image[0, 1]) == (217, 140, 149)


@pytest.mark.slow  # a fresh interpreter: 2-3 s
def test_importing_the_page_libraries_does_not_load_tensorflow():
    code = "import sys, mnist_lab.predictions.inside, mnist_lab.predictions, mnist_lab.charts; sys.exit('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
