"""Tests of the MNIST layout recipe (to_mnist), the naive baseline and the upload reader.

Centre convention: MNIST puts a digit's centre of mass on pixel (14, 14) (row, column
indices); ``test_mnist_centre_of_mass_convention`` checks that on the MNIST test set.
"""

import io
import re
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_lab.data import decode, preprocess
from mnist_lab.data.preprocess import (
    MAX_BYTES,
    BlankImageError,
    ImageInputError,
    load_image,
    plain_resize,
    to_mnist,
)

CANVAS = 280


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a 2-D array."""
    rows = np.arange(image.shape[0])
    cols = np.arange(image.shape[1])
    total = image.sum()
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def ink_box(image: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    """(height, width) of the bounding box of the pixels above ``level``."""
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def drawn_mask(draw_shapes, size: int = CANVAS) -> np.ndarray:
    """A uint8 (size, size) mask, 255 where ``draw_shapes(ImageDraw)`` painted."""
    image = Image.new("L", (size, size))
    draw_shapes(ImageDraw.Draw(image))
    return np.asarray(image).copy()


def off_centre_two(draw: ImageDraw.ImageDraw) -> None:
    """A '2'-like stroke drawn small, near the top-left corner, with a 20 px brush."""
    draw.arc((20, 20, 100, 90), start=180, end=20, fill=255, width=20)
    draw.line([(98, 62), (25, 150), (110, 150)], fill=255, width=20, joint="curve")


@pytest.fixture
def ink() -> np.ndarray:
    """Light-on-dark grey digit drawn off-centre on a 280x280 field."""
    return drawn_mask(off_centre_two)


def canvas(ink: np.ndarray, colour=(0, 0, 0)) -> np.ndarray:
    """What the drawing canvas returns: RGBA, transparent background, opaque strokes."""
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[:, :, :3] = colour
    rgba[:, :, 3] = ink
    return rgba


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    """The bytes of ``image`` saved as ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int, mode: str = "L") -> bytes:
    """A tiny real PNG in ``mode`` whose header (IHDR, with a valid CRC) claims ``width`` x ``height``."""
    png = encoded(Image.new(mode, (8, 8)), "PNG")
    chunk = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


# --- to_mnist: the MNIST layout -------------------------------------------------------------


def test_output_is_28x28_float32_in_unit_range(ink):
    digit = to_mnist(ink)
    assert digit.shape == (28, 28)
    assert digit.dtype == np.float32
    assert digit.min() >= 0.0
    assert digit.max() == pytest.approx(1.0)


def test_mnist_centre_of_mass_convention(mnist):
    centres = np.array([centre_of_mass(image.astype(np.float64)) for image in mnist.x_test[:2000]])
    assert np.all(np.abs(centres - 14.0) <= 0.5)


@pytest.mark.parametrize(
    "draw_shapes",
    [
        off_centre_two,
        lambda d: d.ellipse((200, 190, 270, 275), outline=255, width=18),
        lambda d: d.line([(10, 260), (60, 150), (70, 250)], fill=255, width=12),
        lambda d: d.rectangle((150, 5, 160, 120), fill=255),
    ],
    ids=["two", "zero-bottom-right", "v-bottom-left", "one-top"],
)
def test_centre_of_mass_lands_on_mnist_centre(draw_shapes):
    row, col = centre_of_mass(to_mnist(drawn_mask(draw_shapes)))
    assert abs(row - 14.0) <= 0.5
    assert abs(col - 14.0) <= 0.5


def test_long_side_is_fitted_to_20_pixels(ink):
    assert max(ink_box(to_mnist(ink))) == 20


def test_tall_thin_one_stays_tall_and_thin():
    one = drawn_mask(lambda d: d.rectangle((100, 30, 115, 230), fill=255))
    height, width = ink_box(to_mnist(one), level=0.1)
    assert height == 20
    assert width <= 3


