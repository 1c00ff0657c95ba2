"""A class logging in through a real OpenID Connect provider: two students and a teacher, each in a browser of their
own. A student sees and stops only their own runs, even with another student's full URL; the teacher sees the class."""

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser_helpers import open_page, start_training, wait_idle
from tests.oidc import login_secrets, oidc_provider
from tests.server import free_port, running_app

pytestmark = [pytest.mark.browser, pytest.mark.login]

USERS = [
    {"sub": "alice", "email": "alice@school.org", "name": "Alice"},
    {"sub": "bob", "email": "bob@school.org", "name": "Bob"},
    {"sub": "teach", "email": "teacher@school.org", "name": "Ms Teach", "email_verified": True},
    # The teacher's address typed into an account whose provider never verified it.
    {"sub": "mallory", "email": "teacher@school.org", "name": "Mallory", "email_verified": False},
]

#: The longest wait for the busy server (ms): a loaded CI machine has taken minutes for one page.
WAIT = 300_000


@pytest.fixture(scope="module")
def login_app(tmp_path_factory):
    """The app with login through a local provider, teacher@school.org its teacher; yields its localhost URL."""
    folder = tmp_path_factory.mktemp("login")
    with oidc_provider(USERS, folder / "oidc.log") as provider:
        port = free_port()
        secrets = login_secrets(folder / "secrets.toml", app_port=port, provider=provider,
                                teachers=["teacher@school.org"])
        with running_app(folder / "home", port=port, secrets=secrets) as url:
            # The host of the redirect URI: the login's state cookie is kept for that host name only.
            yield url.replace("127.0.0.1", "localhost")


def log_in(chromium, url, sub, name):
    """A browser of its own, logged in as ``sub`` through the provider's page; returns (context, page).

    The waits are long because the server may be busy for minutes on a loaded machine: the first page after the
    first login imports TensorFlow and starts the training engine (CI failed once on a 60 s wait here).
    """
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url)
    wait_idle(page, timeout=WAIT)
    expect(page.get_by_text("Log in to see and train your own runs")).to_be_visible(timeout=WAIT)
    assert page.get_by_role("link", name="Data").count() == 0  # no page before the login
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's page: one button per known user
    page.wait_for_url(re.compile(rf"^{re.escape(url)}"), timeout=WAIT)
    wait_idle(page, timeout=WAIT)
    expect(page.get_by_text(f"Logged in as {name}")).to_be_visible(timeout=WAIT)
    return context, page


def test_an_unverified_teachers_address_grants_nothing(chromium, login_app, tmp_path):
    context, page = log_in(chromium, login_app, "mallory", "Mallory")
    try:
        assert page.get_by_text("Logged in as Mallory (teacher)").count() == 0
        assert page.get_by_role("link", name="Class").count() == 0
        page.goto(f"{login_app}/class_view")
        wait_idle(page, timeout=WAIT)
        expect(page.get_by_role("heading", name="Class", exact=True)).to_have_count(0)
    finally:
        page.screenshot(path=str(tmp_path / "mallory.png"), full_page=True)
        context.close()


def run_options(page, label):
    """The option labels of the picker ``label``.

    A rerun of the page (a running training redraws it) can close the list as it opens: the click is repeated until
    the list shows, within ``WAIT``.
    """
    deadline = time.monotonic() + WAIT / 1000
    while True:
        wait_idle(page, timeout=WAIT)
        page.get_by_role("combobox", name=label).click()
        try:
            expect(page.get_by_role("option").first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def choose(page, label, option):
    """Pick ``option`` in the picker ``label``, opening its list again if a rerun closed it."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        wait_idle(page, timeout=WAIT)
        page.get_by_role("combobox", name=label).click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


def test_students_reach_only_their_own_runs_and_the_teacher_sees_the_class(chromium, login_app, tmp_path):
    sessions = {}
    try:
        sessions["bob"] = log_in(chromium, login_app, "bob", "Bob")
        sessions["alice"] = log_in(chromium, login_app, "alice", "Alice")
        sessions["teacher"] = log_in(chromium, login_app, "teach", "Ms Teach")
        bob, alice, teacher = (sessions[name][1] for name in ("bob", "alice", "teacher"))
        for student in (bob, alice):
            assert student.get_by_role("link", name="Class").count() == 0  # students never see the Class page

        open_page(bob, "Train", timeout=WAIT)
        start_training(bob, "bobs small run", epochs=1, images=500)
        expect(bob.get_by_text(re.compile(r"bobs small run.*: finished"))).to_be_visible(timeout=WAIT)

        open_page(alice, "Train", timeout=WAIT)
        start_training(alice, "alices long run", epochs=200, images=10000)
        expect(alice.get_by_role("button", name="Stop")).to_be_visible(timeout=WAIT)
        alice_url = alice.url
        assert "run=" in alice_url  # her full URL names her run
        alice_run_id = re.search(r"run=([0-9a-f-]+)", alice_url).group(1)

        # Bob is sent Alice's full URL: he gets his own runs, and nothing of hers.
        bob.goto(alice_url)
        wait_idle(bob, timeout=WAIT)
        expect(bob.get_by_text("Logged in as Bob")).to_be_visible(timeout=WAIT)
        expect(bob.get_by_role("combobox", name="Run")).to_have_value(re.compile("bobs small run"), timeout=WAIT)
        assert run_options(bob, "Run") == ["bobs small run · finished"]
        open_page(bob, "Train", timeout=WAIT)
        expect(bob.get_by_text("Someone else started a training on this server")).to_be_visible(timeout=WAIT)
        assert bob.get_by_role("button", name="Stop").count() == 0
        for page_name in ("Train", "Evaluate", "Report"):
            # Bob's first evaluation and report are computed now, beside Alice's training on the same cores.
            open_page(bob, page_name, timeout=WAIT)
            html = bob.content()
            assert "alices long run" not in html and alice_run_id not in html, page_name

        # Alice's training survives her reload; her login too.
        alice.reload()
        wait_idle(alice, timeout=WAIT)
        expect(alice.get_by_text("Logged in as Alice")).to_be_visible(timeout=WAIT)
        open_page(alice, "Train", timeout=WAIT)
        expect(alice.get_by_role("button", name="Stop")).to_be_visible(timeout=WAIT)

        # The teacher sees both students' runs on the Class page, and opens Bob's read-only.
        open_page(teacher, "Class", timeout=WAIT)
        expect(teacher.get_by_text("2 runs of 2 students")).to_be_visible(timeout=WAIT)
        assert sorted(run_options(teacher, "A student's run")) == [
            "Alice · alices long run · running", "Bob · bobs small run · finished"]
        assert teacher.get_by_role("button", name="Stop").count() == 0
        choose(teacher, "A student's run", "Bob · bobs small run · finished")
        wait_idle(teacher, timeout=WAIT)
        teacher.get_by_role("button", name="Open it, read-only").click()
        wait_idle(teacher, timeout=WAIT)
        expect(teacher.get_by_text("You are looking at Bob's run bobs small run")).to_be_visible(timeout=WAIT)
        expect(teacher.get_by_role("heading", name="Per class")).to_be_visible(timeout=WAIT)  # Evaluate's first tab

        alice.get_by_role("button", name="Stop").click()
        expect(alice.get_by_text(re.compile(r"alices long run.*: stopped"))).to_be_visible(timeout=WAIT)
    finally:
        for name, (context, page) in sessions.items():
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
            context.close()
