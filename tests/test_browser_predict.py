"""The Predictions page in a real Chromium: draw a digit with the mouse and see the model's answer."""

import io
import re

import pytest
from PIL import Image, ImageDraw

from tests.browser_helpers import open_tab

pytestmark = pytest.mark.browser

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SEVEN = [(60, 60), (120, 58), (180, 56), (220, 60), (200, 110), (175, 160), (150, 210), (135, 245)]


@pytest.fixture
def predictions_page(chromium, trained_app_url, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(trained_app_url)
    page.wait_for_selector(IDLE)
    page.get_by_role("link", name="Predictions").click()
    page.get_by_text("Look closer at").wait_for()
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def draw(page, points):
    """Drag the mouse along ``points`` (canvas pixels) over the drawing canvas: one stroke."""
    box = page.locator(".canvas-root canvas").last.bounding_box()
    assert box["width"] == 280 and box["height"] == 280
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()


def test_drawing_a_digit_shows_what_the_model_sees_and_its_prediction(predictions_page, tmp_path):
    page = predictions_page
    open_tab(page, "Your own digit")
    page.get_by_text("Draw a digit or upload a picture").wait_for()
    draw(page, SEVEN)
    answer = page.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)"))
    answer.wait_for()
    page.wait_for_selector(IDLE)
    assert page.get_by_text("Draw a digit or upload a picture").count() == 0
    panel = page.locator('[data-testid="stTabPanel"]:visible')
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".some(chart => chart.offsetParent !== null && chart.querySelector('canvas, svg'))"
    )  # the probabilities
    seen = panel.locator('[data-testid="stImage"]').filter(has_text="What the model sees").locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=seen.element_handle())
    assert seen.evaluate("img => img.naturalWidth") == 168
    page.screenshot(path=str(tmp_path / "drawn.png"), full_page=True)

    open_tab(page, "Inside the network")
    # The radio option, not the tab of the same name: waiting for the radio also waits for the Inside tab's content.
    page.get_by_role("radio", name="Your own digit").click(force=True)
    page.wait_for_selector(IDLE)
    page.get_by_role("heading", name="Which pixels drove the decision").wait_for()
    assert page.get_by_text("Draw or upload a digit under Your own digit first").count() == 0
    page.screenshot(path=str(tmp_path / "inside.png"), full_page=True)

    open_tab(page, "Your own digit")  # a tab is drawn anew when it opens: the canvas is empty again
    page.get_by_text("Draw a digit or upload a picture").wait_for()
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit or upload a picture").wait_for()
    assert answer.count() == 0


def test_the_wrong_shape_tab_shows_the_real_error(predictions_page):
    page = predictions_page
    open_tab(page, "The wrong shape")
    page.get_by_text(re.compile(r"ValueError: Input 0 .* found shape=\(28, 28, 3\)")).wait_for()
    assert page.get_by_text("Runs: 10 probabilities").count() == 1


def photo_of_a_one() -> bytes:
    """A JPEG 'photo': a dark pen stroke on light grey paper."""
    paper = Image.new("L", (400, 300), 205)
    ImageDraw.Draw(paper).line([(190, 60), (215, 40), (215, 250)], fill=40, width=14)
    buffer = io.BytesIO()
    paper.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_uploads_show_the_picture_and_the_answer_or_say_what_is_wrong(predictions_page):
    page = predictions_page
    open_tab(page, "Your own digit")
    page.get_by_text("Upload", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not really a PNG"}])
    page.get_by_text("This file is not an image we can read").wait_for()
    uploader.set_input_files(files=[{"name": "one.jpg", "mimeType": "image/jpeg", "buffer": photo_of_a_one()}])
    page.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)")).wait_for()
    assert page.get_by_text("This file is not an image we can read").count() == 0
    for caption, width in (("Your picture", 280), ("What the model sees", 168)):
        image = page.locator('[data-testid="stImage"]').filter(has_text=caption).locator("img")
        image.wait_for()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") == width
    # The box read is shown and said; the crop is set by hand with the keyboard alone.
    page.get_by_text("MNIST Lab read the part inside the red box").wait_for()
    page.get_by_text("Set the crop by hand").click()
    said = page.get_by_text(re.compile(r"of the height\), as you set it\."))
    said.wait_for()
    left = int(re.search(r"from (\d+)% to", said.inner_text()).group(1))
    page.get_by_role("slider", name=re.compile("Left and right")).first.focus()  # the left edge's handle
    page.keyboard.press("ArrowLeft")
    page.get_by_text(f"from {left - 1}% to").wait_for()
    page.wait_for_selector(IDLE)
    assert page.get_by_text(re.compile(r"The model reads \d \(\d+\.\d%\)")).count() == 1
