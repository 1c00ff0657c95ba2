"""Hostile and broken uploads: each works or gives a clear message, quickly, without a memory spike.

Each file is processed in a fresh subprocess so its peak resident memory can be measured exactly.
"""

import io
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.server import ROOT

MEMORY_LIMIT_MB, TIME_LIMIT_S = 200, 5.0

PROBE = r"""
import json, resource, sys, time
from mnist_lab.data.preprocess import ImageInputError, load_image, to_mnist
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    digit = to_mnist(load_image(data))
    outcome, message = "ok", f"{digit.shape} {digit.dtype}"
except ImageInputError as error:
    outcome, message = "refused", str(error)
seconds = time.perf_counter() - start
growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"outcome": outcome, "message": message, "seconds": seconds, "growth_mb": growth}))
"""


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def digit_image(size=280) -> Image.Image:
    canvas = np.zeros((size, size), np.uint8)
    canvas[size // 5 : size * 4 // 5, size // 2 - size // 20 : size // 2 + size // 20] = 255
    return Image.fromarray(canvas)


def png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims width x height pixels (a decompression bomb)."""
    real = bytearray(encoded(Image.new("L", (8, 8)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(real[24:29])
    real[16:29] = ihdr
    real[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(real)


def phone_jpeg(width: int, height: int) -> bytes:
    """A colour photo of a '1' on grey paper at a phone camera's full size, saved as a baseline JPEG."""
    photo = Image.new("RGB", (width, height), (215, 212, 205))
    photo.paste((30, 30, 40), (width // 2 - width // 40, height // 4, width // 2 + width // 40, height * 3 // 4))
    return encoded(photo, "JPEG", quality=90)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header claims width x height pixels (a decompression bomb)."""
    data = bytearray(encoded(Image.new("L", (16, 16), 255), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated_gif() -> bytes:
    frames = [digit_image(64), Image.new("L", (64, 64), 128)]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def sixteen_bit_png() -> bytes:
    values = np.asarray(digit_image(), dtype=np.uint16) * 257
    return encoded(Image.fromarray(values), "PNG")


CASES = {
    "empty file": (lambda: b"", "refused", "empty"),
    "text named .png": (lambda: b"hello, this is not a picture\n" * 10, "refused", "not an image"),
    "truncated PNG": (lambda: encoded(digit_image(), "PNG")[:300], "refused", ""),
    "truncated JPEG": (lambda: encoded(digit_image().convert("RGB"), "JPEG")[:600], "refused", ""),
    "PNG declaring 50000x50000": (lambda: png_declaring(50_000, 50_000), "refused", "megapixels"),
    "animated GIF": (animated_gif, "ok", ""),
    "16-bit PNG": (sixteen_bit_png, "ok", ""),
    "CMYK JPEG": (lambda: encoded(digit_image().convert("CMYK"), "JPEG"), "ok", ""),
    "1x1 image": (lambda: encoded(Image.new("L", (1, 1), 255), "PNG"), None, ""),
    "5000x5000 transparent PNG": (lambda: encoded(Image.new("RGBA", (5000, 5000)), "PNG"), "refused", "5000x5000"),
    "5000x5000 grey PNG of a digit": (lambda: encoded(digit_image(5000), "PNG"), "ok", ""),
    "8001x8001 grey PNG": (lambda: encoded(Image.new("L", (8001, 8001)), "PNG"), "refused", "64 megapixels"),
    "25-megapixel phone JPEG": (lambda: phone_jpeg(5000, 5000), "ok", ""),
    "50-megapixel phone JPEG": (lambda: phone_jpeg(8160, 6120), "ok", ""),
    "JPEG declaring 9000x9000": (lambda: jpeg_declaring(9000, 9000), "refused", "megapixels"),
    "JPEG declaring 60000x60000": (lambda: jpeg_declaring(60_000, 60_000), "refused", "megapixels"),
    "SVG": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text>7</text></svg>', "refused", "not an image"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_upload(tmp_path, case):
    make, expected, fragment = CASES[case]
    path = tmp_path / "upload.bin"
    path.write_bytes(make())
    result = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    if expected is not None:
        assert report["outcome"] == expected, report
    assert fragment.lower() in report["message"].lower(), report
    if report["outcome"] == "refused":
        assert "Traceback" not in report["message"] and len(report["message"]) > 20
    assert report["seconds"] < TIME_LIMIT_S, report
    assert report["growth_mb"] < MEMORY_LIMIT_MB, report


#: What a 16-megapixel colour image took decoded (16 M pixels x 3 bytes), before phone photos were accepted.
OLD_DECODED_BOUND_MB = 48


@pytest.mark.parametrize("size", [(5000, 5000), (8160, 6120)], ids=["25-megapixel", "50-megapixel"])
def test_phone_photo_stays_within_the_old_memory_bound(tmp_path, size):
    path = tmp_path / "photo.jpg"
    path.write_bytes(phone_jpeg(*size))
    result = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outcome"] == "ok", report
    assert report["growth_mb"] < OLD_DECODED_BOUND_MB, report  # decoded at a quarter of each side, never whole
