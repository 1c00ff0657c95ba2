"""Numbers behind the Predictions page: test digits and their outputs, softmax and argmax, your own digits, wrong shapes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from mnist_lab.data import explore
from mnist_lab.data.locate import Location, locate_digit
from mnist_lab.data.preprocess import load_image, to_mnist
from mnist_lab.errors import ImageInputError
from mnist_lab.predictions.inference import RunModel

logger = logging.getLogger(__name__)

ORDERS = ("least sure first", "most sure first", "test-set order")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ARGUMENTS_DUMP = "\n\nArguments received by"  # Keras appends the input array to the message after this


@dataclass(frozen=True)
class Samples:
    """Test digits chosen by the filters: the first ``limit`` rows and how many matched in all.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``index`` (position in the test split), ``true``, ``predicted``, ``confidence``
        (probability of the predicted digit), ``correct``, ``caption`` (short, under a thumbnail),
        ``label`` (long, for a picker) and ``alt`` (the thumbnail's text alternative: the label and whether the
        prediction is right, in words).
    matches : int
        Number of test digits that pass the filters.
    """

    frame: pd.DataFrame
    matches: int


def select_samples(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    mistakes_only: bool = False,
    true_class: int | None = None,
    predicted_class: int | None = None,
    order: str = ORDERS[0],
    limit: int = 30,
) -> Samples:
    """Filter and order test digits by what the model predicted for them.

    Parameters
    ----------
    probabilities : numpy.ndarray
        The model's outputs on the test split, shape (n, 10).
    labels : numpy.ndarray
        The true classes, shape (n,).
    mistakes_only : bool
        Keep only the digits the model gets wrong.
    true_class, predicted_class : int or None
        Keep only this true or predicted class; None keeps all.
    order : str
        One of ``ORDERS``: by confidence (the probability of the predicted digit) up or down,
        or by position in the test split. Ties keep the test-set order.
    limit : int
        Number of rows returned, at least 1.

    Returns
    -------
    Samples
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(labels) or probabilities.shape[1] < 2:
        raise ValueError(f"expected probabilities of shape ({len(labels)}, classes), got {probabilities.shape}")
    n_classes = probabilities.shape[1]
    if len(labels) and not 0 <= labels.min() <= labels.max() < n_classes:
        raise ValueError(f"labels must be class indices 0-{n_classes - 1}, as many as the probabilities' columns")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    for name, value in (("true_class", true_class), ("predicted_class", predicted_class)):
        if value is not None and not 0 <= value < n_classes:
            raise ValueError(f"{name} must be a class index 0-{n_classes - 1} or None, got {value}")
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    keep = np.ones(len(labels), dtype=bool)
    if mistakes_only:
        keep &= predicted != labels
    if true_class is not None:
        keep &= labels == true_class
    if predicted_class is not None:
        keep &= predicted == predicted_class
    index = np.flatnonzero(keep)
    if order != ORDERS[2]:
        ranked = np.argsort(confidence[index], kind="stable")
        index = index[ranked if order == ORDERS[0] else ranked[::-1]]
    shown = index[:limit]
    return Samples(_sample_frame(shown, labels[shown], predicted[shown], confidence[shown]), int(keep.sum()))


def _sample_frame(index: np.ndarray, true: np.ndarray, predicted: np.ndarray, confidence: np.ndarray) -> pd.DataFrame:
    """Build the rows of ``Samples.frame`` with their caption and picker label."""
    correct = true == predicted
    marks = np.where(correct, "✓", "✗")
    return pd.DataFrame(
        {
            "index": index.astype(int),
            "true": true.astype(int),
            "predicted": predicted.astype(int),
            "confidence": confidence.astype(float),
            "correct": correct,
            "caption": [f"{m} {t} → {p} · {c:.0%}" for m, t, p, c in zip(marks, true, predicted, confidence)],
            "label": [
                f"#{i}: true {t}, predicted {p} ({c:.1%})" for i, t, p, c in zip(index, true, predicted, confidence)
            ],
            "alt": [
                f"Test digit #{i}, labelled {t}, read as {p} with {c:.0%} confidence: {'right' if ok else 'wrong'}"
                for i, t, p, c, ok in zip(index, true, predicted, confidence, correct)
            ],
        }
    )


