"""The app on PostgreSQL in a real Chromium: a student of a shared lab trains and evaluates a run; the server is
stopped, its home deleted, and a server with a new, empty home on the same database gives the student everything
back (the run in the picker, its evaluation, its predictions), while another browser, even with a forged cookie
and the student's URL, gets none of it."""

import re
import shutil

import pytest
from playwright.sync_api import expect

from mnist_lab import access
from mnist_lab.runs.database import DATABASE_ENV
from tests.browser_helpers import open_page, open_tab, start_training, wait_idle
from tests.server import free_port, running_app
from tests.test_browser_predict import SEVEN, draw
from ui import identity

pytestmark = pytest.mark.browser

RUN = "pg run"
#: A cookie of the form the app accepts, which no browser of this test was given: a hostile student's guess.
FORGED_SECRET = "f" * 43


def new_browser(chromium, secret=None):
    """A browser of its own; with ``secret``, one that sends it as its identity cookie."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1200})
    if secret is not None:
        context.add_cookies([{"name": identity.COOKIE, "value": secret, "domain": "127.0.0.1", "path": "/"}])
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def test_a_restart_with_an_empty_home_keeps_everything_on_postgres(chromium, postgres_url, tmp_path):
    env = {DATABASE_ENV: postgres_url, access.MODE_ENV: access.SHARED}
    port = free_port()
    context, page = new_browser(chromium)
    hostile_context, hostile = new_browser(chromium, FORGED_SECRET)
    try:
        first_home = tmp_path / "first home"
        with running_app(first_home, env, port=port) as url:
            page.goto(url)
            wait_idle(page)
            open_page(page, "Train")
            start_training(page, RUN, epochs=1, images=3000)
            expect(page.get_by_role("combobox", name="Run")).to_have_value(f"{RUN} · finished", timeout=600_000)
            open_page(page, "Evaluate")
            expect(page.get_by_role("heading", name="Per class")).to_be_visible(timeout=180_000)
            accuracy = shown_test_accuracy(page)
            run_url = page.url
        assert "run=" in run_url
        assert any(cookie["name"] == identity.COOKIE for cookie in context.cookies())
        shutil.rmtree(first_home)

        with running_app(tmp_path / "second home", env, port=port) as url:
            page.goto(url)
            wait_idle(page)
            expect(page.get_by_role("combobox", name="Run")).to_have_value(f"{RUN} · finished")
            open_page(page, "Evaluate")
            expect(page.get_by_role("heading", name="Per class")).to_be_visible(timeout=180_000)
            assert shown_test_accuracy(page) == accuracy
            open_page(page, "Predictions")
            open_tab(page, "Your own digit")
            draw(page, SEVEN)
            expect(page.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)"))).to_be_visible(timeout=120_000)

            # Another browser with a forged identity cookie and the student's URL, run id and all, gets nothing.
            hostile.goto(run_url)
            wait_idle(hostile)
            expect(hostile.get_by_text("No run yet: train one on the Train page")).to_be_visible()
            expect(hostile.get_by_role("combobox", name="Run")).to_have_count(0)
            assert RUN not in hostile.content()
            assert accuracy not in hostile.content()
    finally:
        page.screenshot(path=str(tmp_path / "student.png"))
        hostile.screenshot(path=str(tmp_path / "hostile.png"))
        context.close()
        hostile_context.close()


def shown_test_accuracy(page) -> str:
    """The Evaluate page's headline test accuracy, as shown."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    return metric.get_by_test_id("stMetricValue").inner_text()
