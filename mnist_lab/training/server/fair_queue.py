"""The fair queue: trainings wait for a worker slot, and students are served in turn.

Capacity is the number of worker threads the Dask cluster has (one training each); adding workers shortens the
queue with no change to the app. The next training to start is the oldest of the student who was served least
recently among those with nothing running; only when every waiting student already has a training running do
free slots go to a second training of the same student (a sweep), so slots never idle while work waits and one
student's ten runs never hold back a classmate's first. A student is a user of the lab (a job's ``owner`` is
``mnist_lab.access.User.id``): a login, a shared lab's browser, or the personal user.

The queue knows a training only through the small :class:`Queued` protocol, and the workers only through the
functions its owner gives it (how many trainings they take at once, how to start one, how to fail one): it never
calls back into the trainer or the engine by name.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mnist_lab.errors import EngineUnavailableError

#: How often the dispatcher looks at the cluster's capacity while trainings wait.
POLL_SECONDS = 0.5
#: Images per second assumed for the wait estimate before a training of that network has finished here.
DEFAULT_IMAGES_PER_SECOND = 3000.0
#: Seconds a training spends before its first batch (building, compiling), for the wait estimate.
START_SECONDS = 5.0


class Queued(Protocol):
    """What the queue needs to know of a training.

    Attributes
    ----------
    owner : str
        The student it trains for (``mnist_lab.access.User.id``).
    queued_at, started_at : float
        ``time.monotonic()`` when it was queued, and when it started (NaN before).
    network : str
        What it trains: trainings of the same network share a measured speed for the wait estimates.
    images_to_train : int
        Training images times epochs.
    """

    owner: str
    queued_at: float
    started_at: float
    network: str
    images_to_train: int

    def seconds_left(self) -> float:
        """Estimated seconds until it ends, once it trains (NaN until it has a measured speed)."""


@dataclass(frozen=True)
class Overview:
    """The queue at a glance.

    Attributes
    ----------
    slots : int or None
        Trainings the workers can run at once; None before the engine has been reached.
    running, waiting : int
        Trainings running and waiting now.
    problem : str
        Why trainings cannot start now ("" when they can).
    where : str
        Where trainings run, in words.
    """

    slots: int | None
    running: int
    waiting: int
    problem: str
    where: str


class FairQueue:
    """Trainings waiting for a slot of the workers, started in the fair order by a dispatcher thread.

    Parameters
    ----------
    slots : callable
        How many trainings the workers can run at once (0 while none is connected); raises
        EngineUnavailableError when they cannot be reached.
    start : callable
        Starts a training whose turn has come (called in the dispatcher's thread: it must return quickly).
    fail : callable
        Ends a waiting training that cannot start, with the reason (``fail(job, message)``).
    where : str
        Where trainings run, in words.
    """

    def __init__(self, *, slots: Callable[[], int], start: Callable[[Queued], None],
                 fail: Callable[[Queued, str], None], where: str):
        self._capacity = slots
        self._start = start
        self._fail = fail
        self.where = where
        self._cond = threading.Condition()
        self._waiting: list[Queued] = []
        self._running: list[Queued] = []
        self._served: dict[str, int] = {}  # owner -> the turn of their latest start
        self._turn = 0
        self._slots: int | None = None
        self._problem = ""
        self._rates: dict[str, float] = {}  # architecture -> images per second measured here
        self._changed = False
        self._thread: threading.Thread | None = None

    def put(self, job: Queued) -> None:
        """Add ``job`` at the end of its student's line; it starts by itself when its turn comes."""
        with self._cond:
            self._waiting.append(job)
            self._wake()
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, daemon=True, name="mnist-lab-dispatcher")
                self._thread.start()

    def busy(self, owner: str) -> Queued | None:
        """A training of ``owner`` that is waiting or running, if any."""
        with self._cond:
            return next((job for job in [*self._running, *self._waiting] if job.owner == owner), None)

    def cancel(self, job: Queued) -> bool:
        """Take ``job`` out of the queue; False when it is not waiting (it started, or ended)."""
        with self._cond:
            if job not in self._waiting:
                return False
            self._waiting.remove(job)
            self._wake()
            return True

    def finished(self, job: Queued, images_per_second: float | None) -> None:
        """Free ``job``'s slot (called when it ends) and learn its network's speed for the estimates."""
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            if images_per_second:
                key = job.network
                old = self._rates.get(key)
                self._rates[key] = images_per_second if old is None else 0.5 * (old + images_per_second)
            self._wake()

    def place(self, job: Queued) -> tuple[int, float]:
        """``job``'s position among the waiting trainings (1 = next) and its estimated wait in seconds.

        (0, nan) when it is not waiting.
        """
        with self._cond:
            order = self._order()
            if job not in order:
                return 0, math.nan
            return order.index(job) + 1, self._waits(order)[job]

    def overview(self) -> Overview:
        """The queue at a glance."""
        with self._cond:
            return Overview(self._slots, len(self._running), len(self._waiting), self._problem, self.where)

    def shut_down(self) -> list[Queued]:
        """Empty the queue for a process that ends; return the running trainings, for the owner to stop.

        The waiting trainings leave the queue but keep their runs, still marked as waiting: the next server
        queues them again in their order (``Trainer.take_back_waiting``), as after a crash.
        """
        with self._cond:
            running, self._waiting = list(self._running), []
        return running

    def _wake(self) -> None:
        self._changed = True
        self._cond.notify_all()

    def _order(self) -> list[Queued]:
        """The waiting trainings in the order they will start if nothing else is submitted (lock held)."""
        running = Counter(job.owner for job in self._running)
        served, turn = dict(self._served), self._turn
        lines: dict[str, list[Queued]] = {}
        for job in self._waiting:
            lines.setdefault(job.owner, []).append(job)
        order = []
        while lines:
            owner = min(lines, key=lambda name: (running[name] > 0, served.get(name, -1), lines[name][0].queued_at))
            order.append(lines[owner].pop(0))
            if not lines[owner]:
                del lines[owner]
            running[owner] += 1
            turn += 1
            served[owner] = turn
        return order

    def _waits(self, order: list[Queued]) -> dict[Queued, float]:
        """Estimated seconds until each training of ``order`` starts (lock held)."""
        slots = max(1, self._slots or 1)
        busy = sorted(self._seconds_left(job) for job in self._running)
        free_at = busy[-slots:] if len(busy) >= slots else busy + [0.0] * (slots - len(busy))
        heapq.heapify(free_at)
        waits = {}
        for job in order:
            start = heapq.heappop(free_at)
            waits[job] = start
            heapq.heappush(free_at, start + self._duration(job))
        return waits

    def _duration(self, job: Queued) -> float:
        """Estimated seconds a training takes from its start."""
        rate = self._rates.get(job.network, DEFAULT_IMAGES_PER_SECOND)
        return START_SECONDS + job.images_to_train / rate

    def _seconds_left(self, job: Queued) -> float:
        """Estimated seconds until a running training ends."""
        left = job.seconds_left()
        if math.isfinite(left):
            return left
        return max(0.0, self._duration(job) - (time.monotonic() - job.started_at))

    def _dispatch(self) -> None:
        """Start waiting trainings whenever the workers have free slots, in the fair order."""
        while True:
            with self._cond:
                if not self._changed:
                    self._cond.wait(POLL_SECONDS)
                self._changed = False
                if not self._waiting:
                    continue
            try:
                slots = self._capacity()
            except EngineUnavailableError as error:
                self._fail_waiting(str(error))
                continue
            with self._cond:
                self._slots = slots
                self._problem = "" if slots else f"no worker is connected to {self.where}: trainings wait until one is"
                launch = []
                for job in self._order():
                    if len(self._running) >= slots:
                        break
                    self._waiting.remove(job)
                    self._running.append(job)
                    self._turn += 1
                    self._served[job.owner] = self._turn
                    launch.append(job)
            for job in launch:
                self._start(job)

    def _fail_waiting(self, message: str) -> None:
        """End every waiting training with ``message`` (the engine cannot be reached)."""
        with self._cond:
            waiting, self._waiting = list(self._waiting), []
            self._problem = message
        for job in waiting:
            self._fail(job, message)
