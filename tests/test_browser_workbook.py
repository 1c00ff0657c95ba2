"""The workbook loop in a real Chromium, with a real login: a student answers beside her run's evidence, gets a note
on a wrong figure, reveals an explanation only after answering, hands in every kind of file; the answers survive a
second browser and a server restart; the teacher sees the hand-in, checks a genuine and an edited copy, hides the
explanations and re-trains the run to check it.

Screenshots of the workbook and the hand-in at 1,400 and 390 px go to ``$MNIST_LAB_SCREENSHOTS`` when set.
"""

import contextlib
import os
import re
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import open_page, open_tab, start_training, wait_idle
from tests.oidc import login_secrets, oidc_provider
from tests.server import free_port, start_app, stop_process, wait_healthy
from tests.test_browser_login import WAIT, log_in

pytestmark = [pytest.mark.browser, pytest.mark.login]

USERS = [
    {"sub": "alice", "email": "alice@school.org", "name": "Alice", "email_verified": True},
    {"sub": "teach", "email": "teacher@school.org", "name": "Ms Teach", "email_verified": True},
]
# No animation running (the sidebar's folding is one), so that a screenshot shows the page as it rests.
SETTLED = "() => document.getAnimations().every(animation => animation.playState !== 'running')"
WRONG = "My test accuracy was 12.34%, so the model is still weak."


class App:
    """The app behind a login, restartable on the same port, home and secrets."""

    def __init__(self, folder: Path, provider: str):
        self.folder, self.port = folder, free_port()
        self.secrets = login_secrets(folder / "secrets.toml", app_port=self.port, provider=provider,
                                     teachers=["teacher@school.org"])
        self.url = f"http://localhost:{self.port}"
        self.process = None

    def start(self) -> None:
        log = self.folder / "server.log"
        self.process = start_app(self.folder / "home", self.port, log, None, self.secrets)
        wait_healthy(f"http://127.0.0.1:{self.port}", self.process, log)

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbook")
    (folder / "home").mkdir()
    with oidc_provider(USERS, folder / "oidc.log") as provider:
        served = App(folder, provider)
        served.start()
        try:
            yield served
        finally:
            served.stop()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MNIST_LAB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, folder: Path, name: str, **query: str) -> None:
    """The page at 1,400 px, and as a phone of 390 px opens it (a new tab, its sidebar folded), with ``query``
    added to its address (``q="b6"`` opens the Report page at B6)."""
    wait_idle(page, timeout=WAIT)
    page.screenshot(path=str(folder / f"{name}-1400.png"), full_page=True)
    phone = page.context.new_page()
    try:
        phone.set_viewport_size({"width": 390, "height": 1100})
        url = urllib.parse.urlsplit(page.url)
        params = urllib.parse.urlencode({**dict(urllib.parse.parse_qsl(url.query)), **query})
        phone.goto(urllib.parse.urlunsplit(url._replace(query=params)))
        wait_idle(phone, timeout=WAIT)
        phone.wait_for_function(SETTLED)
        phone.screenshot(path=str(folder / f"{name}-390.png"), full_page=True)
    finally:
        phone.close()


