"""Repeated trainings do not make the processes grow: the worker that trains and the server that stores (the
benchmark measures the exact figures)."""

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = pytest.mark.cluster

LOOSE_GROWTH_LIMIT_MB = 300  # benchmarks/engine_memory.py holds the real target of 150 MB on full MNIST

PROBE = r"""
import gc, json, os, sys, tempfile
from mnist_lab.models import config
from mnist_lab.runs import store
from mnist_lab import training
def rss_mb(pid="self"):
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
trainer = training.Trainer(store.RunStore(tempfile.mkdtemp()))
server, worker, pids = [], [], set()
for index in range(5):
    job = trainer.start(f"run {index}", config.ModelConfig(architecture="fast"),
                        config.TrainConfig(epochs=1, train_limit=6000, batch_size=128))
    job.join()
    assert job.progress().status == "finished", job.progress().message
    gc.collect()
    server.append(rss_mb())
    pids.add(job.worker["pid"])
    worker.append(rss_mb(job.worker["pid"]))
print(json.dumps({"server": server, "worker": worker, "workers": len(pids), "server_pid": os.getpid(),
                  "worker_pid": pids.pop()}))
"""


def test_five_trainings_in_a_row_grow_neither_the_worker_nor_the_server():
    env = {**os.environ, "MNIST_LAB_WORKERS": "1"}  # one worker trains all five, whatever the machine
    env.pop("MNIST_LAB_SCHEDULER", None)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["workers"] == 1 and measured["worker_pid"] != measured["server_pid"]
    for process in ("worker", "server"):
        after = measured[process]
        assert after[-1] - after[0] < LOOSE_GROWTH_LIMIT_MB, f"RSS of the {process} after each training (MB): {after}"
