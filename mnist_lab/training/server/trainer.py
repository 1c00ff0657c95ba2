"""The trainer: what pages call to start, find and stop trainings, over this process's one set of trainings.

A :class:`Trainer` is cheap and may be made again (Streamlit clears its caches); every Trainer of a process shares
its :class:`Trainings`: one registry of jobs, one admission lock and one fair queue per engine, so the rule of one
training per student and the queue's order hold whichever Trainer a page holds.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from mnist_lab import access
from mnist_lab.data import Dataset, dataset_for_run, shared_mnist
from mnist_lab.errors import MnistLabError, RunNotFoundError, TrainingBusyError
from mnist_lab.models import architectures, config
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import engine as engines
from mnist_lab.training.server.admission import check_limits, create_job, for_dataset
from mnist_lab.training.server.fair_queue import FairQueue, Overview
from mnist_lab.training.server.job import TrainingJob, quietly

logger = logging.getLogger(__name__)

#: How long a shutting-down process waits for its trainings to stop and their last model to arrive.
SHUTDOWN_WAIT_SECONDS = 30.0
#: Ended jobs the registry keeps for pages that look at a training after its end; older ones are read from the store.
ENDED_JOBS_KEPT = 256


class Trainings:
    """Every training this process queues: the job registry, the admission lock and a fair queue per engine."""

    def __init__(self) -> None:
        #: Held from the class-limit checks to the queueing: two tabs of a student pressing Start at once were both
        #: queued when it was not.
        self.admission = threading.Lock()
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}
        self._queues: dict[engines.Engine, FairQueue] = {}

    def queue_of(self, engine: engines.Engine) -> FairQueue:
        """The fair queue of ``engine``'s workers (made on first use)."""
        with self._lock:
            if engine not in self._queues:
                self._queues[engine] = FairQueue(slots=engine.slots, start=functools.partial(_launch, engine),
                                                 fail=_fail, where=engine.description)
                _shut_down_at_exit()
            return self._queues[engine]

    def enqueue(self, job: TrainingJob, engine: engines.Engine) -> None:
        """Register ``job`` and let it wait for ``engine``'s workers."""
        with self._lock:
            self._jobs[job.run_id] = job
            self._forget_old_ended()
        job.wait_in(self.queue_of(engine))

    def job(self, run_id: str) -> TrainingJob | None:
        """The job of ``run_id``, if this process queued it."""
        with self._lock:
            return self._jobs.get(run_id)

    def jobs(self) -> list[TrainingJob]:
        """Every job the registry holds, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.queued_at)

    def shut_down(self) -> None:
        """Stop the running trainings, keep the waiting ones for the next server, wait for the last models, and
        close the engines (at the interpreter's exit)."""
        with self._lock:
            queues = list(self._queues.values())
        running = [job for queue in queues for job in queue.shut_down()]
        for job in running:
            job.stop()
        deadline = time.monotonic() + SHUTDOWN_WAIT_SECONDS
        for job in running:
            job.join(max(0.0, deadline - time.monotonic()))
        for engine in engines.engines():
            engine.close()

    def _forget_old_ended(self) -> None:
        """Drop the oldest ended jobs beyond :data:`ENDED_JOBS_KEPT` (lock held)."""
        ended = sorted((job for job in self._jobs.values() if job.done), key=lambda job: job.queued_at)
        for job in ended[:max(0, len(ended) - ENDED_JOBS_KEPT)]:
            del self._jobs[job.run_id]


#: This process's trainings.
TRAININGS = Trainings()


def _launch(engine: engines.Engine, job: TrainingJob) -> None:
    job.launch(engine)


def _fail(job: TrainingJob, message: str) -> None:
    job.fail(message)


@functools.cache
def _shut_down_at_exit() -> None:
    """Register :meth:`Trainings.shut_down` once, after Dask is loaded.

    Exit handlers run newest first: registered after Dask's own, ours stops the trainings and receives their last
    model while the client still works.
    """
    import atexit

    import distributed  # noqa: F401  (registers Dask's exit handlers first)

    atexit.register(TRAININGS.shut_down)


class Trainer:
    """Queues trainings on the Dask workers (:mod:`mnist_lab.training.server.engine`) and finds jobs again by run id.

    Parameters
    ----------
    store : RunStore
        Where runs are kept; this process is its writer. Each training acts for the student who starts it.
    limits : ClassLimits, optional
        The lab's limits from its settings (``AccessSettings.limits``), for each one the teacher has not set.
    """

    def __init__(self, store: run_store.RunStore, *, limits: access.ClassLimits | None = None):
        self.store = store
        self.limits = limits or access.ClassLimits()

    @property
    def engine(self) -> engines.Engine:
        """The engine of the current configuration (``MNIST_LAB_SCHEDULER``, ``MNIST_LAB_WORKERS``)."""
        return engines.shared()

    def start(
        self,
        name: str,
        model_config: config.ModelConfig,
        train_config: config.TrainConfig,
        *,
        dataset: Dataset | None = None,
        experiment: str = "",
        user: access.User = access.PERSONAL,
        evaluate_test: bool = False,
    ) -> TrainingJob:
        """Create a run and queue its training; it starts by itself when a worker slot is its turn.

        The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the
        network gets one output unit per class of the dataset. ``experiment`` tags the run as part of a
        one-click experiment or a sweep (see ``RunStore.create_run``). The run belongs to ``user``.

        Raises
        ------
        TrainingBusyError
            ``user`` already has a training waiting or running (one per student at a time).
        LimitExceededError
            The training breaks a limit the teacher set for the class.
        EngineUnavailableError
            The workers cannot be reached; the message says what to do.
        ConfigError
            The network is too big to train here (see ``architectures.check_size``).
        """
        return self.start_many([(name, model_config, train_config)], dataset=dataset, experiment=experiment,
                               user=user, evaluate_test=evaluate_test)[0]

    def start_many(
        self,
        trainings: list[tuple[str, config.ModelConfig, config.TrainConfig]],
        *,
        dataset: Dataset | None = None,
        experiment: str = "",
        user: access.User = access.PERSONAL,
        evaluate_test: bool = False,
    ) -> list[TrainingJob]:
        """Queue several trainings of one student at once (a sweep): ``(name, model_config, train_config)`` each.

        They count as the student's one training: refused while the student has another waiting or running.

        Raises
        ------
        TrainingBusyError, LimitExceededError, EngineUnavailableError, ConfigError
            As :meth:`start`; nothing is queued then.
        """
        dataset = dataset or shared_mnist()
        store = self.store.as_user(user)
        sized = [(name, for_dataset(model, dataset), train) for name, model, train in trainings]
        for _, model_config, _ in sized:
            architectures.check_size(model_config)
        engine = self.engine
        engine.client()
        queue = TRAININGS.queue_of(engine)
        # The thread lock orders this server's sessions; the store's lock, every process using the database.
        with TRAININGS.admission, store.exclusive("admission"):
            limits = check_limits(store, [(model, train) for _, model, train in sized], self.limits)
            _refuse_busy(queue, user)
            jobs = [create_job(store, name, model_config, train_config, dataset, limits=limits, experiment=experiment,
                               evaluate_test=evaluate_test)
                    for name, model_config, train_config in sized]
            for job in jobs:
                TRAININGS.enqueue(job, engine)
        return jobs

    def queue(self, job: TrainingJob) -> None:
        """Queue a job made by :func:`~mnist_lab.training.server.admission.new_job` (which admitted it)."""
        with TRAININGS.admission:
            TRAININGS.enqueue(job, self.engine)

    def limits_for(self, user: access.User) -> access.ClassLimits:
        """The limits ``user``'s trainings are held to: the teacher's, else the lab's settings (only the time limit
        for a teacher)."""
        limits = self.store.class_limits().over(self.limits)
        return access.ClassLimits(max_training_minutes=limits.max_training_minutes) if user.teacher else limits

    def warm_up(self) -> None:
        """Start the engine in the background (the embedded cluster, TensorFlow in its workers); errors wait.

        Trainings that waited in the queue of a server that ended (killed, restarted) are queued again first, in
        their order (:meth:`take_back_waiting`).
        """
        self.take_back_waiting()
        threading.Thread(target=quietly, args=(self.engine.client,), daemon=True, name="mnist-lab-warm-up").start()

    def take_back_waiting(self) -> list[TrainingJob]:
        """Queue again, oldest first, the trainings that were waiting in the queue of a process that has ended.

        Each keeps its run, its student and its place relative to the others; the class limits, checked when it
        was first queued, are not checked again. A run whose dataset can no longer be loaded ends as failed, with
        the reason.

        Returns
        -------
        list of TrainingJob
            The jobs queued again.
        """
        jobs = []
        for run_id, student in self.store.take_back_waiting():
            store = self.store.as_user(student)
            run = store.get(run_id)
            waiting = run.metrics.get(run_store.WAITING) or {}
            try:
                dataset = dataset_for_run(run.dataset, run.dataset_sha256, store.home, database=store.database_url)
            except MnistLabError as error:
                store.finish(run_id, run_store.FAILED, message=f"Not started: its dataset cannot be loaded ({error}).")
                continue
            job = TrainingJob(
                run_id, run.name, config.from_dict(config.ModelConfig, run.model_config),
                config.from_dict(config.TrainConfig, run.train_config), store, dataset,
                evaluate_test=bool(waiting.get("evaluate_test")), experiment=run.experiment,
                max_minutes=store.class_limits().over(self.limits).max_training_minutes,
            )
            self.queue(job)
            jobs.append(job)
        if jobs:
            logger.warning("Queued again %d training(s) that waited when the server stopped.", len(jobs))
        return jobs

    def overview(self) -> Overview:
        """The queue at a glance."""
        return TRAININGS.queue_of(self.engine).overview()

    def active(self) -> TrainingJob | None:
        """Return a job of this store still training, else one still waiting, whichever Trainer started it."""
        jobs = [job for job in self._jobs() if not job.done]
        return min(jobs, key=lambda job: (job.waiting, job.queued_at), default=None)

    def job(self, run_id: str) -> TrainingJob | None:
        """Return the job of a run of this store trained by this process, if any."""
        job = TRAININGS.job(run_id)
        return job if job is not None and self._holds(job) else None

    def jobs_of(self, user: access.User) -> list[TrainingJob]:
        """The jobs this process started for ``user`` in this store, oldest first."""
        return [job for job in self._jobs() if job.owner == user.id]

    def _jobs(self) -> list[TrainingJob]:
        return [job for job in TRAININGS.jobs() if self._holds(job)]

    def _holds(self, job: TrainingJob) -> bool:
        """Whether ``job`` trains a run of this trainer's store (a process may open several homes, as tests do)."""
        return job.store.home == self.store.home and job.store.database_url == self.store.database_url

    def stop(self, run_id: str, user: access.User) -> None:
        """Stop the training of ``user``'s run ``run_id`` (see :meth:`TrainingJob.stop`).

        Raises
        ------
        RunNotFoundError
            No training of this process trains that run for ``user``: another student's training cannot be
            stopped, whatever its id.
        """
        job = self.job(run_id)
        if job is None or job.owner != user.id:
            raise RunNotFoundError(run_id)
        job.stop()


def _refuse_busy(queue: FairQueue, user: access.User) -> None:
    """Raise TrainingBusyError when ``user`` has a training waiting or running."""
    if (busy := queue.busy(user.id)) is not None:
        progress = busy.progress()
        raise TrainingBusyError(
            f"You already have a training in progress ({progress.name!r}, {progress.state}). One training per student "
            "at a time, so that everyone's turn comes: wait until it ends, or stop it."
        )
