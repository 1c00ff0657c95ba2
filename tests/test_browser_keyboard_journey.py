"""A student who uses the keyboard alone (issue 26, WCAG 2.1 2.1.1, 2.4.3 and 2.4.7), in a real Chromium at 1,400 and
390 px: once the page is open, only ``page.keyboard`` (Tab, Shift+Tab, Enter, Space, arrow keys, typing); no click, no
``fill``, no ``focus()``.

The journey: the sidebar's page links to the Train page, a training of the default preset on a small subset, waited
for; the Predictions page, a digit drawn on the keyboard grid and the model's reading of it; the Evaluate page; the
Report page, the student's name and the HTML hand-in downloaded. Every element the Tab key lands on on the way must
be on the screen, not under another element, and show an outline or a ring that is not transparent
(``ui/a11y_css.py``): Streamlit's own focus of a page link, a toggle or a dataframe's toolbar was a pale grey
background or nothing, a chart's toolbar stayed transparent under the chart, and on a phone the collapsed sidebar's
controls took the focus off the screen, the open one let it go on under itself.

``KEYBOARD_SHOTS`` names a folder for a screenshot of every step, showing where the focus is, to look at.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import wait_idle

pytestmark = pytest.mark.browser

WIDE, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}
#: Streamlit's breakpoint (ui/a11y_css.py): at this width and below an open sidebar lies over the page.
OVERLAY_WIDTH = 768
#: What the Tab key landed on: the element that has the focus, looked for through shadow roots (the keyboard grid is
#: a component whose element sits in one); its name, whether it is on the screen, whether another element lies over
#: its middle and whether an outline or a ring (or, for an invisible checkbox input, its label's) is drawn and not
#: transparent.
FOCUSED = """async () => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  if (!e || e === document.body) return null;
  for (let frames = 0, top = null; frames < 60 && e.getBoundingClientRect().top !== top; frames++) {
    top = e.getBoundingClientRect().top;  // where the page is still moving (a chart drawn late), wait until it stops
    await new Promise((done) => requestAnimationFrame(done));
  }
  const fading = document.getAnimations().filter((a) => a.effect && a.effect.target && a.effect.target.contains(e)
    && a.effect.getComputedTiming().endTime !== Infinity);  // a heading's link fades in when focused
  const ended = fading.map((a) => a.finished.catch(() => null));  // a cancelled one rejects: it has ended too
  await Promise.race([Promise.all(ended), new Promise((done) => setTimeout(done, 2000))]);
  const opaque = (el) => { for (; el; el = el.parentElement) if (parseFloat(getComputedStyle(el).opacity) < 0.5) return false;
    return true; };
  const outlined = (el) => { const s = getComputedStyle(el);  // Streamlit's own focus ring is a box shadow
    return ((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none')
      && s.visibility === 'visible' && opaque(el); };
  const label = e.closest('label');
  const r = e.getBoundingClientRect();
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const seen = label || e, hit = e.getRootNode().elementFromPoint(x, y);
  // Over its own element is fine: a dataframe's transparent scroller over its grid, an input's "Press Enter" note.
  const own = (el) => !!el.closest('[data-testid=stElementContainer]')
    && el.closest('[data-testid=stElementContainer]') === e.closest('[data-testid=stElementContainer]');
  const name = e.getAttribute('aria-label') || (e.labels && e.labels[0] ? e.labels[0].innerText : '')
    || e.innerText || e.value || '';
  return {name: name.replace(/\\s+/g, ' ').trim().slice(0, 80), role: e.getAttribute('role') || e.tagName.toLowerCase(),
          outlined: outlined(e) || (!!label && outlined(label)),
          on_screen: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
                     && r.left < innerWidth && r.top < innerHeight,
          covered: !hit || !(seen.contains(hit) || hit.contains(seen) || own(hit))};
}"""
#: Whether the app's style sheet (ui/a11y_css.py) is in the page.
STYLED = """() => [...document.styleSheets].some(sheet => {
  try { return [...sheet.cssRules].some(rule => rule.selectorText === ':focus-visible'); } catch { return false; }
})"""
#: The title of each page the journey opens.
HEADINGS = {"Train": "Train a network", "Predictions": "Predictions: what the model says",
            "Evaluate": "Evaluate: how good is the model?", "Report": "Report: your workbook"}
#: Whether every chart of the page is drawn (Vega draws them after the script run, moving what is below them).
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                ".every(chart => chart.querySelector('canvas, svg'))")
#: Whether the sidebar is open and all of it on the screen (it slides in).
SLID_IN = """() => { const sidebar = document.querySelector('[data-testid=stSidebar]');
  return sidebar.dataset.collapsed === 'false' && sidebar.getBoundingClientRect().left >= 0; }"""
#: The labels of the download buttons that do not fit their button (cut with an ellipsis).
CUT_LABELS = """() => [...document.querySelectorAll('[data-testid=stDownloadButton] p')]
  .filter((label) => label.innerText.trim() && label.scrollWidth > label.clientWidth).map((label) => label.innerText)"""
#: The most Tab presses a step may take: the longest walk, from the Report's top to its downloads, took about 60.
MOST_PRESSES = 150


class Journey:
    """One student's keyboard: moves the focus with Tab and Shift+Tab, checks every stop, takes the screenshots."""

    def __init__(self, page, where: str):
        self.page, self.where, self.step = page, where, 0
        self.shots = Path(os.environ["KEYBOARD_SHOTS"]) if os.environ.get("KEYBOARD_SHOTS") else None

    def stop(self) -> dict | None:
        return self.page.evaluate(FOCUSED)

    def to(self, name: str, *, back: bool = False) -> list[dict]:
        """Press Tab (Shift+Tab when ``back``) until the focus is on an element whose name matches the regular
        expression ``name``; every stop on the way must be on the screen with its outline. Return the stops."""
        stops = []
        for _ in range(MOST_PRESSES):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            stop = self.stop()
            if stop is None:  # the page itself, between the last element and the first
                continue
            stops.append(stop)
            if not stop["on_screen"] or stop["covered"] or not stop["outlined"]:
                self.shot(f"unseen focus {stop['name']}")
            assert stop["on_screen"], f"{self.where}: the focus went off the screen, to {stop}"
            assert not stop["covered"], f"{self.where}: the focus went under another element, to {stop}"
            assert stop["outlined"], f"{self.where}: the focus on {stop} cannot be seen (no outline)"
            if re.search(name, stop["name"]):
                self.shot(stop["name"])
                return stops
        raise AssertionError(f"{self.where}: no element named {name!r} within {MOST_PRESSES} presses; met "
                             f"{[stop['name'] for stop in stops][:60]}")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def type_into(self, name: str, text: str) -> None:
        """Tab to the field ``name``, replace its text by ``text`` and confirm it with Enter."""
        self.to(name)
        self.press("Control+A")
        self.page.keyboard.type(text)
        self.press("Enter")
        wait_idle(self.page)

    def open_page(self, title: str) -> None:
        """Go to a page by its link in the sidebar's navigation, opening the sidebar first if it is collapsed and
        closing it after where it lies over the page (a narrow window)."""
        sidebar = self.page.get_by_label("Sidebar", exact=True)
        if sidebar.get_attribute("data-collapsed") == "true":
            self.expand_sidebar()
            self.to(rf"(^|\s){title}$")
        else:
            self.to(rf"(^|\s){title}$", back=True)
        self.press("Enter")
        # Attached, not visible: on a narrow screen the open sidebar hides the page.
        heading = self.page.get_by_role("heading", level=1, name=HEADINGS[title], include_hidden=True)
        expect(heading).to_be_attached(timeout=120_000)
        wait_idle(self.page, 120_000)
        self.page.wait_for_function(CHARTS_DRAWN)
        if self.page.viewport_size["width"] <= OVERLAY_WIDTH:  # it stays open over the page (unless on a phone)
            self.to(r"^Collapse sidebar$", back=True)
            self.press("Enter")
            expect(sidebar).to_have_attribute("data-collapsed", "true")
        self.shot(f"{title} page")

    def expand_sidebar(self) -> None:
        """Shift+Tab to the button that opens the collapsed sidebar, press it and wait until it has slid in."""
        self.to(r"^Expand sidebar$", back=True)
        self.press("Enter")
        self.page.wait_for_function(SLID_IN)

    def shot(self, what: str) -> None:
        if self.shots is not None:
            self.step += 1
            self.shots.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w]+", "-", f"{self.where} {self.step:02d} {what}").strip("-")[:120]
            self.page.screenshot(path=str(self.shots / f"{name}.png"))


