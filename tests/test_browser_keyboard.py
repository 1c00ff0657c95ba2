"""Drawing a digit with the keyboard alone in a real Chromium: the 28x28 grid of the Predictions page, arrow keys
and Space only (no mouse), reads a 1 and a 7 right, and says in words what was drawn."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import assert_accessible, open_tab, wait_idle

pytestmark = pytest.mark.browser

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
