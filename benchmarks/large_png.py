"""Peak memory of decoding large PNGs (and a phone JPEG) with ``load_image``, one fresh process per case.

Question (issue 24): how large a PNG can ``load_image`` decode within the memory that its existing bounds
already allow? Pillow cannot decode a PNG at a reduced size (``Image.draft`` is JPEG-only): the whole image is
decoded, then ``Image.reduce`` shrinks it. Pillow keeps grey ("L") pixels in 1 byte and RGB/RGBA in 4, so a
25-megapixel grey PNG decodes into 25 MB and a 25-megapixel colour one into 100 MB.

Each case runs in its own Python process: the figure is the growth of the peak resident size (``VmHWM``) from
just before ``load_image`` (modules imported, file read, freed heap given back with ``malloc_trim`` and the
kernel's peak reset through ``/proc/self/clear_refs``; Linux only) to just after. Not
``resource.getrusage(RUSAGE_SELF).ru_maxrss``: a child started by ``subprocess`` (vfork, then exec) inherits in
it the parent's peak, and the parent here has just built 50-megapixel images: it reported growths of 0 MB. Cases above the current limits are measured with the limits lifted in that process only, to show
what they would cost. The images are a '7' drawn on evenly lit paper (a gradient), so that even 50 megapixels
compress under the 30 MB upload limit.

Target: every case ``load_image`` accepts costs at most what the largest image accepted before issue 24 costs
(a 16-megapixel RGBA PNG, decoded at full size), with 10% to spare for measurement noise.

Run: ``.venv/bin/python benchmarks/large_png.py``
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

CASES = [  # (name, format, mode, width, height)
    ("16 MP RGBA PNG (largest accepted before)", "PNG", "RGBA", 4000, 4000),
    ("16 MP RGB PNG", "PNG", "RGB", 4000, 4000),
    ("25 MP RGBA PNG", "PNG", "RGBA", 5000, 5000),
    ("25 MP grey PNG", "PNG", "L", 5000, 5000),
    ("50 MP grey PNG", "PNG", "L", 8160, 6120),
    ("64 MP grey PNG", "PNG", "L", 8000, 8000),
    ("25 MP RGB PNG", "PNG", "RGB", 5000, 5000),
    ("50 MP palette PNG", "PNG", "P", 8160, 6120),
    ("50 MP RGB PNG", "PNG", "RGB", 8160, 6120),
    ("50 MP RGB JPEG (baseline)", "JPEG", "RGB", 8160, 6120),
]

CHILD = textwrap.dedent(
    """
    import ctypes, gc, sys, time
    from mnist_lab.data import decode

    def peak_kib():
        with open("/proc/self/status") as status:
            return int(status.read().split("VmHWM:")[1].split()[0])

    data = open(sys.argv[1], "rb").read()
    accepted = True
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back, so that reusing it counts as growth
    with open("/proc/self/clear_refs", "w") as reset:
        reset.write("5")  # the peak resident size starts again from the current size
    before = peak_kib()
    started = time.perf_counter()
    try:
        decode.load_image(data)
    except decode.ImageInputError:
        accepted = False
        decode.MAX_PIXELS = decode.MAX_JPEG_PIXELS = 10**9  # this process only: what would it cost?
        started = time.perf_counter()
        decode.load_image(data)
    seconds = time.perf_counter() - started
    after = peak_kib()
    print(accepted, (after - before) / 1024, seconds)
    """
)


def make(fmt: str, mode: str, width: int, height: int) -> bytes:
    """A '7' in dark ink on a page lit from one side, saved as ``fmt`` in ``mode``."""
    page = Image.linear_gradient("L").resize((width, height)).point(lambda v: 200 + v // 8)
    page = page.convert(mode) if mode != "P" else page.convert("RGB").quantize(16)
    side = min(width, height) // 3
    left, top = width // 2 - side // 2, height // 2 - side // 2
    ink = {"L": 30, "P": 0, "RGB": (25, 30, 40), "RGBA": (25, 30, 40, 255)}[mode]
    ImageDraw.Draw(page).line([(left, top), (left + side, top), (left + side // 3, top + side)], fill=ink,
                              width=side // 7, joint="curve")
    buffer = io.BytesIO()
    page.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 6}))
    return buffer.getvalue()


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, fmt, mode, width, height in CASES:
            path = Path(folder) / "image"
            data = make(fmt, mode, width, height)
            path.write_bytes(data)
            del data
            result = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                    cwd=root, check=True)
            accepted, megabytes, seconds = result.stdout.split()
            rows.append((name, path.stat().st_size / 2**20, accepted == "True", float(megabytes), float(seconds)))
            print(f"{name:42s} file {rows[-1][1]:5.1f} MB  {'accepted' if rows[-1][2] else 'refused '}  "
                  f"peak +{float(megabytes):6.1f} MB  {float(seconds):5.2f} s", flush=True)
    bound = rows[0][3] * 1.1
    over = [row for row in rows if row[2] and row[3] > bound]
    print(f"bound: {rows[0][3]:.1f} MB (+10%: {bound:.1f} MB); accepted cases over it: {[row[0] for row in over]}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