def thumbnails(images: np.ndarray, index, *, scale: int = 3) -> list[np.ndarray]:
    """Return the chosen images enlarged ``scale`` times, dark ink on white as on the Data page."""
    return [explore.tile(images[i : i + 1], scale=scale) for i in index]


@dataclass(frozen=True)
class OutputExplanation:
    """The 10 softmax outputs for one image and how argmax turns them into a digit.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``digit`` (str), ``probability``, ``chosen`` (True for the argmax).
    predicted, runner_up : int
        The most and second most probable digits.
    confidence, runner_up_probability : float
        Their probabilities.
    total : float
        Sum of the 10 outputs (1 up to rounding: softmax makes a probability distribution).
    printed : str
        The outputs as ``print(probabilities.round(3))`` shows them.
    """

    frame: pd.DataFrame
    predicted: int
    confidence: float
    runner_up: int
    runner_up_probability: float
    total: float
    printed: str


def explain_output(probabilities: np.ndarray) -> OutputExplanation:
    """Describe one image's 10 class probabilities.

    Parameters
    ----------
    probabilities : numpy.ndarray
        Shape (10,), the model's softmax outputs.

    Returns
    -------
    OutputExplanation
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 1 or len(probabilities) < 2:
        raise ValueError(f"expected one probability per class, got shape {probabilities.shape}")
    ranked = np.argsort(-probabilities, kind="stable")
    predicted, runner_up = int(ranked[0]), int(ranked[1])
    frame = pd.DataFrame(
        {
            "digit": [str(d) for d in range(len(probabilities))],
            "probability": probabilities,
            "chosen": np.arange(len(probabilities)) == predicted,
        }
    )
    return OutputExplanation(
        frame=frame,
        predicted=predicted,
        confidence=float(probabilities[predicted]),
        runner_up=runner_up,
        runner_up_probability=float(probabilities[runner_up]),
        total=float(probabilities.sum()),
        printed=np.array2string(probabilities.astype(np.float32).round(3), precision=3, floatmode="fixed"),
    )


@dataclass(frozen=True)
class OwnDigit:
    """A drawn or uploaded digit, as the model sees it, and what the model says.

    Attributes
    ----------
    seen : numpy.ndarray
        The 28x28 input in [0, 1] after the MNIST layout recipe.
    probabilities : numpy.ndarray
        The 10 class probabilities.
    original : PIL.Image.Image or None
        The uploaded image as read (upright, shrunk to at most 1024 px); None for drawings.
    location : Location or None
        Where the digit was found in ``original`` (or the crop the user set) and whether the input looks unlike
        one digit (``location.warning``); for drawings the box is the whole canvas.
    """

    seen: np.ndarray
    probabilities: np.ndarray
    original: Image.Image | None = None
    location: Location | None = None

    @property
    def pixels(self) -> np.ndarray:
        """The 784 values fed to the model, 0-255 as in MNIST."""
        return self.seen * np.float32(255.0)

    def picture(self, scale: int = 6) -> np.ndarray:
        """The input as the model sees it, white ink on black as in MNIST, enlarged without blurring (uint8)."""
        grey = np.round(self.seen * 255.0).astype(np.uint8)
        return np.kron(grey, np.ones((scale, scale), dtype=np.uint8))


def read_own_digit(model: RunModel, image: Image.Image | np.ndarray | bytes, *,
                   crop: tuple[float, float, float, float] | None = None) -> OwnDigit:
    """Lay out a drawing or an uploaded file the MNIST way and predict its digit.

    An uploaded file is a photo: the digit is found in it first (``locate_digit``: marks along the picture's
    edge such as a desk edge are left out, the largest mark and those near it kept), then laid out. A drawing
    is laid out whole. Both are measured for what makes them look unlike one digit.

    Parameters
    ----------
    model : RunModel
    image : PIL.Image.Image, numpy.ndarray or bytes
        The canvas's RGBA array, an image, or an uploaded file's bytes.
    crop : tuple of float, optional
        (left, top, right, bottom) in percent of the uploaded picture: read this part instead of the one found.

    Returns
    -------
    OwnDigit

    Raises
    ------
    BlankImageError
        There is no ink (an empty canvas).
    ImageInputError
        The file or array cannot be read as an image; the message says why.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        original = _uploaded_image(image)
        location = locate_digit(original, crop=crop)
        seen = to_mnist(location.ink)
    else:
        original, location = None, locate_digit(image, search=False)
        seen = to_mnist(image)
    return OwnDigit(seen=seen, probabilities=model.predict_digit(seen), original=original, location=location)


