"""Hyperparameters at their extremes: each works or is refused with a clear message, in the UI and the CLI."""

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.runs import store as run_store
from tests.server import ROOT
from tests.test_cli import cli

# (widget values, expected final status or None when the form must refuse with a message containing the text)
UI_CASES = {
    "learning rate 1e3": ({"train_learning_rate": 1000.0, "train_optimizer": "sgd", "train_train_limit": 500}, run_store.DIVERGED),
    "learning rate 1e-9": ({"train_learning_rate": 1e-9}, run_store.FINISHED),
    "batch size 1": ({"train_batch_size": 1}, run_store.FINISHED),
    "batch larger than the data": ({"train_batch_size": 1024}, run_store.FINISHED),
    "validation share 0": ({"train_validation_fraction": 0.0}, run_store.FINISHED),
}


def start_from_the_form(values):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/train.py").run()
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_train_limit").set_value(10)
    for key, value in values.items():
        next(widget for widget in at.sidebar if getattr(widget, "key", None) == key).set_value(value)
    at.run()
    assert not at.exception, at.exception
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.cluster
@pytest.mark.parametrize("case", list(UI_CASES))
def test_extreme_values_in_the_form(home, case):
    from ui import resources

    values, expected = UI_CASES[case]
    at = start_from_the_form(values)
    job = resources.trainer().active() or resources.trainer().job(at.session_state["training_run"])
    assert job is not None, [e.value for e in at.error]
    job.join(timeout=300)
    at.run()
    run = run_store.RunStore().get(job.run_id)
    assert run.status == expected, run.message
    if expected == run_store.DIVERGED:
        assert any("lower" in e.value for e in at.error), "the page says what to do"


@pytest.mark.cluster
def test_training_subset_of_ten_images_is_the_smallest_allowed(home):
    at = start_from_the_form({})
    from ui import resources

    assert resources.trainer().job(at.session_state["training_run"]).join(timeout=300)
    at.run()  # the form is read-only while its training runs (on a worker: still running at the last render)
    at.number_input(key="train_train_limit").set_value(5).run()
    assert "at least 10 images" in at.error[0].value
    assert all(button.key != "start_training" for button in at.button)  # nothing to start until it is fixed


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--epochs", "0"], "epochs must be between 1"),
        (["--lr", "0"], "learning_rate must be above 0"),
        (["--lr", "1e4"], "at most 1000"),
        (["--batch-size", "0"], "batch_size must be between 1"),
        (["--limit", "9"], "at least 10 images"),
        (["--validation", "0.99"], "validation_fraction must be between 0 and 0.5"),
    ],
)
def test_cli_refuses_out_of_range_values(tmp_path, args, fragment):
    result = cli("train", "--preset", "perceptron", *args, home=tmp_path)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.cluster
def test_cli_huge_learning_rate_reports_divergence(tmp_path):
    result = cli("train", "--preset", "perceptron", "--lr", "1000", "--limit", "200", "--epochs", "1", home=tmp_path)
    assert result.returncode == 1
    assert "diverged" in result.stdout and "10 times lower" in result.stdout
