"""The pages on a phone (390 px wide, touch screen) in a real Chromium: nothing wider than the screen, and a digit
drawn with a finger on the Predictions page gets a prediction."""

import contextlib
import itertools
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser_helpers import open_tab, wait_idle

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SEVEN = [(60, 60), (120, 58), (180, 56), (220, 60), (200, 110), (175, 160), (150, 210), (135, 245)]
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                ".every(chart => chart.querySelector('canvas, svg'))")
# Every element the user can see that reaches past the screen's left or right edge, unless it is inside an
# element that scrolls sideways (a wide table may scroll). Streamlit clips its main area, so the document's
# scroll width alone would miss a chart cut off at the edge.
CUT_OFF = """() => {
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth;
  const inScroller = (e) => { for (let n = e.parentElement; n; n = n.parentElement) if (scrolls(n)) return true; return false; };
  return [...document.querySelectorAll("body *")]
    .filter((e) => !e.closest('[data-testid="stSidebar"]') && e.checkVisibility({opacityProperty: true, visibilityProperty: true}))
    .map((e) => [e, e.getBoundingClientRect()])
    .filter(([e, box]) => box.width > 0 && (box.right > window.innerWidth + 1 || box.left < -1) && !inScroller(e))
    .map(([e, box]) => `${e.tagName.toLowerCase()} ${e.getAttribute("data-testid") || ""}: left ${Math.round(box.left)}, width ${Math.round(box.width)}`);
}"""


@pytest.fixture
def phone(chromium, tmp_path):
    """A page in a phone's browser: 390 px wide, touch screen, mobile viewport."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()


def open_app_page(page, url):
    """Open ``url`` and wait until the script has run and every chart is drawn."""
    page.goto(url)
    wait_idle(page)
    page.wait_for_function(CHARTS_DRAWN)


def assert_fits_the_screen(page, where):
    """Nothing on the page is wider than the screen: no sideways scrolling, nothing cut off at an edge.

    The page is given until the layout settles: a dataframe's toolbar is first placed at left -44 and moves into
    the screen once the grid has measured its width (seen frame by frame with the CPU slowed six times; a CI run
    under load checked in that moment).
    """
    fits = f"() => document.documentElement.scrollWidth === {PHONE['width']} && ({CUT_OFF})().length === 0"
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(fits, timeout=15_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"], where
    assert page.evaluate(CUT_OFF) == [], where


def test_the_data_page_fits_a_phone_with_every_class_image(phone, trained_app_url):
    open_app_page(phone, trained_app_url)
    assert_fits_the_screen(phone, "Data")
    open_tab(phone, "Classes")
    phone.wait_for_function(CHARTS_DRAWN)
    assert_fits_the_screen(phone, "Data's classes")
    class_images = phone.locator('.st-key-mean_images, .st-key-std_images').locator('img')
    expect(class_images).to_have_count(20)  # the mean and the standard deviation of each of the 10 digits
    phone.wait_for_function("() => [...document.querySelectorAll('.st-key-mean_images img, .st-key-std_images img')]"
                            ".every(image => image.complete && image.naturalWidth > 0)")
    for i in range(20):
        box = class_images.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    open_tab(phone, "Pixels")
    phone.wait_for_function(CHARTS_DRAWN)
    assert_fits_the_screen(phone, "Data's pixels")
    histograms = phone.locator('[data-testid="stVegaLiteChart"]').filter(has_text="pixel value, ")
    expect(histograms).to_have_count(2)
    for i in range(2):
        assert histograms.nth(i).bounding_box()["width"] <= PHONE["width"] - 2 * 16  # the page's side padding


def test_the_train_page_fits_a_phone(phone, trained_app_url):
    open_app_page(phone, f"{trained_app_url}/train")
    phone.get_by_role("button", name="Start training").wait_for()
    assert_fits_the_screen(phone, "Train")


def test_every_tab_of_the_predictions_page_fits_a_phone(phone, trained_app_url):
    open_app_page(phone, f"{trained_app_url}/predict")
    tabs = phone.get_by_role("tab")
    assert tabs.count() >= 4
    for i in range(tabs.count()):
        tabs.nth(i).click()
        wait_idle(phone)
        phone.wait_for_function(CHARTS_DRAWN)
        assert_fits_the_screen(phone, f"Predictions, tab {tabs.nth(i).inner_text()}")


def touch_stroke(page, canvas, points):
    """Draw one stroke with a finger through ``points`` (canvas pixels): touchStart, touchMoves, touchEnd.

    Chromium's DevTools protocol sends them as a touch screen does: trusted touch events (and the pointer
    events that go with them) at those screen positions.
    """
    box = canvas.bounding_box()
    devtools = page.context.new_cdp_session(page)

    def touch(kind, x, y):
        points = [{"x": box["x"] + x, "y": box["y"] + y}] if kind != "touchEnd" else []
        devtools.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", *points[0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for step in range(1, 5):
            touch("touchMove", x0 + (x1 - x0) * step / 4, y0 + (y1 - y0) * step / 4)
    touch("touchEnd", *points[-1])
    devtools.detach()


def test_a_digit_drawn_with_a_finger_gets_a_prediction(phone, trained_app_url):
    open_app_page(phone, f"{trained_app_url}/predict")
    open_tab(phone, "Your own digit")
    phone.get_by_text("Draw a digit or upload a picture").wait_for()
    canvas = phone.locator(".canvas-root canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert canvas.evaluate("c => getComputedStyle(c).touchAction") == "none"  # a finger draws, it does not scroll
    canvas.evaluate("""c => { window.touchesOnCanvas = [];
        for (const kind of ["touchstart", "touchmove", "touchend"])
          c.addEventListener(kind, (event) => window.touchesOnCanvas.push(event.type), {passive: true}); }""")
    touch_stroke(phone, canvas, SEVEN)
    answer = phone.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)"))
    answer.wait_for()
    touches = phone.evaluate("() => window.touchesOnCanvas")
    assert touches[0] == "touchstart" and touches[-1] == "touchend" and touches.count("touchmove") >= 20
    assert phone.get_by_text("Draw a digit or upload a picture").count() == 0
    assert_fits_the_screen(phone, "Predictions after drawing")
