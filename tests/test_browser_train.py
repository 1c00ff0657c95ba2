"""The Train page in a real Chromium: live curves, page switches while training, Stop."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import open_page, start_training, training_position, wait_idle
from tests.waiting import wait_for

pytestmark = pytest.mark.browser


def wait_until_further(page, than, timeout=90):
    """Wait until the training shown has moved past the (epoch, batch) ``than``; return where it is."""
    def further():
        if page.get_by_text(re.compile(r"Epoch \d+ of \d+, batch [1-9]")).count():
            position = training_position(page)
            return position if position > than else None
        return None

    return wait_for(further, timeout=timeout, interval=0.5, what=f"the training to move past {than}")


def test_train_live_switch_pages_and_stop(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    open_page(page, "Train")
    start_training(page, "browser run", epochs=30, images=20000)

    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"Epoch \d+ of 30, batch"))).to_be_visible()
    first = wait_until_further(page, (0, 0))
    live_chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="batch by batch").first
    expect(live_chart).to_be_visible()
    later = wait_until_further(page, first)  # the curve keeps growing

    open_page(page, "Data")
    expect(page.get_by_role("heading", name="Examples of every class")).to_be_visible(timeout=30_000)
    open_page(page, "Train")
    expect(stop).to_be_visible(timeout=30_000)
    after_switch = wait_until_further(page, later)  # the same training went on, it did not restart
    assert after_switch > later

    page.reload()  # a new browser session of the same (personal) user: the training goes on, with its Stop button
    wait_idle(page)
    expect(stop).to_be_visible(timeout=60_000)
    wait_until_further(page, after_switch)
    assert page.get_by_text("Training 'browser run'").count() + page.get_by_text("Training browser run").count() == 1

    stop.click()
    expect(page.get_by_text(re.compile(r"browser run.*: stopped"))).to_be_visible(timeout=60_000)
    expect(page.get_by_role("combobox", name="Run")).to_have_value("browser run · stopped")
    expect(page.get_by_role("button", name="Start training")).to_be_enabled(timeout=30_000)
