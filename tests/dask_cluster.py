"""A real multi-process Dask cluster for tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1,
over TLS as a class's cluster should be: a CA and certificate made for the cluster (``Security.temporary()``,
written to PEM files in a folder only this user can read), named to the engine by ``MNIST_LAB_DASK_TLS_*``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.training.server.cluster_plan import TLS_ENVS
from tests.server import ROOT, free_port
from tests.waiting import wait_for

DASK = str(Path(sys.executable).parent / "dask")


@dataclass
class Cluster:
    """A running scheduler and its worker processes (each a nanny that restarts its worker)."""

    address: str
    processes: list[subprocess.Popen]
    log: Path
    #: The engine's settings for this cluster: the ``MNIST_LAB_DASK_TLS_*`` variables naming its PEM files.
    tls: dict[str, str]

    def security(self):
        from distributed.security import Security

        ca, cert, key = (self.tls[name] for name in TLS_ENVS)
        return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False, security=self.security())

    def workers(self) -> dict[str, int]:
        """Address -> process id of every worker connected now."""
        with self.client() as client:
            return client.run(os.getpid)


def write_certificates(folder: Path) -> dict[str, str]:
    """Make a CA and a certificate signed by it; write them as PEM files in ``folder`` (0700, files 0600).

    Returns the engine's settings naming them (``MNIST_LAB_DASK_TLS_CA``, ``..._CERT``, ``..._KEY``). One
    certificate serves the scheduler, the workers and the client, as ``Security.temporary()`` makes it.
    """
    from distributed.security import Security

    made = Security.temporary()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = {}
    for name, text in zip(TLS_ENVS, (made.tls_ca_file, made.tls_client_cert, made.tls_client_key), strict=True):
        path = folder / f"{name.rsplit('_', 1)[1].lower()}.pem"
        path.touch(mode=0o600)
        path.write_text(text)
        files[name] = str(path)
    return files


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2, allowed_failures: int = 0) -> Iterator[Cluster]:
    """Start ``dask scheduler`` and ``workers`` ``dask worker`` processes (one thread each) on free ports, over TLS.

    The scheduler fails a task at once when its worker dies (``allowed_failures`` 0), as the embedded cluster
    does; with more, it runs the task again elsewhere. Every process runs in its own session so it can be ended
    as a group. While the cluster runs, this process's environment names its certificate files (``MNIST_LAB_DASK_TLS_*``), so an engine given its
    address, here or in a child process (the CLI), connects over TLS.
    """
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    tls = write_certificates(folder / "certificates")
    certificates = ["--tls-ca-file", tls[TLS_ENVS[0]], "--tls-cert", tls[TLS_ENVS[1]], "--tls-key", tls[TLS_ENVS[2]]]
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures),
           "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{}",
           "DASK_TEMPORARY_DIRECTORY": str(folder / "scratch"), "PYTHONUNBUFFERED": "1"}
    log = folder / "cluster.log"
    processes = []
    with log.open("w") as output:
        def start(*command):
            processes.append(subprocess.Popen([DASK, *command], cwd=ROOT, env=env, stdout=output,
                                              stderr=subprocess.STDOUT, start_new_session=True))

        start("scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
              "--dashboard-address", "127.0.0.1:0", *certificates)
        for number in range(workers):
            start("worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                  "--name", f"test-worker-{number + 1}", "--local-directory", str(folder / "scratch"),
                  "--no-dashboard", *certificates)
    cluster = Cluster(address, processes, log, tls)
    saved = {name: os.environ.get(name) for name in TLS_ENVS}
    os.environ.update(tls)
    try:
        try:
            wait_for(lambda: _connected(cluster) >= workers, timeout=180, interval=1.0,
                     what=f"{workers} workers to connect")
        except AssertionError as error:
            raise RuntimeError(f"the test cluster did not start ({error}):\n{log.read_text()[-3000:]}") from error
        yield cluster
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
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
