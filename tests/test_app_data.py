"""AppTest: the app opens on the Data page and shows the gallery and the charts, without TensorFlow."""

import re
import subprocess
import sys

from streamlit.testing.v1 import AppTest

from mnist_lab.data import explore
from tests.apptest_helpers import assert_valid_charts
from tests.server import ROOT


def test_data_page_renders(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    headers = [header.value for header in at.header]
    for title in ("Examples of every class", "Class balance", "Pixel intensities, raw and scaled", "All digits on one map"):
        assert title in headers
    assert len(at.get("image")) == 12  # one strip of examples per class, the class means, the deviations
    assert len(at.get("vega_lite_chart")) >= 5
    assert_valid_charts(at)
    assert "No runs yet" in at.sidebar.caption[0].value


def test_gallery_controls_change_the_examples(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    before = at.get("image")[0].value[0]
    at.slider(key="gallery_per_class").set_value(3).run()
    at.number_input(key="gallery_seed").set_value(7).run()
    assert not at.exception
    assert at.get("image")[0].value[0] != before


def test_tsne_map(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
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
    at.number_input(key="inspect_index").set_value(5).run()  # any other widget
    assert at.sidebar.selectbox(key="sidebar_run_picker").value == newer.id
    assert at.session_state["active_run"] == newer.id
