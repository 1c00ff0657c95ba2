"""Small Playwright helpers for driving the Streamlit app."""

import re
import time

from playwright.sync_api import expect

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: How long an ``expect`` waits for its condition unless told otherwise. Playwright's 5 s is too short for a page that
#: is redrawn after a rerun on a loaded machine (CI under load failed test_browser_workbook once); a condition that
#: holds at once still returns at once.
expect.set_options(timeout=30_000)


def wait_idle(page, timeout=60_000):
    """Wait until the app's script run has finished."""
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page, title, timeout=60_000):
    """Click a page in the sidebar navigation and wait for it to render."""
    page.get_by_role("link", name=title, exact=True).click()
    wait_idle(page, timeout)


def open_tab(page, name, timeout=60_000):
    """Click the tab ``name`` until it is the selected one, then wait for the script that draws it to finish.

    A click that lands while the page is still being drawn can be lost (it failed once on a loaded CI machine): the
    click is repeated until the tab says it is selected, within ``timeout``.
    """
    tab = page.get_by_role("tab", name=name, exact=True)
    deadline = time.monotonic() + timeout / 1000
    while True:
        tab.click(timeout=timeout)
        try:
            expect(tab).to_have_attribute("aria-selected", "true", timeout=5_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    wait_idle(page, timeout)


def set_number(page, label, value):
    """Type a value into a number input and confirm it."""
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)
    expect(field).to_have_value(str(value))


def training_position(page):
    """Return (epoch, batch) read from the Train page's progress bar text."""
    text = page.get_by_text(re.compile(r"Epoch \d+ of \d+, batch \d+")).inner_text()
    epoch, batch = re.search(r"Epoch (\d+) of \d+, batch (\d+)", text).groups()
    return int(epoch), int(batch)


def start_training(page, name, *, epochs, images):
    """On the Train page: set epochs, training images and the run name, then press Start."""
    set_number(page, "Epochs", epochs)
    set_number(page, "Training images (0 = all 60,000)", images)
    page.get_by_label("Run name").fill(name)
    page.get_by_label("Run name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()


# axe-core (bundled by axe-playwright-python, so it runs offline) ---------------------------------------------------

# Rules the app cannot meet because Streamlit itself breaks them, each with the reason. Nothing else is silenced: a
# serious or critical violation of any other rule fails the test that checks the page. None so far.
AXE_ALLOWED: dict[str, str] = {}
# Single elements that break a rule where WCAG itself makes an exception that axe cannot see: (rule, a JavaScript
# test of the element) -> the reason. An element of the rule that fails the test still fails the check.
AXE_EXEMPT: dict[tuple[str, str], str] = {
    ("color-contrast", "e => !!e.closest('[aria-hidden=true]') && !!e.closest('.stElementContainer')?.querySelector("
                       "'input:disabled, button:disabled, [aria-disabled=true]')"):
        "The label of a disabled widget (the training choices while a training runs): Streamlit greys it to 2.6:1, "
        "and WCAG 2.1's 1.4.3 exempts the text of inactive user interface components; axe cannot see that the "
        "label belongs to a disabled control, because Streamlit's label is a separate element hidden from assistive "
        "technology (aria-hidden) beside the control's own accessible name.",
}
AXE_FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """The serious and critical axe-core violations of the page as it is now, less the rules in ``AXE_ALLOWED`` and
    the elements ``AXE_EXEMPT`` exempts.

    Each is axe's own result (``id``, ``impact``, ``help``, ``nodes`` with their ``target`` and ``html``).
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]}).response
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in AXE_FAILING_IMPACTS or violation["id"] in AXE_ALLOWED:
            continue
        tests = [test for rule, test in AXE_EXEMPT if rule == violation["id"]]
        nodes = [node for node in violation["nodes"] if not any(_exempt(page, node, test) for test in tests)]
        if nodes:
            found.append({**violation, "nodes": nodes})
    return found


def _exempt(page, node: dict, test: str) -> bool:
    """Whether the element of an axe result ``node`` passes the JavaScript ``test`` (False if it is gone)."""
    target = node["target"][-1] if node["target"] else ""
    if not isinstance(target, str) or not target:
        return False
    return bool(page.evaluate(f"(selector) => {{ const e = document.querySelector(selector); "
                              f"return !!e && ({test})(e); }}", target))


def describe_violations(violations: list[dict]) -> str:
    """The violations one per line: the rule, its impact, how many elements, and the first few of them."""
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(f"{violation['id']} ({violation['impact']}, {len(nodes)} elements): {violation['help']}")
        for node in nodes[:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]} | {summary[:240]}")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    """Fail with axe-core's findings if the page has a serious or critical violation not in ``AXE_ALLOWED``."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {where}:\n{describe_violations(violations)}"