def _uploaded_image(data: bytes | bytearray | memoryview) -> Image.Image:
    """The uploaded file decoded, a refusal logged (its size only: the picture is the student's)."""
    try:
        return load_image(data)
    except ImageInputError as error:
        logger.info("an uploaded picture of %d bytes was refused: %s", len(data), error)
        raise


@dataclass(frozen=True)
class ShapeAttempt:
    """One call of the model in the wrong-shape demonstration and what happened.

    Attributes
    ----------
    code : str
        The Python lines that were run.
    shape : tuple of int
        Shape of the array passed to the model.
    error_type, error : str or None
        The exception's class name and message as Keras wrote them, without colour codes and without
        the dump of the input array that follows; None when the call worked.
    probabilities : numpy.ndarray or None
        The 10 outputs when it worked.
    """

    code: str
    shape: tuple[int, ...]
    error_type: str | None
    error: str | None
    probabilities: np.ndarray | None

    @property
    def predicted(self) -> int | None:
        """The predicted digit when the call worked."""
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


def wrong_shape_demo(model: RunModel, image: np.ndarray) -> list[ShapeAttempt]:
    """Feed a 28x28x3 (colour) version of ``image`` to the model as is, then convert it to what the model takes.

    The steps: the colour array as is, (28, 28, 3); with a batch axis but still 3 channels,
    (1, 28, 28, 3); converted to one grey channel (28, 28, 1) with a batch axis, (1, 28, 28, 1).
    Each error is the real one this run's model raises. The model is called directly, as for
    one drawn digit: ``model.predict`` checks the same shapes, but once it has compiled its
    predict function for batches, wrong shapes fail deeper inside, with messages that depend
    on what it ran before.

    Parameters
    ----------
    model : RunModel
    image : numpy.ndarray
        A uint8 28x28 MNIST digit.

    Returns
    -------
    list of ShapeAttempt
        In the order above; only the last one works.
    """
    image = np.asarray(image)
    if image.shape != (28, 28):
        raise ValueError(f"expected one 28x28 image, got shape {image.shape}")
    rgb = np.repeat(image[:, :, np.newaxis], 3, axis=2)  # a colour PNG of a grey digit, as PIL reads it in RGB
    grey = rgb.mean(axis=-1, keepdims=True)
    steps = (
        ("model(rgb)", rgb),
        ("model(rgb[np.newaxis])", rgb[np.newaxis]),
        ("grey = rgb.mean(axis=-1, keepdims=True)\nmodel(grey[np.newaxis])", grey[np.newaxis]),
    )
    return [_attempt(model, code, array) for code, array in steps]


def _attempt(model: RunModel, code: str, array: np.ndarray) -> ShapeAttempt:
    """Call the model on ``array`` and record its outputs or the error it raised."""
    try:
        outputs = model.model(array)
    except Exception as error:  # the demonstration shows whatever the model raises, whichever class it is
        message = _ANSI.sub("", str(error)).split(_ARGUMENTS_DUMP)[0].strip()
        logger.debug("the wrong-shape demonstration's %r raised %s, as it shows", code, type(error).__name__)
        return ShapeAttempt(code, array.shape, type(error).__name__, message, None)
    return ShapeAttempt(code, array.shape, None, None, np.asarray(outputs)[0])
