"""Tests of the Predictions page's numbers: the test-digit grid, softmax/argmax, own digits, the wrong-shape demo."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from mnist_lab import predictions
from mnist_lab.data.preprocess import BlankImageError, ImageInputError
from mnist_lab.predictions.inference import RunModel
from mnist_lab.runs.store import RunStore

# Six digits: predicted = argmax, confidence = the max; rows 1, 3 and 4 are mistakes.
LABELS = np.array([3, 5, 3, 0, 7, 9])
PROBABILITIES = np.full((6, 10), 0.0)
for row, (predicted, confidence) in enumerate([(3, 0.9), (6, 0.5), (3, 0.6), (8, 0.95), (1, 0.5), (9, 0.99)]):
    PROBABILITIES[row] = (1 - confidence) / 9
    PROBABILITIES[row, predicted] = confidence


def select(**options):
    return predictions.select_samples(PROBABILITIES, LABELS, **options)


def test_samples_show_true_predicted_and_confidence():
    samples = select(order="test-set order")
    frame = samples.frame
    assert samples.matches == 6
    assert frame["index"].tolist() == [0, 1, 2, 3, 4, 5]
    assert frame["predicted"].tolist() == [3, 6, 3, 8, 1, 9]
    assert frame["correct"].tolist() == [True, False, True, False, False, True]
    assert frame["confidence"].tolist() == pytest.approx([0.9, 0.5, 0.6, 0.95, 0.5, 0.99])
    assert frame["caption"][1] == "✗ 5 → 6 · 50%"
    assert frame["label"][0] == "#0: true 3, predicted 3 (90.0%)"


def test_least_sure_first_keeps_test_order_on_ties_and_most_sure_reverses():
    assert select().frame["index"].tolist() == [1, 4, 2, 0, 3, 5]
    assert select(order="most sure first").frame["index"].tolist() == [5, 3, 0, 2, 4, 1]


def test_filters_combine_and_count_all_matches_beyond_the_limit():
    assert select(mistakes_only=True, order="test-set order").frame["index"].tolist() == [1, 3, 4]
    assert select(true_class=3, order="test-set order").frame["index"].tolist() == [0, 2]
    assert select(predicted_class=3, mistakes_only=True).frame.empty
    limited = select(mistakes_only=True, limit=2)
    assert limited.matches == 3
    assert limited.frame["index"].tolist() == [1, 4]


@pytest.mark.parametrize(
    "options, message",
    [({"order": "random"}, "order"), ({"limit": 0}, "limit"), ({"true_class": 10}, "true_class")],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        select(**options)


def test_probabilities_must_match_the_labels():
    with pytest.raises(ValueError, match="shape"):
        predictions.select_samples(PROBABILITIES[:5], LABELS)
    with pytest.raises(ValueError, match="class indices 0-8"):
        predictions.select_samples(PROBABILITIES[:, :9], LABELS)


def test_thumbnails_are_enlarged_dark_ink_on_white(mnist):
    (thumb,) = predictions.thumbnails(mnist.x_test, [0], scale=3)
    assert thumb.shape == (84, 84) and thumb.dtype == np.uint8
    assert thumb[0, 0] == 255  # MNIST's black background becomes white
    assert thumb.min() == 255 - mnist.x_test[0].max()


def test_explain_output_names_the_argmax_and_the_runner_up():
    out = predictions.explain_output(PROBABILITIES[2])
    assert (out.predicted, out.runner_up) == (3, 0)  # ties for second place go to the lowest digit
    assert out.confidence == pytest.approx(0.6)
    assert out.runner_up_probability == pytest.approx(0.4 / 9)
    assert out.total == pytest.approx(1.0)
    assert out.frame["chosen"].tolist() == [d == 3 for d in range(10)]
    assert out.frame["digit"].tolist() == [str(d) for d in range(10)]
    assert out.printed.startswith("[0.044 0.044 0.044 0.600")


def test_explain_output_takes_one_value_per_class():
    assert predictions.explain_output(np.array([0.2, 0.7, 0.1])).predicted == 1  # a three-class dataset
    with pytest.raises(ValueError, match="one probability per class"):
        predictions.explain_output(np.ones((2, 5)) / 5)


@pytest.fixture(scope="module")
def models(trained_home):
    store = RunStore(trained_home)
    return {run.name: RunModel.load(store, run) for run in store.list_runs()}


def on_canvas(digit: np.ndarray) -> np.ndarray:
    """An MNIST digit drawn the way the page's canvas returns it: white ink on black, RGBA, 280x280, off-centre."""
    ink = np.asarray(Image.fromarray(digit).resize((150, 150), Image.Resampling.BILINEAR))
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    canvas[20:170, 110:260, :3] = ink[..., np.newaxis]
    return canvas


