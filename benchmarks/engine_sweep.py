"""A sweep of 4 learning rates on 2 worker processes against the same 4 runs one after another on 1 worker.

Wall time from queueing the sweep to its last run's end, with warm workers (TensorFlow imported) in both cases.
Each case runs in a fresh process with its own embedded cluster (``MNIST_LAB_WORKERS`` 2, then 1).
Usage: python benchmarks/engine_sweep.py [--images 10000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from engine_common import machine, wait_for_warm_workers

RATES = "learning_rate=3e-4:3e-2:4"


def one_case(workers: int, images: int, epochs: int) -> dict:
    """Run the sweep on an embedded cluster of ``workers`` processes (in this process); return its figures."""
    from mnist_lab import training
    from mnist_lab.models import config, presets
    from mnist_lab.runs import store as run_store
    from mnist_lab.training import sweeps
    from mnist_lab.training.server import cluster_plan

    os.environ.pop(cluster_plan.SCHEDULER_ENV, None)
    os.environ[cluster_plan.WORKERS_ENV] = str(workers)
    store = run_store.RunStore(tempfile.mkdtemp(prefix="mnist-lab-bench-sweep-"))
    trainer = training.Trainer(store)
    wait_for_warm_workers(trainer.engine, workers)
    chosen = presets.preset("fast")
    train = config.replace(chosen.train, epochs=epochs, train_limit=images)
    started = time.perf_counter()
    jobs = sweeps.start(trainer, f"sweep on {workers}", chosen.model, train, [sweeps.parse_axis(RATES)])
    for job in jobs:
        job.join()
    wall = time.perf_counter() - started
    runs = [store.get(job.run_id) for job in jobs]
    if any(run.status != run_store.FINISHED for run in runs):
        raise RuntimeError([run.message for run in runs])
    return {"workers": workers, "wall_seconds": wall, "distinct_workers": len({run.metrics["worker"]["worker"]
                                                                              for run in runs}),
            "test_accuracy": [run.metrics["test_accuracy"] for run in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)  # one case, in a child process
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(args.case, args.images, args.epochs)))
        return 0
    print(f"machine: {machine()}; sweep {RATES}, fast preset, {args.images:,} images, {args.epochs} epochs")
    results = {}
    for workers in (2, 1):
        done = subprocess.run([sys.executable, __file__, "--case", str(workers), "--images", str(args.images),
                               "--epochs", str(args.epochs)], capture_output=True, text=True, check=False)
        if done.returncode:
            print(done.stderr[-3000:])
            return 1
        results[workers] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {workers} worker process(es): {results[workers]['wall_seconds']:.1f} s, on "
              f"{results[workers]['distinct_workers']} worker(s); test accuracies "
              f"{', '.join(f'{value:.2%}' for value in results[workers]['test_accuracy'])}", flush=True)
    ratio = results[2]["wall_seconds"] / results[1]["wall_seconds"]
    print(f"sweep of 4 on 2 workers / one after another on 1: {ratio:.2f} of the wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
