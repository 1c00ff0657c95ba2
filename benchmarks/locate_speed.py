"""How long finding the digit in a phone photo takes (``locate_digit``), the step the Predictions page runs on every
uploaded photo before the model reads it.

The photo is a test digit on paper beside a desk edge, 1600x1200 like a phone's reduced upload
(``tests/photos.digit_on_desk``), decoded once with ``load_image``; each trial times ``locate_digit`` alone. The
first trial of a process is reported apart: it pays for what the first call loads.

Target: every trial, the first included, at most 0.5 s on this project's 2-core machine.

Run: ``.venv/bin/python benchmarks/locate_speed.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.photos draws the photo

from mnist_lab.data import locate, preprocess, shared_mnist
from tests.photos import digit_on_desk

TRIALS = 20
TARGET_SECONDS = 0.5


def main() -> int:
    picture = preprocess.load_image(digit_on_desk(shared_mnist().x_test[0]))
    times = []
    for _ in range(TRIALS):
        started = time.perf_counter()
        locate.locate_digit(picture)
        times.append(time.perf_counter() - started)
    print(f"locate_digit on a 1600x1200 photo: first call {times[0]:.3f} s; then median "
          f"{statistics.median(times[1:]):.3f} s, slowest {max(times[1:]):.3f} s over {TRIALS - 1} trials (target: every "
          f"call at most {TARGET_SECONDS} s)")
    return 0 if max(times) <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
