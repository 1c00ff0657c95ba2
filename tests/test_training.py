"""The training engine on real MNIST subsets with real Keras models."""


import numpy as np
import pytest

from mnist_lab import access, training
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training import protocol
from tests.conftest import train_small_run
from tests.waiting import wait_for

ALICE, BOB = access.User("alice", "Alice"), access.User("bob", "Bob")


def small(architecture="perceptron", **train):
    train = {"epochs": 2, "train_limit": 1000, "batch_size": 50, **train}
    return config.ModelConfig(architecture=architecture), config.TrainConfig(**train)


@pytest.mark.cluster
def test_epochs_are_recorded_in_order_with_a_saved_model(home):
    store = run_store.RunStore()
    trainer = training.Trainer(store)
    job = trainer.start("order", *small(epochs=3))
    seen = []
    job.on_epoch(lambda row: seen.append(row["epoch"]))
    assert job.join(timeout=120)
    progress = job.progress()
    assert progress.status == run_store.FINISHED and seen[-1] == 3
    assert [row["epoch"] for row in progress.epoch_rows] == [1, 2, 3]
    times = [row["train_seconds"] for row in progress.epoch_rows]
    assert times == sorted(times) and times[0] > 0
    # batches are recorded in order within each epoch, 18 per epoch (900 training images / 50)
    assert progress.batches_per_epoch == 18
    assert [b["batch"] for b in progress.batches if b["epoch"] == 2] == list(range(1, 19))
    run = store.get(job.run_id)
    assert run.status == run_store.FINISHED and run.saved_epochs == 3 and len(run.history) == 3
    assert run.metrics["accuracy"] == pytest.approx(progress.epoch_rows[-1]["accuracy"])
    assert set(run.reasons) == {"architecture", "loss", "optimizer", "schedule"}
    model = inference.RunModel.load(store, run)
    assert model.predict_images(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


@pytest.mark.cluster
def test_stop_ends_within_one_batch_and_keeps_a_loadable_model(home):
    store = run_store.RunStore()
    job = training.Trainer(store).start("stop me", *small("keras-classic", epochs=5, train_limit=3000, batch_size=32))
    wait_for(lambda: job.progress().batch >= 3 or job.done, timeout=120, interval=0.01,
             what="the training to reach batch 3")
    job.stop()
    assert job.join(timeout=120)
    progress = job.progress()
    assert progress.status == run_store.STOPPED
    # Where the stop reached the training (in the worker that trains it): the batch in progress may still finish,
    # no further one.
    reached_epoch, reached_batch = job.stop_reached
    assert progress.epoch == reached_epoch and progress.batch in (reached_batch, reached_batch + 1)
    assert progress.epoch_rows[-1]["partial"] is True
    run = store.get(job.run_id)
    assert run.status == run_store.STOPPED and run.has_model
    assert inference.RunModel.load(store, run).predict_digit(np.zeros((28, 28))).shape == (10,)


@pytest.mark.cluster
def test_huge_learning_rate_ends_as_diverged(home):
    store = run_store.RunStore()
    job = training.Trainer(store).start("too fast", *small(learning_rate=1000.0, optimizer="sgd"))
    job.join(timeout=120)
    run = store.get(job.run_id)
    assert run.status == run_store.DIVERGED
    assert "diverged" in run.message and "learning rate" in run.message and "lower" in run.message
    assert not run.has_model  # a diverged first epoch saves no NaN weights


@pytest.mark.cluster
def test_one_training_per_student_at_a_time_and_the_next_student_queues(home):
    trainer = training.Trainer(run_store.RunStore())
    first = trainer.start("first", *small(epochs=3), user=ALICE)
    with pytest.raises(training.TrainingBusyError, match="already have a training in progress"):
        trainer.start("again", *small(), user=ALICE)
    second = trainer.start("second", *small(epochs=1), user=BOB)  # queued, not refused
    first.stop()
    assert first.join(timeout=120) and second.join(timeout=300)  # the second started by itself
    assert second.progress().status == run_store.FINISHED
    assert trainer.job(first.run_id) is first and trainer.active() is None
    third = trainer.start("third", *small(epochs=1), user=ALICE)  # alice's first training has ended
    assert third.join(timeout=300)


@pytest.mark.slow  # two real fits: 8 s
def test_same_config_and_seed_give_the_same_curves(home):
    store = run_store.RunStore()
    histories = []
    for name in ("a", "b"):
        run_id = train_small_run(store, name, "fast", epochs=1, limit=600, seed=3)
        histories.append([(row["loss"], row["val_loss"]) for row in store.get(run_id).history])
    assert histories[0] == histories[1]


def test_run_survives_a_restart_of_the_store(home):
    store = run_store.RunStore()
    run_id = train_small_run(store, "kept", "perceptron", epochs=1, limit=500)
    reopened = run_store.RunStore()
    run = reopened.get(run_id)
    assert run.status == run_store.FINISHED and run.saved_epochs == 1
    assert inference.RunModel.load(reopened, run).predict_images(np.zeros((1, 28, 28), np.uint8)).shape == (1, 10)


def test_validation_share_must_leave_training_images(mnist):
    with pytest.raises(config.ConfigError):
        config.TrainConfig(validation_fraction=0.99)
    split = training.split_data(mnist, config.TrainConfig(train_limit=10, validation_fraction=0.0))
    assert split.x_train.shape == (10, 28, 28, 1) and split.x_val is None
    assert split.x_train.dtype == np.uint8  # scaled per batch inside the model, never stored as float



def test_final_figures_name_what_the_run_measured():
    from mnist_lab.training import curves

    line = curves.final_figures({"accuracy": 0.98765, "val_accuracy": 0.99, "train_seconds": 12.4})
    assert line == "Last epoch: training accuracy 98.77%, validation accuracy 99.00%; 12 s of training."
    assert curves.final_figures({"train_seconds": 3.0}) == ""


def test_a_stop_between_epochs_starts_no_further_epoch(home):
    # Trained in this thread (the same fit as in a worker), so the stop lands exactly between epoch 1's last batch
    # and epoch 2: a listener runs in the training thread here, after a worker's epoch has arrived there.
    store = run_store.RunStore()
    job = training.new_job(store, "stop between", *small(epochs=3))
    job.on_epoch(lambda row: job.stop() if row["epoch"] == 1 else None)  # arrives after epoch 1's last batch
    job.run()
    run = store.get(job.run_id)
    assert run.status == run_store.STOPPED and run.message.startswith("Stopped after epoch 1;")
    assert [(row["epoch"], row["partial"]) for row in run.history] == [(1, False)]
    assert run.metrics["accuracy"] == pytest.approx(run.history[0]["accuracy"])


def test_a_stop_after_the_last_batch_still_counts_as_finished(home):
    store = run_store.RunStore()
    job = training.new_job(store, "stop at the end", *small(epochs=2))
    job.on_epoch(lambda row: job.stop() if row["epoch"] == 2 else None)
    job.run()
    assert store.get(job.run_id).status == run_store.FINISHED


@pytest.mark.cluster
def test_trainers_of_one_process_share_the_queue(home):
    store = run_store.RunStore()
    first = training.Trainer(store).start("first", *small(epochs=3), user=ALICE)
    other = training.Trainer(store)  # as after Streamlit's cache was cleared
    with pytest.raises(training.TrainingBusyError, match="'first'"):
        other.start("second", *small(), user=ALICE)
    assert other.active() is first and other.job(first.run_id) is first
    first.stop()
    assert first.join(timeout=120)


def test_a_stop_mid_epoch_skips_that_epochs_validation_and_test_but_keeps_its_model(home):
    # Stop should not wait for a validation (or test) pass over a partial epoch: its figures would describe a
    # model half-way through an epoch, and on a busy machine the pass takes seconds.
    store = run_store.RunStore()
    job = training.new_job(store, "stop mid-epoch", *small("perceptron", epochs=3, train_limit=4000, batch_size=50,
                                                             validation_fraction=0.5), evaluate_test=True)
    receive = job.send

    def stop_at_third_batch_of_epoch_two(kind, payload):  # the messages the fit sends, in its own thread here
        receive(kind, payload)
        if kind == protocol.BATCH and (payload["epoch"], payload["batch"]) == (2, 3):
            job.stop()

    job.send = stop_at_third_batch_of_epoch_two
    job.run()
    run = store.get(job.run_id)
    assert run.status == run_store.STOPPED and run.saved_epochs == 2
    full, partial = run.history
    assert not full["partial"] and {"val_loss", "val_accuracy", "test_accuracy"} <= set(full)
    assert partial["partial"] and not {"val_loss", "val_accuracy", "test_accuracy"} & set(partial)
    assert partial["epoch"] == 2 and job.stop_reached[0] == 2
    assert inference.RunModel.load(store, run).predict_images(np.zeros((1, 28, 28), np.uint8)).shape == (1, 10)


def test_a_finished_training_leaves_its_test_scores_for_the_first_evaluation(home, mnist):
    from mnist_lab import evaluation

    store = run_store.RunStore()
    run_id = train_small_run(store, "scored", "perceptron", epochs=2, limit=1000)
    run = store.get(run_id)
    stored = store.load_array(run_id, f"{inference.TEST_SCORES}_epoch{run.saved_epochs}")
    assert stored is not None and stored.shape == (10_000, 10) and stored.dtype == np.float32
    loaded = inference.RunModel.load(store, run)
    np.testing.assert_allclose(stored, loaded.predict_images(mnist.x_test), atol=1e-5)
    ev = evaluation.evaluate_run(store, run, lambda: loaded, mnist)  # reads the stored scores, predicts no test image
    assert ev.summary["accuracy"] == pytest.approx(float(np.mean(stored.argmax(axis=1) == mnist.y_test)))


@pytest.mark.cluster
def test_a_stopped_or_diverged_training_leaves_no_test_scores(home):
    store = run_store.RunStore()
    job = training.Trainer(store).start("too fast", *small(learning_rate=1000.0, optimizer="sgd"))
    assert job.join(timeout=300)
    assert not list((home / "runs" / job.run_id).glob("test_scores*"))
