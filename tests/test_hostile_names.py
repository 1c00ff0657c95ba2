"""Run names are user text: every page shows them as text, never as Markdown, links, images or HTML."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.server import ROOT

HOSTILE = "**bold** <img src=x onerror=alert(1)> [link](http://evil.example) ![pic](http://evil.example/p.png) $x$"


@pytest.mark.parametrize("page", ["app_pages/train.py", "app_pages/predict.py", "app_pages/evaluate.py", "app_pages/report.py"])
def test_hostile_run_name_is_shown_as_text(trained_copy, page):
    store = trained_copy
    run = store.list_runs()[0]
    store.rename(run.id, HOSTILE)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["active_run"] = run.id
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    shown = [element.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader")
             for element in getattr(at, kind) if "evil.example" in str(element.value)]
    shown += [element.value for element in at.sidebar.markdown if "evil.example" in str(element.value)]
    assert shown, "the name is shown somewhere on the page"
    for text in shown:
        assert not re.search(r"(?<!\\)\]\(http://evil", text), text  # an unescaped ] before ( makes a live link
        assert not re.search(r"(?<!\\)<img", text), text
