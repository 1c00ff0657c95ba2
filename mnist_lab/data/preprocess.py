"""Turn a drawing, a photo or an array into a digit laid out the way MNIST's digits are.

MNIST's recipe: the digit is fitted into a 20x20 box keeping its aspect ratio
(anti-aliased), then placed in a 28x28 field so that its centre of mass falls on
pixel (14, 14) (row, column; measured on the MNIST test set, where every digit's
centre of mass lies within 0.5 px of it). A model trained on MNIST misreads
digits that skip this, which is what ``plain_resize`` shows.

Decoding an uploaded file into an image, within the limits a shared server needs, is
:mod:`mnist_lab.data.decode`'s; its ``load_image`` and limits are importable from here too.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Decoding an upload is mnist_lab.data.decode's; its names stay importable from here (patch them there).
from mnist_lab.data.decode import (
    ALLOWED_FORMATS,
    MAX_BYTES,
    MAX_DECODED_BYTES,
    MAX_JPEG_PIXELS,
    MAX_LOSSLESS_PIXELS,
    MAX_PIXELS,
    WORKING_SIDE,
    load_image,
    normalise_mode,
)
from mnist_lab.errors import BlankImageError, ImageInputError

__all__ = ["ALLOWED_FORMATS", "BOX", "CENTRE", "FIELD", "MAX_BYTES", "MAX_DECODED_BYTES", "MAX_JPEG_PIXELS",
           "MAX_LOSSLESS_PIXELS", "MAX_PIXELS", "MIN_CONTRAST", "NOISE_FLOOR", "STRONG_INK", "WORKING_SIDE",
           "BlankImageError", "ImageInputError", "load_image", "luma", "outer_ring", "pixel_array", "plain_resize",
           "to_mnist"]

FIELD = 28
BOX = 20
CENTRE = 14.0  # MNIST's centre-of-mass position, in pixel indices (row and column)
MIN_CONTRAST = 0.04  # ink fainter than this (about 10 grey levels) counts as no ink
NOISE_FLOOR = 0.1  # ink below this share of the strongest ink is paper texture or compression noise
STRONG_INK = 0.4  # ink above this share of the strongest ink sets the digit's bounding box

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_NO_INK = "The image has no ink: draw a digit or upload a photo of one"


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """Lay out a digit the way MNIST does: cropped, fitted into 20x20, centred by mass in 28x28.

    Ink is stretched so its strongest value is 1; ink under ``NOISE_FLOOR`` of that is
    noise (paper texture, JPEG artefacts) and dropped; the crop is the bounding box of
    the strong ink (over ``STRONG_INK``) plus its faint edges, so texture far from the
    digit does not widen it. The crop is resized (Lanczos) so its long side is 20 px and
    shifted by whole pixels, without wrap-around, so its centre of mass is at (14, 14).

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        Any size. Arrays of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), uint8 or
        float (values in 0-1 or 0-255, told apart by the maximum). Ink is read from the
        alpha channel when the background is transparent (the drawing canvas), otherwise
        from the grey level against the background seen on the border, so dark-on-light
        and light-on-dark give the same result.

    Returns
    -------
    numpy.ndarray
        float32 of shape (28, 28) in [0, 1], ink bright. Multiply by 255 for the models,
        which take raw MNIST pixel values.

    Raises
    ------
    BlankImageError
        No ink was found.
    ImageInputError
        The shape or dtype is not one of the above.

    Examples
    --------
    >>> import numpy as np
    >>> drawing = np.zeros((100, 60), dtype=np.uint8)
    >>> drawing[10:90, 25:35] = 255  # a "1": a white bar 80 px tall on black
    >>> digit = to_mnist(drawing)
    >>> digit.shape, digit.dtype, float(digit.max())
    ((28, 28), dtype('float32'), 1.0)
    >>> rows = np.flatnonzero(digit.max(axis=1) > 0.5)  # the rows with ink: 20, in the middle of the field
    >>> len(rows), int(rows[0]), int(rows[-1])
    (20, 5, 24)
    >>> np.array_equal(to_mnist(255 - drawing), digit)  # black on white reads the same
    True
    >>> to_mnist(np.zeros((28, 28)))
    Traceback (most recent call last):
    ...
    mnist_lab.errors.BlankImageError: The image has no ink: draw a digit or upload a photo of one
    """
    ink = _crop_to_ink(_normalised_ink(image))
    return _place_by_centre_of_mass(_fit_into_box(ink))


def plain_resize(image: Image.Image | np.ndarray) -> np.ndarray:
    """Squash the whole image to 28x28 with no cropping or centring: the naive baseline.

    Ink is found as in ``to_mnist`` (alpha or grey level, inverted when the background
    is light, stretched so the strongest ink is 1); only the layout step is skipped.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        Same inputs as ``to_mnist``.

    Returns
    -------
    numpy.ndarray
        float32 of shape (28, 28) in [0, 1], ink bright.

    Raises
    ------
    BlankImageError
        No ink was found.
    ImageInputError
        The shape or dtype is not accepted.

    Examples
    --------
    A small digit in the corner of a big picture stays small and in the corner, where ``to_mnist`` centres it:

    >>> import numpy as np
    >>> picture = np.zeros((280, 280), dtype=np.uint8)
    >>> picture[20:60, 20:30] = 255
    >>> np.flatnonzero(plain_resize(picture).max(axis=1) > 0.5)  # the rows with ink
    array([2, 3, 4, 5])
    >>> len(np.flatnonzero(to_mnist(picture).max(axis=1) > 0.5))
    20
    """
    resized = _resize(_normalised_ink(image), (FIELD, FIELD))
    return np.clip(resized, 0.0, 1.0)


def pixel_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """Return the pixels as an (H, W, C) array, C in 1, 3, 4: uint8, or float32 in [0, 1].

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        A PIL image (made grey, or RGBA when it has transparency), or an array of shape (H, W), (H, W, 1),
        (H, W, 3) or (H, W, 4), uint8 or float (values in 0-1 or 0-255, told apart by the maximum).

    Returns
    -------
    numpy.ndarray
        uint8 pixels as they are, float pixels scaled to float32 in [0, 1].

    Raises
    ------
    ImageInputError
        The shape or dtype is not one of the above, or float values lie outside 0-255.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> pixels = pixel_array(Image.new("RGB", (4, 2), "white"))
    >>> pixels.shape, pixels.dtype
    ((2, 4, 1), dtype('uint8'))
    >>> float(pixel_array(np.full((2, 2), 255.0)).max())  # 0-255 floats are scaled to 0-1
    1.0
    >>> pixel_array(np.zeros((2, 2, 2)))
    Traceback (most recent call last):
    ...
    mnist_lab.errors.ImageInputError: An image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got (2, 2, 2)
    """
    if isinstance(image, Image.Image):
        if image.mode == "F":
            return pixel_array(np.asarray(image))
        image = np.asarray(normalise_mode(image))
    if not isinstance(image, np.ndarray):
        raise ImageInputError(f"Expected a PIL image or a numpy array, got {type(image).__name__}")
    shape = image.shape
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageInputError(f"An image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind != "f":
        raise ImageInputError(f"An image array must be uint8 or float, got {image.dtype} (shape {image.shape})")
    return _unit_floats(image)


def _unit_floats(values: np.ndarray) -> np.ndarray:
    """Return float pixels scaled to [0, 1], telling 0-1 from 0-255 values by the maximum."""
    values = values.astype(np.float32, copy=False)
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 255.0:
        raise ImageInputError(
            f"Float image values must lie in 0-1 or 0-255; got {low:g} to {high:g} (shape {values.shape})"
        )
    return values * (1.0 / 255.0) if high > 1.0 else values


def _normalised_ink(image: Image.Image | np.ndarray) -> np.ndarray:
    """Return the ink map stretched so its strongest ink is 1, raising BlankImageError if there is none."""
    ink = _ink(pixel_array(image))
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise BlankImageError(_NO_INK)
    ink *= 1.0 / peak
    return ink


def _ink(pixels: np.ndarray) -> np.ndarray:
    """Return float32 (H, W) ink in [0, 1], bright where the digit is, 0 on the background."""
    scale = 1.0 / 255.0 if pixels.dtype == np.uint8 else 1.0
    channels = pixels.shape[2]
    if channels == 4:
        alpha = pixels[:, :, 3]
        if np.median(outer_ring(alpha)) * scale < 0.5:
            return alpha.astype(np.float32) * scale  # transparent background: the opaque strokes are the ink
        grey = luma(pixels[:, :, :3], scale)
        alpha = alpha.astype(np.float32) * scale
        if alpha.min() < 1.0:  # transparent margins of a picture take the picture's background
            opaque_border = outer_ring(grey)[outer_ring(alpha) >= 0.5]
            grey = alpha * grey + (1.0 - alpha) * np.float32(np.median(opaque_border))
    elif channels == 3:
        grey = luma(pixels, scale)
    else:
        grey = pixels[:, :, 0].astype(np.float32) * scale
    background = np.float32(np.median(outer_ring(grey)))
    ink = background - grey if background >= 0.5 else grey - background
    return np.maximum(ink, 0.0, out=ink)


def luma(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Return the luma (ITU-R 601, as Pillow's "L") of RGB pixels as float32.

    Parameters
    ----------
    rgb : numpy.ndarray
        Pixels of shape (..., 3).
    scale : float
        What one unit of ``rgb`` is worth: ``1 / 255`` turns uint8 pixels into luma in [0, 1].

    Returns
    -------
    numpy.ndarray
        float32 of ``rgb``'s shape without its last axis.

    Examples
    --------
    >>> import numpy as np
    >>> red_and_white = np.array([[[255, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    >>> luma(red_and_white, 1 / 255).round(3)
    array([[0.299, 1.   ]], dtype=float32)
    """
    return rgb.astype(np.float32) @ (_LUMA * np.float32(scale))