def test_wide_bar_stays_wide_and_flat():
    bar = drawn_mask(lambda d: d.rectangle((40, 200, 240, 212), fill=255))
    height, width = ink_box(to_mnist(bar), level=0.1)
    assert width == 20
    assert height <= 3


def test_aspect_ratio_is_kept():
    oval = drawn_mask(lambda d: d.ellipse((90, 40, 190, 240), outline=255, width=16))
    height, width = ink_box(to_mnist(oval), level=0.1)
    assert height == 20
    assert abs(width - 10) <= 1


def test_shift_does_not_wrap_around():
    # A heavy blob at the top-left and a thin tail to the bottom-right: centring the
    # mass pushes the tail out of the field, where it must be cut, not wrapped round.
    def blob_and_tail(draw):
        draw.rectangle((0, 0, 120, 120), fill=255)
        draw.line([(120, 120), (279, 279)], fill=255, width=3)

    shape = drawn_mask(blob_and_tail)
    digit = to_mnist(shape)
    assert digit[:5].sum() == 0
    assert digit[:, :5].sum() == 0
    assert digit[-1, -1] > 0


def test_dark_on_light_equals_light_on_dark(ink):
    np.testing.assert_allclose(to_mnist(255 - ink), to_mnist(ink), atol=1e-6)


def test_grey_background_photo_equals_clean_drawing(ink):
    # Grey paper, darker ink, faint texture and a faint smudge far from the digit.
    rng = np.random.default_rng(0)
    paper = 200.0 + rng.normal(0.0, 4.0, ink.shape)
    paper[250:270, 240:270] -= 25.0
    photo = np.clip(paper - ink / 255.0 * 140.0, 0, 255).astype(np.uint8)
    clean, noisy = to_mnist(ink), to_mnist(photo)
    assert np.corrcoef(clean.ravel(), noisy.ravel())[0, 1] > 0.97
    assert ink_box(noisy, level=0.1) == ink_box(clean, level=0.1)


def test_thin_pen_on_large_image_reaches_full_intensity():
    line = drawn_mask(lambda d: d.line([(500, 300), (700, 1700)], fill=255, width=2), size=2000)
    assert to_mnist(line).max() == pytest.approx(1.0)


def test_alpha_canvas_equals_grey_drawing(ink):
    np.testing.assert_allclose(to_mnist(canvas(ink)), to_mnist(ink), atol=1e-6)


def test_canvas_ink_colour_does_not_matter(ink):
    np.testing.assert_allclose(to_mnist(canvas(ink, (255, 255, 255))), to_mnist(canvas(ink)), atol=1e-6)
    np.testing.assert_allclose(to_mnist(canvas(ink, (200, 30, 90))), to_mnist(canvas(ink)), atol=1e-6)


def test_picture_with_transparent_margins_is_read_by_grey_level(ink):
    # A scan with a thin transparent frame and rounded transparent corners: most of the
    # border is opaque paper, so the ink is the dark grey, not the opaque area.
    picture = np.zeros((*ink.shape, 4), dtype=np.uint8)
    picture[:, :, :3] = (255 - ink)[:, :, None]
    picture[:, :, 3] = drawn_mask(lambda d: d.rounded_rectangle((2, 2, 277, 277), radius=30, fill=255))
    np.testing.assert_allclose(to_mnist(picture), to_mnist(ink), atol=1e-6)


