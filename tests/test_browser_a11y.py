"""axe-core (WCAG 2.1 AA rules) over every page in a real Chromium at 1,400 and 390 px: as a new visitor sees them,
while a training runs, and after it on every tab of Data, Predictions, Evaluate and the Report.

One app server and one tiny training serve every check: the checks are cheap (about a second a page), starting
servers and training are not.
"""

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import (
    axe_violations,
    describe_violations,
    open_tab,
    start_training,
    wait_idle,
)

pytestmark = pytest.mark.browser

SIZES = {"1400 px": {"width": 1400, "height": 1000}, "390 px": {"width": 390, "height": 844}}
PAGES = {"Data": "", "Train": "train", "Predictions": "predict", "Evaluate": "evaluate", "Report": "report"}
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                ".every(chart => chart.querySelector('canvas, svg'))")


class Findings:
    """The violations of every state checked, so that one run reports them all (page by page) before failing."""

    def __init__(self):
        self.found: dict[str, list[dict]] = {}

    def check(self, page, where: str) -> None:
        page.wait_for_function(CHARTS_DRAWN)
        if shots := os.environ.get("A11Y_SHOTS"):  # a folder for a screenshot of every state checked, to look at
            page.screenshot(path=str(Path(shots) / (re.sub(r"[^\w]+", "-", where).strip("-") + ".png")), full_page=True)
        violations = axe_violations(page)
        if violations:
            self.found[where] = violations

    def assert_none(self) -> None:
        if report := os.environ.get("AXE_REPORT"):  # a JSON file collecting the figures: state -> rule -> elements
            path = Path(report)
            found = json.loads(path.read_text()) if path.exists() else {}
            found.update({where: {v["id"]: len(v["nodes"]) for v in violations} for where, violations in self.found.items()})
            path.write_text(json.dumps(found, indent=1))
        assert not self.found, "\n\n".join(f"axe-core on {where}:\n{describe_violations(violations)}"
                                           for where, violations in self.found.items())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One app on a fresh run home for the whole module: new visitor first, then one tiny training."""
    from tests.server import running_app

    with running_app(tmp_path_factory.mktemp("a11y-home")) as url:
        yield url


def browser_page(chromium, size):
    context = chromium.new_context(viewport=SIZES[size], device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def visit(page, url, title):
    page.goto(f"{url}/{PAGES[title]}")
    wait_idle(page)


def check_every_tab(page, findings, where):
    """Check the page, then each of its tabs (the open one first, as the visitor met it)."""
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    findings.check(page, where)
    for name in names[1:] if names else []:
        open_tab(page, name)
        findings.check(page, f"{where}, tab {name}")


@pytest.mark.parametrize("size", SIZES)
def test_every_page_as_a_new_visitor_sees_it(chromium, lab, size):
    findings = Findings()
    context, page = browser_page(chromium, size)
    for title in PAGES:
        visit(page, lab, title)
        check_every_tab(page, findings, f"{title} (no run yet, {size})")
    context.close()
    findings.assert_none()


def test_a_training_and_every_tab_after_it(chromium, lab):
    findings = Findings()
    context, page = browser_page(chromium, "1400 px")
    visit(page, lab, "Train")
    start_training(page, "axe run", epochs=1, images=1000)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    findings.check(page, "Train (a training running, 1400 px)")
    expect(page.get_by_text(re.compile(r"axe run.*: finished"))).to_be_visible(timeout=180_000)
    wait_idle(page)
    context.close()
    for size in SIZES:
        context, page = browser_page(chromium, size)
        for title in PAGES:
            visit(page, lab, title)
            check_every_tab(page, findings, f"{title} (one run, {size})")
        context.close()
    findings.assert_none()