def names(stops: list[dict]) -> list[str]:
    return [stop["name"] for stop in stops]


def in_order(met: list[str], expected: list[str]) -> bool:
    """Whether every regular expression of ``expected`` matches one of ``met``, in that order."""
    found = iter(met)
    return all(any(re.search(pattern, name) for name in found) for pattern in expected)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The app on a fresh run home: the wide journey trains its run here."""
    from tests.server import running_app

    with running_app(tmp_path_factory.mktemp("keyboard-home")) as url:
        yield url


def new_page(chromium, viewport, url):
    """A new visitor's page opened at ``url``, once the app's style sheet is in it: ``st.html`` adds it about half a
    second after the script run that sends it has ended, so a Tab pressed at once met Streamlit's own focus style."""
    context = chromium.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_function(STYLED)
    wait_idle(page)
    return context, page


def train_by_keys(journey: Journey) -> None:
    """On the Train page: one epoch of the default preset on 1,000 images, started and waited for."""
    journey.type_into(r"^Epochs$", "1")
    journey.type_into(r"^Training images", "1000")
    journey.type_into(r"^Run name$", "keys run")
    journey.to(r"^Start training$")
    journey.press("Enter")
    expect(journey.page.get_by_role("button", name="Stop")).to_be_visible()
    journey.shot("training")
    expect(journey.page.get_by_text(re.compile(r"keys run.*: finished"))).to_be_visible(timeout=240_000)
    wait_idle(journey.page)
    journey.shot("trained")


