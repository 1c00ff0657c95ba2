"""A real multi-process Dask cluster for tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.server import ROOT, free_port

DASK = str(Path(sys.executable).parent / "dask")


@dataclass
class Cluster:
    """A running scheduler and its worker processes (each a nanny that restarts its worker)."""

    address: str
    processes: list[subprocess.Popen]
    log: Path

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def workers(self) -> dict[str, int]:
        """Address -> process id of every worker connected now."""
        with self.client() as client:
            return client.run(os.getpid)


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    """Start ``dask scheduler`` and ``workers`` ``dask worker`` processes (one thread each) on free ports.

    The scheduler fails a task at once when its worker dies (``allowed-failures`` 0), as the embedded cluster
    does; every process runs in its own session so it can be ended as a group.
    """
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
           "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{}",
           "DASK_TEMPORARY_DIRECTORY": str(folder / "scratch"), "PYTHONUNBUFFERED": "1"}
    log = folder / "cluster.log"
    processes = []
    with log.open("w") as output:
        def start(*command):
            processes.append(subprocess.Popen([DASK, *command], cwd=ROOT, env=env, stdout=output,
                                              stderr=subprocess.STDOUT, start_new_session=True))

        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0")
        for number in range(workers):
            start("worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                  "--name", f"test-worker-{number + 1}", "--local-directory", str(folder / "scratch"),
                  "--no-dashboard")
    cluster = Cluster(address, processes, log)
    try:
        if not wait_until(lambda: _connected(cluster) >= workers, timeout=180, interval=1.0):
            raise RuntimeError(f"the test cluster did not start:\n{log.read_text()[-3000:]}")
        yield cluster
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _connected(cluster: Cluster) -> int:
    try:
        return len(cluster.workers())
    except OSError:
        return 0
