"""The training engine: this process's one client of the Dask workers that train.

The engine connects where :mod:`mnist_lab.training.server.cluster_plan` says trainings run, starting the embedded
cluster on the first need, and submits each training as one task (:class:`RemoteTraining` is the server's handle
on it). It only speaks TLS with certificates: the embedded cluster makes a new CA and certificate at every start
(:func:`distributed.security.Security.temporary`); they reach the cluster's process through its standard input,
never a file or the command line, and stay in the memory of these two processes (and the workers they spawn). The
threads mode opens no port (``inproc://``). Which training runs next is not the engine's business: the trainer's
fair queue (:mod:`mnist_lab.training.server.fair_queue`) decides, and stops its trainings before the engines close.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mnist_lab.errors import EngineUnavailableError
from mnist_lab.paths import default_home
from mnist_lab.training import protocol
from mnist_lab.training.server.cluster_plan import EXTERNAL, SCHEDULER_ENV, THREADS, TLS_ENVS, WORKERS_ENV, Plan, plan
from mnist_lab.training.server.messages import WorkerMessageError, checked_ending, checked_item

logger = logging.getLogger(__name__)

#: How often :meth:`RemoteTraining.messages` asks the scheduler for new messages while it waits: a ``get`` with
#: a timeout raised ``TimeoutError`` in the scheduler, which logged it at ERROR with a traceback every 0.5 s.
#: Polling costs one 1-3 ms call to the scheduler per 0.1 s of a training.
POLL_PAUSE_SECONDS = (0.02, 0.1)
#: How long connecting to a scheduler may take before it counts as unreachable.
CONNECT_SECONDS = 8.0
#: How long the embedded cluster may take to start (a busy 2-core machine took 5 s).
START_SECONDS = 90.0


def temporary_directory() -> Path:
    """Scratch space of the embedded cluster: ``$DASK_TEMPORARY_DIRECTORY``, else ``dask/`` in the home."""
    configured = os.environ.get("DASK_TEMPORARY_DIRECTORY")
    folder = Path(configured) if configured else default_home() / "dask"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EngineUnavailableError(f"the training engine cannot use {folder} for its scratch files "
                                     f"({error.strerror or error}): set DASK_TEMPORARY_DIRECTORY to a writable "
                                     "folder") from error
    return folder


class RemoteTraining:
    """One training submitted to Dask, as the server sees it: its messages, its stop, its result."""

    def __init__(self, client, future, names: dict[str, str]):
        from distributed import Event, Queue

        self._client = client
        self._future = future
        self._name = names["messages"]
        self._queue = Queue(names["messages"], client=client)
        self._stop = Event(names["stop"], client=client)
        self._started = Event(names["started"], client=client)

    def messages(self, timeout: float) -> list[tuple[str, Any]]:
        """The messages that arrived, waiting up to ``timeout`` seconds for one when none has.

        Raises
        ------
        WorkerMessageError
            A message is not of a kind, type or size MNIST Lab's workers send
            (:func:`mnist_lab.training.messages.checked_message`).
        """
        deadline = time.monotonic() + timeout
        pause, longest = POLL_PAUSE_SECONDS
        while True:
            # A batch get never waits and never raises in the scheduler (see POLL_PAUSE_SECONDS).
            arrived = self._queue.get(batch=True)
            left = deadline - time.monotonic()
            if arrived or left <= 0:
                try:
                    return [checked_item(item) for item in arrived]
                except WorkerMessageError as error:
                    logger.error("Refused a message in the queue %s: %s. Only the app's workers should reach the "
                                 "scheduler (TLS, see the README); the training is stopped.", self._name, error)
                    self._stop_after_refusal()
                    raise
            time.sleep(min(pause, left))
            pause = min(2 * pause, longest)

    def _stop_after_refusal(self) -> None:
        """Stop a training whose messages cannot be trusted (its run ends failed)."""
        try:
            self.stop()
        except (OSError, TimeoutError, RuntimeError) as error:  # the scheduler is gone: the training stops anyway
            logger.warning("could not stop the training of %s: %s", self._name, error)

    def finished(self) -> bool:
        """Whether the task has ended (returned, raised, or lost its worker)."""
        return self._future.done()

    def ending(self) -> dict[str, Any]:
        """The task's result, checked; raises its exception, or ``KilledWorker`` when its worker died."""
        return checked_ending(self._future.result())

    def stop(self) -> None:
        """Ask the worker to stop after the batch in progress (a call to the scheduler: not from a page thread)."""
        self._stop.set()

    def release(self) -> None:
        """Free what the scheduler holds for this training."""
        for release in (self._queue.close, self._stop.clear, self._started.clear, self._future.release):
            try:
                release()
            except Exception as error:  # a closed client or a lost scheduler holds nothing left to free
                logger.debug("releasing %s of a training: %s: %s", release.__name__, type(error).__name__, error)


