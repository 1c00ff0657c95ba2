"""Memory of the app while training: peak RSS on full MNIST, and growth over five trainings in a row.

The app runs in this process through Streamlit's AppTest: each training is started from the Train page's
button, exactly as a user does, and the resident set size is sampled every 50 ms.
Targets: peak at most 1.2 GB (issue 3); growth after five trainings at most 150 MB (issue 7).
Usage: python benchmarks/memory.py [--runs 5] [--epochs 1] [--limit 0]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["MNIST_LAB_HOME"] = tempfile.mkdtemp(prefix="mnist-lab-memory-")

PEAK_TARGET_MB, GROWTH_TARGET_MB = 1200, 150


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class PeakSampler(threading.Thread):
    """Sample RSS in the background and keep the maximum."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.05)


def train_from_page(at, limit: int, epochs: int, name: str) -> None:
    """Start one training with the Train page's widgets and wait for it to end."""
    from ui import resources

    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_train_limit").set_value(limit)
    at.text_input(key="train_run_name").set_value(name).run()
    at.button(key="start_training").click().run()
    job = resources.trainer().active()
    if job is None:
        raise RuntimeError(f"the training did not start: {[e.value for e in at.error]}")
    job.join()
    at.run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="training images, 0 = all")
    args = parser.parse_args()
    from streamlit.testing.v1 import AppTest

    sampler = PeakSampler()
    sampler.start()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("app_pages/train.py")
    at.run()
    print(f"before training (app, MNIST and TensorFlow loaded): RSS {rss_mb():.0f} MB", flush=True)
    after = []
    for index in range(args.runs):
        train_from_page(at, args.limit, args.epochs, f"memory {index + 1}")
        gc.collect()
        after.append(rss_mb())
        print(f"after training {index + 1}: RSS {after[-1]:.0f} MB, peak so far {sampler.peak:.0f} MB", flush=True)
    sampler.running = False
    growth = after[-1] - after[0]
    print(f"peak RSS: {sampler.peak:.0f} MB (target at most {PEAK_TARGET_MB} MB)")
    print(f"growth from training 1 to {args.runs}: {growth:+.0f} MB (target at most {GROWTH_TARGET_MB} MB)")
    return 0 if sampler.peak <= PEAK_TARGET_MB and growth <= GROWTH_TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
