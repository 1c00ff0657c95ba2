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


def test_hostile_class_names_are_text_in_the_class_pages_sentence():
    import pandas as pd

    from mnist_lab.evaluation import classroom

    hostile = "![x](http://evil.example/x.png)"
    recalls = pd.DataFrame([{"dataset": "[click](http://evil.example)", "class": name, "recall": recall,
                             "student": "s", "run": "r", "complete": True}
                            for name, recall in ((hostile, 0.5), ("<b>bold</b>", 0.9))])
    sentence = classroom.hardest_classes(recalls, "[click](http://evil.example)")
    assert re.search(r"(?<!\\)[\[<]", sentence) is None  # every bracket escaped: no picture, link or tag
    assert r"\!\[x\](http" in sentence and r"\<b\>bold\</b\>" in sentence and r"\[click\]" in sentence
