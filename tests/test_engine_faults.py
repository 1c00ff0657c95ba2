"""The engine when things fail: the external scheduler killed during a training, the server restarted while
trainings wait. Real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, killed with SIGKILL."""

import logging
import os
import signal

import numpy as np
import pytest

from mnist_lab import access, training
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan, follow
from tests.dask_cluster import dask_cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

PERCEPTRON = config.ModelConfig(architecture="perceptron")


def test_a_scheduler_killed_mid_training_interrupts_the_run_and_keeps_its_last_epoch(home, tmp_path, monkeypatch,
                                                                                     caplog):
    monkeypatch.setattr(follow, "LOST_CONTACT_SECONDS", 5.0)  # the server waits this long for the scheduler to return
    (tmp_path / "cluster").mkdir()
    with dask_cluster(tmp_path / "cluster", workers=1) as cluster:
        monkeypatch.setenv(cluster_plan.SCHEDULER_ENV, cluster.address)
        store = run_store.RunStore()
        trainer = training.Trainer(store)
        try:
            job = trainer.start("cut off", PERCEPTRON, config.TrainConfig(epochs=200, train_limit=3000, batch_size=50))
            wait_for(lambda: store.get(job.run_id).saved_epochs >= 1 or job.done, timeout=300,
                     what="the run to save an epoch or end")
            assert not job.done, job.progress().message
            scheduler = cluster.processes[0]
            with caplog.at_level(logging.WARNING, logger=follow.__name__):
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
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR and record.name == follow.__name__]
    assert len(errors) == 1 and "Check that its scheduler and workers run" in errors[0].getMessage()


QUEUE_THEN_DIE = """
import sys, time
from mnist_lab import access, training
from mnist_lab.models import config
from mnist_lab.runs import store
trainer = training.Trainer(store.RunStore(sys.argv[1]))
perceptron = config.ModelConfig(architecture="perceptron")
running = trainer.start("long", perceptron, config.TrainConfig(epochs=200, train_limit=3000, batch_size=50),
                        user=access.User("browser:ann", "Ann"))
for student in ("Bob", "Cy"):
    trainer.start(f"{student}'s", perceptron, config.TrainConfig(epochs=1, train_limit=600, batch_size=50),
                  user=access.User(f"browser:{student.lower()}", student))
while running.waiting or not running.progress().batch:
    time.sleep(0.05)
print("queued", flush=True)
if sys.argv[2] == "killed":
    time.sleep(600)
"""  # a server with one training running and two waiting, killed with SIGKILL or ending (Ctrl-C, SIGTERM)


