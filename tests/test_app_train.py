"""AppTest: start a small training from the Train page, wait for the job in Python, find the run in the picker."""

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.errors import RunNotFoundError
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import open_app_page
from tests.server import ROOT


def open_train_page():
    return open_app_page("app_pages/train.py")


def model_summary(at):
    """The Train page's table of the model's layers: found by its columns, since a training in progress shows the
    tables of its charts above it (one was first in a run under load)."""
    return next(table.value for table in at.dataframe if "params" in table.value.columns)


def test_choices_show_their_reasons_and_the_model_summary(home):
    at = open_train_page()
    assert "Your choices and why" in [h.value for h in at.header]
    summary = model_summary(at)
    assert {"layer", "output_shape", "params"} <= set(summary.columns)
    assert any("parameters" in md.value for md in at.markdown)


def test_architecture_change_loads_its_preset_and_summary(home):
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    assert not at.exception
    assert model_summary(at)["params"].sum() == 7850  # 784 inputs x 10 + 10 biases
    assert any("784" in md.value for md in at.markdown)  # the perceptron explanation


def test_bad_value_gives_a_message_not_a_crash(home):
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("mlp").run()
    at.text_input(key="train_hidden_layers").set_value("128, lots").run()
    assert not at.exception
    assert "whole numbers" in at.error[0].value


@pytest.mark.cluster
def test_start_training_and_find_the_run_in_the_picker(home):
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    at.number_input(key="train_epochs").set_value(1).run()
    at.number_input(key="train_train_limit").set_value(1000).run()
    at.text_input(key="train_run_name").set_value("apptest run").run()
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    from ui import resources

    job = resources.trainer().active()
    assert job is not None and job.name == "apptest run"
    assert job.join(timeout=120)
    at.run()
    assert not at.exception
    picker = at.sidebar.selectbox(key="sidebar_run_picker")
    assert picker.value == job.run_id
    assert "apptest run · finished" in picker.options



@pytest.mark.cluster
def test_reruns_during_training_do_not_change_its_curves(home):
    """Streamlit clears Keras' state after every rerun; the app must keep that from reaching the training."""
    from mnist_lab import training
    from mnist_lab.models import config, presets
    from mnist_lab.runs import store as run_store
    from ui import resources

    chosen = presets.preset("keras-classic")
    train_config = config.replace(chosen.train, epochs=2, train_limit=3000, batch_size=64)
    store = run_store.RunStore()
    quiet = training.new_job(store, "quiet", chosen.model, train_config)
    quiet.run()
    quiet_id = quiet.run_id

    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("keras-classic").run()
    at.number_input(key="train_epochs").set_value(2).run()
    at.number_input(key="train_train_limit").set_value(3000).run()
    at.select_slider(key="train_batch_size").set_value(64).run()
    at.button(key="start_training").click().run()
    job = resources.trainer().active()
    assert job.train_config == train_config and job.model_config == chosen.model
    while not job.join(timeout=0.2):
        at.run()  # the page polls and reruns while the training runs
    watched, quiet = store.get(job.run_id), store.get(quiet_id)
    assert [row["loss"] for row in watched.history] == [row["loss"] for row in quiet.history]


