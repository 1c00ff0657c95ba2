"""The Report page in a real Chromium at 1,400 px and on a 390 px phone: every chart and figure fits inside its
container."""

import pytest
from playwright.sync_api import expect

from mnist_lab import report
from tests.browser_helpers import open_tab, wait_idle

pytestmark = pytest.mark.browser

FIGURES = '[data-testid="stVegaLiteChart"], [data-testid="stImage"]'
# Every chart drawn (its SVG has a size) and every image loaded: only then are the boxes final.
DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(
    chart => { const svg = chart.querySelector('svg'); return svg && svg.getBoundingClientRect().width > 0; })
  && [...document.querySelectorAll('[data-testid="stImage"] img')].every(img => img.complete && img.naturalWidth > 0)"""
# A figure, the SVG, canvas or image drawn inside it, and the element container holding it, each against the box
# that holds it: a chart's SVG can be wider than the chart element, which then cuts it off.
OVERFLOWING = """(selector) => {
  const found = [];
  const check = (element, holder, figure) => {
    const right = element.getBoundingClientRect().right, limit = holder.getBoundingClientRect().right;
    if (right > limit + 0.5) found.push({figure: figure.dataset.testid, element: element.tagName,
                                         text: figure.innerText.slice(0, 60), right, limit});
  };
  for (const figure of document.querySelectorAll(selector)) {
    const container = figure.closest('[data-testid="stElementContainer"]');
    check(container, container.parentElement, figure);
    for (const part of [figure, ...figure.querySelectorAll('svg, canvas, img')]) check(part, container, figure);
  }
  return found;
}"""


@pytest.mark.parametrize("width", [1400, 390])
def test_the_reports_charts_fit_the_page(chromium, trained_app_url, tmp_path, width):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    try:
        page.goto(f"{trained_app_url}/report")
        first, last = report.QUESTIONS[0], report.QUESTIONS[-1]
        expect(page.get_by_role("heading", name=f"{first.number}. {first.title}")).to_be_visible(timeout=180_000)
        wait_idle(page, 180_000)
        open_tab(page, "All questions", timeout=180_000)
        expect(page.get_by_role("heading", name=f"{last.number}. {last.title}")).to_be_visible(timeout=180_000)
        wait_idle(page, 180_000)
        expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=60_000)
        page.wait_for_function(DRAWN)
        assert page.locator(FIGURES).count() > 5
        overflowing = page.evaluate(OVERFLOWING, FIGURES)
        assert overflowing == [], "\n".join(f"{item['element']} of {item['text'][:30]!r}: right {item['right']:.0f} > "
                                            f"{item['limit']:.0f}" for item in overflowing)
        assert page.evaluate("() => document.documentElement.scrollWidth") == width
        main = page.locator('[data-testid="stMain"]')
        assert main.evaluate("main => main.scrollWidth <= main.clientWidth")
    finally:
        page.screenshot(path=str(tmp_path / f"report-{width}.png"))
        context.close()