@pytest.mark.parametrize(
    "convert",
    [
        lambda g: g[:, :, None],
        lambda g: np.repeat(g[:, :, None], 3, axis=2),
        lambda g: np.dstack([g, g, g, np.full_like(g, 255)]),
        lambda g: g.astype(np.float32) / 255.0,
        lambda g: g.astype(np.float64),
        lambda g: np.repeat(g[:, :, None].astype(np.float32), 3, axis=2),
        lambda g: np.repeat(g[:, :, None].astype(np.float16) / 255, 3, axis=2),
        lambda g: Image.fromarray(g),
        lambda g: Image.fromarray(g).convert("RGB"),
        lambda g: Image.fromarray(g).convert("P"),
        lambda g: Image.fromarray(g).convert("F"),
        lambda g: Image.fromarray(g.astype(np.uint16) * 257),
        lambda g: Image.fromarray(canvas(g)),
    ],
    ids=["HW1", "HW3", "HW4-opaque", "float32-0-1", "float64-0-255", "HW3-float", "float16", "PIL-L",
         "PIL-RGB", "PIL-P", "PIL-F", "PIL-I16", "PIL-RGBA-canvas"],
)
def test_every_accepted_form_gives_the_same_digit(ink, convert):
    np.testing.assert_allclose(to_mnist(convert(ink)), to_mnist(ink), atol=2e-3)


def test_input_array_is_not_modified(ink):
    floats = ink.astype(np.float32) / 255.0
    before = floats.copy()
    to_mnist(floats)
    np.testing.assert_array_equal(floats, before)


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280), np.uint8),
        np.full((280, 280, 3), 255, np.uint8),
        np.zeros((280, 280, 4), np.uint8),
        np.full((50, 60), 0.5, np.float32),
        np.full((1, 1), 255, np.uint8),
        np.where(np.eye(100, dtype=bool), 205, 200).astype(np.uint8),
    ],
    ids=["black", "white", "empty-canvas", "grey-float", "one-pixel", "too-faint"],
)
def test_no_ink_raises_blank_image_error(blank):
    with pytest.raises(BlankImageError, match="no ink"):
        to_mnist(blank)


def test_error_classes_are_value_errors():
    assert issubclass(BlankImageError, ImageInputError)
    assert issubclass(ImageInputError, ValueError)


@pytest.mark.parametrize(
    "shape",
    [(28,), (1, 28, 28, 1), (28, 28, 2), (28, 28, 5), (0, 28), (28, 0, 3)],
)
def test_bad_shapes_raise_image_input_error_naming_the_shape(shape):
    with pytest.raises(ImageInputError, match=re.escape(f"got {shape}")):
        to_mnist(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_, np.complex64])
def test_bad_dtypes_raise_image_input_error(dtype):
    with pytest.raises(ImageInputError, match=np.dtype(dtype).name):
        to_mnist(np.zeros((28, 28), dtype))


@pytest.mark.parametrize("values", [[np.nan, 0.5], [-1.0, 0.5], [0.0, 300.0]], ids=["nan", "negative", "over-255"])
def test_float_values_out_of_range_raise(values):
    image = np.zeros((28, 28), np.float32)
    image[0, :2] = values
    with pytest.raises(ImageInputError, match="0-1 or 0-255"):
        to_mnist(image)


def test_non_image_input_raises():
    with pytest.raises(ImageInputError, match="list"):
        to_mnist([[0, 255], [255, 0]])