def click_until(page, button, shown, *, timeout=WAIT):
    """Click ``button`` until ``shown`` is visible: a click that lands while the page is redrawn can be lost.

    A click is repeated only after a minute without ``shown``, and never once the button is gone.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        wait_idle(page, timeout=timeout)
        if shown.count():
            break
        if button.count():
            button.click()
        try:
            expect(shown).to_be_visible(timeout=60_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    expect(shown).to_be_visible()


def answer_box(page, number):
    return page.get_by_role("textbox", name=f"Your answer to {number}")


def download(page, label, folder: Path) -> Path:
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_role("button", name=label).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def upload_check(teacher, path: Path, expected: str) -> None:
    teacher.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    wait_idle(teacher, timeout=WAIT)
    expect(teacher.get_by_text(re.compile(expected))).to_be_visible(timeout=WAIT)


def test_a_student_answers_hands_in_and_the_teacher_checks(chromium, app, tmp_path):
    folder = shots(tmp_path)
    sessions = []
    try:
        alice_context, alice = log_in(chromium, app.url, "alice", "Alice")
        sessions.append(alice_context)
        alice_context.set_default_timeout(WAIT)
        open_page(alice, "Train", timeout=WAIT)
        start_training(alice, "alices run", epochs=1, images=2000)
        expect(alice.get_by_text(re.compile(r"alices run.*: finished"))).to_be_visible(timeout=WAIT)

        # The workbook: in a class the explanation opens only after her own answer.
        open_page(alice, "Report", timeout=WAIT)
        expect(alice.get_by_text("Handing in as Alice.")).to_be_visible(timeout=WAIT)
        open_tab(alice, "B6", timeout=WAIT)
        expect(alice.get_by_text("opens once you have saved your own answer")).to_be_visible()
        assert alice.get_by_role("button", name="Show MNIST Lab's explanation").count() == 0
        answer_box(alice, "B6").fill(WRONG)
        click_until(alice, alice.get_by_role("button", name="Save answer"),
                    alice.get_by_text(re.compile(r"Check this figure: 12\.34%: your run's test accuracy is \d+\.\d\d%")))
        expect(alice.get_by_text(re.compile(r"1 of 13"))).to_be_visible()
        click_until(alice, alice.get_by_role("button", name="Show MNIST Lab's explanation"),
                    alice.get_by_text("Opened after you saved your answer"))
        screenshot(alice, folder, "workbook", q="b6")

        kinds = {label: download(alice, label, tmp_path) for label in (
            "Hand-in (HTML, ready to print)", "Hand-in (PDF)", "Hand-in (Markdown, .zip)", "Hand-in (notebook)")}
        html = kinds["Hand-in (HTML, ready to print)"]
        text = html.read_text()
        assert "MNIST assignment by Alice" in text and WRONG in text and "Receipt" in text
        assert kinds["Hand-in (PDF)"].read_bytes().startswith(b"%PDF")
        assert any(name.endswith(".md") for name in zipfile.ZipFile(kinds["Hand-in (Markdown, .zip)"]).namelist())
        viewer = alice_context.new_page()
        viewer.goto(html.as_uri())
        for width in (1400, 390):
            viewer.set_viewport_size({"width": width, "height": 1100})
            viewer.screenshot(path=str(folder / f"handin-{width}.png"), full_page=True)
        viewer.close()

        # A second browser of hers sees the same answer (login).
        second_context, second = log_in(chromium, app.url, "alice", "Alice")
        sessions.append(second_context)
        open_page(second, "Report", timeout=WAIT)
        open_tab(second, "B6", timeout=WAIT)
        expect(answer_box(second, "B6")).to_have_value(WRONG, timeout=WAIT)

        # The teacher: the hand-in listed, a genuine copy and an edited one checked, explanations hidden.
        teacher_context, teacher = log_in(chromium, app.url, "teach", "Ms Teach")
        sessions.append(teacher_context)
        open_page(teacher, "Class", timeout=WAIT)
        expect(teacher.get_by_role("combobox", name="A hand-in", exact=True)).to_have_value(re.compile("Alice · alices run"),
                                                                                timeout=WAIT)
        for path in kinds.values():
            upload_check(teacher, path, r"Genuine: receipt MNL-")
        edited = tmp_path / "edited.html"
        edited.write_text(text.replace("still weak", "excellent"))
        upload_check(teacher, edited, r"Altered: the answer to B6 differs")
        teacher.get_by_text("Hidden: students never see").click()
        save = teacher.get_by_role("button", name="Save the setting")
        expect(save).to_be_visible(timeout=WAIT)
        wait_idle(teacher, timeout=WAIT)
        save.click()
        expect(save).to_have_count(0, timeout=WAIT)  # saved: the setting in force is the one shown
        screenshot(teacher, folder, "class")

        # Re-train to check: the two test accuracies side by side.
        click_until(teacher, teacher.get_by_role("button", name="Train it again with the same data, settings and seed"),
                    teacher.get_by_text("Queued: the result appears here when it has finished"))
        outcome = re.compile(r"points apart, so they (do not )?agree within 0\.3 points")
        deadline = time.monotonic() + WAIT / 1000
        while not teacher.get_by_text(outcome).count():  # the page shows it once the re-training has finished
            assert time.monotonic() < deadline, "the re-training's result never appeared on the Class page"
            teacher.reload()
            wait_idle(teacher, timeout=WAIT)
        expect(teacher.get_by_text(outcome)).to_be_visible()

        # The server restarts: her answers and the teacher's setting are still there.
        app.stop()
        app.start()
        alice.reload()
        wait_idle(alice, timeout=WAIT)
        expect(alice.get_by_text("Logged in as Alice")).to_be_visible(timeout=WAIT)
        open_page(alice, "Report", timeout=WAIT)
        open_tab(alice, "B6", timeout=WAIT)
        expect(answer_box(alice, "B6")).to_have_value(WRONG, timeout=WAIT)
        expect(alice.get_by_text("Opened after you saved your answer")).to_be_visible()  # revealed stays revealed
        open_tab(alice, "A1", timeout=WAIT)
        expect(alice.get_by_text("Your teacher has hidden MNIST Lab's explanations")).to_be_visible(timeout=WAIT)
    finally:
        for context in sessions:
            with contextlib.suppress(Exception):
                context.pages[0].screenshot(path=str(tmp_path / f"last-{sessions.index(context)}.png"))
            context.close()