ONE = ["ArrowUp"] * 8 + [" ", *[key for _ in range(16) for key in ("ArrowDown", " ")]]  # a stroke down column 14


def draw_by_keys(journey: Journey) -> str:
    """On the Predictions page: open *Your own digit*, pick the keyboard, draw a 1; return what the grid says."""
    page = journey.page
    journey.to(r"^Test digits$")
    journey.press("ArrowRight")
    own = page.get_by_role("tab", name="Your own digit", exact=True)
    if own.get_attribute("aria-selected") != "true":
        journey.press("Enter")
    expect(own).to_have_attribute("aria-selected", "true")
    wait_idle(page)
    journey.to(r"^Draw$")
    journey.press("ArrowRight")
    keyboard_input = page.get_by_role("radio", name="Keyboard")
    if keyboard_input.get_attribute("aria-checked") != "true":
        journey.press("Space")
    expect(keyboard_input).to_have_attribute("aria-checked", "true")
    expect(page.locator(".kg-grid")).to_be_visible()  # the arrow key checks it at once; the grid comes with a rerun
    wait_idle(page)
    journey.to(r"^Keyboard drawing grid")
    journey.press(*ONE)
    said = page.locator(".kg-said")
    expect(said).to_have_text(re.compile(r"^Drawn: a stroke from row 6 to row 22 in column 14 \(17 cells\)\. "
                                         r"The model reads \d \(\d+\.\d%\)\.$"), timeout=60_000)
    journey.shot("a 1 drawn")
    return said.inner_text()


def hand_in_by_keys(journey: Journey, tmp_path: Path) -> str:
    """On the Report page: give the name, download the HTML hand-in with Enter; return the downloaded text."""
    page = journey.page
    journey.to(r"^Your name, as your teacher knows you$")
    page.keyboard.type("A. Student")
    journey.to(r"Save my name$")
    journey.press("Enter")
    expect(page.get_by_text("Handing in as A. Student.")).to_be_visible()
    wait_idle(page)
    journey.to(r"Hand-in \(HTML, ready to print\)$")
    assert not (cut := page.evaluate(CUT_LABELS)), f"download labels cut short: {cut}"
    with page.expect_download(timeout=120_000) as download:
        journey.press("Enter")
    saved = tmp_path / "handin.html"
    download.value.save_as(saved)
    return saved.read_text()


def test_a_student_trains_draws_evaluates_and_hands_in_by_keyboard_alone(chromium, lab, tmp_path):
    context, page = new_page(chromium, WIDE, lab)
    journey = Journey(page, "1400 px")
    opening = journey.to(r"(^|\s)Train$")
    assert names(opening)[0] == "Skip to main content", names(opening)
    journey.press("Enter")
    expect(page.get_by_role("heading", level=1, name=HEADINGS["Train"])).to_be_visible()
    wait_idle(page)
    train_by_keys(journey)

    journey.open_page("Predictions")
    assert re.search(r"The model reads \d", draw_by_keys(journey))
    journey.open_page("Evaluate")
    journey.to(r"^Link to heading$")  # the page's first stop: the Tab key goes on into the page
    journey.open_page("Report")
    handin = hand_in_by_keys(journey, tmp_path)
    assert "A. Student" in handin and "keys run" in handin
    context.close()


def test_the_train_page_is_walked_in_reading_order_with_the_focus_in_sight(chromium, lab):
    """Sidebar (pages, then the run and the training choices), then the page: its name field before Start."""
    context, page = new_page(chromium, WIDE, f"{lab}/train")
    walked = names(Journey(page, "Train, 1400 px").to(r"^Start training$"))
    assert in_order(walked, ["^Skip to main content$", "Data$", "Train$", "Predictions$", "Evaluate$", "Report$",
                             "^Dataset$", "^Architecture$", "^Epochs$", "^Training images", "^Seed$", "^Run name$"]), \
        walked
    context.close()


def test_on_a_phone_the_collapsed_sidebar_takes_no_focus_and_opens_by_keyboard(chromium, trained_app_url, tmp_path):
    context, page = new_page(chromium, PHONE, f"{trained_app_url}/train")
    journey = Journey(page, "390 px")
    walked = names(journey.to(r"^Start training$"))
    assert walked[:2] == ["Skip to main content", "Expand sidebar"], walked  # nothing of the hidden sidebar
    journey.expand_sidebar()
    opened = names(journey.to(r"^Epochs$"))
    assert in_order(opened, ["Data$", "Train$", "Report$", "^Architecture$"]), opened

    journey.open_page("Predictions")
    assert re.search(r"The model reads \d", draw_by_keys(journey))
    journey.open_page("Evaluate")
    journey.open_page("Report")
    assert "A. Student" in hand_in_by_keys(journey, tmp_path)
    context.close()