@pytest.mark.parametrize("size", [(2, 2), (3, 3), (1, 40), (5, 1)])
def test_tiny_images_give_a_digit_or_blank_never_crash(size):
    image = np.zeros(size, np.uint8)
    image[size[0] // 2, size[1] // 2] = 255
    try:
        digit = to_mnist(image)
    except BlankImageError:
        return
    assert digit.shape == (28, 28)
    assert np.isfinite(digit).all()


def test_canvas_is_processed_in_a_few_milliseconds(ink):
    image = canvas(ink)
    times = []
    for _ in range(50):
        started = time.perf_counter()
        to_mnist(image)
        times.append(time.perf_counter() - started)
    assert np.median(times) < 0.005


def test_mnist_digits_pass_nearly_unchanged(mnist):
    originals = mnist.x_test[:1000]
    correlations = np.array(
        [np.corrcoef(to_mnist(image).ravel(), image.ravel() / 255.0)[0, 1] for image in originals]
    )
    assert np.median(correlations) > 0.999
    # The rest are mostly thin 1s whose centre of mass sits on a half pixel: rounded the other way.
    assert np.mean(correlations > 0.95) > 0.97


# --- plain_resize: the naive baseline ------------------------------------------------------


def test_plain_resize_keeps_the_digit_where_it_was(ink):
    squashed = plain_resize(canvas(ink))
    assert squashed.shape == (28, 28)
    assert squashed.dtype == np.float32
    assert squashed.min() >= 0.0 and squashed.max() <= 1.0
    row, col = centre_of_mass(squashed)
    assert row < 10 and col < 8  # the small top-left drawing stays small and top-left
    assert max(ink_box(squashed, level=0.1)) < 16


def test_plain_resize_inverts_light_backgrounds(ink):
    np.testing.assert_allclose(plain_resize(255 - ink), plain_resize(ink), atol=1e-5)


def test_plain_resize_of_blank_raises():
    with pytest.raises(BlankImageError):
        plain_resize(np.zeros((280, 280, 4), np.uint8))


# --- load_image: uploads ---------------------------------------------------------------------


@pytest.fixture
def ink_image(ink) -> Image.Image:
    """The test digit as dark ink on white paper, the way a scan looks."""
    return Image.fromarray(255 - ink)


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("PNG", "L", {}),
        ("PNG", "RGB", {}),
        ("BMP", "RGB", {}),
        ("GIF", "L", {}),
        ("WEBP", "RGB", {"lossless": True}),
    ],
)
def test_lossless_formats_load_as_grey_and_give_the_same_digit(ink, ink_image, fmt, mode, options):
    loaded = load_image(encoded(ink_image.convert(mode), fmt, **options))
    assert loaded.mode == "L"
    assert loaded.size == (CANVAS, CANVAS)
    np.testing.assert_allclose(to_mnist(loaded), to_mnist(ink), atol=1e-6)


@pytest.mark.parametrize("mode", ["RGB", "CMYK", "L"])
def test_jpeg_loads_as_grey_close_to_the_original(ink, ink_image, mode):
    loaded = load_image(encoded(ink_image.convert(mode), "JPEG", quality=90))
    assert loaded.mode == "L"
    assert np.corrcoef(to_mnist(loaded).ravel(), to_mnist(ink).ravel())[0, 1] > 0.98


def test_sixteen_bit_png_is_scaled_not_clipped(ink):
    sixteen = Image.fromarray((255 - ink).astype(np.uint16) * 257)
    assert sixteen.mode == "I;16"
    loaded = load_image(encoded(sixteen, "PNG"))
    assert loaded.mode == "L"
    np.testing.assert_array_equal(np.asarray(loaded), 255 - ink)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("WEBP", {"lossless": True})],
)
def test_transparent_canvas_files_load_as_rgba(ink, fmt, options):
    loaded = load_image(encoded(Image.fromarray(canvas(ink)), fmt, **options))
    assert loaded.mode == "RGBA"
    np.testing.assert_allclose(to_mnist(loaded), to_mnist(ink), atol=1e-6)


def test_grey_with_alpha_loads_as_rgba(ink):
    transparent = Image.fromarray(canvas(ink, (0, 0, 0))).convert("LA")
    loaded = load_image(encoded(transparent, "PNG"))
    assert loaded.mode == "RGBA"
    np.testing.assert_allclose(to_mnist(loaded), to_mnist(ink), atol=1e-6)


def test_palette_png_with_transparent_index_loads_as_rgba(ink):
    palette = Image.fromarray(np.where(ink > 127, 1, 0).astype(np.uint8), mode="L").convert("P")
    palette.putpalette([255, 255, 255, 0, 0, 0])
    loaded = load_image(encoded(palette, "PNG", transparency=0))
    assert loaded.mode == "RGBA"
    assert ink_box(to_mnist(loaded)) == ink_box(to_mnist(ink))


