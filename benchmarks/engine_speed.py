"""Training in a Dask worker against training in a thread of the server; Start and Stop latencies.

1. Throughput: the same run (``fast`` preset, the same images and seed) trained in this process (``job.run()``, as
   the server trained before the engine) and in a worker process of the embedded cluster; images per second over
   the steady-state epochs (2 and 3). Target: the worker at least 0.95 of the thread.
2. From Start to the first batch stored by the server, and from Stop to the run's final status, on the embedded
   cluster and on an external scheduler with one worker on this machine (warm workers: TensorFlow imported).
Usage: python benchmarks/engine_speed.py [--images 20000] [--trials 3] [--skip-throughput] [--skip-latency]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from engine_common import external_cluster, machine, wait_for_warm_workers

from mnist_lab import training
from mnist_lab.models import config, presets
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan, engine

RATIO_TARGET = 0.95


def steady_rate(job: training.TrainingJob) -> float:
    """Images per second of training over epochs 2 and 3 (the first epoch traces the model)."""
    rows = job.progress().epoch_rows
    if job.progress().status != run_store.FINISHED or len(rows) < 3:
        raise RuntimeError(f"the run did not finish 3 epochs: {job.progress().message}")
    return 2 * job.training_images / (rows[2]["train_seconds"] - rows[0]["train_seconds"])


def throughput(store, images: int, trials: int) -> float:
    chosen = presets.preset("fast")
    train = config.replace(chosen.train, epochs=3, train_limit=images, validation_fraction=0.1, schedule="constant")
    trainer = training.Trainer(store)
    wait_for_warm_workers(trainer.engine, 1)
    ratios = []
    for trial in range(trials):  # alternating which goes first: the load of a shared machine drifts
        in_thread = training.new_job(store, "in thread", chosen.model, train)
        if trial % 2:
            in_thread.run()
        on_worker = trainer.start("on a worker", chosen.model, train)
        on_worker.join()
        if not trial % 2:
            in_thread.run()
        thread_rate, worker_rate = steady_rate(in_thread), steady_rate(on_worker)
        ratios.append(worker_rate / thread_rate)
        print(f"  trial {trial + 1}: thread {thread_rate:,.0f} images/s, worker {worker_rate:,.0f} images/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    return statistics.median(ratios)


def latencies(store, trials: int) -> tuple[float, float]:
    """Median seconds from Start to the first stored batch, and from Stop to the final status."""
    trainer = training.Trainer(store)
    wait_for_warm_workers(trainer.engine, 1)
    train = config.TrainConfig(epochs=50, train_limit=20000, batch_size=64, validation_fraction=0.1)
    to_first, to_final = [], []
    for _ in range(trials):
        started = time.perf_counter()
        job = trainer.start("latency", config.ModelConfig(architecture="fast"), train)
        while job.progress().batch < 1 and not job.done:
            time.sleep(0.005)
        to_first.append(time.perf_counter() - started)
        while job.progress().batch < 30 and not job.done:
            time.sleep(0.005)
        stopped = time.perf_counter()
        job.stop()
        job.join()
        to_final.append(time.perf_counter() - stopped)
        if job.progress().status != run_store.STOPPED:
            raise RuntimeError(f"the run did not stop: {job.progress().message}")
    print(f"  Start to first batch: {', '.join(f'{value:.2f}' for value in to_first)} s; "
          f"Stop to final status: {', '.join(f'{value:.2f}' for value in to_final)} s", flush=True)
    return statistics.median(to_first), statistics.median(to_final)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20000, help="training images of the throughput runs")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    os.environ.pop(cluster_plan.SCHEDULER_ENV, None)
    os.environ[cluster_plan.WORKERS_ENV] = "1"
    store = run_store.RunStore(tempfile.mkdtemp(prefix="mnist-lab-bench-"))
    print(f"machine: {machine()}")
    ok = True
    if not args.skip_throughput:
        print(f"Throughput, fast preset, {args.images:,} images, epochs 2-3 (worker / thread):")
        ratio = throughput(store, args.images, args.trials)
        print(f"worker / thread: median {ratio:.3f} (target at least {RATIO_TARGET})")
        ok &= ratio >= RATIO_TARGET
    if not args.skip_latency:
        print("Embedded cluster (1 worker process):")
        embedded = latencies(store, args.trials)
        engine.shared().close()
        with external_cluster(workers=1) as address:
            os.environ[cluster_plan.SCHEDULER_ENV] = address
            print(f"External scheduler on this machine ({address}, 1 worker):")
            external = latencies(store, args.trials)
            engine.shared().close()
        for where, (first, final) in (("embedded", embedded), ("external scheduler", external)):
            print(f"{where}: Start to first batch {first:.2f} s, Stop to final status {final:.2f} s (medians)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