def test_a_training_parameter_in_an_old_url_is_ignored(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["train"] = "../../etc/passwd"
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    assert at.button(key="start_training") is not None


def test_custom_network_controls_change_the_summary_and_survive_a_page_switch(home):
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("custom").run()
    before = model_summary(at)["params"].sum()
    at.slider(key="train_conv_blocks").set_value(3).run()
    at.selectbox(key="train_activation").set_value("gelu").run()
    assert not at.exception and not at.error
    assert model_summary(at)["params"].sum() != before
    at.switch_page("app_pages/data.py").run()
    at.switch_page("app_pages/train.py").run()
    assert at.selectbox(key="train_architecture").value == "custom"
    assert at.slider(key="train_conv_blocks").value == 3
    assert at.selectbox(key="train_activation").value == "gelu"
    assert at.number_input(key="train_epochs").value == 5  # the custom preset, untouched


def test_a_network_too_big_to_train_gets_a_message_and_no_run(home):
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("custom").run()
    at.slider(key="train_conv_blocks").set_value(4).run()
    at.select_slider(key="train_filters").set_value(128).run()
    at.button_group(key="train_pooling").set_value("none").run()
    assert not at.exception
    assert any("more than the 20,000,000" in error.value for error in at.error)
    at.button(key="start_training").click().run()
    assert not at.exception
    from mnist_lab.runs.store import RunStore

    assert RunStore().list_runs() == []


@pytest.mark.cluster
def test_in_a_shared_lab_only_the_students_own_browser_gets_the_stop_button_whatever_the_url(home, monkeypatch):
    from mnist_lab import access
    from mnist_lab.models import config
    from ui import identity, resources

    monkeypatch.setenv(access.MODE_ENV, access.SHARED)
    # A long training, so that it still runs when the last session looks: more epochs than the shared lab's default.
    RunStore(home, user=access.User("teacher", "T", teacher=True)).set_class_limits(access.ClassLimits(max_epochs=200))
    alice_secret = "a" * 43
    alice = access.browser_user(alice_secret)
    job = resources.trainer().start("alice's", config.ModelConfig(architecture="perceptron"),
                                    config.TrainConfig(epochs=200, train_limit=1000, batch_size=50), user=alice)
    try:
        for secret, is_alice in ((None, False), ("b" * 43, False), (alice_secret, True)):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            at.query_params["run"] = job.run_id  # the URL Alice would share: it must give nothing
            if secret:
                at.session_state[identity._SECRET] = secret  # this browser's cookie
            at.run()
            at.switch_page("app_pages/train.py").run()
            assert not at.exception
            assert bool([button for button in at.button if button.key == "stop_training"]) is is_alice
            assert any("Someone else started" in info.value for info in at.info) is not is_alice
            shown = " ".join(str(element.value) for kind in ("markdown", "caption", "info", "subheader")
                             for element in at.get(kind))
            assert ("alice's" in shown) is is_alice and job.run_id not in shown
        with pytest.raises(RunNotFoundError):  # nor can the library be made to stop it for another browser
            resources.trainer().stop(job.run_id, access.browser_user("b" * 43))
        assert not job.stop_event.is_set()
        resources.trainer().stop(job.run_id, alice)
        assert job.join(timeout=120)
    finally:
        job.stop()
        job.join(timeout=120)


@pytest.mark.cluster
def test_after_a_reload_the_form_shows_the_running_trainings_settings_read_only_and_keeps_them(home):
    from mnist_lab.models import config
    from ui import resources

    train = config.TrainConfig(optimizer="sgd", learning_rate=0.02, epochs=150, train_limit=1000, batch_size=64)
    job = resources.trainer().start("watched", config.ModelConfig(architecture="perceptron"), train)
    try:
        at = open_train_page()
        shown = {
            "architecture": at.selectbox(key="train_architecture"), "optimizer": at.selectbox(key="train_optimizer"),
            "learning_rate": at.number_input(key="train_learning_rate"), "epochs": at.number_input(key="train_epochs"),
            "train_limit": at.number_input(key="train_train_limit"), "batch_size": at.select_slider(key="train_batch_size"),
        }
        assert {key: widget.value for key, widget in shown.items()} == {
            "architecture": "perceptron", "optimizer": "sgd", "learning_rate": 0.02, "epochs": 150, "train_limit": 1000,
            "batch_size": 64}
        assert all(widget.disabled for widget in shown.values())
        assert all(toggle.disabled for toggle in at.sidebar.toggle)
        assert model_summary(at)["params"].sum() == 7850  # the summary of the network that trains
        assert any("settings of your training in progress" in info.value for info in at.sidebar.info)
    finally:
        job.stop()
        assert job.join(timeout=120)
    at.run()
    assert not at.selectbox(key="train_architecture").disabled
    assert at.number_input(key="train_epochs").value == 150 and at.selectbox(key="train_optimizer").value == "sgd"


@pytest.mark.cluster
def test_a_training_that_ends_near_chance_is_told_what_went_wrong_and_keeps_its_batch_curve(home):
    from mnist_lab.models import config
    from ui import resources

    near_chance = config.TrainConfig(loss="mse", optimizer="sgd", learning_rate=1e-3, epochs=2, train_limit=1000,
                                     batch_size=50)
    job = resources.trainer().start("stuck", config.ModelConfig(architecture="perceptron"), near_chance)
    assert job.join(timeout=120)
    at = open_train_page()
    assert not at.success
    box = at.error[0].value
    assert box.startswith("**stuck**: finished.") and "**What went wrong.**" in box
    assert "is close to the 10.0% of guessing among 10 classes" in box
    assert "- Learning rate: 0.001 is too small for SGD" in box and "- Loss: Cross-entropy" in box
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert any("batch by batch" in spec for spec in specs) and any("accuracy per epoch" in spec for spec in specs)


@pytest.mark.cluster
def test_the_default_preset_collapsing_on_a_subset_is_named_with_its_cause(home):
    from mnist_lab.models import config, presets
    from ui import resources

    chosen = presets.preset("fast")
    job = resources.trainer().start("subset", chosen.model, config.replace(chosen.train, train_limit=3000))
    assert job.join(timeout=300)
    first = RunStore().get(job.run_id).history[0]
    assert first["accuracy"] - first["val_accuracy"] >= 0.2  # the collapse this warning is about
    at = open_train_page()
    box = at.warning[0].value
    assert box.startswith("**subset**: finished.") and "It learned its training images but not new ones: " in box
    assert f"{first['accuracy']:.1%} training against {first['val_accuracy']:.1%} validation accuracy" in box
    assert "Likely cause: batch normalisation" in box and "With 22 steps an epoch" in box


def test_the_form_warns_before_a_batch_normalised_training_too_short_to_settle(home):
    at = open_train_page()
    assert not [w for w in at.warning if "normalises its batches" in w.value]  # the default: the whole split
    at.number_input(key="train_train_limit").set_value(3000).run()
    warning = next(w.value for w in at.warning if "normalises its batches" in w.value)
    assert "this training makes 22 steps in all (22 steps an epoch)" in warning
    at.number_input(key="train_epochs").set_value(3).run()
    assert not [w for w in at.warning if "normalises its batches" in w.value]


def test_every_reason_is_shown_once(home):
    from mnist_lab.models import architectures, optim

    at = open_train_page()
    texts = [element.value for element in (*at.markdown, *at.caption, *at.info)]
    chosen = {
        "architecture": architectures.ARCHITECTURES[at.selectbox(key="train_architecture").value],
        "loss": optim.LOSSES[at.selectbox(key="train_loss").value],
        "optimizer": optim.OPTIMIZERS[at.selectbox(key="train_optimizer").value],
        "schedule": optim.SCHEDULES[at.selectbox(key="train_schedule").value],
    }
    for kind, choice in chosen.items():
        assert sum(choice.reason in text for text in texts) == 1, kind


@pytest.mark.cluster
def test_a_pasted_run_name_over_the_limit_is_cut_with_a_note_never_dropped(home):
    from mnist_lab.runs.store import NAME_MAX, RunStore
    from ui import resources

    pasted = "my very long run name " * 250  # 5,500 characters
    at = open_train_page()
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_train_limit").set_value(500)
    at.text_input(key="train_run_name").set_value(pasted).run()
    kept = pasted.strip()[:NAME_MAX]
    assert any(f"at most {NAME_MAX} characters; this one has 5,499" in warning.value for warning in at.warning)
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    job = resources.trainer().active()
    assert job.join(timeout=300)
    (run,) = RunStore().list_runs()
    assert run.name == kept

    at.run()
    at.sidebar.text_input(key=f"rename_{run.id}").set_value("x" * 83).run()
    assert any("this one has 83" in warning.value for warning in at.sidebar.warning)
    at.sidebar.button(key=f"save_name_{run.id}").click().run()
    assert RunStore().get(run.id).name == "x" * NAME_MAX
