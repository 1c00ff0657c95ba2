"""The fair queue: students take turns for the worker slots; waiting trainings show their place, start by
themselves and can be cancelled. The order is checked on the queue itself; then three browser sessions (AppTest)
share one worker slot of the real embedded cluster."""

import itertools
import math
import time

import pytest

from mnist_lab import access
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan
from mnist_lab.training.server.fair_queue import FairQueue
from tests.apptest_helpers import open_app_page
from tests.waiting import wait_for

_ticks = itertools.count()


class FakeWorkers:
    """Worker slots that the test opens: ``free`` trainings at once."""

    def __init__(self, slots):
        self.free = slots

    def slots(self):
        return self.free


class FakeJob:
    """What the queue knows of a training (its ``Queued`` protocol); ``launch`` records that the queue started it."""

    def __init__(self, owner, name):
        self.owner, self.name, self.queued_at = owner, name, next(_ticks)
        self.started_at, self.launched = math.nan, False
        self.network, self.images_to_train = "fast", 2 * 6000

    def seconds_left(self):
        return math.nan

    def launch(self):
        self.launched, self.started_at = True, time.monotonic()


def fair_queue(workers):
    """A fair queue over ``workers`` that launches the fake jobs."""
    return FairQueue(slots=workers.slots, start=FakeJob.launch, fail=lambda job, message: None,
                     where="a test engine")


def order(queue, jobs):
    places = {job.name: queue.place(job) for job in jobs}
    waiting = sorted((place[0], name) for name, place in places.items() if place[0])
    return [name for _, name in waiting], places


def test_students_take_turns_and_one_students_sweep_fills_only_free_slots():
    free = FakeWorkers(slots=0)
    queue = fair_queue(free)
    alice = [FakeJob("alice", f"alice {n}") for n in (1, 2, 3)]  # a sweep of three runs, queued first
    bob, carol = FakeJob("bob", "bob"), FakeJob("carol", "carol")
    everyone = [*alice, bob, carol]
    for job in everyone:
        queue.put(job)
    names, places = order(queue, everyone)
    assert names == ["alice 1", "bob", "carol", "alice 2", "alice 3"]
    waits = [places[name][1] for name in names]
    assert waits == sorted(waits) and waits[0] == 0.0 and waits[1] > 0  # one slot assumed until one is known

    free.free = 1  # a worker joins: the first in line starts by itself
    wait_for(lambda: alice[0].launched, timeout=10, what="Alice's first training to launch")
    names, _ = order(queue, everyone)
    assert names == ["bob", "carol", "alice 2", "alice 3"]  # alice has a training running: the others go first
    assert queue.cancel(carol) and not queue.cancel(carol)
    assert order(queue, everyone)[0] == ["bob", "alice 2", "alice 3"]
    assert queue.busy("alice") is alice[0] and queue.busy("carol") is None

    free.free = 3  # more workers: every slot is used, alice's sweep too
    wait_for(lambda: bob.launched and alice[1].launched, timeout=10,
             what="Bob's and Alice's second trainings to launch")
    assert not alice[2].launched and queue.overview().running == 3 and queue.overview().waiting == 1
    assert bob.started_at <= alice[1].started_at


def set_up_training(at, name, epochs):
    at.selectbox(key="train_architecture").set_value("perceptron").run()
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_train_limit").set_value(2000)
    at.text_input(key="train_run_name").set_value(name).run()


@pytest.mark.cluster
def test_three_sessions_on_one_slot_see_their_place_and_start_in_turn_without_a_click(home, monkeypatch):
    from ui import resources

    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "1")  # one worker slot, whatever the machine
    monkeypatch.setenv(access.MODE_ENV, access.SHARED)  # four browsers are four students
    sessions = {name: open_app_page("app_pages/train.py", browser=name.ljust(43, "x"))
                for name in ("first", "second", "third", "cancelled")}
    for name, at in sessions.items():
        set_up_training(at, name, epochs=4 if name == "first" else 1)
    trainer = resources.trainer()

    def job_of(name):
        return trainer.job(sessions[name].session_state["training_run"])

    sessions["first"].button(key="start_training").click().run()
    wait_for(lambda: not job_of("first").waiting or job_of("first").done, timeout=300,
             what="the first training to leave the queue")
    for name in ("second", "third", "cancelled"):
        sessions[name].button(key="start_training").click().run()
        assert not sessions[name].exception, sessions[name].exception
    for position, name in enumerate(("second", "third", "cancelled"), start=1):
        at = sessions[name].run()
        shown = " ".join(info.value for info in at.info)
        assert f"position {position} in the queue" in shown, shown
        assert at.button(key="start_training").disabled  # one training per student at a time
        assert at.button(key="cancel_training") is not None
    cancelled = job_of("cancelled")
    sessions["cancelled"].button(key="cancel_training").click().run()
    assert cancelled.done and cancelled.stop_event.is_set()
    assert not sessions["cancelled"].button(key="start_training").disabled

    jobs = {name: job_of(name) for name in ("first", "second", "third")}
    assert all(job.join(timeout=600) for job in jobs.values())  # nobody clicked again
    store = run_store.RunStore().as_user(access.SERVER)
    assert [store.get(job.run_id).status for job in jobs.values()] == ["finished"] * 3
    starts = [job.started_at for job in jobs.values()]
    assert starts == sorted(starts), "the trainings started in the order they were queued"
    assert math.isnan(cancelled.started_at) and not cancelled.worker  # never sent to a worker
    assert cancelled.run_id not in {run.id for run in store.list_runs(everyone=True)}
    for name in ("second", "third"):
        at = sessions[name].run()
        assert any(f"**{name}**: finished" in notice.value for notice in [*at.success, *at.error])


@pytest.mark.cluster
def test_one_student_pressing_start_in_many_tabs_at_once_gets_one_training(home, monkeypatch):
    import threading

    from mnist_lab import training
    from mnist_lab.errors import TrainingBusyError
    from mnist_lab.models import config

    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "1")
    trainer = training.Trainer(run_store.RunStore(home))
    student = access.User("login:alice", "Alice")
    long = (config.ModelConfig(architecture="perceptron"), config.TrainConfig(epochs=200, train_limit=2000))
    tabs = 6
    barrier, results = threading.Barrier(tabs), []

    def press_start(tab):
        barrier.wait()
        try:
            results.append(trainer.start(f"tab {tab}", *long, user=student))
        except TrainingBusyError as refused:
            results.append(refused)

    threads = [threading.Thread(target=press_start, args=(tab,)) for tab in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    started = [result for result in results if isinstance(result, training.TrainingJob)]
    assert len(results) == tabs and len(started) == 1, results
    assert len(run_store.RunStore(home, user=student).list_runs()) == 1
    started[0].stop()
    assert started[0].join(timeout=300)
