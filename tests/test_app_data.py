"""AppTest: the app opens on the Data page and shows the gallery and the charts, without TensorFlow."""

import re
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.data import explore
from tests.apptest_helpers import assert_valid_charts
from tests.server import ROOT

#: Each tab of the Data page: its headings, pictures (a strip per class, or the class means and deviations) and charts.
TABS = {
    "Examples": (["Examples of every class"], 10, 0),
    "Classes": (["Class balance", "The average digit and where digits differ"], 2, 1),
    "Pixels": (["Pixel intensities, raw and scaled", "One digit, pixel by pixel"], 0, 3),
    "Map": (["All digits on one map"], 0, 1),
    "Facts": (["Facts and credits"], 0, 0),
}


def test_data_page_renders_one_tab_at_a_time(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert [tab.label for tab in at.tabs] == list(TABS)
    assert "No runs yet" in at.sidebar.caption[0].value
    for tab, (headers, images, charts) in TABS.items():
        at.session_state["data_tab"] = tab
        at.run()
        assert not at.exception, tab
        assert [header.value for header in at.header] == headers
        assert (len(at.get("image")), len(at.get("vega_lite_chart"))) == (images, charts), tab
        assert_valid_charts(at)
    assert "CC BY-SA 3.0" in at.main.caption[-1].value


def test_gallery_controls_change_the_examples(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    before = at.get("image")[0].value[0]
    at.slider(key="gallery_per_class").set_value(3).run()
    at.number_input(key="gallery_seed").set_value(7).run()
    assert not at.exception
    assert at.get("image")[0].value[0] != before
    at.session_state["data_tab"] = "Map"
    at.run()
    at.session_state["data_tab"] = "Examples"
    at.run()  # the gallery's settings are still set on coming back to its tab
    assert (at.slider(key="gallery_per_class").value, at.number_input(key="gallery_seed").value) == (3, 7)


@pytest.mark.slow  # computes a t-SNE map of the digits: 4 s
def test_tsne_map(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["data_tab"] = "Map"
    at.run()
    at.radio(key="map_method").set_value("tsne").run()
    assert not at.exception
    slider = at.slider(key="tsne_sample")
    assert slider.max == explore.TSNE_MAX_SAMPLE  # t-SNE gets a slider of its own, capped to stay within seconds
    slider.set_value(500).run()
    assert not at.exception
    titles = [re.search(r'"title": ?"(500 training images, TSNE[^"]*)"', chart.proto.spec) for chart in at.get("vega_lite_chart")]
    title = next(match.group(1) for match in titles if match)
    seconds = float(re.search(r"computed in ([0-9.]+) s", title).group(1))
    caption = next(c.value for c in at.caption if "t-SNE map took" in c.value)
    assert f"took {seconds:.1f} s to compute" in caption  # the time measured when it ran, in the title and the caption


@pytest.mark.slow  # a fresh interpreter: 7 s
def test_data_page_does_not_load_tensorflow(home):
    code = (
        "import sys; from streamlit.testing.v1 import AppTest;"
        "at = AppTest.from_file('app.py', default_timeout=60); at.run();"
        "assert not at.exception, at.exception;"
        "sys.exit(1 if 'tensorflow' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_runs_with_the_same_name_stay_apart_in_the_picker(trained_copy):
    store = trained_copy
    newer, older = store.list_runs()[:2]
    for run in (newer, older):
        store.rename(run.id, "fast · adam · 2 ep")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    picker = at.sidebar.selectbox(key="sidebar_run_picker")
    assert picker.value == newer.id
    assert len(set(picker.options)) == len(picker.options)  # the browser sends back the label: it must be unique
    at.number_input(key="gallery_seed").set_value(5).run()  # any other widget
    assert at.sidebar.selectbox(key="sidebar_run_picker").value == newer.id
    assert at.session_state["active_run"] == newer.id
