"""t-SNE map of the Data page: at most 5 s for the largest map the page offers (issue 15).

Times :func:`mnist_lab.data.explore.embedding` with ``method="tsne"`` for the page's default (1,000 images) and
its largest (``TSNE_MAX_SAMPLE``) sample, median of ``--repeats`` runs, and reports the time the function measured
itself (what the page's label shows) next to the time measured around the call. With ``--with-old`` it also times,
in the same run, the settings before issue 15 (2,000 images, 1,000 iterations, every core), so that the ratio holds
on a busy machine. Exits 1 when the median for the largest sample is over the target.

Run: ``.venv/bin/python benchmarks/tsne_speed.py [--repeats 3] [--with-old]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from mnist_lab.data import explore, shared_mnist

TARGET_S = 5.0


def old_tsne(data, sample: int = 2000, seed: int = 0) -> float:
    """Seconds of the map as computed before issue 15: every core, 1,000 iterations, angle 0.5."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    started = time.perf_counter()
    index = np.sort(np.random.default_rng(seed).choice(len(data.x_train), size=sample, replace=False))
    flat = data.x_train[index].reshape(sample, -1).astype(np.float32) / 255.0
    reduced = PCA(n_components=50, random_state=seed).fit_transform(flat)
    TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(reduced)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--with-old", action="store_true", help="also time the settings before issue 15")
    args = parser.parse_args()
    data = shared_mnist()
    print(f"load average before: {', '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} CPUs")
    explore.embedding(data, method="tsne", sample=200)  # imports scikit-learn and warms its code once
    medians = {}
    for sample in (1000, explore.TSNE_MAX_SAMPLE):
        own, around = [], []
        for repeat in range(args.repeats):
            started = time.perf_counter()
            result = explore.embedding(data, method="tsne", sample=sample, seed=repeat)
            around.append(time.perf_counter() - started)
            own.append(result.seconds)
        medians[sample] = statistics.median(own)
        print(f"t-SNE of {sample:,} images: median {statistics.median(own):.2f} s as labelled "
              f"({statistics.median(around):.2f} s around the call), max {max(own):.2f} s, "
              f"{args.repeats} runs (target <= {TARGET_S} s for {explore.TSNE_MAX_SAMPLE:,})")
    if args.with_old:
        old = old_tsne(data)
        print(f"before issue 15 (2,000 images, 1,000 iterations, every core): {old:.2f} s; "
              f"ratio now/before for {explore.TSNE_MAX_SAMPLE:,} images: {medians[explore.TSNE_MAX_SAMPLE] / old:.2f}")
    print(f"load average after: {', '.join(f'{load:.1f}' for load in os.getloadavg())}")
    return 0 if medians[explore.TSNE_MAX_SAMPLE] <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
