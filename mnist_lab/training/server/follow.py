"""Following a training on a Dask worker: its messages until it ends, how it failed, and its worker afterwards."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from mnist_lab.errors import EngineUnavailableError, MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.training import protocol
from mnist_lab.training.server import outcomes
from mnist_lab.training.server.engine import Engine, RemoteTraining

logger = logging.getLogger(__name__)

#: How long the server waits for a worker's messages before it looks at the task's state again.
POLL_SECONDS = 0.5
#: How long the server keeps trying to reach a scheduler it lost before the training counts as interrupted.
LOST_CONTACT_SECONDS = 30.0


def follow(remote: RemoteTraining, deliver: Callable[[str, Any], None], *, run_id: str,
           worker: Callable[[], str]) -> protocol.Ending | None:
    """Hand every message of ``remote`` to ``deliver`` until the training ends; return how it ended.

    Parameters
    ----------
    remote : RemoteTraining
        The training on a worker.
    deliver : callable
        Called with each message's kind and payload, in order, in this thread.
    run_id : str
        The run, for the log.
    worker : callable
        The worker's address as known now, for the log.

    Returns
    -------
    Ending or None
        How the fit ended, from its ``end`` message; None when its worker process died and the scheduler ran the
        task again (the retried task answers at once instead of training from epoch 1).

    Raises
    ------
    EngineUnavailableError
        The scheduler did not answer for :data:`LOST_CONTACT_SECONDS`.
    WorkerMessageError
        The worker sent something that is not a message of MNIST Lab's workers.
    """
    lost_since = None
    while True:
        try:
            finished = remote.finished()
            messages = remote.messages(0.0 if finished else POLL_SECONDS)
        except Exception as error:
            if isinstance(error, MnistLabError) and not isinstance(error, EngineUnavailableError):
                raise  # a message the worker sent was refused: not a lost contact
            # A scheduler that is gone shows as OSError, TimeoutError, CommClosedError or, once the client has
            # dropped its connection, AttributeError ('NoneType' object has no attribute 'queue_get').
            if lost_since is None:
                lost_since = time.monotonic()
                logger.warning("Training %s on %s: the training cluster does not answer (%s: %s); waiting up to "
                               "%.0f s for it to come back.", run_id, worker() or "its worker", type(error).__name__,
                               error, LOST_CONTACT_SECONDS)
            if time.monotonic() - lost_since > LOST_CONTACT_SECONDS:
                raise EngineUnavailableError(f"lost contact with the training cluster: {error}") from error
            time.sleep(POLL_SECONDS)
            continue
        if lost_since is not None:
            logger.warning("Training %s: the training cluster answers again.", run_id)
            lost_since = None
        ending = None
        for kind, payload in messages:
            deliver(kind, payload)
            if kind == protocol.END:
                ending = protocol.Ending(**payload)
        if ending is not None:  # the worker still frees its memory: the run need not wait for that
            return ending
        if finished and not messages:
            if remote.ending().get(protocol.RETRIED):  # raises the task's error, or KilledWorker
                return None
            raise RuntimeError("the worker's task ended without saying how the training ended")


def remote_failure(error: Exception, *, run_id: str, where: str, engine: Engine, epoch: int,
                   saved: int) -> tuple[str, str]:
    """The final status and message of a training whose task raised ``error``; logged for the operator.

    ``where`` names the worker (or the engine when the training never reached one); ``epoch`` and ``saved`` are
    the epoch in progress and the last one whose model was saved.
    """
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        return run_store.INTERRUPTED, outcomes.process_lost_text(epoch=epoch, saved=saved)
    if isinstance(error, EngineUnavailableError) or cluster_gone(error):
        logger.error("Training %s was interrupted: %s stopped answering (%s: %s). Check that its scheduler and "
                     "workers run; the student's saved epochs are kept.", run_id, engine.description,
                     type(error).__name__, error)
        return run_store.INTERRUPTED, outcomes.interrupted_text("The training cluster stopped answering",
                                                                epoch=epoch, saved=saved)
    if isinstance(error, MnistLabError):  # the student's choice or data: the run's message says what to do
        logger.info("Training %s ended on %s: %s", run_id, where, error)
    else:
        logger.error("Training %s failed on %s; the student sees the error. Report it with this traceback.", run_id,
                     where, exc_info=error)
    return run_store.FAILED, outcomes.failure_text(error, where=f"the worker {where}")


def cluster_gone(error: Exception) -> bool:
    """Whether ``error`` came from losing the scheduler rather than from the training itself."""
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError

    return isinstance(error, (OSError, TimeoutError, CommClosedError, CancelledError))


def recycle_if_grown(engine: Engine, remote: RemoteTraining, worker: dict[str, Any], *, run_id: str) -> float:
    """Restart the worker process that trained ``remote`` when its memory has grown (its task's ``recycle``).

    Called once the run's status is final and before its queue slot is freed, so the queue sends the next
    training to the restarted worker, not to one being restarted. Worker threads in this process are never
    restarted; a worker without a nanny cannot be.

    Returns
    -------
    float
        The worker's resident memory in MB after the training released its memory (NaN when not known).
    """
    if not worker or worker.get("pid") == os.getpid():
        return float("nan")
    try:
        ending = remote.ending()  # the task returns once the worker has released the fit's memory
    except Exception as error:
        logger.info("Training %s: its worker's task did not return (%s: %s).", run_id, type(error).__name__, error)
        return float("nan")
    memory_mb = float(ending.get("memory_mb") or float("nan"))
    if not ending.get("recycle"):
        return memory_mb
    try:
        engine.client().restart_workers([worker["worker"]], timeout=120)
    except Exception as error:
        logger.warning("The training worker %s has grown to %.0f MB and could not be restarted (%s: %s); it trains "
                       "on. Start workers with a nanny (the default of `dask worker`) so that they can be.",
                       worker["worker"], memory_mb, type(error).__name__, error)
        return memory_mb
    logger.info("Restarted the training worker %s between trainings: its memory had grown to %.0f MB.",
                worker["worker"], memory_mb)
    return memory_mb