def test_own_digit_is_laid_out_like_mnist_and_read_like_it(models, mnist):
    model = models["small fast"]
    originals = model.predict_images(mnist.x_test[:50])
    sure = np.flatnonzero(originals.max(axis=1) > 0.9)[:5]  # digits the model reads without hesitation
    assert len(sure) == 5
    for index in sure:
        own = predictions.read_own_digit(model, on_canvas(mnist.x_test[index]))
        assert own.seen.shape == (28, 28) and own.original is None
        assert own.probabilities == pytest.approx(model.predict_digit(own.seen), abs=1e-6)
        assert own.pixels.max() == pytest.approx(255.0)
        # Enlarged and moved off-centre on the canvas, the digit comes back as the model read the original.
        assert int(np.argmax(own.probabilities)) == int(np.argmax(originals[index]))


def test_what_the_model_sees_is_white_on_black_and_enlarged_without_blur(models, mnist):
    own = predictions.read_own_digit(models["small fast"], on_canvas(mnist.x_test[0]))
    picture = own.picture(scale=6)
    assert picture.shape == (168, 168) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture[::6, ::6], np.round(own.seen * 255))
    assert picture[0, 0] == 0 and picture.max() == 255


def test_uploaded_file_is_read_and_kept_for_display(models, mnist):
    buffer = io.BytesIO()
    Image.fromarray(255 - mnist.x_test[0]).resize((200, 200)).save(buffer, format="PNG")  # dark ink on paper
    own = predictions.read_own_digit(models["small fast"], buffer.getvalue())
    assert isinstance(own.original, Image.Image) and own.original.size == (200, 200)
    assert own.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_empty_canvas_and_unreadable_files_raise_errors_the_page_shows(models):
    empty = np.zeros((280, 280, 4), dtype=np.uint8)
    empty[..., 3] = 255
    with pytest.raises(BlankImageError, match="no ink"):
        predictions.read_own_digit(models["small fast"], empty)
    with pytest.raises(ImageInputError, match="not an image"):
        predictions.read_own_digit(models["small fast"], b"certainly not a PNG")


@pytest.mark.parametrize("name, layer", [("small fast", "conv2d"), ("small perceptron", "digit_probabilities")])
def test_wrong_shape_demo_shows_the_real_errors_then_the_fix(models, mnist, name, layer):
    model = models[name]
    as_is, batched, fixed = predictions.wrong_shape_demo(model, mnist.x_test[0])
    assert (as_is.shape, batched.shape, fixed.shape) == ((28, 28, 3), (1, 28, 28, 3), (1, 28, 28, 1))
    assert as_is.error_type == "ValueError"
    assert "expected shape=(None, 28, 28, 1), found shape=(28, 28, 3)" in as_is.error
    assert batched.error_type == "ValueError" and f"layer '{layer}'" in batched.error
    for attempt in (as_is, batched):
        assert "\x1b" not in attempt.error and "Arguments received" not in attempt.error
        assert attempt.probabilities is None and attempt.predicted is None
    assert fixed.error is None
    assert fixed.probabilities == pytest.approx(model.predict_digit(mnist.x_test[0] / 255.0), abs=1e-5)
    assert fixed.predicted == int(np.argmax(fixed.probabilities))
    assert re.search(r"model\(grey\[np\.newaxis\]\)", fixed.code)
    # The model still serves the page's other calls afterwards.
    assert model.predict_images(mnist.x_test[:3]).shape == (3, 10)


def test_wrong_shape_demo_takes_one_mnist_digit(models):
    with pytest.raises(ValueError, match="28x28"):
        predictions.wrong_shape_demo(models["small fast"], np.zeros((28, 28, 3), dtype=np.uint8))
