"""RSS of the server's dataset cache: five datasets at the image limits loaded one after another, then released.

Each dataset holds ``limits.MAX_TRAIN_IMAGES`` training and ``limits.MAX_TEST_IMAGES`` test images (116 MB of
uint8, MNIST's digits repeated), read through ``mnist_lab.data.get_dataset`` as the pages read them. A page
holds its dataset while it draws and drops it after; the cache keeps the recently used within
``limits.DATASET_CACHE_BYTES`` and lets go of one unused for ``limits.DATASET_IDLE_SECONDS`` (set to
``--idle`` seconds here). Target (issue 24): RSS after the five are released is within 100 MB of the start.

For comparison, the same five loads with an unbounded cache that never lets go (the cache before issue 24)
are measured afterwards.

Usage: python benchmarks/dataset_cache_rss.py [--datasets 5] [--idle 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 100


def rss_mb() -> float:
    """Resident set size of this process in MB (/proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_datasets(home: Path, count: int) -> list[str]:
    """Write ``count`` dataset folders at the image limits (hard links of one set of plain IDX files)."""
    import numpy as np

    from mnist_lab.data import limits, load_mnist, write_idx
    from mnist_lab.data.folders import ROLES

    mnist = load_mnist()
    arrays = [
        np.resize(mnist.x_train, (limits.MAX_TRAIN_IMAGES, 28, 28)),
        np.resize(mnist.y_train, limits.MAX_TRAIN_IMAGES),
        np.resize(mnist.x_test, (limits.MAX_TEST_IMAGES, 28, 28)),
        np.resize(mnist.y_test, limits.MAX_TEST_IMAGES),
    ]
    first = home / "datasets" / "Large 1"
    first.mkdir(parents=True)
    for role, array in zip(ROLES, arrays):
        write_idx(first / role, array)
    names = ["Large 1"]
    for number in range(2, count + 1):
        folder = home / "datasets" / f"Large {number}"
        folder.mkdir()
        for role in ROLES:
            try:
                os.link(first / role, folder / role)
            except OSError:
                shutil.copy(first / role, folder / role)
        names.append(folder.name)
    return names


def load_each(names: list[str], home: Path, label: str) -> float:
    """Load each dataset as a page does (hold it, then drop it); print RSS after each; return the peak."""
    from mnist_lab.data import get_dataset, registry

    peak = 0.0
    for name in names:
        dataset = get_dataset(name, home)
        images = len(dataset.y_train) + len(dataset.y_test)
        del dataset  # the page's rerun ends
        now = rss_mb()
        peak = max(peak, now)
        print(f"  {label}: loaded {name} ({images:,} images): RSS {now:7.1f} MB; cache keeps "
              f"{registry.cache.kept_bytes / 2**20:6.1f} MB ({', '.join(registry.cache.names())})", flush=True)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=5)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds before an unused dataset is let go of")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="mnist-lab-cache-rss-"))
    try:
        from mnist_lab.data import limits, registry

        names = write_datasets(home, args.datasets)
        limits.DATASET_IDLE_SECONDS = args.idle
        gc.collect()
        start = rss_mb()
        print(f"{args.datasets} datasets of {limits.MAX_TRAIN_IMAGES:,} + {limits.MAX_TEST_IMAGES:,} images; "
              f"cache budget {limits.DATASET_CACHE_BYTES / 2**20:.0f} MB, idle release after {args.idle:g} s")
        print(f"RSS at the start: {start:.1f} MB", flush=True)
        peak = load_each(names, home, "bounded")
        waited = time.monotonic()
        while registry.cache.in_memory() and time.monotonic() - waited < 60 + args.idle:
            time.sleep(0.1)
        gc.collect()
        after = rss_mb()
        print(f"RSS peak while loading: {peak:.1f} MB (+{peak - start:.1f} MB)")
        print(f"RSS after releasing all {args.datasets} ({time.monotonic() - waited:.1f} s after the last load): "
              f"{after:.1f} MB ({after - start:+.1f} MB from the start; target within {TARGET_MB} MB); "
              f"still in memory: {registry.cache.in_memory() or 'none'}", flush=True)

        limits.DATASET_CACHE_BYTES, limits.DATASET_IDLE_SECONDS = 2**62, 1e9  # the cache before issue 24
        before_fix = rss_mb()
        load_each(names, home, "unbounded")
        kept = rss_mb()
        print(f"Unbounded, never released (before issue 24): RSS {kept:.1f} MB (+{kept - before_fix:.1f} MB kept "
              "for the life of the process)")
        registry.cache.clear()
        return 0 if after - start <= TARGET_MB else 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