def test_animated_gif_gives_its_first_frame():
    left = Image.fromarray(255 - drawn_mask(lambda d: d.rectangle((10, 40, 40, 240), fill=255)))
    right = Image.fromarray(255 - drawn_mask(lambda d: d.rectangle((200, 100, 270, 120), fill=255)))
    data = encoded(left, "GIF", save_all=True, append_images=[right], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    loaded = load_image(data)
    height, width = ink_box(to_mnist(loaded), level=0.1)
    assert height > width  # the tall bar of frame 1, not the wide bar of frame 2


def test_one_pixel_image_loads_and_does_not_crash_to_mnist():
    loaded = load_image(encoded(Image.new("L", (1, 1), 0), "PNG"))
    assert loaded.size == (1, 1)
    with pytest.raises(BlankImageError):
        to_mnist(loaded)


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (60, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    assert load_image(encoded(wide, "JPEG", exif=exif)).size == (20, 60)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_damaged_exif_is_ignored_not_a_crash(fmt):
    digit = np.full((60, 40), 255, np.uint8)
    digit[10:50, 18:22] = 0
    loaded = load_image(encoded(Image.fromarray(digit), fmt, exif=b"not a TIFF header"))
    assert loaded.size == (40, 60)
    assert to_mnist(loaded).max() == pytest.approx(1.0)


def test_large_photo_is_shrunk_for_processing():
    photo = Image.new("L", (4000, 3000), 230)
    ImageDraw.Draw(photo).line([(1800, 800), (2100, 2200)], fill=20, width=60)
    loaded = load_image(encoded(photo, "JPEG", quality=85))
    assert max(loaded.size) == preprocess.WORKING_SIDE
    assert ink_box(to_mnist(loaded), level=0.1)[0] == 20


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_refused(fmt):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8))
    data = encoded(noise, fmt)
    with pytest.raises(ImageInputError, match="damaged or incomplete"):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is a text file\n" * 20,
        b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><circle r="9"/></svg>',
        b"\x89PNG\r\n\x1a\n",
        encoded(Image.new("L", (8, 8)), "TIFF"),
        encoded(Image.new("L", (8, 8)), "ICO"),
    ],
    ids=["text", "svg", "png-signature-only", "tiff", "ico"],
)
def test_other_files_are_refused_as_not_an_image(data):
    with pytest.raises(ImageInputError, match="not an image we can read"):
        load_image(data)


def test_empty_file_is_refused():
    with pytest.raises(ImageInputError, match="empty"):
        load_image(b"")


def test_non_bytes_are_refused():
    with pytest.raises(ImageInputError, match="str"):
        load_image("picture.png")


def test_file_over_the_byte_limit_is_refused_before_reading():
    with pytest.raises(ImageInputError, match=f"limit is {MAX_BYTES // 2**20} MB"):
        load_image(b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES))


def test_huge_declared_size_is_refused_quickly_without_allocating():
    data = png_declaring(50_000, 50_000)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ImageInputError, match="megapixels"):
        load_image(data)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 5_000_000


def test_huge_declared_size_is_refused_by_our_own_limit_too(monkeypatch):
    # Some libraries turn Pillow's bomb check off; the pixel limit must hold anyway.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageInputError, match="50000x50000 pixels; the limit for a grey PNG is 64 megapixels"):
        load_image(png_declaring(50_000, 50_000))


@pytest.mark.parametrize(("mode", "kind"), [("RGBA", "transparent"), ("LA", "transparent"), ("I;16", "I;16")])
def test_5000x5000_with_transparency_or_16_bits_is_refused_quickly_with_its_size(mode, kind):
    # Pillow reduces these through full-size copies (RGBA premultiplied, 16-bit scaled): they stay at 16 MP.
    started = time.perf_counter()
    with pytest.raises(ImageInputError, match=f"5000x5000 pixels; the limit for a {kind} PNG is 16 megapixels"):
        load_image(png_declaring(5000, 5000, mode))
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("mode", "side", "limit"), [("L", 8001, 64), ("P", 7072, 50), ("RGB", 5001, 25)])
def test_large_pngs_over_their_decoded_size_are_refused_naming_the_limit(mode, side, limit):
    with pytest.raises(ImageInputError, match=f"{side}x{side} pixels; the limit for a [a-z]+ PNG is {limit} megapixels"):
        load_image(png_declaring(side, side, mode))