class Engine:
    """This process's client of the workers that train; started on first use.

    Parameters
    ----------
    chosen : Plan
        Where trainings run.
    """

    def __init__(self, chosen: Plan):
        self.plan = chosen
        self._lock = threading.RLock()
        self._client = None
        self._cluster = None  # the threads-mode LocalCluster
        self._child: subprocess.Popen | None = None
        self._log: Path | None = None
        self._security = None  # the credentials of this engine's client (None in threads mode)

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected"
        return f"<Engine {self.plan.kind} {state}: {self.plan.reason}>"

    @property
    def security(self):
        """The ``distributed.security.Security`` this engine's client connects with (None before it connects).

        The embedded cluster's is new at every start: the only credentials that cluster accepts.
        """
        return self._security

    @property
    def cluster_log(self) -> Path | None:
        """The embedded cluster process's log file (its standard error), once started."""
        return self._log

    @property
    def description(self) -> str:
        """Where trainings run, in words."""
        return self.plan.reason

    def client(self):
        """The connected Dask client, connecting (or starting the embedded cluster) first when needed.

        Raises
        ------
        EngineUnavailableError
            The scheduler cannot be reached, the embedded cluster did not start, or the workers cannot run
            MNIST Lab's tasks; the message says what to do.
        """
        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            self._discard()
            try:
                client = self._connect()
            except EngineUnavailableError:
                raise
            except Exception as error:  # whatever keeps Dask from starting, the page shows it as a message
                self._discard()
                raise EngineUnavailableError(f"the training engine could not start ({type(error).__name__}: "
                                             f"{error})") from error
            try:
                from mnist_lab.training.worker.task import KerasWarmup

                client.register_plugin(KerasWarmup())
            except Exception as error:
                _close(client, self.plan.reason)
                self._discard()
                raise EngineUnavailableError(
                    f"the workers of {self.plan.reason} cannot run MNIST Lab's trainings ({type(error).__name__}: "
                    f"{error}): install MNIST Lab on them"
                ) from error
            self._client = client
            return client

    def slots(self) -> int:
        """How many trainings the workers can run at once (their threads), connecting first when needed."""
        client = self.client()
        try:
            return sum(client.nthreads().values())
        except (OSError, TimeoutError) as error:
            raise EngineUnavailableError(f"lost contact with {self.plan.reason}: {error}") from error

    def workers(self) -> list[str]:
        """The addresses of the workers connected now (an empty list when not connected)."""
        with self._lock:
            client = self._client
        if client is None or client.status != "running":
            return []
        with contextlib.suppress(OSError, TimeoutError):
            return sorted(client.nthreads())
        return []

    def submit(self, spec: protocol.FitSpec) -> RemoteTraining:
        """Send one training to the workers; its queue and events exist before the task can run."""
        from mnist_lab.training.worker.task import train_task

        client = self.client()
        channel = f"mnist-lab-{spec.run_id}-{secrets.token_hex(4)}"
        future = client.submit(train_task, spec, channel, key=f"train-{channel}", pure=False, retries=0)
        return RemoteTraining(client, future, protocol.channel_names(channel))

    def close(self) -> None:
        """Close the client and stop the embedded cluster, if any."""
        with self._lock:
            if self._client is not None:
                _close(self._client, self.plan.reason)
            self._discard()

    def _discard(self) -> None:
        """Forget the client and stop what this engine started (a closed client or a dead cluster)."""
        self._client = None
        if self._cluster is not None:
            try:
                self._cluster.close(timeout=10)
            except Exception as error:  # the threads-mode cluster is this process's own: it goes with it
                logger.warning("the embedded training cluster did not close cleanly (%s: %s); restart the server "
                               "if trainings do not start", type(error).__name__, error)
            self._cluster = None
        if self._child is not None:
            with contextlib.suppress(OSError):
                self._child.stdin.close()  # the cluster process closes its workers and exits
            try:
                self._child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None

    def _connect(self):
        """A new client of the planned cluster (starting it when embedded)."""
        from distributed import Client

        if self.plan.kind == THREADS:
            import dask
            from distributed import LocalCluster

            from mnist_lab.training.worker import local_cluster

            dask.config.set({"temporary-directory": str(temporary_directory()), **local_cluster.HTTP_CONFIG})
            self._cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                         dashboard_address=local_cluster.HTTP_ADDRESS)
            return Client(self._cluster, set_as_default=False)
        if self.plan.kind == EXTERNAL:
            address, self._security = self.plan.address, _external_security(self.plan)
        else:
            address = self._start_cluster_process()
        try:
            return Client(address, timeout=CONNECT_SECONDS, set_as_default=False, security=self._security)
        except (OSError, TimeoutError, ValueError) as error:
            self._discard()
            if self.plan.kind == EXTERNAL:
                raise EngineUnavailableError(
                    f"the training cluster at {address} cannot be reached ({error}). Start its scheduler and "
                    f"workers, or unset {SCHEDULER_ENV} to train on this machine"
                ) from error
            raise EngineUnavailableError(f"the embedded training cluster did not answer ({error})") from error

    def _start_cluster_process(self) -> str:
        """Start the embedded cluster's process with new TLS credentials; return its scheduler's address."""
        from distributed.security import Security

        from mnist_lab.training.worker import local_cluster

        self._security = Security.temporary()
        directory = temporary_directory()
        self._log = directory / f"engine-{os.getpid()}.log"
        options = {
            "workers": self.plan.workers,
            "directory": str(directory),
            "memory_limit": "auto",
            "close_seconds": 15,
            "config": {
                # A worker that dies fails its task at once (KilledWorker): the run becomes "interrupted" instead
                # of silently starting again from epoch 1.
                "distributed.scheduler.allowed-failures": 0,
                "temporary-directory": str(directory),
                # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536 and OMP_NUM_THREADS=1 (for numpy
                # work); TensorFlow trained 2-4 times slower so (benchmarks/engine_speed.py): workers get the
                # server's environment unchanged.
                "distributed.nanny.pre-spawn-environ": {},
            },
        }
        with self._log.open("w") as log:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "mnist_lab.training.worker.local_cluster", json.dumps(options)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        try:  # the credentials go through the pipe: a command line is readable by every user of the machine
            self._child.stdin.write(json.dumps(local_cluster.credentials(self._security)) + "\n")
            self._child.stdin.flush()
        except OSError as error:
            self._discard()
            raise EngineUnavailableError(f"the embedded training cluster stopped at its start ({error})") from error
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self._child.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not answer or not answer[0].strip():
            tail = self._log.read_text(errors="replace")[-1500:]
            self._discard()
            logger.error("The embedded training cluster did not start within %.0f s; its log %s ends with:\n%s\n"
                         "Check the memory and the scratch folder (DASK_TEMPORARY_DIRECTORY), or set %s=threads.",
                         START_SECONDS, self._log, tail or "nothing", WORKERS_ENV)
            raise EngineUnavailableError(f"the embedded training cluster did not start within {START_SECONDS:.0f} s "
                                         f"(its log, {self._log.name} in the engine's scratch folder, says why; the "
                                         "server's log shows its end)")
        return json.loads(answer[0])["address"]


