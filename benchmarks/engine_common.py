"""Shared by the benchmarks: a separate Dask cluster on this machine, waiting for warm workers, RSS, the machine,
and the databases a benchmark compares (SQLite in the home, a PostgreSQL server it starts)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' PostgreSQL starter

from tests import postgres

DASK = str(Path(sys.executable).parent / "dask")


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return 0.0


def machine() -> str:
    """The machine in one line, with its load: the figures of a shared machine depend on it."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    return f"{os.cpu_count()} CPUs, {memory:.0f} GB, load average {os.getloadavg()[0]:.1f} at start"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def external_cluster(workers: int = 1) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1; yield the scheduler's address."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="mnist-lab-bench-cluster-")
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
           "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{}", "DASK_TEMPORARY_DIRECTORY": folder}
    log = open(Path(folder) / "cluster.log", "w")  # noqa: SIM115 (open for the processes' lifetime)
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--dashboard-address", "127.0.0.1:0"], env=env, stdout=log, stderr=log,
                                  start_new_session=True)]
    for _ in range(workers):
        processes.append(subprocess.Popen([DASK, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1", "--nthreads",
                                           "1", "--host", "127.0.0.1", "--no-dashboard"], env=env, stdout=log,
                                          stderr=log, start_new_session=True))
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait()
        log.close()


def wait_for_warm_workers(engine, count: int, timeout: float = 600) -> None:
    """Wait until ``count`` workers of ``engine`` have imported Keras (the warm-up plugin), so a benchmark does not
    measure that one-time cost."""
    client = engine.client()
    client.wait_for_workers(count, timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        warm = client.run(lambda: "keras" in sys.modules and "mnist_lab.data.datasets" in sys.modules)
        if len(warm) >= count and all(warm.values()):
            return
        time.sleep(0.5)
    raise RuntimeError("the workers did not import Keras in time")


#: What ``--database`` accepts: one database, or both in one run (SQLite first).
DATABASE_CHOICES = ("sqlite", "postgresql", "both")


@contextlib.contextmanager
def databases(choice: str) -> Iterator[dict[str, str | None]]:
    """The databases ``choice`` names, each as its name and the URL a store is given (None: SQLite in the home).

    For PostgreSQL a server of its own is started in a temporary folder (``tests/postgres.py``: Debian's server,
    as the ``postgres`` user when this process is root, on a free port) and stopped when the block ends.

    Raises
    ------
    RuntimeError
        PostgreSQL is asked for and cannot be started here (the reason says why).
    """
    chosen: dict[str, str | None] = {}
    if choice in ("sqlite", "both"):
        chosen["sqlite"] = None
    if choice not in ("postgresql", "both"):
        yield chosen
        return
    if (reason := postgres.why_not()) is not None:
        raise RuntimeError(f"cannot start PostgreSQL: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="mnist-lab-bench-postgres-"))
    try:
        with postgres.running_server(folder / "server") as server:
            chosen["postgresql"] = postgres.new_database(server)
            yield chosen
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def database_env(url: str | None) -> dict[str, str]:
    """The environment that makes a started app use ``url`` (None: its home's SQLite file)."""
    from mnist_lab.runs.database import DATABASE_ENV

    return {DATABASE_ENV: url} if url is not None else {}


#: Issue 23: the app's figures on PostgreSQL within 10% of SQLite's.
RATIO_TARGET = 1.10


def print_ratios(figures: dict[str, dict[str, float]], unit: str = "s") -> bool:
    """Print each figure measured on both databases with its ratio PostgreSQL / SQLite, then the median ratio.

    Single figures of a shared 2-core machine vary by 10-20% from run to run, so the target is judged on the
    median of the ratios. Returns whether it is met; True when only one database was measured.
    """
    if not {"sqlite", "postgresql"} <= figures.keys():
        return True
    ratios = {name: figures["postgresql"][name] / figures["sqlite"][name]
              for name in figures["sqlite"] if name in figures["postgresql"] and figures["sqlite"][name] > 0}
    print(f"{'figure':<58} {'SQLite':>9} {'PostgreSQL':>11} {'ratio':>6}")
    for name, ratio in ratios.items():
        print(f"{name:<58} {figures['sqlite'][name]:>7.3f} {unit} {figures['postgresql'][name]:>9.3f} {unit} "
              f"{ratio:>6.2f}")
    median = statistics.median(ratios.values())
    met = median <= RATIO_TARGET
    print(f"median ratio PostgreSQL / SQLite over {len(ratios)} figures: {median:.2f} "
          f"(range {min(ratios.values()):.2f}-{max(ratios.values()):.2f}), target <= {RATIO_TARGET:.2f}: "
          f"{'met' if met else 'MISSED'}")
    return met


def database_cpu(url: str | None) -> Callable[[], float]:
    """A function giving the CPU seconds the PostgreSQL server of ``url`` has spent so far (always 0 for None: SQLite
    works inside the app's own process).

    The server is the postmaster listening on the URL's port on this machine; its backends are counted while they
    live and, once they ended and it reaped them, through its children's times.
    """
    if url is None:
        return lambda: 0.0
    import psutil
    import sqlalchemy as sa

    port = str(sa.make_url(url).port)
    postmaster = next(process for process in psutil.process_iter(["cmdline"])
                      if (command := process.info["cmdline"] or []) and Path(command[0]).name == "postgres"
                      and "-p" in command and command[command.index("-p") + 1] == port)

    def spent() -> float:
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for backend in postmaster.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                backend_times = backend.cpu_times()
                total += backend_times.user + backend_times.system
        return total

    return spent
