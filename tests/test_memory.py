"""Repeated trainings in one process do not make it grow (the benchmark measures the exact figure)."""

import json
import subprocess
import sys

from tests.server import ROOT

LOOSE_GROWTH_LIMIT_MB = 300  # benchmarks/memory.py holds the real target of 150 MB on full MNIST

PROBE = r"""
import gc, json, os, sys, tempfile
from mnist_lab.models import config
from mnist_lab.runs import store
from mnist_lab import training
def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
trainer = training.Trainer(store.RunStore(tempfile.mkdtemp()))
after = []
for index in range(5):
    job = trainer.start(f"run {index}", config.ModelConfig(architecture="fast"),
                        config.TrainConfig(epochs=1, train_limit=6000, batch_size=128))
    job.join()
    assert job.progress().status == "finished", job.progress().message
    gc.collect()
    after.append(rss_mb())
print(json.dumps(after))
"""


def test_five_trainings_in_a_row_do_not_grow_memory():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    after = json.loads(result.stdout.strip().splitlines()[-1])
    growth = after[-1] - after[0]
    assert growth < LOOSE_GROWTH_LIMIT_MB, f"RSS after each training (MB): {after}"
