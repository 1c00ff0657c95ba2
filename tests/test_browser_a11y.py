"""axe-core (WCAG 2.1 AA rules) over every page in a real Chromium at 1,400 and 390 px: as a new visitor sees them,
while a training runs, and after it on every tab of Data, Predictions, Evaluate and the Report; a comparison of two
runs and the exported HTML hand-in; and a digit drawn with the keyboard alone (arrow keys and Space), read right.

Two app servers serve every check: one on a fresh home for the new visitor and one tiny training, one on the two
small trained runs of ``trained_home`` for the comparison, the hand-in and the keyboard. The checks are cheap (about
a second a page); starting servers and training are not.
"""

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import (
    assert_accessible,
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


START = (14, 14)  # the grid's cursor starts in its middle
ONE = [(row, 14) for row in range(5, 23)]
# A 7: a bar along row 6, then a slanted stroke down to the left, each cell touching the one before.
SEVEN = [(6, col) for col in range(8, 21)] + [(row, 20 - (row - 6) * 7 // 16) for row in range(7, 23)]


def press(page, key, times=1):
    for _ in range(times):
        page.keyboard.press(key)


def draw(page, cells, cursor):
    """Move the cursor cell by cell with the arrow keys and paint each of ``cells`` with Space; return the cursor."""
    row, col = cursor
    for target_row, target_col in cells:
        press(page, "ArrowDown" if target_row > row else "ArrowUp", abs(target_row - row))
        press(page, "ArrowRight" if target_col > col else "ArrowLeft", abs(target_col - col))
        row, col = target_row, target_col
        page.keyboard.press(" ")
    return row, col


@pytest.fixture
def keyboard_page(chromium, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()


def test_a_one_and_a_seven_drawn_by_keys_alone_are_read_right(keyboard_page, trained_app_url, tmp_path):
    page = keyboard_page
    page.goto(f"{trained_app_url}/predict")
    wait_idle(page)
    open_tab(page, "Your own digit")
    keyboard_input = page.get_by_role("radio", name="Keyboard")
    keyboard_input.focus()
    page.keyboard.press("Space")
    expect(keyboard_input).to_have_attribute("aria-checked", "true")
    wait_idle(page)
    grid = page.locator(".kg-grid")
    grid.focus()
    expect(grid).to_be_focused()
    cursor = draw(page, ONE, START)
    said = page.locator(".kg-said")
    expect(said).to_have_text(re.compile(r"^Drawn: a stroke from row 5 to row 22 in column 14 \(18 cells\)\. "
                                         r"The model reads 1 \(\d+\.\d%\)\.$"), timeout=60_000)
    expect(page.get_by_text(re.compile(r"The model reads 1 \(\d+\.\d%\); next best"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "one.png"))
    assert_accessible(page, "Predictions, keyboard grid with a 1")

    grid.focus()
    page.keyboard.press("Delete")
    expect(said).to_have_text("Nothing drawn yet.", timeout=60_000)
    draw(page, SEVEN, cursor)
    expect(said).to_have_text(re.compile(r"^Drawn: a shape of 29 cells from row 6 to row 22 and column 8 to column 20 "
                                         r"\(29 cells\)\. The model reads 7 \(\d+\.\d%\)\.$"), timeout=60_000)
    page.screenshot(path=str(tmp_path / "seven.png"))


def test_a_comparison_and_the_html_hand_in(chromium, trained_app_url, tmp_path):
    findings = Findings()
    for size in SIZES:
        context, page = browser_page(chromium, size)
        visit(page, trained_app_url, "Evaluate")
        compare = page.get_by_role("radio", name="Compare runs")
        compare.focus()
        page.keyboard.press("Space")
        expect(compare).to_have_attribute("aria-checked", "true")
        wait_idle(page)
        expect(page.get_by_role("heading", name="Training curves")).to_be_visible()
        findings.check(page, f"Evaluate, two runs compared ({size})")
        context.close()
    context = chromium.new_context(viewport=SIZES["1400 px"], accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    visit(page, trained_app_url, "Report")
    page.get_by_role("textbox", name="Your name, as your teacher knows you").fill("A. Student")
    page.get_by_role("button", name="Save my name").click()
    wait_idle(page)
    export = page.get_by_role("button", name="Hand-in (HTML, ready to print)")
    expect(export).to_be_visible()
    with page.expect_download() as download:
        export.click()
    handin = tmp_path / "handin.html"
    download.value.save_as(handin)
    page.goto(handin.as_uri())
    findings.check(page, "the exported HTML hand-in")
    context.close()
    findings.assert_none()
