"""The server killed with SIGKILL in the middle of a training: after a restart nothing is lost."""

import os
import shutil
import signal

import pytest
from playwright.sync_api import expect

from mnist_lab.runs import store as run_store
from tests.browser_helpers import open_page, start_training, wait_idle
from tests.server import free_port, start_app, wait_healthy
from tests.waiting import wait_for

pytestmark = pytest.mark.browser


def serve(home, log):
    port = free_port()
    process = start_app(home, port, log)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, log)
    return process, url


def test_sigkill_mid_training_then_restart(chromium, trained_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    earlier = {run.id: run for run in run_store.RunStore(home).list_runs()}
    process, url = serve(home, tmp_path / "first.log")
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(url)
        wait_idle(page)
        open_page(page, "Train")
        start_training(page, "killed run", epochs=60, images=6000)

        def killed_after_two_epochs():
            killed = next((run for run in run_store.RunStore(home).list_runs() if run.name == "killed run"), None)
            return killed if killed is not None and killed.saved_epochs >= 2 else None

        killed = wait_for(killed_after_two_epochs, timeout=180, interval=0.5, what="the training to save two epochs")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        context.close()

    process, url = serve(home, tmp_path / "second.log")
    try:
        store = run_store.RunStore(home)
        run = store.get(killed.id)
        assert run.status == run_store.INTERRUPTED and run.saved_epochs >= 2
        for run_id, before in earlier.items():
            assert store.get(run_id).status == before.status
        context = chromium.new_context(viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        wait_idle(page)
        expect(page.get_by_role("combobox", name="Run")).to_have_value("killed run · interrupted")
        expect(page.get_by_text(f"usable up to epoch {run.saved_epochs}")).to_be_visible()
        open_page(page, "Predictions")
        expect(page.get_by_text("Look closer at")).to_be_visible(timeout=90_000)
        page.screenshot(path=str(tmp_path / "after-restart.png"))
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
