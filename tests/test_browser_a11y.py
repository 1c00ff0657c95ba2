"""axe-core (WCAG 2.1 AA rules) over every state a student or teacher meets, in a real Chromium at 1,400 and 390 px:
every page as a new visitor sees it, the Train page while a training runs (its epoch curves drawn), every tab of Data,
Predictions, Evaluate and the Report after it; a comparison of two runs and the exported HTML hand-in; a sweep on the
Evaluate page, the Report's workbook with answers saved and one being typed, the hand-in with those answers, and the
teacher's Class page (runs, a hand-in, every run evaluated) and a hand-in opened read-only, behind a real login; and
a digit drawn with the keyboard alone (arrow keys and Space), read right.

Three app servers serve every check: one on a fresh home for the new visitor and one training, one on the two small
trained runs of ``trained_home`` for the comparison, the hand-in and the keyboard, and one with login (a local OpenID
Connect provider) on those runs and a sweep of two tiny ones, all Alice's, for the class. The checks are cheap (about
a second a page); starting servers, logging in and training are not.

Rules Streamlit itself breaks are exempted in ``tests/browser_helpers.py`` (``AXE_ALLOWED``, ``AXE_EXEMPT``), each
with its reason; every other serious or critical violation fails the test that meets it.
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
    open_page,
    open_tab,
    start_training,
    wait_idle,
)

pytestmark = pytest.mark.browser

SIZES = {"1400 px": {"width": 1400, "height": 1000}, "390 px": {"width": 390, "height": 844}}
PAGES = {"Data": "", "Train": "train", "Predictions": "predict", "Evaluate": "evaluate", "Report": "report"}
# The open tab's panel holds what its script drew: the script's state can still read "not running" for a moment after
# a tab is clicked, before the rerun that draws it starts (a check then met an empty panel at 390 px).
TAB_DRAWN = ("() => [...document.querySelectorAll('[role=\"tabpanel\"]')]"
             ".some(panel => panel.offsetParent !== null && panel.querySelector('[data-testid=\"stElementContainer\"]'))")
# The sidebar's own slide, not the page's endless ones (a running training's spinner).
SIDEBAR_SETTLED = ("() => document.querySelector('[data-testid=\"stSidebar\"]').getAnimations()"
                   ".every(animation => animation.playState !== 'running')")
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


def visit(page, url, title, timeout=60_000):
    page.goto(f"{url}/{PAGES[title]}")
    wait_idle(page, timeout)


def check_every_tab(page, findings, where):
    """Check the page, then each of its tabs (the open one first, as the visitor met it)."""
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    findings.check(page, where)
    for name in names[1:] if names else []:
        open_tab(page, name)
        page.wait_for_function(TAB_DRAWN)
        findings.check(page, f"{where}, tab {name}")


def check_other_views(page, findings, title, when):
    """The views of a page that are not tabs: the Evaluate page's comparison and sweep, the Train page's sweep form."""
    if title == "Evaluate":
        for name in ("Compare runs", "Sweep"):
            view(page, name)
            findings.check(page, f"Evaluate, view {name} {when}")
    elif title == "Train":
        sweep_form = page.locator("details", has_text="Sweep: one run per value of one or two settings")
        sweep_form.locator("summary").click()
        expect(sweep_form).to_have_attribute("open", "")
        wait_idle(page)
        findings.check(page, f"Train, the sweep form opened {when}")


@pytest.mark.parametrize("size", SIZES)
def test_every_page_as_a_new_visitor_sees_it(chromium, lab, size):
    findings = Findings()
    context, page = browser_page(chromium, size)
    for title in PAGES:
        visit(page, lab, title)
        check_every_tab(page, findings, f"{title} (no run yet, {size})")
        check_other_views(page, findings, title, f"(no run yet, {size})")
    context.close()
    findings.assert_none()


def test_a_training_and_every_tab_after_it(chromium, lab):
    findings = Findings()
    context, page = browser_page(chromium, "1400 px")
    visit(page, lab, "Train")
    # More epochs than the checks take: the training is stopped once both widths are checked, its curves drawn.
    start_training(page, "axe run", epochs=200, images=3000)
    expect(page.get_by_text(re.compile(r"Epoch (?:[2-9]|\d\d+) of 200"))).to_be_visible(timeout=180_000)
    at_both_widths(page, findings, "Train (a training running)")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"axe run.*: stopped"))).to_be_visible(timeout=180_000)
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


# A class behind a real login (a local OpenID Connect provider): Alice, whose runs they all are, and the teacher.
CLASS = [
    {"sub": "alice", "email": "alice@school.org", "name": "Alice", "email_verified": True},
    {"sub": "teach", "email": "teacher@school.org", "name": "Ms Teach", "email_verified": True},
]
LOGIN_WAIT = 300_000  # a login round trip and a first page that imports TensorFlow, on a loaded machine
SWEEP = "sweep:axe"
ANSWERS = {"A1": "Every digit is **centred** in its box.\n\n| digit | seen |\n|---|---|\n| 0 | yes |",
           "B6": "The training accuracy is higher: the model has seen those images."}


def train_sweep(home, mnist):
    """Two tiny runs of one sweep (batch sizes 32 and 64), trained for real in this process, tested after training."""
    from mnist_lab import training
    from mnist_lab.models import config
    from mnist_lab.runs.store import RunStore

    store = RunStore(home)
    for batch_size in (32, 64):
        train_config = config.TrainConfig(epochs=1, train_limit=500, batch_size=batch_size)
        training.new_job(store, f"axe sweep: batch size {batch_size}", config.ModelConfig(architecture="fast"),
                         train_config, mnist, experiment=SWEEP, evaluate_test=True).run()


@pytest.fixture(scope="module")
def class_lab(trained_home, mnist, tmp_path_factory):
    """The app with login on a copy of the two trained runs and a sweep of two, all Alice's; yields its localhost URL
    (the host of the login's redirect address)."""
    import shutil
    import sqlite3
    import urllib.request

    from tests.oidc import login_secrets, oidc_provider
    from tests.server import free_port, running_app

    folder = tmp_path_factory.mktemp("a11y-class")
    home = folder / "home"
    shutil.copytree(trained_home, home)
    train_sweep(home, mnist)
    with oidc_provider(CLASS, folder / "oidc.log") as provider:
        with urllib.request.urlopen(f"{provider}/.well-known/openid-configuration") as answer:
            issuer = json.load(answer)["issuer"]
        with sqlite3.connect(home / "runs.sqlite") as db:  # the runs become Alice's, as if she had trained them
            db.execute("UPDATE runs SET student = ?, student_name = 'Alice'", (f"login:{issuer}|alice",))
        db.close()
        port = free_port()
        secrets = login_secrets(folder / "secrets.toml", app_port=port, provider=provider,
                                teachers=["teacher@school.org"])
        with running_app(home, port=port, secrets=secrets) as url:
            yield url.replace("127.0.0.1", "localhost")


def logged_in(chromium, url, sub, name):
    from tests.test_browser_login import log_in

    context, page = log_in(chromium, url, sub, name)
    page.set_default_timeout(LOGIN_WAIT)
    return context, page


def fold_sidebar(page, folded):
    """Wait until the app's sidebar is folded (or unfolded), as Streamlit does itself when the window crosses its
    phone width; press its own button if it has not within 10 s (a page without a sidebar: nothing to do)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    if not sidebar.count():
        return
    collapsed = "true" if folded else "false"
    try:
        expect(sidebar).to_have_attribute("data-collapsed", collapsed, timeout=10_000)
    except AssertionError:
        page.get_by_role("button", name="Collapse sidebar" if folded else "Expand sidebar").click()
        expect(sidebar).to_have_attribute("data-collapsed", collapsed)
    page.wait_for_function(SIDEBAR_SETTLED)  # the sidebar slides: check the page once it rests, not half covered


def at_both_widths(page, findings, where):
    """Check the page as it is at 1,400 px, then at 390 px with the sidebar folded as a phone opens a page (Streamlit
    folds it only when a page opens narrow), then give it back its 1,400 px and its sidebar."""
    findings.check(page, f"{where} (1400 px)")
    page.set_viewport_size(SIZES["390 px"])
    fold_sidebar(page, True)
    findings.check(page, f"{where} (390 px)")
    page.set_viewport_size(SIZES["1400 px"])
    fold_sidebar(page, False)


def view(page, name):
    """Pick the Evaluate page's view ``name`` (a segmented control) by keyboard, as the comparison test does."""
    button = page.get_by_role("radio", name=name)
    button.focus()
    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-checked", "true")
    wait_idle(page, LOGIN_WAIT)


@pytest.mark.login
def test_a_sweep_the_workbook_with_answers_typed_and_the_teachers_class_page(chromium, class_lab, tmp_path):
    findings = Findings()
    context, alice = logged_in(chromium, class_lab, "alice", "Alice")
    try:
        visit(alice, class_lab, "Evaluate", LOGIN_WAIT)
        view(alice, "Sweep")
        expect(alice.get_by_text(re.compile(r"Best run: axe sweep: batch size \d+"))).to_be_visible(timeout=LOGIN_WAIT)
        at_both_widths(alice, findings, "Evaluate, a sweep of two runs")

        visit(alice, class_lab, "Report", LOGIN_WAIT)
        expect(alice.get_by_text("Handing in as Alice.")).to_be_visible(timeout=LOGIN_WAIT)
        for number, answer in ANSWERS.items():
            open_tab(alice, number, timeout=LOGIN_WAIT)
            alice.get_by_role("textbox", name=f"Your answer to {number}").fill(answer)
            alice.get_by_role("button", name="Save answer").click()
            wait_idle(alice, LOGIN_WAIT)
            expect(alice.get_by_text(re.compile(r"\d of 13"))).to_be_visible()
            at_both_widths(alice, findings, f"Report, the workbook at {number} with an answer typed and saved")
        alice.get_by_role("textbox", name="Your answer to B6").fill("An answer typed, not saved yet.")
        at_both_widths(alice, findings, "Report, the workbook at B6 with an answer being typed")
        with alice.expect_download(timeout=LOGIN_WAIT) as download:
            alice.get_by_role("button", name="Hand-in (HTML, ready to print)").click()
        handin = tmp_path / "handin.html"
        download.value.save_as(handin)
        alice.goto(handin.as_uri())
        at_both_widths(alice, findings, "the HTML hand-in with answers")
    finally:
        context.close()

    context, teacher = logged_in(chromium, class_lab, "teach", "Ms Teach")
    try:
        open_page(teacher, "Class", timeout=LOGIN_WAIT)
        expect(teacher.get_by_text("4 runs of 1 student, newest first.")).to_be_visible(timeout=LOGIN_WAIT)
        at_both_widths(teacher, findings, "Class (teacher), runs and a hand-in")
        evaluate = teacher.get_by_role("button", name=re.compile(r"Evaluate the \d runs? not evaluated yet"))
        if evaluate.count():
            evaluate.click()
            wait_idle(teacher, LOGIN_WAIT)
        expect(teacher.get_by_role("heading", name="Which classes the class finds hardest")).to_be_visible()
        expect(teacher.locator('[data-testid="stVegaLiteChart"]')).to_have_count(1, timeout=LOGIN_WAIT)
        at_both_widths(teacher, findings, "Class (teacher), every run evaluated")
        teacher.get_by_role("button", name="Open it read-only", exact=True).click()
        wait_idle(teacher, LOGIN_WAIT)
        expect(teacher.get_by_text("You are reading Alice's workbook: their answers, read-only.")).to_be_visible()
        expect(teacher.get_by_role("textbox", name="Your answer to A1")).to_be_disabled()
        at_both_widths(teacher, findings, "Report, a student's hand-in opened read-only by the teacher")
    finally:
        context.close()
    findings.assert_none()
