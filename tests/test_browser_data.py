"""The Data page in a real Chromium."""

import pytest

pytestmark = pytest.mark.browser


def wait_idle(page):
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def test_data_page_renders_digits_and_class_balance(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="Examples of every class").wait_for()
    images = page.locator('[data-testid="stImage"] img')
    assert images.count() == 10
    for i in range(10):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for()
    balance = page.get_by_role("heading", name="Class balance").locator("xpath=ancestor::div[contains(@class,'stElementContainer') or @data-testid='stElementContainer'][1]")
    assert balance.count() == 1
    # The class-balance chart draws bars into a canvas or svg once Vega has rendered.
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, [data-testid=\"stVegaLiteChart\"] svg').length >= 5"
    )
    assert page.get_by_text("CC BY-SA 3.0").count() >= 1
    page.screenshot(path=str(tmp_path / "data-page.png"), full_page=True)
    assert (tmp_path / "data-page.png").stat().st_size > 10_000
