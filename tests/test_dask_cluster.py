"""Training on a real multi-process Dask cluster that the tests start: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, over TLS. The CLI and the app (AppTest) train and sweep on it; the run store, written by this
process only, records which worker trained each run; Stop reaches the worker within one batch; a worker killed
with SIGKILL leaves its run ``interrupted`` with its saved epochs, and the next training runs on another worker."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab import access, training
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training import sweeps
from mnist_lab.training.server import cluster_plan, engine
from tests.dask_cluster import dask_cluster
from tests.server import ROOT
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

PERCEPTRON = config.ModelConfig(architecture="perceptron")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("dask-cluster")) as running:
        yield running
        for used in engine.engines():  # this process's client of it, before the cluster goes away
            if used.plan.address == running.address:
                used.close()


@pytest.fixture
def on_cluster(cluster, home, monkeypatch):
    """This process (the server) trains on the test cluster."""
    monkeypatch.setenv(cluster_plan.SCHEDULER_ENV, cluster.address)
    return cluster


def test_the_cluster_speaks_tls_and_refuses_a_client_without_its_certificate(cluster):
    from distributed import Client

    assert cluster.address.startswith("tls://")
    assert all(address.startswith("tls://") for address in cluster.workers())
    with pytest.raises((OSError, TimeoutError, TypeError, ValueError)):
        Client(cluster.address, timeout=5, set_as_default=False)
    for path in cluster.tls.values():
        assert os.stat(path).st_mode & 0o077 == 0  # the key and certificates are readable by this user only


def cli(*args, home):
    return subprocess.run([sys.executable, "-m", "mnist_lab", *args, "--home", str(home)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_the_cli_trains_and_sweeps_on_the_cluster(cluster, tmp_path):
    trained = cli("train", "--preset", "perceptron", "--epochs", "2", "--limit", "600", "--jsonl",
                  "--scheduler", cluster.address, home=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    lines = [json.loads(line) for line in trained.stdout.splitlines() if line.startswith("{")]
    assert [row["epoch"] for row in lines[:-1]] == [1, 2] and lines[-1]["status"] == "finished"
    store = run_store.RunStore(tmp_path)
    run = store.get(lines[-1]["run_id"])
    assert run.saved_epochs == 2 and run.metrics["worker"]["worker"] in cluster.workers()

    swept = cli("sweep", "--preset", "perceptron", "--vary", "learning_rate=1e-3:1e-1:2", "--epochs", "1",
                "--limit", "600", "--jsonl", "--scheduler", cluster.address, home=tmp_path)
    assert swept.returncode == 0, swept.stderr[-3000:]
    lines = [json.loads(line) for line in swept.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["runs"] == 2 and cluster.address in lines[0]["engine"]
    ended = [line for line in lines if "status" in line]
    assert [line["status"] for line in ended] == ["finished", "finished"]
    (found,) = sweeps.sweeps(store)
    assert found.tag == lines[0]["sweep"] and found.settings == ("learning_rate",)
    assert [run.train_config["learning_rate"] for run in found.runs] == [0.001, 0.1]
    assert all(0.0 <= run.metrics["test_accuracy"] <= 1.0 for run in found.runs)  # measured on the worker
    best = max(found.runs, key=lambda run: run.metrics["test_accuracy"])
    assert lines[-1]["best_run_id"] == found.best().id == best.id


def test_the_app_trains_on_the_cluster_and_stop_reaches_the_worker_within_a_batch(on_cluster):
    from ui import resources

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/train.py").run()
    host_and_port = on_cluster.address.split("//")[1]
    captions = " ".join(caption.value for caption in at.caption)
    assert f"the Dask scheduler at tls:\u200b//{host_and_port}" in captions and "over TLS" in captions, captions
    at.selectbox(key="train_architecture").set_value("keras-classic").run()
    at.number_input(key="train_epochs").set_value(5)
    at.number_input(key="train_train_limit").set_value(3000)
    at.select_slider(key="train_batch_size").set_value(32)
    at.text_input(key="train_run_name").set_value("on the cluster").run()
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    job = resources.trainer().job(at.session_state["training_run"])
    wait_for(lambda: job.progress().batch >= 3 or job.done, timeout=300, what="the training to reach batch 3 or end")
    at.run()
    at.button(key="stop_training").click().run()
    assert job.join(timeout=120)
    progress = job.progress()
    assert progress.status == run_store.STOPPED, progress.message
    reached_epoch, reached_batch = job.stop_reached  # where the worker was when the stop reached it
    assert progress.epoch == reached_epoch and progress.batch in (reached_batch, reached_batch + 1)
    run = run_store.RunStore().get(job.run_id)
    assert run.status == run_store.STOPPED and run.has_model
    assert run.metrics["worker"]["worker"] in on_cluster.workers() and run.metrics["worker"]["pid"] != os.getpid()
    at.run()
    assert not at.exception and at.sidebar.selectbox(key="sidebar_run_picker").value == job.run_id


def test_a_sweep_from_the_app_trains_on_both_workers_and_shows_as_one_result(on_cluster):
    from ui import resources

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/train.py").run()
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    at.number_input(key="train_epochs").set_value(2)
    at.number_input(key="train_train_limit").set_value(2000).run()
    at.multiselect(key="sweep_settings").set_value(["learning_rate"]).run()
    at.number_input(key="sweep_learning_rate_low").set_value(0.001)
    at.number_input(key="sweep_learning_rate_high").set_value(0.1)
    at.slider(key="sweep_learning_rate_count").set_value(3).run()
    at.button(key="sweep_start").click().run()
    assert not at.exception, at.exception
    jobs = [job for job in resources.trainer().jobs_of(access.PERSONAL)
            if job.experiment == at.session_state["training_sweep"]]
    assert len(jobs) == 3
    assert all(job.join(timeout=600) for job in jobs)
    store = run_store.RunStore()
    runs = [store.get(job.run_id) for job in jobs]
    assert [run.status for run in runs] == ["finished"] * 3
    assert len({run.metrics["worker"]["worker"] for run in runs}) == 2  # both workers took runs
    at.run()
    assert any("The sweep has ended" in success.value for success in at.success)
    at.switch_page("app_pages/evaluate.py").run()
    at.segmented_control(key="evaluate_view").set_value("Sweep").run()
    assert not at.exception, at.exception
    best = max(runs, key=lambda run: run.metrics["test_accuracy"])
    assert any(f"**{best.name}**" in success.value for success in at.success)
    assert len(at.get("vega_lite_chart")) == 2
    at.button(key="evaluate_sweep_best").click().run()
    assert at.session_state["active_run"] == best.id and at.segmented_control(key="evaluate_view").value == "One run"


def test_a_worker_killed_mid_training_interrupts_its_run_and_the_next_runs_elsewhere(on_cluster):
    store = run_store.RunStore()
    trainer = training.Trainer(store)
    job = trainer.start("killed", PERCEPTRON, config.TrainConfig(epochs=200, train_limit=3000, batch_size=50))
    wait_for(lambda: store.get(job.run_id).saved_epochs >= 2 or job.done, timeout=300,
             what="the run to save two epochs or end")
    killed = job.worker
    os.kill(killed["pid"], signal.SIGKILL)
    assert job.join(timeout=120)
    run = store.get(job.run_id)
    assert run.status == run_store.INTERRUPTED, run.message
    assert run.message.startswith("The training process stopped"), run.message
    assert f"(it was killed or ran out of memory); epoch {run.saved_epochs} is kept" in run.message, run.message
    assert "worker" not in run.message and "127.0.0.1" not in run.message
    assert run.saved_epochs >= 2
    assert inference.RunModel.load(store, run).predict_images(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)

    following = trainer.start("next", PERCEPTRON, config.TrainConfig(epochs=1, train_limit=600, batch_size=50))
    assert following.join(timeout=300)
    assert store.get(following.run_id).status == run_store.FINISHED
    assert following.worker["worker"] != killed["worker"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)  # the server goes on serving
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