@pytest.mark.parametrize("how", ["killed", "exits"])
def test_trainings_waiting_when_the_server_ends_are_queued_again_in_order_on_restart(home, monkeypatch, how):
    import subprocess
    import sys

    from tests.server import ROOT

    monkeypatch.setenv(cluster_plan.WORKERS_ENV, cluster_plan.THREADS)  # one slot: one training runs, the others wait
    server = subprocess.Popen([sys.executable, "-c", QUEUE_THEN_DIE, str(home), how], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout.readline().strip() == "queued"
    finally:
        if how == "killed":
            server.kill()
        server.wait(timeout=120)
    everyone = run_store.RunStore(home, user=access.User("teacher", "T", teacher=True))
    runs = {run.name: run for run in everyone.list_runs(everyone=True)}
    if how == "killed":
        assert runs["long"].status == run_store.INTERRUPTED and "ended unexpectedly" in runs["long"].message
    else:  # ended on the way out (in a worker thread of the ending process; see the report of issue 24)
        assert runs["long"].status != run_store.RUNNING
    long_status = runs["long"].status
    for name in ("Bob's", "Cy's"):
        assert runs[name].status == run_store.INTERRUPTED and runs[name].message == run_store.NOT_STARTED_MESSAGE

    trainer = training.Trainer(run_store.RunStore(home))  # the restarted server
    try:
        trainer.warm_up()
        again = {job.name: job for job in trainer.jobs_of(access.User("browser:bob", "Bob"))
                 + trainer.jobs_of(access.User("browser:cy", "Cy"))}
        assert sorted(again) == ["Bob's", "Cy's"]
        assert all(job.join(timeout=300) for job in again.values())
    finally:
        trainer.engine.close()
    assert again["Bob's"].started_at < again["Cy's"].started_at  # in the order they were first queued
    for name, job in again.items():
        run = everyone.get(job.run_id)
        assert run.id == runs[name].id and run.status == run_store.FINISHED, run.message
        assert run.owner == runs[name].owner == f"browser:{name[:-2].lower()}" and run.saved_epochs == 1
    assert everyone.get(runs["long"].id).status == long_status  # it had trained: not started again


def test_a_worker_grown_since_its_first_training_is_restarted_between_trainings(home, monkeypatch):
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "1")
    monkeypatch.setenv("MNIST_LAB_WORKER_RECYCLE_MB", "-10000")  # always "grown": restarted after each but the 1st
    trainer = training.Trainer(run_store.RunStore(home))
    # The engine is shared by the process: one an earlier test left running has workers started without this test's
    # recycle setting (in the whole suite the three trainings ran on such a worker). Start its workers afresh.
    trainer.engine.close()
    small = config.TrainConfig(epochs=1, train_limit=300, batch_size=50)
    try:
        done = []
        for number in range(3):
            job = trainer.start(f"run {number + 1}", PERCEPTRON, small)
            assert job.join(timeout=300) and job.progress().status == run_store.FINISHED, job.progress().message
            done.append(job)
    finally:
        trainer.engine.close()
    pids = [job.worker["pid"] for job in done]
    assert pids[0] == pids[1] != pids[2]  # the 2nd grew past its level after the 1st: the 3rd ran on a new process
    assert all(job.worker_memory_mb > 100 for job in done)


def test_the_embedded_cluster_replaces_a_worker_the_scheduler_removed(home, monkeypatch):
    """A worker whose restart timed out is removed by the scheduler; the embedded cluster starts another, so the
    next training runs instead of waiting forever for a free worker (seen in a whole-suite run)."""
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "1")
    trainer = training.Trainer(run_store.RunStore(home))
    trainer.engine.close()  # its own cluster, started with this test's one worker
    try:
        client = trainer.engine.client()
        (removed,) = wait_for(lambda: list(client.scheduler_info()["workers"]), timeout=300, what="the first worker")

        async def remove(dask_scheduler):
            await dask_scheduler.remove_worker(address=removed, stimulus_id="test-removed")

        client.run_on_scheduler(remove)
        job = trainer.start("after the removal", PERCEPTRON, config.TrainConfig(epochs=1, train_limit=300,
                                                                               batch_size=50))
        assert job.join(timeout=300) and job.progress().status == run_store.FINISHED, job.progress().message
        assert job.worker["worker"] != removed
    finally:
        trainer.engine.close()


def test_a_worker_killed_on_a_cluster_that_runs_tasks_again_gives_a_plain_message(home, tmp_path, monkeypatch):
    """With ``allowed-failures`` above 0, the scheduler runs the task again on a new worker, which answers at once
    that it was retried: the run says what happened in words, not which worker address ran what again."""
    (tmp_path / "cluster").mkdir()
    with dask_cluster(tmp_path / "cluster", workers=1, allowed_failures=3) as cluster:
        monkeypatch.setenv(cluster_plan.SCHEDULER_ENV, cluster.address)
        store = run_store.RunStore()
        trainer = training.Trainer(store)
        try:
            job = trainer.start("killed", PERCEPTRON, config.TrainConfig(epochs=200, train_limit=3000, batch_size=50))
            wait_for(lambda: store.get(job.run_id).saved_epochs >= 1 or job.done, timeout=300,
                     what="the run to save an epoch or end")
            os.kill(job.worker["pid"], signal.SIGKILL)
            assert job.join(timeout=300)
        finally:
            trainer.engine.close()
    run = store.get(job.run_id)
    assert run.status == run_store.INTERRUPTED, run.message
    assert run.message.startswith("The training process stopped "), run.message
    assert f"(it was killed or ran out of memory); epoch {run.saved_epochs} is kept" in run.message
    assert "worker" not in run.message and "127.0.0.1" not in run.message
