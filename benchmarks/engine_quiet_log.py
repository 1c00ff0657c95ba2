"""The embedded engine over TLS, and its log in normal use.

Starts the embedded cluster (one worker process, TLS certificates made at start) and reports how long the first
``client()`` took; after a warm-up training (the worker's Keras import), trains the perceptron for ``--epochs``
epochs on 600 images, once with the message polling the engine used before issue 24 (a ``Queue.get`` with a
timeout, which raised ``TimeoutError`` in the scheduler) and once with today's (batch gets that never wait
there); counts the ERROR lines and tracebacks each training added to the cluster process's log, and the seconds
from start to finish.

Target (issue 24): no ERROR line and no traceback in normal use.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

from engine_common import machine

from mnist_lab.models import config
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan, engine


def _messages_before_issue_24(self, timeout):
    """RemoteTraining.messages as it was: a blocking get with a timeout when nothing had arrived."""
    arrived = self._queue.get(batch=True)
    if arrived or timeout <= 0:
        return arrived
    try:
        first = self._queue.get(timeout=timeout)
    except TimeoutError:
        return []
    return [first, *self._queue.get(batch=True)]


def train_once(trainer, label: str, epochs: int, log) -> dict[str, float]:
    before = log.stat().st_size
    started = time.perf_counter()
    job = trainer.start(label, config.ModelConfig(architecture="perceptron"),
                        config.TrainConfig(epochs=epochs, train_limit=600, batch_size=50))
    job.join(timeout=600)
    seconds = time.perf_counter() - started
    with log.open() as text:
        text.seek(before)
        added = text.read()
    return {"errors": added.count(" - ERROR - "), "tracebacks": added.count("Traceback"), "seconds": seconds,
            "status": run_store.RunStore().get(job.run_id).status}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update({"MNIST_LAB_HOME": folder, cluster_plan.WORKERS_ENV: "1",
                           "DASK_TEMPORARY_DIRECTORY": os.path.join(folder, "dask")})
        os.environ.pop(cluster_plan.SCHEDULER_ENV, None)
        from mnist_lab import training

        trainer = training.Trainer(run_store.RunStore())
        started = time.perf_counter()
        trainer.engine.client()
        print(f"embedded cluster over TLS: client() ready in {time.perf_counter() - started:.1f} s "
              f"({trainer.engine.client().scheduler.address.split(':')[0]}://)")
        try:
            train_once(trainer, "warm-up", 1, trainer.engine.cluster_log)  # the worker's Keras import, not counted
            today = engine.RemoteTraining.messages
            engine.RemoteTraining.messages = _messages_before_issue_24
            before = train_once(trainer, "before", args.epochs, trainer.engine.cluster_log)
            engine.RemoteTraining.messages = today
            after = train_once(trainer, "after", args.epochs, trainer.engine.cluster_log)
        finally:
            trainer.engine.close()
    for label, row in (("get with a timeout (before)", before), ("batch gets (today)", after)):
        print(f"{label:28s} {row['status']:9s} {row['seconds']:5.1f} s  ERROR lines {row['errors']:3d}  "
              f"tracebacks {row['tracebacks']:3d}")
    return 0 if after["errors"] == after["tracebacks"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
