"""The training worker's memory over many trainings in a row (issue 24): 30 small trainings (``fast``, 1 epoch on
a subset of MNIST) on the embedded cluster's one worker process, its RSS after each.

Target: after every training, the worker's RSS stays within 150 MB of its level after the first (before issue 24
it grew about 21 MB per training: 918 to 1,149 MB over 12). The worker releases what each fit leaves
(``mnist_lab.training.worker.fit``: ``del model``, ``keras.backend.clear_session()``, ``gc.collect()``), and TensorFlow
still keeps 15-20 MB per fit: a worker grown by ``worker.RECYCLE_MB`` asks to be restarted between trainings.
The figure after each training is the worker's RSS once the fit's memory was released, as its task reports it.
Usage: python benchmarks/worker_memory_30.py [--runs 30] [--limit 2000] [--architecture fast]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from engine_common import machine, rss_mb, wait_for_warm_workers

ROOT = Path(__file__).resolve().parent.parent
GROWTH_TARGET_MB = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--limit", type=int, default=2000, help="training images of each training")
    parser.add_argument("--architecture", default="fast")
    args = parser.parse_args()
    os.environ["MNIST_LAB_HOME"] = tempfile.mkdtemp(prefix="mnist-lab-worker-memory-")
    os.environ.pop("MNIST_LAB_SCHEDULER", None)
    os.environ["MNIST_LAB_WORKERS"] = "1"
    sys.path.insert(0, str(ROOT))
    from mnist_lab import training
    from mnist_lab.models import config
    from mnist_lab.runs import store as run_store

    print(f"machine: {machine()}", flush=True)
    trainer = training.Trainer(run_store.RunStore())
    wait_for_warm_workers(trainer.engine, 1)
    model = config.ModelConfig(architecture=args.architecture)
    after, pids, started = [], set(), time.perf_counter()
    for index in range(args.runs):
        job = trainer.start(f"memory {index + 1}", model, config.TrainConfig(epochs=1, train_limit=args.limit))
        job.join()
        if job.progress().status != run_store.FINISHED:
            print(f"training {index + 1} ended {job.progress().status}: {job.progress().message}")
            return 1
        pids.add(job.worker["pid"])
        after.append(job.worker_memory_mb)
        alive = "" if rss_mb(job.worker["pid"]) else ", then restarted"
        print(f"worker (pid {job.worker['pid']}) after training {index + 1}: {after[-1]:.0f} MB{alive} "
              f"(server {rss_mb():.0f} MB)", flush=True)
    trainer.engine.close()
    worst = max(after) - after[0]
    print(f"{args.runs} trainings ({args.architecture}, 1 epoch of {args.limit} images) in "
          f"{time.perf_counter() - started:.0f} s on {len(pids)} worker process(es) in turn: worker {after[0]:.0f} MB after "
          f"the 1st, {after[-1]:.0f} MB after the last ({after[-1] - after[0]:+.0f} MB), highest {max(after):.0f} MB "
          f"({worst:+.0f} MB; target at most {GROWTH_TARGET_MB} MB above the 1st)")
    return 0 if worst <= GROWTH_TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