def outer_ring(values: np.ndarray) -> np.ndarray:
    """Return the pixels of the outer ring (2% of the short side, at least 1 px) as a flat array.

    The ring tells the background of a picture: a digit rarely touches its border.

    Parameters
    ----------
    values : numpy.ndarray
        An array of shape (H, W) or (H, W, C).

    Returns
    -------
    numpy.ndarray
        The top rows, the bottom rows, then the left and right columns between them, flattened.

    Examples
    --------
    >>> import numpy as np
    >>> outer_ring(np.arange(16).reshape(4, 4))
    array([ 0,  1,  2,  3, 12, 13, 14, 15,  4,  8,  7, 11])
    """
    width = max(1, min(values.shape[:2]) // 50)
    return np.concatenate(
        [
            values[:width].ravel(),
            values[-width:].ravel(),
            values[width:-width, :width].ravel(),
            values[width:-width, -width:].ravel(),
        ]
    )


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink's bounding box, with faint noise set to 0.

    The box is that of the strong ink, grown to take in its faint anti-aliased edges,
    so that paper texture away from the digit does not widen it.
    """
    top, bottom, left, right = _bounding_box(ink >= STRONG_INK)
    margin = max(2, max(bottom - top, right - left) // 20)
    top, left = max(0, top - margin), max(0, left - margin)
    crop = ink[top : bottom + margin + 1, left : right + margin + 1]
    crop[crop < NOISE_FLOOR] = 0.0
    top, bottom, left, right = _bounding_box(crop > 0.0)
    return crop[top : bottom + 1, left : right + 1]


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Return (top, bottom, left, right), inclusive, of the True pixels of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _fit_into_box(crop: np.ndarray) -> np.ndarray:
    """Resize so the long side is ``BOX`` pixels, keeping the aspect ratio, then stretch the peak to 1."""
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.clip(_resize(crop, size), 0.0, 1.0)
    peak = digit.max()
    # A thin pen on a big photo shrinks to faint strokes; MNIST's strokes reach full intensity.
    return digit * (1.0 / peak) if peak > 0 else digit


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of a float32 array to ``size`` = (width, height)."""
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)


def _place_by_centre_of_mass(digit: np.ndarray) -> np.ndarray:
    """Paste the digit into a 28x28 field with its centre of mass on (14, 14), clipping what falls outside."""
    total = float(digit.sum())
    rows = np.arange(digit.shape[0], dtype=np.float32)
    cols = np.arange(digit.shape[1], dtype=np.float32)
    centre_row = float(digit.sum(axis=1) @ rows) / total
    centre_col = float(digit.sum(axis=0) @ cols) / total
    top = int(np.floor(CENTRE - centre_row + 0.5))
    left = int(np.floor(CENTRE - centre_col + 0.5))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(digit.shape[0] - src_top, FIELD - dst_top)
    width = min(digit.shape[1] - src_left, FIELD - dst_left)
    field[dst_top : dst_top + height, dst_left : dst_left + width] = digit[
        src_top : src_top + height, src_left : src_left + width
    ]
    return field
