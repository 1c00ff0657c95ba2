"""Faults: a training process killed mid-run, damaged model files, an unwritable home."""

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from tests.server import ROOT
from tests.waiting import wait_for


@pytest.mark.cluster
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
        wait_for(lambda: (run := killed_run()) is not None and run.saved_epochs >= 2, timeout=180,
                 what="the killed run to save two epochs")
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


EXIT_DURING_TRAINING = """
import sys, time
from mnist_lab.models import config
from mnist_lab.runs import store
from mnist_lab import training
trainer = training.Trainer(store.RunStore(sys.argv[1]))
job = trainer.start("left running", config.ModelConfig(architecture="perceptron"),
                    config.TrainConfig(epochs=200, train_limit=3000, batch_size=50))
while not job.progress().epoch_rows:
    time.sleep(0.05)
"""  # the script ends while its training runs, as a server does on Ctrl-C or SIGTERM


@pytest.mark.cluster
def test_a_process_that_exits_mid_training_stops_it_and_keeps_its_model(tmp_path):
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-c", EXIT_DURING_TRAINING, str(home)], cwd=ROOT, check=True, timeout=300,
                   capture_output=True)
    store = run_store.RunStore(home)
    (listed,) = store.list_runs()
    run = store.get(listed.id)
    assert run.status == run_store.STOPPED, run.message
    assert run.saved_epochs >= 1 and len(run.history) >= 1
    assert inference.RunModel.load(store, run).predict_images(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)
    assert not list(home.rglob("partial-*"))


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


@pytest.mark.cluster
def test_full_disk_gives_a_clear_message_and_loses_no_run(tmp_path, trained_home):
    """A file-size limit makes every write past it fail as on a full disk (EFBIG instead of ENOSPC)."""
    import resource

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    earlier = {run.id: run for run in run_store.RunStore(home).list_runs()}
    limit = 200_000  # room for the database, not for a model file

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "mnist_lab", "train", "--preset", "keras-classic", "--epochs", "1",
         "--limit", "500", "--home", str(home)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, preexec_fn=small_disk,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "the disk is full" in output or "cannot be written" in output
    store = run_store.RunStore(home)
    for run_id, before in earlier.items():
        after = store.get(run_id)
        assert (after.status, after.saved_epochs) == (before.status, before.saved_epochs)
        inference.RunModel.load(store, after)


def test_unusable_home_gives_clear_messages_in_the_app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(run_store.HOME_ENV, str(blocker))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "run store cannot be read" in at.sidebar.error[0].value
    assert len(at.get("image")) == 10  # the Data page still works: its first tab, a gallery strip per class
    for page in ("app_pages/train.py", "app_pages/predict.py", "app_pages/evaluate.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert any(run_store.HOME_ENV in error.value for error in at.error), page
