"""The engine with nothing configured, and with a scheduler that cannot be reached.

``streamlit run app.py`` alone trains in a worker process of an embedded Dask cluster: a child of the server in
its process group, whose workers are not the server re-running ``app.py``; the run records the worker. A scheduler
that does not answer gives a clear message on the Train page and in the CLI, within seconds.
"""

import os
import re
import subprocess
import sys
import time

import psutil
import pytest
from playwright.sync_api import expect

from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training.server import cluster_plan, engine
from tests.apptest_helpers import open_app_page
from tests.browser_helpers import open_page, start_training, wait_idle
from tests.server import ROOT, free_port, running_app

pytestmark = pytest.mark.cluster


def unreachable() -> str:
    return f"tcp://127.0.0.1:{free_port()}"  # nobody listens there


@pytest.mark.browser
def test_streamlit_run_alone_trains_in_a_worker_process_of_its_own_cluster(chromium, tmp_path, monkeypatch):
    for name in (cluster_plan.SCHEDULER_ENV, cluster_plan.WORKERS_ENV):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    with running_app(home) as url:
        port = url.rsplit(":", 1)[1]
        server = next(process for process in psutil.process_iter(["cmdline"])
                      if str(ROOT / "app.py") in (command := process.info["cmdline"] or []) and port in command)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(url)
            wait_idle(page)
            open_page(page, "Train")
            start_training(page, "embedded", epochs=1, images=1000)
            expect(page.get_by_text(re.compile(r"embedded.*: finished"))).to_be_visible(timeout=600_000)
        finally:
            page.screenshot(path=str(tmp_path / "train.png"))
            context.close()
        (listed,) = run_store.RunStore(home).list_runs()
        trained_by = listed.metrics["worker"]
        assert trained_by["worker"].startswith("tls://127.0.0.1:") and trained_by["pid"] != server.pid
        worker = psutil.Process(trained_by["pid"])
        cluster = worker.parent()
        assert "mnist_lab.training.worker.local_cluster" in " ".join(cluster.cmdline())  # its main module, not app.py
        assert cluster.parent().pid == server.pid
        assert os.getpgid(worker.pid) == os.getpgid(server.pid)  # in the app's process group
    assert psutil.wait_procs([worker, cluster], timeout=60)[1] == [], "the cluster outlived the server"


def test_the_train_page_says_when_the_scheduler_cannot_be_reached(home, monkeypatch):
    monkeypatch.setenv(cluster_plan.SCHEDULER_ENV, unreachable())
    at = open_app_page("app_pages/train.py")
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    started = time.monotonic()
    at.button(key="start_training").click().run()
    assert time.monotonic() - started < engine.CONNECT_SECONDS + 30
    assert not at.exception, at.exception
    shown = " ".join(error.value for error in at.error)
    assert "cannot be reached" in shown and f"unset {markdown_text(cluster_plan.SCHEDULER_ENV)}" in shown, shown
    assert run_store.RunStore().list_runs() == []  # nothing half-started
    assert not at.button(key="start_training").disabled


def test_the_cli_says_when_the_scheduler_cannot_be_reached(tmp_path):
    address = unreachable()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mnist_lab", "train", "--preset", "perceptron", "--scheduler", address,
         "--home", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"the training cluster at {address} cannot be reached" in result.stderr
    assert time.monotonic() - started < 120
    assert run_store.RunStore(tmp_path).list_runs() == []


def test_threads_mode_trains_in_a_worker_thread_of_this_process(home, monkeypatch):
    """The choice for hosts with little memory: the Dask worker is a thread of the server, TensorFlow loaded once."""
    from mnist_lab import training
    from mnist_lab.models import config

    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "threads")
    trainer = training.Trainer(run_store.RunStore())
    assert trainer.engine.plan.kind == cluster_plan.THREADS
    try:
        job = trainer.start("in a thread", config.ModelConfig(architecture="perceptron"),
                            config.TrainConfig(epochs=2, train_limit=600, batch_size=50))
        assert job.join(timeout=300)
        run = run_store.RunStore().get(job.run_id)
        assert run.status == run_store.FINISHED and run.saved_epochs == 2
        assert run.metrics["worker"]["pid"] == os.getpid() and run.metrics["worker"]["worker"].startswith("inproc://")
    finally:
        trainer.engine.close()
