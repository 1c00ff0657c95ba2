"""The embedded training cluster's own process: ``python -m mnist_lab.training.worker.local_cluster OPTIONS``.

The app starts this process (:class:`mnist_lab.training.server.engine.Engine`) instead of a ``LocalCluster`` in its own
process: inside Streamlit, ``sys.modules["__main__"]`` is Streamlit's stand-in for ``app.py``, so every worker
process that ``multiprocessing`` spawns (at start, and whenever the nanny restarts a dead worker) would run
``app.py`` again. Started here, the workers' main module is this one, whose work is behind ``__main__``.

Its first line of standard input holds the cluster's TLS credentials (:func:`credentials`: a CA and a certificate
made by the server at this start), so only the server and these workers can connect; they never touch a file or
the command line. It prints one JSON line with the scheduler's ``tls://`` address, then lives as long as its
standard input stays open: the server closes it to shut the cluster down, and a server that dies closes it too,
so no worker outlives the app.
It ignores SIGINT: a Ctrl-C in the terminal reaches the whole process group, and the server, not the workers,
decides how trainings end (stopped, with their model saved).
"""

from __future__ import annotations

import json
import signal
import sys

#: The scheduler's HTTP server (the dashboard needs bokeh, which is not installed): a free port on this machine
#: only. ``dashboard_address=None`` still opens port 8787, on every interface.
HTTP_ADDRESS = "127.0.0.1:0"
#: What the scheduler's and the workers' plain-HTTP servers answer: the health check only. Dask's default routes
#: also served, to any local user and without TLS, the workers' logs and call stacks and the tasks' keys (which
#: name the trainings' queues).
HTTP_CONFIG = {"distributed.scheduler.http.routes": ["distributed.http.health"],
               "distributed.worker.http.routes": ["distributed.http.health"]}


#: The parts of a ``distributed.security.Security`` that travel to the cluster's process (PEM texts).
CREDENTIALS = ("tls_ca_file", "tls_client_cert", "tls_client_key", "tls_scheduler_cert", "tls_scheduler_key",
               "tls_worker_cert", "tls_worker_key")


def credentials(security) -> dict[str, str]:
    """The PEM texts of ``security`` (made by ``Security.temporary()``), to send to the cluster's process."""
    return {name: getattr(security, name) for name in CREDENTIALS}


def main(argv: list[str]) -> int:
    """Start the cluster described by the JSON options in ``argv[1]`` with the credentials on the first line of
    standard input; return when standard input closes."""
    options = json.loads(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the spawned workers
    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    security = Security(**json.loads(sys.stdin.readline()), require_encryption=True)
    dask.config.set({**options["config"], **HTTP_CONFIG})
    cluster = LocalCluster(
        n_workers=options["workers"],
        threads_per_worker=1,
        processes=True,
        protocol="tls://",
        security=security,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=HTTP_ADDRESS,
        local_directory=options["directory"],
        memory_limit=options["memory_limit"],
    )
    # Keep the number of workers: the scheduler removes a worker whose restart (a grown worker recycled between
    # trainings) does not finish in time, and a LocalCluster starts no other by itself, so every later training
    # would wait forever for a free worker. Checked with distributed 2026.x: a removed worker is replaced within
    # seconds, and a restart by its nanny still leaves one worker.
    cluster.adapt(minimum=options["workers"], maximum=options["workers"])
    print(json.dumps({"address": cluster.scheduler_address}), flush=True)
    sys.stdin.read()
    cluster.close(timeout=options["close_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
