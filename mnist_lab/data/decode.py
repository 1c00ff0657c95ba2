"""Decode an uploaded picture safely: refuse what is not an image or too large before decoding it, and decode
large pictures at a reduced size.

:func:`load_image` gives the image that :func:`mnist_lab.data.preprocess.to_mnist` lays out as an MNIST digit.
Its limits bound the memory one upload may take on a server shared by a class.
"""

from __future__ import annotations

import io
import math
import struct

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_lab.errors import ImageInputError

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
_NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, BMP, GIF, WebP)"
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

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> upload = io.BytesIO()
    >>> Image.new("RGB", (2000, 1000), "white").save(upload, format="PNG")
    >>> image = load_image(upload.getvalue())
    >>> image.mode, image.size  # grey, its long side shrunk to WORKING_SIDE
    ('L', (1024, 512))
    >>> load_image(b"GIF89a, or so it says")
    Traceback (most recent call last):
    ...
    mnist_lab.errors.ImageInputError: This file is not an image we can read (PNG, JPEG, BMP, GIF, WebP)
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
    image = normalise_mode(_upright(image))
    image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    return image


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


def _most_pixels(image: Image.Image) -> int:
    """The most pixels ``image`` may declare: by its format, and for lossless formats by its decoded bytes."""
    if _is_baseline_jpeg(image):
        return MAX_JPEG_PIXELS
    per_pixel = _FULL_SIZE_BYTES.get(image.mode)
    if image.format == "JPEG" or per_pixel is None or "transparency" in image.info:
        return MAX_PIXELS
    return max(MAX_PIXELS, min(MAX_LOSSLESS_PIXELS, MAX_DECODED_BYTES // per_pixel))


def _is_baseline_jpeg(image: Image.Image) -> bool:
    """Whether ``image`` is a JPEG that libjpeg can decode at a reduced scale without a full-size buffer."""
    return image.format == "JPEG" and not image.info.get("progressive") and not image.info.get("progression")


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


def _reduced(image: Image.Image) -> Image.Image:
    """Shrink a decoded image by a whole factor with ``Image.reduce`` so its long side stays at least ``WORKING_SIDE``.

    Done before the EXIF rotation and the mode conversion, so that neither copies the full-size pixels.
    Palette and 16-bit images are converted first: averaging palette indices would mix unrelated colours.
    """
    factor = max(image.size) // WORKING_SIDE
    if factor < 2:
        return image
    if image.mode not in _REDUCIBLE_MODES:
        image = normalise_mode(image)
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


def normalise_mode(image: Image.Image) -> Image.Image:
    """Return the image as "RGBA" when it has transparency, as 8-bit grey "L" otherwise.

    16-bit, 32-bit and float grey images are scaled to 0-255, where Pillow's own conversion would clip them.

    Parameters
    ----------
    image : PIL.Image.Image
        An image of any mode.

    Returns
    -------
    PIL.Image.Image
        ``image`` itself when it already is "RGBA" or "L", else a converted copy.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> normalise_mode(Image.new("RGB", (2, 2))).mode, normalise_mode(Image.new("LA", (2, 2))).mode
    ('L', 'RGBA')
    >>> np.asarray(normalise_mode(Image.fromarray(np.array([[0, 65535]], dtype=np.uint16))))
    array([[  0, 255]], dtype=uint8)
    """
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
