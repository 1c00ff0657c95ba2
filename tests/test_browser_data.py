"""The Data page in a real Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import wait_idle

pytestmark = pytest.mark.browser


def test_data_page_renders_digits_and_class_balance(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="Examples of every class").wait_for()
    images = page.locator('[data-testid="stImage"] img')
    expect(images).to_have_count(10)
    for i in range(10):
        images.nth(i).evaluate("img => img.decode()")  # resolves once the image is loaded and decodable
        assert images.nth(i).evaluate("img => img.naturalWidth > 0")
    balance = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="split").first
    expect(balance.locator("g.mark-rect.role-mark path")).to_have_count(20)  # 10 classes x train and test
    assert page.get_by_text("CC BY-SA 3.0").count() >= 1
    page.screenshot(path=str(tmp_path / "data-page.png"), full_page=True)
    assert (tmp_path / "data-page.png").stat().st_size > 10_000
