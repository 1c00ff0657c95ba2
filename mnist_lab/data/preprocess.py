"""Turn a drawing, a photo or an array into a digit laid out the way MNIST's digits are.

MNIST's recipe: the digit is fitted into a 20x20 box keeping its aspect ratio
(anti-aliased), then placed in a 28x28 field so that its centre of mass falls on
pixel (14, 14) (row, column; measured on the MNIST test set, where every digit's
centre of mass lies within 0.5 px of it). A model trained on MNIST misreads
digits that skip this, which is what ``plain_resize`` shows.
"""

from __future__ import annotations

import io
import math
import struct

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_lab.errors import BlankImageError, ImageInputError

MAX_BYTES = 30 * 1024 * 1024  # a 50-megapixel phone photo takes 10-25 MB
#: Most pixels decoded at full size: the memory bound of a decoded image (4000x4000; 16 MB grey, 48 MB colour).
MAX_PIXELS = 16_000_000
#: Most pixels a baseline JPEG may declare. JPEG decodes at 1/2, 1/4 or 1/8 of its size (``Image.draft``), so a
#: 50- or 64-megapixel phone photo (8160x6120, 9248x6936) is decoded at about 3 megapixels (8160x6120 at 2040x1530), within the bound above.
MAX_JPEG_PIXELS = 72_000_000
#: Lossless images (PNG, BMP, GIF, WebP) cannot be decoded at a reduced size: they may declare more than
#: ``MAX_PIXELS`` when their full-size pixels, as Pillow stores them, take at most this many bytes. Measured
#: (``benchmarks/large_png.py``): the 16-megapixel RGBA PNG allowed before costs the most (about 130 MB of peak
#: memory: Pillow reduces RGBA through a premultiplied full-size copy); a 25-megapixel RGB or a 64-megapixel grey
#: PNG costs less.
MAX_DECODED_BYTES = 100_000_000
MAX_LOSSLESS_PIXELS = 64_000_000  # a 8000x8000 grey scan; also under Pillow's own bomb warning (89 megapixels)
#: Bytes per pixel a lossless image costs at full size, by mode: Pillow keeps RGB in 32 bits, and a palette
#: image is turned into grey before it is reduced. Other modes (transparency, 16-bit) are held to ``MAX_PIXELS``.
_FULL_SIZE_BYTES = {"1": 1, "L": 1, "P": 2, "RGB": 4}
WORKING_SIDE = 1024  # load_image shrinks larger images to this long side: the result is 28x28 anyway
#: Modes whose pixels ``Image.reduce`` may average as they are (not palette indices, not 16-bit special modes).
_REDUCIBLE_MODES = ("1", "L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F")
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
FIELD = 28
BOX = 20
CENTRE = 14.0  # MNIST's centre-of-mass position, in pixel indices (row and column)
MIN_CONTRAST = 0.04  # ink fainter than this (about 10 grey levels) counts as no ink
NOISE_FLOOR = 0.1  # ink below this share of the strongest ink is paper texture or compression noise
STRONG_INK = 0.4  # ink above this share of the strongest ink sets the digit's bounding box

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, BMP, GIF, WebP)"
_NO_INK = "The image has no ink: draw a digit or upload a photo of one"
_LIMITS = (f"e.g. 4000x4000; PNGs up to {MAX_DECODED_BYTES / 4e6:.0f} megapixels in colour without transparency "
           f"and {MAX_LOSSLESS_PIXELS / 1e6:.0f} in grey; JPEG photos from a phone up to "
           f"{MAX_JPEG_PIXELS / 1e6:.0f} megapixels, as the camera saves them")




