"""AppTest: the Predictions page with real small models, and without a usable one."""

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.predictions import inference
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import open_tab
from tests.server import ROOT


def open_predictions(run_name: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if run_name is not None:
        at.sidebar.selectbox(key="sidebar_run_picker").set_value(run_id_named(run_name)).run()
    at.switch_page("app_pages/predict.py").run()
    assert not at.exception, at.exception
    return at


def run_id_named(name: str) -> str:
    return next(run.id for run in RunStore().list_runs() if run.name == name)


def scores_of(store: RunStore, name: str, images: np.ndarray) -> np.ndarray:
    run = store.get(run_id_named(name))
    return inference.test_scores(store, run, inference.RunModel.load(store, run), images)


def captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.caption]


def test_without_runs_the_page_says_what_to_do(home):
    at = open_predictions()
    assert "No run yet" in at.info[0].value
    assert not at.tabs


def test_a_run_still_in_its_first_epoch_is_waited_for(home):
    from mnist_lab.models import config

    RunStore().create_run("just started", config.to_dict(config.ModelConfig()), config.to_dict(config.TrainConfig()), {})
    at = open_predictions()
    assert "**just started** is still in its first epoch" in at.info[0].value
    assert not at.warning and not at.tabs


def test_test_digits_grid_and_one_output_explained(trained_store, mnist):
    at = open_predictions("small fast")
    assert [tab.label for tab in at.tabs] == ["Test digits", "Your own digit", "The wrong shape", "Inside the network"]
    grid = at.get("image")[0]
    assert len(grid.proto.imgs) == 30
    assert all(re.fullmatch(r"[✓✗] \d → \d · \d+%", img.caption) for img in grid.proto.imgs)
    pick = at.selectbox(key="predict_sample")
    scores = scores_of(trained_store, "small fast", mnist.x_test)
    assert pick.value == int(np.argmin(scores.max(axis=1)))  # least sure first
    predicted = int(np.argmax(scores[pick.value]))
    assert any(f"`np.argmax` picks the position of the largest: **{predicted}**" in md.value for md in at.markdown)
    assert any(f"np.argmax(probabilities)  # {predicted}" in code.value for code in at.code)


def test_filters_show_only_the_chosen_mistakes(trained_store, mnist):
    at = open_predictions("small fast")
    scores, labels = scores_of(trained_store, "small fast", mnist.x_test), mnist.y_test
    at.toggle(key="predict_mistakes").set_value(True).run()
    at.selectbox(key="predict_true").set_value(4).run()
    assert not at.exception
    mistakes = int(np.sum((labels == 4) & (scores.argmax(axis=1) != 4)))
    assert any(caption.startswith(f"{mistakes:,} of 10,000 test digits match") for caption in captions(at))
    assert all(img.caption.startswith("✗ 4 → ") for img in at.get("image")[0].proto.imgs)
    open_tab(at, "predict_tab", "Inside the network")
    open_tab(at, "predict_tab", "Test digits")  # the filters are still set on coming back
    assert (at.toggle(key="predict_mistakes").value, at.selectbox(key="predict_true").value) == (True, 4)
    at.selectbox(key="predict_predicted").set_value(4).run()  # a 4 predicted as 4 is no mistake
    assert "No test digit matches these filters." in [info.value for info in at.info]


def test_wrong_shape_tab_shows_the_models_errors_and_the_fix(trained_store, mnist):
    at = open_predictions("small fast")
    assert not at.code or not any("input shape" in code.value for code in at.code)  # only the open tab is drawn
    first = at.selectbox(key="predict_sample").value
    at.selectbox(key="predict_true").set_value(7 if int(mnist.y_test[first]) != 7 else 2).run()  # another digit
    picked = at.selectbox(key="predict_sample").value
    assert picked != first
    open_tab(at, "predict_tab", "The wrong shape")
    assert any(f"Test digit #{picked} as a colour" in md.value for md in at.markdown)  # the digit picked before
    codes = [code.value for code in at.code]
    assert any(code.startswith("ValueError: Input 0") and "found shape=(28, 28, 3)" in code for code in codes)
    assert any("# input shape (1, 28, 28, 1)" in code for code in codes)
    assert any("Runs: 10 probabilities" in success.value for success in at.success)


def test_inside_the_network_of_a_convnet(trained_store):
    at = open_tab(open_predictions("small fast"), "predict_tab", "Inside the network")
    subheaders = [sub.value for sub in at.main.subheader]
    assert subheaders[0] == "First-layer filters"
    assert sum(sub.startswith("Feature maps of ") for sub in subheaders) == 2
    assert subheaders[-1] == "Which pixels drove the decision"
    assert any("Gradient x input" in caption for caption in captions(at))
    at.radio(key="predict_inside_source").set_value("own").run()  # nothing drawn yet: falls back to the test digit
    assert not at.exception
    assert any("Draw or upload a digit" in info.value for info in at.info)


