"""The Evaluate page in a real Chromium: the confusion matrix and the ROC chart render; a clicked cell shows its images."""


import pytest

from tests.browser_helpers import open_tab

pytestmark = pytest.mark.browser

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture
def browser_page(chromium, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 3000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()


def settle(page):
    page.wait_for_timeout(500)
    page.wait_for_selector(IDLE, timeout=90_000)


def test_confusion_matrix_and_roc_render_and_a_cell_can_be_clicked(browser_page, trained_app_url, tmp_path):
    page = browser_page
    page.goto(trained_app_url)
    settle(page)
    page.get_by_role("link", name="Evaluate").click()
    page.get_by_role("heading", name="Per class").wait_for()
    settle(page)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    open_tab(page, "ROC and precision-recall", timeout=90_000)
    roc = charts.filter(has_text="ROC, one class against the rest")
    lines = roc.locator("g.mark-line.role-mark path")
    lines.first.wait_for()
    assert lines.count() >= 12  # ten classes, the two averages and the chance diagonal
    assert roc.get_by_text("macro-average", exact=False).count() == 1
    open_tab(page, "Confusion matrix", timeout=90_000)
    page.get_by_role("heading", name="Confusion matrix").wait_for()
    matrix = charts.filter(has_text="predicted class")
    cells = matrix.locator("g.mark-rect.role-mark").first.locator("path")
    cells.nth(99).wait_for()
    assert cells.count() == 100

    # A diagonal cell first (never the most frequent mistake chosen at the start), then a mistake on the redrawn chart.
    for true, predicted in ((3, 3), (4, 9)):
        box = cells.nth(true * 10 + predicted).bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text(f"test images of class {true} read as {predicted}", exact=False).wait_for()
        settle(page)
    assert page.locator('[data-testid="stImage"] img').first.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(tmp_path / "evaluate-page.png"))
    assert (tmp_path / "evaluate-page.png").stat().st_size > 10_000
