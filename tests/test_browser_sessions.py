"""Two students of a shared lab (no login) in two browsers at once: one trains, the other explores, predicts and
evaluates its own runs, and queues behind it; nothing crosses, a reload keeps each one's runs, and a URL copied
from one to the other gives nothing."""

import re
import shutil
import sqlite3

import pytest
from playwright.sync_api import expect

from mnist_lab import access
from tests.browser_helpers import open_page, start_training, wait_idle
from tests.server import running_app
from ui import identity

pytestmark = pytest.mark.browser

#: The cookie of the viewer's browser, which already has the trained runs.
VIEWER_SECRET = "v" * 43


@pytest.fixture(scope="module")
def one_slot_app_url(trained_home, tmp_path_factory):
    """A shared lab on a copy of ``trained_home``, whose runs are the viewer's browser's, with one worker slot."""
    home = tmp_path_factory.mktemp("one-slot") / "home"
    shutil.copytree(trained_home, home)
    viewer = access.browser_user(VIEWER_SECRET)
    with sqlite3.connect(home / "runs.sqlite") as db:
        db.execute("UPDATE runs SET student = ?, student_name = ?", (viewer.id, viewer.name))
    db.close()
    with running_app(home, env={"MNIST_LAB_WORKERS": "1", access.MODE_ENV: access.SHARED}) as url:
        yield url


def new_session(chromium, url, secret=None):
    """A browser of its own on ``url``; with ``secret``, one that has been here before (its cookie)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1200})
    if secret is not None:
        context.add_cookies([{"name": identity.COOKIE, "value": secret, "url": url}])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_idle(page)
    return context, page


def pick_run(page, label):
    wait_idle(page)  # a rerun in progress would close the list as it opens
    picker = page.get_by_role("combobox", name="Run")
    picker.click()
    picker.fill(label)
    picker.press("Enter")
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Run")).to_have_value(label)


def test_one_session_trains_while_another_works(chromium, one_slot_app_url, tmp_path):
    trainer_context, trainer = new_session(chromium, one_slot_app_url)
    viewer_context, viewer = new_session(chromium, one_slot_app_url, VIEWER_SECRET)
    try:
        open_page(trainer, "Train")
        start_training(trainer, "session A run", epochs=40, images=20000)
        expect(trainer.get_by_role("button", name="Stop")).to_be_visible(timeout=60_000)

        # The other session explores the data and uses a finished run while A trains.
        open_page(viewer, "Data")
        expect(viewer.get_by_role("heading", name="Examples of every class")).to_be_visible(timeout=60_000)
        pick_run(viewer, "small fast · finished")
        open_page(viewer, "Predictions")
        expect(viewer.get_by_text(re.compile("Look closer at"))).to_be_visible(timeout=90_000)
        open_page(viewer, "Evaluate")
        expect(viewer.get_by_role("heading", name="Per class")).to_be_visible(timeout=90_000)

        # It wants to train too: with one worker slot, its training waits behind A's with its place shown, and it
        # gets no Stop button for someone else's training; it cancels while waiting.
        open_page(viewer, "Train")
        expect(viewer.get_by_text("Someone else started a training on this server")).to_be_visible(timeout=60_000)
        assert viewer.get_by_role("button", name="Stop").count() == 0
        viewer.get_by_role("button", name="Start training").click()
        expect(viewer.get_by_text(re.compile("position 1 in the queue"))).to_be_visible(timeout=60_000)
        expect(viewer.get_by_role("button", name="Start training")).to_be_disabled()
        viewer.get_by_role("button", name="Cancel").click()
        expect(viewer.get_by_role("button", name="Start training")).to_be_enabled(timeout=60_000)
        expect(viewer.get_by_role("combobox", name="Run")).to_have_value("small fast · finished")

        # Nothing crossed: each session keeps its own active run and its own widgets.
        expect(viewer.get_by_role("combobox", name="Run")).to_have_value("small fast · finished")
        expect(trainer.get_by_role("combobox", name="Run")).to_have_value(re.compile("session A run · running"))
        expect(viewer.get_by_label("Epochs", exact=True)).not_to_have_value("40")

        trainer.get_by_role("button", name="Stop").click()
        expect(trainer.get_by_text(re.compile(r"session A run.*: stopped"))).to_be_visible(timeout=60_000)
        viewer.reload()
        wait_idle(viewer)
        open_page(viewer, "Train")
        expect(viewer.get_by_role("button", name="Start training")).to_be_enabled(timeout=60_000)

        # A reload keeps each student's runs: the trainer's browser got its cookie on its first visit.
        trainer.reload()
        wait_idle(trainer)
        expect(trainer.get_by_role("combobox", name="Run")).to_have_value("session A run · stopped")
        # The trainer's URL, sent to the viewer, gives the viewer nothing of the trainer's.
        assert "run=" in trainer.url
        viewer.goto(trainer.url)
        wait_idle(viewer)
        expect(viewer.get_by_role("combobox", name="Run")).not_to_have_value(re.compile("session A run"))
        for page_name in ("Train", "Evaluate", "Report"):
            open_page(viewer, page_name)
            assert "session A run" not in viewer.content(), page_name
    finally:
        trainer.screenshot(path=str(tmp_path / "trainer.png"))
        viewer.screenshot(path=str(tmp_path / "viewer.png"))
        trainer_context.close()
        viewer_context.close()