def test_a_decompression_bomb_png_is_still_refused_naming_the_limits():
    tracemalloc.start()
    with pytest.raises(ImageInputError) as refused:
        load_image(png_declaring(30_000, 30_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(refused.value).startswith("The image has more than 179 megapixels; the limit is 16 megapixels "
                                         "(e.g. 4000x4000; PNGs up to 25 megapixels in colour without transparency "
                                         "and 64 in grey;")
    assert peak < 5_000_000


def digit_png(mnist, mode: str, side: int = 5000) -> tuple[bytes, int]:
    """A ``side`` x ``side`` PNG of MNIST test digit 0 (a 7) written in dark ink on light paper, and its label."""
    digit = Image.fromarray(mnist.x_test[0]).resize((side // 2, side // 2), Image.Resampling.BILINEAR)
    page = Image.new("L", (side, side), 225)
    page.paste(Image.new("L", digit.size, 20), (side // 4, side // 4), mask=digit)
    return encoded(page.convert(mode), "PNG", compress_level=1), int(mnist.y_test[0])


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.slow  # draws and encodes a 25-megapixel image: 8 s
def test_a_5000x5000_png_of_a_digit_is_read_and_predicted(trained_home, mnist, mode):
    from mnist_lab import predictions
    from mnist_lab.predictions.inference import RunModel
    from mnist_lab.runs.store import RunStore

    data, label = digit_png(mnist, mode)
    assert Image.open(io.BytesIO(data)).size == (5000, 5000) and len(data) < MAX_BYTES
    store = RunStore(trained_home)
    model = RunModel.load(store, next(run for run in store.list_runs() if run.name == "small fast"))
    own = predictions.read_own_digit(model, data)
    assert own.original.size == (preprocess.WORKING_SIDE, preprocess.WORKING_SIDE)
    assert np.corrcoef(own.seen.ravel(), to_mnist(mnist.x_test[0]).ravel())[0, 1] > 0.9
    assert int(np.argmax(own.probabilities)) == label


# --- load_image: phone photos, decoded at a reduced size ---------------------------------------------


def draw_seven(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    """A '7' in dark ink across the middle of a photo of ``width`` x ``height`` pixels."""
    side = min(width, height) // 3
    stroke = max(2, side // 7)  # about 3 of MNIST's 20 pixels
    left, top = width // 2 - side // 2, height // 2 - side // 2
    draw.line([(left, top), (left + side, top), (left + side // 3, top + side)], fill=(25, 30, 40),
              width=stroke, joint="curve")


def phone_photo(width: int, height: int, **options) -> bytes:
    """A colour JPEG of a '7' written on slightly uneven paper, built with Pillow at the camera's full size."""
    photo = Image.linear_gradient("L").resize((width, height)).point(lambda v: 200 + v // 8).convert("RGB")
    draw_seven(ImageDraw.Draw(photo), width, height)
    return encoded(photo, "JPEG", quality=90, **options)


def small_seven(width: int, height: int, transpose: Image.Transpose | None = None) -> np.ndarray:
    """The same '7' drawn at 1/8 of the size (turned by ``transpose``): what the photo should come down to."""
    small = Image.new("RGB", (width // 8, height // 8), (215, 215, 215))
    draw_seven(ImageDraw.Draw(small), width // 8, height // 8)
    return to_mnist(small if transpose is None else small.transpose(transpose))


@pytest.fixture(scope="module")
def fifty_megapixels() -> bytes:
    """A 50-megapixel phone photo (8160x6120, a current phone's full resolution), baseline JPEG."""
    return phone_photo(8160, 6120)


def test_fifty_megapixel_phone_photo_is_read_at_reduced_size(fifty_megapixels):
    assert Image.open(io.BytesIO(fifty_megapixels)).size == (8160, 6120)
    loaded = load_image(fifty_megapixels)
    assert loaded.mode == "L" and max(loaded.size) == preprocess.WORKING_SIDE
    assert loaded.size == (1024, 768)  # the aspect ratio is kept
    digit = to_mnist(loaded)
    assert np.corrcoef(digit.ravel(), small_seven(8160, 6120).ravel())[0, 1] > 0.95


def test_fifty_megapixel_jpeg_is_decoded_by_libjpeg_at_a_quarter(fifty_megapixels, monkeypatch):
    decoded = []
    original = Image.Image.load

    def recording_load(image):
        decoded.append(image.size)
        return original(image)

    monkeypatch.setattr(Image.Image, "load", recording_load)
    load_image(fifty_megapixels)
    assert decoded[0] == (2040, 1530)  # 8160x6120 / 4, the smallest scale whose long side still reaches 1024
    assert decoded[0][0] * decoded[0][1] * 16 == 8160 * 6120  # a sixteenth of the pixels: never at full size


def test_twenty_five_megapixel_photo_with_exif_rotation_is_read_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    loaded = load_image(phone_photo(5000, 5000, exif=exif))
    assert loaded.size == (1024, 1024)
    shown = small_seven(5000, 5000, Image.Transpose.ROTATE_270)  # the '7' turned as the camera asks
    assert np.corrcoef(to_mnist(loaded).ravel(), shown.ravel())[0, 1] > 0.95
    assert np.corrcoef(to_mnist(loaded).ravel(), small_seven(5000, 5000).ravel())[0, 1] < 0.5


def test_progressive_jpeg_over_sixteen_megapixels_is_refused_with_what_to_do():
    data = phone_photo(5000, 5000, progressive=True)
    with pytest.raises(ImageInputError, match=r"5000x5000 pixels, a progressive JPEG.*16 megapixels.*baseline"):
        load_image(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims ``width`` x ``height``: a decompression bomb."""
    data = bytearray(encoded(Image.new("L", (16, 16), 255), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (9000, 9000, "9000x9000 pixels; the limit is 72 megapixels"),
        (60000, 60000, "more than 179 megapixels"),  # Pillow's own bomb check, before ours
    ],
)
def test_jpeg_declaring_too_many_pixels_is_refused_from_its_header(width, height, message):
    tracemalloc.start()
    with pytest.raises(ImageInputError, match=message):
        load_image(jpeg_declaring(width, height))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000


def test_jpeg_that_cannot_be_decoded_smaller_is_held_to_sixteen_megapixels(monkeypatch):
    # If libjpeg's scaled decoding were unavailable, the bound on decoded pixels still holds.
    monkeypatch.setattr(decode, "_draft", lambda image: None)
    with pytest.raises(ImageInputError, match="would be decoded at 5000x5000 pixels; the limit is 16 megapixels"):
        load_image(phone_photo(5000, 5000))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_large_lossless_images_are_reduced_before_any_full_size_copy(mode):
    photo = Image.new("RGB", (3900, 3900), (230, 230, 230))
    draw_seven(ImageDraw.Draw(photo), 3900, 3900)
    image = photo.convert(mode) if mode != "P" else photo.quantize(8)
    loaded = load_image(encoded(image, "PNG"))
    assert loaded.mode == ("RGBA" if mode == "RGBA" else "L") and loaded.size == (1024, 1024)
    assert np.corrcoef(to_mnist(loaded).ravel(), small_seven(3900, 3900).ravel())[0, 1] > 0.95