def load_image(data: bytes) -> Image.Image:
    """Decode an uploaded file into an image that ``to_mnist`` accepts.

    Large images are decoded at a reduced size: a JPEG through ``Image.draft`` (libjpeg's scaled decoding, at
    1/2, 1/4 or 1/8 of its size, in grey), other formats by ``Image.reduce`` right after decoding, before any
    full-size copy. So a phone photo of up to ``MAX_JPEG_PIXELS`` pixels (a 50-megapixel 8160x6120 JPEG) costs
    no more memory than a 16-megapixel image did.

    Parameters
    ----------
    data : bytes
        The file's content. PNG, JPEG, BMP, GIF (first frame) and WebP are accepted, up to ``MAX_BYTES``
        bytes. Baseline JPEGs may declare up to ``MAX_JPEG_PIXELS`` pixels; grey, palette and RGB images in
        lossless formats as many as take ``MAX_DECODED_BYTES`` at full size (64 megapixels grey, 25 in colour);
        other images (and progressive JPEGs, which libjpeg decodes through a full-size buffer) up to
        ``MAX_PIXELS``. The pixel count is checked from the header before anything is decoded, and again at the
        size that will be decoded.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGBA"`` when the file has transparency, ``"L"`` (grey) otherwise, turned
        upright per its EXIF orientation and shrunk to at most ``WORKING_SIDE`` pixels
        on its long side.

    Raises
    ------
    ImageInputError
        The file is empty, too big (bytes or pixels: decompression bombs are refused from their header),
        not one of the formats above, or damaged; the message says which and what to do.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageInputError(f"Expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageInputError("The file is empty: choose an image file (PNG, JPEG, BMP, GIF, WebP)")
    if len(data) > MAX_BYTES:
        raise ImageInputError(
            f"The file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB: "
            "shrink the image or crop it around the digit"
        )
    image = _open(data if isinstance(data, bytes) else bytes(data))
    _check_pixel_count(image)
    if image.format == "JPEG":
        _draft(image)
    _check_decoded_size(image)
    _decode(image)
    image = _reduced(image)
    image = _normalise_mode(_upright(image))
    image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    return image


def _is_baseline_jpeg(image: Image.Image) -> bool:
    """Whether ``image`` is a JPEG that libjpeg can decode at a reduced scale without a full-size buffer."""
    return image.format == "JPEG" and not image.info.get("progressive") and not image.info.get("progression")


def _most_pixels(image: Image.Image) -> int:
    """The most pixels ``image`` may declare: by its format, and for lossless formats by its decoded bytes."""
    if _is_baseline_jpeg(image):
        return MAX_JPEG_PIXELS
    per_pixel = _FULL_SIZE_BYTES.get(image.mode)
    if image.format == "JPEG" or per_pixel is None or "transparency" in image.info:
        return MAX_PIXELS
    return max(MAX_PIXELS, min(MAX_LOSSLESS_PIXELS, MAX_DECODED_BYTES // per_pixel))


def _draft(image: Image.Image) -> None:
    """Ask libjpeg for the smallest scale (1/2, 1/4, 1/8) whose long side still reaches ``WORKING_SIDE``, in grey.

    The requested size keeps the aspect ratio, so that a long side above ``WORKING_SIDE`` is all that is
    asked; colour is decoded straight to grey (luma), which ``to_mnist`` reads anyway.
    """
    width, height = image.size
    ratio = WORKING_SIDE / max(width, height)
    if ratio >= 1:
        return
    wanted = (max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio)))
    image.draft("L" if image.mode == "RGB" else None, wanted)


def _reduced(image: Image.Image) -> Image.Image:
    """Shrink a decoded image by a whole factor with ``Image.reduce`` so its long side stays at least ``WORKING_SIDE``.

    Done before the EXIF rotation and the mode conversion, so that neither copies the full-size pixels.
    Palette and 16-bit images are converted first: averaging palette indices would mix unrelated colours.
    """
    factor = max(image.size) // WORKING_SIDE
    if factor < 2:
        return image
    if image.mode not in _REDUCIBLE_MODES:
        image = _normalise_mode(image)
    info = image.info
    reduced = image.reduce(factor)
    reduced.info.update(info)  # keep the EXIF orientation and the transparency key
    return reduced


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation of a photo; damaged EXIF data is ignored rather than refused."""
    try:
        return ImageOps.exif_transpose(image)
    except (SyntaxError, ValueError, TypeError, KeyError, OSError, struct.error):
        return image


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
    """
    resized = _resize(_normalised_ink(image), (FIELD, FIELD))
    return np.clip(resized, 0.0, 1.0)


def _open(data: bytes) -> Image.Image:
    """Read the header of an image file, refusing formats outside ``ALLOWED_FORMATS``."""
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        # Pillow refuses before telling the dimensions; its own limit is far above ours.
        raise ImageInputError(
            f"The image has more than {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels; "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels ({_LIMITS}): shrink it or crop it around the digit"
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageInputError(_NOT_AN_IMAGE) from error


def _check_pixel_count(image: Image.Image) -> None:
    """Refuse, from the header, images with more pixels than their format may declare."""
    width, height = image.size
    most = _most_pixels(image)
    if width * height <= most:
        return
    if image.format == "JPEG" and width * height <= MAX_JPEG_PIXELS:
        raise ImageInputError(
            f"The image is {width}x{height} pixels, a progressive JPEG; the limit for those is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels because they are decoded at full size: save it as a standard "
            "(baseline) JPEG, as a phone's camera does, shrink it or crop it around the digit"
        )
    kind = "" if image.format == "JPEG" else f" for a {_kind(image)} {image.format}"
    raise ImageInputError(
        f"The image is {width}x{height} pixels; the limit{kind} is {most / 1e6:.0f} megapixels "
        f"({_LIMITS}): shrink it or crop it around the digit"
    )


def _kind(image: Image.Image) -> str:
    """'grey', 'colour', 'palette' or 'transparent', as the limits tell them apart."""
    if "transparency" in image.info or image.mode in ("RGBA", "LA", "PA"):
        return "transparent"
    return {"1": "grey", "L": "grey", "P": "palette", "RGB": "colour"}.get(image.mode, image.mode)


def _check_decoded_size(image: Image.Image) -> None:
    """Refuse an image that would still be decoded above its limit (a JPEG whose scale could not shrink it)."""
    width, height = image.size
    if width * height > (MAX_PIXELS if image.format == "JPEG" else _most_pixels(image)):
        raise ImageInputError(
            f"The image would be decoded at {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels "
            f"({_LIMITS}): a picture this long and narrow cannot be shrunk while decoding, so crop it around the digit"
        )


def _decode(image: Image.Image) -> None:
    """Decode the pixels (the first frame of an animation), turning failures into ImageInputError."""
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageInputError(
            f"The image grows too large while decoding; the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
        raise ImageInputError(f"The {image.format} file is damaged or incomplete: save or export it again") from error


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Return the image as "RGBA" when it has transparency, as 8-bit grey "L" otherwise."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return Image.fromarray(_scaled_to_uint8(np.asarray(image)))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    return image if image.mode == "L" else image.convert("L")


def _scaled_to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale 16-bit, 32-bit or float grey values to 0-255 (Pillow's own conversion clips instead)."""
    is_float = values.dtype.kind == "f"
    values = values.astype(np.float64)
    peak = values.max(initial=0.0)
    if peak <= 1.0 and is_float:
        scale = 255.0
    elif peak <= 255.0:
        scale = 1.0
    else:
        scale = 255.0 / 65535.0
    return np.clip(values * scale + 0.5, 0, 255).astype(np.uint8)


def _normalised_ink(image: Image.Image | np.ndarray) -> np.ndarray:
    """Return the ink map stretched so its strongest ink is 1, raising BlankImageError if there is none."""
    ink = _ink(pixel_array(image))
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise BlankImageError(_NO_INK)
    ink *= 1.0 / peak
    return ink


def pixel_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """Return the pixels as an (H, W, C) array, C in 1, 3, 4: uint8, or float32 in [0, 1]."""
    if isinstance(image, Image.Image):
        if image.mode == "F":
            return pixel_array(np.asarray(image))
        image = np.asarray(_normalise_mode(image))
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
    """Return the luma (ITU-R 601, as Pillow's "L") of RGB pixels as float32."""
    return rgb.astype(np.float32) @ (_LUMA * np.float32(scale))


def outer_ring(values: np.ndarray) -> np.ndarray:
    """Return the pixels of the outer ring (2% of the short side, at least 1 px) as a flat array."""
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