def _close(client, where: str) -> None:
    """Close ``client``; a lost scheduler leaves nothing to close, which is logged, not raised."""
    try:
        client.close(timeout=10)
    except Exception as error:
        logger.debug("closing the client of %s: %s: %s", where, type(error).__name__, error)


def _external_security(chosen: Plan):
    """The client credentials for an external scheduler: its TLS files, or None for a plain address.

    Raises
    ------
    EngineUnavailableError
        A certificate file cannot be read (the message names its setting, not its path).
    """
    if not chosen.tls:
        return None
    from distributed.security import Security

    for name, path in zip(TLS_ENVS, chosen.tls, strict=True):
        if not os.access(path, os.R_OK) or not os.path.isfile(path):
            raise EngineUnavailableError(f"the file named in {name} cannot be read by the server: check the "
                                         "setting and the file's permissions")
    ca, cert, key = chosen.tls
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)


_ENGINES: dict[Plan, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def shared(environ: dict[str, str] | None = None) -> Engine:
    """The engine of this process for the current configuration (one per plan, created on first use).

    Raises
    ------
    ConfigError
        ``MNIST_LAB_WORKERS`` is malformed.
    """
    chosen = plan(environ)
    with _ENGINES_LOCK:
        if chosen not in _ENGINES:
            _ENGINES[chosen] = Engine(chosen)
        return _ENGINES[chosen]


def engines() -> list[Engine]:
    """Every engine this process has created."""
    with _ENGINES_LOCK:
        return list(_ENGINES.values())
