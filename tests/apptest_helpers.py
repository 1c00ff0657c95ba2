"""Opening the app's pages in Streamlit's AppTest."""

import functools
import json
import threading

import jsonschema
from streamlit.testing.v1 import AppTest

from mnist_lab import access
from mnist_lab.training import experiments
from tests.server import ROOT
from tests.waiting import wait_for
from ui import identity

#: The class of the AppTest tests: two students and a teacher, logged in.
TEACHER = access.User("login:teach", "Ms Teach", teacher=True)
ALICE, BOB = access.User("login:alice", "Alice"), access.User("login:bob", "Bob")


def as_user(monkeypatch, user):
    """Make every session of the test act for ``user``, as a login would."""
    monkeypatch.setattr(identity, "current_user", lambda: user)


def open_app_page(page: str, *, active_run: str | None = None, browser: str | None = None) -> AppTest:
    """Run the app, switch to ``page`` (such as "app_pages/train.py") and check it rendered without exception.

    ``browser`` is the secret a shared lab's browser cookie holds (43 URL-safe characters): the session is then
    that browser's student.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if active_run is not None:
        at.session_state["active_run"] = active_run
    if browser is not None:
        at.session_state[identity._SECRET] = browser
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert_valid_charts(at)
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab ``label`` of the lazily drawn ``st.tabs`` with ``key``, as a click on it does, and check it."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, at.exception
    assert_valid_charts(at)
    return at


@functools.cache
def _vega_lite_schema() -> dict:
    from altair.vegalite.v6.schema.core import load_schema

    return load_schema()


def assert_valid_charts(at: AppTest) -> None:
    """Every chart the page drew is valid Vega-Lite: the app draws specs without Altair's validation (ui/vega.py)."""
    for chart in at.get("vega_lite_chart"):
        jsonschema.validate(json.loads(chart.proto.spec), _vega_lite_schema())


def comparison_running() -> bool:
    """Whether a one-click comparison's thread is still alive in this process."""
    return any(thread.name.startswith("experiment-") for thread in threading.enumerate())


def wait_for_comparison(store, key: str, timeout: float = 180) -> experiments.Outcome:
    """Wait until every run of the comparison ``key`` has ended and its thread is gone; return its outcome."""
    def ended():
        outcome = experiments.outcome(store, experiments.EXPERIMENTS[key])
        return outcome if outcome is not None and outcome.complete and not comparison_running() else None

    return wait_for(ended, timeout=timeout, interval=0.5, what=f"the comparison {key} to end")
