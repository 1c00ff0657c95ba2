"""The whole journey of a student in a real Chromium, from the data to the downloaded report."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import open_page, open_tab, start_training, training_position, wait_idle
from tests.test_browser_predict import SEVEN, draw
from tests.waiting import wait_for

pytestmark = pytest.mark.browser


def wait_for_epoch(page, epoch, timeout=180):
    wait_for(lambda: page.get_by_text(re.compile(r"Epoch \d+ of \d+, batch \d+")).count()
             and training_position(page)[0] >= epoch, timeout=timeout, interval=0.5,
             what=f"the training to reach epoch {epoch}")


def test_student_journey(chromium, trained_app_url, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(trained_app_url)
        wait_idle(page)
        # Data
        expect(page.get_by_role("heading", name="Examples of every class")).to_be_visible()
        expect(page.locator('[data-testid="stImage"] img')).to_have_count(10)  # the first tab: a strip per class

        # Train: a small config, start, the live chart grows, leave and come back, stop
        open_page(page, "Train")
        start_training(page, "journey run", epochs=30, images=6000)
        expect(page.get_by_text("Training loss, batch by batch")).to_be_visible(timeout=90_000)
        wait_for_epoch(page, 2)
        open_page(page, "Data")
        open_page(page, "Train")
        wait_for_epoch(page, 3)
        expect(page.get_by_text("appear here after the first epoch")).to_have_count(0)  # the epoch curves are drawn
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"journey run.*: stopped"))).to_be_visible(timeout=60_000)

        # Predictions: draw a digit with the mouse
        open_page(page, "Predictions")
        open_tab(page, "Your own digit")
        draw(page, SEVEN)
        expect(page.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)"))).to_be_visible(timeout=60_000)

        # Evaluate: ROC chart and confusion matrix, then compare two runs
        open_page(page, "Evaluate")
        expect(page.get_by_role("heading", name="Per class")).to_be_visible(timeout=90_000)
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        open_tab(page, "Confusion matrix", timeout=90_000)
        expect(charts.filter(has_text="predicted class").first).to_be_visible()
        open_tab(page, "ROC and precision-recall", timeout=90_000)
        expect(charts.filter(has_text="ROC, one class against the rest").first).to_be_visible()
        page.get_by_text("Compare runs", exact=True).click()
        wait_idle(page)
        expect(page.get_by_role("heading", name="Settings that differ, and the results")).to_be_visible(timeout=90_000)

        # Report: write one answer, give a name, download the hand-in as HTML
        open_page(page, "Report")
        page.get_by_role("textbox", name="Your answer to A1").fill("Ten digits, 0 to 9, in grey 28x28 pictures.")
        page.get_by_role("button", name="Save answer").click()
        wait_idle(page)
        page.get_by_role("textbox", name="Your name, as your teacher knows you").fill("Jo Student")
        page.get_by_role("button", name="Save my name").click()
        wait_idle(page)
        download_button = page.get_by_role("button", name="Hand-in (HTML, ready to print)")
        expect(download_button).to_be_visible(timeout=120_000)
        with page.expect_download() as download_info:
            download_button.click()
        path = tmp_path / "report.html"
        download_info.value.save_as(path)
        text = path.read_text()
        assert text.lstrip().lower().startswith("<!doctype html")
        for number in ("A1", "A2", "A3", "A4", *(f"B{n}" for n in range(1, 10))):
            assert number in text
        assert "journey run" in text and "MNIST assignment by Jo Student" in text
        assert "Ten digits, 0 to 9, in grey 28x28 pictures." in text
    finally:
        page.screenshot(path=str(tmp_path / "journey-last.png"))
        context.close()