def test_a_perceptron_has_no_convolutions_and_the_page_says_so(trained_store):
    at = open_tab(open_predictions("small perceptron"), "predict_tab", "Inside the network")
    assert any("no convolution layers" in info.value for info in at.info)
    subheaders = [sub.value for sub in at.main.subheader]
    assert subheaders == ["First-layer weights", "Which pixels drove the decision"]


def test_the_canvas_starts_empty_with_a_hint(trained_store):
    at = open_tab(open_predictions("small fast"), "predict_tab", "Your own digit")
    assert any("Draw a digit or upload a picture" in info.value for info in at.info)
    at.segmented_control(key="predict_input").set_value("Upload").run()
    assert not at.exception
    assert at.get("file_uploader")


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_a_run_without_a_usable_model_gets_a_message(trained_copy, damage):
    model_file = trained_copy.model_path(next(run.id for run in trained_copy.list_runs() if run.name == "small fast"))
    if damage == "delete":
        model_file.unlink()
    else:
        model_file.write_bytes(b"not a keras file")
    at = open_predictions("small fast")
    assert "cannot make predictions" in at.warning[0].value
    assert ("missing" if damage == "delete" else "damaged") in at.warning[0].value


def test_a_diverged_run_without_a_saved_epoch_says_why(home):
    from mnist_lab.models import config
    from mnist_lab.runs.store import DIVERGED

    store = RunStore()
    run_id = store.create_run("exploded", config.to_dict(config.ModelConfig()), config.to_dict(config.TrainConfig()), {})
    store.finish(run_id, DIVERGED, message="Training diverged: the loss became NaN. Try a learning rate 10 times lower.")
    at = open_predictions("exploded")
    assert "cannot make predictions" in at.warning[0].value
    assert "(diverged: Training diverged: the loss became NaN. Try a learning rate 10 times lower)" in at.warning[0].value


def test_an_uploaded_photo_shows_the_box_read_and_a_crop_set_by_hand(trained_store, mnist):
    from tests.photos import digit_on_desk

    index = int(np.flatnonzero(mnist.y_test == 4)[0])
    at = open_tab(open_predictions("small fast"), "predict_tab", "Your own digit")
    at.segmented_control(key="predict_input").set_value("Upload").run()
    at.get("file_uploader")[0].set_value(("four.jpg", digit_on_desk(mnist.x_test[index]), "image/jpeg")).run()
    assert not at.exception, at.exception
    picture = at.get("image")[0].proto.imgs[0]
    assert picture.caption.startswith("Your picture. MNIST Lab read the part inside the red box (from ")
    assert "it left out dark areas along the bottom edge" in picture.caption
    assert any("The model reads **4**" in md.value for md in at.markdown)
    assert not at.warning  # one clear digit: no warning beside the prediction
    at.toggle(key="predict_crop_by_hand").set_value(True).run()
    across = next(slider for slider in at.slider if slider.key.startswith("predict_crop_across_"))
    down = next(slider for slider in at.slider if slider.key.startswith("predict_crop_down_"))
    left, right = across.value
    top, bottom = down.value
    assert f"from {left}% to {right}% of the width, {top}% to {bottom}% of the height" in picture.caption
    down.set_value((top, 100)).run()  # down into the desk
    caption = at.get("image")[0].proto.imgs[0].caption
    assert caption.endswith(f"from {left}% to {right}% of the width, {top}% to 100% of the height), as you set it.")
    across.set_value((50, 50)).run()  # an empty crop
    assert not at.exception
    assert any("The crop must go from left to right" in warning.value for warning in at.warning)


def test_a_picture_unlike_one_digit_gets_a_warning_beside_the_prediction(trained_store, mnist):
    from tests.photos import jpeg, paper, write

    page = paper((1600, 900))
    for position in range(3):
        write(page, mnist.x_test[position], top=250, left=100 + 500 * position, side=400)
    at = open_tab(open_predictions("small fast"), "predict_tab", "Your own digit")
    at.segmented_control(key="predict_input").set_value("Upload").run()
    at.get("file_uploader")[0].set_value(("three.jpg", jpeg(page), "image/jpeg")).run()
    assert not at.exception, at.exception
    assert any(md.value.startswith("The model reads **") for md in at.markdown)  # still predicted
    assert [warning.value for warning in at.warning] == [
        "This looks unlike a single digit: 3 separate marks of similar size lie apart from each other (several "
        "digits, or writing?). The model always answers with one of its classes, so its answer may mean little here."]
