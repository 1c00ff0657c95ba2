"""Faults: a training process killed mid-run, damaged model files, an unwritable home."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mnist_lab import inference, store as run_store
from tests.server import ROOT


def wait_for(predicate, timeout=180, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_sigkill_during_training_leaves_an_interrupted_usable_run(tmp_path, trained_home):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    earlier = {run.id: run for run in run_store.RunStore(home).list_runs()}
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_lab", "train", "--preset", "perceptron", "--epochs", "200",
         "--limit", "3000", "--name", "killed", "--home", str(home)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def killed_run():
        return next((run for run in run_store.RunStore(home).list_runs() if run.name == "killed"), None)

    try:
        assert wait_for(lambda: (run := killed_run()) is not None and run.saved_epochs >= 2)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    store = run_store.RunStore(home)  # the restart
    run = store.get(killed_run().id)
    assert run.status == run_store.INTERRUPTED
    assert run.saved_epochs >= 2 and f"epoch {run.saved_epochs}" in run.message
    model = inference.RunModel.load(store, run)
    assert model.predict_images(np.zeros((3, 28, 28), np.uint8)).shape == (3, 10)
    for run_id, before in earlier.items():
        after = store.get(run_id)
        assert (after.status, after.saved_epochs, after.metrics) == (before.status, before.saved_epochs, before.metrics)
        inference.RunModel.load(store, after)


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_missing_or_damaged_model_file_is_named_and_others_still_load(tmp_path, trained_home, damage):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    store = run_store.RunStore(home)
    broken, healthy = store.list_runs()[:2]
    path = store.model_path(broken.id)
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(b"not a keras file at all")
    with pytest.raises(inference.ModelUnavailableError, match=broken.name):
        inference.RunModel.load(store, broken)
    inference.RunModel.load(store, healthy)
    assert len(store.list_runs()) == 2
