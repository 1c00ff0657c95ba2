"""Zoom to 200% and reduced motion (issue 26, WCAG 2.1 1.4.10 and 2.3.3), in a real Chromium.

200% on a 1,280 px screen is a window of 640x400 CSS pixels at two device pixels each. Every page and every tab, as a
new visitor sees them and with two trained runs, must fit its width: nothing scrolls sideways, neither the document
nor Streamlit's main area (the page's own scroller), and no text runs out of its box. Reflow exempts content that
needs two dimensions: dataframes, tables, charts and code scroll inside their own box.

With ``prefers-reduced-motion: reduce`` nothing on the Train page moves while a training's live view is redrawn
every two seconds: no element has a transition or an animation that lasts (``ui/a11y_css.py``), Streamlit's spinner
included, which under that preference only turns slower on its own.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import open_tab, start_training, wait_idle

pytestmark = pytest.mark.browser

ZOOMED = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
PAGES = {"Data": "", "Train": "train", "Predictions": "predict", "Evaluate": "evaluate", "Report": "report"}
#: What runs out sideways: the document or the main area wider than the window, and every element with text of its
#: own whose text is wider than its box or reaches past the window's right edge, outside two-dimensional content.
OVERFLOWS = """() => {
  const width = document.documentElement.clientWidth, main = document.querySelector('[data-testid=stMain]');
  const found = [];
  if (document.documentElement.scrollWidth > width) found.push(`the document: ${document.documentElement.scrollWidth} px`);
  if (main.scrollWidth > main.clientWidth) found.push(`the main area: ${main.scrollWidth} px in ${main.clientWidth}`);
  const twoDimensional = '[data-testid=stDataFrame], [data-testid=stTable], [data-testid=stVegaLiteChart], '
    + '[data-testid=stCode], pre, [data-testid=stSidebar][data-collapsed=true]';
  for (const e of document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *')) {
    if (![...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim())) continue;
    if (e.closest(twoDimensional)) continue;
    const box = e.getBoundingClientRect(), text = e.textContent.trim().slice(0, 60);
    if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) found.push(`"${text}": ${e.scrollWidth} px in ${e.clientWidth}`);
    else if (box.width > 0 && box.right > width + 1) found.push(`"${text}": reaches ${Math.round(box.right)} px`);
  }
  return found;
}"""
#: Every element whose transition or animation lasts longer than 1 ms, with its test id and what moves.
MOVING = """() => {
  const seconds = (list) => Math.max(...list.split(',').map((t) => parseFloat(t) * (t.trim().endsWith('ms') ? 0.001 : 1)));
  const found = [];
  for (const e of document.querySelectorAll('*')) {
    const s = getComputedStyle(e);
    const transition = s.transitionProperty !== 'none' && seconds(s.transitionDuration) > 0.001;
    const animation = s.animationName !== 'none' && seconds(s.animationDuration) > 0.001;
    if (transition || animation) {
      const owner = e.closest('[data-testid]');
      found.push(`${owner ? owner.dataset.testid : e.tagName}: ${animation ? s.animationName : s.transitionProperty}`);
    }
  }
  return found;
}"""
#: The live view's progress text once it differs from ``arg``, or ENDED once the training has ended (no Stop button).
ENDED = "the training has ended"
NEXT_REDRAW = """(last) => {
  const text = [...document.querySelectorAll('[data-testid=stProgress]')].map((e) => e.innerText).join(' ');
  if (text && text !== last) return text;
  if (![...document.querySelectorAll('button')].some((b) => b.innerText.trim() === 'Stop')) return 'the training has ended';  // ENDED
  return false;
}"""
#: The animations and transitions running in the page (the Web Animations API sees CSS ones too) that last over 1 ms.
RUNNING = """() => document.getAnimations().filter((a) => a.playState === 'running'
  && a.effect.getComputedTiming().duration > 1).map((a) => String(a.effect.target && a.effect.target.dataset?.testid))"""
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                ".every(chart => chart.querySelector('canvas, svg'))")


def zoomed_overflows(chromium, url) -> dict[str, list[str]]:
    """Every page and tab of the app at ``url`` at 200% zoom, and what runs out sideways on each."""
    context = chromium.new_context(**ZOOMED)
    page = context.new_page()
    page.set_default_timeout(60_000)
    found = {}
    for title, path in PAGES.items():
        page.goto(f"{url}/{path}")
        expect(page.get_by_role("heading", level=1)).to_be_attached()
        wait_idle(page)
        tabs = page.get_by_role("tab")
        names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
        for name in [None, *names[1:]]:
            if name is not None:
                open_tab(page, name)
            page.wait_for_function(CHARTS_DRAWN)
            if overflows := page.evaluate(OVERFLOWS):
                found[f"{title}, tab {name or (names[0] if names else '-')}"] = overflows
    context.close()
    return found


def test_every_page_reflows_at_200_percent_for_a_new_visitor(chromium, app_url):
    assert not (found := zoomed_overflows(chromium, app_url)), found


def test_every_page_reflows_at_200_percent_with_trained_runs(chromium, trained_app_url):
    assert not (found := zoomed_overflows(chromium, trained_app_url)), found


def test_the_check_finds_text_that_runs_out_sideways(chromium, app_url):
    """The reflow check itself: a word too long for the window, as an unbreakable name would be, is found."""
    context = chromium.new_context(**ZOOMED)
    page = context.new_page()
    page.goto(app_url)
    expect(page.get_by_role("heading", level=1)).to_be_attached()
    wait_idle(page)
    page.evaluate("() => { const p = document.querySelector('[data-testid=stMain] p');"
                  " p.style.whiteSpace = 'nowrap'; p.textContent = 'x'.repeat(200); }")
    assert page.evaluate(OVERFLOWS)
    context.close()


def test_nothing_moves_during_a_live_training_when_less_motion_is_asked_for(chromium, app_url):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{app_url}/train")
    wait_idle(page)
    start_training(page, "still run", epochs=3, images=6000)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    redraws = []
    while len(redraws) < 4:  # the live view, redrawn four times (every two seconds): checked after each redraw
        shown = page.wait_for_function(NEXT_REDRAW, arg=redraws[-1] if redraws else "", timeout=60_000).json_value()
        if shown == ENDED:
            break
        redraws.append(shown)
        assert not (moving := page.evaluate(MOVING)), moving
        assert not (running := page.evaluate(RUNNING)), running
    assert len(redraws) >= 2, f"the live view was not seen redrawn: {redraws}"
    page.emulate_media(reduced_motion="no-preference")
    assert page.evaluate(MOVING), "without the preference, Streamlit's transitions should be there to turn off"
    expect(page.get_by_text(re.compile(r"still run.*: (finished|stopped)"))).to_be_visible(timeout=240_000)
    context.close()
