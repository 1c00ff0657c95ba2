"""The engine when things fail: the external scheduler killed during a training, the server restarted while
trainings wait. Real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, killed with SIGKILL."""

import logging
import os
import signal

import numpy as np

from mnist_lab import training
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training import engine, jobs
from tests.dask_cluster import dask_cluster, wait_until

PERCEPTRON = config.ModelConfig(architecture="perceptron")


def test_a_scheduler_killed_mid_training_interrupts_the_run_and_keeps_its_last_epoch(home, tmp_path, monkeypatch,
                                                                                     caplog):
    monkeypatch.setattr(jobs, "LOST_CONTACT_SECONDS", 5.0)  # the server waits this long for the scheduler to return
    (tmp_path / "cluster").mkdir()
    with dask_cluster(tmp_path / "cluster", workers=1) as cluster:
        monkeypatch.setenv(engine.SCHEDULER_ENV, cluster.address)
        store = run_store.RunStore()
        trainer = training.Trainer(store)
        try:
            job = trainer.start("cut off", PERCEPTRON, config.TrainConfig(epochs=200, train_limit=3000, batch_size=50))
            assert wait_until(lambda: store.get(job.run_id).saved_epochs >= 1 or job.done, timeout=300)
            assert not job.done, job.progress().message
            scheduler = cluster.processes[0]
            with caplog.at_level(logging.WARNING, logger=jobs.__name__):
                os.killpg(scheduler.pid, signal.SIGKILL)
                scheduler.wait()
                assert job.join(timeout=120)
        finally:
            trainer.engine.close()
    run = store.get(job.run_id)
    assert run.status == run_store.INTERRUPTED, run.message
    assert run.saved_epochs >= 1
    assert "Training failed" not in run.message and "NoneType" not in run.message
    in_progress = job.progress().epoch
    assert run.message.startswith("The training cluster stopped answering")
    where = f"during epoch {in_progress}" if in_progress > run.saved_epochs else f"after epoch {run.saved_epochs}"
    assert f"{where}; epoch {run.saved_epochs} is kept" in run.message, run.message
    model = inference.RunModel.load(store, run)
    assert model.predict_images(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR and record.name == jobs.__name__]
    assert len(errors) == 1 and "Check that its scheduler and workers run" in errors[0].getMessage()
