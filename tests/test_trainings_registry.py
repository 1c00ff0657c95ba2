"""The process's one registry of trainings: every Trainer finds the same jobs, and ended ones do not pile up."""

import itertools
import math

from mnist_lab.training.server import trainer as trainers

_ticks = itertools.count()


class Workers:
    """An engine as the queue sees it: no worker slot, so every job stays waiting."""

    description = "no worker"

    def slots(self):
        return 0


class Job:
    """What the registry and the queue read of a job."""

    def __init__(self, done):
        self.run_id = f"run-{next(_ticks)}"
        self.owner, self.queued_at, self.started_at = "alice", next(_ticks), math.nan
        self.network, self.images_to_train, self.done = "fast", 600, done

    def wait_in(self, queue):
        self.queue = queue

    def seconds_left(self):
        return math.nan


def test_the_oldest_ended_jobs_are_forgotten_beyond_the_bound_and_running_ones_never(monkeypatch):
    monkeypatch.setattr(trainers, "ENDED_JOBS_KEPT", 3)
    trainings, workers = trainers.Trainings(), Workers()
    running = Job(done=False)
    ended = [Job(done=True) for _ in range(5)]
    for job in [running, *ended]:
        trainings.enqueue(job, workers)
    newest = Job(done=False)
    trainings.enqueue(newest, workers)
    assert trainings.jobs() == [running, *ended[-3:], newest]
    assert trainings.job(ended[0].run_id) is None and trainings.job(running.run_id) is running
    assert running.queue is newest.queue is trainings.queue_of(workers)  # one queue per engine
