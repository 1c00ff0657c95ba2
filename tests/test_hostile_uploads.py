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
from mnist_lab.predictions.preprocess import ImageInputError, load_image, to_mnist
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
    "5000x5000 image": (lambda: encoded(Image.new("L", (5000, 5000)), "PNG"), "refused", "5000x5000"),
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
