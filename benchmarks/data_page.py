"""Warm render time of the Data page in AppTest (target: under 1.5 s) and MNIST load time (well under 1 s)."""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from mnist_lab.data import load_mnist

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MNIST_LAB_HOME", tempfile.mkdtemp(prefix="mnist-lab-bench-"))

LOAD_TARGET_S, WARM_TARGET_S = 1.0, 1.5


def main() -> int:
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        load_mnist()
        loads.append(time.perf_counter() - start)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    load, median_warm = statistics.median(loads), statistics.median(warm)
    print(f"load_mnist (4 files, SHA-256 verified): median {load:.3f} s (target < {LOAD_TARGET_S} s)")
    print(f"Data page in AppTest: cold {cold:.2f} s, warm median {median_warm:.3f} s (target < {WARM_TARGET_S} s)")
    return 0 if load < LOAD_TARGET_S and median_warm < WARM_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
